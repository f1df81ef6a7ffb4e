//! [`Search`]: certificates and audit events found by filters, newest
//! first, a page at a time with a keyset cursor; certificate counts by
//! status.

use crate::error::Result;
use crate::types::{
    AuditRecord, AuditSearch, CertRecord, CertSearch, Keyset, SearchPage, StatusCount,
};

/// What an operator looks for (the console's certificate search and audit
/// log, `cmc-tool cert list`): pages of rows newest first. See
/// [`CertSearch`] for which filters an index serves.
pub trait Search: Send + Sync {
    /// A page of at most `limit` certificates that `search` finds, newest
    /// (most recently reserved) first, starting at `keyset`.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for a page size of 0 or
    /// above [`MAX_SEARCH_PAGE`](crate::MAX_SEARCH_PAGE), or a time range
    /// that ends before it starts; database failures.
    fn search_certs(
        &self,
        search: &CertSearch,
        keyset: Keyset,
        limit: u32,
    ) -> Result<SearchPage<CertRecord>>;

    /// How many certificates each CA has of each status, in one GROUP BY
    /// (CA, then status; a status a CA has none of is left out).
    ///
    /// # Errors
    /// Database failures.
    fn count_by_status(&self) -> Result<Vec<StatusCount>>;

    /// A page of at most `limit` audit events that `search` finds, newest
    /// first, starting at `keyset`.
    ///
    /// # Errors
    /// As [`Search::search_certs`].
    fn search_audit(
        &self,
        search: &AuditSearch,
        keyset: Keyset,
        limit: u32,
    ) -> Result<SearchPage<AuditRecord>>;
}
