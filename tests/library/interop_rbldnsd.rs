//! Interoperability with rbldnsd, the server many list operators run.
//!
//! Each test starts its own rbldnsd on a free loopback port with zones it writes itself.
//! Run with `cargo test -- --ignored` on a machine with rbldnsd installed.
#![cfg(unix)]

use std::collections::HashSet;
use std::time::Duration;

use crate::support::outcome;
use crate::support::rbldnsd::{Rbldnsd, ZoneData};
use dnsbl_check::outcome::{SkipReason, Unhealthy};
use dnsbl_check::{Checker, DnsList, ListHealth, ListKind, Outcome, Report};
use futures::StreamExt;

const IP4SET: &str = "\
$SOA 60 ns.bl.test hostmaster.bl.test 1 3600 600 86400 45
:127.0.0.2:Listed: see https://bl.test/lookup?ip=$
127.0.0.2
192.0.2.10
198.51.100.0/28 :127.0.0.4:Exploited host $
";

const IP4SET_POLICY: &str = "\
:127.0.0.10:Dynamic range
127.0.0.2
192.0.2.10
";

const IP6TRIE: &str = "\
:127.0.0.3:IPv6 range listed: $
::ffff:7f00:2
2001:db8:bad::/48
";

const DNSET: &str = "\
:127.0.1.2:Spam domain $
test
.spam.example
";

fn checker(rbl: &Rbldnsd, lists: Vec<DnsList>) -> Checker {
    let resolver = crate::support::resolver_at(rbl.addr, Duration::from_secs(1), 1);
    Checker::builder()
        .lists(lists)
        .build_with(resolver)
        .unwrap()
}

fn start() -> Rbldnsd {
    Rbldnsd::start(&[
        ("bl.test", ZoneData::Ip4Set(IP4SET)),
        // A second dataset in the same zone: rbldnsd answers with both codes at once.
        ("bl.test", ZoneData::Ip4Set(IP4SET_POLICY)),
        ("v6.test", ZoneData::Ip6Trie(IP6TRIE)),
        ("dbl.test", ZoneData::Dnset(DNSET)),
    ])
    .expect("rbldnsd starts")
}

fn lists() -> Vec<DnsList> {
    vec![
        DnsList::from_spec("bl.test=127.0.0.[2..11]", ListKind::Ipv4)
            .unwrap()
            .with_category("127.0.0.2".parse().unwrap(), "spam")
            .with_category("127.0.0.4".parse().unwrap(), "exploited")
            .with_category("127.0.0.10".parse().unwrap(), "policy"),
        DnsList::from_spec("v6.test", ListKind::Ipv6).unwrap(),
        DnsList::from_spec("dbl.test=127.0.1.[2..99]", ListKind::Domain).unwrap(),
    ]
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn ipv4_ipv6_and_domain_lookups_end_to_end() {
    let rbl = start();
    let checker = checker(&rbl, lists());

    let report = checker.check("192.0.2.10".parse().unwrap()).await;
    let Outcome::Listed(listing) = outcome(&report, "bl.test") else {
        panic!("{report:?}\n{}", rbl.log())
    };
    let mut categories = listing.categories.clone();
    categories.sort();
    assert_eq!(categories, ["policy", "spam"], "both datasets answer");
    assert!(
        listing
            .reasons
            .iter()
            .any(|r| r == "Listed: see https://bl.test/lookup?ip=192.0.2.10"),
        "{:?}",
        listing.reasons
    );
    assert!(report.listed);

    let report = checker.check("198.51.100.7".parse().unwrap()).await;
    let Outcome::Listed(listing) = outcome(&report, "bl.test") else {
        panic!("{report:?}")
    };
    assert_eq!(listing.categories, ["exploited"]);
    assert_eq!(listing.reasons, ["Exploited host 198.51.100.7"]);

    let clean = checker.check("192.0.2.11".parse().unwrap()).await;
    assert_eq!(*outcome(&clean, "bl.test"), Outcome::NotListed);
    assert!(!clean.listed);

    let v6 = checker.check("2001:db8:bad::25".parse().unwrap()).await;
    assert!(outcome(&v6, "v6.test").is_listed(), "{v6:?}");
    assert!(matches!(
        outcome(&v6, "bl.test"),
        Outcome::Skipped(SkipReason::NotApplicable(_))
    ));
    let v6_clean = checker.check("2001:db8:900d::25".parse().unwrap()).await;
    assert_eq!(*outcome(&v6_clean, "v6.test"), Outcome::NotListed);

    let domain = checker.check("WWW.Spam.Example.".parse().unwrap()).await;
    let Outcome::Listed(listing) = outcome(&domain, "dbl.test") else {
        panic!("{domain:?}")
    };
    assert_eq!(listing.reasons, ["Spam domain spam.example"]);
    let domain_clean = checker.check("example.org".parse().unwrap()).await;
    assert_eq!(*outcome(&domain_clean, "dbl.test"), Outcome::NotListed);

    // Every list passed its RFC 5782 test-point probe.
    for (list, health) in checker.health() {
        assert_eq!(health, ListHealth::Healthy, "{}", list.name());
    }
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn a_network_scan_gets_one_correct_answer_per_address() {
    let rbl = start();
    let checker = checker(&rbl, lists());
    let block: dnsbl_check::TargetSpec = "198.51.100.0/27".parse().unwrap();
    let reports: Vec<Report> = checker.check_iter(block).collect().await;
    assert_eq!(reports.len(), 32);
    let listed: HashSet<String> = reports
        .iter()
        .filter(|r| r.listed)
        .map(|r| r.target.to_string())
        .collect();
    let expected: HashSet<String> = (0..16).map(|i| format!("198.51.100.{i}")).collect();
    assert_eq!(listed, expected);
    assert!(reports.iter().all(|r| !r.has_trouble()));
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn dead_and_refusing_zones_are_never_listings() {
    let rbl = Rbldnsd::start(&[
        // rbldnsd's ip4set takes prefixes of /8 and longer: enough to cover the test points
        // and the target.
        (
            "dead.test",
            ZoneData::Ip4Set(":127.0.0.2:listed\n127.0.0.0/8\n192.0.0.0/8\n"),
        ),
        (
            "refusing.test",
            ZoneData::Ip4Set(":127.255.255.254:public resolver\n127.0.0.0/8\n192.0.0.0/8\n"),
        ),
    ])
    .unwrap();
    let checker = checker(
        &rbl,
        vec![
            DnsList::from_spec("dead.test", ListKind::Ipv4).unwrap(),
            DnsList::from_spec("refusing.test", ListKind::Ipv4).unwrap(),
        ],
    );
    let report = checker.check("192.0.2.1".parse().unwrap()).await;
    assert_eq!(
        *outcome(&report, "dead.test"),
        Outcome::Skipped(SkipReason::Unhealthy(Unhealthy::ListsEverything))
    );
    assert_eq!(outcome(&report, "refusing.test").status(), "list_error");
    assert!(!report.listed);
}

/// Runs the `dnsbl-check` example against `rbl` with `args`; returns (exit code, stdout).
fn run_cli(rbl: &Rbldnsd, args: &[&str]) -> (i32, String) {
    let binary = crate::support::tool::Tool::Check.binary();
    let output = std::process::Command::new(binary)
        .args(["--nameserver", &rbl.addr.to_string(), "--timeout", "1"])
        .args(args)
        .env_remove("SPAMHAUS_DQS_KEY")
        .output()
        .expect("run dnsbl-check");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    (output.status.code().expect("exit code"), stdout)
}

#[test]
#[ignore = "needs rbldnsd"]
fn the_command_line_tool_against_rbldnsd() {
    let rbl = start();
    for transport in ["pooled", "hickory"] {
        let (code, stdout) = run_cli(
            &rbl,
            &[
                "--transport",
                transport,
                "--zone",
                "bl.test=127.0.0.[2..11]",
                "--zone",
                "v6.test",
                "--domain-zone",
                "dbl.test=127.0.1.[2..99]",
                "--format",
                "json",
                "192.0.2.10",
                "198.51.100.0/30",
                "2001:db8:bad::1",
                "www.spam.example",
                "example.org",
            ],
        );
        assert_eq!(code, 1, "{transport}: {stdout}");
        let reports: Vec<serde_json::Value> = stdout
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON line"))
            .collect();
        assert_eq!(reports.len(), 8, "{transport}: {stdout}");
        let listed: HashSet<String> = reports
            .iter()
            .filter(|r| r["listed"] == true)
            .map(|r| r["target"].as_str().unwrap().to_owned())
            .collect();
        let expected: HashSet<String> = [
            "192.0.2.10",
            "198.51.100.0",
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.3",
            "2001:db8:bad::1",
            "www.spam.example",
        ]
        .map(String::from)
        .into();
        assert_eq!(listed, expected, "{transport}");
        let spam = reports
            .iter()
            .find(|r| r["target"] == "www.spam.example")
            .unwrap();
        assert_eq!(spam["results"][0]["reasons"][0], "Spam domain spam.example");
        // `--zone` lists hold both families, each proven by its own test point: the IPv4
        // set does not serve IPv6 (it lists `::ffff:7f00:2` only from its IPv4 data), the
        // IPv6 trie does not serve IPv4. Those pairs are trouble, never "not listed".
        for report in &reports {
            let target = report["target"].as_str().unwrap();
            for result in report["results"].as_array().unwrap() {
                let status = result["status"].as_str().unwrap();
                let unserved = match result["list"].as_str().unwrap() {
                    "bl.test" => target.contains(':'),
                    "v6.test" => !target.contains(':'),
                    _ => false,
                };
                if unserved {
                    assert_eq!(status, "skipped", "{transport}: {target}: {result}");
                    assert!(
                        result["detail"]
                            .as_str()
                            .unwrap()
                            .contains("does not serve IPv"),
                        "{transport}: {target}: {result}"
                    );
                } else {
                    assert!(
                        ["listed", "not_listed"].contains(&status),
                        "{transport}: {target}: {result}"
                    );
                }
            }
        }
    }

    // Nothing listed and every list answered: exit 0, in text.
    let (code, stdout) = run_cli(&rbl, &["--zone", "bl.test", "192.0.2.11"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("not listed"), "{stdout}");
}
