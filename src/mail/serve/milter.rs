//! A milter server: packets in, a [`MilterSession`] per connection, a [`SessionFilter`]'s
//! verdicts out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::io::AsyncWriteExt;
use tracing::{debug, info, warn};

use super::{Limits, Listener, Served, millis, serve_each, went_on};
use crate::mail::milter::{
    Command, MAX_PACKET, MilterConfig, MilterSession, Response, Stage, Step, read_packet,
};
use crate::mail::{
    Evaluation, MessageReader, SessionFilter, SkipReason, Verdict, joined, one_line,
};
use crate::resolver::DnsResolver;

/// How long a new connection may take to send its negotiation: Postfix sends it at once
/// after connecting, and gives up itself after milter_connect_timeout (30 s by default).
const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(30);

/// A milter over one [`SessionFilter`]: the client checked at connect, the message's relays
/// and domains at its end.
///
/// Packets above [`MAX_PACKET`], other malformed packets and unknown commands close their
/// connection (the MTA then applies its `milter_default_action`). A message is read on a
/// blocking thread, so that one large message never holds up another connection's verdict.
/// A connection must negotiate within 30 s; a message in progress is finished at shutdown.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use dnsbl_check::mail::milter::MilterConfig;
/// use dnsbl_check::mail::serve::{Limits, MilterServer};
/// use dnsbl_check::mail::{MessageReader, SessionFilter, SessionPolicy};
/// use dnsbl_check::{Checker, DnsList, ListKind};
///
/// let checker = Checker::builder()
///     .list(DnsList::from_spec("bl.example", ListKind::Ip).unwrap())
///     .build()
///     .unwrap();
/// let filter = SessionFilter::new(checker, SessionPolicy::default());
/// let server = MilterServer::new(filter, MessageReader::default(), MilterConfig::default())
///     .idle_timeout(Duration::from_secs(330))
///     .limits(Limits::new(1024, 512));
/// ```
pub struct MilterServer<R> {
    shared: Arc<Shared<R>>,
    idle: Duration,
    limits: Limits,
}

/// What every connection shares.
struct Shared<R> {
    filter: SessionFilter<R>,
    reader: MessageReader,
    config: MilterConfig,
}

impl<R: DnsResolver> MilterServer<R> {
    /// A milter deciding with `filter`, reading messages with `reader`: idle connections
    /// closed after 330 s (a little longer than Postfix's `smtpd_timeout`), at most 1024
    /// connections, 512 per peer.
    pub fn new(filter: SessionFilter<R>, reader: MessageReader, config: MilterConfig) -> Self {
        let shared = Shared {
            filter,
            reader,
            config,
        };
        MilterServer {
            shared: Arc::new(shared),
            idle: Duration::from_secs(330),
            limits: Limits::new(1024, 512),
        }
    }

    connection_settings!(
        "How long a connection may wait for the MTA's next command (or take to read a reply)."
    );

    /// The session filter.
    pub fn filter(&self) -> &SessionFilter<R> {
        &self.shared.filter
    }

    /// Serves the connections of `listener` until `shutdown` yields (see
    /// [`serve_connections`](super::serve_connections)): each connection finishes the message it is in.
    pub async fn serve(&self, listener: Listener, shutdown: impl Stream<Item = ()>) {
        let settings = (self.limits, self.idle);
        serve_each(listener, settings, shutdown, &self.shared, serve_one).await;
    }
}

/// Serves one connection until the MTA quits, a packet is bad, the connection idles too
/// long, or shutdown begins outside a message.
async fn serve_one<R: DnsResolver>(mut served: Served<Shared<R>>) {
    let (peer, idle) = (served.peer.as_str(), served.idle);
    let (mut reader, mut writer) = tokio::io::split(served.connection);
    let mut session =
        MilterSession::new(served.shared.config.clone(), served.shared.filter.policy());
    let mut packet = Vec::new();
    loop {
        // While it waits for the MTA, the connection may be closed to make room for a new
        // one; while it decides, it is not.
        served.slot.idle();
        let wait = if session.negotiated() {
            idle
        } else {
            NEGOTIATION_TIMEOUT
        };
        let read = read_packet(&mut reader, &mut packet, MAX_PACKET);
        let read = tokio::time::timeout(wait, read);
        let read = if session.in_message() {
            // A message in progress is finished, shutdown or not.
            read.await
        } else {
            tokio::select! {
                biased;
                read = read => read,
                _ = served.stopping.wait_for(|stop| *stop) => return,
            }
        };
        let Some(read) = went_on(peer, read) else {
            return;
        };
        let command = match read.and_then(|()| Command::parse(&packet)) {
            Ok(command) => command,
            Err(problem) => {
                warn!(%peer, %problem, "bad packet: closing the connection");
                return;
            }
        };
        served.slot.busy();
        let responses = match session.command(command) {
            Ok(Step::Close) => return,
            Ok(step) => decide(&served.shared, &mut session, step).await,
            Err(problem) => {
                warn!(%peer, %problem, "cannot go on: closing the connection");
                return;
            }
        };
        let bytes: Vec<u8> = responses.iter().flat_map(Response::to_bytes).collect();
        // Sending waits on the MTA: one that does not read may be closed to make room.
        served.slot.idle();
        if !bytes.is_empty() {
            let written = tokio::time::timeout(idle, writer.write_all(&bytes)).await;
            if !matches!(written, Ok(Ok(()))) {
                debug!(%peer, "cannot send the answer");
                return;
            }
        }
        if *served.stopping.borrow() && !session.in_message() {
            return;
        }
    }
}

/// Takes a step of the session: the responses to send.
///
/// A message is read on a blocking thread, within the reader's time budget: reading is CPU
/// work, and one large message must never hold up another connection's verdict.
async fn decide<R: DnsResolver>(
    milter: &Arc<Shared<R>>,
    session: &mut MilterSession,
    step: Step,
) -> Vec<Response> {
    let started = Instant::now();
    let (stage, facts) = match step {
        Step::Evaluate(facts) => (Stage::Connect, *facts),
        Step::ReadMessage(message) => {
            let client = session.client();
            let reading = Arc::clone(milter);
            let read = tokio::task::spawn_blocking(move || reading.reader.read(&message, client));
            let read = read.await.map_err(|error| {
                warn!(queue_id = %session.queue_id(), %error, "the message could not be read");
            });
            (
                Stage::Message,
                session.message_read(read.ok(), &milter.reader),
            )
        }
        Step::Reply(responses) => return responses,
        _ => return Vec::new(),
    };
    let evaluation = milter.filter.evaluate(&facts).await;
    let responses = session.verdict(&evaluation);
    log(session, stage, &evaluation, responses.last(), started);
    responses
}

/// The one log line of a decision, and a warning for a message not checked in full.
/// Message-supplied text is quoted and escaped.
fn log(
    session: &MilterSession,
    stage: Stage,
    e: &Evaluation,
    response: Option<&Response>,
    started: Instant,
) {
    let action = match response {
        Some(Response::ReplyCode(text)) => text.replace("%%", "%"),
        Some(Response::Continue) if matches!(e.verdict, Verdict::Tag(_)) => "tag".into(),
        _ => "continue".into(),
    };
    info!(
        client = %session.client_text(),
        queue_id = %session.queue_id(),
        stage = stage.as_str(),
        checked = ?joined(&e.checked, " "),
        listed = ?joined(&e.listed, ", "),
        trouble = ?joined(&e.trouble, ", "),
        note = %e.note.map_or("-", SkipReason::as_str),
        action = ?action,
        ms = millis(started.elapsed()),
        "decision"
    );
    let unchecked = one_line(&joined(&e.unchecked, "; "), 400);
    if stage == Stage::Message && !unchecked.is_empty() {
        warn!(queue_id = %session.queue_id(), client = %session.client_text(), unchecked = ?unchecked, "message not fully checked");
    }
}
