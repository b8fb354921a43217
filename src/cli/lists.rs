//! The options that choose the lists and the resolver, laid over a config file.

use std::path::PathBuf;
use std::time::Duration;

use super::{DEFAULT_TIMEOUT, OptionsError, RETRIES, Transport};
use crate::checker::{Checker, CheckerBuilder};
use crate::config::{Config, parse_seconds};
use crate::list::{DnsList, ListKind};
use crate::presets;
use crate::query::TxtLookup;
use crate::resolver::any::AnyResolver;
use crate::resolver::mirror::{MirrorResolver, ZoneData};
use crate::resolver::{NameServer, ResolverOptions};

/// The options that choose the lists and the resolver: `--zone`, `--domain-zone`,
/// `--preset`, `--config`, `--dqs-key`, `--nameserver`, `--timeout`, `--threshold`,
/// `--zone-data`.
///
/// Each setting is layered the same way: the config file's over the defaults, the command
/// line's over both.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use clap::Parser;
/// use dnsbl_check::Config;
/// use dnsbl_check::cli::ListOptions;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     lists: ListOptions,
/// }
///
/// let cli = Cli::try_parse_from(["tool", "--zone", "bl.example.net", "--timeout", "0.5"]).unwrap();
/// let config: Config = "presets = [\"spamcop\"]\ntimeout = 3\n".parse().unwrap();
/// let names: Vec<String> = cli.lists.lists(&config).unwrap().iter().map(|l| l.name().to_owned()).collect();
/// assert_eq!(names, ["spamcop", "bl.example.net"]);
/// assert_eq!(cli.lists.timeout(&config), Duration::from_millis(500));
/// ```
// Not `Debug`: it holds the DQS key, which must never be printed.
// The fields' doc comments are the tools' --help text, in its own notation (`zone[=filter]`,
// `IP[:PORT]`), not links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Args)]
pub struct ListOptions {
    /// An IP list, as zone[=filter][*weight] (Postfix syntax). Repeatable.
    #[arg(long = "zone", value_name = "SPEC")]
    pub zones: Vec<String>,

    /// A domain list, as zone[=filter][*weight]. Repeatable.
    #[arg(long = "domain-zone", value_name = "SPEC")]
    pub domain_zones: Vec<String>,

    /// A list from the built-in catalog (see dnsbl-check --list-presets). Repeatable.
    #[arg(long = "preset", value_name = "NAME")]
    pub presets: Vec<String>,

    /// A TOML (or .json) file with [[list]] definitions, presets and settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Spamhaus DQS key: Spamhaus presets use the keyed zones. Prefer the environment variable.
    #[arg(
        long,
        value_name = "KEY",
        env = "SPAMHAUS_DQS_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub dqs_key: Option<String>,

    /// Name server to query, as IP[:PORT] (default: the system's). Repeatable.
    #[arg(long = "nameserver", value_name = "IP[:PORT]")]
    pub nameservers: Vec<NameServer>,

    /// Seconds to wait for one answer (fractions allowed) [default: 2].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,

    /// Score at or above which a target counts as listed [default: 1].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threshold: Option<i32>,

    /// Answer a list's zone from local rbldnsd data files (rsync'd mirrors), in rbldnsd's
    /// syntax: types ip4set, ip4trie, ip6trie, dnset. The zone must be one a list names.
    /// Repeatable; a zone given again gets another dataset.
    #[arg(long = "zone-data", value_name = "ZONE:TYPE:FILE[,FILE...]")]
    pub zone_data: Vec<ZoneData>,
}

impl ListOptions {
    /// The `--config` file, or an empty config. Name servers given on the command line
    /// replace the file's rather than adding to them.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct Cli { #[command(flatten)] lists: dnsbl_check::cli::ListOptions }
    /// let cli = Cli::try_parse_from(["tool", "--config", "/no/such/file.toml"]).unwrap();
    /// let error = cli.lists.config().unwrap_err();
    /// assert!(error.to_string().starts_with("cannot read config /no/such/file.toml: "));
    /// ```
    pub fn config(&self) -> Result<Config, OptionsError> {
        let mut config = match &self.config {
            Some(path) => Config::from_path(path)?,
            None => Config::default(),
        };
        if !self.nameservers.is_empty() {
            config.nameservers.clear();
        }
        Ok(config)
    }

    /// The config's presets and lists, then `--preset`, `--zone` and `--domain-zone`; the
    /// default set if that is nothing. A DQS key switches every Spamhaus preset to its keyed
    /// zone.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct Cli { #[command(flatten)] lists: dnsbl_check::cli::ListOptions }
    /// let cli = Cli::try_parse_from(["tool"]).unwrap();
    /// let lists = cli.lists.lists(&Default::default()).unwrap();
    /// assert_eq!(lists.len(), dnsbl_check::presets::default_lists().len());
    /// ```
    pub fn lists(&self, config: &Config) -> Result<Vec<DnsList>, OptionsError> {
        let key = self.dqs_key.as_deref();
        let mut lists = config.lists(key)?;
        for name in &self.presets {
            lists.push(presets::list(name, key)?);
        }
        for spec in &self.zones {
            lists.push(DnsList::from_spec(spec, ListKind::Ip)?);
        }
        for spec in &self.domain_zones {
            lists.push(DnsList::from_spec(spec, ListKind::Domain)?);
        }
        if lists.is_empty() {
            for list in presets::default_lists() {
                lists.push(match key {
                    Some(key) => presets::with_dqs_key(list, key)?,
                    None => list,
                });
            }
        }
        Ok(lists)
    }

    /// A checker builder with the lists, a deadline for a whole check, the config's settings
    /// and then `--threshold`: what the checking tools' checkers start from.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct Cli { #[command(flatten)] lists: dnsbl_check::cli::ListOptions }
    /// use dnsbl_check::TxtLookup;
    ///
    /// let cli = Cli::try_parse_from(["tool", "--threshold", "2"]).unwrap();
    /// let builder = cli.lists.checker_builder(&Default::default(), TxtLookup::WhenListed);
    /// assert!(builder.is_ok());
    /// ```
    pub fn checker_builder(
        &self,
        config: &Config,
        txt: TxtLookup,
    ) -> Result<CheckerBuilder, OptionsError> {
        let lists = self.lists(config)?;
        let deadline = self.deadline(config, None, txt);
        let builder = Checker::builder().lists(lists).deadline(deadline);
        Ok(self.layer(config, builder))
    }

    /// `builder` with the config's checker settings over what it had, and the command line's
    /// (`--threshold`) over both.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct Cli { #[command(flatten)] lists: dnsbl_check::cli::ListOptions }
    /// use dnsbl_check::{Checker, Config, presets};
    ///
    /// let cli = Cli::try_parse_from(["tool", "--threshold", "3"]).unwrap();
    /// let config: Config = "threshold = 2".parse().unwrap();
    /// let builder = cli.lists.layer(&config, Checker::builder().lists(presets::default_lists()));
    /// # let _ = builder;
    /// ```
    pub fn layer(&self, config: &Config, builder: CheckerBuilder) -> CheckerBuilder {
        let builder = config.apply_to_checker(builder);
        match self.threshold {
            Some(threshold) => builder.threshold(threshold),
            None => builder,
        }
    }

    /// The per-query timeout: `--timeout`, else the config's, else [`DEFAULT_TIMEOUT`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct Cli { #[command(flatten)] lists: dnsbl_check::cli::ListOptions }
    /// use dnsbl_check::cli::DEFAULT_TIMEOUT;
    ///
    /// let cli = Cli::try_parse_from(["tool"]).unwrap();
    /// assert_eq!(cli.lists.timeout(&Default::default()), DEFAULT_TIMEOUT);
    /// ```
    pub fn timeout(&self, config: &Config) -> Duration {
        self.timeout.or(config.timeout).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The resolver settings: the config's, then the command line's, then the tools'
    /// defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct Cli { #[command(flatten)] lists: dnsbl_check::cli::ListOptions }
    /// use dnsbl_check::Config;
    ///
    /// let cli = Cli::try_parse_from(["tool", "--nameserver", "127.0.0.1:5353"]).unwrap();
    /// let config: Config = "retries = 1".parse().unwrap();
    /// let options = cli.lists.resolver_options(&config);
    /// assert_eq!(options.name_servers.len(), 1);
    /// assert_eq!(options.retries, Some(1));
    /// ```
    pub fn resolver_options(&self, config: &Config) -> ResolverOptions {
        let mut options = config
            .resolver_options()
            .name_servers(self.nameservers.iter().copied())
            .timeout(self.timeout(config));
        options.retries.get_or_insert(RETRIES);
        options
    }

    /// The resolver for `transport`, with [`ListOptions::resolver_options`]; in front of it,
    /// a local mirror of the zones that have data (`--zone-data`, a config list's `data`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct Cli { #[command(flatten)] lists: dnsbl_check::cli::ListOptions }
    /// use dnsbl_check::cli::Transport;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cli = Cli::try_parse_from(["tool", "--nameserver", "127.0.0.1:5353"]).unwrap();
    /// let config = cli.lists.config().unwrap();
    /// let resolver = cli.lists.resolver(&config, Transport::Pooled).unwrap();
    /// # let _ = resolver;
    /// # }
    /// ```
    pub fn resolver(
        &self,
        config: &Config,
        transport: Transport,
    ) -> Result<AnyResolver, OptionsError> {
        let resolver = AnyResolver::build(transport.into(), self.resolver_options(config))?;
        let lists = self.lists(config)?;
        let data = ZoneData::for_lists(&lists, self.zone_data.iter().cloned())?;
        if data.is_empty() {
            return Ok(resolver);
        }
        let mirror = MirrorResolver::builder().zones_data(data).build(resolver)?;
        Ok(mirror.into())
    }

    /// The overall deadline of one check: `deadline` (a command-line flag), else the config's,
    /// else the one the resolver settings call for, for checks that fetch TXT as `txt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct Cli { #[command(flatten)] lists: dnsbl_check::cli::ListOptions }
    /// use std::time::Duration;
    /// use dnsbl_check::TxtLookup;
    ///
    /// let cli = Cli::try_parse_from(["tool"]).unwrap();
    /// let config = Default::default();
    /// let asked = Some(Duration::from_secs(5));
    /// assert_eq!(cli.lists.deadline(&config, asked, TxtLookup::Off), Duration::from_secs(5));
    /// ```
    pub fn deadline(
        &self,
        config: &Config,
        deadline: Option<Duration>,
        txt: TxtLookup,
    ) -> Duration {
        deadline.unwrap_or_else(|| config.check_deadline(&self.resolver_options(config), txt))
    }
}
