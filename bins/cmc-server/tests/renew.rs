//! End to end: `cmc-tool renew --once` (the cmc-tool library, parsed from a
//! command line as the binary does) against the built `cmc-server`: a
//! certificate enrolled through the bootstrap RA renewed twice into
//! certificates of five minutes (the default profile honours a requested
//! CRMF notAfter), each verifying against the refreshed CA bundle, with a
//! new key each time, the hook run, and the CRL fetched from `/crl/root.crl`.
//! `--watch` is tested against an in-process responder in
//! bins/cmc-tool/tests/renew.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{cmc_tool, cmc_tool_io, mode, openssl, s, start, write_config};

const CONFIG: &str = "[server]\nlisten = \"127.0.0.1:0\"\n";

fn serial(dir: &Path, cert: &Path) -> String {
    let (ok, text) = openssl(dir, &["x509", "-in", s(cert), "-noout", "-serial"]);
    assert!(ok, "{text}");
    text.trim().to_owned()
}

fn pubkey(dir: &Path, key: &Path) -> String {
    let (ok, text) = openssl(dir, &["pkey", "-in", s(key), "-pubout"]);
    assert!(ok, "{text}");
    text
}

#[test]
fn renew_once_twice_against_the_server_with_bundle_crl_and_hook() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_config(dir, CONFIG);
    let server = start(dir);
    let data = dir.join("cmc-data");
    let url = format!("http://{}/cmc/root", server.addr);
    let cert = dir.join("svc.pem");
    let key = dir.join("svc.key");
    let bundle = dir.join("bundle.pem");
    let crl = dir.join("root.crl");
    let hook_log = dir.join("hook.log");

    let signer = common::bootstrap_enroll_args(&data);
    let mut args = vec![
        "enroll",
        "--url",
        &url,
        "--out-cert",
        s(&cert),
        "--new-key",
        s(&key),
        "--new-key-unencrypted",
        "--subject",
        "CN=svc.example.test",
    ];
    args.extend(signer.iter().map(String::as_str));
    cmc_tool(&args).unwrap();
    std::fs::copy(data.join("root.pem"), &bundle).unwrap();

    let hook = format!(
        "echo \"$CMC_RENEW_SERIAL $CMC_RENEW_CERT $CMC_RENEW_KEY\" >> '{}'",
        hook_log.display()
    );
    let renew = |threshold: &str| {
        cmc_tool_io(&[
            "renew",
            "--once",
            "--cert",
            s(&cert),
            "--key",
            s(&key),
            "--unencrypted-key",
            "--url",
            &url,
            "--ca-bundle",
            s(&bundle),
            "--crl-out",
            s(&crl),
            "--threshold",
            threshold,
            "--lifetime",
            "5m",
            "--on-renew",
            &hook,
        ])
    };

    // Fresh (93 days, 30%): not due, nothing written.
    let err = renew("30%").unwrap_err();
    assert!(err.contains("not due until"), "{err}");
    assert!(err.contains("not due for renewal"), "{err}");
    assert!(!crl.exists() && !hook_log.exists());

    let mut serials = vec![serial(dir, &cert)];
    let mut keys = vec![pubkey(dir, &key)];
    // 400 days remaining is more than 93 days: due now. The certificate of
    // five minutes that replaces it is due at once with a threshold of 5m.
    for threshold in ["400d", "5m"] {
        let (_, log) = renew(threshold).unwrap();
        assert!(log.contains("renewed"), "{log}");
        assert!(log.contains("CA bundle"), "{log}");
        assert!(log.contains("refreshed"), "{log}");
        assert!(!log.contains("not refreshed"), "{log}");
        let (ok, out) = openssl(dir, &["verify", "-CAfile", s(&bundle), s(&cert)]);
        assert!(ok && out.contains(": OK"), "{out}");
        let (ok, out) = openssl(
            dir,
            &[
                "crl",
                "-inform",
                "DER",
                "-in",
                s(&crl),
                "-CAfile",
                s(&bundle),
                "-noout",
            ],
        );
        assert!(ok && out.contains("verify OK"), "{out}");
        let (ok, out) = openssl(
            dir,
            &["x509", "-in", s(&cert), "-noout", "-checkend", "400"],
        );
        assert!(!ok, "a certificate of five minutes: {out}");
        let new_serial = serial(dir, &cert);
        assert!(!serials.contains(&new_serial), "{new_serial} again");
        serials.push(new_serial);
        let new_key = pubkey(dir, &key);
        assert!(!keys.contains(&new_key), "the key was reused");
        let (ok, cert_key) = openssl(dir, &["x509", "-in", s(&cert), "-noout", "-pubkey"]);
        assert!(ok);
        assert_eq!(
            cert_key, new_key,
            "the key file holds the certificate's key"
        );
        keys.push(new_key);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&cert), 0o644);
    }
    let hook_lines: Vec<String> = std::fs::read_to_string(&hook_log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(hook_lines.len(), 2, "{hook_lines:?}");
    for (line, serial) in hook_lines.iter().zip(&serials[1..]) {
        let hex = serial.trim_start_matches("serial=").to_ascii_lowercase();
        let (hook_serial, files) = line.split_once(' ').unwrap();
        assert_eq!(
            hook_serial.trim_start_matches('0'),
            hex.trim_start_matches('0')
        );
        assert_eq!(files, format!("{} {}", cert.display(), key.display()));
    }
}
