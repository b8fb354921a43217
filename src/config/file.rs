//! Reading a [`Config`] from text or a file: TOML, or JSON.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::Config;

/// A configuration that could not be read.
///
/// The messages never quote the file: a line of it may hold a Spamhaus DQS key. A TOML error
/// therefore keeps the parser's message and the line, not the parser's error (whose display
/// shows the offending line); a JSON error keeps serde_json's, which names a line and column
/// only.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Config;
/// use dnsbl_check::config::ConfigError;
///
/// let error = "threshold = 1\nthreshold = 2\n".parse::<Config>().unwrap_err();
/// assert!(matches!(error, ConfigError::Toml { line: Some(2), .. }));
/// assert!(error.to_string().starts_with("config line 2: "));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The TOML text is not a valid configuration.
    Toml {
        /// The file, when one was read.
        path: Option<PathBuf>,
        /// The line of the error, from 1, when the parser tells.
        line: Option<usize>,
        /// The parser's message, without the file's text.
        message: String,
    },
    /// The JSON text is not a valid configuration.
    Json {
        /// The file, when one was read.
        path: Option<PathBuf>,
        /// The parser's error (it names a line and column, never the text).
        source: serde_json::Error,
    },
}

impl ConfigError {
    fn in_file(self, file: &Path) -> Self {
        match self {
            ConfigError::Toml { line, message, .. } => ConfigError::Toml {
                path: Some(file.to_owned()),
                line,
                message,
            },
            ConfigError::Json { source, .. } => ConfigError::Json {
                path: Some(file.to_owned()),
                source,
            },
            read => read,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named = |path: &Option<PathBuf>| match path {
            Some(path) => format!("config {}", path.display()),
            None => "config".to_owned(),
        };
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "cannot read config {}: {source}", path.display())
            }
            ConfigError::Toml {
                path,
                line: Some(line),
                message,
            } => write!(f, "{} line {line}: {message}", named(path)),
            ConfigError::Toml {
                path,
                line: None,
                message,
            } => write!(f, "{}: {message}", named(path)),
            ConfigError::Json { path, source } => write!(f, "{}: {source}", named(path)),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            ConfigError::Json { source, .. } => Some(source),
            ConfigError::Toml { .. } => None,
        }
    }
}

/// Reads TOML text.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Config;
///
/// let config: Config = "presets = [\"spamcop\"]\nthreshold = 2\n".parse().unwrap();
/// assert_eq!(config.threshold, Some(2));
/// assert!("no_such_setting = 1".parse::<Config>().is_err());
/// ```
impl FromStr for Config {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        toml::from_str(text).map_err(|error| {
            let line = error
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            ConfigError::Toml {
                path: None,
                line,
                message: error.message().to_owned(),
            }
        })
    }
}

impl Config {
    /// Reads JSON text, with the fields of the TOML format.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Config;
    ///
    /// let config = Config::from_json_str(r#"{"presets": ["spamcop"], "timeout": 1.5}"#).unwrap();
    /// assert_eq!(config.presets, ["spamcop"]);
    /// ```
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(text).map_err(|source| ConfigError::Json { path: None, source })
    }

    /// Reads a configuration file: JSON if its name ends in `.json`, TOML otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Config;
    /// use dnsbl_check::config::ConfigError;
    ///
    /// let dir = std::env::temp_dir().join(format!("dnsbl-config-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("lists.toml");
    /// std::fs::write(&path, "presets = [\"spamcop\"]\n").unwrap();
    /// assert_eq!(Config::from_path(&path).unwrap().presets, ["spamcop"]);
    ///
    /// let missing = Config::from_path(dir.join("missing.toml")).unwrap_err();
    /// assert!(matches!(missing, ConfigError::Read { .. }));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config = if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            Config::from_json_str(&text)
        } else {
            text.parse()
        };
        config.map_err(|error| error.in_file(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_error_never_quotes_the_text() {
        let error = "presets = [\"spamhaus-zen\"]\ndqs = \"SECRETKEY\"\n"
            .parse::<Config>()
            .unwrap_err();
        let shown = error.to_string();
        assert!(shown.starts_with("config line 2: "), "{shown}");
        assert!(!shown.contains("SECRETKEY"), "{shown}");
        assert!(std::error::Error::source(&error).is_none());
    }

    #[test]
    fn a_file_is_named_in_its_errors() {
        let error = ConfigError::Toml {
            path: None,
            line: None,
            message: "bad".into(),
        }
        .in_file(Path::new("a.toml"));
        assert_eq!(error.to_string(), "config a.toml: bad");
        let json = Config::from_json_str("{")
            .unwrap_err()
            .in_file(Path::new("a.json"));
        assert!(json.to_string().starts_with("config a.json: EOF"), "{json}");
    }
}
