//! `dnsbl-check` never reads "clean" where a list was not seen to say so: invisible or
//! fullwidth characters around an address, a byte-order mark in an input file, codes a filter
//! does not count, NODATA, and listings on a list of weight 0.

use crate::cli::{BL, Run, json_on, run_on, write_config};
use crate::support::tool::{Tool, ToolProcess};
use crate::support::{Behaviour, TestDns};

/// `bl.test`, healthy, listing 192.0.2.1 (127.0.0.2), answering 192.0.2.3 with a code a
/// `127.0.0.2` filter does not count (127.0.0.3) and 192.0.2.4 with NODATA.
async fn server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 300)
        .a("3.2.0.192.bl.test", &["127.0.0.3"], 300)
        .on("4.2.0.192.bl.test", "A", Behaviour::NoData)
        .start()
        .await
}

fn result(run: &Run, target: &str) -> serde_json::Value {
    run.report(target)["results"][0].clone()
}

#[tokio::test]
async fn a_bom_and_invisible_or_fullwidth_characters_never_turn_an_address_into_a_domain() {
    let dns = server().await;
    let file = write_config(
        "\u{FEFF}192.0.2.0/31\n\u{FEFF}192.0.2.1\n192.0.2.1\u{200B}\n１９２.0.2.1\n192.0\u{AD}.2.1\n",
    );
    let path = file.path().to_str().unwrap();
    let out = json_on(&dns, &["--zone", BL, "--input", path]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let reports = out.json();
    assert_eq!(reports.len(), 6, "{out:?}");
    for report in &reports[1..] {
        assert_eq!(report["target"], "192.0.2.1", "{out:?}");
        assert_eq!(report["listed"], true, "{out:?}");
        assert_eq!(report["results"][0]["status"], "listed", "{out:?}");
    }
    // A BOM at the start of the first line only is dropped: the next one is part of a target,
    // which still normalises to the address.
    assert!(out.stderr.is_empty(), "{out:?}");

    // A BOM before a comment on the first line: the line is a comment.
    let file = write_config("\u{FEFF}# targets\n192.0.2.1\n");
    let path = file.path().to_str().unwrap();
    let out = json_on(&dns, &["--zone", BL, "--input", path]).await;
    assert_eq!(
        (out.code, out.targets()),
        (1, vec!["192.0.2.1".to_owned()]),
        "{out:?}"
    );
    assert!(out.stderr.is_empty(), "{out:?}");

    // As an argument too.
    let out = json_on(&dns, &["--zone", BL, "１９２.０.２.１"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(result(&out, "192.0.2.1")["status"], "listed");
}

#[tokio::test]
async fn codes_the_filter_does_not_count_are_shown_not_hidden() {
    let dns = server().await;
    let zone = "bl.test=127.0.0.2";
    let out = json_on(&dns, &["--zone", zone, "192.0.2.3"]).await;
    assert_eq!(out.code, 0, "not a listing: {out:?}");
    let report = out.report("192.0.2.3");
    assert_eq!(
        (report["listed"].clone(), report["score"].clone()),
        (false.into(), 0.into())
    );
    let result = &report["results"][0];
    assert_eq!(result["status"], "not_counted", "{out:?}");
    assert_eq!(result["codes"], serde_json::json!(["127.0.0.3"]));

    let text = run_on(&dns, &["--zone", zone, "192.0.2.3"]).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .starts_with("192.0.2.3: not listed (score 0; 1 answer not counted)"),
        "{text:?}"
    );
    assert!(text.stdout.contains("not_counted"), "{text:?}");
    assert!(text.stdout.contains("127.0.0.3"), "{text:?}");

    let nagios = run_on(&dns, &["--zone", zone, "--format", "nagios", "192.0.2.3"]).await;
    assert_eq!(nagios.code, 0, "{nagios:?}");
    assert!(
        nagios.stdout.contains("1 answer with codes not counted"),
        "{nagios:?}"
    );
    assert!(nagios.stdout.contains("not_counted=1;;;0"), "{nagios:?}");
}

#[tokio::test]
async fn nodata_is_trouble_unless_the_list_is_configured_to_read_it_as_not_listed() {
    let dns = server().await;
    let out = json_on(&dns, &["--zone", BL, "192.0.2.4"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(result(&out, "192.0.2.4")["status"], "no_data", "{out:?}");
    let nagios = run_on(&dns, &["--zone", BL, "--format", "nagios", "192.0.2.4"]).await;
    assert_eq!(nagios.code, 3, "{nagios:?}");
    assert!(nagios.stdout.starts_with("DNSBL UNKNOWN"), "{nagios:?}");

    let config = write_config(&format!(
        "nameservers = [\"{}\"]\ntimeout = 2\n[[list]]\nzone = \"bl.test\"\nnodata = \"not-listed\"\n",
        dns.addr
    ));
    let config = config.path().to_str().unwrap();
    let out = crate::cli::run(&["--config", config, "--format", "json", "192.0.2.4"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(result(&out, "192.0.2.4")["status"], "not_listed", "{out:?}");
}

#[tokio::test]
async fn a_listing_on_a_list_of_weight_zero_is_reported_but_not_counted() {
    let dns = server().await;
    let zone = "bl.test*0";
    let out = json_on(&dns, &["--zone", zone, "192.0.2.1"]).await;
    assert_eq!(
        out.code, 0,
        "the verdict of weight 0 is not listed: {out:?}"
    );
    let report = out.report("192.0.2.1");
    assert_eq!(report["listed"], false);
    assert_eq!(report["results"][0]["status"], "listed");
    assert_eq!(report["results"][0]["weight"], 0);

    let text = run_on(&dns, &["--zone", zone, "192.0.2.1"]).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .starts_with("192.0.2.1: not listed (score 0; 1 answer not counted)"),
        "{text:?}"
    );
    assert!(
        text.stdout.contains("(weight 0: not in the score)"),
        "{text:?}"
    );

    // In a scan's summary line too.
    let scan = run_on(&dns, &["--zone", zone, "192.0.2.0/31"]).await;
    assert_eq!(scan.code, 0, "{scan:?}");
    assert!(
        scan.stdout.contains("; listings on lists of weight 0: 1"),
        "{scan:?}"
    );
    let scan = run_on(&dns, &["--zone", "bl.test=127.0.0.2", "192.0.2.2/31"]).await;
    assert!(
        scan.stdout.contains("; answers with codes not counted: 1"),
        "{scan:?}"
    );

    let nagios = run_on(&dns, &["--zone", zone, "--format", "nagios", "192.0.2.1"]).await;
    assert_eq!(nagios.code, 0, "{nagios:?}");
    assert!(nagios.stdout.starts_with("DNSBL OK"), "{nagios:?}");
    assert!(
        nagios.stdout.contains("1 listing on lists of weight 0"),
        "{nagios:?}"
    );
    assert!(
        nagios.stdout.contains("weightless_listings=1;;;0"),
        "{nagios:?}"
    );
    assert!(
        nagios
            .stdout
            .contains("192.0.2.1 listed on bl.test (weight 0: not counted): 127.0.0.2"),
        "{nagios:?}"
    );
}

/// Watch mode reads its `--input` up front: a BOM before a comment on the first line (as
/// Windows editors save files) is dropped, not taken for a bad target that stops the watcher,
/// and a CIDR after a BOM is still a network.
#[tokio::test]
async fn watch_mode_drops_a_leading_bom_from_its_target_file() {
    let dns = server().await;
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("comment", "\u{FEFF}# watched\n192.0.2.1\n"),
        ("network", "\u{FEFF}192.0.2.0/31\n"),
    ] {
        let input = dir.path().join(format!("{name}.txt"));
        std::fs::write(&input, text).unwrap();
        let state = dir.path().join(format!("{name}.state"));
        let server = dns.addr.to_string();
        let args = ["--nameserver", &server, "--timeout", "2"];
        let watch = ["--watch", "1", "--format", "json", "--report-baseline"];
        let files = [
            "--zone",
            BL,
            "--state",
            state.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ];
        let mut check = ToolProcess::spawn(Tool::Check, &[&args[..], &watch, &files].concat(), &[]);
        let first = check
            .next_line(std::time::Duration::from_secs(30))
            .await
            .expect("no event in time");
        let Some(first) = first else {
            panic!("{name}: no event: {}", check.all_logs().await);
        };
        let event: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(event["event"], "listed", "{name}: {first}");
        assert_eq!(event["target"], "192.0.2.1", "{name}: {first}");
    }
}
