//! List definitions: zone, kind, which codes count, what they mean, and how much they weigh.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::filter::{CodeFilter, FilterError};
use crate::hash::HashSpec;
use crate::target::{DomainName, Target, TargetError};
use crate::zone::{QueryName, QueryNameError, Zone, ZoneError};

mod config;
mod kind;
mod test_points;

use config::{DnsListConfig, check_lookup_url, code_map, redact_spec};
pub use config::{LookupUrlError, SpecError, SpecProblem};
pub use kind::{DomainCheck, ListKind, QueryForm, registrable_domain};
pub use test_points::{TestPoint, TestPoints};

/// Codes that mean "the operator will not answer this query", whatever the list: Spamhaus's
/// documented refusal codes. Public list operators use `127.255.255.0/24` for nothing but
/// such errors, so every code in it is an error, with these meanings where they are known.
const UNIVERSAL_ERROR_CODES: &[(Ipv4Addr, &str)] = &[
    (
        Ipv4Addr::new(127, 255, 255, 252),
        "typing error in the list's zone name",
    ),
    (
        Ipv4Addr::new(127, 255, 255, 254),
        "query refused: it came through a public or open resolver",
    ),
    (
        Ipv4Addr::new(127, 255, 255, 255),
        "query refused: too many queries (rate limited)",
    ),
];

/// One DNS list: where to ask, and how to read the answers.
///
/// Build one from a Postfix-style spec, from a preset, with the builder methods, or from a
/// TOML or JSON config (see the README for the schema).
///
/// # Examples
///
/// ```
/// use dnsbl_check::{DnsList, ListKind};
///
/// let zen = DnsList::from_spec("zen.spamhaus.org=127.0.0.[2..11]*3", ListKind::Ip).unwrap();
/// assert_eq!(zen.name(), "zen.spamhaus.org");
/// assert_eq!(zen.weight(), 3);
///
/// let custom = DnsList::new("my-list", "bl.example.net".parse().unwrap(), ListKind::Ipv4)
///     .with_category("127.0.0.2".parse().unwrap(), "spam source")
///     .with_error_code("127.0.0.255".parse().unwrap(), "over quota")
///     .with_weight(2)
///     .with_txt(false);
/// assert_eq!(custom.categories_of("127.0.0.2".parse().unwrap()), ["spam source"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DnsListConfig")]
pub struct DnsList {
    /// Shared with every result of the list: a bulk scan gives it to one result per target.
    name: Arc<str>,
    zone: Zone,
    kind: ListKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<CodeFilter>,
    weight: i32,
    #[serde(with = "code_map", skip_serializing_if = "Vec::is_empty")]
    categories: Vec<(CodeFilter, String)>,
    #[serde(with = "code_map", skip_serializing_if = "Vec::is_empty")]
    error_codes: Vec<(CodeFilter, String)>,
    txt: bool,
    health_check: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lookup_url: Option<String>,
    #[serde(skip_serializing_if = "HopScope::is_default")]
    hops: HopScope,
    /// `None`: RFC 5782's for the list's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    test_points: Option<TestPoints>,
    #[serde(skip_serializing_if = "NoDataPolicy::is_default")]
    nodata: NoDataPolicy,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    data: Vec<String>,
    #[serde(skip_serializing_if = "QueryForm::is_default")]
    query_form: QueryForm,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<HashSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    check_domains: Vec<DomainCheck>,
}

/// How a list's NODATA answer (NOERROR without an A record) is read.
///
/// RFC 5782 §2.1 says a list answers "not listed" with NXDOMAIN. NODATA is what a filtering
/// or sinkholing resolver in front of the list may answer instead, for every name but the
/// ones it knows; read as "not listed", it would pass every target as clean. So it is trouble
/// ([`Outcome::NoData`](crate::Outcome::NoData)) unless the list is known to answer NODATA
/// for unlisted names. In a config file: `nodata = "trouble"` (the default) or
/// `nodata = "not-listed"`.
///
/// # Examples
///
/// ```
/// use dnsbl_check::list::NoDataPolicy;
/// use dnsbl_check::{DnsList, ListKind};
///
/// let list = DnsList::from_spec("bl.example", ListKind::Ip).unwrap();
/// assert_eq!(list.nodata(), NoDataPolicy::Trouble);
/// let lenient = list.with_nodata(NoDataPolicy::NotListed);
/// assert_eq!(lenient.nodata(), NoDataPolicy::NotListed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NoDataPolicy {
    /// NODATA is trouble of its own kind, `no_data` (the default).
    #[default]
    Trouble,
    /// NODATA means "not listed", as NXDOMAIN does: for a list known to answer so.
    NotListed,
}

impl NoDataPolicy {
    fn is_default(&self) -> bool {
        *self == NoDataPolicy::default()
    }
}

/// Which Received hops of a message a list is asked about (by mail filters that read them).
///
/// # Examples
///
/// ```
/// use dnsbl_check::list::HopScope;
/// use dnsbl_check::{DnsList, ListKind};
///
/// let pbl = DnsList::from_spec("pbl.example", ListKind::Ip)
///     .unwrap()
///     .with_hops(HopScope::LastExternal);
/// assert_eq!(pbl.hops(), HopScope::LastExternal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum HopScope {
    /// Every untrusted hop (the default).
    #[default]
    Untrusted,
    /// Only the last external hop, the one that handed the message to our relays: for lists
    /// of addresses that should not send mail directly, such as Spamhaus PBL, where earlier
    /// hops are end users submitting mail through their provider.
    LastExternal,
}

impl HopScope {
    fn is_default(&self) -> bool {
        *self == HopScope::default()
    }
}

impl DnsList {
    /// A list with weight 1, no filter (any code in 127.0.0.0/8 counts), no categories, TXT
    /// reasons on and health checks on.
    pub fn new(name: impl Into<String>, zone: Zone, kind: ListKind) -> Self {
        DnsList {
            name: Arc::from(name.into()),
            zone,
            kind,
            filter: None,
            weight: 1,
            categories: Vec::new(),
            error_codes: Vec::new(),
            txt: true,
            health_check: true,
            description: String::new(),
            lookup_url: None,
            hops: HopScope::Untrusted,
            test_points: None,
            nodata: NoDataPolicy::Trouble,
            data: Vec::new(),
            query_form: QueryForm::Host,
            hash: None,
            check_domains: Vec::new(),
        }
    }

    /// Parses Postfix's `postscreen_dnsbl_sites` form, `zone[=filter][*weight]`.
    ///
    /// The list is named after its zone (its public part, for keyed zones).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{DnsList, ListKind};
    ///
    /// let dnswl = DnsList::from_spec("list.dnswl.org=127.0.[0..255].[2..3]*-2", ListKind::Ip)
    ///     .unwrap();
    /// assert_eq!(dnswl.weight(), -2);
    /// assert!(dnswl.counts("127.0.10.3".parse().unwrap()));
    /// assert!(!dnswl.counts("127.0.10.1".parse().unwrap()));
    ///
    /// assert!(DnsList::from_spec("zen.spamhaus.org*x", ListKind::Ip).is_err());
    /// ```
    pub fn from_spec(spec: &str, kind: ListKind) -> Result<Self, SpecError> {
        let error = |problem: SpecProblem| SpecError {
            spec: redact_spec(spec),
            problem,
        };
        let trimmed = spec.trim();
        if trimmed.is_empty() {
            return Err(error(SpecProblem::Empty));
        }
        let (rest, weight) = match trimmed.rsplit_once('*') {
            Some((rest, weight)) => {
                let weight: i32 = weight
                    .trim()
                    .parse()
                    .map_err(|_| error(SpecProblem::Weight))?;
                (rest, weight)
            }
            None => (trimmed, 1),
        };
        let (zone, filter) = match rest.split_once('=') {
            Some((zone, filter)) => (zone, Some(filter)),
            None => (rest, None),
        };
        let zone: Zone = zone.parse().map_err(|e| error(SpecProblem::Zone(e)))?;
        let filter = filter
            .map(str::parse::<CodeFilter>)
            .transpose()
            .map_err(|e| error(SpecProblem::Filter(e)))?;
        let mut list = DnsList::new(zone.public_name().to_owned(), zone, kind);
        list.filter = filter;
        list.weight = weight;
        Ok(list)
    }

    setters! {
        /// Only codes that `filter` matches count as a listing (Postfix's `=filter`).
        with_filter(filter: CodeFilter) => filter = Some(filter);

        /// The list's weight in the score; negative for allowlists.
        with_weight(weight: i32) => weight = weight;
    }

    /// Codes matching `code` are reported with category `name`. A code may match several.
    pub fn with_category(mut self, code: CodeFilter, name: impl Into<String>) -> Self {
        self.categories.push((code, name.into()));
        self
    }

    /// Codes matching `code` are the operator refusing to answer, never a listing.
    pub fn with_error_code(mut self, code: CodeFilter, meaning: impl Into<String>) -> Self {
        self.error_codes.push((code, meaning.into()));
        self
    }

    setters! {
        /// Whether to fetch TXT reasons for listed targets.
        with_txt(txt: bool) => txt = txt;

        /// Whether to probe the list's RFC 5782 test points before trusting it.
        with_health_check(health_check: bool) => health_check = health_check;

        /// The form in which the list is asked about host names ([`QueryForm`]); meaningful for
        /// domain lists only.
        with_query_form(form: QueryForm) => query_form = form;
    }

    /// The form in which the list is asked about host names ([`QueryForm::Host`] unless set).
    pub fn query_form(&self) -> QueryForm {
        self.query_form
    }

    /// Mail filters resolve the domains of messages and senders (their name servers, their
    /// addresses) and ask this IP list about those addresses ([`DomainCheck`]); by default
    /// none. A few domains per message, and a few addresses per domain.
    pub fn with_domain_checks(mut self, checks: impl IntoIterator<Item = DomainCheck>) -> Self {
        self.check_domains = checks.into_iter().collect();
        self.check_domains.dedup();
        self
    }

    /// What mail filters resolve domains to for this list ([`DomainCheck`]).
    pub fn domain_checks(&self) -> &[DomainCheck] {
        &self.check_domains
    }

    /// Makes this a hashed list ([`crate::hash`]): asked only about hashed names of `spec`'s
    /// sub-zone ([`HashSpec::email_target`]), never about plain names. In a config file:
    /// `hash = { algorithm = "sha256", encoding = "base32", subzone = "_email" }` on a list
    /// of `kind = "domain"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::hash::HashSpec;
    /// use dnsbl_check::{DnsList, ListKind};
    ///
    /// let hbl = DnsList::from_spec("hbl.example", ListKind::Domain)
    ///     .unwrap()
    ///     .with_hash(HashSpec::spamhaus_email());
    /// let hashed = hbl.hash().unwrap().email_target("user@hbltest.com").unwrap();
    /// assert!(hbl.serves(&hashed));
    /// assert!(!hbl.serves(&"example.com".parse().unwrap()));
    /// assert!(hbl.query_name(&hashed).unwrap().as_str().ends_with("._email.hbl.example."));
    /// ```
    pub fn with_hash(mut self, spec: HashSpec) -> Self {
        self.hash = Some(spec);
        self
    }

    /// The hash specification of a hashed list.
    pub fn hash(&self) -> Option<&HashSpec> {
        self.hash.as_ref()
    }

    /// Whether the list can be asked about `target`: its kind serves it, and a hashed list
    /// takes only hashed names of its sub-zone, a plain domain list none.
    pub fn serves(&self, target: &Target) -> bool {
        self.kind.serves(target)
            && match &self.hash {
                Some(spec) => spec.takes(target),
                None => crate::hash::hashed_subzone(target).is_none(),
            }
    }

    /// The absolute name to ask this list about `target`: a domain in the list's
    /// [`QueryForm`], under its zone (see [`QueryForm`] for an example).
    pub fn query_name(&self, target: &Target) -> Result<QueryName, QueryNameError> {
        match target {
            Target::Domain(name) if self.query_form == QueryForm::Registrable => self
                .zone
                .query_name(&Target::Domain(self.query_form.apply(name))),
            _ => self.zone.query_name(target),
        }
    }

    /// The list's test points ([`TestPoints`]), replacing RFC 5782's for its kind; with
    /// [`TestPoints::none`], the list publishes none and is used unproven.
    pub fn with_test_points(mut self, test_points: TestPoints) -> Self {
        self.test_points = Some(test_points);
        self
    }

    /// The test points probed before the list is trusted: the ones it was given, or RFC
    /// 5782's for its kind ([`TestPoints::rfc5782`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{DnsList, ListKind};
    ///
    /// let list = DnsList::from_spec("bl.example.net", ListKind::Ipv4).unwrap();
    /// let positive = list.test_points().listed_for(ListKind::Ipv4).unwrap().to_string();
    /// assert_eq!(positive, "127.0.0.2");
    /// assert!(list.test_points().listed_for(ListKind::Ipv6).is_none());
    /// ```
    pub fn test_points(&self) -> TestPoints {
        self.test_points
            .clone()
            .unwrap_or_else(|| TestPoints::rfc5782(self.kind))
    }

    /// Whether the list was given test points of its own (or none), rather than RFC 5782's.
    pub fn has_own_test_points(&self) -> bool {
        self.test_points.is_some()
    }

    /// Which Received hops the list is asked about.
    pub fn with_hops(mut self, hops: HopScope) -> Self {
        self.hops = hops;
        self
    }

    /// Which Received hops the list is asked about.
    pub fn hops(&self) -> HopScope {
        self.hops
    }

    /// How the list's NODATA answers are read (see [`NoDataPolicy`]).
    pub fn with_nodata(mut self, nodata: NoDataPolicy) -> Self {
        self.nodata = nodata;
        self
    }

    /// How the list's NODATA answers are read.
    pub fn nodata(&self) -> NoDataPolicy {
        self.nodata
    }

    /// Local rbldnsd data files for this list's zone, as `type:file[,file...]` (a config
    /// file's `data = ["ip4set:/var/lib/rsync/sbl"]`): a program that builds a local mirror
    /// (`resolver::mirror`, feature `mirror`) answers the zone from them.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{DnsList, ListKind};
    ///
    /// let list = DnsList::from_spec("sbl.example", ListKind::Ip)
    ///     .unwrap()
    ///     .with_data(["ip4set:/var/lib/rsync/sbl"]);
    /// assert_eq!(list.data(), ["ip4set:/var/lib/rsync/sbl"]);
    /// ```
    pub fn with_data(mut self, data: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.data = data.into_iter().map(Into::into).collect();
        self
    }

    /// The list's local data files (see [`DnsList::with_data`]); empty for a list asked over
    /// DNS.
    pub fn data(&self) -> &[String] {
        &self.data
    }

    /// A one-line description of what the list is.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Where a listed target can be looked up and delisted: a URL template in which `{ip}` and
    /// `{domain}` stand for the target (see [`DnsList::lookup_url`]).
    ///
    /// # Errors
    ///
    /// The template must be an `http://` or `https://` URL of printable ASCII without spaces:
    /// it is shown on terminals and in reports.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{DnsList, ListKind, Target};
    ///
    /// let list = DnsList::from_spec("bl.example.net", ListKind::Ip)
    ///     .unwrap()
    ///     .with_lookup_url("https://bl.example.net/lookup?ip={ip}")
    ///     .unwrap();
    /// let target: Target = "192.0.2.1".parse().unwrap();
    /// assert_eq!(
    ///     list.lookup_url(&target).as_deref(),
    ///     Some("https://bl.example.net/lookup?ip=192.0.2.1")
    /// );
    /// assert!(list.clone().with_lookup_url("javascript:alert(1)").is_err());
    /// ```
    pub fn with_lookup_url(mut self, template: impl Into<String>) -> Result<Self, LookupUrlError> {
        let template = template.into();
        check_lookup_url(&template)?;
        self.lookup_url = Some(template);
        Ok(self)
    }

    /// The lookup/delisting URL template, as configured.
    pub fn lookup_url_template(&self) -> Option<&str> {
        self.lookup_url.as_deref()
    }

    /// The lookup/delisting URL for `target`: the template with `{ip}` or `{domain}` filled in.
    /// `None` without a template, or when the template asks for the other kind of target (an
    /// `{ip}` page for a domain). A template without placeholders is returned as it is.
    pub fn lookup_url(&self, target: &Target) -> Option<String> {
        let template = self.lookup_url.as_deref()?;
        let (fill, other) = match target {
            Target::Ip(addr) => (("{ip}", addr.to_string()), "{domain}"),
            Target::Domain(name) => (("{domain}", name.to_string()), "{ip}"),
        };
        if template.contains(other) {
            return None;
        }
        Some(template.replace(fill.0, &fill.1))
    }

    /// Replaces the zone, keeping everything else (used to switch a preset to a keyed zone).
    pub fn with_zone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    /// Renames the list.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Arc::from(name.into());
        self
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The display name, shared: for the results of the list's checks.
    pub(crate) fn shared_name(&self) -> Arc<str> {
        Arc::clone(&self.name)
    }

    /// The zone queries go to.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// What the list is asked about.
    pub fn kind(&self) -> ListKind {
        self.kind
    }

    /// The filter, if any; without one every code in 127.0.0.0/8 counts.
    pub fn filter(&self) -> Option<&CodeFilter> {
        self.filter.as_ref()
    }

    /// The weight in the score.
    pub fn weight(&self) -> i32 {
        self.weight
    }

    /// Whether TXT reasons are fetched.
    pub fn txt(&self) -> bool {
        self.txt
    }

    /// Whether the list's test points are probed.
    pub fn health_check(&self) -> bool {
        self.health_check
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The category rules, in order.
    pub fn categories(&self) -> impl Iterator<Item = (&CodeFilter, &str)> {
        self.categories.iter().map(|(f, n)| (f, n.as_str()))
    }

    /// The names of every category that `code` falls in.
    pub fn categories_of(&self, code: Ipv4Addr) -> Vec<&str> {
        self.categories
            .iter()
            .filter(|(filter, _)| filter.matches(code))
            .map(|(_, name)| name.as_str())
            .collect()
    }

    /// Whether `code` is a listing by this list's filter (error codes aside).
    pub fn counts(&self, code: Ipv4Addr) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|filter| filter.matches(code))
    }

    /// What `code` means if it is an operator error code (list-specific codes first, then
    /// the `127.255.255.0/24` codes every list shares).
    pub fn error_meaning(&self, code: Ipv4Addr) -> Option<&str> {
        self.error_codes
            .iter()
            .find(|(filter, _)| filter.matches(code))
            .map(|(_, meaning)| meaning.as_str())
            .or_else(|| {
                UNIVERSAL_ERROR_CODES
                    .iter()
                    .find(|(known, _)| *known == code)
                    .map(|(_, meaning)| *meaning)
            })
            .or_else(|| {
                let [a, b, c, _] = code.octets();
                (a == 127 && b == 255 && c == 255).then_some("operator error code")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postfix_specs() {
        let cases: &[(&str, &str, Option<&str>, i32)] = &[
            ("zen.spamhaus.org", "zen.spamhaus.org", None, 1),
            (
                "zen.spamhaus.org=127.0.0.[2..11]*3",
                "zen.spamhaus.org",
                Some("127.0.0.[2..11]"),
                3,
            ),
            (
                "list.dnswl.org=127.0.[0..255].[2..3]*-2",
                "list.dnswl.org",
                Some("127.0.[0..255].[2..3]"),
                -2,
            ),
            ("bl.spamcop.net*2", "bl.spamcop.net", None, 2),
            ("BL.Example.", "bl.example", None, 1),
            (
                "multi.surbl.org=&0.0.0.8",
                "multi.surbl.org",
                Some("&0.0.0.8"),
                1,
            ),
        ];
        for (spec, zone, filter, weight) in cases {
            let list = DnsList::from_spec(spec, ListKind::Ip).unwrap();
            assert_eq!(list.zone().public_name(), *zone, "{spec}");
            assert_eq!(list.filter().map(CodeFilter::as_str), *filter, "{spec}");
            assert_eq!(list.weight(), *weight, "{spec}");
        }
    }

    #[test]
    fn rejects_bad_specs() {
        let cases: &[(&str, &str)] = &[
            ("", "empty spec"),
            (
                "zen.spamhaus.org*",
                "weight after '*' must be a whole number",
            ),
            (
                "zen.spamhaus.org*1.5",
                "weight after '*' must be a whole number",
            ),
            ("zen..org", "invalid zone: empty label"),
            ("=127.0.0.2", "invalid zone: empty zone name"),
            (
                "zen.spamhaus.org=127.0.0.[2..",
                "invalid code filter \"127.0.0.[2..\": unclosed '['",
            ),
        ];
        for (spec, problem) in cases {
            let error = DnsList::from_spec(spec, ListKind::Ip).unwrap_err();
            assert_eq!(error.problem().to_string(), *problem, "{spec:?}");
        }
    }

    #[test]
    fn spec_errors_hide_dqs_keys() {
        let error = DnsList::from_spec(
            "secretkey0123456789abcdefg.zen.dq.spamhaus.net=127.0.0.[2..",
            ListKind::Ip,
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(!text.contains("secretkey"), "{text}");
        assert!(text.contains("<redacted>.zen.dq.spamhaus.net"), "{text}");

        // The key straddles the length echoed: not a character of it may show.
        let long = format!(
            "{}.secretkey0123456789abcdefg.zen.dq.spamhaus.net",
            "a".repeat(290)
        );
        let text = DnsList::from_spec(&long, ListKind::Ip)
            .unwrap_err()
            .to_string();
        assert!(!text.contains(".secr"), "{text}");
        assert!(text.contains("<redacted>.zen.dq.spamhaus.net"), "{text}");
    }

    #[test]
    fn config_round_trip_keeps_key_secret() {
        let toml_text = r#"
            name = "zen-dqs"
            zone = "zen.dq.spamhaus.net"
            key = "secretkey0123456789abcdefg"
            filter = "127.0.0.[2..11]"
            weight = 2
            [categories]
            "127.0.0.2" = "SBL"
            "127.0.0.[10..11]" = "PBL"
            [error_codes]
            "127.0.1.255" = "wrong kind of query"
        "#;
        let list: DnsList = toml::from_str(toml_text).unwrap();
        assert!(list.zone().has_key());
        assert_eq!(list.categories_of("127.0.0.11".parse().unwrap()), ["PBL"]);
        assert_eq!(
            list.error_meaning("127.0.1.255".parse().unwrap()),
            Some("wrong kind of query")
        );
        assert_eq!(
            list.error_meaning("127.255.255.254".parse().unwrap()),
            Some("query refused: it came through a public or open resolver")
        );
        for shown in [
            serde_json::to_string(&list).unwrap(),
            toml::to_string(&list).unwrap(),
            format!("{list:?}"),
        ] {
            assert!(!shown.contains("secretkey"), "{shown}");
        }
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(json["zone"], "zen.dq.spamhaus.net");
        assert_eq!(json["categories"]["127.0.0.[10..11]"], "PBL");
    }

    #[test]
    fn query_forms_cut_host_names_for_registrable_lists_only() {
        let registrable: DnsList = toml::from_str(
            "zone = \"multi.uribl.example\"\nkind = \"domain\"\nquery_form = \"registrable\"\n",
        )
        .unwrap();
        assert_eq!(registrable.query_form(), QueryForm::Registrable);
        let host: DnsList = toml::from_str("zone = \"dbl.example\"\nkind = \"domain\"\n").unwrap();
        assert_eq!(host.query_form(), QueryForm::Host);
        assert!(
            toml::from_str::<DnsList>("zone = \"x.example\"\nquery_form = \"base\"\n").is_err()
        );
        let cases = [
            (
                "abused.legit.example",
                "legit.example",
                "abused.legit.example",
            ),
            (
                "www.shop.example.co.uk",
                "example.co.uk",
                "www.shop.example.co.uk",
            ),
            ("user.github.io", "user.github.io", "user.github.io"),
            // Test points and names without a registrable domain are asked as they are.
            ("test.uribl.example", "uribl.example", "test.uribl.example"),
            ("test", "test", "test"),
            ("co.uk", "co.uk", "co.uk"),
        ];
        for (target, cut, whole) in cases {
            let target: Target = target.parse().unwrap();
            let name = registrable.query_name(&target).unwrap();
            assert_eq!(name.as_str(), format!("{cut}.multi.uribl.example."));
            let name = host.query_name(&target).unwrap();
            assert_eq!(name.as_str(), format!("{whole}.dbl.example."));
        }
        // Addresses are never cut.
        let ip: Target = "192.0.2.1".parse().unwrap();
        assert_eq!(
            registrable.query_name(&ip).unwrap().as_str(),
            "1.2.0.192.multi.uribl.example."
        );
        // The form survives a round trip, and the default is not written out.
        let text = toml::to_string(&registrable).unwrap();
        assert!(text.contains("query_form = \"registrable\""), "{text}");
        assert!(!toml::to_string(&host).unwrap().contains("query_form"));
    }

    #[test]
    fn domain_checks_are_for_ip_lists_only() {
        let list: DnsList =
            toml::from_str("zone = \"sbl.example\"\ncheck_domains = [\"ns\", \"a\"]\n").unwrap();
        assert_eq!(list.domain_checks(), [DomainCheck::Ns, DomainCheck::A]);
        assert!(toml::to_string(&list).unwrap().contains("check_domains"));
        let none: DnsList = toml::from_str("zone = \"sbl.example\"\n").unwrap();
        assert!(none.domain_checks().is_empty());
        for bad in [
            "zone = \"dbl.example\"\nkind = \"domain\"\ncheck_domains = [\"a\"]\n",
            "zone = \"sbl.example\"\ncheck_domains = [\"mx\"]\n",
        ] {
            assert!(toml::from_str::<DnsList>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_lists_name_their_test_points_or_none() {
        let list: DnsList = toml::from_str("zone = \"bl.example\"\n").unwrap();
        assert_eq!(list.test_points(), TestPoints::rfc5782(ListKind::Ip));
        assert!(!list.has_own_test_points());

        let none: DnsList =
            toml::from_str("zone = \"bl.example\"\ntest_points = \"none\"\n").unwrap();
        assert!(none.test_points().is_none());
        assert!(none.has_own_test_points());

        let own: DnsList = toml::from_str(
            "zone = \"rhs.example\"\nkind = \"domain\"\n\
             test_points = { listed = \"listed.example\", not_listed = [\"invalid\"] }\n",
        )
        .unwrap();
        let points = own.test_points();
        assert_eq!(
            points.listed_for(ListKind::Domain),
            Some(&"listed.example".parse().unwrap())
        );
        assert_eq!(points.not_listed().len(), 1);
        // The same in JSON, and back.
        let json = serde_json::to_value(&own).unwrap();
        assert_eq!(json["test_points"]["listed"][0], "listed.example");
        let again: DnsList = serde_json::from_value(json).unwrap();
        assert_eq!(again.test_points(), points);
        let json = serde_json::to_value(&none).unwrap();
        assert_eq!(json["test_points"], "none");

        for (bad, problem) in [
            ("test_points = \"nope\"", "none"),
            (
                "test_points = { listed = \"bad name!\" }",
                "invalid test point",
            ),
            ("test_points = { positive = \"127.0.0.2\" }", "positive"),
            (
                "kind = \"ipv4\"\ntest_points = { listed = \"test\" }",
                "ipv4 list",
            ),
            (
                "kind = \"ipv4\"\ntest_points = { listed = \"::ffff:7f00:2\" }",
                "ipv4 list",
            ),
        ] {
            let text = format!("zone = \"bl.example\"\n{bad}\n");
            let error = toml::from_str::<DnsList>(&text).unwrap_err();
            assert!(error.to_string().contains(problem), "{bad}: {error}");
        }
        let many: Vec<String> = (0..9).map(|i| format!("\"127.0.0.{i}\"")).collect();
        let text = format!(
            "zone = \"bl.example\"\ntest_points = {{ listed = [{}] }}\n",
            many.join(", ")
        );
        assert!(toml::from_str::<DnsList>(&text).is_err());
    }

    #[test]
    fn test_point_names() {
        let zone: Zone = "bl.example".parse().unwrap();
        let name = |text: &str| {
            text.parse::<TestPoint>()
                .unwrap()
                .query_name(&zone)
                .unwrap()
                .as_str()
                .to_owned()
        };
        assert_eq!(name("127.0.0.2"), "2.0.0.127.bl.example.");
        assert_eq!(name("test"), "test.bl.example.");
        assert_eq!(name("dbltest.com"), "dbltest.com.bl.example.");
        // The IPv6 test point stays an IPv6 name: never unwrapped to 127.0.0.2.
        assert!(name("::ffff:7f00:2").starts_with("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0"));
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let error = toml::from_str::<DnsList>("zone = \"a.example\"\nwieght = 2\n").unwrap_err();
        assert!(error.to_string().contains("wieght"), "{error}");
    }

    #[test]
    fn config_lists_take_a_lookup_url_and_refuse_unsafe_ones() {
        let list: DnsList = toml::from_str(
            "zone = \"bl.example\"\nlookup_url = \"https://bl.example/check?ip={ip}\"\n",
        )
        .unwrap();
        let ip: Target = "2001:db8::1".parse().unwrap();
        let domain: Target = "example.org".parse().unwrap();
        assert_eq!(
            list.lookup_url(&ip).as_deref(),
            Some("https://bl.example/check?ip=2001:db8::1")
        );
        assert_eq!(
            list.lookup_url(&domain),
            None,
            "an {{ip}} page for a domain"
        );
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(json["lookup_url"], "https://bl.example/check?ip={ip}");

        let plain = list.clone().with_lookup_url("https://bl.example/").unwrap();
        assert_eq!(
            plain.lookup_url(&domain).as_deref(),
            Some("https://bl.example/")
        );

        // As written in TOML: an escape sequence that would reach a terminal, a space, a scheme.
        for (bad, problem) in [
            (r#""javascript:alert(1)""#, "https://"),
            (r#""https://bl.example/\u001b[31m""#, "printable ASCII"),
            (r#""https://bl.example/ spaced""#, "printable ASCII"),
        ] {
            let text = format!("zone = \"bl.example\"\nlookup_url = {bad}\n");
            let error = toml::from_str::<DnsList>(&text).unwrap_err();
            assert!(error.to_string().contains(problem), "{error}");
        }
    }
}
