//! The console on a TLS listener: the Host allow-list, HSTS, login with a
//! client certificate, and what an agent may not do.

use cmc_ca::types::{ClientRole, Grant, Scope};
use cmc_ca::{CaKey, ClientCredentialRequest, NewCa, RA_CLIENT_ID, RevocationReason};
use der::Decode as _;
use x509_cert::Certificate;

use super::*;

/// A second CA (self-signed, on the root's key: only its name matters here).
const OTHER: &str = "other";

fn tls_fixture() -> Fixture {
    let mut f = fixture();
    f.console.settings.tls = true;
    let root = f.engine.ca("root").unwrap();
    f.engine
        .create_ca(&NewCa {
            name: OTHER.into(),
            subject: "CN=cmc-console test other CA".into(),
            validity_days: 365,
            key: CaKey::Existing(root.key_config().clone()),
            path_len: None,
            issuer: None,
            requester: "test".into(),
        })
        .unwrap();
    f
}

impl Fixture {
    /// Issues and registers a client credential; returns its DER.
    fn client(&self, id: &str, role: ClientRole, ca: &str, grant: &str) -> Vec<u8> {
        let root = self.engine.ca("root").unwrap();
        let spki = Certificate::from_der(root.certificate_der())
            .unwrap()
            .tbs_certificate()
            .subject_public_key_info()
            .clone();
        self.engine
            .issue_client_credential(&ClientCredentialRequest {
                ca: ca.into(),
                client_id: id.into(),
                subject: format!("CN={id},O=console tests"),
                public_key: spki,
                role,
                grants: vec![Grant {
                    ca: Scope::Named(grant.into()),
                    profile: Scope::Any,
                }],
                validity_days: 30,
                requester: "test".into(),
                names: None,
                mac: None,
            })
            .unwrap()
            .certificate_der
    }

    /// Posts the certificate login with `cert`.
    fn cert_login(&self, cert: Option<&[u8]>) -> Response {
        let form = self
            .console
            .handle(&self.engine, &req("GET", "/login", None, b""));
        assert_eq!(form.status, 200);
        let page = body(&form);
        assert!(page.contains("Log in with your certificate"), "{page}");
        let token = field(&page, "login_token");
        let cookie = format!("cmc-console-login={token}");
        let post = format!("login_token={token}&method=certificate");
        let mut r = req("POST", "/login", Some(&cookie), post.as_bytes());
        r.client_cert = cert;
        r.loopback = false;
        self.console.handle(&self.engine, &r)
    }

    /// Logs in with `cert`; returns the session cookie and CSRF token.
    fn agent_session(&self, cert: &[u8]) -> (String, String) {
        let r = self.cert_login(Some(cert));
        assert_eq!(r.status, 303, "{}", body(&r));
        let set = header(&r, "set-cookie")[0];
        for part in [
            "__Host-cmc-console=",
            "; Path=/",
            "; HttpOnly",
            "; SameSite=Strict",
            "; Secure",
        ] {
            assert!(set.contains(part), "{part} in {set}");
        }
        let session = set.split(';').next().unwrap().to_owned();
        let page = self.get(&session, "/", Some(cert));
        assert_eq!(page.status, 200, "{}", body(&page));
        (session, field(&body(&page), "csrf"))
    }

    fn get(&self, session: &str, path: &str, cert: Option<&[u8]>) -> Response {
        let mut r = req("GET", path, Some(session), b"");
        r.client_cert = cert;
        self.console.handle(&self.engine, &r)
    }

    fn post(&self, session: &str, path: &str, body: &str, cert: Option<&[u8]>) -> Response {
        let mut r = req("POST", path, Some(session), body.as_bytes());
        r.client_cert = cert;
        self.console.handle(&self.engine, &r)
    }
}

fn serial_of(der: &[u8]) -> String {
    let cert = Certificate::from_der(der).unwrap();
    let bytes = cert.tbs_certificate().serial_number().as_bytes().to_vec();
    cmc_ca::Serial::from_be_bytes(&bytes).unwrap().to_hex()
}

#[test]
fn wrong_hosts_are_refused_before_anything_else() {
    let f = tls_fixture();
    for (host, local) in [
        (Some("attacker.example:8444"), Some("127.0.0.1:8444")),
        (Some("127.0.0.1:9999"), Some("127.0.0.1:8444")),
        (None, Some("127.0.0.1:8444")),
        (Some("127.0.0.1:8444"), None),
    ] {
        for path in ["/login", "/", "/static/console.css"] {
            let mut r = req("GET", path, None, b"");
            r.host = host;
            r.local = local.map(|l| l.parse().unwrap());
            let answer = f.console.handle(&f.engine, &r);
            assert_eq!(answer.status, 421, "{host:?} {path}");
            assert!(body(&answer).starts_with("misdirected request: "));
            assert!(!header(&answer, "set-cookie").iter().any(|c| !c.is_empty()));
        }
    }
    // A configured name is answered.
    let mut f = f;
    f.console.settings.hosts = vec!["ca.example.org".into()];
    let mut r = req("GET", "/login", None, b"");
    r.host = Some("ca.example.org:8444");
    assert_eq!(f.console.handle(&f.engine, &r).status, 200);
    r.host = Some("localhost:8444");
    assert_eq!(f.console.handle(&f.engine, &r).status, 200);
}

#[test]
fn tls_answers_carry_hsts_and_plain_ones_do_not() {
    let f = tls_fixture();
    let r = f
        .console
        .handle(&f.engine, &req("GET", "/login", None, b""));
    assert_eq!(header(&r, "strict-transport-security"), [HSTS]);
    let plain = fixture();
    let r = plain
        .console
        .handle(&plain.engine, &req("GET", "/login", None, b""));
    assert!(header(&r, "strict-transport-security").is_empty());
    assert!(
        !body(&r).contains("Log in with your certificate"),
        "no certificate login without TLS"
    );
}

#[test]
fn an_agent_acts_only_on_its_cas_and_does_not_administer() {
    let f = tls_fixture();
    let agent = f.client("agent1", ClientRole::Agent, "root", "root");
    let own = f.client("leaf-root", ClientRole::Client, "root", "root");
    let foreign = f.client("leaf-other", ClientRole::Client, OTHER, OTHER);
    let (own_serial, foreign_serial) = (serial_of(&own), serial_of(&foreign));
    let cert = Some(agent.as_slice());
    let (session, csrf) = f.agent_session(&agent);
    let page = body(&f.get(&session, "/", cert));
    assert!(
        page.contains("Signed in as <strong>agent1</strong>"),
        "{page}"
    );
    // The overview lists its CA only; an operator's lists both.
    assert!(page.contains("/certs?ca=root") && !page.contains(&format!("/certs?ca={OTHER}")));
    let id = f
        .console
        .sessions
        .create("admin", f.engine.now().secs())
        .unwrap();
    let operator = format!("__Host-cmc-console={id}");
    let all = body(&f.get(&operator, "/", None));
    assert!(all.contains(&format!("/certs?ca={OTHER}")), "{all}");

    // The list shows its CA's certificates only, and offers only its CA.
    let list = body(&f.get(&session, "/certs", cert));
    assert!(list.contains(&own_serial), "{list}");
    assert!(!list.contains(&foreign_serial), "{list}");
    assert!(
        !list.contains(&format!("<option value=\"{OTHER}\"")),
        "{list}"
    );
    let csv = body(&f.get(&session, &format!("/certs.csv?ca={OTHER}"), cert));
    assert!(!csv.contains(&foreign_serial), "{csv}");

    // Another CA's certificate: not shown, not revoked, not downloaded.
    let r = f.get(&session, &format!("/certs/{OTHER}/{foreign_serial}"), cert);
    assert_eq!(r.status, 403, "{}", body(&r));
    let r = f.get(
        &session,
        &format!("/certs/{OTHER}/{foreign_serial}.pem"),
        cert,
    );
    assert_eq!(r.status, 403);
    let revoke = format!("csrf={csrf}&reason=1&confirm=yes");
    for action in ["revoke", "unhold"] {
        let r = f.post(
            &session,
            &format!("/certs/{OTHER}/{foreign_serial}/{action}"),
            &revoke,
            cert,
        );
        assert_eq!(r.status, 403, "{action}: {}", body(&r));
    }
    let serial = pages::certs::parse_serial(&foreign_serial).unwrap();
    let record = f
        .engine
        .records()
        .certificate(OTHER, &serial)
        .unwrap()
        .unwrap();
    assert!(record.revocation().is_none(), "still valid");

    // Its own CA's certificate: revoked, with the certificate requester.
    let r = f.post(
        &session,
        &format!("/certs/root/{own_serial}/revoke"),
        &revoke,
        cert,
    );
    assert_eq!(r.status, 303, "{}", body(&r));
    let serial = pages::certs::parse_serial(&own_serial).unwrap();
    let record = f
        .engine
        .records()
        .certificate("root", &serial)
        .unwrap()
        .unwrap();
    assert_eq!(
        record.revocation().unwrap().reason,
        RevocationReason::KeyCompromise
    );

    // No administration: clients and secrets stay as they are.
    let r = f.post(
        &session,
        "/clients/leaf-other/disable",
        &format!("csrf={csrf}"),
        cert,
    );
    assert_eq!(r.status, 403, "{}", body(&r));
    assert!(body(&r).contains("Only operators"));
    let c = f.engine.records().client("leaf-other").unwrap().unwrap();
    assert!(c.disabled_at.is_none());
    let r = f.post(
        &session,
        "/secrets/unlock",
        &format!("csrf={csrf}&ca=root&identification=x"),
        cert,
    );
    assert_eq!(r.status, 403);
    // Pending requests of another CA are refused the same way.
    let r = f.post(
        &session,
        "/pending/none/approve",
        &format!("csrf={csrf}"),
        cert,
    );
    assert_eq!(r.status, 404, "an unknown request is still not found");
}

#[test]
fn a_certificate_session_needs_its_certificate_and_an_active_agent() {
    let f = tls_fixture();
    let agent = f.client("agent1", ClientRole::Agent, "root", "root");
    let other_agent = f.client("agent2", ClientRole::Agent, "root", "root");
    // The cookie alone, or with another agent's certificate, is nothing.
    for cert in [None, Some(other_agent.as_slice())] {
        let (session, _) = f.agent_session(&agent);
        let r = f.get(&session, "/certs", cert);
        assert_eq!(header(&r, "location"), ["/login"]);
        let r = f.get(&session, "/certs", Some(&agent));
        assert_eq!(r.status, 303, "the session was ended");
    }
    // Disabled while logged in: the session ends at the next request.
    let (session, _) = f.agent_session(&agent);
    f.engine
        .records()
        .disable_client("agent1", "test", f.engine.now())
        .unwrap();
    let r = f.get(&session, "/", Some(&agent));
    assert_eq!(header(&r, "location"), ["/login"]);
}

#[test]
fn only_active_agents_with_a_grant_log_in_with_a_certificate() {
    let f = tls_fixture();
    let refused = |cert: Option<&[u8]>, status: u16, text: &str| {
        let r = f.cert_login(cert);
        let page = body(&r);
        assert_eq!(r.status, status, "{page}");
        assert!(page.contains(text), "{text} in {page}");
        assert!(
            !header(&r, "set-cookie")
                .iter()
                .any(|c| c.starts_with("__Host-cmc-console=")),
            "no session"
        );
    };
    refused(None, 401, "sent no client certificate");
    // The bootstrap RA, and an end-entity client.
    let ra = f.engine.records().client(RA_CLIENT_ID).unwrap().unwrap();
    refused(Some(&ra.cert_der), 403, "has the role ra");
    let client = f.client("ee", ClientRole::Client, "root", "root");
    refused(Some(&client), 403, "has the role client");
    // A certificate nobody registered (the CA's own).
    let root = f.engine.ca("root").unwrap();
    refused(Some(root.certificate_der()), 403, "not registered");
    // Disabled, and revoked.
    let disabled = f.client("agent-off", ClientRole::Agent, "root", "root");
    f.engine
        .records()
        .disable_client("agent-off", "test", f.engine.now())
        .unwrap();
    refused(Some(&disabled), 403, "disabled");
    let revoked = f.client("agent-revoked", ClientRole::Agent, "root", "root");
    let serial = pages::certs::parse_serial(&serial_of(&revoked)).unwrap();
    f.engine
        .revoke(
            "root",
            &serial,
            RevocationReason::KeyCompromise,
            None,
            "test",
        )
        .unwrap();
    refused(Some(&revoked), 403, "revoked");
    // Garbage where a certificate should be.
    refused(Some(b"not a certificate"), 403, "not registered");
    // An agent of the other CA logs in, for that CA only.
    let other = f.client("agent-other", ClientRole::Agent, OTHER, OTHER);
    let (session, _) = f.agent_session(&other);
    let own = f.client("leaf-root", ClientRole::Client, "root", "root");
    let r = f.get(
        &session,
        &format!("/certs/root/{}", serial_of(&own)),
        Some(&other),
    );
    assert_eq!(r.status, 403);
    // Certificate login on a plain listener is refused.
    let mut plain = f;
    plain.console.settings.tls = false;
    let r = plain.cert_login_plain(&other);
    assert_eq!(r.status, 400, "{}", body(&r));
}

impl Fixture {
    fn cert_login_plain(&self, cert: &[u8]) -> Response {
        let form = self
            .console
            .handle(&self.engine, &req("GET", "/login", None, b""));
        let token = field(&body(&form), "login_token");
        let cookie = format!("cmc-console-login={token}");
        let post = format!("login_token={token}&method=certificate");
        let mut r = req("POST", "/login", Some(&cookie), post.as_bytes());
        r.client_cert = Some(cert);
        self.console.handle(&self.engine, &r)
    }
}

#[test]
fn an_operator_certificate_administers_and_an_agent_revoked_mid_session_is_out() {
    let f = tls_fixture();
    // An operator whose grant names the root: valid, and then it acts on
    // every CA and administers.
    let operator = f.client("op1", ClientRole::Operator, "root", "root");
    let foreign = f.client("leaf-other", ClientRole::Client, OTHER, OTHER);
    let cert = Some(operator.as_slice());
    let (session, csrf) = f.agent_session(&operator);
    let r = f.get(
        &session,
        &format!("/certs/{OTHER}/{}", serial_of(&foreign)),
        cert,
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    let r = f.post(
        &session,
        "/clients/leaf-other/disable",
        &format!("csrf={csrf}"),
        cert,
    );
    assert_eq!(r.status, 303, "{}", body(&r));
    let c = f.engine.records().client("leaf-other").unwrap().unwrap();
    assert!(c.disabled_at.is_some(), "disabled by the operator");

    // An agent whose certificate is revoked while it is logged in: its
    // next request ends the session (the TLS handshake does not look at
    // revocation; the console's checks do, on every request).
    let agent = f.client("agent1", ClientRole::Agent, "root", "root");
    let (session, _) = f.agent_session(&agent);
    assert_eq!(f.get(&session, "/certs", Some(&agent)).status, 200);
    let serial = pages::certs::parse_serial(&serial_of(&agent)).unwrap();
    f.engine
        .revoke(
            "root",
            &serial,
            RevocationReason::KeyCompromise,
            None,
            "test",
        )
        .unwrap();
    let r = f.get(&session, "/certs", Some(&agent));
    assert_eq!(header(&r, "location"), ["/login"]);
    // Its session is gone for good, not only for that request.
    let r = f.get(&session, "/certs", Some(&agent));
    assert_eq!(header(&r, "location"), ["/login"]);
}

#[test]
fn an_agent_sees_and_refreshes_the_crl_of_its_cas_only() {
    let f = tls_fixture();
    let agent = f.client("agent1", ClientRole::Agent, "root", "root");
    let cert = Some(agent.as_slice());
    let (session, csrf) = f.agent_session(&agent);
    let page = body(&f.get(&session, "/status", cert));
    assert!(page.contains("CA root"), "{page}");
    assert!(!page.contains(&format!("CA {OTHER}")), "{page}");
    let before = f.engine.crl_status(OTHER).unwrap();
    let r = f.post(
        &session,
        &format!("/status/{OTHER}/crl"),
        &format!("csrf={csrf}"),
        cert,
    );
    assert_eq!(r.status, 403, "{}", body(&r));
    assert_eq!(f.engine.crl_status(OTHER).unwrap(), before, "no CRL made");
    let r = f.post(&session, "/status/root/crl", &format!("csrf={csrf}"), cert);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert!(body(&r).contains("generated"), "{}", body(&r));
}

#[test]
fn an_agent_searches_and_reads_the_audit_of_its_cas_only() {
    let f = tls_fixture();
    let agent = f.client("agent1", ClientRole::Agent, "root", "root");
    let foreign = f.client("leaf-other", ClientRole::Client, OTHER, OTHER);
    let cert = Some(agent.as_slice());
    let (session, _) = f.agent_session(&agent);
    for path in [
        format!("/certs?ca={OTHER}"),
        format!("/certs.csv?ca={OTHER}"),
        format!("/audit?ca={OTHER}"),
    ] {
        let r = f.get(&session, &path, cert);
        assert_eq!(r.status, 403, "{path}: {}", body(&r));
    }
    // Without a CA the search is of its own CA, and the forms offer no
    // "any": the other CA's certificate and its audit events stay out.
    let list = body(&f.get(&session, "/certs?subject=leaf-other", cert));
    assert!(!list.contains(&serial_of(&foreign)), "{list}");
    assert!(
        list.contains(
            "<select id=\"ca\" name=\"ca\"><option value=\"root\" selected>root</option></select>"
        ),
        "{list}"
    );
    let audit = body(&f.get(&session, "/audit", cert));
    assert!(!audit.contains(&serial_of(&foreign)), "{audit}");
    assert!(
        audit.contains("agent1"),
        "its own registration is root's: {audit}"
    );
}
