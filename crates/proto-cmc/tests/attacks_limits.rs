//! Bounded work (issue 13), through `CmcFrontDoor::handle_full` and
//! `Engine::current_crl`: caps on the controls of a PKIData and on the
//! values of one control, one CRL per response however many getCRL ask
//! for it, a CRL cache rebuilt on revocation (on any node) rather than per
//! request, and the purge of replay records past their lifetime.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use attack_support::{Party, Rig, csr};
use cmc_asn1::{
    BodyPartId, CmcFailInfo, CmcStatus, DataReturn, GetCrl, TaggedAttribute, TransactionId, oid,
};
use cmc_codec::{RequestBuilder, VerifiedResponse};
use cmc_keys::{FileKey, KeySpec};
use cmc_store::{AuditFilter, AuditKind, ClientRole, PageRequest, RevocationReason, fingerprint};
use der::asn1::{Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::ReasonFlags;

fn get_crl(rig: &Rig, reasons: Option<ReasonFlags>) -> GetCrl {
    GetCrl {
        issuer_name: rig.ca.subject().clone(),
        crl_name: None,
        time: None,
        reasons,
    }
}

/// The CRLs in the response's SignedData.
fn crls(resp: &VerifiedResponse) -> Vec<CertificateList> {
    resp.signed_data
        .crls
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .map(|c| match c {
                    cms::revocation::RevocationInfoChoice::Crl(crl) => crl.clone(),
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn more_controls_than_the_limit_fail_the_whole_pki_data() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let data = |count: u32| {
        move |b: &mut RequestBuilder| {
            for i in 0..count {
                b.control(
                    i + 1,
                    &DataReturn(OctetString::new(i.to_be_bytes()).unwrap()),
                )
                .unwrap();
            }
        }
    };
    // 64 controls (the default limit) with the senderNonce: answered.
    let reply = rig.send(&ra, data(63));
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![0])]);
    // 65: badRequest for the PKIData, and nothing processed.
    rig.env.clock.advance(1);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&ra, |b| {
        data(64)(b);
        b.pkcs10(100, csr(&key, "CN=leaf.example.test", &[]))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![0]));
    assert!(rig.issued().is_empty());

    // An unsigned request (revocation by secret) is bound too.
    let leaf = rig.enroll(&ra, "CN=leaf.example.test", &[]);
    let mut b = RequestBuilder::new();
    b.control(
        1000,
        &rig.revoke_of(&leaf.cert, x509_cert::ext::pkix::CrlReason::KeyCompromise),
    )
    .unwrap();
    data(64)(&mut b);
    let reply = rig.post(&b.unsigned().unwrap());
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![0]));
    assert!(!reply.authenticated);
    assert!(!rig.is_revoked(&leaf.cert));
}

#[test]
fn a_control_with_more_values_than_the_limit_is_named_in_the_refusal() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    // One getCRL control with `count` distinct values.
    let crowded = |id: BodyPartId, count: u16| {
        let mut values = SetOfVec::new();
        for bits in 1..=count {
            let value = get_crl(&rig, Some(ReasonFlags::new(bits).unwrap()));
            values
                .insert(Any::from_der(&value.to_der().unwrap()).unwrap())
                .unwrap();
        }
        TaggedAttribute {
            body_part_id: id,
            attr_type: oid::ID_CMC_GET_CRL,
            attr_values: values,
        }
    };
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&ra, |b| {
        b.tagged_attribute(crowded(40, 16))
            .unwrap()
            .tagged_attribute(crowded(41, 17))
            .unwrap()
            .tagged_attribute(crowded(42, 300))
            .unwrap()
            .pkcs10(100, csr(&key, "CN=leaf.example.test", &[]))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![41, 42]));
    assert!(rig.issued().is_empty());
    assert!(crls(&rig.verify(&reply)).is_empty());

    // 16 values (the default limit): each answered, the CRL sent once.
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.tagged_attribute(crowded(40, 16)).unwrap();
    });
    let resp = rig.verify(&reply);
    assert_eq!(
        rig.outcome(&reply),
        [(CmcStatus::Success, None, vec![40; 16])]
    );
    assert_eq!(crls(&resp).len(), 1);
}

#[test]
fn many_get_crl_controls_carry_the_crl_once() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let leaf = rig.enroll(&ra, "CN=leaf.example.test", &[]);
    let serial = cmc_ca::x509::store_serial(leaf.cert.tbs_certificate().serial_number()).unwrap();
    rig.engine
        .revoke(
            "ca",
            &serial,
            RevocationReason::KeyCompromise,
            None,
            "test-admin",
        )
        .unwrap();
    let crl_issued = || audit_count(&rig, AuditKind::CrlIssued);
    let reply = rig.send(&ra, |b| {
        for id in 100..160 {
            b.control(id, &get_crl(&rig, None)).unwrap();
        }
    });
    let resp = rig.verify(&reply);
    assert_eq!(
        rig.outcome(&reply),
        [(CmcStatus::Success, None, (100..160).collect::<Vec<_>>())]
    );
    let sent = crls(&resp);
    assert_eq!(sent.len(), 1);
    let listed: Vec<_> = sent[0]
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| r.serial_number.clone())
        .collect();
    assert_eq!(
        listed,
        [leaf.cert.tbs_certificate().serial_number().clone()]
    );
    // Built once for the 60 controls, and not again for the next request.
    assert_eq!(crl_issued(), 1);
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.control(100, &get_crl(&rig, None)).unwrap();
    });
    assert_eq!(crls(&rig.verify(&reply)), sent);
    assert_eq!(crl_issued(), 1);
}

fn audit_count(rig: &Rig, kind: AuditKind) -> usize {
    rig.env
        .store
        .list_audit(
            &AuditFilter {
                kind: Some(kind),
                ..AuditFilter::default()
            },
            PageRequest::first(1000),
        )
        .unwrap()
        .items
        .len()
}

/// The CRL is cached by the store's revocation epoch: the same CRL until a
/// revocation or a lifted hold, on this node or another; then a new one.
#[test]
fn the_crl_is_rebuilt_on_revocation_never_per_request() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let leaf = rig.enroll(&ra, "CN=leaf.example.test", &[]);
    let other = rig.enroll(&ra, "CN=other.example.test", &[]);
    let serial_of =
        |p: &Party| cmc_ca::x509::store_serial(p.cert.tbs_certificate().serial_number()).unwrap();
    let number = || rig.engine.current_crl("ca").unwrap().crl_number;
    let first = number();
    assert_eq!(number(), first);
    assert_eq!(number(), first);
    assert_eq!(audit_count(&rig, AuditKind::CrlIssued), 1);

    // On hold: a new CRL, then that one again.
    rig.engine
        .revoke(
            "ca",
            &serial_of(&leaf),
            RevocationReason::CertificateHold,
            None,
            "test-admin",
        )
        .unwrap();
    let held = number();
    assert!(held > first);
    assert_eq!(number(), held);
    // The hold lifted: a new one.
    rig.engine
        .unrevoke("ca", &serial_of(&leaf), "test-admin")
        .unwrap();
    let lifted = number();
    assert!(lifted > held);
    assert_eq!(number(), lifted);
    // Revoked by another node sharing the store: this node's next CRL
    // lists it.
    rig.another_node()
        .revoke(
            "ca",
            &serial_of(&other),
            RevocationReason::KeyCompromise,
            None,
            "test-admin",
        )
        .unwrap();
    let record = rig.engine.current_crl("ca").unwrap();
    assert!(record.crl_number > lifted);
    let crl = CertificateList::from_der(&record.der).unwrap();
    let listed: Vec<_> = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| r.serial_number.clone())
        .collect();
    assert_eq!(
        listed,
        [other.cert.tbs_certificate().serial_number().clone()]
    );
    assert_eq!(number(), record.crl_number);
    assert_eq!(audit_count(&rig, AuditKind::CrlIssued), 4);
    // Past the refresh margin before nextUpdate: a new one.
    rig.env.clock.set(
        record
            .next_update
            .plus_secs(-rig.config.crl.refresh_margin_secs + 1),
    );
    assert!(number() > record.crl_number);
}

#[test]
fn purge_expired_deletes_replay_records_past_their_lifetime() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let reply = rig.send(&ra, |b| {
        b.control(1, &TransactionId(Int::new(&[0x42]).unwrap()))
            .unwrap();
    });
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let signer = fingerprint(&ra.cert.to_der().unwrap());
    let transaction = || {
        rig.env
            .store
            .get_transaction(&signer, &[0x42])
            .unwrap()
            .is_some()
    };
    let requests = rig.config.requests;
    assert_eq!(rig.engine.purge_expired().unwrap(), 0);
    assert!(transaction());

    // The senderNonce's lifetime is over; the transaction's is not.
    rig.env.clock.advance(requests.nonce_lifetime_secs + 1);
    assert_eq!(rig.engine.purge_expired().unwrap(), 1);
    assert!(transaction());
    assert_eq!(rig.engine.purge_expired().unwrap(), 0);
    // Then the transaction's.
    rig.env
        .clock
        .advance(requests.transaction_lifetime_secs - requests.nonce_lifetime_secs);
    assert_eq!(rig.engine.purge_expired().unwrap(), 1);
    assert!(!transaction());
}
