//! CMS `SignedData` (RFC 5652 §5): parsing and verifying a signed message, and producing
//! one with a [`SigningKey`](cmc_keys::SigningKey).
//!
//! - `options`: [`Limits`] and [`VerifyOptions`], what the caller passes in;
//! - `verify`: parsing a `SignedData` and verifying each `SignerInfo` ([`VerifiedSigner`]);
//! - `sign`: [`CmsSigner`] and the signed, unsigned and certs-only messages we produce;
//! - here: what both directions share, the [`CmsAlgorithmProtection`] attribute and the
//!   subject key identifiers ([`key_identifier`]).

use der::Sequence;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

mod options;
mod sign;
mod verify;

pub use options::{Limits, VerifyOptions};
pub use sign::{CmsSigner, SignerIdentity};
pub(crate) use sign::{certs_only, sign, unsigned};
pub(crate) use verify::{RequestKey, check_validity, parse, verify_signer};
pub use verify::{SignerSource, VerifiedSigner};

/// `CMSAlgorithmProtection` (RFC 6211 §2), the signed attribute
/// `id-aa-CMSAlgorithmProtection` (1.2.840.113549.1.9.52).
///
/// ```text
/// CMSAlgorithmProtection ::= SEQUENCE {
///     digestAlgorithm         DigestAlgorithmIdentifier,
///     signatureAlgorithm  [1] SignatureAlgorithmIdentifier OPTIONAL,
///     macAlgorithm        [2] MessageAuthenticationCodeAlgorithm
///                                      OPTIONAL
/// }
/// (WITH COMPONENTS { signatureAlgorithm PRESENT,
///                    macAlgorithm ABSENT } |
///  WITH COMPONENTS { signatureAlgorithm ABSENT,
///                    macAlgorithm PRESENT })
/// ```
///
/// The module is IMPLICIT TAGS.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CmsAlgorithmProtection {
    /// The digest algorithm.
    pub digest_algorithm: AlgorithmIdentifierOwned,
    /// `[1]` the signature algorithm (SignedData).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub signature_algorithm: Option<AlgorithmIdentifierOwned>,
    /// `[2]` the MAC algorithm (AuthenticatedData).
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub mac_algorithm: Option<AlgorithmIdentifierOwned>,
}

/// The key identifier of RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
#[must_use]
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
}

pub(super) fn cert_ski(cert: &Certificate) -> Option<Vec<u8>> {
    match cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
    {
        Ok(Some((_, ski))) => Some(ski.0.as_bytes().to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmc_keys::HashAlg;
    use der::{Decode, Encode};
    use hex_literal::hex;

    #[test]
    fn algorithm_protection_encoding() {
        // digestAlgorithm sha256, [1] ecdsa-with-SHA256: the tag is IMPLICIT (0xa1 directly
        // over the AlgorithmIdentifier's content).
        let p = CmsAlgorithmProtection {
            digest_algorithm: HashAlg::Sha256.algorithm_identifier(),
            signature_algorithm: Some(AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
                parameters: None,
            }),
            mac_algorithm: None,
        };
        let der = p.to_der().unwrap();
        assert_eq!(
            der,
            hex!(
                "30 19 30 0b 06 09 60 86 48 01 65 03 04 02 01"
                "a1 0a 06 08 2a 86 48 ce 3d 04 03 02"
            )
        );
        assert_eq!(CmsAlgorithmProtection::from_der(&der).unwrap(), p);
    }
}
