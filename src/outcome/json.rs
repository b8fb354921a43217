//! Reports as JSON lines, written by hand.
//!
//! A bulk scan writes one JSON line per target, and through `serde_json` that line cost about
//! as much as the DNS exchange behind it: every key and value went through the escaper, every
//! address through `fmt`. The writer here gives the very same bytes as the `Serialize` impls
//! through `serde_json` (the tests hold the two equal over every outcome and over strings that
//! need escaping): keys are written as they are, strings are escaped only when a byte asks for
//! it, and IPv4 addresses are written digit by digit. The rare parts (an error's kind, a
//! lookup page) still go through `serde_json`.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::{ListResult, Outcome, Report};
use crate::target::Target;

/// Writes `{"target":...,"listed":...,"score":...,"results":[...]`: a report's object without
/// its closing brace, so that a caller can add fields of its own.
pub(crate) fn write_report_fields(out: &mut impl Write, report: &Report) -> io::Result<()> {
    out.write_all(b"{\"target\":")?;
    write_target(out, &report.target)?;
    out.write_all(if report.listed {
        b",\"listed\":true,\"score\":"
    } else {
        b",\"listed\":false,\"score\":"
    })?;
    write_int(out, i64::from(report.score))?;
    out.write_all(b",\"results\":[")?;
    for (index, result) in report.results.iter().enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        write_list_result(out, result)?;
    }
    out.write_all(b"]")
}

/// One list's result, as [`ListResult`]'s `Serialize` impl writes it.
fn write_list_result(out: &mut impl Write, result: &ListResult) -> io::Result<()> {
    let (codes, categories, reasons, ttl): (&[Ipv4Addr], &[String], &[String], _) =
        match &result.outcome {
            Outcome::Listed(listing) | Outcome::NotCounted(listing) => (
                &listing.codes,
                &listing.categories,
                &listing.reasons,
                Some(listing.ttl),
            ),
            Outcome::ListError(error) => (&error.codes, &[], &[], None),
            Outcome::Invalid(invalid) => (&invalid.codes, &[], &[], None),
            _ => (&[], &[], &[], None),
        };
    write_head(out, result)?;
    // Status words are fixed ASCII words: nothing to escape.
    out.write_all(result.outcome.status().as_bytes())?;
    out.write_all(b"\",\"codes\":[")?;
    for (index, code) in codes.iter().enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"\"")?;
        write_ipv4(out, *code)?;
        out.write_all(b"\"")?;
    }
    if categories.is_empty() && reasons.is_empty() {
        // Most results: written as one piece.
        out.write_all(b"],\"categories\":[],\"reasons\":[]")?;
    } else {
        out.write_all(b"],\"categories\":")?;
        write_strings(out, categories)?;
        out.write_all(b",\"reasons\":")?;
        write_strings(out, reasons)?;
    }
    if let Some(ttl) = ttl {
        out.write_all(b",\"ttl\":")?;
        write_int(out, i64::from(ttl))?;
    }
    if let Outcome::Failed(error) = &result.outcome {
        out.write_all(b",\"error_kind\":")?;
        serde_json::to_writer(&mut *out, &error.kind()).map_err(io::Error::from)?;
    }
    if let Some(detail) = result.outcome.detail() {
        out.write_all(b",\"detail\":")?;
        write_str(out, &detail)?;
    }
    if let Some(url) = &result.lookup_url {
        out.write_all(b",\"lookup_url\":")?;
        write_str(out, url)?;
    }
    out.write_all(b"}")
}

/// The start of a list's result, `{"list":...,"zone":...,"weight":...,"status":"`: the same
/// for every target of a list, so kept once written, for the lists last seen on this thread.
///
/// A list is known by its shared name and zone (see [`ListResult::list`]), which cannot
/// change while they are held here, and by its weight. Escaping and writing the name and the
/// zone cost more per target than writing the kept bytes.
fn write_head(out: &mut impl Write, result: &ListResult) -> io::Result<()> {
    /// The most lists kept; the results of any others are written in full each time.
    const KEPT: usize = 32;
    struct Head {
        list: Arc<str>,
        zone: Arc<str>,
        weight: i32,
        bytes: Vec<u8>,
    }
    thread_local! {
        static HEADS: RefCell<Vec<Head>> = const { RefCell::new(Vec::new()) };
    }
    let zone = result.zone.shared_public_name();
    HEADS.with(|heads| {
        // Busy only if `out` writes a report itself while this one is written.
        let Ok(mut heads) = heads.try_borrow_mut() else {
            return write_head_in_full(out, result);
        };
        let known = heads.iter().position(|head| {
            Arc::ptr_eq(&head.list, &result.list)
                && Arc::ptr_eq(&head.zone, zone)
                && head.weight == result.weight
        });
        let index = match known {
            Some(index) => index,
            None if heads.len() < KEPT => {
                let mut bytes = Vec::new();
                write_head_in_full(&mut bytes, result)?;
                heads.push(Head {
                    list: Arc::clone(&result.list),
                    zone: Arc::clone(zone),
                    weight: result.weight,
                    bytes,
                });
                heads.len() - 1
            }
            None => {
                drop(heads);
                return write_head_in_full(out, result);
            }
        };
        out.write_all(&heads[index].bytes)
    })
}

/// [`write_head`]'s bytes, written out.
fn write_head_in_full(out: &mut impl Write, result: &ListResult) -> io::Result<()> {
    out.write_all(b"{\"list\":")?;
    write_str(out, &result.list)?;
    out.write_all(b",\"zone\":")?;
    write_str(out, result.zone.public_name())?;
    out.write_all(b",\"weight\":")?;
    write_int(out, i64::from(result.weight))?;
    out.write_all(b",\"status\":\"")
}

fn write_target(out: &mut impl Write, target: &Target) -> io::Result<()> {
    match target {
        Target::Ip(IpAddr::V4(addr)) => {
            out.write_all(b"\"")?;
            write_ipv4(out, *addr)?;
            out.write_all(b"\"")
        }
        // Rarer, and longer to write by hand: the standard form, then escaped like any string.
        other => write_str(out, &other.to_string()),
    }
}

fn write_strings(out: &mut impl Write, strings: &[String]) -> io::Result<()> {
    out.write_all(b"[")?;
    for (index, string) in strings.iter().enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        write_str(out, string)?;
    }
    out.write_all(b"]")
}

/// An IPv4 address in dotted decimal, as its `Display` writes it.
fn write_ipv4(out: &mut impl Write, addr: Ipv4Addr) -> io::Result<()> {
    let mut text = [0u8; 15];
    let mut len = 0;
    for (index, octet) in addr.octets().into_iter().enumerate() {
        if index > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    out.write_all(&text[..len])
}

/// A whole number in decimal, as serde_json writes it.
fn write_int(out: &mut impl Write, value: i64) -> io::Result<()> {
    // A weight or a score, nearly always.
    if let Ok(digit @ 0..=9) = u8::try_from(value) {
        return out.write_all(&[b'0' + digit]);
    }
    let mut text = [0u8; 20];
    let mut at = text.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        text[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        text[at] = b'-';
    }
    out.write_all(&text[at..])
}

/// A JSON string, escaped as serde_json escapes it: `"` and `\`, the short forms `\b \t \n \f
/// \r`, and `\u00XX` (lowercase hex) for the other control characters; everything else,
/// non-ASCII included, as it is.
pub(crate) fn write_str(out: &mut impl Write, text: &str) -> io::Result<()> {
    let bytes = text.as_bytes();
    // Names and zones need no escape: written as they are, between quotes (written on their
    // own, each quote is a byte stored, where copying the string into a quoted buffer first
    // was a copy more).
    if bytes.iter().all(|&byte| !needs_escape(byte)) {
        out.write_all(b"\"")?;
        out.write_all(bytes)?;
        return out.write_all(b"\"");
    }
    out.write_all(b"\"")?;
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0C => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1F => {
                out.write_all(&bytes[start..at])?;
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.write_all(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xF)],
                ])?;
                start = at + 1;
                continue;
            }
            _ => continue,
        };
        out.write_all(&bytes[start..at])?;
        out.write_all(escape)?;
        start = at + 1;
    }
    out.write_all(&bytes[start..])?;
    out.write_all(b"\"")
}

/// Whether a byte is escaped in a JSON string: `"`, `\\` and the control characters.
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{InvalidAnswer, Listing, OperatorError, SkipReason};
    use crate::resolver::{LookupError, LookupErrorKind};
    use crate::zone::Zone;

    fn by_hand(report: &Report) -> String {
        let mut line = Vec::new();
        report.write_json(&mut line).unwrap();
        assert_eq!(line.pop(), Some(b'\n'));
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn strings_escape_as_serde_json_escapes_them() {
        let mut nasty: String = (0u8..0x80).map(char::from).collect();
        nasty.push_str("é ü 漢字 \u{2028} \u{7f} \"quoted\" back\\slash");
        // Short ones each with one character of every kind, and longer ones with and without
        // a character to escape at their end.
        let short = (0u8..0x80).map(|byte| format!("ab{}cd", char::from(byte)));
        let around = (60..66).flat_map(|len| ["x".repeat(len), format!("{}\"", "x".repeat(len))]);
        let mut texts: Vec<String> = short.chain(around).collect();
        texts.extend(
            [
                "",
                "plain",
                "a\"b",
                "\\",
                "\u{1}\u{1f}",
                "é",
                nasty.as_str(),
            ]
            .map(String::from),
        );
        for text in &texts {
            let text = text.as_str();
            let mut line = Vec::new();
            write_str(&mut line, text).unwrap();
            assert_eq!(
                String::from_utf8(line).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
    }

    #[test]
    fn numbers_and_addresses_read_as_serde_json_writes_them() {
        for value in [
            0,
            1,
            9,
            10,
            99,
            100,
            -1,
            -10,
            i64::from(i32::MIN),
            i64::from(u32::MAX),
        ] {
            let mut line = Vec::new();
            write_int(&mut line, value).unwrap();
            assert_eq!(String::from_utf8(line).unwrap(), value.to_string());
        }
        for addr in [
            "0.0.0.0",
            "127.0.0.2",
            "10.20.30.40",
            "255.255.255.255",
            "1.22.199.200",
        ] {
            let addr: Ipv4Addr = addr.parse().unwrap();
            let mut line = Vec::new();
            write_ipv4(&mut line, addr).unwrap();
            assert_eq!(String::from_utf8(line).unwrap(), addr.to_string());
        }
    }

    fn result(list: &str, outcome: Outcome) -> ListResult {
        ListResult {
            list: list.into(),
            zone: Zone::new("bl.example").unwrap(),
            weight: -3,
            outcome,
            lookup_url: None,
        }
    }

    #[test]
    fn every_outcome_reads_as_serde_json_writes_it() {
        let listing = Listing {
            codes: vec!["127.0.0.2".parse().unwrap(), "127.0.0.10".parse().unwrap()],
            categories: vec!["SBL".to_owned(), "odd \"one\"\n".to_owned()],
            reasons: vec!["see https://example.org/?q=1&r=\\2".to_owned()],
            ttl: 300,
        };
        let mut listed = result("zen \"quoted\"", Outcome::Listed(listing.clone()));
        listed.lookup_url = Some("https://example.org/lookup?ip=1.2.3.4".to_owned());
        let outcomes = vec![
            listed,
            result("a", Outcome::NotListed),
            result("b", Outcome::NotCounted(listing)),
            result(
                "c",
                Outcome::Failed(LookupError::with_detail(
                    LookupErrorKind::Timeout,
                    "no answer\tat all",
                )),
            ),
            result(
                "d",
                Outcome::Failed(LookupError::new(LookupErrorKind::ServFail)),
            ),
            result(
                "e",
                Outcome::ListError(OperatorError {
                    codes: vec!["127.255.255.254".parse().unwrap()],
                    meaning: "query via public resolver".to_owned(),
                }),
            ),
            result(
                "f",
                Outcome::Invalid(InvalidAnswer {
                    codes: vec!["10.0.0.1".parse().unwrap()],
                }),
            ),
            result("g", Outcome::NoData),
            result("h", Outcome::Skipped(SkipReason::NotApplicable("why"))),
        ];
        let targets: Vec<Target> = ["192.0.2.1", "2001:db8::1", "example.org", "0.0.0.0"]
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        for (index, target) in targets.into_iter().enumerate() {
            let report = Report {
                target,
                listed: index % 2 == 0,
                score: 7 - 10 * index as i32,
                results: outcomes.clone(),
            };
            assert_eq!(by_hand(&report), serde_json::to_string(&report).unwrap());
            let empty = Report {
                results: Vec::new(),
                ..report
            };
            assert_eq!(by_hand(&empty), serde_json::to_string(&empty).unwrap());
        }
    }

    /// The kept starts of list results: more lists than are kept, lists that share a name's
    /// text or a zone but not the other, a weight changed on a result, and a name changed on
    /// one; each written many times, in turn, as serde_json writes them.
    #[test]
    fn kept_list_starts_are_those_of_the_very_list() {
        let zone = Zone::new("bl.example").unwrap();
        let other_zone = Zone::new("other.example").unwrap();
        let mut results: Vec<ListResult> = (0..40)
            .map(|n| ListResult {
                list: format!("list \"{n}\"").into(),
                zone: if n % 2 == 0 {
                    zone.clone()
                } else {
                    other_zone.clone()
                },
                weight: n,
                outcome: Outcome::NotListed,
                lookup_url: None,
            })
            .collect();
        // The same text as the first list's name, in another allocation; and the first
        // list's own name under another zone.
        results.push(ListResult {
            list: "list \"0\"".into(),
            ..results[1].clone()
        });
        results.push(ListResult {
            zone: other_zone.clone(),
            ..results[0].clone()
        });
        for round in 0..3 {
            for (index, result) in results.iter_mut().enumerate() {
                if round == 1 && index % 3 == 0 {
                    result.weight += 100;
                }
                if round == 2 && index % 5 == 0 {
                    result.list = format!("renamed {index}").into();
                }
            }
            for result in &results {
                let report = Report {
                    target: "192.0.2.1".parse().unwrap(),
                    listed: false,
                    score: 0,
                    results: vec![result.clone()],
                };
                assert_eq!(by_hand(&report), serde_json::to_string(&report).unwrap());
            }
        }
    }
}
