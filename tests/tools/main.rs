//! The example programs end to end: `dnsbl-check`, `dnsbl-policyd` and `dnsbl-milter` (with a
//! private Postfix in the `#[ignore = "needs postfix"]` tests).
//!
//! One test binary, so that a cold `cargo test` links few of them.

#[path = "../support/mod.rs"]
mod support;

#[path = "../policyd_support/mod.rs"]
mod policyd_support;

mod cli;
mod milter;
mod policyd;
mod postfix_e2e;
