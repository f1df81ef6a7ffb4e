//! The CA's records for administration ([`Records`]): what `cmc-tool`
//! lists and shows, and the operator's changes that need no CA key
//! (registering a client for an existing certificate, disabling one,
//! creating a CA, bootstrap auto-approvals), each with its audit event.
//! Opened from the store URL without loading any CA, so listing needs no
//! passphrase or PIN. Binaries reach the store only through this and the
//! [`Engine`](crate::Engine); the store's record types are re-exported in
//! [`types`].

use std::sync::Arc;

use cmc_store::{
    AuditEvent, AuditKind, AuditRecord, AuditSearch, BulkCert, CaRecord, CertFilter, CertRecord,
    CertSearch, ClientRecord, Keyset, NewClient, Outcome, PageRequest, PendingFilter,
    PendingRecord, SearchPage, SecretRecord, Serial, StatusCount, Store, UnixTime,
};

use crate::ca::{LoadedCa, NewCa};
use crate::clock::Clock;
use crate::error::{Error, Result};

/// The store's record types, as the engine's API speaks of them.
pub mod types {
    pub use cmc_store::{
        AuditEvent, AuditKind, AuditRecord, AuditSearch, CertSearch, Cursor, Keyset,
        MAX_SEARCH_PAGE, Outcome, SearchPage, SerialPrefix, StatusCount, TimeRange,
    };
    pub use cmc_store::{
        BulkCert, CaGeneration, CaRecord, CertFilter, CertRecord, CertState, CertStatus,
        ClientRecord, ClientRole, CrlRecord, GenerationState, Grant, IssuedCert, MacCredential,
        NewClient, PendingFilter, PendingRecord, PendingState, PendingStatus, Revocation,
        RevocationReason, Scope, SecretPurpose, SecretRecord, Serial, UnixTime,
    };
}

/// The CA's records (see the module documentation).
#[derive(Clone, Debug)]
pub struct Records {
    store: Arc<dyn Store>,
}

impl Records {
    /// Opens the store at `url` (`sqlite://PATH` creates the file;
    /// `postgresql://…`), migrating its schema; no CA is loaded.
    ///
    /// # Errors
    /// Store errors (an unreachable server, a newer schema).
    pub fn open(url: &str) -> Result<Self> {
        Ok(Self {
            store: cmc_store::open(url)?,
        })
    }

    pub(crate) fn of(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The store's schema version.
    ///
    /// # Errors
    /// Store errors.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.store.schema_version()?)
    }

    /// CA `name`'s record.
    ///
    /// # Errors
    /// Store errors.
    pub fn ca(&self, name: &str) -> Result<Option<CaRecord>> {
        Ok(self.store.get_ca(name)?)
    }

    /// CA `name`'s active generation number and its other generations
    /// (passive, retired), oldest first.
    ///
    /// # Errors
    /// Store errors ([`cmc_store::Error::NotFound`] for an unknown CA).
    pub fn generations(&self, name: &str) -> Result<(u32, Vec<cmc_store::CaGeneration>)> {
        Ok((
            self.store.active_generation(name)?,
            self.store.list_generations(name)?,
        ))
    }

    /// Creates the passive next generation of a CA (see
    /// [`crate::rollover_ca`]).
    ///
    /// # Errors
    /// As [`crate::rollover_ca`].
    pub fn rollover(
        &self,
        clock: &dyn Clock,
        rollover: &crate::Rollover,
    ) -> Result<cmc_store::CaGeneration> {
        crate::rollover_ca(self.store.as_ref(), clock.now(), rollover)
    }

    /// Makes a CA's passive generation the issuing one (see
    /// [`crate::activate_ca`]); returns its number.
    ///
    /// # Errors
    /// As [`crate::activate_ca`].
    pub fn activate(&self, clock: &dyn Clock, ca: &str, requester: &str) -> Result<u32> {
        crate::activate_ca(self.store.as_ref(), clock.now(), ca, requester)
    }

    /// Every CA's record.
    ///
    /// # Errors
    /// Store errors.
    pub fn cas(&self) -> Result<Vec<CaRecord>> {
        Ok(self.store.list_cas()?)
    }

    /// Stores `certs` as issued (or revoked) in one transaction, without
    /// reservation, signing or audit events: synthetic rows for scale
    /// benchmarks (`cmc-tool bench-load`). Returns how many were stored.
    ///
    /// # Errors
    /// Store errors: a serial already stored, an unknown CA (nothing of the
    /// call is stored then).
    pub fn bulk_insert(&self, certs: &[BulkCert]) -> Result<u64> {
        Ok(self.store.bulk_insert_certs(certs)?)
    }

    /// Every certificate record `filter` picks.
    ///
    /// # Errors
    /// Store errors.
    pub fn certificates(&self, filter: &CertFilter) -> Result<Vec<CertRecord>> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut all = Vec::new();
        loop {
            let found = self.store.list_certs(filter, page)?;
            all.extend(found.items);
            match found.next {
                Some(next) => page.after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// A page of at most `limit` certificates that `search` finds, newest
    /// first, from `keyset` on: the console's search and `cmc-tool cert
    /// list` (see [`CertSearch`] for the filters an index serves).
    ///
    /// # Errors
    /// Store errors ([`cmc_store::Error::Invalid`] for a page size of 0 or
    /// above [`cmc_store::MAX_SEARCH_PAGE`], or a reversed time range).
    pub fn search_certs(
        &self,
        search: &CertSearch,
        keyset: Keyset,
        limit: u32,
    ) -> Result<SearchPage<CertRecord>> {
        Ok(self.store.search_certs(search, keyset, limit)?)
    }

    /// How many certificates each CA has of each status (one GROUP BY).
    ///
    /// # Errors
    /// Store errors.
    pub fn status_counts(&self) -> Result<Vec<StatusCount>> {
        Ok(self.store.count_by_status()?)
    }

    /// A page of at most `limit` audit events that `search` finds, newest
    /// first, from `keyset` on (the console's audit log, a certificate's
    /// audit trail).
    ///
    /// # Errors
    /// As [`Records::search_certs`].
    pub fn search_audit(
        &self,
        search: &AuditSearch,
        keyset: Keyset,
        limit: u32,
    ) -> Result<SearchPage<AuditRecord>> {
        Ok(self.store.search_audit(search, keyset, limit)?)
    }

    /// Certificate `serial` of CA `ca`.
    ///
    /// # Errors
    /// Store errors.
    pub fn certificate(&self, ca: &str, serial: &Serial) -> Result<Option<CertRecord>> {
        Ok(self.store.get_cert(ca, serial)?)
    }

    /// Every held request `filter` picks.
    ///
    /// # Errors
    /// Store errors.
    pub fn pending(&self, filter: &PendingFilter) -> Result<Vec<PendingRecord>> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut all = Vec::new();
        loop {
            let found = self.store.list_pending(filter, page)?;
            all.extend(found.items);
            match found.next {
                Some(next) => page.after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Held request `id`.
    ///
    /// # Errors
    /// Store errors.
    pub fn pending_request(&self, id: &str) -> Result<Option<PendingRecord>> {
        Ok(self.store.get_pending(id)?)
    }

    /// Every registered client.
    ///
    /// # Errors
    /// Store errors.
    pub fn clients(&self) -> Result<Vec<ClientRecord>> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut all = Vec::new();
        loop {
            let found = self.store.list_clients(page)?;
            all.extend(found.items);
            match found.next {
                Some(next) => page.after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Client `id`.
    ///
    /// # Errors
    /// Store errors.
    pub fn client(&self, id: &str) -> Result<Option<ClientRecord>> {
        Ok(self.store.get_client(id)?)
    }

    /// The client registered with this very certificate (DER; looked up by
    /// its SHA-256 fingerprint, as request signers are), if any.
    ///
    /// # Errors
    /// Store errors.
    pub fn client_by_certificate(&self, cert_der: &[u8]) -> Result<Option<ClientRecord>> {
        Ok(self
            .store
            .get_client_by_fingerprint(&cmc_store::fingerprint(cert_der))?)
    }

    /// The client whose MAC credential has `reference`, if any.
    ///
    /// # Errors
    /// Store errors.
    pub fn client_by_mac_reference(&self, reference: &str) -> Result<Option<ClientRecord>> {
        Ok(self
            .store
            .get_client_by_mac_reference(reference)?
            .map(|(client, _)| client))
    }

    /// The secrets registered for CA `ca`, or for every CA (their derived
    /// keys, never the secrets).
    ///
    /// # Errors
    /// Store errors.
    pub fn secrets(&self, ca: Option<&str>) -> Result<Vec<SecretRecord>> {
        Ok(self.store.list_secrets(ca)?)
    }

    /// Registers `new` (a client for a certificate it already holds),
    /// audited as done by `operator` with `detail`.
    ///
    /// # Errors
    /// Store errors (a taken id: `AlreadyExists`).
    pub fn register_client(
        &self,
        new: &NewClient,
        serial: Option<Serial>,
        operator: &str,
        detail: &str,
        now: UnixTime,
    ) -> Result<ClientRecord> {
        let client = self.store.add_client(new, now)?;
        self.store.append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::ClientAdded,
            issuer: None,
            serial,
            profile: None,
            requester: Some(operator.to_owned()),
            outcome: Outcome::Success,
            detail: detail.to_owned(),
        })?;
        Ok(client)
    }

    /// Disables client `id` (its credential no longer authenticates),
    /// audited as done by `operator`.
    ///
    /// # Errors
    /// Store errors (`NotFound`).
    pub fn disable_client(&self, id: &str, operator: &str, now: UnixTime) -> Result<()> {
        self.store.disable_client(id, now)?;
        self.store.append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::ClientDisabled,
            issuer: None,
            serial: None,
            profile: None,
            requester: Some(operator.to_owned()),
            outcome: Outcome::Success,
            detail: format!("client {id:?}"),
        })?;
        Ok(())
    }

    /// Creates a CA (see [`crate::create_ca`]) without loading the others.
    ///
    /// # Errors
    /// As [`crate::create_ca`].
    pub fn create_ca(&self, clock: &dyn Clock, new: &NewCa) -> Result<LoadedCa> {
        crate::ca::create_ca(self.store.as_ref(), clock, new)
    }

    /// Adopts an existing CA (see [`crate::import_ca`]).
    ///
    /// # Errors
    /// As [`crate::import_ca`].
    pub fn import_ca(&self, clock: &dyn Clock, new: &crate::ImportCa) -> Result<LoadedCa> {
        crate::import::import_ca(self.store.as_ref(), clock.now(), new)
    }

    /// An importer of certificates issued by the stored CA `ca` (see
    /// [`crate::CertImporter`]).
    ///
    /// # Errors
    /// As [`crate::CertImporter::new`].
    pub fn cert_importer(
        &self,
        clock: &dyn Clock,
        ca: &str,
        requester: &str,
    ) -> Result<crate::CertImporter> {
        crate::CertImporter::new(Arc::clone(&self.store), ca, requester, clock.now())
    }

    /// Records the revocations of a CRL the stored CA `ca` signed (see
    /// [`crate::import_crl`]).
    ///
    /// # Errors
    /// As [`crate::import_crl`].
    pub fn import_crl(
        &self,
        clock: &dyn Clock,
        ca: &str,
        der: &[u8],
        requester: &str,
    ) -> Result<crate::CrlImportReport> {
        crate::import::import_crl(self.store.as_ref(), ca, der, clock.now(), requester)
    }

    /// Lets the next `count` requests that need approval on CA `ca` be
    /// issued without an agent (bootstrap), until locked.
    ///
    /// # Errors
    /// Store errors.
    pub fn set_auto_approvals(&self, ca: &str, count: u32) -> Result<()> {
        Ok(self.store.set_auto_approvals(ca, count)?)
    }

    /// Locks CA `ca`'s remaining auto-approvals (none are taken any more).
    ///
    /// # Errors
    /// Store errors (`NotFound` when it has none).
    pub fn lock_auto_approvals(&self, ca: &str) -> Result<()> {
        Ok(self.store.lock_auto_approvals(ca)?)
    }

    /// Whether the store has a CA of this name (a typo check for commands
    /// that name one).
    ///
    /// # Errors
    /// [`Error::UnknownCa`] when it has none; store errors.
    pub fn require_ca(&self, name: &str) -> Result<CaRecord> {
        self.ca(name)?
            .ok_or_else(|| Error::UnknownCa(name.to_owned()))
    }
}
