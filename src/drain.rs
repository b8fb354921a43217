//! The end of a server's shutdown, shared by the mail servers and the exporter: a bounded
//! wait for the connections in flight.

use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::task::JoinSet;

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
