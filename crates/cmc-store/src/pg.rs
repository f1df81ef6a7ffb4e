//! The scale-out backend: PostgreSQL through the synchronous `postgres`
//! client, several `cmc-server` nodes sharing one database.
//!
//! The sync client runs a small tokio runtime per connection and blocks on
//! it, so it must not be called from a thread that drives a tokio
//! runtime's async tasks (it would panic there). Calls from such a thread
//! are refused with [`Error::Backend`]; calls from `spawn_blocking` (as the
//! server makes them) and from plain threads are served.
//!
//! Durability: PostgreSQL's default (`synchronous_commit = on`) makes a commit
//! durable before it returns. A session that finds it `off` turns it back on
//! for itself; stronger settings (`remote_write`, `remote_apply`) are kept.
//!
//! TLS is not built in (no TLS stack is linked): connect over loopback or a
//! Unix socket, or through a local TLS tunnel. A URL that asks for
//! `sslmode=require` fails to connect rather than silently going plain.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement};

use crate::db::{Backend, Conn, Dialect, Row, SqlError, SqlResult, Value, Violation};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::url::Redactor;

pub(crate) struct Pg {
    pool: Pool<PgConn>,
    redactor: Redactor,
    display: String,
}

impl fmt::Debug for Pg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pg")
            .field("url", &self.display)
            .field("pool", &self.pool)
            .finish()
    }
}

/// A connection with its prepared statements.
struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// Set when a call failed because the connection is lost (see
    /// [`connection_lost`]): such a connection never goes back to the
    /// pool, even before the client has noticed that it is closed.
    broken: bool,
}

impl Pg {
    /// Parses `url` and opens the pool (and one connection, to fail early).
    pub(crate) fn connect(
        url: &str,
        pool_size: usize,
        pool_wait: Duration,
        connect_timeout: Duration,
    ) -> Result<Self> {
        let redactor = Redactor::for_url(url);
        refuse_inside_runtime()?;
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| Error::Invalid(redactor.scrub(&chain(&e))))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(connect_timeout);
        }
        let r = redactor.clone();
        let connect = move || {
            let mut client = config
                .connect(NoTls)
                .map_err(|e| Error::Backend(r.scrub(&chain(&e))))?;
            ensure_durable(&mut client).map_err(|e| Error::Backend(r.scrub(&chain(&e))))?;
            Ok(PgConn {
                client,
                statements: HashMap::new(),
                broken: false,
            })
        };
        let pool = Pool::new(pool_size, pool_wait, Box::new(connect), |c| {
            !c.broken && !c.client.is_closed()
        });
        let pg = Self {
            pool,
            display: redactor.redacted_url(url),
            redactor,
        };
        drop(pg.pool.get()?);
        Ok(pg)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Closing a sync client blocks on its runtime, which panics inside
        // an async runtime: hand the connections to a plain thread there.
        let idle = self.pool.take_idle();
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::spawn(move || drop(idle));
        }
    }
}

fn ensure_durable(client: &mut Client) -> std::result::Result<(), postgres::Error> {
    let row = client.query_one("SHOW synchronous_commit", &[])?;
    let level: String = row.try_get(0)?;
    if level == "off" {
        client.batch_execute("SET synchronous_commit TO on")?;
    }
    Ok(())
}

fn refuse_inside_runtime() -> Result<()> {
    if !may_block() {
        return Err(Error::Backend(
            "the PostgreSQL store blocks: call it from spawn_blocking, not from an async task"
                .into(),
        ));
    }
    Ok(())
}

/// Whether this thread may block on the client's own runtime: any thread
/// but one that is driving a tokio runtime's async tasks. A thread of
/// tokio's blocking pool (`spawn_blocking`) sees the runtime's handle too
/// and may block, so the handle's presence does not decide; tokio says
/// only by panicking, so the probe (a `block_on` of a ready future on that
/// handle, which works where blocking is allowed) runs under
/// `catch_unwind`. A refused probe prints tokio's panic message once per
/// refused call.
fn may_block() -> bool {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return true;
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.block_on(async {}))).is_ok()
}

/// An error and its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Whether `e` means the connection is unusable: no SQLSTATE at all (the
/// socket was reset or closed), a connection exception (class 08) or an
/// operator intervention such as `pg_terminate_backend` or a server
/// shutdown (57P01, 57P02, 57P03), which the server reports just before it
/// closes the socket.
fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.code().is_none_or(|c| {
            let c = c.code();
            c.starts_with("08") || c.starts_with("57P")
        })
}

fn sql_error(e: &postgres::Error, redactor: &Redactor) -> SqlError {
    let violation = match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => Violation::Unique,
        Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => Violation::ForeignKey,
        _ => Violation::None,
    };
    SqlError {
        violation,
        message: redactor.scrub(&chain(e)),
    }
}

// Typed NULLs: a parameter's type comes from the prepared statement.
static NULL_INT: Option<i64> = None;
static NULL_TEXT: Option<String> = None;
static NULL_BLOB: Option<Vec<u8>> = None;
static NULL_BOOL: Option<bool> = None;

fn bind<'a>(stmt: &Statement, params: &'a [Value]) -> SqlResult<Vec<&'a (dyn ToSql + Sync)>> {
    let types = stmt.params();
    if types.len() != params.len() {
        return Err(SqlError {
            violation: Violation::None,
            message: format!(
                "statement takes {} parameters, {} given",
                types.len(),
                params.len()
            ),
        });
    }
    types
        .iter()
        .zip(params)
        .map(|(ty, v)| -> SqlResult<&'a (dyn ToSql + Sync)> {
            Ok(match v {
                Value::Int(i) => i,
                Value::Text(s) => s,
                Value::Blob(b) => b,
                Value::Bool(b) => b,
                Value::Null => match *ty {
                    Type::INT8 => &NULL_INT,
                    Type::TEXT | Type::VARCHAR => &NULL_TEXT,
                    Type::BYTEA => &NULL_BLOB,
                    Type::BOOL => &NULL_BOOL,
                    _ => {
                        return Err(SqlError {
                            violation: Violation::None,
                            message: format!("no NULL for parameter type {ty}"),
                        });
                    }
                },
            })
        })
        .collect()
}

fn read_row(row: &postgres::Row) -> std::result::Result<Row, postgres::Error> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let v = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
            // TEXT, VARCHAR, NAME and anything else text-like; a type that
            // is not fails in try_get.
            _ => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row::new(values))
}

/// A client or a transaction on one, with the connection's statement cache.
struct Session<'a, C: postgres::GenericClient> {
    client: &'a mut C,
    statements: &'a mut HashMap<String, Statement>,
    broken: &'a mut bool,
    redactor: &'a Redactor,
}

impl<C: postgres::GenericClient> Session<'_, C> {
    fn prepare(&mut self, sql: &str) -> SqlResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(|e| self.fail(&e))?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn fail(&mut self, e: &postgres::Error) -> SqlError {
        // A schema change by another process can invalidate cached
        // statements ("cached plan must not change result type", a dropped
        // table or column): prepare afresh next time. Constraint violations,
        // the common errors, keep the cache.
        let stale = [
            SqlState::FEATURE_NOT_SUPPORTED,
            SqlState::INVALID_SQL_STATEMENT_NAME,
            SqlState::UNDEFINED_TABLE,
            SqlState::UNDEFINED_COLUMN,
        ];
        if e.code().is_some_and(|c| stale.contains(c)) {
            self.statements.clear();
        }
        *self.broken |= connection_lost(e);
        sql_error(e, self.redactor)
    }
}

impl<C: postgres::GenericClient> Conn for Session<'_, C> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> SqlResult<u64> {
        let stmt = self.prepare(sql)?;
        let bound = bind(&stmt, params)?;
        self.client
            .execute(&stmt, &bound)
            .map_err(|e| self.fail(&e))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> SqlResult<Vec<Row>> {
        let stmt = self.prepare(sql)?;
        let bound = bind(&stmt, params)?;
        let rows = self
            .client
            .query(&stmt, &bound)
            .map_err(|e| self.fail(&e))?;
        rows.iter()
            .map(|r| read_row(r).map_err(|e| sql_error(&e, self.redactor)))
            .collect()
    }

    fn batch(&mut self, sql: &str) -> SqlResult<()> {
        self.client.batch_execute(sql).map_err(|e| self.fail(&e))
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(Row) -> Result<()>,
    ) -> Result<u64> {
        use postgres::fallible_iterator::FallibleIterator as _;
        let stmt = self.prepare(sql)?;
        let bound = bind(&stmt, params)?;
        // query_raw reads the rows off the socket as they are iterated: the
        // result set is never held whole in memory.
        let started = self.client.query_raw(&stmt, bound);
        let mut rows = match started {
            Ok(rows) => rows,
            Err(e) => {
                *self.broken |= connection_lost(&e);
                return Err(sql_error(&e, self.redactor).into());
            }
        };
        let mut n = 0;
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => {
                    *self.broken |= connection_lost(&e);
                    return Err(sql_error(&e, self.redactor).into());
                }
            };
            let row = read_row(&row).map_err(|e| sql_error(&e, self.redactor))?;
            if let Err(e) = f(row) {
                // The rest of the result set is still on the wire; a
                // connection left mid-result is not reused.
                *self.broken = true;
                return Err(e);
            }
            n += 1;
        }
        Ok(n)
    }
}

impl Backend for Pg {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        refuse_inside_runtime()?;
        let mut conn = self.pool.get()?;
        let PgConn {
            client,
            statements,
            broken,
        } = &mut *conn;
        f(&mut Session {
            client,
            statements,
            broken,
            redactor: &self.redactor,
        })
    }

    fn with_tx<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        refuse_inside_runtime()?;
        let mut conn = self.pool.get()?;
        let PgConn {
            client,
            statements,
            broken,
        } = &mut *conn;
        let r = &self.redactor;
        let mut tx = match client.transaction() {
            Ok(tx) => tx,
            Err(e) => {
                *broken |= connection_lost(&e);
                return Err(sql_error(&e, r).into());
            }
        };
        // On error the transaction is dropped uncommitted: rolled back.
        let out = f(&mut Session {
            client: &mut tx,
            statements,
            broken,
            redactor: r,
        })?;
        tx.commit().map_err(|e| {
            *broken |= connection_lost(&e);
            Error::from(sql_error(&e, r))
        })?;
        Ok(out)
    }
}
