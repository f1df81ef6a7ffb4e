//! [`Backup`]: every table exported in one consistent read, and the
//! import of such an export into an empty database
//! ([`crate::import_into`]).
//!
//! The tables and columns are read from the database's own catalog
//! (`sqlite_schema` and `pragma_table_info`; `information_schema` and
//! `pg_constraint`), not listed here, so a table a later migration adds is
//! exported without a change to this file. Tables are written parents
//! first (by their foreign keys), and the rows of a table that refers to
//! itself (a sub-CA's parent) parents first, so an import inserts in the
//! order it reads.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

use super::SqlStore;
use crate::db::{Backend, Conn, Dialect, Value, params};
use crate::error::{Error, Result};
use crate::export::{Backup, ExportSummary, Item, PROGRESS_EVERY, Progress, Reader, Writer};
use crate::schema::{self, SCHEMA_VERSION};

/// What a column holds, in the store-neutral sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Blob,
    Bool,
}

#[derive(Clone, Debug)]
struct Column {
    name: String,
    kind: Kind,
    /// PostgreSQL `GENERATED ... AS IDENTITY`.
    identity: bool,
}

#[derive(Clone, Debug)]
struct Table {
    name: String,
    columns: Vec<Column>,
    /// The other tables its foreign keys refer to.
    parents: BTreeSet<String>,
    /// A foreign key to itself: (column, referenced column).
    self_ref: Option<(String, String)>,
}

/// Tables that are not data: the migration record each store writes for
/// itself, and SQLite's own.
fn skipped(name: &str) -> bool {
    name == "schema_migrations" || name.starts_with("sqlite_")
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn kind_of(table: &str, column: &str, declared: &str) -> Result<Kind> {
    let t = declared.to_ascii_lowercase();
    Ok(if t == "boolean" {
        Kind::Bool
    } else if t.contains("int") {
        Kind::Int
    } else if t.contains("text") || t.contains("char") {
        Kind::Text
    } else if t == "blob" || t == "bytea" {
        Kind::Blob
    } else {
        return Err(Error::Corrupt(format!(
            "{table}.{column}: column type {declared:?} is not exported"
        )));
    })
}

/// The data tables, parents first.
fn tables(conn: &mut dyn Conn, dialect: Dialect) -> Result<Vec<Table>> {
    let names: Vec<String> = match dialect {
        Dialect::Sqlite => conn.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
            &[],
        )?,
        Dialect::Postgres => conn.query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
             ORDER BY 1",
            &[],
        )?,
    }
    .into_iter()
    .map(|mut r| r.text())
    .collect::<Result<_>>()?;
    let mut found = Vec::new();
    for name in names.into_iter().filter(|n| !skipped(n)) {
        let (columns, fks) = match dialect {
            Dialect::Sqlite => (
                conn.query(
                    "SELECT name, type, 'NO' FROM pragma_table_info($1) ORDER BY cid",
                    params![&name],
                )?,
                conn.query(
                    "SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list($1)",
                    params![&name],
                )?,
            ),
            Dialect::Postgres => (
                conn.query(
                    "SELECT column_name::text, data_type::text, is_identity::text
                     FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name::text = $1::text
                     ORDER BY ordinal_position",
                    params![&name],
                )?,
                conn.query(
                    "SELECT p.relname::text, a.attname::text, pa.attname::text
                     FROM pg_constraint c
                     JOIN pg_class t ON t.oid = c.conrelid
                     JOIN pg_namespace n ON n.oid = t.relnamespace
                     JOIN pg_class p ON p.oid = c.confrelid
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                     JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
                     WHERE c.contype = 'f' AND n.nspname = current_schema()
                       AND t.relname::text = $1::text",
                    params![&name],
                )?,
            ),
        };
        let columns = columns
            .into_iter()
            .map(|mut r| {
                let column = r.text()?;
                let declared = r.text()?;
                let identity = r.text()? == "YES";
                Ok(Column {
                    kind: kind_of(&name, &column, &declared)?,
                    name: column,
                    identity,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut parents = BTreeSet::new();
        let mut self_ref = None;
        for mut fk in fks {
            let (parent, from, to) = (fk.text()?, fk.text()?, fk.opt_text()?);
            if parent == name {
                // SQLite leaves "to" NULL for a reference to the primary key.
                self_ref = Some((from, to.unwrap_or_default()));
            } else {
                parents.insert(parent);
            }
        }
        found.push(Table {
            name,
            columns,
            parents,
            self_ref,
        });
    }
    order(found)
}

/// Parents before children (Kahn), ties by name.
fn order(mut left: Vec<Table>) -> Result<Vec<Table>> {
    let known: BTreeSet<String> = left.iter().map(|t| t.name.clone()).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            t.parents
                .iter()
                .all(|p| done.contains(p) || !known.contains(p))
        });
        let Some(i) = ready else {
            return Err(Error::Corrupt(
                "the tables' foreign keys form a cycle".into(),
            ));
        };
        let t = left.remove(i);
        done.insert(t.name.clone());
        out.push(t);
    }
    Ok(out)
}

fn select_all(t: &Table) -> String {
    let cols: Vec<String> = t.columns.iter().map(|c| quote(&c.name)).collect();
    format!("SELECT {} FROM {}", cols.join(", "), quote(&t.name))
}

/// Rows of a self-referencing table, each after the row it refers to.
fn parents_first(t: &Table, rows: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>> {
    let Some((from, to)) = &t.self_ref else {
        return Ok(rows);
    };
    let pos = |name: &str| t.columns.iter().position(|c| c.name == name);
    let from = pos(from).ok_or_else(|| Error::Corrupt(format!("{}: no column {from}", t.name)))?;
    // An empty "to" (SQLite, a reference to the primary key): the first column.
    let to = if to.is_empty() { Some(0) } else { pos(to) }
        .ok_or_else(|| Error::Corrupt(format!("{}: no column {to}", t.name)))?;
    let mut placed: Vec<Value> = Vec::new();
    let mut left = rows;
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let before = left.len();
        let (ready, rest): (Vec<_>, Vec<_>) = left
            .into_iter()
            .partition(|r| r[from] == Value::Null || placed.contains(&r[from]));
        for r in ready {
            placed.push(r[to].clone());
            out.push(r);
        }
        left = rest;
        if left.len() == before {
            return Err(Error::Corrupt(format!(
                "{}: rows refer to rows that are not there",
                t.name
            )));
        }
    }
    Ok(out)
}

fn export_tables(
    conn: &mut dyn Conn,
    dialect: Dialect,
    source: &str,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ExportSummary> {
    let version = schema::current_version(conn)?;
    let tables = tables(conn, dialect)?;
    let mut w = Writer::start(out, version, source)?;
    let mut summary = ExportSummary {
        schema_version: version,
        source: source.to_owned(),
        tables: Vec::new(),
    };
    for t in &tables {
        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        w.table(&t.name, &names)?;
        let mut n = 0u64;
        if t.self_ref.is_some() {
            // Small tables (the CAs): read whole, then put in order.
            let rows = conn
                .query(&select_all(t), &[])?
                .into_iter()
                .map(crate::db::Row::into_values)
                .collect();
            for row in parents_first(t, rows)? {
                w.row(&row)?;
                n += 1;
            }
        } else {
            conn.query_each(&select_all(t), &[], &mut |row| {
                w.row(&row.into_values())?;
                n += 1;
                if n % PROGRESS_EVERY == 0 {
                    progress(Progress {
                        table: &t.name,
                        rows: n,
                        done: false,
                    });
                }
                Ok(())
            })?;
        }
        w.end_table(n)?;
        progress(Progress {
            table: &t.name,
            rows: n,
            done: true,
        });
        summary.tables.push((t.name.clone(), n));
    }
    w.finish(summary.tables.len() as u64, summary.rows())?;
    Ok(summary)
}

impl<B: Backend> Backup for SqlStore<B> {
    fn kind(&self) -> &'static str {
        match self.backend.dialect() {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgresql",
        }
    }

    fn export(
        &self,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<ExportSummary> {
        let dialect = self.backend.dialect();
        let source = self.kind();
        self.backend.with_conn(|c| {
            c.batch(match dialect {
                // Deferred: the first read takes the snapshot, which WAL
                // mode keeps for the transaction while writers go on.
                Dialect::Sqlite => "BEGIN",
                Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            })?;
            let r = export_tables(c, dialect, source, out, progress);
            let end = c.batch(if r.is_ok() { "COMMIT" } else { "ROLLBACK" });
            let summary = r?;
            end?;
            Ok(summary)
        })
    }

    fn set_ca_key_ref(&self, name: &str, key_ref: &str) -> Result<()> {
        let n = self.backend.with_conn(|c| {
            Ok(c.execute(
                "UPDATE cas SET key_ref = $2 WHERE name = $1",
                params![name, key_ref],
            )?)
        })?;
        if n == 0 {
            return Err(Error::NotFound(format!("CA {name}")));
        }
        Ok(())
    }
}

/// A value as the target column wants it.
fn coerce(v: Value, kind: Kind, at: &str) -> Result<Value> {
    Ok(match (v, kind) {
        (Value::Null, _) => Value::Null,
        (Value::Int(i), Kind::Int) => Value::Int(i),
        (Value::Bool(b), Kind::Int) => Value::Int(i64::from(b)),
        (Value::Bool(b), Kind::Bool) => Value::Bool(b),
        (Value::Int(0), Kind::Bool) => Value::Bool(false),
        (Value::Int(1), Kind::Bool) => Value::Bool(true),
        (Value::Text(s), Kind::Text) => Value::Text(s),
        (Value::Blob(b), Kind::Blob) => Value::Blob(b),
        _ => return Err(Error::Corrupt(format!("{at}: a value of the wrong type"))),
    })
}

/// Imports an export into the empty database behind `backend`, in one
/// transaction: the schema of the export's version, its rows, then the
/// migrations since.
pub(crate) fn import<B: Backend>(
    backend: &B,
    input: &mut dyn Read,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ExportSummary> {
    let dialect = backend.dialect();
    let mut r = Reader::start(input)?;
    if r.schema_version > SCHEMA_VERSION || r.schema_version < 1 {
        return Err(Error::SchemaTooNew {
            found: r.schema_version,
            supported: SCHEMA_VERSION,
        });
    }
    backend.with_tx(|c| {
        let existing = tables(c, dialect)?;
        if let Some(t) = existing.first() {
            return Err(Error::InvalidState(format!(
                "the target database is not empty (it has a table {}): restore into an empty one",
                t.name
            )));
        }
        schema::migrate_to(c, dialect, r.schema_version)?;
        let target: BTreeMap<String, Table> = tables(c, dialect)?
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        let mut summary = ExportSummary {
            schema_version: r.schema_version,
            source: r.source.clone(),
            tables: Vec::new(),
        };
        loop {
            let (name, columns) = match r.next()? {
                Item::Table { name, columns } => (name, columns),
                Item::End { tables, rows } => {
                    if tables != summary.tables.len() as u64 || rows != summary.rows() {
                        return Err(Error::Corrupt(
                            "store export: the totals do not match the tables".into(),
                        ));
                    }
                    break;
                }
                _ => return Err(Error::Corrupt("store export: items out of order".into())),
            };
            let t = target.get(&name).ok_or_else(|| {
                Error::Corrupt(format!("store export: table {name} is not in the schema"))
            })?;
            let kinds = columns
                .iter()
                .map(|c| {
                    t.columns
                        .iter()
                        .find(|tc| &tc.name == c)
                        .map(|tc| tc.kind)
                        .ok_or_else(|| {
                            Error::Corrupt(format!("store export: {name}.{c} is not in the schema"))
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            if kinds.len() != t.columns.len() {
                return Err(Error::Corrupt(format!(
                    "store export: table {name} lacks columns of the schema"
                )));
            }
            let overriding = if t.columns.iter().any(|c| c.identity) {
                " OVERRIDING SYSTEM VALUE"
            } else {
                ""
            };
            let sql = format!(
                "INSERT INTO {} ({}){overriding} VALUES ({})",
                quote(&name),
                columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "),
                (1..=columns.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut n = 0u64;
            loop {
                match r.next()? {
                    Item::Row(values) => {
                        let values = values
                            .into_iter()
                            .zip(&kinds)
                            .zip(&columns)
                            .map(|((v, k), c)| coerce(v, *k, &format!("{name}.{c}")))
                            .collect::<Result<Vec<_>>>()?;
                        c.execute(&sql, &values)?;
                        n += 1;
                        if n % PROGRESS_EVERY == 0 {
                            progress(Progress {
                                table: &name,
                                rows: n,
                                done: false,
                            });
                        }
                    }
                    Item::EndTable(count) if count == n => break,
                    _ => {
                        return Err(Error::Corrupt(format!(
                            "store export: table {name} is cut short or out of order"
                        )));
                    }
                }
            }
            progress(Progress {
                table: &name,
                rows: n,
                done: true,
            });
            summary.tables.push((name, n));
        }
        let exported: BTreeSet<&String> = summary.tables.iter().map(|(n, _)| n).collect();
        if let Some(missing) = target.keys().find(|n| !exported.contains(n)) {
            return Err(Error::Corrupt(format!(
                "store export: table {missing} of the schema is missing"
            )));
        }
        if dialect == Dialect::Postgres {
            for t in target.values() {
                for col in t.columns.iter().filter(|c| c.identity) {
                    // The next generated id follows the largest restored one.
                    c.query(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({}), 0) + 1, false) FROM {}",
                            quote(&col.name),
                            quote(&t.name)
                        ),
                        params![&t.name, &col.name],
                    )?;
                }
            }
        }
        schema::migrate_to(c, dialect, SCHEMA_VERSION)?;
        Ok(summary)
    })
}
