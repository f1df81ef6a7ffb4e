//! The storage traits, one per consumer, and the [`Store`] that has them all.
//!
//! All methods block: call them from a blocking thread (the engine already
//! runs each request on one). The PostgreSQL backend runs its own small
//! runtime per connection and must not be called from an async task (a
//! thread driving a tokio runtime's tasks); use `tokio::task::spawn_blocking`.

mod ca;
mod search;

pub use ca::CaStore;
pub use search::Search;

use crate::error::Result;
use crate::types::{
    AuditEvent, AuditFilter, AuditRecord, BulkCert, CertCounts, CertFilter, CertRange, CertRecord,
    ClientRecord, ConfirmationRecord, ConfirmationState, CrlRecord, Fingerprint,
    ImportedRevocation, IssuedCert, ListedCert, NewClient, NewConfirmation, NewPending,
    NewReservation, NewSecret, Page, PageRequest, PendingFilter, PendingRecord, Revocation,
    RevocationReason, RevokedEntry, SecretFailures, SecretRecord, Serial, TransactionOpen,
    TransactionRecord, TransactionState, UnixTime, WriteStats, WriteUnit,
};

/// Serial numbers and the certificates issued with them.
pub trait CertStore: Send + Sync {
    /// Reserves a serial before signing. The database's unique key on
    /// (issuer, serial) decides: of two concurrent reservations of one
    /// serial, on any number of processes, exactly one succeeds.
    ///
    /// # Errors
    /// [`Error::SerialInUse`](crate::Error::SerialInUse) if the pair exists
    /// in any state (failed reservations keep their serial);
    /// [`Error::NotFound`](crate::Error::NotFound) if the issuer is unknown.
    fn reserve_serial(&self, reservation: &NewReservation, now: UnixTime) -> Result<()>;

    /// Records the linted TBS certificate of a reservation. Recording the same
    /// bytes again is a no-op.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound);
    /// [`Error::InvalidState`](crate::Error::InvalidState) if the serial is
    /// no longer reserved or a different TBS was recorded.
    fn record_tbs(&self, issuer: &str, serial: &Serial, tbs_der: &[u8]) -> Result<()>;

    /// Stores the signed certificate of a reservation, with its subject and
    /// SANs, in one transaction. Durable when this returns.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound);
    /// [`Error::InvalidState`](crate::Error::InvalidState) unless the serial
    /// is reserved (not failed, not already issued).
    fn complete_issuance(&self, issuer: &str, serial: &Serial, cert: &IssuedCert) -> Result<()>;

    /// [`CertStore::complete_issuance`] and the issuance's audit event in
    /// one transaction: both are stored, or neither. Returns the event's id.
    ///
    /// # Errors
    /// As [`CertStore::complete_issuance`]; nothing is written then.
    fn complete_issuance_with_audit(
        &self,
        issuer: &str,
        serial: &Serial,
        cert: &IssuedCert,
        event: &AuditEvent,
    ) -> Result<i64>;

    /// Marks a reservation failed; its serial is never used again.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound);
    /// [`Error::InvalidState`](crate::Error::InvalidState) unless reserved.
    fn mark_failed(&self, issuer: &str, serial: &Serial, reason: &str, now: UnixTime)
    -> Result<()>;

    /// The record of a serial, in whatever state.
    ///
    /// # Errors
    /// Database failures.
    fn get_cert(&self, issuer: &str, serial: &Serial) -> Result<Option<CertRecord>>;

    /// Whether the certificate `serial` of `issuer` is revoked (on hold
    /// included), `None` if the serial is unknown: a point lookup that reads
    /// no certificate, for the check every request signed with a
    /// certificate makes.
    ///
    /// # Errors
    /// Database failures.
    fn is_revoked(&self, issuer: &str, serial: &Serial) -> Result<Option<bool>>;

    /// Records that the holder accepted certificate `serial` of `issuer` at
    /// `at` (CMC confirmCertAcceptance): `true` the first time, `false`
    /// when it was accepted before (the first time stays).
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for a serial that is not
    /// an issued certificate of `issuer`; database failures.
    fn accept_certificate(&self, issuer: &str, serial: &Serial, at: UnixTime) -> Result<bool>;

    /// When the holder accepted certificate `serial` of `issuer`, if it did.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown serial;
    /// database failures.
    fn accepted_at(&self, issuer: &str, serial: &Serial) -> Result<Option<UnixTime>>;

    /// Withdraws issued certificate `serial` of `issuer` from publication at
    /// `at` (`publish` false: CMC publicationInfo dontPublish), or publishes
    /// it again (`publish` true). `true` when that changed its state.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for a serial that is not
    /// an issued certificate of `issuer`; database failures.
    fn set_published(
        &self,
        issuer: &str,
        serial: &Serial,
        publish: bool,
        at: UnixTime,
    ) -> Result<bool>;

    /// When certificate `serial` of `issuer` was withdrawn from
    /// publication; `None` while it is published.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown serial;
    /// database failures.
    fn unpublished_at(&self, issuer: &str, serial: &Serial) -> Result<Option<UnixTime>>;

    /// Issued (or revoked) certificates with exactly this subject, oldest
    /// first, across all CAs.
    ///
    /// # Errors
    /// Database failures.
    fn find_certs_by_subject(&self, subject: &str) -> Result<Vec<CertRecord>>;

    /// A page of records matching `filter`, in reservation order.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for a bad page limit.
    fn list_certs(&self, filter: &CertFilter, page: PageRequest) -> Result<Page<CertRecord>>;

    /// Revokes an issued certificate.
    ///
    /// # Errors
    /// [`Error::AlreadyRevoked`](crate::Error::AlreadyRevoked) with the first
    /// record, which is left unchanged (a certificate on hold is lifted with
    /// [`CertStore::unrevoke`], then revoked anew);
    /// [`Error::InvalidState`](crate::Error::InvalidState) if never issued;
    /// [`Error::Invalid`](crate::Error::Invalid) for removeFromCRL;
    /// [`Error::NotFound`](crate::Error::NotFound).
    fn revoke(
        &self,
        issuer: &str,
        serial: &Serial,
        reason: RevocationReason,
        revoked_at: UnixTime,
        invalidity_date: Option<UnixTime>,
    ) -> Result<()>;

    /// Lifts a certificateHold (removeFromCRL): the certificate is issued
    /// and valid again.
    ///
    /// # Errors
    /// [`Error::InvalidState`](crate::Error::InvalidState) unless revoked
    /// with reason certificateHold; [`Error::NotFound`](crate::Error::NotFound).
    fn unrevoke(&self, issuer: &str, serial: &Serial) -> Result<()>;

    /// Every revoked certificate of `issuer` (for a CRL), by serial.
    ///
    /// # Errors
    /// Database failures.
    fn list_revoked(&self, issuer: &str) -> Result<Vec<RevokedEntry>>;

    /// A number that changes (on every process sharing the database) each
    /// time a certificate of `issuer` is revoked or its hold lifted: a CRL
    /// built at one epoch is current while the epoch stays the same. 0
    /// before the first revocation.
    ///
    /// # Errors
    /// Database failures.
    fn revocation_epoch(&self, issuer: &str) -> Result<u64>;
}

/// A CA's issued certificates read by position: counts, one sorted page
/// at an offset, every serial (for clients that page by index, such as the
/// admin requests of the swedenconnect ca-cmc client). Only issued and
/// revoked certificates are listed, never a reservation or a failure.
pub trait CertCatalog: Send + Sync {
    /// How many certificates `issuer` has issued, and how many of them are
    /// valid at `at` (not revoked nor on hold, `notBefore <= at <
    /// notAfter`).
    ///
    /// # Errors
    /// Database failures.
    fn count_issued(&self, issuer: &str, at: UnixTime) -> Result<CertCounts>;

    /// One page of `range.issuer`'s certificates, in `range.order`.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for a limit of 0 or above
    /// [`CertRange::MAX_LIMIT`], or an offset beyond `i64`; database
    /// failures.
    fn issued_range(&self, range: &CertRange) -> Result<Vec<ListedCert>>;

    /// The serials of `issuer`'s certificates in numeric order, at most
    /// `limit` of them (ask for one more than you answer with to learn
    /// whether there are more).
    ///
    /// # Errors
    /// Database failures.
    fn issued_serials(&self, issuer: &str, limit: u32) -> Result<Vec<Serial>>;
}

/// Registered CMC clients (end entities, RAs, agents).
pub trait ClientStore: Send + Sync {
    /// Registers a client; the fingerprint is computed from its certificate.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if the id or the
    /// certificate fingerprint is taken.
    fn add_client(&self, client: &NewClient, now: UnixTime) -> Result<ClientRecord>;

    /// The client with this id, if any.
    ///
    /// # Errors
    /// Database failures.
    fn get_client(&self, id: &str) -> Result<Option<ClientRecord>>;

    /// The client whose certificate has this SHA-256 fingerprint, if any
    /// (disabled and expired ones too: check
    /// [`ClientRecord::is_active`]).
    ///
    /// # Errors
    /// Database failures.
    fn get_client_by_fingerprint(&self, fingerprint: &Fingerprint) -> Result<Option<ClientRecord>>;

    /// The client whose MAC credential has this reference, with the
    /// credential's sealed secret, if any (disabled and expired ones too).
    ///
    /// # Errors
    /// Database failures.
    fn get_client_by_mac_reference(
        &self,
        reference: &str,
    ) -> Result<Option<(ClientRecord, Vec<u8>)>>;

    /// A page of clients, in registration order.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for a bad page limit.
    fn list_clients(&self, page: PageRequest) -> Result<Page<ClientRecord>>;

    /// Gives client `id` a new certificate (a new credential: its key was
    /// rotated or its certificate renewed): the certificate, fingerprint
    /// and expiry change, the role, grants, names and history stay; the
    /// old certificate no longer identifies it. `event` is recorded in the
    /// same transaction.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound);
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) when the
    /// certificate is another client's (or this client's already).
    fn replace_client_certificate(
        &self,
        id: &str,
        cert_der: &[u8],
        expires_at: Option<UnixTime>,
        event: &AuditEvent,
    ) -> Result<ClientRecord>;

    /// Disables a client. Disabling twice keeps the first time.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    fn disable_client(&self, id: &str, now: UnixTime) -> Result<()>;

    /// The clients whose certificate subject is `subject` (as
    /// [`NewClient::subject`] was given).
    ///
    /// # Errors
    /// Database failures.
    fn find_clients_by_subject(&self, subject: &str) -> Result<Vec<ClientRecord>>;

    /// Records the certificate subject of a client registered before schema
    /// version 5 (whose subject is `None`); a subject already set is kept.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    fn set_client_subject(&self, id: &str, subject: &str) -> Result<()>;
}

/// Shared secrets for identityProofV2 and revocation.
pub trait SecretStore: Send + Sync {
    /// Stores a secret (its derived key only).
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if the CA
    /// already has this identification; [`Error::NotFound`](crate::Error::NotFound)
    /// for an unknown CA.
    fn add_secret(&self, secret: &NewSecret, now: UnixTime) -> Result<()>;

    /// The secret, if any, in whatever state.
    ///
    /// # Errors
    /// Database failures.
    fn get_secret(&self, ca: &str, identification: &str) -> Result<Option<SecretRecord>>;

    /// The secrets of a CA, or of all CAs.
    ///
    /// # Errors
    /// Database failures.
    fn list_secrets(&self, ca: Option<&str>) -> Result<Vec<SecretRecord>>;

    /// Marks the secret used, once: of any number of concurrent calls, on any
    /// number of processes, exactly one succeeds. Call it after the proof
    /// verified.
    ///
    /// # Errors
    /// [`Error::SecretUsed`](crate::Error::SecretUsed),
    /// [`Error::SecretLocked`](crate::Error::SecretLocked),
    /// [`Error::SecretExpired`](crate::Error::SecretExpired),
    /// [`Error::NotFound`](crate::Error::NotFound).
    fn consume_secret(&self, ca: &str, identification: &str, now: UnixTime)
    -> Result<SecretRecord>;

    /// Counts a failed proof; at `lock_after` failures the secret locks.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    fn record_secret_failure(
        &self,
        ca: &str,
        identification: &str,
        lock_after: u32,
    ) -> Result<SecretFailures>;

    /// Gives back a secret that [`SecretStore::consume_secret`] marked used
    /// at `used_at`, because what it was spent on did not happen (the
    /// issuance failed). A secret used at another time is left alone.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) if no secret was used at
    /// that time.
    fn release_secret(&self, ca: &str, identification: &str, used_at: UnixTime) -> Result<()>;

    /// Unlocks a locked secret and clears its failed attempts (an operator's
    /// decision after a lockout).
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    fn unlock_secret(&self, ca: &str, identification: &str) -> Result<()>;

    /// Revokes a secret not used yet: it ends at `now` (its expiry becomes
    /// `now`, so every check refuses it from then on, and no unlock brings
    /// it back).
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown secret;
    /// the reason it is unusable already (`SecretUsed`, `SecretExpired`)
    /// for one that was used or had expired.
    fn revoke_secret(&self, ca: &str, identification: &str, now: UnixTime) -> Result<()>;
}

/// Keys the engine derives values from that every process sharing the
/// database must agree on (the encryptedPOP challenge key).
pub trait EngineKeyStore: Send + Sync {
    /// The key called `name`: the stored one, or `candidate` stored now if
    /// there was none (of concurrent first calls, one candidate wins and
    /// every caller gets it).
    ///
    /// # Errors
    /// Database failures.
    fn engine_key(&self, name: &str, candidate: &[u8], now: UnixTime) -> Result<Vec<u8>>;
}

/// Certificates waiting for their requester's confirmation (CMP certConf).
pub trait ConfirmationStore: Send + Sync {
    /// Records that the certificate `new.serial` waits for confirmation
    /// until `new.deadline`. A settled record of the same transaction is
    /// replaced; a waiting one is kept and this fails.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) while a
    /// certificate of the transaction waits; database failures.
    fn await_confirmation(&self, new: &NewConfirmation, now: UnixTime) -> Result<()>;

    /// The record of the transaction, if any (settled too).
    ///
    /// # Errors
    /// Database failures.
    fn get_confirmation(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
    ) -> Result<Option<ConfirmationRecord>>;

    /// Settles a waiting record as `to`: `true` if this call did (it was
    /// waiting), `false` if it had been settled already, so that of two
    /// nodes settling one record exactly one acts on it.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) without a record;
    /// database failures.
    fn settle_confirmation(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
        to: ConfirmationState,
        now: UnixTime,
    ) -> Result<bool>;

    /// Up to `limit` records still waiting whose deadline is at or before
    /// `now`, oldest deadline first.
    ///
    /// # Errors
    /// Database failures.
    fn overdue_confirmations(&self, now: UnixTime, limit: u32) -> Result<Vec<ConfirmationRecord>>;
}

/// Nonces and transactionIds, against replay.
pub trait ReplayStore: Send + Sync {
    /// Remembers a senderNonce of a signer until `expires_at`. The database's
    /// unique key decides: a nonce still remembered at `now` is a replay.
    /// An expired record of the same nonce is replaced.
    ///
    /// # Errors
    /// [`Error::Replay`](crate::Error::Replay);
    /// [`Error::Invalid`](crate::Error::Invalid) for an empty or too long
    /// nonce.
    fn remember_nonce(
        &self,
        signer: &Fingerprint,
        nonce: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<()>;

    /// Whether `signer` sent `nonce` and it has not expired at `now`: a
    /// read, for refusing a replay before any work is done (the commit of
    /// the [`Write::Nonce`](crate::Write::Nonce) decides).
    ///
    /// # Errors
    /// Database failures.
    fn nonce_in_use(&self, signer: &Fingerprint, nonce: &[u8], now: UnixTime) -> Result<bool>;

    /// Starts a transaction or finds the live record of an earlier round.
    /// An expired record is replaced as if it did not exist.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for an empty or too long
    /// transaction id.
    fn open_transaction(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<TransactionOpen>;

    /// The transaction's record, if any (expired or not).
    ///
    /// # Errors
    /// Database failures.
    fn get_transaction(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
    ) -> Result<Option<TransactionRecord>>;

    /// Sets the transaction's state and expiry.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    fn set_transaction_state(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
        state: &TransactionState,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<()>;

    /// Deletes nonces and transactions expired at `now`; returns how many.
    ///
    /// # Errors
    /// Database failures.
    fn purge_expired(&self, now: UnixTime) -> Result<u64>;
}

/// Requests waiting for an agent.
pub trait PendingStore: Send + Sync {
    /// Stores a pending request.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) for a taken id;
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown CA.
    fn create_pending(&self, pending: &NewPending, now: UnixTime) -> Result<()>;

    /// The pending request, if any.
    ///
    /// # Errors
    /// Database failures.
    fn get_pending(&self, id: &str) -> Result<Option<PendingRecord>>;

    /// A page of requests matching `filter`, oldest first.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for a bad page limit.
    fn list_pending(
        &self,
        filter: &PendingFilter,
        page: PageRequest,
    ) -> Result<Page<PendingRecord>>;

    /// Claims an undecided request until `until` for the decision
    /// identified by `claim`, so that no other decision is taken meanwhile
    /// (an approval issues a certificate before it records the decision).
    /// A claim past its `until` no longer counts.
    ///
    /// # Errors
    /// [`Error::InvalidState`](crate::Error::InvalidState) if decided, or
    /// claimed by another decision; [`Error::NotFound`](crate::Error::NotFound).
    fn claim_pending(&self, id: &str, claim: &str, until: UnixTime, now: UnixTime) -> Result<()>;

    /// Gives up the claim `claim` (after a failed approval).
    ///
    /// # Errors
    /// Database failures.
    fn release_pending(&self, id: &str, claim: &str) -> Result<()>;

    /// Approves an undecided request, recording the serial it was issued
    /// with and any replacement template. Of two concurrent decisions one
    /// wins; a request claimed by another decision (`claim` is ours, if
    /// any) is refused.
    ///
    /// # Errors
    /// [`Error::InvalidState`](crate::Error::InvalidState) if already
    /// decided or claimed by another; [`Error::NotFound`](crate::Error::NotFound).
    fn approve_pending(
        &self,
        id: &str,
        decided_by: &str,
        serial: &Serial,
        replacement_template_der: Option<&[u8]>,
        claim: Option<&str>,
        now: UnixTime,
    ) -> Result<()>;

    /// Rejects an undecided request that no other decision has claimed.
    ///
    /// # Errors
    /// [`Error::InvalidState`](crate::Error::InvalidState) if already
    /// decided or claimed; [`Error::NotFound`](crate::Error::NotFound).
    fn reject_pending(&self, id: &str, decided_by: &str, reason: &str, now: UnixTime)
    -> Result<()>;

    /// Undecided requests for a CA (for the per-CA cap).
    ///
    /// # Errors
    /// Database failures.
    fn count_pending_for_ca(&self, ca: &str) -> Result<u64>;

    /// Undecided requests of a client (for the per-client cap).
    ///
    /// # Errors
    /// Database failures.
    fn count_pending_for_client(&self, client: &str) -> Result<u64>;
}

/// CRL numbers and the latest CRL.
pub trait CrlStore: Send + Sync {
    /// The next cRLNumber of `issuer`: 1, 2, 3, ..., strictly increasing and
    /// never handed out twice, even to several processes at once.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown issuer.
    fn next_crl_number(&self, issuer: &str) -> Result<u64>;

    /// Makes every later [`CrlStore::next_crl_number`] of `issuer` greater
    /// than `at_least` (a CRL imported from the CA's previous software
    /// carried that number). A counter already past it is left alone.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown issuer;
    /// [`Error::Invalid`](crate::Error::Invalid) for a number above
    /// `i64::MAX`.
    fn advance_crl_number(&self, issuer: &str, at_least: u64) -> Result<()>;

    /// Stores a CRL as the latest unless a CRL with a higher number is
    /// already stored; returns whether it was stored.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown issuer.
    fn store_crl(&self, crl: &CrlRecord) -> Result<bool>;

    /// The latest CRL of `issuer`, if any.
    ///
    /// # Errors
    /// Database failures.
    fn latest_crl(&self, issuer: &str) -> Result<Option<CrlRecord>>;

    /// Hands every revoked certificate of `issuer` to `f`, in the order of
    /// [`CertStore::list_revoked`], straight from one database cursor: a
    /// CRL of millions of entries is built without the list in memory.
    /// Returns how many were read. The rows come from one statement, so
    /// they are one consistent snapshot.
    ///
    /// # Errors
    /// Database failures, or the first error `f` returns (which stops the
    /// listing).
    fn for_each_revoked(
        &self,
        issuer: &str,
        f: &mut dyn FnMut(RevokedEntry) -> Result<()>,
    ) -> Result<u64>;

    /// [`CrlStore::for_each_revoked`] for what key generation `generation` of `issuer` signed.
    ///
    /// # Errors
    /// As [`CrlStore::for_each_revoked`].
    fn for_each_revoked_of_generation(
        &self,
        issuer: &str,
        generation: u32,
        f: &mut dyn FnMut(RevokedEntry) -> Result<()>,
    ) -> Result<u64>;
}

/// The audit trail.
pub trait AuditLog: Send + Sync {
    /// Appends an event; it is durable when this returns. Returns its id.
    ///
    /// # Errors
    /// Database failures.
    fn append_audit(&self, event: &AuditEvent) -> Result<i64>;

    /// A page of events matching `filter`, oldest first.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for a bad page limit.
    fn list_audit(&self, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditRecord>>;
}

/// Everything one request writes, in one durable transaction, grouped with
/// other callers' units under load (see the crate's `store/unit.rs`).
pub trait UnitStore: Send + Sync {
    /// Commits `unit` (all its writes, or none), durable when this returns
    /// `Ok`. Concurrent callers' units share one commit; a unit whose write
    /// is refused is rolled back alone and the others commit.
    ///
    /// # Errors
    /// [`Error::Replay`](crate::Error::Replay) for a nonce this signer sent
    /// before; [`Error::SerialInUse`](crate::Error::SerialInUse) for a taken
    /// serial; [`Error::SecretUsed`](crate::Error::SecretUsed),
    /// [`Error::SecretLocked`](crate::Error::SecretLocked),
    /// [`Error::SecretExpired`](crate::Error::SecretExpired) or
    /// [`Error::NotFound`](crate::Error::NotFound) for a secret that cannot
    /// be spent; [`Error::NotFound`](crate::Error::NotFound) for an unknown
    /// CA; [`Error::Invalid`](crate::Error::Invalid) for an unusable nonce;
    /// database failures. Nothing of the unit is stored then.
    fn commit_unit(&self, unit: WriteUnit) -> Result<()>;

    /// How many commits and units the writer has made since the store was
    /// opened (commits per unit is the fsync cost of a request).
    fn write_stats(&self) -> WriteStats;
}

/// Loading many certificate rows at once (scale benchmarks, migrations).
pub trait BulkLoad: Send + Sync {
    /// Inserts `certs` (issued, or revoked when they carry a revocation)
    /// with their SANs in one transaction, a few hundred rows per
    /// prepared statement; returns how many were inserted. If any is
    /// revoked, the issuer's revocation epoch moves once. No audit event
    /// is written: these certificates were not issued by this engine. Pass
    /// chunks of some ten thousand rows: each call is one commit.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if a serial
    /// is already stored for its issuer (nothing of the call is stored
    /// then);
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown issuer;
    /// [`Error::Invalid`](crate::Error::Invalid) for an empty certificate.
    fn bulk_insert_certs(&self, certs: &[BulkCert]) -> Result<u64>;

    /// [`BulkLoad::bulk_insert_certs`] for a migration that may run again:
    /// a certificate whose (issuer, serial) is already stored is skipped
    /// (left as it is), the others inserted, in one transaction. Returns the
    /// serials inserted.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown issuer;
    /// [`Error::Invalid`](crate::Error::Invalid) for an empty certificate;
    /// nothing of the call is stored then.
    fn import_certs(&self, certs: &[BulkCert]) -> Result<Vec<Serial>>;

    /// Revokes the issued certificates of `issuer` named in `entries` (the
    /// entries of an imported CRL) in one transaction, and says for each
    /// what was done, in order. The revocation epoch moves once if any was
    /// revoked. No audit event is written (the caller writes one for the
    /// import).
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for removeFromCRL (nothing
    /// is stored then); database failures.
    fn import_revocations(
        &self,
        issuer: &str,
        entries: &[(Serial, Revocation)],
    ) -> Result<Vec<ImportedRevocation>>;
}

/// Everything: what [`crate::open`] returns. `Arc<dyn Store>` coerces to
/// `Arc<dyn CertStore>` and the other narrow traits, so each consumer is
/// handed only what it needs.
pub trait Store:
    CaStore
    + CertStore
    + CertCatalog
    + ClientStore
    + ConfirmationStore
    + SecretStore
    + ReplayStore
    + PendingStore
    + CrlStore
    + EngineKeyStore
    + AuditLog
    + Search
    + UnitStore
    + BulkLoad
    + crate::export::Backup
    + std::fmt::Debug
{
    /// The schema version of the database (the highest migration applied).
    ///
    /// # Errors
    /// Database failures.
    fn schema_version(&self) -> Result<i64>;
}
