//! What the pooled resolver takes from `/etc/resolv.conf`.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use crate::resolver::{NameServer, ResolverBuildError};

/// What the pooled resolver takes from `/etc/resolv.conf`. `search`, `domain` and `ndots` are
/// ignored on purpose: list query names are absolute.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SystemConfig {
    pub(crate) servers: Vec<NameServer>,
    pub(crate) timeout: Duration,
    pub(crate) attempts: usize,
    pub(crate) rotate: bool,
}

impl SystemConfig {
    pub(crate) fn parse(text: &[u8]) -> Result<Self, ResolverBuildError> {
        let config = resolv_conf::Config::parse(text)
            .map_err(|error| ResolverBuildError::system_config(format!("resolv.conf: {error}")))?;
        // Like the C library: no `nameserver` line means the local server.
        let servers = config
            .get_nameservers_or_local()
            .into_iter()
            .map(|ip| {
                let addr = match ip {
                    resolv_conf::ScopedIp::V4(v4) => SocketAddr::new(IpAddr::V4(v4), 53),
                    resolv_conf::ScopedIp::V6(v6, scope) => {
                        // A numeric scope is an interface index; a named one needs a lookup we
                        // do not make, so it is left out.
                        let scope = scope.and_then(|s| s.parse().ok()).unwrap_or(0);
                        SocketAddr::V6(SocketAddrV6::new(v6, 53, 0, scope))
                    }
                };
                NameServer::new(addr)
            })
            .collect();
        Ok(SystemConfig {
            servers,
            timeout: Duration::from_secs(u64::from(config.timeout.max(1))),
            attempts: config.attempts as usize,
            rotate: config.rotate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_servers_and_options_from_resolv_conf() {
        let config = SystemConfig::parse(
            b"# comment\nsearch corp.example\noptions ndots:5 timeout:3 attempts:4 rotate\n\
              nameserver 192.0.2.53\nnameserver 2001:db8::53\n",
        )
        .unwrap();
        assert_eq!(
            config.servers,
            [
                "192.0.2.53:53".parse::<NameServer>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(config.attempts, 4);
        assert!(config.rotate);

        let empty = SystemConfig::parse(b"search example.org\n").unwrap();
        assert!(!empty.servers.is_empty(), "{empty:?}");
        assert!(empty.servers.iter().all(|s| s.addr().ip().is_loopback()));
    }
}
