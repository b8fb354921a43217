//! Latency of `dnsbl-policyd` under load: 100 policy connections at once, as 100 Postfix smtpd
//! processes would hold them, each sending requests one after another.
//!
//! ```text
//! cargo bench --bench policyd_latency
//! ```
//!
//! The list is served by rbldnsd on 127.0.0.1 when it is installed (the in-process test
//! server otherwise), and the server is the release build of the example. Measured, each
//! from 100 concurrent tasks:
//!
//! - one DNS round trip: an A query through the library's resolver, straight to the list
//!   server (the cost a policy server cannot avoid on a cache miss);
//! - a policy request for a client never seen before and not listed: one A query;
//! - the same for listed clients: an A query, then a TXT query for the reason;
//! - a policy request for a client asked about before: answered from the cache.
//!
//! The goal: a request's p99 at most one list round trip (p99) plus 1 ms. Everything runs on
//! the same machine (the clients, the server and the DNS server share its cores), so the
//! numbers are an upper bound on what the server adds.
//!
//! Without `--bench` (as `cargo test --benches` runs it) it only says how to run it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dnsbl_check::{DnsResolver, HickoryResolver, NameServer};
use support::policy::client_request;
use support::rbldnsd::{Rbldnsd, ZoneData};
use support::tool::{ToolProcess, build_example};
use support::{Behaviour, TestDns};
use tokio::sync::Barrier;

const CONNECTIONS: usize = 100;
const REQUESTS: usize = 50;
const ZONE: &str = "bl.test";
/// Each connection sends a request this often (2,000 requests/s in all): a busy MTA, but not
/// one that saturates the machine. `POLICYD_BENCH_PACE_MS` changes it.
const PACE: Duration = Duration::from_millis(50);

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("policyd_latency: run it with `cargo bench --bench policyd_latency`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run());
}

/// The list server: 198.18.0.0/16 listed (with a TXT reason), 198.19.0.0/16 not.
enum ListServer {
    Rbldnsd(Rbldnsd),
    InProcess(TestDns),
}

impl ListServer {
    async fn start() -> ListServer {
        if Rbldnsd::available() {
            let data = ":127.0.0.2:Listed: see https://bl.test/?$\n\
                        $TTL 300\n\
                        127.0.0.2\n\
                        198.18.0.0/16\n";
            let rbldnsd = Rbldnsd::start(&[(ZONE, ZoneData::Ip4Set(data))]).expect("start rbldnsd");
            return ListServer::Rbldnsd(rbldnsd);
        }
        let listed = Behaviour::A(vec![Ipv4Addr::new(127, 0, 0, 2)], 300);
        let reason = Behaviour::Txt(vec![vec![b"Listed: see https://bl.test/".to_vec()]], 300);
        let dns = TestDns::builder()
            .zone(ZONE)
            .a(&format!("2.0.0.127.{ZONE}"), &["127.0.0.2"], 300)
            .on(&format!("*.18.198.{ZONE}"), "A", listed)
            .on(&format!("*.18.198.{ZONE}"), "TXT", reason)
            .start()
            .await;
        ListServer::InProcess(dns)
    }

    fn addr(&self) -> SocketAddr {
        match self {
            ListServer::Rbldnsd(rbldnsd) => rbldnsd.addr,
            ListServer::InProcess(dns) => dns.addr,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            ListServer::Rbldnsd(_) => "rbldnsd on 127.0.0.1 (UDP)",
            ListServer::InProcess(_) => "the in-process test server on 127.0.0.1",
        }
    }
}

/// Latency percentiles of a sample.
struct Summary {
    p50: Duration,
    p99: Duration,
    max: Duration,
    count: usize,
    /// The server's CPU time per request, if measured.
    cpu: Option<Duration>,
}

impl Summary {
    fn of(mut sample: Vec<Duration>) -> Summary {
        sample.sort_unstable();
        let at = |quantile: f64| sample[((sample.len() - 1) as f64 * quantile).round() as usize];
        Summary {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
            count: sample.len(),
            cpu: None,
        }
    }

    fn print(&self, what: &str) {
        let cpu = self
            .cpu
            .map_or_else(String::new, |cpu| format!("{:.1}", cpu.as_secs_f64() * 1e6));
        println!(
            "{what:<48} {:>8.3} {:>8.3} {:>8.3} {:>7} {cpu:>10}",
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.count
        );
    }
}

/// CPU time (user and system) a process has used so far, from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The fields after the command name (which is in parentheses, and may hold spaces):
    // utime and stime are fields 14 and 15 of the whole line.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a stat line")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / per_second)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The address of client `n` of a /16: 198.18.x.y (listed) or 198.19.x.y (not listed).
fn client(listed: bool, n: usize) -> String {
    let second = if listed { 18 } else { 19 };
    Ipv4Addr::new(198, second, (n >> 8) as u8, n as u8).to_string()
}

/// Waits for the next request's turn: task `task` of `CONNECTIONS` sends one request every
/// `pace`, the tasks spread evenly over it. No pace: as fast as the answers come.
struct Pacer(Option<tokio::time::Interval>);

impl Pacer {
    fn new(pace: Option<Duration>, task: usize) -> Pacer {
        Pacer(pace.map(|pace| {
            let offset = pace.mul_f64(task as f64 / CONNECTIONS as f64);
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, pace);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks
        }))
    }

    async fn wait(&mut self) {
        if let Some(ticks) = &mut self.0 {
            ticks.tick().await;
        }
    }
}

/// One DNS round trip: `CONNECTIONS` tasks, each asking `REQUESTS` names in turn.
async fn dns_round_trips(server: SocketAddr, pace: Option<Duration>) -> Vec<Duration> {
    let resolver = Arc::new(
        HickoryResolver::builder()
            .name_server(NameServer::new(server))
            .timeout(Duration::from_secs(2))
            .build()
            .expect("a resolver"),
    );
    let barrier = Arc::new(Barrier::new(CONNECTIONS));
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..CONNECTIONS {
        let (resolver, barrier) = (resolver.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let mut pacer = Pacer::new(pace, task);
            let mut times = Vec::with_capacity(REQUESTS);
            for request in 0..REQUESTS {
                pacer.wait().await;
                // Names of the unlisted half, none asked twice (nothing caches them anyway).
                let n = 30_000 + task * REQUESTS + request;
                let name = format!("{}.{}.19.198.{ZONE}.", n as u8, (n >> 8) as u8);
                let started = Instant::now();
                resolver.lookup_a(&name).await.expect("an answer");
                times.push(started.elapsed());
            }
            times
        });
    }
    tasks.join_all().await.concat()
}

/// Policy requests: `CONNECTIONS` connections, each sending `REQUESTS` requests in turn for
/// the clients `pick(connection, request)` names, after one unmeasured warm-up request.
async fn policy_requests(
    server: &Arc<ToolProcess>,
    pace: Option<Duration>,
    pick: fn(usize, usize) -> String,
    expect_listed: fn(usize, usize) -> bool,
) -> Summary {
    let cpu_before = cpu_time(server.pid());
    let barrier = Arc::new(Barrier::new(CONNECTIONS));
    let mut tasks = tokio::task::JoinSet::new();
    for connection in 0..CONNECTIONS {
        let (server, barrier) = (server.clone(), barrier.clone());
        tasks.spawn(async move {
            let mut conn = server.connect().await;
            conn.ask(&client_request("198.51.100.1")).await;
            barrier.wait().await;
            let mut pacer = Pacer::new(pace, connection);
            let mut times = Vec::with_capacity(REQUESTS);
            for request in 0..REQUESTS {
                pacer.wait().await;
                let address = pick(connection, request);
                let attributes = client_request(&address);
                let started = Instant::now();
                let action = conn.ask(&attributes).await;
                times.push(started.elapsed());
                let listed = expect_listed(connection, request);
                assert_eq!(action.starts_with("REJECT "), listed, "{address}: {action}");
            }
            times
        });
    }
    let times = tasks.join_all().await.concat();
    // Includes the unmeasured warm-up requests: an upper bound.
    let cpu = cpu_time(server.pid()).saturating_sub(cpu_before) / times.len() as u32;
    Summary {
        cpu: Some(cpu),
        ..Summary::of(times)
    }
}

async fn run() {
    let lists = ListServer::start().await;
    let binary = build_example("dnsbl-policyd", true);
    let address = lists.addr().to_string();
    // POLICYD_BENCH_TRANSPORT=pooled measures the pooled transport instead of the stock one.
    let transport = std::env::var("POLICYD_BENCH_TRANSPORT").unwrap_or_else(|_| "hickory".into());
    let server = ToolProcess::try_serve_binary(
        &binary,
        &[
            "--nameserver",
            &address,
            "--zone",
            ZONE,
            "--timeout",
            "2",
            "--transport",
            &transport,
        ],
        &[],
    )
    .await
    .unwrap_or_else(|logs| panic!("dnsbl-policyd did not start:\n{logs}"));
    let server = Arc::new(server);

    let pace = std::env::var("POLICYD_BENCH_PACE_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(PACE, Duration::from_millis);
    println!(
        "dnsbl-policyd (release, {transport} transport): {CONNECTIONS} connections x {REQUESTS} \
         requests, one IP list served by {}",
        lists.describe()
    );
    println!("load average before: {}", load_average());
    println!(
        "paced: each connection sends a request every {} ms ({:.0} requests/s in all)",
        pace.as_millis(),
        CONNECTIONS as f64 / pace.as_secs_f64()
    );
    header();
    let round_trip = Summary::of(dns_round_trips(lists.addr(), Some(pace)).await);
    round_trip.print("one DNS round trip (library resolver, no cache)");
    // Clients 0..5000 of each /16 are new here; 5000..10000 in the saturated run.
    let clean = policy_requests(
        &server,
        Some(pace),
        |connection, request| client(false, connection * REQUESTS + request),
        |_, _| false,
    )
    .await;
    clean.print("policy request, new client, not listed (1 RTT)");
    let listed = policy_requests(
        &server,
        Some(pace),
        |connection, request| client(true, connection * REQUESTS + request),
        |_, _| true,
    )
    .await;
    listed.print("policy request, new client, listed (A + TXT)");
    // Each connection's first client was asked about in one of the two runs above.
    let cached = policy_requests(
        &server,
        Some(pace),
        |connection, _| client(connection % 2 == 0, connection * REQUESTS),
        |connection, _| connection % 2 == 0,
    )
    .await;
    cached.print("policy request, client seen before (cached)");

    let added_p50 = ms(clean.p50) - ms(round_trip.p50);
    let added_p99 = ms(clean.p99) - ms(round_trip.p99);
    println!(
        "added by the server per uncached request (not listed, minus one round trip): \
         p50 {added_p50:.3} ms, p99 {added_p99:.3} ms"
    );
    let goal = ms(round_trip.p99) + 1.0;
    println!(
        "goal: p99 <= round trip p99 + 1 ms = {goal:.3} ms: {} (new clients, not listed: p99 \
         {:.3} ms; cached: p99 {:.3} ms)",
        if ms(clean.p99) <= goal {
            "met"
        } else {
            "NOT met"
        },
        ms(clean.p99),
        ms(cached.p99)
    );

    println!();
    println!("saturated: each connection sends its next request as soon as it has an answer");
    header();
    let started = Instant::now();
    let saturated = policy_requests(
        &server,
        None,
        |connection, _| client(connection % 2 == 0, connection * REQUESTS),
        |connection, _| connection % 2 == 0,
    )
    .await;
    let rate = saturated.count as f64 / started.elapsed().as_secs_f64();
    saturated.print("policy request, cached");
    let uncached = policy_requests(
        &server,
        None,
        |connection, request| client(false, 5000 + connection * REQUESTS + request),
        |_, _| false,
    )
    .await;
    uncached.print("policy request, new client, not listed");
    println!("cached throughput: about {rate:.0} requests/s (the clients included)");
    println!("server CPU: microseconds of user + system time per request (warm-ups included)");
    println!("load average after: {}", load_average());
}

fn header() {
    println!(
        "{:<48} {:>8} {:>8} {:>8} {:>7} {:>10}",
        "latency in ms", "p50", "p99", "max", "n", "server CPU"
    );
}
