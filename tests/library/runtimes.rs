//! One pooled resolver used by several Tokio runtimes at once.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::support::TestDns;
use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::{Answer, DnsResolver, NameServer};

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The resolver's socket is opened by a lookup on a runtime that then goes idle (alive, but
/// running nothing). Two other runtimes, on threads of their own, then look up at the same
/// time: every lookup gets its answer, from sockets of its own runtime. (Were they sent from
/// the socket whose receive task lives on the idle runtime, no answer would ever be read.)
#[test]
fn pools_serve_several_runtimes_at_once_while_one_is_idle() {
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let dns = server_runtime.block_on(
        TestDns::builder()
            .zone("bl.test")
            .wildcard_a("bl.test", &["127.0.0.2"], 60)
            .start(),
    );
    let resolver = PooledUdpResolver::builder()
        .name_server(NameServer::new(dns.addr))
        .timeout(Duration::from_secs(2))
        .retries(0)
        .sockets_per_server(1)
        .build()
        .unwrap();
    let idle = current_thread();
    let first = idle.block_on(resolver.lookup_a("1.0.0.10.bl.test."));
    assert!(matches!(first, Ok(Answer::Records { .. })), "{first:?}");
    assert_eq!(resolver.stats().sockets_opened, 1);

    let threads: Vec<_> = (0..2u8)
        .map(|thread| {
            let resolver = resolver.clone();
            std::thread::spawn(move || {
                current_thread().block_on(async {
                    let lookups = (0..50u8).map(|n| {
                        let resolver = &resolver;
                        async move {
                            let name = format!("{n}.{thread}.0.10.bl.test.");
                            resolver.lookup_a(&name).await
                        }
                    });
                    futures::future::join_all(lookups).await
                })
            })
        })
        .collect();
    for thread in threads {
        for answer in thread.join().unwrap() {
            assert_eq!(
                answer,
                Ok(Answer::Records {
                    records: vec![Ipv4Addr::new(127, 0, 0, 2)],
                    ttl: 60
                })
            );
        }
    }
    assert_eq!(resolver.stats().sockets_opened, 3, "one socket per runtime");
    drop(idle);
}
