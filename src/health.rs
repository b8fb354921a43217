//! List health: probing the RFC 5782 test points before a list is trusted.

use std::fmt;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::list::{DnsList, TestPoint, TestPoints};
use crate::outcome::{Outcome, Unhealthy};
use crate::query::{TxtLookup, query_list};
use crate::resolver::{DnsResolver, LookupError};
use crate::zone::QueryName;

/// What the last probe of a list's test points showed.
///
/// RFC 5782 section 5: an IPv4 list must list 127.0.0.2 and must not list 127.0.0.1; an IPv6
/// list likewise `::ffff:7f00:2` and `::ffff:7f00:1` in nibble form; a domain list `test` and
/// `invalid`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListHealth {
    /// Not probed yet, or health checks are off for this list.
    Unchecked,
    /// Both test points answered as they should.
    Healthy,
    /// The negative test point is not listed, but neither is the positive one. The list is
    /// still used: some lists do not publish test entries. Logged as a warning.
    TestPointMissing,
    /// The list is not trusted, and is skipped.
    Unhealthy(Unhealthy),
    /// A test point answered with an operator code or an invalid answer: every target gets
    /// that same outcome until the next probe, rather than being asked about.
    Broken(Outcome),
    /// The probe itself failed (timeout, SERVFAIL, ...). The list is still asked; its own
    /// answers will show the trouble if it persists. Probed again sooner than usual.
    ProbeFailed(LookupError),
}

impl ListHealth {
    /// A short snake_case name of the state, fit for a metric label: `unchecked`, `healthy`,
    /// `test_point_missing`, `unhealthy`, `broken` or `probe_failed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::ListHealth;
    ///
    /// assert_eq!(ListHealth::Healthy.state(), "healthy");
    /// assert_eq!(ListHealth::STATES.len(), 6);
    /// ```
    pub fn state(&self) -> &'static str {
        match self {
            ListHealth::Unchecked => "unchecked",
            ListHealth::Healthy => "healthy",
            ListHealth::TestPointMissing => "test_point_missing",
            ListHealth::Unhealthy(_) => "unhealthy",
            ListHealth::Broken(_) => "broken",
            ListHealth::ProbeFailed(_) => "probe_failed",
        }
    }

    /// Every name [`ListHealth::state`] returns.
    pub const STATES: [&'static str; 6] = [
        "unchecked",
        "healthy",
        "test_point_missing",
        "unhealthy",
        "broken",
        "probe_failed",
    ];
}

impl fmt::Display for ListHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListHealth::Unchecked => f.write_str("not checked"),
            ListHealth::Healthy => f.write_str("healthy"),
            ListHealth::TestPointMissing => f.write_str("positive test point not listed (warning)"),
            ListHealth::Unhealthy(why) => why.fmt(f),
            ListHealth::Broken(outcome) => write!(
                f,
                "test point answered {}: {}",
                outcome.status(),
                outcome.detail().unwrap_or_default()
            ),
            ListHealth::ProbeFailed(error) => write!(f, "probe failed: {error}"),
        }
    }
}

/// How often probes run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HealthPolicy {
    pub(crate) enabled: bool,
    pub(crate) interval: Duration,
    pub(crate) retry_after_failure: Duration,
}

/// One list's health and when it was last probed.
#[derive(Debug)]
pub(crate) struct HealthCell {
    state: RwLock<(ListHealth, Option<Instant>)>,
    /// Held while a probe runs, so that many concurrent checks start one probe, not many.
    probing: tokio::sync::Mutex<()>,
}

impl HealthCell {
    pub(crate) fn new() -> Self {
        HealthCell {
            state: RwLock::new((ListHealth::Unchecked, None)),
            probing: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn get(&self) -> ListHealth {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0
            .clone()
    }

    fn is_fresh(&self, policy: &HealthPolicy, now: Instant) -> bool {
        let state = self
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let max_age = match state.0 {
            ListHealth::ProbeFailed(_) => policy.retry_after_failure,
            _ => policy.interval,
        };
        state
            .1
            .is_some_and(|checked| now.saturating_duration_since(checked) < max_age)
    }

    /// Probes the list if its health is stale, and returns the health to use now.
    ///
    /// The first probe is waited for: a list must not be trusted before it was checked. Later
    /// probes run in whichever check finds the state stale first; checks that arrive during
    /// such a refresh use the previous state instead of waiting.
    pub(crate) async fn current<R: DnsResolver>(
        &self,
        resolver: &R,
        list: &DnsList,
        policy: &HealthPolicy,
    ) -> ListHealth {
        if !policy.enabled || !list.health_check() {
            return ListHealth::Unchecked;
        }
        if self.is_fresh(policy, Instant::now()) {
            return self.get();
        }
        let guard = match self.probing.try_lock() {
            Ok(guard) => guard,
            Err(_) if !matches!(self.get(), ListHealth::Unchecked) => return self.get(),
            Err(_) => self.probing.lock().await,
        };
        if self.is_fresh(policy, Instant::now()) {
            return self.get();
        }
        let health = probe(resolver, list).await;
        log_health(list, &self.get(), &health);
        *self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            (health.clone(), Some(Instant::now()));
        drop(guard);
        health
    }
}

/// Logs a change of health at warn level (info for a recovery), and a probe that changes
/// nothing at debug level: a long-lived program probes every few minutes, and one line per
/// change is what an operator wants to see.
fn log_health(list: &DnsList, before: &ListHealth, after: &ListHealth) {
    let changed = before != after;
    match after {
        _ if !changed => tracing::debug!(list = list.name(), health = %after, "list health"),
        ListHealth::Healthy => tracing::info!(list = list.name(), health = %after, "list health"),
        _ => tracing::warn!(list = list.name(), health = %after, "list health changed"),
    }
}

/// The test points of a list's first family: (must be listed, must not be listed).
fn test_points(list: &DnsList) -> (QueryName, QueryName) {
    let zone = list.zone();
    let family = list.kind().families()[0];
    let points = list.test_points();
    let rfc = TestPoints::rfc5782(family);
    let name = |own: Option<&TestPoint>, rfc: Option<&TestPoint>| {
        own.and_then(|point| point.query_name(zone).ok())
            .or_else(|| rfc.and_then(|point| point.query_name(zone).ok()))
            .expect("a zone always has room for an RFC 5782 test point")
    };
    (
        name(points.listed_for(family), rfc.listed_for(family)),
        name(points.not_listed_for(family), rfc.not_listed_for(family)),
    )
}

/// Asks both test points at once and judges the list.
pub(crate) async fn probe<R: DnsResolver>(resolver: &R, list: &DnsList) -> ListHealth {
    let (positive, negative) = test_points(list);
    let (positive, negative) = futures::join!(
        query_list(resolver, list, positive.as_str(), TxtLookup::Off),
        query_list(resolver, list, negative.as_str(), TxtLookup::Off),
    );
    judge(positive, negative)
}

/// Operator codes and invalid answers first (they say the list cannot be used as it is), then
/// a listed negative point (the list lists everything), then failed probes.
fn judge(positive: Outcome, negative: Outcome) -> ListHealth {
    for outcome in [&negative, &positive] {
        if matches!(outcome, Outcome::ListError(_) | Outcome::Invalid(_)) {
            return ListHealth::Broken(outcome.clone());
        }
    }
    if negative.is_listed() {
        return ListHealth::Unhealthy(Unhealthy::ListsEverything);
    }
    for outcome in [negative, positive.clone()] {
        if let Outcome::Failed(error) = outcome {
            return ListHealth::ProbeFailed(error);
        }
    }
    if positive.is_listed() {
        ListHealth::Healthy
    } else {
        ListHealth::TestPointMissing
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::list::ListKind;
    use crate::outcome::{InvalidAnswer, Listing, OperatorError};
    use crate::resolver::LookupErrorKind;

    fn listed() -> Outcome {
        Outcome::Listed(Listing {
            codes: vec![Ipv4Addr::new(127, 0, 0, 2)],
            categories: vec![],
            reasons: vec![],
            ttl: 60,
        })
    }

    #[test]
    fn judges_probe_answers() {
        let refused = Outcome::ListError(OperatorError {
            codes: vec![Ipv4Addr::new(127, 255, 255, 254)],
            meaning: "refused".into(),
        });
        let invalid = Outcome::Invalid(InvalidAnswer {
            codes: vec![Ipv4Addr::new(192, 0, 2, 1)],
        });
        let timeout = Outcome::Failed(LookupError::new(LookupErrorKind::Timeout));
        let cases = [
            (listed(), Outcome::NotListed, ListHealth::Healthy),
            (
                Outcome::NotListed,
                Outcome::NotListed,
                ListHealth::TestPointMissing,
            ),
            (
                listed(),
                listed(),
                ListHealth::Unhealthy(Unhealthy::ListsEverything),
            ),
            (
                refused.clone(),
                refused.clone(),
                ListHealth::Broken(refused.clone()),
            ),
            (
                invalid.clone(),
                invalid.clone(),
                ListHealth::Broken(invalid.clone()),
            ),
            (listed(), invalid.clone(), ListHealth::Broken(invalid)),
            (
                timeout.clone(),
                Outcome::NotListed,
                ListHealth::ProbeFailed(LookupError::new(LookupErrorKind::Timeout)),
            ),
            (
                timeout,
                listed(),
                ListHealth::Unhealthy(Unhealthy::ListsEverything),
            ),
        ];
        for (positive, negative, expected) in cases {
            assert_eq!(
                judge(positive.clone(), negative.clone()),
                expected,
                "{positive:?} / {negative:?}"
            );
        }
    }

    #[test]
    fn test_point_names() {
        let list = |kind| DnsList::new("t", "bl.example".parse().unwrap(), kind);
        let (pos, neg) = test_points(&list(ListKind::Ip));
        assert_eq!(pos.as_str(), "2.0.0.127.bl.example.");
        assert_eq!(neg.as_str(), "1.0.0.127.bl.example.");
        let (pos, neg) = test_points(&list(ListKind::Domain));
        assert_eq!(pos.as_str(), "test.bl.example.");
        assert_eq!(neg.as_str(), "invalid.bl.example.");
        let (pos, _) = test_points(&list(ListKind::Ipv6));
        assert!(pos.as_str().starts_with("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0"));
    }
}
