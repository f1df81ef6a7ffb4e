//! publicationInfo (RFC 5272 §6.18): the holder (or requester) of a certificate withdraws
//! it from publication and publishes it again; while withdrawn, getCert finds it only for
//! its requester, its holder and agents; nobody else may change it; what this CA cannot
//! publish to is noSupport; the control is not processed when a certification request of
//! its PKIData fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use attack_support::{Party, Rig};
use cmc_asn1::{
    CmcFailInfo, CmcPublicationInfo, CmcStatus, GetCert, PkiPublicationInfo, PublicationAction,
    PublicationMethod, SinglePubInfo,
};
use cmc_store::{ClientRole, Serial};
use der::Encode;
use der::asn1::OctetString;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

fn info(
    certs: &[&Certificate],
    action: PublicationAction,
    methods: Option<Vec<SinglePubInfo>>,
) -> CmcPublicationInfo {
    CmcPublicationInfo {
        hash_alg: spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_256,
            parameters: None,
        },
        cert_hashes: certs
            .iter()
            .map(|c| OctetString::new(Sha256::digest(c.to_der().unwrap()).to_vec()).unwrap())
            .collect(),
        pub_info: PkiPublicationInfo {
            action,
            pub_infos: methods,
        },
    }
}

fn method(pub_method: PublicationMethod) -> SinglePubInfo {
    SinglePubInfo {
        pub_method,
        pub_location: None,
    }
}

/// Whether `party` gets `cert` with getCert.
fn fetches(rig: &Rig, party: &Party, cert: &Certificate) -> bool {
    let reply = rig.send(party, |b| {
        b.control(
            7,
            &GetCert {
                issuer_name: GeneralName::DirectoryName(rig.ca.subject().clone()),
                serial_number: cert.tbs_certificate().serial_number().clone(),
            },
        )
        .unwrap();
    });
    match rig.outcome(&reply).as_slice() {
        [(CmcStatus::Success, None, ids)] if ids == &[7] => {
            assert!(rig.verify(&reply).certificates.contains(cert));
            true
        }
        [(CmcStatus::Failed, Some(CmcFailInfo::BadCertId), ids)] if ids == &[7] => false,
        other => panic!("{other:?}"),
    }
}

fn serial(cert: &Certificate) -> Serial {
    Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes()).unwrap()
}

#[test]
fn the_holder_withdraws_and_restores_its_certificate() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let other = rig.client("ra-2", "CN=ra two", ClientRole::Ra, None);
    let device = rig.enroll(&ra, "CN=device.example.test", &[]);
    assert!(fetches(&rig, &other, &device.cert));

    // Someone else may not withdraw it: its hash is of no certificate of theirs.
    let reply = rig.send(&other, |b| {
        b.control(
            3,
            &info(&[&device.cert], PublicationAction::DontPublish, None),
        )
        .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadCertId, vec![3]));
    assert_eq!(
        rig.env
            .store
            .unpublished_at("ca", &serial(&device.cert))
            .unwrap(),
        None
    );

    // The holder withdraws it: others no longer find it, the requester and holder do.
    let reply = rig.send(&device, |b| {
        b.control(
            3,
            &info(&[&device.cert], PublicationAction::DontPublish, None),
        )
        .unwrap();
    });
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![3])]);
    assert_eq!(
        rig.env
            .store
            .unpublished_at("ca", &serial(&device.cert))
            .unwrap(),
        Some(rig.now())
    );
    assert!(!fetches(&rig, &other, &device.cert));
    assert!(fetches(&rig, &ra, &device.cert));
    assert!(fetches(&rig, &device, &device.cert));

    // Published where this CA cannot publish: noSupport, nothing changes.
    let reply = rig.send(&device, |b| {
        b.control(
            3,
            &info(
                &[&device.cert],
                PublicationAction::PleasePublish,
                Some(vec![method(PublicationMethod::Ldap)]),
            ),
        )
        .unwrap();
    });
    assert_eq!(
        rig.outcome(&reply),
        [(CmcStatus::NoSupport, Some(CmcFailInfo::BadRequest), vec![3])]
    );
    assert!(!fetches(&rig, &other, &device.cert));

    // pubInfos with dontPublish is malformed.
    let reply = rig.send(&device, |b| {
        b.control(
            3,
            &info(
                &[&device.cert],
                PublicationAction::DontPublish,
                Some(vec![method(PublicationMethod::Web)]),
            ),
        )
        .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![3]));

    // Published again (on the web: through getCert).
    let reply = rig.send(&device, |b| {
        b.control(
            3,
            &info(
                &[&device.cert],
                PublicationAction::PleasePublish,
                Some(vec![method(PublicationMethod::Web)]),
            ),
        )
        .unwrap();
    });
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Success, None, vec![3])]);
    assert!(fetches(&rig, &other, &device.cert));
}

#[test]
fn not_processed_when_a_request_of_its_pki_data_fails() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let device = rig.enroll(&ra, "CN=device.example.test", &[]);
    // A request whose self-signature does not verify fails; the withdrawal beside it is
    // not processed.
    let key = cmc_keys::FileKey::generate(cmc_keys::KeySpec::P256).unwrap();
    let mut csr =
        cmc_codec::build_csr(&key, "CN=device.example.test".parse().unwrap(), Vec::new()).unwrap();
    let mut sig = csr.signature.raw_bytes().to_vec();
    let last = sig.len() - 2;
    sig[last] ^= 1;
    csr.signature = der::asn1::BitString::from_bytes(&sig).unwrap();
    let reply = rig.send(&device, |b| {
        b.pkcs10(1, csr.clone()).unwrap();
        b.control(
            3,
            &info(&[&device.cert], PublicationAction::DontPublish, None),
        )
        .unwrap();
    });
    let outcome = rig.outcome(&reply);
    assert!(
        outcome.iter().any(|(s, f, ids)| *s == CmcStatus::Failed
            && *f == Some(CmcFailInfo::BadRequest)
            && ids.contains(&3)),
        "{outcome:?}"
    );
    assert_eq!(
        rig.env
            .store
            .unpublished_at("ca", &serial(&device.cert))
            .unwrap(),
        None
    );
}
