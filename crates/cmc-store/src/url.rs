//! Which backend a database URL names, and keeping its password out of
//! error text.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where [`crate::open`] connects.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Sqlite(PathBuf),
    Postgres,
}

/// `postgres://…` / `postgresql://…` → PostgreSQL; `sqlite:///abs/path`,
/// `sqlite://rel/path`, `sqlite:path` or a plain path → SQLite.
pub(crate) fn parse(url: &str) -> Result<Target> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres);
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if let Some((scheme, _)) = url.split_once("://") {
        return Err(Error::Invalid(format!(
            "unsupported database URL scheme {scheme:?} (use sqlite:// or postgresql://)"
        )));
    } else {
        url
    };
    if path.is_empty() {
        return Err(Error::Invalid("empty SQLite path".into()));
    }
    if path == ":memory:" || path.starts_with("file:") {
        return Err(Error::Invalid(
            "SQLite needs a file path (an in-memory database is not shared between connections)"
                .into(),
        ));
    }
    Ok(Target::Sqlite(PathBuf::from(path)))
}

/// Removes a URL's password (as written and percent-decoded) from text.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn for_url(url: &str) -> Self {
        let mut raw = Vec::new();
        let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
        let (authority, query) = match after_scheme.find(['/', '?']) {
            Some(i) => (
                &after_scheme[..i],
                after_scheme[i..].split_once('?').map(|(_, q)| q),
            ),
            None => (after_scheme, None),
        };
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                raw.push(password.to_owned());
            }
        }
        for pair in query.unwrap_or("").split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                if k == "password" {
                    raw.push(v.to_owned());
                }
            }
        }
        let mut secrets = Vec::new();
        for s in raw.into_iter().filter(|s| !s.is_empty()) {
            let decoded = percent_decode(&s);
            if decoded != s && !decoded.is_empty() {
                secrets.push(decoded);
            }
            secrets.push(s);
        }
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    pub(crate) fn redacted_url(&self, url: &str) -> String {
        self.scrub(url)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                // Two hex digits make one byte.
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(parse("postgres://h/db").unwrap(), Target::Postgres);
        assert_eq!(parse("postgresql://u@h/db").unwrap(), Target::Postgres);
        assert_eq!(
            parse("sqlite:///var/lib/cmc/ca.db").unwrap(),
            Target::Sqlite("/var/lib/cmc/ca.db".into())
        );
        assert_eq!(
            parse("sqlite://data/ca.db").unwrap(),
            Target::Sqlite("data/ca.db".into())
        );
        assert_eq!(
            parse("sqlite:ca.db").unwrap(),
            Target::Sqlite("ca.db".into())
        );
        assert_eq!(
            parse("/tmp/x.db").unwrap(),
            Target::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(parse("mysql://u:pw@h/db"), Err(Error::Invalid(m)) if !m.contains("pw")));
        assert!(parse("sqlite://").is_err());
        assert!(parse(":memory:").is_err());
    }

    #[test]
    fn passwords_are_scrubbed() {
        let r = Redactor::for_url(
            "postgresql://cmc:p%40ss%3Aword@db.example:5432/ca?password=other&x=1",
        );
        let text = "failed for p@ss:word and p%40ss%3Aword and other";
        assert_eq!(r.scrub(text), "failed for *** and *** and ***");
        assert_eq!(
            r.redacted_url("postgresql://cmc:p%40ss%3Aword@db.example:5432/ca"),
            "postgresql://cmc:***@db.example:5432/ca"
        );
        let none = Redactor::for_url("postgresql://cmc@h/db");
        assert_eq!(none.scrub("cmc@h"), "cmc@h");
    }
}
