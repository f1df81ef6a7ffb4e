//! CRL numbers, the latest CRL of each issuer and the listing of revoked
//! certificates a CRL is built from ([`CrlStore`]).

use super::{SqlStore, i64_of_u64, u64_of_i64};
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::CrlStore;
use crate::types::{CrlRecord, Revocation, RevocationReason, RevokedEntry, serial_from_db};

/// Streams `issuer`'s revoked certificates to `f` in id (revocation
/// listing) order, on the partial index `certificates_revoked`.
pub(super) fn for_each_revoked(
    c: &mut dyn Conn,
    issuer: &str,
    f: &mut dyn FnMut(RevokedEntry) -> Result<()>,
) -> Result<u64> {
    c.query_each(
        "SELECT serial, revocation_reason, revoked_at, invalidity_date, not_after
         FROM certificates WHERE issuer = $1 AND status = 'revoked' ORDER BY id",
        params![issuer],
        &mut |r| f(revoked_entry(r)?),
    )
}

fn revoked_entry(mut r: Row) -> Result<RevokedEntry> {
    Ok(RevokedEntry {
        serial: serial_from_db(r.blob()?)?,
        revocation: Revocation {
            reason: RevocationReason::from_db(r.i64()?)?,
            revoked_at: r.time()?,
            invalidity_date: r.opt_time()?,
        },
        not_after: r.time()?,
    })
}

impl<B: Backend> CrlStore for SqlStore<B> {
    fn next_crl_number(&self, issuer: &str) -> Result<u64> {
        self.backend.with_conn(|c| {
            let mut row = c
                .query_opt(
                    "INSERT INTO crl_numbers (issuer, last_number) VALUES ($1, 1)
                     ON CONFLICT (issuer) DO UPDATE
                     SET last_number = crl_numbers.last_number + 1
                     RETURNING last_number",
                    params![issuer],
                )
                .map_err(|e| {
                    if e.is_foreign_key() {
                        Error::NotFound(format!("CA {issuer}"))
                    } else {
                        e.into()
                    }
                })?
                .ok_or_else(|| Error::Corrupt("CRL number upsert returned nothing".into()))?;
            u64_of_i64(row.i64()?, "CRL number")
        })
    }

    fn advance_crl_number(&self, issuer: &str, at_least: u64) -> Result<()> {
        let number = i64_of_u64(at_least, "CRL number")?;
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO crl_numbers (issuer, last_number) VALUES ($1, $2)
                 ON CONFLICT (issuer) DO UPDATE SET last_number = excluded.last_number
                 WHERE crl_numbers.last_number < excluded.last_number",
                params![issuer, number],
            )
            .map_err(|e| {
                if e.is_foreign_key() {
                    Error::NotFound(format!("CA {issuer}"))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn store_crl(&self, crl: &CrlRecord) -> Result<bool> {
        let number = i64_of_u64(crl.crl_number, "CRL number")?;
        self.backend.with_conn(|c| {
            let n = c
                .execute(
                    "INSERT INTO crls (issuer, crl_number, der, this_update, next_update)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (issuer) DO UPDATE
                     SET crl_number = excluded.crl_number, der = excluded.der,
                         this_update = excluded.this_update, next_update = excluded.next_update
                     WHERE crls.crl_number < excluded.crl_number",
                    params![
                        &crl.issuer,
                        number,
                        &crl.der,
                        crl.this_update,
                        crl.next_update
                    ],
                )
                .map_err(|e| {
                    if e.is_foreign_key() {
                        Error::NotFound(format!("CA {}", crl.issuer))
                    } else {
                        e.into()
                    }
                })?;
            Ok(n == 1)
        })
    }

    fn latest_crl(&self, issuer: &str) -> Result<Option<CrlRecord>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT issuer, crl_number, der, this_update, next_update
                 FROM crls WHERE issuer = $1",
                params![issuer],
            )?
            .map(|mut r| {
                Ok(CrlRecord {
                    issuer: r.text()?,
                    crl_number: u64_of_i64(r.i64()?, "CRL number")?,
                    der: r.blob()?,
                    this_update: r.time()?,
                    next_update: r.time()?,
                })
            })
            .transpose()
        })
    }

    fn for_each_revoked_of_generation(
        &self,
        issuer: &str,
        generation: u32,
        f: &mut dyn FnMut(RevokedEntry) -> Result<()>,
    ) -> Result<u64> {
        self.backend.with_conn(|c| {
            c.query_each(
                "SELECT serial, revocation_reason, revoked_at, invalidity_date, not_after
                 FROM certificates
                 WHERE issuer = $1 AND status = 'revoked' AND ca_generation = $2 ORDER BY id",
                params![issuer, i64::from(generation)],
                &mut |r| f(revoked_entry(r)?),
            )
        })
    }

    fn for_each_revoked(
        &self,
        issuer: &str,
        f: &mut dyn FnMut(RevokedEntry) -> Result<()>,
    ) -> Result<u64> {
        self.backend.with_conn(|c| for_each_revoked(c, issuer, f))
    }
}
