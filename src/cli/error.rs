//! What goes wrong turning command-line options into lists, a resolver and a checker.

use std::fmt;

use crate::checker::BuildError;
use crate::config::ConfigError;
use crate::list::SpecError;
use crate::presets::{self, PresetError};
use crate::resolver::ResolverBuildError;
use crate::resolver::mirror::MirrorError;
use crate::zone::ZoneError;

/// A setup error of a command-line tool: the message says which flag to fix, and never holds
/// a DQS key.
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use dnsbl_check::cli::{ListOptions, OptionsError};
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     lists: ListOptions,
/// }
///
/// let cli = Cli::try_parse_from(["tool", "--preset", "no-such-list"]).unwrap();
/// let error = cli.lists.lists(&Default::default()).unwrap_err();
/// assert!(matches!(error, OptionsError::Preset(_)));
/// assert!(error.to_string().starts_with("unknown preset \"no-such-list\"; known presets: "));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum OptionsError {
    /// The `--config` file cannot be used.
    Config(ConfigError),
    /// A `--preset` (or a preset of the config file) cannot be used.
    Preset(PresetError),
    /// The DQS key (`--dqs-key`, `SPAMHAUS_DQS_KEY`) is not usable.
    Key(ZoneError),
    /// A `--zone` or `--domain-zone` does not parse.
    Spec(SpecError),
    /// The resolver cannot be built.
    Resolver(ResolverBuildError),
    /// The local zone data (`--zone-data`, a list's `data`) cannot be used.
    ZoneData(MirrorError),
    /// The checker cannot be built.
    Checker(BuildError),
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::Config(error) => error.fmt(f),
            OptionsError::Preset(PresetError::Unknown(name)) => {
                let known: Vec<&str> = presets::all().iter().map(|preset| preset.name).collect();
                write!(
                    f,
                    "unknown preset {name:?}; known presets: {}",
                    known.join(", ")
                )
            }
            OptionsError::Preset(PresetError::KeyNeeded(name)) => write!(
                f,
                "preset {name} needs a Spamhaus DQS key: pass --dqs-key KEY or set \
                 SPAMHAUS_DQS_KEY"
            ),
            // The library's zone errors never repeat the key, and neither does this.
            OptionsError::Preset(PresetError::Key(error)) | OptionsError::Key(error) => {
                write!(f, "--dqs-key / SPAMHAUS_DQS_KEY: {error}")
            }
            OptionsError::Spec(error) => error.fmt(f),
            OptionsError::Resolver(error) => error.fmt(f),
            OptionsError::ZoneData(error) => write!(f, "zone data: {error}"),
            OptionsError::Checker(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for OptionsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OptionsError::Config(error) => Some(error),
            OptionsError::Preset(error) => Some(error),
            OptionsError::Key(error) => Some(error),
            OptionsError::Spec(error) => Some(error),
            OptionsError::Resolver(error) => Some(error),
            OptionsError::ZoneData(error) => Some(error),
            OptionsError::Checker(error) => Some(error),
        }
    }
}

macro_rules! from_errors {
    ($($variant:ident($error:ty)),* $(,)?) => {$(
        impl From<$error> for OptionsError {
            fn from(error: $error) -> Self {
                OptionsError::$variant(error)
            }
        }
    )*};
}

from_errors!(
    Config(ConfigError),
    Preset(PresetError),
    Key(ZoneError),
    Spec(SpecError),
    Resolver(ResolverBuildError),
    ZoneData(MirrorError),
    Checker(BuildError),
);

/// The message, for tools that report setup errors as text.
impl From<OptionsError> for String {
    fn from(error: OptionsError) -> Self {
        error.to_string()
    }
}
