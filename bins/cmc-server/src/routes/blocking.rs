//! The one way a route calls the engine: on tokio's blocking pool (the
//! engine signs, hashes and waits for its store), while holding one of the
//! `[server].max_concurrency` permits; requests beyond that wait for a
//! permit, not for a thread.
//!
//! A request's durable write waits on its blocking thread for the store's
//! group commit (the first waiting request commits everyone's units at
//! once): the permits bound how many units one commit can gather, so they
//! must not be few. The default (64) lets a commit take every request in
//! flight at the concurrency the bench uses (c=8 gives about 3.6 units per
//! commit on SQLite, BENCHMARKS.md "Issue 15: durable writes").

use std::sync::Arc;

use cmc_ca::Engine;
use tokio::sync::Semaphore;

use super::reply::{internal_error, unavailable};
use super::{App, Reply};

/// Why a blocking call gave no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unserved {
    /// The permits were closed: the server takes no more work (503).
    Closed,
    /// The work panicked or was cancelled; it is logged (500).
    Failed,
}

impl Unserved {
    /// The answer for a request whose engine call gave no result.
    pub(super) fn reply(self) -> Reply {
        match self {
            Unserved::Closed => unavailable(),
            Unserved::Failed => internal_error(),
        }
    }
}

impl App {
    /// Runs `work` with the engine on the blocking pool under one
    /// concurrency permit; `what` names the work in the log.
    pub(super) async fn on_engine<T, F>(&self, what: &'static str, work: F) -> Result<T, Unserved>
    where
        F: FnOnce(&Engine) -> T + Send + 'static,
        T: Send + 'static,
    {
        run(&self.permits, &self.engine, what, work).await
    }
}

/// Waits for a permit, then runs `work` with `shared` on the blocking pool;
/// the permit is held until the work is done.
async fn run<S, T, F>(
    permits: &Arc<Semaphore>,
    shared: &Arc<S>,
    what: &'static str,
    work: F,
) -> Result<T, Unserved>
where
    S: Send + Sync + 'static,
    F: FnOnce(&S) -> T + Send + 'static,
    T: Send + 'static,
{
    let Ok(permit) = Arc::clone(permits).acquire_owned().await else {
        return Err(Unserved::Closed);
    };
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work(&shared)
    })
    .await
    .map_err(|e| {
        tracing::error!(work = what, error = %e, "an engine call panicked or was cancelled");
        Unserved::Failed
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use hyper::StatusCode;

    use super::*;

    /// How many calls run at once, and the most seen.
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_beyond_the_permits_wait() {
        let permits = Arc::new(Semaphore::new(2));
        let gauge = Arc::new(Gauge::default());
        let calls = (0..6).map(|i| {
            let (permits, gauge) = (Arc::clone(&permits), Arc::clone(&gauge));
            async move {
                run(&permits, &gauge, "test", move |g: &Gauge| {
                    let now = g.now.fetch_add(1, Ordering::SeqCst) + 1;
                    g.max.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    g.now.fetch_sub(1, Ordering::SeqCst);
                    i * 10
                })
                .await
            }
        });
        let results = spawn_all(calls).await;
        assert_eq!(results, (0..6).map(|i| Ok(i * 10)).collect::<Vec<_>>());
        // Without the bound the six sleeping calls would overlap on the
        // blocking pool's threads.
        let max = gauge.max.load(Ordering::SeqCst);
        assert!((1..=2).contains(&max), "{max} calls at once");
        // Every permit is back.
        assert_eq!(permits.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_panic_is_a_500_and_returns_its_permit() {
        let permits = Arc::new(Semaphore::new(1));
        let shared = Arc::new(());
        let result: Result<(), _> = run(&permits, &shared, "test", |()| panic!("boom")).await;
        assert_eq!(result, Err(Unserved::Failed));
        assert_eq!(
            Unserved::Failed.reply().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(permits.available_permits(), 1);
    }

    #[tokio::test]
    async fn closed_permits_are_a_503_without_running() {
        let permits = Arc::new(Semaphore::new(1));
        permits.close();
        let ran = Arc::new(AtomicUsize::new(0));
        let result = run(&permits, &ran, "test", |r: &AtomicUsize| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .await;
        assert_eq!(result, Err(Unserved::Closed));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(
            Unserved::Closed.reply().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    /// Runs the futures concurrently on the runtime, results in order.
    async fn spawn_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.map(tokio::spawn).collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
