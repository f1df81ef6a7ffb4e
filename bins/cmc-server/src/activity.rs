//! This node's activity per minute over the last hour, for the console's
//! overview chart: certificates issued and enrollment requests failed,
//! counted where the metrics count them ([`crate::metrics::Metrics`]).
//!
//! A ring of 60 slots, one per minute, each stamped with the minute it
//! counts: a slot whose stamp is not the current minute is reset before it
//! counts again, and a slot stamped more than an hour ago is read as zero,
//! so nothing older than an hour is ever shown. One small mutex guards the
//! ring (one increment per answered request: no contention worth atomics,
//! and a minute's rollover cannot lose a count between two threads).

use std::sync::{Mutex, PoisonError};

use cmc_console::activity::{Activity, Minute};

/// Minutes kept.
pub const MINUTES: usize = 60;

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The minute counted here (Unix seconds / 60).
    minute: i64,
    issued: u64,
    failed: u64,
}

/// The ring (see the module documentation).
#[derive(Debug)]
pub struct ActivityRing {
    slots: Mutex<[Slot; MINUTES]>,
}

impl Default for ActivityRing {
    fn default() -> Self {
        Self {
            slots: Mutex::new([Slot::default(); MINUTES]),
        }
    }
}

/// The slot of minute `minute`.
fn index(minute: i64) -> usize {
    // rem_euclid(60) is in 0..60.
    usize::try_from(minute.rem_euclid(60)).unwrap_or(0)
}

impl ActivityRing {
    /// Counts `issued` certificates and `failed` requests at `now` (Unix
    /// seconds).
    pub fn record(&self, now: i64, issued: u64, failed: u64) {
        if issued == 0 && failed == 0 {
            return;
        }
        let minute = now.div_euclid(60);
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = &mut slots[index(minute)];
        if slot.minute != minute {
            *slot = Slot {
                minute,
                ..Slot::default()
            };
        }
        slot.issued = slot.issued.saturating_add(issued);
        slot.failed = slot.failed.saturating_add(failed);
    }

    /// [`ActivityRing::record`] at the system clock's now.
    pub fn record_now(&self, issued: u64, failed: u64) {
        self.record(unix_now(), issued, failed);
    }
}

/// The system clock, Unix seconds (0 before 1970).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Activity for ActivityRing {
    fn last_hour(&self, now: i64) -> Vec<Minute> {
        let current = now.div_euclid(60);
        let slots = *self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        (current - 59..=current)
            .map(|minute| {
                let slot = slots[index(minute)];
                let (issued, failed) = if slot.minute == minute {
                    (slot.issued, slot.failed)
                } else {
                    (0, 0)
                };
                Minute {
                    start: minute * 60,
                    issued,
                    failed,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const T0: i64 = 1_796_413_800; // a minute's start

    fn figures(ring: &ActivityRing, now: i64) -> Vec<(i64, u64, u64)> {
        ring.last_hour(now)
            .into_iter()
            .filter(|m| m.issued > 0 || m.failed > 0)
            .map(|m| (m.start, m.issued, m.failed))
            .collect()
    }

    #[test]
    fn counts_land_in_their_minute_and_the_next_minute_starts_at_zero() {
        let ring = ActivityRing::default();
        ring.record(T0, 2, 0);
        ring.record(T0 + 59, 1, 1);
        ring.record(T0 + 60, 0, 3);
        let hour = ring.last_hour(T0 + 61);
        assert_eq!(hour.len(), MINUTES);
        assert_eq!(hour.first().unwrap().start, T0 + 60 - 59 * 60);
        assert_eq!(hour.last().unwrap().start, T0 + 60);
        assert_eq!(figures(&ring, T0 + 61), [(T0, 3, 1), (T0 + 60, 0, 3)]);
    }

    #[test]
    fn minutes_older_than_an_hour_are_dropped() {
        let ring = ActivityRing::default();
        ring.record(T0, 5, 1);
        // 59 minutes later it is the oldest minute shown.
        assert_eq!(figures(&ring, T0 + 59 * 60 + 30), [(T0, 5, 1)]);
        // An hour later it is gone, though nothing overwrote its slot.
        assert_eq!(figures(&ring, T0 + 60 * 60), []);
        // Counting in the same slot an hour later starts afresh.
        ring.record(T0 + 60 * 60, 1, 0);
        assert_eq!(figures(&ring, T0 + 60 * 60), [(T0 + 3600, 1, 0)]);
        // Read back in time, the overwritten minute is not mistaken for it.
        assert_eq!(figures(&ring, T0 + 30), []);
    }

    #[test]
    fn a_gap_reads_as_zero_and_times_before_1970_work() {
        let ring = ActivityRing::default();
        ring.record(-61, 1, 0);
        ring.record(-1, 0, 1);
        assert_eq!(figures(&ring, 0), [(-120, 1, 0), (-60, 0, 1)]);
        ring.record(T0, 0, 0);
        assert_eq!(figures(&ring, T0), []);
    }

    #[test]
    fn concurrent_increments_are_all_counted_across_a_rollover() {
        let ring = Arc::new(ActivityRing::default());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let ring = Arc::clone(&ring);
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        // Half in one minute, half in the next, interleaved.
                        let at = T0 + 30 + (i % 2) * 60;
                        ring.record(at, 1, u64::from(t % 2 == 0));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            figures(&ring, T0 + 90),
            [(T0, 4000, 2000), (T0 + 60, 4000, 2000)]
        );
    }
}
