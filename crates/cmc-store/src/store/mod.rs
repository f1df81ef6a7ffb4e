//! The store logic, written once against [`Backend`] and run on both
//! databases.
//!
//! Every operation whose correctness depends on concurrency is a single
//! statement whose effect the database makes atomic: an INSERT that a unique
//! key refuses, an UPDATE guarded by the expected state (`WHERE status =
//! 'reserved'`, `WHERE used_at IS NULL`) whose row count says who won, or an
//! UPSERT with RETURNING. Reads that follow a refused write only explain the
//! refusal; they never decide it.
//!
//! One file per record family, following the traits of [`crate::traits`]:
//! [`ca`] (CAs and their auto-approvals), [`cert`] (serials and
//! certificates), [`client`], [`secret`], [`engine_key`], [`replay`]
//! (nonces and transactions), [`pending`], [`crl`] and [`audit`]; [`unit`]
//! commits everything one request writes at once, grouped under load.

/// The statement that opens a transaction id for a signer, or reopens it
/// when its record has expired (`$1` signer, `$2` id, `$3` now, `$4`
/// expiry): [`replay`] and [`unit`] both write it.
macro_rules! open_transaction_upsert {
    () => {
        "INSERT INTO transactions
             (signer, transaction_id, state, pending_id, created_at, updated_at, expires_at)
         VALUES ($1, $2, 'open', NULL, $3, $3, $4)
         ON CONFLICT (signer, transaction_id) DO UPDATE
         SET state = 'open', pending_id = NULL,
             created_at = excluded.created_at,
             updated_at = excluded.updated_at,
             expires_at = excluded.expires_at
         WHERE transactions.expires_at <= $3"
    };
}

mod audit;
pub(crate) mod backup;
mod bulk;
mod ca;
mod catalog;
mod cert;
mod client;
mod confirmation;
mod crl;
mod engine_key;
mod pending;
mod replay;
mod search;
mod secret;
mod unit;

use cert::insert_certificate;

use crate::db::{Backend, Conn, params};
use crate::error::{Error, Result};
use crate::schema;
use crate::traits::Store;

#[derive(Debug)]
pub(crate) struct SqlStore<B: Backend> {
    backend: B,
    group: unit::Group,
    /// Whether write units are committed in groups.
    grouped: bool,
}

impl<B: Backend> SqlStore<B> {
    /// Wraps a backend, applying missing migrations first; `grouped`:
    /// concurrent write units share commits.
    pub(crate) fn new(backend: B, grouped: bool) -> Result<Self> {
        let dialect = backend.dialect();
        backend.with_tx(|c| schema::migrate(c, dialect))?;
        Ok(Self {
            backend,
            group: unit::Group::default(),
            grouped,
        })
    }
}

fn i64_of_u64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Invalid(format!("{what} {v} is too large")))
}

fn u64_of_i64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("{what} {v}")))
}

fn count(conn: &mut dyn Conn, sql: &str, key: &str) -> Result<u64> {
    let mut row = conn
        .query_opt(sql, params![key])?
        .ok_or_else(|| Error::Corrupt("COUNT returned no row".into()))?;
    u64_of_i64(row.i64()?, "count")
}

impl<B: Backend> Store for SqlStore<B> {
    fn schema_version(&self) -> Result<i64> {
        self.backend.with_conn(schema::current_version)
    }
}
