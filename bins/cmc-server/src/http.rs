//! Routing and answering one HTTP request (RFC 5273 and the CA's
//! publication points).
//!
//! | route | answer |
//! | --- | --- |
//! | `POST {base_path}/{ca}`, `POST {default_path}` | the CMC reply (200), or 400/403/404/408/413/415, or 429 while the source is over its limit of unauthenticated failures ([`crate::limit`]) |
//! | `GET /ca/{ca}.pem` | the CA certificate and its chain, PEM |
//! | `GET /ca/{ca}.der` | the CA certificate, DER |
//! | `GET /crl/{ca}.crl` | the current CRL, DER |
//! | `POST /ocsp/{ca}` | OCSP (RFC 6960): `application/ocsp-request` in, `application/ocsp-response` out (200, also for malformedRequest), or 404/405/413/415 |
//! | `GET /ocsp/{ca}/{request}` | OCSP with the request's DER in base64, URL-encoded (RFC 6960 Appendix A.1); cacheable until nextUpdate when it has no nonce |
//! | `GET /healthz` | `ok` when the store answers |
//! | `GET /metrics` | Prometheus text |
//!
//! Bad input never gets a 500: only a failure on the CA's side does, with a
//! generic text (the detail goes to the log).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use cmc_ca::{CmcReply, Engine, NotCmc, OcspReply, Transport};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::Semaphore;

use crate::limit::{self, FailureLimiter};
use crate::metrics::{Metrics, Route};

/// The error type bodies must convert into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response type of every route.
pub type Reply = Response<Full<Bytes>>;

/// What the routes need from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `[server].base_path`, without a trailing `/`.
    pub base_path: String,
    /// `[server].default_path`, without a trailing `/`.
    pub default_path: Option<String>,
    /// `default_ca`.
    pub default_ca: Option<String>,
    /// `[server].max_body_bytes`.
    pub max_body_bytes: usize,
    /// `[server].read_timeout_secs`: the time allowed to read a body.
    pub read_timeout: Duration,
    /// `[server].unauthenticated_failures_per_minute` (0: no limit).
    pub unauthenticated_failures_per_minute: u32,
}

impl Settings {
    /// The route settings of a configuration file.
    #[must_use]
    pub fn from_config(config: &cmc_ca::config::Config) -> Self {
        let s = &config.server;
        Self {
            base_path: s.base_path.trim_end_matches('/').to_owned(),
            default_path: s
                .default_path
                .as_ref()
                .map(|p| p.trim_end_matches('/').to_owned()),
            default_ca: config.default_ca.clone(),
            max_body_bytes: s.max_body_bytes,
            read_timeout: Duration::from_secs(s.read_timeout_secs),
            unauthenticated_failures_per_minute: s.unauthenticated_failures_per_minute,
        }
    }
}

/// Everything a request handler shares: the engine, the settings, the
/// metrics, the bound on concurrent engine calls and the per-source limit
/// on unauthenticated failures.
#[derive(Debug)]
pub struct App {
    engine: Arc<Engine>,
    settings: Settings,
    metrics: Arc<Metrics>,
    permits: Arc<Semaphore>,
    limiter: FailureLimiter,
}

/// Facts about the connection a request came on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnInfo {
    /// The peer's address.
    pub peer: Option<SocketAddr>,
    /// The verified TLS client certificate (DER), if one was presented.
    pub tls_client_cert: Option<Vec<u8>>,
}

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

/// The largest OCSP request body accepted (or decoded from a GET path).
/// Requests are small: even 16 SHA-512 CertIDs with a signature and its
/// certificate fit easily.
pub const OCSP_MAX_REQUEST_BYTES: usize = 16 * 1024;

/// The OCSP request media type (RFC 6960 Appendix C.1).
pub const OCSP_REQUEST_CONTENT_TYPE: &str = "application/ocsp-request";

/// The OCSP response media type (RFC 6960 Appendix C.2).
pub const OCSP_RESPONSE_CONTENT_TYPE: &str = "application/ocsp-response";

/// What the log line and the metrics record about a CMC or OCSP exchange.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Outcome {
    cmc: Option<String>,
    ocsp: Option<String>,
}

impl App {
    /// A new handler state.
    #[must_use]
    pub fn new(
        engine: Arc<Engine>,
        settings: Settings,
        metrics: Arc<Metrics>,
        max_concurrency: usize,
    ) -> Self {
        let limiter = FailureLimiter::new(
            settings.unauthenticated_failures_per_minute,
            limit::DEFAULT_CAPACITY,
        );
        Self {
            engine,
            settings,
            metrics,
            permits: Arc::new(Semaphore::new(max_concurrency)),
            limiter,
        }
    }

    /// The metrics.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Answers one request, writes its log line and counts it.
    ///
    /// # Errors
    /// Never: every failure becomes a response.
    pub async fn serve<B>(
        self: Arc<Self>,
        conn: Arc<ConnInfo>,
        req: Request<B>,
    ) -> Result<Reply, Infallible>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let start = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let (route, reply, outcome) = self.route(&conn, req).await;
        let elapsed = start.elapsed();
        let status = reply.status().as_u16();
        self.metrics.request(route, status, elapsed);
        tracing::info!(
            %method,
            path = %truncate(&path, 200),
            status,
            latency_ms = elapsed.as_secs_f64() * 1e3,
            cmc = outcome.cmc.as_deref().unwrap_or("-"),
            ocsp = outcome.ocsp.as_deref().unwrap_or("-"),
            peer = %conn.peer.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            "request"
        );
        Ok(reply)
    }

    async fn route<B>(&self, conn: &ConnInfo, req: Request<B>) -> (Route, Reply, Outcome)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let path = req.uri().path().to_owned();
        if let Some(ca) = self.cmc_target(&path) {
            if req.method() != Method::POST {
                let reply = with_header(
                    text(StatusCode::METHOD_NOT_ALLOWED, "CMC requests are POSTed\n"),
                    header::ALLOW,
                    "POST",
                );
                return (Route::Cmc, reply, Outcome::default());
            }
            let (reply, outcome) = self.cmc(ca, conn, req).await;
            return (Route::Cmc, reply, outcome);
        }
        if let Some(rest) = path.strip_prefix("/ocsp/") {
            let (reply, outcome) = self.ocsp(rest, req).await;
            return (Route::Ocsp, reply, outcome);
        }
        let route = match path.as_str() {
            "/healthz" => Route::Health,
            "/metrics" => Route::Metrics,
            p if p.starts_with("/ca/") => Route::CaCert,
            p if p.starts_with("/crl/") => Route::Crl,
            _ => return (Route::Other, not_found(), Outcome::default()),
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let reply = with_header(
                text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n"),
                header::ALLOW,
                "GET, HEAD",
            );
            return (route, reply, Outcome::default());
        }
        let reply = match route {
            Route::Health => self.health().await,
            Route::Metrics => match self.metrics.render() {
                Ok(text) => with_header(
                    Response::new(Full::new(Bytes::from(text))),
                    header::CONTENT_TYPE,
                    crate::metrics::CONTENT_TYPE,
                ),
                Err(e) => {
                    tracing::error!(error = %e, "encoding the metrics failed");
                    internal_error()
                }
            },
            Route::CaCert => self.ca_cert(&path["/ca/".len()..]),
            Route::Crl => self.crl(&path["/crl/".len()..]).await,
            Route::Cmc | Route::Ocsp | Route::Other => not_found(),
        };
        let reply = if req.method() == Method::HEAD {
            let (parts, _) = reply.into_parts();
            Response::from_parts(parts, Full::new(Bytes::new()))
        } else {
            reply
        };
        (route, reply, Outcome::default())
    }

    /// The CA a CMC path is for: `Some(None)` for the default path (the CA
    /// is chosen later), `Some(Some(name))` for `{base_path}/{name}`.
    fn cmc_target<'p>(&self, path: &'p str) -> Option<Option<&'p str>> {
        let trimmed = path.trim_end_matches('/');
        if self.settings.default_path.as_deref() == Some(trimmed) {
            return Some(None);
        }
        let rest = path
            .strip_prefix(self.settings.base_path.as_str())?
            .strip_prefix('/')?;
        (!rest.is_empty() && !rest.contains('/')).then_some(Some(rest))
    }

    fn default_ca(&self) -> Option<String> {
        if let Some(ca) = &self.settings.default_ca {
            return Some(ca.clone());
        }
        let names = self.engine.ca_names();
        match names.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        }
    }

    async fn cmc<B>(&self, ca: Option<&str>, conn: &ConnInfo, req: Request<B>) -> (Reply, Outcome)
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
                let outcome = Outcome {
                    cmc: Some("rate-limited".into()),
                    ..Outcome::default()
                };
                return (too_many_failures(wait), outcome);
            }
        }
        let Some(ca) = ca.map(str::to_owned).or_else(|| self.default_ca()) else {
            return (
                text(StatusCode::NOT_FOUND, "no default CA is configured\n"),
                Outcome::default(),
            );
        };
        if self.engine.ca(&ca).is_err() {
            return (not_found(), Outcome::default());
        }
        let kind = match request_kind(req.headers().get(header::CONTENT_TYPE)) {
            Ok(kind) => kind,
            Err(why) => {
                return (
                    text(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("{why}\n")),
                    Outcome::default(),
                );
            }
        };
        let body = match self.read_body(req).await {
            Ok(body) => body,
            Err(reply) => return (reply, Outcome::default()),
        };
        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return (unavailable(), Outcome::default());
        };
        let engine = Arc::clone(&self.engine);
        let transport = Transport {
            tls_client_cert: conn.tls_client_cert.clone(),
            peer: conn.peer.map(|p| p.to_string()),
        };
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match kind {
                RequestKind::Full => engine.handle_full(&ca, &body, &transport),
                RequestKind::Simple => engine.handle_simple(&ca, &body, &transport),
            }
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
            Ok(Err(not_cmc)) => {
                let status =
                    StatusCode::from_u16(not_cmc.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
                if status.is_client_error() {
                    // Not CMC at all: nothing was signed, but it is as
                    // anonymous as a failure that was.
                    self.unauthenticated_failure(source);
                }
                if status.is_server_error() {
                    // The engine has logged the detail.
                    return (
                        internal_error(),
                        Outcome {
                            cmc: Some("internal".into()),
                            ..Outcome::default()
                        },
                    );
                }
                let outcome = Outcome {
                    cmc: Some(not_cmc_label(&not_cmc).into()),
                    ..Outcome::default()
                };
                (text(status, &format!("{}\n", not_cmc.reason())), outcome)
            }
            Err(join) => {
                tracing::error!(error = %join, "the CMC handler panicked or was cancelled");
                (
                    internal_error(),
                    Outcome {
                        cmc: Some("internal".into()),
                        ..Outcome::default()
                    },
                )
            }
        }
    }

    /// Counts a CMC request that failed without an authenticated sender
    /// against its source.
    fn unauthenticated_failure(&self, source: Option<IpAddr>) {
        self.metrics.unauthenticated_failure();
        if let Some(ip) = source {
            self.limiter.failure(ip, Instant::now());
        }
    }

    fn cmc_reply(&self, reply: CmcReply) -> (Reply, Outcome) {
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
        let outcome = Outcome {
            cmc: Some(format!("{} issued={}", summary.join(","), reply.issued)),
            ..Outcome::default()
        };
        let response = with_header(
            Response::new(Full::new(Bytes::from(reply.der))),
            header::CONTENT_TYPE,
            reply.content_type,
        );
        (response, outcome)
    }

    /// Reads the whole body within the size and time limits.
    async fn read_body<B>(&self, req: Request<B>) -> Result<Vec<u8>, Reply>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        self.read_body_up_to(req, self.settings.max_body_bytes)
            .await
    }

    /// Reads the whole body, at most `max` bytes, within the time limit.
    async fn read_body_up_to<B>(&self, req: Request<B>, max: usize) -> Result<Vec<u8>, Reply>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        if let Some(len) = req.headers().get(header::CONTENT_LENGTH) {
            let len = len.to_str().ok().and_then(|t| t.trim().parse::<u64>().ok());
            match len {
                None => return Err(text(StatusCode::BAD_REQUEST, "bad Content-Length\n")),
                Some(n) if n > u64::try_from(max).unwrap_or(u64::MAX) => {
                    return Err(too_large(max));
                }
                Some(_) => {}
            }
        }
        let body = Limited::new(req.into_body(), max);
        match tokio::time::timeout(self.settings.read_timeout, body.collect()).await {
            Err(_) => Err(text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body was not received in time\n",
            )),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(max)),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "reading a request body failed");
                Err(text(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read\n",
                ))
            }
            Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        }
    }

    async fn health(&self) -> Reply {
        let engine = Arc::clone(&self.engine);
        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return unavailable();
        };
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            engine.store().schema_version()
        })
        .await;
        match result {
            Ok(Ok(_)) => text(StatusCode::OK, "ok\n"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "health check: the store does not answer");
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store does not answer\n",
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "health check task failed");
                internal_error()
            }
        }
    }

    fn ca_cert(&self, file: &str) -> Reply {
        let (name, pem) = if let Some(name) = file.strip_suffix(".pem") {
            (name, true)
        } else if let Some(name) = file.strip_suffix(".der") {
            (name, false)
        } else {
            return not_found();
        };
        let Ok(ca) = self.engine.ca(name) else {
            return not_found();
        };
        if !pem {
            return with_header(
                Response::new(Full::new(Bytes::from(ca.certificate_der().to_vec()))),
                header::CONTENT_TYPE,
                "application/pkix-cert",
            );
        }
        let mut out = String::new();
        for der in
            std::iter::once(ca.certificate_der()).chain(ca.chain_der().iter().map(Vec::as_slice))
        {
            match der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der) {
                Ok(block) => out.push_str(&block),
                Err(e) => {
                    tracing::error!(ca = name, error = %e, "PEM-encoding a CA certificate failed");
                    return internal_error();
                }
            }
        }
        with_header(
            Response::new(Full::new(Bytes::from(out))),
            header::CONTENT_TYPE,
            "application/x-pem-file",
        )
    }

    async fn crl(&self, file: &str) -> Reply {
        let Some(name) = file.strip_suffix(".crl") else {
            return not_found();
        };
        if self.engine.ca(name).is_err() {
            return not_found();
        }
        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return unavailable();
        };
        let engine = Arc::clone(&self.engine);
        let ca = name.to_owned();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            engine.current_crl(&ca)
        })
        .await;
        let record = match result {
            Ok(Ok(record)) => record,
            Ok(Err(e)) => {
                tracing::error!(ca = name, error = %e, "producing the CRL failed");
                return internal_error();
            }
            Err(e) => {
                tracing::error!(ca = name, error = %e, "CRL task failed");
                return internal_error();
            }
        };
        let now = unix_now();
        let max_age = record.next_update.0.saturating_sub(now).max(0);
        let mut reply = with_header(
            Response::new(Full::new(Bytes::from(record.der))),
            header::CONTENT_TYPE,
            "application/pkix-crl",
        );
        let headers = reply.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("max-age={max_age}")) {
            headers.insert(header::CACHE_CONTROL, v);
        }
        if let Some(date) = http_date(record.this_update.0) {
            if let Ok(v) = HeaderValue::from_str(&date) {
                headers.insert(header::LAST_MODIFIED, v);
            }
        }
        if let Some(date) = http_date(record.next_update.0) {
            if let Ok(v) = HeaderValue::from_str(&date) {
                headers.insert(header::EXPIRES, v);
            }
        }
        reply
    }
}

impl App {
    /// `/ocsp/{ca}` (POST) and `/ocsp/{ca}/{request}` (GET, HEAD); `rest`
    /// is the path after `/ocsp/`. A body or path that is no OCSP request
    /// is answered by the engine with malformedRequest, as RFC 6960 wants.
    async fn ocsp<B>(&self, rest: &str, req: Request<B>) -> (Reply, Outcome)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let no_outcome = Outcome::default();
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
        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return (unavailable(), no_outcome);
        };
        let engine = Arc::clone(&self.engine);
        let name = ca.to_owned();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            engine.ocsp(&name, &body)
        })
        .await;
        let reply = match result {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                // Only an unknown CA, which was checked above; it could
                // only be removed since, which the engine does not do.
                tracing::warn!(ca, error = %e, "OCSP request refused");
                return (not_found(), no_outcome);
            }
            Err(e) => {
                tracing::error!(ca, error = %e, "OCSP task failed");
                return (internal_error(), no_outcome);
            }
        };
        let outcome = Outcome {
            ocsp: Some(ocsp_summary(&reply)),
            ..Outcome::default()
        };
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
    let mut response = with_header(
        Response::new(Full::new(Bytes::from(reply.der))),
        header::CONTENT_TYPE,
        OCSP_RESPONSE_CONTENT_TYPE,
    );
    if !cacheable {
        return response;
    }
    let headers = response.headers_mut();
    match (reply.produced_at, reply.next_update, reply.nonce) {
        (Some(produced), Some(next), false) => {
            let max_age = next.0.saturating_sub(produced.0).max(0);
            if let Ok(v) = HeaderValue::from_str(&format!(
                "max-age={max_age}, public, no-transform, must-revalidate"
            )) {
                headers.insert(header::CACHE_CONTROL, v);
            }
            for (name, t) in [(header::LAST_MODIFIED, produced), (header::EXPIRES, next)] {
                if let Some(v) = http_date(t.0).and_then(|d| HeaderValue::from_str(&d).ok()) {
                    headers.insert(name, v);
                }
            }
        }
        _ => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    response
}

fn not_cmc_label(e: &NotCmc) -> &'static str {
    match e.http_status() {
        400 => "not-cmc",
        403 => "refused",
        404 => "unknown-ca",
        413 => "too-large",
        _ => "other",
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// An IMF-fixdate (RFC 9110 §5.6.7) for a Unix time, e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`; `None` outside years 1970..=9999.
#[must_use]
pub fn http_date(unix: i64) -> Option<String> {
    // httpdate panics outside this range; the check makes it a `None`.
    const YEAR_10000: u64 = 253_402_300_800;
    let secs = u64::try_from(unix).ok().filter(|s| *s < YEAR_10000)?;
    let time = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))?;
    Some(httpdate::fmt_http_date(time))
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn with_header(mut reply: Reply, name: header::HeaderName, value: &'static str) -> Reply {
    reply
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
    reply
}

/// A plain-text response.
fn text(status: StatusCode, body: &str) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body.to_owned())));
    *reply.status_mut() = status;
    with_header(reply, header::CONTENT_TYPE, "text/plain; charset=utf-8")
}

fn not_found() -> Reply {
    text(StatusCode::NOT_FOUND, "not found\n")
}

fn too_large(max: usize) -> Reply {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is larger than {max} bytes\n"),
    )
}

/// 429 for a source over its limit of unauthenticated failures, with the
/// seconds until it may send again.
fn too_many_failures(wait: Duration) -> Reply {
    let mut reply = text(
        StatusCode::TOO_MANY_REQUESTS,
        "too many CMC requests from this address failed without an authenticated sender; retry later\n",
    );
    reply.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(limit::retry_after_secs(wait)),
    );
    reply
}

fn internal_error() -> Reply {
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
}

fn unavailable() -> Reply {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is not taking requests now\n",
    )
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
    fn http_dates() {
        assert_eq!(http_date(0).unwrap(), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(784_111_777).unwrap(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            http_date(951_782_400).unwrap(),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            http_date(1_798_761_599).unwrap(),
            "Thu, 31 Dec 2026 23:59:59 GMT"
        );
        assert_eq!(
            http_date(253_402_300_799).unwrap(),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(http_date(-1), None);
        assert_eq!(http_date(253_402_300_800), None);
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

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("aé", 2), "a");
    }
}
