//! What the profile made of a request, as data to log, audit and show.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::name_match::NameViolation;
use crate::names::KeyUsageBit;

/// The outcome of applying a profile to a request: what was asked for, what
/// the certificate will carry and what was left out, each with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The profile that was applied.
    pub profile: String,
    /// The certified key (`EC P-256`, `RSA-3072`).
    pub key: String,
    /// The subject the request asked for (RFC 4514).
    pub requested_subject: String,
    /// The subject the certificate carries (RFC 4514).
    pub subject: String,
    /// The extensions the request carried, in request order.
    pub requested: Vec<ExtensionSummary>,
    /// The extensions the certificate carries, in certificate order.
    pub granted: Vec<ExtensionSummary>,
    /// Everything requested that the certificate does not carry as asked.
    pub dropped: Vec<Dropped>,
    /// The subjectAltNames granted (`dNSName:example.com`, ...).
    pub subject_alt_names: Vec<String>,
    /// The key usages granted.
    pub key_usage: Vec<KeyUsageBit>,
    /// The extended key usages granted (names, or dotted OIDs).
    pub extended_key_usage: Vec<String>,
    /// Start of validity (RFC 3339, UTC).
    pub not_before: String,
    /// End of validity (RFC 3339, UTC).
    pub not_after: String,
    /// How and why the validity differs from the profile's or the request's.
    pub validity_adjustments: Vec<ValidityAdjustment>,
}

/// One extension: its OID, its name where known and its criticality.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionSummary {
    /// Dotted OID.
    pub oid: String,
    /// Name (`keyUsage`, ...), or the dotted OID when unknown.
    pub name: String,
    /// Whether it is (or was asked to be) critical.
    pub critical: bool,
}

/// Something requested that the certificate does not carry as asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// What it was: an extension name, `keyUsage keyCertSign`,
    /// `basicConstraints cA=TRUE`, `subjectAltName uniformResourceIdentifier:…`,
    /// `subject OU=…`.
    pub item: String,
    /// The extension's or attribute's OID, dotted, where there is one.
    pub oid: Option<String>,
    /// Why.
    pub reason: DropReason,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.item, self.reason)
    }
}

/// Why a requested item was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropReason {
    /// AKI, SKI, cRLDistributionPoints and authorityInfoAccess are the CA's
    /// to set.
    SetByCa,
    /// The profile decides this extension's content (keyUsage, extKeyUsage,
    /// basicConstraints cA=FALSE, certificatePolicies); the requested value
    /// is replaced.
    SetByProfile,
    /// A fixed attribute of the profile replaces the requested one.
    ReplacedByProfile,
    /// basicConstraints cA=TRUE: end-entity certificates only.
    CaBasicConstraints,
    /// keyCertSign or cRLSign: end-entity certificates only.
    CaKeyUsage,
    /// An extension only CA certificates carry (nameConstraints,
    /// policyConstraints, policyMappings, inhibitAnyPolicy).
    CaOnlyExtension,
    /// A critical extension this CA does not know.
    UnknownCritical,
    /// An extension the profile does not pass.
    NotInProfile,
    /// The same extension twice in the request.
    Duplicate,
    /// The extension's value does not decode.
    Malformed,
    /// A subjectAltName of a type the profile does not allow.
    NameTypeNotAllowed,
    /// A subjectAltName whose value is not well formed (a DNS name that is not
    /// a host name, an IP address of the wrong length, ...).
    InvalidName,
    /// A subject attribute type the profile does not take from requests.
    AttributeNotAllowed,
    /// A subject attribute whose value is too long, empty or in the wrong
    /// string type.
    InvalidAttribute,
}

impl DropReason {
    /// Whether a profile with `on_refused_extension = "refuse"` refuses the
    /// request for it. Items the CA or the profile simply set themselves are
    /// not refusals; everything else is.
    #[must_use]
    pub const fn is_refusal(self) -> bool {
        !matches!(
            self,
            Self::SetByCa | Self::SetByProfile | Self::ReplacedByProfile
        )
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SetByCa => "set by the CA",
            Self::SetByProfile => "set by the profile",
            Self::ReplacedByProfile => "replaced by the profile's fixed value",
            Self::CaBasicConstraints => "cA=TRUE is never granted to an end entity",
            Self::CaKeyUsage => "CA key usage is never granted to an end entity",
            Self::CaOnlyExtension => "CA-only extension",
            Self::UnknownCritical => "unknown critical extension",
            Self::NotInProfile => "not passed by the profile",
            Self::Duplicate => "duplicate extension",
            Self::Malformed => "malformed extension value",
            Self::NameTypeNotAllowed => "name type not allowed by the profile",
            Self::InvalidName => "malformed name",
            Self::AttributeNotAllowed => "attribute type not allowed by the profile",
            Self::InvalidAttribute => "malformed attribute value",
        })
    }
}

/// A change to the validity, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidityAdjustment {
    /// `notBefore` or `notAfter`.
    pub field: String,
    /// The value asked for or computed first (RFC 3339).
    pub wanted: String,
    /// The value granted (RFC 3339).
    pub granted: String,
    /// Why.
    pub reason: AdjustReason,
}

/// Why the validity was adjusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdjustReason {
    /// The requested notBefore lies further back than the profile's backdate.
    BackdateLimit,
    /// The requested notAfter lies beyond the profile's validity.
    ProfileMaximum,
    /// Clamped to the issuer's notAfter.
    IssuerNotAfter,
    /// Raised to the issuer's notBefore.
    IssuerNotBefore,
}

impl fmt::Display for AdjustReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BackdateLimit => "beyond the profile's backdate",
            Self::ProfileMaximum => "beyond the profile's validity",
            Self::IssuerNotAfter => "cut at the issuer's notAfter",
            Self::IssuerNotBefore => "raised to the issuer's notBefore",
        })
    }
}

/// Why a request is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    /// A requested item the profile refuses, under
    /// `on_refused_extension = "refuse"`.
    Item(Dropped),
    /// The key type or size is not allowed by the profile.
    KeyNotAllowed {
        /// The key (`RSA-1024`, `EC on curve 1.3.132.0.10`, ...).
        key: String,
    },
    /// The profile requires a commonName and the subject has none.
    MissingCommonName,
    /// The profile requires a subjectAltName and none passed.
    MissingSubjectAltName,
    /// The subject is empty and no subjectAltName passed, so the certificate
    /// would name nobody.
    NoSubjectIdentity,
    /// The validity would outlive the issuer, under `on_issuer_expiry = "refuse"`.
    OutlivesIssuer {
        /// The notAfter the profile would grant.
        not_after: String,
        /// The issuer's notAfter.
        issuer_not_after: String,
    },
    /// The issuer is not valid at the time of issuance.
    IssuerNotValid {
        /// The issuance time.
        now: String,
    },
    /// The requested validity cannot be granted (ends before it starts, or
    /// ends before the issuance time).
    InvalidValidity {
        /// What is wrong.
        reason: String,
    },
    /// A name the certificate would carry breaks the profile's name rules
    /// (`[profile.NAME.names]`).
    Name(NameViolation),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Item(d) => write!(f, "{d}"),
            Self::KeyNotAllowed { key } => write!(f, "{key} keys are not allowed"),
            Self::MissingCommonName => f.write_str("the profile requires a commonName"),
            Self::MissingSubjectAltName => f.write_str("the profile requires a subjectAltName"),
            Self::NoSubjectIdentity => {
                f.write_str("the subject is empty and there is no subjectAltName")
            }
            Self::OutlivesIssuer {
                not_after,
                issuer_not_after,
            } => write!(
                f,
                "notAfter {not_after} would outlive the issuer (notAfter {issuer_not_after})"
            ),
            Self::IssuerNotValid { now } => write!(f, "the issuer is not valid at {now}"),
            Self::InvalidValidity { reason } => write!(f, "validity: {reason}"),
            Self::Name(v) => write!(f, "{v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_that_refuse() {
        assert!(!DropReason::SetByCa.is_refusal());
        assert!(!DropReason::SetByProfile.is_refusal());
        assert!(!DropReason::ReplacedByProfile.is_refusal());
        for r in [
            DropReason::CaBasicConstraints,
            DropReason::CaKeyUsage,
            DropReason::CaOnlyExtension,
            DropReason::UnknownCritical,
            DropReason::NotInProfile,
            DropReason::Duplicate,
            DropReason::Malformed,
            DropReason::NameTypeNotAllowed,
            DropReason::InvalidName,
            DropReason::AttributeNotAllowed,
            DropReason::InvalidAttribute,
        ] {
            assert!(r.is_refusal(), "{r:?}");
        }
        assert_eq!(DropReason::SetByCa.to_string(), "set by the CA");
    }
}
