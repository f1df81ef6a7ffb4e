//! Two engines (as two `cmc-server` nodes would be) on one PostgreSQL
//! database issue concurrently: every certificate gets its own serial, every
//! reservation ends issued, and each engine sees the other's certificates.
//!
//! Needs `CMC_TEST_PG_URL` (the test script starts a server on loopback and
//! sets it); without it the test says it is skipped, or fails under CI. It
//! creates a database of its own with `psql`, so that the CAs other test
//! binaries leave in the shared database do not reach `Engine::load`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;
use std::str::FromStr;
use std::sync::{Arc, Barrier};

use cmc_ca::{CaKey, Engine, EngineConfig, KeyConfig, ManualClock, NewCa, SecretRef};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme};
use cmc_policy::Request;
use cmc_store::{CertFilter, CertStatus};
use der::Encode;
use x509_cert::name::Name;

const ENGINES: usize = 2;
const THREADS_PER_ENGINE: usize = 2;
const EACH: usize = 25;

/// A fresh database on the test server, and its URL.
fn fresh_database() -> Option<String> {
    let Ok(base) = std::env::var("CMC_TEST_PG_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CMC_TEST_PG_URL is not set, and CI must not skip the PostgreSQL tests"
        );
        println!("two_engines_on_one_postgresql: skipped: set CMC_TEST_PG_URL");
        return None;
    };
    let (server, _db) = base.rsplit_once('/').expect("a URL ending in /DATABASE");
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).unwrap();
    let name = format!(
        "cmc_engines_{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let out = Command::new("psql")
        .arg(&base)
        .args(["-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "CREATE DATABASE: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(format!("{server}/{name}"))
}

#[test]
fn two_engines_on_one_postgresql_never_share_a_serial() {
    let Some(url) = fresh_database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let passphrase = dir.path().join("passphrase");
    std::fs::write(&passphrase, "two nodes, one database\n").unwrap();
    let clock = ManualClock::starting_now();

    let first = Engine::load(
        cmc_store::open(&url).unwrap(),
        Arc::new(clock.clone()),
        EngineConfig::default(),
    )
    .unwrap();
    first
        .create_ca(&NewCa {
            name: "shared".into(),
            subject: "CN=cmc-ca shared issuing CA,O=cmc-ca tests,C=SE".into(),
            validity_days: 365,
            key: CaKey::Generate {
                spec: KeySpec::P256,
                config: KeyConfig::file(
                    dir.path().join("shared.key"),
                    SecretRef::File(passphrase),
                    SignatureScheme::Ecdsa(HashAlg::Sha256),
                ),
            },
            path_len: None,
            issuer: None,
            requester: "test-admin".into(),
        })
        .unwrap();
    // The second node starts afterwards and finds the CA in the database.
    let second = Engine::load(
        cmc_store::open(&url).unwrap(),
        Arc::new(clock.clone()),
        EngineConfig::default(),
    )
    .unwrap();
    assert_eq!(second.ca_names(), ["shared"]);
    let engines = [first, second];

    let key = FileKey::generate(KeySpec::P256).unwrap();
    let csr = cmc_codec::build_csr(
        &key,
        Name::from_str("CN=node.example.test").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let request = Request::from_cert_req(&csr).unwrap();
    let der = csr.to_der().unwrap();

    let barrier = Barrier::new(ENGINES * THREADS_PER_ENGINE);
    let serials: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..ENGINES * THREADS_PER_ENGINE)
            .map(|i| {
                let engine = &engines[i % ENGINES];
                let (barrier, request, der) = (&barrier, &request, &der);
                s.spawn(move || {
                    barrier.wait();
                    (0..EACH)
                        .map(|_| {
                            engine
                                .issue("shared", None, request, &format!("node-{i}"), der)
                                .unwrap()
                                .serial
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let total = ENGINES * THREADS_PER_ENGINE * EACH;
    assert_eq!(serials.len(), total);
    let distinct: BTreeSet<_> = serials.iter().cloned().collect();
    assert_eq!(distinct.len(), total, "a serial was issued twice");

    // Both nodes see the same, complete set of issued certificates.
    for engine in &engines {
        let records = engine
            .records()
            .certificates(&CertFilter {
                issuer: Some("shared".into()),
                ..CertFilter::default()
            })
            .unwrap();
        assert_eq!(records.len(), total);
        assert!(records.iter().all(|r| r.status() == CertStatus::Issued));
        let stored: BTreeSet<_> = records.into_iter().map(|r| r.serial).collect();
        assert_eq!(stored, distinct);
    }
}
