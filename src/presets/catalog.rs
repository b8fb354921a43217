//! The catalog: every preset's zone, codes, categories, test points and terms.

// The catalog is written in its parent's vocabulary.
use super::*;

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

const SPAMHAUS_ZEN: Preset = Preset {
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
};

const SPAMHAUS_DBL: Preset = Preset {
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
};

/// `base` asked through Spamhaus's Data Query Service: keyed, not in the default set, and
/// limited by the key's own terms rather than the public mirrors'.
const fn dqs(
    base: Preset,
    name: &'static str,
    description: &'static str,
    zone: &'static str,
) -> Preset {
    Preset {
        name,
        description,
        in_default_set: false,
        needs_key: true,
        usage_limit: None,
        zone,
        ..base
    }
}

pub(super) static CATALOG: &[Preset] = &[
    SPAMHAUS_ZEN,
    dqs(
        SPAMHAUS_ZEN,
        "spamhaus-zen-dqs",
        "Spamhaus ZEN through the Data Query Service (needs a DQS key)",
        "zen.dq.spamhaus.net",
    ),
    SPAMHAUS_DBL,
    // As for `spamhaus-dbl`: the abused-legit codes name the host asked about.
    dqs(
        SPAMHAUS_DBL,
        "spamhaus-dbl-dqs",
        "Spamhaus DBL through the Data Query Service (needs a DQS key)",
        "dbl.dq.spamhaus.net",
    ),
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
