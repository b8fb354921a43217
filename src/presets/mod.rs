//! Ready-made definitions of current public lists.
//!
//! Each preset records, in [`Preset::checked`], when its zone, codes and terms were last
//! checked against the operator's documentation. Lists that are dead or that list everything
//! (SORBS, AHBL, NJABL, ORDB, dul.ru, NixSpam) are deliberately absent.
//!
//! Most public lists are free only for low-volume, non-commercial use, and refuse queries that
//! arrive through large public resolvers: run your own resolver, and read each operator's
//! terms (see [`Preset::terms`]) before relying on a list.
//!
//! # Examples
//!
//! ```
//! use dnsbl_check::presets;
//!
//! let zen = presets::list("spamhaus-zen", None).unwrap();
//! assert_eq!(zen.zone().public_name(), "zen.spamhaus.org");
//! assert_eq!(zen.categories_of("127.0.0.4".parse().unwrap()), ["XBL"]);
//!
//! let keyed = presets::list("spamhaus-zen", Some("abcdefghijklmnopqrstuvwxyz")).unwrap();
//! assert_eq!(keyed.zone().public_name(), "zen.dq.spamhaus.net");
//! assert!(keyed.zone().has_key());
//!
//! // What the catalog says about a preset, beyond its list.
//! assert!(presets::find("spamhaus-zen").unwrap().in_default_set);
//! ```
//!
//! [`list`] is the entry point by name; [`all`] and [`find`] read the catalog;
//! [`default_lists`] is the default set; [`with_dqs_key`] keys any Spamhaus list.

use crate::filter::CodeFilter;
use crate::hash::HashSpec;
use crate::list::{DnsList, ListKind, QueryForm, TestPoints};
use crate::zone::{DQS_SUFFIX, Zone, ZoneError};

/// One preset of the catalog.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Preset {
    /// The kebab-case name, such as `spamhaus-zen`.
    pub name: &'static str,
    /// What the list holds, in a line.
    pub description: &'static str,
    /// The usage terms in short.
    pub terms: &'static str,
    /// When the zone, codes and terms were last checked against the operator's documentation.
    pub checked: &'static str,
    /// Whether the preset is in [`default_lists`].
    pub in_default_set: bool,
    /// Whether the list works only with a Spamhaus DQS key ([`with_dqs_key`]).
    pub needs_key: bool,
    /// The operator's lookup and delisting page for a listed target, a template in which
    /// `{ip}` or `{domain}` stands for the target ([`DnsList::lookup_url`]); see
    /// [`LOOKUP_URLS_CHECKED`] for where each comes from.
    pub lookup_url: &'static str,
    /// The operator's published free-use limit, where one is published in queries a day (see
    /// [`UsageLimit`] for the sources); `None` where no such number is published or confirmed.
    pub usage_limit: Option<UsageLimit>,
    zone: &'static str,
    kind: ListKind,
    filter: &'static str,
    weight: i32,
    categories: &'static [(&'static str, &'static str)],
    error_codes: &'static [(&'static str, &'static str)],
    health_check: bool,
    test_points: PresetTestPoints,
}

/// The test points an operator publishes (see [`DnsList::test_points`]).
#[derive(Debug, Clone, Copy)]
enum PresetTestPoints {
    /// RFC 5782's for the list's kind: 127.0.0.2 listed and 127.0.0.1 not; for IPv6,
    /// `::ffff:7f00:2` and `::ffff:7f00:1`; for domains, `test` and `invalid`.
    Rfc5782,
    /// A domain list's own positive test point, with RFC 5782's `invalid` as the negative.
    Domain(&'static str),
    /// The operator publishes none.
    None,
}

impl Preset {
    /// The list definition.
    pub fn list(&self) -> DnsList {
        let zone = Zone::new(self.zone).expect("preset zones are valid");
        let parse =
            |filter: &str| -> CodeFilter { filter.parse().expect("preset filters are valid") };
        let mut list = DnsList::new(self.name, zone, self.kind)
            .with_filter(parse(self.filter))
            .with_weight(self.weight)
            .with_health_check(self.health_check)
            .with_description(self.description)
            .with_lookup_url(self.lookup_url)
            .expect("preset lookup URLs are valid");
        for (code, name) in self.categories {
            list = list.with_category(parse(code), *name);
        }
        for (code, meaning) in self.error_codes {
            list = list.with_error_code(parse(code), *meaning);
        }
        list = list.with_query_form(query_form(self.name));
        if let Some(spec) = hashed(self.name) {
            list = list.with_hash(spec);
        }
        match self.test_points {
            PresetTestPoints::Rfc5782 => list,
            PresetTestPoints::Domain(listed) => list.with_test_points(TestPoints::new(
                [listed.parse().expect("preset test points are valid")],
                TestPoints::rfc5782(ListKind::Domain).not_listed().to_vec(),
            )),
            PresetTestPoints::None => list.with_test_points(TestPoints::none()),
        }
    }
}

/// The form in which a domain preset is asked about host names ([`QueryForm`]): SURBL and
/// URIBL list registrable ("base") domains; Spamhaus documents the DBL and ZRD as wildcard
/// zones that take the full host name as it is, and the DBL's abused-legit codes
/// 127.0.1.102-106 can only come back for such a host name.
fn query_form(preset: &str) -> QueryForm {
    match preset {
        "surbl-multi" | "uribl-multi" => QueryForm::Registrable,
        _ => QueryForm::Host,
    }
}

/// The hash form of a hashed preset.
///
/// `spamhaus-hbl`: SHA-256 in RFC 4648 base32, upper case without padding, of the address
/// lower-cased, with `googlemail.com` read as `gmail.com`, a `+tag` dropped and, for
/// gmail.com, the dots of the local part dropped: what Spamhaus's SpamAssassin plugin
/// (spamhaus/spamassassin-dqs, `SH.pm`) does, and the form in which Spamhaus publishes its
/// test data (`hbltest.sh`: `user@hbltest.com` is
/// `F3PDGTMWU6LFIGDJC67YNIWRY5ZRM7ERLETNFO36QAEQPMBPW2DA._email`). Not confirmed: Spamhaus's
/// newer SpamAssassin 4 and rspamd configurations (spamhaus/rspamd-dqs) ask the `_email`
/// sub-zone with lower-case SHA-1 hex instead, and which form the DQS servers treat as
/// canonical today could not be read here (no network). The health probe asks the test
/// point in the chosen form: if the servers stop answering it, the list is reported unhealthy
/// rather than passing everything. A config list can pick the other form with
/// `hash = { algorithm = "sha1", encoding = "hex" }`.
fn hashed(preset: &str) -> Option<HashSpec> {
    (preset == "spamhaus-hbl").then(HashSpec::spamhaus_email)
}

/// `user@hbltest.com`, Spamhaus's published HBL test address, as [`hashed`] asks it.
const HBL_EMAIL_TEST_POINT: &str = "F3PDGTMWU6LFIGDJC67YNIWRY5ZRM7ERLETNFO36QAEQPMBPW2DA._email";

/// Checked against the operators' published documentation (not against live DNS). Not
/// confirmed there, and worth checking against the live lists: the exact codes ZEN returns for
/// its 127.0.0.2 test point; whether SpamCop, PSBL, Mailspike, UCEPROTECT and DroneBL answer
/// IPv6 queries (those presets are IPv4-only for that reason); whether they and dnswl serve
/// TXT reasons; the meaning of Spamhaus's 127.255.255.250 and .251 (DQS key errors in several
/// independent implementations).
///
/// Test points: the IP lists carry RFC 5782's (127.0.0.2 listed, 127.0.0.1 not; for the
/// lists of both families, ZEN and dnswl, also `::ffff:7f00:2` and `::ffff:7f00:1`). That the
/// IPv4 lists publish 127.0.0.2 is the operators' practice; that ZEN and dnswl list the IPv6
/// point is RFC 5782's rule, not confirmed on their pages: where they do not, or where their
/// servers answer it from IPv4 data (as rbldnsd's `ip4set` does, listing the 6to4 image of
/// 127.0.0.2 too), IPv6 targets get "does not serve IPv6", never "not listed". The domain lists' positive test points are
/// the operators' own: `dbltest.com` (Spamhaus DBL), `test.surbl.org` (SURBL),
/// `test.uribl.com` (URIBL), from the operators' documentation as summarised in other mail
/// filters' configurations; their negative one is RFC 5782's `invalid`, not confirmed with
/// the operators. Spamhaus documents no test point for ZRD.
const CHECKED: &str = "2026-11-29";

/// When the lookup/delisting URLs ([`Preset::lookup_url`]) were last checked against the
/// operators' pages.
///
/// Confirmed on the operator's own pages or in its own answers: SpamCop's `bl.shtml?<ip>`
/// (the list's TXT records point there); Barracuda's removal-request page (named in its
/// refusals); that Spamhaus's Checker at check.spamhaus.org looks up and delists IPs and
/// domains; the PSBL listing/removal pages; Mailspike's IP Verify page (lookup and
/// delisting); DroneBL's lookup page (its FAQ); that URIBL has a lookup page and needs a
/// login to delist. Not confirmed there, only seen in other tools: the query forms
/// `check.spamhaus.org/results/?query=`, `psbl.org/listing?ip=`, `dronebl.org/lookup?ip=` and
/// `lookup.uribl.com/?domain=`; the UCEPROTECT, dnswl.org and SURBL lookup URLs as a whole.
pub const LOOKUP_URLS_CHECKED: &str = "2026-11-30";

const SPAMHAUS_IP_LOOKUP: &str = "https://check.spamhaus.org/results/?query={ip}";
const SPAMHAUS_DOMAIN_LOOKUP: &str = "https://check.spamhaus.org/results/?query={domain}";

const SPAMHAUS_TERMS: &str = "free for non-commercial use under 100k SMTP connections and \
    300k queries a day; public resolvers are refused; otherwise a (free or paid) DQS key";

/// A list operator's free-use limit in queries a day, and the way beyond it.
///
/// Sources (read 2026-12-04): Spamhaus's DNSBL usage terms (spamhaus.org, "DNSBL Usage Terms":
/// free for non-commercial use under 300,000 queries and 100,000 SMTP connections a day;
/// beyond, a free or paid Data Query Service key, or the rsync datafeed); dnswl.org's terms of
/// use (about 100,000 queries a day free; beyond, a subscription with rsync or DQS-style
/// access); Mailspike's terms (free under 100,000 queries a day; beyond, a commercial feed).
/// Not confirmed, so left without a number: SURBL (its limit is 250,000 *messages* a day,
/// not queries, and a message costs as many queries as it has domains); URIBL ("low volume"
/// on the public mirrors, with no published number); SpamCop, PSBL, DroneBL, Barracuda and
/// UCEPROTECT publish no query limit. DQS presets carry no limit here: a key's own terms (free
/// or paid) apply.
///
/// # Examples
///
/// ```
/// use dnsbl_check::presets;
///
/// let zen = presets::find("spamhaus-zen").unwrap();
/// assert_eq!(zen.usage_limit.unwrap().queries_per_day, 300_000);
/// assert!(presets::find("spamhaus-zen-dqs").unwrap().usage_limit.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsageLimit {
    /// Queries a day the operator allows for free.
    pub queries_per_day: u64,
    /// The way beyond the limit, in a phrase.
    pub beyond: &'static str,
}

const SPAMHAUS_LIMIT: UsageLimit = UsageLimit {
    queries_per_day: 300_000,
    beyond: "a Spamhaus DQS key (--dqs-key; free for non-commercial use) or the rsync \
             datafeed served from a local mirror",
};

const DNSWL_LIMIT: UsageLimit = UsageLimit {
    queries_per_day: 100_000,
    beyond: "a dnswl.org subscription (rsync to a local mirror)",
};

const MAILSPIKE_LIMIT: UsageLimit = UsageLimit {
    queries_per_day: 100_000,
    beyond: "a Mailspike commercial feed (a local mirror)",
};

/// The free-use limit that applies to `list`: that of the preset with the same public zone,
/// when the zone carries no DQS key (a key's own terms apply).
///
/// # Examples
///
/// ```
/// use dnsbl_check::{DnsList, ListKind, presets};
///
/// let zen = DnsList::from_spec("zen.spamhaus.org", ListKind::Ip).unwrap();
/// assert_eq!(presets::usage_limit(&zen).unwrap().queries_per_day, 300_000);
/// let own = DnsList::from_spec("bl.example", ListKind::Ip).unwrap();
/// assert!(presets::usage_limit(&own).is_none());
/// ```
pub fn usage_limit(list: &DnsList) -> Option<UsageLimit> {
    if list.zone().has_key() {
        return None;
    }
    let zone = list.zone().public_name();
    CATALOG
        .iter()
        .find(|preset| preset.zone.eq_ignore_ascii_case(zone))
        .and_then(|preset| preset.usage_limit)
}

const SPAMHAUS_KEY_CODES: &[(&str, &str)] = &[
    ("127.255.255.250", "DQS key disabled"),
    (
        "127.255.255.251",
        "DQS key used illegally or by another account",
    ),
];

const ZEN_CATEGORIES: &[(&str, &str)] = &[
    ("127.0.0.2", "SBL"),
    ("127.0.0.3", "SBL CSS"),
    ("127.0.0.[4..7]", "XBL"),
    ("127.0.0.9", "SBL DROP"),
    ("127.0.0.10", "PBL (ISP maintained)"),
    ("127.0.0.11", "PBL (Spamhaus maintained)"),
    ("127.0.0.30", "BCL"),
];

const DBL_CATEGORIES: &[(&str, &str)] = &[
    ("127.0.1.2", "spam domain"),
    ("127.0.1.4", "phishing domain"),
    ("127.0.1.5", "malware domain"),
    ("127.0.1.6", "botnet C&C domain"),
    ("127.0.1.102", "abused legit domain"),
    ("127.0.1.103", "abused redirector domain"),
    ("127.0.1.104", "abused legit phishing domain"),
    ("127.0.1.105", "abused legit malware domain"),
    ("127.0.1.106", "abused legit botnet C&C domain"),
];

const DBL_ERRORS: &[(&str, &str)] = &[
    ("127.0.1.255", "IP address queried against a domain list"),
    ("127.255.255.250", "DQS key disabled"),
    (
        "127.255.255.251",
        "DQS key used illegally or by another account",
    ),
];

const ZRD_ERRORS: &[(&str, &str)] = &[
    ("127.0.2.255", "IP address queried against a domain list"),
    ("127.0.1.255", "IP address queried against a domain list"),
    ("127.255.255.250", "DQS key disabled"),
    (
        "127.255.255.251",
        "DQS key used illegally or by another account",
    ),
];

const DRONEBL_CATEGORIES: &[(&str, &str)] = &[
    ("127.0.0.3", "IRC spam drone"),
    ("127.0.0.5", "bottler"),
    ("127.0.0.6", "unknown worm or spambot"),
    ("127.0.0.7", "DDoS drone"),
    ("127.0.0.8", "open SOCKS proxy"),
    ("127.0.0.9", "open HTTP proxy"),
    ("127.0.0.10", "proxychain"),
    ("127.0.0.11", "web page proxy"),
    ("127.0.0.12", "open DNS resolver"),
    ("127.0.0.13", "brute force attacker"),
    ("127.0.0.14", "open Wingate proxy"),
    ("127.0.0.15", "compromised router or gateway"),
    ("127.0.0.16", "autorooting worm"),
    ("127.0.0.17", "botnet IP"),
    ("127.0.0.18", "possibly compromised DNS/MX host"),
    ("127.0.0.19", "abused VPN service"),
    ("127.0.0.255", "uncategorised threat"),
];

const DNSWL_CATEGORIES: &[(&str, &str)] = &[
    ("127.0.[0..255].0", "trust: none"),
    ("127.0.[0..255].1", "trust: low"),
    ("127.0.[0..255].2", "trust: medium"),
    ("127.0.[0..255].3", "trust: high"),
    ("127.0.2.[0..3]", "financial services"),
    ("127.0.3.[0..3]", "email service provider"),
    ("127.0.4.[0..3]", "organisation"),
    ("127.0.5.[0..3]", "service or network provider"),
    ("127.0.6.[0..3]", "personal or private server"),
    ("127.0.7.[0..3]", "travel or leisure"),
    ("127.0.8.[0..3]", "public sector"),
    ("127.0.9.[0..3]", "media and tech"),
    ("127.0.11.[0..3]", "education"),
    ("127.0.12.[0..3]", "healthcare"),
    ("127.0.13.[0..3]", "manufacturing"),
    ("127.0.14.[0..3]", "retail, wholesale, services"),
    ("127.0.15.[0..3]", "email marketing provider"),
    ("127.0.20.[0..3]", "self-service entry"),
];

const SURBL_CATEGORIES: &[(&str, &str)] = &[
    ("&0.0.0.4", "DM: disposable mail domain"),
    ("&0.0.0.8", "PH: phishing"),
    ("&0.0.0.16", "MW: malware"),
    ("&0.0.0.32", "CT: click tracker"),
    ("&0.0.0.64", "ABUSE: spam and abuse"),
    ("&0.0.0.128", "CR: cracked site"),
];

const URIBL_CATEGORIES: &[(&str, &str)] = &[
    ("&0.0.0.2", "black"),
    ("&0.0.0.4", "grey"),
    ("&0.0.0.8", "red"),
];

static CATALOG: &[Preset] = &[
    Preset {
        name: "spamhaus-zen",
        description: "Spamhaus ZEN: SBL, CSS, XBL, PBL and DROP combined (IP addresses)",
        terms: SPAMHAUS_TERMS,
        checked: CHECKED,
        in_default_set: true,
        needs_key: false,
        lookup_url: SPAMHAUS_IP_LOOKUP,
        usage_limit: Some(SPAMHAUS_LIMIT),
        zone: "zen.spamhaus.org",
        kind: ListKind::Ip,
        filter: "127.0.0.[2..11;30]",
        weight: 1,
        categories: ZEN_CATEGORIES,
        error_codes: SPAMHAUS_KEY_CODES,
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "spamhaus-zen-dqs",
        description: "Spamhaus ZEN through the Data Query Service (needs a DQS key)",
        terms: SPAMHAUS_TERMS,
        checked: CHECKED,
        in_default_set: false,
        needs_key: true,
        lookup_url: SPAMHAUS_IP_LOOKUP,
        usage_limit: None,
        zone: "zen.dq.spamhaus.net",
        kind: ListKind::Ip,
        filter: "127.0.0.[2..11;30]",
        weight: 1,
        categories: ZEN_CATEGORIES,
        error_codes: SPAMHAUS_KEY_CODES,
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "spamhaus-dbl",
        description: "Spamhaus Domain Block List: spam, phishing, malware and C&C domains",
        terms: SPAMHAUS_TERMS,
        checked: CHECKED,
        in_default_set: true,
        needs_key: false,
        lookup_url: SPAMHAUS_DOMAIN_LOOKUP,
        usage_limit: Some(SPAMHAUS_LIMIT),
        zone: "dbl.spamhaus.org",
        kind: ListKind::Domain,
        // 127.0.1.102-106 are, in Spamhaus's words, "abused legit" domains: one host name of
        // an otherwise legitimate site that is abused for spam, phishing, malware or C&C.
        // They are only returned for the host name itself, which this preset asks
        // (`QueryForm::Host`), so they count toward the verdict.
        filter: "127.0.1.[2..99;102..106]",
        weight: 1,
        categories: DBL_CATEGORIES,
        error_codes: DBL_ERRORS,
        health_check: true,
        test_points: PresetTestPoints::Domain("dbltest.com"),
    },
    Preset {
        name: "spamhaus-dbl-dqs",
        description: "Spamhaus DBL through the Data Query Service (needs a DQS key)",
        terms: SPAMHAUS_TERMS,
        checked: CHECKED,
        in_default_set: false,
        needs_key: true,
        lookup_url: SPAMHAUS_DOMAIN_LOOKUP,
        usage_limit: None,
        zone: "dbl.dq.spamhaus.net",
        kind: ListKind::Domain,
        // As for `spamhaus-dbl`: the abused-legit codes name the host asked about.
        filter: "127.0.1.[2..99;102..106]",
        weight: 1,
        categories: DBL_CATEGORIES,
        error_codes: DBL_ERRORS,
        health_check: true,
        test_points: PresetTestPoints::Domain("dbltest.com"),
    },
    Preset {
        name: "spamhaus-zrd",
        description: "Spamhaus Zero Reputation Domain: domains first seen in the last 24 hours \
                      (DQS only: needs a DQS key)",
        terms: SPAMHAUS_TERMS,
        checked: CHECKED,
        in_default_set: false,
        needs_key: true,
        lookup_url: SPAMHAUS_DOMAIN_LOOKUP,
        usage_limit: None,
        zone: "zrd.dq.spamhaus.net",
        kind: ListKind::Domain,
        filter: "127.0.2.[2..24]",
        weight: 1,
        categories: &[
            ("127.0.2.[2..4]", "very fresh domain (under 3 hours)"),
            ("127.0.2.[5..24]", "fresh domain (under 24 hours)"),
        ],
        error_codes: ZRD_ERRORS,
        // Spamhaus documents no test point for ZRD.
        health_check: false,
        test_points: PresetTestPoints::None,
    },
    // Spamhaus Hash Blocklist, e-mail addresses: see `hashed()` for the form it is asked in
    // and what could not be confirmed.
    Preset {
        name: "spamhaus-hbl",
        description: "Spamhaus Hash Blocklist: e-mail addresses used by spammers and \
                      fraudsters, asked by hash (DQS only: needs a DQS key)",
        terms: SPAMHAUS_TERMS,
        checked: CHECKED,
        in_default_set: false,
        needs_key: true,
        lookup_url: "https://check.spamhaus.org/",
        // DQS only: the key's own terms set the limit, as for the other keyed zones.
        usage_limit: None,
        zone: "hbl.dq.spamhaus.net",
        kind: ListKind::Domain,
        // The `_email` sub-zone answers 127.0.3.2; the others (files .10 and .15, wallets
        // .20, URLs .30) are other sub-zones, never asked by this preset.
        filter: "127.0.3.2",
        weight: 1,
        categories: &[
            ("127.0.3.2", "e-mail address"),
            ("127.0.3.10", "malicious file"),
            ("127.0.3.15", "suspicious file"),
            ("127.0.3.20", "crypto wallet"),
            ("127.0.3.30", "URL"),
        ],
        error_codes: SPAMHAUS_KEY_CODES,
        health_check: true,
        // Spamhaus's test address `user@hbltest.com` (hbltest.sh), hashed as `hashed()` says.
        test_points: PresetTestPoints::Domain(HBL_EMAIL_TEST_POINT),
    },
    Preset {
        name: "spamcop",
        description: "SpamCop Blocking List: sources of reported spam (IPv4)",
        terms: "free, no registration",
        checked: CHECKED,
        in_default_set: true,
        needs_key: false,
        lookup_url: "https://www.spamcop.net/bl.shtml?{ip}",
        usage_limit: None,
        zone: "bl.spamcop.net",
        kind: ListKind::Ipv4,
        filter: "127.0.0.2",
        weight: 1,
        categories: &[("127.0.0.2", "reported spam source")],
        error_codes: &[],
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "barracuda",
        description: "Barracuda Reputation Block List (IPv4; resolver IPs must be registered)",
        terms: "free after registering an account and the resolver addresses",
        checked: CHECKED,
        in_default_set: false,
        needs_key: false,
        lookup_url: "https://www.barracudacentral.org/rbl/removal-request",
        usage_limit: None,
        zone: "b.barracudacentral.org",
        kind: ListKind::Ipv4,
        filter: "127.0.0.2",
        weight: 1,
        categories: &[("127.0.0.2", "poor reputation")],
        error_codes: &[],
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "psbl",
        description: "Passive Spam Block List: IPs that sent mail to spam traps (IPv4)",
        terms: "free for anybody",
        checked: CHECKED,
        in_default_set: true,
        needs_key: false,
        lookup_url: "https://psbl.org/listing?ip={ip}",
        usage_limit: None,
        zone: "psbl.surriel.com",
        kind: ListKind::Ipv4,
        filter: "127.0.0.2",
        weight: 1,
        categories: &[("127.0.0.2", "spam trap hit")],
        error_codes: &[],
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "mailspike",
        description: "Mailspike blacklist: spam waves and the worst reputations (IPv4)",
        terms: "free under 100k messages and 100k queries a day",
        checked: CHECKED,
        in_default_set: true,
        needs_key: false,
        lookup_url: "https://mailspike.io/ip_verify",
        usage_limit: Some(MAILSPIKE_LIMIT),
        zone: "bl.mailspike.net",
        kind: ListKind::Ipv4,
        filter: "127.0.0.[2;10..12]",
        weight: 1,
        categories: &[
            ("127.0.0.2", "spam wave participant"),
            ("127.0.0.10", "L5: worst reputation"),
            ("127.0.0.11", "L4: very bad reputation"),
            ("127.0.0.12", "L3: bad reputation"),
        ],
        error_codes: &[],
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "uceprotect-1",
        description: "UCEPROTECT level 1: single IPs seen sending spam (IPv4)",
        terms: "free; delisting policies are disputed, use with care",
        checked: CHECKED,
        in_default_set: false,
        needs_key: false,
        lookup_url: "https://www.uceprotect.net/en/rblcheck.php?ipr={ip}",
        usage_limit: None,
        zone: "dnsbl-1.uceprotect.net",
        kind: ListKind::Ipv4,
        filter: "127.0.0.2",
        weight: 1,
        categories: &[("127.0.0.2", "spam source")],
        error_codes: &[],
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "dronebl",
        description: "DroneBL: drones, open proxies and abused hosts (IPv4; IRC oriented)",
        terms: "free for commercial and non-commercial use",
        checked: CHECKED,
        in_default_set: false,
        needs_key: false,
        lookup_url: "https://dronebl.org/lookup?ip={ip}",
        usage_limit: None,
        zone: "dnsbl.dronebl.org",
        kind: ListKind::Ipv4,
        // Class 1 is "testing", 2 "sample data", 12 open resolvers, 18 and 255 weak signals.
        filter: "127.0.0.[3;5..11;13..17;19]",
        weight: 1,
        categories: DRONEBL_CATEGORIES,
        error_codes: &[],
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "dnswl",
        description: "dnswl.org allowlist: known legitimate senders (negative weight)",
        terms: "free for non-commercial use under 100k queries a day",
        checked: CHECKED,
        in_default_set: false,
        needs_key: false,
        lookup_url: "https://www.dnswl.org/s/?s={ip}",
        usage_limit: Some(DNSWL_LIMIT),
        zone: "list.dnswl.org",
        kind: ListKind::Ip,
        // Category 10 ("special cases") was answered to over-limit resolvers for every query,
        // so it is not trusted; 127.0.0.255 is the over-limit code.
        filter: "127.0.[2..9;11..255].[0..3]",
        weight: -2,
        categories: DNSWL_CATEGORIES,
        error_codes: &[(
            "127.0.[0..255].255",
            "query limit exceeded (resolver blocked)",
        )],
        health_check: true,
        test_points: PresetTestPoints::Rfc5782,
    },
    Preset {
        name: "surbl-multi",
        description: "SURBL multi: domains in spam message bodies, as a bitmask of lists",
        terms: "free under 1,000 users or 250k messages a day",
        checked: CHECKED,
        in_default_set: true,
        needs_key: false,
        lookup_url: "https://www.surbl.org/surbl-analysis",
        usage_limit: None,
        zone: "multi.surbl.org",
        kind: ListKind::Domain,
        // PH, MW, ABUSE and CR block; DM and CT are informational.
        filter: "&0.0.0.216",
        weight: 1,
        categories: SURBL_CATEGORIES,
        error_codes: &[("127.0.0.1", "query refused (resolver over quota)")],
        health_check: true,
        test_points: PresetTestPoints::Domain("test.surbl.org"),
    },
    Preset {
        name: "uribl-multi",
        description: "URIBL multi: domains in spam message bodies, as a bitmask of lists",
        terms: "free for low volume on the public mirrors",
        checked: CHECKED,
        in_default_set: true,
        needs_key: false,
        lookup_url: "https://lookup.uribl.com/?domain={domain}",
        usage_limit: None,
        zone: "multi.uribl.com",
        kind: ListKind::Domain,
        // Only "black" blocks; grey and red carry false positives by design.
        filter: "&0.0.0.2",
        weight: 1,
        categories: URIBL_CATEGORIES,
        error_codes: &[("127.0.0.1", "query refused (resolver blocked)")],
        health_check: true,
        test_points: PresetTestPoints::Domain("test.uribl.com"),
    },
];

/// Every preset, in catalog order.
pub fn all() -> &'static [Preset] {
    CATALOG
}

/// The preset named `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    CATALOG.iter().find(|preset| preset.name == name)
}

/// The list of the preset `name`, switched to its keyed zone with `dqs_key` if it is a
/// Spamhaus list.
///
/// # Examples
///
/// ```
/// use dnsbl_check::presets::{self, PresetError};
///
/// assert!(presets::list("spamcop", None).is_ok());
/// assert!(matches!(presets::list("spamhaus-zen-dqs", None), Err(PresetError::KeyNeeded(_))));
/// assert!(matches!(presets::list("no-such-list", None), Err(PresetError::Unknown(_))));
/// ```
pub fn list(name: &str, dqs_key: Option<&str>) -> Result<DnsList, PresetError> {
    let preset = find(name).ok_or_else(|| PresetError::Unknown(name.to_owned()))?;
    let list = preset.list();
    match dqs_key {
        Some(key) => with_dqs_key(list, key).map_err(PresetError::Key),
        None if preset.needs_key => Err(PresetError::KeyNeeded(name.to_owned())),
        None => Ok(list),
    }
}

/// A preset that cannot be used as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresetError {
    /// No preset has this name.
    #[error("unknown preset {0:?} (see the preset list)")]
    Unknown(String),
    /// The preset works only with a Spamhaus DQS key, and none was given.
    #[error("preset {0:?} needs a Spamhaus DQS key")]
    KeyNeeded(String),
    /// The DQS key is not usable.
    #[error("invalid DQS key: {0}")]
    Key(ZoneError),
}

/// The default set: lists that are free for low-volume use without registration.
///
/// IP lists: `spamhaus-zen`, `spamcop`, `psbl`, `mailspike`; domain lists: `spamhaus-dbl`,
/// `surbl-multi`, `uribl-multi`.
pub fn default_lists() -> Vec<DnsList> {
    CATALOG
        .iter()
        .filter(|preset| preset.in_default_set)
        .map(Preset::list)
        .collect()
}

/// Switches a Spamhaus list to its keyed Data Query Service zone: `zen.spamhaus.org` and
/// `zen.dq.spamhaus.net` both become `<key>.zen.dq.spamhaus.net`. Other lists are returned
/// unchanged.
pub fn with_dqs_key(list: DnsList, key: &str) -> Result<DnsList, ZoneError> {
    let public = list.zone().public_name();
    let service = public
        .strip_suffix(".spamhaus.org")
        .or_else(|| public.strip_suffix(DQS_SUFFIX));
    match service {
        Some(service) if !service.contains('.') => {
            let zone = Zone::with_key(&format!("{service}{DQS_SUFFIX}"), key)?;
            Ok(list.with_zone(zone))
        }
        _ => Ok(list),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_builds_and_is_named_in_kebab_case() {
        for preset in all() {
            let list = preset.list();
            assert_eq!(list.name(), preset.name);
            assert!(
                preset
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                preset.name
            );
            assert!(!preset.description.is_empty());
            assert_eq!(preset.checked.len(), 10, "{}: date", preset.name);
            assert!(list.lookup_url_template().is_some(), "{}", preset.name);
            // A template names the kind of target its list takes, or none at all.
            let wrong = if list.kind().is_ip() {
                "{domain}"
            } else {
                "{ip}"
            };
            assert!(!preset.lookup_url.contains(wrong), "{}", preset.name);
        }
    }

    #[test]
    fn presets_carry_their_operators_test_points() {
        let shown = |name: &str| {
            let points = find(name).unwrap().list().test_points();
            let text = |points: &[crate::list::TestPoint]| -> Vec<String> {
                points.iter().map(ToString::to_string).collect()
            };
            (text(points.listed()), text(points.not_listed()))
        };
        let both = (
            vec!["127.0.0.2".to_owned(), "::ffff:7f00:2".to_owned()],
            vec!["127.0.0.1".to_owned(), "::ffff:7f00:1".to_owned()],
        );
        let v4 = (vec!["127.0.0.2".to_owned()], vec!["127.0.0.1".to_owned()]);
        assert_eq!(shown("spamhaus-zen"), both);
        assert_eq!(shown("dnswl"), both);
        for name in ["spamcop", "psbl", "mailspike", "barracuda", "dronebl"] {
            assert_eq!(shown(name), v4, "{name}");
        }
        for (name, positive) in [
            ("spamhaus-dbl", "dbltest.com"),
            ("spamhaus-dbl-dqs", "dbltest.com"),
            ("surbl-multi", "test.surbl.org"),
            ("uribl-multi", "test.uribl.com"),
        ] {
            assert_eq!(
                shown(name),
                (vec![positive.to_owned()], vec!["invalid".to_owned()]),
                "{name}"
            );
        }
        assert!(find("spamhaus-zrd").unwrap().list().test_points().is_none());
        // Keying a list keeps its test points.
        let keyed = list("spamhaus-dbl", Some("abcdefghijklmnopqrstuvwxyz")).unwrap();
        assert_eq!(
            keyed.test_points(),
            find("spamhaus-dbl").unwrap().list().test_points()
        );
    }

    #[test]
    fn required_presets_exist() {
        for name in [
            "spamhaus-zen",
            "spamhaus-zen-dqs",
            "spamhaus-dbl",
            "spamhaus-dbl-dqs",
            "spamhaus-zrd",
            "spamcop",
            "barracuda",
            "psbl",
            "mailspike",
            "uceprotect-1",
            "dronebl",
            "dnswl",
            "surbl-multi",
            "uribl-multi",
            "spamhaus-hbl",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
        assert!(find("sorbs").is_none());
    }

    #[test]
    fn domain_presets_are_asked_in_their_operators_form() {
        for name in ["spamhaus-dbl", "spamhaus-dbl-dqs", "spamhaus-zrd"] {
            assert_eq!(
                find(name).unwrap().list().query_form(),
                QueryForm::Host,
                "{name}"
            );
        }
        for name in ["surbl-multi", "uribl-multi"] {
            let form = find(name).unwrap().list().query_form();
            assert_eq!(form, QueryForm::Registrable, "{name}");
        }
        // Asked about host names, the DBL counts its abused-legit codes.
        for name in ["spamhaus-dbl", "spamhaus-dbl-dqs"] {
            let dbl = find(name).unwrap().list();
            for code in ["127.0.1.2", "127.0.1.102", "127.0.1.106"] {
                assert!(dbl.counts(code.parse().unwrap()), "{name} {code}");
            }
            for code in ["127.0.1.100", "127.0.1.107", "127.0.1.255"] {
                assert!(!dbl.counts(code.parse().unwrap()), "{name} {code}");
            }
        }
    }

    #[test]
    fn hbl_is_asked_by_hash_with_its_test_address() {
        let preset = find("spamhaus-hbl").unwrap();
        assert!(preset.needs_key && !preset.in_default_set);
        let hbl = list("spamhaus-hbl", Some("abcdefghijklmnopqrstuvwxyz")).unwrap();
        let spec = hbl.hash().expect("a hashed list");
        let test_address = spec.email_target("user@hbltest.com").unwrap();
        let positive = hbl.test_points().listed_for(ListKind::Domain).cloned();
        assert_eq!(
            positive.map(|p| p.to_string()),
            Some(test_address.to_string())
        );
        assert!(hbl.serves(&test_address));
        assert!(!hbl.serves(&"hbltest.com".parse().unwrap()));
        let name = hbl.query_name(&test_address).unwrap();
        assert!(
            name.as_str()
                .ends_with("._email.abcdefghijklmnopqrstuvwxyz.hbl.dq.spamhaus.net.")
        );
        assert!(hbl.counts("127.0.3.2".parse().unwrap()));
        assert!(!hbl.counts("127.0.3.20".parse().unwrap()));
        // No other preset is hashed, and no plain list takes hashed names.
        for other in all().iter().filter(|p| p.name != "spamhaus-hbl") {
            let other = other.list();
            assert!(other.hash().is_none(), "{}", other.name());
            assert!(!other.serves(&test_address), "{}", other.name());
        }
    }

    #[test]
    fn decodes_bitmask_codes() {
        let surbl = list("surbl-multi", None).unwrap();
        let code = "127.0.0.80".parse().unwrap();
        assert!(surbl.counts(code));
        assert_eq!(
            surbl.categories_of(code),
            ["MW: malware", "ABUSE: spam and abuse"]
        );
        assert!(!surbl.counts("127.0.0.4".parse().unwrap()));
        assert!(surbl.error_meaning("127.0.0.1".parse().unwrap()).is_some());
        let uribl = list("uribl-multi", None).unwrap();
        assert_eq!(
            uribl.categories_of("127.0.0.14".parse().unwrap()),
            ["black", "grey", "red"]
        );
    }

    #[test]
    fn dqs_key_switches_only_spamhaus() {
        let key = "abcdefghijklmnopqrstuvwxyz";
        for (name, zone) in [
            ("spamhaus-zen", "zen.dq.spamhaus.net"),
            ("spamhaus-dbl", "dbl.dq.spamhaus.net"),
            ("spamhaus-zrd", "zrd.dq.spamhaus.net"),
        ] {
            let keyed = with_dqs_key(find(name).unwrap().list(), key).unwrap();
            assert_eq!(keyed.zone().public_name(), zone);
            assert!(keyed.zone().has_key());
        }
        let spamcop = with_dqs_key(find("spamcop").unwrap().list(), key).unwrap();
        assert!(!spamcop.zone().has_key());
    }

    #[test]
    fn default_set_is_free_and_keyless() {
        let names: Vec<String> = default_lists()
            .iter()
            .map(|l| l.name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "spamhaus-zen",
                "spamhaus-dbl",
                "spamcop",
                "psbl",
                "mailspike",
                "surbl-multi",
                "uribl-multi"
            ]
        );
        assert!(all().iter().all(|p| !(p.in_default_set && p.needs_key)));
    }
}
