//! A CMC responder certificate: a key other than the CA's that signs the
//! CA's CMC responses (`[ca.NAME.responder]`), so that the CA key signs only
//! certificates and CRLs and can stay in an HSM with a tighter policy.

use std::sync::Arc;

use cmc_keys::SigningKey;
use cmc_store::UnixTime;
use der::{Decode, DecodePem};
use x509_cert::Certificate;

use crate::ca::LoadedCa;
use crate::config::ResponderSettings;
use crate::error::{Error, Result};
use crate::x509::unix_time;

/// An opened responder: its certificate (issued by the CA it answers for)
/// and its key.
pub struct Responder {
    cert: Certificate,
    key: Arc<dyn SigningKey>,
    not_before: UnixTime,
    not_after: UnixTime,
    signer: cmc_codec::SignerIdentity,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field(
                "subject",
                &self.cert.tbs_certificate().subject().to_string(),
            )
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// Reads the certificate, opens the key and checks that they belong
    /// together and to `ca`: the key is the certificate's, and the
    /// certificate's signature verifies under the CA's key.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and what is wrong; key errors.
    pub fn open(ca: &LoadedCa, settings: &ResponderSettings) -> Result<Self> {
        let path = &settings.certificate;
        let bad = |why: String| {
            Error::Config(format!(
                "ca.{}.responder.certificate {}: {why}",
                ca.name(),
                path.display()
            ))
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let cert = if bytes.starts_with(b"-----BEGIN") {
            Certificate::from_pem(&bytes)
        } else {
            Certificate::from_der(&bytes)
        }
        .map_err(|e| bad(format!("does not decode: {e}")))?;
        if !cmc_codec::issued_by(&cert, ca.certificate()) {
            return Err(bad(format!(
                "is not issued by CA {:?} (issuer name or signature)",
                ca.name()
            )));
        }
        let key = settings.key.open()?;
        if !crate::x509::holds_key(&cert, key.public_key())? {
            return Err(bad(format!(
                "does not hold the public key of ca.{}.responder.key",
                ca.name()
            )));
        }
        let validity = cert.tbs_certificate().validity();
        // Its CMS signatures carry it, the CA certificate and the CA's
        // chain, encoded once here.
        let mut chain = vec![ca.certificate().clone()];
        for der in ca.chain_der() {
            chain.push(
                Certificate::from_der(der)
                    .map_err(|e| bad(format!("the CA chain does not decode: {e}")))?,
            );
        }
        let signer =
            cmc_codec::SignerIdentity::new(&cert, &chain).map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            not_before: unix_time(&validity.not_before),
            not_after: unix_time(&validity.not_after),
            cert,
            key,
            signer,
        })
    }

    /// The responder certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// Its key.
    #[must_use]
    pub fn key(&self) -> &Arc<dyn SigningKey> {
        &self.key
    }

    /// What a CMS message it signs signs as: its certificate, the CA
    /// certificate and the CA's chain, encoded once when it was opened.
    #[must_use]
    pub fn signer_identity(&self) -> &cmc_codec::SignerIdentity {
        &self.signer
    }

    /// Whether the certificate is valid at `now`.
    #[must_use]
    pub fn is_valid_at(&self, now: UnixTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// notAfter.
    #[must_use]
    pub fn not_after(&self) -> UnixTime {
        self.not_after
    }
}
