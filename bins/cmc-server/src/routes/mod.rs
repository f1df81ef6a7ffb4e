//! Routing and answering one HTTP request (RFC 5273 and the CA's
//! publication points): one file per front door, this one the router.
//!
//! | route | answer | file |
//! | --- | --- | --- |
//! | `POST {base_path}/{ca}`, `POST {default_path}` | the CMC reply (200), or 400/403/404/408/413/415, or 429 while the source is over its limit of unauthenticated failures ([`crate::limit`]) | `cmc.rs` |
//! | `GET /ca/{ca}.pem` | the CA certificate and its chain, PEM | `publish.rs` |
//! | `GET /ca/{ca}.der` | the CA certificate, DER | `publish.rs` |
//! | `GET /crl/{ca}.crl` | the current CRL, DER | `publish.rs` |
//! | `POST /ocsp/{ca}` | OCSP (RFC 6960): `application/ocsp-request` in, `application/ocsp-response` out (200, also for malformedRequest), or 404/405/413/415 | `ocsp.rs` |
//! | `GET /ocsp/{ca}/{request}` | OCSP with the request's DER in base64, URL-encoded (RFC 6960 Appendix A.1); cacheable until nextUpdate when it has no nonce | `ocsp.rs` |
//! | `GET/POST /.well-known/est/[{ca}/]{op}` | EST (RFC 7030): cacerts, csrattrs, simpleenroll, simplereenroll, fullcmc, serverkeygen; 200, 202 with Retry-After while held, or 400/401/403/404/405/409/413/415/501 with a short reason | `est.rs` |
//! | `POST /.well-known/cmp`, `POST /.well-known/cmp/p/{ca}` | CMP (RFC 6712, RFC 9811 paths; RFC 9483): `application/pkixcmp` in and out; ir, cr, p10cr answered with ip/cp, certConf with pkiConf, everything else that is CMP with a signed `error` message (200); 400/404/405/413/415 with a short reason for what is not CMP, 429 while the source is over its limit of unauthenticated failures | `cmp.rs` |
//! | `GET /healthz` | `ok` when the store answers | `health.rs` |
//! | `GET /metrics` | Prometheus text | `health.rs` |
//!
//! The console's listener (`[console]`) has an `App` of its own that sends
//! every request to the operator console (`console.rs`).
//!
//! Every route that calls the engine does so through `blocking.rs`: on the
//! blocking pool, under one of `[server].max_concurrency` permits. Bad
//! input never gets a 500: only a failure on the CA's side does, with a
//! generic text (the detail goes to the log).

mod blocking;
mod body;
pub mod cmc;
mod cmp;
mod console;
mod est;
mod health;
pub mod ocsp;
mod publish;
mod reply;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cmc_ca::Engine;
use cmc_ca::config::CmpSettings;
use http_body_util::Full;
use hyper::body::{Body, Bytes};
use hyper::header;
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::Semaphore;

use crate::limit::{self, FailureLimiter};
use crate::metrics::{Metrics, Route};
pub use reply::http_date;
use reply::{not_found, text, with_header};

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
    /// `[server].est_require_channel_binding`.
    pub est_require_channel_binding: bool,
}

impl Settings {
    /// The route settings of a configuration file.
    #[must_use]
    pub fn from_config(config: &crate::config::Config) -> Self {
        let s = &config.server;
        Self {
            base_path: s.base_path.trim_end_matches('/').to_owned(),
            default_path: s
                .default_path
                .as_ref()
                .map(|p| p.trim_end_matches('/').to_owned()),
            default_ca: config.engine.default_ca.clone(),
            max_body_bytes: s.max_body_bytes,
            read_timeout: Duration::from_secs(s.read_timeout_secs),
            unauthenticated_failures_per_minute: s.unauthenticated_failures_per_minute,
            est_require_channel_binding: s.est_require_channel_binding,
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
    cmp: Arc<proto_cmp::CmpDoor>,
    /// `[ca.NAME.cmp] paths`: more paths of a CA's CMP door, without their
    /// leading and trailing slashes, to the CA's name.
    cmp_paths: std::collections::HashMap<String, String>,
    /// The operator console: on the console's listener, every request
    /// goes there.
    console: Option<Arc<cmc_console::Console>>,
}

/// Facts about the connection a request came on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnInfo {
    /// The peer's address.
    pub peer: Option<SocketAddr>,
    /// The address the connection came in on (this listener's address).
    pub local: Option<SocketAddr>,
    /// The verified TLS client certificate (DER), if one was presented.
    pub tls_client_cert: Option<Vec<u8>>,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The connection's channel binding (RFC 9266 tls-exporter), for
    /// EST's CSR link (RFC 7030 §3.5).
    pub channel_binding: Option<Vec<u8>>,
}

/// What the log line records about a CMC, OCSP or EST exchange.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Summary {
    cmc: Option<String>,
    ocsp: Option<String>,
    est: Option<String>,
    cmp: Option<String>,
}

impl Summary {
    fn cmc(summary: impl Into<String>) -> Self {
        Self {
            cmc: Some(summary.into()),
            ..Self::default()
        }
    }

    fn ocsp(summary: String) -> Self {
        Self {
            ocsp: Some(summary),
            ..Self::default()
        }
    }

    fn est(summary: impl Into<String>) -> Self {
        Self {
            est: Some(summary.into()),
            ..Self::default()
        }
    }

    fn cmp(summary: impl Into<String>) -> Self {
        Self {
            cmp: Some(summary.into()),
            ..Self::default()
        }
    }
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
        let cmp_paths = engine
            .config()
            .cas
            .iter()
            .flat_map(|(ca, s)| s.cmp.iter().flat_map(|c| &c.paths).map(move |p| (p, ca)))
            .map(|(path, ca)| (CmpSettings::normalize(path).to_owned(), ca.clone()))
            .collect();
        Self {
            engine,
            settings,
            metrics,
            permits: Arc::new(Semaphore::new(max_concurrency)),
            limiter,
            cmp: Arc::new(proto_cmp::CmpDoor::new()),
            cmp_paths,
            console: None,
        }
    }

    /// The handler state of the console's listener: every request goes to
    /// `console`, with the engine and the concurrency permits of `self`.
    #[must_use]
    pub fn console_app(&self, console: cmc_console::Console) -> Self {
        Self {
            engine: Arc::clone(&self.engine),
            settings: self.settings.clone(),
            metrics: Arc::clone(&self.metrics),
            permits: Arc::clone(&self.permits),
            limiter: FailureLimiter::new(0, 1),
            cmp: Arc::clone(&self.cmp),
            cmp_paths: std::collections::HashMap::new(),
            console: Some(Arc::new(console)),
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
            est = outcome.est.as_deref().unwrap_or("-"),
            cmp = outcome.cmp.as_deref().unwrap_or("-"),
            peer = %conn.peer.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            "request"
        );
        Ok(reply)
    }

    /// Picks the route of a request and answers it.
    async fn route<B>(&self, conn: &ConnInfo, req: Request<B>) -> (Route, Reply, Summary)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let path = req.uri().path().to_owned();
        if let Some(console) = &self.console {
            let reply = self.console(Arc::clone(console), conn, req).await;
            return (Route::Console, reply, Summary::default());
        }
        if let Some(ca) = self.cmc_target(&path) {
            if req.method() != Method::POST {
                let reply = with_header(
                    text(StatusCode::METHOD_NOT_ALLOWED, "CMC requests are POSTed\n"),
                    header::ALLOW,
                    "POST",
                );
                return (Route::Cmc, reply, Summary::default());
            }
            let (reply, outcome) = self.cmc(ca, conn, req).await;
            return (Route::Cmc, reply, outcome);
        }
        if path.starts_with(proto_est::PREFIX) {
            let (reply, outcome) = self.est(conn, req).await;
            return (Route::Est, reply, outcome);
        }
        if let Some(rest) = cmp::target(&path) {
            let rest = rest.map(str::to_owned);
            let (reply, outcome) = self.cmp(conn, rest, req).await;
            return (Route::Cmp, reply, outcome);
        }
        if let Some(ca) = self.cmp_paths.get(CmpSettings::normalize(&path)) {
            let (reply, outcome) = self.cmp(conn, Some(ca.clone()), req).await;
            return (Route::Cmp, reply, outcome);
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
            _ => return (Route::Other, not_found(), Summary::default()),
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let reply = with_header(
                text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n"),
                header::ALLOW,
                "GET, HEAD",
            );
            return (route, reply, Summary::default());
        }
        let reply = match route {
            Route::Health => self.health().await,
            Route::Metrics => self.metrics_text(),
            Route::CaCert => self.ca_cert(&path["/ca/".len()..]),
            Route::Crl => self.crl(&path["/crl/".len()..]).await,
            Route::Cmc | Route::Ocsp | Route::Est | Route::Cmp | Route::Console | Route::Other => {
                not_found()
            }
        };
        let reply = if req.method() == Method::HEAD {
            let (parts, _) = reply.into_parts();
            Response::from_parts(parts, Full::new(Bytes::new()))
        } else {
            reply
        };
        (route, reply, Summary::default())
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("aé", 2), "a");
    }
}
