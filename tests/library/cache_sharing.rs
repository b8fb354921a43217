//! The answer cache under cancellation and with time: a fetch outlives the lookup that started
//! it, and answers from the cache carry the TTL they have left.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{Behaviour, TestDns, resolver_at};
use dnsbl_check::resolver::cache::AnswerCache;
use dnsbl_check::resolver::cache::CacheConfig;
use dnsbl_check::{Answer, DnsResolver};

const NAME: &str = "2.0.0.10.bl.test.";

async fn slow_server() -> TestDns {
    TestDns::builder()
        .zone("bl.test")
        .on(
            "*.bl.test",
            "A",
            Behaviour::Delay(
                Duration::from_millis(300),
                Box::new(Behaviour::A(vec![Ipv4Addr::new(127, 0, 0, 2)], 300)),
            ),
        )
        .start()
        .await
}

/// Hundreds of lookups of one name, each dropped soon after it started, while others wait:
/// the server is asked once, and every waiter gets the answer. (A fetch that ran inside the
/// lookup that started it would die with it, and each new leader would ask again.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_lookups_never_cost_the_waiters_their_answer() {
    let dns = slow_server().await;
    let cache = Arc::new(AnswerCache::new(
        resolver_at(dns.addr, Duration::from_secs(5), 0),
        CacheConfig::default(),
    ));
    let waiters: Vec<_> = (0..20)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.lookup_a(NAME).await })
        })
        .collect();
    for _ in 0..300 {
        let cancelled = tokio::time::timeout(Duration::from_micros(10), cache.lookup_a(NAME));
        let _ = cancelled.await;
    }
    for waiter in waiters {
        let answer = waiter.await.expect("no waiter panics").unwrap();
        assert!(!answer.is_empty(), "{answer:?}");
    }
    assert_eq!(dns.query_count(), 1, "{:?}", dns.queries());
}

/// An answer from the cache carries the TTL it has left.
#[tokio::test]
async fn cached_answers_carry_the_ttl_they_have_left() {
    let dns = TestDns::builder()
        .zone("bl.test")
        .a(NAME, &["127.0.0.2"], 300)
        .negative_ttl("bl.test", 200)
        .start()
        .await;
    let cache = AnswerCache::new(
        resolver_at(dns.addr, Duration::from_secs(5), 0),
        CacheConfig::default(),
    );
    let first = cache.lookup_a(NAME).await.unwrap();
    let missing = cache.lookup_a("3.0.0.10.bl.test.").await.unwrap();
    assert!(
        matches!(first, Answer::Records { ttl: 300, .. }),
        "{first:?}"
    );
    assert!(
        matches!(
            missing,
            Answer::NoRecords {
                negative_ttl: Some(200),
                ..
            }
        ),
        "{missing:?}"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = cache.lookup_a(NAME).await.unwrap();
    let missing_later = cache.lookup_a("3.0.0.10.bl.test.").await.unwrap();
    assert_eq!(dns.query_count(), 2, "answered from the cache");
    match (later, missing_later) {
        (
            Answer::Records { ttl, .. },
            Answer::NoRecords {
                negative_ttl: Some(negative),
                ..
            },
        ) => {
            assert!((297..=298).contains(&ttl), "{ttl}");
            assert!((197..=198).contains(&negative), "{negative}");
        }
        other => panic!("{other:?}"),
    }
}
