//! The answer cache and forward-confirmed reverse DNS, against an in-process DNS server.

use std::time::Duration;

use crate::support::{Behaviour, TestDns};
use dnsbl_check::resolver::cache::{AnswerCache, CacheConfig};
use dnsbl_check::{
    Checker, DnsList, HickoryResolver, ListKind, ReverseDns, forward_confirmed_reverse_dns,
};

fn resolver(dns: &TestDns) -> HickoryResolver {
    crate::support::resolver_at(dns.addr, Duration::from_millis(300), 0)
}

fn cached_checker(dns: &TestDns, config: CacheConfig) -> Checker<AnswerCache<HickoryResolver>> {
    Checker::builder()
        .list(DnsList::from_spec("bl.test", ListKind::Ip).unwrap())
        .health_checks(false)
        .build_with(AnswerCache::new(resolver(dns), config))
        .unwrap()
}

/// How many A queries the server saw for `name`.
fn asked(dns: &TestDns, name: &str) -> usize {
    dns.queries()
        .iter()
        .filter(|(n, t)| n == name && t == "A")
        .count()
}

async fn cache_server() -> TestDns {
    TestDns::builder()
        .zone("bl.test")
        .negative_ttl("bl.test", 1)
        .a("10.2.0.192.bl.test", &["127.0.0.2"], 1)
        .txt("10.2.0.192.bl.test", &["listed"], 1)
        .on("15.2.0.192.bl.test", "*", Behaviour::ServFail)
        .on("16.2.0.192.bl.test", "*", Behaviour::Drop)
        .on("17.2.0.192.bl.test", "*", Behaviour::Refused)
        .on(
            "20.2.0.192.bl.test",
            "A",
            Behaviour::Delay(
                Duration::from_millis(200),
                Box::new(Behaviour::A(vec!["127.0.0.2".parse().unwrap()], 60)),
            ),
        )
        .start()
        .await
}

#[tokio::test]
async fn answers_are_reused_until_their_ttl_runs_out() {
    let dns = cache_server().await;
    let no_floor = CacheConfig::default().min_ttl(Duration::ZERO);
    let checker = cached_checker(&dns, no_floor);
    for target in ["192.0.2.10", "192.0.2.1"] {
        let first = checker.check(target.parse().unwrap()).await;
        let second = checker.check(target.parse().unwrap()).await;
        assert_eq!(first, second, "a cached answer reads the same");
    }
    assert_asked(
        &dns,
        1,
        ["positive answer cached", "negative answer cached"],
    );

    // Both TTLs are 1 s (the A record's, and the SOA's negative TTL).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    checker.check("192.0.2.10".parse().unwrap()).await;
    checker.check("192.0.2.1".parse().unwrap()).await;
    assert_asked(
        &dns,
        2,
        ["positive answer expired", "negative answer expired"],
    );
}

/// Asserts that the listed 192.0.2.10 and the clean 192.0.2.1 were each asked `times` times,
/// saying `what` of each.
fn assert_asked(dns: &TestDns, times: usize, what: [&str; 2]) {
    for (name, what) in ["10.2.0.192.bl.test.", "1.2.0.192.bl.test."]
        .iter()
        .zip(what)
    {
        assert_eq!(asked(dns, name), times, "{what}");
    }
}

#[tokio::test]
async fn short_ttls_are_raised_to_the_minimum() {
    let dns = cache_server().await;
    let checker = cached_checker(&dns, CacheConfig::default()); // at least 60 s
    checker.check("192.0.2.10".parse().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    checker.check("192.0.2.10".parse().unwrap()).await;
    assert_eq!(asked(&dns, "10.2.0.192.bl.test."), 1);
}

#[tokio::test]
async fn long_ttls_are_cut_to_the_maximum() {
    let dns = TestDns::builder()
        .zone("bl.test")
        .a("10.2.0.192.bl.test", &["127.0.0.2"], 86_400)
        .start()
        .await;
    let config = CacheConfig::default()
        .min_ttl(Duration::ZERO)
        .max_ttl(Duration::from_millis(500));
    let checker = cached_checker(&dns, config);
    checker.check("192.0.2.10".parse().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    checker.check("192.0.2.10".parse().unwrap()).await;
    assert_eq!(asked(&dns, "10.2.0.192.bl.test."), 2);
}

#[tokio::test]
async fn failures_are_never_cached() {
    let dns = cache_server().await;
    let checker = cached_checker(&dns, CacheConfig::default());
    for (target, name, status) in [
        ("192.0.2.15", "15.2.0.192.bl.test.", "failed"),
        ("192.0.2.16", "16.2.0.192.bl.test.", "failed"),
        ("192.0.2.17", "17.2.0.192.bl.test.", "failed"),
    ] {
        for _ in 0..2 {
            let report = checker.check(target.parse().unwrap()).await;
            assert_eq!(report.results[0].outcome.status(), status);
        }
        assert_eq!(asked(&dns, name), 2, "{name} asked again after a failure");
    }
}

#[tokio::test]
async fn concurrent_askers_share_one_query() {
    let dns = cache_server().await;
    let checker = cached_checker(&dns, CacheConfig::default());
    let checks = (0..50).map(|_| checker.check("192.0.2.20".parse().unwrap()));
    let reports = futures::future::join_all(checks).await;
    assert!(reports.iter().all(|r| r.listed));
    assert_eq!(asked(&dns, "20.2.0.192.bl.test."), 1);
}

#[tokio::test]
async fn bounded_cache_holds_at_most_its_size() {
    let dns = TestDns::builder().zone("bl.test").start().await;
    let cache = std::sync::Arc::new(AnswerCache::new(
        resolver(&dns),
        CacheConfig::default().max_entries(50),
    ));
    let checker = Checker::builder()
        .list(DnsList::from_spec("bl.test", ListKind::Ip).unwrap())
        .health_checks(false)
        .build_with(std::sync::Arc::clone(&cache))
        .unwrap();
    let spec: dnsbl_check::TargetSpec = "198.51.100.0/24".parse().unwrap();
    for target in spec {
        checker.check(target).await;
    }
    let count = cache.entry_count().await;
    assert!(count <= 50, "{count} entries");
    assert!(count > 0);
}

async fn rdns_server() -> TestDns {
    TestDns::builder()
        .zone("in-addr.arpa")
        .zone("ip6.arpa")
        .zone("example.test")
        // confirmed
        .ptr("1.2.0.192.in-addr.arpa", &["mail.example.test."], 60)
        .a("mail.example.test", &["192.0.2.1"], 60)
        // PTR name resolves elsewhere
        .ptr("2.2.0.192.in-addr.arpa", &["liar.example.test."], 60)
        .a("liar.example.test", &["192.0.2.99"], 60)
        // two names, the second confirms
        .ptr(
            "3.2.0.192.in-addr.arpa",
            &["other.example.test.", "mx3.example.test."],
            60,
        )
        .a("mx3.example.test", &["192.0.2.3"], 60)
        // PTR lookup fails
        .on("4.2.0.192.in-addr.arpa", "*", Behaviour::ServFail)
        // forward lookup fails
        .ptr("5.2.0.192.in-addr.arpa", &["broken.example.test."], 60)
        .on("broken.example.test", "*", Behaviour::ServFail)
        // IPv6, confirmed by AAAA
        .ptr(
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
            &["v6.example.test."],
            60,
        )
        .aaaa("v6.example.test", &["2001:db8::1"], 60)
        .start()
        .await
}

#[tokio::test]
async fn reverse_dns_is_confirmed_by_forward_lookups() {
    let dns = rdns_server().await;
    let resolver = resolver(&dns);
    let rdns = |addr: &'static str| {
        let resolver = resolver.clone();
        async move { forward_confirmed_reverse_dns(&resolver, addr.parse().unwrap()).await }
    };

    let confirmed = rdns("192.0.2.1").await;
    assert_eq!(confirmed.host_name().unwrap().as_str(), "mail.example.test");
    assert_eq!(
        rdns("::ffff:192.0.2.1").await,
        confirmed,
        "mapped addresses are checked as IPv4"
    );
    assert_eq!(
        rdns("192.0.2.2").await,
        ReverseDns::NotConfirmed(vec!["liar.example.test".into()])
    );
    assert_eq!(
        rdns("192.0.2.3").await.host_name().unwrap().as_str(),
        "mx3.example.test"
    );
    assert_eq!(rdns("192.0.2.9").await, ReverseDns::NoPtr);
    let ReverseDns::Failed(error) = rdns("192.0.2.4").await else {
        panic!("PTR SERVFAIL must be a failure")
    };
    assert!(error.is_servfail());
    assert!(matches!(rdns("192.0.2.5").await, ReverseDns::Failed(_)));
    assert!(rdns("2001:db8::1").await.is_confirmed());

    let json = serde_json::to_value(confirmed).unwrap();
    assert_eq!(json["status"], "confirmed");
    assert_eq!(json["names"][0], "mail.example.test");
}

#[tokio::test]
async fn reverse_dns_goes_through_the_cache() {
    let dns = rdns_server().await;
    let cache = AnswerCache::new(resolver(&dns), CacheConfig::default());
    for _ in 0..3 {
        assert!(
            forward_confirmed_reverse_dns(&cache, "192.0.2.1".parse().unwrap())
                .await
                .is_confirmed()
        );
    }
    let ptr_queries = dns.queries().iter().filter(|(_, t)| t == "PTR").count();
    assert_eq!(ptr_queries, 1);
}
