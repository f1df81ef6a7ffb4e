//! Our own CMP client, `cmc-tool cmp` (its library, in-process), against a
//! running `cmc-server` on the embedded default (root CA "root" on
//! SQLite): the other half of the interop with `openssl cmp` (its client
//! against this server is `tests/cmp.rs`; our client against its mock
//! server is cmc-tool's `tests/cmp.rs`). The server signs its answers with
//! the CA key, so `--trusted` is the root certificate itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{cmc_tool, mode, openssl, s, start};

/// ir signed by a registered RA, with a key the client generates and a
/// signature POPO, to the default path `/.well-known/cmp`; then cr with
/// raVerified for a key the RA only has the public half of, and refusals
/// reported with their failure bits.
#[test]
fn cmc_tool_cmp_enrolls_with_a_registered_client_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = common::write_config(dir, "[server]\nlisten = \"127.0.0.1:0\"\n");
    let server = start(dir);
    common::add_root_client(&config, dir, "ra", "ra", "CN=CMP RA");
    let file = |name: &str| dir.join(name);
    let root = file("cmc-data/root.pem");
    let url = format!("http://{}", server.addr);
    let base = |cmd: &'static str| -> Vec<String> {
        [
            "--config",
            s(&config),
            "cmp",
            cmd,
            "--server",
            &url,
            "--cert",
            s(&file("ra.pem")),
            "--key",
            s(&file("ra.key")),
            "--unencrypted-key",
            "--trusted",
            s(&root),
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    };
    let run = |args: &[String]| cmc_tool(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let mut ir = base("ir");
    for a in [
        "--new-key",
        s(&file("ir.key")),
        "--new-key-unencrypted",
        "--subject",
        "CN=ir.cmp-client.example.test",
        "--certout",
        s(&file("ir.pem")),
        "--chainout",
        s(&file("ir-chain.pem")),
        "--extracertsout",
        s(&file("ir-extra.pem")),
    ] {
        ir.push(a.to_owned());
    }
    let out = run(&ir).unwrap_or_else(|e| panic!("cmp ir: {e}"));
    assert!(out.contains("ir: status: accepted"), "{out}");
    assert!(out.contains("certConf: confirmed (pkiConf)"), "{out}");
    assert_eq!(mode(&file("ir.key")), 0o600);
    let (ok, text) = openssl(dir, &["verify", "-CAfile", s(&root), s(&file("ir.pem"))]);
    assert!(ok && text.contains(": OK"), "{text}");
    let (ok, text) = openssl(
        dir,
        &[
            "x509",
            "-in",
            s(&file("ir.pem")),
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ],
    );
    assert!(
        ok && text.contains("CN=ir.cmp-client.example.test"),
        "{text}"
    );
    // The issued certificate is for the generated key.
    let (_, cert_key) = openssl(
        dir,
        &["x509", "-in", s(&file("ir.pem")), "-noout", "-pubkey"],
    );
    let (_, new_key) = openssl(dir, &["pkey", "-in", s(&file("ir.key")), "-pubout"]);
    assert_eq!(cert_key, new_key);
    let root_pem = std::fs::read_to_string(&root).unwrap();
    for chain in ["ir-chain.pem", "ir-extra.pem"] {
        let text = std::fs::read_to_string(file(chain)).unwrap();
        assert!(text.contains(root_pem.trim()), "{chain}: {text}");
    }

    // cr with raVerified for a public key only (as an RA behind an ACME
    // server sends it).
    let (ok, text) = openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            s(&file("ee.key")),
        ],
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        dir,
        &[
            "pkey",
            "-in",
            s(&file("ee.key")),
            "-pubout",
            "-out",
            s(&file("ee.pub")),
        ],
    );
    assert!(ok, "{text}");
    let mut cr = base("cr");
    for a in [
        "--newkey",
        s(&file("ee.pub")),
        "--popo",
        "raverified",
        "--subject",
        "/CN=cr.cmp-client.example.test",
        "--certout",
        s(&file("cr.pem")),
    ] {
        cr.push(a.to_owned());
    }
    let out = run(&cr).unwrap_or_else(|e| panic!("cmp cr: {e}"));
    assert!(out.contains("certConf: confirmed (pkiConf)"), "{out}");
    let (ok, text) = openssl(dir, &["verify", "-CAfile", s(&root), s(&file("cr.pem"))]);
    assert!(ok && text.contains(": OK"), "{text}");

    // Refusals come back as signed error messages, shown with their bits:
    // raVerified from an end entity (badPOP), a wrong MAC secret
    // (badMessageCheck); the right one enrolls.
    common::add_root_client(
        &config,
        dir,
        "device-1",
        "client",
        "CN=device-1.example.test",
    );
    let mut args: Vec<String> = base("cr")
        .into_iter()
        .map(|a| match a.as_str() {
            x if x == s(&file("ra.pem")) => s(&file("device-1.pem")).to_owned(),
            x if x == s(&file("ra.key")) => s(&file("device-1.key")).to_owned(),
            _ => a,
        })
        .collect();
    for a in [
        "--newkey",
        s(&file("ee.pub")),
        "--popo",
        "raverified",
        "--subject",
        "CN=device-1.example.test",
        "--certout",
        s(&file("refused.pem")),
    ] {
        args.push(a.to_owned());
    }
    let err = run(&args).unwrap_err();
    assert!(
        err.contains("cr: the server answered with an error: status: rejection, failInfo: badPOP"),
        "{err}"
    );
    std::fs::write(file("secret"), "the MAC RA's secret, long enough\n").unwrap();
    std::fs::write(file("wrong"), "not the MAC RA's secret at all\n").unwrap();
    common::admin(
        &config,
        &[
            "client",
            "add",
            "mac-ra",
            "--role",
            "ra",
            "--ca",
            "root",
            "--issue",
            "--subject",
            "CN=MAC RA",
            "--out-dir",
            s(dir),
            "--unencrypted-key",
            "--reference",
            "1234",
            "--mac-secret-file",
            s(&file("secret")),
        ],
    );
    let mac = |secret: &str, out: &str| -> Vec<String> {
        [
            "--config",
            s(&config),
            "cmp",
            "ir",
            "--server",
            &url,
            "--ref",
            "1234",
            "--secret-file",
            s(&file(secret)),
            "--trusted",
            s(&root),
            "--newkey",
            s(&file("ee.pub")),
            "--popo",
            "raverified",
            "--subject",
            "CN=mac.example.test",
            "--certout",
            s(&file(out)),
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    };
    let err = run(&mac("wrong", "refused.pem")).unwrap_err();
    assert!(
        err.contains(
            "ir: the server answered with an error: status: rejection, failInfo: badMessageCheck"
        ),
        "{err}"
    );
    assert!(!file("refused.pem").exists());
    let out = run(&mac("secret", "mac.pem")).unwrap_or_else(|e| panic!("MAC ir: {e}"));
    assert!(out.contains("certConf: confirmed (pkiConf)"), "{out}");
    let (ok, text) = openssl(dir, &["verify", "-CAfile", s(&root), s(&file("mac.pem"))]);
    assert!(ok && text.contains(": OK"), "{text}");
}
