//! The record of a CA this installation serves, and the rule for CA names.

use super::UnixTime;
use crate::error::{Error, Result};

/// A certificate authority served by this installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaRecord {
    /// The CA's name: the `{ca}` segment of `/cmc/{ca}`; unique. ASCII
    /// letters, digits, `-`, `_` and `.`, 1 to 64 characters.
    pub name: String,
    /// The CA certificate, DER.
    pub cert_der: Vec<u8>,
    /// The issuer certificates from this CA's issuer up to the root, DER, in
    /// that order (empty for a root).
    pub chain_der: Vec<Vec<u8>>,
    /// Where the signing key is: opaque to the store (the engine serialises
    /// its key configuration into it).
    pub key_ref: String,
    /// The name of the parent CA when it is also stored here.
    pub parent: Option<String>,
    /// When the record was created.
    pub created_at: UnixTime,
}

/// Where a CA key generation stands (caucase's rollover: the next CA
/// certificate is published before it issues).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GenerationState {
    /// Published beside the active generation; issues nothing yet.
    Passive,
    /// Issuing: the one in the CA record.
    Active,
    /// Replaced by a newer generation; still signs the CRL and OCSP
    /// answers for the certificates it issued.
    Retired,
}

impl GenerationState {
    /// The word the store and the tools use.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Passive => "passive",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    pub(crate) fn from_db(s: &str) -> Result<Self> {
        match s {
            "passive" => Ok(Self::Passive),
            "retired" => Ok(Self::Retired),
            other => Err(Error::Corrupt(format!("CA generation state {other:?}"))),
        }
    }
}

/// One key generation of a CA that is not its active one: the passive next
/// generation, or a retired earlier one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaGeneration {
    /// The CA's name.
    pub ca: String,
    /// The generation number (the first is 1).
    pub generation: u32,
    /// Passive or retired.
    pub state: GenerationState,
    /// The generation's CA certificate, DER.
    pub cert_der: Vec<u8>,
    /// Its issuer certificates up to the root (empty for a root).
    pub chain_der: Vec<Vec<u8>>,
    /// Where its key is (as [`CaRecord::key_ref`]).
    pub key_ref: String,
    /// When it was created.
    pub created_at: UnixTime,
    /// When a passive generation becomes active by itself, if set.
    pub activate_at: Option<UnixTime>,
    /// When a retired generation was replaced.
    pub retired_at: Option<UnixTime>,
}

/// The rule for CA names (the `{ca}` segment of `/cmc/{ca}`): 1 to 64 ASCII
/// letters, digits, `-`, `_` and `.`, and neither `.` nor `..`.
///
/// # Errors
/// [`Error::Invalid`] saying what is allowed.
pub fn check_ca_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "CA name {name:?} must be 1-64 of A-Z a-z 0-9 - _ ."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_names() {
        for ok in ["root", "issuing-ca.2", "A_b"] {
            check_ca_name(ok).unwrap();
        }
        for bad in ["", "a/b", "..", "ä", &"x".repeat(65)] {
            assert!(check_ca_name(bad).is_err(), "{bad}");
        }
    }
}
