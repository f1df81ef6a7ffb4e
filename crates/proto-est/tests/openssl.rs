//! What proto-est sends, read back by tools we did not write: OpenSSL for the base64, the
//! PKCS #7 certs-only responses, the csrattrs DER and the PKCS #8 key; Python's `email`
//! package for the serverkeygen multipart. And what OpenSSL sends, read by proto-est: a CSR
//! made by `openssl req`, base64 as `openssl base64` wraps it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use der::DecodePem;
use proto_est::{
    CsrAttrsSpec, Limits, Reply, ServerKey, cacerts_reply, csrattrs_reply, decode_csr,
    enrolled_reply, serverkeygen_reply,
};
use x509_cert::Certificate;
use zeroize::Zeroizing;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/est")
        .join(name)
}

fn cert(name: &str) -> Certificate {
    Certificate::from_pem(std::fs::read(fixture(name)).unwrap()).unwrap()
}

/// Runs `program args`, with `stdin` as input, and returns its stdout; panics on failure.
fn run(program: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn openssl(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    run("openssl", args, stdin)
}

/// The body of a base64 reply, decoded by `openssl base64 -d`, which (without `-A`) reads
/// only base64 in lines, as we send it.
fn unbase64(reply: &Reply) -> Vec<u8> {
    openssl(&["base64", "-d"], &reply.body)
}

fn print_certs(pkcs7_der: &[u8]) -> String {
    String::from_utf8(openssl(
        &["pkcs7", "-inform", "DER", "-print_certs", "-noout"],
        pkcs7_der,
    ))
    .unwrap()
}

#[test]
fn cacerts_and_enrolled_read_by_openssl() {
    let ca = cert("ca.pem");
    let leaf = cert("leaf.pem");

    let der = unbase64(&cacerts_reply(std::slice::from_ref(&ca)).unwrap());
    let printed = print_certs(&der);
    assert_eq!(printed.matches("subject=").count(), 1, "{printed}");
    assert!(printed.contains("CN = EST fixture CA"), "{printed}");

    let der = unbase64(&enrolled_reply(&leaf).unwrap());
    let printed = print_certs(&der);
    assert_eq!(printed.matches("subject=").count(), 1, "{printed}");
    assert!(
        printed.contains("subject=CN = device-1.example"),
        "{printed}"
    );
    // The certificate in the reply is the leaf, and it chains to the CA.
    let pem = openssl(&["pkcs7", "-inform", "DER", "-print_certs"], &der);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("issued.pem");
    std::fs::write(&path, &pem).unwrap();
    let ok = openssl(
        &[
            "verify",
            "-CAfile",
            fixture("ca.pem").to_str().unwrap(),
            path.to_str().unwrap(),
        ],
        b"",
    );
    assert!(String::from_utf8(ok).unwrap().ends_with(": OK\n"));
}

#[test]
fn csrattrs_read_by_openssl() {
    let spec = CsrAttrsSpec {
        channel_binding: true,
        ec_curves: vec![cmc_policy::Curve::P384],
        rsa_sizes: vec![3072],
        signature_algorithms: vec![const_oid::db::rfc5912::ECDSA_WITH_SHA_384],
        extensions: Vec::new(),
    };
    let der = unbase64(&csrattrs_reply(&spec).unwrap());
    let parsed = String::from_utf8(openssl(&["asn1parse", "-inform", "DER"], &der)).unwrap();
    for expected in [
        ":challengePassword",
        ":id-ecPublicKey",
        ":secp384r1",
        ":rsaEncryption",
        "INTEGER           :0C00",
        ":ecdsa-with-SHA384",
    ] {
        assert!(parsed.contains(expected), "{expected} in\n{parsed}");
    }
}

#[test]
fn openssl_csr_with_line_breaks() {
    // `openssl base64` wraps at 64 characters with LF, as many EST clients send it.
    let der = openssl(
        &[
            "req",
            "-in",
            fixture("csr_p384_tls_unique.pem").to_str().unwrap(),
            "-outform",
            "DER",
        ],
        b"",
    );
    let body = openssl(&["base64"], &der);
    assert!(body.iter().filter(|&&b| b == b'\n').count() > 1);
    let csr = decode_csr(Some("application/pkcs10"), &body, &Limits::default()).unwrap();
    assert_eq!(csr.der, der);
    assert_eq!(csr.challenge_password.as_deref(), Some("AAECAwQFBgcICQoL"));
    // The same with CRLF line breaks.
    let crlf: Vec<u8> = body
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    let again = decode_csr(Some("application/pkcs10"), &crlf, &Limits::default()).unwrap();
    assert_eq!(again.der, der);
}

#[test]
fn serverkeygen_multipart_read_by_python_and_openssl() {
    let key_der = openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-outform",
            "DER",
        ],
        b"",
    );
    let leaf = cert("leaf.pem");
    let reply =
        serverkeygen_reply(&ServerKey::Pkcs8(Zeroizing::new(key_der.clone())), &leaf).unwrap();
    let content_type = reply.header("Content-Type").unwrap().to_owned();

    // Python's MIME parser splits the parts and undoes their base64; it prints each part's
    // type and the hex of its content.
    let script = r#"
import email, sys
raw = sys.stdin.buffer.read()
msg = email.message_from_bytes(b"Content-Type: " + sys.argv[1].encode() + b"\r\n\r\n" + raw)
assert msg.is_multipart(), "not multipart"
for part in msg.get_payload():
    print(part.get_content_type(), part.get_param("smime-type") or "-", part.get_payload(decode=True).hex())
"#;
    let out = run("python3", &["-c", script, &content_type], &reply.body);
    let out = String::from_utf8(out).unwrap();
    let parts: Vec<Vec<&str>> = out.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(parts.len(), 2, "{out}");
    assert_eq!(parts[0][0], "application/pkcs8");
    let key = hex(parts[0][2]);
    assert_eq!(key, key_der);
    assert_eq!(parts[1][..2], ["application/pkcs7-mime", "certs-only"]);
    let printed = print_certs(&hex(parts[1][2]));
    assert!(printed.contains("CN = device-1.example"), "{printed}");
    // The key part is a private key OpenSSL reads.
    let text = openssl(&["pkey", "-inform", "DER", "-noout", "-text"], &key);
    assert!(String::from_utf8(text).unwrap().contains("P-256"));
}

fn hex(s: &str) -> Vec<u8> {
    base16ct::mixed::decode_vec(s).unwrap()
}
