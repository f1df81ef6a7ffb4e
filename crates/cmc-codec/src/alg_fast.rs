//! Signature verification through aws-lc-rs (the `aws-lc` feature, on by default).
//!
//! aws-lc-rs has a verification algorithm for every ECDSA curve/hash pair we accept (P-256,
//! P-384 and P-521, each with SHA-256, SHA-384 or SHA-512), for RSASSA-PKCS1-v1_5 with
//! SHA-256/384/512 and for RSASSA-PSS whose salt is as long as the digest, all with moduli of
//! 2048 to 8192 bits, our own limits. A PSS signature with any other salt length has no
//! aws-lc-rs algorithm: [`verify`] returns `None` and the RustCrypto path verifies it. The
//! key checks that give [`Error::BadPublicKey`] (key type, curve, RSA modulus size) are the
//! same on both paths.

use aws_lc_rs::signature::{self as lc, ParsedPublicKey, VerificationAlgorithm};
use cmc_keys::HashAlg;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{SECP_256_R_1, SECP_384_R_1, SECP_521_R_1};
use spki::SubjectPublicKeyInfoOwned;

use super::{MAX_RSA_BITS, MIN_RSA_BITS, SignatureAlg, check_rsa_spki, ec_curve};
use crate::{Error, Result};

/// Verifies `signature` over `message` (AWS-LC hashes it), or `None` if aws-lc-rs has no
/// algorithm for `alg` (RSA-PSS with a salt length other than the digest length).
pub(super) fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &SignatureAlg,
    message: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Option<Result<()>> {
    let (algorithm, key) = match key_for(spki, alg)? {
        Ok(found) => found,
        Err(e) => return Some(Err(e)),
    };
    let key = match ParsedPublicKey::new(algorithm, key) {
        Ok(key) => key,
        Err(e) => return Some(Err(Error::BadPublicKey(format!("public key: {e}")))),
    };
    Some(
        key.verify_sig(message, signature)
            .map_err(|_| Error::BadSignature { what }),
    )
}

/// The aws-lc-rs algorithm for `alg` and the key octets it parses (SEC1 point or PKCS #1
/// `RSAPublicKey`), after the key checks of the RustCrypto path.
#[allow(clippy::type_complexity)]
fn key_for<'a>(
    spki: &'a SubjectPublicKeyInfoOwned,
    alg: &SignatureAlg,
) -> Option<Result<(&'static dyn VerificationAlgorithm, &'a [u8])>> {
    let algorithm: Result<&'static dyn VerificationAlgorithm> = match *alg {
        SignatureAlg::Ecdsa(hash) => ec_curve(spki).and_then(|curve| ecdsa(curve, hash)),
        SignatureAlg::RsaPkcs1v15(hash) => check_rsa_spki(spki).and_then(|()| {
            Ok(match hash {
                HashAlg::Sha256 => &lc::RSA_PKCS1_2048_8192_SHA256 as &dyn VerificationAlgorithm,
                HashAlg::Sha384 => &lc::RSA_PKCS1_2048_8192_SHA384,
                HashAlg::Sha512 => &lc::RSA_PKCS1_2048_8192_SHA512,
                other => return Err(Error::UnsupportedAlgorithm { oid: other.oid() }),
            })
        }),
        SignatureAlg::RsaPss { hash, salt_len, .. } => {
            // aws-lc-rs verifies PSS with a salt as long as the digest only.
            if salt_len != hash.output_len() {
                return None;
            }
            check_rsa_spki(spki).and_then(|()| {
                Ok(match hash {
                    HashAlg::Sha256 => &lc::RSA_PSS_2048_8192_SHA256 as &dyn VerificationAlgorithm,
                    HashAlg::Sha384 => &lc::RSA_PSS_2048_8192_SHA384,
                    HashAlg::Sha512 => &lc::RSA_PSS_2048_8192_SHA512,
                    other => return Err(Error::UnsupportedAlgorithm { oid: other.oid() }),
                })
            })
        }
    };
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::BadPublicKey("subjectPublicKey has unused bits".into()));
    Some(algorithm.and_then(|a| key.map(|k| (a, k))))
}

fn ecdsa(curve: ObjectIdentifier, hash: HashAlg) -> Result<&'static dyn VerificationAlgorithm> {
    let by_hash: [&'static dyn VerificationAlgorithm; 3] = if curve == SECP_256_R_1 {
        [
            &lc::ECDSA_P256_SHA256_ASN1,
            &lc::ECDSA_P256_SHA384_ASN1,
            &lc::ECDSA_P256_SHA512_ASN1,
        ]
    } else if curve == SECP_384_R_1 {
        [
            &lc::ECDSA_P384_SHA256_ASN1,
            &lc::ECDSA_P384_SHA384_ASN1,
            &lc::ECDSA_P384_SHA512_ASN1,
        ]
    } else if curve == SECP_521_R_1 {
        [
            &lc::ECDSA_P521_SHA256_ASN1,
            &lc::ECDSA_P521_SHA384_ASN1,
            &lc::ECDSA_P521_SHA512_ASN1,
        ]
    } else {
        return Err(Error::UnsupportedAlgorithm { oid: curve });
    };
    let [sha256, sha384, sha512] = by_hash;
    match hash {
        HashAlg::Sha256 => Ok(sha256),
        HashAlg::Sha384 => Ok(sha384),
        HashAlg::Sha512 => Ok(sha512),
        other => Err(Error::UnsupportedAlgorithm { oid: other.oid() }),
    }
}

// The modulus limits of the aws-lc-rs algorithms above are ours.
const _: () = assert!(MIN_RSA_BITS == 2048 && MAX_RSA_BITS == 8192);
