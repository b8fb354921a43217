//! `dnsbl-check --smtp-check` with `--smtp-from` and `--smtp-rcpt`: the relay probe's three
//! answers, told apart.

use crate::cli::{BL, run_on};
use crate::support::TestDns;
use crate::support::smtp::{Script, responder};

#[tokio::test]
async fn a_refused_sender_is_reported_inconclusive_with_the_chosen_addresses() {
    let dns = TestDns::builder().healthy_ip_zone(BL).start().await;
    let server = responder(Script {
        banner: Some(b"220 mx.example.test ESMTP\r\n".to_vec()),
        replies: |verb| match verb {
            "MAIL" => b"553 5.1.8 sender domain does not exist\r\n".to_vec(),
            _ => b"250 ok\r\n".to_vec(),
        },
    })
    .await;
    let target = server.addr.to_string();
    let args = [
        "--zone",
        BL,
        "--smtp-check",
        "--smtp-from",
        "probe@sender.example",
        "--smtp-rcpt",
        "someone@elsewhere.example",
        &target,
    ];
    let out = run_on(&dns, &args).await;
    // Never "not an open relay": the question was not even asked.
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("relay test inconclusive"), "{out:?}");
    assert!(!out.stdout.contains("not an open relay"), "{out:?}");
    let sent = server.commands.lock().unwrap().clone();
    assert_eq!(sent[1], "MAIL FROM:<probe@sender.example>", "{sent:?}");
    assert!(
        !sent.iter().any(|line| line.starts_with("RCPT")),
        "{sent:?}"
    );

    let out = run_on(
        &dns,
        &["--smtp-check", "--smtp-rcpt", "a b@x.example", &target],
    )
    .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--smtp-rcpt"), "{out:?}");
}
