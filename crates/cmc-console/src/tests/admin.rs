//! Adding clients (credentials from the client's own PKCS #10 request) and
//! one-time secrets from the console, and the attacks on them: a forged
//! request, names outside the client's, a taken name, an RA or agent added
//! without administrator rights, a secret shown twice, a revoked secret.

use std::path::Path;
use std::process::Command;

use cmc_ca::types::{CertFilter, ClientRole};

use super::*;
use crate::form::encode;
use crate::pages::clients_admin;
use crate::session::Rights;

/// `openssl req`: a new P-256 key and a request for `subj` (with `san`,
/// e.g. `DNS:a.test`, when given) in `dir`; returns the request's PEM.
fn csr(dir: &Path, name: &str, subj: &str, san: Option<&str>) -> String {
    let key = dir.join(format!("{name}.key"));
    let out = dir.join(format!("{name}.csr"));
    let mut args = vec![
        "req".to_owned(),
        "-new".into(),
        "-newkey".into(),
        "ec".into(),
        "-pkeyopt".into(),
        "ec_paramgen_curve:P-256".into(),
        "-nodes".into(),
        "-keyout".into(),
        key.display().to_string(),
        "-out".into(),
        out.display().to_string(),
        "-subj".into(),
        subj.into(),
    ];
    if let Some(san) = san {
        args.extend(["-addext".into(), format!("subjectAltName={san}")]);
    }
    let o = Command::new("openssl").args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out).unwrap()
}

/// `pem` with one bit of its signature flipped (the last byte of the DER).
fn forged(pem: &str) -> String {
    let (label, mut der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    let last = der.len() - 1;
    der[last] ^= 1;
    der::pem::encode_string(label, der::pem::LineEnding::LF, &der).unwrap()
}

fn add_form(csrf: &str, id: &str, role: &str, subject: &str, dns: &str, csr: &str) -> String {
    format!(
        "csrf={csrf}&id={}&role={role}&issuing_ca=root&subject={}&dns={}&days=30&csr={}",
        encode(id),
        encode(subject),
        encode(dns),
        encode(csr)
    )
}

impl Fixture {
    fn post_form(&self, session: &str, path: &str, form: &str) -> Response {
        self.console.handle(
            &self.engine,
            &req("POST", path, Some(session), form.as_bytes()),
        )
    }

    fn get_page(&self, session: &str, path: &str) -> Response {
        self.console
            .handle(&self.engine, &req("GET", path, Some(session), b""))
    }

    fn cert_count(&self) -> usize {
        self.engine
            .records()
            .certificates(&CertFilter::default())
            .unwrap()
            .len()
    }
}

#[test]
fn a_client_is_added_from_its_own_request_and_its_credential_verifies() {
    let f = fixture();
    let (session, csrf) = f.login();
    let dir = f._tmp.path();
    let page = body(&f.get_page(&session, "/clients/add"));
    for id in ["id", "role", "issuing_ca", "subject", "dns", "days", "csr"] {
        assert!(page.contains(&format!("<label for=\"{id}\"")), "{id}");
    }
    let pem = csr(dir, "dev1", "/CN=dev1.example.test/O=Example", None);
    let form = add_form(&csrf, "dev1", "client", "", "dev1.example.test", &pem);
    let r = f.post_form(&session, "/clients/add", &form);
    let page = body(&r);
    assert_eq!(r.status, 200, "{page}");
    assert!(page.contains("Client dev1 added"), "{page}");
    assert!(page.contains("BEGIN CERTIFICATE"));
    let client = f.engine.records().client("dev1").unwrap().unwrap();
    assert_eq!(client.role, ClientRole::Client);
    // Issued by the engine's one path, under the operator's name.
    let certs = f
        .engine
        .records()
        .certificates(&CertFilter::default())
        .unwrap();
    let issued = certs
        .iter()
        .find(|c| c.requester == "console:admin")
        .expect("the credential, requested by console:admin");
    assert!(issued.certificate().is_some());
    // The downloads: the certificate and the CA chain, which verifies it.
    let cert = f.get_page(&session, "/clients/dev1/certificate.pem");
    assert_eq!(cert.status, 200);
    assert!(header(&cert, "content-disposition")[0].contains("dev1.pem"));
    let chain = f.get_page(&session, "/clients/dev1/chain.pem");
    assert_eq!(chain.status, 200);
    std::fs::write(dir.join("dev1.pem"), &cert.body).unwrap();
    std::fs::write(dir.join("chain.pem"), &chain.body).unwrap();
    let o = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dir.join("chain.pem"))
        .arg(dir.join("dev1.pem"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The client's public key is the request's: the key never left it.
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(dir.join("dev1.pem"))
        .output()
        .unwrap();
    let from_key = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(dir.join("dev1.key"))
        .output()
        .unwrap();
    assert_eq!(o.stdout, from_key.stdout);
    assert!(f.get_page(&session, "/clients").status == 200);
    assert_eq!(
        f.get_page(&session, "/clients/nobody/chain.pem").status,
        404
    );
}

#[test]
fn forged_requests_foreign_names_and_taken_names_change_nothing() {
    let f = fixture();
    let (session, csrf) = f.login();
    let dir = f._tmp.path();
    let before = f.cert_count();
    // A request whose signature does not verify: no proof of possession.
    let good = csr(dir, "a", "/CN=a.example.test", None);
    let r = f.post_form(
        &session,
        "/clients/add",
        &add_form(&csrf, "forged", "client", "", "", &forged(&good)),
    );
    let page = body(&r);
    assert_eq!(r.status, 400);
    assert!(page.contains("does not verify"), "{page}");
    // What was typed is kept.
    assert!(page.contains("value=\"forged\""), "{page}");
    assert!(f.engine.records().client("forged").unwrap().is_none());
    // A subject other than the client's.
    let r = f.post_form(
        &session,
        "/clients/add",
        &add_form(&csrf, "alice", "client", "CN=alice.example.test", "", &good),
    );
    let page = body(&r);
    assert_eq!(r.status, 400);
    assert!(
        page.contains("outside the client&#39;s rules")
            || page.contains("outside the client's rules"),
        "{page}"
    );
    assert!(page.contains("CN=alice.example.test"), "kept: {page}");
    // A subjectAltName outside the names registered for it.
    let san = csr(dir, "b", "/CN=b.example.test", Some("DNS:evil.test"));
    let r = f.post_form(
        &session,
        "/clients/add",
        &add_form(&csrf, "b", "client", "", "b.example.test", &san),
    );
    assert_eq!(r.status, 400);
    assert!(body(&r).contains("evil.test"), "{}", body(&r));
    // An RA's request may not ask for subjectAltNames either.
    let r = f.post_form(
        &session,
        "/clients/add",
        &add_form(&csrf, "ra1", "ra", "", "", &san),
    );
    assert_eq!(r.status, 400, "{}", body(&r));
    assert_eq!(f.cert_count(), before, "nothing was issued");
    for id in ["alice", "b", "ra1"] {
        assert!(f.engine.records().client(id).unwrap().is_none(), "{id}");
    }
    // Not a request at all; a missing request; a bad name; a bad role.
    for (form, want) in [
        (
            add_form(&csrf, "x", "client", "", "", "hello"),
            "not a PKCS #10 request",
        ),
        (
            add_form(&csrf, "x", "client", "", "", ""),
            "Paste the client",
        ),
        (
            add_form(&csrf, "a/b", "client", "", "", &good),
            "Client name",
        ),
        (add_form(&csrf, "x", "boss", "", "", &good), "Role"),
        (
            add_form(&csrf, "x", "client", "", "not a name!", &good),
            "Names",
        ),
    ] {
        let r = f.post_form(&session, "/clients/add", &form);
        assert_eq!(r.status, 400);
        assert!(body(&r).contains(want), "{want}: {}", body(&r));
    }
    // A taken name: refused with a clear message, the first client unchanged.
    let r = f.post_form(
        &session,
        "/clients/add",
        &add_form(&csrf, "a", "client", "", "", &good),
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    let first = f.engine.records().client("a").unwrap().unwrap();
    let other = csr(dir, "a2", "/CN=a2.example.test", None);
    let r = f.post_form(
        &session,
        "/clients/add",
        &add_form(&csrf, "a", "agent", "", "", &other),
    );
    assert_eq!(r.status, 409);
    assert!(body(&r).contains("exists already"), "{}", body(&r));
    assert_eq!(f.engine.records().client("a").unwrap().unwrap(), first);
    assert_eq!(f.cert_count(), before + 1);
    // Without the session's CSRF token the router refuses the form.
    let form = add_form("wrong", "c", "client", "", "", &other);
    assert_eq!(f.post_form(&session, "/clients/add", &form).status, 403);
    assert!(f.engine.records().client("c").unwrap().is_none());
}

#[test]
fn an_ra_or_agent_needs_administrator_rights() {
    let f = fixture();
    let dir = f._tmp.path();
    let session = Session {
        operator: "op".into(),
        login: Login::Password,
        rights: Rights::Operator,
        csrf: "t".into(),
        created: 0,
        last_used: 0,
    };
    let ctx = Ctx {
        engine: &f.engine,
        session: &session,
        activity: None,
    };
    let before = f.cert_count();
    for role in ["ra", "agent"] {
        let pem = csr(dir, role, &format!("/CN={role}.example.test"), None);
        let form = Form::parse(&add_form("t", role, role, "", "", &pem));
        let r = clients_admin::add(&ctx, &form, false);
        assert_eq!(r.status, 403, "{role}");
        assert!(body(&r).contains("needs administrator rights"));
        assert!(f.engine.records().client(role).unwrap().is_none());
        // With the rights it is added, as an administrator's session is.
        assert!(clients_admin::may_administer(&ctx));
        let r = clients_admin::add(&ctx, &form, true);
        assert_eq!(r.status, 200, "{}", body(&r));
    }
    assert_eq!(f.cert_count(), before + 2);
    // An end entity needs no more than a console session.
    let pem = csr(dir, "ee", "/CN=ee.example.test", None);
    let form = Form::parse(&add_form("t", "ee", "client", "", "", &pem));
    assert_eq!(clients_admin::add(&ctx, &form, false).status, 200);
    // An agent's certificate session may not administer.
    let agent = Session {
        rights: Rights::Agent {
            cas: vec!["root".into()],
        },
        ..session.clone()
    };
    let agent_ctx = Ctx {
        engine: &f.engine,
        session: &agent,
        activity: None,
    };
    assert!(!clients_admin::may_administer(&agent_ctx));
}

/// The secret on an "added" page.
fn shown_secret(page: &str) -> String {
    let needle = "id=\"secret\" readonly value=\"";
    let at = page.find(needle).unwrap();
    let rest = &page[at + needle.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[test]
fn a_secret_is_shown_once_and_a_revoked_one_ends() {
    let f = fixture();
    let (session, csrf) = f.login();
    let page = body(&f.get_page(&session, "/secrets/add"));
    for id in ["ca", "identification", "profile", "days", "hash", "subject"] {
        assert!(page.contains(&format!("<label for=\"{id}\"")), "{id}");
    }
    let form = format!(
        "csrf={csrf}&ca=root&identification=device-9&days=2&hash=sha256&subject={}",
        encode("CN=device-9")
    );
    let r = f.post_form(&session, "/secrets/add", &form);
    let page = body(&r);
    assert_eq!(r.status, 200, "{page}");
    let secret = shown_secret(&page);
    assert_eq!(secret.len(), 32);
    // Never again: not on the list, not in the store.
    let list = body(&f.get_page(&session, "/secrets"));
    assert!(list.contains("device-9") && !list.contains(&secret));
    let rec = f
        .engine
        .records()
        .secrets(Some("root"))
        .unwrap()
        .into_iter()
        .find(|s| s.identification == "device-9")
        .unwrap();
    assert!(
        !rec.derived_key
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
    );
    assert_eq!(rec.expires_at, f.engine.now().plus_secs(2 * 86_400));
    // A taken identification, a bad lifetime: the form again, kept.
    let r = f.post_form(&session, "/secrets/add", &form);
    assert_eq!(r.status, 400);
    assert!(body(&r).contains("Not added") && body(&r).contains("value=\"device-9\""));
    let r = f.post_form(
        &session,
        "/secrets/add",
        &format!("csrf={csrf}&ca=root&identification=x&days=0&hash=sha256"),
    );
    assert!(body(&r).contains("Lifetime"));
    // Revoking needs the token, then ends it now for good.
    let revoke = "ca=root&identification=device-9";
    assert_eq!(f.post_form(&session, "/secrets/revoke", revoke).status, 403);
    f.clock.advance(10);
    let r = f.post_form(
        &session,
        "/secrets/revoke",
        &format!("{revoke}&csrf={csrf}"),
    );
    assert_eq!(r.status, 303);
    let rec = f
        .engine
        .records()
        .secrets(Some("root"))
        .unwrap()
        .into_iter()
        .find(|s| s.identification == "device-9")
        .unwrap();
    assert_eq!(rec.expires_at, f.engine.now());
    assert!(body(&f.get_page(&session, "/secrets")).contains("expired"));
    let r = f.post_form(
        &session,
        "/secrets/revoke",
        &format!("{revoke}&csrf={csrf}"),
    );
    assert_eq!(r.status, 400);
    assert!(body(&r).contains("Not revoked"));
}

/// The value of the read-only field `id` on a page.
fn readonly_value(page: &str, id: &str) -> String {
    let needle = format!("id=\"{id}\" readonly value=\"");
    let at = page.find(&needle).unwrap();
    let rest = &page[at + needle.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[test]
fn a_key_made_here_is_shown_once_encrypted_and_is_the_credentials() {
    let f = fixture();
    let (session, csrf) = f.login();
    let dir = f._tmp.path();
    let base = format!("csrf={csrf}&id=gen&role=client&issuing_ca=root&days=30&key=generate");
    // It needs the subject, and no request besides.
    let r = f.post_form(&session, "/clients/add", &base);
    assert_eq!(r.status, 400);
    assert!(body(&r).contains("needs the credential"), "{}", body(&r));
    let pem = csr(dir, "x", "/CN=x.example.test", None);
    let r = f.post_form(
        &session,
        "/clients/add",
        &format!("{base}&subject=CN%3Dgen&csr={}", encode(&pem)),
    );
    assert_eq!(r.status, 400);
    assert!(body(&r).contains("not both"), "{}", body(&r));
    assert!(f.engine.records().client("gen").unwrap().is_none());

    let r = f.post_form(
        &session,
        "/clients/add",
        &format!("{base}&subject=CN%3Dgen.example.test"),
    );
    let page = body(&r);
    assert_eq!(r.status, 200, "{page}");
    let passphrase = readonly_value(&page, "key-passphrase");
    assert_eq!(passphrase.len(), 32);
    let at = page.find("-----BEGIN ENCRYPTED PRIVATE KEY-----").unwrap();
    let end = page.find("-----END ENCRYPTED PRIVATE KEY-----").unwrap();
    let key_pem = format!("{}-----END ENCRYPTED PRIVATE KEY-----\n", &page[at..end]);
    assert!(!page.contains("BEGIN PRIVATE KEY"), "never unencrypted");
    std::fs::write(dir.join("gen.key"), key_pem).unwrap();
    std::fs::write(dir.join("gen.pass"), &passphrase).unwrap();
    let cert = f.get_page(&session, "/clients/gen/certificate.pem");
    std::fs::write(dir.join("gen.pem"), &cert.body).unwrap();
    let from_key = Command::new("openssl")
        .args(["pkey", "-pubout", "-passin"])
        .arg(format!("file:{}", dir.join("gen.pass").display()))
        .arg("-in")
        .arg(dir.join("gen.key"))
        .output()
        .unwrap();
    assert!(
        from_key.status.success(),
        "{}",
        String::from_utf8_lossy(&from_key.stderr)
    );
    let from_cert = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(dir.join("gen.pem"))
        .output()
        .unwrap();
    assert_eq!(from_key.stdout, from_cert.stdout);
    // Shown once: not on the clients page, nor on the certificate's.
    assert!(!body(&f.get_page(&session, "/clients")).contains(&passphrase));
}

#[test]
fn a_client_gets_a_new_credential_and_foreign_requests_are_refused() {
    let f = fixture();
    let (session, csrf) = f.login();
    let dir = f._tmp.path();
    let first = csr(dir, "ra7", "/CN=ra7.example.test/O=Example", None);
    let form = add_form(&csrf, "ra7", "ra", "", "", &first);
    assert_eq!(f.post_form(&session, "/clients/add", &form).status, 200);
    let old = f.engine.records().client("ra7").unwrap().unwrap();
    let list = body(&f.get_page(&session, "/clients"));
    assert!(list.contains("/clients/ra7/reissue"), "{list}");
    let page = body(&f.get_page(&session, "/clients/ra7/reissue"));
    for id in [
        "key-csr",
        "key-generate",
        "csr",
        "ca",
        "days",
        "revoke_previous",
    ] {
        assert!(page.contains(&format!("<label for=\"{id}\"")), "{id}");
    }
    let post = |fields: &str| {
        f.post_form(
            &session,
            "/clients/ra7/reissue",
            &format!("csrf={csrf}&days=30&{fields}"),
        )
    };
    // A request for another subject, or a forged one: refused, unchanged.
    let other = csr(dir, "mallory", "/CN=mallory.example.test", None);
    for bad in [other, forged(&first)] {
        let r = post(&format!("key=csr&csr={}", encode(&bad)));
        assert_eq!(r.status, 400, "{}", body(&r));
        assert_eq!(f.engine.records().client("ra7").unwrap().unwrap(), old);
    }
    // Without the CSRF token: refused by the router.
    let r = f.post_form(&session, "/clients/ra7/reissue", "key=generate&days=30");
    assert_eq!(r.status, 403);
    // A key made here, the old certificate revoked.
    let r = post("key=generate&revoke_previous=yes");
    let page = body(&r);
    assert_eq!(r.status, 200, "{page}");
    assert!(page.contains("has a new credential"), "{page}");
    assert!(page.contains("key-passphrase"), "the key is shown once");
    let new = f.engine.records().client("ra7").unwrap().unwrap();
    assert_ne!(new.cert_der, old.cert_der);
    assert_eq!(
        (new.role, new.grants.clone()),
        (old.role, old.grants.clone())
    );
    let old_serial = {
        use der::Decode as _;
        let c = x509_cert::Certificate::from_der(&old.cert_der).unwrap();
        cmc_ca::Serial::from_be_bytes(c.tbs_certificate().serial_number().as_bytes()).unwrap()
    };
    let record = f
        .engine
        .records()
        .certificate("root", &old_serial)
        .unwrap()
        .unwrap();
    assert!(record.revocation().is_some(), "the previous one is revoked");
    // The client's own request for its subject: issued, key not shown.
    let again = csr(dir, "ra7b", "/CN=ra7.example.test/O=Example", None);
    let r = post(&format!("key=csr&csr={}", encode(&again)));
    let page = body(&r);
    assert_eq!(r.status, 200, "{page}");
    assert!(!page.contains("key-passphrase"), "{page}");
    // A disabled client gets nothing.
    f.engine
        .records()
        .disable_client("ra7", "test", f.engine.now())
        .unwrap();
    let before = f.engine.records().client("ra7").unwrap().unwrap();
    let r = post("key=generate");
    assert_eq!(r.status, 409, "{}", body(&r));
    assert_eq!(f.engine.records().client("ra7").unwrap().unwrap(), before);
}
