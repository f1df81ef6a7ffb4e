//! Requests waiting for an agent ([`PendingStore`]): created, claimed while
//! a decision is under way, approved or rejected once.

use super::{SqlStore, count};
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::PendingStore;
use crate::types::{
    NewPending, Page, PageRequest, PendingFilter, PendingRecord, PendingState, PendingStatus,
    Serial, UnixTime, page_from, serial_from_db, u32_from_db,
};

macro_rules! pending_cols {
    () => {
        "seq, id, ca, client, profile, request_der, body_part_id, created_at, state, \
         cert_serial, reject_reason, decided_by, decided_at, replacement_template"
    };
}

fn pending_from_row(mut r: Row) -> Result<(i64, PendingRecord)> {
    let seq = r.i64()?;
    let id = r.text()?;
    let ca = r.text()?;
    let client = r.text()?;
    let profile = r.text()?;
    let request_der = r.blob()?;
    let body_part_id = u32_from_db(r.i64()?, "bodyPartID")?;
    let created_at = r.time()?;
    let status = PendingStatus::parse(&r.text()?)?;
    let serial = r.opt_blob()?;
    let reject_reason = r.opt_text()?;
    let state = match (status, serial, reject_reason) {
        (PendingStatus::Pending, _, _) => PendingState::Pending,
        (PendingStatus::Approved, Some(s), _) => PendingState::Approved(serial_from_db(s)?),
        (PendingStatus::Rejected, _, Some(reason)) => PendingState::Rejected(reason),
        (s, _, _) => {
            return Err(Error::Corrupt(format!(
                "pending request {id} {s} without data"
            )));
        }
    };
    Ok((
        seq,
        PendingRecord {
            id,
            ca,
            client,
            profile,
            request_der,
            body_part_id,
            created_at,
            state,
            decided_by: r.opt_text()?,
            decided_at: r.opt_time()?,
            replacement_template_der: r.opt_blob()?,
        },
    ))
}

fn get_pending(conn: &mut dyn Conn, id: &str) -> Result<Option<PendingRecord>> {
    conn.query_opt(
        concat!(
            "SELECT ",
            pending_cols!(),
            " FROM pending_requests WHERE id = $1"
        ),
        params![id],
    )?
    .map(|r| pending_from_row(r).map(|(_, p)| p))
    .transpose()
}

fn pending_refusal(conn: &mut dyn Conn, id: &str) -> Error {
    match get_pending(conn, id) {
        Ok(None) => Error::NotFound(format!("pending request {id}")),
        // Still undecided, so another decision holds a claim on it.
        Ok(Some(p)) if p.status() == PendingStatus::Pending => Error::InvalidState(format!(
            "pending request {id} is being decided by someone else"
        )),
        Ok(Some(p)) => {
            Error::InvalidState(format!("pending request {id} is already {}", p.status()))
        }
        Err(e) => e,
    }
}

impl<B: Backend> PendingStore for SqlStore<B> {
    fn create_pending(&self, p: &NewPending, now: UnixTime) -> Result<()> {
        if p.id.is_empty() {
            return Err(Error::Invalid("empty pending request id".into()));
        }
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO pending_requests
                     (id, ca, client, profile, request_der, body_part_id, created_at, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
                params![
                    &p.id,
                    &p.ca,
                    &p.client,
                    &p.profile,
                    &p.request_der,
                    i64::from(p.body_part_id),
                    now
                ],
            )
            .map_err(|e| {
                if e.is_unique() {
                    Error::AlreadyExists(format!("pending request {}", p.id))
                } else if e.is_foreign_key() {
                    Error::NotFound(format!("CA {}", p.ca))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn get_pending(&self, id: &str) -> Result<Option<PendingRecord>> {
        self.backend.with_conn(|c| get_pending(c, id))
    }

    fn list_pending(&self, f: &PendingFilter, page: PageRequest) -> Result<Page<PendingRecord>> {
        let (after, limit) = page.checked()?;
        self.backend.with_conn(|c| {
            let items = c
                .query(
                    concat!(
                        "SELECT ",
                        pending_cols!(),
                        " FROM pending_requests
                         WHERE seq > $1
                           AND ($2::text IS NULL OR ca = $2)
                           AND ($3::text IS NULL OR client = $3)
                           AND ($4::text IS NULL OR state = $4)
                         ORDER BY seq LIMIT $5"
                    ),
                    params![
                        after,
                        f.ca.as_ref(),
                        f.client.as_ref(),
                        f.status.map(PendingStatus::as_str),
                        limit
                    ],
                )?
                .into_iter()
                .map(pending_from_row)
                .collect::<Result<Vec<_>>>()?;
            Ok(page_from(items, limit))
        })
    }

    fn claim_pending(&self, id: &str, claim: &str, until: UnixTime, now: UnixTime) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE pending_requests SET claimed_by = $2, claimed_until = $3
                 WHERE id = $1 AND state = 'pending'
                   AND (claimed_by IS NULL OR claimed_until <= $4)",
                params![id, claim, until, now],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(pending_refusal(c, id))
            }
        })
    }

    fn release_pending(&self, id: &str, claim: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            c.execute(
                "UPDATE pending_requests SET claimed_by = NULL, claimed_until = NULL
                 WHERE id = $1 AND claimed_by = $2",
                params![id, claim],
            )?;
            Ok(())
        })
    }

    fn approve_pending(
        &self,
        id: &str,
        decided_by: &str,
        serial: &Serial,
        replacement_template_der: Option<&[u8]>,
        claim: Option<&str>,
        now: UnixTime,
    ) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE pending_requests
                 SET state = 'approved', cert_serial = $2, decided_by = $3, decided_at = $4,
                     replacement_template = $5, claimed_by = NULL, claimed_until = NULL
                 WHERE id = $1 AND state = 'pending'
                   AND (claimed_by IS NULL OR claimed_until <= $4 OR claimed_by = $6)",
                params![id, serial, decided_by, now, replacement_template_der, claim],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(pending_refusal(c, id))
            }
        })
    }

    fn reject_pending(
        &self,
        id: &str,
        decided_by: &str,
        reason: &str,
        now: UnixTime,
    ) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE pending_requests
                 SET state = 'rejected', reject_reason = $2, decided_by = $3, decided_at = $4,
                     claimed_by = NULL, claimed_until = NULL
                 WHERE id = $1 AND state = 'pending'
                   AND (claimed_by IS NULL OR claimed_until <= $4)",
                params![id, reason, decided_by, now],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(pending_refusal(c, id))
            }
        })
    }

    fn count_pending_for_ca(&self, ca: &str) -> Result<u64> {
        self.backend.with_conn(|c| {
            count(
                c,
                "SELECT COUNT(*) FROM pending_requests WHERE ca = $1 AND state = 'pending'",
                ca,
            )
        })
    }

    fn count_pending_for_client(&self, client: &str) -> Result<u64> {
        self.backend.with_conn(|c| {
            count(
                c,
                "SELECT COUNT(*) FROM pending_requests WHERE client = $1 AND state = 'pending'",
                client,
            )
        })
    }
}
