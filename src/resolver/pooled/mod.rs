//! A fast DNS transport for bulk lookups: UDP queries multiplexed over a small pool of
//! long-lived sockets.
//!
//! `pool.rs` holds the sockets, their pending queries and receive tasks; `wire.rs` writes
//! queries and reads answers; `resolver/health.rs` (shared with the stock transport)
//! remembers which servers answer and backs off those that stopped.

mod expiry;
mod pool;
mod socket;
mod wire;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::resolver::health::{self, Standing};
use crate::resolver::{
    Answer, DnsResolver, LookupError, LookupErrorKind, NameServer, ResolverBuildError,
    ResolverOptions,
};
use pool::{Counters, Question, Rotation, ServerPool};
use socket::PendingQuery;
use wire::{MAX_QUERY, Query, Reply, TYPE_A, TYPE_AAAA, TYPE_PTR, TYPE_TXT};

#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod bench_support {
    //! Entry points for this crate's own benchmarks, fuzz targets and property tests. Not part
    //! of the public API. No function here panics, whatever the input.

    use std::net::Ipv4Addr;

    use super::wire::{self, Query, Reply};
    use crate::resolver::{Answer, LookupError, LookupErrorKind};

    /// Encodes a query of type `qtype` for `name` into a fresh buffer; `None` if `name` is
    /// not a plain DNS name.
    pub fn encode_query(id: u16, name: &str, qtype: u16) -> Option<Vec<u8>> {
        let mut query = Query::new(name, qtype).ok()?;
        query.set_id(id);
        Some(query.as_bytes().to_vec())
    }

    /// Encodes an A query for `name` (benchmarks build their answers on it).
    pub fn encode_a_query(id: u16, name: &str) -> Option<Vec<u8>> {
        encode_query(id, name, wire::TYPE_A)
    }

    /// Matches a response to `query` (as [`encode_query`] wrote it) and reads it, as the
    /// receive path does: `None` when its ID or question is not the query's.
    fn decode(query: &[u8], response: &[u8]) -> Option<Result<Reply, LookupError>> {
        let question = query.get(12..query.len().checked_sub(11)?)?;
        let qtype = u16::from_be_bytes(
            question
                .get(question.len().checked_sub(4)?..)?
                .get(..2)?
                .try_into()
                .ok()?,
        );
        if wire::response_id(response)? != u16::from_be_bytes([*query.first()?, *query.get(1)?])
            || !wire::question_matches(response, question, true)
        {
            return None;
        }
        Some(wire::parse_response(response, question.len(), qtype))
    }

    /// Matches a response to an A `query` and reads its A records, as the receive path does.
    pub fn decode_a_response(
        query: &[u8],
        response: &[u8],
    ) -> Option<Result<Answer<Ipv4Addr>, LookupError>> {
        Some(match decode(query, response)? {
            Ok(Reply::A(answer)) => Ok(answer),
            Ok(_) => Err(LookupError::new(LookupErrorKind::Protocol)),
            Err(error) => Err(error),
        })
    }

    /// Matches a response to `query` of any type and reads it, records as text; a truncated
    /// answer is a protocol error here.
    pub fn decode_response(
        query: &[u8],
        response: &[u8],
    ) -> Option<Result<Answer<String>, LookupError>> {
        Some(match decode(query, response)? {
            Ok(Reply::A(answer)) => Ok(answer.map(|address| address.to_string())),
            Ok(Reply::Aaaa(answer)) => Ok(answer.map(|address| address.to_string())),
            Ok(Reply::Txt(answer) | Reply::Ptr(answer)) => Ok(answer),
            Ok(Reply::Mx(answer)) => {
                Ok(answer.map(|mx| format!("{} {}", mx.preference, mx.exchange)))
            }
            Ok(Reply::Truncated) => Err(LookupError::with_detail(
                LookupErrorKind::Protocol,
                "truncated",
            )),
            Err(error) => Err(error),
        })
    }
}

/// A [`DnsResolver`] for bulk checks: UDP queries multiplexed over a few long-lived sockets.
///
/// # Why it exists
///
/// The stock [`HickoryResolver`](crate::resolver::hickory::HickoryResolver) (hickory-resolver 0.26) opens, binds,
/// registers with the event loop and closes a new UDP socket for every query. That is a good
/// default for a mail filter making a few queries a second, but in a bulk scan those five
/// system calls and the event-loop churn per query are most of the cost: on loopback it
/// reaches about 27,000 queries a second against rbldnsd, where `dnsperf` reaches about
/// 150,000. This resolver keeps a small pool of sockets (8 per name server by default) open,
/// sends every query from one of them under a random ID, and lets one receive task per
/// socket hand each answer to the query waiting for it. A query then costs one `send` and a
/// share of one `recv`, and no allocation but the records it returns.
///
/// # The trade-off
///
/// A fresh socket per query gives every query its own random source port, so an off-path
/// attacker forging an answer must guess 16 bits of ID *and* about 16 bits of port. A pool
/// reuses a handful of ports, which leaves the ID, plus the choice among the pool's ports,
/// plus the 0x20 case bits. To keep that margin:
///
/// - IDs come from a CSPRNG (`rand`'s thread RNG, ChaCha12 seeded by the OS), and are unique
///   among the queries in flight on a socket;
/// - each socket is bound to port 0, so the OS picks a random ephemeral port, and sockets are
///   replaced by fresh ones after a number of queries or a time
///   ([`rotate_after_queries`](PooledUdpResolverBuilder::rotate_after_queries),
///   [`rotate_after`](PooledUdpResolverBuilder::rotate_after));
/// - sockets are connected, so the kernel drops datagrams from any other address and port
///   (and a datagram queued before the socket was connected is dropped by its source);
/// - an answer is accepted only if its ID *and* its question (name, type and class) match a
///   query in flight;
/// - with [0x20 encoding](PooledUdpResolverBuilder::case_randomization) (on by default) the
///   letters of each query name get a random case, and the echoed question must match it
///   exactly: one more random bit per letter of the zone.
///
/// Use it against a resolver or list server you run (which is what bulk checks need anyway:
/// public lists refuse bulk queries through public resolvers), or where the forgery margin of
/// a pooled transport is acceptable. For a handful of queries a second the stock resolver
/// costs nothing extra and has the wider margin.
///
/// # Behaviour
///
/// - Names are sent as given, absolute: no search domain is ever appended. Unlike hickory,
///   special-use names (RFC 6761: `localhost`, `.invalid`) are not answered locally but sent
///   to the server like any other: list zones are never special-use names.
/// - Each attempt waits [`timeout`](PooledUdpResolverBuilder::timeout); a timeout is retried
///   [`retries`](PooledUdpResolverBuilder::retries) times, each time on the next name server.
///   With several servers, each is asked at least once before a query fails.
/// - Each server has a health record: its smoothed round-trip time, and a back-off after it
///   stopped answering (1 s, doubling up to a minute) during which queries ask the other
///   servers first; when the back-off ends, one query at a time probes it again. With one
///   dead server out of two, a scan pays a few timeouts, not one per query.
/// - Every kind of trouble with one server moves the query on to the next: a timeout, a
///   confirmed closed port, the per-socket cap, a failed TCP fallback, a malformed answer, and
///   SERVFAIL, REFUSED or another error code (returned as such once every server gave one).
/// - A truncated answer (TC) is asked again over TCP, once, on a new connection.
/// - An ICMP error (port unreachable: ECONNREFUSED) is only a hint, since anyone can forge
///   one: it fails nothing by itself. It starts a check of the server: if a TCP connection to
///   it is refused too, a UDP query from a fresh socket is refused too, and no UDP answer came
///   from it within the timeout, its port is taken as closed, and the queries waiting on that socket fail at once with
///   [`LookupErrorKind::Network`] (moving on to the next server, if any). Otherwise they wait
///   for their answer until their own timeout. A send that fails is tried once more.
/// - Running out of file descriptors or ports (EMFILE, ENFILE, ...) is
///   [`LookupErrorKind::LocalResource`].
/// - Sockets are opened on first use and closed when the resolver (all its clones) is
///   dropped. Each Tokio runtime that uses the resolver gets sockets of its own
///   ([`sockets_per_server`](PooledUdpResolverBuilder::sockets_per_server) per server),
///   read by a receive task on that runtime: any number of runtimes can share a resolver, and
///   one that is idle or shut down starves no other. The sockets of a runtime that is gone are
///   closed when the next runtime first uses the resolver.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::resolver::pooled::PooledUdpResolver;
/// use dnsbl_check::{Checker, DnsList, ListKind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let resolver = PooledUdpResolver::builder()
///     .name_server("127.0.0.1:5353".parse()?)
///     .timeout(Duration::from_secs(2))
///     .retries(1)
///     .sockets_per_server(8)
///     .build()?;
/// let checker = Checker::builder()
///     .list(DnsList::from_spec("bl.example", ListKind::Ipv4)?)
///     .max_queries_in_flight(500)
///     .build_with(resolver)?;
/// # let _ = checker;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PooledUdpResolver {
    inner: Arc<Shared>,
}

struct Shared {
    servers: Vec<ServerPool>,
    timeout: Duration,
    retries: usize,
    round_robin: bool,
    case_randomization: bool,
    rotation: Rotation,
    next_server: AtomicUsize,
    counters: Arc<Counters>,
}

impl Shared {
    /// The servers a query asks, in order: the servers that are up in their configured order
    /// (rotated for round robin), then those backed off. A backed-off server whose back-off
    /// has ended is asked first by one query at a time (a probe).
    fn server_order(&self) -> Vec<(usize, Standing)> {
        let count = self.servers.len();
        let first = if self.round_robin && count > 1 {
            self.next_server.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        let mut order: Vec<(usize, Standing)> = (0..count)
            .map(|offset| {
                let index = (first + offset) % count;
                (index, self.servers[index].health.standing(self.timeout))
            })
            .collect();
        if count > 1 {
            // A stable sort: probes first, then servers that are up, then the others.
            order.sort_by_key(|&(_, standing)| standing.rank());
        }
        order
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        for server in &self.servers {
            server.shut_down();
        }
    }
}

impl fmt::Debug for PooledUdpResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledUdpResolver")
            .field(
                "servers (address, smoothed RTT, backed off)",
                &self
                    .inner
                    .servers
                    .iter()
                    .map(|s| (s.addr, s.health.srtt(), s.health.is_down()))
                    .collect::<Vec<_>>(),
            )
            .field("timeout", &self.inner.timeout)
            .field("retries", &self.inner.retries)
            .finish_non_exhaustive()
    }
}

/// Counters of a [`PooledUdpResolver`], over its whole life (all clones together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportStats {
    /// UDP queries sent (retries included).
    pub queries_sent: u64,
    /// Answers matched to a query and delivered.
    pub answers_accepted: u64,
    /// Datagrams dropped because no query in flight had their ID and question.
    pub replies_unmatched: u64,
    /// Datagrams dropped because their question matched except for the case of the name:
    /// many of them mean the server does not preserve case, and 0x20 encoding must be off.
    pub replies_case_mismatch: u64,
    /// Sockets opened, first ones and rotations together.
    pub sockets_opened: u64,
    /// Truncated answers asked again over TCP.
    pub tcp_fallbacks: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Queries waiting for an answer right now.
    pub in_flight: usize,
}

impl PooledUdpResolver {
    /// A builder: system configuration (`/etc/resolv.conf`) unless name servers are given.
    pub fn builder() -> PooledUdpResolverBuilder {
        PooledUdpResolverBuilder::default()
    }

    /// A resolver on the name servers of `/etc/resolv.conf`, with default settings.
    pub fn system() -> Result<Self, ResolverBuildError> {
        Self::builder().build()
    }

    /// The name servers queries go to, in order.
    pub fn name_servers(&self) -> Vec<NameServer> {
        self.inner
            .servers
            .iter()
            .map(|server| NameServer::new(server.addr))
            .collect()
    }

    /// The transport's counters so far.
    pub fn stats(&self) -> TransportStats {
        let c = &self.inner.counters;
        TransportStats {
            queries_sent: c.queries_sent.load(Ordering::Relaxed),
            answers_accepted: c.answers_accepted.load(Ordering::Relaxed),
            replies_unmatched: c.replies_unmatched.load(Ordering::Relaxed),
            replies_case_mismatch: c.replies_case_mismatch.load(Ordering::Relaxed),
            sockets_opened: c.sockets_opened.load(Ordering::Relaxed),
            tcp_fallbacks: c.tcp_fallbacks.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::Relaxed),
        }
    }

    async fn query(&self, name: &str, qtype: u16) -> Result<Reply, LookupError> {
        let inner = &*self.inner;
        // Written once; each attempt sets its own ID and case.
        let mut query = Query::new(name, qtype)?;
        // One server, the usual case: no order to work out (and nothing to allocate).
        let many;
        let order: &[(usize, Standing)] = if inner.servers.len() == 1 {
            &[(0, Standing::Up)]
        } else {
            many = inner.server_order();
            &many
        };
        // Each server is asked at least once when the others fail; timeouts are retried
        // `retries` times in all.
        let mut last_error = LookupError::new(LookupErrorKind::Timeout);
        for (attempt, index, standing) in health::tries(order, inner.retries) {
            let server = &inner.servers[index];
            if inner.case_randomization {
                query.randomize_case(rand::random);
            }
            let error = match self.exchange(server, &mut query, standing).await {
                Ok(reply) => return Ok(reply),
                Err(error) => error,
            };
            // A timeout, a closed port, the socket cap, a malformed answer, TCP trouble: per
            // server, or at least worth another try elsewhere.
            if health::is_final(&error, attempt, order.len()) {
                return Err(error);
            }
            last_error = error;
        }
        Err(last_error)
    }

    /// One attempt at one server: UDP, then TCP if the answer was truncated. The UDP leg
    /// updates the server's health record; `standing` is how this query uses the server.
    async fn exchange(
        &self,
        server: &ServerPool,
        query: &mut Query,
        standing: Standing,
    ) -> Result<Reply, LookupError> {
        let inner = &*self.inner;
        // One query in eight, about, measures the round trip: reading the clock is a good
        // share of what a query costs, and a smoothed RTT needs no more.
        let started = inner
            .counters
            .queries_sent
            .load(Ordering::Relaxed)
            .is_multiple_of(8)
            .then(Instant::now);
        let rtt = || started.map(|started| started.elapsed());
        // The socket's receive task times the query out (see `expiry`): no timer of its own.
        let reply = match self.udp_exchange(server, query).await {
            Err(error) => {
                match error.kind() {
                    LookupErrorKind::Timeout => {
                        inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                        server.health.failed(standing);
                    }
                    // A closed port (confirmed), an unreachable host.
                    LookupErrorKind::Network => server.health.failed(standing),
                    // An answer, if not a good one: the server is alive.
                    LookupErrorKind::ServFail
                    | LookupErrorKind::Refused
                    | LookupErrorKind::ResponseCode(_)
                    | LookupErrorKind::Protocol => server.health.answered(rtt()),
                    _ => {}
                }
                return Err(error);
            }
            Ok(reply) => {
                server.health.answered(rtt());
                reply
            }
        };
        if reply != Reply::Truncated {
            return Ok(reply);
        }
        // Trouble over TCP (a UDP-only server refuses it) says nothing of the UDP service.
        inner.counters.tcp_fallbacks.fetch_add(1, Ordering::Relaxed);
        // Boxed: the rare path should not make every lookup's future larger.
        let tcp = Box::pin(tcp_exchange(server.addr, query, inner.case_randomization));
        tokio::time::timeout(inner.timeout, tcp)
            .await
            .unwrap_or_else(|_| {
                inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(LookupError::new(LookupErrorKind::Timeout))
            })
    }

    async fn udp_exchange(
        &self,
        server: &ServerPool,
        query: &mut Query,
    ) -> Result<Reply, LookupError> {
        let inner = &*self.inner;
        let question = Question {
            question: query.question(),
            qtype: query.qtype(),
            rotation: inner.rotation,
            case_exact: inner.case_randomization,
        };
        let pending: PendingQuery = server.register(&question, &inner.counters)?;
        query.set_id(pending.id);
        pending.send(query.as_bytes()).await?;
        pending.await
    }
}

/// Asks once over TCP (after a truncated UDP answer), on a connection of its own, under a
/// fresh ID.
async fn tcp_exchange(
    server: SocketAddr,
    query: &Query,
    case_exact: bool,
) -> Result<Reply, LookupError> {
    let id: u16 = rand::random();
    let mut query = query.clone();
    query.set_id(id);
    let message = query.as_bytes();
    let mut buffer = [0u8; 2 + MAX_QUERY];
    buffer[..2].copy_from_slice(&(message.len() as u16).to_be_bytes());
    buffer[2..2 + message.len()].copy_from_slice(message);
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| LookupError::from_io(&e))?;
    stream
        .write_all(&buffer[..2 + message.len()])
        .await
        .map_err(|e| LookupError::from_io(&e))?;
    let question = query.question();
    loop {
        let size = stream
            .read_u16()
            .await
            .map_err(|e| LookupError::from_io(&e))?;
        let mut response = vec![0u8; usize::from(size)];
        stream
            .read_exact(&mut response)
            .await
            .map_err(|e| LookupError::from_io(&e))?;
        // A TCP stream cannot be spoofed off-path, but it may carry a stray message.
        if wire::response_id(&response) == Some(id)
            && wire::question_matches(&response, question, case_exact)
        {
            return match wire::parse_response(&response, question.len(), query.qtype())? {
                Reply::Truncated => Err(LookupError::with_detail(
                    LookupErrorKind::Protocol,
                    "answer truncated even over TCP",
                )),
                reply => Ok(reply),
            };
        }
    }
}

impl DnsResolver for PooledUdpResolver {
    async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
        match self.query(name, TYPE_A).await? {
            Reply::A(answer) => Ok(answer),
            _ => Err(LookupError::new(LookupErrorKind::Protocol)),
        }
    }

    async fn lookup_txt(&self, name: &str) -> Result<Answer<String>, LookupError> {
        match self.query(name, TYPE_TXT).await? {
            Reply::Txt(answer) => Ok(answer),
            _ => Err(LookupError::new(LookupErrorKind::Protocol)),
        }
    }

    async fn lookup_aaaa(&self, name: &str) -> Result<Answer<Ipv6Addr>, LookupError> {
        match self.query(name, TYPE_AAAA).await? {
            Reply::Aaaa(answer) => Ok(answer),
            _ => Err(LookupError::new(LookupErrorKind::Protocol)),
        }
    }

    async fn lookup_ptr(&self, name: &str) -> Result<Answer<String>, LookupError> {
        match self.query(name, TYPE_PTR).await? {
            Reply::Ptr(answer) => Ok(answer),
            _ => Err(LookupError::new(LookupErrorKind::Protocol)),
        }
    }

    async fn lookup_mx(
        &self,
        name: &str,
    ) -> Result<Answer<crate::resolver::MailExchanger>, LookupError> {
        match self.query(name, wire::TYPE_MX).await? {
            Reply::Mx(answer) => Ok(answer),
            _ => Err(LookupError::new(LookupErrorKind::Protocol)),
        }
    }

    async fn lookup_ns(&self, name: &str) -> Result<Answer<String>, LookupError> {
        match self.query(name, wire::TYPE_NS).await? {
            Reply::Ptr(answer) => Ok(answer),
            _ => Err(LookupError::new(LookupErrorKind::Protocol)),
        }
    }
}

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
    /// [`TransportStats::replies_case_mismatch`] counts the answers it rejects.
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

/// What the pooled resolver takes from `/etc/resolv.conf`. `search`, `domain` and `ndots` are
/// ignored on purpose: list query names are absolute.
#[derive(Debug, Clone, PartialEq)]
struct SystemConfig {
    servers: Vec<NameServer>,
    timeout: Duration,
    attempts: usize,
    rotate: bool,
}

impl SystemConfig {
    fn parse(text: &[u8]) -> Result<Self, ResolverBuildError> {
        let config = resolv_conf::Config::parse(text)
            .map_err(|error| ResolverBuildError::system_config(format!("resolv.conf: {error}")))?;
        // Like the C library: no `nameserver` line means the local server.
        let servers = config
            .get_nameservers_or_local()
            .into_iter()
            .map(|ip| {
                let addr = match ip {
                    resolv_conf::ScopedIp::V4(v4) => SocketAddr::new(IpAddr::V4(v4), 53),
                    resolv_conf::ScopedIp::V6(v6, scope) => {
                        // A numeric scope is an interface index; a named one needs a lookup we
                        // do not make, so it is left out.
                        let scope = scope.and_then(|s| s.parse().ok()).unwrap_or(0);
                        SocketAddr::V6(SocketAddrV6::new(v6, 53, 0, scope))
                    }
                };
                NameServer::new(addr)
            })
            .collect();
        Ok(SystemConfig {
            servers,
            timeout: Duration::from_secs(u64::from(config.timeout.max(1))),
            attempts: config.attempts as usize,
            rotate: config.rotate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_servers_and_options_from_resolv_conf() {
        let config = SystemConfig::parse(
            b"# comment\nsearch corp.example\noptions ndots:5 timeout:3 attempts:4 rotate\n\
              nameserver 192.0.2.53\nnameserver 2001:db8::53\n",
        )
        .unwrap();
        assert_eq!(
            config.servers,
            [
                "192.0.2.53:53".parse::<NameServer>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(config.attempts, 4);
        assert!(config.rotate);

        let empty = SystemConfig::parse(b"search example.org\n").unwrap();
        assert!(!empty.servers.is_empty(), "{empty:?}");
        assert!(empty.servers.iter().all(|s| s.addr().ip().is_loopback()));
    }

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
