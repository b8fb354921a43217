//! Test support: an in-process authoritative DNS server ([`TestDns`]), harnesses for real
//! servers (`rbldnsd`, Unbound, Postfix), the crate's tools run as processes
//! ([`tool::ToolProcess`]) or its mail servers in-process ([`in_process::InProcess`]), and the
//! clients that speak to them ([`policy::PolicyClient`], [`milter::Mta`]).
//!
//! Use it from an integration test with `mod support;`.
//!
//! # The in-process server
//!
//! [`TestDns`] is built on `hickory_server::Server` with a small custom
//! `RequestHandler` that answers from an in-memory table. It listens on UDP
//! *and* TCP on the same OS-chosen port of 127.0.0.1, so a resolver pointed at
//! [`TestDns::addr`] can fall back to TCP after a truncated UDP answer.
//!
//! ```ignore
//! let dns = TestDns::builder()
//!     .zone("zen.test")
//!     .a("2.0.0.127.zen.test", &["127.0.0.2", "127.0.0.4"], 60)
//!     .txt("2.0.0.127.zen.test", &["Listed", "see https://zen.test/"], 60)
//!     .on("3.0.0.127.zen.test", "*", Behaviour::ServFail)
//!     .negative_ttl("zen.test", 30)
//!     .start()
//!     .await;
//! ```
//!
//! How a query for `(name, type)` is answered:
//!
//! 1. Names are matched case-insensitively, with or without trailing dot.
//!    The question is echoed exactly as received (case preserved) and answer
//!    records are owned by the name exactly as received.
//! 2. The closest enclosing zone is looked up. Zones are registered with
//!    [`TestDnsBuilder::zone`] (also implicitly by
//!    [`TestDnsBuilder::wildcard_a`] and [`TestDnsBuilder::negative_ttl`]).
//!    A name outside every zone gets REFUSED. Every configured name must be
//!    inside a registered zone; [`TestDnsBuilder::start`] panics otherwise,
//!    because silently answering REFUSED would make a mistyped test fail in
//!    a confusing way.
//! 3. If the name is configured, the behaviour for the query type is used, else
//!    the `"*"` behaviour, else NODATA. A data behaviour
//!    ([`Behaviour::A`], [`Behaviour::Txt`]) only answers queries of its own
//!    type; any other query type gets NODATA.
//! 4. The zone apex exists: an SOA query there gets the SOA, other types NODATA.
//! 5. A name that has configured names below it (an "empty non-terminal", e.g.
//!    `0.0.127.zen.test` when `2.0.0.127.zen.test` is configured) gets NODATA,
//!    as a real server would; NXDOMAIN there would, per RFC 8020, tell a
//!    resolver that everything below it is gone too.
//! 6. Otherwise the nearest `*.<ancestor>` entry above the name (up to the
//!    apex) applies, if any. This is deliberately simpler than RFC 4592 (a
//!    nearer existing name does not block the wildcard), so that
//!    [`TestDnsBuilder::wildcard_a`] really answers for "every name under the
//!    zone" that is not configured explicitly.
//! 7. Otherwise NXDOMAIN.
//!
//! NXDOMAIN and NODATA answers carry the zone's SOA in the authority section,
//! with both the record TTL and the SOA MINIMUM equal to the zone's negative
//! TTL (RFC 2308), so a resolver's negative-caching TTL is predictable.
//!
//! Header flags: AA is set on NOERROR and NXDOMAIN answers (they are
//! authoritative data), but not on SERVFAIL/REFUSED/FORMERR/NOTIMP, which is
//! what BIND and friends do. RA is never set (this is not a recursive server);
//! RD is copied from the query. If the query has EDNS, the answer has EDNS too,
//! with the client's advertised payload size. Over UDP an answer larger than
//! the client's limit (512 bytes without EDNS) is truncated by hickory with TC
//! set, just like a real server, so large TXT sets also exercise TCP fallback.

#![allow(dead_code)] // each test crate compiles this module but uses only part of it

pub mod in_process;
pub mod milter;
pub mod policy;
#[cfg(unix)] // rbldnsd only exists on Unix; the harness uses Unix file modes
pub mod postfix;
pub mod rbldnsd;
pub mod relay;
pub mod smtp;
pub mod tool;
pub mod unbound;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// Use hickory-server's re-export of hickory-proto so that the record types are
// guaranteed to be the very ones the server encodes.
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, LowerQuery, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::rdata::{A, AAAA, MX, PTR, SOA, TXT};
use hickory_server::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::net::{TcpListener, UdpSocket};

/// Negative TTL (SOA MINIMUM and SOA record TTL) of a zone unless configured.
pub const DEFAULT_NEGATIVE_TTL: u32 = 300;

/// Idle TCP connections are closed by the server after this long. Long enough
/// that a client waiting on a [`Behaviour::Drop`] over TCP hits its own
/// timeout first.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server does for a given (name, query type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// NOERROR with these A records (for A queries; NODATA for other types).
    A(Vec<Ipv4Addr>, u32),
    /// NOERROR with these TXT records (for TXT queries; NODATA for other
    /// types). Each record is a list of character-strings given as raw bytes
    /// (may be invalid UTF-8, at most 255 bytes each).
    Txt(Vec<Vec<Vec<u8>>>, u32),
    /// NOERROR, no answer, the zone's SOA in the authority section.
    NoData,
    /// NXDOMAIN, the zone's SOA in the authority section.
    NxDomain,
    /// SERVFAIL, nothing else.
    ServFail,
    /// REFUSED, nothing else.
    Refused,
    /// NOERROR with these AAAA records (for AAAA queries; NODATA otherwise).
    Aaaa(Vec<std::net::Ipv6Addr>, u32),
    /// NOERROR with these PTR records (host names; for PTR queries; NODATA otherwise).
    Ptr(Vec<String>, u32),
    /// NOERROR with these MX records (preference, exchange; for MX queries; NODATA otherwise).
    Mx(Vec<(u16, String)>, u32),
    /// Never answer, neither over UDP nor over TCP.
    Drop,
    /// Over UDP: NOERROR with TC set and no records, so the client must retry
    /// over TCP. Over TCP: behave as the inner behaviour.
    Truncate(Box<Behaviour>),
    /// Wait this long, then behave as the inner behaviour. Each UDP query is
    /// handled in its own task, so a delayed answer does not hold up others;
    /// hickory handles the queries of one TCP connection one after another.
    /// (Extension beyond the original brief: lets tests tell "slow" from "dead".)
    Delay(Duration, Box<Behaviour>),
}

/// The transport a query arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// One query seen by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    /// The query name exactly as received (case preserved), with trailing dot.
    pub name: String,
    /// The query type, e.g. `"A"`, `"TXT"`.
    pub qtype: String,
    pub transport: Transport,
}

/// A running in-process DNS server. Dropping it stops the server.
pub struct TestDns {
    /// UDP and TCP address (same port) of the server.
    pub addr: SocketAddr,
    state: Arc<State>,
    // The server owns the `JoinSet` of its listener tasks; dropping the
    // `Server` aborts them (and with them the per-connection tasks they own),
    // which closes the sockets, so tests don't leak servers.
    _server: Server<Handler>,
}

impl TestDns {
    pub fn builder() -> TestDnsBuilder {
        TestDnsBuilder::default()
    }

    /// `(name, type)` of every query seen, in arrival order. Names are exactly
    /// as received (case preserved, trailing dot), types like `"A"`/`"TXT"`.
    /// Includes queries that were dropped, refused, truncated, etc.
    pub fn queries(&self) -> Vec<(String, String)> {
        self.log()
            .iter()
            .map(|q| (q.name.clone(), q.qtype.clone()))
            .collect()
    }

    /// Waits until a query for `name` (as received, with its trailing dot) has arrived;
    /// panics after 10 s.
    pub async fn wait_for_query(&self, name: &str) {
        let asked = async {
            while !self.queries().iter().any(|(asked, _)| asked == name) {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), asked)
            .await
            .unwrap_or_else(|_| panic!("{name} was never asked"));
    }

    /// Number of queries seen (UDP and TCP).
    pub fn query_count(&self) -> usize {
        self.log().len()
    }

    /// Like [`TestDns::queries`], but also tells the transport of each query,
    /// e.g. to check that a client retried over TCP after truncation.
    pub fn query_log(&self) -> Vec<QueryRecord> {
        self.log().clone()
    }

    /// Forget the queries seen so far (e.g. after a warm-up phase).
    pub fn clear_queries(&self) {
        self.log().clear();
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Vec<QueryRecord>> {
        // A panicking test thread must not hide the log from the others.
        self.state.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Builder for [`TestDns`]. Names and zones are case-insensitive and may be
/// given with or without trailing dot. Invalid input (bad names, addresses,
/// types) panics: it is a bug in the test.
#[derive(Default)]
pub struct TestDnsBuilder {
    /// Zone apex key (see [`key_of`]) -> negative TTL.
    zones: HashMap<String, u32>,
    /// Name key -> rules. Keys starting with `*.` are wildcards.
    names: HashMap<String, NameRules>,
}

#[derive(Default)]
struct NameRules {
    by_type: HashMap<RecordType, Behaviour>,
    any: Option<Behaviour>,
}

impl NameRules {
    fn for_type(&self, rtype: RecordType) -> Option<&Behaviour> {
        self.by_type.get(&rtype).or(self.any.as_ref())
    }
}

impl TestDnsBuilder {
    /// Register a zone the server is authoritative for (negative TTL
    /// [`DEFAULT_NEGATIVE_TTL`] unless set with
    /// [`TestDnsBuilder::negative_ttl`]). Every configured name must be inside
    /// a registered zone. Zones may nest; the closest one wins.
    pub fn zone(mut self, zone: &str) -> Self {
        self.zones
            .entry(key_of(zone))
            .or_insert(DEFAULT_NEGATIVE_TTL);
        self
    }

    /// Set the negative TTL (SOA MINIMUM and SOA record TTL) of `zone`,
    /// registering the zone if needed.
    pub fn negative_ttl(mut self, zone: &str, ttl: u32) -> Self {
        self.zones.insert(key_of(zone), ttl);
        self
    }

    /// A records for `name`. Calling it again for the same name adds the
    /// addresses to the same RRset (the TTL of the last call wins, as an
    /// RRset has one TTL). Replaces a non-A behaviour set for A with `on`.
    pub fn a(mut self, name: &str, addrs: &[&str], ttl: u32) -> Self {
        let addrs: Vec<Ipv4Addr> = addrs
            .iter()
            .map(|a| {
                a.parse()
                    .unwrap_or_else(|e| panic!("invalid IPv4 address {a:?}: {e}"))
            })
            .collect();
        let rules = self.names.entry(key_of(name)).or_default();
        match rules.by_type.get_mut(&RecordType::A) {
            Some(Behaviour::A(existing, old_ttl)) => {
                existing.extend(addrs);
                *old_ttl = ttl;
            }
            _ => {
                rules
                    .by_type
                    .insert(RecordType::A, Behaviour::A(addrs, ttl));
            }
        }
        self
    }

    /// AAAA records for `name` (replaces earlier ones).
    pub fn aaaa(mut self, name: &str, addrs: &[&str], ttl: u32) -> Self {
        let addrs = addrs
            .iter()
            .map(|a| {
                a.parse()
                    .unwrap_or_else(|e| panic!("invalid IPv6 address {a:?}: {e}"))
            })
            .collect();
        let rules = self.names.entry(key_of(name)).or_default();
        rules
            .by_type
            .insert(RecordType::AAAA, Behaviour::Aaaa(addrs, ttl));
        self
    }

    /// PTR records for `name`, an `in-addr.arpa` or `ip6.arpa` name (replaces earlier ones).
    pub fn ptr(mut self, name: &str, hosts: &[&str], ttl: u32) -> Self {
        let hosts = hosts.iter().map(|h| h.to_string()).collect();
        let rules = self.names.entry(key_of(name)).or_default();
        rules
            .by_type
            .insert(RecordType::PTR, Behaviour::Ptr(hosts, ttl));
        self
    }

    /// MX records for `name` (replaces earlier ones); the exchange `"."` is a null MX.
    pub fn mx(mut self, name: &str, exchanges: &[(u16, &str)], ttl: u32) -> Self {
        let exchanges = exchanges
            .iter()
            .map(|(preference, host)| (*preference, host.to_string()))
            .collect();
        let rules = self.names.entry(key_of(name)).or_default();
        rules
            .by_type
            .insert(RecordType::MX, Behaviour::Mx(exchanges, ttl));
        self
    }

    /// One TXT record for `name` made of these character-strings. Calling it
    /// again for the same name adds a second record.
    pub fn txt(self, name: &str, strings: &[&str], ttl: u32) -> Self {
        let strings = strings.iter().map(|s| s.as_bytes().to_vec()).collect();
        self.txt_raw(name, strings, ttl)
    }

    /// Like [`TestDnsBuilder::txt`] with raw bytes (may be invalid UTF-8).
    /// Each string must be at most 255 bytes, the DNS limit.
    pub fn txt_raw(mut self, name: &str, strings: Vec<Vec<u8>>, ttl: u32) -> Self {
        for s in &strings {
            assert!(
                s.len() <= 255,
                "TXT character-string of {} bytes for {name}: at most 255 allowed; split it",
                s.len()
            );
        }
        let rules = self.names.entry(key_of(name)).or_default();
        match rules.by_type.get_mut(&RecordType::TXT) {
            Some(Behaviour::Txt(records, old_ttl)) => {
                records.push(strings);
                *old_ttl = ttl;
            }
            _ => {
                rules
                    .by_type
                    .insert(RecordType::TXT, Behaviour::Txt(vec![strings], ttl));
            }
        }
        self
    }

    /// Set the behaviour of `name` for query type `rtype` (`"A"`, `"TXT"`, any
    /// other type name such as `"AAAA"`, or `"*"` for every type without a
    /// type-specific behaviour; a type-specific behaviour wins over `"*"`
    /// regardless of the order of calls). `name` may be a wildcard `*.zone`.
    pub fn on(mut self, name: &str, rtype: &str, behaviour: Behaviour) -> Self {
        let rules = self.names.entry(key_of(name)).or_default();
        if rtype == "*" {
            rules.any = Some(behaviour);
        } else {
            let rtype = RecordType::from_str(&rtype.to_ascii_uppercase())
                .unwrap_or_else(|e| panic!("invalid record type {rtype:?}: {e}"));
            rules.by_type.insert(rtype, behaviour);
        }
        self
    }

    /// Registers `zone`, an IP list that passes its RFC 5782 health check for both families:
    /// 127.0.0.2 and `::ffff:7f00:2` listed, 127.0.0.1 and `::ffff:7f00:1` not.
    pub fn healthy_ip_zone(self, zone: &str) -> Self {
        self.zone(zone)
            .a(&format!("2.0.0.127.{zone}"), &["127.0.0.2"], 60)
            .a(&ipv6_test_point(zone), &["127.0.0.2"], 60)
    }

    /// Registers `zone`, a domain list that passes its health check: `test` listed, `invalid`
    /// not.
    pub fn healthy_domain_zone(self, zone: &str) -> Self {
        self.zone(zone)
            .a(&format!("test.{zone}"), &["127.0.1.2"], 60)
    }

    /// Every name under `zone` (not the apex itself) that is not configured
    /// explicitly answers A queries with these records, like a list that lists
    /// everything. Registers `zone`. Other query types get NODATA.
    pub fn wildcard_a(self, zone: &str, addrs: &[&str], ttl: u32) -> Self {
        let wildcard = join_key("*", &key_of(zone));
        self.zone(zone).a(&wildcard, addrs, ttl)
    }

    /// Bind 127.0.0.1 (UDP and TCP, same OS-chosen port) and spawn the server
    /// on the current tokio runtime.
    ///
    /// # Panics
    /// If a configured name is outside every registered zone, or binding fails.
    pub async fn start(self) -> TestDns {
        let (udp, tcp) = bind_udp_and_tcp().await;
        self.start_with(udp, tcp)
    }

    /// Like [`TestDnsBuilder::start`], on a given address (UDP and TCP), e.g.
    /// `127.0.0.1:53` inside a private network namespace, where resolv.conf
    /// (which cannot name a port) can point at it.
    ///
    /// # Panics
    /// As [`TestDnsBuilder::start`].
    pub async fn start_at(self, addr: SocketAddr) -> TestDns {
        let udp = UdpSocket::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind UDP {addr}: {e}"));
        let tcp = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind TCP {addr}: {e}"));
        self.start_with(udp, tcp)
    }

    fn start_with(self, udp: UdpSocket, tcp: TcpListener) -> TestDns {
        for name in self.names.keys() {
            assert!(
                closest_zone(&self.zones, name).is_some(),
                "TestDns: {name:?} is not inside any zone; register one with .zone(...)"
            );
        }

        let addr = udp.local_addr().expect("local_addr of bound UDP socket");

        let state = Arc::new(State {
            zones: self.zones,
            names: self.names,
            log: Mutex::new(Vec::new()),
        });
        let mut server = Server::new(Handler {
            state: Arc::clone(&state),
        });
        server.register_socket(udp);
        // 16 responses may be queued per TCP connection; plenty for tests.
        server.register_listener(tcp, TCP_IDLE_TIMEOUT, 16);

        TestDns {
            addr,
            state,
            _server: server,
        }
    }
}

/// Bind UDP on an OS-chosen port, then TCP on the same port. The TCP port may
/// be taken by someone else (the OS only reserved it for UDP), so retry with a
/// fresh UDP port a few times.
async fn bind_udp_and_tcp() -> (UdpSocket, TcpListener) {
    let mut last_error = None;
    for _ in 0..50 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind UDP socket on 127.0.0.1");
        let port = udp.local_addr().expect("local_addr").port();
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(tcp) => return (udp, tcp),
            Err(e) => last_error = Some(e),
        }
    }
    panic!("could not bind UDP and TCP on the same port of 127.0.0.1: {last_error:?}");
}

/// Shared between the [`TestDns`] handle and the request handler.
struct State {
    zones: HashMap<String, u32>,
    names: HashMap<String, NameRules>,
    log: Mutex<Vec<QueryRecord>>,
}

/// What a lookup in the table decided, before transport-specific handling.
enum Decision<'a> {
    Behaviour(&'a Behaviour),
    NoData,
    NxDomain,
    Soa,
    Refused,
}

impl State {
    /// Decide how to answer `key` (see [`key_of`]) for `rtype`; steps as in
    /// the module documentation. Also returns the zone's apex and negative TTL.
    fn decide(&self, key: &str, rtype: RecordType) -> (Decision<'_>, Option<(&str, u32)>) {
        let Some((apex, negative_ttl)) = closest_zone(&self.zones, key) else {
            return (Decision::Refused, None);
        };
        let zone = Some((apex, negative_ttl));

        if let Some(rules) = self.names.get(key) {
            let decision = match rules.for_type(rtype) {
                Some(b) => Decision::Behaviour(b),
                None if key == apex && rtype == RecordType::SOA => Decision::Soa,
                None => Decision::NoData,
            };
            return (decision, zone);
        }
        if key == apex {
            let decision = if rtype == RecordType::SOA {
                Decision::Soa
            } else {
                Decision::NoData
            };
            return (decision, zone);
        }
        if self.names.keys().any(|n| is_strictly_below(n, key)) {
            return (Decision::NoData, zone);
        }
        // Walk the proper ancestors of the name, nearest first, down to the
        // apex (the name is strictly below the apex here, so this ends).
        let mut rest = key;
        while rest != apex {
            let parent = rest.split_once('.').map_or("", |(_, parent)| parent);
            if let Some(rules) = self.names.get(&join_key("*", parent)) {
                let decision = match rules.for_type(rtype) {
                    Some(b) => Decision::Behaviour(b),
                    None => Decision::NoData,
                };
                return (decision, zone);
            }
            rest = parent;
        }
        (Decision::NxDomain, zone)
    }
}

/// The longest registered zone containing `key`, with its negative TTL.
fn closest_zone<'z>(zones: &'z HashMap<String, u32>, key: &str) -> Option<(&'z str, u32)> {
    zones
        .iter()
        .filter(|(apex, _)| key == apex.as_str() || is_strictly_below(key, apex))
        .max_by_key(|(apex, _)| apex.len())
        .map(|(apex, ttl)| (apex.as_str(), *ttl))
}

/// `name` is a proper descendant of `ancestor` (both keys).
fn is_strictly_below(name: &str, ancestor: &str) -> bool {
    if ancestor.is_empty() {
        return !name.is_empty();
    }
    name.len() > ancestor.len()
        && name.ends_with(ancestor)
        && name.as_bytes()[name.len() - ancestor.len() - 1] == b'.'
}

/// Canonical form of a name used as table key: lowercase, presentation format
/// as produced by hickory, no trailing dot; the root is `""`. Both configured
/// names and names from the wire go through `Name`, so escaping is identical.
fn key_of(name: &str) -> String {
    let parsed = Name::from_ascii(name).unwrap_or_else(|e| panic!("invalid name {name:?}: {e}"));
    key_of_name(&parsed)
}

fn key_of_name(name: &Name) -> String {
    let mut key = name.to_lowercase().to_ascii();
    if key.ends_with('.') {
        key.pop();
    }
    key
}

/// `label.key`, or just `label` below the root.
fn join_key(label: &str, key: &str) -> String {
    if key.is_empty() {
        label.to_owned()
    } else {
        format!("{label}.{key}")
    }
}

/// The fully qualified `Name` of a key.
fn name_of_key(key: &str) -> Name {
    if key.is_empty() {
        Name::root()
    } else {
        Name::from_ascii(format!("{key}.")).expect("keys come from valid names")
    }
}

/// The SOA record of a zone; TTL and MINIMUM are the negative TTL, so that
/// resolvers (RFC 2308: min of both) cache negative answers for exactly that.
fn soa_record(apex: &str, negative_ttl: u32) -> Record {
    let soa = SOA::new(
        name_of_key(&join_key("ns", apex)),
        name_of_key(&join_key("hostmaster", apex)),
        1,
        3600,
        600,
        86400,
        negative_ttl,
    );
    Record::from_rdata(name_of_key(apex), negative_ttl, RData::SOA(soa))
}

/// A response to send: everything but the question, which hickory echoes from
/// the request bytes (so its case is preserved).
struct Reply {
    rcode: ResponseCode,
    authoritative: bool,
    truncated: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
}

impl Reply {
    fn error(rcode: ResponseCode) -> Self {
        Self {
            rcode,
            authoritative: false,
            truncated: false,
            answers: Vec::new(),
            authorities: Vec::new(),
        }
    }

    fn authoritative(rcode: ResponseCode, answers: Vec<Record>, authorities: Vec<Record>) -> Self {
        Self {
            rcode,
            authoritative: true,
            truncated: false,
            answers,
            authorities,
        }
    }
}

struct Handler {
    state: Arc<State>,
}

impl Handler {
    /// Work out the reply for a request, or `None` to stay silent.
    async fn reply(&self, request: &Request) -> Option<Reply> {
        if request.metadata.op_code != OpCode::Query {
            return Some(Reply::error(ResponseCode::NotImp));
        }
        let [query] = request.queries.queries() else {
            return Some(Reply::error(ResponseCode::FormErr));
        };
        let transport = match request.protocol() {
            Protocol::Tcp => Transport::Tcp,
            _ => Transport::Udp,
        };
        self.record(query, transport);
        if query.query_class() != DNSClass::IN {
            return Some(Reply::error(ResponseCode::Refused));
        }

        let qname = query.original().name();
        let qtype = query.query_type();
        let (decision, zone) = self.state.decide(&key_of_name(qname), qtype);
        let soa = || zone.map(|(apex, ttl)| soa_record(apex, ttl));
        let no_data =
            || Reply::authoritative(ResponseCode::NoError, vec![], soa().into_iter().collect());
        let nx_domain =
            || Reply::authoritative(ResponseCode::NXDomain, vec![], soa().into_iter().collect());

        let mut behaviour = match decision {
            Decision::Behaviour(b) => b,
            Decision::NoData => return Some(no_data()),
            Decision::NxDomain => return Some(nx_domain()),
            Decision::Soa => {
                return Some(Reply::authoritative(
                    ResponseCode::NoError,
                    soa().into_iter().collect(),
                    vec![],
                ));
            }
            Decision::Refused => return Some(Reply::error(ResponseCode::Refused)),
        };
        // Peel wrappers until a terminal behaviour.
        loop {
            let reply = match behaviour {
                Behaviour::A(addrs, ttl) if qtype == RecordType::A => {
                    let answers = addrs
                        .iter()
                        .map(|ip| Record::from_rdata(qname.clone(), *ttl, RData::A(A(*ip))))
                        .collect();
                    Reply::authoritative(ResponseCode::NoError, answers, vec![])
                }
                Behaviour::Txt(records, ttl) if qtype == RecordType::TXT => {
                    let answers = records
                        .iter()
                        .map(|strings| {
                            let txt = TXT::from_bytes(strings.iter().map(Vec::as_slice).collect());
                            Record::from_rdata(qname.clone(), *ttl, RData::TXT(txt))
                        })
                        .collect();
                    Reply::authoritative(ResponseCode::NoError, answers, vec![])
                }
                Behaviour::Aaaa(addrs, ttl) if qtype == RecordType::AAAA => {
                    let answers = addrs
                        .iter()
                        .map(|ip| Record::from_rdata(qname.clone(), *ttl, RData::AAAA(AAAA(*ip))))
                        .collect();
                    Reply::authoritative(ResponseCode::NoError, answers, vec![])
                }
                Behaviour::Ptr(hosts, ttl) if qtype == RecordType::PTR => {
                    let answers = hosts
                        .iter()
                        .map(|host| {
                            let target = Name::from_str(host)
                                .unwrap_or_else(|e| panic!("invalid PTR target {host:?}: {e}"));
                            Record::from_rdata(qname.clone(), *ttl, RData::PTR(PTR(target)))
                        })
                        .collect();
                    Reply::authoritative(ResponseCode::NoError, answers, vec![])
                }
                Behaviour::Mx(exchanges, ttl) if qtype == RecordType::MX => {
                    let answers = exchanges
                        .iter()
                        .map(|(preference, host)| {
                            let target = Name::from_str(host)
                                .unwrap_or_else(|e| panic!("invalid MX exchange {host:?}: {e}"));
                            let data = RData::MX(MX::new(*preference, target));
                            Record::from_rdata(qname.clone(), *ttl, data)
                        })
                        .collect();
                    Reply::authoritative(ResponseCode::NoError, answers, vec![])
                }
                Behaviour::A(..)
                | Behaviour::Aaaa(..)
                | Behaviour::Ptr(..)
                | Behaviour::Mx(..)
                | Behaviour::Txt(..)
                | Behaviour::NoData => no_data(),
                Behaviour::NxDomain => nx_domain(),
                Behaviour::ServFail => Reply::error(ResponseCode::ServFail),
                Behaviour::Refused => Reply::error(ResponseCode::Refused),
                Behaviour::Drop => return None,
                Behaviour::Truncate(inner) => {
                    if transport == Transport::Tcp {
                        behaviour = inner;
                        continue;
                    }
                    Reply {
                        truncated: true,
                        ..Reply::authoritative(ResponseCode::NoError, vec![], vec![])
                    }
                }
                Behaviour::Delay(delay, inner) => {
                    tokio::time::sleep(*delay).await;
                    behaviour = inner;
                    continue;
                }
            };
            return Some(reply);
        }
    }

    fn record(&self, query: &LowerQuery, transport: Transport) {
        let record = QueryRecord {
            name: query.original().name().to_ascii(),
            qtype: query.query_type().to_string(),
            transport,
        };
        self.state
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }

    async fn handle<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        let Some(reply) = self.reply(request).await else {
            // Behaviour::Drop: send nothing. The return value is only used by
            // hickory for logging.
            return header_only(metadata);
        };
        metadata.response_code = reply.rcode;
        metadata.authoritative = reply.authoritative;
        metadata.truncation = reply.truncated;

        // RFC 6891: answer EDNS with EDNS. hickory limits a UDP answer to the
        // payload size of the *response* OPT record, so echo the client's.
        let edns = request.edns.as_ref().map(|req| {
            let mut edns = Edns::new();
            edns.set_max_payload(req.max_payload().max(512));
            edns
        });
        let response = MessageResponseBuilder::new(&request.queries, edns.as_ref()).build(
            metadata,
            reply.answers.iter(),
            reply.authorities.iter(),
            std::iter::empty(),
            std::iter::empty(),
        );
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => {
                metadata.response_code = ResponseCode::ServFail;
                header_only(metadata)
            }
        }
    }
}

fn header_only(metadata: Metadata) -> ResponseInfo {
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

// `RequestHandler` is declared with `#[async_trait]`; this is the signature the
// macro generates, written out by hand so the test support does not need an
// `async-trait` dev-dependency.
impl RequestHandler for Handler {
    fn handle_request<'life0, 'life1, 'async_trait, R, T>(
        &'life0 self,
        request: &'life1 Request,
        response_handle: R,
    ) -> Pin<Box<dyn Future<Output = ResponseInfo> + Send + 'async_trait>>
    where
        R: ResponseHandler + 'async_trait,
        T: Time + 'async_trait,
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.handle(request, response_handle))
    }
}

/// The stock resolver asking only `addr`, with this timeout and these retries.
pub fn resolver_at(
    addr: SocketAddr,
    timeout: Duration,
    attempts: usize,
) -> dnsbl_check::HickoryResolver {
    dnsbl_check::HickoryResolver::builder()
        .name_server(dnsbl_check::NameServer::new(addr))
        .timeout(timeout)
        .retries(attempts)
        .build()
        .expect("resolver")
}

/// The pooled UDP transport asking only `addr`, with this timeout and these retries.
pub fn pooled_resolver_at(
    addr: SocketAddr,
    timeout: Duration,
    attempts: usize,
) -> dnsbl_check::resolver::pooled::PooledUdpResolver {
    dnsbl_check::resolver::pooled::PooledUdpResolver::builder()
        .name_server(dnsbl_check::NameServer::new(addr))
        .timeout(timeout)
        .retries(attempts)
        .build()
        .expect("resolver")
}

/// The outcome of the list whose zone is `zone` in `report`.
pub fn outcome<'a>(report: &'a dnsbl_check::Report, zone: &str) -> &'a dnsbl_check::Outcome {
    &report
        .results
        .iter()
        .find(|result| result.zone.public_name() == zone)
        .unwrap_or_else(|| panic!("no result for {zone}: {report:?}"))
        .outcome
}

/// The kind of a failed outcome; panics on any other outcome.
pub fn failure_kind(outcome: &dnsbl_check::Outcome) -> dnsbl_check::LookupErrorKind {
    match outcome {
        dnsbl_check::Outcome::Failed(error) => error.kind(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// The name of RFC 5782's positive IPv6 test point, `::ffff:7f00:2` in nibble form, under
/// `zone`: an `ip` list is trusted with IPv6 targets only when it lists this.
pub fn ipv6_test_point(zone: &str) -> String {
    format!("2.0.0.0.0.0.f.7.f.f.f.f.{}{zone}", "0.".repeat(20))
}

/// `bl.test` with healthy IPv4 and IPv6 test points and one entry per kind of answer, under
/// 192.0.2.0/24: .10 listed with two TXT records (the first of two strings), .11 three codes,
/// .12 and .13 operator codes, .14 outside 127/8, .15 SERVFAIL, .16 silent, .17 REFUSED,
/// .18 a TXT record but no A record, .19 a code outside 127.0.0.[2..11].
pub fn every_kind_of_answer(builder: TestDnsBuilder) -> TestDnsBuilder {
    builder
        .healthy_ip_zone("bl.test")
        .a("10.2.0.192.bl.test", &["127.0.0.2"], 120)
        .txt(
            "10.2.0.192.bl.test",
            &["Listed: see ", "https://bl.test/q?10"],
            120,
        )
        .txt("10.2.0.192.bl.test", &["second record"], 120)
        .a(
            "11.2.0.192.bl.test",
            &["127.0.0.4", "127.0.0.2", "127.0.0.10"],
            90,
        )
        .a("12.2.0.192.bl.test", &["127.255.255.254"], 60)
        .a("13.2.0.192.bl.test", &["127.255.255.255"], 60)
        .a("14.2.0.192.bl.test", &["198.51.100.7"], 60)
        .on("15.2.0.192.bl.test", "*", Behaviour::ServFail)
        .on("16.2.0.192.bl.test", "*", Behaviour::Drop)
        .on("17.2.0.192.bl.test", "*", Behaviour::Refused)
        .txt("18.2.0.192.bl.test", &["orphan"], 60)
        .a("19.2.0.192.bl.test", &["127.0.0.99"], 60)
}
