//! Monitoring-plugin states (Nagios, Icinga, Naemon, Sensu): a run's [`Summary`](crate::summary::Summary) judged
//! against thresholds, and written as a status line with perfdata ([`Plugin`]).
//!
//! The rules:
//! - bad input (a target that could not be read, a usage error) is `UNKNOWN`: the check did
//!   not check what it was asked to;
//! - at or above `--critical` listings (default 1) is `CRITICAL`, at or above `--warning`
//!   is `WARNING`;
//! - below the thresholds, a list that gave trouble (or a target left incomplete) is
//!   `UNKNOWN`: nothing can be said about what it did not answer;
//! - otherwise `OK`. With the default thresholds that means every list answered and nothing
//!   is listed. Raising `--critical` (or setting `--warning` above 1) tolerates listings
//!   below it; they are still counted in the status line and the perfdata.
//!
//! Listings are (target, list) pairs listed by a list of positive weight
//! ([`Summary::listings`](crate::summary::Summary::listings)).
//!
//! # Examples
//!
//! ```
//! use dnsbl_check::nagios::{Status, Thresholds};
//!
//! let defaults = Thresholds::default();
//! assert_eq!(defaults.status(0, false, false), Status::Ok);
//! assert_eq!(defaults.status(1, false, false), Status::Critical);
//! assert_eq!(defaults.status(0, true, false), Status::Unknown);
//! assert_eq!(Status::Critical.exit_code(), 2);
//! ```

use std::fmt;

mod plugin;

pub use plugin::{MAX_DETAILS, Plugin, unknown};

/// A monitoring plugin's state, with its exit code.
///
/// # Examples
///
/// ```
/// use dnsbl_check::nagios::Status;
///
/// assert_eq!(Status::Warning.to_string(), "WARNING");
/// assert_eq!(Status::Unknown.exit_code(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Exit 0.
    Ok,
    /// Exit 1.
    Warning,
    /// Exit 2.
    Critical,
    /// Exit 3.
    Unknown,
}

impl Status {
    /// The plugin exit code: 0, 1, 2 or 3.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        })
    }
}

/// How many listings make a warning or a critical state.
///
/// # Examples
///
/// ```
/// use dnsbl_check::nagios::{Status, Thresholds};
///
/// let thresholds = Thresholds { warning: Some(1), critical: Some(3) };
/// assert_eq!(thresholds.status(2, false, false), Status::Warning);
/// assert_eq!(thresholds.status(3, false, false), Status::Critical);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// `WARNING` from this many listings; `None`: no warning state.
    pub warning: Option<u64>,
    /// `CRITICAL` from this many listings; `None`: no critical state. Default 1.
    pub critical: Option<u64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warning: None,
            critical: Some(1),
        }
    }
}

impl Thresholds {
    /// The state of a run with `listings` listings, whether some list gave trouble (or a
    /// check was incomplete), and whether some input was bad (see the
    /// [module documentation](self)).
    pub fn status(&self, listings: u64, trouble: bool, bad_input: bool) -> Status {
        let reached = |threshold: Option<u64>| threshold.is_some_and(|at| listings >= at.max(1));
        if bad_input {
            Status::Unknown
        } else if reached(self.critical) {
            Status::Critical
        } else if reached(self.warning) {
            Status::Warning
        } else if trouble {
            Status::Unknown
        } else {
            Status::Ok
        }
    }
}

/// One perfdata item, `'label'=value[unit];[warn];[crit];[min];[max]`.
///
/// # Examples
///
/// ```
/// use dnsbl_check::nagios::perfdata;
///
/// assert_eq!(perfdata("listings", "2", "", Some(1), Some(5)), "listings=2;1;5;0");
/// assert_eq!(perfdata("time", "0.125", "s", None, None), "time=0.125s;;;0");
/// ```
pub fn perfdata(
    label: &str,
    value: &str,
    unit: &str,
    warning: Option<u64>,
    critical: Option<u64>,
) -> String {
    let show = |threshold: Option<u64>| threshold.map(|t| t.to_string()).unwrap_or_default();
    format!(
        "{label}={value}{unit};{};{};0",
        show(warning),
        show(critical)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state() {
        let defaults = Thresholds::default();
        let graded = Thresholds {
            warning: Some(2),
            critical: Some(4),
        };
        let warning_only = Thresholds {
            warning: Some(1),
            critical: None,
        };
        // A threshold of 0 would make "nothing listed" an alert: it counts as 1.
        let critical_zero = Thresholds {
            warning: None,
            critical: Some(0),
        };
        let cases = [
            // (thresholds, listings, trouble, bad input, state)
            (defaults, 0, false, false, Status::Ok),
            (defaults, 1, false, false, Status::Critical),
            (defaults, 5, true, false, Status::Critical),
            (defaults, 0, true, false, Status::Unknown),
            (defaults, 0, false, true, Status::Unknown),
            (defaults, 3, false, true, Status::Unknown),
            (graded, 0, false, false, Status::Ok),
            (graded, 1, false, false, Status::Ok),
            (graded, 1, true, false, Status::Unknown),
            (graded, 2, false, false, Status::Warning),
            (graded, 3, true, false, Status::Warning),
            (graded, 4, false, false, Status::Critical),
            (warning_only, 9, false, false, Status::Warning),
            (critical_zero, 0, false, false, Status::Ok),
        ];
        for (thresholds, listings, trouble, bad, expected) in cases {
            assert_eq!(
                thresholds.status(listings, trouble, bad),
                expected,
                "{thresholds:?} {listings} {trouble} {bad}"
            );
        }
        let codes: Vec<u8> = [
            Status::Ok,
            Status::Warning,
            Status::Critical,
            Status::Unknown,
        ]
        .iter()
        .map(|s| s.exit_code())
        .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }
}
