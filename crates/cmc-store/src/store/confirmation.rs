//! Certificates waiting for their requester's confirmation
//! ([`ConfirmationStore`]): one record per (signer, transaction); the
//! guarded UPDATE from `waiting` decides between nodes.

use super::SqlStore;
use crate::db::{Backend, Row, params};
use crate::error::{Error, Result};
use crate::traits::ConfirmationStore;
use crate::types::{
    ConfirmationRecord, ConfirmationState, Fingerprint, NewConfirmation, UnixTime, check_nonce,
    fingerprint_from_db, serial_from_db,
};

macro_rules! confirmation_cols {
    () => {
        "signer, transaction_id, ca, serial, cert_req_id, state, created_at, deadline, settled_at"
    };
}

fn confirmation_from_row(mut r: Row) -> Result<ConfirmationRecord> {
    Ok(ConfirmationRecord {
        signer: fingerprint_from_db(&r.blob()?)?,
        transaction_id: r.blob()?,
        ca: r.text()?,
        serial: serial_from_db(r.blob()?)?,
        cert_req_id: r.i64()?,
        state: ConfirmationState::parse(&r.text()?)?,
        created_at: r.time()?,
        deadline: r.time()?,
        settled_at: r.opt_time()?,
    })
}

impl<B: Backend> ConfirmationStore for SqlStore<B> {
    fn await_confirmation(&self, new: &NewConfirmation, now: UnixTime) -> Result<()> {
        check_nonce("transaction id", &new.transaction_id)?;
        self.backend.with_conn(|c| {
            let n = c
                .execute(
                    "INSERT INTO cmp_confirmations (signer, transaction_id, ca, serial,
                         cert_req_id, state, created_at, deadline, settled_at)
                     VALUES ($1, $2, $3, $4, $5, 'waiting', $6, $7, NULL)
                     ON CONFLICT (signer, transaction_id) DO UPDATE
                     SET ca = excluded.ca, serial = excluded.serial,
                         cert_req_id = excluded.cert_req_id, state = 'waiting',
                         created_at = excluded.created_at, deadline = excluded.deadline,
                         settled_at = NULL
                     WHERE cmp_confirmations.state <> 'waiting'",
                    params![
                        &new.signer,
                        &new.transaction_id,
                        &new.ca,
                        &new.serial,
                        new.cert_req_id,
                        now,
                        new.deadline
                    ],
                )
                .map_err(|e| {
                    if e.is_foreign_key() {
                        Error::NotFound(format!("CA {}", new.ca))
                    } else {
                        e.into()
                    }
                })?;
            if n == 1 {
                Ok(())
            } else {
                Err(Error::AlreadyExists(
                    "a certificate of this transaction waits for confirmation".into(),
                ))
            }
        })
    }

    fn get_confirmation(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
    ) -> Result<Option<ConfirmationRecord>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                concat!(
                    "SELECT ",
                    confirmation_cols!(),
                    " FROM cmp_confirmations WHERE signer = $1 AND transaction_id = $2"
                ),
                params![signer, transaction_id],
            )?
            .map(confirmation_from_row)
            .transpose()
        })
    }

    fn settle_confirmation(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
        to: ConfirmationState,
        now: UnixTime,
    ) -> Result<bool> {
        if to == ConfirmationState::Waiting {
            return Err(Error::Invalid("settling a confirmation as waiting".into()));
        }
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE cmp_confirmations SET state = $3, settled_at = $4
                 WHERE signer = $1 AND transaction_id = $2 AND state = 'waiting'",
                params![signer, transaction_id, to.as_str(), now],
            )?;
            if n == 1 {
                return Ok(true);
            }
            let exists = c
                .query_opt(
                    "SELECT 1 FROM cmp_confirmations WHERE signer = $1 AND transaction_id = $2",
                    params![signer, transaction_id],
                )?
                .is_some();
            if exists {
                Ok(false)
            } else {
                Err(Error::NotFound("confirmation".into()))
            }
        })
    }

    fn overdue_confirmations(&self, now: UnixTime, limit: u32) -> Result<Vec<ConfirmationRecord>> {
        self.backend.with_conn(|c| {
            c.query(
                concat!(
                    "SELECT ",
                    confirmation_cols!(),
                    " FROM cmp_confirmations WHERE state = 'waiting' AND deadline <= $1
                      ORDER BY deadline LIMIT $2"
                ),
                params![now, i64::from(limit)],
            )?
            .into_iter()
            .map(confirmation_from_row)
            .collect()
        })
    }
}
