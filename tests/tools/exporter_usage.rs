//! The exporter's modules (`[modules.NAME]`, chosen with `/probe?module=`), `--spf` and
//! `source=spf`, and the lists' usage: queries sent per list, the daily budget, and a
//! refusal to start past a list's free-use limit.

use std::process::Command;

use crate::cli::{BL, DBL, write_config};
use crate::exporter::{exporter_after_first_round, get};
use crate::support::TestDns;

const MODULES: &str = r#"
[[list]]
zone = "bl.test"

[modules.mail-ips]
[[modules.mail-ips.list]]
zone = "bl.test"

[modules.domains]
[[modules.domains.list]]
zone = "dbl.test"
kind = "domain"
"#;

async fn dns() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .healthy_domain_zone(DBL)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 300)
        .a("bad.example.test.dbl.test", &["127.0.1.2"], 300)
        .zone("example.test")
        .txt("example.test", &["v=spf1 ip4:192.0.2.1 -all"], 300)
        .start()
        .await
}

fn lists_in(page: &str) -> Vec<String> {
    let mut lists: Vec<String> = page
        .lines()
        .filter(|line| line.starts_with("dnsbl_listed{"))
        .filter_map(|line| line.split("list=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect();
    lists.sort();
    lists.dedup();
    lists
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_with_two_modules_answer_with_each_modules_lists() {
    let dns = dns().await;
    let server = dns.addr.to_string();
    let config = write_config(MODULES);
    let config = config.path().to_str().unwrap();
    let args = [
        "--interval",
        "3600",
        "--nameserver",
        &server,
        "--config",
        config,
        "--spf",
        "example.test",
    ];
    let (_exporter, addr, page) = exporter_after_first_round(&args).await;
    // The watched SPF sender is checked, with where it came from.
    assert!(
        page.contains(r#"dnsbl_listed{target="192.0.2.1",list="bl.test"} 1"#),
        "{page}"
    );
    assert!(page.contains(r#"source="spf""#), "{page}");

    let probe = |path: String| tokio::task::spawn_blocking(move || get(addr, &path).expect("GET"));
    let (status, body) = probe("/probe?target=192.0.2.1&module=mail-ips".into())
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(lists_in(&body), ["bl.test"]);
    let (status, body) = probe("/probe?target=bad.example.test&module=domains".into())
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(lists_in(&body), ["dbl.test"]);
    assert!(
        body.contains(r#"dnsbl_listed{target="bad.example.test",list="dbl.test"} 1"#),
        "{body}"
    );
    let (status, body) = probe("/probe?target=192.0.2.1&module=nope".into())
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("unknown module") && body.contains("mail-ips"),
        "{body}"
    );

    // source=spf: the domain's sending address is checked with it.
    let (status, body) = probe("/probe?target=example.test&source=spf&module=mail-ips".into())
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#"dnsbl_listed{target="192.0.2.1",list="bl.test"} 1"#),
        "{body}"
    );

    // The queries sent, per list, with the day's budget.
    let (_, page) = probe("/metrics".into()).await.unwrap();
    let sent = |list: &str| -> u64 {
        let prefix = format!("dnsbl_queries_total{{list=\"{list}\"}} ");
        page.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {page}"))
            .parse()
            .unwrap()
    };
    assert!(sent("bl.test") >= 2, "{page}");
    assert_eq!(sent("dbl.test"), 1, "{page}");
    // One address a round an hour, plus 2 test points × 2 families every 5 minutes.
    assert!(
        page.contains(r#"dnsbl_list_planned_daily_queries{list="bl.test"} 1176"#),
        "{page}"
    );
}

#[tokio::test]
async fn the_exporter_refuses_to_start_past_a_free_use_limit() {
    let binary = crate::support::tool::Tool::Exporter.binary().clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--nameserver", "127.0.0.1:9"])
            .args(["--preset", "dnswl", "--interval", "60", "192.0.2.0/24"])
            .output()
            .expect("run dnsbl-exporter")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("369792 queries a day"), "{stderr}");
    assert!(stderr.contains("--interval 224 or longer"), "{stderr}");
}
