//! What goes wrong turning command-line options into lists, a resolver and a checker.

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
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// The `--config` file cannot be used.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A `--preset` (or a preset of the config file) cannot be used.
    #[error("{}", preset_message(.0))]
    Preset(#[from] PresetError),
    /// The DQS key (`--dqs-key`, `SPAMHAUS_DQS_KEY`) is not usable.
    #[error("{}", key_message(.0))]
    Key(#[from] ZoneError),
    /// A `--zone` or `--domain-zone` does not parse.
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// The resolver cannot be built.
    #[error("{0}")]
    Resolver(#[from] ResolverBuildError),
    /// The local zone data (`--zone-data`, a list's `data`) cannot be used.
    #[error("zone data: {0}")]
    ZoneData(#[from] MirrorError),
    /// The checker cannot be built.
    #[error("{0}")]
    Checker(#[from] BuildError),
}

/// What went wrong with a preset, and what to do about it.
fn preset_message(error: &PresetError) -> String {
    match error {
        PresetError::Unknown(name) => {
            let known: Vec<&str> = presets::all().iter().map(|preset| preset.name).collect();
            format!(
                "unknown preset {name:?}; known presets: {}",
                known.join(", ")
            )
        }
        PresetError::KeyNeeded(name) => format!(
            "preset {name} needs a Spamhaus DQS key: pass --dqs-key KEY or set SPAMHAUS_DQS_KEY"
        ),
        PresetError::Key(error) => key_message(error),
    }
}

/// The library's zone errors never repeat the key, and neither does this.
fn key_message(error: &ZoneError) -> String {
    format!("--dqs-key / SPAMHAUS_DQS_KEY: {error}")
}

/// The message, for tools that report setup errors as text.
impl From<OptionsError> for String {
    fn from(error: OptionsError) -> Self {
        error.to_string()
    }
}
