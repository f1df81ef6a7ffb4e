//! End to end: `cmc-tool enroll` (the cmc-tool library, parsed from a
//! command line as the binary does) against the built `cmc-server` on an
//! ephemeral loopback port, on the embedded default set up at first start.
//! Every issued certificate is checked with `openssl verify` and pkilint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use cmc_testkit::{pkilint_available, pkilint_clean};
use common::{Server, openssl, start, write_config};

const CONFIG: &str = "[server]\nlisten = \"127.0.0.1:0\"\n";

/// Runs `cmc-tool ARGS` in-process; returns its standard error text, or
/// the error chain as the binary would print it.
fn cmc_tool(args: &[&str]) -> Result<String, String> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut io = cmc_tool::Io {
        out: &mut out,
        err: &mut err,
        out_is_terminal: false,
    };
    let result = cmc_tool::run_args(
        std::iter::once("cmc-tool").chain(args.iter().copied()),
        &mut io,
    );
    let notes = format!(
        "{}{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    result.map(|()| notes).map_err(|e| format!("{e:#}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The server and the bootstrap RA files it created.
struct Setup {
    _tmp: tempfile::TempDir,
    server: Server,
    data: PathBuf,
    url: String,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    write_config(tmp.path(), CONFIG);
    let server = start(tmp.path());
    let data = tmp.path().join("cmc-data");
    let url = format!("http://{}/cmc/root", server.addr);
    Setup {
        _tmp: tmp,
        server,
        data,
        url,
    }
}

impl Setup {
    /// `cmc-tool enroll` with the bootstrap RA as signer, verifying the
    /// response against the root, and `extra` deciding what is requested.
    fn enroll(&self, name: &str, extra: &[&str]) -> Result<PathBuf, String> {
        let cert = self.data.join(format!("{name}.pem"));
        let chain = self.data.join(format!("{name}-chain.pem"));
        let signer = common::bootstrap_enroll_args(&self.data);
        let mut args = vec![
            "enroll",
            "--url",
            &self.url,
            "--out-cert",
            s(&cert),
            "--out-chain",
            s(&chain),
        ];
        args.extend(signer.iter().map(String::as_str));
        args.extend_from_slice(extra);
        cmc_tool(&args)?;
        let chain_text = std::fs::read_to_string(&chain).unwrap();
        assert!(chain_text.contains("BEGIN CERTIFICATE"), "{chain_text}");
        Ok(cert)
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
    let setup = setup();
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
    if pkilint_available("cmc_tool_enrolls_an_openssl_csr_and_reports_a_refusal") {
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
