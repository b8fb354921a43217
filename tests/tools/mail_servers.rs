//! `dnsbl-check --mx`, `--resolve` and `--smtp-check` end to end against the in-process DNS
//! server (MX, A, AAAA and PTR records next to the list zones) and a scripted SMTP responder.

use serde_json::Value;

use crate::cli::{BL, DBL, run, run_on, server_args, with_server, write_config};
use crate::support::smtp::{Script, closed_relay, open_relay, responder};
use crate::support::{Behaviour, TestDns};

const CONFIG: &str = r#"
[[list]]
zone = "bl.test"
lookup_url = "https://bl.test/lookup?ip={ip}"

[[list]]
zone = "dbl.test"
kind = "domain"
"#;

async fn mail_dns() -> TestDns {
    let builder = TestDns::builder()
        .healthy_ip_zone(BL)
        .healthy_domain_zone(DBL);
    builder
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 300)
        .zone("example.test")
        .zone("in-addr.arpa")
        .zone("ip6.arpa")
        .mx(
            "example.test",
            &[(20, "mx2.example.test."), (10, "mx1.example.test.")],
            300,
        )
        .a("mx1.example.test", &["192.0.2.1"], 300)
        .a("mx2.example.test", &["192.0.2.2"], 300)
        .aaaa("mx2.example.test", &["2001:db8::2"], 300)
        // mx1's PTR leads back to it; mx2's addresses have none.
        .ptr("1.2.0.192.in-addr.arpa", &["mx1.example.test."], 300)
        .a("nomx.example.test", &["192.0.2.3"], 300)
        .on("broken.example.test", "MX", Behaviour::ServFail)
        .start()
        .await
}

fn lines_for<'a>(reports: &'a [Value], via: &str) -> Vec<&'a Value> {
    reports.iter().filter(|r| r["via"] == via).collect()
}

#[tokio::test]
async fn mx_checks_each_mail_server_with_its_reverse_dns() {
    let dns = mail_dns().await;
    let server = server_args(&dns);
    let config = write_config(CONFIG);
    let config = config.path().to_str().unwrap();
    let args = [
        "--config",
        config,
        "--mx",
        "--format",
        "json",
        "example.test",
    ];
    let out = run(&with_server(&server, &args)).await;
    assert_eq!(out.code, 1, "mx1 is listed: {out:?}");
    let reports = out.json();
    // The domain first, on the domain list as before, then its servers in preference order.
    assert_eq!(reports[0]["target"], "example.test");
    assert_eq!(reports[0]["results"][0]["list"], "dbl.test");
    assert_eq!(reports[0]["mail_servers"]["addresses"], 3);
    assert_eq!(reports[0]["mail_servers"]["implicit_mx"], false);
    let derived = lines_for(&reports, "example.test");
    let rows: Vec<(String, String, String)> = derived
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().into(),
                r["host"].as_str().unwrap().into(),
                r["rdns"]["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let row = |t: &str, h: &str, s: &str| (t.to_owned(), h.to_owned(), s.to_owned());
    assert_eq!(
        rows,
        [
            row("192.0.2.1", "mx1.example.test", "confirmed"),
            row("192.0.2.2", "mx2.example.test", "no_ptr"),
            row("2001:db8::2", "mx2.example.test", "no_ptr"),
        ]
    );
    // A listed result carries its lookup page, filled in with the address.
    let listed = &derived[0]["results"][0];
    assert_eq!(listed["status"], "listed");
    assert_eq!(listed["lookup_url"], "https://bl.test/lookup?ip=192.0.2.1");
    assert!(derived[1]["results"][0].get("lookup_url").is_none());

    // Text: the servers under their domain, addresses without confirmed rDNS flagged.
    let out = run_on(&dns, &["--config", config, "--mx", "example.test"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let text = &out.stdout;
    let domain = text.find("example.test: not listed").expect(text);
    let header = text.find("  mail servers of example.test: 3").expect(text);
    let mx1 = text
        .find("    192.0.2.1 (mx1.example.test): LISTED")
        .expect(text);
    assert!(domain < header && header < mx1, "{text}");
    assert!(
        text.contains("lookup/delist: https://bl.test/lookup?ip=192.0.2.1"),
        "{text}"
    );
    assert_eq!(
        text.matches("without confirmed reverse DNS").count(),
        2,
        "{text}"
    );
}

#[tokio::test]
async fn a_domain_without_mx_is_its_own_mail_server_and_failures_are_trouble() {
    let dns = mail_dns().await;
    let server = server_args(&dns);
    let out = expand_json(&server, "--mx", "nomx.example.test").await;
    assert_eq!(out.code, 0, "{out:?}");
    let reports = out.json();
    assert_eq!(reports[0]["mail_servers"]["implicit_mx"], true);
    assert_eq!(reports[1]["host"], "nomx.example.test");
    assert_eq!(reports[1]["target"], "192.0.2.3");

    // A failed MX lookup is trouble (exit 2), never "no mail servers".
    let out = expand_json(&server, "--mx", "broken.example.test").await;
    assert_eq!(out.code, 2, "{out:?}");
    let trouble = &out.json()[0]["mail_servers"]["trouble"][0];
    assert_eq!(trouble["record"], "MX");
    assert_eq!(trouble["error"], "serv_fail");

    // --resolve takes the domain's own addresses.
    let out = expand_json(&server, "--resolve", "nomx.example.test").await;
    assert_eq!(out.json()[0]["mail_servers"]["source"], "resolve");
    assert_eq!(out.json()[1]["target"], "192.0.2.3");
}

/// `domain` checked on `bl.test` and `dbl.test` with `--mx` or `--resolve`, in JSON.
async fn expand_json(server: &[String], mode: &str, domain: &str) -> crate::cli::Run {
    let args = [
        "--zone",
        BL,
        "--domain-zone",
        DBL,
        mode,
        "--format",
        "json",
        domain,
    ];
    run(&with_server(server, &args)).await
}

#[tokio::test]
async fn smtp_check_finds_an_open_relay_and_a_closed_one() {
    let dns = TestDns::builder()
        .healthy_domain_zone(DBL)
        .healthy_ip_zone(BL)
        .zone("in-addr.arpa")
        .zone("example.test")
        .a("smtp.example.test", &["127.0.0.1"], 60)
        .start()
        .await;
    let server = server_args(&dns);
    for (script, code, verdict) in [
        (open_relay as fn(&str) -> Vec<u8>, 1, "open"),
        (closed_relay, 0, "closed"),
    ] {
        let smtp = responder(Script {
            banner: Some(b"220 mx.example.test ESMTP\r\n".to_vec()),
            replies: script,
        })
        .await;
        let target = smtp.addr.to_string();
        let args = ["--zone", BL, "--smtp-check", "--format", "json", &target];
        let out = run(&with_server(&server, &args)).await;
        assert_eq!(out.code, code, "{out:?}");
        let report = out.report("127.0.0.1");
        assert_eq!(report["smtp"]["relay"]["verdict"], verdict, "{out:?}");
        assert_eq!(report["smtp"]["banner_host"], "mx.example.test");
        assert_eq!(report["rdns"]["status"], "no_ptr");
        let sent = smtp.commands.lock().unwrap().clone();
        assert!(
            !sent.iter().any(|line| line.starts_with("DATA")),
            "{sent:?}"
        );
    }

    // A server named HOST:PORT: its addresses are checked and probed on that port.
    let smtp = responder(Script {
        banner: Some(b"220 mx.example.test ESMTP\r\n".to_vec()),
        replies: open_relay,
    })
    .await;
    let target = format!("smtp.example.test:{}", smtp.addr.port());
    let args = [
        "--zone",
        BL,
        "--domain-zone",
        DBL,
        "--smtp-check",
        "--format",
        "json",
        &target,
    ];
    let out = run(&with_server(&server, &args)).await;
    assert_eq!(out.code, 1, "{out:?}");
    let report = out.report("127.0.0.1");
    assert_eq!(report["host"], "smtp.example.test");
    assert_eq!(report["smtp"]["relay"]["verdict"], "open", "{out:?}");
    assert_eq!(
        out.report("smtp.example.test")["mail_servers"]["source"],
        "resolve"
    );

    // Nothing listening: trouble, exit 2, never "fine".
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let target = closed.to_string();
    let out = run_on(&dns, &["--zone", BL, "--smtp-check", &target]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("cannot connect"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn smtp_check_against_private_postfix_instances() {
    use crate::support::postfix::Postfix;
    let dns = TestDns::builder()
        .healthy_ip_zone(BL)
        .zone("in-addr.arpa")
        .ptr("1.0.0.127.in-addr.arpa", &["localhost.example.test."], 60)
        .zone("example.test")
        .start()
        .await;
    let server = server_args(&dns);
    // Relaying is permitted to mynetworks only: everybody for one, nobody nearby for the other.
    let relay = "relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
";
    let open = Postfix::start(&format!("mynetworks = 0.0.0.0/0\n{relay}")).await;
    let closed = Postfix::start(&format!("mynetworks = 192.0.2.0/32\n{relay}")).await;
    for (postfix, code, verdict) in [(&open, 1, "open"), (&closed, 0, "closed")] {
        let target = format!("127.0.0.1:{}", postfix.port);
        let args = ["--zone", BL, "--smtp-check", "--format", "json", &target];
        let out = run(&with_server(&server, &args)).await;
        assert_eq!(out.code, code, "{out:?}\n{}", postfix.maillog());
        let smtp = &out.report("127.0.0.1")["smtp"];
        assert_eq!(
            smtp["relay"]["verdict"],
            verdict,
            "{out:?}\n{}",
            postfix.maillog()
        );
        assert_eq!(smtp["banner_host"], "pftest.example.test");
        assert_eq!(smtp["starttls"], false, "no TLS configured");
        if verdict == "closed" {
            assert_eq!(smtp["relay"]["code"], 554, "{smtp}");
        }
        // Text: the banner names another host than the PTR.
        let out = run_on(&dns, &["--zone", BL, "--smtp-check", &target]).await;
        assert!(out.stdout.contains("does not name the PTR host"), "{out:?}");
    }
    // Nothing was ever queued: the probe sends no DATA.
    assert!(!open.maillog().contains("queued as"), "{}", open.maillog());
}

/// The set-up an admin runs: unbound answers MX, A, AAAA and PTR from `local-data` and sends
/// the list zones to rbldnsd.
#[tokio::test]
#[ignore = "needs unbound"]
async fn mx_through_unbound_and_rbldnsd_on_both_transports() {
    use crate::support::rbldnsd::{Rbldnsd, ZoneData};
    use crate::support::unbound::Unbound;
    let rbl = Rbldnsd::start(&[
        (
            "mxl.test",
            ZoneData::Ip4Set(":127.0.0.2:Listed: see https://mxl.test/$\n127.0.0.2\n10.9.9.2\n"),
        ),
        ("dbl.test", ZoneData::Dnset(":127.0.1.2:Bad domain\ntest\n")),
    ])
    .expect("rbldnsd");
    let unbound = Unbound::start(
        &[
            r#"local-zone: "example.test" transparent"#,
            r#"local-data: "example.test. MX 10 mx1.example.test.""#,
            r#"local-data: "example.test. MX 20 mx2.example.test.""#,
            r#"local-data: "mx1.example.test. A 10.9.9.2""#,
            r#"local-data: "mx2.example.test. A 10.9.9.3""#,
            r#"local-data: "mx2.example.test. AAAA fd00::3""#,
            r#"local-data: "2.9.9.10.in-addr.arpa. PTR mx1.example.test.""#,
            r#"local-zone: "nomx.test" transparent"#,
            r#"local-data: "nomx.test. A 10.9.9.4""#,
        ],
        &[("mxl.test", rbl.addr), ("dbl.test", rbl.addr)],
    )
    .expect("unbound");
    let address = unbound.addr.to_string();
    for transport in ["pooled", "hickory"] {
        let args = [
            "--nameserver",
            &address,
            "--transport",
            transport,
            "--zone",
            "mxl.test",
            "--domain-zone",
            "dbl.test",
            "--mx",
            "--format",
            "json",
            "example.test",
            "nomx.test",
        ];
        let out = run(&args).await;
        assert_eq!(out.code, 1, "{transport}: {out:?}\n{}", unbound.log());
        let reports = out.json();
        let row = |target: &str| {
            let report = out.report(target);
            (
                report["via"].as_str().unwrap().to_owned(),
                report["host"].as_str().unwrap().to_owned(),
                report["rdns"]["status"].as_str().unwrap().to_owned(),
                report["listed"].as_bool().unwrap(),
            )
        };
        let expect = |via: &str, host: &str, rdns: &str, listed| {
            (via.to_owned(), host.to_owned(), rdns.to_owned(), listed)
        };
        assert_eq!(
            row("10.9.9.2"),
            expect("example.test", "mx1.example.test", "confirmed", true)
        );
        assert_eq!(
            row("10.9.9.3"),
            expect("example.test", "mx2.example.test", "no_ptr", false)
        );
        assert_eq!(
            row("fd00::3"),
            expect("example.test", "mx2.example.test", "no_ptr", false)
        );
        assert_eq!(
            row("10.9.9.4"),
            expect("nomx.test", "nomx.test", "no_ptr", false)
        );
        let nomx = reports.iter().find(|r| r["target"] == "nomx.test").unwrap();
        assert_eq!(nomx["mail_servers"]["implicit_mx"], true, "{transport}");
        let listed = &out.report("10.9.9.2")["results"][0];
        assert_eq!(
            listed["reasons"][0],
            "Listed: see https://mxl.test/10.9.9.2"
        );
    }
}
