//! What a mail-filter server's command line needs beyond the lists (the crate's own
//! `dnsbl-policyd` and `dnsbl-milter` use it): how it checks, where it listens, shutdown on
//! SIGTERM/SIGINT, the background probe of the lists' health, and logging. The servers
//! themselves are [`crate::mail::serve`]'s.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::parse_seconds;
use crate::mail::serve::{Listen, Listener};
use crate::resolver::any::AnyResolver;
use crate::resolver::cache::AnswerCache;
use crate::resolver::cache::CacheConfig;
use crate::{Checker, TxtLookup};
use futures::Stream;
use tracing::{debug, info};

use crate::cli::{ListOptions, Shutdown, Transport};
use crate::redact::KeyedZones;

mod options;

pub use options::{ConnectionOptions, ServeOptions, ServerFlags};

/// The resolver every lookup goes through: one cache, shared by the checker and FCrDNS.
pub type Resolver = Arc<AnswerCache<AnyResolver>>;

/// How the servers check: the transport, the deadline, the cache and the health probes.
#[derive(clap::Args)]
pub struct CheckOptions {
    /// How DNS queries travel: hickory-resolver's stock transport (a new socket, so a new
    /// random source port, per query), or a few long-lived UDP sockets (less work per query).
    #[arg(long, value_enum, default_value_t = Transport::Hickory)]
    pub transport: Transport,

    /// Seconds all lookups for one request may take together [default: room for every try of
    /// the health probe and the A and TXT queries].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub deadline: Option<Duration>,

    /// The most DNS answers cached.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub cache_size: u64,

    /// The shortest time an answer is cached, in seconds, whatever its TTL.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub cache_min_ttl: Duration,

    /// The longest time an answer is cached, in seconds, whatever its TTL.
    #[arg(long, value_name = "SECS", default_value = "3600", value_parser = parse_seconds)]
    pub cache_max_ttl: Duration,

    /// Seconds between probes of the lists' RFC 5782 test points [default: 300].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub health_interval: Option<Duration>,
}

/// A checker built from the options, with what the servers need to know about it.
pub struct Setup {
    /// The checker, on one cached resolver.
    pub checker: Checker<Resolver>,
    /// How long all lookups for one request may take together.
    pub deadline: Duration,
    /// How often the lists' test points are probed.
    pub health_interval: Duration,
}

impl CheckOptions {
    /// The checker: the lists and resolver of `lists`, one TTL-aware cache in front of the
    /// resolver, TXT asked with A.
    pub fn setup(&self, lists: &ListOptions) -> Result<Setup, String> {
        let config = lists.config()?;
        // Ask for TXT with the A query unless the config file says otherwise: a listed
        // client then costs one round trip, not two; the extra TXT answers for clean
        // clients are cached like the rest.
        let txt = config.fetch_txt.unwrap_or(TxtLookup::WithA);
        let deadline = lists.deadline(&config, self.deadline, txt);
        let health_interval = self
            .health_interval
            .or(config.health_interval)
            .unwrap_or(Duration::from_secs(300));
        let cache = CacheConfig::default()
            .max_entries(self.cache_size)
            .min_ttl(self.cache_min_ttl)
            .max_ttl(self.cache_max_ttl);
        let resolver = lists.resolver(&config, self.transport)?;
        // Mirrored zones are answered in-process and reloaded within seconds: never cached.
        let mirrored = resolver.mirrored_zones();
        let resolver = Arc::new(AnswerCache::new(resolver, cache).pass_through(mirrored));
        let list_set = lists.lists(&config)?;
        // File settings over the defaults, command-line flags over both.
        let defaults = Checker::builder().lists(list_set).txt_lookup(txt);
        let mut builder = config.apply_to_checker(defaults);
        if let Some(threshold) = lists.threshold {
            builder = builder.threshold(threshold);
        }
        let checker = builder
            .deadline(deadline)
            // A little under the probe task's period, so that each of its rounds finds the
            // last probe stale and probes again.
            .health_interval(health_interval.mul_f64(0.95))
            .build_with(resolver)
            .map_err(|error| error.to_string())?;
        Ok(Setup {
            checker,
            deadline,
            health_interval,
        })
    }
}

/// Runs `server` on a multi-threaded runtime: exit status 0 when it returns `Ok`, 1 (with
/// the error logged) otherwise.
pub fn block_on(server: impl Future<Output = Result<(), String>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Where to listen, from a command line: a Unix socket path (anything containing `/`), or
/// `ADDR:PORT` for TCP.
///
/// # Examples
///
/// ```
/// use dnsbl_check::cli::server::parse_listen;
/// use dnsbl_check::mail::serve::Listen;
///
/// assert!(matches!(parse_listen("127.0.0.1:10040"), Ok(Listen::Tcp(_))));
/// assert!(matches!(parse_listen("./policy.sock"), Ok(Listen::Unix(_))));
/// assert!(parse_listen("localhost").is_err());
/// ```
pub fn parse_listen(text: &str) -> Result<Listen, String> {
    if text.contains('/') {
        return Ok(Listen::Unix(PathBuf::from(text)));
    }
    text.parse().map(Listen::Tcp).map_err(|_| {
        format!(
            "{text:?} is neither ADDR:PORT (127.0.0.1:10040, [::1]:10040) nor a socket path \
             (which must contain '/', e.g. ./policy.sock)"
        )
    })
}

/// A Unix socket's permissions, in octal (`660`, `0o660`).
///
/// # Examples
///
/// ```
/// use dnsbl_check::cli::server::parse_mode;
///
/// assert_eq!(parse_mode("660"), Ok(0o660));
/// assert_eq!(parse_mode("0o600"), Ok(0o600));
/// assert!(parse_mode("999").is_err());
/// ```
pub fn parse_mode(text: &str) -> Result<u32, String> {
    match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!("{text:?} is not an octal mode such as 660")),
    }
}

/// Logs the lists, probes their health every `health_interval` in the background, listens
/// on `listen` and runs `serve` on the listener until SIGTERM or SIGINT (a second signal
/// stops waiting for the connections in flight).
pub async fn serve_with_health<F, Fut>(
    checker: &Checker<Resolver>,
    health_interval: Duration,
    listen: &Listen,
    mode: u32,
    serve: F,
) -> Result<(), String>
where
    F: FnOnce(Listener, Pin<Box<dyn Stream<Item = ()> + Send>>) -> Fut,
    Fut: Future<Output = ()>,
{
    log_lists(checker);
    let health = tokio::spawn(watch_health(checker.clone(), health_interval));
    let served = async {
        // Signal handlers first: a SIGTERM right after start-up must shut down gracefully too.
        let shutdown = signals()?;
        let listener = Listener::bind(listen, mode)
            .await
            .map_err(|error| error.to_string())?;
        serve(listener, shutdown).await;
        Ok(())
    }
    .await;
    health.abort();
    served
}

/// SIGTERM and SIGINT, each logged, as a stream: the first stops accepting, a second stops
/// waiting for the connections in flight.
fn signals() -> Result<Pin<Box<dyn Stream<Item = ()> + Send>>, String> {
    let shutdown =
        Shutdown::new().map_err(|error| format!("cannot handle SIGTERM and SIGINT: {error}"))?;
    Ok(Box::pin(shutdown.logged()))
}

/// Logs the lists, by name and public zone.
fn log_lists(checker: &Checker<Resolver>) {
    let lists: Vec<String> = checker
        .lists()
        .map(|list| {
            let zone = list.zone().public_name();
            if list.name() == zone {
                format!("{zone} ({})", list.kind())
            } else {
                format!("{} = {zone} ({})", list.name(), list.kind())
            }
        })
        .collect();
    info!(lists = %lists.join(", "), "lists");
}

/// Probes every list's test points every `interval`. The library logs each change of a
/// list's health once: at error level for a list it no longer trusts (its answers become
/// trouble: never a DUNNO on its word), warn for a list used unproven or a failed probe, info
/// for a recovery.
async fn watch_health(checker: Checker<Resolver>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for (list, health) in checker.refresh_health().await {
            let zone = list.zone().public_name();
            debug!(list = list.name(), zone, %health, untrusted = health.is_untrusted(), "list health");
        }
    }
}

/// Logs to stderr: info by default, warnings only with `-q`, debug and trace with `-v`, `-vv`;
/// RUST_LOG overrides. `program` is the server's log target (`dnsbl_policyd`). The DQS key
/// is scrubbed from every line, whoever wrote it.
pub fn init_tracing(program: &str, verbose: u8, quiet: bool, keyed_zones: KeyedZones) {
    let default = match (quiet, verbose) {
        (true, _) => "warn".to_owned(),
        (false, 0) => format!(
            "warn,{program}=info,dnsbl_check::mail::serve=info,dnsbl_check::cli::server=info,dnsbl_check::cli::shutdown=info"
        ),
        (false, 1) => format!("info,{program}=debug,dnsbl_check=debug"),
        (false, _) => format!("debug,{program}=trace,dnsbl_check=trace"),
    };
    crate::cli::init_logging(&default, keyed_zones);
}
