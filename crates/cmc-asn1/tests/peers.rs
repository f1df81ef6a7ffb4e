//! Decodes the real CMC requests in `testdata/peers/` (see its README for their origin),
//! asserts on their fields and checks that re-encoding gives back the eContent byte for byte.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cmc_asn1::{
    BodyPartId, CertReqMsg, GetCert, LraPopWitness, PkiData, RevokeRequest, TaggedAttribute,
    TaggedCertificationRequest, TaggedRequest, oid,
};
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER,
    ID_PE_AUTHORITY_INFO_ACCESS,
};
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, SECP_256_R_1};
use der::asn1::{GeneralizedTime, OctetString};
use der::{Decode, Encode};
use hex_literal::hex;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::name::Name;
use x509_cert::request::ExtensionReq;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

const CRMF: &str = "pkcs11_ca/test_cmc_crmf_req.der";
const CRMF_SAME: &str = "python_cmc/test_cmc_request_list_4_crmf.der";
const CRMF_SUNET: &str = "python_cmc/test_cmc_request_list_0_crmf.der";
const PKCS10: &str = "pkcs11_ca/test_cmc_pkcs10_req.der";
const PKCS10_SAME: &str = "python_cmc/test_cmc_request_list_1_pkcs10.der";
const PKCS10_BAD_SIG: &str = "pkcs11_ca/test_cmc_pkcs10_req_bad_signature.der";
const REVOKE: &str = "python_cmc/test_cmc_request_list_3_revoke.der";

const ALL: [&str; 7] = [
    CRMF,
    CRMF_SAME,
    CRMF_SUNET,
    PKCS10,
    PKCS10_SAME,
    PKCS10_BAD_SIG,
    REVOKE,
];

/// The eContent octets of a fixture's SignedData.
fn econtent(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/peers/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let ci = ContentInfo::from_der(&bytes).unwrap();
    assert_eq!(ci.content_type, const_oid::db::rfc5911::ID_SIGNED_DATA);
    let sd: SignedData = ci.content.decode_as().unwrap();
    assert_eq!(sd.encap_content_info.econtent_type, oid::ID_CCT_PKI_DATA);
    sd.encap_content_info
        .econtent
        .expect("eContent present")
        .value()
        .to_vec()
}

/// Decodes a fixture's PKIData, checks the byte-exact round trip and the properties every
/// fixture shares.
fn pki_data(name: &str) -> PkiData {
    let octets = econtent(name);
    let pd = PkiData::from_der(&octets).unwrap();
    assert_eq!(pd.to_der().unwrap(), octets, "{name}: re-encoding differs");
    assert!(pd.cms_sequence.is_empty(), "{name}");
    assert!(pd.other_msg_sequence.is_empty(), "{name}");

    let nonces: Vec<_> = pd.control(&oid::ID_CMC_SENDER_NONCE).collect();
    assert_eq!(nonces.len(), 1, "{name}: one senderNonce");
    let nonce: OctetString = nonces[0].single_value().unwrap();
    assert_eq!(nonce.as_bytes().len(), 128, "{name}: senderNonce length");
    // Body part identifiers are random 31-bit numbers.
    for c in &pd.control_sequence {
        assert!(c.body_part_id < 1 << 31, "{name}");
    }
    pd
}

fn reg_info(pd: &PkiData) -> Option<String> {
    let mut found = pd.control(&oid::ID_CMC_REG_INFO);
    let value = found.next().map(|c| {
        let v: OctetString = c.single_value().unwrap();
        String::from_utf8(v.as_bytes().to_vec()).unwrap()
    });
    assert!(found.next().is_none());
    value
}

fn control_ids(pd: &PkiData) -> Vec<(BodyPartId, ObjectIdentifier)> {
    pd.control_sequence
        .iter()
        .map(|c| (c.body_part_id, c.attr_type))
        .collect()
}

fn single_crm(pd: &PkiData) -> &CertReqMsg {
    match pd.req_sequence.as_slice() {
        [TaggedRequest::Crm(crm)] => crm,
        other => panic!("expected one crm, got {other:?}"),
    }
}

fn single_tcr(pd: &PkiData) -> &TaggedCertificationRequest {
    match pd.req_sequence.as_slice() {
        [TaggedRequest::Tcr(tcr)] => tcr,
        other => panic!("expected one tcr, got {other:?}"),
    }
}

fn assert_subject(name: &Name) {
    let s = name.to_string();
    assert!(
        s.starts_with("OU=AP Org Unit,O=AP Org,SERIALNUMBER=1234567890,CN=Date Name 20"),
        "{s}"
    );
    assert!(s.ends_with(",C=SE"), "{s}");
}

fn assert_p256(spki: &SubjectPublicKeyInfoOwned) {
    assert_eq!(spki.algorithm.oid, ID_EC_PUBLIC_KEY);
    let curve: ObjectIdentifier = spki
        .algorithm
        .parameters
        .as_ref()
        .unwrap()
        .decode_as()
        .unwrap();
    assert_eq!(curve, SECP_256_R_1);
    // Uncompressed point.
    assert_eq!(spki.subject_public_key.raw_bytes().len(), 65);
}

/// The extensions the client pre-computes, in its order; keyUsage critical 0x88.
fn assert_client_extensions(exts: &[Extension]) {
    let ids: Vec<_> = exts.iter().map(|e| e.extn_id).collect();
    assert_eq!(
        ids,
        [
            ID_CE_BASIC_CONSTRAINTS,
            ID_CE_AUTHORITY_KEY_IDENTIFIER,
            ID_CE_SUBJECT_KEY_IDENTIFIER,
            ID_CE_KEY_USAGE,
            ID_CE_CRL_DISTRIBUTION_POINTS,
            ID_PE_AUTHORITY_INFO_ACCESS,
            ID_CE_CERTIFICATE_POLICIES,
        ]
    );
    for e in exts {
        assert_eq!(e.critical, e.extn_id == ID_CE_KEY_USAGE, "{}", e.extn_id);
    }
    assert_eq!(exts[0].extn_value.as_bytes(), [0x30, 0x00]);
    assert_eq!(exts[3].extn_value.as_bytes(), [0x03, 0x02, 0x03, 0x88]);
    assert_eq!(
        exts[6].extn_value.as_bytes(),
        hex!("300c300a06082a85700102016401")
    );
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    for name in ALL {
        pki_data(name);
    }
}

#[test]
fn identical_copies_decode_identically() {
    assert_eq!(pki_data(CRMF), pki_data(CRMF_SAME));
    assert_eq!(pki_data(PKCS10), pki_data(PKCS10_SAME));
    // Only the signature was damaged: the PKIData is the same.
    assert_eq!(pki_data(PKCS10), pki_data(PKCS10_BAD_SIG));
}

#[test]
fn pkcs10_request() {
    let pd = pki_data(PKCS10);
    assert_eq!(
        control_ids(&pd),
        [
            (0x144C_B159, oid::ID_CMC_SENDER_NONCE),
            (0x37DB_9A96, oid::ID_CMC_REG_INFO),
        ]
    );
    assert_eq!(reg_info(&pd).as_deref(), Some("pkcs10"));

    let tcr = single_tcr(&pd);
    assert_eq!(tcr.body_part_id, 0x46AB_B5FE);
    assert_eq!(pd.req_sequence[0].body_part_id().unwrap(), 0x46AB_B5FE);
    let info = &tcr.certification_request.info;
    assert_subject(&info.subject);
    assert_eq!(
        info.subject.to_string(),
        "OU=AP Org Unit,O=AP Org,SERIALNUMBER=1234567890,CN=Date Name 2023-01-30 23:18:43,C=SE"
    );
    assert_p256(&info.public_key);
    assert_eq!(info.attributes.len(), 1);
    let attr = info.attributes.get(0).unwrap();
    assert_eq!(attr.oid, const_oid::db::rfc5912::ID_EXTENSION_REQ);
    let ext_req: ExtensionReq = attr.values.get(0).unwrap().decode_as().unwrap();
    assert_client_extensions(&ext_req.0);
    assert_eq!(
        tcr.certification_request.algorithm.oid,
        const_oid::db::rfc5912::ECDSA_WITH_SHA_256
    );
}

#[test]
fn crmf_request() {
    let pd = pki_data(CRMF);
    let ids = control_ids(&pd);
    assert_eq!(
        ids.iter().map(|(_, o)| *o).collect::<Vec<_>>(),
        [
            oid::ID_CMC_SENDER_NONCE,
            oid::ID_CMC_REG_INFO,
            oid::ID_CMC_LRA_POP_WITNESS
        ]
    );
    assert_eq!(reg_info(&pd).as_deref(), Some("crmf"));

    let (_, witness) = pd.unique_control::<LraPopWitness>().unwrap().unwrap();
    assert_eq!(
        witness,
        LraPopWitness {
            pki_data_bodyid: 0x599A_6131,
            body_ids: vec![0x1C86_4BB8],
        }
    );

    let crm = single_crm(&pd);
    assert_eq!(crm.cert_req.body_part_id().unwrap(), 0x1C86_4BB8);
    assert_eq!(pd.req_sequence[0].body_part_id().unwrap(), 0x1C86_4BB8);
    assert!(crm.popo.is_none(), "the RA vouches through lraPOPWitness");
    assert!(crm.reg_info.is_none());
    assert!(crm.cert_req.controls.is_none());

    let t = &crm.cert_req.cert_template;
    assert!(t.version.is_none());
    assert!(t.serial_number.is_none());
    assert!(t.signing_alg.is_none());
    assert!(t.issuer.is_none());
    assert!(t.validity.is_none());
    assert!(t.issuer_uid.is_none() && t.subject_uid.is_none());
    assert_eq!(
        t.subject.as_ref().unwrap().to_string(),
        "OU=AP Org Unit,O=AP Org,SERIALNUMBER=1234567890,CN=Date Name 2023-01-11 13:32:42,C=SE"
    );
    assert_p256(t.public_key.as_ref().unwrap());
    let exts = t.extensions.as_ref().unwrap();
    assert_client_extensions(exts);
    // Local test deployment: 32-byte key identifiers.
    assert_eq!(exts[1].extn_value.as_bytes()[3], 0x20);
}

#[test]
fn crmf_request_from_the_sunet_deployment() {
    let pd = pki_data(CRMF_SUNET);
    assert_eq!(reg_info(&pd).as_deref(), Some("crmf"));
    let witnesses = pd.controls_of::<LraPopWitness>().unwrap();
    assert_eq!(witnesses.len(), 1);
    assert_eq!(witnesses[0].1.body_ids, [0x7FE1_21AF]);

    let crm = single_crm(&pd);
    assert_eq!(crm.cert_req.body_part_id().unwrap(), 0x7FE1_21AF);
    assert!(crm.popo.is_none());
    let t = &crm.cert_req.cert_template;
    assert_subject(t.subject.as_ref().unwrap());
    assert_p256(t.public_key.as_ref().unwrap());
    let exts = t.extensions.as_ref().unwrap();
    assert_client_extensions(exts);
    // AKI with a 20-byte key identifier: 30 16 80 14 ...
    assert_eq!(
        &exts[1].extn_value.as_bytes()[..4],
        [0x30, 0x16, 0x80, 0x14]
    );
    let cdp = String::from_utf8_lossy(exts[4].extn_value.as_bytes());
    assert!(cdp.contains("http://pkcs11-ca.sunet.se:8005/"), "{cdp}");
}

#[test]
fn revocation_request() {
    let pd = pki_data(REVOKE);
    assert!(pd.req_sequence.is_empty());
    assert_eq!(reg_info(&pd), None);
    assert_eq!(pd.control_sequence.len(), 2);
    assert!(pd.unique_control::<GetCert>().unwrap().is_none());

    let (id, rr) = pd.unique_control::<RevokeRequest>().unwrap().unwrap();
    assert_eq!(id, 0x217D_FD6D);
    assert_eq!(
        rr.issuer_name.to_string(),
        "CN=DIGG Signature validation trust CA - EU CA and TSA Services,\
         2.5.4.97=#0c0b3230323130302d36383833,OU=Headless CA,\
         O=Myndigheten för digital förvaltning,C=SE"
    );
    // organizationIdentifier 202100-6883 as a UTF8String.
    assert_eq!(&hex!("0c0b3230323130302d36383833")[2..], b"202100-6883");
    assert_eq!(
        rr.serial_number.as_bytes(),
        hex!("00D29920C9A2223D4A06D23DEE819A101A")
    );
    assert_eq!(rr.reason, CrlReason::CertificateHold);
    assert_eq!(
        rr.invalidity_date,
        Some(GeneralizedTime::from_date_time(
            der::DateTime::new(2023, 1, 30, 21, 45, 42).unwrap()
        ))
    );
    assert!(rr.passphrase.is_none());
    assert!(rr.comment.is_none());

    // The control re-encodes byte for byte on its own as well.
    let control: &TaggedAttribute = pd.control(&oid::ID_CMC_REVOKE_REQUEST).next().unwrap();
    assert_eq!(
        rr.to_der().unwrap(),
        control.attr_values.get(0).unwrap().to_der().unwrap()
    );
}
