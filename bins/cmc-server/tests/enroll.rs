//! End to end: `cmc-tool enroll` (the cmc-tool library, parsed from a
//! command line as the binary does) against the built `cmc-server` on an
//! ephemeral loopback port, on the embedded default set up at first start.
//! Every issued certificate is checked with `openssl verify` and pkilint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use cmc_testkit::{pkilint_available, pkilint_clean};
use common::{Backend, Server, TestStore, cmc_tool, cmc_tool_io, openssl, s, start, write_config};

const CONFIG: &str = "[server]\nlisten = \"127.0.0.1:0\"\n";

/// The server and the bootstrap RA files it created.
struct Setup {
    _tmp: tempfile::TempDir,
    server: Server,
    data: PathBuf,
    url: String,
    /// Dropped after the server has been stopped.
    _store: TestStore,
}

fn setup() -> Setup {
    setup_with_profiles("")
}

/// A server on the embedded default with `profiles` as its profiles file
/// (none when empty), its store on `store`.
fn setup_on(profiles: &str, store: TestStore) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = store.config_line.clone();
    if !profiles.is_empty() {
        std::fs::write(tmp.path().join("profiles.toml"), profiles).unwrap();
        config.push_str("profiles = \"profiles.toml\"\n");
    }
    config.push_str(CONFIG);
    write_config(tmp.path(), &config);
    let server = start(tmp.path());
    let data = tmp.path().join("cmc-data");
    let url = format!("http://{}/cmc/root", server.addr);
    Setup {
        _tmp: tmp,
        server,
        data,
        url,
        _store: store,
    }
}

impl Setup {
    /// `cmc-tool enroll` with the bootstrap RA as signer, verifying the
    /// response against the root, and `extra` deciding what is requested.
    fn enroll(&self, name: &str, extra: &[&str]) -> Result<PathBuf, String> {
        let cert = self.data.join(format!("{name}.pem"));
        let chain = self.data.join(format!("{name}-chain.pem"));
        let mut args = vec!["--out-chain", s(&chain)];
        args.extend_from_slice(extra);
        self.enroll_as_ra(&cert, &args)?;
        let chain_text = std::fs::read_to_string(&chain).unwrap();
        assert!(chain_text.contains("BEGIN CERTIFICATE"), "{chain_text}");
        Ok(cert)
    }

    /// `cmc-tool enroll` to this server, signed by the bootstrap RA, the
    /// certificate to `cert`, with `extra`; what it printed.
    fn enroll_as_ra(&self, cert: &Path, extra: &[&str]) -> Result<String, String> {
        let signer = common::bootstrap_enroll_args(&self.data);
        let mut args = vec!["enroll", "--url", &self.url, "--out-cert", s(cert)];
        args.extend(signer.iter().map(String::as_str));
        args.extend_from_slice(extra);
        cmc_tool(&args)
    }

    fn root(&self) -> PathBuf {
        self.data.join("root.pem")
    }
}

/// openssl verify against the root, and the key type openssl sees.
fn check_cert(dir: &Path, root: &Path, cert: &Path, subject: &str, key_text: &str) {
    let (ok, out) = openssl(dir, &["verify", "-CAfile", s(root), s(cert)]);
    assert!(ok && out.contains(": OK"), "{out}");
    let (ok, text) = openssl(dir, &["x509", "-in", s(cert), "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains(subject), "{subject} not in\n{text}");
    assert!(text.contains(key_text), "{key_text} not in\n{text}");
    // The CA signs with its own P-384 key and SHA-384 (RFC 5758).
    assert!(text.contains("ecdsa-with-SHA384"), "{text}");
}

#[test]
fn cmc_tool_enrolls_p256_p384_and_rsa_keys_with_pkcs10_and_crmf() {
    let setup = setup();
    let lint = pkilint_available("cmc_tool_enrolls_p256_p384_and_rsa_keys_with_pkcs10_and_crmf");
    let cases = [
        ("p256", "NIST CURVE: P-256"),
        ("p384", "NIST CURVE: P-384"),
        ("rsa2048", "Public-Key: (2048 bit)"),
    ];
    let mut serials = Vec::new();
    for (key_type, key_text) in cases {
        for crmf in [false, true] {
            let format = if crmf { "crmf" } else { "pkcs10" };
            let name = format!("{key_type}-{format}");
            let subject = format!("CN={name}.example.test");
            let key = setup.data.join(format!("{name}.key"));
            let mut extra = vec![
                "--new-key",
                s(&key),
                "--new-key-unencrypted",
                "--key-type",
                key_type,
                "--subject",
                &subject,
            ];
            if crmf {
                extra.push("--crmf");
            }
            let cert = setup
                .enroll(&name, &extra)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            check_cert(
                &setup.data,
                &setup.root(),
                &cert,
                &format!("{name}.example.test"),
                key_text,
            );
            // The certificate holds the key that was written.
            let (ok, cert_key) =
                openssl(&setup.data, &["x509", "-in", s(&cert), "-noout", "-pubkey"]);
            assert!(ok, "{cert_key}");
            let (ok, file_key) = openssl(&setup.data, &["pkey", "-in", s(&key), "-pubout"]);
            assert!(ok, "{file_key}");
            assert_eq!(cert_key, file_key, "{name}");
            if lint {
                pkilint_clean("lint_pkix_cert", &[], &cert);
            }
            let (_, serial) = openssl(&setup.data, &["x509", "-in", s(&cert), "-noout", "-serial"]);
            serials.push(serial);
        }
    }
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 6, "{serials:?}");
    let metrics = setup.server.get("/metrics").text();
    assert!(
        metrics
            .lines()
            .any(|l| l == "cmc_certificates_issued_total 6"),
        "{metrics}"
    );
}

#[test]
fn cmc_tool_enrolls_an_openssl_csr_and_reports_a_refusal() {
    openssl_csr_enrolled_and_bad_csr_refused(
        Backend::Sqlite,
        "cmc_tool_enrolls_an_openssl_csr_and_reports_a_refusal",
    );
}

#[test]
fn cmc_tool_enrolls_an_openssl_csr_on_postgresql() {
    openssl_csr_enrolled_and_bad_csr_refused(
        Backend::Postgres,
        "cmc_tool_enrolls_an_openssl_csr_on_postgresql",
    );
}

/// An OpenSSL CSR enrolled by the bootstrap RA, and one with a broken
/// self-signature refused with popFailed, on `backend`.
fn openssl_csr_enrolled_and_bad_csr_refused(backend: Backend, test: &str) {
    let Some(store) = TestStore::new(backend, test) else {
        return;
    };
    let setup = setup_on("", store);
    let dir = &setup.data;
    let key = dir.join("openssl.key");
    let csr = dir.join("openssl.csr");
    let (ok, out) = openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            s(&key),
            "-subj",
            "/CN=openssl.example.test",
            "-out",
            s(&csr),
        ],
    );
    assert!(ok, "{out}");
    let cert = setup.enroll("openssl", &["--csr", s(&csr)]).unwrap();
    check_cert(
        dir,
        &setup.root(),
        &cert,
        "openssl.example.test",
        "NIST CURVE: P-256",
    );
    if pkilint_available(test) {
        pkilint_clean("lint_pkix_cert", &[], &cert);
    }

    // A CSR whose self-signature does not verify: the server answers with a
    // signed popFailed, and cmc-tool reports it and writes nothing.
    let mut der = {
        let (ok, out) = openssl(
            dir,
            &[
                "req",
                "-in",
                s(&csr),
                "-outform",
                "DER",
                "-out",
                s(&dir.join("csr.der")),
            ],
        );
        assert!(ok, "{out}");
        std::fs::read(dir.join("csr.der")).unwrap()
    };
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let broken = dir.join("broken.der");
    std::fs::write(&broken, &der).unwrap();
    let err = setup.enroll("broken", &["--csr", s(&broken)]).unwrap_err();
    assert!(err.contains("popFailed"), "{err}");
    assert!(!dir.join("broken.pem").exists());
}

/// Profiles for the shared-secret tests: the built-in `default`, and
/// `linked`, which requires a popLinkWitnessV2.
const SECRET_PROFILES: &str = "default_profile = \"default\"\n[profile.default]\n[profile.linked]\nrequire_pop_link_witness = true\n";

/// A server whose profiles file has `linked`.
fn secret_setup() -> Setup {
    setup_with_profiles(SECRET_PROFILES)
}

/// A server on the embedded default (SQLite) with this profiles file.
fn setup_with_profiles(profiles: &str) -> Setup {
    let store = TestStore::new(Backend::Sqlite, "").expect("SQLite needs no server");
    setup_on(profiles, store)
}

impl Setup {
    fn config(&self) -> PathBuf {
        self.data.parent().unwrap().join("cmc.toml")
    }

    /// `cmc-tool secret add` for `id`: the printed secret, saved to a
    /// file (0600) whose path is returned.
    fn add_secret(&self, id: &str, extra: &[&str]) -> PathBuf {
        let secret = common::add_root_secret(&self.config(), id, extra);
        let path = self.data.join(format!("{id}.secret"));
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        path
    }

    /// `cmc-tool enroll` proving identity with the secret in
    /// `secret_file`; the new key goes to NAME.key.
    fn enroll_with_secret(
        &self,
        name: &str,
        id: &str,
        secret_file: &Path,
        extra: &[&str],
    ) -> Result<PathBuf, String> {
        let cert = self.data.join(format!("{name}.pem"));
        let key = self.data.join(format!("{name}.key"));
        let root = self.root();
        let mut args = vec![
            "enroll",
            "--url",
            &self.url,
            "--ca-cert",
            s(&root),
            "--identification",
            id,
            "--secret-file",
            s(secret_file),
            "--new-key",
            s(&key),
            "--new-key-unencrypted",
            "--subject",
            "CN=alice.example.test",
            "--out-cert",
            s(&cert),
        ];
        args.extend_from_slice(extra);
        cmc_tool(&args).map(|_| cert)
    }

    /// `cmc-tool enroll` signed by `cert` and `key` (a renewal); `what`
    /// names the request (`--new-key ...` or `--csr ...`).
    fn renew(&self, name: &str, cert: &Path, key: &Path, what: &[&str]) -> Result<PathBuf, String> {
        let out = self.data.join(format!("{name}.pem"));
        let root = self.root();
        let mut args = vec![
            "enroll",
            "--url",
            &self.url,
            "--ca-cert",
            s(&root),
            "--signer-cert",
            s(cert),
            "--signer-key",
            s(key),
            "--unencrypted-key",
            "--out-cert",
            s(&out),
        ];
        args.extend_from_slice(what);
        cmc_tool(&args).map(|_| out)
    }
}

#[test]
fn a_shared_secret_enrolls_once_and_the_certificate_renews_itself() {
    let setup = secret_setup();
    let dir = &setup.data;
    let secret = setup.add_secret("alice", &["--expires", "1h"]);

    // The first certificate: the new key signs, identityProofV2 vouches.
    let cert = setup
        .enroll_with_secret("alice", "alice", &secret, &[])
        .unwrap();
    check_cert(
        dir,
        &setup.root(),
        &cert,
        "alice.example.test",
        "NIST CURVE: P-256",
    );
    if pkilint_available("a_shared_secret_enrolls_once_and_the_certificate_renews_itself") {
        pkilint_clean("lint_pkix_cert", &[], &cert);
    }

    // The secret is spent: badIdentity for the whole message, nothing
    // written.
    let err = setup
        .enroll_with_secret("again", "alice", &secret, &[])
        .unwrap_err();
    assert!(
        err.contains("status: failed, failInfo: badIdentity, bodyList: [0]"),
        "{err}"
    );
    assert!(!dir.join("again.pem").exists());
    // An identification nobody registered: the same answer.
    let err = setup
        .enroll_with_secret("mallory", "mallory", &secret, &[])
        .unwrap_err();
    assert!(
        err.contains("status: failed, failInfo: badIdentity, bodyList: [0]"),
        "{err}"
    );

    // Renewal with a new key, signed by the certificate and its key.
    let key = dir.join("alice.key");
    let new_key = dir.join("alice-2.key");
    let renewed = setup
        .renew(
            "alice-2",
            &cert,
            &key,
            &[
                "--new-key",
                s(&new_key),
                "--new-key-unencrypted",
                "--subject",
                "CN=alice.example.test",
            ],
        )
        .unwrap();
    check_cert(
        dir,
        &setup.root(),
        &renewed,
        "alice.example.test",
        "NIST CURVE: P-256",
    );
    // The same key again: noKeyReuse for that request.
    let csr = dir.join("same-key.csr");
    let (ok, out) = openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            s(&key),
            "-subj",
            "/CN=alice.example.test",
            "-out",
            s(&csr),
        ],
    );
    assert!(ok, "{out}");
    let err = setup
        .renew("same-key", &cert, &key, &["--csr", s(&csr)])
        .unwrap_err();
    assert!(
        err.contains("status: failed, failInfo: noKeyReuse, bodyList: [3]"),
        "{err}"
    );
    assert!(!dir.join("same-key.pem").exists());

    let list = cmc_tool(&["--config", s(&setup.config()), "secret", "list"]).unwrap();
    assert!(
        list.lines()
            .any(|l| l.contains("alice") && l.contains("used")),
        "{list}"
    );
    assert!(!list.contains(std::fs::read_to_string(&secret).unwrap().trim()));
}

#[test]
fn cmc_tool_links_every_shared_secret_request_to_its_key() {
    // cmc-tool always sends popLinkRandom + popLinkWitnessV2 with a secret
    // (the CA requires them: RFC 5272 §6.3.1), inside PKCS #10 attributes
    // or CRMF controls, with the secret's hash family.
    let setup = secret_setup();
    for (name, extra) in [("carol", &[][..]), ("dave", &["--crmf"][..])] {
        let secret = setup.add_secret(name, &["--profile", "linked", "--hash", "sha384"]);
        let mut args = vec!["--proof-hash", "sha384"];
        args.extend_from_slice(extra);
        let cert = setup
            .enroll_with_secret(name, name, &secret, &args)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        check_cert(
            &setup.data,
            &setup.root(),
            &cert,
            "alice.example.test",
            "NIST CURVE: P-256",
        );
    }
}

#[test]
fn an_ra_batch_of_three_nested_requests_with_one_bad_signature() {
    let setup = setup();
    let dir = &setup.data;
    // Three end entities' requests, each signed with its new key.
    let mut files = Vec::new();
    for name in ["ee-1", "ee-2", "ee-3"] {
        let key = dir.join(format!("{name}.key"));
        let out = dir.join(format!("{name}.req"));
        let subject = format!("CN={name}.example.test");
        cmc_tool(&[
            "request",
            "--self-signed",
            "--new-key",
            s(&key),
            "--new-key-unencrypted",
            "--subject",
            &subject,
            "--out",
            s(&out),
        ])
        .unwrap();
        files.push(out);
    }
    // The second one's signature no longer verifies.
    let mut der = std::fs::read(&files[1]).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    std::fs::write(&files[1], der).unwrap();

    let cert = dir.join("batch.pem");
    let mut args = Vec::new();
    for f in &files {
        args.extend(["--nested", s(f)]);
    }
    args.push("--batch");
    let err = setup.enroll_as_ra(&cert, &args).unwrap_err();
    // The top level names the parts: 100 and 102 processed, 101 refused.
    assert!(
        err.contains("status: success, bodyList: [100, 102]"),
        "{err}"
    );
    assert!(
        err.contains("status: failed, failInfo: badMessageCheck, bodyList: [101]"),
        "{err}"
    );
    // Each nested answer names the end entity's own request (id 3).
    assert_eq!(err.matches("nested ").count(), 2, "{err}");
    assert!(err.contains("status: success, bodyList: [3]"), "{err}");
    assert!(
        err.contains("the CA answered failed (badMessageCheck)"),
        "{err}"
    );
    // The two certificates that were issued are written, and verify.
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "{pem}");
    for (i, name) in ["ee-1", "ee-3"].iter().enumerate() {
        let one = dir.join(format!("{name}.pem"));
        let block = pem
            .split_inclusive("-----END CERTIFICATE-----\n")
            .nth(i)
            .unwrap();
        std::fs::write(&one, block).unwrap();
        check_cert(
            dir,
            &setup.root(),
            &one,
            &format!("{name}.example.test"),
            "NIST CURVE: P-256",
        );
    }
    let metrics = setup.server.get("/metrics").text();
    assert!(
        metrics
            .lines()
            .any(|l| l == "cmc_certificates_issued_total 2"),
        "{metrics}"
    );
}

#[test]
fn an_encryption_only_rsa_key_goes_through_both_pop_rounds() {
    let setup = setup();
    let dir = &setup.data;
    let cases = [
        ("rsa2048", "Public-Key: (2048 bit)"),
        ("p256", "NIST CURVE: P-256"),
    ];
    for (key_type, key_text) in cases {
        let name = format!("decrypt-{key_type}");
        let key = dir.join(format!("{name}.key"));
        let cert = dir.join(format!("{name}.pem"));
        let subject = format!("CN={name}.example.test");
        let args = [
            "--new-key",
            s(&key),
            "--new-key-unencrypted",
            "--key-type",
            key_type,
            "--crmf",
            "--encryption-only",
            "--transaction-id",
            "0badcafe",
            "--subject",
            &subject,
        ];
        let out = setup
            .enroll_as_ra(&cert, &args)
            .unwrap_or_else(|e| panic!("{key_type}: {e}"));
        // Round 1: popRequired with the challenge; round 2: success.
        assert!(
            out.contains("status: popRequired, failInfo: popRequired, bodyList: [3]"),
            "{out}"
        );
        assert!(out.contains("encryptedPOP: 1 challenge(s) opened"), "{out}");
        assert!(out.contains("status: success, bodyList: [3]"), "{out}");
        check_cert(
            dir,
            &setup.root(),
            &cert,
            &format!("{name}.example.test"),
            key_text,
        );
    }
    let metrics = setup.server.get("/metrics").text();
    assert!(
        metrics
            .lines()
            .any(|l| l == "cmc_certificates_issued_total 2"),
        "{metrics}"
    );
}

#[test]
fn a_revocation_secret_revokes_with_an_unsigned_request() {
    revocation_secret_revokes(
        Backend::Sqlite,
        "a_revocation_secret_revokes_with_an_unsigned_request",
    );
}

#[test]
fn a_revocation_secret_revokes_on_postgresql() {
    revocation_secret_revokes(
        Backend::Postgres,
        "a_revocation_secret_revokes_on_postgresql",
    );
}

/// Enroll with a one-time secret, revoke with a revocation secret, and
/// find the certificate on the next CRL, on `backend`.
fn revocation_secret_revokes(backend: Backend, test: &str) {
    let Some(store) = TestStore::new(backend, test) else {
        return;
    };
    let setup = setup_on(SECRET_PROFILES, store);
    let dir = &setup.data;
    let secret = setup.add_secret("erin", &[]);
    let cert = setup
        .enroll_with_secret("erin", "erin", &secret, &[])
        .unwrap();
    let (ok, serial) = openssl(dir, &["x509", "-in", s(&cert), "-noout", "-serial"]);
    assert!(ok, "{serial}");
    let serial = serial.trim().trim_start_matches("serial=").to_owned();

    // The operator registers a revocation secret for it, and hands it over.
    let config = setup.config();
    let (out, err) = cmc_tool_io(&[
        "--config",
        s(&config),
        "secret",
        "add-revocation",
        "--ca",
        "root",
        "--serial",
        &serial,
    ])
    .unwrap();
    assert!(err.contains("shown only now"), "{err}");
    let revocation = dir.join("erin.revoke");
    std::fs::write(&revocation, out.trim()).unwrap();

    let root = setup.root();
    let revoke = |secret_file: &Path| {
        cmc_tool(&[
            "revoke",
            "--url",
            &setup.url,
            "--ca-cert",
            s(&root),
            "--cert",
            s(&cert),
            "--reason",
            "keyCompromise",
            "--secret-file",
            s(secret_file),
        ])
    };
    // The enrollment secret is not the revocation secret: badIdentity.
    let err = revoke(&secret).unwrap_err();
    assert!(
        err.contains("status: failed, failInfo: badIdentity, bodyList: [4]"),
        "{err}"
    );
    let out = revoke(&revocation).unwrap();
    assert!(out.contains("status: success, bodyList: [4]"), "{out}");

    // The next CRL lists it, with the reason.
    let crl = setup.server.get("/crl/root.crl");
    let crl_file = dir.join("root.crl");
    std::fs::write(&crl_file, &crl.body).unwrap();
    let (ok, text) = openssl(
        dir,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            s(&crl_file),
            "-noout",
            "-text",
        ],
    );
    assert!(ok, "{text}");
    assert!(text.contains(&serial), "{serial} not in\n{text}");
    assert!(text.contains("Key Compromise"), "{text}");
}

const HELD_PROFILES: &str = "default_profile = \"held\"\n[profile.held]\nrequire_approval = true\n";

#[test]
fn a_held_request_is_approved_or_rejected_and_fetched_with_query_pending() {
    held_request_approved_or_rejected(
        Backend::Sqlite,
        "a_held_request_is_approved_or_rejected_and_fetched_with_query_pending",
    );
}

#[test]
fn a_held_request_is_approved_or_rejected_on_postgresql() {
    held_request_approved_or_rejected(
        Backend::Postgres,
        "a_held_request_is_approved_or_rejected_on_postgresql",
    );
}

/// The pending queue end to end on `backend`: held, queried, approved
/// with edits and fetched; held and rejected with a reason.
fn held_request_approved_or_rejected(backend: Backend, test: &str) {
    let Some(store) = TestStore::new(backend, test) else {
        return;
    };
    let setup = setup_on(HELD_PROFILES, store);
    let dir = &setup.data;
    let config = setup.config();
    let ask = |name: &str| {
        let key = dir.join(format!("{name}.key"));
        let cert = dir.join(format!("{name}.pem"));
        let subject = format!("CN={name}.example.test");
        let args = [
            "--new-key",
            s(&key),
            "--new-key-unencrypted",
            "--subject",
            &subject,
        ];
        let out = setup
            .enroll_as_ra(&cert, &args)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out.contains("status: pending, bodyList: [3]"), "{out}");
        assert!(out.contains("--query-pending"), "{out}");
        (key, cert)
    };
    let query = |name: &str, token: &str| {
        let cert = dir.join(format!("{name}.pem"));
        let chain = dir.join(format!("{name}-chain.pem"));
        setup.enroll_as_ra(&cert, &["--out-chain", s(&chain), "--query-pending", token])
    };
    // Held: no certificate yet, the key is kept.
    let (key, cert) = ask("held");
    assert!(!cert.exists());
    assert!(key.exists());
    let list = cmc_tool(&[
        "--config",
        s(&config),
        "pending",
        "list",
        "--waiting",
        "--json",
    ])
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = v[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(v[0]["client"], "bootstrap-ra");

    // Asking again before a decision: still pending.
    let out = query("held", &id).unwrap();
    assert!(out.contains("status: pending, bodyList: [9]"), "{out}");
    assert!(!cert.exists());

    // Approved with another subject; the query brings the certificate.
    cmc_tool(&[
        "--config",
        s(&config),
        "pending",
        "approve",
        &id,
        "--subject",
        "CN=approved.example.test",
        "--dns",
        "approved.example.test",
    ])
    .unwrap();
    let out = query("held", &id).unwrap();
    assert!(out.contains("status: success, bodyList: [9]"), "{out}");
    check_cert(
        dir,
        &setup.root(),
        &cert,
        "approved.example.test",
        "NIST CURVE: P-256",
    );
    let (ok, text) = openssl(dir, &["x509", "-in", s(&cert), "-noout", "-text"]);
    assert!(ok && text.contains("DNS:approved.example.test"), "{text}");
    assert_certifies(dir, &cert, &key);

    // Rejected: the query fails with the reason.
    ask("refused");
    let list = cmc_tool(&[
        "--config",
        s(&config),
        "pending",
        "list",
        "--waiting",
        "--json",
    ])
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = v[0]["id"].as_str().unwrap().to_owned();
    // While it waits, the policy's decision: what approving would issue.
    let shown = cmc_tool(&["--config", s(&config), "pending", "show", &id]).unwrap();
    assert!(shown.contains("would issue subject"), "{shown}");
    assert!(shown.contains("refused.example.test"), "{shown}");
    let json = cmc_tool(&["--config", s(&config), "pending", "show", &id, "--json"]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["state"], "pending", "{json}");
    assert!(v["policy"]["decision"]["not_after"].is_string(), "{json}");
    assert!(v["policy"]["names_outside"].is_null(), "{json}");
    cmc_tool(&[
        "--config",
        s(&config),
        "pending",
        "reject",
        &id,
        "--reason",
        "not known here",
    ])
    .unwrap();
    let err = query("refused", &id).unwrap_err();
    assert!(
        err.contains("status: failed, failInfo: badRequest, bodyList: [9]"),
        "{err}"
    );
    assert!(err.contains("not known here"), "{err}");
    let shown = cmc_tool(&["--config", s(&config), "pending", "show", &id]).unwrap();
    assert!(shown.contains("rejected"), "{shown}");
    assert!(shown.contains("refused.example.test"), "{shown}");
}

#[test]
fn a_secret_fetches_its_held_request_with_the_held_key() {
    let setup = setup_with_profiles(HELD_PROFILES);
    let dir = &setup.data;
    let config = setup.config();
    let secret = setup.add_secret("alice", &[]);
    // Held: the key is kept, the secret is not spent.
    let cert = setup
        .enroll_with_secret("alice", "alice", &secret, &[])
        .unwrap();
    assert!(!cert.exists());
    let key = dir.join("alice.key");
    assert!(key.exists());
    let list = cmc_tool(&[
        "--config",
        s(&config),
        "pending",
        "list",
        "--waiting",
        "--json",
    ])
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let token = v[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(v[0]["client"], "secret:alice");
    let root = setup.root();
    let query = || {
        cmc_tool(&[
            "enroll",
            "--url",
            &setup.url,
            "--ca-cert",
            s(&root),
            "--identification",
            "alice",
            "--secret-file",
            s(&secret),
            "--query-pending",
            &token,
            "--held-key",
            s(&key),
            "--unencrypted-key",
            "--out-cert",
            s(&cert),
        ])
    };
    let out = query().unwrap();
    assert!(out.contains("status: pending"), "{out}");
    assert!(!cert.exists());
    cmc_tool(&["--config", s(&config), "pending", "approve", &token]).unwrap();
    // The secret is spent by the approval, and still fetches the certificate.
    let out = query().unwrap();
    assert!(out.contains("status: success"), "{out}");
    check_cert(dir, &root, &cert, "alice.example.test", "NIST CURVE: P-256");
    assert_certifies(dir, &cert, &key);
    // Spent: a new enrollment with it is refused.
    let err = setup
        .enroll_with_secret("alice-again", "alice", &secret, &[])
        .unwrap_err();
    assert!(err.contains("failInfo: badIdentity"), "{err}");
}

/// OpenSSL derives the same public key from `cert` and from the key file.
fn assert_certifies(dir: &Path, cert: &Path, key: &Path) {
    let (ok, cert_key) = openssl(dir, &["x509", "-in", s(cert), "-noout", "-pubkey"]);
    assert!(ok);
    let (ok, file_key) = openssl(dir, &["pkey", "-in", s(key), "-pubout"]);
    assert!(ok);
    assert_eq!(cert_key, file_key);
}
