//! List zones, with their optional secret part, and the query names built under them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;

use crate::target::{MAX_NAME_LEN, Target, unmap_ipv4, validate_host_name};

/// The DNS zone a list answers under, such as `zen.spamhaus.org`.
///
/// Some services put an access key in the zone (Spamhaus DQS:
/// `<key>.zen.dq.spamhaus.net`). The key is a secret: it is used in queries and nowhere else.
/// [`Display`](fmt::Display), [`Debug`], serialisation and error messages show only the
/// public part of the zone.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Zone;
///
/// let zone = Zone::new("zen.spamhaus.org").unwrap();
/// assert_eq!(zone.to_string(), "zen.spamhaus.org");
///
/// let keyed = Zone::with_key("zen.dq.spamhaus.net", "abcdefghijklmnopqrstuvwxyz").unwrap();
/// assert_eq!(keyed.to_string(), "zen.dq.spamhaus.net");
/// assert!(!format!("{keyed:?}").contains("abcdef"));
///
/// // A DQS zone written out in full is recognised, and its key kept secret.
/// let written: Zone = "abcdefghijklmnopqrstuvwxyz.zen.dq.spamhaus.net".parse().unwrap();
/// assert_eq!(written, keyed);
/// assert_eq!(written.to_string(), "zen.dq.spamhaus.net");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Zone {
    // Shared, not copied: every list result carries its zone, so a clone is a count.
    public: Arc<str>,
    key: Option<SecretKey>,
}

/// The suffix of Spamhaus's keyed Data Query Service (DQS) zones, `<key>.<service>` before
/// it: the one place the crate names it.
///
/// # Examples
///
/// ```
/// use dnsbl_check::zone::DQS_SUFFIX;
///
/// assert_eq!(format!("zen{DQS_SUFFIX}"), "zen.dq.spamhaus.net");
/// ```
pub const DQS_SUFFIX: &str = ".dq.spamhaus.net";

impl Zone {
    /// A zone without a secret part. The name is lowercased and a trailing dot removed.
    pub fn new(zone: &str) -> Result<Self, ZoneError> {
        Ok(Zone {
            public: normalise_zone(zone)?.into(),
            key: None,
        })
    }

    /// A zone whose queries go to `<key>.<public>`, such as a Spamhaus DQS zone.
    pub fn with_key(public: &str, key: &str) -> Result<Self, ZoneError> {
        let public = normalise_zone(public)?;
        let key = SecretKey::new(key)?;
        let zone = Zone {
            public: public.into(),
            key: Some(key),
        };
        zone.check_length()?;
        Ok(zone)
    }

    /// The zone as it may be shown: without any secret key.
    pub fn public_name(&self) -> &str {
        &self.public
    }

    /// The public name, shared by every clone of this zone: the same allocation for all the
    /// results of a list.
    pub(crate) fn shared_public_name(&self) -> &Arc<str> {
        &self.public
    }

    /// Replaces this zone's key, in any letter case, by `<redacted>` in `text`: for text this
    /// crate does not control, such as a DNS library's own trace logs of query names.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Zone;
    ///
    /// let zone = Zone::with_key("zen.dq.spamhaus.net", "s3cretkey").unwrap();
    /// assert_eq!(
    ///     zone.redact("query 2.0.0.127.S3CRETKEY.zen.dq.spamhaus.net."),
    ///     "query 2.0.0.127.<redacted>.zen.dq.spamhaus.net."
    /// );
    /// ```
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match &self.key {
            Some(key) => redact_ignoring_case(text, &key.0),
            None => std::borrow::Cow::Borrowed(text),
        }
    }

    /// Whether queries to this zone carry a secret key.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The longest relative name that still fits in a query name under this zone.
    fn room_for_prefix(&self) -> usize {
        let zone_len = self.public.len() + self.key.as_ref().map_or(0, |key| key.0.len() + 1);
        MAX_NAME_LEN.saturating_sub(zone_len + 1)
    }

    fn check_length(&self) -> Result<(), ZoneError> {
        // Even the shortest query (an IPv4 address: 7 octets) must fit.
        if self.room_for_prefix() < 7 {
            return Err(ZoneError::new("zone too long to hold any query name"));
        }
        Ok(())
    }

    /// Writes the absolute query name `<prefix>.<key>.<zone>.` into `out`.
    fn write_query_name(&self, prefix: &str, out: &mut String) {
        out.reserve(prefix.len() + self.suffix_len());
        out.push_str(prefix);
        self.push_suffix(out);
    }

    /// The length of `.<key>.<zone>.` (the key only if any).
    fn suffix_len(&self) -> usize {
        self.public.len() + 2 + self.key.as_ref().map_or(0, |key| key.0.len() + 1)
    }

    /// Appends `.<key>.<zone>.` (the key only if any) to a query name's first labels.
    fn push_suffix(&self, out: &mut String) {
        out.push('.');
        if let Some(key) = &self.key {
            out.push_str(&key.0);
            out.push('.');
        }
        out.push_str(&self.public);
        out.push('.');
    }

    /// The query name for `target`: reversed address or domain under this zone, absolute.
    ///
    /// IPv4 addresses are reversed octet by octet; IPv6 addresses nibble by nibble, all 32
    /// nibbles (RFC 5782); IPv4-mapped IPv6 addresses as the IPv4 address they carry; domain
    /// names as they are. The name always ends in a dot, so that no resolver ever appends a
    /// search domain to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{Target, Zone};
    ///
    /// let zone = Zone::new("bl.example").unwrap();
    /// let ip: Target = "192.0.2.99".parse().unwrap();
    /// assert_eq!(zone.query_name(&ip).unwrap().as_str(), "99.2.0.192.bl.example.");
    ///
    /// let v6: Target = "2001:db8:1:2:3:4:567:89ab".parse().unwrap();
    /// assert_eq!(
    ///     zone.query_name(&v6).unwrap().as_str(),
    ///     "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example."
    /// );
    /// ```
    pub fn query_name(&self, target: &Target) -> Result<QueryName, QueryNameError> {
        let reversed;
        let prefix = match target {
            Target::Ip(addr) => match unmap_ipv4(*addr) {
                // The common case, with no string between: the digits go straight in.
                IpAddr::V4(v4) => {
                    let mut name = String::with_capacity(16 + self.suffix_len());
                    push_reversed_ipv4(v4, &mut name);
                    if name.len() > self.room_for_prefix() {
                        return Err(self.too_long());
                    }
                    self.push_suffix(&mut name);
                    return Ok(QueryName(name));
                }
                IpAddr::V6(v6) => {
                    reversed = reverse_ipv6(v6);
                    reversed.as_str()
                }
            },
            Target::Domain(domain) => domain.as_str(),
        };
        if prefix.len() > self.room_for_prefix() {
            return Err(self.too_long());
        }
        let mut name = String::new();
        self.write_query_name(prefix, &mut name);
        Ok(QueryName(name))
    }

    fn too_long(&self) -> QueryNameError {
        QueryNameError {
            zone: self.public.to_string(),
            problem: "name longer than 253 octets once the zone is added",
        }
    }

    /// The query name for an IPv6 address in nibble form, without unwrapping IPv4-mapped
    /// addresses: the IPv6 test points (`::ffff:7f00:2`) are asked for exactly so.
    pub(crate) fn ipv6_nibble_query_name(&self, addr: Ipv6Addr) -> QueryName {
        let mut name = String::new();
        self.write_query_name(&reverse_ipv6(addr), &mut name);
        QueryName(name)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.public)
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Zone");
        debug.field("public", &self.public);
        if let Some(key) = &self.key {
            debug.field("key", key);
        }
        debug.finish()
    }
}

impl FromStr for Zone {
    type Err = ZoneError;

    /// Parses a zone; a Spamhaus DQS zone written with its key (`<key>.zen.dq.spamhaus.net`)
    /// keeps the key secret.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let zone = normalise_zone(text)?;
        if zone.ends_with(DQS_SUFFIX) {
            let labels: Vec<&str> = zone.split('.').collect();
            // key . service . dq . spamhaus . net
            if labels.len() == 5 {
                let public = labels[1..].join(".");
                return Zone::with_key(&public, labels[0]);
            }
        }
        Zone::new(&zone)
    }
}

/// Implements `Serialize` as the type's `Display` text and `Deserialize` through its
/// `FromStr`, for values written as one string in files and reports.
macro_rules! serde_as_text {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_text;

// The public name only, as `Display` writes it: the key never leaves the process this way.
serde_as_text!(Zone);

fn normalise_zone(text: &str) -> Result<String, ZoneError> {
    let trimmed = text.trim();
    let without_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if without_dot.is_empty() {
        return Err(ZoneError::new("empty zone name"));
    }
    let lower = without_dot.to_ascii_lowercase();
    validate_host_name(&lower).map_err(ZoneError::new)?;
    let zone = Zone {
        public: lower.as_str().into(),
        key: None,
    };
    zone.check_length()?;
    Ok(lower)
}

/// A secret label inside a zone, such as a Spamhaus DQS key. It prints as `<redacted>`, so
/// that a [`Zone`] can derive `Debug`-like output without leaking it. Keys enter only through
/// [`Zone::with_key`] and leave only through [`Zone::query_name`].
#[derive(Clone, PartialEq, Eq, Hash)]
struct SecretKey(Arc<str>);

impl SecretKey {
    /// Wraps a key, which must be a single DNS label. The error does not repeat the key.
    fn new(key: &str) -> Result<Self, ZoneError> {
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || key.contains('.') || validate_host_name(&key).is_err() {
            return Err(ZoneError::new(
                "key must be a single label of letters, digits and hyphens",
            ));
        }
        Ok(SecretKey(key.into()))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An absolute DNS name to query, built by [`Zone::query_name`]. Ends with a dot.
///
/// It may contain a secret key, so it is not `Display`: use [`QueryName::as_str`] where the
/// name must go on the wire, and nowhere else.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct QueryName(String);

impl QueryName {
    /// The name as sent on the wire, trailing dot included.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for QueryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name may hold a key; show only its shape.
        write!(f, "QueryName({} octets)", self.0.len())
    }
}

/// Replaces every occurrence of `secret` (lowercase ASCII) in `text`, ignoring ASCII case.
fn redact_ignoring_case<'a>(text: &'a str, secret: &str) -> std::borrow::Cow<'a, str> {
    let lower = text.to_ascii_lowercase();
    if secret.is_empty() || !lower.contains(secret) {
        return std::borrow::Cow::Borrowed(text);
    }
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` hold in `text`.
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, _) in lower.match_indices(secret) {
        out.push_str(&text[last..start]);
        out.push_str("<redacted>");
        last = start + secret.len();
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

/// A zone name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid zone: {problem}")]
pub struct ZoneError {
    problem: &'static str,
}

impl ZoneError {
    fn new(problem: &'static str) -> Self {
        ZoneError { problem }
    }
}

/// A target that does not fit under a zone, such as a domain too long once the zone is added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build a query under {zone}: {problem}")]
pub struct QueryNameError {
    zone: String,
    problem: &'static str,
}

/// `192.0.2.99` → `99.2.0.192`.
pub(crate) fn reverse_ipv4(addr: Ipv4Addr) -> String {
    let mut out = String::with_capacity(15);
    push_reversed_ipv4(addr, &mut out);
    out
}

/// Appends `99.2.0.192` for `192.0.2.99`. Written by hand rather than with `format!`: this
/// runs once per query, and the formatting machinery costs several times more than the digits
/// themselves.
fn push_reversed_ipv4(addr: Ipv4Addr, out: &mut String) {
    for (i, octet) in addr.octets().iter().rev().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if *octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if *octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
}

/// All 32 nibbles, least significant first, dot-separated (RFC 5782 section 2.4).
pub(crate) fn reverse_ipv6(addr: Ipv6Addr) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(63);
    for byte in addr.octets().iter().rev() {
        out.push(HEX[usize::from(byte & 0x0f)] as char);
        out.push('.');
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push('.');
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_key_prints_redacted() {
        let key = SecretKey::new("s3cr3tkey").unwrap();
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(key.to_string(), "<redacted>");
    }

    #[test]
    fn builds_query_names() {
        // RFC 5782 section 2.1 and 2.4 examples, and the common mistakes they guard against.
        let zone = Zone::new("bl.example").unwrap();
        let cases = [
            ("192.0.2.99", "99.2.0.192.bl.example."),
            ("127.0.0.2", "2.0.0.127.bl.example."),
            ("0.0.0.0", "0.0.0.0.bl.example."),
            (
                "2001:db8:1:2:3:4:567:89ab",
                "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example.",
            ),
            (
                "2001:db8::1",
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.",
            ),
            (
                "::1",
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example.",
            ),
            ("::ffff:192.0.2.99", "99.2.0.192.bl.example."),
            ("::FFFF:C000:0263", "99.2.0.192.bl.example."),
            ("Example.COM.", "example.com.bl.example."),
            ("bücher.example", "xn--bcher-kva.example.bl.example."),
        ];
        for (target, expected) in cases {
            let target: Target = target.parse().unwrap();
            assert_eq!(zone.query_name(&target).unwrap().as_str(), expected);
        }
    }

    #[test]
    fn ipv6_test_points_stay_in_nibble_form() {
        let zone = Zone::new("v6.example").unwrap();
        let name = zone.ipv6_nibble_query_name("::ffff:7f00:2".parse().unwrap());
        assert_eq!(
            name.as_str(),
            "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.v6.example."
        );
    }

    #[test]
    fn keyed_zones_hide_the_key() {
        let zone: Zone = "KEY0123456789abcdefghijklm.dbl.dq.spamhaus.net."
            .parse()
            .unwrap();
        assert!(zone.has_key());
        assert_eq!(zone.public_name(), "dbl.dq.spamhaus.net");
        let target = Target::domain("example.com").unwrap();
        let name = zone.query_name(&target).unwrap();
        assert_eq!(
            name.as_str(),
            "example.com.key0123456789abcdefghijklm.dbl.dq.spamhaus.net."
        );
        for shown in [
            format!("{zone}"),
            format!("{zone:?}"),
            format!("{name:?}"),
            serde_json::to_string(&zone).unwrap(),
        ] {
            assert!(!shown.contains("key0123"), "{shown}");
        }
        // A plain (unkeyed) DQS-like zone is left alone.
        assert!(!"zen.dq.spamhaus.net".parse::<Zone>().unwrap().has_key());
    }

    #[test]
    fn rejects_bad_zones_and_overlong_names() {
        for bad in ["", ".", "bl..example", "bl example", &"a".repeat(64)] {
            assert!(Zone::new(bad).is_err(), "{bad:?}");
        }
        assert!(Zone::with_key("zen.dq.spamhaus.net", "a.b").is_err());
        let zone = Zone::new(&vec!["z".repeat(50); 4].join(".")).unwrap();
        let long = Target::domain(&vec!["d".repeat(20); 3].join(".")).unwrap();
        let error = zone.query_name(&long).unwrap_err();
        assert!(error.to_string().contains("253 octets"), "{error}");
        // An IPv4 address still fits; an IPv6 one (63 octets of nibbles) does not.
        assert!(zone.query_name(&"192.0.2.1".parse().unwrap()).is_ok());
        assert!(zone.query_name(&"::1".parse().unwrap()).is_err());
        // Under a zone with room for 9 octets, a short IPv4 name fits and a long one does not.
        let tight = Zone::new(&vec!["z".repeat(60); 4].join(".")).unwrap();
        let name = tight.query_name(&"1.2.3.255".parse().unwrap()).unwrap();
        assert_eq!(name.as_str().trim_end_matches('.').len(), 253);
        let error = tight
            .query_name(&"10.20.30.40".parse().unwrap())
            .unwrap_err();
        assert!(error.to_string().contains("253 octets"), "{error}");
    }

    #[test]
    fn reverses_every_octet_value_like_format() {
        for octet in 0..=255u8 {
            let addr = Ipv4Addr::new(octet, 255 - octet, octet / 3, 7);
            let [a, b, c, d] = addr.octets();
            assert_eq!(reverse_ipv4(addr), format!("{d}.{c}.{b}.{a}"));
        }
    }
}
