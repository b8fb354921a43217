//! What the mail servers and the exporter share of serving until shutdown: accepting until
//! the shutdown stream yields, then a bounded wait for the connections in flight.

use std::fmt::Display;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The next connection `accept` gives, or `None` once `shutdown` (fused) yields. A failed
/// accept (out of descriptors, a connection reset before it was accepted) is logged and
/// tried again after a pause, so that the server keeps serving without spinning.
pub(crate) async fn accept<S, T, E, F>(shutdown: &mut S, mut accept: impl FnMut() -> F) -> Option<T>
where
    S: Stream<Item = ()> + Unpin,
    E: Display,
    F: Future<Output = Result<T, E>>,
{
    loop {
        let accepted = tokio::select! {
            biased;
            Some(()) = shutdown.next() => return None,
            accepted = accept() => accepted,
        };
        match accepted {
            Ok(accepted) => return Some(accepted),
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Ends a shutdown once nothing more is accepted: tells the connections (`stop`), waits for
/// them ([`drain`]), and closes those still open after `grace` or a second item of
/// `shutdown`.
pub(crate) async fn finish<S>(
    stop: &watch::Sender<bool>,
    connections: &mut JoinSet<()>,
    grace: Duration,
    shutdown: &mut S,
) where
    S: Stream<Item = ()> + Unpin,
{
    let _ = stop.send(true);
    if !drain(connections, grace, shutdown).await {
        tracing::warn!(
            connections = connections.len(),
            "closing the connections still in flight"
        );
        connections.shutdown().await;
    }
}

/// Waits for every task of `connections` to finish, for `grace` at most or until `shutdown`
/// (fused: an ended stream no longer counts) yields again. True when all finished; the
/// caller closes those left ([`JoinSet::shutdown`]).
pub(crate) async fn drain<S>(
    connections: &mut JoinSet<()>,
    grace: Duration,
    shutdown: &mut S,
) -> bool
where
    S: Stream<Item = ()> + Unpin,
{
    tokio::select! {
        drained = tokio::time::timeout(grace, async {
            while connections.join_next().await.is_some() {}
        }) => drained.is_ok(),
        Some(()) = shutdown.next() => false,
    }
}
