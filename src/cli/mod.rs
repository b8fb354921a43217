//! Building blocks for command-line tools on this crate, with [clap]: the flags that choose
//! the lists and the resolver ([`ListOptions`]), how a checking tool checks
//! ([`LookupOptions`]), the DNS transport ([`Transport`]), logging that lets no DQS key out
//! ([`init_logging`]), and stopping on SIGTERM or SIGINT (`Shutdown`, on Unix).
//!
//! The crate's own tools (`dnsbl-check`, `dnsbl-exporter`, `dnsbl-policyd`, `dnsbl-milter`)
//! flatten these structs into their command lines, so that a flag means the same in each.
//! Settings are layered the same way everywhere: a config file's over the defaults, the
//! command line's over both.
//!
//! # Examples
//!
//! ```
//! use clap::Parser;
//! use dnsbl_check::cli::{ListOptions, LookupOptions};
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     lists: ListOptions,
//!     #[command(flatten)]
//!     check: LookupOptions,
//! }
//!
//! let cli = Cli::try_parse_from(["tool", "--preset", "spamcop", "--no-txt"]).unwrap();
//! let config = cli.lists.config().unwrap();
//! assert_eq!(cli.lists.lists(&config).unwrap()[0].name(), "spamcop");
//! assert!(cli.check.no_txt);
//! ```

use std::io::{self, IsTerminal};
use std::time::Duration;

use crate::checker::{Checker, CheckerBuilder};
use crate::config::Config;
use crate::query::TxtLookup;
use crate::redact::{KeyedZones, RedactingWriter};
use crate::resolver::any::{self, AnyResolver};

mod error;
mod lists;
#[cfg(all(unix, feature = "mail"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mail")))]
pub mod server;
#[cfg(unix)]
mod shutdown;
mod warnings;

pub use error::OptionsError;
pub use lists::ListOptions;
#[cfg(unix)]
pub use shutdown::{Shutdown, StopSignal};
pub use warnings::{describe_resolver, health_warning};

/// How DNS queries travel: `--transport`.
///
/// # Examples
///
/// ```
/// use clap::ValueEnum;
/// use dnsbl_check::cli::Transport;
///
/// assert_eq!(Transport::from_str("hickory", false), Ok(Transport::Hickory));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
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
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use dnsbl_check::cli::LookupOptions;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     check: LookupOptions,
/// }
///
/// let cli = Cli::try_parse_from(["tool", "--concurrency", "10"]).unwrap();
/// assert_eq!(cli.check.concurrency, Some(10));
/// assert!(Cli::try_parse_from(["tool", "--concurrency", "0"]).is_err());
/// ```
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

impl LookupOptions {
    /// `builder` with these options applied over what it had.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::cli::LookupOptions;
    /// use dnsbl_check::{Checker, presets};
    ///
    /// let options = LookupOptions { concurrency: Some(4), no_txt: true, no_health_check: false };
    /// let builder = options.apply(Checker::builder().lists(presets::default_lists()));
    /// # let _ = builder;
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use clap::Parser;
    /// use dnsbl_check::cli::{ListOptions, LookupOptions, Transport};
    ///
    /// #[derive(Parser)]
    /// struct Cli {
    ///     #[command(flatten)]
    ///     lists: ListOptions,
    ///     #[command(flatten)]
    ///     check: LookupOptions,
    /// }
    ///
    /// # fn main() -> Result<(), dnsbl_check::cli::OptionsError> {
    /// let cli = Cli::parse();
    /// let config = cli.lists.config()?;
    /// let resolver = cli.lists.resolver(&config, Transport::Pooled)?;
    /// let checker = cli.check.checker(&cli.lists, &config, resolver)?;
    /// # let _ = checker;
    /// # Ok(())
    /// # }
    /// ```
    pub fn checker(
        &self,
        lists: &ListOptions,
        config: &Config,
        resolver: AnyResolver,
    ) -> Result<Checker<AnyResolver>, OptionsError> {
        let builder = lists.checker_builder(config, TxtLookup::WhenListed)?;
        Ok(self.apply(builder).build_with(resolver)?)
    }
}

/// Ends the program with a setup error (bad config file, lists, resolver) shown as `C`'s
/// usage errors are: on stderr with the usage line, exit status 2.
///
/// # Examples
///
/// ```no_run
/// use clap::Parser;
///
/// #[derive(Parser)]
/// struct Cli {}
///
/// dnsbl_check::cli::usage_error::<Cli>("no lists".to_owned());
/// ```
pub fn usage_error<C: clap::CommandFactory>(message: String) -> ! {
    C::command()
        .error(clap::error::ErrorKind::InvalidValue, message)
        .exit()
}

/// Parses the command line as `C` and builds what it describes with `build`; a build error
/// ends the program as [`usage_error`] does (exit status 2). Returns the parsed command line
/// and what was built.
///
/// # Examples
///
/// ```no_run
/// use clap::Parser;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[arg(long)]
///     port: u16,
/// }
///
/// let (cli, address) = dnsbl_check::cli::parse_and_build(|cli: &Cli| match cli.port {
///     0 => Err("--port 0 is not a port".to_owned()),
///     port => Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port))),
/// });
/// assert_eq!(address.port(), cli.port);
/// ```
pub fn parse_and_build<C: clap::Parser, T>(build: impl FnOnce(&C) -> Result<T, String>) -> (C, T) {
    let cli = C::parse();
    match build(&cli) {
        Ok(built) => (cli, built),
        Err(message) => usage_error::<C>(message),
    }
}

/// Logs to stderr with `default_filter` (`RUST_LOG` overrides it), scrubbing the keys of
/// `keyed_zones` from every line, whoever wrote it: query names carry DQS keys, and the
/// resolver's own logs (if `RUST_LOG` enables them) print query names. Does nothing if a
/// global subscriber is set already.
///
/// # Examples
///
/// ```
/// use dnsbl_check::cli::init_logging;
/// use dnsbl_check::presets;
/// use dnsbl_check::redact::KeyedZones;
///
/// init_logging("warn", KeyedZones::of(&presets::default_lists()));
/// ```
pub fn init_logging(default_filter: &str, keyed_zones: KeyedZones) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let writer = move || RedactingWriter::new(io::stderr(), keyed_zones.clone());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(io::stderr().is_terminal())
        .try_init();
}
