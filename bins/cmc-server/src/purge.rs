//! The schedule that deletes expired replay records (senderNonces and
//! transactionIds past their lifetime) every
//! `[requests].purge_interval_secs`, so the replay tables do not grow
//! without bound, and every [`SWEEP_EVERY`] revokes the CMP certificates
//! whose certConf did not come in time (`Engine::revoke_unconfirmed`) and
//! reloads the CAs that changed in the store (a CA rollover's activation:
//! `Engine::refresh_cas`).

use std::sync::Arc;
use std::time::Duration;

use cmc_ca::Engine;
use tokio::sync::watch;

/// How long after the start the first purge runs: soon, but after the
/// server has started listening.
pub const FIRST_PURGE_AFTER: Duration = Duration::from_secs(5);

/// How often certificates past their confirmation deadline are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// When the purges run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The wait before the first purge (zero: at once).
    pub first: Duration,
    /// The wait between purges.
    pub every: Duration,
}

impl Schedule {
    /// The server's schedule for `[requests].purge_interval_secs`.
    #[must_use]
    pub fn from_interval_secs(secs: i64) -> Self {
        // The configuration is validated to 10..=86400 seconds; a value
        // outside that cannot reach here, and would be taken as 1 s.
        let every = Duration::from_secs(u64::try_from(secs).unwrap_or(1).max(1));
        Self {
            first: FIRST_PURGE_AFTER.min(every),
            every,
        }
    }
}

/// Runs one purge on the blocking pool; logs a failure. Returns how many
/// records were deleted, `None` when the purge failed.
pub async fn purge_once(engine: &Arc<Engine>) -> Option<u64> {
    let engine = Arc::clone(engine);
    match tokio::task::spawn_blocking(move || engine.purge_expired()).await {
        Ok(Ok(purged)) => Some(purged),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "purging expired replay records failed");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "the purge task panicked or was cancelled");
            None
        }
    }
}

/// Revokes, on the blocking pool, the certificates whose confirmation did
/// not come in time; logs a failure. Returns how many were revoked, `None`
/// when the sweep failed.
pub async fn sweep_once(engine: &Arc<Engine>) -> Option<usize> {
    let engine = Arc::clone(engine);
    match tokio::task::spawn_blocking(move || engine.revoke_unconfirmed()).await {
        Ok(Ok(revoked)) => Some(revoked),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "revoking unconfirmed certificates failed");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "the confirmation sweep panicked or was cancelled");
            None
        }
    }
}

/// Picks up CA changes in the store on the blocking pool (a due or
/// commanded rollover activation, a new passive generation, a new CA:
/// `Engine::refresh_cas`); logs a failure. Returns the CAs reloaded.
pub async fn refresh_once(engine: &Arc<Engine>) -> Option<Vec<String>> {
    let engine = Arc::clone(engine);
    match tokio::task::spawn_blocking(move || engine.refresh_cas()).await {
        Ok(Ok(reloaded)) => Some(reloaded),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "refreshing the CAs from the store failed");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "the CA refresh panicked or was cancelled");
            None
        }
    }
}

/// Purges on `schedule`, and sweeps unconfirmed certificates every
/// [`SWEEP_EVERY`] (or the purge interval when shorter), until `stop`
/// changes (or its sender is dropped); returns how many purges ran. Work in
/// progress is finished first.
pub async fn run(engine: Arc<Engine>, schedule: Schedule, mut stop: watch::Receiver<bool>) -> u64 {
    let sweep_every = SWEEP_EVERY.min(schedule.every);
    let start = tokio::time::Instant::now();
    let mut next_purge = start + schedule.first;
    let mut next_sweep = start + schedule.first.min(sweep_every);
    let mut runs = 0;
    loop {
        let wait = next_purge
            .min(next_sweep)
            .saturating_duration_since(tokio::time::Instant::now());
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return runs,
            }
        }
        let now = tokio::time::Instant::now();
        if now >= next_sweep {
            sweep_once(&engine).await;
            refresh_once(&engine).await;
            next_sweep = now + sweep_every;
        }
        if now >= next_purge {
            purge_once(&engine).await;
            runs += 1;
            next_purge = now + schedule.every;
        }
        // Checked after every round too, so that a stop sent while it ran
        // is not missed even with a zero interval.
        if stop.has_changed().unwrap_or(true) {
            return runs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmc_ca::{Clock, EngineConfig, ManualClock};

    struct Env {
        _dir: tempfile::TempDir,
        clock: ManualClock,
        store: Arc<dyn cmc_store::Store>,
        engine: Arc<Engine>,
    }

    fn env() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ca.db").display());
        let store = cmc_store::open(&url).unwrap();
        let clock = ManualClock::starting_now();
        let engine = Engine::load(
            Arc::clone(&store),
            Arc::new(clock.clone()),
            EngineConfig::default(),
        )
        .unwrap();
        Env {
            _dir: dir,
            clock,
            store,
            engine: Arc::new(engine),
        }
    }

    /// Remembers a nonce that expires in 60 s, then moves the clock past it.
    fn expired_nonce(env: &Env) {
        let now = env.clock.now();
        let expires = cmc_store::UnixTime::from_secs(now.secs() + 60);
        env.store
            .remember_nonce(&[7; 32], b"nonce", expires, now)
            .unwrap();
        env.clock.advance(61);
    }

    #[test]
    fn the_schedule_follows_the_interval() {
        assert_eq!(
            Schedule::from_interval_secs(600),
            Schedule {
                first: FIRST_PURGE_AFTER,
                every: Duration::from_secs(600)
            }
        );
        assert_eq!(
            Schedule::from_interval_secs(2).first,
            Duration::from_secs(2)
        );
        assert_eq!(
            Schedule::from_interval_secs(-5).every,
            Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn one_purge_deletes_the_expired_records() {
        let env = env();
        assert_eq!(purge_once(&env.engine).await, Some(0));
        expired_nonce(&env);
        assert_eq!(purge_once(&env.engine).await, Some(1));
        assert_eq!(purge_once(&env.engine).await, Some(0));
    }

    #[tokio::test]
    async fn the_loop_purges_first_and_stops_when_told() {
        let env = env();
        expired_nonce(&env);
        let (tx, rx) = watch::channel(false);
        // The stop is already sent: the loop runs its immediate first
        // purge, then sees it.
        tx.send(true).unwrap();
        let schedule = Schedule {
            first: Duration::ZERO,
            every: Duration::from_secs(3600),
        };
        let runs = run(Arc::clone(&env.engine), schedule, rx).await;
        assert_eq!(runs, 1);
        assert_eq!(purge_once(&env.engine).await, Some(0), "already purged");
    }

    #[tokio::test]
    async fn a_stop_before_the_first_purge_runs_none() {
        let env = env();
        expired_nonce(&env);
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(run(
            Arc::clone(&env.engine),
            Schedule::from_interval_secs(3600),
            rx,
        ));
        tx.send(true).unwrap();
        assert_eq!(task.await.unwrap(), 0);
        // Dropping the sender stops it too.
        let (tx, rx) = watch::channel(false);
        drop(tx);
        let runs = run(
            Arc::clone(&env.engine),
            Schedule::from_interval_secs(3600),
            rx,
        )
        .await;
        assert_eq!(runs, 0);
        assert_eq!(purge_once(&env.engine).await, Some(1), "still there");
    }
}
