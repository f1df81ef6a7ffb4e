//! Key types and signature schemes, and the `AlgorithmIdentifier`s they produce.
//!
//! Every type here parses from and prints as a short lower-case word, so a CLI
//! flag or a config value can name it: key types `p256`, `p384`, `p521`,
//! `rsa2048`, `rsa3072`, `rsa4096`; RSA paddings `pkcs1v15`, `pss`; hashes
//! `sha256`, `sha384`, `sha512`; whole schemes `ecdsa-sha384`,
//! `rsa-pkcs1v15-sha256`, `rsa-pss-sha512`.

use std::fmt;
use std::str::FromStr;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_RSASSA_PSS, SECP_256_R_1,
    SECP_384_R_1, SECP_521_R_1, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};
use der::Any;
use spki::AlgorithmIdentifierOwned;

use crate::{Error, HashAlg};

/// The kind and size of a key pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeySpec {
    /// ECDSA on NIST P-256 (secp256r1).
    P256,
    /// ECDSA on NIST P-384 (secp384r1).
    P384,
    /// ECDSA on NIST P-521 (secp521r1).
    P521,
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
}

impl KeySpec {
    /// Every supported key type, in the order they are usually listed.
    pub const ALL: [Self; 6] = [
        Self::P256,
        Self::P384,
        Self::P521,
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
    ];

    /// The short name used by [`FromStr`] and [`fmt::Display`] (`p256`, `rsa3072`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::P256 => "p256",
            Self::P384 => "p384",
            Self::P521 => "p521",
            Self::Rsa2048 => "rsa2048",
            Self::Rsa3072 => "rsa3072",
            Self::Rsa4096 => "rsa4096",
        }
    }

    /// Whether this is an RSA key.
    #[must_use]
    pub const fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    /// The RSA modulus size in bits, or `None` for an EC key.
    #[must_use]
    pub const fn rsa_bits(self) -> Option<usize> {
        match self {
            Self::Rsa2048 => Some(2048),
            Self::Rsa3072 => Some(3072),
            Self::Rsa4096 => Some(4096),
            Self::P256 | Self::P384 | Self::P521 => None,
        }
    }

    /// The RSA key type with exactly `bits` bits of modulus, if it is one we support.
    #[must_use]
    pub const fn from_rsa_bits(bits: usize) -> Option<Self> {
        match bits {
            2048 => Some(Self::Rsa2048),
            3072 => Some(Self::Rsa3072),
            4096 => Some(Self::Rsa4096),
            _ => None,
        }
    }

    /// The named-curve OID (the `ECParameters` of RFC 5480 §2.1.1.1), or
    /// `None` for an RSA key.
    #[must_use]
    pub const fn curve_oid(self) -> Option<ObjectIdentifier> {
        match self {
            Self::P256 => Some(SECP_256_R_1),
            Self::P384 => Some(SECP_384_R_1),
            Self::P521 => Some(SECP_521_R_1),
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => None,
        }
    }

    /// The EC key type for a named-curve OID, if it is one we support.
    #[must_use]
    pub fn from_curve_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::P256, Self::P384, Self::P521]
            .into_iter()
            .find(|s| s.curve_oid().as_ref() == Some(oid))
    }

    /// Octets of one field element (one coordinate, one of ECDSA's `r`/`s`),
    /// or `None` for an RSA key.
    #[must_use]
    pub const fn ec_field_len(self) -> Option<usize> {
        match self {
            Self::P256 => Some(32),
            Self::P384 => Some(48),
            Self::P521 => Some(66),
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => None,
        }
    }

    /// The digest RFC 5753 §7.1 pairs with this key for ECDSA (P-256/SHA-256,
    /// P-384/SHA-384, P-521/SHA-512); SHA-256 for RSA, whose hash is chosen
    /// independently of the key size.
    #[must_use]
    pub const fn default_hash(self) -> HashAlg {
        match self {
            Self::P384 => HashAlg::Sha384,
            Self::P521 => HashAlg::Sha512,
            Self::P256 | Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => HashAlg::Sha256,
        }
    }

    /// The scheme a key of this type signs with unless told otherwise: ECDSA
    /// with the RFC 5753 digest, or RSA PKCS#1 v1.5 with SHA-256.
    #[must_use]
    pub const fn default_scheme(self) -> SignatureScheme {
        if self.is_rsa() {
            SignatureScheme::RsaPkcs1v15(self.default_hash())
        } else {
            SignatureScheme::Ecdsa(self.default_hash())
        }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeySpec {
    type Err = Error;

    /// Accepts the short names (`p256`, `rsa3072`, ...) and, ignoring case,
    /// the common aliases `P-256`, `secp256r1`, `prime256v1`, `rsa-3072`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', '_'], "");
        let spec = match norm.as_str() {
            "p256" | "secp256r1" | "prime256v1" | "nistp256" => Self::P256,
            "p384" | "secp384r1" | "nistp384" => Self::P384,
            "p521" | "secp521r1" | "nistp521" => Self::P521,
            "rsa2048" => Self::Rsa2048,
            "rsa3072" => Self::Rsa3072,
            "rsa4096" => Self::Rsa4096,
            _ => {
                return Err(Error::Parse {
                    what: "key type",
                    value: s.to_owned(),
                    expected: "p256, p384, p521, rsa2048, rsa3072 or rsa4096",
                });
            }
        };
        Ok(spec)
    }
}

/// The RSA signature padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RsaPadding {
    /// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2).
    Pkcs1v15,
    /// RSASSA-PSS (RFC 8017 §8.1) with MGF1 over the message hash and a salt
    /// as long as the hash (RFC 4055 §3.1).
    Pss,
}

impl RsaPadding {
    /// The short name (`pkcs1v15` or `pss`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pkcs1v15 => "pkcs1v15",
            Self::Pss => "pss",
        }
    }
}

impl fmt::Display for RsaPadding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RsaPadding {
    type Err = Error;

    /// Accepts `pkcs1v15` (or `pkcs1`, `pkcs1-v1_5`) and `pss`, ignoring case.
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', '_', '.'], "");
        match norm.as_str() {
            "pkcs1v15" | "pkcs1" | "pkcs1v1" => Ok(Self::Pkcs1v15),
            "pss" | "rsassapss" => Ok(Self::Pss),
            _ => Err(Error::Parse {
                what: "RSA padding",
                value: s.to_owned(),
                expected: "pkcs1v15 or pss",
            }),
        }
    }
}

/// How a key signs: the algorithm family and the digest.
///
/// Printed and parsed as `ecdsa-sha256`, `rsa-pkcs1v15-sha384`, `rsa-pss-sha512`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// ECDSA; the signature is a DER `ECDSA-Sig-Value` (RFC 5480 §2.2 / RFC 5753 §7.2).
    Ecdsa(HashAlg),
    /// RSASSA-PKCS1-v1_5 with the given digest.
    RsaPkcs1v15(HashAlg),
    /// RSASSA-PSS with the given digest, MGF1 with the same digest, salt
    /// length equal to the digest length and trailer field 1.
    RsaPss(HashAlg),
}

impl SignatureScheme {
    /// Pick the scheme for a key type: `padding` only applies to RSA (it is
    /// an error for an EC key), `hash` defaults to [`KeySpec::default_hash`]
    /// and `padding` to PKCS#1 v1.5.
    ///
    /// # Errors
    /// [`Error::IncompatibleScheme`] if an RSA padding is given for an EC key.
    pub fn for_key(
        spec: KeySpec,
        padding: Option<RsaPadding>,
        hash: Option<HashAlg>,
    ) -> Result<Self, Error> {
        let hash = hash.unwrap_or(spec.default_hash());
        let scheme = match (spec.is_rsa(), padding) {
            (true, None | Some(RsaPadding::Pkcs1v15)) => Self::RsaPkcs1v15(hash),
            (true, Some(RsaPadding::Pss)) => Self::RsaPss(hash),
            (false, None) => Self::Ecdsa(hash),
            (false, Some(p)) => {
                let scheme = match p {
                    RsaPadding::Pkcs1v15 => Self::RsaPkcs1v15(hash),
                    RsaPadding::Pss => Self::RsaPss(hash),
                };
                return Err(Error::IncompatibleScheme { scheme, key: spec });
            }
        };
        scheme.check_key(spec)?;
        Ok(scheme)
    }

    /// The digest the signature is computed over.
    #[must_use]
    pub const fn hash(self) -> HashAlg {
        match self {
            Self::Ecdsa(h) | Self::RsaPkcs1v15(h) | Self::RsaPss(h) => h,
        }
    }

    /// Whether this is an RSA scheme.
    #[must_use]
    pub const fn is_rsa(self) -> bool {
        matches!(self, Self::RsaPkcs1v15(_) | Self::RsaPss(_))
    }

    /// The RSA padding, or `None` for ECDSA.
    #[must_use]
    pub const fn rsa_padding(self) -> Option<RsaPadding> {
        match self {
            Self::Ecdsa(_) => None,
            Self::RsaPkcs1v15(_) => Some(RsaPadding::Pkcs1v15),
            Self::RsaPss(_) => Some(RsaPadding::Pss),
        }
    }

    /// Check that a key of type `spec` can sign with this scheme.
    ///
    /// # Errors
    /// [`Error::IncompatibleScheme`] when an RSA scheme meets an EC key or
    /// the other way round, or when an ECDSA digest is shorter than half the
    /// curve order (P-521 with SHA-256), which ECDSA implementations reject.
    pub fn check_key(self, spec: KeySpec) -> Result<(), Error> {
        let fits = match self {
            Self::Ecdsa(h) => spec
                .ec_field_len()
                .is_some_and(|field| 2 * h.output_len() >= field),
            Self::RsaPkcs1v15(_) | Self::RsaPss(_) => spec.is_rsa(),
        };
        if fits {
            Ok(())
        } else {
            Err(Error::IncompatibleScheme {
                scheme: self,
                key: spec,
            })
        }
    }

    /// The signature `AlgorithmIdentifier`:
    /// - ecdsa-with-SHA256/384/512 with absent parameters (RFC 5758 §3.2);
    /// - sha256/384/512WithRSAEncryption with NULL parameters (RFC 4055 §5);
    /// - id-RSASSA-PSS with explicit `RSASSA-PSS-params` (RFC 4055 §3.1):
    ///   the hash (NULL parameters), MGF1 with the same hash, saltLength =
    ///   hash length; trailerField is 1, its DEFAULT, so DER omits it.
    ///
    /// # Errors
    /// [`Error::Encode`] if DER encoding of the PSS parameters fails (it
    /// cannot for these fixed values).
    pub fn algorithm_identifier(self) -> Result<AlgorithmIdentifierOwned, Error> {
        let (oid, parameters) = match self {
            Self::Ecdsa(h) => {
                let oid = match h {
                    HashAlg::Sha256 => ECDSA_WITH_SHA_256,
                    HashAlg::Sha384 => ECDSA_WITH_SHA_384,
                    HashAlg::Sha512 => ECDSA_WITH_SHA_512,
                };
                (oid, None)
            }
            Self::RsaPkcs1v15(h) => {
                let oid = match h {
                    HashAlg::Sha256 => SHA_256_WITH_RSA_ENCRYPTION,
                    HashAlg::Sha384 => SHA_384_WITH_RSA_ENCRYPTION,
                    HashAlg::Sha512 => SHA_512_WITH_RSA_ENCRYPTION,
                };
                (oid, Some(Any::null()))
            }
            Self::RsaPss(h) => {
                // The salt is as long as the digest: 32, 48 or 64 octets, so
                // it always fits the u8 that `RsaPssParams` stores.
                let salt = match h {
                    HashAlg::Sha256 => 32,
                    HashAlg::Sha384 => 48,
                    HashAlg::Sha512 => 64,
                };
                let params = match h {
                    HashAlg::Sha256 => pkcs1::RsaPssParams::new::<sha2::Sha256>(salt),
                    HashAlg::Sha384 => pkcs1::RsaPssParams::new::<sha2::Sha384>(salt),
                    HashAlg::Sha512 => pkcs1::RsaPssParams::new::<sha2::Sha512>(salt),
                };
                let any = Any::encode_from(&params)
                    .map_err(|e| Error::Encode(format!("RSASSA-PSS-params: {e}")))?;
                (ID_RSASSA_PSS, Some(any))
            }
        };
        Ok(AlgorithmIdentifierOwned { oid, parameters })
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (family, hash) = match self {
            Self::Ecdsa(h) => ("ecdsa", h),
            Self::RsaPkcs1v15(h) => ("rsa-pkcs1v15", h),
            Self::RsaPss(h) => ("rsa-pss", h),
        };
        write!(f, "{family}-{}", hash_word(*hash))
    }
}

impl FromStr for SignatureScheme {
    type Err = Error;

    /// Parses `ecdsa-<hash>`, `rsa-pkcs1v15-<hash>` and `rsa-pss-<hash>`
    /// (hash as accepted by [`HashAlg`]'s `FromStr`), ignoring case.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Parse {
            what: "signature scheme",
            value: s.to_owned(),
            expected: "ecdsa-sha256|384|512, rsa-pkcs1v15-sha256|384|512 or rsa-pss-sha256|384|512",
        };
        let lower = s.trim().to_ascii_lowercase();
        let (family, hash) = lower.rsplit_once('-').ok_or_else(bad)?;
        let hash: HashAlg = hash.parse().map_err(|_| bad())?;
        match family {
            "ecdsa" => Ok(Self::Ecdsa(hash)),
            "rsa-pkcs1v15" | "rsa-pkcs1" => Ok(Self::RsaPkcs1v15(hash)),
            "rsa-pss" => Ok(Self::RsaPss(hash)),
            _ => Err(bad()),
        }
    }
}

/// `sha256`, `sha384`, `sha512`: the form used inside scheme names.
const fn hash_word(h: HashAlg) -> &'static str {
    match h {
        HashAlg::Sha256 => "sha256",
        HashAlg::Sha384 => "sha384",
        HashAlg::Sha512 => "sha512",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn names_round_trip() {
        for spec in KeySpec::ALL {
            assert_eq!(spec.name().parse::<KeySpec>().unwrap(), spec);
            assert_eq!(spec.to_string(), spec.name());
        }
        assert_eq!("P-384".parse::<KeySpec>().unwrap(), KeySpec::P384);
        assert_eq!("prime256v1".parse::<KeySpec>().unwrap(), KeySpec::P256);
        assert_eq!("RSA-3072".parse::<KeySpec>().unwrap(), KeySpec::Rsa3072);
        assert!(matches!(
            "rsa1024".parse::<KeySpec>(),
            Err(Error::Parse {
                what: "key type",
                ..
            })
        ));
        for p in [RsaPadding::Pkcs1v15, RsaPadding::Pss] {
            assert_eq!(p.to_string().parse::<RsaPadding>().unwrap(), p);
        }
        for h in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
            for s in [
                SignatureScheme::Ecdsa(h),
                SignatureScheme::RsaPkcs1v15(h),
                SignatureScheme::RsaPss(h),
            ] {
                assert_eq!(s.to_string().parse::<SignatureScheme>().unwrap(), s);
            }
        }
        assert_eq!(
            "rsa-pss-sha384".parse::<SignatureScheme>().unwrap(),
            SignatureScheme::RsaPss(HashAlg::Sha384)
        );
        assert!("rsa-oaep-sha256".parse::<SignatureScheme>().is_err());
        assert!("ecdsa-md5".parse::<SignatureScheme>().is_err());
    }

    #[test]
    fn rfc5753_defaults() {
        assert_eq!(
            KeySpec::P256.default_scheme(),
            SignatureScheme::Ecdsa(HashAlg::Sha256)
        );
        assert_eq!(
            KeySpec::P384.default_scheme(),
            SignatureScheme::Ecdsa(HashAlg::Sha384)
        );
        assert_eq!(
            KeySpec::P521.default_scheme(),
            SignatureScheme::Ecdsa(HashAlg::Sha512)
        );
        assert_eq!(
            KeySpec::Rsa4096.default_scheme(),
            SignatureScheme::RsaPkcs1v15(HashAlg::Sha256)
        );
        assert_eq!(
            SignatureScheme::for_key(
                KeySpec::Rsa2048,
                Some(RsaPadding::Pss),
                Some(HashAlg::Sha512)
            )
            .unwrap(),
            SignatureScheme::RsaPss(HashAlg::Sha512)
        );
        assert!(matches!(
            SignatureScheme::for_key(KeySpec::P256, Some(RsaPadding::Pss), None),
            Err(Error::IncompatibleScheme { .. })
        ));
        assert!(
            SignatureScheme::Ecdsa(HashAlg::Sha256)
                .check_key(KeySpec::Rsa2048)
                .is_err()
        );
        assert!(
            SignatureScheme::RsaPss(HashAlg::Sha256)
                .check_key(KeySpec::Rsa2048)
                .is_ok()
        );
        assert!(
            SignatureScheme::Ecdsa(HashAlg::Sha256)
                .check_key(KeySpec::P521)
                .is_err()
        );
        assert!(
            SignatureScheme::Ecdsa(HashAlg::Sha384)
                .check_key(KeySpec::P521)
                .is_ok()
        );
    }

    fn der_hex(s: SignatureScheme) -> String {
        let der = s.algorithm_identifier().unwrap().to_der().unwrap();
        base16ct::lower::encode_string(&der)
    }

    #[test]
    fn algorithm_identifiers_are_der_exact() {
        // ecdsa-with-SHA384, parameters absent.
        assert_eq!(
            der_hex(SignatureScheme::Ecdsa(HashAlg::Sha384)),
            "300a06082a8648ce3d040303"
        );
        // sha256WithRSAEncryption, parameters NULL.
        assert_eq!(
            der_hex(SignatureScheme::RsaPkcs1v15(HashAlg::Sha256)),
            "300d06092a864886f70d01010b0500"
        );
        // id-RSASSA-PSS { [0] sha256 NULL, [1] mgf1(sha256 NULL), [2] 32 },
        // trailerField 1 omitted as DEFAULT.
        assert_eq!(
            der_hex(SignatureScheme::RsaPss(HashAlg::Sha256)),
            concat!(
                "304106092a864886f70d01010a",
                "3034",
                "a00f300d06096086480165030402010500",
                "a11c301a06092a864886f70d010108300d06096086480165030402010500",
                "a203020120"
            )
        );
        // SHA-512: salt 64.
        assert!(der_hex(SignatureScheme::RsaPss(HashAlg::Sha512)).ends_with("a203020140"));
    }
}
