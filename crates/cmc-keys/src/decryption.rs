//! [`DecryptionKey`]: a private key that opens what was encrypted to its
//! public key, the way a CMS recipient does (RFC 5652 §6.2): RSA key
//! transport (KeyTransRecipientInfo) and the raw ECDH agreement of
//! key agreement (KeyAgreeRecipientInfo, RFC 5753). [`FileKey`] does both in
//! this process; a [`Pkcs11Key`](crate::pkcs11::Pkcs11Key) on its token.

use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::{Error, FileKey, RsaKeyTransport, SigningKey};

/// A private key that decrypts RSA key transport or agrees ECDH secrets.
///
/// What the methods return is secret; neither says more than "did not
/// decrypt" ([`Error::Decrypt`]) about a ciphertext or point that does
/// not work. Any other error is about the key or its token, not about the
/// input.
pub trait DecryptionKey: Send + Sync + std::fmt::Debug {
    /// The public key, as it is in the certificate messages are encrypted to.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;

    /// Decrypts a CMS key transport `ciphertext` (RFC 5652 §6.2.1) under
    /// `padding`. `expected_len` is the length of the plaintext the caller
    /// expects (the content-encryption key's): with PKCS #1 v1.5, a
    /// ciphertext that does not decrypt yields no error but a synthetic
    /// plaintext (implicit rejection in software; `expected_len` random
    /// octets, drawn before the token is asked, on a token), which the
    /// caller's content decryption then fails on like any wrong key. A
    /// plaintext of another length than `expected_len` may come back; the
    /// caller checks it.
    ///
    /// # Errors
    /// [`Error::Decrypt`] when an OAEP ciphertext does not decrypt;
    /// [`Error::UnsupportedKey`] for a key that is not RSA; for a token key,
    /// [`Error::KeyUsage`] (no `CKA_DECRYPT`),
    /// [`Error::MechanismUnsupported`] and the token errors of signing.
    fn rsa_decrypt(
        &self,
        padding: RsaKeyTransport,
        ciphertext: &[u8],
        expected_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Error>;

    /// The raw ECDH shared secret Z (the x-coordinate, RFC 5753 §3.1.1) of
    /// this P-256 or P-384 key with the peer's public point `peer` (SEC1,
    /// as in an originatorKey). The point is checked to be on the key's
    /// curve before anything else.
    ///
    /// # Errors
    /// [`Error::Decrypt`] for a point that is not on the curve;
    /// [`Error::UnsupportedKey`] for an RSA or P-521 key; for a token key,
    /// [`Error::KeyUsage`] (no `CKA_DERIVE`), [`Error::MechanismUnsupported`]
    /// and the token errors of signing.
    fn ecdh(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error>;
}

impl DecryptionKey for FileKey {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        SigningKey::public_key(self)
    }

    /// In software: PKCS #1 v1.5 with the `rsa` crate's implicit
    /// rejection (`expected_len` is not used).
    fn rsa_decrypt(
        &self,
        padding: RsaKeyTransport,
        ciphertext: &[u8],
        _expected_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.decrypt_rsa(padding, ciphertext)
    }

    fn ecdh(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.ecdh_shared_secret(peer)
    }
}
