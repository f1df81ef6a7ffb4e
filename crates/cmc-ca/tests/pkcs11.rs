//! CA keys on a PKCS#11 token (SoftHSM2): generated on the token, used as
//! an existing key, reloaded by a fresh engine, signing certificates and
//! CRLs that OpenSSL verifies.
//!
//! Needs `CMC_TEST_PKCS11_MODULE`, `CMC_TEST_PKCS11_TOKEN` and
//! `CMC_TEST_PKCS11_PIN_FILE` (`eval "$(scripts/softhsm-env.sh DIR)"`).
//! Without them the test prints a skip line, unless `CI` is set: then it
//! fails.

#![cfg(feature = "pkcs11")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use cmc_ca::{CaKey, Engine, EngineConfig, Error, KeyConfig, NewCa, SecretRef, SystemClock};
use cmc_keys::{HashAlg, KeySpec, SignatureScheme};
use cmc_store::RevocationReason;
use common::{Env, openssl, p};

struct Hsm {
    module: PathBuf,
    token: String,
    pin_file: PathBuf,
}

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
        module: module.into(),
        token,
        pin_file: pin_file.into(),
    })
}

fn unique(label: &str) -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    format!(
        "{label}-{}",
        cmc_store::Serial::from_be_bytes(&[&[1u8][..], &b].concat()).unwrap()
    )
}

impl Hsm {
    fn key(&self, label: &str, scheme: SignatureScheme) -> KeyConfig {
        KeyConfig::pkcs11(
            self.module.clone(),
            self.token.clone(),
            label,
            SecretRef::File(self.pin_file.clone()),
            scheme,
        )
    }
}

#[test]
fn ca_keys_on_a_token() {
    let Some(hsm) = hsm("ca_keys_on_a_token") else {
        return;
    };
    let env = Env::new();
    let p384 = SignatureScheme::Ecdsa(HashAlg::Sha384);
    let pss = SignatureScheme::RsaPss(HashAlg::Sha384);

    // A root whose P-384 key is generated on the token.
    let root_label = unique("cmc-ca-root");
    let root = env
        .engine
        .create_ca(&NewCa {
            name: "hsm-root".into(),
            subject: "CN=HSM Root,O=cmc-ca tests,C=SE".into(),
            validity_days: 3650,
            key: CaKey::Generate {
                spec: KeySpec::P384,
                config: hsm.key(&root_label, p384),
            },
            path_len: None,
            issuer: None,
            requester: "test-admin".into(),
        })
        .unwrap();
    // The stored reference pins the random CKA_ID the token key was given,
    // and holds no PIN.
    match root.key_config() {
        KeyConfig::Pkcs11 {
            key_label, key_id, ..
        } => {
            assert_eq!(key_label.as_deref(), Some(root_label.as_str()));
            assert_eq!(key_id.as_ref().map(String::len), Some(32));
        }
        other => panic!("{other:?}"),
    }
    let pin = std::fs::read_to_string(&hsm.pin_file).unwrap();
    assert!(!root.record().key_ref.contains(pin.trim()));

    // An intermediate with an existing RSA key on the token, signing with
    // PSS/SHA-384.
    let sub_label = unique("cmc-ca-sub");
    hsm.key(&sub_label, pss).generate(KeySpec::Rsa2048).unwrap();
    let sub = env
        .engine
        .create_ca(&NewCa {
            name: "hsm-sub".into(),
            subject: "CN=HSM Issuing,O=cmc-ca tests,C=SE".into(),
            validity_days: 365,
            key: CaKey::Existing(hsm.key(&sub_label, pss)),
            path_len: Some(0),
            issuer: Some("hsm-root".into()),
            requester: "test-admin".into(),
        })
        .unwrap();

    let root_pem = env.write_cert("root.pem", root.certificate_der());
    let sub_pem = env.write_cert("sub.pem", sub.certificate_der());
    let out = openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        p(&root_pem),
        p(&sub_pem),
    ]);
    assert!(out.contains(": OK"), "{out}");
    let text = openssl(&["x509", "-in", p(&root_pem), "-noout", "-text"]);
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA384"),
        "{text}"
    );

    // A fresh engine opens both keys from the store and signs CRLs with
    // them (the intermediate's CRL with RSA-PSS on the token).
    let engine = Engine::load(
        cmc_store::open(&env.db_url).unwrap(),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .unwrap();
    engine
        .revoke(
            "hsm-root",
            &sub.serial().unwrap(),
            RevocationReason::Superseded,
            None,
            "test-admin",
        )
        .unwrap();
    for (ca, pem) in [("hsm-root", &root_pem), ("hsm-sub", &sub_pem)] {
        let crl = engine.current_crl(ca).unwrap();
        let file = env.write_der(&format!("{ca}.crl"), &crl.der);
        let out = openssl(&[
            "crl",
            "-inform",
            "DER",
            "-in",
            p(&file),
            "-CAfile",
            p(pem),
            "-noout",
        ]);
        assert!(out.contains("verify OK"), "{ca}: {out}");
    }
    let text = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        p(&env.path("hsm-sub.crl")),
        "-noout",
        "-text",
    ]);
    assert!(text.contains("Signature Algorithm: rsassaPss"), "{text}");

    // A key reference to a label that is not on the token refuses to load.
    let missing = hsm.key(&unique("cmc-ca-missing"), p384);
    assert!(matches!(
        missing.open(),
        Err(Error::Key(cmc_keys::Error::KeyNotFound { .. }))
    ));
}

#[test]
fn a_delegated_ocsp_responder_key_on_a_token() {
    use cmc_asn1::ocsp::{OcspResponse, OcspResponseStatus};
    use cmc_ca::config::{CaSettings, OcspSettings};
    use der::Decode;

    let Some(hsm) = hsm("a_delegated_ocsp_responder_key_on_a_token") else {
        return;
    };
    let env = Env::new();
    let p256 = SignatureScheme::Ecdsa(HashAlg::Sha256);
    let ca = env.create("root", KeySpec::P256, p256, None, 365);
    let ca_pem = env.write_cert("root.pem", ca.certificate_der());
    // The responder key is made on the token; the CA key stays a file.
    let (key, _) = hsm
        .key(&unique("cmc-ca-ocsp"), p256)
        .generate(KeySpec::P256)
        .unwrap();
    let config = EngineConfig {
        cas: std::collections::BTreeMap::from([(
            "root".to_owned(),
            CaSettings {
                ocsp: Some(OcspSettings {
                    key: Some(key),
                    ..OcspSettings::default()
                }),
                ..CaSettings::default()
            },
        )]),
        ..EngineConfig::default()
    };
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let req = env.path("req.der");
    // A request for the CA's own certificate: unknown (a root is in no
    // table), but signed and verifiable all the same.
    openssl(&[
        "ocsp",
        "-issuer",
        p(&ca_pem),
        "-cert",
        p(&ca_pem),
        "-no_nonce",
        "-reqout",
        p(&req),
    ]);
    let reply = engine.ocsp("root", &std::fs::read(&req).unwrap()).unwrap();
    assert_eq!(reply.status, OcspResponseStatus::Successful);
    let basic = OcspResponse::from_der(&reply.der)
        .unwrap()
        .basic()
        .unwrap()
        .unwrap();
    assert_eq!(basic.certs.as_ref().map(Vec::len), Some(1));
    let resp = env.write_der("resp.der", &reply.der);
    let out = openssl(&[
        "ocsp",
        "-reqin",
        p(&req),
        "-respin",
        p(&resp),
        "-issuer",
        p(&ca_pem),
        "-CAfile",
        p(&ca_pem),
        "-resp_text",
    ]);
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("Cert Status: unknown"), "{out}");
}
