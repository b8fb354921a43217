//! A Prometheus exporter for DNS blocklist listings: the pieces `dnsbl-exporter` is built
//! from, for programs that serve the same series themselves.
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`state`] | `exporter/state.rs` | the watched targets, rounds over them, and the snapshot a scrape reads |
//! | [`exposition`] | `exporter/exposition.rs` | the series, in the Prometheus text format (prometheus-client) |
//! | [`http`] | `exporter/http.rs` | a small HTTP/1.1 server (hyper) that treats every request as hostile |
//! | [`limit`] | `exporter/limit.rs` | per-client and total rate limits for on-demand probes |
//! | [`server`] | `exporter/server.rs` | [`ExporterServer`](server::ExporterServer): the rounds and the HTTP side, until shutdown |
//!
//! A scrape never sends a DNS query: the pages are built from the last finished round
//! ([`exposition::Snapshot`]) and the checker's own statistics.

pub mod exposition;
pub mod http;
pub mod limit;
pub mod server;
pub mod state;
