//! Which answer codes count: Postfix-style octet patterns, CIDR, bitmasks and negation.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// A test on one answer code (an A record such as `127.0.0.4`).
///
/// The syntax extends Postfix's `postscreen_dnsbl_sites` filters with forms from Exim:
///
/// | form | matches |
/// |---|---|
/// | `127.0.0.2` | exactly that code |
/// | `127.0.0.[2..11]`, `127.0.[0..255].[2;3]` | each octet a number, or `[...]` of numbers and `a..b` ranges separated by `;` (Postfix) |
/// | `127.0.0.0/24` | a CIDR block |
/// | `&0.0.0.8` | codes with any of the mask's bits set (bitmask lists such as SURBL and URIBL) |
/// | `!F` | codes that `F` does not match |
///
/// # Examples
///
/// ```
/// use dnsbl_check::CodeFilter;
///
/// let zen: CodeFilter = "127.0.0.[2..11]".parse().unwrap();
/// assert!(zen.matches("127.0.0.4".parse().unwrap()));
/// assert!(!zen.matches("127.255.255.254".parse().unwrap()));
///
/// let phish_bit: CodeFilter = "&0.0.0.8".parse().unwrap();
/// assert!(phish_bit.matches("127.0.0.10".parse().unwrap()));
///
/// let not_pbl: CodeFilter = "!127.0.0.[10;11]".parse().unwrap();
/// assert!(!not_pbl.matches("127.0.0.11".parse().unwrap()));
/// assert!(not_pbl.matches("127.0.0.2".parse().unwrap()));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CodeFilter {
    text: String,
    negated: bool,
    test: CodeTest,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum CodeTest {
    /// Each octet must be in its set of allowed values.
    Octets([OctetSet; 4]),
    /// `code & mask == network`.
    Masked { network: u32, mask: u32 },
    /// `code & bits != 0`.
    AnyBit(u32),
}

/// The allowed values of one octet, as a 256-bit set: cheap to test on the hot path.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct OctetSet([u64; 4]);

impl OctetSet {
    fn empty() -> Self {
        OctetSet([0; 4])
    }

    fn insert_range(&mut self, low: u8, high: u8) {
        for value in low..=high {
            self.0[usize::from(value >> 6)] |= 1 << (value & 63);
        }
    }

    fn contains(&self, value: u8) -> bool {
        self.0[usize::from(value >> 6)] & (1 << (value & 63)) != 0
    }
}

impl CodeFilter {
    /// Whether `code` counts.
    pub fn matches(&self, code: Ipv4Addr) -> bool {
        let hit = match &self.test {
            CodeTest::Octets(sets) => code
                .octets()
                .iter()
                .zip(sets)
                .all(|(octet, set)| set.contains(*octet)),
            CodeTest::Masked { network, mask } => u32::from(code) & mask == *network,
            CodeTest::AnyBit(bits) => u32::from(code) & bits != 0,
        };
        hit != self.negated
    }

    /// The filter as written (normalised: surrounding space removed).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for CodeFilter {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let error = |problem: &'static str| FilterError {
            input: trimmed.chars().take(200).collect(),
            problem,
        };
        let (negated, body) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, trimmed),
        };
        if body.is_empty() {
            return Err(error("empty filter"));
        }
        let test = if let Some(mask) = body.strip_prefix('&') {
            let mask: Ipv4Addr = mask
                .trim()
                .parse()
                .map_err(|_| error("bitmask is not an IPv4 address"))?;
            if mask.is_unspecified() {
                return Err(error("bitmask 0.0.0.0 matches nothing"));
            }
            CodeTest::AnyBit(u32::from(mask))
        } else if let Some((addr, len)) = body.split_once('/') {
            let addr: Ipv4Addr = addr
                .parse()
                .map_err(|_| error("CIDR address is not an IPv4 address"))?;
            let len: u8 = len
                .parse()
                .ok()
                .filter(|len| *len <= 32)
                .ok_or_else(|| error("CIDR prefix length must be 0 to 32"))?;
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            CodeTest::Masked {
                network: u32::from(addr) & mask,
                mask,
            }
        } else {
            CodeTest::Octets(parse_octet_pattern(body).map_err(error)?)
        };
        Ok(CodeFilter {
            text: trimmed.to_owned(),
            negated,
            test,
        })
    }
}

/// `127.0.[0..255].[2;3]` → four octet sets.
fn parse_octet_pattern(text: &str) -> Result<[OctetSet; 4], &'static str> {
    let mut sets = [OctetSet::empty(); 4];
    let mut count = 0;
    // Split on dots outside brackets: `[2..11]` holds dots of its own.
    let mut rest = text;
    while !rest.is_empty() {
        if count == 4 {
            return Err("more than four octets");
        }
        let (octet, tail) = if rest.starts_with('[') {
            let close = rest.find(']').ok_or("unclosed '['")?;
            (&rest[..=close], &rest[close + 1..])
        } else {
            match rest.find('.') {
                Some(dot) => (&rest[..dot], &rest[dot..]),
                None => (rest, ""),
            }
        };
        parse_octet(octet, &mut sets[count])?;
        count += 1;
        rest = match tail.strip_prefix('.') {
            Some(after) if !after.is_empty() => after,
            Some(_) => return Err("trailing dot"),
            None if tail.is_empty() => "",
            None => return Err("octets must be separated by dots"),
        };
    }
    if count != 4 {
        return Err("an address pattern needs four octets");
    }
    Ok(sets)
}

fn parse_octet(text: &str, set: &mut OctetSet) -> Result<(), &'static str> {
    let number = |s: &str| -> Result<u8, &'static str> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("octet is not a number from 0 to 255");
        }
        s.parse().map_err(|_| "octet is not a number from 0 to 255")
    };
    match text.strip_prefix('[') {
        None => {
            let value = number(text)?;
            set.insert_range(value, value);
        }
        Some(inner) => {
            let inner = inner.strip_suffix(']').ok_or("unclosed '['")?;
            if inner.trim().is_empty() {
                return Err("empty '[]'");
            }
            for item in inner.split(';') {
                match item.split_once("..") {
                    Some((low, high)) => {
                        let (low, high) = (number(low)?, number(high)?);
                        if low > high {
                            return Err("range runs backwards");
                        }
                        set.insert_range(low, high);
                    }
                    None => {
                        let value = number(item)?;
                        set.insert_range(value, value);
                    }
                }
            }
        }
    }
    Ok(())
}

impl fmt::Display for CodeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for CodeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeFilter({:?})", self.text)
    }
}

// As written: `Display` gives back the text parsed.
crate::zone::serde_as_text!(CodeFilter);

/// A code filter that cannot be parsed, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid code filter {input:?}: {problem}")]
pub struct FilterError {
    input: String,
    problem: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("127.0.0.2", "127.0.0.2", true),
            ("127.0.0.2", "127.0.0.3", false),
            ("127.0.0.[2..11]", "127.0.0.2", true),
            ("127.0.0.[2..11]", "127.0.0.11", true),
            ("127.0.0.[2..11]", "127.0.0.12", false),
            ("127.0.0.[2..11]", "127.0.1.2", false),
            ("127.0.[0..255].[2..3]", "127.0.15.3", true),
            ("127.0.[0..255].[2..3]", "127.0.15.1", false),
            ("127.0.0.[2;4;9..10]", "127.0.0.4", true),
            ("127.0.0.[2;4;9..10]", "127.0.0.5", false),
            ("127.0.0.[2;4;9..10]", "127.0.0.10", true),
            ("127.0.0.0/24", "127.0.0.200", true),
            ("127.0.0.0/24", "127.0.1.1", false),
            ("127.0.1.0/24", "127.0.1.255", true),
            ("0.0.0.0/0", "10.1.1.1", true),
            ("&0.0.0.8", "127.0.0.8", true),
            ("&0.0.0.8", "127.0.0.14", true),
            ("&0.0.0.8", "127.0.0.6", false),
            ("&0.0.0.6", "127.0.0.2", true),
            ("!127.0.0.3", "127.0.0.3", false),
            ("!127.0.0.3", "127.0.0.2", true),
            ("!&0.0.0.1", "127.0.0.2", true),
            (" 127.0.0.2 ", "127.0.0.2", true),
        ];
        for (filter, code, expected) in cases {
            let parsed: CodeFilter = filter.parse().unwrap();
            let code: Ipv4Addr = code.parse().unwrap();
            assert_eq!(parsed.matches(code), *expected, "{filter} vs {code}");
        }
    }

    #[test]
    fn rejects_bad_filters() {
        let cases: &[(&str, &str)] = &[
            ("", "empty filter"),
            ("!", "empty filter"),
            ("127.0.0", "an address pattern needs four octets"),
            ("127.0.0.2.1", "more than four octets"),
            ("127.0.0.256", "octet is not a number from 0 to 255"),
            ("127.0.0.[2..]", "octet is not a number from 0 to 255"),
            ("127.0.0.[11..2]", "range runs backwards"),
            ("127.0.0.[2", "unclosed '['"),
            ("127.0.0.[]", "empty '[]'"),
            ("127.0.0.", "trailing dot"),
            ("127.0.0.[2]3", "octets must be separated by dots"),
            ("127.0.0.0/33", "CIDR prefix length must be 0 to 32"),
            ("x/8", "CIDR address is not an IPv4 address"),
            ("&nope", "bitmask is not an IPv4 address"),
            ("&0.0.0.0", "bitmask 0.0.0.0 matches nothing"),
            ("127.0.0.-1", "octet is not a number from 0 to 255"),
        ];
        for (input, problem) in cases {
            let error = input.parse::<CodeFilter>().unwrap_err();
            assert_eq!(error.problem, *problem, "{input:?}");
        }
    }

    #[test]
    fn round_trips_through_serde() {
        let filter: CodeFilter = "127.0.[0..255].[2..3]".parse().unwrap();
        let json = serde_json::to_string(&filter).unwrap();
        assert_eq!(json, "\"127.0.[0..255].[2..3]\"");
        let back: CodeFilter = serde_json::from_str(&json).unwrap();
        assert_eq!(back, filter);
    }
}
