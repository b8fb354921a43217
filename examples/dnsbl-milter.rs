//! `dnsbl-milter`: a milter (Sendmail/Postfix mail filter, protocol version 6) that checks
//! the client, the relays in the Received headers and the domains in the message against
//! DNSBLs.
//!
//! ```text
//! dnsbl-milter --listen 127.0.0.1:10041 --preset spamhaus-zen --preset spamhaus-dbl
//! dnsbl-milter --listen /var/spool/postfix/private/dnsbl-milter --trusted-network 203.0.113.0/24
//! SPAMHAUS_DQS_KEY=... dnsbl-milter --tag-only
//! ```
//!
//! (From a checkout: `cargo run --example dnsbl-milter -- ARGS`.) In Postfix's `main.cf`:
//! `smtpd_milters = inet:127.0.0.1:10041` and `milter_default_action = accept`.
//!
//! # What is checked
//!
//! - At connect: the client's address on the IP lists (not for loopback, private,
//!   link-local clients unless `--check-local`, nor for `--trusted-network` clients). A
//!   listed client is refused at once, before HELO.
//! - At the end of the message: the untrusted relays of the Received headers on the IP lists
//!   (past `--trusted-network` relays; lists with `hops = "last-external"` only for the last
//!   external one), the addresses of URLs with address literals on the IP lists, and the
//!   registrable domains of the URLs and e-mail addresses in the text and HTML parts (after
//!   base64, quoted-printable and charset decoding) on the domain lists: at most
//!   `--max-domains` (200) of them, links (`href` values, URLs in the text) chosen before
//!   other domains (e-mail addresses, `src` values), skipping big senders and
//!   `--skip-domain`s. The lists that take host names (`query_form = "host"`: Spamhaus DBL
//!   and ZRD) are also asked every distinct host name under those domains
//!   (`abused.legit.example`), at most `--max-domains` of them; the lists that take
//!   registrable domains (SURBL, URIBL) only the domains. E-mail addresses of From,
//!   Reply-To, Sender and the text go, hashed, to the hashed lists (Spamhaus HBL); IP lists
//!   with `check_domains` are also asked about the name servers' and domains' addresses.
//!
//! # Answers
//!
//! - Listed: `550 5.7.1 Service unavailable; client [192.0.2.1] blocked using
//!   zen.spamhaus.org; <the TXT reason>` (or `relay [...]`, `domain ... in the message`).
//!   Lists are named by their public zone: a DQS key never appears.
//! - `--tag-only`: instead, the message gets an `X-DNSBL: 192.0.2.1 listed by
//!   zen.spamhaus.org (SBL)` header.
//! - Nothing listed, but a lookup failed: accept (fail-open), or with `--fail-closed`
//!   `451 4.7.1 Service temporarily unavailable; DNS list lookups failed`.
//! - A connect whose address the MTA does not know (the unknown family, as Postfix sends for
//!   XCLIENT `ADDR=[UNAVAILABLE]`) or sent unreadable: the client cannot be checked, so a
//!   warning names it, and the answer is continue, or with `--fail-closed` `451 4.7.1
//!   Service temporarily unavailable; client address not known`. Never a closed connection,
//!   which the MTA's `milter_default_action = accept` would turn into acceptance.
//!
//! # Robustness
//!
//! Packets above 256 KiB, other malformed packets and unknown commands close their connection (the
//! MTA then applies its `milter_default_action`); other connections are not affected; a
//! packet's buffer grows as its data arrives. At most `--max-message-size` bytes of a
//! message are read for domains, in linear time, on a blocking thread, within
//! `--read-budget` (2 s). A message not checked in full (more domains than the cap, cut at
//! the size limit, past the budget) is judged on what was read: a warning is logged, and in
//! tag mode an `X-DNSBL-Unchecked:` header names what was left out; with
//! `--unchecked-suspicious` it is refused (or tagged) as if listed.
//!
//! Connections are accepted first and then given a slot: at `--max-connections` (1024), or
//! at `--max-connections-per-peer` (512) for one peer, the connection that has waited
//! longest for the MTA is closed to make room. A connection must negotiate within 30 s
//! (Postfix's `milter_connect_timeout`) and is closed after `--idle-timeout` (330 s) without
//! a command. A Unix socket is created with mode 660 (`--socket-mode`).
//!
//! SIGTERM or SIGINT: stop accepting, let every connection finish the message it is in,
//! close, exit 0.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use dnsbl_check::cli::parse_and_build;
use dnsbl_check::cli::server::{ConnectionOptions, Resolver, ServeOptions, ServerFlags};
use dnsbl_check::mail::MessageReader;
use dnsbl_check::mail::milter::MilterConfig;
use dnsbl_check::mail::serve::MilterServer;
use ipnet::IpNet;

/// The milter's defaults and words for the flags it shares with the policy server.
struct Milter;

impl ServerFlags for Milter {
    const LISTEN: &'static str = "127.0.0.1:10041";
    // Postfix opens one milter connection per SMTP session (default_process_limit: 100
    // smtpd processes), and one per cleanup process for non-SMTP mail.
    const MAX_CONNECTIONS: &'static str = "1024";
    const MAX_CONNECTIONS_PER_PEER: &'static str = "512";
    const SOCKET_MODE_HELP: &'static str = "Permissions of a Unix socket, in octal: owner and \
        group only by default (run the milter in Postfix's group, or as postfix)";
    const TAG_ONLY_HELP: &'static str = "Add an X-DNSBL: header instead of rejecting";
    const FAIL_CLOSED_HELP: &'static str =
        "When lookups fail and nothing is listed, tempfail (451) instead of accepting";
    // Postfix sends a command for every SMTP event of a session; between two of them it
    // waits for its SMTP client, for at most smtpd_timeout (300 s by default). A little more
    // lets Postfix end its sessions first. (milter_command_timeout, 30 s, and
    // milter_content_timeout, 300 s, are how long Postfix waits for our replies, not for
    // its own next command.)
    const IDLE_TIMEOUT_HELP: &'static str =
        "Seconds a connection may wait for the MTA's next command before it is closed";
}

/// A milter that rejects (or tags) mail from listed clients and relays, or naming listed
/// domains.
// Not `Debug`: the struct holds the DQS key, which must never be printed.
#[derive(Parser)]
#[command(name = "dnsbl-milter", version)]
struct Cli {
    #[command(flatten)]
    serve: ServeOptions<Milter>,

    /// Our own relays (CIDR): clients here are not checked, and Received hops are walked
    /// past them. Repeatable.
    #[arg(long = "trusted-network", value_name = "CIDR")]
    trusted_networks: Vec<IpNet>,

    /// The most distinct domains of one message asked about (links first), and apart the
    /// most URL addresses.
    #[arg(long, value_name = "N", default_value_t = dnsbl_check::mail::DEFAULT_MAX_DOMAINS)]
    max_domains: usize,

    /// Treat a message not checked in full (more domains than --max-domains, cut at
    /// --max-message-size, or past --read-budget) as listed: reject it (or tag it).
    #[arg(long)]
    unchecked_suspicious: bool,

    /// Seconds reading one message for hops and domains may take.
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = dnsbl_check::config::parse_seconds)]
    read_budget: Duration,

    /// A domain never asked about (your own). Repeatable.
    #[arg(long = "skip-domain", value_name = "DOMAIN")]
    skip_domains: Vec<String>,

    /// The most bytes of a message (headers and body) read for hops and domains.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    max_message_size: usize,

    #[command(flatten)]
    connections: ConnectionOptions<Milter>,
}

fn main() -> ExitCode {
    let (cli, (milter, health_interval)) = parse_and_build(milter);
    let keyed_zones = milter.filter().keyed_zones().clone();
    cli.connections.init_tracing("dnsbl_milter", keyed_zones);
    let serve = |listener, shutdown| async { milter.serve(listener, shutdown).await };
    cli.serve
        .run(milter.filter().checker(), health_interval, serve)
}

fn milter(cli: &Cli) -> Result<(MilterServer<Resolver>, Duration), String> {
    let (filter, health_interval) = cli.serve.filter(|policy| {
        policy
            .unchecked_is_suspicious(cli.unchecked_suspicious)
            .trusted_networks(cli.trusted_networks.iter().copied())
    })?;
    let reader = MessageReader::default()
        .trusted_networks(cli.trusted_networks.iter().copied())
        .max_domains(cli.max_domains)
        .time_budget(Some(cli.read_budget))
        .skip_domains(cli.skip_domains.iter().map(String::as_str));
    let config = MilterConfig::default().max_message_size(cli.max_message_size);
    let milter = MilterServer::new(filter, reader, config)
        .idle_timeout(cli.connections.idle_timeout)
        .limits(cli.connections.limits());
    Ok((milter, health_interval))
}
