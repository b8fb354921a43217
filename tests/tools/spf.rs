//! `dnsbl-check --spf` end to end against the in-process DNS server: a domain's sending
//! addresses, as its SPF record authorizes them, each with the path that reached it.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli::{BL, json_on, run_on};
use crate::support::{Behaviour, TestDns};

/// `send.test`'s record: two ip4 networks, an `a:`, an `mx` and an `include:` whose record
/// authorizes the one listed address, 203.0.113.5.
async fn spf_dns() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .a("5.113.0.203.bl.test", &["127.0.0.2"], 300)
        .zone("send.test")
        .txt(
            "send.test",
            &[
                "v=spf1 ip4:192.0.2.0/30 ip4:198.51.100.7 a:relay.send.test ",
                "mx include:_spf.send.test -all",
            ],
            300,
        )
        .txt("send.test", &["google-site-verification=abc"], 300)
        .mx("send.test", &[(10, "mx.send.test.")], 300)
        .a("mx.send.test", &["192.0.2.25"], 300)
        .a("relay.send.test", &["192.0.2.80"], 300)
        .txt("_spf.send.test", &["v=spf1 ip4:203.0.113.4/31 ~all"], 300)
        // Loops, chains and oversized records.
        .txt(
            "loop.send.test",
            &["v=spf1 include:loop2.send.test -all"],
            300,
        )
        .txt(
            "loop2.send.test",
            &["v=spf1 include:loop.send.test -all"],
            300,
        )
        .txt(
            "chain.send.test",
            &["v=spf1 include:c1.send.test -all"],
            300,
        )
        .txt("c1.send.test", &["v=spf1 include:c2.send.test"], 300)
        .txt("c2.send.test", &["v=spf1 include:c3.send.test"], 300)
        .txt("c3.send.test", &["v=spf1 include:c4.send.test"], 300)
        .txt("c4.send.test", &["v=spf1 include:c5.send.test"], 300)
        .txt("c5.send.test", &["v=spf1 include:c6.send.test"], 300)
        .txt("c6.send.test", &["v=spf1 include:c7.send.test"], 300)
        .txt("c7.send.test", &["v=spf1 include:c8.send.test"], 300)
        .txt("c8.send.test", &["v=spf1 include:c9.send.test"], 300)
        .txt("c9.send.test", &["v=spf1 include:c10.send.test"], 300)
        .txt("c10.send.test", &["v=spf1 include:c11.send.test"], 300)
        .txt("c11.send.test", &["v=spf1 ip4:192.0.2.99"], 300)
        .txt("wide.send.test", &["v=spf1 ip4:10.0.0.0/8 -all"], 300)
        .on("broken.send.test", "TXT", Behaviour::ServFail)
        .start()
        .await
}

fn addresses(reports: &[Value]) -> Vec<String> {
    let mut found: Vec<String> = reports
        .iter()
        .filter(|r| r["via"] == "send.test")
        .map(|r| r["target"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn spf_checks_exactly_the_sending_addresses_with_their_paths() {
    let dns = spf_dns().await;
    let out = json_on(&dns, &["--zone", BL, "--spf", "send.test"]).await;
    assert_eq!(out.code, 1, "203.0.113.5 is listed: {out:?}");
    let reports = out.json();
    assert_eq!(reports[0]["senders"]["source"], "spf");
    assert_eq!(reports[0]["senders"]["addresses"], 9);
    assert_eq!(reports[0]["senders"]["trouble"], serde_json::json!([]));
    assert_eq!(
        addresses(&reports),
        [
            "192.0.2.0",
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.25",
            "192.0.2.3",
            "192.0.2.80",
            "198.51.100.7",
            "203.0.113.4",
            "203.0.113.5",
        ]
    );
    let listed = out.report("203.0.113.5");
    assert_eq!(listed["listed"], true);
    assert_eq!(
        listed["path"],
        "send.test spf → include:_spf.send.test → ip4:203.0.113.4/31"
    );
    assert_eq!(
        out.report("192.0.2.25")["path"],
        "send.test spf → mx:send.test (mx.send.test)"
    );

    // The text output says the same.
    let out = run_on(&dns, &["--zone", BL, "--spf", "send.test"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains("via: send.test spf → include:_spf.send.test → ip4:203.0.113.4/31"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("sending addresses (SPF) of send.test: 9")
    );
    // Each SPF network is summarised as a netblock is.
    for line in [
        "network 192.0.2.0/30 bl.test: 4 checked, 0 listed, 0 trouble",
        "network 203.0.113.4/31 bl.test: 2 checked, 1 listed, 0 trouble",
    ] {
        assert!(out.stdout.contains(line), "no {line:?} in {}", out.stdout);
    }
}

#[tokio::test]
async fn mx_and_spf_together_check_each_address_once() {
    let dns = spf_dns().await;
    let args = [
        "--zone",
        BL,
        "--mx",
        "--spf",
        "--format",
        "json",
        "send.test",
    ];
    let out = run_on(&dns, &args).await;
    assert_eq!(out.code, 1, "{out:?}");
    let reports = out.json();
    let found = addresses(&reports);
    let mut unique = found.clone();
    unique.dedup();
    assert_eq!(found, unique, "each address once");
    assert_eq!(found.len(), 9);
    // The mail server keeps its MX report; SPF adds the other eight.
    assert_eq!(out.report("192.0.2.25")["host"], "mx.send.test");
    assert_eq!(reports[0]["senders"]["addresses"], 8);
}

async fn assert_refused(dns: &TestDns, domain: &str, words: &[&str]) {
    crate::support::tool::Tool::Check.binary(); // built before the clock starts
    let started = Instant::now();
    let out = run_on(dns, &["--zone", BL, "--spf", domain]).await;
    assert!(started.elapsed() < Duration::from_secs(20), "{out:?}");
    assert_eq!(out.code, 2, "{domain}: {out:?}");
    for word in words {
        assert!(
            out.stdout.contains(word),
            "{domain}: no {word:?} in {out:?}"
        );
    }
}

#[tokio::test]
async fn loops_long_chains_wide_networks_and_failures_are_trouble() {
    let dns = spf_dns().await;
    assert_refused(&dns, "loop.send.test", &["loops back", "loop2.send.test"]).await;
    assert_refused(&dns, "chain.send.test", &["c10.send.test", "allows 10"]).await;
    assert_refused(
        &dns,
        "wide.send.test",
        &[
            "16777216 addresses",
            "--max-targets 65536",
            "ip4:10.0.0.0/8",
        ],
    )
    .await;
    assert_refused(&dns, "broken.send.test", &["TXT lookup", "SERVFAIL"]).await;
    assert_refused(&dns, "nothing.send.test", &["no SPF record"]).await;
    // No address of the /8 was asked about.
    assert!(dns.queries().iter().all(|q| !q.0.starts_with("0.0.0.10.")));
}

/// The set-up an admin runs: unbound serves the SPF, A and MX records from `local-data` and
/// sends the list zone to rbldnsd. Exactly the record's sending addresses are checked; the
/// listed one, reached through `include:`, is reported with its path.
#[tokio::test]
#[ignore = "needs unbound"]
async fn spf_through_unbound_and_rbldnsd() {
    use crate::cli::run;
    use crate::support::rbldnsd::{Rbldnsd, ZoneData};
    use crate::support::unbound::Unbound;
    let rbl = Rbldnsd::start(&[(
        "spfl.test",
        ZoneData::Ip4Set(":127.0.0.2:Listed: see https://spfl.test/$\n127.0.0.2\n10.7.2.5\n"),
    )])
    .expect("rbldnsd");
    let chain: Vec<String> = (1..=11)
        .map(|i| {
            format!(
                r#"local-data: 'c{i}.send.test. TXT "v=spf1 ip4:10.7.9.{i} include:c{}.send.test"'"#,
                i + 1
            )
        })
        .collect();
    let mut server = vec![
        r#"local-zone: "send.test" transparent"#,
        r#"local-data: 'send.test. TXT "v=spf1 ip4:10.7.1.0/30 a:relay.send.test mx include:_spf.send.test -all"'"#,
        r#"local-data: 'send.test. TXT "some-verification=abc"'"#,
        r#"local-data: "send.test. MX 10 mx.send.test.""#,
        r#"local-data: "mx.send.test. A 10.7.3.25""#,
        r#"local-data: "relay.send.test. A 10.7.3.80""#,
        r#"local-data: '_spf.send.test. TXT "v=spf1 ip4:10.7.2.4/31 ~all"'"#,
        r#"local-data: 'loop.send.test. TXT "v=spf1 include:loop2.send.test -all"'"#,
        r#"local-data: 'loop2.send.test. TXT "v=spf1 include:loop.send.test -all"'"#,
        r#"local-data: 'chain.send.test. TXT "v=spf1 include:c1.send.test -all"'"#,
        r#"local-data: 'wide.send.test. TXT "v=spf1 ip4:10.0.0.0/8 -all"'"#,
    ];
    server.extend(chain.iter().map(String::as_str));
    let unbound = Unbound::start(&server, &[("spfl.test", rbl.addr)]).expect("unbound");
    let address = unbound.addr.to_string();
    let common = [
        "--nameserver",
        &address,
        "--timeout",
        "2",
        "--zone",
        "spfl.test",
    ];

    let args = [&common[..], &["--spf", "--format", "json", "send.test"]].concat();
    let out = run(&args).await;
    assert_eq!(out.code, 1, "{out:?}\n{}", unbound.log());
    let reports = out.json();
    let mut checked: Vec<&str> = reports
        .iter()
        .filter(|r| r["via"] == "send.test")
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    checked.sort_unstable();
    assert_eq!(
        checked,
        [
            "10.7.1.0",
            "10.7.1.1",
            "10.7.1.2",
            "10.7.1.3",
            "10.7.2.4",
            "10.7.2.5",
            "10.7.3.25",
            "10.7.3.80"
        ]
    );
    let listed = out.report("10.7.2.5");
    assert_eq!(listed["listed"], true);
    assert_eq!(
        listed["path"],
        "send.test spf → include:_spf.send.test → ip4:10.7.2.4/31"
    );
    assert_eq!(
        listed["results"][0]["reasons"][0],
        "Listed: see https://spfl.test/10.7.2.5"
    );

    for (domain, words) in [
        ("loop.send.test", &["loops back", "loop2.send.test"][..]),
        ("chain.send.test", &["c10.send.test", "allows 10"][..]),
        (
            "wide.send.test",
            &["16777216 addresses", "--max-targets 65536"][..],
        ),
    ] {
        let started = std::time::Instant::now();
        let out = run(&[&common[..], &["--spf", domain]].concat()).await;
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{domain}: {out:?}"
        );
        assert_eq!(out.code, 2, "{domain}: {out:?}\n{}", unbound.log());
        for word in words {
            assert!(
                out.stdout.contains(word),
                "{domain}: no {word:?} in {out:?}"
            );
        }
    }
}
