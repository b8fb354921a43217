//! Properties of the parsers and name building, over generated input: query names round-trip,
//! every IPv4-mapped spelling gives the IPv4 name, generated Postfix specs mean what they say,
//! and no text at all makes a parser panic or fail without naming the input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use dnsbl_check::target::DomainName;
use dnsbl_check::{CodeFilter, Config, DnsList, ListKind, NameServer, Target, TargetSpec, Zone};
use proptest::prelude::*;

const ZONE: &str = "bl.example";

fn zone() -> Zone {
    Zone::new(ZONE).unwrap()
}

fn query_name(target: &Target) -> String {
    zone().query_name(target).unwrap().as_str().to_owned()
}

fn ipv4_name(addr: Ipv4Addr) -> String {
    let [a, b, c, d] = addr.octets();
    format!("{d}.{c}.{b}.{a}.{ZONE}.")
}

/// Reads a nibble name back into the address it was built from.
fn parse_nibble_name(name: &str) -> Ipv6Addr {
    let nibbles = name
        .strip_suffix(&format!(".{ZONE}."))
        .unwrap_or_else(|| panic!("not under the zone: {name}"));
    let nibbles: Vec<&str> = nibbles.split('.').collect();
    assert_eq!(nibbles.len(), 32, "{name}");
    let mut value: u128 = 0;
    for nibble in nibbles.iter().rev() {
        assert_eq!(nibble.len(), 1, "{name}");
        let digit = u128::from_str_radix(nibble, 16).unwrap();
        assert_eq!(
            *nibble,
            nibble.to_ascii_lowercase(),
            "lowercase nibbles: {name}"
        );
        value = value << 4 | digit;
    }
    Ipv6Addr::from(value)
}

/// Writes `text` with each ASCII letter's case chosen by a bit of `mask`.
fn mixed_case(text: &str, mask: u64) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// IPv4: the octets reversed, under the zone, absolute.
    #[test]
    fn ipv4_names_reverse_the_octets(addr in any::<Ipv4Addr>()) {
        let target = Target::from(addr);
        prop_assert_eq!(query_name(&target), ipv4_name(addr));
        prop_assert_eq!(target.to_string().parse::<Target>().unwrap(), target);
    }

    /// An address with invisible characters (BOM, zero-width space, word joiner, soft hyphen)
    /// slipped in anywhere, or with fullwidth digits and dots, is that address: never a domain
    /// that prints the same (which every IP list would skip).
    #[test]
    fn hidden_or_fullwidth_characters_never_make_an_address_a_domain(
        addr in any::<Ipv4Addr>(),
        hidden in prop::sample::select(vec!['\u{FEFF}', '\u{200B}', '\u{2060}', '\u{AD}']),
        at in any::<prop::sample::Index>(),
        fullwidth in any::<bool>(),
    ) {
        let text = addr.to_string();
        let mut chars: Vec<char> = text
            .chars()
            .map(|c| match (fullwidth, c) {
                (true, '0'..='9') => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
                (true, '.') => '\u{FF0E}',
                _ => c,
            })
            .collect();
        chars.insert(at.index(chars.len() + 1), hidden);
        let text: String = chars.into_iter().collect();
        prop_assert_eq!(text.parse::<Target>(), Ok(Target::from(addr)), "{:?}", text);
    }

    /// IPv6 (not IPv4-mapped): all 32 nibbles, and they read back into the same address.
    #[test]
    fn ipv6_names_round_trip(bits in any::<u128>()) {
        let addr = Ipv6Addr::from(bits);
        prop_assume!(addr.to_ipv4_mapped().is_none());
        for target in [
            Target::from(addr),
            Target::ip(IpAddr::V6(addr)),
            addr.to_string().parse().unwrap(),
            format!("  {}  ", addr.to_string().to_uppercase()).parse().unwrap(),
        ] {
            let name = query_name(&target);
            prop_assert_eq!(name.len(), 64 + ZONE.len() + 1);
            prop_assert!(!name.contains(".."));
            prop_assert_eq!(parse_nibble_name(&name), addr);
        }
    }

    /// Every spelling of an IPv4-mapped address is checked as the IPv4 address it carries.
    #[test]
    fn every_ipv4_mapped_spelling_gives_the_ipv4_name(
        addr in any::<Ipv4Addr>(),
        case_mask in any::<u64>(),
    ) {
        let [a, b, c, d] = addr.octets();
        let (hi, lo) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
        let spellings = [
            format!("::ffff:{addr}"),
            format!("::FFFF:{addr}"),
            format!("0:0:0:0:0:ffff:{addr}"),
            format!("0000:0000:0000:0000:0000:FFFF:{addr}"),
            format!("::ffff:{hi:x}:{lo:x}"),
            format!("::FFFF:{hi:X}:{lo:X}"),
            format!("::ffff:{hi:04x}:{lo:04x}"),
            format!("0:0:0:0:0:ffff:{hi:x}:{lo:x}"),
            format!("0:0::ffff:{hi:x}:{lo:x}"),
            mixed_case(&format!("::ffff:{hi:04x}:{lo:04x}"), case_mask),
            format!(" \t::ffff:{addr}\n"),
        ];
        let expected = ipv4_name(addr);
        for spelling in &spellings {
            let target: Target = spelling.parse().unwrap();
            prop_assert_eq!(&target, &Target::from(addr), "{}", spelling);
            prop_assert_eq!(target.to_string(), addr.to_string());
            prop_assert_eq!(&query_name(&target), &expected, "{}", spelling);
            let spec: TargetSpec = spelling.parse().unwrap();
            let all: Vec<Target> = spec.into_iter().collect();
            prop_assert_eq!(all, vec![Target::from(addr)]);
        }
        let mapped = addr.to_ipv6_mapped();
        prop_assert_eq!(query_name(&Target::from(mapped)), expected.clone());
        prop_assert_eq!(query_name(&Target::ip(IpAddr::V6(mapped))), expected.clone());
        prop_assert_eq!(query_name(&Target::from(IpAddr::V6(mapped))), expected);
    }

    /// Look-alikes that are not IPv4-mapped stay IPv6: IPv4-compatible (`::a.b.c.d`),
    /// IPv4-translated (`::ffff:0:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`).
    #[test]
    fn ipv4_lookalikes_stay_ipv6(addr in any::<Ipv4Addr>()) {
        for spelling in [
            format!("::{addr}"),
            format!("::ffff:0:{addr}"),
            format!("64:ff9b::{addr}"),
        ] {
            let v6: Ipv6Addr = spelling.parse().unwrap();
            prop_assume!(v6.to_ipv4_mapped().is_none());
            let target: Target = spelling.parse().unwrap();
            prop_assert!(matches!(target, Target::Ip(IpAddr::V6(_))), "{}", spelling);
            prop_assert_eq!(parse_nibble_name(&query_name(&target)), v6);
        }
    }

    /// Networks expand to exactly their addresses, in order, edges included.
    #[test]
    fn networks_expand_to_their_addresses(base in any::<u32>(), prefix in 22u8..=32) {
        let net = format!("{}/{prefix}", Ipv4Addr::from(base));
        let spec: TargetSpec = net.parse().unwrap();
        let len = spec.len();
        prop_assert_eq!(len, 1u128 << (32 - prefix));
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let first = base & mask;
        let mut count = 0u128;
        for (i, target) in spec.into_iter().enumerate() {
            prop_assert_eq!(target, Target::from(Ipv4Addr::from(first + i as u32)));
            count += 1;
        }
        prop_assert_eq!(count, len);
    }
}

// ---------------------------------------------------------------------------------------------
// Postfix specs
// ---------------------------------------------------------------------------------------------

/// One octet of a filter: its text and the values it allows.
fn octet_pattern() -> impl Strategy<Value = (String, Vec<bool>)> {
    let item = prop_oneof![
        any::<u8>().prop_map(|n| (n, n)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| (a.min(b), a.max(b))),
    ];
    prop_oneof![
        any::<u8>().prop_map(|n| {
            let mut allowed = vec![false; 256];
            allowed[usize::from(n)] = true;
            (n.to_string(), allowed)
        }),
        prop::collection::vec(item, 1..5).prop_map(|items| {
            let mut allowed = vec![false; 256];
            let text: Vec<String> = items
                .iter()
                .map(|(low, high)| {
                    for value in *low..=*high {
                        allowed[usize::from(value)] = true;
                    }
                    if low == high {
                        low.to_string()
                    } else {
                        format!("{low}..{high}")
                    }
                })
                .collect();
            (format!("[{}]", text.join(";")), allowed)
        }),
    ]
}

type Pattern = (String, Vec<bool>);

fn spec_parts() -> impl Strategy<Value = (Vec<String>, bool, u64, Option<[Pattern; 4]>, Option<i32>)>
{
    (
        prop::collection::vec("[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?", 2..5),
        any::<bool>(),
        any::<u64>(),
        prop::option::of(
            (
                octet_pattern(),
                octet_pattern(),
                octet_pattern(),
                octet_pattern(),
            )
                .prop_map(|(a, b, c, d)| [a, b, c, d]),
        ),
        prop::option::of(-1000i32..1000),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// A generated `zone[=filter][*weight]` parses into that zone, filter and weight, and the
    /// filter matches exactly the codes its octets allow.
    #[test]
    fn generated_postfix_specs_mean_what_they_say(
        (labels, trailing_dot, case_mask, filter, weight) in spec_parts(),
        codes in prop::collection::vec(any::<u32>(), 8),
    ) {
        let zone = labels.join(".");
        let mut spec = mixed_case(&zone, case_mask);
        if trailing_dot {
            spec.push('.');
        }
        if let Some(octets) = &filter {
            let text: Vec<&str> = octets.iter().map(|(text, _)| text.as_str()).collect();
            spec.push('=');
            spec.push_str(&text.join("."));
        }
        if let Some(weight) = weight {
            spec.push_str(&format!("*{weight}"));
        }
        let list = DnsList::from_spec(&spec, ListKind::Ip).unwrap();
        prop_assert_eq!(list.zone().public_name(), zone.as_str());
        prop_assert_eq!(list.name(), zone.as_str());
        prop_assert_eq!(list.weight(), weight.unwrap_or(1));
        prop_assert!(!list.zone().has_key());
        match &filter {
            None => prop_assert!(list.filter().is_none()),
            Some(octets) => {
                let parsed = list.filter().unwrap();
                // Every code made of allowed octets matches; others are judged octet by octet.
                let member: Vec<u8> = octets
                    .iter()
                    .map(|(_, allowed)| allowed.iter().position(|a| *a).unwrap() as u8)
                    .collect();
                let member = Ipv4Addr::new(member[0], member[1], member[2], member[3]);
                prop_assert!(parsed.matches(member), "{} vs {}", spec, member);
                for code in codes.iter().map(|c| Ipv4Addr::from(*c)).chain([member]) {
                    let expected = code
                        .octets()
                        .iter()
                        .zip(octets)
                        .all(|(octet, (_, allowed))| allowed[usize::from(*octet)]);
                    prop_assert_eq!(parsed.matches(code), expected, "{} vs {}", spec, code);
                    prop_assert_eq!(list.counts(code), expected);
                }
                let again: CodeFilter = parsed.as_str().parse().unwrap();
                prop_assert_eq!(&again, parsed);
            }
        }
        // It serialises and reads back as the same list.
        let json = serde_json::to_string(&list).unwrap();
        prop_assert_eq!(serde_json::from_str::<DnsList>(&json).unwrap(), list.clone());
        let toml_text = toml::to_string(&list).unwrap();
        prop_assert_eq!(toml::from_str::<DnsList>(&toml_text).unwrap(), list);
    }

    /// CIDR, bitmask and negated filters match what they say.
    #[test]
    fn cidr_bitmask_and_negated_filters(
        network in any::<u32>(),
        prefix in 0u32..=32,
        mask in 1u32..,
        code in any::<u32>(),
    ) {
        let net_mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let cidr: CodeFilter = format!("{}/{prefix}", Ipv4Addr::from(network)).parse().unwrap();
        prop_assert_eq!(
            cidr.matches(Ipv4Addr::from(code)),
            code & net_mask == network & net_mask
        );
        let bits: CodeFilter = format!("&{}", Ipv4Addr::from(mask)).parse().unwrap();
        prop_assert_eq!(bits.matches(Ipv4Addr::from(code)), code & mask != 0);
        let negated: CodeFilter = format!("!&{}", Ipv4Addr::from(mask)).parse().unwrap();
        prop_assert_eq!(negated.matches(Ipv4Addr::from(code)), code & mask == 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Arbitrary input: no panic, and an error that names the input
// ---------------------------------------------------------------------------------------------

/// Text made of the characters these parsers care about, so that generated input gets past
/// the first checks more often than random Unicode would.
fn spec_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9.=*\\[\\];&!/:\\- ]{0,40}",
        "[0-9.\\[\\];]{0,30}",
        "[0-9a-fA-F:.]{0,45}",
        "[a-z0-9.]{0,20}=[0-9.\\[\\];&!/]{0,30}(\\*-?[0-9]{0,4})?",
        ".{0,400}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn no_text_makes_a_parser_panic_and_errors_name_their_input(text in spec_like()) {
        // Targets: the error carries (the first 300 characters of) the text as given.
        match Target::from_str(&text) {
            Ok(target) => {
                prop_assert_eq!(Target::from_str(&target.to_string()).unwrap(), target.clone());
                let _ = zone().query_name(&target);
            }
            Err(error) => {
                let shown: String = text.chars().take(300).collect();
                prop_assert_eq!(error.input(), shown.as_str());
                let quoted = format!("{shown:?}");
                prop_assert!(error.to_string().contains(&quoted), "{} / {}", error, quoted);
            }
        }
        match TargetSpec::from_str(&text) {
            Ok(spec) => {
                let _ = spec.into_iter().take(2).count();
            }
            Err(error) => prop_assert!(!error.problem().is_empty()),
        }
        if let Err(error) = DomainName::new(&text) {
            prop_assert!(!error.problem().is_empty());
        }
        // Filters: the error quotes the (trimmed) filter.
        if let Err(error) = CodeFilter::from_str(&text) {
            let shown: String = text.trim().chars().take(200).collect();
            let quoted = format!("{shown:?}");
            prop_assert!(error.to_string().contains(&quoted), "{} does not name {}", error, quoted);
        }
        // Specs: the error quotes the (trimmed) spec, whatever kind of list.
        for kind in [ListKind::Ip, ListKind::Ipv4, ListKind::Ipv6, ListKind::Domain] {
            match DnsList::from_spec(&text, kind) {
                Ok(list) => {
                    let _ = list.counts(Ipv4Addr::new(127, 0, 0, 2));
                    let _ = serde_json::to_string(&list).unwrap();
                }
                Err(error) => {
                    let shown: String = text.trim().chars().take(300).collect();
                    if !shown.to_ascii_lowercase().contains(".dq.spamhaus.net") {
                        let quoted = format!("{shown:?}");
                        prop_assert!(
                            error.to_string().contains(&quoted),
                            "{} does not name {}", error, quoted
                        );
                    }
                }
            }
        }
        let _ = Zone::from_str(&text);
        if let Err(error) = NameServer::from_str(&text) {
            prop_assert!(!error.to_string().is_empty());
        }
        // The same text inside config files.
        let quoted = serde_json::to_string(&text).unwrap();
        let _ = serde_json::from_str::<DnsList>(&format!(r#"{{"zone": {quoted}}}"#));
        let _ = serde_json::from_str::<DnsList>(&format!(
            r#"{{"zone": "bl.example", "filter": {quoted}}}"#
        ));
        let _ = serde_json::from_str::<DnsList>(&format!(
            r#"{{"zone": "zen.dq.spamhaus.net", "key": {quoted}}}"#
        ));
        let _ = toml::from_str::<DnsList>(&text);
        let _ = toml::from_str::<Config>(&text);
        let _ = toml::from_str::<Config>(&format!("presets = [{quoted}]\nnameservers = [{quoted}]\n"));
    }
}
