#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod checkpoint;
mod db;
mod error;
mod export;
mod pg;
mod pool;
mod schema;
mod sqlite;
mod store;
mod traits;
mod types;
mod url;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use error::{Error, Result};
pub use export::{Backup, ExportSummary, Progress, check_export};
pub use schema::SCHEMA_VERSION;
pub use traits::{
    AuditLog, BulkLoad, CaStore, CertCatalog, CertStore, ClientStore, ConfirmationStore, CrlStore,
    EngineKeyStore, PendingStore, ReplayStore, Search, SecretStore, Store, UnitStore,
};
pub use types::{
    AuditEvent, AuditFilter, AuditKind, AuditRecord, AuditSearch, BulkCert, CaGeneration, CaRecord,
    CertCounts, CertFilter, CertOrder, CertRange, CertRecord, CertSearch, CertState, CertStatus,
    ClientRecord, ClientRole, ConfirmationRecord, ConfirmationState, CrlRecord, Cursor,
    Fingerprint, GenerationState, Grant, ImportedRevocation, IssuedCert, Keyset, ListedCert,
    MAX_NONCE_LEN, MAX_SEARCH_PAGE, MacCredential, NewClient, NewConfirmation, NewPending,
    NewReservation, NewSecret, Outcome, Page, PageRequest, PendingFilter, PendingRecord,
    PendingState, PendingStatus, Revocation, RevocationReason, RevokedEntry, Scope, SearchPage,
    SecretFailures, SecretPurpose, SecretRecord, Serial, SerialPrefix, StatusCount, TimeRange,
    TransactionOpen, TransactionRecord, TransactionState, UnixTime, Write, WriteStats, WriteUnit,
    check_ca_name, fingerprint,
};

/// How [`open_with`] sets up the connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Connections kept at most (opened on demand).
    pub pool_size: usize,
    /// How long a call waits for a free connection before failing.
    pub pool_wait: Duration,
    /// SQLite: how long a statement waits for another writer's lock.
    pub busy_timeout: Duration,
    /// PostgreSQL: the connect timeout unless the URL sets `connect_timeout`.
    pub connect_timeout: Duration,
    /// `Some(true)`: commit concurrent callers' write units together
    /// (leader/follower, one transaction per group); `Some(false)`: each
    /// unit in its own transaction; `None`: the backend's default, which
    /// is what measured faster (BENCHMARKS.md, "Issue 15: durable
    /// writes"): grouped on SQLite (one writer, one fsync per group: 7,600
    /// units/s against 340 at 8 threads), one transaction per unit on
    /// PostgreSQL (whose concurrent commits already share WAL flushes, and
    /// whose connections then write in parallel: 1,700-2,200 units/s
    /// against 970-1,070 grouped).
    pub group_commit: Option<bool>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            pool_size: 4,
            pool_wait: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            group_commit: None,
        }
    }
}

/// Opens the database at `url` with default options, creating the schema or
/// applying missing migrations.
///
/// * `postgres://…` or `postgresql://…`: PostgreSQL (libpq URL syntax; the
///   database must exist). Pass `?options=-csearch_path%3Dname` to use
///   another schema.
/// * `sqlite:///abs/path.db`, `sqlite://rel/path.db`, `sqlite:path.db` or a
///   plain path: SQLite. The file and missing parent directories are created
///   private (0600 / 0700).
///
/// # Errors
/// [`Error::Invalid`] for an unsupported URL, [`Error::SchemaTooNew`] if the
/// database was written by newer code, [`Error::Io`] if the SQLite file
/// cannot be created, [`Error::Backend`] if the database cannot be reached.
/// No error text contains the URL's password.
pub fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with(url, &OpenOptions::default())
}

/// [`open`] with explicit options.
///
/// # Errors
/// As [`open`].
pub fn open_with(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    match url::parse(url)? {
        url::Target::Sqlite(path) => open_sqlite(&path, options),
        url::Target::Postgres => open_postgres(url, options),
    }
}

/// Opens (creating if needed) an SQLite database file.
///
/// # Errors
/// As [`open`].
pub fn open_sqlite(path: &Path, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    let backend = sqlite::Sqlite::open(
        path,
        options.pool_size,
        options.pool_wait,
        options.busy_timeout,
    )?;
    let grouped = options.group_commit.unwrap_or(true);
    Ok(Arc::new(store::SqlStore::new(backend, grouped)?))
}

/// Connects to a PostgreSQL database given as a `postgres://` URL.
///
/// Do not call this, or the returned store, from an async task: the
/// client blocks (such calls are refused). Use
/// `tokio::task::spawn_blocking`.
///
/// # Errors
/// As [`open`].
pub fn open_postgres(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    let backend = pg::Pg::connect(
        url,
        options.pool_size,
        options.pool_wait,
        options.connect_timeout,
    )?;
    let grouped = options.group_commit.unwrap_or(false);
    Ok(Arc::new(store::SqlStore::new(backend, grouped)?))
}

/// Imports a store export ([`Backup::export`], from SQLite or PostgreSQL)
/// into the empty database at `url` (a new SQLite file, or a PostgreSQL
/// database or schema without tables), in one transaction: the schema of
/// the export's version, every row, then the migrations since. Nothing is
/// left in the database when it fails.
///
/// # Errors
/// [`Error::InvalidState`] if the database is not empty;
/// [`Error::SchemaTooNew`] for an export of a newer schema;
/// [`Error::Corrupt`] for an export that does not read or does not fit the
/// schema; as [`open`] for the database.
pub fn import_into(
    url: &str,
    options: &OpenOptions,
    input: &mut dyn std::io::Read,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ExportSummary> {
    match url::parse(url)? {
        url::Target::Sqlite(path) => {
            let backend = sqlite::Sqlite::open(
                &path,
                options.pool_size,
                options.pool_wait,
                options.busy_timeout,
            )?;
            store::backup::import(&backend, input, progress)
        }
        url::Target::Postgres => {
            let backend = pg::Pg::connect(
                url,
                options.pool_size,
                options.pool_wait,
                options.connect_timeout,
            )?;
            store::backup::import(&backend, input, progress)
        }
    }
}
