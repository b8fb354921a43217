//! A TTL-aware answer cache in front of any resolver.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use moka::Expiry;
use moka::future::Cache;

use crate::resolver::record::{self, Record, RecordKind};
use crate::resolver::{Answer, DnsResolver, LookupError};

/// Bounds and size of an [`AnswerCache`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dnsbl_check::resolver::cache::CacheConfig;
///
/// let config = CacheConfig::default()
///     .max_entries(100_000)
///     .min_ttl(Duration::from_secs(30))
///     .max_ttl(Duration::from_secs(600));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    max_entries: u64,
    min_ttl: Duration,
    max_ttl: Duration,
}

impl CacheConfig {
    setters! {
        /// The most answers kept; the least useful are evicted beyond it.
        max_entries(entries: u64) => max_entries = entries;

        /// The shortest time an answer is kept, whatever its TTL.
        min_ttl(ttl: Duration) => min_ttl = ttl;

        /// The longest time an answer is kept, whatever its TTL.
        max_ttl(ttl: Duration) => max_ttl = ttl;
    }

    /// How long an answer with this TTL (in seconds) is kept.
    fn lifetime(&self, ttl: u32) -> Duration {
        Duration::from_secs(u64::from(ttl)).clamp(self.min_ttl, self.max_ttl.max(self.min_ttl))
    }
}

impl Default for CacheConfig {
    /// 10,000 answers; TTLs clamped to [60 s, 1 h], as Postfix does for its DNSBL cache.
    fn default() -> Self {
        CacheConfig {
            max_entries: 10_000,
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(3600),
        }
    }
}

#[derive(Clone)]
struct Entry {
    /// An `Answer` of the key's record type.
    answer: Arc<dyn Any + Send + Sync>,
    lifetime: Duration,
    stored: Instant,
}

type Key = (String, RecordKind);

/// A fetch in flight, shared by every lookup of its name until it ends.
type Fetch = Shared<BoxFuture<'static, Result<Entry, LookupError>>>;

struct EntryExpiry;

impl Expiry<Key, Entry> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &Key,
        entry: &Entry,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(entry.lifetime)
    }
}

/// A [`DnsResolver`] that caches the answers of another.
///
/// - Listings live for their A record's TTL; "no such record" answers for the negative TTL
///   of the zone's SOA (`min(SOA TTL, SOA MINIMUM)`), or the minimum when the server sent no
///   SOA. Both are clamped into [`CacheConfig`]'s bounds.
/// - Failures (SERVFAIL, REFUSED, timeouts, local errors) are never cached: the next query
///   asks again.
/// - The number of answers is bounded.
/// - Concurrent lookups of the same name share one query to the server. It runs in a task of
///   its own, so that dropping the lookup that started it (a deadline, a cancelled check)
///   leaves the others waiting for the same answer.
/// - An answer from the cache carries the TTL it has left, not the one it came with.
/// - A, AAAA, TXT and PTR answers are cached; MX and NS answers are not (a domain's mail
///   servers are looked up once per check of that domain, its name servers once per message
///   that names it).
///
/// This is the mail-filter case: the same clients connect again and again. A bulk scan of
/// distinct addresses gains nothing from it.
///
/// # Examples
///
/// ```
/// use dnsbl_check::resolver::cache::{AnswerCache, CacheConfig};
/// use dnsbl_check::{Checker, HickoryResolver, presets};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let resolver = HickoryResolver::builder().name_server("127.0.0.1:5353".parse()?).build()?;
/// let checker = Checker::builder()
///     .lists(presets::default_lists())
///     .build_with(AnswerCache::new(resolver, CacheConfig::default()))?;
/// # let _ = checker;
/// # Ok(())
/// # }
/// ```
pub struct AnswerCache<R> {
    inner: Arc<R>,
    config: CacheConfig,
    /// Zones whose names are never cached (lowercase, no trailing dot).
    pass_through: Vec<String>,
    entries: Cache<Key, Entry>,
    fetching: Arc<Mutex<HashMap<Key, Fetch>>>,
}

impl<R> fmt::Debug for AnswerCache<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerCache")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<R: DnsResolver> AnswerCache<R> {
    /// Caches the answers of `inner`.
    pub fn new(inner: R, config: CacheConfig) -> Self {
        let entries = Cache::builder()
            .max_capacity(config.max_entries)
            .expire_after(EntryExpiry)
            .build();
        AnswerCache {
            inner: Arc::new(inner),
            config,
            pass_through: Vec::new(),
            entries,
            fetching: Arc::default(),
        }
    }

    /// Names in `zones`, and below them, are always asked of the resolver behind the cache,
    /// never cached.
    ///
    /// For zones that resolver answers in-process and may change at any moment: a local
    /// mirror ([`AnyResolver::mirrored_zones`](crate::resolver::any::AnyResolver::mirrored_zones))
    /// reloads a replaced file within seconds, while a cached answer would live on for the
    /// zone's TTL (rbldnsd's default is 35 minutes).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::resolver::cache::{AnswerCache, CacheConfig};
    /// use dnsbl_check::HickoryResolver;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = HickoryResolver::builder().name_server("127.0.0.1:5353".parse()?).build()?;
    /// let cache = AnswerCache::new(resolver, CacheConfig::default())
    ///     .pass_through(["zen.spamhaus.org"]);
    /// assert!(cache.passes_through("2.0.0.127.ZEN.spamhaus.org."));
    /// assert!(!cache.passes_through("2.0.0.127.bl.spamcop.net"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn pass_through<I>(mut self, zones: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.pass_through.extend(
            zones
                .into_iter()
                .map(|zone| zone.as_ref().trim_end_matches('.').to_ascii_lowercase()),
        );
        self
    }

    /// Whether `name` is in a zone given to [`AnswerCache::pass_through`].
    pub fn passes_through(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').as_bytes();
        self.pass_through.iter().any(|zone| {
            let Some(start) = name.len().checked_sub(zone.len()) else {
                return false;
            };
            name[start..].eq_ignore_ascii_case(zone.as_bytes())
                && (start == 0 || name[start - 1] == b'.')
        })
    }

    /// The resolver behind the cache.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// How many answers are cached, after pending evictions and expiries have run.
    pub async fn entry_count(&self) -> u64 {
        self.entries.run_pending_tasks().await;
        self.entries.entry_count()
    }

    /// Forgets every answer.
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }

    /// The inner resolver's answer at once (a mirror's), which needs no caching.
    fn now<K: Record>(&self, name: &str) -> Option<Result<Answer<K::Value>, LookupError>> {
        K::ask_now(&*self.inner, name)
    }

    /// The one lookup behind every [`DnsResolver`] method: the answer from the cache, or
    /// from the resolver behind it, asked once for all concurrent askers of `name`.
    /// MX and NS answers are not cached (see [`AnswerCache`]).
    async fn lookup<K: Record>(&self, name: &str) -> Result<Answer<K::Value>, LookupError> {
        if matches!(K::KIND, RecordKind::Mx | RecordKind::Ns) || self.passes_through(name) {
            return K::ask(&*self.inner, name).await;
        }
        let key = (name.to_ascii_lowercase(), K::KIND);
        let entry = match self.entries.get(&key).await {
            Some(entry) => entry,
            None => {
                let (inner, name) = (Arc::clone(&self.inner), name.to_owned());
                self.shared_fetch(key, async move { K::ask(&*inner, &name).await })
                    .await?
            }
        };
        let answer = entry
            .answer
            .downcast_ref::<Answer<K::Value>>()
            .cloned()
            .ok_or_else(|| {
                LookupError::with_detail(
                    crate::LookupErrorKind::Protocol,
                    "cache entry of another type",
                )
            })?;
        Ok(remaining(answer, entry.stored.elapsed()))
    }

    /// Joins the fetch in flight for `key`, or starts `fetch` in a task of its own (on the
    /// current Tokio runtime, if any). The fetch stores a good answer (errors are never
    /// stored) and ends the sharing.
    fn shared_fetch<T: Send + Sync + 'static, F>(&self, key: Key, fetch: F) -> Fetch
    where
        F: Future<Output = Result<Answer<T>, LookupError>> + Send + 'static,
    {
        let mut fetching = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(shared) = fetching.get(&key) {
            return shared.clone();
        }
        let (entries, config, all) = (
            self.entries.clone(),
            self.config,
            Arc::clone(&self.fetching),
        );
        let task_key = key.clone();
        let work = async move {
            let result = fetch.await.map(|answer| {
                let ttl = match &answer {
                    Answer::Records { ttl, .. } => *ttl,
                    Answer::NoRecords { negative_ttl, .. } => negative_ttl.unwrap_or(0),
                };
                Entry {
                    answer: Arc::new(answer),
                    lifetime: config.lifetime(ttl),
                    stored: Instant::now(),
                }
            });
            if let Ok(entry) = &result {
                entries.insert(task_key.clone(), entry.clone()).await;
            }
            all.lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&task_key);
            result
        };
        let shared = match tokio::runtime::Handle::try_current() {
            // A task of its own runs on even when every lookup waiting for it is dropped.
            Ok(runtime) => {
                let task = runtime.spawn(work);
                async move {
                    task.await.unwrap_or_else(|_| {
                        Err(LookupError::with_detail(
                            crate::LookupErrorKind::LocalResource,
                            "the lookup task was stopped",
                        ))
                    })
                }
                .boxed()
            }
            // Outside Tokio, the lookups waiting for it drive it together.
            Err(_) => work.boxed(),
        }
        .shared();
        fetching.insert(key, shared.clone());
        shared
    }
}

/// `answer` with its TTL less the time it spent in the cache.
fn remaining<T>(answer: Answer<T>, age: Duration) -> Answer<T> {
    let age = u32::try_from(age.as_secs()).unwrap_or(u32::MAX);
    match answer {
        Answer::Records { records, ttl } => Answer::Records {
            records,
            ttl: ttl.saturating_sub(age),
        },
        Answer::NoRecords {
            nxdomain,
            negative_ttl,
        } => Answer::NoRecords {
            nxdomain,
            negative_ttl: negative_ttl.map(|ttl| ttl.saturating_sub(age)),
        },
    }
}

impl<R: DnsResolver> DnsResolver for AnswerCache<R> {
    record::lookup_methods!(lookup, now);
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    /// A resolver that answers every A query with one record.
    struct Listed;

    impl DnsResolver for Listed {
        async fn lookup_a(&self, _name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
            Ok(Answer::Records {
                records: vec![Ipv4Addr::new(127, 0, 0, 2)],
                ttl: 60,
            })
        }

        async fn lookup_txt(&self, _name: &str) -> Result<Answer<String>, LookupError> {
            Ok(Answer::NoRecords {
                nxdomain: true,
                negative_ttl: None,
            })
        }
    }

    #[test]
    fn works_without_a_tokio_runtime() {
        let cache = AnswerCache::new(Listed, CacheConfig::default());
        for _ in 0..2 {
            let answer = futures::executor::block_on(cache.lookup_a("2.0.0.127.bl.test."));
            assert!(
                matches!(answer, Ok(Answer::Records { ttl: 60, .. })),
                "{answer:?}"
            );
        }
    }

    #[test]
    fn lifetimes_are_clamped() {
        let config = CacheConfig::default();
        assert_eq!(config.lifetime(0), Duration::from_secs(60));
        assert_eq!(config.lifetime(300), Duration::from_secs(300));
        assert_eq!(config.lifetime(86_400), Duration::from_secs(3600));
        let odd = CacheConfig::default()
            .min_ttl(Duration::from_secs(100))
            .max_ttl(Duration::from_secs(10));
        assert_eq!(
            odd.lifetime(5),
            Duration::from_secs(100),
            "min wins if bounds cross"
        );
    }
}
