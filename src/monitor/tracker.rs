//! The tracker: compares each round's statuses with the confirmed ones, and turns confirmed
//! changes into events.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::list::DnsList;
use crate::outcome::{ListResult, Outcome};
use crate::target::{DomainName, Target};

use super::status::PairStatus;

/// What happened to a (target, list) pair.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::EventKind;
///
/// assert_eq!(EventKind::Delisted.as_str(), "delisted");
/// assert_eq!(serde_json::to_string(&EventKind::Listed).unwrap(), "\"listed\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The list now lists the target.
    Listed,
    /// The list no longer lists the target.
    Delisted,
    /// The list still lists the target, with other codes.
    Changed,
    /// The list fails for the target (timeouts, errors, unusable answers).
    Trouble,
    /// The list answers for the target again after trouble.
    Recovered,
}

impl EventKind {
    /// The event's name in JSON: `listed`, `delisted`, `changed`, `trouble`, `recovered`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Listed => "listed",
            EventKind::Delisted => "delisted",
            EventKind::Changed => "changed",
            EventKind::Trouble => "trouble",
            EventKind::Recovered => "recovered",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A confirmed change of one (target, list) pair.
///
/// Serialises to one flat JSON object:
///
/// ```json
/// {"event": "listed", "target": "192.0.2.1", "list": "bl", "zone": "bl.example",
///  "codes": ["127.0.0.2"], "categories": ["spam"], "reasons": ["see https://bl.example/"],
///  "lookup_url": null, "at": "2026-03-01T12:00:00Z",
///  "previous": {"status": "not_listed", "codes": []}}
/// ```
///
/// `codes`, `categories` and `reasons` describe the current listing (empty when the target
/// is not listed now); `previous` is the status before the change (`null` for a baseline
/// report); `detail` says what the trouble is, for `trouble` events only; `via` and `host`
/// say which watched domain and host name an address was found from.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::{Event, EventKind, PairStatus};
///
/// let event = Event {
///     event: EventKind::Delisted,
///     target: "192.0.2.1".parse().unwrap(),
///     list: "bl".into(),
///     zone: "bl.example".into(),
///     codes: vec![],
///     categories: vec![],
///     reasons: vec![],
///     lookup_url: None,
///     at: "2026-03-01T12:00:00Z".into(),
///     previous: Some(PairStatus::listed(["127.0.0.2".parse().unwrap()])),
///     detail: None,
///     via: None,
///     host: None,
/// };
/// assert_eq!(
///     event.to_string(),
///     "2026-03-01T12:00:00Z delisted 192.0.2.1 on bl (bl.example): not listed; was listed 127.0.0.2"
/// );
/// let json = serde_json::to_value(&event).unwrap();
/// assert_eq!(json["previous"]["codes"][0], "127.0.0.2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// What happened.
    pub event: EventKind,
    /// The target.
    pub target: Target,
    /// The list's name.
    pub list: String,
    /// The list's zone (public name: a DQS key never appears).
    pub zone: String,
    /// The current listing codes.
    pub codes: Vec<Ipv4Addr>,
    /// The current listing's categories.
    pub categories: Vec<String>,
    /// The current listing's TXT reasons.
    pub reasons: Vec<String>,
    /// Where to look the listing up (and ask for delisting), when the list has a template.
    pub lookup_url: Option<String>,
    /// When the round that confirmed the change started (RFC 3339, UTC).
    pub at: String,
    /// The confirmed status before this change; `None` for a baseline report.
    pub previous: Option<PairStatus>,
    /// What the trouble is (trouble events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For an address found from a watched domain (its mail servers, or its own addresses):
    /// that domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<DomainName>,
    /// For an address found from a watched domain: the host name it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<DomainName>,
}

impl fmt::Display for Event {
    /// One readable line: when, what, which target on which list, the details, and what it
    /// was before. List text (TXT reasons, trouble details) is debug-quoted, so that control
    /// characters a list sends cannot reach a terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} on {}",
            self.at, self.event, self.target, self.list
        )?;
        if self.zone != self.list {
            write!(f, " ({})", self.zone)?;
        }
        f.write_str(": ")?;
        if self.codes.is_empty() {
            f.write_str(match self.event {
                EventKind::Trouble => "trouble",
                _ => "not listed",
            })?;
        } else {
            let codes: Vec<String> = self.codes.iter().map(ToString::to_string).collect();
            write!(f, "listed {}", codes.join(", "))?;
        }
        if !self.categories.is_empty() {
            write!(f, " [{}]", self.categories.join(", "))?;
        }
        for reason in &self.reasons {
            write!(f, " {reason:?}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, " {detail:?}")?;
        }
        if let Some(url) = &self.lookup_url {
            write!(f, " <{url}>")?;
        }
        if let (Some(via), Some(host)) = (&self.via, &self.host) {
            write!(f, " (via {via}: {host})")?;
        }
        if let Some(previous) = &self.previous {
            write!(f, "; was {previous}")?;
        }
        Ok(())
    }
}

/// What the tracker remembers about one pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PairState {
    /// The confirmed status: what was last reported (or taken as the baseline).
    pub(crate) status: PairStatus,
    /// While `status` is trouble: the last answer before it, if the list ever answered.
    pub(crate) last_answer: Option<PairStatus>,
    /// A status seen in the latest rounds that differs from `status`, not yet confirmed.
    pub(crate) pending: Option<PairStatus>,
    /// How many rounds in a row have seen `pending`.
    pub(crate) count: u32,
}

impl PairState {
    fn baseline(status: PairStatus) -> Self {
        PairState {
            status,
            last_answer: None,
            pending: None,
            count: 0,
        }
    }
}

/// Settings of a [`Tracker`].
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::TrackerConfig;
///
/// let config = TrackerConfig { confirm: 3, ..TrackerConfig::default() };
/// assert!(!config.report_baseline);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerConfig {
    /// How many rounds in a row must agree before a change is reported (default 2; 0 counts
    /// as 1, which reports every change at once).
    pub confirm: u32,
    /// Whether a pair seen for the first time reports a listing it has (default false: the
    /// first round on an empty state is silent).
    pub report_baseline: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            confirm: 2,
            report_baseline: false,
        }
    }
}

/// Remembers the confirmed status of every (target, list) pair and reports confirmed changes.
///
/// Feed it each round's results with [`Tracker::observe`]. A pair seen for the first time is
/// the baseline: silent unless [`TrackerConfig::report_baseline`] is set, in which case a
/// listing is reported as `listed`. After that, a status that differs from the confirmed one
/// must be seen in `confirm` rounds in a row before it becomes an [`Event`]: a list that
/// flaps between two answers reports nothing.
///
/// Memory per pair is a few dozen bytes (no reports are kept), so a `/16` against four lists
/// fits in tens of MiB.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::{EventKind, Tracker, TrackerConfig};
/// use dnsbl_check::{DnsList, ListKind, Outcome, Target};
/// # use dnsbl_check::{Answer, Checker, DnsResolver, LookupError};
/// # use std::net::Ipv4Addr;
/// # struct Table(bool);
/// # impl DnsResolver for Table {
/// #     async fn lookup_a(&self, _: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
/// #         Ok(if self.0 {
/// #             Answer::Records { records: vec![Ipv4Addr::new(127, 0, 0, 2)], ttl: 60 }
/// #         } else {
/// #             Answer::NoRecords { nxdomain: true, negative_ttl: None }
/// #         })
/// #     }
/// #     async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, LookupError> {
/// #         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
/// #     }
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
/// # let check = |listed: bool| {
/// #     let list = DnsList::from_spec("bl.example", ListKind::Ip).unwrap();
/// #     let checker = Checker::builder().list(list).health_checks(false)
/// #         .build_with(Table(listed)).unwrap();
/// #     rt.block_on(checker.check("192.0.2.1".parse().unwrap())).results.remove(0)
/// # };
/// let target: Target = "192.0.2.1".parse()?;
/// let mut tracker = Tracker::new(TrackerConfig { confirm: 2, ..TrackerConfig::default() });
/// let mut events = Vec::new();
///
/// // `check(listed)` runs a real check against a table resolver (hidden above).
/// tracker.observe(&target, &check(false), "t1", &mut events); // baseline: silent
/// tracker.observe(&target, &check(true), "t2", &mut events); // first sighting: pending
/// assert!(events.is_empty());
/// tracker.observe(&target, &check(true), "t3", &mut events); // confirmed
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].event, EventKind::Listed);
/// assert_eq!(events[0].at, "t3");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Tracker {
    config: TrackerConfig,
    /// List names, interned: pairs refer to lists by index.
    lists: Vec<Box<str>>,
    /// Per target, per list index.
    pairs: HashMap<Target, Vec<Option<PairState>>>,
    /// Pairs whose state changed since the last [`Tracker::take_dirty`].
    dirty: Vec<(Target, u16)>,
    /// The lists with a lookup URL template, by name.
    lookup: HashMap<String, DnsList>,
}

impl Tracker {
    /// An empty tracker.
    pub fn new(config: TrackerConfig) -> Self {
        Tracker {
            config,
            lists: Vec::new(),
            pairs: HashMap::new(),
            dirty: Vec::new(),
            lookup: HashMap::new(),
        }
    }

    /// Fills the `lookup_url` of events from these lists' templates (see
    /// [`DnsList::lookup_url`]). A [`Watcher`](super::Watcher) does this with its checker's
    /// lists.
    pub fn lookup_urls_from<'a>(&mut self, lists: impl IntoIterator<Item = &'a DnsList>) {
        self.lookup = lists
            .into_iter()
            .filter(|list| list.lookup_url_template().is_some())
            .map(|list| (list.name().to_owned(), list.clone()))
            .collect();
    }

    /// The settings.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// How many pairs are known.
    pub fn len(&self) -> usize {
        self.pairs
            .values()
            .map(|lists| lists.iter().flatten().count())
            .sum()
    }

    /// Whether no pair is known yet (the next round is the baseline).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The confirmed status of one pair.
    pub fn status(&self, target: &Target, list: &str) -> Option<&PairStatus> {
        let index = self.lists.iter().position(|name| &**name == list)?;
        self.pairs
            .get(target)?
            .get(index)?
            .as_ref()
            .map(|state| &state.status)
    }

    /// Every known pair with its confirmed status, in no particular order.
    pub fn statuses(&self) -> impl Iterator<Item = (&Target, &str, &PairStatus)> {
        self.pairs.iter().flat_map(move |(target, lists)| {
            lists.iter().enumerate().filter_map(move |(index, state)| {
                let state = state.as_ref()?;
                Some((target, &*self.lists[index], &state.status))
            })
        })
    }

    /// Takes one list's result for `target` into account, pushing the events it confirms to
    /// `events`, stamped with `at`. A list that does not take the target is ignored.
    pub fn observe(
        &mut self,
        target: &Target,
        result: &ListResult,
        at: &str,
        events: &mut Vec<Event>,
    ) {
        let Some(seen) = PairStatus::from_outcome(&result.outcome) else {
            return;
        };
        let index = self.list_index(&result.list);
        let confirm = self.config.confirm.max(1);
        let report_baseline = self.config.report_baseline;
        let slot = self.slot(target, index);
        let mut changes = Vec::new();
        let dirty = match slot {
            None => {
                if matches!(seen, PairStatus::Listed(_)) && report_baseline {
                    changes.push((EventKind::Listed, None));
                }
                *slot = Some(PairState::baseline(seen));
                true
            }
            Some(state) => advance(state, seen, confirm, &mut changes),
        };
        if dirty {
            self.dirty.push((target.clone(), index));
        }
        for (kind, previous) in changes {
            events.push(self.event(kind, target, result, at, previous));
        }
    }

    /// Whether taking `result` into account would confirm a delisting now: the pair's last
    /// answer was a listing, `result` says "not listed", and enough rounds agree (this one
    /// included). Before believing it, a watcher checks the pair again together with a fresh
    /// probe of the list's test points ([`Checker::recheck`](crate::Checker::recheck)): a
    /// resolver that went blind must read as trouble, not as a delisting.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::monitor::{Tracker, TrackerConfig};
    /// use dnsbl_check::{Answer, Checker, DnsList, DnsResolver, ListKind, LookupError, Target};
    /// # use std::net::Ipv4Addr;
    /// # struct Table(bool);
    /// # impl DnsResolver for Table {
    /// #     async fn lookup_a(&self, _: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
    /// #         Ok(if self.0 {
    /// #             Answer::Records { records: vec![Ipv4Addr::new(127, 0, 0, 2)], ttl: 60 }
    /// #         } else {
    /// #             Answer::NoRecords { nxdomain: true, negative_ttl: None }
    /// #         })
    /// #     }
    /// #     async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, LookupError> {
    /// #         Ok(Answer::NoRecords { nxdomain: true, negative_ttl: None })
    /// #     }
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    /// # let check = |listed: bool| {
    /// #     let list = DnsList::from_spec("bl.example", ListKind::Ip).unwrap();
    /// #     let checker = Checker::builder().list(list).health_checks(false)
    /// #         .build_with(Table(listed)).unwrap();
    /// #     rt.block_on(checker.check("192.0.2.1".parse().unwrap())).results.remove(0)
    /// # };
    /// let target: Target = "192.0.2.1".parse()?;
    /// let mut tracker = Tracker::new(TrackerConfig { confirm: 1, ..TrackerConfig::default() });
    /// let mut events = Vec::new();
    /// tracker.observe(&target, &check(true), "t1", &mut events); // baseline: listed
    /// assert!(tracker.would_delist(&target, &check(false)));
    /// assert!(!tracker.would_delist(&target, &check(true)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn would_delist(&self, target: &Target, result: &ListResult) -> bool {
        if result.outcome != Outcome::NotListed {
            return false;
        }
        let Some(index) = self.lists.iter().position(|name| **name == *result.list) else {
            return false;
        };
        let Some(Some(state)) = self.pairs.get(target).and_then(|lists| lists.get(index)) else {
            return false;
        };
        let was_listed = match &state.status {
            PairStatus::Listed(_) => true,
            PairStatus::Trouble(_) => matches!(state.last_answer, Some(PairStatus::Listed(_))),
            PairStatus::NotListed => false,
        };
        let rounds = match &state.pending {
            Some(PairStatus::NotListed) => state.count + 1,
            _ => 1,
        };
        was_listed && rounds >= self.config.confirm.max(1)
    }

    /// The pairs changed since the last call, for a store to write.
    #[cfg_attr(not(feature = "monitor"), allow(dead_code))]
    pub(crate) fn take_dirty(&mut self) -> Vec<(Target, u16)> {
        std::mem::take(&mut self.dirty)
    }

    /// One pair's state, for a store to write.
    #[cfg_attr(not(feature = "monitor"), allow(dead_code))]
    pub(crate) fn pair(&self, target: &Target, index: u16) -> Option<(&str, &PairState)> {
        let state = self.pairs.get(target)?.get(usize::from(index))?.as_ref()?;
        Some((&self.lists[usize::from(index)], state))
    }

    /// Puts back a pair's state read from a store.
    #[cfg_attr(not(feature = "monitor"), allow(dead_code))]
    pub(crate) fn restore(&mut self, target: Target, list: &str, state: PairState) {
        let index = self.list_index(list);
        *self.slot(&target, index) = Some(state);
    }

    fn list_index(&mut self, list: &str) -> u16 {
        match self.lists.iter().position(|name| &**name == list) {
            Some(index) => index as u16,
            None => {
                self.lists.push(list.into());
                // More than 65,535 lists is not a configuration anyone runs; saturate.
                u16::try_from(self.lists.len() - 1).unwrap_or(u16::MAX)
            }
        }
    }

    fn slot(&mut self, target: &Target, index: u16) -> &mut Option<PairState> {
        let index = usize::from(index);
        if !self.pairs.contains_key(target) {
            self.pairs.insert(target.clone(), Vec::new());
        }
        let lists = self.pairs.get_mut(target).expect("inserted above");
        if lists.len() <= index {
            lists.resize(index + 1, None);
        }
        &mut lists[index]
    }

    fn event(
        &self,
        kind: EventKind,
        target: &Target,
        result: &ListResult,
        at: &str,
        previous: Option<PairStatus>,
    ) -> Event {
        let (codes, categories, reasons) = match &result.outcome {
            Outcome::Listed(listing) => (
                listing.codes.clone(),
                listing.categories.clone(),
                listing.reasons.clone(),
            ),
            _ => Default::default(),
        };
        let lookup_url = (kind != EventKind::Trouble)
            .then(|| self.lookup.get(&*result.list)?.lookup_url(target))
            .flatten();
        Event {
            event: kind,
            target: target.clone(),
            list: result.list.to_string(),
            zone: result.zone.public_name().to_owned(),
            codes,
            categories,
            reasons,
            lookup_url,
            at: at.to_owned(),
            previous,
            detail: (kind == EventKind::Trouble)
                .then(|| result.outcome.detail())
                .flatten(),
            via: None,
            host: None,
        }
    }
}

/// Moves one known pair on by a round that saw `seen`; pushes the confirmed changes. Returns
/// whether the pair's state changed.
fn advance(
    state: &mut PairState,
    seen: PairStatus,
    confirm: u32,
    changes: &mut Vec<(EventKind, Option<PairStatus>)>,
) -> bool {
    if seen.same_kind_as(&state.status) {
        // Nothing new (a new kind of trouble is still trouble: kept, not reported).
        let changed = state.pending.is_some() || state.status != seen;
        state.pending = None;
        state.count = 0;
        state.status = seen;
        return changed;
    }
    match &state.pending {
        Some(pending) if pending.same_kind_as(&seen) => state.count += 1,
        _ => state.count = 1,
    }
    state.pending = Some(seen);
    if state.count < confirm {
        return true;
    }
    let seen = state.pending.take().expect("set above");
    state.count = 0;
    let previous = std::mem::replace(&mut state.status, seen);
    match (&previous, &state.status) {
        (answer, PairStatus::Trouble(_)) => {
            changes.push((EventKind::Trouble, Some(answer.clone())));
            state.last_answer = Some(previous);
        }
        (PairStatus::Trouble(_), answer) => {
            let before = state.last_answer.take();
            changes.push((EventKind::Recovered, Some(previous.clone())));
            if let Some(kind) = before
                .as_ref()
                .and_then(|before| answer_change(before, answer))
            {
                changes.push((kind, before));
            }
        }
        (before, after) => {
            if let Some(kind) = answer_change(before, after) {
                changes.push((kind, Some(previous)));
            }
        }
    }
    true
}

/// The event for an answer that went from `before` to `after`, if they differ.
fn answer_change(before: &PairStatus, after: &PairStatus) -> Option<EventKind> {
    match (before, after) {
        (a, b) if a == b => None,
        (PairStatus::Listed(_), PairStatus::Listed(_)) => Some(EventKind::Changed),
        (_, PairStatus::Listed(_)) => Some(EventKind::Listed),
        (PairStatus::Listed(_), _) => Some(EventKind::Delisted),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Listing;
    use crate::resolver::{LookupError, LookupErrorKind};

    fn list() -> DnsList {
        DnsList::from_spec("bl.example", crate::ListKind::Ip).unwrap()
    }

    fn listed(codes: &[&str]) -> ListResult {
        ListResult::new(
            &list(),
            Outcome::Listed(Listing {
                codes: codes.iter().map(|c| c.parse().unwrap()).collect(),
                categories: vec!["spam".into()],
                reasons: vec!["why".into()],
                ttl: 60,
            }),
        )
    }

    fn clean() -> ListResult {
        ListResult::new(&list(), Outcome::NotListed)
    }

    fn failing() -> ListResult {
        ListResult::new(
            &list(),
            Outcome::Failed(LookupError::new(LookupErrorKind::Timeout)),
        )
    }

    /// Feeds one result per round and returns the event kinds of each round.
    fn rounds(config: TrackerConfig, results: &[ListResult]) -> Vec<Vec<EventKind>> {
        let target: Target = "192.0.2.1".parse().unwrap();
        let mut tracker = Tracker::new(config);
        results
            .iter()
            .enumerate()
            .map(|(round, result)| {
                let mut events = Vec::new();
                tracker.observe(&target, result, &format!("r{round}"), &mut events);
                events.iter().map(|e| e.event).collect()
            })
            .collect()
    }

    fn confirm(n: u32) -> TrackerConfig {
        TrackerConfig {
            confirm: n,
            ..TrackerConfig::default()
        }
    }

    #[test]
    fn baseline_is_silent_unless_asked() {
        use EventKind::*;
        assert_eq!(rounds(confirm(1), &[listed(&["127.0.0.2"])]), [vec![]]);
        let config = TrackerConfig {
            report_baseline: true,
            ..confirm(1)
        };
        assert_eq!(
            rounds(config.clone(), &[listed(&["127.0.0.2"])]),
            [vec![Listed]]
        );
        // A clean or failing baseline is nothing to report.
        assert_eq!(rounds(config.clone(), &[clean()]), [vec![]]);
        assert_eq!(rounds(config, &[failing()]), [vec![]]);
    }

    #[test]
    fn listed_changed_delisted() {
        use EventKind::*;
        let got = rounds(
            confirm(1),
            &[
                clean(),
                listed(&["127.0.0.2"]),
                listed(&["127.0.0.2"]),
                listed(&["127.0.0.4", "127.0.0.2"]),
                listed(&["127.0.0.2", "127.0.0.4"]),
                clean(),
            ],
        );
        assert_eq!(
            got,
            [
                vec![],
                vec![Listed],
                vec![],
                vec![Changed],
                vec![],
                vec![Delisted]
            ]
        );
    }

    #[test]
    fn confirm_n_ignores_flapping() {
        use EventKind::*;
        let flap = [
            clean(),
            listed(&["127.0.0.2"]),
            clean(),
            listed(&["127.0.0.2"]),
            listed(&["127.0.0.3"]), // another listing resets the count
            listed(&["127.0.0.3"]),
            listed(&["127.0.0.3"]),
        ];
        assert_eq!(
            rounds(confirm(3), &flap),
            [vec![], vec![], vec![], vec![], vec![], vec![], vec![Listed]]
        );
        // With confirm 1 every flap is reported.
        assert_eq!(
            rounds(confirm(1), &flap[..4]),
            [vec![], vec![Listed], vec![Delisted], vec![Listed]]
        );
    }

    #[test]
    fn trouble_and_recovery() {
        use EventKind::*;
        let got = rounds(
            confirm(2),
            &[
                clean(),
                failing(),
                failing(),
                // Listed while failing: recovery reports the listing too.
                listed(&["127.0.0.2"]),
                listed(&["127.0.0.2"]),
                failing(),
                failing(),
                listed(&["127.0.0.2"]),
                listed(&["127.0.0.2"]),
            ],
        );
        assert_eq!(
            got,
            [
                vec![],
                vec![],
                vec![Trouble],
                vec![],
                vec![Recovered, Listed],
                vec![],
                vec![Trouble],
                vec![],
                vec![Recovered]
            ]
        );
    }

    #[test]
    fn event_fields() {
        let target: Target = "192.0.2.1".parse().unwrap();
        let mut tracker = Tracker::new(confirm(1));
        let with_url = list()
            .with_lookup_url("https://bl.example/lookup?ip={ip}")
            .unwrap();
        tracker.lookup_urls_from([&with_url]);
        let mut events = Vec::new();
        tracker.observe(&target, &clean(), "a", &mut events);
        tracker.observe(&target, &listed(&["127.0.0.2"]), "b", &mut events);
        tracker.observe(&target, &failing(), "c", &mut events);
        let json = serde_json::to_value(&events).unwrap();
        assert_eq!(
            json[0],
            serde_json::json!({
                "event": "listed", "target": "192.0.2.1", "list": "bl.example",
                "zone": "bl.example", "codes": ["127.0.0.2"], "categories": ["spam"],
                "reasons": ["why"], "lookup_url": "https://bl.example/lookup?ip=192.0.2.1",
                "at": "b", "previous": {"status": "not_listed", "codes": []}
            })
        );
        assert_eq!(json[1]["event"], "trouble");
        assert_eq!(json[1]["lookup_url"], serde_json::Value::Null);
        assert_eq!(json[1]["previous"]["status"], "listed");
        assert_eq!(json[1]["detail"], "timeout");
        assert_eq!(
            tracker.status(&target, "bl.example"),
            Some(&PairStatus::Trouble(crate::OutcomeKind::Timeout))
        );
        assert_eq!(tracker.len(), 1);
    }

    #[test]
    fn dirty_pairs_are_only_those_that_moved() {
        let target: Target = "192.0.2.1".parse().unwrap();
        let mut tracker = Tracker::new(confirm(2));
        let mut events = Vec::new();
        tracker.observe(&target, &clean(), "a", &mut events);
        assert_eq!(tracker.take_dirty().len(), 1);
        tracker.observe(&target, &clean(), "b", &mut events);
        assert!(tracker.take_dirty().is_empty());
        tracker.observe(&target, &failing(), "c", &mut events); // pending
        assert_eq!(tracker.take_dirty().len(), 1);
        tracker.observe(&target, &clean(), "d", &mut events); // pending dropped
        assert_eq!(tracker.take_dirty().len(), 1);
        assert!(events.is_empty());
    }
}
