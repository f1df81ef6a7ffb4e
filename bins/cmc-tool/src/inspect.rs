//! Reading certificates and CRLs for display, and PEM/DER input.

use anyhow::{Context, Result, anyhow, bail};
use cmc_ca::types::{Serial, UnixTime};
use cmc_ca::x509::unix_time;
use cmc_policy::KeyKind;
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::ext::pkix::{CrlReason, ExtendedKeyUsage};
use x509_cert::serial_number::SerialNumber;

use crate::output::hex;
use crate::time::format_rfc3339;

/// What `show` commands print about a certificate.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CertSummary {
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) serial: String,
    pub(crate) not_before: String,
    pub(crate) not_after: String,
    pub(crate) key_type: String,
    pub(crate) signature_algorithm: String,
    pub(crate) sha256_fingerprint: String,
    pub(crate) is_ca: bool,
    pub(crate) path_len: Option<u8>,
    pub(crate) extended_key_usage: Vec<String>,
}

/// The name OpenSSL and RFC 5280 use for an algorithm, or the dotted OID.
pub(crate) fn oid_name(oid: &ObjectIdentifier) -> String {
    const_oid::db::DB
        .by_oid(oid)
        .map_or_else(|| oid.to_string(), str::to_owned)
}

pub(crate) fn decode_cert(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|e| anyhow!("the certificate does not decode: {e}"))
}

/// The serial of `cert` as the store keys it.
pub(crate) fn cert_serial(cert: &Certificate) -> Result<Serial> {
    Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes())
        .context("certificate serial number")
}

/// The serial of `cert` as the tool writes serials everywhere: the hex of
/// its magnitude, as the store keys it and as `openssl x509 -serial` prints it
/// (no `00` sign byte). A serial outside RFC 5280 (zero, negative, over 20
/// bytes) cannot be keyed, so it is shown as the hex of its DER content.
pub(crate) fn serial_text(cert: &Certificate) -> String {
    serial_number_text(cert.tbs_certificate().serial_number())
}

/// [`serial_text`] of a serial number met elsewhere (a signer's
/// issuerAndSerialNumber).
pub(crate) fn serial_number_text(serial: &SerialNumber) -> String {
    Serial::from_be_bytes(serial.as_bytes()).map_or_else(|_| hex(serial.as_bytes()), |s| s.to_hex())
}

pub(crate) fn not_after(cert: &Certificate) -> UnixTime {
    unix_time(&cert.tbs_certificate().validity().not_after)
}

pub(crate) fn summarize(der: &[u8]) -> Result<CertSummary> {
    let cert = decode_cert(der)?;
    let tbs = cert.tbs_certificate();
    let basic = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|e| anyhow!("basicConstraints does not decode: {e}"))?;
    let eku = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|e| anyhow!("extendedKeyUsage does not decode: {e}"))?;
    let spki = spki::SubjectPublicKeyInfoOwned::from_der(
        &tbs.subject_public_key_info()
            .to_der()
            .map_err(|e| anyhow!("public key: {e}"))?,
    )
    .map_err(|e| anyhow!("public key: {e}"))?;
    Ok(CertSummary {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        serial: cert_serial(&cert)?.to_hex(),
        not_before: format_rfc3339(unix_time(&tbs.validity().not_before)),
        not_after: format_rfc3339(unix_time(&tbs.validity().not_after)),
        key_type: KeyKind::of(&spki).to_string(),
        signature_algorithm: oid_name(&cert.signature_algorithm().oid),
        sha256_fingerprint: hex(&Sha256::digest(der)),
        is_ca: basic.as_ref().is_some_and(|(_, b)| b.ca),
        path_len: basic.and_then(|(_, b)| b.path_len_constraint),
        extended_key_usage: eku
            .map(|(_, e)| e.0.iter().map(cmc_policy::names::eku_name).collect())
            .unwrap_or_default(),
    })
}

/// The certificates in a PEM file (every CERTIFICATE block) or one DER
/// certificate.
pub(crate) fn read_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    if bytes.starts_with(b"-----BEGIN") || bytes.iter().take(64).all(u8::is_ascii) {
        let certs = Certificate::load_pem_chain(bytes)
            .map_err(|e| anyhow!("not a PEM certificate: {e}"))?;
        if certs.is_empty() {
            bail!("no CERTIFICATE block found");
        }
        return certs
            .iter()
            .map(|c| c.to_der().map_err(|e| anyhow!("re-encoding: {e}")))
            .collect();
    }
    decode_cert(bytes)?;
    Ok(vec![bytes.to_vec()])
}

/// PEM of a DER object.
pub(crate) fn pem(label: &str, der: &[u8]) -> Result<String> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
        .map_err(|e| anyhow!("PEM encoding: {e}"))
}

/// One entry of a CRL.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CrlEntry {
    pub(crate) serial: String,
    pub(crate) revoked_at: String,
    pub(crate) reason: Option<String>,
    pub(crate) invalidity_date: Option<String>,
}

/// What `crl show` prints.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CrlSummary {
    pub(crate) issuer: String,
    pub(crate) this_update: String,
    pub(crate) next_update: Option<String>,
    pub(crate) signature_algorithm: String,
    pub(crate) entries: Vec<CrlEntry>,
}

/// The RFC 5280 name of a CRLReason.
pub(crate) fn reason_name(r: CrlReason) -> &'static str {
    match r {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "keyCompromise",
        CrlReason::CaCompromise => "cACompromise",
        CrlReason::AffiliationChanged => "affiliationChanged",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessationOfOperation",
        CrlReason::CertificateHold => "certificateHold",
        CrlReason::RemoveFromCRL => "removeFromCRL",
        CrlReason::PrivilegeWithdrawn => "privilegeWithdrawn",
        CrlReason::AaCompromise => "aACompromise",
    }
}

pub(crate) fn summarize_crl(der: &[u8]) -> Result<CrlSummary> {
    let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der)
        .map_err(|e| anyhow!("the CRL does not decode: {e}"))?;
    let tbs = &crl.tbs_cert_list;
    let mut entries = Vec::new();
    for entry in tbs.revoked_certificates.iter().flatten() {
        let mut reason = None;
        let mut invalidity = None;
        for ext in entry.crl_entry_extensions.iter().flatten() {
            let value = ext.extn_value.as_bytes();
            if ext.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS {
                let r = CrlReason::from_der(value).map_err(|e| anyhow!("reasonCode: {e}"))?;
                reason = Some(reason_name(r).to_owned());
            } else if ext.extn_id == const_oid::db::rfc5280::ID_CE_INVALIDITY_DATE {
                let t = der::asn1::GeneralizedTime::from_der(value)
                    .map_err(|e| anyhow!("invalidityDate: {e}"))?;
                let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
                invalidity = Some(format_rfc3339(UnixTime::from_secs(secs)));
            }
        }
        entries.push(CrlEntry {
            serial: Serial::from_be_bytes(entry.serial_number.as_bytes())
                .context("CRL entry serial")?
                .to_hex(),
            revoked_at: format_rfc3339(unix_time(&entry.revocation_date)),
            reason,
            invalidity_date: invalidity,
        });
    }
    Ok(CrlSummary {
        issuer: tbs.issuer.to_string(),
        this_update: format_rfc3339(unix_time(&tbs.this_update)),
        next_update: tbs
            .next_update
            .as_ref()
            .map(|t| format_rfc3339(unix_time(t))),
        signature_algorithm: oid_name(&crl.signature_algorithm.oid),
        entries,
    })
}

/// Parses a serial number written in hex (`0x` prefix and `:` separators
/// allowed).
pub(crate) fn parse_serial(text: &str) -> Result<Serial> {
    let digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("serial {text:?} is not a hexadecimal number");
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    let bytes: Vec<u8> = padded
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            // Two ASCII hex digits, checked above.
            let s = std::str::from_utf8(pair).unwrap_or("00");
            u8::from_str_radix(s, 16).unwrap_or(0)
        })
        .collect();
    Serial::from_be_bytes(&bytes).with_context(|| format!("serial {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_in_hex() {
        assert_eq!(parse_serial("01ab").unwrap().to_hex(), "01ab");
        assert_eq!(parse_serial("1AB").unwrap().to_hex(), "01ab");
        assert_eq!(parse_serial("0x00:80:01").unwrap().to_hex(), "8001");
        for bad in ["", "xyz", "00", "0x", &"11".repeat(21)] {
            assert!(parse_serial(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serials_are_written_without_the_sign_byte() {
        // The DER content of a serial whose top bit is set starts with 00;
        // openssl x509 -serial and the store both leave it out.
        let high = SerialNumber::new(&[0x00, 0xaa, 0x9b, 0x8c]).unwrap();
        assert_eq!(serial_number_text(&high), "aa9b8c");
        let low = SerialNumber::new(&[0x01, 0x02]).unwrap();
        assert_eq!(serial_number_text(&low), "0102");
        // A serial the store cannot key (zero) is shown as its DER content.
        let zero = SerialNumber::new(&[0x00]).unwrap();
        assert_eq!(serial_number_text(&zero), "00");
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(read_certificates(b"hello").is_err());
        assert!(read_certificates(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
        assert!(summarize(&[0x30, 0x00]).is_err());
    }
}
