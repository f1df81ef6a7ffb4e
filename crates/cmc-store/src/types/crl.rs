//! The CRL record [`crate::CrlStore`] keeps per issuer.

use super::UnixTime;

/// A CRL as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlRecord {
    /// The issuing CA.
    pub issuer: String,
    /// Its cRLNumber.
    pub crl_number: u64,
    /// The CRL, DER.
    pub der: Vec<u8>,
    /// thisUpdate.
    pub this_update: UnixTime,
    /// nextUpdate.
    pub next_update: UnixTime,
}
