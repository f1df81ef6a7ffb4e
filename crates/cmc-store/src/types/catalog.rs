//! A CA's issued certificates read by position rather than by cursor:
//! counts, one sorted page at an offset, and every serial. What
//! [`crate::CertCatalog`] takes and returns (the admin requests of CMC
//! clients that page by index, such as the swedenconnect ca-cmc client).

use super::{Revocation, Serial, UnixTime};
use crate::error::{Error, Result};

/// The order of a [`CertRange`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CertOrder {
    /// The order the certificates were stored in (reservation order).
    #[default]
    Stored,
    /// By the time the certificate was issued, then the stored order.
    Issued,
    /// By serial number, as numbers (shorter magnitudes first).
    Serial,
}

/// One page of a CA's issued (or revoked) certificates, `limit` of them
/// after skipping `offset` in `order`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertRange {
    /// The issuing CA.
    pub issuer: String,
    /// Only the certificates valid at this time: not revoked (nor on hold)
    /// and `notBefore <= t < notAfter`.
    pub valid_at: Option<UnixTime>,
    /// The order.
    pub order: CertOrder,
    /// Last first.
    pub descending: bool,
    /// How many to skip.
    pub offset: u64,
    /// At most this many, 1 to [`CertRange::MAX_LIMIT`].
    pub limit: u32,
}

impl CertRange {
    /// The largest page a range returns.
    pub const MAX_LIMIT: u32 = 1000;

    /// Checks the limit and offset and returns them for the SQL.
    pub(crate) fn checked(&self) -> Result<(i64, i64)> {
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(Error::Invalid(format!(
                "range limit must be 1 to {}",
                Self::MAX_LIMIT
            )));
        }
        let offset = i64::try_from(self.offset)
            .map_err(|_| Error::Invalid(format!("range offset {} is too large", self.offset)))?;
        Ok((offset, i64::from(self.limit)))
    }
}

/// An issued certificate as a range lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedCert {
    /// The serial.
    pub serial: Serial,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// When it was stored.
    pub issued_at: UnixTime,
    /// Its revocation (or hold), if any.
    pub revocation: Option<Revocation>,
}

/// How many certificates a CA has issued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CertCounts {
    /// Issued, revoked or not.
    pub issued: u64,
    /// Of those, the ones valid at the time asked: not revoked (nor on
    /// hold) and `notBefore <= t < notAfter`.
    pub valid: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        let range = |offset, limit| CertRange {
            issuer: "ca".into(),
            valid_at: None,
            order: CertOrder::Serial,
            descending: false,
            offset,
            limit,
        };
        assert_eq!(range(5, 10).checked().unwrap(), (5, 10));
        assert!(range(0, 0).checked().is_err());
        assert!(range(0, CertRange::MAX_LIMIT + 1).checked().is_err());
        assert!(range(u64::MAX, 1).checked().is_err());
    }
}
