//! SPF (RFC 7208): the networks a domain declares as its senders.
//!
//! "Other servers refuse my mail" is about the addresses a domain sends from, and those are
//! often not its MX hosts: an outbound relay, a NAT address, a mail provider's ranges. Their
//! owner declares them in the domain's SPF record. [`expand`] reads that record and lists every
//! network it authorizes (its `+` mechanisms, `ip4`, `ip6`, `a`, `mx`, and those of the records
//! it reaches through `include` and `redirect`), each with the path that reached it, such as
//! `example.org spf → include:_spf.example.org → ip4:203.0.113.0/28`.
//!
//! This is not an SPF evaluator for one connecting address: it walks the whole record, as a
//! receiver does for an address that matches nothing, and so enforces RFC 7208 §4.6.4's
//! limits on that walk: at most [`MAX_DNS_TERMS`] terms that query DNS, at most
//! [`MAX_VOID_LOOKUPS`] lookups with no answer, at most [`MAX_MX_HOSTS`] hosts per `mx`. Past
//! a limit, on a loop, a syntax error, several `v=spf1` records, or any failed lookup, the
//! expansion carries an [`SpfError`] naming the record: a broken record is trouble, and a
//! failed lookup is never read as "no addresses".
//!
//! Qualifiers: only `+` (the default) authorizes; `-`, `~` and `?` mechanisms are walked (their
//! lookups count) but add nothing. A `-` term before a `+` term that covers it is not
//! subtracted, so the networks may include a few addresses that evaluation would refuse:
//! checking an address too many is harmless, missing one is not.
//!
//! Macros (RFC 7208 §7) mostly depend on the message (`%{i}`, `%{s}`, `%{l}`...): a term that
//! uses one cannot be listed, and is [`SpfError::Macro`]. The trivial ones, `%{d}` (the
//! current domain) and `%%`, are expanded. `ptr` and `exists` authorize addresses that cannot
//! be enumerated: they are [`SpfError::NotExpandable`], reported next to what was found.
//!
//! The parser is our own, strict and small: the crates that evaluate SPF either are GPL
//! (viaspf) or evaluate one connecting address and cannot list what a record authorizes.
//!
//! # Examples
//!
//! ```
//! use std::net::Ipv4Addr;
//! use dnsbl_check::{Answer, DnsResolver, LookupError, spf};
//!
//! struct Table;
//!
//! impl DnsResolver for Table {
//!     async fn lookup_a(&self, _: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
//!         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
//!     }
//!     async fn lookup_txt(&self, name: &str) -> Result<Answer<String>, LookupError> {
//!         let record = match name {
//!             "example.org." => "v=spf1 ip4:192.0.2.0/30 include:_spf.example.org -all",
//!             "_spf.example.org." => "v=spf1 ip4:203.0.113.0/28 ~all",
//!             _ => return Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None }),
//!         };
//!         Ok(Answer::Records { records: vec![record.to_owned()], ttl: 60 })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let senders = spf::expand(&Table, &"example.org".parse().unwrap()).await;
//! assert!(senders.trouble.is_empty());
//! assert_eq!(senders.networks.len(), 2);
//! assert_eq!(senders.networks[1].network.to_string(), "203.0.113.0/28");
//! assert_eq!(
//!     senders.networks[1].via(),
//!     "example.org spf → include:_spf.example.org → ip4:203.0.113.0/28"
//! );
//! assert_eq!(senders.addresses(), 4 + 16);
//! # }
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::future::BoxFuture;
use ipnet::IpNet;
use serde::Serialize;

use crate::resolver::{Answer, DnsResolver};
use crate::target::DomainName;

mod error;
mod syntax;

pub use error::SpfError;
use syntax::{
    dual_cidr, every_address, expand_macros, ip_network, is_spf1, modifier, qualifier_text,
    split_cidr,
};

/// At most this many terms that query DNS (`include`, `a`, `mx`, `ptr`, `exists`,
/// `redirect`) in the whole walk, includes and redirects counted (RFC 7208 §4.6.4).
pub const MAX_DNS_TERMS: usize = 10;

/// At most this many DNS-querying terms that find nothing (NXDOMAIN or no records), RFC 7208
/// §4.6.4.
pub const MAX_VOID_LOOKUPS: usize = 2;

/// At most this many MX hosts for one `mx` term (RFC 7208 §4.6.4).
pub const MAX_MX_HOSTS: usize = 10;

/// The separator between the steps of a path.
const ARROW: &str = " → ";

/// One network a record authorizes, and how it was reached.
///
/// # Examples
///
/// ```
/// use dnsbl_check::spf::SpfNetwork;
///
/// let network = SpfNetwork {
///     network: "192.0.2.0/30".parse().unwrap(),
///     path: vec!["example.org spf".into(), "ip4:192.0.2.0/30".into()],
/// };
/// assert_eq!(network.via(), "example.org spf → ip4:192.0.2.0/30");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpfNetwork {
    /// The network (a single address is a /32 or /128).
    pub network: IpNet,
    /// The steps from the domain to the term that authorized it.
    pub path: Vec<String>,
}

impl SpfNetwork {
    /// The path as one line: the steps joined by ` → `.
    pub fn via(&self) -> String {
        self.path.join(ARROW)
    }
}

/// What a domain's SPF record authorizes.
///
/// # Examples
///
/// ```
/// use dnsbl_check::spf::SpfExpansion;
///
/// let nothing = SpfExpansion::new("example.org".parse().unwrap());
/// assert!(nothing.is_complete() && nothing.networks.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpfExpansion {
    /// The domain given.
    pub domain: DomainName,
    /// The networks authorized, in record order, each once.
    pub networks: Vec<SpfNetwork>,
    /// What went wrong. When not empty, `networks` may be missing some.
    pub trouble: Vec<SpfError>,
    /// DNS-querying terms walked (at most [`MAX_DNS_TERMS`] unless the walk failed on it).
    pub dns_terms: usize,
}

impl SpfExpansion {
    /// An expansion with nothing found yet.
    pub fn new(domain: DomainName) -> Self {
        SpfExpansion {
            domain,
            networks: Vec::new(),
            trouble: Vec::new(),
            dns_terms: 0,
        }
    }

    /// Whether the whole record was read and every lookup answered.
    pub fn is_complete(&self) -> bool {
        self.trouble.is_empty()
    }

    /// Every address of every network, each once (in record order, the first network to
    /// hold it), with that network. Lazy: a `/8` is never held in memory; but every
    /// address taken is remembered, to give it once.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::spf::{SpfExpansion, SpfNetwork};
    ///
    /// let mut senders = SpfExpansion::new("example.org".parse().unwrap());
    /// for network in ["192.0.2.0/31", "192.0.2.1/32"] {
    ///     let path = vec![format!("ip4:{network}")];
    ///     senders.networks.push(SpfNetwork { network: network.parse().unwrap(), path });
    /// }
    /// let addresses: Vec<String> = senders.each_address().map(|(a, _)| a.to_string()).collect();
    /// assert_eq!(addresses, ["192.0.2.0", "192.0.2.1"]);
    /// ```
    pub fn each_address(&self) -> impl Iterator<Item = (IpAddr, &SpfNetwork)> + '_ {
        let mut seen = std::collections::HashSet::new();
        self.networks
            .iter()
            .flat_map(|network| every_address(&network.network).map(move |a| (a, network)))
            .filter(move |(addr, _)| seen.insert(*addr))
    }

    /// How many addresses the networks hold together (overlaps counted twice), saturating.
    pub fn addresses(&self) -> u128 {
        self.networks
            .iter()
            .fold(0u128, |sum, n| sum.saturating_add(network_size(&n.network)))
    }
}

/// How many addresses a network holds (saturating at `u128::MAX` for `::/0`).
///
/// # Examples
///
/// ```
/// use dnsbl_check::spf::network_size;
///
/// assert_eq!(network_size(&"10.0.0.0/8".parse().unwrap()), 1 << 24);
/// assert_eq!(network_size(&"2001:db8::1/128".parse().unwrap()), 1);
/// ```
pub fn network_size(network: &IpNet) -> u128 {
    let host_bits = u32::from(network.max_prefix_len() - network.prefix_len());
    1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
}

/// Lists the networks `domain`'s SPF record authorizes (see the [module documentation](self)).
///
/// Lookups run one term at a time, in record order, as RFC 7208's limits are defined on that
/// order; the walk costs at most [`MAX_DNS_TERMS`] TXT, A/AAAA or MX lookups plus the root's
/// TXT lookup and the A and AAAA lookups of at most [`MAX_MX_HOSTS`] hosts per `mx` term.
///
/// # Examples
///
/// See the [module documentation](self).
pub async fn expand<R: DnsResolver>(resolver: &R, domain: &DomainName) -> SpfExpansion {
    let mut walk = Walk {
        resolver,
        expansion: SpfExpansion::new(domain.clone()),
        voids: 0,
        stack: vec![domain.clone()],
    };
    let path = vec![format!("{domain} spf")];
    if let Err(error) = walk.record(domain.clone(), path, true).await {
        walk.expansion.trouble.push(error);
    }
    walk.expansion
}

/// The state of one walk over a record and those it reaches.
struct Walk<'r, R> {
    resolver: &'r R,
    expansion: SpfExpansion,
    voids: usize,
    /// The records being read, outermost first: an include of one of them is a loop.
    stack: Vec<DomainName>,
}

/// A term's qualifier: only `+` authorizes.
fn passes(qualifier: Option<char>) -> bool {
    matches!(qualifier, None | Some('+'))
}

impl<'r, R: DnsResolver> Walk<'r, R> {
    /// Reads the record of `domain`, reached by `path`; its networks count only if
    /// `authorize` (an include with a `-`, `~` or `?` qualifier is walked for its lookups).
    fn record(
        &mut self,
        domain: DomainName,
        path: Vec<String>,
        authorize: bool,
    ) -> BoxFuture<'_, Result<(), SpfError>> {
        Box::pin(async move {
            let text = self.fetch(&domain).await?;
            let name = domain.to_string();
            let mut terms = text.split_ascii_whitespace();
            terms.next(); // "v=spf1", checked by `fetch`
            let mut redirect: Option<String> = None;
            let mut explanation = false;
            let mut all = false;
            for term in terms {
                let syntax = |detail| SpfError::Syntax {
                    domain: name.clone(),
                    term: term.to_owned(),
                    detail,
                };
                // A modifier is `name=value`, with the `=` before any `:` or `/`.
                if let Some((key, value)) = modifier(term) {
                    if !key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                        || !key.starts_with(|c: char| c.is_ascii_alphabetic())
                    {
                        return Err(syntax("not a modifier name"));
                    }
                    if key.eq_ignore_ascii_case("redirect") {
                        if redirect.replace(value.to_owned()).is_some() {
                            return Err(syntax("redirect given twice"));
                        }
                    } else if key.eq_ignore_ascii_case("exp")
                        && std::mem::replace(&mut explanation, true)
                    {
                        return Err(syntax("exp given twice"));
                    } // other modifiers are ignored (RFC 7208 §6)
                    continue;
                }
                if all {
                    continue; // never reached by evaluation, but still parsed for errors
                }
                let (qualifier, rest) = match term.chars().next() {
                    Some(q @ ('+' | '-' | '~' | '?')) => (Some(q), &term[1..]),
                    _ => (None, term),
                };
                let split = rest.find([':', '/']).unwrap_or(rest.len());
                let (mechanism, argument) = rest.split_at(split);
                let authorize = authorize && passes(qualifier);
                match mechanism.to_ascii_lowercase().as_str() {
                    "all" => {
                        if !argument.is_empty() {
                            return Err(syntax("all takes no argument"));
                        }
                        if authorize {
                            for network in ["0.0.0.0/0", "::/0"] {
                                let network = network.parse().expect("valid network");
                                self.add(&path, term.to_owned(), network);
                            }
                        }
                        all = true;
                    }
                    family @ ("ip4" | "ip6") => {
                        let network = ip_network(family, argument)
                            .ok_or_else(|| syntax("not an address or network of its family"))?;
                        if authorize {
                            self.add(&path, format!("{family}:{network}"), network);
                        }
                    }
                    kind @ ("a" | "mx") => {
                        let (target, cidr) = split_cidr(argument);
                        let (v4, v6) = dual_cidr(cidr).ok_or_else(|| syntax("bad CIDR length"))?;
                        let host = self.domain_spec(&domain, target, term, true)?;
                        self.count(&name, term)?;
                        // The target always named, so that a bare `mx` reads `mx:example.org`.
                        let step = format!("{kind}:{host}{cidr}");
                        let found = if kind == "a" {
                            self.addresses(&name, &host).await?
                        } else {
                            self.mx_addresses(&name, term, &host).await?
                        };
                        if found.is_empty() {
                            self.void(&name, term)?;
                        }
                        if authorize {
                            for (via, addr) in found {
                                let len = if addr.is_ipv4() { v4 } else { v6 };
                                let network = IpNet::new(addr, len).expect("length checked");
                                let step = match via {
                                    Some(host) => format!("{step} ({host})"),
                                    None => step.clone(),
                                };
                                self.add(&path, step, network.trunc());
                            }
                        }
                    }
                    "include" => {
                        let target = argument
                            .strip_prefix(':')
                            .ok_or_else(|| syntax("include needs a domain"))?;
                        let target = self.domain_spec(&domain, Some(target), term, false)?;
                        self.count(&name, term)?;
                        let step = format!("{}include:{target}", qualifier_text(qualifier));
                        self.follow(&name, term, target, &path, step, authorize)
                            .await?;
                    }
                    "ptr" => {
                        let (target, cidr) = split_cidr(argument);
                        if !cidr.is_empty() {
                            return Err(syntax("ptr takes no CIDR length"));
                        }
                        self.domain_spec(&domain, target, term, true)?;
                        self.count(&name, term)?;
                        self.not_expandable(&name, term, authorize);
                    }
                    "exists" => {
                        let target = argument
                            .strip_prefix(':')
                            .ok_or_else(|| syntax("exists needs a domain"))?;
                        self.domain_spec(&domain, Some(target), term, false)?;
                        self.count(&name, term)?;
                        self.not_expandable(&name, term, authorize);
                    }
                    _ => return Err(syntax("unknown mechanism")),
                }
            }
            // RFC 7208 §6.1: redirect is ignored when the record has an `all`.
            if let (Some(target), false) = (redirect, all) {
                let term = format!("redirect={target}");
                let host = self.domain_spec(&domain, Some(&target), &term, false)?;
                self.count(&name, &term)?;
                let step = format!("redirect={host}");
                self.follow(&name, &term, host, &path, step, authorize)
                    .await?;
            }
            Ok(())
        })
    }

    /// Reads the record an `include` or `redirect` names, guarding against loops.
    async fn follow(
        &mut self,
        name: &str,
        term: &str,
        target: DomainName,
        path: &[String],
        step: String,
        authorize: bool,
    ) -> Result<(), SpfError> {
        if self.stack.contains(&target) {
            return Err(SpfError::Loop {
                domain: name.to_owned(),
                term: term.to_owned(),
            });
        }
        let mut path = path.to_vec();
        path.push(step);
        self.stack.push(target.clone());
        let result = self.record(target, path, authorize).await;
        self.stack.pop();
        result
    }

    /// The one `v=spf1` record of `domain`.
    async fn fetch(&mut self, domain: &DomainName) -> Result<String, SpfError> {
        let name = domain.to_string();
        let answer = self
            .resolver
            .lookup_txt(&format!("{domain}."))
            .await
            .map_err(SpfError::lookup_failed(&name, domain, "TXT"))?;
        let records = match answer {
            Answer::Records { records, .. } => records,
            Answer::NoRecords { .. } => Vec::new(),
        };
        let mut spf: Vec<String> = records
            .into_iter()
            .filter(|record| is_spf1(record))
            .collect();
        match spf.len() {
            0 => Err(SpfError::NoRecord { domain: name }),
            1 => Ok(spf.remove(0)),
            count => Err(SpfError::MultipleRecords {
                domain: name,
                count,
            }),
        }
    }

    /// Counts a DNS-querying term against [`MAX_DNS_TERMS`].
    fn count(&mut self, domain: &str, term: &str) -> Result<(), SpfError> {
        self.expansion.dns_terms += 1;
        if self.expansion.dns_terms > MAX_DNS_TERMS {
            return Err(SpfError::TooManyLookups {
                domain: domain.to_owned(),
                term: term.to_owned(),
            });
        }
        Ok(())
    }

    /// Counts a term that found nothing against [`MAX_VOID_LOOKUPS`].
    fn void(&mut self, domain: &str, term: &str) -> Result<(), SpfError> {
        self.voids += 1;
        if self.voids > MAX_VOID_LOOKUPS {
            return Err(SpfError::TooManyVoidLookups {
                domain: domain.to_owned(),
                term: term.to_owned(),
            });
        }
        Ok(())
    }

    fn not_expandable(&mut self, domain: &str, term: &str, authorize: bool) {
        // A `-ptr` or `~exists:` authorizes nothing: nothing is missing.
        if authorize {
            self.expansion.trouble.push(SpfError::NotExpandable {
                domain: domain.to_owned(),
                term: term.to_owned(),
            });
        }
    }

    /// Adds a network, unless an equal one was found already.
    fn add(&mut self, path: &[String], step: String, network: IpNet) {
        if self.expansion.networks.iter().any(|n| n.network == network) {
            return;
        }
        let mut path = path.to_vec();
        path.push(step);
        self.expansion.networks.push(SpfNetwork { network, path });
    }

    /// A domain-spec, with the trivial macros expanded; `None` (allowed only where `optional`)
    /// is the current domain.
    fn domain_spec(
        &self,
        current: &DomainName,
        spec: Option<&str>,
        term: &str,
        optional: bool,
    ) -> Result<DomainName, SpfError> {
        let syntax = |detail| SpfError::Syntax {
            domain: current.to_string(),
            term: term.to_owned(),
            detail,
        };
        let spec = match spec {
            None if optional => return Ok(current.clone()),
            None | Some("") => return Err(syntax("empty domain")),
            Some(spec) => spec,
        };
        let expanded = expand_macros(spec, current).ok_or_else(|| SpfError::Macro {
            domain: current.to_string(),
            term: term.to_owned(),
        })?;
        DomainName::new(&expanded).map_err(|_| syntax("not a domain name"))
    }

    /// The A and AAAA addresses of `host`.
    async fn addresses(
        &self,
        domain: &str,
        host: &DomainName,
    ) -> Result<Vec<(Option<DomainName>, IpAddr)>, SpfError> {
        let name = format!("{host}.");
        let (v4, v6) = futures::join!(
            self.resolver.lookup_a(&name),
            self.resolver.lookup_aaaa(&name)
        );
        let mut found = Vec::new();
        if let Answer::Records { records, .. } =
            v4.map_err(SpfError::lookup_failed(domain, host, "A"))?
        {
            found.extend(records.into_iter().map(|a: Ipv4Addr| (None, a.into())));
        }
        if let Answer::Records { records, .. } =
            v6.map_err(SpfError::lookup_failed(domain, host, "AAAA"))?
        {
            found.extend(records.into_iter().map(|a: Ipv6Addr| (None, a.into())));
        }
        Ok(found)
    }

    /// The addresses of `domain`'s MX hosts, each with its host.
    async fn mx_addresses(
        &self,
        record: &str,
        term: &str,
        domain: &DomainName,
    ) -> Result<Vec<(Option<DomainName>, IpAddr)>, SpfError> {
        let answer = self
            .resolver
            .lookup_mx(&format!("{domain}."))
            .await
            .map_err(SpfError::lookup_failed(record, domain, "MX"))?;
        let Answer::Records { mut records, .. } = answer else {
            return Ok(Vec::new());
        };
        if records.len() > MAX_MX_HOSTS {
            return Err(SpfError::TooManyMx {
                domain: record.to_owned(),
                term: term.to_owned(),
                count: records.len(),
            });
        }
        records.sort_by_key(|mx| mx.preference);
        let hosts: Vec<DomainName> = records
            .iter()
            .filter(|mx| !mx.is_null())
            .filter_map(|mx| DomainName::new(&mx.exchange).ok())
            .collect();
        let found =
            futures::future::join_all(hosts.iter().map(|host| self.addresses(record, host))).await;
        let mut all = Vec::new();
        for (host, addresses) in hosts.iter().zip(found) {
            all.extend(
                addresses?
                    .into_iter()
                    .map(|(_, addr)| (Some(host.clone()), addr)),
            );
        }
        Ok(all)
    }
}

impl fmt::Display for SpfExpansion {
    /// `example.org spf: 3 networks (20 addresses)`, and the trouble.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} spf: {} networks ({} addresses)",
            self.domain,
            self.networks.len(),
            self.addresses()
        )?;
        for trouble in &self.trouble {
            write!(f, "; {trouble}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::{LookupError, LookupErrorKind, MailExchanger};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers from tables; a name absent from every table is NXDOMAIN; a name in `fail`
    /// gets SERVFAIL.
    #[derive(Default)]
    struct Table {
        txt: HashMap<String, Vec<String>>,
        a: HashMap<String, Vec<Ipv4Addr>>,
        aaaa: HashMap<String, Vec<Ipv6Addr>>,
        mx: HashMap<String, Vec<(u16, String)>>,
        fail: Vec<String>,
        queries: AtomicUsize,
    }

    impl Table {
        fn txt(mut self, name: &str, record: &str) -> Self {
            self.txt
                .entry(format!("{name}."))
                .or_default()
                .push(record.to_owned());
            self
        }
        fn a(mut self, name: &str, addr: [u8; 4]) -> Self {
            self.a
                .entry(format!("{name}."))
                .or_default()
                .push(addr.into());
            self
        }
        fn aaaa(mut self, name: &str, addr: &str) -> Self {
            let addr = addr.parse().unwrap();
            self.aaaa.entry(format!("{name}.")).or_default().push(addr);
            self
        }
        fn mx(mut self, name: &str, preference: u16, host: &str) -> Self {
            let entry = self.mx.entry(format!("{name}.")).or_default();
            entry.push((preference, host.to_owned()));
            self
        }
        fn answer<T: Clone>(
            &self,
            name: &str,
            table: &HashMap<String, Vec<T>>,
        ) -> Result<Answer<T>, LookupError> {
            self.queries.fetch_add(1, Ordering::Relaxed);
            if self.fail.iter().any(|f| f == name) {
                return Err(LookupError::new(LookupErrorKind::ServFail));
            }
            Ok(crate::hosts::tests::answer(table.get(name)))
        }
    }

    impl DnsResolver for Table {
        async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
            self.answer(name, &self.a)
        }
        async fn lookup_txt(&self, name: &str) -> Result<Answer<String>, LookupError> {
            self.answer(name, &self.txt)
        }
        async fn lookup_aaaa(&self, name: &str) -> Result<Answer<Ipv6Addr>, LookupError> {
            self.answer(name, &self.aaaa)
        }
        async fn lookup_mx(&self, name: &str) -> Result<Answer<MailExchanger>, LookupError> {
            let records = self.mx.get(name).map(|records| {
                records
                    .iter()
                    .map(|(p, h)| MailExchanger::new(*p, h))
                    .collect::<Vec<_>>()
            });
            let table: HashMap<String, Vec<MailExchanger>> =
                records.into_iter().map(|r| (name.to_owned(), r)).collect();
            self.answer(name, &table)
        }
    }

    fn run(table: &Table, domain: &str) -> SpfExpansion {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(expand(table, &domain.parse().unwrap()))
    }

    fn networks(found: &SpfExpansion) -> Vec<String> {
        found
            .networks
            .iter()
            .map(|n| n.network.to_string())
            .collect()
    }

    #[test]
    fn every_mechanism_with_its_cidr_and_path() {
        let table = Table::default()
            .txt(
                "example.org",
                "v=spf1 ip4:192.0.2.1 ip6:2001:DB8::/48 a a:relay.example.org/30 \
                 mx/24//64 include:_spf.example.org -ip4:198.51.100.0/24 ~all",
            )
            .txt("example.org", "some other TXT record")
            .a("example.org", [192, 0, 2, 10])
            .a("relay.example.org", [192, 0, 2, 77])
            .mx("example.org", 10, "mx1.example.org")
            .a("mx1.example.org", [203, 0, 113, 9])
            .aaaa("mx1.example.org", "2001:db8:5:6::25")
            .txt(
                "_spf.example.org",
                "V=SPF1 ip4:203.0.113.128/25 redirect=_b.example.org",
            )
            .txt(
                "_b.example.org",
                "v=spf1 +ip4:198.18.0.0/31 ?ip4:198.18.9.9",
            );
        let found = run(&table, "example.org");
        assert!(found.is_complete(), "{:?}", found.trouble);
        assert_eq!(
            networks(&found),
            [
                "192.0.2.1/32",
                "2001:db8::/48",
                "192.0.2.10/32",
                "192.0.2.76/30",
                "203.0.113.0/24",
                "2001:db8:5:6::/64",
                "203.0.113.128/25",
                "198.18.0.0/31",
            ]
        );
        assert_eq!(
            found.networks[3].via(),
            "example.org spf → a:relay.example.org/30"
        );
        assert_eq!(
            found.networks[5].via(),
            "example.org spf → mx:example.org/24//64 (mx1.example.org)"
        );
        assert_eq!(
            found.networks[7].via(),
            "example.org spf → include:_spf.example.org → redirect=_b.example.org → ip4:198.18.0.0/31"
        );
        assert_eq!(found.dns_terms, 5);
    }

    #[test]
    fn several_records_none_and_failures_are_trouble() {
        let table = Table::default()
            .txt("example.org", "v=spf1 ip4:192.0.2.1 -all")
            .txt("example.org", "v=spf1 ip4:192.0.2.2 -all");
        let found = run(&table, "example.org");
        assert_eq!(found.trouble[0].kind(), "multiple_records");
        assert!(found.networks.is_empty());

        let found = run(&Table::default(), "example.org");
        assert_eq!(found.trouble[0].kind(), "no_record");

        let mut table = Table::default().txt(
            "example.org",
            "v=spf1 ip4:192.0.2.1 include:_spf.example.org -all",
        );
        table.fail.push("_spf.example.org.".into());
        let found = run(&table, "example.org");
        assert_eq!(found.trouble[0].kind(), "lookup_failed");
        assert!(found.trouble[0].to_string().contains("_spf.example.org"));
        assert_eq!(networks(&found), ["192.0.2.1/32"]);

        // A failed A lookup is trouble, not "no addresses".
        let mut table = Table::default().txt("example.org", "v=spf1 a:relay.example.org -all");
        table.fail.push("relay.example.org.".into());
        let found = run(&table, "example.org");
        assert_eq!(found.trouble[0].kind(), "lookup_failed");
    }

    #[test]
    fn limits_loops_and_voids_end_in_named_trouble() {
        // A chain of eleven includes: the eleventh DNS-querying term is refused, by name.
        let mut table = Table::default().txt("example.org", "v=spf1 include:s1.example.org -all");
        for i in 1..=11 {
            table = table.txt(
                &format!("s{i}.example.org"),
                &format!("v=spf1 ip4:192.0.2.{i} include:s{}.example.org", i + 1),
            );
        }
        let found = run(&table, "example.org");
        let error = &found.trouble[0];
        assert_eq!(error.kind(), "too_many_lookups");
        assert!(error.is_permerror());
        assert!(error.to_string().contains("s10.example.org"), "{error}");
        assert_eq!(found.networks.len(), 10);

        let table = Table::default()
            .txt("example.org", "v=spf1 include:b.example.org -all")
            .txt("b.example.org", "v=spf1 redirect=example.org");
        let found = run(&table, "example.org");
        assert_eq!(found.trouble[0].kind(), "loop");
        assert!(found.trouble[0].to_string().contains("b.example.org"));

        let table = Table::default().txt(
            "example.org",
            "v=spf1 a:x1.example.org a:x2.example.org a:x3.example.org",
        );
        let found = run(&table, "example.org");
        assert_eq!(found.trouble[0].kind(), "too_many_void_lookups");
        assert!(found.trouble[0].to_string().contains("x3.example.org"));

        let mut table = Table::default().txt("example.org", "v=spf1 mx -all");
        for i in 0..11 {
            table = table.mx("example.org", i, &format!("mx{i}.example.org"));
        }
        let found = run(&table, "example.org");
        assert_eq!(found.trouble[0].kind(), "too_many_mx");
    }

    #[test]
    fn a_hostile_record_costs_a_bounded_number_of_queries() {
        // Many DNS-querying terms in one record: the walk stops at the limit.
        let terms: String = (0..5000).map(|i| format!(" a:h{i}.example.org")).collect();
        let mut table = Table::default().txt("example.org", &format!("v=spf1{terms}"));
        for i in 0..20 {
            table = table.a(&format!("h{i}.example.org"), [192, 0, 2, i as u8]);
        }
        let found = run(&table, "example.org");
        assert_eq!(found.trouble[0].kind(), "too_many_lookups");
        assert!(table.queries.load(Ordering::Relaxed) <= 1 + 2 * MAX_DNS_TERMS);
    }

    #[test]
    fn macros_syntax_and_unlistable_terms() {
        let table = Table::default()
            .txt(
                "example.org",
                "v=spf1 a:%{d} exists:%{i}.x.example.org -all",
            )
            .a("example.org", [192, 0, 2, 1]);
        let found = run(&table, "example.org");
        assert_eq!(networks(&found), ["192.0.2.1/32"]);
        assert_eq!(found.trouble[0].kind(), "macro");

        let table = Table::default().txt("example.org", "v=spf1 ptr ip4:192.0.2.1 -all");
        let found = run(&table, "example.org");
        assert_eq!(found.trouble[0].kind(), "not_expandable");
        assert_eq!(networks(&found), ["192.0.2.1/32"]);

        for bad in [
            "v=spf1 ip4:192.0.2.0/33",
            "v=spf1 ip4:2001:db8::1",
            "v=spf1 ip4:192.0.2.0/024",
            "v=spf1 a/24//129",
            "v=spf1 foo:bar",
            "v=spf1 include",
            "v=spf1 redirect=a.example redirect=b.example",
            "v=spf1 a:bad..name",
        ] {
            let table = Table::default().txt("example.org", bad);
            let found = run(&table, "example.org");
            assert_eq!(found.trouble.len(), 1, "{bad}");
            assert_eq!(found.trouble[0].kind(), "syntax", "{bad}");
        }
        // Not an SPF record at all: v=spf10 is another version.
        let table = Table::default().txt("example.org", "v=spf10 ip4:192.0.2.1");
        assert_eq!(run(&table, "example.org").trouble[0].kind(), "no_record");
    }

    #[test]
    fn plus_all_authorizes_everything_and_stops_the_walk() {
        let table = Table::default().txt("example.org", "v=spf1 +all include:never.example.org");
        let found = run(&table, "example.org");
        assert_eq!(networks(&found), ["0.0.0.0/0", "::/0"]);
        assert_eq!(found.addresses(), u128::MAX);
        assert!(found.is_complete());
    }
}
