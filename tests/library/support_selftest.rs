//! Tests of the test support itself (`tests/support`), with raw DNS queries
//! built with hickory-proto, independent of the library under test.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use crate::support::{Behaviour, TestDns, Transport};

/// Long enough for a loopback answer on a loaded 2-core machine.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait to conclude that no answer is coming.
const SILENCE: Duration = Duration::from_millis(500);

fn query_message(name: &str, rtype: RecordType) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    message
}

/// One UDP query; `None` if no answer within `wait` (or the port is closed:
/// the connected socket then reports the ICMP error as ECONNREFUSED).
async fn udp_query_within(addr: SocketAddr, message: &Message, wait: Duration) -> Option<Message> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    socket.connect(addr).await.unwrap();
    socket.send(&message.to_vec().unwrap()).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let len = timeout(wait, socket.recv(&mut buf)).await.ok()?.ok()?;
    let response = Message::from_vec(&buf[..len]).unwrap();
    assert_eq!(response.metadata.id, message.metadata.id);
    Some(response)
}

async fn udp(addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    udp_query_within(addr, &query_message(name, rtype), ANSWER_TIMEOUT)
        .await
        .unwrap_or_else(|| panic!("no UDP answer for {name} {rtype}"))
}

/// One TCP query (RFC 1035 4.2.2: two-byte length prefix); `None` if no
/// answer within `wait`.
async fn tcp_query_within(
    addr: SocketAddr,
    name: &str,
    rtype: RecordType,
    wait: Duration,
) -> Option<Message> {
    let message = query_message(name, rtype);
    let bytes = message.to_vec().unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&(bytes.len() as u16).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(&bytes).await.unwrap();
    let read = async {
        let len = stream.read_u16().await.unwrap();
        let mut buf = vec![0u8; usize::from(len)];
        stream.read_exact(&mut buf).await.unwrap();
        buf
    };
    let buf = timeout(wait, read).await.ok()?;
    let response = Message::from_vec(&buf).unwrap();
    assert_eq!(response.metadata.id, message.metadata.id);
    Some(response)
}

async fn tcp(addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    tcp_query_within(addr, name, rtype, ANSWER_TIMEOUT)
        .await
        .unwrap_or_else(|| panic!("no TCP answer for {name} {rtype}"))
}

fn a_addrs(response: &Message) -> Vec<Ipv4Addr> {
    response
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

fn txt_records(response: &Message) -> Vec<Vec<Vec<u8>>> {
    response
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(txt.txt_data.iter().map(|s| s.to_vec()).collect()),
            _ => None,
        })
        .collect()
}

/// TXT records as text, for readable assertion failures.
fn txt_lossy(response: &Message) -> Vec<Vec<String>> {
    txt_records(response)
        .iter()
        .map(|strings| {
            strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .collect()
}

/// The SOA in the authority section: (owner, record TTL, MINIMUM).
fn authority_soa(response: &Message) -> (String, u32, u32) {
    let [record] = response.authorities.as_slice() else {
        panic!("expected exactly one authority record: {response:?}");
    };
    let Record {
        name,
        ttl,
        data: RData::SOA(soa),
        ..
    } = record
    else {
        panic!("authority record is not an SOA: {record:?}");
    };
    (name.to_ascii(), *ttl, soa.minimum)
}

fn assert_no_data(response: &Message, zone: &str, negative_ttl: u32) {
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.metadata.authoritative);
    assert!(response.answers.is_empty(), "{response:?}");
    assert_eq!(
        authority_soa(response),
        (zone.to_owned(), negative_ttl, negative_ttl)
    );
}

#[tokio::test]
async fn a_answer() {
    let dns = TestDns::builder()
        .zone("zen.test")
        .a("2.0.0.127.zen.test", &["127.0.0.2"], 60)
        .start()
        .await;

    let response = udp(dns.addr, "2.0.0.127.zen.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.metadata.authoritative);
    assert!(!response.metadata.truncation);
    assert_eq!(a_addrs(&response), [Ipv4Addr::new(127, 0, 0, 2)]);
    assert_eq!(response.answers[0].ttl, 60);
    assert!(response.authorities.is_empty());
}

#[tokio::test]
async fn multiple_a_records() {
    let dns = TestDns::builder()
        .zone("zen.test.")
        .a("2.0.0.127.zen.test.", &["127.0.0.2", "127.0.0.4"], 60)
        // A second call adds to the same RRset.
        .a("2.0.0.127.zen.test", &["127.0.0.10"], 120)
        .start()
        .await;

    let response = udp(dns.addr, "2.0.0.127.zen.test.", RecordType::A).await;
    let mut addrs = a_addrs(&response);
    addrs.sort();
    assert_eq!(
        addrs,
        [
            Ipv4Addr::new(127, 0, 0, 2),
            Ipv4Addr::new(127, 0, 0, 4),
            Ipv4Addr::new(127, 0, 0, 10)
        ]
    );
    assert!(response.answers.iter().all(|r| r.ttl == 120));
}

#[tokio::test]
async fn txt_records_with_several_strings() {
    let dns = TestDns::builder()
        .zone("zen.test")
        .txt(
            "2.0.0.127.zen.test",
            &["Listed", "see https://zen.test/"],
            90,
        )
        .txt_raw(
            "2.0.0.127.zen.test",
            vec![b"bad \xff utf-8".to_vec(), vec![b'x'; 255]],
            90,
        )
        .start()
        .await;

    let response = udp(dns.addr, "2.0.0.127.zen.test.", RecordType::TXT).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    let mut records = txt_records(&response);
    records.sort();
    assert_eq!(
        records,
        [
            vec![b"Listed".to_vec(), b"see https://zen.test/".to_vec()],
            vec![b"bad \xff utf-8".to_vec(), vec![b'x'; 255]],
        ]
    );
    assert!(response.answers.iter().all(|r| r.ttl == 90));
}

#[tokio::test]
async fn nxdomain_carries_soa_with_negative_ttl() {
    let dns = TestDns::builder()
        .zone("zen.test")
        .negative_ttl("zen.test", 42)
        .a("2.0.0.127.zen.test", &["127.0.0.2"], 60)
        .start()
        .await;

    let response = udp(dns.addr, "3.0.0.127.zen.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert!(response.metadata.authoritative);
    assert!(response.answers.is_empty());
    assert_eq!(authority_soa(&response), ("zen.test.".to_owned(), 42, 42));

    // An explicit NxDomain behaviour looks the same.
    let dns = TestDns::builder()
        .zone("zen.test")
        .on("2.0.0.127.zen.test", "*", Behaviour::NxDomain)
        .start()
        .await;
    let response = udp(dns.addr, "2.0.0.127.zen.test.", RecordType::TXT).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(authority_soa(&response), ("zen.test.".to_owned(), 300, 300));
}

#[tokio::test]
async fn no_data() {
    let dns = TestDns::builder()
        .zone("zen.test")
        .negative_ttl("zen.test", 30)
        .a("2.0.0.127.zen.test", &["127.0.0.2"], 60)
        .txt("txt-only.zen.test", &["hello"], 60)
        .on("nodata.zen.test", "A", Behaviour::NoData)
        .start()
        .await;

    // A name with only A records asked for TXT, and vice versa.
    assert_no_data(
        &udp(dns.addr, "2.0.0.127.zen.test.", RecordType::TXT).await,
        "zen.test.",
        30,
    );
    assert_no_data(
        &udp(dns.addr, "txt-only.zen.test.", RecordType::A).await,
        "zen.test.",
        30,
    );
    // Explicit NoData.
    assert_no_data(
        &udp(dns.addr, "nodata.zen.test.", RecordType::A).await,
        "zen.test.",
        30,
    );
    // Empty non-terminal and zone apex exist, without data.
    assert_no_data(
        &udp(dns.addr, "0.0.127.zen.test.", RecordType::A).await,
        "zen.test.",
        30,
    );
    assert_no_data(
        &udp(dns.addr, "zen.test.", RecordType::A).await,
        "zen.test.",
        30,
    );

    // The apex answers its SOA.
    let response = udp(dns.addr, "zen.test.", RecordType::SOA).await;
    assert!(
        matches!(response.answers[0].data, RData::SOA(_)),
        "{response:?}"
    );
}

#[tokio::test]
async fn servfail_and_refused() {
    let dns = TestDns::builder()
        .zone("zen.test")
        .on("fail.zen.test", "*", Behaviour::ServFail)
        .on("refuse.zen.test", "A", Behaviour::Refused)
        .start()
        .await;

    let response = udp(dns.addr, "fail.zen.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::ServFail);
    assert!(response.answers.is_empty() && response.authorities.is_empty());

    let response = udp(dns.addr, "refuse.zen.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);

    // Outside every zone.
    let response = udp(dns.addr, "example.com.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);
    assert!(!response.metadata.authoritative);
    // A suffix that merely looks similar is not inside the zone.
    let response = udp(dns.addr, "xzen.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);
}

#[tokio::test]
async fn drop_never_answers() {
    let dns = TestDns::builder()
        .zone("zen.test")
        .on("2.0.0.127.zen.test", "*", Behaviour::Drop)
        .start()
        .await;

    let message = query_message("2.0.0.127.zen.test.", RecordType::A);
    assert!(
        udp_query_within(dns.addr, &message, SILENCE)
            .await
            .is_none()
    );
    assert!(
        tcp_query_within(dns.addr, "2.0.0.127.zen.test.", RecordType::A, SILENCE)
            .await
            .is_none()
    );
    // The server saw both and is still alive.
    assert_eq!(dns.query_count(), 2);
    let response = udp(dns.addr, "other.zen.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn truncate_sends_tc_over_udp_and_answers_over_tcp() {
    let dns = TestDns::builder()
        .zone("zen.test")
        .on(
            "2.0.0.127.zen.test",
            "A",
            Behaviour::Truncate(Box::new(Behaviour::A(
                vec![Ipv4Addr::new(127, 0, 0, 2)],
                60,
            ))),
        )
        .start()
        .await;

    let response = udp(dns.addr, "2.0.0.127.zen.test.", RecordType::A).await;
    assert!(response.metadata.truncation);
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.answers.is_empty());

    let response = tcp(dns.addr, "2.0.0.127.zen.test.", RecordType::A).await;
    assert!(!response.metadata.truncation);
    assert_eq!(a_addrs(&response), [Ipv4Addr::new(127, 0, 0, 2)]);

    let transports: Vec<Transport> = dns.query_log().iter().map(|q| q.transport).collect();
    assert_eq!(transports, [Transport::Udp, Transport::Tcp]);
}

#[tokio::test]
async fn oversized_udp_answer_is_truncated_unless_edns_allows_it() {
    let long = "x".repeat(200);
    let dns = TestDns::builder()
        .zone("zen.test")
        .txt("big.zen.test", &[&long, &long, &long], 60)
        .start()
        .await;

    // Without EDNS the UDP limit is 512 bytes.
    let response = udp(dns.addr, "big.zen.test.", RecordType::TXT).await;
    assert!(response.metadata.truncation);

    let mut message = query_message("big.zen.test.", RecordType::TXT);
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    message.set_edns(edns);
    let response = udp_query_within(dns.addr, &message, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert!(!response.metadata.truncation);
    assert_eq!(txt_records(&response).len(), 1);
    assert!(response.edns.is_some());

    let response = tcp(dns.addr, "big.zen.test.", RecordType::TXT).await;
    assert!(!response.metadata.truncation);
    assert_eq!(txt_records(&response)[0].len(), 3);
}

#[tokio::test]
async fn wildcard_lists_everything() {
    let dns = TestDns::builder()
        .wildcard_a("all.test", &["127.0.0.2"], 60)
        .a("1.0.0.127.all.test", &["127.0.0.9"], 60)
        .start()
        .await;

    for name in [
        "4.3.2.1.all.test.",
        "anything.all.test.",
        "a.b.c.d.e.ALL.test.",
    ] {
        let response = udp(dns.addr, name, RecordType::A).await;
        assert_eq!(a_addrs(&response), [Ipv4Addr::new(127, 0, 0, 2)], "{name}");
        // Synthesised answers are owned by the name asked for.
        assert_eq!(response.answers[0].name.to_ascii(), name);
    }
    // An explicit name wins over the wildcard.
    let response = udp(dns.addr, "1.0.0.127.all.test.", RecordType::A).await;
    assert_eq!(a_addrs(&response), [Ipv4Addr::new(127, 0, 0, 9)]);
    // Other types under the wildcard, and the apex: NODATA.
    assert_no_data(
        &udp(dns.addr, "4.3.2.1.all.test.", RecordType::TXT).await,
        "all.test.",
        300,
    );
    assert_no_data(
        &udp(dns.addr, "all.test.", RecordType::A).await,
        "all.test.",
        300,
    );
}

#[tokio::test]
async fn delay_answers_late() {
    let dns = TestDns::builder()
        .zone("zen.test")
        .on(
            "slow.zen.test",
            "A",
            Behaviour::Delay(Duration::from_millis(300), Box::new(Behaviour::ServFail)),
        )
        .start()
        .await;

    let started = Instant::now();
    let response = udp(dns.addr, "slow.zen.test.", RecordType::A).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.metadata.response_code, ResponseCode::ServFail);
}

#[tokio::test]
async fn queries_are_recorded_with_case_preserved() {
    let dns = TestDns::builder()
        .zone("Zen.Test")
        .a("2.0.0.127.zen.test", &["127.0.0.2"], 60)
        .start()
        .await;

    let response = udp(dns.addr, "2.0.0.127.ZeN.tEsT.", RecordType::A).await;
    // Matching is case-insensitive, the question and the answer keep the case.
    assert_eq!(a_addrs(&response), [Ipv4Addr::new(127, 0, 0, 2)]);
    assert_eq!(response.queries[0].name().to_ascii(), "2.0.0.127.ZeN.tEsT.");
    assert_eq!(response.answers[0].name.to_ascii(), "2.0.0.127.ZeN.tEsT.");

    udp(dns.addr, "2.0.0.127.zen.test.", RecordType::TXT).await;
    udp(dns.addr, "Nope.Example.", RecordType::A).await;
    assert_eq!(
        dns.queries(),
        [
            ("2.0.0.127.ZeN.tEsT.".to_owned(), "A".to_owned()),
            ("2.0.0.127.zen.test.".to_owned(), "TXT".to_owned()),
            ("Nope.Example.".to_owned(), "A".to_owned()),
        ]
    );
    assert_eq!(dns.query_count(), 3);
    dns.clear_queries();
    assert_eq!(dns.query_count(), 0);
}

#[tokio::test]
async fn dropping_stops_the_server() {
    let dns = TestDns::builder().zone("zen.test").start().await;
    let addr = dns.addr;
    udp(addr, "x.zen.test.", RecordType::A).await;
    drop(dns);
    // Aborted tasks are dropped by the runtime, not synchronously; let it run.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let message = query_message("x.zen.test.", RecordType::A);
    assert!(udp_query_within(addr, &message, SILENCE).await.is_none());
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
#[should_panic(expected = "not inside any zone")]
async fn names_outside_zones_are_rejected() {
    TestDns::builder()
        .a("2.0.0.127.zen.test", &["127.0.0.2"], 60)
        .start()
        .await;
}

#[cfg(unix)]
#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn rbldnsd_serves_ip4set_ip6trie_and_dnset() {
    use crate::support::rbldnsd::{Rbldnsd, ZoneData};

    let ip4set = "\
$SOA 60 ns.bl.test hostmaster.bl.test 1 3600 600 86400 45
:127.0.0.2:Listed for testing: $
127.0.0.2
127.0.0.10 :127.0.0.10:Custom text for $
";
    let ip6trie = "\
:127.0.0.3:IPv6 listed: $
2001:db8::/32
";
    let dnset = "\
:127.0.1.2:Domain listed: $
.spam.example
";
    let rbl = Rbldnsd::start(&[
        ("bl.test", ZoneData::Ip4Set(ip4set)),
        ("v6.test", ZoneData::Ip6Trie(ip6trie)),
        ("dbl.test", ZoneData::Dnset(dnset)),
    ])
    .unwrap();

    let response = udp(rbl.addr, "2.0.0.127.bl.test.", RecordType::A).await;
    assert_eq!(a_addrs(&response), [Ipv4Addr::new(127, 0, 0, 2)]);
    let response = udp(rbl.addr, "10.0.0.127.bl.test.", RecordType::TXT).await;
    assert_eq!(txt_lossy(&response), [["Custom text for 127.0.0.10"]]);
    let response = udp(rbl.addr, "3.0.0.127.bl.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(authority_soa(&response).2, 45);

    // 2001:db8::1, nibble-reversed.
    let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.v6.test.";
    let response = udp(rbl.addr, v6, RecordType::A).await;
    assert_eq!(a_addrs(&response), [Ipv4Addr::new(127, 0, 0, 3)]);

    let response = udp(rbl.addr, "www.spam.example.dbl.test.", RecordType::TXT).await;
    // For a wildcard entry rbldnsd substitutes the listed entry, not the name asked.
    assert_eq!(txt_lossy(&response), [["Domain listed: spam.example"]]);
    let response = udp(rbl.addr, "example.dbl.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
}
