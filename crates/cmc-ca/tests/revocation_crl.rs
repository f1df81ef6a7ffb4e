//! Revocation through the engine and the CRLs that list it, checked with
//! `openssl crl`, `openssl verify -crl_check` and pkilint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cmc_ca::{
    ClientCredentialRequest, CrlConfig, Engine, EngineConfig, Error, LoadedCa, RevokeOutcome,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_store::{
    AuditFilter, AuditKind, ClientRole, Grant, Outcome, PageRequest, RevocationReason, Scope,
    Serial,
};
use common::{Env, openssl, openssl_status, p, pkilint_available, pkilint_clean};
use der::Decode;
use x509_cert::crl::CertificateList;

const P384: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha384);
const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

/// Issues an end-entity certificate (a client credential) from `ca`.
fn issue_leaf(env: &Env, ca: &LoadedCa, id: &str) -> (Serial, Vec<u8>) {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let cred = env
        .engine
        .issue_client_credential(&ClientCredentialRequest {
            names: None,
            ca: ca.name().into(),
            client_id: id.into(),
            subject: format!("CN={id},O=cmc-ca tests,C=SE"),
            public_key: key.public_key().clone(),
            role: ClientRole::Client,
            grants: vec![Grant {
                ca: Scope::Any,
                profile: Scope::Any,
            }],
            validity_days: 30,
            requester: "test-admin".into(),
            mac: None,
        })
        .unwrap();
    (cred.serial, cred.certificate_der)
}

fn crl_text(env: &Env, name: &str, der: &[u8]) -> String {
    let file = env.write_der(name, der);
    openssl(&["crl", "-inform", "DER", "-in", p(&file), "-noout", "-text"])
}

/// `openssl crl -CAfile` verification; returns its output.
fn openssl_crl_verify(env: &Env, name: &str, der: &[u8], ca_pem: &std::path::Path) -> String {
    let file = env.write_der(name, der);
    let out = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        p(&file),
        "-CAfile",
        p(ca_pem),
        "-noout",
    ]);
    assert!(out.contains("verify OK"), "{name}: {out}");
    out
}

#[test]
fn a_crl_lists_a_key_compromise_and_verifies() {
    let env = Env::new();
    let root = env.create("root", KeySpec::P384, P384, None, 3650);
    let sub = env.create("issuing", KeySpec::P256, P256, Some("root"), 365);
    let root_pem = env.write_cert("root.pem", root.certificate_der());
    let sub_pem = env.write_cert("issuing.pem", sub.certificate_der());
    let (leaf_serial, leaf_der) = issue_leaf(&env, &sub, "leaf-1");
    let leaf_pem = env.write_cert("leaf.pem", &leaf_der);

    // The empty CRL first: no revokedCertificates at all.
    let empty = env.engine.current_crl("issuing").unwrap();
    assert_eq!(empty.crl_number, 1);
    let parsed = <CertificateList>::from_der(&empty.der).unwrap();
    assert!(parsed.tbs_cert_list.revoked_certificates.is_none());
    openssl_crl_verify(&env, "empty.crl", &empty.der, &sub_pem);

    env.clock.advance(120);
    let compromised_at = env.engine.now().plus_secs(-3600);
    let outcome = env
        .engine
        .revoke(
            "issuing",
            &leaf_serial,
            RevocationReason::KeyCompromise,
            Some(compromised_at),
            "test-admin",
        )
        .unwrap();
    let RevokeOutcome::Revoked(first) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(first.reason, RevocationReason::KeyCompromise);
    assert_eq!(first.revoked_at, env.engine.now());

    let crl = env.engine.current_crl("issuing").unwrap();
    assert_eq!(crl.crl_number, 2, "the revocation made the CRL stale");
    assert_eq!(crl.this_update, env.engine.now());
    assert_eq!(crl.next_update, env.engine.now().plus_secs(7 * 86_400));
    openssl_crl_verify(&env, "issuing.crl", &crl.der, &sub_pem);
    // The wrong CA does not verify it.
    let file = env.write_der("issuing-wrong.crl", &crl.der);
    let (_, out) = openssl_status(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        p(&file),
        "-CAfile",
        p(&root_pem),
        "-noout",
    ]);
    assert!(!out.contains("verify OK"), "{out}");

    let text = crl_text(&env, "issuing-text.crl", &crl.der);
    assert!(text.contains("Version 2 (0x1)"), "{text}");
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA256"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Serial Number: {}",
            leaf_serial.to_hex().to_uppercase()
        )),
        "{text}"
    );
    assert!(text.contains("X509v3 CRL Reason Code:"), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("Invalidity Date:"), "{text}");
    assert!(text.contains("X509v3 CRL Number:"), "{text}");
    let number_line = text
        .lines()
        .skip_while(|l| !l.contains("X509v3 CRL Number:"))
        .nth(1)
        .unwrap();
    assert_eq!(number_line.trim(), "2", "{text}");
    assert!(text.contains("X509v3 Authority Key Identifier:"), "{text}");

    // OpenSSL's chain verification with the CRL rejects the leaf now (at
    // the engine's time, which the test moved ahead of the system's).
    let at = env.engine.now().secs().to_string();
    let crl_pem = env.write_pem("issuing-crl.pem", "X509 CRL", &crl.der);
    let (ok, out) = openssl_status(&[
        "verify",
        "-attime",
        &at,
        "-crl_check",
        "-CAfile",
        p(&root_pem),
        "-untrusted",
        p(&sub_pem),
        "-CRLfile",
        p(&crl_pem),
        p(&leaf_pem),
    ]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    // And accepts an unrevoked one.
    let (_, other_der) = issue_leaf(&env, &sub, "leaf-2");
    let other_pem = env.write_cert("leaf-2.pem", &other_der);
    let out = openssl(&[
        "verify",
        "-attime",
        &at,
        "-crl_check",
        "-CAfile",
        p(&root_pem),
        "-untrusted",
        p(&sub_pem),
        "-CRLfile",
        p(&crl_pem),
        p(&other_pem),
    ]);
    assert!(out.contains(": OK"), "{out}");

    // The root's CRL (signed with P-384) verifies too, and lists the
    // intermediate once it is revoked.
    env.engine
        .revoke(
            "root",
            &sub.serial().unwrap(),
            RevocationReason::CaCompromise,
            None,
            "test-admin",
        )
        .unwrap();
    let root_crl = env.engine.current_crl("root").unwrap();
    openssl_crl_verify(&env, "root.crl", &root_crl.der, &root_pem);
    let text = crl_text(&env, "root-text.crl", &root_crl.der);
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA384"),
        "{text}"
    );
    assert!(text.contains("CA Compromise"), "{text}");
}

#[test]
fn revoking_twice_keeps_the_first_record() {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let (serial, _) = issue_leaf(&env, &ca, "leaf");
    let first = env
        .engine
        .revoke("ca", &serial, RevocationReason::Superseded, None, "alice")
        .unwrap();
    assert!(!first.was_already_revoked());
    env.clock.advance(600);
    let second = env
        .engine
        .revoke(
            "ca",
            &serial,
            RevocationReason::KeyCompromise,
            Some(env.engine.now()),
            "bob",
        )
        .unwrap();
    assert_eq!(second, RevokeOutcome::AlreadyRevoked(*first.revocation()));
    let stored = env.store.get_cert("ca", &serial).unwrap().unwrap();
    assert_eq!(stored.revocation(), Some(first.revocation()));

    // Both calls are audited, with requester and outcome.
    let events = env
        .store
        .list_audit(
            &AuditFilter {
                kind: Some(AuditKind::Revoked),
                serial: Some(serial.clone()),
                ..AuditFilter::default()
            },
            PageRequest::first(10),
        )
        .unwrap()
        .items;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event.requester.as_deref(), Some("alice"));
    assert_eq!(events[1].event.requester.as_deref(), Some("bob"));
    for e in &events {
        assert_eq!(e.event.issuer.as_deref(), Some("ca"));
        assert_eq!(e.event.outcome, Outcome::Success);
        assert_eq!(
            e.event.profile.as_deref(),
            Some(cmc_ca::CLIENT_CREDENTIAL_PROFILE)
        );
    }
    assert!(
        events[1].event.detail.contains("already revoked"),
        "{}",
        events[1].event.detail
    );
}

#[test]
fn refused_revocations_are_audited_as_failures() {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let (serial, _) = issue_leaf(&env, &ca, "leaf");
    let unknown = Serial::from_be_bytes(&[0x42; 16]).unwrap();
    assert!(matches!(
        env.engine
            .revoke("ca", &unknown, RevocationReason::Unspecified, None, "eve"),
        Err(Error::Store(cmc_store::Error::NotFound(_)))
    ));
    assert!(matches!(
        env.engine
            .revoke("ca", &serial, RevocationReason::RemoveFromCrl, None, "eve"),
        Err(Error::InvalidRequest(_))
    ));
    let tomorrow = env.engine.now().plus_secs(86_400);
    assert!(matches!(
        env.engine.revoke(
            "ca",
            &serial,
            RevocationReason::KeyCompromise,
            Some(tomorrow),
            "eve"
        ),
        Err(Error::InvalidRequest(_))
    ));
    assert!(matches!(
        env.engine.unrevoke("ca", &serial, "eve"),
        Err(Error::Store(cmc_store::Error::InvalidState(_)))
    ));
    assert!(matches!(
        env.engine
            .revoke("nope", &serial, RevocationReason::Unspecified, None, "eve"),
        Err(Error::UnknownCa(_))
    ));
    let events = env
        .store
        .list_audit(
            &AuditFilter {
                requester: Some("eve".into()),
                ..AuditFilter::default()
            },
            PageRequest::first(10),
        )
        .unwrap()
        .items;
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(events.iter().all(|e| e.event.outcome == Outcome::Failure));
    assert_eq!(events[3].event.kind, AuditKind::Unrevoked);
    // Nothing was revoked.
    assert!(env.store.list_revoked("ca").unwrap().is_empty());
}

#[test]
fn crl_numbers_increase_and_stale_crls_are_replaced() {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let ca_pem = env.write_cert("ca.pem", ca.certificate_der());
    let (a, _) = issue_leaf(&env, &ca, "a");
    let (b, _) = issue_leaf(&env, &ca, "b");

    let first = env.engine.current_crl("ca").unwrap();
    assert_eq!(first.crl_number, 1);
    // Unchanged and fresh: the same CRL.
    env.clock.advance(3600);
    assert_eq!(env.engine.current_crl("ca").unwrap(), first);
    // An explicit new one gets the next number.
    let second = env.engine.generate_crl("ca").unwrap();
    assert_eq!(second.crl_number, 2);
    assert_eq!(env.store.latest_crl("ca").unwrap().unwrap(), second);

    // A hold is listed with its reason; an unspecified reason has no code.
    env.engine
        .revoke("ca", &a, RevocationReason::CertificateHold, None, "admin")
        .unwrap();
    env.engine
        .revoke("ca", &b, RevocationReason::Unspecified, None, "admin")
        .unwrap();
    let third = env.engine.current_crl("ca").unwrap();
    assert_eq!(third.crl_number, 3);
    let parsed = <CertificateList>::from_der(&third.der).unwrap();
    let entries = parsed.tbs_cert_list.revoked_certificates.clone().unwrap();
    assert_eq!(entries.len(), 2);
    let entry_b = entries
        .iter()
        .find(|e| e.serial_number.as_bytes() == b.as_bytes())
        .unwrap();
    assert!(
        entry_b.crl_entry_extensions.is_none(),
        "unspecified: no reasonCode"
    );
    let text = crl_text(&env, "third.crl", &third.der);
    assert!(text.contains("Certificate Hold"), "{text}");
    openssl_crl_verify(&env, "third.crl", &third.der, &ca_pem);

    // Lifting the hold drops the entry from the next CRL.
    env.engine.unrevoke("ca", &a, "admin").unwrap();
    let fourth = env.engine.current_crl("ca").unwrap();
    assert_eq!(fourth.crl_number, 4);
    let parsed = <CertificateList>::from_der(&fourth.der).unwrap();
    let serials: Vec<_> = parsed
        .tbs_cert_list
        .revoked_certificates
        .unwrap()
        .iter()
        .map(|e| e.serial_number.as_bytes().to_vec())
        .collect();
    assert_eq!(serials, vec![b.as_bytes().to_vec()]);
    assert_eq!(env.engine.current_crl("ca").unwrap().crl_number, 4);

    // Within the refresh margin (1 day) of nextUpdate it is replaced.
    env.clock.advance(6 * 86_400 - 1);
    assert_eq!(env.engine.current_crl("ca").unwrap().crl_number, 4);
    env.clock.advance(1);
    let fifth = env.engine.current_crl("ca").unwrap();
    assert_eq!(fifth.crl_number, 5);
    assert_eq!(fifth.this_update, env.engine.now());
    // A clock that went backwards makes the stored CRL's thisUpdate lie in
    // the future: replaced too.
    env.clock.advance(-3600);
    assert_eq!(env.engine.current_crl("ca").unwrap().crl_number, 6);

    // Every issued CRL is audited.
    let issued = env
        .store
        .list_audit(
            &AuditFilter {
                kind: Some(AuditKind::CrlIssued),
                ..AuditFilter::default()
            },
            PageRequest::first(100),
        )
        .unwrap()
        .items;
    assert_eq!(issued.len(), 6);
}

#[test]
fn next_update_is_cut_at_the_ca_not_after() {
    let env = Env::new();
    let ca = env.create("short", KeySpec::P256, P256, None, 3);
    let crl = env.engine.generate_crl("short").unwrap();
    assert_eq!(crl.next_update, ca.not_after());
    let parsed = <CertificateList>::from_der(&crl.der).unwrap();
    assert_eq!(
        cmc_ca::x509::unix_time(&parsed.tbs_cert_list.next_update.unwrap()),
        ca.not_after()
    );
    // Within the refresh margin of a nextUpdate that is the CA's notAfter,
    // a new CRL would not reach further: the stored one is kept, not
    // reissued on every call.
    env.clock.advance(2 * 86_400 + 3600);
    assert_eq!(env.engine.current_crl("short").unwrap(), crl);
    assert_eq!(env.engine.current_crl("short").unwrap(), crl);
    // An expired CA issues no CRL.
    env.clock.advance(86_400);
    assert!(matches!(
        env.engine.generate_crl("short"),
        Err(Error::CaNotValid { .. })
    ));
}

#[test]
fn a_configured_crl_period_is_used() {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let config = EngineConfig {
        crl: CrlConfig {
            validity_secs: 3600,
            refresh_margin_secs: 600,
        },
        ..EngineConfig::default()
    };
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let crl = engine.current_crl("ca").unwrap();
    assert_eq!(crl.next_update.secs() - crl.this_update.secs(), 3600);
    env.clock.advance(3000);
    assert_eq!(engine.current_crl("ca").unwrap().crl_number, 2);
    // A bad configuration refuses to start.
    let bad = EngineConfig {
        crl: CrlConfig {
            validity_secs: 3600,
            refresh_margin_secs: 3600,
        },
        ..EngineConfig::default()
    };
    assert!(matches!(
        Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), bad),
        Err(Error::InvalidRequest(_))
    ));
}

#[test]
fn pkilint_finds_nothing_in_a_crl() {
    if !pkilint_available("pkilint_finds_nothing_in_a_crl") {
        return;
    }
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P384, P384, None, 365);
    let empty = env.engine.current_crl("ca").unwrap();
    let file = env.write_der("empty.crl", &empty.der);
    pkilint_clean("lint_crl", &["-t", "CRL", "-p", "PKIX"], &file);

    let (a, _) = issue_leaf(&env, &ca, "a");
    let (b, _) = issue_leaf(&env, &ca, "b");
    env.engine
        .revoke(
            "ca",
            &a,
            RevocationReason::KeyCompromise,
            Some(env.engine.now().plus_secs(-86_400)),
            "admin",
        )
        .unwrap();
    env.engine
        .revoke("ca", &b, RevocationReason::Unspecified, None, "admin")
        .unwrap();
    let crl = env.engine.current_crl("ca").unwrap();
    let file = env.write_der("full.crl", &crl.der);
    pkilint_clean("lint_crl", &["-t", "CRL", "-p", "PKIX"], &file);
}
