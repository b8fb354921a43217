//! Postfix's SMTP access policy delegation protocol, read with hard limits.
//!
//! A request is `name=value` lines ended by an empty line; the answer is `action=...` and an
//! empty line. Postfix keeps a connection open for many requests. Everything read is hostile:
//! lines, attributes and whole requests have size limits, checked before anything grows, and
//! a request that breaks the protocol is an error, never a guess.
//!
//! # Examples
//!
//! ```
//! use dnsbl_check::mail::postfix_policy::{PolicyReader, reply};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let input: &[u8] = b"request=smtpd_access_policy\nclient_address=192.0.2.1\n\n";
//! let mut reader = PolicyReader::new(input);
//! let request = reader.read_request().await.unwrap().unwrap();
//! assert_eq!(request.get("client_address"), Some("192.0.2.1"));
//! assert_eq!(request.session_facts().client, Some("192.0.2.1".parse().unwrap()));
//! assert_eq!(reply("DUNNO"), "action=DUNNO\n\n");
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};

use crate::mail::text::shorten;
use crate::mail::{SessionFacts, Verdict};

/// The longest request line accepted. Postfix attributes (certificate names, SASL names)
/// can be long, but never this long.
pub const MAX_LINE: usize = 4096;
/// The most attributes in one request (Postfix 3.7 sends about 40).
pub const MAX_ATTRIBUTES: usize = 128;
/// The most bytes in one request.
pub const MAX_REQUEST: usize = 64 * 1024;

/// Why a request could not be read. The connection should be closed without an answer: the
/// request cannot be trusted to be what the client meant.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::postfix_policy::{PolicyError, PolicyReader};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut reader = PolicyReader::new(&b"no equals sign\n\n"[..]);
/// let error = reader.read_request().await.unwrap_err();
/// assert!(matches!(error, PolicyError::NoEquals(_)));
/// assert_eq!(error.to_string(), "line without '=': \"no equals sign\"");
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Reading failed.
    #[error("read error: {0}")]
    Io(#[source] std::io::Error),
    /// A line is longer than [`MAX_LINE`].
    #[error("line longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// A request is longer than [`MAX_REQUEST`].
    #[error("request longer than {MAX_REQUEST} bytes")]
    RequestTooLong,
    /// A request has more than [`MAX_ATTRIBUTES`] attributes.
    #[error("more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    /// A line is not UTF-8.
    #[error("line is not UTF-8")]
    NotUtf8,
    /// A line has no `=` (the start of the line is kept, shortened).
    #[error("line without '=': {0:?}")]
    NoEquals(String),
    /// A line starts with `=`.
    #[error("attribute without a name")]
    NoName,
    /// An empty line where a request should start.
    #[error("empty request")]
    Empty,
    /// The input ended in the middle of a line.
    #[error("connection closed in the middle of a line")]
    ClosedInLine,
    /// The input ended in the middle of a request.
    #[error("connection closed in the middle of a request")]
    ClosedInRequest,
}

/// One policy request: its attributes, in order. Unknown attributes are kept and ignored, as
/// the protocol asks.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::postfix_policy::PolicyRequest;
///
/// let mut request = PolicyRequest::default();
/// request.push("request", "smtpd_access_policy");
/// request.push("sender", "someone@example.org");
/// assert!(request.is_access_policy());
/// assert_eq!(request.get("sender"), Some("someone@example.org"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRequest {
    attributes: Vec<(String, String)>,
}

impl PolicyRequest {
    /// Adds an attribute. A repeated name replaces the earlier value for [`PolicyRequest::get`].
    pub fn push(&mut self, name: &str, value: &str) {
        self.attributes.push((name.to_owned(), value.to_owned()));
    }

    /// The value of `name` (the last one, if repeated).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .rev()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every attribute, in order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// Whether this is an `smtpd_access_policy` request (the only kind Postfix sends today).
    pub fn is_access_policy(&self) -> bool {
        self.get("request") == Some("smtpd_access_policy")
    }

    /// The client, HELO name, verified client name and sender of the request. A
    /// `client_address` that is not an address is no client address: Postfix sends
    /// `unknown` when it does not know the client's address (an XCLIENT `ADDR=[UNAVAILABLE]`,
    /// a peer it could not read), and anything else unreadable (`[192.0.2.1]`, an empty text)
    /// is a client that cannot be checked either. Both are kept, sanitised, as
    /// [`SessionFacts::unreadable_client`]: trouble for the filter, never a clean client. A
    /// `client_name` of `unknown` is no name.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::postfix_policy::PolicyRequest;
    ///
    /// let mut request = PolicyRequest::default();
    /// request.push("client_address", "192.0.2.1%eth0");
    /// let facts = request.session_facts();
    /// assert_eq!(facts.client, None);
    /// assert_eq!(facts.unreadable_client.as_deref(), Some("192.0.2.1%eth0"));
    /// ```
    pub fn session_facts(&self) -> SessionFacts {
        let address = self.get("client_address");
        let client = address.and_then(parse_client_address);
        let unreadable = match (client, address) {
            (None, Some(text)) => SessionFacts::unreadable_client(text).unreadable_client,
            _ => None,
        };
        SessionFacts {
            client,
            unreadable_client: unreadable,
            helo: self.get("helo_name").map(str::to_owned),
            sender: self.get("sender").map(str::to_owned),
            client_name: self
                .get("client_name")
                .filter(|name| !name.eq_ignore_ascii_case("unknown"))
                .map(str::to_owned),
            ..SessionFacts::default()
        }
    }
}

impl fmt::Display for PolicyRequest {
    /// The request as sent on the wire (without checking the values).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.attributes {
            writeln!(f, "{name}={value}")?;
        }
        writeln!(f)
    }
}

/// A client address as Postfix sends it (`192.0.2.1`, `2001:db8::1`, sometimes with an
/// `IPv6:` prefix); `None` for `unknown` and anything else that is not an address.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::postfix_policy::parse_client_address;
///
/// assert_eq!(parse_client_address("IPv6:2001:db8::1"), "2001:db8::1".parse().ok());
/// assert_eq!(parse_client_address("unknown"), None);
/// ```
pub fn parse_client_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = match text.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("ipv6:") => &text[5..],
        _ => text,
    };
    text.parse().ok()
}

/// The answer to a request: `action=ACTION` and the empty line. The action must be one line
/// (see [`one_line`](crate::mail::one_line)).
///
/// # Examples
///
/// ```
/// assert_eq!(dnsbl_check::mail::postfix_policy::reply("DUNNO"), "action=DUNNO\n\n");
/// ```
pub fn reply(action: &str) -> String {
    format!("action={action}\n\n")
}

/// The longest action (an SMTP reply line is at most 512 octets, and Postfix adds its own
/// prefix and the recipient to it).
pub const MAX_ACTION: usize = 400;

/// The action for a verdict: `REJECT text`, `PREPEND X-DNSBL: text`, `DEFER_IF_PERMIT text`
/// or `DUNNO`, one line of at most [`MAX_ACTION`] bytes.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::Verdict;
/// use dnsbl_check::mail::postfix_policy::action;
///
/// let tag = Verdict::Tag("192.0.2.1 listed by bl.example (127.0.0.2)".into());
/// assert_eq!(action(&tag), "PREPEND X-DNSBL: 192.0.2.1 listed by bl.example (127.0.0.2)");
/// assert_eq!(action(&Verdict::Accept), "DUNNO");
/// ```
pub fn action(verdict: &Verdict) -> String {
    let action = match verdict {
        Verdict::Reject(text) => format!("REJECT {text}"),
        Verdict::Tag(text) => format!("PREPEND X-DNSBL: {text}"),
        Verdict::Tempfail(text) => format!("DEFER_IF_PERMIT {text}"),
        _ => "DUNNO".into(),
    };
    crate::mail::one_line(&action, MAX_ACTION)
}

/// Reads requests from a stream, one at a time, within the limits.
///
/// [`PolicyReader::wait_for_request`] waits for a request's first line (a server may give up
/// waiting at shutdown or after an idle time); [`PolicyReader::finish_request`] then reads the
/// rest. [`PolicyReader::read_request`] does both.
pub struct PolicyReader<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
}

impl<R: AsyncRead + Unpin> PolicyReader<R> {
    /// A reader of requests from `reader`.
    pub fn new(reader: R) -> Self {
        PolicyReader {
            reader: BufReader::new(reader),
            line: Vec::with_capacity(512),
        }
    }

    /// Reads the next request; `None` when the input ends between requests.
    pub async fn read_request(&mut self) -> Result<Option<PolicyRequest>, PolicyError> {
        if !self.wait_for_request().await? {
            return Ok(None);
        }
        self.finish_request().await.map(Some)
    }

    /// Reads the first line of the next request; `false` when the input ends first. Safe to
    /// cancel: a line read in part is kept for the next call.
    pub async fn wait_for_request(&mut self) -> Result<bool, PolicyError> {
        read_line(&mut self.reader, &mut self.line).await
    }

    /// Reads the rest of a request whose first line [`PolicyReader::wait_for_request`] read.
    pub async fn finish_request(&mut self) -> Result<PolicyRequest, PolicyError> {
        let mut request = PolicyRequest::default();
        let mut size = 0;
        loop {
            size += self.line.len() + 1;
            if size > MAX_REQUEST {
                return Err(PolicyError::RequestTooLong);
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            if self.line.is_empty() {
                return match request.attributes.is_empty() {
                    true => Err(PolicyError::Empty),
                    false => Ok(request),
                };
            }
            if request.attributes.len() == MAX_ATTRIBUTES {
                return Err(PolicyError::TooManyAttributes);
            }
            let text = std::str::from_utf8(&self.line).map_err(|_| PolicyError::NotUtf8)?;
            let Some((name, value)) = text.split_once('=') else {
                return Err(PolicyError::NoEquals(shorten(text, 60)));
            };
            if name.is_empty() {
                return Err(PolicyError::NoName);
            }
            request.push(name, value);
            self.line.clear();
            if !read_line(&mut self.reader, &mut self.line).await? {
                return Err(PolicyError::ClosedInRequest);
            }
        }
    }
}

/// Appends the rest of a line to `line`, without its `\n`. `Ok(false)` at the end of input
/// before any byte; a line cut short by the end of input, or longer than [`MAX_LINE`], is an
/// error. The line is complete (and `line` to be cleared by the caller) when this returns.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> Result<bool, PolicyError> {
    loop {
        let available = reader.fill_buf().await.map_err(PolicyError::Io)?;
        if available.is_empty() {
            return match line.is_empty() {
                true => Ok(false),
                false => Err(PolicyError::ClosedInLine),
            };
        }
        let (take, done) = match available.iter().position(|&byte| byte == b'\n') {
            Some(end) => (end, true),
            None => (available.len(), false),
        };
        if line.len() + take > MAX_LINE {
            return Err(PolicyError::LineTooLong);
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(take + usize::from(done));
        if done {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8]) -> Result<Option<PolicyRequest>, PolicyError> {
        PolicyReader::new(input).read_request().await
    }

    #[tokio::test]
    async fn requests_one_after_another() {
        let input: &[u8] = b"request=smtpd_access_policy\r\nclient_address=192.0.2.1\r\nx=a=b\r\n\r\nrequest=junk\n\n";
        let mut reader = PolicyReader::new(input);
        let first = reader.read_request().await.unwrap().unwrap();
        assert!(first.is_access_policy());
        assert_eq!(first.get("x"), Some("a=b"));
        let second = reader.read_request().await.unwrap().unwrap();
        assert!(!second.is_access_policy());
        assert!(reader.read_request().await.unwrap().is_none());
        assert_eq!(
            first.to_string(),
            "request=smtpd_access_policy\nclient_address=192.0.2.1\nx=a=b\n\n"
        );
    }

    #[tokio::test]
    async fn every_limit_and_malformation_is_an_error() {
        let long_line = format!("a={}\n\n", "x".repeat(MAX_LINE));
        let many = "a=b\n".repeat(MAX_ATTRIBUTES + 1) + "\n";
        let big = format!("{}\n", format!("a={}\n", "x".repeat(4000)).repeat(17));
        let cases: [(&[u8], &str); 8] = [
            (long_line.as_bytes(), "line longer than 4096 bytes"),
            (many.as_bytes(), "more than 128 attributes"),
            (big.as_bytes(), "request longer than 65536 bytes"),
            (b"a=\xff\n\n", "line is not UTF-8"),
            (b"abc\n\n", "line without '='"),
            (b"=x\n\n", "attribute without a name"),
            (b"\n", "empty request"),
            (b"a=b\n", "connection closed in the middle of a request"),
        ];
        for (input, expected) in cases {
            let error = read(input).await.unwrap_err().to_string();
            assert!(error.starts_with(expected), "{error} / {expected}");
        }
        let cut = read(b"a=b").await.unwrap_err();
        assert!(matches!(cut, PolicyError::ClosedInLine), "{cut}");
    }

    #[test]
    fn facts_from_attributes() {
        let mut request = PolicyRequest::default();
        for (name, value) in [
            ("client_address", "IPv6:2001:db8::1"),
            ("client_name", "unknown"),
            ("helo_name", "mail.example.org"),
            ("sender", ""),
        ] {
            request.push(name, value);
        }
        let facts = request.session_facts();
        assert_eq!(facts.client, "2001:db8::1".parse().ok());
        assert_eq!(facts.client_name, None);
        assert_eq!(facts.helo.as_deref(), Some("mail.example.org"));
        assert_eq!(facts.sender.as_deref(), Some(""));
        request.push("client_address", "unknown");
        assert_eq!(request.session_facts().client, None);
        assert_eq!(
            request.session_facts().unreadable_client.as_deref(),
            Some("unknown")
        );
        for (sent, kept) in [
            ("[192.0.2.1]", "[192.0.2.1]"),
            ("192.0.2.1%eth0", "192.0.2.1%eth0"),
            ("", ""),
            ("192.0.2.1\u{7}\u{202E}x", "192.0.2.1 ?x"),
        ] {
            request.push("client_address", sent);
            let facts = request.session_facts();
            assert_eq!(facts.client, None, "{sent:?}");
            assert_eq!(facts.unreadable_client.as_deref(), Some(kept), "{sent:?}");
        }
        request.push("client_address", &"9".repeat(10_000));
        let long = request.session_facts().unreadable_client.unwrap();
        assert!(long.len() <= 64 + 3, "{}", long.len());
    }
}
