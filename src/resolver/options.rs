//! What every resolver is told: the name servers, or the system configuration, the per-query
//! timeout and the retries. One type, so that a config file or a command line applies to
//! whichever resolver a program picks.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::query::TxtLookup;
use crate::resolver::ResolverBuildError;

/// A name server to send queries to: an IP address and a port (53 unless given).
///
/// Parses `192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53` and `[2001:db8::53]:5353`, from
/// text or, in a config file, from a string.
///
/// # Examples
///
/// ```
/// use dnsbl_check::NameServer;
///
/// let server: NameServer = "127.0.0.1:5353".parse().unwrap();
/// assert_eq!(server.addr().port(), 5353);
/// assert_eq!("::1".parse::<NameServer>().unwrap().addr().port(), 53);
/// assert!("localhost".parse::<NameServer>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameServer(SocketAddr);

impl NameServer {
    /// A name server at this address and port.
    pub fn new(addr: SocketAddr) -> Self {
        NameServer(addr)
    }

    /// The server's address and port.
    pub fn addr(&self) -> SocketAddr {
        self.0
    }
}

impl FromStr for NameServer {
    type Err = ResolverBuildError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(NameServer(addr));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(NameServer(SocketAddr::new(ip, 53)));
        }
        Err(ResolverBuildError::NameServer(
            text.chars().take(100).collect(),
        ))
    }
}

impl fmt::Display for NameServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for NameServer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The settings every resolver takes, whichever it is.
///
/// - `name_servers`: where queries go, in order. Empty means the system configuration
///   (`/etc/resolv.conf`), whose `timeout`, `attempts` and `rotate` options then count too.
/// - `timeout`: how long to wait for one answer. `None`: the system's, or
///   [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT).
/// - `retries`: how many times to ask again after a timeout. `None`: the system's, or
///   [`DEFAULT_RETRIES`](Self::DEFAULT_RETRIES).
///
/// [`HickoryResolverBuilder::options`](crate::resolver::hickory::HickoryResolverBuilder::options)
/// and
/// [`PooledUdpResolverBuilder::options`](crate::resolver::pooled::PooledUdpResolverBuilder::options)
/// take it, and [`Config::resolver_options`](crate::Config::resolver_options) reads it from a
/// configuration file.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::{ResolverOptions, TxtLookup};
///
/// let options = ResolverOptions::default()
///     .name_server("127.0.0.1:5353".parse().unwrap())
///     .timeout(Duration::from_secs(2))
///     .retries(1);
/// // Room for a health probe, the A query and the TXT query, each tried twice.
/// assert_eq!(options.check_deadline(TxtLookup::WhenListed), Duration::from_secs(12));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverOptions {
    /// Where queries go, in order; the system configuration when empty.
    pub name_servers: Vec<NameServer>,
    /// How long to wait for one answer.
    pub timeout: Option<Duration>,
    /// How many times to ask again after a timeout.
    pub retries: Option<usize>,
}

impl ResolverOptions {
    /// The per-query timeout when neither the options nor the system configuration give one.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The retries after a timeout when neither the options nor the system configuration give
    /// a number.
    pub const DEFAULT_RETRIES: usize = 2;

    /// The system configuration: the name servers, timeout and retries of `/etc/resolv.conf`,
    /// read by the resolver when it is built. The same as `ResolverOptions::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::ResolverOptions;
    ///
    /// assert!(ResolverOptions::system().uses_system_configuration());
    /// let own = ResolverOptions::system().name_server("127.0.0.1:5353".parse().unwrap());
    /// assert!(!own.uses_system_configuration());
    /// ```
    pub fn system() -> Self {
        ResolverOptions::default()
    }

    /// Whether the resolver will read the system configuration: no name server is given.
    pub fn uses_system_configuration(&self) -> bool {
        self.name_servers.is_empty()
    }

    /// Sends queries to this server (instead of the system's). Repeat for several.
    #[must_use]
    pub fn name_server(mut self, server: NameServer) -> Self {
        self.name_servers.push(server);
        self
    }

    /// Sends queries to these servers (instead of the system's).
    #[must_use]
    pub fn name_servers(mut self, servers: impl IntoIterator<Item = NameServer>) -> Self {
        self.name_servers.extend(servers);
        self
    }

    /// How long to wait for one answer.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many times to ask again after a timeout.
    #[must_use]
    pub fn retries(mut self, retries: usize) -> Self {
        self.retries = Some(retries);
        self
    }

    /// The overall deadline for one check that these settings call for: room for every
    /// lookup a check makes one after another (a health probe, the A query, and the TXT query
    /// unless `txt` asks for it with the A query or not at all), each with all its tries.
    ///
    /// The per-query timeout is what users tune; this only bounds a whole check. Without a
    /// timeout or retries, the defaults are assumed.
    pub fn check_deadline(&self, txt: TxtLookup) -> Duration {
        let timeout = self.timeout.unwrap_or(Self::DEFAULT_TIMEOUT);
        let tries = self
            .retries
            .unwrap_or(Self::DEFAULT_RETRIES)
            .saturating_add(1);
        let steps = match txt {
            TxtLookup::WhenListed => 3,
            _ => 2,
        };
        timeout.saturating_mul(u32::try_from(tries.saturating_mul(steps)).unwrap_or(u32::MAX))
    }
}

/// The setters every resolver builder shares, written once: each writes into the builder's
/// `options: ResolverOptions` field through [`ResolverOptions`]' own methods. A builder adds
/// what is particular to its transport; its type documentation says how it uses several
/// name servers and the retries.
#[cfg(any(feature = "hickory", feature = "pooled"))]
macro_rules! option_setters {
    () => {
        /// Takes these name servers, timeout and retries, replacing any given before.
        pub fn options(mut self, options: $crate::resolver::ResolverOptions) -> Self {
            self.options = options;
            self
        }

        /// Sends queries to this server instead of the system's. Repeat for several.
        pub fn name_server(mut self, server: $crate::resolver::NameServer) -> Self {
            self.options = self.options.name_server(server);
            self
        }

        /// Sends queries to these servers instead of the system's.
        pub fn name_servers(
            mut self,
            servers: impl IntoIterator<Item = $crate::resolver::NameServer>,
        ) -> Self {
            self.options = self.options.name_servers(servers);
            self
        }

        /// How long to wait for one answer (default: the system's, or 5 s).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options = self.options.timeout(timeout);
            self
        }

        /// How many times to ask again after a timeout (default: the system's, or 2). With
        /// several name servers each retry goes to the next one, and every server is asked
        /// at least once whatever this says.
        pub fn retries(mut self, retries: usize) -> Self {
            self.options = self.options.retries(retries);
            self
        }
    };
}
#[cfg(any(feature = "hickory", feature = "pooled"))]
pub(crate) use option_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_servers() {
        let cases: &[(&str, Option<&str>)] = &[
            ("127.0.0.1", Some("127.0.0.1:53")),
            ("127.0.0.1:5353", Some("127.0.0.1:5353")),
            ("::1", Some("[::1]:53")),
            ("[::1]:5353", Some("[::1]:5353")),
            (" 10.0.0.1 ", Some("10.0.0.1:53")),
            ("localhost", None),
            ("127.0.0.1:99999", None),
            ("", None),
        ];
        for (input, expected) in cases {
            let parsed = input.parse::<NameServer>().ok().map(|s| s.to_string());
            assert_eq!(parsed.as_deref(), *expected, "{input:?}");
        }
    }

    #[test]
    fn deadline_leaves_room_for_every_try_of_every_step() {
        let options = ResolverOptions::default()
            .timeout(Duration::from_secs(2))
            .retries(2);
        assert_eq!(
            options.check_deadline(TxtLookup::WhenListed),
            Duration::from_secs(18)
        );
        assert_eq!(
            options.check_deadline(TxtLookup::WithA),
            Duration::from_secs(12)
        );
        assert_eq!(
            ResolverOptions::default().check_deadline(TxtLookup::Off),
            Duration::from_secs(30)
        );
        let huge = ResolverOptions::default()
            .timeout(Duration::from_secs(86_400))
            .retries(usize::MAX);
        assert!(huge.check_deadline(TxtLookup::WhenListed) > Duration::from_secs(86_400));
    }
}
