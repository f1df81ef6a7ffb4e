//! One-time enrollment secrets (RFC 5272 §6.2): what `cmc-tool secret add`
//! stores. The secret itself is handed to its holder once; the store keeps
//! the identityProofV2 key H(secret ‖ identification) and the
//! popLinkWitnessV2 key H(secret), which is what CMC and EST verification
//! need and does not give the secret back, and, for CMP's MAC protections
//! that need the secret itself, the secret sealed under the secrets key
//! outside the store ([`crate::seal`]).

use cmc_codec::identity::{ProofHash, identity_key, link_key};
use cmc_store::{
    AuditEvent, AuditKind, NewSecret, Outcome, SecretPurpose, SecretRecord, Serial, UnixTime,
};
use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// The shortest shared secret accepted (RFC 5272 §6.2.1: implementations
/// MUST support at least 16 characters; a shorter one is too easy to
/// guess).
pub const MIN_SECRET_LEN: usize = 16;

/// The longest identification accepted.
pub const MAX_IDENTIFICATION_LEN: usize = 256;

/// Characters of a generated secret: Crockford's base32 alphabet (no I, L,
/// O or U), easy to read out and type.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Length of a generated secret: 32 characters, 160 bits.
const GENERATED_LEN: usize = 32;

/// An enrollment secret to register.
#[derive(Clone)]
pub struct EnrollSecret {
    /// The CA it is for.
    pub ca: String,
    /// The identification the client sends in its identification control.
    pub identification: String,
    /// The secret (UTF-8 as the client will type it).
    pub secret: Zeroizing<String>,
    /// The hash family of its proofs.
    pub hash: ProofHash,
    /// The profile its enrollment gets; the CA's default if `None`.
    pub profile: Option<String>,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// Who registers it, for the audit log.
    pub requester: String,
    /// The names its holder may ask for; `None` (or an empty space): only
    /// what the profile's name rules allow.
    pub names: Option<cmc_policy::NameSpace>,
}

impl std::fmt::Debug for EnrollSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollSecret")
            .field("ca", &self.ca)
            .field("identification", &self.identification)
            .field("secret", &"<redacted>")
            .field("hash", &self.hash)
            .field("profile", &self.profile)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A fresh random secret of 32 characters from Crockford's base32 alphabet
/// (160 bits).
///
/// # Errors
/// [`Error::Rng`] if the system random number generator fails.
pub fn generate_secret() -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; GENERATED_LEN]);
    getrandom::fill(bytes.as_mut()).map_err(|_| Error::Rng)?;
    Ok(Zeroizing::new(
        bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect(),
    ))
}

/// The identification a certificate's revocation secret is stored under.
#[must_use]
pub fn revocation_identification(serial: &Serial) -> String {
    format!("revoke:{serial}")
}

/// Whether `passphrase` is the revocation secret of `record`: SHA-256 of
/// it equals the stored key, compared in constant time.
pub(crate) fn revocation_secret_matches(record: &SecretRecord, passphrase: &[u8]) -> bool {
    let Some(hash) = ProofHash::from_name(&record.hash_alg) else {
        return false;
    };
    let candidate = hash.hash(&[passphrase]);
    candidate.len() == record.derived_key.len()
        && candidate
            .iter()
            .zip(&record.derived_key)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A revocation secret to register for one certificate.
#[derive(Clone)]
pub struct RevocationSecret {
    /// The issuing CA.
    pub ca: String,
    /// The certificate's serial.
    pub serial: Serial,
    /// The secret (at least [`MIN_SECRET_LEN`] characters).
    pub secret: Zeroizing<String>,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// Who registers it, for the audit log.
    pub requester: String,
}

impl std::fmt::Debug for RevocationSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationSecret")
            .field("ca", &self.ca)
            .field("serial", &self.serial)
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Registers the secret that lets the holder of certificate `serial`
    /// revoke it with an unsigned revokeRequest (RFC 5272 §6.11,
    /// sharedSecret): only SHA-256 of it is stored, under the
    /// identification [`revocation_identification`]; it is spent by the
    /// revocation.
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; [`Error::InvalidRequest`] for a short secret,
    /// an expiry not in the future or a serial this CA never issued;
    /// store errors (`AlreadyExists` if the certificate has one).
    pub fn add_revocation_secret(&self, new: &RevocationSecret) -> Result<()> {
        let ca = self.ca(&new.ca)?;
        if new.secret.chars().count() < MIN_SECRET_LEN {
            return Err(Error::InvalidRequest(format!(
                "a shared secret needs at least {MIN_SECRET_LEN} characters"
            )));
        }
        let now = self.now();
        if new.expires_at <= now {
            return Err(Error::InvalidRequest(
                "the secret's expiry must be in the future".into(),
            ));
        }
        let issued = self
            .store()
            .get_cert(ca.name(), &new.serial)?
            .is_some_and(|r| r.certificate().is_some());
        if !issued {
            return Err(Error::InvalidRequest(format!(
                "CA {} issued no certificate with serial {}",
                ca.name(),
                new.serial
            )));
        }
        let identification = revocation_identification(&new.serial);
        self.store().add_secret(
            &NewSecret {
                ca: ca.name().to_owned(),
                identification: identification.clone(),
                derived_key: ProofHash::Sha256.hash(&[new.secret.as_bytes()]).to_vec(),
                link_key: None,
                hash_alg: ProofHash::Sha256.name().to_owned(),
                purpose: SecretPurpose::Revoke {
                    issuer: ca.name().to_owned(),
                    serial: new.serial.clone(),
                },
                profile: None,
                expires_at: new.expires_at,
                names: None,
                mac_secret: None,
            },
            now,
        )?;
        self.store().append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::SecretAdded,
            issuer: Some(ca.name().to_owned()),
            serial: Some(new.serial.clone()),
            profile: None,
            requester: Some(new.requester.clone()),
            outcome: Outcome::Success,
            detail: serde_json::json!({
                "identification": identification,
                "purpose": "revoke",
                "expires_at": new.expires_at.secs(),
            })
            .to_string(),
        })?;
        tracing::info!(ca = ca.name(), serial = %new.serial, "revocation secret registered");
        Ok(())
    }

    /// Unlocks a shared secret locked by failed proofs and clears its
    /// count of failures (an operator's decision: the lockout may have been
    /// someone guessing the identification), with an audit event.
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; [`cmc_store::Error::NotFound`] for an unknown
    /// identification; store errors.
    pub fn unlock_secret(&self, ca: &str, identification: &str, requester: &str) -> Result<()> {
        let ca = self.ca(ca)?;
        self.store().unlock_secret(ca.name(), identification)?;
        self.store().append_audit(&AuditEvent {
            at: self.now(),
            kind: AuditKind::SecretUnlocked,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile: None,
            requester: Some(requester.to_owned()),
            outcome: Outcome::Success,
            detail: serde_json::json!({ "identification": identification }).to_string(),
        })?;
        tracing::info!(
            ca = ca.name(),
            identification,
            by = requester,
            "secret unlocked"
        );
        Ok(())
    }

    /// Revokes a shared secret (enrollment or revocation) that was not
    /// used yet: it ends now, so no identity proof, popLinkWitness or MAC
    /// made with it is accepted from now on, and no unlock brings it back;
    /// the audit event says who revoked it.
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; [`cmc_store::Error::NotFound`] for an unknown
    /// identification; `SecretUsed` or `SecretExpired` (store errors) for
    /// one that cannot be used anyway.
    pub fn revoke_secret(&self, ca: &str, identification: &str, requester: &str) -> Result<()> {
        let ca = self.ca(ca)?;
        let now = self.now();
        self.store().revoke_secret(ca.name(), identification, now)?;
        self.store().append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::SecretRevoked,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile: None,
            requester: Some(requester.to_owned()),
            outcome: Outcome::Success,
            detail: serde_json::json!({ "identification": identification }).to_string(),
        })?;
        tracing::info!(
            ca = ca.name(),
            identification,
            by = requester,
            "secret revoked"
        );
        Ok(())
    }

    /// Registers a one-time enrollment secret: checks it, derives the two
    /// keys and stores them (never the secret), and audits the
    /// registration (without the secret).
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; [`Error::InvalidRequest`] for a secret shorter
    /// than [`MIN_SECRET_LEN`] characters, an empty or overlong
    /// identification, an expiry not in the future, a SHA-1 secret for a
    /// CA that does not allow SHA-1 proofs, or a profile the CA does not
    /// issue; store errors (a taken identification: `AlreadyExists`).
    pub fn add_enroll_secret(&self, new: &EnrollSecret) -> Result<()> {
        let ca = self.ca(&new.ca)?;
        let invalid = |why: String| Err(Error::InvalidRequest(why));
        if new.secret.chars().count() < MIN_SECRET_LEN {
            return invalid(format!(
                "a shared secret needs at least {MIN_SECRET_LEN} characters"
            ));
        }
        let id = &new.identification;
        if id.is_empty() || id.len() > MAX_IDENTIFICATION_LEN || id.chars().any(char::is_control) {
            return invalid(format!(
                "the identification must be 1 to {MAX_IDENTIFICATION_LEN} bytes without control characters"
            ));
        }
        let now = self.now();
        if new.expires_at <= now {
            return invalid("the secret's expiry must be in the future".into());
        }
        if new.hash == ProofHash::Sha1
            && !self
                .config()
                .ca_settings(ca.name())
                .allow_sha1_identity_proof
        {
            return invalid(format!(
                "CA {} does not accept SHA-1 identity proofs (allow_sha1_identity_proof)",
                ca.name()
            ));
        }
        let profile = match &new.profile {
            Some(p) => {
                self.check_profile(ca.name(), p)?;
                Some(p.clone())
            }
            None => None,
        };
        if let Some((client, _)) = self.store().get_client_by_mac_reference(id)? {
            return invalid(format!(
                "{id:?} is the reference of client {:?}'s MAC credential",
                client.id
            ));
        }
        let secret = new.secret.as_bytes();
        // Sealed too, for MAC protections that need the secret itself (CMP).
        let mac_secret = self
            .sealing_key(true)?
            .map(|key| {
                key.seal(
                    crate::seal::SealedFor::Secret {
                        ca: ca.name(),
                        identification: id,
                    },
                    secret,
                )
            })
            .transpose()?;
        let record = NewSecret {
            ca: ca.name().to_owned(),
            identification: id.clone(),
            derived_key: identity_key(new.hash, secret, Some(id)).to_vec(),
            link_key: Some(link_key(new.hash, secret).to_vec()),
            hash_alg: new.hash.name().to_owned(),
            purpose: SecretPurpose::Enroll,
            profile: profile.clone(),
            expires_at: new.expires_at,
            names: names_json(new.names.as_ref())?,
            mac_secret,
        };
        self.store().add_secret(&record, now)?;
        let detail = serde_json::json!({
            "identification": id,
            "hash": new.hash.name(),
            "expires_at": new.expires_at.secs(),
        });
        self.store().append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::SecretAdded,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile,
            requester: Some(new.requester.clone()),
            outcome: Outcome::Success,
            detail: detail.to_string(),
        })?;
        tracing::info!(ca = ca.name(), identification = %id, "enrollment secret registered");
        Ok(())
    }
}

/// The store's form of a registered name space: JSON, `None` for no
/// registration (or an empty one).
pub(crate) fn names_json(names: Option<&cmc_policy::NameSpace>) -> Result<Option<String>> {
    names
        .filter(|n| !n.is_empty())
        .map(|n| serde_json::to_string(n).map_err(|e| Error::encode("name registration", e)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_eq!(a.len(), GENERATED_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(*a, *b);
    }
}
