//! Configuration files: lists, presets and checker settings, in TOML or JSON.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::checker::CheckerBuilder;
use crate::list::DnsList;
use crate::presets;
use crate::resolver::hickory::{HickoryResolverBuilder, NameServer};
use crate::zone::ZoneError;

/// A configuration file, shared by the library, the command-line tool and the policy server.
///
/// Every field is optional. Lists are `[[list]]` tables (see [`DnsList`]); presets are named
/// in `presets`. Durations are in seconds and may be fractional.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Config;
///
/// let config: Config = toml::from_str(r#"
///     presets = ["spamhaus-zen", "spamcop"]
///     threshold = 2
///     nameservers = ["127.0.0.1:53"]
///     timeout = 1.5
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
    pub nameservers: Vec<NameServerText>,
    /// Per-query timeout, in seconds.
    #[serde(default, deserialize_with = "seconds")]
    pub timeout: Option<Duration>,
    /// Retries after a timeout.
    pub attempts: Option<usize>,
    /// Overall deadline for one check, in seconds.
    #[serde(default, deserialize_with = "seconds")]
    pub deadline: Option<Duration>,
    /// The most queries in flight in bulk checks.
    pub max_queries_in_flight: Option<usize>,
    /// Whether to fetch TXT reasons.
    pub fetch_txt: Option<bool>,
    /// Whether to probe list test points.
    pub health_checks: Option<bool>,
    /// How often to probe again, in seconds.
    #[serde(default, deserialize_with = "seconds")]
    pub health_interval: Option<Duration>,
}

/// A name server as written in a config file (`IP[:PORT]`), checked when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameServerText(pub NameServer);

impl<'de> Deserialize<'de> for NameServerText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map(NameServerText)
            .map_err(serde::de::Error::custom)
    }
}

fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let Some(seconds) = Option::<f64>::deserialize(deserializer)? else {
        return Ok(None);
    };
    // Zero would make every query time out at once: never what anyone means.
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if !duration.is_zero() => Ok(Some(duration)),
        _ => Err(serde::de::Error::custom(
            "a duration must be a positive number of seconds",
        )),
    }
}

/// Something in a configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No preset has this name.
    #[error("unknown preset {0:?} (see the preset list)")]
    UnknownPreset(String),
    /// The preset works only with a Spamhaus DQS key, and none was given.
    #[error("preset {0:?} needs a Spamhaus DQS key")]
    KeyNeeded(String),
    /// The DQS key is not usable.
    #[error("invalid DQS key: {0}")]
    Key(ZoneError),
}

impl Config {
    /// The lists to use: the presets named (switched to DQS zones when `dqs_key` is given),
    /// then the lists defined in full.
    pub fn lists(&self, dqs_key: Option<&str>) -> Result<Vec<DnsList>, ConfigError> {
        let mut lists = Vec::with_capacity(self.presets.len() + self.lists.len());
        for name in &self.presets {
            lists.push(preset_list(name, dqs_key)?);
        }
        lists.extend(self.lists.iter().cloned());
        Ok(lists)
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
        if let Some(fetch) = self.fetch_txt {
            builder = builder.fetch_txt(fetch);
        }
        if let Some(enabled) = self.health_checks {
            builder = builder.health_checks(enabled);
        }
        if let Some(interval) = self.health_interval {
            builder = builder.health_interval(interval);
        }
        builder
    }

    /// Applies the resolver settings of this file to `builder`.
    pub fn apply_to_resolver(&self, mut builder: HickoryResolverBuilder) -> HickoryResolverBuilder {
        builder = builder.name_servers(self.nameservers.iter().map(|server| server.0));
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(attempts) = self.attempts {
            builder = builder.attempts(attempts);
        }
        builder
    }
}

/// The list of the preset `name`, keyed with `dqs_key` if it is a Spamhaus list.
///
/// # Examples
///
/// ```
/// use dnsbl_check::preset_list;
///
/// assert!(preset_list("spamcop", None).is_ok());
/// assert!(preset_list("spamhaus-zen-dqs", None).is_err()); // needs a key
/// assert!(preset_list("no-such-list", None).is_err());
/// ```
pub fn preset_list(name: &str, dqs_key: Option<&str>) -> Result<DnsList, ConfigError> {
    let preset = presets::find(name).ok_or_else(|| ConfigError::UnknownPreset(name.to_owned()))?;
    let list = preset.list();
    match dqs_key {
        Some(key) => presets::with_dqs_key(list, key).map_err(ConfigError::Key),
        None if preset.needs_key => Err(ConfigError::KeyNeeded(name.to_owned())),
        None => Ok(list),
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
            ConfigError::UnknownPreset("nope".into())
        );
    }
}
