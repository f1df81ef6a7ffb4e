//! Many certificate rows in one transaction ([`BulkLoad`]): multi-row
//! INSERTs, a few hundred rows per prepared statement, the SANs after
//! them keyed by the ids the INSERT returns.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::SqlStore;
use super::cert::bump_revocation_epoch;
use crate::db::{Backend, Conn, SqlError, Value};
use crate::error::{Error, Result};
use crate::traits::BulkLoad;
use crate::types::{BulkCert, CertStatus, serial_from_db};

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

/// Inserts one statement's worth of certificates and their SANs.
fn insert_chunk(c: &mut dyn Conn, chunk: &[BulkCert]) -> Result<()> {
    let sql = multi_row_insert(
        "certificates",
        &CERT_COLUMNS,
        chunk.len(),
        " RETURNING id, serial",
    );
    let mut values = Vec::with_capacity(chunk.len() * CERT_COLUMNS.len());
    for cert in chunk {
        cert_values(cert, &mut values);
    }
    let issuer = chunk.first().map_or("", |c| c.issuer.as_str());
    let rows = c.query(&sql, &values).map_err(|e| refused(e, issuer))?;
    if chunk.iter().all(|c| c.cert.sans.is_empty()) {
        return Ok(());
    }
    // RETURNING gives no order guarantee in SQLite: match rows by serial.
    let mut ids = HashMap::with_capacity(rows.len());
    for mut row in rows {
        let id = row.i64()?;
        ids.insert(serial_from_db(row.blob()?)?, id);
    }
    let mut sans = Vec::new();
    for cert in chunk {
        let id = *ids
            .get(&cert.serial)
            .ok_or_else(|| Error::Corrupt(format!("no id returned for serial {}", cert.serial)))?;
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
    Ok(())
}

impl<B: Backend> BulkLoad for SqlStore<B> {
    fn bulk_insert_certs(&self, certs: &[BulkCert]) -> Result<u64> {
        if let Some(empty) = certs.iter().find(|c| c.cert.cert_der.is_empty()) {
            return Err(Error::Invalid(format!(
                "certificate {} of {} is empty",
                empty.serial, empty.issuer
            )));
        }
        if certs.is_empty() {
            return Ok(0);
        }
        self.backend.with_tx(|c| {
            for chunk in certs.chunks(ROWS_PER_STATEMENT) {
                insert_chunk(c, chunk)?;
            }
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
            Ok(certs.len() as u64)
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
