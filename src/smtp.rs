//! Why am I listed? An SMTP probe of one mail server: open relay, banner name, STARTTLS.
//!
//! An open relay is the classic cause of a listing. [`probe`] connects to a server, reads its
//! banner, sends `EHLO` (`HELO` if refused), then `MAIL FROM` and `RCPT TO` with addresses in
//! two foreign domains, and ends with `RSET` and `QUIT`. It never sends `DATA`: no message is
//! ever relayed, even by an open relay.
//!
//! The default addresses are `relay-probe@example.net` (sender) and `relay-probe@example.com`
//! (recipient): real, resolvable domains, so that a server that refuses unknown domains
//! answers the question asked (an `.invalid` recipient is refused by every server for the
//! wrong reason, and would make an open relay look closed), yet reserved by RFC 2606 for
//! examples and run by IANA, so that no mail could ever reach anybody there, even through an
//! open relay. Both can be changed ([`ProbeConfig::mail_from`], [`ProbeConfig::rcpt_to`]).
//!
//! The verdict ([`Relay`]) tells the three answers apart: `RCPT TO` accepted is
//! [`Relay::Open`]; refused is [`Relay::Closed`]; a refused `MAIL FROM` is
//! [`Relay::Inconclusive`] (with the refusal as trouble): the server never said what it does
//! with a foreign recipient.
//!
//! Everything the server sends is hostile: every step has a timeout, reply lines are capped
//! at [`MAX_LINE`] octets and replies at [`MAX_REPLY_LINES`] lines, and the text kept is
//! stripped of control characters. A server that does not answer, refuses the connection or
//! breaks the protocol is [`SmtpTrouble`], never "fine".
//!
//! # Examples
//!
//! ```no_run
//! use dnsbl_check::smtp::{ProbeConfig, Relay, probe};
//!
//! # async fn run() {
//! let report = probe("192.0.2.25:25".parse().unwrap(), &ProbeConfig::default()).await;
//! match (&report.relay, &report.trouble) {
//!     (_, Some(trouble)) => println!("could not tell: {trouble}"),
//!     (Relay::Open, _) => println!("OPEN RELAY: fix this first"),
//!     (Relay::Closed { code }, _) => println!("closed (foreign recipient refused with {code})"),
//!     _ => {}
//! }
//! # }
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::rdns::ReverseDns;

/// The longest reply line read, CRLF included. RFC 5321 §4.5.3.1.5 allows 512; real servers
/// stay well under this.
pub const MAX_LINE: usize = 1000;

/// The most lines one reply may have (an EHLO reply lists a few dozen extensions at most).
pub const MAX_REPLY_LINES: usize = 100;

/// How a probe talks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::smtp::ProbeConfig;
///
/// let config = ProbeConfig { timeout: Duration::from_secs(5), ..ProbeConfig::default() };
/// assert_eq!(config.mail_from, "relay-probe@example.net");
/// assert_eq!(config.rcpt_to, "relay-probe@example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// The most each step may take: connecting, and each reply (default 10 s).
    pub timeout: Duration,
    /// The name sent with `EHLO`.
    pub helo: String,
    /// The sender: a real-looking address in a domain foreign to the server (default
    /// `relay-probe@example.net`, see the [module documentation](self)).
    pub mail_from: String,
    /// The foreign recipient, in another such domain (default `relay-probe@example.com`).
    pub rcpt_to: String,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            timeout: Duration::from_secs(10),
            helo: "relay-probe.invalid".into(),
            mail_from: "relay-probe@example.net".into(),
            rcpt_to: "relay-probe@example.com".into(),
        }
    }
}

/// What the foreign recipient test found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Relay {
    /// The server accepted a recipient in a foreign domain from a stranger: an open relay.
    Open,
    /// The server refused it, with this reply code (4xx or 5xx).
    Closed {
        /// The reply code to `RCPT TO`.
        code: u16,
    },
    /// The server refused the sender (`MAIL FROM`), so it was never asked about a foreign
    /// recipient: no verdict. The report's trouble holds the refusal; another sender
    /// (`ProbeConfig::mail_from`) may get further.
    Inconclusive {
        /// The reply code to `MAIL FROM`.
        code: u16,
    },
    /// The test could not be made: see the report's trouble.
    NotTested,
}

/// The steps of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Opening the TCP connection.
    Connect,
    /// The server's greeting.
    Banner,
    /// `EHLO` (or `HELO`).
    Ehlo,
    /// `MAIL FROM`.
    MailFrom,
    /// `RCPT TO`.
    RcptTo,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::Banner => "banner",
            Stage::Ehlo => "EHLO",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
        })
    }
}

/// Why a probe could not tell whether the server relays.
///
/// # Examples
///
/// ```
/// use dnsbl_check::smtp::{SmtpTrouble, Stage};
///
/// let trouble = SmtpTrouble::Timeout(Stage::Banner);
/// assert_eq!(trouble.to_string(), "no answer in time at banner");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SmtpTrouble {
    /// The connection could not be made (refused, unreachable): the OS error text.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// No answer within the timeout.
    #[error("no answer in time at {0}")]
    Timeout(Stage),
    /// The server closed the connection, or the connection failed.
    #[error("connection closed at {0}")]
    Closed(Stage),
    /// The server refused this step with this reply (`554` banner, refused `MAIL FROM`...).
    #[error("refused at {stage}: {code} {text}")]
    Refused {
        /// The step.
        stage: Stage,
        /// The reply code.
        code: u16,
        /// The reply's first line, control characters removed.
        text: String,
    },
    /// The server broke the protocol: a line too long, too many lines, no reply code.
    #[error("protocol error at {stage}: {detail}")]
    Protocol {
        /// The step.
        stage: Stage,
        /// What was wrong.
        detail: &'static str,
    },
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpReport {
    /// The server probed.
    pub server: SocketAddr,
    /// The greeting's first line, without the code, control characters removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// The host name the greeting announces (its first word, when that is a host name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner_host: Option<String>,
    /// Whether `EHLO` offered `STARTTLS`; `None` if the server never answered `EHLO`/`HELO`.
    pub starttls: Option<bool>,
    /// The relay test's verdict.
    pub relay: Relay,
    /// Why the probe could not finish, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trouble: Option<SmtpTrouble>,
}

impl SmtpReport {
    fn new(server: SocketAddr) -> Self {
        SmtpReport {
            server,
            banner: None,
            banner_host: None,
            starttls: None,
            relay: Relay::NotTested,
            trouble: None,
        }
    }

    /// How the greeting's host name compares with the address's reverse DNS.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::ReverseDns;
    /// use dnsbl_check::smtp::{BannerName, SmtpReport};
    ///
    /// # fn check(report: &SmtpReport) {
    /// let rdns = ReverseDns::Confirmed(vec!["mx1.example.org".parse().unwrap()]);
    /// if report.banner_name(&rdns) == BannerName::Differs {
    ///     println!("the banner does not name the PTR host");
    /// }
    /// # }
    /// ```
    pub fn banner_name(&self, rdns: &ReverseDns) -> BannerName {
        let Some(host) = &self.banner_host else {
            return BannerName::Unknown;
        };
        let names: Vec<String> = match rdns {
            ReverseDns::Confirmed(names) => names.iter().map(ToString::to_string).collect(),
            ReverseDns::NotConfirmed(names) => names.clone(),
            ReverseDns::NoPtr => return BannerName::NoPtr,
            _ => return BannerName::Unknown,
        };
        if names.iter().any(|name| name.eq_ignore_ascii_case(host)) {
            BannerName::Matches
        } else {
            BannerName::Differs
        }
    }
}

/// The greeting's host name against the address's PTR names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BannerName {
    /// The greeting names one of the PTR names.
    Matches,
    /// The greeting names another host.
    Differs,
    /// The address has no PTR record.
    NoPtr,
    /// No host name in the greeting, or reverse DNS could not be looked up.
    Unknown,
}

/// Probes the SMTP server at `server` (see the [module documentation](self)).
///
/// Never fails: what went wrong is in [`SmtpReport::trouble`].
pub async fn probe(server: SocketAddr, config: &ProbeConfig) -> SmtpReport {
    let mut report = SmtpReport::new(server);
    if let Err(trouble) = converse(server, config, &mut report).await {
        report.trouble = Some(trouble);
    }
    report
}

async fn converse(
    server: SocketAddr,
    config: &ProbeConfig,
    report: &mut SmtpReport,
) -> Result<(), SmtpTrouble> {
    // Each goes into a command line as it is: a space or line break would be a command of
    // its own.
    let unsafe_text = |text: &str| {
        text.is_empty()
            || text
                .bytes()
                .any(|b| !b.is_ascii_graphic() || matches!(b, b'<' | b'>'))
    };
    if [&config.helo, &config.mail_from, &config.rcpt_to]
        .iter()
        .any(|text| unsafe_text(text))
    {
        return Err(SmtpTrouble::Protocol {
            stage: Stage::Connect,
            detail: "the probe's EHLO name or addresses hold spaces, brackets or control \
                     characters",
        });
    }
    let stream = tokio::time::timeout(config.timeout, TcpStream::connect(server))
        .await
        .map_err(|_| SmtpTrouble::Timeout(Stage::Connect))?
        .map_err(|error| SmtpTrouble::Connect(error.to_string()))?;
    let mut session = Session {
        stream: BufReader::new(stream),
        timeout: config.timeout,
    };

    let banner = session.reply(Stage::Banner).await?;
    let first = banner.lines.first().cloned().unwrap_or_default();
    report.banner_host = banner_host(&first);
    report.banner = Some(first);
    banner.expect(Stage::Banner, |code| code == 220)?;

    let ehlo = session
        .command(Stage::Ehlo, &format!("EHLO {}", config.helo))
        .await?;
    if ehlo.code == 250 {
        report.starttls = Some(
            ehlo.lines
                .iter()
                .skip(1)
                .any(|line| line.split_whitespace().next() == Some("STARTTLS")),
        );
    } else {
        // No ESMTP, so no STARTTLS; plain HELO must do.
        let helo = session
            .command(Stage::Ehlo, &format!("HELO {}", config.helo))
            .await?;
        helo.expect(Stage::Ehlo, |code| code == 250)?;
        report.starttls = Some(false);
    }

    let mail = session
        .command(
            Stage::MailFrom,
            &format!("MAIL FROM:<{}>", config.mail_from),
        )
        .await?;
    if mail.code != 250 {
        if (400..=599).contains(&mail.code) && mail.code != 421 {
            report.relay = Relay::Inconclusive { code: mail.code };
        }
        let trouble = mail.refused(Stage::MailFrom);
        let _ = session.command(Stage::MailFrom, "QUIT").await;
        return Err(trouble);
    }
    let rcpt = session
        .command(Stage::RcptTo, &format!("RCPT TO:<{}>", config.rcpt_to))
        .await?;
    report.relay = match rcpt.code {
        250 | 251 => Relay::Open,
        // 421 is the server going away, not an answer about the recipient.
        421 => return Err(rcpt.refused(Stage::RcptTo)),
        code @ 400..=599 => Relay::Closed { code },
        _ => {
            return Err(SmtpTrouble::Protocol {
                stage: Stage::RcptTo,
                detail: "unexpected reply code",
            });
        }
    };
    // The verdict stands whatever happens now: end politely, without waiting long.
    let _ = session.command(Stage::RcptTo, "RSET").await;
    let _ = session.command(Stage::RcptTo, "QUIT").await;
    Ok(())
}

struct Session {
    stream: BufReader<TcpStream>,
    timeout: Duration,
}

/// One SMTP reply: its code and its lines' text, without the code, cleaned.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn expect(&self, stage: Stage, ok: impl Fn(u16) -> bool) -> Result<(), SmtpTrouble> {
        if ok(self.code) {
            Ok(())
        } else {
            Err(self.refused(stage))
        }
    }

    fn refused(&self, stage: Stage) -> SmtpTrouble {
        SmtpTrouble::Refused {
            stage,
            code: self.code,
            text: self.lines.first().cloned().unwrap_or_default(),
        }
    }
}

impl Session {
    async fn command(&mut self, stage: Stage, line: &str) -> Result<Reply, SmtpTrouble> {
        let write = async {
            let stream = self.stream.get_mut();
            stream.write_all(line.as_bytes()).await?;
            stream.write_all(b"\r\n").await?;
            stream.flush().await
        };
        tokio::time::timeout(self.timeout, write)
            .await
            .map_err(|_| SmtpTrouble::Timeout(stage))?
            .map_err(|_| SmtpTrouble::Closed(stage))?;
        self.reply(stage).await
    }

    /// Reads one reply, multi-line replies included, within the timeout.
    async fn reply(&mut self, stage: Stage) -> Result<Reply, SmtpTrouble> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.read_reply(stage))
            .await
            .map_err(|_| SmtpTrouble::Timeout(stage))?
    }

    async fn read_reply(&mut self, stage: Stage) -> Result<Reply, SmtpTrouble> {
        let protocol = |detail| SmtpTrouble::Protocol { stage, detail };
        let mut lines = Vec::new();
        let mut line = Vec::with_capacity(128);
        loop {
            if lines.len() == MAX_REPLY_LINES {
                return Err(protocol("reply longer than 100 lines"));
            }
            line.clear();
            self.read_line(&mut line, stage).await?;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            let (code, last, rest) =
                parse_reply_line(text).ok_or_else(|| protocol("no reply code"))?;
            lines.push((code, clean(rest)));
            if last {
                break;
            }
        }
        let code = lines[0].0;
        if lines.iter().any(|(other, _)| *other != code) {
            return Err(protocol("reply lines with different codes"));
        }
        Ok(Reply {
            code,
            lines: lines.into_iter().map(|(_, text)| text).collect(),
        })
    }

    /// Reads up to and including `\n`, refusing lines longer than [`MAX_LINE`].
    async fn read_line(&mut self, line: &mut Vec<u8>, stage: Stage) -> Result<(), SmtpTrouble> {
        loop {
            let buffer = self
                .stream
                .fill_buf()
                .await
                .map_err(|_| SmtpTrouble::Closed(stage))?;
            if buffer.is_empty() {
                return Err(SmtpTrouble::Closed(stage));
            }
            let (take, done) = match buffer.iter().position(|&b| b == b'\n') {
                Some(end) => (end + 1, true),
                None => (buffer.len(), false),
            };
            if line.len() + take > MAX_LINE {
                return Err(SmtpTrouble::Protocol {
                    stage,
                    detail: "reply line too long",
                });
            }
            line.extend_from_slice(&buffer[..take]);
            self.stream.consume(take);
            if done {
                return Ok(());
            }
        }
    }
}

/// `250-text` or `250 text` (or a bare `250`): the code, whether it is the last line, the text.
fn parse_reply_line(line: &[u8]) -> Option<(u16, bool, &[u8])> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&digits[0]) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |sum, digit| sum * 10 + u16::from(digit - b'0'));
    match line.get(3) {
        None => Some((code, true, &[])),
        Some(b' ') => Some((code, true, &line[4..])),
        Some(b'-') => Some((code, false, &line[4..])),
        Some(_) => None,
    }
}

/// Server text made safe to keep and show: printable ASCII, anything else replaced by `?`.
fn clean(text: &[u8]) -> String {
    text.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

/// The host name a greeting announces: its first word, if that is a host name.
fn banner_host(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?;
    crate::target::DomainName::new(word)
        .ok()
        .filter(|name| name.as_str().contains('.'))
        .map(|name| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_reply_lines() {
        assert_eq!(
            parse_reply_line(b"250-STARTTLS"),
            Some((250, false, &b"STARTTLS"[..]))
        );
        assert_eq!(
            parse_reply_line(b"220 mx ESMTP"),
            Some((220, true, &b"mx ESMTP"[..]))
        );
        assert_eq!(parse_reply_line(b"250"), Some((250, true, &b""[..])));
        assert_eq!(parse_reply_line(b"25"), None);
        assert_eq!(parse_reply_line(b"abc hello"), None);
        assert_eq!(parse_reply_line(b"999 nine"), None);
        assert_eq!(parse_reply_line(b"250:x"), None);
    }

    #[test]
    fn cleans_hostile_text_and_finds_the_banner_host() {
        assert_eq!(clean(b"mx \x1b[31mred\xff"), "mx ?[31mred?");
        assert_eq!(
            banner_host("Mail.Example.ORG ESMTP Postfix").as_deref(),
            Some("mail.example.org")
        );
        assert_eq!(banner_host("ESMTP ready"), None);
        assert_eq!(banner_host(""), None);
    }
}
