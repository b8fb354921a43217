//! Watching targets over time: rounds of checks, confirmed changes, events.
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`PairStatus`], [`TroubleKind`] | `status.rs` | the compact status of one (target, list) pair |
//! | [`Tracker`], [`Event`] | `tracker.rs` | diffs rounds, confirms changes over N rounds, makes events |
//! | [`Watcher`], [`Round`] | `round.rs` | runs one round of checks over addresses, networks, domains |
//! | [`rfc3339`] | `time.rs` | event timestamps |
//!
//! An embedding program builds a [`Watcher`] from a [`Checker`](crate::Checker) and the
//! targets, calls [`Watcher::run_round`] on its schedule, and reads the events of each
//! [`Round`] and every pair's status from [`Watcher::tracker`].

mod round;
mod status;
mod time;
mod tracker;

pub use round::{Round, SpecCounts, Watcher};
pub use status::{PairStatus, TroubleKind};
pub use time::rfc3339;
pub use tracker::{Event, EventKind, Tracker, TrackerConfig};
