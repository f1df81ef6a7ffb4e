//! Pre-issuance lint of the TBS certificate: any finding refuses issuance.

use std::collections::BTreeSet;
use std::fmt;

use cmc_asn1::ocsp::OcspNoCheck;
use const_oid::AssociatedOid;
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE, ID_CE_INHIBIT_ANY_POLICY, ID_CE_KEY_USAGE,
    ID_CE_NAME_CONSTRAINTS, ID_CE_POLICY_CONSTRAINTS, ID_CE_POLICY_MAPPINGS,
    ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
};
use der::Decode;
use serde::{Deserialize, Serialize};
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::time::Time;

use crate::Error;
use crate::algorithm::{check_signature_algorithm, check_signature_algorithm_for_key};
use crate::issuer::IssuerInfo;
use crate::keys::KeyKind;
use crate::lint_kind::{Seen, lint_kind};
use crate::names::KeyUsageBit;
use crate::profile::{Profile, key_usage_fits};
use crate::serial::Serial;
use crate::tbs::RawTbs;
use crate::validity::unix_secs;

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

/// Lint a DER TBS certificate against the profile and the issuer: RFC 5280
/// structure, serial, validity, signature algorithm and key identifiers for
/// every certificate, and the rules of the profile's
/// [`CertificateKind`](crate::CertificateKind): no CA powers in an end
/// entity; critical basicConstraints cA=TRUE with the profile's path length,
/// keyCertSign and a subject in a CA certificate (an authorityKeyIdentifier
/// everywhere except in a self-signed root); id-kp-OCSPSigning and
/// id-pkix-ocsp-nocheck in an OCSP responder's (RFC 6960 §4.2.2.2), and
/// nocheck nowhere else.
///
/// # Errors
/// [`Error::Lint`] with every finding, if there is any.
pub fn lint_tbs(tbs_der: &[u8], profile: &Profile, issuer: &IssuerInfo) -> Result<(), Error> {
    let findings = lint_findings(tbs_der, profile, issuer);
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Lint { findings })
    }
}

/// Every finding of the lint; empty when the TBS may be signed.
#[must_use]
pub fn lint_findings(tbs_der: &[u8], profile: &Profile, issuer: &IssuerInfo) -> Vec<Finding> {
    let tbs = match RawTbs::decode_der(tbs_der) {
        Ok(t) => t,
        Err(e) => {
            return vec![Finding::Undecodable {
                error: e.to_string(),
            }];
        }
    };
    let mut out = Vec::new();
    if tbs.encode_der().ok().as_deref() != Some(tbs_der) {
        out.push(Finding::NotCanonicalDer);
    }
    if tbs.version != Some(Version::V3) {
        out.push(Finding::NotVersion3);
    }
    if tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some() {
        out.push(Finding::UniqueIdentifier);
    }
    lint_serial(tbs.serial_number.as_bytes(), &mut out);
    if tbs.issuer != issuer.subject {
        out.push(Finding::IssuerNameMismatch);
    }
    lint_validity(&tbs, profile, issuer, &mut out);
    lint_signature_algorithm(&tbs, issuer, &mut out);

    let key = KeyKind::of(&tbs.subject_public_key_info);
    if !profile.allows_key(&key) {
        out.push(Finding::KeyNotAllowed {
            key: key.to_string(),
        });
    }
    lint_extensions(&tbs, &key, profile, issuer, &mut out);
    out
}

fn lint_serial(bytes: &[u8], out: &mut Vec<Finding>) {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude = match bytes {
        [0, rest @ ..] => rest,
        all => all,
    };
    if negative || magnitude.iter().all(|b| *b == 0) {
        out.push(Finding::SerialNotPositive);
    }
    if bytes.len() > Serial::MAX_LEN {
        out.push(Finding::SerialTooLong {
            octets: bytes.len(),
        });
    }
    if magnitude.len() < Serial::MIN_LEN {
        out.push(Finding::SerialTooShort {
            octets: magnitude.len(),
        });
    }
}

fn lint_validity(tbs: &RawTbs, profile: &Profile, issuer: &IssuerInfo, out: &mut Vec<Finding>) {
    for (field, t) in [
        ("notBefore", tbs.validity.not_before),
        ("notAfter", tbs.validity.not_after),
    ] {
        if let Time::GeneralTime(g) = t {
            if g.to_date_time().year() < 2050 {
                out.push(Finding::GeneralizedTimeBefore2050 {
                    field: field.to_owned(),
                });
            }
        }
    }
    let nb = unix_secs(tbs.validity.not_before.to_system_time());
    let na = unix_secs(tbs.validity.not_after.to_system_time());
    if na < nb {
        out.push(Finding::ValidityInverted);
    }
    if nb < unix_secs(issuer.not_before) {
        out.push(Finding::NotBeforeBeforeIssuer);
    }
    if na > unix_secs(issuer.not_after) {
        out.push(Finding::NotAfterAfterIssuer);
    }
    let seconds = na.saturating_sub(nb) + 1;
    let maximum = u64::from(profile.validity_days) * 86_400;
    if seconds > maximum {
        out.push(Finding::ValidityTooLong { seconds, maximum });
    }
}

fn lint_signature_algorithm(tbs: &RawTbs, issuer: &IssuerInfo, out: &mut Vec<Finding>) {
    match check_signature_algorithm(&tbs.signature) {
        Err(e) => out.push(Finding::SignatureAlgorithmNotAllowed {
            detail: e.to_string(),
        }),
        Ok(_) => {
            if let Err(e) = check_signature_algorithm_for_key(&tbs.signature, &issuer.public_key) {
                out.push(Finding::SignatureAlgorithmKeyMismatch {
                    detail: e.to_string(),
                });
            }
        }
    }
    if tbs.signature != issuer.signature_algorithm {
        out.push(Finding::SignatureAlgorithmMismatch);
    }
}

fn lint_extensions(
    tbs: &RawTbs,
    key: &KeyKind,
    profile: &Profile,
    issuer: &IssuerInfo,
    out: &mut Vec<Finding>,
) {
    let extensions = tbs.extensions.as_deref().unwrap_or(&[]);
    let mut seen = BTreeSet::new();
    let mut found = Seen::default();
    let mut ski_seen = false;
    let mut aki_seen = false;
    let mut san: Option<bool> = None;
    for ext in extensions {
        let oid = ext.extn_id;
        if !seen.insert(oid) {
            out.push(Finding::DuplicateExtension {
                oid: oid.to_string(),
            });
            continue;
        }
        let value = ext.extn_value.as_bytes();
        let malformed = || Finding::MalformedExtension {
            oid: oid.to_string(),
        };
        match oid {
            ID_CE_SUBJECT_KEY_IDENTIFIER => {
                ski_seen = true;
                if ext.critical {
                    out.push(Finding::SubjectKeyIdCritical);
                }
                match SubjectKeyIdentifier::from_der(value) {
                    Ok(ski) => {
                        let want = profile.ski_method.key_identifier(
                            tbs.subject_public_key_info.subject_public_key.raw_bytes(),
                        );
                        if ski.0.as_bytes() != want.as_slice() {
                            out.push(Finding::SubjectKeyIdMismatch);
                        }
                    }
                    Err(_) => out.push(malformed()),
                }
            }
            ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                aki_seen = true;
                if ext.critical {
                    out.push(Finding::AuthorityKeyIdCritical);
                }
                match AuthorityKeyIdentifier::from_der(value) {
                    Ok(aki) => {
                        if aki.key_identifier.as_ref().map(|k| k.as_bytes())
                            != Some(issuer.key_identifier.as_slice())
                        {
                            out.push(Finding::AuthorityKeyIdMismatch);
                        }
                    }
                    Err(_) => out.push(malformed()),
                }
            }
            ID_CE_BASIC_CONSTRAINTS => match BasicConstraints::from_der(value) {
                Ok(bc) => found.basic_constraints = Some((ext.critical, bc)),
                Err(_) => out.push(malformed()),
            },
            ID_CE_KEY_USAGE => match KeyUsage::from_der(value) {
                Ok(ku) => found.key_usage = Some((ext.critical, KeyUsageBit::from_flags(ku.0))),
                Err(_) => out.push(malformed()),
            },
            ID_CE_EXT_KEY_USAGE => match ExtendedKeyUsage::from_der(value) {
                Ok(eku) => found.extended_key_usage = Some(eku.0),
                Err(_) => out.push(malformed()),
            },
            ID_CE_SUBJECT_ALT_NAME => match SubjectAltName::from_der(value) {
                Ok(_) => san = Some(ext.critical),
                Err(_) => out.push(malformed()),
            },
            o if o == OcspNoCheck::OID => match OcspNoCheck::from_der(value) {
                Ok(_) => found.ocsp_nocheck = true,
                Err(_) => out.push(malformed()),
            },
            o if [
                ID_CE_NAME_CONSTRAINTS,
                ID_CE_POLICY_CONSTRAINTS,
                ID_CE_POLICY_MAPPINGS,
                ID_CE_INHIBIT_ANY_POLICY,
            ]
            .contains(&o) =>
            {
                found.ca_only.push((o, ext.critical));
            }
            ID_CE_CERTIFICATE_POLICIES
            | ID_CE_CRL_DISTRIBUTION_POINTS
            | ID_PE_AUTHORITY_INFO_ACCESS => {}
            _ if ext.critical => out.push(Finding::UnknownCriticalExtension {
                oid: oid.to_string(),
            }),
            _ => {}
        }
    }
    if !ski_seen {
        out.push(Finding::SubjectKeyIdMissing);
    }
    // RFC 5280 §4.2.1.1: only a self-signed certificate may go without.
    if !aki_seen && !is_self_signed(tbs, issuer) {
        out.push(Finding::AuthorityKeyIdMissing);
    }
    if let Some((critical, bits)) = &found.key_usage {
        if bits.is_empty() {
            out.push(Finding::KeyUsageEmpty);
        }
        if !critical {
            out.push(Finding::KeyUsageNotCritical);
        }
        for usage in bits {
            if !key_usage_fits(*usage, key) {
                out.push(Finding::KeyUsageNotForKey {
                    usage: *usage,
                    key: key.to_string(),
                });
            }
        }
    }
    if tbs.subject.is_empty() {
        match san {
            None => out.push(Finding::EmptySubjectWithoutSan),
            Some(false) => out.push(Finding::EmptySubjectSanNotCritical),
            Some(true) => {}
        }
    }
    lint_kind(tbs, &found, profile, out);
}

/// Whether the TBS is self-signed by `issuer`: issued to and by the same
/// name, certifying the issuer's own key.
fn is_self_signed(tbs: &RawTbs, issuer: &IssuerInfo) -> bool {
    tbs.issuer == tbs.subject && tbs.subject_public_key_info == issuer.public_key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{fake_ec_spki, fake_rsa_spki};
    use crate::tbs::RawValidity;
    use crate::validity::time_for;
    use crate::{Request, Serial, prepare};
    use const_oid::ObjectIdentifier;
    use const_oid::db::rfc5912::{
        ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SECP_256_R_1, SHA_1_WITH_RSA_ENCRYPTION,
    };
    use der::asn1::{BitString, GeneralizedTime, Int, OctetString};
    use der::flagset::FlagSet;
    use der::{Any, Encode, Sequence};
    use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use x509_cert::ext::Extension;
    use x509_cert::ext::pkix::KeyUsages;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::name::Name;

    const NOW: u64 = 1_800_000_000; // 2027-01-15T08:00:00Z

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn ecdsa(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    fn issuer() -> IssuerInfo {
        IssuerInfo {
            subject: "CN=Lint Test CA,O=Example,C=SE".parse().unwrap(),
            key_identifier: vec![0x11; 20],
            not_before: at(NOW - 86_400),
            not_after: at(NOW + 3650 * 86_400),
            public_key: fake_ec_spki(SECP_256_R_1, 32),
            signature_algorithm: ecdsa(ECDSA_WITH_SHA_256),
            crl_urls: vec!["http://crl.example/ca.crl".into()],
            ca_issuers_urls: vec!["http://ca.example/ca.cer".into()],
            ocsp_urls: vec!["http://ocsp.example".into()],
        }
    }

    fn leaf_key() -> SubjectPublicKeyInfoOwned {
        let mut k = fake_ec_spki(SECP_256_R_1, 32);
        k.subject_public_key = BitString::from_bytes(&[0x04; 65]).unwrap();
        k
    }

    /// A TBS that passes, as prepared by the crate, with its profile and issuer.
    fn good() -> (RawTbs, Profile, IssuerInfo) {
        let profile = Profile::builtin();
        let issuer = issuer();
        let mut request = Request::new("CN=leaf.example,O=Example".parse().unwrap(), leaf_key());
        let san = SubjectAltName(vec![GeneralName::DnsName(
            der::asn1::Ia5String::new("leaf.example").unwrap(),
        )]);
        request.extensions.push(Extension {
            extn_id: ID_CE_SUBJECT_ALT_NAME,
            critical: false,
            extn_value: OctetString::new(san.to_der().unwrap()).unwrap(),
        });
        let prepared = prepare(
            &request,
            &profile,
            &issuer,
            &Serial::from_random([0x5a; 16]),
            at(NOW),
        )
        .unwrap();
        let tbs = RawTbs::decode_der(prepared.tbs_der()).unwrap();
        (tbs, profile, issuer)
    }

    fn lint(tbs: &RawTbs, profile: &Profile, issuer: &IssuerInfo) -> Vec<Finding> {
        lint_findings(&tbs.encode_der().unwrap(), profile, issuer)
    }

    /// Lint `tbs` after `change`, and check `want` is among the findings.
    fn expect(want: &Finding, change: impl FnOnce(&mut RawTbs, &mut IssuerInfo)) {
        let (mut tbs, profile, mut issuer) = good();
        change(&mut tbs, &mut issuer);
        let found = lint(&tbs, &profile, &issuer);
        assert!(found.contains(want), "wanted {want:?}, found {found:?}");
    }

    fn exts(tbs: &mut RawTbs) -> &mut Vec<Extension> {
        tbs.extensions.get_or_insert_with(Vec::new)
    }

    fn set_ext(tbs: &mut RawTbs, oid: ObjectIdentifier, critical: bool, value: &[u8]) {
        let e = Extension {
            extn_id: oid,
            critical,
            extn_value: OctetString::new(value).unwrap(),
        };
        let list = exts(tbs);
        match list.iter_mut().find(|x| x.extn_id == oid) {
            Some(x) => *x = e,
            None => list.push(e),
        }
    }

    fn remove_ext(tbs: &mut RawTbs, oid: ObjectIdentifier) {
        exts(tbs).retain(|e| e.extn_id != oid);
    }

    fn key_usage(bits: FlagSet<KeyUsages>) -> Vec<u8> {
        KeyUsage(bits).to_der().unwrap()
    }

    #[test]
    fn prepared_tbs_is_clean() {
        let (tbs, profile, issuer) = good();
        assert_eq!(lint(&tbs, &profile, &issuer), vec![]);
        assert!(lint_tbs(&tbs.encode_der().unwrap(), &profile, &issuer).is_ok());
    }

    #[test]
    fn undecodable() {
        let (_, profile, issuer) = good();
        let found = lint_findings(&[0x30, 0x03, 0x02, 0x01], &profile, &issuer);
        assert!(
            matches!(found.as_slice(), [Finding::Undecodable { .. }]),
            "{found:?}"
        );
        assert!(matches!(
            lint_tbs(b"junk", &profile, &issuer),
            Err(Error::Lint { findings }) if findings.len() == 1
        ));
    }

    #[test]
    fn not_canonical_der() {
        // An extension that spells out `critical FALSE`, which DER omits.
        #[derive(Sequence)]
        struct LaxExtension {
            id: ObjectIdentifier,
            critical: bool,
            value: OctetString,
        }
        #[derive(Sequence)]
        struct LaxTbs {
            #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
            version: Version,
            serial_number: Int,
            signature: AlgorithmIdentifierOwned,
            issuer: Name,
            validity: RawValidity,
            subject: Name,
            spki: SubjectPublicKeyInfoOwned,
            #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
            extensions: Vec<LaxExtension>,
        }
        let (tbs, profile, issuer) = good();
        let lax = LaxTbs {
            version: Version::V3,
            serial_number: tbs.serial_number.clone(),
            signature: tbs.signature.clone(),
            issuer: tbs.issuer.clone(),
            validity: tbs.validity,
            subject: tbs.subject.clone(),
            spki: tbs.subject_public_key_info.clone(),
            extensions: tbs
                .extensions
                .clone()
                .unwrap()
                .into_iter()
                .map(|e| LaxExtension {
                    id: e.extn_id,
                    critical: e.critical,
                    value: e.extn_value,
                })
                .collect(),
        };
        let found = lint_findings(&lax.to_der().unwrap(), &profile, &issuer);
        assert_eq!(found, vec![Finding::NotCanonicalDer]);
    }

    #[test]
    fn version_and_unique_ids() {
        expect(&Finding::NotVersion3, |t, _| t.version = None);
        expect(&Finding::NotVersion3, |t, _| t.version = Some(Version::V2));
        expect(&Finding::UniqueIdentifier, |t, _| {
            t.subject_unique_id = Some(BitString::from_bytes(&[1, 2]).unwrap());
        });
        expect(&Finding::UniqueIdentifier, |t, _| {
            t.issuer_unique_id = Some(BitString::from_bytes(&[1, 2]).unwrap());
        });
    }

    #[test]
    fn serial_numbers() {
        expect(&Finding::SerialNotPositive, |t, _| {
            t.serial_number = Int::new(&[0x80, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        });
        expect(&Finding::SerialNotPositive, |t, _| {
            t.serial_number = Int::new(&[0]).unwrap();
        });
        expect(&Finding::SerialTooLong { octets: 21 }, |t, _| {
            t.serial_number = Int::new(&[0x12; 21]).unwrap();
        });
        expect(&Finding::SerialTooShort { octets: 7 }, |t, _| {
            t.serial_number = Int::new(&[0x12; 7]).unwrap();
        });
        // A leading zero octet carries no randomness.
        expect(&Finding::SerialTooShort { octets: 7 }, |t, _| {
            t.serial_number = Int::new(&[0x00, 0x92, 2, 3, 4, 5, 6, 7]).unwrap();
        });
        let (mut t, p, i) = good();
        t.serial_number = Int::new(&[0x12; 8]).unwrap();
        assert_eq!(lint(&t, &p, &i), vec![]);
    }

    #[test]
    fn issuer_name() {
        expect(&Finding::IssuerNameMismatch, |t, _| {
            t.issuer = "CN=Someone Else".parse().unwrap();
        });
    }

    fn utc(secs: u64) -> Time {
        time_for(secs).unwrap()
    }

    #[test]
    fn validity() {
        expect(&Finding::ValidityInverted, |t, _| {
            t.validity = RawValidity {
                not_before: t.validity.not_after,
                not_after: t.validity.not_before,
            };
        });
        expect(&Finding::NotBeforeBeforeIssuer, |t, _| {
            t.validity.not_before = utc(NOW - 2 * 86_400);
        });
        expect(&Finding::NotAfterAfterIssuer, |t, i| {
            i.not_after = at(NOW + 30 * 86_400);
            t.validity.not_after = utc(NOW + 31 * 86_400);
        });
        expect(
            &Finding::ValidityTooLong {
                seconds: 94 * 86_400,
                maximum: 93 * 86_400,
            },
            |t, _| {
                t.validity.not_before = utc(NOW);
                t.validity.not_after = utc(NOW + 94 * 86_400 - 1);
            },
        );
    }

    #[test]
    fn time_encoding() {
        expect(
            &Finding::GeneralizedTimeBefore2050 {
                field: "notBefore".into(),
            },
            |t, _| {
                let dt = t.validity.not_before.to_date_time();
                t.validity.not_before = Time::GeneralTime(GeneralizedTime::from_date_time(dt));
            },
        );
        expect(
            &Finding::GeneralizedTimeBefore2050 {
                field: "notAfter".into(),
            },
            |t, _| {
                let dt = t.validity.not_after.to_date_time();
                t.validity.not_after = Time::GeneralTime(GeneralizedTime::from_date_time(dt));
            },
        );
    }

    #[test]
    fn duplicate_malformed_unknown_and_ca_only_extensions() {
        expect(
            &Finding::DuplicateExtension {
                oid: ID_CE_SUBJECT_KEY_IDENTIFIER.to_string(),
            },
            |t, _| {
                let ski = exts(t)
                    .iter()
                    .find(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)
                    .cloned()
                    .unwrap();
                exts(t).push(ski);
            },
        );
        expect(
            &Finding::MalformedExtension {
                oid: ID_CE_KEY_USAGE.to_string(),
            },
            |t, _| set_ext(t, ID_CE_KEY_USAGE, true, &[0x05, 0x00]),
        );
        expect(
            &Finding::UnknownCriticalExtension {
                oid: "1.2.3.4".into(),
            },
            |t, _| {
                set_ext(
                    t,
                    ObjectIdentifier::new_unwrap("1.2.3.4"),
                    true,
                    &[0x05, 0x00],
                )
            },
        );
        for (oid, name) in [
            (ID_CE_NAME_CONSTRAINTS, "nameConstraints"),
            (ID_CE_POLICY_CONSTRAINTS, "policyConstraints"),
            (ID_CE_POLICY_MAPPINGS, "policyMappings"),
            (ID_CE_INHIBIT_ANY_POLICY, "inhibitAnyPolicy"),
        ] {
            expect(&Finding::CaOnlyExtension { name: name.into() }, |t, _| {
                set_ext(t, oid, true, &[0x30, 0x00]);
            });
        }
        // An unknown non-critical extension is not a finding.
        let (mut t, p, i) = good();
        set_ext(
            &mut t,
            ObjectIdentifier::new_unwrap("1.2.3.4"),
            false,
            &[0x05, 0x00],
        );
        assert_eq!(lint(&t, &p, &i), vec![]);
    }

    #[test]
    fn key_identifiers() {
        expect(&Finding::SubjectKeyIdMissing, |t, _| {
            remove_ext(t, ID_CE_SUBJECT_KEY_IDENTIFIER);
        });
        expect(&Finding::SubjectKeyIdMismatch, |t, _| {
            let other = SubjectKeyIdentifier(OctetString::new([0x22; 20]).unwrap());
            set_ext(
                t,
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                &other.to_der().unwrap(),
            );
        });
        expect(&Finding::SubjectKeyIdCritical, |t, _| {
            exts(t)
                .iter_mut()
                .filter(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)
                .for_each(|e| e.critical = true);
        });
        expect(&Finding::AuthorityKeyIdMissing, |t, _| {
            remove_ext(t, ID_CE_AUTHORITY_KEY_IDENTIFIER);
        });
        expect(&Finding::AuthorityKeyIdMismatch, |_, i| {
            i.key_identifier = vec![0x33; 20];
        });
        expect(&Finding::AuthorityKeyIdMismatch, |t, _| {
            let aki = AuthorityKeyIdentifier::default();
            set_ext(
                t,
                ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                &aki.to_der().unwrap(),
            );
        });
        expect(&Finding::AuthorityKeyIdCritical, |t, _| {
            exts(t)
                .iter_mut()
                .filter(|e| e.extn_id == ID_CE_AUTHORITY_KEY_IDENTIFIER)
                .for_each(|e| e.critical = true);
        });
    }

    #[test]
    fn basic_constraints_and_key_usage() {
        expect(&Finding::CaCertificate, |t, _| {
            let bc = BasicConstraints {
                ca: true,
                path_len_constraint: None,
            };
            set_ext(t, ID_CE_BASIC_CONSTRAINTS, true, &bc.to_der().unwrap());
        });
        expect(&Finding::KeyUsageEmpty, |t, _| {
            set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(FlagSet::default()));
        });
        expect(
            &Finding::KeyUsageNotForKey {
                usage: KeyUsageBit::KeyEncipherment,
                key: "EC P-256".into(),
            },
            |t, _| {
                let ku = KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment;
                set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(ku));
            },
        );
        expect(
            &Finding::KeyUsageNotForKey {
                usage: KeyUsageBit::KeyAgreement,
                key: "RSA-2048".into(),
            },
            |t, _| {
                t.subject_public_key_info = fake_rsa_spki(2048);
                let ku = KeyUsages::DigitalSignature | KeyUsages::KeyAgreement;
                set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(ku));
            },
        );
        expect(&Finding::KeyCertSignWithoutCa, |t, _| {
            let ku = KeyUsages::DigitalSignature | KeyUsages::KeyCertSign;
            set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(ku));
        });
        expect(&Finding::KeyCertSignWithoutCa, |t, _| {
            remove_ext(t, ID_CE_BASIC_CONSTRAINTS);
            set_ext(
                t,
                ID_CE_KEY_USAGE,
                true,
                &key_usage(KeyUsages::KeyCertSign.into()),
            );
        });
        expect(&Finding::CrlSignInEndEntity, |t, _| {
            let ku = KeyUsages::DigitalSignature | KeyUsages::CRLSign;
            set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(ku));
        });
    }

    #[test]
    fn empty_subject() {
        expect(&Finding::EmptySubjectWithoutSan, |t, _| {
            t.subject = Name::default();
            remove_ext(t, ID_CE_SUBJECT_ALT_NAME);
        });
        expect(&Finding::EmptySubjectSanNotCritical, |t, _| {
            t.subject = Name::default();
        });
        let (mut t, p, i) = good();
        t.subject = Name::default();
        exts(&mut t)
            .iter_mut()
            .filter(|e| e.extn_id == ID_CE_SUBJECT_ALT_NAME)
            .for_each(|e| e.critical = true);
        assert_eq!(lint(&t, &p, &i), vec![]);
    }

    #[test]
    fn signature_algorithm() {
        expect(
            &Finding::SignatureAlgorithmNotAllowed {
                detail: format!(
                    "signature algorithm not allowed: {SHA_1_WITH_RSA_ENCRYPTION} is not an allowed signature algorithm"
                ),
            },
            |t, _| {
                t.signature = AlgorithmIdentifierOwned {
                    oid: SHA_1_WITH_RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                };
            },
        );
        expect(&Finding::SignatureAlgorithmMismatch, |t, _| {
            t.signature = ecdsa(ECDSA_WITH_SHA_384);
        });
        // The CA says it signs P-256 with SHA-384: consistent with the TBS, but
        // not RFC 5753.
        let (mut t, p, mut i) = good();
        i.signature_algorithm = ecdsa(ECDSA_WITH_SHA_384);
        t.signature = ecdsa(ECDSA_WITH_SHA_384);
        let found = lint(&t, &p, &i);
        assert!(
            matches!(
                found.as_slice(),
                [Finding::SignatureAlgorithmKeyMismatch { .. }]
            ),
            "{found:?}"
        );
    }

    #[test]
    fn key_not_allowed_by_profile() {
        expect(
            &Finding::KeyNotAllowed {
                key: "RSA-1024".into(),
            },
            |t, _| t.subject_public_key_info = fake_rsa_spki(1024),
        );
    }

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
