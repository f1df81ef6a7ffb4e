//! Everything the engine signs takes one path: a root, an intermediate, a
//! client credential, a delegated OCSP responder certificate and a
//! request's certificate are each prepared and linted by their profile,
//! recorded with their TBS, and stored with their audit event; the
//! engine's own profiles are out of a request's reach.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use cmc_ca::config::{CaSettings, Config, OcspSettings};
use cmc_ca::{
    CA_PROFILE, CLIENT_CREDENTIAL_PROFILE, CaKey, ClientCredentialRequest, Engine, EngineConfig,
    Error, NewCa, OCSP_RESPONDER_PROFILE,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme};
use cmc_policy::{MAX_INTERNAL_VALIDITY_DAYS, Request};
use cmc_store::{
    AuditFilter, AuditKind, AuditRecord, CertFilter, CertStatus, ClientRole, Grant, Outcome,
    PageRequest, Scope, Serial,
};
use common::Env;
use der::asn1::BitString;
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const P384: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha384);

fn events(env: &Env, kind: AuditKind) -> Vec<AuditRecord> {
    env.store
        .list_audit(
            &AuditFilter {
                kind: Some(kind),
                ..AuditFilter::default()
            },
            PageRequest::first(100),
        )
        .unwrap()
        .items
}

/// The one `kind` event for `serial` of `issuer`.
fn event_of(env: &Env, kind: AuditKind, issuer: &str, serial: &Serial) -> AuditRecord {
    let mut found: Vec<_> = events(env, kind)
        .into_iter()
        .filter(|r| {
            r.event.issuer.as_deref() == Some(issuer) && r.event.serial.as_ref() == Some(serial)
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

/// Checks that `der` is stored in `issuer`'s table under `profile`, with
/// its TBS recorded before it was signed and one `issued` event carrying
/// the profile's decision.
fn check_recorded(env: &Env, issuer: &str, serial: &Serial, der: &[u8], profile: &str) {
    let record = env.store.get_cert(issuer, serial).unwrap().unwrap();
    assert_eq!(record.status(), CertStatus::Issued);
    assert_eq!(record.profile, profile);
    assert_eq!(record.certificate().unwrap().cert_der, der);
    let cert = Certificate::from_der(der).unwrap();
    assert_eq!(
        record.tbs_der.as_deref(),
        Some(&cert.tbs_certificate().to_der().unwrap()[..])
    );
    let event = event_of(env, AuditKind::Issued, issuer, serial).event;
    assert_eq!(event.outcome, Outcome::Success);
    assert_eq!(event.profile.as_deref(), Some(profile));
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap();
    assert_eq!(detail["decision"]["profile"], profile, "{detail}");
    assert_eq!(
        detail["decision"]["subject"],
        cert.tbs_certificate().subject().to_string()
    );
}

#[test]
fn every_certificate_the_engine_signs_is_recorded_and_audited_alike() {
    let env = Env::new();
    let root = env.create("root", KeySpec::P384, P384, None, 365);
    let sub = env.create("sub", KeySpec::P256, P256, Some("root"), 30);

    // The root: in no CA's numbering, stored as the CA with its event in
    // one transaction, the event carrying the profile's decision.
    assert!(
        env.store
            .get_cert("root", &root.serial().unwrap())
            .unwrap()
            .is_none()
    );
    let added = event_of(&env, AuditKind::CaAdded, "root", &root.serial().unwrap()).event;
    assert_eq!(added.profile.as_deref(), Some(CA_PROFILE));
    let detail: serde_json::Value = serde_json::from_str(&added.detail).unwrap();
    assert_eq!(detail["decision"]["profile"], CA_PROFILE, "{detail}");
    assert_eq!(detail["ca"]["issuer"], "(self-signed)", "{detail}");
    assert_eq!(detail["ca"]["key"], "file", "{detail}");

    // The intermediate: issued in the root's numbering like any
    // certificate, then stored as a CA with its own event.
    let sub_serial = sub.serial().unwrap();
    check_recorded(&env, "root", &sub_serial, sub.certificate_der(), CA_PROFILE);
    let added = event_of(&env, AuditKind::CaAdded, "sub", &sub_serial).event;
    let detail: serde_json::Value = serde_json::from_str(&added.detail).unwrap();
    assert_eq!(detail["ca"]["issuer"], "root", "{detail}");

    // A client credential.
    let (_, ra) = common::credential(&env.engine, "sub", "ra-1", "CN=RA One", ClientRole::Ra);
    check_recorded(
        &env,
        "sub",
        &ra.serial,
        &ra.certificate_der,
        CLIENT_CREDENTIAL_PROFILE,
    );
    let event = event_of(&env, AuditKind::Issued, "sub", &ra.serial).event;
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap();
    assert_eq!(detail["client"], "ra-1");
    assert_eq!(detail["role"], "ra");
    // The registration ends with the certificate.
    let not_after = Certificate::from_der(&ra.certificate_der)
        .unwrap()
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs();
    assert_eq!(
        ra.client.expires_at.map(|t| t.secs()),
        Some(i64::try_from(not_after).unwrap())
    );

    // A delegated OCSP responder certificate, issued on first use.
    let (key, _) = env
        .file_key("responder", P256)
        .generate(KeySpec::P256)
        .unwrap();
    let config = EngineConfig {
        cas: BTreeMap::from([(
            "sub".to_owned(),
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
    let der = engine.ocsp_responder_certificate("sub").unwrap().unwrap();
    let serial = cmc_ca::x509::store_serial(
        Certificate::from_der(&der)
            .unwrap()
            .tbs_certificate()
            .serial_number(),
    )
    .unwrap();
    check_recorded(&env, "sub", &serial, &der, OCSP_RESPONDER_PROFILE);

    // Every success above is one `issued` event per certificate in a CA's
    // table, and nothing failed.
    let issued = events(&env, AuditKind::Issued);
    assert_eq!(issued.len(), 3, "{issued:?}");
    assert!(issued.iter().all(|r| r.event.outcome == Outcome::Success));
    let failed = env
        .store
        .list_certs(
            &CertFilter {
                status: Some(CertStatus::Failed),
                ..CertFilter::default()
            },
            PageRequest::first(10),
        )
        .unwrap()
        .items;
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn a_request_cannot_reach_the_engines_profiles() {
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 365);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let csr = cmc_codec::build_csr(&key, Name::from_str("CN=Sneaky CA").unwrap(), vec![]).unwrap();
    let request = Request::from_cert_req(&csr).unwrap();
    let der = csr.to_der().unwrap();
    for profile in [
        CA_PROFILE,
        CLIENT_CREDENTIAL_PROFILE,
        OCSP_RESPONDER_PROFILE,
    ] {
        let err = env
            .engine
            .issue("root", Some(profile), &request, "tester", &der)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Policy(cmc_policy::Error::UnknownProfile(p)) if p == profile),
            "{profile}: {err:?}"
        );
    }
    // Nothing was reserved, and the three refusals are audited.
    assert!(
        env.store
            .list_certs(&CertFilter::default(), PageRequest::first(10))
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(events(&env, AuditKind::Refused).len(), 3);

    // Nor can a profiles file define one of them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.toml");
    std::fs::write(&path, "[profile.ca]\nkey_usage = [\"digitalSignature\"]\n").unwrap();
    let mut config = Config::from_toml("").unwrap();
    config.profiles = Some(path);
    let err = EngineConfig::from_config(&config).unwrap_err().to_string();
    assert!(err.contains("reserved"), "{err}");
}

#[test]
fn a_credential_for_a_key_its_profile_refuses_is_refused_and_audited() {
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 365);
    // An Ed25519 key: no profile of this CA certifies one.
    let ed25519 = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: const_oid::ObjectIdentifier::new_unwrap("1.3.101.112"),
            parameters: None,
        },
        subject_public_key: BitString::from_bytes(&[7; 32]).unwrap(),
    };
    let err = env
        .engine
        .issue_client_credential(&ClientCredentialRequest {
            ca: "root".into(),
            client_id: "ed".into(),
            subject: "CN=Ed".into(),
            public_key: ed25519,
            role: ClientRole::Client,
            grants: vec![Grant {
                ca: Scope::Any,
                profile: Scope::Any,
            }],
            validity_days: 30,
            requester: "test-admin".into(),
            names: None,
            mac: None,
        })
        .unwrap_err();
    assert!(
        matches!(&err, Error::Policy(cmc_policy::Error::Refused { .. })),
        "{err:?}"
    );
    assert!(env.store.get_client("ed").unwrap().is_none());
    let records = env
        .store
        .list_certs(&CertFilter::default(), PageRequest::first(10))
        .unwrap()
        .items;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status(), CertStatus::Failed);
    assert_eq!(records[0].profile, CLIENT_CREDENTIAL_PROFILE);
    let refused = events(&env, AuditKind::Refused);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].event.serial.as_ref(), Some(&records[0].serial));
    assert!(
        refused[0].event.detail.contains("key_not_allowed"),
        "{:?}",
        refused[0]
    );
}

#[test]
fn a_ca_lifetime_beyond_the_cap_is_refused_before_a_key_is_made() {
    let env = Env::new();
    let err = env
        .engine
        .create_ca(&NewCa {
            name: "forever".into(),
            subject: "CN=Forever".into(),
            validity_days: MAX_INTERNAL_VALIDITY_DAYS + 1,
            key: CaKey::Generate {
                spec: KeySpec::P256,
                config: env.file_key("forever", P256),
            },
            path_len: None,
            issuer: None,
            requester: "test-admin".into(),
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    assert!(!env.path("forever.key").exists());
    assert!(env.engine.ca_names().is_empty());
}

#[test]
fn a_root_signs_its_own_certificate_with_the_key_it_certifies() {
    let env = Env::new();
    let root = env.create("root", KeySpec::P384, P384, None, 10);
    let cert = Certificate::from_der(root.certificate_der()).unwrap();
    // Its signature verifies with its own key, over the TBS as prepared.
    assert!(cmc_codec::issued_by(&cert, &cert));
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        root.key().public_key()
    );
}
