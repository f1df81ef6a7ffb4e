//! The CRL and OCSP caches a revocation refreshes (on this engine and on
//! another engine sharing the store, as a second server node), and a CRL
//! of thousands of entries streamed from the store, checked with
//! `openssl crl` and `openssl verify -crl_check`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cmc_asn1::ocsp::{
    CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, OcspVersion, Request,
    TbsRequest,
};
use cmc_ca::{Engine, EngineConfig, LoadedCa, OcspReply};
use cmc_keys::{HashAlg, KeySpec, SignatureScheme};
use cmc_store::{BulkCert, ClientRole, IssuedCert, Revocation, RevocationReason, Serial, UnixTime};
use common::{Env, openssl, openssl_status, p};
use der::asn1::OctetString;
use der::{Decode, Encode};
use sha1::{Digest, Sha1};
use spki::AlgorithmIdentifierOwned;
use x509_cert::crl::CertificateList;
use x509_cert::serial_number::SerialNumber;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

fn issue_leaf(env: &Env, ca: &str, id: &str) -> (Serial, Vec<u8>) {
    let subject = format!("CN={id},O=cmc-ca tests,C=SE");
    let (_, cred) = common::credential(&env.engine, ca, id, &subject, ClientRole::Client);
    (cred.serial, cred.certificate_der)
}

/// Another engine on the same store: a second server node.
fn second_node(env: &Env) -> Engine {
    Engine::load(
        Arc::clone(&env.store),
        Arc::new(env.clock.clone()),
        EngineConfig::default(),
    )
    .unwrap()
}

/// An OCSP request (no nonce) for `serial` of `ca`, CertID with SHA-1.
fn ocsp_request(ca: &LoadedCa, serial: &Serial) -> Vec<u8> {
    let tbs = ca.certificate().tbs_certificate();
    let name = tbs.subject().to_der().unwrap();
    let key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
    let id = CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_1,
            parameters: None,
        },
        issuer_name_hash: OctetString::new(Sha1::digest(&name).to_vec()).unwrap(),
        issuer_key_hash: OctetString::new(Sha1::digest(key).to_vec()).unwrap(),
        serial_number: SerialNumber::new(serial.as_bytes()).unwrap(),
    };
    OcspRequest {
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
    .unwrap()
}

fn status(reply: &OcspReply) -> CertStatus {
    assert_eq!(reply.status, OcspResponseStatus::Successful, "{reply:?}");
    let basic = OcspResponse::from_der(&reply.der)
        .unwrap()
        .basic()
        .unwrap()
        .unwrap();
    basic.tbs_response_data.responses[0].cert_status.clone()
}

fn listed(engine: &Engine, ca: &str, serial: &Serial) -> bool {
    let crl = engine.current_crl(ca).unwrap();
    let crl = <CertificateList>::from_der(&crl.der).unwrap();
    crl.tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .any(|e| e.serial_number.as_bytes() == serial.as_bytes())
}

#[test]
fn a_revocation_is_seen_at_once_by_ocsp_and_the_crl_on_every_node() {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let node2 = second_node(&env);
    let (a, _) = issue_leaf(&env, "ca", "a");
    let (b, _) = issue_leaf(&env, "ca", "b");
    let ask_a = ocsp_request(&ca, &a);
    let ask_b = ocsp_request(&ca, &b);

    // Both nodes answer good and cache that; asking again returns the
    // very same signed response (from the cache).
    for node in [&env.engine, &node2] {
        let first = node.ocsp("ca", &ask_a).unwrap();
        assert!(matches!(status(&first), CertStatus::Good(_)));
        env.clock.advance(5);
        assert_eq!(node.ocsp("ca", &ask_a).unwrap(), first);
        assert!(matches!(
            status(&node.ocsp("ca", &ask_b).unwrap()),
            CertStatus::Good(_)
        ));
        assert!(!listed(node, "ca", &a));
    }

    // The attack: a revocation on node 1, then the cached "good" must not
    // come back from either node.
    env.engine
        .revoke("ca", &a, RevocationReason::KeyCompromise, None, "admin")
        .unwrap();
    for node in [&env.engine, &node2] {
        match status(&node.ocsp("ca", &ask_a).unwrap()) {
            CertStatus::Revoked(info) => {
                assert_eq!(
                    info.revocation_reason,
                    Some(x509_cert::ext::pkix::CrlReason::KeyCompromise)
                );
            }
            other => panic!("served {other:?} after the revocation"),
        }
        assert!(listed(node, "ca", &a), "the CRL does not list it");
        // The other certificate stays good.
        assert!(matches!(
            status(&node.ocsp("ca", &ask_b).unwrap()),
            CertStatus::Good(_)
        ));
    }

    // The same on node 2, with a hold lifted there: node 1 sees it too.
    node2
        .revoke("ca", &b, RevocationReason::CertificateHold, None, "admin")
        .unwrap();
    assert!(matches!(
        status(&env.engine.ocsp("ca", &ask_b).unwrap()),
        CertStatus::Revoked(_)
    ));
    assert!(listed(&env.engine, "ca", &b));
    node2.unrevoke("ca", &b, "admin").unwrap();
    assert!(matches!(
        status(&env.engine.ocsp("ca", &ask_b).unwrap()),
        CertStatus::Good(_)
    ));
    assert!(!listed(&env.engine, "ca", &b));
    assert!(listed(&env.engine, "ca", &a));
}

#[test]
fn a_cached_ocsp_response_is_replaced_at_its_next_update() {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let (a, _) = issue_leaf(&env, "ca", "a");
    let ask = ocsp_request(&ca, &a);
    let first = env.engine.ocsp("ca", &ask).unwrap();
    let next_update = first.next_update.unwrap();
    env.clock
        .advance(next_update.secs() - env.engine.now().secs() - 1);
    assert_eq!(env.engine.ocsp("ca", &ask).unwrap(), first);
    env.clock.advance(1);
    let second = env.engine.ocsp("ca", &ask).unwrap();
    assert_eq!(second.produced_at, Some(env.engine.now()));
    assert!(second.next_update.unwrap() > next_update);
}

/// `n` synthetic revoked rows of `ca`, the certificate DER borrowed from
/// `template`, each with its own serial, subject and reason.
fn synthetic_revoked(ca: &str, template: &[u8], n: u32, now: UnixTime) -> Vec<BulkCert> {
    (0..n)
        .map(|i| {
            let mut serial = vec![0x5c];
            serial.extend_from_slice(&u64::from(i).to_be_bytes());
            BulkCert {
                issuer: ca.into(),
                serial: Serial::from_be_bytes(&serial).unwrap(),
                requester: "bulk".into(),
                profile: "client".into(),
                request_hash: vec![0; 32],
                cert: IssuedCert {
                    cert_der: template.to_vec(),
                    subject: format!("CN=bulk-{i},O=cmc-ca tests,C=SE"),
                    sans: vec![],
                    not_before: now.plus_secs(-86_400),
                    not_after: now.plus_secs(86_400 * 90),
                    issued_at: now.plus_secs(-86_400),
                },
                revocation: Some(Revocation {
                    reason: RevocationReason::from_code([0, 1, 4, 5, 6][i as usize % 5]).unwrap(),
                    revoked_at: now.plus_secs(-i64::from(i)),
                    invalidity_date: (i % 7 == 0).then(|| now.plus_secs(-86_400)),
                }),
            }
        })
        .collect()
}

#[test]
fn a_crl_of_thousands_of_entries_is_streamed_and_verifies() {
    const N: u32 = 5_000;
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let ca_pem = env.write_cert("ca.pem", ca.certificate_der());
    let (a, a_der) = issue_leaf(&env, "ca", "a");
    let (_, b_der) = issue_leaf(&env, "ca", "b");
    let rows = synthetic_revoked("ca", &a_der, N, env.engine.now());
    for chunk in rows.chunks(2_000) {
        env.store.bulk_insert_certs(chunk).unwrap();
    }
    env.engine
        .revoke("ca", &a, RevocationReason::KeyCompromise, None, "admin")
        .unwrap();

    let crl = env.engine.current_crl("ca").unwrap();
    // The hand-assembled DER is exactly what the structured encoder makes
    // of the decoded CRL (lengths, order, every field).
    let parsed = <CertificateList>::from_der(&crl.der).unwrap();
    assert_eq!(parsed.to_der().unwrap(), crl.der);
    let entries = parsed.tbs_cert_list.revoked_certificates.as_ref().unwrap();
    assert_eq!(entries.len(), N as usize + 1);
    // Listed in the store's order (row id): `a` was issued first.
    assert_eq!(entries[0].serial_number.as_bytes(), a.as_bytes());

    let der_file = env.write_der("big.crl", &crl.der);
    let text = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        p(&der_file),
        "-noout",
        "-text",
    ]);
    assert_eq!(
        text.matches("Serial Number:").count(),
        N as usize + 1,
        "openssl lists every entry"
    );
    assert!(text.contains("Certificate Hold"));
    assert!(text.contains("Invalidity Date"));
    let out = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        p(&der_file),
        "-CAfile",
        p(&ca_pem),
        "-noout",
    ]);
    assert!(out.contains("verify OK"), "{out}");

    let crl_pem = env.write_pem("big.pem", "X509 CRL", &crl.der);
    let a_pem = env.write_cert("a.pem", &a_der);
    let b_pem = env.write_cert("b.pem", &b_der);
    let verify = |leaf: &std::path::Path| {
        openssl_status(&[
            "verify",
            "-crl_check",
            "-CAfile",
            p(&ca_pem),
            "-CRLfile",
            p(&crl_pem),
            p(leaf),
        ])
    };
    let (ok, out) = verify(&a_pem);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = verify(&b_pem);
    assert!(ok, "{out}");

    // A restarted engine (or another node) finds the stored CRL current by
    // walking its entries against the store's: no new number.
    let node2 = second_node(&env);
    assert_eq!(node2.current_crl("ca").unwrap().crl_number, crl.crl_number);
    // One more revocation: a new CRL with one more entry, on both nodes.
    let (c, _) = issue_leaf(&env, "ca", "c");
    node2
        .revoke("ca", &c, RevocationReason::Superseded, None, "admin")
        .unwrap();
    let newer = env.engine.current_crl("ca").unwrap();
    assert_eq!(newer.crl_number, crl.crl_number + 1);
    assert_eq!(
        <CertificateList>::from_der(&newer.der)
            .unwrap()
            .tbs_cert_list
            .revoked_certificates
            .unwrap()
            .len(),
        N as usize + 2
    );
    assert_eq!(node2.current_crl("ca").unwrap(), newer);
}
