//! Listings a page at a time: [`PageRequest`] in, [`Page`] out, with the
//! [`Cursor`] of the next page.

use crate::error::{Error, Result};

/// Where a listing starts: pass [`Page::next`] of the previous page.
///
/// Listings run in insertion order. The value is opaque but can be carried
/// through a command line or URL as an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(pub i64);

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The records, in insertion order.
    pub items: Vec<T>,
    /// The cursor for the next page; `None` when this page was the last (a
    /// full page may still be followed by an empty one).
    pub next: Option<Cursor>,
}

/// Which page of a listing to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this cursor; `None` for the first page.
    pub after: Option<Cursor>,
    /// At most this many records, 1 to [`PageRequest::MAX_LIMIT`].
    pub limit: u32,
}

impl PageRequest {
    /// The largest page a listing returns.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first page of `limit` records.
    pub const fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }

    /// The page after `cursor`.
    pub const fn after(cursor: Cursor, limit: u32) -> Self {
        Self {
            after: Some(cursor),
            limit,
        }
    }

    /// Checks the limit and returns (cursor, limit) for the SQL.
    pub(crate) fn checked(self) -> Result<(i64, i64)> {
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(Error::Invalid(format!(
                "page limit must be 1 to {}",
                Self::MAX_LIMIT
            )));
        }
        Ok((self.after.map_or(0, |c| c.0), i64::from(self.limit)))
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(100)
    }
}

/// Builds a page from rows that carry their sequence number.
pub(crate) fn page_from<T>(rows: Vec<(i64, T)>, limit: i64) -> Page<T> {
    let full = i64::try_from(rows.len()).is_ok_and(|n| n >= limit);
    let next = if full {
        rows.last().map(|(seq, _)| Cursor(*seq))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let p = page_from(vec![(3, 'a'), (7, 'b')], 2);
        assert_eq!(p.next, Some(Cursor(7)));
        let p = page_from(vec![(3, 'a')], 2);
        assert_eq!(p.next, None);
        assert!(PageRequest::first(0).checked().is_err());
        assert!(PageRequest::first(1001).checked().is_err());
    }
}
