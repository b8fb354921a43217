//! The resolver seam: the lookups a DNS list check needs, how they can fail, and the
//! resolvers that implement them.
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`DnsResolver`], [`Answer`], [`LookupError`] | `resolver/mod.rs` | the trait and its contract |
//! | [`ResolverOptions`], [`NameServer`] | `resolver/options.rs` | name servers, timeout, retries: for any resolver |
//! | [`HickoryResolver`](hickory::HickoryResolver) | `resolver/hickory.rs` | the default resolver, on hickory-resolver |
//! | [`PooledUdpResolver`](pooled::PooledUdpResolver) | `resolver/pooled/` | a fast resolver for bulk checks: pooled UDP sockets |
//! | [`AnswerCache`](cache::AnswerCache) | `resolver/cache.rs` | a TTL-aware cache in front of any resolver |
//! | [`AnyResolver`](any::AnyResolver) | `resolver/any.rs` | either built-in resolver, chosen at run time |
//! | `mirror::MirrorResolver` (feature `mirror`) | `resolver/mirror/` | local mirrors: zones answered in-process from rbldnsd data files |
//! | server health (internal) | `resolver/health.rs` | per name server: smoothed RTT and back-off, so both transports ask servers that answer first |
//! | closed-port check (internal) | `resolver/icmp.rs` | ICMP errors are hints: a closed port is believed only when TCP confirms it |

#[cfg(all(feature = "hickory", feature = "pooled"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "hickory", feature = "pooled"))))]
pub mod any;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub mod cache;
#[cfg(any(feature = "hickory", feature = "pooled"))]
pub(crate) mod health;
#[cfg(feature = "hickory")]
#[cfg_attr(docsrs, doc(cfg(feature = "hickory")))]
pub mod hickory;
#[cfg(any(feature = "hickory", feature = "pooled"))]
pub(crate) mod icmp;
#[cfg(feature = "mirror")]
#[cfg_attr(docsrs, doc(cfg(feature = "mirror")))]
pub mod mirror;
mod options;
#[cfg(feature = "pooled")]
#[cfg_attr(docsrs, doc(cfg(feature = "pooled")))]
pub mod pooled;

pub use options::{NameServer, ResolverOptions};

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::Serialize;

/// What a name server said about a name, when it said something definite.
///
/// "No such record" is an answer, not an error: it is how a list says "not listed".
///
/// # Examples
///
/// ```
/// use dnsbl_check::Answer;
///
/// let listed: Answer<std::net::Ipv4Addr> = Answer::Records {
///     records: vec!["127.0.0.2".parse().unwrap()],
///     ttl: 300,
/// };
/// assert!(!listed.is_empty());
/// assert!(Answer::<String>::NoRecords { nxdomain: true, negative_ttl: Some(60) }.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// NOERROR with at least one record of the type asked for.
    Records {
        /// Every record of that type, in the order received.
        records: Vec<T>,
        /// The smallest TTL among them, in seconds.
        ttl: u32,
    },
    /// NXDOMAIN, or NOERROR without a record of the type asked for.
    NoRecords {
        /// True for NXDOMAIN, false for NOERROR/NODATA.
        nxdomain: bool,
        /// How long the negative answer may be cached, `min(SOA TTL, SOA MINIMUM)` from the
        /// authority section, when the server sent an SOA.
        negative_ttl: Option<u32>,
    },
}

impl<T> Answer<T> {
    /// NXDOMAIN: the name does not exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Answer;
    ///
    /// let answer = Answer::<String>::nxdomain(Some(60));
    /// assert_eq!(answer, Answer::NoRecords { nxdomain: true, negative_ttl: Some(60) });
    /// ```
    pub fn nxdomain(negative_ttl: Option<u32>) -> Self {
        Answer::NoRecords {
            nxdomain: true,
            negative_ttl,
        }
    }

    /// NOERROR without a record of the type asked for (NODATA).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Answer;
    ///
    /// let answer = Answer::<String>::nodata(None);
    /// assert_eq!(answer, Answer::NoRecords { nxdomain: false, negative_ttl: None });
    /// ```
    pub fn nodata(negative_ttl: Option<u32>) -> Self {
        Answer::NoRecords {
            nxdomain: false,
            negative_ttl,
        }
    }

    /// Whether the answer holds no records.
    pub fn is_empty(&self) -> bool {
        match self {
            Answer::Records { records, .. } => records.is_empty(),
            Answer::NoRecords { .. } => true,
        }
    }

    /// The same answer with each record converted; a negative answer stays as it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Answer;
    ///
    /// let listed = Answer::Records { records: vec![2_u8, 4], ttl: 300 };
    /// assert_eq!(
    ///     listed.map(|last| format!("127.0.0.{last}")),
    ///     Answer::Records { records: vec!["127.0.0.2".to_owned(), "127.0.0.4".to_owned()], ttl: 300 },
    /// );
    /// ```
    pub fn map<U>(self, convert: impl FnMut(T) -> U) -> Answer<U> {
        match self {
            Answer::Records { records, ttl } => Answer::Records {
                records: records.into_iter().map(convert).collect(),
                ttl,
            },
            Answer::NoRecords {
                nxdomain,
                negative_ttl,
            } => Answer::NoRecords {
                nxdomain,
                negative_ttl,
            },
        }
    }

    /// The records `convert` keeps, converted; with none kept, NODATA.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Answer;
    ///
    /// let answer = Answer::Records { records: vec!["a", "7"], ttl: 60 };
    /// let numbers = answer.filter_map(|text| text.parse::<u8>().ok());
    /// assert_eq!(numbers, Answer::Records { records: vec![7], ttl: 60 });
    /// let none = Answer::Records { records: vec!["a"], ttl: 60 };
    /// assert_eq!(none.filter_map(|text| text.parse::<u8>().ok()), Answer::nodata(None));
    /// ```
    pub fn filter_map<U>(self, convert: impl FnMut(T) -> Option<U>) -> Answer<U> {
        match self {
            Answer::Records { records, ttl } => {
                let records: Vec<U> = records.into_iter().filter_map(convert).collect();
                if records.is_empty() {
                    Answer::nodata(None)
                } else {
                    Answer::Records { records, ttl }
                }
            }
            negative => negative.map(|_| unreachable!("a negative answer holds no records")),
        }
    }
}

/// The detail of the error for a response holding a record of a class other than IN: the same
/// on both transports.
#[cfg(any(feature = "hickory", feature = "pooled"))]
pub(crate) const FOREIGN_CLASS: &str = "record of a class other than IN in the response";

/// A TTL as a cache may use it: values with the top bit set count as 0 (RFC 2181 §8).
#[cfg(any(feature = "hickory", feature = "pooled"))]
pub(crate) fn clamp_ttl(ttl: u32) -> u32 {
    if ttl >= 1 << 31 { 0 } else { ttl }
}

/// The DNS lookups a list check needs. Implement it to plug in another DNS backend.
///
/// The crate's implementations are [`HickoryResolver`](hickory::HickoryResolver) (the
/// default, feature `hickory`) and [`PooledUdpResolver`](pooled::PooledUdpResolver) (feature
/// `pooled`).
///
/// # Contract
///
/// - `name` is absolute: it ends with a dot, and must be sent exactly as given. An
///   implementation must never append a search domain to it.
/// - NXDOMAIN and NOERROR-without-records are [`Answer::NoRecords`], not errors. Every other
///   outcome that is not a usable answer (timeout, SERVFAIL, REFUSED, a socket that could not
///   be opened, a malformed reply) is a [`LookupError`] of the matching
///   [`kind`](LookupErrorKind). A failure must never be reported as `NoRecords`: that would
///   make a list look clean when it was not asked.
/// - A records come back all of them, unfiltered: whether they are in 127.0.0.0/8 is for the
///   caller to judge.
/// - Each TXT record comes back as one string: its character-strings joined without a
///   separator, decoded as UTF-8 with invalid sequences replaced by U+FFFD (lossy).
/// - An implementation applies its own per-query timeout and retries. The caller may drop a
///   lookup future at any time (an overall deadline); that must release what it holds.
/// - Error details must not repeat the query name: it may contain a secret key.
///
/// # Examples
///
/// A resolver that answers from a fixed table, as a test double:
///
/// ```
/// use std::net::{Ipv4Addr, Ipv6Addr};
/// use dnsbl_check::{Answer, DnsResolver, LookupError};
///
/// struct Table;
///
/// impl DnsResolver for Table {
///     async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
///         Ok(match name {
///             "2.0.0.127.bl.example." => Answer::Records {
///                 records: vec![Ipv4Addr::new(127, 0, 0, 2)],
///                 ttl: 60,
///             },
///             _ => Answer::NoRecords { nxdomain: true, negative_ttl: None },
///         })
///     }
///
///     async fn lookup_txt(&self, _name: &str) -> Result<Answer<String>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: false, negative_ttl: None })
///     }
/// }
/// ```
pub trait DnsResolver: Send + Sync + 'static {
    /// Looks up the A records at `name`.
    fn lookup_a(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<Ipv4Addr>, LookupError>> + Send;

    /// Looks up the TXT records at `name`, each joined into one string (see the contract).
    fn lookup_txt(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<String>, LookupError>> + Send;

    /// Looks up the AAAA records at `name`, for forward-confirmed reverse DNS.
    ///
    /// Optional: the default answers with a [`LookupErrorKind::Unsupported`] error, so a resolver
    /// used only for list lookups need not implement it.
    fn lookup_aaaa(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<Ipv6Addr>, LookupError>> + Send {
        let _ = name;
        std::future::ready(Err(unsupported("AAAA")))
    }

    /// Looks up the PTR records at `name` (an `in-addr.arpa.` or `ip6.arpa.` name), each as a
    /// lowercase host name without trailing dot, for forward-confirmed reverse DNS.
    ///
    /// Optional, like [`DnsResolver::lookup_aaaa`].
    fn lookup_ptr(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<String>, LookupError>> + Send {
        let _ = name;
        std::future::ready(Err(unsupported("PTR")))
    }

    /// Looks up the MX records at `name`, for checking a domain's mail servers
    /// ([`hosts`](crate::hosts)).
    ///
    /// Optional, like [`DnsResolver::lookup_aaaa`]: the default answers with a
    /// [`LookupErrorKind::Config`] error, which callers report as trouble, never as "no mail
    /// servers".
    fn lookup_mx(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<MailExchanger>, LookupError>> + Send {
        let _ = name;
        std::future::ready(Err(unsupported("MX")))
    }

    /// Looks up the NS records at `name`: a domain's name servers, lowercase host names
    /// without trailing dot, for checking them on IP lists.
    ///
    /// Optional, like [`DnsResolver::lookup_mx`]: the default answers with a
    /// [`LookupErrorKind::Unsupported`] error, which callers report as trouble, never as "no
    /// name servers".
    fn lookup_ns(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<String>, LookupError>> + Send {
        let _ = name;
        std::future::ready(Err(unsupported("NS")))
    }
}

/// One MX record: a domain's mail exchanger and its preference.
///
/// `exchange` is a lowercase host name without trailing dot, as received; the root name of a
/// null MX (RFC 7505, "this domain takes no mail") is `"."`.
///
/// # Examples
///
/// ```
/// use dnsbl_check::resolver::MailExchanger;
///
/// let mx = MailExchanger::new(10, "Mail.Example.ORG.");
/// assert_eq!(mx.exchange, "mail.example.org");
/// assert!(!mx.is_null());
/// assert!(MailExchanger::new(0, ".").is_null());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct MailExchanger {
    /// Lower values are tried first.
    pub preference: u16,
    /// The host name, lowercase, without trailing dot; `"."` for a null MX.
    pub exchange: String,
}

impl MailExchanger {
    /// An MX record, its exchange normalised (lowercase, trailing dot removed, the root kept
    /// as `"."`).
    pub fn new(preference: u16, exchange: &str) -> Self {
        let name = exchange.strip_suffix('.').unwrap_or(exchange);
        let exchange = if name.is_empty() {
            ".".to_owned()
        } else {
            name.to_ascii_lowercase()
        };
        MailExchanger {
            preference,
            exchange,
        }
    }

    /// Whether this is a null MX (RFC 7505): the exchange is the root, "no mail here".
    pub fn is_null(&self) -> bool {
        self.exchange == "."
    }
}

fn unsupported(record_type: &str) -> LookupError {
    LookupError::with_detail(
        LookupErrorKind::Unsupported,
        format!("this resolver does not look up {record_type} records"),
    )
}

impl<R: DnsResolver> DnsResolver for Arc<R> {
    fn lookup_a(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<Ipv4Addr>, LookupError>> + Send {
        (**self).lookup_a(name)
    }

    fn lookup_txt(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<String>, LookupError>> + Send {
        (**self).lookup_txt(name)
    }

    fn lookup_aaaa(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<Ipv6Addr>, LookupError>> + Send {
        (**self).lookup_aaaa(name)
    }

    fn lookup_ptr(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<String>, LookupError>> + Send {
        (**self).lookup_ptr(name)
    }

    fn lookup_mx(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<MailExchanger>, LookupError>> + Send {
        (**self).lookup_mx(name)
    }

    fn lookup_ns(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Answer<String>, LookupError>> + Send {
        (**self).lookup_ns(name)
    }
}

/// Why a lookup gave no usable answer.
///
/// # Examples
///
/// ```
/// use dnsbl_check::{LookupError, LookupErrorKind};
///
/// let error = LookupError::new(LookupErrorKind::ServFail);
/// assert!(error.is_servfail());
/// assert_eq!(error.to_string(), "SERVFAIL");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LookupError {
    kind: LookupErrorKind,
    detail: Option<String>,
}

impl LookupError {
    /// An error of this kind, without further detail.
    pub fn new(kind: LookupErrorKind) -> Self {
        LookupError { kind, detail: None }
    }

    /// An error of this kind with a human-readable detail (which must not contain the name).
    pub fn with_detail(kind: LookupErrorKind, detail: impl Into<String>) -> Self {
        LookupError {
            kind,
            detail: Some(detail.into()),
        }
    }

    /// Sorts an operating-system error: a local shortage (descriptors, ports, buffers,
    /// memory) is [`LookupErrorKind::LocalResource`]; anything else, such as an unreachable
    /// or refusing server, is [`LookupErrorKind::Network`]. The OS error text is the detail.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use dnsbl_check::{LookupError, LookupErrorKind};
    ///
    /// assert!(LookupError::from_io(&io::Error::from_raw_os_error(24)).is_local()); // EMFILE
    /// assert!(LookupError::from_io(&io::Error::from_raw_os_error(23)).is_local()); // ENFILE
    /// let refused = LookupError::from_io(&io::Error::from(io::ErrorKind::ConnectionRefused));
    /// assert_eq!(refused.kind(), LookupErrorKind::Network);
    /// ```
    pub fn from_io(error: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        // Out of descriptors, buffers or ports: what std has no kind for, by the system's own
        // numbers.
        #[cfg(unix)]
        let local_errno = matches!(
            error.raw_os_error(),
            Some(
                libc::EMFILE
                    | libc::ENFILE
                    | libc::ENOBUFS
                    | libc::ENOMEM
                    | libc::EADDRINUSE
                    | libc::EADDRNOTAVAIL
            )
        );
        #[cfg(not(unix))]
        let local_errno = false;
        let local = local_errno
            || matches!(
                error.kind(),
                ErrorKind::OutOfMemory | ErrorKind::AddrInUse | ErrorKind::AddrNotAvailable
            );
        let kind = if local {
            LookupErrorKind::LocalResource
        } else {
            LookupErrorKind::Network
        };
        LookupError::with_detail(kind, error.to_string())
    }

    /// The kind of failure.
    pub fn kind(&self) -> LookupErrorKind {
        self.kind
    }

    /// More detail, such as the operating system's error text, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// No answer came in time.
    pub fn is_timeout(&self) -> bool {
        self.kind == LookupErrorKind::Timeout
    }

    /// The server answered SERVFAIL.
    pub fn is_servfail(&self) -> bool {
        self.kind == LookupErrorKind::ServFail
    }

    /// The server answered REFUSED (for Spamhaus DQS: the key is not enabled for the zone).
    pub fn is_refused(&self) -> bool {
        self.kind == LookupErrorKind::Refused
    }

    /// The failure was on this machine (no socket or file descriptor to be had), not on the
    /// network or at the server.
    pub fn is_local(&self) -> bool {
        self.kind == LookupErrorKind::LocalResource
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {}", self.kind, detail),
            None => self.kind.fmt(f),
        }
    }
}

/// The kinds of lookup failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LookupErrorKind {
    /// No answer within the timeout (after retries), or the overall deadline passed.
    Timeout,
    /// The server answered SERVFAIL.
    ServFail,
    /// The server answered REFUSED.
    Refused,
    /// The server answered with another error code (FORMERR, NOTIMP, ...).
    ResponseCode(u16),
    /// The network failed: unreachable, connection refused or reset.
    Network,
    /// This machine ran out of something: sockets, file descriptors, ports.
    LocalResource,
    /// The reply could not be parsed, or did not fit the question.
    Protocol,
    /// The resolver could not be used at all (for instance, no name server configured, or no
    /// Tokio runtime to run on).
    Config,
    /// The resolver does not make this kind of lookup (an optional method of [`DnsResolver`]
    /// it does not implement).
    Unsupported,
}

impl fmt::Display for LookupErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupErrorKind::Timeout => f.write_str("timeout"),
            LookupErrorKind::ServFail => f.write_str("SERVFAIL"),
            LookupErrorKind::Refused => f.write_str("REFUSED"),
            LookupErrorKind::ResponseCode(code) => write!(f, "response code {code}"),
            LookupErrorKind::Network => f.write_str("network error"),
            LookupErrorKind::LocalResource => f.write_str("local resource error"),
            LookupErrorKind::Protocol => f.write_str("protocol error"),
            LookupErrorKind::Config => f.write_str("resolver configuration error"),
            LookupErrorKind::Unsupported => f.write_str("lookup not supported"),
        }
    }
}

/// A resolver could not be set up.
///
/// # Examples
///
/// ```
/// use dnsbl_check::{NameServer, ResolverBuildError};
///
/// let error = "localhost".parse::<NameServer>().unwrap_err();
/// assert!(matches!(error, ResolverBuildError::NameServer(_)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolverBuildError {
    /// The system's resolver configuration (`/etc/resolv.conf`) could not be read or used.
    #[error("cannot read the system resolver configuration: {detail}")]
    SystemConfig {
        /// What went wrong, and where.
        detail: String,
        /// The operating system's error, when reading the file failed.
        #[source]
        source: Option<io::Error>,
    },
    /// A name server was not written as `IP[:PORT]`.
    #[error("invalid name server {0:?}: expected IP or IP:PORT")]
    NameServer(String),
}

impl ResolverBuildError {
    /// A system configuration that could not be used, without an OS error.
    #[cfg(any(feature = "hickory", feature = "pooled"))]
    pub(crate) fn system_config(detail: impl Into<String>) -> Self {
        ResolverBuildError::SystemConfig {
            detail: detail.into(),
            source: None,
        }
    }
}
