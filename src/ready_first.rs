//! Bulk checks that take an answer at hand at once, and set up a lookup only for the rest.
//!
//! A check answered from memory (a local mirror) needs no future of its own: queuing one
//! costs more than the answer (an allocation, and a copy of its state, a few kilobytes).
//! [`ready_first`] asks `now` first and queues `later`'s future only when `now` has nothing,
//! with at most `limit` futures in flight, like `buffer_unordered`.
//!
//! The futures are boxed (a check's is a few kilobytes, which the queue would otherwise move
//! as it goes), and each box is used again for a later item once its future is done: at most
//! `limit` boxes for a whole stream, not an allocation of a few kilobytes per item, which cost
//! a bulk scan more than building its query (see [`slots`]).

mod slots;

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{Fuse, Stream, StreamExt};

use slots::Slots;

/// The results of `input`'s items, as they complete: `now(&item)` where it has one, else the
/// output of `later(item)`'s future, with at most `limit` of those in flight (at least 1).
///
/// The futures in flight are polled before each new item is taken, and while any are in
/// flight the stream yields to the runtime after every [`YIELD_EVERY`] answers at hand, so a
/// long run of those never holds back the lookups under way (their sockets are read, and
/// their deadlines run).
pub(crate) fn ready_first<S, O, N, L, F>(
    input: S,
    limit: usize,
    now: N,
    later: L,
) -> ReadyFirst<S, N, L, F>
where
    S: Stream,
    N: FnMut(&S::Item) -> Option<O>,
    L: FnMut(S::Item) -> F,
    F: Future<Output = O>,
{
    ReadyFirst {
        input: Box::pin(input.fuse()),
        pending: Slots::new(),
        limit: limit.max(1),
        streak: 0,
        now,
        later,
    }
}

/// How many answers at hand [`ReadyFirst`] gives in a row while lookups are in flight, before
/// it lets the runtime run (and read their sockets).
const YIELD_EVERY: u32 = 64;

/// The stream [`ready_first`] returns.
pub(crate) struct ReadyFirst<S: Stream, N, L, F> {
    input: Pin<Box<Fuse<S>>>,
    pending: Slots<F>,
    limit: usize,
    /// Answers at hand given in a row while lookups were in flight.
    streak: u32,
    now: N,
    later: L,
}

impl<S, O, N, L, F> Stream for ReadyFirst<S, N, L, F>
where
    S: Stream,
    N: FnMut(&S::Item) -> Option<O> + Unpin,
    L: FnMut(S::Item) -> F + Unpin,
    F: Future<Output = O>,
{
    type Item = O;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<O>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty()
                && let Poll::Ready(Some(output)) = this.pending.poll_next(cx)
            {
                return Poll::Ready(Some(output));
            }
            // Take items while there is room: an answer at hand goes out at once; the others'
            // futures are queued, and polled together at the top of the loop.
            let mut queued = false;
            while this.pending.len() < this.limit {
                if this.streak >= YIELD_EVERY {
                    this.streak = 0;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                match this.input.as_mut().poll_next(cx) {
                    Poll::Ready(Some(item)) => match (this.now)(&item) {
                        Some(output) => {
                            if !this.pending.is_empty() {
                                this.streak += 1;
                            }
                            return Poll::Ready(Some(output));
                        }
                        None => {
                            this.pending.push_with(|| (this.later)(item));
                            queued = true;
                        }
                    },
                    Poll::Ready(None) if this.pending.is_empty() => return Poll::Ready(None),
                    Poll::Ready(None) | Poll::Pending => break,
                }
            }
            if !queued {
                // The futures in flight were polled above, and the input is waited for.
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures::stream;

    use super::*;

    /// Even numbers answered at once, odd ones after a sleep; every item comes out once.
    #[tokio::test]
    async fn answers_at_hand_come_at_once_and_the_rest_after_their_lookup() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let results: Vec<u32> = ready_first(
            stream::iter(0..100u32),
            4,
            |n| (n % 2 == 0).then_some(*n),
            |n| {
                let (in_flight, most) = (Arc::clone(&in_flight), Arc::clone(&most));
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    n
                }
            },
        )
        .collect()
        .await;
        let mut sorted = results.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert!(
            most.load(Ordering::SeqCst) <= 4,
            "more than the limit in flight"
        );
        // The first results are the ones at hand, not held back behind the lookups.
        assert!(results[..4].iter().all(|n| n % 2 == 0), "{results:?}");
    }

    /// However many items, no more boxes than futures in flight at once: a box is used again
    /// once its future is done, and the futures in it give their outputs all the same.
    #[tokio::test]
    async fn boxes_are_used_again() {
        let mut stream = Box::pin(ready_first(
            stream::iter(0..1000u32),
            4,
            |_| None,
            |n| async move {
                tokio::task::yield_now().await;
                n * 2
            },
        ));
        let mut results = Vec::new();
        while let Some(n) = stream.next().await {
            results.push(n);
        }
        results.sort_unstable();
        assert_eq!(results, (0..1000).map(|n| n * 2).collect::<Vec<_>>());
        let boxes = stream.pending.allocated();
        assert!((1..=4).contains(&boxes), "{boxes} boxes for 1000 items");
    }

    /// A lookup under way completes while a long run of items is answered at once: the stream
    /// lets the runtime run between them (here, to wake the lookup), not after the input ends.
    #[tokio::test]
    async fn lookups_are_polled_between_answers_at_hand() {
        let items = stream::iter(std::iter::once(0u32).chain(1..=100_000));
        let mut results = Box::pin(ready_first(
            items,
            8,
            |n| (*n != 0).then_some(*n),
            |n| async move {
                tokio::task::yield_now().await;
                n
            },
        ));
        let mut position = None;
        let mut seen = 0;
        while let Some(n) = results.next().await {
            if n == 0 {
                position = Some(seen);
            }
            seen += 1;
        }
        assert_eq!(seen, 100_001);
        let position = position.expect("the lookup's result came out");
        assert!(
            position < 20_000,
            "the lookup waited for {position} answers at hand"
        );
    }

    /// An input that is not ready yet, and an empty one.
    #[tokio::test]
    async fn waits_for_its_input_and_ends_with_it() {
        let (sender, receiver) = tokio::sync::mpsc::channel::<u32>(4);
        let input = stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|n| (n, receiver))
        });
        let task = tokio::spawn(async move {
            for n in 0..10 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                sender.send(n).await.unwrap();
            }
        });
        let results: Vec<u32> = ready_first(input, 2, |n| Some(*n), |n| async move { n })
            .collect()
            .await;
        task.await.unwrap();
        assert_eq!(results, (0..10).collect::<Vec<_>>());
        let none: Vec<u32> = ready_first(
            stream::iter(Vec::<u32>::new()),
            2,
            |n| Some(*n),
            |n| async move { n },
        )
        .collect()
        .await;
        assert!(none.is_empty());
    }
}
