//! A client address that cannot be read is a client that was not checked: the policy server
//! and the milter say so in a warning naming the text, answer it (never drop the
//! connection), and tempfail it when failing closed.

use dnsbl_check::mail::milter::{ClientAddress, Command, Response};

use crate::support::TestDns;
use crate::support::milter::Mta;
use crate::support::policy::client_request;
use crate::support::tool::{Tool, ToolProcess};

/// `bl.test`, healthy, listing 192.0.2.1.
async fn lists_server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone("bl.test")
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 300)
        .start()
        .await
}

fn args<'a>(dns: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--nameserver", dns, "--timeout", "2", "--zone", "bl.test"];
    all.extend_from_slice(more);
    all
}

const UNREADABLE: [&str; 5] = ["[192.0.2.1]", "192.0.2.1%eth0", "", " ", "unknown"];

#[tokio::test]
async fn policyd_tempfails_an_unreadable_client_address_when_failing_closed() {
    let dns = lists_server().await;
    let address = dns.addr.to_string();
    let closed = ToolProcess::serve(Tool::Policyd, &args(&address, &["--fail-closed"])).await;
    let open = ToolProcess::serve(Tool::Policyd, &args(&address, &[])).await;
    let (mut closed_conn, mut open_conn) = (closed.connect().await, open.connect().await);
    for text in UNREADABLE {
        assert_eq!(
            closed_conn.ask(&client_request(text)).await,
            "DEFER_IF_PERMIT Service temporarily unavailable; client address not known",
            "{text:?}"
        );
        assert_eq!(
            open_conn.ask(&client_request(text)).await,
            "DUNNO",
            "{text:?}"
        );
    }
    // The connection goes on, and a readable address is still checked.
    assert!(
        closed_conn
            .ask(&client_request("192.0.2.1"))
            .await
            .starts_with("REJECT ")
    );
    for server in [&closed, &open] {
        let warning = server
            .wait_for_log("client address unreadable")
            .await
            .unwrap();
        assert!(
            warning.contains("WARN") && warning.contains(r#"client="[192.0.2.1]""#),
            "{warning}"
        );
        // The decision names the trouble too.
        let decisions = server.wait_for_logs(" decision ", 5).await.unwrap();
        assert!(
            decisions[0].contains(r#"trouble="client address unreadable: \"[192.0.2.1]\"""#),
            "{}",
            decisions[0]
        );
    }
    // A hostile text is logged printable and bounded.
    let hostile = format!("\u{1b}[31m{}", "9".repeat(3000));
    assert_eq!(open_conn.ask(&client_request(&hostile)).await, "DUNNO");
    let warnings = open
        .wait_for_logs("client address unreadable", UNREADABLE.len() + 1)
        .await
        .unwrap();
    let last = warnings.last().unwrap();
    assert!(!last.contains('\u{1b}') && last.len() < 400, "{last}");
}

#[tokio::test]
async fn the_milter_answers_a_connect_it_cannot_read() {
    let dns = lists_server().await;
    let address = dns.addr.to_string();
    let closed = ToolProcess::serve(Tool::Milter, &args(&address, &["--fail-closed"])).await;
    let open = ToolProcess::serve(Tool::Milter, &args(&address, &[])).await;
    let tempfail = Response::ReplyCode(
        "451 4.7.1 Service temporarily unavailable; client address not known".into(),
    );
    let malformed: [&[u8]; 4] = [
        // A connect without its address.
        &[0, 0, 0, 3, b'C', b'x', 0],
        // An address that is not one.
        b"\x00\x00\x00\x15Cx\x004\x00\x19192.0.2.1%eth0\x00",
        // An unknown family.
        &[0, 0, 0, 4, b'C', b'x', 0, b'X'],
        // The unknown family, as Postfix sends it for a client whose address it does not know.
        &[0, 0, 0, 4, b'C', b'x', 0, b'U'],
    ];
    for bytes in malformed {
        let mut mta = Mta::connect(&closed).await;
        mta.send_raw(bytes).await;
        assert_eq!(mta.response().await, Some(tempfail.clone()), "{bytes:?}");
        let mut mta = Mta::connect(&open).await;
        mta.send_raw(bytes).await;
        assert_eq!(mta.response().await, Some(Response::Continue), "{bytes:?}");
        // The connection goes on.
        assert_eq!(
            mta.ask(&Command::Connect {
                hostname: "x".into(),
                address: ClientAddress::Ip("198.51.100.7".parse().unwrap(), 25),
            })
            .await,
            Some(Response::Continue)
        );
    }
    let warning = open
        .wait_for_log("client address unreadable")
        .await
        .unwrap();
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        open.wait_for_log(r#"client="192.0.2.1%eth0""#)
            .await
            .is_some(),
        "{}",
        open.logs()
    );
}

/// What Postfix really sends for a client whose address it does not know (XCLIENT
/// `ADDR=[UNAVAILABLE]`): `client_address=unknown` to a policy server, the unknown family to
/// a milter. With --fail-closed both defer the client instead of letting it through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn postfix_defers_a_client_whose_address_it_does_not_know_when_failing_closed() {
    use crate::support::postfix::Postfix;
    let dns = lists_server().await;
    let address = dns.addr.to_string();

    let policyd = ToolProcess::serve(Tool::Policyd, &args(&address, &["--fail-closed"])).await;
    let postfix = Postfix::with_policy(policyd.port()).await;
    let out = postfix.send_from("[UNAVAILABLE]").await;
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        transcript.contains(
            "450 4.7.1 <a@example.test>: Recipient address rejected: \
             Service temporarily unavailable; client address not known"
        ),
        "{transcript}\n{}",
        postfix.maillog()
    );
    let warning = policyd
        .wait_for_log("client address unreadable")
        .await
        .unwrap();
    assert!(warning.contains(r#"client="unknown""#), "{warning}");
    drop(postfix);

    let milter = ToolProcess::serve(Tool::Milter, &args(&address, &["--fail-closed"])).await;
    let postfix = Postfix::with_milter(milter.port()).await;
    let out = postfix.send_from("[UNAVAILABLE]").await;
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        transcript.contains("451 4.7.1 Service temporarily unavailable; client address not known"),
        "{transcript}\n{}\n{}",
        postfix.maillog(),
        milter.logs()
    );
    assert!(
        milter
            .wait_for_log("client address unreadable")
            .await
            .is_some(),
        "{}",
        milter.logs()
    );
}
