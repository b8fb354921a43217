//! `dnsbl-exporter`: a Prometheus exporter for DNS blocklist listings.
//!
//! ```text
//! dnsbl-exporter --listen 127.0.0.1:9841 --interval 300 192.0.2.1 198.51.100.0/24
//! dnsbl-exporter --mx example.org --resolve www.example.org --preset spamhaus-zen
//! SPAMHAUS_DQS_KEY=... dnsbl-exporter --config lists.toml --input targets.txt
//! ```
//!
//! (From a checkout: `cargo run --example dnsbl-exporter -- ARGS`.)
//!
//! It checks its targets on its own schedule, the first round at start-up, and serves what
//! the last round found:
//!
//! - `GET /metrics`: every target's listings, per-list health, query latency and outcome
//!   counts, and when the last round ran. **A scrape never sends a DNS query**, so scraping
//!   often does not burn the lists' rate limits.
//! - `GET /probe?target=ADDRESS|DOMAIN`: checks one target now, in the style of
//!   blackbox_exporter, and returns only its series; `&source=mx` (or `resolve`) checks a
//!   domain's mail servers (or own addresses) too, at most [`MAX_PROBE_ADDRESSES`] of them.
//!   Answers are cached for `--probe-cache` seconds; a probe that is not in the cache takes a
//!   token of its client's rate (`--probe-rate`) and of the total (`--probe-rate-total`), or
//!   gets HTTP 429 with `Retry-After`; at most `--max-probes` run at once, and a bad target
//!   gets HTTP 400.
//!
//! Targets are addresses, CIDR networks (a network publishes counts per list, and series
//! for its listed addresses only) and domain names (checked against domain lists). `--mx
//! DOMAIN` also checks the addresses of the domain's mail servers, and `--resolve DOMAIN` the
//! domain's own addresses; both are looked up again every round. Lists, resolver and config
//! file are chosen as for `dnsbl-check`. The series are described in `exporter/exposition.rs`
//! and the README; alert rules are in `examples/prometheus/alerts.yml`.

mod common;
#[path = "exporter/exposition.rs"]
mod exposition;
#[path = "exporter/http.rs"]
mod http;
#[path = "exporter/limit.rs"]
mod limit;
#[path = "exporter/state.rs"]
mod state;

use std::io::BufRead;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use common::{ListOptions, LookupOptions, Transport, init_logging};
use dnsbl_check::hosts::{self, HostSource};
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::target::DomainName;
use dnsbl_check::{Checker, Report, Target, TargetSpec, Zone};
use futures::StreamExt;
use tokio::sync::Semaphore;

use exposition::Schedule;
use http::ProbeError;
use state::{Shared, Watched};

/// The most targets taken from the command line and `--input` together: each is checked
/// every round, and each named one is a set of series.
const MAX_TARGETS: usize = 100_000;
/// The largest network taken: a /16 of IPv4 (65,536 addresses).
const MAX_NETWORK_ADDRESSES: u128 = 1 << 16;
/// How long a probe waits for a free slot before HTTP 503 (Prometheus' default scrape
/// timeout).
const PROBE_WAIT: Duration = Duration::from_secs(10);
/// Probe pages kept in the cache at most.
const PROBE_CACHE_ENTRIES: u64 = 10_000;
/// A `source=mx` or `source=resolve` probe checks at most this many of the domain's
/// addresses (the first, in MX preference order), so that one probe of a hostile domain
/// costs at most about 200 lookups for the addresses and their reverse DNS, plus 16 checks.
/// A domain with more is shown as `kind="too_many_addresses"` host trouble, and the probe
/// fails: the addresses left out were not checked.
const MAX_PROBE_ADDRESSES: usize = 16;

/// A Prometheus exporter for DNS blocklist listings.
// Not `Debug`: the struct holds the DQS key, which must never be printed.
#[derive(Parser)]
#[command(name = "dnsbl-exporter", version)]
struct Cli {
    /// Addresses, CIDR networks (up to a /16 of IPv4) or domain names to check every round.
    #[arg(value_name = "TARGET")]
    targets: Vec<String>,

    /// Read more targets from FILE, one per line; '#' starts a comment.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,

    /// Also check the addresses of this domain's mail servers (MX). Repeatable.
    #[arg(long = "mx", value_name = "DOMAIN")]
    mx: Vec<String>,

    /// Also check this domain's own addresses (A/AAAA). Repeatable.
    #[arg(long = "resolve", value_name = "DOMAIN")]
    resolve: Vec<String>,

    /// Address and port to serve /metrics and /probe on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9841")]
    listen: SocketAddr,

    /// Seconds from the start of one round of checks to the start of the next.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_interval)]
    interval: Duration,

    /// Seconds a /probe answer is served from the cache.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = dnsbl_check::config::parse_seconds)]
    probe_cache: Duration,

    /// Probes a second one client may start (its /64 for IPv6), with a burst of ten seconds'
    /// worth; past it, HTTP 429 with Retry-After. Probes answered from the cache are free.
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    probe_rate: u32,

    /// Probes a second all clients together may start, with a burst of ten seconds' worth.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    probe_rate_total: u32,

    /// Most /probe checks running at once; more wait, then get HTTP 503.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_probes: u32,

    /// At most this many `dnsbl_listed` series (one per listed address and list) for one
    /// network, lowest addresses first; the network's counts still count them all.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_listed_per_network: usize,

    #[command(flatten)]
    lists: ListOptions,

    /// How DNS queries travel.
    #[arg(long, value_enum, default_value_t = Transport::Pooled)]
    transport: Transport,

    #[command(flatten)]
    check: LookupOptions,

    /// More logging (RUST_LOG overrides the default filter).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// A round interval: 1 second to 1 day.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let secs: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of seconds"))?;
    if !(1..=86_400).contains(&secs) {
        return Err("must be 1 to 86400 seconds".into());
    }
    Ok(Duration::from_secs(secs))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = setup(&cli).and_then(|(checker, watched)| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the async runtime: {error}"))?;
        runtime.block_on(run(&cli, checker, watched))
    });
    match exit {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => common::usage_error::<Cli>(message),
    }
}

/// The checker and the targets, from the command line and config file; logging started.
fn setup(cli: &Cli) -> Result<(Checker<AnyResolver>, Watched), String> {
    let config = cli.lists.config()?;
    let resolver = cli.lists.resolver(&config, cli.transport)?;
    let checker = cli.check.checker(&cli.lists, &config, resolver)?;
    let keyed_zones = checker
        .lists()
        .map(|list| list.zone().clone())
        .filter(Zone::has_key)
        .collect();
    let filter = match cli.verbose {
        0 => "warn,dnsbl_exporter=info",
        1 => "info",
        _ => "debug",
    };
    init_logging(filter, keyed_zones);
    let watched = watched_targets(cli)?;
    Ok((checker, watched))
}

/// The targets: arguments, then `--input`, then `--mx` / `--resolve` domains.
fn watched_targets(cli: &Cli) -> Result<Watched, String> {
    let mut texts: Vec<String> = cli.targets.clone();
    if let Some(path) = &cli.input {
        let file = std::fs::File::open(path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|error| format!("{}: {error}", path.display()))?;
            // A byte-order mark, as Windows editors save UTF-8, is no part of the first target.
            let line = match number {
                0 => line.strip_prefix('\u{FEFF}').unwrap_or(&line),
                _ => &line,
            };
            let line = line.split('#').next().unwrap_or("").trim();
            if !line.is_empty() {
                texts.push(line.to_owned());
            }
            if texts.len() > MAX_TARGETS {
                return Err(format!("more than {MAX_TARGETS} targets"));
            }
        }
    }
    let mut specs = Vec::with_capacity(texts.len());
    for text in &texts {
        let spec: TargetSpec = text.parse().map_err(|error| format!("{error}"))?;
        if spec.len() > MAX_NETWORK_ADDRESSES {
            return Err(format!(
                "{text}: at most {MAX_NETWORK_ADDRESSES} addresses per network"
            ));
        }
        if !specs.contains(&spec) {
            specs.push(spec);
        }
    }
    let mut domains = Vec::new();
    for (names, source) in [
        (&cli.mx, HostSource::Mx),
        (&cli.resolve, HostSource::Resolve),
    ] {
        for name in names {
            let domain = DomainName::new(name).map_err(|error| format!("{name}: {error}"))?;
            domains.push((domain, source));
        }
    }
    if specs.is_empty() && domains.is_empty() {
        return Err("no targets: give addresses, networks, domains, --mx or --resolve".into());
    }
    Ok(Watched {
        specs,
        domains,
        max_listed_per_network: cli.max_listed_per_network,
    })
}

/// Serves HTTP and runs the rounds, until the process is stopped.
async fn run(cli: &Cli, checker: Checker<AnyResolver>, watched: Watched) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", cli.listen))?;
    let shared = Arc::new(Shared::default());
    let exporter = Arc::new(Exporter {
        checker: checker.clone(),
        shared: Arc::clone(&shared),
        schedule: Schedule {
            interval: cli.interval,
            started: SystemTime::now(),
        },
        probes: Arc::new(Semaphore::new(cli.max_probes as usize)),
        limits: limit::ProbeLimits::new(
            limit::Rate::per_second(cli.probe_rate),
            limit::Rate::per_second(cli.probe_rate_total),
        ),
        probe_cache: moka::future::Cache::builder()
            .max_capacity(PROBE_CACHE_ENTRIES)
            .time_to_live(cli.probe_cache)
            .build(),
    });
    tracing::info!(listen = %cli.listen, "serving /metrics and /probe");
    let rounds = state::run_rounds(checker, watched, cli.interval, shared);
    // The exporter keeps no state: SIGTERM (systemd, Kubernetes) and SIGINT stop it at once,
    // with exit status 0.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|error| format!("cannot handle SIGTERM: {error}"))?;
    tokio::select! {
        () = http::serve(listener, exporter) => {}
        () = rounds => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
        _ = terminate.recv() => tracing::info!("terminated; stopping"),
    }
    Ok(())
}

/// What the HTTP side reads: the last round's snapshot, the checker's statistics, and a
/// cache of probe pages.
struct Exporter {
    checker: Checker<AnyResolver>,
    shared: Arc<Shared>,
    schedule: Schedule,
    probes: Arc<Semaphore>,
    limits: limit::ProbeLimits,
    probe_cache: moka::future::Cache<(Target, Option<HostSource>), Arc<String>>,
}

impl http::Exporter for Exporter {
    fn metrics(&self) -> String {
        exposition::metrics(self.shared.snapshot(), self.checker.stats(), self.schedule)
    }

    async fn probe(
        &self,
        client: IpAddr,
        target: String,
        source: Option<String>,
    ) -> Result<String, ProbeError> {
        let key = probe_key(&target, source.as_deref()).map_err(ProbeError::BadTarget)?;
        if let Some(page) = self.probe_cache.get(&key).await {
            return Ok(String::clone(&page)); // costs the lists nothing: no token taken
        }
        self.limits
            .take(client)
            .await
            .map_err(ProbeError::RateLimited)?;
        let page = self
            .probe_cache
            .try_get_with(key.clone(), async {
                let _permit = tokio::time::timeout(PROBE_WAIT, self.probes.acquire())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .ok_or(ProbeError::Busy)?;
                Ok(Arc::new(self.run_probe(key).await))
            })
            .await
            .map_err(|error: Arc<ProbeError>| match &*error {
                ProbeError::BadTarget(text) => ProbeError::BadTarget(text.clone()),
                ProbeError::Busy => ProbeError::Busy,
                ProbeError::RateLimited(wait) => ProbeError::RateLimited(*wait),
            })?;
        Ok(String::clone(&page))
    }
}

impl Exporter {
    /// Checks the target, and with a source the domain's hosts' addresses too.
    async fn run_probe(&self, (target, source): (Target, Option<HostSource>)) -> String {
        let started = Instant::now();
        let mut targets = vec![target.clone()];
        let mut expansion = None;
        let mut left_out = 0;
        if let (Some(source), Target::Domain(domain)) = (source, &target) {
            let resolver = self.checker.resolver();
            let found;
            (found, left_out) =
                hosts::expand_at_most(resolver, domain, source, MAX_PROBE_ADDRESSES).await;
            targets.extend(found.addresses.iter().map(|host| Target::ip(host.addr)));
            expansion = Some(found);
        }
        let mut reports: Vec<Report> = self.checker.check_iter(targets).collect().await;
        reports.sort_by(|a, b| a.target.cmp(&b.target));
        let pairs = reports
            .iter()
            .flat_map(|report| state::report_pairs(&self.checker, report))
            .collect();
        let (hosts, mut trouble) = state::host_rows(expansion.as_slice());
        if let (Some(expansion), true) = (&expansion, left_out > 0) {
            trouble.push(exposition::HostTrouble {
                domain: expansion.domain.to_string(),
                source: if expansion.source == HostSource::Mx {
                    "mx"
                } else {
                    "resolve"
                },
                kind: "too_many_addresses",
            });
        }
        exposition::probe(pairs, hosts, trouble, started.elapsed())
    }
}

/// A probe checks one address or domain (a network would be thousands of checks), and with
/// `source=mx` or `source=resolve` a domain's hosts too.
fn probe_key(text: &str, source: Option<&str>) -> Result<(Target, Option<HostSource>), String> {
    let target = match text.parse::<TargetSpec>() {
        Ok(TargetSpec::One(target)) => target,
        Ok(_) => {
            return Err(format!(
                "{text:?}: a probe checks one address or domain; watch networks with the \
                 exporter's own targets"
            ));
        }
        Err(error) => return Err(format!("bad target: {error}")),
    };
    let source = match source {
        None => None,
        Some("mx") => Some(HostSource::Mx),
        Some("resolve") => Some(HostSource::Resolve),
        Some(other) => return Err(format!("source={other:?}: must be mx or resolve")),
    };
    if source.is_some() && target.is_ip() {
        return Err("source= needs a domain target".into());
    }
    Ok((target, source))
}
