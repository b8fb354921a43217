//! The exporter's state: rounds of checks on their own schedule (the library's
//! [`Watcher`]), each turned into a [`Snapshot`] that pages are written from.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::hosts::{self, HostSource};
use crate::monitor::{PairStatus, Round, Tracker, TrackerConfig, Watcher};
use crate::resolver::any::AnyResolver;
use crate::stats::OutcomeKind;
use crate::target::DomainName;
use crate::{Checker, Outcome, Report, Target, TargetSpec};
use ipnet::IpNet;

use crate::exporter::exposition::{
    HostAddress, HostTrouble, NetworkCounts, Pair, RoundInfo, Snapshot, Status,
};

/// What is watched: the targets as given, and the domains whose hosts are looked up.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The targets as given: addresses, networks and domains.
    pub specs: Vec<TargetSpec>,
    /// The domains whose hosts (MX, own addresses or SPF senders) are looked up every round.
    pub domains: Vec<(DomainName, HostSource)>,
    /// At most this many (listed address, list) pairs of one network get series.
    pub max_listed_per_network: usize,
}

/// The last finished round's snapshot, shared between the round task and the HTTP side.
#[derive(Debug, Default)]
pub struct Shared {
    snapshot: RwLock<Arc<Snapshot>>,
}

impl Shared {
    /// The current snapshot (a pointer copy: a scrape never waits for a round).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn publish(&self, snapshot: Snapshot) {
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
    }
}

/// Runs a round now and then every `interval` (measured start to start; a round that takes
/// longer delays the next rather than overlapping it), publishing a snapshot after each.
pub async fn run_rounds(
    checker: Checker<AnyResolver>,
    watched: Watched,
    interval: Duration,
    shared: Arc<Shared>,
) {
    // Every round's status is shown as seen: the exporter does not wait for confirmation
    // (Prometheus' `for:` does that in the alert rules).
    let config = TrackerConfig {
        confirm: 1,
        ..TrackerConfig::default()
    };
    let mut watcher = Watcher::new(checker.clone(), watched.specs.clone(), config.clone());
    let mut derived: Vec<IpAddr> = Vec::new();
    let mut last_answers = LastAnswers::default();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rounds = 0;
    loop {
        ticker.tick().await;
        let expansions = expand_domains(&checker, &watched.domains).await;
        let addresses = derived_addresses(&expansions);
        if addresses != derived {
            // The domains' hosts changed: watch the new set, keeping what is known.
            let tracker = std::mem::replace(watcher.tracker_mut(), Tracker::new(config.clone()));
            let mut specs = watched.specs.clone();
            specs.extend(
                addresses
                    .iter()
                    .map(|&addr| TargetSpec::One(Target::ip(addr))),
            );
            watcher = Watcher::with_tracker(checker.clone(), specs, tracker);
            derived = addresses;
        }
        let round = watcher.run_round().await;
        for event in &round.events {
            tracing::info!("{event}");
        }
        rounds += 1;
        let snapshot = snapshot(
            &watcher,
            &watched,
            &derived,
            &round,
            &expansions,
            rounds,
            &mut last_answers,
        );
        tracing::debug!(
            targets = round.checked,
            seconds = round.elapsed.as_secs_f64(),
            "round finished"
        );
        shared.publish(snapshot);
    }
}

async fn expand_domains(
    checker: &Checker<AnyResolver>,
    domains: &[(DomainName, HostSource)],
) -> Vec<hosts::Expansion> {
    let resolver = checker.resolver();
    futures::future::join_all(
        domains
            .iter()
            .map(|(domain, source)| hosts::expand(resolver, domain, *source)),
    )
    .await
}

/// The addresses found for the domains, each once, sorted.
fn derived_addresses(expansions: &[hosts::Expansion]) -> Vec<IpAddr> {
    let mut addresses: Vec<IpAddr> = expansions
        .iter()
        .flat_map(|expansion| expansion.addresses.iter().map(|found| found.addr))
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}

/// The last answer (listed or not) of every pair shown, so that a pair whose check fails keeps
/// its last known `dnsbl_listed`, marked stale, instead of losing the series (which would
/// read as a delisting and resolve its alert).
///
/// Only the pairs of the last snapshot are kept, so it is as bounded as the pages are.
#[derive(Debug, Default)]
struct LastAnswers(HashMap<(Arc<str>, Arc<str>), bool>);

impl LastAnswers {
    fn listed(&self, target: &str, list: &str) -> Option<bool> {
        // A tuple of `Arc<str>` cannot be looked up by `(&str, &str)`: build the key.
        self.0.get(&(target.into(), list.into())).copied()
    }

    /// Notes this round's answers and gives each pair in trouble the last answer known for
    /// it; forgets the pairs no longer shown.
    fn carry(&mut self, pairs: &mut [Pair]) {
        let mut next = HashMap::with_capacity(pairs.len());
        for pair in pairs {
            let key = (Arc::clone(&pair.target), Arc::clone(&pair.list));
            let listed = match pair.status {
                Status::Listed(_) => Some(true),
                Status::NotListed | Status::NotCounted(_) => Some(false),
                Status::Trouble(_) => {
                    pair.last_listed = self.0.get(&key).copied();
                    pair.last_listed
                }
            };
            if let Some(listed) = listed {
                next.insert(key, listed);
            }
        }
        self.0 = next;
    }
}

/// Builds what the pages show from the watcher's statuses after `round`.
fn snapshot(
    watcher: &Watcher<AnyResolver>,
    watched: &Watched,
    derived: &[IpAddr],
    round: &Round,
    expansions: &[hosts::Expansion],
    rounds: u64,
    last_answers: &mut LastAnswers,
) -> Snapshot {
    let checker = watcher.checker();
    let lists = Lists::of(checker);
    let tracker = watcher.tracker();
    let mut named: Vec<Target> = Vec::new();
    let mut networks: Vec<IpNet> = Vec::new();
    for spec in &watched.specs {
        match spec {
            TargetSpec::One(target) => named.push(target.clone()),
            TargetSpec::Network(net) => networks.push(*net),
        }
    }
    named.extend(derived.iter().map(|&addr| Target::ip(addr)));
    let named_set: HashSet<&Target> = named.iter().collect();

    let mut pairs = Vec::new();
    for target in &named {
        let label: Arc<str> = target.to_string().into();
        for list in &lists.names {
            if let Some(status) = tracker.status(target, list) {
                pairs.push(lists.pair(&label, list, status));
            }
        }
    }
    // A network's addresses appear one by one only while listed, and at most
    // `max_listed_per_network` pairs (lowest addresses first): bounded cardinality. The
    // network's counts say how many there are in all.
    let mut listed_in_networks: Vec<Vec<(&Target, &str, &PairStatus)>> =
        vec![Vec::new(); networks.len()];
    for (target, list, status) in tracker.statuses() {
        if named_set.contains(target) {
            continue;
        }
        // A listed address whose check now fails stays, with its last answer (stale).
        let shown = match status {
            PairStatus::Listed(_) => true,
            PairStatus::Trouble(_) => last_answers.listed(&target.to_string(), list) == Some(true),
            _ => false,
        };
        if !shown {
            continue;
        }
        let Target::Ip(addr) = target else { continue };
        if let Some(index) = networks.iter().position(|net| net.contains(addr)) {
            listed_in_networks[index].push((target, list, status));
        }
    }
    for mut listed in listed_in_networks {
        listed.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        listed.truncate(watched.max_listed_per_network);
        for (target, list, status) in listed {
            pairs.push(lists.pair(&target.to_string().into(), list, status));
        }
    }

    let per_spec = lists.names.len().max(1);
    let network_counts = watched
        .specs
        .iter()
        .zip(round.counts.chunks(per_spec))
        .filter(|(spec, _)| matches!(spec, TargetSpec::Network(_)))
        .flat_map(|(_, counts)| counts)
        .map(|counts| NetworkCounts {
            network: counts.spec.clone(),
            list: counts.list.clone(),
            checked: counts.checked,
            listed: counts.listed,
            trouble: counts.trouble,
        })
        .collect();

    last_answers.carry(&mut pairs);
    let (hosts, host_trouble) = host_rows(expansions);
    Snapshot {
        pairs,
        networks: network_counts,
        hosts,
        host_trouble,
        round: Some(RoundInfo {
            finished: SystemTime::now(),
            elapsed: round.elapsed,
            targets: round.checked,
        }),
        rounds,
    }
}

/// The `source` label of a domain's addresses: `mx`, `resolve` or `spf`.
pub fn source_label(source: HostSource) -> &'static str {
    match source {
        HostSource::Mx => "mx",
        HostSource::Resolve => "resolve",
        HostSource::Spf => "spf",
    }
}

/// The rows of `dnsbl_target_info`/`dnsbl_target_rdns` and `dnsbl_host_lookup_trouble` for a round's host expansions.
pub fn host_rows(expansions: &[hosts::Expansion]) -> (Vec<HostAddress>, Vec<HostTrouble>) {
    let source = source_label;
    let mut rows = Vec::new();
    let mut trouble = Vec::new();
    for expansion in expansions {
        for found in &expansion.addresses {
            rows.push(HostAddress {
                target: Target::ip(found.addr).to_string(),
                domain: expansion.domain.to_string(),
                source: source(expansion.source),
                host: found.host.to_string(),
                rdns: found.rdns.status(),
            });
        }
        for problem in &expansion.trouble {
            let kind = OutcomeKind::of(&Outcome::Failed(problem.error.clone()))
                .map_or("unknown", OutcomeKind::as_str);
            trouble.push(HostTrouble {
                domain: expansion.domain.to_string(),
                source: source(expansion.source),
                kind,
            });
        }
    }
    trouble.sort_by(|a, b| (&a.domain, a.kind).cmp(&(&b.domain, b.kind)));
    trouble.dedup_by(|a, b| a.domain == b.domain && a.kind == b.kind && a.source == b.source);
    (rows, trouble)
}

/// The lists' names, and each list's categories by code, for labelling pairs.
struct Lists {
    names: Vec<Arc<str>>,
    checker: Checker<AnyResolver>,
    by_name: HashMap<Arc<str>, usize>,
}

impl Lists {
    fn of(checker: &Checker<AnyResolver>) -> Self {
        let names: Vec<Arc<str>> = checker.lists().map(|list| list.name().into()).collect();
        let by_name = names
            .iter()
            .enumerate()
            .map(|(i, name)| (Arc::clone(name), i))
            .collect();
        Lists {
            names,
            checker: checker.clone(),
            by_name,
        }
    }

    /// Each code with the categories the list at `index` gives it.
    fn categorised(
        &self,
        index: Option<usize>,
        codes: &[Ipv4Addr],
    ) -> Vec<(Ipv4Addr, Vec<String>)> {
        let definition = index.and_then(|i| self.checker.lists().nth(i));
        codes
            .iter()
            .map(|&code| {
                let categories = definition.map_or_else(Vec::new, |list| {
                    list.categories_of(code)
                        .into_iter()
                        .map(str::to_owned)
                        .collect()
                });
                (code, categories)
            })
            .collect()
    }

    fn pair(&self, target: &Arc<str>, list: &str, status: &PairStatus) -> Pair {
        let index = self.by_name.get(list).copied();
        let list_name = index.map_or_else(|| list.into(), |i| Arc::clone(&self.names[i]));
        let status = match status {
            PairStatus::Listed(codes) => Status::Listed(self.categorised(index, codes)),
            PairStatus::NotListed => Status::NotListed,
            PairStatus::Trouble(kind) => Status::Trouble(kind.as_str()),
        };
        Pair {
            target: Arc::clone(target),
            list: list_name,
            status,
            last_listed: None,
        }
    }
}

/// One report's pairs, for a probe page.
pub fn report_pairs(checker: &Checker<AnyResolver>, report: &Report) -> Vec<Pair> {
    let lists = Lists::of(checker);
    let target: Arc<str> = report.target.to_string().into();
    report
        .results
        .iter()
        .filter_map(|result| {
            let status = PairStatus::from_outcome(&result.outcome)?;
            let mut pair = lists.pair(&target, &result.list, &status);
            // Watch statuses fold codes not counted into "not listed"; a probe shows them.
            if let Outcome::NotCounted(shown) = &result.outcome {
                let index = lists.by_name.get(&*result.list).copied();
                pair.status = Status::NotCounted(lists.categorised(index, &shown.codes));
            }
            Some(pair)
        })
        .collect()
}
