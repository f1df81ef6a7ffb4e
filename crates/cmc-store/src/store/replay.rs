//! Nonces and transactionIds, against replay ([`ReplayStore`]): a nonce is
//! remembered until it expires, a transaction's state is kept across its
//! rounds.

use super::SqlStore;
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::ReplayStore;
use crate::types::{
    Fingerprint, TransactionOpen, TransactionRecord, TransactionState, UnixTime, check_nonce,
    fingerprint_from_db, nonce_key,
};

macro_rules! tx_cols {
    () => {
        "signer, transaction_id, state, pending_id, created_at, updated_at, expires_at"
    };
}

fn transaction_from_row(mut r: Row) -> Result<TransactionRecord> {
    let signer = fingerprint_from_db(&r.blob()?)?;
    let transaction_id = r.blob()?;
    let state = r.text()?;
    let pending = r.opt_text()?;
    Ok(TransactionRecord {
        signer,
        transaction_id,
        state: TransactionState::from_db(&state, pending)?,
        created_at: r.time()?,
        updated_at: r.time()?,
        expires_at: r.time()?,
    })
}

/// Spends `nonce` of `signer` until `expires_at` (inside the caller's
/// transaction, if any); a nonce spent before and not expired at `now` is
/// [`Error::Replay`]. The store's unique key decides between two copies of
/// one message racing each other.
pub(super) fn spend_nonce(
    c: &mut dyn Conn,
    signer: &Fingerprint,
    nonce: &[u8],
    expires_at: UnixTime,
    now: UnixTime,
) -> Result<()> {
    check_nonce("nonce", nonce)?;
    let n = c.execute(
        "INSERT INTO spent_nonces (nonce_key, expires_at) VALUES ($1, $2)
         ON CONFLICT (nonce_key) DO UPDATE SET expires_at = excluded.expires_at
         WHERE spent_nonces.expires_at <= $3",
        params![nonce_key(signer, nonce), expires_at, now],
    )?;
    if n == 1 { Ok(()) } else { Err(Error::Replay) }
}

fn get_transaction(
    conn: &mut dyn Conn,
    signer: &Fingerprint,
    id: &[u8],
) -> Result<Option<TransactionRecord>> {
    conn.query_opt(
        concat!(
            "SELECT ",
            tx_cols!(),
            " FROM transactions WHERE signer = $1 AND transaction_id = $2"
        ),
        params![signer, id],
    )?
    .map(transaction_from_row)
    .transpose()
}

impl<B: Backend> ReplayStore for SqlStore<B> {
    fn remember_nonce(
        &self,
        signer: &Fingerprint,
        nonce: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        self.backend
            .with_conn(|c| spend_nonce(c, signer, nonce, expires_at, now))
    }

    fn nonce_in_use(&self, signer: &Fingerprint, nonce: &[u8], now: UnixTime) -> Result<bool> {
        self.backend.with_conn(|c| {
            Ok(c.query_opt(
                "SELECT 1 FROM spent_nonces WHERE nonce_key = $1 AND expires_at > $2",
                params![nonce_key(signer, nonce), now],
            )?
            .is_some())
        })
    }

    fn open_transaction(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<TransactionOpen> {
        check_nonce("transaction id", transaction_id)?;
        self.backend.with_conn(|c| {
            // The record can vanish between a refused insert and the read
            // (a purge); then the insert is tried again.
            for _ in 0..3 {
                let started = c.query_opt(
                    concat!(open_transaction_upsert!(), " RETURNING ", tx_cols!()),
                    params![signer, transaction_id, now, expires_at],
                )?;
                if let Some(row) = started {
                    return Ok(TransactionOpen::Started(transaction_from_row(row)?));
                }
                if let Some(rec) = get_transaction(c, signer, transaction_id)? {
                    return Ok(TransactionOpen::Existing(rec));
                }
            }
            Err(Error::Backend(
                "transaction record kept changing; try again".into(),
            ))
        })
    }

    fn get_transaction(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
    ) -> Result<Option<TransactionRecord>> {
        self.backend
            .with_conn(|c| get_transaction(c, signer, transaction_id))
    }

    fn set_transaction_state(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
        state: &TransactionState,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let (state, pending) = state.to_db();
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE transactions
                 SET state = $3, pending_id = $4, updated_at = $5, expires_at = $6
                 WHERE signer = $1 AND transaction_id = $2",
                params![signer, transaction_id, state, pending, now, expires_at],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(Error::NotFound("transaction".into()))
            }
        })
    }

    fn purge_expired(&self, now: UnixTime) -> Result<u64> {
        self.backend.with_tx(|c| {
            let nonces = c.execute(
                "DELETE FROM spent_nonces WHERE expires_at <= $1",
                params![now],
            )?;
            let txs = c.execute(
                "DELETE FROM transactions WHERE expires_at <= $1",
                params![now],
            )?;
            // Settled confirmations answer a repeated certConf until their
            // deadline; waiting ones are the engine's to settle.
            let confirmations = c.execute(
                "DELETE FROM cmp_confirmations WHERE state <> 'waiting' AND deadline <= $1",
                params![now],
            )?;
            Ok(nonces + txs + confirmations)
        })
    }
}
