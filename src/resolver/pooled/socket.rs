//! One connected UDP socket: its table of pending queries, and the task that receives its
//! answers.
//!
//! A lookup reserves a slot under a random ID, sends from a stack buffer and waits on the
//! slot. The receive task matches each datagram to a slot by ID and question, reads it in
//! place into the answer the slot asked for, and wakes the lookup. Dropping a lookup frees its
//! slot, whatever state it is in.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::AbortHandle;

use super::expiry::{Expiries, Expiry};
use super::ids::{IdTable, MAX_SLOTS};
use super::pool::{Counters, MAX_IN_FLIGHT_PER_SOCKET, Rotation, lock};
use super::wire::{self, Decode, MAX_QUESTION, Reply};
use crate::resolver::icmp::{ClosedPortCheck, Resends, is_icmp_hint, same_peer};
use crate::resolver::{LookupError, LookupErrorKind};

/// The most a slot's answer buffer keeps between queries: room for any answer within the
/// EDNS size we advertise (1,232 octets), with margin.
const KEPT_RESPONSE_CAPACITY: usize = 4096;

/// The largest datagram a receive task reads. Answers are limited to the EDNS size we
/// advertise, but a server may ignore it; anything that arrives is read whole.
const RECEIVE_BUFFER: usize = 65_535;

/// A connected UDP socket, its pending queries and its receive task.
pub(crate) struct PooledSocket {
    socket: UdpSocket,
    server: SocketAddr,
    check: Arc<ClosedPortCheck>,
    /// A closed-port check started by an ICMP error is running.
    checking: AtomicBool,
    table: Mutex<Table>,
    /// The socket was open as long as [`Rotation::after`]: set by a timer, so that no lookup
    /// reads the clock to find out.
    aged: Arc<AtomicBool>,
    queries: AtomicU32,
    retired: AtomicBool,
    task: OnceLock<AbortHandle>,
    /// The task that sets `aged`; it ends with the receive task.
    timer: OnceLock<AbortHandle>,
    case_exact: bool,
    counters: Arc<Counters>,
    /// How long a query waits for its answer.
    timeout: Duration,
}

struct Table {
    by_id: IdTable,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// The pending queries' deadlines, oldest first.
    expiries: Expiries,
    /// The receive task was stopped: no answer can arrive any more.
    closed: bool,
}

impl Table {
    /// Whether the query `expiry` was written for still waits for its answer.
    fn waiting(slots: &[Slot], expiry: &Expiry) -> bool {
        let slot = &slots[expiry.slot as usize];
        slot.serial == expiry.serial && matches!(slot.state, SlotState::Waiting)
    }
}

struct Slot {
    /// Counts the queries the slot has held, so that a deadline left behind by an earlier
    /// one is told apart.
    serial: u32,
    id: u16,
    question: [u8; MAX_QUESTION],
    question_len: usize,
    /// The answer's datagram, once received.
    response: Vec<u8>,
    state: SlotState,
    waker: Option<Waker>,
}

enum SlotState {
    Free,
    Waiting,
    /// The answer is in the slot's `response`, read by the lookup for the type it asked.
    Answered,
    Failed(LookupError),
    Taken,
}

impl PooledSocket {
    /// Binds a socket to port 0 (the OS picks a random ephemeral port), connects it to the
    /// server and starts its receive task on `runtime`, and a timer that marks it for
    /// rotation after `max_age`. Connecting makes the kernel drop datagrams from any other
    /// address, and report ICMP port unreachable as ECONNREFUSED.
    pub(crate) fn open(
        runtime: &tokio::runtime::Handle,
        server: SocketAddr,
        check: Arc<ClosedPortCheck>,
        case_exact: bool,
        max_age: Duration,
        timeout: Duration,
        counters: Arc<Counters>,
    ) -> Result<Arc<Self>, LookupError> {
        let local: SocketAddr = match server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let std_socket = StdUdpSocket::bind(local).map_err(|e| LookupError::from_io(&e))?;
        std_socket
            .connect(server)
            .map_err(|e| LookupError::from_io(&e))?;
        std_socket
            .set_nonblocking(true)
            .map_err(|e| LookupError::from_io(&e))?;
        let socket = {
            let _entered = runtime.enter();
            UdpSocket::from_std(std_socket).map_err(|e| LookupError::from_io(&e))?
        };
        counters.sockets_opened.fetch_add(1, Ordering::Relaxed);
        let pooled = Arc::new(PooledSocket {
            socket,
            server,
            check,
            checking: AtomicBool::new(false),
            table: Mutex::new(Table {
                by_id: IdTable::new(),
                slots: Vec::new(),
                free: Vec::new(),
                expiries: Expiries::default(),
                closed: false,
            }),
            aged: Arc::new(AtomicBool::new(max_age.is_zero())),
            queries: AtomicU32::new(0),
            retired: AtomicBool::new(false),
            task: OnceLock::new(),
            timer: OnceLock::new(),
            case_exact,
            counters,
            timeout,
        });
        // No query sent from now on is due before this: the receive task's first wake-up.
        let first_check = tokio::time::Instant::now() + timeout;
        let task = runtime.spawn(receive_loop(Arc::clone(&pooled), first_check));
        let _ = pooled.task.set(task.abort_handle());
        if !max_age.is_zero() {
            let aged = Arc::clone(&pooled.aged);
            let timer = runtime.spawn(async move {
                tokio::time::sleep(max_age).await;
                aged.store(true, Ordering::Relaxed);
            });
            let _ = pooled.timer.set(timer.abort_handle());
        }
        Ok(pooled)
    }

    pub(crate) fn is_alive(&self) -> bool {
        !self.task.get().is_some_and(AbortHandle::is_finished)
    }

    pub(crate) fn needs_rotation(&self, rotation: Rotation) -> bool {
        self.queries.load(Ordering::Relaxed) >= rotation.after_queries
            || self.aged.load(Ordering::Relaxed)
            // The receive task is gone (its runtime shut down): the socket is useless.
            || !self.is_alive()
    }

    /// Takes the socket out of use. Its receive task runs on until the last pending query on
    /// it is answered or dropped.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
        let mut table = lock(&self.table);
        if table.free.len() == table.slots.len() {
            self.close(&mut table);
        }
    }

    fn close(&self, table: &mut Table) {
        table.closed = true;
        for task in [&self.task, &self.timer] {
            if let Some(task) = task.get() {
                task.abort();
            }
        }
    }

    /// Takes a free slot under a fresh random ID not in flight on this socket.
    pub(crate) fn reserve(self: &Arc<Self>, question: &[u8]) -> Result<PendingQuery, LookupError> {
        let mut table = lock(&self.table);
        if table.closed {
            return Err(LookupError::with_detail(
                LookupErrorKind::LocalResource,
                "socket closed",
            ));
        }
        // Answered queries not yet read keep their slots: those are bounded too.
        let slots_full = table.free.is_empty() && table.slots.len() >= MAX_SLOTS;
        if table.by_id.len() >= MAX_IN_FLIGHT_PER_SOCKET || slots_full {
            return Err(LookupError::with_detail(
                LookupErrorKind::LocalResource,
                "too many queries in flight",
            ));
        }
        let id = loop {
            let id: u16 = rand::random();
            if !table.by_id.contains(id) {
                break id;
            }
        };
        let index = match table.free.pop() {
            Some(index) => index,
            None => {
                table.slots.push(Slot {
                    serial: 0,
                    id: 0,
                    response: Vec::new(),
                    question: [0; MAX_QUESTION],
                    question_len: 0,
                    state: SlotState::Free,
                    waker: None,
                });
                (table.slots.len() - 1) as u32
            }
        };
        let Table {
            slots, expiries, ..
        } = &mut *table;
        let slot = &mut slots[index as usize];
        slot.serial = slot.serial.wrapping_add(1);
        let expiry = Expiry {
            at: tokio::time::Instant::now() + self.timeout,
            slot: index,
            serial: slot.serial,
        };
        slot.id = id;
        slot.question[..question.len()].copy_from_slice(question);
        slot.question_len = question.len();
        slot.state = SlotState::Waiting;
        slot.waker = None;
        expiries.push(expiry, |entry| Table::waiting(slots, entry));
        table.by_id.insert(id, index);
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(PendingQuery {
            socket: Arc::clone(self),
            slot: index,
            id,
            released: false,
        })
    }

    /// Matches a datagram to its pending query and completes it; whether it was accepted.
    /// The caller notes the answer for the closed-port check ([`ClosedPortCheck::note_answer`]).
    fn dispatch(&self, packet: &[u8]) -> bool {
        let Some(id) = wire::response_id(packet) else {
            self.counters
                .replies_unmatched
                .fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let mut table = lock(&self.table);
        let Some(index) = table.by_id.get(id) else {
            drop(table);
            self.counters
                .replies_unmatched
                .fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let slot = &mut table.slots[index as usize];
        let question = &slot.question[..slot.question_len];
        if !matches!(slot.state, SlotState::Waiting)
            || !wire::question_matches(packet, question, self.case_exact)
        {
            let counter = if wire::question_matches_ignoring_case(packet, question) {
                &self.counters.replies_case_mismatch
            } else {
                &self.counters.replies_unmatched
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        // Kept for the lookup to read: the slot's buffer is reused, query after query.
        slot.response.clear();
        slot.response.extend_from_slice(packet);
        slot.state = SlotState::Answered;
        let waker = slot.waker.take();
        let Table {
            by_id,
            slots,
            expiries,
            ..
        } = &mut *table;
        by_id.remove(id);
        expiries.trim(|entry| Table::waiting(slots, entry));
        drop(table);
        self.counters
            .answers_accepted
            .fetch_add(1, Ordering::Relaxed);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// After a receive or send error that may come from ICMP: starts a closed-port check,
    /// unless one runs. The pending queries keep waiting for their answers; only a confirmed
    /// closed port fails them.
    fn icmp_hint(self: &Arc<Self>, error: &std::io::Error) {
        tracing::debug!(%error, "error on pooled DNS socket: checking the server");
        if self.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let socket = Arc::clone(self);
        tokio::spawn(async move {
            if socket.check.confirm_closed().await {
                socket.fail_all(&LookupError::with_detail(
                    LookupErrorKind::Network,
                    "connection refused: nothing answers on the name server's port",
                ));
            }
            socket.checking.store(false, Ordering::Release);
        });
    }

    /// Fails the queries that are due at `now` with a timeout; returns when the next one is
    /// due, if any query waits.
    fn expire(&self, now: tokio::time::Instant) -> Option<tokio::time::Instant> {
        let mut wakers = Vec::new();
        let mut table = lock(&self.table);
        let Table {
            by_id,
            slots,
            expiries,
            ..
        } = &mut *table;
        while let Some(due) = expiries.pop_due(now, |entry| Table::waiting(slots, entry)) {
            let slot = &mut slots[due.slot as usize];
            slot.state = SlotState::Failed(LookupError::new(LookupErrorKind::Timeout));
            by_id.remove(slot.id);
            wakers.extend(slot.waker.take());
        }
        let next = expiries.next_deadline();
        drop(table);
        for waker in wakers {
            waker.wake();
        }
        next
    }

    /// Completes every pending query with `error` (the server's port is confirmed closed:
    /// every query on this connected socket went to it).
    fn fail_all(&self, error: &LookupError) {
        let mut wakers = Vec::new();
        let mut table = lock(&self.table);
        let Table { by_id, slots, .. } = &mut *table;
        for slot in slots.iter_mut() {
            if matches!(slot.state, SlotState::Waiting) {
                by_id.remove(slot.id);
                slot.state = SlotState::Failed(error.clone());
                wakers.extend(slot.waker.take());
            }
        }
        drop(table);
        for waker in wakers {
            waker.wake();
        }
    }

    fn release(&self, index: u32) {
        self.free_slot(&mut lock(&self.table), index);
    }

    /// Frees a slot, under the table's lock; closes a retired socket that has no more
    /// pending queries.
    fn free_slot(&self, table: &mut Table, index: u32) {
        let slot = &mut table.slots[index as usize];
        let id = slot.id;
        let waiting = matches!(slot.state, SlotState::Waiting);
        slot.state = SlotState::Free;
        slot.waker = None;
        // A server may send far more than the EDNS size asked (up to 64 KiB): such a buffer is
        // not kept for the slot's next query, so what the slots hold stays small.
        if slot.response.capacity() > KEPT_RESPONSE_CAPACITY {
            slot.response = Vec::new();
        }
        if waiting {
            table.by_id.remove(id);
        }
        table.free.push(index);
        if table.free.len() == table.slots.len() && self.retired.load(Ordering::Acquire) {
            self.close(table);
        }
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One query waiting on a pooled socket. Dropping it frees the slot.
pub(crate) struct PendingQuery {
    socket: Arc<PooledSocket>,
    slot: u32,
    pub(crate) id: u16,
    released: bool,
}

impl PendingQuery {
    /// Sends the encoded query on the socket. A failed send is tried again (see `Resends`): a
    /// pending ICMP error (which anyone can forge) is reported, and cleared, by the next send
    /// on the socket, whichever query makes it. A send that still fails fails this query only.
    pub(crate) async fn send(&self, query: &[u8]) -> Result<(), LookupError> {
        self.socket
            .counters
            .queries_sent
            .fetch_add(1, Ordering::Relaxed);
        // The socket is nearly always writable: try at once, without an await point.
        let mut sent = match self.socket.socket.try_send(query) {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                self.send_when_writable(query).await?
            }
            sent => sent,
        };
        let mut resends = Resends::new();
        loop {
            let error = match sent {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            if is_icmp_hint(&error) {
                self.socket.icmp_hint(&error);
            }
            if !resends.again(&error) {
                return Err(LookupError::from_io(&error));
            }
            tracing::debug!(%error, "send on pooled DNS socket failed: trying again");
            sent = self.send_when_writable(query).await?;
        }
    }

    /// Waits for the socket to take the query, no longer than the query may wait in all: while
    /// it waits to send, the query does not see its slot time out.
    async fn send_when_writable(
        &self,
        query: &[u8],
    ) -> Result<std::io::Result<usize>, LookupError> {
        // Boxed: the rare path should not make every lookup's future larger.
        Box::pin(tokio::time::timeout(
            self.socket.timeout,
            self.socket.socket.send(query),
        ))
        .await
        .map_err(|_| LookupError::new(LookupErrorKind::Timeout))
    }
}

impl PendingQuery {
    /// Waits for the answer, and reads it as records of type `K` (the type the query asked).
    pub(crate) async fn reply<K: Decode>(mut self) -> Result<Reply<K::Value>, LookupError> {
        std::future::poll_fn(|cx| self.poll_reply::<K>(cx)).await
    }

    fn poll_reply<K: Decode>(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Reply<K::Value>, LookupError>> {
        let this = self;
        let mut table = lock(&this.socket.table);
        let closed = table.closed;
        let slot = &mut table.slots[this.slot as usize];
        let done = match std::mem::replace(&mut slot.state, SlotState::Taken) {
            SlotState::Answered => wire::parse_response::<K>(&slot.response, slot.question_len),
            SlotState::Failed(error) => Err(error),
            SlotState::Waiting if closed => {
                slot.state = SlotState::Waiting;
                drop(table);
                return Poll::Ready(Err(LookupError::with_detail(
                    LookupErrorKind::Network,
                    "socket closed",
                )));
            }
            SlotState::Waiting => {
                slot.state = SlotState::Waiting;
                match &mut slot.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    waker => *waker = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            SlotState::Free | SlotState::Taken => {
                unreachable!("a pending query's slot is reserved until it is released")
            }
        };
        this.released = true;
        this.socket.free_slot(&mut table, this.slot);
        Poll::Ready(done)
    }
}

impl Drop for PendingQuery {
    fn drop(&mut self) {
        if !self.released {
            self.socket.release(self.slot);
        }
    }
}

/// Most datagrams read in one wake-up of a receive task, after the one it waited for.
const RECEIVE_BATCH: usize = 32;

/// Receives the socket's answers, and times its queries out (see [`expiry`](super::expiry)).
/// `first_check` is when the first query sent can be due, at the earliest.
async fn receive_loop(socket: Arc<PooledSocket>, first_check: tokio::time::Instant) {
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    // Never later than the oldest pending query's deadline. With no query pending, it is set
    // one timeout ahead, which no query sent after that can be due before.
    let expiry = tokio::time::sleep_until(first_check);
    tokio::pin!(expiry);
    loop {
        // Wait for one datagram, then read those already queued behind it: the answers of
        // one wake-up are noted for the closed-port check with one reading of the clock.
        // The deadline goes first, so that a busy socket cannot put it off.
        let mut received = tokio::select! {
            biased;
            () = &mut expiry => {
                let now = tokio::time::Instant::now();
                let next = socket.expire(now).unwrap_or(now + socket.timeout);
                expiry.as_mut().reset(next);
                continue;
            }
            received = socket.socket.recv_from(&mut buffer) => received,
        };
        let mut answered = false;
        let mut read = 0;
        loop {
            match received {
                Ok((len, from)) => answered |= socket.accept(&buffer[..len], from),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    socket.receive_error(&error);
                    if answered {
                        socket.check.note_answer();
                    }
                    answered = false;
                    tokio::task::yield_now().await;
                    break;
                }
            }
            read += 1;
            if read == RECEIVE_BATCH {
                break;
            }
            received = socket.socket.try_recv_from(&mut buffer);
        }
        if answered {
            socket.check.note_answer();
        }
    }
}

impl PooledSocket {
    /// Takes a datagram from `from`; whether it answered a pending query.
    fn accept(&self, packet: &[u8], from: SocketAddr) -> bool {
        if same_peer(from, self.server) {
            return self.dispatch(packet);
        }
        // Queued between bind and connect, before any query was sent: from anyone.
        self.counters
            .replies_unmatched
            .fetch_add(1, Ordering::Relaxed);
        false
    }

    /// A receive error. On a connected UDP socket, an ICMP error quoting the socket's ports
    /// is reported here. Anyone can send one: it is a hint to check the server, and fails
    /// nothing by itself.
    fn receive_error(self: &Arc<Self>, error: &std::io::Error) {
        if is_icmp_hint(error) {
            self.icmp_hint(error);
        } else {
            tracing::debug!(%error, "receive error on pooled DNS socket");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::pooled::wire::Query;

    /// An answer to `query` (ID and question echoed) padded to `len` octets.
    fn answer(query: &Query, id: u16, len: usize) -> Vec<u8> {
        let question = query.question();
        let mut packet = vec![0u8; len.max(12 + question.len())];
        packet[..2].copy_from_slice(&id.to_be_bytes());
        packet[2] = 0x80; // a response
        packet[5] = 1; // one question
        packet[12..12 + question.len()].copy_from_slice(question);
        packet
    }

    #[tokio::test]
    async fn a_slot_keeps_no_oversized_answer_buffer_for_its_next_query() {
        // Nothing is sent: the answers are handed to the socket as its receive task would.
        let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let socket = PooledSocket::open(
            &tokio::runtime::Handle::current(),
            server,
            Arc::new(ClosedPortCheck::new(server, Duration::from_secs(5))),
            true,
            Duration::ZERO,
            Duration::from_secs(5),
            Arc::default(),
        )
        .unwrap();
        let query = Query::new("2.0.0.127.bl.example.", 1).unwrap();
        let capacity = |pending: &PendingQuery| {
            lock(&socket.table).slots[pending.slot as usize]
                .response
                .capacity()
        };

        let small = socket.reserve(query.question()).unwrap();
        assert!(socket.dispatch(&answer(&query, small.id, 600)));
        let slot = small.slot;
        drop(small);
        let reused = socket.reserve(query.question()).unwrap();
        assert_eq!(reused.slot, slot);
        assert!(capacity(&reused) >= 600, "a usual buffer is kept");

        assert!(socket.dispatch(&answer(&query, reused.id, 60_000)));
        assert!(capacity(&reused) >= 60_000);
        drop(reused);
        let again = socket.reserve(query.question()).unwrap();
        assert_eq!(again.slot, slot);
        assert!(
            capacity(&again) <= KEPT_RESPONSE_CAPACITY,
            "{}",
            capacity(&again)
        );
    }
}
