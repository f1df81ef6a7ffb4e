//! Write units and the group commit ([`UnitStore`]).
//!
//! A unit is everything one request writes. Units are committed by one
//! writer at a time, leader/follower: a caller queues its unit; if no
//! commit is running it becomes the leader, takes every queued unit, runs
//! each inside a SAVEPOINT (a unit whose write is refused is rolled back
//! to it, alone), COMMITs once, and hands each caller its own result;
//! callers that arrived meanwhile wait, and the first of them leads the
//! next commit with everything queued by then. Nobody returns before the
//! commit that holds its unit has returned, and a commit is durable when it
//! returns (SQLite `synchronous=FULL`, PostgreSQL `synchronous_commit=on`).
//!
//! Under load a commit therefore carries as many units as arrived during
//! the previous one: the fsync is shared instead of paid per request.
//!
//! Waiters sleep in `thread::park`, and a leader wakes only the callers
//! whose results it holds and the first caller still queued (who leads
//! next): with one condition variable for all, every commit woke every
//! waiter, and those queued for the next commit went back to sleep (a
//! context switch each, for nothing).
//!
//! On PostgreSQL each unit is its own transaction by default (the same
//! savepoint-free path a group of one takes), committed with
//! `synchronous_commit=on`: measured on this project's machines
//! (BENCHMARKS.md, "Issue 15: durable writes") that is about twice as fast
//! as grouping, because PostgreSQL already shares one WAL flush among the
//! commits that wait for it at the same moment, and per-unit transactions
//! let the pool's connections insert in parallel where a group serialises
//! everything on one connection. `OpenOptions::group_commit` chooses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};

use super::audit::insert_audit;
use super::replay::spend_nonce;
use super::secret::consume;
use super::{SqlStore, insert_certificate};
use crate::db::{Backend, Conn, params};
use crate::error::{Error, Result};
use crate::traits::UnitStore;
use crate::types::{Write, WriteStats, WriteUnit, check_nonce};

/// The queue of units waiting for a commit, and the results of those
/// committed, for their callers to collect.
#[derive(Debug, Default)]
pub(crate) struct Group {
    state: Mutex<GroupState>,
    commits: AtomicU64,
    units: AtomicU64,
    failed: AtomicU64,
}

#[derive(Debug, Default)]
struct GroupState {
    next_ticket: u64,
    queue: Vec<Queued>,
    results: HashMap<u64, Result<()>>,
    leading: bool,
    committing: usize,
}

/// A unit waiting for a commit, and the thread waiting for its result.
#[derive(Debug)]
struct Queued {
    ticket: u64,
    unit: WriteUnit,
    caller: Thread,
}

impl GroupState {
    /// Ends the commit of `batch` (in order, one of `results` each): stores
    /// the results but the leader's own (ticket `own`, returned instead)
    /// and says whom to wake: the other callers of the batch and the first
    /// caller queued since, who leads the next commit.
    fn finish(
        &mut self,
        own: u64,
        batch: Vec<Queued>,
        mut results: impl Iterator<Item = Result<()>>,
    ) -> (Option<Result<()>>, Vec<Thread>) {
        let mut wake = Vec::with_capacity(batch.len());
        let mut mine = None;
        for Queued { ticket, caller, .. } in batch {
            let result = results.next().unwrap_or_else(|| Err(no_result()));
            if ticket == own {
                mine = Some(result);
            } else {
                self.results.insert(ticket, result);
                wake.push(caller);
            }
        }
        self.leading = false;
        self.committing = 0;
        if let Some(next) = self.queue.first() {
            wake.push(next.caller.clone());
        }
        (mine, wake)
    }
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, GroupState> {
        // The state is a queue, a map and a flag, each consistent after
        // every statement; the leader's guard below repairs the flag if a
        // commit panics.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn stats(&self) -> WriteStats {
        let (queued, committing) = {
            let state = self.lock();
            (state.queue.len() as u64, state.committing as u64)
        };
        WriteStats {
            queued,
            committing,
            commits: self.commits.load(Ordering::Relaxed),
            units: self.units.load(Ordering::Relaxed),
            failed_units: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// Set while a leader commits; if the commit panics, its units fail and
/// the next waiter may lead.
struct Leading<'a> {
    group: &'a Group,
    own: u64,
    batch: Vec<Queued>,
    finished: bool,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let interrupted =
            std::iter::repeat_with(|| Err(Error::Backend("the commit was interrupted".into())));
        let (_, wake) = self.group.lock().finish(self.own, batch, interrupted);
        for caller in wake {
            caller.unpark();
        }
    }
}

/// Applies one unit's writes on `c` (inside the caller's transaction).
fn apply(c: &mut dyn Conn, unit: &WriteUnit) -> Result<()> {
    let now = unit.at;
    for write in &unit.writes {
        match write {
            Write::Nonce {
                signer,
                nonce,
                expires_at,
            } => {
                spend_nonce(c, signer, nonce, *expires_at, now)?;
            }
            Write::Transaction {
                signer,
                transaction_id,
                expires_at,
            } => {
                check_nonce("transaction id", transaction_id)?;
                c.execute(
                    open_transaction_upsert!(),
                    params![signer, transaction_id, now, *expires_at],
                )?;
            }
            Write::Certificate { serial, cert } => {
                if cert.cert_der.is_empty() {
                    return Err(Error::Invalid("empty certificate".into()));
                }
                insert_certificate(c, serial, now, Some(cert), None)?;
            }
            Write::FailedSerial { serial, reason } => {
                insert_certificate(c, serial, now, None, Some(reason))?;
            }
            Write::SpendSecret { ca, identification } => {
                consume(c, ca, identification, now)?;
            }
            Write::Audit(event) => {
                insert_audit(c, event)?;
            }
        }
    }
    Ok(())
}

impl<B: Backend> SqlStore<B> {
    /// Commits `batch` in one transaction, each unit in its own savepoint;
    /// one result per unit, in order. Counts the commit and the units
    /// stored and refused (the write statistics).
    fn commit_batch(&self, batch: &[&WriteUnit]) -> Vec<Result<()>> {
        let results = self.write_batch(batch);
        let ok = results.iter().filter(|r| r.is_ok()).count() as u64;
        if ok > 0 {
            self.group.commits.fetch_add(1, Ordering::Relaxed);
        }
        self.group.units.fetch_add(ok, Ordering::Relaxed);
        self.group
            .failed
            .fetch_add(results.len() as u64 - ok, Ordering::Relaxed);
        results
    }

    /// [`Self::commit_batch`]'s transaction.
    fn write_batch(&self, batch: &[&WriteUnit]) -> Vec<Result<()>> {
        if let [unit] = batch {
            // One unit: the transaction is the unit.
            return vec![self.backend.with_tx(|c| apply(c, unit))];
        }
        let outcome = self.backend.with_tx(|c| {
            let mut results = Vec::with_capacity(batch.len());
            for unit in batch {
                c.batch("SAVEPOINT unit")?;
                let result = apply(c, unit);
                if result.is_err() {
                    c.batch("ROLLBACK TO SAVEPOINT unit")?;
                }
                c.batch("RELEASE SAVEPOINT unit")?;
                results.push(result);
            }
            Ok(results)
        });
        match outcome {
            Ok(results) => results,
            // The transaction failed as a whole (BEGIN, a savepoint, or
            // COMMIT): nothing of any unit is stored.
            Err(e) => {
                let text = e.to_string();
                batch
                    .iter()
                    .map(|_| Err(Error::Backend(text.clone())))
                    .collect()
            }
        }
    }
}

/// The answer for a unit whose result went missing (a bug, reported as a
/// store failure rather than a panic).
fn no_result() -> Error {
    Error::Backend("no result for a unit".into())
}

impl<B: Backend> UnitStore for SqlStore<B> {
    fn commit_unit(&self, unit: WriteUnit) -> Result<()> {
        if unit.is_empty() {
            return Ok(());
        }
        let group = &self.group;
        if !self.grouped {
            return self
                .commit_batch(&[&unit])
                .pop()
                .unwrap_or_else(|| Err(no_result()));
        }
        let mut state = group.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push(Queued {
            ticket,
            unit,
            caller: thread::current(),
        });
        loop {
            if let Some(result) = state.results.remove(&ticket) {
                return result;
            }
            if state.leading {
                // Woken when the result is in, or to lead the next commit
                // (or spuriously: the loop looks again).
                drop(state);
                thread::park();
                state = group.lock();
                continue;
            }
            state.leading = true;
            let batch = std::mem::take(&mut state.queue);
            state.committing = batch.len();
            drop(state);
            let mut leading = Leading {
                group,
                own: ticket,
                batch,
                finished: false,
            };
            let units: Vec<&WriteUnit> = leading.batch.iter().map(|q| &q.unit).collect();
            let results = self.commit_batch(&units);
            let batch = std::mem::take(&mut leading.batch);
            let (mine, wake) = group.lock().finish(ticket, batch, results.into_iter());
            leading.finished = true;
            for caller in wake {
                caller.unpark();
            }
            // The leader's unit is in the batch it took: it was queued,
            // and no earlier commit had answered it.
            return mine.unwrap_or_else(|| Err(no_result()));
        }
    }

    fn write_stats(&self) -> WriteStats {
        self.group.stats()
    }
}
