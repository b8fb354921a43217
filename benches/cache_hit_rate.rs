//! Throughput of a cached checker as the share of repeated targets grows: the mail-filter
//! case, where the same clients connect again and again.
//!
//! Each run checks 20,000 targets against one list served by the in-process test server. A
//! share `h` of them are drawn from a small set of "regular" clients (answered from the cache
//! after their first check); the rest are all different (each one a query). Throughput should
//! grow with `h`, towards the cost of a cache lookup alone.
//!
//! `cargo bench --bench cache_hit_rate` prints checks per second for each hit rate, as the
//! median of 3 runs.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use dnsbl_check::resolver::cache::{AnswerCache, CacheConfig};
use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::{Checker, DnsList, ListKind, NameServer, Target};
use futures::StreamExt;
use support::TestDns;

const TARGETS: u32 = 20_000;
const REGULARS: u32 = 100;
const RUNS: usize = 3;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dns = TestDns::builder()
        .zone("bl.test")
        .wildcard_a("bl.test", &["127.0.0.2"], 3600)
        .start()
        .await;
    println!("cached checks of {TARGETS} targets, {REGULARS} regular clients, median of {RUNS}");
    println!(
        "{:>9} {:>14} {:>16}",
        "repeated", "checks/s", "server queries"
    );
    for repeated_percent in [0u32, 50, 90, 99] {
        let mut rates = Vec::new();
        let mut queries = 0;
        for _ in 0..RUNS {
            dns.clear_queries();
            let elapsed = run(&dns, repeated_percent).await;
            rates.push(f64::from(TARGETS) / elapsed.as_secs_f64());
            queries = dns.query_count();
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{:>8}% {:>14.0} {:>16}",
            repeated_percent,
            rates[RUNS / 2],
            queries
        );
    }
}

/// One run on a fresh cache; returns the wall time of the checks.
async fn run(dns: &TestDns, repeated_percent: u32) -> Duration {
    let resolver = PooledUdpResolver::builder()
        .name_server(NameServer::new(dns.addr))
        .build()
        .expect("resolver");
    let checker = Checker::builder()
        .list(DnsList::from_spec("bl.test", ListKind::Ipv4).expect("spec"))
        .health_checks(false)
        .fetch_txt(false)
        .max_queries_in_flight(100)
        .build_with(AnswerCache::new(
            resolver,
            CacheConfig::default().max_entries(u64::from(TARGETS)),
        ))
        .expect("checker");
    let targets = (0..TARGETS).map(move |i| target(i, repeated_percent));
    let started = Instant::now();
    let reports = checker.check_iter(targets).count().await;
    assert_eq!(reports, TARGETS as usize);
    started.elapsed()
}

/// The `i`-th target: a regular client for `repeated_percent` of `i`, else a new address.
fn target(i: u32, repeated_percent: u32) -> Target {
    // Spread the repeats evenly through the run with a multiplicative hash.
    let regular = (i.wrapping_mul(2_654_435_761) % 100) < repeated_percent;
    let host = if regular { i % REGULARS } else { REGULARS + i };
    std::net::Ipv4Addr::from(0x0a00_0000 + host).into()
}
