//! The exporter as one server ([`ExporterServer`]): rounds over the watched targets on their
//! own schedule, and the HTTP side answering `/metrics` from the last round and `/probe` on
//! demand, both run by one `serve(listener, shutdown)` call.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::{Stream, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::exporter::exposition::{self, Schedule};
use crate::exporter::http::{self, ProbeError};
use crate::exporter::limit::{ProbeLimits, Rate};
use crate::exporter::state::{self, Shared, Watched};
use crate::hosts::{self, HostSource};
use crate::monitor::QueryBudget;
use crate::resolver::any::AnyResolver;
use crate::{Checker, Report, Target, TargetSpec};

/// How long a probe waits for a free slot before HTTP 503 (Prometheus' default scrape
/// timeout).
const PROBE_WAIT: Duration = Duration::from_secs(10);
/// Probe pages kept in the cache at most.
const PROBE_CACHE_ENTRIES: u64 = 10_000;
/// A `source=mx` or `source=resolve` probe checks at most this many of the domain's
/// addresses (the first, in MX preference order), so that one probe of a hostile domain
/// costs at most about 200 lookups for the addresses and their reverse DNS, plus 16 checks.
/// A domain with more is shown as `kind="too_many_addresses"` host trouble, and the probe
/// fails: the addresses left out were not checked.
pub const MAX_PROBE_ADDRESSES: usize = 16;

/// A Prometheus exporter for DNS blocklist listings: checks the watched targets every
/// interval (the first round at once), serves the last round's series on `/metrics` (a
/// scrape never sends a DNS query) and checks one target now on `/probe`, answers cached
/// and probes rate-limited.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
///
/// use dnsbl_check::exporter::server::ExporterServer;
/// use dnsbl_check::exporter::state::Watched;
/// use dnsbl_check::resolver::any::AnyResolver;
/// use dnsbl_check::{Checker, HickoryResolver, presets};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let resolver = AnyResolver::from(HickoryResolver::builder().build()?);
/// let checker = Checker::builder()
///     .lists(presets::default_lists())
///     .build_with(resolver)?;
/// let watched = Watched {
///     specs: vec!["192.0.2.1".parse()?],
///     domains: Vec::new(),
///     max_listed_per_network: 1000,
/// };
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9841").await?;
/// // Serve until Ctrl-C (a second one stops waiting for the answers in flight).
/// let shutdown = futures::stream::unfold((), |()| async {
///     tokio::signal::ctrl_c().await.ok().map(|()| ((), ()))
/// });
/// ExporterServer::new(checker, watched)
///     .interval(Duration::from_secs(300))
///     .serve(listener, shutdown)
///     .await;
/// # Ok(())
/// # }
/// ```
pub struct ExporterServer {
    checker: Checker<AnyResolver>,
    watched: Watched,
    modules: HashMap<String, Checker<AnyResolver>>,
    interval: Duration,
    budget: QueryBudget,
    probe_cache: Duration,
    probe_rates: (Rate, Rate),
    max_probes: usize,
}

impl ExporterServer {
    /// An exporter checking `watched` with `checker`: a round every 300 s, no modules, no
    /// budget shown, probe answers cached 60 s, 2 probes a second per client and 5 in all,
    /// at most 8 running at once.
    pub fn new(checker: Checker<AnyResolver>, watched: Watched) -> Self {
        ExporterServer {
            checker,
            watched,
            modules: HashMap::new(),
            interval: Duration::from_secs(300),
            budget: QueryBudget { lists: Vec::new() },
            probe_cache: Duration::from_secs(60),
            probe_rates: (Rate::per_second(2), Rate::per_second(5)),
            max_probes: 8,
        }
    }

    setters! {
        /// The time from the start of one round to the start of the next.
        interval(interval: Duration) => interval = interval;

        /// The checkers `/probe?module=NAME` checks with, by name.
        modules(modules: HashMap<String, Checker<AnyResolver>>) => modules = modules;

        /// The queries a day computed at start, shown next to the queries sent.
        budget(budget: QueryBudget) => budget = budget;

        /// How long a `/probe` answer is served from the cache.
        probe_cache(ttl: Duration) => probe_cache = ttl;
    }

    /// The probes one client (an IPv6 client by its /64) and all clients together may start;
    /// past either, HTTP 429. Probes answered from the cache are free.
    pub fn probe_rates(mut self, per_client: Rate, total: Rate) -> Self {
        self.probe_rates = (per_client, total);
        self
    }

    setters! {
        /// The most `/probe` checks running at once; more wait, then get HTTP 503.
        max_probes(max: usize) => max_probes = max;
    }

    /// Runs the rounds and serves HTTP on `listener` until `shutdown` yields: then stops
    /// accepting and checking, and gives the answers in flight [`http::SHUTDOWN_GRACE`] (or
    /// until a second item) to finish (see [`http::serve`]).
    pub async fn serve(self, listener: TcpListener, shutdown: impl Stream<Item = ()>) {
        let ExporterServer {
            checker,
            watched,
            modules,
            interval,
            budget,
            probe_cache,
            probe_rates: (per_client, total),
            max_probes,
        } = self;
        let shared = Arc::new(Shared::default());
        let pages = Arc::new(Pages {
            checker: checker.clone(),
            modules,
            budget,
            shared: Arc::clone(&shared),
            schedule: Schedule {
                interval,
                started: SystemTime::now(),
            },
            probes: Semaphore::new(max_probes),
            limits: ProbeLimits::new(per_client, total),
            probe_cache: moka::future::Cache::builder()
                .max_capacity(PROBE_CACHE_ENTRIES)
                .time_to_live(probe_cache)
                .build(),
        });
        if let Ok(listen) = listener.local_addr() {
            tracing::info!(%listen, "serving /metrics and /probe");
        }
        let rounds = state::run_rounds(checker, watched, interval, shared);
        // The rounds never end by themselves: they stop with the HTTP side.
        tokio::select! {
            () = http::serve(listener, pages, shutdown) => {}
            () = rounds => {}
        }
    }
}

/// What the HTTP side reads: the last round's snapshot, the checker's statistics, and a
/// cache of probe pages.
struct Pages {
    checker: Checker<AnyResolver>,
    modules: HashMap<String, Checker<AnyResolver>>,
    /// The queries a day computed at start, shown next to the queries sent.
    budget: QueryBudget,
    shared: Arc<Shared>,
    schedule: Schedule,
    probes: Semaphore,
    limits: ProbeLimits,
    probe_cache: moka::future::Cache<ProbeKey, Arc<String>>,
}

/// What a probe checks: a target, the addresses to derive from a domain, and the module.
type ProbeKey = (Target, Option<HostSource>, Option<String>);

impl http::Exporter for Pages {
    fn metrics(&self) -> String {
        let stats = self.checker.stats();
        // A module's lists are counted too; a list in several checkers, once per checker,
        // summed by name in the queries counter.
        let mut modules: Vec<_> = self.modules.iter().collect();
        modules.sort_by(|a, b| a.0.cmp(b.0));
        let module_stats: Vec<_> = modules.iter().flat_map(|(_, c)| c.stats()).collect();
        let queries = exposition::queries_by_list(stats.iter().chain(&module_stats));
        let page = exposition::metrics(self.shared.snapshot(), stats, self.schedule);
        let usage = exposition::Usage {
            queries,
            budget: &self.budget,
        };
        exposition::with_usage(page, usage)
    }

    async fn probe(
        &self,
        client: IpAddr,
        target: String,
        source: Option<String>,
        module: Option<String>,
    ) -> Result<String, ProbeError> {
        let (target, source) =
            probe_key(&target, source.as_deref()).map_err(ProbeError::BadTarget)?;
        if let Some(name) = &module
            && !self.modules.contains_key(name)
        {
            return Err(self.unknown_module(name));
        }
        let key = (target, source, module);
        if let Some(page) = self.probe_cache.get(&key).await {
            return Ok(String::clone(&page)); // costs the lists nothing: no token taken
        }
        self.limits
            .take(client)
            .await
            .map_err(ProbeError::RateLimited)?;
        let page = self
            .probe_cache
            .try_get_with(key.clone(), async {
                let _permit = tokio::time::timeout(PROBE_WAIT, self.probes.acquire())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .ok_or(ProbeError::Busy)?;
                Ok(Arc::new(self.run_probe(key).await))
            })
            .await
            .map_err(|error: Arc<ProbeError>| match &*error {
                ProbeError::BadTarget(text) => ProbeError::BadTarget(text.clone()),
                ProbeError::Busy => ProbeError::Busy,
                ProbeError::RateLimited(wait) => ProbeError::RateLimited(*wait),
            })?;
        Ok(String::clone(&page))
    }
}

impl Pages {
    /// The answer to `module=NAME` when there is no such module: the known ones.
    fn unknown_module(&self, name: &str) -> ProbeError {
        let mut known: Vec<&str> = self.modules.keys().map(String::as_str).collect();
        known.sort_unstable();
        ProbeError::BadTarget(format!(
            "module={name:?}: unknown module; known: {}",
            if known.is_empty() {
                "none ([modules.NAME] in --config)".to_owned()
            } else {
                known.join(", ")
            }
        ))
    }

    /// Checks the target, and with a source the domain's hosts' addresses too, with the
    /// module's lists (the exporter's own without one).
    async fn run_probe(&self, (target, source, module): ProbeKey) -> String {
        let checker = module
            .and_then(|name| self.modules.get(&name))
            .unwrap_or(&self.checker);
        let started = Instant::now();
        let mut targets = vec![target.clone()];
        let mut expansion = None;
        let mut left_out = 0;
        if let (Some(source), Target::Domain(domain)) = (source, &target) {
            let resolver = checker.resolver();
            let found;
            (found, left_out) =
                hosts::expand_at_most(resolver, domain, source, MAX_PROBE_ADDRESSES).await;
            targets.extend(found.addresses.iter().map(|host| Target::ip(host.addr)));
            expansion = Some(found);
        }
        let mut reports: Vec<Report> = checker.check_iter(targets).collect().await;
        reports.sort_by(|a, b| a.target.cmp(&b.target));
        let pairs = reports
            .iter()
            .flat_map(|report| state::report_pairs(checker, report))
            .collect();
        let (hosts, mut trouble) = state::host_rows(expansion.as_slice());
        if let (Some(expansion), true) = (&expansion, left_out > 0) {
            trouble.push(exposition::HostTrouble {
                domain: expansion.domain.to_string(),
                source: state::source_label(expansion.source),
                kind: "too_many_addresses",
            });
        }
        exposition::probe(pairs, hosts, trouble, started.elapsed())
    }
}

/// A probe checks one address or domain (a network would be thousands of checks), and with
/// `source=mx` or `source=resolve` a domain's hosts too.
fn probe_key(text: &str, source: Option<&str>) -> Result<(Target, Option<HostSource>), String> {
    let target = match text.parse::<TargetSpec>() {
        Ok(TargetSpec::One(target)) => target,
        Ok(_) => {
            return Err(format!(
                "{text:?}: a probe checks one address or domain; watch networks with the \
                 exporter's own targets"
            ));
        }
        Err(error) => return Err(format!("bad target: {error}")),
    };
    let source = match source {
        None => None,
        Some("mx") => Some(HostSource::Mx),
        Some("resolve") => Some(HostSource::Resolve),
        Some("spf") => Some(HostSource::Spf),
        Some(other) => return Err(format!("source={other:?}: must be mx, resolve or spf")),
    };
    if source.is_some() && target.is_ip() {
        return Err("source= needs a domain target".into());
    }
    Ok((target, source))
}
