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
//!   blackbox_exporter, and returns only its series; `&source=mx` (or `resolve`, or `spf`)
//!   checks a domain's mail servers (or own addresses, or the sending addresses its SPF
//!   record authorizes) too, at most 16 of them; `&module=NAME` checks
//!   with the lists of `[modules.NAME]` in the `--config` file (an unknown module is HTTP 400).
//!   Answers are cached for `--probe-cache` seconds; a probe that is not in the cache takes a
//!   token of its client's rate (`--probe-rate`) and of the total (`--probe-rate-total`), or
//!   gets HTTP 429 with `Retry-After`; at most `--max-probes` run at once, and a bad target
//!   gets HTTP 400.
//!
//! Targets are addresses, CIDR networks (a network publishes counts per list, and series
//! for its listed addresses only) and domain names (checked against domain lists). `--mx
//! DOMAIN` also checks the addresses of the domain's mail servers, `--resolve DOMAIN` the
//! domain's own addresses, and `--spf DOMAIN` the addresses its SPF record authorizes; all
//! are looked up again every round. At start the exporter prints the queries a day each list
//! will get (targets × rounds a day, plus test-point probes), and refuses to start past a
//! list's free-use limit unless `--ignore-usage-limits` is given. Lists, resolver and config
//! file are chosen as for `dnsbl-check`. The series are described in `src/exporter/exposition.rs`
//! and the README; alert rules are in `examples/prometheus/alerts.yml`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use dnsbl_check::cli::Shutdown;
use dnsbl_check::cli::{ListOptions, LookupOptions, Transport, usage_error};
use dnsbl_check::hosts::HostSource;
use dnsbl_check::monitor::{QueryBudget, TargetCounts};
use dnsbl_check::redact::KeyedZones;
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::target::DomainName;
use dnsbl_check::target::reader::TargetReader;
use dnsbl_check::{Checker, TargetSpec, TxtLookup};

use dnsbl_check::exporter::limit::Rate;
use dnsbl_check::exporter::server::ExporterServer;
use dnsbl_check::exporter::state::Watched;

/// The most targets taken from the command line and `--input` together: each is checked
/// every round, and each named one is a set of series.
const MAX_TARGETS: usize = 100_000;
/// The largest network taken: a /16 of IPv4 (65,536 addresses).
const MAX_NETWORK_ADDRESSES: u128 = 1 << 16;

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

    /// Also check the addresses this domain's SPF record authorizes (its sending addresses).
    /// Repeatable.
    #[arg(long = "spf", value_name = "DOMAIN")]
    spf: Vec<String>,

    /// Start even if the queries a day would exceed a list's free-use limit.
    #[arg(long)]
    ignore_usage_limits: bool,

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
    let exit = setup(&cli).and_then(|setup| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the async runtime: {error}"))?;
        runtime.block_on(run(&cli, setup))
    });
    match exit {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => usage_error::<Cli>(message),
    }
}

/// What the exporter runs on, from the command line and config file.
struct Setup {
    checker: Checker<AnyResolver>,
    /// The `[modules.NAME]` checkers, for `/probe?module=NAME`.
    modules: HashMap<String, Checker<AnyResolver>>,
    watched: Watched,
    /// How often the lists' test points are probed; `None` without health checks.
    health_interval: Option<Duration>,
}

/// The checkers and the targets, from the command line and config file; logging started.
fn setup(cli: &Cli) -> Result<Setup, String> {
    let config = cli.lists.config()?;
    let resolver = cli.lists.resolver(&config, cli.transport)?;
    let checker = cli.check.checker(&cli.lists, &config, resolver.clone())?;
    let mut modules = HashMap::new();
    let key = cli.lists.dqs_key.as_deref();
    for (name, module) in &config.modules {
        let lists = module
            .lists(key)
            .map_err(|error| format!("[modules.{name}]: {error}"))?;
        if lists.is_empty() {
            return Err(format!("[modules.{name}] has no lists"));
        }
        let deadline = cli.lists.deadline(&config, None, TxtLookup::WhenListed);
        let builder = config.apply_to_checker(Checker::builder().lists(lists).deadline(deadline));
        let module_checker = cli
            .check
            .apply(builder)
            .build_with(resolver.clone())
            .map_err(|error| format!("[modules.{name}]: {error}"))?;
        modules.insert(name.clone(), module_checker);
    }
    let keyed_zones = KeyedZones::of(
        checker
            .lists()
            .chain(modules.values().flat_map(Checker::lists)),
    );
    let filter = match cli.verbose {
        0 => "warn,dnsbl_exporter=info,dnsbl_check::cli::shutdown=info",
        1 => "info",
        _ => "debug",
    };
    dnsbl_check::cli::init_logging(filter, keyed_zones);
    let watched = watched_targets(cli)?;
    // The test-point probes count towards the lists' daily queries too.
    let health_interval = (!cli.check.no_health_check && config.health_checks != Some(false))
        .then(|| config.health_interval.unwrap_or(HEALTH_INTERVAL));
    Ok(Setup {
        checker,
        modules,
        watched,
        health_interval,
    })
}

/// The checker's health interval unless the config sets one.
const HEALTH_INTERVAL: Duration = Duration::from_secs(300);

/// The queries a day each list will get from the rounds (the domains' addresses looked up
/// once for the count), printed; an error past a list's free-use limit, unless
/// `--ignore-usage-limits`.
async fn query_budget(cli: &Cli, setup: &Setup) -> Result<QueryBudget, String> {
    let mut counts = TargetCounts::default();
    for spec in &setup.watched.specs {
        counts.add(spec);
    }
    let domains = setup
        .watched
        .domains
        .iter()
        .map(|(domain, source)| (domain, *source));
    counts
        .add_hosts(setup.checker.resolver(), domains, u128::MAX)
        .await
        .map_err(|error| error.to_string())?;
    let budget = QueryBudget::new(
        setup.checker.lists(),
        counts,
        cli.interval,
        setup.health_interval,
    );
    for list in &budget.lists {
        eprintln!("dnsbl-exporter: queries a day: {list}");
    }
    match budget.refusal("--interval") {
        Some(message) if !cli.ignore_usage_limits => Err(message),
        Some(_) => {
            eprintln!("dnsbl-exporter: going on past the free-use limits (--ignore-usage-limits)");
            Ok(budget)
        }
        None => Ok(budget),
    }
}

/// The targets: arguments, then `--input`, then `--mx` / `--resolve` domains.
fn watched_targets(cli: &Cli) -> Result<Watched, String> {
    let mut texts: Vec<String> = cli.targets.clone();
    if let Some(path) = &cli.input {
        let file = std::fs::File::open(path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        for target in TargetReader::new(std::io::BufReader::new(file)) {
            let target = target.map_err(|error| format!("{}: {error}", path.display()))?;
            texts.push(target.text().to_owned());
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
        (&cli.spf, HostSource::Spf),
    ] {
        for name in names {
            let domain = DomainName::new(name).map_err(|error| format!("{name}: {error}"))?;
            domains.push((domain, source));
        }
    }
    if specs.is_empty() && domains.is_empty() {
        return Err(
            "no targets: give addresses, networks, domains, --mx, --resolve or --spf".into(),
        );
    }
    Ok(Watched {
        specs,
        domains,
        max_listed_per_network: cli.max_listed_per_network,
    })
}

/// Serves HTTP and runs the rounds, until the process is stopped.
async fn run(cli: &Cli, setup: Setup) -> Result<(), String> {
    let budget = query_budget(cli, &setup).await?;
    let Setup {
        checker,
        modules,
        watched,
        ..
    } = setup;
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", cli.listen))?;
    let server = ExporterServer::new(checker, watched)
        .interval(cli.interval)
        .modules(modules)
        .budget(budget)
        .probe_cache(cli.probe_cache)
        .probe_rates(
            Rate::per_second(cli.probe_rate),
            Rate::per_second(cli.probe_rate_total),
        )
        .max_probes(cli.max_probes as usize);
    // The exporter keeps no state: SIGTERM (systemd, Kubernetes) and SIGINT stop it, with exit
    // status 0, once the answers in flight are given (a second signal does not wait).
    let shutdown =
        Shutdown::new().map_err(|error| format!("cannot handle SIGTERM and SIGINT: {error}"))?;
    server.serve(listener, shutdown.logged()).await;
    Ok(())
}
