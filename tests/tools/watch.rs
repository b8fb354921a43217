//! `dnsbl-check --watch` end to end: a real rbldnsd whose zone files change while the watcher
//! runs, the state file across restarts and signals, and `--exec`/`--webhook` deliveries to
//! receivers that are down for a while.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::process::Command;

use crate::support::rbldnsd::{Rbldnsd, ZoneData};
use crate::support::tool::{Tool, ToolProcess};
use crate::support::unbound::Unbound;

const ZONE: &str = "watch.test";
/// The zone with nothing listed but its RFC 5782 test point.
const CLEAN: &str = ":127.0.0.2:Listed $\n127.0.0.2\n";
/// How long an expected event may take: a reload (about 1 s) and a few 1 s rounds, on a
/// loaded machine.
const EVENT_WAIT: Duration = Duration::from_secs(30);

/// The zone listing `listed` with `code` (127.0.0.2 stays listed as the test point).
fn zone(code: &str, listed: &[&str]) -> String {
    let mut text = format!(":{code}:Listed $\n127.0.0.2\n");
    for address in listed {
        text.push_str(address);
        text.push('\n');
    }
    text
}

fn start_rbldnsd() -> Rbldnsd {
    Rbldnsd::start_reloading(&[(ZONE, ZoneData::Ip4Set(CLEAN))]).expect("start rbldnsd")
}

/// Rewrites the zone, then waits out rbldnsd's one-second granularity.
async fn rewrite(rbl: &Rbldnsd, text: &str) {
    rbl.rewrite(0, &ZoneData::Ip4Set(text)).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

/// A running watcher, its stdout read line by line.
struct Watch(ToolProcess);

impl Watch {
    /// Watches 192.0.2.0/30 on [`ZONE`], asking `rbl`.
    fn start(rbl: &Rbldnsd, state: &Path, extra: &[&str]) -> Watch {
        let server = rbl.addr.to_string();
        let args = [
            &["--nameserver", &server, "--zone", ZONE],
            extra,
            &["192.0.2.0/30"],
        ];
        Watch::spawn(state, &args.concat())
    }

    /// `dnsbl-check --watch 1 --format json --state STATE ARGS`.
    fn spawn(state: &Path, args: &[&str]) -> Watch {
        let state = state.to_str().expect("a UTF-8 path");
        let watch = ["--timeout", "2", "--watch", "1", "--format", "json"];
        let args = [&watch[..], &["--state", state], args].concat();
        Watch(ToolProcess::spawn(Tool::Check, &args, &[]))
    }

    /// The next event, parsed; panics after [`EVENT_WAIT`].
    async fn event(&mut self) -> Value {
        let line = self
            .0
            .next_line(EVENT_WAIT)
            .await
            .unwrap_or_else(|stderr| panic!("no event in time; stderr: {stderr}"))
            .unwrap_or_else(|| panic!("watcher ended; stderr: {}", self.stderr()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    /// Asserts that no event comes for `quiet`.
    async fn no_event(&mut self, quiet: Duration) {
        if let Ok(Some(line)) = self.0.next_line(quiet).await {
            panic!("unexpected event {line}");
        }
    }

    /// Sends `signal` and returns the exit code and every line still unread.
    async fn stop(&mut self, signal: i32) -> (i32, Vec<String>) {
        self.0.signal(signal);
        let status = self.0.wait_within(EVENT_WAIT).await;
        let rest = self.0.rest_of_stdout().await;
        let code = status
            .code()
            .unwrap_or_else(|| panic!("killed: {status:?}"));
        (code, rest)
    }

    fn stderr(&self) -> String {
        self.0.logs()
    }
}

/// Waits until the state file holds `pairs` pairs: the baseline round is saved.
async fn wait_for_baseline(state: &Path, pairs: usize) {
    use dnsbl_check::monitor::{StateStore, TrackerConfig};
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let known = StateStore::open_read_only(state)
            .and_then(|store| store.load(TrackerConfig::default()))
            .map(|tracker| tracker.len());
        if known.as_ref().is_ok_and(|&n| n >= pairs) {
            return;
        }
        assert!(Instant::now() < deadline, "no baseline: {known:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn state_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    (dir, path)
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn reports_listed_changed_delisted_then_stops_on_sigterm() {
    let rbl = start_rbldnsd();
    let (_dir, state) = state_file();
    let mut watch = Watch::start(&rbl, &state, &["--confirm", "1"]);
    wait_for_baseline(&state, 4).await;

    rewrite(&rbl, &zone("127.0.0.2", &["192.0.2.1"])).await;
    let listed = watch.event().await;
    assert_eq!(listed["event"], "listed", "{listed}");
    assert_eq!(listed["target"], "192.0.2.1");
    assert_eq!(listed["list"], ZONE);
    assert_eq!(listed["zone"], ZONE);
    assert_eq!(listed["codes"], serde_json::json!(["127.0.0.2"]));
    assert_eq!(listed["reasons"], serde_json::json!(["Listed 192.0.2.1"]));
    assert_eq!(listed["previous"]["status"], "not_listed");
    assert!(listed["lookup_url"].is_null());
    let at = listed["at"].as_str().unwrap();
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "{at}"
    );

    rewrite(&rbl, &zone("127.0.0.3", &["192.0.2.1"])).await;
    let changed = watch.event().await;
    assert_eq!(changed["event"], "changed", "{changed}");
    assert_eq!(changed["codes"], serde_json::json!(["127.0.0.3"]));
    assert_eq!(
        changed["previous"]["codes"],
        serde_json::json!(["127.0.0.2"])
    );

    rewrite(&rbl, CLEAN).await;
    let delisted = watch.event().await;
    assert_eq!(delisted["event"], "delisted", "{delisted}");
    assert_eq!(delisted["codes"], serde_json::json!([]));
    assert_eq!(
        delisted["previous"]["codes"],
        serde_json::json!(["127.0.0.3"])
    );

    let (code, rest) = watch.stop(libc::SIGTERM).await;
    assert_eq!(code, 0);
    assert!(rest.is_empty(), "{rest:?}");

    // The history holds the three events, in order, as JSON and as text.
    let history = run_history(&state, "json", &[]).await;
    let kinds: Vec<Value> = history
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["event"].clone())
        .collect();
    assert_eq!(kinds, ["listed", "changed", "delisted"]);
    let text = run_history(&state, "text", &["192.0.2.1"]).await;
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains(" listed 192.0.2.1 on watch.test: listed 127.0.0.2"),
        "{text}"
    );
    assert!(run_history(&state, "text", &["192.0.2.2"]).await.is_empty());
}

async fn run_history(state: &Path, format: &str, targets: &[&str]) -> String {
    let output = Command::new(crate::support::tool::Tool::Check.binary())
        .arg("--state")
        .arg(state)
        .args(["--format", format, "--history"])
        .args(targets)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn confirm_n_ignores_flapping_that_confirm_1_reports() {
    let rbl = start_rbldnsd();
    let (_dir, state) = state_file();
    let (_dir1, state1) = state_file();
    let mut steady = Watch::start(&rbl, &state, &["--confirm", "5"]);
    let mut eager = Watch::start(&rbl, &state1, &["--confirm", "1"]);
    wait_for_baseline(&state, 4).await;
    wait_for_baseline(&state1, 4).await;

    // Each status lasts about 2 s: two or three 1 s rounds, four at most with reload jitter.
    for _ in 0..3 {
        rbl.rewrite(0, &ZoneData::Ip4Set(&zone("127.0.0.2", &["192.0.2.1"])))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2100)).await;
        rbl.rewrite(0, &ZoneData::Ip4Set(CLEAN)).unwrap();
        tokio::time::sleep(Duration::from_millis(2100)).await;
    }
    let mut flaps = Vec::new();
    while let Some(line) = eager.0.try_next_line() {
        flaps.push(serde_json::from_str::<Value>(&line).unwrap()["event"].clone());
    }
    assert!(flaps.len() >= 4, "confirm 1 saw the flapping: {flaps:?}");
    assert!(
        flaps.iter().all(|e| e == "listed" || e == "delisted"),
        "{flaps:?}"
    );
    steady.no_event(Duration::from_millis(100)).await;

    // A listing that stays is reported, once, after five rounds agree.
    rewrite(&rbl, &zone("127.0.0.2", &["192.0.2.1"])).await;
    let listed = steady.event().await;
    assert_eq!(listed["event"], "listed");
    assert_eq!(listed["target"], "192.0.2.1");
    steady.no_event(Duration::from_secs(3)).await;
    assert_eq!(steady.stop(libc::SIGINT).await, (0, vec![]));
    eager.stop(libc::SIGTERM).await;
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn a_restart_repeats_no_event() {
    let rbl = start_rbldnsd();
    let (_dir, state) = state_file();
    let mut first = Watch::start(&rbl, &state, &["--confirm", "1"]);
    wait_for_baseline(&state, 4).await;
    rewrite(&rbl, &zone("127.0.0.2", &["192.0.2.1", "192.0.2.2"])).await;
    let a = first.event().await;
    let b = first.event().await;
    assert_eq!(
        (&a["event"], &b["event"]),
        (&"listed".into(), &"listed".into())
    );
    assert_eq!(first.stop(libc::SIGTERM).await, (0, vec![]));

    // The same listings after a restart are no news; only the delisting is.
    let mut second = Watch::start(&rbl, &state, &["--confirm", "1", "--report-baseline"]);
    second.no_event(Duration::from_secs(4)).await;
    rewrite(&rbl, &zone("127.0.0.2", &["192.0.2.2"])).await;
    let delisted = second.event().await;
    assert_eq!(delisted["event"], "delisted");
    assert_eq!(delisted["target"], "192.0.2.1");
    second.no_event(Duration::from_secs(3)).await;
    assert_eq!(second.stop(libc::SIGTERM).await, (0, vec![]));
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn baseline_listings_are_reported_when_asked() {
    let rbl =
        Rbldnsd::start_reloading(&[(ZONE, ZoneData::Ip4Set(&zone("127.0.0.2", &["192.0.2.3"])))])
            .unwrap();
    let (_dir, state) = state_file();
    let mut watch = Watch::start(&rbl, &state, &["--report-baseline"]);
    let event = watch.event().await;
    assert_eq!(event["event"], "listed");
    assert_eq!(event["target"], "192.0.2.3");
    assert!(event["previous"].is_null());
    watch.no_event(Duration::from_secs(3)).await;
    assert_eq!(watch.stop(libc::SIGTERM).await, (0, vec![]));
}

/// Runs `dnsbl-check --state STATE ARGS` to its end, naming a loopback name server that
/// nothing may ask.
async fn run_on_state(state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(crate::support::tool::Tool::Check.binary())
        .args(["--nameserver", "127.0.0.1:9", "--state"])
        .arg(state)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_corrupt_state_file_is_refused_and_left_alone() {
    let (_dir, state) = state_file();
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 256) as u8).collect();
    std::fs::write(&state, &garbage).unwrap();
    // No query is sent: the state is opened before the first round. The name server is
    // on loopback all the same.
    for args in [
        &["--watch", "1", "--zone", ZONE, "192.0.2.1"][..],
        &["--history"][..],
    ] {
        let output = run_on_state(&state, args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&state.display().to_string()), "{stderr}");
        assert!(output.stdout.is_empty());
        assert_eq!(std::fs::read(&state).unwrap(), garbage);
    }
}

#[tokio::test]
async fn nagios_format_is_refused_in_watch_mode() {
    let (_dir, state) = state_file();
    for args in [
        &["--watch", "1", "--zone", ZONE, "192.0.2.1"][..],
        &["--history"][..],
    ] {
        let output = run_on_state(&state, &[&["--format", "nagios"], args].concat()).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--format nagios"), "{stderr}");
        assert!(stderr.contains("Usage:"), "{stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!state.exists(), "nothing was started");
    }
}

/// What the test webhook receiver got: per delivery id, the events.
type Received = Arc<Mutex<Vec<(String, Vec<Value>)>>>;

/// A minimal HTTP/1.1 receiver on `listener`: answers the first `failures` requests with
/// 500, the rest with 200, and records each request's delivery id and events.
async fn receive_webhooks(listener: TcpListener, received: Received, mut failures: usize) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let Some((head, body)) = read_request(&mut stream).await else {
            continue;
        };
        let head = head.to_lowercase();
        let status = if failures > 0 {
            failures -= 1;
            "500 Internal Server Error"
        } else {
            let id = header(&head, "x-dnsbl-delivery")
                .unwrap_or_default()
                .to_owned();
            let events: Vec<Value> = serde_json::from_slice(&body).unwrap();
            received.lock().unwrap().push((id, events));
            "200 OK"
        };
        let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let _ = stream.write_all(reply.as_bytes()).await;
    }
}

/// One HTTP/1.1 request from `stream`: its head (up to the blank line) and its body (of
/// `content-length` bytes); `None` when the client closed first.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buffer).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&buffer[..n]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let length = header(&head.to_lowercase(), "content-length").map_or(0, |v| v.parse().unwrap());
    while request.len() < head_end + length {
        let n = stream.read(&mut buffer).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    Some((head, request.split_off(head_end)))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// Every event as `event target at`, counted.
fn tally<'a>(events: impl IntoIterator<Item = &'a Value>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for event in events {
        let key = format!("{} {} {}", event["event"], event["target"], event["at"]);
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn deliveries_survive_a_receiver_that_is_down_and_a_restart() {
    let rbl = start_rbldnsd();
    let (dir, state) = state_file();
    // The webhook's port, free for now: the receiver is down (connection refused).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    // The command fails until the flag file exists, then appends each payload as one line.
    let flag = dir.path().join("up");
    let inbox = dir.path().join("inbox");
    let command = format!(
        "test -e '{}' && {{ tr -d '\\n' >> '{}'; echo >> '{}'; }}",
        flag.display(),
        inbox.display(),
        inbox.display()
    );
    let args = ["--confirm", "1", "--webhook", &url, "--exec", &command];
    let mut watch = Watch::start(&rbl, &state, &args);
    wait_for_baseline(&state, 4).await;

    let mut printed = Vec::new();
    rewrite(&rbl, &zone("127.0.0.2", &["192.0.2.1"])).await;
    printed.push(watch.event().await);
    rewrite(&rbl, &zone("127.0.0.2", &["192.0.2.1", "192.0.2.2"])).await;
    printed.push(watch.event().await);
    // Both sinks keep failing for a few rounds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(watch.stderr().is_empty() || !watch.stderr().contains("panicked"));

    // The receiver comes up, failing its first two requests; the command starts working.
    let received: Received = Arc::default();
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = tokio::spawn(receive_webhooks(listener, Arc::clone(&received), 2));
    std::fs::write(&flag, "").unwrap();
    rewrite(&rbl, &zone("127.0.0.2", &["192.0.2.2"])).await;
    printed.push(watch.event().await);

    // A restart in between: what was delivered is not delivered again.
    assert_eq!(watch.stop(libc::SIGTERM).await, (0, vec![]));
    let mut watch = Watch::start(&rbl, &state, &args);
    tokio::time::sleep(Duration::from_secs(2)).await;
    rewrite(&rbl, CLEAN).await;
    printed.push(watch.event().await);

    let expected = tally(&printed);
    assert_eq!(expected.len(), 4, "{printed:?}");
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let got = tally(received.lock().unwrap().iter().flat_map(|(_, e)| e));
        let exec = std::fs::read_to_string(&inbox).unwrap_or_default();
        let exec_events: Vec<Value> = exec
            .lines()
            .flat_map(|line| serde_json::from_str::<Vec<Value>>(line).unwrap())
            .collect();
        if got == expected && tally(&exec_events) == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "webhook got {got:?}, command got {exec:?}, expected {expected:?}; {}",
            watch.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every delivery arrived once, and nothing more comes.
    watch.no_event(Duration::from_secs(3)).await;
    let deliveries = received.lock().unwrap().clone();
    let mut ids: Vec<&String> = deliveries.iter().map(|(id, _)| id).collect();
    ids.dedup();
    assert_eq!(ids.len(), deliveries.len(), "{deliveries:?}");
    assert_eq!(tally(deliveries.iter().flat_map(|(_, e)| e)), expected);
    let (code, _) = watch.stop(libc::SIGTERM).await;
    assert_eq!(code, 0);
    server.abort();
}

#[tokio::test]
#[ignore = "needs unbound"]
async fn watches_a_domains_mail_servers_through_unbound() {
    // Short TTLs and an SOA, so that unbound does not keep an old answer for long.
    const SOA: &str = "$TTL 1\n$SOA 1 ns.mxl.test. hostmaster.mxl.test. 1 1 1 1 1\n";
    let clean = format!("{SOA}:127.0.0.2:Listed $\n127.0.0.2\n");
    let rbl = Rbldnsd::start_reloading(&[("mxl.test", ZoneData::Ip4Set(&clean))]).unwrap();
    let unbound = Unbound::start(
        &[
            r#"local-zone: "example.test" transparent"#,
            r#"local-data: "example.test. MX 10 mx1.example.test.""#,
            r#"local-data: "mx1.example.test. A 10.9.9.2""#,
            r#"local-data: "2.9.9.10.in-addr.arpa. PTR mx1.example.test.""#,
        ],
        &[("mxl.test", rbl.addr)],
    )
    .expect("unbound");
    let (_dir, state) = state_file();
    let server = unbound.addr.to_string();
    let args = [
        "--nameserver",
        &server,
        "--zone",
        "mxl.test",
        "--confirm",
        "1",
    ];
    let mut watch = Watch::spawn(&state, &[&args[..], &["--mx", "example.test"]].concat());
    wait_for_baseline(&state, 1).await;

    let listed = format!("{clean}10.9.9.2\n");
    rbl.rewrite(0, &ZoneData::Ip4Set(&listed)).unwrap();
    let event = watch.event().await;
    assert_eq!(event["event"], "listed", "{event}");
    assert_eq!(event["target"], "10.9.9.2");
    assert_eq!(event["via"], "example.test");
    assert_eq!(event["host"], "mx1.example.test");
    assert_eq!(event["list"], "mxl.test");
    assert_eq!(watch.stop(libc::SIGTERM).await, (0, vec![]));
}

#[tokio::test]
async fn sigterm_mid_round_saves_what_was_checked_and_exits_zero() {
    use crate::support::{Behaviour, TestDns};
    use dnsbl_check::monitor::{StateStore, TrackerConfig};
    // Every answer takes 50 ms, four at a time: a round of 256 addresses takes over 3 s.
    let mut builder = TestDns::builder().healthy_ip_zone(ZONE);
    for last in 0..256 {
        let delayed = Behaviour::Delay(Duration::from_millis(50), Box::new(Behaviour::NxDomain));
        builder = builder.on(&format!("{last}.2.0.192.{ZONE}"), "A", delayed);
    }
    let dns = builder.start().await;
    let (_dir, state) = state_file();
    let server = dns.addr.to_string();
    let args = [
        "--nameserver",
        &server,
        "--zone",
        ZONE,
        "--concurrency",
        "4",
    ];
    let mut watch = Watch::spawn(&state, &[&args[..], &["192.0.2.0/24"]].concat());
    // The first queries mean the round (and the signal handlers) started.
    let deadline = Instant::now() + EVENT_WAIT;
    while dns.query_count() < 10 {
        assert!(Instant::now() < deadline, "no queries");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopping = Instant::now();
    let (code, rest) = watch.stop(libc::SIGTERM).await;
    assert_eq!(code, 0);
    assert!(rest.is_empty());
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "{:?}",
        stopping.elapsed()
    );
    let saved = StateStore::open_read_only(&state)
        .and_then(|store| store.load(TrackerConfig::default()))
        .unwrap()
        .len();
    assert!(
        saved > 0 && saved < 256,
        "a partial round was saved: {saved} pairs"
    );
}

/// A zone on the in-process server with 192.0.2.1 listed, and its healthy test point.
async fn listing_dns() -> crate::support::TestDns {
    crate::support::TestDns::builder()
        .healthy_ip_zone(ZONE)
        .a("1.2.0.192.watch.test", &["127.0.0.2"], 60)
        .start()
        .await
}

#[tokio::test]
async fn a_second_watcher_on_the_same_state_is_refused_naming_the_holder() {
    let dns = listing_dns().await;
    let (_dir, state) = state_file();
    let server = dns.addr.to_string();
    let args = ["--nameserver", &server, "--zone", ZONE, "192.0.2.1"];
    let first = Watch::spawn(&state, &args);
    let pid = first.0.pid();
    wait_for_baseline(&state, 1).await;

    let mut second = Watch::spawn(&state, &args);
    assert_eq!(second.0.wait_within(EVENT_WAIT).await.code(), Some(2));
    let stderr = second.0.all_logs().await;
    assert!(stderr.contains(&state.display().to_string()), "{stderr}");
    assert!(stderr.contains("in use by another watcher"), "{stderr}");
    assert!(stderr.contains(&format!("pid {pid} on host ")), "{stderr}");
    assert!(
        second.0.rest_of_stdout().await.is_empty(),
        "the second watcher printed events"
    );

    // The history reads on meanwhile (nothing happened yet: a silent baseline).
    assert_eq!(run_history(&state, "json", &[]).await, "");

    // A watcher killed outright leaves no lock behind.
    let mut first = first;
    first.0.kill();
    assert_eq!(
        first.0.wait_within(EVENT_WAIT).await.code(),
        None,
        "killed by the signal"
    );
    let mut third = Watch::spawn(&state, &args);
    let third_pid = third.0.pid();
    let deadline = Instant::now() + EVENT_WAIT;
    let lock = format!("{}.lock", state.display());
    while !std::fs::read_to_string(&lock)
        .is_ok_and(|record| record.starts_with(&format!("pid {third_pid}\n")))
    {
        assert!(Instant::now() < deadline, "the lock was never taken over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(third.stop(libc::SIGTERM).await, (0, vec![]));
}

/// One request the redirect receiver got: request line, delivery id, body.
type Request = (String, String, Vec<u8>);

/// A minimal HTTP/1.1 receiver: the first request gets `302 Found` to another path of the
/// same server, every later one `200 OK`.
async fn receive_behind_a_redirect(listener: TcpListener, requests: Arc<Mutex<Vec<Request>>>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let Some((head, body)) = read_request(&mut stream).await else {
            continue;
        };
        let lower = head.to_lowercase();
        let line = head.lines().next().unwrap_or_default().to_owned();
        let id = header(&lower, "x-dnsbl-delivery")
            .unwrap_or_default()
            .to_owned();
        let first = {
            let mut requests = requests.lock().unwrap();
            requests.push((line, id, body));
            requests.len() == 1
        };
        let reply = if first {
            "HTTP/1.1 302 Found\r\nlocation: /moved\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        } else {
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        };
        let _ = stream.write_all(reply.as_bytes()).await;
    }
}

#[tokio::test]
async fn a_webhook_that_redirects_is_a_failed_delivery_retried_by_post() {
    use dnsbl_check::monitor::StateStore;
    let dns = listing_dns().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let receiver = tokio::spawn(receive_behind_a_redirect(listener, Arc::clone(&requests)));
    let (_dir, state) = state_file();
    let server = dns.addr.to_string();
    let mut watch = Watch::spawn(
        &state,
        &[
            "--nameserver",
            &server,
            "--zone",
            ZONE,
            "--report-baseline",
            "--webhook",
            &url,
            "192.0.2.1",
        ],
    );
    let event = watch.event().await;
    assert_eq!(event["event"], "listed");
    let deadline = Instant::now() + EVENT_WAIT;
    while requests.lock().unwrap().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "no second attempt; stderr: {}",
            watch.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, _) = watch.stop(libc::SIGTERM).await;
    let stderr = watch.0.all_logs().await;
    assert_eq!(code, 0);
    receiver.abort();
    let requests = requests.lock().unwrap().clone();
    // Every attempt is the POST of the one delivery, to the URL given: the redirect was
    // never followed (reqwest would have sent a GET without a body to /moved).
    for (line, id, body) in &requests {
        assert_eq!(line, "POST /hook HTTP/1.1", "{requests:?}");
        assert_eq!(id, &requests[0].1);
        let events: Vec<Value> = serde_json::from_slice(body).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["event"], "listed");
        assert_eq!(events[0]["target"], "192.0.2.1");
    }
    assert!(stderr.contains("302"), "{stderr}");
    assert!(
        stderr.contains(&format!("redirect to {}", url.trim_end_matches("/hook"))),
        "{stderr}"
    );
    // The 302 counted as a failed attempt, the 200 made the delivery.
    let store = StateStore::open_read_only(&state).unwrap();
    assert!(store.pending("webhook").unwrap().is_empty());
    let id: i64 = requests[0].1.parse().unwrap();
    assert_eq!(store.attempts(id).unwrap(), Some(2));
}

/// The list goes blind after the baseline (every name NXDOMAIN, its test point too, as
/// through a filtering resolver): the listing is not announced as delisted but as trouble,
/// and no second `listed` comes when sight returns.
#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn a_list_gone_blind_is_trouble_not_a_delisting() {
    let rbl =
        Rbldnsd::start_reloading(&[(ZONE, ZoneData::Ip4Set(&zone("127.0.0.2", &["192.0.2.1"])))])
            .expect("start rbldnsd");
    let (_dir, state) = state_file();
    let config = crate::cli::write_config("health_interval = 2\n");
    let config = config.path().to_str().unwrap().to_owned();
    let mut watch = Watch::start(&rbl, &state, &["--confirm", "2", "--config", &config]);
    wait_for_baseline(&state, 4).await;

    // Nothing at all, the test point included.
    rewrite(&rbl, ":127.0.0.2:Listed $\n").await;
    let mut trouble = Vec::new();
    for _ in 0..4 {
        let event = watch.event().await;
        assert_eq!(event["event"], "trouble", "{event}");
        assert!(
            event["detail"]
                .as_str()
                .unwrap()
                .contains("test point 127.0.0.2 is not listed"),
            "{event}"
        );
        trouble.push(event["target"].as_str().unwrap().to_owned());
    }
    trouble.sort();
    assert_eq!(
        trouble,
        ["192.0.2.0", "192.0.2.1", "192.0.2.2", "192.0.2.3"]
    );

    // Sight returns with the same listing: recoveries, and nothing else.
    rewrite(&rbl, &zone("127.0.0.2", &["192.0.2.1"])).await;
    for _ in 0..4 {
        let event = watch.event().await;
        assert_eq!(event["event"], "recovered", "{event}");
    }
    watch.no_event(Duration::from_secs(4)).await;
    let (code, rest) = watch.stop(libc::SIGTERM).await;
    assert_eq!(code, 0);
    assert!(rest.is_empty(), "{rest:?}");
    // Said once on stderr, in words (read to its end once the watcher exited).
    let stderr = watch.0.all_logs().await;
    let said = stderr
        .lines()
        .filter(|line| line.contains("warning: watch.test: the test point 127.0.0.2 is not listed"))
        .count();
    assert_eq!(said, 1, "{stderr}");
    let history = run_history(&state, "json", &[]).await;
    let kinds: Vec<Value> = history
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["event"].clone())
        .collect();
    assert_eq!(kinds.len(), 8, "{history}");
    assert!(
        kinds
            .iter()
            .all(|kind| kind == "trouble" || kind == "recovered"),
        "{history}"
    );
}
