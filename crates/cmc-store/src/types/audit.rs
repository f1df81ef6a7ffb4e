//! Audit events: what [`crate::AuditLog`] appends and lists.

use std::fmt;

use super::{Serial, UnixTime};
use crate::error::{Error, Result};

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditKind {
    /// A certificate was issued.
    Issued,
    /// A request was refused.
    Refused,
    /// A certificate was revoked.
    Revoked,
    /// A hold was lifted.
    Unrevoked,
    /// A request was put to an agent.
    PendingCreated,
    /// An agent approved a request.
    PendingApproved,
    /// An agent rejected a request.
    PendingRejected,
    /// A client was registered.
    ClientAdded,
    /// A client was disabled.
    ClientDisabled,
    /// A client was given a new certificate (credential rotation).
    ClientCredentialReplaced,
    /// A shared secret was stored.
    SecretAdded,
    /// A shared secret was locked.
    SecretLocked,
    /// An operator unlocked a shared secret.
    SecretUnlocked,
    /// An operator revoked a shared secret before it was used.
    SecretRevoked,
    /// A CA was added.
    CaAdded,
    /// A CRL was issued.
    CrlIssued,
    /// A certificate's holder accepted it (CMC confirmCertAcceptance).
    Accepted,
    /// A kind this build does not know (written by another version, or by the
    /// engine for something new).
    Other(String),
}

impl AuditKind {
    /// The name stored in the database.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Issued => "issued",
            Self::Refused => "refused",
            Self::Revoked => "revoked",
            Self::Unrevoked => "unrevoked",
            Self::PendingCreated => "pending-created",
            Self::PendingApproved => "pending-approved",
            Self::PendingRejected => "pending-rejected",
            Self::ClientAdded => "client-added",
            Self::ClientDisabled => "client-disabled",
            Self::ClientCredentialReplaced => "client-credential-replaced",
            Self::SecretAdded => "secret-added",
            Self::SecretLocked => "secret-locked",
            Self::SecretUnlocked => "secret-unlocked",
            Self::SecretRevoked => "secret-revoked",
            Self::CaAdded => "ca-added",
            Self::CrlIssued => "crl-issued",
            Self::Accepted => "accepted",
            Self::Other(s) => s,
        }
    }

    /// The kind with this name ([`AuditKind::Other`] if unknown).
    pub fn from_name(s: &str) -> Self {
        match s {
            "issued" => Self::Issued,
            "refused" => Self::Refused,
            "revoked" => Self::Revoked,
            "unrevoked" => Self::Unrevoked,
            "pending-created" => Self::PendingCreated,
            "pending-approved" => Self::PendingApproved,
            "pending-rejected" => Self::PendingRejected,
            "client-added" => Self::ClientAdded,
            "client-disabled" => Self::ClientDisabled,
            "client-credential-replaced" => Self::ClientCredentialReplaced,
            "secret-added" => Self::SecretAdded,
            "secret-locked" => Self::SecretLocked,
            "secret-unlocked" => Self::SecretUnlocked,
            "secret-revoked" => Self::SecretRevoked,
            "ca-added" => Self::CaAdded,
            "crl-issued" => Self::CrlIssued,
            "accepted" => Self::Accepted,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the audited action succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// It did.
    Success,
    /// It did not.
    Failure,
}

text_enum!(Outcome {
    Success => "success",
    Failure => "failure",
});

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: UnixTime,
    /// What.
    pub kind: AuditKind,
    /// Which CA, if any.
    pub issuer: Option<String>,
    /// Which serial, if any.
    pub serial: Option<Serial>,
    /// Which profile, if any.
    pub profile: Option<String>,
    /// Who asked, if known.
    pub requester: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Free text or JSON with the rest.
    pub detail: String,
}

/// An audit event as stored, with its sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Increasing with insertion.
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
}

/// Filters for [`crate::AuditLog::list_audit`]; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this kind.
    pub kind: Option<AuditKind>,
    /// Only this CA.
    pub issuer: Option<String>,
    /// Only this serial.
    pub serial: Option<Serial>,
    /// Only this requester.
    pub requester: Option<String>,
    /// Only events at or after this time.
    pub since: Option<UnixTime>,
    /// Only events before this time.
    pub until: Option<UnixTime>,
}
