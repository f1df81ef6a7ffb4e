//! rr, kur and genm through the door over a real engine, messages built here: the
//! refusals `openssl cmp` cannot be made to send (several RevDetails, a template without a
//! serial, a kur whose oldCertID names another certificate, …) and what each answer holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::str::FromStr;

use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_store::ClientRole;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use proto_cmp::{CertId, CertTemplate, FailureBit, PkiBody, PkiStatus, RevDetails};
use support::{Setup, answer, cert_conf, failure, issued};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// A RevDetails for `cert` with `reason`.
fn rev_details(cert: &Certificate, reason: Option<CrlReason>) -> RevDetails {
    let tbs = cert.tbs_certificate();
    RevDetails {
        cert_details: CertTemplate {
            issuer: Some(tbs.issuer().clone()),
            serial_number: Some(Int::from_der(&tbs.serial_number().to_der().unwrap()).unwrap()),
            ..CertTemplate::default()
        },
        crl_entry_details: reason.map(|r| {
            vec![Extension {
                extn_id: const_oid::db::rfc5280::ID_CE_CRL_REASONS,
                critical: false,
                extn_value: OctetString::new(r.to_der().unwrap()).unwrap(),
            }]
        }),
    }
}

/// The statuses of an rp: (status, failure bits).
fn rp(reply: &proto_cmp::CmpReply) -> Vec<(PkiStatus, Vec<FailureBit>)> {
    let PkiBody::Rp(rep) = answer(reply).body else {
        panic!("not an rp: {:?}", answer(reply).body);
    };
    assert!(rep.rev_certs.is_none() && rep.crls.is_none());
    rep.status
        .into_iter()
        .map(|s| {
            (
                s.status,
                s.fail_info.map(|f| f.bits().collect()).unwrap_or_default(),
            )
        })
        .collect()
}

/// The holder revokes its own certificate with a reason, and nobody else's; an RA revokes
/// an end entity's; a second revocation is certRevoked, an unknown serial badCertId, each
/// RevDetails answered in order.
#[test]
fn rr_follows_the_engine_rules_and_answers_per_rev_details() {
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let (a_key, a) = setup.issue(&ra, "CN=a.example.test");
    let (b_key, b) = setup.issue(&ra, "CN=b.example.test");
    let (_, c) = setup.issue(&ra, "CN=c.example.test");
    let a_der = a.to_der().unwrap();
    let b_der = b.to_der().unwrap();

    // The holder of b may not revoke a.
    let reply = setup.send_signed(
        b"rr-1",
        PkiBody::Rr(vec![rev_details(&a, Some(CrlReason::KeyCompromise))]),
        &b_key,
        &b_der,
    );
    assert_eq!(
        rp(&reply),
        [(PkiStatus::Rejection, vec![FailureBit::NotAuthorized])]
    );
    assert_eq!(setup.revocation(&a), None);

    // The holder of a revokes a, with its reason.
    let reply = setup.send_signed(
        b"rr-2",
        PkiBody::Rr(vec![rev_details(&a, Some(CrlReason::KeyCompromise))]),
        &a_key,
        &a_der,
    );
    assert_eq!(rp(&reply), [(PkiStatus::Accepted, vec![])]);
    assert_eq!(setup.revocation(&a), Some(1));
    // Now a no longer signs anything.
    let reply = setup.send_signed(
        b"rr-3",
        PkiBody::Rr(vec![rev_details(&a, None)]),
        &a_key,
        &a_der,
    );
    assert_eq!(failure(&reply), [FailureBit::SignerNotTrusted]);

    // The RA: c (superseded), a again, a serial this CA never issued, one per status.
    let mut unknown = rev_details(&c, None);
    unknown.cert_details.serial_number = Some(Int::new(&[0x01, 0x02, 0x03]).unwrap());
    let reply = setup.send_signed(
        b"rr-4",
        PkiBody::Rr(vec![
            rev_details(&c, Some(CrlReason::Superseded)),
            rev_details(&a, None),
            unknown,
        ]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(
        rp(&reply),
        [
            (PkiStatus::Accepted, vec![]),
            (PkiStatus::Rejection, vec![FailureBit::CertRevoked]),
            (PkiStatus::Rejection, vec![FailureBit::BadCertId]),
        ]
    );
    assert_eq!(setup.revocation(&c), Some(4));
    assert_eq!(setup.revocation(&a), Some(1), "the first revocation stands");
    assert_eq!(setup.revocation(&b), None);
}

/// An end-entity client may not revoke others' certificates; an RA may not revoke a client
/// credential; an rr without a serial, with no RevDetails or too many is refused.
#[test]
fn rr_refusals() {
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let (ee_key, ee) = support::common::credential(
        &setup.engine,
        "ca",
        "device-1",
        "CN=device-1",
        ClientRole::Client,
    );
    let (_, victim) = setup.issue(&ra, "CN=victim.example.test");
    let reply = setup.send_signed(
        b"rr-ee",
        PkiBody::Rr(vec![rev_details(&victim, None)]),
        &ee_key,
        &ee.certificate_der,
    );
    assert_eq!(
        rp(&reply),
        [(PkiStatus::Rejection, vec![FailureBit::NotAuthorized])]
    );
    // An RA and another client's credential.
    let ee_cert = Certificate::from_der(&ee.certificate_der).unwrap();
    let reply = setup.send_signed(
        b"rr-cred",
        PkiBody::Rr(vec![rev_details(&ee_cert, None)]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(
        rp(&reply),
        [(PkiStatus::Rejection, vec![FailureBit::NotAuthorized])]
    );
    assert_eq!(setup.revocation(&victim), None);
    assert_eq!(setup.revocation(&ee_cert), None);

    let mut no_serial = rev_details(&victim, None);
    no_serial.cert_details.serial_number = None;
    let reply = setup.send_signed(
        b"rr-ns",
        PkiBody::Rr(vec![no_serial]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(
        rp(&reply),
        [(PkiStatus::Rejection, vec![FailureBit::BadCertTemplate])]
    );
    let reply = setup.send_signed(b"rr-0", PkiBody::Rr(vec![]), &ra.0, &ra.1.certificate_der);
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    let many = vec![rev_details(&victim, None); proto_cmp::MAX_REV_DETAILS + 1];
    let reply = setup.send_signed(b"rr-many", PkiBody::Rr(many), &ra.0, &ra.1.certificate_der);
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    assert_eq!(setup.revocation(&victim), None);

    // A replayed rr revokes nothing again and is refused.
    let msg = support::signed(
        support::header(Some(b"rr-r"), Some(b"nonce-r")),
        PkiBody::Rr(vec![rev_details(&victim, None)]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(rp(&setup.send(&msg)), [(PkiStatus::Accepted, vec![])]);
    assert_eq!(failure(&setup.send(&msg)), [FailureBit::BadSenderNonce]);
}

/// A kur for `subject` with `key`, with an oldCertID control naming `old` when given.
fn kur_body(key: &FileKey, subject: &str, old: Option<&Certificate>) -> PkiBody {
    let template = CertTemplate {
        subject: Some(Name::from_str(subject).unwrap()),
        ..CertTemplate::default()
    };
    let controls = old
        .map(|c| {
            let tbs = c.tbs_certificate();
            let id = CertId {
                issuer: GeneralName::DirectoryName(tbs.issuer().clone()),
                serial_number: Int::from_der(&tbs.serial_number().to_der().unwrap()).unwrap(),
            };
            vec![AttributeTypeAndValue {
                oid: const_oid::db::rfc5912::ID_REG_CTRL_OLD_CERT_ID,
                value: der::Any::encode_from(&id).unwrap(),
            }]
        })
        .unwrap_or_default();
    PkiBody::Kur(vec![
        cmc_codec::build_crmf_with_controls(key, 0, template, controls).unwrap(),
    ])
}

/// The holder updates its key: the kup's certificate has the old subject and the new key,
/// and is confirmed like an ip; the oldCertID control, when present, must name the
/// protecting certificate.
#[test]
fn kur_by_the_holder_keeps_the_subject_and_takes_the_new_key() {
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let (old_key, old) = setup.issue(&ra, "CN=kur.example.test");
    let (_, other) = setup.issue(&ra, "CN=other.example.test");
    let old_der = old.to_der().unwrap();
    let new_key = FileKey::generate(KeySpec::P256).unwrap();

    // oldCertID naming another certificate.
    let reply = setup.send_signed(
        b"kur-1",
        kur_body(&new_key, "CN=kur.example.test", Some(&other)),
        &old_key,
        &old_der,
    );
    assert_eq!(failure(&reply), [FailureBit::BadCertId]);

    let reply = setup.send_signed(
        b"kur-2",
        kur_body(&new_key, "CN=kur.example.test", Some(&old)),
        &old_key,
        &old_der,
    );
    assert_eq!(reply.issued, 1);
    assert!(matches!(answer(&reply).body, PkiBody::Kup(_)));
    let new = issued(&reply);
    assert_eq!(
        new.tbs_certificate().subject(),
        old.tbs_certificate().subject()
    );
    assert_eq!(
        new.tbs_certificate().subject_public_key_info(),
        new_key.public_key()
    );
    let reply = setup.send_signed(b"kur-2", cert_conf(&new), &old_key, &old_der);
    assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
    // The old certificate is left as it is (RFC 4210 does not revoke it).
    assert_eq!(setup.revocation(&old), None);
}

/// Refused: another subject or the old key (badCertTemplate), a kur by a registered
/// client's credential (notAuthorized), by a revoked certificate (signerNotTrusted).
#[test]
fn kur_refusals() {
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let (old_key, old) = setup.issue(&ra, "CN=kur.example.test");
    let old_der = old.to_der().unwrap();
    let new_key = FileKey::generate(KeySpec::P256).unwrap();

    let reply = setup.send_signed(
        b"kur-s",
        kur_body(&new_key, "CN=someone-else.example.test", None),
        &old_key,
        &old_der,
    );
    assert_eq!(failure(&reply), [FailureBit::BadCertTemplate]);
    let reply = setup.send_signed(
        b"kur-k",
        kur_body(&old_key, "CN=kur.example.test", None),
        &old_key,
        &old_der,
    );
    assert_eq!(failure(&reply), [FailureBit::BadCertTemplate]);
    let reply = setup.send_signed(
        b"kur-ra",
        kur_body(&new_key, "CN=ra1", None),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(failure(&reply), [FailureBit::NotAuthorized]);

    let reply = setup.send_signed(
        b"kur-rr",
        PkiBody::Rr(vec![rev_details(&old, Some(CrlReason::Superseded))]),
        &old_key,
        &old_der,
    );
    assert_eq!(rp(&reply), [(PkiStatus::Accepted, vec![])]);
    let reply = setup.send_signed(
        b"kur-r",
        kur_body(&new_key, "CN=kur.example.test", None),
        &old_key,
        &old_der,
    );
    assert_eq!(failure(&reply), [FailureBit::SignerNotTrusted]);
    assert_eq!(reply.issued, 0);
}
