//! The `monitor` module against the in-process DNS server: a list whose answers change
//! between rounds (one server per "moment"), tracked through a state file.

use std::time::Duration;

use dnsbl_check::hosts::HostSource;
use dnsbl_check::monitor::{EventKind, PairStatus, StateStore, TrackerConfig, Watcher};
use dnsbl_check::{Checker, DnsList, HickoryResolver, ListKind, Target};

use crate::support::{Behaviour, TestDns, resolver_at};

const ZONE: &str = "bl.test";
const DBL: &str = "dbl.test";

/// A server for one moment: `listed` addresses (as reversed names) with code 127.0.0.2 on
/// the IP list, `bad.example` on the domain list, and the lists' test points.
async fn moment(listed: &[&str], refused: bool) -> TestDns {
    let mut builder = TestDns::builder()
        .healthy_ip_zone(ZONE)
        .healthy_domain_zone(DBL)
        .a("bad.example.dbl.test", &["127.0.1.2"], 60);
    for name in listed {
        builder = builder.a(&format!("{name}.{ZONE}"), &["127.0.0.2"], 60);
    }
    if refused {
        builder = builder.on("3.2.0.192.bl.test", "A", Behaviour::Refused);
    }
    builder.start().await
}

fn checker(dns: &TestDns) -> Checker<HickoryResolver> {
    Checker::builder()
        .list(DnsList::from_spec(ZONE, ListKind::Ip).unwrap())
        .list(DnsList::from_spec(DBL, ListKind::Domain).unwrap())
        .build_with(resolver_at(dns.addr, Duration::from_millis(500), 1))
        .unwrap()
}

fn specs() -> Vec<dnsbl_check::TargetSpec> {
    ["192.0.2.0/30", "bad.example"]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect()
}

/// One round against `dns`, going on from the state file, saved before returning.
async fn round(store: &mut StateStore, dns: &TestDns, confirm: u32) -> Vec<(EventKind, String)> {
    let config = TrackerConfig {
        confirm,
        ..TrackerConfig::default()
    };
    let tracker = store.load(config).unwrap();
    let mut watcher = Watcher::with_tracker(checker(dns), specs(), tracker);
    let round = watcher.run_round().await;
    assert!(round.complete);
    assert_eq!(round.checked, 5);
    store
        .save_round(watcher.tracker_mut(), &round.events, &["hook"])
        .unwrap();
    round
        .events
        .iter()
        .map(|event| (event.event, event.target.to_string()))
        .collect()
}

#[tokio::test]
async fn rounds_over_a_changing_list_through_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut store = StateStore::open(&path).unwrap();
    let clean = moment(&[], false).await;
    let listed = moment(&["1.2.0.192"], false).await;
    let other = moment(&["1.2.0.192", "2.2.0.192"], true).await;

    // Baseline: silent, though bad.example is listed on the domain list.
    assert_eq!(round(&mut store, &clean, 2).await, []);
    // A listing seen once is not yet news with --confirm 2.
    assert_eq!(round(&mut store, &listed, 2).await, []);
    // Reopening the state file between rounds loses nothing.
    drop(store);
    let mut store = StateStore::open(&path).unwrap();
    assert_eq!(
        round(&mut store, &listed, 2).await,
        [(EventKind::Listed, "192.0.2.1".to_owned())]
    );
    assert_eq!(round(&mut store, &listed, 2).await, []);
    // A second listing and a list refusing one address, confirmed together.
    assert_eq!(round(&mut store, &other, 2).await, []);
    let mut events = round(&mut store, &other, 2).await;
    events.sort();
    assert_eq!(
        events,
        [
            (EventKind::Listed, "192.0.2.2".to_owned()),
            (EventKind::Trouble, "192.0.2.3".to_owned())
        ]
    );
    // Back to clean: delistings and the recovery.
    assert_eq!(round(&mut store, &clean, 2).await, []);
    let mut events = round(&mut store, &clean, 2).await;
    events.sort();
    assert_eq!(
        events,
        [
            (EventKind::Delisted, "192.0.2.1".to_owned()),
            (EventKind::Delisted, "192.0.2.2".to_owned()),
            (EventKind::Recovered, "192.0.2.3".to_owned())
        ]
    );

    let tracker = store.load(TrackerConfig::default()).unwrap();
    let domain: Target = "bad.example".parse().unwrap();
    assert_eq!(
        tracker.status(&domain, DBL),
        Some(&PairStatus::listed(["127.0.1.2".parse().unwrap()]))
    );
    // The domain list does not take addresses, nor the IP list domains: 4 + 1 pairs.
    assert_eq!(tracker.len(), 5);
    assert_eq!(store.history(&[]).unwrap().len(), 6);
    // One outbox entry per round with events.
    assert_eq!(store.pending("hook").unwrap().len(), 3);
}

#[tokio::test]
async fn counts_per_spec_and_list() {
    let dns = moment(&["1.2.0.192"], true).await;
    let mut watcher = Watcher::new(checker(&dns), specs(), TrackerConfig::default());
    let round = watcher.run_round().await;
    let counts: Vec<(&str, &str, u64, u64, u64)> = round
        .counts
        .iter()
        .map(|c| (&*c.spec, &*c.list, c.checked, c.listed, c.trouble))
        .collect();
    assert_eq!(
        counts,
        [
            ("192.0.2.0/30", ZONE, 4, 1, 1),
            ("192.0.2.0/30", DBL, 0, 0, 0),
            ("bad.example", ZONE, 0, 0, 0),
            ("bad.example", DBL, 1, 1, 0),
        ]
    );
    let refused: Target = "192.0.2.3".parse().unwrap();
    assert_eq!(
        watcher.tracker().status(&refused, ZONE),
        Some(&PairStatus::Trouble(dnsbl_check::OutcomeKind::Refused))
    );
    assert_eq!(watcher.tracker().statuses().count(), 5);
}

#[tokio::test]
async fn events_carry_the_lists_lookup_url() {
    let dns = moment(&["1.2.0.192"], false).await;
    let list = DnsList::from_spec(ZONE, ListKind::Ip)
        .unwrap()
        .with_lookup_url("https://bl.test/lookup?ip={ip}")
        .unwrap();
    let checker = Checker::builder()
        .list(list)
        .build_with(resolver_at(dns.addr, Duration::from_millis(500), 1))
        .unwrap();
    let config = TrackerConfig {
        report_baseline: true,
        ..TrackerConfig::default()
    };
    let mut watcher = Watcher::new(checker, specs(), config);
    let round = watcher.run_round().await;
    assert_eq!(round.events.len(), 1, "{:?}", round.events);
    assert_eq!(
        round.events[0].lookup_url.as_deref(),
        Some("https://bl.test/lookup?ip=192.0.2.1")
    );
}

#[tokio::test]
async fn watched_domains_bring_their_mail_servers() {
    let dns = TestDns::builder()
        .healthy_ip_zone(ZONE)
        .zone("example.test")
        .a("25.2.0.192.bl.test", &["127.0.0.2"], 60)
        .mx(
            "example.test",
            &[(10, "mx1.example.test"), (20, "mx2.example.test")],
            60,
        )
        .a("mx1.example.test", &["192.0.2.25"], 60)
        .a("mx2.example.test", &["192.0.2.26"], 60)
        .start()
        .await;
    let checker = Checker::builder()
        .list(DnsList::from_spec(ZONE, ListKind::Ip).unwrap())
        .build_with(resolver_at(dns.addr, Duration::from_millis(500), 1))
        .unwrap();
    // 192.0.2.26 is also given on its own: checked once, counted as itself.
    let specs = vec![
        "example.test".parse().unwrap(),
        "192.0.2.26".parse().unwrap(),
    ];
    let config = TrackerConfig {
        report_baseline: true,
        ..TrackerConfig::default()
    };
    let mut watcher = Watcher::new(checker, specs, config).expand_domains(HostSource::Mx);
    let round = watcher.run_round().await;
    assert_eq!(
        round.checked, 3,
        "the domain, mx1's address, 192.0.2.26 once"
    );
    assert!(round.host_trouble.is_empty(), "{:?}", round.host_trouble);
    assert_eq!(round.events.len(), 1, "{:?}", round.events);
    let event = &round.events[0];
    assert_eq!(event.target.to_string(), "192.0.2.25");
    assert_eq!(event.via.as_ref().unwrap().as_str(), "example.test");
    assert_eq!(event.host.as_ref().unwrap().as_str(), "mx1.example.test");
    let json = serde_json::to_value(event).unwrap();
    assert_eq!(json["via"], "example.test");
    assert_eq!(json["host"], "mx1.example.test");
    let counts: Vec<(&str, u64, u64)> = round
        .counts
        .iter()
        .map(|c| (&*c.spec, c.checked, c.listed))
        .collect();
    assert_eq!(counts, [("example.test", 1, 1), ("192.0.2.26", 1, 0)]);
    assert_eq!(watcher.tracker().len(), 2);
}

/// A resolver that goes blind after the baseline: the listing is not announced as delisted,
/// the pair becomes trouble, and no second `listed` comes when sight returns.
#[tokio::test]
async fn a_resolver_gone_blind_is_trouble_not_a_delisting() {
    let seeing = moment(&["1.2.0.192"], false).await;
    let blind = TestDns::builder().zone(ZONE).zone(DBL).start().await;
    let checker = Checker::builder()
        .list(DnsList::from_spec(ZONE, ListKind::Ipv4).unwrap())
        // Fresh for the blind rounds below, stale once sight returns.
        .health_interval(Duration::from_millis(1500))
        .build_with(crate::checker::Switchable::new(&seeing, &blind))
        .unwrap();
    let specs = vec!["192.0.2.1".parse().unwrap()];
    let mut watcher = Watcher::new(checker, specs, TrackerConfig::default());
    assert_eq!(
        events(&mut watcher).await,
        [],
        "the baseline: listed, silent"
    );

    // Blind while the health probed at the baseline is still fresh: the checks read "not
    // listed", but the round that would confirm it probes the test point again.
    watcher.checker().resolver().set_blind(true);
    let mut blind_rounds = Vec::new();
    for _ in 0..3 {
        blind_rounds.push(events(&mut watcher).await);
    }
    assert_eq!(blind_rounds, [vec![], vec![], vec![EventKind::Trouble]]);
    let target: Target = "192.0.2.1".parse().unwrap();
    assert!(matches!(
        watcher.tracker().status(&target, ZONE),
        Some(PairStatus::Trouble(_))
    ));

    // Sight returns: the listing it had is no change.
    watcher.checker().resolver().set_blind(false);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut seeing_rounds = Vec::new();
    for _ in 0..2 {
        seeing_rounds.push(events(&mut watcher).await);
    }
    assert_eq!(seeing_rounds, [vec![], vec![EventKind::Recovered]]);
    assert_eq!(
        watcher.tracker().status(&target, ZONE),
        Some(&PairStatus::listed(["127.0.0.2".parse().unwrap()]))
    );
}

async fn events<R: dnsbl_check::DnsResolver>(watcher: &mut Watcher<R>) -> Vec<EventKind> {
    let round = watcher.run_round().await;
    round.events.iter().map(|event| event.event).collect()
}

/// Answers at once, except the test point 127.0.0.2, which takes `probe` to answer: lists
/// 192.0.2.1 while `listed`.
struct SlowProbe {
    listed: std::sync::atomic::AtomicBool,
    probe: Duration,
}

impl dnsbl_check::DnsResolver for SlowProbe {
    async fn lookup_a(
        &self,
        name: &str,
    ) -> Result<dnsbl_check::Answer<std::net::Ipv4Addr>, dnsbl_check::LookupError> {
        let listed = match name {
            "2.0.0.127.bl.test." => {
                tokio::time::sleep(self.probe).await;
                true
            }
            "1.2.0.192.bl.test." => self.listed.load(std::sync::atomic::Ordering::SeqCst),
            _ => false,
        };
        Ok(if listed {
            dnsbl_check::Answer::Records {
                records: vec![std::net::Ipv4Addr::new(127, 0, 0, 2)],
                ttl: 60,
            }
        } else {
            dnsbl_check::Answer::NoRecords {
                nxdomain: true,
                negative_ttl: None,
            }
        })
    }

    async fn lookup_txt(
        &self,
        _: &str,
    ) -> Result<dnsbl_check::Answer<String>, dnsbl_check::LookupError> {
        Ok(dnsbl_check::Answer::NoRecords {
            nxdomain: true,
            negative_ttl: None,
        })
    }
}

/// A delisting seen while another check of the round is probing the list's test points: its
/// recheck waits for that probe, so the round must go on reading its other checks (the probe
/// runs in one of them) before it confirms the delisting. A round that waited for the recheck
/// first never ended.
#[tokio::test]
async fn a_delisting_is_confirmed_while_another_check_of_the_round_probes() {
    let probe = Duration::from_millis(300);
    let checker = Checker::builder()
        .list(DnsList::from_spec(ZONE, ListKind::Ipv4).unwrap())
        .health_interval(Duration::from_millis(100))
        .deadline(Duration::from_secs(30))
        .build_with(SlowProbe {
            listed: true.into(),
            probe,
        })
        .unwrap();
    // 192.0.2.0 is checked first: it finds the health stale and probes; 192.0.2.1, checked
    // meanwhile on the health it had, reads "not listed" at once.
    let specs = vec!["192.0.2.0/31".parse().unwrap()];
    let config = TrackerConfig {
        confirm: 1,
        ..TrackerConfig::default()
    };
    let mut watcher = Watcher::new(checker, specs, config);
    assert_eq!(events(&mut watcher).await, [], "the baseline");
    watcher
        .checker()
        .resolver()
        .listed
        .store(false, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await; // the health goes stale
    let round = tokio::time::timeout(Duration::from_secs(5), watcher.run_round())
        .await
        .expect("the round ended");
    assert!(round.complete);
    assert_eq!(round.checked, 2);
    let events: Vec<_> = round
        .events
        .iter()
        .map(|event| (event.event, event.target.to_string()))
        .collect();
    assert_eq!(events, [(EventKind::Delisted, "192.0.2.1".to_owned())]);
}
