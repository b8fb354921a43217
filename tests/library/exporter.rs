//! `ExporterServer` in-process: its rounds against the in-process DNS server, its pages over
//! plain HTTP, and its shutdown: no new connection, the answer in flight given, then return.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dnsbl_check::exporter::server::ExporterServer;
use dnsbl_check::exporter::state::Watched;
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::{Checker, DnsList, ListKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::in_process::InProcess;
use crate::support::{Behaviour, TestDns, resolver_at};

/// A checker of the IP list `zone`, asking only `dns`.
fn checker(dns: &TestDns, zone: &str, timeout: Duration) -> Checker<AnyResolver> {
    Checker::builder()
        .list(DnsList::from_spec(zone, ListKind::Ip).unwrap())
        .build_with(AnyResolver::from(resolver_at(dns.addr, timeout, 1)))
        .unwrap()
}

/// A plain HTTP/1.0 GET: (status, body).
async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    Ok((status, body))
}

fn has_line(page: &str, line: &str) -> bool {
    page.lines().any(|l| l == line)
}

/// The `/metrics` page once `line` is on it; panics after 30 s.
async fn metrics_with(addr: SocketAddr, line: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, page)) = get(addr, "/metrics").await
            && has_line(&page, line)
        {
            return page;
        }
        assert!(Instant::now() < deadline, "{line} never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_exporter_serves_its_rounds_and_stops_after_the_answer_in_flight() {
    let dns = TestDns::builder()
        .healthy_ip_zone("bl.test")
        .a("20.2.0.192.bl.test", &["127.0.0.2"], 60)
        .zone("slow.test")
        .on("*.slow.test", "*", Behaviour::Drop)
        .start()
        .await;
    let watched = Watched {
        specs: vec!["192.0.2.20".parse().unwrap(), "192.0.2.1".parse().unwrap()],
        domains: Vec::new(),
        max_listed_per_network: 1000,
    };
    // A module whose list never answers: its probe is in flight for about a second.
    let slow = Checker::builder()
        .list(DnsList::from_spec("slow.test", ListKind::Ip).unwrap())
        .health_checks(false)
        .build_with(AnyResolver::from(resolver_at(
            dns.addr,
            Duration::from_secs(1),
            1,
        )))
        .unwrap();
    let server = ExporterServer::new(checker(&dns, "bl.test", Duration::from_secs(2)), watched)
        .interval(Duration::from_secs(3600))
        .modules(HashMap::from([("slow".to_owned(), slow)]));
    let server = InProcess::exporter(server).await;
    let addr = server.addr();

    let page = metrics_with(addr, "dnsbl_rounds_total 1").await;
    for line in [
        r#"dnsbl_listed{target="192.0.2.20",list="bl.test"} 1"#,
        r#"dnsbl_listed{target="192.0.2.1",list="bl.test"} 0"#,
        r#"dnsbl_listing_info{target="192.0.2.20",list="bl.test",code="127.0.0.2",category=""} 1"#,
    ] {
        assert!(has_line(&page, line), "{line} missing from:\n{page}");
    }

    // A connection waiting for its request, and a probe being answered, at shutdown.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let probe = tokio::spawn(get(addr, "/probe?target=192.0.2.1&module=slow"));
    dns.wait_for_query("1.2.0.192.slow.test.").await;
    server.shutdown();

    // The waiting connection is closed at once, without an answer.
    let mut buffer = [0; 64];
    let read = tokio::time::timeout(Duration::from_secs(2), idle.read(&mut buffer))
        .await
        .expect("the waiting connection is closed at shutdown");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // The answer in flight is given in full.
    let (status, body) = probe.await.unwrap().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        has_line(
            &body,
            r#"dnsbl_check_trouble{target="192.0.2.1",list="slow.test",kind="timeout"} 1"#
        ),
        "{body}"
    );
    // Then the server returns, well within its grace period, and takes no connection.
    tokio::time::timeout(Duration::from_secs(3), server.stopped())
        .await
        .expect("the exporter stops promptly after the answer in flight");
    assert!(TcpStream::connect(addr).await.is_err());
}
