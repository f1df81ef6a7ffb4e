//! Reading a request body: its media type, the size cap, and the base64 transfer encoding
//! (RFC 7030 §4, clarified by RFC 8951 §3).
//!
//! EST bodies are base64 whatever the request's headers say: RFC 8951 §3 makes base64
//! the only encoding, and the `Content-Transfer-Encoding` header (not an HTTP header at
//! all) is ignored. Line breaks and other white space inside the base64 are allowed and
//! skipped (RFC 8951 §3); padding may be present or not.

use base64ct::{Base64, Base64Unpadded, Encoding};

use crate::Error;
use crate::csr::Csr;

/// The media type of a PKCS #10 request body (`simpleenroll`, `simplereenroll`,
/// `serverkeygen`: RFC 7030 §4.2.1, §4.4.1).
pub const PKCS10: &str = "application/pkcs10";

/// The media type of a Full PKI Request body (`fullcmc`: RFC 7030 §4.3.1; the `smime-type`
/// parameter is not looked at).
pub const PKCS7_MIME: &str = "application/pkcs7-mime";

/// Size caps for request bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest body accepted, in octets, before base64 decoding (the DER is smaller).
    pub max_body: usize,
}

impl Limits {
    /// The default `max_body`: 256 KiB, far above any CSR (an RSA-8192 request is about
    /// 2 KiB of DER) and room for a Full PKI Request with a few certificates.
    pub const DEFAULT_MAX_BODY: usize = 256 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: Self::DEFAULT_MAX_BODY,
        }
    }
}

/// The media type of a Content-Type value: `type/subtype` in lower case, without
/// parameters or surrounding white space (RFC 9110 §8.3.1: case-insensitive).
#[must_use]
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Checks that `content_type` (the request's Content-Type header, if any) has media type
/// `expected`.
///
/// # Errors
/// [`Error::UnsupportedMediaType`] if it is missing or another type.
pub fn check_media_type(content_type: Option<&str>, expected: &'static str) -> Result<(), Error> {
    let found = content_type.map(media_type);
    if found.as_deref() == Some(expected) {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType {
            found: found.map(|f| f.chars().take(100).collect()),
            expected,
        })
    }
}

/// Decodes a base64 body: white space (space, tab, CR, LF, FF, VT) is skipped, padding is
/// optional.
///
/// # Errors
/// [`Error::TooLarge`] over `limits.max_body`, [`Error::NotBase64`] for anything else
/// than base64 (including an empty body).
pub fn decode_base64(body: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
    if body.len() > limits.max_body {
        return Err(Error::TooLarge {
            len: body.len(),
            max: limits.max_body,
        });
    }
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c'))
        .collect();
    let text = std::str::from_utf8(&text).map_err(|_| Error::NotBase64)?;
    if text.is_empty() {
        return Err(Error::NotBase64);
    }
    Base64::decode_vec(text)
        .or_else(|_| Base64Unpadded::decode_vec(text))
        .map_err(|_| Error::NotBase64)
}

/// Reads the body of `simpleenroll`, `simplereenroll` or `serverkeygen`: Content-Type
/// `application/pkcs10`, base64, a PKCS #10 request whose self-signature verifies (see
/// [`Csr::from_der`]).
///
/// # Errors
/// [`Error::UnsupportedMediaType`], [`Error::TooLarge`], [`Error::NotBase64`], and those
/// of [`Csr::from_der`].
pub fn decode_csr(content_type: Option<&str>, body: &[u8], limits: &Limits) -> Result<Csr, Error> {
    check_media_type(content_type, PKCS10)?;
    let der = decode_base64(body, limits)?;
    Csr::from_der(der)
}

/// Reads the body of `fullcmc`: Content-Type `application/pkcs7-mime`, base64. The DER
/// (or BER) is returned as it is, for the CMC door to decode and verify; only its outer
/// shape is checked here (one element, a SEQUENCE), so that a body that is not CMS at all
/// gets a 400 from EST rather than a CMC failure.
///
/// # Errors
/// [`Error::UnsupportedMediaType`], [`Error::TooLarge`], [`Error::NotBase64`], and
/// [`Error::BadRequest`] if the decoded body does not start with a SEQUENCE.
pub fn decode_fullcmc(
    content_type: Option<&str>,
    body: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, Error> {
    check_media_type(content_type, PKCS7_MIME)?;
    let der = decode_base64(body, limits)?;
    // A ContentInfo is a SEQUENCE (constructed, tag 0x30), DER or BER.
    if der.first() != Some(&0x30) || der.len() < 2 {
        return Err(Error::BadRequest(
            "the body is not a CMS ContentInfo".to_owned(),
        ));
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert_eq!(
            media_type(" Application/PKCS10 ; charset=x"),
            "application/pkcs10"
        );
        assert!(check_media_type(Some("application/pkcs10"), PKCS10).is_ok());
        assert!(
            check_media_type(
                Some("application/pkcs7-mime; smime-type=CMC-request"),
                PKCS7_MIME
            )
            .is_ok()
        );
        for bad in [
            None,
            Some(""),
            Some("text/plain"),
            Some("application/pkcs10x"),
        ] {
            let e = check_media_type(bad, PKCS10).unwrap_err();
            assert_eq!(e.status(), 415, "{bad:?}");
        }
    }

    #[test]
    fn base64_with_and_without_breaks() {
        let limits = Limits::default();
        let der = b"\x30\x03\x02\x01\x05 and more bytes to span lines";
        let plain = Base64::encode_string(der);
        let broken: String = plain
            .as_bytes()
            .chunks(10)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n");
        let unpadded = plain.trim_end_matches('=');
        assert_ne!(unpadded, plain, "the sample needs padding");
        for body in [
            plain.clone(),
            format!("{broken}\r\n"),
            format!("  {}\n\t", plain),
            unpadded.to_owned(),
        ] {
            assert_eq!(decode_base64(body.as_bytes(), &limits).unwrap(), der);
        }
        for bad in [
            &b""[..],
            b"\r\n",
            b"not base64!",
            b"\x30\x82\x01\x00",
            b"QUJD\xff",
        ] {
            assert!(
                matches!(decode_base64(bad, &limits), Err(Error::NotBase64)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn size_cap_applies_to_the_body() {
        let limits = Limits { max_body: 8 };
        assert!(decode_base64(b"QUJDREVG", &limits).is_ok());
        let e = decode_base64(b"QUJDREVGR0g=", &limits).unwrap_err();
        assert!(matches!(e, Error::TooLarge { len: 12, max: 8 }));
        assert_eq!(e.status(), 413);
    }

    #[test]
    fn fullcmc_body() {
        let limits = Limits::default();
        let der = [0x30, 0x80, 0x06, 0x00, 0x00, 0x00];
        let body = Base64::encode_string(&der);
        let ct = Some("application/pkcs7-mime; smime-type=CMC-request");
        assert_eq!(decode_fullcmc(ct, body.as_bytes(), &limits).unwrap(), der);
        let e = decode_fullcmc(ct, b"BQA=", &limits).unwrap_err();
        assert_eq!(e.status(), 400);
        let e = decode_fullcmc(Some(PKCS10), body.as_bytes(), &limits).unwrap_err();
        assert_eq!(e.status(), 415);
    }
}
