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

use std::path::Path;

use common::cmp::Cmp;
use common::{Backend, openssl, s};
use der::Decode;
use proto_cmp::{FailureBit, PkiBody, PkiStatus};

const PKIXCMP: &str = "application/pkixcmp";

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

/// A certificate whose certConf never comes (`openssl cmp -disable_confirm`) is revoked
/// by the running server once `confirm_wait_secs` has passed: the sweep runs on its own,
/// and the next CRL lists the serial.
#[test]
fn unconfirmed_certificate_is_revoked_by_the_server() {
    unconfirmed_certificate_is_revoked_by_the_server_on(
        Backend::Sqlite,
        "unconfirmed_certificate_is_revoked_by_the_server",
    );
}

#[test]
fn unconfirmed_certificate_is_revoked_by_the_server_on_postgresql() {
    unconfirmed_certificate_is_revoked_by_the_server_on(
        Backend::Postgres,
        "unconfirmed_certificate_is_revoked_by_the_server_on_postgresql",
    );
}

fn unconfirmed_certificate_is_revoked_by_the_server_on(backend: Backend, test: &str) {
    if !cmc_testkit::openssl_cmp_available(test) {
        return;
    }
    let Some(cmp) = Cmp::on(
        backend,
        test,
        "[ca.root.cmp]\nconfirm_wait_secs = 10\n",
        &[],
    ) else {
        return;
    };
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let key = cmp.key("unconfirmed");
    let out_cert = cmp.file("unconfirmed.pem");
    let (ok, out) = cmp.cmp(
        "ra",
        &[
            "-cmd",
            "cr",
            "-newkey",
            s(&key),
            "-subject",
            "/CN=unconfirmed.example.test",
            "-popo",
            "0",
            "-disable_confirm",
            "-certout",
            s(&out_cert),
        ],
    );
    assert!(ok, "{out}");
    assert!(!out.contains("CERTCONF"), "{out}");
    let (ok, serial) = openssl(
        &cmp.dir,
        &["x509", "-in", s(&out_cert), "-noout", "-serial"],
    );
    assert!(ok, "{serial}");
    let serial = serial
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_uppercase();
    let crl = cmp.file("root.crl");
    let started = std::time::Instant::now();
    loop {
        let r = cmp.server.get("/crl/root.crl");
        assert_eq!(r.status, 200);
        std::fs::write(&crl, &r.body).unwrap();
        let (ok, text) = openssl(
            &cmp.dir,
            &["crl", "-inform", "DER", "-in", s(&crl), "-noout", "-text"],
        );
        assert!(ok, "{text}");
        if text.to_ascii_uppercase().contains(&serial) {
            assert!(text.contains("Cessation Of Operation"), "{text}");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(90),
            "not revoked after 90 s: {text}"
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// A request the profile holds for approval: the server answers "waiting", `openssl cmp`
/// polls (pollReq/pollRep, `checkAfter` from `pending_poll_secs`) until an operator
/// approves it with `cmc-tool pending approve`, then gets the certificate and confirms it;
/// a rejected one ends the client's polling with the agent's reason.
#[test]
fn held_request_is_polled_until_approved_or_rejected() {
    held_request_is_polled_until_approved_or_rejected_on(
        Backend::Sqlite,
        "held_request_is_polled_until_approved_or_rejected",
    );
}

#[test]
fn held_request_is_polled_until_approved_or_rejected_on_postgresql() {
    held_request_is_polled_until_approved_or_rejected_on(
        Backend::Postgres,
        "held_request_is_polled_until_approved_or_rejected_on_postgresql",
    );
}

fn held_request_is_polled_until_approved_or_rejected_on(backend: Backend, test: &str) {
    if !cmc_testkit::openssl_cmp_available(test) {
        return;
    }
    let Some(cmp) = Cmp::on(
        backend,
        test,
        "profiles = \"profiles.toml\"\n[requests]\npending_poll_secs = 1\n",
        &[(
            "profiles.toml",
            "default_profile = \"held\"\n[profile.held]\nrequire_approval = true\n",
        )],
    ) else {
        return;
    };
    cmp.add_client("ra", "ra", "CN=CMP RA");
    let config = cmp.file("cmc.toml");
    let waiting = || loop {
        let list = common::admin(&config, &["pending", "list", "--waiting", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&list).unwrap();
        if let Some(id) = v.get(0).and_then(|e| e["id"].as_str()) {
            return id.to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // `openssl cmp` on its own thread (it polls until the decision), with the arguments
    // Cmp::cmp would give it.
    let ask = |name: &str| {
        let key = cmp.key(name);
        let cert = cmp.file(&format!("{name}.pem"));
        let args: Vec<String> = [
            "cmp",
            "-server",
            &cmp.server.addr,
            "-path",
            ".well-known/cmp",
            "-cert",
            s(&cmp.file("ra.pem")),
            "-key",
            s(&cmp.file("ra.key")),
            "-cmd",
            "ir",
            "-newkey",
            s(&key),
            "-subject",
            &format!("/CN={name}.example.test"),
            "-popo",
            "0",
            "-total_timeout",
            "60",
            "-certout",
            s(&cert),
            "-trusted",
            s(&cmp.file("cmc-data/root.pem")),
            "-ignore_keyusage",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        let dir = cmp.dir.clone();
        std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (ok, out) = openssl(&dir, &args);
            (ok, out, cert)
        })
    };

    let client = ask("approved");
    let id = waiting();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    common::admin(&config, &["pending", "approve", &id]);
    let (ok, out, cert) = client.join().unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("received POLLREP"), "polled: {out}");
    assert!(out.contains("sending CERTCONF"), "{out}");
    cmp.verify(&cert);
    assert_eq!(cmp.subject(&cert), "CN=approved.example.test");

    let client = ask("rejected");
    let id = waiting();
    common::admin(
        &config,
        &["pending", "reject", &id, "--reason", "not known here"],
    );
    let (ok, out, cert) = client.join().unwrap();
    assert!(!ok, "{out}");
    assert!(out.contains("not known here"), "{out}");
    assert!(!cert.exists());
}

/// Indirect proof of possession (`openssl cmp -popo 2`, keyEncipherment with
/// `subsequentMessage encrCert`) for an RSA key: the certificate comes back encrypted to
/// that key, the client decrypts it and proves possession with its certConf. An EC key
/// cannot receive it (badPOP), and a certificate whose confirmation does not come is
/// revoked like any other.
#[test]
fn indirect_pop_with_an_encrypted_certificate() {
    if !cmc_testkit::openssl_cmp_available("indirect_pop_with_an_encrypted_certificate") {
        return;
    }
    let cmp = Cmp::start();
    cmp.add_client("device-1", "client", "CN=device-1.example.test");
    let key = cmp.file("rsa.key");
    let (ok, out) = openssl(
        &cmp.dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            s(&key),
        ],
    );
    assert!(ok, "{out}");
    let out_cert = cmp.file("indirect.pem");
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
            "2",
            "-reqout",
            s(&cmp.file("cr.der")),
            "-rspout",
            s(&cmp.file("cp.der")),
            "-certout",
            s(&out_cert),
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("sending CERTCONF"), "{out}");
    cmp.verify(&out_cert);
    // The answer held the certificate encrypted, not in clear.
    let cp = std::fs::read(cmp.file("cp.der")).unwrap();
    let cp = proto_cmp::PkiMessage::from_der(&cp).unwrap();
    let PkiBody::Cp(rep) = cp.body else {
        panic!("not a cp: {}", cp.body.name());
    };
    let pair = rep.response[0].certified_key_pair.as_ref().unwrap();
    assert!(
        matches!(
            pair.cert_or_enc_cert,
            proto_cmp::CertOrEncCert::EncryptedCert(_)
        ),
        "{pair:?}"
    );

    // An EC key cannot be sent an encrypted certificate.
    let ec = cmp.key("ec-indirect");
    let refused = cmp.file("ec-indirect.pem");
    let (ok, out) = cmp.cmp(
        "device-1",
        &[
            "-cmd",
            "cr",
            "-newkey",
            s(&ec),
            "-subject",
            "/CN=device-1.example.test",
            "-popo",
            "2",
            "-certout",
            s(&refused),
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("badPOP"), "{out}");
    assert!(!refused.exists());
}

/// The acme2certifier command of issue 16, as its CMP handler runs it: an
/// RA with a long-lived MAC credential (reference 1234, registered with
/// `cmc-tool client add --reference --mac-secret-file`), a CA-specific path
/// alias (`[ca.root.cmp] paths = ["pkix/"]`), only the public key of the new
/// key and raVerified. The answer is MAC-protected with the same secret and
/// carries the chain. Then the refusals: a wrong secret and an unknown
/// reference (one answer, badMessageCheck, nothing issued), and the request
/// replayed byte for byte (badSenderNonce).
#[test]
fn acme2certifier_command_with_an_ra_mac_credential() {
    acme2certifier_command_with_an_ra_mac_credential_on(
        Backend::Sqlite,
        "acme2certifier_command_with_an_ra_mac_credential",
    );
}

#[test]
fn acme2certifier_command_with_an_ra_mac_credential_on_postgresql() {
    acme2certifier_command_with_an_ra_mac_credential_on(
        Backend::Postgres,
        "acme2certifier_command_with_an_ra_mac_credential_on_postgresql",
    );
}

fn acme2certifier_command_with_an_ra_mac_credential_on(backend: Backend, test: &str) {
    if !cmc_testkit::openssl_cmp_available(test) {
        return;
    }
    let Some(cmp) = Cmp::on(
        backend,
        test,
        "[ca.root.cmp]\npaths = [\"pkix/\"]\nimplicit_confirm = true\n",
        &[],
    ) else {
        return;
    };
    let secret = "correct-horse-battery-staple-1234";
    let secret_file = cmp.file("ra-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let registered = common::admin(
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
            "1234",
            "--mac-secret-file",
            s(&secret_file),
        ],
    );
    assert!(registered.contains("MAC reference"), "{registered}");
    assert!(!registered.contains(secret), "{registered}");
    // The secret is sealed: the database does not hold it.
    if backend == Backend::Sqlite {
        let db = std::fs::read(cmp.file("cmc-data/cmc.db")).unwrap();
        assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    let key_file = cmp.file("cmc-data/secrets.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let key = cmp.key("acme");
    let pubkey = cmp.file("pubkey.pem");
    let (ok, out) = openssl(
        &cmp.dir,
        &["pkey", "-in", s(&key), "-pubout", "-out", s(&pubkey)],
    );
    assert!(ok, "{out}");
    let out_cert = cmp.file("test-cert.pem");
    let ca_certs = cmp.file("ca_certs.pem");
    let request = cmp.file("ir.der");
    let ra_cert = cmp.file("ra.pem");
    let (ok, out) = cmp.mac(
        "pkix/",
        "1234",
        secret,
        &[
            "-cmd",
            "ir",
            "-newkey",
            s(&pubkey),
            "-cert",
            s(&ra_cert),
            "-popo",
            "0",
            "-subject",
            "/CN=test-cert",
            "-extracertsout",
            s(&ca_certs),
            "-certout",
            s(&out_cert),
            "-reqout",
            s(&request),
        ],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("sending CERTCONF"),
        "not asked, not granted: {out}"
    );
    cmp.verify(&out_cert);
    assert_eq!(cmp.subject(&out_cert), "CN=test-cert");
    let (ok, out) = openssl(&cmp.dir, &["verify", "-CAfile", s(&ca_certs), s(&out_cert)]);
    assert!(ok, "ca_certs.pem holds the chain: {out}");

    // Implicit confirmation, asked for and granted: no certConf.
    let implicit_cert = cmp.file("implicit.pem");
    let (ok, out) = cmp.mac(
        "pkix/",
        "1234",
        secret,
        &[
            "-cmd",
            "ir",
            "-newkey",
            s(&pubkey),
            "-popo",
            "0",
            "-subject",
            "/CN=implicit-cert",
            "-implicit_confirm",
            "-certout",
            s(&implicit_cert),
        ],
    );
    assert!(ok, "{out}");
    assert!(!out.contains("CERTCONF"), "granted: {out}");
    cmp.verify(&implicit_cert);

    // The same request again: refused, in an answer MAC-protected with
    // the RA's secret (the sender was authenticated).
    let ir = std::fs::read(&request).unwrap();
    let reply = cmp.post("/pkix/", PKIXCMP, &ir);
    assert_eq!(reply.status, 200);
    let answer = proto_cmp::PkiMessage::from_der(&reply.body).unwrap();
    let alg = answer.header.protection_alg.as_ref().unwrap();
    assert!(proto_cmp::MacAlgorithm::is_mac(alg), "{alg:?}");
    let (status, bits, text) = error_of(&reply.body);
    assert_eq!(status, PkiStatus::Rejection);
    assert!(
        bits.contains(&FailureBit::BadSenderNonce)
            || bits.contains(&FailureBit::TransactionIdInUse),
        "{bits:?} {text}"
    );

    // A wrong secret and an unknown reference: the same answer, signed
    // (the sender is not authenticated), nothing issued.
    for (reference, secret) in [("1234", "not-the-secret-of-the-ra"), ("4321", secret)] {
        let refused = cmp.file(&format!("refused-{reference}.pem"));
        let (ok, out) = cmp.mac(
            "pkix/",
            reference,
            secret,
            &[
                "-cmd",
                "ir",
                "-newkey",
                s(&pubkey),
                "-popo",
                "0",
                "-subject",
                "/CN=test-cert",
                "-certout",
                s(&refused),
            ],
        );
        assert!(!ok, "{reference}: {out}");
        assert!(out.contains("badMessageCheck"), "{reference}: {out}");
        assert!(!refused.exists());
    }
}

/// A one-time secret from `cmc-tool secret add` works over CMP with its
/// identification as the reference: raVerified is refused (its owner is no
/// RA), a name outside the secret's registration is refused, the right
/// request issues one certificate, and the spent secret issues no second.
#[test]
fn one_time_secret_over_cmp() {
    if !cmc_testkit::openssl_cmp_available("one_time_secret_over_cmp") {
        return;
    }
    let cmp = Cmp::start();
    let secret = common::add_root_secret(
        &cmp.file("cmc.toml"),
        "device-9",
        &["--subject", "CN=device-9.example.test"],
    );
    let key = cmp.key("device-9");
    let ir = |subject: &str, popo: Option<&str>, out_cert: &Path| {
        let mut args = vec!["-cmd", "ir", "-newkey", s(&key), "-subject", subject];
        if let Some(p) = popo {
            args.extend_from_slice(&["-popo", p]);
        }
        args.extend_from_slice(&["-certout", s(out_cert)]);
        cmp.mac(".well-known/cmp", "device-9", &secret, &args)
    };

    let out_cert = cmp.file("device-9.pem");
    let (ok, out) = ir("/CN=device-9.example.test", Some("0"), &out_cert);
    assert!(
        !ok && out.contains("badPOP"),
        "raVerified from a secret owner: {out}"
    );
    let (ok, out) = ir("/CN=someone-else.example.test", None, &out_cert);
    assert!(
        !ok && out.contains("badRequest"),
        "a name outside the secret's: {out}"
    );
    assert!(!out_cert.exists());

    let (ok, out) = ir("/CN=device-9.example.test", None, &out_cert);
    assert!(ok, "{out}");
    cmp.verify(&out_cert);
    assert_eq!(cmp.subject(&out_cert), "CN=device-9.example.test");

    let again = cmp.file("device-9-again.pem");
    let (ok, out) = ir("/CN=device-9.example.test", None, &again);
    assert!(!ok, "a spent secret: {out}");
    assert!(out.contains("badMessageCheck"), "{out}");
    assert!(!again.exists());
}

/// acme2certifier's own CMP CA handler (PyPI `acme2certifier` 0.46.3,
/// driven by `scripts/cmp_peer.py`, which calls its `enroll` with the CSR
/// as an ACME server would) enrolls through the server unchanged,
/// configured as its documentation shows: `cmp_server`, `cmp_path` (our
/// alias `pkix/`), `cmp_ref`/`cmp_secret` (the RA's MAC credential),
/// `cmp_recipient`, `cmp_trusted`. The certificate it returns verifies and
/// has the CSR's names and key; its bundle holds the chain.
#[test]
fn acme2certifier_cmp_handler_enrolls() {
    let test = "acme2certifier_cmp_handler_enrolls";
    if !cmc_testkit::openssl_cmp_available(test)
        || !common::acme2certifier_handler_available(test, "cmp")
    {
        return;
    }
    let cmp = Cmp::start_with("[ca.root.cmp]\npaths = [\"pkix/\"]\n");
    let secret = "acme2certifier-ra-secret-5678";
    let secret_file = cmp.file("acme-ra-secret");
    std::fs::write(&secret_file, secret).unwrap();
    common::admin(
        &cmp.file("cmc.toml"),
        &[
            "client",
            "add",
            "acme-ra",
            "--role",
            "ra",
            "--ca",
            "root",
            "--issue",
            "--subject",
            "CN=acme2certifier",
            "--out-dir",
            s(&cmp.dir),
            "--unencrypted-key",
            "--reference",
            "5678",
            "--mac-secret-file",
            s(&secret_file),
        ],
    );
    let key = cmp.key("acme-client");
    let csr = cmp.file("acme.csr");
    let (ok, out) = openssl(
        &cmp.dir,
        &[
            "req",
            "-new",
            "-key",
            s(&key),
            "-subj",
            "/CN=www.acme.example.test",
            "-addext",
            "subjectAltName=DNS:www.acme.example.test,DNS:acme.example.test",
            "-out",
            s(&csr),
        ],
    );
    assert!(ok, "{out}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cmp_peer.py");
    let cert = cmp.file("acme.pem");
    let bundle = cmp.file("acme-bundle.pem");
    let root = cmp.file("cmc-data/root.pem");
    let run = std::process::Command::new("python3")
        .arg(&script)
        .args([
            "--server",
            &cmp.server.addr,
            "--path",
            "pkix/",
            "--ref",
            "5678",
        ])
        .args(["--recipient", "/CN=root", "--trusted", s(&root)])
        .args([
            "--csr",
            s(&csr),
            "--out",
            s(&cert),
            "--bundle-out",
            s(&bundle),
        ])
        .env("CMP_SECRET", format!("pass:{secret}"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(run.status.success(), "cmp_peer:\n{stdout}\n{stderr}");
    cmp.verify(&cert);
    assert_eq!(cmp.subject(&cert), "CN=www.acme.example.test");
    let (ok, text) = openssl(
        &cmp.dir,
        &["x509", "-in", s(&cert), "-noout", "-ext", "subjectAltName"],
    );
    assert!(ok && text.contains("DNS:acme.example.test"), "{text}");
    let (_, cert_key) = openssl(&cmp.dir, &["x509", "-in", s(&cert), "-noout", "-pubkey"]);
    let (_, csr_key) = openssl(&cmp.dir, &["req", "-in", s(&csr), "-noout", "-pubkey"]);
    assert_eq!(cert_key, csr_key, "the certificate is for the CSR's key");
    let (ok, out) = openssl(&cmp.dir, &["verify", "-CAfile", s(&bundle), s(&cert)]);
    assert!(ok, "the bundle holds the chain: {out}");

    // The same handler with a wrong secret gets nothing.
    let refused = cmp.file("refused.pem");
    let run = std::process::Command::new("python3")
        .arg(&script)
        .args([
            "--server",
            &cmp.server.addr,
            "--path",
            "pkix/",
            "--ref",
            "5678",
        ])
        .args(["--recipient", "/CN=root", "--trusted", s(&root)])
        .args(["--csr", s(&csr), "--out", s(&refused)])
        .env("CMP_SECRET", "pass:not-the-secret-of-acme2certifier")
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(!refused.exists());
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
