//! The flags the mail-filter servers share: where they listen, how they decide, how many
//! connections they serve, how much they log. Each server gives its own defaults and words
//! ([`ServerFlags`]).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use futures::Stream;

use super::{CheckOptions, Resolver, Setup, parse_listen, parse_mode};
use crate::Checker;
use crate::cli::ListOptions;
use crate::mail::serve::{Limits, Listen, Listener};
use crate::mail::{SessionFilter, SessionPolicy};
use crate::redact::KeyedZones;

/// What sets one server's shared flags apart: its defaults, and the help of the flags whose
/// meaning depends on its protocol (one sentence each, without its final period, as clap
/// shows a doc comment).
///
/// # Examples
///
/// ```
/// use dnsbl_check::cli::server::ServerFlags;
///
/// struct Mine;
///
/// impl ServerFlags for Mine {
///     const LISTEN: &'static str = "127.0.0.1:10042";
///     const MAX_CONNECTIONS: &'static str = "64";
///     const MAX_CONNECTIONS_PER_PEER: &'static str = "32";
///     const SOCKET_MODE_HELP: &'static str = "Permissions of a Unix socket, in octal";
///     const TAG_ONLY_HELP: &'static str = "Tag instead of rejecting";
///     const FAIL_CLOSED_HELP: &'static str = "Tempfail when lookups fail";
///     const IDLE_TIMEOUT_HELP: &'static str = "Seconds a connection may idle";
/// }
/// ```
pub trait ServerFlags {
    /// `--listen`'s default.
    const LISTEN: &'static str;
    /// `--max-connections`' default, written out.
    const MAX_CONNECTIONS: &'static str;
    /// `--max-connections-per-peer`'s default, written out.
    const MAX_CONNECTIONS_PER_PEER: &'static str;
    /// `--socket-mode`'s help.
    const SOCKET_MODE_HELP: &'static str;
    /// `--tag-only`'s help.
    const TAG_ONLY_HELP: &'static str;
    /// `--fail-closed`'s help.
    const FAIL_CLOSED_HELP: &'static str;
    /// `--idle-timeout`'s help.
    const IDLE_TIMEOUT_HELP: &'static str;
}

/// Where a server listens, what it asks and how it decides: the first flags of its command
/// line, flattened into it.
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use dnsbl_check::cli::server::{ConnectionOptions, ServeOptions, ServerFlags};
///
/// struct Mine;
/// impl ServerFlags for Mine {
///     const LISTEN: &'static str = "127.0.0.1:10042";
///     const MAX_CONNECTIONS: &'static str = "64";
///     const MAX_CONNECTIONS_PER_PEER: &'static str = "32";
///     const SOCKET_MODE_HELP: &'static str = "Permissions of a Unix socket, in octal";
///     const TAG_ONLY_HELP: &'static str = "Tag instead of rejecting";
///     const FAIL_CLOSED_HELP: &'static str = "Tempfail when lookups fail";
///     const IDLE_TIMEOUT_HELP: &'static str = "Seconds a connection may idle";
/// }
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     serve: ServeOptions<Mine>,
///     #[command(flatten)]
///     connections: ConnectionOptions<Mine>,
/// }
///
/// let cli = Cli::try_parse_from(["mine", "--tag-only", "--max-connections", "8"]).unwrap();
/// assert!(cli.serve.tag_only && !cli.serve.fail_closed);
/// assert_eq!(cli.serve.socket_mode, 0o660);
/// assert_eq!(cli.connections.limits(), dnsbl_check::mail::serve::Limits::new(8, 32));
/// ```
#[derive(clap::Args)]
pub struct ServeOptions<F: ServerFlags> {
    /// Where to listen: ADDR:PORT for TCP, or a Unix socket path (anything containing '/').
    #[arg(long, value_name = "ADDR:PORT|PATH", default_value = F::LISTEN, value_parser = parse_listen)]
    pub listen: Listen,

    /// Permissions of a Unix socket ([`ServerFlags::SOCKET_MODE_HELP`]).
    #[arg(long, value_name = "OCTAL", default_value = "660", value_parser = parse_mode, help = F::SOCKET_MODE_HELP)]
    pub socket_mode: u32,

    /// The lists and the resolver.
    #[command(flatten)]
    pub lists: ListOptions,

    /// How the server checks.
    #[command(flatten)]
    pub check: CheckOptions,

    /// Tag instead of rejecting ([`ServerFlags::TAG_ONLY_HELP`]).
    #[arg(long, help = F::TAG_ONLY_HELP)]
    pub tag_only: bool,

    /// Tempfail when lookups fail and nothing is listed ([`ServerFlags::FAIL_CLOSED_HELP`]).
    #[arg(long, help = F::FAIL_CLOSED_HELP)]
    pub fail_closed: bool,

    /// Check loopback, private, link-local and unspecified client addresses too.
    #[arg(long)]
    pub check_local: bool,

    #[arg(skip)]
    flags: PhantomData<fn() -> F>,
}

impl<F: ServerFlags> ServeOptions<F> {
    /// The checker the flags describe (see [`CheckOptions::setup`]).
    pub fn setup(&self) -> Result<Setup, String> {
        self.check.setup(&self.lists)
    }

    /// The session policy of these flags: tag only, fail closed, local clients checked or
    /// not, FCrDNS within `setup`'s deadline.
    pub fn policy(&self, setup: &Setup) -> SessionPolicy {
        SessionPolicy::default()
            .tag_only(self.tag_only)
            .fail_closed(self.fail_closed)
            .check_local(self.check_local)
            .fcrdns_deadline(setup.deadline)
    }

    /// The session filter the flags describe, its policy ([`ServeOptions::policy`]) changed by
    /// `adjust` (the server's own flags), and how often to probe the lists' health.
    ///
    /// # Examples
    ///
    /// ```
    /// use clap::Parser;
    /// use dnsbl_check::cli::server::{ServeOptions, ServerFlags};
    ///
    /// struct Mine;
    /// impl ServerFlags for Mine {
    ///     const LISTEN: &'static str = "127.0.0.1:10042";
    ///     const MAX_CONNECTIONS: &'static str = "64";
    ///     const MAX_CONNECTIONS_PER_PEER: &'static str = "32";
    ///     const SOCKET_MODE_HELP: &'static str = "Permissions of a Unix socket, in octal";
    ///     const TAG_ONLY_HELP: &'static str = "Tag instead of rejecting";
    ///     const FAIL_CLOSED_HELP: &'static str = "Tempfail when lookups fail";
    ///     const IDLE_TIMEOUT_HELP: &'static str = "Seconds a connection may idle";
    /// }
    ///
    /// #[derive(Parser)]
    /// struct Cli {
    ///     #[command(flatten)]
    ///     serve: ServeOptions<Mine>,
    /// }
    ///
    /// let args = ["mine", "--zone", "bl.example", "--nameserver", "127.0.0.1:53", "--tag-only"];
    /// let cli = Cli::try_parse_from(args).unwrap();
    /// let (filter, health_interval) = cli.serve.filter(|policy| policy.check_helo(true)).unwrap();
    /// assert!(filter.policy().is_tag_only() && filter.policy().checks_domains());
    /// assert_eq!(health_interval, std::time::Duration::from_secs(300));
    /// ```
    pub fn filter(
        &self,
        adjust: impl FnOnce(SessionPolicy) -> SessionPolicy,
    ) -> Result<(SessionFilter<Resolver>, Duration), String> {
        let setup = self.setup()?;
        let policy = adjust(self.policy(&setup));
        Ok((
            SessionFilter::new(setup.checker, policy),
            setup.health_interval,
        ))
    }

    /// Runs `serve` on a multi-threaded runtime, listening where the flags say, with the
    /// lists' health probed in the background (see [`serve_with_health`](super::serve_with_health)
    /// and [`block_on`](super::block_on)): exit status 0 after a clean shutdown, 1 otherwise.
    pub fn run<S, Fut>(
        &self,
        checker: &Checker<Resolver>,
        health_interval: Duration,
        serve: S,
    ) -> std::process::ExitCode
    where
        S: FnOnce(Listener, Pin<Box<dyn Stream<Item = ()> + Send>>) -> Fut,
        Fut: Future<Output = ()>,
    {
        super::block_on(super::serve_with_health(
            checker,
            health_interval,
            &self.listen,
            self.socket_mode,
            serve,
        ))
    }
}

/// How many connections a server serves and how long they may idle, and how much it logs:
/// the last flags of its command line, flattened into it. See [`ServeOptions`] for an
/// example.
#[derive(clap::Args)]
pub struct ConnectionOptions<F: ServerFlags> {
    /// How long a connection may idle ([`ServerFlags::IDLE_TIMEOUT_HELP`]).
    #[arg(long, value_name = "SECS", default_value = "330", value_parser = crate::config::parse_seconds, help = F::IDLE_TIMEOUT_HELP)]
    pub idle_timeout: Duration,

    /// The most connections served at once. At the cap, the connection idle the longest is
    /// closed to make room for a new one.
    #[arg(long, value_name = "N", default_value = F::MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// The most connections served at once from one peer (an IP address, or a user on a
    /// Unix socket); at the cap, that peer's connection idle the longest is closed.
    #[arg(long, value_name = "N", default_value = F::MAX_CONNECTIONS_PER_PEER, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_peer: u32,

    /// Log warnings and errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log more (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[arg(skip)]
    flags: PhantomData<fn() -> F>,
}

impl<F: ServerFlags> ConnectionOptions<F> {
    /// The connection limits: `--max-connections` and `--max-connections-per-peer`.
    pub fn limits(&self) -> Limits {
        Limits::new(
            self.max_connections as usize,
            self.max_connections_per_peer as usize,
        )
    }

    /// Logs to stderr as `-q` and `-v` ask (see [`init_tracing`](super::init_tracing)),
    /// scrubbing the keys of `keyed_zones`.
    pub fn init_tracing(&self, program: &str, keyed_zones: KeyedZones) {
        super::init_tracing(program, self.verbose, self.quiet, keyed_zones);
    }
}
