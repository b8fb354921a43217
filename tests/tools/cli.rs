//! The `dnsbl-check` example, run as a user would run it, against an in-process DNS server.
//!
//! Every run passes `--nameserver` pointing at a server on 127.0.0.1: no query ever goes to
//! the system resolver.

use std::process::Stdio;
use std::time::Duration;

use crate::support::tool::{Tool, ToolProcess};
use crate::support::{Behaviour, TestDns, TestDnsBuilder};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

pub(crate) const BL: &str = "bl.test";
pub(crate) const DBL: &str = "dbl.test";
/// A Spamhaus DQS key as they look: 26 characters.
const KEY: &str = "secretkeyabcdefghijklmnopq";

/// What a run printed and how it exited.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Every stdout line, parsed as JSON.
    pub(crate) fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}\n{self:?}"))
            })
            .collect()
    }

    /// The targets reported, sorted.
    pub(crate) fn targets(&self) -> Vec<String> {
        let mut targets: Vec<String> = self
            .json()
            .iter()
            .map(|report| report["target"].as_str().unwrap().to_owned())
            .collect();
        targets.sort();
        targets
    }

    /// The status of the first list's result for `target`.
    pub(crate) fn status(&self, target: &str) -> Value {
        self.report(target)["results"][0]["status"].clone()
    }

    /// The JSON report of `target`.
    pub(crate) fn report(&self, target: &str) -> Value {
        self.json()
            .into_iter()
            .find(|report| report["target"] == target)
            .unwrap_or_else(|| panic!("no report for {target}: {self:?}"))
    }
}

/// Runs the example with `args`, `stdin` as its input and `env` added to its environment.
pub(crate) async fn run_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(Tool::Check.binary());
    command
        .args(args)
        // Nothing from the developer's environment may leak into a run.
        .env_remove("SPAMHAUS_DQS_KEY")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("spawn dnsbl-check");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("dnsbl-check took over a minute")
        .unwrap();
    let run = Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    run
}

pub(crate) async fn run(args: &[&str]) -> Run {
    run_with(args, None, &[]).await
}

/// `--nameserver` for `dns`, with a timeout generous enough for a loaded machine.
pub(crate) fn server_args(dns: &TestDns) -> Vec<String> {
    vec![
        "--nameserver".into(),
        dns.addr.to_string(),
        "--timeout".into(),
        "2".into(),
    ]
}

/// Runs `dnsbl-check` against `dns` (see [`server_args`]) with `args`.
pub(crate) async fn run_on(dns: &TestDns, args: &[&str]) -> Run {
    let server = server_args(dns);
    run(&with_server(&server, args)).await
}

/// [`run_on`] with `--format json`.
pub(crate) async fn json_on(dns: &TestDns, args: &[&str]) -> Run {
    run_on(dns, &[&["--format", "json"], args].concat()).await
}

/// `server_args` followed by `args`.
pub(crate) fn with_server<'a>(server: &'a [String], args: &[&'a str]) -> Vec<&'a str> {
    server
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
        .collect()
}

/// `bl.test`, healthy, listing 192.0.2.1 with a TXT reason.
pub(crate) async fn bl_server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 300)
        .txt(
            "1.2.0.192.bl.test",
            &["Listed: see ", "https://bl.test/?1"],
            300,
        )
        .start()
        .await
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            (
                result["list"].as_str().unwrap().to_owned(),
                result["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub(crate) fn write_config(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    file
}

// ---------------------------------------------------------------------------------------------
// Statuses, the JSON schema and exit codes.

#[tokio::test]
async fn listed_ipv4_from_a_config_list_has_categories_and_reason() {
    let dns = bl_server().await;
    let config = write_config(&format!(
        r#"
        nameservers = ["{}"]
        threshold = 1
        timeout = 2

        [[list]]
        name = "test-list"
        zone = "bl.test"
        kind = "ipv4"
        filter = "127.0.0.[2..10]"
        weight = 3
        categories = {{ "127.0.0.2" = "spam source", "127.0.0.[2..3]" = "any abuse" }}
        "#,
        dns.addr
    ));
    let config_path = config.path().to_str().unwrap();
    let out = run(&["--config", config_path, "--format", "json", "192.0.2.1"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let reports = out.json();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report["target"], "192.0.2.1");
    assert_eq!(report["listed"], true);
    assert_eq!(report["score"], 3);
    let result = &report["results"][0];
    assert_eq!(result["list"], "test-list");
    assert_eq!(result["zone"], "bl.test");
    assert_eq!(result["status"], "listed");
    assert_eq!(result["codes"], serde_json::json!(["127.0.0.2"]));
    assert_eq!(
        result["categories"],
        serde_json::json!(["spam source", "any abuse"])
    );
    assert_eq!(
        result["reasons"],
        serde_json::json!(["Listed: see https://bl.test/?1"])
    );
    assert_eq!(result["ttl"], 300);
    assert!(result.get("detail").is_none(), "{result}");

    // The same in text: verdict, list, codes, categories and reason on readable lines.
    let text = run(&["--config", config_path, "192.0.2.1"]).await;
    assert_eq!(text.code, 1, "{text:?}");
    let mut lines = text.stdout.lines();
    assert_eq!(lines.next().unwrap(), "192.0.2.1: LISTED (score 3)");
    let line = lines.next().unwrap();
    for part in [
        "listed",
        "test-list (bl.test)",
        "127.0.0.2",
        "[spam source, any abuse]",
        "\"Listed: see https://bl.test/?1\"",
    ] {
        assert!(line.contains(part), "{part:?} not in {line:?}");
    }
    assert!(!text.stdout.contains('\x1b'), "no colour off a terminal");
    assert!(
        !text.stdout.contains("summary"),
        "no summary for one target"
    );
}

#[tokio::test]
async fn not_listed_exits_zero() {
    let dns = bl_server().await;
    let out = json_on(&dns, &["--zone", BL, "192.0.2.99"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.report("192.0.2.99");
    assert_eq!(report["listed"], false);
    assert_eq!(report["score"], 0);
    let result = &report["results"][0];
    assert_eq!(result["status"], "not_listed");
    assert_eq!(result["zone"], BL);
    assert_eq!(result["codes"], serde_json::json!([]));
    assert!(result.get("ttl").is_none() && result.get("detail").is_none());
    assert!(out.stderr.is_empty(), "{out:?}");

    let text = run_on(&dns, &["--zone", BL, "192.0.2.99"]).await;
    assert_eq!(text.code, 0);
    assert_eq!(
        text.stdout,
        "192.0.2.99: not listed (score 0)\n  not_listed bl.test\n"
    );
}

/// One server for every kind of trouble, each on its own address under `bl.test`.
async fn trouble_server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .on("21.2.0.192.bl.test", "A", Behaviour::ServFail)
        .on("22.2.0.192.bl.test", "*", Behaviour::Drop)
        .a("23.2.0.192.bl.test", &["127.255.255.254"], 60)
        .a("24.2.0.192.bl.test", &["198.51.100.7"], 60)
        .start()
        .await
}

#[tokio::test]
async fn every_kind_of_trouble_has_its_status_and_exits_two() {
    let dns = trouble_server().await;
    let cases = [
        ("192.0.2.21", "failed", "SERVFAIL"),
        ("192.0.2.22", "failed", "timeout"),
        ("192.0.2.23", "list_error", "open resolver"),
        ("192.0.2.24", "invalid", "outside 127.0.0.0/8"),
    ];
    for (target, status, detail) in cases {
        let address = dns.addr.to_string();
        let out = run(&[
            "--nameserver",
            &address,
            "--timeout",
            "0.3",
            "--zone",
            BL,
            "--format",
            "json",
            target,
        ])
        .await;
        assert_eq!(out.code, 2, "{target}: {out:?}");
        let report = out.report(target);
        assert_eq!(report["listed"], false);
        let result = &report["results"][0];
        assert_eq!(result["status"], status, "{target}: {result}");
        let got = result["detail"].as_str().unwrap();
        assert!(got.contains(detail), "{target}: {got:?}");
    }
    // The codes of an operator error and of an invalid answer are kept.
    let address = dns.addr.to_string();
    let out = run(&[
        "--nameserver",
        &address,
        "--zone",
        BL,
        "--format",
        "json",
        "192.0.2.23",
        "192.0.2.24",
    ])
    .await;
    assert_eq!(
        out.report("192.0.2.23")["results"][0]["codes"],
        serde_json::json!(["127.255.255.254"])
    );
    assert_eq!(
        out.report("192.0.2.24")["results"][0]["codes"],
        serde_json::json!(["198.51.100.7"])
    );
}

#[tokio::test]
async fn trouble_in_text_is_shown_with_its_detail() {
    let dns = trouble_server().await;
    let out = run_on(&dns, &["--zone", BL, "192.0.2.21"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stdout,
        "192.0.2.21: unknown: no list answered (1 list gave trouble)\n  \
         failed     bl.test  SERVFAIL\n"
    );
}

#[tokio::test]
async fn a_target_some_lists_answered_for_is_not_listed_but_incomplete() {
    let dns = TestDns::builder()
        .healthy_ip_zone(BL)
        .healthy_ip_zone("ok.test")
        .on("21.2.0.192.bl.test", "A", Behaviour::ServFail)
        .start()
        .await;
    let out = run_on(&dns, &["--zone", BL, "--zone", "ok.test", "192.0.2.21"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout
            .starts_with("192.0.2.21: not listed (score 0; incomplete: 1 list gave trouble)\n"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn a_list_that_lists_everything_is_skipped_as_unhealthy() {
    let dns = TestDns::builder()
        .wildcard_a("all.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let out = json_on(&dns, &["--zone", "all.test", "192.0.2.1"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let report = out.report("192.0.2.1");
    assert_eq!(report["listed"], false, "an unhealthy list never lists");
    let result = &report["results"][0];
    assert_eq!(result["status"], "skipped");
    assert_eq!(
        result["detail"],
        "lists 127.0.0.1: list answers for everything"
    );

    // Without the health check the list is believed: that is what the flag is for.
    let out = run_on(
        &dns,
        &["--zone", "all.test", "--no-health-check", "192.0.2.1"],
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    let asked: Vec<String> = dns.queries().into_iter().map(|(name, _)| name).collect();
    // Case-insensitively: the pooled transport randomises the case of query names.
    assert!(
        asked
            .iter()
            .any(|name| name.eq_ignore_ascii_case("1.0.0.127.all.test."))
    );
}

#[tokio::test]
async fn threshold_weights_and_no_txt() {
    let dns = bl_server_builder()
        .healthy_ip_zone("two.test")
        .a("1.2.0.192.two.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let server = server_args(&dns);
    let lists = ["--zone", BL, "--zone", "two.test*2"];
    let mut args = lists.to_vec();
    args.extend([
        "--format",
        "json",
        "--no-txt",
        "--threshold",
        "4",
        "192.0.2.1",
    ]);
    let out = run(&with_server(&server, &args)).await;
    assert_eq!(out.code, 0, "score 3 is below threshold 4: {out:?}");
    let report = out.report("192.0.2.1");
    assert_eq!(report["score"], 3);
    assert_eq!(report["listed"], false);
    for result in report["results"].as_array().unwrap() {
        assert_eq!(result["status"], "listed");
        assert_eq!(result["reasons"], serde_json::json!([]), "--no-txt");
    }
    assert!(
        !dns.queries().iter().any(|(_, kind)| kind == "TXT"),
        "--no-txt sends no TXT query"
    );
    args.truncate(args.len() - 3);
    args.extend(["--threshold", "3", "192.0.2.1"]);
    assert_eq!(run(&with_server(&server, &args)).await.code, 1);
}

fn bl_server_builder() -> TestDnsBuilder {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 300)
}

// ---------------------------------------------------------------------------------------------
// Target kinds and input.

#[tokio::test]
async fn ipv6_targets_use_nibble_names() {
    let name = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test";
    let dns = TestDns::builder()
        .healthy_ip_zone(BL)
        .a(name, &["127.0.0.3"], 60)
        .start()
        .await;
    let out = json_on(&dns, &["--zone", BL, "2001:db8::1", "2001:db8::2"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.status("2001:db8::1"), "listed");
    assert_eq!(out.status("2001:db8::2"), "not_listed");
}

#[tokio::test]
async fn cidr_blocks_expand_to_every_address() {
    let dns = bl_server().await;
    let out = json_on(&dns, &["--zone", BL, "192.0.2.0/28"]).await;
    assert_eq!(out.code, 1, "192.0.2.1 is listed: {out:?}");
    let mut targets: Vec<String> = out
        .json()
        .iter()
        .map(|report| report["target"].as_str().unwrap().to_owned())
        .collect();
    targets.sort_by_key(|target| target.parse::<std::net::Ipv4Addr>().unwrap());
    let expected: Vec<String> = (0..16).map(|last| format!("192.0.2.{last}")).collect();
    assert_eq!(
        targets, expected,
        "network and broadcast addresses included"
    );
    let listed: Vec<Value> = out
        .json()
        .into_iter()
        .filter(|report| report["listed"] == true)
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["target"], "192.0.2.1");

    // Text mode ends a bulk run with a summary line, then a line per network and list.
    let out = run_on(&dns, &["--zone", BL, "192.0.2.0/30"]).await;
    assert_eq!(out.stdout.matches(": not listed").count(), 3, "{out:?}");
    let last: Vec<&str> = out.stdout.lines().rev().take(2).collect();
    assert_eq!(
        last,
        [
            "network 192.0.2.0/30 bl.test: 4 checked, 1 listed, 0 trouble",
            "summary: 4 checked, 1 listed, 0 incomplete; list trouble: none",
        ]
    );
    // --quiet drops it.
    let out = run_on(&dns, &["--zone", BL, "-q", "192.0.2.0/30"]).await;
    assert!(!out.stdout.contains("summary"), "{out:?}");
}

#[tokio::test]
async fn domains_go_to_domain_lists_and_addresses_to_ip_lists() {
    let dns = bl_server_builder()
        .healthy_domain_zone(DBL)
        .a("example.com.dbl.test", &["127.0.1.2"], 60)
        .txt("example.com.dbl.test", &["spam domain"], 60)
        .start()
        .await;
    let out = json_on(
        &dns,
        &[
            "--zone",
            BL,
            "--domain-zone",
            DBL,
            "Example.COM.",
            "example.org",
            "192.0.2.1",
        ],
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    let own = |target: &str| statuses(&out.report(target));
    // Lists that do not take a target's kind are left out, not reported as skipped.
    assert_eq!(own("example.com"), [(DBL.into(), "listed".into())]);
    assert_eq!(own("example.org"), [(DBL.into(), "not_listed".into())]);
    assert_eq!(own("192.0.2.1"), [(BL.into(), "listed".into())]);
    assert_eq!(
        out.report("example.com")["results"][0]["reasons"],
        serde_json::json!(["spam domain"])
    );
    let asked: Vec<String> = dns.queries().into_iter().map(|(name, _)| name).collect();
    assert!(
        !asked
            .iter()
            .any(|name| name.contains("example.com.bl.test"))
    );
    assert!(!asked.iter().any(|name| name.contains("192.dbl.test")));

    // Clean targets of both kinds: the inapplicable lists are no trouble, so exit 0.
    let out = run_on(
        &dns,
        &[
            "--zone",
            BL,
            "--domain-zone",
            DBL,
            "example.org",
            "192.0.2.7",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("skipped"), "{out:?}");
}

#[tokio::test]
async fn a_target_no_list_takes_is_reported_and_exits_two() {
    let dns = bl_server().await;
    let out = run_on(&dns, &["--zone", BL, "example.com"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("no configured list takes"), "{out:?}");
}

#[tokio::test]
async fn stdin_input_skips_comments_and_blank_lines() {
    let dns = bl_server().await;
    let server = server_args(&dns);
    let input = "# hosts to check\n\n192.0.2.1\n   \n  192.0.2.2   # trailing comment\n\
                 192.0.2.4/31\n#192.0.2.9\n";
    let out = run_with(
        &with_server(&server, &["--zone", BL, "--format", "json", "--input", "-"]),
        Some(input),
        &[],
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    let targets = out.targets();
    assert_eq!(
        targets,
        ["192.0.2.1", "192.0.2.2", "192.0.2.4", "192.0.2.5"]
    );
    assert!(out.stderr.is_empty(), "{out:?}");
}

/// A line typed on stdin is answered before the next line comes: targets are never held back
/// waiting for more input.
#[tokio::test]
async fn stdin_line_is_answered_before_the_next_line() {
    let dns = bl_server().await;
    let server = server_args(&dns);
    let args = ["--zone", BL, "--format", "json", "--input", "-"];
    let mut check = ToolProcess::spawn_with_stdin(Tool::Check, &with_server(&server, &args));
    for target in ["192.0.2.1", "192.0.2.2"] {
        check.write_stdin(&format!("{target}\n")).await;
        // stdin stays open: the report must come without more input or end of input.
        let line = check
            .next_line(Duration::from_secs(20))
            .await
            .unwrap_or_else(|_| panic!("no report for {target} while stdin stays open"))
            .expect("a report line");
        let report: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(report["target"], target, "{line}");
    }
    check.close_stdin();
    let status = check.wait_within(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(1), "192.0.2.1 is listed");
}

#[tokio::test]
async fn input_file_and_arguments_together() {
    let dns = bl_server().await;
    let file = write_config("192.0.2.2\n192.0.2.3\n");
    let path = file.path().to_str().unwrap();
    let out = json_on(&dns, &["--zone", BL, "--input", path, "192.0.2.1"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json().len(), 3);

    let missing = run_on(&dns, &["--zone", BL, "--input", "/nonexistent/targets.txt"]).await;
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/nonexistent/targets.txt"),
        "{missing:?}"
    );
}

#[tokio::test]
async fn bad_targets_are_named_and_the_rest_still_checked() {
    let dns = bl_server().await;
    let server = server_args(&dns);
    let out = json_on(
        &dns,
        &["--zone", BL, "192.0.2.7", "999.1.1.1", "not a host!!"],
    )
    .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.json().len(), 1);
    assert_eq!(out.report("192.0.2.7")["listed"], false);
    assert!(
        out.stderr.contains("argument 2") && out.stderr.contains("\"999.1.1.1\""),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("argument 3") && out.stderr.contains("\"not a host!!\""),
        "{out:?}"
    );

    let input = "192.0.2.7\n# fine\n999.1.1.1\n10.0.0.0/33\n192.0.2.8\n";
    let out = run_with(
        &with_server(&server, &["--zone", BL, "--format", "json", "--input", "-"]),
        Some(input),
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.json().len(), 2);
    assert!(
        out.stderr.contains("stdin line 3") && out.stderr.contains("999.1.1.1"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("stdin line 4") && out.stderr.contains("10.0.0.0/33"),
        "{out:?}"
    );

    // A listing still wins over bad input.
    let out = run_with(
        &with_server(&server, &["--zone", BL, "--input", "-"]),
        Some("999.1.1.1\n192.0.2.1\n"),
        &[],
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
}

#[tokio::test]
async fn garbage_input_never_panics() {
    let dns = bl_server().await;
    let server = server_args(&dns);
    let long_line = "a".repeat(100_000);
    let input = format!("\u{0}\u{1b}[31m\n{long_line}\n::\n/\n192.0.2.1/\n-\n192.0.2.7");
    let out = run_with(
        &with_server(&server, &["--zone", BL, "--format", "json", "--input", "-"]),
        Some(&input),
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{out:?}");
    // `::` is an address (the unspecified one): asked like any other.
    let targets = out.targets();
    assert_eq!(targets, ["192.0.2.7", "::"], "{out:?}");
    assert!(out.stderr.contains("line 2: line too long"), "{out:?}");
}

#[tokio::test]
async fn a_closed_stdout_ends_the_run_quietly() {
    let dns = bl_server().await;
    let address = dns.addr.to_string();
    let mut child = Command::new(Tool::Check.binary())
        .args(["--nameserver", &address, "--zone", BL, "--format", "json"])
        .arg("192.0.2.0/22")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Read one line, then hang up, as `| head -1` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    tokio::io::AsyncReadExt::read_exact(&mut stdout, &mut first)
        .await
        .unwrap();
    drop(stdout);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "no panic");
}

// ---------------------------------------------------------------------------------------------
// Presets, DQS keys and usage errors.

/// The block `--list-presets` prints for the preset `name`.
fn preset_block<'a>(catalog: &'a str, name: &str) -> &'a str {
    catalog
        .split("\n\n")
        .find(|block| block.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no block for {name} in {catalog}"))
}

#[tokio::test]
async fn list_presets_prints_the_catalog() {
    let out = run(&["--list-presets"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let zen = preset_block(&out.stdout, "spamhaus-zen");
    for part in [
        "[default]",
        "kind: ip",
        "zone: zen.spamhaus.org",
        "terms: ",
        "checked: ",
        "127.0.0.2 SBL",
    ] {
        assert!(zen.contains(part), "{part:?} not in {zen}");
    }
    let dqs = preset_block(&out.stdout, "spamhaus-zen-dqs");
    assert!(dqs.contains("[needs DQS key]") && !dqs.contains("[default]"));
    let dnswl = preset_block(&out.stdout, "dnswl");
    assert!(dnswl.contains("kind: ip  zone: list.dnswl.org"), "{dnswl}");
    for name in ["spamcop", "uribl-multi", "spamhaus-dbl"] {
        preset_block(&out.stdout, name);
    }

    let json = run(&["--list-presets", "--format", "json"]).await;
    let entries = json.json();
    let dbl = entries
        .iter()
        .find(|entry| entry["name"] == "spamhaus-dbl")
        .unwrap();
    assert_eq!(dbl["default"], true);
    assert_eq!(dbl["list"]["kind"], "domain");
    assert_eq!(dbl["list"]["zone"], "dbl.spamhaus.org");
}

/// Serves Spamhaus DQS zones with the key, as `<key>.zen.dq.spamhaus.net`.
async fn dqs_server() -> TestDns {
    let zen = format!("{KEY}.zen.dq.spamhaus.net");
    TestDns::builder()
        .zone("zen.dq.spamhaus.net")
        .a(&format!("2.0.0.127.{zen}"), &["127.0.0.2", "127.0.0.4"], 60)
        .txt(
            &format!("2.0.0.127.{zen}"),
            &["https://check.spamhaus.org/"],
            60,
        )
        .a(&format!("1.2.0.192.{zen}"), &["127.0.0.4"], 60)
        .start()
        .await
}

fn assert_no_key(out: &Run) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.to_ascii_lowercase().contains(KEY),
            "key printed on {stream}: {text}"
        );
    }
}

#[tokio::test]
async fn dqs_key_is_used_but_never_printed() {
    let dns = dqs_server().await;
    let server = server_args(&dns);
    let preset = ["--preset", "spamhaus-zen-dqs", "192.0.2.1"];
    let flag = with_server(&server, &["--dqs-key", KEY]);
    let runs = [
        run(&[&flag[..], &preset, &["--format", "json"]].concat()).await,
        run(&[&flag[..], &preset].concat()).await,
        run(&[&flag[..], &preset, &["-vv"]].concat()).await,
        // Everything the stock resolver logs too (it logs query names at trace level); the
        // CLI scrubs the key from every log line.
        run_with(
            &[&flag[..], &preset, &["-v", "--transport", "hickory"]].concat(),
            None,
            &[("RUST_LOG", "trace")],
        )
        .await,
        run_with(
            &[
                &with_server(&server, &[])[..],
                &preset,
                &["-v", "--format", "json"],
            ]
            .concat(),
            None,
            &[("SPAMHAUS_DQS_KEY", KEY), ("RUST_LOG", "trace")],
        )
        .await,
    ];
    for out in &runs {
        assert_eq!(out.code, 1, "{out:?}");
        assert_no_key(out);
    }
    let report = runs[0].report("192.0.2.1");
    let result = &report["results"][0];
    assert_eq!(result["list"], "spamhaus-zen-dqs");
    assert_eq!(result["zone"], "zen.dq.spamhaus.net");
    assert_eq!(result["categories"], serde_json::json!(["XBL"]));
    assert!(
        runs[3].stderr.contains("<redacted>"),
        "the resolver's trace logs name the queries: {}",
        runs[3].stderr
    );
    // The queries really carried the key.
    assert!(
        dns.queries()
            .iter()
            // Case-insensitively: the pooled transport randomises the case of query names.
            .any(|(name, _)| name
                .eq_ignore_ascii_case(&format!("1.2.0.192.{KEY}.zen.dq.spamhaus.net.")))
    );

    // `--help` with the key in the environment does not show it either.
    let help = run_with(&["--help"], None, &[("SPAMHAUS_DQS_KEY", KEY)]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("SPAMHAUS_DQS_KEY"));
    assert_no_key(&help);
}

#[tokio::test]
async fn dqs_key_switches_the_default_spamhaus_presets() {
    let dns = dqs_server().await;
    let out = json_on(
        &dns,
        &["--dqs-key", KEY, "--preset", "spamhaus-zen", "192.0.2.1"],
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.report("192.0.2.1")["results"][0]["zone"],
        "zen.dq.spamhaus.net"
    );
    assert_no_key(&out);
}

#[tokio::test]
async fn usage_errors_exit_two_with_a_clear_message() {
    // Nothing here reaches the network: each run stops before the first query.
    let cases: &[(&[&str], &str)] = &[
        (
            &["--preset", "spamhaus-zen-dqs", "192.0.2.1"],
            "needs a Spamhaus DQS key",
        ),
        (
            &["--preset", "sorbs", "192.0.2.1"],
            "unknown preset \"sorbs\"",
        ),
        (
            &["--zone", "bl.test=127.0.0.[2..x]", "192.0.2.1"],
            "invalid list spec",
        ),
        (&["--zone", "bl.test*x", "192.0.2.1"], "weight"),
        (&["--timeout", "0", "192.0.2.1"], "--timeout"),
        (&["--nameserver", "localhost", "192.0.2.1"], "localhost"),
        (&["--format", "yaml", "192.0.2.1"], "yaml"),
        (&["--concurrency", "0", "192.0.2.1"], "--concurrency"),
        (&[], "TARGET"),
    ];
    for (args, message) in cases {
        let out = run(args).await;
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    // A bad key is refused without being repeated.
    let out = run(&[
        "--dqs-key",
        "bad.key.value",
        "--preset",
        "spamhaus-zen",
        "192.0.2.1",
    ])
    .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("SPAMHAUS_DQS_KEY") && !out.stderr.contains("bad.key.value"));
}

#[tokio::test]
async fn config_errors_name_the_file_and_line_but_not_the_key() {
    let config = write_config(&format!(
        "[[list]]\nzone = \"{KEY}.zen.dq.spamhaus.net\"\nweight = \"heavy\"\n"
    ));
    let out = run(&["--config", config.path().to_str().unwrap(), "192.0.2.1"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("line 3"), "{out:?}");
    assert_no_key(&out);

    let config = write_config("[[list]]\nzone = \"bl.test\"\ncolour = \"red\"\n");
    let out = run(&["--config", config.path().to_str().unwrap(), "192.0.2.1"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("colour"), "{out:?}");
}

#[tokio::test]
async fn config_keyed_list_and_command_line_overrides() {
    let dns = dqs_server().await;
    let config = write_config(&format!(
        "threshold = 5\nnameservers = [\"127.0.0.1:1\"]\n\n\
         [[list]]\nname = \"zen-keyed\"\nzone = \"zen.dq.spamhaus.net\"\nkey = \"{KEY}\"\n"
    ));
    // The command line's --nameserver and --threshold win over the config's.
    let address = dns.addr.to_string();
    let out = run(&[
        "--config",
        config.path().to_str().unwrap(),
        "--nameserver",
        &address,
        "--threshold",
        "1",
        "--format",
        "json",
        "192.0.2.1",
    ])
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    let result = &out.report("192.0.2.1")["results"][0];
    assert_eq!(result["list"], "zen-keyed");
    assert_eq!(result["zone"], "zen.dq.spamhaus.net");
    assert_no_key(&out);
}

#[tokio::test]
async fn json_config_with_presets_and_the_key_from_the_environment() {
    let dns = dqs_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lists.json");
    let config = serde_json::json!({
        "presets": ["spamhaus-zen-dqs"],
        "nameservers": [dns.addr.to_string()],
        "timeout": 2,
    });
    std::fs::write(&path, config.to_string()).unwrap();
    let path = path.to_str().unwrap();
    let args = ["--config", path, "--format", "json", "192.0.2.1"];
    let out = run_with(&args, None, &[("SPAMHAUS_DQS_KEY", KEY)]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.report("192.0.2.1")["results"][0]["list"],
        "spamhaus-zen-dqs"
    );
    assert_no_key(&out);

    // The preset in the file needs the key as much as one on the command line.
    let out = run(&args).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("needs a Spamhaus DQS key"), "{out:?}");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_full_disk_is_reported_and_exits_two() {
    let dns = bl_server().await;
    let address = dns.addr.to_string();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(Tool::Check.binary())
        .args(["--nameserver", &address, "--zone", BL, "192.0.2.7"])
        .env_remove("RUST_LOG")
        .stdout(full)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Not `output()`: tokio's replaces the stdout set here with a pipe.
        .spawn()
        .unwrap()
        .wait_with_output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write output"), "{stderr}");
}

/// `bl.test` plus reverse DNS: 192.0.2.1 confirmed, .2 not confirmed, .3 without PTR, .4
/// failing.
async fn rdns_server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .zone("in-addr.arpa")
        .zone("example.test")
        .ptr("1.2.0.192.in-addr.arpa", &["mail.example.test."], 60)
        .a("mail.example.test", &["192.0.2.1"], 60)
        .ptr("2.2.0.192.in-addr.arpa", &["liar.example.test."], 60)
        .a("liar.example.test", &["198.51.100.1"], 60)
        .on("4.2.0.192.in-addr.arpa", "*", Behaviour::ServFail)
        .start()
        .await
}

#[tokio::test]
async fn rdns_shows_forward_confirmed_reverse_dns() {
    let dns = rdns_server().await;
    let server = server_args(&dns);
    let args = with_server(
        &server,
        &[
            "--zone",
            BL,
            "--rdns",
            "--format",
            "json",
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.3",
        ],
    );
    let out = run(&args).await;
    assert_eq!(
        out.code, 0,
        "no-PTR and unconfirmed are not trouble: {out:?}"
    );
    assert_eq!(out.report("192.0.2.1")["rdns"]["status"], "confirmed");
    assert_eq!(
        out.report("192.0.2.1")["rdns"]["names"],
        serde_json::json!(["mail.example.test"])
    );
    assert_eq!(out.report("192.0.2.2")["rdns"]["status"], "not_confirmed");
    assert_eq!(out.report("192.0.2.3")["rdns"]["status"], "no_ptr");

    let out = run_on(&dns, &["--zone", BL, "--rdns", "192.0.2.4"]).await;
    assert_eq!(out.code, 2, "a failed reverse lookup is trouble: {out:?}");
    assert!(out.stdout.contains("rdns"), "{out:?}");
    assert!(out.stdout.contains("lookup failed: SERVFAIL"), "{out:?}");

    let out = run_on(&dns, &["--zone", BL, "--rdns", "192.0.2.1"]).await;
    assert!(
        out.stdout.contains("confirmed: mail.example.test"),
        "{out:?}"
    );

    // Without the flag, no reverse lookups at all.
    let before = dns.queries().len();
    let out = json_on(&dns, &["--zone", BL, "192.0.2.1"]).await;
    assert!(out.report("192.0.2.1").get("rdns").is_none());
    assert!(
        !dns.queries()[before..].iter().any(|(_, t)| t == "PTR"),
        "{:?}",
        dns.queries()
    );
}

#[tokio::test]
async fn both_transports_print_the_same_reports() {
    let dns = trouble_server().await;
    let address = dns.addr.to_string();
    let mut outputs = Vec::new();
    for transport in ["pooled", "hickory"] {
        let out = run(&[
            "--nameserver",
            &address,
            "--timeout",
            "0.5",
            "--zone",
            BL,
            "--transport",
            transport,
            "--format",
            "json",
            "192.0.2.16/28",
        ])
        .await;
        assert_eq!(out.code, 2, "{transport}: {out:?}");
        let mut lines: Vec<String> = out.json().iter().map(Value::to_string).collect();
        lines.sort();
        assert_eq!(lines.len(), 16, "{transport}: {out:?}");
        outputs.push(lines);
    }
    assert_eq!(outputs[0], outputs[1]);
}

// ---------------------------------------------------------------------------------------------
// A resolver that cannot see the lists.

/// A resolver that answers NXDOMAIN to everything (a filtering, captive or sandboxed one),
/// with an SOA or without: no `not_listed`, exit 2, and the reason said without `-v`.
#[tokio::test]
async fn a_resolver_blind_to_the_lists_never_reads_clean() {
    let with_soa = TestDns::builder().zone(BL).zone(DBL).start().await;
    let without_soa = TestDns::builder()
        .zone(BL)
        .on(&format!("*.{BL}"), "*", Behaviour::NxDomain)
        .zone(DBL)
        .on(&format!("*.{DBL}"), "*", Behaviour::NxDomain)
        .start()
        .await;
    for dns in [&with_soa, &without_soa] {
        for (target, args) in [
            ("127.0.0.2", vec!["--zone", BL]),
            ("192.0.2.1", vec!["--zone", BL]),
            ("2001:db8::1", vec!["--zone", BL]),
            ("example.com", vec!["--domain-zone", DBL]),
        ] {
            let args = [&args[..], &[target]].concat();
            let text = run_on(dns, &args).await;
            assert_eq!(text.code, 2, "{target}: {text:?}");
            assert!(!text.stdout.contains("not_listed"), "{text:?}");
            let warnings: Vec<&str> = text
                .stderr
                .lines()
                .filter(|line| line.contains("warning:"))
                .collect();
            assert_eq!(warnings.len(), 1, "one line per list: {text:?}");
            assert!(
                warnings[0].contains("is not listed (NXDOMAIN): your resolver")
                    && warnings[0].contains(&dns.addr.to_string())
                    && warnings[0].contains("--nameserver"),
                "{text:?}"
            );
            let json = run_on(dns, &[&["--format", "json"], &args[..]].concat()).await;
            assert_eq!(json.code, 2, "{json:?}");
            let report = &json.json()[0];
            let result = &report["results"][0];
            assert_eq!(result["status"], "skipped", "{json:?}");
            assert!(
                result["detail"]
                    .as_str()
                    .unwrap()
                    .contains("is not listed (NXDOMAIN)"),
                "{json:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_list_that_serves_ipv4_only_gives_trouble_for_ipv6_and_says_so_once() {
    let dns = TestDns::builder()
        .zone(BL)
        .a("2.0.0.127.bl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let v4 = run_on(&dns, &["--zone", BL, "192.0.2.1"]).await;
    assert_eq!(v4.code, 0, "{v4:?}");
    let both = json_on(
        &dns,
        &["--zone", BL, "2001:db8::1", "2001:db8::2", "192.0.2.1"],
    )
    .await;
    assert_eq!(both.code, 2, "{both:?}");
    for report in both.json() {
        let status = report["results"][0]["status"].as_str().unwrap().to_owned();
        let v6 = report["target"].as_str().unwrap().contains(':');
        assert_eq!(
            status,
            if v6 { "skipped" } else { "not_listed" },
            "{report}"
        );
    }
    let said: Vec<&str> = both
        .stderr
        .lines()
        .filter(|line| line.contains("does not serve IPv6"))
        .collect();
    assert_eq!(said.len(), 1, "{both:?}");
}

#[tokio::test]
async fn a_config_list_without_test_points_is_used_as_it_answers() {
    let dns = TestDns::builder()
        .zone(BL)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let config = write_config(
        "[[list]]\nname = \"private\"\nzone = \"bl.test\"\nkind = \"ipv4\"\ntest_points = \"none\"\n",
    );
    let path = config.path().to_str().unwrap();
    let listed = run_on(&dns, &["--config", path, "--no-txt", "192.0.2.1"]).await;
    assert_eq!(listed.code, 1, "{listed:?}");
    let clean = json_on(&dns, &["--config", path, "192.0.2.2"]).await;
    assert_eq!(clean.code, 0, "{clean:?}");
    assert_eq!(clean.json()[0]["results"][0]["status"], "not_listed");
    assert!(!clean.stderr.contains("warning"), "{clean:?}");
}

/// rbldnsd's `ip4set` answers NXDOMAIN to every IPv6 name: an IPv6 target on a `--zone` list
/// (kind `ip`, both families) served that way is trouble, never `not_listed`; IPv4 targets are
/// answered as usual.
#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn an_ipv6_target_on_an_ip4set_list_is_not_reported_clean() {
    use crate::support::rbldnsd::{Rbldnsd, ZoneData};
    let rbl = Rbldnsd::start(&[(
        BL,
        ZoneData::Ip4Set(":127.0.0.2:Listed $\n127.0.0.2\n192.0.2.1\n"),
    )])
    .expect("start rbldnsd");
    let server = rbl.addr.to_string();
    let args = ["--nameserver", &server, "--timeout", "2", "--zone", BL];
    let v6 = run(&[&args[..], &["2001:db8::1"]].concat()).await;
    assert_eq!(v6.code, 2, "{v6:?}");
    assert!(!v6.stdout.contains("not_listed"), "{v6:?}");
    assert!(v6.stdout.contains("does not serve IPv6"), "{v6:?}");
    assert!(
        v6.stderr.contains("warning: bl.test: does not serve IPv6"),
        "{v6:?}"
    );
    let json = run(&[
        &args[..],
        &["--format", "json", "2001:db8::1", "192.0.2.1", "192.0.2.2"],
    ]
    .concat())
    .await;
    assert_eq!(json.code, 1, "{json:?}");
    for report in json.json() {
        let status = report["results"][0]["status"].as_str().unwrap().to_owned();
        let expected = match report["target"].as_str().unwrap() {
            "2001:db8::1" => "skipped",
            "192.0.2.1" => "listed",
            _ => "not_listed",
        };
        assert_eq!(status, expected, "{report}");
    }
}

/// A bulk scan whose resolver goes blind midway: the lists are probed again at the end, and
/// the run does not end clean.
#[tokio::test]
async fn a_bulk_scan_whose_lists_went_blind_midway_does_not_end_clean() {
    let seeing = TestDns::builder().healthy_ip_zone(BL).start().await;
    let blind = TestDns::builder().zone(BL).start().await;
    let relay = crate::support::relay::SwitchingRelay::start(seeing.addr).await;
    let relay_addr = relay.addr.to_string();
    let args = ["--nameserver", &relay_addr, "--timeout", "2"];
    let input = ["--zone", BL, "--format", "json", "--input", "-"];
    let mut check = ToolProcess::spawn_with_stdin(Tool::Check, &[&args[..], &input].concat());
    check.write_stdin("192.0.2.1\n192.0.2.2\n").await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let line = check
            .next_line(Duration::from_secs(30))
            .await
            .expect("reports in time")
            .expect("a report");
        seen.push(line);
    }
    // Clean while the list was seen to work.
    assert!(
        seen.iter().all(|line| line.contains("\"not_listed\"")),
        "{seen:?}"
    );

    relay.switch_to(blind.addr);
    check.write_stdin("192.0.2.3\n192.0.2.4\n").await;
    check.close_stdin();
    let status = check.wait_within(Duration::from_secs(60)).await;
    let stderr = check.all_logs().await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("at the end of the run, bl.test: the test point 127.0.0.2 is not listed"),
        "{stderr}"
    );
}
