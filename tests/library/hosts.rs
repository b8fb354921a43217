//! Mail-server targets (`dnsbl_check::hosts`) against the in-process DNS server, on both
//! transports: MX hosts, implicit and null MX, reverse DNS, and failures kept as trouble.

use std::time::Duration;

use crate::support::{Behaviour, TestDns};
use dnsbl_check::LookupErrorKind;
use dnsbl_check::hosts::{Expansion, HostSource, expand};
use dnsbl_check::resolver::any::AnyResolver;

const TIMEOUT: Duration = Duration::from_millis(300);

pub(crate) fn resolvers(dns: &TestDns) -> [(&'static str, AnyResolver); 2] {
    let pooled = crate::support::pooled_resolver_at(dns.addr, TIMEOUT, 0);
    [
        (
            "hickory",
            crate::support::resolver_at(dns.addr, TIMEOUT, 0).into(),
        ),
        ("pooled", pooled.into()),
    ]
}

async fn server() -> TestDns {
    TestDns::builder()
        .zone("example.test")
        .zone("in-addr.arpa")
        .zone("ip6.arpa")
        // Two MX hosts, the preferred one listed second; mx1 has both families.
        .mx(
            "example.test",
            &[(20, "mx2.example.test."), (10, "MX1.example.test.")],
            300,
        )
        .a("mx1.example.test", &["192.0.2.1"], 300)
        .aaaa("mx1.example.test", &["2001:db8::1"], 300)
        .a("mx2.example.test", &["192.0.2.2"], 300)
        .ptr("1.2.0.192.in-addr.arpa", &["mx1.example.test."], 300)
        .ptr("2.2.0.192.in-addr.arpa", &["other.example.test."], 300)
        // No MX: the domain is its own mail server.
        .a("nomx.example.test", &["192.0.2.3"], 300)
        .aaaa("nomx.example.test", &["2001:db8::3"], 300)
        // Null MX: no mail at all, though the domain has an address.
        .mx("nullmx.example.test", &[(0, ".")], 300)
        .a("nullmx.example.test", &["192.0.2.4"], 300)
        // The MX lookup fails.
        .on("broken.example.test", "MX", Behaviour::ServFail)
        .a("broken.example.test", &["192.0.2.5"], 300)
        .start()
        .await
}

fn rows(expansion: &Expansion) -> Vec<String> {
    expansion
        .addresses
        .iter()
        .map(|a| format!("{} {} {}", a.host, a.addr, a.rdns.status()))
        .collect()
}

#[tokio::test]
async fn mx_hosts_resolve_in_preference_order_on_both_transports() {
    let dns = server().await;
    for (transport, resolver) in resolvers(&dns) {
        let found = expand(&resolver, &"example.test".parse().unwrap(), HostSource::Mx).await;
        assert!(found.is_complete(), "{transport}: {:?}", found.trouble);
        assert_eq!(
            rows(&found),
            [
                "mx1.example.test 192.0.2.1 confirmed",
                "mx1.example.test 2001:db8::1 no_ptr",
                "mx2.example.test 192.0.2.2 not_confirmed",
            ],
            "{transport}"
        );
        assert!(
            found
                .addresses
                .iter()
                .all(|a| a.via.as_str() == "example.test")
        );
    }
}

#[tokio::test]
async fn implicit_null_and_failed_mx_on_both_transports() {
    let dns = server().await;
    for (transport, resolver) in resolvers(&dns) {
        let nomx = expand(
            &resolver,
            &"nomx.example.test".parse().unwrap(),
            HostSource::Mx,
        )
        .await;
        assert!(nomx.implicit_mx && nomx.is_complete(), "{transport}");
        assert_eq!(
            rows(&nomx),
            [
                "nomx.example.test 192.0.2.3 no_ptr",
                "nomx.example.test 2001:db8::3 no_ptr"
            ],
            "{transport}"
        );

        let null = expand(
            &resolver,
            &"nullmx.example.test".parse().unwrap(),
            HostSource::Mx,
        )
        .await;
        assert!(null.null_mx && null.addresses.is_empty() && null.is_complete());

        let broken = expand(
            &resolver,
            &"broken.example.test".parse().unwrap(),
            HostSource::Mx,
        )
        .await;
        assert!(
            broken.addresses.is_empty() && !broken.implicit_mx,
            "{transport}"
        );
        assert_eq!(broken.trouble.len(), 1, "{transport}");
        assert_eq!(broken.trouble[0].error.kind(), LookupErrorKind::ServFail);

        // --resolve takes the domain's own addresses, whatever its MX says.
        let own = expand(
            &resolver,
            &"broken.example.test".parse().unwrap(),
            HostSource::Resolve,
        )
        .await;
        assert_eq!(
            rows(&own),
            ["broken.example.test 192.0.2.5 no_ptr"],
            "{transport}"
        );
    }
}
