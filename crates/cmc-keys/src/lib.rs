#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod adapter;
mod decryption;
mod error;
#[cfg(feature = "aws-lc")]
mod fast;
mod file;
mod hash;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
mod secret;
mod spec;
mod transport;

pub use adapter::{KeyAdapter, PublicKey, RawSignature};
pub use decryption::DecryptionKey;
pub use error::Error;
pub use file::FileKey;
pub use hash::HashAlg;
pub use secret::{Secret, SecretSource};
pub use spec::{KeySpec, RsaPadding, SignatureScheme};
pub use transport::{OaepHash, RsaKeyTransport};

use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

const AWS_LC: &str = "aws-lc-rs";
const RUST_CRYPTO: &str = "RustCrypto";

/// The library file keys sign with in this build: `"aws-lc-rs"` with the
/// `aws-lc` feature (the default), `"RustCrypto"` without it (the
/// `pure-rust` build). A few ECDSA curve/hash pairs sign with RustCrypto in
/// either build: [`FileKey::backend`] tells for one key. PKCS #11 keys sign
/// in their token whatever this says.
#[must_use]
pub const fn backend_name() -> &'static str {
    if cfg!(feature = "aws-lc") {
        AWS_LC
    } else {
        RUST_CRYPTO
    }
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

    /// The digest `AlgorithmIdentifier` (absent parameters, RFC 5754 §2),
    /// ready for a CMS `SignerInfo.digestAlgorithm`.
    fn digest_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.hash().algorithm_identifier()
    }

    /// Whether a signature from this key must be verified before it is
    /// relied on. `true` (the default) for a key outside this process, such
    /// as a PKCS #11 token, which may sign with another key or mechanism than
    /// the one configured, or fail silently: the engine verifies every
    /// certificate signature from such a key before it stores the
    /// certificate. A [`FileKey`] answers `false`: it signs in this process
    /// with the private key its public key was derived from (and, with
    /// AWS-LC, checked against when the key was loaded), using the algorithm
    /// it names, so verifying each signature would only double the cost of
    /// issuing (a P-384 verification costs two and a half signatures).
    fn signatures_need_verifying(&self) -> bool {
        true
    }
}
