//! Which signature algorithms a CA may put in a certificate, and the RFC 5753
//! rule that pairs an ECDSA curve with its digest.

use std::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_MGF_1, ID_RSASSA_PSS,
    ID_SHA_256, ID_SHA_384, ID_SHA_512, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};
use der::{Any, Sequence};
use serde::{Deserialize, Serialize};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::Error;
use crate::keys::{Curve, KeyKind};

/// A SHA-2 digest a certificate signature may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Digest {
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
}

impl Digest {
    /// The digest's OID.
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => ID_SHA_256,
            Self::Sha384 => ID_SHA_384,
            Self::Sha512 => ID_SHA_512,
        }
    }

    /// The digest for an OID, if it is SHA-256/384/512.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|d| d.oid() == *oid)
    }

    /// Output length in octets.
    #[must_use]
    pub const fn output_len(self) -> u32 {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        })
    }
}

/// A certificate signature algorithm the CA may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// ecdsa-with-SHA256/384/512, parameters absent (RFC 5758 §3.2).
    Ecdsa(Digest),
    /// sha256/384/512WithRSAEncryption, parameters NULL (RFC 4055 §5).
    RsaPkcs1v15(Digest),
    /// id-RSASSA-PSS with the digest, MGF1 over the same digest, a salt as
    /// long as the digest and trailer field 1 (RFC 4055 §3.1).
    RsaPss(Digest),
}

impl SignatureAlgorithm {
    /// The digest.
    #[must_use]
    pub const fn digest(self) -> Digest {
        match self {
            Self::Ecdsa(d) | Self::RsaPkcs1v15(d) | Self::RsaPss(d) => d,
        }
    }

    /// Whether the algorithm is an RSA one.
    #[must_use]
    pub const fn is_rsa(self) -> bool {
        matches!(self, Self::RsaPkcs1v15(_) | Self::RsaPss(_))
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ecdsa(d) => write!(f, "ECDSA with {d}"),
            Self::RsaPkcs1v15(d) => write!(f, "RSA PKCS#1 v1.5 with {d}"),
            Self::RsaPss(d) => write!(f, "RSASSA-PSS with {d}"),
        }
    }
}

/// The digest RFC 5753 §7.1 pairs with an ECDSA curve: P-256 → SHA-256,
/// P-384 → SHA-384, P-521 → SHA-512.
#[must_use]
pub const fn ecdsa_digest_for_curve(curve: Curve) -> Digest {
    match curve {
        Curve::P256 => Digest::Sha256,
        Curve::P384 => Digest::Sha384,
        Curve::P521 => Digest::Sha512,
    }
}

/// `RSASSA-PSS-params` (RFC 4055 §3.1; all tags EXPLICIT).
///
/// ```text
/// RSASSA-PSS-params  ::=  SEQUENCE  {
///     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
///     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
///     saltLength         [2] INTEGER DEFAULT 20,
///     trailerField       [3] INTEGER DEFAULT 1  }
/// ```
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

/// A hash AlgorithmIdentifier inside PSS parameters: SHA-2, with absent or
/// NULL parameters (RFC 4055 §2.1 asks implementations to accept both).
fn pss_hash(alg: &AlgorithmIdentifierOwned) -> Option<Digest> {
    let params_ok = alg.parameters.as_ref().is_none_or(|p| p.is_null());
    Digest::from_oid(&alg.oid).filter(|_| params_ok)
}

/// Check that `alg` is one of the signature algorithms a certificate may be
/// signed with: ECDSA with SHA-256/384/512 (parameters absent),
/// sha256/384/512WithRSAEncryption (parameters NULL) or RSASSA-PSS whose
/// parameters name a SHA-2 digest, MGF1 with the same digest, a salt as long
/// as the digest and trailer field 1.
///
/// # Errors
/// [`Error::Algorithm`] saying what is wrong.
pub fn check_signature_algorithm(
    alg: &AlgorithmIdentifierOwned,
) -> Result<SignatureAlgorithm, Error> {
    let oid = alg.oid;
    let ecdsa = [
        (ECDSA_WITH_SHA_256, Digest::Sha256),
        (ECDSA_WITH_SHA_384, Digest::Sha384),
        (ECDSA_WITH_SHA_512, Digest::Sha512),
    ];
    let pkcs1 = [
        (SHA_256_WITH_RSA_ENCRYPTION, Digest::Sha256),
        (SHA_384_WITH_RSA_ENCRYPTION, Digest::Sha384),
        (SHA_512_WITH_RSA_ENCRYPTION, Digest::Sha512),
    ];
    if let Some((_, d)) = ecdsa.iter().find(|(o, _)| *o == oid) {
        return if alg.parameters.is_none() {
            Ok(SignatureAlgorithm::Ecdsa(*d))
        } else {
            Err(Error::Algorithm(format!(
                "{oid}: ECDSA parameters must be absent (RFC 5758 §3.2)"
            )))
        };
    }
    if let Some((_, d)) = pkcs1.iter().find(|(o, _)| *o == oid) {
        return if alg.parameters.as_ref().is_some_and(Any::is_null) {
            Ok(SignatureAlgorithm::RsaPkcs1v15(*d))
        } else {
            Err(Error::Algorithm(format!(
                "{oid}: RSA PKCS#1 v1.5 parameters must be NULL (RFC 4055 §5)"
            )))
        };
    }
    if oid == ID_RSASSA_PSS {
        let params: PssParams = alg
            .parameters
            .as_ref()
            .ok_or_else(|| Error::Algorithm("RSASSA-PSS without parameters (SHA-1)".into()))?
            .decode_as()
            .map_err(|e| Error::Algorithm(format!("RSASSA-PSS parameters: {e}")))?;
        let digest =
            params.hash.as_ref().and_then(pss_hash).ok_or_else(|| {
                Error::Algorithm("RSASSA-PSS hash must be SHA-256/384/512".into())
            })?;
        let mgf = params.mask_gen.as_ref().ok_or_else(|| {
            Error::Algorithm("RSASSA-PSS mask generation defaults to MGF1-SHA1".into())
        })?;
        let mgf_hash = mgf
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
            .and_then(|h| pss_hash(&h));
        if mgf.oid != ID_MGF_1 || mgf_hash != Some(digest) {
            return Err(Error::Algorithm(format!(
                "RSASSA-PSS mask generation must be MGF1 with {digest}"
            )));
        }
        if params.salt_length != Some(digest.output_len()) {
            return Err(Error::Algorithm(format!(
                "RSASSA-PSS salt length must be {} for {digest}",
                digest.output_len()
            )));
        }
        if params.trailer_field.is_some_and(|t| t != 1) {
            return Err(Error::Algorithm(
                "RSASSA-PSS trailer field must be 1".into(),
            ));
        }
        return Ok(SignatureAlgorithm::RsaPss(digest));
    }
    Err(Error::Algorithm(format!(
        "{oid} is not an allowed signature algorithm"
    )))
}

/// Check that `alg` is allowed ([`check_signature_algorithm`]) and fits the
/// signing key: ECDSA needs an EC key whose curve RFC 5753 pairs with the
/// digest ([`ecdsa_digest_for_curve`]); the RSA algorithms need an RSA key
/// (whose hash is chosen independently of its size).
///
/// # Errors
/// [`Error::Algorithm`] saying what does not fit.
pub fn check_signature_algorithm_for_key(
    alg: &AlgorithmIdentifierOwned,
    key: &SubjectPublicKeyInfoOwned,
) -> Result<SignatureAlgorithm, Error> {
    let sig = check_signature_algorithm(alg)?;
    let kind = KeyKind::of(key);
    match (sig, &kind) {
        (SignatureAlgorithm::Ecdsa(d), KeyKind::Ec(curve)) => {
            let want = ecdsa_digest_for_curve(*curve);
            if d == want {
                Ok(sig)
            } else {
                Err(Error::Algorithm(format!(
                    "{sig} does not match a {curve} key: RFC 5753 pairs it with {want}"
                )))
            }
        }
        (SignatureAlgorithm::RsaPkcs1v15(_) | SignatureAlgorithm::RsaPss(_), KeyKind::Rsa(_)) => {
            Ok(sig)
        }
        _ => Err(Error::Algorithm(format!(
            "{sig} cannot be made by a {kind} key"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{fake_ec_spki, fake_rsa_spki};
    use const_oid::db::rfc5912::{SECP_256_R_1, SECP_384_R_1, SECP_521_R_1};
    use der::Decode;

    fn alg(der_hex: &str) -> AlgorithmIdentifierOwned {
        let bytes: Vec<u8> = (0..der_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&der_hex[i..i + 2], 16).unwrap())
            .collect();
        AlgorithmIdentifierOwned::from_der(&bytes).unwrap()
    }

    const PSS_SHA256: &str = concat!(
        "304106092a864886f70d01010a",
        "3034",
        "a00f300d06096086480165030402010500",
        "a11c301a06092a864886f70d010108300d06096086480165030402010500",
        "a203020120"
    );

    #[test]
    fn allowed_algorithms() {
        assert_eq!(
            check_signature_algorithm(&alg("300a06082a8648ce3d040303")).unwrap(),
            SignatureAlgorithm::Ecdsa(Digest::Sha384)
        );
        assert_eq!(
            check_signature_algorithm(&alg("300d06092a864886f70d01010b0500")).unwrap(),
            SignatureAlgorithm::RsaPkcs1v15(Digest::Sha256)
        );
        assert_eq!(
            check_signature_algorithm(&alg(PSS_SHA256)).unwrap(),
            SignatureAlgorithm::RsaPss(Digest::Sha256)
        );
    }

    #[test]
    fn refused_algorithms() {
        // sha1WithRSAEncryption
        assert!(check_signature_algorithm(&alg("300d06092a864886f70d0101050500")).is_err());
        // sha256WithRSAEncryption without the NULL
        assert!(check_signature_algorithm(&alg("300b06092a864886f70d01010b")).is_err());
        // ecdsa-with-SHA256 with NULL parameters
        assert!(check_signature_algorithm(&alg("300c06082a8648ce3d0403020500")).is_err());
        // ecdsa-with-SHA1
        assert!(check_signature_algorithm(&alg("300906072a8648ce3d0401")).is_err());
        // PSS without parameters
        assert!(check_signature_algorithm(&alg("300b06092a864886f70d01010a")).is_err());
        // PSS with SHA-256 but salt 20
        let salt20 = PSS_SHA256.replace("a203020120", "a203020114");
        assert!(check_signature_algorithm(&alg(&salt20)).is_err());
        // PSS with SHA-256 hash and MGF1-SHA-384
        let mixed = PSS_SHA256.replacen(
            "a11c301a06092a864886f70d010108300d06096086480165030402010500",
            "a11c301a06092a864886f70d010108300d06096086480165030402020500",
            1,
        );
        assert!(check_signature_algorithm(&alg(&mixed)).is_err());
    }

    #[test]
    fn rfc5753_pairing() {
        assert_eq!(ecdsa_digest_for_curve(Curve::P256), Digest::Sha256);
        assert_eq!(ecdsa_digest_for_curve(Curve::P384), Digest::Sha384);
        assert_eq!(ecdsa_digest_for_curve(Curve::P521), Digest::Sha512);
        let p384 = fake_ec_spki(SECP_384_R_1, 48);
        let p256 = fake_ec_spki(SECP_256_R_1, 32);
        let p521 = fake_ec_spki(SECP_521_R_1, 66);
        let sha384 = alg("300a06082a8648ce3d040303");
        assert!(check_signature_algorithm_for_key(&sha384, &p384).is_ok());
        assert!(check_signature_algorithm_for_key(&sha384, &p256).is_err());
        assert!(check_signature_algorithm_for_key(&sha384, &p521).is_err());
        assert!(check_signature_algorithm_for_key(&sha384, &fake_rsa_spki(2048)).is_err());
        let pss = alg(PSS_SHA256);
        assert!(check_signature_algorithm_for_key(&pss, &fake_rsa_spki(3072)).is_ok());
        assert!(check_signature_algorithm_for_key(&pss, &p256).is_err());
    }
}
