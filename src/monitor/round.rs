//! One round of checks over the watched targets, fed to a tracker as reports stream in.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use ipnet::IpNet;

use crate::checker::Checker;
use crate::outcome::Report;
use crate::resolver::DnsResolver;
use crate::target::{Target, TargetSpec};

use super::status::PairStatus;
use super::time::rfc3339;
use super::tracker::{Event, Tracker};

/// Per watched target spec and list: how many targets were checked, listed, in trouble.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::SpecCounts;
///
/// let counts = SpecCounts { spec: "192.0.2.0/24".into(), list: "bl".into(), ..Default::default() };
/// assert_eq!(counts.checked, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SpecCounts {
    /// The spec as written: an address, a network (`192.0.2.0/24`) or a domain.
    pub spec: String,
    /// The list's name.
    pub list: String,
    /// Targets of the spec that this list was asked about.
    pub checked: u64,
    /// Targets the list lists (as seen this round, confirmed or not).
    pub listed: u64,
    /// Targets the list gave trouble for (as seen this round).
    pub trouble: u64,
}

/// What one round did.
///
/// # Examples
///
/// See [`Watcher`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Round {
    /// When the round started.
    pub started: SystemTime,
    /// The start as stamped on its events (RFC 3339).
    pub at: String,
    /// How long the round took.
    pub elapsed: Duration,
    /// The changes the round confirmed.
    pub events: Vec<Event>,
    /// Per spec and list counts, spec by spec in the order given, lists in checker order.
    pub counts: Vec<SpecCounts>,
    /// Targets checked.
    pub checked: u64,
    /// False if the round was stopped before every target was checked.
    pub complete: bool,
}

/// Runs rounds of checks over a fixed set of targets and tracks their changes.
///
/// Targets are [`TargetSpec`]s: addresses, domains and whole networks, expanded lazily each
/// round and checked through [`Checker::check_stream`], so a round over a `/16` holds only
/// the reports in flight, never all of them. The [`Tracker`] it feeds keeps one compact
/// status per (target, list) pair; [`Watcher::tracker`] gives an embedding program (an
/// exporter, a dashboard) every pair's confirmed status between rounds.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use dnsbl_check::monitor::{EventKind, TrackerConfig, Watcher};
/// use dnsbl_check::{Answer, Checker, DnsList, DnsResolver, ListKind, LookupError};
///
/// /// Lists 192.0.2.7 with code 127.0.0.2, nothing else.
/// struct Table;
///
/// impl DnsResolver for Table {
///     async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
///         Ok(match name {
///             "7.2.0.192.bl.example." => Answer::Records {
///                 records: vec![Ipv4Addr::new(127, 0, 0, 2)],
///                 ttl: 60,
///             },
///             _ => Answer::NoRecords { nxdomain: true, negative_ttl: None },
///         })
///     }
///
///     async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, LookupError> {
///         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = DnsList::from_spec("bl.example", ListKind::Ip)?;
/// let checker = Checker::builder().list(list).health_checks(false).build_with(Table)?;
/// let config = TrackerConfig { report_baseline: true, ..TrackerConfig::default() };
/// let mut watcher = Watcher::new(checker, vec!["192.0.2.0/28".parse()?], config);
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
/// let round = runtime.block_on(watcher.run_round());
/// assert!(round.complete);
/// assert_eq!(round.checked, 16);
/// assert_eq!(round.events.len(), 1); // the baseline listing, as asked
/// assert_eq!(round.events[0].event, EventKind::Listed);
/// assert_eq!((round.counts[0].checked, round.counts[0].listed), (16, 1));
/// assert_eq!(watcher.tracker().len(), 16);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Watcher<R> {
    checker: Checker<R>,
    specs: Vec<TargetSpec>,
    index: SpecIndex,
    tracker: Tracker,
}

impl<R: DnsResolver> Watcher<R> {
    /// Watches `specs` with `checker`, tracking with a new tracker.
    pub fn new(
        checker: Checker<R>,
        specs: Vec<TargetSpec>,
        config: super::tracker::TrackerConfig,
    ) -> Self {
        Watcher::with_tracker(checker, specs, Tracker::new(config))
    }

    /// Watches `specs` with `checker`, going on from `tracker` (for instance one restored
    /// from a state file).
    pub fn with_tracker(checker: Checker<R>, specs: Vec<TargetSpec>, tracker: Tracker) -> Self {
        let index = SpecIndex::new(&specs);
        Watcher {
            checker,
            specs,
            index,
            tracker,
        }
    }

    /// The tracker: every pair's confirmed status.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// The tracker, for a store to save what a round changed.
    pub fn tracker_mut(&mut self) -> &mut Tracker {
        &mut self.tracker
    }

    /// Gives the tracker back, to go on with another checker (other lists, another resolver).
    pub fn into_tracker(self) -> Tracker {
        self.tracker
    }

    /// The checker.
    pub fn checker(&self) -> &Checker<R> {
        &self.checker
    }

    /// Checks every target once and returns what changed.
    pub async fn run_round(&mut self) -> Round {
        self.run_round_until(std::future::pending()).await
    }

    /// Like [`Watcher::run_round`], but stops early when `stop` completes (a signal, a
    /// shutdown request). The targets checked until then are tracked as usual; the round is
    /// marked incomplete.
    pub async fn run_round_until(&mut self, stop: impl Future<Output = ()>) -> Round {
        let started = SystemTime::now();
        let clock = Instant::now();
        let at = rfc3339(started);
        let lists: Vec<String> = self.checker.lists().map(|l| l.name().to_owned()).collect();
        let mut counts: Vec<SpecCounts> = self
            .specs
            .iter()
            .flat_map(|spec| {
                let label = spec_label(spec);
                lists.iter().map(move |list| SpecCounts {
                    spec: label.clone(),
                    list: list.clone(),
                    ..SpecCounts::default()
                })
            })
            .collect();
        let targets = self.specs.clone().into_iter().flatten();
        let mut reports = std::pin::pin!(self.checker.check_iter(targets));
        let mut stop = std::pin::pin!(stop);
        let mut events = Vec::new();
        let mut checked = 0;
        let complete = loop {
            let report = tokio::select! {
                biased;
                () = &mut stop => break false,
                report = reports.next() => report,
            };
            let Some(report) = report else { break true };
            checked += 1;
            self.take_report(&report, &at, &lists, &mut counts, &mut events);
        };
        Round {
            started,
            at,
            elapsed: clock.elapsed(),
            events,
            counts,
            checked,
            complete,
        }
    }

    fn take_report(
        &mut self,
        report: &Report,
        at: &str,
        lists: &[String],
        counts: &mut [SpecCounts],
        events: &mut Vec<Event>,
    ) {
        let spec = self.index.find(&report.target);
        for (list_index, result) in report.results.iter().enumerate() {
            self.tracker.observe(&report.target, result, at, events);
            let (Some(spec), Some(status)) = (spec, PairStatus::from_outcome(&result.outcome))
            else {
                continue;
            };
            let counts = &mut counts[spec * lists.len() + list_index];
            counts.checked += 1;
            counts.listed += u64::from(matches!(status, PairStatus::Listed(_)));
            counts.trouble += u64::from(status.is_trouble());
        }
    }
}

/// The spec as a user wrote it.
fn spec_label(spec: &TargetSpec) -> String {
    match spec {
        TargetSpec::One(target) => target.to_string(),
        TargetSpec::Network(net) => net.to_string(),
    }
}

/// Finds which spec a target came from: single targets by hash, networks by a scan (there
/// are few of them).
#[derive(Debug)]
struct SpecIndex {
    single: HashMap<Target, usize>,
    networks: Vec<(IpNet, usize)>,
}

impl SpecIndex {
    fn new(specs: &[TargetSpec]) -> Self {
        let mut index = SpecIndex {
            single: HashMap::new(),
            networks: Vec::new(),
        };
        for (i, spec) in specs.iter().enumerate() {
            match spec {
                TargetSpec::One(target) => {
                    index.single.entry(target.clone()).or_insert(i);
                }
                TargetSpec::Network(net) => index.networks.push((*net, i)),
            }
        }
        index
    }

    fn find(&self, target: &Target) -> Option<usize> {
        if let Some(&i) = self.single.get(target) {
            return Some(i);
        }
        let Target::Ip(addr) = target else {
            return None;
        };
        self.networks
            .iter()
            .find(|(net, _)| net.contains(addr))
            .map(|&(_, i)| i)
    }
}
