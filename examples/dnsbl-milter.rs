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

mod common;
#[path = "common/server.rs"]
mod server;

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use common::ListOptions;
use dnsbl_check::mail::milter::{
    ClientAddress, Command, MAX_PACKET, MilterError, Options, Response, actions, protocol,
    read_packet,
};
use dnsbl_check::mail::{
    Evaluation, MessageReader, MessageTargets, SessionFacts, SessionFilter, SessionPolicy, Verdict,
    one_line,
};
use ipnet::IpNet;
use server::{CheckOptions, Connection, Listen, Resolver, Slot, parse_listen, parse_mode};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tracing::{debug, info, warn};

/// A milter that rejects (or tags) mail from listed clients and relays, or naming listed
/// domains.
// Not `Debug`: the struct holds the DQS key, which must never be printed.
#[derive(Parser)]
#[command(name = "dnsbl-milter", version)]
struct Cli {
    /// Where to listen: ADDR:PORT for TCP, or a Unix socket path (anything containing '/').
    #[arg(long, value_name = "ADDR:PORT|PATH", default_value = "127.0.0.1:10041", value_parser = parse_listen)]
    listen: Listen,

    /// Permissions of a Unix socket, in octal: owner and group only by default (run the
    /// milter in Postfix's group, or as postfix).
    #[arg(long, value_name = "OCTAL", default_value = "660", value_parser = parse_mode)]
    socket_mode: u32,

    #[command(flatten)]
    lists: ListOptions,

    #[command(flatten)]
    check: CheckOptions,

    /// Add an X-DNSBL: header instead of rejecting.
    #[arg(long)]
    tag_only: bool,

    /// When lookups fail and nothing is listed, tempfail (451) instead of accepting.
    #[arg(long)]
    fail_closed: bool,

    /// Check loopback, private, link-local and unspecified client addresses too.
    #[arg(long)]
    check_local: bool,

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

    /// Seconds a connection may wait for the MTA's next command before it is closed.
    // Postfix sends a command for every SMTP event of a session; between two of them it
    // waits for its SMTP client, for at most smtpd_timeout (300 s by default). A little more
    // lets Postfix end its sessions first. (milter_command_timeout, 30 s, and
    // milter_content_timeout, 300 s, are how long Postfix waits for our replies, not for
    // its own next command.)
    #[arg(long, value_name = "SECS", default_value = "330", value_parser = dnsbl_check::config::parse_seconds)]
    idle_timeout: Duration,

    /// The most connections served at once. At the cap, the connection idle the longest is
    /// closed to make room for a new one.
    // Postfix opens one milter connection per SMTP session (default_process_limit: 100
    // smtpd processes), and one per cleanup process for non-SMTP mail.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,

    /// The most connections served at once from one peer (an IP address, or a user on a
    /// Unix socket); at the cap, that peer's connection idle the longest is closed.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_peer: u32,

    /// Log warnings and errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,

    /// Log more (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// How long a new connection may take to send its negotiation: Postfix sends it at once
/// after connecting, and gives up itself after milter_connect_timeout (30 s by default).
const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection shares.
struct Milter {
    filter: SessionFilter<Resolver>,
    reader: MessageReader,
    tag_only: bool,
    max_domains: usize,
    max_message_size: usize,
    read_budget: Duration,
    idle: Duration,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (milter, health_interval) = match milter(&cli) {
        Ok(built) => built,
        Err(message) => common::usage_error::<Cli>(message),
    };
    let milter = Arc::new(milter);
    server::init_tracing(
        "dnsbl_milter",
        cli.verbose,
        cli.quiet,
        milter.filter.keyed_zones().to_vec(),
    );
    server::block_on(run(&cli, milter, health_interval))
}

fn milter(cli: &Cli) -> Result<(Milter, Duration), String> {
    let setup = cli.check.setup(&cli.lists)?;
    let policy = SessionPolicy::default()
        .tag_only(cli.tag_only)
        .fail_closed(cli.fail_closed)
        .check_local(cli.check_local)
        .unchecked_is_suspicious(cli.unchecked_suspicious)
        .fcrdns_deadline(setup.deadline)
        .trusted_networks(cli.trusted_networks.iter().copied());
    let reader = MessageReader::default()
        .trusted_networks(cli.trusted_networks.iter().copied())
        .max_domains(cli.max_domains)
        .time_budget(Some(cli.read_budget))
        .skip_domains(cli.skip_domains.iter().map(String::as_str));
    let milter = Milter {
        filter: SessionFilter::new(setup.checker, policy),
        reader,
        tag_only: cli.tag_only,
        max_domains: cli.max_domains,
        max_message_size: cli.max_message_size,
        read_budget: cli.read_budget,
        idle: cli.idle_timeout,
    };
    Ok((milter, setup.health_interval))
}

async fn run(cli: &Cli, milter: Arc<Milter>, health_interval: Duration) -> Result<(), String> {
    server::serve_with_health(
        milter.filter.checker(),
        health_interval,
        &cli.listen,
        cli.socket_mode,
        server::Limits {
            max: cli.max_connections as usize,
            per_peer: cli.max_connections_per_peer as usize,
        },
        |connection, peer, slot, stopping| serve(connection, peer, slot, milter.clone(), stopping),
    )
    .await
}

/// What one connection knows: the SMTP session, and the message in progress.
#[derive(Default)]
struct Session {
    /// Whether the negotiation is done.
    negotiated: bool,
    /// What was agreed: which commands get no reply.
    protocol: u32,
    client: Option<IpAddr>,
    client_text: String,
    /// A tag from the connect stage, to add to each message.
    client_tag: Option<String>,
    queue_id: String,
    /// Between MAIL (or the first header) and the end of the message or an abort.
    in_message: bool,
    message: Vec<u8>,
    /// Whether the message was longer than what was kept of it.
    cut: bool,
}

impl Session {
    fn start_message(&mut self) {
        self.in_message = true;
        self.message.clear();
        self.cut = false;
    }

    fn end_message(&mut self) {
        self.in_message = false;
        self.message = Vec::new();
        self.cut = false;
    }

    /// Appends to the message, up to `max` bytes.
    fn append(&mut self, bytes: &[u8], max: usize) {
        self.in_message = true;
        let room = max.saturating_sub(self.message.len());
        self.cut |= bytes.len() > room;
        self.message
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// `Continue`, unless the negotiation said this command gets no reply.
    fn reply_unless(&self, no_reply: u32) -> Option<Response> {
        (self.protocol & no_reply == 0).then_some(Response::Continue)
    }
}

/// The steps this filter wants left out, and those it does not answer (kept only where the
/// MTA offers them).
const WANTED_PROTOCOL: u32 = protocol::NO_RCPT
    | protocol::NO_DATA
    | protocol::NO_UNKNOWN
    | protocol::NR_HELO
    | protocol::NR_MAIL
    | protocol::NR_RCPT
    | protocol::NR_DATA
    | protocol::NR_UNKNOWN
    | protocol::NR_HEADER
    | protocol::NR_EOH
    | protocol::NR_BODY;

/// Serves one connection until the MTA quits, a packet is bad, the connection idles too
/// long, or shutdown begins outside a message.
async fn serve(
    connection: Connection,
    peer: String,
    slot: Slot,
    milter: Arc<Milter>,
    mut stopping: watch::Receiver<bool>,
) {
    let (mut reader, mut writer) = tokio::io::split(connection);
    let mut session = Session::default();
    let mut packet = Vec::new();
    loop {
        // While it waits for the MTA, the connection may be closed to make room for a new
        // one; while it decides, it is not.
        slot.idle();
        let wait = if session.negotiated {
            milter.idle
        } else {
            NEGOTIATION_TIMEOUT
        };
        let read = read_packet(&mut reader, &mut packet, MAX_PACKET);
        let read = tokio::time::timeout(wait, read);
        let read = if session.in_message {
            // A message in progress is finished, shutdown or not.
            read.await
        } else {
            tokio::select! {
                biased;
                read = read => read,
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        };
        let command = match read {
            Err(_) => {
                debug!(%peer, "closing an idle connection");
                return;
            }
            Ok(Ok(false)) => return,
            Ok(Ok(true)) => Command::parse(&packet),
            Ok(Err(error)) => Err(error),
        };
        let command = match command {
            Ok(command) => command,
            Err(problem) => {
                warn!(%peer, %problem, "bad packet: closing the connection");
                return;
            }
        };
        slot.busy();
        let responses = match handle(&milter, &mut session, command).await {
            Ok(Some(responses)) => responses,
            Ok(None) => return,
            Err(problem) => {
                warn!(%peer, %problem, "cannot go on: closing the connection");
                return;
            }
        };
        let bytes: Vec<u8> = responses.iter().flat_map(Response::to_bytes).collect();
        // Sending waits on the MTA: one that does not read may be closed to make room.
        slot.idle();
        if !bytes.is_empty() {
            let written = tokio::time::timeout(milter.idle, writer.write_all(&bytes)).await;
            if !matches!(written, Ok(Ok(()))) {
                debug!(%peer, "cannot send the answer");
                return;
            }
        }
        if *stopping.borrow() && !session.in_message {
            return;
        }
    }
}

/// Answers one command: the responses to send (none for commands without replies); `None`
/// when the MTA quits.
async fn handle(
    milter: &Arc<Milter>,
    session: &mut Session,
    command: Command,
) -> Result<Option<Vec<Response>>, MilterError> {
    let reply = match command {
        Command::Negotiate(offer) => {
            let wanted_actions = if milter.tag_only {
                actions::ADD_HEADERS
            } else {
                0
            };
            let agreed = offer.agree(&Options::new(wanted_actions, WANTED_PROTOCOL))?;
            session.protocol = agreed.protocol;
            session.negotiated = true;
            Some(Response::Negotiate(agreed))
        }
        Command::Macros { pairs, .. } => {
            if let Some((_, id)) = pairs.iter().find(|(name, _)| name == "i") {
                session.queue_id.clone_from(id);
            }
            None
        }
        Command::Connect { address, .. } => {
            session.client = match address {
                ClientAddress::Ip(ip, _) => Some(ip),
                _ => None,
            };
            session.client_text = session
                .client
                .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
            session.client_tag = None;
            // An address the MTA does not know, or sent unreadable, is a client that cannot be
            // checked: trouble (a tempfail with --fail-closed), answered, never a dropped
            // connection (which milter_default_action = accept would turn into acceptance).
            let facts = match (session.client, &address) {
                (Some(client), _) => SessionFacts::client(client),
                (None, ClientAddress::Unknown) => SessionFacts::unreadable_client("unknown"),
                (None, ClientAddress::Unreadable(text)) => SessionFacts::unreadable_client(text),
                // A local (Unix socket) client: not checked, like any local client.
                (None, _) => return Ok(Some(vec![Response::Continue])),
            };
            let started = Instant::now();
            let evaluation = milter.filter.evaluate(&facts).await;
            let response = match &evaluation.verdict {
                Verdict::Tag(text) => {
                    session.client_tag = Some(text.clone());
                    Response::Continue
                }
                verdict => verdict_response(verdict),
            };
            log(session, "connect", &evaluation, &response, started);
            Some(response)
        }
        Command::Helo(_) => session.reply_unless(protocol::NR_HELO),
        Command::Mail(_) => {
            session.start_message();
            session.reply_unless(protocol::NR_MAIL)
        }
        Command::Rcpt(_) => session.reply_unless(protocol::NR_RCPT),
        Command::Data => session.reply_unless(protocol::NR_DATA),
        Command::Unknown(_) => session.reply_unless(protocol::NR_UNKNOWN),
        Command::Header { name, value } => {
            let line = [name.as_bytes(), b": ", &value, b"\r\n"].concat();
            session.append(&line, milter.max_message_size);
            session.reply_unless(protocol::NR_HEADER)
        }
        Command::EndOfHeaders => {
            session.append(b"\r\n", milter.max_message_size);
            session.reply_unless(protocol::NR_EOH)
        }
        Command::Body(chunk) => {
            session.append(&chunk, milter.max_message_size);
            session.reply_unless(protocol::NR_BODY)
        }
        Command::EndOfMessage(chunk) => {
            session.append(&chunk, milter.max_message_size);
            let responses = end_of_message(milter, session).await;
            session.end_message();
            return Ok(Some(responses));
        }
        Command::Abort => {
            session.end_message();
            None
        }
        Command::QuitNewConnection => {
            *session = Session {
                negotiated: session.negotiated,
                protocol: session.protocol,
                ..Session::default()
            };
            None
        }
        Command::Quit => return Ok(None),
        _ => None,
    };
    Ok(Some(reply.into_iter().collect()))
}

/// Judges the message: its untrusted hops and its domains.
///
/// The message is read on a blocking thread, within `--read-budget`: reading is CPU work,
/// and one large message must never hold up another connection's verdict. What could not
/// be checked (more domains than the cap, a message cut at the size limit, a reading past
/// its budget) is logged as a warning and, in tag mode, named in an `X-DNSBL-Unchecked`
/// header; with `--unchecked-suspicious` it counts as a listing.
async fn end_of_message(milter: &Arc<Milter>, session: &mut Session) -> Vec<Response> {
    let started = Instant::now();
    let message = std::mem::take(&mut session.message);
    let client = session.client;
    let reading = Arc::clone(milter);
    let read = tokio::task::spawn_blocking(move || reading.reader.read(&message, client));
    let mut unchecked = Vec::new();
    let targets = match read.await {
        Ok(targets) => targets,
        Err(error) => {
            warn!(queue_id = %session.queue_id, %error, "the message could not be read");
            unchecked.push("the message could not be read".to_owned());
            MessageTargets::default()
        }
    };
    if targets.capped {
        unchecked.push(format!(
            "more than {} domains or addresses",
            milter.max_domains
        ));
    }
    if session.cut {
        unchecked.push(format!("message cut at {} bytes", milter.max_message_size));
    }
    if targets.cut {
        unchecked.push(format!("reading stopped after {:?}", milter.read_budget));
    }
    let mut facts = SessionFacts::default();
    facts.hops = targets.hops;
    facts.domains = targets.domains;
    facts.hosts = targets.hosts;
    facts.emails = targets.emails;
    facts.addresses = targets.addresses;
    facts.unchecked = unchecked;
    let evaluation = milter.filter.evaluate(&facts).await;
    let mut tags: Vec<String> = session.client_tag.iter().cloned().collect();
    let last = match &evaluation.verdict {
        Verdict::Tag(text) => {
            tags.push(text.clone());
            Response::Continue
        }
        verdict => verdict_response(verdict),
    };
    log(session, "message", &evaluation, &last, started);
    let unchecked = one_line(&evaluation.unchecked.join("; "), 400);
    if !unchecked.is_empty() {
        warn!(queue_id = %session.queue_id, client = %session.client_text, unchecked = ?unchecked, "message not fully checked");
    }
    let mut responses: Vec<Response> = Vec::new();
    if last == Response::Continue && !tags.is_empty() {
        responses.push(Response::AddHeader {
            name: "X-DNSBL".into(),
            value: tags.join("; "),
        });
    }
    if last == Response::Continue && milter.tag_only && !unchecked.is_empty() {
        responses.push(Response::AddHeader {
            name: "X-DNSBL-Unchecked".into(),
            value: unchecked,
        });
    }
    responses.push(last);
    responses
}

/// The response for a verdict: a reply code to reject or tempfail, else go on.
fn verdict_response(verdict: &Verdict) -> Response {
    match verdict {
        Verdict::Reject(text) => Response::reply_code(550, "5.7.1", text),
        Verdict::Tempfail(text) => Response::reply_code(451, "4.7.1", text),
        _ => Response::Continue,
    }
}

/// The one log line of a decision. Message-supplied text is quoted and escaped.
fn log(session: &Session, stage: &str, e: &Evaluation, response: &Response, started: Instant) {
    // Milliseconds to one decimal.
    let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    let action = match response {
        Response::ReplyCode(text) => text.replace("%%", "%"),
        Response::Continue if matches!(e.verdict, Verdict::Tag(_)) => "tag".into(),
        _ => "continue".into(),
    };
    info!(
        client = %session.client_text,
        queue_id = %session.queue_id,
        stage,
        checked = ?e.checked.join(" "),
        listed = ?e.listed.join(", "),
        trouble = ?e.trouble.join(", "),
        note = %e.note.unwrap_or("-"),
        action = ?action,
        ms,
        "decision"
    );
}
