//! What the two mail-filter servers (`dnsbl-policyd`, `dnsbl-milter`) share: listening on TCP
//! or a Unix socket, a bounded number of connections, graceful shutdown on SIGTERM/SIGINT,
//! and the background probe of the lists' health.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use dnsbl_check::config::parse_seconds;
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::resolver::cache::AnswerCache;
use dnsbl_check::resolver::cache::CacheConfig;
use dnsbl_check::{Checker, TxtLookup, Zone};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};
use tracing::{debug, info, warn};

use crate::common::{ListOptions, Transport};

/// How long to wait for work in flight at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The resolver every lookup goes through: one cache, shared by the checker and FCrDNS.
pub type Resolver = Arc<AnswerCache<AnyResolver>>;

/// How the servers check: the transport, the deadline, the cache and the health probes.
#[derive(clap::Args)]
pub struct CheckOptions {
    /// How DNS queries travel: hickory-resolver's stock transport (a new socket, so a new
    /// random source port, per query), or a few long-lived UDP sockets (less work per query).
    #[arg(long, value_enum, default_value_t = Transport::Hickory)]
    pub transport: Transport,

    /// Seconds all lookups for one request may take together [default: room for every try of
    /// the health probe and the A and TXT queries].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub deadline: Option<Duration>,

    /// The most DNS answers cached.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub cache_size: u64,

    /// The shortest time an answer is cached, in seconds, whatever its TTL.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub cache_min_ttl: Duration,

    /// The longest time an answer is cached, in seconds, whatever its TTL.
    #[arg(long, value_name = "SECS", default_value = "3600", value_parser = parse_seconds)]
    pub cache_max_ttl: Duration,

    /// Seconds between probes of the lists' RFC 5782 test points [default: 300].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub health_interval: Option<Duration>,
}

/// A checker built from the options, with what the servers need to know about it.
pub struct Setup {
    pub checker: Checker<Resolver>,
    pub deadline: Duration,
    pub health_interval: Duration,
}

impl CheckOptions {
    /// The checker: the lists and resolver of `lists`, one TTL-aware cache in front of the
    /// resolver, TXT asked with A.
    pub fn setup(&self, lists: &ListOptions) -> Result<Setup, String> {
        let config = lists.config()?;
        // Ask for TXT with the A query unless the config file says otherwise: a listed
        // client then costs one round trip, not two; the extra TXT answers for clean
        // clients are cached like the rest.
        let txt = config.fetch_txt.unwrap_or(TxtLookup::WithA);
        let deadline = lists.deadline(&config, self.deadline, txt);
        let health_interval = self
            .health_interval
            .or(config.health_interval)
            .unwrap_or(Duration::from_secs(300));
        let cache = CacheConfig::default()
            .max_entries(self.cache_size)
            .min_ttl(self.cache_min_ttl)
            .max_ttl(self.cache_max_ttl);
        let resolver = lists.resolver(&config, self.transport)?;
        // Mirrored zones are answered in-process and reloaded within seconds: never cached.
        let mirrored = resolver.mirrored_zones();
        let resolver = Arc::new(AnswerCache::new(resolver, cache).pass_through(mirrored));
        let list_set = lists.lists(&config)?;
        // File settings over the defaults, command-line flags over both.
        let defaults = Checker::builder().lists(list_set).txt_lookup(txt);
        let mut builder = config.apply_to_checker(defaults);
        if let Some(threshold) = lists.threshold {
            builder = builder.threshold(threshold);
        }
        let checker = builder
            .deadline(deadline)
            // A little under the probe task's period, so that each of its rounds finds the
            // last probe stale and probes again.
            .health_interval(health_interval.mul_f64(0.95))
            .build_with(resolver)
            .map_err(|error| error.to_string())?;
        Ok(Setup {
            checker,
            deadline,
            health_interval,
        })
    }
}

/// Runs `server` on a multi-threaded runtime: exit status 0 when it returns `Ok`, 1 (with
/// the error logged) otherwise.
pub fn block_on(server: impl Future<Output = Result<(), String>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Where to listen.
#[derive(Debug, Clone)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

pub fn parse_listen(text: &str) -> Result<Listen, String> {
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

pub fn parse_mode(text: &str) -> Result<u32, String> {
    match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!("{text:?} is not an octal mode such as 660")),
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

/// Who is at the other end: `key` counts towards the per-peer cap (an IP address, or a
/// user id on a Unix socket), `name` is logged.
struct Peer {
    key: String,
    name: String,
}

/// An accepted connection, on either kind of socket.
pub enum Connection {
    Tcp(TcpStream),
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

    /// A connection and its peer.
    async fn accept(&self) -> io::Result<(Connection, Peer)> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                // Replies are small and awaited one at a time: send them at once.
                let _ = stream.set_nodelay(true);
                let peer = Peer {
                    key: peer.ip().to_string(),
                    name: peer.to_string(),
                };
                Ok((Connection::Tcp(stream), peer))
            }
            Listener::Unix(listener, _) => {
                let stream = listener.accept().await?.0;
                let key = stream
                    .peer_cred()
                    .map_or_else(|_| "unix".to_owned(), |cred| format!("uid {}", cred.uid()));
                let peer = Peer {
                    name: format!("unix ({key})"),
                    key,
                };
                Ok((Connection::Unix(stream), peer))
            }
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

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            Connection::Unix(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            Connection::Unix(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            Connection::Unix(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            Connection::Unix(stream) => Pin::new(stream).poll_shutdown(cx),
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

/// How many connections are served, in all and per peer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most connections at once.
    pub max: usize,
    /// The most connections at once from one peer (an IP address, or a user on a Unix
    /// socket).
    pub per_peer: usize,
}

/// The connections being served: who they are from, and since when they wait for input.
///
/// A new connection is accepted first, then given a slot: at a cap (in all, or for its
/// peer), an idle connection (of all, or of that peer) is closed to make room: one that has
/// never sent a request (or milter negotiation) first, the longest idle of those; else the
/// longest idle of the others, with a warning, since that may cut short a session of the
/// MTA's. Idle connections can thus never lock out a new one; only when every connection is
/// in the middle of a decision is the new one closed at once.
struct Slots {
    limits: Limits,
    inner: Mutex<SlotsInner>,
}

#[derive(Default)]
struct SlotsInner {
    next_id: u64,
    entries: HashMap<u64, SlotEntry>,
    per_peer: HashMap<String, usize>,
}

struct SlotEntry {
    peer: String,
    /// Since when the connection waits for input; `None` while it is deciding.
    idle_since: Option<Instant>,
    /// Whether the peer has sent a whole request (or negotiated): an MTA does so at once.
    proven: bool,
    /// Ends the connection's task.
    abort: Option<AbortHandle>,
}

/// One connection's slot: dropped when the connection ends.
pub struct Slot {
    id: u64,
    slots: Arc<Slots>,
}

impl Slot {
    /// The connection waits for input: it may be closed to make room for a new one.
    pub fn idle(&self) {
        let mut inner = self.slots.lock();
        if let Some(entry) = inner.entries.get_mut(&self.id) {
            entry.idle_since = Some(Instant::now());
        }
    }

    /// The connection is deciding: it is not closed to make room. Its peer has sent a whole
    /// request, as an MTA does at once: from now on it is closed to make room only after
    /// those that never have.
    pub fn busy(&self) {
        let mut inner = self.slots.lock();
        if let Some(entry) = inner.entries.get_mut(&self.id) {
            entry.idle_since = None;
            entry.proven = true;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().remove(self.id);
    }
}

impl SlotsInner {
    fn remove(&mut self, id: u64) -> Option<SlotEntry> {
        let entry = self.entries.remove(&id)?;
        if let Some(count) = self.per_peer.get_mut(&entry.peer) {
            *count -= 1;
            if *count == 0 {
                self.per_peer.remove(&entry.peer);
            }
        }
        Some(entry)
    }

    /// The idle connection (of `peer`, or of anyone) to close first: of those never
    /// proven, else of all, the one that has waited longest for input.
    fn oldest_idle(&self, peer: Option<&str>) -> Option<u64> {
        self.entries
            .iter()
            .filter(|(_, entry)| peer.is_none_or(|peer| entry.peer == peer))
            .filter_map(|(id, entry)| entry.idle_since.map(|since| (entry.proven, since, *id)))
            .min()
            .map(|(_, _, id)| id)
    }

    /// Closes connection `id` to make room: its task is ended by the caller, outside the
    /// lock.
    fn evict(&mut self, id: u64, evicted: &mut Vec<AbortHandle>) {
        if let Some(entry) = self.remove(id) {
            if entry.proven {
                warn!(
                    peer = %entry.peer,
                    "at the connection cap: closed an idle connection that had been used; \
                     the MTA applies its default action to a session cut short"
                );
            }
            evicted.extend(entry.abort);
        }
    }
}

/// What [`Slots::admit`] decided.
enum Admission {
    /// Served, in this slot; the connections in `evicted` are to be closed.
    Admitted(Slot, Vec<AbortHandle>),
    /// Not served: every connection in the way is deciding.
    Refused(&'static str),
}

impl Slots {
    fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Slots {
            limits,
            inner: Mutex::new(SlotsInner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotsInner> {
        // A panic elsewhere while holding the lock leaves the map consistent enough.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for a new connection from `peer`, making room by closing the longest idle
    /// connections (of that peer at its cap, else of anyone at the total cap).
    fn admit(self: &Arc<Self>, peer: &str) -> Admission {
        let mut inner = self.lock();
        let mut evicted = Vec::new();
        if inner.per_peer.get(peer).copied().unwrap_or(0) >= self.limits.per_peer {
            match inner.oldest_idle(Some(peer)) {
                Some(id) => inner.evict(id, &mut evicted),
                None => return Admission::Refused("every connection of this peer is busy"),
            }
        }
        if inner.entries.len() >= self.limits.max {
            match inner.oldest_idle(None) {
                Some(id) => inner.evict(id, &mut evicted),
                None => return Admission::Refused("every connection is busy"),
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.insert(
            id,
            SlotEntry {
                peer: peer.to_owned(),
                idle_since: Some(Instant::now()),
                proven: false,
                abort: None,
            },
        );
        *inner.per_peer.entry(peer.to_owned()).or_default() += 1;
        let slot = Slot {
            id,
            slots: Arc::clone(self),
        };
        Admission::Admitted(slot, evicted)
    }

    /// Notes how to end the task serving slot `id`.
    fn set_abort(&self, id: u64, abort: AbortHandle) {
        if let Some(entry) = self.lock().entries.get_mut(&id) {
            entry.abort = Some(abort);
        }
    }
}

/// Logs the lists, probes their health every `health_interval` in the background, and serves
/// connections until stopped ([`serve_until_stopped`]).
pub async fn serve_with_health<F, Fut>(
    checker: &Checker<Resolver>,
    health_interval: Duration,
    listen: &Listen,
    mode: u32,
    limits: Limits,
    serve: F,
) -> Result<(), String>
where
    F: Fn(Connection, String, Slot, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    log_lists(checker);
    let health = tokio::spawn(watch_health(checker.clone(), health_interval));
    let served = serve_until_stopped(listen, mode, limits, serve).await;
    health.abort();
    served
}

/// Serves connections until SIGTERM or SIGINT, with `serve` called once per connection (with
/// the peer's name, its [`Slot`] and a flag that turns true at shutdown), within `limits`
/// (see [`Slots`]: at a cap, the longest idle connection is closed for the new one). At
/// shutdown: stop accepting, give the connections [`SHUTDOWN_GRACE`] (or until a second
/// signal) to finish what they are doing, then close them.
pub async fn serve_until_stopped<F, Fut>(
    listen: &Listen,
    mode: u32,
    limits: Limits,
    serve: F,
) -> Result<(), String>
where
    F: Fn(Connection, String, Slot, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // Signal handlers first: a SIGTERM right after start-up must shut down gracefully too.
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let listener = Listener::bind(listen, mode).await?;
    info!(address = %listener.address(), "listening");

    let (stop, stopping) = watch::channel(false);
    let slots = Slots::new(limits);
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
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((connection, peer)) => match slots.admit(&peer.key) {
                Admission::Admitted(slot, evicted) => {
                    if !evicted.is_empty() {
                        debug!(peer = %peer.name, closed = evicted.len(), "at the connection cap: closed the longest idle");
                    }
                    for abort in evicted {
                        abort.abort();
                    }
                    let id = slot.id;
                    let served = serve(connection, peer.name, slot, stopping.clone());
                    let abort = connections.spawn(served);
                    slots.set_abort(id, abort);
                }
                Admission::Refused(why) => {
                    warn!(peer = %peer.name, why, "at the connection cap: new connection closed");
                    drop(connection);
                }
            },
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

/// Logs the lists, by name and public zone.
fn log_lists(checker: &Checker<Resolver>) {
    let lists: Vec<String> = checker
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
}

/// Probes every list's test points every `interval`. The library logs each change of a
/// list's health once: at error level for a list it no longer trusts (its answers become
/// trouble: never a DUNNO on its word), warn for a list used unproven or a failed probe, info
/// for a recovery.
async fn watch_health(checker: Checker<Resolver>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for (list, health) in checker.refresh_health().await {
            let zone = list.zone().public_name();
            debug!(list = list.name(), zone, %health, untrusted = health.is_untrusted(), "list health");
        }
    }
}

/// Logs to stderr: info by default, warnings only with `-q`, debug and trace with `-v`, `-vv`;
/// RUST_LOG overrides. `program` is the server's log target (`dnsbl_policyd`). The DQS key
/// is scrubbed from every line, whoever wrote it.
pub fn init_tracing(program: &str, verbose: u8, quiet: bool, keyed_zones: Vec<Zone>) {
    let default = match (quiet, verbose) {
        (true, _) => "warn".to_owned(),
        (false, 0) => format!("warn,{program}=info"),
        (false, 1) => format!("info,{program}=debug,dnsbl_check=debug"),
        (false, _) => format!("debug,{program}=trace,dnsbl_check=trace"),
    };
    crate::common::init_logging(&default, keyed_zones);
}
