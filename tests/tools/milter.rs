//! The `dnsbl-milter` example, run as an MTA would use it: a real process, spoken to in the
//! milter protocol over TCP with the library's codec (the MTA's side), its lists served by
//! an in-process DNS server on 127.0.0.1.

use std::time::Duration;

use dnsbl_check::mail::milter::{Actions, Command, Options, ProtocolFlags, Response};

use crate::support::milter::{Mta, OFFER_PROTOCOL};
use crate::support::tool::{Tool, ToolProcess, answer_past_idle_connections};
use crate::support::{Behaviour, TestDns};

const BL: &str = "bl.test";
const DBL: &str = "dbl.test";
const FAIL: &str = "fail.test";

/// `bl.test` lists 192.0.2.1 (with a reason) and 192.0.2.2; `dbl.test` lists spam.example;
/// `fail.test` answers SERVFAIL.
async fn lists_server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 300)
        .txt("1.2.0.192.bl.test", &["Listed: 100% spam"], 300)
        .a("2.2.0.192.bl.test", &["127.0.0.2"], 300)
        .healthy_domain_zone(DBL)
        .a("spam.example.dbl.test", &["127.0.1.2"], 300)
        .txt("spam.example.dbl.test", &["spam domain"], 300)
        .zone(FAIL)
        .on(&format!("*.{FAIL}"), "*", Behaviour::ServFail)
        .start()
        .await
}

async fn start(dns: &TestDns, args: &[&str]) -> ToolProcess {
    ToolProcess::serve_asking(Tool::Milter, dns, args).await
}

/// The end of a message naming spam.example, begun on `busy`: refused, then the connection
/// closes (the server is shutting down).
async fn finish_spam_message(busy: &mut Mta) {
    busy.tell(&Command::Body(b"see http://spam.example/\r\n".to_vec()))
        .await;
    assert_eq!(
        busy.end_message().await,
        [reply(
            "550 5.7.1 Service unavailable; domain spam.example in the message blocked using dbl.test; spam domain"
        )]
    );
    assert!(busy.closed().await);
}

fn reply(text: &str) -> Response {
    Response::ReplyCode(text.into())
}

/// A message whose only link is in a base64 HTML part.
pub fn html_message(url: &str) -> (Vec<(&'static str, String)>, String) {
    use std::fmt::Write as _;
    let html = format!("<p>Hello <a href=\"{url}\">click</a></p>");
    let mut encoded = String::new();
    for line in base64(html.as_bytes()).as_bytes().chunks(76) {
        let _ = write!(encoded, "{}\r\n", String::from_utf8_lossy(line));
    }
    let headers = vec![
        ("Subject", "offer".to_owned()),
        ("MIME-Version", "1.0".to_owned()),
        (
            "Content-Type",
            "multipart/alternative; boundary=\"b1\"".to_owned(),
        ),
    ];
    let body = format!(
        "--b1\r\nContent-Type: text/plain\r\n\r\nplain part\r\n--b1\r\n\
         Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {encoded}--b1--\r\n"
    );
    (headers, body)
}

/// [`html_message`] as one text, with `subject`.
pub fn html_message_text(subject: &str, url: &str) -> String {
    let (headers, body) = html_message(url);
    let mut text = String::from("From: b@example.test\r\nTo: a@example.test\r\n");
    for (name, value) in headers {
        let value = if name == "Subject" {
            subject
        } else {
            value.as_str()
        };
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text + "\r\n" + &body
}

/// Standard base64 (the tests' own, so that the milter's decoder is checked against it).
pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn send(mta: &mut Mta, message: &(Vec<(&'static str, String)>, String)) -> Vec<Response> {
    let headers: Vec<(&str, &str)> = message
        .0
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    mta.message(&headers, &message.1).await
}

#[tokio::test]
async fn listed_clients_relays_and_domains_are_refused() {
    let dns = lists_server().await;
    let milter = start(&dns, &["--zone", BL, "--domain-zone", DBL]).await;

    // Negotiation: no actions needed, no RCPT, no replies where none is needed.
    let mut mta = Mta::connect(&milter).await;
    assert_eq!(mta.agreed.actions, Actions::NONE);
    let skipped = ProtocolFlags::NO_RCPT | ProtocolFlags::NR_HEADER | ProtocolFlags::NR_BODY;
    assert!(mta.agreed.protocol.contains(skipped));
    assert!(!mta.agreed.protocol.intersects(ProtocolFlags::NR_CONNECT));
    // A listed client is refused at connect, naming the list, the address and the reason
    // ('%' doubled, as the MTA reads the text as a format).
    assert_eq!(
        mta.client("192.0.2.1").await,
        reply(
            "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using bl.test; Listed: 100%% spam"
        )
    );

    // A clean client, and a message carrying a listed domain in a base64 HTML part: refused
    // at the end of the message.
    let mut mta = Mta::connect(&milter).await;
    assert_eq!(mta.client("198.51.100.7").await, Response::Continue);
    let spam = html_message("https://www.spam.example/offer?id=1");
    assert_eq!(
        send(&mut mta, &spam).await,
        [reply(
            "550 5.7.1 Service unavailable; domain spam.example in the message blocked using dbl.test; spam domain"
        )]
    );
    // The same connection: a message aborted half-way, then a clean one, accepted.
    mta.start_message(&[("Subject", "half")]).await;
    mta.tell(&Command::Abort).await;
    let clean = html_message("https://www.example.org/");
    assert_eq!(send(&mut mta, &clean).await, [Response::Continue]);
    // A message relayed from a listed address (the client repeated in our own Received
    // header, then the relay's).
    let received = [
        (
            "Received",
            "from relay.example.net (relay.example.net [198.51.100.7]) by mx.example.test (Postfix) with ESMTP id 1",
        ),
        (
            "Received",
            "from pc.example.net (pc.example.net [192.0.2.2]) by relay.example.net (Postfix) with ESMTP id 2",
        ),
        ("Subject", "relayed"),
    ];
    assert_eq!(
        mta.message(&received, "hello\r\n").await,
        [reply(
            "550 5.7.1 Service unavailable; relay [192.0.2.2] blocked using bl.test"
        )]
    );

    // Local clients are not checked.
    let mut mta = Mta::connect(&milter).await;
    assert_eq!(mta.client("127.0.0.1").await, Response::Continue);
    let local = milter
        .wait_for_log("local client not checked")
        .await
        .unwrap();
    assert!(local.contains("client=127.0.0.1"), "{local}");
}

#[tokio::test]
async fn tag_only_adds_a_header_at_the_end_of_the_message() {
    let dns = lists_server().await;
    let milter = start(&dns, &["--zone", BL, "--domain-zone", DBL, "--tag-only"]).await;
    let mut mta = Mta::connect(&milter).await;
    assert_eq!(mta.agreed.actions, Actions::ADD_HEADERS);
    assert_eq!(mta.client("192.0.2.1").await, Response::Continue);
    let spam = html_message("http://spam.example/");
    assert_eq!(
        send(&mut mta, &spam).await,
        [
            Response::AddHeader {
                name: "X-DNSBL".into(),
                value: "192.0.2.1 listed by bl.test (127.0.0.2); domain spam.example in the \
                        message listed by dbl.test (127.0.1.2)"
                    .into()
            },
            Response::Continue
        ]
    );

    // An MTA that cannot add headers cannot be served in tag-only mode.
    let addr = milter.addr();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let offer = Command::Negotiate(Options::new(Actions::NONE, OFFER_PROTOCOL));
    tokio::io::AsyncWriteExt::write_all(&mut stream, &offer.to_bytes())
        .await
        .unwrap();
    let mut rest = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut rest)
        .await
        .unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn lookup_failures_fail_open_or_closed() {
    let dns = lists_server().await;
    let open = start(&dns, &["--zone", FAIL]).await;
    let mut mta = Mta::connect(&open).await;
    assert_eq!(mta.client("198.51.100.7").await, Response::Continue);

    let closed = start(&dns, &["--zone", FAIL, "--fail-closed"]).await;
    let mut mta = Mta::connect(&closed).await;
    assert_eq!(
        mta.client("198.51.100.7").await,
        reply("451 4.7.1 Service temporarily unavailable; DNS list lookups failed")
    );
}

#[tokio::test]
async fn bad_packets_close_only_their_connection() {
    let dns = lists_server().await;
    let milter = start(&dns, &["--zone", BL]).await;
    let mut steady = Mta::connect(&milter).await;
    // (A connect packet without its address is answered: see unreadable_clients.rs.)
    let garbage: [&[u8]; 4] = [
        // A length of 2 GiB: refused before anything is allocated.
        &[0x7f, 0xff, 0xff, 0xff, b'B'],
        // An unknown command.
        &[0, 0, 0, 1, b'Z'],
        // An empty packet.
        &[0, 0, 0, 0],
        // A packet cut short by the end of the connection.
        &[0, 0, 0, 9, b'H', b'a'],
    ];
    for bytes in garbage {
        let mut mta = Mta::connect(&milter).await;
        assert_eq!(mta.client("198.51.100.8").await, Response::Continue);
        mta.send_raw(bytes).await;
        if bytes.len() == 6 {
            mta.shutdown_write().await;
        }
        assert!(mta.closed().await, "{bytes:?}: connection not closed");
        assert_eq!(
            steady.client("192.0.2.1").await,
            reply(
                "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using bl.test; Listed: 100%% spam"
            ),
            "{bytes:?}"
        );
    }
    // QUIT ends a connection mid-message; the server goes on.
    let mut mta = Mta::connect(&milter).await;
    mta.client("198.51.100.9").await;
    mta.start_message(&[("Subject", "x")]).await;
    mta.send_raw(&Command::Quit.to_bytes()).await;
    assert!(mta.closed().await);
    assert_eq!(
        Mta::connect(&milter).await.client("198.51.100.9").await,
        Response::Continue
    );
}

#[tokio::test]
async fn hundreds_of_connections_at_once() {
    let dns = lists_server().await;
    let milter = start(&dns, &["--zone", BL, "--domain-zone", DBL]).await;
    let milter = std::sync::Arc::new(milter);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300u32 {
        let milter = milter.clone();
        tasks.spawn(async move {
            let mut mta = Mta::connect(&milter).await;
            let listed = i % 3 == 0;
            let client = if listed {
                "192.0.2.1".to_owned()
            } else {
                format!("198.51.100.{}", i % 200 + 10)
            };
            let answer = mta.client(&client).await;
            if listed {
                assert!(
                    matches!(answer, Response::ReplyCode(ref text) if text.starts_with("550 ")),
                    "{answer:?}"
                );
                return;
            }
            assert_eq!(answer, Response::Continue);
            let url = if i % 2 == 0 {
                "http://spam.example/"
            } else {
                "http://example.org/"
            };
            let responses = send(&mut mta, &html_message(url)).await;
            let refused =
                matches!(&responses[..], [Response::ReplyCode(text)] if text.starts_with("550 "));
            assert_eq!(refused, i % 2 == 0, "{responses:?}");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

#[tokio::test]
async fn sigterm_finishes_the_message_in_flight() {
    let dns = lists_server().await;
    let mut milter = start(&dns, &["--zone", BL, "--domain-zone", DBL]).await;
    let mut idle = Mta::connect(&milter).await;
    idle.client("198.51.100.7").await;
    // The end of the headers is answered: the message has surely begun when it is.
    let offer = Options::new(
        Actions::from_bits(0x1ff),
        OFFER_PROTOCOL & !ProtocolFlags::NR_EOH,
    );
    let mut busy = Mta::connect_offering(&milter, offer).await;
    busy.client("198.51.100.7").await;
    busy.start_message(&[("Subject", "in flight")]).await;

    milter.signal(libc::SIGTERM);
    milter.wait_for_log("shutting down").await.unwrap();
    assert!(idle.closed().await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    finish_spam_message(&mut busy).await;
    let status = milter.wait().await;
    assert_eq!(status.code(), Some(0), "{}", milter.logs());
}

/// A message whose text part names `decoys` harmless domains, then `listed`.
fn decoy_text_message(decoys: usize, listed: &str) -> (Vec<(&'static str, String)>, String) {
    let mut body = String::from("Deals of the day:\r\n");
    for i in 0..decoys {
        body.push_str(&format!("http://www.decoy{i}.example/offer\r\n"));
    }
    body.push_str(&format!("and {listed}\r\n"));
    (vec![("Subject", "decoys".to_owned())], body)
}

#[tokio::test]
async fn decoys_do_not_hide_a_listed_domain() {
    let dns = lists_server().await;
    let milter = start(&dns, &["--domain-zone", DBL]).await;
    let refused = reply(
        "550 5.7.1 Service unavailable; domain spam.example in the message blocked using dbl.test; spam domain",
    );
    // 25 links in the text before the listed one.
    let mut mta = Mta::connect(&milter).await;
    mta.client("198.51.100.7").await;
    let text = decoy_text_message(25, "http://www.spam.example/");
    assert_eq!(send(&mut mta, &text).await, std::slice::from_ref(&refused));
    // 40 hrefs before the listed one, after a hundred e-mail addresses.
    let mut html = String::new();
    for i in 0..100 {
        html.push_str(&format!("write to sales@shop{i}.example<br>\r\n"));
    }
    for i in 0..40 {
        html.push_str(&format!(
            "<a href=\"https://www.decoy{i}.example/\">offer {i}</a>\r\n"
        ));
    }
    html.push_str("<a href=\"https://www.spam.example/x\">last</a>\r\n");
    let message = (
        vec![
            ("Subject", "decoys".to_owned()),
            ("Content-Type", "text/html".to_owned()),
        ],
        html,
    );
    assert_eq!(send(&mut mta, &message).await, [refused]);
}

#[tokio::test]
async fn a_message_not_checked_in_full_is_judged_on_what_was_read_or_refused() {
    let dns = lists_server().await;
    let filler = "x".repeat(5000);
    let before_cut = (
        vec![("Subject", "cut".to_owned())],
        format!("http://spam.example/\r\n{filler}\r\n"),
    );
    let after_cut = (
        vec![("Subject", "cut".to_owned())],
        format!("{filler}\r\nhttp://spam.example/\r\n"),
    );
    let listed = reply(
        "550 5.7.1 Service unavailable; domain spam.example in the message blocked using dbl.test; spam domain",
    );

    // By default, a cut message is judged on what was read: a listed domain before the cut
    // is refused; one after it is not seen, and the warning says what was left out.
    let cut = ["--domain-zone", DBL, "--max-message-size", "4096"];
    let judged = start(&dns, &cut).await;
    let mut mta = Mta::connect(&judged).await;
    mta.client("198.51.100.7").await;
    assert_eq!(
        send(&mut mta, &before_cut).await,
        std::slice::from_ref(&listed)
    );
    assert_eq!(send(&mut mta, &after_cut).await, [Response::Continue]);
    let warning = judged
        .wait_for_log("message not fully checked")
        .await
        .unwrap();
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("message cut at 4096 bytes"), "{warning}");

    // Tag mode says so in a header.
    let tagging = start(&dns, &[&cut[..], &["--tag-only"]].concat()).await;
    let mut mta = Mta::connect(&tagging).await;
    mta.client("198.51.100.7").await;
    assert_eq!(
        send(&mut mta, &after_cut).await,
        [
            Response::AddHeader {
                name: "X-DNSBL-Unchecked".into(),
                value: "message cut at 4096 bytes".into()
            },
            Response::Continue
        ]
    );

    // With --unchecked-suspicious, a message not checked in full is refused: cut at the
    // size limit, or with more domains than the cap.
    let strict = [&cut[..], &["--unchecked-suspicious", "--max-domains", "5"]].concat();
    let strict = start(&dns, &strict).await;
    let mut mta = Mta::connect(&strict).await;
    mta.client("198.51.100.7").await;
    assert_eq!(
        send(&mut mta, &after_cut).await,
        [reply(
            "550 5.7.1 Service unavailable; message not fully checked: message cut at 4096 bytes"
        )]
    );
    let many = decoy_text_message(6, "nothing else");
    assert_eq!(
        send(&mut mta, &many).await,
        [reply(
            "550 5.7.1 Service unavailable; message not fully checked: more than 5 domains or addresses"
        )]
    );
    // Within the limits, a clean message passes.
    let few = decoy_text_message(5, "nothing else");
    assert_eq!(send(&mut mta, &few).await, [Response::Continue]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worst_case_bodies_do_not_delay_other_messages() {
    let dns = lists_server().await;
    let milter = std::sync::Arc::new(start(&dns, &["--domain-zone", DBL]).await);
    // A body on which an earlier scan was quadratic: every `www.` looked to the next
    // delimiter, 29 s for 512 KiB.
    let body = "www.a,".repeat(512 * 1024 / 6);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..4 {
        let milter = milter.clone();
        let body = body.clone();
        tasks.spawn(async move {
            let mut mta = Mta::connect(&milter).await;
            mta.client("198.51.100.7").await;
            mta.start_message(&[("Subject", "worst case")]).await;
            for chunk in body.as_bytes().chunks(65535) {
                mta.tell(&Command::Body(chunk.to_vec())).await;
            }
            let started = std::time::Instant::now();
            let verdict = mta.end_message().await;
            (format!("worst case {i}"), started.elapsed(), verdict)
        });
    }
    // A normal message beside them, sent once they are all being judged.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut mta = Mta::connect(&milter).await;
    mta.client("198.51.100.8").await;
    let spam = html_message("https://www.spam.example/offer");
    let started = std::time::Instant::now();
    let verdict = send(&mut mta, &spam).await;
    let normal = started.elapsed();
    assert!(
        matches!(&verdict[..], [Response::ReplyCode(text)] if text.starts_with("550 ")),
        "{verdict:?}"
    );
    assert!(
        normal < Duration::from_secs(2),
        "normal message: {normal:?}"
    );
    while let Some(done) = tasks.join_next().await {
        let (what, took, verdict) = done.unwrap();
        assert_eq!(verdict, [Response::Continue], "{what}");
        assert!(took < Duration::from_secs(2), "{what}: {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_lock_out_the_mta() {
    crate::support::tool::raise_fd_limit();
    let dns = lists_server().await;
    let milter = start(&dns, &["--zone", BL]).await;
    // 1,100 connections that never say anything: more than --max-connections (1024).
    let (answer, took) = answer_past_idle_connections(&milter, 1100, async {
        let mut mta = Mta::connect(&milter).await;
        mta.client("192.0.2.1").await
    })
    .await;
    assert_eq!(
        answer,
        reply(
            "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using bl.test; Listed: 100%% spam"
        ),
        "after {took:?}"
    );
}

/// The library's milter, run in-process by its `serve` entry point: a listed client refused
/// at connect, a message in flight at shutdown finished and judged, then the server returns.
#[tokio::test]
async fn the_library_milter_serves_in_process_and_finishes_the_message_at_shutdown() {
    use dnsbl_check::mail::milter::MilterConfig;
    use dnsbl_check::mail::serve::MilterServer;
    use dnsbl_check::mail::{MessageReader, SessionFilter, SessionPolicy};

    use crate::support::in_process::{InProcess, checker};
    use crate::support::milter::OFFER_ACTIONS;

    let dns = lists_server().await;
    let filter = SessionFilter::new(checker(&dns, &[BL], &[DBL]), SessionPolicy::default());
    let milter = MilterServer::new(filter, MessageReader::default(), MilterConfig::default());
    let server = InProcess::milter(milter).await;
    let mut mta = Mta::connect_to(server.addr(), Options::new(OFFER_ACTIONS, OFFER_PROTOCOL)).await;
    assert_eq!(
        mta.client("192.0.2.1").await,
        reply(
            "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using bl.test; Listed: 100%% spam"
        )
    );

    // The end of the headers is answered: the message has surely begun when it is.
    let offer = Options::new(OFFER_ACTIONS, OFFER_PROTOCOL & !ProtocolFlags::NR_EOH);
    let mut busy = Mta::connect_to(server.addr(), offer).await;
    assert_eq!(busy.client("198.51.100.7").await, Response::Continue);
    busy.start_message(&[("Subject", "in flight")]).await;
    server.shutdown();
    assert!(mta.closed().await);
    finish_spam_message(&mut busy).await;
    server.stopped().await;
}
