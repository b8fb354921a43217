//! List health: probing the RFC 5782 test points before a list is trusted.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::list::{DnsList, ListKind, TestPoint};
use crate::outcome::{Outcome, SkipReason, Unhealthy};
use crate::query::classify;
use crate::resolver::{Answer, DnsResolver, LookupError, LookupErrorKind};
use crate::target::{Target, unmap_ipv4};

/// What the last probe of a list's test points showed.
///
/// RFC 5782 section 5: an IPv4 list must list 127.0.0.2 and must not list 127.0.0.1; an IPv6
/// list likewise `::ffff:7f00:2` and `::ffff:7f00:1` in nibble form; a domain list `test` and
/// `invalid`. Lists may publish their own ([`DnsList::test_points`]). Each family of targets a
/// list holds is proven by its own positive test point: a list of kind
/// [`ListKind::Ip`](crate::ListKind::Ip) is probed for IPv4 and IPv6 separately.
///
/// A list is trusted only when its positive test point was seen listed: an unanswered test
/// point makes the list's answers trouble ([`Unhealthy::TestPointNotListed`]), never "not
/// listed". Only a list that publishes no positive test point ([`ListHealth::TestPointMissing`])
/// and a checker with probes switched off
/// ([`CheckerBuilder::health_checks`](crate::CheckerBuilder::health_checks)) use lists unproven.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListHealth {
    /// Not probed yet, or health checks are off for this list.
    Unchecked,
    /// Every test point answered as it should.
    Healthy,
    /// The list publishes no positive test point
    /// ([`TestPoints::none`](crate::list::TestPoints::none), or only negative ones), so it
    /// cannot be seen to work; its negative test points, if any, answered as they should. The
    /// list is used as it answers, as its definition says. Logged as a warning.
    TestPointMissing,
    /// The list is not trusted: every target gets [`Outcome::Skipped`] with this reason.
    Unhealthy(Unhealthy),
    /// The list answers as it should for one family of targets, and not for another (an `ip`
    /// list that serves IPv4 only): targets of the family it serves are checked, targets of the
    /// other get [`Outcome::Skipped`] with this reason ([`Unhealthy::FamilyNotServed`]).
    FamilyNotServed(Unhealthy),
    /// A test point answered with an operator code or an invalid answer: every target gets
    /// that same outcome until the next probe, rather than being asked about.
    Broken(Outcome),
    /// The probe itself failed (timeout, SERVFAIL, ...). The list is still asked; its own
    /// answers will show the trouble if it persists. Probed again sooner than usual.
    ProbeFailed(LookupError),
}

impl ListHealth {
    /// A short snake_case name of the state, fit for a metric label: `unchecked`, `healthy`,
    /// `test_point_missing`, `unhealthy`, `family_not_served`, `broken` or `probe_failed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::ListHealth;
    ///
    /// assert_eq!(ListHealth::Healthy.state(), "healthy");
    /// assert_eq!(ListHealth::STATES.len(), 7);
    /// ```
    pub fn state(&self) -> &'static str {
        match self {
            ListHealth::Unchecked => "unchecked",
            ListHealth::Healthy => "healthy",
            ListHealth::TestPointMissing => "test_point_missing",
            ListHealth::Unhealthy(_) => "unhealthy",
            ListHealth::FamilyNotServed(_) => "family_not_served",
            ListHealth::Broken(_) => "broken",
            ListHealth::ProbeFailed(_) => "probe_failed",
        }
    }

    /// Every name [`ListHealth::state`] returns.
    pub const STATES: [&'static str; 7] = [
        "unchecked",
        "healthy",
        "test_point_missing",
        "unhealthy",
        "family_not_served",
        "broken",
        "probe_failed",
    ];

    /// Whether the list cannot be trusted with some or all targets: unhealthy, broken, or not
    /// serving a family of targets. Such a list's answers are trouble, never "not listed".
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::ListHealth;
    ///
    /// assert!(!ListHealth::Healthy.is_untrusted());
    /// assert!(!ListHealth::TestPointMissing.is_untrusted());
    /// ```
    pub fn is_untrusted(&self) -> bool {
        matches!(
            self,
            ListHealth::Unhealthy(_) | ListHealth::Broken(_) | ListHealth::FamilyNotServed(_)
        )
    }

    /// The outcome a target gets without being asked about, if the list is not trusted with
    /// it; `None` when the list is to be asked.
    pub(crate) fn outcome_for(&self, target: &Target) -> Option<Outcome> {
        match self {
            ListHealth::Unhealthy(why) => {
                Some(Outcome::Skipped(SkipReason::Unhealthy(why.clone())))
            }
            ListHealth::Broken(outcome) => Some(outcome.clone()),
            ListHealth::FamilyNotServed(why) => {
                let served = matches!(why, Unhealthy::FamilyNotServed { family, .. }
                    if *family != family_name(family_of(target)));
                (!served).then(|| Outcome::Skipped(SkipReason::Unhealthy(why.clone())))
            }
            _ => None,
        }
    }
}

impl fmt::Display for ListHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListHealth::Unchecked => f.write_str("not checked"),
            ListHealth::Healthy => f.write_str("healthy"),
            ListHealth::TestPointMissing => {
                f.write_str("publishes no positive test point: used unproven (warning)")
            }
            ListHealth::Unhealthy(why) | ListHealth::FamilyNotServed(why) => why.fmt(f),
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
    /// The health in use and when it was probed: read by every check, replaced by a probe.
    state: ArcSwap<(ListHealth, Option<Instant>)>,
    /// Held while a probe runs, so that many concurrent checks start one probe, not many.
    probing: tokio::sync::Mutex<()>,
}

impl HealthCell {
    pub(crate) fn new() -> Self {
        HealthCell {
            state: ArcSwap::from_pointee((ListHealth::Unchecked, None)),
            probing: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn get(&self) -> ListHealth {
        self.state.load().0.clone()
    }

    fn is_fresh(&self, policy: &HealthPolicy, now: Instant) -> bool {
        fresh_state(&self.state.load(), policy, now)
    }

    /// The outcome `target` gets without being asked about ([`ListHealth::outcome_for`]),
    /// when the health in use needs no probe: `Some(None)` when the list is to be asked;
    /// `None` when a probe is due, which only [`HealthCell::current`] runs. Reads the state
    /// once, without copying it: this runs for every check.
    pub(crate) fn fresh_outcome(
        &self,
        list: &DnsList,
        policy: &HealthPolicy,
        target: &Target,
    ) -> Option<Option<Outcome>> {
        if !policy.enabled || !list.health_check() {
            return Some(None);
        }
        let state = self.state.load();
        fresh_state(&state, policy, Instant::now()).then(|| state.0.outcome_for(target))
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
        self.probed(resolver, list, policy, false).await
    }

    /// Probes the list now, however fresh its health, and returns it: for confirming a change
    /// to "not listed" against the test points. Waits for a probe already under way, then
    /// probes again (an answer from before the change is not proof after it).
    pub(crate) async fn refresh<R: DnsResolver>(
        &self,
        resolver: &R,
        list: &DnsList,
        policy: &HealthPolicy,
    ) -> ListHealth {
        self.probed(resolver, list, policy, true).await
    }

    /// [`HealthCell::current`], or with `now` [`HealthCell::refresh`].
    async fn probed<R: DnsResolver>(
        &self,
        resolver: &R,
        list: &DnsList,
        policy: &HealthPolicy,
        now: bool,
    ) -> ListHealth {
        if !policy.enabled || !list.health_check() {
            return ListHealth::Unchecked;
        }
        let fresh = || !now && self.is_fresh(policy, Instant::now());
        if fresh() {
            return self.get();
        }
        let guard = match self.probing.try_lock() {
            Ok(guard) => guard,
            Err(_) if !now && !matches!(self.get(), ListHealth::Unchecked) => return self.get(),
            Err(_) => self.probing.lock().await,
        };
        if fresh() {
            return self.get();
        }
        // Boxed: a probe is rare (once per list and period), and its state would otherwise
        // enlarge every check's future.
        let health = Box::pin(probe(resolver, list)).await;
        log_health(list, &self.get(), &health);
        // Probes are one at a time (`probing`), so no other store is lost.
        self.state
            .store(Arc::new((health.clone(), Some(Instant::now()))));
        drop(guard);
        health
    }
}

/// Whether a health `state` (and when it was probed) is recent enough for `policy`.
fn fresh_state(state: &(ListHealth, Option<Instant>), policy: &HealthPolicy, now: Instant) -> bool {
    let max_age = match state.0 {
        ListHealth::ProbeFailed(_) => policy.retry_after_failure,
        _ => policy.interval,
    };
    state
        .1
        .is_some_and(|checked| now.saturating_duration_since(checked) < max_age)
}

/// Logs a change of health: at error level for a list that is no longer trusted (its
/// answers become trouble), warn for a list used unproven or a failed probe, info for a
/// recovery; a probe that changes nothing at debug level: a long-lived program probes every
/// few minutes, and one line per change is what an operator wants to see.
fn log_health(list: &DnsList, before: &ListHealth, after: &ListHealth) {
    let changed = before != after;
    let zone = list.zone().public_name();
    match after {
        _ if !changed => tracing::debug!(list = list.name(), zone, health = %after, "list health"),
        ListHealth::Healthy => {
            tracing::info!(list = list.name(), zone, health = %after, "list health")
        }
        _ if after.is_untrusted() => tracing::error!(
            list = list.name(),
            zone,
            health = %after,
            "list not trusted: its answers are reported as trouble"
        ),
        _ => tracing::warn!(list = list.name(), zone, health = %after, "list health changed"),
    }
}

/// How a family of targets is named in messages.
fn family_name(family: ListKind) -> &'static str {
    match family {
        ListKind::Ipv6 => "IPv6",
        ListKind::Domain => "domains",
        _ => "IPv4",
    }
}

/// The family of `target` as it is asked: an IPv4-mapped IPv6 address is IPv4.
fn family_of(target: &Target) -> ListKind {
    match target {
        Target::Ip(addr) => match unmap_ipv4(*addr) {
            IpAddr::V4(_) => ListKind::Ipv4,
            IpAddr::V6(_) => ListKind::Ipv6,
        },
        Target::Domain(_) => ListKind::Domain,
    }
}

/// What one test point answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Listed (for a positive point: any code in 127.0.0.0/8 that is not an operator code,
    /// whatever the list's filter: the filter says which codes count, not whether the list
    /// works).
    Listed,
    /// Not listed: `NXDOMAIN`, `no A record`, or only codes the filter does not count.
    Absent(&'static str),
    /// An operator code or an invalid answer.
    Broken(Outcome),
    /// The lookup failed.
    Failed(LookupError),
}

/// Asks one test point.
async fn ask<R: DnsResolver>(
    resolver: &R,
    list: &DnsList,
    point: Option<&TestPoint>,
    positive: bool,
) -> Option<Seen> {
    let name = match point?.query_name(list.zone()) {
        Ok(name) => name,
        Err(_) => {
            return Some(Seen::Failed(LookupError::with_detail(
                LookupErrorKind::Config,
                "test point name longer than 253 octets under this zone",
            )));
        }
    };
    Some(match resolver.lookup_a(name.as_str()).await {
        Err(error) => Seen::Failed(error),
        Ok(Answer::NoRecords { nxdomain: true, .. }) => Seen::Absent("NXDOMAIN"),
        Ok(Answer::NoRecords { .. }) => Seen::Absent("no A record"),
        Ok(Answer::Records { records, ttl }) => match classify(list, records, ttl) {
            Outcome::Listed(_) => Seen::Listed,
            Outcome::NotListed if positive => Seen::Listed,
            Outcome::NotListed => Seen::Absent("no code that counts"),
            other => Seen::Broken(other),
        },
    })
}

/// What the probe of one family saw: (its positive test point and what it answered, what its
/// negative one answered, whether the positive one was answered from IPv4 data).
type FamilySeen = (ListKind, Option<(TestPoint, Seen)>, Option<Seen>, bool);

/// The 6to4 image (`2002:AABB:CCDD::`) of the IPv4 address an IPv4-mapped test point carries.
///
/// rbldnsd's `ip4set` answers IPv6 names of IPv4-mapped (`::ffff:a.b.c.d`) and 6to4
/// (`2002:aabb:ccdd::/48`) addresses from its IPv4 data, and NXDOMAIN to every other IPv6 name
/// (verified with rbldnsd 1.0pre): it lists `::ffff:7f00:2` without serving IPv6 at all. A list
/// that holds IPv6 data lists its IPv6 test point, but not the 6to4 image of 127.0.0.2; a list
/// that lists both answers IPv6 names from IPv4 data, and its IPv6 test point proves nothing.
pub(crate) fn six_to_four_image(point: &TestPoint) -> Option<TestPoint> {
    let TestPoint::Ipv6(addr) = point else {
        return None;
    };
    let [a, b, c, d] = addr.to_ipv4_mapped()?.octets();
    let high = u16::from_be_bytes([a, b]);
    let low = u16::from_be_bytes([c, d]);
    Some(TestPoint::Ipv6(std::net::Ipv6Addr::new(
        0x2002, high, low, 0, 0, 0, 0, 0,
    )))
}

/// Asks every test point of every family the list holds at once, and judges the list.
pub(crate) async fn probe<R: DnsResolver>(resolver: &R, list: &DnsList) -> ListHealth {
    let points = list.test_points();
    let families = list.kind().families();
    let seen = futures::future::join_all(families.iter().map(|&family| {
        let points = &points;
        async move {
            let positive = points.listed_for(family);
            let negative = points.not_listed_for(family);
            let image = positive.and_then(six_to_four_image);
            let (pos, neg, image) = futures::join!(
                ask(resolver, list, positive, true),
                ask(resolver, list, negative, false),
                ask(resolver, list, image.as_ref(), true),
            );
            let pos = positive.cloned().zip(pos);
            (family, pos, neg, image == Some(Seen::Listed))
        }
    }))
    .await;
    judge(&seen)
}

/// Operator codes and invalid answers first (they say the list cannot be used as it is), then
/// a listed negative point (the list lists everything), then failed probes; then the first
/// family's positive test point (not listed: the list is not trusted), then the other
/// families' (not listed: that family is not served).
fn judge(seen: &[FamilySeen]) -> ListHealth {
    // Every answer, negative test points first, family by family.
    let answers = || {
        seen.iter().flat_map(|(_, pos, neg, _)| {
            [neg.as_ref(), pos.as_ref().map(|(_, seen)| seen)]
                .into_iter()
                .flatten()
        })
    };
    if let Some(outcome) = answers().find_map(|answer| match answer {
        Seen::Broken(outcome) => Some(outcome),
        _ => None,
    }) {
        return ListHealth::Broken(outcome.clone());
    }
    if seen.iter().any(|(_, _, neg, _)| *neg == Some(Seen::Listed)) {
        return ListHealth::Unhealthy(Unhealthy::ListsEverything);
    }
    if let Some(error) = answers().find_map(|answer| match answer {
        Seen::Failed(error) => Some(error),
        _ => None,
    }) {
        return ListHealth::ProbeFailed(error.clone());
    }
    let Some(first) = seen.first() else {
        return ListHealth::TestPointMissing;
    };
    if first.1.is_none() {
        return ListHealth::TestPointMissing;
    }
    // Each family on its own: a list is untrusted when no family is proven, and otherwise not
    // trusted with the families that are not.
    let mut unproven: Vec<Unhealthy> = seen.iter().filter_map(not_served).collect();
    if unproven.is_empty() {
        return ListHealth::Healthy;
    }
    if unproven.len() < seen.len() {
        return ListHealth::FamilyNotServed(unproven.swap_remove(0));
    }
    ListHealth::Unhealthy(match first {
        (_, Some((point, Seen::Absent(what))), _, _) => Unhealthy::TestPointNotListed {
            test_point: point.to_string(),
            seen: (*what).to_owned(),
        },
        _ => unproven.swap_remove(0),
    })
}

/// Why a family is not served, if its positive test point does not prove it.
fn not_served((family, pos, _, from_ipv4): &FamilySeen) -> Option<Unhealthy> {
    let (test_point, seen) = match pos {
        Some((point, Seen::Listed)) if *from_ipv4 => (
            point.to_string(),
            format!(
                "listed only from the list's IPv4 data: its 6to4 image {} is listed too",
                six_to_four_image(point)
                    .map(|image| image.to_string())
                    .unwrap_or_default()
            ),
        ),
        Some((_, Seen::Listed)) => return None,
        Some((point, Seen::Absent(what))) => (point.to_string(), format!("not listed ({what})")),
        Some((point, _)) => (point.to_string(), "no answer".to_owned()),
        None => ("(none named)".to_owned(), "no test point to ask".to_owned()),
    };
    Some(Unhealthy::FamilyNotServed {
        family: family_name(*family),
        test_point,
        seen,
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::outcome::{InvalidAnswer, OperatorError};

    fn point(text: &str) -> TestPoint {
        text.parse().unwrap()
    }

    fn v4(pos: Seen, neg: Seen) -> FamilySeen {
        (
            ListKind::Ipv4,
            Some((point("127.0.0.2"), pos)),
            Some(neg),
            false,
        )
    }

    fn v6(pos: Seen, neg: Seen) -> FamilySeen {
        (
            ListKind::Ipv6,
            Some((point("::ffff:7f00:2"), pos)),
            Some(neg),
            false,
        )
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
        let timeout = LookupError::new(LookupErrorKind::Timeout);
        let nx = Seen::Absent("NXDOMAIN");
        let not_listed = |what: &str| {
            ListHealth::Unhealthy(Unhealthy::TestPointNotListed {
                test_point: "127.0.0.2".into(),
                seen: what.into(),
            })
        };
        let cases = [
            (vec![v4(Seen::Listed, nx.clone())], ListHealth::Healthy),
            // A resolver that answers NXDOMAIN to everything: not trusted.
            (vec![v4(nx.clone(), nx.clone())], not_listed("NXDOMAIN")),
            (
                vec![v4(Seen::Absent("no A record"), nx.clone())],
                not_listed("no A record"),
            ),
            (
                vec![v4(Seen::Listed, Seen::Listed)],
                ListHealth::Unhealthy(Unhealthy::ListsEverything),
            ),
            (
                vec![v4(
                    Seen::Broken(refused.clone()),
                    Seen::Broken(refused.clone()),
                )],
                ListHealth::Broken(refused.clone()),
            ),
            (
                vec![v4(Seen::Listed, Seen::Broken(invalid.clone()))],
                ListHealth::Broken(invalid.clone()),
            ),
            (
                vec![v4(Seen::Failed(timeout.clone()), nx.clone())],
                ListHealth::ProbeFailed(timeout.clone()),
            ),
            (
                vec![v4(Seen::Failed(timeout.clone()), Seen::Listed)],
                ListHealth::Unhealthy(Unhealthy::ListsEverything),
            ),
            // Each family on its own: IPv4 proven, IPv6 not.
            (
                vec![v4(Seen::Listed, nx.clone()), v6(Seen::Listed, nx.clone())],
                ListHealth::Healthy,
            ),
            (
                vec![v4(Seen::Listed, nx.clone()), v6(nx.clone(), nx.clone())],
                ListHealth::FamilyNotServed(Unhealthy::FamilyNotServed {
                    family: "IPv6",
                    test_point: "::ffff:7f00:2".into(),
                    seen: "not listed (NXDOMAIN)".into(),
                }),
            ),
            // rbldnsd's ip4set: the IPv6 test point answered from IPv4 data.
            (
                vec![v4(Seen::Listed, nx.clone()), {
                    let mut v6 = v6(Seen::Listed, nx.clone());
                    v6.3 = true;
                    v6
                }],
                ListHealth::FamilyNotServed(Unhealthy::FamilyNotServed {
                    family: "IPv6",
                    test_point: "::ffff:7f00:2".into(),
                    seen: "listed only from the list's IPv4 data: its 6to4 image 2002:7f00:2:: \
                           is listed too"
                        .into(),
                }),
            ),
            (
                vec![v4(nx.clone(), nx.clone()), v6(nx.clone(), nx.clone())],
                not_listed("NXDOMAIN"),
            ),
            // An IPv6 list asked as `ip`: IPv4 is not served.
            (
                vec![v4(nx.clone(), nx.clone()), v6(Seen::Listed, nx.clone())],
                ListHealth::FamilyNotServed(Unhealthy::FamilyNotServed {
                    family: "IPv4",
                    test_point: "127.0.0.2".into(),
                    seen: "not listed (NXDOMAIN)".into(),
                }),
            ),
            // No positive test point published: used unproven.
            (
                vec![(ListKind::Ipv4, None, Some(nx.clone()), false)],
                ListHealth::TestPointMissing,
            ),
            (
                vec![(ListKind::Ipv4, None, None, false)],
                ListHealth::TestPointMissing,
            ),
        ];
        for (seen, expected) in cases {
            assert_eq!(judge(&seen), expected, "{seen:?}");
        }
    }

    #[test]
    fn untrusted_health_decides_the_outcome_by_family() {
        let v4: Target = "192.0.2.1".parse().unwrap();
        let mapped: Target = "::ffff:192.0.2.1".parse().unwrap();
        let v6: Target = "2001:db8::1".parse().unwrap();
        let why = Unhealthy::FamilyNotServed {
            family: "IPv6",
            test_point: "::ffff:7f00:2".into(),
            seen: "not listed (NXDOMAIN)".into(),
        };
        let health = ListHealth::FamilyNotServed(why.clone());
        assert!(health.is_untrusted());
        assert_eq!(health.outcome_for(&v4), None);
        assert_eq!(health.outcome_for(&mapped), None);
        assert_eq!(
            health.outcome_for(&v6),
            Some(Outcome::Skipped(SkipReason::Unhealthy(why)))
        );
        assert_eq!(ListHealth::Healthy.outcome_for(&v6), None);
        assert_eq!(ListHealth::TestPointMissing.outcome_for(&v4), None);
    }
}
