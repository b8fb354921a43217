//! The compact status of one (target, list) pair, as watch mode remembers it.

use std::fmt;
use std::net::Ipv4Addr;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::outcome::{Outcome, SkipReason};
use crate::resolver::LookupErrorKind;

/// What one list last said about one target, reduced to what a change is judged by.
///
/// Kept small on purpose: a `/16` watched against four lists is 262,144 pairs, and most of
/// them are [`PairStatus::NotListed`]. TXT reasons and categories are not kept; they come
/// with the events, from the check that produced them.
///
/// Serialises as `{"status": "listed", "codes": ["127.0.0.2"]}`,
/// `{"status": "not_listed", "codes": []}` or
/// `{"status": "trouble", "codes": [], "trouble": "timeout"}`.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Outcome;
/// use dnsbl_check::monitor::{PairStatus, TroubleKind};
///
/// assert_eq!(PairStatus::from_outcome(&Outcome::NotListed), Some(PairStatus::NotListed));
/// let trouble = PairStatus::Trouble(TroubleKind::Timeout);
/// assert_eq!(trouble.to_string(), "trouble (timeout)");
/// assert!(trouble.same_kind_as(&PairStatus::Trouble(TroubleKind::Refused)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PairStatus {
    /// The list does not list the target.
    NotListed,
    /// The list lists the target with these codes (sorted, each once).
    Listed(Box<[Ipv4Addr]>),
    /// The list could not say: the lookup failed, or its answer was unusable.
    Trouble(TroubleKind),
}

impl PairStatus {
    /// The status an outcome stands for; `None` for a list that does not take the target
    /// (there is no pair to watch).
    pub fn from_outcome(outcome: &Outcome) -> Option<Self> {
        Some(match outcome {
            Outcome::Listed(listing) => PairStatus::listed(listing.codes.iter().copied()),
            Outcome::NotListed => PairStatus::NotListed,
            Outcome::Skipped(SkipReason::NotApplicable(_)) => return None,
            other => PairStatus::Trouble(TroubleKind::of(other)?),
        })
    }

    /// A listing with `codes`, sorted and each kept once, so that the order the server sent
    /// them in is no change.
    pub fn listed(codes: impl IntoIterator<Item = Ipv4Addr>) -> Self {
        let mut codes: Vec<Ipv4Addr> = codes.into_iter().collect();
        codes.sort_unstable();
        codes.dedup();
        PairStatus::Listed(codes.into_boxed_slice())
    }

    /// Whether this is trouble.
    pub fn is_trouble(&self) -> bool {
        matches!(self, PairStatus::Trouble(_))
    }

    /// The listing codes (empty unless listed).
    pub fn codes(&self) -> &[Ipv4Addr] {
        match self {
            PairStatus::Listed(codes) => codes,
            _ => &[],
        }
    }

    /// The status word: `listed`, `not_listed` or `trouble`.
    pub fn word(&self) -> &'static str {
        match self {
            PairStatus::NotListed => "not_listed",
            PairStatus::Listed(_) => "listed",
            PairStatus::Trouble(_) => "trouble",
        }
    }

    /// Whether two statuses count as the same for confirming a change: equal, or both
    /// trouble of any kind (a list that times out one round and refuses the next is still
    /// failing).
    pub fn same_kind_as(&self, other: &PairStatus) -> bool {
        match (self, other) {
            (PairStatus::Trouble(_), PairStatus::Trouble(_)) => true,
            (a, b) => a == b,
        }
    }
}

#[cfg_attr(not(feature = "monitor"), allow(dead_code))]
impl PairStatus {
    /// The state file's form: `not_listed`, `listed:127.0.0.2,127.0.0.4`, `trouble:timeout`.
    pub(crate) fn encode(&self) -> String {
        match self {
            PairStatus::NotListed => "not_listed".to_owned(),
            PairStatus::Listed(codes) => {
                let codes: Vec<String> = codes.iter().map(ToString::to_string).collect();
                format!("listed:{}", codes.join(","))
            }
            PairStatus::Trouble(kind) => format!("trouble:{kind}"),
        }
    }

    /// Reads [`PairStatus::encode`]'s form back; `None` if it is not that.
    pub(crate) fn decode(text: &str) -> Option<Self> {
        match text.split_once(':') {
            None if text == "not_listed" => Some(PairStatus::NotListed),
            Some(("listed", codes)) => {
                let codes: Result<Vec<Ipv4Addr>, _> = codes.split(',').map(str::parse).collect();
                Some(PairStatus::listed(codes.ok()?))
            }
            Some(("trouble", kind)) => TroubleKind::parse(kind).map(PairStatus::Trouble),
            _ => None,
        }
    }
}

impl fmt::Display for PairStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairStatus::NotListed => f.write_str("not listed"),
            PairStatus::Listed(codes) => {
                f.write_str("listed")?;
                for (i, code) in codes.iter().enumerate() {
                    f.write_str(if i == 0 { " " } else { ", " })?;
                    code.fmt(f)?;
                }
                Ok(())
            }
            PairStatus::Trouble(kind) => write!(f, "trouble ({kind})"),
        }
    }
}

impl Serialize for PairStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("PairStatus", 3)?;
        state.serialize_field("status", self.word())?;
        state.serialize_field("codes", self.codes())?;
        match self {
            PairStatus::Trouble(kind) => state.serialize_field("trouble", kind)?,
            _ => state.skip_field("trouble")?,
        }
        state.end()
    }
}

/// The kind of trouble a list gave for a target.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::TroubleKind;
///
/// assert_eq!(TroubleKind::ServFail.as_str(), "servfail");
/// assert_eq!(TroubleKind::parse("servfail"), Some(TroubleKind::ServFail));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TroubleKind {
    /// No answer in time.
    Timeout,
    /// SERVFAIL.
    ServFail,
    /// REFUSED.
    Refused,
    /// Another DNS error code.
    ResponseCode,
    /// Unreachable, refused or reset.
    Network,
    /// This machine ran out of sockets, descriptors or ports.
    LocalResource,
    /// An unparsable or mismatched reply.
    Protocol,
    /// The resolver could not be used.
    Config,
    /// The list answered with an operator error code.
    ListError,
    /// The answer was outside 127.0.0.0/8.
    Invalid,
    /// The list failed its health check and was not asked.
    Unhealthy,
}

const TROUBLE_KINDS: [TroubleKind; 11] = [
    TroubleKind::Timeout,
    TroubleKind::ServFail,
    TroubleKind::Refused,
    TroubleKind::ResponseCode,
    TroubleKind::Network,
    TroubleKind::LocalResource,
    TroubleKind::Protocol,
    TroubleKind::Config,
    TroubleKind::ListError,
    TroubleKind::Invalid,
    TroubleKind::Unhealthy,
];

impl TroubleKind {
    /// The kind of trouble an outcome is, `None` if it is no trouble.
    pub fn of(outcome: &Outcome) -> Option<Self> {
        Some(match outcome {
            Outcome::Listed(_) | Outcome::NotListed => return None,
            Outcome::Skipped(SkipReason::NotApplicable(_)) => return None,
            Outcome::Skipped(_) => TroubleKind::Unhealthy,
            Outcome::ListError(_) => TroubleKind::ListError,
            Outcome::Invalid(_) => TroubleKind::Invalid,
            Outcome::Failed(error) => match error.kind() {
                LookupErrorKind::Timeout => TroubleKind::Timeout,
                LookupErrorKind::ServFail => TroubleKind::ServFail,
                LookupErrorKind::Refused => TroubleKind::Refused,
                LookupErrorKind::ResponseCode(_) => TroubleKind::ResponseCode,
                LookupErrorKind::Network => TroubleKind::Network,
                LookupErrorKind::LocalResource => TroubleKind::LocalResource,
                LookupErrorKind::Protocol => TroubleKind::Protocol,
                _ => TroubleKind::Config,
            },
        })
    }

    /// The name used in JSON and in the state file.
    pub fn as_str(self) -> &'static str {
        match self {
            TroubleKind::Timeout => "timeout",
            TroubleKind::ServFail => "servfail",
            TroubleKind::Refused => "refused",
            TroubleKind::ResponseCode => "response_code",
            TroubleKind::Network => "network",
            TroubleKind::LocalResource => "local_resource",
            TroubleKind::Protocol => "protocol",
            TroubleKind::Config => "config",
            TroubleKind::ListError => "list_error",
            TroubleKind::Invalid => "invalid",
            TroubleKind::Unhealthy => "unhealthy",
        }
    }

    /// The kind named by [`TroubleKind::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        TROUBLE_KINDS.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl Serialize for TroubleKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for TroubleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trouble_kind_names_round_trip() {
        for kind in TROUBLE_KINDS {
            assert_eq!(TroubleKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(TroubleKind::parse("nonsense"), None);
    }

    #[test]
    fn state_file_form_round_trips() {
        for status in [
            PairStatus::NotListed,
            PairStatus::listed(["127.0.0.2".parse().unwrap()]),
            PairStatus::listed(["127.0.0.2".parse().unwrap(), "127.0.0.9".parse().unwrap()]),
            PairStatus::Trouble(TroubleKind::ListError),
        ] {
            assert_eq!(PairStatus::decode(&status.encode()), Some(status));
        }
        for bad in [
            "",
            "listed:",
            "listed:1.2.3",
            "trouble:",
            "trouble:x",
            "clean",
            "x:y",
        ] {
            assert_eq!(PairStatus::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn listed_codes_are_a_set() {
        let a = PairStatus::listed(["127.0.0.4".parse().unwrap(), "127.0.0.2".parse().unwrap()]);
        let b = PairStatus::listed([
            "127.0.0.2".parse().unwrap(),
            "127.0.0.4".parse().unwrap(),
            "127.0.0.2".parse().unwrap(),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "listed 127.0.0.2, 127.0.0.4");
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"status": "listed", "codes": ["127.0.0.2", "127.0.0.4"]})
        );
    }
}
