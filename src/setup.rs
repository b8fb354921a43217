//! A first-run diagnosis: can this resolver see the lists?
//!
//! The most common misconfiguration of a DNS blocklist client is a resolver that cannot see
//! the lists: a filtering or captive resolver, a sandbox, a network that blocks port 53 to the
//! outside and answers locally, or a large public resolver (Google, Cloudflare, Quad9, ...)
//! whose queries the major lists refuse. Every target then reads "not listed".
//! [`diagnose`] asks every list about its RFC 5782 test points, times each answer, and says
//! in one [`ListVerdict`] per list whether the list can be trusted through this resolver, and
//! why not.
//!
//! # Examples
//!
//! ```no_run
//! use dnsbl_check::setup::{diagnose, public_resolver};
//! use dnsbl_check::{HickoryResolver, NameServer, presets};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = NameServer::new("127.0.0.1:53".parse()?);
//! let resolver = HickoryResolver::builder().name_server(server).build()?;
//! let diagnosis = diagnose(&resolver, &[server], &presets::default_lists()).await;
//! for list in &diagnosis.lists {
//!     println!("{}: {}", list.list, list.verdict);
//! }
//! println!("{}", diagnosis.summary());
//! assert_eq!(public_resolver("8.8.8.8".parse()?), Some("Google Public DNS"));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::list::{DnsList, ListKind};
use crate::outcome::Outcome;
use crate::query::{TxtLookup, query_list};
use crate::resolver::{DnsResolver, LookupErrorKind, NameServer};
use crate::zone::QueryName;

mod report;

/// Spamhaus's code for a query that came through a public or open resolver.
const PUBLIC_RESOLVER_CODE: [u8; 4] = [127, 255, 255, 254];
/// Spamhaus's code for an excessive number of queries.
const RATE_LIMITED_CODE: [u8; 4] = [127, 255, 255, 255];

/// The large public resolvers, by address, whose queries the major lists refuse (Spamhaus
/// answers them with 127.255.255.254 or not at all; URIBL, SURBL and others block them too).
///
/// Addresses as published by each service; checked 2026-12-04.
const PUBLIC_RESOLVERS: &[(&str, &[&str])] = &[
    (
        "Google Public DNS",
        &[
            "8.8.8.8",
            "8.8.4.4",
            "2001:4860:4860::8888",
            "2001:4860:4860::8844",
        ],
    ),
    (
        "Cloudflare 1.1.1.1",
        &[
            "1.1.1.1",
            "1.0.0.1",
            "1.1.1.2",
            "1.0.0.2",
            "1.1.1.3",
            "1.0.0.3",
            "2606:4700:4700::1111",
            "2606:4700:4700::1001",
            "2606:4700:4700::1112",
            "2606:4700:4700::1002",
            "2606:4700:4700::1113",
            "2606:4700:4700::1003",
        ],
    ),
    (
        "Quad9",
        &[
            "9.9.9.9",
            "149.112.112.112",
            "9.9.9.10",
            "149.112.112.10",
            "9.9.9.11",
            "149.112.112.11",
            "2620:fe::fe",
            "2620:fe::9",
            "2620:fe::10",
            "2620:fe::fe:10",
            "2620:fe::11",
            "2620:fe::fe:11",
        ],
    ),
    (
        "OpenDNS",
        &[
            "208.67.222.222",
            "208.67.220.220",
            "208.67.222.123",
            "208.67.220.123",
            "2620:119:35::35",
            "2620:119:53::53",
        ],
    ),
    (
        "AdGuard DNS",
        &[
            "94.140.14.14",
            "94.140.15.15",
            "2a10:50c0::ad1:ff",
            "2a10:50c0::ad2:ff",
        ],
    ),
    (
        "Level3 / Lumen",
        &[
            "4.2.2.1", "4.2.2.2", "4.2.2.3", "4.2.2.4", "4.2.2.5", "4.2.2.6",
        ],
    ),
    ("Yandex DNS", &["77.88.8.8", "77.88.8.1"]),
    ("Comodo Secure DNS", &["8.26.56.26", "8.20.247.20"]),
    ("CleanBrowsing", &["185.228.168.9", "185.228.169.9"]),
    ("Control D", &["76.76.2.0", "76.76.10.0"]),
    ("DNS.WATCH", &["84.200.69.80", "84.200.70.40"]),
    ("AliDNS", &["223.5.5.5", "223.6.6.6"]),
    ("114DNS", &["114.114.114.114", "114.114.115.115"]),
];

/// The name of the large public resolver at `addr`, if it is one that the major lists
/// refuse.
///
/// # Examples
///
/// ```
/// use dnsbl_check::setup::public_resolver;
///
/// assert_eq!(public_resolver("1.1.1.1".parse().unwrap()), Some("Cloudflare 1.1.1.1"));
/// assert_eq!(public_resolver("2001:4860:4860::8888".parse().unwrap()), Some("Google Public DNS"));
/// assert_eq!(public_resolver("127.0.0.1".parse().unwrap()), None);
/// ```
pub fn public_resolver(addr: IpAddr) -> Option<&'static str> {
    PUBLIC_RESOLVERS.iter().find_map(|(name, addresses)| {
        addresses
            .iter()
            .any(|known| known.parse::<IpAddr>().ok() == Some(addr))
            .then_some(*name)
    })
}

/// One name server in use, and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverNote {
    /// The server's address and port.
    pub server: NameServer,
    /// The public service it belongs to, if it is a large public resolver.
    pub public: Option<&'static str>,
    /// A remark for a local stub resolver that forwards elsewhere (systemd-resolved's
    /// 127.0.0.53): its upstream servers are the ones the lists see.
    pub remark: Option<&'static str>,
}

impl ResolverNote {
    /// What is known about `server`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::NameServer;
    /// use dnsbl_check::setup::ResolverNote;
    ///
    /// let note = ResolverNote::of(NameServer::new("8.8.8.8:53".parse().unwrap()));
    /// assert_eq!(note.public, Some("Google Public DNS"));
    /// ```
    pub fn of(server: NameServer) -> Self {
        let ip = server.addr().ip();
        let remark = (ip == IpAddr::from([127, 0, 0, 53])).then_some(
            "systemd-resolved's stub: it forwards to the servers in \
             /run/systemd/resolve/resolv.conf, and those are what the lists see",
        );
        ResolverNote {
            server,
            public: public_resolver(ip),
            remark,
        }
    }
}

/// What a test point is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PointRole {
    /// The list must list it (`127.0.0.2`, `test`, `dbltest.com`).
    Positive,
    /// The list must not list it (`127.0.0.1`, `invalid`).
    Negative,
    /// The 6to4 image (`2002:7f00:2::`) of the IPv6 test point `::ffff:7f00:2`: a list that
    /// lists it answers IPv6 names from its IPv4 data (rbldnsd's `ip4set` does), so its IPv6
    /// test point proves nothing about IPv6.
    Ipv4Image,
}

impl PointRole {
    /// A few words for output: `must be listed`, `must not be listed`, `6to4 image`.
    pub fn as_str(self) -> &'static str {
        match self {
            PointRole::Positive => "must be listed",
            PointRole::Negative => "must not be listed",
            PointRole::Ipv4Image => "6to4 image",
        }
    }
}

/// One test point asked, and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PointAnswer {
    /// The test point as it is written in the list's documentation (`127.0.0.2`,
    /// `::ffff:7f00:2`, `test`, `dbltest.com`).
    pub point: String,
    /// What it is asked for.
    pub role: PointRole,
    /// Whether it is an IPv6 test point (of a list that takes both address families).
    pub ipv6: bool,
    /// The answer, read as any target's would be.
    pub outcome: Outcome,
    /// How long the answer took.
    pub elapsed: Duration,
}

/// What the diagnosis concluded about one list through this resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListVerdict {
    /// Every positive test point is listed and no negative one is: the list works.
    Works,
    /// A list of both address families whose IPv4 test points answer as they should, but
    /// whose IPv6 test point is not listed, or is listed only from IPv4 data (its 6to4 image
    /// is listed too, as rbldnsd's `ip4set` answers): it works for IPv4 only, and IPv6
    /// targets get trouble on it. Declare it IPv4-only (`kind = "ipv4"`).
    Ipv4Only,
    /// The list declares no test points, so nothing could be proven; it answered without
    /// error.
    Unverified,
    /// A positive test point is not listed: the resolver may be filtering, blocked by the
    /// list, or unable to reach it.
    Blind {
        /// The test point that was not listed.
        point: String,
    },
    /// The list answered 127.255.255.254: it refuses queries that come through a public or
    /// open resolver.
    PublicResolverRefused,
    /// The list answered 127.255.255.255: too many queries from this resolver.
    RateLimited,
    /// A keyed zone (Spamhaus DQS) answered REFUSED or SERVFAIL: the key does not cover
    /// this zone, or is disabled.
    KeyNotAccepted,
    /// A negative test point is listed: the list lists everything (a dead list).
    ListsEverything,
    /// An answer outside 127.0.0.0/8: a resolver that rewrites NXDOMAIN, or a parked zone.
    Rewritten,
    /// Another operator code.
    OperatorCode(String),
    /// The lookups failed (timeout, SERVFAIL, REFUSED, network).
    Failing(String),
}

impl ListVerdict {
    /// Whether the list can be trusted through this resolver.
    pub fn works(&self) -> bool {
        matches!(self, ListVerdict::Works)
    }

    /// Whether the list can be used through this resolver, perhaps with a remark: it works,
    /// works for IPv4 only, or publishes no test points to prove it by.
    pub fn usable(&self) -> bool {
        matches!(
            self,
            ListVerdict::Works | ListVerdict::Ipv4Only | ListVerdict::Unverified
        )
    }

    /// A short snake_case word for scripts and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            ListVerdict::Works => "works",
            ListVerdict::Ipv4Only => "ipv4_only",
            ListVerdict::Unverified => "unverified",
            ListVerdict::Blind { .. } => "blind",
            ListVerdict::PublicResolverRefused => "public_resolver_refused",
            ListVerdict::RateLimited => "rate_limited",
            ListVerdict::KeyNotAccepted => "key_not_accepted",
            ListVerdict::ListsEverything => "lists_everything",
            ListVerdict::Rewritten => "rewritten",
            ListVerdict::OperatorCode(_) => "operator_code",
            ListVerdict::Failing(_) => "failing",
        }
    }
}

impl fmt::Display for ListVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListVerdict::Works => f.write_str("works: the test points answer as they should"),
            ListVerdict::Ipv4Only => f.write_str(
                "IPv4 only: the IPv6 test point is not listed, or only from IPv4 data (its 6to4 \
                 image is listed too), so IPv6 targets get trouble on this list; declare it \
                 IPv4-only",
            ),
            ListVerdict::Unverified => f.write_str(
                "unverified: the list publishes no test points, so its answers cannot be proven",
            ),
            ListVerdict::Blind { point } => write!(
                f,
                "blind: the test point {point} is not listed; the resolver may be filtering, \
                 blocked by the list, or unable to reach it"
            ),
            ListVerdict::PublicResolverRefused => f.write_str(
                "refused: the list answers 127.255.255.254 to queries through public or open \
                 resolvers; run your own resolver",
            ),
            ListVerdict::RateLimited => f.write_str(
                "rate limited: the list answers 127.255.255.255 (too many queries from this \
                 resolver)",
            ),
            ListVerdict::KeyNotAccepted => f.write_str(
                "key not accepted: the keyed zone answers REFUSED or SERVFAIL; the DQS key does \
                 not cover this zone, or is disabled",
            ),
            ListVerdict::ListsEverything => f.write_str(
                "lists everything: the negative test point is listed (a dead or hijacked list)",
            ),
            ListVerdict::Rewritten => f.write_str(
                "rewritten: an answer outside 127.0.0.0/8 (a resolver that rewrites NXDOMAIN, \
                 or a parked zone)",
            ),
            ListVerdict::OperatorCode(meaning) => write!(f, "operator code: {meaning}"),
            ListVerdict::Failing(why) => write!(f, "failing: {why}"),
        }
    }
}

/// One list's diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListDiagnosis {
    /// The list's name.
    pub list: String,
    /// The zone as it may be shown (never the DQS key).
    pub zone: String,
    /// Whether the zone carries a key (Spamhaus DQS).
    pub keyed: bool,
    /// Every test point asked.
    pub points: Vec<PointAnswer>,
    /// What that adds up to.
    pub verdict: ListVerdict,
}

/// The whole diagnosis: the resolvers in use, and each list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnosis {
    /// The name servers in use.
    pub resolvers: Vec<ResolverNote>,
    /// Each list, in order.
    pub lists: Vec<ListDiagnosis>,
}

impl Diagnosis {
    /// Whether every list works and no large public resolver is in use.
    pub fn ok(&self) -> bool {
        self.exit_code() == 0
    }

    /// Whether some list works only in part or could not be proven: IPv4 only, or no
    /// test points published.
    pub fn has_warnings(&self) -> bool {
        self.uses_public_resolver()
            || self.lists.iter().any(|list| {
                matches!(
                    list.verdict,
                    ListVerdict::Ipv4Only | ListVerdict::Unverified
                )
            })
    }

    /// Whether a large public resolver is among those in use.
    pub fn uses_public_resolver(&self) -> bool {
        self.resolvers.iter().any(|note| note.public.is_some())
    }

    /// The lists that cannot be trusted through this resolver (neither working nor
    /// unverified by their own declaration).
    pub fn failing(&self) -> impl Iterator<Item = &ListDiagnosis> {
        self.lists.iter().filter(|list| !list.verdict.usable())
    }

    /// A one-line verdict.
    pub fn summary(&self) -> String {
        let failing: Vec<&str> = self.failing().map(|list| list.list.as_str()).collect();
        let public: Vec<&str> = self
            .resolvers
            .iter()
            .filter_map(|note| note.public)
            .collect();
        let mut line = if failing.is_empty() && !self.has_warnings() {
            format!(
                "OK: all {} lists answer their test points",
                self.lists.len()
            )
        } else if failing.is_empty() {
            format!(
                "WARNING: all {} lists can be used, with the remarks above",
                self.lists.len()
            )
        } else {
            format!(
                "PROBLEM: {} of {} lists cannot be trusted through this resolver ({})",
                failing.len(),
                self.lists.len(),
                failing.join(", ")
            )
        };
        if !public.is_empty() {
            line.push_str(&format!(
                "; a public resolver is in use ({}), which the major lists refuse: run your own \
                 caching resolver",
                public.join(", ")
            ));
        }
        if !failing.is_empty() {
            line.push_str("; try --nameserver with a resolver of your own");
        }
        line
    }

    /// An exit status for scripts: 0 when every list works, 1 when every list can be used
    /// but with a warning ([`Diagnosis::has_warnings`]: a public resolver, a list that works
    /// for IPv4 only or publishes no test points), 2 when some list cannot be trusted.
    pub fn exit_code(&self) -> u8 {
        if self.failing().next().is_some() {
            2
        } else if self.has_warnings() {
            1
        } else {
            0
        }
    }
}

/// Asks every list about its test points through `resolver`, and judges each.
///
/// `servers` are the name servers `resolver` uses, for the report (the diagnosis cannot see
/// inside an arbitrary resolver). All lists are asked at once; each test point once, with no
/// TXT lookup.
pub async fn diagnose<R: DnsResolver>(
    resolver: &R,
    servers: &[NameServer],
    lists: &[DnsList],
) -> Diagnosis {
    let lists =
        futures::future::join_all(lists.iter().map(|list| diagnose_list(resolver, list))).await;
    Diagnosis {
        resolvers: servers.iter().copied().map(ResolverNote::of).collect(),
        lists,
    }
}

async fn diagnose_list<R: DnsResolver>(resolver: &R, list: &DnsList) -> ListDiagnosis {
    let points = probe_points(list);
    let points = futures::future::join_all(points.into_iter().map(|point| async move {
        let started = Instant::now();
        let outcome = query_list(resolver, list, point.name.as_str(), TxtLookup::Off).await;
        PointAnswer {
            point: point.label,
            role: point.role,
            ipv6: point.ipv6,
            outcome,
            elapsed: started.elapsed(),
        }
    }))
    .await;
    let verdict = judge(list.zone().has_key(), &points);
    ListDiagnosis {
        list: list.name().to_owned(),
        zone: list.zone().public_name().to_owned(),
        keyed: list.zone().has_key(),
        points,
        verdict,
    }
}

/// A test point: how it is written, its query name, and whether it must be listed.
struct ProbePoint {
    label: String,
    name: QueryName,
    role: PointRole,
    ipv6: bool,
}

/// The test points `list` publishes (its own, or RFC 5782's), for each family it holds.
fn probe_points(list: &DnsList) -> Vec<ProbePoint> {
    let points = list.test_points();
    let mut probes = Vec::new();
    for &family in list.kind().families() {
        let positive = points.listed_for(family);
        // The 6to4 image of an IPv4-mapped IPv6 test point: listed too, the list answers IPv6
        // names from IPv4 data (as rbldnsd's ip4set does), and holds no IPv6 data.
        let image = positive.and_then(crate::health::six_to_four_image);
        let roles = [
            (positive, PointRole::Positive),
            (points.not_listed_for(family), PointRole::Negative),
            (image.as_ref(), PointRole::Ipv4Image),
        ];
        for (point, role) in roles {
            let Some(point) = point else { continue };
            // A test point too long for the zone cannot be asked: it is left out, and the
            // list judged on the others.
            let Ok(name) = point.query_name(list.zone()) else {
                continue;
            };
            probes.push(ProbePoint {
                label: point.to_string(),
                name,
                role,
                ipv6: family == ListKind::Ipv6,
            });
        }
    }
    probes
}

/// The most telling trouble first: operator codes and rewritten answers say what is wrong
/// outright; then a listed negative point; then failures; then a missing positive point.
fn judge(keyed: bool, points: &[PointAnswer]) -> ListVerdict {
    for answer in points {
        match &answer.outcome {
            Outcome::ListError(error) => {
                return if error
                    .codes
                    .iter()
                    .any(|c| c.octets() == PUBLIC_RESOLVER_CODE)
                {
                    ListVerdict::PublicResolverRefused
                } else if error.codes.iter().any(|c| c.octets() == RATE_LIMITED_CODE) {
                    ListVerdict::RateLimited
                } else {
                    ListVerdict::OperatorCode(error.meaning.clone())
                };
            }
            Outcome::Invalid(_) => return ListVerdict::Rewritten,
            _ => {}
        }
    }
    if points
        .iter()
        .any(|answer| answer.role == PointRole::Negative && answer.outcome.is_listed())
    {
        return ListVerdict::ListsEverything;
    }
    for answer in points {
        if let Outcome::Failed(error) = &answer.outcome {
            let refused = matches!(
                error.kind(),
                LookupErrorKind::Refused | LookupErrorKind::ServFail
            );
            return if keyed && refused {
                ListVerdict::KeyNotAccepted
            } else {
                ListVerdict::Failing(error.to_string())
            };
        }
    }
    let positive = |answer: &&PointAnswer| answer.role == PointRole::Positive;
    let missing = |ipv6: bool| {
        points
            .iter()
            .filter(positive)
            .find(|answer| answer.ipv6 == ipv6 && !seen_listed(&answer.outcome))
    };
    if let Some(missing) = missing(false) {
        return ListVerdict::Blind {
            point: missing.point.clone(),
        };
    }
    let proven_v4 = points.iter().filter(positive).any(|answer| !answer.ipv6);
    let from_ipv4_data = points
        .iter()
        .any(|answer| answer.role == PointRole::Ipv4Image && seen_listed(&answer.outcome));
    if let Some(missing) = missing(true) {
        if !proven_v4 {
            return ListVerdict::Blind {
                point: missing.point.clone(),
            };
        }
        return ListVerdict::Ipv4Only;
    }
    if from_ipv4_data && proven_v4 {
        return ListVerdict::Ipv4Only;
    }
    if points
        .iter()
        .any(|answer| answer.role == PointRole::Positive)
    {
        ListVerdict::Works
    } else {
        ListVerdict::Unverified
    }
}

/// Whether a test point was seen listed: a listing, or codes the list's filter does not
/// count (dnswl answers its test point with a code its preset's filter leaves out).
fn seen_listed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Listed(_) | Outcome::NotCounted(_))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::outcome::{InvalidAnswer, Listing, OperatorError};
    use crate::resolver::LookupError;

    fn answer(point: &str, must_be_listed: bool, outcome: Outcome) -> PointAnswer {
        let role = match (point.starts_with("2002:"), must_be_listed) {
            (true, _) => PointRole::Ipv4Image,
            (false, true) => PointRole::Positive,
            (false, false) => PointRole::Negative,
        };
        PointAnswer {
            point: point.into(),
            role,
            ipv6: point.contains(':'),
            outcome,
            elapsed: Duration::ZERO,
        }
    }

    fn listed() -> Outcome {
        Outcome::Listed(Listing {
            codes: vec![Ipv4Addr::new(127, 0, 0, 2)],
            categories: vec![],
            reasons: vec![],
            ttl: 60,
        })
    }

    fn operator(code: [u8; 4]) -> Outcome {
        Outcome::ListError(OperatorError {
            codes: vec![Ipv4Addr::from(code)],
            meaning: "operator".into(),
        })
    }

    #[test]
    fn judges_each_kind_of_trouble() {
        let refused = Outcome::Failed(LookupError::new(LookupErrorKind::Refused));
        let timeout = Outcome::Failed(LookupError::new(LookupErrorKind::Timeout));
        let cases = [
            (
                false,
                vec![
                    answer("127.0.0.2", true, listed()),
                    answer("127.0.0.1", false, Outcome::NotListed),
                ],
                "works",
            ),
            (
                false,
                vec![
                    answer("127.0.0.2", true, Outcome::NotListed),
                    answer("127.0.0.1", false, Outcome::NotListed),
                ],
                "blind",
            ),
            (
                false,
                vec![answer("127.0.0.2", true, operator(PUBLIC_RESOLVER_CODE))],
                "public_resolver_refused",
            ),
            (
                false,
                vec![answer("127.0.0.2", true, operator(RATE_LIMITED_CODE))],
                "rate_limited",
            ),
            (
                false,
                vec![answer("127.0.0.2", true, operator([127, 255, 255, 252]))],
                "operator_code",
            ),
            (
                true,
                vec![answer("127.0.0.2", true, refused.clone())],
                "key_not_accepted",
            ),
            (false, vec![answer("127.0.0.2", true, refused)], "failing"),
            (true, vec![answer("127.0.0.2", true, timeout)], "failing"),
            (
                false,
                vec![
                    answer("127.0.0.2", true, listed()),
                    answer("127.0.0.1", false, listed()),
                ],
                "lists_everything",
            ),
            (
                false,
                vec![answer(
                    "127.0.0.2",
                    true,
                    Outcome::Invalid(InvalidAnswer {
                        codes: vec![Ipv4Addr::new(192, 0, 2, 1)],
                    }),
                )],
                "rewritten",
            ),
            (
                false,
                vec![answer("127.0.0.1", false, Outcome::NotListed)],
                "unverified",
            ),
        ];
        for (keyed, points, expected) in cases {
            assert_eq!(judge(keyed, &points).as_str(), expected, "{points:?}");
        }
    }

    #[test]
    fn exit_codes_and_summary() {
        let list = |verdict| ListDiagnosis {
            list: "bl".into(),
            zone: "bl.example".into(),
            keyed: false,
            points: vec![],
            verdict,
        };
        let local = ResolverNote::of(NameServer::new("127.0.0.1:53".parse().unwrap()));
        let google = ResolverNote::of(NameServer::new("8.8.8.8:53".parse().unwrap()));
        let good = Diagnosis {
            resolvers: vec![local.clone()],
            lists: vec![list(ListVerdict::Works)],
        };
        assert!(good.ok());
        assert_eq!(good.exit_code(), 0);
        assert!(good.summary().starts_with("OK"));
        let public = Diagnosis {
            resolvers: vec![google],
            lists: vec![list(ListVerdict::Works)],
        };
        assert_eq!(public.exit_code(), 1);
        assert!(
            public.summary().starts_with("WARNING"),
            "{}",
            public.summary()
        );
        assert!(public.summary().contains("Google Public DNS"));
        let blind = Diagnosis {
            resolvers: vec![local],
            lists: vec![list(ListVerdict::Blind {
                point: "127.0.0.2".into(),
            })],
        };
        assert_eq!(blind.exit_code(), 2);
        assert!(
            blind.summary().starts_with("PROBLEM: 1 of 1"),
            "{}",
            blind.summary()
        );
    }

    #[test]
    fn every_public_resolver_address_parses() {
        for (name, addresses) in PUBLIC_RESOLVERS {
            for address in *addresses {
                let ip: IpAddr = address
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: {address}"));
                assert_eq!(public_resolver(ip), Some(*name));
            }
        }
        let stub = ResolverNote::of(NameServer::new("127.0.0.53:53".parse().unwrap()));
        assert!(stub.remark.is_some());
    }
}
