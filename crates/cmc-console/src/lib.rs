//! The operator web console of the CMC CA: server-rendered pages over the
//! engine (certificates, one certificate, pending requests, overview),
//! password login on loopback, sessions, CSRF tokens and strict headers.
//!
//! The console speaks no HTTP library: the server hands it a [`Request`]
//! (method, path, query, the few headers it reads, body, whether the peer
//! is on loopback) and sends the [`Response`] back. Every action is an
//! engine function that `cmc-tool` also calls (`approve_pending`,
//! `reject_pending`, `revoke`, `unrevoke`, the records), with the
//! operator's name as the requester, so the engine's audit events say who
//! did it: `console:NAME` for a password operator, `console:cert:NAME` for
//! an agent logged in with its TLS client certificate ([`session::Rights`]
//! says what each may do).
//!
//! Every request's Host header must name the listener's address or a
//! configured name ([`host`]), against DNS rebinding.
//!
//! All methods block (the engine does): call them from a blocking thread.

#![forbid(unsafe_code)]

pub mod activity;
mod certlogin;
mod csv;
pub mod form;
pub mod host;
mod pages;
pub mod password;
pub mod session;

use std::path::PathBuf;

use cmc_ca::Engine;

use crate::form::{Form, cookies};
use crate::session::{Lifetimes, Login, Session, Sessions, random_token, tokens_equal};

/// What can go wrong outside a page.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The system's random number generator failed.
    #[error("the random number generator failed")]
    Rng,
    /// A password or operator name was refused.
    #[error("{0}")]
    Password(String),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
}

/// The Strict-Transport-Security of every answer on a TLS listener.
pub const HSTS: &str = "max-age=31536000";

/// The Content-Security-Policy of every answer: nothing but this origin's
/// own script, style and images; no inline script or style, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// How the console is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The data directory (where `console-passwords` is).
    pub data_dir: PathBuf,
    /// Whether the console's listener is TLS (cookies are then `Secure`
    /// and `__Host-` prefixed, answers carry HSTS, and the login page
    /// offers certificate login).
    pub tls: bool,
    /// Names besides the listener's own address that the Host header may
    /// give (`[console] hosts`, see [`host::refusal`]).
    pub hosts: Vec<String>,
    /// How long sessions last.
    pub lifetimes: Lifetimes,
}

/// One request as the console needs it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The query string, without `?` (empty when none).
    pub query: &'a str,
    /// The Cookie header.
    pub cookie: Option<&'a str>,
    /// The Origin header (browsers send it on POST).
    pub origin: Option<&'a str>,
    /// The Host header.
    pub host: Option<&'a str>,
    /// The body (a form).
    pub body: &'a [u8],
    /// Whether the peer's address is a loopback address.
    pub loopback: bool,
    /// The address the connection came in on (the listener's address, for
    /// the Host check).
    pub local: Option<std::net::SocketAddr>,
    /// The TLS client certificate (DER) the listener verified, if the peer
    /// presented one.
    pub client_cert: Option<&'a [u8]>,
}

/// One answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Headers, besides the security headers every answer carries
    /// ([`Response::security_headers`]).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// An HTML page.
    pub(crate) fn html(status: u16, markup: maud::Markup) -> Self {
        Self {
            status,
            headers: vec![("content-type", "text/html; charset=utf-8".to_owned())],
            body: markup.into_string().into_bytes(),
        }
    }

    /// A redirect (303: the next request is a GET).
    pub(crate) fn see_other(location: &str) -> Self {
        Self {
            status: 303,
            headers: vec![("location", location.to_owned())],
            body: Vec::new(),
        }
    }

    /// A plain text answer.
    pub(crate) fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type", "text/plain; charset=utf-8".to_owned())],
            body: text.as_bytes().to_vec(),
        }
    }

    /// A download.
    pub(crate) fn file(content_type: &str, name: &str, body: Vec<u8>) -> Self {
        Self {
            status: 200,
            headers: vec![
                ("content-type", content_type.to_owned()),
                (
                    "content-disposition",
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            body,
        }
    }

    fn with(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The headers every console answer carries.
    #[must_use]
    pub fn security_headers() -> [(&'static str, &'static str); 5] {
        [
            ("content-security-policy", CSP),
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "same-origin"),
            ("cache-control", "no-store"),
        ]
    }
}

/// The console: its settings and this node's sessions.
#[derive(Debug)]
pub struct Console {
    settings: Settings,
    sessions: Sessions,
    /// Failed logins by operator name: (failures, start of the window).
    failures: std::sync::Mutex<std::collections::HashMap<String, (u32, i64)>>,
    /// This node's issuance and failures per minute (the overview chart).
    activity: Option<std::sync::Arc<dyn activity::Activity>>,
}

/// Failed password logins an operator name may have in
/// [`LOCKOUT_SECS`] before its logins are refused for the rest of that
/// window (the right password included).
pub const MAX_LOGIN_FAILURES: u32 = 5;

/// The window of [`MAX_LOGIN_FAILURES`], in seconds.
pub const LOCKOUT_SECS: i64 = 15 * 60;

/// The static assets, compiled in.
const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// The name of the cookie that carries the login form's token.
const LOGIN_COOKIE: &str = "cmc-console-login";

/// What a page handler knows about who asks.
pub(crate) struct Ctx<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) session: &'a Session,
    pub(crate) activity: Option<&'a dyn activity::Activity>,
}

impl Ctx<'_> {
    /// The requester the engine records: `console:NAME`, or
    /// `console:cert:NAME` for a certificate login.
    pub(crate) fn requester(&self) -> String {
        self.session.requester()
    }
}

impl Console {
    /// A console with no sessions yet.
    #[must_use]
    pub fn new(settings: Settings) -> Self {
        let sessions = Sessions::new(settings.lifetimes);
        Self {
            settings,
            sessions,
            failures: std::sync::Mutex::default(),
            activity: None,
        }
    }

    /// The console with the source of its overview chart (the server's
    /// per-minute counts).
    #[must_use]
    pub fn with_activity(mut self, activity: std::sync::Arc<dyn activity::Activity>) -> Self {
        self.activity = Some(activity);
        self
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn session_cookie_name(&self) -> &'static str {
        if self.settings.tls {
            "__Host-cmc-console"
        } else {
            "cmc-console"
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
        if self.settings.tls {
            c.push_str("; Secure");
        }
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        c
    }

    /// Answers one request.
    #[must_use]
    pub fn handle(&self, engine: &Engine, req: &Request<'_>) -> Response {
        let mut response =
            match host::refusal(req.host, req.local, &self.settings.hosts, self.settings.tls) {
                Some(why) => {
                    tracing::warn!(
                        host = req.host.map(|h| h.chars().take(100).collect::<String>()),
                        why,
                        "console request refused: Host not allowed"
                    );
                    Response::text(421, &format!("misdirected request: {why}\n"))
                }
                None => self.route(engine, req),
            };
        for (name, value) in Response::security_headers() {
            response.headers.push((name, value.to_owned()));
        }
        if self.settings.tls {
            response
                .headers
                .push(("strict-transport-security", HSTS.to_owned()));
        }
        response
    }

    fn route(&self, engine: &Engine, req: &Request<'_>) -> Response {
        let get = req.method == "GET" || req.method == "HEAD";
        let post = req.method == "POST";
        if !get && !post {
            return Response::text(405, "use GET or POST\n").with("allow", "GET, POST".into());
        }
        match (req.path, get) {
            ("/static/console.css", true) => {
                return static_asset("text/css; charset=utf-8", CSS);
            }
            ("/static/console.js", true) => {
                return static_asset("text/javascript; charset=utf-8", JS);
            }
            ("/favicon.ico", true) => return Response::text(404, "no icon\n"),
            ("/login", true) => return self.login_form(req, None, 200),
            ("/login", false) => return self.login(engine, req),
            _ => {}
        }
        if post && !same_origin(req) {
            return Response::text(403, "cross-origin form refused\n");
        }
        let jar = cookies(req.cookie);
        let now = engine.now().secs();
        let found = jar
            .get(self.session_cookie_name())
            .map(|id| (id.clone(), self.sessions.get(id, now)));
        let (id, mut session) = match found {
            Some((id, Some(s))) => (id, s),
            _ if get => return Response::see_other("/login"),
            _ => return Response::text(403, "no session: log in again\n"),
        };
        if let Err(why) = self.still_valid(engine, req, &mut session) {
            self.sessions.remove(&id);
            tracing::warn!(operator = session.operator, why = %why, "console session ended");
            return if get {
                Response::see_other("/login").with(
                    "set-cookie",
                    self.cookie(self.session_cookie_name(), "", Some(0)),
                )
            } else {
                Response::text(403, &format!("session ended: {why}; log in again\n"))
            };
        }
        let form = if post {
            let form = Form::parse(&String::from_utf8_lossy(req.body));
            let ok = form
                .get("csrf")
                .is_some_and(|t| tokens_equal(t, &session.csrf));
            if !ok {
                tracing::warn!(
                    operator = session.operator,
                    path = req.path,
                    "console POST without its CSRF token refused"
                );
                return Response::text(403, "the form's CSRF token is missing or wrong\n");
            }
            form
        } else {
            Form::parse(req.query)
        };
        if post && req.path == "/logout" {
            self.sessions.remove(&id);
            tracing::info!(operator = session.operator, "console logout");
            return Response::see_other("/login").with(
                "set-cookie",
                self.cookie(self.session_cookie_name(), "", Some(0)),
            );
        }
        let ctx = Ctx {
            engine,
            session: &session,
            activity: self.activity.as_deref(),
        };
        pages::route(&ctx, req.path, post, &form)
    }

    fn login_form(&self, req: &Request<'_>, error: Option<&str>, status: u16) -> Response {
        // The browser's login token is kept while it has one: another tab
        // (or a favicon fetch redirected here) must not void the form
        // already shown.
        let kept = cookies(req.cookie)
            .get(LOGIN_COOKIE)
            .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .cloned();
        let Some(token) = kept.or_else(|| random_token().ok()) else {
            return Response::text(500, "the random number generator failed\n");
        };
        let has_password =
            password::any_password(&password::password_file(&self.settings.data_dir));
        let page = pages::login::page(&token, error, req.loopback, has_password, self.settings.tls);
        Response::html(status, page).with("set-cookie", self.cookie(LOGIN_COOKIE, &token, None))
    }

    /// A certificate session lasts while its requests come with the
    /// certificate it logged in with (a stolen cookie alone is nothing)
    /// and that certificate would still log in: every request runs the
    /// login's checks again (disabled, expired, revoked, role, grants), and
    /// its rights are the ones they give now, so a change of role or
    /// grants applies at once.
    fn still_valid(
        &self,
        engine: &Engine,
        req: &Request<'_>,
        session: &mut Session,
    ) -> Result<(), String> {
        let Login::Certificate { cert_der } = &session.login else {
            return Ok(());
        };
        if req.client_cert != Some(cert_der.as_slice()) {
            return Err(
                "the request did not come with the session's client certificate".to_owned(),
            );
        }
        let principal = certlogin::resolve(engine, cert_der).map_err(|r| r.log)?;
        session.rights = principal.rights();
        Ok(())
    }

    fn login(&self, engine: &Engine, req: &Request<'_>) -> Response {
        if !same_origin(req) {
            return Response::text(403, "cross-origin form refused\n");
        }
        let form = Form::parse(&String::from_utf8_lossy(req.body));
        // The login form's token must match its cookie (no login CSRF).
        let jar = cookies(req.cookie);
        let token_ok = match (form.get("login_token"), jar.get(LOGIN_COOKIE)) {
            (Some(f), Some(c)) => tokens_equal(f, c),
            _ => false,
        };
        if !token_ok {
            return Response::text(403, "the login form's token is missing or wrong\n");
        }
        if form.get("method") == Some("certificate") {
            return self.certificate_login(engine, req);
        }
        if !req.loopback {
            tracing::warn!("console password login refused: not from loopback");
            return self.login_form(
                req,
                Some("Password login is allowed from this machine (loopback) only."),
                403,
            );
        }
        let name = form.get("operator").unwrap_or("");
        let now = engine.now().secs();
        if !password::valid_operator_name(name) {
            return self.login_form(req, Some("Wrong operator name or password."), 401);
        }
        // Only a valid name is counted, so the map holds at most the names
        // someone tried within one window.
        let locked = {
            let mut failures = self
                .failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            failures.retain(|_, (_, since)| now - *since < LOCKOUT_SECS);
            failures
                .get(name)
                .is_some_and(|(n, _)| *n >= MAX_LOGIN_FAILURES)
        };
        if locked {
            tracing::warn!(operator = name, "console login refused: too many failures");
            return self.login_form(
                req,
                Some("Too many failed logins for this operator: try again later."),
                429,
            );
        }
        let file = password::password_file(&self.settings.data_dir);
        if !password::verify_password(&file, name, form.raw("password")) {
            tracing::warn!(operator = name, "console login failed");
            self.failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(name.to_owned())
                .or_insert((0, now))
                .0 += 1;
            return self.login_form(req, Some("Wrong operator name or password."), 401);
        }
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
        let Ok(id) = self.sessions.create(name, engine.now().secs()) else {
            return Response::text(500, "the random number generator failed\n");
        };
        tracing::info!(operator = name, "console login");
        Response::see_other("/")
            .with(
                "set-cookie",
                self.cookie(
                    self.session_cookie_name(),
                    &id,
                    Some(self.settings.lifetimes.max_secs),
                ),
            )
            .with("set-cookie", self.cookie(LOGIN_COOKIE, "", Some(0)))
    }
}

impl Console {
    /// Logs in the agent whose TLS client certificate came with `req`.
    fn certificate_login(&self, engine: &Engine, req: &Request<'_>) -> Response {
        if !self.settings.tls {
            return self.login_form(
                req,
                Some("Certificate login needs the console's TLS listener ([console.tls])."),
                400,
            );
        }
        let Some(cert) = req.client_cert else {
            tracing::warn!("console certificate login refused: no client certificate");
            return self.login_form(
                req,
                Some("Your browser sent no client certificate: choose one, or log in with a password."),
                401,
            );
        };
        let agent = match certlogin::resolve(engine, cert) {
            Ok(a) => a,
            Err(refusal) => {
                tracing::warn!(
                    client = refusal.client.as_deref().unwrap_or("-"),
                    why = refusal.log,
                    "console certificate login refused"
                );
                return self.login_form(req, Some(&refusal.page), 403);
            }
        };
        let login = Login::Certificate {
            cert_der: cert.to_vec(),
        };
        let rights = agent.rights();
        let Ok(id) = self
            .sessions
            .create_with(&agent.name, login, rights, engine.now().secs())
        else {
            return Response::text(500, "the random number generator failed\n");
        };
        tracing::info!(
            client = agent.name,
            cas = agent.cas.join(","),
            operator = agent.operator,
            "console login with a client certificate"
        );
        Response::see_other("/")
            .with(
                "set-cookie",
                self.cookie(
                    self.session_cookie_name(),
                    &id,
                    Some(self.settings.lifetimes.max_secs),
                ),
            )
            .with("set-cookie", self.cookie(LOGIN_COOKIE, "", Some(0)))
    }
}

/// A POST must come from the console's own pages: when the browser says
/// where the form came from (Origin), that must be this host. (`Origin:
/// null`, which a `no-referrer` policy makes browsers send, is refused:
/// hence `Referrer-Policy: same-origin`.)
fn same_origin(req: &Request<'_>) -> bool {
    match (req.origin, req.host) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

fn static_asset(content_type: &str, text: &str) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type", content_type.to_owned())],
        body: text.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests;
