//! What both transports remember about each name server: whether it answers, how fast,
//! and when to try it again after it stopped answering.
//!
//! A server that times out (or whose port is confirmed closed) is backed off: for the next
//! second, then 2, 4, ... up to a minute, queries go to the other servers first. When the
//! back-off ends, one query at a time (a probe) asks it first again; an answer ends the
//! back-off, another failure doubles it. Queries already in flight to a server when it is
//! backed off do not extend the back-off. This is what unbound's infrastructure cache and
//! hickory's name server pool do, simplified to the few servers a list checker is given.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::resolver::{LookupError, LookupErrorKind};

/// The first back-off; each further failure of a probe doubles it.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The health record of one name server.
#[derive(Debug)]
pub(crate) struct Health {
    epoch: Instant,
    /// Smoothed round-trip time in microseconds (0: not measured yet).
    srtt_us: AtomicU32,
    /// How many back-offs in a row (0: the server is up).
    level: AtomicU32,
    /// Until when the server is backed off, in milliseconds since `epoch`.
    down_until: AtomicU64,
    /// When the current probe started, in milliseconds since `epoch` plus one; 0 for none.
    probe_since: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            epoch: Instant::now(),
            srtt_us: AtomicU32::new(0),
            level: AtomicU32::new(0),
            down_until: AtomicU64::new(0),
            probe_since: AtomicU64::new(0),
        }
    }
}

/// How a query may use a server, from its health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Up: ask it in turn.
    Up,
    /// Backed off, and this query is the one probe that asks it first.
    Probe,
    /// Backed off: ask it only when every other server failed.
    Down,
}

impl Standing {
    /// Where a server of this standing comes in the order a query asks servers: probes first,
    /// then servers that are up, then those backed off.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Standing::Probe => 0,
            Standing::Up => 1,
            Standing::Down => 2,
        }
    }
}

/// The tries of one query over servers in `order` (from [`Health::standing`], best first):
/// each server at least once, `retries` tries after the first in all, going round the order
/// again; a server asked again is asked as [`Standing::Up`] (it is no probe twice). Each try
/// comes with its number, from 0.
pub(crate) fn tries(
    order: &[(usize, Standing)],
    retries: usize,
) -> impl Iterator<Item = (usize, usize, Standing)> + '_ {
    let count = (retries + 1).max(order.len());
    (0..count).map(move |attempt| {
        let (index, standing) = order[attempt % order.len()];
        let standing = if attempt < order.len() {
            standing
        } else {
            Standing::Up
        };
        (attempt, index, standing)
    })
}

impl Health {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether the server is up, or this query should probe it, or it is backed off.
    /// `probe_expiry` is how long a probe may run (the query timeout): a probe that never
    /// ended (its lookup was dropped) does not block the next one.
    pub(crate) fn standing(&self, probe_expiry: Duration) -> Standing {
        if self.level.load(Ordering::Relaxed) == 0 {
            return Standing::Up;
        }
        let now = self.now_ms();
        if now < self.down_until.load(Ordering::Relaxed) {
            return Standing::Down;
        }
        let since = self.probe_since.load(Ordering::Relaxed);
        let expired = since == 0 || now + 1 >= since + probe_expiry.as_millis() as u64;
        if expired
            && self
                .probe_since
                .compare_exchange(since, now + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Standing::Probe
        } else {
            Standing::Down
        }
    }

    /// The server answered (any DNS message: it is alive), after `rtt` if it was measured.
    pub(crate) fn answered(&self, rtt: Option<Duration>) {
        if let Some(rtt) = rtt {
            let rtt = u32::try_from(rtt.as_micros()).unwrap_or(u32::MAX).max(1);
            let srtt = self.srtt_us.load(Ordering::Relaxed);
            let smoothed = if srtt == 0 {
                rtt
            } else {
                ((u64::from(srtt) * 7 + u64::from(rtt)) / 8) as u32
            };
            self.srtt_us.store(smoothed, Ordering::Relaxed);
        }
        if self.level.load(Ordering::Relaxed) != 0 {
            self.level.store(0, Ordering::Relaxed);
            self.down_until.store(0, Ordering::Relaxed);
            self.probe_since.store(0, Ordering::Relaxed);
        }
    }

    /// The server did not answer (timeout, or its port is confirmed closed). `standing` is
    /// how the failed query used it.
    pub(crate) fn failed(&self, standing: Standing) {
        let level = self.level.load(Ordering::Relaxed);
        // A query sent before the back-off began says nothing new.
        if level != 0 && standing != Standing::Probe {
            return;
        }
        let level = (level + 1).min(16);
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << (level - 1).min(6))
            .min(MAX_BACKOFF);
        self.level.store(level, Ordering::Relaxed);
        self.down_until.store(
            self.now_ms() + backoff.as_millis() as u64,
            Ordering::Relaxed,
        );
        self.probe_since.store(0, Ordering::Relaxed);
    }

    /// The smoothed round-trip time, if measured.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        match self.srtt_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(u64::from(us))),
        }
    }

    /// Whether the server is backed off now.
    pub(crate) fn is_down(&self) -> bool {
        self.level.load(Ordering::Relaxed) != 0
    }
}

/// Whether `error`, from the try numbered `attempt` (from 0) over `servers` name servers, ends
/// the fail-over: a server that is alive but cannot or will not answer (SERVFAIL, REFUSED,
/// another response code) is asked no more once every server has been tried, and a missing
/// runtime is the same everywhere. Anything else is per server, and worth another try.
pub(crate) fn is_final(error: &LookupError, attempt: usize, servers: usize) -> bool {
    match error.kind() {
        LookupErrorKind::ServFail | LookupErrorKind::Refused | LookupErrorKind::ResponseCode(_) => {
            attempt + 1 >= servers
        }
        LookupErrorKind::Config => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_server_is_backed_off_then_probed_once() {
        let health = Health::default();
        let expiry = Duration::from_secs(5);
        assert_eq!(health.standing(expiry), Standing::Up);
        health.failed(Standing::Up);
        assert_eq!(health.standing(expiry), Standing::Down);
        // Queries in flight before the back-off do not extend it.
        health.failed(Standing::Up);
        assert_eq!(health.level.load(Ordering::Relaxed), 1);
        // The back-off over: one probe, the others wait.
        health.down_until.store(0, Ordering::Relaxed);
        assert_eq!(health.standing(expiry), Standing::Probe);
        assert_eq!(health.standing(expiry), Standing::Down);
        health.failed(Standing::Probe);
        assert_eq!(health.level.load(Ordering::Relaxed), 2);
        assert!(health.down_until.load(Ordering::Relaxed) >= 2000);
        health.answered(None);
        assert_eq!(health.srtt(), None);
        assert_eq!(health.standing(expiry), Standing::Up);
        health.failed(Standing::Up);
        health.answered(Some(Duration::from_millis(4)));
        assert_eq!(health.standing(expiry), Standing::Up);
        assert_eq!(health.srtt(), Some(Duration::from_millis(4)));
        assert!(!health.is_down());
    }

    #[test]
    fn every_server_is_tried_once_and_retries_go_round() {
        let order = [(1, Standing::Probe), (0, Standing::Up)];
        let once: Vec<_> = tries(&order, 0).collect();
        assert_eq!(once, [(0, 1, Standing::Probe), (1, 0, Standing::Up)]);
        let more: Vec<_> = tries(&order, 3).collect();
        assert_eq!(
            more,
            [
                (0, 1, Standing::Probe),
                (1, 0, Standing::Up),
                (2, 1, Standing::Up),
                (3, 0, Standing::Up)
            ]
        );
    }
}
