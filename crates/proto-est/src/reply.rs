//! What goes back to the client: the transport-neutral [`Reply`] and one constructor per
//! kind of EST answer (RFC 7030 §4, with RFC 8951's clarifications).
//!
//! | answer | status | Content-Type |
//! | --- | --- | --- |
//! | [`cacerts_reply`], [`enrolled_reply`] | 200 | `application/pkcs7-mime; smime-type=certs-only`, base64 |
//! | [`fullcmc_reply`] | 200 | `application/pkcs7-mime; smime-type=CMC-response`, base64 |
//! | [`csrattrs_reply`](crate::csrattrs_reply) | 200 | `application/csrattrs`, base64 |
//! | [`serverkeygen_reply`] | 200 | `multipart/mixed`: the key part, then the certificate part |
//! | [`Reply::pending`] | 202 | `text/plain`, with `Retry-After` |
//! | [`Reply::text`], [`Reply::unauthorized`] | 4xx/5xx | `text/plain`, `WWW-Authenticate` on 401 |
//!
//! Base64 bodies are RFC 4648 §4 with padding, in lines of 64 characters ending in LF:
//! RFC 8951 §3 has receivers accept any line breaks, and LF is what `base64 -d` and
//! `openssl base64 -d` read without options. Every base64 reply also carries
//! `Content-Transfer-Encoding: base64`, which RFC 7030 clients written before RFC 8951
//! look for and later ones ignore.

use base64ct::{Base64, Encoding};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::Error;

/// The realm of the `WWW-Authenticate: Basic` challenge when the caller names none.
pub const DEFAULT_REALM: &str = "EST";

/// Seconds a client is told to wait (`Retry-After`) when the CA is busy and the caller has
/// no better figure.
pub const DEFAULT_RETRY_AFTER_SECS: u32 = 60;

/// The media type of a certs-only Simple PKI Response (RFC 7030 §4.1.3, §4.2.3).
pub const CERTS_ONLY: &str = "application/pkcs7-mime; smime-type=certs-only";

/// The media type of a Full PKI Response (RFC 7030 §4.3.2).
pub const CMC_RESPONSE: &str = "application/pkcs7-mime; smime-type=CMC-response";

/// The media type of a CSR attributes response (RFC 7030 §4.5.2).
pub const CSRATTRS: &str = "application/csrattrs";

/// The multipart boundary of serverkeygen replies. Base64 lines never hold `-`, so no
/// line of a part can look like the delimiter `--est-server-keygen-boundary`.
pub const SERVERKEYGEN_BOUNDARY: &str = "est-server-keygen-boundary";

/// An HTTP answer, without any HTTP library's types: the server copies it into its own
/// response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header fields in order (name, value); `Content-Length` is left to the server.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How many certificates answering this request issued (for the
    /// server's metrics; a certificate fetched after an agent's approval
    /// was issued by the approval, not here).
    pub issued: usize,
}

impl Reply {
    /// A reply with `status`, one `Content-Type` and `body`.
    #[must_use]
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body,
            issued: 0,
        }
    }

    /// A short `text/plain` reason (a line ending in LF) with `status`.
    #[must_use]
    pub fn text(status: u16, reason: &str) -> Self {
        let mut body = reason.as_bytes().to_vec();
        body.push(b'\n');
        Self::new(status, "text/plain; charset=utf-8", body)
    }

    /// 401 with a `WWW-Authenticate: Basic` challenge for `realm` (RFC 7617 §2, charset
    /// UTF-8 as §2.1 allows), so that a client that can also authenticate with a password
    /// knows to (RFC 7030 §3.2.3). A `"` or `\` in the realm is escaped (RFC 9110 §5.6.4).
    #[must_use]
    pub fn unauthorized(realm: &str, reason: &str) -> Self {
        let mut r = Self::text(401, reason);
        let quoted: String = realm
            .chars()
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        r.headers.push((
            "WWW-Authenticate".to_owned(),
            format!("Basic realm=\"{quoted}\", charset=\"UTF-8\""),
        ));
        r
    }

    /// 202 Accepted with `Retry-After` (RFC 7030 §4.2.3): the request is held for
    /// approval, and the client repeats the same POST after `retry_after_secs`.
    #[must_use]
    pub fn pending(retry_after_secs: u32) -> Self {
        let mut r = Self::text(202, "the request is waiting for approval; repeat it later");
        r.headers
            .push(("Retry-After".to_owned(), retry_after_secs.to_string()));
        r
    }

    /// The first value of header `name` (compared without regard to case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn base64(content_type: &str, der: &[u8]) -> Self {
        let mut r = Self::new(200, content_type, base64_lines(der));
        r.headers
            .push(("Content-Transfer-Encoding".to_owned(), "base64".to_owned()));
        r
    }
}

/// `der` in base64 (RFC 4648 §4, padded), in lines of 64 characters each ending in LF.
#[must_use]
pub fn base64_lines(der: &[u8]) -> Vec<u8> {
    wrapped(der, b"\n")
}

/// `der` in base64 in lines of 64 characters, each ending in `eol`.
fn wrapped(der: &[u8], eol: &[u8]) -> Vec<u8> {
    let text = Base64::encode_string(der);
    let mut out = Vec::with_capacity(text.len() + (text.len() / 64 + 1) * eol.len());
    for line in text.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.extend_from_slice(eol);
    }
    out
}

/// The `/cacerts` answer (RFC 7030 §4.1.3): a certs-only Simple PKI Response holding
/// `chain` (the CA's certificate and those up to its root), base64.
///
/// # Errors
/// [`Error::Encode`] if a certificate does not encode.
pub fn cacerts_reply(chain: &[Certificate]) -> Result<Reply, Error> {
    certs_only(chain)
}

/// The `/simpleenroll` and `/simplereenroll` answer (RFC 7030 §4.2.3): a certs-only Simple
/// PKI Response holding "only the certificate that was issued", base64. The chain is for
/// `/cacerts`; a client such as acme2certifier's EST handler reads every certificate of
/// this reply as the issued one.
///
/// # Errors
/// [`Error::Encode`] if the certificate does not encode.
pub fn enrolled_reply(issued: &Certificate) -> Result<Reply, Error> {
    certs_only(std::slice::from_ref(issued))
}

/// The `/fullcmc` answer (RFC 7030 §4.3.2): the Full PKI Response DER that the CMC door
/// produced, base64. CMC failures travel inside it with status 200.
#[must_use]
pub fn fullcmc_reply(response_der: &[u8]) -> Reply {
    Reply::base64(CMC_RESPONSE, response_der)
}

fn certs_only(certs: &[Certificate]) -> Result<Reply, Error> {
    let der = cmc_codec::certs_only_response(certs).map_err(|e| Error::Encode(e.to_string()))?;
    Ok(Reply::base64(CERTS_ONLY, &der))
}

/// The private key of a server-generated key pair, as the serverkeygen reply carries it
/// (RFC 7030 §4.4.2).
#[derive(Debug)]
pub enum ServerKey {
    /// An unencrypted PKCS #8 `PrivateKeyInfo` (DER), sent as `application/pkcs8`; the
    /// TLS session is its only protection. Wiped from memory when dropped.
    Pkcs8(Zeroizing<Vec<u8>>),
    /// The key encrypted to the client: a CMS `ContentInfo` holding EnvelopedData (DER),
    /// sent as `application/pkcs7-mime; smime-type=server-generated-key`.
    Enveloped(Vec<u8>),
}

/// The `/serverkeygen` answer (RFC 7030 §4.4.2): `multipart/mixed` with the private key
/// part first and the certs-only part holding the issued certificate second, each base64.
///
/// The body holds the private key in base64; the caller sends it and drops it (the
/// [`Reply`] does not wipe its body).
///
/// # Errors
/// [`Error::Encode`] if the certificate does not encode.
pub fn serverkeygen_reply(key: &ServerKey, issued: &Certificate) -> Result<Reply, Error> {
    let certs = cmc_codec::certs_only_response(std::slice::from_ref(issued))
        .map_err(|e| Error::Encode(e.to_string()))?;
    let (key_type, key_der): (&str, &[u8]) = match key {
        ServerKey::Pkcs8(der) => ("application/pkcs8", der),
        ServerKey::Enveloped(der) => (
            "application/pkcs7-mime; smime-type=server-generated-key",
            der,
        ),
    };
    // MIME (RFC 2046 §5.1.1) lines end in CRLF, and the CRLF before a delimiter belongs
    // to the delimiter: each part's last base64 line ends in the CRLF that precedes the
    // next "--boundary".
    let mut body = Vec::new();
    for (content_type, der) in [(key_type, key_der), (CERTS_ONLY, &certs[..])] {
        body.extend_from_slice(format!("--{SERVERKEYGEN_BOUNDARY}\r\n").as_bytes());
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        body.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
        body.extend_from_slice(&wrapped(der, b"\r\n"));
    }
    body.extend_from_slice(format!("--{SERVERKEYGEN_BOUNDARY}--\r\n").as_bytes());
    Ok(Reply::new(
        200,
        &format!("multipart/mixed; boundary={SERVERKEYGEN_BOUNDARY}"),
        body,
    ))
}

#[cfg(test)]
mod tests {
    use der::{Decode, DecodePem};

    use super::*;

    fn fixture(name: &str) -> Certificate {
        let path = format!("{}/../../testdata/est/{name}", env!("CARGO_MANIFEST_DIR"));
        Certificate::from_pem(std::fs::read(path).unwrap()).unwrap()
    }

    fn unbase64(body: &[u8]) -> Vec<u8> {
        let text: String = String::from_utf8(body.to_vec())
            .unwrap()
            .split_whitespace()
            .collect();
        Base64::decode_vec(&text).unwrap()
    }

    #[test]
    fn base64_lines_are_64_wide() {
        let der = vec![0xA5; 100];
        let body = base64_lines(&der);
        let text = String::from_utf8(body.clone()).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        // 100 octets are 136 base64 characters.
        assert_eq!(
            lines.iter().map(|l| l.len()).collect::<Vec<_>>(),
            [64, 64, 8]
        );
        assert!(text.ends_with('\n'));
        assert_eq!(unbase64(&body), der);
        assert_eq!(base64_lines(&[]), Vec::<u8>::new());
    }

    #[test]
    fn enrolled_reply_holds_only_the_issued_certificate() {
        let leaf = fixture("leaf.pem");
        let r = enrolled_reply(&leaf).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(CERTS_ONLY));
        assert_eq!(r.header("Content-Transfer-Encoding"), Some("base64"));
        let certs = cmc_codec::decode_certs_only(&unbase64(&r.body), &cmc_codec::Limits::default())
            .unwrap();
        assert_eq!(certs, vec![leaf]);
    }

    #[test]
    fn cacerts_reply_holds_the_chain() {
        let ca = fixture("ca.pem");
        let r = cacerts_reply(std::slice::from_ref(&ca)).unwrap();
        let certs = cmc_codec::decode_certs_only(&unbase64(&r.body), &cmc_codec::Limits::default())
            .unwrap();
        assert_eq!(certs, vec![ca]);
    }

    #[test]
    fn pending_and_unauthorized() {
        let r = Reply::pending(120);
        assert_eq!(r.status, 202);
        assert_eq!(r.header("Retry-After"), Some("120"));
        let r = Reply::unauthorized("CA \"one\"", "who are you");
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some(r#"Basic realm="CA \"one\"", charset="UTF-8""#)
        );
        assert_eq!(r.body, b"who are you\n");
    }

    #[test]
    fn serverkeygen_parts() {
        let leaf = fixture("leaf.pem");
        let key = ServerKey::Pkcs8(Zeroizing::new(vec![0x30, 0x03, 0x02, 0x01, 0x00]));
        let r = serverkeygen_reply(&key, &leaf).unwrap();
        assert_eq!(
            r.header("Content-Type"),
            Some("multipart/mixed; boundary=est-server-keygen-boundary")
        );
        let body = String::from_utf8(r.body).unwrap();
        let parts: Vec<&str> = body.split("--est-server-keygen-boundary").collect();
        // preamble (empty), key part, certificate part, closing "--\r\n"
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0], "");
        assert_eq!(parts[3], "--\r\n");
        let (head, b64) = parts[1].split_once("\r\n\r\n").unwrap();
        assert!(head.contains("Content-Type: application/pkcs8"));
        assert_eq!(unbase64(b64.as_bytes()), [0x30, 0x03, 0x02, 0x01, 0x00]);
        let (head, b64) = parts[2].split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Type: {CERTS_ONLY}")));
        let der = unbase64(b64.as_bytes());
        let certs = cmc_codec::decode_certs_only(&der, &cmc_codec::Limits::default()).unwrap();
        assert_eq!(certs, vec![leaf.clone()]);

        let r = serverkeygen_reply(&ServerKey::Enveloped(vec![0x30, 0x00]), &leaf).unwrap();
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("smime-type=server-generated-key"));
        assert!(
            Certificate::from_der(&der).is_err(),
            "the part is a SignedData"
        );
    }
}
