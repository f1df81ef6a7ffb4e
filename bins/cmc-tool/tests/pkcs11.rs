//! `ca init` with a key on a PKCS#11 token (SoftHSM2).
//!
//! Needs `CMC_TEST_PKCS11_MODULE`, `CMC_TEST_PKCS11_TOKEN` and
//! `CMC_TEST_PKCS11_PIN_FILE` (`eval "$(scripts/softhsm-env.sh DIR)"`).
//! Without them the token tests print a skip line, unless `CI` is set:
//! then they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{Env, openssl};

struct Hsm {
    module: String,
    token: String,
    pin_file: String,
    /// One test at a time on the token: SoftHSM2 can miss the token in one
    /// process while another writes objects to it.
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
            "{test}: skipped: set CMC_TEST_PKCS11_MODULE, CMC_TEST_PKCS11_TOKEN and \
             CMC_TEST_PKCS11_PIN_FILE (eval \"$(scripts/softhsm-env.sh DIR)\")"
        );
        return None;
    };
    let token = std::env::var("CMC_TEST_PKCS11_TOKEN")
        .expect("CMC_TEST_PKCS11_TOKEN must be set with CMC_TEST_PKCS11_MODULE");
    let pin_file = std::env::var_os("CMC_TEST_PKCS11_PIN_FILE")
        .expect("CMC_TEST_PKCS11_PIN_FILE must be set with CMC_TEST_PKCS11_MODULE");
    Some(Hsm {
        _turn: TOKEN_TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        module: PathBuf::from(module).display().to_string(),
        token,
        pin_file: PathBuf::from(pin_file).display().to_string(),
    })
}

/// A label no other test run has used on the token.
fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}-{}-{nanos:x}", std::process::id())
}

#[test]
fn ca_keys_on_a_token() {
    let Some(hsm) = hsm("ca_keys_on_a_token") else {
        return;
    };
    let env = Env::new();
    let label = unique("cmc-tool-root");
    let pkcs11 = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "ca",
            "init",
            name,
            "--subject",
            "CN=Token Root CA,O=cmc-tool tests,C=SE",
            "--pkcs11-module",
            &hsm.module,
            "--token",
            &hsm.token,
            "--key-label",
            &label,
            "--pin-file",
            &hsm.pin_file,
        ];
        args.extend_from_slice(extra);
        env.ok(&args)
    };
    pkcs11("hsm-root", &[]);
    let show = env.ok(&["ca", "show", "hsm-root", "--json"]).json();
    assert_eq!(show["key"]["backend"], "pkcs11");
    assert_eq!(show["key"]["token_label"], hsm.token.as_str());
    assert_eq!(show["key"]["key_label"], label.as_str());
    assert_eq!(show["key"]["pin"]["file"], hsm.pin_file.as_str());
    assert!(show["key"]["key_id"].is_string(), "{show}");
    assert_eq!(show["key_type"], "EC P-384");
    assert_eq!(show["signs_with"], "ecdsa-sha384");
    let text = env.ok(&["ca", "show", "hsm-root"]).stdout;
    let pin = std::fs::read_to_string(&hsm.pin_file).unwrap();
    assert!(!text.contains(pin.trim()), "the PIN leaked: {text}");

    // A file-key intermediate signed by the token key verifies.
    env.intermediate("issuing", "hsm-root");
    let root = env.export("hsm-root");
    let issuing = env.export("issuing");
    let verified = openssl(&["verify", "-CAfile", &root, &issuing]);
    assert!(verified.contains(": OK"), "{verified}");

    // The same token key again, as an existing key: its type is read from
    // the token.
    pkcs11("hsm-root-again", &["--existing-key"]);
    let again = env.ok(&["ca", "show", "hsm-root-again", "--json"]).json();
    assert_eq!(again["key_type"], "EC P-384");
    assert_eq!(again["signs_with"], "ecdsa-sha384");

    // Generating over an existing label is refused.
    let r = env.run(&[
        "ca",
        "init",
        "dup",
        "--subject",
        "CN=dup",
        "--pkcs11-module",
        &hsm.module,
        "--token",
        &hsm.token,
        "--key-label",
        &label,
        "--pin-file",
        &hsm.pin_file,
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
}

#[test]
fn a_token_key_needs_a_pin_source_and_a_key_name() {
    let env = Env::new();
    let base = [
        "ca",
        "init",
        "r",
        "--subject",
        "CN=r",
        "--pkcs11-module",
        "/nonexistent/libpkcs11.so",
        "--token",
        "t",
    ];
    let mut no_pin = base.to_vec();
    no_pin.extend(["--key-label", "k"]);
    let r = env.fails(1, &no_pin);
    assert!(
        r.stderr.contains("--pin-env VAR or --pin-file PATH"),
        "{}",
        r.stderr
    );
    let mut no_key = base.to_vec();
    no_key.extend(["--pin-env", "PIN"]);
    let r = env.fails(1, &no_key);
    assert!(r.stderr.contains("--key-label"), "{}", r.stderr);
    // A PIN source without a module is a usage error.
    let r = env.fails(
        2,
        &[
            "ca",
            "init",
            "r",
            "--subject",
            "CN=r",
            "--pin-env",
            "PIN",
            "--unencrypted-key",
        ],
    );
    assert!(r.stderr.contains("--pkcs11-module"), "{}", r.stderr);
}

#[test]
fn an_existing_ca_with_its_key_on_a_token_is_imported() {
    let Some(hsm) = hsm("an_existing_ca_with_its_key_on_a_token_is_imported") else {
        return;
    };
    // The CA as another installation made it: a key on the token, and its
    // certificate.
    let before = Env::new();
    let label = unique("cmc-tool-import");
    let token = [
        "--pkcs11-module",
        &hsm.module,
        "--token",
        &hsm.token,
        "--key-label",
        &label,
        "--pin-file",
        &hsm.pin_file,
    ];
    let mut init = vec![
        "ca",
        "init",
        "old",
        "--subject",
        "CN=Token CA,O=cmc-tool tests",
    ];
    init.extend(token);
    before.ok(&init);
    let cert = before.export("old");
    before.root("file-root");
    let other = before.export("file-root");

    let after = Env::new();
    // Another CA's certificate does not go with the token key.
    let mut wrong = vec!["ca", "import", "old", "--cert", &other];
    wrong.extend(token);
    let r = after.fails(1, &wrong);
    assert!(r.stderr.contains("key"), "{}", r.stderr);
    let mut import = vec!["ca", "import", "old", "--cert", &cert];
    import.extend(token);
    import.push("--json");
    let done = after.ok(&import).json();
    assert_eq!(done["signs_with"], "ecdsa-sha384");
    let show = after.ok(&["ca", "show", "old", "--json"]).json();
    assert_eq!(show["key"]["backend"], "pkcs11");
    assert_eq!(show["key"]["key_label"], label.as_str());
    // It signs: a certificate issued after the import verifies.
    after.issue_client("after-import", "client", "old");
    let issued = after.path("out/after-import.pem");
    let verified = openssl(&["verify", "-CAfile", &cert, &issued.display().to_string()]);
    assert!(verified.contains(": OK"), "{verified}");
}
