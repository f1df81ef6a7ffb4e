//! What the two backends have in common: parameter values, rows read back,
//! errors with their constraint kind, and the `Conn` / `Backend` traits that
//! the store logic in `store.rs` is written against once.
//!
//! SQL is written in PostgreSQL's `$1` style; the SQLite connection rewrites
//! the placeholders to `?1` before preparing. Everything else used (UPSERT,
//! RETURNING, partial indexes, TRUE/FALSE) means the same in both.

use std::fmt;

use crate::error::{Error, Result};
use crate::types::{Fingerprint, Serial, UnixTime};

/// A parameter or column value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Self::Blob(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Self::Blob(v.to_vec())
    }
}

impl From<&Vec<u8>> for Value {
    fn from(v: &Vec<u8>) -> Self {
        Self::Blob(v.clone())
    }
}

impl From<&Fingerprint> for Value {
    fn from(v: &Fingerprint) -> Self {
        Self::Blob(v.to_vec())
    }
}

impl From<UnixTime> for Value {
    fn from(v: UnixTime) -> Self {
        Self::Int(v.secs())
    }
}

impl From<&Serial> for Value {
    fn from(v: &Serial) -> Self {
        Self::Blob(v.as_bytes().to_vec())
    }
}

impl<T> From<Option<T>> for Value
where
    Value: From<T>,
{
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Value::from)
    }
}

/// `params![a, b]` is `&[Value::from(a), Value::from(b)]`.
macro_rules! params {
    ($($v:expr),* $(,)?) => {
        &[$($crate::db::Value::from($v)),*][..]
    };
}
pub(crate) use params;

/// One row read back, consumed column by column in SELECT order.
#[derive(Debug)]
pub(crate) struct Row {
    values: std::vec::IntoIter<Value>,
}

impl Row {
    pub(crate) fn new(values: Vec<Value>) -> Self {
        Self {
            values: values.into_iter(),
        }
    }

    /// The values not yet read, in SELECT order.
    pub(crate) fn into_values(self) -> Vec<Value> {
        self.values.collect()
    }

    fn next(&mut self) -> Result<Value> {
        self.values
            .next()
            .ok_or_else(|| Error::Corrupt("row has fewer columns than expected".into()))
    }

    pub(crate) fn opt_i64(&mut self) -> Result<Option<i64>> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(v)),
            other => Err(unexpected("integer", &other)),
        }
    }

    pub(crate) fn i64(&mut self) -> Result<i64> {
        self.opt_i64()?
            .ok_or_else(|| Error::Corrupt("NULL integer".into()))
    }

    pub(crate) fn time(&mut self) -> Result<UnixTime> {
        self.i64().map(UnixTime)
    }

    pub(crate) fn opt_time(&mut self) -> Result<Option<UnixTime>> {
        Ok(self.opt_i64()?.map(UnixTime))
    }

    pub(crate) fn opt_text(&mut self) -> Result<Option<String>> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v)),
            other => Err(unexpected("text", &other)),
        }
    }

    pub(crate) fn text(&mut self) -> Result<String> {
        self.opt_text()?
            .ok_or_else(|| Error::Corrupt("NULL text".into()))
    }

    pub(crate) fn opt_blob(&mut self) -> Result<Option<Vec<u8>>> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Blob(v) => Ok(Some(v)),
            other => Err(unexpected("bytes", &other)),
        }
    }

    pub(crate) fn blob(&mut self) -> Result<Vec<u8>> {
        self.opt_blob()?
            .ok_or_else(|| Error::Corrupt("NULL bytes".into()))
    }

    /// PostgreSQL BOOLEAN, or SQLite's 0/1.
    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.next()? {
            Value::Bool(b) => Ok(b),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            other => Err(unexpected("boolean", &other)),
        }
    }
}

fn unexpected(wanted: &str, got: &Value) -> Error {
    let kind = match got {
        Value::Null => "NULL",
        Value::Int(_) => "integer",
        Value::Text(_) => "text",
        Value::Blob(_) => "bytes",
        Value::Bool(_) => "boolean",
    };
    Error::Corrupt(format!("expected {wanted}, found {kind}"))
}

/// Which constraint, if any, a failed statement broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    Unique,
    ForeignKey,
    None,
}

/// An error from a statement, keeping the constraint kind so the store can
/// turn it into the error the caller acts on.
#[derive(Debug)]
pub(crate) struct SqlError {
    pub(crate) violation: Violation,
    pub(crate) message: String,
}

impl SqlError {
    pub(crate) fn is_unique(&self) -> bool {
        self.violation == Violation::Unique
    }

    pub(crate) fn is_foreign_key(&self) -> bool {
        self.violation == Violation::ForeignKey
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<SqlError> for Error {
    fn from(e: SqlError) -> Self {
        Error::Backend(e.message)
    }
}

pub(crate) type SqlResult<T> = std::result::Result<T, SqlError>;

/// A connection or a transaction on one.
pub(crate) trait Conn {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> SqlResult<u64>;

    /// Runs a query (or a statement with RETURNING); returns all rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> SqlResult<Vec<Row>>;

    /// Runs several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> SqlResult<()>;

    /// Runs a query and hands each row to `f` as the database produces it,
    /// without collecting them (a listing of millions of rows); returns how
    /// many rows were read. An error from `f` stops the query and is
    /// returned.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(Row) -> Result<()>,
    ) -> Result<u64>;

    /// At most one row.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> SqlResult<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(SqlError {
                violation: Violation::None,
                message: "query returned more than one row".into(),
            });
        }
        Ok(rows.pop())
    }
}

/// Which SQL dialect a backend speaks (for migrations only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A database: hands out connections and transactions.
pub(crate) trait Backend: Send + Sync + fmt::Debug + 'static {
    /// The dialect.
    fn dialect(&self) -> Dialect;

    /// Runs `f` on a connection in autocommit mode: each statement is its
    /// own transaction (enough for single-statement atomic operations).
    fn with_conn<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T>;

    /// Runs `f` inside one write transaction, committed if `f` returns Ok
    /// and rolled back otherwise.
    fn with_tx<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_reads_in_order() {
        let mut row = Row::new(vec![
            Value::Int(3),
            Value::Null,
            Value::Text("a".into()),
            Value::Blob(vec![1]),
            Value::Int(1),
            Value::Bool(false),
        ]);
        assert_eq!(row.i64().unwrap(), 3);
        assert_eq!(row.opt_text().unwrap(), None);
        assert_eq!(row.text().unwrap(), "a");
        assert_eq!(row.blob().unwrap(), vec![1]);
        assert!(row.bool().unwrap());
        assert!(!row.bool().unwrap());
        assert!(matches!(row.i64(), Err(Error::Corrupt(_))));
    }

    #[test]
    fn wrong_type_is_corrupt() {
        let mut row = Row::new(vec![Value::Text("x".into())]);
        assert!(matches!(row.i64(), Err(Error::Corrupt(_))));
    }
}
