//! Targets: positional arguments, then the input file, fed lazily through a bounded channel.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dnsbl_check::hash::email_targets;
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::summary::Summary;
use dnsbl_check::survey::{Survey, SurveyReport, SurveyTarget};
use dnsbl_check::target::reader::{ReadError, TargetReader};
use dnsbl_check::{Target, TargetSpec};
use indicatif::ProgressBar;
use tokio::sync::mpsc;

use crate::output::Render;

/// Targets read ahead of the checks. Small and bounded, so that memory stays flat.
const READ_AHEAD: usize = 4096;
/// Targets sent to the checks at once, when that many are at hand without waiting: one
/// channel message (and at most one wake-up of either side) per batch, not per target.
const BATCH: usize = 1024;

/// One target as written: a spec, and the SMTP port of an `ADDRESS:PORT` target.
pub struct Spec {
    spec: TargetSpec,
    smtp_port: Option<u16>,
}

/// How targets are read.
#[derive(Clone, Copy)]
pub struct Rules {
    /// Networks expanding to more addresses than this are refused (`--max-targets`).
    pub max_targets: u128,
    /// `ADDRESS:PORT` targets are accepted (`--smtp-check`).
    pub server_ports: bool,
}

impl Rules {
    /// Parses one target; an oversized network is an error naming `--max-targets`.
    fn parse(self, text: &str) -> Result<Spec, String> {
        if self.server_ports
            && let Some((target, port)) = Target::with_port(text.trim())
        {
            return Ok(Spec {
                spec: TargetSpec::One(target),
                smtp_port: Some(port),
            });
        }
        let spec: TargetSpec = text.parse().map_err(|error| format!("{error}"))?;
        if let TargetSpec::Network(net) = &spec
            && spec.len() > self.max_targets
        {
            return Err(format!(
                "network {net} has {} addresses, more than --max-targets {}; \
                 raise --max-targets to check it",
                spec.len(),
                self.max_targets
            ));
        }
        Ok(Spec {
            spec,
            smtp_port: None,
        })
    }
}

/// Where targets are read from, opened up front so that a missing file is a usage error.
pub struct Input {
    name: String,
    reader: TargetReader<BufReader<Box<dyn Read + Send>>>,
}

impl Input {
    fn new(name: String, source: impl Read + Send + 'static) -> Self {
        let source: Box<dyn Read + Send> = Box::new(source);
        Input {
            name,
            reader: TargetReader::new(BufReader::new(source)),
        }
    }
}

/// Opens `--input`. A file (not stdin) is read once first for networks beyond
/// `--max-targets`, so that one is refused before any query is sent.
pub fn open_input(path: &Path, rules: Rules) -> Result<Input, String> {
    if path.as_os_str() == "-" {
        return Ok(Input::new("stdin".into(), io::stdin()));
    }
    let open = || {
        std::fs::File::open(path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))
    };
    let name = path.display().to_string();
    let unreadable = |error: io::Error| format!("cannot read {name}: {error}");
    // A file without a '/' anywhere holds no network: one pass over its bytes suffices.
    if !contains_byte(&mut BufReader::new(open()?), b'/').map_err(unreadable)? {
        return Ok(Input::new(name, open()?));
    }
    let mut scan = Input::new(name.clone(), open()?);
    while let Some(line) = scan.reader.next_line() {
        let line = match line {
            Ok(line) => line,
            Err(ReadError::Io(error)) => return Err(unreadable(error)),
            Err(_) => continue,
        };
        let network = line.target().filter(|target| target.contains('/'));
        if let Some(Err(error)) = network.map(|target| rules.parse(target))
            && error.contains("--max-targets")
        {
            return Err(format!("{name} line {}: {error}", line.number()));
        }
    }
    Ok(Input::new(name, open()?))
}

/// Whether `byte` occurs anywhere in what `reader` gives.
fn contains_byte(reader: &mut impl BufRead, byte: u8) -> io::Result<bool> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(false);
        }
        if buffer.contains(&byte) {
            return Ok(true);
        }
        let read = buffer.len();
        reader.consume(read);
    }
}

/// Reports bad input on stderr (around the progress bar) and remembers that there was some.
#[derive(Clone)]
pub struct BadInput {
    seen: Arc<AtomicBool>,
    pub progress: ProgressBar,
}

impl BadInput {
    pub fn new() -> Self {
        BadInput {
            seen: Arc::new(AtomicBool::new(false)),
            progress: ProgressBar::hidden(),
        }
    }

    pub fn report(&self, message: &str) {
        self.seen.store(true, Ordering::Relaxed);
        self.progress.suspend(|| crate::warn(message));
    }

    pub fn seen(&self) -> bool {
        self.seen.load(Ordering::Relaxed)
    }
}

/// Parses the positional targets, reporting bad ones by their argument position. A network
/// beyond `--max-targets` is an error for the whole run: nothing is checked.
pub fn parse_arguments(
    arguments: &[String],
    rules: Rules,
    bad: &BadInput,
) -> Result<Vec<Spec>, String> {
    let mut specs = Vec::with_capacity(arguments.len());
    for (index, text) in arguments.iter().enumerate() {
        match rules.parse(text) {
            Ok(spec) => specs.push(spec),
            Err(error) if error.contains("--max-targets") => return Err(error),
            Err(error) => bad.report(&format!("target argument {}: {error}", index + 1)),
        }
    }
    Ok(specs)
}

/// The positional targets with every e-mail address (an argument with an `@`, and each
/// `--hash-email`) replaced by its hashed name for each hash form of the lists. An address
/// with no hashed list to ask is an error: it would otherwise pass unchecked.
pub fn hash_emails<R: dnsbl_check::DnsResolver>(
    checker: &dnsbl_check::Checker<R>,
    arguments: &[String],
    emails: &[String],
) -> Result<Vec<String>, String> {
    let is_email = |text: &str| text.contains('@');
    let mut out: Vec<String> = arguments.iter().filter(|t| !is_email(t)).cloned().collect();
    for address in arguments.iter().filter(|text| is_email(text)).chain(emails) {
        let targets = email_targets(checker.lists(), address).map_err(|e| e.to_string())?;
        out.extend(targets.iter().map(ToString::to_string));
    }
    Ok(out)
}

/// How many targets the positional arguments expand to, if that is known and fits a bar.
pub fn total_targets(specs: &[Spec], input: bool) -> Option<u64> {
    if input {
        return None;
    }
    let total = specs
        .iter()
        .try_fold(0u128, |sum, spec| sum.checked_add(spec.spec.len()))?;
    u64::try_from(total).ok()
}

/// Starts a thread that expands `specs` and reads `input`, sending jobs as the checks take
/// them. A plain thread, because reading stdin blocks; the channel bounds the read-ahead.
/// Jobs go in batches of what is at hand: a line whose successor is not read in yet (typed on
/// a terminal, or from a slow pipe) is sent at once, not held for more.
///
/// With `share`, the thread also checks batches itself while the checks are behind.
pub fn spawn_feeder(
    specs: Vec<Spec>,
    input: Option<Input>,
    rules: Rules,
    bad: BadInput,
    share: Option<Share>,
) -> mpsc::Receiver<Vec<SurveyTarget>> {
    let (sender, receiver) = mpsc::channel(READ_AHEAD / BATCH);
    std::thread::spawn(move || {
        let mut feed = Feed {
            sender,
            batch: Vec::with_capacity(BATCH),
            share,
        };
        for spec in specs {
            if !feed.add(spec) {
                return; // the checks stopped (output closed)
            }
        }
        if !feed.flush() {
            return;
        }
        if let Some(mut input) = input {
            let name = input.name.clone();
            while let Some(line) = input.reader.next_line() {
                let keep_going = match line {
                    Err(ReadError::Io(error)) => {
                        bad.report(&format!("cannot read {name}: {error}"));
                        break;
                    }
                    Err(error) => {
                        bad.report(&format!("{name} {error}"));
                        true
                    }
                    // A plain address, most lines of a bulk list: read from the bytes.
                    Ok(line) if let Some(addr) = line.ipv4() => feed.add(Spec {
                        spec: TargetSpec::One(Target::ip(addr.into())),
                        smtp_port: None,
                    }),
                    Ok(line) => match line.target().map(|target| rules.parse(target)) {
                        None => true,
                        Some(Ok(spec)) => feed.add(spec),
                        Some(Err(error)) => {
                            bad.report(&format!("{name} line {}: {error}", line.number()));
                            // Only stdin gets here with an oversized network: stop reading.
                            !error.contains("--max-targets")
                        }
                    },
                };
                // Reading on would wait: what is at hand goes to the checks first.
                if !(keep_going && (input.reader.has_line_buffered() || feed.flush())) {
                    break;
                }
            }
        }
        feed.flush();
    });
    receiver
}

/// Jobs on their way to the checks, sent [`BATCH`] at a time.
struct Feed {
    sender: mpsc::Sender<Vec<SurveyTarget>>,
    batch: Vec<SurveyTarget>,
    share: Option<Share>,
}

impl Feed {
    /// Adds every target of `spec`; false once the checks stopped taking them.
    fn add(&mut self, spec: Spec) -> bool {
        let network = match &spec.spec {
            TargetSpec::Network(net) => Some(*net),
            _ => None,
        };
        spec.spec.into_iter().all(|target| {
            let mut job = SurveyTarget::new(target);
            job.network = network;
            job.smtp_port = spec.smtp_port;
            self.batch.push(job);
            self.batch.len() < BATCH || self.flush()
        })
    }

    /// Sends the jobs gathered so far; false once the checks stopped taking them.
    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return !self.sender.is_closed();
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        match self.sender.try_send(batch) {
            Ok(()) => true,
            // The checks are behind: check what can be answered at once here.
            Err(mpsc::error::TrySendError::Full(batch)) => {
                let rest = match &self.share {
                    Some(share) => match share.check(batch) {
                        Some(rest) => rest,
                        None => return false,
                    },
                    None => batch,
                };
                // Blocking (parking the thread) only when the read-ahead is full.
                rest.is_empty() || self.sender.blocking_send(rest).is_ok()
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// The input thread's share of the checks: the targets a batch can have answered at once
/// (lists served from local mirrors), checked, counted and rendered on this thread, so that
/// a bulk scan over mirrors uses a second core. Only the rendered bytes and the counts go to
/// the output; each report is made and dropped on the thread that checked it.
pub struct Share {
    pub survey: Arc<Survey<AnyResolver>>,
    pub render: Render,
    pub done: mpsc::Sender<Done>,
}

/// Reports the input thread checked: rendered, and counted.
pub struct Done {
    pub rendered: Vec<u8>,
    pub summary: Summary,
    pub reports: u64,
    pub open_relays: u64,
}

impl Share {
    /// Checks what of `batch` is answered at once and sends it, done, to the output; the rest
    /// is returned for the checks. `None` once the output stopped taking reports.
    fn check(&self, batch: Vec<SurveyTarget>) -> Option<Vec<SurveyTarget>> {
        let mut done: Option<Done> = None;
        let mut rest = Vec::with_capacity(batch.len());
        for job in batch {
            let Some(checked) = self.survey.check_now(&job) else {
                rest.push(job);
                continue;
            };
            let done = done.get_or_insert_with(|| Done {
                rendered: Vec::new(),
                summary: Summary::new(self.survey.checker().lists().map(|list| list.name())),
                reports: 0,
                open_relays: 0,
            });
            done.reports += 1;
            done.open_relays += count(&mut done.summary, &checked);
            // Writing into memory cannot fail.
            let _ = self.render.write(&mut done.rendered, &checked);
        }
        let stopped = done.is_some_and(|done| self.done.blocking_send(done).is_err());
        (!stopped).then_some(rest)
    }
}

/// Counts a target's report, and those of the addresses derived from it, in `summary`; the
/// open relays found among them.
pub fn count(summary: &mut Summary, checked: &SurveyReport) -> u64 {
    std::iter::once(checked)
        .chain(&checked.derived)
        .map(|one| {
            summary.add(&one.report, one.network, one.other_trouble());
            u64::from(one.open_relay())
        })
        .sum()
}
