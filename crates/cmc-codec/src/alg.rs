//! Signature and digest algorithms: parsing `AlgorithmIdentifier`s and verifying
//! signatures with a `SubjectPublicKeyInfo`.
//!
//! Supported: ECDSA on P-256, P-384 and P-521 with SHA-256/384/512 in any combination (the
//! hash comes from the signature OID, not from the curve), RSASSA-PKCS1-v1_5 and RSASSA-PSS
//! with SHA-256/384/512 and RSA moduli of 2048 to 8192 bits. SHA-1 is refused everywhere.

use cmc_keys::HashAlg;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, ID_MGF_1,
    ID_RSASSA_PSS, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1, SECP_521_R_1,
    SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use der::{Any, Sequence, Tag, Tagged};
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::{Error, Result};

#[cfg(feature = "aws-lc")]
#[path = "alg_fast.rs"]
mod fast;

#[cfg(test)]
#[path = "alg_equivalence.rs"]
mod equivalence;

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits.
pub const MAX_RSA_BITS: usize = 8192;

/// A signature algorithm with everything needed to verify it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlg {
    /// ECDSA with the given digest; the signature is a DER `ECDSA-Sig-Value`.
    Ecdsa(HashAlg),
    /// RSASSA-PKCS1-v1_5 with the given digest.
    RsaPkcs1v15(HashAlg),
    /// RSASSA-PSS (RFC 4055 §3.1) with MGF1; only an MGF1 digest equal to the message
    /// digest and trailerField 1 are accepted.
    RsaPss {
        /// The message digest (`hashAlgorithm`).
        hash: HashAlg,
        /// The MGF1 digest (`maskGenAlgorithm` parameters).
        mgf1_hash: HashAlg,
        /// `saltLength` in octets.
        salt_len: usize,
    },
}

impl SignatureAlg {
    /// Interprets a signature `AlgorithmIdentifier`.
    ///
    /// `digest` is the CMS `SignerInfo.digestAlgorithm`, if there is one: some producers put
    /// the bare key algorithm (`id-ecPublicKey`, `rsaEncryption`) in `signatureAlgorithm`,
    /// and then the digest comes from there. An OID that names a digest (ecdsa-with-SHA384,
    /// sha512WithRSAEncryption, PSS parameters) wins over `digest`.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for any other algorithm, SHA-1, PSS with an MGF1
    /// digest other than the message digest, or a trailerField other than 1;
    /// [`Error::MalformedSignedData`] for parameters that do not decode.
    pub fn from_algorithm_identifier(
        alg: &AlgorithmIdentifierOwned,
        digest: Option<HashAlg>,
    ) -> Result<Self> {
        let unsupported = || Error::UnsupportedAlgorithm { oid: alg.oid };
        let oid = alg.oid;
        let null_or_absent = alg
            .parameters
            .as_ref()
            .is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty());
        let ecdsa = [
            (ECDSA_WITH_SHA_256, HashAlg::Sha256),
            (ECDSA_WITH_SHA_384, HashAlg::Sha384),
            (ECDSA_WITH_SHA_512, HashAlg::Sha512),
        ];
        let rsa = [
            (SHA_256_WITH_RSA_ENCRYPTION, HashAlg::Sha256),
            (SHA_384_WITH_RSA_ENCRYPTION, HashAlg::Sha384),
            (SHA_512_WITH_RSA_ENCRYPTION, HashAlg::Sha512),
        ];
        if let Some((_, h)) = ecdsa.iter().find(|(o, _)| *o == oid) {
            return if null_or_absent {
                Ok(Self::Ecdsa(*h))
            } else {
                Err(unsupported())
            };
        }
        if let Some((_, h)) = rsa.iter().find(|(o, _)| *o == oid) {
            return if null_or_absent {
                Ok(Self::RsaPkcs1v15(*h))
            } else {
                Err(unsupported())
            };
        }
        if oid == ID_EC_PUBLIC_KEY {
            // The parameters, if any, are the curve; the key's SPKI names it anyway.
            return digest.map(Self::Ecdsa).ok_or_else(unsupported);
        }
        if oid == RSA_ENCRYPTION && null_or_absent {
            return digest.map(Self::RsaPkcs1v15).ok_or_else(unsupported);
        }
        if oid == ID_RSASSA_PSS {
            let params = alg.parameters.as_ref().ok_or_else(unsupported)?;
            return pss_params(params);
        }
        Err(unsupported())
    }

    /// The digest the signature is computed over.
    #[must_use]
    pub const fn hash(&self) -> HashAlg {
        match self {
            Self::Ecdsa(h) | Self::RsaPkcs1v15(h) | Self::RsaPss { hash: h, .. } => *h,
        }
    }
}

/// `RSASSA-PSS-params` (RFC 4055 §3.1); the tags are EXPLICIT (the PKCS #1 module uses
/// explicit tagging).
///
/// ```text
/// RSASSA-PSS-params  ::=  SEQUENCE  {
///     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
///     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
///     saltLength         [2] INTEGER DEFAULT 20,
///     trailerField       [3] INTEGER DEFAULT 1  }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

fn pss_params(params: &Any) -> Result<SignatureAlg> {
    let sha1 = || Error::UnsupportedAlgorithm {
        oid: const_oid::db::rfc5912::ID_SHA_1,
    };
    let p: PssParams = params
        .decode_as()
        .map_err(|e| Error::MalformedSignedData(format!("RSASSA-PSS-params: {e}")))?;
    // Absent hashAlgorithm / maskGenAlgorithm mean SHA-1, which is refused.
    let hash = digest_alg(p.hash_algorithm.as_ref().ok_or_else(sha1)?)?;
    let mgf = p.mask_gen_algorithm.as_ref().ok_or_else(sha1)?;
    if mgf.oid != ID_MGF_1 {
        return Err(Error::UnsupportedAlgorithm { oid: mgf.oid });
    }
    let mgf_hash_id: AlgorithmIdentifierOwned = mgf
        .parameters
        .as_ref()
        .ok_or_else(sha1)?
        .decode_as()
        .map_err(|e| Error::MalformedSignedData(format!("MGF1 parameters: {e}")))?;
    let mgf1_hash = digest_alg(&mgf_hash_id)?;
    if mgf1_hash != hash {
        // The rsa crate uses one digest for both; say which one we cannot do.
        return Err(Error::UnsupportedAlgorithm {
            oid: mgf1_hash.oid(),
        });
    }
    if p.trailer_field.unwrap_or(1) != 1 {
        return Err(Error::UnsupportedAlgorithm { oid: ID_RSASSA_PSS });
    }
    let salt_len = usize::try_from(p.salt_length.unwrap_or(20))
        .map_err(|_| Error::UnsupportedAlgorithm { oid: ID_RSASSA_PSS })?;
    Ok(SignatureAlg::RsaPss {
        hash,
        mgf1_hash,
        salt_len,
    })
}

/// Interprets a digest `AlgorithmIdentifier` (SHA-256/384/512, parameters absent or NULL as
/// RFC 5754 §2 allows on input).
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for any other digest (SHA-1 included) or parameters other
/// than NULL.
pub fn digest_alg(alg: &AlgorithmIdentifierOwned) -> Result<HashAlg> {
    let params_ok = alg
        .parameters
        .as_ref()
        .is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty());
    match HashAlg::from_oid(&alg.oid) {
        Some(h) if params_ok => Ok(h),
        _ => Err(Error::UnsupportedAlgorithm { oid: alg.oid }),
    }
}

/// Whether two `AlgorithmIdentifier`s name the same algorithm, treating absent and NULL
/// parameters as equal (RFC 5754 §2 and RFC 4055 §5 let producers write either).
#[must_use]
pub fn same_algorithm(a: &AlgorithmIdentifierOwned, b: &AlgorithmIdentifierOwned) -> bool {
    fn norm(p: Option<&Any>) -> Option<&Any> {
        p.filter(|p| !(p.tag() == Tag::Null && p.value().is_empty()))
    }
    a.oid == b.oid && norm(a.parameters.as_ref()) == norm(b.parameters.as_ref())
}

/// Verifies `signature` over `message` with the public key `spki` and the algorithm `alg`.
///
/// `what` names the signature in the error ("CMS SignerInfo", "PKCS #10", ...).
///
/// # Errors
/// [`Error::BadSignature`] if the signature is malformed or does not verify,
/// [`Error::BadPublicKey`] if the key does not decode, is of the wrong type for `alg`, or
/// is an RSA key outside 2048..=8192 bits, [`Error::UnsupportedAlgorithm`] for a curve
/// other than P-256/P-384/P-521.
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &SignatureAlg,
    message: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<()> {
    #[cfg(feature = "aws-lc")]
    if let Some(result) = fast::verify(spki, alg, message, signature, what) {
        return result;
    }
    verify_rust_crypto(spki, alg, message, signature, what)
}

/// The library that verifies signatures in this build: `"aws-lc-rs"` with the `aws-lc`
/// feature (the default), `"RustCrypto"` without it (the `pure-rust` build). RSA-PSS with a
/// salt length other than the digest length is verified by RustCrypto in either build.
#[must_use]
pub const fn backend_name() -> &'static str {
    if cfg!(feature = "aws-lc") {
        "aws-lc-rs"
    } else {
        "RustCrypto"
    }
}

/// [`verify_signature`] with the RustCrypto crates: the `pure-rust` build, and what
/// aws-lc-rs has no algorithm for.
fn verify_rust_crypto(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &SignatureAlg,
    message: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<()> {
    let digest = alg.hash().digest(message);
    match alg {
        SignatureAlg::Ecdsa(_) => verify_ecdsa(spki, &digest, signature, what),
        SignatureAlg::RsaPkcs1v15(h) => {
            let key = rsa_key(spki)?;
            let scheme = match h {
                HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                other => return Err(Error::UnsupportedAlgorithm { oid: other.oid() }),
            };
            key.verify(scheme, &digest, signature)
                .map_err(|_| Error::BadSignature { what })
        }
        SignatureAlg::RsaPss { hash, salt_len, .. } => {
            let key = rsa_key(spki)?;
            let result = match hash {
                HashAlg::Sha256 => key.verify(
                    rsa::Pss::<sha2::Sha256>::new_with_salt(*salt_len),
                    &digest,
                    signature,
                ),
                HashAlg::Sha384 => key.verify(
                    rsa::Pss::<sha2::Sha384>::new_with_salt(*salt_len),
                    &digest,
                    signature,
                ),
                HashAlg::Sha512 => key.verify(
                    rsa::Pss::<sha2::Sha512>::new_with_salt(*salt_len),
                    &digest,
                    signature,
                ),
                other => return Err(Error::UnsupportedAlgorithm { oid: other.oid() }),
            };
            result.map_err(|_| Error::BadSignature { what })
        }
    }
}

fn rsa_key(spki: &SubjectPublicKeyInfoOwned) -> Result<rsa::RsaPublicKey> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    let bits = rsa_key_octets(spki)?;
    let key = rsa::RsaPublicKey::from_pkcs1_der(bits)
        .map_err(|e| Error::BadPublicKey(format!("RSA public key: {e}")))?;
    check_rsa_bits(key.n().bits() as usize)?;
    Ok(key)
}

/// The `RSAPublicKey` octets of an RSA key (rsaEncryption or id-RSASSA-PSS).
fn rsa_key_octets(spki: &SubjectPublicKeyInfoOwned) -> Result<&[u8]> {
    if spki.algorithm.oid != RSA_ENCRYPTION && spki.algorithm.oid != ID_RSASSA_PSS {
        return Err(Error::BadPublicKey(format!(
            "an RSA signature needs an RSA key, not {}",
            spki.algorithm.oid
        )));
    }
    spki.subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::BadPublicKey("subjectPublicKey has unused bits".into()))
}

fn check_rsa_bits(size: usize) -> Result<()> {
    if (MIN_RSA_BITS..=MAX_RSA_BITS).contains(&size) {
        Ok(())
    } else {
        Err(Error::BadPublicKey(format!(
            "RSA modulus of {size} bits is outside {MIN_RSA_BITS}..={MAX_RSA_BITS}"
        )))
    }
}

/// The key checks of [`rsa_key`] without building the RustCrypto key (for the aws-lc-rs
/// path, which parses the key itself): an RSA key whose `RSAPublicKey` decodes and whose
/// modulus has 2048 to 8192 bits.
#[cfg(feature = "aws-lc")]
fn check_rsa_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<()> {
    use der::Decode;
    let key = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(rsa_key_octets(spki)?)
        .map_err(|e| Error::BadPublicKey(format!("RSA public key: {e}")))?;
    // `UintRef` strips the leading zero octets.
    let modulus = key.modulus.as_bytes();
    let size = modulus.first().map_or(0, |top| {
        (modulus.len() * 8).saturating_sub(top.leading_zeros() as usize)
    });
    check_rsa_bits(size)
}

/// The named curve of an EC public key.
///
/// # Errors
/// [`Error::BadPublicKey`] if `spki` is not an EC key with a named curve.
pub fn ec_curve(spki: &SubjectPublicKeyInfoOwned) -> Result<ObjectIdentifier> {
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(Error::BadPublicKey(format!(
            "an ECDSA signature needs an EC key, not {}",
            spki.algorithm.oid
        )));
    }
    spki.algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| Error::BadPublicKey("EC key without curve".into()))?
        .decode_as::<ObjectIdentifier>()
        .map_err(|e| Error::BadPublicKey(format!("EC key parameters: {e}")))
}

fn verify_ecdsa(
    spki: &SubjectPublicKeyInfoOwned,
    digest: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<()> {
    let curve = ec_curve(spki)?;
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::BadPublicKey("subjectPublicKey has unused bits".into()))?;
    let bad_key = |e: ecdsa::Error| Error::BadPublicKey(format!("EC point: {e}"));
    let bad_sig = |_| Error::BadSignature { what };
    if curve == SECP_256_R_1 {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad_key)?;
        let sig = p256::ecdsa::DerSignature::from_bytes(signature).map_err(bad_sig)?;
        key.verify_prehash(digest, &sig).map_err(bad_sig)
    } else if curve == SECP_384_R_1 {
        let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad_key)?;
        let sig = p384::ecdsa::DerSignature::from_bytes(signature).map_err(bad_sig)?;
        key.verify_prehash(digest, &sig).map_err(bad_sig)
    } else if curve == SECP_521_R_1 {
        let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad_key)?;
        let sig = p521::ecdsa::DerSignature::from_bytes(signature).map_err(bad_sig)?;
        key.verify_prehash(digest, &sig).map_err(bad_sig)
    } else {
        Err(Error::UnsupportedAlgorithm { oid: curve })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384};
    use der::Encode;

    fn alg(oid: ObjectIdentifier, parameters: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned { oid, parameters }
    }

    #[test]
    fn ecdsa_and_rsa_oids() {
        assert_eq!(
            SignatureAlg::from_algorithm_identifier(&alg(ECDSA_WITH_SHA_384, None), None).unwrap(),
            SignatureAlg::Ecdsa(HashAlg::Sha384)
        );
        assert_eq!(
            SignatureAlg::from_algorithm_identifier(
                &alg(SHA_512_WITH_RSA_ENCRYPTION, Some(Any::null())),
                Some(HashAlg::Sha256)
            )
            .unwrap(),
            SignatureAlg::RsaPkcs1v15(HashAlg::Sha512)
        );
        // Bare key algorithms take the digest from the SignerInfo.
        assert_eq!(
            SignatureAlg::from_algorithm_identifier(
                &alg(ID_EC_PUBLIC_KEY, None),
                Some(HashAlg::Sha512)
            )
            .unwrap(),
            SignatureAlg::Ecdsa(HashAlg::Sha512)
        );
        assert_eq!(
            SignatureAlg::from_algorithm_identifier(
                &alg(RSA_ENCRYPTION, Some(Any::null())),
                Some(HashAlg::Sha384)
            )
            .unwrap(),
            SignatureAlg::RsaPkcs1v15(HashAlg::Sha384)
        );
        assert!(
            SignatureAlg::from_algorithm_identifier(&alg(ID_EC_PUBLIC_KEY, None), None).is_err()
        );
        let sha1_rsa = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
        let e = SignatureAlg::from_algorithm_identifier(&alg(sha1_rsa, None), None).unwrap_err();
        assert!(matches!(e, Error::UnsupportedAlgorithm { oid } if oid == sha1_rsa));
        assert_eq!(e.fail_info(), cmc_asn1::CmcFailInfo::BadAlg);
    }

    #[test]
    fn pss_parameters() {
        for h in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
            let scheme = cmc_keys::SignatureScheme::RsaPss(h);
            let id = scheme.algorithm_identifier().unwrap();
            assert_eq!(
                SignatureAlg::from_algorithm_identifier(&id, None).unwrap(),
                SignatureAlg::RsaPss {
                    hash: h,
                    mgf1_hash: h,
                    salt_len: h.output_len()
                }
            );
        }
        // Explicit params with a mismatched MGF1 hash.
        let sha256 = alg(ID_SHA_256, None);
        let mgf384 = alg(
            ID_MGF_1,
            Some(Any::encode_from(&alg(ID_SHA_384, None)).unwrap()),
        );
        let p = PssParams {
            hash_algorithm: Some(sha256.clone()),
            mask_gen_algorithm: Some(mgf384),
            salt_length: Some(32),
            trailer_field: None,
        };
        let id = alg(ID_RSASSA_PSS, Some(Any::encode_from(&p).unwrap()));
        assert!(matches!(
            SignatureAlg::from_algorithm_identifier(&id, None),
            Err(Error::UnsupportedAlgorithm { oid }) if oid == ID_SHA_384
        ));
        // All defaults: SHA-1.
        let empty = PssParams {
            hash_algorithm: None,
            mask_gen_algorithm: None,
            salt_length: None,
            trailer_field: None,
        };
        assert_eq!(empty.to_der().unwrap(), [0x30, 0x00]);
        let id = alg(ID_RSASSA_PSS, Some(Any::encode_from(&empty).unwrap()));
        assert!(matches!(
            SignatureAlg::from_algorithm_identifier(&id, None),
            Err(Error::UnsupportedAlgorithm { oid }) if oid == ID_SHA_1
        ));
        // Salt length other than the hash length is kept.
        let mgf256 = alg(ID_MGF_1, Some(Any::encode_from(&sha256).unwrap()));
        let p = PssParams {
            hash_algorithm: Some(sha256),
            mask_gen_algorithm: Some(mgf256),
            salt_length: Some(20),
            trailer_field: Some(1),
        };
        let id = alg(ID_RSASSA_PSS, Some(Any::encode_from(&p).unwrap()));
        assert_eq!(
            SignatureAlg::from_algorithm_identifier(&id, None).unwrap(),
            SignatureAlg::RsaPss {
                hash: HashAlg::Sha256,
                mgf1_hash: HashAlg::Sha256,
                salt_len: 20
            }
        );
    }

    #[test]
    fn digest_algorithms() {
        assert_eq!(digest_alg(&alg(ID_SHA_256, None)).unwrap(), HashAlg::Sha256);
        assert_eq!(
            digest_alg(&alg(ID_SHA_384, Some(Any::null()))).unwrap(),
            HashAlg::Sha384
        );
        assert!(digest_alg(&alg(ID_SHA_1, None)).is_err());
        assert!(same_algorithm(
            &alg(ID_SHA_256, None),
            &alg(ID_SHA_256, Some(Any::null()))
        ));
        assert!(!same_algorithm(
            &alg(ID_SHA_256, None),
            &alg(ID_SHA_384, None)
        ));
    }

    #[test]
    fn verify_with_every_key_type() {
        use cmc_keys::{FileKey, KeySpec, SignatureScheme, SigningKey};
        let cases = [
            (KeySpec::P256, SignatureScheme::Ecdsa(HashAlg::Sha256)),
            (KeySpec::P256, SignatureScheme::Ecdsa(HashAlg::Sha512)),
            (KeySpec::P384, SignatureScheme::Ecdsa(HashAlg::Sha256)),
            (KeySpec::P521, SignatureScheme::Ecdsa(HashAlg::Sha512)),
            (
                KeySpec::Rsa2048,
                SignatureScheme::RsaPkcs1v15(HashAlg::Sha384),
            ),
            (KeySpec::Rsa2048, SignatureScheme::RsaPss(HashAlg::Sha256)),
        ];
        for (spec, scheme) in cases {
            let key = FileKey::generate(spec)
                .unwrap()
                .with_scheme(scheme)
                .unwrap();
            let sig = key.sign(b"message").unwrap();
            let alg =
                SignatureAlg::from_algorithm_identifier(key.signature_algorithm(), None).unwrap();
            assert_eq!(alg.hash(), scheme.hash());
            verify_signature(key.public_key(), &alg, b"message", &sig, "test").unwrap();
            assert!(matches!(
                verify_signature(key.public_key(), &alg, b"massage", &sig, "test"),
                Err(Error::BadSignature { what: "test" })
            ));
        }
        // Wrong key type for the algorithm.
        let ec = FileKey::generate(KeySpec::P256).unwrap();
        assert!(matches!(
            verify_signature(
                ec.public_key(),
                &SignatureAlg::RsaPkcs1v15(HashAlg::Sha256),
                b"m",
                b"s",
                "test"
            ),
            Err(Error::BadPublicKey(_))
        ));
    }
}
