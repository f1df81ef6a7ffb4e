//! What the commands print: aligned tables and `key: value` blocks for a
//! person, pretty-printed JSON (field names fixed by the serde structs of
//! each command) for a program.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

/// Writes `value` as pretty JSON and a newline.
pub(crate) fn json(out: &mut dyn Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).context("writing JSON")?;
    writeln!(out).context("writing output")?;
    Ok(())
}

/// A table whose columns are padded to their widest cell.
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints the table, or `empty` when it has no rows.
    pub(crate) fn print(&self, out: &mut dyn Write, empty: &str) -> Result<()> {
        if self.rows.is_empty() {
            writeln!(out, "{empty}").context("writing output")?;
            return Ok(());
        }
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut s = String::new();
            for (i, (cell, w)) in cells.zip(&widths).enumerate() {
                if i + 1 == widths.len() {
                    s.push_str(cell);
                } else {
                    s.push_str(cell);
                    let pad = w - cell.chars().count();
                    s.extend(std::iter::repeat_n(' ', pad + 2));
                }
            }
            s.trim_end().to_owned()
        };
        writeln!(out, "{}", line(&mut self.headers.iter().copied())).context("writing output")?;
        for row in &self.rows {
            writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))
                .context("writing output")?;
        }
        Ok(())
    }
}

/// `label: value` lines with the values aligned.
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn add(&mut self, label: &str, value: impl Into<String>) {
        self.0.push((label.to_owned(), value.into()));
    }

    pub(crate) fn print(&self, out: &mut dyn Write) -> Result<()> {
        let width = self.0.iter().map(|(l, _)| l.len() + 1).max().unwrap_or(0);
        for (label, value) in &self.0 {
            writeln!(out, "{:width$}  {value}", format!("{label}:")).context("writing output")?;
        }
        Ok(())
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["NAME", "X"]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["longer".into(), "22".into()]);
        let mut out = Vec::new();
        t.print(&mut out, "none").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME    X\na       1\nlonger  22\n"
        );
        let mut out = Vec::new();
        Table::new(&["A"]).print(&mut out, "no rows").unwrap();
        assert_eq!(out, b"no rows\n");
    }

    #[test]
    fn fields_align() {
        let mut f = Fields::new();
        f.add("name", "root");
        f.add("not after", "x");
        let mut out = Vec::new();
        f.print(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name:       root\nnot after:  x\n"
        );
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
    }
}
