//! List configs: TOML and JSON into `DnsList`.
#![no_main]

use dnsbl_check::{DnsList, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<DnsList>(data);
    let _ = serde_json::from_slice::<Vec<DnsList>>(data);
    let _ = serde_json::from_slice::<Target>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(list) = toml::from_str::<DnsList>(text) {
            // What was read serialises again.
            let json = serde_json::to_string(&list).expect("a list serialises");
            if !list.zone().has_key() {
                let back: DnsList = serde_json::from_str(&json).expect("and reads back");
                assert_eq!(back, list, "{json}");
            }
            let _ = toml::to_string(&list);
        }
    }
});
