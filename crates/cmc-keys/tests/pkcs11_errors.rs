//! Each PKCS#11 failure is its own clear error, and none shows the PIN.
//!
//! One test, in its own process, in a fixed order: PKCS#11 login state
//! belongs to the process, so once any session here logged in with the right
//! PIN, the token would answer a wrong one with CKR_USER_ALREADY_LOGGED_IN
//! instead of checking it.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cmc_keys::pkcs11::{KeyLocator, Pkcs11Config, Pkcs11Key};
use cmc_keys::{Error, HashAlg, KeySpec, SecretSource, SignatureScheme};

#[test]
fn pkcs11_errors_are_distinct_and_never_show_the_pin() {
    let Some(hsm) = common::hsm("pkcs11_errors_are_distinct_and_never_show_the_pin") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let real_pin = std::fs::read_to_string(&hsm.pin_file).unwrap();
    let real_pin = real_pin.trim_end_matches('\n');
    let assert_clean = |e: &Error| {
        let text = format!("{e} {e:?}");
        assert!(!text.contains(real_pin), "PIN leaked: {text}");
        assert!(!text.contains("999999wrong"), "PIN leaked: {text}");
    };
    let label = format!("cmc-test-errors-{}", common::random_suffix());

    // 1. Wrong PIN (before anything in this process has logged in).
    let wrong = dir.path().join("wrong-pin");
    std::fs::write(&wrong, "999999wrong\n").unwrap();
    let config = Pkcs11Config {
        pin: SecretSource::File(wrong),
        ..hsm.config(&label)
    };
    let err = Pkcs11Key::open(&config).unwrap_err();
    assert!(matches!(err, Error::WrongPin { .. }), "{err}");
    assert!(err.to_string().contains("wrong PIN"), "{err}");
    assert_clean(&err);
    let err = Pkcs11Key::generate(&config, KeySpec::P256).unwrap_err();
    assert!(matches!(err, Error::WrongPin { .. }), "{err}");

    // 2. Missing token.
    let config = Pkcs11Config {
        token_label: "no-such-token".into(),
        ..hsm.config(&label)
    };
    let err = Pkcs11Key::open(&config).unwrap_err();
    assert!(
        matches!(&err, Error::TokenNotFound { label } if label == "no-such-token"),
        "{err}"
    );
    assert_clean(&err);

    // 3. Missing module.
    let config = Pkcs11Config {
        module: dir.path().join("no-such-module.so"),
        ..hsm.config(&label)
    };
    let err = Pkcs11Key::open(&config).unwrap_err();
    assert!(matches!(err, Error::Pkcs11Module { .. }), "{err}");

    // 4. The PIN's source is missing or empty.
    let config = Pkcs11Config {
        pin: SecretSource::Env("CMC_KEYS_TEST_NO_SUCH_PIN_VARIABLE".into()),
        ..hsm.config(&label)
    };
    let err = Pkcs11Key::open(&config).unwrap_err();
    assert!(matches!(err, Error::SecretEnvMissing { .. }), "{err}");
    let empty = dir.path().join("empty-pin");
    std::fs::write(&empty, "\n").unwrap();
    let config = Pkcs11Config {
        pin: SecretSource::File(empty),
        ..hsm.config(&label)
    };
    let err = Pkcs11Key::open(&config).unwrap_err();
    assert!(matches!(err, Error::EmptySecret { .. }), "{err}");

    // 5. Missing key label / id (now logged in with the right PIN).
    let err = Pkcs11Key::open(&hsm.config(&label)).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::KeyNotFound {
                what: "private key",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&label), "{err}");
    assert_clean(&err);
    let config = Pkcs11Config {
        key: KeyLocator::id_hex("00ff00ff00ff").unwrap(),
        ..hsm.config(&label)
    };
    let err = Pkcs11Key::open(&config).unwrap_err();
    assert!(matches!(err, Error::KeyNotFound { .. }), "{err}");

    // 6. A bad key id, a scheme that does not fit, a duplicate label.
    assert!(matches!(
        KeyLocator::id_hex("xyz"),
        Err(Error::Parse { .. })
    ));
    let key = Pkcs11Key::generate(&hsm.config(&label), KeySpec::P256).unwrap();
    let err = key
        .clone()
        .with_scheme(SignatureScheme::RsaPkcs1v15(HashAlg::Sha256))
        .unwrap_err();
    assert!(matches!(err, Error::IncompatibleScheme { .. }), "{err}");
    let err = Pkcs11Key::generate(&hsm.config(&label), KeySpec::P384).unwrap_err();
    assert!(matches!(err, Error::KeyExists { .. }), "{err}");
    key.destroy().unwrap();
}
