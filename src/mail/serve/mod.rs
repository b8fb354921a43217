//! Mail-filter servers: a Postfix policy server ([`PolicyServer`]) and a milter
//! ([`MilterServer`]) on TCP or a Unix socket, with a bounded number of connections and a
//! graceful shutdown, each run by one `serve(listener, shutdown)` call.
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`Listen`], [`Listener`], [`Connection`] | `listen.rs` | TCP or Unix sockets (with their mode) |
//! | [`Limits`], [`Slot`] | `slots.rs` | connection caps, in all and per peer: at a cap the longest idle connection makes room |
//! | [`serve_connections`] | `mod.rs` | accept first, then a slot; shutdown lets connections finish |
//! | [`PolicyServer`] | `policy.rs` | Postfix's SMTP access policy protocol over a [`SessionFilter`](crate::mail::SessionFilter) |
//! | [`MilterServer`] | `milter.rs` | the milter protocol over a [`MilterSession`](crate::mail::milter::MilterSession) |
//!
//! Each decision is logged at info level (target `dnsbl_check::mail::serve`), trouble as
//! warnings.
//!
//! # Examples
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use dnsbl_check::mail::serve::{Listen, Listener, PolicyServer};
//! use dnsbl_check::mail::{SessionFilter, SessionPolicy};
//! use dnsbl_check::{Checker, presets};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let checker = Checker::builder().lists(presets::default_lists()).build()?;
//! let filter = Arc::new(SessionFilter::new(checker, SessionPolicy::default()));
//! let listener = Listener::bind(&Listen::Tcp("127.0.0.1:10040".parse()?), 0o660).await?;
//! // Serve until Ctrl-C (a second one stops waiting for the connections in flight).
//! let shutdown = futures::stream::unfold((), |()| async {
//!     tokio::signal::ctrl_c().await.ok().map(|()| ((), ()))
//! });
//! PolicyServer::new(filter).serve(listener, shutdown).await;
//! # Ok(())
//! # }
//! ```

/// The builder methods both servers share: how long a connection may idle (documented as
/// `$idle_doc`), and how many are served.
macro_rules! connection_settings {
    ($idle_doc:literal) => {
        setters! {
            #[doc = $idle_doc]
            idle_timeout(idle: Duration) => idle = idle;

            /// How many connections are served at once.
            limits(limits: Limits) => limits = limits;
        }
    };
}

mod listen;
mod milter;
mod policy;
mod slots;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::drain;
use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

pub use listen::{Connection, Listen, Listener};
pub use milter::MilterServer;
pub use policy::PolicyServer;
use slots::{Admission, Slots};
pub use slots::{Limits, Slot};

/// How long to wait for work in flight at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why a server could not start.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::serve::{Listen, Listener, ServeError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let taken = Listener::bind(&Listen::Tcp("127.0.0.1:0".parse().unwrap()), 0o660).await.unwrap();
/// let again = Listen::Tcp(taken.local_addr().unwrap());
/// let error = Listener::bind(&again, 0o660).await.unwrap_err();
/// assert!(matches!(error, ServeError::Bind { .. }));
/// assert!(error.to_string().starts_with("cannot listen on 127.0.0.1:"));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address could not be listened on.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address or socket path.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Serves the connections of `listener` until `shutdown` yields, with `serve` called once per
/// connection (with the peer's name, its [`Slot`] and a flag that turns true at shutdown),
/// within `limits`.
///
/// A new connection is accepted first, then given a slot: at a cap (in all, or for its
/// peer), an idle connection (of all, or of that peer) is closed to make room: one that has
/// never sent a request (or milter negotiation) first, the longest idle of those; else the
/// longest idle of the others, with a warning, since that may cut short a session of the
/// MTA's. Idle connections can thus never lock out a new one; only when every connection is
/// in the middle of a decision is the new one closed at once.
///
/// At the first item of `shutdown`: stop accepting (a Unix socket's file is removed), give
/// the connections 30 s (or until a second item) to finish what they are doing, then close
/// them.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::serve::{Limits, Listen, Listener, serve_connections};
/// use tokio::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let listener = Listener::bind(&Listen::Tcp("127.0.0.1:0".parse().unwrap()), 0o660)
///     .await
///     .unwrap();
/// // Stop at once: no connection is served.
/// let shutdown = futures::stream::iter([()]);
/// serve_connections(listener, Limits::new(10, 5), shutdown, |mut connection, _, _, _| async move {
///     let _ = connection.write_all(b"hello\r\n").await;
/// })
/// .await;
/// # }
/// ```
pub async fn serve_connections<F, Fut, S>(listener: Listener, limits: Limits, shutdown: S, serve: F)
where
    F: Fn(Connection, String, Slot, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
    S: Stream<Item = ()>,
{
    let mut shutdown = std::pin::pin!(shutdown.fuse());
    info!(address = %listener.address(), "listening");
    let (stop, stopping) = watch::channel(false);
    let slots = Slots::new(limits);
    let mut connections = JoinSet::new();
    while let Some((connection, peer)) = drain::accept(&mut shutdown, || listener.accept()).await {
        match slots.admit(&peer.key) {
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
        }
        while connections.try_join_next().is_some() {}
    }

    listener.close();
    if !connections.is_empty() {
        info!(
            connections = connections.len(),
            "finishing the requests in flight"
        );
    }
    // A second signal does not wait any longer.
    drain::finish(&stop, &mut connections, SHUTDOWN_GRACE, &mut shutdown).await;
    info!("stopped");
}

/// One connection, as a server's `serve_one` gets it from [`serve_each`].
struct Served<T> {
    /// The stream.
    connection: Connection,
    /// The peer's name, as logged.
    peer: String,
    /// The connection's slot: idle or busy.
    slot: Slot,
    /// What every connection shares.
    shared: Arc<T>,
    /// Turns true at shutdown.
    stopping: watch::Receiver<bool>,
    /// How long the connection may wait for its client.
    idle: Duration,
}

/// [`serve_connections`] with `serve_one` called for each connection with its slot, `state`
/// shared by all, the shutdown flag and the idle timeout.
async fn serve_each<T, F, Fut>(
    listener: Listener,
    (limits, idle): (Limits, Duration),
    shutdown: impl Stream<Item = ()>,
    state: &Arc<T>,
    serve_one: F,
) where
    F: Fn(Served<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    serve_connections(
        listener,
        limits,
        shutdown,
        |connection, peer, slot, stopping| {
            serve_one(Served {
                connection,
                peer,
                slot,
                shared: Arc::clone(state),
                stopping,
                idle,
            })
        },
    )
    .await;
}

/// What a read within a time limit gave a connection: `Some` to go on (with the read's
/// error, if any), `None` when the connection is to close: idle too long (logged), or ended
/// between two requests.
fn went_on<E>(
    peer: &str,
    read: Result<Result<bool, E>, tokio::time::error::Elapsed>,
) -> Option<Result<(), E>> {
    match read {
        Err(_) => {
            debug!(%peer, "closing an idle connection");
            None
        }
        Ok(Ok(false)) => None,
        Ok(Ok(true)) => Some(Ok(())),
        Ok(Err(error)) => Some(Err(error)),
    }
}

/// Milliseconds to one decimal, as logged.
fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 10_000.0).round() / 10.0
}
