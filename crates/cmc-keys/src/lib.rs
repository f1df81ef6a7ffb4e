#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod hash;

pub use hash::HashAlg;

use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// Errors from key backends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backend failed to produce a signature.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A private key that signs on behalf of a CA, a CMC responder or a client.
///
/// The message passed to [`SigningKey::sign`] is the data to be signed (a TBS
/// certificate, DER of CMS signed attributes, ...), not a digest: the backend
/// hashes it with [`SigningKey::hash`].
pub trait SigningKey: Send + Sync + std::fmt::Debug {
    /// The public key, as it goes into a certificate.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;

    /// The signature algorithm this key produces (for example
    /// ecdsa-with-SHA384, sha256WithRSAEncryption, or RSASSA-PSS with its
    /// parameters).
    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned;

    /// The digest algorithm the signature uses (the CMS `digestAlgorithm`).
    fn hash(&self) -> HashAlg;

    /// Sign `message`, returning the signature value in the encoding its
    /// algorithm defines (DER `ECDSA-Sig-Value` for ECDSA).
    ///
    /// # Errors
    /// [`Error::Sign`] or a backend-specific error when the key cannot sign.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}
