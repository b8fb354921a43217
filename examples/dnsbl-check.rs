//! `dnsbl-check`: check IP addresses, networks and domain names against DNS blocklists.
//!
//! ```text
//! dnsbl-check 192.0.2.1 2001:db8::1 example.com        # the default lists
//! dnsbl-check --preset spamhaus-zen --zone bl.example.net=127.0.0.2*2 198.51.100.0/24
//! dnsbl-check --domain-zone dbl.example.net example.com
//! dnsbl-check --input targets.txt --format json --nameserver 127.0.0.1:5353
//! grep -v '^#' hosts | dnsbl-check --input -
//! SPAMHAUS_DQS_KEY=... dnsbl-check --preset spamhaus-zen 192.0.2.1
//! dnsbl-check --config lists.toml 192.0.2.1
//! dnsbl-check --list-presets
//! ```
//!
//! (From a checkout: `cargo run --example dnsbl-check -- ARGS`.)
//!
//! Targets are addresses, CIDR networks (every address, network and broadcast included) or
//! domain names, given as arguments or one per line with `--input FILE` (`-` for stdin; blank
//! lines and `#` comments are ignored). Input is streamed: a `/8` is never held in memory.
//! Address targets go to IP lists only, domain targets to domain lists only.
//!
//! Lists come from `--zone` / `--domain-zone` (Postfix syntax, `zone[=filter][*weight]`),
//! `--preset`, and `--config`, a TOML file (or JSON, if its name ends in `.json`) in the
//! library's `Config` format:
//!
//! ```toml
//! presets = ["spamhaus-zen", "spamcop"]
//! threshold = 2              # settings are optional; command-line flags win
//! timeout = 1.5              # seconds per query
//! nameservers = ["127.0.0.1:5353"]
//!
//! [[list]]
//! name = "my-list"
//! zone = "bl.example.net"
//! kind = "ip"                # ip, ipv4, ipv6 or domain
//! filter = "127.0.0.[2..10]"
//! weight = 2
//! categories = { "127.0.0.2" = "spam source", "127.0.0.3" = "open proxy" }
//! error_codes = { "127.0.0.255" = "over quota" }
//! ```
//!
//! Without any list, the default preset set is used. A Spamhaus DQS key (`--dqs-key`, or
//! better the `SPAMHAUS_DQS_KEY` environment variable, which other users cannot see in the
//! process list) switches the Spamhaus presets to their keyed zones; the key is never printed.
//!
//! Output is a block of text per target, or with `--format json` one JSON object per line
//! (the library's `Report`), written as each check completes. Lists that do not take a
//! target's kind are left out of both.
//!
//! Exit status: 0 when nothing is listed and every list answered; 1 when some target's
//! verdict is "listed"; 2 when nothing is listed but a list gave trouble (failed, operator
//! error code, invalid answer, unhealthy), some input was bad, or the command line was wrong.

mod common;

use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, StdoutLock, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use common::{ListOptions, Transport, init_logging};
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::{
    Checker, Config, ListResult, Outcome, Report, ReverseDns, Target, TargetSpec, TxtLookup, Zone,
    forward_confirmed_reverse_dns, presets,
};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use tokio::sync::mpsc;

/// Targets read ahead of the checks. Small and bounded, so that memory stays flat.
const READ_AHEAD: usize = 1024;
/// The most reports written between two flushes.
const READY_BATCH: usize = 256;
/// Input lines longer than this are rejected rather than buffered (no target is this long).
const MAX_LINE: u64 = 4096;

/// Check IP addresses, networks and domain names against DNS blocklists (DNSBLs).
// Not `Debug`: the struct holds the DQS key, which must never be printed.
#[derive(Parser)]
#[command(
    name = "dnsbl-check",
    version,
    after_help = "Exit status: 0 nothing listed and every list answered; 1 some target listed; \
                  2 list trouble, bad input or usage error."
)]
struct Cli {
    /// IPv4/IPv6 addresses, CIDR networks (every address is checked) or domain names.
    #[arg(value_name = "TARGET", required_unless_present_any = ["input", "list_presets"])]
    targets: Vec<String>,

    /// Read targets from FILE, one per line ('-' for stdin); '#' starts a comment.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,

    #[command(flatten)]
    lists: ListOptions,

    /// Print the catalog of presets and exit.
    #[arg(long)]
    list_presets: bool,

    /// How DNS queries travel: a few long-lived UDP sockets (fast, for bulk scans), or
    /// hickory-resolver's stock transport (a new socket per query).
    #[arg(long, value_enum, default_value_t = Transport::Pooled)]
    transport: Transport,

    /// Most DNS queries in flight at once [default: 100].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: Option<u32>,

    /// Do not fetch TXT reasons.
    #[arg(long)]
    no_txt: bool,

    /// Also check forward-confirmed reverse DNS of address targets (PTR names confirmed by
    /// their A/AAAA records).
    #[arg(long)]
    rdns: bool,

    /// Do not probe the lists' RFC 5782 test points before trusting them.
    #[arg(long)]
    no_health_check: bool,

    /// No progress bar and no summary line.
    #[arg(short, long)]
    quiet: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Log to stderr (RUST_LOG overrides the default filter; -vv for more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable block per target.
    Text,
    /// JSON Lines: one report object per target.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.list_presets {
        return list_presets(cli.format);
    }
    let exit = cli.lists.config().and_then(|config| {
        let resolver = cli.lists.resolver(&config, cli.transport)?;
        start(&cli, &config, resolver)
    });
    // Clap's usage errors exit with status 2, as all setup errors should.
    exit.unwrap_or_else(|message| {
        Cli::command()
            .error(ErrorKind::InvalidValue, message)
            .exit()
    })
}

/// Builds the checker on `resolver`, starts logging, and runs the checks.
fn start(cli: &Cli, config: &Config, resolver: AnyResolver) -> Result<ExitCode, String> {
    let checker = setup_checker(cli, config, resolver)?;
    let keyed_zones = checker
        .lists()
        .map(|list| list.zone().clone())
        .filter(Zone::has_key)
        .collect();
    init_tracing(cli.verbose, keyed_zones);
    // One thread: the pooled transport's receive tasks, the checks and the output all run
    // on it without cross-thread wake-ups, which measured faster than a multi-thread runtime
    // for bulk scans (input is read on a thread of its own).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    Ok(runtime.block_on(run(cli, checker)))
}

// ---------------------------------------------------------------------------------------------
// Setup: lists, resolver, checker.

fn setup_checker(
    cli: &Cli,
    config: &Config,
    resolver: AnyResolver,
) -> Result<Checker<AnyResolver>, String> {
    let lists = cli.lists.lists(config)?;
    let deadline = cli.lists.deadline(config, None, TxtLookup::WhenListed);
    // File settings over the defaults, command-line flags over both.
    let mut builder = config.apply_to_checker(Checker::builder().lists(lists).deadline(deadline));
    if let Some(threshold) = cli.lists.threshold {
        builder = builder.threshold(threshold);
    }
    if let Some(concurrency) = cli.concurrency {
        builder = builder.max_queries_in_flight(concurrency as usize);
    }
    if cli.no_txt {
        builder = builder.fetch_txt(false);
    }
    if cli.no_health_check {
        builder = builder.health_checks(false);
    }
    builder
        .build_with(resolver)
        .map_err(|error| error.to_string())
}

// ---------------------------------------------------------------------------------------------
// Targets: positional arguments, then the input file, fed lazily through a bounded channel.

/// Where targets are read from, opened up front so that a missing file is a usage error.
struct Input {
    name: String,
    reader: Box<dyn BufRead + Send>,
}

fn open_input(path: &Path) -> Result<Input, String> {
    if path.as_os_str() == "-" {
        return Ok(Input {
            name: "stdin".into(),
            reader: Box::new(BufReader::new(io::stdin())),
        });
    }
    let file = std::fs::File::open(path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    Ok(Input {
        name: path.display().to_string(),
        reader: Box::new(BufReader::new(file)),
    })
}

/// Reports bad input on stderr (around the progress bar) and remembers that there was some.
#[derive(Clone)]
struct BadInput {
    seen: Arc<AtomicBool>,
    progress: ProgressBar,
}

impl BadInput {
    fn new() -> Self {
        BadInput {
            seen: Arc::new(AtomicBool::new(false)),
            progress: ProgressBar::hidden(),
        }
    }

    fn report(&self, message: &str) {
        self.seen.store(true, Ordering::Relaxed);
        self.progress.suspend(|| warn(message));
    }

    fn seen(&self) -> bool {
        self.seen.load(Ordering::Relaxed)
    }
}

/// Parses the positional targets, reporting bad ones by their argument position.
fn parse_arguments(arguments: &[String], bad: &BadInput) -> Vec<TargetSpec> {
    arguments
        .iter()
        .enumerate()
        .filter_map(|(index, text)| match text.parse::<TargetSpec>() {
            Ok(spec) => Some(spec),
            Err(error) => {
                bad.report(&format!("target argument {}: {error}", index + 1));
                None
            }
        })
        .collect()
}

/// Starts a thread that expands `specs` and reads `input`, sending targets as the checks take
/// them. A plain thread, because reading stdin blocks; the channel bounds the read-ahead.
fn spawn_feeder(
    specs: Vec<TargetSpec>,
    input: Option<Input>,
    bad: BadInput,
) -> mpsc::Receiver<Target> {
    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    std::thread::spawn(move || {
        for target in specs.into_iter().flatten() {
            if sender.blocking_send(target).is_err() {
                return; // the checks stopped (output closed)
            }
        }
        if let Some(input) = input {
            feed_lines(input, &sender, &bad);
        }
    });
    receiver
}

fn feed_lines(mut input: Input, sender: &mpsc::Sender<Target>, bad: &BadInput) {
    let mut line = Vec::new();
    for number in 1u64.. {
        line.clear();
        let read = (&mut input.reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line);
        match read {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) => {
                bad.report(&format!("cannot read {}: {error}", input.name));
                return;
            }
        }
        if !line.ends_with(b"\n") && line.len() as u64 == MAX_LINE {
            bad.report(&format!("{} line {number}: line too long", input.name));
            if skip_rest_of_line(&mut input.reader).is_err() {
                return;
            }
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let Some(target) = strip_comment(&text) else {
            continue;
        };
        match target.parse::<TargetSpec>() {
            Ok(spec) => {
                for target in spec {
                    if sender.blocking_send(target).is_err() {
                        return;
                    }
                }
            }
            Err(error) => bad.report(&format!("{} line {number}: {error}", input.name)),
        }
    }
}

fn skip_rest_of_line(reader: &mut dyn BufRead) -> io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let len = buffer.len();
                reader.consume(len);
            }
        }
    }
}

/// The target on an input line, without comment and surrounding space; `None` if blank.
fn strip_comment(line: &str) -> Option<&str> {
    let before_comment = line.split('#').next().unwrap_or_default().trim();
    (!before_comment.is_empty()).then_some(before_comment)
}

/// How many targets the positional arguments expand to, if that is known and fits a bar.
fn total_targets(specs: &[TargetSpec], input: bool) -> Option<u64> {
    if input {
        return None;
    }
    let total = specs
        .iter()
        .try_fold(0u128, |sum, spec| sum.checked_add(spec.len()))?;
    u64::try_from(total).ok()
}

// ---------------------------------------------------------------------------------------------
// Running the checks.

async fn run(cli: &Cli, checker: Checker<AnyResolver>) -> ExitCode {
    let input = match cli.input.as_deref().map(open_input).transpose() {
        Ok(input) => input,
        Err(message) => Cli::command().error(ErrorKind::Io, message).exit(),
    };
    let mut bad = BadInput::new();
    let specs = parse_arguments(&cli.targets, &bad);
    let total = total_targets(&specs, input.is_some());
    let bulk = input.is_some() || total.is_some_and(|total| total > 1);
    let progress = if bulk && !cli.quiet && cli.verbose == 0 && io::stderr().is_terminal() {
        progress_bar(total)
    } else {
        ProgressBar::hidden()
    };
    bad.progress = progress.clone();

    let receiver = spawn_feeder(specs, input, bad.clone());
    let targets = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|target| (target, receiver))
    });
    let reports = checker.check_stream(targets).map(|report| {
        let checker = checker.clone();
        async move {
            let rdns = match (&report.target, cli.rdns) {
                (Target::Ip(addr), true) => {
                    Some(forward_confirmed_reverse_dns(checker.resolver(), *addr).await)
                }
                _ => None,
            };
            Checked { report, rdns }
        }
    });
    // Reverse DNS runs after each target's list checks, for many targets at once.
    let reports = reports.buffer_unordered(RDNS_IN_FLIGHT);

    let mut output = Output::new(cli.format, progress.clone());
    let mut tally = Tally::new(&checker);
    // Every report that is ready is written, then the output flushed once: as prompt as a
    // flush per report, without a write system call per report in bulk runs.
    let mut batches = std::pin::pin!(reports.ready_chunks(READY_BATCH));
    'reports: while let Some(batch) = batches.next().await {
        for mut checked in batch {
            checked.report.retain_applicable();
            tally.add(&checked);
            progress.inc(1);
            output.write_report(&checked);
            if output.stopped() {
                break 'reports; // nobody reads the rest: stop checking
            }
        }
        output.idle();
    }
    progress.finish_and_clear();
    if cli.format == Format::Text && !cli.quiet && tally.checked > 1 {
        output.write_summary(&tally);
    }
    output.finish();
    tally.exit_code(bad.seen() || output.failed())
}

/// How many reverse DNS checks run at once with `--rdns`.
const RDNS_IN_FLIGHT: usize = 64;

/// One target's results: its report (lists that do not take it removed, since they are
/// expected, not news) and, with `--rdns`, its forward-confirmed reverse DNS.
#[derive(serde::Serialize)]
struct Checked {
    #[serde(flatten)]
    report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    rdns: Option<ReverseDns>,
}

impl Checked {
    /// A reverse DNS lookup failure is trouble: nothing could be said either way.
    fn rdns_failed(&self) -> bool {
        matches!(self.rdns, Some(ReverseDns::Failed(_)))
    }
}

/// A target no configured list could be asked about was not checked at all.
fn unchecked(report: &Report) -> bool {
    report.results.is_empty()
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

/// Counts for the summary line and the exit status.
struct Tally {
    checked: u64,
    listed: u64,
    /// Targets with list trouble or no applicable list.
    incomplete: u64,
    /// Per list, in configured order: how many targets it gave trouble for.
    trouble: Vec<(String, u64)>,
}

impl Tally {
    fn new(checker: &Checker<AnyResolver>) -> Self {
        Tally {
            checked: 0,
            listed: 0,
            incomplete: 0,
            trouble: checker
                .lists()
                .map(|list| (list.name().to_owned(), 0))
                .collect(),
        }
    }

    fn add(&mut self, checked: &Checked) {
        let report = &checked.report;
        self.checked += 1;
        self.listed += u64::from(report.listed);
        if report.has_trouble() || unchecked(report) || checked.rdns_failed() {
            self.incomplete += 1;
        }
        for result in report.results.iter().filter(|r| r.outcome.is_trouble()) {
            if let Some((_, count)) = self
                .trouble
                .iter_mut()
                .find(|(name, _)| *name == result.list)
            {
                *count += 1;
            }
        }
    }

    fn exit_code(&self, other_trouble: bool) -> ExitCode {
        if self.listed > 0 {
            ExitCode::from(1)
        } else if self.incomplete > 0 || other_trouble {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Output.

/// Buffered, locked stdout, in the chosen format.
///
/// The first write error stops all output. A closed pipe (`| head`) is no failure: the reader
/// has all it wanted, so the run ends quietly; any other error is reported.
struct Output {
    out: BufWriter<StdoutLock<'static>>,
    format: Format,
    colour: Colour,
    progress: ProgressBar,
    /// Flush whenever no further report is ready: JSON Lines consumers, or a person watching,
    /// see each report as soon as it completes, without a write per report in bulk runs.
    flush_when_idle: bool,
    stopped: bool,
    failed: bool,
}

impl Output {
    fn new(format: Format, progress: ProgressBar) -> Self {
        let stdout = io::stdout();
        let terminal = stdout.is_terminal();
        Output {
            out: BufWriter::new(stdout.lock()),
            format,
            colour: Colour::new(terminal),
            progress,
            flush_when_idle: terminal || format == Format::Json,
            stopped: false,
            failed: false,
        }
    }

    fn write_report(&mut self, checked: &Checked) {
        let (format, colour) = (self.format, self.colour);
        // Suspend the bar so that its line and ours do not mix on a shared terminal.
        let progress = self.progress.clone();
        progress.suspend(|| {
            self.attempt(|out| match format {
                Format::Json => write_json(out, checked),
                Format::Text => write_text(out, checked, colour),
            })
        });
    }

    /// Called when no further report is ready yet.
    fn idle(&mut self) {
        if self.flush_when_idle {
            self.attempt(|out| out.flush());
        }
    }

    fn write_summary(&mut self, tally: &Tally) {
        let trouble: Vec<String> = tally
            .trouble
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(list, count)| format!("{list} {count}"))
            .collect();
        let trouble = if trouble.is_empty() {
            "none".to_owned()
        } else {
            trouble.join(", ")
        };
        self.attempt(|out| {
            writeln!(
                out,
                "summary: {} checked, {} listed, {} incomplete; list trouble: {trouble}",
                tally.checked, tally.listed, tally.incomplete
            )
        });
    }

    fn finish(&mut self) {
        self.attempt(|out| out.flush());
    }

    fn attempt(
        &mut self,
        write: impl FnOnce(&mut BufWriter<StdoutLock<'static>>) -> io::Result<()>,
    ) {
        if self.stopped {
            return;
        }
        if let Err(error) = write(&mut self.out) {
            self.stopped = true;
            if error.kind() != io::ErrorKind::BrokenPipe {
                warn(&format!("cannot write output: {error}"));
                self.failed = true;
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stopped
    }

    fn failed(&self) -> bool {
        self.failed
    }
}

fn write_json(out: &mut impl Write, checked: &Checked) -> io::Result<()> {
    let mut line = serde_json::to_vec(checked).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

fn write_text(out: &mut impl Write, checked: &Checked, colour: Colour) -> io::Result<()> {
    let report = &checked.report;
    let score = format!("score {}", report.score);
    let troubled = report
        .results
        .iter()
        .filter(|r| r.outcome.is_trouble())
        .count();
    let verdict = if report.listed {
        colour.paint(Colour::RED, &format!("LISTED ({score})"))
    } else if unchecked(report) {
        colour.paint(
            Colour::YELLOW,
            "not checked: no configured list takes this target",
        )
    } else if troubled > 0 {
        let lists = if troubled == 1 { "list" } else { "lists" };
        colour.paint(
            Colour::YELLOW,
            &format!("not listed ({score}; incomplete: {troubled} {lists} gave trouble)"),
        )
    } else {
        colour.paint(Colour::GREEN, &format!("not listed ({score})"))
    };
    writeln!(out, "{}: {verdict}", report.target)?;
    let width = report
        .results
        .iter()
        .map(|r| label(r).len())
        .max()
        .unwrap_or(0);
    for result in &report.results {
        write_text_result(out, result, width, colour)?;
    }
    if let Some(rdns) = &checked.rdns {
        let status = format!("{:<10}", "rdns");
        let status = match rdns {
            ReverseDns::Confirmed(_) => colour.paint(Colour::GREEN, &status),
            _ => colour.paint(Colour::YELLOW, &status),
        };
        // Debug-quoted like TXT reasons: PTR names are someone else's text.
        writeln!(out, "  {status} {:?}", rdns.to_string())?;
    }
    Ok(())
}

fn write_text_result(
    out: &mut impl Write,
    result: &ListResult,
    width: usize,
    colour: Colour,
) -> io::Result<()> {
    let status = format!("{:<10}", result.outcome.status());
    let status = match &result.outcome {
        // A listing on an allowlist (negative weight) is good news.
        Outcome::Listed(_) if result.weight < 0 => colour.paint(Colour::GREEN, &status),
        Outcome::Listed(_) => colour.paint(Colour::RED, &status),
        Outcome::NotListed => colour.paint(Colour::GREEN, &status),
        _ => colour.paint(Colour::YELLOW, &status),
    };
    let mut line = format!("  {status} {:<width$}", label(result));
    match &result.outcome {
        Outcome::Listed(listing) => {
            let codes: Vec<String> = listing.codes.iter().map(ToString::to_string).collect();
            line.push_str(&format!("  {}", codes.join(", ")));
            if !listing.categories.is_empty() {
                line.push_str(&format!("  [{}]", listing.categories.join(", ")));
            }
            // Debug-quoted: a TXT record is the list's text, and may hold control characters
            // that must not reach the terminal.
            for reason in &listing.reasons {
                line.push_str(&format!("  {reason:?}"));
            }
        }
        other => {
            if let Some(detail) = other.detail() {
                line.push_str(&format!("  {detail}"));
            }
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// The list's name, with its zone when the name does not already say it.
fn label(result: &ListResult) -> String {
    let zone = result.zone.public_name();
    if result.list == zone {
        result.list.clone()
    } else {
        format!("{} ({zone})", result.list)
    }
}

/// ANSI colours, only for a terminal (and not when NO_COLOR is set).
#[derive(Clone, Copy)]
struct Colour {
    enabled: bool,
}

impl Colour {
    const RED: &'static str = "\x1b[31m";
    const YELLOW: &'static str = "\x1b[33m";
    const GREEN: &'static str = "\x1b[32m";

    fn new(terminal: bool) -> Self {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Colour {
            enabled: terminal && !no_colour,
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("{code}{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --list-presets.

fn list_presets(format: Format) -> ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let written = presets::all().iter().try_for_each(|preset| match format {
        Format::Text => write_preset_text(&mut out, preset),
        Format::Json => write_preset_json(&mut out, preset),
    });
    match written.and_then(|()| out.flush()) {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            warn(&format!("cannot write output: {error}"));
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}

fn write_preset_text(out: &mut impl Write, preset: &presets::Preset) -> io::Result<()> {
    let list = preset.list();
    let mut markers = String::new();
    if preset.in_default_set {
        markers.push_str("  [default]");
    }
    if preset.needs_key {
        markers.push_str("  [needs DQS key]");
    }
    writeln!(out, "{}{markers}", preset.name)?;
    writeln!(
        out,
        "    kind: {}  zone: {}",
        list.kind(),
        list.zone().public_name()
    )?;
    writeln!(out, "    {}", preset.description)?;
    writeln!(out, "    terms: {}", preset.terms)?;
    writeln!(out, "    checked: {}", preset.checked)?;
    let categories: Vec<String> = list
        .categories()
        .map(|(code, name)| format!("{} {name}", code.as_str()))
        .collect();
    if !categories.is_empty() {
        writeln!(out, "    categories: {}", categories.join("; "))?;
    }
    writeln!(out)
}

fn write_preset_json(out: &mut impl Write, preset: &presets::Preset) -> io::Result<()> {
    let entry = serde_json::json!({
        "name": preset.name,
        "default": preset.in_default_set,
        "needs_key": preset.needs_key,
        "description": preset.description,
        "terms": preset.terms,
        "checked": preset.checked,
        "list": preset.list(),
    });
    let mut line = serde_json::to_vec(&entry).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

// ---------------------------------------------------------------------------------------------
// Diagnostics.

/// One message on stderr. Never panics, unlike `eprintln!` on a closed stderr.
fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "dnsbl-check: {message}");
}

/// `-v`: the library's logs on stderr; `-vv`: its trace logs too. RUST_LOG overrides both.
fn init_tracing(verbose: u8, keyed_zones: Vec<Zone>) {
    match verbose {
        0 => {}
        1 => init_logging("warn,dnsbl_check=debug", keyed_zones),
        _ => init_logging("warn,dnsbl_check=trace", keyed_zones),
    }
}
