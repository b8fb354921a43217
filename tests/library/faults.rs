//! Faults on the way to a list and in its answers: silence, error codes, truncation, a closed
//! port, spoofed replies, answers that are no list answers, and TXT oddities.
//!
//! Every packet goes to servers on 127.0.0.1 that the test itself starts.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Behaviour, TestDns, Transport};
use crate::support::{failure_kind, outcome, resolver_at as resolver};
use dnsbl_check::outcome::{SkipReason, Unhealthy};
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::{Checker, DnsList, ListHealth, ListKind, LookupErrorKind, Outcome};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record};
use tokio::net::UdpSocket;

fn ip_list(spec: &str) -> DnsList {
    DnsList::from_spec(spec, ListKind::Ip).unwrap()
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// A server that never answers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_silent_list_times_out_in_bounded_time_and_the_other_lists_still_answer() {
    let dns = TestDns::builder()
        .healthy_ip_zone("good.test")
        .a("10.2.0.192.good.test", &["127.0.0.2"], 60)
        .zone("silent.test")
        .on("*.silent.test", "*", Behaviour::Drop)
        .start()
        .await;
    let timeout = Duration::from_millis(400);
    let attempts = 1;
    // One lookup may take the timeout once per try.
    let lookup_time = timeout * (attempts as u32 + 1);
    let slack = Duration::from_millis(1500);

    for health_checks in [false, true] {
        let checker = Checker::builder()
            .list(ip_list("good.test"))
            .list(ip_list("silent.test"))
            .health_checks(health_checks)
            .build_with(resolver(dns.addr, timeout, attempts))
            .unwrap();
        // With health checks, the first check waits for the test-point probe, then for the
        // lookup itself: twice the lookup time at most.
        let bound = if health_checks {
            lookup_time * 2 + slack
        } else {
            lookup_time + slack
        };
        for (target, listed) in [("192.0.2.10", true), ("192.0.2.11", false)] {
            let started = Instant::now();
            let report = checker.check(target.parse().unwrap()).await;
            let elapsed = started.elapsed();
            let silent = outcome(&report, "silent.test");
            assert_eq!(failure_kind(silent), LookupErrorKind::Timeout, "{report:?}");
            assert!(
                elapsed >= timeout,
                "gave up before the timeout: {elapsed:?}"
            );
            assert!(
                elapsed <= bound,
                "health checks {health_checks}: took {elapsed:?}, bound {bound:?}"
            );
            assert_eq!(
                outcome(&report, "good.test").is_listed(),
                listed,
                "{report:?}"
            );
            assert_eq!(report.listed, listed);
            assert!(report.has_trouble());
        }
        if health_checks {
            let health = checker.health();
            assert_eq!(health[0].1, ListHealth::Healthy);
            assert!(
                matches!(&health[1].1, ListHealth::ProbeFailed(e) if e.is_timeout()),
                "{:?}",
                health[1].1
            );
        }
    }
    assert!(
        dns.queries()
            .iter()
            .any(|(name, _)| name == "10.2.0.192.silent.test."),
        "the silent list was asked"
    );
}

// ---------------------------------------------------------------------------------------------
// SERVFAIL and REFUSED
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn servfail_and_refused_are_failures_of_their_own_kind_never_clean() {
    let dns = TestDns::builder()
        // Whole zones that fail, test points included (a broken or keyless list).
        .zone("servfail.test")
        .on("*.servfail.test", "*", Behaviour::ServFail)
        .zone("refused.test")
        .on("*.refused.test", "*", Behaviour::Refused)
        // A healthy zone where single names fail.
        .healthy_ip_zone("bl.test")
        .on("20.2.0.192.bl.test", "A", Behaviour::ServFail)
        .on("21.2.0.192.bl.test", "A", Behaviour::Refused)
        .start()
        .await;
    let checker = Checker::builder()
        .list(ip_list("servfail.test"))
        .list(ip_list("refused.test"))
        .list(ip_list("bl.test"))
        .build_with(resolver(dns.addr, Duration::from_millis(500), 1))
        .unwrap();

    for target in ["192.0.2.20", "192.0.2.21", "192.0.2.22"] {
        let report = checker.check(target.parse().unwrap()).await;
        assert_eq!(
            failure_kind(outcome(&report, "servfail.test")),
            LookupErrorKind::ServFail
        );
        assert_eq!(
            failure_kind(outcome(&report, "refused.test")),
            LookupErrorKind::Refused
        );
        let expected = match target {
            "192.0.2.20" => Some(LookupErrorKind::ServFail),
            "192.0.2.21" => Some(LookupErrorKind::Refused),
            _ => None,
        };
        match expected {
            Some(kind) => assert_eq!(failure_kind(outcome(&report, "bl.test")), kind),
            None => assert_eq!(*outcome(&report, "bl.test"), Outcome::NotListed),
        }
        for result in &report.results {
            if result.zone.public_name() != "bl.test" || expected.is_some() {
                assert_ne!(result.outcome, Outcome::NotListed, "{target}");
                assert!(result.outcome.is_trouble());
            }
        }
        assert!(!report.listed);

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["results"][0]["status"], "failed");
        assert_eq!(json["results"][0]["error_kind"], "serv_fail");
        assert_eq!(json["results"][1]["status"], "failed");
        assert_eq!(json["results"][1]["error_kind"], "refused");
    }

    let health = checker.health();
    assert!(
        matches!(&health[0].1, ListHealth::ProbeFailed(e) if e.is_servfail()),
        "{health:?}"
    );
    assert!(
        matches!(&health[1].1, ListHealth::ProbeFailed(e) if e.is_refused()),
        "{health:?}"
    );
    assert_eq!(health[2].1, ListHealth::Healthy);
}

// ---------------------------------------------------------------------------------------------
// Truncation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn oversize_answers_are_truncated_over_udp_and_fetched_whole_over_tcp() {
    // 100 A records (about 1.6 kB) and a TXT record of six 255-byte strings (1.5 kB): both
    // above the 1232-byte EDNS payload the resolver offers, so the server truncates them.
    let codes: Vec<String> = (1..=100)
        .map(|i| format!("127.0.{}.{}", i / 50, i))
        .collect();
    let code_refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let long: Vec<Vec<u8>> = (0..6u8).map(|i| vec![b'a' + i; 255]).collect();
    let joined: String = long
        .iter()
        .map(|s| String::from_utf8(s.clone()).unwrap())
        .collect();
    let dns = TestDns::builder()
        .zone("bl.test")
        .a("10.2.0.192.bl.test", &code_refs, 60)
        .txt_raw("10.2.0.192.bl.test", long, 60)
        .txt("10.2.0.192.bl.test", &["a short second record"], 60)
        .start()
        .await;
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .health_checks(false)
        .build_with(resolver(dns.addr, Duration::from_secs(2), 1))
        .unwrap();
    let report = checker.check("192.0.2.10".parse().unwrap()).await;
    let Outcome::Listed(listing) = outcome(&report, "bl.test") else {
        panic!("{report:?}")
    };
    let mut got: Vec<Ipv4Addr> = listing.codes.clone();
    got.sort();
    let mut want: Vec<Ipv4Addr> = codes.iter().map(|c| ip(c)).collect();
    want.sort();
    assert_eq!(got, want, "every A record arrives");
    let mut reasons = listing.reasons.clone();
    reasons.sort();
    let mut expected = vec![joined, "a short second record".to_owned()];
    expected.sort();
    assert_eq!(reasons, expected);

    let log = dns.query_log();
    for qtype in ["A", "TXT"] {
        let transports: Vec<Transport> = log
            .iter()
            .filter(|q| q.qtype == qtype && q.name == "10.2.0.192.bl.test.")
            .map(|q| q.transport)
            .collect();
        assert_eq!(
            transports.first(),
            Some(&Transport::Udp),
            "{qtype}: UDP first"
        );
        assert!(
            transports.contains(&Transport::Tcp),
            "{qtype}: retried over TCP: {transports:?}"
        );
    }
}

#[tokio::test]
async fn a_truncated_answer_when_tcp_fails_is_a_failure_not_clean() {
    // The truncated UDP answer carries no records; if TCP then gives nothing, the list must
    // not look clean.
    let dns = TestDns::builder()
        .zone("bl.test")
        .on(
            "10.2.0.192.bl.test",
            "A",
            Behaviour::Truncate(Box::new(Behaviour::Drop)),
        )
        .on(
            "11.2.0.192.bl.test",
            "A",
            Behaviour::Truncate(Box::new(Behaviour::ServFail)),
        )
        .start()
        .await;
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .health_checks(false)
        .build_with(resolver(dns.addr, Duration::from_millis(400), 0))
        .unwrap();
    let report = checker.check("192.0.2.10".parse().unwrap()).await;
    assert_eq!(
        failure_kind(outcome(&report, "bl.test")),
        LookupErrorKind::Timeout
    );
    let report = checker.check("192.0.2.11".parse().unwrap()).await;
    assert_eq!(
        failure_kind(outcome(&report, "bl.test")),
        LookupErrorKind::ServFail
    );
}

// ---------------------------------------------------------------------------------------------
// A closed port
// ---------------------------------------------------------------------------------------------

/// A loopback port with nothing bound to it (UDP and TCP), as far as can be told.
fn closed_port() -> SocketAddr {
    for _ in 0..20 {
        let udp = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = udp.local_addr().unwrap();
        drop(udp);
        // Nothing listening on TCP either: a connect is refused.
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            return addr;
        }
    }
    panic!("no closed loopback port found");
}

/// A name server port with nothing behind it. The kernel answers each query with an ICMP port
/// unreachable, which both resolvers see on their connected sockets: the lookup fails at once
/// as a network error, not after its timeout, and never as an answer.
#[tokio::test]
async fn a_closed_port_fails_fast_and_never_answers() {
    let addr = closed_port();
    let timeout = Duration::from_millis(1500);
    let attempts = 1;
    let resolvers = [
        AnyResolver::from(resolver(addr, timeout, attempts)),
        AnyResolver::from(crate::support::pooled_resolver_at(addr, timeout, attempts)),
    ];
    for resolver in resolvers {
        let checker = Checker::builder()
            .list(ip_list("bl.test"))
            .list(DnsList::from_spec("dbl.test", ListKind::Domain).unwrap())
            .build_with(resolver)
            .unwrap();
        for target in ["192.0.2.10", "example.com"] {
            let started = Instant::now();
            let report = checker.check(target.parse().unwrap()).await;
            let elapsed = started.elapsed();
            let outcome = report
                .results
                .iter()
                .find(|result| !matches!(result.outcome, Outcome::Skipped(_)))
                .map(|result| &result.outcome)
                .unwrap();
            assert_eq!(
                failure_kind(outcome),
                LookupErrorKind::Network,
                "{report:?}"
            );
            assert!(!report.listed);
            // The health probe and then the lookup, both well within one timeout.
            assert!(elapsed < timeout, "{target}: took {elapsed:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Spoofed replies
// ---------------------------------------------------------------------------------------------

/// What a [`spoofing_server`] sends for each query it receives.
#[derive(Clone, Copy, Debug)]
enum Spoof {
    /// Right question and source, wrong message ID.
    WrongId,
    /// Right ID and source, another question.
    WrongQuestion,
    /// Right ID and question, from another port.
    WrongSource,
    /// Right ID and question, but sent as a query, not a response.
    NotAResponse,
    /// Bytes that are no DNS message, with the right ID in front.
    Garbage,
}

/// A code no honest answer in these tests carries.
const SPOOFED_CODE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 66);

/// A raw UDP server on 127.0.0.1 that answers every query first with each of `spoofs`, carrying
/// [`SPOOFED_CODE`], then, after `honest_after` (if given), with the true answer 127.0.0.2.
/// Returns its address and a log of the names it was asked.
async fn spoofing_server(
    spoofs: &'static [Spoof],
    honest_after: Option<Duration>,
) -> (
    SocketAddr,
    Arc<Mutex<Vec<String>>>,
    tokio::task::JoinHandle<()>,
) {
    let socket = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap());
    let addr = socket.local_addr().unwrap();
    let other = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let task_log = Arc::clone(&log);
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            let Some(question) = query.queries.first().cloned() else {
                continue;
            };
            task_log.lock().unwrap().push(question.name().to_ascii());
            let answer = |message: &mut Message, code: Ipv4Addr| {
                if question.query_type() == hickory_proto::rr::RecordType::A {
                    let name = message.queries[0].name().clone();
                    message.add_answer(Record::from_rdata(name, 60, RData::A(A(code))));
                }
            };
            for spoof in spoofs {
                let mut reply = query.clone().into_response();
                reply.metadata.authoritative = true;
                reply.metadata.response_code = ResponseCode::NoError;
                let mut from = &socket;
                match spoof {
                    Spoof::WrongId => reply.metadata.id = query.metadata.id.wrapping_add(1),
                    Spoof::WrongQuestion => {
                        reply.queries[0]
                            .set_name(Name::from_ascii("99.99.99.99.bl.test.").unwrap());
                    }
                    Spoof::WrongSource => from = &other,
                    Spoof::NotAResponse => reply.metadata.message_type = MessageType::Query,
                    Spoof::Garbage => {}
                }
                answer(&mut reply, SPOOFED_CODE);
                let bytes = match spoof {
                    Spoof::Garbage => {
                        let mut bytes = query.metadata.id.to_be_bytes().to_vec();
                        bytes.extend_from_slice(&[0xff; 40]);
                        bytes
                    }
                    _ => reply.to_vec().unwrap(),
                };
                let _ = from.send_to(&bytes, peer).await;
            }
            if let Some(delay) = honest_after {
                let socket = Arc::clone(&socket);
                let query = query.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let mut reply = query.into_response();
                    reply.metadata.authoritative = true;
                    let name = reply.queries[0].name().clone();
                    if reply.queries[0].query_type() == hickory_proto::rr::RecordType::A {
                        reply.add_answer(Record::from_rdata(
                            name,
                            60,
                            RData::A(A(Ipv4Addr::new(127, 0, 0, 2))),
                        ));
                    }
                    let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
                });
            }
        }
    });
    (addr, log, task)
}

const ALL_SPOOFS: &[Spoof] = &[
    Spoof::WrongId,
    Spoof::WrongQuestion,
    Spoof::WrongSource,
    Spoof::NotAResponse,
    Spoof::Garbage,
];

#[tokio::test]
async fn spoofed_replies_are_ignored_and_the_true_answer_is_taken() {
    for spoofs in [
        &[Spoof::WrongId][..],
        &[Spoof::WrongQuestion],
        &[Spoof::WrongSource],
        &[Spoof::WrongId, Spoof::WrongQuestion, Spoof::WrongSource],
    ] {
        let (addr, log, task) = spoofing_server(spoofs, Some(Duration::from_millis(100))).await;
        let checker = Checker::builder()
            .list(ip_list("bl.test"))
            .health_checks(false)
            .fetch_txt(false)
            .build_with(resolver(addr, Duration::from_secs(2), 0))
            .unwrap();
        let report = checker.check("192.0.2.10".parse().unwrap()).await;
        let Outcome::Listed(listing) = outcome(&report, "bl.test") else {
            panic!("{spoofs:?}: {report:?}")
        };
        assert_eq!(listing.codes, [ip("127.0.0.2")], "{spoofs:?}");
        assert!(
            log.lock()
                .unwrap()
                .contains(&"10.2.0.192.bl.test.".to_owned())
        );
        task.abort();
    }
}

/// A reply with the right ID and source that is no valid response (bytes that do not parse,
/// or a message flagged as a query) is not ignored by hickory: it ends the lookup with a
/// protocol error, even when the true answer follows. Whoever can spoof the ID and port can
/// so make a lookup fail, but never make it answer.
#[tokio::test]
async fn malformed_replies_before_the_true_answer_fail_the_lookup_never_answer_it() {
    for spoofs in [&[Spoof::Garbage][..], &[Spoof::NotAResponse]] {
        let (addr, _log, task) = spoofing_server(spoofs, Some(Duration::from_millis(100))).await;
        let checker = Checker::builder()
            .list(ip_list("bl.test"))
            .health_checks(false)
            .fetch_txt(false)
            .build_with(resolver(addr, Duration::from_secs(2), 1))
            .unwrap();
        let report = checker.check("192.0.2.10".parse().unwrap()).await;
        let outcome = outcome(&report, "bl.test");
        eprintln!("{spoofs:?} then the true answer: {outcome:?}");
        match outcome {
            Outcome::Listed(listing) => assert_eq!(listing.codes, [ip("127.0.0.2")]),
            Outcome::Failed(error) => assert_eq!(error.kind(), LookupErrorKind::Protocol),
            other => panic!("{spoofs:?}: {other:?}"),
        }
        task.abort();
    }
}

#[tokio::test]
async fn only_spoofed_replies_time_out_and_never_list() {
    let (addr, log, task) = spoofing_server(ALL_SPOOFS, None).await;
    let timeout = Duration::from_millis(500);
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .health_checks(false)
        .fetch_txt(false)
        .build_with(resolver(addr, timeout, 1))
        .unwrap();
    let started = Instant::now();
    let report = checker.check("192.0.2.10".parse().unwrap()).await;
    let elapsed = started.elapsed();
    let outcome = outcome(&report, "bl.test");
    assert!(!outcome.is_listed(), "{report:?}");
    assert_ne!(*outcome, Outcome::NotListed, "{report:?}");
    // The garbage and not-a-response replies may end the lookup early as a protocol error;
    // either way it is a failure, never an answer.
    let kind = failure_kind(outcome);
    assert!(
        matches!(kind, LookupErrorKind::Timeout | LookupErrorKind::Protocol),
        "{report:?}"
    );
    eprintln!("only spoofed replies: {kind:?} after {elapsed:?}");
    assert!(
        elapsed < timeout * 2 + Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert!(!log.lock().unwrap().is_empty());
    task.abort();
}

#[tokio::test]
async fn replies_that_only_fail_the_id_question_or_source_check_time_out() {
    let (addr, _log, task) = spoofing_server(
        &[Spoof::WrongId, Spoof::WrongQuestion, Spoof::WrongSource],
        None,
    )
    .await;
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .health_checks(false)
        .fetch_txt(false)
        .build_with(resolver(addr, Duration::from_millis(400), 0))
        .unwrap();
    let report = checker.check("192.0.2.10".parse().unwrap()).await;
    assert_eq!(
        failure_kind(outcome(&report, "bl.test")),
        LookupErrorKind::Timeout,
        "{report:?}"
    );
    task.abort();
}

// ---------------------------------------------------------------------------------------------
// Answers that are no listing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn mixed_answers_take_the_most_suspicious_reading() {
    let dns = TestDns::builder()
        .healthy_ip_zone("bl.test")
        // a listing beside an address outside 127/8
        .a("30.2.0.192.bl.test", &["127.0.0.2", "198.51.100.7"], 60)
        // an operator code beside a listing
        .a("31.2.0.192.bl.test", &["127.0.0.2", "127.255.255.254"], 60)
        // an address outside 127/8 beside an operator code
        .a(
            "32.2.0.192.bl.test",
            &["198.51.100.7", "127.255.255.255"],
            60,
        )
        // the list's own error code beside a listing
        .a("33.2.0.192.bl.test", &["127.0.0.4", "127.0.1.255"], 60)
        // a code the filter rejects beside one it accepts
        .a("34.2.0.192.bl.test", &["127.0.0.99", "127.0.0.3"], 60)
        // 0.0.0.0 (a sinkhole) and 127.0.0.1 together
        .a("35.2.0.192.bl.test", &["127.0.0.1", "0.0.0.0"], 60)
        // every target of these has a TXT record: it must only be fetched for listings
        .txt("30.2.0.192.bl.test", &["txt"], 60)
        .txt("31.2.0.192.bl.test", &["txt"], 60)
        .txt("32.2.0.192.bl.test", &["txt"], 60)
        .txt("33.2.0.192.bl.test", &["txt"], 60)
        .txt("34.2.0.192.bl.test", &["listed for a reason"], 60)
        .start()
        .await;
    let list = ip_list("bl.test=127.0.[0..1].[2..11]")
        .with_error_code("127.0.1.255".parse().unwrap(), "wrong query type");
    let checker = Checker::builder()
        .list(list)
        .build_with(resolver(dns.addr, Duration::from_millis(500), 1))
        .unwrap();

    let check = |target: &'static str| {
        let checker = checker.clone();
        async move { checker.check(target.parse().unwrap()).await }
    };

    let report = check("192.0.2.30").await;
    let Outcome::Invalid(invalid) = outcome(&report, "bl.test") else {
        panic!("{report:?}")
    };
    assert_eq!(invalid.codes, [ip("127.0.0.2"), ip("198.51.100.7")]);

    let report = check("192.0.2.31").await;
    let Outcome::ListError(error) = outcome(&report, "bl.test") else {
        panic!("{report:?}")
    };
    assert_eq!(error.codes, [ip("127.255.255.254")]);
    assert!(
        error.meaning.contains("public or open resolver"),
        "{error:?}"
    );

    let report = check("192.0.2.32").await;
    let Outcome::Invalid(invalid) = outcome(&report, "bl.test") else {
        panic!("{report:?}")
    };
    assert_eq!(invalid.codes, [ip("198.51.100.7"), ip("127.255.255.255")]);

    let report = check("192.0.2.33").await;
    let Outcome::ListError(error) = outcome(&report, "bl.test") else {
        panic!("{report:?}")
    };
    assert_eq!(error.codes, [ip("127.0.1.255")]);
    assert_eq!(error.meaning, "wrong query type");

    let report = check("192.0.2.34").await;
    let Outcome::Listed(listing) = outcome(&report, "bl.test") else {
        panic!("{report:?}")
    };
    assert_eq!(listing.codes, [ip("127.0.0.3")], "only codes that count");
    assert_eq!(listing.reasons, ["listed for a reason"]);

    let report = check("192.0.2.35").await;
    assert_eq!(outcome(&report, "bl.test").status(), "invalid");

    for target in [
        "192.0.2.30",
        "192.0.2.31",
        "192.0.2.32",
        "192.0.2.33",
        "192.0.2.35",
    ] {
        let report = check(target).await;
        assert!(!report.listed, "{target}");
        assert_eq!(report.score, 0, "{target}");
        assert!(report.has_trouble(), "{target}");
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["results"][0]["detail"].is_string(), "{json}");
    }
    // TXT was fetched for the listing only.
    let txt_names: Vec<String> = dns
        .queries()
        .into_iter()
        .filter(|(_, qtype)| qtype == "TXT")
        .map(|(name, _)| name)
        .collect();
    assert!(
        txt_names.iter().all(|name| name == "34.2.0.192.bl.test."),
        "{txt_names:?}"
    );
}

#[tokio::test]
async fn lists_that_answer_everything_are_skipped_or_reported_for_every_kind() {
    let v6_zone = "v6.test";
    let dns = TestDns::builder()
        // lists everything, with a listing code
        .wildcard_a("dead4.test", &["127.0.0.2"], 60)
        .wildcard_a(v6_zone, &["127.0.0.2"], 60)
        .wildcard_a("deaddomain.test", &["127.0.1.2"], 60)
        // lists everything, with several codes mixed
        .wildcard_a("deadmixed.test", &["127.0.0.2", "127.0.0.10"], 60)
        // answers everything with an address outside 127/8 (a parked domain)
        .wildcard_a("parked.test", &["198.51.100.80"], 60)
        // answers everything with a listing plus a parked address
        .wildcard_a("parkedmixed.test", &["127.0.0.2", "198.51.100.80"], 60)
        // answers everything with an operator code plus a listing
        .wildcard_a("ratelimited.test", &["127.0.0.2", "127.255.255.255"], 60)
        .start()
        .await;
    let lists = vec![
        DnsList::from_spec("dead4.test", ListKind::Ipv4).unwrap(),
        DnsList::from_spec(v6_zone, ListKind::Ipv6).unwrap(),
        DnsList::from_spec("deaddomain.test", ListKind::Domain).unwrap(),
        DnsList::from_spec("deadmixed.test", ListKind::Ipv4).unwrap(),
        DnsList::from_spec("parked.test", ListKind::Ipv4).unwrap(),
        DnsList::from_spec("parkedmixed.test", ListKind::Ipv4).unwrap(),
        DnsList::from_spec("ratelimited.test", ListKind::Ipv4).unwrap(),
    ];
    let checker = Checker::builder()
        .lists(lists)
        .build_with(resolver(dns.addr, Duration::from_millis(500), 1))
        .unwrap();
    let everything = Outcome::Skipped(SkipReason::Unhealthy(Unhealthy::ListsEverything));
    for target in ["192.0.2.1", "2001:db8::1", "example.com"] {
        let report = checker.check(target.parse().unwrap()).await;
        assert!(!report.listed, "{target}: {report:?}");
        assert_eq!(report.score, 0);
        for result in &report.results {
            let expected = match (result.zone.public_name(), target) {
                ("dead4.test" | "deadmixed.test", "192.0.2.1")
                | ("v6.test", "2001:db8::1")
                | ("deaddomain.test", "example.com") => everything.status(),
                ("parked.test" | "parkedmixed.test", "192.0.2.1") => "invalid",
                ("ratelimited.test", "192.0.2.1") => "list_error",
                _ => "skipped", // not applicable
            };
            assert_eq!(
                result.outcome.status(),
                expected,
                "{target} on {}: {:?}",
                result.list,
                result.outcome
            );
            if expected == "skipped" && !matches!(result.outcome, Outcome::NotListed) {
                assert!(!result.outcome.is_listed());
            }
        }
        assert_eq!(
            *outcome(&report, "dead4.test") == everything,
            target == "192.0.2.1"
        );
    }
    // No target was ever asked of a list that failed its probe.
    for (name, _) in dns.queries() {
        assert!(
            name.starts_with("2.0.0.127.")
                || name.starts_with("1.0.0.127.")
                || name.starts_with("test.")
                || name.starts_with("invalid.")
                || name.starts_with("2.0.0.0.0.0.f.7.f.f.f.f.")
                || name.starts_with("1.0.0.0.0.0.f.7.f.f.f.f.")
                // the 6to4 image of 127.0.0.2, asked with the IPv6 test point
                || name.contains(".2.0.0.0.0.0.f.7.2.0.0.2."),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// TXT oddities
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn txt_records_are_joined_decoded_lossily_and_optional() {
    let name = |n: u8| format!("{n}.2.0.192.bl.test");
    // "é" (C3 A9) and "€" (E2 82 AC) split between two character-strings.
    let split = vec![
        b"caf\xC3".to_vec(),
        b"\xA9 \xE2\x82".to_vec(),
        b"\xAC5".to_vec(),
    ];
    let many_strings: Vec<Vec<u8>> = (0..40).map(|i| format!("s{i:02};").into_bytes()).collect();
    let many_joined: String = (0..40).map(|i| format!("s{i:02};")).collect();
    let mut builder = TestDns::builder().zone("bl.test");
    for n in 40..=49 {
        builder = builder.a(&name(n), &["127.0.0.2"], 60);
    }
    let dns = builder
        // many strings in one record
        .txt_raw(&name(40), many_strings, 60)
        // strings of the maximum length, 255 bytes
        .txt_raw(&name(41), vec![vec![b'x'; 255], vec![b'y'; 255]], 60)
        // invalid UTF-8
        .txt_raw(&name(42), vec![b"bad \xFF\xFE byte".to_vec()], 60)
        // 43: listed, no TXT at all
        // multi-byte characters split across strings
        .txt_raw(&name(44), split, 60)
        // an empty string, and a record made of one empty string
        .txt_raw(&name(45), vec![b"".to_vec(), b"after empty".to_vec()], 60)
        .txt_raw(&name(45), vec![b"".to_vec()], 60)
        // many records
        .txt(&name(46), &["r0"], 60)
        .txt(&name(46), &["r1"], 60)
        .txt(&name(46), &["r2"], 60)
        .txt(&name(46), &["r3"], 60)
        .txt(&name(46), &["r4"], 60)
        // TXT lookup fails: the listing stands without reasons
        .on(&name(47), "TXT", Behaviour::ServFail)
        .on(&name(48), "TXT", Behaviour::Drop)
        // NUL and control bytes come through as they are
        .txt_raw(&name(49), vec![b"nul\0tab\tend".to_vec()], 60)
        .start()
        .await;
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .health_checks(false)
        .deadline(Duration::from_secs(5))
        .build_with(resolver(dns.addr, Duration::from_millis(300), 0))
        .unwrap();
    let reasons = |n: u8| {
        let checker = checker.clone();
        async move {
            let report = checker.check(format!("192.0.2.{n}").parse().unwrap()).await;
            let Outcome::Listed(listing) = &report.results[0].outcome else {
                panic!("{n}: {report:?}")
            };
            let mut reasons = listing.reasons.clone();
            reasons.sort();
            reasons
        }
    };
    assert_eq!(reasons(40).await, [many_joined]);
    assert_eq!(
        reasons(41).await,
        ["x".repeat(255) + &"y".repeat(255)],
        "255-byte strings"
    );
    assert_eq!(reasons(42).await, ["bad \u{FFFD}\u{FFFD} byte"]);
    assert!(reasons(43).await.is_empty(), "listed without TXT");
    assert_eq!(reasons(44).await, ["café €5"]);
    assert_eq!(reasons(45).await, ["", "after empty"]);
    assert_eq!(reasons(46).await, ["r0", "r1", "r2", "r3", "r4"]);
    assert!(reasons(47).await.is_empty(), "TXT SERVFAIL");
    let started = Instant::now();
    assert!(reasons(48).await.is_empty(), "TXT timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(reasons(49).await, ["nul\0tab\tend"]);
}

// ---------------------------------------------------------------------------------------------
// Nothing lost when some lookups time out
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_gets_one_report_when_some_queries_time_out() {
    // 10.0.0.0 - 10.0.7.255 (2048 targets); every 16th name is dropped, 10.0.3.0/24 is listed.
    let mut builder = TestDns::builder().healthy_ip_zone("bl.test").wildcard_a(
        "3.0.10.bl.test",
        &["127.0.0.2"],
        60,
    );
    let dropped = |n: u32| n % 16 == 5;
    for n in (0u32..2048).filter(|n| dropped(*n)) {
        let [_, _, c, d] = (u32::from(Ipv4Addr::new(10, 0, 0, 0)) + n).to_be_bytes();
        builder = builder.on(&format!("{d}.{c}.0.10.bl.test"), "*", Behaviour::Drop);
    }
    let dns = builder.start().await;
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .fetch_txt(false)
        .max_queries_in_flight(256)
        .build_with(resolver(dns.addr, Duration::from_millis(300), 0))
        .unwrap();
    let spec: dnsbl_check::TargetSpec = "10.0.0.0/21".parse().unwrap();
    let mut seen = vec![false; 2048];
    let mut reports = std::pin::pin!(checker.check_iter(spec));
    let mut count = 0;
    let mut timeouts = 0;
    use futures::StreamExt;
    while let Some(report) = reports.next().await {
        count += 1;
        let dnsbl_check::Target::Ip(std::net::IpAddr::V4(addr)) = report.target else {
            panic!("{report:?}")
        };
        let n = (u32::from(addr) - u32::from(Ipv4Addr::new(10, 0, 0, 0))) as usize;
        assert!(!seen[n], "{addr} reported twice");
        seen[n] = true;
        let outcome = &report.results[0].outcome;
        if dropped(n as u32) {
            assert_eq!(failure_kind(outcome), LookupErrorKind::Timeout, "{addr}");
            timeouts += 1;
        } else if addr.octets()[2] == 3 {
            assert!(outcome.is_listed(), "{addr}: {outcome:?}");
        } else {
            assert_eq!(*outcome, Outcome::NotListed, "{addr}");
        }
    }
    assert_eq!(count, 2048);
    assert!(seen.iter().all(|s| *s));
    assert_eq!(timeouts, 128);
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

/// An address written as an absolute name (`127.0.0.2.`, as in zone files and some logs) is the
/// address: were it taken for a domain, every IP list would skip it as not applicable, and a
/// listed address would pass as clean without any trouble shown.
#[tokio::test]
async fn an_address_with_a_trailing_dot_is_checked_as_that_address() {
    let dns = TestDns::builder()
        .healthy_ip_zone("bl.test")
        .a("10.2.0.192.bl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .list(DnsList::from_spec("dbl.test", ListKind::Domain).unwrap())
        .fetch_txt(false)
        .build_with(resolver(dns.addr, Duration::from_millis(500), 1))
        .unwrap();
    for text in ["192.0.2.10.", " 192.0.2.10. "] {
        let target: dnsbl_check::Target = text.parse().unwrap();
        assert_eq!(target.to_string(), "192.0.2.10", "{text:?}");
        let report = checker.check(target).await;
        assert!(report.listed, "{text:?}: {report:?}");
        assert!(outcome(&report, "bl.test").is_listed());
    }
    for bad in ["999.1.1.1.", "192.0.2.10..", "::1."] {
        let error = bad.parse::<dnsbl_check::Target>().unwrap_err();
        assert_eq!(error.input(), bad);
    }
}
