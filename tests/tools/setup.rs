//! `dnsbl-check --check-setup`: the first-run diagnosis, against servers that see the lists,
//! servers that do not, and lists that refuse.

use serde_json::Value;

use crate::cli::{Run, json_on, run, run_on, run_with, server_args, with_server, write_config};
use crate::support::rbldnsd::{Rbldnsd, ZoneData};
use crate::support::{Behaviour, TestDns};

/// A DQS key as they look: 26 characters.
const KEY: &str = "setupkeyabcdefghijklmnopqr";

/// The one JSON object `--format json` prints.
fn diagnosis(run: &Run) -> Value {
    let lines = run.json();
    assert_eq!(lines.len(), 1, "{run:?}");
    lines.into_iter().next().unwrap()
}

/// The verdict word of list `name`.
fn verdict(diagnosis: &Value, name: &str) -> String {
    diagnosis["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|list| list["list"] == name)
        .unwrap_or_else(|| panic!("no list {name}: {diagnosis}"))["verdict"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_resolver_that_sees_the_lists_passes() {
    let dns = TestDns::builder()
        .healthy_ip_zone("bl.test")
        .healthy_domain_zone("dbl.test")
        .start()
        .await;
    let args = [
        "--check-setup",
        "--zone",
        "bl.test",
        "--domain-zone",
        "dbl.test",
    ];
    let text = run_on(&dns, &args).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout.lines().last().unwrap().starts_with("OK"),
        "{text:?}"
    );
    let json = run_on(&dns, &[&args[..], &["--format", "json"]].concat()).await;
    assert_eq!(json.code, 0, "{json:?}");
    let found = diagnosis(&json);
    assert_eq!(found["ok"], true);
    assert_eq!(verdict(&found, "bl.test"), "works");
    assert_eq!(verdict(&found, "dbl.test"), "works");
    assert_eq!(found["resolvers"][0]["server"], dns.addr.to_string());
    assert!(found["resolvers"][0]["public"].is_null());
    // Every test point of both families was asked, and timed; the 6to4 image too.
    let points = found["lists"][0]["points"].as_array().unwrap();
    let asked: Vec<&str> = points
        .iter()
        .map(|point| point["point"].as_str().unwrap())
        .collect();
    assert_eq!(
        asked,
        [
            "127.0.0.2",
            "127.0.0.1",
            "::ffff:7f00:2",
            "::ffff:7f00:1",
            "2002:7f00:2::"
        ],
        "{found}"
    );
    assert!(
        points
            .iter()
            .all(|point| point["ms"].as_f64().unwrap() >= 0.0)
    );
}

#[tokio::test]
async fn a_list_without_ipv6_data_is_ipv4_only() {
    // The IPv4 test point only: `--zone` lists take both families.
    let dns = TestDns::builder()
        .zone("bl.test")
        .a("2.0.0.127.bl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let run = run_on(&dns, &["--check-setup", "--zone", "bl.test"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("bl.test (bl.test): IPv4 only"),
        "{run:?}"
    );
    assert!(
        run.stdout.lines().last().unwrap().starts_with("WARNING"),
        "{run:?}"
    );
}

#[tokio::test]
async fn a_sinkhole_resolver_is_named_as_the_problem() {
    // Answers NXDOMAIN (with its SOA) to every name, test points included.
    let dns = TestDns::builder()
        .zone("bl.test")
        .zone("dbl.test")
        .start()
        .await;
    let run = run_on(
        &dns,
        &[
            "--check-setup",
            "--zone",
            "bl.test",
            "--domain-zone",
            "dbl.test",
        ],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout
            .contains("blind: the test point 127.0.0.2 is not listed"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("blind: the test point test is not listed"),
        "{run:?}"
    );
    let last = run.stdout.lines().last().unwrap();
    assert!(last.starts_with("PROBLEM: 2 of 2 lists"), "{last}");
    assert!(last.contains("--nameserver"), "{last}");
}

#[tokio::test]
async fn a_list_refusing_public_resolvers_is_told_apart() {
    // What Spamhaus answers to a query that came through a public resolver.
    let dns = TestDns::builder()
        .zone("bl.test")
        .a("2.0.0.127.bl.test", &["127.255.255.254"], 60)
        .a("1.0.0.127.bl.test", &["127.255.255.254"], 60)
        .start()
        .await;
    let run = json_on(&dns, &["--check-setup", "--zone", "bl.test"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let found = diagnosis(&run);
    assert_eq!(verdict(&found, "bl.test"), "public_resolver_refused");
    assert_eq!(found["ok"], false);
}

#[tokio::test]
async fn a_keyed_zone_that_refuses_means_the_key_does_not_cover_it() {
    let zen = format!("{KEY}.zen.dq.spamhaus.net");
    let dns = TestDns::builder()
        .zone("zen.dq.spamhaus.net")
        .on(&format!("2.0.0.127.{zen}"), "A", Behaviour::Refused)
        .on(&format!("1.0.0.127.{zen}"), "A", Behaviour::Refused)
        .start()
        .await;
    let server = server_args(&dns);
    let args = with_server(
        &server,
        &[
            "--check-setup",
            "--preset",
            "spamhaus-zen-dqs",
            "--format",
            "json",
        ],
    );
    let run = run_with(&args, None, &[("SPAMHAUS_DQS_KEY", KEY)]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let found = diagnosis(&run);
    assert_eq!(verdict(&found, "spamhaus-zen-dqs"), "key_not_accepted");
    assert_eq!(found["lists"][0]["keyed"], true);
    assert_eq!(found["lists"][0]["zone"], "zen.dq.spamhaus.net");
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.to_ascii_lowercase().contains(KEY),
            "key printed: {text}"
        );
    }
}

#[tokio::test]
async fn a_list_without_test_points_is_unverified_not_proven() {
    let dns = TestDns::builder()
        .zone("private.test")
        .a("2.2.0.192.private.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let config = write_config(
        "[[list]]\nname = \"private\"\nzone = \"private.test\"\nkind = \"ipv4\"\n\
         test_points = \"none\"\n",
    );
    let args = ["--check-setup", "--config", config.path().to_str().unwrap()];
    let run = run_on(&dns, &[&args[..], &["--format", "json"]].concat()).await;
    let found = diagnosis(&run);
    assert_eq!(verdict(&found, "private"), "unverified", "{run:?}");
    // Nothing asked, nothing proven: a warning, not "OK".
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        found["summary"].as_str().unwrap().starts_with("WARNING"),
        "{found}"
    );
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn rbldnsd_ip4set_is_ipv4_only_and_dnset_works() {
    let rbl = Rbldnsd::start(&[
        (
            "ip.test",
            ZoneData::Ip4Set(":127.0.0.2:Listed $\n127.0.0.2\n"),
        ),
        (
            "v4.test",
            ZoneData::Ip4Set(":127.0.0.2:Listed $\n127.0.0.2\n"),
        ),
        ("dom.test", ZoneData::Dnset(":127.0.1.2:Listed\ntest\n")),
    ])
    .expect("start rbldnsd");
    let config = write_config("[[list]]\nname = \"v4\"\nzone = \"v4.test\"\nkind = \"ipv4\"\n");
    let run = run(&[
        "--check-setup",
        "--nameserver",
        &rbl.addr.to_string(),
        "--zone",
        "ip.test",
        "--domain-zone",
        "dom.test",
        "--config",
        config.path().to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    let found = diagnosis(&run);
    // rbldnsd's ip4set answers the IPv4-mapped IPv6 test point (::ffff:7f00:2) from its IPv4
    // data, and the 6to4 image (2002:7f00:2::) too: IPv4 only.
    assert_eq!(verdict(&found, "ip.test"), "ipv4_only", "{run:?}");
    let points = &found["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|list| list["list"] == "ip.test")
        .unwrap()["points"];
    let image = points
        .as_array()
        .unwrap()
        .iter()
        .find(|point| point["point"] == "2002:7f00:2::")
        .unwrap_or_else(|| panic!("no 6to4 probe: {points}"));
    assert_eq!(image["status"], "listed", "{points}");
    assert_eq!(verdict(&found, "v4"), "works", "{run:?}");
    assert_eq!(verdict(&found, "dom.test"), "works", "{run:?}");
    assert_eq!(run.code, 1, "{run:?}");
}
