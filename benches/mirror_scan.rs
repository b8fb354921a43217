//! Bench driver for `benches/mirror.sh`: checks every address of `--input FILE` (one per line)
//! against one list answered by a local mirror, and prints the listed ones. Not a criterion
//! benchmark: `cargo bench` runs it without arguments, and then it only says how to use it.
//!
//! - `--mode checker`: through a [`Checker`] (a report per target, health probes from the
//!   data), as a program embedding the library checks in bulk.
//! - `--mode direct`: the query name of each address, then the mirror's answer
//!   ([`MirrorResolver::mirrored_a`]): the lookup itself, without the checker around it.
//!
//! Every other name goes to a resolver that fails: nothing leaves the process.

use std::io::{BufRead, BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use dnsbl_check::resolver::mirror::{MirrorResolver, ZoneData};
use dnsbl_check::{
    Answer, Checker, DnsList, DnsResolver, ListKind, LookupError, LookupErrorKind, Target, Zone,
};
use futures::StreamExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Checker,
    Direct,
}

#[derive(Debug, Parser)]
struct Args {
    /// The list's zone.
    #[arg(long)]
    zone: String,
    /// Its data, `zone:type:file[,file...]` (repeatable).
    #[arg(long = "zone-data")]
    zone_data: Vec<ZoneData>,
    /// Addresses, one per line.
    #[arg(long)]
    input: PathBuf,
    /// Where the listed addresses go, one per line.
    #[arg(long)]
    output: PathBuf,
    #[arg(long, value_enum, default_value_t = Mode::Checker)]
    mode: Mode,
}

/// The resolver behind the mirror: any name reaching it is an error, never an answer.
struct Offline;

fn offline() -> LookupError {
    LookupError::with_detail(
        LookupErrorKind::Config,
        "offline: only mirrored zones answer",
    )
}

impl DnsResolver for Offline {
    async fn lookup_a(&self, _: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
        Err(offline())
    }
    async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, LookupError> {
        Err(offline())
    }
    async fn lookup_aaaa(&self, _: &str) -> Result<Answer<Ipv6Addr>, LookupError> {
        Err(offline())
    }
}

fn main() {
    if std::env::args().len() <= 2 && std::env::args().any(|a| a == "--bench") {
        eprintln!("mirror_scan: run by benches/mirror.sh (see --help)");
        return;
    }
    let args = Args::parse();
    let started = Instant::now();
    let mirror = MirrorResolver::builder()
        .zones_data(args.zone_data.clone())
        .reload_interval(None)
        .build(Offline)
        .expect("zone data");
    let loaded = started.elapsed().as_secs_f64();
    let input = std::io::BufReader::new(std::fs::File::open(&args.input).expect("input"));
    let targets = input.lines().map(|line| {
        line.expect("read")
            .trim()
            .parse::<Target>()
            .expect("target")
    });
    let mut out = BufWriter::new(std::fs::File::create(&args.output).expect("output"));
    let started = Instant::now();
    let (mut count, mut listed, mut trouble) = (0u64, 0u64, 0u64);
    match args.mode {
        Mode::Direct => {
            let zone: Zone = args.zone.parse().expect("zone");
            for target in targets {
                count += 1;
                let name = zone.query_name(&target).expect("query name");
                match mirror.mirrored_a(name.as_str()) {
                    Some(Answer::Records { .. }) => {
                        listed += 1;
                        writeln!(out, "{target}").expect("write");
                    }
                    Some(Answer::NoRecords { .. }) => {}
                    None => trouble += 1,
                }
            }
        }
        Mode::Checker => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let list = DnsList::from_spec(&args.zone, ListKind::Ip).expect("zone");
                let checker = Checker::builder()
                    .list(list)
                    .fetch_txt(false)
                    .build_with(mirror)
                    .expect("checker");
                let mut reports = checker.check_stream(futures::stream::iter(targets));
                while let Some(report) = reports.next().await {
                    count += 1;
                    trouble += u64::from(report.has_trouble());
                    if report.listed {
                        listed += 1;
                        writeln!(out, "{}", report.target).expect("write");
                    }
                }
            });
        }
    }
    out.flush().expect("flush");
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "load_seconds={loaded:.3} targets={count} listed={listed} trouble={trouble} \
         seconds={elapsed:.3} rate={:.0}",
        count as f64 / elapsed
    );
}
