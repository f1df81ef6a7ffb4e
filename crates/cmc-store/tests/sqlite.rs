//! The shared suite on SQLite (a fresh file per test), plus what only SQLite
//! has: file creation and modes, URL forms.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod suite;

use std::path::PathBuf;
use std::sync::Arc;

use cmc_store::{Error, Store};
use suite::{Fixture, backend_tests};

struct SqliteFixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteFixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // A missing parent directory is created on first use.
        let path = dir.path().join("data").join("ca.db");
        Self { _dir: dir, path }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

impl Fixture for SqliteFixture {
    fn try_open(&self) -> Result<Arc<dyn Store>, Error> {
        cmc_store::open(&self.url())
    }

    fn record_migration(&self, version: i64) {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, description) VALUES (?1, 'from the future')",
            [version],
        )
        .unwrap();
    }

    fn sql(&self, batch: &str) {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.execute_batch(batch).unwrap();
    }

    fn postgres(&self) -> bool {
        false
    }

    fn count(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn refuse_audit_detail(&self, detail: &str) {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log
             WHEN NEW.detail = '{detail}'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        ))
        .unwrap();
    }

    fn open_grouped(&self) -> Arc<dyn Store> {
        let options = cmc_store::OpenOptions {
            group_commit: Some(true),
            ..cmc_store::OpenOptions::default()
        };
        cmc_store::open_with(&self.url(), &options).unwrap()
    }

    fn hold_writes(&self) -> Box<dyn std::any::Any> {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        // Dropping the connection rolls the transaction back.
        Box::new(conn)
    }
}

backend_tests!(Some(SqliteFixture::new()));

#[cfg(unix)]
#[test]
fn file_and_directory_are_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let fx = SqliteFixture::new();
    let store = fx.open();
    suite::add_ca(&*store, "ca");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fx.path), 0o600);
    assert_eq!(mode(fx.path.parent().unwrap()), 0o700);
    let wal = fx.path.with_extension("db-wal");
    assert!(wal.exists(), "WAL mode");
    assert_eq!(mode(&wal), 0o600);
}

#[test]
fn url_forms() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.db");
    cmc_store::open(plain.to_str().unwrap()).unwrap();
    assert!(plain.exists());
    let short = dir.path().join("short.db");
    cmc_store::open(&format!("sqlite:{}", short.display())).unwrap();
    assert!(short.exists());
    assert!(matches!(
        cmc_store::open(":memory:"),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        cmc_store::open("mysql://root:hunter2@localhost/ca"),
        Err(Error::Invalid(m)) if !m.contains("hunter2")
    ));
}

#[test]
fn narrow_traits_from_one_store() {
    let fx = SqliteFixture::new();
    let store = fx.open();
    suite::add_ca(&*store, "ca");
    let certs: Arc<dyn cmc_store::CertStore> = store.clone();
    let crls: Arc<dyn cmc_store::CrlStore> = store;
    certs
        .reserve_serial(&suite::reservation("ca", &suite::serial(1)), suite::t(0))
        .unwrap();
    assert_eq!(crls.next_crl_number("ca").unwrap(), 1);
}
