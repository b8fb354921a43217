//! Mail-filter pieces (the `mail` feature): what a policy server, a milter or any other filter
//! embedding the crate needs between a mail session and a [`Checker`](crate::Checker).
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`SessionFilter`], [`SessionFacts`], [`Verdict`] | `policy/` | session facts in, a verdict out: targets gathered and asked at once, then a decision without I/O |
//! | [`postfix_policy`] | `postfix_policy.rs` | Postfix's SMTP access policy protocol, bounded |
//! | [`milter`] | `milter/` | the Sendmail/Postfix milter protocol (version 6), bounded, and [`milter::MilterSession`], a milter's session without I/O |
//! | [`MessageReader`] | `message/` | a message's Received hops, and the domains of its URLs |
//! | [`serve`] | `serve/` | a policy server and a milter, each run by one `serve(listener, shutdown)` call |
//!
//! # Examples
//!
//! ```no_run
//! use dnsbl_check::mail::{SessionFacts, SessionFilter, SessionPolicy, Verdict};
//! use dnsbl_check::{Checker, presets};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let checker = Checker::builder().lists(presets::default_lists()).build()?;
//! let filter = SessionFilter::new(checker, SessionPolicy::default());
//! let facts = SessionFacts::client("192.0.2.1".parse()?);
//! match filter.evaluate(&facts).await.verdict {
//!     Verdict::Reject(text) => println!("550 5.7.1 {text}"),
//!     Verdict::Tempfail(text) => println!("451 4.7.1 {text}"),
//!     other => println!("{other:?}"),
//! }
//! # Ok(())
//! # }
//! ```

mod message;
pub mod milter;
mod policy;
pub mod postfix_policy;
pub mod serve;
mod text;

pub use message::{
    DEFAULT_MAX_DOMAINS, DEFAULT_SKIP_DOMAINS, DEFAULT_TIME_BUDGET, MAX_HOPS, MessageReader,
    MessageReading, MessageTargets, received_from, registrable_domain,
};
pub(crate) use policy::joined;
pub use policy::{
    Checked, DomainLookup, DomainStep, Evaluation, FcrdnsStatus, Hop, Listed, SessionFacts,
    SessionFilter, SessionPolicy, SkipReason, TargetRole, Trouble, Unchecked, Verdict, is_local,
};
pub use text::one_line;
