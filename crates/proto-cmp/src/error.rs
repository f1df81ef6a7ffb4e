//! The crate's error type.

use const_oid::ObjectIdentifier;

/// Everything that can go wrong decoding, checking or protecting a CMP message.
///
/// The next layer (the CMP front door) answers most of these with a protected CMP `error`
/// message; [`Error::fail_info`] gives the `PKIFailureInfo` bit that fits each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message is larger than [`crate::Limits::max_message_len`].
    #[error("message of {len} octets exceeds the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The bytes are not a DER `PKIMessage`.
    #[error("malformed PKIMessage: {0}")]
    Decode(der::Error),

    /// The body is a `PKIBody` alternative this crate does not handle (RFC 9483 does not use
    /// it), or not a `PKIBody` alternative at all.
    #[error("unsupported body type {number} ({})", crate::body::body_type_name(*number).unwrap_or("not a PKIBody alternative"))]
    UnsupportedBody {
        /// The context tag number of the body.
        number: u32,
    },

    /// Encoding failed (our own structures; not expected in practice).
    #[error("encoding failed: {0}")]
    Encode(der::Error),

    /// A `generalInfo` entry (or a `genm`/`genp` value) is not what its type requires.
    #[error("generalInfo {info_type} {reason}")]
    BadGeneralInfo {
        /// Its `infoType`.
        info_type: ObjectIdentifier,
        /// What is wrong.
        reason: &'static str,
    },

    /// The message has no `protection` or its header no `protectionAlg`, or the protection
    /// is of the other kind than the one asked for (MAC vs. signature).
    #[error("message is not protected as required: {0}")]
    NotProtected(&'static str),

    /// A protection algorithm, one-way function, PRF or MAC this crate does not support.
    #[error("unsupported {what} algorithm {oid}")]
    UnsupportedAlgorithm {
        /// Which role the algorithm plays (`"protection"`, `"PBM one-way function"`, …).
        what: &'static str,
        /// Its OID.
        oid: ObjectIdentifier,
    },

    /// MAC parameters (`PBMParameter`, `PBMAC1-params`, `PBKDF2-params`) are missing or do
    /// not decode, or hold a value out of range other than the iteration count.
    #[error("bad {what} parameters: {reason}")]
    BadMacParameters {
        /// Which parameters.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },

    /// An iteration count outside the configured bounds: refused before any work is done.
    #[error("{what} iteration count {count} outside the accepted range {min}..={max}")]
    IterationCount {
        /// `"PBM"` or `"PBKDF2"`.
        what: &'static str,
        /// The count received (saturated at `u64::MAX`).
        count: u64,
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
    },

    /// The MAC does not verify: a wrong secret or a modified message.
    #[error("MAC protection does not verify (wrong secret or modified message)")]
    MacMismatch,

    /// The signature protection does not verify, or its algorithm or key is not usable.
    #[error("signature protection: {0}")]
    Signature(#[source] cmc_codec::Error),

    /// The operating system's random generator failed (salt or nonce generation).
    #[error("random generator failed: {0}")]
    Random(getrandom::Error),
}

impl Error {
    /// The `PKIFailureInfo` bit an error answer to this error carries (RFC 9483 §3.6.4 and
    /// RFC 4210 §5.2.3).
    #[must_use]
    pub const fn fail_info(&self) -> crate::FailureBit {
        use crate::FailureBit;
        match self {
            Self::TooLarge { .. } | Self::Decode(_) | Self::BadGeneralInfo { .. } => {
                FailureBit::BadDataFormat
            }
            Self::UnsupportedBody { .. } => FailureBit::BadRequest,
            Self::Encode(_) | Self::Random(_) => FailureBit::SystemFailure,
            Self::NotProtected(_) | Self::MacMismatch | Self::Signature(_) => {
                FailureBit::BadMessageCheck
            }
            Self::UnsupportedAlgorithm { .. }
            | Self::BadMacParameters { .. }
            | Self::IterationCount { .. } => FailureBit::BadAlg,
        }
    }
}
