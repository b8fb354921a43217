//! Building a checker: its lists, limits and health policy, and the errors of building one.

use std::sync::Arc;
use std::time::Duration;

use super::{Checker, Inner, ListEntry};
use crate::health::HealthPolicy;
use crate::list::DnsList;
use crate::query::TxtLookup;
#[cfg(feature = "hickory")]
use crate::resolver::hickory::HickoryResolver;
use crate::resolver::{DnsResolver, ResolverBuildError};

/// Configures a [`Checker`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::{CheckerBuilder, DnsList, HickoryResolver, ListKind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let resolver = HickoryResolver::builder()
///     .name_server("127.0.0.1:5353".parse()?)
///     .timeout(Duration::from_secs(2))
///     .build()?;
/// let checker = CheckerBuilder::new()
///     .list(DnsList::from_spec("zen.spamhaus.org=127.0.0.[2..11]*2", ListKind::Ip)?)
///     .list(DnsList::from_spec("bl.spamcop.net", ListKind::Ipv4)?)
///     .threshold(2)
///     .deadline(Duration::from_secs(5))
///     .max_queries_in_flight(200)
///     .build_with(resolver)?;
/// # let _ = checker;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CheckerBuilder {
    lists: Vec<DnsList>,
    threshold: i32,
    deadline: Duration,
    max_queries_in_flight: usize,
    txt_lookup: TxtLookup,
    health: HealthPolicy,
}

impl Default for CheckerBuilder {
    fn default() -> Self {
        CheckerBuilder {
            lists: Vec::new(),
            threshold: 1,
            deadline: Duration::from_secs(15),
            max_queries_in_flight: 100,
            txt_lookup: TxtLookup::WhenListed,
            health: HealthPolicy {
                enabled: true,
                interval: Duration::from_secs(300),
                retry_after_failure: Duration::from_secs(30),
            },
        }
    }
}

impl CheckerBuilder {
    /// A builder with the defaults: threshold 1, 15 s deadline, 100 queries in flight, TXT
    /// and health checks on. The same as [`Checker::builder`].
    pub fn new() -> Self {
        CheckerBuilder::default()
    }

    /// Adds a list.
    pub fn list(mut self, list: DnsList) -> Self {
        self.lists.push(list);
        self
    }

    /// Adds lists.
    pub fn lists(self, lists: impl IntoIterator<Item = DnsList>) -> Self {
        lists.into_iter().fold(self, Self::list)
    }

    /// The score at or above which a target's verdict is "listed" (default 1).
    pub fn threshold(mut self, threshold: i32) -> Self {
        self.threshold = threshold;
        self
    }

    /// The most one check may take, all lists together (default 15 s). Lists still
    /// unanswered then are reported as [`Outcome::Failed`](crate::Outcome::Failed) with a timeout.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How many queries a stream of checks keeps in flight at most (default 100).
    pub fn max_queries_in_flight(mut self, queries: usize) -> Self {
        self.max_queries_in_flight = queries.max(1);
        self
    }

    /// Whether to fetch TXT reasons at all (default true; each list can also turn it off).
    pub fn fetch_txt(mut self, fetch: bool) -> Self {
        self.txt_lookup = if fetch {
            TxtLookup::WhenListed
        } else {
            TxtLookup::Off
        };
        self
    }

    /// When to ask for TXT reasons (default [`TxtLookup::WhenListed`]; each list can also
    /// turn TXT off).
    pub fn txt_lookup(mut self, txt: TxtLookup) -> Self {
        self.txt_lookup = txt;
        self
    }

    /// Whether to probe lists' test points before trusting them (default true).
    ///
    /// Off, every list is trusted unprobed: a resolver that answers NXDOMAIN to everything
    /// (a filtering or captive resolver, one a list refuses) then reads as "not listed" for
    /// every target. Turn probes off only for lists you know work through this resolver.
    pub fn health_checks(mut self, enabled: bool) -> Self {
        self.health.enabled = enabled;
        self
    }

    /// How often to probe again in a long-lived checker (default 5 minutes; after a failed
    /// probe, 30 seconds or this, whichever is shorter).
    pub fn health_interval(mut self, interval: Duration) -> Self {
        self.health.interval = interval;
        self.health.retry_after_failure = interval.min(Duration::from_secs(30));
        self
    }

    /// Builds a checker on a [`HickoryResolver`] with the system resolver configuration.
    #[cfg(feature = "hickory")]
    #[cfg_attr(docsrs, doc(cfg(feature = "hickory")))]
    pub fn build(self) -> Result<Checker, BuildError> {
        let resolver = HickoryResolver::system()?;
        self.build_with(resolver)
    }

    /// Builds a checker on the given resolver.
    pub fn build_with<R: DnsResolver>(self, resolver: R) -> Result<Checker<R>, BuildError> {
        if self.lists.is_empty() {
            return Err(BuildError::NoLists);
        }
        let lists: Vec<ListEntry> = self
            .lists
            .into_iter()
            .map(|list| ListEntry::new(list, &resolver))
            .collect();
        Ok(Checker {
            inner: Arc::new(Inner {
                resolver,
                any_at_once: lists.iter().any(|entry| entry.at_once),
                lists,
                threshold: self.threshold,
                deadline: self.deadline,
                max_queries_in_flight: self.max_queries_in_flight,
                txt_lookup: self.txt_lookup,
                health: self.health,
            }),
        })
    }
}

/// A checker could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No list was given.
    #[error("no lists configured")]
    NoLists,
    /// The resolver could not be set up.
    #[error(transparent)]
    Resolver(#[from] ResolverBuildError),
}
