//! What the lint reports: one [`Finding`] per problem, each with the rule
//! it breaks.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::names::KeyUsageBit;

/// One problem the lint found in a TBS certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finding {
    /// The bytes are not a DER TBSCertificate.
    Undecodable {
        /// The decoder's message.
        error: String,
    },
    /// Re-encoding the decoded TBS does not give the same bytes.
    NotCanonicalDer,
    /// The version is not v3.
    NotVersion3,
    /// issuerUniqueID or subjectUniqueID is present (RFC 5280 §4.1.2.8: CAs
    /// must not generate them).
    UniqueIdentifier,
    /// The serial number is zero or negative.
    SerialNotPositive,
    /// The serial number is longer than 20 octets.
    SerialTooLong {
        /// Its length in octets.
        octets: usize,
    },
    /// The serial number has fewer than 64 bits (8 octets) of content.
    SerialTooShort {
        /// Its length in octets, without a leading zero octet.
        octets: usize,
    },
    /// The issuer name is not the issuing CA's subject.
    IssuerNameMismatch,
    /// notAfter is before notBefore.
    ValidityInverted,
    /// notBefore is before the issuer's notBefore.
    NotBeforeBeforeIssuer,
    /// notAfter is after the issuer's notAfter.
    NotAfterAfterIssuer,
    /// The validity is longer than the profile grants.
    ValidityTooLong {
        /// Seconds of validity (inclusive).
        seconds: u64,
        /// The profile's maximum.
        maximum: u64,
    },
    /// A time before 2050 is encoded as GeneralizedTime (RFC 5280 §4.1.2.5
    /// wants UTCTime through 2049, GeneralizedTime from 2050).
    GeneralizedTimeBefore2050 {
        /// `notBefore` or `notAfter`.
        field: String,
    },
    /// The same extension appears twice.
    DuplicateExtension {
        /// Its OID.
        oid: String,
    },
    /// An extension's value does not decode.
    MalformedExtension {
        /// Its OID.
        oid: String,
    },
    /// A critical extension the lint does not know.
    UnknownCriticalExtension {
        /// Its OID.
        oid: String,
    },
    /// An extension only CA certificates carry (nameConstraints,
    /// policyConstraints, policyMappings, inhibitAnyPolicy).
    CaOnlyExtension {
        /// Its name.
        name: String,
    },
    /// No subjectKeyIdentifier.
    SubjectKeyIdMissing,
    /// The subjectKeyIdentifier is not the one computed from the key.
    SubjectKeyIdMismatch,
    /// The subjectKeyIdentifier is critical (RFC 5280 §4.2.1.2).
    SubjectKeyIdCritical,
    /// No authorityKeyIdentifier.
    AuthorityKeyIdMissing,
    /// The authorityKeyIdentifier is not the issuer's key identifier.
    AuthorityKeyIdMismatch,
    /// The authorityKeyIdentifier is critical (RFC 5280 §4.2.1.1).
    AuthorityKeyIdCritical,
    /// basicConstraints says cA=TRUE in a certificate whose profile is not a
    /// CA profile.
    CaCertificate,
    /// keyUsage is present with no bit set.
    KeyUsageEmpty,
    /// A key usage that the key type cannot serve (keyEncipherment for an EC
    /// key, keyAgreement for RSA, ...).
    KeyUsageNotForKey {
        /// The usage.
        usage: KeyUsageBit,
        /// The key (`EC P-256`, ...).
        key: String,
    },
    /// keyCertSign without basicConstraints cA=TRUE (RFC 5280 §4.2.1.3).
    KeyCertSignWithoutCa,
    /// cRLSign in an end-entity certificate.
    CrlSignInEndEntity,
    /// The subject is empty and there is no subjectAltName.
    EmptySubjectWithoutSan,
    /// The subject is empty and the subjectAltName is not critical
    /// (RFC 5280 §4.2.1.6).
    EmptySubjectSanNotCritical,
    /// The TBS `signature` algorithm is not an allowed one.
    SignatureAlgorithmNotAllowed {
        /// Why.
        detail: String,
    },
    /// The TBS `signature` algorithm is not the one the CA key produces.
    SignatureAlgorithmMismatch,
    /// The algorithm does not fit the CA key (RFC 5753 curve/digest pairing,
    /// RSA algorithm with an EC key, ...).
    SignatureAlgorithmKeyMismatch {
        /// Why.
        detail: String,
    },
    /// The subject key type or size is not allowed by the profile.
    KeyNotAllowed {
        /// The key.
        key: String,
    },
    /// keyUsage is not critical (RFC 5280 §4.2.1.3: it should be, and every
    /// profile here makes it so).
    KeyUsageNotCritical,
    /// The extendedKeyUsage is not exactly the profile's (or is present when
    /// the profile grants none).
    ExtendedKeyUsageMismatch,
    /// A pathLenConstraint without cA=TRUE and keyCertSign (RFC 5280
    /// §4.2.1.9).
    PathLenWithoutCa,
    /// A CA certificate without basicConstraints cA=TRUE (RFC 5280 §4.2.1.9).
    CaWithoutBasicConstraints,
    /// A CA certificate whose basicConstraints is not critical (RFC 5280
    /// §4.2.1.9).
    BasicConstraintsNotCritical,
    /// A CA certificate whose pathLenConstraint is not the profile's.
    PathLenMismatch {
        /// The profile's.
        expected: Option<u8>,
        /// The certificate's.
        found: Option<u8>,
    },
    /// A CA certificate without keyUsage keyCertSign (RFC 5280 §4.2.1.3).
    CaWithoutKeyCertSign,
    /// A CA certificate with an empty subject (RFC 5280 §4.1.2.6).
    CaSubjectEmpty,
    /// nameConstraints, policyConstraints or inhibitAnyPolicy in a CA
    /// certificate, not critical (RFC 5280 §4.2.1.10, §4.2.1.11, §4.2.1.14).
    CaOnlyExtensionNotCritical {
        /// Its name.
        name: String,
    },
    /// One of the engine's own certificates (CA, client credential, OCSP
    /// responder: their keys sign) without keyUsage digitalSignature.
    DigitalSignatureMissing,
    /// A client credential without extendedKeyUsage clientAuth.
    ClientAuthMissing,
    /// An OCSP responder certificate without extendedKeyUsage
    /// id-kp-OCSPSigning (RFC 6960 §4.2.2.2).
    OcspSigningMissing,
    /// An OCSP responder certificate without id-pkix-ocsp-nocheck (RFC 6960
    /// §4.2.2.2.1; the engine's responder certificates are short-lived and
    /// always carry it).
    OcspNoCheckMissing,
    /// id-pkix-ocsp-nocheck in a certificate that is not an OCSP responder's:
    /// relying parties would never check its revocation.
    OcspNoCheckOutsideResponder,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undecodable { error } => write!(f, "not a DER TBSCertificate: {error}"),
            Self::NotCanonicalDer => f.write_str("TBS is not canonical DER"),
            Self::NotVersion3 => f.write_str("version is not v3"),
            Self::UniqueIdentifier => f.write_str("unique identifiers present"),
            Self::SerialNotPositive => f.write_str("serial number is not positive"),
            Self::SerialTooLong { octets } => {
                write!(f, "serial number is {octets} octets, more than 20")
            }
            Self::SerialTooShort { octets } => {
                write!(f, "serial number is {octets} octets, fewer than 64 bits")
            }
            Self::IssuerNameMismatch => f.write_str("issuer is not the CA's subject"),
            Self::ValidityInverted => f.write_str("notAfter is before notBefore"),
            Self::NotBeforeBeforeIssuer => f.write_str("notBefore is before the issuer's"),
            Self::NotAfterAfterIssuer => f.write_str("notAfter is after the issuer's"),
            Self::ValidityTooLong { seconds, maximum } => {
                write!(
                    f,
                    "validity of {seconds} s exceeds the profile's {maximum} s"
                )
            }
            Self::GeneralizedTimeBefore2050 { field } => {
                write!(f, "{field} before 2050 is GeneralizedTime, not UTCTime")
            }
            Self::DuplicateExtension { oid } => write!(f, "extension {oid} appears twice"),
            Self::MalformedExtension { oid } => write!(f, "extension {oid} does not decode"),
            Self::UnknownCriticalExtension { oid } => {
                write!(f, "unknown critical extension {oid}")
            }
            Self::CaOnlyExtension { name } => write!(f, "{name} in an end-entity certificate"),
            Self::SubjectKeyIdMissing => f.write_str("no subjectKeyIdentifier"),
            Self::SubjectKeyIdMismatch => {
                f.write_str("subjectKeyIdentifier is not computed from the key")
            }
            Self::SubjectKeyIdCritical => f.write_str("subjectKeyIdentifier is critical"),
            Self::AuthorityKeyIdMissing => f.write_str("no authorityKeyIdentifier"),
            Self::AuthorityKeyIdMismatch => {
                f.write_str("authorityKeyIdentifier is not the issuer's key identifier")
            }
            Self::AuthorityKeyIdCritical => f.write_str("authorityKeyIdentifier is critical"),
            Self::CaCertificate => f.write_str("basicConstraints cA=TRUE"),
            Self::KeyUsageEmpty => f.write_str("keyUsage has no bit set"),
            Self::KeyUsageNotForKey { usage, key } => write!(f, "{usage} with a {key} key"),
            Self::KeyCertSignWithoutCa => f.write_str("keyCertSign without cA=TRUE"),
            Self::CrlSignInEndEntity => f.write_str("cRLSign in an end-entity certificate"),
            Self::EmptySubjectWithoutSan => f.write_str("empty subject and no subjectAltName"),
            Self::EmptySubjectSanNotCritical => {
                f.write_str("empty subject with a non-critical subjectAltName")
            }
            Self::SignatureAlgorithmNotAllowed { detail } => {
                write!(f, "signature algorithm not allowed: {detail}")
            }
            Self::SignatureAlgorithmMismatch => {
                f.write_str("signature algorithm is not the CA key's")
            }
            Self::SignatureAlgorithmKeyMismatch { detail } => {
                write!(f, "signature algorithm does not fit the CA key: {detail}")
            }
            Self::KeyNotAllowed { key } => write!(f, "{key} keys are not allowed"),
            Self::KeyUsageNotCritical => f.write_str("keyUsage is not critical"),
            Self::ExtendedKeyUsageMismatch => f.write_str("extendedKeyUsage is not the profile's"),
            Self::PathLenWithoutCa => {
                f.write_str("pathLenConstraint without cA=TRUE and keyCertSign")
            }
            Self::CaWithoutBasicConstraints => {
                f.write_str("CA certificate without basicConstraints cA=TRUE")
            }
            Self::BasicConstraintsNotCritical => {
                f.write_str("CA certificate with a non-critical basicConstraints")
            }
            Self::PathLenMismatch { expected, found } => write!(
                f,
                "pathLenConstraint {} is not the profile's {}",
                path_len_text(*found),
                path_len_text(*expected)
            ),
            Self::CaWithoutKeyCertSign => f.write_str("CA certificate without keyCertSign"),
            Self::CaSubjectEmpty => f.write_str("CA certificate with an empty subject"),
            Self::CaOnlyExtensionNotCritical { name } => write!(f, "{name} is not critical"),
            Self::DigitalSignatureMissing => f.write_str("keyUsage without digitalSignature"),
            Self::ClientAuthMissing => f.write_str("client credential without clientAuth"),
            Self::OcspSigningMissing => {
                f.write_str("OCSP responder certificate without id-kp-OCSPSigning")
            }
            Self::OcspNoCheckMissing => {
                f.write_str("OCSP responder certificate without id-pkix-ocsp-nocheck")
            }
            Self::OcspNoCheckOutsideResponder => {
                f.write_str("id-pkix-ocsp-nocheck outside an OCSP responder certificate")
            }
        }
    }
}

fn path_len_text(n: Option<u8>) -> String {
    n.map_or_else(|| String::from("(none)"), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn findings_display() {
        let f = Finding::SerialTooShort { octets: 7 };
        assert_eq!(
            f.to_string(),
            "serial number is 7 octets, fewer than 64 bits"
        );
        let e = Error::Lint {
            findings: vec![f, Finding::SubjectKeyIdMissing],
        };
        assert!(e.to_string().contains("no subjectKeyIdentifier"), "{e}");
    }
}
