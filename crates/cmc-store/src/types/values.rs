//! The values every record family uses: points in time, serial numbers and
//! certificate fingerprints, and their conversions from database columns.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A point in time, in whole seconds since the Unix epoch (UTC).
///
/// The store never reads the clock: every operation that needs "now" takes it
/// as a parameter, so tests (and the engine's injected clock) decide what time
/// it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The time `secs` seconds after the epoch (negative: before).
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn secs(self) -> i64 {
        self.0
    }

    /// This time plus `secs` seconds, saturating at the ends of the range.
    #[must_use]
    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Converts a [`SystemTime`], rounding down to the second and saturating
    /// outside the `i64` range.
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(after) => Self(i64::try_from(after.as_secs()).unwrap_or(i64::MAX)),
            Err(before) => {
                let d = before.duration();
                // Round towards minus infinity: 0.5 s before the epoch is -1.
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                let extra = i64::from(d.subsec_nanos() > 0);
                Self(whole.saturating_add(extra).saturating_neg())
            }
        }
    }

    /// Converts to a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let d = Duration::from_secs(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH + d
        } else {
            UNIX_EPOCH - d
        }
    }
}

impl From<SystemTime> for UnixTime {
    fn from(t: SystemTime) -> Self {
        Self::from_system_time(t)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

/// A certificate serial number: the unsigned big-endian magnitude, without
/// leading zero bytes, 1 to 20 bytes long (RFC 5280 section 4.1.2.2).
///
/// Normalising here means `00 80 01` (a DER INTEGER's content octets) and
/// `80 01` are the same serial, so the database's uniqueness check cannot be
/// defeated by a different encoding of one number.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// The longest magnitude accepted, in bytes.
    pub const MAX_LEN: usize = 20;

    /// Builds a serial from big-endian bytes (leading zeros are dropped).
    ///
    /// # Errors
    /// [`Error::Invalid`] if the number is zero or longer than
    /// [`Serial::MAX_LEN`] bytes.
    pub fn from_be_bytes(bytes: &[u8]) -> Result<Self> {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let magnitude = &bytes[start..];
        if magnitude.is_empty() {
            return Err(Error::Invalid("serial number must be positive".into()));
        }
        if magnitude.len() > Self::MAX_LEN {
            return Err(Error::Invalid(format!(
                "serial number longer than {} bytes",
                Self::MAX_LEN
            )));
        }
        Ok(Self(magnitude.to_vec()))
    }

    /// The magnitude, big-endian, no leading zeros.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The content octets of the DER INTEGER for this serial (a `00` byte is
    /// prepended when the top bit is set, so the number stays positive).
    pub fn to_der_content(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        if self.0.first().is_some_and(|b| b & 0x80 != 0) {
            out.push(0);
        }
        out.extend_from_slice(&self.0);
        out
    }

    /// Lower-case hexadecimal, as in logs and file names.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// A SHA-256 fingerprint of a certificate's DER encoding.
pub type Fingerprint = [u8; 32];

/// The SHA-256 fingerprint of `cert_der`, as the store computes it for
/// [`ClientRecord::fingerprint`](crate::ClientRecord::fingerprint).
pub fn fingerprint(cert_der: &[u8]) -> Fingerprint {
    Sha256::digest(cert_der).into()
}

pub(crate) fn serial_from_db(bytes: Vec<u8>) -> Result<Serial> {
    Serial::from_be_bytes(&bytes).map_err(|_| Error::Corrupt("serial".into()))
}

pub(crate) fn fingerprint_from_db(bytes: &[u8]) -> Result<Fingerprint> {
    Fingerprint::try_from(bytes).map_err(|_| Error::Corrupt("fingerprint length".into()))
}

pub(crate) fn u32_from_db(v: i64, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Corrupt(format!("{what} {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_normalises_leading_zeros() {
        let a = Serial::from_be_bytes(&[0, 0x80, 1]).unwrap();
        let b = Serial::from_be_bytes(&[0x80, 1]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_bytes(), &[0x80, 1]);
        assert_eq!(a.to_der_content(), vec![0, 0x80, 1]);
        assert_eq!(a.to_hex(), "8001");
        assert!(Serial::from_be_bytes(&[0, 0]).is_err());
        assert!(Serial::from_be_bytes(&[]).is_err());
        assert!(Serial::from_be_bytes(&[1; 21]).is_err());
        assert!(Serial::from_be_bytes(&[1; 20]).is_ok());
    }

    #[test]
    fn unix_time_round_trips_system_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_900);
        assert_eq!(UnixTime::from(t), UnixTime(1_700_000_000));
        let before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(UnixTime::from(before), UnixTime(-1));
        assert_eq!(
            UnixTime(-5).to_system_time(),
            UNIX_EPOCH - Duration::from_secs(5)
        );
        assert_eq!(UnixTime(i64::MAX).plus_secs(1), UnixTime(i64::MAX));
    }
}
