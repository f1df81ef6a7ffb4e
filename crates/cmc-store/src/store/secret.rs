//! Shared secrets for identityProofV2 and revocation ([`SecretStore`]):
//! only their derived keys are stored; each is consumed once, and locks
//! after too many failed proofs.

use super::SqlStore;
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::SecretStore;
use crate::types::{
    NewSecret, SecretFailures, SecretPurpose, SecretRecord, UnixTime, serial_from_db, u32_from_db,
};

macro_rules! secret_cols {
    () => {
        "ca, identification, derived_key, hash_alg, purpose, revoke_issuer, revoke_serial, \
         profile, created_at, expires_at, used_at, failed_attempts, locked, link_key, names, \
         mac_secret"
    };
}

fn secret_from_row(mut r: Row) -> Result<SecretRecord> {
    let ca = r.text()?;
    let identification = r.text()?;
    let derived_key = r.blob()?;
    let hash_alg = r.text()?;
    let purpose = r.text()?;
    let revoke_issuer = r.opt_text()?;
    let revoke_serial = r.opt_blob()?;
    let purpose = match (purpose.as_str(), revoke_issuer, revoke_serial) {
        ("enroll", _, _) => SecretPurpose::Enroll,
        ("revoke", Some(issuer), Some(serial)) => SecretPurpose::Revoke {
            issuer,
            serial: serial_from_db(serial)?,
        },
        (other, _, _) => return Err(Error::Corrupt(format!("secret purpose {other:?}"))),
    };
    Ok(SecretRecord {
        ca,
        identification,
        derived_key,
        hash_alg,
        purpose,
        profile: r.opt_text()?,
        created_at: r.time()?,
        expires_at: r.time()?,
        used_at: r.opt_time()?,
        failed_attempts: u32_from_db(r.i64()?, "failed attempts")?,
        locked: r.bool()?,
        link_key: r.opt_blob()?,
        names: r.opt_text()?,
        mac_secret: r.opt_blob()?,
    })
}

fn get_secret(conn: &mut dyn Conn, ca: &str, ident: &str) -> Result<Option<SecretRecord>> {
    conn.query_opt(
        concat!(
            "SELECT ",
            secret_cols!(),
            " FROM secrets WHERE ca = $1 AND identification = $2"
        ),
        params![ca, ident],
    )?
    .map(secret_from_row)
    .transpose()
}

/// Spends secret `ident` of CA `ca` at `now` (inside the caller's
/// transaction, if any): the guarded UPDATE decides, a read explains a
/// refusal.
pub(super) fn consume(
    c: &mut dyn Conn,
    ca: &str,
    identification: &str,
    now: UnixTime,
) -> Result<SecretRecord> {
    let row = c.query_opt(
        concat!(
            "UPDATE secrets SET used_at = $3
             WHERE ca = $1 AND identification = $2 AND used_at IS NULL
               AND locked = FALSE AND expires_at > $3
             RETURNING ",
            secret_cols!()
        ),
        params![ca, identification, now],
    )?;
    if let Some(row) = row {
        return secret_from_row(row);
    }
    match get_secret(c, ca, identification)? {
        None => Err(Error::NotFound(format!(
            "secret {identification:?} of CA {ca}"
        ))),
        Some(s) => Err(s
            .unusable_at(now)
            .unwrap_or_else(|| Error::InvalidState("secret changed while being consumed".into()))),
    }
}

impl<B: Backend> SecretStore for SqlStore<B> {
    fn add_secret(&self, s: &NewSecret, now: UnixTime) -> Result<()> {
        if s.identification.is_empty() || s.derived_key.is_empty() {
            return Err(Error::Invalid(
                "a secret needs an identification and a derived key".into(),
            ));
        }
        let (purpose, revoke_issuer, revoke_serial) = match &s.purpose {
            SecretPurpose::Enroll => ("enroll", None, None),
            SecretPurpose::Revoke { issuer, serial } => ("revoke", Some(issuer), Some(serial)),
        };
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO secrets (ca, identification, derived_key, hash_alg, purpose,
                                      revoke_issuer, revoke_serial, profile, created_at,
                                      expires_at, link_key, names, mac_secret)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                params![
                    &s.ca,
                    &s.identification,
                    &s.derived_key,
                    &s.hash_alg,
                    purpose,
                    revoke_issuer,
                    revoke_serial,
                    s.profile.as_ref(),
                    now,
                    s.expires_at,
                    s.link_key.as_ref(),
                    s.names.as_ref(),
                    s.mac_secret.as_ref()
                ],
            )
            .map_err(|e| {
                if e.is_unique() {
                    Error::AlreadyExists(format!("secret {:?} of CA {}", s.identification, s.ca))
                } else if e.is_foreign_key() {
                    Error::NotFound(format!("CA {}", s.ca))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn get_secret(&self, ca: &str, identification: &str) -> Result<Option<SecretRecord>> {
        self.backend
            .with_conn(|c| get_secret(c, ca, identification))
    }

    fn list_secrets(&self, ca: Option<&str>) -> Result<Vec<SecretRecord>> {
        self.backend.with_conn(|c| {
            c.query(
                concat!(
                    "SELECT ",
                    secret_cols!(),
                    " FROM secrets WHERE ($1::text IS NULL OR ca = $1) ORDER BY ca, identification"
                ),
                params![ca],
            )?
            .into_iter()
            .map(secret_from_row)
            .collect()
        })
    }

    fn consume_secret(
        &self,
        ca: &str,
        identification: &str,
        now: UnixTime,
    ) -> Result<SecretRecord> {
        self.backend
            .with_conn(|c| consume(c, ca, identification, now))
    }

    fn record_secret_failure(
        &self,
        ca: &str,
        identification: &str,
        lock_after: u32,
    ) -> Result<SecretFailures> {
        self.backend.with_conn(|c| {
            let mut row = c
                .query_opt(
                    "UPDATE secrets
                     SET failed_attempts = failed_attempts + 1,
                         locked = (locked OR failed_attempts + 1 >= $3)
                     WHERE ca = $1 AND identification = $2
                     RETURNING failed_attempts, locked",
                    params![ca, identification, i64::from(lock_after)],
                )?
                .ok_or_else(|| Error::NotFound(format!("secret {identification:?} of CA {ca}")))?;
            Ok(SecretFailures {
                failed_attempts: u32_from_db(row.i64()?, "failed attempts")?,
                locked: row.bool()?,
            })
        })
    }

    fn release_secret(&self, ca: &str, identification: &str, used_at: UnixTime) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE secrets SET used_at = NULL
                 WHERE ca = $1 AND identification = $2 AND used_at = $3",
                params![ca, identification, used_at],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(Error::NotFound(format!(
                    "secret {identification:?} of CA {ca} used at {used_at}"
                )))
            }
        })
    }

    fn unlock_secret(&self, ca: &str, identification: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE secrets SET locked = FALSE, failed_attempts = 0
                 WHERE ca = $1 AND identification = $2",
                params![ca, identification],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(Error::NotFound(format!(
                    "secret {identification:?} of CA {ca}"
                )))
            }
        })
    }

    fn revoke_secret(&self, ca: &str, identification: &str, now: UnixTime) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE secrets SET expires_at = $3
                 WHERE ca = $1 AND identification = $2 AND used_at IS NULL AND expires_at > $3",
                params![ca, identification, now],
            )?;
            if n == 1 {
                return Ok(());
            }
            // A lock does not stop a revocation (locked is not used or
            // expired), so only those two explain a refusal.
            match get_secret(c, ca, identification)? {
                None => Err(Error::NotFound(format!(
                    "secret {identification:?} of CA {ca}"
                ))),
                Some(s) if s.used_at.is_some() => Err(Error::SecretUsed),
                Some(_) => Err(Error::SecretExpired),
            }
        })
    }
}
