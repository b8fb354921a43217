//! The `dnsbl-policyd` example, run as Postfix would use it: a real process, spoken to in the
//! policy delegation protocol over TCP (or a Unix socket), its lists served by an in-process
//! DNS server.
//!
//! Every run passes `--nameserver` pointing at a server on 127.0.0.1: no query ever goes to
//! the system resolver.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::support::policy::{client_request, request, with};
use crate::support::tool::{Address, Tool, ToolProcess, answer_past_idle_connections, exists};
use crate::support::{Behaviour, TestDns};

const BL: &str = "bl.test";
const DBL: &str = "dbl.test";
const FAIL: &str = "fail.test";
const ALL: &str = "all.test";
/// A Spamhaus DQS key as they look: 26 characters.
const KEY: &str = "secretkeyabcdefghijklmnopq";
/// The answer for 192.0.2.1 on `bl.test`.
const LISTED_REJECT: &str = "REJECT Service unavailable; client [192.0.2.1] blocked using \
     bl.test; Listed: see https://bl.test/?192.0.2.1";
/// The nibble query name of 2001:db8::1, without the zone.
const V6_NIBBLES: &str = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2";

/// `bl.test` lists 192.0.2.1, 192.0.2.3 (with a hostile reason) and 2001:db8::1; `dbl.test`
/// lists spam.example; `fail.test` answers SERVFAIL to everything; `all.test` lists
/// everything (a dead list).
async fn lists_server() -> TestDns {
    let hostile = [
        b"Listed\r\naction=OK\r\n\r\n".to_vec(),
        b"\x00\x07\xff\tbecause ".to_vec(),
        vec![b'x'; 250],
    ];
    let builder = TestDns::builder()
        .healthy_ip_zone(BL)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 300)
        .txt(
            "1.2.0.192.bl.test",
            &["Listed: see ", "https://bl.test/?192.0.2.1"],
            300,
        )
        .a("3.2.0.192.bl.test", &["127.0.0.2"], 300)
        .txt_raw("3.2.0.192.bl.test", hostile.to_vec(), 300)
        .a(&format!("{V6_NIBBLES}.bl.test"), &["127.0.0.2"], 300)
        .txt(&format!("{V6_NIBBLES}.bl.test"), &["IPv6 spam source"], 300);
    builder
        .healthy_domain_zone(DBL)
        .a("spam.example.dbl.test", &["127.0.1.2"], 300)
        .txt("spam.example.dbl.test", &["spam domain listed"], 300)
        .zone(FAIL)
        .on(&format!("*.{FAIL}"), "*", Behaviour::ServFail)
        .wildcard_a(ALL, &["127.0.0.2"], 60)
        .start()
        .await
}

/// `--nameserver` and `--timeout` for `dns`, then `args`.
async fn start(dns: &TestDns, args: &[&str]) -> ToolProcess {
    ToolProcess::serve_asking(Tool::Policyd, dns, args).await
}

#[tokio::test]
async fn listed_clients_are_rejected_naming_the_list_and_its_reason() {
    let dns = lists_server().await;
    let server = start(&dns, &["--zone", BL]).await;
    let mut conn = server.connect().await;

    // Many requests on one connection, as Postfix sends them.
    assert_eq!(conn.ask(&client_request("192.0.2.1")).await, LISTED_REJECT);
    assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");
    assert_eq!(
        conn.ask(&client_request("2001:db8::1")).await,
        "REJECT Service unavailable; client [2001:db8::1] blocked using bl.test; \
         IPv6 spam source"
    );
    assert_eq!(conn.ask(&client_request("2001:db8::2")).await, "DUNNO");
    // A dual-stack server's view of an IPv4 client, and Postfix's IPv6: form.
    let mapped = conn.ask(&client_request("::ffff:192.0.2.1")).await;
    assert!(mapped.starts_with("REJECT "), "{mapped}");
    let prefixed = conn.ask(&client_request("IPv6:2001:db8::1")).await;
    assert!(prefixed.contains("blocked using bl.test"), "{prefixed}");
    // A client Postfix could not tell the address of is not asked about.
    assert_eq!(conn.ask(&client_request("unknown")).await, "DUNNO");

    // A hostile reason cannot break the reply: one printable line, bounded.
    let hostile = conn.ask(&client_request("192.0.2.3")).await;
    assert!(
        hostile.starts_with(
            "REJECT Service unavailable; client [192.0.2.3] blocked using bl.test; \
             Listed action=OK ? because xxx"
        ),
        "{hostile}"
    );
    assert!(hostile.ends_with("..."), "{hostile}");
    assert!(hostile.len() <= 400, "{} bytes", hostile.len());
    assert!(hostile.bytes().all(|b| b.is_ascii_graphic() || b == b' '));

    // One decision line per request, at info level, with the time taken.
    let decisions = server.wait_for_logs(" decision ", 8).await.unwrap();
    assert_eq!(decisions.len(), 8, "{}", server.logs());
    let first = &decisions[0];
    for part in [
        "INFO",
        "client=\"192.0.2.1\"",
        "listed=\"192.0.2.1 bl.test\"",
        "action=\"REJECT Service unavailable;",
        "ms=",
    ] {
        assert!(first.contains(part), "{part:?} not in {first}");
    }
}

#[tokio::test]
async fn failing_and_dead_lists_fail_open_or_closed() {
    let dns = lists_server().await;
    let lists = ["--zone", BL, "--zone", FAIL, "--zone", ALL];
    let open = start(&dns, &lists).await;
    let closed = start(&dns, &[&lists[..], &["--fail-closed"]].concat()).await;
    let (mut open_conn, mut closed_conn) = (open.connect().await, closed.connect().await);

    // fail.test answers SERVFAIL; all.test lists 127.0.0.1 too, so it is skipped as unhealthy
    // (never trusted to reject anybody).
    assert_eq!(
        open_conn.ask(&client_request("198.51.100.7")).await,
        "DUNNO"
    );
    assert_eq!(
        closed_conn.ask(&client_request("198.51.100.7")).await,
        "DEFER_IF_PERMIT Service temporarily unavailable; DNS list lookups failed"
    );
    // A listing still rejects, whatever the other lists did.
    for conn in [&mut open_conn, &mut closed_conn] {
        let action = conn.ask(&client_request("192.0.2.1")).await;
        assert!(
            action.starts_with("REJECT ") && action.contains("blocked using bl.test;"),
            "{action}"
        );
    }
    // Local clients are not asked about, so there is no trouble either.
    assert_eq!(closed_conn.ask(&client_request("10.0.0.1")).await, "DUNNO");

    let decision = open.wait_for_log(" decision ").await.unwrap();
    assert!(
        decision.contains("trouble=\"198.51.100.7 fail.test: "),
        "{decision}"
    );
    let dead = open.wait_for_log("list not trusted").await.unwrap();
    assert!(
        dead.contains("ERROR") && dead.contains("all.test"),
        "the dead list is logged at error level: {dead}"
    );
}

#[tokio::test]
async fn tag_only_prepends_a_header_once_per_message() {
    let dns = lists_server().await;
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            r#"
            [[list]]
            name = "test-list"
            zone = "{BL}"
            categories = {{ "127.0.0.2" = "SBL" }}
            "#
        ),
    )
    .unwrap();
    let server = start(
        &dns,
        &["--config", config.path().to_str().unwrap(), "--tag-only"],
    )
    .await;
    let mut conn = server.connect().await;

    let first = client_request("192.0.2.1");
    assert_eq!(
        conn.ask(&first).await,
        "PREPEND X-DNSBL: 192.0.2.1 listed by bl.test (SBL)"
    );
    // The next recipient of the same message: the header is there already.
    assert_eq!(conn.ask(&first).await, "DUNNO");
    // The next message is tagged again.
    let next = with(first.clone(), "instance", "1a2b.5f3e1c2d.1234.1");
    assert_eq!(
        conn.ask(&next).await,
        "PREPEND X-DNSBL: 192.0.2.1 listed by bl.test (SBL)"
    );
    assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");
}

/// The TXT queries `dns` has seen.
fn txt_queries(dns: &TestDns) -> usize {
    dns.queries()
        .iter()
        .filter(|(_, record_type)| record_type == "TXT")
        .count()
}

#[tokio::test]
async fn fetch_txt_false_in_the_config_file_sends_no_txt_query() {
    let dns = lists_server().await;
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!("fetch_txt = false\n[[list]]\nzone = \"{BL}\"\n"),
    )
    .unwrap();
    let server = start(&dns, &["--config", config.path().to_str().unwrap()]).await;
    let mut conn = server.connect().await;
    // Listed, and so without the reason its TXT record holds; then clean.
    assert_eq!(
        conn.ask(&client_request("192.0.2.1")).await,
        "REJECT Service unavailable; client [192.0.2.1] blocked using bl.test"
    );
    assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");
    assert!(
        dns.queries()
            .iter()
            .any(|(name, kind)| name.eq_ignore_ascii_case("1.2.0.192.bl.test.") && kind == "A"),
        "{:?}",
        dns.queries()
    );
    assert_eq!(txt_queries(&dns), 0, "{:?}", dns.queries());

    // The same lists without the setting: TXT is asked with every A query, and counted.
    dns.clear_queries();
    let default = start(&dns, &["--zone", BL]).await;
    let mut conn = default.connect().await;
    assert!(
        conn.ask(&client_request("192.0.2.1"))
            .await
            .ends_with("Listed: see https://bl.test/?192.0.2.1")
    );
    assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");
    assert!(txt_queries(&dns) >= 2, "{:?}", dns.queries());
}

#[tokio::test]
async fn local_clients_are_not_checked_unless_asked() {
    let dns = lists_server().await;
    let server = start(&dns, &["--zone", BL]).await;
    let mut conn = server.connect().await;
    // Loopback, private, link-local and unspecified addresses of both families, and an
    // IPv4-mapped private one.
    let local = "127.0.0.2 10.1.2.3 172.16.5.4 192.168.1.1 169.254.1.1 0.0.0.0 \
                 ::1 :: fd00::1 fe80::1 ::ffff:192.168.1.1";
    // Warm up with a public client, so that the health probes are done.
    assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");
    dns.clear_queries();
    for client in local.split_whitespace() {
        assert_eq!(conn.ask(&client_request(client)).await, "DUNNO", "{client}");
    }
    assert_eq!(dns.queries(), [] as [(String, String); 0], "no query sent");

    // 127.0.0.2 is every list's positive test point: listed when local clients are checked.
    let checking = start(&dns, &["--zone", BL, "--check-local"]).await;
    let action = checking
        .connect()
        .await
        .ask(&client_request("127.0.0.2"))
        .await;
    assert!(
        action.starts_with("REJECT Service unavailable; client [127.0.0.2] blocked using bl.test"),
        "{action}"
    );
}

/// PTR data for the FCrDNS tests, and `bl.test` so that there is an IP list.
async fn rdns_server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone(BL)
        .zone("2.0.192.in-addr.arpa")
        .zone("example.test")
        .ptr("10.2.0.192.in-addr.arpa", &["mail.example.test."], 60)
        .a("mail.example.test", &["192.0.2.10"], 60)
        .ptr("12.2.0.192.in-addr.arpa", &["liar.example.test."], 60)
        .a("liar.example.test", &["192.0.2.99"], 60)
        .on("13.2.0.192.in-addr.arpa", "*", Behaviour::ServFail)
        .start()
        .await
}

#[tokio::test]
async fn fcrdns_is_required_on_request() {
    let dns = rdns_server().await;
    let server = start(&dns, &["--zone", BL, "--require-fcrdns"]).await;
    let mut conn = server.connect().await;
    assert_eq!(conn.ask(&client_request("192.0.2.10")).await, "DUNNO");
    assert_eq!(
        conn.ask(&client_request("192.0.2.11")).await,
        "REJECT Service unavailable; client [192.0.2.11] has no forward-confirmed reverse DNS: \
         no PTR record"
    );
    let liar = conn.ask(&client_request("192.0.2.12")).await;
    assert!(
        liar.starts_with(
            "REJECT Service unavailable; client [192.0.2.12] has no forward-confirmed reverse DNS"
        ) && liar.contains("liar.example.test"),
        "{liar}"
    );
    // A failed lookup is temporary: never a rejection.
    assert_eq!(conn.ask(&client_request("192.0.2.13")).await, "DUNNO");

    let closed = start(
        &dns,
        &[
            "--zone",
            BL,
            "--require-fcrdns",
            "--fail-closed",
            "--tag-only",
        ],
    )
    .await;
    let mut conn = closed.connect().await;
    assert_eq!(
        conn.ask(&client_request("192.0.2.13")).await,
        "DEFER_IF_PERMIT Service temporarily unavailable; DNS list lookups failed"
    );
    assert_eq!(
        conn.ask(&client_request("192.0.2.11")).await,
        "PREPEND X-DNSBL: 192.0.2.11 has no forward-confirmed reverse DNS"
    );
    assert_eq!(conn.ask(&client_request("192.0.2.10")).await, "DUNNO");

    // Without the option, reverse DNS is not asked about.
    let plain = start(&dns, &["--zone", BL]).await;
    assert_eq!(
        plain
            .connect()
            .await
            .ask(&client_request("192.0.2.11"))
            .await,
        "DUNNO"
    );
}

#[tokio::test]
async fn helo_client_name_and_sender_domain_are_checked_on_request() {
    let dns = lists_server().await;
    let lists = ["--zone", BL, "--domain-zone", DBL];
    let all = start(&dns, &[&lists[..], &["--check-domains"]].concat()).await;
    let helo_only = start(&dns, &[&lists[..], &["--check-helo"]].concat()).await;
    let none = start(&dns, &lists).await;
    let (mut all, mut helo_only, mut none) = (
        all.connect().await,
        helo_only.connect().await,
        none.connect().await,
    );
    let clean = "198.51.100.7";

    let spam_sender = request(clean, "mail.example.org", "bob@spam.example");
    assert_eq!(
        all.ask(&spam_sender).await,
        "REJECT Service unavailable; sender domain spam.example blocked using dbl.test; \
         spam domain listed"
    );
    assert_eq!(helo_only.ask(&spam_sender).await, "DUNNO");
    assert_eq!(none.ask(&spam_sender).await, "DUNNO");

    let spam_helo = request(clean, "Spam.Example.", "alice@example.org");
    assert_eq!(
        all.ask(&spam_helo).await,
        "REJECT Service unavailable; helo name spam.example blocked using dbl.test; \
         spam domain listed"
    );
    assert!(helo_only.ask(&spam_helo).await.starts_with("REJECT "));
    assert_eq!(none.ask(&spam_helo).await, "DUNNO");

    let spam_name = with(client_request(clean), "client_name", "spam.example");
    assert_eq!(
        all.ask(&spam_name).await,
        "REJECT Service unavailable; client name spam.example blocked using dbl.test; \
         spam domain listed"
    );
    assert_eq!(helo_only.ask(&spam_name).await, "DUNNO");

    // Nothing to ask about: the null sender, address literals, single labels, "unknown".
    for attributes in [
        request(clean, "[198.51.100.7]", ""),
        request(clean, "localhost", "MAILER-DAEMON"),
        with(client_request(clean), "client_name", "unknown"),
    ] {
        assert_eq!(all.ask(&attributes).await, "DUNNO", "{attributes:?}");
    }
    // The client address is still checked against the IP lists.
    let listed_client = request("192.0.2.1", "spam.example", "bob@spam.example");
    let action = all.ask(&listed_client).await;
    assert!(
        action.starts_with("REJECT Service unavailable; client [192.0.2.1]"),
        "the client comes first: {action}"
    );
}

#[tokio::test]
async fn a_bad_request_closes_its_connection_only() {
    let dns = lists_server().await;
    let server = start(&dns, &["--zone", BL]).await;
    let mut steady = server.connect().await;
    assert!(
        steady
            .ask(&client_request("192.0.2.1"))
            .await
            .starts_with("REJECT ")
    );

    let long_line = format!("helo_name={}\n\n", "x".repeat(5000));
    let many: String = (0..200).map(|i| format!("x{i}=1\n")).collect::<String>() + "\n";
    let garbage: [(&str, &[u8]); 6] = [
        (
            "no '='",
            b"request=smtpd_access_policy\nthis is not an attribute\n\n",
        ),
        ("line too long", long_line.as_bytes()),
        (
            "not UTF-8",
            b"request=smtpd_access_policy\nhelo_name=\xff\xfe\n\n",
        ),
        ("too many attributes", many.as_bytes()),
        (
            "no client_address",
            b"request=smtpd_access_policy\nhelo_name=mail.example.org\n\n",
        ),
        ("empty request", b"\n"),
    ];
    for (what, bytes) in garbage {
        let mut conn = server.connect().await;
        // A good request first: the connection works until the garbage comes.
        assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");
        conn.send(bytes).await;
        assert!(conn.closed().await, "{what}: connection not closed");
        // The server keeps serving, on old connections and new ones.
        assert_eq!(
            steady.ask(&client_request("198.51.100.8")).await,
            "DUNNO",
            "{what}"
        );
        let mut fresh = server.connect().await;
        assert!(
            fresh
                .ask(&client_request("192.0.2.1"))
                .await
                .starts_with("REJECT "),
            "{what}"
        );
    }

    // Unknown request types get DUNNO and the connection stays open; so does a request cut
    // in two writes, with CRLF line ends.
    let mut conn = server.connect().await;
    assert_eq!(
        conn.ask(&[("request", "junk"), ("client_address", "192.0.2.1")])
            .await,
        "DUNNO"
    );
    conn.send(b"request=smtpd_access_policy\r\nclient_add")
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    conn.send(b"ress=192.0.2.1\r\n\r\n").await;
    assert!(conn.answer().await.unwrap().starts_with("REJECT "));

    for problem in [
        "line without '='",
        "line longer than 4096 bytes",
        "not UTF-8",
        "more than 128 attributes",
        "without client_address",
        "empty request",
    ] {
        let line = server.wait_for_log(problem).await.unwrap();
        assert!(
            line.contains("WARN") && line.contains("bad request: closing the connection"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn a_dqs_key_never_appears_in_replies_or_logs() {
    let zone = format!("{KEY}.zen.dq.spamhaus.net");
    let dns = TestDns::builder()
        .zone("zen.dq.spamhaus.net")
        .a(&format!("2.0.0.127.{zone}"), &["127.0.0.2"], 60)
        .a(
            &format!("1.2.0.192.{zone}"),
            &["127.0.0.2", "127.0.0.4"],
            60,
        )
        .txt(
            &format!("1.2.0.192.{zone}"),
            &["https://check.spamhaus.org/sbl/query/SBL1"],
            60,
        )
        .on(&format!("99.2.0.192.{zone}"), "*", Behaviour::ServFail)
        .start()
        .await;
    let address = dns.addr.to_string();
    let server = ToolProcess::serve_with_env(
        Tool::Policyd,
        &[
            "--nameserver",
            &address,
            "--preset",
            "spamhaus-zen",
            "--dqs-key",
            KEY,
            "--tag-only",
        ],
        // Every log line anybody writes, the resolver's included.
        &[("RUST_LOG", "trace")],
    )
    .await;
    let tagging = server
        .connect()
        .await
        .ask(&client_request("192.0.2.1"))
        .await;
    assert_eq!(
        tagging,
        "PREPEND X-DNSBL: 192.0.2.1 listed by zen.dq.spamhaus.net (SBL, XBL)"
    );

    // The key from the environment, rejecting.
    let server_env = ToolProcess::serve_with_env(
        Tool::Policyd,
        &["--nameserver", &address, "--preset", "spamhaus-zen"],
        &[("SPAMHAUS_DQS_KEY", KEY), ("RUST_LOG", "trace")],
    )
    .await;
    let mut conn = server_env.connect().await;
    let rejecting = conn.ask(&client_request("192.0.2.1")).await;
    assert_eq!(
        rejecting,
        "REJECT Service unavailable; client [192.0.2.1] blocked using zen.dq.spamhaus.net; \
         https://check.spamhaus.org/sbl/query/SBL1"
    );
    assert_eq!(conn.ask(&client_request("192.0.2.99")).await, "DUNNO");
    assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");

    // The key written into a config file's zone, with a list name of the user's.
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!("[[list]]\nname = \"zen\"\nzone = \"{KEY}.zen.dq.spamhaus.net\"\n"),
    )
    .unwrap();
    let server_config = ToolProcess::serve_with_env(
        Tool::Policyd,
        &[
            "--nameserver",
            &address,
            "--config",
            config.path().to_str().unwrap(),
        ],
        &[("RUST_LOG", "trace")],
    )
    .await;
    let rejecting = server_config
        .connect()
        .await
        .ask(&client_request("192.0.2.1"))
        .await;
    assert!(
        rejecting.starts_with(
            "REJECT Service unavailable; client [192.0.2.1] blocked using zen.dq.spamhaus.net;"
        ),
        "{rejecting}"
    );

    assert!(
        dns.queries().iter().any(|(name, _)| name.contains(KEY)),
        "the key is used in queries"
    );
    for (mut server, decisions) in [(server, 1), (server_env, 3), (server_config, 1)] {
        server.wait_for_logs(" decision ", decisions).await.unwrap();
        // Every line, to the last one written at exit.
        server.signal(libc::SIGTERM);
        assert_eq!(server.wait().await.code(), Some(0));
        server.wait_for_log("stopped").await.unwrap();
        let logs = server.logs();
        assert!(
            !logs.to_ascii_lowercase().contains(KEY),
            "the key is in the logs:\n{logs}"
        );
        // The resolver's trace logs carry query names: the scrubbing was put to work.
        assert!(logs.contains("<redacted>"), "{logs}");
    }
}

/// `bl.test` listing 192.0.2.1 to 192.0.2.10, each with its own reason.
async fn ten_listed_server() -> TestDns {
    let mut builder = TestDns::builder().healthy_ip_zone(BL);
    for i in 1..=10 {
        let name = format!("{i}.2.0.192.{BL}");
        builder = builder
            .a(&name, &["127.0.0.2"], 300)
            .txt(&name, &[&format!("listed {i}")], 300);
    }
    builder.start().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_connections_of_twenty_requests_all_answered_right() {
    hundred_connections_of_twenty_requests("hickory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pooled_transport_answers_the_same() {
    hundred_connections_of_twenty_requests("pooled").await;
}

async fn hundred_connections_of_twenty_requests(transport: &str) {
    let dns = ten_listed_server().await;
    let server = start(&dns, &["--zone", BL, "--transport", transport]).await;
    let server = std::sync::Arc::new(server);
    let mut tasks = tokio::task::JoinSet::new();
    for connection in 0..100u32 {
        let server = server.clone();
        tasks.spawn(async move {
            let mut conn = server.connect().await;
            for request in 0..20u32 {
                let n = (connection * 7 + request) % 10 + 1;
                if (connection + request) % 2 == 0 {
                    let client = Ipv4Addr::new(192, 0, 2, n as u8).to_string();
                    let action = conn.ask(&client_request(&client)).await;
                    assert_eq!(
                        action,
                        format!(
                            "REJECT Service unavailable; client [{client}] blocked using \
                             bl.test; listed {n}"
                        )
                    );
                } else {
                    let client = Ipv4Addr::new(198, 51, 100, n as u8).to_string();
                    assert_eq!(conn.ask(&client_request(&client)).await, "DUNNO");
                }
            }
        });
    }
    while let Some(task) = tasks.join_next().await {
        task.unwrap();
    }
    let decisions = server.wait_for_logs(" decision ", 2000).await.unwrap();
    assert_eq!(decisions.len(), 2000);
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_then_exits_zero() {
    let slow = "1.2.0.192.bl.test";
    let dns = TestDns::builder()
        .healthy_ip_zone(BL)
        .on(
            slow,
            "A",
            Behaviour::Delay(
                Duration::from_millis(1500),
                Box::new(Behaviour::A(vec![Ipv4Addr::new(127, 0, 0, 2)], 60)),
            ),
        )
        .start()
        .await;
    let address = dns.addr.to_string();
    let mut server = ToolProcess::serve(
        Tool::Policyd,
        &["--nameserver", &address, "--timeout", "5", "--zone", BL],
    )
    .await;
    let mut idle = server.connect().await;
    assert_eq!(idle.ask(&client_request("198.51.100.7")).await, "DUNNO");

    let mut busy = server.connect().await;
    busy.send_request(&client_request("192.0.2.1")).await;
    // The request is in flight once its slow query has reached the DNS server.
    dns.wait_for_query(&format!("{slow}.")).await;

    server.signal(libc::SIGTERM);
    server.wait_for_log("shutting down").await.unwrap();
    // No new connections...
    let addr = server.addr();
    let refused = async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), refused)
        .await
        .expect("still accepting connections after SIGTERM");
    // ... idle ones are closed at once ...
    assert!(idle.closed().await);
    // ... and the request in flight is answered.
    assert_eq!(
        busy.answer().await.as_deref(),
        Some("REJECT Service unavailable; client [192.0.2.1] blocked using bl.test")
    );
    assert!(busy.closed().await);
    let status = server.wait().await;
    assert_eq!(status.code(), Some(0), "{}", server.logs());
    assert!(server.wait_for_log("stopped").await.is_some());
}

#[tokio::test]
async fn a_second_signal_stops_waiting_for_requests_in_flight() {
    let stuck = "1.2.0.192.bl.test";
    let dns = TestDns::builder()
        .healthy_ip_zone(BL)
        .on(stuck, "A", Behaviour::Drop)
        .start()
        .await;
    let address = dns.addr.to_string();
    let mut server = ToolProcess::serve(
        Tool::Policyd,
        &["--nameserver", &address, "--timeout", "20", "--zone", BL],
    )
    .await;
    let mut busy = server.connect().await;
    busy.send_request(&client_request("192.0.2.1")).await;
    dns.wait_for_query(&format!("{stuck}.")).await;

    server.signal(libc::SIGINT);
    server
        .wait_for_log("finishing the requests in flight")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    server.signal(libc::SIGINT);
    assert_eq!(server.wait().await.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(busy.closed().await, "closed without an answer");
}

#[tokio::test]
async fn listens_on_a_unix_socket_replacing_a_stale_one() {
    let dns = lists_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.sock");
    // A socket file left behind by a server that is gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(exists(&path));

    let address = dns.addr.to_string();
    let socket = path.to_str().unwrap();
    let args = ["--nameserver", &address, "--zone", BL, "--listen", socket];
    let mut server = ToolProcess::serve(Tool::Policyd, &args).await;
    assert!(matches!(server.address(), Address::Unix(p) if p == &path));
    let mut conn = server.connect().await;
    assert!(
        conn.ask(&client_request("192.0.2.1"))
            .await
            .starts_with("REJECT ")
    );
    assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");

    // A live server's socket is not taken over.
    let second = ToolProcess::try_serve(Tool::Policyd, &args, &[]).await;
    let Err(logs) = second else {
        panic!("a second server took over a live socket")
    };
    assert!(logs.contains("another server is listening"), "{logs}");
    assert!(
        conn.ask(&client_request("192.0.2.1"))
            .await
            .starts_with("REJECT ")
    );

    server.signal(libc::SIGTERM);
    assert_eq!(server.wait().await.code(), Some(0));
    assert!(!exists(&path), "the socket file is removed at exit");

    // A file that is not a socket is never removed.
    std::fs::write(&path, "precious").unwrap();
    let Err(logs) = ToolProcess::try_serve(Tool::Policyd, &args, &[]).await else {
        panic!("started over a regular file")
    };
    assert!(logs.contains("not a socket"), "{logs}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_lock_out_postfix() {
    crate::support::tool::raise_fd_limit();
    let dns = lists_server().await;
    let server = start(&dns, &["--zone", BL]).await;
    // 1,100 connections that never send a request: more than --max-connections (512).
    let (action, took) = answer_past_idle_connections(&server, 1100, async {
        let request = client_request("192.0.2.1");
        server.connect().await.ask(&request).await
    })
    .await;
    assert!(
        action.starts_with("REJECT Service unavailable; client [192.0.2.1] blocked using bl.test"),
        "{action} after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_closes_only_its_own_connections() {
    let dns = lists_server().await;
    let limits = [
        "--max-connections",
        "100",
        "--max-connections-per-peer",
        "50",
    ];
    let server = start(&dns, &[&["--zone", BL][..], &limits].concat()).await;
    let addr = server.addr();
    // A connection from 127.0.0.1 that has not sent its request yet...
    let mut postfix = server.connect().await;
    // ... while another peer opens 200 idle connections. At its own cap of 50, each new one
    // closes that peer's longest idle one; the total cap of 100 is never reached, so the
    // first peer's connection, idle the longest of all, stays open.
    let source = "127.0.0.2".parse().unwrap();
    still_answered_after_a_flood(&server, addr, Some(source), &mut postfix).await;
}

/// Opens 200 idle connections to `server` from `source`, then checks that `postfix`'s
/// connection is still answered.
async fn still_answered_after_a_flood(
    server: &ToolProcess,
    addr: std::net::SocketAddr,
    source: Option<std::net::IpAddr>,
    postfix: &mut crate::support::policy::PolicyClient,
) {
    let flood = crate::support::tool::idle_connections(addr, 200, source).await;
    // The server accepts them all (and closes the older ones) in well under a second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        postfix
            .ask(&client_request("192.0.2.1"))
            .await
            .starts_with("REJECT "),
        "{}",
        server.logs()
    );
    drop(flood);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_in_use_are_closed_last() {
    let dns = lists_server().await;
    let server = start(&dns, &["--zone", BL, "--max-connections", "50"]).await;
    let addr = server.addr();
    // Postfix's connection, idle between two requests, the longest idle of all...
    let mut postfix = server.connect().await;
    assert_eq!(postfix.ask(&client_request("198.51.100.7")).await, "DUNNO");
    // ... while 200 connections from the same address never send a request: they make room
    // for each other, not at the expense of a connection in use.
    still_answered_after_a_flood(&server, addr, None, &mut postfix).await;
}

#[tokio::test]
async fn a_unix_socket_is_for_its_owner_and_group_only() {
    use std::os::unix::fs::PermissionsExt;
    let dns = lists_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.sock");
    let address = dns.addr.to_string();
    let socket = path.to_str().unwrap();
    let server = ToolProcess::serve(
        Tool::Policyd,
        &["--nameserver", &address, "--zone", BL, "--listen", socket],
    )
    .await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660, "{mode:o}");
    drop(server);
}

/// The library's policy server, run in-process by its `serve` entry point: the verdicts, one
/// tag per message, and a shutdown that lets the connection finish, then returns.
#[tokio::test]
async fn the_library_policy_server_serves_in_process_until_shut_down() {
    use std::sync::Arc;

    use dnsbl_check::mail::serve::PolicyServer;
    use dnsbl_check::mail::{SessionFilter, SessionPolicy};

    use crate::support::in_process::{InProcess, checker};

    let dns = lists_server().await;
    let policy = SessionPolicy::default().check_helo(true);
    let filter = SessionFilter::new(checker(&dns, &[BL], &[DBL]), policy);
    let server = InProcess::policy(PolicyServer::new(Arc::new(filter))).await;
    let mut conn = server.connect().await;
    assert_eq!(conn.ask(&client_request("192.0.2.1")).await, LISTED_REJECT);
    assert_eq!(conn.ask(&client_request("198.51.100.7")).await, "DUNNO");
    let helo = request("198.51.100.7", "spam.example", "alice@example.org");
    assert_eq!(
        conn.ask(&helo).await,
        "REJECT Service unavailable; helo name spam.example blocked using dbl.test; \
         spam domain listed"
    );

    let tagging = SessionFilter::new(
        checker(&dns, &[BL], &[]),
        SessionPolicy::default().tag_only(true),
    );
    let tagger = InProcess::policy(PolicyServer::new(Arc::new(tagging))).await;
    let mut tagged = tagger.connect().await;
    let first = client_request("192.0.2.1");
    assert_eq!(
        tagged.ask(&first).await,
        "PREPEND X-DNSBL: 192.0.2.1 listed by bl.test (127.0.0.2)"
    );
    assert_eq!(tagged.ask(&first).await, "DUNNO");

    server.shutdown();
    assert!(conn.closed().await);
    server.stopped().await;
    tagger.shutdown();
    tagger.stopped().await;
}

/// The library's policy server on a Unix socket: created with the mode asked for, answered
/// on, and removed at shutdown.
#[tokio::test]
async fn the_library_policy_server_listens_on_a_unix_socket_in_process() {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use dnsbl_check::mail::serve::{Listen, PolicyServer};
    use dnsbl_check::mail::{SessionFilter, SessionPolicy};

    use crate::support::in_process::{InProcess, checker};

    let dns = lists_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.sock");
    let filter = SessionFilter::new(checker(&dns, &[BL], &[]), SessionPolicy::default());
    let server = InProcess::policy_at(
        PolicyServer::new(Arc::new(filter)),
        &Listen::Unix(path.clone()),
    )
    .await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
    let mut conn = server.connect().await;
    let listed = conn.ask(&client_request("192.0.2.1")).await;
    assert!(listed.starts_with("REJECT "), "{listed}");
    server.shutdown();
    server.stopped().await;
    assert!(!exists(&path));
}
