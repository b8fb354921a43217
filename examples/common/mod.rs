//! What the example tools share: the options that choose the lists and the resolver, how the
//! checking tools check, config files, and keeping DQS keys out of logs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use dnsbl_check::config::parse_seconds;
use dnsbl_check::presets::{self, PresetError};
use dnsbl_check::resolver::any::{self, AnyResolver};
use dnsbl_check::resolver::mirror::{MirrorResolver, ZoneData};
use dnsbl_check::zone::ZoneError;
use dnsbl_check::{
    Checker, CheckerBuilder, Config, DnsList, ListKind, NameServer, ResolverOptions, TxtLookup,
    Zone,
};

/// How DNS queries travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// UDP multiplexed over a few long-lived sockets (PooledUdpResolver): fast.
    Pooled,
    /// hickory-resolver's stock transport (HickoryResolver): a new socket, and so a new random
    /// source port, for every query.
    Hickory,
}

impl From<Transport> for any::Transport {
    fn from(transport: Transport) -> Self {
        match transport {
            Transport::Pooled => any::Transport::Pooled,
            Transport::Hickory => any::Transport::Hickory,
        }
    }
}

/// Per-query timeout unless `--timeout` or the config says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Retries after a timeout, per query, unless the config says otherwise.
pub const RETRIES: usize = 2;

/// How the checking tools (`dnsbl-check`, `dnsbl-exporter`) check: how many queries at once,
/// TXT reasons, health probes. Flattened into their command lines.
#[derive(Debug, clap::Args)]
pub struct LookupOptions {
    /// Most DNS queries in flight at once [default: 100].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: Option<u32>,

    /// Do not fetch TXT reasons.
    #[arg(long)]
    pub no_txt: bool,

    /// Do not probe the lists' test points: trust every list unprobed. A resolver that cannot
    /// see a list (filtering, refused, unreachable) then reads "not listed" for every target.
    #[arg(long)]
    pub no_health_check: bool,
}

#[allow(dead_code)] // the mail filters check with settings of their own
impl LookupOptions {
    /// `builder` with these options applied over what it had.
    pub fn apply(&self, mut builder: CheckerBuilder) -> CheckerBuilder {
        if let Some(concurrency) = self.concurrency {
            builder = builder.max_queries_in_flight(concurrency as usize);
        }
        if self.no_txt {
            builder = builder.fetch_txt(false);
        }
        if self.no_health_check {
            builder = builder.health_checks(false);
        }
        builder
    }

    /// The checker of a checking tool: `lists`' lists and settings
    /// ([`ListOptions::checker_builder`], TXT only for listings), then these options, on
    /// `resolver`.
    pub fn checker(
        &self,
        lists: &ListOptions,
        config: &Config,
        resolver: AnyResolver,
    ) -> Result<Checker<AnyResolver>, String> {
        let builder = lists.checker_builder(config, TxtLookup::WhenListed)?;
        self.apply(builder)
            .build_with(resolver)
            .map_err(|error| error.to_string())
    }
}

/// Ends the program with a setup error (bad config file, lists, resolver) shown as `C`'s
/// usage errors are: on stderr with the usage line, exit status 2.
pub fn usage_error<C: clap::CommandFactory>(message: String) -> ! {
    C::command()
        .error(clap::error::ErrorKind::InvalidValue, message)
        .exit()
}

/// The options that choose the lists and the resolver.
// Not `Debug`: it holds the DQS key, which must never be printed.
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
    pub fn config(&self) -> Result<Config, String> {
        let mut config = match &self.config {
            Some(path) => load_config(path)?,
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
    pub fn lists(&self, config: &Config) -> Result<Vec<DnsList>, String> {
        let key = self.dqs_key.as_deref();
        let mut lists = config.lists(key).map_err(preset_error)?;
        for name in &self.presets {
            lists.push(presets::list(name, key).map_err(preset_error)?);
        }
        for spec in &self.zones {
            lists.push(DnsList::from_spec(spec, ListKind::Ip).map_err(|e| e.to_string())?);
        }
        for spec in &self.domain_zones {
            lists.push(DnsList::from_spec(spec, ListKind::Domain).map_err(|e| e.to_string())?);
        }
        if lists.is_empty() {
            for list in presets::default_lists() {
                lists.push(match key {
                    Some(key) => presets::with_dqs_key(list, key).map_err(|e| key_error(&e))?,
                    None => list,
                });
            }
        }
        Ok(lists)
    }

    /// A checker builder with the lists, a deadline for a whole check, the config's settings
    /// and then `--threshold`: what the checking tools' checkers start from.
    #[allow(dead_code)] // dnsbl-policyd sets its own deadline, from --deadline
    pub fn checker_builder(
        &self,
        config: &Config,
        txt: TxtLookup,
    ) -> Result<CheckerBuilder, String> {
        let lists = self.lists(config)?;
        let deadline = self.deadline(config, None, txt);
        // File settings over the defaults, command-line flags over both.
        let mut builder =
            config.apply_to_checker(Checker::builder().lists(lists).deadline(deadline));
        if let Some(threshold) = self.threshold {
            builder = builder.threshold(threshold);
        }
        Ok(builder)
    }

    /// The per-query timeout: `--timeout`, else the config's, else [`DEFAULT_TIMEOUT`].
    pub fn timeout(&self, config: &Config) -> Duration {
        self.timeout.or(config.timeout).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The resolver settings: the config's, then the command line's, then the tools'
    /// defaults.
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
    pub fn resolver(&self, config: &Config, transport: Transport) -> Result<AnyResolver, String> {
        let resolver = AnyResolver::build(transport.into(), self.resolver_options(config))
            .map_err(|error| error.to_string())?;
        let lists = self.lists(config)?;
        let data = ZoneData::for_lists(&lists, self.zone_data.iter().cloned())
            .map_err(|error| format!("zone data: {error}"))?;
        if data.is_empty() {
            return Ok(resolver);
        }
        let mirror = MirrorResolver::builder()
            .zones_data(data)
            .build(resolver)
            .map_err(|error| format!("zone data: {error}"))?;
        Ok(mirror.into())
    }

    /// The overall deadline of one check: `deadline` (a command-line flag), else the config's,
    /// else the one the resolver settings call for, for checks that fetch TXT as `txt` says.
    pub fn deadline(
        &self,
        config: &Config,
        deadline: Option<Duration>,
        txt: TxtLookup,
    ) -> Duration {
        deadline.unwrap_or_else(|| config.check_deadline(&self.resolver_options(config), txt))
    }
}

/// Reads a TOML config, or JSON if the file name ends in `.json`.
fn load_config(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read config {}: {error}", path.display()))?;
    if path
        .extension()
        .is_some_and(|extension| extension == "json")
    {
        return serde_json::from_str(&text)
            .map_err(|error| format!("config {}: {error}", path.display()));
    }
    toml::from_str(&text).map_err(|error| {
        // Only the message and the line: toml's own display quotes the offending source
        // line, which may hold a DQS key.
        let line = error
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(line) => format!("config {} line {line}: {}", path.display(), error.message()),
            None => format!("config {}: {}", path.display(), error.message()),
        }
    })
}

/// What went wrong with a preset, and what to do about it.
fn preset_error(error: PresetError) -> String {
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
        PresetError::Key(error) => key_error(&error),
        other => other.to_string(),
    }
}

/// The library's zone errors never repeat the key, and neither does this.
fn key_error(error: &ZoneError) -> String {
    format!("--dqs-key / SPAMHAUS_DQS_KEY: {error}")
}

/// Logs to stderr with `default_filter` (RUST_LOG overrides it), scrubbing the keys of
/// `keyed_zones` from every line, whoever wrote it: query names carry DQS keys, and the
/// resolver's own logs (if RUST_LOG enables them) print query names.
pub fn init_logging(default_filter: &str, keyed_zones: Vec<Zone>) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let writer = move || Redacting {
        inner: io::stderr(),
        keyed_zones: keyed_zones.clone(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(io::stderr().is_terminal())
        .try_init();
}

/// Writes to `inner` with the keys of `keyed_zones` (in any case) replaced. Query names
/// carry DQS keys, and the resolver's own logs (if RUST_LOG enables them) print query names:
/// this scrubs the keys from every line, whoever wrote it.
struct Redacting<W> {
    inner: W,
    keyed_zones: Vec<Zone>,
}

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.keyed_zones.is_empty() {
            return self.inner.write(buf);
        }
        // tracing-subscriber hands over one whole formatted event per call, so a key is never
        // split across two calls.
        let mut text = String::from_utf8_lossy(buf).into_owned();
        for zone in &self.keyed_zones {
            text = zone.redact(&text).into_owned();
        }
        self.inner.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
