//! Serial reservations, issued certificates and revocations: what
//! [`crate::CertStore`] takes and returns.

use std::fmt;

use super::{Serial, UnixTime};
use crate::error::{Error, Result};

/// The status of a serial number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertStatus {
    /// Reserved before signing; no certificate exists (yet).
    Reserved,
    /// Signed and stored.
    Issued,
    /// Issuance failed after the reservation; the serial stays used.
    Failed,
    /// Issued, then revoked (including on hold).
    Revoked,
}

text_enum!(CertStatus {
    Reserved => "reserved",
    Issued => "issued",
    Failed => "failed",
    Revoked => "revoked",
});

/// A serial reservation, made before the certificate is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReservation {
    /// The issuing CA's name.
    pub issuer: String,
    /// The candidate serial (random, at least 64 bits).
    pub serial: Serial,
    /// Who asked (client id, RA, or an identification).
    pub requester: String,
    /// The profile the certificate is issued under.
    pub profile: String,
    /// A hash of the request, to tie the certificate to it.
    pub request_hash: Vec<u8>,
    /// The linted TBS certificate, if already built; otherwise record it
    /// later with [`crate::CertStore::record_tbs`].
    pub tbs_der: Option<Vec<u8>>,
    /// The issuing CA's key generation that signs it (1 for a CA that was
    /// never rolled over): each generation's CRL lists its own.
    pub generation: u32,
}

/// What is known once a certificate has been signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCert {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The subject distinguished name as a string (RFC 4514).
    pub subject: String,
    /// The subject alternative names, as strings (e.g. `dns:example.com`).
    pub sans: Vec<String>,
    /// notBefore.
    pub not_before: UnixTime,
    /// notAfter.
    pub not_after: UnixTime,
    /// When the certificate was stored.
    pub issued_at: UnixTime,
}

/// CRLReason (RFC 5280 section 5.3.1). Value 7 is unused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationReason {
    /// unspecified (0).
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6): the only reason that can be lifted again.
    CertificateHold,
    /// removeFromCRL (8): not a revocation; lift a hold with
    /// [`crate::CertStore::unrevoke`].
    RemoveFromCrl,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
}

impl RevocationReason {
    /// The CRLReason code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::RemoveFromCrl => 8,
            Self::PrivilegeWithdrawn => 9,
            Self::AaCompromise => 10,
        }
    }

    /// The reason with this CRLReason code.
    ///
    /// # Errors
    /// [`Error::Invalid`] for 7 and values above 10.
    pub fn from_code(code: u8) -> Result<Self> {
        Ok(match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            8 => Self::RemoveFromCrl,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            other => return Err(Error::Invalid(format!("CRLReason {other} does not exist"))),
        })
    }

    pub(crate) fn from_db(code: i64) -> Result<Self> {
        u8::try_from(code)
            .ok()
            .and_then(|c| Self::from_code(c).ok())
            .ok_or_else(|| Error::Corrupt(format!("revocation reason {code}")))
    }
}

/// A revocation as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The reason.
    pub reason: RevocationReason,
    /// When the CA revoked it (revocationDate).
    pub revoked_at: UnixTime,
    /// When the key is known or suspected to have been compromised
    /// (invalidityDate), if given.
    pub invalidity_date: Option<UnixTime>,
}

impl fmt::Display for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reason {} at {}",
            self.reason.code(),
            self.revoked_at.secs()
        )
    }
}

/// Where a serial stands, with what each state carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertState {
    /// Reserved; no certificate.
    Reserved,
    /// Issuance failed; no certificate.
    Failed {
        /// Why.
        reason: String,
        /// When it was marked failed.
        failed_at: UnixTime,
    },
    /// Issued and not revoked.
    Issued(IssuedCert),
    /// Issued and revoked.
    Revoked {
        /// The certificate.
        cert: IssuedCert,
        /// The revocation.
        revocation: Revocation,
    },
}

/// One serial number of one CA and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertRecord {
    /// The issuing CA's name.
    pub issuer: String,
    /// The serial.
    pub serial: Serial,
    /// Who asked.
    pub requester: String,
    /// The profile.
    pub profile: String,
    /// The request hash given at reservation.
    pub request_hash: Vec<u8>,
    /// The linted TBS certificate, once recorded.
    pub tbs_der: Option<Vec<u8>>,
    /// When the serial was reserved.
    pub reserved_at: UnixTime,
    /// The state.
    pub state: CertState,
}

impl CertRecord {
    /// The status without its data.
    pub fn status(&self) -> CertStatus {
        match self.state {
            CertState::Reserved => CertStatus::Reserved,
            CertState::Failed { .. } => CertStatus::Failed,
            CertState::Issued(_) => CertStatus::Issued,
            CertState::Revoked { .. } => CertStatus::Revoked,
        }
    }

    /// The certificate, if one was issued (revoked or not). A reservation
    /// that was never completed has none.
    pub fn certificate(&self) -> Option<&IssuedCert> {
        match &self.state {
            CertState::Issued(c) | CertState::Revoked { cert: c, .. } => Some(c),
            CertState::Reserved | CertState::Failed { .. } => None,
        }
    }

    /// The revocation, if revoked.
    pub fn revocation(&self) -> Option<&Revocation> {
        match &self.state {
            CertState::Revoked { revocation, .. } => Some(revocation),
            _ => None,
        }
    }
}

/// Filters for [`crate::CertStore::list_certs`]; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertFilter {
    /// Only this CA.
    pub issuer: Option<String>,
    /// Only this status.
    pub status: Option<CertStatus>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this requester.
    pub requester: Option<String>,
    /// Only this exact subject string.
    pub subject: Option<String>,
    /// Only certificates carrying this exact SAN string.
    pub san: Option<String>,
    /// Only certificates valid at this time (notBefore <= t < notAfter).
    pub valid_at: Option<UnixTime>,
}

/// A revoked certificate, as a CRL lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The serial.
    pub serial: Serial,
    /// The revocation.
    pub revocation: Revocation,
    /// The certificate's notAfter, so the CRL builder can drop expired
    /// entries if it wants to.
    pub not_after: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip() {
        for code in (0..=10).filter(|c| *c != 7) {
            assert_eq!(RevocationReason::from_code(code).unwrap().code(), code);
        }
        assert!(RevocationReason::from_code(7).is_err());
        assert!(RevocationReason::from_code(11).is_err());
    }
}
