//! One round of checks over the watched targets, fed to a tracker as reports stream in.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use ipnet::IpNet;

use crate::checker::Checker;
use crate::hosts::{DerivedAddress, HostSource, HostTrouble, expand};
use crate::outcome::{ListResult, Report};
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
    /// Lookups that failed while finding the addresses of watched domains (with
    /// [`Watcher::expand_domains`]): those addresses were not checked this round.
    pub host_trouble: Vec<HostTrouble>,
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
    tracker: Tracker,
    expand: Vec<HostSource>,
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
    /// from a state file). Events get lookup URLs from the checker's lists.
    pub fn with_tracker(checker: Checker<R>, specs: Vec<TargetSpec>, mut tracker: Tracker) -> Self {
        tracker.lookup_urls_from(checker.lists());
        Watcher {
            checker,
            specs,
            tracker,
            expand: Vec::new(),
        }
    }

    /// Also watches the addresses of each watched domain: its mail servers
    /// ([`HostSource::Mx`]) or its own addresses ([`HostSource::Resolve`]), looked up again
    /// at the start of every round, so that a new mail server is watched from the round it
    /// appears in. Their events carry `via` and `host`; their counts go to the domain's spec.
    /// Called again with another source, watches those addresses too (`Mx` and `Spf`
    /// together are a domain's whole mail footprint); an address found twice is checked once.
    pub fn expand_domains(mut self, source: HostSource) -> Self {
        if !self.expand.contains(&source) {
            self.expand.push(source);
        }
        self
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
    /// marked incomplete. A target whose report would confirm a delisting is tracked only
    /// once its recheck is done, after the round's other checks: stopped before that, it
    /// counts as not checked, and no delisting is announced for it.
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
        let (derived, host_trouble) = self.expand_domains_now().await;
        let index = SpecIndex::new(&self.specs, &derived);
        // Each address once per round: one given as a target, or found from two domains, is
        // checked (and counted towards confirmation) once.
        let extra: Vec<Target> = derived
            .iter()
            .enumerate()
            .map(|(d, (spec, found))| (Target::ip(found.addr), Some((*spec, Some(d)))))
            .filter(|(target, origin)| index.find(target) == *origin)
            .map(|(target, _)| target)
            .collect();
        let targets = self.specs.clone().into_iter().flatten().chain(extra);
        let mut reports = std::pin::pin!(self.checker.check_iter(targets));
        let mut stop = std::pin::pin!(stop);
        let mut events = Vec::new();
        let mut checked = 0;
        // Taken into the round: tracked, counted, and its events given their origin.
        macro_rules! take {
            ($report:expr) => {{
                let report = $report;
                checked += 1;
                let first = events.len();
                let origin = index.find(&report.target);
                for (list_index, result) in report.results.iter().enumerate() {
                    self.tracker
                        .observe(&report.target, result, &at, &mut events);
                    if let Some((spec, _)) = origin {
                        count(&mut counts[spec * lists.len() + list_index], result);
                    }
                }
                if let Some((_, Some(found))) = origin {
                    let found = &derived[found].1;
                    for event in &mut events[first..] {
                        event.via = Some(found.via.clone());
                        event.host = Some(found.host.clone());
                    }
                }
            }};
        }
        // Reports that would confirm a delisting wait for the round's other checks: their
        // recheck may wait for a health probe that one of those checks runs, and those run
        // only while the round reads their reports.
        let mut doubtful = Vec::new();
        let mut complete = loop {
            let report = tokio::select! {
                biased;
                () = &mut stop => break false,
                report = reports.next() => report,
            };
            let Some(report) = report else { break true };
            if self.doubtful(&report) {
                doubtful.push(report);
            } else {
                take!(report);
            }
        };
        for report in doubtful {
            if !complete {
                break;
            }
            let report = tokio::select! {
                biased;
                () = &mut stop => {
                    complete = false;
                    break;
                }
                report = self.confirm_delistings(report) => report,
            };
            take!(report);
        }
        Round {
            started,
            at,
            elapsed: clock.elapsed(),
            events,
            counts,
            checked,
            complete,
            host_trouble,
        }
    }

    /// Checks again, together with a fresh probe of the list's test points, every pair of
    /// `report` that would confirm a delisting ([`Tracker::would_delist`]), and puts the
    /// second answer in its place: a "not listed" from a list that is no longer seen to work
    /// (a resolver gone blind) becomes trouble, and no delisting is announced.
    async fn confirm_delistings(&self, mut report: Report) -> Report {
        let doubtful: Vec<&str> = self.doubtful_lists(&report).collect();
        if doubtful.is_empty() {
            return report;
        }
        let again = self.checker.recheck(report.target.clone(), &doubtful).await;
        for result in again.results {
            if let Some(slot) = report.results.iter_mut().find(|r| r.list == result.list) {
                *slot = result;
            }
        }
        report
    }

    /// Whether `report` holds a result that would confirm a delisting.
    fn doubtful(&self, report: &Report) -> bool {
        self.doubtful_lists(report).next().is_some()
    }

    /// The lists of `report` whose result would confirm a delisting.
    fn doubtful_lists<'a>(&'a self, report: &'a Report) -> impl Iterator<Item = &'a str> {
        report
            .results
            .iter()
            .filter(|result| self.tracker.would_delist(&report.target, result))
            .map(|result| &*result.list)
    }

    /// Looks up the addresses of every watched domain, if asked to: each with the index of
    /// the domain's spec.
    async fn expand_domains_now(&self) -> (Vec<(usize, DerivedAddress)>, Vec<HostTrouble>) {
        let resolver = self.checker.resolver();
        let domains = self
            .specs
            .iter()
            .enumerate()
            .filter_map(|(i, spec)| match spec {
                TargetSpec::One(Target::Domain(domain)) => Some((i, domain)),
                _ => None,
            });
        let expansions = futures::future::join_all(domains.flat_map(|(i, domain)| {
            self.expand
                .iter()
                .map(move |&source| async move { (i, expand(resolver, domain, source).await) })
        }))
        .await;
        let mut derived = Vec::new();
        let mut trouble = Vec::new();
        for (i, expansion) in expansions {
            derived.extend(expansion.addresses.into_iter().map(|found| (i, found)));
            trouble.extend(expansion.trouble);
        }
        (derived, trouble)
    }
}

/// Adds one list's result for one target to its spec's counts.
fn count(counts: &mut SpecCounts, result: &ListResult) {
    let Some(status) = PairStatus::from_outcome(&result.outcome) else {
        return;
    };
    counts.checked += 1;
    counts.listed += u64::from(matches!(status, PairStatus::Listed(_)));
    counts.trouble += u64::from(status.is_trouble());
}

/// The spec as a user wrote it.
fn spec_label(spec: &TargetSpec) -> String {
    match spec {
        TargetSpec::One(target) => target.to_string(),
        TargetSpec::Network(net) => net.to_string(),
    }
}

/// Finds which spec a target came from: single targets (and addresses found from domains) by
/// hash, networks by a scan (there are few of them).
#[derive(Debug)]
struct SpecIndex {
    /// The spec, and for an address found from a domain, its index among those found.
    single: HashMap<Target, (usize, Option<usize>)>,
    networks: Vec<(IpNet, usize)>,
}

impl SpecIndex {
    fn new(specs: &[TargetSpec], derived: &[(usize, DerivedAddress)]) -> Self {
        let mut index = SpecIndex {
            single: HashMap::new(),
            networks: Vec::new(),
        };
        for (i, spec) in specs.iter().enumerate() {
            match spec {
                TargetSpec::One(target) => {
                    index.single.entry(target.clone()).or_insert((i, None));
                }
                TargetSpec::Network(net) => index.networks.push((*net, i)),
            }
        }
        for (d, (spec, found)) in derived.iter().enumerate() {
            let target = Target::ip(found.addr);
            // An address given as a target, or in a watched network, stays its own.
            if index.find(&target).is_none() {
                index.single.insert(target, (*spec, Some(d)));
            }
        }
        index
    }

    fn find(&self, target: &Target) -> Option<(usize, Option<usize>)> {
        if let Some(&found) = self.single.get(target) {
            return Some(found);
        }
        let Target::Ip(addr) = target else {
            return None;
        };
        self.networks
            .iter()
            .find(|(net, _)| net.contains(addr))
            .map(|&(_, i)| (i, None))
    }
}
