//! The embedded backend: one SQLite file in WAL mode.
//!
//! Bytes written: small pages, a 16 MiB checkpoint interval (see
//! [`PAGE_SIZE`] and [`crate::checkpoint::REQUEST_PAGES`]); the writer's
//! checkpoints run on a thread of their own ([`crate::checkpoint`]), not
//! inside a commit.
//!
//! Durability: `synchronous=FULL`. In WAL mode NORMAL only syncs at
//! checkpoints, so a power cut can lose the last commits; for a CA that could
//! lose an issued certificate (which then cannot be revoked or listed) or a
//! spent nonce. FULL syncs the WAL on every commit, which costs one fsync per
//! write; a CA writes a handful of rows per request, so that is the right
//! trade.
//!
//! Concurrency: reads (and single-statement writes off the hot path) use a
//! small pool of connections; in WAL mode a reader never waits for the
//! writer. Every transaction (the write units of requests, committed in
//! groups by `store/unit.rs`, and the other multi-statement writes) runs on
//! one dedicated writer connection, taken under a mutex: within this process
//! transactions queue on that mutex and never meet SQLite's busy handler.
//! They run in `BEGIN IMMEDIATE`, so against other processes on the same
//! file (`cmc-tool`) the write lock is taken up front and waits
//! (`busy_timeout`) instead of failing on a lock upgrade.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::checkpoint::Checkpointer;
use crate::db::{Backend, Conn, Dialect, Row, SqlError, SqlResult, Value, Violation};
use crate::error::{Error, Result};
use crate::pool::Pool;

/// The page size of a new database. Every commit writes each page it
/// changed whole, to the WAL and again at the checkpoint; one enrollment
/// changes a few hundred bytes in each of a dozen B-trees (certificates,
/// their SANs, serial and subject indexes, audit log, nonces,
/// transactions), so small pages cut the bytes written per enrollment:
/// measured with `scripts/bench-durable.sh` (BENCHMARKS.md, "Issue 15:
/// durable writes") 28 KB with 4096-byte pages, 19 KB with 2048, 16 KB
/// with 1024. A certificate row then spills into an overflow page, which
/// costs one more page read per certificate looked up.
const PAGE_SIZE: i64 = 1024;

/// Pages in the WAL before a checkpoint copies them into the database
/// (16 MiB at [`PAGE_SIZE`]): a page changed by many commits between two
/// checkpoints is copied once.
/// The writer's checkpoints run on a thread of their own
/// ([`crate::checkpoint`]); this is the automatic checkpoint of the other
/// connections (which write only outside the hot path).
const WAL_AUTOCHECKPOINT_PAGES: i64 = crate::checkpoint::REQUEST_PAGES as i64;

/// The WAL file is truncated to at most this many bytes after a checkpoint
/// (it is reused from the start, so this only bounds the disk it keeps).
const JOURNAL_SIZE_LIMIT: i64 = crate::checkpoint::INLINE_PAGES as i64 * PAGE_SIZE;

pub(crate) struct Sqlite {
    path: PathBuf,
    busy_timeout: Duration,
    pool: Pool<Connection>,
    /// The one connection transactions run on, opened on first use.
    writer: Mutex<Option<Connection>>,
    /// Runs the writer's checkpoints off the commit path.
    checkpointer: Checkpointer,
}

impl fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sqlite")
            .field("path", &self.path)
            .field("pool", &self.pool)
            .finish()
    }
}

impl Sqlite {
    /// Opens (creating if needed) the database file at `path`.
    pub(crate) fn open(
        path: &Path,
        pool_size: usize,
        pool_wait: Duration,
        busy_timeout: Duration,
    ) -> Result<Self> {
        create_file(path)?;
        let p = path.to_path_buf();
        let connect_reader = move || connect(&p, busy_timeout);
        let p = path.to_path_buf();
        let checkpointer = Checkpointer::start(move || connect(&p, busy_timeout))
            .map_err(|e| Error::Backend(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            busy_timeout,
            pool: Pool::new(pool_size, pool_wait, Box::new(connect_reader), |_| true),
            writer: Mutex::new(None),
            checkpointer,
        })
    }
}

/// Creates missing parent directories (0700) and the file (0600), so the
/// database is private from the first byte. Existing ones are left as they
/// are.
fn create_file(path: &Path) -> Result<()> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| Error::Io { path: p, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(io(dir))?;
        }
    }
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map(drop).map_err(io(path))
}

fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    // No CREATE flag: the file was created with the right mode; if it has
    // gone since, fail instead of starting an empty database.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(backend)?;
    conn.busy_timeout(busy_timeout).map_err(backend)?;
    // Room for every statement the store uses, so none is re-prepared.
    conn.set_prepared_statement_cache_capacity(64);
    // The query planner stability guarantee: a plan never depends on the
    // values bound to it. Without it SQLite marks a statement such as
    // `... WHERE client_id = ?1 ORDER BY position` for re-preparation on
    // every new binding (it might plan better for the value), and the
    // statement cache saves nothing: the re-parsing cost about 8 % of the
    // server's CPU per enrollment. Our statements are point lookups whose
    // plan is the index whatever the value.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(backend)?;
    // Takes effect only on a new, empty database (an existing one keeps
    // its page size): see PAGE_SIZE.
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(backend)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(backend)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Backend(format!(
            "SQLite refused WAL mode (journal_mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(backend)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .map_err(backend)?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .map_err(backend)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(backend)?;
    Ok(conn)
}

fn backend(e: rusqlite::Error) -> Error {
    Error::Backend(e.to_string())
}

fn sql_error(e: rusqlite::Error) -> SqlError {
    let violation = match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation => {
            match f.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Violation::Unique,
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Violation::ForeignKey,
                _ => Violation::None,
            }
        }
        _ => Violation::None,
    };
    SqlError {
        violation,
        message: e.to_string(),
    }
}

/// The SQL is written once, in PostgreSQL's style: `$1` becomes `?1`, and a
/// parameter's type cast (`$1::text`, needed where PostgreSQL cannot infer
/// the type, as in `$1::text IS NULL`) is dropped. Runs on every statement
/// executed, so it copies the text between placeholders whole (the marks
/// it looks for are ASCII, so every cut is at a character boundary).
fn rewrite(sql: &str) -> Cow<'_, str> {
    let b = sql.as_bytes();
    let Some(first) = sql.find('$') else {
        return Cow::Borrowed(sql);
    };
    let mut out = String::with_capacity(sql.len());
    let (mut copied, mut at) = (0, first);
    loop {
        let digits_end = b[at + 1..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |n| at + 1 + n);
        let mut next = at + 1;
        if digits_end > at + 1 {
            out.push_str(&sql[copied..at]);
            out.push('?');
            out.push_str(&sql[at + 1..digits_end]);
            let mut end = digits_end;
            if b.get(end) == Some(&b':') {
                // `::type` after a parameter; a single `:` does not occur.
                end += 1;
                if b.get(end) == Some(&b':') {
                    end += 1;
                }
                while b
                    .get(end)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    end += 1;
                }
            }
            copied = end;
            next = end;
        }
        match sql[next..].find('$') {
            Some(n) => at = next + n,
            None => break,
        }
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput::Borrowed;
        Ok(match self {
            Value::Null => Borrowed(ValueRef::Null),
            Value::Int(i) => Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => Borrowed(ValueRef::Blob(b)),
            Value::Bool(b) => Borrowed(ValueRef::Integer(i64::from(*b))),
        })
    }
}

fn read_row(row: &rusqlite::Row<'_>, columns: usize) -> rusqlite::Result<Row> {
    let mut values = Vec::with_capacity(columns);
    for i in 0..columns {
        values.push(match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Text(t) => Value::Text(
                std::str::from_utf8(t)
                    .map_err(|e| rusqlite::Error::Utf8Error(i, e))?
                    .to_owned(),
            ),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            ValueRef::Real(_) => {
                return Err(rusqlite::Error::InvalidColumnType(
                    i,
                    format!("column {i}"),
                    rusqlite::types::Type::Real,
                ));
            }
        });
    }
    Ok(Row::new(values))
}

fn exec(conn: &Connection, sql: &str, params: &[Value]) -> SqlResult<u64> {
    let mut stmt = conn.prepare_cached(&rewrite(sql)).map_err(sql_error)?;
    let n = stmt
        .execute(rusqlite::params_from_iter(params))
        .map_err(sql_error)?;
    Ok(n as u64)
}

fn query(conn: &Connection, sql: &str, params: &[Value]) -> SqlResult<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&rewrite(sql)).map_err(sql_error)?;
    let columns = stmt.column_count();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params))
        .map_err(sql_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql_error)? {
        out.push(read_row(row, columns).map_err(sql_error)?);
    }
    Ok(out)
}

fn query_each(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    f: &mut dyn FnMut(Row) -> Result<()>,
) -> Result<u64> {
    let mut stmt = conn.prepare_cached(&rewrite(sql)).map_err(sql_error)?;
    let columns = stmt.column_count();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params))
        .map_err(sql_error)?;
    let mut n = 0;
    while let Some(row) = rows.next().map_err(sql_error)? {
        f(read_row(row, columns).map_err(sql_error)?)?;
        n += 1;
    }
    Ok(n)
}

impl Conn for Connection {
    fn execute(&mut self, sql: &str, params: &[Value]) -> SqlResult<u64> {
        exec(self, sql, params)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> SqlResult<Vec<Row>> {
        query(self, sql, params)
    }

    fn batch(&mut self, sql: &str) -> SqlResult<()> {
        self.execute_batch(sql).map_err(sql_error)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(Row) -> Result<()>,
    ) -> Result<u64> {
        query_each(self, sql, params, f)
    }
}

/// Statements on a transaction run inside it; it rolls back when dropped
/// uncommitted.
impl Conn for rusqlite::Transaction<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> SqlResult<u64> {
        exec(self, sql, params)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> SqlResult<Vec<Row>> {
        query(self, sql, params)
    }

    fn batch(&mut self, sql: &str) -> SqlResult<()> {
        self.execute_batch(sql).map_err(sql_error)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(Row) -> Result<()>,
    ) -> Result<u64> {
        query_each(self, sql, params, f)
    }
}

impl Backend for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        f(&mut *conn)
    }

    fn with_tx<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        // A panic while the connection was held leaves at worst an open
        // transaction, which rusqlite rolls back when it drops the
        // `Transaction`; the connection itself stays usable.
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.is_none() {
            let mut conn = connect(&self.path, self.busy_timeout)?;
            self.checkpointer.hook(&mut conn).map_err(backend)?;
            *writer = Some(conn);
        }
        let Some(conn) = writer.as_mut() else {
            unreachable!("the writer connection was opened above");
        };
        let mut tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let out = f(&mut tx)?;
        tx.commit().map_err(backend)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten() {
        assert_eq!(
            rewrite("SELECT $1, $12 FROM t WHERE a = '$' AND ($2::text IS NULL OR b = $2)"),
            "SELECT ?1, ?12 FROM t WHERE a = '$' AND (?2 IS NULL OR b = ?2)"
        );
        for (pg, sqlite) in [
            ("", ""),
            ("SELECT 1", "SELECT 1"),
            ("$", "$"),
            ("$$1", "$?1"),
            ("$1", "?1"),
            ("x$1::bytea", "x?1"),
            ("$1::", "?1"),
            ("$1:x", "?1"),
            ("($3::bigint IS NULL OR at < $3)", "(?3 IS NULL OR at < ?3)"),
            ("'é$1å' || $2 || 'ø'", "'é?1å' || ?2 || 'ø'"),
            ("a = $10 AND b = $", "a = ?10 AND b = $"),
        ] {
            assert_eq!(rewrite(pg), sqlite, "{pg}");
        }
        assert!(matches!(rewrite("SELECT 1"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writers_checkpoints_run_on_their_own_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Sqlite::open(&path, 2, Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        db.with_tx(|c| Ok(c.batch("CREATE TABLE b (v BLOB NOT NULL)")?))
            .unwrap();
        // Two and a half times the request threshold through the WAL
        // (a 16 KiB blob is about 17 pages of 1 KiB), far from the inline
        // one.
        let blob = vec![7u8; 16 * 1024];
        let rounds = crate::checkpoint::REQUEST_PAGES * 5 / 2 / 16;
        for _ in 0..rounds {
            db.with_tx(|c| {
                c.execute(
                    "INSERT INTO b (v) VALUES ($1)",
                    &[Value::Blob(blob.clone())],
                )?;
                Ok(())
            })
            .unwrap();
        }
        // Only a checkpoint grows the database file.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&path).unwrap().len() < 3 * 1024 * 1024 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint reached the database file"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(db.checkpointer.runs() >= 1);
        // Dropping the store stops and joins the thread.
        drop(db);
    }

    #[test]
    fn cached_statements_are_not_re_prepared_for_new_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        create_file(&path).unwrap();
        let conn = connect(&path, Duration::from_secs(1)).unwrap();
        conn.execute_batch(
            "CREATE TABLE g (id TEXT NOT NULL, position INTEGER NOT NULL, v TEXT,
                             PRIMARY KEY (id, position));
             INSERT INTO g VALUES ('a', 0, 'x'), ('b', 0, 'y'), ('b', 1, 'z');",
        )
        .unwrap();
        let sql = "SELECT v FROM g WHERE id = $1 ORDER BY position";
        for (id, want) in [("a", 1), ("b", 2), ("a", 1), ("b", 2)] {
            let rows = query(&conn, sql, &[Value::Text(id.into())]).unwrap();
            assert_eq!(rows.len(), want);
        }
        let stmt = conn.prepare_cached(&rewrite(sql)).unwrap();
        assert_eq!(
            stmt.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "a new binding re-prepared the statement"
        );
    }
}
