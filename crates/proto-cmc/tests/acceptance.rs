//! confirmCertAcceptance (RFC 5272 §6.14; RFC 5274: MUST for a CA): the requester of a
//! certificate, or its holder signing with it, accepts it once; nobody else may, an unknown
//! certificate is badCertId, a revoked one is refused. Checked on the signed response, the
//! store and the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use attack_support::{Party, Rig};
use cmc_asn1::{CmcCertId, CmcFailInfo, CmcStatus};
use cmc_store::{AuditFilter, AuditKind, ClientRole, PageRequest, RevocationReason, Serial};
use cms::cert::IssuerAndSerialNumber;

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
