//! `--format nagios`: one status line with perfdata, then detail lines; the state and its
//! thresholds are the library's (`dnsbl_check::nagios`).

use std::time::Instant;

use dnsbl_check::nagios::{Status, Thresholds, perfdata};
use dnsbl_check::summary::Summary;

use crate::check::Checked;

/// At most this many detail lines are written.
const MAX_DETAILS: usize = 50;

/// What a monitoring run collects besides the counts: the listings and open relays to name.
pub struct Plugin {
    thresholds: Thresholds,
    started: Instant,
    details: Vec<String>,
    more: usize,
    open_relays: u64,
    /// Lists found untrusted when probed again at the end of the run.
    untrusted: Vec<String>,
}

impl Plugin {
    pub fn new(thresholds: Thresholds) -> Self {
        Plugin {
            thresholds,
            started: Instant::now(),
            details: Vec::new(),
            more: 0,
            open_relays: 0,
            untrusted: Vec::new(),
        }
    }

    /// Notes a list found untrusted at the end of the run: its "not listed" results since it
    /// went blind cannot be told from real ones, so the run is not OK.
    pub fn untrusted(&mut self, list: &str) {
        if !self.untrusted.iter().any(|known| known == list) {
            self.untrusted.push(list.to_owned());
        }
    }

    /// Notes a target's listings and open relay (not its derived addresses: they are added
    /// one by one).
    pub fn add(&mut self, checked: &Checked) {
        let report = &checked.report;
        for (result, listing) in report.listings().filter(|(result, _)| result.weight >= 0) {
            self.detail(|| {
                let codes: Vec<String> = listing.codes.iter().map(ToString::to_string).collect();
                // A list of weight 0 is named too, as what it is: information, not counted.
                let how = if result.weight == 0 {
                    " (weight 0: not counted)"
                } else {
                    ""
                };
                let mut line = format!(
                    "{} listed on {}{how}: {}",
                    report.target,
                    crate::output::label(result),
                    codes.join(", ")
                );
                if let Some(url) = &result.lookup_url {
                    line.push_str(&format!(" {url}"));
                }
                line
            });
        }
        if checked.open_relay() {
            self.open_relays += 1;
            self.detail(|| format!("{} is an open relay", report.target));
        }
    }

    /// Keeps a detail line while there is room, else only counts it: the line is formatted
    /// only when kept, so a bulk run pays nothing for the listings beyond the first few.
    fn detail(&mut self, line: impl FnOnce() -> String) {
        if self.details.len() < MAX_DETAILS {
            self.details.push(line());
        } else {
            self.more += 1;
        }
    }

    /// The plugin output and its state.
    pub fn render(&self, summary: &Summary, bad_input: bool) -> (String, Status) {
        let trouble =
            summary.incomplete > 0 || summary.lists_in_trouble() > 0 || !self.untrusted.is_empty();
        let mut status = self.thresholds.status(summary.listings, trouble, bad_input);
        if self.open_relays > 0 && !bad_input {
            status = Status::Critical;
        }
        let mut troubled: Vec<&str> = summary
            .lists
            .iter()
            .filter(|(_, counts)| counts.trouble > 0)
            .map(|(name, _)| name.as_str())
            .collect();
        for list in &self.untrusted {
            if !troubled.contains(&list.as_str()) {
                troubled.push(list);
            }
        }
        let mut text = format!(
            "{} listing{} of {} target{} on {} list{}",
            summary.listings,
            plural(summary.listings),
            summary.targets,
            plural(summary.targets),
            summary.lists_asked(),
            plural(summary.lists_asked() as u64)
        );
        if self.open_relays > 0 {
            text.push_str(&format!(
                ", {} open relay{}",
                self.open_relays,
                plural(self.open_relays)
            ));
        }
        if !troubled.is_empty() {
            text.push_str(&format!("; trouble: {}", troubled.join(", ")));
        } else if summary.incomplete > 0 {
            text.push_str(&format!("; {} incomplete", summary.incomplete));
        }
        if summary.weightless_listings > 0 {
            text.push_str(&format!(
                "; {} listing{} on lists of weight 0",
                summary.weightless_listings,
                plural(summary.weightless_listings)
            ));
        }
        if summary.not_counted > 0 {
            text.push_str(&format!(
                "; {} answer{} with codes not counted",
                summary.not_counted,
                plural(summary.not_counted)
            ));
        }
        if bad_input {
            text.push_str("; bad input");
        }
        let seconds = format!("{:.3}", self.started.elapsed().as_secs_f64());
        let perf = [
            perfdata(
                "listings",
                &summary.listings.to_string(),
                "",
                self.thresholds.warning,
                self.thresholds.critical,
            ),
            perfdata("lists", &summary.lists_asked().to_string(), "", None, None),
            perfdata(
                "lists_trouble",
                &summary.lists_in_trouble().to_string(),
                "",
                None,
                None,
            ),
            perfdata("time", &seconds, "s", None, None),
            perfdata(
                "weightless_listings",
                &summary.weightless_listings.to_string(),
                "",
                None,
                None,
            ),
            perfdata(
                "not_counted",
                &summary.not_counted.to_string(),
                "",
                None,
                None,
            ),
        ];
        // '|' separates perfdata: never let a list name or target write one.
        let mut out = format!(
            "DNSBL {status} - {} | {}\n",
            text.replace('|', "/"),
            perf.join(" ")
        );
        for line in &self.details {
            out.push_str(&line.replace('|', "/"));
            out.push('\n');
        }
        if self.more > 0 {
            out.push_str(&format!("... and {} more\n", self.more));
        }
        (out, status)
    }
}

/// The status line for a run that could not start (a usage or setup error): UNKNOWN.
pub fn unknown(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default().replace('|', "/");
    format!("DNSBL UNKNOWN - {first}\n")
}

fn plural(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}
