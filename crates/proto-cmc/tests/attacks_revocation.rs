//! Who may revoke what (issue 13), through `CmcFrontDoor::handle_full`: a holder
//! revokes only the certificate that signs, an RA no credential, CA or
//! responder certificate (an agent may), every signer its own signing
//! certificate, a secret nothing; and a revoked credential is refused for
//! every control. Each answer is checked on the signed response and on the
//! store's revocations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use attack_support::{Party, Rig, SecretAsk, csr};
use cmc_asn1::{CmcFailInfo, CmcStatus, GetCert, GetCrl, QueryPending};
use cmc_keys::{FileKey, KeySpec};
use cmc_store::{ClientRole, Grant, NewClient, RevocationReason, Scope};
use der::Encode;
use der::asn1::OctetString;
use x509_cert::Certificate;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;

#[test]
fn an_ra_may_not_revoke_a_credential_or_a_ca_certificate_an_agent_may() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let agent = rig.client("agent", "CN=agent", ClientRole::Agent, None);
    let eve = rig.client("eve", "CN=eve", ClientRole::Client, None);
    let other_ra = rig.client("ra-2", "CN=ra two", ClientRole::Ra, None);
    let sub = rig.sub_ca("sub");
    let leaf = rig.enroll(&ra, "CN=leaf.example.test", &[]);

    let reply = rig.send(&ra, |b| {
        b.control(10, &rig.revoke_of(&eve.cert, CrlReason::KeyCompromise))
            .unwrap()
            .control(11, &rig.revoke_of(&other_ra.cert, CrlReason::KeyCompromise))
            .unwrap()
            .control(
                12,
                &rig.revoke_of(sub.certificate(), CrlReason::CaCompromise),
            )
            .unwrap()
            .control(13, &rig.revoke_of(&leaf.cert, CrlReason::KeyCompromise))
            .unwrap();
    });
    let bad = Some(CmcFailInfo::BadRequest);
    assert_eq!(
        rig.outcome(&reply),
        [
            (CmcStatus::Success, None, vec![13]),
            (CmcStatus::Failed, bad, vec![10]),
            (CmcStatus::Failed, bad, vec![11]),
            (CmcStatus::Failed, bad, vec![12]),
        ]
    );
    assert!(rig.is_revoked(&leaf.cert));
    for untouched in [&eve.cert, &other_ra.cert, sub.certificate()] {
        assert!(!rig.is_revoked(untouched));
    }
    assert_eq!(rig.revoked_count(), 1);

    // An agent revokes the credential and the CA certificate.
    rig.env.clock.advance(1);
    let reply = rig.send(&agent, |b| {
        b.control(20, &rig.revoke_of(&eve.cert, CrlReason::KeyCompromise))
            .unwrap()
            .control(
                21,
                &rig.revoke_of(sub.certificate(), CrlReason::CaCompromise),
            )
            .unwrap();
    });
    assert_eq!(
        rig.outcome(&reply),
        [(CmcStatus::Success, None, vec![20, 21])]
    );
    assert!(rig.is_revoked(&eve.cert));
    assert!(rig.is_revoked(sub.certificate()));
    assert!(!rig.is_revoked(&other_ra.cert));
    assert_eq!(rig.revoked_count(), 3);
}

#[test]
fn an_ra_may_not_revoke_the_cmc_responder_certificate() {
    let (rig, responder) = Rig::with_responders();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let reply = rig.send(&ra, |b| {
        b.control(10, &rig.revoke_of(&responder, CrlReason::KeyCompromise))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![10]));
    assert!(!rig.is_revoked(&responder));
    assert_eq!(rig.revoked_count(), 0);

    let agent = rig.client("agent", "CN=agent", ClientRole::Agent, None);
    let reply = rig.send(&agent, |b| {
        b.control(11, &rig.revoke_of(&responder, CrlReason::KeyCompromise))
            .unwrap();
    });
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![11])]);
    assert!(rig.is_revoked(&responder));
}

/// A certificate registered as a client's certificate (`client add
/// --cert`) is a credential even though it was issued for a request: an RA
/// may not revoke it; its own key may.
#[test]
fn an_ra_may_not_revoke_a_certificate_registered_as_a_client() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let device = rig.enroll(&ra, "CN=device.example.test", &[]);
    let der = device.cert.to_der().unwrap();
    rig.env
        .store
        .add_client(
            &NewClient {
                id: "device".into(),
                cert_der: der.clone(),
                subject: cmc_ca::x509::client_subject(&der).unwrap(),
                names: None,
                role: ClientRole::Client,
                grants: vec![Grant {
                    ca: Scope::Any,
                    profile: Scope::Any,
                }],
                expires_at: None,
                mac: None,
            },
            rig.now(),
        )
        .unwrap();
    let reply = rig.send(&ra, |b| {
        b.control(10, &rig.revoke_of(&device.cert, CrlReason::KeyCompromise))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![10]));
    assert!(!rig.is_revoked(&device.cert));
    let reply = rig.send(&device, |b| {
        b.control(11, &rig.revoke_of(&device.cert, CrlReason::KeyCompromise))
            .unwrap();
    });
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![11])]);
    assert!(rig.is_revoked(&device.cert));
}

#[test]
fn every_signer_may_revoke_its_own_signing_certificate() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let eve = rig.client("eve", "CN=eve", ClientRole::Client, None);
    let holder = rig.enroll(&ra, "CN=holder", &[]);
    for (signer, id) in [(&holder, 30), (&eve, 31), (&ra, 32)] {
        let reply = rig.send(signer, |b| {
            b.control(id, &rig.revoke_of(&signer.cert, CrlReason::KeyCompromise))
                .unwrap();
        });
        assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![id])]);
        assert!(rig.is_revoked(&signer.cert));
        rig.env.clock.advance(1);
    }
    assert_eq!(rig.revoked_count(), 3);
}

/// A holder proves the key of the certificate that signs, nothing else:
/// another certificate with the same subject is not its to revoke.
#[test]
fn a_holder_revokes_only_the_certificate_that_signs() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let mine = rig.enroll(&ra, "CN=twin", &[]);
    let twin = rig.enroll(&ra, "CN=twin", &[]);
    let reply = rig.send(&mine, |b| {
        b.control(40, &rig.revoke_of(&twin.cert, CrlReason::Superseded))
            .unwrap()
            .control(41, &rig.revoke_of(&ra.cert, CrlReason::KeyCompromise))
            .unwrap()
            .control(42, &rig.revoke_of(&mine.cert, CrlReason::Superseded))
            .unwrap();
    });
    let bad = Some(CmcFailInfo::BadRequest);
    assert_eq!(
        rig.outcome(&reply),
        [
            (CmcStatus::Success, None, vec![42]),
            (CmcStatus::Failed, bad, vec![40]),
            (CmcStatus::Failed, bad, vec![41]),
        ]
    );
    assert!(rig.is_revoked(&mine.cert));
    assert!(!rig.is_revoked(&twin.cert));
    assert!(!rig.is_revoked(&ra.cert));
    assert_eq!(rig.revoked_count(), 1);
}

/// An enrollment secret proves who may enroll, not who may revoke: its
/// revokeRequest is badRequest while its certification request is issued.
#[test]
fn a_secret_does_not_authorise_revocation() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let leaf = rig.enroll(&ra, "CN=leaf.example.test", &[]);
    rig.add_secret("alice", None, None);
    let (der, _) = rig.secret_request(&SecretAsk::default(), |b| {
        b.control(9, &rig.revoke_of(&leaf.cert, CrlReason::KeyCompromise))
            .unwrap();
    });
    let reply = rig.post(&der);
    assert_eq!(
        rig.outcome(&reply),
        [
            (CmcStatus::Success, None, vec![2]),
            (CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![9]),
        ]
    );
    assert!(!rig.is_revoked(&leaf.cert));
    assert_eq!(rig.issued().len(), 2);
}

/// A revoked (or held) client credential is nobody: every control it
/// signs, getCert, getCRL and queryPending included, is badIdentity for
/// the whole PKIData, unauthenticated.
#[test]
fn a_revoked_client_credential_is_refused_for_every_control() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let eve = rig.client("eve", "CN=eve", ClientRole::Client, None);
    let leaf = rig.enroll(&ra, "CN=leaf.example.test", &[]);
    let get_cert = |cert: &Certificate| GetCert {
        issuer_name: GeneralName::DirectoryName(rig.ca.subject().clone()),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    };
    let get_crl = GetCrl {
        issuer_name: rig.ca.subject().clone(),
        crl_name: None,
        time: None,
        reasons: None,
    };
    let key = FileKey::generate(KeySpec::P256).unwrap();
    type Build<'a> = Box<dyn Fn(&mut cmc_codec::RequestBuilder) + 'a>;
    let asks: Vec<(&str, Build<'_>)> = vec![
        (
            "getCert",
            Box::new(|b| {
                b.control(20, &get_cert(&leaf.cert)).unwrap();
            }),
        ),
        (
            "getCRL",
            Box::new(|b| {
                b.control(21, &get_crl).unwrap();
            }),
        ),
        (
            "queryPending",
            Box::new(|b| {
                b.control(
                    22,
                    &QueryPending(OctetString::new(*b"0123456789abcdef").unwrap()),
                )
                .unwrap();
            }),
        ),
        (
            "a certification request",
            Box::new(|b| {
                b.pkcs10(23, csr(&key, "CN=eve.example.test", &[])).unwrap();
            }),
        ),
    ];

    // While valid, getCert and getCRL are answered.
    for (what, build) in &asks[..2] {
        for signer in [&eve, &ra] {
            let reply = rig.send(signer, |b| build(b));
            assert!(reply.all_succeeded(), "{what}: {:?}", reply.statuses);
            assert!(reply.authenticated);
        }
    }

    let revoke = |party: &Party, reason| {
        let serial =
            cmc_ca::x509::store_serial(party.cert.tbs_certificate().serial_number()).unwrap();
        rig.engine
            .revoke("ca", &serial, reason, None, "test-admin")
            .unwrap();
    };
    revoke(&eve, RevocationReason::KeyCompromise);
    revoke(&ra, RevocationReason::CertificateHold);
    rig.env.clock.advance(1);
    let issued = rig.issued().len();
    for (what, build) in &asks {
        for signer in [&eve, &ra] {
            let reply = rig.send(signer, |b| build(b));
            assert_eq!(
                rig.refused(&reply),
                (CmcFailInfo::BadIdentity, vec![0]),
                "{what}"
            );
            assert!(!reply.authenticated, "{what}");
            let resp = rig.verify(&reply);
            assert!(resp.pki_response.cms_sequence.is_empty());
            assert!(resp.signed_data.crls.is_none(), "{what}");
            assert!(resp.issued_by(rig.ca.certificate()).is_empty(), "{what}");
        }
    }
    assert_eq!(rig.issued().len(), issued);
}
