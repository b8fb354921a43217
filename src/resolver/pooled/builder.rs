//! Building a [`PooledUdpResolver`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::pool::{Rotation, ServerPool};
use super::system::SystemConfig;
use super::{PooledUdpResolver, Shared};
use crate::resolver::{ResolverBuildError, ResolverOptions};

/// Builds a [`PooledUdpResolver`].
///
/// Defaults: the name servers, timeout, attempts and `rotate` option of `/etc/resolv.conf`
/// unless name servers are given (then 5 s and 2 retries, like the stock resolver, see
/// [`ResolverOptions`]); 8 sockets
/// per server; a socket replaced after 10,000 queries or 30 seconds; 0x20 encoding on.
/// Several name servers are tried in order of their health (see
/// [`round_robin`](Self::round_robin) to spread queries over them instead).
#[derive(Debug, Clone)]
#[must_use]
pub struct PooledUdpResolverBuilder {
    options: ResolverOptions,
    round_robin: Option<bool>,
    sockets_per_server: usize,
    rotation: Rotation,
    case_randomization: bool,
}

impl Default for PooledUdpResolverBuilder {
    fn default() -> Self {
        PooledUdpResolverBuilder {
            options: ResolverOptions::default(),
            round_robin: None,
            sockets_per_server: 8,
            rotation: Rotation {
                after_queries: 10_000,
                after: Duration::from_secs(30),
            },
            case_randomization: true,
        }
    }
}

impl PooledUdpResolverBuilder {
    crate::resolver::options::option_setters!();

    /// Spreads queries over all name servers in turn, instead of asking the first and moving on
    /// to the next only on failure (default: resolv.conf's `options rotate`, or off).
    pub fn round_robin(mut self, on: bool) -> Self {
        self.round_robin = Some(on);
        self
    }

    /// How many sockets to keep open to each name server (default 8, at least 1). More
    /// sockets spread queries over more source ports; a few are enough for speed.
    pub fn sockets_per_server(mut self, sockets: usize) -> Self {
        self.sockets_per_server = sockets.max(1);
        self
    }

    /// Replaces a socket by a fresh one (on a new random port) after it sent this many queries
    /// (default 10,000, at least 1).
    pub fn rotate_after_queries(mut self, queries: u32) -> Self {
        self.rotation.after_queries = queries.max(1);
        self
    }

    /// Replaces a socket by a fresh one after it was open this long (default 30 s).
    pub fn rotate_after(mut self, age: Duration) -> Self {
        self.rotation.after = age;
        self
    }

    /// Randomises the case of query names and accepts only answers that echo it exactly (0x20
    /// encoding). On by default: rbldnsd, BIND, Unbound, Knot and PowerDNS preserve case. Turn
    /// it off for a server that does not; then names are compared without regard to case.
    /// [`TransportStats::replies_case_mismatch`](super::TransportStats::replies_case_mismatch)
    /// counts the answers it rejects.
    pub fn case_randomization(mut self, on: bool) -> Self {
        self.case_randomization = on;
        self
    }

    /// Builds the resolver. Reads `/etc/resolv.conf` if no name server was given. Opens no
    /// socket: that happens on first use.
    pub fn build(self) -> Result<PooledUdpResolver, ResolverBuildError> {
        self.build_from(Path::new("/etc/resolv.conf"))
    }

    fn build_from(self, resolv_conf: &Path) -> Result<PooledUdpResolver, ResolverBuildError> {
        let options = self.options;
        let (servers, system) = if options.uses_system_configuration() {
            let text =
                std::fs::read(resolv_conf).map_err(|error| ResolverBuildError::SystemConfig {
                    detail: format!("{}: {error}", resolv_conf.display()),
                    source: Some(error),
                })?;
            let system = SystemConfig::parse(&text)?;
            (system.servers.clone(), Some(system))
        } else {
            (options.name_servers, None)
        };
        let timeout = options
            .timeout
            .or(system.as_ref().map(|s| s.timeout))
            .unwrap_or(ResolverOptions::DEFAULT_TIMEOUT);
        let retries = options
            .retries
            .or(system.as_ref().map(|s| s.attempts))
            .unwrap_or(ResolverOptions::DEFAULT_RETRIES);
        let round_robin = self
            .round_robin
            .or(system.as_ref().map(|s| s.rotate))
            .unwrap_or(false);
        Ok(PooledUdpResolver {
            inner: Arc::new(Shared {
                servers: servers
                    .iter()
                    .map(|server| ServerPool::new(server.addr(), self.sockets_per_server, timeout))
                    .collect(),
                timeout,
                retries,
                round_robin,
                case_randomization: self.case_randomization,
                rotation: self.rotation,
                next_server: AtomicUsize::new(0),
                counters: Arc::default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::NameServer;

    #[test]
    fn builds_from_a_resolv_conf_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resolv.conf");
        std::fs::write(
            &path,
            "nameserver 127.0.0.53\noptions timeout:1 attempts:1\n",
        )
        .unwrap();
        let resolver = PooledUdpResolver::builder().build_from(&path).unwrap();
        assert_eq!(
            resolver.name_servers(),
            ["127.0.0.53:53".parse::<NameServer>().unwrap()]
        );
        assert_eq!(resolver.inner.timeout, Duration::from_secs(1));
        assert_eq!(resolver.inner.retries, 1);
        let missing = PooledUdpResolver::builder().build_from(&dir.path().join("none"));
        assert!(matches!(
            missing,
            Err(ResolverBuildError::SystemConfig { .. })
        ));
    }
}
