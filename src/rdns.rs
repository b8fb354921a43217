//! Forward-confirmed reverse DNS (FCrDNS): does the client's host name lead back to it?

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::resolver::{Answer, DnsResolver, LookupError};
use crate::target::{DomainName, unmap_ipv4};
use crate::zone::{reverse_ipv4, reverse_ipv6};

/// At most this many PTR names are confirmed, as Postfix and Exim limit it: a hostile zone
/// could otherwise make one check send hundreds of queries.
const MAX_PTR_NAMES: usize = 10;

/// The result of a forward-confirmed reverse DNS check.
///
/// # Examples
///
/// ```
/// use dnsbl_check::ReverseDns;
///
/// let confirmed = ReverseDns::Confirmed(vec!["mail.example.org".parse().unwrap()]);
/// assert!(confirmed.is_confirmed());
/// assert_eq!(confirmed.to_string(), "confirmed: mail.example.org");
/// assert!(!ReverseDns::NoPtr.is_confirmed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReverseDns {
    /// These PTR names resolve back to the address (the first is the one to show).
    Confirmed(Vec<DomainName>),
    /// The address has PTR names, but none resolves back to it.
    NotConfirmed(Vec<String>),
    /// The address has no PTR record (NXDOMAIN or no data).
    NoPtr,
    /// A lookup failed, so nothing can be said either way: a temporary condition.
    Failed(LookupError),
}

impl ReverseDns {
    /// Whether a PTR name was confirmed.
    pub fn is_confirmed(&self) -> bool {
        matches!(self, ReverseDns::Confirmed(_))
    }

    /// The confirmed host name, if any.
    pub fn host_name(&self) -> Option<&DomainName> {
        match self {
            ReverseDns::Confirmed(names) => names.first(),
            _ => None,
        }
    }

    /// The status word used when serialised: `confirmed`, `not_confirmed`, `no_ptr`, `failed`.
    pub fn status(&self) -> &'static str {
        match self {
            ReverseDns::Confirmed(_) => "confirmed",
            ReverseDns::NotConfirmed(_) => "not_confirmed",
            ReverseDns::NoPtr => "no_ptr",
            ReverseDns::Failed(_) => "failed",
        }
    }
}

impl fmt::Display for ReverseDns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReverseDns::Confirmed(names) => write!(f, "confirmed: {}", join(names)),
            ReverseDns::NotConfirmed(names) => {
                write!(f, "not confirmed: {} do not resolve back", join(names))
            }
            ReverseDns::NoPtr => f.write_str("no PTR record"),
            ReverseDns::Failed(error) => write!(f, "lookup failed: {error}"),
        }
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Serialize for ReverseDns {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("ReverseDns", 3)?;
        state.serialize_field("status", self.status())?;
        match self {
            ReverseDns::Confirmed(names) => state.serialize_field("names", names)?,
            ReverseDns::NotConfirmed(names) => state.serialize_field("names", names)?,
            _ => state.skip_field("names")?,
        }
        match self {
            ReverseDns::Failed(error) => state.serialize_field("detail", &error.to_string())?,
            _ => state.skip_field("detail")?,
        }
        state.end()
    }
}

/// The PTR query name of an address: `4.3.2.1.in-addr.arpa.` or 32 nibbles under
/// `ip6.arpa.`. IPv4-mapped IPv6 addresses are asked as the IPv4 address they carry.
///
/// # Examples
///
/// ```
/// use dnsbl_check::rdns::ptr_name;
///
/// assert_eq!(ptr_name("192.0.2.1".parse().unwrap()), "1.2.0.192.in-addr.arpa.");
/// assert!(ptr_name("2001:db8::1".parse().unwrap()).ends_with(".8.b.d.0.1.0.0.2.ip6.arpa."));
/// ```
pub fn ptr_name(addr: IpAddr) -> String {
    match unmap_ipv4(addr) {
        IpAddr::V4(v4) => format!("{}.in-addr.arpa.", reverse_ipv4(v4)),
        IpAddr::V6(v6) => format!("{}.ip6.arpa.", reverse_ipv6(v6)),
    }
}

/// Checks forward-confirmed reverse DNS: looks up the PTR names of `addr`, then the A (or
/// AAAA) records of each, and keeps the names that lead back to `addr`.
///
/// Up to 10 PTR names are tried, concurrently. A failure is reported only when nothing was
/// confirmed: one name that confirms is enough, whatever happened to the others.
///
/// # Examples
///
/// ```no_run
/// use dnsbl_check::{HickoryResolver, forward_confirmed_reverse_dns};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let resolver = HickoryResolver::system()?;
/// let rdns = forward_confirmed_reverse_dns(&resolver, "192.0.2.1".parse()?).await;
/// println!("{rdns}");
/// # Ok(())
/// # }
/// ```
pub async fn forward_confirmed_reverse_dns<R: DnsResolver>(
    resolver: &R,
    addr: IpAddr,
) -> ReverseDns {
    let addr = unmap_ipv4(addr);
    let names = match resolver.lookup_ptr(&ptr_name(addr)).await {
        Err(error) => return ReverseDns::Failed(error),
        Ok(Answer::NoRecords { .. }) => return ReverseDns::NoPtr,
        Ok(Answer::Records { records, .. }) => records,
    };
    let checks = names
        .iter()
        .take(MAX_PTR_NAMES)
        .map(|name| confirm(resolver, name, addr));
    let results = futures::future::join_all(checks).await;
    let mut confirmed = Vec::new();
    let mut first_error = None;
    for (name, result) in names.iter().zip(results) {
        match result {
            Ok(true) => {
                if let Ok(name) = DomainName::new(name) {
                    confirmed.push(name);
                }
            }
            Ok(false) => {}
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match (confirmed.is_empty(), first_error) {
        (false, _) => ReverseDns::Confirmed(confirmed),
        (true, Some(error)) => ReverseDns::Failed(error),
        (true, None) => ReverseDns::NotConfirmed(names),
    }
}

/// Whether `name` has an address record equal to `addr`.
async fn confirm<R: DnsResolver>(
    resolver: &R,
    name: &str,
    addr: IpAddr,
) -> Result<bool, LookupError> {
    // Names from PTR records are untrusted text: a name that is not a host name cannot
    // confirm anything, and is not sent.
    if DomainName::new(name).is_err() {
        return Ok(false);
    }
    let absolute = format!("{name}.");
    Ok(match addr {
        IpAddr::V4(v4) => match resolver.lookup_a(&absolute).await? {
            Answer::Records { records, .. } => records.contains(&v4),
            Answer::NoRecords { .. } => false,
        },
        IpAddr::V6(v6) => match resolver.lookup_aaaa(&absolute).await? {
            Answer::Records { records, .. } => records.contains(&v6),
            Answer::NoRecords { .. } => false,
        },
    })
}
