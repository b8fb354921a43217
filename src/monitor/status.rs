//! The compact status of one (target, list) pair, as watch mode remembers it.

use std::fmt;
use std::net::Ipv4Addr;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::outcome::{Outcome, OutcomeKind, SkipReason};

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
/// use dnsbl_check::monitor::PairStatus;
/// use dnsbl_check::{Outcome, OutcomeKind};
///
/// assert_eq!(PairStatus::from_outcome(&Outcome::NotListed), Some(PairStatus::NotListed));
/// let trouble = PairStatus::Trouble(OutcomeKind::Timeout);
/// assert_eq!(trouble.to_string(), "trouble (timeout)");
/// assert!(trouble.same_kind_as(&PairStatus::Trouble(OutcomeKind::Refused)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PairStatus {
    /// The list does not list the target.
    NotListed,
    /// The list lists the target with these codes (sorted, each once).
    Listed(Box<[Ipv4Addr]>),
    /// The list could not say: the lookup failed, or its answer was unusable. The kind is
    /// always a trouble kind ([`OutcomeKind::is_trouble`]); its word is the one the
    /// statistics count it under.
    Trouble(OutcomeKind),
}

impl PairStatus {
    /// The status an outcome stands for; `None` for a list that does not take the target
    /// (there is no pair to watch).
    pub fn from_outcome(outcome: &Outcome) -> Option<Self> {
        Some(match outcome {
            Outcome::Listed(listing) => PairStatus::listed(listing.codes.iter().copied()),
            // Codes the list's filter does not count are not a listing: watch mode follows
            // the verdict, so not_counted <-> not_listed is no change event (the codes show
            // in the check's own output and metrics).
            Outcome::NotListed | Outcome::NotCounted(_) => PairStatus::NotListed,
            Outcome::Skipped(SkipReason::NotApplicable(_)) => return None,
            other => PairStatus::Trouble(OutcomeKind::of(other)?),
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
            Some(("trouble", kind)) => OutcomeKind::parse(kind)
                .filter(|kind| kind.is_trouble())
                .map(PairStatus::Trouble),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trouble_kind_round_trips_through_the_state_file() {
        for kind in OutcomeKind::ALL
            .into_iter()
            .filter(|kind| kind.is_trouble())
        {
            let status = PairStatus::Trouble(kind);
            assert_eq!(status.encode(), format!("trouble:{}", kind.as_str()));
            assert_eq!(PairStatus::decode(&status.encode()), Some(status.clone()));
            assert_eq!(
                serde_json::to_value(&status).unwrap()["trouble"],
                serde_json::json!(kind.as_str())
            );
        }
    }

    #[test]
    fn state_file_form_round_trips() {
        for status in [
            PairStatus::NotListed,
            PairStatus::listed(["127.0.0.2".parse().unwrap()]),
            PairStatus::listed(["127.0.0.2".parse().unwrap(), "127.0.0.9".parse().unwrap()]),
            PairStatus::Trouble(OutcomeKind::ListError),
        ] {
            assert_eq!(PairStatus::decode(&status.encode()), Some(status));
        }
        for bad in [
            "",
            "listed:",
            "listed:1.2.3",
            "trouble:",
            "trouble:x",
            "trouble:listed",
            "trouble:not_listed",
            "clean",
            "x:y",
        ] {
            assert_eq!(PairStatus::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn not_counted_watches_as_not_listed_and_no_data_as_trouble() {
        let not_counted = Outcome::NotCounted(crate::Listing {
            codes: vec!["127.0.1.102".parse().unwrap()],
            categories: vec!["abused legit spam".to_owned()],
            reasons: Vec::new(),
            ttl: 60,
        });
        assert_eq!(
            PairStatus::from_outcome(&not_counted),
            Some(PairStatus::NotListed)
        );
        let no_data = PairStatus::from_outcome(&Outcome::NoData).unwrap();
        assert_eq!(no_data, PairStatus::Trouble(OutcomeKind::NoData));
        assert_eq!(no_data.encode(), "trouble:no_data");
        assert_eq!(PairStatus::decode("trouble:no_data"), Some(no_data));
        assert_eq!(PairStatus::decode("trouble:not_counted"), None);
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
