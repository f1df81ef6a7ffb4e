//! The audit trail ([`AuditLog`]); [`insert_audit`] also writes the event
//! of a change in the change's own transaction.

use super::SqlStore;
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::AuditLog;
use crate::types::{
    AuditEvent, AuditFilter, AuditKind, AuditRecord, Outcome, Page, PageRequest, page_from,
    serial_from_db,
};

/// Appends an audit event and returns its id (inside the caller's
/// transaction, if any). An event of a certificate in the store is linked
/// to its row (`cert_id`, schema 15), by which the certificate's trail is
/// found: that index grows at its end, where one by serial takes a random
/// leaf for every issuance. Write the certificate first.
pub(super) fn insert_audit(c: &mut dyn Conn, e: &AuditEvent) -> Result<i64> {
    c.query_opt(
        "INSERT INTO audit_log (at, kind, issuer, serial, profile, requester, outcome,
                                detail, cert_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                 (SELECT id FROM certificates WHERE issuer = $3 AND serial = $4))
         RETURNING id",
        params![
            e.at,
            e.kind.as_str(),
            e.issuer.as_ref(),
            e.serial.as_ref(),
            e.profile.as_ref(),
            e.requester.as_ref(),
            e.outcome.as_str(),
            &e.detail
        ],
    )?
    .ok_or_else(|| Error::Corrupt("audit insert returned no id".into()))?
    .i64()
}

/// The columns [`audit_from_row`] reads.
pub(super) const AUDIT_COLS: &str =
    "id, at, kind, issuer, serial, profile, requester, outcome, detail";

/// An audit event read with [`AUDIT_COLS`].
pub(super) fn audit_from_row(mut r: Row) -> Result<AuditRecord> {
    let id = r.i64()?;
    let event = AuditEvent {
        at: r.time()?,
        kind: AuditKind::from_name(&r.text()?),
        issuer: r.opt_text()?,
        serial: r.opt_blob()?.map(serial_from_db).transpose()?,
        profile: r.opt_text()?,
        requester: r.opt_text()?,
        outcome: Outcome::parse(&r.text()?)?,
        detail: r.text()?,
    };
    Ok(AuditRecord { id, event })
}

impl<B: Backend> AuditLog for SqlStore<B> {
    fn append_audit(&self, e: &AuditEvent) -> Result<i64> {
        self.backend.with_conn(|c| insert_audit(c, e))
    }

    fn list_audit(&self, f: &AuditFilter, page: PageRequest) -> Result<Page<AuditRecord>> {
        let (after, limit) = page.checked()?;
        self.backend.with_conn(|c| {
            let items = c
                .query(
                    "SELECT id, at, kind, issuer, serial, profile, requester, outcome, detail
                     FROM audit_log
                     WHERE id > $1
                       AND ($2::text IS NULL OR kind = $2)
                       AND ($3::text IS NULL OR issuer = $3)
                       AND ($4::bytea IS NULL OR serial = $4)
                       AND ($5::text IS NULL OR requester = $5)
                       AND ($6::bigint IS NULL OR at >= $6)
                       AND ($7::bigint IS NULL OR at < $7)
                     ORDER BY id LIMIT $8",
                    params![
                        after,
                        f.kind.as_ref().map(AuditKind::as_str),
                        f.issuer.as_ref(),
                        f.serial.as_ref(),
                        f.requester.as_ref(),
                        f.since,
                        f.until,
                        limit
                    ],
                )?
                .into_iter()
                .map(|r| audit_from_row(r).map(|rec| (rec.id, rec)))
                .collect::<Result<Vec<_>>>()?;
            Ok(page_from(items, limit))
        })
    }
}
