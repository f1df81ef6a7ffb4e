//! The crate's error type, and the one place where it becomes an HTTP status.

use crate::reply::{DEFAULT_REALM, Reply};

/// Everything that makes an EST request unanswerable before the engine is asked: the wrong
/// path, method, media type or size, a body that is not base64 or not a valid PKCS #10, bad
/// HTTP Basic credentials, a broken CSR-to-connection link; and our own failure to encode a reply.
///
/// [`Error::status`] maps each to its HTTP status and [`Error::to_reply`] to the whole
/// reply: all are 4xx except [`Error::Encode`] (500), so bad input never gets a 500.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path is not `/.well-known/est/[label/]operation` with a known operation and a
    /// well-formed label.
    #[error("no such EST resource: {0}")]
    NotFound(String),

    /// The operation exists but not with this method.
    #[error("method {method} not allowed; use {allow}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The one method the operation takes (`GET` or `POST`).
        allow: &'static str,
    },

    /// The request's Content-Type is missing or not the one the operation takes.
    #[error("{} not accepted; send {expected}", found.as_deref().map_or_else(|| "no Content-Type".to_owned(), |f| format!("Content-Type {f}")))]
    UnsupportedMediaType {
        /// The media type sent, without parameters, if any.
        found: Option<String>,
        /// The media type expected.
        expected: &'static str,
    },

    /// The body (before or after base64 decoding) exceeds the limit.
    #[error("body of {len} octets exceeds the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The body is not base64 (RFC 4648 §4, with or without line breaks: RFC 8951 §3).
    #[error("the body is not base64")]
    NotBase64,

    /// The body decoded but is not an acceptable request: not a PKCS #10, its
    /// self-signature does not verify, its key or signature algorithm is not supported,
    /// or (for fullcmc) it is not BER/DER.
    #[error("bad request: {0}")]
    BadRequest(String),

    /// The challengePassword attribute is present but not a single DirectoryString.
    #[error("malformed challengePassword attribute: {0}")]
    BadChallengePassword(&'static str),

    /// The CSR's challengePassword is not the base64 of this connection's channel binding
    /// (RFC 7030 §3.5, with RFC 9266's tls-exporter), or linking is required and the CSR
    /// has none.
    #[error("the CSR is not linked to this TLS connection: {0}")]
    ChannelBindingMismatch(&'static str),

    /// Linking is required but the connection has no channel binding (it is not TLS).
    #[error("the CSR must be linked to its TLS connection, and this connection has no TLS")]
    ChannelBindingUnavailable,

    /// No usable credentials: the Authorization header is missing, not Basic, not base64,
    /// has no `:`, an empty identification, or an identification that is not UTF-8.
    #[error("authentication required: {0}")]
    Unauthorized(&'static str),

    /// Encoding a reply failed (a certificate or key that does not encode): our fault.
    #[error("encoding the reply failed: {0}")]
    Encode(String),
}

impl Error {
    /// The HTTP status for this error.
    ///
    /// - 404: no such resource (RFC 9110 §15.5.5);
    /// - 405: known operation, wrong method (RFC 9110 §15.5.6, with `Allow`);
    /// - 413: body too large (RFC 9110 §15.5.14);
    /// - 415: wrong Content-Type (RFC 9110 §15.5.16);
    /// - 400: the body is not what the operation takes, or not linked to the connection
    ///   (RFC 7030 §3.5 says to reject, without naming a status; it is not an
    ///   authentication failure that other credentials could fix, so not 401);
    /// - 401: no usable credentials (RFC 7030 §3.2.3, RFC 7617 §2, with
    ///   `WWW-Authenticate`);
    /// - 500: our encoding failed.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::TooLarge { .. } => 413,
            Self::UnsupportedMediaType { .. } => 415,
            Self::NotBase64
            | Self::BadRequest(_)
            | Self::BadChallengePassword(_)
            | Self::ChannelBindingMismatch(_)
            | Self::ChannelBindingUnavailable => 400,
            Self::Unauthorized(_) => 401,
            Self::Encode(_) => 500,
        }
    }

    /// The reply for this error: its status, a short `text/plain` reason (the error's
    /// text, which holds nothing internal, except for [`Error::Encode`], which is logged by
    /// the caller and answered with a fixed text), `Allow` on 405 and `WWW-Authenticate`
    /// on 401 (realm [`DEFAULT_REALM`]).
    #[must_use]
    pub fn to_reply(&self) -> Reply {
        match self {
            Self::MethodNotAllowed { allow, .. } => {
                let mut r = Reply::text(405, &self.to_string());
                r.headers.push(("Allow".to_owned(), (*allow).to_owned()));
                r
            }
            Self::Unauthorized(_) => Reply::unauthorized(DEFAULT_REALM, &self.to_string()),
            Self::Encode(_) => Reply::text(500, "internal error"),
            Self::NotFound(_)
            | Self::UnsupportedMediaType { .. }
            | Self::TooLarge { .. }
            | Self::NotBase64
            | Self::BadRequest(_)
            | Self::BadChallengePassword(_)
            | Self::ChannelBindingMismatch(_)
            | Self::ChannelBindingUnavailable => Reply::text(self.status(), &self.to_string()),
        }
    }
}

impl From<Error> for Reply {
    fn from(e: Error) -> Self {
        e.to_reply()
    }
}

/// The error for a certification request that cmc-codec refused.
///
/// Input that is too large becomes [`Error::TooLarge`]; everything about the request
/// itself (not DER, not PKCS #10, a self-signature that does not verify, an unsupported
/// algorithm or key) is [`Error::BadRequest`] with cmc-codec's text, which names the
/// check and nothing internal. cmc-codec's own encoding or key failures cannot happen
/// while decoding, but would be [`Error::Encode`].
pub(crate) fn from_codec(e: cmc_codec::Error) -> Error {
    match e {
        cmc_codec::Error::TooLarge { len, max } => Error::TooLarge { len, max },
        cmc_codec::Error::Encode(_) | cmc_codec::Error::Key(_) => Error::Encode(e.to_string()),
        // cmc_codec::Error is #[non_exhaustive], so a wildcard is needed; every other
        // variant is a check on the input, and a new one would be too.
        _ => Error::BadRequest(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error, its status, and a header its reply must carry.
    type Case = (Error, u16, Option<(&'static str, &'static str)>);

    #[test]
    fn statuses_and_headers() {
        let cases: Vec<Case> = vec![
            (Error::NotFound("x".into()), 404, None),
            (
                Error::MethodNotAllowed {
                    method: "PUT".into(),
                    allow: "POST",
                },
                405,
                Some(("Allow", "POST")),
            ),
            (Error::TooLarge { len: 2, max: 1 }, 413, None),
            (
                Error::UnsupportedMediaType {
                    found: None,
                    expected: "application/pkcs10",
                },
                415,
                None,
            ),
            (Error::NotBase64, 400, None),
            (Error::ChannelBindingUnavailable, 400, None),
            (
                Error::Unauthorized("no Authorization header"),
                401,
                Some(("WWW-Authenticate", "Basic realm=\"EST\", charset=\"UTF-8\"")),
            ),
            (Error::Encode("boom".into()), 500, None),
        ];
        for (e, status, header) in cases {
            let r = e.to_reply();
            assert_eq!(e.status(), status, "{e}");
            assert_eq!(r.status, status, "{e}");
            assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
            if let Some((name, value)) = header {
                assert_eq!(r.header(name), Some(value), "{e}");
            }
        }
        // Our own failure says nothing of its cause.
        let r = Error::Encode("secret detail".into()).to_reply();
        assert!(!String::from_utf8(r.body).unwrap().contains("secret"));
    }

    #[test]
    fn codec_errors() {
        let e = from_codec(cmc_codec::Error::TooLarge { len: 9, max: 8 });
        assert!(matches!(e, Error::TooLarge { len: 9, max: 8 }));
        let e = from_codec(cmc_codec::Error::NotPkcs10("bad".into()));
        assert_eq!(e.status(), 400);
        let e = from_codec(cmc_codec::Error::PopFailed {
            body_part_id: 0,
            reason: "PKCS #10 self-signature does not verify",
        });
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("self-signature"));
        assert_eq!(
            from_codec(cmc_codec::Error::Encode("x".into())).status(),
            500
        );
    }
}
