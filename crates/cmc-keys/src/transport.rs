//! RSA key transport (RFC 5652 §6.2.1 KeyTransRecipientInfo): the paddings a
//! CMS sender may use to carry a content-encryption key to an RSA key.

use zeroize::Zeroizing;

use crate::Error;

/// The hash of RSAES-OAEP (RFC 8017 §7.1, RFC 4055 §4.1); MGF1 uses the
/// same hash, as OpenSSL sends unless told otherwise.
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
    /// (RFC 8017 bis, the Marvin countermeasure of the `rsa` crate): a bad
    /// padding yields a synthetic plaintext, never a distinct error.
    Pkcs1v15,
    /// RSAES-OAEP with an empty label and MGF1 over the same hash.
    Oaep(OaepHash),
}

/// Decrypts `ciphertext` with `key` under `padding`.
pub(crate) fn decrypt(
    key: &rsa::RsaPrivateKey,
    padding: RsaKeyTransport,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let out = match padding {
        RsaKeyTransport::Pkcs1v15 => key.decrypt(rsa::Pkcs1v15Encrypt, ciphertext),
        RsaKeyTransport::Oaep(OaepHash::Sha1) => {
            key.decrypt(rsa::Oaep::<sha1::Sha1>::new(), ciphertext)
        }
        RsaKeyTransport::Oaep(OaepHash::Sha256) => {
            key.decrypt(rsa::Oaep::<sha2::Sha256>::new(), ciphertext)
        }
        RsaKeyTransport::Oaep(OaepHash::Sha384) => {
            key.decrypt(rsa::Oaep::<sha2::Sha384>::new(), ciphertext)
        }
        RsaKeyTransport::Oaep(OaepHash::Sha512) => {
            key.decrypt(rsa::Oaep::<sha2::Sha512>::new(), ciphertext)
        }
    };
    out.map(Zeroizing::new).map_err(|_| Error::Decrypt)
}
