//! A Spamhaus DQS key is a secret: it goes on the wire in query names and nowhere else. Not in
//! `Display`, `Debug`, serialised output, error messages, nor the library's logs.
//!
//! Every DNS packet goes to a test server on 127.0.0.1 that the test starts.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Behaviour, TestDns};
use dnsbl_check::{
    Checker, Config, DnsList, HickoryResolver, ListKind, Outcome, Target, Zone, presets,
};
use tracing_subscriber::EnvFilter;

/// 26 characters, like a real DQS key.
const KEY: &str = "k3yq8zpw2mvx7rt5nb4hd9jcf6";

/// Fails if `text` holds the key, or any 8 characters of it in a row, in any case.
#[track_caller]
fn assert_hidden(text: &str) {
    let lower = text.to_ascii_lowercase();
    for window in KEY.as_bytes().windows(8) {
        let part = std::str::from_utf8(window).unwrap();
        assert!(!lower.contains(part), "key ({part}...) shown in: {text}");
    }
}

fn keyed_zone_name(service: &str) -> String {
    format!("{KEY}.{service}.dq.spamhaus.net")
}

// ---------------------------------------------------------------------------------------------
// Values: Display, Debug, serde
// ---------------------------------------------------------------------------------------------

#[test]
fn keyed_zones_and_lists_never_show_the_key() {
    let upper = KEY.to_ascii_uppercase();
    let zones = [
        keyed_zone_name("zen").parse::<Zone>().unwrap(),
        format!(" {upper}.ZEN.DQ.SPAMHAUS.NET. ").parse().unwrap(),
        Zone::with_key("zen.dq.spamhaus.net", KEY).unwrap(),
        Zone::with_key("bl.example", &upper).unwrap(),
    ];
    for zone in &zones {
        assert!(zone.has_key());
        assert_hidden(&zone.to_string());
        assert_hidden(&format!("{zone:?}"));
        assert_hidden(&format!("{zone:#?}"));
        assert_hidden(zone.public_name());
        assert_hidden(&serde_json::to_string(zone).unwrap());
        let target: Target = "192.0.2.1".parse().unwrap();
        let name = zone.query_name(&target).unwrap();
        assert!(name.as_str().contains(KEY), "the key is used on the wire");
        assert_hidden(&format!("{name:?}"));
    }

    let zen = presets::with_dqs_key(presets::find("spamhaus-zen").unwrap().list(), KEY).unwrap();
    let lists = [
        zen,
        DnsList::from_spec(
            &format!("{}=127.0.0.[2..11]*2", keyed_zone_name("zen")),
            ListKind::Ip,
        )
        .unwrap(),
        toml::from_str::<DnsList>(&format!(
            "zone = \"dbl.dq.spamhaus.net\"\nkey = \"{KEY}\"\nkind = \"domain\"\n"
        ))
        .unwrap(),
        toml::from_str::<DnsList>(&format!("zone = \"{}\"\n", keyed_zone_name("zrd"))).unwrap(),
        serde_json::from_str::<DnsList>(&format!(
            r#"{{"zone": "zen.dq.spamhaus.net", "key": "{KEY}", "weight": 3}}"#
        ))
        .unwrap(),
    ];
    for list in &lists {
        assert!(list.zone().has_key(), "{list:?}");
        assert_hidden(list.name());
        assert_hidden(&format!("{list:?}"));
        assert_hidden(&format!("{list:#?}"));
        assert_hidden(&serde_json::to_string(list).unwrap());
        assert_hidden(&toml::to_string(list).unwrap());
    }

    let config: Config = toml::from_str(&format!(
        "[[list]]\nzone = \"zen.dq.spamhaus.net\"\nkey = \"{KEY}\"\n\
         [[list]]\nzone = \"{}\"\n",
        keyed_zone_name("dbl")
    ))
    .unwrap();
    assert_hidden(&format!("{config:?}"));
    for list in config.lists(None).unwrap() {
        assert!(list.zone().has_key());
        assert_hidden(&format!("{list:?}"));
    }
    for list in config.lists(Some(KEY)).unwrap() {
        assert_hidden(&format!("{list:?}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn errors_about_keyed_input_never_echo_the_key() {
    let zone = keyed_zone_name("zen");
    let upper = zone.to_ascii_uppercase();
    let specs = [
        format!("{zone}=127.0.0.[2.."),
        format!("{zone}=127.0.0.300"),
        format!("{zone}=&0.0.0.0"),
        format!("{zone}*x"),
        format!("{zone}=127.0.0.2*1.5"),
        format!("{upper}=nope"),
        format!("  {zone}.  =127.0.0.[11..2]"),
        format!("{zone}..=127.0.0.2"),
        format!("{KEY}!.zen.dq.spamhaus.net"),
        format!("{KEY}.zen..dq.spamhaus.net"),
        format!("{KEY}_.x.zen.dq.spamhaus.net=1"),
        format!("{}.{zone}", "a".repeat(240)),
        // The key straddles the 300 characters that an error echoes.
        format!("{}.{zone}", "a".repeat(290)),
        format!("{}.{zone}=127.0.0.2", "b.".repeat(140)),
        format!("{zone}={}", "9".repeat(400)),
    ];
    for spec in &specs {
        for kind in [ListKind::Ip, ListKind::Domain] {
            let error = DnsList::from_spec(spec, kind).unwrap_err();
            assert_hidden(&error.to_string());
            assert_hidden(&format!("{error:?}"));
            assert_hidden(&error.problem().to_string());
        }
    }

    // A key that is not a single label is rejected without being repeated.
    for bad_key in [format!("{KEY}.x"), format!("{KEY} x"), format!("{KEY}!")] {
        let error = Zone::with_key("zen.dq.spamhaus.net", &bad_key).unwrap_err();
        assert_hidden(&error.to_string());
        assert_hidden(&format!("{error:?}"));
        let error = presets::with_dqs_key(presets::find("spamhaus-zen").unwrap().list(), &bad_key)
            .unwrap_err();
        assert_hidden(&error.to_string());
        let error = dnsbl_check::presets::list("spamhaus-zen", Some(&bad_key)).unwrap_err();
        assert_hidden(&error.to_string());
        assert_hidden(&format!("{error:?}"));
    }

    // A domain too long for the keyed zone.
    let zone: Zone = keyed_zone_name("dbl").parse().unwrap();
    let long = Target::domain(&vec!["d".repeat(60); 4].join(".")).unwrap();
    let error = zone.query_name(&long).unwrap_err();
    assert!(error.to_string().contains("dbl.dq.spamhaus.net"), "{error}");
    assert_hidden(&error.to_string());
    assert_hidden(&format!("{error:?}"));

    // Config files: errors in other fields of a keyed list.
    let bad_configs = [
        format!(
            "zone = \"{zone}\"\nfilter = \"127.0.0.[2..\"\n",
            zone = keyed_zone_name("zen")
        ),
        format!(
            "zone = \"{}\"\nweight = \"heavy\"\n",
            keyed_zone_name("zen")
        ),
        format!("zone = \"{}\"\nkind = \"nope\"\n", keyed_zone_name("zen")),
        format!("zone = \"zen.dq.spamhaus.net\"\nkey = \"{KEY}\"\nwieght = 2\n"),
        format!("zone = \"zen.dq.spamhaus.net\"\nkey = \"{KEY}\"\nfilter = \"x\"\n"),
    ];
    for text in &bad_configs {
        let error = toml::from_str::<DnsList>(text).unwrap_err();
        assert_hidden(&error.to_string());
        let json = toml::from_str::<toml::Value>(text)
            .ok()
            .and_then(|value| serde_json::to_string(&value).ok());
        if let Some(json) = json {
            let error = serde_json::from_str::<DnsList>(&json).unwrap_err();
            assert_hidden(&error.to_string());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups: a REFUSED keyed zone, failures, listings
// ---------------------------------------------------------------------------------------------

fn resolver(addr: SocketAddr) -> HickoryResolver {
    crate::support::resolver_at(addr, Duration::from_millis(300), 0)
}

/// A DQS server: `zen` works for the key (with a listing whose TXT fails, a SERVFAIL and a
/// silent name), `dbl` answers REFUSED as for a key not enabled for that service.
async fn dqs_server() -> TestDns {
    let zen = keyed_zone_name("zen");
    TestDns::builder()
        .zone("zen.dq.spamhaus.net")
        .zone("dbl.dq.spamhaus.net")
        .a(&format!("2.0.0.127.{zen}"), &["127.0.0.2"], 60)
        .a(&format!("10.2.0.192.{zen}"), &["127.0.0.2"], 60)
        .on(&format!("10.2.0.192.{zen}"), "TXT", Behaviour::ServFail)
        .on(&format!("11.2.0.192.{zen}"), "*", Behaviour::ServFail)
        .on(&format!("12.2.0.192.{zen}"), "*", Behaviour::Drop)
        .a(&format!("13.2.0.192.{zen}"), &["127.255.255.254"], 60)
        .a(&format!("14.2.0.192.{zen}"), &["198.51.100.7"], 60)
        .on(
            &format!("*.{}", keyed_zone_name("dbl")),
            "*",
            Behaviour::Refused,
        )
        .start()
        .await
}

fn dqs_checker(dns: &TestDns) -> Checker {
    let zen = presets::with_dqs_key(presets::find("spamhaus-zen").unwrap().list(), KEY).unwrap();
    let dbl = presets::with_dqs_key(presets::find("spamhaus-dbl").unwrap().list(), KEY).unwrap();
    Checker::builder()
        .list(zen)
        .list(dbl)
        .build_with(resolver(dns.addr))
        .unwrap()
}

/// Checks every kind of outcome against the keyed zones.
async fn exercise(checker: &Checker) -> Vec<dnsbl_check::Report> {
    let mut reports = Vec::new();
    for target in [
        "192.0.2.10",
        "192.0.2.11",
        "192.0.2.12",
        "192.0.2.13",
        "192.0.2.14",
        "192.0.2.15",
        "example.com",
    ] {
        reports.push(checker.check(target.parse().unwrap()).await);
    }
    reports
}

#[tokio::test]
async fn reports_health_and_lookup_errors_of_keyed_zones_never_show_the_key() {
    let dns = dqs_server().await;
    let checker = dqs_checker(&dns);
    let reports = exercise(&checker).await;

    let statuses: Vec<&str> = reports
        .iter()
        .map(|report| report.results[0].outcome.status())
        .collect();
    assert_eq!(
        statuses,
        [
            "listed",
            "failed",
            "failed",
            "list_error",
            "invalid",
            "not_listed",
            "skipped"
        ]
    );
    let refused = &reports[6].results[1].outcome;
    let Outcome::Failed(error) = refused else {
        panic!("{refused:?}")
    };
    assert!(error.is_refused(), "{error:?}");
    for report in &reports {
        assert_hidden(&format!("{report:?}"));
        assert_hidden(&format!("{report:#?}"));
        assert_hidden(&serde_json::to_string(report).unwrap());
        for result in &report.results {
            assert_hidden(&result.list);
            assert_hidden(&result.zone.to_string());
            assert_hidden(&result.outcome.detail().unwrap_or_default());
            if let Outcome::Failed(error) = &result.outcome {
                assert_hidden(&error.to_string());
                assert_hidden(&format!("{error:?}"));
            }
        }
    }
    for (list, health) in checker.health() {
        assert_hidden(&format!("{}: {health} {health:?}", list.name()));
    }
    assert_hidden(&format!("{checker:?}"));
    // And yet the key was on the wire, for every query.
    let names: Vec<String> = dns.queries().into_iter().map(|(name, _)| name).collect();
    assert!(names.iter().all(|name| name.contains(KEY)), "{names:?}");
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

/// One event or span as logged: level, target and every field, formatted.
#[derive(Debug, Clone)]
struct Logged {
    level: tracing::Level,
    target: String,
    text: String,
}

/// A `tracing` layer that keeps every event and span it sees.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Logged>>>);

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!(" {}={value}", field.name()));
    }
}

impl Recorder {
    fn push(&self, metadata: &tracing::Metadata<'_>, text: String) {
        self.0.lock().unwrap().push(Logged {
            level: *metadata.level(),
            target: metadata.target().to_owned(),
            text,
        });
    }

    fn take(&self) -> Vec<Logged> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl<S> tracing_subscriber::Layer<S> for Recorder
where
    S: tracing::Subscriber + for<'lookup> tracing_subscriber::registry::LookupSpan<'lookup>,
{
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut text = String::new();
        event.record(&mut FieldText(&mut text));
        self.push(event.metadata(), text);
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut text = format!("span {}", attrs.metadata().name());
        attrs.record(&mut FieldText(&mut text));
        self.push(attrs.metadata(), text);
    }

    fn on_record(
        &self,
        span: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut text = String::from("span record");
        values.record(&mut FieldText(&mut text));
        if let Some(metadata) = ctx.metadata(span) {
            self.push(metadata, text);
        }
    }
}

/// Runs `body` with every event and span that `filter` lets through recorded (on this
/// test's thread only), and returns what was recorded.
async fn recorded<F: Future<Output = ()>>(filter: &str, body: F) -> Vec<Logged> {
    use tracing_subscriber::layer::SubscriberExt;
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new(filter))
        .with(recorder.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    body.await;
    drop(guard);
    recorder.take()
}

/// Runs `exercise` on a checker of the DQS zones, recording what `filter` lets through.
async fn logs_of_checks(filter: &str) -> Vec<Logged> {
    recorded(filter, async {
        let dns = dqs_server().await;
        let checker = dqs_checker(&dns);
        exercise(&checker).await;
    })
    .await
}

fn carries_key(logged: &Logged) -> bool {
    logged.text.to_ascii_lowercase().contains(KEY)
}

/// The library's own events and spans, at every level, never carry the key.
#[tokio::test]
async fn the_librarys_own_logs_never_carry_the_key() {
    let logged = logs_of_checks("dnsbl_check=trace").await;
    assert!(
        logged.iter().any(|l| l.text.contains("list health")),
        "nothing was logged: {logged:?}"
    );
    for event in &logged {
        assert!(event.target.starts_with("dnsbl_check"), "{event:?}");
        assert_hidden(&event.text);
    }
}

/// hickory-resolver and hickory-net log query names (so the key) at DEBUG and TRACE, and
/// hickory-net also at WARN when a reply's question does not match (see
/// `spoofed_questions_make_hickory_warn_with_the_query_name`). A program that uses keyed zones
/// must keep hickory's targets at ERROR. With that filter, no event carries the key, even with
/// everything else at TRACE.
#[tokio::test]
async fn with_hickory_at_error_no_log_carries_the_key() {
    let logged = logs_of_checks(HICKORY_AT_ERROR).await;
    assert!(!logged.is_empty());
    for event in &logged {
        assert_hidden(&format!("{} {}", event.target, event.text));
    }
}

/// Everything at TRACE except hickory's targets, which stay at ERROR.
const HICKORY_AT_ERROR: &str =
    "trace,hickory_proto=error,hickory_net=error,hickory_resolver=error,hickory_server=error";

/// With everything at TRACE, the key shows only in hickory's own events, never in this
/// library's. Prints where, for the record.
#[tokio::test]
async fn at_trace_the_key_shows_only_in_hickorys_own_events() {
    let logged = logs_of_checks("trace").await;
    let leaking: Vec<&Logged> = logged.iter().filter(|l| carries_key(l)).collect();
    for event in &leaking {
        assert!(event.target.starts_with("hickory_"), "{event:?}");
    }
    let mut sources: Vec<String> = leaking
        .iter()
        .map(|event| format!("{} {}", event.level, event.target))
        .collect();
    sources.sort();
    sources.dedup();
    eprintln!(
        "{} of {} events carry the key, from: {sources:#?}",
        leaking.len(),
        logged.len()
    );
}

/// A reply whose question does not match the query: hickory-net drops it, and logs both
/// questions at WARN (a level most programs keep on), key included. Keep hickory's targets at
/// ERROR when zones carry keys; with that, nothing shows.
#[tokio::test]
async fn spoofed_questions_make_hickory_warn_with_the_query_name() {
    use hickory_proto::op::Message;
    use hickory_proto::rr::Name;

    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            let mut reply = query.into_response();
            if let Some(question) = reply.queries.first_mut() {
                question.set_name(Name::from_ascii("spoofed.example.").unwrap());
            }
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
        }
    });
    let check = || async {
        let zen =
            presets::with_dqs_key(presets::find("spamhaus-zen").unwrap().list(), KEY).unwrap();
        let checker = Checker::builder()
            .list(zen)
            .health_checks(false)
            .build_with(resolver(addr))
            .unwrap();
        let report = checker.check("192.0.2.10".parse().unwrap()).await;
        assert!(!report.results[0].outcome.is_listed());
        assert_hidden(&format!("{report:?}"));
    };

    let warnings = recorded("warn", check()).await;
    let leaking: Vec<&Logged> = warnings.iter().filter(|l| carries_key(l)).collect();
    eprintln!("at WARN, events carrying the key: {leaking:#?}");
    for event in &leaking {
        assert!(event.target.starts_with("hickory_"), "{event:?}");
    }
    for event in recorded(HICKORY_AT_ERROR, check()).await {
        assert_hidden(&format!("{} {}", event.target, event.text));
    }
    server.abort();
}
