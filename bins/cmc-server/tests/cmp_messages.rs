//! rr, kur and genm end to end: the real `openssl cmp` client (OpenSSL 3.x)
//! against a running `cmc-server` on the embedded default (root CA "root"
//! on SQLite), signed with credentials made by `cmc-tool client add` or
//! with certificates the server issued. As in `cmp.rs`, the client trusts
//! `cmc-data/root.pem` and needs `-ignore_keyusage` (answers are signed
//! with the CA key).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{Server, openssl, s, start};

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

    /// `openssl cmp` against the default CMP path, protected by
    /// SIGNER.pem/SIGNER.key, trusting the root. Returns (success, output).
    fn cmp(&self, signer: &str, args: &[&str]) -> (bool, String) {
        let cert = self.file(&format!("{signer}.pem"));
        let key = self.file(&format!("{signer}.key"));
        let root = self.file("cmc-data/root.pem");
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
        all.extend_from_slice(&[
            "-trusted",
            s(&root),
            "-ignore_keyusage",
            "-msg_timeout",
            "60",
        ]);
        openssl(&self.dir, &all)
    }

    /// NAME.pem (and NAME.key) for SUBJECT, issued to the RA "ra" with
    /// raVerified.
    fn issue(&self, name: &str, subject: &str) -> PathBuf {
        let key = self.key(name);
        let cert = self.file(&format!("{name}.pem"));
        let (ok, out) = self.cmp(
            "ra",
            &[
                "-cmd",
                "cr",
                "-newkey",
                s(&key),
                "-subject",
                subject,
                "-popo",
                "0",
                "-certout",
                s(&cert),
            ],
        );
        assert!(ok, "{out}");
        cert
    }

    /// `openssl x509 -noout ARG` of CERT.
    fn x509(&self, cert: &Path, arg: &str) -> String {
        let (ok, out) = openssl(
            &self.dir,
            &["x509", "-in", s(cert), "-noout", arg, "-nameopt", "RFC2253"],
        );
        assert!(ok, "{out}");
        out.trim().to_owned()
    }

    fn serial(&self, cert: &Path) -> String {
        self.x509(cert, "-serial")
            .trim_start_matches("serial=")
            .to_ascii_uppercase()
    }

    /// `openssl crl -text` of the root's current CRL from the server.
    fn crl_text(&self) -> String {
        let r = self.server.get("/crl/root.crl");
        assert_eq!(r.status, 200);
        let crl = self.file("root.crl");
        std::fs::write(&crl, &r.body).unwrap();
        let (ok, text) = openssl(
            &self.dir,
            &["crl", "-inform", "DER", "-in", s(&crl), "-noout", "-text"],
        );
        assert!(ok, "{text}");
        text
    }

    /// The reason the CRL gives for SERIAL (upper-case hex), if listed.
    fn crl_reason(&self, serial: &str) -> Option<String> {
        let text = self.crl_text();
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            let Some(listed) = line.strip_prefix("Serial Number: ") else {
                continue;
            };
            if listed.trim_start_matches('0') != serial.trim_start_matches('0') {
                continue;
            }
            let mut reason = String::from("(none)");
            for l in lines.by_ref() {
                if l.starts_with("Serial Number: ") || l.starts_with("Signature Algorithm") {
                    break;
                }
                if l.starts_with("X509v3 CRL Reason Code") {
                    continue;
                }
                if !l.starts_with("Revocation Date") && !l.starts_with("CRL entry extensions") {
                    reason = l.to_owned();
                }
            }
            return Some(reason);
        }
        None
    }
}

/// `openssl cmp -cmd rr`: the holder revokes its own certificate with a
/// reason (the CRL lists it with that reason) but not another's
/// (notAuthorized); the RA revokes an end entity's (superseded), a second
/// time is certRevoked, and a certificate the CA never issued is
/// badCertId.
#[test]
fn rr_by_holder_and_ra() {
    if !cmc_testkit::openssl_cmp_available("rr_by_holder_and_ra") {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let a = cmp.issue("a", "/CN=a.example.test");
    let b = cmp.issue("b", "/CN=b.example.test");

    // b tries to revoke a.
    let (ok, out) = cmp.cmp("b", &["-cmd", "rr", "-oldcert", s(&a), "-revreason", "1"]);
    assert!(!ok, "{out}");
    assert!(out.contains("notAuthorized"), "{out}");
    assert_eq!(cmp.crl_reason(&cmp.serial(&a)), None);

    // a revokes itself: keyCompromise.
    let (ok, out) = cmp.cmp("a", &["-cmd", "rr", "-oldcert", s(&a), "-revreason", "1"]);
    assert!(ok, "{out}");
    assert_eq!(
        cmp.crl_reason(&cmp.serial(&a)).as_deref(),
        Some("Key Compromise"),
        "{}",
        cmp.crl_text()
    );

    // The RA revokes b: superseded; then again.
    let (ok, out) = cmp.cmp("ra", &["-cmd", "rr", "-oldcert", s(&b), "-revreason", "4"]);
    assert!(ok, "{out}");
    assert_eq!(
        cmp.crl_reason(&cmp.serial(&b)).as_deref(),
        Some("Superseded")
    );
    let (ok, out) = cmp.cmp("ra", &["-cmd", "rr", "-oldcert", s(&b), "-revreason", "1"]);
    assert!(!ok, "{out}");
    assert!(out.contains("certRevoked"), "{out}");
    assert_eq!(
        cmp.crl_reason(&cmp.serial(&b)).as_deref(),
        Some("Superseded"),
        "the first revocation stands"
    );

    // A certificate named like one of the root's, which the root never
    // issued: self-signed with the root's subject as its issuer.
    let root_subject = cmp
        .x509(&cmp.file("cmc-data/root.pem"), "-subject")
        .trim_start_matches("subject=")
        .to_owned();
    let fake_key = cmp.key("fake");
    let fake = cmp.file("fake.pem");
    let subj = format!(
        "/{}",
        root_subject.split(',').rev().collect::<Vec<_>>().join("/")
    );
    let (ok, out) = openssl(
        &cmp.dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            s(&fake_key),
            "-subj",
            &subj,
            "-days",
            "1",
            "-out",
            s(&fake),
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = cmp.cmp("ra", &["-cmd", "rr", "-oldcert", s(&fake)]);
    assert!(!ok, "{out}");
    assert!(out.contains("badCertId"), "{out}");
}

/// `openssl cmp -cmd kur`, protected by the certificate being updated:
/// the new certificate verifies, keeps the subject and carries the new
/// key. Refused: another subject (badCertTemplate), a kur by the RA's
/// credential (notAuthorized), and one protected by the old certificate
/// once it is revoked.
#[test]
fn kur_by_the_holder() {
    if !cmc_testkit::openssl_cmp_available("kur_by_the_holder") {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let old = cmp.issue("old", "/CN=kur.example.test");
    let new_key = cmp.key("new");
    let updated = cmp.file("updated.pem");
    let (ok, out) = cmp.cmp(
        "old",
        &[
            "-cmd",
            "kur",
            "-newkey",
            s(&new_key),
            "-certout",
            s(&updated),
        ],
    );
    assert!(ok, "{out}");
    let root = cmp.file("cmc-data/root.pem");
    let (ok, out) = openssl(&cmp.dir, &["verify", "-CAfile", s(&root), s(&updated)]);
    assert!(ok && out.contains(": OK"), "{out}");
    assert_eq!(
        cmp.x509(&updated, "-subject"),
        "subject=CN=kur.example.test"
    );
    assert_ne!(cmp.serial(&updated), cmp.serial(&old));
    let (ok, new_pub) = openssl(&cmp.dir, &["pkey", "-in", s(&new_key), "-pubout"]);
    assert!(ok, "{new_pub}");
    assert_eq!(cmp.x509(&updated, "-pubkey"), new_pub.trim());

    // Another subject.
    let other = cmp.file("other.pem");
    let (ok, out) = cmp.cmp(
        "old",
        &[
            "-cmd",
            "kur",
            "-newkey",
            s(&cmp.key("new2")),
            "-subject",
            "/CN=someone-else.example.test",
            "-certout",
            s(&other),
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("badCertTemplate"), "{out}");
    assert!(!other.exists());

    // The RA's own credential is not updated by kur.
    let (ok, out) = cmp.cmp(
        "ra",
        &[
            "-cmd",
            "kur",
            "-newkey",
            s(&cmp.key("new3")),
            "-certout",
            s(&other),
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("notAuthorized"), "{out}");

    // The old certificate revoked, it protects nothing.
    let (ok, out) = cmp.cmp(
        "old",
        &["-cmd", "rr", "-oldcert", s(&old), "-revreason", "4"],
    );
    assert!(ok, "{out}");
    let (ok, out) = cmp.cmp(
        "old",
        &[
            "-cmd",
            "kur",
            "-newkey",
            s(&cmp.key("new4")),
            "-certout",
            s(&other),
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("signerNotTrusted"), "{out}");
    assert!(!other.exists());
}
