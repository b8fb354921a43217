//! Counting a run's reports: what a summary line, a monitoring plugin and an exit status need.
//!
//! A [`Summary`] takes each [`Report`] once, with the network it came from when it was one
//! address of a scanned block, and keeps counts per list and per (network, list): a `/20`
//! scan ends with one line per list instead of 4,096 "not listed" blocks.

use std::collections::HashMap;

use ipnet::IpNet;
use serde::Serialize;

use crate::outcome::Report;

/// What one list said over a run.
///
/// # Examples
///
/// ```
/// use dnsbl_check::summary::ListCounts;
///
/// let counts = ListCounts::default();
/// assert_eq!(counts.checked, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListCounts {
    /// Targets the list was asked about (lists that do not take a target's kind are left out).
    pub checked: u64,
    /// Targets it lists (allowlists included).
    pub listed: u64,
    /// Targets it gave trouble for: failed, operator error, invalid answer, unhealthy.
    pub trouble: u64,
}

/// The counts of one scanned network: per list, in the order lists were met.
///
/// # Examples
///
/// ```
/// use dnsbl_check::summary::NetworkCounts;
///
/// let counts = NetworkCounts::new("192.0.2.0/24".parse().unwrap());
/// assert_eq!(counts.checked, 0);
/// assert!(counts.lists.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkCounts {
    /// The network.
    pub network: IpNet,
    /// Addresses of it checked.
    pub checked: u64,
    /// Per list name.
    pub lists: Vec<(String, ListCounts)>,
}

impl NetworkCounts {
    /// A network with nothing counted yet.
    pub fn new(network: IpNet) -> Self {
        NetworkCounts {
            network,
            checked: 0,
            lists: Vec::new(),
        }
    }
}

/// The counts of a run.
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
/// use dnsbl_check::summary::Summary;
/// use dnsbl_check::{Checker, TargetSpec, presets};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let checker = Checker::builder().lists(presets::default_lists()).build()?;
/// let mut summary = Summary::new(checker.lists().map(|list| list.name().to_owned()));
/// let TargetSpec::Network(net) = "192.0.2.0/28".parse()? else { unreachable!() };
/// let mut reports = checker.check_iter(TargetSpec::Network(net));
/// while let Some(report) = reports.next().await {
///     summary.add(&report, Some(net), false);
/// }
/// for (list, counts) in &summary.networks[0].lists {
///     println!("{net} {list}: {} checked, {} listed", counts.checked, counts.listed);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Reports counted.
    pub targets: u64,
    /// Targets whose verdict is "listed".
    pub listed_targets: u64,
    /// (target, list) pairs listed by a list of positive weight: what monitoring thresholds
    /// count. An allowlist's listing is good news, and not counted.
    pub listings: u64,
    /// (target, list) pairs listed by a list of weight 0: reported, not counted in
    /// [`Summary::listings`] nor in any score.
    pub weightless_listings: u64,
    /// (target, list) pairs whose list answered only codes its filter does not count
    /// ([`Outcome::NotCounted`](crate::Outcome::NotCounted)).
    pub not_counted: u64,
    /// Targets whose check is incomplete: a list gave trouble, no list took the target, or
    /// another check of it (reverse DNS, mail servers) failed.
    pub incomplete: u64,
    /// Per list, in configured order.
    pub lists: Vec<(String, ListCounts)>,
    /// Per scanned network, in the order first met.
    pub networks: Vec<NetworkCounts>,
    #[serde(skip)]
    network_index: HashMap<IpNet, usize>,
}

impl Summary {
    /// A summary for these lists, in the order they are to be shown.
    pub fn new<S: Into<String>>(lists: impl IntoIterator<Item = S>) -> Self {
        Summary {
            lists: lists
                .into_iter()
                .map(|name| (name.into(), ListCounts::default()))
                .collect(),
            ..Summary::default()
        }
    }

    /// Counts one report. `network` is the scanned network it belongs to, if any;
    /// `other_trouble` says that another check of the target failed (reverse DNS, say).
    pub fn add(&mut self, report: &Report, network: Option<IpNet>, other_trouble: bool) {
        self.targets += 1;
        self.listed_targets += u64::from(report.listed);
        if report.has_trouble() || report.results.is_empty() || other_trouble {
            self.incomplete += 1;
        }
        let network = network.map(|net| self.network(net));
        if let Some(index) = network {
            self.networks[index].checked += 1;
        }
        for result in report.results.iter().filter(|r| r.outcome.applies()) {
            let listed = result.outcome.is_listed();
            if listed && result.weight > 0 {
                self.listings += 1;
            }
            if listed && result.weight == 0 {
                self.weightless_listings += 1;
            }
            if let crate::Outcome::NotCounted(_) = result.outcome {
                self.not_counted += 1;
            }
            let trouble = result.outcome.is_trouble();
            count(&mut self.lists, &result.list, listed, trouble);
            if let Some(index) = network {
                count(
                    &mut self.networks[index].lists,
                    &result.list,
                    listed,
                    trouble,
                );
            }
        }
    }

    /// Adds the counts of `other`, a summary of other reports of the same run: a run split
    /// over threads counts each share apart and merges the shares, as if one summary had
    /// counted every report. Lists and networks new to `self` come after its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::summary::Summary;
    ///
    /// let mut whole = Summary::new(["a.test"]);
    /// let mut share = Summary::new(["a.test"]);
    /// share.targets = 3;
    /// share.lists[0].1.checked = 3;
    /// whole.targets = 2;
    /// whole.lists[0].1.checked = 2;
    /// whole.merge(&share);
    /// assert_eq!(whole.targets, 5);
    /// assert_eq!(whole.lists[0].1.checked, 5);
    /// ```
    pub fn merge(&mut self, other: &Summary) {
        self.targets += other.targets;
        self.listed_targets += other.listed_targets;
        self.listings += other.listings;
        self.weightless_listings += other.weightless_listings;
        self.not_counted += other.not_counted;
        self.incomplete += other.incomplete;
        merge_lists(&mut self.lists, &other.lists);
        for network in &other.networks {
            let index = self.network(network.network);
            let mine = &mut self.networks[index];
            mine.checked += network.checked;
            merge_lists(&mut mine.lists, &network.lists);
        }
    }

    /// Nothing listed and nothing incomplete.
    pub fn is_clean(&self) -> bool {
        self.listings == 0 && self.listed_targets == 0 && self.incomplete == 0
    }

    /// Lists that were asked about at least one target.
    pub fn lists_asked(&self) -> usize {
        self.lists.iter().filter(|(_, c)| c.checked > 0).count()
    }

    /// Lists that gave trouble for at least one target.
    pub fn lists_in_trouble(&self) -> usize {
        self.lists.iter().filter(|(_, c)| c.trouble > 0).count()
    }

    fn network(&mut self, network: IpNet) -> usize {
        if let Some(&index) = self.network_index.get(&network) {
            return index;
        }
        self.networks.push(NetworkCounts::new(network));
        let index = self.networks.len() - 1;
        self.network_index.insert(network, index);
        index
    }
}

fn count(lists: &mut Vec<(String, ListCounts)>, name: &str, listed: bool, trouble: bool) {
    let counts = counts_of(lists, name);
    counts.checked += 1;
    counts.listed += u64::from(listed);
    counts.trouble += u64::from(trouble);
}

/// Adds each list's counts of `other` to those of the same list in `lists`.
fn merge_lists(lists: &mut Vec<(String, ListCounts)>, other: &[(String, ListCounts)]) {
    for (name, theirs) in other {
        let counts = counts_of(lists, name);
        counts.checked += theirs.checked;
        counts.listed += theirs.listed;
        counts.trouble += theirs.trouble;
    }
}

/// The counts of the list `name`, added (all zero) if it has none yet.
fn counts_of<'a>(lists: &'a mut Vec<(String, ListCounts)>, name: &str) -> &'a mut ListCounts {
    let index = match lists.iter().position(|(known, _)| known == name) {
        Some(index) => index,
        None => {
            lists.push((name.to_owned(), ListCounts::default()));
            lists.len() - 1
        }
    };
    &mut lists[index].1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DnsList, ListKind, ListResult, Listing, LookupError, LookupErrorKind, Outcome};

    fn result(list: &str, weight: i32, outcome: Outcome) -> ListResult {
        let list = DnsList::from_spec(list, ListKind::Ip)
            .unwrap()
            .with_weight(weight);
        ListResult::new(&list, outcome)
    }

    fn listed() -> Outcome {
        Outcome::Listed(Listing {
            codes: vec!["127.0.0.2".parse().unwrap()],
            categories: vec![],
            reasons: vec![],
            ttl: 60,
        })
    }

    fn report(target: &str, results: Vec<ListResult>) -> Report {
        Report::new(target.parse().unwrap(), results, 1)
    }

    #[test]
    fn counts_listings_trouble_and_networks() {
        let mut summary = Summary::new(["a.test", "b.test", "white.test"]);
        let net: IpNet = "192.0.2.0/30".parse().unwrap();
        let failed = || Outcome::Failed(LookupError::new(LookupErrorKind::Timeout));
        summary.add(
            &report(
                "192.0.2.1",
                vec![
                    result("a.test", 1, listed()),
                    result("b.test", 1, Outcome::NotListed),
                    result("white.test", -2, listed()),
                ],
            ),
            Some(net),
            false,
        );
        summary.add(
            &report(
                "192.0.2.2",
                vec![
                    result("a.test", 1, Outcome::NotListed),
                    result("b.test", 1, failed()),
                    result("white.test", -2, Outcome::NotListed),
                ],
            ),
            Some(net),
            false,
        );
        summary.add(
            &report(
                "198.51.100.1",
                vec![result("a.test", 1, Outcome::NotListed)],
            ),
            None,
            true,
        );
        assert_eq!(summary.targets, 3);
        assert_eq!(
            summary.listings, 1,
            "the allowlist's listing is not counted"
        );
        assert_eq!(
            summary.listed_targets, 0,
            "the allowlist outweighs the listing"
        );
        assert_eq!(summary.incomplete, 2);
        assert_eq!(summary.lists_asked(), 3);
        assert_eq!(summary.lists_in_trouble(), 1);
        assert_eq!(summary.networks.len(), 1);
        let network = &summary.networks[0];
        assert_eq!(network.checked, 2);
        let b = &network.lists.iter().find(|(n, _)| n == "b.test").unwrap().1;
        assert_eq!((b.checked, b.listed, b.trouble), (2, 0, 1));
        let a = &summary.lists[0].1;
        assert_eq!((a.checked, a.listed, a.trouble), (3, 1, 0));
        assert!(!summary.is_clean());
    }

    #[test]
    fn weightless_listings_and_codes_not_counted_are_counted_apart() {
        let mut summary = Summary::new(["info.test", "dbl.test"]);
        let not_counted = Outcome::NotCounted(Listing {
            codes: vec!["127.0.1.102".parse().unwrap()],
            categories: vec![],
            reasons: vec![],
            ttl: 60,
        });
        summary.add(
            &report(
                "192.0.2.1",
                vec![
                    result("info.test", 0, listed()),
                    result("dbl.test", 1, not_counted),
                ],
            ),
            None,
            false,
        );
        assert_eq!(summary.listings, 0);
        assert_eq!(summary.listed_targets, 0);
        assert_eq!(summary.weightless_listings, 1);
        assert_eq!(summary.not_counted, 1);
        assert_eq!(summary.incomplete, 0, "neither is trouble");
    }

    #[test]
    fn merged_shares_count_as_one_summary_of_every_report() {
        let nets: [IpNet; 2] = [
            "192.0.2.0/30".parse().unwrap(),
            "198.51.100.0/30".parse().unwrap(),
        ];
        let failed = || Outcome::Failed(LookupError::new(LookupErrorKind::Timeout));
        let reports = [
            (
                report("192.0.2.1", vec![result("a.test", 1, listed())]),
                Some(nets[0]),
            ),
            (
                report("192.0.2.2", vec![result("b.test", 1, failed())]),
                Some(nets[0]),
            ),
            (
                report("198.51.100.1", vec![result("a.test", 0, listed())]),
                Some(nets[1]),
            ),
            (
                report("203.0.113.1", vec![result("c.test", 1, Outcome::NotListed)]),
                None,
            ),
        ];
        let lists = ["a.test", "b.test"];
        let mut whole = Summary::new(lists);
        for (report, net) in &reports {
            whole.add(report, *net, false);
        }
        // The shares split the reports otherwise than in order, so each meets lists and
        // networks the other has not.
        let (mut first, mut second) = (Summary::new(lists), Summary::new(lists));
        for (i, (report, net)) in reports.iter().enumerate() {
            let share = if i % 2 == 0 { &mut first } else { &mut second };
            share.add(report, *net, false);
        }
        first.merge(&second);
        let sorted = |summary: &Summary| {
            let mut networks = summary.networks.clone();
            networks.sort_by_key(|n| n.network);
            (summary.lists.clone(), networks)
        };
        assert_eq!(sorted(&first), sorted(&whole));
        assert_eq!(
            (first.targets, first.listed_targets, first.listings),
            (whole.targets, whole.listed_targets, whole.listings)
        );
        assert_eq!(
            (
                first.weightless_listings,
                first.not_counted,
                first.incomplete
            ),
            (
                whole.weightless_listings,
                whole.not_counted,
                whole.incomplete
            )
        );
        // A network merged in is found again by what is counted next.
        first.add(&reports[2].0, Some(nets[1]), false);
        assert_eq!(first.networks.len(), 2);
    }
}
