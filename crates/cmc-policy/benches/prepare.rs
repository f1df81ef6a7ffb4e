//! What the policy step of one enrollment costs, single-threaded: turning a
//! PKCS #10 request into a linted TBS certificate (`prepare`), the
//! pre-issuance lint on its own (`lint_tbs`, which `prepare` runs), and, for
//! scale, the CA's signature over that TBS with the key backend in use.
//!
//! `cargo bench -p cmc-policy --bench prepare` prints the figures; each
//! operation runs for about `CMC_BENCH_SECONDS` (default 1.5) seconds. It
//! asserts nothing about speed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_policy::{ProfileSet, Request, Serial, lint_tbs, prepare};
use der::Encode;
use der::asn1::Ia5String;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

fn main() {
    let seconds: f64 = std::env::var("CMC_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.5);
    let budget = Duration::from_secs_f64(seconds);
    // Whole seconds, as certificates carry them.
    let now = UNIX_EPOCH
        + Duration::from_secs(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
    let ca = common::ca(KeySpec::P384, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let san = SubjectAltName(vec![GeneralName::DnsName(
        Ia5String::new("bench.example.test").unwrap(),
    )]);
    let san = Extension {
        extn_id: const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
        critical: false,
        extn_value: der::asn1::OctetString::new(san.to_der().unwrap()).unwrap(),
    };
    let csr = common::csr(&leaf, "CN=bench.example.test,O=Example,C=SE", vec![san]);
    let request = Request::from_cert_req(&csr).unwrap();
    let profiles = ProfileSet::builtin();
    let profile = profiles.default_profile();
    let serial = Serial::from_random([7; 16]);

    let prepared = prepare(&request, profile, &ca.info, &serial, now).unwrap();
    let tbs = prepared.tbs_der().to_vec();

    println!(
        "cmc-policy benchmark: 1 thread, P-384 CA, P-256 leaf with one dNSName, ~{seconds} s each"
    );
    println!("{:<34} {:>9} {:>10}", "operation", "ops", "mean µs");
    let prepare_us = run("prepare (profile, TBS, lint)", budget, || {
        black_box(prepare(&request, profile, &ca.info, &serial, now).unwrap());
    });
    let lint_us = run("lint_tbs alone", budget, || {
        lint_tbs(black_box(&tbs), profile, &ca.info).unwrap();
    });
    let sign_us = run("CA signature over the TBS", budget, || {
        black_box(ca.key.sign(&tbs).unwrap());
    });
    println!(
        "the lint is {:.0} % of prepare and {:.0} % of prepare plus the CA signature",
        100.0 * lint_us / prepare_us,
        100.0 * lint_us / (prepare_us + sign_us)
    );
}

/// Runs `op` for about `budget`; prints and returns the mean in µs.
fn run(name: &str, budget: Duration, mut op: impl FnMut()) -> f64 {
    for _ in 0..10 {
        op();
    }
    let start = Instant::now();
    let mut n = 0_u32;
    while start.elapsed() < budget {
        op();
        n += 1;
    }
    let mean = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("{name:<34} {n:>9} {mean:>10.1}");
    mean
}
