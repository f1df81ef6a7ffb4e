//! Build → to_der → from_der → equal for every type, every CHOICE alternative, and the
//! tagging decisions (IMPLICIT vs EXPLICIT) checked on the encoded bytes.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cmc_asn1::{
    AddExtensions, AuthPublish, BatchRequests, BatchResponses, BodyPartList, BodyPartPath,
    BodyPartReference, CertTemplate, ChangeSubjectName, CmcCertId, CmcFailInfo, CmcPublicationInfo,
    CmcStatus, CmcStatusInfoV2, CmcUnsignedData, ControlsProcessed, DataReturn, DecryptedPop,
    EncryptedPop, Error, GetCert, GetCrl, Identification, IdentityProof, IdentityProofV2,
    LraPopWitness, ModCertTemplate, OptionalValidity, PbmParameter, PkiData, PkiPublicationInfo,
    PkiResponse, PopLinkRandom, PopLinkWitness, PopLinkWitnessV2, PopoSigningKeyInput,
    PopoSigningKeyInputAuthInfo, ProofOfPossession, PublicationAction, PublicationMethod,
    PublishTrustAnchors, QueryPending, RaIdentityWitness, RecipientNonce, RegInfo,
    ResponseBodyPath, ResponseInfo, RevokeRequest, SenderNonce, SinglePubInfo, TaggedAttribute,
    TaggedRequest, TransactionId, oid,
};
use common::*;
use const_oid::AssociatedOid;
use const_oid::db::{rfc5911, rfc5912, rfc6268};
use der::asn1::{Any, Int, OctetString, SetOfVec};
use der::{Decode, Encode};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;

#[test]
fn sample_messages_round_trip() {
    let pd = sample_pki_data();
    round_trip(&pd);
    round_trip(&sample_popo_pki_data());
    round_trip(&sample_ra_pki_data());
    for (_, resp) in sample_responses() {
        round_trip(&resp);
    }
    assert_eq!(
        pd.req_sequence
            .iter()
            .map(|r| r.body_part_id().unwrap())
            .collect::<Vec<_>>(),
        [0x2001, 0x2002, 0x2003, 0x2004]
    );
}

#[test]
fn empty_messages() {
    assert_eq!(
        round_trip(&PkiData::default()),
        [0x30, 0x08, 0x30, 0, 0x30, 0, 0x30, 0, 0x30, 0]
    );
    assert_eq!(
        round_trip(&PkiResponse::default()),
        [0x30, 0x06, 0x30, 0, 0x30, 0, 0x30, 0]
    );
}

#[test]
fn tagged_request_alternatives_are_implicit() {
    let pd = sample_pki_data();
    let first_bytes: Vec<u8> = pd.req_sequence.iter().map(|r| round_trip(r)[0]).collect();
    // [0] tcr, [1] crm, [1] crm, [2] orm: constructed context tags replacing SEQUENCE.
    assert_eq!(first_bytes, [0xA0, 0xA1, 0xA1, 0xA2]);
    // IMPLICIT: the tag is followed directly by the SEQUENCE's contents (bodyPartID).
    let tcr = pd.req_sequence[0].to_der().unwrap();
    assert_eq!(
        tlvs(contents(&tcr))[0].0,
        0x02,
        "INTEGER bodyPartID right inside [0]"
    );
    let orm = pd.req_sequence[3].to_der().unwrap();
    assert_eq!(
        tlvs(contents(&orm))[0].0,
        0x02,
        "INTEGER bodyPartID right inside [2]"
    );
    let crm = pd.req_sequence[1].to_der().unwrap();
    let crm_inner = match &pd.req_sequence[1] {
        TaggedRequest::Crm(c) => c.to_der().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(crm[1..], crm_inner[1..], "only the outer tag differs");
    assert_eq!(crm_inner[0], 0x30);
}

#[test]
fn cert_template_tags() {
    let t = full_template();
    let der = round_trip(&t);
    // The tag of each field and the first octet of its contents.
    let tags: Vec<_> = tlvs(contents(&der))
        .into_iter()
        .map(|(tag, value)| (tag, value.first().copied()))
        .collect();
    assert_eq!(
        tags,
        [
            (0x80, Some(0x02)), // [0] IMPLICIT Version: INTEGER contents
            (0x81, Some(0x01)), // [1] IMPLICIT INTEGER
            (0xA2, Some(0x06)), // [2] IMPLICIT AlgorithmIdentifier: OID first
            (0xA3, Some(0x30)), // [3] EXPLICIT Name: inner SEQUENCE (RDNSequence)
            (0xA4, Some(0xA0)), // [4] IMPLICIT OptionalValidity: [0] notBefore
            (0xA5, Some(0x30)), // [5] EXPLICIT Name
            (0xA6, Some(0x30)), // [6] IMPLICIT SubjectPublicKeyInfo: AlgorithmIdentifier
            (0x87, Some(0x00)), // [7] IMPLICIT BIT STRING: unused-bits octet
            (0x88, Some(0x00)), // [8] IMPLICIT BIT STRING
            (0xA9, Some(0x30)), // [9] IMPLICIT Extensions: first Extension
        ]
    );
    round_trip(&CertTemplate::default());
}

#[test]
fn optional_validity_time_is_explicit() {
    let v = full_template().validity.unwrap();
    let der = round_trip(&v);
    // [0] { UTCTime } [1] { GeneralizedTime }
    let fields = tlvs(contents(&der));
    assert_eq!(fields[0].0, 0xA0);
    assert_eq!(tlvs(fields[0].1)[0].0, 0x17);
    assert_eq!(fields[1].0, 0xA1);
    assert_eq!(tlvs(fields[1].1)[0].0, 0x18);
    for v in [
        OptionalValidity {
            not_before: v.not_before,
            not_after: None,
        },
        OptionalValidity {
            not_before: None,
            not_after: v.not_after,
        },
    ] {
        round_trip(&v);
    }
}

#[test]
fn every_proof_of_possession_alternative() {
    let expected_outer = [0x80, 0xA1, 0xA1, 0xA1];
    let popos = all_popos();
    assert_eq!(popos.len(), 4 + 2 * 6);
    for (i, popo) in popos.iter().enumerate() {
        let der = round_trip(popo);
        match popo {
            ProofOfPossession::RaVerified(_) => assert_eq!(der, [0x80, 0x00]),
            ProofOfPossession::Signature(_) => {
                assert_eq!(der[0], expected_outer[i]);
                // IMPLICIT: first element is poposkInput [0] or the AlgorithmIdentifier.
                let first = tlvs(contents(&der))[0].0;
                assert!(first == 0xA0 || first == 0x30, "{first:#x}");
            }
            ProofOfPossession::KeyEncipherment(key) | ProofOfPossession::KeyAgreement(key) => {
                let outer = if matches!(popo, ProofOfPossession::KeyEncipherment(_)) {
                    0xA2
                } else {
                    0xA3
                };
                assert_eq!(der[0], outer);
                // EXPLICIT around the POPOPrivKey CHOICE: the inner TLV is the whole
                // alternative, itself IMPLICITly tagged.
                let inner = key.to_der().unwrap();
                assert_eq!(&der[der.len() - inner.len()..], inner.as_slice());
                let inner_tag = match key {
                    cmc_asn1::PopoPrivKey::ThisMessage(_) => 0x80,
                    cmc_asn1::PopoPrivKey::SubsequentMessage(_) => 0x81,
                    cmc_asn1::PopoPrivKey::DhMac(_) => 0x82,
                    cmc_asn1::PopoPrivKey::AgreeMac(_) => 0xA3,
                    cmc_asn1::PopoPrivKey::EncryptedKey(_) => 0xA4,
                };
                assert_eq!(inner[0], inner_tag);
            }
        }
    }
    assert_eq!(
        cmc_asn1::PopoPrivKey::SubsequentMessage(cmc_asn1::SubsequentMessage::ChallengeResp)
            .to_der()
            .unwrap(),
        [0x81, 0x01, 0x01]
    );
}

#[test]
fn popo_signing_key_input_sender_is_explicit() {
    let input = PopoSigningKeyInput {
        auth_info: PopoSigningKeyInputAuthInfo::Sender(GeneralName::DirectoryName(name("CN=S"))),
        public_key: spki_p256(1),
    };
    let der = round_trip(&input);
    // SEQUENCE { [0] { [4] { Name } } ... }: GeneralName is a CHOICE.
    let fields = tlvs(contents(&der));
    assert_eq!(fields[0].0, 0xA0);
    assert_eq!(tlvs(fields[0].1)[0].0, 0xA4);
    assert_eq!(tlvs(tlvs(fields[0].1)[0].1)[0].0, 0x30);
    let mac = PopoSigningKeyInput {
        auth_info: PopoSigningKeyInputAuthInfo::PublicKeyMac(pk_mac()),
        public_key: spki_p256(1),
    };
    assert_eq!(tlvs(contents(&round_trip(&mac)))[0].0, 0x30);
}

#[test]
fn crmf_helper_types() {
    round_trip(&pk_mac());
    round_trip(&PbmParameter {
        salt: octets(&[1; 16]),
        owf: alg(rfc5912::ID_SHA_256),
        iteration_count: Int::new(&[0x03, 0xE8]).unwrap(),
        mac: alg_null(rfc6268::ID_HMAC_WITH_SHA_256),
    });
    let mut msg = crm(7, client_template(), None);
    msg.cert_req.controls = Some(vec![x509_cert::attr::AttributeTypeAndValue {
        oid: oid::ID_CMC_POP_LINK_WITNESS_V2,
        value: Any::encode_from(&PopLinkWitnessV2 {
            key_gen_algorithm: alg(rfc5911::ID_PBKDF_2),
            mac_algorithm: alg_null(rfc6268::ID_HMAC_WITH_SHA_256),
            witness: octets(&[3; 32]),
        })
        .unwrap(),
    }]);
    round_trip(&msg);
    assert_eq!(msg.cert_req.body_part_id().unwrap(), 7);
    assert_eq!(msg.cert_req.cert_req_id.as_bytes(), [7]);
    msg.cert_req.cert_req_id = Int::new(&[0xFF]).unwrap();
    assert!(msg.cert_req.body_part_id().is_err(), "-1 is no BodyPartID");
    msg.cert_req.cert_req_id = Int::new(&[0x01, 0, 0, 0, 0]).unwrap();
    assert!(
        msg.cert_req.body_part_id().is_err(),
        "2^32 is no BodyPartID"
    );
}

#[test]
fn publication_info() {
    for (action, infos) in [
        (PublicationAction::DontPublish, None),
        (
            PublicationAction::PleasePublish,
            Some(vec![
                SinglePubInfo {
                    pub_method: PublicationMethod::DontCare,
                    pub_location: None,
                },
                SinglePubInfo {
                    pub_method: PublicationMethod::Ldap,
                    pub_location: Some(GeneralName::UniformResourceIdentifier(
                        der::asn1::Ia5String::new("ldap://dir.example").unwrap(),
                    )),
                },
                SinglePubInfo {
                    pub_method: PublicationMethod::X500,
                    pub_location: None,
                },
                SinglePubInfo {
                    pub_method: PublicationMethod::Web,
                    pub_location: None,
                },
            ]),
        ),
    ] {
        let info = PkiPublicationInfo {
            action,
            pub_infos: infos,
        };
        round_trip(&info);
        let publish = CmcPublicationInfo {
            hash_alg: alg(rfc5912::ID_SHA_256),
            cert_hashes: vec![octets(&[1; 32]), octets(&[2; 32])],
            pub_info: info,
        };
        round_trip(&publish);
        round_trip(&TaggedAttribute::from_value(1, &publish).unwrap());
    }
}

/// Round-trips `value`, and as a control: the OID comes from `AssociatedOid` and
/// `single_value` gives it back.
fn control_round_trip<T>(value: &T, oid: const_oid::ObjectIdentifier)
where
    T: AssociatedOid
        + Encode
        + for<'a> Decode<'a, Error = der::Error>
        + PartialEq
        + std::fmt::Debug,
{
    assert_eq!(T::OID, oid);
    round_trip(value);
    let attr = TaggedAttribute::from_value(42, value).unwrap();
    assert_eq!(attr.attr_type, oid);
    round_trip(&attr);
    assert_eq!(&attr.single_value::<T>().unwrap(), value);
    let pd = PkiData {
        control_sequence: vec![attr],
        ..Default::default()
    };
    let (id, back) = PkiData::from_der(&pd.to_der().unwrap())
        .unwrap()
        .unique_control::<T>()
        .unwrap()
        .unwrap();
    assert_eq!((id, &back), (42, value));
}

#[test]
fn every_control_value_type() {
    control_round_trip(&Identification("bob".into()), oid::ID_CMC_IDENTIFICATION);
    control_round_trip(&IdentityProof(octets(&[1; 20])), oid::ID_CMC_IDENTITY_PROOF);
    control_round_trip(&DataReturn(octets(b"x")), oid::ID_CMC_DATA_RETURN);
    control_round_trip(
        &TransactionId(Int::new(&[0x80, 0]).unwrap()),
        oid::ID_CMC_TRANSACTION_ID,
    );
    control_round_trip(&SenderNonce(octets(&[9; 16])), oid::ID_CMC_SENDER_NONCE);
    control_round_trip(
        &RecipientNonce(octets(&[9; 16])),
        oid::ID_CMC_RECIPIENT_NONCE,
    );
    control_round_trip(&RegInfo(octets(b"pkcs10")), oid::ID_CMC_REG_INFO);
    control_round_trip(&ResponseInfo(octets(b"{}")), oid::ID_CMC_RESPONSE_INFO);
    control_round_trip(&QueryPending(octets(b"tok")), oid::ID_CMC_QUERY_PENDING);
    control_round_trip(
        &PopLinkRandom(octets(&[5; 32])),
        oid::ID_CMC_POP_LINK_RANDOM,
    );
    control_round_trip(
        &PopLinkWitness(octets(&[6; 20])),
        oid::ID_CMC_POP_LINK_WITNESS,
    );
    control_round_trip(
        &CmcCertId(issuer_and_serial()),
        oid::ID_CMC_CONFIRM_CERT_ACCEPTANCE,
    );
    control_round_trip(&AuthPublish(17), oid::ID_CMC_AUTH_DATA);
    control_round_trip(
        &IdentityProofV2 {
            proof_alg_id: alg(rfc5912::ID_SHA_256),
            mac_alg_id: alg_null(rfc6268::ID_HMAC_WITH_SHA_256),
            witness: octets(&[7; 32]),
        },
        oid::ID_CMC_IDENTITY_PROOF_V2,
    );
    control_round_trip(
        &PopLinkWitnessV2 {
            key_gen_algorithm: alg(rfc5911::ID_PBKDF_2),
            mac_algorithm: alg_null(rfc6268::ID_HMAC_WITH_SHA_256),
            witness: octets(&[8; 32]),
        },
        oid::ID_CMC_POP_LINK_WITNESS_V2,
    );
    let pd = sample_pki_data();
    control_round_trip(
        &EncryptedPop {
            request: pd.req_sequence[0].clone(),
            cms: enveloped_content_info(),
            the_pop_alg_id: alg_null(rfc6268::ID_HMAC_WITH_SHA_256),
            witness_alg_id: alg(rfc5912::ID_SHA_256),
            witness: octets(&[1; 32]),
        },
        oid::ID_CMC_ENCRYPTED_POP,
    );
    control_round_trip(
        &EncryptedPop {
            request: pd.req_sequence[1].clone(),
            cms: enveloped_content_info(),
            the_pop_alg_id: alg_null(rfc6268::ID_HMAC_WITH_SHA_256),
            witness_alg_id: alg(rfc5912::ID_SHA_256),
            witness: octets(&[1; 32]),
        },
        oid::ID_CMC_ENCRYPTED_POP,
    );
    control_round_trip(
        &DecryptedPop {
            body_part_id: 0x2001,
            the_pop_alg_id: alg_null(rfc6268::ID_HMAC_WITH_SHA_256),
            the_pop: octets(&[2; 32]),
        },
        oid::ID_CMC_DECRYPTED_POP,
    );
    control_round_trip(
        &AddExtensions {
            pki_data_reference: 0,
            cert_references: vec![],
            extensions: extensions(),
        },
        oid::ID_CMC_ADD_EXTENSIONS,
    );
    control_round_trip(
        &LraPopWitness {
            pki_data_bodyid: 1,
            body_ids: vec![2, 3],
        },
        oid::ID_CMC_LRA_POP_WITNESS,
    );
    for g in [
        GetCert {
            issuer_name: GeneralName::DirectoryName(name("CN=CA")),
            serial_number: x509_cert::serial_number::SerialNumber::new(&[1]).unwrap(),
        },
        GetCert {
            issuer_name: GeneralName::DnsName(der::asn1::Ia5String::new("ca.example").unwrap()),
            serial_number: x509_cert::serial_number::SerialNumber::new(&[0x80, 1]).unwrap(),
        },
    ] {
        control_round_trip(&g, oid::ID_CMC_GET_CERT);
    }
    let full_crl = match &pd.control_sequence[9] {
        a if a.attr_type == oid::ID_CMC_GET_CRL => a.single_value::<GetCrl>().unwrap(),
        other => panic!("{other:?}"),
    };
    control_round_trip(&full_crl, oid::ID_CMC_GET_CRL);
    for (crl_name, time, reasons) in [
        (None, None, None),
        (None, full_crl.time, None),
        (None, None, full_crl.reasons),
        (full_crl.crl_name.clone(), None, full_crl.reasons),
    ] {
        control_round_trip(
            &GetCrl {
                issuer_name: name("CN=CA"),
                crl_name,
                time,
                reasons,
            },
            oid::ID_CMC_GET_CRL,
        );
    }
    control_round_trip(
        &RevokeRequest {
            issuer_name: name("CN=CA"),
            serial_number: x509_cert::serial_number::SerialNumber::new(&[1]).unwrap(),
            reason: CrlReason::Superseded,
            invalidity_date: None,
            passphrase: None,
            comment: Some("only a comment".into()),
        },
        oid::ID_CMC_REVOKE_REQUEST,
    );
    control_round_trip(
        &RevokeRequest {
            issuer_name: name("CN=CA"),
            serial_number: x509_cert::serial_number::SerialNumber::new(&[1]).unwrap(),
            reason: CrlReason::Unspecified,
            invalidity_date: None,
            passphrase: Some(octets(b"pw")),
            comment: None,
        },
        oid::ID_CMC_REVOKE_REQUEST,
    );
    control_round_trip(
        &CmcStatusInfoV2 {
            cmc_status: CmcStatus::Partial,
            body_list: vec![BodyPartReference::BodyPartId(1)],
            status_string: None,
            other_info: Some(cmc_asn1::OtherStatusInfo::FailInfo(CmcFailInfo::TryLater)),
        },
        oid::ID_CMC_STATUS_INFO_V2,
    );
    control_round_trip(
        &cmc_asn1::CmcStatusInfo {
            cmc_status: CmcStatus::Success,
            body_list: vec![1],
            status_string: None,
            other_info: None,
        },
        oid::ID_CMC_STATUS_INFO,
    );
    control_round_trip(
        &PublishTrustAnchors {
            seq_number: Int::new(&[3]).unwrap(),
            hash_algorithm: alg(rfc5912::ID_SHA_256),
            anchor_hashes: vec![octets(&[4; 32])],
        },
        oid::ID_CMC_TRUSTED_ANCHORS,
    );
    control_round_trip(&BatchRequests(vec![1, 2]), oid::ID_CMC_BATCH_REQUESTS);
    control_round_trip(&BatchResponses(vec![3]), oid::ID_CMC_BATCH_RESPONSES);
    control_round_trip(
        &ControlsProcessed {
            body_list: vec![
                BodyPartReference::BodyPartId(5),
                BodyPartReference::BodyPartPath(BodyPartPath(vec![6, 7])),
            ],
        },
        oid::ID_CMC_CONTROL_PROCESSED,
    );
    control_round_trip(
        &RaIdentityWitness(vec![1, 2]),
        oid::ID_CMC_RA_IDENTITY_WITNESS,
    );
    control_round_trip(&ResponseBodyPath(vec![1]), oid::ID_CMC_RESPONSE_BODY);
    for replace in [true, false] {
        control_round_trip(
            &ModCertTemplate {
                pki_data_reference: BodyPartPath(vec![0x3001]),
                cert_references: BodyPartList(vec![0x2001]),
                replace,
                cert_template: client_template(),
            },
            oid::ID_CMC_MOD_CERT_TEMPLATE,
        );
    }
    control_round_trip(
        &ChangeSubjectName {
            subject: Some(name("CN=New Name")),
            subject_alt: None,
        },
        oid::ID_CMC_CHANGE_SUBJECT_NAME,
    );
    control_round_trip(
        &CmcUnsignedData {
            body_part_path: BodyPartPath(vec![1, 2]),
            identifier: rfc5911::ID_DATA,
            content: Any::encode_from(&octets(b"cert")).unwrap(),
        },
        oid::ID_AA_CMC_UNSIGNED_DATA,
    );
}

#[test]
fn mod_cert_template_replace_defaults_to_true() {
    let mk = |replace| ModCertTemplate {
        pki_data_reference: BodyPartPath(vec![1]),
        cert_references: BodyPartList(vec![2]),
        replace,
        cert_template: Default::default(),
    };
    // DER omits a DEFAULT value: no BOOLEAN when TRUE, 01 01 00 when FALSE.
    let field_tags =
        |der: &[u8]| -> Vec<u8> { tlvs(contents(der)).into_iter().map(|(t, _)| t).collect() };
    let t = round_trip(&mk(true));
    let f = round_trip(&mk(false));
    assert_eq!(field_tags(&t), [0x30, 0x30, 0x30]);
    assert_eq!(field_tags(&f), [0x30, 0x30, 0x01, 0x30]);
    assert_eq!(tlvs(contents(&f))[2].1, [0x00]);
}

#[test]
fn change_subject_name_alternatives() {
    let alt_only = ChangeSubjectName {
        subject: None,
        subject_alt: Some(vec![GeneralName::DnsName(
            der::asn1::Ia5String::new("new.example").unwrap(),
        )]),
    };
    let der = round_trip(&alt_only);
    // [1] IMPLICIT GeneralNames: A1 replaces the SEQUENCE tag; then [2] dNSName.
    let fields = tlvs(contents(&der));
    assert_eq!(fields[0].0, 0xA1);
    assert_eq!(tlvs(fields[0].1)[0].0, 0x82);
    round_trip(&ChangeSubjectName {
        subject: Some(name("CN=Both")),
        ..alt_only
    });
}

#[test]
fn single_value_and_unique_control_errors() {
    let mut attr = TaggedAttribute::new(1, oid::ID_CMC_SENDER_NONCE, &octets(b"a")).unwrap();
    attr.attr_values
        .insert(Any::encode_from(&octets(b"b")).unwrap())
        .unwrap();
    assert_eq!(
        attr.single_value::<OctetString>(),
        Err(Error::ValueCount {
            attr_type: oid::ID_CMC_SENDER_NONCE,
            count: 2
        })
    );
    let empty = TaggedAttribute {
        body_part_id: 1,
        attr_type: oid::ID_CMC_SENDER_NONCE,
        attr_values: SetOfVec::new(),
    };
    assert!(matches!(
        empty.single_value::<OctetString>(),
        Err(Error::ValueCount { count: 0, .. })
    ));
    // Wrong type.
    let one = TaggedAttribute::new(1, oid::ID_CMC_SENDER_NONCE, &octets(b"a")).unwrap();
    assert!(matches!(one.single_value::<Int>(), Err(Error::Der(_))));

    let twice = PkiData {
        control_sequence: vec![one.clone(), one.clone()],
        ..Default::default()
    };
    assert!(matches!(
        twice.unique_control::<SenderNonce>(),
        Err(Error::ValueCount { count: 2, .. })
    ));
    assert_eq!(twice.controls_of::<SenderNonce>().unwrap().len(), 2);
    assert_eq!(twice.control(&oid::ID_CMC_SENDER_NONCE).count(), 2);
    assert_eq!(twice.control(&oid::ID_CMC_RECIPIENT_NONCE).count(), 0);
    assert!(twice.unique_control::<RecipientNonce>().unwrap().is_none());

    let resp = PkiResponse {
        control_sequence: vec![one],
        ..Default::default()
    };
    assert_eq!(resp.control(&oid::ID_CMC_SENDER_NONCE).count(), 1);
    assert_eq!(
        resp.unique_control::<SenderNonce>().unwrap().unwrap().1,
        SenderNonce(octets(b"a"))
    );
    assert_eq!(resp.controls_of::<SenderNonce>().unwrap().len(), 1);
}

#[test]
fn responses_carry_what_was_built() {
    for (label, resp) in sample_responses() {
        let back = PkiResponse::from_der(&resp.to_der().unwrap()).unwrap();
        let (_, status) = back.unique_control::<CmcStatusInfoV2>().unwrap().unwrap();
        let expected = match label {
            "pki_response_success" => CmcStatus::Success,
            "pki_response_failed" | "pki_response_failed_extended" => CmcStatus::Failed,
            "pki_response_pending" => CmcStatus::Pending,
            other => panic!("{other}"),
        };
        assert_eq!(status.cmc_status, expected);
        assert!(!status.body_list.is_empty());
    }
}
