//! rr, kur and genm end to end: the real `openssl cmp` client (OpenSSL 3.x)
//! against a running `cmc-server` on the embedded default (root CA "root"
//! on SQLite), signed with credentials made by `cmc-tool client add` or
//! with certificates the server issued. As in `cmp.rs`, the client trusts
//! `cmc-data/root.pem` and needs `-ignore_keyusage` (answers are signed
//! with the CA key).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::cmp::Cmp;
use common::{openssl, s};

impl Cmp {
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

/// The genp that `openssl cmp -cmd genm ARGS -rspout` saved: (infoType,
/// value DER) of each entry.
fn genp_of(cmp: &Cmp, args: &[&str]) -> Vec<(String, Option<Vec<u8>>)> {
    use der::{Decode, Encode};
    let rsp = cmp.file("genp.der");
    let _ = std::fs::remove_file(&rsp);
    let mut all = vec!["-cmd", "genm", "-rspout", s(&rsp)];
    all.extend_from_slice(args);
    let (ok, out) = cmp.cmp("ra", &all);
    assert!(ok, "{out}");
    let message = proto_cmp::PkiMessage::from_der(&std::fs::read(&rsp).unwrap()).unwrap();
    let proto_cmp::PkiBody::Genp(content) = message.body else {
        panic!("not a genp: {}", message.body.name());
    };
    content
        .into_iter()
        .map(|i| {
            (
                i.info_type.to_string(),
                i.info_value.map(|v| v.to_der().unwrap()),
            )
        })
        .collect()
}

/// `openssl cmp -cmd genm`: without -infotype (the CA certificates),
/// caCerts, rootCaKeyUpdate (no update: no value), certReqTemplate (the
/// default profile's key types, P-256 among them), currentCRL (the CRL
/// the server publishes), and an infoType the CA does not answer
/// (signKeyPairTypes: an empty genp). crlStatusList, which OpenSSL 3.0
/// cannot send, is posted as a message built here and signed with the
/// RA's key.
#[test]
fn genm_answers() {
    use der::{Decode, Encode};
    if !cmc_testkit::openssl_cmp_available("genm_answers") {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let root_pem = cmp.file("cmc-data/root.pem");
    let root_der = cmp.file("root.der");
    let (ok, out) = openssl(
        &cmp.dir,
        &[
            "x509",
            "-in",
            s(&root_pem),
            "-outform",
            "DER",
            "-out",
            s(&root_der),
        ],
    );
    assert!(ok, "{out}");
    let root = x509_cert::Certificate::from_der(&std::fs::read(&root_der).unwrap()).unwrap();

    const CA_CERTS: &str = "1.3.6.1.5.5.7.4.17";
    for args in [&[][..], &["-infotype", "caCerts"]] {
        let answer = genp_of(&cmp, args);
        assert_eq!(answer.len(), 1, "{args:?}");
        assert_eq!(answer[0].0, CA_CERTS);
        let chain = Vec::<x509_cert::Certificate>::from_der(answer[0].1.as_ref().unwrap()).unwrap();
        assert_eq!(chain, vec![root.clone()]);
    }

    let answer = genp_of(&cmp, &["-infotype", "rootCaKeyUpdate"]);
    assert_eq!(answer, vec![("1.3.6.1.5.5.7.4.18".to_owned(), None)]);

    let answer = genp_of(&cmp, &["-infotype", "certReqTemplate"]);
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].0, "1.3.6.1.5.5.7.4.19");
    let template =
        proto_cmp::CertReqTemplateContent::from_der(answer[0].1.as_ref().unwrap()).unwrap();
    // id-ecPublicKey with namedCurve P-256 (RFC 5480).
    let p256 = x509_cert::spki::AlgorithmIdentifierOwned {
        oid: der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
        parameters: Some(
            der::Any::encode_from(&der::oid::ObjectIdentifier::new_unwrap(
                "1.2.840.10045.3.1.7",
            ))
            .unwrap(),
        ),
    };
    let key_spec = template.key_spec.unwrap();
    assert!(
        key_spec
            .iter()
            .any(|c| c.oid == proto_cmp::oid::ID_REG_CTRL_ALG_ID
                && c.value
                    .decode_as::<x509_cert::spki::AlgorithmIdentifierOwned>()
                    .unwrap()
                    == p256),
        "{key_spec:?}"
    );

    let answer = genp_of(&cmp, &["-infotype", "currentCRL"]);
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].0, "1.3.6.1.5.5.7.4.6");
    let published = cmp.server.get("/crl/root.crl");
    assert_eq!(published.status, 200);
    assert_eq!(answer[0].1.as_deref(), Some(&published.body[..]));

    assert_eq!(genp_of(&cmp, &["-infotype", "signKeyPairTypes"]), vec![]);

    // crlStatusList naming the root, with no thisUpdate: the CRL.
    let key = cmc_keys::FileKey::load_unencrypted(&cmp.file("ra.key")).unwrap();
    let ra_der = cmp.file("ra.der");
    let (ok, out) = openssl(
        &cmp.dir,
        &[
            "x509",
            "-in",
            s(&cmp.file("ra.pem")),
            "-outform",
            "DER",
            "-out",
            s(&ra_der),
        ],
    );
    assert!(ok, "{out}");
    let ra = x509_cert::Certificate::from_der(&std::fs::read(&ra_der).unwrap()).unwrap();
    let status = vec![proto_cmp::CrlStatus {
        source: proto_cmp::CrlSource::Issuer(vec![
            x509_cert::ext::pkix::name::GeneralName::DirectoryName(
                root.tbs_certificate().subject().clone(),
            ),
        ]),
        this_update: None,
    }];
    let mut header = proto_cmp::PkiHeader::new(
        proto_cmp::PVNO_CMP2000,
        x509_cert::ext::pkix::name::GeneralName::DirectoryName(
            ra.tbs_certificate().subject().clone(),
        ),
        x509_cert::ext::pkix::name::GeneralName::DirectoryName(
            root.tbs_certificate().subject().clone(),
        ),
    );
    header.transaction_id = Some(der::asn1::OctetString::new(*b"crl-status-list-").unwrap());
    header.sender_nonce = Some(der::asn1::OctetString::new(*b"nonce-crl-status").unwrap());
    let itav =
        proto_cmp::InfoTypeAndValue::new(proto_cmp::oid::ID_IT_CRL_STATUS_LIST, &status).unwrap();
    let message = proto_cmp::PkiMessage::protect_with_signature(
        header,
        proto_cmp::PkiBody::Genm(vec![itav]),
        cmc_keys::SigningKey::signature_algorithm(&key).clone(),
        Some(vec![ra]),
        |d| Ok::<_, proto_cmp::Error>(cmc_keys::SigningKey::sign(&key, d).unwrap()),
    )
    .unwrap();
    let r = cmp.server.post(
        "/.well-known/cmp",
        "application/pkixcmp",
        &message.to_der_bytes().unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = proto_cmp::PkiMessage::from_der(&r.body).unwrap();
    let proto_cmp::PkiBody::Genp(content) = answer.body else {
        panic!("not a genp: {}", answer.body.name());
    };
    assert_eq!(content.len(), 1);
    assert_eq!(content[0].info_type, proto_cmp::oid::ID_IT_CRLS);
    let crls: Vec<x509_cert::crl::CertificateList> = content[0].value_as().unwrap();
    let published = cmp.server.get("/crl/root.crl");
    assert_eq!(crls[0].to_der().unwrap(), published.body);
}

/// The same messages MAC-protected: an RA with a long-lived MAC credential
/// (`cmc-tool client add --reference --mac-secret-file`) revokes an end
/// entity's certificate and asks for the CA certificates, but cannot
/// update a key (kur is protected by the certificate it updates); the
/// owner of a one-time secret may revoke nothing.
#[test]
fn rr_genm_and_kur_with_mac_protection() {
    if !cmc_testkit::openssl_cmp_available("rr_genm_and_kur_with_mac_protection") {
        return;
    }
    let cmp = Cmp::start();
    let secret = "correct-horse-battery-staple-5678";
    let secret_file = cmp.file("ra-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    common::admin(
        &cmp.file("cmc.toml"),
        &[
            "client",
            "add",
            "ra",
            "--role",
            "ra",
            "--ca",
            "root",
            "--issue",
            "--subject",
            "CN=CMP RA",
            "--out-dir",
            s(&cmp.dir),
            "--unencrypted-key",
            "--reference",
            "5678",
            "--mac-secret-file",
            s(&secret_file),
        ],
    );
    let a = cmp.issue("a", "/CN=a.example.test");

    let (ok, out) = cmp.mac(
        ".well-known/cmp",
        "5678",
        secret,
        &["-cmd", "rr", "-oldcert", s(&a), "-revreason", "5"],
    );
    assert!(ok, "{out}");
    assert_eq!(
        cmp.crl_reason(&cmp.serial(&a)).as_deref(),
        Some("Cessation Of Operation")
    );

    let (ok, out) = cmp.mac(
        ".well-known/cmp",
        "5678",
        secret,
        &["-cmd", "genm", "-recipient", "/CN=anything"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("id-it-caCerts"), "{out}");

    let b = cmp.issue("b", "/CN=b.example.test");
    let updated = cmp.file("updated.pem");
    let (ok, out) = cmp.mac(
        ".well-known/cmp",
        "5678",
        secret,
        &[
            "-cmd",
            "kur",
            "-oldcert",
            s(&b),
            "-newkey",
            s(&cmp.key("b-new")),
            "-certout",
            s(&updated),
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("notAuthorized"), "{out}");
    assert!(!updated.exists());

    // A one-time secret proves who may enroll, not who may revoke.
    let one_time = common::add_root_secret(&cmp.file("cmc.toml"), "device-7", &[]);
    let (ok, out) = cmp.mac(
        ".well-known/cmp",
        "device-7",
        &one_time,
        &["-cmd", "rr", "-oldcert", s(&b), "-revreason", "1"],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("notAuthorized"), "{out}");
    assert_eq!(cmp.crl_reason(&cmp.serial(&b)), None);
}
