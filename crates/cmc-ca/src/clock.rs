//! Where the engine's "now" comes from.
//!
//! Nothing in this crate reads the system clock directly: every expiry,
//! validity period and CRL date is computed from a [`Clock`], so tests move
//! time with a [`ManualClock`] instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::SystemTime;

use cmc_store::UnixTime;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, in whole seconds.
    fn now(&self) -> UnixTime;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_system_time(SystemTime::now())
    }
}

/// A clock that only moves when told to. Clones share the same time, so a
/// test keeps one clone and hands another to the engine.
///
/// ```
/// use cmc_ca::{Clock, ManualClock};
/// use cmc_store::UnixTime;
///
/// let clock = ManualClock::new(UnixTime::from_secs(1_800_000_000));
/// let engine_side = clock.clone();
/// clock.advance(3600);
/// assert_eq!(engine_side.now(), UnixTime::from_secs(1_800_003_600));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `t`.
    #[must_use]
    pub fn new(t: UnixTime) -> Self {
        Self(Arc::new(AtomicI64::new(t.secs())))
    }

    /// A clock standing at the current system time.
    #[must_use]
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    /// Sets the time to `t`.
    pub fn set(&self, t: UnixTime) {
        self.0.store(t.secs(), Ordering::SeqCst);
    }

    /// Moves the time by `secs` seconds (backwards if negative), saturating.
    pub fn advance(&self, secs: i64) {
        // fetch_update with a closure that always returns Some cannot fail.
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(UnixTime::from_secs(100));
        let shared = clock.clone();
        assert_eq!(shared.now(), UnixTime::from_secs(100));
        clock.advance(-30);
        assert_eq!(shared.now(), UnixTime::from_secs(70));
        clock.set(UnixTime::from_secs(5));
        assert_eq!(shared.now(), UnixTime::from_secs(5));
        clock.set(UnixTime::from_secs(i64::MAX));
        clock.advance(1);
        assert_eq!(shared.now(), UnixTime::from_secs(i64::MAX));
    }

    #[test]
    fn system_clock_is_after_2025() {
        assert!(SystemClock.now() > UnixTime::from_secs(1_735_689_600));
    }
}
