//! A certificate row written directly by [`crate::BulkLoad`].

use super::{IssuedCert, Revocation, Serial};

/// A certificate stored as issued (or revoked) without going through
/// reservation and signing: synthetic rows for scale benchmarks, or a
/// migration from another CA's database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkCert {
    /// The issuing CA's name (must be stored).
    pub issuer: String,
    /// The serial, unique per issuer.
    pub serial: Serial,
    /// Who asked.
    pub requester: String,
    /// The profile.
    pub profile: String,
    /// The request hash.
    pub request_hash: Vec<u8>,
    /// The certificate and what is indexed of it (subject, SANs, validity);
    /// `issued_at` is also recorded as the reservation time.
    pub cert: IssuedCert,
    /// The revocation, for a row stored as revoked.
    pub revocation: Option<Revocation>,
}

/// What [`crate::BulkLoad::import_revocations`] did with one entry of an
/// imported CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportedRevocation {
    /// The certificate was issued and is now revoked.
    Revoked,
    /// The certificate was already revoked; the stored revocation is kept.
    AlreadyRevoked(Revocation),
    /// No issued certificate has this serial (not imported, or only
    /// reserved or failed): nothing was written for it.
    NotIssued,
}
