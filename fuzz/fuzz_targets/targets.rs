//! Target parsing: `Target::from_str`, `TargetSpec::from_str`, and query names built from
//! whatever parses.
#![no_main]

use std::str::FromStr;

use dnsbl_check::{Target, TargetSpec, Zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let zones = [
        Zone::new("bl.example").unwrap(),
        Zone::new(&["z".repeat(60), "z".repeat(60), "z".repeat(60)].join(".")).unwrap(),
        Zone::with_key("zen.dq.spamhaus.net", "abcdefghijklmnopqrstuvwxyz").unwrap(),
    ];
    match Target::from_str(&text) {
        Ok(target) => {
            // What parses prints as something that parses back to the same target.
            let shown = target.to_string();
            let again = Target::from_str(&shown).expect("a shown target parses again");
            assert_eq!(again, target, "{shown}");
            for zone in &zones {
                if let Ok(name) = zone.query_name(&target) {
                    let name = name.as_str();
                    assert!(name.ends_with('.'), "{name}");
                    assert!(name.len() <= 254, "{name}");
                    assert!(!name.contains(".."), "{name}");
                }
            }
        }
        Err(error) => {
            // The error names the input (its first 300 characters).
            let input: String = text.chars().take(300).collect();
            assert_eq!(error.input(), input);
            assert!(!error.problem().is_empty());
        }
    }
    match TargetSpec::from_str(&text) {
        Ok(spec) => {
            let len = spec.len();
            assert!(len >= 1);
            let taken = spec.into_iter().take(3).count();
            assert_eq!(taken as u128, len.min(3));
        }
        Err(error) => assert!(!error.problem().is_empty()),
    }
});
