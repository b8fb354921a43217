//! Configuration files: lists, presets, checker and resolver settings, in TOML or JSON
//! ([`Config::from_path`], [`Config::from_str`](std::str::FromStr)); and the one way
//! durations are written, in files and on command lines.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::checker::CheckerBuilder;
use crate::list::DnsList;
use crate::presets::{self, PresetError};
use crate::query::TxtLookup;
use crate::resolver::{NameServer, ResolverOptions};

mod file;

pub use file::ConfigError;

/// A configuration file, shared by the library, the command-line tool and the policy server.
///
/// Every field is optional. Lists are `[[list]]` tables (see [`DnsList`]); presets are named
/// in `presets`. Durations are in seconds, may be fractional, and must be in
/// [`parse_seconds`]'s range.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::{Config, TxtLookup};
///
/// let config: Config = toml::from_str(r#"
///     presets = ["spamhaus-zen", "spamcop"]
///     threshold = 2
///     nameservers = ["127.0.0.1:53"]
///     timeout = 1.5
///     fetch_txt = "with-a"
///
///     [[list]]
///     zone = "bl.example.net"
///     filter = "127.0.0.[2..11]"
///     weight = 2
///     [list.categories]
///     "127.0.0.2" = "spam source"
/// "#).unwrap();
/// let lists = config.lists(None).unwrap();
/// assert_eq!(lists.len(), 3);
/// assert_eq!(config.threshold, Some(2));
/// assert_eq!(config.fetch_txt, Some(TxtLookup::WithA));
/// let options = config.resolver_options();
/// assert_eq!(options.timeout, Some(Duration::from_millis(1500)));
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Lists defined in full.
    #[serde(default, rename = "list")]
    pub lists: Vec<DnsList>,
    /// Presets to use, by name (see [`presets`]).
    #[serde(default)]
    pub presets: Vec<String>,
    /// The score at which the verdict is "listed".
    pub threshold: Option<i32>,
    /// Name servers as `IP[:PORT]`; the system configuration when empty.
    #[serde(default)]
    pub nameservers: Vec<NameServer>,
    /// Per-query timeout, in seconds.
    #[serde(default, deserialize_with = "optional_seconds")]
    pub timeout: Option<Duration>,
    /// How many times to ask again after a timeout (`retries`, or `attempts` as older files
    /// say).
    #[serde(alias = "attempts")]
    pub retries: Option<usize>,
    /// Overall deadline for one check, in seconds.
    #[serde(default, deserialize_with = "optional_seconds")]
    pub deadline: Option<Duration>,
    /// The most queries in flight in bulk checks.
    pub max_queries_in_flight: Option<usize>,
    /// When to fetch TXT reasons: `false` (never), `true` (after a listing), or one of
    /// `"off"`, `"when-listed"`, `"with-a"` (see [`TxtLookup`]).
    #[serde(default, deserialize_with = "optional_txt_lookup")]
    pub fetch_txt: Option<TxtLookup>,
    /// Whether to probe list test points.
    pub health_checks: Option<bool>,
    /// How often to probe again, in seconds.
    #[serde(default, deserialize_with = "optional_seconds")]
    pub health_interval: Option<Duration>,
    /// Named list sets, `[modules.NAME]`, for a service that checks with one set or another
    /// on request (the exporter's `/probe?module=NAME`); see [`Module`].
    #[serde(default)]
    pub modules: std::collections::BTreeMap<String, Module>,
}

/// One named list set of a configuration file: `presets = [...]` and `[[modules.NAME.list]]`
/// tables, with the file's other settings.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Config;
///
/// let config: Config = toml::from_str(r#"
///     [modules.mail-ips]
///     presets = ["spamhaus-zen", "spamcop"]
///
///     [modules.domains]
///     presets = ["spamhaus-dbl"]
///     [[modules.domains.list]]
///     zone = "dbl.example.net"
///     kind = "domain"
/// "#).unwrap();
/// assert_eq!(config.modules["mail-ips"].lists(None).unwrap().len(), 2);
/// assert_eq!(config.modules["domains"].lists(None).unwrap()[1].name(), "dbl.example.net");
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Module {
    /// Lists defined in full.
    #[serde(default, rename = "list")]
    pub lists: Vec<DnsList>,
    /// Presets to use, by name.
    #[serde(default)]
    pub presets: Vec<String>,
}

/// The presets named (switched to DQS zones when `dqs_key` is given), then `lists`.
fn presets_then_lists(
    names: &[String],
    lists: &[DnsList],
    dqs_key: Option<&str>,
) -> Result<Vec<DnsList>, PresetError> {
    let mut all = Vec::with_capacity(names.len() + lists.len());
    for name in names {
        all.push(presets::list(name, dqs_key)?);
    }
    all.extend(lists.iter().cloned());
    Ok(all)
}

impl Module {
    /// The module's lists: its presets (switched to DQS zones when `dqs_key` is given), then
    /// the lists defined in full.
    pub fn lists(&self, dqs_key: Option<&str>) -> Result<Vec<DnsList>, PresetError> {
        presets_then_lists(&self.presets, &self.lists, dqs_key)
    }
}

impl Config {
    /// The lists to use: the presets named (switched to DQS zones when `dqs_key` is given),
    /// then the lists defined in full.
    pub fn lists(&self, dqs_key: Option<&str>) -> Result<Vec<DnsList>, PresetError> {
        presets_then_lists(&self.presets, &self.lists, dqs_key)
    }

    /// Applies the checker settings of this file to `builder`.
    pub fn apply_to_checker(&self, mut builder: CheckerBuilder) -> CheckerBuilder {
        if let Some(threshold) = self.threshold {
            builder = builder.threshold(threshold);
        }
        if let Some(deadline) = self.deadline {
            builder = builder.deadline(deadline);
        }
        if let Some(queries) = self.max_queries_in_flight {
            builder = builder.max_queries_in_flight(queries);
        }
        if let Some(txt) = self.fetch_txt {
            builder = builder.txt_lookup(txt);
        }
        if let Some(enabled) = self.health_checks {
            builder = builder.health_checks(enabled);
        }
        if let Some(interval) = self.health_interval {
            builder = builder.health_interval(interval);
        }
        builder
    }

    /// The resolver settings of this file (name servers, timeout, retries), for any resolver.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::{Config, HickoryResolver};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config: Config = toml::from_str("nameservers = [\"127.0.0.1:5353\"]\nretries = 1")?;
    /// let resolver = HickoryResolver::builder()
    ///     .options(config.resolver_options())
    ///     .build()?;
    /// # let _ = resolver;
    /// # Ok(())
    /// # }
    /// ```
    pub fn resolver_options(&self) -> ResolverOptions {
        ResolverOptions {
            name_servers: self.nameservers.clone(),
            timeout: self.timeout,
            retries: self.retries,
        }
    }

    /// The overall deadline for one check: the file's `deadline`, else the one `options` call
    /// for ([`ResolverOptions::check_deadline`]), for checks that fetch TXT as `txt` says.
    pub fn check_deadline(&self, options: &ResolverOptions, txt: TxtLookup) -> Duration {
        self.deadline
            .unwrap_or_else(|| options.check_deadline(self.fetch_txt.unwrap_or(txt)))
    }
}

/// The longest duration [`parse_seconds`] accepts: a day.
pub const MAX_SECONDS: f64 = 86_400.0;

/// A duration that is not a number of seconds in range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a duration must be a positive number of seconds, at most 86400 (a day)")]
#[non_exhaustive]
pub struct DurationError;

/// Reads a duration written as a number of seconds, fractions allowed: more than 0 and at
/// most [`MAX_SECONDS`] (a day). Config files and the tools' options all read durations so.
///
/// Zero is refused because, as a timeout, it would make every query fail at once: never what
/// anyone means.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::config::parse_seconds;
///
/// assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_seconds(" 86400 "), Ok(Duration::from_secs(86_400)));
/// for bad in ["0", "-1", "86401", "NaN", "inf", "2s", ""] {
///     assert!(parse_seconds(bad).is_err(), "{bad}");
/// }
/// ```
pub fn parse_seconds(text: &str) -> Result<Duration, DurationError> {
    let seconds: f64 = text.trim().parse().map_err(|_| DurationError)?;
    seconds_in_range(seconds)
}

fn seconds_in_range(seconds: f64) -> Result<Duration, DurationError> {
    if !(seconds > 0.0 && seconds <= MAX_SECONDS) {
        return Err(DurationError);
    }
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(DurationError),
    }
}

fn optional_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    match Option::<f64>::deserialize(deserializer)? {
        None => Ok(None),
        Some(seconds) => seconds_in_range(seconds)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// `fetch_txt`: a boolean, as older files say, or the name of a [`TxtLookup`].
fn optional_txt_lookup<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<TxtLookup>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Switch(bool),
        Name(String),
    }
    let Some(written) = Option::<Written>::deserialize(deserializer)? else {
        return Ok(None);
    };
    match written {
        Written::Switch(false) => Ok(Some(TxtLookup::Off)),
        Written::Switch(true) => Ok(Some(TxtLookup::WhenListed)),
        Written::Name(name) => match name.as_str() {
            "off" => Ok(Some(TxtLookup::Off)),
            "when-listed" => Ok(Some(TxtLookup::WhenListed)),
            "with-a" => Ok(Some(TxtLookup::WithA)),
            _ => Err(serde::de::Error::custom(
                "fetch_txt must be true, false, \"off\", \"when-listed\" or \"with-a\"",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_config() {
        let config: Config = toml::from_str(
            r#"
            presets = ["spamhaus-zen"]
            threshold = 3
            nameservers = ["127.0.0.1:5353", "::1"]
            timeout = 0.25
            attempts = 1
            deadline = 4
            max_queries_in_flight = 500
            fetch_txt = false
            health_checks = false
            health_interval = 60

            [[list]]
            name = "mine"
            zone = "bl.example"
            kind = "ipv4"
            "#,
        )
        .unwrap();
        assert_eq!(config.timeout, Some(Duration::from_millis(250)));
        assert_eq!(config.nameservers.len(), 2);
        assert_eq!(config.retries, Some(1));
        assert_eq!(config.fetch_txt, Some(TxtLookup::Off));
        let lists = config.lists(Some("abcdefghijklmnopqrstuvwxyz")).unwrap();
        assert_eq!(lists[0].zone().public_name(), "zen.dq.spamhaus.net");
        assert_eq!(lists[1].name(), "mine");
    }

    #[test]
    fn rejects_bad_configs() {
        for (text, needle) in [
            ("nameservers = [\"localhost\"]", "invalid name server"),
            ("timeout = -1", "positive number of seconds"),
            ("deadline = 0", "positive number of seconds"),
            ("thresold = 2", "thresold"),
            ("[[list]]\nzone = \"bad zone\"", "invalid zone"),
        ] {
            let error = toml::from_str::<Config>(text).unwrap_err().to_string();
            assert!(error.contains(needle), "{text}: {error}");
        }
        let config: Config = toml::from_str("presets = [\"nope\"]").unwrap();
        assert_eq!(
            config.lists(None).unwrap_err(),
            PresetError::Unknown("nope".into())
        );
    }

    #[test]
    fn the_readmes_config_files_are_read() {
        let readme = include_str!("../README.md");
        let blocks: Vec<&str> = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .filter(|block| block.contains("[[list]]") || block.contains("nameservers"))
            .collect();
        assert!(blocks.len() >= 2, "{blocks:?}");
        for block in blocks {
            let config: Config = toml::from_str(block).unwrap_or_else(|e| panic!("{block}: {e}"));
            let _ = config.resolver_options();
        }
    }

    #[test]
    fn fetch_txt_takes_a_switch_or_a_name() {
        for (text, expected) in [
            ("fetch_txt = false", TxtLookup::Off),
            ("fetch_txt = true", TxtLookup::WhenListed),
            ("fetch_txt = \"off\"", TxtLookup::Off),
            ("fetch_txt = \"when-listed\"", TxtLookup::WhenListed),
            ("fetch_txt = \"with-a\"", TxtLookup::WithA),
        ] {
            let config: Config = toml::from_str(text).unwrap();
            assert_eq!(config.fetch_txt, Some(expected), "{text}");
        }
        let error = toml::from_str::<Config>("fetch_txt = \"sometimes\"").unwrap_err();
        assert!(error.to_string().contains("with-a"), "{error}");
        let none: Config = toml::from_str("").unwrap();
        assert_eq!(none.fetch_txt, None);
    }

    #[test]
    fn one_range_for_every_duration() {
        for field in ["timeout", "deadline", "health_interval"] {
            for bad in ["0", "-1", "86400.5"] {
                let text = format!("{field} = {bad}");
                let error = toml::from_str::<Config>(&text).unwrap_err().to_string();
                assert!(
                    error.contains("positive number of seconds"),
                    "{text}: {error}"
                );
            }
            let config: Config = toml::from_str(&format!("{field} = 86400")).unwrap();
            let options = config.resolver_options();
            let value = match field {
                "timeout" => options.timeout,
                "deadline" => config.deadline,
                _ => config.health_interval,
            };
            assert_eq!(value, Some(Duration::from_secs(86_400)), "{field}");
        }
    }

    #[test]
    fn the_files_deadline_or_the_one_its_settings_call_for() {
        let config: Config = toml::from_str("timeout = 1\nretries = 1").unwrap();
        let options = config.resolver_options();
        assert_eq!(
            config.check_deadline(&options, TxtLookup::WhenListed),
            Duration::from_secs(6)
        );
        assert_eq!(
            config.check_deadline(&options, TxtLookup::WithA),
            Duration::from_secs(4)
        );
        let config: Config = toml::from_str("timeout = 1\nfetch_txt = false").unwrap();
        let options = config.resolver_options().retries(0);
        assert_eq!(
            config.check_deadline(&options, TxtLookup::WhenListed),
            Duration::from_secs(2)
        );
        let fixed: Config = toml::from_str("deadline = 7").unwrap();
        assert_eq!(
            fixed.check_deadline(&options, TxtLookup::WhenListed),
            Duration::from_secs(7)
        );
    }
}
