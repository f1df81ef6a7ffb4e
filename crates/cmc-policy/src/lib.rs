#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod algorithm;
mod decision;
mod dn_text;
mod error;
mod internal;
mod issuer;
mod keys;
mod lint;
mod name_match;
mod name_rules;
mod name_space;
pub mod names;
mod prepare;
mod profile;
mod request;
mod serial;
mod tbs;
mod validity;

pub use algorithm::{
    Digest, SignatureAlgorithm, check_signature_algorithm, check_signature_algorithm_for_key,
    ecdsa_digest_for_curve,
};
pub use decision::{
    AdjustReason, Decision, DropReason, Dropped, ExtensionSummary, Refusal, ValidityAdjustment,
};
pub use dn_text::name_text;
pub use error::Error;
pub use internal::{
    CA_PROFILE_NAME, CLIENT_CREDENTIAL_PROFILE_NAME, CertificateKind, MAX_INTERNAL_VALIDITY_DAYS,
    MAX_OCSP_RESPONDER_VALIDITY_DAYS, OCSP_RESPONDER_BACKDATE_SECONDS, OCSP_RESPONDER_PROFILE_NAME,
};
pub use issuer::IssuerInfo;
pub use keys::{Curve, KeyKind};
pub use lint::{Finding, lint_findings, lint_tbs};
pub use name_match::{IpRange, NameRule, NameViolation};
pub use name_rules::{MAX_NAME_RULE_ENTRIES, NameRules};
pub use name_space::{MAX_NAME_SPACE_ENTRIES, NameSpace, within_certificate};
pub use names::{KeyUsageBit, NameType};
pub use prepare::{Prepared, prepare};
pub use profile::{
    DEFAULT_PROFILE_NAME, DEFAULT_VALIDITY_DAYS, FixedAttribute, MAX_BACKDATE_SECONDS,
    MAX_RSA_BITS, MAX_VALIDITY_DAYS, MIN_RSA_BITS, OnIssuerExpiry, OnRefusedExtension, Profile,
    ProfileSet, SkiMethod,
};
pub use request::Request;
pub use serial::Serial;
