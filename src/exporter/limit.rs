//! Rate limits for `/probe`: a token bucket per client and one for all clients together.
//!
//! Only a probe that will send queries takes a token: one answered from the cache costs the
//! lists nothing and is never refused.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Clients whose buckets are kept at most. Past this, the least recently seen lose theirs
/// (and start again full); the total limit still holds for everyone.
const MAX_CLIENTS: u64 = 10_000;
/// A bucket holds this many seconds of its rate: the burst a client may send at once.
pub const BURST_SECONDS: f64 = 10.0;

/// A rate: `per_second` tokens a second, at most `burst` saved up.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    per_second: f64,
    burst: f64,
}

impl Rate {
    /// `per_second` probes a second, with a burst of [`BURST_SECONDS`] of them.
    pub fn per_second(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        Rate {
            per_second,
            burst: per_second * BURST_SECONDS,
        }
    }
}

/// A token bucket, full when made.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Bucket {
            tokens: rate.burst,
            updated: now,
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / rate.per_second,
            ))
        }
    }
}

/// The per-client and total limits of `/probe`.
pub struct ProbeLimits {
    per_client: Rate,
    total_rate: Rate,
    total: Mutex<Bucket>,
    clients: moka::future::Cache<IpAddr, Arc<Mutex<Bucket>>>,
}

impl ProbeLimits {
    /// Limits of `per_client` for each client (an IPv6 client by its /64) and `total` for all together.
    pub fn new(per_client: Rate, total: Rate) -> Self {
        // A client unseen for as long as its bucket takes to fill up again would get a full
        // bucket anyway: forgetting it then changes nothing.
        let refill = Duration::from_secs_f64(per_client.burst / per_client.per_second);
        ProbeLimits {
            per_client,
            total_rate: total,
            total: Mutex::new(Bucket::full(total, Instant::now())),
            clients: moka::future::Cache::builder()
                .max_capacity(MAX_CLIENTS)
                .time_to_idle(refill)
                .build(),
        }
    }

    /// Takes a token for a probe by `client`, from its own bucket and then from the total;
    /// or says how long to wait. The client's bucket comes first, so that a client over its
    /// own limit does not use up everyone's.
    pub async fn take(&self, client: IpAddr) -> Result<(), Duration> {
        let key = client_key(client);
        let rate = self.per_client;
        let bucket = self
            .clients
            .get_with(key, async move {
                Arc::new(Mutex::new(Bucket::full(rate, Instant::now())))
            })
            .await;
        let now = Instant::now();
        lock(&bucket).take(rate, now)?;
        lock(&self.total).take(self.total_rate, now)
    }
}

fn lock(bucket: &Mutex<Bucket>) -> std::sync::MutexGuard<'_, Bucket> {
    // A bucket is two numbers, consistent after any panic.
    bucket
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The key of a client: its IPv4 address, or the /64 of its IPv6 address (one host usually
/// has a whole /64 to draw addresses from).
fn client_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_its_rate() {
        let rate = Rate::per_second(2);
        let start = Instant::now();
        let mut bucket = Bucket::full(rate, start);
        for _ in 0..20 {
            assert!(bucket.take(rate, start).is_ok());
        }
        let wait = bucket.take(rate, start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        let later = start + Duration::from_millis(500);
        assert!(bucket.take(rate, later).is_ok());
        assert!(bucket.take(rate, later).is_err());
        // Saved-up tokens never exceed the burst.
        let much_later = later + Duration::from_secs(3600);
        let taken = (0..100)
            .filter(|_| bucket.take(rate, much_later).is_ok())
            .count();
        assert_eq!(taken, 20);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn one_client_over_its_limit_leaves_the_total_to_others() {
        let limits = ProbeLimits::new(Rate::per_second(1), Rate::per_second(2));
        let greedy: IpAddr = "192.0.2.1".parse().unwrap();
        let polite: IpAddr = "192.0.2.2".parse().unwrap();
        let granted = {
            let mut granted = 0;
            for _ in 0..100 {
                granted += usize::from(limits.take(greedy).await.is_ok());
            }
            granted
        };
        assert_eq!(granted, 10, "its own burst");
        assert!(limits.take(polite).await.is_ok());
        // The total's burst (20) runs out too, for everyone.
        let others: usize = {
            let mut granted = 1;
            for i in 3..100u8 {
                let client = IpAddr::from([192, 0, 2, i]);
                granted += usize::from(limits.take(client).await.is_ok());
            }
            granted
        };
        assert_eq!(granted + others, 20);
    }
}
