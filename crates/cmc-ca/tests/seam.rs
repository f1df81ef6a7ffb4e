//! The engine's seam without any protocol crate: principals resolved from
//! a certificate and from a one-time secret presented in clear, then
//! `Engine::enroll` issuing, holding for approval, refusing; revocation by
//! principal. What every front door (CMC, EST, CMP) builds on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;
use std::sync::Arc;

use cmc_ca::{
    Approval, Clock, Engine, EngineConfig, EnrollSecret, Enrolled, EnrollmentRequest,
    PendingStatus, PrincipalKind, ProofOfPossession, Reason, RequestForm, RevocationReason,
    RevocationRequest,
};
use cmc_codec::identity::ProofHash;
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme};
use cmc_policy::ProfileSet;
use cmc_store::ClientRole;
use common::Env;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

/// A PKCS #10 request for `subject` from a fresh P-256 key.
fn csr(subject: &str) -> (RequestForm, Vec<u8>) {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let req = cmc_codec::build_csr(&key, Name::from_str(subject).unwrap(), vec![]).unwrap();
    let der = req.to_der().unwrap();
    (
        RequestForm::Pkcs10 {
            reference: 1,
            csr: Box::new(req),
        },
        der,
    )
}

fn engine_with(env: &Env, profiles: &str) -> Engine {
    Engine::load(
        Arc::clone(&env.store),
        Arc::new(env.clock.clone()),
        EngineConfig {
            profiles: ProfileSet::from_toml(profiles).unwrap(),
            ..EngineConfig::default()
        },
    )
    .unwrap()
}

fn issued(enrolled: Enrolled) -> Certificate {
    match enrolled {
        Enrolled::Issued(issued) => issued.certificate,
        other => panic!("not issued: {other:?}"),
    }
}

#[test]
fn an_ra_enrolls_for_others_and_a_client_only_within_its_names() {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let engine = &env.engine;
    let (_, ra) = common::credential(engine, "ca", "ra1", "CN=RA One", ClientRole::Ra);
    let ra_cert = Certificate::from_der(&ra.certificate_der).unwrap();
    let ra = engine.principal_by_certificate("ca", &ra_cert).unwrap();
    assert_eq!(ra.kind(), PrincipalKind::Ra);
    assert_eq!(ra.requester(), "ra1");

    let (form, raw) = csr("CN=device.example.com");
    let cert = issued(
        engine
            .enroll(EnrollmentRequest {
                ca: "ca",
                principal: &ra,
                form,
                pop: ProofOfPossession::RaVerified,
                raw: &raw,
                replay: None,
            })
            .unwrap(),
    );
    assert_eq!(
        cert.tbs_certificate().subject().to_string(),
        "CN=device.example.com"
    );

    // An RA may not take the subject reserved for the CA itself.
    let ca_subject = engine.ca("ca").unwrap().subject().to_string();
    let (form, raw) = csr(&ca_subject);
    let refused = engine
        .enroll(EnrollmentRequest {
            ca: "ca",
            principal: &ra,
            form,
            pop: ProofOfPossession::Signature,
            raw: &raw,
            replay: None,
        })
        .unwrap_err();
    assert_eq!(refused.reason, Reason::BadRequest, "{refused}");

    // An end-entity client may not vouch for possession as an RA does.
    let (_, client) = common::credential(engine, "ca", "ee", "CN=ee", ClientRole::Client);
    let client_cert = Certificate::from_der(&client.certificate_der).unwrap();
    let client = engine.principal_by_certificate("ca", &client_cert).unwrap();
    let (form, raw) = csr("CN=ee");
    let refused = engine
        .enroll(EnrollmentRequest {
            ca: "ca",
            principal: &client,
            form,
            pop: ProofOfPossession::RaVerified,
            raw: &raw,
            replay: None,
        })
        .unwrap_err();
    assert_eq!(refused.reason, Reason::PopFailed, "{refused}");

    // A certificate nobody registered and the CA did not issue is nobody.
    let other = env.create("other", KeySpec::P256, P256, None, 365);
    let other = other.certificate().clone();
    let refused = engine.principal_by_certificate("ca", &other).unwrap_err();
    assert_eq!(refused.reason, Reason::BadIdentity);
}

#[test]
fn a_secret_in_clear_enrolls_once_and_wrong_ones_count() {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let engine = &env.engine;
    engine
        .add_enroll_secret(&EnrollSecret {
            ca: "ca".into(),
            identification: "device-7".into(),
            secret: "a very long one-time secret".to_owned().into(),
            hash: ProofHash::Sha256,
            profile: None,
            expires_at: env.clock.now().plus_secs(3600),
            requester: "test-admin".into(),
            names: None,
        })
        .unwrap();
    let wrong = engine
        .principal_by_password("ca", "device-7", b"not the secret at all")
        .unwrap_err();
    assert_eq!(wrong.reason, Reason::BadIdentity);
    // Unknown identifications get the same answer.
    let unknown = engine
        .principal_by_password("ca", "nobody", b"a very long one-time secret")
        .unwrap_err();
    assert_eq!(unknown, wrong);

    let owner = engine
        .principal_by_password("ca", "device-7", b"a very long one-time secret")
        .unwrap();
    assert_eq!(owner.kind(), PrincipalKind::SecretOwner);
    assert_eq!(owner.requester(), "secret:device-7");
    let (form, raw) = csr("CN=device-7");
    issued(
        engine
            .enroll(EnrollmentRequest {
                ca: "ca",
                principal: &owner,
                form,
                pop: ProofOfPossession::Signature,
                raw: &raw,
                replay: None,
            })
            .unwrap(),
    );
    // Spent: the secret still names its owner (who may ask after what it
    // was spent on), but it enrolls nothing more.
    let spent = engine
        .principal_by_password("ca", "device-7", b"a very long one-time secret")
        .unwrap();
    let (form, raw) = csr("CN=device-7");
    let refused = engine
        .enroll(EnrollmentRequest {
            ca: "ca",
            principal: &spent,
            form,
            pop: ProofOfPossession::Signature,
            raw: &raw,
            replay: None,
        })
        .unwrap_err();
    assert_eq!(refused.reason, Reason::BadIdentity, "{refused}");
    let failures = env
        .store
        .get_secret("ca", "device-7")
        .unwrap()
        .unwrap()
        .failed_attempts;
    assert_eq!(failures, 1, "one wrong secret counted");
}

#[test]
fn held_requests_are_issued_after_approval_and_holders_renew_only_themselves() {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let engine = engine_with(
        &env,
        "default_profile = \"held\"\n[profile.held]\nrequire_approval = true\n",
    );
    let (_, client) = common::credential(&engine, "ca", "ee", "CN=ee", ClientRole::Client);
    let client_cert = Certificate::from_der(&client.certificate_der).unwrap();
    let client = engine.principal_by_certificate("ca", &client_cert).unwrap();
    let (form, raw) = csr("CN=ee");
    let held = match engine
        .enroll(EnrollmentRequest {
            ca: "ca",
            principal: &client,
            form,
            pop: ProofOfPossession::Signature,
            raw: &raw,
            replay: None,
        })
        .unwrap()
    {
        Enrolled::Held(held) => held,
        other => panic!("not held: {other:?}"),
    };
    assert!(matches!(
        engine
            .query_pending("ca", "ee", held.token.as_bytes())
            .unwrap(),
        PendingStatus::Waiting(_)
    ));
    // Another requester learns nothing of it.
    let other = engine
        .query_pending("ca", "someone-else", held.token.as_bytes())
        .unwrap_err();
    assert_eq!(other.reason, Reason::BadRequest);
    let approved = engine
        .approve_pending(&held.token, "agent", &Approval::default())
        .unwrap();
    let PendingStatus::Issued(cert) = engine
        .query_pending("ca", "ee", held.token.as_bytes())
        .unwrap()
    else {
        panic!("not issued after approval");
    };
    assert_eq!(*cert, approved.certificate);

    // The holder of that certificate renews it, for its own subject only.
    let holder = engine.principal_by_certificate("ca", &cert).unwrap();
    assert_eq!(holder.kind(), PrincipalKind::Holder);
    let (form, raw) = csr("CN=somebody else");
    let refused = engine
        .enroll(EnrollmentRequest {
            ca: "ca",
            principal: &holder,
            form,
            pop: ProofOfPossession::Signature,
            raw: &raw,
            replay: None,
        })
        .unwrap_err();
    assert_eq!(refused.reason, Reason::BadIdentity, "{refused}");

    // It may revoke itself, and nothing else.
    let others = engine
        .revoke_as(
            "ca",
            &holder,
            &RevocationRequest {
                issuer: client_cert.tbs_certificate().issuer(),
                serial: client_cert.tbs_certificate().serial_number(),
                reason: RevocationReason::KeyCompromise,
                invalidity: None,
            },
        )
        .unwrap_err();
    assert_eq!(others.reason, Reason::NotAuthorized);
    engine
        .revoke_as(
            "ca",
            &holder,
            &RevocationRequest {
                issuer: cert.tbs_certificate().issuer(),
                serial: cert.tbs_certificate().serial_number(),
                reason: RevocationReason::Superseded,
                invalidity: None,
            },
        )
        .unwrap();
    // Revoked, it is nobody any more.
    let gone = engine.principal_by_certificate("ca", &cert).unwrap_err();
    assert_eq!(gone.reason, Reason::BadIdentity);
}

#[test]
fn anonymous_requests_need_the_cas_consent() {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let (form, raw) = csr("CN=anyone");
    let refused = env
        .engine
        .enroll_anonymous("ca", "peer 192.0.2.1", form, &raw)
        .unwrap_err();
    assert_eq!(refused.reason, Reason::NotAuthorized);
}

#[test]
fn a_nonce_is_spent_with_the_certificate_and_a_racing_copy_is_refused_at_commit() {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let engine = &env.engine;
    let (_, ra) = common::credential(engine, "ca", "ra1", "CN=RA One", ClientRole::Ra);
    let credential = ra.certificate_der.clone();
    let ra_cert = Certificate::from_der(&credential).unwrap();
    let ra = engine.principal_by_certificate("ca", &ra_cert).unwrap();
    let before = engine.write_stats();

    // Two copies of one message pass the early check: nothing is written
    // before their units.
    let first = engine
        .check_replay("ca", &credential, Some(b"nonce-1"), Some(b"tx-1"))
        .unwrap();
    let second = engine
        .check_replay("ca", &credential, Some(b"nonce-1"), Some(b"tx-1"))
        .unwrap();
    assert_eq!(engine.write_stats().units, before.units);

    let enroll = |replay| {
        let (form, raw) = csr("CN=device.example.com");
        engine.enroll(EnrollmentRequest {
            ca: "ca",
            principal: &ra,
            form,
            pop: ProofOfPossession::RaVerified,
            raw: &raw,
            replay: Some(replay),
        })
    };
    let cert = issued(enroll(&first).unwrap());
    // One unit: the certificate, its audit event, the nonce and the
    // transaction.
    assert_eq!(engine.write_stats().units, before.units + 1);
    assert!(
        env.store
            .get_transaction(&cmc_store::fingerprint(&credential), b"tx-1")
            .unwrap()
            .is_some()
    );
    // Nothing left to record for the first message.
    engine.record_replay("ca", &first).unwrap();
    assert_eq!(engine.write_stats().units, before.units + 1);

    // The second copy signs, but its unit finds the nonce spent: refused,
    // and nothing of it is stored.
    let refused = enroll(&second).unwrap_err();
    assert!(refused.is_replay(), "{refused}");
    let certs = env
        .store
        .find_certs_by_subject("CN=device.example.com")
        .unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(
        certs[0].certificate().unwrap().cert_der,
        cert.to_der().unwrap()
    );
    assert!(engine.record_replay("ca", &second).unwrap_err().is_replay());

    // Checked again later, the nonce is refused before any work.
    let refused = engine
        .check_replay("ca", &credential, Some(b"nonce-1"), None)
        .unwrap_err();
    assert!(refused.is_replay());
    // Unusable values are refused too.
    assert_eq!(
        engine
            .check_replay("ca", &credential, Some(b""), None)
            .unwrap_err()
            .detail,
        "unusable nonce"
    );
}
