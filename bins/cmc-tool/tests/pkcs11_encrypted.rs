//! Encrypted CMC to a CA whose encryption key is on a PKCS #11 token
//! (SoftHSM2): `cmc-tool ca encryption-cert --pkcs11-module ...` generates
//! the key on the token (or uses the one there) and has the CA certify it;
//! the printed section goes into `cmc.toml`; signed requests from `cmc-tool
//! request`, encrypted by `openssl cms -encrypt` (RSAES-OAEP, PKCS #1 v1.5
//! with AES-GCM, ECDH on P-256 and P-384) to that certificate, are answered
//! with a certificate by the responder; an envelope for another recipient
//! or with a broken key transport gets a signed badMessageCheck; and a
//! DH-POP enrollment is checked with the token's ECDH key.
//!
//! Needs `CMC_TEST_PKCS11_MODULE`, `CMC_TEST_PKCS11_TOKEN` and
//! `CMC_TEST_PKCS11_PIN_FILE` (`eval "$(scripts/softhsm-env.sh DIR)"`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::envelope::{encrypt, post, show};
use common::responder::start_server;
use common::{Env, openssl};

struct Hsm {
    module: String,
    token: String,
    pin_file: String,
    /// One test at a time on the token (see tests/pkcs11.rs).
    _turn: std::sync::MutexGuard<'static, ()>,
}

static TOKEN_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn hsm(test: &str) -> Option<Hsm> {
    let Some(module) = std::env::var_os("CMC_TEST_PKCS11_MODULE") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: CMC_TEST_PKCS11_MODULE is not set, and CI must not skip the PKCS#11 tests \
             (eval \"$(scripts/softhsm-env.sh DIR)\" first)"
        );
        println!(
            "{test}: skipped: set CMC_TEST_PKCS11_MODULE, CMC_TEST_PKCS11_TOKEN and CMC_TEST_PKCS11_PIN_FILE"
        );
        return None;
    };
    let token = std::env::var("CMC_TEST_PKCS11_TOKEN").expect("CMC_TEST_PKCS11_TOKEN");
    let pin_file = std::env::var_os("CMC_TEST_PKCS11_PIN_FILE").expect("CMC_TEST_PKCS11_PIN_FILE");
    Some(Hsm {
        _turn: TOKEN_TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        module: PathBuf::from(module).display().to_string(),
        token,
        pin_file: PathBuf::from(pin_file).display().to_string(),
    })
}

fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}-{}-{nanos:x}", std::process::id())
}

/// A root CA with an RA, and its encryption certificate for a `key_type`
/// key on the token labelled `label`, the printed section added to the
/// configuration. Returns the tool's output.
fn setup(hsm: &Hsm, key_type: &str, label: &str) -> (Env, String) {
    let env = new_env();
    let out = encryption_cert(&env, hsm, key_type, label, "enc.pem");
    let section = &out[out.find("[ca.root.encryption]").expect(&out)..];
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push('\n');
    config.push_str(section);
    std::fs::write(&env.config, config).unwrap();
    (env, out)
}

/// An environment whose profiles are `default` and `ecdh` (keyUsage
/// keyAgreement, for the CA's ECDH certificate); a root CA and an RA.
fn new_env() -> Env {
    let env = Env::with_config("data_dir = \"data\"\nprofiles = \"profiles.toml\"\n");
    std::fs::write(
        env.path("profiles.toml"),
        "[profile.default]\n[profile.ecdh]\nkey_usage = [\"keyAgreement\"]\n",
    )
    .unwrap();
    env.root("root");
    env.issue_client("ra", "ra", "root");
    env.export("root");
    env
}

fn encryption_cert(env: &Env, hsm: &Hsm, key_type: &str, label: &str, out: &str) -> String {
    let cert = env.p(out);
    let mut args = vec![
        "ca",
        "encryption-cert",
        "root",
        "--key-type",
        key_type,
        "--pkcs11-module",
        &hsm.module,
        "--token",
        &hsm.token,
        "--key-label",
        label,
        "--pin-file",
        &hsm.pin_file,
        "-o",
        &cert,
    ];
    if !key_type.starts_with("rsa") {
        args.extend(["--profile", "ecdh"]);
    }
    env.ok(&args).stdout
}

fn request(env: &Env, name: &str) -> String {
    let out = env.p(&format!("{name}.req"));
    env.ok(&[
        "request",
        "--signer-cert",
        &env.p("out/ra.pem"),
        "--signer-key",
        &env.p("out/ra.key"),
        "--passphrase-file",
        &env.p("passphrase"),
        "--new-key",
        &env.p(&format!("{name}.key")),
        "--subject",
        &format!("CN={name}.example"),
        "--new-key-unencrypted",
        "-o",
        &out,
    ]);
    out
}

fn answered(env: &Env, url: &str, name: &str, opts: &[&str]) {
    let req = request(env, name);
    let answer = post(url, &encrypt(&req, &env.p("enc.pem"), opts));
    let text = show(env, name, &answer);
    assert!(text.contains("success"), "{name}: {text}");
    assert!(
        text.contains(&format!("CN={name}.example")),
        "{name}: {text}"
    );
}

#[test]
fn rsa_encryption_key_on_a_token() {
    let Some(hsm) = hsm("rsa_encryption_key_on_a_token") else {
        return;
    };
    let label = unique("cmc-tool-enc-rsa");
    let (env, out) = setup(&hsm, "rsa2048", &label);
    assert!(out.contains("backend = \"pkcs11\""), "{out}");
    assert!(out.contains(&format!("key_label = {label:?}")), "{out}");
    // The PIN is named by its file, never printed.
    let pin = std::fs::read_to_string(&hsm.pin_file).unwrap();
    assert!(out.contains("pin = { file ="), "{out}");
    assert!(!out.contains(pin.trim()), "the PIN was printed");
    let text = openssl(&["x509", "-in", &env.p("enc.pem"), "-noout", "-text"]);
    assert!(text.contains("Key Encipherment"), "{text}");

    let url = start_server(&env);
    // RSAES-OAEP with SHA-1 (OpenSSL's default OAEP parameters; SoftHSM 2.6
    // has no other) and PKCS #1 v1.5 with AES-256-GCM.
    answered(
        &env,
        &url,
        "oaep",
        &["-aes256", "-keyopt", "rsa_padding_mode:oaep"],
    );
    answered(&env, &url, "v15", &["-aes-256-gcm"]);
    // RSAES-OAEP with SHA-256: answered where the token has those
    // parameters, else badAlg (SoftHSM 2.6), never a decryption failure.
    let req = request(&env, "oaep256");
    let opts = [
        "-aes256",
        "-keyopt",
        "rsa_padding_mode:oaep",
        "-keyopt",
        "rsa_oaep_md:sha256",
    ];
    let text = show(
        &env,
        "oaep256",
        &post(&url, &encrypt(&req, &env.p("enc.pem"), &opts)),
    );
    assert!(
        text.contains("badAlg")
            || (text.contains("success") && text.contains("CN=oaep256.example")),
        "{text}"
    );

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
    let req = request(&env, "lost");
    let text = show(
        &env,
        "lost",
        &post(&url, &encrypt(&req, &stranger, &["-aes256"])),
    );
    assert!(text.contains("badMessageCheck"), "{text}");
    assert!(!text.contains("CN=lost.example"), "{text}");

    // To our certificate but with a content key that does not come out
    // (the PKCS #1 v1.5 block altered): the same answer.
    let req = request(&env, "broken");
    let mut env_der = encrypt(&req, &env.p("enc.pem"), &["-aes256"]);
    // The encrypted key is the 256-octet OCTET STRING of the recipient
    // info: flip a bit in its middle.
    let at = env_der
        .windows(4)
        .position(|w| w == [0x04, 0x82, 0x01, 0x00])
        .expect("the encryptedKey OCTET STRING");
    env_der[at + 4 + 128] ^= 0x01;
    let text = show(&env, "broken", &post(&url, &env_der));
    assert!(text.contains("badMessageCheck"), "{text}");
    assert!(!text.contains("CN=broken.example"), "{text}");

    // Run again, the key is found on the token and used, not replaced:
    // the new certificate holds the same public key.
    let again = encryption_cert(&env, &hsm, "rsa2048", &label, "enc2.pem");
    assert!(again.contains(&format!("key_label = {label:?}")), "{again}");
    let spki = |f: &str| openssl(&["x509", "-in", &env.p(f), "-noout", "-pubkey"]);
    assert_eq!(spki("enc.pem"), spki("enc2.pem"));
}

fn ecdh_on_a_token(key_type: &str, curve: &str) {
    let Some(hsm) = hsm(&format!("ecdh_encryption_key_on_a_token_{key_type}")) else {
        return;
    };
    let label = unique(&format!("cmc-tool-enc-{key_type}"));
    let (env, _) = setup(&hsm, key_type, &label);
    let text = openssl(&["x509", "-in", &env.p("enc.pem"), "-noout", "-text"]);
    assert!(text.contains(curve), "{text}");
    assert!(text.contains("Key Agreement"), "{text}");

    let url = start_server(&env);
    answered(&env, &url, "ecdh1", &["-aes256"]);
    answered(
        &env,
        &url,
        "ecdh256",
        &["-aes128", "-keyopt", "ecdh_kdf_md:sha256"],
    );

    // DH-POP (RFC 6955 §6): the CA checks the static-ECDH MAC with its
    // key on the token.
    let r = env.ok(&[
        "enroll",
        "--url",
        &format!("{url}/cmc/root"),
        "--ca-cert",
        &env.p("root.pem"),
        "--dh-pop-to",
        &env.p("enc.pem"),
        "--signer-cert",
        &env.p("out/ra.pem"),
        "--signer-key",
        &env.p("out/ra.key"),
        "--passphrase-file",
        &env.p("passphrase"),
        "--new-key",
        &env.p("agree.key"),
        "--key-type",
        key_type,
        "--subject",
        "CN=agree.example",
        "--new-key-unencrypted",
        "--out-cert",
        &env.p("agree.pem"),
    ]);
    assert!(r.stdout.contains("status: success"), "{}", r.stdout);
    let cert_key = openssl(&["x509", "-in", &env.p("agree.pem"), "-noout", "-pubkey"]);
    let file_key = openssl(&["pkey", "-in", &env.p("agree.key"), "-pubout"]);
    assert_eq!(cert_key, file_key);
}

#[test]
fn ecdh_p256_encryption_key_on_a_token() {
    ecdh_on_a_token("p256", "P-256");
}

#[test]
fn ecdh_p384_encryption_key_on_a_token() {
    ecdh_on_a_token("p384", "P-384");
}
