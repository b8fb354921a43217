//! A Postfix SMTP access policy server: requests in, a [`SessionFilter`]'s verdicts out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::io::AsyncWriteExt;
use tracing::{debug, info, warn};

use super::{Limits, Listener, Served, millis, serve_each, went_on};
use crate::mail::postfix_policy::{PolicyReader, PolicyRequest, action, reply};
use crate::mail::{Evaluation, FcrdnsStatus, SessionFilter, SkipReason, Verdict, joined};
use crate::resolver::DnsResolver;

/// A Postfix SMTP access policy server over one [`SessionFilter`].
///
/// Postfix keeps a connection open for many requests, and so does this server. A request
/// whose `request` attribute is not `smtpd_access_policy` is answered `DUNNO`; a bad request
/// (see [`PolicyReader`]) closes its connection without an answer. In tag mode a message is
/// tagged once: later requests about the same `instance` (one per recipient) get `DUNNO`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use dnsbl_check::mail::serve::{Limits, PolicyServer};
/// use dnsbl_check::mail::{SessionFilter, SessionPolicy};
/// use dnsbl_check::{Checker, DnsList, ListKind};
///
/// let checker = Checker::builder()
///     .list(DnsList::from_spec("bl.example", ListKind::Ip).unwrap())
///     .build()
///     .unwrap();
/// let filter = Arc::new(SessionFilter::new(checker, SessionPolicy::default()));
/// let server = PolicyServer::new(filter)
///     .idle_timeout(Duration::from_secs(330))
///     .limits(Limits::new(512, 256));
/// ```
pub struct PolicyServer<R> {
    filter: Arc<SessionFilter<R>>,
    idle: Duration,
    limits: Limits,
}

impl<R: DnsResolver> PolicyServer<R> {
    /// A server deciding with `filter`: idle connections closed after 330 s (a little longer
    /// than Postfix's `smtpd_policy_service_max_idle`, so that Postfix closes first), at
    /// most 512 connections, 256 per peer.
    pub fn new(filter: Arc<SessionFilter<R>>) -> Self {
        PolicyServer {
            filter,
            idle: Duration::from_secs(330),
            limits: Limits::new(512, 256),
        }
    }

    connection_settings!(
        "How long a connection may wait for a request (or take to read its answer)."
    );

    /// Serves the connections of `listener` until `shutdown` yields (see
    /// [`serve_connections`](super::serve_connections)): each connection finishes the request it is processing.
    pub async fn serve(&self, listener: Listener, shutdown: impl Stream<Item = ()>) {
        let settings = (self.limits, self.idle);
        serve_each(listener, settings, shutdown, &self.filter, serve_one).await;
    }
}

/// What one request was answered, and what to log about it.
struct Decision {
    action: String,
    client: String,
    evaluation: Option<Evaluation>,
    note: Option<&'static str>,
}

impl Decision {
    /// Whether the verdict tags the message (its action is a `PREPEND`).
    fn tags(&self) -> bool {
        let verdict = self.evaluation.as_ref().map(|e| &e.verdict);
        matches!(verdict, Some(Verdict::Tag(_)))
    }

    /// The one log line of a decision. Client-supplied text is quoted and escaped.
    fn log(&self, peer: &str, elapsed: Duration) {
        let (checked, listed, trouble) = match &self.evaluation {
            Some(e) => (
                joined(&e.checked, " "),
                joined(&e.listed, ", "),
                joined(&e.trouble, ", "),
            ),
            None => Default::default(),
        };
        let fcrdns = self.evaluation.as_ref().and_then(|e| e.fcrdns);
        let skipped = self.evaluation.as_ref().and_then(|e| e.note);
        let note = self.note.or(skipped.map(SkipReason::as_str));
        info!(
            peer,
            client = ?self.client,
            checked = ?checked,
            listed = ?listed,
            trouble = ?trouble,
            fcrdns = %fcrdns.map_or("-", FcrdnsStatus::as_str),
            note = %note.unwrap_or("-"),
            action = ?self.action,
            ms = millis(elapsed),
            "decision"
        );
    }
}

/// Answers one request. A request that cannot be answered is a bad request.
async fn decide<R: DnsResolver>(
    filter: &SessionFilter<R>,
    request: &PolicyRequest,
) -> Result<Decision, String> {
    if !request.is_access_policy() {
        return Ok(Decision {
            action: "DUNNO".into(),
            client: "-".into(),
            evaluation: None,
            note: Some("request type not handled"),
        });
    }
    let Some(client) = request.get("client_address") else {
        return Err("smtpd_access_policy request without client_address".into());
    };
    let evaluation = filter.evaluate(&request.session_facts()).await;
    Ok(Decision {
        action: action(&evaluation.verdict),
        client: client.to_owned(),
        evaluation: Some(evaluation),
        note: None,
    })
}

/// Serves one connection: request, answer, request, answer... until the client closes, a
/// request is bad, the connection idles too long, or shutdown begins between requests.
async fn serve_one<R: DnsResolver>(mut served: Served<SessionFilter<R>>) {
    let (peer, idle) = (served.peer.as_str(), served.idle);
    let (reader, mut writer) = tokio::io::split(served.connection);
    let mut reader = PolicyReader::new(reader);
    // The message last tagged on this connection: Postfix asks once per recipient, and the
    // header should be added once per message.
    let mut tagged_instance: Option<String> = None;
    loop {
        // Shutdown and the idle timeout end the wait for a request's first line. Once a
        // request has begun, it is read to its end (within the idle timeout), so that
        // shutdown never cuts a request in half. While it waits for input, the connection
        // may be closed to make room for a new one.
        served.slot.idle();
        let first = tokio::select! {
            biased;
            read = tokio::time::timeout(idle, reader.wait_for_request()) => read,
            _ = served.stopping.wait_for(|stop| *stop) => return,
        };
        let Some(first) = went_on(peer, first) else {
            return;
        };
        let request = match first {
            Ok(()) => match tokio::time::timeout(idle, reader.finish_request()).await {
                Ok(read) => read.map_err(|error| error.to_string()),
                Err(_) => Err("timed out in the middle of a request".to_owned()),
            },
            Err(error) => Err(error.to_string()),
        };
        let started = Instant::now();
        served.slot.busy();
        let decided = match request {
            Ok(request) => decide(&served.shared, &request).await.map(|d| (d, request)),
            Err(problem) => Err(problem),
        };
        let (mut decision, request) = match decided {
            Ok(decided) => decided,
            Err(problem) => {
                warn!(%peer, %problem, "bad request: closing the connection");
                return;
            }
        };
        if decision.tags() {
            let instance = request.get("instance").filter(|id| !id.is_empty());
            if instance.is_some() && instance == tagged_instance.as_deref() {
                decision.action = "DUNNO".into();
                decision.note = Some("already tagged for this message");
            } else {
                tagged_instance = instance.map(str::to_owned);
            }
        }
        let answer = reply(&decision.action);
        // Sending waits on the client: a client that does not read its answers may be
        // closed to make room, like one that sends nothing.
        served.slot.idle();
        let written = tokio::time::timeout(idle, async {
            writer.write_all(answer.as_bytes()).await?;
            writer.flush().await
        })
        .await;
        decision.log(peer, started.elapsed());
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
        if *served.stopping.borrow() {
            return;
        }
    }
}
