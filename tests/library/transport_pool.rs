//! The pooled UDP transport's own guarantees, against raw UDP servers written here: answers
//! are matched on ID and question, sockets are reused and rotated, dropped lookups free their
//! slots, and unreachable servers fail fast.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dnsbl_check::resolver::pooled::{PooledUdpResolver, PooledUdpResolverBuilder};
use dnsbl_check::{Answer, DnsResolver, LookupErrorKind, NameServer};
use futures::StreamExt;
use hickory_proto::op::{Message, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record};
use tokio::net::UdpSocket;

/// What a raw server sends back for one query: any number of datagrams.
pub(crate) type Respond = dyn Fn(&Message) -> Vec<Message> + Send + Sync;

/// A UDP server on 127.0.0.1 that answers with whatever `respond` makes, and records the
/// source address and question name of every query.
pub(crate) struct RawServer {
    pub(crate) addr: SocketAddr,
    seen: Arc<Mutex<Vec<(SocketAddr, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    pub(crate) async fn start(respond: Box<Respond>) -> RawServer {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = socket.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, from)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                let name = query.queries[0].name().to_ascii();
                log.lock().unwrap().push((from, name));
                for response in respond(&query) {
                    let _ = socket.send_to(&response.to_vec().unwrap(), from).await;
                }
            }
        });
        RawServer { addr, seen, task }
    }

    fn ports(&self) -> HashSet<u16> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(a, _)| a.port())
            .collect()
    }

    fn names(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, n)| n.clone())
            .collect()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response to `query` for `name` (echoed as given) with one A record.
fn answer(query: &Message, id: u16, name: &Name, code: Ipv4Addr) -> Message {
    let mut response = Message::response(id, OpCode::Query);
    response.add_query(Query::query(name.clone(), query.queries[0].query_type()));
    response.add_answer(Record::from_rdata(
        name.clone(),
        60,
        RData::A(A::from(code)),
    ));
    response
}

/// Answers every query with 127.0.0.2, echoing the question as received.
fn echo_listed() -> Box<Respond> {
    Box::new(|query| {
        let name = query.queries[0].name().clone();
        vec![answer(
            query,
            query.metadata.id,
            &name,
            Ipv4Addr::new(127, 0, 0, 2),
        )]
    })
}

fn builder(server: &RawServer) -> PooledUdpResolverBuilder {
    PooledUdpResolver::builder()
        .name_server(NameServer::new(server.addr))
        .timeout(Duration::from_secs(2))
        .retries(0)
}

fn listed(code: [u8; 4]) -> Answer<Ipv4Addr> {
    Answer::Records {
        records: vec![Ipv4Addr::from(code)],
        ttl: 60,
    }
}

#[tokio::test]
async fn answers_with_a_wrong_id_or_question_are_ignored() {
    // Before the real answer: one under another ID, one for another name, one for another
    // type, and one whose name differs only in case (a server that does not preserve case, or
    // a forger who guessed the name but not its 0x20 case).
    let server = RawServer::start(Box::new(|query| {
        let id = query.metadata.id;
        let name = query.queries[0].name().clone();
        let other = Name::from_ascii("9.9.9.9.bl.test.").unwrap();
        // Every letter's case flipped: differs from the query whatever case it was sent in.
        let swapped: String = name
            .to_ascii()
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        let swapped = Name::from_ascii(swapped).unwrap();
        let mut wrong_type = answer(query, id, &name, Ipv4Addr::new(127, 0, 0, 69));
        wrong_type.queries[0].set_query_type(hickory_proto::rr::RecordType::AAAA);
        vec![
            answer(
                query,
                id.wrapping_add(1),
                &name,
                Ipv4Addr::new(127, 0, 0, 66),
            ),
            answer(query, id, &other, Ipv4Addr::new(127, 0, 0, 77)),
            wrong_type,
            answer(query, id, &swapped, Ipv4Addr::new(127, 0, 0, 88)),
            answer(query, id, &name, Ipv4Addr::new(127, 0, 0, 2)),
        ]
    }))
    .await;
    let resolver = builder(&server).build().unwrap();
    for _ in 0..20 {
        let answer = resolver.lookup_a("10.2.0.192.BL.test.").await;
        assert_eq!(answer, Ok(listed([127, 0, 0, 2])));
    }
    let stats = resolver.stats();
    assert_eq!(stats.answers_accepted, 20);
    assert!(stats.replies_unmatched >= 60, "{stats:?}");
    assert_eq!(stats.replies_case_mismatch, 20, "{stats:?}");
    let mixed_case = server
        .names()
        .iter()
        .filter(|n| n.to_ascii_lowercase() != **n)
        .count();
    assert!(
        mixed_case >= 15,
        "0x20 case was randomised: {:?}",
        server.names()
    );
}

#[tokio::test]
async fn without_0x20_names_go_out_as_given_and_match_in_any_case() {
    let server = RawServer::start(Box::new(|query| {
        let name = query.queries[0].name().clone();
        let upper = Name::from_ascii(name.to_ascii().to_ascii_uppercase()).unwrap();
        vec![answer(
            query,
            query.metadata.id,
            &upper,
            Ipv4Addr::new(127, 0, 0, 3),
        )]
    }))
    .await;
    let resolver = builder(&server).case_randomization(false).build().unwrap();
    let answer = resolver.lookup_a("10.2.0.192.bl.test.").await;
    assert_eq!(answer, Ok(listed([127, 0, 0, 3])));
    assert_eq!(server.names(), ["10.2.0.192.bl.test."]);
}

async fn run_queries(resolver: &PooledUdpResolver, count: usize, concurrency: usize) {
    let names: Vec<String> = (0..count)
        .map(|i| format!("{}.{}.2.0.bl.test.", i % 256, i / 256))
        .collect();
    let results: Vec<_> = futures::stream::iter(&names)
        .map(|name| resolver.lookup_a(name))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    assert!(results.iter().all(|r| *r == Ok(listed([127, 0, 0, 2]))));
}

#[tokio::test]
async fn the_pool_reuses_its_sockets() {
    let server = RawServer::start(echo_listed()).await;
    let resolver = builder(&server).sockets_per_server(4).build().unwrap();
    run_queries(&resolver, 1000, 64).await;
    let ports = server.ports();
    assert!(ports.len() <= 4, "{} source ports: {ports:?}", ports.len());
    assert_eq!(resolver.stats().sockets_opened, ports.len() as u64);
    assert_eq!(resolver.stats().queries_sent, 1000);
}

#[tokio::test]
async fn sockets_are_rotated_after_a_number_of_queries() {
    let server = RawServer::start(echo_listed()).await;
    let resolver = builder(&server)
        .sockets_per_server(4)
        .rotate_after_queries(100)
        .build()
        .unwrap();
    run_queries(&resolver, 1000, 64).await;
    let ports = server.ports().len();
    // 1000 queries, 100 per socket: about 10 sockets (a few more: rotation is per socket).
    assert!((10..=16).contains(&ports), "{ports} source ports");
    assert_eq!(resolver.stats().in_flight, 0);
}

#[tokio::test]
async fn sockets_are_rotated_after_a_time() {
    let server = RawServer::start(echo_listed()).await;
    let resolver = builder(&server)
        .sockets_per_server(2)
        .rotate_after(Duration::from_millis(100))
        .build()
        .unwrap();
    run_queries(&resolver, 50, 8).await;
    let before = server.ports();
    assert!(before.len() <= 2);
    tokio::time::sleep(Duration::from_millis(150)).await;
    run_queries(&resolver, 50, 8).await;
    let after = server.ports();
    assert!(after.len() > before.len(), "{before:?} then {after:?}");
}

#[tokio::test]
async fn a_dropped_lookup_frees_its_slot() {
    // A server that never answers.
    let server = RawServer::start(Box::new(|_| Vec::new())).await;
    let resolver = builder(&server)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for i in 0..100 {
        let name = format!("{i}.2.0.192.bl.test.");
        let lookup = resolver.lookup_a(&name);
        assert!(
            tokio::time::timeout(Duration::from_millis(2), lookup)
                .await
                .is_err()
        );
    }
    let stats = resolver.stats();
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    assert_eq!(stats.queries_sent, 100);
    // Timeouts are retried, then reported as such.
    let resolver = builder(&server)
        .timeout(Duration::from_millis(50))
        .retries(2)
        .build()
        .unwrap();
    let error = resolver.lookup_a("1.bl.test.").await.unwrap_err();
    assert_eq!(error.kind(), LookupErrorKind::Timeout);
    assert_eq!(resolver.stats().queries_sent, 3);
    assert_eq!(resolver.stats().in_flight, 0);
}

/// A loopback UDP port where nothing listens (bound, then closed again).
fn closed_port() -> SocketAddr {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.local_addr().unwrap()
}

#[tokio::test]
async fn an_unreachable_server_fails_fast() {
    let resolver = PooledUdpResolver::builder()
        .name_server(NameServer::new(closed_port()))
        .timeout(Duration::from_secs(5))
        .retries(2)
        .build()
        .unwrap();
    let started = Instant::now();
    let error = resolver.lookup_a("2.0.0.127.bl.test.").await.unwrap_err();
    assert_eq!(error.kind(), LookupErrorKind::Network, "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_next_server_is_asked_when_one_fails() {
    let good = RawServer::start(echo_listed()).await;
    let silent = RawServer::start(Box::new(|_| Vec::new())).await;
    // Unreachable first: moves on at once.
    let resolver = PooledUdpResolver::builder()
        .name_servers([NameServer::new(closed_port()), NameServer::new(good.addr)])
        .timeout(Duration::from_secs(5))
        .retries(1)
        .build()
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        resolver.lookup_a("1.bl.test.").await,
        Ok(listed([127, 0, 0, 2]))
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    // Silent first: moves on after the timeout.
    let resolver = PooledUdpResolver::builder()
        .name_servers([NameServer::new(silent.addr), NameServer::new(good.addr)])
        .timeout(Duration::from_millis(100))
        .retries(1)
        .build()
        .unwrap();
    assert_eq!(
        resolver.lookup_a("2.bl.test.").await,
        Ok(listed([127, 0, 0, 2]))
    );
    // Round robin spreads queries over both servers.
    let other = RawServer::start(echo_listed()).await;
    let resolver = PooledUdpResolver::builder()
        .name_servers([NameServer::new(good.addr), NameServer::new(other.addr)])
        .round_robin(true)
        .build()
        .unwrap();
    let before = (good.names().len(), other.names().len());
    run_queries(&resolver, 10, 1).await;
    assert_eq!(good.names().len() - before.0, 5);
    assert_eq!(other.names().len() - before.1, 5);
}

#[tokio::test]
async fn names_are_never_completed_with_a_search_domain() {
    let server = RawServer::start(echo_listed()).await;
    let resolver = builder(&server).case_randomization(false).build().unwrap();
    resolver.lookup_a("2.0.0.127.bl.test").await.unwrap();
    resolver.lookup_a("2.0.0.127.bl.test.").await.unwrap();
    assert_eq!(server.names(), ["2.0.0.127.bl.test.", "2.0.0.127.bl.test."]);
    let invalid = resolver.lookup_a("bad..name.").await.unwrap_err();
    assert_eq!(invalid.kind(), LookupErrorKind::Protocol);
}

#[test]
fn resolvers_work_on_a_current_thread_runtime_and_across_runtimes() {
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server_runtime.block_on(RawServer::start(echo_listed()));
    let resolver = crate::support::pooled_resolver_at(
        server.addr,
        Duration::from_secs(2),
        dnsbl_check::resolver::ResolverOptions::DEFAULT_RETRIES,
    );
    for _ in 0..2 {
        // A runtime that ends takes its sockets' receive tasks with it; the next runtime
        // opens new sockets.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answer = runtime.block_on(resolver.lookup_a("2.0.0.127.bl.test."));
        assert_eq!(answer, Ok(listed([127, 0, 0, 2])));
    }
    drop(server);
}
