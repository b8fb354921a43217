//! A check's overall deadline, with a timer only where the resolver's own wake-ups cannot keep
//! it.
//!
//! A Tokio timer per check (registered, polled and cleared in the runtime's timer wheel) cost a
//! bulk scan about as much as building the check's query. A resolver that promises to wake a
//! pending lookup within some time ([`DnsResolver::wakes_within`]) needs none while the
//! deadline is further away than that: the lookup wakes the check first, and the deadline is
//! looked at again then. Only the last stretch before the deadline, or a resolver that promises
//! nothing, takes a timer.
//!
//! [`DnsResolver::wakes_within`]: crate::DnsResolver::wakes_within

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Room left for the resolver's wake-up to come late (the runtime's timer resolution and
/// scheduling): the timer is set once the deadline is nearer than the bound plus this.
const SLACK: Duration = Duration::from_millis(50);

/// A check's deadline, polled along with its work: see the module documentation.
///
/// Not a future wrapping the work: the work's future is pinned where the check keeps it, and
/// polled through [`Deadline::poll`], so that it is stored once (an async function would keep
/// its argument and its pinned copy side by side).
pub(crate) struct Deadline {
    at: Instant,
    /// The resolver's promise; `None` sets the timer at once, as `tokio::time::timeout_at`
    /// would.
    wakes_within: Option<Duration>,
    /// Boxed: most checks never set it, and their futures need not carry its room.
    timer: Option<Pin<Box<Sleep>>>,
    /// The time left at the first poll, which is at the start; later polls read the clock.
    first_poll: Option<Duration>,
}

impl Deadline {
    /// A deadline `within` after `started` (a time the caller has read already), first
    /// polled at `started`: the first look at it needs neither the clock nor a subtraction.
    pub(crate) fn new(started: Instant, within: Duration, wakes_within: Option<Duration>) -> Self {
        Deadline {
            at: started + within,
            wakes_within,
            timer: None,
            first_poll: Some(within),
        }
    }

    /// Polls `work`: its output, or `None` once the deadline has come first.
    pub(crate) fn poll<F: Future>(
        &mut self,
        work: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<F::Output>> {
        if let Poll::Ready(output) = work.poll(cx) {
            return Poll::Ready(Some(output));
        }
        if self.timer.is_none() {
            let left = match self.first_poll.take() {
                Some(left) => left,
                None => self.at.saturating_duration_since(Instant::now()),
            };
            if left.is_zero() {
                return Poll::Ready(None);
            }
            match self.wakes_within {
                // The work wakes this task before the deadline: no timer yet.
                Some(bound) if left > bound.saturating_add(SLACK) => return Poll::Pending,
                _ => self.timer = Some(Box::pin(tokio::time::sleep_until(self.at))),
            }
        }
        match self.timer.as_mut().map(|timer| timer.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `work`'s output, or `None` if the deadline `within` from now came first.
    async fn until<F: Future>(
        work: F,
        within: Duration,
        wakes_within: Option<Duration>,
    ) -> Option<F::Output> {
        let mut work = std::pin::pin!(work);
        let mut deadline = Deadline::new(Instant::now(), within, wakes_within);
        std::future::poll_fn(|cx| deadline.poll(work.as_mut(), cx)).await
    }

    /// Work that wakes its task every `every`, and is done after `rounds` wake-ups.
    async fn waking(every: Duration, rounds: u32) -> u32 {
        for _ in 0..rounds {
            tokio::time::sleep(every).await;
        }
        rounds
    }

    #[tokio::test(start_paused = true)]
    async fn work_done_before_the_deadline_gives_its_output() {
        let within = Duration::from_secs(10);
        let bound = Some(Duration::from_secs(1));
        let output = until(waking(Duration::from_millis(900), 5), within, bound).await;
        assert_eq!(output, Some(5));
        assert_eq!(until(async { 7 }, within, None).await, Some(7));
    }

    /// Work that keeps its promise but never ends: the deadline holds, to the timer's
    /// resolution, whether or not a bound was promised.
    #[tokio::test(start_paused = true)]
    async fn the_deadline_holds_with_and_without_a_bound() {
        for bound in [None, Some(Duration::from_secs(1))] {
            let start = Instant::now();
            let deadline = start + Duration::from_secs(10);
            let never = waking(Duration::from_millis(700), u32::MAX);
            let within = Duration::from_secs(10);
            assert_eq!(until(never, within, bound).await, None, "{bound:?}");
            let late = Instant::now() - deadline;
            assert!(late <= Duration::from_millis(1), "{bound:?}: {late:?} late");
        }
    }

    /// Work that never wakes its task: with no bound promised, the timer ends it at the
    /// deadline; with a bound longer than the time left, too.
    #[tokio::test(start_paused = true)]
    async fn work_that_never_wakes_is_ended_by_the_timer() {
        for bound in [None, Some(Duration::from_secs(20))] {
            let deadline = Instant::now() + Duration::from_secs(10);
            let within = Duration::from_secs(10);
            let output = until(std::future::pending::<()>(), within, bound).await;
            assert_eq!(output, None, "{bound:?}");
            assert!(Instant::now() >= deadline);
        }
    }

    /// A deadline of no time ends work that is not ready at once; one that has passed by a
    /// later poll ends the work then, whether or not a bound was promised.
    #[tokio::test(start_paused = true)]
    async fn a_past_deadline_ends_pending_work() {
        let bound = Some(Duration::from_secs(1));
        let pending = std::future::pending::<()>;
        assert_eq!(until(pending(), Duration::ZERO, bound).await, None);
        assert_eq!(until(async { 1 }, Duration::ZERO, bound).await, Some(1));
        for bound in [None, Some(Duration::from_secs(1))] {
            let mut work = std::pin::pin!(pending());
            let mut deadline = Deadline::new(Instant::now(), Duration::from_secs(2), bound);
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(deadline.poll(work.as_mut(), &mut cx).is_pending());
            tokio::time::advance(Duration::from_secs(3)).await;
            let polled = deadline.poll(work.as_mut(), &mut cx);
            assert!(matches!(polled, Poll::Ready(None)), "{bound:?}");
        }
    }
}
