//! The exporter's HTTP side: a small HTTP/1.1 server (hyper) that treats every request as
//! hostile. It bounds connections, header size, header read time, connection lifetime and the
//! query string, answers only GET and HEAD, and never panics on what a client sends.
//!
//! Slow clients cannot starve it. Every connection is accepted at once; when there are
//! [`MAX_CONNECTIONS`], the one that has waited longest for a client's request is closed to
//! make room (a connection whose request is being answered is never closed), and when every
//! one is busy answering, the newcomer gets a short 503. A request head must be complete
//! [`HEAD_DEADLINE`] after the connection was accepted or its last answer given, however
//! the bytes trickle in.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::drain;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Connections kept open at once: past this, the one waiting longest for a request is closed.
pub const MAX_CONNECTIONS: usize = 256;
/// From accepting a connection, or from answering its last request, to the end of the next
/// request's head. A total: bytes trickling in do not extend it.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// The most a connection may live, however busy: a client cannot hold one forever.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);
/// How long shutdown waits for the answers in flight: a probe waits up to 10 s for a free
/// slot, and a slow list may take a few seconds more.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);
/// hyper's read buffer, which bounds the request line and headers (its minimum).
const MAX_HEADER_BYTES: usize = 8192;
/// The longest query string taken.
const MAX_QUERY_BYTES: usize = 1024;
/// The answer to a connection that finds every slot busy answering a request.
const FULL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\
    content-length: 0\r\nconnection: close\r\n\r\n";

/// The Prometheus text format's content type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the server answers with.
pub trait Exporter: Send + Sync + 'static {
    /// The `/metrics` page: never sends a DNS query.
    fn metrics(&self) -> String;

    /// The `/probe` page for `target=`, and `source=` and `module=` if given, as they are in
    /// the query string (untrusted), asked by `client`.
    fn probe(
        &self,
        client: IpAddr,
        target: String,
        source: Option<String>,
        module: Option<String>,
    ) -> impl Future<Output = Result<String, ProbeError>> + Send;
}

/// Why a probe gave no page.
#[derive(Debug)]
pub enum ProbeError {
    /// The target is not an address or a domain name, or the source or module is unknown:
    /// HTTP 400.
    BadTarget(String),
    /// Too many probes are running: HTTP 503.
    Busy,
    /// The client, or all clients together, asked for too many probes: HTTP 429, with
    /// `Retry-After` this long (rounded up to whole seconds).
    RateLimited(Duration),
}

/// One open connection, as the server sees it.
struct Slot {
    /// Since when it has waited for the client's next request head; `None` while a request
    /// is being answered.
    waiting_since: watch::Sender<Option<Instant>>,
    /// Closes it, to make room for a newer one.
    close: Notify,
}

/// The open connections.
#[derive(Default)]
struct Connections {
    slots: Mutex<(u64, HashMap<u64, Arc<Slot>>)>,
}

impl Connections {
    /// Registers a new connection, making room if needed; `None` when every slot is busy
    /// answering a request.
    fn admit(&self) -> Option<(u64, Arc<Slot>)> {
        let mut guard = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let (next, slots) = &mut *guard;
        if slots.len() >= MAX_CONNECTIONS {
            // The longest waiting: an idle keep-alive connection, or a client trickling its
            // request. A linear scan, of at most MAX_CONNECTIONS slots.
            let oldest = slots
                .iter()
                .filter_map(|(id, slot)| Some((*id, (*slot.waiting_since.borrow())?)))
                .min_by_key(|(_, since)| *since)
                .map(|(id, _)| id)?;
            if let Some(slot) = slots.remove(&oldest) {
                slot.close.notify_one();
            }
        }
        let id = *next;
        *next += 1;
        let slot = Arc::new(Slot {
            waiting_since: watch::Sender::new(Some(Instant::now())),
            close: Notify::new(),
        });
        slots.insert(id, Arc::clone(&slot));
        Some((id, slot))
    }

    fn remove(&self, id: u64) {
        let mut guard = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.remove(&id);
    }
}

/// Serves `exporter` on `listener` until `shutdown` yields.
///
/// At the first item of `shutdown`: stop accepting, close the connections waiting for a
/// request, let the ones answering a request finish that answer (then close them), and
/// return when all are closed, after [`SHUTDOWN_GRACE`] at most (or at a second item),
/// closing those still answering.
///
/// # Examples
///
/// ```
/// use std::net::IpAddr;
/// use std::sync::Arc;
///
/// use dnsbl_check::exporter::http::{self, Exporter, ProbeError};
///
/// struct Hello;
///
/// impl Exporter for Hello {
///     fn metrics(&self) -> String {
///         "hello 1\n# EOF\n".into()
///     }
///
///     async fn probe(
///         &self,
///         _client: IpAddr,
///         target: String,
///         _source: Option<String>,
///         _module: Option<String>,
///     ) -> Result<String, ProbeError> {
///         Err(ProbeError::BadTarget(target))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// // Stop at once: no connection is served.
/// let shutdown = futures::stream::iter([()]);
/// http::serve(listener, Arc::new(Hello), shutdown).await;
/// # }
/// ```
pub async fn serve<E: Exporter>(
    listener: TcpListener,
    exporter: Arc<E>,
    shutdown: impl Stream<Item = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown.fuse());
    let connections = Arc::new(Connections::default());
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    while let Some((stream, peer)) = drain::accept(&mut shutdown, || listener.accept()).await {
        while tasks.try_join_next().is_some() {}
        let Some((id, slot)) = connections.admit() else {
            // Every slot is answering a request: say so, without waiting for the client.
            let _ = stream.try_write(FULL);
            continue;
        };
        let connections = Arc::clone(&connections);
        let exporter = Arc::clone(&exporter);
        let stopping = stopping.clone();
        tasks.spawn(async move {
            serve_connection(stream, peer.ip(), &slot, exporter, stopping).await;
            connections.remove(id);
        });
    }
    drop(listener);
    // A second item does not wait any longer.
    drain::finish(&stop, &mut tasks, SHUTDOWN_GRACE, &mut shutdown).await;
}

/// Serves one connection until the client closes it, its head deadline passes, it is closed
/// to make room, or its lifetime ends; at shutdown, at once if it waits for a request, else
/// once its answer is given.
async fn serve_connection<E: Exporter>(
    stream: TcpStream,
    client: IpAddr,
    slot: &Arc<Slot>,
    exporter: Arc<E>,
    mut stopping: watch::Receiver<bool>,
) {
    let service = {
        let slot = Arc::clone(slot);
        service_fn(move |request| {
            // The head is in: the deadline stops until the answer is given.
            slot.waiting_since.send_replace(None);
            let slot = Arc::clone(&slot);
            let exporter = Arc::clone(&exporter);
            async move {
                let response = respond(&*exporter, client, &request).await;
                slot.waiting_since.send_replace(Some(Instant::now()));
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_DEADLINE)
        .max_buf_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let stop = async {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    tokio::select! {
        _ = connection.as_mut() => return,
        () = head_deadline(slot.waiting_since.subscribe()) => return,
        () = slot.close.notified() => return,
        () = tokio::time::sleep(CONNECTION_LIFETIME) => return,
        () = stop => {}
    }
    // Shutdown. The service marks a request busy in the same poll that reads its head: a
    // connection still waiting has no answer to give.
    if slot.waiting_since.borrow().is_some() {
        return;
    }
    // Answer the request in hand, then close (the server bounds the wait).
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Ends when the connection has waited [`HEAD_DEADLINE`] for a request head. hyper's own
/// header timeout (also set) runs from when hyper starts reading each head and is not
/// extended by trickled bytes (hyper 1.x, `proto/h1/conn.rs`); this one runs from the
/// accept or the last answer, is what the eviction order reads, and does not depend on
/// hyper's internals.
async fn head_deadline(mut waiting_since: watch::Receiver<Option<Instant>>) {
    loop {
        let since = *waiting_since.borrow_and_update();
        match since {
            Some(since) => {
                tokio::select! {
                    () = tokio::time::sleep_until(since + HEAD_DEADLINE) => return,
                    changed = waiting_since.changed() => if changed.is_err() { return },
                }
            }
            None => {
                if waiting_since.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Routes one request.
async fn respond<E: Exporter>(
    exporter: &E,
    client: IpAddr,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    let query = request.uri().query().unwrap_or("");
    if query.len() > MAX_QUERY_BYTES {
        return text(StatusCode::URI_TOO_LONG, "query string too long\n");
    }
    match request.uri().path() {
        "/metrics" => page(exporter.metrics()),
        "/probe" => {
            let params = (
                query_param(query, "target"),
                query_param(query, "source"),
                query_param(query, "module"),
            );
            let (target, source, module) = match params {
                (Ok(Some(target)), Ok(source), Ok(module)) => (target, source, module),
                (Ok(None), _, _) => return text(StatusCode::BAD_REQUEST, "missing target=\n"),
                (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                    return text(StatusCode::BAD_REQUEST, &format!("{error}\n"));
                }
            };
            match exporter.probe(client, target, source, module).await {
                Ok(body) => page(body),
                Err(ProbeError::BadTarget(error)) => {
                    text(StatusCode::BAD_REQUEST, &format!("{error}\n"))
                }
                Err(ProbeError::Busy) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many probes at once; try again\n",
                ),
                Err(ProbeError::RateLimited(wait)) => {
                    let mut response = text(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many probes; try again later\n",
                    );
                    // Whole seconds, rounded up: at least 1.
                    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                    response
                        .headers_mut()
                        .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                    response
                }
            }
        }
        "/" => text(
            StatusCode::OK,
            "dnsbl-exporter: GET /metrics (scheduled checks), \
             GET /probe?target=ADDRESS|DOMAIN[&source=mx|resolve|spf][&module=NAME]\n",
        ),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn page(body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
    response
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The value of `name` in an `application/x-www-form-urlencoded` query string, decoded.
/// A name given twice is an error, so that two readings of one URL cannot disagree.
pub fn query_param(query: &str, name: &str) -> Result<Option<String>, String> {
    let mut found = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(key)? != name {
            continue;
        }
        if found.is_some() {
            return Err(format!("{name}= given more than once"));
        }
        found = Some(percent_decode(value)?);
    }
    Ok(found)
}

/// Decodes `%XX` escapes and `+` (a space); the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or("bad %-escape in the query string")?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "query string is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_query_parameters() {
        assert_eq!(
            query_param("target=192.0.2.1", "target"),
            Ok(Some("192.0.2.1".into()))
        );
        assert_eq!(
            query_param("module=x&target=2001%3adb8%3A%3A1", "target"),
            Ok(Some("2001:db8::1".into()))
        );
        assert_eq!(query_param("a=b", "target"), Ok(None));
        assert_eq!(query_param("", "target"), Ok(None));
        assert!(query_param("target=a&target=b", "target").is_err());
        assert!(query_param("target=%zz", "target").is_err());
        assert!(query_param("target=%4", "target").is_err());
        assert!(query_param("target=%ff", "target").is_err());
        assert!(query_param("target=%", "target").is_err());
    }
}
