//! A monitoring run's output: the status line with its perfdata, then detail lines.

use std::fmt;
use std::time::Instant;

use super::{Status, Thresholds, perfdata};
use crate::summary::Summary;

/// At most this many detail lines are written.
pub const MAX_DETAILS: usize = 50;

/// What a monitoring run collects besides the counts of its [`Summary`]: the listings and
/// open relays to name, and the lists found untrusted at its end; and how it is written.
///
/// The status is [`Thresholds::status`] of the listings, with trouble when a target was left
/// incomplete, a list gave trouble or was found untrusted; an open relay makes it
/// `CRITICAL` unless the input was bad. A `|` in any text becomes `/`: it would start
/// perfdata.
///
/// # Examples
///
/// ```
/// use dnsbl_check::nagios::{Plugin, Status, Thresholds};
/// use dnsbl_check::summary::Summary;
///
/// let mut plugin = Plugin::new(Thresholds::default());
/// plugin.open_relay("192.0.2.25");
/// let (text, status) = plugin.render(&Summary::default(), false);
/// assert_eq!(status, Status::Critical);
/// assert!(text.starts_with("DNSBL CRITICAL - 0 listings of 0 targets on 0 lists, 1 open relay | "));
/// assert!(text.ends_with("\n192.0.2.25 is an open relay\n"));
/// ```
#[derive(Debug)]
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
    /// A run judged by `thresholds`, timed from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::nagios::{Plugin, Thresholds};
    ///
    /// let plugin = Plugin::new(Thresholds { warning: Some(1), critical: Some(3) });
    /// # let _ = plugin;
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::nagios::{Plugin, Status, Thresholds};
    /// use dnsbl_check::summary::Summary;
    ///
    /// let mut plugin = Plugin::new(Thresholds::default());
    /// plugin.untrusted("bl.example.net");
    /// let (text, status) = plugin.render(&Summary::default(), false);
    /// assert_eq!(status, Status::Unknown);
    /// assert!(text.contains("; trouble: bl.example.net |"));
    /// ```
    pub fn untrusted(&mut self, list: &str) {
        if !self.untrusted.iter().any(|known| known == list) {
            self.untrusted.push(list.to_owned());
        }
    }

    /// Notes an open relay, named in a detail line: the run is `CRITICAL`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::nagios::{Plugin, Status, Thresholds};
    /// use dnsbl_check::summary::Summary;
    ///
    /// let mut plugin = Plugin::new(Thresholds::default());
    /// plugin.open_relay("mail.example.com");
    /// assert_eq!(plugin.render(&Summary::default(), true).1, Status::Unknown);
    /// ```
    pub fn open_relay(&mut self, target: impl fmt::Display) {
        self.open_relays += 1;
        self.detail(|| format!("{target} is an open relay"));
    }

    /// Keeps a detail line (such as a listing) while there is room for [`MAX_DETAILS`], else
    /// only counts it: the line is formatted only when kept, so a bulk run pays nothing for
    /// the listings beyond the first few.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::nagios::{Plugin, Thresholds};
    /// use dnsbl_check::summary::Summary;
    ///
    /// let mut plugin = Plugin::new(Thresholds::default());
    /// for n in 0..52 {
    ///     plugin.detail(|| format!("line {n}"));
    /// }
    /// let (text, _) = plugin.render(&Summary::default(), false);
    /// assert!(text.ends_with("line 49\n... and 2 more\n"));
    /// ```
    pub fn detail(&mut self, line: impl FnOnce() -> String) {
        if self.details.len() < MAX_DETAILS {
            self.details.push(line());
        } else {
            self.more += 1;
        }
    }

    /// The plugin output and its state, for a run of `summary` (`bad_input`: some input could
    /// not be read).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::nagios::{Plugin, Status, Thresholds};
    /// use dnsbl_check::summary::Summary;
    ///
    /// let (text, status) = Plugin::new(Thresholds::default()).render(&Summary::default(), true);
    /// assert_eq!(status, Status::Unknown);
    /// assert!(text.starts_with("DNSBL UNKNOWN - 0 listings of 0 targets on 0 lists; bad input | listings=0;;1;0 "));
    /// ```
    pub fn render(&self, summary: &Summary, bad_input: bool) -> (String, Status) {
        let trouble =
            summary.incomplete > 0 || summary.lists_in_trouble() > 0 || !self.untrusted.is_empty();
        let mut status = self.thresholds.status(summary.listings, trouble, bad_input);
        if self.open_relays > 0 && !bad_input {
            status = Status::Critical;
        }
        let text = self.status_text(summary, bad_input);
        // '|' separates perfdata: never let a list name or target write one.
        let mut out = format!(
            "DNSBL {status} - {} | {}\n",
            text.replace('|', "/"),
            self.perfdata(summary).join(" ")
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

    /// The status line's text, before the perfdata.
    fn status_text(&self, summary: &Summary, bad_input: bool) -> String {
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
        text
    }

    /// The perfdata: listings (with the thresholds), lists, lists in trouble, time, listings
    /// on lists of weight 0, answers with codes not counted.
    fn perfdata(&self, summary: &Summary) -> [String; 6] {
        let seconds = format!("{:.3}", self.started.elapsed().as_secs_f64());
        let count = |label: &str, value: u64| perfdata(label, &value.to_string(), "", None, None);
        [
            perfdata(
                "listings",
                &summary.listings.to_string(),
                "",
                self.thresholds.warning,
                self.thresholds.critical,
            ),
            count("lists", summary.lists_asked() as u64),
            count("lists_trouble", summary.lists_in_trouble() as u64),
            perfdata("time", &seconds, "s", None, None),
            count("weightless_listings", summary.weightless_listings),
            count("not_counted", summary.not_counted),
        ]
    }
}

/// The status line for a run that could not start (a usage or setup error): `UNKNOWN`, with
/// the message's first line.
///
/// # Examples
///
/// ```
/// assert_eq!(
///     dnsbl_check::nagios::unknown("no lists | none\nusage: ..."),
///     "DNSBL UNKNOWN - no lists / none\n"
/// );
/// ```
pub fn unknown(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default().replace('|', "/");
    format!("DNSBL UNKNOWN - {first}\n")
}

fn plural(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}
