//! What kind of key a SubjectPublicKeyInfo holds.

use std::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1, SECP_521_R_1,
};
use der::asn1::UintRef;
use der::{Decode, Sequence};
use serde::{Deserialize, Serialize};
use spki::SubjectPublicKeyInfoOwned;

/// A NIST curve the CA accepts (RFC 5480 §2.1.1.1 named curves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Curve {
    /// P-256 (secp256r1).
    #[serde(rename = "P-256")]
    P256,
    /// P-384 (secp384r1).
    #[serde(rename = "P-384")]
    P384,
    /// P-521 (secp521r1).
    #[serde(rename = "P-521")]
    P521,
}

impl Curve {
    /// Every curve.
    pub const ALL: [Self; 3] = [Self::P256, Self::P384, Self::P521];

    /// The name (`P-256`, `P-384`, `P-521`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }

    /// The named-curve OID.
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::P256 => SECP_256_R_1,
            Self::P384 => SECP_384_R_1,
            Self::P521 => SECP_521_R_1,
        }
    }

    /// The curve for a named-curve OID.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == *oid)
    }

    /// Parse a name, ignoring case and `-`/`_`: `P-256`, `p256`,
    /// `secp256r1`, `prime256v1`, ...
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "p256" | "secp256r1" | "prime256v1" => Some(Self::P256),
            "p384" | "secp384r1" => Some(Self::P384),
            "p521" | "secp521r1" => Some(Self::P521),
            _ => None,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind and size of a public key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyKind {
    /// An EC key on a named curve we know.
    Ec(Curve),
    /// An RSA key with a modulus of this many bits.
    Rsa(u32),
    /// An EC key on another curve (the curve OID, dotted), or with parameters
    /// that are not a named curve.
    OtherEc(String),
    /// Any other algorithm (its OID, dotted).
    Other(String),
}

impl KeyKind {
    /// Classify a SubjectPublicKeyInfo.
    ///
    /// A malformed RSA key (the BIT STRING is not an `RSAPublicKey`) is
    /// reported as [`KeyKind::Other`] with a note, so that it is refused like
    /// any unknown key.
    #[must_use]
    pub fn of(spki: &SubjectPublicKeyInfoOwned) -> Self {
        let alg = &spki.algorithm;
        if alg.oid == ID_EC_PUBLIC_KEY {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            return match curve {
                Some(oid) => {
                    Curve::from_oid(&oid).map_or_else(|| Self::OtherEc(oid.to_string()), Self::Ec)
                }
                None => Self::OtherEc(String::from("(no named curve)")),
            };
        }
        if alg.oid == RSA_ENCRYPTION {
            let bits = spki
                .subject_public_key
                .as_bytes()
                .and_then(|b| RsaPublicKey::from_der(b).ok())
                .map(|k| uint_bits(k.modulus.as_bytes()));
            return match bits {
                Some(bits) => Self::Rsa(bits),
                None => Self::Other(format!("{} (malformed RSAPublicKey)", alg.oid)),
            };
        }
        Self::Other(alg.oid.to_string())
    }

    /// Whether this is an RSA key.
    #[must_use]
    pub const fn is_rsa(&self) -> bool {
        matches!(self, Self::Rsa(_))
    }

    /// Whether this is an EC key (on any curve).
    #[must_use]
    pub const fn is_ec(&self) -> bool {
        matches!(self, Self::Ec(_) | Self::OtherEc(_))
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ec(c) => write!(f, "EC {c}"),
            Self::Rsa(bits) => write!(f, "RSA-{bits}"),
            Self::OtherEc(curve) => write!(f, "EC on curve {curve}"),
            Self::Other(oid) => write!(f, "key algorithm {oid}"),
        }
    }
}

/// `RSAPublicKey` (RFC 8017 §A.1.1).
///
/// ```text
/// RSAPublicKey ::= SEQUENCE {
///     modulus           INTEGER,  -- n
///     publicExponent    INTEGER   -- e
/// }
/// ```
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    #[allow(dead_code)]
    public_exponent: UintRef<'a>,
}

/// Bit length of a big-endian unsigned integer.
fn uint_bits(bytes: &[u8]) -> u32 {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => &[],
    };
    match trimmed.first() {
        // Saturate rather than wrap for absurd lengths (> 512 MiB of modulus).
        Some(first) => u32::try_from(trimmed.len() * 8)
            .unwrap_or(u32::MAX)
            .saturating_sub(first.leading_zeros()),
        None => 0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use der::asn1::BitString;
    use der::{Any, Encode};
    use spki::AlgorithmIdentifierOwned;

    /// An RSA SPKI with a modulus of exactly `bits` bits (not a real key: the
    /// policy only looks at the size).
    pub(crate) fn fake_rsa_spki(bits: usize) -> SubjectPublicKeyInfoOwned {
        #[derive(Sequence)]
        struct Pub {
            n: der::asn1::Uint,
            e: der::asn1::Uint,
        }
        let mut n = vec![0xc5u8; bits / 8];
        n[0] = 0x80 | 0x45;
        let key = Pub {
            n: der::asn1::Uint::new(&n).unwrap(),
            e: der::asn1::Uint::new(&[1, 0, 1]).unwrap(),
        };
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            subject_public_key: BitString::from_bytes(&key.to_der().unwrap()).unwrap(),
        }
    }

    /// An EC SPKI on `curve` with a dummy point of the right length.
    pub(crate) fn fake_ec_spki(
        curve: ObjectIdentifier,
        coordinate_len: usize,
    ) -> SubjectPublicKeyInfoOwned {
        let mut point = vec![0x04u8];
        point.extend(std::iter::repeat_n(0x11, 2 * coordinate_len));
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: ID_EC_PUBLIC_KEY,
                parameters: Some(Any::encode_from(&curve).unwrap()),
            },
            subject_public_key: BitString::from_bytes(&point).unwrap(),
        }
    }

    #[test]
    fn classify_keys() {
        assert_eq!(KeyKind::of(&fake_rsa_spki(2048)), KeyKind::Rsa(2048));
        assert_eq!(KeyKind::of(&fake_rsa_spki(1024)), KeyKind::Rsa(1024));
        assert_eq!(KeyKind::of(&fake_rsa_spki(3072)), KeyKind::Rsa(3072));
        assert_eq!(
            KeyKind::of(&fake_ec_spki(SECP_384_R_1, 48)),
            KeyKind::Ec(Curve::P384)
        );
        let secp256k1 = ObjectIdentifier::new_unwrap("1.3.132.0.10");
        assert_eq!(
            KeyKind::of(&fake_ec_spki(secp256k1, 32)),
            KeyKind::OtherEc("1.3.132.0.10".into())
        );
        let mut ed = fake_ec_spki(SECP_256_R_1, 32);
        ed.algorithm = AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap("1.3.101.112"),
            parameters: None,
        };
        assert_eq!(KeyKind::of(&ed), KeyKind::Other("1.3.101.112".into()));
        assert_eq!(uint_bits(&[0x00, 0x01, 0xff]), 9);
        assert_eq!(uint_bits(&[]), 0);
        assert_eq!(Curve::from_name("prime256v1"), Some(Curve::P256));
        assert_eq!(Curve::from_name("secp384r1"), Some(Curve::P384));
        assert_eq!(Curve::from_name("P-224"), None);
    }
}
