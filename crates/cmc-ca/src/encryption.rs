//! The CA's encryption credential (`[ca.NAME.encryption]`): the
//! certificate and key that encrypted Full PKI Requests are addressed to
//! (RFC 5272 §5, EnvelopedData or AuthEnvelopedData around the signed
//! request).
//!
//! ```toml
//! [ca.root.encryption]
//! certificate = "cmc-encryption.pem"   # RSA (keyEncipherment) or P-256/P-384 (keyAgreement)
//! key = { backend = "file", path = "cmc-encryption.key", passphrase = { file = "enc-pass" }, scheme = "rsa-pkcs1v15-sha256" }
//! # or on a token:
//! # key = { backend = "pkcs11", module = "/usr/lib/softhsm/libsofthsm2.so", token_label = "ca",
//! #         key_label = "cmc-encryption", pin = { file = "pin" }, scheme = "rsa-pkcs1v15-sha256" }
//! ```
//!
//! The key is configured as a CA key is; its `scheme` must fit the key
//! (it is not used: the key only decrypts). A file key (encrypted PKCS #8,
//! or `unencrypted = true`) decrypts in this process; a PKCS #11 key on its
//! token ([`cmc_keys::DecryptionKey`]): an RSA key needs `CKA_DECRYPT` and
//! the token's `CKM_RSA_PKCS_OAEP` (with the hash and MGF1 hash the sender
//! chose; SoftHSM 2.6 does SHA-1 only, other parameters are answered
//! badAlg) and `CKM_RSA_PKCS`; a P-256 or
//! P-384 key needs `CKA_DERIVE` and `CKM_ECDH1_DERIVE` (with `CKD_NULL`,
//! into a session object whose value is read). A token key without the
//! attribute is refused at start. PKCS #1 v1.5 on a token answers a bad
//! padding with a random key, but the token's timing may still differ:
//! senders should prefer RSAES-OAEP. The certificate need not be issued by
//! the CA (`cmc-tool ca encryption-cert` has the CA issue one), but it must
//! hold the key, and its keyUsage, if any, must allow keyEncipherment
//! (RSA) or keyAgreement (EC).

use std::path::PathBuf;
use std::sync::Arc;

use cmc_keys::DecryptionKey;
use der::{Decode, DecodePem};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use crate::error::{Error, Result};
use crate::key_config::KeyConfig;

/// `[ca.NAME.encryption]`: the certificate and key encrypted requests to
/// this CA are addressed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionSettings {
    /// The encryption certificate (PEM or DER).
    pub certificate: PathBuf,
    /// Where its key is, as for a CA key (a file or a PKCS #11 token).
    pub key: KeyConfig,
}

impl EncryptionSettings {
    /// Checks the key configuration. The error names the key (`key: ...`).
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.key.validate().map_err(|e| format!("key: {e}"))
    }
}

/// An opened encryption credential.
pub struct EncryptionCredential {
    cert: Certificate,
    key: Arc<dyn DecryptionKey>,
}

impl std::fmt::Debug for EncryptionCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptionCredential")
            .field(
                "subject",
                &self.cert.tbs_certificate().subject().to_string(),
            )
            .finish_non_exhaustive()
    }
}

impl EncryptionCredential {
    /// Reads the certificate, opens the key and checks that they belong
    /// together and that the certificate can receive encrypted messages.
    /// `ca` names the CA in error messages.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and what is wrong; key errors (a
    /// PKCS #11 key without `CKA_DECRYPT` or `CKA_DERIVE` among them).
    pub fn open(ca: &str, settings: &EncryptionSettings) -> Result<Self> {
        settings
            .validate()
            .map_err(|e| Error::Config(format!("ca.{ca}.encryption.{e}")))?;
        let path = &settings.certificate;
        let bad = |why: String| {
            Error::Config(format!(
                "ca.{ca}.encryption.certificate {}: {why}",
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
        let key = settings.key.open_decryption()?;
        if !crate::x509::holds_key(&cert, key.public_key())? {
            return Err(bad(format!(
                "does not hold the public key of ca.{ca}.encryption.key"
            )));
        }
        if !cmc_codec::encrypt::can_encrypt_to(&cert) {
            return Err(bad(
                "is not an encryption certificate: an RSA key whose keyUsage allows keyEncipherment, or a P-256/P-384 key whose keyUsage allows keyAgreement".into(),
            ));
        }
        Ok(Self { cert, key })
    }

    /// The encryption certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// Its key.
    #[must_use]
    pub fn key(&self) -> &dyn DecryptionKey {
        &*self.key
    }

    /// ECDH of the credential's key with `peer` (an uncompressed or
    /// compressed point on its curve): the shared secret Z, or `None` when
    /// there is no agreement with that point (not on the curve, another
    /// curve, an RSA credential), which is the request's fault.
    ///
    /// # Errors
    /// [`Error::Key`] when the key itself fails (a token that is gone, a
    /// key without `CKA_DERIVE`): the CA's fault.
    pub fn agree(&self, peer: &[u8]) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        match self.key.ecdh(peer) {
            Ok(z) => Ok(Some(z)),
            Err(cmc_keys::Error::Decrypt | cmc_keys::Error::UnsupportedKey(_)) => Ok(None),
            Err(e) => Err(Error::Key(e)),
        }
    }
}
