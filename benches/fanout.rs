//! Fan-out: one address against 10 lists, against one list, when each answer takes a real
//! round trip.
//!
//! On loopback a DNS round trip is a few tens of microseconds of CPU work, so asking 10 lists
//! costs about 10 times the CPU of asking one, whatever the concurrency. What fan-out is about
//! is network latency: a list 5 ms away. The in-process server here holds every answer for a
//! fixed delay (a simulated round trip), and the benchmark reports how long a check of 10
//! lists takes compared with a check of one: asked concurrently, close to 1×; asked one after
//! another, 10×.
//!
//! `cargo bench --bench fanout` prints p50 and p99 for both transports and two delays.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::{Checker, DnsList, DnsResolver, HickoryResolver, ListKind, NameServer};
use support::{Behaviour, TestDns};

const LISTS: usize = 10;
const SAMPLES: usize = 200;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    println!("fan-out: one check against {LISTS} lists vs one list, {SAMPLES} samples each");
    println!(
        "{:<8} {:>6} {:>22} {:>22} {:>14}",
        "transport", "rtt", "1 list p50 / p99", "10 lists p50 / p99", "ratio p50/p99"
    );
    for delay_ms in [2u64, 10] {
        let dns = server(Duration::from_millis(delay_ms)).await;
        let server = NameServer::new(dns.addr);
        let timeout = Duration::from_secs(2);
        let hickory = HickoryResolver::builder()
            .name_server(server)
            .timeout(timeout)
            .build()
            .expect("resolver");
        measure("hickory", delay_ms, hickory).await;
        let pooled = PooledUdpResolver::builder()
            .name_server(server)
            .timeout(timeout)
            .build()
            .expect("resolver");
        measure("pooled", delay_ms, pooled).await;
    }
}

/// Zones `l0.test` .. `l9.test`, each listing every 10.x.y.z address after `delay`.
async fn server(delay: Duration) -> TestDns {
    let mut builder = TestDns::builder();
    for list in 0..LISTS {
        let zone = format!("l{list}.test");
        builder = builder.zone(&zone).on(
            &format!("*.10.{zone}"),
            "A",
            Behaviour::Delay(
                delay,
                Box::new(Behaviour::A(vec!["127.0.0.2".parse().unwrap()], 60)),
            ),
        );
    }
    builder.start().await
}

async fn measure<R: DnsResolver + Clone>(name: &str, delay_ms: u64, resolver: R) {
    let one = checker(resolver.clone(), 1);
    let all = checker(resolver, LISTS);
    // Distinct targets, so that nothing could be answered from a cache.
    let single = samples(&one, 0).await;
    let fanned = samples(&all, 1).await;
    let (p50_1, p99_1) = percentiles(single);
    let (p50_n, p99_n) = percentiles(fanned);
    println!(
        "{name:<8} {:>4}ms {:>10.2} / {:>6.2} ms {:>10.2} / {:>6.2} ms {:>6.2} / {:>5.2}",
        delay_ms,
        ms(p50_1),
        ms(p99_1),
        ms(p50_n),
        ms(p99_n),
        p50_n.as_secs_f64() / p50_1.as_secs_f64(),
        p99_n.as_secs_f64() / p99_1.as_secs_f64(),
    );
}

fn checker<R: DnsResolver>(resolver: R, lists: usize) -> Checker<R> {
    let lists = (0..lists).map(|i| {
        DnsList::from_spec(&format!("l{i}.test"), ListKind::Ipv4)
            .expect("spec")
            .with_txt(false)
    });
    Checker::builder()
        .lists(lists)
        .health_checks(false)
        .build_with(resolver)
        .expect("checker")
}

async fn samples<R: DnsResolver>(checker: &Checker<R>, second_octet: u8) -> Vec<Duration> {
    let mut times = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let target = format!("10.{second_octet}.{}.{}", i / 250, i % 250 + 1);
        let started = Instant::now();
        let report = checker.check(target.parse().expect("target")).await;
        times.push(started.elapsed());
        assert!(report.listed && !report.has_trouble(), "{report:?}");
    }
    times
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
