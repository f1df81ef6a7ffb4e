//! The OCSP front door (RFC 6960, RFC 5019): `POST /ocsp/{ca}` with an
//! `application/ocsp-request` body, or `GET /ocsp/{ca}/{request}` with the
//! request's DER in base64, URL-encoded (RFC 6960 Appendix A.1). The
//! answer is always a 200 with an OCSPResponse, malformedRequest included.

use cmc_ca::OcspReply;
use http_body_util::Full;
use hyper::body::{Body, Bytes};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};

use super::reply::{content, not_found, set_date, set_header, text, with_header};
use super::{App, BoxError, Reply, Summary};

/// The largest OCSP request body accepted (or decoded from a GET path).
/// Requests are small: even 16 SHA-512 CertIDs with a signature and its
/// certificate fit easily.
pub const OCSP_MAX_REQUEST_BYTES: usize = 16 * 1024;

/// The OCSP request media type (RFC 6960 Appendix C.1).
pub const OCSP_REQUEST_CONTENT_TYPE: &str = "application/ocsp-request";

/// The OCSP response media type (RFC 6960 Appendix C.2).
pub const OCSP_RESPONSE_CONTENT_TYPE: &str = "application/ocsp-response";

impl App {
    /// `/ocsp/{ca}` (POST) and `/ocsp/{ca}/{request}` (GET, HEAD); `rest`
    /// is the path after `/ocsp/`. A body or path that is no OCSP request
    /// is answered by the engine with malformedRequest, as RFC 6960 wants.
    pub(super) async fn ocsp<B>(&self, rest: &str, req: Request<B>) -> (Reply, Summary)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let no_outcome = Summary::default();
        // The base64 may hold '/' (RFC 6960 asks for it to be URL-encoded,
        // not every client does): everything after the CA name is the
        // request.
        let (ca, encoded) = match rest.split_once('/') {
            Some((ca, encoded)) if !encoded.is_empty() => (ca, Some(encoded)),
            Some((ca, _)) => (ca, None),
            None => (rest, None),
        };
        if ca.is_empty() || self.engine.ca(ca).is_err() {
            return (not_found(), no_outcome);
        }
        let method = req.method().clone();
        let body = match (&method, encoded) {
            (&Method::POST, None) => {
                if !is_ocsp_request(req.headers().get(header::CONTENT_TYPE)) {
                    let why = format!("OCSP requests are sent as {OCSP_REQUEST_CONTENT_TYPE}\n");
                    return (text(StatusCode::UNSUPPORTED_MEDIA_TYPE, &why), no_outcome);
                }
                let max = OCSP_MAX_REQUEST_BYTES.min(self.settings.max_body_bytes);
                match self.read_body_up_to(req, max).await {
                    Ok(body) => body,
                    Err(reply) => return (reply, no_outcome),
                }
            }
            (&Method::GET | &Method::HEAD, Some(encoded)) => {
                // Base64 is 4/3 of the DER; URL-encoding at most triples it.
                if encoded.len() > OCSP_MAX_REQUEST_BYTES * 4 {
                    return (
                        text(StatusCode::URI_TOO_LONG, "the OCSP request is too long\n"),
                        no_outcome,
                    );
                }
                // Not base64: the engine answers malformedRequest to the
                // empty request.
                decode_get_request(encoded).unwrap_or_default()
            }
            (_, None) => {
                let reply = with_header(
                    text(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "OCSP requests are POSTed here\n",
                    ),
                    header::ALLOW,
                    "POST",
                );
                return (reply, no_outcome);
            }
            (_, Some(_)) => {
                let reply = with_header(
                    text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n"),
                    header::ALLOW,
                    "GET, HEAD",
                );
                return (reply, no_outcome);
            }
        };
        let name = ca.to_owned();
        let result = self
            .on_engine("OCSP request", move |engine| engine.ocsp(&name, &body))
            .await;
        let reply = match result {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                // Only an unknown CA, which was checked above; it could
                // only be removed since, which the engine does not do.
                tracing::warn!(ca, error = %e, "OCSP request refused");
                return (not_found(), no_outcome);
            }
            Err(unserved) => return (unserved.reply(), no_outcome),
        };
        let outcome = Summary::ocsp(ocsp_summary(&reply));
        let cacheable = method != Method::POST;
        let mut response = ocsp_response(reply, cacheable);
        if method == Method::HEAD {
            *response.body_mut() = Full::new(Bytes::new());
        }
        (response, outcome)
    }
}

/// Whether a `Content-Type` is `application/ocsp-request` (parameters and
/// case tolerated).
fn is_ocsp_request(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case(OCSP_REQUEST_CONTENT_TYPE)
        })
}

/// The DER of a GET request path segment: URL-decoded, then base64 with or
/// without padding (RFC 6960 Appendix A.1). `None` if it is neither.
///
/// A broken `%` escape is left as it is by the decoder, and `%` is not a
/// base64 character, so such a path is `None` too.
#[must_use]
pub fn decode_get_request(encoded: &str) -> Option<Vec<u8>> {
    use base64ct::{Base64, Base64Unpadded, Encoding};
    let text = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()?;
    Base64::decode_vec(&text)
        .or_else(|_| Base64Unpadded::decode_vec(&text))
        .ok()
}

/// The log summary of an OCSP answer, e.g. `successful good=1`.
fn ocsp_summary(reply: &OcspReply) -> String {
    let c = reply.counts;
    if reply.produced_at.is_some() {
        format!(
            "{} good={} revoked={} unknown={}",
            reply.status.name(),
            c.good,
            c.revoked,
            c.unknown
        )
    } else {
        reply.status.name().to_owned()
    }
}

/// The HTTP answer to an OCSP request: always 200 with the OCSPResponse.
/// A GET answer without a nonce may be cached until nextUpdate (RFC 5019
/// §6.2: max-age, Last-Modified, Expires); anything else that a cache could
/// see is marked `no-store`.
fn ocsp_response(reply: OcspReply, cacheable: bool) -> Reply {
    let mut response = content(reply.der, OCSP_RESPONSE_CONTENT_TYPE);
    if !cacheable {
        return response;
    }
    let headers = response.headers_mut();
    match (reply.produced_at, reply.next_update, reply.nonce) {
        (Some(produced), Some(next), false) => {
            let max_age = next.0.saturating_sub(produced.0).max(0);
            set_header(
                headers,
                header::CACHE_CONTROL,
                &format!("max-age={max_age}, public, no-transform, must-revalidate"),
            );
            set_date(headers, header::LAST_MODIFIED, produced.0);
            set_date(headers, header::EXPIRES, next.0);
        }
        _ => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    #[test]
    fn ocsp_get_paths_decode() {
        // base64 of 30 03 0a 01 01 is "MAMKAQE="; of ff fe ff, "//7/".
        assert_eq!(
            decode_get_request("MAMKAQE%3D").unwrap(),
            [0x30, 0x03, 0x0a, 0x01, 0x01]
        );
        assert_eq!(
            decode_get_request("MAMKAQE=").unwrap(),
            [0x30, 0x03, 0x0a, 0x01, 0x01]
        );
        assert_eq!(
            decode_get_request("MAMKAQE").unwrap(),
            [0x30, 0x03, 0x0a, 0x01, 0x01]
        );
        assert_eq!(
            decode_get_request("%2F%2F7%2F").unwrap(),
            [0xff, 0xfe, 0xff]
        );
        assert_eq!(decode_get_request("//7/").unwrap(), [0xff, 0xfe, 0xff]);
        assert_eq!(decode_get_request("%2b%2B8%3d").unwrap(), [0xfb, 0xef]);
        // Broken escapes, not base64, not UTF-8, an escaped '%' before
        // valid base64.
        for bad in ["%", "%4", "%zz", "not base64!", "%FF%FE", "%25MAMKAQE="] {
            assert_eq!(decode_get_request(bad), None, "{bad}");
        }
    }

    #[test]
    fn ocsp_content_type() {
        assert!(is_ocsp_request(Some(&hv("application/ocsp-request"))));
        assert!(is_ocsp_request(Some(&hv("Application/OCSP-Request; q=1"))));
        assert!(!is_ocsp_request(Some(&hv("application/pkcs7-mime"))));
        assert!(!is_ocsp_request(None));
    }
}
