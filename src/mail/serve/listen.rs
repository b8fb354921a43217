//! Where a server listens: TCP or a Unix socket, and the connections it accepts.

use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};
use tracing::{info, warn};

use super::ServeError;

/// Where to listen: a TCP address, or a Unix socket's path.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::serve::Listen;
///
/// let tcp = Listen::Tcp("127.0.0.1:10040".parse().unwrap());
/// let unix = Listen::Unix("/var/spool/postfix/private/dnsbl".into());
/// assert_eq!(tcp.to_string(), "127.0.0.1:10040");
/// assert_eq!(unix.to_string(), "/var/spool/postfix/private/dnsbl");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Listen {
    /// A TCP address and port.
    Tcp(SocketAddr),
    /// A Unix socket's path.
    Unix(PathBuf),
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(addr) => addr.fmt(f),
            Listen::Unix(path) => path.display().fmt(f),
        }
    }
}

/// A listening socket: TCP, or a Unix socket whose file is removed when the server stops.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::serve::{Listen, Listener};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let listener = Listener::bind(&Listen::Tcp("127.0.0.1:0".parse().unwrap()), 0o660)
///     .await
///     .unwrap();
/// assert!(listener.local_addr().unwrap().port() > 0);
/// # }
/// ```
#[derive(Debug)]
pub struct Listener {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener, PathBuf),
}

/// Who is at the other end: `key` counts towards the per-peer cap (an IP address, or a
/// user id on a Unix socket), `name` is logged.
pub(super) struct Peer {
    pub(super) key: String,
    pub(super) name: String,
}

/// An accepted connection, on either kind of socket.
#[derive(Debug)]
pub struct Connection {
    inner: Stream,
}

#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Listener {
    /// Listens at `listen`. A Unix socket gets permissions `mode` (`0o660`); a stale socket
    /// file left by a server that is gone is replaced, but never a socket a live server
    /// answers on, nor a file that is not a socket.
    pub async fn bind(listen: &Listen, mode: u32) -> Result<Self, ServeError> {
        let bind_error = |source| ServeError::Bind {
            address: listen.to_string(),
            source,
        };
        let inner = match listen {
            Listen::Tcp(addr) => Inner::Tcp(TcpListener::bind(addr).await.map_err(bind_error)?),
            #[cfg(unix)]
            Listen::Unix(path) => {
                Inner::Unix(bind_unix(path, mode).map_err(bind_error)?, path.clone())
            }
            #[cfg(not(unix))]
            Listen::Unix(_) => {
                let _ = mode;
                let unsupported = io::Error::new(io::ErrorKind::Unsupported, "no Unix sockets");
                return Err(bind_error(unsupported));
            }
        };
        Ok(Listener { inner })
    }

    /// A listener on a TCP socket already bound.
    pub fn from_tcp(listener: TcpListener) -> Self {
        Listener {
            inner: Inner::Tcp(listener),
        }
    }

    /// The TCP address listened on; `None` for a Unix socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.inner {
            Inner::Tcp(listener) => listener.local_addr().ok(),
            #[cfg(unix)]
            Inner::Unix(..) => None,
        }
    }

    /// The address listened on, as logged: `127.0.0.1:10040` or the socket's path.
    pub fn address(&self) -> String {
        match &self.inner {
            Inner::Tcp(listener) => listener
                .local_addr()
                .map_or_else(|_| "?".into(), |addr| addr.to_string()),
            #[cfg(unix)]
            Inner::Unix(_, path) => path.display().to_string(),
        }
    }

    /// A connection and its peer.
    pub(super) async fn accept(&self) -> io::Result<(Connection, Peer)> {
        match &self.inner {
            Inner::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                // Replies are small and awaited one at a time: send them at once.
                let _ = stream.set_nodelay(true);
                let peer = Peer {
                    key: peer.ip().to_string(),
                    name: peer.to_string(),
                };
                let inner = Stream::Tcp(stream);
                Ok((Connection { inner }, peer))
            }
            #[cfg(unix)]
            Inner::Unix(listener, _) => {
                let stream = listener.accept().await?.0;
                let key = stream
                    .peer_cred()
                    .map_or_else(|_| "unix".to_owned(), |cred| format!("uid {}", cred.uid()));
                let peer = Peer {
                    name: format!("unix ({key})"),
                    key,
                };
                let inner = Stream::Unix(stream);
                Ok((Connection { inner }, peer))
            }
        }
    }

    /// Stops listening; a Unix socket's file is removed.
    pub(super) fn close(self) {
        #[cfg(unix)]
        if let Inner::Unix(listener, path) = self.inner {
            drop(listener);
            if let Err(error) = std::fs::remove_file(&path) {
                warn!(path = %path.display(), %error, "cannot remove the socket file");
            }
        }
    }
}

/// Forwards a poll to the stream inside a connection.
macro_rules! forward {
    ($self:ident, $stream:ident => $call:expr) => {
        match &mut $self.get_mut().inner {
            Stream::Tcp($stream) => $call,
            #[cfg(unix)]
            Stream::Unix($stream) => $call,
        }
    };
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        forward!(self, stream => Pin::new(stream).poll_read(cx, buf))
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        forward!(self, stream => Pin::new(stream).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        forward!(self, stream => Pin::new(stream).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        forward!(self, stream => Pin::new(stream).poll_shutdown(cx))
    }
}

/// Binds a Unix socket, replacing a stale socket file left by a server that is gone. Refuses
/// to replace a socket a live server answers on, or a file that is not a socket.
#[cfg(unix)]
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
