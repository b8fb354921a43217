//! A milter's end of message: a message naming 50 distinct domains, read (MIME decoding, URL
//! extraction, public-suffix reduction) and judged against a domain list, compared with a
//! single lookup, when each answer takes a real round trip.
//!
//! The in-process server holds every answer for a fixed delay (a simulated round trip, as in
//! `fanout.rs`). All 50 domains are asked at once, so the message should cost about one round
//! trip, not 50.
//!
//! Then the worst case: a 1 MiB message of text built against the URL scan (`www.a,`
//! repeated: one host again and again; `www.xNNNNNNNN,`: a new host every 14 bytes, so that
//! the reader reduces every one and the cap of 200 domains is looked up), beside the
//! 50-domain message, on the pooled transport at a 2 ms round trip.
//!
//! `cargo bench --bench milter` prints p50 and p99 for both transports and two delays.

#[path = "common/round_trip.rs"]
mod round_trip;
#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use dnsbl_check::mail::{MessageReader, SessionFacts, SessionFilter, SessionPolicy, Verdict};
use dnsbl_check::{Checker, DnsList, DnsResolver, ListKind, Target};
use support::{Behaviour, TestDns};

const DOMAINS: usize = 50;
const SAMPLES: usize = 100;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    println!(
        "end of message: {DOMAINS} domains read and judged vs one lookup, {SAMPLES} samples each"
    );
    round_trip::print_header("1 lookup p50 / p99", "message p50 / p99");
    for delay_ms in round_trip::DELAYS_MS {
        let dns = server(Duration::from_millis(delay_ms)).await;
        let (hickory, pooled) = round_trip::resolvers(dns.addr);
        measure("hickory", delay_ms, hickory).await;
        measure("pooled", delay_ms, pooled).await;
    }

    println!("\nworst case: a 1 MiB message built against the URL scan, {WORST_SAMPLES} samples");
    round_trip::print_header("50 domains p50 / p99", "1 MiB p50 / p99");
    let dns = server(Duration::from_millis(2)).await;
    let (_, pooled) = round_trip::resolvers(dns.addr);
    for (name, text) in [
        ("www.a,", repeated as fn(usize) -> String),
        ("distinct", distinct),
    ] {
        worst_case(name, pooled.clone(), text).await;
    }
}

const WORST_SAMPLES: usize = 20;
const MIB: usize = 1024 * 1024;

/// `www.a,` over and over: one host.
fn repeated(_sample: usize) -> String {
    "www.a,".repeat(MIB / 6)
}

/// A new host every 14 bytes, new in each sample.
fn distinct(sample: usize) -> String {
    (0..MIB / 14)
        .map(|i| format!("www.x{sample:02}{i:06},"))
        .collect()
}

/// Reads and judges a message (tag only, so that every domain is named).
async fn judge<R: DnsResolver>(
    reader: &MessageReader,
    filter: &SessionFilter<R>,
    message: &str,
) -> Duration {
    let started = Instant::now();
    let reading = reader.read(message.as_bytes(), None);
    assert!(!reading.cut, "the reading ran out of time");
    let mut facts = SessionFacts::default();
    facts.message.domains = reading.targets.domains;
    let evaluation = filter.evaluate(&facts).await;
    assert!(!evaluation.listed.is_empty());
    started.elapsed()
}

async fn worst_case<R: DnsResolver + Clone>(name: &str, resolver: R, text: fn(usize) -> String) {
    let checker = domain_checker(resolver);
    let filter = SessionFilter::new(checker, SessionPolicy::default().tag_only(true));
    let reader = MessageReader::default();
    let mut normal = Vec::with_capacity(WORST_SAMPLES);
    let mut worst = Vec::with_capacity(WORST_SAMPLES);
    for sample in 0..WORST_SAMPLES {
        normal.push(judge(&reader, &filter, &message(1000 + sample)).await);
        let body = text(sample);
        let message = format!("Subject: worst case\r\n\r\n{body}\r\n");
        worst.push(judge(&reader, &filter, &message).await);
    }
    round_trip::print_row(name, 2, normal, worst);
}

/// `dbl.test`, listing every name after `delay`.
async fn server(delay: Duration) -> TestDns {
    TestDns::builder()
        .zone("dbl.test")
        .on(
            "*.dbl.test",
            "A",
            Behaviour::Delay(
                delay,
                Box::new(Behaviour::A(vec!["127.0.1.2".parse().unwrap()], 60)),
            ),
        )
        .start()
        .await
}

/// A message with a base64-free HTML part linking `DOMAINS` distinct domains, unique to
/// `sample` so that nothing is answered from a cache.
fn message(sample: usize) -> String {
    let mut html = String::new();
    for domain in 0..DOMAINS {
        let _ = write!(
            html,
            "<a href=\"https://www.s{sample}d{domain}.test/x\">link</a>\r\n"
        );
    }
    format!("Subject: many links\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n{html}")
}

/// A checker asking `dbl.test` (no TXT, no health probes) through `resolver`.
fn domain_checker<R: DnsResolver + Clone>(resolver: R) -> Checker<R> {
    let list = DnsList::from_spec("dbl.test", ListKind::Domain)
        .expect("spec")
        .with_txt(false);
    Checker::builder()
        .list(list)
        .health_checks(false)
        .build_with(resolver)
        .expect("checker")
}

async fn measure<R: DnsResolver + Clone>(name: &str, delay_ms: u64, resolver: R) {
    let checker = domain_checker(resolver);
    // Tag only: every domain is listed, and every one is looked up and named.
    let filter = SessionFilter::new(checker.clone(), SessionPolicy::default().tag_only(true));
    let reader = MessageReader::default().max_domains(DOMAINS);

    let mut single = Vec::with_capacity(SAMPLES);
    for sample in 0..SAMPLES {
        let target = Target::domain(&format!("single{sample}.test")).expect("domain");
        let started = Instant::now();
        let report = checker.check(target).await;
        single.push(started.elapsed());
        assert!(report.listed, "{report:?}");
    }
    let mut judged = Vec::with_capacity(SAMPLES);
    for sample in 0..SAMPLES {
        let message = message(sample);
        let started = Instant::now();
        let reading = reader.read(message.as_bytes(), None);
        let mut facts = SessionFacts::default();
        facts.message.domains = reading.targets.domains;
        let evaluation = filter.evaluate(&facts).await;
        judged.push(started.elapsed());
        assert_eq!(evaluation.listed.len(), DOMAINS, "{evaluation:?}");
        assert!(matches!(evaluation.verdict, Verdict::Tag(_)));
    }
    round_trip::print_row(name, delay_ms, single, judged);
}
