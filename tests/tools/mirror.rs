//! `--zone-data` and a config list's `data`: zones answered from local rbldnsd data files by
//! the tools, next to lists asked over DNS.

use std::path::Path;

use serde_json::Value;

use crate::cli::{json_on, run_on, write_config};
use crate::support::TestDns;

/// A list asked over DNS, listing 192.0.2.1 with 127.0.0.3.
async fn live_server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone("live.test")
        .a("1.2.0.192.live.test", &["127.0.0.3"], 60)
        .start()
        .await
}

/// Mirror data for bl.test: the test point, 192.0.2.0/24 but not 192.0.2.9.
fn mirror_file(dir: &Path) -> String {
    let path = dir.join("bl");
    std::fs::write(
        &path,
        ":127.0.0.2:Mirrored $\n127.0.0.2\n192.0.2.0/24\n!192.0.2.9\n",
    )
    .unwrap();
    path.display().to_string()
}

fn result<'a>(report: &'a Value, list: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["list"] == list)
        .unwrap_or_else(|| panic!("no result for {list}: {report}"))
}

fn assert_no_query_for(dns: &TestDns, zone: &str) {
    let leaked: Vec<_> = dns
        .queries()
        .into_iter()
        .filter(|(name, _)| name.contains(zone))
        .collect();
    assert!(leaked.is_empty(), "mirrored names went out: {leaked:?}");
}

#[tokio::test]
async fn zone_data_answers_a_list_from_files_next_to_a_live_list() {
    let dns = live_server().await;
    let dir = tempfile::tempdir().unwrap();
    let data = format!("bl.test:ip4set:{}", mirror_file(dir.path()));
    let run = json_on(
        &dns,
        &[
            "--zone",
            "bl.test",
            "--zone",
            "live.test",
            "--zone-data",
            &data,
            "192.0.2.1",
            "192.0.2.9",
            "198.51.100.1",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let listed = run.report("192.0.2.1");
    assert_eq!(result(&listed, "bl.test")["status"], "listed", "{listed}");
    assert_eq!(
        result(&listed, "bl.test")["codes"],
        serde_json::json!(["127.0.0.2"])
    );
    assert_eq!(
        result(&listed, "bl.test")["reasons"],
        serde_json::json!(["Mirrored 192.0.2.1"])
    );
    assert_eq!(result(&listed, "live.test")["status"], "listed");
    let excluded = run.report("192.0.2.9");
    assert_eq!(
        result(&excluded, "bl.test")["status"],
        "not_listed",
        "{excluded}"
    );
    let clean = run.report("198.51.100.1");
    assert_eq!(result(&clean, "bl.test")["status"], "not_listed", "{clean}");
    assert_eq!(result(&clean, "live.test")["status"], "not_listed");
    assert_no_query_for(&dns, "bl.test");
}

/// A bulk scan over mirrored data: checks answered at once are shared between the thread
/// that reads the input and the one that writes the output, and every target is still
/// reported once and counted once, whichever thread checked it.
#[tokio::test]
async fn a_bulk_scan_over_mirrored_data_reports_and_counts_every_target_once() {
    let dns = live_server().await;
    let dir = tempfile::tempdir().unwrap();
    let addresses: Vec<String> = (0..20_000u32)
        .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    let listed: Vec<&String> = addresses.iter().step_by(3).collect();
    let data = dir.path().join("bl");
    let lines: Vec<&str> = listed.iter().map(|a| a.as_str()).collect();
    std::fs::write(
        &data,
        format!(":127.0.0.2:Mirrored\n127.0.0.2\n{}\n", lines.join("\n")),
    )
    .unwrap();
    let input = dir.path().join("targets");
    std::fs::write(&input, addresses.join("\n") + "\n").unwrap();
    let data = format!("bl.test:ip4set:{}", data.display());
    let input = input.display().to_string();
    let args = [
        "--zone",
        "bl.test",
        "--zone-data",
        &data,
        "--no-txt",
        "--input",
        &input,
    ];

    let run = json_on(&dns, &[&args[..], &["--only", "listed"]].concat()).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut expected: Vec<String> = listed.iter().map(|a| a.to_string()).collect();
    expected.sort();
    let reported = run.targets();
    assert!(
        reported == expected,
        "each listed target once: {} reported, {} listed",
        reported.len(),
        expected.len()
    );
    assert!(
        run.json()
            .iter()
            .all(|report| result(report, "bl.test")["status"] == "listed")
    );

    let run = run_on(&dns, &[&args[..], &["-v"]].concat()).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let summary = format!(
        "summary: 20000 checked, {} listed, 0 incomplete; list trouble: none",
        listed.len()
    );
    assert!(
        run.stdout.lines().any(|line| line == summary),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stdout.matches("bl.test").count(),
        20_000,
        "a result per target"
    );
    // The input thread took its share: the counts above add both threads' up.
    assert!(
        run.stderr
            .contains("targets were checked on the input thread"),
        "{}",
        run.stderr
    );
    assert_no_query_for(&dns, "bl.test");
}

#[tokio::test]
async fn a_config_list_names_its_data() {
    let dns = live_server().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&format!(
        "[[list]]\nzone = \"bl.test\"\ndata = [\"ip4set:{}\"]\n",
        mirror_file(dir.path())
    ));
    let config = config.path().display().to_string();
    let run = json_on(&dns, &["--config", &config, "192.0.2.1"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.report("192.0.2.1");
    assert_eq!(result(&report, "bl.test")["status"], "listed", "{report}");
    assert_no_query_for(&dns, "bl.test");
}

#[tokio::test]
async fn zone_data_for_a_zone_no_list_names_is_refused() {
    let dns = live_server().await;
    let dir = tempfile::tempdir().unwrap();
    let data = format!("other.test:ip4set:{}", mirror_file(dir.path()));
    let run = run_on(
        &dns,
        &["--zone", "live.test", "--zone-data", &data, "192.0.2.1"],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("no list has zone other.test"),
        "{run:?}"
    );
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[tokio::test]
async fn data_that_cannot_be_read_stops_the_tool_naming_the_file_and_line() {
    let dns = live_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bl");
    std::fs::write(&path, "127.0.0.2\n$TIMESTAMP 2024:01:01\n").unwrap();
    let data = format!("bl.test:ip4set:{}", path.display());
    let run = run_on(
        &dns,
        &["--zone", "bl.test", "--zone-data", &data, "192.0.2.1"],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(&format!("{}:2:", path.display())),
        "{run:?}"
    );
    let missing = format!("bl.test:ip4set:{}", dir.path().join("missing").display());
    let run = run_on(
        &dns,
        &["--zone", "bl.test", "--zone-data", &missing, "192.0.2.1"],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    let bad_type = format!("bl.test:combined:{}", path.display());
    let run = run_on(
        &dns,
        &["--zone", "bl.test", "--zone-data", &bad_type, "192.0.2.1"],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("unsupported dataset type"), "{run:?}");
}

#[tokio::test]
async fn the_policy_server_rejects_from_mirrored_data() {
    let dns = live_server().await;
    let dir = tempfile::tempdir().unwrap();
    let data = format!("bl.test:ip4set:{}", mirror_file(dir.path()));
    let address = dns.addr.to_string();
    let server = crate::support::tool::ToolProcess::serve(
        crate::support::tool::Tool::Policyd,
        &[
            "--nameserver",
            &address,
            "--timeout",
            "2",
            "--zone",
            "bl.test",
            "--zone-data",
            &data,
        ],
    )
    .await;
    let mut conn = server.connect().await;
    use crate::support::policy::client_request;
    assert_eq!(
        conn.ask(&client_request("192.0.2.1")).await,
        "REJECT Service unavailable; client [192.0.2.1] blocked using bl.test; \
         Mirrored 192.0.2.1"
    );
    assert_eq!(conn.ask(&client_request("192.0.2.9")).await, "DUNNO");
    assert_eq!(conn.ask(&client_request("198.51.100.1")).await, "DUNNO");
    assert_no_query_for(&dns, "bl.test");

    // The file replaced as rsync does: the answers change within seconds, not after the
    // answer cache's TTL.
    let path = dir.path().join("bl");
    let temporary = dir.path().join("bl.tmp");
    std::fs::write(&temporary, ":127.0.0.2:Mirrored $\n127.0.0.2\n192.0.2.9\n").unwrap();
    std::fs::rename(&temporary, &path).unwrap();
    let start = std::time::Instant::now();
    while conn.ask(&client_request("192.0.2.1")).await != "DUNNO" {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the policy server still refuses 192.0.2.1 10 s after its data was replaced"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        conn.ask(&client_request("192.0.2.9")).await,
        "REJECT Service unavailable; client [192.0.2.9] blocked using bl.test; \
         Mirrored 192.0.2.9"
    );
    assert_no_query_for(&dns, "bl.test");
}

/// Every server tool takes `--zone-data` and refuses data for a zone no list names.
#[tokio::test]
async fn the_servers_refuse_zone_data_no_list_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = format!("other.test:ip4set:{}", mirror_file(dir.path()));
    let binaries = [
        crate::support::tool::Tool::Policyd,
        crate::support::tool::Tool::Milter,
        crate::support::tool::Tool::Exporter,
    ];
    for binary in binaries.map(|tool| tool.binary()) {
        let output = tokio::process::Command::new(binary)
            .args([
                "--nameserver",
                "127.0.0.1:9",
                "--zone",
                "live.test",
                "--zone-data",
                &data,
            ])
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(std::time::Duration::from_secs(60), output)
            .await
            .expect("exits")
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {stderr}",
            binary.display()
        );
        assert!(
            stderr.contains("no list has zone other.test"),
            "{}: {stderr}",
            binary.display()
        );
    }
}
