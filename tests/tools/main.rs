//! The example programs end to end: `dnsbl-check` (with its watch mode against a changing
//! rbldnsd in `#[ignore = "needs rbldnsd"]` tests), `dnsbl-exporter` (with a real Prometheus
//! in the `#[ignore = "needs prometheus"]` test), `dnsbl-policyd` and `dnsbl-milter` (with a
//! private Postfix in the `#[ignore = "needs postfix"]` tests).
//!
//! One test binary, so that a cold `cargo test` links few of them.

#[path = "../support/mod.rs"]
mod support;

mod budget;
mod cli;
mod coverage;
mod exporter;
mod exporter_usage;
mod false_clean;
mod mail_servers;
mod milter;
mod mirror;
mod netblocks;
mod policyd;
mod postfix_e2e;
mod relay;
mod setup;
mod spf;
mod unreadable_clients;
mod watch;
