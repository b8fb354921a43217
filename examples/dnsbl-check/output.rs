//! Writing reports: text blocks or JSON Lines on stdout, the summary, the preset catalog.

use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};

use clap::ValueEnum;
use dnsbl_check::smtp::{BannerName, Relay};
use dnsbl_check::summary::Summary;
use dnsbl_check::{ListResult, Outcome, ReverseDns, presets};
use indicatif::ProgressBar;

use crate::Format;
use dnsbl_check::survey::SurveyReport as Checked;

/// Which reports are written (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// Targets some list lists, or where an open relay was found.
    Listed,
    /// Targets whose check is incomplete: list trouble, failed lookups, unreachable servers.
    Trouble,
    /// Every target.
    All,
}

impl Only {
    fn shows(self, checked: &Checked) -> bool {
        match self {
            Only::All => true,
            Only::Listed => checked.has_listing() || checked.open_relay(),
            Only::Trouble => checked.incomplete(),
        }
    }
}

/// Buffered, locked stdout, in the chosen format.
///
/// The first write error stops all output. A closed pipe (`| head`) is no failure: the reader
/// has all it wanted, so the run ends quietly; any other error is reported.
pub struct Output {
    out: BufWriter<StdoutLock<'static>>,
    render: Render,
    /// The progress bar, if one is drawn (a hidden one needs no suspending).
    progress: Option<ProgressBar>,
    /// Flush whenever no further report is ready: JSON Lines consumers, or a person watching,
    /// see each report as soon as it completes, without a write per report in bulk runs.
    flush_when_idle: bool,
    stopped: bool,
    failed: bool,
}

impl Output {
    pub fn new(format: Format, only: Only) -> Self {
        let stdout = io::stdout();
        let terminal = stdout.is_terminal();
        Output {
            // Large enough that a bulk run writes in few system calls.
            out: BufWriter::with_capacity(64 * 1024, stdout.lock()),
            render: Render {
                format,
                only,
                colour: Colour::new(terminal),
            },
            progress: None,
            flush_when_idle: terminal || format == Format::Json,
            stopped: false,
            failed: false,
        }
    }

    /// Writes a target's report, and those of the addresses derived from it, as `--only` says.
    pub fn write_report(&mut self, checked: &Checked) {
        if self.render.shows(checked) {
            let render = self.render;
            self.write_suspended(|out| render.write_shown(out, checked));
        }
    }

    /// Writes reports another thread rendered ([`Render::write`]).
    pub fn write_rendered(&mut self, rendered: &[u8]) {
        if !rendered.is_empty() {
            self.write_suspended(|out| out.write_all(rendered));
        }
    }

    /// Draws `progress` out of the way of what is written, if it is shown.
    pub fn set_progress(&mut self, progress: ProgressBar) {
        self.progress = (!progress.is_hidden()).then_some(progress);
    }

    /// How reports are written: for threads that render their own.
    pub fn render(&self) -> Render {
        self.render
    }

    fn write_suspended(
        &mut self,
        write: impl FnOnce(&mut BufWriter<StdoutLock<'static>>) -> io::Result<()>,
    ) {
        match self.progress.clone() {
            // Suspend the bar so that its line and ours do not mix on a shared terminal.
            Some(progress) => progress.suspend(|| self.attempt(write)),
            None => self.attempt(write),
        }
    }

    /// Called when no further report is ready yet.
    pub fn idle(&mut self) {
        if self.flush_when_idle {
            self.attempt(|out| out.flush());
        }
    }

    /// The summary line, then one line per scanned network and list.
    pub fn write_summary(&mut self, summary: &Summary) {
        let trouble: Vec<String> = summary
            .lists
            .iter()
            .filter(|(_, counts)| counts.trouble > 0)
            .map(|(list, counts)| format!("{list} {}", counts.trouble))
            .collect();
        let trouble = if trouble.is_empty() {
            "none".to_owned()
        } else {
            trouble.join(", ")
        };
        // Answers that are not in any score, but never passed over in silence.
        let mut uncounted = String::new();
        if summary.weightless_listings > 0 {
            uncounted.push_str(&format!(
                "; listings on lists of weight 0: {}",
                summary.weightless_listings
            ));
        }
        if summary.not_counted > 0 {
            uncounted.push_str(&format!(
                "; answers with codes not counted: {}",
                summary.not_counted
            ));
        }
        self.attempt(|out| {
            writeln!(
                out,
                "summary: {} checked, {} listed, {} incomplete; list trouble: {trouble}{uncounted}",
                summary.targets, summary.listed_targets, summary.incomplete
            )?;
            for network in &summary.networks {
                for (list, counts) in &network.lists {
                    writeln!(
                        out,
                        "network {} {list}: {} checked, {} listed, {} trouble",
                        network.network, counts.checked, counts.listed, counts.trouble
                    )?;
                }
            }
            Ok(())
        });
    }

    /// Writes text as it is (the monitoring-plugin output).
    pub fn write_raw(&mut self, text: &str) {
        self.attempt(|out| out.write_all(text.as_bytes()));
    }

    pub fn finish(&mut self) {
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
                crate::warn(&format!("cannot write output: {error}"));
                self.failed = true;
            }
        }
    }

    pub fn stopped(&self) -> bool {
        self.stopped
    }

    pub fn failed(&self) -> bool {
        self.failed
    }
}

/// A report's words in the chosen format, as `--only` selects them: written into any
/// buffer, so that a thread checking reports of its own renders them too.
#[derive(Clone, Copy)]
pub struct Render {
    format: Format,
    only: Only,
    colour: Colour,
}

impl Render {
    /// Whether `checked` or an address derived from it is written at all.
    pub fn shows(self, checked: &Checked) -> bool {
        let shown = |c: &Checked| self.only.shows(c);
        shown(checked) || checked.derived.iter().any(shown)
    }

    /// Writes a target's report, and those of the addresses derived from it, as `--only`
    /// says (nothing in the monitoring-plugin format, which is written at the end).
    pub fn write(self, out: &mut impl Write, checked: &Checked) -> io::Result<()> {
        if self.shows(checked) {
            self.write_shown(out, checked)?;
        }
        Ok(())
    }

    /// [`Render::write`] for a report [`Render::shows`] was asked about already.
    fn write_shown(self, out: &mut impl Write, checked: &Checked) -> io::Result<()> {
        match self.format {
            // Each line on its own: a server's line names its domain (`via`).
            Format::Json => std::iter::once(checked)
                .chain(&checked.derived)
                .filter(|c| self.only.shows(c))
                .try_for_each(|c| write_json(out, c)),
            Format::Text => write_text(out, checked, self.colour, self.only),
            Format::Nagios => Ok(()),
        }
    }
}

/// One JSON line, written straight into the buffered output: no allocation per report.
fn write_json(out: &mut impl Write, checked: &Checked) -> io::Result<()> {
    checked.write_json(out)
}

fn write_text(
    out: &mut impl Write,
    checked: &Checked,
    colour: Colour,
    only: Only,
) -> io::Result<()> {
    write_block(out, checked, colour, "")?;
    for servers in [&checked.mail_servers, &checked.senders]
        .into_iter()
        .flatten()
    {
        let what = match servers.source {
            dnsbl_check::hosts::HostSource::Mx => "mail servers",
            dnsbl_check::hosts::HostSource::Resolve => "addresses",
            dnsbl_check::hosts::HostSource::Spf => "sending addresses (SPF)",
        };
        let mut note = format!("  {what} of {}: {}", servers.domain, servers.addresses);
        if servers.null_mx {
            note.push_str(" (null MX: the domain takes no mail)");
        } else if servers.implicit_mx {
            note.push_str(" (no MX: the domain's own addresses)");
        }
        writeln!(out, "{note}")?;
        for trouble in &servers.trouble {
            let line = format!("  incomplete: {trouble}");
            writeln!(out, "{}", colour.paint(Colour::YELLOW, &line))?;
        }
    }
    for derived in checked.derived.iter().filter(|d| only.shows(d)) {
        write_block(out, derived, colour, "    ")?;
    }
    Ok(())
}

/// One target's block, indented by `indent` (derived addresses sit under their domain).
fn write_block(
    out: &mut impl Write,
    checked: &Checked,
    colour: Colour,
    indent: &str,
) -> io::Result<()> {
    let report = &checked.report;
    let score = format!("score {}", report.score);
    let troubled = report
        .results
        .iter()
        .filter(|r| r.outcome.is_trouble())
        .count();
    let answered = report
        .results
        .iter()
        .filter(|r| {
            matches!(
                r.outcome,
                Outcome::Listed(_) | Outcome::NotListed | Outcome::NotCounted(_)
            )
        })
        .count();
    // Listings that are not in the score (weight 0) and codes a filter does not count: not
    // the verdict, but never passed over in silence.
    let uncounted = report
        .results
        .iter()
        .filter(|r| {
            matches!(r.outcome, Outcome::NotCounted(_)) || (r.outcome.is_listed() && r.weight == 0)
        })
        .count();
    let verdict = if report.listed {
        colour.paint(Colour::RED, &format!("LISTED ({score})"))
    } else if report.results.is_empty() {
        colour.paint(
            Colour::YELLOW,
            "not checked: no configured list takes this target",
        )
    } else if answered == 0 && troubled > 0 {
        // Trouble is never "clean": with no answer at all there is nothing to call it.
        let lists = if troubled == 1 { "list" } else { "lists" };
        let text = format!("unknown: no list answered ({troubled} {lists} gave trouble)");
        colour.paint(Colour::YELLOW, &text)
    } else if troubled > 0 {
        let lists = if troubled == 1 { "list" } else { "lists" };
        let text = format!("not listed ({score}; incomplete: {troubled} {lists} gave trouble)");
        colour.paint(Colour::YELLOW, &text)
    } else if uncounted > 0 {
        let answers = if uncounted == 1 { "answer" } else { "answers" };
        let text = format!("not listed ({score}; {uncounted} {answers} not counted)");
        colour.paint(Colour::YELLOW, &text)
    } else {
        colour.paint(Colour::GREEN, &format!("not listed ({score})"))
    };
    match &checked.host {
        Some(host) => writeln!(out, "{indent}{} ({host}): {verdict}", report.target)?,
        None => writeln!(out, "{indent}{}: {verdict}", report.target)?,
    }
    if let Some(path) = &checked.path {
        writeln!(out, "{indent}  via: {path}")?;
    }
    let width = report
        .results
        .iter()
        .map(|r| label(r).len())
        .max()
        .unwrap_or(0);
    for result in &report.results {
        write_result(out, result, width, colour, indent)?;
    }
    if let Some(rdns) = &checked.rdns {
        let status = format!("{:<10}", "rdns");
        let status = match rdns {
            ReverseDns::Confirmed(_) => colour.paint(Colour::GREEN, &status),
            _ => colour.paint(Colour::YELLOW, &status),
        };
        // Debug-quoted like TXT reasons: PTR names are someone else's text.
        writeln!(out, "{indent}  {status} {:?}", rdns.to_string())?;
        let unconfirmed = matches!(rdns, ReverseDns::NoPtr | ReverseDns::NotConfirmed(_));
        if checked.host.is_some() && unconfirmed {
            let flag = "mail server without confirmed reverse DNS: receivers refuse it too";
            writeln!(out, "{indent}  {}", colour.paint(Colour::RED, flag))?;
        }
    }
    if let Some(smtp) = &checked.smtp {
        write_smtp(out, checked, smtp, colour, indent)?;
    }
    Ok(())
}

fn write_smtp(
    out: &mut impl Write,
    checked: &Checked,
    smtp: &dnsbl_check::smtp::SmtpReport,
    colour: Colour,
    indent: &str,
) -> io::Result<()> {
    let status = format!("{:<10}", "smtp");
    let line = match (&smtp.trouble, &smtp.relay) {
        (Some(trouble), Relay::Inconclusive { .. }) => colour.paint(
            Colour::YELLOW,
            &format!(
                "{status} {}: relay test inconclusive (the sender was refused; \
                 try --smtp-from): {trouble}",
                smtp.server
            ),
        ),
        (Some(trouble), _) => colour.paint(
            Colour::YELLOW,
            &format!("{status} {}: {trouble}", smtp.server),
        ),
        (None, Relay::Open) => colour.paint(
            Colour::RED,
            &format!(
                "{status} {}: OPEN RELAY (a foreign recipient was accepted)",
                smtp.server
            ),
        ),
        (None, Relay::Closed { code }) => colour.paint(
            Colour::GREEN,
            &format!(
                "{status} {}: not an open relay (foreign recipient refused, {code})",
                smtp.server
            ),
        ),
        (None, Relay::NotTested | Relay::Inconclusive { .. }) => {
            format!("{status} {}: relay not tested", smtp.server)
        }
    };
    writeln!(out, "{indent}  {line}")?;
    if let Some(banner) = &smtp.banner {
        let name = match checked.rdns.as_ref().map(|rdns| smtp.banner_name(rdns)) {
            Some(BannerName::Matches) => "names the PTR host",
            Some(BannerName::Differs) => "does not name the PTR host",
            Some(BannerName::NoPtr) => "(the address has no PTR)",
            _ => "",
        };
        writeln!(out, "{indent}  {:<10} {banner:?} {name}", "banner")?;
    }
    if let Some(starttls) = smtp.starttls {
        let offered = if starttls { "offered" } else { "not offered" };
        writeln!(out, "{indent}  {:<10} {offered}", "starttls")?;
    }
    Ok(())
}

fn write_result(
    out: &mut impl Write,
    result: &ListResult,
    width: usize,
    colour: Colour,
    indent: &str,
) -> io::Result<()> {
    let status = format!("{:<10}", result.outcome.status());
    let status = match &result.outcome {
        // A listing on an allowlist (negative weight) is good news.
        Outcome::Listed(_) if result.weight < 0 => colour.paint(Colour::GREEN, &status),
        Outcome::Listed(_) if result.weight == 0 => colour.paint(Colour::YELLOW, &status),
        Outcome::Listed(_) => colour.paint(Colour::RED, &status),
        Outcome::NotListed => colour.paint(Colour::GREEN, &status),
        _ => colour.paint(Colour::YELLOW, &status),
    };
    let mut line = format!("{indent}  {status} {:<width$}", label(result));
    match &result.outcome {
        Outcome::Listed(listing) | Outcome::NotCounted(listing) => {
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
            // Checked when configured: printable ASCII only.
            if let Some(url) = &result.lookup_url {
                line.push_str(&format!("  lookup/delist: {url}"));
            }
            if let Outcome::NotCounted(_) = &result.outcome {
                line.push_str("  (not counted by the list's filter)");
            } else if result.weight == 0 {
                line.push_str("  (weight 0: not in the score)");
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
pub fn label(result: &ListResult) -> String {
    let zone = result.zone.public_name();
    if *result.list == *zone {
        result.list.to_string()
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

/// `--list-presets`.
pub fn list_presets(format: Format) -> std::process::ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let written = presets::all().iter().try_for_each(|preset| match format {
        Format::Json => write_preset_json(&mut out, preset),
        _ => write_preset_text(&mut out, preset),
    });
    match written.and_then(|()| out.flush()) {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            crate::warn(&format!("cannot write output: {error}"));
            std::process::ExitCode::from(2)
        }
        _ => std::process::ExitCode::SUCCESS,
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
    writeln!(out, "    lookup/delist: {}", preset.lookup_url)?;
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
