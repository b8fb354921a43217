//! `dnsbl-exporter` end to end: against the in-process server by default, and scraped by a
//! real Prometheus, checking against rbldnsd, in the `#[ignore = "needs prometheus"]` test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::rbldnsd::{Rbldnsd, ZoneData};
use crate::support::tool::{Tool, ToolProcess};
use crate::support::{Behaviour, TestDns};

/// A loopback TCP port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// Starts the exporter on a free port with `args`; returns it and its address.
fn start_exporter(args: &[&str]) -> (ToolProcess, SocketAddr) {
    let listen = format!("127.0.0.1:{}", free_port());
    let exporter = ToolProcess::spawn(
        Tool::Exporter,
        &[&["--listen", &listen], args].concat(),
        &[],
    );
    (exporter, listen.parse().unwrap())
}

/// A plain HTTP/1.0 GET: (status, body).
pub(crate) fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    get_from(None, addr, path).map(|(status, _, body)| (status, body))
}

/// [`exporter_after_first_round`] with a round an hour, asking only `nameserver`.
pub(crate) async fn hourly_exporter_after_first_round(
    nameserver: SocketAddr,
    args: &[&str],
) -> (ToolProcess, SocketAddr, String) {
    let nameserver = nameserver.to_string();
    let hourly = ["--interval", "3600", "--nameserver", &nameserver];
    exporter_after_first_round(&[&hourly[..], args].concat()).await
}

/// Polls `addr` until its `/metrics` page has every line of `lines`; returns that page.
fn wait_for_lines(addr: SocketAddr, lines: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, page)) = get(addr, "/metrics")
            && lines.iter().all(|line| has_line(&page, line))
        {
            return page;
        }
        assert!(Instant::now() < deadline, "never showed {lines:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts the exporter with `args` and waits for its first round: the exporter, its address,
/// and the `/metrics` page after that round.
pub(crate) async fn exporter_after_first_round(args: &[&str]) -> (ToolProcess, SocketAddr, String) {
    let (exporter, addr) = start_exporter(args);
    let page = tokio::task::spawn_blocking(move || wait_for_lines(addr, &["dnsbl_rounds_total 1"]))
        .await
        .unwrap_or_else(|_| panic!("no round finished in time:\n{}", exporter.logs()));
    (exporter, addr, page)
}

fn has_line(page: &str, line: &str) -> bool {
    page.lines().any(|l| l == line)
}

/// Asserts that `page` has every line of `lines`.
fn assert_lines(page: &str, lines: &[&str]) {
    for line in lines {
        assert!(has_line(page, line), "{line} missing from:\n{page}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_come_from_the_last_round_and_send_no_query() {
    let dns = crate::support::every_kind_of_answer(TestDns::builder())
        .a("20.2.0.192.bl.test", &["127.0.0.2"], 60)
        .zone("slow.test")
        .a("2.0.0.127.slow.test", &["127.0.0.2"], 60)
        .on("*.slow.test", "*", Behaviour::Drop)
        .start()
        .await;
    let (_exporter, addr, page) = hourly_exporter_after_first_round(
        dns.addr,
        &[
            "--timeout",
            "0.3",
            "--zone",
            "bl.test=127.0.0.[2..11]",
            "--zone",
            "slow.test",
            "--max-listed-per-network",
            "1",
            "192.0.2.20",
            "192.0.2.1",
            "192.0.2.17",
            "192.0.2.8/29",
        ],
    )
    .await;
    let queries_after_round = dns.query_count();

    assert_lines(
        &page,
        &[
            r#"dnsbl_listed{target="192.0.2.20",list="bl.test"} 1"#,
            r#"dnsbl_listed{target="192.0.2.1",list="bl.test"} 0"#,
            // A list that failed never shows as clean.
            r#"dnsbl_check_trouble{target="192.0.2.17",list="bl.test",kind="refused"} 1"#,
            r#"dnsbl_check_trouble{target="192.0.2.1",list="slow.test",kind="timeout"} 1"#,
            r#"dnsbl_listing_info{target="192.0.2.20",list="bl.test",code="127.0.0.2",category=""} 1"#,
            // 192.0.2.8/29: .10 and .11 listed, .12 to .15 trouble of some kind.
            r#"dnsbl_network_checked_addresses{network="192.0.2.8/29",list="bl.test"} 8"#,
            r#"dnsbl_network_listed_addresses{network="192.0.2.8/29",list="bl.test"} 2"#,
            r#"dnsbl_network_trouble_addresses{network="192.0.2.8/29",list="bl.test"} 4"#,
            r#"dnsbl_list_health{list="bl.test",state="healthy"} 1"#,
            r#"dnsbl_list_checks_total{list="bl.test",outcome="servfail"} 1"#,
            r#"dnsbl_list_checks_total{list="bl.test",outcome="refused"} 1"#,
            r#"dnsbl_list_checks_total{list="bl.test",outcome="listed"} 3"#,
            r#"dnsbl_list_checks_total{list="slow.test",outcome="timeout"} 11"#,
            r#"dnsbl_list_query_duration_seconds_count{list="bl.test"} 11"#,
            "dnsbl_last_round_targets 11",
        ],
    );
    assert!(!page.contains(r#"dnsbl_listed{target="192.0.2.17",list="bl.test"}"#));
    assert!(!page.contains(r#"dnsbl_listed{target="192.0.2.1",list="slow.test"}"#));
    // Network addresses appear one by one only while listed, up to the limit (1 here).
    assert!(has_line(
        &page,
        r#"dnsbl_listed{target="192.0.2.10",list="bl.test"} 1"#
    ));
    assert!(!page.contains(r#"target="192.0.2.11""#), "{page}");
    assert!(!page.contains(r#"target="192.0.2.9""#), "{page}");

    let pages = tokio::task::spawn_blocking(move || {
        (0..20)
            .map(|_| get(addr, "/metrics").unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(pages.iter().all(|(status, _)| *status == 200));
    assert_eq!(
        dns.query_count(),
        queries_after_round,
        "a scrape sent queries"
    );

    // A probe checks now, once per cache period.
    let probe = |path: &'static str| tokio::task::spawn_blocking(move || get(addr, path).unwrap());
    let (status, body) = probe("/probe?target=192.0.2.11").await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(has_line(
        &body,
        r#"dnsbl_listed{target="192.0.2.11",list="bl.test"} 1"#
    ));
    assert!(has_line(&body, "probe_success 0"), "{body}"); // slow.test timed out
    assert!(
        !body.contains("192.0.2.20"),
        "only the probed target: {body}"
    );
    let after_probe = dns.query_count();
    assert!(after_probe > queries_after_round);
    let (status, again) = probe("/probe?target=192.0.2.11").await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        dns.query_count(),
        after_probe,
        "the second probe came from the cache"
    );
    assert!(has_line(
        &again,
        r#"dnsbl_listed{target="192.0.2.11",list="bl.test"} 1"#
    ));

    for bad in [
        "/probe?target=not%20a%20host",
        "/probe?target=192.0.2.0/24",
        "/probe",
        "/probe?target=%ZZ",
        "/probe?target=a&target=b",
    ] {
        let (status, body) = tokio::task::spawn_blocking(move || get(addr, bad).unwrap())
            .await
            .unwrap();
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // Hostile requests get an error or a closed connection, and the exporter goes on.
    tokio::task::spawn_blocking(move || {
        let long_query = format!("/probe?target={}", "a".repeat(2000));
        assert_eq!(get(addr, &long_query).unwrap().0, 414);
        let huge_header = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
        let garbage = "\u{0}\u{1}NOT HTTP AT ALL\r\n\r\n".to_owned();
        for request in [huge_header, garbage] {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let _ = stream.write_all(request.as_bytes());
            let mut reply = Vec::new();
            let _ = stream.read_to_end(&mut reply);
            let reply = String::from_utf8_lossy(&reply);
            assert!(!reply.starts_with("HTTP/1.1 200"), "{reply}");
        }
        assert_eq!(get(addr, "/metrics").unwrap().0, 200);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_exporter_with_status_0() {
    let dns = crate::support::every_kind_of_answer(TestDns::builder())
        .start()
        .await;
    let address = dns.addr.to_string();
    let (mut exporter, _addr, _page) = exporter_after_first_round(&[
        "--nameserver",
        &address,
        "--zone",
        "bl.test",
        "--interval",
        "3600",
        "192.0.2.1",
    ])
    .await;
    exporter.signal(libc::SIGTERM);
    let status = exporter.wait_within(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_domains_are_expanded_every_round_and_their_trouble_shown() {
    let dns = crate::support::every_kind_of_answer(TestDns::builder())
        .zone("example.test")
        .mx("example.test", &[(10, "mx1.example.test")], 60)
        .a("mx1.example.test", &["192.0.2.10"], 60)
        .a("www.example.test", &["192.0.2.1"], 60)
        .zone("2.0.192.in-addr.arpa")
        .ptr("10.2.0.192.in-addr.arpa", &["mx1.example.test."], 60)
        .zone("broken.test")
        .on("broken.test", "MX", Behaviour::ServFail)
        .start()
        .await;
    let (_exporter, addr, page) = hourly_exporter_after_first_round(
        dns.addr,
        &[
            "--zone",
            "bl.test=127.0.0.[2..11]",
            "--mx",
            "example.test",
            "--mx",
            "broken.test",
            "--resolve",
            "www.example.test",
        ],
    )
    .await;
    assert_lines(
        &page,
        &[
            r#"dnsbl_target_info{target="192.0.2.10",domain="example.test",source="mx",host="mx1.example.test"} 1"#,
            r#"dnsbl_listed{target="192.0.2.10",list="bl.test"} 1"#,
            r#"dnsbl_target_info{target="192.0.2.1",domain="www.example.test",source="resolve",host="www.example.test"} 1"#,
            r#"dnsbl_listed{target="192.0.2.1",list="bl.test"} 0"#,
            r#"dnsbl_host_lookup_trouble{domain="broken.test",source="mx",kind="servfail"} 1"#,
            r#"dnsbl_target_rdns{target="192.0.2.10",domain="example.test",host="mx1.example.test",status="confirmed"} 1"#,
            r#"dnsbl_target_rdns{target="192.0.2.1",domain="www.example.test",host="www.example.test",status="no_ptr"} 1"#,
            "dnsbl_last_round_targets 2",
        ],
    );

    // The same through /probe, on demand.
    let probe = |path: &'static str| tokio::task::spawn_blocking(move || get(addr, path).unwrap());
    let (status, body) = probe("/probe?target=example.test&source=mx").await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_lines(
        &body,
        &[
            "probe_success 1",
            r#"dnsbl_listed{target="192.0.2.10",list="bl.test"} 1"#,
            r#"dnsbl_target_info{target="192.0.2.10",domain="example.test",source="mx",host="mx1.example.test"} 1"#,
        ],
    );
    let (status, body) = probe("/probe?target=broken.test&source=mx").await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(has_line(&body, "probe_success 0"), "{body}");
    for bad in [
        "/probe?target=192.0.2.1&source=mx",
        "/probe?target=example.test&source=smtp",
    ] {
        let (status, body) = probe(bad).await.unwrap();
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

/// A UDP relay on loopback that counts the queries it passes to `upstream`.
struct CountingRelay {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl CountingRelay {
    async fn start(upstream: SocketAddr) -> CountingRelay {
        use tokio::net::UdpSocket;
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = front.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&queries);
        let task = tokio::spawn(async move {
            // One upstream socket per client socket, so that answers find their way back.
            let mut backs: std::collections::HashMap<SocketAddr, Arc<UdpSocket>> =
                std::collections::HashMap::new();
            let mut buf = vec![0u8; 65_535];
            loop {
                let Ok((len, client)) = front.recv_from(&mut buf).await else {
                    continue;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let back = match backs.get(&client) {
                    Some(back) => Arc::clone(back),
                    None => {
                        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
                        back.connect(upstream).await.unwrap();
                        let (reader, front) = (Arc::clone(&back), Arc::clone(&front));
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 65_535];
                            while let Ok(len) = reader.recv(&mut buf).await {
                                let _ = front.send_to(&buf[..len], client).await;
                            }
                        });
                        backs.insert(client, Arc::clone(&back));
                        back
                    }
                };
                let _ = back.send(&buf[..len]).await;
            }
        });
        CountingRelay {
            addr,
            queries,
            _task: task,
        }
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

fn prometheus_binary() -> PathBuf {
    std::env::var_os("PROMETHEUS").map_or_else(|| "prometheus".into(), PathBuf::from)
}

/// The value of the one series `query` selects, from Prometheus's HTTP API.
fn query_value(prometheus: SocketAddr, query: &str) -> Option<String> {
    let encoded: String = query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, body) = get(prometheus, &format!("/api/v1/query?query={encoded}")).ok()?;
    if status != 200 {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&body).ok()?;
    let result = json["data"]["result"].as_array()?;
    if result.len() != 1 {
        return None;
    }
    result[0]["value"][1].as_str().map(str::to_owned)
}

fn wait_for_value(prometheus: SocketAddr, query: &str, accept: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(value) = query_value(prometheus, query)
            && accept(&value)
        {
            return value;
        }
        assert!(Instant::now() < deadline, "Prometheus never gave {query}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs prometheus"]
async fn prometheus_scrapes_listings_checked_against_rbldnsd() {
    let rbldnsd = Rbldnsd::start(&[(
        "bl.test",
        ZoneData::Ip4Set(":127.0.0.2:Listed: see https://bl.test/$\n127.0.0.2\n192.0.2.1\n"),
    )])
    .expect("start rbldnsd");
    let relay = CountingRelay::start(rbldnsd.addr).await;
    let (_exporter, exporter_addr, page) = hourly_exporter_after_first_round(
        relay.addr,
        &["--zone", "bl.test", "192.0.2.1", "192.0.2.2"],
    )
    .await;
    let queries_after_round = relay.queries();
    assert!(queries_after_round >= 2, "the round went through the relay");

    // The page is valid exposition text, by Prometheus's own linter.
    let mut lint = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    lint.stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let lint = lint.wait_with_output().unwrap();
    assert!(
        lint.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: dnsbl\n    static_configs:\n      \
             - targets: [\"{exporter_addr}\"]\n"
        ),
    )
    .unwrap();
    let prometheus_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _prometheus = ToolProcess::spawn_binary(
        &prometheus_binary(),
        &[
            &format!("--config.file={}", config.display()),
            &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            &format!("--web.listen-address={prometheus_addr}"),
        ],
        &[],
    );

    let listed = r#"dnsbl_listed{job="dnsbl",target="192.0.2.1",list="bl.test"}"#;
    let clean = r#"dnsbl_listed{job="dnsbl",target="192.0.2.2",list="bl.test"}"#;
    let scrapes = r#"count_over_time(up{job="dnsbl"}[5m])"#;
    let (listed, clean) = tokio::task::spawn_blocking(move || {
        let listed = wait_for_value(prometheus_addr, listed, |_| true);
        let clean = wait_for_value(prometheus_addr, clean, |_| true);
        // Several scrapes, each answered from the round that already ran.
        wait_for_value(prometheus_addr, scrapes, |n| {
            n.parse::<f64>().unwrap_or(0.0) >= 5.0
        });
        (listed, clean)
    })
    .await
    .unwrap();
    assert_eq!(listed, "1");
    assert_eq!(clean, "0");
    assert_eq!(
        relay.queries(),
        queries_after_round,
        "scrapes sent DNS queries"
    );
}

/// The alert rules' unit tests, as CI runs them.
#[test]
#[ignore = "needs prometheus"]
fn alert_rules_pass_their_unit_tests() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prometheus");
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ] {
        let output = Command::new("promtool")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run promtool");
        assert!(
            output.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A plain HTTP/1.0 GET from `from` (a loopback address of this machine), or from any
/// address: (status, head, body).
fn get_from(
    from: Option<std::net::IpAddr>,
    addr: SocketAddr,
    path: &str,
) -> std::io::Result<(u16, String, String)> {
    let mut stream = match from {
        None => TcpStream::connect_timeout(&addr, Duration::from_secs(2))?,
        Some(from) => {
            let socket = socket_from(from)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let stream = runtime.block_on(socket.connect(addr))?;
            let stream = stream.into_std()?;
            stream.set_nonblocking(false)?;
            stream
        }
    };
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_owned(), body.to_owned()))
}

/// A TCP socket bound to `from`, any port.
fn socket_from(from: std::net::IpAddr) -> std::io::Result<tokio::net::TcpSocket> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    Ok(socket)
}

/// A client that sends a whole `GET /` every 8 s, one byte at a time, on one keep-alive
/// connection, and connects again whenever the server closes it; until `stop`.
async fn trickle(addr: SocketAddr, stop: Arc<std::sync::atomic::AtomicBool>) {
    use tokio::io::AsyncWriteExt;
    let request = b"GET / HTTP/1.1\r\nHost: trickle\r\nX-Slow: yes\r\n\r\n";
    let pause = Duration::from_millis(8000 / request.len() as u64);
    while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (mut reader, mut writer) = stream.into_split();
        // Answers are read and dropped, so that the server's writes never block.
        let drain = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
        });
        'connection: while !stop.load(Ordering::Relaxed) {
            for byte in request {
                if writer.write_all(&[*byte]).await.is_err() || drain.is_finished() {
                    break 'connection;
                }
                tokio::time::sleep(pause).await;
            }
        }
        drain.abort();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The in-process server with `bl.test`, and an exporter with `extra` options watching
/// 192.0.2.1 on it (a round an hour), after its first round.
async fn exporter_on_bl_test(extra: &[&str]) -> (TestDns, ToolProcess, SocketAddr) {
    let dns = crate::support::every_kind_of_answer(TestDns::builder())
        .start()
        .await;
    let server = dns.addr.to_string();
    let args = [
        "--interval",
        "3600",
        "--nameserver",
        &server,
        "--zone",
        "bl.test",
    ];
    let (exporter, addr, _page) =
        exporter_after_first_round(&[&args[..], extra, &["192.0.2.1"]].concat()).await;
    (dns, exporter, addr)
}

#[tokio::test(flavor = "multi_thread")]
async fn trickling_clients_neither_hold_a_connection_nor_starve_scrapes() {
    let (_dns, _exporter, addr) = exporter_on_bl_test(&[]).await;

    // A request head trickled a byte every 500 ms is cut off at its deadline (10 s), not
    // kept alive by every byte.
    let cut_off = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let started = Instant::now();
        let mut buffer = [0u8; 1024];
        for byte in b"GET /metrics HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b'y'; 100].iter())
        {
            if stream.write_all(&[*byte]).is_err() || stream.read(&mut buffer).is_ok() {
                return started.elapsed(); // closed (a read of 0 bytes), or an answer
            }
        }
        started.elapsed()
    })
    .await
    .unwrap();
    assert!(
        cut_off >= Duration::from_secs(9) && cut_off < Duration::from_secs(13),
        "the trickled head was cut off after {cut_off:?}"
    );

    // 300 clients trickling whole requests hold every connection the exporter would
    // otherwise keep; scrapes still get through, quickly.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tricklers: Vec<_> = (0..300)
        .map(|_| tokio::spawn(trickle(addr, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    for _ in 0..3 {
        let (took, scrape) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let scrape = get(addr, "/metrics");
            (started.elapsed(), scrape)
        })
        .await
        .unwrap();
        let (status, page) = scrape.expect("a scrape under trickling clients");
        assert_eq!(status, 200);
        assert!(page.contains("dnsbl_rounds_total 1"), "{page}");
        assert!(took < Duration::from_secs(5), "the scrape took {took:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for trickler in tricklers {
        trickler.abort();
    }
}

/// The `Retry-After` of a 429's head, in seconds.
fn retry_after(head: &str) -> Option<u64> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("retry-after")
            .then(|| value.trim().parse().ok())?
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_flood_gets_429s_and_sends_a_bounded_number_of_queries() {
    let (dns, _exporter, addr) =
        exporter_on_bl_test(&["--probe-rate", "1", "--probe-rate-total", "1000"]).await;
    let before = dns.query_count();
    let (started, answers) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let answers: Vec<_> = (1..=200u32)
            .map(|i| {
                let target = format!("198.51.{}.{}", 100 + i / 250, i % 250);
                let path = format!("/probe?target={target}");
                (path.clone(), get_from(None, addr, &path).unwrap())
            })
            .collect();
        (started, answers)
    })
    .await
    .unwrap();
    let seconds = started.elapsed().as_secs();
    let done: Vec<&String> = answers
        .iter()
        .filter(|(_, (status, _, _))| *status == 200)
        .map(|(path, _)| path)
        .collect();
    let limited: Vec<&String> = answers
        .iter()
        .filter(|(_, (status, _, _))| *status == 429)
        .map(|(_, (_, head, _))| head)
        .collect();
    // A burst of 10, then 1 a second.
    assert!(
        done.len() >= 10 && done.len() as u64 <= 10 + seconds + 1,
        "{} probes answered in {seconds} s",
        done.len()
    );
    assert_eq!(done.len() + limited.len(), answers.len(), "only 200 or 429");
    for head in &limited {
        assert!(retry_after(head).is_some_and(|s| s >= 1), "{head}");
    }
    // One A query per probe that ran (each address is clean, with no TXT to fetch), and
    // perhaps a health probe.
    let queries = dns.query_count() - before;
    assert!(
        queries <= done.len() + 4,
        "{queries} queries for {} probes",
        done.len()
    );

    // A repeated probe comes from the cache: no query, and no token (the client is still
    // over its limit).
    let repeat = done[0].clone();
    let before = dns.query_count();
    let (status, _, body) = tokio::task::spawn_blocking(move || get_from(None, addr, &repeat))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("dnsbl_listed{"), "{body}");
    assert_eq!(dns.query_count(), before, "the repeat sent queries");
}

#[tokio::test(flavor = "multi_thread")]
async fn many_clients_together_are_held_to_the_total_probe_rate() {
    let (_dns, _exporter, addr) =
        exporter_on_bl_test(&["--probe-rate", "100", "--probe-rate-total", "1"]).await;
    let (seconds, statuses) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut statuses = Vec::new();
        for client in 2..=6u8 {
            let from = std::net::IpAddr::from([127, 0, 0, client]);
            for i in 1..=10u8 {
                let path = format!("/probe?target=198.51.100.{}", client * 20 + i);
                statuses.push(get_from(Some(from), addr, &path).unwrap().0);
            }
        }
        (started.elapsed().as_secs(), statuses)
    })
    .await
    .unwrap();
    let done = statuses.iter().filter(|s| **s == 200).count() as u64;
    let limited = statuses.iter().filter(|s| **s == 429).count() as u64;
    assert_eq!(done + limited, 50, "{statuses:?}");
    // Each client is far below its own rate; together they get the total's burst of 10.
    assert!(
        (10..=10 + seconds + 1).contains(&done),
        "{done} answered in {seconds} s: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_of_a_domain_with_hundreds_of_mail_servers_is_bounded() {
    let mut builder = crate::support::every_kind_of_answer(TestDns::builder())
        .zone("big.test")
        .zone("in-addr.arpa");
    let mut exchanges = Vec::new();
    let names: Vec<String> = (0..10).map(|i| format!("mx{i}.big.test")).collect();
    for (i, name) in names.iter().enumerate() {
        exchanges.push((10, name.as_str()));
        let addresses: Vec<String> = (0..16).map(|j| format!("203.0.{i}.{}", j + 1)).collect();
        let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
        builder = builder.a(name, &addresses, 60);
    }
    let dns = builder.mx("big.test", &exchanges, 60).start().await;
    let (_exporter, addr, _page) =
        hourly_exporter_after_first_round(dns.addr, &["--zone", "bl.test", "192.0.2.1"]).await;
    let before = dns.query_count();
    let (status, body) =
        tokio::task::spawn_blocking(move || get(addr, "/probe?target=big.test&source=mx"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(status, 200, "{body}");
    let checked = body
        .lines()
        .filter(|line| line.starts_with("dnsbl_target_info{"))
        .count();
    assert_eq!(checked, 16, "{body}");
    assert!(
        has_line(
            &body,
            r#"dnsbl_host_lookup_trouble{domain="big.test",source="mx",kind="too_many_addresses"} 1"#
        ),
        "{body}"
    );
    assert!(has_line(&body, "probe_success 0"), "{body}");
    // The MX query, A and AAAA of 10 hosts, then a PTR and a check for each of 16
    // addresses (and perhaps a health probe): never all 160 addresses.
    let queries = dns.query_count() - before;
    assert!(queries <= 1 + 20 + 2 * 16 + 4, "{queries} queries");
}

/// The resolver goes blind after the first round (NXDOMAIN for everything, the test point
/// too): a listing never drops to `dnsbl_listed 0`; the list's trouble shows instead.
#[tokio::test(flavor = "multi_thread")]
async fn a_resolver_gone_blind_never_turns_a_listing_into_0() {
    let seeing = crate::support::TestDns::builder()
        .healthy_ip_zone("bl.test")
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let blind = TestDns::builder().zone("bl.test").start().await;
    let relay = crate::support::relay::SwitchingRelay::start(seeing.addr).await;
    let (_exporter, addr, page) = exporter_after_first_round(&[
        "--interval",
        "1",
        "--nameserver",
        &relay.addr.to_string(),
        "--timeout",
        "1",
        "--zone",
        "bl.test",
        "192.0.2.1",
    ])
    .await;
    let listed = r#"dnsbl_listed{target="192.0.2.1",list="bl.test"}"#;
    assert!(has_line(&page, &format!("{listed} 1")), "{page}");

    relay.switch_to(blind.addr);
    let pages = tokio::task::spawn_blocking(move || {
        let mut pages = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !pages
            .iter()
            .any(|page: &String| page.contains("\ndnsbl_rounds_total 5\n"))
        {
            assert!(Instant::now() < deadline, "no fifth round: {pages:?}");
            if let Ok((200, page)) = get(addr, "/metrics") {
                pages.push(page);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        pages
    })
    .await
    .unwrap();
    for page in &pages {
        assert!(!has_line(page, &format!("{listed} 0")), "{page}");
    }
    let last = pages.last().unwrap();
    assert!(
        has_line(
            last,
            r#"dnsbl_check_trouble{target="192.0.2.1",list="bl.test",kind="unhealthy"} 1"#
        ),
        "{last}"
    );
}

/// A UDP relay to `upstream` that, once `refuse` is set, answers every query REFUSED itself.
async fn refusing_relay(
    upstream: SocketAddr,
    refuse: Arc<std::sync::atomic::AtomicBool>,
) -> SocketAddr {
    use tokio::net::UdpSocket;
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = front.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        loop {
            let Ok((len, client)) = front.recv_from(&mut buf).await else {
                continue;
            };
            let query = buf[..len].to_vec();
            if len < 12 {
                continue;
            }
            if refuse.load(Ordering::SeqCst) {
                // The query echoed back as a response (QR set), RCODE 5 (REFUSED).
                let mut response = query;
                response[2] |= 0x80;
                response[3] = (response[3] & 0xF0) | 5;
                let _ = front.send_to(&response, client).await;
                continue;
            }
            let front = Arc::clone(&front);
            tokio::spawn(async move {
                let back = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                back.connect(upstream).await.unwrap();
                let _ = back.send(&query).await;
                let mut answer = vec![0u8; 65_535];
                if let Ok(Ok(len)) =
                    tokio::time::timeout(Duration::from_secs(2), back.recv(&mut answer)).await
                {
                    let _ = front.send_to(&answer[..len], client).await;
                }
            });
        }
    });
    addr
}

/// A listed target whose check starts failing (REFUSED) keeps `dnsbl_listed 1`, marked stale,
/// beside its trouble: a failing check is never a delisting. The same for a listed address of
/// a watched network.
#[tokio::test(flavor = "multi_thread")]
async fn a_listed_target_whose_check_fails_stays_listed_and_is_marked_stale() {
    let dns = TestDns::builder()
        .zone("bl.test")
        .a("2.0.0.127.bl.test", &["127.0.0.2"], 1)
        .a("20.2.0.192.bl.test", &["127.0.0.2"], 1)
        .a("1.100.51.198.bl.test", &["127.0.0.2"], 1)
        .start()
        .await;
    let refuse = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let relay = refusing_relay(dns.addr, Arc::clone(&refuse)).await;
    let (exporter, addr) = start_exporter(&[
        "--interval",
        "1",
        "--nameserver",
        &relay.to_string(),
        "--timeout",
        "0.5",
        "--zone",
        "bl.test",
        "192.0.2.20",
        "198.51.100.0/30",
    ]);
    let page = tokio::task::spawn_blocking(move || {
        wait_for_lines(
            addr,
            &[
                r#"dnsbl_listed{target="192.0.2.20",list="bl.test"} 1"#,
                r#"dnsbl_listed_stale{target="192.0.2.20",list="bl.test"} 0"#,
                r#"dnsbl_listed{target="198.51.100.1",list="bl.test"} 1"#,
            ],
        );
        refuse.store(true, Ordering::SeqCst);
        wait_for_lines(
            addr,
            &[
                r#"dnsbl_check_trouble{target="192.0.2.20",list="bl.test",kind="refused"} 1"#,
                r#"dnsbl_check_trouble{target="198.51.100.1",list="bl.test",kind="refused"} 1"#,
            ],
        )
    })
    .await
    .unwrap();
    drop(exporter);
    assert_lines(
        &page,
        &[
            r#"dnsbl_listed{target="192.0.2.20",list="bl.test"} 1"#,
            r#"dnsbl_listed_stale{target="192.0.2.20",list="bl.test"} 1"#,
            r#"dnsbl_listed{target="198.51.100.1",list="bl.test"} 1"#,
            r#"dnsbl_listed_stale{target="198.51.100.1",list="bl.test"} 1"#,
        ],
    );
}

/// `--input` with a byte-order mark (as Windows editors save files) before a comment on the
/// first line: the mark is dropped, the targets watched.
#[tokio::test(flavor = "multi_thread")]
async fn an_input_file_with_a_byte_order_mark_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("targets.txt");
    std::fs::write(&input, "\u{FEFF}# watched\n192.0.2.10\n").unwrap();
    let (_dns, _exporter, addr) = exporter_on_bl_test(&["--input", input.to_str().unwrap()]).await;
    let (_, page) = tokio::task::spawn_blocking(move || get(addr, "/metrics"))
        .await
        .unwrap()
        .unwrap();
    let line = r#"dnsbl_listed{target="192.0.2.10",list="bl.test"} 1"#;
    assert!(has_line(&page, line), "{line} missing from:\n{page}");
}
