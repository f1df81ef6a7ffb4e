//! The CMC client commands (`request`, `enroll`, `show`) against an
//! in-process CMC responder: the engine's `handle_full` behind a minimal
//! HTTP/1.1 listener in this test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use common::responder::{start_fixed_server, start_server};
use common::{Env, openssl};

/// A root CA `root` and an RA credential `ra` (out/ra.key, out/ra.pem).
fn setup() -> Env {
    let env = Env::new();
    env.root("root");
    env.issue_client("ra", "ra", "root");
    env
}

fn signer_args(env: &Env, id: &str) -> Vec<String> {
    vec![
        "--signer-cert".into(),
        env.p(&format!("out/{id}.pem")),
        "--signer-key".into(),
        env.p(&format!("out/{id}.key")),
        "--passphrase-file".into(),
        env.p("passphrase"),
    ]
}

fn run(env: &Env, args: &[String]) -> common::Run {
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn enroll_args(env: &Env, url: &str, name: &str, key_type: &str, crmf: bool) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "enroll".into(),
        "--url".into(),
        format!("{url}/cmc/root"),
        "--ca-cert".into(),
        env.p("root.pem"),
    ];
    args.extend(signer_args(env, "ra"));
    args.extend([
        "--new-key".into(),
        env.p(&format!("{name}.key")),
        "--subject".into(),
        format!("CN={name}.example,O=cmc-tool tests"),
        "--key-type".into(),
        key_type.into(),
        "--new-key-passphrase-file".into(),
        env.p("passphrase"),
        "--out-cert".into(),
        env.p(&format!("{name}.pem")),
        "--out-chain".into(),
        env.p(&format!("{name}-chain.pem")),
    ]);
    if crmf {
        args.push("--crmf".into());
    }
    args
}

fn check_issued(env: &Env, name: &str, key_kind: &str) {
    let cert = env.p(&format!("{name}.pem"));
    let ca = env.p("root.pem");
    let verified = openssl(&["verify", "-CAfile", &ca, &cert]);
    assert!(verified.contains(": OK"), "{verified}");
    let text = openssl(&["x509", "-in", &cert, "-noout", "-subject", "-text"]);
    assert!(
        text.contains(&format!("CN={name}.example"))
            || text.contains(&format!("CN = {name}.example")),
        "{text}"
    );
    assert!(text.contains(key_kind), "{text}");
    assert_eq!(common::mode(&env.path(&format!("{name}.key"))), 0o600);
    let chain = std::fs::read_to_string(env.p(&format!("{name}-chain.pem"))).unwrap();
    assert!(chain.contains("BEGIN CERTIFICATE"));
}

#[test]
fn enroll_pkcs10_p256_and_crmf_p384_through_an_ra() {
    let env = setup();
    env.export("root");
    let url = start_server(&env);

    let r = run(&env, &enroll_args(&env, &url, "web", "p256", false));
    assert_eq!(
        r.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.contains("status: success"), "{}", r.stdout);
    check_issued(&env, "web", "prime256v1");

    let r = run(&env, &enroll_args(&env, &url, "mail", "p384", true));
    assert_eq!(
        r.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.contains("status: success"), "{}", r.stdout);
    check_issued(&env, "mail", "secp384r1");
}

#[test]
fn enroll_by_an_unregistered_signer_names_bad_identity() {
    let env = setup();
    env.export("root");
    let url = start_server(&env);
    std::fs::create_dir_all(env.path("stranger")).unwrap();
    let key = env.p("stranger/s.key");
    let cert = env.p("stranger/s.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &cert,
        "-subj",
        "/CN=stranger",
        "-days",
        "2",
    ]);
    let out = env.p("x.pem");
    let new_key = env.p("x.key");
    let url = format!("{url}/cmc/root");
    let ca = env.p("root.pem");
    let r = env.run(&[
        "enroll",
        "--url",
        &url,
        "--ca-cert",
        &ca,
        "--signer-cert",
        &cert,
        "--signer-key",
        &key,
        "--unencrypted-key",
        "--new-key",
        &new_key,
        "--subject",
        "CN=x",
        "--new-key-unencrypted",
        "--out-cert",
        &out,
    ]);
    assert_eq!(
        r.code,
        Some(1),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.contains("failInfo: badIdentity"), "{}", r.stdout);
    assert!(r.stderr.contains("badIdentity"), "{}", r.stderr);
    assert!(!Path::new(&out).exists());
    assert!(
        !Path::new(&new_key).exists(),
        "the new key of a refused request is removed"
    );
}

#[test]
fn enroll_to_an_unknown_ca_reports_the_http_status() {
    let env = setup();
    env.export("root");
    let url = start_server(&env);
    let mut args = enroll_args(&env, &url, "web", "p256", false);
    args[2] = format!("{url}/cmc/nosuch");
    let r = run(&env, &args);
    assert_eq!(
        r.code,
        Some(1),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
}

#[test]
fn tls_options_need_an_https_url() {
    let env = setup();
    env.export("root");
    let mut args = enroll_args(&env, "http://127.0.0.1:1", "web", "p256", false);
    args.push("--tls-client-auth".into());
    let r = run(&env, &args);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .contains("--tls-ca and --tls-client-auth need an https:// URL"),
        "{}",
        r.stderr
    );
    assert!(!env.path("web.key").exists());
}

#[test]
fn request_and_response_are_shown() {
    let env = setup();
    env.export("root");
    // request -o, then show it.
    let mut args: Vec<String> = vec!["request".into()];
    args.extend(signer_args(&env, "ra"));
    args.extend([
        "--new-key".into(),
        env.p("dev.key"),
        "--subject".into(),
        "CN=dev.example".into(),
        "--new-key-unencrypted".into(),
        "--transaction-id".into(),
        "0badcafe".into(),
        "-o".into(),
        env.p("req.der"),
    ]);
    let r = run(&env, &args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let req = env.p("req.der");
    let text = env.ok(&["show", &req]).stdout;
    for want in [
        "PKIData",
        "signature:     valid",
        "senderNonce (body part 1)",
        "transactionId (body part 2)",
        "tcr (PKCS #10) body part 3: subject CN=dev.example, key EC P-256",
        "CN=ra,O=cmc-tool tests",
        "issuerAndSerialNumber",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let json = env.ok(&["show", &req, "--json"]).json();
    assert_eq!(json["content_type"], "PKIData");
    assert_eq!(json["signature_valid"], true);
    assert_eq!(json["requests"][0]["body_part_id"], 3);

    // The response of the server to that request, shown.
    let url = start_server(&env);
    let body = std::fs::read(&req).unwrap();
    let resp = post_raw(&url, "/cmc/root", &body);
    let resp_path = env.p("resp.der");
    std::fs::write(&resp_path, resp).unwrap();
    let text = env.ok(&["show", &resp_path]).stdout;
    for want in [
        "PKIResponse",
        "signature:     valid",
        "statusInfoV2",
        "recipientNonce",
        "status (control",
        "success",
        "CN=dev.example",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let json = env.ok(&["show", &resp_path, "--json"]).json();
    assert_eq!(json["content_type"], "PKIResponse");
    assert_eq!(json["statuses"][0]["status"], "success");
    assert!(
        json["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"].as_str().unwrap().contains("statusInfoV2"))
    );
}

/// POSTs a request the way any client would, returning the body.
fn post_raw(url: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/pkcs7-mime; smime-type=CMC-request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let i = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(all.starts_with(b"HTTP/1.1 200"));
    all.split_off(i + 4)
}

#[test]
fn peer_requests_are_shown_with_their_signature_checked() {
    let env = Env::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/peers/pkcs11_ca");
    let good = dir.join("test_cmc_crmf_req.der").display().to_string();
    let r = env.ok(&["show", &good, "--at", "2023-01-12T00:00:00Z"]);
    assert!(r.stdout.contains("signature:     valid"), "{}", r.stdout);
    assert!(r.stdout.contains("crm (CRMF)"), "{}", r.stdout);
    assert!(r.stdout.contains("senderNonce"), "{}", r.stdout);
    let json = env
        .ok(&["show", &good, "--at", "2023-01-12T00:00:00Z", "--json"])
        .json();
    assert_eq!(json["signature_valid"], true);
    assert_eq!(json["signers"][0]["signing_time"], "2023-01-11T12:32:42Z");
    // regInfo is shown as text (the admin requests of this client are JSON).
    let reg_info = json["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "id-cmc-regInfo")
        .unwrap();
    assert_eq!(reg_info["detail"], "crmf");
    assert!(r.stdout.contains("regInfo (body part"), "{}", r.stdout);
    assert!(r.stdout.contains("\n    crmf\n"), "{}", r.stdout);

    let bad = dir
        .join("test_cmc_pkcs10_req_bad_signature.der")
        .display()
        .to_string();
    let r = env.ok(&["show", &bad, "--at", "2023-01-12T00:00:00Z", "--json"]);
    let json = r.json();
    assert_eq!(json["signature_valid"], false);
    assert!(
        json["signature"].as_str().unwrap().starts_with("invalid"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_response_to_another_request_is_refused() {
    let env = setup();
    env.export("root");
    let url = start_server(&env);
    // A genuine response of the CA, but to an earlier request.
    let mut args: Vec<String> = vec!["request".into()];
    args.extend(signer_args(&env, "ra"));
    args.extend([
        "--new-key".into(),
        env.p("old.key"),
        "--subject".into(),
        "CN=old.example".into(),
        "--new-key-unencrypted".into(),
        "-o".into(),
        env.p("old.der"),
    ]);
    let r = run(&env, &args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let old = post_raw(&url, "/cmc/root", &std::fs::read(env.p("old.der")).unwrap());
    let replay = start_fixed_server(old);
    let r = run(&env, &enroll_args(&env, &replay, "web", "p256", false));
    assert_eq!(
        r.code,
        Some(1),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stderr
            .contains("recipientNonce is not the senderNonce we sent"),
        "{}",
        r.stderr
    );
    assert!(!env.path("web.pem").exists());
    assert!(!env.path("web.key").exists());
}

#[test]
fn a_response_from_another_ca_is_refused() {
    let env = setup();
    env.root("other");
    env.export("root");
    let other = env.export("other");
    let url = start_server(&env);
    let mut args = enroll_args(&env, &url, "web", "p256", false);
    args[4] = other;
    let r = run(&env, &args);
    assert_eq!(
        r.code,
        Some(1),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stderr.contains("the response does not verify"),
        "{}",
        r.stderr
    );
    assert!(!env.path("web.pem").exists());
}

#[test]
fn an_existing_csr_is_sent_as_it_is() {
    let env = setup();
    env.export("root");
    let url = start_server(&env);
    let key = env.p("csr.key");
    let csr = env.p("csr.pem");
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &csr,
        "-subj",
        "/CN=csr.example/O=cmc-tool tests",
    ]);
    let mut args: Vec<String> = vec!["request".into()];
    args.extend(signer_args(&env, "ra"));
    args.extend(["--csr".into(), csr.clone(), "-o".into(), env.p("csr.der")]);
    let r = run(&env, &args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let shown = env.ok(&["show", &env.p("csr.der"), "--json"]).json();
    assert_eq!(shown["requests"][0]["kind"], "tcr (PKCS #10)");
    assert_eq!(shown["requests"][0]["key_type"], "EC P-384");

    let ca = env.p("root.pem");
    let out = env.p("csr-cert.pem");
    let mut args: Vec<String> = vec![
        "enroll".into(),
        "--url".into(),
        format!("{url}/cmc/root"),
        "--ca-cert".into(),
        ca.clone(),
    ];
    args.extend(signer_args(&env, "ra"));
    args.extend(["--csr".into(), csr, "--out-cert".into(), out.clone()]);
    let r = run(&env, &args);
    assert_eq!(
        r.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    let verified = openssl(&["verify", "-CAfile", &ca, &out]);
    assert!(verified.contains(": OK"), "{verified}");
    // The certificate is for the CSR's key.
    let cert_key = openssl(&["x509", "-in", &out, "-noout", "-pubkey"]);
    let csr_key = openssl(&["pkey", "-in", &key, "-pubout"]);
    assert_eq!(cert_key, csr_key);
}
