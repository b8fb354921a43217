//! The pieces of rbldnsd's data-file syntax: addresses, prefixes and ranges, times, domain
//! names and `:A:TXT` values. Each parser takes the rest of a line as bytes and gives back
//! what it read and what follows, without allocating.
//!
//! The rules are rbldnsd's own (`ip4parse.c`, `ip6addr.c`, `rbldnsd_util.c` of rbldnsd
//! 0.998/1.0), so that the same file gives the same answers: a mirror that read a line
//! differently from rbldnsd would silently answer differently.

/// A space or a tab: the only blanks rbldnsd knows.
pub(super) fn is_space(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// `#` or `;`: the comment characters.
pub(super) fn is_comment(byte: u8) -> bool {
    byte == b'#' || byte == b';'
}

/// `text` without its leading blanks.
pub(super) fn skip_space(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(text.len());
    &text[start..]
}

/// `text` without its trailing blanks.
pub(super) fn trim_end(text: &[u8]) -> &[u8] {
    let end = text
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(0, |i| i + 1);
    &text[..end]
}

/// The mask of a prefix of `bits` bits (0..=32).
pub(super) fn ip4_mask(bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    }
}

/// A run of decimal digits worth at most `max`, and the rest; `None` without a digit or
/// above `max`.
fn decimal(text: &[u8], max: u32) -> Option<(u32, &[u8])> {
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut value = 0u32;
    for &digit in &text[..digits] {
        value = value
            .checked_mul(10)?
            .checked_add(u32::from(digit - b'0'))
            .filter(|&value| value <= max)?;
    }
    Some((value, &text[digits..]))
}

/// One decimal octet (at most 255), and the rest.
fn octet(text: &[u8]) -> Option<(u32, &[u8])> {
    decimal(text, 255)
}

/// An IPv4 prefix of 1 to 4 octets (`10`, `10.20`, `10.20.30`, `10.20.30.40`), left-aligned,
/// with its length in bits (8, 16, 24 or 32): rbldnsd's `ip4prefix`.
pub(super) fn ip4_prefix(text: &[u8]) -> Option<(u32, u32, &[u8])> {
    let mut address = 0u32;
    let mut rest = text;
    for shift in [24u32, 16, 8, 0] {
        let (value, after) = octet(rest)?;
        address |= value << shift;
        rest = after;
        if shift == 0 || rest.first() != Some(&b'.') {
            return Some((address, 32 - shift, rest));
        }
        rest = &rest[1..];
    }
    unreachable!("the loop returns at the last octet")
}

/// `/bits` after an address: at most `max` bits.
fn mask_bits(text: &[u8], max: u32) -> Option<(u32, &[u8])> {
    decimal(text, max)
}

/// An IPv4 CIDR block (`10.20/16`, `10.20.30`, `10.0.0.0/8`; a bare `10` is refused):
/// rbldnsd's `ip4cidr`. The address may have host bits set: the caller decides.
pub(super) fn ip4_cidr(text: &[u8]) -> Option<(u32, u32, &[u8])> {
    let (address, bits, rest) = ip4_prefix(text)?;
    cidr(address, bits, rest, 32, 8)
}

/// A prefix of `bits` bits (of `width`) and its `/bits`, if any, from `rest`; without
/// `/bits`, a prefix of a single group (`group` bits) is refused.
fn cidr<A>(address: A, bits: u32, rest: &[u8], width: u32, group: u32) -> Option<(A, u32, &[u8])> {
    if let Some(after) = rest.strip_prefix(b"/") {
        let (bits, rest) = mask_bits(after, width)?;
        Some((address, bits, rest))
    } else if bits == group {
        None
    } else {
        Some((address, bits, rest))
    }
}

/// An IPv4 range: a CIDR block as [`ip4_cidr`] reads it, or `first-last` with prefixes of
/// the same length (`10.0.0.1-10.0.0.9`, `10.20-10.31`), or a last octet alone
/// (`127.0.0.1-255`, `127.16-31`): rbldnsd's `ip4range`. Gives the first and last address
/// and the prefix length (32 for a `first-last` range).
pub(super) fn ip4_range(text: &[u8]) -> Option<(u32, u32, u32, &[u8])> {
    let (first, bits, rest) = ip4_prefix(text)?;
    if let Some(after) = rest.strip_prefix(b"-") {
        let (mut last, last_bits, rest) = ip4_prefix(after)?;
        if last_bits == 8 {
            // "127.0.0.1-2" is 127.0.0.1-127.0.0.2.
            last = (last >> (bits - 8)) | (first & ip4_mask(bits - 8));
        } else if last_bits != bits {
            return None;
        }
        if bits != 32 {
            last |= !ip4_mask(bits);
        }
        if first > last {
            return None;
        }
        Some((first, last, 32, rest))
    } else {
        let (bits, rest) = if let Some(after) = rest.strip_prefix(b"/") {
            mask_bits(after, 32)?
        } else if bits == 8 {
            return None;
        } else {
            (bits, rest)
        };
        Some((first, first | !ip4_mask(bits), bits, rest))
    }
}

/// An IPv6 prefix in 16-bit groups, `::` allowed: rbldnsd's `ip6prefix`. Gives the address
/// and the number of bits written (16, 32, ... or 128 with `::`).
pub(super) fn ip6_prefix(text: &[u8]) -> (Option<(u128, u32)>, &[u8]) {
    let mut bytes = [0u8; 16];
    let mut filled = 0usize;
    let mut zero_start: Option<usize> = None;
    let mut result: Option<u32> = None;
    let mut rest = text;
    if rest.starts_with(b"::") {
        zero_start = Some(0);
        rest = &rest[2..];
    }
    loop {
        let mut value = 0u32;
        let mut used = 0usize;
        while let Some(&byte) = rest.get(used) {
            let Some(nibble) = (byte as char).to_digit(16) else {
                break;
            };
            value = (value << 4) + nibble;
            if value > 0xffff {
                break;
            }
            used += 1;
        }
        if used == 0 || value > 0xffff {
            rest = &rest[used..];
            break;
        }
        rest = &rest[used..];
        bytes[filled] = (value >> 8) as u8;
        bytes[filled + 1] = value as u8;
        filled += 2;
        if rest.first() != Some(&b':') || filled + 2 > 16 {
            result = Some(filled as u32 * 8);
            break;
        }
        rest = &rest[1..];
        if zero_start.is_none() && rest.first() == Some(&b':') {
            zero_start = Some(filled);
            rest = &rest[1..];
        }
    }
    if let Some(start) = zero_start {
        let zeros = 16 - filled;
        if zeros == 0 {
            result = None;
        } else {
            bytes.copy_within(start..filled, start + zeros);
            bytes[start..start + zeros].fill(0);
            result = Some(128);
        }
    }
    (result.map(|bits| (u128::from_be_bytes(bytes), bits)), rest)
}

/// An IPv6 CIDR block: a prefix as [`ip6_prefix`] reads it, then `/bits`; a single group
/// without `/bits` is refused: rbldnsd's `ip6cidr`.
pub(super) fn ip6_cidr(text: &[u8]) -> Option<(u128, u32, &[u8])> {
    let (parsed, rest) = ip6_prefix(text);
    let (address, bits) = parsed?;
    cidr(address, bits, rest, 128, 16)
}

/// The mask of an IPv6 prefix of `bits` bits (0..=128).
pub(super) fn ip6_mask(bits: u32) -> u128 {
    if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    }
}

/// An IPv4 address as it stands in TXT records: dotted decimal.
pub(super) fn ip4_text(address: u32, out: &mut Vec<u8>) {
    use std::io::Write;
    let _ = write!(out, "{}", std::net::Ipv4Addr::from(address));
}

/// An IPv6 address as rbldnsd writes it in TXT records (`ip6atos`): lowercase groups without
/// leading zeros, the first longest run of two or more zero groups as `::`, and no dotted
/// IPv4 tail (`::ffff:7f00:2`, where Rust would write `::ffff:127.0.0.2`).
pub(super) fn ip6_text(address: u128, out: &mut Vec<u8>) {
    use std::io::Write;
    let groups: [u16; 8] = std::array::from_fn(|i| (address >> (112 - 16 * i)) as u16);
    let (mut zero_start, mut zeros) = (0usize, 0usize);
    let mut i = 0;
    while i + zeros < 8 {
        let run = groups[i..].iter().take_while(|&&g| g == 0).count();
        if run > 1 && run > zeros {
            zeros = run;
            zero_start = i;
        }
        i += 1;
    }
    let mut first = true;
    let write_group = |out: &mut Vec<u8>, group: u16, first: &mut bool| {
        if !*first {
            out.push(b':');
        }
        *first = false;
        let _ = write!(out, "{group:x}");
    };
    let head = if zeros > 0 { zero_start } else { 8 };
    for &group in &groups[..head] {
        write_group(out, group, &mut first);
    }
    if zeros > 0 {
        out.extend_from_slice(b"::");
        let mut tail_first = true;
        for &group in &groups[zero_start + zeros..] {
            write_group(out, group, &mut tail_first);
        }
    }
}

/// A number of seconds, with an optional unit (`s`, `m`, `h`, `d`, `w`): rbldnsd's
/// `parse_time`. What follows must be nothing, blanks (skipped) or a colon.
pub(super) fn time(text: &[u8]) -> Option<(u32, &[u8])> {
    let (mut value, mut rest) = decimal(text, u32::MAX)?;
    let multiplier: u32 = match rest.first().map(u8::to_ascii_lowercase) {
        Some(b'w') => 7 * 24 * 3600,
        Some(b'd') => 24 * 3600,
        Some(b'h') => 3600,
        Some(b'm') => 60,
        Some(b's') => 1,
        _ => 0,
    };
    if multiplier != 0 {
        value = value.checked_mul(multiplier)?;
        rest = &rest[1..];
    }
    match rest.first() {
        None | Some(b':') => Some((value, rest)),
        Some(&byte) if is_space(byte) => Some((value, skip_space(rest))),
        Some(_) => None,
    }
}

/// An unsigned decimal number followed by nothing or blanks: rbldnsd's `parse_uint32`.
pub(super) fn number(text: &[u8]) -> Option<(u32, &[u8])> {
    let (value, rest) = decimal(text, u32::MAX)?;
    match rest.first() {
        None => Some((value, rest)),
        Some(&byte) if is_space(byte) => Some((value, skip_space(rest))),
        Some(_) => None,
    }
}

/// One blank-separated word, and the rest with its leading blanks skipped.
pub(super) fn word(text: &[u8]) -> (&[u8], &[u8]) {
    let end = text.iter().position(|&b| is_space(b)).unwrap_or(text.len());
    (&text[..end], skip_space(&text[end..]))
}

/// The keyword `keyword` (lowercase) at the start of `line` in any case, followed by a blank:
/// what follows, its blanks skipped (rbldnsd's `firstword_lc`).
pub(super) fn keyword<'a>(line: &'a [u8], keyword: &str) -> Option<&'a [u8]> {
    let keyword = keyword.as_bytes();
    if line.len() <= keyword.len() || !line[..keyword.len()].eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = &line[keyword.len()..];
    is_space(rest[0]).then(|| skip_space(rest))
}

/// Why a domain name was not accepted.
pub(super) enum NameError {
    /// Not a domain name at all: rbldnsd warns and skips the line.
    Invalid,
    /// A name rbldnsd would accept but writes back with escapes this mirror does not
    /// reproduce (backslashes, quotes, bytes outside letters, digits, `-` and `_`).
    Unsupported,
}

/// A domain name (one word; a trailing dot allowed), lowercased into `out` without the
/// trailing dot. The root alone is [`NameError::Invalid`], as in rbldnsd's `dnset`.
pub(super) fn domain_name<'a>(text: &'a [u8], out: &mut Vec<u8>) -> Result<&'a [u8], NameError> {
    let (name, rest) = word(text);
    let name = name.strip_suffix(b".").unwrap_or(name);
    out.clear();
    if name.is_empty() || name.len() > 253 {
        return Err(NameError::Invalid);
    }
    for label in name.split(|&b| b == b'.') {
        if label.is_empty() || label.len() > 63 {
            return Err(NameError::Invalid);
        }
        if !label
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(NameError::Unsupported);
        }
    }
    out.extend(name.iter().map(u8::to_ascii_lowercase));
    Ok(rest)
}

/// What an `:A:TXT` value says. The TXT template is the slice of the line it came from, or
/// the scope's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueText<'a> {
    /// A TXT template given here (possibly empty: no TXT record).
    Given(&'a [u8]),
    /// The default of the scope.
    Default,
}

/// The longest TXT template rbldnsd keeps; longer ones are cut.
const MAX_TEMPLATE: usize = 255;

/// An `:A:TXT` value (rbldnsd's `parse_a_txt`): `:A:TXT`, `:A:` (no TXT), `:A` (the default
/// TXT) or `TXT` (the default A). `A` may be a full address or the last octet of 127.0.0.x.
/// `None` for an invalid A (rbldnsd warns and skips the line).
pub(super) fn value(text: &[u8]) -> Option<(Option<u32>, ValueText<'_>)> {
    let Some(after) = text.strip_prefix(b":") else {
        return Some((None, ValueText::Given(cut(text))));
    };
    let (prefix, bits, rest) = ip4_prefix(after)?;
    // rbldnsd's ip4addr: "2" is 127.0.0.2 here, "1.2" is 1.0.0.2, "1.2.3" is 1.2.0.3.
    let address = match bits {
        8 => (prefix >> 24) | 0x7f00_0000,
        16 => (prefix & 0xff00_0000) | ((prefix >> 16) & 255),
        24 => (prefix & 0xffff_0000) | ((prefix >> 8) & 255),
        _ => prefix,
    };
    if address == 0 || (bits == 8 && prefix >> 24 == 0) {
        return None;
    }
    let rest = skip_space(rest);
    match rest.first() {
        Some(b':') => Some((Some(address), ValueText::Given(cut(skip_space(&rest[1..]))))),
        Some(_) => None,
        None => Some((Some(address), ValueText::Default)),
    }
}

fn cut(text: &[u8]) -> &[u8] {
    &text[..text.len().min(MAX_TEMPLATE)]
}

/// The substitution variables of a dataset: `$0`..`$9`, and the base template `$=`.
#[derive(Debug, Clone, Default)]
pub(super) struct Substitutions {
    pub(super) vars: [Option<Box<[u8]>>; 10],
    pub(super) base: Option<Box<[u8]>>,
}

/// The most a TXT record holds after substitution, as rbldnsd cuts it.
const MAX_TXT: usize = 254;

/// Expands a TXT template as rbldnsd's `txtsubst` does: `$` is `subject` (the address asked
/// about, or the listed domain), `$$` a dollar sign, `$0`..`$9` the dataset's variables (left
/// as written if undefined), and with a base template `$=`, the template is the entry's text
/// inside the base (an entry's text starting with `=` opts out). The result is cut at 254
/// bytes; an empty result means no TXT record.
pub(super) fn expand(template: &[u8], subject: &[u8], subst: &Substitutions, out: &mut Vec<u8>) {
    out.clear();
    let (mut text, entry): (&[u8], &[u8]) = if let Some(own) = template.strip_prefix(b"=") {
        (own, own)
    } else if let Some(base) = subst.base.as_deref().filter(|base| !base.is_empty()) {
        let entry = if template.is_empty() {
            subject
        } else {
            template
        };
        (base, entry)
    } else {
        (template, template)
    };
    let push = |out: &mut Vec<u8>, piece: &[u8]| {
        let room = MAX_TXT.saturating_sub(out.len());
        out.extend_from_slice(&piece[..piece.len().min(room)]);
    };
    loop {
        if out.len() >= MAX_TXT {
            break;
        }
        let dollar = text.iter().position(|&b| b == b'$');
        let Some(at) = dollar else {
            push(out, text);
            break;
        };
        push(out, &text[..at]);
        let after = &text[at + 1..];
        match after.first() {
            Some(b'$') => {
                push(out, b"$");
                text = &after[1..];
            }
            Some(&digit @ b'0'..=b'9') => {
                match &subst.vars[usize::from(digit - b'0')] {
                    Some(var) => push(out, var),
                    None => push(out, &text[at..at + 2]),
                }
                text = &after[1..];
            }
            Some(b'=') => {
                push(out, entry);
                text = &after[1..];
            }
            _ => {
                push(out, subject);
                text = after;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
        ip4_range(text.as_bytes()).map(|(a, b, _, _)| (a.into(), b.into()))
    }

    #[test]
    fn ranges_are_read_as_rbldnsd_reads_them() {
        let r = |a: &str, b: &str| Some((a.parse().unwrap(), b.parse().unwrap()));
        assert_eq!(range("127.0.0.0/24"), r("127.0.0.0", "127.0.0.255"));
        assert_eq!(range("127.0.0"), r("127.0.0.0", "127.0.0.255"));
        assert_eq!(range("127/24"), r("127.0.0.0", "127.0.0.255"));
        assert_eq!(range("127.0.0.1-255"), r("127.0.0.1", "127.0.0.255"));
        assert_eq!(range("127.16-31"), r("127.16.0.0", "127.31.255.255"));
        assert_eq!(
            range("127.16.0-127.31.255"),
            r("127.16.0.0", "127.31.255.255")
        );
        assert_eq!(range("127.16/12"), r("127.16.0.0", "127.31.255.255"));
        assert_eq!(range("10.20"), r("10.20.0.0", "10.20.255.255"));
        // A bare number, mixed prefix lengths and backward ranges are not ranges.
        assert_eq!(range("127"), None);
        assert_eq!(range("1.2-1.2.3.4"), None);
        assert_eq!(range("10.0.0.9-10.0.0.1"), None);
        assert_eq!(range("256.0.0.0/8"), None);
        assert_eq!(range("10.0.0.0/33"), None);
    }

    #[test]
    fn values_follow_the_manual() {
        fn v(text: &str) -> Option<(Option<u32>, ValueText<'_>)> {
            value(text.as_bytes())
        }
        assert_eq!(
            v(":127.0.0.3:Listed $"),
            Some((Some(0x7f00_0003), ValueText::Given(b"Listed $")))
        );
        assert_eq!(v(":5"), Some((Some(0x7f00_0005), ValueText::Default)));
        assert_eq!(v(":6:"), Some((Some(0x7f00_0006), ValueText::Given(b""))));
        assert_eq!(v("just text"), Some((None, ValueText::Given(b"just text"))));
        assert_eq!(v(":0:zero"), None);
        assert_eq!(v(":127.0.0.2x"), None);
    }

    #[test]
    fn substitution_follows_the_manual() {
        let mut subst = Substitutions::default();
        subst.vars[1] = Some(b"See http://www.example.com/bl".as_slice().into());
        subst.vars[2] = Some(b"for details".as_slice().into());
        let mut out = Vec::new();
        let mut run = |template: &str, subject: &str, subst: &Substitutions| {
            expand(template.as_bytes(), subject.as_bytes(), subst, &mut out);
            String::from_utf8(out.clone()).unwrap()
        };
        let without_base = [
            (
                "$1/spammer/$ $2",
                "127.0.0.2",
                "See http://www.example.com/bl/spammer/127.0.0.2 for details",
            ),
            (
                "This spammer wants some $$$$.  $1/$",
                "127.0.0.4",
                "This spammer wants some $$.  See http://www.example.com/bl/127.0.0.4",
            ),
            ("undefined $7 kept", "x", "undefined $7 kept"),
        ];
        for (template, subject, expected) in without_base {
            assert_eq!(run(template, subject, &subst), expected, "{template}");
        }
        subst.base = Some(
            b"See http://www.example.com/bl?$= ($) for details"
                .as_slice()
                .into(),
        );
        let with_base = [
            (
                "r123",
                "127.0.0.2",
                "See http://www.example.com/bl?r123 (127.0.0.2) for details",
            ),
            (
                "",
                "127.0.0.3",
                "See http://www.example.com/bl?127.0.0.3 (127.0.0.3) for details",
            ),
            (
                "=See other blocklists for details about $",
                "127.0.0.4",
                "See other blocklists for details about 127.0.0.4",
            ),
        ];
        for (template, subject, expected) in with_base {
            assert_eq!(run(template, subject, &subst), expected, "{template}");
        }
        assert_eq!(
            run(&"x".repeat(300), "", &Substitutions::default()).len(),
            254
        );
    }

    #[test]
    fn ipv6_is_read_and_written_as_rbldnsd_does() {
        let cidr = |text: &str| ip6_cidr(text.as_bytes()).map(|(a, b, _)| (a, b));
        assert_eq!(
            cidr("2001:21ab:c000/36"),
            Some((0x2001_21ab_c000u128 << 80, 36))
        );
        assert_eq!(
            cidr("2001:21ab:def7:4242"),
            Some((0x2001_21ab_def7_4242u128 << 64, 64))
        );
        assert_eq!(cidr("::1"), Some((1, 128)));
        assert_eq!(
            cidr("2605:6001:42::/52"),
            Some((0x2605_6001_0042u128 << 80, 52))
        );
        assert_eq!(cidr("2001"), None);
        assert_eq!(cidr("12345::"), None);
        assert_eq!(cidr("1:2:3:4:5:6:7:8:9").map(|c| c.1), Some(128));
        let text = |address: &str| {
            let mut out = Vec::new();
            ip6_text(
                address.parse::<std::net::Ipv6Addr>().unwrap().to_bits(),
                &mut out,
            );
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text("::ffff:127.0.0.2"), "::ffff:7f00:2");
        assert_eq!(text("2001:db8::1"), "2001:db8::1");
        assert_eq!(text("::"), "::");
        assert_eq!(text("1::"), "1::");
        assert_eq!(text("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
        assert_eq!(text("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
        assert_eq!(text("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
    }

    #[test]
    fn times_take_units() {
        assert_eq!(time(b"35m").map(|t| t.0), Some(2100));
        assert_eq!(time(b"1w").map(|t| t.0), Some(604_800));
        assert_eq!(time(b"300 rest").map(|t| t.1), Some(b"rest".as_slice()));
        assert_eq!(time(b"3x"), None);
        assert_eq!(time(b"99999999999"), None);
    }
}
