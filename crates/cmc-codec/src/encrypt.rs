//! Encrypting a Full PKI Request or Response to a certificate (RFC 5272
//! §5, "Option 1"): the signed message goes into an EnvelopedData whose
//! encrypted content type is id-signedData (the SignedData itself, not its
//! ContentInfo), AES-256-CBC, to one recipient named by
//! issuerAndSerialNumber: RSAES-OAEP with SHA-256 for an RSA key, ECDH
//! (dhSinglePass-stdDH-sha256kdf or -sha384kdf, aes256-wrap) for a P-256 or
//! P-384 key. [`crate::decrypt::open`] and `openssl cms -decrypt` open it.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::ContentInfo;
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use der::flagset::FlagSet;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

use crate::error::encode_err;
use crate::{Error, Result};

/// Whether a message can be encrypted to `cert`: its key is RSA (and its
/// keyUsage, if any, allows keyEncipherment) or P-256/P-384 (and its
/// keyUsage, if any, allows keyAgreement).
#[must_use]
pub fn can_encrypt_to(cert: &Certificate) -> bool {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let needed = if spki.algorithm.oid == const_oid::db::rfc5912::RSA_ENCRYPTION {
        KeyUsages::KeyEncipherment
    } else if spki.algorithm.oid == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY
        && spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
            .is_some_and(|c| {
                c == const_oid::db::rfc5912::SECP_256_R_1
                    || c == const_oid::db::rfc5912::SECP_384_R_1
            })
    {
        KeyUsages::KeyAgreement
    } else {
        return false;
    };
    match key_usage(cert) {
        Ok(None) => true,
        Ok(Some(usage)) => usage.contains(needed),
        Err(()) => false,
    }
}

/// The keyUsage of `cert`: `Ok(None)` without the extension, `Err` if it
/// does not decode or occurs twice.
fn key_usage(cert: &Certificate) -> std::result::Result<Option<FlagSet<KeyUsages>>, ()> {
    let mut found = None;
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        if ext.extn_id == const_oid::db::rfc5280::ID_CE_KEY_USAGE {
            if found.is_some() {
                return Err(());
            }
            let ku = KeyUsage::from_der(ext.extn_value.as_bytes()).map_err(|_| ())?;
            found = Some(ku.0);
        }
    }
    Ok(found)
}

/// Encrypts `signed` (the DER of a ContentInfo holding a SignedData: a
/// signed PKIData or PKIResponse) to `recipient`.
///
/// # Errors
/// [`Error::BadPublicKey`] if [`can_encrypt_to`] says no;
/// [`Error::NotSignedData`], [`Error::NotCms`] if `signed` is not a
/// SignedData; [`Error::Encode`].
pub fn envelop_signed(signed: &[u8], recipient: &Certificate) -> Result<ContentInfo> {
    if !can_encrypt_to(recipient) {
        return Err(Error::BadPublicKey(
            "the certificate's key cannot receive encrypted messages (RSA with keyEncipherment, P-256 or P-384 with keyAgreement)".into(),
        ));
    }
    let ci = ContentInfo::from_der(signed).map_err(|e| Error::NotCms(e.to_string()))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(Error::NotSignedData {
            content_type: ci.content_type,
        });
    }
    let content = ci.content.to_der().map_err(encode_err)?;
    let tbs = recipient.tbs_certificate();
    let rid = IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    };
    crate::envelope::envelop(tbs.subject_public_key_info(), rid, ID_SIGNED_DATA, &content)
}
