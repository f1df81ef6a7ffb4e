//! The EST front door (RFC 7030): `/.well-known/est/[{ca}/]{operation}`.
//! The path, method and body rules and every answer are `proto_est`'s;
//! this file reads the HTTP request, picks the CA (the label, else the
//! default CA), runs the operation on the blocking pool and copies the
//! reply back. A request that fails to authenticate (401) counts against
//! its source like an unauthenticated CMC failure ([`crate::limit`]).

use std::time::Instant;

use hyper::body::{Body, Bytes};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use proto_est::{EstFrontDoor, EstRequest, Limits, route};

use super::blocking::Unserved;
use super::reply::{internal_error, text, unavailable};
use super::{App, BoxError, ConnInfo, Reply, Summary};

impl App {
    /// Answers one EST request.
    pub(super) async fn est<B>(&self, conn: &ConnInfo, req: Request<B>) -> (Reply, Summary)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let source = conn.peer.map(|p| p.ip());
        if let Some(ip) = source {
            if let Err(wait) = self.limiter.check(ip, Instant::now()) {
                self.metrics.rate_limited();
                return (
                    super::cmc::too_many_failures(wait),
                    Summary::est("rate-limited"),
                );
            }
        }
        let path = req.uri().path().to_owned();
        let method = req.method().as_str().to_owned();
        let (label, operation) = match route(&method, &path) {
            Ok(r) => (r.label.map(str::to_owned), r.operation),
            Err(e) => return (from_est(e.to_reply()), Summary::est("bad-path")),
        };
        let Some(ca) = label.or_else(|| self.default_ca()) else {
            return (
                text(StatusCode::NOT_FOUND, "no default CA is configured\n"),
                Summary::default(),
            );
        };
        if self.engine.ca(&ca).is_err() {
            return (
                text(StatusCode::NOT_FOUND, "no such CA\n"),
                Summary::default(),
            );
        }
        let header = |name: HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(header::CONTENT_TYPE);
        let authorization = header(header::AUTHORIZATION);
        let body = if req.method() == Method::POST {
            match self.read_body(req).await {
                Ok(body) => body,
                Err(reply) => return (reply, Summary::default()),
            }
        } else {
            Vec::new()
        };
        let conn = conn.clone();
        let require_channel_binding = self.settings.est_require_channel_binding;
        let peer = conn.peer.map(|p| p.to_string());
        let limits = Limits {
            max_body: self.settings.max_body_bytes,
        };
        let result = self
            .on_engine("EST request", move |engine| {
                engine.handle_est(&EstRequest {
                    operation,
                    ca: &ca,
                    content_type: content_type.as_deref(),
                    authorization: authorization.as_deref(),
                    body: &body,
                    tls: conn.tls,
                    tls_client_cert: conn.tls_client_cert.as_deref(),
                    channel_binding: conn.channel_binding.as_deref(),
                    require_channel_binding,
                    peer: peer.as_deref(),
                    limits,
                })
            })
            .await;
        match result {
            Ok(reply) => {
                if reply.status == 401 {
                    self.unauthenticated_failure(source);
                }
                self.metrics
                    .issued(u64::try_from(reply.issued).unwrap_or(u64::MAX));
                let outcome = Summary::est(format!("{} {}", operation.name(), reply.status));
                (from_est(reply), outcome)
            }
            Err(Unserved::Closed) => (unavailable(), Summary::default()),
            Err(Unserved::Failed) => (internal_error(), Summary::est("internal")),
        }
    }
}

/// The hyper response of an EST reply.
fn from_est(reply: proto_est::Reply) -> Reply {
    let mut out = hyper::Response::new(http_body_util::Full::new(Bytes::from(reply.body)));
    *out.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}
