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

mod catalog;

use catalog::CATALOG;

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
