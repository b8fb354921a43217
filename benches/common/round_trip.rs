//! What the round-trip benchmarks (`fanout.rs`, `milter.rs`) share: the delays, both
//! transports pointed at the in-process server, and one table row of p50/p99 for a single
//! lookup against the many-lookup case.

use std::net::SocketAddr;
use std::time::Duration;

use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::{HickoryResolver, NameServer};

/// The simulated round trips, in milliseconds.
pub const DELAYS_MS: [u64; 2] = [2, 10];

/// The stock and the pooled resolver, both asking the server at `addr` only.
pub fn resolvers(addr: SocketAddr) -> (HickoryResolver, PooledUdpResolver) {
    let server = NameServer::new(addr);
    let timeout = Duration::from_secs(2);
    let hickory = HickoryResolver::builder()
        .name_server(server)
        .timeout(timeout)
        .build()
        .expect("resolver");
    let pooled = PooledUdpResolver::builder()
        .name_server(server)
        .timeout(timeout)
        .build()
        .expect("resolver");
    (hickory, pooled)
}

/// The table's header: `one` and `many` name the two timed cases.
pub fn print_header(one: &str, many: &str) {
    println!(
        "{:<8} {:>6} {:>22} {:>22} {:>14}",
        "transport", "rtt", one, many, "ratio p50/p99"
    );
}

/// One row: p50 and p99 of each case, and their ratios (many over one).
pub fn print_row(transport: &str, delay_ms: u64, one: Vec<Duration>, many: Vec<Duration>) {
    let (p50_1, p99_1) = percentiles(one);
    let (p50_n, p99_n) = percentiles(many);
    println!(
        "{transport:<8} {:>4}ms {:>10.2} / {:>6.2} ms {:>10.2} / {:>6.2} ms {:>6.2} / {:>5.2}",
        delay_ms,
        ms(p50_1),
        ms(p99_1),
        ms(p50_n),
        ms(p99_n),
        p50_n.as_secs_f64() / p50_1.as_secs_f64(),
        p99_n.as_secs_f64() / p99_1.as_secs_f64(),
    );
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
