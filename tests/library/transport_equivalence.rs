//! The pooled UDP transport gives the same results as the stock hickory path.
//!
//! One in-process server holds every kind of answer a list can give; the same checks run through
//! a checker on [`HickoryResolver`] and one on [`PooledUdpResolver`], and the reports must be
//! equal, field for field. The raw lookups are compared too, negative TTLs included.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::support::{Behaviour, TestDns};
use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::{
    Answer, Checker, CheckerBuilder, DnsList, DnsResolver, HickoryResolver, ListKind, LookupError,
    NameServer, Report,
};

const TIMEOUT: Duration = Duration::from_millis(300);

fn hickory(dns: &TestDns) -> HickoryResolver {
    crate::support::resolver_at(dns.addr, TIMEOUT, 0)
}

fn pooled(dns: &TestDns) -> PooledUdpResolver {
    PooledUdpResolver::builder()
        .name_server(NameServer::new(dns.addr))
        .timeout(TIMEOUT)
        .retries(0)
        .sockets_per_server(4)
        .build()
        .unwrap()
}

fn a(code: &str) -> Ipv4Addr {
    code.parse().unwrap()
}

const V6_LISTED: &str = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test";
const V6_TEST_POINT: &str =
    "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.bl.test";

/// Every kind of answer, in several zones.
async fn server() -> TestDns {
    let big_txt: Vec<String> = (0..8).map(|i| format!("{i}{}", "x".repeat(200))).collect();
    let mut builder = crate::support::every_kind_of_answer(TestDns::builder())
        .negative_ttl("bl.test", 45)
        .a(V6_TEST_POINT, &["127.0.0.2"], 60)
        // truncated over UDP: both must ask again over TCP
        .on(
            "20.2.0.192.bl.test",
            "A",
            Behaviour::Truncate(Box::new(Behaviour::A(
                vec![a("127.0.0.2"), a("127.0.0.3")],
                60,
            ))),
        )
        // slow, but within the timeout
        .on(
            "22.2.0.192.bl.test",
            "A",
            Behaviour::Delay(
                Duration::from_millis(50),
                Box::new(Behaviour::A(vec![a("127.0.0.2")], 30)),
            ),
        )
        // TXT with invalid UTF-8 and a character split across strings
        .a("23.2.0.192.bl.test", &["127.0.0.2"], 60)
        .txt_raw(
            "23.2.0.192.bl.test",
            vec![b"caf\xC3".to_vec(), b"\xA9 \xFF end".to_vec()],
            60,
        )
        // IPv6
        .a(V6_LISTED, &["127.0.0.3"], 60)
        // a domain list
        .healthy_domain_zone("dbl.test")
        .a("spam.example.dbl.test", &["127.0.1.2", "127.0.1.4"], 60)
        .txt("spam.example.dbl.test", &["Spam domain"], 60)
        .on("servfail.example.dbl.test", "*", Behaviour::ServFail)
        // lists that list everything, refuse everything, or answer from a parked zone
        .wildcard_a("dead.test", &["127.0.0.2"], 60)
        .wildcard_a("refusing.test", &["127.255.255.254"], 60)
        .wildcard_a("parked.test", &["203.0.113.80"], 60);
    // a TXT set larger than a UDP answer may be (1232 octets with EDNS): truncated, then TCP
    builder = builder.a("21.2.0.192.bl.test", &["127.0.0.2"], 60);
    for text in &big_txt {
        builder = builder.txt("21.2.0.192.bl.test", &[text], 60);
    }
    builder.start().await
}

fn lists() -> Vec<DnsList> {
    vec![
        DnsList::from_spec("bl.test=127.0.0.[2..11]", ListKind::Ip)
            .unwrap()
            .with_category("127.0.0.2".parse().unwrap(), "spam")
            .with_category("127.0.0.4".parse().unwrap(), "exploited")
            .with_category("127.0.0.[10..11]".parse().unwrap(), "policy"),
        DnsList::from_spec("dbl.test=127.0.1.[2..99]", ListKind::Domain).unwrap(),
        DnsList::from_spec("dead.test", ListKind::Ipv4).unwrap(),
        DnsList::from_spec("refusing.test", ListKind::Ipv4).unwrap(),
        DnsList::from_spec("parked.test", ListKind::Ipv4).unwrap(),
    ]
}

const TARGETS: &[&str] = &[
    "192.0.2.1",  // NXDOMAIN
    "192.0.2.10", // listed, two TXT records
    "192.0.2.11", // several codes
    "192.0.2.12", // operator code
    "192.0.2.13", // operator code
    "192.0.2.14", // outside 127/8
    "192.0.2.15", // SERVFAIL
    "192.0.2.16", // no answer: timeout
    "192.0.2.17", // REFUSED
    "192.0.2.18", // NODATA: trouble of its own kind
    "192.0.2.19", // code outside the filter: shown, not counted
    "192.0.2.20", // truncated, then TCP
    "192.0.2.21", // large TXT set: truncated, then TCP
    "192.0.2.22", // slow answer
    "192.0.2.23", // TXT with invalid UTF-8
    "2001:db8::1",
    "2001:db8::2",
    "::ffff:192.0.2.10",
    "spam.example",
    "WWW.Spam.Example.",
    "clean.example",
    "servfail.example",
];

async fn reports(checker_builder: CheckerBuilder, resolver: impl DnsResolver) -> Vec<Report> {
    let checker: Checker<_> = checker_builder.build_with(resolver).unwrap();
    let mut reports = Vec::new();
    for target in TARGETS {
        reports.push(checker.check(target.parse().unwrap()).await);
    }
    reports
}

#[tokio::test]
async fn checks_give_identical_reports() {
    let dns = server().await;
    for builder in [
        Checker::builder().lists(lists()),
        Checker::builder().lists(lists()).health_checks(false),
        Checker::builder().lists(lists()).fetch_txt(false),
    ] {
        let stock = reports(builder.clone(), hickory(&dns)).await;
        let ours = reports(builder, pooled(&dns)).await;
        for ((target, stock), ours) in TARGETS.iter().zip(&stock).zip(&ours) {
            assert_eq!(stock, ours, "{target}");
        }
        // The table is not trivial: every kind of outcome occurred.
        let statuses: std::collections::HashSet<&str> = stock
            .iter()
            .flat_map(|r| r.results.iter().map(|r| r.outcome.status()))
            .collect();
        for status in [
            "listed",
            "not_listed",
            "failed",
            "list_error",
            "invalid",
            "skipped",
            "no_data",
            "not_counted",
        ] {
            assert!(statuses.contains(status), "no {status} in {statuses:?}");
        }
    }
    let tcp = dns
        .query_log()
        .iter()
        .filter(|q| q.transport == crate::support::Transport::Tcp)
        .count();
    assert!(
        tcp >= 4,
        "both transports fell back to TCP, twice each: {tcp}"
    );
}

type Lookups = Vec<(
    Result<Answer<Ipv4Addr>, LookupError>,
    Result<Answer<String>, LookupError>,
)>;

async fn lookups(resolver: &impl DnsResolver, names: &[String]) -> Lookups {
    let mut out = Vec::new();
    for name in names {
        out.push((
            resolver.lookup_a(name).await,
            resolver.lookup_txt(name).await,
        ));
    }
    out
}

#[tokio::test]
async fn raw_lookups_are_identical_negative_ttls_included() {
    let dns = server().await;
    let mut names: Vec<String> = (1..=23).map(|i| format!("{i}.2.0.192.bl.test.")).collect();
    names.extend(
        [
            V6_LISTED,
            "bl.test",
            "0.2.0.192.bl.test", // an empty non-terminal: NODATA
            "spam.example.dbl.test",
            "Spam.Example.DBL.test",
            "x.dead.test",
            "x.parked.test",
            // REFUSED. (Not `.invalid` or `localhost`: hickory answers those special-use names
            // itself, RFC 6761, where the pooled transport asks the server as for any name.)
            "outside.zones.example",
        ]
        .map(|name| format!("{name}.")),
    );
    let stock = lookups(&hickory(&dns), &names).await;
    let ours = lookups(&pooled(&dns), &names).await;
    for ((name, stock), ours) in names.iter().zip(&stock).zip(&ours) {
        assert_eq!(stock, ours, "{name}");
    }
    assert_eq!(
        ours[0].0,
        Ok(Answer::NoRecords {
            nxdomain: true,
            negative_ttl: Some(45)
        })
    );
    assert_eq!(
        ours[17].0,
        Ok(Answer::NoRecords {
            nxdomain: false,
            negative_ttl: Some(45)
        }),
        "NODATA"
    );
}

/// NODATA stays NODATA through the answer cache, fresh and cached alike: `no_data` trouble,
/// never "not listed"; NXDOMAIN stays "not listed".
#[tokio::test]
async fn nodata_is_trouble_through_the_cache_too() {
    use dnsbl_check::Outcome;
    use dnsbl_check::resolver::cache::{AnswerCache, CacheConfig};
    let dns = server().await;
    for resolver in [
        AnswerCache::new(
            dnsbl_check::resolver::any::AnyResolver::from(hickory(&dns)),
            CacheConfig::default(),
        ),
        AnswerCache::new(
            dnsbl_check::resolver::any::AnyResolver::from(pooled(&dns)),
            CacheConfig::default(),
        ),
    ] {
        let checker = Checker::builder()
            .lists(lists())
            .build_with(resolver)
            .unwrap();
        for _ in 0..2 {
            let report = checker.check("192.0.2.18".parse().unwrap()).await;
            assert_eq!(report.results[0].outcome, Outcome::NoData, "{report:?}");
            let report = checker.check("192.0.2.1".parse().unwrap()).await;
            assert_eq!(report.results[0].outcome, Outcome::NotListed, "{report:?}");
        }
    }
    let asked = dns
        .queries()
        .iter()
        // The pooled transport randomises the case of its query names.
        .filter(|(name, kind)| name.eq_ignore_ascii_case("18.2.0.192.bl.test.") && kind == "A")
        .count();
    assert_eq!(
        asked, 2,
        "once per resolver: the second check came from the cache"
    );
}
