//! `Checker::stats`: the per-list counts match what was asked, against an in-process server.

use std::time::Duration;

use crate::support::{TestDns, resolver_at};
use dnsbl_check::stats::OutcomeKind;
use dnsbl_check::{Checker, DnsList, ListHealth, ListKind};

#[tokio::test]
async fn counts_match_what_was_asked() {
    let dns = crate::support::every_kind_of_answer(TestDns::builder())
        .wildcard_a("dead.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let lists = [
        DnsList::from_spec("bl.test=127.0.0.[2..11]", ListKind::Ip).unwrap(),
        DnsList::from_spec("dead.test", ListKind::Ip).unwrap(),
        DnsList::from_spec("domains.test", ListKind::Domain).unwrap(),
    ];
    let checker = Checker::builder()
        .lists(lists)
        .fetch_txt(false)
        .build_with(resolver_at(dns.addr, Duration::from_millis(300), 0))
        .unwrap();
    // (last octet under 192.0.2.0/24, how often, what bl.test says)
    let asked: &[(u8, u64, OutcomeKind)] = &[
        (10, 2, OutcomeKind::Listed),
        (11, 1, OutcomeKind::Listed),
        (1, 3, OutcomeKind::NotListed),
        (18, 1, OutcomeKind::NoData),
        (12, 2, OutcomeKind::ListError),
        (14, 1, OutcomeKind::Invalid),
        (15, 1, OutcomeKind::ServFail),
        (16, 1, OutcomeKind::Timeout),
        (17, 2, OutcomeKind::Refused),
    ];
    for &(octet, times, _) in asked {
        for _ in 0..times {
            checker
                .check(format!("192.0.2.{octet}").parse().unwrap())
                .await;
        }
    }
    let checks: u64 = asked.iter().map(|&(_, times, _)| times).sum();

    let stats = checker.stats();
    assert_eq!(stats.len(), 3);
    let bl = &stats[0];
    assert_eq!(bl.list, "bl.test");
    assert_eq!(bl.health, ListHealth::Healthy);
    for kind in OutcomeKind::ALL {
        let expected: u64 = asked
            .iter()
            .filter(|&&(_, _, said)| said == kind)
            .map(|&(_, times, _)| times)
            .sum();
        assert_eq!(bl.outcomes.get(kind), expected, "{kind}");
    }
    assert_eq!(bl.outcomes.total(), checks);
    assert_eq!(bl.outcomes.trouble(), 8);
    // Every check sent a query; the silent one took at least the timeout.
    assert_eq!(bl.latency.count(), checks);
    assert!(bl.latency.sum() >= Duration::from_millis(300), "{bl:?}");
    let at_or_below_100ms = bl
        .latency
        .cumulative_buckets()
        .find(|&(bound, _)| bound == 0.1)
        .unwrap()
        .1;
    assert!(at_or_below_100ms < checks, "{bl:?}");

    // The list that lists everything is skipped, without a query.
    let dead = &stats[1];
    assert!(matches!(dead.health, ListHealth::Unhealthy(_)), "{dead:?}");
    assert_eq!(dead.outcomes.get(OutcomeKind::Unhealthy), checks);
    assert_eq!(dead.outcomes.total(), checks);
    assert_eq!(dead.latency.count(), 0);

    // A domain list is not asked about addresses, and nothing is counted.
    assert_eq!(stats[2].outcomes.total(), 0);
    assert_eq!(stats[2].latency.count(), 0);
}
