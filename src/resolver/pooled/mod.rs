//! A fast DNS transport for bulk lookups: UDP queries multiplexed over a small pool of
//! long-lived sockets.
//!
//! - `pool.rs`: each name server's sockets, one set per runtime;
//! - `socket.rs`: one socket, its pending queries and its receive task;
//! - `expiry.rs`: when those queries time out;
//! - `wire.rs`: queries written and answers read in place;
//! - `tcp.rs`: the TCP leg after a truncated answer;
//! - `builder.rs` and `system.rs`: building the resolver, from `/etc/resolv.conf` or not;
//! - `resolver/health.rs` (shared with the stock transport): which servers answer, and the
//!   backing off of those that stopped.

#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod bench_support;
mod builder;
mod expiry;
mod ids;
mod pool;
mod socket;
mod system;
mod tcp;
mod wire;

pub use builder::PooledUdpResolverBuilder;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::resolver::health::{self, Standing};
use crate::resolver::{
    Answer, DnsResolver, LookupError, LookupErrorKind, NameServer, ResolverBuildError,
};
use pool::{Counters, Question, Rotation, ServerPool};
use socket::PendingQuery;
use wire::{Decode, Query, Reply};

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

    /// The one lookup behind every typed method: the records of type `K` at `name`.
    async fn lookup<K: Decode>(&self, name: &str) -> Result<Answer<K::Value>, LookupError> {
        let inner = &*self.inner;
        // Written once, in place; each attempt sets its own ID and case.
        let mut query = Query::EMPTY;
        query.write(name, K::KIND.code())?;
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
            let error = match self.exchange::<K>(server, &mut query, standing).await {
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
    async fn exchange<K: Decode>(
        &self,
        server: &ServerPool,
        query: &mut Query,
        standing: Standing,
    ) -> Result<Answer<K::Value>, LookupError> {
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
        let reply = match self.udp_exchange::<K>(server, query).await {
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
        if let Reply::Answer(answer) = reply {
            return Ok(answer);
        }
        // Trouble over TCP (a UDP-only server refuses it) says nothing of the UDP service.
        inner.counters.tcp_fallbacks.fetch_add(1, Ordering::Relaxed);
        // Boxed, timer and all: the rare path should not make every lookup's future larger.
        let tcp = tcp::exchange::<K>(server.addr, query, inner.case_randomization);
        Box::pin(tokio::time::timeout(inner.timeout, tcp))
            .await
            .unwrap_or_else(|_| {
                inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(LookupError::new(LookupErrorKind::Timeout))
            })
    }

    async fn udp_exchange<K: Decode>(
        &self,
        server: &ServerPool,
        query: &mut Query,
    ) -> Result<Reply<K::Value>, LookupError> {
        let inner = &*self.inner;
        let question = Question {
            question: query.question(),
            rotation: inner.rotation,
            case_exact: inner.case_randomization,
        };
        let pending: PendingQuery = server.register(&question, &inner.counters)?;
        query.set_id(pending.id);
        pending.send(query.as_bytes()).await?;
        pending.reply::<K>().await
    }
}

impl DnsResolver for PooledUdpResolver {
    crate::resolver::record::lookup_methods!(lookup);

    /// The timeout: every wait of a lookup ends within it. The socket's receive task wakes a
    /// query with its answer or at its deadline (see `expiry`), a send that waits for room
    /// and the TCP fallback have the same timeout, and the next attempt starts without a
    /// wait.
    fn wakes_within(&self) -> Option<Duration> {
        Some(self.inner.timeout)
    }
}
