//! Check IP addresses, networks and domain names against DNS blocklists (DNSBLs).
//!
//! The crate builds RFC 5782 query names, asks every configured list at once, and reads the
//! answers into typed outcomes. Trouble is never mistaken for an answer: a timeout, a list
//! that refuses the query, an answer outside 127.0.0.0/8 or a list that lists everything are
//! each an outcome of their own, never "listed" and never "not listed".
//!
//! # Design
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`Target`], [`TargetSpec`] | `target.rs` | what is checked: addresses, networks, domains |
//! | [`Zone`], [`QueryName`] | `zone.rs` | list zones (with secret DQS keys) and query names |
//! | [`CodeFilter`] | `filter.rs` | which answer codes count (Postfix syntax, bitmasks) |
//! | [`DnsList`] | `list.rs` | one list: zone, kind, filter, categories, weight |
//! | [`presets`] | `presets.rs` | current public lists, ready to use |
//! | [`Config`] | `config.rs` | configuration files (TOML, JSON) |
//! | [`resolver`] | `resolver/` | the DNS seam ([`DnsResolver`]) and its implementations |
//! | [`HickoryResolver`] | `resolver/hickory.rs` | the default resolver, on hickory-resolver |
//! | [`PooledUdpResolver`] | `resolver/pooled/` | a fast resolver for bulk checks: pooled UDP sockets |
//! | [`AnyResolver`] | `resolver/any.rs` | either resolver, chosen at run time |
//! | [`Checker`] | `checker.rs` | concurrent checks, streams, deadlines, list health |
//! | [`Report`], [`Outcome`] | `outcome.rs` | the results |
//! | [`ListHealth`] | `health.rs` | RFC 5782 test-point probes |
//! | [`ListStats`] | `stats.rs` | per-list statistics: outcome counts, latency histogram, health |
//! | [`AnswerCache`] | `resolver/cache.rs` | a TTL-aware cache in front of any resolver |
//! | [`forward_confirmed_reverse_dns`] | `rdns.rs` | FCrDNS: PTR names confirmed by A/AAAA |
//! | [`monitor`] | `monitor/` | watch mode: rounds, pair statuses, confirmed change events |
//! | [`hosts`] | `hosts.rs` | mail-server targets: a domain's MX hosts or own addresses |
//! | [`summary`] | `summary.rs` | a run's counts: per list, per scanned network, listings |
//! | [`nagios`] | `nagios.rs` | monitoring-plugin states and perfdata from those counts |
//! | [`smtp`] | `smtp.rs` | an SMTP probe: open relay, banner name, STARTTLS |
//! | [`mail`] (feature `mail`) | `mail/` | mail filters: session verdicts, Postfix policy and milter codecs, message reading |
//!
//! # Examples
//!
//! ```no_run
//! use dnsbl_check::{Checker, Outcome, presets};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let checker = Checker::builder()
//!     .lists(presets::default_lists())
//!     .build()?;
//! let report = checker.check("127.0.0.2".parse()?).await;
//! println!("listed: {} (score {})", report.listed, report.score);
//! for result in &report.results {
//!     match &result.outcome {
//!         Outcome::Listed(listing) => println!("{}: {:?}", result.list, listing.categories),
//!         Outcome::NotListed => println!("{}: clean", result.list),
//!         trouble => println!("{}: {}", result.list, trouble.detail().unwrap_or_default()),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod checker;
mod config;
mod filter;
mod health;
pub mod hosts;
mod list;
#[cfg(feature = "mail")]
pub mod mail;
pub mod monitor;
pub mod nagios;
mod outcome;
pub mod presets;
mod query;
mod rdns;
pub mod resolver;
pub mod smtp;
mod stats;
pub mod summary;
mod target;
mod zone;

pub use checker::{BuildError, Checker, CheckerBuilder};
pub use config::{Config, ConfigError, NameServerText, preset_list};
pub use filter::{CodeFilter, FilterError};
pub use health::ListHealth;
pub use list::{DnsList, HopScope, ListKind, LookupUrlError, SpecError, SpecProblem};
pub use outcome::{
    InvalidAnswer, ListResult, Listing, OperatorError, Outcome, Report, SkipReason, Unhealthy,
};
pub use query::TxtLookup;
pub use rdns::{ReverseDns, forward_confirmed_reverse_dns, ptr_name};
pub use resolver::any::AnyResolver;
pub use resolver::cache::{AnswerCache, CacheConfig};
pub use resolver::hickory::{
    HickoryResolver, HickoryResolverBuilder, NameServer, ResolverBuildError,
};
#[doc(hidden)]
pub use resolver::pooled::bench_support;
pub use resolver::pooled::{PooledUdpResolver, PooledUdpResolverBuilder, TransportStats};
pub use resolver::{Answer, DnsResolver, LookupError, LookupErrorKind, MailExchanger};
pub use stats::{LATENCY_BUCKETS, LatencyHistogram, ListStats, OutcomeCounts, OutcomeKind};
pub use target::{DomainName, Target, TargetError, TargetSpec, TargetSpecIter};
pub use zone::{QueryName, QueryNameError, SecretKey, Zone, ZoneError};

// The README's examples are compiled as doctests, so that they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
