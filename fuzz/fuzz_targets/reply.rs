//! The pooled transport's reply parser (`src/resolver/pooled/wire.rs`), through the entry
//! point the receive path uses: match a datagram to a query, then read it.
#![no_main]

use dnsbl_check::Answer;
use dnsbl_check::bench_support::{decode_response, encode_query};
use libfuzzer_sys::fuzz_target;

const TYPES: [u16; 4] = [1, 16, 28, 12];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let qtype = TYPES[usize::from(selector) % TYPES.len()];
    let query = encode_query(0x1234, "2.0.0.127.Bl.Test.", qtype).expect("a valid name");
    let question = &query[12..query.len() - 11];

    // As received: any bytes. An answer only for the query's own ID and question.
    if decode_response(&query, rest).is_some() {
        assert_eq!(&rest[..2], &query[..2]);
        assert_eq!(&rest[12..12 + question.len()], question);
    }

    // Past the matching: the query's ID and question, then whatever follows (flags, counts
    // and sections from the input), so that the fuzzer explores the sections.
    if rest.len() >= 10 {
        let mut packet = Vec::with_capacity(rest.len() + question.len() + 2);
        packet.extend_from_slice(&query[..2]);
        packet.extend_from_slice(&[rest[0] | 0x80, rest[1]]);
        packet.extend_from_slice(&[0, 1]);
        packet.extend_from_slice(&rest[4..10]);
        packet.extend_from_slice(question);
        packet.extend_from_slice(&rest[10..]);
        let reading = decode_response(&query, &packet).expect("ID and question match");
        if let Ok(Answer::Records { records, ttl }) = reading {
            assert!(!records.is_empty());
            assert!(ttl < 1 << 31, "TTL {ttl}");
        }
    }
});
