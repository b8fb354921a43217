//! The default DNS backend: hickory-resolver, configured for DNS list lookups.
//!
//! This file holds the resolver and what it makes of hickory's answers and errors;
//! `builder.rs` its configuration, `failover.rs` the fail-over among several name servers,
//! `provider.rs` the sockets hickory is given.

mod builder;
mod failover;
mod provider;

pub use builder::HickoryResolverBuilder;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

use crate::resolver::health::Health;
use crate::resolver::record;
use crate::resolver::{
    Answer, DnsResolver, LookupError, LookupErrorKind, MailExchanger, ResolverBuildError, clamp_ttl,
};
use provider::{ConnectedUdpRuntime, SocketTrouble};

/// The default [`DnsResolver`]: hickory-resolver, tuned for DNS list lookups.
///
/// - hickory's own cache is off: answers are cached (if at all) by the checker, which knows
///   list TTL rules.
/// - UDP first, TCP when an answer is truncated.
/// - Each query has its own UDP socket (so its own random source port), connected to the name
///   server, so that a closed port fails the lookup at once instead of after the timeout.
/// - Names are always sent as given (absolute), so no search domain is ever appended.
/// - Each attempt waits [`timeout`](HickoryResolverBuilder::timeout). With one name server, a
///   timeout is asked again [`retries`](HickoryResolverBuilder::retries) times.
/// - With several name servers, each has a health record: its smoothed round-trip time, and a
///   back-off after it stopped answering (1 s, doubling up to a minute) during which queries
///   ask the other servers first; when the back-off ends, one query at a time probes it
///   again. With one dead server out of two, a scan pays a few timeouts, not one per query.
/// - With several name servers, every kind of trouble with one server moves the query on to
///   the next: a timeout, a confirmed closed port, a socket that could not be opened, a
///   malformed answer, and SERVFAIL, REFUSED or another error code (returned as such once
///   every server gave one). NXDOMAIN and NOERROR answers are final. Each server is asked at
///   least once before a query fails; `retries` counts the tries after the first, each on the
///   next server in turn.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::HickoryResolver;
///
/// # fn main() -> Result<(), dnsbl_check::ResolverBuildError> {
/// let resolver = HickoryResolver::builder()
///     .name_server("127.0.0.1:5353".parse()?)
///     .timeout(Duration::from_millis(1500))
///     .retries(2)
///     .build()?;
/// # let _ = resolver;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HickoryResolver {
    /// One hickory resolver with every name server when there is at most one; otherwise one
    /// per name server, in configured order, so that this resolver chooses whom to ask.
    upstreams: Arc<[Upstream]>,
    /// How long a probe of a backed-off server may run: the timeout of one attempt.
    timeout: Duration,
    /// Tries after the first, with several name servers (one server: hickory's own retries).
    retries: usize,
    /// What went wrong with sockets, which hickory's errors do not say.
    socket_trouble: Arc<SocketTrouble>,
}

/// One of [`HickoryResolver`]'s hickory resolvers and the health of its name server.
struct Upstream {
    resolver: Resolver<ConnectedUdpRuntime>,
    health: Health,
}

impl fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HickoryResolver")
            .field(
                "servers (smoothed RTT, backed off)",
                &self
                    .upstreams
                    .iter()
                    .map(|u| (u.health.srtt(), u.health.is_down()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl HickoryResolver {
    /// A builder: system configuration unless name servers are given.
    pub fn builder() -> HickoryResolverBuilder {
        HickoryResolverBuilder::default()
    }

    /// A resolver on the system configuration, with default timeout and retries.
    pub fn system() -> Result<Self, ResolverBuildError> {
        Self::builder().build()
    }
}

impl HickoryResolver {
    /// The one lookup behind every [`DnsResolver`] method: the records of type `K` at
    /// `name`.
    async fn lookup<K: FromRData>(&self, name: &str) -> Result<Answer<K::Value>, LookupError> {
        let record_type = RecordType::from(K::KIND.code());
        let answer = self.lookup_records(name, record_type).await?;
        Ok(answer.filter_map(K::from_rdata))
    }

    async fn lookup_records(
        &self,
        name: &str,
        record_type: RecordType,
    ) -> Result<Answer<RData>, LookupError> {
        let mut name = Name::from_ascii(name).map_err(|_| {
            LookupError::with_detail(
                LookupErrorKind::Protocol,
                "query name is not a valid DNS name",
            )
        })?;
        // Absolute, always: a relative name could be completed with a search domain.
        name.set_fqdn(true);
        match &*self.upstreams {
            // One server (or the system's, when it names at most one): hickory asks and retries.
            [only] => self.ask(&only.resolver, &name, record_type).await,
            _ => self.ask_in_health_order(&name, record_type).await,
        }
    }

    /// One lookup through one hickory resolver, its answer sorted out.
    async fn ask(
        &self,
        resolver: &Resolver<ConnectedUdpRuntime>,
        name: &Name,
        record_type: RecordType,
    ) -> Result<Answer<RData>, LookupError> {
        let trouble_before = self.socket_trouble.snapshot();
        match resolver.lookup(name.clone(), record_type).await {
            Ok(lookup) => Ok(own_records(name, lookup.answers(), record_type)),
            Err(NetError::Dns(DnsError::NoRecordsFound(no_records))) => Ok(Answer::NoRecords {
                nxdomain: no_records.response_code == ResponseCode::NXDomain,
                negative_ttl: no_records
                    .soa
                    .as_deref()
                    .filter(|soa| soa.name.zone_of(name))
                    .map(|soa| clamp_ttl(soa.ttl).min(clamp_ttl(soa.data.minimum))),
            }),
            // hickory reports a refused port and a socket it could not open alike, as
            // `NoConnections`, without the operating system's error; the runtime below keeps
            // count of both, which tells them apart. (Trouble seen by a concurrent lookup at
            // the same moment could be reported here instead: either way the lookup failed.)
            Err(NetError::NoConnections) => Err(self.socket_trouble.explain_since(trouble_before)),
            Err(error) => Err(map_error(error)),
        }
    }
}

/// The records of `record_type` among `answers` that belong to `name`: owned by it or by a
/// name its CNAME chain leads to. Records owned by other names are left out (hickory itself
/// drops them too), so that an answer with only those is no records, as on the pooled
/// transport.
fn own_records(name: &Name, answers: &[Record], record_type: RecordType) -> Answer<RData> {
    let mut chain = vec![name.clone()];
    let mut grew = true;
    while grew && chain.len() <= 16 {
        grew = false;
        for record in answers {
            if let RData::CNAME(target) = &record.data
                && chain.contains(&record.name)
                && !chain.contains(&target.0)
            {
                chain.push(target.0.clone());
                grew = true;
            }
        }
    }
    let mut ttl = u32::MAX;
    let mut records = Vec::with_capacity(answers.len());
    for record in answers {
        if record.record_type() == record_type && chain.contains(&record.name) {
            ttl = ttl.min(clamp_ttl(record.ttl));
            records.push(record.data.clone());
        }
    }
    if records.is_empty() {
        Answer::nodata(None)
    } else {
        Answer::Records { records, ttl }
    }
}

impl DnsResolver for HickoryResolver {
    record::lookup_methods!(lookup);
}

/// A record type as hickory carries it.
trait FromRData: record::Record {
    /// The record's value, if `data` is of this type.
    fn from_rdata(data: RData) -> Option<Self::Value>;
}

/// Implements [`FromRData`]: `Kind: Variant(data) => value`.
macro_rules! from_rdata {
    ($($kind:ident: $variant:ident($data:ident) => $value:expr;)*) => {$(
        impl FromRData for record::$kind {
            fn from_rdata(data: RData) -> Option<Self::Value> {
                match data {
                    RData::$variant($data) => Some($value),
                    _ => None,
                }
            }
        }
    )*};
}

from_rdata! {
    A: A(a) => a.0;
    Txt: TXT(txt) => join_txt_strings(txt.txt_data.iter().map(|s| &s[..]));
    Aaaa: AAAA(aaaa) => aaaa.0;
    Ptr: PTR(ptr) => host_name(&ptr.0);
    Mx: MX(mx) => MailExchanger::new(mx.preference, &mx.exchange.to_ascii());
    Ns: NS(ns) => host_name(&ns.0);
}

/// A host name of a PTR or NS record: lowercase, without trailing dot.
fn host_name(name: &Name) -> String {
    let host = name.to_ascii();
    host.strip_suffix('.').unwrap_or(&host).to_ascii_lowercase()
}

/// Joins a TXT record's character-strings without separator, decoding lossily as UTF-8.
///
/// Joining before decoding matters: a multi-byte character may be split across two strings.
pub(crate) fn join_txt_strings<'a>(strings: impl Iterator<Item = &'a [u8]>) -> String {
    let bytes: Vec<u8> = strings.flatten().copied().collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Sorts hickory's errors (other than "no records") into failure kinds. Details never
/// include the name.
fn map_error(error: NetError) -> LookupError {
    match error {
        NetError::Dns(DnsError::ResponseCode(code)) => LookupError::from_rcode(u16::from(code)),
        NetError::Timeout => LookupError::new(LookupErrorKind::Timeout),
        NetError::Io(io_error) => LookupError::from_io(&io_error),
        NetError::Busy => {
            LookupError::with_detail(LookupErrorKind::LocalResource, "too many queries in flight")
        }
        NetError::Truncated => {
            LookupError::with_detail(LookupErrorKind::Protocol, "answer truncated even over TCP")
        }
        // hickory-resolver rejects a whole response holding a record of another class than
        // the question's; the pooled transport reads it alike.
        NetError::ForeignClassRecord { .. } => {
            LookupError::with_detail(LookupErrorKind::Protocol, crate::resolver::FOREIGN_CLASS)
        }
        NetError::Proto(_) => {
            LookupError::with_detail(LookupErrorKind::Protocol, "malformed answer")
        }
        _ => LookupError::new(LookupErrorKind::Protocol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_txt_strings_before_decoding() {
        // "é" is 0xC3 0xA9: split across two character-strings, it must still decode.
        let parts: [&[u8]; 3] = [b"caf\xC3", b"\xA9 ", b"listed"];
        assert_eq!(join_txt_strings(parts.into_iter()), "café listed");
        let invalid: [&[u8]; 1] = [b"bad \xFF byte"];
        assert_eq!(join_txt_strings(invalid.into_iter()), "bad \u{FFFD} byte");
    }
}
