//! Watch mode (`--watch SECS`) and `--history`: the command-line side of the library's
//! `monitor` module.
//!
//! ```text
//! dnsbl-check --watch 300 --state /var/lib/dnsbl-check/state.db 192.0.2.0/24 mail.example.com
//! dnsbl-check --watch 300 --state s.db --format json --webhook https://hooks.example/dnsbl 192.0.2.1
//! dnsbl-check --watch 300 --state s.db --exec 'mail -s "DNSBL change" postmaster' 192.0.2.1
//! dnsbl-check --watch 600 --state s.db --mx example.org     # and its mail servers
//! dnsbl-check --state s.db --history 192.0.2.1
//! ```
//!
//! In watch mode stdout carries events only: one JSON object per line with `--format json`,
//! one readable line each otherwise. SIGTERM or SIGINT ends the round in progress (what was
//! checked is saved, in one transaction) and exits 0.

use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use dnsbl_check::cli::{Shutdown, health_warning};
use dnsbl_check::hosts::HostSource;
use dnsbl_check::monitor::{
    Delivery, Event, ExecDelivery, QueryBudget, StateStore, TargetCounts, TrackerConfig, Watcher,
    deliver_pending, rfc3339,
};
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::target::reader::{ReadError, TargetReader};
use dnsbl_check::{Checker, ListHealth, Target, TargetSpec};

/// How long one `--exec` command or webhook request may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The checker's health interval unless the config sets one (`CheckerBuilder::health_interval`).
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(300);

/// Watch mode and its state.
#[derive(clap::Args, Debug)]
pub struct WatchOptions {
    /// Watch mode: check every target every SECS seconds (the first round at once) and print
    /// only changes, as events.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..),
          conflicts_with_all = ["smtp_check", "only", "rdns"])]
    pub watch: Option<u64>,

    /// Keep each target's last known status per list, and the history of events, in FILE
    /// (SQLite; created if absent).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Print the events recorded in --state (of the TARGETs only, if any are given) and exit.
    #[arg(long, value_name = "TARGET", num_args = 0.., requires = "state", conflicts_with = "watch")]
    pub history: Option<Vec<String>>,

    /// Report the listings found by the first round on an empty state (silent otherwise).
    #[arg(long, requires = "watch")]
    pub report_baseline: bool,

    /// Report a change only after N rounds in a row agree.
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub confirm: u32,

    /// Run CMD (with sh -c) once per round with events, the events as a JSON array on stdin.
    #[arg(long, value_name = "CMD", requires = "watch")]
    pub exec: Option<String>,

    /// POST each round's events, as a JSON array, to URL.
    #[arg(long, value_name = "URL", requires = "watch")]
    pub webhook: Option<String>,

    /// Start even if the queries a day would exceed a list's free-use limit (for a list you
    /// have an agreement with, or a mirror of your own under a public list's zone name).
    #[arg(long, requires = "watch")]
    pub ignore_usage_limits: bool,
}

/// `--history`: prints the recorded events and exits (0, or 2 if the state is unusable).
pub fn history(options: &WatchOptions, json: bool) -> ExitCode {
    let (Some(path), Some(texts)) = (&options.state, &options.history) else {
        return ExitCode::SUCCESS;
    };
    let mut targets = Vec::new();
    for text in texts {
        match text.parse::<Target>() {
            Ok(target) => targets.push(target),
            Err(error) => return fail(&error.to_string()),
        }
    }
    let events = match StateStore::open_read_only(path).and_then(|s| s.history(&targets)) {
        Ok(events) => events,
        Err(error) => return fail(&error.to_string()),
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = events
        .iter()
        .try_for_each(|(object, line)| writeln!(out, "{}", if json { object } else { line }));
    match written.and_then(|()| out.flush()) {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => fail(&error.to_string()),
        _ => ExitCode::SUCCESS,
    }
}

/// The watched targets as given: the arguments, `--input`, `--max-targets`, and whether to
/// watch domains' mail servers (`--mx`), own addresses (`--resolve`) or SPF senders (`--spf`)
/// too.
pub type Targets<'a> = (&'a [String], Option<&'a Path>, u128, Vec<HostSource>);

/// `--watch`: rounds until SIGTERM or SIGINT, on a runtime of its own.
pub fn start(
    options: &WatchOptions,
    targets: Targets,
    json: bool,
    checker: Checker<AnyResolver>,
    health_interval: Option<Duration>,
    resolver: &str,
) -> Result<ExitCode, String> {
    // One thread, as for a bulk scan: the checks and the transport's receive tasks share it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    Ok(runtime.block_on(async {
        let (arguments, input, max_targets, expand) = &targets;
        let specs = match self::targets(arguments, *input, *max_targets) {
            Ok(specs) => specs,
            Err(message) => return fail(&message),
        };
        let budget = Budget {
            specs: &specs,
            expand,
            max_targets: *max_targets,
            interval: options.watch.map(Duration::from_secs),
            health_interval,
        };
        if let Err(message) = check_budget(&checker, budget, options.ignore_usage_limits).await {
            return fail(&message);
        }
        run(options, (specs, targets.3), json, checker, resolver).await
    }))
}

/// What the queries a day are computed from.
struct Budget<'a> {
    specs: &'a [TargetSpec],
    expand: &'a [HostSource],
    max_targets: u128,
    interval: Option<Duration>,
    health_interval: Option<Duration>,
}

/// Prints the queries a day each list will get, and refuses to start (unless told to go on)
/// when a list's free-use limit would be exceeded, or a domain's SPF networks hold more than
/// `--max-targets` addresses. The domains' addresses are looked up once for the count.
async fn check_budget(
    checker: &Checker<AnyResolver>,
    budget: Budget<'_>,
    ignore_limits: bool,
) -> Result<(), String> {
    let Some(interval) = budget.interval else {
        return Ok(());
    };
    let mut counts = TargetCounts::default();
    for spec in budget.specs {
        counts.add(spec);
    }
    let domains = budget.specs.iter().filter_map(|spec| match spec {
        TargetSpec::One(Target::Domain(domain)) => Some(domain),
        _ => None,
    });
    let pairs =
        domains.flat_map(|domain| budget.expand.iter().map(move |&source| (domain, source)));
    counts
        .add_hosts(checker.resolver(), pairs, budget.max_targets)
        .await
        .map_err(|error| {
            format!(
                "{error}, more than --max-targets {}; raise --max-targets to watch them",
                budget.max_targets
            )
        })?;
    let budget = QueryBudget::new(checker.lists(), counts, interval, budget.health_interval);
    let mut stderr = io::stderr().lock();
    for list in &budget.lists {
        let _ = writeln!(stderr, "dnsbl-check: queries a day: {list}");
    }
    match budget.refusal("--watch") {
        Some(message) if !ignore_limits => Err(message),
        Some(_) => {
            let _ = writeln!(
                stderr,
                "dnsbl-check: going on past the free-use limits, as --ignore-usage-limits says"
            );
            Ok(())
        }
        None => Ok(()),
    }
}

async fn run(
    options: &WatchOptions,
    (specs, expand): (Vec<TargetSpec>, Vec<HostSource>),
    json: bool,
    checker: Checker<AnyResolver>,
    resolver: &str,
) -> ExitCode {
    let Some(interval) = options.watch.map(Duration::from_secs) else {
        return ExitCode::SUCCESS;
    };
    let setup = Ok::<_, String>(specs).and_then(|specs| {
        let store = match &options.state {
            Some(path) => StateStore::open(path),
            None => StateStore::in_memory(),
        }
        .map_err(|error| error.to_string())?;
        let config = TrackerConfig {
            confirm: options.confirm,
            report_baseline: options.report_baseline,
        };
        let tracker = store.load(config).map_err(|error| error.to_string())?;
        let mut watcher = Watcher::with_tracker(checker, specs, tracker);
        for source in expand {
            watcher = watcher.expand_domains(source);
        }
        Ok((store, watcher))
    });
    let (mut store, mut watcher) = match setup {
        Ok(setup) => setup,
        Err(message) => return fail(&message),
    };
    let mut shutdown = match Shutdown::new() {
        Ok(shutdown) => shutdown,
        Err(error) => return fail(&format!("cannot catch signals: {error}")),
    };
    let mut sinks = Sinks::new(options);
    // The health each list was last warned about: a list that cannot be trusted is said once
    // per change on stderr (stdout carries events only).
    let mut warned: Vec<Option<ListHealth>> = vec![None; watcher.checker().lists().count()];
    loop {
        let round = watcher
            .run_round_until(async {
                shutdown.wait().await;
            })
            .await;
        for ((list, health), last) in watcher.checker().health().into_iter().zip(&mut warned) {
            if last.as_ref() == Some(&health) {
                continue;
            }
            if let Some(line) = health_warning(list, &health, resolver) {
                let _ = writeln!(io::stderr().lock(), "dnsbl-check: {line}");
            }
            *last = Some(health);
        }
        let names = sinks.names();
        let saving = std::time::Instant::now();
        if let Err(error) = store.save_round(watcher.tracker_mut(), &round.events, &names) {
            return fail(&error.to_string());
        }
        let saved = saving.elapsed();
        if let Err(error) = print_events(&round.events, json)
            && error.kind() != io::ErrorKind::BrokenPipe
        {
            return fail(&format!("cannot write output: {error}"));
        }
        for trouble in &round.host_trouble {
            // Those addresses were not checked this round; their last status stands.
            let _ = writeln!(io::stderr().lock(), "dnsbl-check: {trouble}");
        }
        tracing::info!(
            checked = round.checked,
            events = round.events.len(),
            seconds = round.elapsed.as_secs_f64(),
            save_seconds = saved.as_secs_f64(),
            complete = round.complete,
            "round done"
        );
        if !round.complete {
            return ExitCode::SUCCESS; // stopped by a signal; the round so far is saved
        }
        sinks.deliver(&store).await;
        tokio::select! {
            _ = shutdown.wait() => return ExitCode::SUCCESS,
            () = tokio::time::sleep(interval.saturating_sub(round.elapsed)) => {}
        }
    }
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(io::stderr().lock(), "dnsbl-check: {message}");
    ExitCode::from(2)
}

fn print_events(events: &[Event], json: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for event in events {
        if json {
            let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
            line.push(b'\n');
            out.write_all(&line)?;
        } else {
            writeln!(out, "{event}")?;
        }
    }
    out.flush()
}

/// The watched targets: the arguments, then the lines of `--input` (read once, up front).
/// A bad target is an error here, not a warning: a watcher runs unattended for long.
fn targets(
    arguments: &[String],
    input: Option<&Path>,
    max_targets: u128,
) -> Result<Vec<TargetSpec>, String> {
    let parse = |text: &str, place: &dyn Fn() -> String| {
        let spec: TargetSpec = text
            .parse()
            .map_err(|error| format!("{}: {error}", place()))?;
        if matches!(spec, TargetSpec::Network(_)) && spec.len() > max_targets {
            return Err(format!(
                "{}: {text} is {} addresses, more than --max-targets {max_targets}",
                place(),
                spec.len()
            ));
        }
        Ok(spec)
    };
    let mut specs = Vec::new();
    for (index, text) in arguments.iter().enumerate() {
        specs.push(parse(text, &|| format!("target argument {}", index + 1))?);
    }
    if let Some(path) = input {
        let name = path.display();
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(io::stdin().lock())
        } else {
            let file = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
            Box::new(BufReader::new(file))
        };
        for target in TargetReader::new(reader) {
            let target = target.map_err(|error| match error {
                ReadError::Io(error) => format!("cannot read {name}: {error}"),
                error => format!("{name} {error}"),
            })?;
            let line = target.line();
            specs.push(parse(target.text(), &|| format!("{name} line {line}"))?);
        }
    }
    if specs.is_empty() {
        return Err("nothing to watch: no targets".to_owned());
    }
    Ok(specs)
}

/// Where each round's events go besides stdout.
struct Sinks {
    exec: Option<ExecDelivery>,
    webhook: Option<Webhook>,
}

impl Sinks {
    fn new(options: &WatchOptions) -> Self {
        Sinks {
            exec: (options.exec.clone())
                .map(|command| ExecDelivery::new(command, DELIVERY_TIMEOUT)),
            webhook: options.webhook.clone().map(Webhook::new),
        }
    }

    fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.exec.is_some() {
            names.push("exec");
        }
        if self.webhook.is_some() {
            names.push(Webhook::SINK);
        }
        names
    }

    /// Delivers what is pending; failures are reported and retried next round.
    async fn deliver(&mut self, store: &StateStore) {
        if let Some(exec) = &mut self.exec {
            deliver_to(store, exec).await;
        }
        if let Some(webhook) = &mut self.webhook {
            deliver_to(store, webhook).await;
        }
    }
}

async fn deliver_to(store: &StateStore, sink: &mut impl Delivery) {
    let now = rfc3339(std::time::SystemTime::now());
    match deliver_pending(store, sink, &now).await {
        Ok(outcome) => {
            if let Some(error) = outcome.error {
                let name = sink.sink();
                let pending = outcome.pending;
                let message =
                    format!("{name} failed ({pending} pending, retried next round): {error}");
                let _ = writeln!(io::stderr().lock(), "dnsbl-check: {message}");
            }
        }
        Err(error) => {
            let _ = writeln!(io::stderr().lock(), "dnsbl-check: {error}");
        }
    }
}

/// `--webhook URL`: POSTs the events as `application/json`, with the delivery's id in
/// `X-Dnsbl-Delivery` so that a receiver can drop a repeat. Any 2xx status is success.
struct Webhook {
    url: String,
    client: Option<reqwest::Client>,
}

impl Webhook {
    const SINK: &'static str = "webhook";

    fn new(url: String) -> Self {
        // No redirects: reqwest would follow a 301/302/303 by turning the POST into a GET
        // without a body, and the final 200 would mark the delivery made with the events
        // lost. A 3xx is a failed delivery, retried like any other, until the URL is fixed.
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .ok();
        Webhook { url, client }
    }
}

/// Where a redirect points, for the log, without what may be secret: a webhook URL often
/// carries a token in its path or query, so only the scheme, host and port are shown, and
/// whether the path and query are those of `--webhook`.
fn redirect_target(webhook: &str, location: Option<&str>) -> String {
    let Some(location) = location else {
        return "no Location".to_owned();
    };
    let Ok(base) = reqwest::Url::parse(webhook) else {
        return "an unreadable Location".to_owned();
    };
    let Ok(target) = base.join(location) else {
        return "an unreadable Location".to_owned();
    };
    let origin = target.origin().ascii_serialization();
    if target.path() == base.path() && target.query() == base.query() {
        format!("{origin} with the same path")
    } else {
        format!("{origin} with another path (not shown: it may hold a token)")
    }
}

impl Delivery for Webhook {
    fn sink(&self) -> &str {
        Self::SINK
    }

    async fn deliver(&mut self, id: i64, payload: &str) -> Result<(), String> {
        let client = self.client.as_ref().ok_or("no HTTP client")?;
        // Errors leave the URL out: webhook URLs often carry a secret token.
        let response = client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-dnsbl-delivery", id.to_string())
            .body(payload.to_owned())
            .send()
            .await
            .map_err(|error| error.without_url().to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            let location = response.headers().get(reqwest::header::LOCATION);
            let target = redirect_target(&self.url, location.and_then(|v| v.to_str().ok()));
            Err(format!(
                "HTTP status {status}, a redirect to {target}: webhooks follow no redirects; \
                 give --webhook the URL it points to"
            ))
        } else {
            Err(format!("HTTP status {status}"))
        }
    }
}
