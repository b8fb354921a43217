//! SPF expansion (`dnsbl_check::spf`, `HostSource::Spf`) against the in-process DNS server on
//! both transports: TXT records of several strings, the limits, and a watcher that follows a
//! domain's MX hosts and SPF senders together, each address once.

use std::time::Duration;

use crate::hosts::resolvers;
use crate::support::{Behaviour, TestDns, resolver_at};
use dnsbl_check::hosts::HostSource;
use dnsbl_check::monitor::{TrackerConfig, Watcher};
use dnsbl_check::{Checker, DnsList, ListKind, spf};

const TIMEOUT: Duration = Duration::from_millis(500);
const ZONE: &str = "bl.test";

async fn server() -> TestDns {
    let mut builder = TestDns::builder()
        .healthy_ip_zone(ZONE)
        .a("9.2.0.192.bl.test", &["127.0.0.2"], 60)
        .zone("example.test")
        // One record in two strings, joined without a separator (RFC 7208 §3.3).
        .txt(
            "example.test",
            &[
                "v=spf1 ip4:192.0.2.8/30 mx include:_s",
                "pf.example.test -all",
            ],
            300,
        )
        .txt("_spf.example.test", &["v=spf1 ip6:2001:db8::/126"], 300)
        .mx("example.test", &[(10, "mx.example.test.")], 300)
        .a("mx.example.test", &["192.0.2.9"], 300)
        .txt(
            "void.example.test",
            &["v=spf1 a:n1.example.test a:n2.example.test a:n3.example.test"],
            300,
        )
        .on("timeout.example.test", "TXT", Behaviour::Drop)
        .txt(
            "chain.example.test",
            &["v=spf1 include:c1.example.test"],
            300,
        );
    for i in 1..=11 {
        let record = format!("v=spf1 include:c{}.example.test", i + 1);
        builder = builder.txt(&format!("c{i}.example.test"), &[&record], 300);
    }
    builder.start().await
}

#[tokio::test]
async fn records_limits_and_failures_on_both_transports() {
    let dns = server().await;
    for (transport, resolver) in resolvers(&dns) {
        let found = spf::expand(&resolver, &"example.test".parse().unwrap()).await;
        assert!(found.is_complete(), "{transport}: {:?}", found.trouble);
        let networks: Vec<String> = found
            .networks
            .iter()
            .map(|n| n.network.to_string())
            .collect();
        assert_eq!(
            networks,
            ["192.0.2.8/30", "192.0.2.9/32", "2001:db8::/126"],
            "{transport}"
        );
        assert_eq!(
            found.networks[2].via(),
            "example.test spf → include:_spf.example.test → ip6:2001:db8::/126"
        );

        let kind = |domain: &str| {
            let resolver = resolver.clone();
            let domain = domain.parse().unwrap();
            async move {
                let found = spf::expand(&resolver, &domain).await;
                found.trouble.first().map(|t| t.kind())
            }
        };
        assert_eq!(
            kind("void.example.test").await,
            Some("too_many_void_lookups")
        );
        assert_eq!(kind("chain.example.test").await, Some("too_many_lookups"));
        assert_eq!(kind("timeout.example.test").await, Some("lookup_failed"));
        assert_eq!(kind("none.example.test").await, Some("no_record"));
    }
}

#[tokio::test]
async fn a_watcher_follows_mx_and_spf_together_each_address_once() {
    let dns = server().await;
    let checker = Checker::builder()
        .list(DnsList::from_spec(ZONE, ListKind::Ipv4).unwrap())
        .build_with(resolver_at(dns.addr, TIMEOUT, 1))
        .unwrap();
    let config = TrackerConfig {
        report_baseline: true,
        ..TrackerConfig::default()
    };
    let specs = vec!["example.test".parse().unwrap()];
    let mut watcher = Watcher::new(checker, specs, config)
        .expand_domains(HostSource::Mx)
        .expand_domains(HostSource::Spf);
    let round = watcher.run_round().await;
    assert!(round.host_trouble.is_empty(), "{:?}", round.host_trouble);
    // The domain, the four addresses of the /30 (192.0.2.9 is also the MX host: once), and
    // the four IPv6 addresses.
    assert_eq!(round.checked, 1 + 4 + 4);
    assert_eq!(round.events.len(), 1, "{:?}", round.events);
    let event = &round.events[0];
    assert_eq!(event.target.to_string(), "192.0.2.9");
    assert_eq!(event.host.as_ref().unwrap().as_str(), "mx.example.test");
}
