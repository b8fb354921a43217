//! The negotiation's flag words: the actions a filter may take (`SMFIF_*`) and the protocol
//! steps the MTA may leave out or the filter does not answer (`SMFIP_*`), as typed sets.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// A set of flags over a `u32` word: the operations both flag words share.
macro_rules! flag_set {
    ($name:ident) => {
        impl $name {
            /// No flag.
            pub const NONE: $name = $name(0);

            /// The set with these bits, unknown ones kept (an MTA may offer flags this side
            /// does not name).
            pub const fn from_bits(bits: u32) -> Self {
                $name(bits)
            }

            /// The bits, as on the wire.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether every flag of `other` is in this set.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether some flag of `other` is in this set.
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// Whether the set is empty.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
        }

        impl BitOr for $name {
            type Output = $name;
            fn bitor(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, other: $name) {
                self.0 |= other.0;
            }
        }

        impl BitAnd for $name {
            type Output = $name;
            fn bitand(self, other: $name) -> $name {
                $name(self.0 & other.0)
            }
        }

        impl Not for $name {
            type Output = $name;
            fn not(self) -> $name {
                $name(!self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:#x})", stringify!($name), self.0)
            }
        }
    };
}

/// Actions a filter may ask for (`SMFIF_*`), in [`Options::actions`](super::Options).
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::milter::Actions;
///
/// let offered = Actions::from_bits(0x1ff);
/// assert!(offered.contains(Actions::ADD_HEADERS | Actions::QUARANTINE));
/// assert_eq!(Actions::ADD_HEADERS.bits(), 1);
/// assert!(Actions::NONE.is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Actions(u32);

flag_set!(Actions);

impl Actions {
    /// Add headers (`SMFIF_ADDHDRS`), for [`Response::AddHeader`](super::Response::AddHeader).
    pub const ADD_HEADERS: Actions = Actions(0x0001);
    /// Replace the body (`SMFIF_CHGBODY`).
    pub const CHANGE_BODY: Actions = Actions(0x0002);
    /// Add recipients (`SMFIF_ADDRCPT`).
    pub const ADD_RCPT: Actions = Actions(0x0004);
    /// Remove recipients (`SMFIF_DELRCPT`).
    pub const DELETE_RCPT: Actions = Actions(0x0008);
    /// Change or delete headers (`SMFIF_CHGHDRS`).
    pub const CHANGE_HEADERS: Actions = Actions(0x0010);
    /// Quarantine (`SMFIF_QUARANTINE`).
    pub const QUARANTINE: Actions = Actions(0x0020);
    /// Change the envelope sender (`SMFIF_CHGFROM`).
    pub const CHANGE_FROM: Actions = Actions(0x0040);
    /// Add recipients with ESMTP arguments (`SMFIF_ADDRCPT_PAR`).
    pub const ADD_RCPT_PAR: Actions = Actions(0x0080);
    /// Choose the macros sent (`SMFIF_SETSYMLIST`).
    pub const SET_SYMLIST: Actions = Actions(0x0100);
}

/// Protocol flags (`SMFIP_*`), in [`Options::protocol`](super::Options): steps the MTA may
/// leave out (`NO_*`) and steps the filter does not answer (`NR_*`).
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::milter::ProtocolFlags;
///
/// let agreed = ProtocolFlags::NO_RCPT | ProtocolFlags::NR_HEADER;
/// assert!(agreed.contains(ProtocolFlags::NR_HEADER));
/// assert!(!agreed.intersects(ProtocolFlags::NR_BODY | ProtocolFlags::NR_EOH));
/// assert_eq!((agreed & !ProtocolFlags::NO_RCPT), ProtocolFlags::NR_HEADER);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProtocolFlags(u32);

flag_set!(ProtocolFlags);

impl ProtocolFlags {
    /// Do not send the connection (`SMFIP_NOCONNECT`).
    pub const NO_CONNECT: ProtocolFlags = ProtocolFlags(0x0000_0001);
    /// Do not send HELO (`SMFIP_NOHELO`).
    pub const NO_HELO: ProtocolFlags = ProtocolFlags(0x0000_0002);
    /// Do not send MAIL FROM (`SMFIP_NOMAIL`).
    pub const NO_MAIL: ProtocolFlags = ProtocolFlags(0x0000_0004);
    /// Do not send RCPT TO (`SMFIP_NORCPT`).
    pub const NO_RCPT: ProtocolFlags = ProtocolFlags(0x0000_0008);
    /// Do not send the body (`SMFIP_NOBODY`).
    pub const NO_BODY: ProtocolFlags = ProtocolFlags(0x0000_0010);
    /// Do not send the headers (`SMFIP_NOHDRS`).
    pub const NO_HEADERS: ProtocolFlags = ProtocolFlags(0x0000_0020);
    /// Do not send the end of headers (`SMFIP_NOEOH`).
    pub const NO_EOH: ProtocolFlags = ProtocolFlags(0x0000_0040);
    /// No reply to headers (`SMFIP_NR_HDR`).
    pub const NR_HEADER: ProtocolFlags = ProtocolFlags(0x0000_0080);
    /// Do not send unknown SMTP commands (`SMFIP_NOUNKNOWN`).
    pub const NO_UNKNOWN: ProtocolFlags = ProtocolFlags(0x0000_0100);
    /// Do not send DATA (`SMFIP_NODATA`).
    pub const NO_DATA: ProtocolFlags = ProtocolFlags(0x0000_0200);
    /// The MTA understands [`Response::Skip`](super::Response::Skip) (`SMFIP_SKIP`).
    pub const SKIP: ProtocolFlags = ProtocolFlags(0x0000_0400);
    /// Send rejected recipients too (`SMFIP_RCPT_REJ`).
    pub const RCPT_REJ: ProtocolFlags = ProtocolFlags(0x0000_0800);
    /// No reply to the connection (`SMFIP_NR_CONN`).
    pub const NR_CONNECT: ProtocolFlags = ProtocolFlags(0x0000_1000);
    /// No reply to HELO (`SMFIP_NR_HELO`).
    pub const NR_HELO: ProtocolFlags = ProtocolFlags(0x0000_2000);
    /// No reply to MAIL FROM (`SMFIP_NR_MAIL`).
    pub const NR_MAIL: ProtocolFlags = ProtocolFlags(0x0000_4000);
    /// No reply to RCPT TO (`SMFIP_NR_RCPT`).
    pub const NR_RCPT: ProtocolFlags = ProtocolFlags(0x0000_8000);
    /// No reply to DATA (`SMFIP_NR_DATA`).
    pub const NR_DATA: ProtocolFlags = ProtocolFlags(0x0001_0000);
    /// No reply to unknown commands (`SMFIP_NR_UNKN`).
    pub const NR_UNKNOWN: ProtocolFlags = ProtocolFlags(0x0002_0000);
    /// No reply to the end of headers (`SMFIP_NR_EOH`).
    pub const NR_EOH: ProtocolFlags = ProtocolFlags(0x0004_0000);
    /// No reply to body chunks (`SMFIP_NR_BODY`).
    pub const NR_BODY: ProtocolFlags = ProtocolFlags(0x0008_0000);
    /// Header values keep their leading space (`SMFIP_HDR_LEADSPC`).
    pub const HEADER_LEADING_SPACE: ProtocolFlags = ProtocolFlags(0x0010_0000);
}
