//! Hostile networks: forged ICMP errors, dead name servers and answers that do not belong to
//! the question never cost a true answer, on both transports.
//!
//! Every packet goes to servers on 127.0.0.1 that the test itself starts; the forged ICMP comes
//! from a raw socket on loopback (root only).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Behaviour, TestDns};
use crate::transport_pool::RawServer;
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::{Answer, DnsResolver, LookupErrorKind, NameServer};
use futures::StreamExt;
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record};

fn listed() -> Answer<Ipv4Addr> {
    Answer::Records {
        records: vec![Ipv4Addr::new(127, 0, 0, 2)],
        ttl: 60,
    }
}

/// Both transports, asking `servers` in order.
fn both_transports(servers: &[SocketAddr], timeout: Duration, attempts: usize) -> [AnyResolver; 2] {
    let hickory = dnsbl_check::HickoryResolver::builder()
        .name_servers(servers.iter().map(|s| NameServer::new(*s)))
        .timeout(timeout)
        .retries(attempts)
        .build()
        .unwrap();
    let pooled = PooledUdpResolver::builder()
        .name_servers(servers.iter().map(|s| NameServer::new(*s)))
        .timeout(timeout)
        .retries(attempts)
        .build()
        .unwrap();
    [AnyResolver::from(hickory), AnyResolver::from(pooled)]
}

/// Looks up `count` names under `bl.test`, `concurrency` at a time.
async fn scan(
    resolver: &AnyResolver,
    count: usize,
    concurrency: usize,
) -> Vec<Result<Answer<Ipv4Addr>, dnsbl_check::LookupError>> {
    futures::stream::iter(0..count)
        .map(|n| async move {
            let name = format!("{}.{}.0.10.bl.test.", n % 256, n / 256);
            resolver.lookup_a(&name).await
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

// ---------------------------------------------------------------------------------------------
// Forged ICMP
// ---------------------------------------------------------------------------------------------

/// The Internet checksum (RFC 1071).
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP port unreachable quoting a UDP datagram from 127.0.0.1:`client` to 127.0.0.1:`server`,
/// as the server's host would send it.
fn port_unreachable(client: u16, server: u16) -> Vec<u8> {
    let mut quoted = vec![0u8; 28];
    quoted[0] = 0x45; // IPv4, 20-octet header
    quoted[2..4].copy_from_slice(&68u16.to_be_bytes()); // as if it carried 40 octets of DNS
    quoted[8] = 64; // TTL
    quoted[9] = 17; // UDP
    quoted[12..16].copy_from_slice(&[127, 0, 0, 1]);
    quoted[16..20].copy_from_slice(&[127, 0, 0, 1]);
    let header_sum = checksum(&quoted[..20]);
    quoted[10..12].copy_from_slice(&header_sum.to_be_bytes());
    quoted[20..22].copy_from_slice(&client.to_be_bytes());
    quoted[22..24].copy_from_slice(&server.to_be_bytes());
    quoted[24..26].copy_from_slice(&48u16.to_be_bytes());
    let mut icmp = vec![3u8, 3, 0, 0, 0, 0, 0, 0]; // destination unreachable, port unreachable
    icmp.extend_from_slice(&quoted);
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    icmp
}

/// The local ports of every IPv4 UDP socket connected to 127.0.0.1:`server`: what an off-path
/// attacker learns by sweeping, here read from the kernel at once.
fn ports_connected_to(server: u16) -> Vec<u16> {
    let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let remote = format!("0100007F:{server:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let local = fields.next()?;
            (fields.next()? == remote)
                .then(|| u16::from_str_radix(local.split(':').nth(1)?, 16).ok())
                .flatten()
        })
        .collect()
}

/// A raw ICMP socket; sends forged port-unreachable errors until `stop` is set. Returns how
/// many it sent.
fn forge_icmp_until(server: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        // SAFETY: plain socket calls on a descriptor this function owns; the buffers outlive
        // the calls.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        let destination = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) {
            for port in ports_connected_to(server) {
                let packet = port_unreachable(port, server);
                let result = unsafe {
                    libc::sendto(
                        fd,
                        packet.as_ptr().cast(),
                        packet.len(),
                        0,
                        (&raw const destination).cast(),
                        size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    )
                };
                if result > 0 {
                    sent += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        unsafe { libc::close(fd) };
        sent
    })
}

/// A scan against a server that answers after 300 ms, while ICMP port unreachable errors for
/// every client port are sent from a raw socket. Every lookup still gets
/// its true answer, on both transports. A socket of the test's own, connected to the same
/// server, shows that the forged errors do reach the sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn forged_icmp_never_fails_a_query() {
    let dns = TestDns::builder()
        .zone("bl.test")
        .on(
            "*.bl.test",
            "*",
            Behaviour::Delay(
                Duration::from_millis(300),
                Box::new(Behaviour::A(vec![Ipv4Addr::new(127, 0, 0, 2)], 60)),
            ),
        )
        .start()
        .await;
    let mut failures = Vec::new();
    for resolver in both_transports(&[dns.addr], Duration::from_secs(3), 0) {
        let canary = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        canary.connect(dns.addr).unwrap();
        canary
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let forger = forge_icmp_until(dns.addr.port(), Arc::clone(&stop));
        // 100 at a time: a burst of 500 queries from a few sockets overflows the server's
        // receive buffer on a busy machine, and loses queries before any ICMP is forged.
        let results = scan(&resolver, 600, 100).await;
        stop.store(true, Ordering::Relaxed);
        let forged = forger.join().unwrap();
        let canary_error = canary.recv(&mut [0u8; 512]).unwrap_err();
        assert_eq!(
            canary_error.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "the forged ICMP did not reach a connected socket"
        );
        assert!(forged > 0);
        let wrong: Vec<_> = results.iter().filter(|r| **r != Ok(listed())).collect();
        if !wrong.is_empty() {
            failures.push(format!(
                "{resolver:?}: {} of 600 without their answer after {forged} forged ICMP \
                 errors, e.g. {:?}; {:?}",
                wrong.len(),
                wrong[0],
                match &resolver {
                    AnyResolver::Pooled(pooled) => Some(pooled.stats()),
                    _ => None,
                }
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A closed port is still told at once: the ICMP hint is confirmed over TCP.
#[tokio::test]
async fn a_closed_port_is_confirmed_and_fails_fast() {
    let closed = {
        let socket = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket.local_addr().unwrap()
    };
    for resolver in both_transports(&[closed], Duration::from_secs(5), 1) {
        let started = Instant::now();
        let error = resolver.lookup_a("2.0.0.127.bl.test.").await.unwrap_err();
        assert_eq!(error.kind(), LookupErrorKind::Network, "{resolver:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{resolver:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// A dead name server
// ---------------------------------------------------------------------------------------------

/// A UDP port that takes every query and never answers (a black hole, not a closed port).
fn black_hole() -> std::net::UdpSocket {
    std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap()
}

async fn good_server() -> TestDns {
    TestDns::builder()
        .zone("bl.test")
        .wildcard_a("bl.test", &["127.0.0.2"], 60)
        .start()
        .await
}

/// With a dead server first, each transport pays one timeout per query in flight when the
/// scan begins, and one per probe after (back-off of 1 s, 2 s, ...): a few timeouts for the
/// whole scan, not one per query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_first_server_costs_a_few_timeouts_per_scan() {
    let dead = black_hole();
    let good = good_server().await;
    let timeout = Duration::from_millis(400);
    let concurrency = 20;
    let servers = [dead.local_addr().unwrap(), good.addr];
    let [hickory, pooled] = both_transports(&servers, timeout, 1);
    let started = Instant::now();
    let results = scan(&pooled, 3000, concurrency).await;
    let elapsed = started.elapsed();
    assert!(results.iter().all(|r| *r == Ok(listed())));
    let AnyResolver::Pooled(resolver) = &pooled else {
        unreachable!()
    };
    let timeouts = resolver.stats().timeouts;
    // The first `concurrency` queries, plus at most one probe per second of scan.
    let probes = elapsed.as_secs() + 2;
    assert!(
        timeouts <= concurrency as u64 + probes,
        "{timeouts} timeouts in {elapsed:?}"
    );
    assert!(timeouts >= 1, "the dead server was never asked");

    // The stock transport counts no timeouts: its time shows them. The first queries in
    // flight wait one timeout together, then at most one probe per second of scan waits one
    // (one after another at worst). A timeout per query would be 3000 / 20 of them in a row.
    let started = Instant::now();
    let results = scan(&hickory, 3000, concurrency).await;
    let elapsed = started.elapsed();
    assert!(results.iter().all(|r| *r == Ok(listed())));
    let probes = elapsed.as_secs() as u32 + 2;
    assert!(
        elapsed < timeout * (1 + probes) + Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert!(
        elapsed >= timeout,
        "the dead server was never asked: {elapsed:?}"
    );
}

/// SERVFAIL or REFUSED from one server while another is configured: the other one answers,
/// every time, on both transports (hickory-resolver 0.26 itself ends a lookup at the first
/// SERVFAIL or REFUSED from whichever server it asked).
#[tokio::test]
async fn servfail_and_refused_from_one_server_fail_over_to_the_next() {
    let good = good_server().await;
    for behaviour in [Behaviour::ServFail, Behaviour::Refused] {
        let bad = TestDns::builder()
            .zone("bl.test")
            .on("*.bl.test", "*", behaviour.clone())
            .start()
            .await;
        for resolver in both_transports(&[bad.addr, good.addr], Duration::from_secs(2), 0) {
            let results = scan(&resolver, 200, 10).await;
            assert_eq!(results.len(), 200);
            for result in results {
                assert_eq!(result, Ok(listed()), "{resolver:?}: {behaviour:?}");
            }
        }
        // Alone, the bad server's answer is the failure.
        for alone in both_transports(&[bad.addr], Duration::from_secs(2), 0) {
            let error = alone.lookup_a("2.0.0.10.bl.test.").await.unwrap_err();
            assert!(
                matches!(
                    error.kind(),
                    LookupErrorKind::ServFail | LookupErrorKind::Refused
                ),
                "{alone:?}: {error}"
            );
        }
    }
}

/// A server that answers NXDOMAIN first: the answer is final, the next server is not asked
/// (it would list the name).
#[tokio::test]
async fn nxdomain_from_the_first_server_is_final() {
    let good = good_server().await;
    let empty = TestDns::builder().zone("bl.test").start().await;
    for resolver in both_transports(&[empty.addr, good.addr], Duration::from_secs(2), 1) {
        let answer = resolver.lookup_a("2.0.0.10.bl.test.").await;
        assert!(
            matches!(answer, Ok(Answer::NoRecords { nxdomain: true, .. })),
            "{resolver:?}: {answer:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Answers that do not belong to the question
// ---------------------------------------------------------------------------------------------

/// A raw server answering every A query with `answers` and `authorities` (owners given
/// relative to nothing: absolute names), NOERROR or NXDOMAIN as `rcode` says.
async fn lying_server(
    rcode: ResponseCode,
    answers: Vec<(&'static str, u32)>,
    authorities: Vec<Soa>,
) -> RawServer {
    RawServer::start(Box::new(move |query: &Message| {
        let mut response = Message::response(query.metadata.id, OpCode::Query);
        response.metadata.response_code = rcode;
        response.add_query(query.queries[0].clone());
        for (owner, ttl) in &answers {
            let owner = if *owner == "QNAME" {
                query.queries[0].name().clone()
            } else {
                Name::from_ascii(owner).unwrap()
            };
            response.add_answer(Record::from_rdata(
                owner,
                *ttl,
                RData::A(A::new(127, 0, 0, 2)),
            ));
        }
        for (zone, ttl, minimum) in &authorities {
            let zone = Name::from_ascii(zone).unwrap();
            let soa = SOA::new(zone.clone(), zone.clone(), 1, 2, 3, 4, *minimum);
            response.add_authority(Record::from_rdata(zone, *ttl, RData::SOA(soa)));
        }
        vec![response]
    }))
    .await
}

const QNAME: &str = "2.0.0.10.bl.test.";

/// An SOA in the authority section: owner (the zone), record TTL, MINIMUM.
type Soa = (&'static str, u32, u32);

/// An A record owned by another name is never a listing, on both transports: left out, so
/// that an answer with only that is no records (as hickory itself reads it); beside one of
/// the question's own, only the question's counts.
#[tokio::test]
async fn a_record_owned_by_another_name_never_lists() {
    let other = lying_server(
        ResponseCode::NoError,
        vec![("3.0.0.10.bl.test.", 60)],
        vec![],
    )
    .await;
    for resolver in both_transports(&[other.addr], Duration::from_secs(2), 0) {
        assert_eq!(
            resolver.lookup_a(QNAME).await,
            Ok(Answer::NoRecords {
                nxdomain: false,
                negative_ttl: None
            }),
            "{resolver:?}"
        );
    }
    let mixed = lying_server(
        ResponseCode::NoError,
        vec![("evil.test.", 1), ("QNAME", 60)],
        vec![],
    )
    .await;
    for resolver in both_transports(&[mixed.addr], Duration::from_secs(2), 0) {
        assert_eq!(resolver.lookup_a(QNAME).await, Ok(listed()), "{resolver:?}");
    }
}

fn negative_ttl(answer: Result<Answer<Ipv4Addr>, dnsbl_check::LookupError>) -> Option<u32> {
    match answer {
        Ok(Answer::NoRecords { negative_ttl, .. }) => negative_ttl,
        other => panic!("expected no records, got {other:?}"),
    }
}

/// The negative TTL comes only from an SOA whose owner is the question name or an ancestor,
/// and TTLs of 2^31 or more count as 0 (RFC 2181 §8), on both transports.
#[tokio::test]
async fn negative_ttls_come_from_the_zones_soa_and_huge_ttls_are_zero() {
    let cases: [(Vec<Soa>, Option<u32>); 6] = [
        (vec![("bl.test.", 90, 30)], Some(30)),
        (vec![("test.", 20, 30)], Some(20)),
        (vec![("other.test.", 90, 30)], None),
        (vec![("bl.test.", 1 << 31, 30)], Some(0)),
        (vec![("bl.test.", 90, u32::MAX)], Some(0)),
        (
            vec![("bl.test.", (1 << 31) - 1, (1 << 31) - 1)],
            Some((1 << 31) - 1),
        ),
    ];
    for (authority, expected) in cases {
        let server = lying_server(ResponseCode::NXDomain, vec![], authority.clone()).await;
        for resolver in both_transports(&[server.addr], Duration::from_secs(2), 0) {
            assert_eq!(
                negative_ttl(resolver.lookup_a(QNAME).await),
                expected,
                "{resolver:?}: {authority:?}"
            );
        }
    }
    let huge = lying_server(ResponseCode::NoError, vec![("QNAME", u32::MAX)], vec![]).await;
    for resolver in both_transports(&[huge.addr], Duration::from_secs(2), 0) {
        assert_eq!(
            resolver.lookup_a(QNAME).await,
            Ok(Answer::Records {
                records: vec![Ipv4Addr::new(127, 0, 0, 2)],
                ttl: 0
            }),
            "{resolver:?}"
        );
    }
}

/// A record of another class (CH) in an answer to an IN question: hickory-resolver rejects
/// such a response whole, and the pooled transport reads it alike, as a protocol error, with
/// or without an IN record beside it: never "not listed", and the same on both transports.
#[tokio::test]
async fn a_record_of_another_class_fails_alike_on_both_transports() {
    use hickory_proto::rr::DNSClass;
    let server = |with_in: bool, section: u8| {
        RawServer::start(Box::new(move |query: &Message| {
            let mut response = Message::response(query.metadata.id, OpCode::Query);
            response.add_query(query.queries[0].clone());
            let qname = query.queries[0].name().clone();
            let mut chaos = Record::from_rdata(qname.clone(), 60, RData::A(A::new(127, 0, 0, 4)));
            chaos.dns_class = DNSClass::CH;
            match section {
                0 => response.add_answer(chaos),
                _ => response.add_additional(chaos),
            };
            if with_in {
                response.add_answer(Record::from_rdata(
                    qname,
                    60,
                    RData::A(A::new(127, 0, 0, 2)),
                ));
            }
            vec![response]
        }))
    };
    for (with_in, section) in [(false, 0), (true, 0), (true, 1)] {
        let server = server(with_in, section).await;
        for resolver in both_transports(&[server.addr], Duration::from_secs(2), 0) {
            let error = resolver.lookup_a(QNAME).await.unwrap_err();
            assert_eq!(error.kind(), LookupErrorKind::Protocol, "{resolver:?}");
            assert_eq!(
                error.to_string(),
                "protocol error: record of a class other than IN in the response",
                "{resolver:?}"
            );
        }
    }
}

/// A CNAME out of the zone without the record it points to (a dangling chain): no answer, so
/// NODATA on both transports alike, and the check reads it as `no_data` trouble, never as
/// "not listed". The server answers so for every name but the positive test point, the
/// negative one included.
#[tokio::test]
async fn a_dangling_cname_is_nodata_alike_and_never_clean() {
    use dnsbl_check::{Checker, DnsList, ListKind, Outcome};
    use hickory_proto::rr::rdata::CNAME;
    let server = RawServer::start(Box::new(|query: &Message| {
        let mut response = Message::response(query.metadata.id, OpCode::Query);
        response.add_query(query.queries[0].clone());
        let qname = query.queries[0].name().clone();
        if !qname.to_ascii().starts_with("2.0.0.127.") {
            let target = Name::from_ascii("elsewhere.example.").unwrap();
            response.add_answer(Record::from_rdata(qname, 60, RData::CNAME(CNAME(target))));
        } else {
            response.add_answer(Record::from_rdata(
                qname,
                60,
                RData::A(A::new(127, 0, 0, 2)),
            ));
        }
        vec![response]
    }))
    .await;
    for resolver in both_transports(&[server.addr], Duration::from_secs(2), 0) {
        let answer = resolver.lookup_a(QNAME).await;
        assert!(
            matches!(
                answer,
                Ok(Answer::NoRecords {
                    nxdomain: false,
                    ..
                })
            ),
            "{resolver:?}: {answer:?}"
        );
        let checker = Checker::builder()
            .list(DnsList::from_spec("bl.test", ListKind::Ipv4).unwrap())
            .build_with(resolver)
            .unwrap();
        let report = checker.check("10.0.0.2".parse().unwrap()).await;
        assert_eq!(report.results[0].outcome, Outcome::NoData, "{report:?}");
        assert!(report.has_trouble());
        // NODATA at the negative test point (127.0.0.1) is not a listing: the list is judged
        // by its positive point, healthy here, and its targets' NODATA stays trouble.
        assert_eq!(checker.stats()[0].health, dnsbl_check::ListHealth::Healthy);
    }
}
