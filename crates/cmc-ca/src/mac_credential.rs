//! MAC credentials: principals that prove themselves with a MAC keyed by a
//! shared secret the CA can read back (CMP's PBM and PBMAC1 protections,
//! RFC 4210 §5.1.3.1, RFC 9481 §6.1).
//!
//! Two kinds, both named by the reference the client sends (`senderKID`):
//! - the long-lived MAC credential of a registered client, usually an RA
//!   (`cmc-tool client add NAME --role ra --cert C --reference R
//!   --mac-secret-file F`): the client's principal, with its role, grants and
//!   names;
//! - a one-time enrollment secret (`cmc-tool secret add`), whose
//!   identification is the reference: its owner, one certificate, with the
//!   same lockout after failed proofs as CMC's identityProofV2.
//!
//! The secrets are sealed at rest ([`crate::seal`]).

use std::sync::OnceLock;

use cmc_store::MacCredential;
use der::Decode;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::identify::Principal;
use crate::refusal::{Reason, Refused};
use crate::seal::{SealedFor, SealingKey};
use crate::secret::{MAX_IDENTIFICATION_LEN, MIN_SECRET_LEN};

/// What prefixes the reference in the replay store's credential of a MAC
/// principal.
const CREDENTIAL_PREFIX: &[u8] = b"mac-reference:";

/// A principal proven by a MAC, and the secret that keyed it: the answer is
/// protected with the same secret (RFC 9483 §3.2).
pub struct MacPrincipal {
    /// Who asked.
    pub principal: Principal,
    /// The shared secret.
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for MacPrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MacPrincipal")
            .field("principal", &self.principal)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Checks a reference: 1 to [`MAX_IDENTIFICATION_LEN`] bytes, no control
/// characters.
///
/// # Errors
/// [`Error::InvalidRequest`] naming the rule.
pub fn check_reference(reference: &str) -> Result<()> {
    if reference.is_empty()
        || reference.len() > MAX_IDENTIFICATION_LEN
        || reference.chars().any(char::is_control)
    {
        return Err(Error::InvalidRequest(format!(
            "a MAC reference must be 1 to {MAX_IDENTIFICATION_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

/// The MAC credential of a client to register: `secret` sealed with the
/// secrets key of `config` (created if there is none yet).
///
/// # Errors
/// [`Error::InvalidRequest`] for a bad reference or a secret shorter than
/// [`MIN_SECRET_LEN`] characters; the secrets key's errors.
pub fn seal_client_mac(config: &Config, reference: &str, secret: &str) -> Result<MacCredential> {
    check_reference(reference)?;
    if secret.chars().count() < MIN_SECRET_LEN {
        return Err(Error::InvalidRequest(format!(
            "a MAC secret needs at least {MIN_SECRET_LEN} characters"
        )));
    }
    let key = SealingKey::load_or_create(&config.secrets_key_path())?;
    Ok(MacCredential {
        reference: reference.to_owned(),
        sealed_secret: key.seal(SealedFor::ClientMac(reference), secret.as_bytes())?,
    })
}

/// The engine's secrets key, read once.
#[derive(Debug, Default)]
pub(crate) struct SealingSlot(OnceLock<SealingKey>);

impl Engine {
    /// The secrets key; with `create`, made when there is none. `None` when
    /// the engine has no secrets key configured.
    ///
    /// # Errors
    /// The key file's errors.
    pub(crate) fn sealing_key(&self, create: bool) -> Result<Option<&SealingKey>> {
        let Some(path) = &self.config().secrets_key else {
            return Ok(None);
        };
        let slot = &self.sealing_slot().0;
        if let Some(key) = slot.get() {
            return Ok(Some(key));
        }
        let key = if create {
            SealingKey::load_or_create(path)?
        } else {
            SealingKey::load(path)?
        };
        // Two threads may both read the file; either key is the same one.
        Ok(Some(slot.get_or_init(|| key)))
    }

    /// The principal behind a MAC with the secret of `reference` on CA
    /// `ca`: `verify` is given the secret and says whether the MAC verifies.
    /// A client's MAC credential first, else the one-time secret whose
    /// identification is `reference` (spent by its first certificate; a
    /// spent secret still names its owner when `after_issuance`, for what
    /// follows that certificate in its transaction, such as the
    /// confirmation, and [`Engine::enroll`] refuses it another).
    ///
    /// # Errors
    /// badIdentity with one answer for an unknown reference, a wrong MAC, a
    /// locked, spent or expired secret, or a secret registered without its
    /// sealed form (before MAC support), so that an outsider learns nothing
    /// about which references exist; the client checks of
    /// [`Engine::principal_by_certificate`]; internal when the secrets key
    /// cannot open a credential.
    pub fn principal_by_mac(
        &self,
        ca: &str,
        reference: &[u8],
        after_issuance: bool,
        verify: impl Fn(&[u8]) -> bool,
    ) -> Result<MacPrincipal, Refused> {
        let refuse = |why: &str| {
            tracing::info!(ca, why, "MAC credential refused");
            Refused::new(Reason::BadIdentity, "the MAC protection does not verify")
        };
        let Ok(reference) = std::str::from_utf8(reference) else {
            return Err(refuse("the reference is not UTF-8"));
        };
        if check_reference(reference).is_err() {
            return Err(refuse("malformed reference"));
        }
        let internal = |e: Error| Refused::from_error(&e, ca);
        let key = self.sealing_key(false);
        let mut credential = CREDENTIAL_PREFIX.to_vec();
        credential.extend_from_slice(reference.as_bytes());

        let client = self
            .store()
            .get_client_by_mac_reference(reference)
            .map_err(|e| internal(e.into()))?;
        if let Some((client, sealed)) = client {
            let key = key.map_err(internal)?.ok_or_else(|| {
                internal(Error::Config(
                    "a client has a MAC credential but no secrets key is configured".into(),
                ))
            })?;
            let secret = key
                .open(SealedFor::ClientMac(reference), &sealed)
                .map_err(internal)?;
            if !verify(&secret) {
                return Err(refuse("wrong MAC for a client's credential"));
            }
            let cert = Certificate::from_der(&client.cert_der)
                .map_err(|e| internal(Error::encode("a registered client's certificate", e)))?;
            let principal = self.client_principal(ca, client, &cert, credential)?;
            return Ok(MacPrincipal { principal, secret });
        }

        // A one-time secret: the same work whether it exists or not.
        let key = match key {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(ca, error = %e, "no secrets key: MAC-protected one-time secrets refused");
                None
            }
        };
        let mut opened: Option<Zeroizing<Vec<u8>>> = None;
        let principal = self.secret_principal(
            ca,
            reference,
            None,
            credential,
            after_issuance,
            |_, _, record| {
                let sealed = record.and_then(|r| r.mac_secret.as_deref().map(|m| (r, m)));
                let secret = match (key, sealed) {
                    (Some(key), Some((r, sealed))) => key
                        .open(
                            SealedFor::Secret {
                                ca: &r.ca,
                                identification: &r.identification,
                            },
                            sealed,
                        )
                        .ok(),
                    _ => None,
                };
                match secret {
                    Some(secret) => {
                        let ok = verify(&secret);
                        opened = Some(secret);
                        ok
                    }
                    None => {
                        // No usable sealed secret: a throwaway check, and a failure.
                        let _ = verify(&[0u8; MIN_SECRET_LEN]);
                        false
                    }
                }
            },
        )?;
        let secret = opened.ok_or_else(|| refuse("no sealed secret"))?;
        Ok(MacPrincipal { principal, secret })
    }
}
