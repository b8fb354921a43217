//! Watching targets over time: rounds of checks, confirmed changes, events.
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`PairStatus`] | `status.rs` | the compact status of one (target, list) pair; trouble is named by [`OutcomeKind`](crate::OutcomeKind) |
//! | [`Tracker`], [`Event`] | `tracker.rs` | diffs rounds, confirms changes over N rounds, makes events |
//! | [`Watcher`], [`Round`] | `round.rs` | runs one round of checks over addresses, networks, domains |
//! | [`rfc3339`] | `time.rs` | event timestamps |
//! | [`QueryBudget`] | `budget.rs` | queries a day per list, against the lists' free-use limits |
//! | `StateStore` | `store.rs` | the state file (SQLite, feature `monitor`): statuses, history, outbox |
//! | `Delivery`, `deliver_pending`, `ExecDelivery` | `delivery.rs` | sends each round's events once, retrying; to a command (feature `monitor`) |
//!
//! An embedding program builds a [`Watcher`] from a [`Checker`](crate::Checker) and the
//! targets, calls [`Watcher::run_round`] on its schedule, and reads the events of each
//! [`Round`] and every pair's status from [`Watcher::tracker`]. With the `monitor` feature,
//! a `StateStore` keeps all of it across restarts, one transaction per round, and
//! `deliver_pending` sends each round's events to a command or webhook exactly once.

mod budget;
#[cfg(feature = "monitor")]
mod delivery;
mod round;
mod status;
#[cfg(feature = "monitor")]
mod store;
mod time;
mod tracker;

pub use budget::{ListBudget, QueryBudget, SpfTooWide, TargetCounts};
#[cfg(all(feature = "monitor", unix))]
pub use delivery::ExecDelivery;
#[cfg(feature = "monitor")]
pub use delivery::{Delivery, DeliveryOutcome, deliver_pending};
pub use round::{Round, SpecCounts, Watcher};
pub use status::PairStatus;
#[cfg(feature = "monitor")]
pub use store::{PendingDelivery, StateStore, StoreError};
pub use time::rfc3339;
pub use tracker::{Event, EventKind, Tracker, TrackerConfig};
