//! The CRL and OCSP status page, the overview chart and the chain
//! downloads, over a real engine.

use std::collections::BTreeMap;

use cmc_ca::config::Config;
use der::Decode as _;
use x509_cert::Certificate;

use super::*;
use crate::activity::{Activity, Minute};

/// Logs in and opens /status (never the overview, which hands out, and
/// so may make, the current CRL): the page, the session cookie and the
/// CSRF token.
fn status_page(f: &Fixture) -> (Response, String, String) {
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
    assert_eq!(r.status, 303, "{}", body(&r));
    let session = header(&r, "set-cookie")[0]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let r = f
        .console
        .handle(&f.engine, &req("GET", "/status", Some(&session), b""));
    let csrf = field(&body(&r), "csrf");
    (r, session, csrf)
}

#[test]
fn an_overdue_crl_is_an_error_and_reading_makes_none() {
    let f = fixture();
    let (r, _, _) = status_page(&f);
    assert_eq!(r.status, 200);
    let page = body(&r);
    assert!(page.contains("No CRL yet"), "{page}");
    assert!(page.contains("/crl/root.crl"));
    assert!(
        page.contains("aria-current=\"page\" href=\"/status\"")
            || page.contains("href=\"/status\" aria-current=\"page\""),
        "nav entry: {page}"
    );
    assert!(
        f.engine.crl_status("root").unwrap()[0].crl.is_none(),
        "the page made no CRL"
    );
    let crl = f.engine.generate_crl("root").unwrap();
    let page = body(&status_page(&f).0);
    assert!(
        page.contains(&format!("<td class=\"num\">{}</td>", crl.crl_number)),
        "{page}"
    );
    assert!(page.contains(&format!("{} octets", crl.der.len())));
    assert!(page.contains(&pages::time(crl.next_update)));
    assert!(!page.contains("overdue"), "{page}");
    assert!(!page.contains("role=\"alert\""));

    f.clock
        .advance(crl.next_update.secs() - crl.this_update.secs() + 60);
    let (r, _, _) = status_page(&f);
    let page = body(&r);
    assert_eq!(r.status, 200);
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(page.contains("the CRL's nextUpdate"));
    assert!(page.contains("overdue"));
    let still = f.engine.crl_status("root").unwrap()[0].crl.clone().unwrap();
    assert_eq!(still.number, crl.crl_number, "reading the page made no CRL");
}

#[test]
fn generating_a_crl_needs_the_csrf_token() {
    let f = fixture();
    let (_, session, csrf) = status_page(&f);
    let number = || {
        f.engine.crl_status("root").unwrap()[0]
            .crl
            .as_ref()
            .map(|c| c.number)
    };
    for form in [
        String::new(),
        format!("csrf={}", "0".repeat(64)),
        format!("csrf={}", &csrf[..63]),
    ] {
        let r = f.console.handle(
            &f.engine,
            &req("POST", "/status/root/crl", Some(&session), form.as_bytes()),
        );
        assert_eq!(r.status, 403, "{form}");
    }
    let good = format!("csrf={csrf}");
    let mut cross = req("POST", "/status/root/crl", Some(&session), good.as_bytes());
    cross.origin = Some("http://evil.example");
    assert_eq!(f.console.handle(&f.engine, &cross).status, 403);
    let r = f.console.handle(
        &f.engine,
        &req("POST", "/status/root/crl", None, good.as_bytes()),
    );
    assert_eq!(r.status, 403, "no session");
    assert_eq!(number(), None, "no CRL was made");

    let r = f.console.handle(
        &f.engine,
        &req("POST", "/status/root/crl", Some(&session), good.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    let made = number().unwrap();
    assert!(body(&r).contains(&format!("CRL number {made} of CA root generated")));
    let again = f.console.handle(
        &f.engine,
        &req("POST", "/status/root/crl", Some(&session), good.as_bytes()),
    );
    assert_eq!(again.status, 200);
    assert!(number().unwrap() > made, "each press makes a new CRL");
    let r = f.console.handle(
        &f.engine,
        &req(
            "POST",
            "/status/nowhere/crl",
            Some(&session),
            good.as_bytes(),
        ),
    );
    assert_eq!(r.status, 404);
}

/// The fixture's engine reopened with a delegated OCSP responder for
/// `root`, its key made by openssl.
fn with_responder(f: &mut Fixture) {
    let dir = f.console.settings().data_dir.clone();
    let key = dir.join("ocsp-responder.key");
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let config = Config::from_toml(&format!(
        "[ca.root.ocsp]\nresponder_validity_hours = 168\nresponder_renew_hours = 48\n\
         key = {{ backend = \"file\", path = \"{}\", unencrypted = true, scheme = \"ecdsa-sha256\" }}\n",
        key.display()
    ))
    .unwrap();
    let url = format!("sqlite://{}", dir.join("cmc.db").display());
    f.engine = Engine::open(
        &url,
        f.clock.clone(),
        EngineConfig {
            cas: BTreeMap::from([("root".to_owned(), config.ca_settings("root"))]),
            ..EngineConfig::default()
        },
    )
    .unwrap();
}

#[test]
fn a_responder_near_its_end_is_warned_about() {
    let mut f = fixture();
    let page = body(&status_page(&f).0);
    assert!(
        page.contains("the CA key (no delegated responder configured)"),
        "{page}"
    );
    with_responder(&mut f);
    let page = body(&status_page(&f).0);
    assert!(
        page.contains("whose certificate is issued on the first OCSP request"),
        "{page}"
    );
    let der = f
        .engine
        .ocsp_responder_certificate("root")
        .unwrap()
        .unwrap();
    let cert = Certificate::from_der(&der).unwrap();
    let page = body(&status_page(&f).0);
    assert!(page.contains("CN=root OCSP responder"), "{page}");
    assert!(
        page.contains("(7 d 0 h left)") || page.contains("(6 d 23 h left)"),
        "{page}"
    );
    assert!(!page.contains("notice warn"), "{page}");

    // A day and a half left, under the 2-day renewal margin: warned.
    f.clock.advance(5 * 86_400 + 12 * 3600);
    let page = body(&status_page(&f).0);
    assert!(page.contains("class=\"notice warn\""), "{page}");
    assert!(page.contains("renewal has failed or the CA itself ends soon"));
    assert!(
        page.contains(
            &cmc_ca::Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes())
                .unwrap()
                .to_hex()
        )
    );
    // Reading renewed nothing: the same certificate is shown.
    assert_eq!(
        f.engine
            .ocsp_summary("root")
            .unwrap()
            .responder
            .unwrap()
            .not_after
            .secs(),
        i64::try_from(
            cert.tbs_certificate()
                .validity()
                .not_after
                .to_unix_duration()
                .as_secs()
        )
        .unwrap()
    );
    // Past its end: an error.
    f.clock.advance(2 * 86_400);
    let page = body(&status_page(&f).0);
    assert!(page.contains("role=\"alert\""), "{page}");
}

#[derive(Debug)]
struct FixedActivity(Vec<(usize, u64, u64)>);

impl Activity for FixedActivity {
    fn last_hour(&self, now: i64) -> Vec<Minute> {
        let current = now.div_euclid(60);
        let mut out: Vec<Minute> = (current - 59..=current)
            .map(|m| Minute {
                start: m * 60,
                ..Minute::default()
            })
            .collect();
        for &(i, issued, failed) in &self.0 {
            out[i].issued = issued;
            out[i].failed = failed;
        }
        out
    }
}

#[test]
fn the_overview_draws_this_nodes_last_hour() {
    let mut f = fixture();
    let (session, _) = f.login();
    let page = body(
        &f.console
            .handle(&f.engine, &req("GET", "/", Some(&session), b"")),
    );
    assert!(
        page.contains("hands the console no activity figures"),
        "{page}"
    );
    f.console = Console::new(f.console.settings().clone())
        .with_activity(Arc::new(FixedActivity(vec![(10, 7, 2), (59, 3, 0)])));
    let (session, _) = f.login();
    let page = body(
        &f.console
            .handle(&f.engine, &req("GET", "/", Some(&session), b"")),
    );
    assert!(page.contains("<svg class=\"chart\""), "{page}");
    assert!(page.contains(
        "10 certificate(s) issued (0.16 per minute) and 2 failed request(s) (0.03 per minute)"
    ));
    assert!(page.contains("This node only"));
    assert!(!page.contains("style="), "no inline style under the CSP");
    assert!(!page.contains("<script>"), "no inline script");
}

#[test]
fn the_chain_downloads_decode() {
    let f = fixture();
    let (session, _) = f.login();
    let serial = f.bootstrap_serial();
    let get = |path: &str| {
        f.console
            .handle(&f.engine, &req("GET", path, Some(&session), b""))
    };
    let page = body(&get(&format!("/certs/root/{serial}")));
    assert!(
        page.contains("<h2 id=\"chain-heading\">Chain</h2>"),
        "{page}"
    );
    assert!(page.contains("(root, self-signed)"), "{page}");
    assert!(page.contains(&format!("/certs/root/{serial}.chain.pem")));

    let der = get(&format!("/certs/root/{serial}.der"));
    assert_eq!(der.status, 200);
    let leaf = Certificate::from_der(&der.body).unwrap();

    let pem = get(&format!("/certs/root/{serial}.chain.pem"));
    assert_eq!(pem.status, 200);
    assert_eq!(header(&pem, "content-type"), ["application/x-pem-file"]);
    let text = body(&pem);
    assert_eq!(
        text.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{text}"
    );
    let root = f.engine.ca("root").unwrap();
    let p7c = get(&format!("/certs/root/{serial}.chain.p7c"));
    assert_eq!(p7c.status, 200);
    assert_eq!(header(&p7c, "content-type"), ["application/pkcs7-mime"]);
    let certs = cmc_codec::decode_certs_only(&p7c.body, &cmc_codec::Limits::default()).unwrap();
    assert_eq!(certs, [leaf, root.certificate().clone()]);

    for bad in [
        "/certs/root/00.chain.pem".to_owned(),
        format!("/certs/nowhere/{serial}.chain.p7c"),
        format!("/certs/root/{serial}.chain.txt"),
    ] {
        assert_eq!(get(&bad).status, 404, "{bad}");
    }
}

/// An openssl P-256 key in `dir`: its KeyConfig (through the config
/// file's syntax) and its public key.
fn openssl_key(
    dir: &std::path::Path,
    name: &str,
) -> (
    cmc_ca::KeyConfig,
    x509_cert::spki::SubjectPublicKeyInfoOwned,
) {
    let key = dir.join(format!("{name}.key"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    let path = key.to_str().unwrap();
    run(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        path,
    ]);
    let spki = run(&["pkey", "-in", path, "-pubout", "-outform", "DER"]);
    let config = Config::from_toml(&format!(
        "[ca.x.ocsp]\nkey = {{ backend = \"file\", path = \"{path}\", unencrypted = true, scheme = \"ecdsa-sha256\" }}\n"
    ))
    .unwrap();
    let key_config = config.ca_settings("x").ocsp.unwrap().key.unwrap();
    (
        key_config,
        x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&spki).unwrap(),
    )
}

#[test]
fn an_intermediates_leaf_downloads_its_whole_chain() {
    use cmc_ca::types::{ClientRole, Grant, Scope};
    let f = fixture();
    let dir = f.console.settings().data_dir.clone();
    let (ca_key, _) = openssl_key(&dir, "sub");
    f.engine
        .create_ca(&cmc_ca::NewCa {
            name: "sub".into(),
            subject: "CN=console test issuing CA".into(),
            validity_days: 365,
            key: cmc_ca::CaKey::Existing(ca_key),
            path_len: None,
            issuer: Some("root".into()),
            requester: "test".into(),
        })
        .unwrap();
    let (_, leaf_key) = openssl_key(&dir, "leaf");
    let leaf = f
        .engine
        .issue_client_credential(&cmc_ca::ClientCredentialRequest {
            ca: "sub".into(),
            client_id: "leaf".into(),
            subject: "CN=leaf".into(),
            public_key: leaf_key,
            role: ClientRole::Client,
            grants: vec![Grant {
                ca: Scope::Any,
                profile: Scope::Any,
            }],
            validity_days: 30,
            requester: "test".into(),
            names: None,
            mac: None,
        })
        .unwrap();
    let serial = leaf.serial.to_hex();
    let (session, _) = f.login();
    let get = |path: &str| {
        f.console
            .handle(&f.engine, &req("GET", path, Some(&session), b""))
    };
    let page = body(&get(&format!("/certs/sub/{serial}")));
    assert!(page.contains("CN=console test issuing CA"), "{page}");
    assert!(page.contains("(root, self-signed)"), "{page}");
    // The issuing CA's own certificate is linked where the root recorded it.
    let sub = f.engine.ca("sub").unwrap();
    let sub_serial = sub.serial().unwrap().to_hex();
    assert!(
        page.contains(&format!("href=\"/certs/root/{sub_serial}\"")),
        "{page}"
    );
    assert_eq!(get(&format!("/certs/root/{sub_serial}")).status, 200);

    let pem = body(&get(&format!("/certs/sub/{serial}.chain.pem")));
    assert_eq!(
        pem.matches("-----BEGIN CERTIFICATE-----").count(),
        3,
        "{pem}"
    );
    let p7c = get(&format!("/certs/sub/{serial}.chain.p7c"));
    let certs = cmc_codec::decode_certs_only(&p7c.body, &cmc_codec::Limits::default()).unwrap();
    let root = f.engine.ca("root").unwrap();
    assert_eq!(
        certs,
        [
            Certificate::from_der(&leaf.certificate_der).unwrap(),
            sub.certificate().clone(),
            root.certificate().clone()
        ]
    );
    // Each certificate of the chain signed the one before it.
    for pair in certs.windows(2) {
        assert_eq!(
            pair[0].tbs_certificate().issuer(),
            pair[1].tbs_certificate().subject()
        );
    }
}
