//! The packets: commands from the MTA, responses from the filter, and reading them with
//! hard limits.

use std::net::IpAddr;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{Actions, MilterError, Options, ProtocolFlags};

/// The address family and address of a connection, as the MTA described it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAddress {
    /// An IPv4 or IPv6 client and its port.
    Ip(IpAddr, u16),
    /// A Unix socket (local submission), with its path.
    Unix(String),
    /// The MTA does not know (`U` family).
    Unknown,
    /// The MTA sent an address that cannot be read (`192.0.2.1%eth0`, an unknown family, a
    /// cut packet): the text it sent, sanitised (printable ASCII on one line, at most 64
    /// characters). The client cannot be checked: a filter treats it as trouble rather than
    /// dropping the connection, which the MTA's default action would turn into acceptance.
    Unreadable(String),
}

/// One command from the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `O`: the MTA's offer.
    Negotiate(Options),
    /// `D`: macros for the command that follows (its code), as name and value pairs.
    Macros {
        /// The command the macros are for.
        stage: u8,
        /// Name and value pairs (names as the MTA wrote them: `j`, `{client_addr}`).
        pairs: Vec<(String, String)>,
    },
    /// `C`: a client connected.
    Connect {
        /// The client's host name (`unknown` or `[addr]` when there is none).
        hostname: String,
        /// Its address.
        address: ClientAddress,
    },
    /// `H`: HELO or EHLO.
    Helo(String),
    /// `M`: MAIL FROM, the address first, then ESMTP arguments.
    Mail(Vec<String>),
    /// `R`: RCPT TO, the address first, then ESMTP arguments.
    Rcpt(Vec<String>),
    /// `T`: DATA.
    Data,
    /// `L`: one header.
    Header {
        /// Its name.
        name: String,
        /// Its value, as sent (continuation lines included).
        value: Vec<u8>,
    },
    /// `N`: the end of the headers.
    EndOfHeaders,
    /// `B`: a chunk of the body.
    Body(Vec<u8>),
    /// `E`: the end of the message (with an optional last chunk).
    EndOfMessage(Vec<u8>),
    /// `A`: forget the message (the connection goes on).
    Abort,
    /// `Q`: the connection ends.
    Quit,
    /// `K`: this connection ends, and another begins on the same stream.
    QuitNewConnection,
    /// `U`: an SMTP command the MTA did not know.
    Unknown(String),
}

impl Command {
    /// Decodes a packet (its command byte and data, without the length). Never panics.
    pub fn parse(packet: &[u8]) -> Result<Command, MilterError> {
        let (&code, data) = packet.split_first().ok_or(MilterError::Empty)?;
        Ok(match code {
            b'O' => Command::Negotiate(
                Options::read(data).ok_or(MilterError::Malformed("negotiation"))?,
            ),
            b'D' => {
                let (&stage, rest) = data.split_first().ok_or(MilterError::Malformed("macro"))?;
                let strings = strings(rest).ok_or(MilterError::Malformed("macro"))?;
                let pairs = strings
                    .chunks(2)
                    .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
                    .collect();
                Command::Macros { stage, pairs }
            }
            b'C' => connect(data),
            b'H' => Command::Helo(one_string(data).ok_or(MilterError::Malformed("helo"))?),
            b'M' => Command::Mail(args(data).ok_or(MilterError::Malformed("mail"))?),
            b'R' => Command::Rcpt(args(data).ok_or(MilterError::Malformed("rcpt"))?),
            b'T' => Command::Data,
            b'L' => {
                let (name, rest) = c_string(data).ok_or(MilterError::Malformed("header"))?;
                let value = match rest.split_last() {
                    Some((0, value)) => value.to_vec(),
                    _ => return Err(MilterError::Malformed("header")),
                };
                Command::Header {
                    name: lossy(name),
                    value,
                }
            }
            b'N' => Command::EndOfHeaders,
            b'B' => Command::Body(data.to_vec()),
            b'E' => Command::EndOfMessage(data.to_vec()),
            b'A' => Command::Abort,
            b'Q' => Command::Quit,
            b'K' => Command::QuitNewConnection,
            b'U' => Command::Unknown(one_string(data).unwrap_or_else(|| lossy(data))),
            other => return Err(MilterError::UnknownCommand(other)),
        })
    }
}

impl Command {
    /// The packet the MTA sends for this command (length, command byte, data): the MTA's
    /// side of the codec, for tests and MTAs written in Rust.
    pub fn to_bytes(&self) -> Vec<u8> {
        packet_of(|data| self.write(data))
    }

    /// Puts down the command's data; its command byte.
    fn write(&self, data: &mut Vec<u8>) -> u8 {
        match self {
            Command::Negotiate(options) => options.write(data),
            Command::Macros { stage, pairs } => {
                data.push(*stage);
                for (name, value) in pairs {
                    push_c_string(data, name);
                    push_c_string(data, value);
                }
                b'D'
            }
            Command::Connect { hostname, address } => {
                push_c_string(data, hostname);
                let (family, port, text) = match address {
                    ClientAddress::Ip(IpAddr::V4(ip), port) => (b'4', *port, ip.to_string()),
                    ClientAddress::Ip(IpAddr::V6(ip), port) => (b'6', *port, ip.to_string()),
                    ClientAddress::Unix(path) => (b'L', 0, path.clone()),
                    ClientAddress::Unknown => (b'U', 0, String::new()),
                    ClientAddress::Unreadable(text) => (b'4', 0, text.clone()),
                };
                data.push(family);
                if family != b'U' {
                    data.extend_from_slice(&port.to_be_bytes());
                    push_c_string(data, &text);
                }
                b'C'
            }
            Command::Helo(name) => {
                push_c_string(data, name);
                b'H'
            }
            Command::Mail(args) | Command::Rcpt(args) => {
                for arg in args {
                    push_c_string(data, arg);
                }
                if matches!(self, Command::Mail(_)) {
                    b'M'
                } else {
                    b'R'
                }
            }
            Command::Data => b'T',
            Command::Header { name, value } => {
                push_c_string(data, name);
                data.extend(value.iter().copied().filter(|&byte| byte != 0));
                data.push(0);
                b'L'
            }
            Command::EndOfHeaders => b'N',
            Command::Body(chunk) => {
                data.extend_from_slice(chunk);
                b'B'
            }
            Command::EndOfMessage(chunk) => {
                data.extend_from_slice(chunk);
                b'E'
            }
            Command::Abort => b'A',
            Command::Quit => b'Q',
            Command::QuitNewConnection => b'K',
            Command::Unknown(line) => {
                push_c_string(data, line);
                b'U'
            }
        }
    }
}

/// One answer to the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// `O`: the filter's side of the negotiation.
    Negotiate(Options),
    /// `c`: go on.
    Continue,
    /// `a`: accept the message (or connection) without further filtering.
    Accept,
    /// `r`: reject with the MTA's default text.
    Reject,
    /// `t`: tempfail with the MTA's default text.
    Tempfail,
    /// `d`: accept and silently discard.
    Discard,
    /// `s`: skip the rest of the body (only if negotiated, [`ProtocolFlags::SKIP`]).
    Skip,
    /// `y`: reject or tempfail with this SMTP reply (`550 5.7.1 text`). Build it with
    /// [`Response::reply_code`], which keeps it to one safe line.
    ReplyCode(String),
    /// `h`: add a header (at the end of the message only; needs [`Actions::ADD_HEADERS`]).
    AddHeader {
        /// The header's name.
        name: String,
        /// The header's value.
        value: String,
    },
}

impl Response {
    /// A reply with SMTP code `code` (`550`), enhanced status `status` (`5.7.1`) and `text`.
    /// The text is made one line of printable ASCII, and `%` is doubled (the MTA reads the
    /// text as a format, where a lone `%` voids it).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::milter::Response;
    ///
    /// let reply = Response::reply_code(550, "5.7.1", "listed: 100% spam\r\nX-Evil: yes");
    /// assert_eq!(reply, Response::ReplyCode("550 5.7.1 listed: 100%% spam X-Evil: yes".into()));
    /// ```
    pub fn reply_code(code: u16, status: &str, text: &str) -> Response {
        let text = crate::mail::one_line(text, 400).replace('%', "%%");
        Response::ReplyCode(format!("{code} {status} {text}"))
    }

    /// The packet: length, command byte, data.
    pub fn to_bytes(&self) -> Vec<u8> {
        packet_of(|data| self.write(data))
    }

    /// Puts down the response's data; its command byte.
    fn write(&self, data: &mut Vec<u8>) -> u8 {
        match self {
            Response::Negotiate(options) => options.write(data),
            Response::Continue => b'c',
            Response::Accept => b'a',
            Response::Reject => b'r',
            Response::Tempfail => b't',
            Response::Discard => b'd',
            Response::Skip => b's',
            Response::ReplyCode(text) => {
                push_c_string(data, text);
                b'y'
            }
            Response::AddHeader { name, value } => {
                push_c_string(data, name);
                push_c_string(data, value);
                b'h'
            }
        }
    }

    /// Decodes a response packet (command byte and data): the MTA's side of the codec.
    /// Never panics.
    pub fn parse(packet: &[u8]) -> Result<Response, MilterError> {
        let (&code, data) = packet.split_first().ok_or(MilterError::Empty)?;
        Ok(match code {
            b'O' => Response::Negotiate(
                Options::read(data).ok_or(MilterError::Malformed("negotiation"))?,
            ),
            b'c' => Response::Continue,
            b'a' => Response::Accept,
            b'r' => Response::Reject,
            b't' => Response::Tempfail,
            b'd' => Response::Discard,
            b's' => Response::Skip,
            b'y' => Response::ReplyCode(one_string(data).ok_or(MilterError::Malformed("reply"))?),
            b'h' => match strings(data).as_deref() {
                Some([name, value]) => Response::AddHeader {
                    name: name.clone(),
                    value: value.clone(),
                },
                _ => return Err(MilterError::Malformed("add header")),
            },
            other => return Err(MilterError::UnknownCommand(other)),
        })
    }
}

impl Options {
    /// Puts down the negotiation's data (version, actions and protocol flags, 32-bit
    /// big-endian each); its command byte, the same both ways.
    fn write(&self, data: &mut Vec<u8>) -> u8 {
        for value in [self.version, self.actions.bits(), self.protocol.bits()] {
            data.extend_from_slice(&value.to_be_bytes());
        }
        b'O'
    }

    /// Reads the negotiation's data; `None` when it is too short.
    fn read(data: &[u8]) -> Option<Options> {
        let [version, actions, protocol] = [0, 4, 8].map(|at| be32(data, at));
        Some(Options {
            version: version?,
            actions: Actions::from_bits(actions?),
            protocol: ProtocolFlags::from_bits(protocol?),
        })
    }
}

/// A packet (length, code, data) whose data `write` puts down, returning its code.
fn packet_of(write: impl FnOnce(&mut Vec<u8>) -> u8) -> Vec<u8> {
    let mut packet = vec![0; 5];
    packet[4] = write(&mut packet);
    let length = u32::try_from(packet.len() - 4).unwrap_or(u32::MAX);
    packet[..4].copy_from_slice(&length.to_be_bytes());
    packet
}

/// The most buffer capacity a connection keeps between packets.
const KEEP_CAPACITY: usize = 16 * 1024;

/// Reads one packet (command byte and data) into `packet`, refusing lengths above `max`
/// before reading them. `Ok(false)` when the input ends between packets.
///
/// `packet` grows with the data received, not with the length announced, and keeps at
/// most 16 KiB of capacity from one packet to the next.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::milter::{Command, read_packet};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut input: &[u8] = &[0, 0, 0, 1, b'Q', 0xff, 0xff, 0xff, 0xff];
/// let mut packet = Vec::new();
/// assert!(read_packet(&mut input, &mut packet, 1024).await.unwrap());
/// assert_eq!(Command::parse(&packet).unwrap(), Command::Quit);
/// assert!(read_packet(&mut input, &mut packet, 1024).await.is_err()); // 4 GiB: refused
/// # }
/// ```
pub async fn read_packet<R: AsyncRead + Unpin>(
    reader: &mut R,
    packet: &mut Vec<u8>,
    max: usize,
) -> Result<bool, MilterError> {
    let mut length = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match reader.read(&mut length[got..]).await {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(MilterError::Truncated),
            Ok(n) => got += n,
            Err(error) => return Err(MilterError::Io(error)),
        }
    }
    let length = u32::from_be_bytes(length) as usize;
    if length == 0 {
        return Err(MilterError::Empty);
    }
    if length > max {
        return Err(MilterError::TooLong(length, max));
    }
    // The buffer grows as the data arrives, never ahead of it: a peer that announces a
    // large packet and sends nothing costs nothing. What a large packet left is given back.
    packet.clear();
    packet.shrink_to(KEEP_CAPACITY);
    let mut data = reader.take(length as u64);
    match data.read_to_end(packet).await {
        Ok(read) if read == length => Ok(true),
        Ok(_) => Err(MilterError::Truncated),
        Err(error) => Err(MilterError::Io(error)),
    }
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A NUL-terminated string at the start of `data`, and what follows it.
fn c_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = data.iter().position(|&byte| byte == 0)?;
    Some((&data[..end], &data[end + 1..]))
}

/// NUL-terminated strings filling `data` exactly.
fn strings(mut data: &[u8]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (string, rest) = c_string(data)?;
        out.push(lossy(string));
        data = rest;
    }
    Some(out)
}

/// Exactly one NUL-terminated string.
fn one_string(data: &[u8]) -> Option<String> {
    match c_string(data)? {
        (string, []) => Some(lossy(string)),
        _ => None,
    }
}

/// At least one NUL-terminated string (MAIL and RCPT arguments).
fn args(data: &[u8]) -> Option<Vec<String>> {
    strings(data).filter(|args| !args.is_empty())
}

/// `C`: hostname, family byte, then (for `4`, `6` and `L`) a port and an address string.
///
/// Every connect is read: one whose address cannot be read (a bad address, an unknown family,
/// a cut packet) is a connect from [`ClientAddress::Unreadable`], so that the filter can
/// answer it (a tempfail when failing closed) instead of dropping the connection.
fn connect(data: &[u8]) -> Command {
    let (hostname, rest) = c_string(data).unwrap_or((data, &[]));
    let address = connect_address(rest).unwrap_or_else(|| {
        // The address part as sent, minus the family byte, port and NUL where present.
        let text = match rest {
            [b'4' | b'6' | b'L', _, _, text @ ..] => text,
            text => text,
        };
        let text = lossy(text.strip_suffix(b"\0").unwrap_or(text));
        ClientAddress::Unreadable(crate::mail::one_line(&text, MAX_ADDRESS_TEXT))
    });
    Command::Connect {
        hostname: lossy(hostname),
        address,
    }
}

/// How much of an unreadable connect address is kept.
const MAX_ADDRESS_TEXT: usize = 64;

/// The family byte and what follows it; `None` when that cannot be read.
fn connect_address(rest: &[u8]) -> Option<ClientAddress> {
    let (&family, rest) = rest.split_first()?;
    Some(match family {
        b'U' => ClientAddress::Unknown,
        b'4' | b'6' | b'L' => {
            let port = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?);
            let text = one_string(&rest[2..])?;
            match family {
                b'L' => ClientAddress::Unix(text),
                _ => {
                    let text = text.strip_prefix("IPv6:").unwrap_or(&text);
                    ClientAddress::Ip(text.parse().ok()?, port)
                }
            }
        }
        _ => return None,
    })
}

fn push_c_string(data: &mut Vec<u8>, text: &str) {
    // A NUL inside would end the string early and shift everything after it.
    data.extend(text.bytes().filter(|&byte| byte != 0));
    data.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::milter::MAX_PACKET;

    fn packet(code: u8, data: &[u8]) -> Vec<u8> {
        let mut packet = vec![code];
        packet.extend_from_slice(data);
        packet
    }

    #[test]
    fn every_command_the_mta_sends() {
        let cases: Vec<(Vec<u8>, Command)> = vec![
            (
                packet(b'C', b"mail.example.org\x004\x00\x19192.0.2.1\x00"),
                Command::Connect {
                    hostname: "mail.example.org".into(),
                    address: ClientAddress::Ip("192.0.2.1".parse().unwrap(), 25),
                },
            ),
            (
                packet(b'C', b"[2001:db8::1]\x006\x00\x19IPv6:2001:db8::1\x00"),
                Command::Connect {
                    hostname: "[2001:db8::1]".into(),
                    address: ClientAddress::Ip("2001:db8::1".parse().unwrap(), 25),
                },
            ),
            (
                packet(b'C', b"localhost\x00U"),
                Command::Connect {
                    hostname: "localhost".into(),
                    address: ClientAddress::Unknown,
                },
            ),
            (
                packet(b'D', b"Cj\x00mx.example\x00{daemon_name}\x00smtpd\x00"),
                Command::Macros {
                    stage: b'C',
                    pairs: vec![
                        ("j".into(), "mx.example".into()),
                        ("{daemon_name}".into(), "smtpd".into()),
                    ],
                },
            ),
            (
                packet(b'H', b"client.example\x00"),
                Command::Helo("client.example".into()),
            ),
            (
                packet(b'M', b"<a@example.org>\x00SIZE=10\x00"),
                Command::Mail(vec!["<a@example.org>".into(), "SIZE=10".into()]),
            ),
            (
                packet(b'R', b"<b@example.net>\x00"),
                Command::Rcpt(vec!["<b@example.net>".into()]),
            ),
            (
                packet(b'L', b"Subject\x00 hi\x00"),
                Command::Header {
                    name: "Subject".into(),
                    value: b" hi".to_vec(),
                },
            ),
            (packet(b'B', b"body"), Command::Body(b"body".to_vec())),
            (packet(b'E', b""), Command::EndOfMessage(Vec::new())),
            (packet(b'T', b""), Command::Data),
            (packet(b'N', b""), Command::EndOfHeaders),
            (packet(b'A', b""), Command::Abort),
            (packet(b'Q', b""), Command::Quit),
            (packet(b'K', b""), Command::QuitNewConnection),
            (packet(b'U', b"XYZZY\x00"), Command::Unknown("XYZZY".into())),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Command::parse(&bytes).unwrap(), expected, "{bytes:?}");
            // The MTA's side writes what this side reads (IPv6 without the prefix).
            let written = expected.to_bytes();
            assert_eq!(Command::parse(&written[4..]).unwrap(), expected);
        }
    }

    #[test]
    fn malformed_commands_are_errors() {
        for bytes in [
            &b""[..],
            b"O\x00\x00\x00\x06",
            b"Hno nul",
            b"Ha\x00b\x00",
            b"M",
            b"Lname-only\x00",
            b"Lname\x00value without nul",
            b"D",
            b"Z",
        ] {
            assert!(Command::parse(bytes).is_err(), "{bytes:?}");
        }
    }

    #[test]
    fn a_connect_whose_address_cannot_be_read_is_still_a_connect() {
        let unreadable = |text: &str| ClientAddress::Unreadable(text.to_owned());
        for (bytes, hostname, address) in [
            (&b"Cname"[..], "name", unreadable("")),
            (b"Cname\x004\x00", "name", unreadable("4")),
            (
                b"Cname\x004\x00\x19not an address\x00",
                "name",
                unreadable("not an address"),
            ),
            (
                b"Cname\x004\x00\x19192.0.2.1%eth0\x00",
                "name",
                unreadable("192.0.2.1%eth0"),
            ),
            (b"Cname\x004\x00\x19\x00", "name", unreadable("")),
            (b"Cname\x00X", "name", unreadable("X")),
            (
                b"Cname\x006\x00\x19[2001:db8::1]\x1b[31m\x00",
                "name",
                unreadable("[2001:db8::1] [31m"),
            ),
        ] {
            let command = Command::parse(bytes).unwrap();
            assert_eq!(
                command,
                Command::Connect {
                    hostname: hostname.into(),
                    address
                },
                "{bytes:?}"
            );
        }
        let long = [&b"Cname\x004\x00\x19"[..], &[b'9'; 5000], b"\x00"].concat();
        let Command::Connect {
            address: ClientAddress::Unreadable(text),
            ..
        } = Command::parse(&long).unwrap()
        else {
            panic!("not an unreadable connect")
        };
        assert!(text.len() <= 67, "{}", text.len());
    }

    #[test]
    fn negotiation_keeps_only_offered_flags() {
        let offer = Options::new(Actions::ADD_HEADERS, ProtocolFlags::NO_RCPT);
        let wanted = Options::new(
            Actions::ADD_HEADERS,
            ProtocolFlags::NO_RCPT | ProtocolFlags::NR_HEADER,
        );
        let agreed = offer.agree(&wanted).unwrap();
        assert_eq!(agreed.protocol, ProtocolFlags::NO_RCPT);
        let without_headers = Options::new(Actions::NONE, ProtocolFlags::NONE);
        assert!(without_headers.agree(&wanted).is_err());
        let old = Options {
            version: 1,
            ..offer
        };
        assert!(old.agree(&wanted).is_err());
    }

    #[test]
    fn responses_on_the_wire() {
        assert_eq!(Response::Continue.to_bytes(), [0, 0, 0, 1, b'c']);
        assert_eq!(
            Response::AddHeader {
                name: "X-DNSBL".into(),
                value: "a\0b".into()
            }
            .to_bytes(),
            b"\x00\x00\x00\x0chX-DNSBL\x00ab\x00"
        );
        for response in [
            Response::Continue,
            Response::Negotiate(Options::new(
                Actions::from_bits(1),
                ProtocolFlags::from_bits(2),
            )),
            Response::AddHeader {
                name: "X-DNSBL".into(),
                value: "v".into(),
            },
            Response::reply_code(550, "5.7.1", "no"),
        ] {
            assert_eq!(
                Response::parse(&response.to_bytes()[4..]).unwrap(),
                response
            );
        }
        let reply = Response::reply_code(451, "4.7.1", "try later");
        assert_eq!(
            reply.to_bytes(),
            b"\x00\x00\x00\x15y451 4.7.1 try later\x00"
        );
    }

    #[tokio::test]
    async fn packets_are_bounded_and_whole() {
        let mut packet = Vec::new();
        let mut oversized: &[u8] = &[0, 0, 1, 0, b'B'];
        let error = read_packet(&mut oversized, &mut packet, 255)
            .await
            .unwrap_err();
        assert!(matches!(error, MilterError::TooLong(256, 255)), "{error}");
        assert!(packet.capacity() < 256);
        let mut truncated: &[u8] = &[0, 0, 0, 5, b'B', b'x'];
        assert!(matches!(
            read_packet(&mut truncated, &mut packet, 255).await,
            Err(MilterError::Truncated)
        ));
        let mut half_length: &[u8] = &[0, 0];
        assert!(matches!(
            read_packet(&mut half_length, &mut packet, 255).await,
            Err(MilterError::Truncated)
        ));
        let mut empty: &[u8] = &[0, 0, 0, 0];
        assert!(matches!(
            read_packet(&mut empty, &mut packet, 255).await,
            Err(MilterError::Empty)
        ));
    }

    #[tokio::test]
    async fn the_buffer_grows_with_the_data_not_the_announced_length() {
        // Many peers announce the largest packet and send one byte of it: together they
        // hold about what they sent, not what they announced.
        let mut held = 0;
        let mut peers = Vec::new();
        for _ in 0..100 {
            let (mut mta, mut filter) = tokio::io::duplex(1024);
            let announced = u32::try_from(MAX_PACKET).unwrap().to_be_bytes();
            tokio::io::AsyncWriteExt::write_all(&mut mta, &announced)
                .await
                .unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut mta, b"B")
                .await
                .unwrap();
            let mut packet = Vec::new();
            let read = read_packet(&mut filter, &mut packet, MAX_PACKET);
            let waited = tokio::time::timeout(std::time::Duration::from_millis(5), read).await;
            assert!(waited.is_err(), "no packet can be read yet");
            held += packet.capacity();
            peers.push((mta, filter, packet));
        }
        assert!(
            held <= 100 * 1024,
            "{held} bytes held for 100 bytes received"
        );

        // A whole large packet is read, and its buffer given back at the next one.
        let mut input = Command::Body(vec![b'x'; MAX_PACKET - 1]).to_bytes();
        input.extend_from_slice(&Command::Quit.to_bytes());
        let mut input = &input[..];
        let mut packet = Vec::new();
        assert!(
            read_packet(&mut input, &mut packet, MAX_PACKET)
                .await
                .unwrap()
        );
        assert_eq!(packet.len(), MAX_PACKET);
        assert!(packet.capacity() <= 2 * MAX_PACKET);
        assert!(
            read_packet(&mut input, &mut packet, MAX_PACKET)
                .await
                .unwrap()
        );
        assert_eq!(Command::parse(&packet).unwrap(), Command::Quit);
        assert!(packet.capacity() <= KEEP_CAPACITY, "{}", packet.capacity());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Command::parse(&bytes);
            let _ = Response::parse(&bytes);
            for code in [b'C', b'D', b'L', b'M', b'O'] {
                let _ = Command::parse(&packet(code, &bytes));
            }
        }
    }
}
