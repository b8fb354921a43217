//! What the exporter shows, in the Prometheus text format (written with `prometheus-client`).
//!
//! The pages are built from a [`Snapshot`] of the last finished round and from the
//! checker's own statistics ([`Checker::stats`]), so writing one never sends a DNS query.
//!
//! | series | labels | what it says |
//! |---|---|---|
//! | `dnsbl_listed` | target, list | 1 listed, 0 not listed; while the list gives trouble, the last answer it gave (stale) |
//! | `dnsbl_listed_stale` | target, list | 1: `dnsbl_listed` is the last answer, kept while the check fails; 0: this round's |
//! | `dnsbl_check_trouble` | target, list, kind | 1: the list gave no answer for the target |
//! | `dnsbl_listing_info` | target, list, code, category | the codes of a listing |
//! | `dnsbl_not_counted_info` | target, list, code, category | `/probe` only: codes the list answered that its filter does not count (`dnsbl_listed` is 0) |
//! | `dnsbl_network_{checked,listed,trouble}_addresses` | network, list | a network's address counts |
//! | `dnsbl_target_info` | target, domain, source, host | where a checked address came from |
//! | `dnsbl_target_rdns` | target, domain, host, status | the address's forward-confirmed reverse DNS |
//! | `dnsbl_host_lookup_trouble` | domain, source, kind | a domain's hosts could not all be found |
//! | `dnsbl_list_health` | list, state | 1 for the list's current RFC 5782 health state |
//! | `dnsbl_list_checks_total` | list, outcome | checks by outcome, since start |
//! | `dnsbl_list_query_duration_seconds` | list | histogram of query latency |
//! | `dnsbl_queries_total` | list | queries sent to the list for checks since start (rounds, probes, every module) |
//! | `dnsbl_list_planned_daily_queries` | list | the rounds' queries a day, computed at start (targets × rounds + test points) |
//! | `dnsbl_list_daily_query_limit` | list | the list's published free-use limit, where it has one |
//! | `dnsbl_last_round_end_timestamp_seconds`, `dnsbl_last_round_duration_seconds`, `dnsbl_last_round_targets`, `dnsbl_rounds_total`, `dnsbl_round_interval_seconds`, `dnsbl_exporter_start_time_seconds` | | the schedule |
//!
//! TXT reasons are long free text chosen by the list: they never become label values.
//!
//! [`Checker::stats`]: crate::Checker::stats

use std::fmt::Error;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::monitor::QueryBudget;
use crate::{ListHealth, ListStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, MetricEncoder, NoLabelSet, prometheus_text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// What a list last said about a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Listed, with each code and its categories.
    Listed(Vec<(Ipv4Addr, Vec<String>)>),
    /// Not listed.
    NotListed,
    /// Not listed: the list answered only codes its filter does not count, shown apart.
    NotCounted(Vec<(Ipv4Addr, Vec<String>)>),
    /// No answer: the kind of trouble ([`OutcomeKind::as_str`](crate::OutcomeKind::as_str)).
    Trouble(&'static str),
}

/// One (target, list) pair to show.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The target, as its label shows it.
    pub target: Arc<str>,
    /// The list's name.
    pub list: Arc<str>,
    /// What the list said this round.
    pub status: Status,
    /// For a pair in trouble: whether the list listed the target the last time it answered,
    /// if it ever did. Shown as a stale `dnsbl_listed`, so that a failing check never turns
    /// a listing into no listing (and resolves its alert).
    pub last_listed: Option<bool>,
}

/// A network target's addresses, per list.
#[derive(Debug, Clone, Default)]
pub struct NetworkCounts {
    /// The network, in CIDR notation.
    pub network: String,
    /// The list's name.
    pub list: String,
    /// Addresses checked.
    pub checked: u64,
    /// Addresses listed.
    pub listed: u64,
    /// Addresses for which the list gave no answer.
    pub trouble: u64,
}

/// An address found for a domain (`--mx`, `--resolve`).
#[derive(Debug, Clone)]
pub struct HostAddress {
    /// The address found.
    pub target: String,
    /// The domain it was found for.
    pub domain: String,
    /// How it was found: `mx`, `resolve` or `spf` ([`source_label`](super::state::source_label)).
    pub source: &'static str,
    /// The host name that has the address (the mail server, or the domain itself).
    pub host: String,
    /// Forward-confirmed reverse DNS: `confirmed`, `not_confirmed`, `no_ptr` or `failed`.
    pub rdns: &'static str,
}

/// A domain whose hosts could not all be found.
#[derive(Debug, Clone)]
pub struct HostTrouble {
    /// The domain.
    pub domain: String,
    /// How its hosts were looked up: `mx`, `resolve` or `spf`.
    pub source: &'static str,
    /// The kind of trouble ([`OutcomeKind::as_str`](crate::OutcomeKind::as_str)).
    pub kind: &'static str,
}

/// When the last round ran.
#[derive(Debug, Clone, Copy)]
pub struct RoundInfo {
    /// When it ended.
    pub finished: SystemTime,
    /// How long it took.
    pub elapsed: Duration,
    /// How many targets it checked.
    pub targets: u64,
}

/// Everything the last finished round found, ready to show.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Named targets with every list that takes them; network addresses only when listed.
    pub pairs: Vec<Pair>,
    /// Per network target and list: its addresses' counts.
    pub networks: Vec<NetworkCounts>,
    /// The addresses found for watched domains.
    pub hosts: Vec<HostAddress>,
    /// The watched domains whose hosts could not all be found.
    pub host_trouble: Vec<HostTrouble>,
    /// The last finished round, if one has finished.
    pub round: Option<RoundInfo>,
    /// Rounds finished since start.
    pub rounds: u64,
}

/// The exporter's settings shown on every page.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// The time between the starts of two rounds.
    pub interval: Duration,
    /// When the exporter started.
    pub started: SystemTime,
}

/// The lists' usage: queries sent per list, and the daily budget computed at start.
#[derive(Debug, Clone)]
pub struct Usage<'a> {
    /// Queries sent per list since start, by list name.
    pub queries: Vec<(String, u64)>,
    /// The queries a day each list was planned to get, computed at start.
    pub budget: &'a QueryBudget,
}

/// Queries sent per list name, summed over checkers, in first-seen order.
pub fn queries_by_list<'a>(stats: impl Iterator<Item = &'a ListStats>) -> Vec<(String, u64)> {
    let mut queries: Vec<(String, u64)> = Vec::new();
    for list in stats {
        match queries.iter_mut().find(|(name, _)| *name == list.list) {
            Some((_, count)) => *count += list.queries(),
            None => queries.push((list.list.clone(), list.queries())),
        }
    }
    queries
}

/// Writes the `/metrics` page.
pub fn metrics(snapshot: Arc<Snapshot>, stats: Vec<ListStats>, schedule: Schedule) -> String {
    render(MetricsPage {
        snapshot,
        stats,
        schedule,
    })
}

/// Adds the usage families to a `/metrics` page, before its end marker.
pub fn with_usage(mut page: String, usage: Usage<'_>) -> String {
    let families = render(UsagePage {
        queries: usage.queries,
        budget: usage.budget.clone(),
    });
    let end = page.rfind("# EOF").unwrap_or(page.len());
    page.insert_str(end, families.trim_end_matches("# EOF\n"));
    page
}

#[derive(Debug)]
struct UsagePage {
    queries: Vec<(String, u64)>,
    budget: QueryBudget,
}

impl Collector for UsagePage {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), Error> {
        let help = "Queries sent to the list for checks since start (A queries; TXT reasons \
                    and test-point probes come on top).";
        let mut queries = family(&mut encoder, "dnsbl_queries", help, MetricType::Counter)?;
        for (list, count) in &self.queries {
            queries
                .encode_family(&[("list", list.as_str())])?
                .encode_counter::<NoLabelSet, _, u64>(count, None)?;
        }
        let help = "The rounds' queries a day to the list, computed at start.";
        let name = "dnsbl_list_planned_daily_queries";
        let mut planned = family(&mut encoder, name, help, MetricType::Gauge)?;
        for list in &self.budget.lists {
            let value = i64::try_from(list.queries_per_day).unwrap_or(i64::MAX);
            planned
                .encode_family(&[("list", list.list.as_str())])?
                .encode_gauge(&value)?;
        }
        let help = "The list's published free-use limit, in queries a day.";
        let name = "dnsbl_list_daily_query_limit";
        let mut limits = family(&mut encoder, name, help, MetricType::Gauge)?;
        for list in &self.budget.lists {
            if let Some(limit) = list.limit {
                let value = i64::try_from(limit.queries_per_day).unwrap_or(i64::MAX);
                limits
                    .encode_family(&[("list", list.list.as_str())])?
                    .encode_gauge(&value)?;
            }
        }
        Ok(())
    }
}

/// Writes a `/probe` page: the pairs of one target (and of a domain's hosts, with where they
/// came from), and whether every list and every host lookup answered.
pub fn probe(
    pairs: Vec<Pair>,
    hosts: Vec<HostAddress>,
    host_trouble: Vec<HostTrouble>,
    elapsed: Duration,
) -> String {
    render(ProbePage {
        pairs,
        hosts,
        host_trouble,
        elapsed,
    })
}

fn render(page: impl Collector) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(page));
    let mut text = String::new();
    // Writing to a String cannot fail, and the pages' own code returns only its errors.
    let _ = prometheus_text::encode(&mut text, &registry);
    text
}

#[derive(Debug)]
struct MetricsPage {
    snapshot: Arc<Snapshot>,
    stats: Vec<ListStats>,
    schedule: Schedule,
}

impl Collector for MetricsPage {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), Error> {
        let snapshot = &*self.snapshot;
        pairs(&mut encoder, &snapshot.pairs)?;
        networks(&mut encoder, &snapshot.networks)?;
        hosts(&mut encoder, &snapshot.hosts, &snapshot.host_trouble)?;
        lists(&mut encoder, &self.stats)?;
        rounds(&mut encoder, snapshot, self.schedule)
    }
}

#[derive(Debug)]
struct ProbePage {
    pairs: Vec<Pair>,
    hosts: Vec<HostAddress>,
    host_trouble: Vec<HostTrouble>,
    elapsed: Duration,
}

impl Collector for ProbePage {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), Error> {
        let success = self.host_trouble.is_empty()
            && self
                .pairs
                .iter()
                .all(|pair| !matches!(pair.status, Status::Trouble(_)));
        let help = "Whether every list that takes the target answered (and every host lookup).";
        gauge(&mut encoder, "probe_success", help, i64::from(success))?;
        let help = "How long the check took.";
        let elapsed = self.elapsed.as_secs_f64();
        gauge(&mut encoder, "probe_duration_seconds", help, elapsed)?;
        pairs(&mut encoder, &self.pairs)?;
        if self.hosts.is_empty() && self.host_trouble.is_empty() {
            return Ok(());
        }
        hosts(&mut encoder, &self.hosts, &self.host_trouble)
    }
}

/// A family without labels and its one value.
fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: impl EncodeGaugeValue,
) -> Result<(), Error> {
    encoder
        .encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&value)
}

fn family<'a>(
    encoder: &'a mut DescriptorEncoder<'_>,
    name: &'a str,
    help: &str,
    kind: MetricType,
) -> Result<MetricEncoder<'a>, Error> {
    encoder.encode_descriptor(name, help, None, kind)
}

/// Whether a pair's `dnsbl_listed` is 1 or 0, and whether that is stale (the last answer,
/// kept while the check fails); `None`: no answer known, no series.
fn listed_value(pair: &Pair) -> Option<(i64, bool)> {
    match (&pair.status, pair.last_listed) {
        (Status::Listed(_), _) => Some((1, false)),
        (Status::NotListed | Status::NotCounted(_), _) => Some((0, false)),
        (Status::Trouble(_), Some(listed)) => Some((i64::from(listed), true)),
        (Status::Trouble(_), None) => None,
    }
}

/// `dnsbl_listed`, `dnsbl_listed_stale`, `dnsbl_check_trouble`, `dnsbl_listing_info` and
/// `dnsbl_not_counted_info`.
fn pairs(encoder: &mut DescriptorEncoder<'_>, pairs: &[Pair]) -> Result<(), Error> {
    let help = "Whether the list lists the target (1) or not (0): its last answer, kept while \
                the check fails (see dnsbl_listed_stale).";
    let mut listed = family(encoder, "dnsbl_listed", help, MetricType::Gauge)?;
    for pair in pairs {
        let Some((value, _)) = listed_value(pair) else {
            continue;
        };
        let labels = [("target", &*pair.target), ("list", &*pair.list)];
        listed.encode_family(&labels)?.encode_gauge(&value)?;
    }
    let help = "1 when dnsbl_listed is the list's last answer, kept while the check fails; 0 \
                when it is this round's.";
    let mut stale = family(encoder, "dnsbl_listed_stale", help, MetricType::Gauge)?;
    for pair in pairs {
        let Some((_, is_stale)) = listed_value(pair) else {
            continue;
        };
        let labels = [("target", &*pair.target), ("list", &*pair.list)];
        stale
            .encode_family(&labels)?
            .encode_gauge(&i64::from(is_stale))?;
    }
    let help = "1 when the list gave no answer for the target, by kind of trouble.";
    let mut trouble = family(encoder, "dnsbl_check_trouble", help, MetricType::Gauge)?;
    for pair in pairs {
        if let Status::Trouble(kind) = pair.status {
            let labels = [
                ("target", &*pair.target),
                ("list", &*pair.list),
                ("kind", kind),
            ];
            trouble.encode_family(&labels)?.encode_gauge(&1)?;
        }
    }
    let help = "The codes of a listing, each with its category (empty if the list names none).";
    codes_info(
        encoder,
        "dnsbl_listing",
        help,
        pairs,
        |status| match status {
            Status::Listed(codes) => Some(codes),
            _ => None,
        },
    )?;
    let help = "Codes the list answered that its filter does not count: not a listing.";
    codes_info(
        encoder,
        "dnsbl_not_counted",
        help,
        pairs,
        |status| match status {
            Status::NotCounted(codes) => Some(codes),
            _ => None,
        },
    )
}

type Codes = [(Ipv4Addr, Vec<String>)];

/// An info family of codes and their categories, for the pairs `codes_of` picks.
fn codes_info(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    pairs: &[Pair],
    codes_of: impl Fn(&Status) -> Option<&Codes>,
) -> Result<(), Error> {
    let mut info = family(encoder, name, help, MetricType::Info)?;
    for pair in pairs {
        let Some(codes) = codes_of(&pair.status) else {
            continue;
        };
        for (code, categories) in codes {
            let code = code.to_string();
            let none = [String::new()];
            let categories = if categories.is_empty() {
                &none[..]
            } else {
                &categories[..]
            };
            for category in categories {
                let labels = [
                    ("target", &*pair.target),
                    ("list", &*pair.list),
                    ("code", &code),
                    ("category", category),
                ];
                info.encode_info(&labels)?;
            }
        }
    }
    Ok(())
}

/// `dnsbl_network_checked_addresses`, `dnsbl_network_listed_addresses` and
/// `dnsbl_network_trouble_addresses`: three families, since a sum across them would mean
/// nothing (checked counts the listed ones too).
fn networks(encoder: &mut DescriptorEncoder<'_>, networks: &[NetworkCounts]) -> Result<(), Error> {
    type Count = fn(&NetworkCounts) -> u64;
    let families: [(&str, &str, Count); 3] = [
        (
            "dnsbl_network_checked_addresses",
            "A network target's addresses the list was asked about in the last round.",
            |counts| counts.checked,
        ),
        (
            "dnsbl_network_listed_addresses",
            "A network target's addresses the list listed in the last round.",
            |counts| counts.listed,
        ),
        (
            "dnsbl_network_trouble_addresses",
            "A network target's addresses the list gave no answer for in the last round.",
            |counts| counts.trouble,
        ),
    ];
    for (name, help, count) in families {
        let mut family = family(encoder, name, help, MetricType::Gauge)?;
        for counts in networks {
            let labels = [("network", &*counts.network), ("list", &*counts.list)];
            family
                .encode_family(&labels)?
                .encode_gauge(&count(counts))?;
        }
    }
    Ok(())
}

/// `dnsbl_target_info`, `dnsbl_target_rdns` and `dnsbl_host_lookup_trouble`.
fn hosts(
    encoder: &mut DescriptorEncoder<'_>,
    hosts: &[HostAddress],
    trouble: &[HostTrouble],
) -> Result<(), Error> {
    let help = "An address checked for a domain: its mail host (source mx) or the domain \
                itself (source resolve).";
    let mut info = family(encoder, "dnsbl_target", help, MetricType::Info)?;
    for host in hosts {
        let labels = [
            ("target", &*host.target),
            ("domain", &*host.domain),
            ("source", host.source),
            ("host", &*host.host),
        ];
        info.encode_info(&labels)?;
    }
    // Receivers refuse mail from an address whose PTR does not lead back to it: worth an
    // alert of its own, even while no list has it.
    let help = "1 for an address checked for a domain, labelled with its forward-confirmed \
                reverse DNS status: confirmed, not_confirmed, no_ptr or failed.";
    let mut rdns = family(encoder, "dnsbl_target_rdns", help, MetricType::Gauge)?;
    for host in hosts {
        let labels = [
            ("target", &*host.target),
            ("domain", &*host.domain),
            ("host", &*host.host),
            ("status", host.rdns),
        ];
        rdns.encode_family(&labels)?.encode_gauge(&1)?;
    }
    let help = "1 when a domain's hosts or addresses could not all be looked up.";
    let mut family = family(
        encoder,
        "dnsbl_host_lookup_trouble",
        help,
        MetricType::Gauge,
    )?;
    for row in trouble {
        let labels = [
            ("domain", &*row.domain),
            ("source", row.source),
            ("kind", row.kind),
        ];
        family.encode_family(&labels)?.encode_gauge(&1)?;
    }
    Ok(())
}

/// Per-list health, outcome counts and latency, from the checker's statistics.
fn lists(encoder: &mut DescriptorEncoder<'_>, stats: &[ListStats]) -> Result<(), Error> {
    let help = "1 for the list's current RFC 5782 health state, 0 for the others.";
    let mut health = family(encoder, "dnsbl_list_health", help, MetricType::Gauge)?;
    for list in stats {
        let current = list.health.state();
        for state in ListHealth::STATES {
            let labels = [("list", &*list.list), ("state", state)];
            let value = i64::from(state == current);
            health.encode_family(&labels)?.encode_gauge(&value)?;
        }
    }
    let help = "Checks against the list since start, by outcome.";
    let mut checks = family(encoder, "dnsbl_list_checks", help, MetricType::Counter)?;
    for list in stats {
        for (kind, count) in list.outcomes.iter() {
            let labels = [("list", &*list.list), ("outcome", kind.as_str())];
            checks
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
        }
    }
    let help = "How long the list's queries took.";
    let name = "dnsbl_list_query_duration_seconds";
    let mut latency = family(encoder, name, help, MetricType::Histogram)?;
    for list in stats {
        // prometheus-client counts the buckets up itself: hand it each bucket's own count.
        let mut below = 0;
        let buckets: Vec<(f64, u64)> = list
            .latency
            .cumulative_buckets()
            .map(|(bound, total)| {
                let own = total - below;
                below = total;
                (bound, own)
            })
            .collect();
        let sum = list.latency.sum().as_secs_f64();
        latency
            .encode_family(&[("list", &*list.list)])?
            .encode_histogram::<NoLabelSet>(sum, list.latency.count(), &buckets, None)?;
    }
    Ok(())
}

/// The schedule: when the last round ended, how long it took, how many ran.
fn rounds(
    encoder: &mut DescriptorEncoder<'_>,
    snapshot: &Snapshot,
    schedule: Schedule,
) -> Result<(), Error> {
    let unix = |time: SystemTime| {
        time.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    };
    if let Some(round) = snapshot.round {
        let help = "When the last round of checks finished (Unix time).";
        let name = "dnsbl_last_round_end_timestamp_seconds";
        gauge(encoder, name, help, unix(round.finished))?;
        let help = "How long the last round of checks took.";
        let name = "dnsbl_last_round_duration_seconds";
        gauge(encoder, name, help, round.elapsed.as_secs_f64())?;
        let help = "Targets checked in the last round.";
        gauge(encoder, "dnsbl_last_round_targets", help, round.targets)?;
    }
    let help = "Rounds of checks finished since start.";
    encoder
        .encode_descriptor("dnsbl_rounds", help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, u64>(&snapshot.rounds, None)?;
    let help = "How often a round of checks starts.";
    let interval = schedule.interval.as_secs_f64();
    gauge(encoder, "dnsbl_round_interval_seconds", help, interval)?;
    let help = "When the exporter started (Unix time).";
    let name = "dnsbl_exporter_start_time_seconds";
    gauge(encoder, name, help, unix(schedule.started))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(target: &str, list: &str, status: Status) -> Pair {
        Pair {
            target: target.into(),
            list: list.into(),
            status,
            last_listed: None,
        }
    }

    #[test]
    fn a_failing_check_keeps_the_last_answer_marked_stale() {
        let mut failing = pair("192.0.2.1", "a", Status::Trouble("refused"));
        failing.last_listed = Some(true);
        let never_answered = pair("192.0.2.2", "a", Status::Trouble("timeout"));
        let fresh = pair("192.0.2.3", "a", Status::NotListed);
        let snapshot = Snapshot {
            pairs: vec![failing, never_answered, fresh],
            ..Snapshot::default()
        };
        let schedule = Schedule {
            interval: Duration::from_secs(60),
            started: SystemTime::UNIX_EPOCH,
        };
        let page = metrics(Arc::new(snapshot), Vec::new(), schedule);
        for line in [
            "dnsbl_listed{target=\"192.0.2.1\",list=\"a\"} 1",
            "dnsbl_listed_stale{target=\"192.0.2.1\",list=\"a\"} 1",
            "dnsbl_check_trouble{target=\"192.0.2.1\",list=\"a\",kind=\"refused\"} 1",
            "dnsbl_listed{target=\"192.0.2.3\",list=\"a\"} 0",
            "dnsbl_listed_stale{target=\"192.0.2.3\",list=\"a\"} 0",
        ] {
            assert!(page.lines().any(|l| l == line), "{line} not in\n{page}");
        }
        assert!(
            !page.contains("dnsbl_listed{target=\"192.0.2.2\""),
            "no answer ever: no series\n{page}"
        );
    }

    #[test]
    fn codes_not_counted_show_apart_from_listings() {
        let codes = vec![(
            "127.0.1.102".parse().unwrap(),
            vec!["abused legit".to_owned()],
        )];
        let page = probe(
            vec![pair("example.com", "dbl", Status::NotCounted(codes))],
            Vec::new(),
            Vec::new(),
            Duration::ZERO,
        );
        assert!(
            page.contains("dnsbl_listed{target=\"example.com\",list=\"dbl\"} 0"),
            "{page}"
        );
        assert!(
            page.contains(
                "dnsbl_not_counted_info{target=\"example.com\",list=\"dbl\",code=\"127.0.1.102\",category=\"abused legit\"} 1"
            ),
            "{page}"
        );
        assert!(!page.contains("dnsbl_listing_info{"), "{page}");
        assert!(page.contains("probe_success 1"), "{page}");
    }

    #[test]
    fn a_list_in_trouble_never_shows_as_clean() {
        let listed = Status::Listed(vec![
            ("127.0.0.2".parse().unwrap(), vec!["spam".into()]),
            ("127.0.0.4".parse().unwrap(), vec![]),
        ]);
        let snapshot = Snapshot {
            pairs: vec![
                pair("192.0.2.1", "a", listed),
                pair("192.0.2.1", "b", Status::NotListed),
                pair("192.0.2.1", "c", Status::Trouble("timeout")),
            ],
            ..Snapshot::default()
        };
        let schedule = Schedule {
            interval: Duration::from_secs(60),
            started: SystemTime::UNIX_EPOCH,
        };
        let page = metrics(Arc::new(snapshot), Vec::new(), schedule);
        let lines: Vec<&str> = page.lines().filter(|l| !l.starts_with('#')).collect();
        for expected in [
            r#"dnsbl_listed{target="192.0.2.1",list="a"} 1"#,
            r#"dnsbl_listed{target="192.0.2.1",list="b"} 0"#,
            r#"dnsbl_check_trouble{target="192.0.2.1",list="c",kind="timeout"} 1"#,
            r#"dnsbl_listing_info{target="192.0.2.1",list="a",code="127.0.0.2",category="spam"} 1"#,
            r#"dnsbl_listing_info{target="192.0.2.1",list="a",code="127.0.0.4",category=""} 1"#,
            "dnsbl_rounds_total 0",
            "dnsbl_round_interval_seconds 60.0",
        ] {
            assert!(
                lines.contains(&expected),
                "{expected} missing from:\n{page}"
            );
        }
        assert!(!page.contains(r#"dnsbl_listed{target="192.0.2.1",list="c"}"#));
        // No round yet: no timestamp that would claim one.
        assert!(!page.contains("dnsbl_last_round_end_timestamp_seconds "));
    }

    #[test]
    fn probe_success_needs_every_list_to_answer() {
        let clean = [pair("192.0.2.1", "a", Status::NotListed)];
        let page = probe(clean.to_vec(), vec![], vec![], Duration::from_millis(5));
        assert!(page.contains("\nprobe_success 1\n"), "{page}");
        let lookup_failed = vec![HostTrouble {
            domain: "example.org".into(),
            source: "mx",
            kind: "timeout",
        }];
        let page = probe(clean.to_vec(), vec![], lookup_failed, Duration::ZERO);
        assert!(page.contains("\nprobe_success 0\n"), "{page}");
        let mut failing = clean.to_vec();
        failing.push(pair("192.0.2.1", "b", Status::Trouble("servfail")));
        let page = probe(failing, vec![], vec![], Duration::from_millis(5));
        assert!(page.contains("\nprobe_success 0\n"), "{page}");
    }

    #[test]
    fn label_values_are_escaped() {
        let hostile = pair("a\"b\\c\nd", "l", Status::NotListed);
        let page = probe(vec![hostile], vec![], vec![], Duration::ZERO);
        assert!(page.contains(r#"target="a\"b\\c\nd""#), "{page}");
    }
}
