//! The entries a list publishes for testing (RFC 5782 section 5, and the operators' own).

// Written in the vocabulary of the list module and its imports.
use super::*;

/// An entry a list publishes for testing: one it always lists (a positive test point) or one
/// it never lists (a negative one).
///
/// RFC 5782 section 5 defines them: `127.0.0.2` and `127.0.0.1` for IPv4 lists,
/// `::ffff:7f00:2` and `::ffff:7f00:1` (asked in nibble form, never unwrapped to IPv4) for
/// IPv6 lists, `test` and `invalid` for domain lists. Some operators publish their own
/// (Spamhaus DBL: `dbltest.com`).
///
/// # Examples
///
/// ```
/// use dnsbl_check::ListKind;
/// use dnsbl_check::list::TestPoint;
///
/// let v6: TestPoint = "::ffff:7f00:2".parse().unwrap();
/// assert_eq!(v6.family(), ListKind::Ipv6);
/// assert_eq!(v6.to_string(), "::ffff:7f00:2");
/// let domain: TestPoint = "dbltest.com".parse().unwrap();
/// assert_eq!(domain.family(), ListKind::Domain);
/// assert!("not a name!".parse::<TestPoint>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TestPoint {
    /// An IPv4 address, asked as reversed octets.
    Ipv4(Ipv4Addr),
    /// An IPv6 address, asked as 32 reversed nibbles exactly as written: an IPv4-mapped
    /// address such as `::ffff:7f00:2` stays an IPv6 name.
    Ipv6(Ipv6Addr),
    /// A domain name (or a single label, such as `test`), asked as it is.
    Domain(DomainName),
}

impl TestPoint {
    /// Which family of targets the test point proves: [`ListKind::Ipv4`], [`ListKind::Ipv6`]
    /// or [`ListKind::Domain`].
    pub fn family(&self) -> ListKind {
        match self {
            TestPoint::Ipv4(_) => ListKind::Ipv4,
            TestPoint::Ipv6(_) => ListKind::Ipv6,
            TestPoint::Domain(_) => ListKind::Domain,
        }
    }

    /// The absolute name to ask under `zone`.
    pub(crate) fn query_name(&self, zone: &Zone) -> Result<QueryName, QueryNameError> {
        match self {
            TestPoint::Ipv4(addr) => zone.query_name(&Target::from(*addr)),
            TestPoint::Ipv6(addr) => Ok(zone.ipv6_nibble_query_name(*addr)),
            TestPoint::Domain(name) => zone.query_name(&Target::Domain(name.clone())),
        }
    }
}

impl fmt::Display for TestPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestPoint::Ipv4(addr) => addr.fmt(f),
            // `::ffff:7f00:2`, as RFC 5782 writes it, rather than `::ffff:127.0.0.2`: it is
            // asked as an IPv6 name.
            TestPoint::Ipv6(addr) => match addr.segments() {
                [0, 0, 0, 0, 0, 0xffff, high, low] => write!(f, "::ffff:{high:x}:{low:x}"),
                _ => addr.fmt(f),
            },
            TestPoint::Domain(name) => name.fmt(f),
        }
    }
}

impl FromStr for TestPoint {
    type Err = TargetError;

    /// An IP address, or else a domain name.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().parse::<IpAddr>() {
            Ok(IpAddr::V4(addr)) => Ok(TestPoint::Ipv4(addr)),
            Ok(IpAddr::V6(addr)) => Ok(TestPoint::Ipv6(addr)),
            Err(_) => DomainName::new(text).map(TestPoint::Domain),
        }
    }
}

impl Serialize for TestPoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The most test points of each sign a list may name (only the first of each family is asked).
const MAX_TEST_POINTS: usize = 8;

/// The test points a list publishes: the entries it must list and the ones it must not.
///
/// A list is trusted for a family of targets (IPv4, IPv6, domains) only once its positive test
/// point of that family was seen listed; a list whose negative test point is listed lists
/// everything. A list of kind [`ListKind::Ip`] is probed for each family separately, since
/// most lists serve IPv4 only.
///
/// A list that names none ([`TestPoints::none`]) cannot be proven to work: it is used as it
/// answers, with a warning. A list that says nothing gets [`TestPoints::rfc5782`] for its kind.
///
/// # Examples
///
/// ```
/// use dnsbl_check::list::{TestPoint, TestPoints};
/// use dnsbl_check::{DnsList, ListKind};
///
/// let zen = DnsList::from_spec("zen.spamhaus.org", ListKind::Ip).unwrap();
/// let points = zen.test_points();
/// assert_eq!(points, TestPoints::rfc5782(ListKind::Ip));
/// let positive: Vec<String> = points.listed().iter().map(ToString::to_string).collect();
/// assert_eq!(positive, ["127.0.0.2", "::ffff:7f00:2"]);
///
/// let dbl = DnsList::from_spec("dbl.spamhaus.org", ListKind::Domain)
///     .unwrap()
///     .with_test_points(TestPoints::new(
///         ["dbltest.com".parse().unwrap()],
///         ["invalid".parse().unwrap()],
///     ));
/// let positive = dbl.test_points().listed_for(ListKind::Domain).cloned();
/// assert_eq!(positive, Some("dbltest.com".parse::<TestPoint>().unwrap()));
///
/// let private = DnsList::from_spec("bl.internal.example", ListKind::Ipv4)
///     .unwrap()
///     .with_test_points(TestPoints::none());
/// assert!(private.test_points().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestPoints {
    listed: Vec<TestPoint>,
    not_listed: Vec<TestPoint>,
}

impl TestPoints {
    /// RFC 5782's test points for a list of `kind`: `127.0.0.2`/`127.0.0.1` for IPv4,
    /// `::ffff:7f00:2`/`::ffff:7f00:1` for IPv6 (both families for [`ListKind::Ip`]),
    /// `test`/`invalid` for domains.
    pub fn rfc5782(kind: ListKind) -> Self {
        let mut points = TestPoints::default();
        for family in kind.families() {
            let (listed, not_listed) = match family {
                ListKind::Ipv6 => (
                    TestPoint::Ipv6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 2)),
                    TestPoint::Ipv6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)),
                ),
                ListKind::Domain => (
                    TestPoint::Domain(DomainName::new("test").expect("a valid label")),
                    TestPoint::Domain(DomainName::new("invalid").expect("a valid label")),
                ),
                _ => (
                    TestPoint::Ipv4(Ipv4Addr::new(127, 0, 0, 2)),
                    TestPoint::Ipv4(Ipv4Addr::new(127, 0, 0, 1)),
                ),
            };
            points.listed.push(listed);
            points.not_listed.push(not_listed);
        }
        points
    }

    /// No test points: the list publishes none, so it cannot be proven to work and is used
    /// as it answers.
    pub fn none() -> Self {
        TestPoints::default()
    }

    /// Test points of your own: the entries the list always lists and the ones it never
    /// lists. At most 8 of each are kept; only the first of each family is asked.
    pub fn new(
        listed: impl IntoIterator<Item = TestPoint>,
        not_listed: impl IntoIterator<Item = TestPoint>,
    ) -> Self {
        TestPoints {
            listed: listed.into_iter().take(MAX_TEST_POINTS).collect(),
            not_listed: not_listed.into_iter().take(MAX_TEST_POINTS).collect(),
        }
    }

    /// The entries the list must list.
    pub fn listed(&self) -> &[TestPoint] {
        &self.listed
    }

    /// The entries the list must not list.
    pub fn not_listed(&self) -> &[TestPoint] {
        &self.not_listed
    }

    /// Whether the list publishes no test point at all.
    pub fn is_none(&self) -> bool {
        self.listed.is_empty() && self.not_listed.is_empty()
    }

    /// The positive test point that proves `family` ([`TestPoint::family`]), if any.
    pub fn listed_for(&self, family: ListKind) -> Option<&TestPoint> {
        self.listed.iter().find(|point| point.family() == family)
    }

    /// The negative test point of `family`, if any.
    pub fn not_listed_for(&self, family: ListKind) -> Option<&TestPoint> {
        self.not_listed
            .iter()
            .find(|point| point.family() == family)
    }
}

impl Serialize for TestPoints {
    /// `"none"`, or `{"listed": [...], "not_listed": [...]}` as a config file takes it.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_none() {
            return serializer.serialize_str("none");
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("listed", &self.listed)?;
        map.serialize_entry("not_listed", &self.not_listed)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for TestPoints {
    /// `"none"`, or a table `{ listed = ..., not_listed = ... }` whose values are one test
    /// point or an array of them (either key may be left out).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }

        fn points<E: serde::de::Error>(value: OneOrMany) -> Result<Vec<TestPoint>, E> {
            let texts = match value {
                OneOrMany::One(text) => vec![text],
                OneOrMany::Many(texts) => texts,
            };
            if texts.len() > MAX_TEST_POINTS {
                return Err(E::custom(format_args!(
                    "at most {MAX_TEST_POINTS} test points of each sign"
                )));
            }
            texts
                .iter()
                .map(|text| {
                    text.parse::<TestPoint>()
                        .map_err(|error| E::custom(format_args!("invalid test point: {error}")))
                })
                .collect()
        }

        struct PointsVisitor;
        impl<'de> Visitor<'de> for PointsVisitor {
            type Value = TestPoints;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"none\" or a table with `listed` and `not_listed` test points")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                match text {
                    "none" => Ok(TestPoints::none()),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(text), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut result = TestPoints::default();
                while let Some(key) = access.next_key::<String>()? {
                    match key.as_str() {
                        "listed" => result.listed = points(access.next_value()?)?,
                        "not_listed" => result.not_listed = points(access.next_value()?)?,
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["listed", "not_listed"],
                            ));
                        }
                    }
                }
                Ok(result)
            }
        }
        deserializer.deserialize_any(PointsVisitor)
    }
}
