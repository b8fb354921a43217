//! `dnsbl-check`: check IP addresses, networks and domain names against DNS blocklists.
//!
//! ```text
//! dnsbl-check 192.0.2.1 2001:db8::1 example.com        # the default lists
//! dnsbl-check --preset spamhaus-zen --zone bl.example.net=127.0.0.2*2 198.51.100.0/24
//! dnsbl-check --mx --smtp-check example.com            # a domain's mail servers, and why
//! dnsbl-check --mx --spf example.com                   # every address it receives or sends from
//! dnsbl-check --only listed 198.51.100.0/20            # a netblock: only what matters
//! dnsbl-check --format nagios --warning 1 --critical 3 192.0.2.1
//! dnsbl-check --input targets.txt --format json --nameserver 127.0.0.1:5353
//! SPAMHAUS_DQS_KEY=... dnsbl-check --preset spamhaus-zen 192.0.2.1
//! dnsbl-check --config lists.toml 192.0.2.1
//! dnsbl-check --list-presets
//! dnsbl-check --check-setup                           # can this resolver see the lists?
//! ```
//!
//! (From a checkout: `cargo run --example dnsbl-check -- ARGS`.)
//!
//! Targets are addresses, CIDR networks (every address, network and broadcast included) or
//! domain names, given as arguments or one per line with `--input FILE` (`-` for stdin; blank
//! lines and `#` comments are ignored). Input is streamed: a `/8` is never held in memory,
//! but a network beyond `--max-targets` (default 65,536 addresses) is refused before any
//! query is sent. Address targets go to IP lists only, domain targets to domain lists only.
//! With `--mx` a domain's mail servers (its MX hosts' A and AAAA addresses, or its own
//! addresses without MX), and with `--resolve` its own addresses, are checked too, with their
//! forward-confirmed reverse DNS; with `--spf` the addresses its SPF record authorizes (its
//! sending addresses, each with the path that reached it); `--smtp-check` also talks SMTP to each mail server
//! (addresses given, `ADDRESS:PORT` or `HOST:PORT`, or found with `--mx`) to find an open relay.
//!
//! Lists come from `--zone` / `--domain-zone` (Postfix syntax, `zone[=filter][*weight]`),
//! `--preset`, and `--config`, a TOML file (or JSON, if its name ends in `.json`) in the
//! library's `Config` format (a `[[list]]` may carry `lookup_url = "https://...{ip}"`).
//! Without any list, the default preset set is used. A Spamhaus DQS key (`--dqs-key`, or
//! better the `SPAMHAUS_DQS_KEY` environment variable) switches the Spamhaus presets to their
//! keyed zones; the key is never printed.
//!
//! Output is a block of text per target (addresses found for a domain under it), with
//! `--format json` one JSON object per line, or with `--format nagios` a monitoring-plugin
//! status line. Exit status: 0 when nothing is listed and every list answered; 1 when some
//! target's verdict is "listed" or an open relay was found; 2 when nothing is listed but a
//! check gave trouble, some input was bad, or the command line was wrong. With
//! `--format nagios`: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
//!
//! A list is trusted only once its positive test point (127.0.0.2, or the operator's own) was
//! seen listed; a list that cannot be trusted is named on one line on stderr, before the
//! results, and its answers are trouble. A run over many targets probes the lists again at its
//! end.

mod input;
mod nagios;
mod output;
mod setup;
mod watch;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use dnsbl_check::cli::{
    ListOptions, LookupOptions, Transport, describe_resolver, health_warning, init_logging,
    usage_error,
};
use dnsbl_check::hosts::HostSource;
use dnsbl_check::nagios::{Plugin, Thresholds};
use dnsbl_check::redact::KeyedZones;
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::smtp::ProbeConfig;
use dnsbl_check::summary::Summary;
use dnsbl_check::survey::{Survey, SurveyReport, SurveyTarget};
use dnsbl_check::{Config, ListHealth};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use input::{BadInput, Done, Rules, Share};
use output::{Only, Output};

// A bulk scan allocates a few blocks per target, the largest (its future) above what the
// system allocator keeps in its fast per-thread caches; mimalloc serves them all quickly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The most reports written between two flushes.
const READY_BATCH: usize = 256;
/// Batches the input thread may have checked ahead of the output: few, so memory stays flat.
const SHARED_AHEAD: usize = 4;

/// Check IP addresses, networks and domain names against DNS blocklists (DNSBLs).
// Not `Debug`: the struct holds the DQS key, which must never be printed.
#[derive(Parser)]
#[command(
    name = "dnsbl-check",
    version,
    after_help = "Exit status: 0 nothing listed and every list answered; 1 some target listed \
                  or an open relay found; 2 trouble (including a list whose test point is not \
                  listed: your resolver cannot see it), bad input or usage error. With \
                  --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."
)]
struct Cli {
    /// IPv4/IPv6 addresses, CIDR networks (every address is checked), domain names, or
    /// e-mail addresses (checked by hash on the hashed lists, as --hash-email).
    #[arg(value_name = "TARGET", required_unless_present_any = ["input", "list_presets", "history", "check_setup", "hash_email"])]
    targets: Vec<String>,

    /// Check the e-mail ADDRESS on the hashed lists (such as --preset spamhaus-hbl), by the
    /// hash each list asks for; reported under its hashed name. Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    hash_email: Vec<String>,

    /// Read targets from FILE, one per line ('-' for stdin); '#' starts a comment.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,

    #[command(flatten)]
    lists: ListOptions,

    /// Print the catalog of presets and exit.
    #[arg(long)]
    list_presets: bool,

    /// Diagnose the set-up and exit: the name servers in use (and whether one is a large
    /// public resolver the lists refuse), each list's test points with their answers and
    /// round-trip times, and whether a DQS key is accepted. Exit status: 0 every list works,
    /// 1 a public resolver is in use, 2 some list cannot be trusted.
    #[arg(long, conflicts_with_all = ["targets", "input", "watch", "history"])]
    check_setup: bool,

    /// How DNS queries travel: a few long-lived UDP sockets (fast, for bulk scans), or
    /// hickory-resolver's stock transport (a new socket per query).
    #[arg(long, value_enum, default_value_t = Transport::Pooled)]
    transport: Transport,

    #[command(flatten)]
    check: LookupOptions,

    /// Also check forward-confirmed reverse DNS of address targets (PTR names confirmed by
    /// their A/AAAA records).
    #[arg(long)]
    rdns: bool,

    /// No progress bar and no summary lines.
    #[arg(short, long)]
    quiet: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Log to stderr (RUST_LOG overrides the default filter; -vv for more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,

    // Mail servers, netblocks and monitoring.
    /// Also check each domain's mail servers: MX hosts' addresses, in preference order (the
    /// domain's own addresses without MX), with their reverse DNS.
    #[arg(long, help_heading = "Mail servers", conflicts_with = "resolve")]
    mx: bool,

    /// Also check each domain's own A and AAAA addresses, with their reverse DNS.
    #[arg(long, help_heading = "Mail servers")]
    resolve: bool,

    /// Also check the addresses each domain sends from: every network its SPF record
    /// authorizes (ip4, ip6, a, mx, include, redirect), within RFC 7208's limits. With --mx,
    /// a domain's whole mail footprint, each address once.
    #[arg(long, help_heading = "Mail servers")]
    spf: bool,

    /// Talk SMTP to each mail server (addresses given, ADDRESS:PORT, HOST:PORT, or found
    /// with --mx): open relay, banner name, STARTTLS. Never sends DATA.
    #[arg(long, help_heading = "Mail servers")]
    smtp_check: bool,

    /// The SMTP port for --smtp-check when a target does not name one.
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 25,
        help_heading = "Mail servers"
    )]
    smtp_port: u16,

    /// The sender --smtp-check gives in MAIL FROM: a real-looking address foreign to the
    /// server (a refusal makes the relay test inconclusive).
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "relay-probe@example.net",
        value_parser = parse_mailbox,
        help_heading = "Mail servers"
    )]
    smtp_from: String,

    /// The foreign recipient --smtp-check asks to relay to (never sent a message: the probe
    /// stops before DATA).
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "relay-probe@example.com",
        value_parser = parse_mailbox,
        help_heading = "Mail servers"
    )]
    smtp_rcpt: String,

    /// Seconds each SMTP step may take.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        help_heading = "Mail servers"
    )]
    smtp_timeout: f64,

    /// Which reports to write: listed, trouble, or all.
    #[arg(long, value_enum, default_value_t = Only::All, help_heading = "Netblocks")]
    only: Only,

    /// Refuse a network of more addresses than N (a typo must not become a scan).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 65_536,
        help_heading = "Netblocks"
    )]
    max_targets: u128,

    /// --format nagios: WARNING from N listings (target and list pairs).
    #[arg(long, value_name = "N", help_heading = "Monitoring")]
    warning: Option<u64>,

    /// --format nagios: CRITICAL from N listings [default: 1].
    #[arg(long, value_name = "N", help_heading = "Monitoring")]
    critical: Option<u64>,

    #[command(flatten)]
    watch: watch::WatchOptions,
}

/// An address for the SMTP probe: `local@domain`, printable ASCII without spaces or angle
/// brackets (it goes into an SMTP command line as it is).
fn parse_mailbox(text: &str) -> Result<String, String> {
    let printable = text
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>'));
    match text.rsplit_once('@') {
        Some((local, domain))
            if printable
                && !local.is_empty()
                && text.len() <= 254
                && dnsbl_check::target::DomainName::new(domain).is_ok() =>
        {
            Ok(text.to_owned())
        }
        _ => Err(format!("{text:?} is not an address like name@example.com")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable block per target.
    Text,
    /// JSON Lines: one report object per target.
    Json,
    /// A monitoring-plugin status line (Nagios, Icinga) with perfdata.
    Nagios,
}

fn main() -> ExitCode {
    let nagios_asked = std::env::args()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|pair| pair[0] == "--format" && pair[1] == "nagios")
        || std::env::args().any(|arg| arg == "--format=nagios");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if nagios_asked && error.use_stderr() => usage_unknown(&error.to_string()),
        Err(error) => error.exit(),
    };
    if cli.list_presets {
        return output::list_presets(cli.format);
    }
    if cli.format == Format::Nagios && (cli.watch.watch.is_some() || cli.watch.history.is_some()) {
        // A status line is one check's verdict; watch mode and its history are event streams.
        Cli::command()
            .error(
                ErrorKind::ArgumentConflict,
                "--format nagios is one check's status line; \
                 with --watch or --history use --format text or --format json",
            )
            .exit();
    }
    if cli.watch.history.is_some() {
        return watch::history(&cli.watch, cli.format == Format::Json);
    }
    let exit = cli.lists.config().map_err(String::from).and_then(|config| {
        let resolver = cli.lists.resolver(&config, cli.transport)?;
        if cli.check_setup {
            return setup::run(&cli.lists, &config, resolver, cli.format);
        }
        start(&cli, &config, resolver)
    });
    exit.unwrap_or_else(|message| match cli.format {
        Format::Nagios => usage_unknown(&message),
        // Clap's usage errors exit with status 2, as all setup errors should.
        _ => usage_error::<Cli>(message),
    })
}

/// A usage or setup error as a monitoring plugin reports it: UNKNOWN, exit 3.
fn usage_unknown(message: &str) -> ! {
    let _ = io::stdout()
        .write_all(dnsbl_check::nagios::unknown(message.trim_start_matches("error: ")).as_bytes());
    std::process::exit(3)
}

/// Builds the checker on `resolver`, starts logging, and runs the checks.
fn start(cli: &Cli, config: &Config, resolver: AnyResolver) -> Result<ExitCode, String> {
    let checker = cli.check.checker(&cli.lists, config, resolver)?;
    init_tracing(cli.verbose, KeyedZones::of(checker.lists()));
    if cli.watch.watch.is_some() {
        let json = cli.format == Format::Json;
        let expand = match (cli.mx, cli.resolve) {
            (true, _) => Some(HostSource::Mx),
            (_, true) => Some(HostSource::Resolve),
            _ => None,
        };
        let expand: Vec<HostSource> = expand
            .into_iter()
            .chain(cli.spf.then_some(HostSource::Spf))
            .collect();
        let targets = (
            &cli.targets[..],
            cli.input.as_deref(),
            cli.max_targets,
            expand,
        );
        let resolver = describe_resolver(&cli.lists.resolver_options(config).name_servers);
        // The test-point probes count towards the lists' daily queries too.
        let health_interval = (!cli.check.no_health_check && config.health_checks != Some(false))
            .then(|| config.health_interval.unwrap_or(watch::HEALTH_INTERVAL));
        return watch::start(
            &cli.watch,
            targets,
            json,
            checker,
            health_interval,
            &resolver,
        );
    }
    let rules = Rules {
        max_targets: cli.max_targets,
        server_ports: cli.smtp_check,
    };
    let bad = BadInput::new();
    let arguments = input::hash_emails(&checker, &cli.targets, &cli.hash_email)?;
    let specs = input::parse_arguments(&arguments, rules, &bad)?;
    let input = cli
        .input
        .as_deref()
        .map(|path| input::open_input(path, rules))
        .transpose()?;
    // One thread: the pooled transport's receive tasks, the checks and the output all run
    // on it without cross-thread wake-ups, which measured faster than a multi-thread runtime
    // for bulk scans (input is read on a thread of its own).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let total = input::total_targets(&specs, input.is_some());
    let mut survey = Survey::new(checker)
        .reverse_dns(cli.rdns)
        .spf(cli.spf)
        .max_spf_addresses(cli.max_targets);
    match (cli.mx, cli.resolve) {
        (true, _) => survey = survey.mail_servers(HostSource::Mx),
        (_, true) => survey = survey.mail_servers(HostSource::Resolve),
        _ => {}
    }
    if cli.smtp_check {
        let probe = ProbeConfig {
            timeout: Duration::try_from_secs_f64(cli.smtp_timeout)
                .unwrap_or(Duration::from_secs(10)),
            mail_from: cli.smtp_from.clone(),
            rcpt_to: cli.smtp_rcpt.clone(),
            ..ProbeConfig::default()
        };
        survey = survey.smtp(probe, cli.smtp_port);
    }
    let survey = Arc::new(survey);
    let output = Output::new(cli.format, cli.only);
    // The monitoring-plugin format counts each report itself: no share there.
    let (done, finished) = tokio::sync::mpsc::channel(SHARED_AHEAD);
    let share = (cli.format != Format::Nagios).then(|| Share {
        survey: Arc::clone(&survey),
        render: output.render(),
        done,
    });
    let receiver = input::spawn_feeder(specs, input, rules, bad.clone(), share);
    let resolver = describe_resolver(&cli.lists.resolver_options(config).name_servers);
    let fed = Fed { receiver, finished };
    Ok(runtime.block_on(run(cli, &survey, fed, output, total, bad, &resolver)))
}

// ---------------------------------------------------------------------------------------------
// Running the checks.

/// What the input thread sends: targets to check, and reports it checked itself.
struct Fed {
    receiver: tokio::sync::mpsc::Receiver<Vec<SurveyTarget>>,
    finished: tokio::sync::mpsc::Receiver<Done>,
}

/// A report checked here, or reports the input thread checked.
// Not boxed: a box would cost an allocation per report, where the batches move few.
#[allow(clippy::large_enum_variant)]
enum Ready {
    Checked(SurveyReport),
    Done(Done),
}

async fn run(
    cli: &Cli,
    survey: &Survey<AnyResolver>,
    fed: Fed,
    mut output: Output,
    total: Option<u64>,
    mut bad: BadInput,
    resolver: &str,
) -> ExitCode {
    let bulk = cli.input.is_some() || total.is_some_and(|total| total > 1);
    let show_bar = bulk && !cli.quiet && cli.verbose == 0 && cli.format != Format::Nagios;
    let progress = if show_bar && io::stderr().is_terminal() {
        progress_bar(total)
    } else {
        ProgressBar::hidden()
    };
    bad.progress = progress.clone();
    let bar_shown = !progress.is_hidden();

    // The lists' health first, so that a list that cannot be trusted is said plainly, once,
    // before any result: its results will be trouble.
    let warned: Vec<(String, ListHealth)> = survey
        .checker()
        .refresh_health()
        .await
        .into_iter()
        .filter_map(|(list, health)| {
            let line = health_warning(list, &health, resolver)?;
            progress.suspend(|| warn(&line));
            Some((list.name().to_owned(), health))
        })
        .collect();

    let jobs = futures::stream::unfold(fed.receiver, |mut receiver| async move {
        receiver.recv().await.map(|batch| (batch, receiver))
    })
    .flat_map(futures::stream::iter);
    let checked = survey.check_stream(jobs).map(Ready::Checked);
    let done = futures::stream::unfold(fed.finished, |mut finished| async move {
        finished
            .recv()
            .await
            .map(|done| (Ready::Done(done), finished))
    });

    output.set_progress(progress.clone());
    let mut summary = Summary::new(survey.checker().lists().map(|list| list.name().to_owned()));
    let mut plugin = Plugin::new(Thresholds {
        warning: cli.warning,
        critical: cli.critical.or(Some(1)),
    });
    let mut open_relays = 0u64;
    let mut shared = 0u64;
    // Every report that is ready is written, then the output flushed once: as prompt as a
    // flush per report, without a write system call per report in bulk runs.
    let ready = futures::stream::select(checked, done);
    let mut batches = std::pin::pin!(ready.ready_chunks(READY_BATCH));
    'reports: while let Some(batch) = batches.next().await {
        for ready in batch {
            match ready {
                Ready::Checked(checked) => {
                    open_relays += input::count(&mut summary, &checked);
                    if cli.format == Format::Nagios {
                        // Its details are written only in that format.
                        for one in std::iter::once(&checked).chain(&checked.derived) {
                            nagios::add(&mut plugin, one);
                        }
                    }
                    if bar_shown {
                        progress.inc(1);
                    }
                    output.write_report(&checked);
                }
                Ready::Done(done) => {
                    shared += done.reports;
                    summary.merge(&done.summary);
                    open_relays += done.open_relays;
                    if bar_shown {
                        progress.inc(done.reports);
                    }
                    output.write_rendered(&done.rendered);
                }
            }
            if output.stopped() {
                break 'reports; // nobody reads the rest: stop checking
            }
        }
        output.idle();
    }
    progress.finish_and_clear();
    if shared > 0 {
        tracing::debug!("{shared} targets were checked on the input thread");
    }
    // A long run is proven again at its end: a list whose resolver went blind midway has read
    // "not listed" since, so the run cannot end clean.
    let mut blind_at_end = false;
    if bulk && !output.stopped() {
        for (list, health) in survey.checker().reprobe_health().await {
            if !health.is_untrusted() {
                continue;
            }
            blind_at_end = true;
            plugin.untrusted(list.name());
            let known = warned
                .iter()
                .any(|(name, was)| name == list.name() && *was == health);
            if let Some(line) = health_warning(list, &health, resolver).filter(|_| !known) {
                warn(&format!(
                    "at the end of the run, {}; earlier \"not listed\" results of this list \
                     may be wrong",
                    line.trim_start_matches("warning: ")
                ));
            }
        }
    }
    let exit = match cli.format {
        Format::Nagios => {
            let (text, status) = plugin.render(&summary, bad.seen());
            output.write_raw(&text);
            ExitCode::from(status.exit_code())
        }
        _ if summary.listed_targets > 0 || open_relays > 0 => ExitCode::from(1),
        _ if summary.incomplete > 0 || bad.seen() || blind_at_end => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    };
    if cli.format == Format::Text
        && !cli.quiet
        && (summary.targets > 1 || !summary.networks.is_empty())
    {
        output.write_summary(&summary);
    }
    output.finish();
    if output.failed() {
        ExitCode::from(2)
    } else {
        exit
    }
}

fn progress_bar(total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{spinner} {elapsed_precise} [{wide_bar}] {human_pos}/{human_len} {rate} eta {eta}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {elapsed_precise} {human_pos} checked, {rate}",
        ),
    };
    // The templates are fixed; should one not parse, the default look will do.
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        // indicatif's own {per_sec} shows four decimals; a whole number reads better.
        .with_key(
            "rate",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.0}/s", state.per_sec());
            },
        );
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// One message on stderr. Never panics, unlike `eprintln!` on a closed stderr.
fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "dnsbl-check: {message}");
}

/// `-v`: the library's logs on stderr; `-vv`: its trace logs too. RUST_LOG overrides both.
fn init_tracing(verbose: u8, keyed_zones: KeyedZones) {
    match verbose {
        0 => {}
        1 => init_logging("warn,dnsbl_check=debug", keyed_zones),
        _ => init_logging("warn,dnsbl_check=trace", keyed_zones),
    }
}
