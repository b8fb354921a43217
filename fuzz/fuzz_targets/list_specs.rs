//! List specs: `DnsList::from_spec` (Postfix syntax) and `CodeFilter::from_str`.
#![no_main]

use std::net::Ipv4Addr;
use std::str::FromStr;

use dnsbl_check::{CodeFilter, DnsList, ListKind};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "fuzzkey0123456789abcdefghij";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let codes = [
        Ipv4Addr::new(127, 0, 0, 2),
        Ipv4Addr::new(127, 255, 255, 254),
        Ipv4Addr::new(10, 1, 2, 3),
        Ipv4Addr::from(u32::from_le_bytes([
            data.first().copied().unwrap_or(0),
            1,
            2,
            127,
        ])),
    ];
    match CodeFilter::from_str(&text) {
        Ok(filter) => {
            let again = CodeFilter::from_str(filter.as_str()).expect("a filter's text parses");
            for code in codes {
                assert_eq!(filter.matches(code), again.matches(code));
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    for kind in [
        ListKind::Ip,
        ListKind::Ipv4,
        ListKind::Ipv6,
        ListKind::Domain,
    ] {
        match DnsList::from_spec(&text, kind) {
            Ok(list) => {
                for code in codes {
                    let _ = list.counts(code);
                    let _ = list.error_meaning(code);
                }
                let json = serde_json::to_string(&list).expect("a list serialises");
                if !list.zone().has_key() {
                    let back: DnsList = serde_json::from_str(&json).expect("and reads back");
                    assert_eq!(back, list, "{json}");
                }
            }
            Err(error) => assert!(!error.to_string().is_empty()),
        }
    }
    // The same text as a DQS key never comes back in an error.
    let keyed = format!("{KEY}.zen.dq.spamhaus.net{text}");
    if let Err(error) = DnsList::from_spec(&keyed, ListKind::Ip) {
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(KEY), "{shown}");
    }
});
