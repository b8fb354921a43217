//! Per-list statistics: how many checks each list answered, what they came to, and how long
//! its queries took.
//!
//! Every check of a target against a list ends in one [`OutcomeKind`], counted in that list's
//! [`OutcomeCounts`]; when a query was sent, its latency goes into the list's
//! [`LatencyHistogram`]. The counters are atomics updated with relaxed ordering, so keeping
//! them costs a few uncontended additions per query and no lock. [`Checker::stats`] reads
//! them, with each list's health, for any program that wants to show them (the Prometheus
//! exporter example does).
//!
//! [`Checker::stats`]: crate::Checker::stats

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::health::ListHealth;
pub use crate::outcome::OutcomeKind;
use crate::zone::Zone;

/// The upper bounds, in seconds, of the latency histogram's buckets: 1 ms to 10 s, which
/// covers a cache hit on the local resolver up to the slowest answer a resolver still waits
/// for. Slower queries fall in the last, unbounded bucket.
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets including the unbounded last one.
const BUCKETS: usize = LATENCY_BUCKETS.len() + 1;

/// One list's statistics since the checker was built.
///
/// # Examples
///
/// See [`Checker::stats`](crate::Checker::stats).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ListStats {
    /// The list's display name.
    pub list: String,
    /// The list's zone (shown by its public name only).
    pub zone: Zone,
    /// The list's health as last probed.
    pub health: ListHealth,
    /// How many checks ended in each kind of outcome.
    pub outcomes: OutcomeCounts,
    /// How long the queries took: one observation per check that sent a query.
    pub latency: LatencyHistogram,
}

impl ListStats {
    /// The queries sent to the list for checks: one A query per check that sent one (the
    /// count a list's usage terms limit). TXT lookups for listed targets and the test-point
    /// probes come on top.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use dnsbl_check::{Answer, Checker, DnsList, DnsResolver, ListKind, LookupError};
    ///
    /// struct Nothing;
    ///
    /// impl DnsResolver for Nothing {
    ///     async fn lookup_a(&self, _: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
    ///         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
    ///     }
    ///     async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, LookupError> {
    ///         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = DnsList::from_spec("bl.example", ListKind::Ipv4)?;
    /// let checker = Checker::builder().list(list).health_checks(false).build_with(Nothing)?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    /// runtime.block_on(checker.check("192.0.2.1".parse()?));
    /// runtime.block_on(checker.check("2001:db8::1".parse()?)); // not taken: no query
    /// assert_eq!(checker.stats()[0].queries(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn queries(&self) -> u64 {
        self.latency.count()
    }
}

/// How many checks ended in each [`OutcomeKind`].
///
/// # Examples
///
/// ```
/// use dnsbl_check::stats::OutcomeCounts;
/// use dnsbl_check::stats::OutcomeKind;
///
/// let counts = OutcomeCounts::default();
/// assert_eq!(counts.get(OutcomeKind::Listed), 0);
/// assert_eq!(counts.iter().count(), OutcomeKind::ALL.len());
/// assert_eq!(counts.total(), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeCounts([u64; OutcomeKind::ALL.len()]);

impl OutcomeCounts {
    /// The count of one kind.
    pub fn get(&self, kind: OutcomeKind) -> u64 {
        self.0[kind as usize]
    }

    /// Every kind with its count (zeros included), in the order of [`OutcomeKind::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (OutcomeKind, u64)> + '_ {
        OutcomeKind::ALL.iter().map(|&kind| (kind, self.get(kind)))
    }

    /// All checks counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The checks that ended in trouble.
    pub fn trouble(&self) -> u64 {
        self.iter()
            .filter(|(kind, _)| kind.is_trouble())
            .map(|(_, count)| count)
            .sum()
    }
}

/// A histogram of query latencies, with the fixed buckets of [`LATENCY_BUCKETS`].
///
/// # Examples
///
/// ```
/// use dnsbl_check::stats::LATENCY_BUCKETS;
/// use dnsbl_check::stats::LatencyHistogram;
///
/// let histogram = LatencyHistogram::default();
/// let buckets: Vec<(f64, u64)> = histogram.cumulative_buckets().collect();
/// assert_eq!(buckets.len(), LATENCY_BUCKETS.len());
/// assert_eq!(histogram.count(), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: [u64; BUCKETS],
    sum_micros: u64,
}

impl LatencyHistogram {
    /// Each bound of [`LATENCY_BUCKETS`] (in seconds) with the number of observations at or
    /// below it, as Prometheus histograms count. The unbounded bucket is [`Self::count`].
    pub fn cumulative_buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        LATENCY_BUCKETS
            .iter()
            .zip(&self.counts)
            .scan(0, |total, (&bound, &count)| {
                *total += count;
                Some((bound, *total))
            })
    }

    /// How many observations there are.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The sum of all observed latencies (to the microsecond).
    pub fn sum(&self) -> Duration {
        Duration::from_micros(self.sum_micros)
    }
}

/// The live counters of one list, shared by every check.
///
/// Kept in a few shards, each on cache lines of its own, and each thread adds to one of
/// them: checks running on several threads (a bulk scan over local mirrors) then do not take
/// turns at the same cache line for every count. A snapshot adds the shards up.
#[derive(Debug, Default)]
pub(crate) struct StatsCell {
    shards: [Shard; SHARDS],
}

/// Shards of a [`StatsCell`]: threads beyond this many share them.
const SHARDS: usize = 4;

/// One shard's counters, aligned so that no two shards share a cache line (128 bytes: the
/// line pair that adjacent-line prefetchers fetch together).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    outcomes: [AtomicU64; OutcomeKind::ALL.len()],
    latency: [AtomicU64; BUCKETS],
    latency_sum_micros: AtomicU64,
}

/// The shard the current thread counts in: threads take the shards in turn as they first
/// count.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|index| *index)
}

impl StatsCell {
    /// Counts one check, and its query's latency if a query was sent.
    pub(crate) fn record(&self, kind: OutcomeKind, latency: Option<Duration>) {
        let shard = &self.shards[shard_index()];
        shard.outcomes[kind as usize].fetch_add(1, Ordering::Relaxed);
        if let Some(latency) = latency {
            let seconds = latency.as_secs_f64();
            let bucket = LATENCY_BUCKETS
                .iter()
                .position(|&bound| seconds <= bound)
                .unwrap_or(LATENCY_BUCKETS.len());
            shard.latency[bucket].fetch_add(1, Ordering::Relaxed);
            let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
            shard
                .latency_sum_micros
                .fetch_add(micros, Ordering::Relaxed);
        }
    }

    /// The counts so far. Each counter is read on its own, so a snapshot taken while checks
    /// run may be a few queries apart between counters, never wrong within one.
    pub(crate) fn snapshot(&self) -> (OutcomeCounts, LatencyHistogram) {
        (
            OutcomeCounts(std::array::from_fn(|kind| {
                self.total(|shard| &shard.outcomes[kind])
            })),
            LatencyHistogram {
                counts: std::array::from_fn(|bucket| self.total(|shard| &shard.latency[bucket])),
                sum_micros: self.total(|shard| &shard.latency_sum_micros),
            },
        )
    }

    /// One counter, added up over the shards.
    fn total(&self, counter: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards
            .iter()
            .map(|shard| counter(shard).load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{InvalidAnswer, OperatorError, Outcome, SkipReason, Unhealthy};
    use crate::resolver::{LookupError, LookupErrorKind};

    #[test]
    fn every_kind_has_its_own_slot_and_name() {
        for (index, kind) in OutcomeKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, index);
        }
        let names: Vec<&str> = OutcomeKind::ALL.iter().map(|kind| kind.as_str()).collect();
        // Metric labels, JSON values and state-file words: these must never change.
        assert_eq!(
            names,
            [
                "listed",
                "not_listed",
                "timeout",
                "servfail",
                "refused",
                "response_code",
                "network",
                "local_resource",
                "protocol",
                "config",
                "list_error",
                "invalid",
                "unhealthy",
                "not_counted",
                "no_data",
            ]
        );
        for kind in OutcomeKind::ALL {
            assert_eq!(OutcomeKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!(OutcomeKind::parse("nonsense"), None);
    }

    #[test]
    fn outcomes_map_to_kinds() {
        let failed = |kind| Outcome::Failed(LookupError::new(kind));
        let cases = [
            (Outcome::NotListed, Some(OutcomeKind::NotListed)),
            (failed(LookupErrorKind::Timeout), Some(OutcomeKind::Timeout)),
            (failed(LookupErrorKind::Network), Some(OutcomeKind::Network)),
            (
                failed(LookupErrorKind::Protocol),
                Some(OutcomeKind::Protocol),
            ),
            (failed(LookupErrorKind::Config), Some(OutcomeKind::Config)),
            (
                failed(LookupErrorKind::Unsupported),
                Some(OutcomeKind::Config),
            ),
            (
                failed(LookupErrorKind::ServFail),
                Some(OutcomeKind::ServFail),
            ),
            (failed(LookupErrorKind::Refused), Some(OutcomeKind::Refused)),
            (
                failed(LookupErrorKind::ResponseCode(4)),
                Some(OutcomeKind::ResponseCode),
            ),
            (
                failed(LookupErrorKind::LocalResource),
                Some(OutcomeKind::LocalResource),
            ),
            (
                Outcome::ListError(OperatorError {
                    codes: vec![],
                    meaning: String::new(),
                }),
                Some(OutcomeKind::ListError),
            ),
            (
                Outcome::Invalid(InvalidAnswer { codes: vec![] }),
                Some(OutcomeKind::Invalid),
            ),
            (
                Outcome::Skipped(SkipReason::Unhealthy(Unhealthy::ListsEverything)),
                Some(OutcomeKind::Unhealthy),
            ),
            (Outcome::Skipped(SkipReason::NotApplicable("x")), None),
        ];
        for (outcome, kind) in cases {
            assert_eq!(OutcomeKind::of(&outcome), kind, "{outcome:?}");
            assert_eq!(
                kind.is_some_and(OutcomeKind::is_trouble),
                outcome.is_trouble(),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn latencies_fall_in_their_buckets() {
        let cell = StatsCell::default();
        cell.record(OutcomeKind::NotListed, Some(Duration::from_micros(500)));
        cell.record(OutcomeKind::NotListed, Some(Duration::from_millis(1)));
        cell.record(OutcomeKind::Listed, Some(Duration::from_millis(30)));
        cell.record(OutcomeKind::Timeout, Some(Duration::from_secs(11)));
        cell.record(OutcomeKind::Unhealthy, None);
        let (outcomes, latency) = cell.snapshot();
        assert_eq!(outcomes.get(OutcomeKind::NotListed), 2);
        assert_eq!(outcomes.get(OutcomeKind::Listed), 1);
        assert_eq!(outcomes.total(), 5);
        assert_eq!(outcomes.trouble(), 2);
        assert_eq!(latency.count(), 4);
        let buckets: Vec<(f64, u64)> = latency.cumulative_buckets().collect();
        assert_eq!(buckets[0], (0.001, 2)); // 0.5 ms and exactly 1 ms
        assert_eq!(buckets[3], (0.01, 2));
        assert_eq!(buckets[4], (0.025, 2));
        assert_eq!(buckets[5], (0.05, 3));
        assert_eq!(buckets[12], (10.0, 3)); // 11 s is only in the unbounded bucket
        assert_eq!(
            latency.sum(),
            Duration::from_micros(500 + 1_000 + 30_000 + 11_000_000)
        );
    }

    #[test]
    fn counts_from_many_threads_add_up_in_the_snapshot() {
        let cell = StatsCell::default();
        // More threads than shards: some share one.
        std::thread::scope(|scope| {
            for _ in 0..SHARDS + 3 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        cell.record(OutcomeKind::Listed, Some(Duration::from_millis(2)));
                        cell.record(OutcomeKind::NotListed, None);
                    }
                });
            }
        });
        let (outcomes, latency) = cell.snapshot();
        let threads = (SHARDS + 3) as u64;
        assert_eq!(outcomes.get(OutcomeKind::Listed), 1000 * threads);
        assert_eq!(outcomes.get(OutcomeKind::NotListed), 1000 * threads);
        assert_eq!(latency.counts.iter().sum::<u64>(), 1000 * threads);
        assert_eq!(latency.sum_micros, 2000 * 1000 * threads);
    }
}
