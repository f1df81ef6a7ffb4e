//! The CMP front door end to end: the real `openssl cmp` client (OpenSSL
//! 3.x) against a running `cmc-server` on the embedded default (root CA
//! "root" on SQLite), with credentials made by `cmc-tool client add`.
//! Every answer of the server is signed with the CA key, so the client
//! trusts `cmc-data/root.pem` and needs `-ignore_keyusage` (a CA
//! certificate has no digitalSignature key usage).
//!
//! Skipped (with a message) where `openssl cmp` is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{Server, openssl, s, start};
use der::Decode;
use proto_cmp::{FailureBit, PkiBody, PkiStatus};

const PKIXCMP: &str = "application/pkixcmp";

struct Cmp {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    server: Server,
}

impl Cmp {
    fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        common::write_config(&dir, "[server]\nlisten = \"127.0.0.1:0\"\n");
        let server = start(&dir);
        Self {
            _tmp: tmp,
            dir,
            server,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A registered client ID with role ROLE: ID.pem and ID.key.
    fn add_client(&self, id: &str, role: &str, subject: &str) {
        common::add_root_client(&self.file("cmc.toml"), &self.dir, id, role, subject);
    }

    /// A fresh P-256 key NAME.key.
    fn key(&self, name: &str) -> PathBuf {
        let path = self.file(&format!("{name}.key"));
        let (ok, out) = openssl(
            &self.dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                s(&path),
            ],
        );
        assert!(ok, "{out}");
        path
    }

    /// `openssl cmp` against the server's default CMP path, signed with
    /// the credential SIGNER (SIGNER.pem, SIGNER.key); `args` add the
    /// command and its request. Returns (success, output).
    fn cmp(&self, signer: &str, args: &[&str]) -> (bool, String) {
        let cert = self.file(&format!("{signer}.pem"));
        let key = self.file(&format!("{signer}.key"));
        let mut all = vec![
            "cmp",
            "-server",
            &self.server.addr,
            "-path",
            ".well-known/cmp",
            "-cert",
            s(&cert),
            "-key",
            s(&key),
        ];
        all.extend_from_slice(args);
        self.cmp_raw(&all)
    }

    fn cmp_raw(&self, args: &[&str]) -> (bool, String) {
        let root = self.file("cmc-data/root.pem");
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(&[
            "-trusted",
            s(&root),
            "-ignore_keyusage",
            "-msg_timeout",
            "60",
        ]);
        openssl(&self.dir, &all)
    }

    /// `openssl verify -CAfile cmc-data/root.pem CERT` succeeds.
    fn verify(&self, cert: &Path) {
        let root = self.file("cmc-data/root.pem");
        let (ok, out) = openssl(&self.dir, &["verify", "-CAfile", s(&root), s(cert)]);
        assert!(ok && out.contains(": OK"), "{out}");
    }

    fn subject(&self, cert: &Path) -> String {
        let (ok, out) = openssl(
            &self.dir,
            &[
                "x509",
                "-in",
                s(cert),
                "-noout",
                "-subject",
                "-nameopt",
                "RFC2253",
            ],
        );
        assert!(ok, "{out}");
        out.trim().trim_start_matches("subject=").to_owned()
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> common::Response {
        self.server.post(path, content_type, body)
    }
}

/// The `error` body of a CMP answer: its status and failure bits.
fn error_of(body: &[u8]) -> (PkiStatus, Vec<FailureBit>, String) {
    let message = proto_cmp::PkiMessage::from_der(body).unwrap();
    let PkiBody::Error(e) = message.body else {
        panic!("not an error message: {:?}", message.body.name());
    };
    let info = e.pki_status_info;
    (
        info.status,
        info.fail_info
            .map(|f| f.bits().collect())
            .unwrap_or_default(),
        info.status_string.unwrap_or_default().join(" "),
    )
}

/// cr and ir signed by an RA with raVerified (`-popo 0`) issue, and the
/// certificate verifies against the root; the extraCerts hold the root.
/// The same from an end-entity client is refused with badPop (an end
/// entity cannot vouch for a key it may not hold).
#[test]
fn ra_raverified_issues_and_end_entity_raverified_is_refused() {
    if !cmc_testkit::openssl_cmp_available(
        "ra_raverified_issues_and_end_entity_raverified_is_refused",
    ) {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("ra", "ra", "CN=CMP RA");
    cmp.add_client("device-1", "client", "CN=device-1.example.test");

    for command in ["cr", "ir"] {
        let key = cmp.key(&format!("ra-{command}"));
        let out_cert = cmp.file(&format!("ra-{command}.pem"));
        let chain = cmp.file(&format!("ra-{command}-chain.pem"));
        let subject = format!("/CN={command}.ra.example.test");
        let (ok, out) = cmp.cmp(
            "ra",
            &[
                "-cmd",
                command,
                "-newkey",
                s(&key),
                "-subject",
                &subject,
                "-popo",
                "0",
                "-certout",
                s(&out_cert),
                "-extracertsout",
                s(&chain),
            ],
        );
        assert!(ok, "{command}: {out}");
        cmp.verify(&out_cert);
        assert_eq!(
            cmp.subject(&out_cert),
            format!("CN={command}.ra.example.test")
        );
        let chain = std::fs::read_to_string(&chain).unwrap();
        let root = std::fs::read_to_string(cmp.file("cmc-data/root.pem")).unwrap();
        assert!(chain.contains(root.trim()), "extraCerts: {chain}");
    }

    // The attack: an end entity claims raVerified.
    let key = cmp.key("ee-popo0");
    let out_cert = cmp.file("ee-popo0.pem");
    let (ok, out) = cmp.cmp(
        "device-1",
        &[
            "-cmd",
            "cr",
            "-newkey",
            s(&key),
            "-subject",
            "/CN=device-1.example.test",
            "-popo",
            "0",
            "-certout",
            s(&out_cert),
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("badPOP"), "{out}");
    assert!(!out_cert.exists());

    // The same end entity with a signature POPO (the default) gets its name.
    let (ok, out) = cmp.cmp(
        "device-1",
        &[
            "-cmd",
            "cr",
            "-newkey",
            s(&key),
            "-subject",
            "/CN=device-1.example.test",
            "-certout",
            s(&out_cert),
        ],
    );
    assert!(ok, "{out}");
    cmp.verify(&out_cert);
    // And no other name (the engine's name rules).
    let other = cmp.file("ee-other.pem");
    let (ok, out) = cmp.cmp(
        "device-1",
        &[
            "-cmd",
            "cr",
            "-newkey",
            s(&key),
            "-subject",
            "/CN=someone-else.example.test",
            "-certout",
            s(&other),
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("badRequest"), "{out}");
    assert!(!other.exists());
}

/// p10cr with a CSR made by `openssl req`, signed by the RA.
#[test]
fn p10cr_with_a_csr_issues() {
    if !cmc_testkit::openssl_cmp_available("p10cr_with_a_csr_issues") {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let key = cmp.key("p10");
    let csr = cmp.file("p10.csr");
    let (ok, out) = openssl(
        &cmp.dir,
        &[
            "req",
            "-new",
            "-key",
            s(&key),
            "-subj",
            "/CN=p10.example.test",
            "-out",
            s(&csr),
        ],
    );
    assert!(ok, "{out}");
    let out_cert = cmp.file("p10.pem");
    let (ok, out) = cmp.cmp(
        "ra",
        &["-cmd", "p10cr", "-csr", s(&csr), "-certout", s(&out_cert)],
    );
    assert!(ok, "{out}");
    cmp.verify(&out_cert);
    assert_eq!(cmp.subject(&out_cert), "CN=p10.example.test");
}

/// A request sent a second time, byte for byte, is refused with
/// badSenderNonce through the engine's replay store; garbage is HTTP 400,
/// another media type 415, a GET 405, an unknown CA 404.
#[test]
fn replayed_message_and_non_cmp_input() {
    if !cmc_testkit::openssl_cmp_available("replayed_message_and_non_cmp_input") {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let key = cmp.key("replay");
    let req = cmp.file("replay-req.der");
    let out_cert = cmp.file("replay.pem");
    let (ok, out) = cmp.cmp(
        "ra",
        &[
            "-cmd",
            "cr",
            "-newkey",
            s(&key),
            "-subject",
            "/CN=replay.example.test",
            "-popo",
            "0",
            "-certout",
            s(&out_cert),
            "-reqout",
            s(&req),
        ],
    );
    assert!(ok, "{out}");
    // -reqout takes one file per request; the first is the cr.
    let bytes = std::fs::read(&req).unwrap();
    let r = cmp.post("/.well-known/cmp", PKIXCMP, &bytes);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some(PKIXCMP));
    let (status, bits, text) = error_of(&r.body);
    assert_eq!(status, PkiStatus::Rejection);
    assert_eq!(bits, vec![FailureBit::BadSenderNonce], "{text}");
    // The same under the CA's own path.
    let r = cmp.post("/.well-known/cmp/p/root", PKIXCMP, &bytes);
    assert_eq!(error_of(&r.body).1, vec![FailureBit::BadSenderNonce]);

    let r = cmp.post("/.well-known/cmp", PKIXCMP, b"\x30\x03garbage");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = cmp.post("/.well-known/cmp", "application/pkcs10", &bytes);
    assert_eq!(r.status, 415, "{}", r.text());
    let r = cmp.server.get("/.well-known/cmp");
    assert_eq!(r.status, 405, "{}", r.text());
    let r = cmp.post("/.well-known/cmp/p/nosuchca", PKIXCMP, &bytes);
    assert_eq!(r.status, 404, "{}", r.text());
}

/// A certificate its requester rejects in certConf (here: it does not
/// verify against `-out_trusted`) is revoked: the CRL lists it.
#[test]
fn rejected_certificate_is_revoked() {
    if !cmc_testkit::openssl_cmp_available("rejected_certificate_is_revoked") {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let key = cmp.key("rejected");
    let out_cert = cmp.file("rejected.pem");
    // A trust anchor that is not our root: the new certificate fails the
    // client's check and it sends a rejecting certConf.
    let other = cmp.file("ra.pem");
    let (ok, out) = cmp.cmp(
        "ra",
        &[
            "-cmd",
            "cr",
            "-newkey",
            s(&key),
            "-subject",
            "/CN=rejected.example.test",
            "-popo",
            "0",
            "-out_trusted",
            s(&other),
            "-certout",
            s(&out_cert),
        ],
    );
    assert!(!ok, "{out}");
    let r = cmp.server.get("/crl/root.crl");
    assert_eq!(r.status, 200);
    let crl = cmp.file("root.crl");
    std::fs::write(&crl, &r.body).unwrap();
    let (ok, text) = openssl(
        &cmp.dir,
        &["crl", "-inform", "DER", "-in", s(&crl), "-noout", "-text"],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("Serial Number"),
        "nothing revoked: {text}\n{out}"
    );
}

/// MAC protection (`-ref`/`-secret`) is refused with wrongIntegrity for
/// now, in a signed error message, and issues nothing.
#[test]
fn mac_protection_is_refused_for_now() {
    if !cmc_testkit::openssl_cmp_available("mac_protection_is_refused_for_now") {
        return;
    }
    let cmp = Cmp::start();
    let secret = common::add_root_secret(&cmp.file("cmc.toml"), "device-9", &[]);
    let key = cmp.key("mac");
    let out_cert = cmp.file("mac.pem");
    let pass = format!("pass:{secret}");
    let (ok, out) = cmp.cmp_raw(&[
        "cmp",
        "-server",
        &cmp.server.addr,
        "-path",
        ".well-known/cmp",
        "-cmd",
        "ir",
        "-ref",
        "device-9",
        "-secret",
        &pass,
        "-recipient",
        "/CN=anything",
        "-newkey",
        s(&key),
        "-subject",
        "/CN=device-9.example.test",
        "-certout",
        s(&out_cert),
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("wrongIntegrity"), "{out}");
    assert!(!out_cert.exists());
}

/// The acme2certifier command of issue 16 with signature protection by
/// the RA instead of `-ref/-secret` (MAC is not served yet): ir with
/// `-recipient`, only the public key of the new key (`-newkey
/// pubkey.pem`), raVerified, `-extracertsout`; with `-implicit_confirm`
/// the server does not grant implicit confirmation and the client
/// confirms. Then cr by the holder of that certificate (renewal with a
/// new key), and genm, which is answered with the CA certificates.
#[test]
fn acme2certifier_style_ir_then_holder_renewal_and_genm() {
    if !cmc_testkit::openssl_cmp_available("acme2certifier_style_ir_then_holder_renewal_and_genm") {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let key = cmp.key("acme");
    let pubkey = cmp.file("pubkey.pem");
    let (ok, out) = openssl(
        &cmp.dir,
        &["pkey", "-in", s(&key), "-pubout", "-out", s(&pubkey)],
    );
    assert!(ok, "{out}");
    let out_cert = cmp.file("test-cert.pem");
    let ca_certs = cmp.file("ca_certs.pem");
    let (ok, out) = cmp.cmp(
        "ra",
        &[
            "-cmd",
            "ir",
            "-recipient",
            "/CN=tst_sub_ca",
            "-newkey",
            s(&pubkey),
            "-popo",
            "0",
            "-subject",
            "/CN=test-cert",
            "-implicit_confirm",
            "-extracertsout",
            s(&ca_certs),
            "-certout",
            s(&out_cert),
        ],
    );
    assert!(ok, "{out}");
    cmp.verify(&out_cert);
    let (ok, out) = openssl(&cmp.dir, &["verify", "-CAfile", s(&ca_certs), s(&out_cert)]);
    assert!(ok, "ca_certs.pem holds the chain: {out}");

    // The holder renews with a new key, protected by the certificate
    // being renewed.
    std::fs::copy(&out_cert, cmp.file("holder.pem")).unwrap();
    std::fs::copy(&key, cmp.file("holder.key")).unwrap();
    let new_key = cmp.key("renewed");
    let renewed = cmp.file("renewed.pem");
    let (ok, out) = cmp.cmp(
        "holder",
        &[
            "-cmd",
            "cr",
            "-newkey",
            s(&new_key),
            "-subject",
            "/CN=test-cert",
            "-certout",
            s(&renewed),
        ],
    );
    assert!(ok, "{out}");
    cmp.verify(&renewed);
    assert_eq!(cmp.subject(&renewed), "CN=test-cert");

    let (ok, out) = cmp.cmp("ra", &["-cmd", "genm"]);
    assert!(ok, "{out}");
    assert!(out.contains("id-it-caCerts"), "{out}");
}
