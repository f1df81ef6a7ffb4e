//! Digest algorithms used with signatures (RFC 5754).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;

/// A digest algorithm of the SHA-2 family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
}

impl HashAlg {
    /// The algorithm's OID.
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => ID_SHA_256,
            Self::Sha384 => ID_SHA_384,
            Self::Sha512 => ID_SHA_512,
        }
    }

    /// The algorithm for an OID, if it is one of ours.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|h| h.oid() == *oid)
    }

    /// The `AlgorithmIdentifier` with absent parameters, as RFC 5754 §2 asks.
    #[must_use]
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// Digest length in octets.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Hash `data`.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// Hash the concatenation of several slices (for example the octets of a
    /// BER constructed OCTET STRING) without joining them first.
    #[must_use]
    pub fn digest_parts<'a>(self, parts: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
        fn run<D: Digest>(parts: impl IntoIterator<Item = impl AsRef<[u8]>>) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p.as_ref());
            }
            d.finalize().to_vec()
        }
        match self {
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        }
    }

    /// Human-readable name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }
}

impl std::fmt::Display for HashAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for HashAlg {
    type Err = crate::Error;

    /// Accepts `sha256`, `sha384`, `sha512`, ignoring case and a `-` after
    /// `sha` (so the [`fmt::Display`](std::fmt::Display) form `SHA-256` parses too).
    fn from_str(s: &str) -> Result<Self, crate::Error> {
        match s.trim().to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            _ => Err(crate::Error::Parse {
                what: "hash",
                value: s.to_owned(),
                expected: "sha256, sha384 or sha512",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        assert_eq!("sha384".parse::<HashAlg>().unwrap(), HashAlg::Sha384);
        assert_eq!("SHA512".parse::<HashAlg>().unwrap(), HashAlg::Sha512);
        assert!("sha1".parse::<HashAlg>().is_err());
    }

    #[test]
    fn digest_parts_equals_digest_of_joined() {
        for h in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
            let joined = h.digest(b"hello world");
            let parts = h.digest_parts([&b"hello"[..], b" ", b"world"]);
            assert_eq!(joined, parts);
            assert_eq!(joined.len(), h.output_len());
            assert_eq!(HashAlg::from_oid(&h.oid()), Some(h));
            assert_eq!(h.to_string().parse::<HashAlg>().unwrap(), h);
        }
    }
}
