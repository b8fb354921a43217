//! End to end: a private Postfix instance asks `dnsbl-policyd` about each recipient, and
//! answers SMTP clients accordingly.
//!
//! Needs root, Postfix and swaks (`.ci/run` installs them); run with
//! `cargo test --test postfix_e2e -- --ignored`. The setup follows the verified notes for
//! running a private Postfix: its own configuration, queue and data directories under a
//! temporary directory, smtpd on a loopback port, the smtp client left out (nothing leaves
//! the machine, every message is discarded), and XCLIENT from 127.0.0.1 to present chosen
//! client addresses.

use crate::policyd_support::Policyd;
use crate::support::TestDns;
use crate::support::postfix::Postfix;

const BL: &str = "bl.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn postfix_rejects_listed_clients_and_accepts_clean_ones() {
    let dns = TestDns::builder()
        .zone(BL)
        .a("2.0.0.127.bl.test", &["127.0.0.2"], 60)
        .a("55.2.0.192.bl.test", &["127.0.0.2"], 60)
        .txt("55.2.0.192.bl.test", &["Listed for testing"], 60)
        .start()
        .await;
    let address = dns.addr.to_string();
    let policyd = Policyd::start(&["--nameserver", &address, "--zone", BL]).await;
    let policy = policyd.port();
    let postfix = Postfix::start(&format!(
        "mynetworks = 127.0.0.0/8
relay_domains = static:ALL
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:{policy}, permit
"
    ))
    .await;

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
