//! Client credentials and authorisation decisions: role, grants, expiry
//! (by moving the clock), disabling and revocation of the credential.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cmc_ca::{
    Action, Authorization, ClientCredential, ClientCredentialRequest, DenyReason, Error, authorize,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_store::{ClientRole, ClientStore, Grant, NewClient, RevocationReason, Scope};
use common::{Env, openssl, p, pkilint_available, pkilint_clean};
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const P384: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha384);

fn named(ca: &str, profile: &str) -> Grant {
    let scope = |s: &str| {
        if s == "*" {
            Scope::Any
        } else {
            Scope::Named(s.into())
        }
    };
    Grant {
        ca: scope(ca),
        profile: scope(profile),
    }
}

fn credential(
    env: &Env,
    ca: &str,
    id: &str,
    role: ClientRole,
    grants: Vec<Grant>,
    days: u32,
) -> ClientCredential {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    env.engine
        .issue_client_credential(&ClientCredentialRequest {
            names: None,
            ca: ca.into(),
            client_id: id.into(),
            subject: format!("CN={id},O=cmc-ca tests,C=SE"),
            public_key: key.public_key().clone(),
            role,
            grants,
            validity_days: days,
            requester: "test-admin".into(),
            mac: None,
        })
        .unwrap()
}

/// A root and an issuing CA under it.
fn setup() -> Env {
    let env = Env::new();
    env.create("root", KeySpec::P384, P384, None, 3650);
    env.create("issuing", KeySpec::P256, P256, Some("root"), 1825);
    env
}

fn denied(d: Authorization) -> DenyReason {
    match d {
        Authorization::Denied(r) => r,
        Authorization::Allowed(c) => panic!("allowed: {c:?}"),
    }
}

#[test]
fn an_ra_credential_verifies_and_carries_the_cmc_ra_eku() {
    let env = setup();
    let ra = credential(
        &env,
        "issuing",
        "ra-1",
        ClientRole::Ra,
        vec![named("issuing", "tls")],
        365,
    );
    assert_eq!(ra.client.id, "ra-1");
    assert_eq!(ra.client.role, ClientRole::Ra);
    assert_eq!(
        ra.client.fingerprint,
        cmc_store::fingerprint(&ra.certificate_der)
    );
    assert_eq!(
        env.store.get_client("ra-1").unwrap().unwrap().cert_der,
        ra.certificate_der
    );

    let cert = Certificate::from_der(&ra.certificate_der).unwrap();
    let tbs = cert.tbs_certificate();
    let (_, eku) = tbs.get_extension::<ExtendedKeyUsage>().unwrap().unwrap();
    assert_eq!(
        eku.0,
        vec![
            const_oid::db::rfc5280::ID_KP_CLIENT_AUTH,
            cmc_asn1::oid::ID_KP_CMC_RA
        ]
    );
    let (critical, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(critical && ku.digital_signature() && !ku.key_cert_sign());
    let (critical, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && !bc.ca);

    let root = env.write_cert("root.pem", env.engine.ca("root").unwrap().certificate_der());
    let issuing = env.write_cert(
        "issuing.pem",
        env.engine.ca("issuing").unwrap().certificate_der(),
    );
    let ra_pem = env.write_cert("ra.pem", &ra.certificate_der);
    let out = openssl(&[
        "verify",
        "-x509_strict",
        "-purpose",
        "sslclient",
        "-CAfile",
        p(&root),
        "-untrusted",
        p(&issuing),
        p(&ra_pem),
    ]);
    assert!(out.contains(": OK"), "{out}");
    let text = openssl(&["x509", "-in", p(&ra_pem), "-noout", "-text"]);
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(
        text.contains("CMC Registration Authority") || text.contains("1.3.6.1.5.5.7.3.28"),
        "{text}"
    );

    // An end-entity client gets clientAuth only.
    let client = credential(
        &env,
        "issuing",
        "c-1",
        ClientRole::Client,
        vec![named("*", "*")],
        30,
    );
    let cert = Certificate::from_der(&client.certificate_der).unwrap();
    let (_, eku) = cert
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
        .unwrap()
        .unwrap();
    assert_eq!(eku.0, vec![const_oid::db::rfc5280::ID_KP_CLIENT_AUTH]);

    if pkilint_available("an_ra_credential_verifies_and_carries_the_cmc_ra_eku") {
        pkilint_clean("lint_pkix_cert", &[], &ra_pem);
    }
}

#[test]
fn roles_cas_and_profiles() {
    let env = setup();
    let ra = credential(
        &env,
        "issuing",
        "ra",
        ClientRole::Ra,
        vec![named("issuing", "tls"), named("issuing", "smime")],
        365,
    );
    let client = credential(
        &env,
        "issuing",
        "ee",
        ClientRole::Client,
        vec![named("*", "tls")],
        365,
    );
    let agent = credential(
        &env,
        "issuing",
        "agent",
        ClientRole::Agent,
        vec![named("issuing", "*")],
        365,
    );
    let e = &env.engine;

    let d = e
        .authorize(
            &ra.certificate_der,
            "issuing",
            "tls",
            Action::EnrollOnBehalf,
        )
        .unwrap();
    match &d {
        Authorization::Allowed(c) => assert_eq!(c.id, "ra"),
        Authorization::Denied(r) => panic!("{r}"),
    }
    assert!(
        e.authorize(&ra.certificate_der, "issuing", "smime", Action::Revoke)
            .unwrap()
            .is_allowed()
    );
    // Wrong profile.
    assert_eq!(
        denied(
            e.authorize(&ra.certificate_der, "issuing", "codesign", Action::Enroll)
                .unwrap()
        ),
        DenyReason::ProfileNotGranted {
            ca: "issuing".into(),
            profile: "codesign".into()
        }
    );
    // Wrong CA.
    assert_eq!(
        denied(
            e.authorize(&ra.certificate_der, "root", "tls", Action::EnrollOnBehalf)
                .unwrap()
        ),
        DenyReason::CaNotGranted { ca: "root".into() }
    );
    // Wrong role: an end entity may not act for others, nor revoke, nor
    // decide; an RA may not decide; an agent may not enroll.
    for (cred, action, role) in [
        (&client, Action::EnrollOnBehalf, ClientRole::Client),
        (&client, Action::Revoke, ClientRole::Client),
        (&client, Action::DecidePending, ClientRole::Client),
        (&ra, Action::DecidePending, ClientRole::Ra),
        (&agent, Action::Enroll, ClientRole::Agent),
    ] {
        assert_eq!(
            denied(
                e.authorize(&cred.certificate_der, "issuing", "tls", action)
                    .unwrap()
            ),
            DenyReason::WrongRole { role, action }
        );
    }
    // The wildcard CA grant of the end entity covers both CAs, for "tls".
    assert!(
        e.authorize(&client.certificate_der, "root", "tls", Action::Enroll)
            .unwrap()
            .is_allowed()
    );
    assert!(
        e.authorize(
            &agent.certificate_der,
            "issuing",
            "anything",
            Action::DecidePending
        )
        .unwrap()
        .is_allowed()
    );
    // Unknown CA is an error, not a decision.
    assert!(matches!(
        e.authorize(&ra.certificate_der, "nope", "tls", Action::Enroll),
        Err(Error::UnknownCa(_))
    ));
    // An unregistered certificate, and bytes that are no certificate.
    let unregistered = env.engine.ca("root").unwrap().certificate_der().to_vec();
    assert_eq!(
        denied(
            e.authorize(&unregistered, "issuing", "tls", Action::Enroll)
                .unwrap()
        ),
        DenyReason::UnknownClient
    );
    assert!(matches!(
        denied(
            e.authorize(b"junk", "issuing", "tls", Action::Enroll)
                .unwrap()
        ),
        DenyReason::BadCertificate(_)
    ));
}

#[test]
fn disabled_and_expired_clients_are_refused() {
    let env = setup();
    let ra = credential(
        &env,
        "issuing",
        "ra",
        ClientRole::Ra,
        vec![named("*", "*")],
        30,
    );
    let e = &env.engine;
    assert!(
        e.authorize(&ra.certificate_der, "issuing", "tls", Action::Enroll)
            .unwrap()
            .is_allowed()
    );

    // The registration expires with the certificate: at its notAfter the
    // certificate itself is still (just) valid, the registration no more.
    let expires = ra.client.expires_at.unwrap();
    assert_eq!(expires.secs() - ra.client.created_at.secs(), 30 * 86_400);
    env.clock.set(expires.plus_secs(-1));
    assert!(
        e.authorize(&ra.certificate_der, "issuing", "tls", Action::Enroll)
            .unwrap()
            .is_allowed()
    );
    env.clock.set(expires);
    assert_eq!(
        denied(
            e.authorize(&ra.certificate_der, "issuing", "tls", Action::Enroll)
                .unwrap()
        ),
        DenyReason::Expired { at: expires }
    );
    // Past it, the certificate is not valid either.
    env.clock.advance(1);
    assert!(matches!(
        denied(
            e.authorize(&ra.certificate_der, "issuing", "tls", Action::Enroll)
                .unwrap()
        ),
        DenyReason::CertificateNotValid { .. }
    ));

    // A client registered with an externally issued certificate and an
    // earlier expiry of its own.
    env.clock.set(ra.client.created_at);
    let other = credential(
        &env,
        "issuing",
        "tmp",
        ClientRole::Client,
        vec![named("*", "*")],
        30,
    );
    let short_lived = env
        .store
        .add_client(
            &NewClient {
                id: "external".into(),
                // Any certificate will do; its fingerprint is what counts.
                cert_der: env.engine.ca("issuing").unwrap().certificate_der().to_vec(),
                subject: cmc_ca::x509::client_subject(
                    env.engine.ca("issuing").unwrap().certificate_der(),
                )
                .unwrap(),
                names: None,
                role: ClientRole::Client,
                grants: vec![named("*", "*")],
                expires_at: Some(env.engine.now().plus_secs(3600)),
                mac: None,
            },
            env.engine.now(),
        )
        .unwrap();
    let cert = short_lived.cert_der.clone();
    assert!(
        e.authorize(&cert, "issuing", "tls", Action::Enroll)
            .unwrap()
            .is_allowed()
    );
    env.clock.advance(3600);
    assert_eq!(
        denied(
            e.authorize(&cert, "issuing", "tls", Action::Enroll)
                .unwrap()
        ),
        DenyReason::Expired {
            at: short_lived.expires_at.unwrap()
        }
    );

    // Disabled.
    env.store.disable_client("tmp", env.engine.now()).unwrap();
    assert_eq!(
        denied(
            e.authorize(&other.certificate_der, "issuing", "tls", Action::Enroll)
                .unwrap()
        ),
        DenyReason::Disabled {
            at: env.engine.now()
        }
    );
}

#[test]
fn a_revoked_credential_is_refused() {
    let env = setup();
    let ra = credential(
        &env,
        "issuing",
        "ra",
        ClientRole::Ra,
        vec![named("*", "*")],
        30,
    );
    env.clock.advance(10);
    env.engine
        .revoke(
            "issuing",
            &ra.serial,
            RevocationReason::KeyCompromise,
            None,
            "test-admin",
        )
        .unwrap();
    assert_eq!(
        denied(
            env.engine
                .authorize(&ra.certificate_der, "issuing", "tls", Action::Enroll)
                .unwrap()
        ),
        DenyReason::CertificateRevoked {
            issuer: "issuing".into(),
            serial: ra.serial.clone()
        }
    );
    // The store-only check does not know about revocation, only about the
    // registration.
    let store: &dyn ClientStore = env.store.as_ref();
    assert!(
        authorize(
            store,
            env.engine.now(),
            &ra.certificate_der,
            "issuing",
            "tls",
            Action::Enroll
        )
        .unwrap()
        .is_allowed()
    );
}

#[test]
fn credential_requests_are_checked() {
    let env = setup();
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let base = ClientCredentialRequest {
        names: None,
        ca: "issuing".into(),
        client_id: "ra".into(),
        subject: "CN=ra".into(),
        public_key: key.public_key().clone(),
        role: ClientRole::Ra,
        grants: vec![named("issuing", "*")],
        validity_days: 10,
        requester: "test-admin".into(),
        mac: None,
    };
    env.engine.issue_client_credential(&base).unwrap();
    // A taken id is refused before anything is signed.
    let before = env
        .store
        .list_certs(&Default::default(), Default::default())
        .unwrap()
        .items
        .len();
    assert!(matches!(
        env.engine.issue_client_credential(&base),
        Err(Error::Store(cmc_store::Error::AlreadyExists(_)))
    ));
    let after = env
        .store
        .list_certs(&Default::default(), Default::default())
        .unwrap()
        .items
        .len();
    assert_eq!(before, after);
    let with = |f: &dyn Fn(&mut ClientCredentialRequest)| {
        let mut r = base.clone();
        r.client_id = "other".into();
        f(&mut r);
        env.engine.issue_client_credential(&r)
    };
    assert!(matches!(
        with(&|r| r.grants.clear()),
        Err(Error::InvalidRequest(_))
    ));
    assert!(matches!(
        with(&|r| r.grants = vec![named("nope", "*")]),
        Err(Error::UnknownCa(_))
    ));
    assert!(matches!(
        with(&|r| r.validity_days = 0),
        Err(Error::InvalidRequest(_))
    ));
    assert!(matches!(
        with(&|r| r.ca = "nope".into()),
        Err(Error::UnknownCa(_))
    ));
    assert!(matches!(
        with(&|r| r.subject = "garbage".into()),
        Err(Error::InvalidSubject { .. })
    ));
    // A long request is cut at the CA's notAfter.
    let long = with(&|r| r.validity_days = 100_000).unwrap();
    assert_eq!(
        long.client.expires_at,
        Some(env.engine.ca("issuing").unwrap().not_after())
    );
}

/// A client's credential replaced (rotation): the new certificate has the
/// old subject and is the client's; the old one no longer identifies it
/// and, when asked, is revoked; a disabled or unknown client gets none.
#[test]
fn a_replaced_credential_takes_over_and_the_old_one_is_out() {
    use cmc_ca::ReplaceCredentialRequest;
    use cmc_store::{AuditFilter, AuditKind, PageRequest};

    let env = setup();
    let old = credential(
        &env,
        "issuing",
        "ra",
        ClientRole::Ra,
        vec![named("issuing", "*")],
        30,
    );
    let e = &env.engine;
    let allowed = |cert: &[u8]| {
        e.authorize(cert, "issuing", "tls", Action::EnrollOnBehalf)
            .unwrap()
    };
    assert!(allowed(&old.certificate_der).is_allowed());
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut req = ReplaceCredentialRequest {
        client_id: "ra".into(),
        ca: None,
        public_key: key.public_key().clone(),
        validity_days: 90,
        revoke_previous: true,
        requester: "test-admin".into(),
    };
    let new = e.replace_client_credential(&req).unwrap();
    let (old_cert, new_cert) = (
        Certificate::from_der(&old.certificate_der).unwrap(),
        Certificate::from_der(&new.certificate_der).unwrap(),
    );
    assert_eq!(
        new_cert.tbs_certificate().subject(),
        old_cert.tbs_certificate().subject()
    );
    assert_eq!(
        new_cert.tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
    assert_eq!(new.client.role, ClientRole::Ra);
    assert_eq!(new.client.grants, old.client.grants);
    assert_eq!(new.client.cert_der, new.certificate_der);
    assert!(new.client.expires_at > old.client.expires_at);
    // The new certificate is the client; the old one is nobody, and revoked.
    match allowed(&new.certificate_der) {
        Authorization::Allowed(c) => assert_eq!(c.id, "ra"),
        Authorization::Denied(r) => panic!("{r}"),
    }
    assert!(!allowed(&old.certificate_der).is_allowed());
    assert_eq!(
        env.store.is_revoked("issuing", &old.serial).unwrap(),
        Some(true)
    );
    let events = env
        .store
        .list_audit(
            &AuditFilter {
                kind: Some(AuditKind::ClientCredentialReplaced),
                ..AuditFilter::default()
            },
            PageRequest::first(10),
        )
        .unwrap()
        .items;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.serial.as_ref(), Some(&new.serial));
    assert_eq!(events[0].event.requester.as_deref(), Some("test-admin"));

    // Unknown and disabled clients get nothing, and nothing is issued.
    let count = || {
        env.store
            .list_certs(&Default::default(), Default::default())
            .unwrap()
            .items
            .len()
    };
    let before = count();
    req.client_id = "nobody".into();
    assert!(matches!(
        e.replace_client_credential(&req),
        Err(Error::Store(cmc_store::Error::NotFound(_)))
    ));
    req.client_id = "ra".into();
    env.store.disable_client("ra", e.now()).unwrap();
    assert!(matches!(
        e.replace_client_credential(&req),
        Err(Error::InvalidRequest(_))
    ));
    assert_eq!(count(), before);
}
