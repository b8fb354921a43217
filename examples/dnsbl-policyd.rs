//! `dnsbl-policyd`: a Postfix SMTP access policy server that checks clients against DNSBLs.
//!
//! ```text
//! dnsbl-policyd --listen 127.0.0.1:10040 --preset spamhaus-zen --preset spamcop
//! dnsbl-policyd --listen /var/spool/postfix/private/dnsbl --nameserver 127.0.0.1:53 \
//!     --zone zen.spamhaus.org=127.0.0.[2..11] --domain-zone dbl.spamhaus.org --check-domains
//! SPAMHAUS_DQS_KEY=... dnsbl-policyd --preset spamhaus-zen --preset spamhaus-dbl --tag-only
//! ```
//!
//! (From a checkout: `cargo run --example dnsbl-policyd -- ARGS`.)
//!
//! In Postfix's `main.cf`:
//!
//! ```text
//! smtpd_recipient_restrictions =
//!     permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination,
//!     check_policy_service inet:127.0.0.1:10040
//! ```
//!
//! # Protocol
//!
//! Postfix's SMTP access policy delegation: a request is `name=value` lines ended by an empty
//! line; the answer is `action=...` and an empty line. Postfix keeps a connection open for
//! many requests, and so does this server. Unknown attributes are ignored; a request whose
//! `request` attribute is not `smtpd_access_policy` is answered `DUNNO`.
//!
//! # What is checked
//!
//! - `client_address` against the IP lists (`--zone`, IP presets). Loopback, private
//!   (RFC 1918, `fc00::/7`), link-local and unspecified clients are not checked at all (the
//!   answer is `DUNNO`) unless `--check-local` is given. A `client_address` that is not an
//!   address (Postfix's `unknown` for a client whose address it does not know, or anything
//!   unreadable: `[192.0.2.1]`, `192.0.2.1%eth0`, an empty value) cannot be checked: that
//!   is trouble, logged as a warning naming the text (sanitised), answered `DUNNO`, or
//!   `DEFER_IF_PERMIT` with `--fail-closed`.
//! - With `--check-helo`, `--check-client-name`, `--check-sender-domain` (or `--check-domains`
//!   for all three): `helo_name`, `client_name` (not `unknown`) and the domain of `sender`
//!   (not for the null sender) against the domain lists. Address literals and names without
//!   a dot are not checked. With `--check-sender-domain`, the sender's address is also asked,
//!   by hash, of the hashed lists (such as `--preset spamhaus-hbl`); texts name the hash.
//! - With `--require-fcrdns`: whether the client has forward-confirmed reverse DNS.
//!
//! The lists and the resolver are chosen with the same options, and the same config file, as
//! `dnsbl-check`'s: `--zone`, `--domain-zone`, `--preset`, `--config`, `--dqs-key` (or
//! `SPAMHAUS_DQS_KEY`), `--nameserver`, `--timeout`, `--threshold`; without any list, the
//! default preset set.
//!
//! All lookups for one request run at once, bounded by `--deadline`. Each target gets its
//! own verdict (its score against `--threshold`), as with Postfix's `reject_rbl_client`.
//!
//! # Answers
//!
//! - A target is listed: `REJECT Service unavailable; client [192.0.2.1] blocked using
//!   zen.spamhaus.org; <the list's TXT reason>` (or `helo name ...`, `client name ...`,
//!   `sender domain ...`). Lists are named by their public zone: a DQS key never appears.
//!   The reason is cleaned (printable ASCII on one line) and shortened.
//! - The client has no forward-confirmed reverse DNS (with `--require-fcrdns`): `REJECT
//!   Service unavailable; client [192.0.2.1] has no forward-confirmed reverse DNS: ...`.
//! - `--tag-only`: instead of rejecting, `PREPEND X-DNSBL: 192.0.2.1 listed by
//!   zen.spamhaus.org (SBL)`, once per message (repeated requests about the same message,
//!   one per recipient, get `DUNNO`).
//! - Nothing listed, but a lookup failed (timeout, SERVFAIL, operator error code, invalid
//!   answer, list skipped as unhealthy, reverse DNS lookup failed): `DUNNO` (fail-open), or
//!   with `--fail-closed` `DEFER_IF_PERMIT Service temporarily unavailable; DNS list lookups
//!   failed`.
//! - Otherwise `DUNNO`.
//!
//! # Robustness
//!
//! Lines are at most 4096 bytes, requests at most 128 attributes and 64 KiB. A bad request
//! (line too long, not UTF-8, a line without `=`, too many attributes, an empty request, no
//! `client_address` in an `smtpd_access_policy` request, end of input in the middle of a
//! request) is logged and its connection closed without an answer: the request cannot be
//! trusted to be what the client meant, and Postfix treats a lost policy connection as a
//! temporary failure (it retries, then answers 451 4.3.5). Other connections are not
//! affected. A connection idle for `--idle-timeout` (default 330 s, a little longer than
//! Postfix's `smtpd_policy_service_max_idle` of 300 s, so that Postfix closes first) is
//! closed. Connections are accepted first and then given a slot: at `--max-connections`
//! (512), or at `--max-connections-per-peer` (256) for one peer (an address, or a user on a
//! Unix socket), the connection that has waited longest for a request is closed to make
//! room, so idle connections cannot lock Postfix out. A Unix socket is created with mode 660
//! (`--socket-mode`).
//!
//! One checker, with a TTL-aware answer cache (`--cache-size`, `--cache-min-ttl`,
//! `--cache-max-ttl`), serves every connection. A background task probes each list's
//! RFC 5782 test points every `--health-interval` and logs lists in trouble; a list that
//! lists everything is skipped, never trusted.
//!
//! SIGTERM or SIGINT: stop accepting, let every connection finish the request it is
//! processing, close, and exit 0 (after at most 30 s of waiting, or at a second signal).
//!
//! Logs go to stderr: one line per decision at info level (client, what was checked, lists
//! hit, trouble, action, milliseconds), warnings for trouble. `-q` logs warnings only, `-v`
//! more; `RUST_LOG` overrides. DQS keys (given with `--dqs-key` or written in a config file's
//! zones) are scrubbed from every log line.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use dnsbl_check::cli::parse_and_build;
use dnsbl_check::cli::server::{ConnectionOptions, Resolver, ServeOptions, ServerFlags};
use dnsbl_check::mail::SessionFilter;
use dnsbl_check::mail::serve::PolicyServer;
use tracing::{debug, warn};

/// The policy server's defaults and words for the flags it shares with the milter.
struct Policyd;

impl ServerFlags for Policyd {
    const LISTEN: &'static str = "127.0.0.1:10040";
    // Postfix holds one policy connection per smtpd process (default_process_limit: 100).
    const MAX_CONNECTIONS: &'static str = "512";
    const MAX_CONNECTIONS_PER_PEER: &'static str = "256";
    const SOCKET_MODE_HELP: &'static str = "Permissions of a Unix socket, in octal: owner and \
        group only by default (run the server in Postfix's group, or as postfix; the directory \
        should restrict access too, as Postfix's private/ does)";
    const TAG_ONLY_HELP: &'static str =
        "Answer PREPEND X-DNSBL: ... instead of REJECT, for filters that score later";
    const FAIL_CLOSED_HELP: &'static str =
        "When lookups fail and nothing is listed, answer DEFER_IF_PERMIT instead of DUNNO";
    // Postfix closes an idle policy connection itself after smtpd_policy_service_max_idle
    // (300 s by default), and any connection after smtpd_policy_service_max_ttl (1000 s).
    // A little more than 300 s lets Postfix close first, as it expects to, and frees the
    // slot of a peer that is not Postfix soon after.
    const IDLE_TIMEOUT_HELP: &'static str =
        "Seconds a connection may wait for a request before it is closed";
}

/// A Postfix SMTP access policy server: rejects (or tags) clients listed on DNS blocklists.
// Not `Debug`: the struct holds the DQS key, which must never be printed.
#[derive(Parser)]
#[command(name = "dnsbl-policyd", version)]
struct Cli {
    #[command(flatten)]
    serve: ServeOptions<Policyd>,

    /// Reject (or tag) clients without forward-confirmed reverse DNS.
    #[arg(long)]
    require_fcrdns: bool,

    /// Check the HELO/EHLO name against the domain lists.
    #[arg(long)]
    check_helo: bool,

    /// Check the client's verified host name against the domain lists.
    #[arg(long)]
    check_client_name: bool,

    /// Check the envelope sender's domain against the domain lists.
    #[arg(long)]
    check_sender_domain: bool,

    /// All of --check-helo, --check-client-name and --check-sender-domain.
    #[arg(long)]
    check_domains: bool,

    #[command(flatten)]
    connections: ConnectionOptions<Policyd>,
}

fn main() -> ExitCode {
    let (cli, (filter, health_interval)) = parse_and_build(filter);
    let filter = Arc::new(filter);
    let keyed_zones = filter.keyed_zones().clone();
    cli.connections.init_tracing("dnsbl_policyd", keyed_zones);
    let policy = filter.policy();
    if policy.checks_domains() && !filter.checks_domain_lists() {
        warn!("domain checks are on, but no domain list is configured");
    }
    if filter.checks_ip_lists() && !policy.checks_domains() && !cli.require_fcrdns {
        debug!("checking client addresses only");
    }
    let server = PolicyServer::new(filter.clone())
        .idle_timeout(cli.connections.idle_timeout)
        .limits(cli.connections.limits());
    let serve = |listener, shutdown| async move { server.serve(listener, shutdown).await };
    cli.serve.run(filter.checker(), health_interval, serve)
}

/// The session filter the options describe, and how often to probe the lists' health.
fn filter(cli: &Cli) -> Result<(SessionFilter<Resolver>, Duration), String> {
    cli.serve.filter(|policy| {
        policy
            .require_fcrdns(cli.require_fcrdns)
            .check_helo(cli.check_helo || cli.check_domains)
            .check_client_name(cli.check_client_name || cli.check_domains)
            .check_sender_domain(cli.check_sender_domain || cli.check_domains)
    })
}
