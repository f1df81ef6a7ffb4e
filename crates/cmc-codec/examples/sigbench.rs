//! Single-thread cost of the signature operations of one enrollment, with the backend of
//! this build (aws-lc-rs by default, RustCrypto in the `pure-rust` build): signing with a
//! file key and verifying with the codec, over a 1 KiB message (hashing included).
//!
//! ```text
//! cargo run --release -p cmc-codec --example sigbench [-- ITERATIONS]
//! cargo run --release -p cmc-codec --no-default-features --features pure-rust --example sigbench
//! ```
//!
//! Prints one Markdown table row per operation (µs per operation, operations per second).

use std::hint::black_box;
use std::time::Instant;

use cmc_codec::alg::{SignatureAlg, verify_signature};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 2000,
    };
    let message = vec![0x5a_u8; 1024];
    println!(
        "signing: {}, verification: {}; {iterations} iterations, 1 KiB message",
        cmc_keys::backend_name(),
        cmc_codec::alg::backend_name()
    );
    println!("| operation | backend | µs/op | ops/s |");
    println!("|---|---|---:|---:|");
    let cases = [
        (
            KeySpec::P256,
            SignatureScheme::Ecdsa(HashAlg::Sha256),
            "P-256",
        ),
        (
            KeySpec::P384,
            SignatureScheme::Ecdsa(HashAlg::Sha384),
            "P-384",
        ),
        (
            KeySpec::P521,
            SignatureScheme::Ecdsa(HashAlg::Sha512),
            "P-521",
        ),
        (
            KeySpec::Rsa2048,
            SignatureScheme::RsaPkcs1v15(HashAlg::Sha256),
            "RSA-2048 PKCS#1",
        ),
    ];
    for (spec, scheme, name) in cases {
        let key = FileKey::generate(spec)?.with_scheme(scheme)?;
        let alg = SignatureAlg::from_algorithm_identifier(key.signature_algorithm(), None)?;
        let signature = key.sign(&message)?;
        verify_signature(key.public_key(), &alg, &message, &signature, "bench")?;

        let sign = time(iterations, || {
            black_box(key.sign(black_box(&message)).map(|s| s.len()))
        })?;
        row(&format!("{name} sign"), key.backend(), sign);
        let verify = time(iterations, || {
            black_box(verify_signature(
                key.public_key(),
                &alg,
                black_box(&message),
                &signature,
                "bench",
            ))
        })?;
        row(
            &format!("{name} verify"),
            cmc_codec::alg::backend_name(),
            verify,
        );
    }
    Ok(())
}

/// Seconds per call of `op`, after a warm-up of a tenth of the iterations.
fn time<T, E>(iterations: u32, mut op: impl FnMut() -> Result<T, E>) -> Result<f64, E> {
    for _ in 0..iterations / 10 {
        op()?;
    }
    let start = Instant::now();
    for _ in 0..iterations {
        op()?;
    }
    Ok(start.elapsed().as_secs_f64() / f64::from(iterations))
}

fn row(operation: &str, backend: &str, seconds: f64) {
    println!(
        "| {operation} | {backend} | {:.1} | {:.0} |",
        seconds * 1e6,
        1.0 / seconds
    );
}
