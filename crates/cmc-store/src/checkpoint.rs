//! SQLite checkpoints on a thread of their own ([`Checkpointer`]).
//!
//! A checkpoint copies the pages committed to the WAL into the database
//! file and syncs it. SQLite's automatic checkpoint runs inside the commit
//! that crosses the threshold, so that one commit, and with group commit
//! every request waiting on it, waits for the copy and the database fsync:
//! measured with 10 million certificates stored, where the pages a commit
//! changes are scattered over a 12 GB file, each such checkpoint's fsync
//! took about 18 ms, and the p99 latency of an enrollment went from 7.8 to
//! 18 ms (BENCHMARKS.md, "Issue 15: the merged build").
//!
//! Here the writer's WAL hook only asks for a checkpoint when the WAL has
//! grown past [`REQUEST_PAGES`]; a thread with its own connection runs it
//! (PASSIVE: it never blocks the writer or a reader, and copies what it
//! can). Durability does not change: every commit still syncs the WAL
//! (`synchronous=FULL`), and the checkpoint syncs the database before the
//! WAL is reused. Should the thread fall behind (or fail), the writer
//! checkpoints inline once the WAL reaches [`INLINE_PAGES`].

use std::os::raw::c_int;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;

/// WAL pages after which the writer asks the thread for a checkpoint: 16 MiB
/// at 1 KiB pages. A page changed by many commits between two checkpoints
/// is copied once, and every page a checkpoint copies costs a 4 KiB page
/// of the operating system's cache (a 1 KiB SQLite page is a quarter of
/// one): measured with `cmc-tool bench -n 24000 -c 8` on the embedded
/// default, 23.0 KB written per enrollment at 4 MiB (4096 pages, where it
/// was first set) and 18.7 KB at 16 MiB, at the same rate and CPU, with a
/// lower p99 (BENCHMARKS.md, "Issue 15: fewer pages per enrollment").
pub(crate) const REQUEST_PAGES: c_int = 16384;

/// WAL pages after which the writer checkpoints itself (64 MiB at 1 KiB
/// pages, the store's `journal_size_limit`). Under a steady load the
/// thread's checkpoints rarely copy the whole WAL (the writer goes on
/// meanwhile), and SQLite reuses the WAL from its start only once all of it
/// is copied; the writer's own checkpoint, with no commit running beside
/// it, copies the little the thread has left and lets the next commit
/// start the WAL over. It also takes over if the thread falls behind or
/// fails. Measured when the request threshold was 4 MiB: the WAL stayed
/// within four times that, and the inline checkpoint came once per about
/// 1,100 enrollments instead of every 270.
pub(crate) const INLINE_PAGES: c_int = 4 * REQUEST_PAGES;

#[derive(Debug, Default)]
struct State {
    due: bool,
    stop: bool,
    /// The WAL size (pages) at which the next checkpoint is asked for:
    /// [`REQUEST_PAGES`] past the size at the last request, so that a
    /// checkpoint that could not copy everything (the writer went on
    /// meanwhile) is not followed by one after every commit, each copying
    /// the same few hot pages again.
    next_at: c_int,
    /// The WAL size after the last commit; smaller means it was restarted.
    last: c_int,
    /// Checkpoints run by the thread (for the tests).
    runs: u64,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Two flags and a counter, consistent after every statement.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The checkpoint thread of one database; stopped and joined when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread; `connect` opens its connection (on the thread,
    /// when the first checkpoint is due).
    pub(crate) fn start(
        connect: impl Fn() -> crate::error::Result<Connection> + Send + 'static,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("cmc-sqlite-checkpoint".into())
            .spawn(move || run(&s, &connect))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Installs the WAL hook on the writer connection: after each commit it
    /// asks for a checkpoint past [`REQUEST_PAGES`] and checkpoints inline
    /// past [`INLINE_PAGES`]. (The hook replaces SQLite's automatic
    /// checkpoint on this connection.)
    pub(crate) fn hook(&self, writer: &mut Connection) -> rusqlite::Result<()> {
        let shared = Arc::clone(&self.shared);
        writer.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if pages >= INLINE_PAGES {
                wal.checkpoint_v2(CheckpointMode::PASSIVE)?;
                return Ok(());
            }
            let mut state = shared.lock();
            if pages < state.last || state.next_at == 0 {
                // Restarted (or the first commit): count from here.
                state.next_at = REQUEST_PAGES;
            }
            state.last = pages;
            if pages >= state.next_at {
                state.next_at = pages + REQUEST_PAGES;
                if !state.due {
                    state.due = true;
                    shared.wake.notify_one();
                }
            }
            Ok(())
        }))
    }

    /// How many checkpoints the thread has run.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> u64 {
        self.shared.lock().runs
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            // The thread only waits, checkpoints and returns; a panic in it
            // has nothing to hand on.
            let _ = t.join();
        }
    }
}

/// The thread: wait for a request, checkpoint, repeat until stopped.
fn run(shared: &Shared, connect: &dyn Fn() -> crate::error::Result<Connection>) {
    let mut conn: Option<Connection> = None;
    loop {
        {
            let mut state = shared.lock();
            while !state.due && !state.stop {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.stop {
                return;
            }
            state.due = false;
        }
        if conn.is_none() {
            // If it cannot open, the writer's inline checkpoint takes over;
            // the next request tries again.
            conn = connect().ok();
        }
        if let Some(c) = &conn {
            // PASSIVE copies what no reader still needs and never waits; a
            // failure (an I/O error) is left to the writer's inline
            // checkpoint and to the next request.
            let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            shared.lock().runs += 1;
        }
    }
}
