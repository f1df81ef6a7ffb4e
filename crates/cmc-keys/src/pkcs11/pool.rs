//! The session pool of a key: logged-in sessions reused across signatures,
//! at most as many open as the caller has workers.

use std::sync::{Condvar, Mutex, PoisonError};

use cryptoki::session::Session;

use super::lock;
use super::token::Token;
use crate::Error;

/// Logged-in sessions waiting for work, at most `max` open at once.
pub(super) struct Pool {
    state: Mutex<PoolState>,
    returned: Condvar,
    max: usize,
}

struct PoolState {
    idle: Vec<Session>,
    open: usize,
    /// Callers waiting in `acquire`: a lease given back wakes one only if
    /// there is one (std's `Condvar::notify_one` makes a futex system call
    /// whether or not anyone waits, and every signature returns a lease).
    waiting: usize,
}

/// A session taken from the pool. Dropping it gives the session back; if
/// it was lost (`session` is `None`), its place in the pool is freed.
pub(super) struct Lease<'p> {
    pool: &'p Pool,
    pub(super) session: Option<Session>,
}

impl Pool {
    pub(super) fn new(max: usize) -> Self {
        Self {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
                waiting: 0,
            }),
            returned: Condvar::new(),
            max: max.max(1),
        }
    }

    pub(super) fn acquire(&self, token: &Token) -> Result<Lease<'_>, Error> {
        let mut state = lock(&self.state);
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                // The place is reserved; if opening fails the empty lease
                // frees it again when it drops.
                let mut lease = Lease {
                    pool: self,
                    session: None,
                };
                lease.session = Some(token.open_session(false)?);
                return Ok(lease);
            }
            state.waiting += 1;
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting -= 1;
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.pool.state);
        match self.session.take() {
            Some(session) => state.idle.push(session),
            None => state.open = state.open.saturating_sub(1),
        }
        let anyone = state.waiting > 0;
        drop(state);
        if anyone {
            self.pool.returned.notify_one();
        }
    }
}
