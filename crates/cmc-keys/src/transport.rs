//! RSA key transport (RFC 5652 §6.2.1 KeyTransRecipientInfo): the paddings a
//! CMS sender may use to carry a content-encryption key to an RSA key.

use zeroize::Zeroizing;

use crate::Error;

/// A hash of RSAES-OAEP (RFC 8017 §7.1, RFC 4055 §4.1): of the label, or
/// of MGF1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OaepHash {
    /// SHA-1 (the RFC 4055 default parameters).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// How a content-encryption key was encrypted to an RSA key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RsaKeyTransport {
    /// RSAES-PKCS1-v1_5 (rsaEncryption). Decrypted with implicit rejection
    /// (the Marvin countermeasure of the `rsa` crate): a bad padding yields
    /// a synthetic plaintext, never a distinct error.
    Pkcs1v15,
    /// RSAES-OAEP with an empty label: `hash` of the label, `mgf1` the hash
    /// of MGF1 (the same as `hash` from OpenSSL; SHA-1 with SHA-256 from
    /// Java's "OAEPWithSHA-256AndMGF1Padding").
    Oaep {
        /// The label hash.
        hash: OaepHash,
        /// The MGF1 hash.
        mgf1: OaepHash,
    },
}

/// Decrypts `ciphertext` with `key` under `padding`.
pub(crate) fn decrypt(
    key: &rsa::RsaPrivateKey,
    padding: RsaKeyTransport,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let out = match padding {
        RsaKeyTransport::Pkcs1v15 => key.decrypt(rsa::Pkcs1v15Encrypt, ciphertext),
        RsaKeyTransport::Oaep { hash, mgf1 } => match hash {
            OaepHash::Sha1 => oaep::<sha1::Sha1>(key, mgf1, ciphertext),
            OaepHash::Sha256 => oaep::<sha2::Sha256>(key, mgf1, ciphertext),
            OaepHash::Sha384 => oaep::<sha2::Sha384>(key, mgf1, ciphertext),
            OaepHash::Sha512 => oaep::<sha2::Sha512>(key, mgf1, ciphertext),
        },
    };
    out.map(Zeroizing::new).map_err(|_| Error::Decrypt)
}

/// RSAES-OAEP with label hash `D` and MGF1 over `mgf1`.
fn oaep<D>(key: &rsa::RsaPrivateKey, mgf1: OaepHash, ciphertext: &[u8]) -> rsa::Result<Vec<u8>>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset + Send + Sync + 'static,
{
    match mgf1 {
        OaepHash::Sha1 => key.decrypt(rsa::Oaep::<D, sha1::Sha1>::new_with_mgf_hash(), ciphertext),
        OaepHash::Sha256 => key.decrypt(
            rsa::Oaep::<D, sha2::Sha256>::new_with_mgf_hash(),
            ciphertext,
        ),
        OaepHash::Sha384 => key.decrypt(
            rsa::Oaep::<D, sha2::Sha384>::new_with_mgf_hash(),
            ciphertext,
        ),
        OaepHash::Sha512 => key.decrypt(
            rsa::Oaep::<D, sha2::Sha512>::new_with_mgf_hash(),
            ciphertext,
        ),
    }
}
