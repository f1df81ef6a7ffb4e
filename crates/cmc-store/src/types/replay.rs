//! CMC transactions across their rounds, and the bounds on nonces and
//! transactionIds: what [`crate::ReplayStore`] takes and returns.

use super::{Fingerprint, UnixTime};
use crate::error::{Error, Result};

/// The state of a CMC transaction (transactionId) across its rounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionState {
    /// A round is being processed.
    Open,
    /// Waiting for an agent: the pending request's id.
    Pending(String),
    /// Finished successfully; the transactionId is spent.
    Completed,
    /// Finished with a failure.
    Failed,
}

impl TransactionState {
    pub(crate) fn to_db(&self) -> (&'static str, Option<&str>) {
        match self {
            Self::Open => ("open", None),
            Self::Pending(id) => ("pending", Some(id)),
            Self::Completed => ("completed", None),
            Self::Failed => ("failed", None),
        }
    }

    pub(crate) fn from_db(state: &str, pending: Option<String>) -> Result<Self> {
        Ok(match (state, pending) {
            ("open", _) => Self::Open,
            ("pending", Some(id)) => Self::Pending(id),
            ("completed", _) => Self::Completed,
            ("failed", _) => Self::Failed,
            (other, _) => return Err(Error::Corrupt(format!("transaction state {other:?}"))),
        })
    }
}

/// A CMC transaction as recorded for one signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRecord {
    /// The signer's certificate fingerprint.
    pub signer: Fingerprint,
    /// The transactionId's bytes.
    pub transaction_id: Vec<u8>,
    /// Where it stands.
    pub state: TransactionState,
    /// When it was first seen.
    pub created_at: UnixTime,
    /// When its state last changed.
    pub updated_at: UnixTime,
    /// When the record may be forgotten.
    pub expires_at: UnixTime,
}

/// What [`crate::ReplayStore::open_transaction`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionOpen {
    /// No live record existed; one was created in state
    /// [`TransactionState::Open`].
    Started(TransactionRecord),
    /// A live record already existed: a later round of the same
    /// transaction (or a reuse the engine must judge from its state).
    Existing(TransactionRecord),
}

/// The longest nonce or transactionId accepted, in bytes.
pub const MAX_NONCE_LEN: usize = 512;

/// The leading bytes of the signer's fingerprint a spent nonce is kept
/// under ([`nonce_key`]).
pub(crate) const NONCE_SIGNER_PREFIX: usize = 8;

/// The key a spent nonce is stored under (schema 16): the first
/// [`NONCE_SIGNER_PREFIX`] bytes of the signer's fingerprint, then the
/// nonce. The whole fingerprint made every key 32 bytes longer, and the
/// index of random keys is the one an enrollment writes the most pages
/// of. Two credentials whose fingerprints share their first 8 bytes (a
/// chance of 2^-64 per pair, and a fingerprint is of a certificate the
/// operator registered, so it cannot be aimed at cheaply) share one space
/// of nonces: a nonce one of them spent is refused to the other. The
/// prefix can only make the store refuse more, never accept a replay.
pub(crate) fn nonce_key(signer: &Fingerprint, nonce: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(NONCE_SIGNER_PREFIX + nonce.len());
    key.extend_from_slice(&signer[..NONCE_SIGNER_PREFIX]);
    key.extend_from_slice(nonce);
    key
}

pub(crate) fn check_nonce(what: &str, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() || bytes.len() > MAX_NONCE_LEN {
        return Err(Error::Invalid(format!(
            "{what} must be 1 to {MAX_NONCE_LEN} bytes"
        )));
    }
    Ok(())
}
