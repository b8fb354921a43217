//! Checks answered at once from local mirrors (`Checker::check_now`, `Survey::check_now`, and
//! the bulk streams that use them) give the reports that checks waiting on lookups give.

use std::fs;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use dnsbl_check::resolver::mirror::MirrorResolver;
use dnsbl_check::stats::OutcomeKind;
use dnsbl_check::survey::{Survey, SurveyTarget};
use dnsbl_check::{Checker, DnsList, DnsResolver, ListKind, Target, TxtLookup};
use futures::StreamExt;

use crate::support::TestDns;

/// An IP list's data: the RFC 5782 test point, per-entry values with substitution, a network
/// with a hole in it, and an entry whose code a filter leaves out.
const IP_DATA: &str = "\
:127.0.0.2:Listed, see https://bl.test/q?$
127.0.0.2
192.0.2.0/24 :127.0.0.3:Spam source $
!192.0.2.7
198.51.100.9 :127.0.0.4:
203.0.113.5 :127.0.0.10:Code the list filters out
";

/// A domain list's data.
const DOMAIN_DATA: &str = "\
:127.0.1.2:Listed domain $
test
spam.example
*.bad.example
";

fn mirror_over<R: DnsResolver>(dir: &Path, inner: R) -> MirrorResolver<R> {
    let ip = dir.join("ip");
    let domains = dir.join("domains");
    fs::write(&ip, IP_DATA).unwrap();
    fs::write(&domains, DOMAIN_DATA).unwrap();
    MirrorResolver::builder()
        .zone_data(format!("bl.test:ip4set:{}", ip.display()).parse().unwrap())
        .zone_data(
            format!("dbl.test:dnset:{}", domains.display())
                .parse()
                .unwrap(),
        )
        .reload_interval(None)
        .build(inner)
        .unwrap()
}

fn lists() -> Vec<DnsList> {
    vec![
        DnsList::from_spec("bl.test=127.0.0.[2..4]", ListKind::Ip).unwrap(),
        DnsList::from_spec("dbl.test", ListKind::Domain).unwrap(),
    ]
}

/// How many of [`targets`] the data lists: 127.0.0.2, 192.0.2.1 (and its IPv4-mapped form),
/// 192.0.2.255, 198.51.100.9, spam.example and www.bad.example.
const LISTED: usize = 7;

fn targets() -> Vec<Target> {
    [
        "127.0.0.2",
        "192.0.2.1",
        "192.0.2.7",
        "192.0.2.255",
        "198.51.100.9",
        "198.51.100.10",
        "203.0.113.5",
        "10.0.0.1",
        "2001:db8::1",
        "::ffff:192.0.2.1",
        "spam.example",
        "www.bad.example",
        "bad.example",
        "clean.example",
    ]
    .iter()
    .map(|t| t.parse().unwrap())
    .collect()
}

/// A resolver behind the mirror that no query may reach.
fn nowhere() -> dnsbl_check::HickoryResolver {
    // A port nobody answers on: a lookup that reached it would time out as trouble, and the
    // reports compared below would differ.
    crate::support::resolver_at("127.0.0.1:9".parse().unwrap(), Duration::from_millis(50), 0)
}

#[tokio::test]
async fn a_check_at_once_gives_the_report_of_a_check_that_waits() {
    let dir = tempfile::tempdir().unwrap();
    for txt in [TxtLookup::Off, TxtLookup::WhenListed, TxtLookup::WithA] {
        let build = || {
            Checker::builder()
                .lists(lists())
                .txt_lookup(txt)
                .build_with(mirror_over(dir.path(), nowhere()))
                .unwrap()
        };
        let (waiting, at_once) = (build(), build());
        waiting.refresh_health().await;
        at_once.refresh_health().await;
        let mut listed = 0;
        for target in targets() {
            let expected = waiting.check(target.clone()).await;
            let report = at_once
                .check_now(&target)
                .unwrap_or_else(|| panic!("{target} was not answered at once"));
            assert_eq!(report, expected, "{target} with {txt:?}");
            listed += usize::from(report.listed);
        }
        assert_eq!(listed, LISTED, "the data lists {LISTED} of the targets");
        // Both kept the same statistics: one count per list and check.
        for (a, b) in waiting.stats().iter().zip(at_once.stats()) {
            assert_eq!(a.outcomes, b.outcomes, "{}", a.list);
            assert_eq!(a.latency.count(), b.latency.count(), "{}", a.list);
        }
    }
}

#[tokio::test]
async fn nothing_is_answered_at_once_while_a_probe_is_due_or_a_list_is_live() {
    let dir = tempfile::tempdir().unwrap();
    let dns = TestDns::builder()
        .healthy_ip_zone("live.test")
        .start()
        .await;
    let live = crate::support::resolver_at(dns.addr, Duration::from_secs(2), 1);
    let mirrored = Checker::builder()
        .lists(lists())
        .build_with(mirror_over(dir.path(), nowhere()))
        .unwrap();
    let target: Target = "192.0.2.1".parse().unwrap();
    // Not yet probed: the first check must wait for the lists' health.
    assert!(mirrored.check_now(&target).is_none());
    mirrored.refresh_health().await;
    assert!(
        mirrored
            .check_now(&target)
            .is_some_and(|report| report.listed)
    );

    let mixed = Checker::builder()
        .lists(lists())
        .list(DnsList::from_spec("live.test", ListKind::Ip).unwrap())
        .build_with(mirror_over(dir.path(), live))
        .unwrap();
    mixed.refresh_health().await;
    assert!(
        mixed.check_now(&target).is_none(),
        "a live list takes a lookup"
    );
    // A check that could not be answered at once counted nothing.
    for stats in mixed.stats() {
        assert_eq!(stats.outcomes.get(OutcomeKind::Listed), 0, "{}", stats.list);
        assert_eq!(
            stats.outcomes.get(OutcomeKind::NotListed),
            0,
            "{}",
            stats.list
        );
    }
    let report = mixed.check(target).await;
    assert_eq!(report.results.len(), 3);
    assert!(!report.has_trouble(), "{report:?}");
}

#[tokio::test]
async fn bulk_streams_mix_answers_at_once_with_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let dns = TestDns::builder()
        .healthy_ip_zone("live.test")
        .a("1.0.2.192.live.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let live = crate::support::resolver_at(dns.addr, Duration::from_secs(2), 1);
    // Domains are answered at once (the live list takes addresses only); addresses wait.
    let checker = Checker::builder()
        .lists(lists())
        .list(DnsList::from_spec("live.test", ListKind::Ip).unwrap())
        .max_queries_in_flight(6)
        .build_with(mirror_over(dir.path(), live))
        .unwrap();
    checker.refresh_health().await;
    let mut expected = Vec::new();
    for target in targets() {
        expected.push(checker.check(target).await);
    }
    let mut reports: Vec<_> = checker.check_iter(targets()).collect().await;
    let key = |report: &dnsbl_check::Report| report.target.to_string();
    reports.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(reports, expected);
    assert!(reports.iter().any(|r| r.results[2].outcome.is_listed()));

    // The survey's stream gives the same reports (without the lists that do not take the
    // target), and nothing at once when asked for more.
    for report in &mut expected {
        report.retain_applicable();
    }
    let survey = Survey::new(checker.clone());
    let jobs = targets().into_iter().map(SurveyTarget::new);
    let mut surveyed: Vec<_> = survey
        .check_stream(futures::stream::iter(jobs))
        .map(|checked| checked.report)
        .collect()
        .await;
    surveyed.sort_by_key(key);
    assert_eq!(surveyed, expected);
    let domain = SurveyTarget::new("spam.example".parse().unwrap());
    assert!(
        survey.check_now(&domain).is_some(),
        "the lists only, all mirrored"
    );
    let spf = Survey::new(checker.clone()).spf(true);
    assert!(spf.check_now(&domain).is_none(), "SPF takes lookups");
    let address: IpAddr = "2001:db8::1".parse().unwrap();
    let job = SurveyTarget::new(Target::Ip(address));
    assert!(
        survey.check_now(&job).is_none(),
        "the live list takes a lookup"
    );
}
