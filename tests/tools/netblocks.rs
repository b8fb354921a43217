//! `dnsbl-check` on netblocks and as a monitoring plugin: `--only`, the per-network summary,
//! `--max-targets`, and `--format nagios` in every state.

use crate::cli::{BL, bl_server, run, run_on, run_with, server_args, with_server};
use crate::support::{Behaviour, TestDns};

#[tokio::test]
async fn only_listed_and_per_network_lines() {
    let dns = bl_server().await;
    let server = server_args(&dns);
    let out = run_on(&dns, &["--zone", BL, "--only", "listed", "192.0.2.0/28"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let blocks: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("192."))
        .collect();
    assert_eq!(blocks, ["192.0.2.1: LISTED (score 1)"], "{out:?}");
    assert!(
        out.stdout
            .contains("summary: 16 checked, 1 listed, 0 incomplete"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("network 192.0.2.0/28 bl.test: 16 checked, 1 listed, 0 trouble"),
        "{out:?}"
    );
    // JSON too: only the listed report.
    let args = [
        "--zone",
        BL,
        "--only",
        "listed",
        "--format",
        "json",
        "192.0.2.0/28",
    ];
    let out = run(&with_server(&server, &args)).await;
    assert_eq!(out.json().len(), 1);

    // --only trouble: a list that fails for one address.
    let dns = TestDns::builder()
        .healthy_ip_zone(BL)
        .on("3.2.0.192.bl.test", "A", Behaviour::ServFail)
        .start()
        .await;
    let out = run_on(&dns, &["--zone", BL, "--only", "trouble", "192.0.2.0/29"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let blocks: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("192."))
        .collect();
    assert_eq!(blocks.len(), 1, "{out:?}");
    assert!(blocks[0].starts_with("192.0.2.3: unknown"), "{out:?}");
    assert!(
        out.stdout
            .contains("network 192.0.2.0/29 bl.test: 8 checked, 0 listed, 1 trouble"),
        "{out:?}"
    );
}

#[tokio::test]
async fn networks_beyond_max_targets_are_refused_before_any_query() {
    let dns = bl_server().await;
    let server = server_args(&dns);
    for target in ["0.0.0.0/0", "::/0", "10.0.0.0/15"] {
        let out = run_on(&dns, &["--zone", BL, "192.0.2.1", target]).await;
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("--max-targets"), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    // In a file, before anything is checked.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "192.0.2.1\n# a typo follows\n10.0.0.0/8\n").unwrap();
    let path = file.path().to_str().unwrap();
    let out = run_on(&dns, &["--zone", BL, "--input", path]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("line 3") && out.stderr.contains("--max-targets"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(
        dns.query_count(),
        0,
        "no query was sent: {:?}",
        dns.queries()
    );

    // Raising the option allows more; single addresses are never capped.
    let args = ["--zone", BL, "--max-targets", "4", "-q", "192.0.2.0/30"];
    assert_eq!(run(&with_server(&server, &args)).await.code, 1);
    let args = ["--zone", BL, "--max-targets", "4", "192.0.2.0/29"];
    assert_eq!(run(&with_server(&server, &args)).await.code, 2);
    let many: String = (0..10).map(|i| format!("198.51.100.{i}\n")).collect();
    let args = ["--zone", BL, "--max-targets", "1", "-q", "--input", "-"];
    let out = run_with(&with_server(&server, &args), Some(&many), &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.matches(": not listed").count(), 10);
    // On stdin, an oversized network stops the run with exit 2.
    let input = "198.51.100.1\n10.0.0.0/8\n";
    let out = run_with(&with_server(&server, &args), Some(input), &[]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--max-targets"), "{out:?}");
}

/// The status line's state word and the exit code must agree.
fn state(out: &crate::cli::Run) -> (&str, i32) {
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("DNSBL "), "{out:?}");
    assert!(first.contains(" | listings="), "perfdata: {first}");
    (first.split_whitespace().nth(1).unwrap(), out.code)
}

#[tokio::test]
async fn nagios_states() {
    let dns = bl_server().await;
    let server = server_args(&dns);
    let nagios = |extra: &[&'static str], target: &'static str| {
        let mut args = vec!["--zone", BL, "--format", "nagios"];
        args.extend_from_slice(extra);
        args.push(target);
        args
    };

    let out = run(&with_server(&server, &nagios(&[], "192.0.2.2"))).await;
    assert_eq!(state(&out), ("OK", 0));
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.contains("listings=0;;1;0 lists=1;;;0 lists_trouble=0;;;0 time="),
        "{first}"
    );

    let out = run(&with_server(&server, &nagios(&[], "192.0.2.1"))).await;
    assert_eq!(state(&out), ("CRITICAL", 2));
    assert!(
        out.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("192.0.2.1 listed on bl.test")
    );

    let graded = nagios(&["--warning", "1", "--critical", "2"], "192.0.2.1");
    let out = run(&with_server(&server, &graded)).await;
    assert_eq!(state(&out), ("WARNING", 1));
    assert!(out.stdout.contains("listings=1;1;2;0"), "{out:?}");

    // Trouble below the thresholds: UNKNOWN; above them the listing still counts.
    let dns = TestDns::builder()
        .healthy_ip_zone(BL)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 60)
        .healthy_ip_zone("bad.test")
        .on("5.2.0.192.bad.test", "*", Behaviour::ServFail)
        .start()
        .await;
    let server = server_args(&dns);
    let with_bad = |target: &'static str| {
        vec![
            "--zone", BL, "--zone", "bad.test", "--format", "nagios", target,
        ]
    };
    let out = run(&with_server(&server, &with_bad("192.0.2.5"))).await;
    assert_eq!(state(&out), ("UNKNOWN", 3));
    assert!(out.stdout.contains("trouble: bad.test"), "{out:?}");
    assert!(out.stdout.contains("lists_trouble=1"), "{out:?}");

    // Bad input and usage errors: UNKNOWN.
    let out = run(&with_server(&server, &nagios(&[], "999.1.1.1"))).await;
    assert_eq!(state(&out), ("UNKNOWN", 3));
    let out = run(&["--format", "nagios", "--no-such-flag", "192.0.2.1"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.starts_with("DNSBL UNKNOWN - "), "{out:?}");
    let out = run(&with_server(&server, &nagios(&[], "10.0.0.0/8"))).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.contains("--max-targets"), "{out:?}");
}
