//! The exporter's HTTP side: a small HTTP/1.1 server (hyper) that treats every request as
//! hostile. It bounds connections, header size, header read time, connection lifetime and the
//! query string, answers only GET and HEAD, and never panics on what a client sends.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connections served at once; further clients wait in the listen backlog.
const MAX_CONNECTIONS: usize = 256;
/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a connection may live, however busy: a client cannot hold one forever.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);
/// hyper's read buffer, which bounds the request line and headers (its minimum).
const MAX_HEADER_BYTES: usize = 8192;
/// The longest query string taken.
const MAX_QUERY_BYTES: usize = 1024;

/// The Prometheus text format's content type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the server answers with.
pub trait Exporter: Send + Sync + 'static {
    /// The `/metrics` page: never sends a DNS query.
    fn metrics(&self) -> String;

    /// The `/probe` page for `target=`, and `source=` if given, as they are in the query
    /// string (untrusted).
    fn probe(
        &self,
        target: String,
        source: Option<String>,
    ) -> impl Future<Output = Result<String, ProbeError>> + Send;
}

/// Why a probe gave no page.
#[derive(Debug)]
pub enum ProbeError {
    /// The target is not an address or a domain name: HTTP 400.
    BadTarget(String),
    /// Too many probes are running: HTTP 503.
    Busy,
}

/// Serves `exporter` on `listener` until the task is dropped.
pub async fn serve<E: Exporter>(listener: TcpListener, exporter: Arc<E>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors, or a connection reset before it was accepted: go on
                // after a pause rather than spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let exporter = Arc::clone(&exporter);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let exporter = Arc::clone(&exporter);
                async move { Ok::<_, Infallible>(respond(&*exporter, &request).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEADER_BYTES)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
            drop(permit);
        });
    }
}

/// Routes one request.
async fn respond<E: Exporter>(exporter: &E, request: &Request<Incoming>) -> Response<Full<Bytes>> {
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
            let (target, source) =
                match (query_param(query, "target"), query_param(query, "source")) {
                    (Ok(Some(target)), Ok(source)) => (target, source),
                    (Ok(None), _) => return text(StatusCode::BAD_REQUEST, "missing target=\n"),
                    (Err(error), _) | (_, Err(error)) => {
                        return text(StatusCode::BAD_REQUEST, &format!("{error}\n"));
                    }
                };
            match exporter.probe(target, source).await {
                Ok(body) => page(body),
                Err(ProbeError::BadTarget(error)) => {
                    text(StatusCode::BAD_REQUEST, &format!("{error}\n"))
                }
                Err(ProbeError::Busy) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many probes at once; try again\n",
                ),
            }
        }
        "/" => text(
            StatusCode::OK,
            "dnsbl-exporter: GET /metrics (scheduled checks), \
             GET /probe?target=ADDRESS|DOMAIN[&source=mx|resolve]\n",
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
