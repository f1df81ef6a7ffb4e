//! A CA's issued certificates by position ([`CertCatalog`]): counts, a
//! sorted page at an offset, every serial. Only issued and revoked rows
//! count (a reservation or a failed issuance has no certificate).

use super::{SqlStore, u64_of_i64};
use crate::db::{Backend, Row, params};
use crate::error::{Error, Result};
use crate::traits::CertCatalog;
use crate::types::{
    CertCounts, CertOrder, CertRange, ListedCert, Revocation, RevocationReason, Serial, UnixTime,
    serial_from_db,
};

/// The ORDER BY of a range: fixed texts, chosen by the enum (nothing of
/// the caller's reaches the SQL). Serials are stored as magnitudes without
/// leading zeros, so (length, bytes) is numeric order.
const fn order_by(order: CertOrder, descending: bool) -> &'static str {
    match (order, descending) {
        (CertOrder::Stored, false) => "c.id ASC",
        (CertOrder::Stored, true) => "c.id DESC",
        (CertOrder::Issued, false) => "c.issued_at ASC, c.id ASC",
        (CertOrder::Issued, true) => "c.issued_at DESC, c.id DESC",
        (CertOrder::Serial, false) => "length(c.serial) ASC, c.serial ASC",
        (CertOrder::Serial, true) => "length(c.serial) DESC, c.serial DESC",
    }
}

fn listed_from_row(mut r: Row) -> Result<ListedCert> {
    let serial = serial_from_db(r.blob()?)?;
    let cert_der = r.blob()?;
    let issued_at = r
        .opt_time()?
        .ok_or_else(|| Error::Corrupt(format!("certificate {serial}: no issue time")))?;
    let reason = r.opt_i64()?;
    let revoked_at = r.opt_time()?;
    let invalidity_date = r.opt_time()?;
    let revocation = match (reason, revoked_at) {
        (Some(code), Some(revoked_at)) => Some(Revocation {
            reason: RevocationReason::from_db(code)?,
            revoked_at,
            invalidity_date,
        }),
        _ => None,
    };
    Ok(ListedCert {
        serial,
        cert_der,
        issued_at,
        revocation,
    })
}

impl<B: Backend> CertCatalog for SqlStore<B> {
    fn count_issued(&self, issuer: &str, at: UnixTime) -> Result<CertCounts> {
        self.backend.with_conn(|c| {
            let mut row = c
                .query_opt(
                    "SELECT COUNT(*),
                            COALESCE(SUM(CASE WHEN c.status = 'issued' AND c.not_before <= $2
                                               AND c.not_after > $2 THEN 1 ELSE 0 END), 0)
                     FROM certificates c
                     WHERE c.issuer = $1 AND c.status IN ('issued', 'revoked')",
                    params![issuer, at],
                )?
                .ok_or_else(|| Error::Corrupt("COUNT returned no row".into()))?;
            Ok(CertCounts {
                issued: u64_of_i64(row.i64()?, "count")?,
                valid: u64_of_i64(row.i64()?, "count")?,
            })
        })
    }

    fn issued_range(&self, range: &CertRange) -> Result<Vec<ListedCert>> {
        let (offset, limit) = range.checked()?;
        let sql = format!(
            "SELECT c.serial, c.cert_der, c.issued_at, c.revocation_reason, c.revoked_at,
                    c.invalidity_date
             FROM certificates c
             WHERE c.issuer = $1 AND c.status IN ('issued', 'revoked')
               AND ($2::bigint IS NULL
                    OR (c.status = 'issued' AND c.not_before <= $2 AND c.not_after > $2))
             ORDER BY {}
             LIMIT $3 OFFSET $4",
            order_by(range.order, range.descending)
        );
        self.backend.with_conn(|c| {
            c.query(&sql, params![&range.issuer, range.valid_at, limit, offset])?
                .into_iter()
                .map(listed_from_row)
                .collect()
        })
    }

    fn issued_serials(&self, issuer: &str, limit: u32) -> Result<Vec<Serial>> {
        self.backend.with_conn(|c| {
            c.query(
                "SELECT c.serial FROM certificates c
                 WHERE c.issuer = $1 AND c.status IN ('issued', 'revoked')
                 ORDER BY length(c.serial), c.serial
                 LIMIT $2",
                params![issuer, i64::from(limit)],
            )?
            .into_iter()
            .map(|mut r| serial_from_db(r.blob()?))
            .collect()
        })
    }
}
