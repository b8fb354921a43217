//! Resources: file descriptors, memory, cancelled checks, and the system resolver config.
//!
//! Each test here runs its body in a child process (this same test binary, re-executed for one
//! `#[ignore]`d test with [`CHILD_ENV`] set), so that a resource limit, a memory measurement, a
//! count of open file descriptors or a mount namespace concerns that body alone and not the
//! other tests running in the harness. Run directly (as `cargo test -- --ignored` does), a
//! child body sees no [`CHILD_ENV`] and returns at once.
//!
//! Every DNS packet goes to a test server on 127.0.0.1 that the test starts (inside a private
//! network namespace for the resolv.conf test).
#![cfg(target_os = "linux")]

mod support;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use dnsbl_check::{Checker, DnsList, ListKind, Outcome, Target, TargetSpec};
use futures::StreamExt;
use support::resolver_at as resolver;
use support::{Behaviour, TestDns};

/// Set (to anything) in a child process started by [`run_child`].
const CHILD_ENV: &str = "DNSBL_CHECK_CHILD";
/// The test server's address, passed from parent to child.
const DNS_ENV: &str = "DNSBL_CHECK_TEST_DNS";
/// How many targets the stream test checks, passed from parent to child.
const COUNT_ENV: &str = "DNSBL_CHECK_TARGETS";

fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

fn child_dns() -> SocketAddr {
    std::env::var(DNS_ENV).unwrap().parse().unwrap()
}

/// The command that runs the ignored test `name` of this binary alone, as a child.
fn child_command(name: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1");
    command
}

/// Waits for a child (off the runtime, so that a test server in this process keeps serving)
/// and fails with its output unless it passed.
async fn finish(command: Command) -> Output {
    let mut command = tokio::process::Command::from(command);
    let output = command.output().await.expect("child starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- child stdout\n{stdout}\n--- child stderr\n{stderr}");
    assert!(output.status.success(), "child failed: {}", output.status);
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run: {stdout}"
    );
    output
}

fn ip_list(spec: &str) -> DnsList {
    DnsList::from_spec(spec, ListKind::Ip).unwrap()
}

fn v4(target: &Target) -> Ipv4Addr {
    match target {
        Target::Ip(IpAddr::V4(addr)) => *addr,
        other => panic!("not an IPv4 target: {other}"),
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A `kB` field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kb * 1024
}

// ---------------------------------------------------------------------------------------------
// Out of file descriptors
// ---------------------------------------------------------------------------------------------

/// The server for the descriptor test: 10.0.0.0/22, of which 10.0.1.0/24 and 10.0.3.0/24 are
/// listed.
async fn quad_server() -> TestDns {
    TestDns::builder()
        .healthy_ip_zone("bl.test")
        .wildcard_a("1.0.10.bl.test", &["127.0.0.2"], 60)
        .wildcard_a("3.0.10.bl.test", &["127.0.0.2"], 60)
        .start()
        .await
}

fn quad_listed(addr: Ipv4Addr) -> bool {
    matches!(addr.octets()[2], 1 | 3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_is_a_local_error_never_a_clean_answer() {
    let dns = quad_server().await;
    let mut command = child_command("child_out_of_file_descriptors");
    command.env(DNS_ENV, dns.addr.to_string());
    finish(command).await;
}

#[tokio::test]
#[ignore = "runs in a child process"]
async fn child_out_of_file_descriptors() {
    if !in_child() {
        return;
    }
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .max_queries_in_flight(1000)
        .build_with(resolver(child_dns(), Duration::from_secs(2), 1))
        .unwrap();
    // Room for a few sockets beyond what the process holds now, far fewer than the queries
    // that will be in flight at once.
    let limit = (open_fds() + 12) as libc::rlim_t;
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit reads a valid, initialised struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) }, 0);

    let spec: TargetSpec = "10.0.0.0/22".parse().unwrap();
    let reports: Vec<_> = checker.check_iter(spec).collect().await;
    assert_eq!(reports.len(), 1024);
    let (mut listed, mut clean, mut local) = (0, 0, 0);
    let mut details = HashSet::new();
    for report in &reports {
        let addr = v4(&report.target);
        let outcome = &report.results[0].outcome;
        match outcome {
            Outcome::Listed(_) => {
                assert!(quad_listed(addr), "{addr} wrongly listed");
                listed += 1;
            }
            Outcome::NotListed => {
                assert!(!quad_listed(addr), "{addr} is listed, reported clean");
                clean += 1;
            }
            Outcome::Failed(error) if error.is_local() => {
                let detail = error.to_string();
                assert!(
                    detail.contains("Too many open files"),
                    "{addr}: the cause is not named: {detail}"
                );
                details.insert(detail);
                local += 1;
            }
            other => panic!("{addr}: {other:?}"),
        }
    }
    println!("listed {listed}, clean {clean}, local errors {local}: {details:?}");
    assert!(local > 0, "the descriptor limit was never reached");
    assert!(listed + clean > 0, "nothing got through at all");
}

// ---------------------------------------------------------------------------------------------
// Long streams: one report per target, flat memory
// ---------------------------------------------------------------------------------------------

/// The server for the stream tests: under 10.0.0.0/12, the /24s 10.X.Y.0 with `(X, Y)` in
/// [`STREAM_LISTED`] are listed.
const STREAM_LISTED: &[(u8, u8)] = &[(0, 3), (0, 77), (1, 200), (7, 7), (15, 255)];

async fn stream_server() -> TestDns {
    let mut builder = TestDns::builder().healthy_ip_zone("bl.test");
    for (b, c) in STREAM_LISTED {
        builder = builder.wildcard_a(&format!("{c}.{b}.10.bl.test"), &["127.0.0.2"], 60);
    }
    builder.start().await
}

async fn run_stream_child(count: u32) {
    let dns = stream_server().await;
    let mut command = child_command("child_stream_of_targets");
    command
        .env(DNS_ENV, dns.addr.to_string())
        .env(COUNT_ENV, count.to_string());
    let started = Instant::now();
    finish(command).await;
    eprintln!("{count} targets in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_20000_targets_gets_one_report_each_in_flat_memory() {
    run_stream_child(20_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: 1M targets"]
async fn a_stream_of_a_million_targets_gets_one_report_each_in_flat_memory() {
    run_stream_child(1_000_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
#[ignore = "runs in a child process"]
async fn child_stream_of_targets() {
    if !in_child() {
        return;
    }
    let count: u32 = std::env::var(COUNT_ENV).unwrap().parse().unwrap();
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .fetch_txt(false)
        .max_queries_in_flight(200)
        .build_with(resolver(child_dns(), Duration::from_secs(2), 2))
        .unwrap();
    let base = u32::from(Ipv4Addr::new(10, 0, 0, 0));
    // The targets are generated as they are pulled: nothing holds the whole list.
    let targets = (0..count).map(move |n| Target::from(Ipv4Addr::from(base + n)));
    let mut reports = std::pin::pin!(checker.check_iter(targets));

    let mut seen = vec![0u64; (count as usize).div_ceil(64)];
    let (mut received, mut listed) = (0u32, 0u32);
    let warm_up = (count / 20).max(1000);
    let mut rss_after_warm_up = 0;
    while let Some(report) = reports.next().await {
        let addr = v4(&report.target);
        let n = u32::from(addr) - base;
        assert!(n < count, "{addr} was never asked for");
        let (word, bit) = ((n / 64) as usize, n % 64);
        assert_eq!(seen[word] & (1 << bit), 0, "{addr} reported twice");
        seen[word] |= 1 << bit;
        let [_, b, c, _] = addr.octets();
        let expected = STREAM_LISTED.contains(&(b, c));
        let outcome = &report.results[0].outcome;
        match outcome {
            Outcome::Listed(_) if expected => listed += 1,
            Outcome::NotListed if !expected => {}
            other => panic!("{addr}: {other:?}"),
        }
        received += 1;
        if received == warm_up {
            rss_after_warm_up = status_bytes("VmRSS:");
            // Resets VmHWM (the peak) to the current RSS.
            std::fs::write("/proc/self/clear_refs", "5").unwrap();
        }
    }
    assert_eq!(received, count);
    let full_words = (count / 64) as usize;
    assert!(seen[..full_words].iter().all(|word| *word == u64::MAX));
    if !count.is_multiple_of(64) {
        assert_eq!(seen[full_words], (1u64 << (count % 64)) - 1);
    }
    let expected_listed: u32 = (0..count)
        .filter(|n| {
            let [_, b, c, _] = Ipv4Addr::from(base + n).octets();
            STREAM_LISTED.contains(&(b, c))
        })
        .count() as u32;
    assert_eq!(listed, expected_listed);

    let peak = status_bytes("VmHWM:");
    let growth = peak.saturating_sub(rss_after_warm_up);
    println!(
        "{count} reports, {listed} listed; RSS after warm-up {} KiB, peak after {} KiB, growth {} KiB",
        rss_after_warm_up / 1024,
        peak / 1024,
        growth / 1024
    );
    // Holding every report would take hundreds of bytes per target (over 5 MiB for 20,000);
    // flat memory stays within a few MiB of the warmed-up process whatever the count.
    assert!(
        growth < 4 * 1024 * 1024,
        "memory grew by {} KiB over {count} targets",
        growth / 1024
    );
}

// ---------------------------------------------------------------------------------------------
// Cancelled checks release their sockets and tasks
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_checks_mid_flight_releases_sockets_and_tasks() {
    let dns = TestDns::builder()
        .zone("bl.test")
        .on("*.bl.test", "*", Behaviour::Drop)
        .start()
        .await;
    let mut command = child_command("child_dropped_checks");
    command.env(DNS_ENV, dns.addr.to_string());
    finish(command).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs in a child process"]
async fn child_dropped_checks() {
    if !in_child() {
        return;
    }
    let metrics = tokio::runtime::Handle::current().metrics();
    // Long timeouts: whatever is released is released by the drop, not by a timeout.
    // No health probes: every check sends its own queries at once, rather than waiting for
    // the first probe.
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .list(ip_list("other.bl.test"))
        .health_checks(false)
        .max_queries_in_flight(100)
        .build_with(resolver(child_dns(), Duration::from_secs(30), 2))
        .unwrap();
    let fds_before = open_fds();
    let tasks_before = metrics.num_alive_tasks();

    // Two rounds: the first may leave what the resolver keeps for good (one task per name
    // server connection); the second must leave nothing more.
    let mut tasks_kept = tasks_before;
    for round in 0..2u8 {
        // A stream, pulled for a while and dropped.
        let spec: TargetSpec = format!("10.{round}.0.0/16").parse().unwrap();
        let mut stream = Box::pin(checker.check_iter(spec));
        let first = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        assert!(first.is_err(), "a dropping server answered");
        // Single checks, spawned and aborted.
        let tasks: Vec<_> = (0..50u8)
            .map(|n| {
                let checker = checker.clone();
                tokio::spawn(async move {
                    checker
                        .check(Ipv4Addr::new(10, 100 + round, 0, n).into())
                        .await
                })
            })
            .collect();
        // Plain futures, polled and dropped.
        let futures: Vec<_> = (0..20u8)
            .map(|n| Box::pin(checker.check(Ipv4Addr::new(10, 200 + round, 0, n).into())))
            .collect();
        let joined = futures::future::join_all(futures);
        let pending = tokio::time::timeout(Duration::from_millis(300), joined).await;
        assert!(pending.is_err());
        let fds_during = open_fds();
        let tasks_during = metrics.num_alive_tasks();
        drop(pending);
        drop(stream);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            assert!(task.await.unwrap_err().is_cancelled());
        }
        println!(
            "round {round}: fds before {fds_before}, during {fds_during}; tasks before {tasks_kept}, during {tasks_during}"
        );
        assert!(
            fds_during >= fds_before + 100,
            "the checks held few sockets: {fds_during}"
        );
        let fds_released = wait_until(|| open_fds() <= fds_before).await;
        assert!(
            fds_released,
            "round {round}: sockets still open 3 s after the drop: {} (before {fds_before})",
            open_fds()
        );
        if round == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            tasks_kept = metrics.num_alive_tasks();
            assert!(
                tasks_kept <= tasks_before + 2,
                "round 0 left {tasks_kept} tasks (before {tasks_before})"
            );
        } else {
            let released = wait_until(|| metrics.num_alive_tasks() <= tasks_kept).await;
            assert!(
                released,
                "round {round}: tasks still alive 3 s after the drop: {} (kept {tasks_kept})",
                metrics.num_alive_tasks()
            );
        }
    }
    // Dropping the checker ends what the resolver kept.
    drop(checker);
    let released = wait_until(|| metrics.num_alive_tasks() <= tasks_before).await;
    assert!(
        released,
        "tasks still alive after the checker was dropped: {} (before {tasks_before})",
        metrics.num_alive_tasks()
    );
    assert!(wait_until(|| open_fds() <= fds_before).await);
    println!(
        "released: fds {}, tasks {}",
        open_fds(),
        metrics.num_alive_tasks()
    );
}

/// Polls `done` for up to 3 s.
async fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// The system resolver config: search domains and ndots never touch a query
// ---------------------------------------------------------------------------------------------

const RESOLV_CONF: &str = "\
nameserver 127.0.0.1
search corp.example search.test
domain corp.example
options ndots:10 timeout:1 attempts:1
";

#[tokio::test]
#[ignore = "needs root and unshare"]
async fn search_domains_and_ndots_never_touch_a_query() {
    let permitted = Command::new("unshare")
        .args(["-m", "-n", "true"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !permitted {
        eprintln!("SKIPPED: unshare -m -n is not permitted here (needs root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let resolv_conf = dir.path().join("resolv.conf");
    std::fs::write(&resolv_conf, RESOLV_CONF).unwrap();
    let child = child_command("child_system_resolver_config");
    let program = child.get_program().to_owned();
    let args: Vec<_> = child.get_args().map(|a| a.to_owned()).collect();
    // A private mount namespace for the bind mount, and a private network namespace, so that
    // 127.0.0.1:53 is free for the test server and nothing can leave.
    let mut command = Command::new("unshare");
    command
        .args(["-m", "-n", "sh", "-c"])
        .arg(
            "set -e; ip link set lo up; mount --bind \"$1\" /etc/resolv.conf; \
             shift; exec \"$@\"",
        )
        .arg("sh")
        .arg(&resolv_conf)
        .arg(program)
        .args(args)
        .env(CHILD_ENV, "1");
    finish(command).await;
}

#[tokio::test]
#[ignore = "runs in a child process"]
async fn child_system_resolver_config() {
    if !in_child() {
        return;
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap();
    assert_eq!(conf, RESOLV_CONF, "not the test's resolv.conf");
    let dns = TestDns::builder()
        // Search domains are served too, so that a query carrying one would be answered
        // (and listed) rather than only fail.
        .wildcard_a("corp.example", &["127.0.0.2"], 60)
        .wildcard_a("search.test", &["127.0.0.2"], 60)
        // Both test points: the IPv6 target below is asked only of a list proven for IPv6.
        .healthy_ip_zone("bl.test")
        .a("10.2.0.192.bl.test", &["127.0.0.2"], 60)
        .a(
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test",
            &["127.0.0.2"],
            60,
        )
        .healthy_domain_zone("dbl.test")
        .a("spam.dbl.test", &["127.0.1.2"], 60)
        .start_at(SocketAddr::from((Ipv4Addr::LOCALHOST, 53)))
        .await;
    // The system configuration: the resolv.conf above.
    let checker = Checker::builder()
        .list(ip_list("bl.test"))
        .list(DnsList::from_spec("dbl.test", ListKind::Domain).unwrap())
        .build()
        .unwrap();
    let cases = [
        ("192.0.2.10", true),
        ("192.0.2.11", false),
        ("2001:db8::1", true),
        ("2001:db8::2", false),
        ("spam", true),
        ("clean", false),
        ("mail.example", false),
    ];
    for (target, listed) in cases {
        let report = checker.check(target.parse().unwrap()).await;
        assert!(!report.has_trouble(), "{target}: {report:?}");
        assert_eq!(report.listed, listed, "{target}: {report:?}");
    }
    let names: Vec<String> = dns.queries().into_iter().map(|(name, _)| name).collect();
    assert!(!names.is_empty());
    for name in &names {
        assert!(
            name.ends_with(".bl.test.") || name.ends_with(".dbl.test."),
            "a query left the list zones: {name}"
        );
        assert!(
            !name.contains("corp.example") && !name.contains("search.test"),
            "a search domain was appended: {name}"
        );
    }
    println!("{} queries, all absolute: {names:?}", names.len());
}
