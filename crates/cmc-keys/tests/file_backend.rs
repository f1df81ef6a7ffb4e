//! The file backend end to end: generate, store encrypted (0600, never over
//! an existing file), load, sign a certificate and a CMS SignedData through
//! the x509-cert and cms builders, and have OpenSSL verify them; import keys
//! OpenSSL made; and every error case.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use cmc_keys::{Error, FileKey, HashAlg, KeySpec, SecretSource, SignatureScheme, SigningKey};
use der::Encode;

const PASSPHRASE: &str = "correct horse battery staple";

fn passphrase_file(dir: &Path) -> SecretSource {
    let path = dir.join("passphrase");
    if !path.exists() {
        std::fs::write(&path, format!("{PASSPHRASE}\n")).unwrap();
    }
    SecretSource::File(path)
}

/// Generate, store, load back, and sign with every scheme the key type has.
fn round_trip(spec: KeySpec) {
    let dir = tempfile::tempdir().unwrap();
    let pass = passphrase_file(dir.path());
    let path = dir.path().join(format!("{spec}.key"));

    let generated = FileKey::generate(spec).unwrap();
    assert_eq!(generated.spec(), spec);
    assert_eq!(generated.scheme(), spec.default_scheme());
    generated.store(&path, &pass).unwrap();

    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{spec}: key file mode");
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));

    let loaded = FileKey::load(&path, &pass).unwrap();
    assert_eq!(loaded.public_key(), generated.public_key());
    assert_eq!(loaded.spec(), spec);
    // In-process keys are trusted to sign with their own key; the engine
    // verifies each signature only from keys outside the process.
    assert!(!loaded.signatures_need_verifying());

    for scheme in common::schemes_for(spec) {
        let key = FileKey::load(&path, &pass)
            .unwrap()
            .with_scheme(scheme)
            .unwrap();
        assert_eq!(key.hash(), scheme.hash());
        assert_eq!(
            key.signature_algorithm(),
            &scheme.algorithm_identifier().unwrap()
        );
        common::sign_and_verify_with_openssl(dir.path(), &key, &format!("file-{spec}-{scheme}"));
    }
}

#[test]
fn file_p256() {
    round_trip(KeySpec::P256);
}

#[test]
fn file_p384() {
    round_trip(KeySpec::P384);
}

#[test]
fn file_p521() {
    round_trip(KeySpec::P521);
}

#[test]
fn file_rsa2048() {
    round_trip(KeySpec::Rsa2048);
}

#[test]
fn file_rsa3072() {
    round_trip(KeySpec::Rsa3072);
}

#[test]
fn file_rsa4096() {
    round_trip(KeySpec::Rsa4096);
}

#[test]
fn key_files_are_0600_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let pass = passphrase_file(dir.path());
    let path = dir.path().join("ca.key");
    let first = FileKey::generate(KeySpec::P256).unwrap();
    first.store(&path, &pass).unwrap();
    let before = std::fs::read(&path).unwrap();

    let second = FileKey::generate(KeySpec::P256).unwrap();
    let err = second.store(&path, &pass).unwrap_err();
    assert!(matches!(err, Error::KeyFileExists { .. }), "{err}");
    assert!(err.to_string().contains("refusing to overwrite"));
    let err = second.store_unencrypted(&path).unwrap_err();
    assert!(matches!(err, Error::KeyFileExists { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "file untouched");

    let plain = dir.path().join("plain.key");
    second.store_unencrypted(&plain).unwrap();
    let mode = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&plain)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let again = FileKey::load_unencrypted(&plain).unwrap();
    assert_eq!(again.public_key(), second.public_key());

    // A file in a directory that does not exist is an I/O error, not a panic.
    let err = second
        .store(&dir.path().join("missing/dir/k.key"), &pass)
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn openssl_public_der(key_path: &Path, passin: Option<&Path>) -> Vec<u8> {
    let mut cmd = Command::new("openssl");
    cmd.args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(key_path);
    if let Some(p) = passin {
        cmd.arg("-passin").arg(format!("file:{}", p.display()));
    }
    run(&mut cmd)
}

#[test]
fn openssl_reads_our_encrypted_keys() {
    let dir = tempfile::tempdir().unwrap();
    let pass = passphrase_file(dir.path());
    let SecretSource::File(pass_path) = &pass else {
        unreachable!()
    };
    for spec in [KeySpec::P521, KeySpec::Rsa2048] {
        let key = FileKey::generate(spec).unwrap();
        let path = dir.path().join(format!("{spec}.key"));
        key.store(&path, &pass).unwrap();
        // PBES2 with scrypt and AES-256-CBC, as `openssl asn1parse` shows.
        let parsed = run(Command::new("openssl")
            .args(["asn1parse", "-in"])
            .arg(&path));
        let parsed = String::from_utf8_lossy(&parsed);
        assert!(parsed.contains("PBES2"), "{parsed}");
        assert!(parsed.contains(":scrypt"), "{parsed}");
        assert!(parsed.contains("aes-256-cbc"), "{parsed}");
        assert_eq!(
            openssl_public_der(&path, Some(pass_path)),
            key.public_key().to_der().unwrap()
        );
    }
}

/// Keys made by OpenSSL in every form we import are re-stored encrypted,
/// load back with the same public key, and sign.
#[test]
fn import_openssl_keys_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pass = passphrase_file(d);
    let src_pass_path = d.join("source-pass");
    std::fs::write(&src_pass_path, "source secret\n").unwrap();
    let src_pass = SecretSource::File(src_pass_path.clone());

    let openssl = |args: &[&str]| {
        run(Command::new("openssl").args(args).current_dir(d));
    };
    // PKCS#8, unencrypted.
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-out",
        "p384-pkcs8.pem",
    ]);
    // SEC1 "EC PRIVATE KEY".
    openssl(&["ec", "-in", "p384-pkcs8.pem", "-out", "p384-sec1.pem"]);
    // SEC1 preceded by an "EC PARAMETERS" block.
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-out",
        "p256-ecparam.pem",
    ]);
    // PKCS#1 "RSA PRIVATE KEY".
    openssl(&["genrsa", "-traditional", "-out", "rsa-pkcs1.pem", "3072"]);
    // Encrypted PKCS#8, PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC.
    openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-v2prf",
        "hmacWithSHA256",
        "-in",
        "p384-pkcs8.pem",
        "-out",
        "p384-enc.pem",
        "-passout",
        &format!("file:{}", src_pass_path.display()),
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-521",
        "-out",
        "p521-pkcs8.pem",
    ]);

    let label_of = |name: &str| {
        let text = std::fs::read_to_string(d.join(name)).unwrap();
        text.lines()
            .find(|l| l.starts_with("-----BEGIN") && l.contains("PRIVATE KEY"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(label_of("p384-sec1.pem"), "-----BEGIN EC PRIVATE KEY-----");
    assert_eq!(label_of("rsa-pkcs1.pem"), "-----BEGIN RSA PRIVATE KEY-----");
    assert_eq!(
        label_of("p384-enc.pem"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----"
    );

    for (name, spec, encrypted) in [
        ("p384-pkcs8.pem", KeySpec::P384, false),
        ("p384-sec1.pem", KeySpec::P384, false),
        ("p256-ecparam.pem", KeySpec::P256, false),
        ("rsa-pkcs1.pem", KeySpec::Rsa3072, false),
        ("p384-enc.pem", KeySpec::P384, true),
        ("p521-pkcs8.pem", KeySpec::P521, false),
    ] {
        let src = d.join(name);
        let dest = d.join(format!("{name}.imported"));
        let key = FileKey::import(&src, encrypted.then_some(&src_pass), &dest, &pass).unwrap();
        assert_eq!(key.spec(), spec, "{name}");
        let expected_spki = openssl_public_der(&src, encrypted.then_some(src_pass_path.as_path()));
        assert_eq!(key.public_key().to_der().unwrap(), expected_spki, "{name}");

        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
        let stored = std::fs::read_to_string(&dest).unwrap();
        assert!(
            stored.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{name}"
        );
        let loaded = FileKey::load(&dest, &pass).unwrap();
        assert_eq!(
            loaded.public_key().to_der().unwrap(),
            expected_spki,
            "{name}"
        );
        common::sign_and_verify_with_openssl(d, &loaded, &format!("import-{name}"));
    }
}

#[test]
fn each_error_is_distinct_and_never_shows_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pass = passphrase_file(d);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let path = d.join("k.key");
    key.store(&path, &pass).unwrap();

    let assert_clean = |e: &Error| {
        let text = format!("{e} {e:?}");
        assert!(!text.contains(PASSPHRASE), "passphrase leaked: {text}");
        assert!(!text.contains("wrong-guess"), "passphrase leaked: {text}");
    };

    // Wrong passphrase.
    let wrong = d.join("wrong");
    std::fs::write(&wrong, "wrong-guess\n").unwrap();
    let err = FileKey::load(&path, &SecretSource::File(wrong)).unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase), "{err}");
    assert!(err.to_string().contains("wrong passphrase"));
    assert_clean(&err);

    // Truncated PEM: cut the file in half.
    let pem = std::fs::read_to_string(&path).unwrap();
    let cut = d.join("cut.key");
    std::fs::write(&cut, &pem[..pem.len() / 2]).unwrap();
    let err = FileKey::load(&cut, &pass).unwrap_err();
    assert!(matches!(err, Error::TruncatedPem(_)), "{err}");
    assert!(err.to_string().contains("truncated PEM"));
    assert_clean(&err);

    // Truncated body with the END line kept: the DER ends early.
    let lines: Vec<&str> = pem.lines().collect();
    let mut short = vec![lines[0]];
    short.extend(&lines[1..lines.len() - 3]);
    short.push(lines[lines.len() - 1]);
    let short_path = d.join("short.key");
    std::fs::write(&short_path, short.join("\n") + "\n").unwrap();
    let err = FileKey::load(&short_path, &pass).unwrap_err();
    assert!(
        matches!(err, Error::TruncatedPem(_) | Error::MalformedKey(_)),
        "{err}"
    );

    // Garbage.
    let junk = d.join("junk.key");
    std::fs::write(&junk, "not a key at all\n").unwrap();
    let err = FileKey::load(&junk, &pass).unwrap_err();
    assert!(matches!(err, Error::MalformedKey(_)), "{err}");

    // Unencrypted where encryption is required, and the other way round.
    let plain = d.join("plain.key");
    key.store_unencrypted(&plain).unwrap();
    let err = FileKey::load(&plain, &pass).unwrap_err();
    assert!(matches!(err, Error::UnencryptedKey { .. }), "{err}");
    let err = FileKey::load_unencrypted(&path).unwrap_err();
    assert!(matches!(err, Error::PassphraseRequired), "{err}");

    // Unsupported keys: Ed25519, secp256k1, RSA-1024, legacy encrypted PEM.
    let openssl = |args: &[&str]| {
        run(Command::new("openssl").args(args).current_dir(d));
    };
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "p256.pem",
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:secp256k1",
        "-out",
        "k1.pem",
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        "rsa1024.pem",
    ]);
    openssl(&[
        "ec",
        "-in",
        "p256.pem",
        "-aes256",
        "-passout",
        "pass:legacy-secret",
        "-out",
        "legacy.pem",
    ]);
    assert!(
        std::fs::read_to_string(d.join("legacy.pem"))
            .unwrap()
            .contains("Proc-Type: 4,ENCRYPTED")
    );
    for name in ["ed.pem", "k1.pem", "rsa1024.pem", "legacy.pem"] {
        let err = FileKey::import(&d.join(name), None, &d.join(format!("{name}.out")), &pass)
            .unwrap_err();
        assert!(matches!(err, Error::UnsupportedKey(_)), "{name}: {err}");
        assert!(
            !d.join(format!("{name}.out")).exists(),
            "{name}: nothing written"
        );
    }

    // Encrypted source without a passphrase.
    let err = FileKey::from_pem(pem.as_bytes(), None).unwrap_err();
    assert!(matches!(err, Error::PassphraseRequired), "{err}");

    // The passphrase's source is missing.
    let err = FileKey::load(
        &path,
        &SecretSource::Env("CMC_KEYS_TEST_NO_SUCH_VARIABLE".into()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::SecretEnvMissing { .. }), "{err}");
    let err = FileKey::load(&path, &SecretSource::File(d.join("absent"))).unwrap_err();
    assert!(matches!(err, Error::SecretFile { .. }), "{err}");

    // Missing key file.
    let err = FileKey::load(&d.join("absent.key"), &pass).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");

    // A scheme that does not fit the key.
    let err = FileKey::load(&path, &pass)
        .unwrap()
        .with_scheme(SignatureScheme::RsaPss(HashAlg::Sha256))
        .unwrap_err();
    assert!(matches!(err, Error::IncompatibleScheme { .. }), "{err}");
}

/// The passphrase can come from an environment variable. Tests cannot set
/// variables in their own process (that is `unsafe` in Rust 2024, and this
/// crate forbids `unsafe`), so the check runs in a child test process.
#[test]
fn passphrase_from_environment_variable() {
    const VAR: &str = "CMC_KEYS_TEST_PASSPHRASE";
    const PATH_VAR: &str = "CMC_KEYS_TEST_KEY_PATH";
    if let Some(path) = std::env::var_os(PATH_VAR) {
        // Child: load with the variable and sign.
        let key = FileKey::load(Path::new(&path), &SecretSource::Env(VAR.into())).unwrap();
        key.sign(b"hello").unwrap();
        println!("child-ok");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    FileKey::generate(KeySpec::P384)
        .unwrap()
        .store(&path, &passphrase_file(dir.path()))
        .unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "passphrase_from_environment_variable",
            "--nocapture",
        ])
        .env(VAR, PASSPHRASE)
        .env(PATH_VAR, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child-ok"),
        "{stdout}"
    );
}
