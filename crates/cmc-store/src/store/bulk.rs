//! Many certificate rows in one transaction ([`BulkLoad`]): multi-row
//! INSERTs, a few hundred rows per prepared statement, the SANs after
//! them keyed by the ids the INSERT returns.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::SqlStore;
use super::cert::{bump_revocation_epoch, get_cert};
use crate::db::{Backend, Conn, SqlError, Value, params};
use crate::error::{Error, Result};
use crate::traits::BulkLoad;
use crate::types::{
    BulkCert, CertRecord, CertState, CertStatus, ImportedRevocation, Revocation, RevocationReason,
    Serial, serial_from_db,
};

/// Rows per INSERT: 15 parameters each stays below both databases'
/// parameter limits (SQLite 32766, PostgreSQL 65535).
const ROWS_PER_STATEMENT: usize = 500;

/// SAN rows per INSERT (3 parameters each).
const SANS_PER_STATEMENT: usize = 2000;

/// `INSERT INTO table (columns) VALUES ($1, …), (…) suffix` for `rows` rows
/// of `columns.len()` parameters.
fn multi_row_insert(table: &str, columns: &[&str], rows: usize, suffix: &str) -> String {
    let width = columns.len();
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..width {
            if col > 0 {
                sql.push_str(", ");
            }
            // Writing to a String cannot fail.
            let _ = write!(sql, "${}", row * width + col + 1);
        }
        sql.push(')');
    }
    sql.push_str(suffix);
    sql
}

const CERT_COLUMNS: [&str; 15] = [
    "issuer",
    "serial",
    "status",
    "requester",
    "profile",
    "request_hash",
    "reserved_at",
    "cert_der",
    "subject",
    "not_before",
    "not_after",
    "issued_at",
    "revoked_at",
    "revocation_reason",
    "invalidity_date",
];

fn cert_values(c: &BulkCert, out: &mut Vec<Value>) {
    let status = if c.revocation.is_some() {
        CertStatus::Revoked
    } else {
        CertStatus::Issued
    };
    out.extend([
        Value::from(&c.issuer),
        Value::from(&c.serial),
        Value::from(status.as_str()),
        Value::from(&c.requester),
        Value::from(&c.profile),
        Value::from(&c.request_hash),
        Value::from(c.cert.issued_at),
        Value::from(&c.cert.cert_der),
        Value::from(&c.cert.subject),
        Value::from(c.cert.not_before),
        Value::from(c.cert.not_after),
        Value::from(c.cert.issued_at),
        Value::from(c.revocation.map(|r| r.revoked_at)),
        Value::from(c.revocation.map(|r| i64::from(r.reason.code()))),
        Value::from(c.revocation.and_then(|r| r.invalidity_date)),
    ]);
}

fn refused(e: SqlError, issuer: &str) -> Error {
    if e.is_unique() {
        Error::AlreadyExists(format!("a serial of the batch for {issuer}"))
    } else if e.is_foreign_key() {
        Error::NotFound(format!("CA {issuer}"))
    } else {
        e.into()
    }
}

/// Inserts one statement's worth of certificates and their SANs; with
/// `skip_existing`, a serial already stored for its issuer is left alone.
/// Returns the serials inserted.
fn insert_chunk(c: &mut dyn Conn, chunk: &[BulkCert], skip_existing: bool) -> Result<Vec<Serial>> {
    let suffix = if skip_existing {
        " ON CONFLICT (issuer, serial) DO NOTHING RETURNING id, issuer, serial"
    } else {
        " RETURNING id, issuer, serial"
    };
    let sql = multi_row_insert("certificates", &CERT_COLUMNS, chunk.len(), suffix);
    let mut values = Vec::with_capacity(chunk.len() * CERT_COLUMNS.len());
    for cert in chunk {
        cert_values(cert, &mut values);
    }
    let issuer = chunk.first().map_or("", |c| c.issuer.as_str());
    let rows = c.query(&sql, &values).map_err(|e| refused(e, issuer))?;
    // RETURNING gives no order guarantee in SQLite: match rows by issuer
    // and serial (a batch may hold one serial under two CAs).
    let mut returned: HashMap<String, HashMap<Serial, i64>> = HashMap::new();
    for mut row in rows {
        let id = row.i64()?;
        let issuer = row.text()?;
        let serial = serial_from_db(row.blob()?)?;
        returned.entry(issuer).or_default().insert(serial, id);
    }
    // Each certificate's new id; None for a skipped row (already stored).
    let ids: Vec<Option<i64>> = chunk
        .iter()
        .map(|c| {
            returned
                .get(c.issuer.as_str())
                .and_then(|by_serial| by_serial.get(&c.serial))
                .copied()
        })
        .collect();
    let inserted: Vec<Serial> = chunk
        .iter()
        .zip(&ids)
        .filter(|(_, id)| id.is_some())
        .map(|(c, _)| c.serial.clone())
        .collect();
    if !skip_existing && inserted.len() != chunk.len() {
        return Err(Error::Corrupt(format!(
            "{} rows inserted, {} returned",
            chunk.len(),
            inserted.len()
        )));
    }
    let mut sans = Vec::new();
    for (cert, id) in chunk.iter().zip(ids) {
        // A skipped row (already stored) keeps its SANs.
        let Some(id) = id else {
            continue;
        };
        for (position, san) in (0_i64..).zip(&cert.cert.sans) {
            sans.push([Value::from(id), Value::from(position), Value::from(san)]);
        }
    }
    for part in sans.chunks(SANS_PER_STATEMENT) {
        let sql = multi_row_insert(
            "certificate_sans",
            &["cert_id", "position", "san"],
            part.len(),
            "",
        );
        let values: Vec<Value> = part.iter().flatten().cloned().collect();
        c.execute(&sql, &values)?;
    }
    Ok(inserted)
}

/// Whether any of `certs` is empty (refused before anything is written).
fn check_not_empty(certs: &[BulkCert]) -> Result<()> {
    match certs.iter().find(|c| c.cert.cert_der.is_empty()) {
        Some(empty) => Err(Error::Invalid(format!(
            "certificate {} of {} is empty",
            empty.serial, empty.issuer
        ))),
        None => Ok(()),
    }
}

/// Moves the revocation epoch of every issuer of which `certs` holds a
/// revoked row, once each.
fn bump_epochs(c: &mut dyn Conn, certs: &[&BulkCert]) -> Result<()> {
    let mut revoked_issuers: Vec<&str> = certs
        .iter()
        .filter(|c| c.revocation.is_some())
        .map(|c| c.issuer.as_str())
        .collect();
    revoked_issuers.sort_unstable();
    revoked_issuers.dedup();
    for issuer in revoked_issuers {
        bump_revocation_epoch(c, issuer)?;
    }
    Ok(())
}

impl<B: Backend> BulkLoad for SqlStore<B> {
    fn bulk_insert_certs(&self, certs: &[BulkCert]) -> Result<u64> {
        check_not_empty(certs)?;
        if certs.is_empty() {
            return Ok(0);
        }
        self.backend.with_tx(|c| {
            for chunk in certs.chunks(ROWS_PER_STATEMENT) {
                insert_chunk(c, chunk, false)?;
            }
            bump_epochs(c, &certs.iter().collect::<Vec<_>>())?;
            Ok(certs.len() as u64)
        })
    }

    fn import_certs(&self, certs: &[BulkCert]) -> Result<Vec<Serial>> {
        check_not_empty(certs)?;
        if certs.is_empty() {
            return Ok(Vec::new());
        }
        self.backend.with_tx(|c| {
            let mut inserted = Vec::with_capacity(certs.len());
            for chunk in certs.chunks(ROWS_PER_STATEMENT) {
                let serials = insert_chunk(c, chunk, true)?;
                // Only the rows inserted move the epoch.
                let rows: Vec<&BulkCert> = chunk
                    .iter()
                    .filter(|c| serials.contains(&c.serial))
                    .collect();
                bump_epochs(c, &rows)?;
                inserted.extend(serials);
            }
            Ok(inserted)
        })
    }

    fn import_revocations(
        &self,
        issuer: &str,
        entries: &[(Serial, Revocation)],
    ) -> Result<Vec<ImportedRevocation>> {
        if entries
            .iter()
            .any(|(_, r)| r.reason == RevocationReason::RemoveFromCrl)
        {
            return Err(Error::Invalid(
                "removeFromCRL is not a revocation reason (a delta CRL's entry)".into(),
            ));
        }
        self.backend.with_tx(|c| {
            let mut outcomes = Vec::with_capacity(entries.len());
            for (serial, r) in entries {
                let n = c.execute(
                    "UPDATE certificates
                     SET status = 'revoked', revoked_at = $3, revocation_reason = $4,
                         invalidity_date = $5
                     WHERE issuer = $1 AND serial = $2 AND status = 'issued'",
                    params![
                        issuer,
                        serial,
                        r.revoked_at,
                        i64::from(r.reason.code()),
                        r.invalidity_date
                    ],
                )?;
                outcomes.push(if n == 1 {
                    ImportedRevocation::Revoked
                } else {
                    match get_cert(c, issuer, serial)? {
                        Some(CertRecord {
                            state: CertState::Revoked { revocation, .. },
                            ..
                        }) => ImportedRevocation::AlreadyRevoked(revocation),
                        _ => ImportedRevocation::NotIssued,
                    }
                });
            }
            if outcomes.contains(&ImportedRevocation::Revoked) {
                bump_revocation_epoch(c, issuer)?;
            }
            Ok(outcomes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_in_order() {
        assert_eq!(
            multi_row_insert("t", &["a", "b"], 2, " RETURNING a"),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) RETURNING a"
        );
    }
}
