//! Shared secrets (only their derived keys): what [`crate::SecretStore`]
//! takes and returns. Debug output redacts the keys.

use std::fmt;

use super::{Serial, UnixTime};
use crate::error::Error;

/// What a shared secret may be used for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretPurpose {
    /// Enrollment with identityProofV2 (RFC 5272 section 6.2.2).
    Enroll,
    /// Revoking one certificate (RFC 5272 section 6.11, sharedSecret).
    Revoke {
        /// The issuing CA's name.
        issuer: String,
        /// The serial.
        serial: Serial,
    },
}

/// A shared secret to store. Only the key derived from the secret is stored;
/// the secret itself never reaches the database.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSecret {
    /// The CA it belongs to.
    pub ca: String,
    /// The identification (unique per CA).
    pub identification: String,
    /// The identityProofV2 key: H(secret ‖ identification) (RFC 5272
    /// §6.2.1, §6.2.3).
    pub derived_key: Vec<u8>,
    /// The popLinkWitnessV2 key, H(secret) (§6.3.1.1), for enrollment
    /// secrets that may link their requests; `None` otherwise.
    pub link_key: Option<Vec<u8>>,
    /// The hash algorithm the key was derived with and the MAC uses.
    pub hash_alg: String,
    /// What it is for.
    pub purpose: SecretPurpose,
    /// The profile an enrollment uses, if fixed.
    pub profile: Option<String>,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// The names its holder may ask for (the engine's JSON name space), if
    /// registered.
    pub names: Option<String>,
    /// The secret itself, sealed by the engine, for MAC protections that
    /// need it (CMP PBM/PBMAC1); `None` when only the derived keys are kept.
    pub mac_secret: Option<Vec<u8>>,
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSecret")
            .field("ca", &self.ca)
            .field("identification", &self.identification)
            .field("derived_key", &"<redacted>")
            .field("link_key", &self.link_key.as_ref().map(|_| "<redacted>"))
            .field("hash_alg", &self.hash_alg)
            .field("purpose", &self.purpose)
            .field("profile", &self.profile)
            .field("expires_at", &self.expires_at)
            .field("names", &self.names)
            .field("mac_secret", &self.mac_secret.as_ref().map(|_| "<sealed>"))
            .finish()
    }
}

/// A stored shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRecord {
    /// The CA.
    pub ca: String,
    /// The identification.
    pub identification: String,
    /// The identityProofV2 key.
    pub derived_key: Vec<u8>,
    /// The popLinkWitnessV2 key, if stored.
    pub link_key: Option<Vec<u8>>,
    /// The hash algorithm name.
    pub hash_alg: String,
    /// What it is for.
    pub purpose: SecretPurpose,
    /// The profile, if fixed.
    pub profile: Option<String>,
    /// When it was stored.
    pub created_at: UnixTime,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// When it was consumed, if it was.
    pub used_at: Option<UnixTime>,
    /// Failed proofs so far.
    pub failed_attempts: u32,
    /// Locked after too many failures.
    pub locked: bool,
    /// The names its holder may ask for (JSON), if registered.
    pub names: Option<String>,
    /// The sealed secret, if stored (see [`NewSecret::mac_secret`]).
    pub mac_secret: Option<Vec<u8>>,
}

impl SecretRecord {
    /// Why it cannot be used at `now`, if it cannot.
    pub fn unusable_at(&self, now: UnixTime) -> Option<Error> {
        if self.used_at.is_some() {
            Some(Error::SecretUsed)
        } else if self.locked {
            Some(Error::SecretLocked)
        } else if now >= self.expires_at {
            Some(Error::SecretExpired)
        } else {
            None
        }
    }
}

impl fmt::Debug for SecretRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretRecord")
            .field("ca", &self.ca)
            .field("identification", &self.identification)
            .field("derived_key", &"<redacted>")
            .field("link_key", &self.link_key.as_ref().map(|_| "<redacted>"))
            .field("hash_alg", &self.hash_alg)
            .field("purpose", &self.purpose)
            .field("profile", &self.profile)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .field("failed_attempts", &self.failed_attempts)
            .field("locked", &self.locked)
            .finish()
    }
}

/// The count after [`crate::SecretStore::record_secret_failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretFailures {
    /// Failed attempts including this one.
    pub failed_attempts: u32,
    /// Whether the secret is now locked.
    pub locked: bool,
}
