//! A config file's resolver settings reach either resolver: the same file, read once, builds
//! a checker on the stock transport and one on the pooled transport, and each sends its
//! queries where the file says, with the file's retries, and fetches TXT as the file says.

use crate::support::{Behaviour, TestDns};
use dnsbl_check::resolver::any::{AnyResolver, Transport};
use dnsbl_check::{CheckerBuilder, Config, Outcome};

const ZONE: &str = "bl.test";

fn config(dns: &TestDns, retries: usize) -> Config {
    toml::from_str(&format!(
        r#"
        nameservers = ["{}"]
        timeout = 0.3
        retries = {retries}
        fetch_txt = false
        health_checks = false

        [[list]]
        zone = "{ZONE}"
        "#,
        dns.addr
    ))
    .unwrap()
}

#[tokio::test]
async fn a_config_file_sets_up_either_resolver() {
    let dns = TestDns::builder()
        .zone(ZONE)
        .a("1.2.0.192.bl.test", &["127.0.0.2"], 60)
        .txt("1.2.0.192.bl.test", &["listed"], 60)
        .on("9.2.0.192.bl.test", "A", Behaviour::Drop)
        .start()
        .await;
    for transport in [Transport::Hickory, Transport::Pooled] {
        for retries in [0, 2] {
            let config = config(&dns, retries);
            let resolver = AnyResolver::build(transport, config.resolver_options()).unwrap();
            let builder = CheckerBuilder::new().lists(config.lists(None).unwrap());
            let checker = config
                .apply_to_checker(builder)
                .build_with(resolver)
                .unwrap();
            dns.clear_queries();

            let listed = checker.check("192.0.2.1".parse().unwrap()).await;
            assert!(listed.listed, "{transport}: {listed:?}");
            let Outcome::Listed(listing) = &listed.results[0].outcome else {
                panic!("{transport}: {listed:?}");
            };
            assert!(listing.reasons.is_empty(), "{transport}: {listing:?}");
            let silent = checker.check("192.0.2.9".parse().unwrap()).await;
            assert!(
                matches!(&silent.results[0].outcome, Outcome::Failed(e) if e.is_timeout()),
                "{transport}: {silent:?}"
            );

            let queries = dns.queries();
            let asked = |name: &str, kind: &str| {
                queries
                    .iter()
                    .filter(|(n, k)| n.eq_ignore_ascii_case(name) && k == kind)
                    .count()
            };
            assert_eq!(
                asked("1.2.0.192.bl.test.", "TXT"),
                0,
                "{transport}: {queries:?}"
            );
            assert_eq!(
                asked("9.2.0.192.bl.test.", "A"),
                retries + 1,
                "{transport}, {retries} retries: {queries:?}"
            );
        }
    }
}
