//! The negotiation's flag words: the actions a filter may take (`SMFIF_*`) and the protocol
//! steps the MTA may leave out or the filter does not answer (`SMFIP_*`), as typed sets.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// A set of flags over a `u32` word: the type, its named flags (`NAME = bits;`, each with its
/// doc comment), and the operations both flag words share.
macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        $name:ident {
            $($(#[$flag_meta:meta])* $flag:ident = $bits:literal;)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(u32);

        impl $name {
            /// No flag.
            pub const NONE: $name = $name(0);

            $($(#[$flag_meta])* pub const $flag: $name = $name($bits);)*

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

flag_set! {
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
    Actions {
        /// Add headers (`SMFIF_ADDHDRS`), for [`Response::AddHeader`](super::Response::AddHeader).
        ADD_HEADERS = 0x0001;
        /// Replace the body (`SMFIF_CHGBODY`).
        CHANGE_BODY = 0x0002;
        /// Add recipients (`SMFIF_ADDRCPT`).
        ADD_RCPT = 0x0004;
        /// Remove recipients (`SMFIF_DELRCPT`).
        DELETE_RCPT = 0x0008;
        /// Change or delete headers (`SMFIF_CHGHDRS`).
        CHANGE_HEADERS = 0x0010;
        /// Quarantine (`SMFIF_QUARANTINE`).
        QUARANTINE = 0x0020;
        /// Change the envelope sender (`SMFIF_CHGFROM`).
        CHANGE_FROM = 0x0040;
        /// Add recipients with ESMTP arguments (`SMFIF_ADDRCPT_PAR`).
        ADD_RCPT_PAR = 0x0080;
        /// Choose the macros sent (`SMFIF_SETSYMLIST`).
        SET_SYMLIST = 0x0100;
    }
}

flag_set! {
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
    ProtocolFlags {
        /// Do not send the connection (`SMFIP_NOCONNECT`).
        NO_CONNECT = 0x0000_0001;
        /// Do not send HELO (`SMFIP_NOHELO`).
        NO_HELO = 0x0000_0002;
        /// Do not send MAIL FROM (`SMFIP_NOMAIL`).
        NO_MAIL = 0x0000_0004;
        /// Do not send RCPT TO (`SMFIP_NORCPT`).
        NO_RCPT = 0x0000_0008;
        /// Do not send the body (`SMFIP_NOBODY`).
        NO_BODY = 0x0000_0010;
        /// Do not send the headers (`SMFIP_NOHDRS`).
        NO_HEADERS = 0x0000_0020;
        /// Do not send the end of headers (`SMFIP_NOEOH`).
        NO_EOH = 0x0000_0040;
        /// No reply to headers (`SMFIP_NR_HDR`).
        NR_HEADER = 0x0000_0080;
        /// Do not send unknown SMTP commands (`SMFIP_NOUNKNOWN`).
        NO_UNKNOWN = 0x0000_0100;
        /// Do not send DATA (`SMFIP_NODATA`).
        NO_DATA = 0x0000_0200;
        /// The MTA understands [`Response::Skip`](super::Response::Skip) (`SMFIP_SKIP`).
        SKIP = 0x0000_0400;
        /// Send rejected recipients too (`SMFIP_RCPT_REJ`).
        RCPT_REJ = 0x0000_0800;
        /// No reply to the connection (`SMFIP_NR_CONN`).
        NR_CONNECT = 0x0000_1000;
        /// No reply to HELO (`SMFIP_NR_HELO`).
        NR_HELO = 0x0000_2000;
        /// No reply to MAIL FROM (`SMFIP_NR_MAIL`).
        NR_MAIL = 0x0000_4000;
        /// No reply to RCPT TO (`SMFIP_NR_RCPT`).
        NR_RCPT = 0x0000_8000;
        /// No reply to DATA (`SMFIP_NR_DATA`).
        NR_DATA = 0x0001_0000;
        /// No reply to unknown commands (`SMFIP_NR_UNKN`).
        NR_UNKNOWN = 0x0002_0000;
        /// No reply to the end of headers (`SMFIP_NR_EOH`).
        NR_EOH = 0x0004_0000;
        /// No reply to body chunks (`SMFIP_NR_BODY`).
        NR_BODY = 0x0008_0000;
        /// Header values keep their leading space (`SMFIP_HDR_LEADSPC`).
        HEADER_LEADING_SPACE = 0x0010_0000;
    }
}
