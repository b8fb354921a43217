//! The socket provider: hickory's Tokio runtime with connected UDP sockets, and the count of
//! socket trouble that hickory's errors leave out.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hickory_resolver::net::runtime::{
    DnsUdpSocket, RuntimeProvider, TokioHandle, TokioRuntimeProvider, TokioTime,
};

use crate::resolver::icmp::{ClosedPortCheck, Resends, is_icmp_hint, same_peer};
use crate::resolver::{LookupError, LookupErrorKind};

/// Counts of socket trouble, kept by [`ConnectedUdpRuntime`] for [`HickoryResolver`], and the
/// closed-port check of each name server.
#[derive(Debug, Default)]
pub(super) struct SocketTrouble {
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
    pub(super) fn set_recent(&self, timeout: Duration) {
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

    pub(super) fn snapshot(&self) -> (u64, u64) {
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
    pub(super) fn explain_since(&self, before: (u64, u64)) -> LookupError {
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
pub(super) struct ConnectedUdpRuntime {
    tokio: TokioRuntimeProvider,
    socket_trouble: Arc<SocketTrouble>,
}

impl ConnectedUdpRuntime {
    /// The runtime, counting its socket trouble in `socket_trouble`.
    pub(super) fn new(socket_trouble: Arc<SocketTrouble>) -> Self {
        ConnectedUdpRuntime {
            tokio: TokioRuntimeProvider::default(),
            socket_trouble,
        }
    }
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
pub(super) struct ConnectedUdpSocket {
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
        // A pending ICMP error (forged or not) is reported by the next send, and cleared: it is
        // no verdict on this query, so the send is tried again (see `Resends`).
        let mut resends = Resends::new();
        loop {
            match DnsUdpSocket::poll_send_to(&self.socket, cx, buf, target) {
                Poll::Ready(Err(error)) if is_icmp_hint(&error) && resends.again(&error) => {}
                other => return other,
            }
        }
    }
}
