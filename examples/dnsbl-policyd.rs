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
//!   answer is `DUNNO`) unless `--check-local` is given. `client_address=unknown` is not
//!   checked against IP lists.
//! - With `--check-helo`, `--check-client-name`, `--check-sender-domain` (or `--check-domains`
//!   for all three): `helo_name`, `client_name` (not `unknown`) and the domain of `sender`
//!   (not for the null sender) against the domain lists. Address literals and names without
//!   a dot are not checked.
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
//! affected. A connection idle for `--idle-timeout` (default 600 s, longer than Postfix's
//! `smtpd_policy_service_max_idle` of 300 s, so that Postfix closes first) is closed.
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

mod common;

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use common::{ListOptions, Transport, init_logging};
use dnsbl_check::config::parse_seconds;
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::resolver::cache::{AnswerCache, CacheConfig};
use dnsbl_check::{
    Checker, ListHealth, Report, ReverseDns, Target, TxtLookup, Zone, forward_confirmed_reverse_dns,
};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

/// The longest request line accepted. Postfix attributes (certificate names, SASL names)
/// can be long, but never this long.
const MAX_LINE: usize = 4096;
/// The most attributes in one request (Postfix 3.7 sends about 40).
const MAX_ATTRIBUTES: usize = 128;
/// The most bytes in one request.
const MAX_REQUEST: usize = 64 * 1024;
/// The longest TXT reason quoted in a reply.
const MAX_REASON: usize = 200;
/// The longest action text (an SMTP reply line is at most 512 octets, and Postfix adds its
/// own prefix and the recipient to it).
const MAX_ACTION: usize = 400;
/// How long to wait for requests in flight at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

const FAIL_CLOSED_ACTION: &str =
    "DEFER_IF_PERMIT Service temporarily unavailable; DNS list lookups failed";

/// A Postfix SMTP access policy server: rejects (or tags) clients listed on DNS blocklists.
// Not `Debug`: the struct holds the DQS key, which must never be printed.
#[derive(Parser)]
#[command(name = "dnsbl-policyd", version)]
struct Cli {
    /// Where to listen: ADDR:PORT for TCP, or a Unix socket path (anything containing '/').
    #[arg(long, value_name = "ADDR:PORT|PATH", default_value = "127.0.0.1:10040", value_parser = parse_listen)]
    listen: Listen,

    /// Permissions of a Unix socket, in octal (the directory should restrict access, as
    /// Postfix's private/ does).
    #[arg(long, value_name = "OCTAL", default_value = "666", value_parser = parse_mode)]
    socket_mode: u32,

    #[command(flatten)]
    lists: ListOptions,

    /// How DNS queries travel: hickory-resolver's stock transport (a new socket, so a new
    /// random source port, per query), or a few long-lived UDP sockets (less work per query).
    #[arg(long, value_enum, default_value_t = Transport::Hickory)]
    transport: Transport,

    /// Seconds all lookups for one request may take together [default: room for every try of
    /// the health probe and the A and TXT queries].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    deadline: Option<Duration>,

    /// Answer PREPEND X-DNSBL: ... instead of REJECT, for filters that score later.
    #[arg(long)]
    tag_only: bool,

    /// When lookups fail and nothing is listed, answer DEFER_IF_PERMIT instead of DUNNO.
    #[arg(long)]
    fail_closed: bool,

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

    /// Check loopback, private, link-local and unspecified client addresses too.
    #[arg(long)]
    check_local: bool,

    /// The most DNS answers cached.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    cache_size: u64,

    /// The shortest time an answer is cached, in seconds, whatever its TTL.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    cache_min_ttl: Duration,

    /// The longest time an answer is cached, in seconds, whatever its TTL.
    #[arg(long, value_name = "SECS", default_value = "3600", value_parser = parse_seconds)]
    cache_max_ttl: Duration,

    /// Seconds between probes of the lists' RFC 5782 test points [default: 300].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    health_interval: Option<Duration>,

    /// Seconds a connection may stay idle before it is closed.
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = parse_seconds)]
    idle_timeout: Duration,

    /// The most connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,

    /// Log warnings and errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,

    /// Log more (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// Where to listen.
#[derive(Debug, Clone)]
enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

fn parse_listen(text: &str) -> Result<Listen, String> {
    if text.contains('/') {
        return Ok(Listen::Unix(PathBuf::from(text)));
    }
    text.parse().map(Listen::Tcp).map_err(|_| {
        format!(
            "{text:?} is neither ADDR:PORT (127.0.0.1:10040, [::1]:10040) nor a socket path \
             (which must contain '/', e.g. ./policy.sock)"
        )
    })
}

fn parse_mode(text: &str) -> Result<u32, String> {
    match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!("{text:?} is not an octal mode such as 660")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let policy = match Policy::new(&cli) {
        Ok(policy) => Arc::new(policy),
        // Clap's usage errors exit with status 2, as all setup errors should.
        Err(message) => Cli::command()
            .error(ErrorKind::InvalidValue, message)
            .exit(),
    };
    init_tracing(cli.verbose, cli.quiet, policy.keyed_zones.clone());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli, policy)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error!("{error}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Setup: lists, resolver, cache, checker.

/// The resolver every lookup goes through: one cache, shared by the checker and FCrDNS.
type Resolver = Arc<AnswerCache<AnyResolver>>;

/// What to check and how to answer, shared by every connection.
struct Policy {
    checker: Checker<Resolver>,
    resolver: Resolver,
    deadline: Duration,
    tag_only: bool,
    fail_closed: bool,
    require_fcrdns: bool,
    check_helo: bool,
    check_client_name: bool,
    check_sender_domain: bool,
    check_local: bool,
    ip_lists: bool,
    domain_lists: bool,
    /// How often the lists' test points are probed.
    health_interval: Duration,
    /// The zones with a DQS key, whose keys are scrubbed from logs and (as a last line of
    /// defence) from replies.
    keyed_zones: Vec<Zone>,
}

impl Policy {
    fn new(cli: &Cli) -> Result<Self, String> {
        let config = cli.lists.config()?;
        let lists = cli.lists.lists(&config)?;
        // Ask for TXT with the A query unless the config says otherwise: a listed client then
        // costs one round trip, not two; the extra TXT answers for clean clients are cached
        // like the rest.
        let txt = config.fetch_txt.unwrap_or(TxtLookup::WithA);
        let deadline = cli.lists.deadline(&config, cli.deadline, txt);
        let health_interval = cli
            .health_interval
            .or(config.health_interval)
            .unwrap_or(Duration::from_secs(300));
        let cache = CacheConfig::default()
            .max_entries(cli.cache_size)
            .min_ttl(cli.cache_min_ttl)
            .max_ttl(cli.cache_max_ttl);
        let resolver = Arc::new(AnswerCache::new(
            cli.lists.resolver(&config, cli.transport)?,
            cache,
        ));
        let ip_lists = lists.iter().any(|list| list.kind().is_ip());
        let domain_lists = lists.iter().any(|list| !list.kind().is_ip());
        let keyed_zones = lists
            .iter()
            .map(|list| list.zone().clone())
            .filter(Zone::has_key)
            .collect();
        // File settings over the defaults, command-line flags over both.
        let defaults = Checker::builder().lists(lists).txt_lookup(txt);
        let mut builder = config.apply_to_checker(defaults);
        if let Some(threshold) = cli.lists.threshold {
            builder = builder.threshold(threshold);
        }
        let checker = builder
            .deadline(deadline)
            // A little under the probe task's period, so that each of its rounds finds the
            // last probe stale and probes again.
            .health_interval(health_interval.mul_f64(0.95))
            .build_with(Arc::clone(&resolver))
            .map_err(|error| error.to_string())?;
        Ok(Policy {
            checker,
            resolver,
            deadline,
            tag_only: cli.tag_only,
            fail_closed: cli.fail_closed,
            require_fcrdns: cli.require_fcrdns,
            check_helo: cli.check_helo || cli.check_domains,
            check_client_name: cli.check_client_name || cli.check_domains,
            check_sender_domain: cli.check_sender_domain || cli.check_domains,
            check_local: cli.check_local,
            ip_lists,
            domain_lists,
            health_interval,
            keyed_zones,
        })
    }

    fn checks_domains(&self) -> bool {
        self.check_helo || self.check_client_name || self.check_sender_domain
    }
}

// ---------------------------------------------------------------------------------------------
// Serving: the listener, the connections, shutdown.

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

enum Connection {
    Tcp(TcpStream, SocketAddr),
    Unix(UnixStream),
}

impl Listener {
    async fn bind(listen: &Listen, mode: u32) -> Result<Self, String> {
        match listen {
            Listen::Tcp(addr) => TcpListener::bind(addr)
                .await
                .map(Listener::Tcp)
                .map_err(|error| format!("cannot listen on {addr}: {error}")),
            Listen::Unix(path) => bind_unix(path, mode)
                .map(|listener| Listener::Unix(listener, path.clone()))
                .map_err(|error| format!("cannot listen on {}: {error}", path.display())),
        }
    }

    fn address(&self) -> String {
        match self {
            Listener::Tcp(listener) => listener
                .local_addr()
                .map_or_else(|_| "?".into(), |addr| addr.to_string()),
            Listener::Unix(_, path) => path.display().to_string(),
        }
    }

    async fn accept(&self) -> io::Result<Connection> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                // Replies are small and awaited one at a time: send them at once.
                let _ = stream.set_nodelay(true);
                Ok(Connection::Tcp(stream, peer))
            }
            Listener::Unix(listener, _) => Ok(Connection::Unix(listener.accept().await?.0)),
        }
    }

    /// Stops listening; a Unix socket's file is removed.
    fn close(self) {
        if let Listener::Unix(listener, path) = self {
            drop(listener);
            if let Err(error) = std::fs::remove_file(&path) {
                warn!(path = %path.display(), %error, "cannot remove the socket file");
            }
        }
    }
}

/// Binds a Unix socket, replacing a stale socket file left by a server that is gone. Refuses
/// to replace a socket a live server answers on, or a file that is not a socket.
fn bind_unix(path: &Path, mode: u32) -> io::Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another server is listening on it",
                ));
            }
            std::fs::remove_file(path)?;
            info!(path = %path.display(), "removed a stale socket file");
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way (not removed)",
            ));
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

async fn run(cli: &Cli, policy: Arc<Policy>) -> Result<(), String> {
    // Signal handlers first: a SIGTERM right after start-up must shut down gracefully too.
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let listener = Listener::bind(&cli.listen, cli.socket_mode).await?;
    log_start(&policy, &listener.address());
    let health = tokio::spawn(watch_health(policy.clone()));

    let (stop, stopping) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(cli.max_connections as usize));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = terminate.recv() => {
                info!("SIGTERM: shutting down");
                break;
            }
            _ = interrupt.recv() => {
                info!("SIGINT: shutting down");
                break;
            }
            accepted = accept(&listener, &permits) => accepted,
        };
        match accepted {
            Ok((connection, permit)) => {
                let (policy, stopping, idle) = (policy.clone(), stopping.clone(), cli.idle_timeout);
                connections.spawn(async move {
                    match connection {
                        Connection::Tcp(stream, peer) => {
                            serve(stream, peer.to_string(), &policy, stopping, idle).await;
                        }
                        Connection::Unix(stream) => {
                            serve(stream, "unix".into(), &policy, stopping, idle).await;
                        }
                    }
                    drop(permit);
                });
            }
            Err(error) => {
                // Out of file descriptors, or a connection reset before it was accepted:
                // keep serving, but do not spin.
                warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }

    listener.close();
    health.abort();
    let _ = stop.send(true);
    if !connections.is_empty() {
        info!(
            connections = connections.len(),
            "finishing the requests in flight"
        );
    }
    // A second signal does not wait any longer.
    let drained = tokio::select! {
        drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while connections.join_next().await.is_some() {}
        }) => drained.is_ok(),
        _ = terminate.recv() => false,
        _ = interrupt.recv() => false,
    };
    if !drained {
        warn!(
            connections = connections.len(),
            "closing the connections still in flight"
        );
        connections.shutdown().await;
    }
    info!("stopped");
    Ok(())
}

/// Waits for room for one more connection, then accepts it.
async fn accept(
    listener: &Listener,
    permits: &Arc<Semaphore>,
) -> io::Result<(Connection, OwnedSemaphorePermit)> {
    let permit = Arc::clone(permits)
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    Ok((listener.accept().await?, permit))
}

fn log_start(policy: &Policy, address: &str) {
    let lists: Vec<String> = policy
        .checker
        .lists()
        .map(|list| {
            let zone = list.zone().public_name();
            if list.name() == zone {
                format!("{zone} ({})", list.kind())
            } else {
                format!("{} = {zone} ({})", list.name(), list.kind())
            }
        })
        .collect();
    info!(lists = %lists.join(", "), "lists");
    if policy.checks_domains() && !policy.domain_lists {
        warn!("domain checks are on, but no domain list is configured");
    }
    if policy.ip_lists && !policy.checks_domains() && !policy.require_fcrdns {
        debug!("checking client addresses only");
    }
    info!(%address, "listening");
}

/// Probes every list's test points every `interval`, and logs the lists that are not fit.
async fn watch_health(policy: Arc<Policy>) {
    let mut ticks = tokio::time::interval(policy.health_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for (list, health) in policy.checker.refresh_health().await {
            let zone = list.zone().public_name();
            match health {
                ListHealth::Healthy | ListHealth::Unchecked => {
                    debug!(list = list.name(), zone, "list healthy")
                }
                ListHealth::Unhealthy(why) => {
                    warn!(list = list.name(), zone, %why, "list unhealthy: skipped, not trusted")
                }
                ListHealth::Broken(outcome) => warn!(
                    list = list.name(),
                    zone,
                    status = outcome.status(),
                    detail = ?outcome.detail().unwrap_or_default(),
                    "list broken: its test points get {} answers",
                    outcome.status()
                ),
                ListHealth::ProbeFailed(error) => {
                    warn!(list = list.name(), zone, %error, "list health probe failed")
                }
                ListHealth::TestPointMissing => warn!(
                    list = list.name(),
                    zone, "list does not list its test point 127.0.0.2 (or 'test'): used anyway"
                ),
                other => warn!(list = list.name(), zone, health = %other, "list health"),
            }
        }
    }
}

/// What reading a request gave.
enum Read {
    Request(Attributes),
    /// The client closed the connection between requests.
    Closed,
    /// Nothing came for the idle timeout.
    Idle,
    /// Shutdown began while waiting for a request.
    Stopping,
}

/// Serves one connection: request, answer, request, answer... until the client closes, a
/// request is bad, the connection idles too long, or shutdown begins between requests.
async fn serve<S: AsyncRead + AsyncWrite>(
    stream: S,
    peer: String,
    policy: &Policy,
    mut stopping: watch::Receiver<bool>,
    idle: Duration,
) {
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::new(reader);
    // The message last tagged on this connection: Postfix asks once per recipient, and the
    // header should be added once per message.
    let mut tagged_instance: Option<String> = None;
    let mut line = Vec::with_capacity(512);
    loop {
        let request = match read_request(&mut reader, &mut line, idle, &mut stopping).await {
            Ok(Read::Request(request)) => request,
            Ok(Read::Closed) => return,
            Ok(Read::Idle) => {
                debug!(%peer, "closing an idle connection");
                return;
            }
            Ok(Read::Stopping) => return,
            Err(problem) => {
                warn!(%peer, %problem, "bad request: closing the connection");
                return;
            }
        };
        let started = Instant::now();
        let mut decision = match decide(policy, &request).await {
            Ok(decision) => decision,
            Err(problem) => {
                warn!(%peer, %problem, "bad request: closing the connection");
                return;
            }
        };
        if decision.tag {
            let instance = request.instance.as_deref().filter(|id| !id.is_empty());
            if instance.is_some() && instance == tagged_instance.as_deref() {
                decision.action = "DUNNO".into();
                decision.note = Some("already tagged for this message");
            } else {
                tagged_instance = instance.map(str::to_owned);
            }
        }
        let reply = format!("action={}\n\n", decision.action);
        let written = tokio::time::timeout(idle, async {
            writer.write_all(reply.as_bytes()).await?;
            writer.flush().await
        })
        .await;
        decision.log(&peer, started.elapsed());
        match written {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                debug!(%peer, %error, "cannot send the answer");
                return;
            }
            Err(_) => {
                debug!(%peer, "the client does not read its answer");
                return;
            }
        }
        if *stopping.borrow() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The protocol: reading requests.

/// The attributes of a request that this server uses; the others are read and ignored, as
/// the protocol asks.
#[derive(Debug, Default)]
struct Attributes {
    request: Option<String>,
    client_address: Option<String>,
    client_name: Option<String>,
    helo_name: Option<String>,
    sender: Option<String>,
    instance: Option<String>,
}

impl Attributes {
    fn set(&mut self, name: &str, value: &str) {
        let slot = match name {
            "request" => &mut self.request,
            "client_address" => &mut self.client_address,
            "client_name" => &mut self.client_name,
            "helo_name" => &mut self.helo_name,
            "sender" => &mut self.sender,
            "instance" => &mut self.instance,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }
}

/// Reads one request, up to its empty line, with `line` as the buffer.
///
/// Shutdown and the idle timeout end the wait for a request's first line. Once a request has
/// begun, it is read to its end (within the idle timeout), so that shutdown never cuts a
/// request in half.
async fn read_request<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    idle: Duration,
    stopping: &mut watch::Receiver<bool>,
) -> Result<Read, String> {
    line.clear();
    let first = tokio::select! {
        biased;
        read = tokio::time::timeout(idle, read_line(reader, line)) => read,
        _ = stopping.wait_for(|stop| *stop) => return Ok(Read::Stopping),
    };
    match first {
        Err(_) => return Ok(Read::Idle),
        Ok(Ok(false)) => return Ok(Read::Closed),
        Ok(read) => read?,
    };
    tokio::time::timeout(idle, read_rest(reader, line))
        .await
        .map_err(|_| "timed out in the middle of a request".to_owned())?
        .map(Read::Request)
}

/// Reads the rest of a request whose first line is in `line`.
async fn read_rest<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> Result<Attributes, String> {
    let mut attributes = Attributes::default();
    let (mut count, mut size) = (0, 0);
    loop {
        size += line.len() + 1;
        if size > MAX_REQUEST {
            return Err(format!("request longer than {MAX_REQUEST} bytes"));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            if count == 0 {
                return Err("empty request".into());
            }
            return Ok(attributes);
        }
        count += 1;
        if count > MAX_ATTRIBUTES {
            return Err(format!("more than {MAX_ATTRIBUTES} attributes"));
        }
        let text = std::str::from_utf8(line).map_err(|_| "line is not UTF-8".to_owned())?;
        let Some((name, value)) = text.split_once('=') else {
            return Err(format!("line without '=': {:?}", shorten(text, 60)));
        };
        if name.is_empty() {
            return Err("attribute without a name".into());
        }
        attributes.set(name, value);
        line.clear();
        if !read_line(reader, line).await? {
            return Err("connection closed in the middle of a request".into());
        }
    }
}

/// Reads one line into `line`, without its `\n`. `Ok(false)` at the end of input before any
/// byte; a line cut short by the end of input, or longer than [`MAX_LINE`], is an error.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> Result<bool, String> {
    loop {
        let available = reader
            .fill_buf()
            .await
            .map_err(|error| format!("read error: {error}"))?;
        if available.is_empty() {
            return match line.is_empty() {
                true => Ok(false),
                false => Err("connection closed in the middle of a line".into()),
            };
        }
        let (take, done) = match available.iter().position(|&byte| byte == b'\n') {
            Some(end) => (end, true),
            None => (available.len(), false),
        };
        if line.len() + take > MAX_LINE {
            return Err(format!("line longer than {MAX_LINE} bytes"));
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(take + usize::from(done));
        if done {
            return Ok(true);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions.

/// What one request was answered, and what to log about it.
struct Decision {
    action: String,
    /// Whether the action is a tag (PREPEND), to be given once per message.
    tag: bool,
    client: String,
    checked: Vec<String>,
    listed: Vec<String>,
    trouble: Vec<String>,
    fcrdns: Option<&'static str>,
    note: Option<&'static str>,
}

impl Decision {
    fn new(client: &str) -> Self {
        Decision {
            action: "DUNNO".into(),
            tag: false,
            client: client.to_owned(),
            checked: Vec::new(),
            listed: Vec::new(),
            trouble: Vec::new(),
            fcrdns: None,
            note: None,
        }
    }

    fn noted(client: &str, note: &'static str) -> Self {
        Decision {
            note: Some(note),
            ..Decision::new(client)
        }
    }

    /// The one log line of a decision. Client-supplied text is quoted and escaped.
    fn log(&self, peer: &str, elapsed: Duration) {
        // Milliseconds to one decimal.
        let ms = (elapsed.as_secs_f64() * 10_000.0).round() / 10.0;
        info!(
            peer,
            client = ?self.client,
            checked = ?self.checked.join(" "),
            listed = ?self.listed.join(", "),
            trouble = ?self.trouble.join(", "),
            fcrdns = %self.fcrdns.unwrap_or("-"),
            note = %self.note.unwrap_or("-"),
            action = ?self.action,
            ms,
            "decision"
        );
    }
}

/// What a domain checked against the domain lists was.
#[derive(Clone, Copy)]
enum Role {
    Client,
    Helo,
    ClientName,
    SenderDomain,
}

impl Role {
    fn describe(self, target: &Target) -> String {
        match self {
            Role::Client => format!("client [{target}]"),
            Role::Helo => format!("helo name {target}"),
            Role::ClientName => format!("client name {target}"),
            Role::SenderDomain => format!("sender domain {target}"),
        }
    }

    /// How a target is named in a tag header: a client address by itself.
    fn subject(self, target: &Target) -> String {
        match self {
            Role::Client => target.to_string(),
            _ => self.describe(target),
        }
    }
}

/// Answers one request. A request that cannot be answered is a bad request.
async fn decide(policy: &Policy, request: &Attributes) -> Result<Decision, String> {
    let kind = request.request.as_deref().unwrap_or_default();
    if kind != "smtpd_access_policy" {
        return Ok(Decision::noted("-", "request type not handled"));
    }
    let Some(client_text) = request.client_address.as_deref() else {
        return Err("smtpd_access_policy request without client_address".into());
    };
    let client = parse_client(client_text);
    let mut decision = Decision::new(client_text);
    if let Some(ip) = client
        && !policy.check_local
        && is_local(ip)
    {
        decision.note = Some("local client not checked");
        return Ok(decision);
    }

    let mut targets: Vec<(Role, Target)> = Vec::new();
    if let Some(ip) = client.filter(|_| policy.ip_lists) {
        targets.push((Role::Client, Target::ip(ip)));
    }
    if policy.domain_lists {
        let names = [
            (policy.check_helo, Role::Helo, request.helo_name.as_deref()),
            (
                policy.check_client_name,
                Role::ClientName,
                request.client_name.as_deref(),
            ),
            (
                policy.check_sender_domain,
                Role::SenderDomain,
                request
                    .sender
                    .as_deref()
                    .and_then(|sender| sender.rsplit_once('@'))
                    .map(|(_, domain)| domain),
            ),
        ];
        for (wanted, role, name) in names {
            let Some(target) = name.filter(|_| wanted).and_then(domain_target) else {
                continue;
            };
            // The same name as HELO, host name and sender domain is asked about once.
            if !targets.iter().any(|(_, known)| *known == target) {
                targets.push((role, target));
            }
        }
    }
    decision.checked = targets
        .iter()
        .map(|(role, target)| role.describe(target))
        .collect();

    let checks = futures::future::join_all(
        targets
            .iter()
            .map(|(_, target)| policy.checker.check(target.clone())),
    );
    let fcrdns = async {
        match client {
            Some(ip) if policy.require_fcrdns => Some(
                tokio::time::timeout(
                    policy.deadline,
                    forward_confirmed_reverse_dns(&policy.resolver, ip),
                )
                .await
                .ok(),
            ),
            _ => None,
        }
    };
    let (reports, fcrdns) = futures::join!(checks, fcrdns);

    // Listings first: each is a reason to reject (or tag), and the first one named.
    let mut rejections = Vec::new();
    let mut tags = Vec::new();
    let mut trouble = false;
    for ((role, _), report) in targets.iter().zip(&reports) {
        note_results(&mut decision, report);
        trouble |= report.has_trouble();
        if report.listed {
            let (reject, tag) = listing_texts(*role, report);
            rejections.push(reject);
            tags.push(tag);
        }
    }
    if let (Some(rdns), Some(ip)) = (fcrdns, client) {
        match rdns {
            Some(ReverseDns::Confirmed(_)) => decision.fcrdns = Some("confirmed"),
            Some(ReverseDns::Failed(error)) => {
                decision.fcrdns = Some("failed");
                decision.trouble.push(format!("fcrdns: {error}"));
                trouble = true;
            }
            None => {
                decision.fcrdns = Some("failed");
                decision.trouble.push("fcrdns: deadline reached".into());
                trouble = true;
            }
            Some(other) => {
                decision.fcrdns = Some(other.status());
                rejections.push(format!(
                    "Service unavailable; client [{ip}] has no forward-confirmed reverse DNS: {}",
                    clean(&other.to_string(), MAX_REASON)
                ));
                tags.push(format!("{ip} has no forward-confirmed reverse DNS"));
            }
        }
    }

    decision.action = if policy.tag_only && !tags.is_empty() {
        decision.tag = true;
        format!("PREPEND X-DNSBL: {}", tags.join("; "))
    } else if let Some(first) = rejections.into_iter().next() {
        format!("REJECT {first}")
    } else if trouble && policy.fail_closed {
        FAIL_CLOSED_ACTION.into()
    } else {
        "DUNNO".into()
    };
    decision.action = clean(&decision.action, MAX_ACTION);
    for zone in &policy.keyed_zones {
        decision.action = zone.redact(&decision.action).into_owned();
    }
    Ok(decision)
}

/// The client address as Postfix sends it (`192.0.2.1`, `2001:db8::1`, sometimes with an
/// `IPv6:` prefix); `None` for `unknown` and anything else that is not an address.
fn parse_client(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = match text.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("ipv6:") => &text[5..],
        _ => text,
    };
    text.parse().ok()
}

/// Loopback, private (RFC 1918, `fc00::/7`), link-local and unspecified addresses, and the
/// IPv4-mapped forms of the IPv4 ones: the MTA's own network, on no public list.
fn is_local(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
        }
    }
}

/// A host or domain name worth asking a domain list about: not `unknown`, not an address or
/// address literal, not a single label.
fn domain_target(name: &str) -> Option<Target> {
    let name = name.trim().trim_end_matches('.');
    if name.eq_ignore_ascii_case("unknown")
        || name.starts_with('[')
        || name.parse::<IpAddr>().is_ok()
        || !name.contains('.')
    {
        return None;
    }
    Target::domain(name).ok()
}

/// Notes a report's listings and trouble in the decision's log fields.
fn note_results(decision: &mut Decision, report: &Report) {
    for (result, listing) in report.listings() {
        let mut hit = format!("{} {}", report.target, result.zone.public_name());
        if !listing.categories.is_empty() {
            let _ = write!(hit, " ({})", listing.categories.join(", "));
        }
        decision.listed.push(hit);
    }
    for result in report.results.iter().filter(|r| r.outcome.is_trouble()) {
        decision.trouble.push(format!(
            "{} {}: {}",
            report.target,
            result.zone.public_name(),
            result
                .outcome
                .detail()
                .unwrap_or_else(|| result.outcome.status().to_owned())
        ));
    }
}

/// The REJECT text and the tag text for a listed target. Lists are named by their public
/// zone, those that count towards the verdict first; the reason is the first list's.
fn listing_texts(role: Role, report: &Report) -> (String, String) {
    let mut hits: Vec<_> = report
        .listings()
        .filter(|(result, _)| result.weight > 0)
        .collect();
    if hits.is_empty() {
        hits = report.listings().collect();
    }
    let zones: Vec<&str> = hits
        .iter()
        .map(|(result, _)| result.zone.public_name())
        .collect();
    let mut reject = format!(
        "Service unavailable; {} blocked using {}",
        role.describe(&report.target),
        zones.join(", ")
    );
    let reason = hits
        .iter()
        .flat_map(|(_, listing)| listing.reasons.iter())
        .map(|reason| clean(reason, MAX_REASON))
        .find(|reason| !reason.is_empty());
    if let Some(reason) = reason {
        let _ = write!(reject, "; {reason}");
    }
    let described: Vec<String> = hits
        .iter()
        .map(|(result, listing)| {
            let zone = result.zone.public_name();
            let what: Vec<String> = if listing.categories.is_empty() {
                listing.codes.iter().map(ToString::to_string).collect()
            } else {
                listing.categories.clone()
            };
            format!("{zone} ({})", what.join(", "))
        })
        .collect();
    let tag = format!(
        "{} listed by {}",
        role.subject(&report.target),
        described.join(", ")
    );
    (reject, tag)
}

/// `text` as one line of printable ASCII: control characters (CR and LF included) and runs of
/// white space become one space, other characters `?`; at most `max` bytes, `...` marking a
/// cut.
fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(if c.is_ascii_graphic() { c } else { '?' });
    }
    shorten(&out, max)
}

/// At most `max` bytes of `text`, with `...` marking a cut.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

// ---------------------------------------------------------------------------------------------
// Logging.

/// Logs to stderr: info by default, warnings only with `-q`, debug and trace with `-v`, `-vv`;
/// RUST_LOG overrides. The DQS key is scrubbed from every line, whoever wrote it.
fn init_tracing(verbose: u8, quiet: bool, keyed_zones: Vec<Zone>) {
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "warn,dnsbl_policyd=info",
        (false, 1) => "info,dnsbl_policyd=debug,dnsbl_check=debug",
        (false, _) => "debug,dnsbl_policyd=trace,dnsbl_check=trace",
    };
    init_logging(default, keyed_zones);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_makes_one_short_printable_line() {
        assert_eq!(clean("a\r\nb\tc  d\x07e", 100), "a b c d e");
        assert_eq!(clean("  caf\u{e9}  ", 100), "caf?");
        assert_eq!(
            clean(&"x".repeat(500), 20),
            format!("{}...", "x".repeat(17))
        );
    }

    #[test]
    fn local_addresses() {
        for local in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_local(local.parse().unwrap()), "{local}");
        }
        for public in ["192.0.2.1", "8.8.8.8", "2001:db8::1", "::ffff:192.0.2.1"] {
            assert!(!is_local(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn client_addresses_and_domains() {
        assert_eq!(parse_client("IPv6:2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_client("unknown"), None);
        assert!(domain_target("mail.example.com.").is_some());
        for skipped in ["unknown", "[192.0.2.1]", "192.0.2.1", "localhost", ""] {
            assert!(domain_target(skipped).is_none(), "{skipped}");
        }
    }
}
