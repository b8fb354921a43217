//! Session evaluation (the `mail` feature) end to end: session facts and messages in,
//! verdicts out, against an in-process DNS server.

use std::time::Duration;

use crate::support::{Behaviour, TestDns};
use dnsbl_check::list::HopScope;
use dnsbl_check::mail::{Hop, MessageReader, SessionFacts, SessionFilter, SessionPolicy, Verdict};
use dnsbl_check::{Checker, DnsList, HickoryResolver, ListKind, Zone};

/// `bl.test` lists 192.0.2.9; `pbl.test` (last external hop only) lists 192.0.2.9 and
/// 198.51.100.7; `dbl.test` lists spam.example; `fail.test` fails.
async fn server() -> TestDns {
    TestDns::builder()
        .zone("bl.test")
        .a("9.2.0.192.bl.test", &["127.0.0.2"], 60)
        .txt("9.2.0.192.bl.test", &["bad relay"], 60)
        .zone("pbl.test")
        .a("9.2.0.192.pbl.test", &["127.0.0.10"], 60)
        .a("7.100.51.198.pbl.test", &["127.0.0.10"], 60)
        .zone("dbl.test")
        .a("spam.example.dbl.test", &["127.0.1.2"], 60)
        .zone("fail.test")
        .on("*.fail.test", "*", Behaviour::ServFail)
        .start()
        .await
}

fn filter(
    dns: &TestDns,
    lists: Vec<DnsList>,
    policy: SessionPolicy,
) -> SessionFilter<HickoryResolver> {
    let resolver = crate::support::resolver_at(dns.addr, Duration::from_millis(500), 0);
    let checker = Checker::builder()
        .lists(lists)
        .health_checks(false)
        .build_with(resolver)
        .unwrap();
    SessionFilter::new(checker, policy)
}

fn list(spec: &str, kind: ListKind) -> DnsList {
    DnsList::from_spec(spec, kind).unwrap()
}

fn pbl() -> DnsList {
    list("pbl.test", ListKind::Ip).with_hops(HopScope::LastExternal)
}

#[tokio::test]
async fn last_external_lists_judge_only_the_last_external_hop() {
    let dns = server().await;
    let filter = filter(&dns, vec![pbl()], SessionPolicy::default());
    let mut facts = SessionFacts::default();
    // 192.0.2.9 is on the PBL, but as an earlier hop (an end user's provider relayed it):
    // not a reason to refuse.
    facts.message.hops = vec![
        Hop::new("203.0.113.1".parse().unwrap(), true),
        Hop::new("192.0.2.9".parse().unwrap(), false),
    ];
    let evaluation = filter.evaluate(&facts).await;
    assert_eq!(evaluation.verdict, Verdict::Accept, "{evaluation:?}");
    assert!(
        !dns.queries()
            .iter()
            .any(|(name, _)| name.starts_with("9.2.0.192."))
    );
    // As the last external hop, it is.
    facts.message.hops = vec![Hop::new("198.51.100.7".parse().unwrap(), true)];
    let evaluation = filter.evaluate(&facts).await;
    assert_eq!(
        evaluation.verdict,
        Verdict::Reject("Service unavailable; relay [198.51.100.7] blocked using pbl.test".into())
    );
}

#[tokio::test]
async fn a_forwarded_message_is_judged_by_its_untrusted_hops_and_domains() {
    let dns = server().await;
    let lists = vec![
        list("bl.test", ListKind::Ip),
        pbl(),
        list("dbl.test", ListKind::Domain),
    ];
    let trusted = ["203.0.113.0/24".parse().unwrap()];
    let policy = SessionPolicy::default().trusted_networks(trusted);
    let filter = filter(&dns, lists, policy);
    let reader = MessageReader::default().trusted_networks(trusted);
    let message = "Received: from fwd.example.org (fwd.example.org [203.0.113.5]) by mx.example.test\r\n\
        Received: from out.example.net (out.example.net [198.51.100.77]) by fwd.example.org\r\n\
        Received: from pc (pc.example.net [192.0.2.9]) by out.example.net\r\n\
        Subject: fwd\r\n\r\nhello\r\n";
    let reading = reader.read(message.as_bytes(), Some("203.0.113.5".parse().unwrap()));
    let mut facts = SessionFacts::client("203.0.113.5".parse().unwrap());
    facts.message.hops = reading.targets.hops;
    let evaluation = filter.evaluate(&facts).await;
    assert_eq!(
        evaluation.note.map(|note| note.as_str()),
        Some("trusted client not checked")
    );
    assert_eq!(
        evaluation.verdict,
        Verdict::Reject(
            "Service unavailable; relay [192.0.2.9] blocked using bl.test; bad relay".into()
        ),
        "{evaluation:?}"
    );

    // Domains in the message, tagged in tag-only mode.
    let tagging = SessionFilter::new(
        filter.checker().clone(),
        SessionPolicy::default().tag_only(true),
    );
    let message = "Subject: x\r\n\r\nsee https://www.spam.example/ now\r\n";
    let reading = MessageReader::default().read(message.as_bytes(), None);
    let mut facts = SessionFacts::default();
    facts.message.domains = reading.targets.domains;
    assert_eq!(
        tagging.evaluate(&facts).await.verdict,
        Verdict::Tag("domain spam.example in the message listed by dbl.test (127.0.1.2)".into())
    );
}

#[tokio::test]
async fn failures_fail_open_or_closed_and_keys_never_show() {
    let dns = server().await;
    let failing = vec![list("fail.test", ListKind::Ip)];
    let facts = SessionFacts::client("198.51.100.1".parse().unwrap());
    let open = filter(&dns, failing.clone(), SessionPolicy::default());
    let evaluation = open.evaluate(&facts).await;
    assert_eq!(evaluation.verdict, Verdict::Accept);
    assert_eq!(evaluation.trouble.len(), 1, "{evaluation:?}");
    let closed = filter(&dns, failing, SessionPolicy::default().fail_closed(true));
    assert_eq!(
        closed.evaluate(&facts).await.verdict,
        Verdict::Tempfail("Service temporarily unavailable; DNS list lookups failed".into())
    );

    // A keyed zone is named by its public name.
    let key = "secretkeyabcdefghijklmnopq";
    let keyed_dns = TestDns::builder()
        .zone(&format!("{key}.bl.test"))
        .a(&format!("9.2.0.192.{key}.bl.test"), &["127.0.0.2"], 60)
        .txt(
            &format!("9.2.0.192.{key}.bl.test"),
            &[&format!("listed in {key}.bl.test")],
            60,
        )
        .start()
        .await;
    let keyed = DnsList::new(
        "keyed",
        Zone::with_key("bl.test", key).unwrap(),
        ListKind::Ip,
    );
    let filter = filter(&keyed_dns, vec![keyed], SessionPolicy::default());
    let verdict = filter
        .evaluate(&SessionFacts::client("192.0.2.9".parse().unwrap()))
        .await
        .verdict;
    let text = verdict.text().unwrap();
    assert!(
        text.starts_with("Service unavailable; client [192.0.2.9] blocked using bl.test"),
        "{text}"
    );
    assert!(!text.contains(key), "{text}");
}

#[test]
fn a_config_says_which_hops_a_list_applies_to() {
    let list: DnsList = toml::from_str("zone = \"pbl.test\"\nhops = \"last-external\"").unwrap();
    assert_eq!(list.hops(), HopScope::LastExternal);
    let list: DnsList = toml::from_str("zone = \"bl.test\"").unwrap();
    assert_eq!(list.hops(), HopScope::Untrusted);
    assert!(toml::from_str::<DnsList>("zone = \"bl.test\"\nhops = \"first\"").is_err());
}

#[tokio::test]
async fn decoy_links_and_addresses_do_not_hide_a_listed_domain() {
    let dns = server().await;
    let filter = filter(
        &dns,
        vec![list("dbl.test", ListKind::Domain)],
        SessionPolicy::default(),
    );
    // Two hundred e-mail addresses and forty links to harmless domains, then the listed
    // one: links are checked before addresses, and forty are far below the cap.
    let mut html = String::new();
    for i in 0..200 {
        html.push_str(&format!("<p>sales@shop{i}.example</p>\r\n"));
    }
    for i in 0..40 {
        html.push_str(&format!(
            "<a href=\"http://www.decoy{i}.example/\">{i}</a>\r\n"
        ));
    }
    html.push_str("<a href=\"http://www.spam.example/\">x</a>\r\n");
    let message = format!("Subject: x\r\nContent-Type: text/html\r\n\r\n{html}");
    let reading = MessageReader::default().read(message.as_bytes(), None);
    assert!(reading.capped, "more than 200 domains in all");
    let mut facts = SessionFacts::default();
    facts.message.domains = reading.targets.domains;
    let evaluation = filter.evaluate(&facts).await;
    assert_eq!(
        evaluation.verdict,
        Verdict::Reject(
            "Service unavailable; domain spam.example in the message blocked using dbl.test".into()
        )
    );
}

#[tokio::test]
async fn unchecked_messages_are_suspicious_on_request() {
    let dns = server().await;
    let lists = || vec![list("dbl.test", ListKind::Domain)];
    let mut facts = SessionFacts::default();
    facts.unchecked = vec!["message cut at 100 bytes".into()];
    let lenient = filter(&dns, lists(), SessionPolicy::default());
    let evaluation = lenient.evaluate(&facts).await;
    assert_eq!(evaluation.verdict, Verdict::Accept);
    assert_eq!(evaluation.unchecked, ["message cut at 100 bytes".into()]);
    let strict = filter(
        &dns,
        lists(),
        SessionPolicy::default().unchecked_is_suspicious(true),
    );
    assert_eq!(
        strict.evaluate(&facts).await.verdict,
        Verdict::Reject(
            "Service unavailable; message not fully checked: message cut at 100 bytes".into()
        )
    );
    let tagging = filter(
        &dns,
        lists(),
        SessionPolicy::default()
            .unchecked_is_suspicious(true)
            .tag_only(true),
    );
    assert_eq!(
        tagging.evaluate(&facts).await.verdict,
        Verdict::Tag("message not fully checked: message cut at 100 bytes".into())
    );
}
