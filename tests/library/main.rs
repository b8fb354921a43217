//! The library's behaviour against DNS servers: the in-process server by default, and a real
//! rbldnsd in the `#[ignore = "needs rbldnsd"]` tests.
//!
//! One test binary, so that a cold `cargo test` links few of them.

#[path = "../support/mod.rs"]
mod support;

mod cache_and_rdns;
mod cache_sharing;
mod checker;
mod config_options;
mod coverage;
mod doc_tables;
mod exporter;
mod faults;
mod faults_rbldnsd;
mod hostile_network;
mod hosts;
mod interop_rbldnsd;
mod mail;
mod mirror;
mod mirror_now;
mod properties;
mod reply_properties;
mod runtimes;
mod secrets;
mod smtp;
mod spf;
mod stats;
mod support_selftest;
mod transport_equivalence;
mod transport_pool;
mod watch;
