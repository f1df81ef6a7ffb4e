//! What a front door needs to answer a requester that proved itself with a
//! shared secret and may have no trust anchor yet (CMC's Publish Trust
//! Anchors inside Authenticated Data, RFC 5272 §6.15 and §6.16): the CA's
//! trust anchor with its sequence number, and the shared secret itself to
//! authenticate them with. Both protocol-neutral; the front door builds
//! the message.
//!
//! Settings, per CA (`[ca.NAME]`): `publish_trust_anchors` (on when
//! absent: the anchors are public certificates, and a client that has the
//! secret but no anchor can then check the CA's signature on everything
//! else), `trust_anchors_seq` (the sequence number; the root certificate's
//! notBefore in Unix seconds when absent, so that a new root raises it).

use der::Decode;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::Error;
use crate::identify::{Principal, Who};
use crate::refusal::Refused;
use crate::seal::SealedFor;

/// The trust anchors a CA publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchors {
    /// The sequence number (see the module documentation).
    pub seq_number: u64,
    /// The anchor certificates (DER): the root of the CA's chain.
    pub certificates: Vec<Vec<u8>>,
}

/// A shared secret a principal proved itself with, and the identification
/// that names it (the PBKDF2 password of RFC 5272 §3.2 is both).
pub struct SharedSecret {
    /// The identification (a one-time secret's, or a MAC credential's
    /// reference).
    pub identification: String,
    /// The secret.
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSecret")
            .field("identification", &self.identification)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Engine {
    /// The trust anchors CA `ca` publishes, or `None` where its settings
    /// say `publish_trust_anchors = false`.
    ///
    /// # Errors
    /// Unknown CA; internal when the root certificate does not decode.
    pub fn trust_anchors(&self, ca: &str) -> Result<Option<TrustAnchors>, Refused> {
        let settings = self.config().ca_settings(ca);
        if settings.publish_trust_anchors == Some(false) {
            return Ok(None);
        }
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        // The root of the active generation, then those of the passive
        // next and the retired ones (a root CA's rollover makes a new
        // anchor, published before it issues).
        let root_of = |cert: &'_ [u8], chain: &'_ [Vec<u8>]| -> Vec<u8> {
            chain.last().map_or(cert, Vec::as_slice).to_vec()
        };
        let mut roots = vec![root_of(loaded.certificate_der(), loaded.chain_der())];
        let others = loaded
            .passive()
            .map(|p| root_of(&p.cert_der, &p.chain_der))
            .into_iter()
            .chain(
                loaded
                    .retired()
                    .iter()
                    .map(|r| root_of(r.certificate_der(), r.chain_der())),
            );
        for root in others {
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        let seq_number = match settings.trust_anchors_seq {
            Some(n) => n,
            // The newest anchor's notBefore: a new anchor moves it.
            None => {
                let mut newest = 0;
                for root in &roots {
                    let not_before = Certificate::from_der(root)
                        .map_err(|e| {
                            Refused::from_error(&Error::encode("the root certificate", e), ca)
                        })?
                        .tbs_certificate()
                        .validity()
                        .not_before
                        .to_unix_duration()
                        .as_secs();
                    newest = newest.max(not_before);
                }
                newest
            }
        };
        Ok(Some(TrustAnchors {
            seq_number,
            certificates: roots,
        }))
    }

    /// The shared secret of a principal that proved itself with a one-time
    /// secret (identityProofV2), opened from its sealed copy: `None` for
    /// other principals, for secrets registered before they were sealed,
    /// and when no secrets key is configured.
    ///
    /// # Errors
    /// Internal when the secrets key cannot be read or the sealed copy does
    /// not open.
    pub fn secret_of(
        &self,
        ca: &str,
        principal: &Principal,
    ) -> Result<Option<SharedSecret>, Refused> {
        let Who::Secret { record, .. } = &principal.who else {
            return Ok(None);
        };
        let Some(sealed) = record.mac_secret.as_deref() else {
            return Ok(None);
        };
        let internal = |e: Error| Refused::from_error(&e, ca);
        let Some(key) = self.sealing_key(false).map_err(internal)? else {
            return Ok(None);
        };
        let secret = key
            .open(
                SealedFor::Secret {
                    ca: &record.ca,
                    identification: &record.identification,
                },
                sealed,
            )
            .map_err(internal)?;
        Ok(Some(SharedSecret {
            identification: record.identification.clone(),
            secret,
        }))
    }
}
