//! Certificates waiting for their holder's confirmation (CMP certConf, RFC
//! 4210 §5.3.18, RFC 9483 §4.1): what [`crate::ConfirmationStore`] keeps.

use super::{Fingerprint, Serial, UnixTime};
use crate::error::{Error, Result};

/// Where a certificate's confirmation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmationState {
    /// Issued; its requester has not confirmed it yet.
    Waiting,
    /// Confirmed by its requester.
    Confirmed,
    /// Rejected by its requester (and revoked by the engine).
    Rejected,
    /// Not confirmed in time (and revoked by the engine).
    Expired,
}

impl ConfirmationState {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "waiting" => Self::Waiting,
            "confirmed" => Self::Confirmed,
            "rejected" => Self::Rejected,
            "expired" => Self::Expired,
            other => return Err(Error::Corrupt(format!("confirmation state {other:?}"))),
        })
    }
}

/// A certificate to wait for confirmation of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConfirmation {
    /// The requester's credential fingerprint (as for replay records).
    pub signer: Fingerprint,
    /// The transaction the certificate was issued in.
    pub transaction_id: Vec<u8>,
    /// The issuing CA.
    pub ca: String,
    /// The certificate's serial.
    pub serial: Serial,
    /// The request's id in the transaction (`certReqId`).
    pub cert_req_id: i64,
    /// When the wait ends: a certificate still waiting is then revoked.
    pub deadline: UnixTime,
}

/// A stored confirmation record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmationRecord {
    /// As in [`NewConfirmation`].
    pub signer: Fingerprint,
    /// As in [`NewConfirmation`].
    pub transaction_id: Vec<u8>,
    /// As in [`NewConfirmation`].
    pub ca: String,
    /// As in [`NewConfirmation`].
    pub serial: Serial,
    /// As in [`NewConfirmation`].
    pub cert_req_id: i64,
    /// Where it stands.
    pub state: ConfirmationState,
    /// When the certificate started waiting.
    pub created_at: UnixTime,
    /// As in [`NewConfirmation`].
    pub deadline: UnixTime,
    /// When it left [`ConfirmationState::Waiting`].
    pub settled_at: Option<UnixTime>,
}
