//! The connections being served: caps in all and per peer, and who is closed to make room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::task::AbortHandle;
use tracing::warn;

/// How many connections are served, in all and per peer.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::serve::Limits;
///
/// let limits = Limits::new(512, 256);
/// assert_eq!((limits.max, limits.per_peer), (512, 256));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most connections at once.
    pub max: usize,
    /// The most connections at once from one peer (an IP address, or a user on a Unix
    /// socket).
    pub per_peer: usize,
}

impl Limits {
    /// At most `max` connections at once, at most `per_peer` of them from one peer (each at
    /// least 1).
    pub fn new(max: usize, per_peer: usize) -> Self {
        Limits {
            max: max.max(1),
            per_peer: per_peer.max(1),
        }
    }
}

/// The connections being served: who they are from, and since when they wait for input.
///
/// A new connection is accepted first, then given a slot: at a cap (in all, or for its
/// peer), an idle connection (of all, or of that peer) is closed to make room: one that has
/// never sent a request (or milter negotiation) first, the longest idle of those; else the
/// longest idle of the others, with a warning, since that may cut short a session of the
/// MTA's. Idle connections can thus never lock out a new one; only when every connection is
/// in the middle of a decision is the new one closed at once.
pub(super) struct Slots {
    limits: Limits,
    inner: Mutex<SlotsInner>,
}

#[derive(Default)]
struct SlotsInner {
    next_id: u64,
    entries: HashMap<u64, SlotEntry>,
    per_peer: HashMap<String, usize>,
}

struct SlotEntry {
    peer: String,
    /// Since when the connection waits for input; `None` while it is deciding.
    idle_since: Option<Instant>,
    /// Whether the peer has sent a whole request (or negotiated): an MTA does so at once.
    proven: bool,
    /// Ends the connection's task.
    abort: Option<AbortHandle>,
}

/// One connection's slot: dropped when the connection ends. A connection tells its slot
/// when it waits for its peer ([`Slot::idle`]: it may then be closed to make room) and when
/// it decides ([`Slot::busy`]: it is not).
pub struct Slot {
    pub(super) id: u64,
    slots: Arc<Slots>,
}

impl Slot {
    /// The connection waits for input: it may be closed to make room for a new one.
    pub fn idle(&self) {
        let mut inner = self.slots.lock();
        if let Some(entry) = inner.entries.get_mut(&self.id) {
            entry.idle_since = Some(Instant::now());
        }
    }

    /// The connection is deciding: it is not closed to make room. Its peer has sent a whole
    /// request, as an MTA does at once: from now on it is closed to make room only after
    /// those that never have.
    pub fn busy(&self) {
        let mut inner = self.slots.lock();
        if let Some(entry) = inner.entries.get_mut(&self.id) {
            entry.idle_since = None;
            entry.proven = true;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().remove(self.id);
    }
}

impl SlotsInner {
    fn remove(&mut self, id: u64) -> Option<SlotEntry> {
        let entry = self.entries.remove(&id)?;
        if let Some(count) = self.per_peer.get_mut(&entry.peer) {
            *count -= 1;
            if *count == 0 {
                self.per_peer.remove(&entry.peer);
            }
        }
        Some(entry)
    }

    /// The idle connection (of `peer`, or of anyone) to close first: of those never
    /// proven, else of all, the one that has waited longest for input.
    fn oldest_idle(&self, peer: Option<&str>) -> Option<u64> {
        self.entries
            .iter()
            .filter(|(_, entry)| peer.is_none_or(|peer| entry.peer == peer))
            .filter_map(|(id, entry)| entry.idle_since.map(|since| (entry.proven, since, *id)))
            .min()
            .map(|(_, _, id)| id)
    }

    /// Closes connection `id` to make room: its task is ended by the caller, outside the
    /// lock.
    fn evict(&mut self, id: u64, evicted: &mut Vec<AbortHandle>) {
        if let Some(entry) = self.remove(id) {
            if entry.proven {
                warn!(
                    peer = %entry.peer,
                    "at the connection cap: closed an idle connection that had been used; \
                     the MTA applies its default action to a session cut short"
                );
            }
            evicted.extend(entry.abort);
        }
    }
}

/// What [`Slots::admit`] decided.
pub(super) enum Admission {
    /// Served, in this slot; the connections in `evicted` are to be closed.
    Admitted(Slot, Vec<AbortHandle>),
    /// Not served: every connection in the way is deciding.
    Refused(&'static str),
}

impl Slots {
    pub(super) fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Slots {
            limits,
            inner: Mutex::new(SlotsInner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotsInner> {
        // A panic elsewhere while holding the lock leaves the map consistent enough.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for a new connection from `peer`, making room by closing the longest idle
    /// connections (of that peer at its cap, else of anyone at the total cap).
    pub(super) fn admit(self: &Arc<Self>, peer: &str) -> Admission {
        let mut inner = self.lock();
        let mut evicted = Vec::new();
        if inner.per_peer.get(peer).copied().unwrap_or(0) >= self.limits.per_peer {
            match inner.oldest_idle(Some(peer)) {
                Some(id) => inner.evict(id, &mut evicted),
                None => return Admission::Refused("every connection of this peer is busy"),
            }
        }
        if inner.entries.len() >= self.limits.max {
            match inner.oldest_idle(None) {
                Some(id) => inner.evict(id, &mut evicted),
                None => return Admission::Refused("every connection is busy"),
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.insert(
            id,
            SlotEntry {
                peer: peer.to_owned(),
                idle_since: Some(Instant::now()),
                proven: false,
                abort: None,
            },
        );
        *inner.per_peer.entry(peer.to_owned()).or_default() += 1;
        let slot = Slot {
            id,
            slots: Arc::clone(self),
        };
        Admission::Admitted(slot, evicted)
    }

    /// Notes how to end the task serving slot `id`.
    pub(super) fn set_abort(&self, id: u64, abort: AbortHandle) {
        if let Some(entry) = self.lock().entries.get_mut(&id) {
            entry.abort = Some(abort);
        }
    }
}
