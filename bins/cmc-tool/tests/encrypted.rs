//! Encrypted CMC (RFC 5272 §5) end to end: a signed request from `cmc-tool
//! request`, encrypted by `openssl cms -encrypt` (RSA-OAEP, RSA PKCS #1
//! v1.5 with AES-256-GCM, ECDH) to the CA's `[ca.root.encryption]`
//! certificate, is answered with a certificate by the in-process CMC
//! responder; `cmc-tool enroll --encrypt-to` and `request --encrypt-to`
//! wrap the request themselves, and `show --decrypt-key` opens it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::envelope::{encrypt, post, show};
use common::responder::start_server;
use common::{Env, openssl};

/// A root CA `root`, an RA credential `ra`, and an encryption credential
/// for the root made by OpenSSL (`newkey`: `rsa:2048` or `ec` options),
/// named in `cmc.toml` as `[ca.root.encryption]`.
fn setup(newkey: &[&str], key_usage: &str) -> Env {
    let env = Env::new();
    env.root("root");
    env.issue_client("ra", "ra", "root");
    env.export("root");
    let mut args = vec!["req", "-x509"];
    args.extend_from_slice(newkey);
    let key = env.p("enc.key");
    let cert = env.p("enc.pem");
    let ku = format!("keyUsage=critical,{key_usage}");
    args.extend_from_slice(&[
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &cert,
        "-subj",
        "/CN=root encryption/O=cmc-tool tests",
        "-addext",
        &ku,
        "-days",
        "2",
    ]);
    openssl(&args);
    let scheme = if newkey.contains(&"ec") {
        "ecdsa-sha256"
    } else {
        "rsa-pkcs1v15-sha256"
    };
    // Added after the CA exists (the engine refuses a section for a CA it
    // does not have).
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str(&format!(
        "\n[ca.root.encryption]\ncertificate = \"enc.pem\"\n\
         key = {{ backend = \"file\", path = \"enc.key\", unencrypted = true, scheme = \"{scheme}\" }}\n"
    ));
    std::fs::write(&env.config, config).unwrap();
    env
}

fn signer_args(env: &Env) -> Vec<String> {
    vec![
        "--signer-cert".into(),
        env.p("out/ra.pem"),
        "--signer-key".into(),
        env.p("out/ra.key"),
        "--passphrase-file".into(),
        env.p("passphrase"),
    ]
}

/// `cmc-tool request` for a new P-256 key `name`, written to `name.req`
/// (with `extra` options).
fn request(env: &Env, name: &str, extra: &[&str]) -> String {
    let out = env.p(&format!("{name}.req"));
    let mut args: Vec<String> = vec!["request".into()];
    args.extend(signer_args(env));
    args.extend([
        "--new-key".into(),
        env.p(&format!("{name}.key")),
        "--subject".into(),
        format!("CN={name}.example"),
        "--new-key-unencrypted".into(),
        "-o".into(),
        out.clone(),
    ]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    out
}

#[test]
fn openssl_encrypted_requests_from_cmc_tool_are_answered() {
    let env = setup(&["-newkey", "rsa:2048"], "keyEncipherment");
    let url = start_server(&env);
    let enc = env.p("enc.pem");
    for (name, opts) in [
        (
            "oaep",
            vec![
                "-aes256",
                "-keyopt",
                "rsa_padding_mode:oaep",
                "-keyopt",
                "rsa_oaep_md:sha256",
            ],
        ),
        ("v15", vec!["-aes-256-gcm"]),
    ] {
        let req = request(&env, name, &[]);
        let answer = post(&url, &encrypt(&req, &enc, &opts));
        let text = show(&env, name, &answer);
        assert!(text.contains("PKIResponse"), "{name}: {text}");
        assert!(text.contains("success"), "{name}: {text}");
        assert!(
            text.contains(&format!("CN={name}.example")),
            "{name}: {text}"
        );
    }

    // Encrypted to another certificate: a signed badMessageCheck.
    let stranger_key = env.p("stranger.key");
    let stranger = env.p("stranger.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &stranger_key,
        "-out",
        &stranger,
        "-subj",
        "/CN=stranger",
        "-days",
        "2",
    ]);
    let req = request(&env, "lost", &[]);
    let answer = post(&url, &encrypt(&req, &stranger, &["-aes256"]));
    let text = show(&env, "lost", &answer);
    assert!(text.contains("badMessageCheck"), "{text}");
    assert!(!text.contains("CN=lost.example"), "{text}");
}

#[test]
fn ecdh_encrypted_requests_are_answered() {
    let env = setup(
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "keyAgreement",
    );
    let url = start_server(&env);
    let req = request(&env, "ecdh", &[]);
    let body = encrypt(
        &req,
        &env.p("enc.pem"),
        &["-aes256", "-keyopt", "ecdh_kdf_md:sha256"],
    );
    let text = show(&env, "ecdh", &post(&url, &body));
    assert!(text.contains("success"), "{text}");
    assert!(text.contains("CN=ecdh.example"), "{text}");
}

#[test]
fn cmc_tool_encrypts_and_shows_encrypted_requests() {
    let env = setup(&["-newkey", "rsa:2048"], "keyEncipherment");
    let url = start_server(&env);
    let enc = env.p("enc.pem");

    // enroll --encrypt-to: sent encrypted, answered with the certificate.
    let mut args: Vec<String> = vec![
        "enroll".into(),
        "--url".into(),
        format!("{url}/cmc/root"),
        "--ca-cert".into(),
        env.p("root.pem"),
        "--encrypt-to".into(),
        enc.clone(),
    ];
    args.extend(signer_args(&env));
    args.extend([
        "--new-key".into(),
        env.p("web.key"),
        "--subject".into(),
        "CN=web.example".into(),
        "--new-key-unencrypted".into(),
        "--out-cert".into(),
        env.p("web.pem"),
    ]);
    let r = env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.stdout.contains("status: success"), "{}", r.stdout);
    let verified = openssl(&["verify", "-CAfile", &env.p("root.pem"), &env.p("web.pem")]);
    assert!(verified.contains(": OK"), "{verified}");

    // request --encrypt-to writes an EnvelopedData that OpenSSL opens and
    // the server answers; show opens it with --decrypt-key.
    let req = request(&env, "mail", &["--encrypt-to", &enc]);
    let inner = env.p("mail.inner");
    openssl(&[
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        &req,
        "-recip",
        &enc,
        "-inkey",
        &env.p("enc.key"),
        "-out",
        &inner,
    ]);
    assert!(!std::fs::read(&inner).unwrap().is_empty());
    let r = env.fails(1, &["show", &req]);
    assert!(r.stderr.contains("--decrypt-key"), "{}", r.stderr);
    let text = env
        .ok(&[
            "show",
            &req,
            "--decrypt-key",
            &env.p("enc.key"),
            "--unencrypted-key",
        ])
        .stdout;
    for want in [
        "EnvelopedData",
        "PKIData",
        "signature:     valid",
        "CN=mail.example",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let answer = post(&url, &std::fs::read(&req).unwrap());
    let text = show(&env, "mail", &answer);
    assert!(text.contains("success"), "{text}");
    assert!(text.contains("CN=mail.example"), "{text}");

    // A new encrypted request signed by the RA once more (RFC 5272 §5
    // "Option 2") shows and is answered too (the one above would be a
    // replay).
    let req = request(&env, "news", &["--encrypt-to", &enc]);
    let signed = env.p("news.signed");
    let ra_key_pem = env.p("ra-plain.key");
    openssl(&[
        "pkey",
        "-in",
        &env.p("out/ra.key"),
        "-passin",
        &format!("file:{}", env.p("passphrase")),
        "-out",
        &ra_key_pem,
    ]);
    openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-in",
        &req,
        "-econtent_type",
        "1.2.840.113549.1.7.3",
        "-signer",
        &env.p("out/ra.pem"),
        "-inkey",
        &ra_key_pem,
        "-outform",
        "DER",
        "-out",
        &signed,
    ]);
    let text = env
        .ok(&[
            "show",
            &signed,
            "--decrypt-key",
            &env.p("enc.key"),
            "--unencrypted-key",
        ])
        .stdout;
    for want in ["inside a SignedData", "PKIData", "CN=news.example"] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let text = show(
        &env,
        "mail-signed",
        &post(&url, &std::fs::read(&signed).unwrap()),
    );
    assert!(text.contains("success"), "{text}");
}

#[test]
fn the_ca_issues_its_own_encryption_certificate() {
    for (key_type, opts) in [
        (
            "rsa2048",
            vec!["-aes256", "-keyopt", "rsa_padding_mode:oaep"],
        ),
        ("p256", vec!["-aes256", "-keyopt", "ecdh_kdf_md:sha256"]),
    ] {
        let env = Env::with_config("data_dir = \"data\"\nprofiles = \"profiles.toml\"\n");
        std::fs::write(
            env.path("profiles.toml"),
            "[profile.default]\n[profile.encryption-ec]\nkey_usage = [\"keyAgreement\"]\n",
        )
        .unwrap();
        env.root("root");
        env.issue_client("ra", "ra", "root");
        let key = env.p("enc.key");
        let cert = env.p("enc.pem");
        let pass = env.p("passphrase");
        let mut args = vec![
            "ca",
            "encryption-cert",
            "root",
            "--key-type",
            key_type,
            "--key-file",
            &key,
            "-o",
            &cert,
            "--passphrase-file",
            &pass,
        ];
        if key_type == "p256" {
            // The default profile's keyUsage has no keyAgreement: refused,
            // nothing written.
            let r = env.fails(1, &args);
            assert!(r.stderr.contains("keyAgreement"), "{}", r.stderr);
            assert!(!env.path("enc.key").exists());
            args.extend_from_slice(&["--profile", "encryption-ec"]);
        }
        let r = env.ok(&args);
        // The section it prints goes into the configuration as it is.
        let section = r.stdout.split("\n\n").nth(1).expect("a TOML section");
        assert!(section.starts_with("[ca.root.encryption]"), "{}", r.stdout);
        let mut config = std::fs::read_to_string(&env.config).unwrap();
        config.push('\n');
        config.push_str(section);
        std::fs::write(&env.config, config).unwrap();
        assert_eq!(common::mode(&env.path("enc.key")), 0o600);
        let text = openssl(&["x509", "-in", &cert, "-noout", "-text"]);
        let usage = if key_type == "p256" {
            "Key Agreement"
        } else {
            "Key Encipherment"
        };
        assert!(text.contains(usage), "{key_type}: {text}");

        let url = start_server(&env);
        let req = request(&env, "svc", &[]);
        let answer = post(&url, &encrypt(&req, &cert, &opts));
        let text = show(&env, "svc", &answer);
        assert!(text.contains("success"), "{key_type}: {text}");
        assert!(text.contains("CN=svc.example"), "{key_type}: {text}");
    }
}

/// DH-POP end to end: `cmc-tool enroll --dh-pop-to` the CA's ECDH certificate gets a
/// P-256 key-agreement key certified in one round (RFC 6955 §6); for a P-384 key (another
/// curve than the CA's certificate) the tool says it cannot agree.
#[test]
fn enroll_with_a_static_ecdh_proof_of_possession() {
    let env = setup(
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "keyAgreement",
    );
    let url = start_server(&env);
    let enroll = |name: &str, extra: &[&str]| {
        let mut args: Vec<String> = vec![
            "enroll".into(),
            "--url".into(),
            format!("{url}/cmc/root"),
            "--ca-cert".into(),
            env.p("root.pem"),
            "--dh-pop-to".into(),
            env.p("enc.pem"),
        ];
        args.extend(signer_args(&env));
        args.extend([
            "--new-key".into(),
            env.p(&format!("{name}.key")),
            "--subject".into(),
            format!("CN={name}.example"),
            "--new-key-unencrypted".into(),
            "--out-cert".into(),
            env.p(&format!("{name}.pem")),
        ]);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let args = enroll("agree", &[]);
    let r = env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.stdout.contains("status: success"), "{}", r.stdout);
    let verified = openssl(&["verify", "-CAfile", &env.p("root.pem"), &env.p("agree.pem")]);
    assert!(verified.contains(": OK"), "{verified}");
    // The certificate is for the key the tool wrote.
    let cert_key = openssl(&["x509", "-in", &env.p("agree.pem"), "-noout", "-pubkey"]);
    let file_key = openssl(&["pkey", "-in", &env.p("agree.key"), "-pubout"]);
    assert_eq!(cert_key, file_key);

    let args = enroll("p384", &["--key-type", "p384"]);
    let r = env.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("no key agreement"), "{}", r.stderr);
}
