//! The CAs this installation serves ([`CaStore`]): the CA records with
//! their chains, and the auto-approvals that bootstrap a CA's first
//! administrators.

use super::SqlStore;
use super::audit::insert_audit;
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::CaStore;
use crate::types::{
    AuditEvent, CaGeneration, CaRecord, GenerationState, UnixTime, check_ca_name, u32_from_db,
};

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

fn generation_chain(c: &mut dyn Conn, ca: &str, generation: i64) -> Result<Vec<Vec<u8>>> {
    c.query(
        "SELECT cert_der FROM ca_generation_chain
         WHERE ca = $1 AND generation = $2 ORDER BY position",
        params![ca, generation],
    )?
    .into_iter()
    .map(|mut r| r.blob())
    .collect()
}

fn insert_generation(c: &mut dyn Conn, g: &CaGeneration) -> Result<()> {
    let number = i64::from(g.generation);
    c.execute(
        "INSERT INTO ca_generations
             (ca, generation, state, cert_der, key_ref, created_at, activate_at, retired_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            &g.ca,
            number,
            g.state.as_str(),
            &g.cert_der,
            &g.key_ref,
            g.created_at,
            g.activate_at,
            g.retired_at
        ],
    )
    .map_err(|e| {
        if e.is_unique() {
            Error::AlreadyExists(format!(
                "a passive generation of CA {} (activate it first)",
                g.ca
            ))
        } else if e.is_foreign_key() {
            Error::NotFound(format!("CA {}", g.ca))
        } else {
            e.into()
        }
    })?;
    for (position, der) in (0_i64..).zip(&g.chain_der) {
        c.execute(
            "INSERT INTO ca_generation_chain (ca, generation, position, cert_der)
             VALUES ($1, $2, $3, $4)",
            params![&g.ca, number, position, der],
        )?;
    }
    Ok(())
}

fn active_generation_in(c: &mut dyn Conn, ca: &str) -> Result<i64> {
    c.query_opt("SELECT generation FROM cas WHERE name = $1", params![ca])?
        .ok_or_else(|| Error::NotFound(format!("CA {ca}")))?
        .i64()
}

impl<B: Backend> CaStore for SqlStore<B> {
    fn active_generation(&self, ca: &str) -> Result<u32> {
        self.backend
            .with_conn(|c| u32_from_db(active_generation_in(c, ca)?, "CA generation"))
    }

    fn list_generations(&self, ca: &str) -> Result<Vec<CaGeneration>> {
        self.backend.with_conn(|c| {
            let rows = c.query(
                "SELECT generation, state, cert_der, key_ref, created_at, activate_at, retired_at
                 FROM ca_generations WHERE ca = $1 ORDER BY generation",
                params![ca],
            )?;
            rows.into_iter()
                .map(|mut r| {
                    let number = r.i64()?;
                    Ok(CaGeneration {
                        ca: ca.to_owned(),
                        generation: u32_from_db(number, "CA generation")?,
                        state: GenerationState::from_db(&r.text()?)?,
                        cert_der: r.blob()?,
                        key_ref: r.text()?,
                        created_at: r.time()?,
                        activate_at: r.opt_time()?,
                        retired_at: r.opt_time()?,
                        chain_der: generation_chain(c, ca, number)?,
                    })
                })
                .collect()
        })
    }

    fn put_passive_generation(&self, g: &CaGeneration, event: &AuditEvent) -> Result<()> {
        if g.state != GenerationState::Passive || g.retired_at.is_some() {
            return Err(Error::Invalid(
                "a new CA generation is stored passive".into(),
            ));
        }
        self.backend.with_tx(|c| {
            let active = active_generation_in(c, &g.ca)?;
            if i64::from(g.generation) != active + 1 {
                return Err(Error::Invalid(format!(
                    "CA {} is at generation {active}: the next is {}, not {}",
                    g.ca,
                    active + 1,
                    g.generation
                )));
            }
            insert_generation(c, g)?;
            insert_audit(c, event).map(drop)
        })
    }

    fn activate_generation(
        &self,
        ca: &str,
        generation: u32,
        now: UnixTime,
        event: &AuditEvent,
    ) -> Result<()> {
        let number = i64::from(generation);
        self.backend.with_tx(|c| {
            let not_passive = || {
                Error::NotFound(format!(
                    "passive generation {generation} of CA {ca} (see `ca show`)"
                ))
            };
            let mut passive = c
                .query_opt(
                    "SELECT cert_der, key_ref FROM ca_generations
                     WHERE ca = $1 AND generation = $2 AND state = 'passive'",
                    params![ca, number],
                )?
                .ok_or_else(not_passive)?;
            let (cert_der, key_ref) = (passive.blob()?, passive.text()?);
            let new_chain = generation_chain(c, ca, number)?;
            let active = active_generation_in(c, ca)?;
            if active + 1 != number {
                return Err(Error::Corrupt(format!(
                    "CA {ca}: passive generation {number} after active generation {active}"
                )));
            }
            let mut current = c
                .query_opt(
                    "SELECT cert_der, key_ref, created_at FROM cas WHERE name = $1",
                    params![ca],
                )?
                .ok_or_else(|| Error::NotFound(format!("CA {ca}")))?;
            let (old_cert, old_key, created_at) =
                (current.blob()?, current.text()?, current.time()?);
            let old_chain = c
                .query(
                    "SELECT cert_der FROM ca_chain WHERE ca = $1 ORDER BY position",
                    params![ca],
                )?
                .into_iter()
                .map(|mut r| r.blob())
                .collect::<Result<Vec<_>>>()?;
            // Deleting the passive row decides between concurrent callers:
            // the later one deletes nothing.
            c.execute(
                "DELETE FROM ca_generation_chain WHERE ca = $1 AND generation = $2",
                params![ca, number],
            )?;
            let taken = c.execute(
                "DELETE FROM ca_generations WHERE ca = $1 AND generation = $2 AND state = 'passive'",
                params![ca, number],
            )?;
            if taken != 1 {
                return Err(not_passive());
            }
            insert_generation(
                c,
                &CaGeneration {
                    ca: ca.to_owned(),
                    generation: u32_from_db(active, "CA generation")?,
                    state: GenerationState::Retired,
                    cert_der: old_cert,
                    chain_der: old_chain,
                    key_ref: old_key,
                    created_at,
                    activate_at: None,
                    retired_at: Some(now),
                },
            )?;
            let changed = c.execute(
                "UPDATE cas SET cert_der = $2, key_ref = $3, generation = $4
                 WHERE name = $1 AND generation = $5",
                params![ca, &cert_der, &key_ref, number, active],
            )?;
            if changed != 1 {
                return Err(not_passive());
            }
            c.execute("DELETE FROM ca_chain WHERE ca = $1", params![ca])?;
            for (position, der) in (0_i64..).zip(&new_chain) {
                c.execute(
                    "INSERT INTO ca_chain (ca, position, cert_der) VALUES ($1, $2, $3)",
                    params![ca, position, der],
                )?;
            }
            insert_audit(c, event).map(drop)
        })
    }

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
