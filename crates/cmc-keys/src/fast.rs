//! File-key signing through aws-lc-rs (the `aws-lc` feature, on by default).
//!
//! The AWS-LC key pair is built once, from the key's PKCS #8 DER, when a
//! [`FileKey`](crate::FileKey) is loaded or generated and when it is given another scheme;
//! each signature is then one call into AWS-LC, which hashes the message itself. The
//! RustCrypto key stays beside it for everything else (PKCS #8 encryption, the SPKI, ECDH,
//! RSA decryption) and signs whatever aws-lc-rs has no algorithm for.
//!
//! aws-lc-rs signs ECDSA only with these curve/hash pairs: P-256 with SHA-256, P-384 with
//! SHA-384, P-521 with SHA-384 or SHA-512. The other pairs we accept (P-256 with SHA-384 or
//! SHA-512, P-384 with SHA-256 or SHA-512) fall back to RustCrypto. RSA PKCS #1 v1.5 and
//! RSA-PSS (salt as long as the digest, which is what [`SignatureScheme::RsaPss`] writes in
//! its parameters) are all covered.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as lc, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, RsaEncoding, RsaKeyPair,
};

use crate::{Error, HashAlg, KeySpec, SignatureScheme};

/// An AWS-LC key pair bound to one signature scheme.
pub(crate) enum FastKey {
    /// ECDSA, DER `ECDSA-Sig-Value` output.
    Ecdsa(EcdsaKeyPair),
    /// RSA with its padding (PKCS #1 v1.5 or PSS) and digest.
    Rsa {
        key: RsaKeyPair,
        padding: &'static dyn RsaEncoding,
    },
}

impl FastKey {
    /// The AWS-LC key pair for `pkcs8` (unencrypted PKCS #8 DER of a key of type `spec`)
    /// signing with `scheme`, or `None` where the RustCrypto path must sign instead: the
    /// scheme has no aws-lc-rs algorithm (see the module comment), AWS-LC refuses a key that
    /// the RustCrypto crates accepted, or its public key differs from `public_key` (the
    /// `subjectPublicKey` octets: the SEC1 point, or the PKCS #1 `RSAPublicKey`), which would
    /// mean the two libraries read the file differently.
    pub(crate) fn new(
        spec: KeySpec,
        scheme: SignatureScheme,
        pkcs8: &[u8],
        public_key: &[u8],
    ) -> Option<Self> {
        let fast = match scheme {
            SignatureScheme::Ecdsa(hash) => {
                let alg = ecdsa_algorithm(spec, hash)?;
                Self::Ecdsa(EcdsaKeyPair::from_pkcs8(alg, pkcs8).ok()?)
            }
            SignatureScheme::RsaPkcs1v15(hash) => Self::Rsa {
                key: RsaKeyPair::from_pkcs8(pkcs8).ok()?,
                padding: match hash {
                    HashAlg::Sha256 => &lc::RSA_PKCS1_SHA256,
                    HashAlg::Sha384 => &lc::RSA_PKCS1_SHA384,
                    HashAlg::Sha512 => &lc::RSA_PKCS1_SHA512,
                },
            },
            // aws-lc-rs's PSS signing uses a salt as long as the digest, as our
            // RSASSA-PSS-params say (`SignatureScheme::algorithm_identifier`).
            SignatureScheme::RsaPss(hash) => Self::Rsa {
                key: RsaKeyPair::from_pkcs8(pkcs8).ok()?,
                padding: match hash {
                    HashAlg::Sha256 => &lc::RSA_PSS_SHA256,
                    HashAlg::Sha384 => &lc::RSA_PSS_SHA384,
                    HashAlg::Sha512 => &lc::RSA_PSS_SHA512,
                },
            },
        };
        let same_key = match &fast {
            Self::Ecdsa(k) => k.public_key().as_ref() == public_key,
            Self::Rsa { key, .. } => key.public_key().as_ref() == public_key,
        };
        same_key.then_some(fast)
    }

    /// Sign `message` (AWS-LC hashes it).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        // aws-lc-rs ignores the generator it is given and draws from AWS-LC's own
        // RNG (seeded from the OS); the argument is there for ring compatibility.
        let rng = SystemRandom::new();
        match self {
            Self::Ecdsa(k) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Sign("ECDSA (aws-lc-rs) failed".to_owned())),
            Self::Rsa { key, padding } => {
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(*padding, &rng, message, &mut out)
                    .map_err(|_| Error::Sign("RSA (aws-lc-rs) failed".to_owned()))?;
                Ok(out)
            }
        }
    }
}

/// The aws-lc-rs ECDSA signing algorithm (DER output) for a curve and a hash, if it has one.
fn ecdsa_algorithm(spec: KeySpec, hash: HashAlg) -> Option<&'static EcdsaSigningAlgorithm> {
    match (spec, hash) {
        (KeySpec::P256, HashAlg::Sha256) => Some(&lc::ECDSA_P256_SHA256_ASN1_SIGNING),
        (KeySpec::P384, HashAlg::Sha384) => Some(&lc::ECDSA_P384_SHA384_ASN1_SIGNING),
        (KeySpec::P521, HashAlg::Sha384) => Some(&lc::ECDSA_P521_SHA384_ASN1_SIGNING),
        (KeySpec::P521, HashAlg::Sha512) => Some(&lc::ECDSA_P521_SHA512_ASN1_SIGNING),
        // No aws-lc-rs algorithm: RustCrypto signs these (module comment).
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use signature::hazmat::PrehashVerifier;

    use crate::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};

    /// A file key signs through AWS-LC exactly where aws-lc-rs has the algorithm, and what
    /// it signs verifies with RustCrypto (the codec's tests cover every direction).
    #[test]
    fn aws_lc_signatures_verify_with_rust_crypto() {
        use HashAlg::{Sha256, Sha384, Sha512};
        let cases = [
            (KeySpec::P256, Sha256, true),
            (KeySpec::P256, Sha384, false),
            (KeySpec::P256, Sha512, false),
            (KeySpec::P384, Sha256, false),
            (KeySpec::P384, Sha384, true),
            (KeySpec::P384, Sha512, false),
            (KeySpec::P521, Sha384, true),
            (KeySpec::P521, Sha512, true),
        ];
        for (spec, hash, fast) in cases {
            let key = FileKey::generate(spec)
                .unwrap()
                .with_scheme(SignatureScheme::Ecdsa(hash))
                .unwrap();
            let expected = if fast { "aws-lc-rs" } else { "RustCrypto" };
            assert_eq!(key.backend(), expected, "{spec} {hash}");
            let sig = key.sign(b"message").unwrap();
            let point = key.public_key().subject_public_key.raw_bytes();
            let verify = |digest: &[u8]| match spec {
                KeySpec::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .unwrap()
                    .verify_prehash(
                        digest,
                        &p256::ecdsa::DerSignature::from_bytes(&sig).unwrap(),
                    ),
                KeySpec::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .unwrap()
                    .verify_prehash(
                        digest,
                        &p384::ecdsa::DerSignature::from_bytes(&sig).unwrap(),
                    ),
                _ => p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .unwrap()
                    .verify_prehash(
                        digest,
                        &p521::ecdsa::DerSignature::from_bytes(&sig).unwrap(),
                    ),
            };
            verify(&hash.digest(b"message")).unwrap();
            assert!(verify(&hash.digest(b"massage")).is_err());
        }
        // RSA: every scheme through AWS-LC; PKCS #1 v1.5 is deterministic, so both
        // libraries produce the same octets.
        let rsa = FileKey::generate(KeySpec::Rsa2048).unwrap();
        assert_eq!(rsa.backend(), "aws-lc-rs");
        let der = rsa.to_pkcs8_der().unwrap();
        let sig = rsa.sign(b"message").unwrap();
        let theirs = {
            use pkcs8::DecodePrivateKey;
            let k = rsa::RsaPrivateKey::from_pkcs8_der(&der).unwrap();
            k.sign(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &Sha256.digest(b"message"),
            )
            .unwrap()
        };
        assert_eq!(sig, theirs);
        let pss = rsa.with_scheme(SignatureScheme::RsaPss(Sha384)).unwrap();
        assert_eq!(pss.backend(), "aws-lc-rs");
    }
}
