//! Signing throughput of each key type, single-threaded, through the
//! [`SigningKey`] trait (so including hashing a 1 KiB message).
//!
//! `cargo bench -p cmc-keys` runs the file backend, and SoftHSM too when
//! `CMC_TEST_PKCS11_MODULE`, `CMC_TEST_PKCS11_TOKEN` and
//! `CMC_TEST_PKCS11_PIN_FILE` are set (`eval "$(scripts/softhsm-env.sh DIR)"`).
//! Each key type runs for about `CMC_BENCH_SECONDS` (default 1.5) seconds.
//! It prints figures; it asserts nothing about speed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cmc_keys::pkcs11::{KeyLocator, Pkcs11Config, Pkcs11Key};
use cmc_keys::{FileKey, KeySpec, SecretSource, SigningKey};

fn main() {
    let seconds: f64 = std::env::var("CMC_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.5);
    let budget = Duration::from_secs_f64(seconds);
    let message = vec![0x5a_u8; 1024];

    println!("cmc-keys signing benchmark: 1 thread, 1 KiB message, ~{seconds} s per key type");
    println!(
        "{:<9} {:<10} {:<22} {:>9} {:>10} {:>12}",
        "backend", "key", "scheme", "sigs", "sigs/s", "mean µs"
    );

    for spec in KeySpec::ALL {
        let key =
            FileKey::generate(spec).unwrap_or_else(|e| fail(&format!("generate {spec}: {e}")));
        run("file", spec, &key, &message, budget);
    }

    match pkcs11_env() {
        Some((module, token, pin)) => {
            for spec in KeySpec::ALL {
                let label = format!("cmc-bench-{spec}-{}", std::process::id());
                let config = Pkcs11Config::new(
                    module.clone(),
                    token.clone(),
                    KeyLocator::label(label),
                    SecretSource::File(pin.clone()),
                )
                .with_sessions(1);
                let key = Pkcs11Key::generate(&config, spec)
                    .unwrap_or_else(|e| fail(&format!("generate {spec} on the token: {e}")));
                run("softhsm", spec, &key, &message, budget);
                if let Err(e) = key.destroy() {
                    eprintln!("warning: could not delete the benchmark key: {e}");
                }
            }
        }
        None => println!(
            "softhsm: skipped (set CMC_TEST_PKCS11_MODULE, CMC_TEST_PKCS11_TOKEN and CMC_TEST_PKCS11_PIN_FILE)"
        ),
    }
}

fn pkcs11_env() -> Option<(PathBuf, String, PathBuf)> {
    let module = std::env::var_os("CMC_TEST_PKCS11_MODULE")?;
    let token = std::env::var("CMC_TEST_PKCS11_TOKEN").ok()?;
    let pin = std::env::var_os("CMC_TEST_PKCS11_PIN_FILE")?;
    Some((module.into(), token, pin.into()))
}

fn run(backend: &str, spec: KeySpec, key: &dyn SigningKey, message: &[u8], budget: Duration) {
    // One warm-up signature (first-use costs: session login, precomputation).
    sign(key, message);
    // RSA-4096 signs slowly; a smaller budget keeps the default run short.
    let budget = if spec == KeySpec::Rsa4096 {
        budget / 2
    } else {
        budget
    };
    let start = Instant::now();
    let mut count: u32 = 0;
    while start.elapsed() < budget {
        sign(key, message);
        count += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let per_sec = f64::from(count) / elapsed;
    let mean_us = elapsed * 1e6 / f64::from(count);
    let scheme = spec.default_scheme().to_string();
    println!(
        "{backend:<9} {:<10} {scheme:<22} {count:>9} {per_sec:>10.1} {mean_us:>12.1}",
        spec.name()
    );
}

fn sign(key: &dyn SigningKey, message: &[u8]) {
    if let Err(e) = key.sign(message) {
        fail(&format!("signing failed: {e}"));
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("benchmark failed: {msg}");
    std::process::exit(1)
}
