//! The engine's one answer for "no": a [`Refused`] with a neutral
//! [`Reason`] and a text safe to send. Each front door maps [`Reason`] to
//! its protocol once, exhaustively (CMCFailInfo in proto-cmc, an HTTP
//! status in proto-est, PKIFailureInfo in proto-cmp); the mapping from the
//! engine's internal [`Error`] to a [`Reason`] lives here and only here.

use std::fmt;

use crate::error::Error;

/// Why the engine refused, in terms every protocol can express.
///
/// Deliberately not `#[non_exhaustive]`: a front door maps every reason
/// with an exhaustive match, so a reason added here fails to compile there
/// until that door says what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The request is malformed or asks for something the profile or the
    /// requester's names do not allow.
    BadRequest,
    /// The request asks for extensions the profile will not pass (unknown
    /// critical, not in the profile, CA-only).
    UnsupportedExtension,
    /// An algorithm (of the request's key, signature or proof) is not
    /// accepted.
    BadAlg,
    /// The requester could not be identified, or a renewal asks for names
    /// its certificate does not have.
    BadIdentity,
    /// The requester is known but may not do this (role, grant, profile,
    /// reserved certificate).
    NotAuthorized,
    /// The proof of possession is missing, of a kind this requester may not
    /// use, or does not verify.
    PopFailed,
    /// A renewal requests the key of the certificate it renews, and the
    /// profile does not allow key reuse.
    NoKeyReuse,
    /// The certificate named is not one this CA issued.
    UnknownCertificate,
    /// A time is outside what the CA accepts (signingTime, an expired
    /// credential).
    BadTime,
    /// The CA is busy with this requester's or CA's held requests: try
    /// later.
    TryLater,
    /// The requester already has a request waiting for approval.
    AlreadyPending,
    /// The request was rejected by an agent.
    Rejected,
    /// The CA does not support what was asked.
    NotSupported,
    /// The CA failed (store, key, encoding); the detail is in the log,
    /// never in the answer.
    Internal,
}

impl Reason {
    /// A short name for logs and metrics.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BadRequest => "badRequest",
            Self::UnsupportedExtension => "unsupportedExtension",
            Self::BadAlg => "badAlg",
            Self::BadIdentity => "badIdentity",
            Self::NotAuthorized => "notAuthorized",
            Self::PopFailed => "popFailed",
            Self::NoKeyReuse => "noKeyReuse",
            Self::UnknownCertificate => "unknownCertificate",
            Self::BadTime => "badTime",
            Self::TryLater => "tryLater",
            Self::AlreadyPending => "alreadyPending",
            Self::Rejected => "rejected",
            Self::NotSupported => "notSupported",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refusal: why, and a text that says what was wrong with the request
/// without internal detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Why.
    pub reason: Reason,
    /// What to tell the requester.
    pub detail: String,
}

impl Refused {
    /// A refusal for `reason` with `detail`.
    #[must_use]
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    /// The refusal for an engine error on CA `ca`. Internal errors are
    /// logged here, with their detail, and answered with a fixed text.
    #[must_use]
    pub fn from_error(e: &Error, ca: &str) -> Self {
        let reason = reason_of(e);
        if reason == Reason::Internal {
            tracing::error!(ca, error = %e, "internal error while answering a request");
            return Self::new(reason, "internal CA error");
        }
        let detail = match e {
            // What the profile refused is about the request, not the CA.
            Error::Policy(p) => p.to_string(),
            Error::ProfileNotAllowed { .. } => "profile not allowed on this CA".to_owned(),
            Error::ReservedName { subject, .. } => {
                format!("the subject {subject} is reserved for the CA's own use")
            }
            Error::NameNotRegistered(why) | Error::RenewalNames(why) => why.clone(),
            Error::InvalidRequest(why) => why.clone(),
            Error::Store(cmc_store::Error::Replay) => crate::replay::REPLAYED.to_owned(),
            Error::Store(e) => e.to_string(),
            Error::InvalidSubject { subject, detail } => {
                format!("invalid subject name {subject:?}: {detail}")
            }
            _ => reason.name().to_owned(),
        };
        Self::new(reason, detail)
    }
}

impl Refused {
    /// Whether this is the refusal of a replayed nonce
    /// ([`Engine::check_replay`](crate::Engine::check_replay), or a write
    /// unit that found the nonce committed by a concurrent copy of the
    /// message): nothing of the message was written.
    #[must_use]
    pub fn is_replay(&self) -> bool {
        self.reason == Reason::BadRequest && self.detail == crate::replay::REPLAYED
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for Refused {}

/// The reason for an engine error: the one place the mapping lives.
///
/// - what the profile refuses: badRequest, or unsupportedExtension when
///   the refusal is about extensions the profile will not pass;
/// - a request the engine refuses before changing anything (bad subject,
///   bad validity, a profile the CA does not issue with, a reserved or
///   unregistered name): badRequest; a renewal's names: badIdentity;
/// - a policy algorithm the CA cannot sign with: badAlg;
/// - everything on the CA's side (store, keys, encoding, an expired CA, a
///   CA key whose signature does not verify): internal.
fn reason_of(e: &Error) -> Reason {
    match e {
        Error::Policy(p) => policy_reason(p),
        Error::Store(cmc_store::Error::Replay) => Reason::BadRequest,
        Error::Store(
            cmc_store::Error::SecretUsed
            | cmc_store::Error::SecretLocked
            | cmc_store::Error::SecretExpired,
        ) => Reason::BadIdentity,
        Error::ProfileNotAllowed { .. }
        | Error::InvalidRequest(_)
        | Error::InvalidSubject { .. }
        | Error::ReservedName { .. }
        | Error::NameNotRegistered(_) => Reason::BadRequest,
        Error::RenewalNames(_) => Reason::BadIdentity,
        Error::Store(_)
        | Error::Key(_)
        | Error::UnknownCa(_)
        | Error::CaExists(_)
        | Error::CaLoad { .. }
        | Error::KeyMismatch { .. }
        | Error::KeyConfig(_)
        | Error::Pkcs11Disabled
        | Error::Config(_)
        | Error::CaNotValid { .. }
        | Error::BadCertificate { .. }
        | Error::Encode { .. }
        | Error::TimeOutOfRange(_)
        | Error::Rng
        | Error::File { .. }
        | Error::BadCaSignature { .. }
        | Error::Backup(_) => Reason::Internal,
    }
}

fn policy_reason(e: &cmc_policy::Error) -> Reason {
    use cmc_policy::{DropReason, Error as P, Refusal};
    match e {
        P::Refused { reasons, .. } => {
            let extension_refusal = reasons.iter().any(|r| {
                matches!(r, Refusal::Item(d) if matches!(
                    d.reason,
                    DropReason::UnknownCritical
                        | DropReason::NotInProfile
                        | DropReason::CaOnlyExtension
                        | DropReason::CaBasicConstraints
                        | DropReason::CaKeyUsage
                        | DropReason::Malformed
                        | DropReason::Duplicate
                ))
            });
            if extension_refusal {
                Reason::UnsupportedExtension
            } else {
                Reason::BadRequest
            }
        }
        // A name outside the profile's name rules is a refusal like any
        // other (Refused, above, without an extension reason); a name that
        // does not parse is about the request too.
        P::Lint { .. } | P::UnknownProfile(_) | P::BadRequest(_) | P::InvalidName { .. } => {
            Reason::BadRequest
        }
        P::Algorithm(_) => Reason::BadAlg,
        P::TbsMismatch | P::Der(_) | P::Config { .. } | P::ConfigSyntax { .. } => Reason::Internal,
        // cmc_policy::Error is non_exhaustive: a variant added later is
        // treated as the CA's own failure until it is mapped here.
        _ => Reason::Internal,
    }
}
