//! The resolver seam: the lookups a DNS list check needs, how they can fail, and the
//! resolvers that implement them.
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`DnsResolver`], [`Answer`] | `resolver/mod.rs` | the trait and its contract |
//! | [`LookupError`], [`ResolverBuildError`] | `resolver/error.rs` | how a lookup fails, and how setting up a resolver does |
//! | record types (internal) | `resolver/record.rs` | the record types as types: one generic lookup per resolver behind the trait's methods |
//! | [`ResolverOptions`], [`NameServer`] | `resolver/options.rs` | name servers, timeout, retries: for any resolver |
//! | [`HickoryResolver`](hickory::HickoryResolver) | `resolver/hickory/` | the default resolver, on hickory-resolver |
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
mod error;
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
// Each resolver uses the parts it needs: with some features off, the rest goes unused.
#[cfg_attr(
    not(all(feature = "hickory", feature = "cache", feature = "mirror")),
    allow(dead_code)
)]
pub(crate) mod record;

pub use error::{LookupError, LookupErrorKind, ResolverBuildError};
pub use options::{NameServer, ResolverOptions};

use std::future::{Future, Ready};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

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

/// The optional methods of [`DnsResolver`]: each (`method => record value, "TYPE";`, with its
/// doc comment) answers by default with a [`LookupErrorKind::Unsupported`] error naming the
/// record type.
macro_rules! optional_lookups {
    ($($(#[$doc:meta])* $method:ident => $value:ty, $record_type:literal;)*) => {$(
        $(#[$doc])*
        fn $method(
            &self,
            name: &str,
        ) -> impl Future<Output = Result<Answer<$value>, LookupError>> + Send {
            unsupported(name, $record_type)
        }
    )*};
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

    /// The A records at `name` at once, when this resolver holds them in memory (a local
    /// mirror, with the `mirror` feature); `None` when they take a lookup.
    ///
    /// Optional: the default is `None`, and callers then ask [`DnsResolver::lookup_a`]. An
    /// answer given here must be the one `lookup_a` would give, errors included. Bulk checks
    /// use it to answer mirrored lists without setting up a lookup at all: a
    /// [`Checker`](crate::Checker) asks it once, when built, about a name of each list's zone,
    /// and tries at once only the lists it had an answer for.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{DnsResolver, HickoryResolver, NameServer};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = HickoryResolver::builder()
    ///     .name_server(NameServer::new("127.0.0.1:53".parse()?))
    ///     .build()?;
    /// // A resolver that asks a server has nothing to answer at once.
    /// assert!(resolver.lookup_a_now("2.0.0.127.bl.example.").is_none());
    /// # Ok(())
    /// # }
    /// ```
    fn lookup_a_now(&self, name: &str) -> Option<Result<Answer<Ipv4Addr>, LookupError>> {
        let _ = name;
        None
    }

    /// The TXT records at `name` at once, as [`DnsResolver::lookup_a_now`] gives A records;
    /// `None` when they take a lookup.
    fn lookup_txt_now(&self, name: &str) -> Option<Result<Answer<String>, LookupError>> {
        let _ = name;
        None
    }

    /// The longest a pending lookup of this resolver goes without waking its task, if it
    /// promises a bound: every lookup future, while pending, wakes the task that polls it
    /// within this time of each poll (with an answer, a retry or a timeout of its own).
    ///
    /// Optional: the default is `None`, no promise. A [`Checker`](crate::Checker) holds every
    /// check to an overall deadline; with a bound, it sets no timer of its own for a check
    /// whose deadline is further away than the bound (the lookup wakes the check before
    /// then, and the deadline is looked at each time), which saves a bulk scan a timer per
    /// target. An implementation that promises a bound must keep it: a check could otherwise
    /// outlast its deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use dnsbl_check::resolver::pooled::PooledUdpResolver;
    /// use dnsbl_check::{DnsResolver, NameServer};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = PooledUdpResolver::builder()
    ///     .name_server(NameServer::new("127.0.0.1:53".parse()?))
    ///     .timeout(Duration::from_secs(2))
    ///     .build()?;
    /// // Each attempt ends within its timeout.
    /// assert_eq!(resolver.wakes_within(), Some(Duration::from_secs(2)));
    /// # Ok(())
    /// # }
    /// ```
    fn wakes_within(&self) -> Option<Duration> {
        None
    }

    optional_lookups! {
        /// Looks up the AAAA records at `name`, for forward-confirmed reverse DNS.
        ///
        /// Optional: the default answers with a [`LookupErrorKind::Unsupported`] error, so a
        /// resolver used only for list lookups need not implement it.
        lookup_aaaa => Ipv6Addr, "AAAA";

        /// Looks up the PTR records at `name` (an `in-addr.arpa.` or `ip6.arpa.` name), each as
        /// a lowercase host name without trailing dot, for forward-confirmed reverse DNS.
        ///
        /// Optional, like [`DnsResolver::lookup_aaaa`].
        lookup_ptr => String, "PTR";

        /// Looks up the MX records at `name`, for checking a domain's mail servers
        /// ([`hosts`](crate::hosts)).
        ///
        /// Optional, like [`DnsResolver::lookup_aaaa`]: the default answers with a
        /// [`LookupErrorKind::Unsupported`] error, which callers report as trouble, never as "no
        /// mail servers".
        lookup_mx => MailExchanger, "MX";

        /// Looks up the NS records at `name`: a domain's name servers, lowercase host names
        /// without trailing dot, for checking them on IP lists.
        ///
        /// Optional, like [`DnsResolver::lookup_mx`]: the default answers with a
        /// [`LookupErrorKind::Unsupported`] error, which callers report as trouble, never as "no
        /// name servers".
        lookup_ns => String, "NS";
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

/// The answer of a resolver without the optional lookup of `record_type`, whatever the name.
fn unsupported<T>(_name: &str, record_type: &str) -> Ready<Result<Answer<T>, LookupError>> {
    std::future::ready(Err(LookupError::with_detail(
        LookupErrorKind::Unsupported,
        format!("this resolver does not look up {record_type} records"),
    )))
}

impl<R: DnsResolver> DnsResolver for Arc<R> {
    record::lookup_methods!(deref);

    fn wakes_within(&self) -> Option<Duration> {
        (**self).wakes_within()
    }
}
