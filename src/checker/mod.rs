//! The checker: asks every list about a target at once, and many targets in a bounded stream.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream};
use tokio::time::Instant;

use crate::health::{HealthCell, HealthPolicy, ListHealth};
use crate::list::DnsList;
use crate::outcome::{ListResult, Outcome, Report, SkipReason};
use crate::query::{TxtLookup, query_list, query_list_now};
use crate::ready_first::ready_first;
#[cfg(feature = "hickory")]
use crate::resolver::hickory::HickoryResolver;
use crate::resolver::{DnsResolver, LookupError, LookupErrorKind};
use crate::stats::{ListStats, OutcomeKind, StatsCell};
use crate::target::Target;
use crate::zone::QueryName;

mod builder;
mod deadline;

use deadline::Deadline;

pub use builder::{BuildError, CheckerBuilder};

/// Checks targets against a set of lists.
///
/// Cheap to clone (the state is shared), so one checker can serve a whole program: every
/// connection of a mail filter, every task of a scan.
///
/// # Examples
///
/// ```no_run
/// use dnsbl_check::{Checker, presets};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let checker = Checker::builder()
///     .lists(presets::default_lists())
///     .build()?; // system resolver
/// let report = checker.check("127.0.0.2".parse()?).await;
/// for result in &report.results {
///     println!("{}: {}", result.list, result.outcome.status());
/// }
/// # Ok(())
/// # }
/// ```
///
/// The resolver type `R` defaults to [`HickoryResolver`] (feature `hickory`); without that
/// feature, build with [`CheckerBuilder::build_with`] on a resolver of your own.
#[cfg(feature = "hickory")]
#[derive(Debug)]
pub struct Checker<R = HickoryResolver> {
    inner: Arc<Inner<R>>,
}

/// Checks targets against a set of lists (see the documentation built with feature `hickory`).
#[cfg(not(feature = "hickory"))]
#[derive(Debug)]
pub struct Checker<R> {
    inner: Arc<Inner<R>>,
}

impl<R> Clone for Checker<R> {
    fn clone(&self) -> Self {
        Checker {
            inner: Arc::clone(&self.inner),
        }
    }
}

#[derive(Debug)]
struct Inner<R> {
    resolver: R,
    lists: Vec<ListEntry>,
    threshold: i32,
    deadline: Duration,
    max_queries_in_flight: usize,
    txt_lookup: TxtLookup,
    health: HealthPolicy,
    /// Whether any list is tried at once ([`ListEntry::at_once`]): a bulk scan over the
    /// network asks this for every target.
    any_at_once: bool,
}

#[cfg(feature = "hickory")]
#[cfg_attr(docsrs, doc(cfg(feature = "hickory")))]
impl Checker {
    /// A builder with the defaults: threshold 1, 15 s deadline, 100 queries in flight, TXT and
    /// health checks on.
    pub fn builder() -> CheckerBuilder {
        CheckerBuilder::default()
    }
}

impl<R: DnsResolver> Checker<R> {
    /// The lists, in order.
    pub fn lists(&self) -> impl Iterator<Item = &DnsList> {
        self.inner.lists.iter().map(|entry| &entry.list)
    }

    /// The resolver the lists are asked through, for other lookups on the same path (such
    /// as [`forward_confirmed_reverse_dns`](crate::forward_confirmed_reverse_dns)).
    pub fn resolver(&self) -> &R {
        &self.inner.resolver
    }

    /// Each list's health as last probed.
    pub fn health(&self) -> Vec<(&DnsList, ListHealth)> {
        self.inner
            .lists
            .iter()
            .map(|entry| (&entry.list, entry.health.get()))
            .collect()
    }

    /// Each list's statistics since the checker was built: its health, how many checks
    /// ended in each kind of outcome, and a histogram of its query latency.
    ///
    /// Counted for every check of a target the list takes, including checks answered
    /// without a query (a list skipped as unhealthy); latency only for checks that sent one.
    /// Health probes are not counted. Reading them costs a few atomic loads per list.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use dnsbl_check::stats::OutcomeKind;
    /// use dnsbl_check::{Answer, Checker, DnsList, DnsResolver, ListKind, LookupError};
    ///
    /// struct Clean;
    ///
    /// impl DnsResolver for Clean {
    ///     async fn lookup_a(&self, _name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
    ///         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
    ///     }
    ///     async fn lookup_txt(&self, _name: &str) -> Result<Answer<String>, LookupError> {
    ///         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = DnsList::from_spec("bl.example", ListKind::Ip)?;
    /// let checker = Checker::builder().list(list).health_checks(false).build_with(Clean)?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    /// runtime.block_on(checker.check("192.0.2.1".parse()?));
    /// runtime.block_on(checker.check("192.0.2.2".parse()?));
    ///
    /// let stats = &checker.stats()[0];
    /// assert_eq!(stats.list, "bl.example");
    /// assert_eq!(stats.outcomes.get(OutcomeKind::NotListed), 2);
    /// assert_eq!(stats.outcomes.trouble(), 0);
    /// assert_eq!(stats.latency.count(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> Vec<ListStats> {
        self.inner
            .lists
            .iter()
            .map(
                |ListEntry {
                     list,
                     health,
                     stats,
                     ..
                 }| {
                    let (outcomes, latency) = stats.snapshot();
                    ListStats {
                        list: list.name().to_owned(),
                        zone: list.zone().clone(),
                        health: health.get(),
                        outcomes,
                        latency,
                    }
                },
            )
            .collect()
    }

    /// Probes every list's test points now (if they are stale), and returns their health.
    ///
    /// A long-lived program can call this at start-up, to log list trouble before the first
    /// check; [`Checker::check`] does it on its own otherwise.
    pub async fn refresh_health(&self) -> Vec<(&DnsList, ListHealth)> {
        self.probe_lists(|_| true, false).await
    }

    /// Probes every list's test points now, however fresh their health, and returns it: for
    /// the end of a long run, to find out whether the lists were still seen to work when it
    /// ended (a resolver that went blind midway makes the run's later "not listed" answers
    /// worthless). Lists whose probes are off stay [`ListHealth::Unchecked`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(checker: dnsbl_check::Checker) {
    /// // ... a long scan ...
    /// for (list, health) in checker.reprobe_health().await {
    ///     if health.is_untrusted() {
    ///         eprintln!("{} can no longer be trusted: {health}", list.name());
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn reprobe_health(&self) -> Vec<(&DnsList, ListHealth)> {
        self.probe_lists(|_| true, true).await
    }

    /// The health of the lists `which` picks, probed if stale, or with `now` however fresh.
    async fn probe_lists(
        &self,
        which: impl Fn(&DnsList) -> bool,
        now: bool,
    ) -> Vec<(&DnsList, ListHealth)> {
        let inner = &*self.inner;
        let lists = inner.lists.iter().filter(|entry| which(&entry.list));
        futures::future::join_all(lists.map(
            |ListEntry {
                 list, health: cell, ..
             }| async move {
                let health = if now {
                    cell.refresh(&inner.resolver, list, &inner.health).await
                } else {
                    cell.current(&inner.resolver, list, &inner.health).await
                };
                (list, health)
            },
        ))
        .await
    }

    /// Checks `target` again against the lists named in `lists` (by [`DnsList::name`]), after
    /// probing their test points now, whatever the health interval: for confirming a change to
    /// "not listed" before announcing it. A list whose positive test point is no longer listed
    /// gives trouble ([`Unhealthy::TestPointNotListed`](crate::outcome::Unhealthy)), never
    /// "not listed": a resolver that went blind does not read as a delisting.
    ///
    /// The report holds the named lists only, in the checker's order; its verdict is theirs.
    /// With health checks off ([`CheckerBuilder::health_checks`]) the lists are asked again
    /// without a probe.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use dnsbl_check::{Answer, Checker, DnsList, DnsResolver, ListKind, LookupError, Outcome};
    ///
    /// /// A list that lists 192.0.2.1 and its test point, until the resolver goes blind.
    /// struct Resolver(AtomicBool);
    ///
    /// impl DnsResolver for Resolver {
    ///     async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
    ///         let listed = ["2.0.0.127.bl.example.", "1.2.0.192.bl.example."];
    ///         Ok(if !self.0.load(Ordering::Relaxed) && listed.contains(&name) {
    ///             Answer::Records { records: vec![Ipv4Addr::new(127, 0, 0, 2)], ttl: 60 }
    ///         } else {
    ///             Answer::NoRecords { nxdomain: true, negative_ttl: Some(60) }
    ///         })
    ///     }
    ///     async fn lookup_txt(&self, _name: &str) -> Result<Answer<String>, LookupError> {
    ///         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = DnsList::from_spec("bl.example", ListKind::Ipv4)?;
    /// let checker = Checker::builder().list(list).build_with(Resolver(AtomicBool::new(false)))?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    /// let target: dnsbl_check::Target = "192.0.2.1".parse()?;
    /// assert!(runtime.block_on(checker.check(target.clone())).listed);
    ///
    /// checker.resolver().0.store(true, Ordering::Relaxed); // the resolver goes blind
    /// let again = runtime.block_on(checker.recheck(target, &["bl.example"]));
    /// assert!(again.results[0].outcome.is_trouble(), "not a delisting");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recheck(&self, target: Target, lists: &[&str]) -> Report {
        let inner = &*self.inner;
        let named = |list: &DnsList| lists.contains(&list.name());
        self.probe_lists(named, true).await;
        let report = self
            .check_lists(target, |list| (!named(list)).then_some("not rechecked"))
            .await;
        let mut results = report.results;
        results.retain(|result| lists.contains(&&*result.list));
        Report::new(report.target, results, inner.threshold)
    }

    /// Checks one target against every list, all lists at once.
    ///
    /// Never fails: every kind of trouble is an [`Outcome`] in the report.
    pub async fn check(&self, target: Target) -> Report {
        self.check_lists(target, |_| None).await
    }

    /// Checks one target against the lists that `skip` returns `None` for; the others get
    /// [`SkipReason::NotApplicable`] with `skip`'s reason, and no query.
    pub(crate) async fn check_lists(
        &self,
        target: Target,
        skip: impl Fn(&DnsList) -> Option<&'static str>,
    ) -> Report {
        let inner = &*self.inner;
        // Read once: the deadline, and the first look at it, and the latency of a query sent at
        // once all start from it (a clock reading is a good share of a bulk check's own work).
        let started = Instant::now();
        let target_ref = &target;
        let results =
            match &inner.lists[..] {
                // One list, the usual bulk scan: no join to set up around it.
                [only] => vec![
                    self.list_result(only, target_ref, skip(&only.list), started)
                        .await,
                ],
                lists => {
                    futures::future::join_all(lists.iter().map(|entry| {
                        self.list_result(entry, target_ref, skip(&entry.list), started)
                    }))
                    .await
                }
            };
        Report::new(target, results, inner.threshold)
    }

    /// One list's result: `skipped` with its reason, or checked.
    async fn list_result(
        &self,
        ListEntry {
            list,
            health,
            stats,
            ..
        }: &ListEntry,
        target: &Target,
        skipped: Option<&'static str>,
        started: Instant,
    ) -> ListResult {
        match skipped {
            Some(why) => not_applicable(list, why),
            None => self.check_list(list, health, stats, target, started).await,
        }
    }

    async fn check_list(
        &self,
        list: &DnsList,
        health: &HealthCell,
        stats: &StatsCell,
        target: &Target,
        started: Instant,
    ) -> ListResult {
        let inner = &*self.inner;
        let name = match query_name(list, target) {
            Ok(name) => name,
            Err(why) => return not_applicable(list, why),
        };
        // When the query was sent, for the latency statistics.
        let mut sent = None;
        let fresh = health.fresh_outcome(list, &inner.health, target);
        let probed = fresh.is_none();
        // The resolver's promise to wake a lookup in time holds the deadline without a timer,
        // but not a wait for a health probe (another check's, perhaps): that takes a timer.
        let wakes_within = (!probed).then(|| inner.resolver.wakes_within()).flatten();
        let outcome = {
            // Pinned here, where the check's future keeps it, and polled with its deadline.
            let mut work = std::pin::pin!(async {
                let untrusted = match fresh {
                    Some(untrusted) => untrusted,
                    None => health
                        .current(&inner.resolver, list, &inner.health)
                        .await
                        .outcome_for(target),
                };
                match untrusted {
                    Some(outcome) => outcome,
                    None => {
                        // At once, unless a health probe was waited for.
                        sent = Some(if probed { Instant::now() } else { started });
                        query_list(&inner.resolver, list, name.as_str(), inner.txt_lookup).await
                    }
                }
            });
            // First polled at once, in this same poll of the check: `started` is its time.
            let mut deadline = Deadline::new(started, inner.deadline, wakes_within);
            std::future::poll_fn(|cx| deadline.poll(work.as_mut(), cx)).await
        };
        let outcome = outcome.unwrap_or_else(|| {
            Outcome::Failed(LookupError::with_detail(
                LookupErrorKind::Timeout,
                "overall deadline reached",
            ))
        });
        finish(
            list,
            stats,
            target,
            outcome,
            sent.map(|sent| sent.elapsed()),
        )
    }

    /// Checks `target` against every list at once, when every list can answer at once: its
    /// health needs no probe, and the resolver holds its answers in memory (a local mirror,
    /// see [`DnsResolver::lookup_a_now`]). `None` when some list takes a lookup: then
    /// [`Checker::check`] does, and gives the report this would have.
    ///
    /// Bulk checks over mirrored lists use this to skip setting up a lookup per target;
    /// [`Checker::check_stream`] does so itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{Checker, DnsList, HickoryResolver, ListKind, NameServer, Target};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = HickoryResolver::builder()
    ///     .name_server(NameServer::new("127.0.0.1:53".parse()?))
    ///     .build()?;
    /// let checker = Checker::builder()
    ///     .list(DnsList::from_spec("bl.example", ListKind::Ip)?)
    ///     .health_checks(false)
    ///     .build_with(resolver)?;
    /// // A list asked over the network is never answered at once.
    /// assert!(checker.check_now(&Target::ip("192.0.2.1".parse()?)).is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_now(&self, target: &Target) -> Option<Report> {
        let inner = &*self.inner;
        if !inner.any_at_once {
            return None; // bulk checks over the network: nothing to try
        }
        let outcome_now = |entry: &ListEntry| self.outcome_now(entry, target);
        let result = |entry: &ListEntry, outcome: OutcomeNow| match outcome {
            Ok((outcome, latency)) => finish(&entry.list, &entry.stats, target, outcome, latency),
            Err(why) => not_applicable(&entry.list, why),
        };
        // Every list's outcome first: nothing is counted unless all of them were at hand.
        let results = match &inner.lists[..] {
            // One list, the usual bulk scan: no list of outcomes to hold meanwhile.
            [only] => vec![result(only, outcome_now(only)?)],
            lists => {
                let outcomes: Vec<_> = lists.iter().map(outcome_now).collect::<Option<_>>()?;
                lists
                    .iter()
                    .zip(outcomes)
                    .map(|(entry, o)| result(entry, o))
                    .collect()
            }
        };
        Some(Report::new(target.clone(), results, inner.threshold))
    }

    /// One list's outcome at once, and the latency to count for it (an answer at hand took
    /// no time; an untrusted list was not asked): `None` when it takes a lookup or a probe.
    fn outcome_now(&self, entry: &ListEntry, target: &Target) -> Option<OutcomeNow> {
        let inner = &*self.inner;
        let (list, health) = (&entry.list, &entry.health);
        // A list that does not take the target needs nothing at hand; the others, answers
        // the resolver has at hand.
        if !entry.at_once && list.serves(target) {
            return None;
        }
        let name = match query_name(list, target) {
            Ok(name) => name,
            Err(why) => return Some(Err(why)),
        };
        Some(Ok(
            match health.fresh_outcome(list, &inner.health, target)? {
                Some(untrusted) => (untrusted, None),
                None => {
                    let txt = inner.txt_lookup;
                    let outcome = query_list_now(&inner.resolver, list, name.as_str(), txt)?;
                    (outcome, Some(Duration::ZERO))
                }
            },
        ))
    }

    /// How many targets a stream of checks keeps in flight: each check asks every list, so
    /// the query budget ([`CheckerBuilder::max_queries_in_flight`]) divided by the number of
    /// lists, at least 1. For callers that run [`Checker::check`] on their own streams.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{Checker, DnsList, HickoryResolver, ListKind, NameServer};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = HickoryResolver::builder()
    ///     .name_server(NameServer::new("127.0.0.1:53".parse()?))
    ///     .build()?;
    /// let checker = Checker::builder()
    ///     .list(DnsList::from_spec("a.example", ListKind::Ip)?)
    ///     .list(DnsList::from_spec("b.example", ListKind::Ip)?)
    ///     .max_queries_in_flight(100)
    ///     .build_with(resolver)?;
    /// assert_eq!(checker.targets_in_flight(), 50);
    /// # Ok(())
    /// # }
    /// ```
    pub fn targets_in_flight(&self) -> usize {
        (self.inner.max_queries_in_flight / self.inner.lists.len().max(1)).max(1)
    }

    /// Checks a stream of targets, keeping at most the configured number of queries in flight.
    ///
    /// Reports come out as they complete (not in input order), each carrying its target; a
    /// report that can be given at once ([`Checker::check_now`]) comes out at once. The
    /// input is pulled only as fast as results are produced, so memory stays flat however long
    /// the stream: a `/8` can be checked without being collected first.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use dnsbl_check::{Checker, TargetSpec, presets};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let checker = Checker::builder().lists(presets::default_lists()).build()?;
    /// let block: TargetSpec = "192.0.2.0/24".parse()?;
    /// let mut reports = checker.check_iter(block);
    /// while let Some(report) = reports.next().await {
    ///     if report.listed {
    ///         println!("{} is listed", report.target);
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_stream<S>(&self, targets: S) -> impl Stream<Item = Report> + Send + 'static
    where
        S: Stream<Item = Target> + Send + 'static,
    {
        let targets_in_flight = self.targets_in_flight();
        let (checker, now) = (self.clone(), self.clone());
        ready_first(
            targets,
            targets_in_flight,
            move |target| now.check_now(target),
            move |target| {
                let checker = checker.clone();
                async move { checker.check(target).await }
            },
        )
    }

    /// [`Checker::check_stream`] over an iterator.
    pub fn check_iter<I>(&self, targets: I) -> impl Stream<Item = Report> + Send + 'static
    where
        I: IntoIterator<Item = Target>,
        I::IntoIter: Send + 'static,
    {
        self.check_stream(stream::iter(targets))
    }
}

/// A list as a checker holds it.
#[derive(Debug)]
struct ListEntry {
    list: DnsList,
    health: HealthCell,
    stats: StatsCell,
    /// Whether the resolver answered a name of the list's zone at once when the checker was
    /// built (a local mirror): only then are its checks tried at once. A hint that saves bulk
    /// checks over the network the attempt; the answers themselves are checked each time.
    at_once: bool,
}

impl ListEntry {
    fn new<R: DnsResolver>(list: DnsList, resolver: &R) -> Self {
        let at_once = list
            .zone()
            .query_name(&Target::ip(std::net::Ipv4Addr::new(127, 0, 0, 2).into()))
            .is_ok_and(|name| resolver.lookup_a_now(name.as_str()).is_some());
        ListEntry {
            list,
            health: HealthCell::new(),
            stats: StatsCell::default(),
            at_once,
        }
    }
}

/// A list's outcome at hand and the latency to count for it, or why the list does not take
/// the target.
type OutcomeNow = Result<(Outcome, Option<Duration>), &'static str>;

/// The name to ask `list` about `target`, or why the list does not take it.
fn query_name(list: &DnsList, target: &Target) -> Result<QueryName, &'static str> {
    if !list.serves(target) {
        return Err(match (list.kind().is_ip(), target.is_ip()) {
            (true, false) => "domain target on an IP list",
            (false, true) => "IP target on a domain list",
            (false, false) if list.hash().is_some() => "not a hashed name of this list",
            (false, false) => "hashed name on a plain domain list",
            _ => "address family not served by this list",
        });
    }
    list.query_name(target)
        .map_err(|_| "query name would exceed 253 octets under this zone")
}

/// The result of a list that does not take the target, for this reason.
fn not_applicable(list: &DnsList, why: &'static str) -> ListResult {
    ListResult::new(list, Outcome::Skipped(SkipReason::NotApplicable(why)))
}

/// One list's result from its outcome: counted in its statistics (with the query's latency,
/// when it was asked), and with the list's lookup link when listed.
fn finish(
    list: &DnsList,
    stats: &StatsCell,
    target: &Target,
    outcome: Outcome,
    latency: Option<Duration>,
) -> ListResult {
    if let Some(kind) = OutcomeKind::of(&outcome) {
        stats.record(kind, latency);
    }
    let mut result = ListResult::new(list, outcome);
    if result.outcome.is_listed() {
        result.lookup_url = list.lookup_url(target);
    }
    result
}
