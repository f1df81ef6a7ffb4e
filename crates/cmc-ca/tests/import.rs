//! The engine's side of migrating a CA in: one installation's CA, a
//! certificate it issued and its CRL move into another store through
//! `import_ca`, `CertImporter` and `import_crl`, with their audit events,
//! and the CRL number continues. (`cmc-tool`'s tests run the commands on
//! an OpenSSL-made CA with 10,000 certificates.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cmc_ca::{CertImporter, ImportCa, ImportKey, SecretRef, import_ca, import_crl};
use cmc_keys::{HashAlg, KeySpec, SignatureScheme};
use cmc_store::{AuditFilter, AuditKind, ClientRole, PageRequest, RevocationReason};
use common::Env;
use zeroize::Zeroizing;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

#[test]
fn a_ca_its_certificate_and_its_crl_move_to_another_store() {
    let old = Env::new();
    let ca = old.create("old", KeySpec::P256, P256, None, 365);
    let (_, cred) = common::credential(
        &old.engine,
        "old",
        "leaf",
        "CN=leaf,O=cmc-ca tests",
        ClientRole::Client,
    );
    let (_, kept) = common::credential(
        &old.engine,
        "old",
        "kept",
        "CN=kept,O=cmc-ca tests",
        ClientRole::Client,
    );
    let revoked_at = old.engine.now();
    old.store
        .revoke(
            "old",
            &cred.serial,
            RevocationReason::KeyCompromise,
            revoked_at,
            None,
        )
        .unwrap();
    let crl = old.engine.generate_crl("old").unwrap();

    let new = Env::new();
    let now = new.engine.now();
    let moved = import_ca(
        new.store.as_ref(),
        now,
        &ImportCa {
            name: "moved".into(),
            cert_der: ca.certificate_der().to_vec(),
            chain_der: Vec::new(),
            key: ImportKey::File {
                pem: Zeroizing::new(std::fs::read(old.path("old.key")).unwrap()),
                source_passphrase: Some(SecretRef::File(old.passphrase.clone())),
                dest: new.file_key("moved", P256),
            },
            scheme: None,
            requester: "test-admin".into(),
        },
    )
    .unwrap();
    assert_eq!(moved.certificate_der(), ca.certificate_der());
    assert!(new.path("moved.key").exists());

    let mut importer =
        CertImporter::new(Arc::clone(&new.store), "moved", "test-admin", now).unwrap();
    importer.add("leaf", &cred.certificate_der).unwrap();
    importer.add("kept", &kept.certificate_der).unwrap();
    importer.add("leaf again", &cred.certificate_der).unwrap();
    let report = importer.finish().unwrap();
    assert_eq!((report.read, report.imported, report.duplicates), (3, 2, 1));
    assert!(report.refused.is_empty());

    let r = import_crl(new.store.as_ref(), "moved", &crl.der, now, "test-admin").unwrap();
    assert_eq!(r.crl_number, Some(crl.crl_number));
    assert_eq!((r.entries, r.revoked, r.already_revoked), (1, 1, 0));
    let record = new.store.get_cert("moved", &cred.serial).unwrap().unwrap();
    let revocation = record.revocation().unwrap();
    assert_eq!(revocation.reason, RevocationReason::KeyCompromise);
    assert_eq!(revocation.revoked_at, revoked_at);
    assert_eq!(
        new.store.is_revoked("moved", &kept.serial).unwrap(),
        Some(false)
    );
    assert_eq!(
        new.store.next_crl_number("moved").unwrap(),
        crl.crl_number + 1
    );

    // One event for each step.
    let events = new
        .store
        .list_audit(&AuditFilter::default(), PageRequest::first(100))
        .unwrap()
        .items;
    let kinds: Vec<String> = events
        .iter()
        .map(|e| e.event.kind.as_str().to_owned())
        .collect();
    assert!(
        kinds.contains(&AuditKind::CaAdded.as_str().to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"certificates-imported".to_owned()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"crl-imported".to_owned()), "{kinds:?}");
}
