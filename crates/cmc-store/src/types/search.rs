//! Searches newest first, a page at a time with a keyset cursor: what
//! [`crate::Search`] takes and returns (the operator console, `cmc-tool
//! cert list`, `cmc-tool audit`).
//!
//! A page is found by the row id of its neighbour (`id < cursor` newest
//! first, `id > cursor` going back), never by OFFSET, so page 10 000 costs
//! what page 1 costs. Rows are ordered by their row id: the order they were
//! stored in, which for certificates is reservation order (newest
//! reservation first) and for audit events the order they were written.

use super::{AuditKind, CertStatus, Cursor, Serial, UnixTime};
use crate::error::{Error, Result};

/// A time interval `from <= t < until`; `None` leaves that end open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// The first second in the range.
    pub from: Option<UnixTime>,
    /// The first second after the range.
    pub until: Option<UnixTime>,
}

impl TimeRange {
    /// Whether neither end is set.
    pub const fn is_open(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    pub(crate) fn check(&self, what: &str) -> Result<()> {
        match (self.from, self.until) {
            (Some(f), Some(u)) if f >= u => Err(Error::Invalid(format!(
                "{what}: the range ends before it starts"
            ))),
            _ => Ok(()),
        }
    }
}

/// A serial number filter: the serials whose hex text (as
/// [`Serial::to_hex`] writes it) starts with these digits. A whole serial
/// is its own prefix, so this is also the exact search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialPrefix {
    digits: String,
}

impl SerialPrefix {
    /// Parses hex digits; `0x`, colons and spaces are ignored, and so are
    /// leading `00` pairs (a DER sign byte: stored serials have none).
    ///
    /// # Errors
    /// [`Error::Invalid`] for no digits, a character that is not hex, or more
    /// digits than the longest serial has.
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim();
        let trimmed = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed);
        let mut digits: String = trimmed
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(Error::Invalid(format!(
                "serial {text:?}: {bad:?} is not a hex digit"
            )));
        }
        while digits.len() > 2 && digits.starts_with("00") {
            digits.drain(..2);
        }
        if digits.is_empty() || digits == "00" {
            return Err(Error::Invalid(format!("serial {text:?} has no digits")));
        }
        if digits.len() > 2 * Serial::MAX_LEN {
            return Err(Error::Invalid(format!(
                "serial {text:?} is longer than {} bytes",
                Serial::MAX_LEN
            )));
        }
        Ok(Self { digits })
    }

    /// The digits, lower case.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// The stored magnitudes that start with these digits are the byte
    /// strings `lo <= s < hi` (no `hi` when the digits are all `f`): an
    /// odd digit count stands for the 16 values of its last half byte.
    pub(crate) fn byte_range(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let nibbles: Vec<u8> = self
            .digits
            .bytes()
            .map(|b| match b {
                b'0'..=b'9' => b - b'0',
                _ => b - b'a' + 10,
            })
            .collect();
        let to_bytes = |n: &[u8]| -> Vec<u8> {
            n.chunks(2)
                .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0))
                .collect()
        };
        let lo = to_bytes(&nibbles);
        // The next prefix of the same length: add one to the last nibble
        // that is not f, dropping the f's after it.
        let mut up = nibbles;
        while up.last() == Some(&0xf) {
            up.pop();
        }
        let hi = match up.last_mut() {
            Some(last) => {
                *last += 1;
                Some(to_bytes(&up))
            }
            None => None,
        };
        (lo, hi)
    }
}

/// Which certificates a search finds; `None` and open ranges match
/// anything, and every filter given must match.
///
/// What the indexes answer quickly is noted on each field; any filter can
/// be given alone, but one that no index serves makes the database read
/// rows newest first until it has a page (fast for common matches, a scan
/// of the table for a rare one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertSearch {
    /// Quick search: a subject containing this (as [`CertSearch::subject`]),
    /// a SAN equal to it (as [`CertSearch::san`]), or, when it is hex, a
    /// serial starting with it. Not indexed (one OR of the three).
    pub text: Option<String>,
    /// Only this CA (indexed together with `status`).
    pub issuer: Option<String>,
    /// Subject text containing this, ignoring case (ASCII letters on
    /// SQLite, every letter on PostgreSQL). Not indexed: substring search
    /// reads rows until a page is found.
    pub subject: Option<String>,
    /// A subject alternative name equal to this (indexed). The value is
    /// matched as stored (`dNSName:www.example.com`) and, without a type,
    /// as a `dNSName`, `rfc822Name`, `iPAddress` or
    /// `uniformResourceIdentifier` with this value. Exact, not substring:
    /// the SAN index is a B-tree on the whole text.
    pub san: Option<String>,
    /// Serials starting with these hex digits (indexed per CA).
    pub serial: Option<SerialPrefix>,
    /// Only certificates this requester asked for (exact).
    pub requester: Option<String>,
    /// Only this status (indexed together with `issuer`; `reserved` and
    /// `failed`, which few rows have, also without it).
    pub status: Option<CertStatus>,
    /// notBefore in this range.
    pub not_before: TimeRange,
    /// notAfter in this range.
    pub not_after: TimeRange,
    /// Issue time in this range.
    pub issued: TimeRange,
}

impl CertSearch {
    /// Checks the ranges.
    pub(crate) fn check(&self) -> Result<()> {
        self.not_before.check("notBefore")?;
        self.not_after.check("notAfter")?;
        self.issued.check("issue time")
    }
}

/// Which audit events a search finds; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditSearch {
    /// Only events of this requester (the client or operator who acted).
    pub requester: Option<String>,
    /// Only this kind.
    pub kind: Option<AuditKind>,
    /// Only events of this CA.
    pub issuer: Option<String>,
    /// Only events about this serial (indexed).
    pub serial: Option<Serial>,
    /// Detail text (JSON: subject, names, reasons) containing this,
    /// ignoring case as [`CertSearch::subject`] does. Not indexed.
    pub text: Option<String>,
    /// Only events in this time range.
    pub at: TimeRange,
}

/// Which page of a search to fetch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Keyset {
    /// The newest rows.
    #[default]
    First,
    /// The rows older than this cursor ([`SearchPage::older`]).
    Older(Cursor),
    /// The rows newer than this cursor ([`SearchPage::newer`]).
    Newer(Cursor),
}

/// One page of a search, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchPage<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Pass as [`Keyset::Older`] for the next (older) page; `None` when no
    /// older row matches.
    pub older: Option<Cursor>,
    /// Pass as [`Keyset::Newer`] for the previous (newer) page; `None` when
    /// this is the first page.
    pub newer: Option<Cursor>,
}

impl<T> SearchPage<T> {
    /// Builds a page from rows fetched with one row more than `limit`, in
    /// the order `keyset` reads them (descending, or ascending for
    /// [`Keyset::Newer`]).
    pub(crate) fn from_rows(mut rows: Vec<(i64, T)>, keyset: Keyset, limit: usize) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        if matches!(keyset, Keyset::Newer(_)) {
            rows.reverse();
        }
        let first = rows.first().map(|(id, _)| Cursor(*id));
        let last = rows.last().map(|(id, _)| Cursor(*id));
        let (older, newer) = match keyset {
            Keyset::First => (last.filter(|_| more), None),
            // Coming from a newer page: that page's rows are newer.
            Keyset::Older(_) => (last.filter(|_| more), first),
            // Coming from an older page: its rows are older.
            Keyset::Newer(_) => (last, first.filter(|_| more)),
        };
        Self {
            items: rows.into_iter().map(|(_, t)| t).collect(),
            older,
            newer,
        }
    }
}

/// The largest page a search returns.
pub const MAX_SEARCH_PAGE: u32 = 1000;

/// Checks a page size.
pub(crate) fn check_limit(limit: u32) -> Result<usize> {
    if limit == 0 || limit > MAX_SEARCH_PAGE {
        return Err(Error::Invalid(format!(
            "page size must be 1 to {MAX_SEARCH_PAGE}"
        )));
    }
    usize::try_from(limit).map_err(|_| Error::Invalid("page size".into()))
}

/// How many certificates of one CA have one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCount {
    /// The CA.
    pub issuer: String,
    /// The status.
    pub status: CertStatus,
    /// How many.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> (Vec<u8>, Option<Vec<u8>>) {
        SerialPrefix::parse(text).unwrap().byte_range()
    }

    #[test]
    fn serial_prefixes_are_byte_ranges() {
        assert_eq!(range("ab"), (vec![0xab], Some(vec![0xac])));
        assert_eq!(range("0xAB:CD"), (vec![0xab, 0xcd], Some(vec![0xab, 0xce])));
        // An odd digit count: the 16 values of the last half byte.
        assert_eq!(range("abc"), (vec![0xab, 0xc0], Some(vec![0xab, 0xd0])));
        // Carry: after ab ff comes ac.
        assert_eq!(range("abff"), (vec![0xab, 0xff], Some(vec![0xac])));
        assert_eq!(range("ff"), (vec![0xff], None));
        // A DER sign byte is not part of a stored magnitude.
        assert_eq!(
            range("00 80 01"),
            (vec![0x80, 0x01], Some(vec![0x80, 0x02]))
        );
        assert_eq!(range("0"), (vec![0x00], Some(vec![0x10])));
        for bad in ["", "0x", "xyz", "12g4", "00", &"a".repeat(41)] {
            assert!(SerialPrefix::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ranges_must_not_be_reversed() {
        let r = |f, u| TimeRange {
            from: Some(UnixTime(f)),
            until: Some(UnixTime(u)),
        };
        assert!(r(1, 2).check("x").is_ok());
        assert!(r(2, 2).check("x").is_err());
        assert!(TimeRange::default().check("x").is_ok());
    }

    #[test]
    fn pages_know_their_neighbours() {
        let rows = |ids: &[i64]| ids.iter().map(|i| (*i, *i)).collect::<Vec<_>>();
        // First page, more behind it.
        let p = SearchPage::from_rows(rows(&[9, 8, 7]), Keyset::First, 2);
        assert_eq!(
            (p.items, p.older, p.newer),
            (vec![9, 8], Some(Cursor(8)), None)
        );
        // First page, all of it.
        let p = SearchPage::from_rows(rows(&[9, 8]), Keyset::First, 2);
        assert_eq!((p.older, p.newer), (None, None));
        // Older page: the newer link points back.
        let p = SearchPage::from_rows(rows(&[7, 6]), Keyset::Older(Cursor(8)), 2);
        assert_eq!((p.older, p.newer), (None, Some(Cursor(7))));
        // Newer page read ascending, more newer rows beyond it.
        let p = SearchPage::from_rows(rows(&[7, 8, 9]), Keyset::Newer(Cursor(6)), 2);
        assert_eq!(
            (p.items, p.older, p.newer),
            (vec![8, 7], Some(Cursor(7)), Some(Cursor(8)))
        );
        let p = SearchPage::from_rows(rows(&[7, 8]), Keyset::Newer(Cursor(6)), 2);
        assert_eq!((p.older, p.newer), (Some(Cursor(7)), None));
    }
}
