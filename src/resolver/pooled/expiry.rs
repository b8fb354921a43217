//! When the queries on one socket time out: one timer per socket, not one per query.
//!
//! Every query on a socket waits the same time, so their deadlines come in the order the
//! queries were sent: a queue, oldest first. The socket's receive task sleeps until the oldest
//! deadline, fails what is due, and sleeps again until the next. Answered queries leave the
//! queue when they reach its front. A Tokio timer per query cost about as much as the rest of
//! the lookup's own work (registering, polling and clearing a timer entry each time); this
//! costs a clock reading and a queue push.
//!
//! Entries name a slot and the slot's serial number at the time, so an entry whose slot was
//! freed (answered, or dropped by its lookup) and reused is recognised as stale. The queue is
//! bounded: an unanswered query at its front holds back the entries behind it, so when it grows
//! to [`MAX_QUEUED`], the stale entries are swept out.

use std::collections::VecDeque;

use tokio::time::Instant;

use super::pool::MAX_IN_FLIGHT_PER_SOCKET;

/// The most entries kept before the stale ones are swept out: twice the queries a socket may
/// have in flight, so a sweep is paid for by as many pushes as it visits entries.
const MAX_QUEUED: usize = 2 * MAX_IN_FLIGHT_PER_SOCKET;

/// A pending query's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiry {
    /// When the query times out.
    pub(crate) at: Instant,
    /// Its slot in the socket's table.
    pub(crate) slot: u32,
    /// The slot's serial number when the query took it.
    pub(crate) serial: u32,
}

/// The deadlines of one socket's queries, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Expiries {
    queue: VecDeque<Expiry>,
}

impl Expiries {
    /// Adds the deadline of a query just sent; `waiting` tells whether an entry's query still
    /// waits (used only to sweep a full queue). Returns whether the queue was empty: then the
    /// receive task has no deadline to sleep until, and must be told of this one.
    pub(crate) fn push(&mut self, expiry: Expiry, waiting: impl Fn(&Expiry) -> bool) -> bool {
        if self.queue.len() >= MAX_QUEUED {
            self.queue.retain(|entry| waiting(entry));
        }
        let was_empty = self.queue.is_empty();
        self.queue.push_back(expiry);
        was_empty
    }

    /// Drops the entries at the front whose queries no longer wait.
    pub(crate) fn trim(&mut self, waiting: impl Fn(&Expiry) -> bool) {
        while self.queue.front().is_some_and(|entry| !waiting(entry)) {
            self.queue.pop_front();
        }
    }

    /// Takes the oldest entry if it is due at `now` and its query still waits (stale entries
    /// before it are dropped). `None` once the front is not due.
    pub(crate) fn pop_due(
        &mut self,
        now: Instant,
        waiting: impl Fn(&Expiry) -> bool,
    ) -> Option<Expiry> {
        self.trim(&waiting);
        let front = *self.queue.front()?;
        (front.at <= now).then(|| {
            self.queue.pop_front();
            front
        })
    }

    /// When the oldest entry is due, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.front().map(|entry| entry.at)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(start: Instant, millis: u64, slot: u32) -> Expiry {
        Expiry {
            at: start + Duration::from_millis(millis),
            slot,
            serial: 0,
        }
    }

    #[test]
    fn due_entries_come_out_oldest_first_and_stale_ones_never() {
        let start = Instant::now();
        let mut queue = Expiries::default();
        assert!(queue.push(at(start, 10, 1), |_| true));
        assert!(!queue.push(at(start, 20, 2), |_| true));
        assert!(!queue.push(at(start, 30, 3), |_| true));
        let waiting = |entry: &Expiry| entry.slot != 2; // slot 2 was answered
        assert_eq!(queue.pop_due(start, waiting), None);
        let later = start + Duration::from_millis(25);
        assert_eq!(queue.pop_due(later, waiting), Some(at(start, 10, 1)));
        assert_eq!(queue.pop_due(later, waiting), None);
        assert_eq!(queue.next_deadline(), Some(at(start, 30, 3).at));
        queue.trim(|_| false);
        assert_eq!(queue.next_deadline(), None);
        assert!(queue.push(at(start, 40, 4), |_| true), "empty again");
    }

    #[test]
    fn an_unanswered_front_does_not_let_the_queue_grow_without_bound() {
        let start = Instant::now();
        let mut queue = Expiries::default();
        // Slot 0 never answers; every other query is answered at once.
        for serial in 0..10 * MAX_QUEUED as u32 {
            let slot = if serial == 0 { 0 } else { 1 };
            let expiry = Expiry {
                at: start,
                slot,
                serial,
            };
            queue.push(expiry, |entry| entry.slot == 0);
            assert!(queue.len() <= MAX_QUEUED + 1);
        }
        assert_eq!(
            queue.pop_due(start, |entry| entry.slot == 0).unwrap().slot,
            0
        );
        assert_eq!(queue.pop_due(start, |entry| entry.slot == 0), None);
    }
}
