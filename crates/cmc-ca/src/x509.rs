//! Small X.509 helpers shared by certificate and CRL building: times,
//! names, key identifiers, serials and extensions.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmc_store::{Serial, UnixTime};
use der::asn1::{GeneralizedTime, OctetString, UtcTime};
use der::{DateTime, Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use crate::error::{Error, Result};

/// The X.509 `Time` for `t`: UTCTime through 2049, GeneralizedTime from
/// 2050 on (RFC 5280 §4.1.2.5 and §5.1.2.4).
///
/// # Errors
/// [`Error::TimeOutOfRange`] before 1970 or after 9999.
pub fn x509_time(t: UnixTime) -> Result<Time> {
    let dt = date_time(t)?;
    if dt.year() < 2050 {
        let utc = UtcTime::from_date_time(dt).map_err(|_| Error::TimeOutOfRange(t))?;
        Ok(Time::UtcTime(utc))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// `t` as a GeneralizedTime (for invalidityDate, which is always one).
///
/// # Errors
/// [`Error::TimeOutOfRange`] before 1970 or after 9999.
pub fn generalized_time(t: UnixTime) -> Result<GeneralizedTime> {
    Ok(GeneralizedTime::from_date_time(date_time(t)?))
}

fn date_time(t: UnixTime) -> Result<DateTime> {
    let secs = u64::try_from(t.secs()).map_err(|_| Error::TimeOutOfRange(t))?;
    DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(|_| Error::TimeOutOfRange(t))
}

/// The [`UnixTime`] of an X.509 `Time`.
#[must_use]
pub fn unix_time(t: &Time) -> UnixTime {
    // X.509 times are 1970..=9999, far inside i64 seconds.
    UnixTime::from_secs(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX))
}

/// Parses a distinguished name written as in RFC 4514, most specific first:
/// `CN=Example Root,O=Example,C=SE`. countryName is encoded as
/// PrintableString, everything else as UTF8String.
///
/// # Errors
/// [`Error::InvalidSubject`] if it does not parse or is empty.
pub fn parse_name(subject: &str) -> Result<Name> {
    let invalid = |detail: String| Error::InvalidSubject {
        subject: subject.to_owned(),
        detail,
    };
    if subject.trim().is_empty() {
        return Err(invalid("empty".into()));
    }
    let name = Name::from_str(subject).map_err(|e| invalid(e.to_string()))?;
    if name.is_empty() {
        return Err(invalid("no attributes".into()));
    }
    Ok(name)
}

/// Whether `cert` certifies the public key `key` (their DER compared).
///
/// # Errors
/// Encoding failures.
pub fn holds_key(cert: &Certificate, key: &SubjectPublicKeyInfoOwned) -> Result<bool> {
    let cert_spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| Error::encode("public key", e))?;
    let key_spki = key.to_der().map_err(|e| Error::encode("public key", e))?;
    Ok(cert_spki == key_spki)
}

/// The RFC 5280 §4.2.1.2 method (1) key identifier: SHA-1 of the
/// subjectPublicKey BIT STRING's bytes.
#[must_use]
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    cmc_codec::key_identifier(spki)
}

/// The certificate's subjectKeyIdentifier, or, if it has none, the method
/// (1) identifier of its public key.
///
/// # Errors
/// [`Error::BadCertificate`] if the extension is present but malformed.
pub fn certificate_key_identifier(cert: &Certificate) -> Result<Vec<u8>> {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<SubjectKeyIdentifier>() {
        Ok(Some((_, ski))) => Ok(ski.0.as_bytes().to_vec()),
        Ok(None) => Ok(key_identifier(tbs.subject_public_key_info())),
        Err(e) => Err(Error::bad("subjectKeyIdentifier", e)),
    }
}

/// A fresh serial of 20 octets: the system clock in milliseconds, then
/// 112 bits from the system CSPRNG
/// ([`cmc_policy::Serial::from_time_and_random`]: serials issued together
/// sit together in the store's serial indexes). The clock is the system's,
/// not the engine's injected one: it only orders serials, and a clock set
/// back or two nodes a little apart cost locality, never uniqueness (the
/// random part and the store's unique key see to that).
///
/// # Errors
/// [`Error::Rng`] if the RNG fails.
pub fn fresh_serial() -> Result<Serial> {
    let mut random = [0u8; cmc_policy::Serial::RANDOM_LEN];
    getrandom::fill(&mut random).map_err(|_| Error::Rng)?;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Serial::from_be_bytes(cmc_policy::Serial::from_time_and_random(millis, random).as_bytes())
        .map_err(Error::Store)
}

/// The x509-cert serial number for a store serial.
///
/// # Errors
/// [`Error::Encode`] (cannot happen for a valid [`Serial`], which is at
/// most 20 octets and positive).
pub fn serial_number(serial: &Serial) -> Result<SerialNumber> {
    SerialNumber::new(serial.as_bytes()).map_err(|e| Error::encode("serial number", e))
}

/// The store serial of an x509-cert serial number.
///
/// # Errors
/// [`Error::BadCertificate`] for zero or an over-long number.
pub fn store_serial(serial: &SerialNumber) -> Result<Serial> {
    Serial::from_be_bytes(serial.as_bytes()).map_err(|e| Error::bad("serial number", e))
}

/// An extension with `value` DER-encoded into its extnValue.
///
/// # Errors
/// [`Error::Encode`] if `value` cannot be encoded.
pub fn extension<T: Encode + const_oid::AssociatedOid>(
    value: &T,
    critical: bool,
) -> Result<Extension> {
    let der = value.to_der().map_err(|e| Error::encode("extension", e))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(der).map_err(|e| Error::encode("extension", e))?,
    })
}

/// Decodes a DER certificate.
///
/// # Errors
/// [`Error::BadCertificate`] naming `what`.
pub fn decode_certificate(what: &'static str, der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|e| Error::bad(what, e))
}

/// The key under which a subject name is compared and reserved: its RFC
/// 4514 text (the same whatever the string type of each value),
/// lower-cased, with every run of white space folded to one space. RFC
/// 5280 §7.1 compares names case-insensitively and without insignificant
/// space, so `CN=Own RA` and `cn=own  ra` are one name.
#[must_use]
pub fn subject_key(name: &Name) -> String {
    cmc_policy::name_text(name)
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The subject of a certificate as the store keeps it for a client
/// ([`cmc_store::NewClient::subject`]): its [`subject_key`].
///
/// # Errors
/// [`Error::BadCertificate`] if it does not decode.
pub fn client_subject(cert_der: &[u8]) -> Result<String> {
    Ok(subject_key(
        decode_certificate("client certificate", cert_der)?
            .tbs_certificate()
            .subject(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_switch_encoding_in_2050() {
        // 2049-12-31T23:59:59Z
        let last_utc = UnixTime::from_secs(2_524_607_999);
        assert!(matches!(x509_time(last_utc).unwrap(), Time::UtcTime(_)));
        let first_gen = last_utc.plus_secs(1);
        let t = x509_time(first_gen).unwrap();
        assert!(matches!(t, Time::GeneralTime(_)));
        assert_eq!(unix_time(&t), first_gen);
        assert_eq!(
            x509_time(first_gen).unwrap().to_der().unwrap()[0],
            0x18,
            "GeneralizedTime tag"
        );
        assert_eq!(x509_time(last_utc).unwrap().to_der().unwrap()[0], 0x17);
        assert!(matches!(
            x509_time(UnixTime::from_secs(-1)),
            Err(Error::TimeOutOfRange(_))
        ));
    }

    #[test]
    fn names_parse_in_rfc4514_order() {
        let name = parse_name("CN=Example Root,O=Example,C=SE").unwrap();
        // Encoded most general first: C, O, CN.
        let rdns: Vec<_> = name.iter_rdn().collect();
        assert_eq!(rdns.len(), 3);
        assert_eq!(name.to_string(), "CN=Example Root,O=Example,C=SE");
        assert!(name.country().unwrap().is_some());
        assert!(matches!(parse_name(""), Err(Error::InvalidSubject { .. })));
        assert!(matches!(
            parse_name("not a dn"),
            Err(Error::InvalidSubject { .. })
        ));
    }

    #[test]
    fn serials_are_positive_long_and_ordered_by_time() {
        let a = fresh_serial().unwrap();
        std::thread::sleep(Duration::from_millis(2));
        let b = fresh_serial().unwrap();
        assert_ne!(a, b);
        assert!(a.as_bytes() < b.as_bytes(), "{a} then {b}");
        for s in [a, b] {
            assert_eq!(s.as_bytes().len(), 20);
            assert_eq!(s.as_bytes()[0] & 0xc0, 0x40);
            assert_eq!(store_serial(&serial_number(&s).unwrap()).unwrap(), s);
        }
    }
}
