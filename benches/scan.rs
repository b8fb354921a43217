//! Bench driver: scans targets through a [`Checker`] on either transport, for
//! `benches/throughput.sh`. Not a criterion benchmark: `cargo bench` runs it without
//! arguments, and then it only says how to use it.
//!
//! Modes:
//! - scan (default): every target of `--input FILE` (one per line) or `--target SPEC` (a
//!   network), JSON Lines to `--output FILE`; a summary line on stderr.
//! - `--fanout N`: latency of one check against N lists (`--zone` names the first; the others
//!   are `<i>.<zone>`... see the script), against the latency of one single-list check.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::{
    Checker, DnsList, DnsResolver, HickoryResolver, ListKind, NameServer, Target, TargetSpec,
};
use futures::StreamExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Hickory,
    Pooled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Runtime {
    Multi,
    Current,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value_t = Transport::Pooled)]
    transport: Transport,
    #[arg(long)]
    nameserver: NameServer,
    /// IP list zones (each a list); the first is used for a plain scan.
    #[arg(long = "zone", required = true)]
    zones: Vec<String>,
    #[arg(long)]
    input: Option<PathBuf>,
    #[arg(long)]
    target: Option<TargetSpec>,
    #[arg(long)]
    output: Option<PathBuf>,
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    #[arg(long, default_value_t = 8)]
    sockets: usize,
    /// The Tokio runtime: one thread (default; the server under test needs the other core) or
    /// one worker per core.
    #[arg(long, value_enum, default_value_t = Runtime::Current)]
    runtime: Runtime,
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
    /// Fan-out mode: check this many sequential targets against every zone given, and
    /// against the first zone alone, and print latency percentiles.
    #[arg(long)]
    fanout_samples: Option<usize>,
    /// Accepted for `cargo bench`, which passes it.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    if std::env::args().len() <= 2 && std::env::args().any(|a| a == "--bench") {
        eprintln!("scan: a driver for benches/throughput.sh; nothing to do under `cargo bench`");
        return;
    }
    let args = Args::parse();
    let runtime = match args.runtime {
        Runtime::Multi => tokio::runtime::Builder::new_multi_thread(),
        Runtime::Current => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build()
    .expect("runtime");
    let timeout = Duration::from_secs_f64(args.timeout);
    match args.transport {
        Transport::Hickory => {
            let resolver = HickoryResolver::builder()
                .name_server(args.nameserver)
                .timeout(timeout)
                .retries(1)
                .build()
                .expect("resolver");
            runtime.block_on(run(&args, resolver));
        }
        Transport::Pooled => {
            let resolver = PooledUdpResolver::builder()
                .name_server(args.nameserver)
                .timeout(timeout)
                .retries(1)
                .sockets_per_server(args.sockets)
                .build()
                .expect("resolver");
            runtime.block_on(run(&args, resolver.clone()));
            eprintln!("{:?}", resolver.stats());
        }
    }
}

fn checker<R: DnsResolver>(zones: &[String], resolver: R, concurrency: usize) -> Checker<R> {
    Checker::builder()
        .lists(
            zones
                .iter()
                .map(|zone| DnsList::from_spec(zone, ListKind::Ip).expect("zone spec")),
        )
        .fetch_txt(false)
        .health_checks(false)
        .max_queries_in_flight(concurrency)
        .build_with(resolver)
        .expect("checker")
}

async fn run<R: DnsResolver + Clone>(args: &Args, resolver: R) {
    if let Some(samples) = args.fanout_samples {
        return fanout(args, resolver, samples).await;
    }
    let checker = checker(&args.zones[..1], resolver, args.concurrency);
    let targets: Box<dyn Iterator<Item = Target> + Send> = match (&args.input, &args.target) {
        (Some(path), _) => {
            let file = std::io::BufReader::new(std::fs::File::open(path).expect("input"));
            Box::new(
                file.lines()
                    .map(|line| line.expect("read").trim().parse().expect("target")),
            )
        }
        (None, Some(spec)) => Box::new(spec.clone().into_iter()),
        (None, None) => panic!("--input or --target"),
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(std::fs::File::create(path).expect("output"))),
        None => Box::new(std::io::sink()),
    };
    let started = Instant::now();
    let (mut count, mut listed, mut trouble) = (0u64, 0u64, 0u64);
    let mut line = Vec::with_capacity(512);
    let mut reports = checker.check_stream(futures::stream::iter(targets));
    while let Some(report) = reports.next().await {
        count += 1;
        listed += u64::from(report.listed);
        trouble += u64::from(report.has_trouble());
        // One write per report: serde_json's many small writes cost more through a BufWriter.
        line.clear();
        serde_json::to_writer(&mut line, &report).expect("serialise");
        line.push(b'\n');
        out.write_all(&line).expect("write");
    }
    out.flush().expect("flush");
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "targets={count} listed={listed} trouble={trouble} seconds={elapsed:.3} qps={:.0}",
        count as f64 / elapsed
    );
}

/// Sequential checks of the same targets against every zone, then against the first alone.
async fn fanout<R: DnsResolver + Clone>(args: &Args, resolver: R, samples: usize) {
    let all = checker(&args.zones, resolver.clone(), args.concurrency);
    let one = checker(&args.zones[..1], resolver, args.concurrency);
    let targets: Vec<Target> = (0..samples)
        .map(|i| format!("10.{}.{}.{}", (i >> 16) & 7, (i >> 8) & 255, i & 255))
        .map(|t| t.parse().unwrap())
        .collect();
    // Warm up: sockets, caches.
    for target in targets.iter().take(100) {
        all.check(target.clone()).await;
        one.check(target.clone()).await;
    }
    let latency = |fan: &[Duration]| {
        let mut sorted = fan.to_vec();
        sorted.sort();
        let at = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
        (at(0.5), at(0.99))
    };
    let mut single = Vec::with_capacity(samples);
    let mut fan = Vec::with_capacity(samples);
    for target in &targets {
        let started = Instant::now();
        let report = one.check(target.clone()).await;
        single.push(started.elapsed());
        assert!(!report.has_trouble(), "{report:?}");
        let started = Instant::now();
        let report = all.check(target.clone()).await;
        fan.push(started.elapsed());
        assert!(!report.has_trouble(), "{report:?}");
    }
    let (single_p50, single_p99) = latency(&single);
    let (fan_p50, fan_p99) = latency(&fan);
    println!(
        "lists={} samples={samples} single_p50_us={} single_p99_us={} fanout_p50_us={} fanout_p99_us={}",
        args.zones.len(),
        single_p50.as_micros(),
        single_p99.as_micros(),
        fan_p50.as_micros(),
        fan_p99.as_micros()
    );
}
