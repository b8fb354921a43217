//! The futures a bulk stream has in flight, each in a slot of its own that later futures use
//! again.
//!
//! Written here rather than taken from `FuturesUnordered`: that allocates a task node for every
//! future pushed, and links, unlinks and frees it again, which for a bulk scan (one short
//! future per target) cost a good share of each check's own work. Slots are allocated once
//! each, with their box and their waker, up to the most futures ever in flight at once; a
//! future that is done leaves its box and waker for the next.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures::task::{ArcWake, AtomicWaker};

/// Futures in flight, polled when woken; their outputs come out as they complete.
pub(crate) struct Slots<F> {
    slots: Vec<Slot<F>>,
    /// Slots whose future is done, for the next ones.
    free: Vec<usize>,
    woken: Arc<Woken>,
    /// Slots to poll, in the order they were pushed or woken (as `FuturesUnordered` polls
    /// them): new futures after those already waiting, none put off behind later ones.
    ready: VecDeque<usize>,
    running: usize,
}

struct Slot<F> {
    future: Pin<Box<F>>,
    running: bool,
    waker: Waker,
    flag: Arc<SlotWaker>,
}

/// The slots woken since they were last polled, and the waker of the task that polls them.
#[derive(Default)]
struct Woken {
    queue: Mutex<Vec<usize>>,
    parent: AtomicWaker,
}

/// A slot's waker: queues the slot once until it is polled, and wakes the polling task.
struct SlotWaker {
    index: usize,
    queued: AtomicBool,
    woken: Arc<Woken>,
}

impl ArcWake for SlotWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if !arc_self.queued.swap(true, Ordering::AcqRel) {
            let woken = &arc_self.woken;
            woken
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(arc_self.index);
            woken.parent.wake();
        }
    }
}

impl<F: Future> Slots<F> {
    pub(crate) fn new() -> Self {
        Slots {
            slots: Vec::new(),
            free: Vec::new(),
            woken: Arc::default(),
            ready: VecDeque::new(),
            running: 0,
        }
    }

    /// How many futures are in flight.
    pub(crate) fn len(&self) -> usize {
        self.running
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.running == 0
    }

    /// How many slots (boxes) were allocated.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.slots.len()
    }

    /// Adds the future `make` returns, in a free slot if there is one; it is polled at the
    /// next [`Slots::poll_next`].
    ///
    /// A maker rather than the future itself: made where it is stored, the future (a few
    /// kilobytes) is not first copied into this call.
    pub(crate) fn push_with(&mut self, make: impl FnOnce() -> F) {
        let index = match self.free.pop() {
            Some(index) => {
                let slot = &mut self.slots[index];
                slot.future.set(make());
                slot.running = true;
                // Queued by hand: a wake before its first poll need not queue it again.
                slot.flag.queued.store(true, Ordering::Release);
                index
            }
            None => {
                let index = self.slots.len();
                let flag = Arc::new(SlotWaker {
                    index,
                    queued: AtomicBool::new(true),
                    woken: Arc::clone(&self.woken),
                });
                self.slots.push(Slot {
                    future: Box::pin(make()),
                    running: true,
                    waker: futures::task::waker(Arc::clone(&flag)),
                    flag,
                });
                index
            }
        };
        self.ready.push_back(index);
        self.running += 1;
    }

    /// The output of a future that is done, if one is; `None` once none is in flight.
    ///
    /// Polls at most as many futures as are in flight in one call, then yields to the runtime:
    /// a future that wakes itself each time it is polled cannot hold the task forever.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.woken.parent.register(cx.waker());
        let mut polls = 0;
        loop {
            if self.ready.is_empty() {
                let mut queue = self
                    .woken
                    .queue
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                self.ready.extend(queue.drain(..));
            }
            let Some(index) = self.ready.pop_front() else {
                return if self.running == 0 {
                    Poll::Ready(None)
                } else {
                    Poll::Pending
                };
            };
            if polls >= self.running.max(1) {
                self.ready.push_front(index);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let slot = &mut self.slots[index];
            // Cleared before the poll: a wake during it queues the slot again.
            slot.flag.queued.store(false, Ordering::Release);
            if !slot.running {
                continue; // a late wake of a future that is done
            }
            polls += 1;
            let mut slot_cx = Context::from_waker(&slot.waker);
            if let Poll::Ready(output) = slot.future.as_mut().poll(&mut slot_cx) {
                slot.running = false;
                self.free.push(index);
                self.running -= 1;
                return Poll::Ready(Some(output));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Every future's output comes out once, however their wake-ups interleave, and a slot
    /// serves many futures in turn.
    #[tokio::test]
    async fn every_output_comes_out_once_and_slots_are_used_again() {
        let mut slots = Slots::new();
        let mut outputs = Vec::new();
        let mut next = 0u32;
        while next < 200 || !slots.is_empty() {
            while next < 200 && slots.len() < 5 {
                let n = next;
                slots.push_with(|| async move {
                    for _ in 0..n % 4 {
                        tokio::time::sleep(Duration::from_micros(u64::from(n % 7) * 100)).await;
                        tokio::task::yield_now().await;
                    }
                    n
                });
                next += 1;
            }
            if let Some(n) = std::future::poll_fn(|cx| slots.poll_next(cx)).await {
                outputs.push(n);
            }
        }
        outputs.sort_unstable();
        assert_eq!(outputs, (0..200).collect::<Vec<_>>());
        assert!(slots.allocated() <= 5, "{} slots", slots.allocated());
        assert_eq!(std::future::poll_fn(|cx| slots.poll_next(cx)).await, None);
    }

    /// Futures are polled in the order they were pushed, as `FuturesUnordered` polls them.
    #[tokio::test]
    async fn futures_are_polled_in_the_order_they_were_pushed() {
        let mut slots = Slots::new();
        for n in 0..5u32 {
            slots.push_with(|| async move { n });
        }
        let mut outputs = Vec::new();
        while let Some(n) = std::future::poll_fn(|cx| slots.poll_next(cx)).await {
            outputs.push(n);
        }
        assert_eq!(outputs, [0, 1, 2, 3, 4]);
    }

    /// A future that wakes itself at every poll does not keep `poll_next` from returning.
    #[tokio::test]
    async fn a_future_that_always_wakes_itself_lets_the_task_go() {
        let mut slots = Slots::new();
        slots.push_with(|| {
            std::future::poll_fn(|cx: &mut Context<'_>| {
                cx.waker().wake_by_ref();
                Poll::<()>::Pending
            })
        });
        let mut polled = 0;
        let returned = std::future::poll_fn(|cx| {
            polled += 1;
            match slots.poll_next(cx) {
                Poll::Pending if polled < 3 => Poll::Pending,
                Poll::Pending => Poll::Ready(false),
                Poll::Ready(_) => Poll::Ready(true),
            }
        })
        .await;
        assert!(!returned);
        assert_eq!(
            polled, 3,
            "poll_next returned Pending each time, and was woken"
        );
    }

    /// A future that is woken from another thread is polled again.
    #[tokio::test]
    async fn a_wake_from_another_thread_is_seen() {
        let mut slots = Slots::new();
        let (sender, receiver) = tokio::sync::oneshot::channel::<u8>();
        slots.push_with(|| async move { receiver.await.unwrap() });
        assert!(futures::poll!(std::future::poll_fn(|cx| slots.poll_next(cx))).is_pending());
        std::thread::spawn(move || sender.send(7).unwrap())
            .join()
            .unwrap();
        assert_eq!(
            std::future::poll_fn(|cx| slots.poll_next(cx)).await,
            Some(7)
        );
    }
}
