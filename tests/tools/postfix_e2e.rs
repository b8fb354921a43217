//! End to end: a private Postfix instance asks `dnsbl-policyd` about each recipient, or
//! passes each session to `dnsbl-milter`, and answers SMTP clients accordingly.
//!
//! Needs root, Postfix and swaks (`.ci/run` installs them); run with
//! `cargo test --test postfix_e2e -- --ignored`. The setup follows the verified notes for
//! running a private Postfix: its own configuration, queue and data directories under a
//! temporary directory, smtpd on a loopback port, the smtp client left out (nothing leaves
//! the machine, every message is discarded), and XCLIENT from 127.0.0.1 to present chosen
//! client addresses.

use crate::milter::html_message_text;
use crate::support::TestDns;
use crate::support::postfix::Postfix;
use crate::support::tool::{Tool, ToolProcess};

const BL: &str = "bl.test";
const DBL: &str = "dbl.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn postfix_rejects_listed_clients_and_accepts_clean_ones() {
    let dns = TestDns::builder()
        .healthy_ip_zone(BL)
        .a("55.2.0.192.bl.test", &["127.0.0.2"], 60)
        .txt("55.2.0.192.bl.test", &["Listed for testing"], 60)
        .start()
        .await;
    let address = dns.addr.to_string();
    let policyd =
        ToolProcess::serve(Tool::Policyd, &["--nameserver", &address, "--zone", BL]).await;
    let postfix = Postfix::with_policy(policyd.port()).await;

    let listed = postfix.send_from("192.0.2.55").await;
    let transcript = String::from_utf8_lossy(&listed.stdout);
    assert!(
        transcript.contains(
            "554 5.7.1 <a@example.test>: Recipient address rejected: Service unavailable; \
             client [192.0.2.55] blocked using bl.test; Listed for testing"
        ),
        "{transcript}\n{}",
        postfix.maillog()
    );
    // swaks: 24 is "the server rejected the recipient".
    assert_eq!(listed.status.code(), Some(24), "{transcript}");

    let clean = postfix.send_from("198.51.100.7").await;
    let transcript = String::from_utf8_lossy(&clean.stdout);
    assert!(
        transcript.contains("250 2.0.0 Ok: queued as"),
        "{transcript}\n{}",
        postfix.maillog()
    );
    assert_eq!(clean.status.code(), Some(0), "{transcript}");

    // Postfix kept one policy connection for both messages' requests, or opened a second;
    // either way the server decided once per recipient.
    let decisions = policyd.wait_for_logs(" decision ", 2).await.unwrap();
    assert!(
        decisions[0].contains("client=\"192.0.2.55\""),
        "{decisions:?}"
    );
    assert!(
        decisions[1].contains("client=\"198.51.100.7\""),
        "{decisions:?}"
    );
}

/// `bl.test` lists 192.0.2.55; `dbl.test` lists spam.example.
async fn milter_lists() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .a("55.2.0.192.bl.test", &["127.0.0.2"], 60)
        .txt("55.2.0.192.bl.test", &["Listed for testing"], 60)
        .healthy_domain_zone(DBL)
        .a("spam.example.dbl.test", &["127.0.1.2"], 60)
        .start()
        .await
}

/// The milter on `dns`'s lists with `option`, and a Postfix using it.
async fn milter_and_postfix(dns: &TestDns, option: &str) -> (ToolProcess, Postfix) {
    let address = dns.addr.to_string();
    let args = [
        "--nameserver",
        &address,
        "--zone",
        BL,
        "--domain-zone",
        DBL,
        option,
    ];
    let milter = ToolProcess::serve(Tool::Milter, &args).await;
    let postfix = Postfix::with_milter(milter.port()).await;
    (milter, postfix)
}

fn transcript(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn postfix_with_the_milter_refuses_listed_clients_and_domains() {
    let dns = milter_lists().await;
    let (_milter, postfix) = milter_and_postfix(&dns, "--check-local").await;

    // A listed client is refused at connect. Postfix answers a connect-stage milter reject
    // with its own text, and logs the milter's.
    let refused_at_connect = "554 pftest.example.test ESMTP not accepting connections";
    // Through XCLIENT (Postfix replays the connect stage with the new address)...
    let listed = postfix.send_from("192.0.2.55").await;
    let text = transcript(&listed);
    assert!(
        text.contains(refused_at_connect),
        "{text}\n{}",
        postfix.maillog()
    );
    // swaks: 33 is "error in XCLIENT".
    assert_eq!(listed.status.code(), Some(33), "{text}");
    // ... and on a real connection from another loopback address (127.0.0.2 is every
    // list's test point; --check-local lets it be checked).
    let direct = postfix.send_directly_from("127.0.0.2").await;
    let text = transcript(&direct);
    assert!(
        text.contains(refused_at_connect),
        "{text}\n{}",
        postfix.maillog()
    );
    assert_ne!(direct.status.code(), Some(0), "{text}");
    let maillog = postfix.maillog();
    for logged in [
        "milter-reject: XCLIENT from client.example.test[192.0.2.55]: 550 5.7.1 Service \
         unavailable; client [192.0.2.55] blocked using bl.test; Listed for testing",
        "milter-reject: CONNECT from unknown[127.0.0.2]: 550 5.7.1 Service unavailable; \
         client [127.0.0.2] blocked using bl.test",
    ] {
        assert!(maillog.contains(logged), "{logged}\n{maillog}");
    }

    // A clean client whose message links a listed domain in a base64 HTML part: refused at
    // the end of DATA.
    let spam = html_message_text("spam-message", "https://www.spam.example/offer");
    let refused = postfix.send_message("198.51.100.7", &spam).await;
    let text = transcript(&refused);
    assert!(
        text.contains(
            "550 5.7.1 Service unavailable; domain spam.example in the message blocked using \
             dbl.test"
        ),
        "{text}\n{}",
        postfix.maillog()
    );
    // swaks: 26 is "the server did not accept the mail after DATA".
    assert_eq!(refused.status.code(), Some(26), "{text}");

    // A clean message is accepted and delivered.
    let clean = html_message_text("clean-message", "https://www.example.org/");
    let accepted = postfix.send_message("198.51.100.7", &clean).await;
    let text = transcript(&accepted);
    assert!(
        text.contains("250 2.0.0 Ok: queued as"),
        "{text}\n{}",
        postfix.maillog()
    );
    assert_eq!(accepted.status.code(), Some(0), "{text}");
    let mailbox = postfix.wait_for_delivery("Subject: clean-message").await;
    assert!(!mailbox.contains("spam-message"), "{mailbox}");
    assert!(!mailbox.contains("X-DNSBL"), "{mailbox}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn postfix_with_a_tag_only_milter_delivers_tagged_mail() {
    let dns = milter_lists().await;
    let (_milter, postfix) = milter_and_postfix(&dns, "--tag-only").await;

    let spam = html_message_text("tagged-message", "https://www.spam.example/offer");
    let sent = postfix.send_message("192.0.2.55", &spam).await;
    let text = transcript(&sent);
    assert!(
        text.contains("250 2.0.0 Ok: queued as"),
        "{text}\n{}",
        postfix.maillog()
    );
    let mailbox = postfix.wait_for_delivery("Subject: tagged-message").await;
    assert!(
        mailbox.contains(
            "X-DNSBL: 192.0.2.55 listed by bl.test (127.0.0.2); domain spam.example in the \
             message listed by dbl.test (127.0.1.2)"
        ),
        "{mailbox}"
    );
}

/// Sends `message` with swaks from XCLIENT address `client`, from a file of its own (so that
/// several can be sent at once); the transcript and how long it took.
async fn swaks_file(
    postfix: &Postfix,
    client: &str,
    message: &str,
    file: &std::path::Path,
) -> (String, std::time::Duration) {
    std::fs::write(file, message).unwrap();
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new("swaks")
        .args(["--timeout", "60", "--server"])
        .arg(format!("127.0.0.1:{}", postfix.port))
        .arg("--xclient")
        .arg(format!("ADDR={client} NAME=client.example.test"))
        .args(["--ehlo", "client.example.test"])
        .args(["--to", "a@example.test", "--from", "b@example.test"])
        .arg("--data")
        .arg(format!("@{}", file.display()))
        .output()
        .await
        .expect("run swaks");
    (transcript(&output), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn postfix_with_the_milter_judges_worst_case_bodies_and_normal_mail_at_once() {
    let dns = milter_lists().await;
    let (milter, postfix) = milter_and_postfix(&dns, "--check-local").await;
    let dir = tempfile::tempdir().unwrap();
    // A base64 text part that decodes to 512 KiB of `www.a,` on one line: the body on
    // which an earlier scan was quadratic (29 s each).
    let mut encoded = String::new();
    for line in crate::milter::base64("www.a,".repeat(512 * 1024 / 6).as_bytes())
        .as_bytes()
        .chunks(76)
    {
        encoded.push_str(std::str::from_utf8(line).unwrap());
        encoded.push_str("\r\n");
    }
    let mut sends = tokio::task::JoinSet::new();
    let postfix = std::sync::Arc::new(postfix);
    for i in 0..4 {
        let message = format!(
            "From: b@example.test\r\nTo: a@example.test\r\nSubject: worst-case-{i}\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
        );
        let file = dir.path().join(format!("worst{i}.eml"));
        let postfix = postfix.clone();
        sends.spawn(async move { swaks_file(&postfix, "198.51.100.7", &message, &file).await });
    }
    // A normal message beside them, linking a listed domain.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let spam = html_message_text("normal-message", "https://www.spam.example/offer");
    let (normal, took) = swaks_file(
        &postfix,
        "198.51.100.8",
        &spam,
        &dir.path().join("normal.eml"),
    )
    .await;
    assert!(
        normal.contains("550 5.7.1 Service unavailable; domain spam.example in the message"),
        "{normal}\n{}",
        postfix.maillog()
    );
    assert!(
        took < std::time::Duration::from_secs(10),
        "normal message: {took:?}"
    );
    while let Some(done) = sends.join_next().await {
        let (text, _) = done.unwrap();
        assert!(text.contains("250 2.0.0 Ok: queued as"), "{text}");
    }
    // Each message was judged (read and checked, from its end to the verdict) in < 2 s.
    let decisions = milter.wait_for_logs("stage=\"message\"", 5).await.unwrap();
    for decision in &decisions {
        let ms: f64 = decision
            .split(" ms=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|ms| ms.parse().ok())
            .unwrap_or_else(|| panic!("no ms in {decision}"));
        assert!(ms < 2000.0, "{decision}");
    }
}
