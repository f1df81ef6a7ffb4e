//! What the operator console reads about CRLs and OCSP: `crl_status` and
//! `ocsp_summary` make, renew and store nothing; `generate_crl_by` names
//! its requester in the audit event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cmc_ca::config::{CaSettings, OcspSettings};
use cmc_ca::{Engine, EngineConfig};
use cmc_keys::{HashAlg, KeySpec, SignatureScheme};
use cmc_store::{AuditFilter, AuditKind, ClientRole, PageRequest, RevocationReason};
use common::Env;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const DAY: i64 = 86_400;

fn crl_events(env: &Env) -> Vec<Option<String>> {
    env.store
        .list_audit(
            &AuditFilter {
                kind: Some(AuditKind::CrlIssued),
                ..AuditFilter::default()
            },
            PageRequest::first(100),
        )
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.event.requester)
        .collect()
}

#[test]
fn crl_status_reads_what_was_made_and_makes_nothing() {
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 365);
    let status = env.engine.crl_status("root").unwrap();
    assert_eq!(status.len(), 1);
    assert!(status[0].active && status[0].generation == 1);
    assert_eq!(status[0].path, "/crl/root.crl");
    assert_eq!(status[0].crl, None, "no CRL was made yet");
    assert!(crl_events(&env).is_empty(), "reading made no CRL");

    // Two revoked certificates, then a CRL asked for by an operator.
    for id in ["a", "b", "c"] {
        let subject = format!("CN={id},O=cmc-ca tests,C=SE");
        let (_, cred) = common::credential(&env.engine, "root", id, &subject, ClientRole::Client);
        if id != "c" {
            env.engine
                .revoke(
                    "root",
                    &cred.serial,
                    RevocationReason::Superseded,
                    None,
                    "t",
                )
                .unwrap();
        }
    }
    let made = env.engine.generate_crl_by("root", "console:alice").unwrap();
    assert_eq!(crl_events(&env), [Some("console:alice".to_owned())]);
    let crl = env.engine.crl_status("root").unwrap()[0]
        .crl
        .clone()
        .unwrap();
    assert_eq!(crl.number, made.crl_number);
    assert_eq!(crl.size, made.der.len());
    assert_eq!(crl.entries, Some(2));
    assert_eq!(crl.this_update, made.this_update);
    assert_eq!(crl.next_update, made.next_update);
    assert!(!crl.overdue(env.engine.now()));

    // Past its nextUpdate it is overdue, and reading it still makes none.
    env.clock
        .advance(made.next_update.secs() - made.this_update.secs());
    let late = env.engine.crl_status("root").unwrap()[0]
        .crl
        .clone()
        .unwrap();
    assert_eq!(late.number, made.crl_number);
    assert!(late.overdue(env.engine.now()));
    assert_eq!(crl_events(&env).len(), 1);

    // The engine's own CRLs (no operator) carry no requester.
    env.engine.generate_crl("root").unwrap();
    assert_eq!(crl_events(&env).len(), 2);
    assert!(crl_events(&env).contains(&None));
    assert!(env.engine.crl_status("nowhere").is_err());
}

#[test]
fn ocsp_summary_shows_the_responder_in_use_without_renewing_it() {
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 365);
    // Without a delegated responder the CA key signs.
    let plain = env.engine.ocsp_summary("root").unwrap();
    assert!(!plain.delegated && plain.responder.is_none());
    assert_eq!(plain.path, "/ocsp/root");
    assert_eq!(plain.aia_url, None);
    assert_eq!((plain.cached, plain.cached_usable), (0, 0));

    let (key, _) = env
        .file_key("ocsp-responder", P256)
        .generate(KeySpec::P256)
        .unwrap();
    let config = EngineConfig {
        cas: BTreeMap::from([(
            "root".to_owned(),
            CaSettings {
                ocsp_url: Some("http://ca.example/ocsp/root".into()),
                ocsp: Some(OcspSettings {
                    key: Some(key),
                    responder_validity_hours: 7 * 24,
                    responder_renew_hours: 48,
                    ..OcspSettings::default()
                }),
                ..CaSettings::default()
            },
        )]),
        ..EngineConfig::default()
    };
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let before = engine.ocsp_summary("root").unwrap();
    assert!(before.delegated);
    assert_eq!(
        before.responder, None,
        "issued on first use, not by reading"
    );
    assert_eq!(
        before.aia_url.as_deref(),
        Some("http://ca.example/ocsp/root")
    );
    assert_eq!(before.renew_margin_secs, 48 * 3600);

    engine.ocsp_responder_certificate("root").unwrap().unwrap();
    let issued = engine.ocsp_summary("root").unwrap().responder.unwrap();
    assert_eq!(issued.subject, "CN=root OCSP responder");
    // Six days on, inside the renewal margin: reading shows the same
    // certificate (nothing renews it but an OCSP answer).
    env.clock.advance(6 * DAY);
    let late = engine.ocsp_summary("root").unwrap().responder.unwrap();
    assert_eq!(late, issued);
    assert!(late.not_after.secs() - engine.now().secs() < 2 * DAY);
    // Another process reads it from the store.
    let other = Engine::load(
        Arc::clone(&env.store),
        Arc::new(env.clock.clone()),
        engine.config().clone(),
    )
    .unwrap();
    assert_eq!(other.ocsp_summary("root").unwrap().responder, Some(issued));
}

#[test]
fn a_retired_generation_shows_the_crl_this_process_made_for_it() {
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 3650);
    let subject = "CN=old,O=cmc-ca tests,C=SE";
    let (_, old) = common::credential(&env.engine, "root", "old", subject, ClientRole::Client);
    env.engine
        .revoke(
            "root",
            &old.serial,
            RevocationReason::KeyCompromise,
            None,
            "t",
        )
        .unwrap();
    let now = env.engine.now();
    cmc_ca::rollover_ca(
        env.store.as_ref(),
        now,
        &cmc_ca::Rollover {
            ca: "root".into(),
            key: cmc_ca::CaKey::Generate {
                spec: KeySpec::P256,
                config: env.file_key("root.gen2", P256),
            },
            validity_days: 365,
            activate_at: None,
            requester: "test-admin".into(),
        },
    )
    .unwrap();
    cmc_ca::activate_ca(env.store.as_ref(), now, "root", "op").unwrap();
    env.engine.refresh_cas().unwrap();

    let status = env.engine.crl_status("root").unwrap();
    let paths: Vec<_> = status
        .iter()
        .map(|g| (g.generation, g.active, g.path.as_str(), g.crl.is_some()))
        .collect();
    assert_eq!(
        paths,
        [
            (2, true, "/crl/root.crl", false),
            (1, false, "/crl/root@1.crl", false)
        ]
    );
    // Made on request of its URL, then shown; the active one lists none.
    let made = env.engine.generation_crl("root", 1).unwrap();
    env.engine.generate_crl_by("root", "console:bob").unwrap();
    let status = env.engine.crl_status("root").unwrap();
    let retired = status[1].crl.clone().unwrap();
    assert_eq!(retired.number, made.crl_number);
    assert_eq!(retired.entries, Some(1));
    assert_eq!(status[0].crl.as_ref().unwrap().entries, Some(0));
    assert!(status[0].crl.as_ref().unwrap().number > made.crl_number);
}
