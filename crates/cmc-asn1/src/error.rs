//! The crate's error type.

use const_oid::ObjectIdentifier;

/// Errors from the convenience accessors of this crate.
///
/// Plain DER decoding and encoding report [`der::Error`] directly.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value failed to encode or decode.
    #[error("DER: {0}")]
    Der(#[from] der::Error),

    /// A control (or its value set) that must occur exactly once occurred `count` times.
    #[error("{attr_type}: expected exactly one value, found {count}")]
    ValueCount {
        /// The control type.
        attr_type: ObjectIdentifier,
        /// How many there were.
        count: usize,
    },
}
