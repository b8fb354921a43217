//! What can be checked: an IP address or a domain name, and how text becomes one; and
//! [`reader`], how a file of targets is read.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4AddrRange, Ipv6AddrRange};
use serde::{Deserialize, Serialize, Serializer};

pub mod reader;

/// The longest domain name, in octets, in its textual form without the trailing dot.
pub(crate) const MAX_NAME_LEN: usize = 253;
/// The longest label of a domain name, in octets.
pub(crate) const MAX_LABEL_LEN: usize = 63;

/// One thing to look up: an IP address (for IP lists) or a domain name (for domain lists).
///
/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is stored as the IPv4 address it carries,
/// because that is the address a dual-stack mail server is really talking to, and the one IP
/// lists know about.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Target;
///
/// let ip: Target = "::ffff:192.0.2.1".parse().unwrap();
/// assert_eq!(ip.to_string(), "192.0.2.1");
///
/// let domain: Target = "Example.COM.".parse().unwrap();
/// assert_eq!(domain.to_string(), "example.com");
///
/// assert!("not a host!!".parse::<Target>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Target {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A domain name, normalised (see [`DomainName`]).
    Domain(DomainName),
}

impl Target {
    /// A mail server written with its port: `ADDRESS:PORT` (`[IPv6]:PORT` for IPv6) or
    /// `HOST:PORT`. `None` for anything else: `2001:db8::25` is an IPv6 address, not a host on
    /// port 25.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Target;
    ///
    /// let (server, port) = Target::with_port("mx.example.org:2525").unwrap();
    /// assert_eq!((server.to_string().as_str(), port), ("mx.example.org", 2525));
    /// assert_eq!(Target::with_port("[2001:db8::25]:25").unwrap().1, 25);
    /// assert!(Target::with_port("2001:db8::25").is_none());
    /// ```
    pub fn with_port(text: &str) -> Option<(Target, u16)> {
        if let Ok(server) = text.parse::<std::net::SocketAddr>() {
            return Some((Target::ip(server.ip()), server.port()));
        }
        let (host, port) = text.rsplit_once(':')?;
        let port = port.parse().ok()?;
        match host.parse::<Target>().ok()? {
            target @ Target::Domain(_) => Some((target, port)),
            Target::Ip(_) => None,
        }
    }

    /// Builds an IP target, unwrapping an IPv4-mapped IPv6 address into its IPv4 address.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use dnsbl_check::Target;
    ///
    /// let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
    /// assert_eq!(Target::ip(mapped), Target::Ip("10.1.2.3".parse().unwrap()));
    /// ```
    pub fn ip(addr: IpAddr) -> Self {
        Target::Ip(unmap_ipv4(addr))
    }

    /// Parses and normalises a domain target.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Target;
    ///
    /// assert_eq!(Target::domain("BÜCHER.example").unwrap().to_string(), "xn--bcher-kva.example");
    /// ```
    pub fn domain(name: &str) -> Result<Self, TargetError> {
        DomainName::new(name).map(Target::Domain)
    }

    /// Whether this is an IP address (as opposed to a domain name).
    pub fn is_ip(&self) -> bool {
        matches!(self, Target::Ip(_))
    }
}

impl FromStr for Target {
    type Err = TargetError;

    /// Parses an IP address if the text is one, otherwise a domain name.
    ///
    /// Text that looks like a dotted-quad IPv4 address but is not a valid one (`999.1.1.1`) is
    /// rejected rather than taken as a domain name, because that is almost always a typing
    /// error, not a host.
    ///
    /// The test for an address is made again after IDNA normalisation: IDNA deletes invisible
    /// characters (U+200B, U+2060, a soft hyphen, a byte-order mark) and folds fullwidth digits
    /// and dots, so `１９２.0.2.1` or `192.0.2.1` followed by a zero-width space normalise to
    /// `192.0.2.1`. Such text is checked as that address (it is what the text shows), never as
    /// a domain of that name, which every IP list would skip and every domain list would call
    /// clean. Text that normalises to an invalid dotted quad is refused like `999.1.1.1`.
    ///
    /// ```
    /// use dnsbl_check::Target;
    ///
    /// let fullwidth: Target = "１９２.0.2.1".parse().unwrap();
    /// assert_eq!(fullwidth, Target::Ip("192.0.2.1".parse().unwrap()));
    /// let hidden: Target = "192.0.2.1\u{200B}".parse().unwrap();
    /// assert!(hidden.is_ip());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if let Ok(addr) = trimmed.parse::<IpAddr>() {
            return Ok(Target::ip(addr));
        }
        if trimmed.contains(':') {
            return Err(TargetError::new(text, "not a valid IPv6 address"));
        }
        // An address written as an absolute name (`192.0.2.1.`) is still the address: taken
        // for a domain, it would be skipped by every IP list.
        let unrooted = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if let Ok(addr) = unrooted.parse::<Ipv4Addr>() {
            return Ok(Target::from(addr));
        }
        if looks_like_ipv4(unrooted) {
            return Err(TargetError::new(text, "not a valid IPv4 address"));
        }
        let name =
            DomainName::new(trimmed).map_err(|error| TargetError::new(text, error.problem))?;
        // IDNA deletes and folds characters: what was not an address may have become one.
        if let Ok(addr) = name.as_str().parse::<Ipv4Addr>() {
            return Ok(Target::from(addr));
        }
        if looks_like_ipv4(name.as_str()) {
            return Err(TargetError::new(text, "not a valid IPv4 address"));
        }
        Ok(Target::Domain(name))
    }
}

impl TryFrom<String> for Target {
    type Error = TargetError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<IpAddr> for Target {
    fn from(addr: IpAddr) -> Self {
        Target::ip(addr)
    }
}

impl From<Ipv4Addr> for Target {
    fn from(addr: Ipv4Addr) -> Self {
        Target::Ip(IpAddr::V4(addr))
    }
}

impl From<Ipv6Addr> for Target {
    fn from(addr: Ipv6Addr) -> Self {
        Target::ip(IpAddr::V6(addr))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Ip(addr) => addr.fmt(f),
            Target::Domain(name) => name.fmt(f),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A domain name as domain lists expect it: lowercase, ASCII (IDNA), no trailing dot.
///
/// # Examples
///
/// ```
/// use dnsbl_check::target::DomainName;
///
/// let name = DomainName::new("Mail.Example.ORG.").unwrap();
/// assert_eq!(name.as_str(), "mail.example.org");
/// assert!(DomainName::new("bad..name").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    /// Normalises and validates a domain name.
    ///
    /// Internationalised names are converted to their ASCII (`xn--`) form. Each label must be
    /// 1 to 63 octets of letters, digits, hyphens or underscores (underscores appear in real
    /// names such as `_dmarc`, and lists are asked about them), and not start or end with a
    /// hyphen; the whole name must fit in 253 octets.
    pub fn new(text: &str) -> Result<Self, TargetError> {
        let trimmed = text.trim();
        let without_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if without_dot.is_empty() {
            return Err(TargetError::new(text, "empty domain name"));
        }
        let ascii = if without_dot.is_ascii() {
            without_dot.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(without_dot)
                .map_err(|_| TargetError::new(text, "not a valid internationalised domain name"))?
        };
        validate_host_name(&ascii).map_err(|problem| TargetError::new(text, problem))?;
        Ok(DomainName(ascii))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DomainName {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DomainName::new(text)
    }
}

impl TryFrom<String> for DomainName {
    type Error = TargetError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        DomainName::new(&text)
    }
}

impl From<DomainName> for String {
    fn from(name: DomainName) -> Self {
        name.0
    }
}

/// Checks an ASCII, lowercase name without trailing dot against host-name rules.
///
/// Returns what is wrong, in words fit for an error message.
pub(crate) fn validate_host_name(name: &str) -> Result<(), &'static str> {
    if name.len() > MAX_NAME_LEN {
        return Err("name longer than 253 octets");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > MAX_LABEL_LEN {
            return Err("label longer than 63 octets");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("character not allowed in a host name");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("label starts or ends with a hyphen");
        }
    }
    Ok(())
}

/// Turns `::ffff:a.b.c.d` into `a.b.c.d`; leaves every other address alone.
pub(crate) fn unmap_ipv4(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Four dot-separated groups of digits: meant as an IPv4 address, whatever the numbers say.
fn looks_like_ipv4(text: &str) -> bool {
    let groups: Vec<&str> = text.split('.').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
}

/// What a user may write where targets are expected: one target, or a whole network.
///
/// A network expands to every address in it, network and broadcast addresses included,
/// lazily: a `/8` is never held in memory.
///
/// # Examples
///
/// ```
/// use dnsbl_check::TargetSpec;
///
/// let spec: TargetSpec = "192.0.2.0/30".parse().unwrap();
/// let all: Vec<String> = spec.into_iter().map(|t| t.to_string()).collect();
/// assert_eq!(all, ["192.0.2.0", "192.0.2.1", "192.0.2.2", "192.0.2.3"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetSpec {
    /// A single address or domain.
    One(Target),
    /// Every address of a network.
    Network(IpNet),
}

// A spec names at least one target, so an `is_empty` could only ever say false.
#[allow(clippy::len_without_is_empty)]
impl TargetSpec {
    /// How many targets this spec expands to, if that fits in a `u128`.
    pub fn len(&self) -> u128 {
        match self {
            TargetSpec::One(_) => 1,
            TargetSpec::Network(IpNet::V4(net)) => 1u128 << (32 - net.prefix_len()),
            TargetSpec::Network(IpNet::V6(net)) => 1u128
                .checked_shl(128 - u32::from(net.prefix_len()))
                .unwrap_or(u128::MAX),
        }
    }
}

impl FromStr for TargetSpec {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // A plain IPv4 address, most of a bulk list, read at once: the same target the general
        // path below gives it.
        if let Some(addr) = dotted_quad(text) {
            return Ok(TargetSpec::One(Target::ip(IpAddr::V4(addr))));
        }
        let trimmed = text.trim();
        if trimmed.contains('/') {
            return trimmed
                .parse::<IpNet>()
                .map(|net| TargetSpec::Network(net.trunc()))
                .map_err(|_| TargetError::new(text, "not a valid CIDR network"));
        }
        trimmed.parse().map(TargetSpec::One)
    }
}

/// An IPv4 address in dotted decimal, read as [`Ipv4Addr`]'s parser reads it (four octets of
/// one to three digits, none above 255, none with a leading zero), in a single pass over the
/// bytes; `None` for anything else, which the general path of [`TargetSpec::from_str`] reads.
fn dotted_quad(text: &str) -> Option<Ipv4Addr> {
    dotted_quad_bytes(text.as_bytes())
}

/// [`dotted_quad`] over bytes: `None` for any that are not digits and dots.
pub(crate) fn dotted_quad_bytes(text: &[u8]) -> Option<Ipv4Addr> {
    // Octet by octet, each read whole from its one to three digits: a check per byte of
    // whether it continues a number cost twice as much.
    let mut octets = [0u8; 4];
    let mut rest = text;
    for (index, octet) in octets.iter_mut().enumerate() {
        if index > 0 {
            rest = rest.strip_prefix(b".")?;
        }
        let digits = rest.iter().take(3).take_while(|byte| byte.is_ascii_digit());
        let (number, after) = rest.split_at(digits.count());
        let digit = |byte: u8| u16::from(byte - b'0');
        let value = match *number {
            [one] => digit(one),
            // No leading zero.
            [tens, ones] if tens != b'0' => digit(tens) * 10 + digit(ones),
            [hundreds, tens, ones] if hundreds != b'0' => {
                digit(hundreds) * 100 + digit(tens) * 10 + digit(ones)
            }
            _ => return None,
        };
        *octet = u8::try_from(value).ok()?;
        rest = after;
    }
    rest.is_empty().then(|| Ipv4Addr::from(octets))
}

impl IntoIterator for TargetSpec {
    type Item = Target;
    type IntoIter = TargetSpecIter;

    fn into_iter(self) -> Self::IntoIter {
        TargetSpecIter(match self {
            TargetSpec::One(target) => SpecIterInner::One(Some(target)),
            // ipnet's `hosts()` leaves out the network and broadcast addresses; an operator
            // scanning a block wants every address, so walk the full range instead.
            TargetSpec::Network(IpNet::V4(net)) => {
                SpecIterInner::V4(Ipv4AddrRange::new(net.network(), net.broadcast()))
            }
            TargetSpec::Network(IpNet::V6(net)) => {
                SpecIterInner::V6(Ipv6AddrRange::new(net.network(), net.broadcast()))
            }
        })
    }
}

/// The iterator behind [`TargetSpec::into_iter`].
#[derive(Debug, Clone)]
pub struct TargetSpecIter(SpecIterInner);

#[derive(Debug, Clone)]
enum SpecIterInner {
    One(Option<Target>),
    V4(Ipv4AddrRange),
    V6(Ipv6AddrRange),
}

impl Iterator for TargetSpecIter {
    type Item = Target;

    fn next(&mut self) -> Option<Target> {
        match &mut self.0 {
            SpecIterInner::One(target) => target.take(),
            SpecIterInner::V4(range) => range.next().map(Target::from),
            SpecIterInner::V6(range) => range.next().map(Target::from),
        }
    }
}

/// Text that is not a usable target, with what is wrong with it.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Target;
///
/// let error = "999.1.1.1".parse::<Target>().unwrap_err();
/// assert_eq!(error.input(), "999.1.1.1");
/// assert_eq!(error.to_string(), "invalid target \"999.1.1.1\": not a valid IPv4 address");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target {input:?}: {problem}")]
pub struct TargetError {
    input: String,
    problem: &'static str,
}

impl TargetError {
    pub(crate) fn new(input: &str, problem: &'static str) -> Self {
        // Bound what is echoed back, so that a megabyte of garbage does not become a
        // megabyte-long error message.
        let input: String = input.chars().take(300).collect();
        TargetError { input, problem }
    }

    /// The text that was rejected (at most 300 characters of it).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &str {
        self.problem
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The quick reading of an IPv4 address gives what the standard parser gives, and
        /// takes every address that parser takes, leading zeros and all.
        #[test]
        fn a_dotted_quad_is_read_as_the_standard_parser_reads_it(
            text in "[0-9.]{0,17}|[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}[ .a]?",
        ) {
            let standard = text.parse::<Ipv4Addr>().ok();
            prop_assert_eq!(dotted_quad(&text), standard, "{:?}", text);
        }

        #[test]
        fn every_address_is_read_back(addr in any::<u32>()) {
            let addr = Ipv4Addr::from(addr);
            prop_assert_eq!(dotted_quad(&addr.to_string()), Some(addr));
        }
    }

    #[test]
    fn a_plain_ipv4_spec_is_the_target_the_general_path_reads() {
        for text in ["192.0.2.1", "0.0.0.0", "255.255.255.255", "10.20.30.4"] {
            let target: Target = text.parse().unwrap();
            let padded: TargetSpec = format!(" {text}\t").parse().unwrap();
            assert_eq!(text.parse::<TargetSpec>().unwrap(), TargetSpec::One(target));
            assert_eq!(padded, text.parse().unwrap());
        }
        for bad in ["192.0.2.01", "999.0.2.1"] {
            assert!(bad.parse::<TargetSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_targets() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("192.0.2.1", Ok("192.0.2.1")),
            (" 192.0.2.1 ", Ok("192.0.2.1")),
            ("2001:db8::1", Ok("2001:db8::1")),
            ("::ffff:192.0.2.1", Ok("192.0.2.1")),
            ("::ffff:c000:201", Ok("192.0.2.1")),
            ("Example.COM", Ok("example.com")),
            ("example.com.", Ok("example.com")),
            ("_dmarc.example.com", Ok("_dmarc.example.com")),
            ("bücher.de", Ok("xn--bcher-kva.de")),
            ("999.1.1.1", Err("not a valid IPv4 address")),
            ("192.0.2.1.", Ok("192.0.2.1")),
            ("999.1.1.1.", Err("not a valid IPv4 address")),
            ("192.0.2.1..", Err("empty label")),
            ("1.2.3.4.5", Ok("1.2.3.4.5")),
            ("2001:db8::g", Err("not a valid IPv6 address")),
            ("not a host!!", Err("character not allowed in a host name")),
            ("", Err("empty domain name")),
            (".", Err("empty domain name")),
            ("a..b", Err("empty label")),
            ("-a.com", Err("label starts or ends with a hyphen")),
            // Invisible or fullwidth characters that IDNA deletes or folds: the address.
            ("\u{FEFF}192.0.2.1", Ok("192.0.2.1")),
            ("192.0.2.1\u{200B}", Ok("192.0.2.1")),
            ("\u{2060}192.0.2.1", Ok("192.0.2.1")),
            ("192.0\u{AD}.2.1", Ok("192.0.2.1")),
            ("１９２.０.２.１", Ok("192.0.2.1")),
            ("192。0。2。1", Ok("192.0.2.1")),
            ("１９２.0.2.1.", Ok("192.0.2.1")),
            ("９９９.1.1.1", Err("not a valid IPv4 address")),
            ("1.2.3.4\u{200B}.5", Ok("1.2.3.4.5")),
        ];
        for (input, expected) in cases {
            let got = input.parse::<Target>();
            match (expected, got) {
                (Ok(want), Ok(target)) => {
                    assert_eq!(target.to_string(), *want, "{input}");
                    // An address is an address target, never a domain that prints the same.
                    assert_eq!(target.is_ip(), want.parse::<IpAddr>().is_ok(), "{input}");
                }
                (Err(want), Err(error)) => assert_eq!(error.problem(), *want, "{input}"),
                (expected, got) => panic!("{input}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn rejects_long_names() {
        let long_label = "a".repeat(64);
        assert_eq!(
            Target::domain(&format!("{long_label}.com"))
                .unwrap_err()
                .problem(),
            "label longer than 63 octets"
        );
        let long_name = vec!["a".repeat(60); 5].join(".");
        assert_eq!(
            Target::domain(&long_name).unwrap_err().problem(),
            "name longer than 253 octets"
        );
    }

    #[test]
    fn error_echo_is_bounded() {
        let garbage = "!".repeat(10_000);
        let error = garbage.parse::<Target>().unwrap_err();
        assert_eq!(error.input().len(), 300);
    }

    #[test]
    fn expands_networks_including_edges() {
        let spec: TargetSpec = "10.0.0.7/29".parse().unwrap();
        assert_eq!(spec.len(), 8);
        let all: Vec<Target> = spec.into_iter().collect();
        assert_eq!(all.first().unwrap().to_string(), "10.0.0.0");
        assert_eq!(all.last().unwrap().to_string(), "10.0.0.7");
        let v6: TargetSpec = "2001:db8::/126".parse().unwrap();
        assert_eq!(v6.into_iter().count(), 4);
        let one: TargetSpec = "192.0.2.1/32".parse().unwrap();
        assert_eq!(one.into_iter().count(), 1);
        assert!("10.0.0.0/33".parse::<TargetSpec>().is_err());
        assert_eq!("::/0".parse::<TargetSpec>().unwrap().len(), u128::MAX);
    }
}
