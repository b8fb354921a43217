//! The queries a day a monitor sends to each list, against the list's free-use limit.
//!
//! A watch of a /20 every five minutes is 4,096 × 288 = 1.2 million queries a day to each
//! list, four times what Spamhaus allows for free. [`QueryBudget`] computes, per list, the
//! queries a day a monitor will send (targets the list takes × rounds a day, plus the
//! test-point probes: 2 per address family per health interval), and compares them with the
//! list's published limit ([`presets::usage_limit`]). TXT lookups for listed targets come on
//! top; they are few.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::hosts::{self, HostSource};
use crate::list::{DnsList, ListKind};
use crate::presets::{self, UsageLimit};
use crate::resolver::DnsResolver;
use crate::spf;
use crate::target::{DomainName, Target, TargetSpec};

/// A domain whose SPF record authorizes more addresses than a monitor will watch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{domain}: its SPF record authorizes {addresses} addresses")]
#[non_exhaustive]
pub struct SpfTooWide {
    /// The domain.
    pub domain: String,
    /// The addresses its SPF networks hold.
    pub addresses: u128,
}

/// Seconds in a day.
const DAY: u64 = 86_400;

/// How many targets of each kind a monitor checks each round.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::TargetCounts;
///
/// let mut counts = TargetCounts::default();
/// counts.add(&"192.0.2.0/24".parse().unwrap());
/// counts.add(&"example.org".parse().unwrap());
/// assert_eq!((counts.ipv4, counts.ipv6, counts.domains), (256, 0, 1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetCounts {
    /// IPv4 addresses.
    pub ipv4: u64,
    /// IPv6 addresses.
    pub ipv6: u64,
    /// Domain names.
    pub domains: u64,
}

impl TargetCounts {
    /// Counts every target of `spec` (a network's addresses, saturating).
    pub fn add(&mut self, spec: &TargetSpec) {
        let count = u64::try_from(spec.len()).unwrap_or(u64::MAX);
        let slot = match spec {
            TargetSpec::Network(net) if net.addr().is_ipv4() => &mut self.ipv4,
            TargetSpec::Network(_) => &mut self.ipv6,
            TargetSpec::One(Target::Ip(IpAddr::V4(_))) => &mut self.ipv4,
            TargetSpec::One(Target::Ip(IpAddr::V6(_))) => &mut self.ipv6,
            TargetSpec::One(_) => &mut self.domains,
        };
        *slot = slot.saturating_add(count);
    }

    /// Counts one address (found for a domain, say).
    pub fn add_address(&mut self, addr: IpAddr) {
        self.add(&TargetSpec::One(Target::ip(addr)));
    }

    /// Counts the addresses `resolver` finds for each (domain, source) pair: its mail servers'
    /// or its own addresses (each address once, across every domain), or the networks its SPF
    /// record authorizes. The domains are looked up once, for the count; a domain whose SPF
    /// networks hold more than `max_spf_addresses` is an error naming it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use dnsbl_check::hosts::HostSource;
    /// use dnsbl_check::monitor::TargetCounts;
    /// use dnsbl_check::target::DomainName;
    /// use dnsbl_check::HickoryResolver;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = HickoryResolver::builder().name_server("127.0.0.1:5353".parse()?).build()?;
    /// let domain = DomainName::new("example.org")?;
    /// let mut counts = TargetCounts::default();
    /// counts
    ///     .add_hosts(&resolver, [(&domain, HostSource::Mx)], u128::MAX)
    ///     .await?;
    /// println!("{} IPv4 addresses", counts.ipv4);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn add_hosts<'a, R: DnsResolver>(
        &mut self,
        resolver: &R,
        domains: impl IntoIterator<Item = (&'a DomainName, HostSource)>,
        max_spf_addresses: u128,
    ) -> Result<(), SpfTooWide> {
        let mut seen = HashSet::new();
        for (domain, source) in domains {
            if source == HostSource::Spf {
                let senders = spf::expand(resolver, domain).await;
                let addresses = senders.addresses();
                if addresses > max_spf_addresses {
                    return Err(SpfTooWide {
                        domain: domain.to_string(),
                        addresses,
                    });
                }
                for network in &senders.networks {
                    self.add(&TargetSpec::Network(network.network));
                }
                continue;
            }
            for found in hosts::expand(resolver, domain, source).await.addresses {
                if seen.insert(found.addr) {
                    self.add_address(found.addr);
                }
            }
        }
        Ok(())
    }

    /// How many of these targets a list of `kind` is asked about.
    pub fn taken_by(&self, kind: ListKind) -> u64 {
        match kind {
            ListKind::Ip => self.ipv4.saturating_add(self.ipv6),
            ListKind::Ipv4 => self.ipv4,
            ListKind::Ipv6 => self.ipv6,
            ListKind::Domain => self.domains,
        }
    }
}

/// One list's queries a day.
///
/// # Examples
///
/// See [`QueryBudget`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListBudget {
    /// The list's name.
    pub list: String,
    /// Targets it is asked about each round.
    pub targets: u64,
    /// Rounds a day.
    pub rounds_per_day: u64,
    /// Test-point queries a day (0 without health checks).
    pub health_queries_per_day: u64,
    /// All queries a day: `targets × rounds_per_day + health_queries_per_day`.
    pub queries_per_day: u64,
    /// The list's free-use limit, if it publishes one.
    pub limit: Option<UsageLimit>,
    /// The shortest interval, in seconds, that keeps this list under its limit (`None` when
    /// there is no limit, or when the health probes alone exceed it).
    pub shortest_interval: Option<u64>,
}

impl ListBudget {
    /// Whether the queries a day exceed the list's limit.
    pub fn over_limit(&self) -> bool {
        self.limit
            .is_some_and(|limit| self.queries_per_day > limit.queries_per_day)
    }
}

impl fmt::Display for ListBudget {
    /// `spamhaus-zen: 4096 targets × 288 rounds + 1152 test-point queries = 1180800 queries a
    /// day (free-use limit 300000)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} targets × {} rounds + {} test-point queries = {} queries a day",
            self.list,
            self.targets,
            self.rounds_per_day,
            self.health_queries_per_day,
            self.queries_per_day
        )?;
        match self.limit {
            Some(limit) => write!(f, " (free-use limit {})", limit.queries_per_day),
            None => f.write_str(" (no published limit)"),
        }
    }
}

/// The queries a day a monitor sends to each of its lists: targets the list takes × rounds a
/// day, plus the test-point probes (2 per address family per health interval), against the
/// list's published free-use limit ([`presets::usage_limit`]). TXT lookups for listed targets
/// come on top; they are few.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::monitor::{QueryBudget, TargetCounts};
/// use dnsbl_check::presets;
///
/// // A /20 every five minutes, with test-point probes every five minutes.
/// let mut counts = TargetCounts::default();
/// counts.add(&"198.51.100.0/20".parse().unwrap());
/// let zen = presets::list("spamhaus-zen", None).unwrap();
/// let five_minutes = Duration::from_secs(300);
/// let budget = QueryBudget::new([&zen], counts, five_minutes, Some(five_minutes));
/// let zen = &budget.lists[0];
/// assert_eq!(zen.queries_per_day, 4096 * 288 + 2 * 2 * 288);
/// assert!(zen.over_limit());
/// assert_eq!(zen.shortest_interval, Some(1200));
/// assert!(budget.refusal("--watch").unwrap().contains("1180800 queries a day"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryBudget {
    /// Each list's budget, in the order given.
    pub lists: Vec<ListBudget>,
}

impl QueryBudget {
    /// The budget of checking `counts` every `interval` (at least a second) against `lists`,
    /// probing their test points every `health_interval` (`None`: no health checks).
    pub fn new<'a>(
        lists: impl IntoIterator<Item = &'a DnsList>,
        counts: TargetCounts,
        interval: Duration,
        health_interval: Option<Duration>,
    ) -> Self {
        let per_day = |every: Duration| DAY.div_ceil(every.as_secs().max(1));
        let rounds_per_day = per_day(interval);
        let lists = lists
            .into_iter()
            .map(|list| {
                let targets = counts.taken_by(list.kind());
                // Two test points per address family (RFC 5782 §7): an IP list serves both.
                let families = if list.kind() == ListKind::Ip { 2 } else { 1 };
                let health = match (health_interval, list.health_check()) {
                    (Some(every), true) => 2 * families * per_day(every),
                    _ => 0,
                };
                let queries_per_day = targets
                    .saturating_mul(rounds_per_day)
                    .saturating_add(health);
                let limit = presets::usage_limit(list);
                let shortest_interval = limit.and_then(|limit| {
                    let room = limit.queries_per_day.checked_sub(health)?;
                    // At most `rounds` rounds a day fit; an interval of ⌈DAY / rounds⌉ gives
                    // at most that many, as ⌈DAY / interval⌉ ≤ rounds.
                    let rounds = room.checked_div(targets).unwrap_or(DAY).min(DAY);
                    (rounds > 0).then(|| DAY.div_ceil(rounds))
                });
                ListBudget {
                    list: list.name().to_owned(),
                    targets,
                    rounds_per_day,
                    health_queries_per_day: health,
                    queries_per_day,
                    limit,
                    shortest_interval,
                }
            })
            .collect();
        QueryBudget { lists }
    }

    /// The lists whose limit would be exceeded.
    pub fn over_limit(&self) -> impl Iterator<Item = &ListBudget> {
        self.lists.iter().filter(|list| list.over_limit())
    }

    /// Why a monitor must not start, with the numbers and the ways out, if any list's limit
    /// would be exceeded. `interval_flag` names the option that sets the interval.
    pub fn refusal(&self, interval_flag: &str) -> Option<String> {
        let over: Vec<&ListBudget> = self.over_limit().collect();
        if over.is_empty() {
            return None;
        }
        let mut message = String::from("this would exceed the lists' free-use limits:");
        for list in over {
            let limit = list.limit.expect("over a limit");
            message.push_str(&format!("\n  {list}"));
            message.push_str("\n    ways out: ");
            if let Some(secs) = list.shortest_interval {
                message.push_str(&format!("{interval_flag} {secs} or longer; "));
            }
            message.push_str(&format!("fewer targets; {}", limit.beyond));
        }
        message.push_str(
            "\n  or --ignore-usage-limits to start anyway (if your agreement with the list \
             allows it)",
        );
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(specs: &[&str]) -> TargetCounts {
        let mut counts = TargetCounts::default();
        for spec in specs {
            counts.add(&spec.parse().unwrap());
        }
        counts
    }

    #[test]
    fn each_list_counts_the_targets_it_takes_and_its_probes() {
        let zen = presets::list("spamhaus-zen", None).unwrap();
        let dbl = presets::list("spamhaus-dbl", None).unwrap();
        let dnswl = presets::list("dnswl", None).unwrap();
        let own = DnsList::from_spec("bl.example", ListKind::Ipv4).unwrap();
        let counts = counts(&["192.0.2.0/28", "2001:db8::/126", "example.org"]);
        let hour = Duration::from_secs(3600);
        let budget = QueryBudget::new([&zen, &dbl, &dnswl, &own], counts, hour, None);
        let rows: Vec<(u64, u64, bool)> = budget
            .lists
            .iter()
            .map(|l| (l.targets, l.queries_per_day, l.limit.is_some()))
            .collect();
        assert_eq!(
            rows,
            [
                (20, 480, true),
                (1, 24, true),
                (20, 480, true),
                (16, 384, false)
            ]
        );
        assert!(budget.refusal("--watch").is_none());
        // Probes every minute: 2 test points × 2 families × 1440 for an IP list.
        let minute = Duration::from_secs(60);
        let budget = QueryBudget::new([&zen, &dbl], counts, hour, Some(minute));
        assert_eq!(budget.lists[0].health_queries_per_day, 5760);
        assert_eq!(budget.lists[1].health_queries_per_day, 2880);
    }

    #[test]
    fn over_a_limit_the_refusal_gives_the_numbers_and_the_ways_out() {
        let dnswl = presets::list("dnswl", None).unwrap();
        let keyed = presets::list("spamhaus-zen", Some("abcdefghijklmnopqrstuvwxyz")).unwrap();
        let counts = counts(&["192.0.2.0/24"]);
        let minute = Duration::from_secs(60);
        let budget = QueryBudget::new([&dnswl, &keyed], counts, minute, None);
        assert_eq!(budget.lists[0].queries_per_day, 256 * 1440);
        let message = budget.refusal("--watch").unwrap();
        assert!(
            message.contains("dnswl: 256 targets × 1440 rounds"),
            "{message}"
        );
        assert!(message.contains("free-use limit 100000"), "{message}");
        assert!(message.contains("--watch 222 or longer"), "{message}");
        assert!(message.contains("subscription"), "{message}");
        // A DQS key's own terms apply: no limit is enforced on a keyed zone.
        assert!(!budget.lists[1].over_limit());
        assert!(!message.contains("abcdefghijklmnopqrstuvwxyz"));
        // The shortest interval keeps the list under its limit.
        let secs = budget.lists[0].shortest_interval.unwrap();
        let at = QueryBudget::new([&dnswl], counts, Duration::from_secs(secs), None);
        assert!(!at.lists[0].over_limit());
        let below = QueryBudget::new([&dnswl], counts, Duration::from_secs(secs - 1), None);
        assert!(below.lists[0].over_limit());
    }
}
