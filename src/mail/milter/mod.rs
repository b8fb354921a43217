//! The Sendmail/Postfix milter protocol (version 6), the filter's side, read with hard limits.
//!
//! Written from the public description of the protocol (libmilter's wire format): every
//! packet is a 32-bit big-endian length, a one-byte command, and `length - 1` bytes of data.
//! Strings are NUL-terminated. The MTA drives: it offers options ([`Command::Negotiate`]),
//! then sends one command per SMTP event, each answered (unless the negotiation said not to)
//! by one [`Response`].
//!
//! Everything read is hostile. A length above the reader's limit is refused before anything
//! is allocated, and [`Command::parse`] returns an error, never panics, for any bytes.
//!
//! # Examples
//!
//! ```
//! use dnsbl_check::mail::milter::{Actions, Command, Options, ProtocolFlags, Response};
//!
//! // The MTA offers version 6 with every action and every protocol flag.
//! let offer = Command::parse(&[b'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff]).unwrap();
//! let Command::Negotiate(offer) = offer else { unreachable!() };
//! let wanted = Options::new(Actions::ADD_HEADERS, ProtocolFlags::NO_RCPT | ProtocolFlags::NR_HEADER);
//! let reply = offer.agree(&wanted).unwrap();
//! assert_eq!(reply.protocol, ProtocolFlags::NO_RCPT | ProtocolFlags::NR_HEADER);
//! let bytes = Response::Negotiate(reply).to_bytes();
//! assert_eq!(&bytes[..5], &[0, 0, 0, 13, b'O']);
//! ```

mod flags;
mod packet;
mod session;

pub use flags::{Actions, ProtocolFlags};
pub use packet::{ClientAddress, Command, Response, read_packet};
pub use session::{MilterConfig, MilterSession, Stage, Step};

/// The protocol version this side speaks.
pub const VERSION: u32 = 6;
/// The largest packet read unless a reader says otherwise: a body chunk is at most 64 KiB,
/// a header at most Postfix's `header_size_limit` (100 KiB by default).
pub const MAX_PACKET: usize = 256 * 1024;

/// Why a packet could not be read or understood. The connection should be closed: the
/// stream can no longer be trusted to be in step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MilterError {
    /// Reading failed.
    #[error("read error: {0}")]
    Io(#[source] std::io::Error),
    /// The input ended inside a packet.
    #[error("connection closed in the middle of a packet")]
    Truncated,
    /// A packet's length is above the limit (refused before reading it).
    #[error("packet of {0} bytes, more than the limit of {1}")]
    TooLong(usize, usize),
    /// A packet of length 0: no command byte.
    #[error("empty packet")]
    Empty,
    /// A command this side does not know.
    #[error("unknown command {0:#04x}")]
    UnknownCommand(u8),
    /// A command whose data does not have the form its command needs.
    #[error("malformed {0} command")]
    Malformed(&'static str),
    /// The MTA speaks a version too old, or lacks something the filter needs.
    #[error("negotiation failed: {0}")]
    Negotiation(&'static str),
}

/// What each side offers or agrees to in the negotiation (`SMFIC_OPTNEG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The protocol version.
    pub version: u32,
    /// `SMFIF_*` actions.
    pub actions: Actions,
    /// `SMFIP_*` flags.
    pub protocol: ProtocolFlags,
}

impl Options {
    /// Version 6 with these actions and protocol flags.
    pub fn new(actions: Actions, protocol: ProtocolFlags) -> Self {
        Options {
            version: VERSION,
            actions,
            protocol,
        }
    }

    /// The filter's answer to this offer, from what the filter `wanted`: every action it
    /// wants must be offered; protocol flags it wants but the MTA does not offer are left out
    /// (an MTA refuses flags it did not offer).
    pub fn agree(&self, wanted: &Options) -> Result<Options, MilterError> {
        if self.version < 2 {
            return Err(MilterError::Negotiation(
                "the MTA speaks a version before 2",
            ));
        }
        if !self.actions.contains(wanted.actions) {
            return Err(MilterError::Negotiation(
                "the MTA does not offer the actions the filter needs",
            ));
        }
        Ok(Options {
            version: self.version.min(wanted.version),
            actions: wanted.actions,
            protocol: self.protocol & wanted.protocol,
        })
    }
}
