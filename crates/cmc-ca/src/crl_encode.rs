//! The DER of a CRL written entry by entry, for lists of millions of
//! revoked certificates (RFC 5280 §5.1):
//!
//! ```text
//! CertificateList  ::=  SEQUENCE  {
//!      tbsCertList          TBSCertList,
//!      signatureAlgorithm   AlgorithmIdentifier,
//!      signatureValue       BIT STRING  }
//!
//! TBSCertList  ::=  SEQUENCE  {
//!      version                 Version OPTIONAL, -- if present, MUST be v2
//!      signature               AlgorithmIdentifier,
//!      issuer                  Name,
//!      thisUpdate              Time,
//!      nextUpdate              Time OPTIONAL,
//!      revokedCertificates     SEQUENCE OF SEQUENCE  {
//!           userCertificate         CertificateSerialNumber,
//!           revocationDate          Time,
//!           crlEntryExtensions      Extensions OPTIONAL  }  OPTIONAL,
//!      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL  }
//! ```
//!
//! Each entry is DER-encoded as it arrives from the store into one growing
//! buffer ([`RevokedList`]); the lengths of the enclosing SEQUENCEs are
//! known once the last entry is in, and the TBS is put together and
//! signed once ([`sign_crl`]). No `Vec` of entry structures exists at any
//! time. [`StoredEntries`] checks a stored CRL against the store's
//! revocations the same way: each store entry is encoded and compared with
//! the next bytes of the stored list.

use cmc_store::{RevokedEntry, UnixTime};
use const_oid::db::rfc5280::ID_CE_INVALIDITY_DATE;
use der::Encode;
use der::asn1::{BitString, OctetString};
use x509_cert::Version;
use x509_cert::crl::RevokedCert;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::pkix::crl::CrlNumber;

use crate::ca::LoadedCa;
use crate::crl::crl_reason;
use crate::error::{Error, Result};
use crate::x509::{extension, generalized_time, serial_number, x509_time};

const SEQUENCE: u8 = 0x30;
const CONTEXT_0_CONSTRUCTED: u8 = 0xa0;

/// The revokedCertificates entries of a CRL being built, DER, back to back.
#[derive(Debug, Default)]
pub(crate) struct RevokedList {
    der: Vec<u8>,
    count: u64,
}

impl RevokedList {
    /// Appends one entry.
    pub(crate) fn push(&mut self, entry: &RevokedEntry) -> Result<()> {
        encode_entry(entry, &mut self.der)?;
        self.count += 1;
        Ok(())
    }

    /// How many entries were appended.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

/// Appends the DER of `entry` (a revokedCertificates element) to `out`:
/// reasonCode unless unspecified, invalidityDate when known.
fn encode_entry(entry: &RevokedEntry, out: &mut Vec<u8>) -> Result<()> {
    let mut exts = Vec::new();
    if let Some(reason) = crl_reason(entry.revocation.reason) {
        exts.push(extension(&reason, false)?);
    }
    if let Some(date) = entry.revocation.invalidity_date {
        exts.push(Extension {
            extn_id: ID_CE_INVALIDITY_DATE,
            critical: false,
            extn_value: OctetString::new(
                generalized_time(date)?
                    .to_der()
                    .map_err(|e| Error::encode("invalidityDate", e))?,
            )
            .map_err(|e| Error::encode("invalidityDate", e))?,
        });
    }
    RevokedCert {
        serial_number: serial_number(&entry.serial)?,
        revocation_date: x509_time(entry.revocation.revoked_at)?,
        crl_entry_extensions: (!exts.is_empty()).then_some(exts),
    }
    .encode_to_vec(out)
    .map_err(|e| Error::encode("CRL entry", e))?;
    Ok(())
}

/// Appends a DER tag and definite length.
fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            // A usize has at most 8 octets, so the count fits the 7 bits.
            let count = u8::try_from(bytes.len() - skip).unwrap_or(8);
            out.push(0x80 | count);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
}

fn header_len(len: usize) -> usize {
    let mut v = Vec::with_capacity(10);
    push_header(&mut v, 0, len);
    v.len()
}

fn encode<T: Encode>(value: &T, what: &'static str, out: &mut Vec<u8>) -> Result<()> {
    value
        .encode_to_vec(out)
        .map_err(|e| Error::encode(what, e))?;
    Ok(())
}

/// Builds the TBSCertList around `revoked` and signs it with the CA key:
/// issuer = the CA's subject, crlExtensions authorityKeyIdentifier and
/// cRLNumber (both non-critical); an empty list is left out, as RFC 5280
/// §5.1.2.6 requires. Returns the CRL's DER.
pub(crate) fn sign_crl(
    ca: &LoadedCa,
    crl_number: u64,
    this_update: UnixTime,
    next_update: UnixTime,
    revoked: RevokedList,
) -> Result<Vec<u8>> {
    let key = ca.key();
    let mut head = Vec::with_capacity(512);
    encode(&Version::V2, "CRL version", &mut head)?;
    encode(key.signature_algorithm(), "CRL signature", &mut head)?;
    encode(ca.subject(), "CRL issuer", &mut head)?;
    encode(&x509_time(this_update)?, "thisUpdate", &mut head)?;
    encode(&x509_time(next_update)?, "nextUpdate", &mut head)?;

    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(
            OctetString::new(ca.key_identifier().to_vec())
                .map_err(|e| Error::encode("key identifier", e))?,
        ),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number = CrlNumber::try_from(crl_number).map_err(|e| Error::encode("cRLNumber", e))?;
    let exts = vec![extension(&aki, false)?, extension(&number, false)?]
        .to_der()
        .map_err(|e| Error::encode("crlExtensions", e))?;

    let list = &revoked.der;
    let list_len = if list.is_empty() {
        0
    } else {
        header_len(list.len()) + list.len()
    };
    let body_len = head.len() + list_len + header_len(exts.len()) + exts.len();
    let mut tbs = Vec::with_capacity(header_len(body_len) + body_len);
    push_header(&mut tbs, SEQUENCE, body_len);
    tbs.extend_from_slice(&head);
    if !list.is_empty() {
        push_header(&mut tbs, SEQUENCE, list.len());
        tbs.extend_from_slice(list);
    }
    drop(revoked);
    push_header(&mut tbs, CONTEXT_0_CONSTRUCTED, exts.len());
    tbs.extend_from_slice(&exts);

    let signature = key.sign(&tbs)?;
    let mut tail = Vec::with_capacity(64 + signature.len());
    encode(
        key.signature_algorithm(),
        "CRL signatureAlgorithm",
        &mut tail,
    )?;
    encode(
        &BitString::from_bytes(&signature).map_err(|e| Error::encode("signature", e))?,
        "CRL signature",
        &mut tail,
    )?;
    let total = tbs.len() + tail.len();
    let mut crl = Vec::with_capacity(header_len(total) + total);
    push_header(&mut crl, SEQUENCE, total);
    crl.extend_from_slice(&tbs);
    drop(tbs);
    crl.extend_from_slice(&tail);
    Ok(crl)
}

/// One TLV at the start of `input`: (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 8 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0_u64, |acc, b| (acc << 8) | u64::from(*b));
        (usize::try_from(len).ok()?, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The content octets of a CRL's revokedCertificates (empty when the list
/// is absent), found without decoding the entries.
fn revoked_content(crl_der: &[u8]) -> Option<&[u8]> {
    let (SEQUENCE, crl, _) = tlv(crl_der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = tlv(crl)? else {
        return None;
    };
    // version (INTEGER, present in what we write), signature, issuer,
    // thisUpdate: skipped.
    let mut rest = tbs;
    if rest.first() == Some(&0x02) {
        rest = tlv(rest)?.2;
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    // nextUpdate: UTCTime (0x17) or GeneralizedTime (0x18), optional.
    if matches!(rest.first(), Some(0x17 | 0x18)) {
        rest = tlv(rest)?.2;
    }
    match tlv(rest) {
        Some((SEQUENCE, list, _)) => Some(list),
        _ => Some(&[]),
    }
}

/// How many entries a CRL (DER) lists, counted without decoding them;
/// `None` when its structure cannot be walked.
pub(crate) fn count_entries(crl_der: &[u8]) -> Option<usize> {
    let mut rest = revoked_content(crl_der)?;
    let mut n = 0;
    while !rest.is_empty() {
        rest = tlv(rest)?.2;
        n += 1;
    }
    Some(n)
}

/// Walks a stored CRL's entries alongside the store's revocations (both in
/// the store's listing order) and says whether they are the same.
#[derive(Debug)]
pub(crate) struct StoredEntries<'a> {
    rest: &'a [u8],
    scratch: Vec<u8>,
    same: bool,
}

impl<'a> StoredEntries<'a> {
    /// The entries of `crl_der`.
    ///
    /// # Errors
    /// [`Error::BadCertificate`] if the CRL's structure cannot be walked.
    pub(crate) fn of(crl_der: &'a [u8]) -> Result<Self> {
        let rest = revoked_content(crl_der).ok_or_else(|| {
            Error::bad(
                "stored CRL",
                "its TBSCertList does not have the RFC 5280 structure",
            )
        })?;
        Ok(Self {
            rest,
            scratch: Vec::with_capacity(128),
            same: true,
        })
    }

    /// Compares the next stored entry with `entry`.
    pub(crate) fn next_is(&mut self, entry: &RevokedEntry) -> Result<()> {
        if !self.same {
            return Ok(());
        }
        self.scratch.clear();
        encode_entry(entry, &mut self.scratch)?;
        match self.rest.strip_prefix(self.scratch.as_slice()) {
            Some(rest) => self.rest = rest,
            None => self.same = false,
        }
        Ok(())
    }

    /// Whether every entry matched and none is left over.
    pub(crate) fn all_matched(&self) -> bool {
        self.same && self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_der_lengths() {
        for (len, want) in [
            (0_usize, vec![0x30, 0x00]),
            (0x7f, vec![0x30, 0x7f]),
            (0x80, vec![0x30, 0x81, 0x80]),
            (0x1234, vec![0x30, 0x82, 0x12, 0x34]),
            (50_000_000, vec![0x30, 0x84, 0x02, 0xfa, 0xf0, 0x80]),
        ] {
            let mut out = Vec::new();
            push_header(&mut out, SEQUENCE, len);
            assert_eq!(out, want, "{len}");
            assert_eq!(header_len(len), want.len());
            let mut whole = out.clone();
            whole.resize(out.len() + len, 0);
            let (tag, content, rest) = tlv(&whole).unwrap();
            assert_eq!((tag, content.len(), rest.len()), (SEQUENCE, len, 0));
        }
        assert!(tlv(&[0x30, 0x81]).is_none());
        assert!(tlv(&[0x30, 0x02, 0x00]).is_none());
        assert!(tlv(&[0x30, 0x80]).is_none());
    }
}
