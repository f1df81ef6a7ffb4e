//! `openssl cmp` as the peer, run fresh: requests it writes now (every command, MAC and
//! signature protection) decode, re-encode byte-identically and verify; and responses we
//! build and protect with PBM are accepted by `openssl cmp` as a client talking to a small
//! HTTP listener in this test. Skipped (with a message) when `openssl` is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::thread;

use cmc_keys::{FileKey, SigningKey};
use der::asn1::{GeneralizedTime, Null};
use der::{Decode, DecodePem, Encode};
use proto_cmp::{
    CaCertsValue, CertRepMessage, CertResponse, CertifiedKeyPair, Error, ErrorMsgContent,
    FailureBit, GenmRequest, InfoTypeAndValue, Limits, MacAlgorithm, PkiBody, PkiFailureInfo,
    PkiHeader, PkiMessage, PkiStatusInfo, Received, RevRepContent, decode_message,
};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use std::sync::Arc;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

const SECRET: &str = "s3cret";

fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// What `openssl cmp` logged: it writes its diagnostics to stdout as well as stderr.
fn log(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run_ok(dir: &Path, args: &[&str]) {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Keys and certificates: a CA, a client with a certificate (for signature protection and
/// as the old certificate of kur/rr), a new key with its CSR, and the certificate the CA
/// issues for it.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        for (name, cn) in [("ca", "/CN=tst_sub_ca"), ("ee", "/CN=cmp-client")] {
            let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
            let mut args = vec!["req", "-x509"];
            args.extend(ec);
            args.extend(["-keyout", &key, "-out", &crt, "-subj", cn, "-days", "30"]);
            run_ok(p, &args);
        }
        run_ok(
            p,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "new.key",
            ],
        );
        run_ok(
            p,
            &[
                "req",
                "-new",
                "-key",
                "new.key",
                "-subj",
                "/CN=test-cert",
                "-out",
                "new.csr",
            ],
        );
        run_ok(
            p,
            &[
                "x509", "-req", "-in", "new.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-days",
                "30", "-out", "leaf.crt",
            ],
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cert(&self, name: &str) -> Certificate {
        Certificate::from_pem(std::fs::read(self.path().join(name)).unwrap()).unwrap()
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn decode_checked(bytes: &[u8], what: &str) -> Received {
    let received =
        decode_message(bytes, &Limits::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        received.message.to_der().unwrap(),
        bytes,
        "{what} re-encodes"
    );
    received
}

#[test]
fn fresh_openssl_requests_decode_round_trip_and_verify() {
    if !cmc_testkit::openssl_cmp_available("fresh_openssl_requests_decode_round_trip_and_verify") {
        return;
    }
    let pki = Pki::new();
    let server = format!("127.0.0.1:{}", closed_port());
    let secret_arg = format!("pass:{SECRET}");
    let ee_spki = pki
        .cert("ee.crt")
        .tbs_certificate()
        .subject_public_key_info()
        .clone();
    let commands: [(&str, &[&str], u32); 7] = [
        (
            "ir",
            &["-newkey", "new.key", "-subject", "/CN=test-cert"],
            0,
        ),
        (
            "ir",
            &[
                "-newkey",
                "new.key",
                "-subject",
                "/CN=test-cert",
                "-implicit_confirm",
            ],
            0,
        ),
        (
            "cr",
            &["-newkey", "new.key", "-subject", "/CN=test-cert"],
            2,
        ),
        ("kur", &["-oldcert", "ee.crt", "-newkey", "new.key"], 7),
        ("p10cr", &["-csr", "new.csr"], 4),
        ("rr", &["-oldcert", "ee.crt"], 11),
        ("genm", &[], 21),
    ];
    for (cmd, extra, body_type) in commands {
        for protection in ["mac", "sig"] {
            let out_file = format!("{cmd}-{protection}.der");
            let mut args = vec![
                "cmp",
                "-cmd",
                cmd,
                "-server",
                &server,
                "-path",
                "pkix/",
                "-recipient",
                "/CN=tst_sub_ca",
                "-certout",
                "out.pem",
                "-reqout",
                &out_file,
            ];
            if protection == "mac" {
                args.extend(["-ref", "1234", "-secret", &secret_arg]);
            } else {
                args.extend(["-cert", "ee.crt", "-key", "ee.key"]);
            }
            args.extend(extra);
            // Fails to connect, after writing the request.
            let _ = openssl(pki.path(), &args);
            let what = format!("{cmd} {protection} {extra:?}");
            let bytes = std::fs::read(pki.path().join(&out_file))
                .unwrap_or_else(|e| panic!("{what}: no request written: {e}"));
            let received = decode_checked(&bytes, &what);
            assert_eq!(received.message.body.type_number(), body_type, "{what}");
            assert_eq!(
                received.message.header.implicit_confirm(),
                extra.contains(&"-implicit_confirm"),
                "{what}"
            );
            let limits = Limits::default();
            if protection == "mac" {
                received.verify_mac(SECRET.as_bytes(), &limits.mac).unwrap();
                assert!(matches!(
                    received.verify_mac(b"s3creT", &limits.mac),
                    Err(Error::MacMismatch)
                ));
            } else {
                received.verify_signature(&ee_spki).unwrap();
            }
        }
    }
}

/// Serves `count` HTTP requests on a fresh loopback port, answering each CMP request with
/// what `respond` returns; gives the port and a handle that yields the requests received.
fn serve(
    count: usize,
    mut respond: impl FnMut(&Received) -> PkiMessage + Send + 'static,
) -> (u16, thread::JoinHandle<Vec<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..count {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    len = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let received = decode_message(&body, &Limits::default()).unwrap();
            let reply = respond(&received).to_der().unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: {}\r\n\r\n",
                reply.len()
            )
            .unwrap();
            stream.write_all(&reply).unwrap();
            seen.push(received);
        }
        seen
    });
    (port, handle)
}

fn ca_name() -> GeneralName {
    GeneralName::DirectoryName("CN=tst_sub_ca".parse().unwrap())
}

/// A response header for `request`, protected later with PBM under `secret`.
fn reply_header(request: &Received) -> PkiHeader {
    let mut header = PkiHeader::response_to(&request.message.header, ca_name()).unwrap();
    header.message_time =
        Some(GeneralizedTime::from_system_time(std::time::SystemTime::now()).unwrap());
    header
        .sender_kid
        .clone_from(&request.message.header.sender_kid);
    header
}

fn protect(header: PkiHeader, body: PkiBody, secret: &str) -> PkiMessage {
    let alg = MacAlgorithm::pbm_sha256(10_000).unwrap();
    PkiMessage::protect_with_mac(header, body, &alg, secret.as_bytes(), None).unwrap()
}

/// How the test CA checks requests and protects its answers.
enum Answer {
    /// Requests carry PBM under [`SECRET`]; answers are protected with PBM under this secret.
    Mac(&'static str),
    /// Requests are signed by `client`'s key; answers are signed with `key`, whose
    /// certificate `cert` goes into extraCerts.
    Signed {
        key: Arc<FileKey>,
        cert: Box<Certificate>,
        client: SubjectPublicKeyInfoOwned,
    },
}

impl Answer {
    fn check(&self, request: &Received) {
        match self {
            Self::Mac(_) => {
                request
                    .verify_mac(SECRET.as_bytes(), &Limits::default().mac)
                    .unwrap();
            }
            Self::Signed { client, .. } => request.verify_signature(client).unwrap(),
        }
    }

    fn protect(&self, mut header: PkiHeader, body: PkiBody) -> PkiMessage {
        match self {
            Self::Mac(secret) => protect(header, body, secret),
            Self::Signed { key, cert, .. } => {
                header.sender_kid = Some(subject_key_id(cert));
                PkiMessage::protect_with_signature(
                    header,
                    body,
                    key.signature_algorithm().clone(),
                    Some(vec![cert.as_ref().clone()]),
                    |data| Ok::<_, Error>(key.sign(data).unwrap()),
                )
                .unwrap()
            }
        }
    }
}

fn subject_key_id(cert: &Certificate) -> der::asn1::OctetString {
    let ext = cert
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
        .unwrap();
    der::asn1::OctetString::from_der(ext.extn_value.as_bytes()).unwrap()
}

/// Answers ir/cr with `pki`'s leaf.crt (and certConf with pkiconf after checking its hash),
/// rr with an accepted rp, genm with a genp holding ca.crt for each caCerts asked for; requests checked and answers protected as
/// `answer` says.
fn ca_responder(
    pki: &Pki,
    answer: Answer,
    implicit: bool,
) -> impl FnMut(&Received) -> PkiMessage + Send + 'static {
    ca_responder_p10(pki, answer, implicit, -1)
}

/// [`ca_responder`], answering p10cr with `p10cr_id` as `certReqId`.
fn ca_responder_p10(
    pki: &Pki,
    answer: Answer,
    implicit: bool,
    p10cr_id: i64,
) -> impl FnMut(&Received) -> PkiMessage + Send + 'static {
    let leaf = pki.cert("leaf.crt");
    let issuer = pki.cert("ca.crt");
    move |request| {
        answer.check(request);
        let mut header = reply_header(request);
        let body = match &request.message.body {
            PkiBody::Ir(reqs) | PkiBody::Cr(reqs) | PkiBody::Kur(reqs) => {
                if implicit {
                    assert!(request.message.header.implicit_confirm());
                    header.set_implicit_confirm();
                }
                let rep = CertRepMessage {
                    ca_pubs: None,
                    response: vec![CertResponse {
                        cert_req_id: i64::from(reqs[0].cert_req.body_part_id().unwrap()),
                        status: PkiStatusInfo::accepted(),
                        certified_key_pair: Some(CertifiedKeyPair::certificate(leaf.clone())),
                        rsp_info: None,
                    }],
                };
                match request.message.body {
                    PkiBody::Ir(_) => PkiBody::Ip(rep),
                    PkiBody::Cr(_) => PkiBody::Cp(rep),
                    _ => PkiBody::Kup(rep),
                }
            }
            PkiBody::P10cr(_) => PkiBody::Cp(CertRepMessage {
                ca_pubs: None,
                response: vec![CertResponse {
                    cert_req_id: p10cr_id,
                    status: PkiStatusInfo::accepted(),
                    certified_key_pair: Some(CertifiedKeyPair::certificate(leaf.clone())),
                    rsp_info: None,
                }],
            }),
            PkiBody::CertConf(statuses) => {
                let hash = Sha256::digest(leaf.to_der().unwrap());
                assert_eq!(statuses[0].cert_hash.as_bytes(), hash.as_slice());
                PkiBody::PkiConf(Null)
            }
            PkiBody::Rr(details) => PkiBody::Rp(RevRepContent {
                status: vec![PkiStatusInfo::accepted(); details.len()],
                rev_certs: None,
                crls: None,
            }),
            PkiBody::Genm(items) => PkiBody::Genp(
                items
                    .iter()
                    .filter(|itav| GenmRequest::of(itav) == Some(GenmRequest::CaCerts))
                    .map(|itav| {
                        let certs: CaCertsValue = vec![issuer.clone()];
                        InfoTypeAndValue::new(itav.info_type, &certs).unwrap()
                    })
                    .collect(),
            ),
            other => panic!("unexpected {}", other.name()),
        };
        answer.protect(header, body)
    }
}

fn client(pki: &Pki, port: u16, cmd: &str, extra: &[&str]) -> Output {
    let server = format!("127.0.0.1:{port}");
    let secret = format!("pass:{SECRET}");
    let mut args = vec![
        "cmp",
        "-cmd",
        cmd,
        "-server",
        &server,
        "-path",
        "pkix/",
        "-ref",
        "1234",
        "-secret",
        &secret,
        "-recipient",
        "/CN=tst_sub_ca",
        "-certout",
        "out.pem",
    ];
    args.extend(extra);
    openssl(pki.path(), &args)
}

const IR: &[&str] = &["-newkey", "new.key", "-subject", "/CN=test-cert"];

#[test]
fn openssl_enrolls_with_our_pbm_protected_ip_and_pkiconf() {
    if !cmc_testkit::openssl_cmp_available("openssl_enrolls_with_our_pbm_protected_ip_and_pkiconf")
    {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.cert("leaf.crt");
    let (port, server) = serve(2, ca_responder(&pki, Answer::Mac(SECRET), false));
    let out = client(&pki, port, "ir", IR);
    assert!(out.status.success(), "{}", log(&out));
    let seen = server.join().unwrap();
    assert!(matches!(seen[0].message.body, PkiBody::Ir(_)));
    assert!(matches!(seen[1].message.body, PkiBody::CertConf(_)));
    assert_eq!(pki.cert("out.pem"), leaf);
}

#[test]
fn openssl_enrolls_with_implicit_confirm() {
    if !cmc_testkit::openssl_cmp_available("openssl_enrolls_with_implicit_confirm") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.cert("leaf.crt");
    // One exchange only: no certConf follows.
    let (port, server) = serve(1, ca_responder(&pki, Answer::Mac(SECRET), true));
    let mut args = IR.to_vec();
    args.push("-implicit_confirm");
    let out = client(&pki, port, "cr", &args);
    assert!(out.status.success(), "{}", log(&out));
    assert_eq!(server.join().unwrap().len(), 1);
    assert_eq!(pki.cert("out.pem"), leaf);
}

#[test]
fn openssl_accepts_our_kup_rp_and_genp() {
    if !cmc_testkit::openssl_cmp_available("openssl_accepts_our_kup_rp_and_genp") {
        return;
    }
    let pki = Pki::new();
    let (port, server) = serve(4, ca_responder(&pki, Answer::Mac(SECRET), false));
    let out = client(
        &pki,
        port,
        "kur",
        &["-oldcert", "ee.crt", "-newkey", "new.key"],
    );
    assert!(out.status.success(), "kur: {}", log(&out));
    assert_eq!(pki.cert("out.pem"), pki.cert("leaf.crt"));
    let out = client(&pki, port, "rr", &["-oldcert", "ee.crt"]);
    assert!(out.status.success(), "rr: {}", log(&out));
    let out = client(&pki, port, "genm", &[]);
    assert!(out.status.success(), "genm: {}", log(&out));
    server.join().unwrap();
}

#[test]
fn openssl_asks_for_ca_certs_and_accepts_our_genp() {
    if !cmc_testkit::openssl_cmp_available("openssl_asks_for_ca_certs_and_accepts_our_genp") {
        return;
    }
    let pki = Pki::new();
    let (port, server) = serve(1, ca_responder(&pki, Answer::Mac(SECRET), false));
    let out = client(&pki, port, "genm", &["-infotype", "caCerts"]);
    assert!(out.status.success(), "genm: {}", log(&out));
    let seen = server.join().unwrap();
    let PkiBody::Genm(items) = &seen[0].message.body else {
        panic!("genm");
    };
    assert_eq!(GenmRequest::of(&items[0]), Some(GenmRequest::CaCerts));
    assert!(items[0].info_value.is_none());
    assert!(log(&out).contains("caCerts"), "{}", log(&out));
}

#[test]
fn openssl_enrolls_with_our_signature_protected_ip_and_pkiconf() {
    if !cmc_testkit::openssl_cmp_available(
        "openssl_enrolls_with_our_signature_protected_ip_and_pkiconf",
    ) {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.cert("leaf.crt");
    let answer = Answer::Signed {
        key: Arc::new(FileKey::load_unencrypted(&pki.path().join("ca.key")).unwrap()),
        cert: Box::new(pki.cert("ca.crt")),
        client: pki
            .cert("ee.crt")
            .tbs_certificate()
            .subject_public_key_info()
            .clone(),
    };
    let (port, server) = serve(2, ca_responder(&pki, answer, false));
    let server_arg = format!("127.0.0.1:{port}");
    let mut args = vec![
        "cmp",
        "-cmd",
        "ir",
        "-server",
        &server_arg,
        "-path",
        "pkix/",
        "-cert",
        "ee.crt",
        "-key",
        "ee.key",
        "-trusted",
        "ca.crt",
        "-recipient",
        "/CN=tst_sub_ca",
        "-certout",
        "out.pem",
    ];
    args.extend(IR);
    let out = openssl(pki.path(), &args);
    assert!(out.status.success(), "{}", log(&out));
    let seen = server.join().unwrap();
    assert!(matches!(seen[1].message.body, PkiBody::CertConf(_)));
    assert_eq!(pki.cert("out.pem"), leaf);
}

#[test]
fn openssl_enrolls_by_p10cr_with_cert_req_id_minus_one() {
    if !cmc_testkit::openssl_cmp_available("openssl_enrolls_by_p10cr_with_cert_req_id_minus_one") {
        return;
    }
    // RFC 9483 §4.1.4: the cp answering a p10cr has certReqId -1. OpenSSL 3.0 accepts it
    // (and 0, what OpenSSL itself used before 3.2).
    let pki = Pki::new();
    let leaf = pki.cert("leaf.crt");
    for id in [-1, 0] {
        let responder = ca_responder_p10(&pki, Answer::Mac(SECRET), false, id);
        let (port, server) = serve(2, responder);
        let out = client(&pki, port, "p10cr", &["-csr", "new.csr"]);
        assert!(out.status.success(), "certReqId {id}: {}", log(&out));
        let seen = server.join().unwrap();
        let PkiBody::CertConf(statuses) = &seen[1].message.body else {
            panic!("no certConf");
        };
        // It confirms with the certReqId it was given.
        assert_eq!(statuses[0].cert_req_id, id);
        assert_eq!(pki.cert("out.pem"), leaf);
    }
}

#[test]
fn openssl_refuses_our_ip_under_the_wrong_secret() {
    if !cmc_testkit::openssl_cmp_available("openssl_refuses_our_ip_under_the_wrong_secret") {
        return;
    }
    let pki = Pki::new();
    let (port, server) = serve(1, ca_responder(&pki, Answer::Mac("not-the-secret"), false));
    let out = client(&pki, port, "ir", IR);
    assert!(!out.status.success());
    let stderr = log(&out);
    assert!(stderr.contains("wrong pbm value"), "{stderr}");
    assert!(!pki.path().join("out.pem").exists());
    server.join().unwrap();
}

#[test]
fn openssl_reports_our_error_message() {
    if !cmc_testkit::openssl_cmp_available("openssl_reports_our_error_message") {
        return;
    }
    let pki = Pki::new();
    let (port, server) = serve(1, |request: &Received| {
        let fail = PkiFailureInfo::of(FailureBit::BadRequest).with(FailureBit::NotAuthorized);
        let body = PkiBody::Error(ErrorMsgContent {
            pki_status_info: PkiStatusInfo::rejection(fail, "refused by the test CA"),
            error_code: Some(42),
            error_details: Some(vec!["no certificate for you".into()]),
        });
        protect(reply_header(request), body, SECRET)
    });
    let out = client(&pki, port, "ir", IR);
    assert!(!out.status.success());
    let stderr = log(&out);
    assert!(stderr.contains("refused by the test CA"), "{stderr}");
    assert!(stderr.contains("badRequest"), "{stderr}");
    assert!(stderr.contains("notAuthorized"), "{stderr}");
    server.join().unwrap();
}

#[test]
fn pbmac1_matches_openssl_kdf_and_mac() {
    if !cmc_testkit::openssl_cmp_available("pbmac1_matches_openssl_kdf_and_mac") {
        return;
    }
    // PBMAC1 (RFC 9481 §6.1.2) recomputed by `openssl kdf PBKDF2` and `openssl mac HMAC`:
    // OpenSSL 3.0 has no PBMAC1 in `openssl cmp`, so its primitives stand in for it.
    let alg = MacAlgorithm::pbmac1_sha256(2_000).unwrap();
    let MacAlgorithm::Pbmac1 { salt, .. } = &alg else {
        unreachable!()
    };
    let data = b"ProtectedPart stand-in";
    let ours = alg.compute(SECRET.as_bytes(), data);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let dir = tempfile::tempdir().unwrap();
    let kdf = openssl(
        dir.path(),
        &[
            "kdf",
            "-keylen",
            "32",
            "-kdfopt",
            "digest:SHA256",
            "-kdfopt",
            &format!("pass:{SECRET}"),
            "-kdfopt",
            &format!("hexsalt:{}", hex(salt)),
            "-kdfopt",
            "iter:2000",
            "PBKDF2",
        ],
    );
    assert!(
        kdf.status.success(),
        "{}",
        String::from_utf8_lossy(&kdf.stderr)
    );
    let key = String::from_utf8(kdf.stdout)
        .unwrap()
        .trim()
        .replace(':', "");
    std::fs::write(dir.path().join("data"), data).unwrap();
    let mac = openssl(
        dir.path(),
        &[
            "mac",
            "-digest",
            "SHA256",
            "-macopt",
            &format!("hexkey:{key}"),
            "-in",
            "data",
            "HMAC",
        ],
    );
    assert!(
        mac.status.success(),
        "{}",
        String::from_utf8_lossy(&mac.stderr)
    );
    assert_eq!(String::from_utf8(mac.stdout).unwrap().trim(), hex(&ours));
}
