//! The faults of `faults.rs` that a real rbldnsd can express: answers outside 127/8,
//! operator codes, both mixed with listings in one answer, REFUSED for a zone it does not
//! serve, a server that stops answering (SIGSTOP), a server that is gone (closed port), and
//! TXT oddities.
//!
//! Each test starts its own rbldnsd on a free loopback port with zones it writes itself.
//! Run with `cargo test -- --ignored` on a machine with rbldnsd installed.
#![cfg(unix)]

use std::time::{Duration, Instant};

use crate::support::rbldnsd::{Rbldnsd, ZoneData};
use crate::support::{failure_kind, outcome};
use dnsbl_check::{Checker, DnsList, HickoryResolver, ListKind, LookupErrorKind, Outcome};

fn resolver(rbl: &Rbldnsd, timeout: Duration, attempts: usize) -> HickoryResolver {
    crate::support::resolver_at(rbl.addr, timeout, attempts)
}

fn ipv4_list(spec: &str) -> DnsList {
    DnsList::from_spec(spec, ListKind::Ipv4).unwrap()
}

/// `bl.test` has two datasets, so one name can get codes from both at once.
const MAIN: &str = "\
$SOA 60 ns.bl.test hostmaster.bl.test 1 3600 600 86400 45
:127.0.0.2:Listed $
127.0.0.2
192.0.2.10
192.0.2.30
192.0.2.31
192.0.2.32 :198.51.100.7:parked
192.0.2.33 :127.255.255.254:open resolver
";
const SECOND: &str = "\
192.0.2.30 :198.51.100.7:parked
192.0.2.31 :127.255.255.255:rate limited
192.0.2.33 :198.51.100.8:parked
";

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn answers_outside_127_8_and_operator_codes_alone_and_mixed() {
    let rbl = Rbldnsd::start(&[
        ("bl.test", ZoneData::Ip4Set(MAIN)),
        ("bl.test", ZoneData::Ip4Set(SECOND)),
    ])
    .unwrap();
    let checker = Checker::builder()
        .list(ipv4_list("bl.test"))
        .build_with(resolver(&rbl, Duration::from_secs(1), 1))
        .unwrap();
    let cases = [
        ("192.0.2.10", "listed"),
        ("192.0.2.11", "not_listed"),
        ("192.0.2.30", "invalid"),    // 127.0.0.2 + 198.51.100.7
        ("192.0.2.31", "list_error"), // 127.0.0.2 + 127.255.255.255
        ("192.0.2.32", "invalid"),    // 198.51.100.7 alone
        ("192.0.2.33", "invalid"),    // 127.255.255.254 + 198.51.100.8
    ];
    for (target, status) in cases {
        let report = checker.check(target.parse().unwrap()).await;
        let got = outcome(&report, "bl.test");
        assert_eq!(got.status(), status, "{target}: {report:?}\n{}", rbl.log());
        assert_eq!(report.listed, status == "listed", "{target}");
    }
    let report = checker.check("192.0.2.30".parse().unwrap()).await;
    let Outcome::Invalid(invalid) = outcome(&report, "bl.test") else {
        panic!("{report:?}")
    };
    let mut codes: Vec<String> = invalid.codes.iter().map(|c| c.to_string()).collect();
    codes.sort();
    assert_eq!(codes, ["127.0.0.2", "198.51.100.7"], "both codes kept");
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn a_zone_rbldnsd_does_not_serve_is_refused_never_clean() {
    let rbl = Rbldnsd::start(&[("bl.test", ZoneData::Ip4Set(MAIN))]).unwrap();
    let checker = Checker::builder()
        .list(ipv4_list("bl.test"))
        .list(ipv4_list("elsewhere.test"))
        .build_with(resolver(&rbl, Duration::from_secs(1), 1))
        .unwrap();
    for target in ["192.0.2.10", "192.0.2.11"] {
        let report = checker.check(target.parse().unwrap()).await;
        assert_eq!(
            failure_kind(outcome(&report, "elsewhere.test")),
            LookupErrorKind::Refused,
            "{report:?}"
        );
        assert_eq!(
            outcome(&report, "bl.test").is_listed(),
            target == "192.0.2.10"
        );
    }
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn a_stopped_rbldnsd_times_out_in_bounded_time_and_the_other_still_answers() {
    let good = Rbldnsd::start(&[(
        "good.test",
        ZoneData::Ip4Set(":127.0.0.2:\n127.0.0.2\n192.0.2.10\n"),
    )])
    .unwrap();
    let stopped = Rbldnsd::start(&[("bl.test", ZoneData::Ip4Set(MAIN))]).unwrap();
    // SAFETY: sends a signal to our own child process.
    assert_eq!(
        unsafe { libc::kill(stopped.pid() as libc::pid_t, libc::SIGSTOP) },
        0
    );
    let timeout = Duration::from_millis(500);
    let checker_good = Checker::builder()
        .list(ipv4_list("good.test"))
        .build_with(resolver(&good, timeout, 1))
        .unwrap();
    let checker_stopped = Checker::builder()
        .list(ipv4_list("bl.test"))
        .build_with(resolver(&stopped, timeout, 1))
        .unwrap();
    let started = Instant::now();
    let target = "192.0.2.10".parse().unwrap();
    let (silent, answered) = futures::join!(
        checker_stopped.check(target),
        checker_good.check("192.0.2.10".parse().unwrap())
    );
    let elapsed = started.elapsed();
    assert_eq!(
        failure_kind(outcome(&silent, "bl.test")),
        LookupErrorKind::Timeout,
        "{silent:?}"
    );
    assert!(answered.listed, "{answered:?}");
    // Probe, then lookup: each at most the timeout on each of the two tries.
    let bound = timeout * 2 * 2 + Duration::from_millis(1500);
    assert!(elapsed <= bound, "took {elapsed:?}");
    // SAFETY: as above.
    unsafe { libc::kill(stopped.pid() as libc::pid_t, libc::SIGCONT) };
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn an_exited_rbldnsd_fails_at_once() {
    let rbl = Rbldnsd::start(&[("bl.test", ZoneData::Ip4Set(MAIN))]).unwrap();
    let timeout = Duration::from_millis(400);
    let checker = Checker::builder()
        .list(ipv4_list("bl.test"))
        .build_with(resolver(&rbl, timeout, 1))
        .unwrap();
    drop(rbl); // killed: nothing listens on its port any more
    let started = Instant::now();
    let report = checker.check("192.0.2.10".parse().unwrap()).await;
    let elapsed = started.elapsed();
    // Its port is closed: the ICMP error fails the lookup at once, well within one timeout.
    let kind = failure_kind(outcome(&report, "bl.test"));
    assert_eq!(kind, LookupErrorKind::Network, "{report:?}");
    assert!(!report.listed);
    assert!(elapsed < timeout, "{elapsed:?}");
}

#[tokio::test]
#[ignore = "needs rbldnsd"]
async fn txt_templates_long_substituted_and_not_utf8() {
    let long = "L".repeat(240);
    let data = format!(
        ":127.0.0.2:default $\n127.0.0.2\n\
         192.0.2.40 :127.0.0.2:{long} for $ end\n\
         192.0.2.41 :127.0.0.2:caf\u{e9} \u{20ac}5 \u{fffd}\n\
         192.0.2.42 :127.0.0.2:\n\
         192.0.2.43\n"
    );
    let rbl = Rbldnsd::start(&[("bl.test", ZoneData::Ip4Set(&data))]).unwrap();
    // A Latin-1 byte, not UTF-8: written into the zone file as is, then reloaded.
    let mut bytes = data.into_bytes();
    bytes.extend_from_slice(b"192.0.2.44 :127.0.0.2:na\xefve\n");
    std::fs::write(rbl.dir().join("zone0.ip4set"), &bytes).unwrap();
    // SAFETY: sends a signal to our own child process.
    assert_eq!(
        unsafe { libc::kill(rbl.pid() as libc::pid_t, libc::SIGHUP) },
        0
    );

    let checker = Checker::builder()
        .list(ipv4_list("bl.test"))
        .build_with(resolver(&rbl, Duration::from_secs(1), 1))
        .unwrap();
    let reasons = |target: &'static str| {
        let checker = checker.clone();
        async move {
            let report = checker.check(target.parse().unwrap()).await;
            match outcome(&report, "bl.test") {
                Outcome::Listed(listing) => Some(listing.reasons.clone()),
                Outcome::NotListed => None,
                other => panic!("{target}: {other:?}"),
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let latin1 = loop {
        if let Some(reasons) = reasons("192.0.2.44").await {
            break reasons;
        }
        assert!(Instant::now() < deadline, "not reloaded: {}", rbl.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(latin1, ["na\u{fffd}ve"]);

    let long_reason = reasons("192.0.2.40").await.unwrap();
    assert_eq!(long_reason.len(), 1, "{long_reason:?}");
    assert!(
        long_reason[0].starts_with(&long),
        "a long template keeps its text: {long_reason:?}"
    );
    eprintln!(
        "rbldnsd TXT of a {}-byte template: {} bytes",
        long.len() + 20,
        long_reason[0].len()
    );
    assert_eq!(reasons("192.0.2.41").await.unwrap(), ["café €5 \u{fffd}"]);
    assert!(
        reasons("192.0.2.42")
            .await
            .unwrap()
            .iter()
            .all(String::is_empty),
        "an empty template gives no reason text"
    );
    assert_eq!(reasons("192.0.2.43").await.unwrap(), ["default 192.0.2.43"]);
}
