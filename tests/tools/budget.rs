//! The lists' usage terms: a watch whose queries a day would exceed a list's free-use limit
//! refuses to start, with the numbers and the ways out, unless told to go on.

use std::time::Duration;

use crate::cli::run_on;
use crate::support::TestDns;
use crate::support::tool::{Tool, ToolProcess};

/// dnswl.org's zone, served here: the preset's limit (100,000 queries a day) applies to it.
const DNSWL: &str = "list.dnswl.org";

async fn dnswl_dns() -> TestDns {
    // dnswl's test point answers with a code its filter takes (127.0.0.2 is not one).
    TestDns::builder()
        .zone(DNSWL)
        .a("2.0.0.127.list.dnswl.org", &["127.0.15.2"], 60)
        .start()
        .await
}

#[tokio::test]
async fn a_watch_over_a_lists_daily_limit_refuses_to_start_with_the_numbers() {
    let dns = dnswl_dns().await;
    // 256 addresses every minute: 368,640 queries a day, plus the test points.
    let args = ["--preset", "dnswl", "--watch", "60", "192.0.2.0/24"];
    let out = run_on(&dns, &args).await;
    assert_eq!(out.code, 2, "{out:?}");
    for words in [
        "dnswl: 256 targets × 1440 rounds + 1152 test-point queries = 369792 queries a day",
        "free-use limit 100000",
        "--watch 224 or longer",
        "subscription",
        "--ignore-usage-limits",
    ] {
        assert!(out.stderr.contains(words), "no {words:?} in {}", out.stderr);
    }
    assert!(out.stdout.is_empty(), "{out:?}");
    // Not one target was checked.
    assert!(
        dns.queries()
            .iter()
            .all(|(name, _)| !name.starts_with("1.2.0.192.")),
        "{:?}",
        dns.queries()
    );

    // Within the limit, the numbers are still printed, and the watch starts.
    let args = ["--preset", "dnswl", "--watch", "3600", "192.0.2.0/24"];
    let line = first_stderr_line_of_running_watch(&dns, &args).await;
    assert!(
        line.contains("queries a day: dnswl: 256 targets × 24 rounds"),
        "{line}"
    );
}

#[tokio::test]
async fn the_override_starts_the_watch_anyway() {
    let dns = dnswl_dns().await;
    let args = [
        "--preset",
        "dnswl",
        "--watch",
        "60",
        "--ignore-usage-limits",
        "192.0.2.0/24",
    ];
    let line = first_stderr_line_of_running_watch(&dns, &args).await;
    assert!(line.contains("369792 queries a day"), "{line}");
}

/// Starts a watch on `dns`, returns its first stderr line once it is seen to be checking,
/// and stops it.
async fn first_stderr_line_of_running_watch(dns: &TestDns, args: &[&str]) -> String {
    let server = dns.addr.to_string();
    let args = [&["--nameserver", &server, "--timeout", "2"], args].concat();
    let mut watch = ToolProcess::spawn(Tool::Check, &args, &[]);
    // The first stderr line (every line contains "").
    let line = watch.wait_for_log("").await.expect("a line before the end");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    // Names are asked in mixed case (0x20 randomisation).
    let asked =
        |(name, _): &(String, String)| name.to_ascii_lowercase().ends_with(".192.list.dnswl.org.");
    while !dns.queries().iter().any(asked) {
        if std::time::Instant::now() > deadline {
            watch.kill();
            panic!(
                "no target asked: {:?}; stderr: {}",
                dns.queries(),
                watch.all_logs().await
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(watch.exited().is_none(), "the watch stopped");
    line
}
