//! Searches newest first with a keyset cursor ([`Search`]), and the
//! certificate counts by status.
//!
//! The WHERE clause holds only the filters given (a condition such as
//! `($1 IS NULL OR issuer = $1)` keeps the planners from using an index),
//! built from fixed SQL fragments; every value the caller gives is a bound
//! parameter.

use std::collections::BTreeMap;

use super::audit::{AUDIT_COLS, audit_from_row};
use super::cert::{CERT_COLS, cert_from_row};
use super::{SqlStore, u64_of_i64};
use crate::db::{Backend, Value};
use crate::error::{Error, Result};
use crate::traits::Search;
use crate::types::{
    AuditRecord, AuditSearch, CertRecord, CertSearch, CertStatus, Keyset, SearchPage, SerialPrefix,
    StatusCount, TimeRange, check_limit,
};

/// The SAN types a value without a type is looked up as (the names
/// `cmc_policy::names::general_name_text` writes).
const SAN_TYPES: [&str; 4] = [
    "dNSName",
    "rfc822Name",
    "iPAddress",
    "uniformResourceIdentifier",
];

/// A WHERE clause and its parameters, numbered as they are added.
#[derive(Default)]
struct Query {
    conds: Vec<String>,
    params: Vec<Value>,
}

impl Query {
    /// The placeholder of a new parameter.
    fn param(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        format!("${}", self.params.len())
    }

    /// Adds `column OP $n` (`column` and `op` are fixed texts).
    fn cmp(&mut self, column: &str, op: &str, v: impl Into<Value>) {
        let p = self.param(v);
        self.conds.push(format!("{column} {op} {p}"));
    }

    fn range(&mut self, column: &str, r: &TimeRange) {
        if let Some(from) = r.from {
            self.cmp(column, ">=", from);
        }
        if let Some(until) = r.until {
            self.cmp(column, "<", until);
        }
    }

    /// Adds a case-insensitive substring match of `column`.
    fn contains(&mut self, column: &str, needle: &str) {
        let p = self.param(like_pattern(needle));
        self.conds
            .push(format!("lower({column}) LIKE {p} ESCAPE '\\'"));
    }

    /// The keyset condition on `id` and the ORDER BY / LIMIT for it.
    fn keyset(&mut self, id: &str, keyset: Keyset, limit: usize) -> Result<String> {
        let order = match keyset {
            Keyset::First => "DESC",
            Keyset::Older(c) => {
                self.cmp(id, "<", c.0);
                "DESC"
            }
            Keyset::Newer(c) => {
                self.cmp(id, ">", c.0);
                "ASC"
            }
        };
        // One row more than the page says whether there are more.
        let n = i64::try_from(limit + 1).map_err(|_| Error::Invalid("page size".into()))?;
        let p = self.param(n);
        Ok(format!("ORDER BY {id} {order} LIMIT {p}"))
    }

    fn sql(&self, select: &str, tail: &str) -> String {
        if self.conds.is_empty() {
            format!("{select} {tail}")
        } else {
            format!("{select} WHERE {} {tail}", self.conds.join(" AND "))
        }
    }
}

/// `%needle%` in lower case, with LIKE's wildcards in the needle escaped.
fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for ch in needle.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// A certificate with a SAN equal to `san`, typed or not.
fn san_cond(q: &mut Query, san: &str) -> String {
    let mut names = vec![q.param(san)];
    for ty in SAN_TYPES {
        names.push(q.param(format!("{ty}:{san}")));
    }
    format!(
        "c.id IN (SELECT s.cert_id FROM certificate_sans s WHERE s.san IN ({}))",
        names.join(", ")
    )
}

/// A serial starting with `prefix`: a range of the stored magnitudes.
fn serial_cond(q: &mut Query, prefix: &SerialPrefix) -> String {
    let (lo, hi) = prefix.byte_range();
    let lo = q.param(lo);
    match hi {
        Some(hi) => {
            let hi = q.param(hi);
            format!("(c.serial >= {lo} AND c.serial < {hi})")
        }
        None => format!("c.serial >= {lo}"),
    }
}

/// The query of a certificate search (without the keyset part).
fn cert_query(s: &CertSearch) -> Query {
    let mut q = Query::default();
    if let Some(issuer) = &s.issuer {
        q.cmp("c.issuer", "=", issuer);
        // Always true (ids start at 1): PostgreSQL's CA index holds the
        // rows with `id > 0` only (schema 17), and reads it for a query
        // that says so. SQLite's index holds every row and reads it the
        // same way with this condition.
        q.conds.push("c.id > 0".to_owned());
    }
    if let Some(status) = s.status {
        // Literals (one of four fixed names), not a parameter: SQLite
        // plans a statement once (the connections keep the query planner
        // stability guarantee), and only the partial index's own condition,
        // as written, lets it read `certificates_unissued`.
        if status != CertStatus::Issued {
            q.conds.push("c.status <> 'issued'".to_owned());
        }
        q.conds.push(format!("c.status = '{}'", status.as_str()));
        let rare = matches!(status, CertStatus::Reserved | CertStatus::Failed);
        if rare && s.issuer.is_none() {
            // Few rows have these: probing (CA, status) for every CA and
            // sorting what it finds beats reading the table newest first.
            // (Not for issued or revoked: that would sort most rows.)
            q.conds
                .push("c.issuer IN (SELECT name FROM cas)".to_owned());
        }
    }
    if let Some(requester) = &s.requester {
        q.cmp("c.requester", "=", requester);
    }
    if let Some(subject) = s.subject.as_deref().filter(|t| !t.is_empty()) {
        q.contains("c.subject", subject);
    }
    if let Some(san) = &s.san {
        let cond = san_cond(&mut q, san);
        q.conds.push(cond);
    }
    if let Some(text) = s.text.as_deref().filter(|t| !t.is_empty()) {
        let p = q.param(like_pattern(text));
        let mut any = vec![
            format!("lower(c.subject) LIKE {p} ESCAPE '\\'"),
            san_cond(&mut q, text),
        ];
        if let Ok(prefix) = SerialPrefix::parse(text) {
            any.push(serial_cond(&mut q, &prefix));
        }
        q.conds.push(format!("({})", any.join(" OR ")));
    }
    if let Some(prefix) = &s.serial {
        if s.issuer.is_none() {
            // The serial index leads with the CA: naming every CA lets the
            // planner probe it once per CA instead of reading the table.
            q.conds
                .push("c.issuer IN (SELECT name FROM cas)".to_owned());
        }
        let cond = serial_cond(&mut q, prefix);
        q.conds.push(cond);
    }
    q.range("c.not_before", &s.not_before);
    q.range("c.not_after", &s.not_after);
    q.range("c.issued_at", &s.issued);
    q
}

/// The query of an audit search (without the keyset part).
fn audit_query(s: &AuditSearch) -> Query {
    let mut q = Query::default();
    if let Some(requester) = &s.requester {
        q.cmp("requester", "=", requester);
    }
    if let Some(kind) = &s.kind {
        q.cmp("kind", "=", kind.as_str());
    }
    if let Some(issuer) = &s.issuer {
        q.cmp("issuer", "=", issuer);
    }
    if let Some(serial) = &s.serial {
        // Events linked to the certificate's row (schema 15) by that link,
        // the others (older, or of a serial without a row) by serial: the
        // two partial indexes `audit_log_cert` and `audit_log_serial_unlinked`.
        // A linked event has its certificate's issuer and serial.
        let p = q.param(serial);
        let certs = match &s.issuer {
            Some(issuer) => {
                let i = q.param(issuer);
                format!("SELECT id FROM certificates WHERE issuer = {i} AND serial = {p}")
            }
            None => format!(
                "SELECT id FROM certificates WHERE issuer IN (SELECT name FROM cas) AND serial = {p}"
            ),
        };
        q.conds.push(format!(
            "id IN (SELECT id FROM audit_log WHERE cert_id IN ({certs}) \
             UNION ALL SELECT id FROM audit_log WHERE cert_id IS NULL AND serial = {p})"
        ));
    }
    if let Some(text) = s.text.as_deref().filter(|t| !t.is_empty()) {
        q.contains("detail", text);
    }
    q.range("at", &s.at);
    q
}

impl<B: Backend> Search for SqlStore<B> {
    fn search_certs(
        &self,
        search: &CertSearch,
        keyset: Keyset,
        limit: u32,
    ) -> Result<SearchPage<CertRecord>> {
        let limit = check_limit(limit)?;
        search.check()?;
        let mut q = cert_query(search);
        let tail = q.keyset("c.id", keyset, limit)?;
        let sql = q.sql(&format!("SELECT {CERT_COLS} FROM certificates c"), &tail);
        self.backend.with_conn(|c| {
            let rows = c.query(&sql, &q.params)?;
            let rows = rows
                .into_iter()
                .map(|r| cert_from_row(c, r))
                .collect::<Result<Vec<_>>>()?;
            Ok(SearchPage::from_rows(rows, keyset, limit))
        })
    }

    fn count_by_status(&self) -> Result<Vec<StatusCount>> {
        // Every row of a CA from the small (CA, id) index (`id > 0`, as
        // the index's PostgreSQL predicate says, schema 17), the others
        // from the partial (CA, status, id) index of the rows not issued,
        // issued the rest: one statement, so one snapshot. (An index on
        // (CA, status) of every row would serve this alone, at a page
        // written by every commit.)
        let rows = self.backend.with_conn(|c| {
            c.query(
                "SELECT issuer, NULL, COUNT(*) FROM certificates WHERE id > 0 GROUP BY issuer
                 UNION ALL SELECT issuer, status, COUNT(*) FROM certificates
                     WHERE status <> 'issued' GROUP BY issuer, status",
                &[],
            )
            .map_err(Error::from)
        })?;
        let mut totals = BTreeMap::new();
        let mut counts = Vec::new();
        for mut r in rows {
            let issuer = r.text()?;
            let status = r.opt_text()?;
            let count = u64_of_i64(r.i64()?, "count")?;
            match status {
                None => {
                    totals.insert(issuer, count);
                }
                Some(status) => counts.push(StatusCount {
                    issuer,
                    status: CertStatus::parse(&status)?,
                    count,
                }),
            }
        }
        for (issuer, total) in totals {
            let unissued: u64 = counts
                .iter()
                .filter(|c| c.issuer == issuer)
                .map(|c| c.count)
                .sum();
            let issued = total.checked_sub(unissued).ok_or_else(|| {
                Error::Corrupt(format!("CA {issuer}: more unissued certificates than rows"))
            })?;
            counts.push(StatusCount {
                issuer,
                status: CertStatus::Issued,
                count: issued,
            });
        }
        counts.retain(|c| c.count > 0);
        counts.sort_by(|a, b| (&a.issuer, a.status.as_str()).cmp(&(&b.issuer, b.status.as_str())));
        Ok(counts)
    }

    fn search_audit(
        &self,
        search: &AuditSearch,
        keyset: Keyset,
        limit: u32,
    ) -> Result<SearchPage<AuditRecord>> {
        let limit = check_limit(limit)?;
        search.at.check("audit time")?;
        let mut q = audit_query(search);
        let tail = q.keyset("id", keyset, limit)?;
        let sql = q.sql(&format!("SELECT {AUDIT_COLS} FROM audit_log"), &tail);
        self.backend.with_conn(|c| {
            let rows = c
                .query(&sql, &q.params)?
                .into_iter()
                .map(|r| audit_from_row(r).map(|rec| (rec.id, rec)))
                .collect::<Result<Vec<_>>>()?;
            Ok(SearchPage::from_rows(rows, keyset, limit))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_the_needle_are_literal() {
        assert_eq!(like_pattern("Ex_A%m\\"), "%ex\\_a\\%m\\\\%");
    }

    #[test]
    fn only_the_filters_given_reach_the_sql() {
        let q = cert_query(&CertSearch::default());
        assert!(q.conds.is_empty() && q.params.is_empty());
        let q = cert_query(&CertSearch {
            issuer: Some("ca' OR 1=1 --".into()),
            san: Some("www.example.com".into()),
            ..CertSearch::default()
        });
        let sql = q.sql("SELECT 1 FROM certificates c", "");
        assert!(!sql.contains("OR 1=1"), "values are parameters: {sql}");
        assert_eq!(q.params.len(), 6);
        assert_eq!(q.params[2], Value::Text("dNSName:www.example.com".into()));
    }
}
