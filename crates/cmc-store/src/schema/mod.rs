//! Versioned migrations, one list per dialect with the same version numbers.
//!
//! On open, the missing migrations are applied in order inside one
//! transaction, and recorded in `schema_migrations`. A database whose highest
//! version is above [`SCHEMA_VERSION`] was written by newer code and is
//! refused. Migrations are append-only: never edit one that has shipped.
//!
//! Times are BIGINT seconds since the epoch (see [`crate::UnixTime`]),
//! serials the unsigned magnitude ([`crate::Serial`]), fingerprints SHA-256.

use crate::db::{Conn, Dialect, params};
use crate::error::{Error, Result};

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = 17;

/// One migration: the same version in both dialects does the same.
pub(crate) struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

mod postgres;
mod sqlite;

use postgres::POSTGRES;
use sqlite::SQLITE;

/// Serialises migrations of several processes on one PostgreSQL database.
const PG_MIGRATION_LOCK: i64 = 0x636d_635f_7374_6f72; // "cmc_stor"

/// Applies the missing migrations; run inside one write transaction.
pub(crate) fn migrate(conn: &mut dyn Conn, dialect: Dialect) -> Result<()> {
    migrate_to(conn, dialect, SCHEMA_VERSION)
}

/// Applies the missing migrations up to `target` (a restore creates the
/// schema of its export's version first); run inside one write transaction.
pub(crate) fn migrate_to(conn: &mut dyn Conn, dialect: Dialect, target: i64) -> Result<()> {
    let migrations = match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => {
            conn.execute(
                "SELECT pg_advisory_xact_lock($1)",
                params![PG_MIGRATION_LOCK],
            )?;
            POSTGRES
        }
    };
    // applied_at is informational (for operators) and comes from the
    // database's clock; the code never reads it.
    conn.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version      BIGINT PRIMARY KEY,
             description  TEXT NOT NULL,
             applied_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
         )",
    )?;
    let found = current_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for m in migrations
        .iter()
        .filter(|m| m.version > found && m.version <= target)
    {
        conn.batch(m.sql)?;
        conn.execute(
            "INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
            params![m.version, m.description],
        )?;
    }
    Ok(())
}

pub(crate) fn current_version(conn: &mut dyn Conn) -> Result<i64> {
    let mut row = conn
        .query_opt(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .ok_or_else(|| Error::Corrupt("no schema version".into()))?;
    row.i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_have_the_same_versions() {
        let v = |l: &[Migration]| l.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(v(SQLITE), v(POSTGRES));
        assert_eq!(v(SQLITE).last(), Some(&SCHEMA_VERSION));
        assert!(v(SQLITE).windows(2).all(|w| w[0] < w[1]));
    }
}
