//! `cmc-tool enroll --authenticated-data` and `--trust-anchors-out`: a
//! first certificate with a one-time secret and no trust anchor, against an
//! in-process CMC responder (the engine's `handle_full`): the request is an
//! AuthenticatedData (RFC 5272 §3.2), the answer's authData control
//! (§6.15, §6.16) gives the client the root, checked with the secret, and
//! a tampered one is refused. `show` prints both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cmc_codec::trust_anchors::auth_publish;
use cmc_codec::{ResponseVerifyOptions, decode_response};
use common::responder::{start_server, start_server_with};
use common::{Env, openssl};
use der::DecodePem;
use x509_cert::Certificate;

/// A root CA `root` and a one-time secret `alice` for it, in a file.
fn setup() -> (Env, String) {
    let env = Env::new();
    env.root("root");
    let r = env.ok(&["secret", "add", "--ca", "root", "--identification", "alice"]);
    let secret = env.p("alice.secret");
    std::fs::write(&secret, r.stdout.trim()).unwrap();
    (env, secret)
}

fn enroll(env: &Env, url: &str, id: &str, secret: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "enroll",
        "--url",
        url,
        "--identification",
        id,
        "--secret-file",
        secret,
    ];
    let key = env.p("alice.key");
    let cert = env.p("alice.pem");
    args.extend([
        "--new-key",
        &key,
        "--new-key-unencrypted",
        "--subject",
        "CN=alice.example.test",
        "--out-cert",
        &cert,
    ]);
    args.extend_from_slice(extra);
    env.run(&args)
}

/// A responder that flips one bit of the authData's MAC in every answer.
fn start_tampering_server(env: &Env) -> String {
    start_server_with(env, |engine, ca, mut der| {
        let root = engine.ca(ca).unwrap().certificate().clone();
        let resp = decode_response(
            &der,
            &ResponseVerifyOptions::new(std::time::SystemTime::now(), &[root]),
        )
        .unwrap();
        let mac = auth_publish(&resp.pki_response)
            .unwrap()
            .expect("an authData control")
            .data
            .mac
            .as_bytes()
            .to_vec();
        let at = der.windows(mac.len()).position(|w| w == mac).unwrap();
        der[at] ^= 1;
        der
    })
}

/// POSTs a request the way any client would, returning the body.
fn post_raw(url: &str, path: &str, body: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
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
fn a_client_without_a_trust_anchor_enrolls_with_authenticated_data() {
    let (env, secret) = setup();
    let root_pem = env.export("root");
    let url = start_server(&env);
    // The request as `request` writes it: an AuthenticatedData.
    let r = env.run(&[
        "request",
        "--identification",
        "alice",
        "--secret-file",
        &secret,
        "--authenticated-data",
        "--new-key",
        &env.p("shown.key"),
        "--new-key-unencrypted",
        "--subject",
        "CN=shown.example.test",
        "-o",
        &env.p("request.der"),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let shown = env.ok(&["show", &env.p("request.der")]).stdout;
    for want in [
        "AuthenticatedData",
        "PasswordRecipientInfo",
        "PBKDF2",
        "aes256-wrap",
        "identification",
        "popLinkRandom",
    ] {
        assert!(shown.contains(want), "{want}: {shown}");
    }
    // Its answer, as any client gets it, shown with the authData.
    let answer = post_raw(
        &url,
        "/cmc/root",
        &std::fs::read(env.p("request.der")).unwrap(),
    );
    std::fs::write(env.p("response.der"), answer).unwrap();
    let shown = env.ok(&["show", &env.p("response.der")]).stdout;
    for want in [
        "authData",
        "AuthenticatedData (authData body part",
        "controls: id-cmc-trustedAnchors",
        "publishTrustAnchors: seqNumber",
        "hmacWithSHA256",
    ] {
        assert!(shown.contains(want), "{want}: {shown}");
    }
    // A second secret for the enrollment (the first is spent).
    let r = env.ok(&[
        "secret",
        "add",
        "--ca",
        "root",
        "--identification",
        "alice2",
    ]);
    std::fs::write(&secret, r.stdout.trim()).unwrap();

    // No --ca-cert: the anchors the secret proves check the response.
    let anchors = env.p("anchors.pem");
    let r = enroll(
        &env,
        &format!("{url}/cmc/root"),
        "alice2",
        &secret,
        &["--authenticated-data", "--trust-anchors-out", &anchors],
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stdout.contains("proven by the shared secret"),
        "{}",
        r.stdout
    );
    let proven = Certificate::from_pem(std::fs::read(&anchors).unwrap()).unwrap();
    let root = Certificate::from_pem(std::fs::read(&root_pem).unwrap()).unwrap();
    assert_eq!(proven, root);
    // The certificate chains to the proven root.
    let out = openssl(&["verify", "-CAfile", &anchors, &env.p("alice.pem")]);
    assert!(out.contains("OK"), "{out}");
}

#[test]
fn identity_proof_answers_carry_the_anchors_too() {
    let (env, secret) = setup();
    let root_pem = env.export("root");
    let url = start_server(&env);
    let anchors = env.p("anchors.pem");
    let r = enroll(
        &env,
        &format!("{url}/cmc/root"),
        "alice",
        &secret,
        &["--ca-cert", &root_pem, "--trust-anchors-out", &anchors],
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert_eq!(
        Certificate::from_pem(std::fs::read(&anchors).unwrap()).unwrap(),
        Certificate::from_pem(std::fs::read(&root_pem).unwrap()).unwrap()
    );
}

#[test]
fn a_tampered_auth_data_is_refused() {
    let (env, secret) = setup();
    let url = start_tampering_server(&env);
    let anchors = env.p("anchors.pem");
    let r = enroll(
        &env,
        &format!("{url}/cmc/root"),
        "alice",
        &secret,
        &["--authenticated-data", "--trust-anchors-out", &anchors],
    );
    assert_eq!(
        r.code,
        Some(1),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stderr
            .contains("authData does not verify with the secret"),
        "{}",
        r.stderr
    );
    assert!(!env.path("anchors.pem").exists());
    assert!(!env.path("alice.pem").exists());
}
