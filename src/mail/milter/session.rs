//! The filter's side of one milter connection, without I/O: commands in, the steps the
//! filter must take and the responses to send out.

use std::net::IpAddr;

use super::{Actions, ClientAddress, Command, MilterError, Options, ProtocolFlags, Response};
use crate::mail::{
    Evaluation, MessageReader, MessageReading, SessionFacts, SessionPolicy, Unchecked, Verdict,
    joined, one_line,
};

/// The steps this filter wants left out, and those it does not answer (kept only where the
/// MTA offers them).
const WANTED_PROTOCOL: ProtocolFlags = ProtocolFlags::from_bits(
    ProtocolFlags::NO_RCPT.bits()
        | ProtocolFlags::NO_DATA.bits()
        | ProtocolFlags::NO_UNKNOWN.bits()
        | ProtocolFlags::NR_HELO.bits()
        | ProtocolFlags::NR_MAIL.bits()
        | ProtocolFlags::NR_RCPT.bits()
        | ProtocolFlags::NR_DATA.bits()
        | ProtocolFlags::NR_UNKNOWN.bits()
        | ProtocolFlags::NR_HEADER.bits()
        | ProtocolFlags::NR_EOH.bits()
        | ProtocolFlags::NR_BODY.bits(),
);

/// The longest `X-DNSBL-Unchecked` value.
const MAX_UNCHECKED: usize = 400;

/// How much of a message a [`MilterSession`] keeps. Whether it tags or rejects is its
/// [`SessionPolicy`](crate::mail::SessionPolicy)'s to say, and what the reading names its
/// [`MessageReader`]'s.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::milter::MilterConfig;
///
/// let config = MilterConfig::default().max_message_size(512 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct MilterConfig {
    max_message_size: usize,
}

impl Default for MilterConfig {
    fn default() -> Self {
        MilterConfig {
            max_message_size: 1024 * 1024,
        }
    }
}

impl MilterConfig {
    /// The most bytes of a message (headers and body) kept for reading (default 1 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }
}

/// Where in the session a verdict is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// At connect: the client's address.
    Connect,
    /// At the end of a message: its relays and domains.
    Message,
}

impl Stage {
    /// `connect` or `message`, as logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Message => "message",
        }
    }
}

/// What the filter must do after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Send these responses (none for a command the negotiation left unanswered), then read
    /// the next command.
    Reply(Vec<Response>),
    /// Evaluate these facts (with [`SessionFilter::evaluate`](crate::mail::SessionFilter::evaluate))
    /// and hand the evaluation to [`MilterSession::verdict`].
    Evaluate(Box<SessionFacts>),
    /// Read this message (with [`MessageReader::read`](crate::mail::MessageReader::read), for
    /// the client [`MilterSession::client`]) and hand what was found, with the reader, to
    /// [`MilterSession::message_read`].
    ReadMessage(Vec<u8>),
    /// The MTA quit: close the connection.
    Close,
}

/// One milter connection, the filter's side, without I/O: each [`Command`] read from the MTA
/// gives a [`Step`]; verdicts from a [`SessionFilter`](crate::mail::SessionFilter) give the
/// responses.
///
/// The session negotiates to be sent only what it needs (no recipients, no replies to
/// headers and body chunks), evaluates the client at connect (a listed client is refused at
/// once) and the message at its end. A client address the MTA does not know or sent
/// unreadable is evaluated as such (trouble, a tempfail when failing closed): never a dropped
/// connection, which `milter_default_action = accept` would turn into acceptance.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::milter::{
///     Actions, Command, MilterConfig, MilterSession, Options, ProtocolFlags, Response, Step,
/// };
/// use dnsbl_check::mail::SessionPolicy;
///
/// let mut session = MilterSession::new(MilterConfig::default(), &SessionPolicy::default());
/// let offer = Options::new(Actions::from_bits(0x1ff), ProtocolFlags::from_bits(0x1f_ffff));
/// let Step::Reply(replies) = session.command(Command::Negotiate(offer)).unwrap() else {
///     unreachable!()
/// };
/// assert!(matches!(replies[..], [Response::Negotiate(_)]));
/// // HELO gets no reply: the negotiation said so.
/// let step = session.command(Command::Helo("client.example".into())).unwrap();
/// assert_eq!(step, Step::Reply(Vec::new()));
/// assert_eq!(session.command(Command::Quit).unwrap(), Step::Close);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MilterSession {
    config: MilterConfig,
    /// Whether the policy tags instead of rejecting: the session asks the MTA for
    /// [`Actions::ADD_HEADERS`], and adds `X-DNSBL-Unchecked` to a message not checked in
    /// full.
    tag_only: bool,
    /// Whether the negotiation is done.
    negotiated: bool,
    /// What was agreed: which commands get no reply.
    protocol: ProtocolFlags,
    client: Option<IpAddr>,
    client_text: String,
    /// A tag from the connect stage, to add to each message.
    client_tag: Option<String>,
    queue_id: String,
    /// Between MAIL (or the first header) and the end of the message or an abort.
    in_message: bool,
    message: Vec<u8>,
    /// Whether the message was longer than what was kept of it.
    cut: bool,
    /// The stage whose verdict is awaited.
    pending: Option<Stage>,
}

impl MilterSession {
    /// A session before the negotiation, for verdicts of a filter deciding by `policy`
    /// (which says whether it tags instead of rejecting).
    pub fn new(config: MilterConfig, policy: &SessionPolicy) -> Self {
        MilterSession {
            config,
            tag_only: policy.is_tag_only(),
            ..MilterSession::default()
        }
    }

    /// Whether the negotiation is done.
    pub fn negotiated(&self) -> bool {
        self.negotiated
    }

    /// Whether a message is in progress: between MAIL (or its first header) and its end or
    /// an abort. A server shutting down lets it finish.
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// The client's address, when the connect gave one.
    pub fn client(&self) -> Option<IpAddr> {
        self.client
    }

    /// The client's address as logged (`-` when there is none).
    pub fn client_text(&self) -> &str {
        &self.client_text
    }

    /// The MTA's queue id of the message (macro `i`), when it sent one.
    pub fn queue_id(&self) -> &str {
        &self.queue_id
    }

    /// Decodes `packet` (command byte and data, as [`read_packet`](super::read_packet) reads
    /// it) and takes the [`Step`] it asks for.
    pub fn packet(&mut self, packet: &[u8]) -> Result<Step, MilterError> {
        self.command(Command::parse(packet)?)
    }

    /// The step a command asks for. An error (a negotiation that cannot be agreed) means the
    /// connection should be closed.
    pub fn command(&mut self, command: Command) -> Result<Step, MilterError> {
        let reply = match command {
            Command::Negotiate(offer) => {
                let actions = if self.tag_only {
                    Actions::ADD_HEADERS
                } else {
                    Actions::NONE
                };
                let agreed = offer.agree(&Options::new(actions, WANTED_PROTOCOL))?;
                self.protocol = agreed.protocol;
                self.negotiated = true;
                Some(Response::Negotiate(agreed))
            }
            Command::Macros { pairs, .. } => {
                if let Some((_, id)) = pairs.iter().find(|(name, _)| name == "i") {
                    self.queue_id.clone_from(id);
                }
                None
            }
            Command::Connect { address, .. } => return Ok(self.connect(address)),
            Command::Helo(_) => self.reply_unless(ProtocolFlags::NR_HELO),
            Command::Mail(_) => {
                self.start_message();
                self.reply_unless(ProtocolFlags::NR_MAIL)
            }
            Command::Rcpt(_) => self.reply_unless(ProtocolFlags::NR_RCPT),
            Command::Data => self.reply_unless(ProtocolFlags::NR_DATA),
            Command::Unknown(_) => self.reply_unless(ProtocolFlags::NR_UNKNOWN),
            Command::Header { name, value } => {
                self.append(&[name.as_bytes(), b": ", &value, b"\r\n"].concat());
                self.reply_unless(ProtocolFlags::NR_HEADER)
            }
            Command::EndOfHeaders => {
                self.append(b"\r\n");
                self.reply_unless(ProtocolFlags::NR_EOH)
            }
            Command::Body(chunk) => {
                self.append(&chunk);
                self.reply_unless(ProtocolFlags::NR_BODY)
            }
            Command::EndOfMessage(chunk) => {
                self.append(&chunk);
                self.pending = Some(Stage::Message);
                return Ok(Step::ReadMessage(std::mem::take(&mut self.message)));
            }
            Command::Abort => {
                self.end_message();
                None
            }
            Command::QuitNewConnection => {
                *self = MilterSession {
                    config: self.config.clone(),
                    tag_only: self.tag_only,
                    negotiated: self.negotiated,
                    protocol: self.protocol,
                    ..MilterSession::default()
                };
                None
            }
            Command::Quit => return Ok(Step::Close),
        };
        Ok(Step::Reply(reply.into_iter().collect()))
    }

    /// The facts to evaluate for the message just read by `reader`: what `reading` found
    /// (`None` when the message could not be read), and what was not checked of it, in the
    /// reader's terms (its cap, its time budget).
    pub fn message_read(
        &mut self,
        reading: Option<MessageReading>,
        reader: &MessageReader,
    ) -> SessionFacts {
        let mut unchecked = Vec::new();
        let reading = reading.unwrap_or_else(|| {
            unchecked.push(Unchecked::Unreadable);
            MessageReading::default()
        });
        if reading.capped {
            unchecked.push(Unchecked::Capped(reader.cap()));
        }
        if self.cut {
            unchecked.push(Unchecked::Cut(self.config.max_message_size));
        }
        if let (true, Some(budget)) = (reading.cut, reader.budget()) {
            unchecked.push(Unchecked::ReadingStopped(budget));
        }
        SessionFacts {
            unchecked,
            ..SessionFacts::from(reading.targets)
        }
    }

    /// The responses to send for the evaluation of the step last asked for
    /// ([`Step::Evaluate`] at connect, [`Step::ReadMessage`] at the end of a message).
    ///
    /// A tag at connect is kept and added to each message; at the end of a message, the tags
    /// become an `X-DNSBL` header and, in tag mode, what was not checked an
    /// `X-DNSBL-Unchecked` header.
    pub fn verdict(&mut self, evaluation: &Evaluation) -> Vec<Response> {
        let tag = match &evaluation.verdict {
            Verdict::Tag(text) => Some(text.clone()),
            _ => None,
        };
        let last = Response::for_verdict(&evaluation.verdict);
        if self.pending.take() != Some(Stage::Message) {
            if tag.is_some() {
                self.client_tag = tag;
            }
            return vec![last];
        }
        let tags: Vec<String> = self.client_tag.iter().cloned().chain(tag).collect();
        let unchecked = one_line(&joined(&evaluation.unchecked, "; "), MAX_UNCHECKED);
        let mut responses = Vec::new();
        if last == Response::Continue && !tags.is_empty() {
            responses.push(Response::AddHeader {
                name: "X-DNSBL".into(),
                value: tags.join("; "),
            });
        }
        if last == Response::Continue && self.tag_only && !unchecked.is_empty() {
            responses.push(Response::AddHeader {
                name: "X-DNSBL-Unchecked".into(),
                value: unchecked,
            });
        }
        responses.push(last);
        self.end_message();
        responses
    }

    /// A connect: the facts to evaluate, or at once `Continue` for a local (Unix socket)
    /// client, not checked like any local client.
    fn connect(&mut self, address: ClientAddress) -> Step {
        self.client = match address {
            ClientAddress::Ip(ip, _) => Some(ip),
            _ => None,
        };
        self.client_text = self
            .client
            .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        self.client_tag = None;
        let facts = match (self.client, &address) {
            (Some(client), _) => SessionFacts::client(client),
            (None, ClientAddress::Unknown) => SessionFacts::unreadable_client("unknown"),
            (None, ClientAddress::Unreadable(text)) => SessionFacts::unreadable_client(text),
            (None, _) => return Step::Reply(vec![Response::Continue]),
        };
        self.pending = Some(Stage::Connect);
        Step::Evaluate(Box::new(facts))
    }

    fn start_message(&mut self) {
        self.in_message = true;
        self.message.clear();
        self.cut = false;
    }

    fn end_message(&mut self) {
        self.in_message = false;
        self.message = Vec::new();
        self.cut = false;
    }

    /// Appends to the message, up to the configured size.
    fn append(&mut self, bytes: &[u8]) {
        self.in_message = true;
        let room = self
            .config
            .max_message_size
            .saturating_sub(self.message.len());
        self.cut |= bytes.len() > room;
        self.message
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// `Continue`, unless the negotiation said this command gets no reply.
    fn reply_unless(&self, no_reply: ProtocolFlags) -> Option<Response> {
        (!self.protocol.intersects(no_reply)).then_some(Response::Continue)
    }
}

impl Response {
    /// The response for a verdict: `550 5.7.1` to reject, `451 4.7.1` to tempfail, else
    /// continue (a tag is added as a header at the end of the message).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::Verdict;
    /// use dnsbl_check::mail::milter::Response;
    ///
    /// let reject = Verdict::Reject("client [192.0.2.1] blocked using bl.example".into());
    /// assert_eq!(
    ///     Response::for_verdict(&reject),
    ///     Response::ReplyCode("550 5.7.1 client [192.0.2.1] blocked using bl.example".into())
    /// );
    /// assert_eq!(Response::for_verdict(&Verdict::Accept), Response::Continue);
    /// ```
    pub fn for_verdict(verdict: &Verdict) -> Response {
        match verdict {
            Verdict::Reject(text) => Response::reply_code(550, "5.7.1", text),
            Verdict::Tempfail(text) => Response::reply_code(451, "4.7.1", text),
            _ => Response::Continue,
        }
    }
}
