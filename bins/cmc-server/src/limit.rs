//! The per-source limit on unauthenticated CMC failures.
//!
//! A CMC request that fails without an authenticated sender (its signature
//! does not verify, its signer or secret is refused, or it is a failed
//! Simple PKI Request) still gets a response signed by the CA. So that an
//! anonymous sender cannot turn the CA key into a signing service, each
//! source may cause at most `[server].unauthenticated_failures_per_minute`
//! such failures per minute; past that, its CMC POSTs are answered 429
//! before the body is read and before the engine sees them.
//!
//! The budget is a token bucket kept as one instant per source (GCRA, the
//! generic cell rate algorithm): a source may fail N times in a burst, and
//! earns one more failure every 60/N seconds. Answers that are refused with
//! 429 cost nothing, so a blocked source, including an authenticated one
//! behind the same address, gets through again as soon as one failure has
//! been forgiven; nothing blocks for longer than the failures it caused.
//!
//! Sources are IPv4 addresses and IPv6 /64 prefixes (one host usually owns
//! a whole /64). The table holds at most a fixed number of sources; when
//! it is full, the source closest to a full bucket is forgotten first.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many sources the table tracks at most.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// The window the limit is counted over.
const WINDOW: Duration = Duration::from_secs(60);

/// Counts unauthenticated failures per source and says who is over the
/// limit. Time is passed in by the caller, so tests move it freely.
#[derive(Debug)]
pub struct FailureLimiter {
    /// `None` when the limit is off.
    rate: Option<Rate>,
    capacity: usize,
    table: Mutex<Table>,
}

#[derive(Clone, Copy, Debug)]
struct Rate {
    /// The time that earns one failure: the window over the limit.
    interval: Duration,
    /// How far ahead of now a source's theoretical arrival time may be
    /// and still be served: the window less one interval.
    tolerance: Duration,
}

#[derive(Debug, Default)]
struct Table {
    /// For each source, the instant at which its bucket is full again
    /// (the theoretical arrival time). Sources at a full bucket are
    /// dropped, so every entry is a source with recent failures.
    full_at: HashMap<IpAddr, Instant>,
    /// The same entries, ordered by that instant, for expiry and eviction.
    by_time: BTreeSet<(Instant, IpAddr)>,
}

impl Table {
    fn remove(&mut self, source: IpAddr) -> Option<Instant> {
        let at = self.full_at.remove(&source)?;
        self.by_time.remove(&(at, source));
        Some(at)
    }

    fn insert(&mut self, source: IpAddr, at: Instant) {
        self.full_at.insert(source, at);
        self.by_time.insert((at, source));
    }

    /// Drops the sources whose bucket is full by `now`.
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, source)) = self.by_time.first() {
            if at > now {
                break;
            }
            self.by_time.pop_first();
            self.full_at.remove(&source);
        }
    }

    /// Forgets the source closest to a full bucket.
    fn evict_one(&mut self) {
        if let Some((_, source)) = self.by_time.pop_first() {
            self.full_at.remove(&source);
        }
    }

    fn len(&self) -> usize {
        self.full_at.len()
    }
}

impl FailureLimiter {
    /// A limiter allowing `per_minute` unauthenticated failures per source
    /// and minute (0: no limit), tracking at most `capacity` sources.
    #[must_use]
    pub fn new(per_minute: u32, capacity: usize) -> Self {
        let rate = (per_minute > 0).then(|| {
            let interval = WINDOW / per_minute;
            Rate {
                interval,
                tolerance: WINDOW.saturating_sub(interval),
            }
        });
        Self {
            rate,
            capacity: capacity.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Every update keeps the two maps in step before it can panic
        // (only an allocation failure could interrupt it), so a poisoned
        // table is still consistent enough to use.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `source` may send a CMC request at `now`: `Err` with the
    /// time until it may, when it has used up its failures.
    ///
    /// # Errors
    /// The wait, when the source is over the limit.
    pub fn check(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let source = source_key(source);
        let table = self.lock();
        let Some(&full_at) = table.full_at.get(&source) else {
            return Ok(());
        };
        // Served while full_at <= now + tolerance.
        match full_at.checked_duration_since(now) {
            Some(ahead) if ahead > rate.tolerance => Err(ahead - rate.tolerance),
            _ => Ok(()),
        }
    }

    /// Counts one unauthenticated failure of `source` at `now`.
    pub fn failure(&self, source: IpAddr, now: Instant) {
        let Some(rate) = self.rate else {
            return;
        };
        let source = source_key(source);
        let mut table = self.lock();
        table.expire(now);
        let previous = table.remove(source);
        if previous.is_none() && table.len() >= self.capacity {
            table.evict_one();
        }
        let start = previous.map_or(now, |at| at.max(now));
        // An Instant far beyond any real clock: keep the old value.
        let full_at = start.checked_add(rate.interval).unwrap_or(start);
        table.insert(source, full_at);
    }

    /// How many sources are tracked now.
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

/// The key a source address is counted under: IPv4 addresses (also when
/// mapped into IPv6) as they are, IPv6 addresses by their /64.
#[must_use]
pub fn source_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// The `Retry-After` value for a wait: whole seconds, rounded up, at
/// least 1.
#[must_use]
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn a_burst_up_to_the_limit_then_blocked_until_one_failure_is_forgiven() {
        let limiter = FailureLimiter::new(6, 100);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for i in 0..6 {
            assert_eq!(limiter.check(a, t0), Ok(()), "failure {i}");
            limiter.failure(a, t0);
        }
        // Six failures at once: one is forgiven every 10 s.
        assert_eq!(limiter.check(a, t0), Err(10 * SEC));
        assert_eq!(limiter.check(a, t0 + 4 * SEC), Err(6 * SEC));
        assert_eq!(limiter.check(a, t0 + 10 * SEC), Ok(()));
        // One more failure then blocks again, for another 10 s.
        limiter.failure(a, t0 + 10 * SEC);
        assert_eq!(limiter.check(a, t0 + 10 * SEC), Err(10 * SEC));
        // A minute after the last failure the source is forgotten.
        assert_eq!(limiter.check(a, t0 + 70 * SEC), Ok(()));
        limiter.failure(ip("192.0.2.99"), t0 + 70 * SEC);
        assert_eq!(limiter.tracked(), 1);
        // Other sources were never affected.
        assert_eq!(limiter.check(ip("192.0.2.2"), t0), Ok(()));
    }

    #[test]
    fn a_steady_rate_under_the_limit_is_never_blocked() {
        let limiter = FailureLimiter::new(60, 100);
        let t0 = Instant::now();
        let a = ip("198.51.100.7");
        for i in 0..1000u32 {
            let now = t0 + SEC * i;
            assert_eq!(limiter.check(a, now), Ok(()), "at {i} s");
            limiter.failure(a, now);
        }
    }

    #[test]
    fn failures_counted_while_blocked_extend_the_wait() {
        // Requests already past the check when the limit was reached
        // are still counted: the wait grows by one interval each.
        let limiter = FailureLimiter::new(2, 100);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..4 {
            limiter.failure(a, t0);
        }
        assert_eq!(limiter.check(a, t0), Err(90 * SEC));
        assert_eq!(limiter.check(a, t0 + 90 * SEC), Ok(()));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = FailureLimiter::new(0, 100);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..1000 {
            limiter.failure(a, t0);
        }
        assert_eq!(limiter.check(a, t0), Ok(()));
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_closest_to_full_first() {
        let limiter = FailureLimiter::new(1, 3);
        let t0 = Instant::now();
        let sources = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"].map(ip);
        for (i, s) in sources.iter().enumerate() {
            limiter.failure(*s, t0 + SEC * u32::try_from(i).unwrap());
            assert!(limiter.tracked() <= 3);
        }
        assert_eq!(limiter.tracked(), 3);
        // The first one, whose bucket fills first, was forgotten.
        assert_eq!(limiter.check(sources[0], t0 + 3 * SEC), Ok(()));
        for s in &sources[1..] {
            assert!(limiter.check(*s, t0 + 3 * SEC).is_err(), "{s}");
        }
    }

    #[test]
    fn ipv6_sources_are_counted_by_slash_64() {
        assert_eq!(
            source_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(source_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(source_key(ip("192.0.2.1")), ip("192.0.2.1"));
        let limiter = FailureLimiter::new(1, 100);
        let t0 = Instant::now();
        limiter.failure(ip("2001:db8:1:2::1"), t0);
        assert!(limiter.check(ip("2001:db8:1:2::ffff"), t0).is_err());
        assert_eq!(limiter.check(ip("2001:db8:1:3::1"), t0), Ok(()));
        limiter.failure(ip("::ffff:192.0.2.1"), t0);
        assert!(limiter.check(ip("192.0.2.1"), t0).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(SEC), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(10 * SEC), 10);
    }
}
