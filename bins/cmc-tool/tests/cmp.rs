//! `cmc-tool cmp` against OpenSSL's own CMP mock server (`openssl cmp
//! -port 0 …`, OpenSSL 3.0 or later), with a small PKI made by `openssl`
//! in a temporary directory. The mock answers every enrollment with the
//! certificate of `-rsp_cert` (here `ee.pem`, for the key `ee.key`), checks
//! the requests' protection (`-srv_secret`, or `-srv_trusted` for
//! signatures), the transaction, the certConf hash and, for kur and rr, that
//! the request names that certificate.
//!
//! PBMAC1, which OpenSSL 3.0 does not have, and answers with a wrong
//! transactionID or recipNonce are tested against a loopback responder
//! built from proto-cmp.
//!
//! The mock-server tests are skipped (with a message) where `openssl cmp`
//! is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Env, Run, openssl};

const SECRET: &str = "the shared secret";

/// A CA `ca`, the mock server's signing certificate `srv`, a client
/// certificate `cl` (both with key identifiers), the certificate `ee` the
/// mock hands out with its key and a CSR for it, another key `other`, and
/// the files `secret` and `wrong` holding a right and a wrong secret.
fn pki() -> Env {
    let env = Env::new();
    let dir = env.dir.path();
    let p = |name: &str| dir.join(name).display().to_string();
    let ext = p("ext.cnf");
    std::fs::write(
        &ext,
        "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n\
         subjectKeyIdentifier=hash\n\
         [signer]\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n\
         [ee]\nsubjectAltName=DNS:ee.example\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let (ca_key, ca_pem) = (p("ca.key"), p("ca.pem"));
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend([
        "-keyout",
        &ca_key,
        "-out",
        &ca_pem,
        "-subj",
        "/O=cmc-tool tests/CN=Mock CA",
        "-days",
        "30",
        "-config",
        &ext,
        "-extensions",
        "ca",
    ]);
    openssl(&args);
    for (name, section) in [("srv", "signer"), ("cl", "signer"), ("ee", "ee")] {
        let mut args = vec!["req"];
        args.extend(ec);
        let subj = format!("/O=cmc-tool tests/CN={name}.example");
        let (key, csr) = (p(&format!("{name}.key")), p(&format!("{name}.csr")));
        args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(&args);
        let cert = p(&format!("{name}.pem"));
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "30",
            "-out",
            &cert,
            "-extfile",
            &ext,
            "-extensions",
            section,
        ]);
    }
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &p("other.key"),
    ]);
    std::fs::write(dir.join("secret"), format!("{SECRET}\n")).unwrap();
    std::fs::write(dir.join("wrong"), "not the secret\n").unwrap();
    env
}

/// `openssl cmp -port 0 ARGS` running in the directory; its URL.
struct Mock {
    child: Child,
    url: String,
}

impl Mock {
    fn start(env: &Env, args: &[&str]) -> Self {
        let mut child = Command::new("openssl")
            .args(["cmp", "-port", "0"])
            .args(args)
            .current_dir(env.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the whole log, so that the server never blocks on a full
        // pipe; the port comes from its `ACCEPT [::]:PORT PID=…` line.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("ACCEPT ") {
                    let port = addr
                        .split_whitespace()
                        .next()
                        .and_then(|a| a.rsplit(':').next())
                        .and_then(|p| p.parse::<u16>().ok());
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the mock server did not say where it listens")
            .expect("the mock server's ACCEPT line has no port");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/pkix/"),
        }
    }

    /// A mock that takes MAC-protected requests under reference 1234.
    fn mac(env: &Env, extra: &[&str]) -> Self {
        let secret = format!("pass:{SECRET}");
        let mut args = vec![
            "-srv_ref",
            "1234",
            "-srv_secret",
            &secret,
            "-rsp_cert",
            "ee.pem",
            "-rsp_extracerts",
            "ca.pem",
            "-rsp_capubs",
            "ca.pem",
        ];
        args.extend_from_slice(extra);
        Self::start(env, &args)
    }

    /// A mock that signs with srv.pem and takes requests signed by a
    /// certificate of the CA.
    fn signing(env: &Env, extra: &[&str]) -> Self {
        let mut args = vec![
            "-srv_cert",
            "srv.pem",
            "-srv_key",
            "srv.key",
            "-srv_trusted",
            "ca.pem",
            "-rsp_cert",
            "ee.pem",
            "-rsp_extracerts",
            "ca.pem",
        ];
        args.extend_from_slice(extra);
        Self::start(env, &args)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cmc-tool cmp CMD --server URL ARGS`.
fn cmp(env: &Env, cmd: &str, mock: &Mock, args: &[&str]) -> Run {
    let mut all = vec!["cmp", cmd, "--server", &mock.url];
    all.extend_from_slice(args);
    env.run(&all)
}

fn ok(run: &Run, what: &str) {
    assert_eq!(
        run.code,
        Some(0),
        "{what}:\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
}

fn fails(run: &Run, what: &str) {
    assert_eq!(
        run.code,
        Some(1),
        "{what} should fail:\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
}

fn fingerprint(path: &Path) -> String {
    openssl(&[
        "x509",
        "-in",
        path.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha256",
    ])
}

/// The certificate written is the one the mock hands out, and verifies
/// under the CA.
fn check_is_ee(env: &Env, file: &str) {
    assert_eq!(
        fingerprint(&env.path(file)),
        fingerprint(&env.path("ee.pem"))
    );
    let verified = openssl(&["verify", "-CAfile", &env.p("ca.pem"), &env.p(file)]);
    assert!(verified.contains(": OK"), "{verified}");
}

const MAC: [&str; 5] = [
    "--ref",
    "1234",
    "--secret-file",
    "secret",
    "--unencrypted-key",
];

#[test]
fn mac_protected_ir_p10cr_rr_and_genm() {
    if !cmc_testkit::openssl_cmp_available("mac_protected_ir_p10cr_rr_and_genm") {
        return;
    }
    let env = pki();
    let mock = Mock::mac(&env, &[]);

    let mut args = MAC.to_vec();
    args.extend([
        "--newkey",
        "ee.key",
        "--subject",
        "/O=cmc-tool tests/CN=ee.example",
        "--san",
        "ee.example",
        "--certout",
        "ir.pem",
        "--chainout",
        "chain.pem",
        "--cacertsout",
        "capubs.pem",
        "--extracertsout",
        "extra.pem",
    ]);
    let run = cmp(&env, "ir", &mock, &args);
    ok(&run, "ir");
    assert!(
        run.stdout.contains("ir: status: accepted"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("certConf: confirmed"), "{}", run.stdout);
    check_is_ee(&env, "ir.pem");
    let ca = fingerprint(&env.path("ca.pem"));
    for file in ["chain.pem", "capubs.pem", "extra.pem"] {
        assert_eq!(fingerprint(&env.path(file)), ca, "{file}");
    }

    // p10cr, the secret from the environment.
    let run = env.run_bare(
        &[
            "cmp",
            "p10cr",
            "--server",
            &mock.url,
            "--ref",
            "1234",
            "--secret-env",
            "CMP_SECRET",
            "--csr",
            "ee.csr",
            "--certout",
            "p10.pem",
        ],
        &[("CMP_SECRET", SECRET)],
    );
    ok(&run, "p10cr");
    check_is_ee(&env, "p10.pem");

    // rr for the certificate (the mock accepts only that one).
    let serial = openssl(&["x509", "-in", &env.p("ee.pem"), "-noout", "-serial"]);
    let serial = serial.trim().trim_start_matches("serial=").to_lowercase();
    let mut args = MAC.to_vec();
    args.extend(["--oldcert", "ee.pem", "--revreason", "keyCompromise"]);
    let run = cmp(&env, "rr", &mock, &args);
    ok(&run, "rr");
    assert!(
        run.stdout.contains(&format!("revoked: serial {serial}")),
        "{}",
        run.stdout
    );
    // A certificate the mock did not issue is refused, and said why.
    let mut args = MAC.to_vec();
    args.extend(["--oldcert", "cl.pem"]);
    let run = cmp(&env, "rr", &mock, &args);
    fails(&run, "rr of another certificate");
    assert!(run.stderr.contains("status: rejection"), "{}", run.stderr);

    // genm: OpenSSL 3.0's mock echoes the types asked for, without value.
    let mut args = MAC.to_vec();
    args.extend(["--infotype", "caCerts"]);
    let run = cmp(&env, "genm", &mock, &args);
    ok(&run, "genm");
    assert!(run.stdout.contains("genp: caCerts"), "{}", run.stdout);
}

#[test]
fn a_wrong_secret_fails() {
    if !cmc_testkit::openssl_cmp_available("a_wrong_secret_fails") {
        return;
    }
    let env = pki();
    let mock = Mock::mac(&env, &[]);
    let run = cmp(
        &env,
        "ir",
        &mock,
        &[
            "--ref",
            "1234",
            "--secret-file",
            "wrong",
            "--unencrypted-key",
            "--newkey",
            "ee.key",
            "--subject",
            "CN=ee.example",
            "--certout",
            "ir.pem",
        ],
    );
    fails(&run, "ir with the wrong secret");
    // The mock refuses the request with an error message protected with
    // the right secret, whose MAC we cannot verify.
    assert!(
        run.stderr
            .contains("MAC protection does not verify (wrong secret or modified message)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("unauthenticated error message: status: rejection"),
        "{}",
        run.stderr
    );
    assert!(!env.path("ir.pem").exists());
}

#[test]
fn signature_protected_ir_cr_and_kur() {
    if !cmc_testkit::openssl_cmp_available("signature_protected_ir_cr_and_kur") {
        return;
    }
    let env = pki();
    let mock = Mock::signing(&env, &[]);
    let signed = |cert: &'static str, key: &'static str| {
        vec![
            "--cert",
            cert,
            "--key",
            key,
            "--unencrypted-key",
            "--trusted",
            "ca.pem",
        ]
    };
    for cmd in ["ir", "cr"] {
        let out = format!("{cmd}.pem");
        let mut args = signed("cl.pem", "cl.key");
        args.extend([
            "--newkey",
            "ee.key",
            "--subject",
            "CN=ee.example,O=cmc-tool tests",
            "--certout",
            &out,
            "--chainout",
            "chain.pem",
        ]);
        let run = cmp(&env, cmd, &mock, &args);
        ok(&run, cmd);
        assert!(run.stdout.contains("certConf: confirmed"), "{}", run.stdout);
        check_is_ee(&env, &out);
        assert_eq!(
            fingerprint(&env.path("chain.pem")),
            fingerprint(&env.path("ca.pem"))
        );
    }

    // kur: protected by the certificate to renew (the mock checks the
    // oldCertID control names it); the subject is the old one's.
    let mut args = signed("ee.pem", "ee.key");
    args.extend(["--newkey", "ee.key", "--certout", "kur.pem"]);
    let run = cmp(&env, "kur", &mock, &args);
    ok(&run, "kur");
    check_is_ee(&env, "kur.pem");
    // Renewing a certificate the mock did not issue is refused.
    let mut args = signed("cl.pem", "cl.key");
    args.extend(["--newkey", "ee.key", "--certout", "kur2.pem"]);
    let run = cmp(&env, "kur", &mock, &args);
    fails(&run, "kur of another certificate");
    assert!(!env.path("kur2.pem").exists());

    // An answer signed by a certificate that does not chain to --trusted
    // is refused.
    let mut args = signed("cl.pem", "cl.key");
    let last = args.len() - 1;
    args[last] = "cl.pem";
    args.extend([
        "--newkey",
        "ee.key",
        "--subject",
        "CN=ee.example",
        "--certout",
        "untrusted.pem",
    ]);
    let run = cmp(&env, "ir", &mock, &args);
    fails(&run, "ir trusting another certificate");
    assert!(
        run.stderr.contains("does not chain to --trusted"),
        "{}",
        run.stderr
    );
    assert!(!env.path("untrusted.pem").exists());
}

#[test]
fn a_held_request_is_polled_until_the_certificate_comes() {
    if !cmc_testkit::openssl_cmp_available("a_held_request_is_polled_until_the_certificate_comes") {
        return;
    }
    let env = pki();
    let mock = Mock::signing(&env, &["-poll_count", "2", "-check_after", "1"]);
    let run = cmp(
        &env,
        "ir",
        &mock,
        &[
            "--cert",
            "cl.pem",
            "--key",
            "cl.key",
            "--unencrypted-key",
            "--trusted",
            "ca.pem",
            "--newkey",
            "ee.key",
            "--subject",
            "CN=ee.example",
            "--certout",
            "ir.pem",
        ],
    );
    ok(&run, "ir with polling");
    assert!(run.stdout.contains("ir: status: waiting"), "{}", run.stdout);
    assert!(
        run.stdout.contains("pollRep: checkAfter 1 s"),
        "{}",
        run.stdout
    );
    check_is_ee(&env, "ir.pem");
}

#[test]
fn implicit_confirmation_is_used_when_granted() {
    if !cmc_testkit::openssl_cmp_available("implicit_confirmation_is_used_when_granted") {
        return;
    }
    let env = pki();
    let mock = Mock::mac(&env, &["-grant_implicitconf"]);
    let mut args = MAC.to_vec();
    args.extend([
        "--newkey",
        "ee.key",
        "--subject",
        "CN=ee.example",
        "--certout",
        "implicit.pem",
        "--implicit-confirm",
    ]);
    let run = cmp(&env, "ir", &mock, &args);
    ok(&run, "ir --implicit-confirm");
    assert!(
        run.stdout
            .contains("implicit confirmation granted: no certConf"),
        "{}",
        run.stdout
    );
    check_is_ee(&env, "implicit.pem");
    // Not asked for: confirmed as usual.
    args.pop();
    let run = cmp(&env, "ir", &mock, &args);
    ok(&run, "ir");
    assert!(run.stdout.contains("certConf: confirmed"), "{}", run.stdout);
}

#[test]
fn a_rejection_is_reported_with_its_status_failure_bits_and_text() {
    if !cmc_testkit::openssl_cmp_available(
        "a_rejection_is_reported_with_its_status_failure_bits_and_text",
    ) {
        return;
    }
    let env = pki();
    // failInfo 516 = badRequest (2) and badPOP (9).
    let mock = Mock::mac(
        &env,
        &[
            "-pkistatus",
            "2",
            "-failurebits",
            "516",
            "-statusstring",
            "no way",
        ],
    );
    let mut args = MAC.to_vec();
    args.extend([
        "--newkey",
        "ee.key",
        "--subject",
        "CN=ee.example",
        "--certout",
        "ir.pem",
    ]);
    let run = cmp(&env, "ir", &mock, &args);
    fails(&run, "a rejected ir");
    assert!(
        run.stderr.contains(
            "ir: status: rejection, failInfo: badRequest|badPOP, statusString: \"no way\""
        ),
        "{}",
        run.stderr
    );
    assert!(!env.path("ir.pem").exists());
}

#[test]
fn a_certificate_for_another_key_is_rejected() {
    if !cmc_testkit::openssl_cmp_available("a_certificate_for_another_key_is_rejected") {
        return;
    }
    let env = pki();
    let mock = Mock::mac(&env, &[]);
    // The mock hands out ee.pem whatever key was asked for.
    let mut args = MAC.to_vec();
    args.extend([
        "--newkey",
        "other.key",
        "--subject",
        "CN=ee.example",
        "--certout",
        "ir.pem",
    ]);
    let run = cmp(&env, "ir", &mock, &args);
    fails(&run, "ir for another key");
    assert!(
        run.stderr
            .contains("the certificate is not for the requested key; it was rejected in certConf"),
        "{}",
        run.stderr
    );
    assert!(!env.path("ir.pem").exists());

    // The same with a generated key: the key file goes again.
    let run = cmp(
        &env,
        "cr",
        &mock,
        &[
            "--ref",
            "1234",
            "--secret-file",
            "secret",
            "--new-key",
            "gen.key",
            "--key-type",
            "p384",
            "--new-key-unencrypted",
            "--subject",
            "CN=ee.example",
            "--certout",
            "cr.pem",
        ],
    );
    fails(&run, "cr for a generated key");
    assert!(!env.path("gen.key").exists());
    assert!(!env.path("cr.pem").exists());
}

/// What a loopback CMP responder in this test does wrong, if anything.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// Answers with another transactionID.
    TransactionId,
    /// Answers with a recipNonce that is not our senderNonce.
    RecipNonce,
}

/// A CMP responder made from proto-cmp on a loopback port (one request
/// per connection): checks PBMAC1 protection under SECRET, answers an ir
/// with `cert` and a certConf (whose certHash must be SHA-256 of `cert`)
/// with pkiConf, each PBMAC1-protected; reports what it saw.
fn pbmac1_responder(
    cert: x509_cert::Certificate,
    fault: Fault,
) -> (String, mpsc::Receiver<String>) {
    use std::io::{Read, Write};

    use der::{Decode, Encode};
    use proto_cmp::{
        CertRepMessage, CertResponse, CertifiedKeyPair, Limits, MacAlgorithm, PkiBody, PkiHeader,
        PkiMessage, PkiStatusInfo, decode_message,
    };
    use sha2::Digest;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            assert!(
                head.contains("content-type: application/pkixcmp\r\n"),
                "{head}"
            );
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            while buf.len() < end + length {
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            }
            let limits = Limits::default();
            let request = decode_message(&buf[end..end + length], &limits).unwrap();
            // Our encoding is DER: it re-encodes to the bytes sent.
            let again = PkiMessage::from_der(&buf[end..end + length]).unwrap();
            assert_eq!(again.to_der().unwrap(), &buf[end..end + length]);
            let alg = request.verify_mac(SECRET.as_bytes(), &limits.mac).unwrap();
            assert!(matches!(alg, MacAlgorithm::Pbmac1 { .. }));
            let body = match &request.message.body {
                PkiBody::Ir(_) => PkiBody::Ip(CertRepMessage {
                    ca_pubs: None,
                    response: vec![CertResponse {
                        cert_req_id: 0,
                        status: PkiStatusInfo::accepted(),
                        certified_key_pair: Some(CertifiedKeyPair::certificate(cert.clone())),
                        rsp_info: None,
                    }],
                }),
                PkiBody::CertConf(statuses) => {
                    let hash = sha2::Sha256::digest(cert.to_der().unwrap());
                    assert_eq!(statuses[0].cert_hash.as_bytes(), hash.as_slice());
                    assert_eq!(statuses[0].cert_req_id, 0);
                    PkiBody::PkiConf(der::asn1::Null)
                }
                other => panic!("unexpected {}", other.name()),
            };
            tx.send(request.message.body.name().to_owned()).unwrap();
            let sender = x509_cert::ext::pkix::name::GeneralName::DirectoryName(
                cert.tbs_certificate().issuer().clone(),
            );
            let mut header = PkiHeader::response_to(&request.message.header, sender).unwrap();
            match fault {
                Fault::None => {}
                Fault::TransactionId => {
                    header.transaction_id = Some(der::asn1::OctetString::new([7u8; 16]).unwrap());
                }
                Fault::RecipNonce => {
                    header.recip_nonce = Some(der::asn1::OctetString::new([7u8; 16]).unwrap());
                }
            }
            let alg = MacAlgorithm::pbmac1_sha256(1_000).unwrap();
            let answer = PkiMessage::protect_with_mac(header, body, &alg, SECRET.as_bytes(), None)
                .unwrap()
                .to_der()
                .unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                answer.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&answer).unwrap();
        }
    });
    (format!("http://127.0.0.1:{port}"), rx)
}

/// PBMAC1 (which OpenSSL 3.0 lacks) both ways, against a responder built
/// from proto-cmp; and answers with another transactionID or recipNonce
/// are refused.
#[test]
fn pbmac1_and_the_header_checks_against_a_proto_cmp_responder() {
    let env = pki();
    let cert = {
        use der::DecodePem;
        x509_cert::Certificate::from_pem(std::fs::read(env.path("ee.pem")).unwrap()).unwrap()
    };
    let args = |url: &str, out: &str| -> Vec<String> {
        [
            "cmp",
            "ir",
            "--server",
            url,
            "--ref",
            "1234",
            "--secret-file",
            "secret",
            "--mac",
            "pbmac1",
            "--unencrypted-key",
            "--newkey",
            "ee.key",
            "--subject",
            "CN=ee.example",
            "--certout",
            out,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    };
    let run = |args: Vec<String>| env.run(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let (url, seen) = pbmac1_responder(cert.clone(), Fault::None);
    let r = run(args(&url, "ir.pem"));
    ok(&r, "ir with PBMAC1");
    assert_eq!(seen.try_iter().collect::<Vec<_>>(), ["ir", "certConf"]);
    check_is_ee(&env, "ir.pem");

    for (fault, text) in [
        (
            Fault::TransactionId,
            "the answer's transactionID is not ours",
        ),
        (
            Fault::RecipNonce,
            "the answer's recipNonce is not the senderNonce we sent",
        ),
    ] {
        let (url, seen) = pbmac1_responder(cert.clone(), fault);
        let r = run(args(&url, "refused.pem"));
        fails(&r, text);
        assert!(r.stderr.contains(text), "{}", r.stderr);
        // Nothing was confirmed, nothing written.
        assert_eq!(seen.try_iter().collect::<Vec<_>>(), ["ir"]);
        assert!(!env.path("refused.pem").exists());
    }
}
