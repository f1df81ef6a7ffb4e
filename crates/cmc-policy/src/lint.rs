//! Pre-issuance lint of the TBS certificate: any finding refuses issuance.

use std::collections::BTreeSet;
use std::fmt;

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
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::time::Time;

use crate::Error;
use crate::algorithm::{check_signature_algorithm, check_signature_algorithm_for_key};
use crate::issuer::IssuerInfo;
use crate::keys::KeyKind;
use crate::names::{KeyUsageBit, extension_name};
use crate::prepare::unix_secs;
use crate::profile::{Profile, key_usage_fits};
use crate::serial::Serial;
use crate::tbs::RawTbs;

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
    /// basicConstraints says cA=TRUE: profiles issue end-entity certificates.
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
        }
    }
}

/// Lint a DER TBS certificate against the profile and the issuer.
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
    let mut ski_seen = false;
    let mut aki_seen = false;
    let mut san: Option<bool> = None;
    let mut is_ca = false;
    let mut key_usage = None;
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
                Ok(bc) => {
                    if bc.ca {
                        is_ca = true;
                        out.push(Finding::CaCertificate);
                    }
                }
                Err(_) => out.push(malformed()),
            },
            ID_CE_KEY_USAGE => match KeyUsage::from_der(value) {
                Ok(ku) => key_usage = Some(KeyUsageBit::from_flags(ku.0)),
                Err(_) => out.push(malformed()),
            },
            ID_CE_SUBJECT_ALT_NAME => match SubjectAltName::from_der(value) {
                Ok(_) => san = Some(ext.critical),
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
                out.push(Finding::CaOnlyExtension {
                    name: extension_name(&o),
                });
            }
            ID_CE_EXT_KEY_USAGE
            | ID_CE_CERTIFICATE_POLICIES
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
    if !aki_seen {
        out.push(Finding::AuthorityKeyIdMissing);
    }
    if let Some(bits) = key_usage {
        if bits.is_empty() {
            out.push(Finding::KeyUsageEmpty);
        }
        for usage in bits {
            if !key_usage_fits(usage, key) {
                out.push(Finding::KeyUsageNotForKey {
                    usage,
                    key: key.to_string(),
                });
            }
            if usage == KeyUsageBit::KeyCertSign && !is_ca {
                out.push(Finding::KeyCertSignWithoutCa);
            }
            if usage == KeyUsageBit::CrlSign && !is_ca {
                out.push(Finding::CrlSignInEndEntity);
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
}
