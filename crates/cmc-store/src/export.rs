//! The store-neutral export: every table of a store, row by row, in one
//! format that SQLite and PostgreSQL both write ([`Backup::export`]) and
//! read ([`crate::import_into`]), so that a backup of either restores into
//! either.
//!
//! The format (all integers big-endian):
//!
//! ```text
//! "CMCSTORE-EXPORT\0"             16 octets
//! u32 format version               1
//! i64 schema version               the store's (schema_migrations)
//! str source                       "sqlite" or "postgresql"
//! then, per table, parents before the tables that refer to them:
//!   'T' str name, u32 n, n × str   the table and its column names
//!   'R' n × value                  one row, as many as it has
//!   'E' u64 rows                   end of the table, with its row count
//! 'Z' u64 tables, u64 rows         end of the export, with the totals
//!
//! str   = u32 length, UTF-8
//! value = 0x00 NULL | 0x01 i64 | 0x02 str | 0x03 u32 length, octets | 0x04 u8 (0 or 1)
//! ```
//!
//! `schema_migrations` is not exported: the importing store writes its own
//! as it creates the schema of the export's version. Booleans are 0/1
//! integers on SQLite and BOOLEAN on PostgreSQL: each side converts to the
//! column type it has.

use std::io::{Read, Write};

use crate::db::Value;
use crate::error::{Error, Result};

const MAGIC: &[u8; 16] = b"CMCSTORE-EXPORT\0";
const FORMAT_VERSION: u32 = 1;
/// The longest name or text value read back (a certificate's subject, a
/// JSON key reference): far more than any column holds.
const MAX_TEXT: u32 = 16 << 20;
/// The longest byte string read back (a CRL of millions of entries).
const MAX_BLOB: u32 = 1 << 30;
/// The most columns of one table.
const MAX_COLUMNS: u32 = 1000;

/// What an export held: its schema version, where it came from, and the
/// rows of each table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// The schema version of the exported store.
    pub schema_version: i64,
    /// `"sqlite"` or `"postgresql"`.
    pub source: String,
    /// Each table's name and row count, in export order.
    pub tables: Vec<(String, u64)>,
}

impl ExportSummary {
    /// All rows of all tables.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Where a long export or import has got to: called after each table and
/// every few thousand rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The table being read or written.
    pub table: &'a str,
    /// Its rows done so far.
    pub rows: u64,
    /// Whether the table is finished.
    pub done: bool,
}

/// Rows between two progress calls.
pub(crate) const PROGRESS_EVERY: u64 = 5_000;

/// A backup's view of a store: a consistent export of every table, and the
/// one change a restore makes to a CA (where its key now is).
pub trait Backup: Send + Sync {
    /// `"sqlite"` or `"postgresql"`.
    fn kind(&self) -> &'static str;

    /// Writes every table to `out` in the export format, read in one
    /// transaction (SQLite: one read transaction, a snapshot in WAL mode;
    /// PostgreSQL: REPEATABLE READ READ ONLY), so the export is one
    /// consistent state while the server keeps writing.
    ///
    /// # Errors
    /// Database failures; [`Error::Io`] if `out` fails.
    fn export(
        &self,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<ExportSummary>;

    /// Replaces the key reference of CA `name` (a restore moves the key
    /// files into another directory).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown CA; database failures.
    fn set_ca_key_ref(&self, name: &str, key_ref: &str) -> Result<()>;
}

fn io(e: std::io::Error) -> Error {
    Error::Io {
        path: "export".into(),
        source: e,
    }
}

/// Writes the export format.
pub(crate) struct Writer<'a> {
    out: &'a mut dyn Write,
}

impl<'a> Writer<'a> {
    pub(crate) fn start(out: &'a mut dyn Write, schema_version: i64, source: &str) -> Result<Self> {
        let mut w = Self { out };
        w.raw(MAGIC)?;
        w.raw(&FORMAT_VERSION.to_be_bytes())?;
        w.raw(&schema_version.to_be_bytes())?;
        w.str(source)?;
        Ok(w)
    }

    fn raw(&mut self, b: &[u8]) -> Result<()> {
        self.out.write_all(b).map_err(io)
    }

    fn len(&mut self, n: usize) -> Result<()> {
        let n = u32::try_from(n).map_err(|_| Error::Invalid("a value over 4 GiB".into()))?;
        self.raw(&n.to_be_bytes())
    }

    fn str(&mut self, s: &str) -> Result<()> {
        self.len(s.len())?;
        self.raw(s.as_bytes())
    }

    pub(crate) fn table(&mut self, name: &str, columns: &[String]) -> Result<()> {
        self.raw(b"T")?;
        self.str(name)?;
        self.len(columns.len())?;
        columns.iter().try_for_each(|c| self.str(c))
    }

    pub(crate) fn row(&mut self, values: &[Value]) -> Result<()> {
        self.raw(b"R")?;
        for v in values {
            match v {
                Value::Null => self.raw(&[0])?,
                Value::Int(i) => {
                    self.raw(&[1])?;
                    self.raw(&i.to_be_bytes())?;
                }
                Value::Text(s) => {
                    self.raw(&[2])?;
                    self.str(s)?;
                }
                Value::Blob(b) => {
                    self.raw(&[3])?;
                    self.len(b.len())?;
                    self.raw(b)?;
                }
                Value::Bool(b) => self.raw(&[4, u8::from(*b)])?,
            }
        }
        Ok(())
    }

    pub(crate) fn end_table(&mut self, rows: u64) -> Result<()> {
        self.raw(b"E")?;
        self.raw(&rows.to_be_bytes())
    }

    pub(crate) fn finish(mut self, tables: u64, rows: u64) -> Result<()> {
        self.raw(b"Z")?;
        self.raw(&tables.to_be_bytes())?;
        self.raw(&rows.to_be_bytes())?;
        self.out.flush().map_err(io)
    }
}

/// One item read back.
#[derive(Debug)]
pub(crate) enum Item {
    Table { name: String, columns: Vec<String> },
    Row(Vec<Value>),
    EndTable(u64),
    End { tables: u64, rows: u64 },
}

/// Reads the export format, checking it as it goes.
pub(crate) struct Reader<'a> {
    input: &'a mut dyn Read,
    pub(crate) schema_version: i64,
    pub(crate) source: String,
    columns: Option<usize>,
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("store export: {what}"))
}

impl<'a> Reader<'a> {
    pub(crate) fn start(input: &'a mut dyn Read) -> Result<Self> {
        let mut r = Self {
            input,
            schema_version: 0,
            source: String::new(),
            columns: None,
        };
        let magic: [u8; 16] = r.array()?;
        if &magic != MAGIC {
            return Err(corrupt("not a store export (wrong magic)"));
        }
        let format = u32::from_be_bytes(r.array()?);
        if format != FORMAT_VERSION {
            return Err(corrupt(&format!(
                "format version {format}, this build reads {FORMAT_VERSION}"
            )));
        }
        r.schema_version = i64::from_be_bytes(r.array()?);
        r.source = r.str()?;
        if !matches!(r.source.as_str(), "sqlite" | "postgresql") {
            return Err(corrupt("unknown source store"));
        }
        Ok(r)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.input
            .read_exact(&mut b)
            .map_err(|_| corrupt("truncated"))?;
        Ok(b)
    }

    fn bytes(&mut self, max: u32) -> Result<Vec<u8>> {
        let n = u32::from_be_bytes(self.array()?);
        if n > max {
            return Err(corrupt("a value longer than allowed"));
        }
        let mut b = Vec::new();
        let got = (&mut *self.input)
            .take(u64::from(n))
            .read_to_end(&mut b)
            .map_err(io)?;
        if got as u64 != u64::from(n) {
            return Err(corrupt("truncated"));
        }
        Ok(b)
    }

    fn str(&mut self) -> Result<String> {
        String::from_utf8(self.bytes(MAX_TEXT)?).map_err(|_| corrupt("text is not UTF-8"))
    }

    pub(crate) fn next(&mut self) -> Result<Item> {
        let [tag] = self.array()?;
        match (tag, self.columns) {
            (b'T', None) => {
                let name = self.str()?;
                let n = u32::from_be_bytes(self.array()?);
                if n == 0 || n > MAX_COLUMNS {
                    return Err(corrupt("a table with no or too many columns"));
                }
                let columns = (0..n).map(|_| self.str()).collect::<Result<Vec<_>>>()?;
                self.columns = Some(columns.len());
                Ok(Item::Table { name, columns })
            }
            (b'R', Some(n)) => {
                let mut values = Vec::with_capacity(n);
                for _ in 0..n {
                    let [kind] = self.array()?;
                    values.push(match kind {
                        0 => Value::Null,
                        1 => Value::Int(i64::from_be_bytes(self.array()?)),
                        2 => Value::Text(self.str()?),
                        3 => Value::Blob(self.bytes(MAX_BLOB)?),
                        4 => match self.array::<1>()? {
                            [0] => Value::Bool(false),
                            [1] => Value::Bool(true),
                            _ => return Err(corrupt("a boolean that is not 0 or 1")),
                        },
                        _ => return Err(corrupt("unknown value type")),
                    });
                }
                Ok(Item::Row(values))
            }
            (b'E', Some(_)) => {
                self.columns = None;
                Ok(Item::EndTable(u64::from_be_bytes(self.array()?)))
            }
            (b'Z', None) => {
                let tables = u64::from_be_bytes(self.array()?);
                let rows = u64::from_be_bytes(self.array()?);
                let mut rest = [0u8; 1];
                if self.input.read(&mut rest).map_err(io)? != 0 {
                    return Err(corrupt("data after the end"));
                }
                Ok(Item::End { tables, rows })
            }
            _ => Err(corrupt("items out of order")),
        }
    }
}

/// Reads a whole export and checks its structure and counts without
/// importing it: what `backup verify` runs.
///
/// # Errors
/// [`Error::Corrupt`] saying what is wrong.
pub fn check_export(input: &mut dyn Read) -> Result<ExportSummary> {
    let mut r = Reader::start(input)?;
    let mut summary = ExportSummary {
        schema_version: r.schema_version,
        source: r.source.clone(),
        tables: Vec::new(),
    };
    let mut current: Option<(String, u64)> = None;
    loop {
        match r.next()? {
            Item::Table { name, .. } => current = Some((name, 0)),
            Item::Row(_) => {
                if let Some((_, n)) = &mut current {
                    *n += 1;
                }
            }
            Item::EndTable(count) => {
                let (name, n) = current.take().ok_or_else(|| corrupt("end of no table"))?;
                if n != count {
                    return Err(corrupt(&format!(
                        "table {name}: {n} rows, {count} announced"
                    )));
                }
                summary.tables.push((name, n));
            }
            Item::End { tables, rows } => {
                if tables != summary.tables.len() as u64 || rows != summary.rows() {
                    return Err(corrupt("the totals do not match the tables"));
                }
                return Ok(summary);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = Writer::start(&mut out, 11, "sqlite").unwrap();
        w.table("t", &["a".into(), "b".into()]).unwrap();
        w.row(&[Value::Int(-5), Value::Text("x".into())]).unwrap();
        w.row(&[Value::Blob(vec![1, 2]), Value::Bool(true)])
            .unwrap();
        w.row(&[Value::Null, Value::Null]).unwrap();
        w.end_table(3).unwrap();
        w.finish(1, 3).unwrap();
        out
    }

    #[test]
    fn round_trip_and_counts() {
        let bytes = sample();
        let s = check_export(&mut bytes.as_slice()).unwrap();
        assert_eq!(s.schema_version, 11);
        assert_eq!(s.source, "sqlite");
        assert_eq!(s.tables, vec![("t".to_owned(), 3)]);
        let mut slice = bytes.as_slice();
        let mut r = Reader::start(&mut slice).unwrap();
        assert!(matches!(r.next().unwrap(), Item::Table { .. }));
        match r.next().unwrap() {
            Item::Row(v) => assert_eq!(v, vec![Value::Int(-5), Value::Text("x".into())]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_truncation_and_trailing_data_is_refused() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(check_export(&mut &bytes[..n]).is_err(), "cut at {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(check_export(&mut longer.as_slice()).is_err());
        let mut wrong_count = bytes;
        let at = wrong_count.len() - 17 - 8 + 7;
        wrong_count[at] ^= 1;
        assert!(check_export(&mut wrong_count.as_slice()).is_err());
    }
}
