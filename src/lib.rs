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
//! | [`target::reader`] | `target/reader.rs` | target lists: files of targets, one per line |
//! | [`Zone`] | `zone.rs` | list zones (with secret DQS keys) and query names |
//! | [`redact`] | `redact.rs` | keeping DQS keys out of logs: keyed zones, a redacting writer |
//! | [`CodeFilter`] | `filter.rs` | which answer codes count (Postfix syntax, bitmasks) |
//! | [`DnsList`] | `list/` | one list: zone, kind, filter, categories, weight, query form |
//! | [`hash`] | `hash.rs` | hashed lists (Spamhaus HBL): e-mail normalisation, digests, encodings |
//! | [`presets`] | `presets/` | current public lists, ready to use: [`presets::list`] by name |
//! | [`Config`] | `config.rs` | configuration files (TOML, JSON), and [`config::parse_seconds`] |
//! | [`resolver`] | `resolver/` | the DNS seam ([`DnsResolver`]) and its implementations |
//! | [`ResolverOptions`], [`NameServer`] | `resolver/options.rs` | name servers, timeout, retries: for any resolver |
//! | [`HickoryResolver`] | `resolver/hickory/` | the default resolver, on hickory-resolver |
//! | [`PooledUdpResolver`](resolver::pooled::PooledUdpResolver) | `resolver/pooled/` | a fast resolver for bulk checks: pooled UDP sockets |
//! | [`AnyResolver`](resolver::any::AnyResolver) | `resolver/any.rs` | either resolver, chosen at run time |
//! | [`AnswerCache`](resolver::cache::AnswerCache) | `resolver/cache.rs` | a TTL-aware cache in front of any resolver |
//! | `MirrorResolver` (feature `mirror`) | `resolver/mirror/` | local mirrors: zones answered in-process from rbldnsd data files |
//! | [`Checker`] | `checker/` | concurrent checks, streams, deadlines, list health |
//! | [`Report`], [`Outcome`], [`OutcomeKind`] | `outcome.rs` | the results; the one word for each kind of outcome (metrics, JSON, watch state) |
//! | [`ListHealth`] | `health.rs` | RFC 5782 test-point probes |
//! | [`ListStats`] | `stats.rs` | per-list statistics: outcome counts, latency histogram, health |
//! | [`forward_confirmed_reverse_dns`] | `rdns.rs` | FCrDNS: PTR names confirmed by A/AAAA |
//! | [`monitor`] | `monitor/` | watch mode: rounds, pair statuses, confirmed change events |
//! | [`setup`] | `setup.rs` | a first-run diagnosis: can this resolver see the lists? |
//! | [`hosts`] | `hosts.rs` | mail-server targets: a domain's MX hosts, own addresses or SPF senders |
//! | [`spf`] | `spf/` | the networks a domain's SPF record authorizes, within RFC 7208's limits |
//! | [`summary`] | `summary.rs` | a run's counts: per list, per scanned network, listings |
//! | [`nagios`] | `nagios.rs` | monitoring-plugin states and perfdata from those counts |
//! | `smtp` (feature `monitor`) | `smtp.rs` | an SMTP probe: open relay, banner name, STARTTLS |
//! | `survey` (feature `monitor`) | `survey.rs` | a target with everything asked about it: lists, mail servers, SPF senders, FCrDNS, SMTP |
//! | `cli` (feature `cli`) | `cli/` | command-line building blocks: shared flags, layered settings, redacted logs |
//! | `mail` (feature `mail`) | `mail/` | mail filters: session verdicts, Postfix policy and milter codecs, message reading |
//! | `exporter` (feature `exporter`) | `exporter/` | a Prometheus exporter: rounds, series, a hardened HTTP server, probe rate limits |
//!
//! The root holds what most programs use; the rest (error details, builders, the other
//! resolvers) lives under its module path.
//!
//! # Cargo features
//!
//! | feature | default | what it adds | dependencies it pulls in |
//! |---|---|---|---|
//! | `hickory` | yes | [`HickoryResolver`], [`Checker::builder`] and [`CheckerBuilder::build`] on it | hickory-resolver |
//! | `pooled` | yes | [`resolver::pooled`]: the pooled UDP resolver for bulk checks | hickory-proto, resolv-conf, rand |
//! | `cache` | yes | [`resolver::cache`]: the TTL-aware answer cache | moka |
//! | `config` | yes | [`Config`] (read from TOML or JSON files) and [`config::parse_seconds`] | toml, serde_json |
//! | `mail` | no | `mail`: session verdicts, the Postfix policy and milter protocols, reading messages (Received hops, URL domains) | mail-parser |
//! | `monitor` | no | [`monitor`]'s SQLite state and delivery outbox, and `smtp`, the SMTP probe | rusqlite (bundled SQLite), serde_json |
//! | `mirror` | no | `resolver::mirror`: local mirrors, zones answered in-process from rbldnsd data files (ip4set, ip4trie, ip6trie, dnset), reloaded when replaced | none |
//! | `exporter` | no | `exporter`: the Prometheus exporter's rounds, series and HTTP server | prometheus-client, hyper, hyper-util, http-body-util, bytes |
//! | `cli` | no | `cli`: the shared command-line flags of the crate's tools (clap), logging that scrubs DQS keys, stopping on SIGTERM/SIGINT, and with `mail` the mail servers' options (`cli::server`); turns on `hickory`, `pooled`, `cache`, `mirror` and `config` | clap, tracing-subscriber |
//! | `testing` | no | hooks for this crate's own benchmarks; not a public API | none |
//!
//! With `hickory` and `pooled` both on, [`resolver::any`] picks one at run time. With no
//! feature at all, the core still builds: targets, zones, filters, lists, presets, the
//! checker (on a [`DnsResolver`] of your own, through [`CheckerBuilder::build_with`]),
//! outcomes, health and FCrDNS.
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

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

mod checker;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli;
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub mod config;
#[cfg(any(feature = "mail", feature = "exporter"))]
mod drain;
#[cfg(feature = "exporter")]
#[cfg_attr(docsrs, doc(cfg(feature = "exporter")))]
pub mod exporter;
pub mod filter;
pub mod hash;
mod health;
pub mod hosts;
pub mod list;
#[cfg(feature = "mail")]
#[cfg_attr(docsrs, doc(cfg(feature = "mail")))]
pub mod mail;
pub mod monitor;
pub mod nagios;
pub mod outcome;
pub mod presets;
mod query;
pub mod rdns;
mod ready_first;
pub mod redact;
pub mod resolver;
pub mod setup;
#[cfg(feature = "monitor")]
#[cfg_attr(docsrs, doc(cfg(feature = "monitor")))]
pub mod smtp;
pub mod spf;
pub mod stats;
pub mod summary;
#[cfg(feature = "monitor")]
#[cfg_attr(docsrs, doc(cfg(feature = "monitor")))]
pub mod survey;
pub mod target;
pub mod zone;

pub use checker::{BuildError, Checker, CheckerBuilder};
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub use config::Config;
pub use filter::CodeFilter;
pub use health::ListHealth;
pub use list::{DnsList, ListKind};
pub use outcome::{ListResult, Listing, Outcome, OutcomeKind, Report};
pub use query::TxtLookup;
pub use rdns::{ReverseDns, forward_confirmed_reverse_dns};
#[cfg(feature = "hickory")]
#[cfg_attr(docsrs, doc(cfg(feature = "hickory")))]
pub use resolver::hickory::HickoryResolver;
#[cfg(all(feature = "testing", feature = "pooled"))]
#[doc(hidden)]
pub use resolver::pooled::bench_support;
pub use resolver::{
    Answer, DnsResolver, LookupError, LookupErrorKind, NameServer, ResolverBuildError,
    ResolverOptions,
};
pub use stats::ListStats;
pub use target::{Target, TargetSpec};
pub use zone::Zone;

// The README's examples are compiled as doctests, so that they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
