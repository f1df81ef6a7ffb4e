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
