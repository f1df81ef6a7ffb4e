//! confirmCertAcceptance (RFC 5272 §6.14; RFC 5274: MUST for a CA): the requester of a
//! certificate, or its holder signing with it, accepts it once; nobody else may, an unknown
//! certificate is badCertId, a revoked one is refused. Checked on the signed response, the
//! store and the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use attack_support::{Party, Rig};
use cmc_asn1::ocsp::{
    CertId, CertStatus, OcspRequest, OcspResponse, OcspVersion, Request, TbsRequest,
};
use cmc_asn1::{CmcCertId, CmcFailInfo, CmcStatus};
use cmc_store::{AuditFilter, AuditKind, ClientRole, PageRequest, RevocationReason, Serial};
use cms::cert::IssuerAndSerialNumber;
use der::asn1::OctetString;

fn accept_of(rig: &Rig, cert: &x509_cert::Certificate) -> CmcCertId {
    CmcCertId(IssuerAndSerialNumber {
        issuer: rig.ca.subject().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    })
}

fn serial(cert: &x509_cert::Certificate) -> Serial {
    Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes()).unwrap()
}

fn accepted_count(rig: &Rig) -> usize {
    rig.env
        .store
        .list_audit(
            &AuditFilter::default(),
            PageRequest::first(PageRequest::MAX_LIMIT),
        )
        .unwrap()
        .items
        .iter()
        .filter(|e| e.event.kind == AuditKind::Accepted)
        .count()
}

#[test]
fn the_requester_or_holder_accepts_a_certificate_once_and_nobody_else() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let other = rig.client("ra-2", "CN=ra two", ClientRole::Ra, None);
    let device: Party = rig.enroll(&ra, "CN=device.example.test", &[]);

    // Another RA may not accept what the first one asked for.
    let reply = rig.send(&other, |b| {
        b.control(1, &accept_of(&rig, &device.cert)).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    assert_eq!(
        rig.env
            .store
            .accepted_at("ca", &serial(&device.cert))
            .unwrap(),
        None
    );

    // The requester accepts it.
    let reply = rig.send(&ra, |b| {
        b.control(1, &accept_of(&rig, &device.cert)).unwrap();
    });
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![1])]);
    let at = rig
        .env
        .store
        .accepted_at("ca", &serial(&device.cert))
        .unwrap();
    assert_eq!(at, Some(rig.now()));
    assert_eq!(accepted_count(&rig), 1);

    // The holder again: success, the first acceptance stands, one audit event.
    rig.env.clock.advance(5);
    let reply = rig.send(&device, |b| {
        b.control(1, &accept_of(&rig, &device.cert)).unwrap();
    });
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![1])]);
    assert_eq!(
        rig.env
            .store
            .accepted_at("ca", &serial(&device.cert))
            .unwrap(),
        at
    );
    assert_eq!(accepted_count(&rig), 1);
}

#[test]
fn unknown_foreign_and_revoked_certificates_are_refused() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let device = rig.enroll(&ra, "CN=device.example.test", &[]);

    // A serial this CA never issued.
    let mut unknown = accept_of(&rig, &device.cert);
    unknown.0.serial_number =
        x509_cert::serial_number::SerialNumber::new(&[0x01, 0x02, 0x03]).unwrap();
    let reply = rig.send(&ra, |b| {
        b.control(1, &unknown).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadCertId, vec![1]));

    // Another issuer's name.
    let mut foreign = accept_of(&rig, &device.cert);
    foreign.0.issuer = ra.cert.tbs_certificate().subject().clone();
    let reply = rig.send(&ra, |b| {
        b.control(1, &foreign).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadCertId, vec![1]));

    // Revoked.
    rig.engine
        .revoke(
            "ca",
            &serial(&device.cert),
            RevocationReason::KeyCompromise,
            None,
            "test",
        )
        .unwrap();
    let reply = rig.send(&ra, |b| {
        b.control(1, &accept_of(&rig, &device.cert)).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    assert_eq!(accepted_count(&rig), 0);
}

/// The OCSP status of `cert` of "ca", asked with a SHA-256 CertID.
fn ocsp_status(rig: &Rig, cert: &x509_cert::Certificate) -> CertStatus {
    use der::{Decode, Encode};
    use sha2::{Digest, Sha256};
    let tbs = rig.ca.certificate().tbs_certificate();
    let id = CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_256,
            parameters: None,
        },
        issuer_name_hash: OctetString::new(
            Sha256::digest(tbs.subject().to_der().unwrap()).to_vec(),
        )
        .unwrap(),
        issuer_key_hash: OctetString::new(
            Sha256::digest(tbs.subject_public_key_info().subject_public_key.raw_bytes()).to_vec(),
        )
        .unwrap(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    };
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: OcspVersion::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap();
    let reply = rig.engine.ocsp("ca", &request).unwrap();
    let basic = OcspResponse::from_der(&reply.der)
        .unwrap()
        .basic()
        .unwrap()
        .expect("a basic response");
    basic.tbs_response_data.responses[0].cert_status.clone()
}

#[test]
fn a_profile_that_requires_acceptance_keeps_ocsp_unknown_until_then() {
    let rig = Rig::profiles(
        "default_profile = \"device\"\n[profile.device]\nrequire_acceptance = true\n\
         [profile.plain]\n",
    );
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let device = rig.enroll(&ra, "CN=device.example.test", &[]);
    assert!(matches!(
        ocsp_status(&rig, &device.cert),
        CertStatus::Unknown(_)
    ));

    // Someone else's acceptance does not publish it.
    let other = rig.client("ra-2", "CN=ra two", ClientRole::Ra, None);
    let reply = rig.send(&other, |b| {
        b.control(1, &accept_of(&rig, &device.cert)).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    assert!(matches!(
        ocsp_status(&rig, &device.cert),
        CertStatus::Unknown(_)
    ));

    let reply = rig.send(&device, |b| {
        b.control(1, &accept_of(&rig, &device.cert)).unwrap();
    });
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![1])]);
    assert!(matches!(
        ocsp_status(&rig, &device.cert),
        CertStatus::Good(_)
    ));

    // Revoked stays revoked whether or not it was accepted.
    let unaccepted = rig.enroll(&ra, "CN=spare.example.test", &[]);
    assert!(matches!(
        ocsp_status(&rig, &unaccepted.cert),
        CertStatus::Unknown(_)
    ));
    rig.engine
        .revoke(
            "ca",
            &serial(&unaccepted.cert),
            RevocationReason::KeyCompromise,
            None,
            "test",
        )
        .unwrap();
    assert!(matches!(
        ocsp_status(&rig, &unaccepted.cert),
        CertStatus::Revoked(_)
    ));
}

#[test]
fn other_profiles_are_good_at_issuance() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let device = rig.enroll(&ra, "CN=device.example.test", &[]);
    assert!(matches!(
        ocsp_status(&rig, &device.cert),
        CertStatus::Good(_)
    ));
    assert_eq!(
        rig.env
            .store
            .accepted_at("ca", &serial(&device.cert))
            .unwrap(),
        None
    );
}
