//! The CAs this installation serves ([`CaStore`]): the CA records with
//! their chains, and the auto-approvals that bootstrap a CA's first
//! administrators.

use super::SqlStore;
use super::audit::insert_audit;
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::CaStore;
use crate::types::{AuditEvent, CaRecord, check_ca_name, u32_from_db};

fn ca_from_row(conn: &mut dyn Conn, mut r: Row) -> Result<CaRecord> {
    let name = r.text()?;
    let chain_der = conn
        .query(
            "SELECT cert_der FROM ca_chain WHERE ca = $1 ORDER BY position",
            params![&name],
        )?
        .into_iter()
        .map(|mut c| c.blob())
        .collect::<Result<_>>()?;
    Ok(CaRecord {
        cert_der: r.blob()?,
        key_ref: r.text()?,
        parent: r.opt_text()?,
        created_at: r.time()?,
        chain_der,
        name,
    })
}

/// Inserts a CA and its chain (inside the caller's transaction).
fn insert_ca(c: &mut dyn Conn, ca: &CaRecord) -> Result<()> {
    c.execute(
        "INSERT INTO cas (name, cert_der, key_ref, parent, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![
            &ca.name,
            &ca.cert_der,
            &ca.key_ref,
            ca.parent.as_ref(),
            ca.created_at
        ],
    )
    .map_err(|e| {
        if e.is_unique() {
            Error::AlreadyExists(format!("CA {}", ca.name))
        } else if e.is_foreign_key() {
            Error::NotFound(format!(
                "parent CA {}",
                ca.parent.as_deref().unwrap_or_default()
            ))
        } else {
            e.into()
        }
    })?;
    for (position, der) in (0_i64..).zip(&ca.chain_der) {
        c.execute(
            "INSERT INTO ca_chain (ca, position, cert_der) VALUES ($1, $2, $3)",
            params![&ca.name, position, der],
        )?;
    }
    Ok(())
}

impl<B: Backend> CaStore for SqlStore<B> {
    fn put_ca(&self, ca: &CaRecord) -> Result<()> {
        check_ca_name(&ca.name)?;
        self.backend.with_tx(|c| insert_ca(c, ca))
    }

    fn put_ca_with_audit(&self, ca: &CaRecord, event: &AuditEvent) -> Result<i64> {
        check_ca_name(&ca.name)?;
        self.backend.with_tx(|c| {
            insert_ca(c, ca)?;
            insert_audit(c, event)
        })
    }

    fn get_ca(&self, name: &str) -> Result<Option<CaRecord>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT name, cert_der, key_ref, parent, created_at FROM cas WHERE name = $1",
                params![name],
            )?
            .map(|r| ca_from_row(c, r))
            .transpose()
        })
    }

    fn list_cas(&self) -> Result<Vec<CaRecord>> {
        self.backend.with_conn(|c| {
            c.query(
                "SELECT name, cert_der, key_ref, parent, created_at FROM cas ORDER BY name",
                &[],
            )?
            .into_iter()
            .map(|r| ca_from_row(c, r))
            .collect()
        })
    }

    fn set_auto_approvals(&self, ca: &str, count: u32) -> Result<()> {
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO ca_auto_approvals (ca, granted, remaining) VALUES ($1, $2, $2)",
                params![ca, i64::from(count)],
            )
            .map_err(|e| {
                if e.is_unique() {
                    Error::AlreadyExists(format!("auto-approvals of CA {ca}"))
                } else if e.is_foreign_key() {
                    Error::NotFound(format!("CA {ca}"))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn take_auto_approval(&self, ca: &str) -> Result<bool> {
        self.backend.with_conn(|c| {
            let row = c.query_opt(
                "UPDATE ca_auto_approvals SET remaining = remaining - 1
                 WHERE ca = $1 AND remaining > 0 AND locked = FALSE
                 RETURNING remaining",
                params![ca],
            )?;
            Ok(row.is_some())
        })
    }

    fn return_auto_approval(&self, ca: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            c.execute(
                "UPDATE ca_auto_approvals SET remaining = remaining + 1
                 WHERE ca = $1 AND remaining < granted AND locked = FALSE",
                params![ca],
            )?;
            Ok(())
        })
    }

    fn lock_auto_approvals(&self, ca: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            let changed = c.execute(
                "UPDATE ca_auto_approvals SET locked = TRUE WHERE ca = $1",
                params![ca],
            )?;
            if changed == 0 {
                return Err(Error::NotFound(format!("auto-approvals of CA {ca}")));
            }
            Ok(())
        })
    }

    fn auto_approvals(&self, ca: &str) -> Result<Option<(u32, u32, bool)>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT granted, remaining, locked FROM ca_auto_approvals WHERE ca = $1",
                params![ca],
            )?
            .map(|mut r| {
                Ok((
                    u32_from_db(r.i64()?, "auto-approvals granted")?,
                    u32_from_db(r.i64()?, "auto-approvals remaining")?,
                    r.bool()?,
                ))
            })
            .transpose()
        })
    }
}
