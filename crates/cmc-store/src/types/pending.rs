//! Requests waiting for an agent's decision: what [`crate::PendingStore`]
//! takes and returns.

use std::fmt;

use super::{Serial, UnixTime};
use crate::error::{Error, Result};

/// A request waiting for an agent's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPending {
    /// A random token, the id given to the client (unique).
    pub id: String,
    /// The CA asked.
    pub ca: String,
    /// The requesting client.
    pub client: String,
    /// The profile asked for.
    pub profile: String,
    /// The request (the TaggedRequest or whole PKIData), DER.
    pub request_der: Vec<u8>,
    /// The bodyPartID of the request inside its PKIData.
    pub body_part_id: u32,
}

/// The decision on a pending request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingState {
    /// Not decided yet.
    Pending,
    /// Approved; the certificate was issued with this serial (by the CA of
    /// the request).
    Approved(Serial),
    /// Rejected, with the reason.
    Rejected(String),
}

/// The state of a pending request without its data, for filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PendingStatus {
    /// Not decided.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

text_enum!(PendingStatus {
    Pending => "pending",
    Approved => "approved",
    Rejected => "rejected",
});

/// A stored pending request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRecord {
    /// The id.
    pub id: String,
    /// The CA.
    pub ca: String,
    /// The client.
    pub client: String,
    /// The profile.
    pub profile: String,
    /// The request, DER.
    pub request_der: Vec<u8>,
    /// The bodyPartID.
    pub body_part_id: u32,
    /// When it was created.
    pub created_at: UnixTime,
    /// The decision.
    pub state: PendingState,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<UnixTime>,
    /// The certificate template the agent replaced the request's with, DER.
    pub replacement_template_der: Option<Vec<u8>>,
}

impl PendingRecord {
    /// The status without its data.
    pub fn status(&self) -> PendingStatus {
        match self.state {
            PendingState::Pending => PendingStatus::Pending,
            PendingState::Approved(_) => PendingStatus::Approved,
            PendingState::Rejected(_) => PendingStatus::Rejected,
        }
    }
}

/// Filters for [`crate::PendingStore::list_pending`]; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingFilter {
    /// Only this CA.
    pub ca: Option<String>,
    /// Only this client.
    pub client: Option<String>,
    /// Only this status.
    pub status: Option<PendingStatus>,
}
