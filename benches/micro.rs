//! Micro-benchmarks of the per-query work: building query names, matching answer codes
//! against filters, and reading an answer off the wire (pooled transport).
//!
//! `cargo bench --bench micro`

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use dnsbl_check::{CodeFilter, Target, Zone, bench_support};
use hickory_proto::op::{Edns, Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record};

fn query_names(c: &mut Criterion) {
    let zone = Zone::new("zen.spamhaus.org").unwrap();
    let keyed = Zone::with_key("zen.dq.spamhaus.net", "abcdefghijklmnopqrstuvwxyz").unwrap();
    let v4: Target = "192.0.2.99".parse().unwrap();
    let v6: Target = "2001:db8:1:2:3:4:567:89ab".parse().unwrap();
    let domain: Target = "mail.example.com".parse().unwrap();
    let mut group = c.benchmark_group("query_name");
    group.bench_function("ipv4", |b| b.iter(|| zone.query_name(black_box(&v4))));
    group.bench_function("ipv4_dqs_key", |b| {
        b.iter(|| keyed.query_name(black_box(&v4)))
    });
    group.bench_function("ipv6", |b| b.iter(|| zone.query_name(black_box(&v6))));
    group.bench_function("domain", |b| b.iter(|| zone.query_name(black_box(&domain))));
    group.finish();
}

fn filters(c: &mut Criterion) {
    let any: CodeFilter = "127.0.0.[2..11]".parse().unwrap();
    let list: CodeFilter = "127.0.[0..255].[2;4;9..11;20..30]".parse().unwrap();
    let mask: CodeFilter = "&0.0.0.8".parse().unwrap();
    let codes: Vec<Ipv4Addr> = (0..16).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect();
    let mut group = c.benchmark_group("filter_matches_16_codes");
    for (label, filter) in [("range", &any), ("octet_lists", &list), ("bitmask", &mask)] {
        group.bench_function(label, |b| {
            b.iter(|| {
                codes
                    .iter()
                    .filter(|c| filter.matches(black_box(**c)))
                    .count()
            })
        });
    }
    group.finish();
}

fn response(query: &[u8], rcode: ResponseCode, answers: &[Ipv4Addr], soa: bool) -> Vec<u8> {
    let request = Message::from_vec(query).unwrap();
    let name = request.queries[0].name().clone();
    let mut message = Message::response(request.metadata.id, OpCode::Query);
    message.metadata.response_code = rcode;
    message.add_queries(request.queries.clone());
    for code in answers {
        message.add_answer(Record::from_rdata(
            name.clone(),
            300,
            RData::A(A::from(*code)),
        ));
    }
    if soa {
        let zone = Name::from_ascii("zen.spamhaus.org.").unwrap();
        let soa = SOA::new(zone.clone(), zone.clone(), 1, 2, 3, 4, 60);
        message.add_authority(Record::from_rdata(zone, 60, RData::SOA(soa)));
    }
    message.set_edns(Edns::new());
    message.to_vec().unwrap()
}

fn decoding(c: &mut Criterion) {
    let query = bench_support::encode_a_query(0x1234, "99.2.0.192.zen.spamhaus.org.")
        .expect("a valid name");
    let listed = response(
        &query,
        ResponseCode::NoError,
        &[Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 4)],
        false,
    );
    let nxdomain = response(&query, ResponseCode::NXDomain, &[], true);
    let mut group = c.benchmark_group("decode_a_response");
    group.bench_function("listed_2_codes", |b| {
        b.iter(|| bench_support::decode_a_response(&query, black_box(&listed)))
    });
    group.bench_function("nxdomain_with_soa", |b| {
        b.iter(|| bench_support::decode_a_response(&query, black_box(&nxdomain)))
    });
    // For comparison: hickory-proto's full message decoding of the same bytes.
    group.bench_function("hickory_message_from_vec_listed", |b| {
        b.iter(|| Message::from_vec(black_box(&listed)).unwrap())
    });
    group.finish();
    c.bench_function("encode_a_query", |b| {
        b.iter(|| bench_support::encode_a_query(black_box(0x1234), "99.2.0.192.zen.spamhaus.org."))
    });
}

criterion_group!(benches, query_names, filters, decoding);
criterion_main!(benches);
