//! End to end: `openssl ocsp` against the built `cmc-server` on a loopback
//! port, for a certificate enrolled with `cmc-tool enroll` and then revoked
//! with `cmc-tool cert revoke`; GET requests, malformed and misdirected
//! requests, and a delegated responder. Responses are checked by OpenSSL
//! and pkilint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use cmc_testkit::{pkilint_available, pkilint_clean};
use common::{Backend, Server, TestStore, cmc_tool, openssl, s, start, write_config};

struct Setup {
    tmp: tempfile::TempDir,
    server: Server,
    data: PathBuf,
    /// Dropped after the server has been stopped.
    _store: TestStore,
}

/// The server on its embedded default; the data directory is given as an
/// absolute path, so that `cmc-tool --config` run from the test's working
/// directory finds the CA key the server created.
fn setup(extra_config: &str) -> Setup {
    let store = TestStore::new(Backend::Sqlite, "").expect("SQLite needs no server");
    setup_on(extra_config, store)
}

/// [`setup`] with the store on `store`.
fn setup_on(extra_config: &str, store: TestStore) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("cmc-data");
    let config = format!("{}{}", store.config_line, config(&data, extra_config));
    write_config(tmp.path(), &config);
    let server = start(tmp.path());
    Setup {
        tmp,
        server,
        data,
        _store: store,
    }
}

fn config(data: &Path, extra: &str) -> String {
    format!(
        "data_dir = \"{}\"\n[server]\nlisten = \"127.0.0.1:0\"\n{extra}",
        data.display()
    )
}

impl Setup {
    fn root(&self) -> PathBuf {
        self.data.join("root.pem")
    }

    fn ocsp_url(&self) -> String {
        format!("http://{}/ocsp/root", self.server.addr)
    }

    /// Enrolls a P-256 certificate with the bootstrap RA; returns its path.
    fn enroll(&self, name: &str) -> PathBuf {
        let cert = self.data.join(format!("{name}.pem"));
        let chain = self.data.join(format!("{name}-chain.pem"));
        let key = self.data.join(format!("{name}.key"));
        let url = format!("http://{}/cmc/root", self.server.addr);
        let subject = format!("CN={name}.example.test");
        let signer = common::bootstrap_enroll_args(&self.data);
        let mut args = vec![
            "enroll",
            "--url",
            &url,
            "--out-cert",
            s(&cert),
            "--out-chain",
            s(&chain),
            "--new-key",
            s(&key),
            "--new-key-unencrypted",
            "--key-type",
            "p256",
            "--subject",
            &subject,
        ];
        args.extend(signer.iter().map(String::as_str));
        cmc_tool(&args).unwrap_or_else(|e| panic!("enroll {name}: {e}"));
        cert
    }

    /// `openssl ocsp -issuer root.pem -cert CERT -url ... -CAfile root.pem
    /// -resp_text`, keeping the response in `respout`; returns the text.
    fn openssl_ocsp(&self, cert: &Path, respout: &str) -> String {
        let root = self.root();
        let url = self.ocsp_url();
        let out = self.data.join(respout);
        let (ok, text) = openssl(
            &self.data,
            &[
                "ocsp",
                "-issuer",
                s(&root),
                "-cert",
                s(cert),
                "-url",
                &url,
                "-CAfile",
                s(&root),
                "-resp_text",
                "-respout",
                s(&out),
            ],
        );
        assert!(ok, "{text}");
        assert!(text.contains("Response verify OK"), "{text}");
        text
    }

    fn serial(&self, cert: &Path) -> String {
        let (ok, out) = openssl(&self.data, &["x509", "-in", s(cert), "-noout", "-serial"]);
        assert!(ok, "{out}");
        out.trim().strip_prefix("serial=").unwrap().to_owned()
    }

    fn revoke(&self, cert: &Path, reason: &str) {
        let config = self.tmp.path().join("cmc.toml");
        let serial = self.serial(cert);
        let out = cmc_tool(&[
            "--config",
            s(&config),
            "cert",
            "revoke",
            "--ca",
            "root",
            &serial,
            "--reason",
            reason,
        ])
        .unwrap();
        assert!(out.contains("revoked serial"), "{out}");
    }
}

fn lint(name: &str, file: &Path) {
    if pkilint_available(name) {
        pkilint_clean("lint_ocsp_response", &[], file);
    }
}

/// The request's DER for a GET path: base64, URL-encoded.
fn get_path(der: &[u8]) -> String {
    Base64::encode_string(der)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[test]
fn openssl_sees_good_then_revoked_over_post_and_get() {
    good_then_revoked(
        Backend::Sqlite,
        "openssl_sees_good_then_revoked_over_post_and_get",
    );
}

#[test]
fn openssl_sees_good_then_revoked_on_postgresql() {
    good_then_revoked(
        Backend::Postgres,
        "openssl_sees_good_then_revoked_on_postgresql",
    );
}

/// Enroll, OCSP good, revoke, OCSP revoked (POST and GET), on `backend`.
fn good_then_revoked(backend: Backend, test: &str) {
    let Some(store) = TestStore::new(backend, test) else {
        return;
    };
    let setup = setup_on("", store);
    let leaf = setup.enroll("ocsp-leaf");
    let leaf_name = s(&leaf);

    let text = setup.openssl_ocsp(&leaf, "good.der");
    assert!(text.contains(&format!("{leaf_name}: good")), "{text}");
    assert!(text.contains("Cert Status: good"), "{text}");
    assert!(text.contains("OCSP Nonce"), "{text}");
    lint("good", &setup.data.join("good.der"));

    setup.revoke(&leaf, "keyCompromise");
    let text = setup.openssl_ocsp(&leaf, "revoked.der");
    assert!(text.contains(&format!("{leaf_name}: revoked")), "{text}");
    assert!(text.contains("Reason: keyCompromise"), "{text}");
    lint("revoked", &setup.data.join("revoked.der"));

    // GET with a request without nonce (RFC 6960 Appendix A.1), as
    // OpenSSL writes it; the answer is cacheable until nextUpdate.
    let req = setup.data.join("get.req");
    let root = setup.root();
    let (ok, out) = openssl(
        &setup.data,
        &[
            "ocsp",
            "-issuer",
            s(&root),
            "-sha256",
            "-cert",
            leaf_name,
            "-no_nonce",
            "-reqout",
            s(&req),
        ],
    );
    assert!(ok, "{out}");
    let der = std::fs::read(&req).unwrap();
    let reply = setup.server.get(&format!("/ocsp/root/{}", get_path(&der)));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/ocsp-response")
    );
    // max-age runs to nextUpdate (an hour after thisUpdate) from the moment
    // the header is written, which may be a second after thisUpdate.
    let cache = reply.header("cache-control").unwrap();
    let max_age: u32 = cache
        .strip_prefix("max-age=")
        .and_then(|r| r.strip_suffix(", public, no-transform, must-revalidate"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cache-control {cache:?}"));
    assert!((3590..=3600).contains(&max_age), "{cache}");
    assert!(reply.header("last-modified").unwrap().ends_with(" GMT"));
    assert!(reply.header("expires").unwrap().ends_with(" GMT"));
    let resp = setup.data.join("get.der");
    std::fs::write(&resp, &reply.body).unwrap();
    let (ok, text) = openssl(
        &setup.data,
        &[
            "ocsp",
            "-reqin",
            s(&req),
            "-respin",
            s(&resp),
            "-issuer",
            s(&root),
            "-CAfile",
            s(&root),
            "-resp_text",
        ],
    );
    assert!(ok && text.contains("Response verify OK"), "{text}");
    assert!(text.contains("Cert Status: revoked"), "{text}");
    // Unescaped '/' and '+' in the path work too.
    let plain = Base64::encode_string(&der);
    let reply = setup.server.get(&format!("/ocsp/root/{plain}"));
    assert_eq!(reply.status, 200);
    // The same answer: ECDSA signatures are not deterministic with aws-lc-rs
    // (fresh nonces), and the times are those of each request, so compare
    // who answered and what was said about which certificate.
    let said = |body: &[u8]| {
        use der::Decode;
        let tbs = cmc_asn1::ocsp::OcspResponse::from_der(body)
            .unwrap()
            .basic()
            .unwrap()
            .unwrap()
            .tbs_response_data;
        let statuses: Vec<_> = tbs
            .responses
            .into_iter()
            .map(|r| (r.cert_id, r.cert_status))
            .collect();
        (tbs.responder_id, statuses)
    };
    assert_eq!(said(&std::fs::read(&resp).unwrap()), said(&reply.body));
    // A POST is not marked cacheable.
    let post = setup
        .server
        .post("/ocsp/root", "application/ocsp-request", &der);
    assert_eq!(post.status, 200);
    assert_eq!(post.header("cache-control"), None);

    // A GET whose request has a nonce must not be cached.
    let (ok, out) = openssl(
        &setup.data,
        &[
            "ocsp",
            "-issuer",
            s(&root),
            "-cert",
            leaf_name,
            "-reqout",
            s(&req),
        ],
    );
    assert!(ok, "{out}");
    let der = std::fs::read(&req).unwrap();
    let reply = setup.server.get(&format!("/ocsp/root/{}", get_path(&der)));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[test]
fn bad_requests_get_ocsp_or_http_errors_never_500() {
    let setup = setup("");
    let server = &setup.server;
    const MALFORMED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x01];
    // Not OCSP at all: an OCSP malformedRequest, with HTTP 200.
    for body in [&b"hello"[..], b"", &[0x30, 0x80, 0x00, 0x00]] {
        let reply = server.post("/ocsp/root", "application/ocsp-request", body);
        assert_eq!(reply.status, 200, "{body:?}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/ocsp-response")
        );
        assert_eq!(reply.body, MALFORMED, "{body:?}");
    }
    for path in [
        "/ocsp/root/not-base64!",
        "/ocsp/root/aGVsbG8%3D",
        "/ocsp/root/%zz",
    ] {
        let reply = server.get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.body, MALFORMED, "{path}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
    }
    // HTTP errors for what is not an OCSP exchange.
    assert_eq!(
        server
            .post("/ocsp/nope", "application/ocsp-request", b"x")
            .status,
        404
    );
    assert_eq!(server.get("/ocsp/nope/MAMKAQE%3D").status, 404);
    assert_eq!(server.get("/ocsp/").status, 404);
    assert_eq!(
        server
            .post("/ocsp/root", "application/pkcs7-mime", b"x")
            .status,
        415
    );
    let get = server.get("/ocsp/root");
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    let post = server.post("/ocsp/root/MAMKAQE%3D", "application/ocsp-request", b"x");
    assert_eq!(post.status, 405);
    let big = vec![0x30; 20 * 1024];
    assert_eq!(
        server
            .post("/ocsp/root", "application/ocsp-request", &big)
            .status,
        413
    );
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.lines().any(|l| l
            .starts_with("cmc_http_requests_total{route=\"ocsp\",status=\"200\"} ")
            && !l.ends_with(" 0")),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "cmc_http_requests_total{route=\"ocsp\",status=\"500\"} 0"),
        "{metrics}"
    );
}

#[test]
fn a_delegated_responder_key_signs_after_a_restart_with_its_section() {
    // First start: the embedded root is created. The [ca.root.ocsp]
    // section can only name a CA that exists, so it is added afterwards.
    let setup = setup("");
    let leaf = setup.enroll("delegated-leaf");
    let Setup {
        tmp,
        server,
        data,
        _store,
    } = setup;
    assert_eq!(server.terminate().code(), Some(0));
    let key = data.join("ocsp-responder.key");
    let (ok, out) = openssl(
        &data,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            s(&key),
        ],
    );
    assert!(ok, "{out}");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let section = format!(
        "[ca.root.ocsp]\nkey = {{ backend = \"file\", path = \"{}\", unencrypted = true, scheme = \"ecdsa-sha256\" }}\nvalidity_minutes = 30\n",
        key.display()
    );
    write_config(tmp.path(), &config(&data, &section));
    let server = start(tmp.path());
    let setup = Setup {
        tmp,
        server,
        data,
        _store,
    };

    let text = setup.openssl_ocsp(&leaf, "delegated.der");
    assert!(text.contains(&format!("{}: good", s(&leaf))), "{text}");
    // The response carries the responder certificate OpenSSL verified.
    assert!(text.contains("CN=root OCSP responder"), "{text}");
    assert!(text.contains("OCSP No Check"), "{text}");
    lint("delegated", &setup.data.join("delegated.der"));
    // Its key is the configured one.
    let (ok, cert_text) = openssl(
        &setup.data,
        &[
            "ocsp",
            "-respin",
            "delegated.der",
            "-resp_text",
            "-noverify",
        ],
    );
    assert!(ok, "{cert_text}");
    let (ok, key_pub) = openssl(
        &setup.data,
        &["pkey", "-in", s(&key_path(&setup)), "-pubout"],
    );
    assert!(ok, "{key_pub}");
    let start = cert_text.find("-----BEGIN CERTIFICATE-----").unwrap();
    let pem = &cert_text[start..];
    let end = pem.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----\n".len();
    let responder = setup.data.join("responder.pem");
    std::fs::write(&responder, &pem[..end]).unwrap();
    let (ok, cert_pub) = openssl(
        &setup.data,
        &["x509", "-in", s(&responder), "-noout", "-pubkey"],
    );
    assert!(ok, "{cert_pub}");
    assert_eq!(cert_pub, key_pub);
}

fn key_path(setup: &Setup) -> PathBuf {
    setup.data.join("ocsp-responder.key")
}

/// The attack on the caches: a client asks (no nonce, so the server keeps
/// the signed "good" and the CRL), the certificate is revoked by another
/// process on the same store (`cmc-tool cert revoke`, as a second node
/// would), and the very next OCSP answer and CRL must say revoked.
#[test]
fn a_revocation_elsewhere_is_served_at_once_from_the_caches() {
    let setup = setup("");
    let leaf = setup.enroll("cached-leaf");
    let serial = setup.serial(&leaf);
    let root = setup.root();
    let req = setup.data.join("cached.req");
    let (ok, out) = openssl(
        &setup.data,
        &[
            "ocsp",
            "-issuer",
            s(&root),
            "-cert",
            s(&leaf),
            "-no_nonce",
            "-reqout",
            s(&req),
        ],
    );
    assert!(ok, "{out}");
    let der = std::fs::read(&req).unwrap();
    let path = format!("/ocsp/root/{}", get_path(&der));
    let status_of = |body: &[u8], name: &str| {
        let resp = setup.data.join(name);
        std::fs::write(&resp, body).unwrap();
        let (ok, text) = openssl(
            &setup.data,
            &[
                "ocsp",
                "-reqin",
                s(&req),
                "-respin",
                s(&resp),
                "-issuer",
                s(&root),
                "-CAfile",
                s(&root),
                "-resp_text",
            ],
        );
        assert!(ok && text.contains("Response verify OK"), "{text}");
        text
    };
    let crl_lists = |name: &str| {
        let crl = setup.server.get("/crl/root.crl");
        assert_eq!(crl.status, 200);
        let file = setup.data.join(name);
        std::fs::write(&file, &crl.body).unwrap();
        let (ok, text) = openssl(
            &setup.data,
            &["crl", "-inform", "DER", "-in", s(&file), "-noout", "-text"],
        );
        assert!(ok, "{text}");
        text.contains(&serial)
    };

    let good = setup.server.get(&path);
    assert_eq!(good.status, 200);
    assert!(status_of(&good.body, "good.der").contains("Cert Status: good"));
    // Served again from the cache: the same signed bytes.
    assert_eq!(setup.server.get(&path).body, good.body);
    assert!(!crl_lists("before.crl"));

    setup.revoke(&leaf, "keyCompromise");
    let after = setup.server.get(&path);
    assert_eq!(after.status, 200);
    let text = status_of(&after.body, "after.der");
    assert!(text.contains("Cert Status: revoked"), "{text}");
    assert!(crl_lists("after.crl"), "the CRL does not list {serial}");
}
