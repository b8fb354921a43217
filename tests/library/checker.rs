//! The checker end to end, through the hickory resolver, against an in-process DNS server.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::support::{Behaviour, TestDns};
use dnsbl_check::list::TestPoints;
use dnsbl_check::outcome::{SkipReason, Unhealthy};
use std::net::Ipv4Addr;

use dnsbl_check::{
    Answer, Checker, CheckerBuilder, DnsList, DnsResolver, HickoryResolver, ListHealth, ListKind,
    LookupError, LookupErrorKind, Outcome, Report, Target,
};
use futures::StreamExt;

const ZONE: &str = "bl.test";

fn resolver(dns: &TestDns, timeout: Duration) -> HickoryResolver {
    crate::support::resolver_at(dns.addr, timeout, 0)
}

fn checker(dns: &TestDns, builder: CheckerBuilder) -> Checker {
    builder
        .build_with(resolver(dns, Duration::from_millis(500)))
        .unwrap()
}

/// A checker asking `dns` about the IP lists `specs`.
fn checker_of(dns: &TestDns, specs: &[&str]) -> Checker {
    checker(
        dns,
        Checker::builder().lists(specs.iter().map(|spec| ip_list(spec))),
    )
}

fn ip_list(spec: &str) -> DnsList {
    DnsList::from_spec(spec, ListKind::Ip).unwrap()
}

/// A server for `bl.test` with healthy test points and one entry per interesting case.
async fn standard_server() -> TestDns {
    crate::support::every_kind_of_answer(TestDns::builder())
        .start()
        .await
}

/// `bl.test` listing 192.0.2.10, and publishing no test points.
async fn without_test_points() -> TestDns {
    TestDns::builder()
        .zone(ZONE)
        .a("10.2.0.192.bl.test", &["127.0.0.2"], 60)
        .start()
        .await
}

async fn check(checker: &Checker, target: &str) -> Report {
    checker.check(target.parse().unwrap()).await
}

fn only(report: &Report) -> &Outcome {
    assert_eq!(report.results.len(), 1, "{report:?}");
    &report.results[0].outcome
}

/// The listing of the one list in `report`; panics on any other outcome.
fn listing_of(report: &Report) -> &dnsbl_check::Listing {
    match only(report) {
        Outcome::Listed(listing) => listing,
        _ => panic!("{report:?}"),
    }
}

/// A checker asking `dns` about the IP list [`ZONE`] without health checks, configured
/// further by `configure`.
fn unprobed(dns: &TestDns, configure: impl FnOnce(CheckerBuilder) -> CheckerBuilder) -> Checker {
    let builder = Checker::builder().list(ip_list(ZONE)).health_checks(false);
    checker(dns, configure(builder))
}

#[tokio::test]
async fn listed_with_codes_categories_reasons_and_ttl() {
    let dns = standard_server().await;
    let list = ip_list("bl.test=127.0.0.[2..11]")
        .with_category("127.0.0.2".parse().unwrap(), "spam")
        .with_category("127.0.0.4".parse().unwrap(), "exploited")
        .with_category("127.0.0.[10..11]".parse().unwrap(), "policy");
    let checker = checker(&dns, Checker::builder().list(list));

    let report = check(&checker, "192.0.2.10").await;
    let listing = listing_of(&report);
    assert_eq!(
        listing.codes,
        ["127.0.0.2".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert_eq!(listing.categories, ["spam"]);
    let mut reasons = listing.reasons.clone();
    reasons.sort();
    assert_eq!(
        reasons,
        ["Listed: see https://bl.test/q?10", "second record"]
    );
    assert_eq!(listing.ttl, 120);
    assert!(report.listed);
    assert_eq!(report.score, 1);

    let report = check(&checker, "192.0.2.11").await;
    let listing = listing_of(&report);
    assert_eq!(listing.codes.len(), 3, "all codes are kept");
    assert_eq!(listing.categories, ["exploited", "spam", "policy"]);
    assert!(listing.reasons.is_empty(), "no TXT served");
}

#[tokio::test]
async fn every_kind_of_answer_gets_its_own_outcome() {
    let dns = standard_server().await;
    let checker = checker(
        &dns,
        Checker::builder().list(ip_list("bl.test=127.0.0.[2..11]")),
    );
    let cases: &[(&str, &str)] = &[
        ("192.0.2.1", "not_listed"),   // NXDOMAIN
        ("192.0.2.18", "no_data"),     // NOERROR, no A record: not how a list says so
        ("192.0.2.19", "not_counted"), // a code outside the filter: shown, not counted
        ("192.0.2.12", "list_error"),  // 127.255.255.254
        ("192.0.2.13", "list_error"),  // 127.255.255.255
        ("192.0.2.14", "invalid"),     // outside 127/8
        ("192.0.2.15", "failed"),      // SERVFAIL
        ("192.0.2.16", "failed"),      // no answer at all
        ("192.0.2.17", "failed"),      // REFUSED
    ];
    for (target, status) in cases {
        let report = check(&checker, target).await;
        assert_eq!(only(&report).status(), *status, "{target}: {report:?}");
        assert!(!report.listed, "{target}");
    }

    let failure = |target: &'static str| {
        let checker = checker.clone();
        async move {
            match only(&check(&checker, target).await) {
                Outcome::Failed(error) => error.kind(),
                other => panic!("{target}: {other:?}"),
            }
        }
    };
    assert_eq!(failure("192.0.2.15").await, LookupErrorKind::ServFail);
    assert_eq!(failure("192.0.2.16").await, LookupErrorKind::Timeout);
    assert_eq!(failure("192.0.2.17").await, LookupErrorKind::Refused);

    let report = check(&checker, "192.0.2.12").await;
    let Outcome::ListError(error) = only(&report) else {
        panic!("{report:?}")
    };
    assert!(
        error.meaning.contains("public or open resolver"),
        "{error:?}"
    );
}

#[tokio::test]
async fn ipv6_and_mapped_addresses_use_the_right_names() {
    let v6_name = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test";
    let dns = TestDns::builder()
        .healthy_ip_zone(ZONE)
        .a(v6_name, &["127.0.0.3"], 60)
        .a("10.2.0.192.bl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let checker = checker(
        &dns,
        Checker::builder().list(ip_list(ZONE)).fetch_txt(false),
    );
    assert!(check(&checker, "2001:db8::1").await.listed);
    let mapped = check(&checker, "::ffff:192.0.2.10").await;
    assert!(mapped.listed);
    assert_eq!(mapped.target.to_string(), "192.0.2.10");
    let names: HashSet<String> = dns.queries().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&format!("{v6_name}.")), "{names:?}");
    assert!(names.contains("10.2.0.192.bl.test."), "{names:?}");
}

#[tokio::test]
async fn domains_go_to_domain_lists_and_addresses_to_ip_lists() {
    let dns = TestDns::builder()
        .healthy_ip_zone(ZONE)
        .healthy_domain_zone("dbl.test")
        .a("spam.example.dbl.test", &["127.0.1.2"], 60)
        .start()
        .await;
    let lists = [
        ip_list(ZONE),
        DnsList::from_spec("v4only.bl.test", ListKind::Ipv4).unwrap(),
        DnsList::from_spec("dbl.test=127.0.1.[2..99]", ListKind::Domain).unwrap(),
    ];
    let checker = checker(&dns, Checker::builder().lists(lists).health_checks(false));

    let report = check(&checker, "SPAM.example.").await;
    let statuses: Vec<&str> = report.results.iter().map(|r| r.outcome.status()).collect();
    assert_eq!(statuses, ["skipped", "skipped", "listed"]);
    assert!(matches!(
        report.results[0].outcome,
        Outcome::Skipped(SkipReason::NotApplicable(_))
    ));

    let report = check(&checker, "2001:db8::5").await;
    let statuses: Vec<&str> = report.results.iter().map(|r| r.outcome.status()).collect();
    assert_eq!(statuses, ["not_listed", "skipped", "skipped"]);
    assert!(
        !report.has_trouble(),
        "lists that do not apply are not trouble"
    );

    // Nothing was sent for the skipped combinations.
    for (name, _) in dns.queries() {
        assert!(!name.ends_with("v4only.bl.test."), "{name}");
        assert!(!name.contains("example.bl.test"), "{name}");
    }
}

#[tokio::test]
async fn score_weights_and_threshold() {
    let dns = TestDns::builder()
        .healthy_ip_zone("a.test")
        .zone("b.test")
        .zone("allow.test")
        .a("10.2.0.192.a.test", &["127.0.0.2"], 60)
        .a("10.2.0.192.b.test", &["127.0.0.2"], 60)
        .a("10.2.0.192.allow.test", &["127.0.5.3"], 60)
        .start()
        .await;
    let lists = [
        ip_list("a.test*2"),
        ip_list("b.test*1"),
        ip_list("allow.test=127.0.[0..255].[2..3]*-2"),
    ];
    let checker = checker(
        &dns,
        Checker::builder()
            .lists(lists)
            .threshold(2)
            .health_checks(false),
    );
    let report = check(&checker, "192.0.2.10").await;
    assert_eq!(report.score, 1, "{report:?}");
    assert!(!report.listed, "score 1 is below threshold 2");
    assert_eq!(report.listings().count(), 3);
}

#[tokio::test]
async fn lists_are_asked_concurrently() {
    // Five lists, each answering after 400 ms: asked one after another that would take 2 s.
    let mut builder = TestDns::builder();
    let mut lists = Vec::new();
    for i in 0..5 {
        let zone = format!("slow{i}.test");
        builder = builder.zone(&zone).on(
            &format!("10.2.0.192.{zone}"),
            "A",
            Behaviour::Delay(
                Duration::from_millis(400),
                Box::new(Behaviour::A(vec!["127.0.0.2".parse().unwrap()], 60)),
            ),
        );
        lists.push(ip_list(&zone));
    }
    let dns = builder.start().await;
    let checker = Checker::builder()
        .lists(lists)
        .health_checks(false)
        .fetch_txt(false)
        .build_with(resolver(&dns, Duration::from_secs(3)))
        .unwrap();
    let started = Instant::now();
    let report = check(&checker, "192.0.2.10").await;
    let elapsed = started.elapsed();
    assert_eq!(report.listings().count(), 5, "{report:?}");
    // Generous bound: far from the 2 s a sequential check would need.
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
}

#[tokio::test]
async fn overall_deadline_bounds_a_check() {
    let dns = standard_server().await;
    let checker = Checker::builder()
        .list(ip_list(ZONE))
        .deadline(Duration::from_millis(300))
        .health_checks(false)
        // The per-query timeout alone would wait 10 s.
        .build_with(resolver(&dns, Duration::from_secs(10)))
        .unwrap();
    let report = check(&checker, "192.0.2.16").await;
    let Outcome::Failed(error) = only(&report) else {
        panic!("{report:?}")
    };
    assert!(error.is_timeout());
    assert_eq!(error.detail(), Some("overall deadline reached"));
}

/// The pooled transport promises to wake a lookup within its timeout, so a check over it sets
/// no timer of its own until its deadline is near: the deadline must hold all the same, with
/// retries that would go on long after it, and with a deadline shorter than one timeout.
#[tokio::test]
async fn overall_deadline_bounds_a_check_over_the_pooled_transport() {
    let dns = standard_server().await;
    for (timeout, deadline) in [(300, 1000), (5000, 300)] {
        let (timeout, deadline) = (
            Duration::from_millis(timeout),
            Duration::from_millis(deadline),
        );
        let resolver = dnsbl_check::resolver::pooled::PooledUdpResolver::builder()
            .name_server(dnsbl_check::NameServer::new(dns.addr))
            .timeout(timeout)
            .retries(20)
            .build()
            .unwrap();
        assert_eq!(resolver.wakes_within(), Some(timeout));
        let checker = Checker::builder()
            .list(ip_list(ZONE))
            .deadline(deadline)
            .health_checks(false)
            .build_with(resolver)
            .unwrap();
        let started = Instant::now();
        let report = checker.check("192.0.2.16".parse().unwrap()).await; // never answered
        let elapsed = started.elapsed();
        let Outcome::Failed(error) = only(&report) else {
            panic!("{report:?}")
        };
        assert_eq!(error.detail(), Some("overall deadline reached"));
        assert!(
            elapsed >= deadline && elapsed < deadline + Duration::from_millis(150),
            "deadline {deadline:?}, took {elapsed:?}"
        );
    }
}

#[tokio::test]
async fn a_list_that_lists_everything_is_skipped_as_unhealthy() {
    let dns = TestDns::builder()
        .healthy_ip_zone("good.test")
        .wildcard_a("dead.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let checker = checker_of(&dns, &["good.test", "dead.test"]);
    let report = check(&checker, "192.0.2.77").await;
    assert_eq!(report.results[0].outcome, Outcome::NotListed);
    assert_eq!(
        report.results[1].outcome,
        Outcome::Skipped(SkipReason::Unhealthy(Unhealthy::ListsEverything))
    );
    assert!(!report.listed, "a dead list must not list the target");
    assert!(report.has_trouble(), "an unhealthy list is trouble");
    assert_eq!(
        report.results[1].outcome.detail().unwrap(),
        "lists 127.0.0.1: list answers for everything"
    );
    let health = checker.health();
    assert_eq!(health[0].1, ListHealth::Healthy);
    assert_eq!(
        health[1].1,
        ListHealth::Unhealthy(Unhealthy::ListsEverything)
    );
    // The target itself was never asked of the dead list.
    assert!(
        !dns.queries()
            .iter()
            .any(|(n, _)| n == "77.2.0.192.dead.test."),
        "{:?}",
        dns.queries()
    );
}

#[tokio::test]
async fn operator_codes_and_invalid_answers_at_the_test_points_apply_to_every_target() {
    let dns = TestDns::builder()
        .wildcard_a("refusing.test", &["127.255.255.254"], 60)
        .wildcard_a("parked.test", &["203.0.113.80"], 60)
        .start()
        .await;
    let checker = checker_of(&dns, &["refusing.test", "parked.test"]);
    for target in ["192.0.2.1", "198.51.100.1"] {
        let report = check(&checker, target).await;
        assert_eq!(report.results[0].outcome.status(), "list_error");
        assert_eq!(report.results[1].outcome.status(), "invalid");
        assert!(!report.listed);
    }
    // Only the probes were sent (two test points of each family and the IPv6 point's 6to4
    // image, for each list): targets were answered from the probe result.
    assert_eq!(dns.query_count(), 10, "{:?}", dns.queries());
}

#[tokio::test]
async fn a_missing_positive_test_point_makes_the_list_untrusted() {
    let dns = without_test_points().await;
    let checker = checker(
        &dns,
        Checker::builder().list(ip_list(ZONE)).fetch_txt(false),
    );
    let why = Unhealthy::TestPointNotListed {
        test_point: "127.0.0.2".into(),
        seen: "NXDOMAIN".into(),
    };
    for target in ["192.0.2.10", "192.0.2.1", "2001:db8::1"] {
        let report = check(&checker, target).await;
        assert_eq!(
            *only(&report),
            Outcome::Skipped(SkipReason::Unhealthy(why.clone())),
            "{target}"
        );
        assert!(report.has_trouble() && !report.listed, "{report:?}");
    }
    assert_eq!(checker.health()[0].1, ListHealth::Unhealthy(why));
    let json = serde_json::to_value(check(&checker, "192.0.2.1").await).unwrap();
    assert_eq!(json["results"][0]["status"], "skipped");
    assert_eq!(
        json["results"][0]["detail"],
        "the test point 127.0.0.2 is not listed (NXDOMAIN): the list cannot be seen to work"
    );
    // The targets were never asked: an answer of an unproven list means nothing.
    assert!(
        !dns.queries().iter().any(|(n, _)| n.contains(".2.0.192.")),
        "{:?}",
        dns.queries()
    );
}

/// A resolver that answers NXDOMAIN to everything (a filtering, captive or sandboxed one),
/// with an SOA in its answers or without: no list reads "not listed".
#[tokio::test]
async fn a_resolver_blind_to_the_lists_gives_trouble_never_not_listed() {
    let with_soa = TestDns::builder().zone(ZONE).start().await;
    let without_soa = TestDns::builder()
        .zone(ZONE)
        .on(&format!("*.{ZONE}"), "*", Behaviour::NxDomain)
        .start()
        .await;
    for dns in [&with_soa, &without_soa] {
        let checker = checker(
            dns,
            Checker::builder()
                .list(ip_list(ZONE))
                .list(DnsList::from_spec(ZONE, ListKind::Domain).unwrap()),
        );
        for target in ["127.0.0.2", "192.0.2.1", "2001:db8::1", "example.com"] {
            let report = check(&checker, target).await;
            report
                .results
                .iter()
                .filter(|r| r.outcome.applies())
                .for_each(|result| {
                    assert!(
                        matches!(
                            &result.outcome,
                            Outcome::Skipped(SkipReason::Unhealthy(
                                Unhealthy::TestPointNotListed { .. }
                            ))
                        ),
                        "{target}: {result:?}"
                    );
                });
            assert!(report.has_trouble(), "{report:?}");
        }
        let health = checker.health();
        assert!(
            health.iter().all(|(_, health)| health.is_untrusted()),
            "{health:?}"
        );
    }
}

#[tokio::test]
async fn a_list_that_publishes_no_test_points_is_used_as_it_answers() {
    let dns = without_test_points().await;
    let list = ip_list(ZONE).with_test_points(TestPoints::none());
    let unproven = checker(&dns, Checker::builder().list(list).fetch_txt(false));
    assert!(check(&unproven, "192.0.2.10").await.listed);
    assert_eq!(
        *only(&check(&unproven, "192.0.2.1").await),
        Outcome::NotListed
    );
    assert_eq!(unproven.health()[0].1, ListHealth::TestPointMissing);
    // Nothing to probe: only the targets were asked.
    assert_eq!(dns.query_count(), 2, "{:?}", dns.queries());

    // The same, declared in a config file.
    let config: dnsbl_check::Config =
        toml::from_str("[[list]]\nzone = \"bl.test\"\ntest_points = \"none\"\n").unwrap();
    let from_file = checker(
        &dns,
        config.apply_to_checker(Checker::builder().lists(config.lists(None).unwrap())),
    );
    assert!(check(&from_file, "192.0.2.10").await.listed);
    assert_eq!(
        *only(&check(&from_file, "192.0.2.1").await),
        Outcome::NotListed
    );
}

#[tokio::test]
async fn operators_own_test_points_are_asked() {
    let dns = TestDns::builder()
        .zone("dbl.test")
        .a("dbltest.com.dbl.test", &["127.0.1.2"], 60)
        .a("spam.example.dbl.test", &["127.0.1.2"], 60)
        .start()
        .await;
    let own = DnsList::from_spec("dbl.test", ListKind::Domain)
        .unwrap()
        .with_test_points(TestPoints::new(
            ["dbltest.com".parse().unwrap()],
            ["invalid".parse().unwrap()],
        ));
    let with_own = checker(&dns, Checker::builder().list(own).fetch_txt(false));
    assert!(check(&with_own, "spam.example").await.listed);
    assert_eq!(
        *only(&check(&with_own, "ham.example").await),
        Outcome::NotListed
    );
    assert_eq!(with_own.health()[0].1, ListHealth::Healthy);
    // RFC 5782's `test` alone would not have proven this list.
    let rfc = DnsList::from_spec("dbl.test", ListKind::Domain).unwrap();
    let with_rfc = checker(&dns, Checker::builder().list(rfc).fetch_txt(false));
    assert!(only(&check(&with_rfc, "ham.example").await).is_trouble());
}

#[tokio::test]
async fn each_address_family_is_proven_by_its_own_test_point() {
    // IPv4 test point only: an `ip` list that serves IPv4 alone.
    let v4_only = TestDns::builder()
        .zone(ZONE)
        .a("2.0.0.127.bl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let ip = checker(&v4_only, Checker::builder().list(ip_list(ZONE)));
    assert_eq!(*only(&check(&ip, "192.0.2.1").await), Outcome::NotListed);
    assert_eq!(
        *only(&check(&ip, "::ffff:192.0.2.1").await),
        Outcome::NotListed
    );
    let why = Unhealthy::FamilyNotServed {
        family: "IPv6",
        test_point: "::ffff:7f00:2".into(),
        seen: "not listed (NXDOMAIN)".into(),
    };
    let v6 = check(&ip, "2001:db8::1").await;
    assert_eq!(
        *only(&v6),
        Outcome::Skipped(SkipReason::Unhealthy(why.clone()))
    );
    assert!(v6.has_trouble());
    assert_eq!(ip.health()[0].1, ListHealth::FamilyNotServed(why));
    // An IPv4 list is not asked about IPv6 at all.
    let ipv4 = DnsList::from_spec(ZONE, ListKind::Ipv4).unwrap();
    let checker4 = checker(&v4_only, Checker::builder().list(ipv4));
    assert_eq!(
        *only(&check(&checker4, "192.0.2.1").await),
        Outcome::NotListed
    );
    assert!(
        !check(&checker4, "2001:db8::1").await.results[0]
            .outcome
            .applies()
    );
    assert_eq!(checker4.health()[0].1, ListHealth::Healthy);

    // The IPv6 test point answered from IPv4 data, as rbldnsd's ip4set does: it lists the
    // 6to4 image of 127.0.0.2 as well, and no native IPv6 name.
    let mapping = TestDns::builder()
        .healthy_ip_zone(ZONE)
        .a(
            &format!("{}2.0.0.0.0.0.f.7.2.0.0.2.{ZONE}", "0.".repeat(20)),
            &["127.0.0.2"],
            60,
        )
        .start()
        .await;
    let mapped = checker(&mapping, Checker::builder().list(ip_list(ZONE)));
    let v6 = check(&mapped, "2001:db8::1").await;
    assert!(
        matches!(
            only(&v6),
            Outcome::Skipped(SkipReason::Unhealthy(Unhealthy::FamilyNotServed { seen, .. }))
                if seen.contains("IPv4 data")
        ),
        "{v6:?}"
    );
    assert_eq!(
        *only(&check(&mapped, "192.0.2.1").await),
        Outcome::NotListed
    );

    // With its IPv6 test point listed, IPv6 answers are trusted.
    let both = TestDns::builder().healthy_ip_zone(ZONE).start().await;
    let proven = checker(&both, Checker::builder().list(ip_list(ZONE)));
    assert_eq!(
        *only(&check(&proven, "2001:db8::1").await),
        Outcome::NotListed
    );
    assert_eq!(proven.health()[0].1, ListHealth::Healthy);
}

/// A resolver that goes blind on demand: it asks `seeing` until [`Switchable::go_blind`],
/// then `blind`. For tests of a resolver that stops seeing the lists mid-run.
pub(crate) struct Switchable {
    seeing: HickoryResolver,
    blind: HickoryResolver,
    is_blind: std::sync::atomic::AtomicBool,
}

impl Switchable {
    pub(crate) fn new(seeing: &TestDns, blind: &TestDns) -> Self {
        Switchable {
            seeing: resolver(seeing, Duration::from_millis(500)),
            blind: resolver(blind, Duration::from_millis(500)),
            is_blind: false.into(),
        }
    }

    pub(crate) fn set_blind(&self, blind: bool) {
        self.is_blind
            .store(blind, std::sync::atomic::Ordering::SeqCst);
    }

    fn now(&self) -> &HickoryResolver {
        if self.is_blind.load(std::sync::atomic::Ordering::SeqCst) {
            &self.blind
        } else {
            &self.seeing
        }
    }
}

impl DnsResolver for Switchable {
    async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
        self.now().lookup_a(name).await
    }

    async fn lookup_txt(&self, name: &str) -> Result<Answer<String>, LookupError> {
        self.now().lookup_txt(name).await
    }
}

/// A listing that disappears is confirmed against the test point: a resolver gone blind
/// gives trouble, never a delisting.
#[tokio::test]
async fn recheck_probes_the_test_point_again_before_any_not_listed() {
    let seeing = TestDns::builder()
        .healthy_ip_zone(ZONE)
        .a("10.2.0.192.bl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let blind = TestDns::builder().zone(ZONE).start().await;
    let list = DnsList::from_spec(ZONE, ListKind::Ipv4).unwrap();
    let checker = Checker::builder()
        .list(list)
        .fetch_txt(false)
        .build_with(Switchable::new(&seeing, &blind))
        .unwrap();
    let target: Target = "192.0.2.10".parse().unwrap();
    assert!(checker.check(target.clone()).await.listed);
    assert_eq!(checker.health()[0].1, ListHealth::Healthy);

    // The resolver goes blind; the health is still fresh, so a plain check reads clean.
    checker.resolver().set_blind(true);
    let plain = checker.check(target.clone()).await;
    assert_eq!(plain.results[0].outcome, Outcome::NotListed);
    let again = checker.recheck(target.clone(), &[ZONE]).await;
    assert!(
        matches!(
            &again.results[0].outcome,
            Outcome::Skipped(SkipReason::Unhealthy(Unhealthy::TestPointNotListed { .. }))
        ),
        "{again:?}"
    );
    assert!(
        blind
            .queries()
            .iter()
            .any(|(n, _)| n == "2.0.0.127.bl.test."),
        "the test point was asked again: {:?}",
        blind.queries()
    );
    // Sight returns: the recheck confirms the listing.
    checker.resolver().set_blind(false);
    assert!(checker.recheck(target.clone(), &[ZONE]).await.listed);
    // Lists not named are left out of the report.
    assert!(checker.recheck(target, &[]).await.results.is_empty());
}

#[tokio::test]
async fn health_checks_can_be_turned_off_per_checker_and_per_list() {
    let dns = TestDns::builder()
        .wildcard_a("dead.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let off = checker(
        &dns,
        Checker::builder()
            .list(ip_list("dead.test"))
            .health_checks(false),
    );
    assert!(check(&off, "192.0.2.1").await.listed);
    let per_list = checker(
        &dns,
        Checker::builder().list(ip_list("dead.test").with_health_check(false)),
    );
    assert!(check(&per_list, "192.0.2.1").await.listed);
    assert_eq!(per_list.health()[0].1, ListHealth::Unchecked);
    // No probe was sent by either checker.
    assert!(
        !dns.queries()
            .iter()
            .any(|(n, _)| n.starts_with("1.0.0.127."))
    );
}

#[tokio::test]
async fn health_is_probed_again_after_the_interval() {
    let dns = standard_server().await;
    let checker = checker(
        &dns,
        Checker::builder()
            .list(ip_list(ZONE))
            .health_interval(Duration::from_millis(200)),
    );
    check(&checker, "192.0.2.1").await;
    check(&checker, "192.0.2.2").await;
    let probes = |dns: &TestDns| {
        dns.queries()
            .iter()
            .filter(|(n, _)| n == "1.0.0.127.bl.test.")
            .count()
    };
    assert_eq!(probes(&dns), 1, "fresh health is reused");
    tokio::time::sleep(Duration::from_millis(300)).await;
    check(&checker, "192.0.2.3").await;
    assert_eq!(probes(&dns), 2, "stale health is probed again");
}

#[tokio::test]
async fn streams_yield_one_report_per_target() {
    let dns = standard_server().await;
    let checker = checker(
        &dns,
        Checker::builder()
            .list(ip_list(ZONE))
            .list(ip_list("bl.test*2"))
            .max_queries_in_flight(20),
    );
    let spec: dnsbl_check::TargetSpec = "192.0.2.0/24".parse().unwrap();
    let reports: Vec<Report> = checker.check_iter(spec).collect().await;
    assert_eq!(reports.len(), 256);
    let targets: HashSet<Target> = reports.iter().map(|r| r.target.clone()).collect();
    assert_eq!(targets.len(), 256, "each target exactly once");
    let listed: HashSet<String> = reports
        .iter()
        .filter(|r| r.listed)
        .map(|r| r.target.to_string())
        .collect();
    // No filter: any code in 127/8 that is not an operator code counts (.19 answers 127.0.0.99).
    let expected = ["192.0.2.10", "192.0.2.11", "192.0.2.19"].map(String::from);
    assert_eq!(listed, HashSet::from(expected));
}

#[tokio::test]
async fn truncated_answers_are_retried_over_tcp() {
    let dns = TestDns::builder()
        .zone(ZONE)
        .on(
            "10.2.0.192.bl.test",
            "A",
            Behaviour::Truncate(Box::new(Behaviour::A(
                vec!["127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap()],
                60,
            ))),
        )
        .start()
        .await;
    let checker = unprobed(&dns, |builder| builder.fetch_txt(false));
    let report = check(&checker, "192.0.2.10").await;
    let listing = listing_of(&report);
    assert_eq!(listing.codes.len(), 2);
    assert!(
        dns.query_log()
            .iter()
            .any(|q| q.transport == crate::support::Transport::Tcp),
        "no TCP retry seen"
    );
}

#[tokio::test]
async fn reports_serialise_to_the_shared_schema() {
    let dns = standard_server().await;
    let list = ip_list("bl.test=127.0.0.[2..11]")
        .with_name("test-list")
        .with_category("127.0.0.2".parse().unwrap(), "spam");
    let checker = checker(&dns, Checker::builder().list(list));
    let json = serde_json::to_value(check(&checker, "192.0.2.10").await).unwrap();
    assert_eq!(json["target"], "192.0.2.10");
    assert_eq!(json["listed"], true);
    assert_eq!(json["score"], 1);
    let result = &json["results"][0];
    assert_eq!(result["list"], "test-list");
    assert_eq!(result["zone"], "bl.test");
    assert_eq!(result["status"], "listed");
    assert_eq!(result["codes"], serde_json::json!(["127.0.0.2"]));
    assert_eq!(result["categories"], serde_json::json!(["spam"]));
    assert_eq!(result["ttl"], 120);
    assert!(result.get("detail").is_none());

    let json = serde_json::to_value(check(&checker, "192.0.2.15").await).unwrap();
    let result = &json["results"][0];
    assert_eq!(result["status"], "failed");
    assert_eq!(result["error_kind"], "serv_fail");
    assert_eq!(result["detail"], "SERVFAIL");
}

#[tokio::test]
async fn a_dqs_key_is_used_on_the_wire_and_nowhere_else() {
    let key = "secretkey0123456789abcdefg";
    let dns = TestDns::builder()
        .zone("zen.dq.spamhaus.net")
        .a(
            &format!("2.0.0.127.{key}.zen.dq.spamhaus.net"),
            &["127.0.0.2"],
            60,
        )
        .a(
            &format!("10.2.0.192.{key}.zen.dq.spamhaus.net"),
            &["127.0.0.2"],
            60,
        )
        .txt(
            &format!("10.2.0.192.{key}.zen.dq.spamhaus.net"),
            &["Listed by SBL"],
            60,
        )
        .on(
            &format!("11.2.0.192.{key}.zen.dq.spamhaus.net"),
            "*",
            Behaviour::ServFail,
        )
        .start()
        .await;
    let zen = dnsbl_check::presets::with_dqs_key(
        dnsbl_check::presets::find("spamhaus-zen").unwrap().list(),
        key,
    )
    .unwrap();
    let checker = checker(&dns, Checker::builder().list(zen));
    let listed = check(&checker, "192.0.2.10").await;
    assert!(listed.listed, "{listed:?}");
    let failed = check(&checker, "192.0.2.11").await;
    for report in [&listed, &failed] {
        for shown in [
            format!("{report:?}"),
            serde_json::to_string(report).unwrap(),
            format!("{:?}", checker.health()),
            format!("{:?}", checker.lists().collect::<Vec<_>>()),
        ] {
            assert!(!shown.contains(key), "key leaked: {shown}");
            assert!(!shown.contains("secretkey"), "key leaked: {shown}");
        }
    }
    assert_eq!(listed.results[0].zone.public_name(), "zen.dq.spamhaus.net");
}

#[tokio::test]
async fn txt_is_asked_when_listed_with_the_a_query_or_never() {
    use dnsbl_check::TxtLookup;
    let dns = standard_server().await;
    let txt_queries = |dns: &TestDns, name: &str| {
        dns.queries()
            .iter()
            .filter(|(n, t)| n == name && t == "TXT")
            .count()
    };
    let cases = [
        (TxtLookup::WhenListed, 1, 0, true),
        (TxtLookup::WithA, 1, 1, true),
        (TxtLookup::Off, 0, 0, false),
    ];
    for (txt, listed_txt_queries, clean_txt_queries, reasons) in cases {
        dns.clear_queries();
        let checker = unprobed(&dns, |builder| builder.txt_lookup(txt));
        let listed = check(&checker, "192.0.2.10").await;
        let listing = listing_of(&listed);
        assert_eq!(!listing.reasons.is_empty(), reasons, "{txt:?}");
        // 192.0.2.18 has a TXT record but no A record: NODATA, not a listing, and its TXT
        // never shown.
        let clean = check(&checker, "192.0.2.18").await;
        assert_eq!(*only(&clean), Outcome::NoData, "{txt:?}");
        assert_eq!(
            txt_queries(&dns, "10.2.0.192.bl.test."),
            listed_txt_queries,
            "{txt:?}"
        );
        assert_eq!(
            txt_queries(&dns, "18.2.0.192.bl.test."),
            clean_txt_queries,
            "{txt:?}"
        );
    }
}
