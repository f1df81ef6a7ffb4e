//! CA rollover in the engine: the state machine's refusals (activate with
//! no passive generation, activate twice, a rollover while one is
//! passive), an intermediate's next certificate issued by its parent, the
//! scheduled activation picked up by `Engine::refresh_cas`, and each
//! generation's CRL signed by its own key (checked with OpenSSL). With
//! SoftHSM2 (`CMC_TEST_PKCS11_*`, see tests/pkcs11.rs) the same on a token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cmc_ca::Clock as _;
use cmc_ca::{CaKey, Error, KeyConfig, Rollover, SecretRef, activate_ca, rollover_ca};
use cmc_keys::{HashAlg, KeySpec, SignatureScheme};
use cmc_store::{GenerationState, RevocationReason};
use common::{Env, openssl, p};

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

fn rollover(ca: &str, key: KeyConfig, activate_at: Option<i64>) -> Rollover {
    Rollover {
        ca: ca.into(),
        key: CaKey::Generate {
            spec: KeySpec::P256,
            config: key,
        },
        validity_days: 365,
        activate_at: activate_at.map(cmc_store::UnixTime::from_secs),
        requester: "test-admin".into(),
    }
}

#[test]
fn state_machine_refusals_are_clear() {
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 3650);
    let now = env.clock.now();
    let store = env.store.as_ref();

    let e = activate_ca(store, now, "root", "op").unwrap_err();
    assert!(
        matches!(&e, Error::InvalidRequest(m) if m.contains("no passive generation")),
        "{e}"
    );
    let e = activate_ca(store, now, "nope", "op").unwrap_err();
    assert!(matches!(e, Error::UnknownCa(_)), "{e}");
    let e = rollover_ca(store, now, &rollover("nope", env.file_key("x", P256), None)).unwrap_err();
    assert!(matches!(e, Error::UnknownCa(_)), "{e}");

    let g = rollover_ca(
        store,
        now,
        &rollover("root", env.file_key("root.gen2", P256), None),
    )
    .unwrap();
    assert_eq!((g.generation, g.state), (2, GenerationState::Passive));
    let e = rollover_ca(
        store,
        now,
        &rollover("root", env.file_key("root.gen3", P256), None),
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidRequest(m) if m.contains("already has a passive generation")),
        "{e}"
    );
    // The refused rollover generated no key: the check comes first.
    assert!(!env.path("root.gen3.key").exists());

    assert_eq!(activate_ca(store, now, "root", "op").unwrap(), 2);
    let e = activate_ca(store, now, "root", "op").unwrap_err();
    assert!(
        matches!(&e, Error::InvalidRequest(m) if m.contains("no passive generation")),
        "{e}"
    );
    // Generation 3 after that.
    let g = rollover_ca(
        store,
        now,
        &rollover("root", env.file_key("root.gen3", P256), None),
    )
    .unwrap();
    assert_eq!(g.generation, 3);
}

#[test]
fn intermediate_rollover_is_issued_by_its_parent() {
    let env = Env::new();
    let root = env.create("root", KeySpec::P256, P256, None, 3650);
    let sub = env.create("sub", KeySpec::P256, P256, Some("root"), 1000);
    let now = env.clock.now();
    let g = rollover_ca(
        env.store.as_ref(),
        now,
        &rollover("sub", env.file_key("sub.gen2", P256), None),
    )
    .unwrap();
    assert_eq!(g.chain_der, [root.certificate_der().to_vec()]);
    let root_pem = env.write_cert("root.pem", root.certificate_der());
    let next_pem = env.write_cert("sub2.pem", &g.cert_der);
    let out = openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        p(&root_pem),
        p(&next_pem),
    ]);
    assert!(out.contains(": OK"), "{out}");
    // Same subject, new key identifier.
    let next = cmc_ca::x509::decode_certificate("next", &g.cert_der).unwrap();
    assert_eq!(next.tbs_certificate().subject(), sub.subject());
    assert_ne!(
        cmc_ca::x509::certificate_key_identifier(&next).unwrap(),
        sub.key_identifier()
    );
    // Recorded in the parent's numbering, so the parent can revoke it.
    let serial = cmc_ca::x509::store_serial(next.tbs_certificate().serial_number()).unwrap();
    assert!(env.store.get_cert("root", &serial).unwrap().is_some());
}

#[test]
fn scheduled_activation_and_crls_per_generation() {
    let env = Env::new();
    let old = env.create("root", KeySpec::P256, P256, None, 3650);
    let now = env.clock.now();
    // A certificate of generation 1, revoked.
    let (_, issued) = common::credential(
        &env.engine,
        "root",
        "gen1-leaf",
        "CN=gen1 leaf",
        cmc_store::ClientRole::Client,
    );
    let serial = issued.serial;
    env.engine
        .revoke("root", &serial, RevocationReason::KeyCompromise, None, "op")
        .unwrap();

    rollover_ca(
        env.store.as_ref(),
        now,
        &rollover(
            "root",
            env.file_key("root.gen2", P256),
            Some(now.secs() + 3600),
        ),
    )
    .unwrap();
    // The engine sees the passive generation; nothing is due yet.
    assert_eq!(env.engine.refresh_cas().unwrap(), ["root"]);
    let loaded = env.engine.ca("root").unwrap();
    assert_eq!(loaded.generation(), 1);
    assert_eq!(loaded.passive().unwrap().generation, 2);
    assert_eq!(loaded.bundle_der().len(), 2);
    assert!(env.engine.refresh_cas().unwrap().is_empty());

    env.clock.advance(3601);
    assert_eq!(env.engine.refresh_cas().unwrap(), ["root"]);
    let active = env.engine.ca("root").unwrap();
    assert_eq!(active.generation(), 2);
    assert!(active.passive().is_none());
    assert_eq!(active.retired().len(), 1);
    assert_ne!(active.key_identifier(), old.key_identifier());

    // Generation 1's CRL: signed by the old key, listing the revocation;
    // generation 2's: by the new key, empty.
    let old_pem = env.write_cert("old.pem", old.certificate_der());
    let new_pem = env.write_cert("new.pem", active.certificate_der());
    let crl1 = env.engine.generation_crl("root", 1).unwrap();
    let crl1_path = env.write_der("gen1.crl", &crl1.der);
    let out = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        p(&crl1_path),
        "-CAfile",
        p(&old_pem),
        "-noout",
        "-text",
    ]);
    assert!(out.contains("verify OK"), "{out}");
    assert!(
        out.to_uppercase().contains(&serial.to_hex().to_uppercase()),
        "{out}"
    );
    let crl2 = env.engine.current_crl("root").unwrap();
    let crl2_path = env.write_der("gen2.crl", &crl2.der);
    let out = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        p(&crl2_path),
        "-CAfile",
        p(&new_pem),
        "-noout",
        "-text",
    ]);
    assert!(out.contains("verify OK"), "{out}");
    assert!(out.contains("No Revoked Certificates"), "{out}");
    assert!(crl2.crl_number > crl1.crl_number);
    assert!(matches!(
        env.engine.generation_crl("root", 3),
        Err(Error::InvalidRequest(_))
    ));
}

#[cfg(feature = "pkcs11")]
#[test]
fn rollover_with_token_keys() {
    let Some(module) = std::env::var_os("CMC_TEST_PKCS11_MODULE") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PKCS#11 tests"
        );
        println!("rollover_with_token_keys: skipped: CMC_TEST_PKCS11_MODULE is not set");
        return;
    };
    let token = std::env::var("CMC_TEST_PKCS11_TOKEN").unwrap();
    let pin = std::path::PathBuf::from(std::env::var_os("CMC_TEST_PKCS11_PIN_FILE").unwrap());
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let tag = cmc_store::Serial::from_be_bytes(&[&[1u8][..], &b].concat()).unwrap();
    let key = |label: &str| {
        KeyConfig::pkcs11(
            std::path::PathBuf::from(module.clone()),
            token.clone(),
            format!("{label}-{tag}"),
            SecretRef::File(pin.clone()),
            P256,
        )
    };
    let env = Env::new();
    let old = env
        .engine
        .create_ca(&cmc_ca::NewCa {
            name: "hsm".into(),
            subject: "CN=HSM rollover,O=cmc-ca tests".into(),
            validity_days: 3650,
            key: CaKey::Generate {
                spec: KeySpec::P256,
                config: key("gen1"),
            },
            path_len: None,
            issuer: None,
            requester: "test-admin".into(),
        })
        .unwrap();
    let now = env.clock.now();
    let g = rollover_ca(env.store.as_ref(), now, &rollover("hsm", key("gen2"), None)).unwrap();
    assert!(g.key_ref.contains("pkcs11"), "{}", g.key_ref);
    assert_eq!(
        activate_ca(env.store.as_ref(), now, "hsm", "op").unwrap(),
        2
    );
    env.engine.refresh_cas().unwrap();
    let active = env.engine.ca("hsm").unwrap();
    assert_eq!(active.generation(), 2);
    assert_eq!(active.retired().len(), 1);
    let old_pem = env.write_cert("old.pem", old.certificate_der());
    let new_pem = env.write_cert("new.pem", active.certificate_der());
    for (n, pem) in [(1, &old_pem), (2, &new_pem)] {
        let crl = env.engine.generation_crl("hsm", n).unwrap();
        let path = env.write_der(&format!("gen{n}.crl"), &crl.der);
        let out = openssl(&[
            "crl",
            "-inform",
            "DER",
            "-in",
            p(&path),
            "-CAfile",
            p(pem),
            "-noout",
        ]);
        assert!(out.contains("verify OK"), "generation {n}: {out}");
    }
}
