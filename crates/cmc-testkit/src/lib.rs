//! Helpers for the workspace's integration tests: the independent tools
//! (pkilint, `openssl cmp`) that check what the CA produces. A dev-dependency only; nothing
//! here belongs in a release build.

// Test helpers: failing loudly is the point.
#![allow(clippy::panic, clippy::missing_panics_doc)]

use std::path::Path;
use std::process::Command;

/// Whether pkilint can be imported by `python3`. Without it the caller's
/// test prints a skip line, unless `CI` is set, where it fails: CI installs
/// it (`scripts/test.sh`).
#[must_use]
pub fn pkilint_available(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pkilint"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: pkilint is missing and CI is set (python3 -m pip install pkilint)"
        );
        println!("{test}: skipped the pkilint check: python3 -m pip install pkilint");
    }
    ok
}

/// Whether `openssl cmp` runs (OpenSSL 3.0 or later). Without it the
/// caller's test prints a skip line, unless `CI` is set, where it fails: CI
/// installs OpenSSL (`scripts/test.sh`).
#[must_use]
pub fn openssl_cmp_available(test: &str) -> bool {
    let ok = Command::new("openssl")
        .args(["cmp", "-help"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: `openssl cmp` is missing and CI is set (apt-get install openssl)"
        );
        println!("{test}: skipped: `openssl cmp` is not available (OpenSSL 3.0 or later)");
    }
    ok
}

/// Runs a pkilint linter module (`lint_pkix_cert`, `lint_crl`,
/// `lint_ocsp_response`) with `args` and the file, reporting findings of
/// severity WARNING and above; panics if there are any, or if pkilint fails
/// to run.
pub fn pkilint_clean(module: &str, args: &[&str], file: &Path) {
    let out = Command::new("python3")
        .args(["-m", &format!("pkilint.bin.{module}"), "lint"])
        .args(args)
        .args(["-s", "WARNING", "-f", "TEXT", "--document-format", "DETECT"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.trim().is_empty(),
        "pkilint {module} found problems in {}:\n{stdout}\n{stderr}",
        file.display()
    );
    assert!(
        out.status.success(),
        "pkilint {module} failed on {}:\n{stdout}\n{stderr}",
        file.display()
    );
}

/// The first ```toml block of a module's `//!` documentation (pass the
/// file's text, from `include_str!`), without the `//!` markers: so that a
/// test can parse the configuration example the documentation shows.
#[must_use]
pub fn doc_toml_example(source: &str) -> String {
    source
        .lines()
        .skip_while(|l| !l.starts_with("//! ```toml"))
        .skip(1)
        .take_while(|l| !l.starts_with("//! ```"))
        .map(|l| l.trim_start_matches("//!").trim_start())
        .collect::<Vec<_>>()
        .join("\n")
}
