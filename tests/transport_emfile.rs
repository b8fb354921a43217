//! Running out of file descriptors is a local failure, not a network one, and not an answer.
//!
//! In a test binary of its own: it exhausts the process's descriptors for a moment.

use std::fs::File;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::Duration;

use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::{DnsResolver, LookupErrorKind, NameServer};

/// Above this many descriptors the limit is too high to exhaust quickly: the test is skipped.
const MAX_TO_OPEN: usize = 200_000;

#[tokio::test(flavor = "current_thread")]
async fn descriptor_exhaustion_is_a_local_resource_error() {
    // Anything answering or not: the socket cannot even be opened.
    let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let resolver = PooledUdpResolver::builder()
        .name_server(NameServer::new(server.local_addr().unwrap()))
        .timeout(Duration::from_millis(200))
        .retries(0)
        .build()
        .unwrap();

    let mut hoard = Vec::new();
    let exhausted = loop {
        match File::open("/dev/null") {
            Ok(file) => hoard.push(file),
            Err(error) => break error,
        }
        if hoard.len() >= MAX_TO_OPEN {
            eprintln!("descriptor limit above {MAX_TO_OPEN}: not exhausted, test skipped");
            return;
        }
    };
    assert_eq!(exhausted.raw_os_error(), Some(24), "EMFILE: {exhausted}");
    let error = resolver.lookup_a("2.0.0.127.bl.test.").await.unwrap_err();
    drop(hoard);
    assert_eq!(error.kind(), LookupErrorKind::LocalResource, "{error}");
    assert!(error.is_local());

    // With descriptors back, the resolver works again (here: times out, nothing answers).
    let error = resolver.lookup_a("2.0.0.127.bl.test.").await.unwrap_err();
    assert_eq!(error.kind(), LookupErrorKind::Timeout, "{error}");
}
