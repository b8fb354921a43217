//! Properties of the pooled transport's reply parser: for any bytes it never panics, and it
//! never yields an answer for a question other than the one asked, nor records owned by
//! another name.

use std::net::Ipv4Addr;

use dnsbl_check::Answer;
use dnsbl_check::bench_support::{decode_response, encode_query};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record};
use proptest::prelude::*;

const QNAME: &str = "2.0.0.127.Bl.Test.";
const TYPES: [u16; 4] = [1, 16, 28, 12];

fn query(id: u16, qtype: u16) -> Vec<u8> {
    encode_query(id, QNAME, qtype).unwrap()
}

/// The question section of a query: from offset 12 up to the OPT record.
fn question(query: &[u8]) -> &[u8] {
    &query[12..query.len() - 11]
}

/// A response to an A query with `answers` (owner, address, TTL), encoded by hickory-proto.
fn response(query: &[u8], answers: &[(String, [u8; 4], u32)], rcode: ResponseCode) -> Vec<u8> {
    let request = Message::from_vec(query).unwrap();
    let mut response = Message::response(request.metadata.id, OpCode::Query);
    response.metadata.response_code = rcode;
    response.add_queries(request.queries.clone());
    for (owner, ip, ttl) in answers {
        response.add_answer(Record::from_rdata(
            Name::from_ascii(owner).unwrap(),
            *ttl,
            RData::A(A::from(Ipv4Addr::from(*ip))),
        ));
    }
    response.to_vec().unwrap()
}

fn owner() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(QNAME.to_string()),
        Just(QNAME.to_lowercase()),
        Just("3.0.0.127.bl.test.".to_string()),
        Just("bl.test.".to_string()),
        Just("x.2.0.0.127.bl.test.".to_string()),
        "[a-z]{1,10}\\.test\\.",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any bytes: no panic, and an answer only when ID and question are the query's.
    #[test]
    fn any_bytes_never_panic_nor_answer_another_question(
        id in any::<u16>(),
        qtype in proptest::sample::select(&TYPES[..]),
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let query = query(id, qtype);
        if let Some(_reading) = decode_response(&query, &bytes) {
            prop_assert_eq!(&bytes[..2], &query[..2]);
            let question = question(&query);
            prop_assert_eq!(&bytes[12..12 + question.len()], question);
        }
    }

    /// Any bytes after a well-formed header and the right question: still no panic.
    #[test]
    fn any_sections_after_the_question_never_panic(
        id in any::<u16>(),
        qtype in proptest::sample::select(&TYPES[..]),
        flags in any::<u16>(),
        counts in proptest::array::uniform3(0u16..8),
        tail in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let query = query(id, qtype);
        let question = question(&query);
        let mut packet = Vec::new();
        packet.extend_from_slice(&id.to_be_bytes());
        packet.extend_from_slice(&(flags | 0x8000).to_be_bytes());
        packet.extend_from_slice(&[0, 1]);
        for count in counts {
            packet.extend_from_slice(&count.to_be_bytes());
        }
        packet.extend_from_slice(question);
        packet.extend_from_slice(&tail);
        prop_assert!(decode_response(&query, &packet).is_some());
    }

    /// Records owned by other names never show in the answer; TTLs stay below 2^31.
    #[test]
    fn only_the_questions_own_records_are_read(
        id in any::<u16>(),
        answers in proptest::collection::vec((owner(), any::<[u8; 4]>(), any::<u32>()), 0..6),
        nxdomain in any::<bool>(),
    ) {
        let query = query(id, 1);
        let rcode = if nxdomain { ResponseCode::NXDomain } else { ResponseCode::NoError };
        let packet = response(&query, &answers, rcode);
        let reading = decode_response(&query, &packet).expect("the question matches");
        let own: Vec<String> = answers
            .iter()
            .filter(|(owner, ..)| owner.eq_ignore_ascii_case(QNAME))
            .map(|(_, ip, _)| Ipv4Addr::from(*ip).to_string())
            .collect();
        match reading.unwrap() {
            Answer::Records { records, ttl } => {
                prop_assert_eq!(records, own);
                prop_assert!(ttl < 1 << 31);
            }
            Answer::NoRecords { .. } => prop_assert!(own.is_empty()),
        }
    }

    /// A good response with bytes changed: no panic; an answer only to the question asked.
    #[test]
    fn corrupted_responses_never_panic(
        id in any::<u16>(),
        answers in proptest::collection::vec((owner(), any::<[u8; 4]>(), any::<u32>()), 1..4),
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let query = query(id, 1);
        let mut packet = response(&query, &answers, ResponseCode::NoError);
        for (at, byte) in changes {
            let at = at.index(packet.len());
            packet[at] = byte;
        }
        if decode_response(&query, &packet).is_some() {
            let question = question(&query);
            prop_assert_eq!(&packet[12..12 + question.len()], question);
        }
    }
}
