//! Building a [`HickoryResolver`]: hickory's configuration from the options, one hickory
//! resolver per name server when there are several.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::system_conf::read_system_conf;

use super::provider::{ConnectedUdpRuntime, SocketTrouble};
use super::{HickoryResolver, Upstream};
use crate::resolver::health::Health;
use crate::resolver::{ResolverBuildError, ResolverOptions};

/// Builds a [`HickoryResolver`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct HickoryResolverBuilder {
    options: ResolverOptions,
    case_randomization: bool,
}

impl HickoryResolverBuilder {
    crate::resolver::options::option_setters!();

    /// Randomises the case of query names and drops answers that do not echo it (0x20
    /// encoding), as a defence against spoofed answers. Only for servers that preserve case.
    pub fn case_randomization(mut self, on: bool) -> Self {
        self.case_randomization = on;
        self
    }

    /// Builds the resolver. Needs a Tokio runtime only when lookups run, not here.
    pub fn build(self) -> Result<HickoryResolver, ResolverBuildError> {
        let socket_trouble = Arc::new(SocketTrouble::default());
        let provider = ConnectedUdpRuntime::new(Arc::clone(&socket_trouble));
        let (config, mut options) = self.configuration()?;
        self.tune(&mut options);
        socket_trouble.set_recent(options.timeout);
        let timeout = options.timeout;
        let retries = options.attempts;
        let (domain, search, servers) = config.into_parts();
        let upstreams: Vec<Upstream> = if servers.len() <= 1 {
            let config = ResolverConfig::from_parts(domain, search, servers);
            vec![Upstream::build(config, options, provider)?]
        } else {
            // One resolver per server, each tried once: this resolver retries, on the next
            // server, and remembers which servers answer.
            options.attempts = 0;
            servers
                .into_iter()
                .map(|server| {
                    let config =
                        ResolverConfig::from_parts(domain.clone(), search.clone(), vec![server]);
                    Upstream::build(config, options.clone(), provider.clone())
                })
                .collect::<Result<_, _>>()?
        };
        Ok(HickoryResolver {
            upstreams: upstreams.into(),
            timeout,
            retries,
            socket_trouble,
        })
    }

    /// hickory's configuration: the system's, or the name servers given (UDP and TCP on each
    /// one's port) with hickory's default options.
    fn configuration(&self) -> Result<(ResolverConfig, ResolverOpts), ResolverBuildError> {
        if self.options.uses_system_configuration() {
            return read_system_conf().map_err(system_config_error);
        }
        let servers = self
            .options
            .name_servers
            .iter()
            .map(|server| {
                let port = server.addr().port();
                let mut udp = ConnectionConfig::udp();
                udp.port = port;
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = port;
                NameServerConfig::new(server.addr().ip(), true, vec![udp, tcp])
            })
            .collect();
        Ok((
            ResolverConfig::from_name_servers(servers),
            ResolverOpts::default(),
        ))
    }

    /// hickory's options for DNS list lookups, with this builder's timeout and retries.
    fn tune(&self, options: &mut ResolverOpts) {
        // The checker caches with list-aware TTL rules; a second cache here would only hide
        // what the name server says.
        options.cache_size = 0;
        // TTLs as received, so that ours are the only rules (RFC 2181 §8 among them), not
        // hickory's cap of a day.
        let as_received = Some(Duration::from_secs(u64::from(u32::MAX)));
        options.positive_max_ttl = as_received;
        options.negative_max_ttl = as_received;
        // Names are absolute, but make sure hosts files never answer for a list zone.
        options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        options.case_randomization = self.case_randomization;
        if let Some(timeout) = self.options.timeout {
            options.timeout = timeout;
        }
        // hickory's `attempts` counts the tries after the first: retries.
        if let Some(retries) = self.options.retries {
            options.attempts = retries;
        }
    }
}

impl Upstream {
    fn build(
        config: ResolverConfig,
        options: ResolverOpts,
        provider: ConnectedUdpRuntime,
    ) -> Result<Self, ResolverBuildError> {
        let mut builder = Resolver::builder_with_config(config, provider);
        *builder.options_mut() = options;
        Ok(Upstream {
            resolver: builder.build().map_err(system_config_error)?,
            health: Health::default(),
        })
    }
}

/// A system configuration hickory could not read or use, with the OS error kept if it was one.
fn system_config_error(error: NetError) -> ResolverBuildError {
    let detail = error.to_string();
    match error {
        NetError::Io(shared) => ResolverBuildError::SystemConfig {
            detail,
            source: Some(Arc::try_unwrap(shared).unwrap_or_else(
                |shared| match shared.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(shared.kind(), shared.to_string()),
                },
            )),
        },
        _ => ResolverBuildError::system_config(detail),
    }
}
