//! The one error type of this crate.

use crate::decision::Refusal;
use crate::lint::Finding;

/// Everything that can go wrong while reading profiles, filtering a request,
/// building the TBS certificate or checking it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The profile file is not valid TOML, or does not have the expected shape
    /// (an unknown field, a wrong type). The message comes from the TOML parser
    /// and names the offending key and its line.
    #[error("profile configuration: {message}")]
    ConfigSyntax {
        /// The parser's message.
        message: String,
    },

    /// A profile field has a value that is refused (out of range, unknown name,
    /// over a hard cap).
    #[error("profile configuration: `{field}`: {reason}")]
    Config {
        /// Dotted path of the field, e.g. `profile.server.validity_days`.
        field: String,
        /// Why the value is refused.
        reason: String,
    },

    /// No profile of that name is configured.
    #[error("unknown profile `{0}`")]
    UnknownProfile(String),

    /// The request is malformed in a way that stops it being read at all (two
    /// extensionRequest attributes, a CRMF template without a public key, ...).
    #[error("malformed request: {0}")]
    BadRequest(String),

    /// The profile refuses the request; every reason is listed.
    #[error("request refused by profile `{profile}`: {}", list(reasons))]
    Refused {
        /// The profile that was applied.
        profile: String,
        /// Every reason for the refusal.
        reasons: Vec<Refusal>,
    },

    /// The pre-issuance lint of the TBS certificate found problems; nothing
    /// may be signed.
    #[error("pre-issuance lint failed: {}", list(findings))]
    Lint {
        /// Every finding.
        findings: Vec<Finding>,
    },

    /// A signature `AlgorithmIdentifier` is not one the CA may sign with.
    #[error("signature algorithm not allowed: {0}")]
    Algorithm(String),

    /// The TBS certificate inside a signed certificate is not, byte for byte,
    /// the one that was prepared and linted.
    #[error("the signed certificate's TBS is not the prepared one")]
    TbsMismatch,

    /// A name given for a [`NameSpace`](crate::NameSpace) (`--subject`,
    /// `--dns`, `--email`, `--ip`, or its stored JSON) or an [`IpRange`](crate::IpRange)
    /// is refused.
    #[error("`{value}` is not a valid {kind}: {reason}")]
    InvalidName {
        /// What it should have been (`DNS name`, `IP range`, ...).
        kind: String,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// DER encoding or decoding failed.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    pub(crate) fn invalid_name(
        kind: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidName {
            kind: kind.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
