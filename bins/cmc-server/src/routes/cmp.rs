//! The CMP front door (RFC 6712 transport, RFC 9811 paths):
//! `POST /.well-known/cmp` (the default CA) and `POST /.well-known/cmp/p/{ca}`.
//! Every CMP answer is `proto_cmp`'s; this file picks the CA, reads the
//! body, runs the door on the blocking pool and copies the answer back. A
//! request whose sender is not authenticated counts against its source
//! like an unauthenticated CMC failure ([`crate::limit`]); a source over
//! its limit gets 429.

use std::time::Instant;

use hyper::body::{Body, Bytes};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use proto_cmp::{CmpRequest, Limits};

use super::blocking::Unserved;
use super::reply::{internal_error, text, unavailable, with_header};
use super::{App, BoxError, ConnInfo, Reply, Summary};

/// The path prefix of the CMP door (RFC 6712 §3.6, RFC 9811 §3).
const PREFIX: &str = "/.well-known/cmp";

/// Whether `path` is the CMP door's: `Some(None)` for the default CA,
/// `Some(Some(label))` for `/p/{label}`, `Some(Some(""))` for a path
/// under the prefix that names no CA (answered 404).
pub(super) fn target(path: &str) -> Option<Option<&str>> {
    let rest = path.strip_prefix(PREFIX)?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Some(None);
    }
    match rest.strip_prefix("/p/") {
        Some(label) if !label.is_empty() && !label.contains('/') => Some(Some(label)),
        _ if rest.starts_with('/') => Some(Some("")),
        // `/.well-known/cmpx`: not ours.
        _ => None,
    }
}

impl App {
    /// Answers one CMP request for CA `label` (the default CA if `None`).
    pub(super) async fn cmp<B>(
        &self,
        conn: &ConnInfo,
        label: Option<String>,
        req: Request<B>,
    ) -> (Reply, Summary)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let source = conn.peer.map(|p| p.ip());
        if let Some(ip) = source
            && let Err(wait) = self.limiter.check(ip, Instant::now())
        {
            self.metrics.rate_limited();
            return (
                super::cmc::too_many_failures(wait),
                Summary::cmp("rate-limited"),
            );
        }
        if req.method() != Method::POST {
            let reply = with_header(
                text(StatusCode::METHOD_NOT_ALLOWED, "CMP requests are POSTed\n"),
                header::ALLOW,
                "POST",
            );
            return (reply, Summary::default());
        }
        let ca = match label {
            Some(label) if label.is_empty() => None,
            Some(label) => Some(label),
            None => self.default_ca(),
        };
        let Some(ca) = ca.filter(|ca| self.engine.ca(ca).is_ok()) else {
            return (
                text(StatusCode::NOT_FOUND, "no such CA\n"),
                Summary::default(),
            );
        };
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match self.read_body(req).await {
            Ok(body) => body,
            Err(reply) => return (reply, Summary::cmp("unread")),
        };
        let limits = Limits {
            max_message_len: self.settings.max_body_bytes,
            ..Limits::default()
        };
        let door = std::sync::Arc::clone(&self.cmp);
        let result = self
            .on_engine("CMP request", move |engine| {
                door.handle(
                    engine,
                    &CmpRequest {
                        ca: &ca,
                        content_type: content_type.as_deref(),
                        body: &body,
                        limits: &limits,
                    },
                )
            })
            .await;
        match result {
            Ok(answer) => {
                if answer.unauthenticated {
                    self.unauthenticated_failure(source);
                }
                self.metrics
                    .issued(u64::try_from(answer.issued).unwrap_or(u64::MAX));
                let mut reply =
                    hyper::Response::new(http_body_util::Full::new(Bytes::from(answer.body)));
                *reply.status_mut() =
                    StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST);
                reply.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(answer.content_type),
                );
                (reply, Summary::cmp(answer.summary))
            }
            Err(Unserved::Closed) => (unavailable(), Summary::default()),
            Err(Unserved::Failed) => (internal_error(), Summary::cmp("internal")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn paths() {
        assert_eq!(target("/.well-known/cmp"), Some(None));
        assert_eq!(target("/.well-known/cmp/"), Some(None));
        assert_eq!(target("/.well-known/cmp/p/root"), Some(Some("root")));
        assert_eq!(target("/.well-known/cmp/p/"), Some(Some("")));
        assert_eq!(target("/.well-known/cmp/other"), Some(Some("")));
        assert_eq!(target("/.well-known/cmpx"), None);
        assert_eq!(target("/cmc"), None);
    }
}
