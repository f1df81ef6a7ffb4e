//! Messages we build: protection round trips (PBM, PBMAC1, signatures from cmc-keys), header
//! general info, and the tagging of the less common alternatives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cmc_keys::{FileKey, KeySpec, SigningKey};
use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
use der::{Decode, Encode};
use proto_cmp::{
    CertOrEncCert, CertStatus, EncryptedKey, EncryptedValue, Error, Limits, MacAlgorithm,
    PVNO_CMP2000, PkiBody, PkiHeader, PkiMessage, PkiStatusInfo, PollRep, Protection,
    decode_message,
};
use x509_cert::ext::pkix::name::GeneralName;

fn header() -> PkiHeader {
    let mut h = PkiHeader::new(
        PVNO_CMP2000,
        GeneralName::DirectoryName("CN=client".parse().unwrap()),
        GeneralName::DirectoryName("CN=ca".parse().unwrap()),
    );
    h.transaction_id = Some(OctetString::new([7u8; 16]).unwrap());
    h.sender_nonce = Some(OctetString::new([9u8; 16]).unwrap());
    h.sender_kid = Some(OctetString::new(*b"1234").unwrap());
    h
}

#[test]
fn pbmac1_protected_message_round_trips_and_verifies() {
    let alg = MacAlgorithm::pbmac1_sha256(5_000).unwrap();
    let msg =
        PkiMessage::protect_with_mac(header(), PkiBody::PkiConf(Null), &alg, b"pw", None).unwrap();
    let der = msg.to_der_bytes().unwrap();
    let received = decode_message(&der, &Limits::default()).unwrap();
    assert_eq!(received.message, msg);
    let limits = Limits::default().mac;
    assert_eq!(
        received.protection(&limits).unwrap(),
        Protection::Mac(alg.clone())
    );
    assert_eq!(received.verify_mac(b"pw", &limits).unwrap(), alg);
    assert!(matches!(
        received.verify_mac(b"pW", &limits),
        Err(Error::MacMismatch)
    ));
    // A bound below the message's count refuses it before deriving anything.
    let strict = proto_cmp::MacLimits {
        pbkdf2_iterations: 1_000..=4_999,
        ..limits
    };
    let err = received.verify_mac(b"pw", &strict).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PBKDF2 iteration count 5000 outside the accepted range 1000..=4999"
    );
}

#[test]
fn pbm_protected_message_detects_a_changed_header() {
    let alg = MacAlgorithm::pbm_sha256(1_000).unwrap();
    let msg =
        PkiMessage::protect_with_mac(header(), PkiBody::PkiConf(Null), &alg, b"pw", None).unwrap();
    let mut changed = msg.clone();
    changed.header.sender_kid = Some(OctetString::new(*b"1235").unwrap());
    let der = changed.to_der_bytes().unwrap();
    let received = decode_message(&der, &Limits::default()).unwrap();
    assert!(matches!(
        received.verify_mac(b"pw", &Limits::default().mac),
        Err(Error::MacMismatch)
    ));
}

#[test]
fn signature_protection_with_cmc_keys_verifies() {
    for spec in [KeySpec::P256, KeySpec::P384] {
        let key = FileKey::generate(spec).unwrap();
        let other = FileKey::generate(spec).unwrap();
        let body = PkiBody::CertConf(vec![CertStatus {
            cert_hash: OctetString::new([1u8; 32]).unwrap(),
            cert_req_id: 0,
            status_info: Some(PkiStatusInfo::accepted()),
            hash_alg: None,
        }]);
        let msg = PkiMessage::protect_with_signature(
            header(),
            body,
            key.signature_algorithm().clone(),
            None,
            |data| Ok::<_, Error>(key.sign(data).unwrap()),
        )
        .unwrap();
        let received = decode_message(&msg.to_der_bytes().unwrap(), &Limits::default()).unwrap();
        received.verify_signature(key.public_key()).unwrap();
        assert!(matches!(
            received.verify_signature(other.public_key()),
            Err(Error::Signature(_))
        ));
        assert!(matches!(
            received.verify_mac(b"pw", &Limits::default().mac),
            Err(Error::NotProtected(_))
        ));
    }
}

#[test]
fn unprotected_messages_are_reported_as_such() {
    let msg = PkiMessage {
        header: header(),
        body: PkiBody::PollRep(vec![PollRep {
            cert_req_id: 0,
            check_after: 60,
            reason: Some(vec!["waiting for an operator".into()]),
        }]),
        protection: None,
        extra_certs: None,
    };
    let received = decode_message(&msg.to_der_bytes().unwrap(), &Limits::default()).unwrap();
    assert_eq!(
        received.protection(&Limits::default().mac).unwrap(),
        Protection::None
    );
    assert!(matches!(
        received.verify_mac(b"pw", &Limits::default().mac),
        Err(Error::NotProtected(_))
    ));
}

#[test]
fn general_info_implicit_confirm_and_confirm_wait_time() {
    let mut h = header();
    assert!(!h.implicit_confirm());
    assert_eq!(h.confirm_wait_time().unwrap(), None);
    h.set_implicit_confirm();
    h.set_implicit_confirm();
    let until =
        GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(1_800_000_000)).unwrap();
    h.set_confirm_wait_time(until).unwrap();
    let back = PkiHeader::from_der(&h.to_der().unwrap()).unwrap();
    assert!(back.implicit_confirm());
    assert_eq!(
        back.general_info.as_ref().unwrap().len(),
        2,
        "implicitConfirm once"
    );
    assert_eq!(back.confirm_wait_time().unwrap(), Some(until));
    // generalInfo is [8] EXPLICIT: A8 len 30 len …
    let der = h.to_der().unwrap();
    let at = der.windows(2).position(|w| w[0] == 0xa8).unwrap();
    assert_eq!(der[at + 2], 0x30);
    // Twice is an error, as is a value of the wrong type.
    h.set_confirm_wait_time(until).unwrap();
    assert!(matches!(
        h.confirm_wait_time(),
        Err(Error::BadGeneralInfo { .. })
    ));
}

#[test]
fn encrypted_cert_alternatives_are_tagged_as_the_rfc_says() {
    let value = EncryptedValue {
        intended_alg: None,
        symm_alg: None,
        enc_symm_key: Some(BitString::from_bytes(&[1, 2]).unwrap()),
        key_alg: None,
        value_hint: None,
        enc_value: BitString::from_bytes(&[3, 4]).unwrap(),
    };
    let alt = CertOrEncCert::EncryptedCert(EncryptedKey::EncryptedValue(value));
    let der = alt.to_der().unwrap();
    // encryptedCert [1] EXPLICIT, then the untagged EncryptedValue SEQUENCE whose
    // encSymmKey is [2] IMPLICIT BIT STRING (CRMF module).
    assert_eq!(&der[..5], &[0xa1, 0x0c, 0x30, 0x0a, 0x82]);
    assert_eq!(CertOrEncCert::from_der(&der).unwrap(), alt);
}

#[test]
fn genm_values_round_trip_with_their_tags() {
    use proto_cmp::{
        CrlSource, CrlStatus, InfoTypeAndValue, RootCaKeyUpdateContent, oid::ID_IT_CRL_STATUS_LIST,
    };
    use x509_cert::ext::pkix::name::DistributionPointName;

    let status: Vec<CrlStatus> = vec![
        CrlStatus {
            source: CrlSource::Issuer(vec![GeneralName::DirectoryName("CN=ca".parse().unwrap())]),
            this_update: None,
        },
        CrlStatus {
            source: CrlSource::Dpn(DistributionPointName::FullName(vec![
                GeneralName::UniformResourceIdentifier(
                    der::asn1::Ia5String::new("http://crl.example/ca.crl").unwrap(),
                ),
            ])),
            this_update: None,
        },
    ];
    let itav = InfoTypeAndValue::new(ID_IT_CRL_STATUS_LIST, &status).unwrap();
    let der = itav.to_der().unwrap();
    let back = InfoTypeAndValue::from_der(&der).unwrap();
    assert_eq!(back.value_as::<Vec<CrlStatus>>().unwrap(), status);
    // issuer [1] EXPLICIT GeneralNames: A1 len 30 len A4 …
    let value = back.info_value.as_ref().unwrap().to_der().unwrap();
    assert_eq!(value[0], 0x30);
    assert_eq!((value[4], value[6]), (0xa1, 0x30));
    // The wrong type is an error, not a panic.
    assert!(matches!(
        back.value_as::<RootCaKeyUpdateContent>(),
        Err(Error::BadGeneralInfo { .. })
    ));
}
