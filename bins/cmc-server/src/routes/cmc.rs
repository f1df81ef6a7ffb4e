//! The CMC front door (RFC 5273): `POST {base_path}/{ca}` and
//! `POST {default_path}`, a Full PKI Request (`application/pkcs7-mime`) or a
//! Simple PKI Request (`application/pkcs10`) in, the signed CMC response
//! out. Sources over their limit of unauthenticated failures get 429
//! ([`crate::limit`]).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hyper::body::{Body, Bytes};
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use proto_cmc::{CmcFrontDoor, CmcReply, NotCmc, Transport};

use super::blocking::Unserved;
use super::reply::{content, internal_error, not_found, text, unavailable};
use super::{App, BoxError, ConnInfo, Reply, Summary};
use crate::limit;

/// Which kind of CMC request a body is, by its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// `application/pkcs7-mime` (with or without `smime-type=CMC-request`):
    /// a Full PKI Request.
    Full,
    /// `application/pkcs10`: a Simple PKI Request.
    Simple,
}

/// The request kind of a `Content-Type` value; parameters and case are
/// tolerated (RFC 5273 §3; real clients send no parameters).
///
/// # Errors
/// A short reason when the type is missing or not a CMC request type.
pub fn request_kind(content_type: Option<&HeaderValue>) -> Result<RequestKind, String> {
    let Some(value) = content_type else {
        return Err(
            "a Content-Type is required: application/pkcs7-mime or application/pkcs10".into(),
        );
    };
    let text = value
        .to_str()
        .map_err(|_| "the Content-Type is not text".to_owned())?;
    let essence = text.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/pkcs7-mime") {
        Ok(RequestKind::Full)
    } else if essence.eq_ignore_ascii_case("application/pkcs10") {
        Ok(RequestKind::Simple)
    } else {
        Err(format!(
            "unsupported Content-Type {essence:?}: send application/pkcs7-mime; smime-type=CMC-request or application/pkcs10"
        ))
    }
}

impl App {
    /// The CA a CMC path is for: `Some(None)` for the default path (the CA
    /// is chosen later), `Some(Some(name))` for `{base_path}/{name}`.
    pub(super) fn cmc_target<'p>(&self, path: &'p str) -> Option<Option<&'p str>> {
        let trimmed = path.trim_end_matches('/');
        if self.settings.default_path.as_deref() == Some(trimmed) {
            return Some(None);
        }
        let rest = path
            .strip_prefix(self.settings.base_path.as_str())?
            .strip_prefix('/')?;
        (!rest.is_empty() && !rest.contains('/')).then_some(Some(rest))
    }

    /// The CA of the default path: `default_ca`, else the only CA.
    pub(super) fn default_ca(&self) -> Option<String> {
        if let Some(ca) = &self.settings.default_ca {
            return Some(ca.clone());
        }
        let names = self.engine.ca_names();
        match names.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        }
    }

    /// Answers a CMC POST (the method is checked by the router).
    pub(super) async fn cmc<B>(
        &self,
        ca: Option<&str>,
        conn: &ConnInfo,
        req: Request<B>,
    ) -> (Reply, Summary)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        // A source over its limit is refused before anything else: the
        // body is not read and the engine (which would sign an answer)
        // never sees it.
        let source = conn.peer.map(|p| p.ip());
        if let Some(ip) = source {
            if let Err(wait) = self.limiter.check(ip, Instant::now()) {
                self.metrics.rate_limited();
                return (too_many_failures(wait), Summary::cmc("rate-limited"));
            }
        }
        let Some(ca) = ca.map(str::to_owned).or_else(|| self.default_ca()) else {
            return (
                text(StatusCode::NOT_FOUND, "no default CA is configured\n"),
                Summary::default(),
            );
        };
        if self.engine.ca(&ca).is_err() {
            return (not_found(), Summary::default());
        }
        let kind = match request_kind(req.headers().get(header::CONTENT_TYPE)) {
            Ok(kind) => kind,
            Err(why) => {
                return (
                    text(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("{why}\n")),
                    Summary::default(),
                );
            }
        };
        let body = match self.read_body(req).await {
            Ok(body) => body,
            Err(reply) => return (reply, Summary::default()),
        };
        let transport = Transport {
            tls_client_cert: conn.tls_client_cert.clone(),
            peer: conn.peer.map(|p| p.to_string()),
        };
        let result = self
            .on_engine("CMC request", move |engine| match kind {
                RequestKind::Full => engine.handle_full(&ca, &body, &transport),
                RequestKind::Simple => engine.handle_simple(&ca, &body, &transport),
            })
            .await;
        match result {
            Ok(Ok(reply)) => {
                // A failure, not a held (pending) Simple PKI Request.
                if !reply.authenticated && !reply.fail_infos().is_empty() {
                    self.unauthenticated_failure(source);
                }
                self.cmc_reply(reply)
            }
            Ok(Err(not_cmc)) => self.not_cmc(&not_cmc, source),
            Err(Unserved::Closed) => (unavailable(), Summary::default()),
            Err(Unserved::Failed) => (internal_error(), Summary::cmc("internal")),
        }
    }

    /// The HTTP error for a body the engine could not answer in CMC.
    fn not_cmc(&self, not_cmc: &NotCmc, source: Option<IpAddr>) -> (Reply, Summary) {
        let status = StatusCode::from_u16(not_cmc.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        if status.is_client_error() {
            // Not CMC at all: nothing was signed, but it is as anonymous
            // as a failure that was.
            self.unauthenticated_failure(source);
        }
        if status.is_server_error() {
            // The engine has logged the detail.
            return (internal_error(), Summary::cmc("internal"));
        }
        let reply = text(status, &format!("{}\n", not_cmc.reason()));
        (reply, Summary::cmc(not_cmc_label(not_cmc)))
    }

    /// Counts a request (CMC, or EST answered 401) that failed without an
    /// authenticated sender against its source.
    pub(super) fn unauthenticated_failure(&self, source: Option<IpAddr>) {
        self.metrics.unauthenticated_failure();
        if let Some(ip) = source {
            self.limiter.failure(ip, Instant::now());
        }
    }

    /// The 200 with the CMC response, its statuses counted.
    fn cmc_reply(&self, reply: CmcReply) -> (Reply, Summary) {
        let mut summary = Vec::with_capacity(reply.statuses.len());
        for part in &reply.statuses {
            self.metrics.cmc_status(part.status as u32);
            match part.fail_info {
                Some(fail) => {
                    self.metrics.cmc_fail_info(fail as u32);
                    summary.push(format!("{}/{}", part.status.name(), fail.name()));
                }
                None => summary.push(part.status.name().to_owned()),
            }
        }
        self.metrics
            .issued(u64::try_from(reply.issued).unwrap_or(u64::MAX));
        let outcome = Summary::cmc(format!("{} issued={}", summary.join(","), reply.issued));
        (content(reply.der, reply.content_type), outcome)
    }
}

/// The log label of a body that is not CMC.
fn not_cmc_label(e: &NotCmc) -> &'static str {
    match e.http_status() {
        400 => "not-cmc",
        403 => "refused",
        404 => "unknown-ca",
        413 => "too-large",
        _ => "other",
    }
}

/// 429 for a source over its limit of unauthenticated failures, with the
/// seconds until it may send again.
pub(super) fn too_many_failures(wait: Duration) -> Reply {
    let mut reply = text(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests from this address failed without an authenticated sender; retry later\n",
    );
    reply.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(limit::retry_after_secs(wait)),
    );
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    #[test]
    fn content_types() {
        for full in [
            "application/pkcs7-mime",
            "application/pkcs7-mime; smime-type=CMC-request",
            "Application/PKCS7-MIME;smime-type=cmc-request",
            " application/pkcs7-mime ; name=req.p7m",
        ] {
            assert_eq!(
                request_kind(Some(&hv(full))),
                Ok(RequestKind::Full),
                "{full}"
            );
        }
        assert_eq!(
            request_kind(Some(&hv("application/PKCS10"))),
            Ok(RequestKind::Simple)
        );
        for bad in ["text/plain", "application/pkcs7", "application/pkcs10x", ""] {
            assert!(request_kind(Some(&hv(bad))).is_err(), "{bad}");
        }
        assert!(request_kind(None).unwrap_err().contains("Content-Type"));
    }

    #[test]
    fn retry_after_is_whole_seconds() {
        let reply = too_many_failures(Duration::from_millis(1500));
        assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.headers().get(header::RETRY_AFTER).unwrap(), "2");
    }
}
