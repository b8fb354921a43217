//! Local mirrors (`resolver::mirror`): each piece of rbldnsd's syntax against the answers its
//! manual documents, reloading, and, with a real rbldnsd (`#[ignore = "needs rbldnsd"]`), the
//! same answers as rbldnsd for thousands of names over generated data.

use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dnsbl_check::resolver::cache::{AnswerCache, CacheConfig};
use dnsbl_check::resolver::mirror::{MirrorError, MirrorResolver, ZoneData};
use dnsbl_check::{Answer, DnsResolver, LookupError};
use futures::StreamExt;

use crate::support::rbldnsd::Rbldnsd;

/// The resolver behind the mirror in these tests: any query reaching it is a bug.
#[derive(Clone)]
struct Nowhere;

impl DnsResolver for Nowhere {
    async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
        panic!("{name} left the mirror")
    }
    async fn lookup_txt(&self, name: &str) -> Result<Answer<String>, LookupError> {
        panic!("{name} left the mirror")
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn mirror(specs: &[String]) -> MirrorResolver<Nowhere> {
    specs
        .iter()
        .fold(MirrorResolver::builder(), |builder, spec| {
            builder.zone_data(spec.parse().unwrap())
        })
        .reload_interval(None)
        .build(Nowhere)
        .unwrap()
}

/// A mirror of one zone whose one file holds `text`.
fn one(kind: &str, text: &str) -> (tempfile::TempDir, MirrorResolver<Nowhere>) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "data", text);
    let resolver = mirror(&[format!("bl.test:{kind}:{}", file.display())]);
    (dir, resolver)
}

/// Records sorted and joined with " | ", or "NXDOMAIN" / "NODATA".
fn show<T: ToString>(answer: Option<Answer<T>>) -> String {
    match answer.expect("a mirrored zone") {
        Answer::Records { records, .. } => {
            let mut records: Vec<String> = records.iter().map(ToString::to_string).collect();
            records.sort();
            records.join(" | ")
        }
        Answer::NoRecords { nxdomain: true, .. } => "NXDOMAIN".into(),
        Answer::NoRecords {
            nxdomain: false, ..
        } => "NODATA".into(),
    }
}

/// The A records of `name` under bl.test, as [`show`] writes them.
fn a(resolver: &MirrorResolver<Nowhere>, name: &str) -> String {
    show(resolver.mirrored_a(&format!("{name}.bl.test."))).replace(" | ", " ")
}

/// The TXT records of `name` under bl.test, as [`show`] writes them.
fn txt(resolver: &MirrorResolver<Nowhere>, name: &str) -> String {
    show(resolver.mirrored_txt(&format!("{name}.bl.test.")))
}

/// What [`a`] or [`txt`] ask.
type Query = fn(&MirrorResolver<Nowhere>, &str) -> String;

/// Asserts each row's answer: `(a, name, records)` or `(txt, name, records)`.
fn assert_answers(resolver: &MirrorResolver<Nowhere>, rows: &[(Query, &str, &str)]) {
    for (row, (query, name, expected)) in rows.iter().enumerate() {
        assert_eq!(query(resolver, name), *expected, "row {row}: {name}");
    }
}

/// The reversed name of an IPv4 address.
fn rev4(address: &str) -> String {
    let octets = address.parse::<Ipv4Addr>().unwrap().octets();
    format!("{}.{}.{}.{}", octets[3], octets[2], octets[1], octets[0])
}

/// The nibble name of an IPv6 address.
fn rev6(address: &str) -> String {
    let bits = address.parse::<std::net::Ipv6Addr>().unwrap().to_bits();
    (0..32)
        .map(|i| format!("{:x}", (bits >> (4 * i)) & 15))
        .collect::<Vec<_>>()
        .join(".")
}

#[test]
fn values_default_per_entry_and_substitution_follow_the_manual() {
    let (_dir, bl) = one(
        "ip4set",
        "$1 See http://www.example.com/bl\n\
         $2 for details\n\
         :127.0.0.2:IP address $ is listed\n\
         127.0.0.4\n\
         127.0.0.5 :5\n\
         127.0.0.6 :6:\n\
         127.0.0.7 IP address $ running an open relay\n\
         127.0.0.8 :127.0.0.8:$1/spammer/$ $2\n\
         127.0.0.9  This spammer wants some $$$$.  $1/$\n\
         127.0.0.10 $7 stays\n",
    );
    assert_answers(
        &bl,
        &[
            (a, "4.0.0.127", "127.0.0.2"),
            (txt, "4.0.0.127", "IP address 127.0.0.4 is listed"),
            (a, "5.0.0.127", "127.0.0.5"),
            (txt, "5.0.0.127", "IP address 127.0.0.5 is listed"),
            (a, "6.0.0.127", "127.0.0.6"),
            (txt, "6.0.0.127", "NODATA"),
            (a, "7.0.0.127", "127.0.0.2"),
            (
                txt,
                "7.0.0.127",
                "IP address 127.0.0.7 running an open relay",
            ),
            (
                txt,
                "8.0.0.127",
                "See http://www.example.com/bl/spammer/127.0.0.8 for details",
            ),
            (
                txt,
                "9.0.0.127",
                "This spammer wants some $$.  See http://www.example.com/bl/127.0.0.9",
            ),
            (txt, "10.0.0.127", "$7 stays"),
            (a, "3.0.0.127", "NXDOMAIN"),
            (txt, "3.0.0.127", "NXDOMAIN"),
        ],
    );
}

#[test]
fn no_default_line_means_127_0_0_2_and_no_txt() {
    let (_dir, bl) = one("ip4set", "192.0.2.1\n");
    assert_answers(
        &bl,
        &[(a, "1.2.0.192", "127.0.0.2"), (txt, "1.2.0.192", "NODATA")],
    );
}

#[test]
fn base_template_wraps_entries() {
    let (_dir, bl) = one(
        "ip4set",
        "$= See http://www.example.com/bl?$= ($) for details\n\
         127.0.0.2    r123\n\
         127.0.0.3\n\
         127.0.0.4    =See other blocklists for details about $\n",
    );
    assert_answers(
        &bl,
        &[
            (
                txt,
                "2.0.0.127",
                "See http://www.example.com/bl?r123 (127.0.0.2) for details",
            ),
            (
                txt,
                "3.0.0.127",
                "See http://www.example.com/bl?127.0.0.3 (127.0.0.3) for details",
            ),
            (
                txt,
                "4.0.0.127",
                "See other blocklists for details about 127.0.0.4",
            ),
        ],
    );
}

#[test]
fn ip4set_prefixes_cidr_ranges_and_exclusions() {
    let (_dir, bl) = one(
        "ip4set",
        ":3:\n\
         10.20\n\
         172.16.0.0/12\n\
         !172.16.5.5\n\
         192.0.2.10-192.0.2.20\n\
         198.51.100.1-7\n\
         203.0.113.0/25 ; the lower half\n\
         10.30.0.1/8\n\
         not an address\n",
    );
    for (address, expected) in [
        ("10.20.0.0", "127.0.0.3"),
        ("10.20.255.255", "127.0.0.3"),
        ("10.21.0.0", "NXDOMAIN"),
        ("172.31.255.255", "127.0.0.3"),
        ("172.16.5.5", "NXDOMAIN"),
        ("172.16.5.6", "127.0.0.3"),
        ("192.0.2.9", "NXDOMAIN"),
        ("192.0.2.10", "127.0.0.3"),
        ("192.0.2.20", "127.0.0.3"),
        ("192.0.2.21", "NXDOMAIN"),
        ("198.51.100.7", "127.0.0.3"),
        ("198.51.100.8", "NXDOMAIN"),
        ("203.0.113.127", "127.0.0.3"),
        ("203.0.113.128", "NXDOMAIN"),
        // A CIDR block with host bits set is skipped, as rbldnsd skips it.
        ("10.30.0.1", "NXDOMAIN"),
    ] {
        assert_eq!(a(&bl, &rev4(address)), expected, "{address}");
    }
    assert_eq!(bl.status().datasets[0].skipped_lines, 2);
}

#[test]
fn ip4set_most_specific_octet_level_decides_and_values_add_up() {
    // rbldnsd's ip4set: the /32 level is asked before /24, /16 and /8; at one level an
    // address may hold several values, all answered.
    let (_dir, bl) = one(
        "ip4set",
        "10.0.0.0/8 :2\n\
         10.1.1.1 :3\n\
         10.1.1.1 :4\n\
         10.2.2.0/24 :5\n\
         !10.2.2.2\n\
         10.3.3.3 :6\n\
         !10.3.3.3\n",
    );
    assert_answers(
        &bl,
        &[
            (a, &rev4("10.9.9.9"), "127.0.0.2"),
            (a, &rev4("10.1.1.1"), "127.0.0.3 127.0.0.4"),
            (a, &rev4("10.2.2.1"), "127.0.0.5"),
            (a, &rev4("10.2.2.2"), "NXDOMAIN"),
            (a, &rev4("10.3.3.3"), "NXDOMAIN"),
        ],
    );
}

#[test]
fn ip4trie_longest_prefix_and_first_duplicate_win() {
    let (_dir, bl) = one(
        "ip4trie",
        ":127.0.0.10:PBL $\n\
         10.0.0.0/8\n\
         10.20.0.0/16 :11:Maintained\n\
         !10.20.30.0/24\n\
         10.20.30.128/25 :12\n\
         10.0.0.0/8 :13\n\
         192.0.2.1-192.0.2.3\n",
    );
    assert_answers(
        &bl,
        &[
            (a, &rev4("10.1.2.3"), "127.0.0.10"),
            (txt, &rev4("10.1.2.3"), "PBL 10.1.2.3"),
            (txt, &rev4("10.20.1.1"), "Maintained"),
            (a, &rev4("10.20.30.1"), "NXDOMAIN"),
            (a, &rev4("10.20.30.200"), "127.0.0.12"),
            (txt, &rev4("10.20.30.200"), "PBL 10.20.30.200"),
            // Ranges are ip4set's: the trie skips them.
            (a, &rev4("192.0.2.2"), "NXDOMAIN"),
        ],
    );
}

#[test]
fn ip6trie_reads_the_manual_example() {
    let (_dir, bl) = one(
        "ip6trie",
        "# Default A and TXT template valuse\n\
         :127.0.1.2: Listed, see http://example.com/lookup?$\n\
         2001:21ab:c000/36\n\
         2001:21ab:def7:4242 :127.0.1.3: This one smells funny\n\
         2605:6001:42::/52\n\
         ::1\t\t       # localhost\n\
         !2605:6001:42::bead   # exclusion\n",
    );
    assert_answers(
        &bl,
        &[
            (a, &rev6("2001:21ab:c123::9"), "127.0.1.2"),
            (
                txt,
                &rev6("2001:21ab:c123::9"),
                "Listed, see http://example.com/lookup?2001:21ab:c123::9",
            ),
            (a, &rev6("2001:21ab:d000::"), "NXDOMAIN"),
            (
                txt,
                &rev6("2001:21ab:def7:4242::1"),
                "This one smells funny",
            ),
            (a, &rev6("2605:6001:42::beac"), "127.0.1.2"),
            (a, &rev6("2605:6001:42::bead"), "NXDOMAIN"),
            (a, &rev6("::1"), "127.0.1.2"),
            // An IPv6 zone does not read IPv4 names.
            (a, "1.0.0.127", "NXDOMAIN"),
        ],
    );
}

#[test]
fn ip4set_answers_mapped_and_6to4_names_but_not_native_ipv6() {
    let (_dir, bl) = one("ip4set", ":127.0.0.2:Listed $\n127.0.0.2\n192.0.2.5\n");
    assert_answers(
        &bl,
        &[
            (a, &rev6("::ffff:127.0.0.2"), "127.0.0.2"),
            (txt, &rev6("::ffff:127.0.0.2"), "Listed 127.0.0.2"),
            (a, &rev6("::ffff:127.0.0.1"), "NXDOMAIN"),
            (a, &rev6("2002:c000:205::1"), "127.0.0.2"),
            (a, &rev6("2001:db8::1"), "NXDOMAIN"),
            // Malformed names are not addresses; the zone's own name exists.
            (a, "2.0.0.127.1", "NXDOMAIN"),
            (a, "2.0.0.256", "NXDOMAIN"),
            (a, "2.0.0.0127", "NXDOMAIN"),
            (a, "02.0.0.127", "127.0.0.2"),
        ],
    );
    let apex = bl.mirrored_a("bl.test.").unwrap();
    assert_eq!(
        apex,
        Answer::NoRecords {
            nxdomain: false,
            negative_ttl: None
        }
    );
}

#[test]
fn dnset_wildcards_exclusions_and_case() {
    let (_dir, bl) = one(
        "dnset",
        ":127.0.1.2:Domain $ listed\n\
         example.com\n\
         .wild.example\n\
         *.star.example\n\
         !bad.wild.example\n\
         !*.ok.star.example\n\
         UPPER.Example.ORG :3:Upper $\n\
         trailing.dot.example. :4\n\
         invalid..name\n",
    );
    for (name, expected) in [
        ("example.com", "127.0.1.2"),
        ("www.example.com", "NXDOMAIN"),
        ("wild.example", "127.0.1.2"),
        ("a.b.wild.example", "127.0.1.2"),
        ("star.example", "NXDOMAIN"),
        ("x.star.example", "127.0.1.2"),
        ("bad.wild.example", "NXDOMAIN"),
        ("sub.bad.wild.example", "127.0.1.2"),
        ("ok.star.example", "127.0.1.2"),
        ("x.ok.star.example", "NXDOMAIN"),
        ("upper.example.org", "127.0.0.3"),
        ("trailing.dot.example", "127.0.0.4"),
        ("WWW.Example.COM", "NXDOMAIN"),
        ("EXAMPLE.COM", "127.0.1.2"),
    ] {
        assert_eq!(a(&bl, name), expected, "{name}");
    }
    assert_answers(
        &bl,
        &[
            // `$` is the listed entry: the wildcard's domain, not the name asked.
            (txt, "a.b.wild.example", "Domain wild.example listed"),
            (txt, "upper.example.org", "Upper upper.example.org"),
            (
                txt,
                "trailing.dot.example",
                "Domain trailing.dot.example listed",
            ),
        ],
    );
    assert_eq!(bl.status().datasets[0].skipped_lines, 1);
}

#[test]
fn ttl_and_soa_lines_set_the_ttls() {
    let (_dir, bl) = one(
        "ip4set",
        "$SOA 1h ns.bl.test. hostmaster.bl.test. 0 2h 1h 1w 5m\n\
         $NS 1d ns1.bl.test ns2.bl.test\n\
         $TTL 10m\n\
         127.0.0.2\n",
    );
    let listed = bl.mirrored_a("2.0.0.127.bl.test.").unwrap();
    assert_eq!(
        listed,
        Answer::Records {
            records: vec![Ipv4Addr::new(127, 0, 0, 2)],
            ttl: 600
        }
    );
    let clean = bl.mirrored_a("1.0.0.127.bl.test.").unwrap();
    assert_eq!(
        clean,
        Answer::NoRecords {
            nxdomain: true,
            negative_ttl: Some(300)
        }
    );
    // Without $TTL: rbldnsd's default, 35 minutes.
    let (_dir, bl) = one("ip4set", "127.0.0.2\n");
    let listed = bl.mirrored_a("2.0.0.127.bl.test.").unwrap();
    assert!(matches!(listed, Answer::Records { ttl: 2100, .. }));
}

#[test]
fn several_datasets_make_one_zone_and_files_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let sbl = write(dir.path(), "sbl", ":2:SBL $\n127.0.0.2\n192.0.2.0/24\n");
    let sbl_local = write(dir.path(), "sbl-local", "!192.0.2.7\n");
    let xbl = write(
        dir.path(),
        "xbl",
        "$TTL 60\n:4:XBL $\n127.0.0.2\n192.0.2.7\n",
    );
    let pbl = write(dir.path(), "pbl", ":10:PBL $\n127.0.0.2/32\n192.0.2.0/25\n");
    let zen = mirror(&[
        format!("bl.test:ip4set:{},{}", sbl.display(), sbl_local.display()),
        format!("bl.test:ip4set:{}", xbl.display()),
        format!("bl.test:ip4trie:{}", pbl.display()),
    ]);
    assert_eq!(a(&zen, "2.0.0.127"), "127.0.0.10 127.0.0.2 127.0.0.4");
    assert_eq!(
        txt(&zen, "2.0.0.127"),
        "PBL 127.0.0.2 | SBL 127.0.0.2 | XBL 127.0.0.2"
    );
    // The smallest TTL of the records answered.
    assert!(matches!(
        zen.mirrored_a("2.0.0.127.bl.test."),
        Some(Answer::Records { ttl: 60, .. })
    ));
    // The exclusion of the second file applies to its dataset only.
    assert_eq!(a(&zen, &rev4("192.0.2.7")), "127.0.0.10 127.0.0.4");
    assert_eq!(a(&zen, &rev4("192.0.2.200")), "127.0.0.2");
    assert_eq!(a(&zen, &rev4("192.0.3.1")), "NXDOMAIN");
}

#[test]
fn data_this_mirror_does_not_reproduce_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bl", "127.0.0.2\n$TIMESTAMP 2024:01:01\n");
    let error = MirrorResolver::builder()
        .zone_data(
            format!("bl.test:ip4set:{}", file.display())
                .parse()
                .unwrap(),
        )
        .build(Nowhere)
        .unwrap_err();
    assert!(
        matches!(&error, MirrorError::Unsupported { line: 2, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("{}:2:", file.display()))
    );

    let gz = dir.path().join("bl.gz");
    fs::write(&gz, [0x1f, 0x8b, 8, 0]).unwrap();
    let spec: ZoneData = format!("bl.test:ip4set:{}", gz.display()).parse().unwrap();
    let error = MirrorResolver::builder()
        .zone_data(spec)
        .build(Nowhere)
        .unwrap_err();
    assert!(error.to_string().contains("gzip"), "{error}");

    let missing: ZoneData = format!("bl.test:dnset:{}", dir.path().join("nope").display())
        .parse()
        .unwrap();
    let error = MirrorResolver::builder()
        .zone_data(missing)
        .build(Nowhere)
        .unwrap_err();
    assert!(matches!(error, MirrorError::Io { .. }), "{error}");

    for bad in [
        "bl.test",
        "bl.test:ip4set",
        "bl.test:generic:/x",
        ":ip4set:/x",
        "bl.test:dnset:",
    ] {
        assert!(bad.parse::<ZoneData>().is_err(), "{bad}");
    }
}

#[tokio::test]
async fn other_names_go_to_the_inner_resolver() {
    let dns = crate::support::TestDns::builder()
        .zone("live.test")
        .a("2.0.0.127.live.test", &["127.0.0.9"], 60)
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bl", "127.0.0.2\n");
    let mirror = MirrorResolver::builder()
        .zone_data(
            format!("bl.test:ip4set:{}", file.display())
                .parse()
                .unwrap(),
        )
        .build(crate::support::resolver_at(
            dns.addr,
            Duration::from_secs(2),
            1,
        ))
        .unwrap();
    let live = mirror.lookup_a("2.0.0.127.live.test.").await.unwrap();
    assert_eq!(
        live,
        Answer::Records {
            records: vec![Ipv4Addr::new(127, 0, 0, 9)],
            ttl: 60
        }
    );
    let local = mirror.lookup_a("2.0.0.127.bl.test.").await.unwrap();
    assert!(matches!(local, Answer::Records { .. }));
    // Lookups of other types go through too: a name-server lookup reaches the server.
    mirror
        .lookup_ns("live.test.")
        .await
        .expect("an NS lookup is handed to the inner resolver");
    assert!(
        dns.queries()
            .iter()
            .any(|(name, rtype)| name.eq_ignore_ascii_case("live.test.") && rtype == "NS"),
        "no NS query reached the server: {:?}",
        dns.queries()
    );
    assert!(
        dns.queries()
            .iter()
            .all(|(name, _)| !name.contains("bl.test")),
        "a mirrored name went out: {:?}",
        dns.queries()
    );
}

/// Replaces `path` as rsync does: a new file renamed into place.
fn replace(path: &Path, text: &str) {
    let temporary = path.with_extension("tmp");
    fs::write(&temporary, text).unwrap();
    fs::rename(&temporary, path).unwrap();
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not within 5 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_replaced_file_is_served_within_seconds_and_a_broken_one_keeps_the_old_data() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bl", "127.0.0.2\n192.0.2.1\n");
    let bl = MirrorResolver::builder()
        .zone_data(
            format!("bl.test:ip4set:{}", file.display())
                .parse()
                .unwrap(),
        )
        .build(Nowhere)
        .unwrap();
    assert_eq!(a(&bl, &rev4("192.0.2.1")), "127.0.0.2");
    replace(&file, "127.0.0.2\n192.0.2.2 :3\n");
    wait_for("the new data", || a(&bl, &rev4("192.0.2.2")) == "127.0.0.3");
    assert_eq!(a(&bl, &rev4("192.0.2.1")), "NXDOMAIN");
    assert!(bl.status().is_ok());

    replace(&file, "127.0.0.2\n$TIMESTAMP 2024:01:01\n192.0.2.3\n");
    wait_for("the failure shown", || !bl.status().is_ok());
    let status = bl.status();
    let error = status.datasets[0].error.as_ref().unwrap();
    assert!(
        matches!(error, MirrorError::Unsupported { line: 2, .. }),
        "{error}"
    );
    assert_eq!(
        a(&bl, &rev4("192.0.2.2")),
        "127.0.0.3",
        "the old data stays"
    );
    assert_eq!(a(&bl, &rev4("192.0.2.3")), "NXDOMAIN");

    replace(&file, "127.0.0.2\n192.0.2.3 :4\n");
    wait_for("recovery", || bl.status().is_ok());
    assert_eq!(a(&bl, &rev4("192.0.2.3")), "127.0.0.4");
}

/// A cache in front of a mirror passes the mirrored zones through: a replaced file is seen
/// as soon as it is reloaded, not when the cached answer's TTL (2100 s here) runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_in_front_of_a_mirror_sees_a_reload_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bl", "127.0.0.2\n192.0.2.1\n");
    let bl = MirrorResolver::builder()
        .zone_data(
            format!("bl.test:ip4set:{}", file.display())
                .parse()
                .unwrap(),
        )
        .reload_interval(Some(Duration::from_millis(100)))
        .build(Nowhere)
        .unwrap();
    let zones: Vec<String> = bl.zones().map(str::to_owned).collect();
    let held = AnswerCache::new(bl.clone(), CacheConfig::default());
    let passed = AnswerCache::new(bl.clone(), CacheConfig::default()).pass_through(&zones);
    let reversed = rev4("192.0.2.1");
    let name = format!("{reversed}.bl.test");
    let listed = |answer: Result<Answer<Ipv4Addr>, LookupError>| {
        matches!(answer.unwrap(), Answer::Records { .. })
    };
    assert!(listed(held.lookup_a(&name).await));
    assert!(listed(passed.lookup_a(&name).await));

    replace(&file, "127.0.0.2\n192.0.2.2\n");
    let start = Instant::now();
    while listed(passed.lookup_a(&name).await) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the reload not seen through the cache within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(a(&bl, &reversed), "NXDOMAIN", "the mirror itself reloaded");
    assert!(
        listed(held.lookup_a(&name).await),
        "a cache that does not pass the zone through still holds the old answer"
    );
    assert_eq!(held.entry_count().await, 1);
    assert_eq!(
        passed.entry_count().await,
        0,
        "mirrored names are never cached"
    );
}

// ---------------------------------------------------------------------------------------
// Against rbldnsd.

/// A small deterministic generator (xorshift64*), so that a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A per-entry value, sometimes.
fn random_value(random: &mut Random) -> String {
    match random.below(10) {
        0 => format!(" :{}:Entry {} $", 2 + random.below(10), random.below(1000)),
        1 => format!(" :{}", 2 + random.below(10)),
        2 => format!(" :{}:", 2 + random.below(10)),
        3 => format!(" text {} $ $$", random.below(100)),
        4 => " ; a comment".into(),
        _ => String::new(),
    }
}

/// Generated `ip4set` lines in `base`/8, and the addresses worth asking about.
fn random_ip4set(random: &mut Random, base: u32, lines: usize, asks: &mut Vec<u32>) -> String {
    let mut text = String::new();
    for _ in 0..lines {
        let address = (base << 24) | (random.below(1 << 16) as u32) << 8 | random.below(256) as u32;
        let (first, last, entry) = match random.below(10) {
            0 => {
                let bits = [12u32, 16, 20, 22, 24, 26, 28][random.below(7) as usize];
                let first = address & (u32::MAX << (32 - bits));
                let last = first | !(u32::MAX << (32 - bits));
                (first, last, format!("{}/{bits}", Ipv4Addr::from(first)))
            }
            1 => {
                let first = address & 0xffff_ff00;
                let octets = Ipv4Addr::from(first).octets();
                (
                    first,
                    first | 255,
                    format!("{}.{}.{}", octets[0], octets[1], octets[2]),
                )
            }
            2 => {
                let last = address.saturating_add(random.below(700) as u32);
                (
                    address,
                    last,
                    format!("{}-{}", Ipv4Addr::from(address), Ipv4Addr::from(last)),
                )
            }
            3 => {
                let last = (address & 0xffff_ff00) | (address & 255).max(random.below(256) as u32);
                (
                    address,
                    last,
                    format!("{}-{}", Ipv4Addr::from(address), last & 255),
                )
            }
            4 => (address, address, format!("!{}", Ipv4Addr::from(address))),
            _ => (address, address, Ipv4Addr::from(address).to_string()),
        };
        let value = if entry.starts_with('!') {
            String::new()
        } else {
            random_value(random)
        };
        writeln!(text, "{entry}{value}").unwrap();
        asks.extend([first.wrapping_sub(1), first, last, last.wrapping_add(1)]);
        asks.push(first + random.below(u64::from(last - first) + 1) as u32);
    }
    text
}

/// Generated `ip4trie` lines in `base`/8.
fn random_ip4trie(random: &mut Random, base: u32, lines: usize, asks: &mut Vec<u32>) -> String {
    let mut text = String::new();
    for _ in 0..lines {
        let address = (base << 24) | (random.below(1 << 24) as u32);
        let bits = 9 + random.below(24) as u32;
        let first = address & (u32::MAX << (32 - bits));
        let last = first | !(u32::MAX << (32 - bits));
        let excluded = random.below(6) == 0;
        let value = if excluded {
            String::new()
        } else {
            random_value(random)
        };
        let mark = if excluded { "!" } else { "" };
        writeln!(text, "{mark}{}/{bits}{value}", Ipv4Addr::from(first)).unwrap();
        asks.extend([first.wrapping_sub(1), first, last, last.wrapping_add(1)]);
        asks.push(first + random.below(u64::from(last - first) + 1) as u32);
    }
    text
}

/// Generated `ip6trie` lines in 2001:db8::/32.
fn random_ip6trie(random: &mut Random, lines: usize, asks: &mut Vec<u128>) -> String {
    let mut text = String::new();
    for _ in 0..lines {
        let address = (0x2001_0db8u128 << 96)
            | (u128::from(random.next()) << 32)
            | u128::from(random.below(1 << 32));
        let bits = 33 + random.below(96) as u32;
        let first = address & (u128::MAX << (128 - bits));
        let last = first | !(u128::MAX << (128 - bits));
        let excluded = random.below(6) == 0;
        let value = if excluded {
            String::new()
        } else {
            random_value(random)
        };
        let mark = if excluded { "!" } else { "" };
        let written = if bits.is_multiple_of(16) && random.below(2) == 0 {
            // The short form: only the groups of the prefix.
            let groups: Vec<String> = (0..bits / 16)
                .map(|i| format!("{:x}", (first >> (112 - 16 * i)) & 0xffff))
                .collect();
            groups.join(":")
        } else {
            format!("{}/{bits}", std::net::Ipv6Addr::from(first))
        };
        writeln!(text, "{mark}{written}{value}").unwrap();
        asks.extend([first.wrapping_sub(1), first, last, last.wrapping_add(1)]);
    }
    text
}

/// Generated `dnset` lines, and names worth asking about.
fn random_dnset(random: &mut Random, lines: usize, asks: &mut Vec<String>) -> String {
    let mut text = String::new();
    let words = ["mail", "www", "shop", "a", "b", "x-y", "cdn", "login"];
    for _ in 0..lines {
        let depth = 1 + random.below(3);
        let mut name = format!("d{}.example{}", random.below(300), random.below(3));
        for _ in 1..depth {
            name = format!(
                "{}.{name}",
                words[random.below(words.len() as u64) as usize]
            );
        }
        let (mark, wild) = match random.below(8) {
            0 => ("!", ""),
            1 => ("", "."),
            2 => ("", "*."),
            3 => ("!", "*."),
            _ => ("", ""),
        };
        let value = if mark == "!" {
            String::new()
        } else {
            random_value(random)
        };
        writeln!(text, "{mark}{wild}{name}{value}").unwrap();
        let parent = name
            .split_once('.')
            .map_or(name.clone(), |(_, parent)| parent.to_owned());
        asks.extend([
            name.clone(),
            format!("sub.{name}"),
            format!("a.b.{name}"),
            parent,
            name.to_uppercase(),
        ]);
    }
    text
}

const SBL_EDGES: &str = "\
# hand-written edge cases
$SOA 1h ns.zen.test. hostmaster.zen.test. 0 2h 1h 1w 300
$NS 1d ns1.zen.test ns2.zen.test
$TTL 600
$1 https://sbl.test/q
$2 for details
:127.0.0.2:SBL listed, see $1?$ $2
127.0.0.2
192.0.2.0/24
198.51.100.7 :3:Escalated $ costs $$5
198.51.100.8 :4
198.51.100.9 :5:
198.51.100.10 custom text $ $7
198.51.100.11 ; comment means the default
198.51.100.12 # so does this
198.51.100.13:6:no blank before the value
!192.0.2.99
10.20
127.16-31
172.16.0.1-172.16.1.2
172.17.0.1-255
203.0.113.0/25
203.0.113.128/26 :6:Sub block
not an address
10.30.0.1/8
256.1.1.1
; a semicolon comment
  # an indented comment
:127.0.0.9
100.64.0.0/10
$MAXRANGE4 /16
100.0.0.0/8
100.128.0.0/16 :7
";

const SBL_SECOND_FILE: &str = "\
!198.51.100.7
198.51.100.20 :7:Second file $
$3 unused
";

const XBL_EDGES: &str = "\
$= XBL: $= (ip $)
:127.0.0.4:
127.0.0.2
192.0.2.5  r123
192.0.2.6  =Opt out of the base $
198.51.100.0/24
";

const PBL_EDGES: &str = "\
$TTL 1h
:127.0.0.10:PBL $
127.0.0.2/32
10.0.0.0/8
10.20.0.0/16 :11:Spamhaus maintained
!10.20.30.0/24
10.20.30.128/25 :11
10.0.0.0/8 :12:a repeated block
192.0.2.0/23
10.1.2.3-10.1.2.9
";

const V6_EDGES: &str = "\
:127.0.1.2: Listed, see http://example.com/lookup?$
2001:21ab:c000/36
2001:21ab:def7:4242 :127.0.1.3: This one smells funny
2605:6001:42::/52
::1                   # localhost
!2605:6001:42::bead   # exclusion
::ffff:7f00:2/128
2001:db8::/32 :4:documentation
2001:db8:1::/48 :5
!2001:db8:2::/48
";

const DBL_EDGES: &str = "\
:127.0.1.2:Domain $ listed
test
example.com
.wild.example
*.star.example
!bad.wild.example
!*.ok.star.example
UPPER.Example.ORG :3:Upper $
trailing.dot.example. :4
invalid..name
";

/// How an answer compares: its records sorted with their TTL, or NXDOMAIN/NODATA with the
/// negative TTL.
fn normal<T: ToString>(answer: Result<Answer<T>, LookupError>) -> String {
    match answer {
        Ok(Answer::Records { records, ttl }) => {
            let mut records: Vec<String> = records.iter().map(ToString::to_string).collect();
            records.sort();
            format!("{records:?} ttl {ttl}")
        }
        Ok(Answer::NoRecords {
            nxdomain,
            negative_ttl,
        }) => {
            format!(
                "{} negative ttl {negative_ttl:?}",
                if nxdomain { "NXDOMAIN" } else { "NODATA" }
            )
        }
        Err(error) => format!("error: {error}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs rbldnsd"]
async fn the_mirror_answers_as_rbldnsd_does() {
    let mut random = Random(0x5eed_1234_abcd_0001);
    let dir = tempfile::tempdir().unwrap();
    let mut asks4 = Vec::new();
    let mut asks6 = Vec::new();
    let mut asks_names = Vec::new();
    let sbl_random = random_ip4set(&mut random, 11, 2000, &mut asks4);
    let sbl1 = write(dir.path(), "sbl1", &format!("{SBL_EDGES}{sbl_random}"));
    let sbl2 = write(dir.path(), "sbl2", SBL_SECOND_FILE);
    let xbl_random = random_ip4set(&mut random, 11, 1000, &mut asks4);
    let xbl = write(dir.path(), "xbl", &format!("{XBL_EDGES}{xbl_random}"));
    let pbl_random = random_ip4trie(&mut random, 11, 1000, &mut asks4);
    let pbl = write(dir.path(), "pbl", &format!("{PBL_EDGES}{pbl_random}"));
    let v6_random = random_ip6trie(&mut random, 800, &mut asks6);
    let v6 = write(dir.path(), "v6", &format!("{V6_EDGES}{v6_random}"));
    let dbl_random = random_dnset(&mut random, 1500, &mut asks_names);
    let dbl = write(dir.path(), "dbl", &format!("{DBL_EDGES}{dbl_random}"));
    let specs = vec![
        format!("zen.test:ip4set:{},{}", sbl1.display(), sbl2.display()),
        format!("zen.test:ip4set:{}", xbl.display()),
        format!("zen.test:ip4trie:{}", pbl.display()),
        format!("sbl.test:ip4set:{},{}", sbl1.display(), sbl2.display()),
        format!("v6.test:ip6trie:{}", v6.display()),
        format!("dbl.test:dnset:{}", dbl.display()),
    ];
    let mirror = mirror(&specs);
    let rbldnsd = Rbldnsd::start_specs(dir, &specs).expect("rbldnsd starts");
    let reference = crate::support::pooled_resolver_at(rbldnsd.addr, Duration::from_secs(2), 3);

    // Hand-picked names: the edge cases above, the test points, mapped and 6to4 names.
    let mut names: Vec<String> = Vec::new();
    for address in [
        "127.0.0.1",
        "127.0.0.2",
        "192.0.2.0",
        "192.0.2.5",
        "192.0.2.6",
        "192.0.2.99",
        "192.0.2.255",
        "192.0.3.1",
        "198.51.100.6",
        "198.51.100.7",
        "198.51.100.8",
        "198.51.100.9",
        "198.51.100.10",
        "198.51.100.11",
        "198.51.100.12",
        "198.51.100.13",
        "198.51.100.20",
        "10.20.0.1",
        "10.20.30.1",
        "10.20.30.129",
        "10.21.0.0",
        "10.30.0.1",
        "10.1.2.4",
        "127.16.0.0",
        "127.31.255.255",
        "127.32.0.0",
        "172.16.0.0",
        "172.16.0.1",
        "172.16.1.2",
        "172.16.1.3",
        "172.17.0.0",
        "172.17.0.1",
        "172.17.0.255",
        "203.0.113.127",
        "203.0.113.128",
        "203.0.113.191",
        "203.0.113.192",
        "100.64.0.1",
        "100.127.255.255",
        "100.1.1.1",
        "100.128.0.1",
        "10.9.9.9",
    ] {
        for zone in ["zen.test", "sbl.test", "v6.test", "dbl.test"] {
            names.push(format!("{}.{zone}.", rev4(address)));
        }
    }
    for address in [
        "::ffff:127.0.0.2",
        "::ffff:127.0.0.1",
        "::ffff:192.0.2.5",
        "2002:c000:205::1",
        "2002:c633:6407::",
        "2001:db8::1",
        "2001:db8:1::1",
        "2001:db8:2::1",
        "2001:21ab:c123::9",
        "2001:21ab:def7:4242::1",
        "2605:6001:42::bead",
        "2605:6001:42::beac",
        "::1",
        "::",
    ] {
        for zone in ["zen.test", "v6.test"] {
            names.push(format!("{}.{zone}.", rev6(address)));
        }
    }
    for name in [
        "test",
        "invalid",
        "example.com",
        "www.example.com",
        "wild.example",
        "a.b.wild.example",
        "star.example",
        "x.star.example",
        "bad.wild.example",
        "sub.bad.wild.example",
        "ok.star.example",
        "x.ok.star.example",
        "upper.example.org",
        "trailing.dot.example",
        "invalid..name",
        "name",
    ] {
        names.push(format!("{name}.dbl.test."));
    }
    for odd in [
        "zen.test.",
        "2.0.0.127.1.zen.test.",
        "02.0.0.127.zen.test.",
        "2.0.0.0127.zen.test.",
    ] {
        names.push(odd.to_owned());
    }
    for address in asks4 {
        let address = Ipv4Addr::from(address).to_string();
        names.push(format!("{}.zen.test.", rev4(&address)));
        names.push(format!("{}.sbl.test.", rev4(&address)));
    }
    for address in asks6 {
        names.push(format!(
            "{}.v6.test.",
            &rev6(&std::net::Ipv6Addr::from(address).to_string())
        ));
    }
    for name in asks_names {
        names.push(format!("{name}.dbl.test."));
    }
    assert!(names.len() > 10_000, "{} names", names.len());

    let mismatches: Vec<String> = futures::stream::iter(names.iter())
        .map(|name| {
            let (mirror, reference) = (&mirror, &reference);
            async move {
                let ours = (
                    normal(mirror.lookup_a(name).await),
                    normal(mirror.lookup_txt(name).await),
                );
                let theirs = (
                    normal(reference.lookup_a(name).await),
                    normal(reference.lookup_txt(name).await),
                );
                (ours != theirs)
                    .then(|| format!("{name}\n  mirror:  {ours:?}\n  rbldnsd: {theirs:?}"))
            }
        })
        .buffer_unordered(64)
        .filter_map(|mismatch| async move { mismatch })
        .collect()
        .await;
    let listed = {
        let mut count = 0;
        for name in &names {
            if matches!(mirror.mirrored_a(name), Some(Answer::Records { .. })) {
                count += 1;
            }
        }
        count
    };
    assert!(
        mismatches.is_empty(),
        "{} of {} names answered differently (rbldnsd log:\n{}):\n{}",
        mismatches.len(),
        names.len(),
        rbldnsd.log(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The comparison means something only if both kinds of answer were common.
    assert!(
        listed > names.len() / 5 && listed < names.len() * 4 / 5,
        "{listed} listed"
    );
}
