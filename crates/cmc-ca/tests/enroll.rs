//! The policy-driven issuance cycle (`Engine::issue`): certificates from
//! P-256, P-384 and RSA-3072-PSS CAs checked with OpenSSL and pkilint, CA
//! powers asked for in a CSR dropped and named in the audit log, failures
//! after the reservation leaving a failed serial and no certificate,
//! profiles a CA may not use refused and audited, and concurrent issuance.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use cmc_ca::config::CaSettings;
use cmc_ca::{Engine, EngineConfig, Error, Issued, LoadedCa};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_policy::{DropReason, ProfileSet, Request};
use cmc_store::{
    AuditFilter, AuditKind, AuditRecord, CertFilter, CertRecord, CertState, CertStatus, Outcome,
    PageRequest,
};
use common::{Env, openssl, p, pkilint_available, pkilint_clean};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE, ID_CE_NAME_CONSTRAINTS, ID_CE_SUBJECT_ALT_NAME,
};
use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const P384: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha384);
const PSS: SignatureScheme = SignatureScheme::RsaPss(HashAlg::Sha256);

fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

fn san(dns: &str) -> Extension {
    ext(
        ID_CE_SUBJECT_ALT_NAME,
        false,
        &SubjectAltName(vec![GeneralName::DnsName(Ia5String::new(dns).unwrap())]),
    )
}

/// A PKCS #10 request from a fresh P-256 key, as the policy reads it, and
/// its DER.
fn csr(subject: &str, extensions: Vec<Extension>) -> (Request, Vec<u8>) {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let req = cmc_codec::build_csr(&key, Name::from_str(subject).unwrap(), extensions).unwrap();
    (Request::from_cert_req(&req).unwrap(), req.to_der().unwrap())
}

fn certs(env: &Env, ca: &str) -> Vec<CertRecord> {
    env.store
        .list_certs(
            &CertFilter {
                issuer: Some(ca.into()),
                ..CertFilter::default()
            },
            PageRequest::first(1000),
        )
        .unwrap()
        .items
}

fn audit(env: &Env, ca: &str) -> Vec<AuditRecord> {
    env.store
        .list_audit(
            &AuditFilter {
                issuer: Some(ca.into()),
                ..AuditFilter::default()
            },
            PageRequest::first(1000),
        )
        .unwrap()
        .items
}

/// The audit events of `ca` other than its own creation.
fn issuance_events(env: &Env, ca: &str) -> Vec<AuditRecord> {
    audit(env, ca)
        .into_iter()
        .filter(|r| r.event.kind != AuditKind::CaAdded)
        .collect()
}

/// An engine over the environment's store and clock with `config`.
fn engine_with(env: &Env, config: EngineConfig) -> Engine {
    Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap()
}

fn check_stored(env: &Env, ca: &str, issued: &Issued, request_der: &[u8], profile: &str) {
    let record = env.store.get_cert(ca, &issued.serial).unwrap().unwrap();
    assert_eq!(record.status(), CertStatus::Issued);
    assert_eq!(record.profile, profile);
    assert_eq!(record.requester, "tester");
    assert_eq!(record.request_hash, Sha256::digest(request_der).to_vec());
    let stored = record.certificate().unwrap();
    assert_eq!(stored.cert_der, issued.der);
    assert_eq!(stored.subject, issued.decision.subject);
    assert_eq!(stored.sans, issued.decision.subject_alt_names);
    // The TBS recorded before signing is the one in the certificate.
    assert_eq!(
        record.tbs_der.as_deref(),
        Some(&issued.certificate.tbs_certificate().to_der().unwrap()[..])
    );
    assert_eq!(
        Certificate::from_der(&issued.der).unwrap(),
        issued.certificate
    );
}

#[test]
fn issued_certificates_verify_with_openssl_and_pkilint() {
    let env = Env::new();
    let lint = pkilint_available("issued_certificates_verify_with_openssl_and_pkilint");
    for (name, spec, scheme) in [
        ("ca-p256", KeySpec::P256, P256),
        ("ca-p384", KeySpec::P384, P384),
        ("ca-rsa-pss", KeySpec::Rsa3072, PSS),
    ] {
        let ca = env.create(name, spec, scheme, None, 3650);
        let (request, der) = csr(
            "CN=leaf.example.test,O=Example",
            vec![san("leaf.example.test")],
        );
        let issued = env
            .engine
            .issue(name, None, &request, "tester", &der)
            .unwrap();
        assert_eq!(issued.decision.profile, "default");
        assert_eq!(
            issued.certificate.signature_algorithm(),
            ca.key().signature_algorithm(),
            "{name}"
        );
        check_stored(&env, name, &issued, &der, "default");

        let ca_pem = env.write_cert(&format!("{name}.pem"), ca.certificate_der());
        let leaf_pem = env.write_cert(&format!("{name}-leaf.pem"), &issued.der);
        let out = openssl(&[
            "verify",
            "-x509_strict",
            "-CAfile",
            p(&ca_pem),
            p(&leaf_pem),
        ]);
        assert!(out.contains(": OK"), "{name}: {out}");
        if lint {
            pkilint_clean("lint_pkix_cert", &[], &leaf_pem);
        }

        // One audit event, naming serial, profile, requester and carrying
        // the decision as JSON.
        let events = issuance_events(&env, name);
        assert_eq!(events.len(), 1, "{name}: {events:?}");
        let e = &events[0].event;
        assert_eq!(e.kind, AuditKind::Issued);
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(e.serial.as_ref(), Some(&issued.serial));
        assert_eq!(e.profile.as_deref(), Some("default"));
        assert_eq!(e.requester.as_deref(), Some("tester"));
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
        assert_eq!(
            detail["decision"],
            serde_json::to_value(&issued.decision).unwrap()
        );
        assert_eq!(
            detail["request_sha256"].as_str().unwrap().len(),
            64,
            "{detail}"
        );
    }
}

#[test]
fn ca_powers_asked_for_are_dropped_and_named_in_the_audit_event() {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let (request, der) = csr(
        "CN=greedy.example.test",
        vec![
            ext(
                ID_CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(2),
                },
            ),
            ext(
                ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign),
            ),
            // NameConstraints { permittedSubtrees [0] { { dNSName "example.com" } } }
            Extension {
                extn_id: ID_CE_NAME_CONSTRAINTS,
                critical: true,
                extn_value: OctetString::new(&b"\x30\x11\xa0\x0f\x30\x0d\x82\x0bexample.com"[..])
                    .unwrap(),
            },
            san("greedy.example.test"),
        ],
    );
    let issued = env
        .engine
        .issue("ca", None, &request, "tester", &der)
        .unwrap();
    let tbs = issued.certificate.tbs_certificate();
    let (_, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(!bc.ca && bc.path_len_constraint.is_none());
    let (_, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(!ku.0.contains(KeyUsages::KeyCertSign));
    assert!(!ku.0.contains(KeyUsages::CRLSign));
    let ids: Vec<_> = tbs
        .extensions()
        .unwrap()
        .iter()
        .map(|e| e.extn_id)
        .collect();
    assert!(!ids.contains(&ID_CE_NAME_CONSTRAINTS), "{ids:?}");

    let reasons: std::collections::HashSet<DropReason> =
        issued.decision.dropped.iter().map(|d| d.reason).collect();
    for r in [
        DropReason::CaBasicConstraints,
        DropReason::CaKeyUsage,
        DropReason::CaOnlyExtension,
    ] {
        assert!(
            reasons.contains(&r),
            "{r:?} in {:?}",
            issued.decision.dropped
        );
    }
    let events = issuance_events(&env, "ca");
    assert_eq!(events.len(), 1);
    let detail: serde_json::Value = serde_json::from_str(&events[0].event.detail).unwrap();
    let dropped = detail["decision"]["dropped"].as_array().unwrap();
    let named: Vec<(&str, &str)> = dropped
        .iter()
        .map(|d| (d["item"].as_str().unwrap(), d["reason"].as_str().unwrap()))
        .collect();
    assert!(
        named.contains(&("basicConstraints cA=TRUE", "ca_basic_constraints")),
        "{named:?}"
    );
    assert!(
        named
            .iter()
            .any(|(item, reason)| item.contains("keyCertSign") && *reason == "ca_key_usage"),
        "{named:?}"
    );
    assert!(
        named.iter().any(
            |(item, reason)| item.contains("nameConstraints") && *reason == "ca_only_extension"
        ),
        "{named:?}"
    );
}

/// A key that opens like the CA's, but whose signatures fail or are wrong.
#[derive(Debug)]
struct BrokenKey {
    inner: Arc<dyn SigningKey>,
    garbage: bool,
}

impl SigningKey for BrokenKey {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        self.inner.public_key()
    }

    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        self.inner.signature_algorithm()
    }

    fn hash(&self) -> HashAlg {
        self.inner.hash()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, cmc_keys::Error> {
        if self.garbage {
            // A well-formed signature, over other bytes.
            let mut other = message.to_vec();
            other.push(0);
            self.inner.sign(&other)
        } else {
            Err(cmc_keys::Error::Sign("token removed".into()))
        }
    }
}

fn broken(ca: &LoadedCa, garbage: bool) -> LoadedCa {
    LoadedCa::with_key(
        ca.record().clone(),
        ca.key_config().clone(),
        Arc::new(BrokenKey {
            inner: Arc::clone(ca.key()),
            garbage,
        }),
    )
    .unwrap()
}

#[test]
fn a_key_failure_leaves_a_failed_serial_and_no_certificate() {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    for (garbage, expect) in [(false, "token removed"), (true, "does not verify")] {
        let (request, der) = csr("CN=victim.example.test", vec![san("victim.example.test")]);
        let err = env
            .engine
            .issue_with_ca(&broken(&ca, garbage), None, &request, "tester", &der)
            .unwrap_err();
        match (&err, garbage) {
            (Error::Key(_), false) | (Error::BadCaSignature { .. }, true) => {}
            _ => panic!("unexpected error {err:?}"),
        }
        assert!(err.to_string().contains(expect), "{err}");
    }
    let records = certs(&env, "ca");
    assert_eq!(records.len(), 2);
    for r in &records {
        assert!(
            matches!(&r.state, CertState::Failed { .. }),
            "{:?}",
            r.state
        );
        assert!(r.certificate().is_none());
        // The TBS was recorded before signing, and stays for the record.
        assert!(r.tbs_der.is_some());
    }
    let events = issuance_events(&env, "ca");
    assert_eq!(events.len(), 2);
    for (e, r) in events.iter().zip(&records) {
        assert_eq!(e.event.outcome, Outcome::Failure);
        assert_eq!(e.event.kind, AuditKind::Issued);
        assert_eq!(e.event.serial.as_ref(), Some(&r.serial));
    }
    // The CA still issues with its real key.
    let (request, der) = csr("CN=after.example.test", vec![san("after.example.test")]);
    env.engine
        .issue("ca", None, &request, "tester", &der)
        .unwrap();
    assert_eq!(
        certs(&env, "ca")
            .iter()
            .filter(|r| r.status() == CertStatus::Issued)
            .count(),
        1
    );
}

#[test]
fn profiles_a_ca_may_not_use_are_refused_and_audited() {
    let env = Env::new();
    env.create("narrow", KeySpec::P256, P256, None, 365);
    env.create("wide", KeySpec::P256, P256, None, 365);
    let profiles = ProfileSet::from_toml(
        "[profile.tls]\nextended_key_usage = [\"serverAuth\"]\n\
         [profile.strict]\nsubject.require_cn = true\n",
    )
    .unwrap();
    let config = EngineConfig {
        profiles,
        cas: [(
            "narrow".to_owned(),
            CaSettings {
                profiles: vec!["tls".into(), "strict".into()],
                default_profile: Some("tls".into()),
                ..CaSettings::default()
            },
        )]
        .into_iter()
        .collect(),
        ..EngineConfig::default()
    };
    let engine = engine_with(&env, config.clone());
    let (request, der) = csr("CN=x.example.test", vec![san("x.example.test")]);

    let err = engine
        .issue("narrow", Some("default"), &request, "tester", &der)
        .unwrap_err();
    assert!(
        matches!(&err, Error::ProfileNotAllowed { ca, profile } if ca == "narrow" && profile == "default"),
        "{err:?}"
    );
    let err = engine
        .issue("narrow", Some("nonexistent"), &request, "tester", &der)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Policy(cmc_policy::Error::UnknownProfile(_))),
        "{err:?}"
    );
    // Nothing was reserved, and both refusals are audited.
    assert!(certs(&env, "narrow").is_empty());
    let events = issuance_events(&env, "narrow");
    assert_eq!(events.len(), 2, "{events:?}");
    for (e, profile) in events.iter().zip(["default", "nonexistent"]) {
        assert_eq!(e.event.kind, AuditKind::Refused);
        assert_eq!(e.event.outcome, Outcome::Failure);
        assert_eq!(e.event.profile.as_deref(), Some(profile));
        assert_eq!(e.event.serial, None);
    }

    // The default of the narrow CA is its `tls`; the wide CA (no section)
    // may use every profile.
    let issued = engine
        .issue("narrow", None, &request, "tester", &der)
        .unwrap();
    assert_eq!(issued.decision.profile, "tls");
    assert_eq!(issued.decision.extended_key_usage, ["serverAuth"]);
    let issued = engine
        .issue("wide", Some("tls"), &request, "tester", &der)
        .unwrap();
    check_stored(&env, "wide", &issued, &der, "tls");

    // A profile refusal after the reservation: the serial is failed, no
    // certificate, and the refusal names its reason.
    let (no_cn, der) = csr("O=Nobody", vec![san("nobody.example.test")]);
    let err = engine
        .issue("narrow", Some("strict"), &no_cn, "tester", &der)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Policy(cmc_policy::Error::Refused { .. })),
        "{err:?}"
    );
    let failed: Vec<_> = certs(&env, "narrow")
        .into_iter()
        .filter(|r| r.status() == CertStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    let last = issuance_events(&env, "narrow").pop().unwrap().event;
    assert_eq!(last.kind, AuditKind::Refused);
    assert_eq!(last.serial.as_ref(), Some(&failed[0].serial));
    let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap();
    assert_eq!(detail["refusals"][0], "missing_common_name", "{detail}");

    // A CA section naming an unknown profile refuses to load.
    let mut bad = config;
    bad.cas
        .get_mut("narrow")
        .unwrap()
        .profiles
        .push("gone".into());
    let err = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), bad).unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("gone")),
        "{err}"
    );
}

#[test]
fn an_expired_ca_issues_nothing() {
    let env = Env::new();
    env.create("short", KeySpec::P256, P256, None, 1);
    env.clock.advance(2 * 86_400);
    let (request, der) = csr("CN=late.example.test", vec![san("late.example.test")]);
    let err = env
        .engine
        .issue("short", None, &request, "tester", &der)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Policy(cmc_policy::Error::Refused { .. })),
        "{err:?}"
    );
    let records = certs(&env, "short");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status(), CertStatus::Failed);
    assert!(matches!(
        env.engine.issue("missing", None, &request, "tester", &der),
        Err(Error::UnknownCa(_))
    ));
}

#[test]
fn concurrent_issuance_never_shares_a_serial() {
    let env = Env::new();
    env.create("busy", KeySpec::P256, P256, None, 365);
    let (request, der) = csr("CN=many.example.test", vec![san("many.example.test")]);
    let serials: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    (0..50)
                        .map(|_| {
                            env.engine
                                .issue("busy", None, &request, "tester", &der)
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
    assert_eq!(serials.len(), 100);
    let distinct: BTreeSet<_> = serials.iter().cloned().collect();
    assert_eq!(distinct.len(), 100);
    let records = certs(&env, "busy");
    assert_eq!(records.len(), 100);
    assert!(records.iter().all(|r| r.status() == CertStatus::Issued));
    let stored: BTreeSet<_> = records.into_iter().map(|r| r.serial).collect();
    assert_eq!(stored, distinct);
}
