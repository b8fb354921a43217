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

#[path = "common/round_trip.rs"]
mod round_trip;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use dnsbl_check::{Checker, DnsList, DnsResolver, ListKind};
use support::{Behaviour, TestDns};

const LISTS: usize = 10;
const SAMPLES: usize = 200;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    println!("fan-out: one check against {LISTS} lists vs one list, {SAMPLES} samples each");
    round_trip::print_header("1 list p50 / p99", "10 lists p50 / p99");
    for delay_ms in round_trip::DELAYS_MS {
        let dns = server(Duration::from_millis(delay_ms)).await;
        let (hickory, pooled) = round_trip::resolvers(dns.addr);
        measure("hickory", delay_ms, hickory).await;
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
    round_trip::print_row(name, delay_ms, single, fanned);
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
