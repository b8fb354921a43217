//! The default DNS backend: hickory-resolver, configured for DNS list lookups.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::{
    DnsUdpSocket, RuntimeProvider, TokioHandle, TokioRuntimeProvider, TokioTime,
};
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::system_conf::read_system_conf;

use crate::resolver::health::{self, Health, Standing};
use crate::resolver::icmp::{ClosedPortCheck, is_icmp_hint, same_peer};
use crate::resolver::{
    Answer, DnsResolver, LookupError, LookupErrorKind, ResolverBuildError, ResolverOptions,
    clamp_ttl,
};

/// The default [`DnsResolver`]: hickory-resolver, tuned for DNS list lookups.
///
/// - hickory's own cache is off: answers are cached (if at all) by the checker, which knows
///   list TTL rules.
/// - UDP first, TCP when an answer is truncated.
/// - Each query has its own UDP socket (so its own random source port), connected to the name
///   server, so that a closed port fails the lookup at once instead of after the timeout.
/// - Names are always sent as given (absolute), so no search domain is ever appended.
/// - Each attempt waits [`timeout`](HickoryResolverBuilder::timeout). With one name server, a
///   timeout is asked again [`retries`](HickoryResolverBuilder::retries) times.
/// - With several name servers, each has a health record: its smoothed round-trip time, and a
///   back-off after it stopped answering (1 s, doubling up to a minute) during which queries
///   ask the other servers first; when the back-off ends, one query at a time probes it
///   again. With one dead server out of two, a scan pays a few timeouts, not one per query.
/// - With several name servers, every kind of trouble with one server moves the query on to
///   the next: a timeout, a confirmed closed port, a socket that could not be opened, a
///   malformed answer, and SERVFAIL, REFUSED or another error code (returned as such once
///   every server gave one). NXDOMAIN and NOERROR answers are final. Each server is asked at
///   least once before a query fails; `retries` counts the tries after the first, each on the
///   next server in turn.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::HickoryResolver;
///
/// # fn main() -> Result<(), dnsbl_check::ResolverBuildError> {
/// let resolver = HickoryResolver::builder()
///     .name_server("127.0.0.1:5353".parse()?)
///     .timeout(Duration::from_millis(1500))
///     .retries(2)
///     .build()?;
/// # let _ = resolver;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HickoryResolver {
    /// One hickory resolver with every name server when there is at most one; otherwise one
    /// per name server, in configured order, so that this resolver chooses whom to ask.
    upstreams: Arc<[Upstream]>,
    /// How long a probe of a backed-off server may run: the timeout of one attempt.
    timeout: Duration,
    /// Tries after the first, with several name servers (one server: hickory's own retries).
    retries: usize,
    /// What went wrong with sockets, which hickory's errors do not say.
    socket_trouble: Arc<SocketTrouble>,
}

/// One of [`HickoryResolver`]'s hickory resolvers and the health of its name server.
struct Upstream {
    resolver: Resolver<ConnectedUdpRuntime>,
    health: Health,
}

impl fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HickoryResolver")
            .field(
                "servers (smoothed RTT, backed off)",
                &self
                    .upstreams
                    .iter()
                    .map(|u| (u.health.srtt(), u.health.is_down()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl HickoryResolver {
    /// A builder: system configuration unless name servers are given.
    pub fn builder() -> HickoryResolverBuilder {
        HickoryResolverBuilder::default()
    }

    /// A resolver on the system configuration, with default timeout and retries.
    pub fn system() -> Result<Self, ResolverBuildError> {
        Self::builder().build()
    }
}

/// Builds a [`HickoryResolver`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct HickoryResolverBuilder {
    options: ResolverOptions,
    case_randomization: bool,
}

impl HickoryResolverBuilder {
    crate::resolver::options::option_setters!();

    /// Randomises the case of query names and drops answers that do not echo it (0x20
    /// encoding), as a defence against spoofed answers. Only for servers that preserve case.
    pub fn case_randomization(mut self, on: bool) -> Self {
        self.case_randomization = on;
        self
    }

    /// Builds the resolver. Needs a Tokio runtime only when lookups run, not here.
    pub fn build(self) -> Result<HickoryResolver, ResolverBuildError> {
        let socket_trouble = Arc::new(SocketTrouble::default());
        let provider = ConnectedUdpRuntime {
            tokio: TokioRuntimeProvider::default(),
            socket_trouble: Arc::clone(&socket_trouble),
        };
        let (config, mut options) = if self.options.uses_system_configuration() {
            read_system_conf().map_err(system_config_error)?
        } else {
            let servers = self
                .options
                .name_servers
                .iter()
                .map(|server| {
                    let port = server.addr().port();
                    let mut udp = ConnectionConfig::udp();
                    udp.port = port;
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = port;
                    NameServerConfig::new(server.addr().ip(), true, vec![udp, tcp])
                })
                .collect();
            (
                ResolverConfig::from_name_servers(servers),
                ResolverOpts::default(),
            )
        };
        // The checker caches with list-aware TTL rules; a second cache here would only hide
        // what the name server says.
        options.cache_size = 0;
        // TTLs as received, so that ours are the only rules (RFC 2181 §8 among them), not
        // hickory's cap of a day.
        let as_received = Some(Duration::from_secs(u64::from(u32::MAX)));
        options.positive_max_ttl = as_received;
        options.negative_max_ttl = as_received;
        // Names are absolute, but make sure hosts files never answer for a list zone.
        options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        options.case_randomization = self.case_randomization;
        if let Some(timeout) = self.options.timeout {
            options.timeout = timeout;
        }
        socket_trouble.set_recent(options.timeout);
        // hickory's `attempts` counts the tries after the first: retries.
        if let Some(retries) = self.options.retries {
            options.attempts = retries;
        }
        let timeout = options.timeout;
        let retries = options.attempts;
        let (domain, search, servers) = config.into_parts();
        let upstreams: Vec<Upstream> = if servers.len() <= 1 {
            let config = ResolverConfig::from_parts(domain, search, servers);
            vec![Upstream::build(config, options, provider)?]
        } else {
            // One resolver per server, each tried once: this resolver retries, on the next
            // server, and remembers which servers answer.
            options.attempts = 0;
            servers
                .into_iter()
                .map(|server| {
                    let config =
                        ResolverConfig::from_parts(domain.clone(), search.clone(), vec![server]);
                    Upstream::build(config, options.clone(), provider.clone())
                })
                .collect::<Result<_, _>>()?
        };
        Ok(HickoryResolver {
            upstreams: upstreams.into(),
            timeout,
            retries,
            socket_trouble,
        })
    }
}

impl Upstream {
    fn build(
        config: ResolverConfig,
        options: ResolverOpts,
        provider: ConnectedUdpRuntime,
    ) -> Result<Self, ResolverBuildError> {
        let mut builder = Resolver::builder_with_config(config, provider);
        *builder.options_mut() = options;
        Ok(Upstream {
            resolver: builder.build().map_err(system_config_error)?,
            health: Health::default(),
        })
    }
}

/// A system configuration hickory could not read or use, with the OS error kept if it was one.
fn system_config_error(error: NetError) -> ResolverBuildError {
    let detail = error.to_string();
    match error {
        NetError::Io(shared) => ResolverBuildError::SystemConfig {
            detail,
            source: Some(Arc::try_unwrap(shared).unwrap_or_else(
                |shared| match shared.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(shared.kind(), shared.to_string()),
                },
            )),
        },
        _ => ResolverBuildError::system_config(detail),
    }
}

impl HickoryResolver {
    async fn lookup_records(
        &self,
        name: &str,
        record_type: RecordType,
    ) -> Result<Answer<RData>, LookupError> {
        let mut name = Name::from_ascii(name).map_err(|_| {
            LookupError::with_detail(
                LookupErrorKind::Protocol,
                "query name is not a valid DNS name",
            )
        })?;
        // Absolute, always: a relative name could be completed with a search domain.
        name.set_fqdn(true);
        match &*self.upstreams {
            // One server (or the system's, when it names at most one): hickory asks and retries.
            [only] => self.ask(&only.resolver, &name, record_type).await,
            _ => self.ask_in_health_order(&name, record_type).await,
        }
    }

    /// Asks the name servers one after another, in health order, until one gives an answer
    /// (records, NXDOMAIN or NOERROR without records), and keeps their health records.
    async fn ask_in_health_order(
        &self,
        name: &Name,
        record_type: RecordType,
    ) -> Result<Answer<RData>, LookupError> {
        let mut order: Vec<(usize, Standing)> = self
            .upstreams
            .iter()
            .enumerate()
            .map(|(index, upstream)| (index, upstream.health.standing(self.timeout)))
            .collect();
        // Stable: servers of the same standing keep their configured order.
        order.sort_by_key(|&(_, standing)| standing.rank());
        let mut last_error = LookupError::new(LookupErrorKind::Timeout);
        for (attempt, index, standing) in health::tries(&order, self.retries) {
            let upstream = &self.upstreams[index];
            let started = Instant::now();
            let error = match self.ask(&upstream.resolver, name, record_type).await {
                Err(error) => error,
                answer => {
                    upstream.health.answered(Some(started.elapsed()));
                    return answer;
                }
            };
            match error.kind() {
                // No answer: a timeout, a confirmed closed port, an unreachable host.
                LookupErrorKind::Timeout | LookupErrorKind::Network => {
                    upstream.health.failed(standing);
                }
                // An answer, if not a good one: the server is alive.
                LookupErrorKind::ServFail
                | LookupErrorKind::Refused
                | LookupErrorKind::ResponseCode(_)
                | LookupErrorKind::Protocol => upstream.health.answered(Some(started.elapsed())),
                _ => {}
            }
            if health::is_final(&error, attempt, order.len()) {
                return Err(error);
            }
            last_error = error;
        }
        Err(last_error)
    }

    /// One lookup through one hickory resolver, its answer sorted out.
    async fn ask(
        &self,
        resolver: &Resolver<ConnectedUdpRuntime>,
        name: &Name,
        record_type: RecordType,
    ) -> Result<Answer<RData>, LookupError> {
        let trouble_before = self.socket_trouble.snapshot();
        match resolver.lookup(name.clone(), record_type).await {
            Ok(lookup) => Ok(own_records(name, lookup.answers(), record_type)),
            Err(NetError::Dns(DnsError::NoRecordsFound(no_records))) => Ok(Answer::NoRecords {
                nxdomain: no_records.response_code == ResponseCode::NXDomain,
                negative_ttl: no_records
                    .soa
                    .as_deref()
                    .filter(|soa| soa.name.zone_of(name))
                    .map(|soa| clamp_ttl(soa.ttl).min(clamp_ttl(soa.data.minimum))),
            }),
            // hickory reports a refused port and a socket it could not open alike, as
            // `NoConnections`, without the operating system's error; the runtime below keeps
            // count of both, which tells them apart. (Trouble seen by a concurrent lookup at
            // the same moment could be reported here instead: either way the lookup failed.)
            Err(NetError::NoConnections) => Err(self.socket_trouble.explain_since(trouble_before)),
            Err(error) => map_error(error),
        }
    }
}

/// The records of `record_type` among `answers` that belong to `name`: owned by it or by a
/// name its CNAME chain leads to. Records owned by other names are left out (hickory itself
/// drops them too), so that an answer with only those is no records, as on the pooled
/// transport.
fn own_records(name: &Name, answers: &[Record], record_type: RecordType) -> Answer<RData> {
    let mut chain = vec![name.clone()];
    let mut grew = true;
    while grew && chain.len() <= 16 {
        grew = false;
        for record in answers {
            if let RData::CNAME(target) = &record.data
                && chain.contains(&record.name)
                && !chain.contains(&target.0)
            {
                chain.push(target.0.clone());
                grew = true;
            }
        }
    }
    let mut ttl = u32::MAX;
    let mut records = Vec::with_capacity(answers.len());
    for record in answers {
        if record.record_type() == record_type && chain.contains(&record.name) {
            ttl = ttl.min(clamp_ttl(record.ttl));
            records.push(record.data.clone());
        }
    }
    if records.is_empty() {
        Answer::nodata(None)
    } else {
        Answer::Records { records, ttl }
    }
}

/// Counts of socket trouble, kept by [`ConnectedUdpRuntime`] for [`HickoryResolver`], and the
/// closed-port check of each name server.
#[derive(Debug, Default)]
struct SocketTrouble {
    /// One closed-port check per name server: ICMP errors are only hints (see
    /// [`ClosedPortCheck`]).
    checks: Mutex<HashMap<SocketAddr, Arc<ClosedPortCheck>>>,
    /// A UDP answer this recent (in milliseconds) proves a server's port open: the timeout.
    recent_ms: AtomicU64,
    /// Queries whose name server port turned out to be closed (ECONNREFUSED).
    refusals: AtomicU64,
    /// Sockets that could not be opened, bound or connected.
    open_failures: AtomicU64,
    /// The OS error number of the last of those.
    last_open_error: AtomicI32,
}

impl SocketTrouble {
    fn set_recent(&self, timeout: Duration) {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.recent_ms.store(ms, Ordering::Relaxed);
    }

    fn check_for(&self, server: SocketAddr) -> Arc<ClosedPortCheck> {
        let mut checks = self.checks.lock().unwrap_or_else(|p| p.into_inner());
        let recent = Duration::from_millis(self.recent_ms.load(Ordering::Relaxed).max(1));
        Arc::clone(
            checks
                .entry(server)
                .or_insert_with(|| Arc::new(ClosedPortCheck::new(server, recent))),
        )
    }

    fn snapshot(&self) -> (u64, u64) {
        (
            self.refusals.load(Ordering::Relaxed),
            self.open_failures.load(Ordering::Relaxed),
        )
    }

    fn record_open_failure(&self, error: &io::Error) {
        if let Some(code) = error.raw_os_error() {
            self.last_open_error.store(code, Ordering::Relaxed);
        }
        self.open_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// What most likely lies behind a `NoConnections` from a lookup that began at `before`.
    fn explain_since(&self, before: (u64, u64)) -> LookupError {
        let (refusals, open_failures) = self.snapshot();
        if refusals != before.0 {
            LookupError::with_detail(
                LookupErrorKind::Network,
                "connection refused: nothing answers on the name server's port",
            )
        } else if open_failures != before.1 {
            let code = self.last_open_error.load(Ordering::Relaxed);
            LookupError::from_io(&io::Error::from_raw_os_error(code))
        } else {
            LookupError::with_detail(
                LookupErrorKind::LocalResource,
                "no connection to any name server could be opened",
            )
        }
    }
}

/// hickory's Tokio runtime, with UDP sockets connected to their name server.
///
/// Why: the stock runtime leaves its UDP sockets unconnected, and the kernel reports an ICMP
/// "port unreachable" only to a connected socket. With connected sockets, a query to a closed
/// port fails at once instead of after the full timeout, as a dead local resolver should.
/// Each query still gets its own socket and random source port. The runtime also keeps count
/// of refusals and of sockets it could not open, which hickory's errors leave out.
#[derive(Clone)]
struct ConnectedUdpRuntime {
    tokio: TokioRuntimeProvider,
    socket_trouble: Arc<SocketTrouble>,
}

impl RuntimeProvider for ConnectedUdpRuntime {
    type Handle = TokioHandle;
    type Timer = TokioTime;
    type Udp = ConnectedUdpSocket;
    type Tcp = <TokioRuntimeProvider as RuntimeProvider>::Tcp;

    fn create_handle(&self) -> Self::Handle {
        self.tokio.create_handle()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = io::Result<Self::Tcp>>>> {
        self.tokio.connect_tcp(server_addr, bind_addr, timeout)
    }

    fn bind_udp(
        &self,
        local_addr: SocketAddr,
        server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = io::Result<Self::Udp>>>> {
        let socket_trouble = Arc::clone(&self.socket_trouble);
        let check = socket_trouble.check_for(server_addr);
        Box::pin(async move {
            let opened = async {
                let socket = tokio::net::UdpSocket::bind(local_addr).await?;
                socket.connect(server_addr).await?;
                Ok(socket)
            };
            match opened.await {
                Ok(socket) => Ok(ConnectedUdpSocket {
                    socket,
                    server: server_addr,
                    check,
                    socket_trouble,
                }),
                Err(error) => {
                    socket_trouble.record_open_failure(&error);
                    Err(error)
                }
            }
        })
    }
}

/// A UDP socket connected to its name server, for [`ConnectedUdpRuntime`].
struct ConnectedUdpSocket {
    socket: tokio::net::UdpSocket,
    server: SocketAddr,
    check: Arc<ClosedPortCheck>,
    socket_trouble: Arc<SocketTrouble>,
}

impl DnsUdpSocket for ConnectedUdpSocket {
    type Time = TokioTime;

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        DnsUdpSocket::poll_recv_from(&self.socket, cx, buf)
    }

    // hickory waits for answers through this method. Tokio's async `recv_from` reports a
    // pending ICMP error (ECONNREFUSED) as soon as it arrives, where its poll-based twin keeps
    // waiting: hence an override of the trait's default, written out as the trait's
    // `async_trait` signature.
    fn recv_from<'socket, 'buf, 'future>(
        &'socket self,
        buf: &'buf mut [u8],
    ) -> Pin<Box<dyn Future<Output = io::Result<(usize, SocketAddr)>> + Send + 'future>>
    where
        'socket: 'future,
        'buf: 'future,
        Self: 'future,
    {
        Box::pin(async move {
            loop {
                match self.socket.recv_from(buf).await {
                    // A datagram queued between bind and connect may come from anyone.
                    Ok((_, from)) if !same_peer(from, self.server) => {}
                    Ok(received) => {
                        self.check.note_answer();
                        return Ok(received);
                    }
                    // An ICMP error is a hint: the query waits for its answer (hickory
                    // applies its timeout around this) unless the port is confirmed closed.
                    Err(error) if is_icmp_hint(&error) => {
                        if self.check.confirm_closed().await {
                            self.socket_trouble.refusals.fetch_add(1, Ordering::Relaxed);
                            return Err(error);
                        }
                        tracing::debug!(%error, "ICMP error not confirmed: still waiting");
                    }
                    Err(error) => return Err(error),
                }
            }
        })
    }

    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        match DnsUdpSocket::poll_send_to(&self.socket, cx, buf, target) {
            // A pending ICMP error (forged or not) is reported by the next send, and cleared:
            // it is no verdict on this query, so the send is tried once more.
            Poll::Ready(Err(error)) if is_icmp_hint(&error) => {
                DnsUdpSocket::poll_send_to(&self.socket, cx, buf, target)
            }
            other => other,
        }
    }
}

/// The records of the type asked for, converted; a failure stays one.
fn finish<T>(
    result: Result<Answer<RData>, LookupError>,
    convert: impl FnMut(RData) -> Option<T>,
) -> Result<Answer<T>, LookupError> {
    result.map(|answer| answer.filter_map(convert))
}

impl DnsResolver for HickoryResolver {
    async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
        let result = self.lookup_records(name, RecordType::A).await;
        finish(result, |data| match data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
    }

    async fn lookup_txt(&self, name: &str) -> Result<Answer<String>, LookupError> {
        let result = self.lookup_records(name, RecordType::TXT).await;
        finish(result, |data| match data {
            RData::TXT(txt) => Some(join_txt_strings(txt.txt_data.iter().map(|s| &s[..]))),
            _ => None,
        })
    }

    async fn lookup_aaaa(&self, name: &str) -> Result<Answer<Ipv6Addr>, LookupError> {
        let result = self.lookup_records(name, RecordType::AAAA).await;
        finish(result, |data| match data {
            RData::AAAA(aaaa) => Some(aaaa.0),
            _ => None,
        })
    }

    async fn lookup_ptr(&self, name: &str) -> Result<Answer<String>, LookupError> {
        let result = self.lookup_records(name, RecordType::PTR).await;
        finish(result, |data| match data {
            RData::PTR(ptr) => Some(host_name(&ptr.0)),
            _ => None,
        })
    }

    async fn lookup_mx(
        &self,
        name: &str,
    ) -> Result<Answer<crate::resolver::MailExchanger>, LookupError> {
        use crate::resolver::MailExchanger;
        let result = self.lookup_records(name, RecordType::MX).await;
        finish(result, |data| match data {
            RData::MX(mx) => Some(MailExchanger::new(mx.preference, &mx.exchange.to_ascii())),
            _ => None,
        })
    }

    async fn lookup_ns(&self, name: &str) -> Result<Answer<String>, LookupError> {
        let result = self.lookup_records(name, RecordType::NS).await;
        finish(result, |data| match data {
            RData::NS(ns) => Some(host_name(&ns.0)),
            _ => None,
        })
    }
}

/// A host name of a PTR or NS record: lowercase, without trailing dot.
fn host_name(name: &Name) -> String {
    let host = name.to_ascii();
    host.strip_suffix('.').unwrap_or(&host).to_ascii_lowercase()
}

/// Joins a TXT record's character-strings without separator, decoding lossily as UTF-8.
///
/// Joining before decoding matters: a multi-byte character may be split across two strings.
pub(crate) fn join_txt_strings<'a>(strings: impl Iterator<Item = &'a [u8]>) -> String {
    let bytes: Vec<u8> = strings.flatten().copied().collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Sorts hickory's errors into answers and failure kinds. Details never include the name.
fn map_error(error: NetError) -> Result<Answer<RData>, LookupError> {
    let kind_error = |kind| Err(LookupError::new(kind));
    match error {
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => Ok(Answer::NoRecords {
            nxdomain: no_records.response_code == ResponseCode::NXDomain,
            negative_ttl: no_records.negative_ttl,
        }),
        NetError::Dns(DnsError::ResponseCode(code)) => match code {
            ResponseCode::ServFail => kind_error(LookupErrorKind::ServFail),
            ResponseCode::Refused => kind_error(LookupErrorKind::Refused),
            other => kind_error(LookupErrorKind::ResponseCode(u16::from(other))),
        },
        NetError::Timeout => kind_error(LookupErrorKind::Timeout),
        NetError::Io(io_error) => Err(LookupError::from_io(&io_error)),
        NetError::Busy => Err(LookupError::with_detail(
            LookupErrorKind::LocalResource,
            "too many queries in flight",
        )),
        NetError::Truncated => Err(LookupError::with_detail(
            LookupErrorKind::Protocol,
            "answer truncated even over TCP",
        )),
        // hickory-resolver rejects a whole response holding a record of another class than
        // the question's; the pooled transport reads it alike.
        NetError::ForeignClassRecord { .. } => Err(LookupError::with_detail(
            LookupErrorKind::Protocol,
            crate::resolver::FOREIGN_CLASS,
        )),
        NetError::Proto(_) => Err(LookupError::with_detail(
            LookupErrorKind::Protocol,
            "malformed answer",
        )),
        _ => kind_error(LookupErrorKind::Protocol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_txt_strings_before_decoding() {
        // "é" is 0xC3 0xA9: split across two character-strings, it must still decode.
        let parts: [&[u8]; 3] = [b"caf\xC3", b"\xA9 ", b"listed"];
        assert_eq!(join_txt_strings(parts.into_iter()), "café listed");
        let invalid: [&[u8]; 1] = [b"bad \xFF byte"];
        assert_eq!(join_txt_strings(invalid.into_iter()), "bad \u{FFFD} byte");
    }
}
