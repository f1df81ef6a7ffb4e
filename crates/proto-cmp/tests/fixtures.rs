//! Decoding, re-encoding and protection checks against the messages `openssl cmp` wrote
//! (testdata/README.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use der::{Decode, Encode};
use proto_cmp::{
    CertOrEncCert, Error, FailureBit, GenmRequest, Limits, MacAlgorithm, PkiBody, PkiStatus,
    ProofOfPossession, Protection, Received, decode_message,
};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

const SECRET: &[u8] = b"s3cret";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cert(name: &str) -> Certificate {
    use der::DecodePem;
    let pem = fixture(name);
    Certificate::from_pem(&pem).unwrap()
}

/// Decodes, checks byte-identical re-encoding, and checks the protected part is what a
/// fresh encoding of header and body gives.
fn decode(name: &str) -> Received {
    let bytes = fixture(name);
    let received =
        decode_message(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        received.message.to_der().unwrap(),
        bytes,
        "{name} re-encodes"
    );
    assert_eq!(
        received.message.protected_part_der().unwrap(),
        received.protected_part(),
        "{name} protected part"
    );
    received
}

fn check_mac(name: &str) -> Received {
    let received = decode(name);
    let limits = Limits::default();
    let alg = received
        .verify_mac(SECRET, &limits.mac)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    // OpenSSL 3.0's defaults: OWF SHA-256, 500 iterations, HMAC-SHA1.
    assert!(
        matches!(
            alg,
            MacAlgorithm::Pbm {
                iterations: 500,
                ..
            }
        ),
        "{name}: {alg:?}"
    );
    assert!(matches!(
        received.verify_mac(b"not the secret", &limits.mac),
        Err(Error::MacMismatch)
    ));
    assert!(matches!(
        received.verify_signature(
            &cert("ee.crt")
                .tbs_certificate()
                .subject_public_key_info()
                .clone()
        ),
        Err(Error::NotProtected(_))
    ));
    let header = &received.message.header;
    assert_eq!(header.sender_kid.as_ref().unwrap().as_bytes(), b"1234");
    assert_eq!(header.transaction_id.as_ref().unwrap().as_bytes().len(), 16);
    assert_eq!(header.sender_nonce.as_ref().unwrap().as_bytes().len(), 16);
    received
}

fn check_sig(name: &str) -> Received {
    let received = decode(name);
    let ee = cert("ee.crt");
    let spki = ee.tbs_certificate().subject_public_key_info().clone();
    received
        .verify_signature(&spki)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    // Another key does not verify it.
    let ca = cert("ca.crt");
    assert!(matches!(
        received.verify_signature(ca.tbs_certificate().subject_public_key_info()),
        Err(Error::Signature(_))
    ));
    assert!(matches!(
        received.protection(&Limits::default().mac).unwrap(),
        Protection::Signature(_)
    ));
    assert!(matches!(
        received.verify_mac(SECRET, &Limits::default().mac),
        Err(Error::NotProtected(_))
    ));
    // senderKID is the protecting certificate's subject key identifier and the sender its
    // subject (RFC 9483 §3.1). OpenSSL 3.0 sends no extraCerts for a self-signed one.
    let ski = ee
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
        .unwrap();
    let ski = der::asn1::OctetString::from_der(ski.extn_value.as_bytes()).unwrap();
    let header = &received.message.header;
    assert_eq!(header.sender_kid.as_ref(), Some(&ski));
    assert_eq!(
        header.sender,
        GeneralName::DirectoryName(ee.tbs_certificate().subject().clone())
    );
    received
}

fn subject_cn_test_cert(name: &x509_cert::name::Name) {
    assert_eq!(name.to_string(), "CN=test-cert");
}

#[test]
fn ir_cr_kur_decode_and_verify() {
    for (file, kind) in [
        ("ir-mac.der", 0),
        ("ir-sig.der", 0),
        ("cr-mac.der", 2),
        ("cr-sig.der", 2),
        ("kur-mac.der", 7),
        ("kur-sig.der", 7),
    ] {
        let received = if file.contains("mac") {
            check_mac(file)
        } else {
            check_sig(file)
        };
        let body = &received.message.body;
        assert_eq!(body.type_number(), kind, "{file}");
        let (PkiBody::Ir(reqs) | PkiBody::Cr(reqs) | PkiBody::Kur(reqs)) = body else {
            panic!("{file}: {}", body.name());
        };
        assert_eq!(reqs.len(), 1);
        let req = &reqs[0];
        assert_eq!(req.cert_req.body_part_id().unwrap(), 0);
        let template = &req.cert_req.cert_template;
        assert!(template.public_key.is_some(), "{file}");
        if kind != 7 {
            subject_cn_test_cert(template.subject.as_ref().unwrap());
        }
        assert!(
            matches!(req.popo, Some(ProofOfPossession::Signature(_))),
            "{file}"
        );
    }
}

#[test]
fn p10cr_decodes_and_verifies() {
    for file in ["p10cr-mac.der", "p10cr-sig.der"] {
        let received = if file.contains("mac") {
            check_mac(file)
        } else {
            check_sig(file)
        };
        let PkiBody::P10cr(csr) = &received.message.body else {
            panic!("{file}");
        };
        subject_cn_test_cert(&csr.info.subject);
    }
}

#[test]
fn rr_names_the_old_certificate() {
    let ee = cert("ee.crt");
    for file in ["rr-mac.der", "rr-sig.der"] {
        let received = if file.contains("mac") {
            check_mac(file)
        } else {
            check_sig(file)
        };
        let PkiBody::Rr(details) = &received.message.body else {
            panic!("{file}");
        };
        assert_eq!(details.len(), 1);
        let template = &details[0].cert_details;
        assert_eq!(
            template.serial_number.as_ref().unwrap().as_bytes(),
            ee.tbs_certificate().serial_number().as_bytes()
        );
        assert_eq!(
            template.issuer.as_ref(),
            Some(ee.tbs_certificate().issuer())
        );
    }
}

#[test]
fn genm_decodes_and_verifies() {
    for file in ["genm-mac.der", "genm-sig.der"] {
        let received = if file.contains("mac") {
            check_mac(file)
        } else {
            check_sig(file)
        };
        // OpenSSL 3.0 sends an empty GenMsgContent without -infotype.
        assert!(
            matches!(&received.message.body, PkiBody::Genm(v) if v.is_empty()),
            "{file}"
        );
    }
    // The MAC-protected genm comes from nobody in particular: the NULL-DN.
    let received = decode("genm-mac.der");
    let GeneralName::DirectoryName(sender) = &received.message.header.sender else {
        panic!("sender");
    };
    assert!(sender.is_empty());
}

#[test]
fn genm_asking_for_ca_certs_is_recognised() {
    let received = check_mac("genm-cacerts-mac.der");
    let PkiBody::Genm(items) = &received.message.body else {
        panic!("genm");
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].info_type, proto_cmp::oid::ID_IT_CA_CERTS);
    assert_eq!(GenmRequest::of(&items[0]), Some(GenmRequest::CaCerts));
    assert!(items[0].info_value.is_none());
}

#[test]
fn mock_server_exchange_decodes_and_certconf_hashes_the_issued_certificate() {
    let ip = check_mac("ip-mac.der");
    let PkiBody::Ip(rep) = &ip.message.body else {
        panic!("ip");
    };
    assert_eq!(rep.ca_pubs.as_ref().unwrap()[0], cert("ca.crt"));
    assert_eq!(rep.response.len(), 1);
    let response = &rep.response[0];
    assert_eq!(response.cert_req_id, 0);
    assert_eq!(response.status.status, PkiStatus::Accepted);
    let Some(CertOrEncCert::Certificate(issued)) = response
        .certified_key_pair
        .as_ref()
        .map(|k| &k.cert_or_enc_cert)
    else {
        panic!("no certificate");
    };
    subject_cn_test_cert(issued.tbs_certificate().subject());

    let conf = check_mac("certconf-mac.der");
    let PkiBody::CertConf(statuses) = &conf.message.body else {
        panic!("certConf");
    };
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].cert_req_id, 0);
    // ecdsa-with-SHA256 certificate: certHash is its SHA-256.
    let hash = Sha256::digest(issued.to_der().unwrap());
    assert_eq!(statuses[0].cert_hash.as_bytes(), hash.as_slice());
    assert_eq!(
        conf.message.header.transaction_id,
        ip.message.header.transaction_id
    );
    assert_eq!(
        conf.message.header.recip_nonce,
        ip.message.header.sender_nonce
    );

    let pkiconf = check_mac("pkiconf-mac.der");
    assert!(matches!(pkiconf.message.body, PkiBody::PkiConf(_)));
    assert_eq!(
        pkiconf.message.header.recip_nonce,
        conf.message.header.sender_nonce
    );
}

/// Offset of the body's tag octet in a fixture: after the outer header and the PKIHeader.
fn body_offset(bytes: &[u8]) -> usize {
    let mut reader = der::SliceReader::new(bytes).unwrap();
    let outer = der::Header::decode(&mut reader).unwrap();
    let start = usize::try_from(outer.encoded_len().unwrap()).unwrap();
    let mut reader = der::SliceReader::new(&bytes[start..]).unwrap();
    let header = der::Header::decode(&mut reader).unwrap();
    start + usize::try_from((header.encoded_len().unwrap() + header.length()).unwrap()).unwrap()
}

#[test]
fn other_body_types_are_refused_by_number() {
    let bytes = fixture("genm-mac.der");
    let at = body_offset(&bytes);
    assert_eq!(bytes[at], 0xa0 | 21, "genm tag");
    for (number, name) in [(5u8, "popdecc"), (9, "krr"), (13, "ccr"), (20, "nested")] {
        let mut changed = bytes.clone();
        changed[at] = 0xa0 | number;
        let err = decode_message(&changed, &Limits::default()).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedBody { number: n } if n == u32::from(number)),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("unsupported body type {number} ({name})")
        );
        assert_eq!(err.fail_info(), FailureBit::BadRequest);
    }
    let mut changed = bytes;
    changed[at] = 0xa0 | 27;
    let err = decode_message(&changed, &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported body type 27 (not a PKIBody alternative)"
    );
}

#[test]
fn truncated_and_corrupted_fixtures_are_errors_not_panics() {
    for file in ["ir-mac.der", "ip-mac.der", "rr-sig.der", "certconf-mac.der"] {
        let bytes = fixture(file);
        let limits = Limits::default();
        for len in 0..bytes.len() {
            assert!(
                decode_message(&bytes[..len], &limits).is_err(),
                "{file} cut at {len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode_message(&longer, &limits),
            Err(Error::Decode(_))
        ));
        // Every single-octet change up to the end of `protection` either fails to decode or
        // fails verification (extraCerts, after it, is not covered by the protection).
        let protected_end = {
            let body_end = body_offset(&bytes) + tlv_len(&bytes[body_offset(&bytes)..]);
            body_end + tlv_len(&bytes[body_end..])
        };
        let ee = cert("ee.crt");
        let spki = ee.tbs_certificate().subject_public_key_info();
        let mut decoded = 0;
        for at in 0..protected_end {
            for delta in [0x01u8, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] ^= delta;
                if let Ok(received) = decode_message(&changed, &limits) {
                    decoded += 1;
                    let verified = if file.contains("-mac") {
                        received.verify_mac(SECRET, &limits.mac).is_ok()
                    } else {
                        received.verify_signature(spki).is_ok()
                    };
                    assert!(!verified, "{file}: change at {at} went unnoticed");
                }
            }
        }
        // Many changes (nonces, salt, names, keys) still decode: the check has teeth.
        assert!(
            decoded > protected_end,
            "{file}: only {decoded} changes decoded"
        );
    }
}

/// Length of the TLV at the start of `bytes`.
fn tlv_len(bytes: &[u8]) -> usize {
    let mut reader = der::SliceReader::new(bytes).unwrap();
    let header = der::Header::decode(&mut reader).unwrap();
    usize::try_from((header.encoded_len().unwrap() + header.length()).unwrap()).unwrap()
}

#[test]
fn the_size_cap_comes_first() {
    let bytes = fixture("ir-mac.der");
    let limits = Limits {
        max_message_len: bytes.len() - 1,
        ..Limits::default()
    };
    let err = decode_message(&bytes, &limits).unwrap_err();
    assert!(matches!(err, Error::TooLarge { len, max } if len == bytes.len() && max == len - 1));
    assert_eq!(err.fail_info(), FailureBit::BadDataFormat);
}

#[test]
fn a_lowered_iteration_bound_refuses_openssl_pbm_before_verifying() {
    let received = decode("ir-mac.der");
    let mut limits = Limits::default().mac;
    limits.pbm_iterations = 100..=499;
    let err = received.verify_mac(SECRET, &limits).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PBM iteration count 500 outside the accepted range 100..=499"
    );
    assert_eq!(err.fail_info(), FailureBit::BadAlg);
}
