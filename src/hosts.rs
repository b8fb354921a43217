//! Mail-server targets: from a domain to the addresses to check.
//!
//! A mail admin starts from a domain: "is my mail being refused?". [`expand`] turns the domain
//! into the addresses that send or receive its mail, each with where it came from and its
//! forward-confirmed reverse DNS (receivers refuse mail from an address without it, much as
//! they refuse a listed one):
//!
//! - [`HostSource::Mx`]: the MX hosts, in preference order, each resolved to its A and AAAA
//!   addresses. A domain without MX records is its own mail server, the implicit MX of RFC
//!   5321 §5.1; a null MX (RFC 7505, the exchange `.`) means the domain takes no mail.
//! - [`HostSource::Resolve`]: the domain's own A and AAAA addresses.
//! - [`HostSource::Spf`]: the addresses the domain sends from, as its SPF record authorizes
//!   them ([`crate::spf`]): every address of every network, each with the path that reached
//!   it ([`DerivedAddress::path`]). A record past RFC 7208's limits, or a lookup that failed,
//!   is [`HostTrouble`] of record type `SPF`.
//!
//! A lookup that fails is [`HostTrouble`], kept next to whatever was found: it is never read
//! as "no mail servers".
//!
//! # Examples
//!
//! ```no_run
//! use dnsbl_check::hosts::{HostSource, expand};
//! use dnsbl_check::HickoryResolver;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let resolver = HickoryResolver::system()?;
//! let servers = expand(&resolver, &"example.org".parse()?, HostSource::Mx).await;
//! for server in &servers.addresses {
//!     println!("{} ({}): rDNS {}", server.addr, server.host, server.rdns.status());
//! }
//! for trouble in &servers.trouble {
//!     eprintln!("incomplete: {trouble}");
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::rdns::{ReverseDns, forward_confirmed_reverse_dns};
use crate::resolver::{Answer, DnsResolver, LookupError, LookupErrorKind, MailExchanger};
use crate::spf::{self, SpfError};
use crate::target::DomainName;

/// At most this many MX hosts are followed: a hostile zone could otherwise make one domain
/// cost thousands of queries. Real domains have a handful.
pub const MAX_MX_HOSTS: usize = 10;

/// At most this many addresses of each record type are taken from one host, for the same
/// reason.
pub const MAX_ADDRESSES_PER_HOST: usize = 16;

/// Which addresses of a domain are checked.
///
/// # Examples
///
/// ```
/// use dnsbl_check::hosts::HostSource;
///
/// assert_eq!(HostSource::Mx.to_string(), "mx");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostSource {
    /// The domain's mail servers: its MX hosts, or the domain itself without MX records.
    Mx,
    /// The domain's own A and AAAA addresses.
    Resolve,
    /// The addresses the domain's SPF record authorizes: its sending addresses.
    Spf,
}

impl fmt::Display for HostSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostSource::Mx => "mx",
            HostSource::Resolve => "resolve",
            HostSource::Spf => "spf",
        })
    }
}

/// One address found for a domain, with where it came from.
///
/// # Examples
///
/// ```
/// use dnsbl_check::ReverseDns;
/// use dnsbl_check::hosts::DerivedAddress;
///
/// let server = DerivedAddress {
///     via: "example.org".parse().unwrap(),
///     host: "mx1.example.org".parse().unwrap(),
///     preference: Some(10),
///     addr: "192.0.2.25".parse().unwrap(),
///     rdns: ReverseDns::NoPtr,
///     path: None,
///     network: None,
/// };
/// assert!(!server.rdns.is_confirmed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DerivedAddress {
    /// The domain that was given.
    pub via: DomainName,
    /// The host name the address came from: an MX host, or the domain itself.
    pub host: DomainName,
    /// The MX preference of `host`; `None` for an implicit MX and for [`HostSource::Resolve`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preference: Option<u16>,
    /// The address.
    pub addr: IpAddr,
    /// Its forward-confirmed reverse DNS.
    pub rdns: ReverseDns,
    /// For [`HostSource::Spf`]: how the record reached it, such as `example.org spf →
    /// include:_spf.example.org → ip4:203.0.113.0/28`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For [`HostSource::Spf`]: the network it is one address of, when the record
    /// authorized more than one address at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<IpNet>,
}

/// A lookup that failed while expanding a domain: the list of addresses is incomplete.
///
/// # Examples
///
/// ```
/// use dnsbl_check::hosts::HostTrouble;
/// use dnsbl_check::{LookupError, LookupErrorKind};
///
/// let trouble = HostTrouble {
///     host: "example.org".into(),
///     record: "MX",
///     error: LookupError::new(LookupErrorKind::ServFail),
/// };
/// assert_eq!(trouble.to_string(), "MX lookup for example.org failed: SERVFAIL");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTrouble {
    /// The name looked up, as received (an MX exchange may not even be a host name).
    pub host: String,
    /// The record type asked: `MX`, `A` or `AAAA`; `SPF` for an SPF record that could not be
    /// read in full (the error's detail says why: [`crate::spf::SpfError`]).
    pub record: &'static str,
    /// What went wrong.
    pub error: LookupError,
}

impl fmt::Display for HostTrouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug-quoted: an MX exchange is someone else's text.
        let host = if DomainName::new(&self.host).is_ok() {
            self.host.clone()
        } else {
            format!("{:?}", self.host)
        };
        if self.record == SPF {
            return write!(f, "SPF of {host}: {}", self.error);
        }
        write!(
            f,
            "{} lookup for {host} failed: {}",
            self.record, self.error
        )
    }
}

/// The record type of SPF trouble.
const SPF: &str = "SPF";

impl HostTrouble {
    /// SPF trouble of `domain` as host trouble: a failed lookup keeps its kind; a broken
    /// record, or one this crate cannot list in full, is a protocol error with the reason.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::hosts::HostTrouble;
    /// use dnsbl_check::spf::SpfError;
    ///
    /// let error = SpfError::NoRecord { domain: "example.org".into() };
    /// let trouble = HostTrouble::from_spf("example.org", &error);
    /// assert_eq!(trouble.record, "SPF");
    /// assert_eq!(
    ///     trouble.to_string(),
    ///     "SPF of example.org: protocol error: example.org has no SPF record"
    /// );
    /// ```
    pub fn from_spf(domain: &str, error: &SpfError) -> Self {
        let kind = match error {
            SpfError::Lookup { error, .. } => error.kind(),
            _ => LookupErrorKind::Protocol,
        };
        HostTrouble {
            host: domain.to_owned(),
            record: SPF,
            error: LookupError::with_detail(kind, error.to_string()),
        }
    }
}

impl Serialize for HostTrouble {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("HostTrouble", 4)?;
        state.serialize_field("host", &self.host)?;
        state.serialize_field("record", self.record)?;
        state.serialize_field("error", &self.error.kind())?;
        state.serialize_field("detail", &self.error.to_string())?;
        state.end()
    }
}

/// What a domain expanded to.
///
/// # Examples
///
/// ```
/// use dnsbl_check::hosts::{Expansion, HostSource};
///
/// let nothing = Expansion::new("example.org".parse().unwrap(), HostSource::Mx);
/// assert!(nothing.is_complete());
/// assert!(nothing.addresses.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expansion {
    /// The domain given.
    pub domain: DomainName,
    /// Which addresses were asked for.
    pub source: HostSource,
    /// The addresses, in preference order (for each host, A before AAAA), each once.
    pub addresses: Vec<DerivedAddress>,
    /// The domain published a null MX (RFC 7505): it takes no mail.
    pub null_mx: bool,
    /// The domain has no MX records and is its own mail server (RFC 5321 §5.1).
    pub implicit_mx: bool,
    /// Lookups that failed. When not empty, `addresses` may be missing some.
    pub trouble: Vec<HostTrouble>,
}

impl Expansion {
    /// An expansion with nothing found yet.
    pub fn new(domain: DomainName, source: HostSource) -> Self {
        Expansion {
            domain,
            source,
            addresses: Vec::new(),
            null_mx: false,
            implicit_mx: false,
            trouble: Vec::new(),
        }
    }

    /// Whether every lookup answered, so that `addresses` is the whole answer.
    pub fn is_complete(&self) -> bool {
        self.trouble.is_empty()
    }
}

/// Expands `domain` into the addresses to check, with their reverse DNS (see the
/// [module documentation](self)).
///
/// Lookups run concurrently: the MX query first, then the A and AAAA queries of every host,
/// then the reverse DNS of every address.
///
/// # Examples
///
/// A domain without MX records is its own mail server:
///
/// ```
/// use std::net::{Ipv4Addr, Ipv6Addr};
/// use dnsbl_check::hosts::{HostSource, expand};
/// use dnsbl_check::resolver::MailExchanger;
/// use dnsbl_check::{Answer, DnsResolver, LookupError};
///
/// struct Table;
///
/// impl DnsResolver for Table {
///     async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
///         Ok(match name {
///             "example.org." => Answer::Records { records: vec![[192, 0, 2, 1].into()], ttl: 60 },
///             _ => Answer::NoRecords { nxdomain: true, negative_ttl: None },
///         })
///     }
///     async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: false, negative_ttl: None })
///     }
///     async fn lookup_aaaa(&self, _: &str) -> Result<Answer<Ipv6Addr>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: false, negative_ttl: None })
///     }
///     async fn lookup_ptr(&self, _: &str) -> Result<Answer<String>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
///     }
///     async fn lookup_mx(&self, _: &str) -> Result<Answer<MailExchanger>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: false, negative_ttl: None })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let servers = expand(&Table, &"example.org".parse().unwrap(), HostSource::Mx).await;
/// assert!(servers.implicit_mx && servers.is_complete());
/// assert_eq!(servers.addresses[0].host.as_str(), "example.org");
/// assert_eq!(servers.addresses[0].addr.to_string(), "192.0.2.1");
/// assert_eq!(servers.addresses[0].rdns.status(), "no_ptr");
/// # }
/// ```
pub async fn expand<R: DnsResolver>(
    resolver: &R,
    domain: &DomainName,
    source: HostSource,
) -> Expansion {
    let (mut expansion, left_out) = expand_at_most(resolver, domain, source, usize::MAX).await;
    if left_out > 0 {
        // Only SPF networks can be this large: say that the rest was not checked.
        expansion.trouble.push(HostTrouble {
            host: domain.to_string(),
            record: SPF,
            error: LookupError::with_detail(
                LookupErrorKind::Protocol,
                format!(
                    "the record authorizes more than {MAX_SPF_ADDRESSES} addresses; \
                     {left_out} were left out"
                ),
            ),
        });
    }
    expansion
}

/// At most this many addresses are taken from one domain's SPF record: a `+all` or an
/// `ip4:10.0.0.0/8` is a typo or a hostile record, not senders to check one by one.
pub const MAX_SPF_ADDRESSES: usize = 65_536;

/// Like [`expand`], but keeps only the first `max_addresses` addresses (in preference order)
/// and looks up the reverse DNS of those only; returns the expansion and how many more
/// addresses were found and left out.
///
/// For a service that expands domains others name (an exporter's `/probe`): [`expand`]'s own
/// limits let a hostile domain cost a few thousand queries (10 MX hosts of 32 addresses, each
/// with its reverse DNS), this at most `1 + 2 × 10 + 11 × max_addresses`. An expansion that
/// left addresses out is not the whole answer: say so, and never read the missing addresses
/// as clean.
///
/// # Examples
///
/// ```
/// use std::net::{Ipv4Addr, Ipv6Addr};
/// use dnsbl_check::hosts::{HostSource, expand_at_most};
/// use dnsbl_check::resolver::MailExchanger;
/// use dnsbl_check::{Answer, DnsResolver, LookupError};
///
/// /// Every name has the same three addresses, and nothing else.
/// struct Three;
///
/// impl DnsResolver for Three {
///     async fn lookup_a(&self, _: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
///         let records = (1..=3).map(|i| Ipv4Addr::new(192, 0, 2, i)).collect();
///         Ok(Answer::Records { records, ttl: 60 })
///     }
///     async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: false, negative_ttl: None })
///     }
///     async fn lookup_aaaa(&self, _: &str) -> Result<Answer<Ipv6Addr>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: false, negative_ttl: None })
///     }
///     async fn lookup_ptr(&self, _: &str) -> Result<Answer<String>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
///     }
///     async fn lookup_mx(&self, _: &str) -> Result<Answer<MailExchanger>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: false, negative_ttl: None })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (servers, left_out) =
///     expand_at_most(&Three, &"example.org".parse().unwrap(), HostSource::Resolve, 2).await;
/// assert_eq!(servers.addresses.len(), 2);
/// assert_eq!(left_out, 1);
/// # }
/// ```
pub async fn expand_at_most<R: DnsResolver>(
    resolver: &R,
    domain: &DomainName,
    source: HostSource,
    max_addresses: usize,
) -> (Expansion, usize) {
    let mut expansion = Expansion::new(domain.clone(), source);
    if source == HostSource::Spf {
        let max_addresses = max_addresses.min(MAX_SPF_ADDRESSES);
        let left_out = sending_addresses(resolver, &mut expansion, max_addresses).await;
        return (expansion, left_out);
    }
    let hosts = match source {
        HostSource::Spf | HostSource::Resolve => vec![(domain.clone(), None)],
        HostSource::Mx => match mail_hosts(resolver, &mut expansion).await {
            Some(hosts) => hosts,
            None => return (expansion, 0),
        },
    };
    let found =
        futures::future::join_all(hosts.iter().map(|(host, _)| addresses_of(resolver, host))).await;
    let mut seen = std::collections::HashSet::new();
    let mut pending = Vec::new();
    for ((host, preference), (addrs, trouble)) in hosts.into_iter().zip(found) {
        expansion.trouble.extend(trouble);
        for addr in addrs {
            if seen.insert(addr) {
                pending.push(Found {
                    host: host.clone(),
                    preference,
                    addr,
                    path: None,
                    network: None,
                });
            }
        }
    }
    let left_out = pending.len().saturating_sub(max_addresses);
    pending.truncate(max_addresses);
    expansion.addresses = with_rdns(resolver, domain, pending).await;
    (expansion, left_out)
}

/// An address found for a domain, before its reverse DNS is looked up.
struct Found {
    host: DomainName,
    preference: Option<u16>,
    addr: IpAddr,
    path: Option<String>,
    network: Option<IpNet>,
}

/// Looks up the reverse DNS of every address found for `via`, at once, and builds each one's
/// [`DerivedAddress`].
async fn with_rdns<R: DnsResolver>(
    resolver: &R,
    via: &DomainName,
    found: Vec<Found>,
) -> Vec<DerivedAddress> {
    let rdns = futures::future::join_all(
        found
            .iter()
            .map(|one| forward_confirmed_reverse_dns(resolver, one.addr)),
    )
    .await;
    found
        .into_iter()
        .zip(rdns)
        .map(|(one, rdns)| DerivedAddress {
            via: via.clone(),
            host: one.host,
            preference: one.preference,
            addr: one.addr,
            rdns,
            path: one.path,
            network: one.network,
        })
        .collect()
}

/// [`HostSource::Spf`]: every address of every network the SPF record authorizes, each once,
/// at most `max_addresses` of them (with their reverse DNS); returns how many were left out.
async fn sending_addresses<R: DnsResolver>(
    resolver: &R,
    expansion: &mut Expansion,
    max_addresses: usize,
) -> usize {
    let domain = expansion.domain.clone();
    let senders = spf::expand(resolver, &domain).await;
    expansion.trouble.extend(
        senders
            .trouble
            .iter()
            .map(|error| HostTrouble::from_spf(domain.as_str(), error)),
    );
    let total = senders.addresses();
    let pending: Vec<_> = senders
        .each_address()
        .take(max_addresses)
        .map(|(addr, network)| {
            let wide = spf::network_size(&network.network) > 1;
            Found {
                host: domain.clone(),
                preference: None,
                addr,
                path: Some(network.via()),
                network: wide.then_some(network.network),
            }
        })
        .collect();
    // Overlapping networks count twice in `total`: the count left out is an upper bound.
    let left_out =
        usize::try_from(total.saturating_sub(pending.len() as u128)).unwrap_or(usize::MAX);
    let left_out = if pending.len() < max_addresses {
        0
    } else {
        left_out
    };
    expansion.addresses = with_rdns(resolver, &domain, pending).await;
    left_out
}

/// The MX hosts of the domain, in preference order, or `None` when there is nothing to
/// resolve (a failed MX lookup, recorded as trouble, or a null MX).
async fn mail_hosts<R: DnsResolver>(
    resolver: &R,
    expansion: &mut Expansion,
) -> Option<Vec<(DomainName, Option<u16>)>> {
    let domain = expansion.domain.clone();
    let records = match resolver.lookup_mx(&absolute(&domain)).await {
        Err(error) => {
            expansion.trouble.push(HostTrouble {
                host: domain.to_string(),
                record: "MX",
                error,
            });
            return None;
        }
        Ok(Answer::NoRecords { .. }) => {
            expansion.implicit_mx = true;
            return Some(vec![(domain, None)]);
        }
        Ok(Answer::Records { records, .. }) => records,
    };
    let mut records: Vec<MailExchanger> = records;
    // RFC 7505: a null MX is the only record; should others stand beside it, they are used.
    if records.iter().all(MailExchanger::is_null) {
        expansion.null_mx = true;
        return None;
    }
    records.retain(|mx| !mx.is_null());
    records.sort_by_key(|mx| mx.preference); // stable: equal preferences keep their order
    let mut hosts: Vec<(DomainName, Option<u16>)> = Vec::new();
    for mx in records {
        if hosts.len() == MAX_MX_HOSTS {
            break;
        }
        // An MX exchange must be a host name (RFC 5321 §5.1: not an address literal).
        let name = match mx.exchange.parse::<IpAddr>() {
            Ok(_) => Err(()),
            Err(_) => DomainName::new(&mx.exchange).map_err(|_| ()),
        };
        match name {
            Ok(host) if !hosts.iter().any(|(known, _)| *known == host) => {
                hosts.push((host, Some(mx.preference)));
            }
            Ok(_) => {}
            Err(()) => expansion.trouble.push(HostTrouble {
                host: mx.exchange,
                record: "MX",
                error: LookupError::with_detail(
                    LookupErrorKind::Protocol,
                    "the MX exchange is not a host name",
                ),
            }),
        }
    }
    Some(hosts)
}

/// The A, then AAAA, addresses of `host` (at most [`MAX_ADDRESSES_PER_HOST`] of each), and
/// the lookups that failed.
async fn addresses_of<R: DnsResolver>(
    resolver: &R,
    host: &DomainName,
) -> (Vec<IpAddr>, Vec<HostTrouble>) {
    let name = absolute(host);
    let (v4, v6) = futures::join!(resolver.lookup_a(&name), resolver.lookup_aaaa(&name));
    let mut addrs = Vec::new();
    let mut trouble = Vec::new();
    let mut take = |record: &'static str, found: Result<Vec<IpAddr>, LookupError>| match found {
        Ok(found) => addrs.extend(found.into_iter().take(MAX_ADDRESSES_PER_HOST)),
        Err(error) => trouble.push(HostTrouble {
            host: host.to_string(),
            record,
            error,
        }),
    };
    take("A", v4.map(|answer| records(answer, IpAddr::V4)));
    take("AAAA", v6.map(|answer| records(answer, IpAddr::V6)));
    (addrs, trouble)
}

fn records<T>(answer: Answer<T>, convert: fn(T) -> IpAddr) -> Vec<IpAddr> {
    match answer {
        Answer::Records { records, .. } => records.into_iter().map(convert).collect(),
        Answer::NoRecords { .. } => Vec::new(),
    }
}

fn absolute(name: &DomainName) -> String {
    format!("{name}.")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Answers from tables; a name absent from a table is NXDOMAIN, and a name in `fail` gets
    /// SERVFAIL for every type.
    #[derive(Default)]
    struct Table {
        mx: HashMap<&'static str, Vec<(u16, &'static str)>>,
        a: HashMap<&'static str, Vec<Ipv4Addr>>,
        aaaa: HashMap<&'static str, Vec<Ipv6Addr>>,
        ptr: HashMap<String, Vec<&'static str>>,
        txt: HashMap<&'static str, Vec<String>>,
        fail: Vec<&'static str>,
    }

    /// The records found, or NXDOMAIN: a table's answer.
    pub(crate) fn answer<T: Clone>(found: Option<&Vec<T>>) -> Answer<T> {
        match found {
            Some(records) => Answer::Records {
                records: records.clone(),
                ttl: 60,
            },
            None => Answer::NoRecords {
                nxdomain: true,
                negative_ttl: None,
            },
        }
    }

    impl Table {
        fn check(&self, name: &str) -> Result<(), LookupError> {
            if self.fail.contains(&name) {
                Err(LookupError::new(LookupErrorKind::ServFail))
            } else {
                Ok(())
            }
        }
    }

    impl DnsResolver for Table {
        async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
            self.check(name)?;
            Ok(answer(self.a.get(name)))
        }
        async fn lookup_txt(&self, name: &str) -> Result<Answer<String>, LookupError> {
            self.check(name)?;
            Ok(answer(self.txt.get(name)))
        }
        async fn lookup_aaaa(&self, name: &str) -> Result<Answer<Ipv6Addr>, LookupError> {
            self.check(name)?;
            Ok(answer(self.aaaa.get(name)))
        }
        async fn lookup_ptr(&self, name: &str) -> Result<Answer<String>, LookupError> {
            let names = self
                .ptr
                .get(name)
                .map(|hosts| hosts.iter().map(|h| h.to_string()).collect());
            Ok(answer(names.as_ref()))
        }
        async fn lookup_mx(&self, name: &str) -> Result<Answer<MailExchanger>, LookupError> {
            self.check(name)?;
            let records = self.mx.get(name).map(|records| {
                records
                    .iter()
                    .map(|(preference, host)| MailExchanger::new(*preference, host))
                    .collect()
            });
            Ok(answer(records.as_ref()))
        }
    }

    fn run(table: &Table, domain: &str, source: HostSource) -> Expansion {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(expand(table, &domain.parse().unwrap(), source))
    }

    fn summary(expansion: &Expansion) -> Vec<(String, String, &'static str)> {
        expansion
            .addresses
            .iter()
            .map(|a| (a.host.to_string(), a.addr.to_string(), a.rdns.status()))
            .collect()
    }

    fn s(host: &str, addr: &str, rdns: &'static str) -> (String, String, &'static str) {
        (host.into(), addr.into(), rdns)
    }

    #[test]
    fn mx_hosts_in_preference_order_with_both_families_and_rdns() {
        let mut table = Table::default();
        table.mx.insert(
            "example.org.",
            vec![(20, "backup.example.org."), (10, "mx1.example.org.")],
        );
        table
            .a
            .insert("mx1.example.org.", vec![[192, 0, 2, 1].into()]);
        table
            .aaaa
            .insert("mx1.example.org.", vec!["2001:db8::1".parse().unwrap()]);
        table
            .a
            .insert("backup.example.org.", vec![[192, 0, 2, 2].into()]);
        table.ptr.insert(
            crate::rdns::ptr_name([192, 0, 2, 1].into()),
            vec!["mx1.example.org"],
        );
        table.ptr.insert(
            crate::rdns::ptr_name([192, 0, 2, 2].into()),
            vec!["elsewhere.example.net"],
        );
        let found = run(&table, "example.org", HostSource::Mx);
        assert!(found.is_complete() && !found.implicit_mx && !found.null_mx);
        assert_eq!(
            summary(&found),
            [
                s("mx1.example.org", "192.0.2.1", "confirmed"),
                s("mx1.example.org", "2001:db8::1", "no_ptr"),
                s("backup.example.org", "192.0.2.2", "not_confirmed"),
            ]
        );
        assert_eq!(found.addresses[0].preference, Some(10));
        assert_eq!(found.addresses[0].via.as_str(), "example.org");
    }

    #[test]
    fn no_mx_is_the_implicit_mx_and_resolve_takes_the_domain_itself() {
        let mut table = Table::default();
        table.a.insert("example.org.", vec![[192, 0, 2, 9].into()]);
        for source in [HostSource::Mx, HostSource::Resolve] {
            let found = run(&table, "example.org", source);
            assert_eq!(found.implicit_mx, source == HostSource::Mx);
            assert_eq!(summary(&found), [s("example.org", "192.0.2.9", "no_ptr")]);
            assert_eq!(found.addresses[0].preference, None);
        }
    }

    #[test]
    fn resolve_ignores_mx_records() {
        let mut table = Table::default();
        table
            .mx
            .insert("example.org.", vec![(10, "mx.example.org.")]);
        table
            .a
            .insert("mx.example.org.", vec![[192, 0, 2, 1].into()]);
        let found = run(&table, "example.org", HostSource::Resolve);
        assert!(found.addresses.is_empty() && found.is_complete());
    }

    #[test]
    fn null_mx_means_no_mail_servers() {
        let mut table = Table::default();
        table.mx.insert("example.org.", vec![(0, ".")]);
        table.a.insert("example.org.", vec![[192, 0, 2, 9].into()]);
        let found = run(&table, "example.org", HostSource::Mx);
        assert!(found.null_mx && found.is_complete());
        assert!(found.addresses.is_empty());
    }

    #[test]
    fn failures_are_trouble_never_no_servers() {
        let mut table = Table::default();
        table.fail.push("example.org.");
        let found = run(&table, "example.org", HostSource::Mx);
        assert!(!found.is_complete() && !found.implicit_mx);
        assert_eq!(found.trouble[0].record, "MX");
        assert_eq!(found.trouble[0].error.kind(), LookupErrorKind::ServFail);

        // One host failing leaves the others, and says which lookups failed.
        let mut table = Table::default();
        table.mx.insert(
            "example.org.",
            vec![(10, "dead.example.org."), (20, "mx2.example.org.")],
        );
        table.fail.push("dead.example.org.");
        table
            .a
            .insert("mx2.example.org.", vec![[192, 0, 2, 2].into()]);
        let found = run(&table, "example.org", HostSource::Mx);
        let failed: Vec<_> = found.trouble.iter().map(|t| t.record).collect();
        assert_eq!(failed, ["A", "AAAA"]);
        assert_eq!(
            summary(&found),
            [s("mx2.example.org", "192.0.2.2", "no_ptr")]
        );
    }

    #[test]
    fn hostile_mx_sets_are_bounded_and_deduplicated() {
        let mut table = Table::default();
        let names: Vec<&'static str> = (0..30)
            .map(|i| &*Box::leak(format!("mx{i}.example.org.").into_boxed_str()))
            .collect();
        let mut mx: Vec<(u16, &'static str)> = names.iter().map(|name| (10, *name)).collect();
        mx.push((5, "192.0.2.7")); // an address literal is no host name...
        mx.push((5, "bad..name")); // nor is this
        table.mx.insert("example.org.", mx);
        for name in &names {
            // Every host shares one address, and one of them has far too many.
            table.a.insert(name, vec![[192, 0, 2, 1].into()]);
        }
        let many: Vec<Ipv4Addr> = (0..100).map(|i| [198, 51, 100, i].into()).collect();
        table.a.insert("mx0.example.org.", many);
        let found = run(&table, "example.org", HostSource::Mx);
        assert_eq!(found.addresses.len(), MAX_ADDRESSES_PER_HOST + 1);
        let hosts: std::collections::HashSet<_> =
            found.addresses.iter().map(|a| a.host.as_str()).collect();
        assert!(hosts.len() <= MAX_MX_HOSTS);
        let bad: Vec<_> = found.trouble.iter().map(|t| t.host.as_str()).collect();
        assert_eq!(bad, ["192.0.2.7", "bad..name"]);
    }

    #[test]
    fn spf_gives_every_address_of_every_network_with_its_path() {
        let mut table = Table::default();
        let record = "v=spf1 ip4:192.0.2.0/31 a:relay.example.org ip4:192.0.2.1 -all";
        table.txt.insert("example.org.", vec![record.into()]);
        table
            .a
            .insert("relay.example.org.", vec![[198, 51, 100, 9].into()]);
        let found = run(&table, "example.org", HostSource::Spf);
        assert!(found.is_complete(), "{:?}", found.trouble);
        let rows: Vec<(String, Option<String>, Option<String>)> = found
            .addresses
            .iter()
            .map(|a| {
                let network = a.network.map(|n| n.to_string());
                (a.addr.to_string(), a.path.clone(), network)
            })
            .collect();
        let path = |step: &str| Some(format!("example.org spf → {step}"));
        let wide = Some("192.0.2.0/31".to_owned());
        assert_eq!(
            rows,
            [
                ("192.0.2.0".into(), path("ip4:192.0.2.0/31"), wide.clone()),
                ("192.0.2.1".into(), path("ip4:192.0.2.0/31"), wide),
                ("198.51.100.9".into(), path("a:relay.example.org"), None),
            ]
        );
        assert_eq!(found.addresses[2].host.as_str(), "example.org");
    }

    #[test]
    fn spf_trouble_and_oversized_records_are_said_never_silent() {
        let mut table = Table::default();
        table.fail.push("example.org.");
        let found = run(&table, "example.org", HostSource::Spf);
        assert_eq!(found.trouble[0].record, "SPF");
        assert_eq!(found.trouble[0].error.kind(), LookupErrorKind::ServFail);

        // A /15 is more than MAX_SPF_ADDRESSES: the first are taken, and the rest said missing.
        let mut table = Table::default();
        let record = "v=spf1 ip4:10.0.0.0/15 -all";
        table.txt.insert("example.org.", vec![record.into()]);
        let found = run(&table, "example.org", HostSource::Spf);
        assert_eq!(found.addresses.len(), MAX_SPF_ADDRESSES);
        assert_eq!(found.trouble.len(), 1);
        assert!(
            found.trouble[0].to_string().contains("65536 were left out"),
            "{}",
            found.trouble[0]
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let domain = "example.org".parse().unwrap();
        let (found, left_out) =
            runtime.block_on(expand_at_most(&table, &domain, HostSource::Spf, 3));
        assert_eq!((found.addresses.len(), left_out), (3, (1 << 17) - 3));
    }
}
