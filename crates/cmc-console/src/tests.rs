//! The console over a real engine (the embedded setup in a temporary
//! directory): sessions, CSRF, headers and the revocation flow.

use std::sync::Arc;

use cmc_ca::types::{CertFilter, CertStatus};
use cmc_ca::{Engine, EngineConfig, ManualClock, UnixTime};

use super::*;

mod search;

struct Fixture {
    _tmp: tempfile::TempDir,
    engine: Engine,
    clock: Arc<ManualClock>,
    console: Console,
}

const PASSWORD: &str = "correct horse battery";

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    cmc_ca::ensure_data_dir(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("cmc.db").display());
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .try_into()
            .unwrap(),
    )));
    let engine = Engine::open(&url, clock.clone(), EngineConfig::default()).unwrap();
    engine.ensure_embedded(&dir, "root").unwrap();
    password::set_password(&password::password_file(&dir), "admin", PASSWORD).unwrap();
    let console = Console::new(Settings {
        data_dir: dir,
        tls: false,
        hosts: Vec::new(),
        lifetimes: Lifetimes::default(),
    });
    Fixture {
        _tmp: tmp,
        engine,
        clock,
        console,
    }
}

fn req<'a>(method: &'a str, path: &'a str, cookie: Option<&'a str>, body: &'a [u8]) -> Request<'a> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    Request {
        method,
        path,
        query,
        cookie,
        origin: None,
        host: Some("127.0.0.1:8444"),
        body,
        loopback: true,
        local: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 8444))),
        client_cert: None,
    }
}

fn header<'a>(r: &'a Response, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn body(r: &Response) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

/// The value of `name="FIELD" value="..."` in a page.
fn field(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap();
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

impl Fixture {
    /// Logs in; returns the Cookie header and the session's CSRF token.
    fn login(&self) -> (String, String) {
        let form = self
            .console
            .handle(&self.engine, &req("GET", "/login", None, b""));
        assert_eq!(form.status, 200);
        let token = field(&body(&form), "login_token");
        let cookie = format!("cmc-console-login={token}");
        let post = format!("login_token={token}&operator=admin&password=correct+horse+battery");
        let r = self.console.handle(
            &self.engine,
            &req("POST", "/login", Some(&cookie), post.as_bytes()),
        );
        assert_eq!(r.status, 303, "{}", body(&r));
        assert_eq!(header(&r, "location"), ["/"]);
        let set = header(&r, "set-cookie")[0];
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        assert!(!set.contains("Secure"), "no TLS here");
        let session = set.split(';').next().unwrap().to_owned();
        let page = self
            .console
            .handle(&self.engine, &req("GET", "/", Some(&session), b""));
        assert_eq!(page.status, 200);
        let csrf = field(&body(&page), "csrf");
        (session, csrf)
    }

    fn bootstrap_serial(&self) -> String {
        let certs = self
            .engine
            .records()
            .certificates(&CertFilter {
                status: Some(CertStatus::Issued),
                ..CertFilter::default()
            })
            .unwrap();
        certs[0].serial.to_hex()
    }
}

#[test]
fn every_answer_carries_the_security_headers() {
    let f = fixture();
    for path in ["/login", "/", "/static/console.css", "/nowhere"] {
        let r = f.console.handle(&f.engine, &req("GET", path, None, b""));
        assert_eq!(header(&r, "content-security-policy"), [CSP], "{path}");
        assert!(!CSP.contains("unsafe-inline"));
        assert_eq!(header(&r, "x-frame-options"), ["DENY"]);
        assert_eq!(header(&r, "x-content-type-options"), ["nosniff"]);
    }
    let page = body(
        &f.console
            .handle(&f.engine, &req("GET", "/login", None, b"")),
    );
    assert!(
        !page.contains("<script>") && !page.contains("style="),
        "no inline script or style"
    );
}

#[test]
fn pages_without_a_session_redirect_and_posts_are_refused() {
    let f = fixture();
    for path in ["/", "/certs", "/pending", "/certs.csv"] {
        let r = f.console.handle(&f.engine, &req("GET", path, None, b""));
        assert_eq!(
            (r.status, header(&r, "location")),
            (303, vec!["/login"]),
            "{path}"
        );
        let r = f.console.handle(
            &f.engine,
            &req("GET", path, Some("cmc-console=forged"), b""),
        );
        assert_eq!(r.status, 303, "a made-up session id is no session");
    }
    let r = f.console.handle(
        &f.engine,
        &req("POST", "/pending/x/reject", None, b"reason=x"),
    );
    assert_eq!(r.status, 403);
    let r = f.console.handle(&f.engine, &req("DELETE", "/", None, b""));
    assert_eq!(r.status, 405);
}

#[test]
fn login_needs_the_form_token_loopback_and_the_password() {
    let f = fixture();
    let form = f
        .console
        .handle(&f.engine, &req("GET", "/login", None, b""));
    let token = field(&body(&form), "login_token");
    let cookie = format!("cmc-console-login={token}");
    let good = format!("login_token={token}&operator=admin&password=correct+horse+battery");
    // Without the cookie, or with another token: login CSRF refused.
    let r = f
        .console
        .handle(&f.engine, &req("POST", "/login", None, good.as_bytes()));
    assert_eq!(r.status, 403);
    let other = good.replace(&token, &"0".repeat(64));
    let r = f.console.handle(
        &f.engine,
        &req("POST", "/login", Some(&cookie), other.as_bytes()),
    );
    assert_eq!(r.status, 403);
    // Wrong password, unknown operator.
    let wrong = good.replace("battery", "batterY");
    let r = f.console.handle(
        &f.engine,
        &req("POST", "/login", Some(&cookie), wrong.as_bytes()),
    );
    assert_eq!(r.status, 401);
    assert!(
        header(&r, "set-cookie")
            .iter()
            .all(|c| !c.starts_with("cmc-console="))
    );
    let r = f.console.handle(
        &f.engine,
        &req(
            "POST",
            "/login",
            Some(&cookie),
            good.replace("admin", "root").as_bytes(),
        ),
    );
    assert_eq!(r.status, 401);
    // Not from loopback: refused even with the right password.
    let mut remote = req("POST", "/login", Some(&cookie), good.as_bytes());
    remote.loopback = false;
    assert_eq!(f.console.handle(&f.engine, &remote).status, 403);
    // From another origin: refused.
    let mut cross = req("POST", "/login", Some(&cookie), good.as_bytes());
    cross.origin = Some("http://evil.example");
    assert_eq!(f.console.handle(&f.engine, &cross).status, 403);
    f.login();
}

#[test]
fn posts_need_the_sessions_csrf_token() {
    let f = fixture();
    let (session, csrf) = f.login();
    let serial = f.bootstrap_serial();
    let path = format!("/certs/root/{serial}/revoke");
    for body in [
        "reason=1&confirm=yes".to_owned(),
        format!("reason=1&confirm=yes&csrf={}", "0".repeat(64)),
        format!("reason=1&confirm=yes&csrf={}", &csrf[..63]),
    ] {
        let r = f.console.handle(
            &f.engine,
            &req("POST", &path, Some(&session), body.as_bytes()),
        );
        assert_eq!(r.status, 403, "{body}");
    }
    // Another origin with the right token: refused too.
    let good = format!("reason=1&confirm=yes&csrf={csrf}");
    let mut cross = req("POST", &path, Some(&session), good.as_bytes());
    cross.origin = Some("http://evil.example");
    assert_eq!(f.console.handle(&f.engine, &cross).status, 403);
    let rec = f
        .engine
        .records()
        .certificate("root", &pages::certs::parse_serial(&serial).unwrap());
    assert!(
        rec.unwrap().unwrap().revocation().is_none(),
        "nothing was revoked"
    );
}

#[test]
fn revoke_needs_confirmation_then_holds_and_lifts() {
    let f = fixture();
    let (session, csrf) = f.login();
    let serial = f.bootstrap_serial();
    let base = format!("/certs/root/{serial}");
    let page = f
        .console
        .handle(&f.engine, &req("GET", &base, Some(&session), b""));
    assert!(body(&page).contains("Revoke certificate"));
    let post = |what: &str, b: String| {
        f.console.handle(
            &f.engine,
            &req(
                "POST",
                &format!("{base}/{what}"),
                Some(&session),
                b.as_bytes(),
            ),
        )
    };
    let r = post("revoke", format!("reason=6&csrf={csrf}"));
    assert_eq!(r.status, 400, "no confirmation");
    let r = post("revoke", format!("reason=7&confirm=yes&csrf={csrf}"));
    assert_eq!(r.status, 400, "7 is no reason");
    let r = post("revoke", format!("reason=6&confirm=yes&csrf={csrf}"));
    assert_eq!(r.status, 303, "{}", body(&r));
    let s = pages::certs::parse_serial(&serial).unwrap();
    let rec = f.engine.records().certificate("root", &s).unwrap().unwrap();
    assert_eq!(
        rec.revocation().unwrap().reason,
        cmc_ca::RevocationReason::CertificateHold
    );
    let page = body(
        &f.console
            .handle(&f.engine, &req("GET", &base, Some(&session), b"")),
    );
    assert!(
        page.contains("on hold") && page.contains("Lift the hold"),
        "{page}"
    );
    let r = post("unhold", format!("csrf={csrf}"));
    assert_eq!(r.status, 303);
    let rec = f.engine.records().certificate("root", &s).unwrap().unwrap();
    assert!(rec.revocation().is_none());
    // Downloads and the CSV.
    let pem = f.console.handle(
        &f.engine,
        &req("GET", &format!("{base}.pem"), Some(&session), b""),
    );
    assert!(body(&pem).starts_with("-----BEGIN CERTIFICATE-----"));
    let der = f.console.handle(
        &f.engine,
        &req("GET", &format!("{base}.der"), Some(&session), b""),
    );
    assert_eq!(der.body, rec.certificate().unwrap().cert_der);
    let csv = body(&f.console.handle(
        &f.engine,
        &req("GET", "/certs.csv?q=bootstrap", Some(&session), b""),
    ));
    assert!(csv.starts_with("ca,serial,status"), "{csv}");
    assert!(csv.contains(&serial), "{csv}");
    let none = body(&f.console.handle(
        &f.engine,
        &req("GET", "/certs?q=no-such-name", Some(&session), b""),
    ));
    assert!(none.contains("0 certificate(s)"), "{none}");
    let bad = f.console.handle(
        &f.engine,
        &req("GET", "/certs/root/zz", Some(&session), b""),
    );
    assert_eq!(bad.status, 404);
}

#[test]
fn sessions_end_at_logout_and_when_idle() {
    let f = fixture();
    let (session, csrf) = f.login();
    f.clock.advance(31 * 60);
    let r = f
        .console
        .handle(&f.engine, &req("GET", "/", Some(&session), b""));
    assert_eq!(r.status, 303, "idle for 31 minutes");
    let (session, csrf2) = f.login();
    assert_ne!(csrf, csrf2, "a new session, a new token");
    let r = f.console.handle(
        &f.engine,
        &req(
            "POST",
            "/logout",
            Some(&session),
            format!("csrf={csrf2}").as_bytes(),
        ),
    );
    assert_eq!(r.status, 303);
    assert!(header(&r, "set-cookie")[0].contains("Max-Age=0"));
    let r = f
        .console
        .handle(&f.engine, &req("GET", "/", Some(&session), b""));
    assert_eq!(r.status, 303);
}

#[test]
fn tls_cookies_are_secure_and_host_prefixed() {
    let mut f = fixture();
    f.console.settings.tls = true;
    let form = f
        .console
        .handle(&f.engine, &req("GET", "/login", None, b""));
    let token = field(&body(&form), "login_token");
    let cookie = format!("cmc-console-login={token}");
    let post = format!("login_token={token}&operator=admin&password=correct+horse+battery");
    let r = f.console.handle(
        &f.engine,
        &req("POST", "/login", Some(&cookie), post.as_bytes()),
    );
    let set = header(&r, "set-cookie")[0];
    assert!(
        set.starts_with("__Host-cmc-console=") && set.contains("; Secure"),
        "{set}"
    );
}

#[test]
fn every_page_renders_with_labelled_controls() {
    let f = fixture();
    let (session, _) = f.login();
    let serial = f.bootstrap_serial();
    let mut labelled = 0;
    for path in [
        "/".to_owned(),
        "/certs".to_owned(),
        "/certs?status=issued&ca=root&page=9".to_owned(),
        "/pending".to_owned(),
        "/pending?state=all".to_owned(),
        format!("/certs/root/{serial}"),
        "/audit".to_owned(),
    ] {
        let r = f
            .console
            .handle(&f.engine, &req("GET", &path, Some(&session), b""));
        assert_eq!(r.status, 200, "{path}");
        let page = body(&r);
        assert!(page.contains("<main id=\"main\""), "{path}");
        // Every visible control has a label naming its id.
        for id in page
            .split(" id=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
        {
            let is_control = ["<input", "<select", "<textarea"].iter().any(|t| {
                page.split(*t)
                    .skip(1)
                    .any(|c| c[..c.find('>').unwrap()].contains(&format!("id=\"{id}\"")))
            });
            if is_control {
                assert!(
                    page.contains(&format!("for=\"{id}\"")),
                    "{path}: #{id} has no label"
                );
                labelled += 1;
            }
        }
    }
    // The search's 13 fields twice (q, subject, san, serial, requester,
    // ca, status, six dates); state twice; reason and confirm; the audit
    // log's 7.
    assert_eq!(labelled, 37);
    let overview = body(
        &f.console
            .handle(&f.engine, &req("GET", "/", Some(&session), b"")),
    );
    assert!(overview.contains("CN=cmc-ca embedded root"), "{overview}");
    assert!(overview.contains("file (encrypted PKCS#8)"), "{overview}");
    let missing = f
        .console
        .handle(&f.engine, &req("GET", "/pending/nope", Some(&session), b""));
    assert_eq!(missing.status, 404);
    // Text from the store is escaped, never markup.
    let search = body(&f.console.handle(
        &f.engine,
        &req("GET", "/certs?q=%3Cscript%3Ex", Some(&session), b""),
    ));
    assert!(search.contains("&lt;script&gt;x") && !search.contains("<script>x"));
}

#[test]
fn clients_are_listed_and_disabled_with_the_token() {
    let f = fixture();
    let (session, csrf) = f.login();
    let page = body(
        &f.console
            .handle(&f.engine, &req("GET", "/clients", Some(&session), b"")),
    );
    assert!(
        page.contains("bootstrap-ra") && page.contains("active"),
        "{page}"
    );
    let overview = body(
        &f.console
            .handle(&f.engine, &req("GET", "/", Some(&session), b"")),
    );
    assert!(overview.contains("number 1,"), "the CRL status: {overview}");
    let path = "/clients/bootstrap-ra/disable";
    let r = f
        .console
        .handle(&f.engine, &req("POST", path, Some(&session), b""));
    assert_eq!(r.status, 403);
    assert!(
        f.engine
            .records()
            .client("bootstrap-ra")
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none()
    );
    let token = format!("csrf={csrf}");
    let r = f.console.handle(
        &f.engine,
        &req("POST", path, Some(&session), token.as_bytes()),
    );
    assert_eq!(r.status, 303, "{}", body(&r));
    assert!(
        f.engine
            .records()
            .client("bootstrap-ra")
            .unwrap()
            .unwrap()
            .disabled_at
            .is_some()
    );
    let r = f.console.handle(
        &f.engine,
        &req("POST", path, Some(&session), token.as_bytes()),
    );
    assert_eq!(r.status, 400);
    assert!(body(&r).contains("already disabled"));
    let r = f.console.handle(
        &f.engine,
        &req(
            "POST",
            "/clients/nobody/disable",
            Some(&session),
            token.as_bytes(),
        ),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn secrets_are_listed_and_unlocking_needs_the_token() {
    let f = fixture();
    let (session, csrf) = f.login();
    let page = body(
        &f.console
            .handle(&f.engine, &req("GET", "/secrets", Some(&session), b"")),
    );
    assert!(page.contains("No secrets."), "{page}");
    let r = f.console.handle(
        &f.engine,
        &req(
            "POST",
            "/secrets/unlock",
            Some(&session),
            b"ca=root&identification=dev",
        ),
    );
    assert_eq!(r.status, 403);
    let form = format!("ca=root&identification=dev&csrf={csrf}");
    let r = f.console.handle(
        &f.engine,
        &req("POST", "/secrets/unlock", Some(&session), form.as_bytes()),
    );
    assert_eq!(r.status, 400, "an unknown secret");
    assert!(body(&r).contains("Not unlocked"));
    let r = f.console.handle(
        &f.engine,
        &req(
            "POST",
            "/secrets/unlock",
            Some(&session),
            format!("csrf={csrf}").as_bytes(),
        ),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn repeated_failures_lock_an_operator_for_a_while() {
    let f = fixture();
    let form = f
        .console
        .handle(&f.engine, &req("GET", "/login", None, b""));
    let token = field(&body(&form), "login_token");
    let cookie = format!("cmc-console-login={token}");
    let wrong = format!("login_token={token}&operator=admin&password=wrong+password+here");
    for _ in 0..MAX_LOGIN_FAILURES {
        let r = f.console.handle(
            &f.engine,
            &req("POST", "/login", Some(&cookie), wrong.as_bytes()),
        );
        assert_eq!(r.status, 401);
    }
    let good = format!("login_token={token}&operator=admin&password=correct+horse+battery");
    let r = f.console.handle(
        &f.engine,
        &req("POST", "/login", Some(&cookie), good.as_bytes()),
    );
    assert_eq!(r.status, 429, "locked, even with the right password");
    f.clock.advance(LOCKOUT_SECS);
    f.login();
}

mod admin;
mod status;
mod tls;
