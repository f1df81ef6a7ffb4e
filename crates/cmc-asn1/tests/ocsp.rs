//! OCSP requests written by `openssl ocsp -reqout` (testdata/ocsp/, made by
//! scripts/gen-ocsp-fixtures.sh): decoded, checked field by field against the
//! issuer certificate, and re-encoded byte for byte; and a full response
//! built from their CertIDs round-trips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use cmc_asn1::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspNonce, OcspRequest, OcspResponse,
    OcspResponseStatus, OcspVersion, ResponderId, ResponseData, RevokedInfo, SingleResponse,
};
use const_oid::AssociatedOid;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256};
use der::asn1::{BitString, GeneralizedTime, Null};
use der::{Decode, DecodePem, Encode};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use x509_cert::Certificate;
use x509_cert::ext::pkix::CrlReason;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/ocsp")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn issuer() -> Certificate {
    Certificate::from_pem(fixture("issuer.pem")).unwrap()
}

/// The two hashes of a CertID for `issuer` with digest `D`.
fn issuer_hashes<D: Digest>(issuer: &Certificate) -> (Vec<u8>, Vec<u8>) {
    let tbs = issuer.tbs_certificate();
    let name = D::digest(tbs.subject().to_der().unwrap()).to_vec();
    let key = D::digest(tbs.subject_public_key_info().subject_public_key.raw_bytes()).to_vec();
    (name, key)
}

fn check_cert_id(id: &CertId, hash: &const_oid::ObjectIdentifier, expect: &(Vec<u8>, Vec<u8>)) {
    assert_eq!(id.hash_algorithm.oid, *hash);
    assert_eq!(id.issuer_name_hash.as_bytes(), expect.0.as_slice());
    assert_eq!(id.issuer_key_hash.as_bytes(), expect.1.as_slice());
}

#[test]
fn openssl_default_request_sha1_with_nonce() {
    let der = fixture("openssl_sha1_nonce.der");
    let req = OcspRequest::from_der(&der).unwrap();
    assert_eq!(req.to_der().unwrap(), der, "re-encodes byte for byte");
    let tbs = &req.tbs_request;
    assert_eq!(tbs.version, OcspVersion::V1);
    assert!(tbs.requestor_name.is_none());
    assert!(req.optional_signature.is_none());
    assert_eq!(tbs.request_list.len(), 1);
    let entry = &tbs.request_list[0];
    assert!(entry.single_request_extensions.is_none());
    check_cert_id(
        &entry.req_cert,
        &ID_SHA_1,
        &issuer_hashes::<Sha1>(&issuer()),
    );
    assert_eq!(
        entry.req_cert.serial_number.as_bytes(),
        [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]
    );
    // OpenSSL's nonce: extnValue holds an OCTET STRING of 16 octets.
    let ext = tbs.extension(&OcspNonce::OID).unwrap();
    assert!(!ext.critical);
    let nonce = OcspNonce::from_der(ext.extn_value.as_bytes()).unwrap();
    assert_eq!(nonce.0.as_bytes().len(), 16);
    assert!(nonce.0.as_bytes().len() <= OcspNonce::MAX_LEN);
}

#[test]
fn openssl_sha256_request_for_two_certificates() {
    let der = fixture("openssl_sha256_two.der");
    let req = OcspRequest::from_der(&der).unwrap();
    assert_eq!(req.to_der().unwrap(), der);
    let tbs = &req.tbs_request;
    assert!(tbs.request_extensions.is_none(), "-no_nonce");
    let hashes = issuer_hashes::<Sha256>(&issuer());
    let serials: Vec<_> = tbs
        .request_list
        .iter()
        .map(|r| {
            check_cert_id(&r.req_cert, &ID_SHA_256, &hashes);
            // OpenSSL writes the parameters as NULL.
            assert_eq!(
                r.req_cert.hash_algorithm.parameters,
                Some(der::asn1::Any::null())
            );
            r.req_cert.serial_number.as_bytes().to_vec()
        })
        .collect();
    assert_eq!(
        serials,
        [
            [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
            [0x22, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]
        ]
    );
}

#[test]
fn a_response_to_the_fixture_round_trips() {
    let req = OcspRequest::from_der(&fixture("openssl_sha256_two.der")).unwrap();
    let t =
        |secs| GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs)).unwrap();
    let mut statuses = [
        CertStatus::Good(Null),
        CertStatus::Revoked(RevokedInfo {
            revocation_time: t(1_700_000_000),
            revocation_reason: Some(CrlReason::KeyCompromise),
        }),
    ]
    .into_iter();
    let responses = req
        .tbs_request
        .request_list
        .iter()
        .map(|r| SingleResponse {
            cert_id: r.req_cert.clone(),
            cert_status: statuses.next().unwrap(),
            this_update: t(1_800_000_000),
            next_update: Some(t(1_800_003_600)),
            single_extensions: None,
        })
        .collect();
    let basic = BasicOcspResponse {
        tbs_response_data: ResponseData {
            version: OcspVersion::V1,
            responder_id: ResponderId::ByName(issuer().tbs_certificate().subject().clone()),
            produced_at: t(1_800_000_000),
            responses,
            response_extensions: None,
        },
        signature_algorithm: issuer().signature_algorithm().clone(),
        signature: BitString::from_bytes(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])
            .unwrap(),
        certs: Some(vec![issuer()]),
    };
    let der = OcspResponse::successful(&basic).unwrap().to_der().unwrap();
    let back = OcspResponse::from_der(&der).unwrap();
    assert_eq!(back.response_status, OcspResponseStatus::Successful);
    assert_eq!(back.basic().unwrap().unwrap(), basic);
    // And OpenSSL reads it: the statuses and the revocation reason.
    let dir = std::env::temp_dir().join(format!("cmc-asn1-ocsp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("resp.der");
    std::fs::write(&file, &der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-respin"])
        .arg(&file)
        .args(["-resp_text", "-noverify"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Cert Status: good"), "{text}");
    assert!(text.contains("Cert Status: revoked"), "{text}");
    assert!(
        text.contains("Revocation Reason: keyCompromise (0x1)"),
        "{text}"
    );
}
