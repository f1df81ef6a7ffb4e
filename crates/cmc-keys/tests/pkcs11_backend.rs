//! The PKCS#11 backend on SoftHSM2: generate a key pair on the token for
//! every key type, check it cannot leave the token, open it again by label
//! and by id, sign certificates and CMS SignedData through the builders and
//! have OpenSSL verify them; and 8 threads × 200 signatures on one key.
//!
//! Needs `CMC_TEST_PKCS11_MODULE`, `CMC_TEST_PKCS11_TOKEN` and
//! `CMC_TEST_PKCS11_PIN_FILE` (`eval "$(scripts/softhsm-env.sh DIR)"`);
//! without them each test says it is skipped, or fails under CI.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use cmc_keys::pkcs11::{KeyLocator, Pkcs11Config, Pkcs11Key};
use cmc_keys::{Error, KeySpec, SecretSource, SigningKey};
use der::Encode;
use signature::Verifier;
use spki::DecodePublicKey;

fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

fn softhsm_round_trip(spec: KeySpec) {
    let Some(hsm) = common::hsm(&format!("pkcs11_{spec}")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let label = format!("cmc-test-{spec}-{}", common::random_suffix());
    let config = hsm.config(&label).with_sessions(2);

    let key = Pkcs11Key::generate(&config, spec).unwrap();
    assert_eq!(key.spec(), spec);
    assert_eq!(key.scheme(), spec.default_scheme());
    assert_eq!(key.token_label(), hsm.token);
    // A token's signatures are verified by the engine before use.
    assert!(key.signatures_need_verifying());

    // The private key never leaves the token.
    let attrs = key.private_key_attributes().unwrap();
    assert!(attrs.sensitive, "{spec}: CKA_SENSITIVE");
    assert!(!attrs.extractable, "{spec}: CKA_EXTRACTABLE");
    assert!(attrs.token, "{spec}: CKA_TOKEN");
    assert!(attrs.private, "{spec}: CKA_PRIVATE");
    assert!(attrs.sign, "{spec}: CKA_SIGN");
    assert!(attrs.always_sensitive, "{spec}: CKA_ALWAYS_SENSITIVE");
    assert!(attrs.never_extractable, "{spec}: CKA_NEVER_EXTRACTABLE");

    // The same key, found again by label, by id and by hex id.
    let by_label = Pkcs11Key::open(&config).unwrap();
    assert_eq!(by_label.public_key(), key.public_key());
    let id = key.locator().id_bytes().unwrap().to_vec();
    assert_eq!(id.len(), 16);
    let by_id = Pkcs11Key::open(&Pkcs11Config {
        key: KeyLocator::id(id.clone()),
        ..config.clone()
    })
    .unwrap();
    assert_eq!(by_id.public_key(), key.public_key());
    let by_hex = Pkcs11Key::open(&Pkcs11Config {
        key: KeyLocator::id_hex(&hex(&id))
            .unwrap()
            .with_label(label.clone()),
        ..config.clone()
    })
    .unwrap();
    assert_eq!(by_hex.public_key(), key.public_key());

    // Generating over an existing label is refused.
    let err = Pkcs11Key::generate(&config, spec).unwrap_err();
    assert!(matches!(err, Error::KeyExists { .. }), "{err}");

    for scheme in common::schemes_for(spec) {
        let k = by_label.clone().with_scheme(scheme).unwrap();
        common::sign_and_verify_with_openssl(dir.path(), &k, &format!("hsm-{spec}-{scheme}"));
    }

    key.destroy().unwrap();
    let err = Pkcs11Key::open(&config).unwrap_err();
    assert!(matches!(err, Error::KeyNotFound { .. }), "{err}");
}

#[test]
fn pkcs11_p256() {
    softhsm_round_trip(KeySpec::P256);
}

#[test]
fn pkcs11_p384() {
    softhsm_round_trip(KeySpec::P384);
}

#[test]
fn pkcs11_p521() {
    softhsm_round_trip(KeySpec::P521);
}

#[test]
fn pkcs11_rsa2048() {
    softhsm_round_trip(KeySpec::Rsa2048);
}

#[test]
fn pkcs11_rsa3072() {
    softhsm_round_trip(KeySpec::Rsa3072);
}

#[test]
fn pkcs11_rsa4096() {
    softhsm_round_trip(KeySpec::Rsa4096);
}

/// 8 threads sign 200 distinct messages each with one key through a pool
/// of 8 sessions; every signature verifies.
#[test]
fn pkcs11_eight_threads_two_hundred_signatures_each() {
    let Some(hsm) = common::hsm("pkcs11_eight_threads_two_hundred_signatures_each") else {
        return;
    };
    assert_eq!(sign_from_threads(&hsm, 8, 8, 200), 8 * 200);
}

/// 8 threads share a pool of 2 sessions: most signatures wait for a
/// session another thread gives back, and each is woken to take it (a lost
/// wake-up leaves a thread asleep for good: the watchdog ends the test).
#[test]
fn pkcs11_eight_threads_wait_for_two_sessions() {
    let Some(hsm) = common::hsm("pkcs11_eight_threads_wait_for_two_sessions") else {
        return;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(sign_from_threads(&hsm, 8, 2, 100)));
    match rx.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(verified) => assert_eq!(verified, 8 * 100),
        Err(_) => panic!("signers waiting for a session were not woken"),
    }
}

/// `threads` threads sign `per_thread` distinct messages each with one new
/// key whose pool holds `sessions` sessions; the signatures verified.
fn sign_from_threads(
    hsm: &common::Hsm,
    threads: usize,
    sessions: usize,
    per_thread: usize,
) -> usize {
    let label = format!("cmc-test-threads-{}", common::random_suffix());
    let key =
        Pkcs11Key::generate(&hsm.config(&label).with_sessions(sessions), KeySpec::P256).unwrap();
    let verifier =
        p256::ecdsa::VerifyingKey::from_public_key_der(&key.public_key().to_der().unwrap())
            .unwrap();

    let verified: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let key = &key;
                let verifier = &verifier;
                s.spawn(move || {
                    for i in 0..per_thread {
                        let msg = format!("thread {t} message {i}");
                        let der = key.sign(msg.as_bytes()).unwrap();
                        let sig = p256::ecdsa::DerSignature::from_bytes(&der).unwrap();
                        verifier.verify(msg.as_bytes(), &sig).unwrap();
                    }
                    per_thread
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    key.destroy().unwrap();
    verified
}

/// The PIN can come from an environment variable (checked in a child
/// process: setting a variable in this one would need `unsafe`).
#[test]
fn pkcs11_pin_from_environment_variable() {
    const VAR: &str = "CMC_KEYS_TEST_PIN";
    const LABEL_VAR: &str = "CMC_KEYS_TEST_PIN_KEY_LABEL";
    let Some(hsm) = common::hsm("pkcs11_pin_from_environment_variable") else {
        return;
    };
    if let Ok(label) = std::env::var(LABEL_VAR) {
        let config = Pkcs11Config {
            pin: SecretSource::Env(VAR.into()),
            ..hsm.config(&label)
        };
        Pkcs11Key::open(&config).unwrap().sign(b"hello").unwrap();
        println!("child-ok");
        return;
    }
    let label = format!("cmc-test-envpin-{}", common::random_suffix());
    let key = Pkcs11Key::generate(&hsm.config(&label), KeySpec::P256).unwrap();
    let pin = std::fs::read_to_string(&hsm.pin_file).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "pkcs11_pin_from_environment_variable",
            "--nocapture",
        ])
        .env(VAR, pin.trim_end_matches('\n'))
        .env(LABEL_VAR, &label)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child-ok"),
        "{stdout}"
    );
    key.destroy().unwrap();
}

/// A key pair put on the token with the vendor's tool (`softhsm2-util
/// --import`, as an operator would with YubiHSM or network-HSM tooling) is
/// found by label and by id and signs what OpenSSL verifies.
#[test]
fn pkcs11_key_created_with_the_vendor_tool() {
    let Some(hsm) = common::hsm("pkcs11_key_created_with_the_vendor_tool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (spec, genpkey) in [
        (
            KeySpec::P384,
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"][..],
        ),
        (
            KeySpec::Rsa2048,
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..],
        ),
    ] {
        let key_path = dir.path().join(format!("{spec}.p8"));
        let out = Command::new("openssl")
            .arg("genpkey")
            .args(genpkey)
            .arg("-out")
            .arg(&key_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let label = format!("cmc-test-vendor-{spec}-{}", common::random_suffix());
        let id = common::random_suffix();
        let pin = std::fs::read_to_string(&hsm.pin_file).unwrap();
        // softhsm2-util has no PIN file option; this is a throw-away token.
        let out = Command::new("softhsm2-util")
            .arg("--import")
            .arg(&key_path)
            .args(["--token", &hsm.token, "--label", &label, "--id", &id])
            .args(["--pin", pin.trim_end_matches('\n')])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util --import: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        let key = Pkcs11Key::open(&hsm.config(&label)).unwrap();
        assert_eq!(key.spec(), spec);
        let by_id = Pkcs11Key::open(&Pkcs11Config {
            key: KeyLocator::id_hex(&id).unwrap(),
            ..hsm.config(&label)
        })
        .unwrap();
        assert_eq!(by_id.public_key(), key.public_key());

        // The public key on the token is the one OpenSSL generated.
        let out = Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&key_path)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            key.public_key().to_der().unwrap(),
            out.stdout,
            "{spec}: SPKI"
        );

        common::sign_and_verify_with_openssl(dir.path(), &key, &format!("vendor-{spec}"));
        key.destroy().unwrap();
    }
}
