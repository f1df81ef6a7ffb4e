//! Certificate serial numbers.

use std::fmt;

use x509_cert::serial_number::SerialNumber;

use crate::Error;

/// A certificate serial number that satisfies RFC 5280 §4.1.2.2 and the
/// CA/Browser Forum entropy rule: positive, at most 20 octets, and at least
/// 64 bits drawn from a CSPRNG (so at least 8 octets of content).
///
/// The store draws the random bytes (and enforces uniqueness); this type
/// only shapes and checks them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// Fewest content octets accepted (64 bits).
    pub const MIN_LEN: usize = 8;
    /// Most content octets accepted (RFC 5280 §4.1.2.2).
    pub const MAX_LEN: usize = 20;

    /// A serial from 16 CSPRNG bytes: the top bit is cleared (positive) and
    /// the next one set, so the INTEGER is always exactly 16 octets long,
    /// non-zero, and carries 126 random bits.
    #[must_use]
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        bytes[0] = (bytes[0] & 0x7f) | 0x40;
        Self(bytes.to_vec())
    }

    /// The random octets of [`Self::from_time_and_random`].
    pub const RANDOM_LEN: usize = 14;

    /// A serial of 20 octets ([`Self::MAX_LEN`]) that sorts by the time it
    /// was made: the top two bits `01` (positive, and no leading zero to
    /// strip, so always exactly 20 octets), then the low 46 bits of
    /// `millis` (a clock in milliseconds since the epoch: until the year
    /// 4199 they are all of it), then 112 CSPRNG bits from `random` (the
    /// CA/Browser Forum asks for at least 64).
    ///
    /// Why time first: the store finds a certificate by serial through
    /// B-trees keyed by it. Serials random from their first bit put every
    /// issuance on a random leaf page of each of them, one page written
    /// per certificate and index; serials made in the same millisecond or
    /// two sit side by side, so one commit of many issuances writes a few
    /// pages at the end. The time a serial reveals is the notBefore's.
    #[must_use]
    pub fn from_time_and_random(millis: u64, random: [u8; Self::RANDOM_LEN]) -> Self {
        let time = (millis & ((1 << 46) - 1)) | (1 << 46);
        let mut bytes = Vec::with_capacity(Self::MAX_LEN);
        bytes.extend_from_slice(&time.to_be_bytes()[2..]);
        bytes.extend_from_slice(&random);
        Self(bytes)
    }

    /// A serial from the content octets of a DER INTEGER (for example one
    /// read back from storage).
    ///
    /// # Errors
    /// [`Error::BadRequest`] if the value is negative, zero, not minimally
    /// encoded, shorter than [`Self::MIN_LEN`] or longer than [`Self::MAX_LEN`]
    /// octets.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bad = |why: &str| Err(Error::BadRequest(format!("serial number: {why}")));
        match bytes {
            [] => return bad("empty"),
            [first, ..] if first & 0x80 != 0 => return bad("negative"),
            [0, second, ..] if second & 0x80 == 0 => return bad("not minimally encoded"),
            [0] => return bad("zero"),
            _ => {}
        }
        let magnitude = if bytes[0] == 0 { &bytes[1..] } else { bytes };
        if magnitude.len() < Self::MIN_LEN {
            return bad("fewer than 64 bits");
        }
        if bytes.len() > Self::MAX_LEN {
            return bad("more than 20 octets");
        }
        Ok(Self(bytes.to_vec()))
    }

    /// The content octets of the INTEGER.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// As x509-cert's serial number type.
    ///
    /// # Errors
    /// [`Error::Der`] never in practice: the length was checked on construction.
    pub fn to_serial_number(&self) -> Result<SerialNumber, Error> {
        // `SerialNumber::new` takes an unsigned magnitude.
        let magnitude = if self.0.first() == Some(&0) {
            &self.0[1..]
        } else {
            &self.0[..]
        };
        Ok(SerialNumber::new(magnitude)?)
    }

    /// Lower-case hexadecimal, as stores and logs show serials.
    #[must_use]
    pub fn to_hex(&self) -> String {
        base16ct::lower::encode_string(&self.0)
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn from_time_and_random_is_positive_full_length_and_sorts_by_time() {
        let now = 1_796_000_000_000; // 2026-12
        for (millis, random) in [(now, [0xff; 14]), (0, [0; 14]), (u64::MAX, [0x80; 14])] {
            let s = Serial::from_time_and_random(millis, random);
            assert_eq!(s.as_bytes().len(), 20);
            assert_eq!(s.as_bytes()[0] & 0xc0, 0x40);
            assert_eq!(s.as_bytes()[6..], random);
            let der = s.to_serial_number().unwrap().to_der().unwrap();
            assert_eq!(&der[..2], &[0x02, 20]);
            assert!(Serial::from_bytes(s.as_bytes()).is_ok());
        }
        // The time, whole, in octets 0-5 under the marker bits.
        let s = Serial::from_time_and_random(now, [0; 14]);
        assert_eq!(s.as_bytes()[..6], ((1_u64 << 46) | now).to_be_bytes()[2..]);
        // Later sorts after earlier, whatever the random octets.
        let earlier = Serial::from_time_and_random(now, [0xff; 14]);
        let later = Serial::from_time_and_random(now + 1, [0; 14]);
        assert!(earlier.as_bytes() < later.as_bytes());
    }

    #[test]
    fn from_random_is_positive_full_length() {
        for first in [0x00, 0x80, 0xff, 0x7f, 0x01] {
            let mut raw = [0u8; 16];
            raw[0] = first;
            let s = Serial::from_random(raw);
            assert_eq!(s.as_bytes().len(), 16);
            assert_eq!(s.as_bytes()[0] & 0x80, 0);
            assert_ne!(s.as_bytes()[0], 0);
            let der = s.to_serial_number().unwrap().to_der().unwrap();
            // INTEGER, 16 octets, no sign padding.
            assert_eq!(&der[..2], &[0x02, 16]);
            assert_eq!(&der[2..], s.as_bytes());
            assert!(Serial::from_bytes(s.as_bytes()).is_ok());
        }
        assert_eq!(Serial::from_random([0xaa; 16]).as_bytes()[1..], [0xaa; 15]);
    }

    #[test]
    fn from_bytes_checks() {
        assert!(Serial::from_bytes(&[]).is_err());
        assert!(Serial::from_bytes(&[0]).is_err());
        assert!(Serial::from_bytes(&[0x80; 10]).is_err());
        assert!(Serial::from_bytes(&[0x00, 0x10, 1, 2, 3, 4, 5, 6, 7]).is_err());
        assert!(Serial::from_bytes(&[0x12; 7]).is_err());
        assert!(Serial::from_bytes(&[0x12; 8]).is_ok());
        assert!(Serial::from_bytes(&[0x12; 20]).is_ok());
        assert!(Serial::from_bytes(&[0x12; 21]).is_err());
        let mut padded = vec![0u8];
        padded.extend([0x92; 8]);
        assert!(Serial::from_bytes(&padded).is_ok());
        assert_eq!(
            Serial::from_bytes(&[0x12; 8]).unwrap().to_hex(),
            "1212121212121212"
        );
    }
}
