//! A name server's pool of long-lived UDP sockets ([`socket`](super::socket)), one set per
//! Tokio runtime: a lookup takes the next socket in turn, opened or rotated as needed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use super::socket::{PendingQuery, PooledSocket};
use crate::resolver::health::Health;
use crate::resolver::icmp::ClosedPortCheck;
use crate::resolver::{LookupError, LookupErrorKind};

/// Most queries one socket keeps in flight: well below the 65,536 IDs, so that a random free
/// ID is found in a try or two, and spoofed replies rarely hit a live ID.
pub(crate) const MAX_IN_FLIGHT_PER_SOCKET: usize = 4096;

/// Counters shared by every socket of one resolver.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) queries_sent: AtomicU64,
    pub(crate) answers_accepted: AtomicU64,
    pub(crate) replies_unmatched: AtomicU64,
    pub(crate) replies_case_mismatch: AtomicU64,
    pub(crate) sockets_opened: AtomicU64,
    pub(crate) tcp_fallbacks: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) in_flight: AtomicUsize,
}

/// When a socket is replaced by a fresh one on a new random port.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rotation {
    pub(crate) after_queries: u32,
    pub(crate) after: Duration,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One name server, its sockets and its health record.
///
/// Each Tokio runtime that uses the resolver gets sockets of its own, read by a receive task
/// on that runtime. So the answers to a lookup are read by its own runtime, without a wake-up
/// across threads (what keeps a current-thread runtime as fast as dnsperf), and a runtime that
/// is idle or shut down starves no other: its sockets serve only its own lookups.
pub(crate) struct ServerPool {
    pub(crate) addr: SocketAddr,
    pub(crate) health: Health,
    check: Arc<ClosedPortCheck>,
    /// How long a query waits for its answer.
    timeout: Duration,
    sockets: usize,
    by_runtime: RwLock<Vec<(tokio::runtime::Id, Arc<Sockets>)>>,
}

/// The sockets of one runtime to one name server.
struct Sockets {
    cells: Box<[Mutex<Option<Arc<PooledSocket>>>]>,
    next: AtomicUsize,
}

impl Sockets {
    fn new(count: usize) -> Self {
        Sockets {
            cells: (0..count.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Whether the runtime of these sockets is gone: some were opened, and every receive
    /// task has ended.
    fn runtime_gone(&self) -> bool {
        let mut opened = false;
        for cell in self.cells.iter() {
            if let Some(socket) = lock(cell).as_ref() {
                if socket.is_alive() {
                    return false;
                }
                opened = true;
            }
        }
        opened
    }

    fn shut_down(&self) {
        for cell in self.cells.iter() {
            if let Some(socket) = lock(cell).take() {
                socket.retire();
            }
        }
    }
}

/// A query to register: its question section, type, and how sockets are kept.
pub(crate) struct Question<'a> {
    pub(crate) question: &'a [u8],
    pub(crate) rotation: Rotation,
    pub(crate) case_exact: bool,
}

impl Sockets {
    /// Reserves a slot on the next socket in turn, opening or rotating it first when needed.
    fn register(
        &self,
        server: &ServerPool,
        runtime: &tokio::runtime::Handle,
        query: &Question<'_>,
        counters: &Arc<Counters>,
    ) -> Result<PendingQuery, LookupError> {
        let cells = &self.cells;
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last_error = None;
        for offset in 0..cells.len() {
            let cell = &cells[(first + offset) % cells.len()];
            // The cell stays locked while the slot is taken, so that a socket retired by
            // another lookup in between cannot receive a new query.
            let mut current = lock(cell);
            let fresh = match current.as_ref() {
                Some(socket) if !socket.needs_rotation(query.rotation) => None,
                _ => match PooledSocket::open(
                    runtime,
                    server.addr,
                    Arc::clone(&server.check),
                    query.case_exact,
                    query.rotation.after,
                    server.timeout,
                    Arc::clone(counters),
                ) {
                    Ok(socket) => Some(socket),
                    // Rotation is a precaution: if no new socket can be had, keep the old one.
                    Err(_) if current.as_ref().is_some_and(|s| s.is_alive()) => None,
                    Err(error) => return Err(error),
                },
            };
            if let Some(fresh) = fresh
                && let Some(old) = current.replace(fresh)
            {
                old.retire();
            }
            let Some(socket) = current.as_ref() else {
                continue;
            };
            match socket.reserve(query.question) {
                Ok(pending) => return Ok(pending),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| LookupError::new(LookupErrorKind::LocalResource)))
    }
}

impl ServerPool {
    /// A pool of `sockets` sockets per runtime to `addr`; `timeout` is the query timeout (a
    /// UDP answer that recent proves the server's port open, whatever ICMP says).
    pub(crate) fn new(addr: SocketAddr, sockets: usize, timeout: Duration) -> Self {
        ServerPool {
            addr,
            health: Health::default(),
            check: Arc::new(ClosedPortCheck::new(addr, timeout)),
            timeout,
            sockets: sockets.max(1),
            by_runtime: RwLock::new(Vec::new()),
        }
    }

    /// Adds the sockets of the runtime `runtime`, on its first lookup. Sockets of runtimes
    /// that are gone are closed then.
    fn add_runtime(&self, runtime: tokio::runtime::Id) -> Arc<Sockets> {
        let mut all = self.by_runtime.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, sockets)) = all.iter().find(|(id, _)| *id == runtime) {
            return Arc::clone(sockets);
        }
        all.retain(|(_, sockets)| {
            let gone = sockets.runtime_gone();
            if gone {
                sockets.shut_down();
            }
            !gone
        });
        let sockets = Arc::new(Sockets::new(self.sockets));
        all.push((runtime, Arc::clone(&sockets)));
        sockets
    }

    /// Reserves a slot for `question` on the next socket in turn of the lookup's runtime,
    /// opening or rotating that socket first when needed. Returns the socket, slot and ID.
    pub(crate) fn register(
        &self,
        question: &Question<'_>,
        counters: &Arc<Counters>,
    ) -> Result<PendingQuery, LookupError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| LookupError::with_detail(LookupErrorKind::Config, "no Tokio runtime"))?;
        let id = runtime.id();
        {
            let all = self.by_runtime.read().unwrap_or_else(|p| p.into_inner());
            if let Some((_, sockets)) = all.iter().find(|(known, _)| *known == id) {
                return sockets.register(self, &runtime, question, counters);
            }
        }
        self.add_runtime(id)
            .register(self, &runtime, question, counters)
    }

    /// Stops every socket's receive task (the resolver is being dropped: nothing waits).
    pub(crate) fn shut_down(&self) {
        let all = self.by_runtime.read().unwrap_or_else(|p| p.into_inner());
        for (_, sockets) in all.iter() {
            sockets.shut_down();
        }
    }
}
