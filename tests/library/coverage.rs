//! What mail filters ask modern lists: host names on the lists that take them (Spamhaus DBL,
//! ZRD), registrable domains on the others (SURBL, URIBL).

use std::time::Duration;

use crate::support::TestDns;
use crate::support::rbldnsd::{Rbldnsd, ZoneData};
use dnsbl_check::hash::HashSpec;
use dnsbl_check::list::{NoDataPolicy, QueryForm};
use dnsbl_check::mail::{MessageReader, SessionFacts, SessionFilter, SessionPolicy, Verdict};
use dnsbl_check::{Checker, DnsList, HickoryResolver, ListKind};

/// A DBL-like list (host names, the abused-legit code) and a URIBL-like one (registrable
/// domains).
///
/// A standard authoritative server answers NODATA for `legit.example` when only
/// `abused.legit.example` is listed (an empty non-terminal), so the DBL-like list is one that
/// answers NODATA for names it does not list (rbldnsd answers NXDOMAIN).
fn lists() -> Vec<DnsList> {
    vec![
        DnsList::from_spec("dbl.test=127.0.1.[2..99;102..106]", ListKind::Domain)
            .unwrap()
            .with_nodata(NoDataPolicy::NotListed),
        DnsList::from_spec("uribl.test", ListKind::Domain)
            .unwrap()
            .with_query_form(QueryForm::Registrable),
    ]
}

fn checker(addr: std::net::SocketAddr) -> Checker {
    checker_of(addr, lists())
}

fn checker_of(addr: std::net::SocketAddr, lists: Vec<DnsList>) -> Checker {
    let resolver = crate::support::resolver_at(addr, Duration::from_millis(800), 1);
    Checker::builder()
        .lists(lists)
        .health_checks(false)
        .build_with(resolver)
        .unwrap()
}

fn facts(message: &str) -> SessionFacts {
    let reading = MessageReader::default().read(message.as_bytes(), None);
    let mut facts = SessionFacts::default();
    facts.message.domains = reading.targets.domains;
    facts.message.hosts = reading.targets.hosts;
    facts
}

/// Each message is accepted, with no trouble.
async fn accepts_cleanly(filter: &SessionFilter<HickoryResolver>, messages: &[&str]) {
    for clean in messages {
        let evaluation = filter.evaluate(&facts(clean)).await;
        assert_eq!(
            evaluation.verdict,
            Verdict::Accept,
            "{clean}: {evaluation:?}"
        );
        assert!(evaluation.trouble.is_empty(), "{evaluation:?}");
    }
}

/// The DBL lists one host of a legitimate site: that host is refused, its registrable
/// domain and its other hosts pass; the URIBL-like list is asked the registrable domain only.
async fn host_is_refused_and_its_domain_passes(
    filter: &SessionFilter<HickoryResolver>,
    queries: impl Fn() -> Vec<String>,
) {
    let abused = facts(
        "Subject: x\r\n\r\nLog in at https://abused.legit.example/login or https://www.legit.example/\r\n",
    );
    let evaluation = filter.evaluate(&abused).await;
    assert_eq!(
        evaluation.verdict,
        Verdict::Reject(
            "Service unavailable; host abused.legit.example in the message blocked using dbl.test"
                .into()
        ),
        "{evaluation:?}"
    );
    let asked = queries();
    for name in [
        "abused.legit.example.dbl.test.",
        "legit.example.dbl.test.",
        "legit.example.uribl.test.",
    ] {
        assert!(asked.iter().any(|q| q == name), "{name} not in {asked:?}");
    }
    assert!(
        !asked
            .iter()
            .any(|q| q.ends_with(".legit.example.uribl.test.")),
        "host names are cut for the registrable list: {asked:?}"
    );
    accepts_cleanly(
        filter,
        &[
            "Subject: x\r\n\r\nhttps://legit.example/\r\n",
            "Subject: x\r\n\r\nhttps://www.legit.example/ mailto:a@legit.example\r\n",
        ],
    )
    .await;
    // The registrable list still refuses a host under a domain it lists.
    let evaluation = filter
        .evaluate(&facts("Subject: x\r\n\r\nhttps://www.spammy.example/\r\n"))
        .await;
    assert_eq!(
        evaluation.verdict,
        Verdict::Reject(
            "Service unavailable; domain spammy.example in the message blocked using uribl.test"
                .into()
        ),
        "{evaluation:?}"
    );
}

#[tokio::test]
async fn host_names_on_host_lists_registrable_domains_on_the_others() {
    let dns = TestDns::builder()
        .zone("dbl.test")
        .a("abused.legit.example.dbl.test", &["127.0.1.102"], 60)
        .zone("uribl.test")
        .a("spammy.example.uribl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let filter = SessionFilter::new(checker(dns.addr), SessionPolicy::default());
    host_is_refused_and_its_domain_passes(&filter, || {
        dns.queries().into_iter().map(|(name, _)| name).collect()
    })
    .await;
}

#[tokio::test]
async fn a_host_target_is_asked_in_the_form_each_list_wants() {
    let dns = TestDns::builder()
        .zone("dbl.test")
        .zone("uribl.test")
        .a("spammy.example.uribl.test", &["127.0.0.2"], 60)
        .start()
        .await;
    let report = checker(dns.addr)
        .check("www.spammy.example".parse().unwrap())
        .await;
    assert!(report.listed, "{report:?}");
    let asked: Vec<String> = dns.queries().into_iter().map(|(name, _)| name).collect();
    assert!(
        asked.iter().any(|q| q == "www.spammy.example.dbl.test."),
        "{asked:?}"
    );
    assert!(
        asked.iter().any(|q| q == "spammy.example.uribl.test."),
        "{asked:?}"
    );
    assert!(
        !asked.iter().any(|q| q == "www.spammy.example.uribl.test."),
        "{asked:?}"
    );
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn rbldnsd_dbl_lists_one_host_of_a_legitimate_site() {
    let rbl = Rbldnsd::start(&[
        // `abused.legit.example` alone, not its parent nor its siblings.
        (
            "dbl.test",
            ZoneData::Dnset(":127.0.1.102:Abused legit $\ntest\nabused.legit.example\n"),
        ),
        (
            "uribl.test",
            ZoneData::Dnset(":127.0.0.2:Listed $\ntest\nspammy.example\n"),
        ),
    ])
    .expect("rbldnsd starts");
    let filter = SessionFilter::new(checker(rbl.addr), SessionPolicy::default());
    // rbldnsd keeps no query log: the verdicts tell what was asked.
    let evaluation = filter
        .evaluate(&facts(
            "Subject: x\r\n\r\nhttps://abused.legit.example/login\r\n",
        ))
        .await;
    let Verdict::Reject(text) = &evaluation.verdict else {
        panic!("{evaluation:?}\n{}", rbl.log())
    };
    assert!(
        text.starts_with(
            "Service unavailable; host abused.legit.example in the message blocked using dbl.test"
        ),
        "{text}"
    );
    accepts_cleanly(
        &filter,
        &[
            "Subject: x\r\n\r\nhttps://legit.example/\r\n",
            "Subject: x\r\n\r\nhttps://www.legit.example/\r\n",
        ],
    )
    .await;
    let evaluation = filter
        .evaluate(&facts("Subject: x\r\n\r\nhttps://www.spammy.example/\r\n"))
        .await;
    assert!(evaluation.verdict.is_reject(), "{evaluation:?}");
}

/// An HBL-like list holding the hash of one address, and a plain domain list beside it.
async fn hbl_server(listed: &str) -> (TestDns, SessionFilter<HickoryResolver>) {
    let spec = HashSpec::spamhaus_email();
    let hashed = spec.email_target(listed).unwrap().to_string();
    let dns = TestDns::builder()
        .zone("hbl.test")
        .a(&format!("{hashed}.hbl.test"), &["127.0.3.2"], 60)
        .zone("dbl.test")
        .start()
        .await;
    let lists = vec![
        DnsList::from_spec("hbl.test=127.0.3.2", ListKind::Domain)
            .unwrap()
            .with_hash(spec),
        DnsList::from_spec("dbl.test", ListKind::Domain).unwrap(),
    ];
    let checker = checker_of(dns.addr, lists);
    let policy = SessionPolicy::default().check_sender_domain(true);
    (dns, SessionFilter::new(checker, policy))
}

fn email_facts(message: &str) -> SessionFacts {
    let reading = MessageReader::default().read(message.as_bytes(), None);
    let mut facts = facts(message);
    facts.message.emails = reading.targets.emails;
    facts
}

#[tokio::test]
async fn hashed_addresses_are_refused_from_headers_and_text_never_named() {
    let (dns, filter) = hbl_server("fraud.desk@example.net").await;
    let hashed = HashSpec::spamhaus_email()
        .email_target("fraud.desk@example.net")
        .unwrap()
        .to_string();
    let expected = format!(
        "Service unavailable; e-mail address in the message (hash {hashed}) blocked using hbl.test"
    );
    let messages = [
        // Reply-To in mixed case, with a +tag the normalisation drops.
        "From: a@example.org\r\nReply-To: \"Desk\" <Fraud.Desk+x@EXAMPLE.net>\r\nSubject: x\r\n\r\nhi\r\n",
        // In the body text.
        "From: a@example.org\r\nSubject: x\r\n\r\nWrite to fraud.desk@example.net today.\r\n",
        // In an HTML mailto link.
        "From: a@example.org\r\nContent-Type: text/html\r\nSubject: x\r\n\r\n<a href=\"mailto:FRAUD.DESK@example.net\">us</a>\r\n",
    ];
    for message in messages {
        let evaluation = filter.evaluate(&email_facts(message)).await;
        assert_eq!(
            evaluation.verdict,
            Verdict::Reject(expected.clone()),
            "{message}"
        );
        let shown = format!("{evaluation:?}");
        assert!(!shown.to_lowercase().contains("fraud.desk"), "{shown}");
        // The hashed name goes to the hashed list only, the domain to the plain list only.
        let asked: Vec<String> = dns.queries().into_iter().map(|(name, _)| name).collect();
        assert!(
            asked.iter().any(|q| q == &format!("{hashed}.hbl.test.")),
            "{asked:?}"
        );
        assert!(
            !asked.iter().any(|q| q.contains("_email.dbl.test")),
            "{asked:?}"
        );
        assert!(
            !asked.iter().any(|q| q == "example.net.hbl.test."),
            "{asked:?}"
        );
    }
    // Another address, and the listed one's domain alone, pass.
    let clean = "From: other.desk@example.net\r\nSubject: x\r\n\r\nsee example.net or https://example.net/\r\n";
    let evaluation = filter.evaluate(&email_facts(clean)).await;
    assert_eq!(evaluation.verdict, Verdict::Accept, "{evaluation:?}");
    assert!(evaluation.trouble.is_empty(), "{evaluation:?}");
    // The envelope sender, as a policy server sees it.
    let mut facts = SessionFacts::default();
    facts.sender = Some("Fraud.Desk@example.net".into());
    facts.client = Some("192.0.2.1".parse().unwrap());
    let evaluation = filter.evaluate(&facts).await;
    assert_eq!(
        evaluation.verdict,
        Verdict::Reject(format!(
            "Service unavailable; sender address (hash {hashed}) blocked using hbl.test"
        )),
        "{evaluation:?}"
    );
}

#[tokio::test]
#[ignore = "needs unbound"]
async fn both_transports_and_the_cache_look_up_name_servers() {
    use crate::support::unbound::Unbound;
    use dnsbl_check::resolver::cache::{AnswerCache, CacheConfig};
    use dnsbl_check::{Answer, DnsResolver, LookupErrorKind};

    let unbound = Unbound::start(
        &[
            "local-zone: \"example.test\" transparent",
            "local-data: \"example.test. 300 NS ns1.Host.test.\"",
            "local-data: \"example.test. 300 NS ns2.host.test.\"",
            "local-data: \"ns1.host.test. A 203.0.113.9\"",
        ],
        &[],
    )
    .expect("unbound starts");
    let hickory = crate::support::resolver_at(unbound.addr, Duration::from_secs(2), 1);
    let pooled = crate::support::pooled_resolver_at(
        unbound.addr,
        Duration::from_secs(2),
        dnsbl_check::resolver::ResolverOptions::DEFAULT_RETRIES,
    );
    let cached = AnswerCache::new(
        crate::support::resolver_at(unbound.addr, Duration::from_secs(2), 1),
        CacheConfig::default(),
    );
    let answers = [
        hickory.lookup_ns("example.test.").await,
        pooled.lookup_ns("example.test.").await,
        cached.lookup_ns("example.test.").await,
    ];
    for answer in answers {
        let Ok(Answer::Records { mut records, .. }) = answer else {
            panic!("{answer:?}\n{}", unbound.log())
        };
        records.sort();
        assert_eq!(records, ["ns1.host.test", "ns2.host.test"]);
    }
    // A name with no NS records is an answer, not an error.
    for answer in [
        hickory.lookup_ns("ns1.host.test.").await,
        pooled.lookup_ns("ns1.host.test.").await,
    ] {
        assert!(matches!(answer, Ok(Answer::NoRecords { .. })), "{answer:?}");
    }
    // A resolver that does not look NS records up says so.
    struct AOnly;
    impl DnsResolver for AOnly {
        async fn lookup_a(
            &self,
            _: &str,
        ) -> Result<Answer<std::net::Ipv4Addr>, dnsbl_check::LookupError> {
            unreachable!()
        }
        async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, dnsbl_check::LookupError> {
            unreachable!()
        }
    }
    let error = AOnly.lookup_ns("example.test.").await.unwrap_err();
    assert_eq!(error.kind(), LookupErrorKind::Unsupported);
}

#[tokio::test]
#[ignore = "needs unbound"]
async fn name_servers_and_addresses_of_message_domains_on_opted_in_ip_lists() {
    use crate::support::unbound::Unbound;
    use dnsbl_check::list::DomainCheck;

    let lists_dns = TestDns::builder()
        .zone("bl.test")
        .a("9.113.0.203.bl.test", &["127.0.0.2"], 60)
        .a("10.113.0.203.bl.test", &["127.0.0.2"], 60)
        .zone("pbl.test")
        .a("9.113.0.203.pbl.test", &["127.0.0.10"], 60)
        .start()
        .await;
    let unbound = Unbound::start(
        &[
            "local-zone: \"example.test\" transparent",
            "local-data: \"example.test. NS ns1.host.test.\"",
            "local-zone: \"host.test\" transparent",
            "local-data: \"ns1.host.test. A 203.0.113.9\"",
            "local-data: \"ns2.host.test. A 198.51.100.21\"",
            "local-zone: \"clean.test\" transparent",
            "local-data: \"clean.test. NS ns2.host.test.\"",
            "local-data: \"clean.test. A 198.51.100.20\"",
            "local-zone: \"web.test\" transparent",
            "local-data: \"web.test. A 203.0.113.10\"",
        ],
        &[("bl.test", lists_dns.addr), ("pbl.test", lists_dns.addr)],
    )
    .expect("unbound starts");
    let lists = vec![
        DnsList::from_spec("bl.test", ListKind::Ipv4)
            .unwrap()
            .with_domain_checks([DomainCheck::Ns, DomainCheck::A]),
        DnsList::from_spec("pbl.test", ListKind::Ipv4).unwrap(),
    ];
    let filter = SessionFilter::new(checker_of(unbound.addr, lists), SessionPolicy::default());
    let cases = [
        (
            "https://www.example.test/",
            "Service unavailable; domain example.test: name server ns1.host.test [203.0.113.9] \
             blocked using bl.test",
        ),
        (
            "https://web.test/",
            "Service unavailable; domain web.test: address [203.0.113.10] blocked using bl.test",
        ),
    ];
    for (url, expected) in cases {
        let evaluation = filter
            .evaluate(&facts(&format!("Subject: x\r\n\r\n{url}\r\n")))
            .await;
        assert_eq!(
            evaluation.verdict,
            Verdict::Reject(expected.into()),
            "{evaluation:?}\n{}",
            unbound.log()
        );
    }
    // The list without check_domains is never asked about the addresses behind domains.
    assert!(
        !lists_dns
            .queries()
            .iter()
            .any(|(name, _)| name.ends_with(".pbl.test.")),
        "{:?}",
        lists_dns.queries()
    );
    accepts_cleanly(&filter, &["Subject: x\r\n\r\nhttps://clean.test/\r\n"]).await;
    // The sender's domain too.
    let mut sender = SessionFacts::default();
    sender.client = Some("192.0.2.1".parse().unwrap());
    sender.sender = Some("someone@example.test".into());
    let evaluation = filter.evaluate(&sender).await;
    assert!(evaluation.verdict.is_reject(), "{evaluation:?}");
}

#[tokio::test]
async fn addresses_of_message_domains_are_checked_and_failures_are_trouble() {
    use crate::support::Behaviour;
    use dnsbl_check::list::DomainCheck;

    let dns = TestDns::builder()
        .zone("bl.test")
        .a("10.113.0.203.bl.test", &["127.0.0.2"], 60)
        .zone("web.test")
        .a("web.test", &["203.0.113.10"], 60)
        .zone("clean.test")
        .a("clean.test", &["198.51.100.20"], 60)
        .zone("broken.test")
        .on("broken.test", "*", Behaviour::ServFail)
        .start()
        .await;
    let lists = || {
        vec![
            DnsList::from_spec("bl.test", ListKind::Ipv4)
                .unwrap()
                .with_domain_checks([DomainCheck::A]),
        ]
    };
    let filter = SessionFilter::new(checker_of(dns.addr, lists()), SessionPolicy::default());
    let evaluation = filter
        .evaluate(&facts("Subject: x\r\n\r\nhttps://www.web.test/\r\n"))
        .await;
    assert_eq!(
        evaluation.verdict,
        Verdict::Reject(
            "Service unavailable; domain web.test: address [203.0.113.10] blocked using bl.test"
                .into()
        ),
        "{evaluation:?}"
    );
    accepts_cleanly(&filter, &["Subject: x\r\n\r\nhttps://clean.test/\r\n"]).await;
    // A domain whose addresses cannot be looked up is trouble, never clean.
    let broken = facts("Subject: x\r\n\r\nhttps://broken.test/\r\n");
    let evaluation = filter.evaluate(&broken).await;
    assert!(
        evaluation
            .trouble
            .iter()
            .any(|t| t.to_string().starts_with("domain broken.test: address:")),
        "{evaluation:?}"
    );
    let closed = SessionFilter::new(
        checker_of(dns.addr, lists()),
        SessionPolicy::default().fail_closed(true),
    );
    let evaluation = closed.evaluate(&broken).await;
    assert!(
        matches!(evaluation.verdict, Verdict::Tempfail(_)),
        "{evaluation:?}"
    );
    // At most 10 domains a message are resolved; the rest is said to be unchecked.
    let many: String = (0..12)
        .map(|i| format!("https://d{i}.clean.test.example{i}/ "))
        .collect();
    let evaluation = filter
        .evaluate(&facts(&format!("Subject: x\r\n\r\n{many}\r\n")))
        .await;
    assert!(
        evaluation
            .unchecked
            .iter()
            .any(|u| u.to_string().contains("more than 10 domains")),
        "{evaluation:?}"
    );
}

#[tokio::test]
async fn host_names_are_not_listed_as_checked_without_a_host_list() {
    let dns = TestDns::builder().zone("uribl.test").start().await;
    let registrable_only = vec![
        DnsList::from_spec("uribl.test", ListKind::Domain)
            .unwrap()
            .with_query_form(QueryForm::Registrable),
    ];
    let filter = SessionFilter::new(
        checker_of(dns.addr, registrable_only),
        SessionPolicy::default(),
    );
    let evaluation = filter
        .evaluate(&facts(
            "Subject: x\r\n\r\nhttps://abused.legit.example/\r\n",
        ))
        .await;
    let checked: Vec<String> = evaluation.checked.iter().map(ToString::to_string).collect();
    assert_eq!(checked, ["domain legit.example in the message"]);
    let asked: Vec<String> = dns.queries().into_iter().map(|(name, _)| name).collect();
    assert_eq!(asked, ["legit.example.uribl.test."]);
}
