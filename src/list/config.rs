//! A list as a config file writes it, and as a command line writes it (Postfix syntax).

// Written in the vocabulary of the list module and its imports.
use super::*;

/// How a list is written in a config file (TOML or JSON).
///
/// `zone` may carry a Spamhaus DQS key in full (`<key>.zen.dq.spamhaus.net`), or the key can be
/// given apart as `key`; either way it is kept secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DnsListConfig {
    name: Option<String>,
    zone: String,
    key: Option<String>,
    #[serde(default)]
    kind: ListKind,
    filter: Option<CodeFilter>,
    #[serde(default = "default_weight")]
    weight: i32,
    #[serde(default, with = "code_map")]
    categories: Vec<(CodeFilter, String)>,
    #[serde(default, with = "code_map")]
    error_codes: Vec<(CodeFilter, String)>,
    #[serde(default = "default_true")]
    txt: bool,
    #[serde(default = "default_true")]
    health_check: bool,
    #[serde(default)]
    description: String,
    #[serde(default)]
    hops: HopScope,
    lookup_url: Option<String>,
    test_points: Option<TestPoints>,
    #[serde(default)]
    nodata: NoDataPolicy,
    /// Local rbldnsd data files for the zone, `type:file[,file...]` each.
    #[serde(default)]
    data: Vec<String>,
    #[serde(default)]
    query_form: QueryForm,
    hash: Option<HashSpec>,
    #[serde(default)]
    check_domains: Vec<DomainCheck>,
}

/// What is wrong with a list in a configuration file.
#[derive(Debug, thiserror::Error)]
pub(super) enum ListConfigError {
    #[error(transparent)]
    Zone(#[from] ZoneError),
    #[error(transparent)]
    LookupUrl(#[from] LookupUrlError),
    #[error("check_domains asks an IP list about a domain's addresses, not a {kind} list")]
    DomainChecks { kind: ListKind },
    #[error("test point {point} is not of a family a {kind} list holds")]
    TestPointFamily { point: TestPoint, kind: ListKind },
}

/// A lookup URL template that is not acceptable ([`DnsList::with_lookup_url`]).
///
/// # Examples
///
/// ```
/// use dnsbl_check::{DnsList, ListKind};
///
/// let list = DnsList::from_spec("bl.example.net", ListKind::Ip).unwrap();
/// let error = list.with_lookup_url("ftp://example.net/").unwrap_err();
/// assert!(error.to_string().contains("https://"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid lookup_url: {0}")]
pub struct LookupUrlError(&'static str);

/// Checks a lookup URL template: printable ASCII, no spaces, http or https.
pub(super) fn check_lookup_url(template: &str) -> Result<(), LookupUrlError> {
    if !(template.starts_with("https://") || template.starts_with("http://")) {
        return Err(LookupUrlError("must start with https:// or http://"));
    }
    if template.len() > 2048 || !template.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(LookupUrlError(
            "must be printable ASCII without spaces, at most 2048 characters",
        ));
    }
    Ok(())
}

fn default_weight() -> i32 {
    1
}

fn default_true() -> bool {
    true
}

impl TryFrom<DnsListConfig> for DnsList {
    type Error = ListConfigError;

    fn try_from(config: DnsListConfig) -> Result<Self, Self::Error> {
        let zone = match &config.key {
            Some(key) => Zone::with_key(&config.zone, key)?,
            None => config.zone.parse()?,
        };
        if !config.check_domains.is_empty() && !config.kind.is_ip() {
            return Err(ListConfigError::DomainChecks { kind: config.kind });
        }
        if let Some(points) = &config.test_points {
            let fits = |point: &&TestPoint| config.kind.families().contains(&point.family());
            let mut all = points.listed().iter().chain(points.not_listed());
            if let Some(point) = all.find(|point| !fits(point)) {
                return Err(ListConfigError::TestPointFamily {
                    point: point.clone(),
                    kind: config.kind,
                });
            }
        }
        Ok(DnsList {
            name: config
                .name
                .unwrap_or_else(|| zone.public_name().to_owned())
                .into(),
            zone,
            kind: config.kind,
            filter: config.filter,
            weight: config.weight,
            categories: config.categories,
            error_codes: config.error_codes,
            txt: config.txt,
            health_check: config.health_check,
            description: config.description,
            lookup_url: match config.lookup_url {
                Some(template) => {
                    check_lookup_url(&template)?;
                    Some(template)
                }
                None => None,
            },
            hops: config.hops,
            test_points: config.test_points,
            nodata: config.nodata,
            data: config.data,
            query_form: config.query_form,
            hash: config.hash,
            check_domains: config.check_domains,
        })
    }
}

/// Serialises `[(filter, text)]` as a map `{ "filter" = "text" }`, keeping the order.
pub(super) mod code_map {
    use super::*;

    pub(in crate::list) fn serialize<S: Serializer>(
        entries: &[(CodeFilter, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (filter, text) in entries {
            map.serialize_entry(filter.as_str(), text)?;
        }
        map.end()
    }

    pub(in crate::list) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(CodeFilter, String)>, D::Error> {
        struct OrderedMap;
        impl<'de> Visitor<'de> for OrderedMap {
            type Value = Vec<(CodeFilter, String)>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from code filters to names")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = access.next_entry::<String, String>()? {
                    let filter = CodeFilter::from_str(&key).map_err(serde::de::Error::custom)?;
                    entries.push((filter, value));
                }
                Ok(entries)
            }
        }
        deserializer.deserialize_map(OrderedMap)
    }
}

/// A Postfix-style list spec that cannot be parsed.
///
/// The spec is echoed with any DQS key replaced by `<redacted>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid list spec {spec:?}: {problem}")]
pub struct SpecError {
    pub(super) spec: String,
    pub(super) problem: SpecProblem,
}

impl SpecError {
    /// What is wrong.
    pub fn problem(&self) -> &SpecProblem {
        &self.problem
    }
}

/// What is wrong with a list spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecProblem {
    /// Nothing was given.
    #[error("empty spec")]
    Empty,
    /// The zone part is not a usable zone.
    #[error(transparent)]
    Zone(ZoneError),
    /// The `=filter` part does not parse.
    #[error(transparent)]
    Filter(FilterError),
    /// The `*weight` part is not a whole number.
    #[error("weight after '*' must be a whole number")]
    Weight,
}

/// Replaces the key label of a DQS zone in a spec, so that errors never echo it, and bounds
/// the length echoed. Redacts first: shortening first could cut the zone after the key and
/// leave part of the key unrecognised.
pub(super) fn redact_spec(spec: &str) -> String {
    let spec = spec.trim();
    let lower = spec.to_ascii_lowercase();
    let redacted = match lower.find(crate::zone::DQS_SUFFIX) {
        // key . service . dq.spamhaus.net: the key is the label before the service.
        Some(end) => match lower[..end].rfind('.') {
            Some(dot) => format!("<redacted>{}", &spec[dot..]),
            None => spec.to_owned(),
        },
        None => spec.to_owned(),
    };
    redacted.chars().take(300).collect()
}
