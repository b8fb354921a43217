//! What the example tools share: the options that choose the lists and the resolver, how the
//! checking tools check, and logging that keeps DQS keys out; all from the library's `cli`
//! module, so that every tool's flags mean the same.

use dnsbl_check::Zone;
#[allow(unused_imports)] // each tool uses some of them
pub use dnsbl_check::cli::{ListOptions, LookupOptions, Transport, usage_error};

/// Logs to stderr with `default_filter` (RUST_LOG overrides it), scrubbing the keys of
/// `keyed_zones` (those without a key are passed over) from every line, whoever wrote it.
#[allow(dead_code)] // not every tool passes a list of zones
pub fn init_logging(default_filter: &str, keyed_zones: Vec<Zone>) {
    dnsbl_check::cli::init_logging(default_filter, keyed_zones.into_iter().collect());
}
