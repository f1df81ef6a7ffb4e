//! Builders for sample CMC structures, shared by the round-trip tests and the
//! `emit_samples` example (which writes them out for the pyasn1 cross-check).

// Each user of this module needs a different subset; building samples may unwrap.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::time::Duration;

use cmc_asn1::{
    AddExtensions, BodyPartList, ChangeSubjectName, ControlsProcessed, ModCertTemplate,
    RaIdentityWitness,
};
use cmc_asn1::{
    BodyPartPath, BodyPartReference, CertReqMsg, CertRequest, CertTemplate, CmcFailInfo, CmcStatus,
    CmcStatusInfoV2, DataReturn, ExtendedFailInfo, GetCert, GetCrl, Identification,
    IdentityProofV2, LraPopWitness, OptionalValidity, OtherMsg, OtherRequestMsg, OtherStatusInfo,
    PendInfo, PkMacValue, PkiData, PkiResponse, PopoPrivKey, PopoSigningKey, PopoSigningKeyInput,
    PopoSigningKeyInputAuthInfo, ProofOfPossession, RecipientNonce, RegInfo, ResponseInfo,
    RevokeRequest, SenderNonce, SubsequentMessage, TaggedAttribute, TaggedCertificationRequest,
    TaggedContentInfo, TaggedRequest, TransactionId,
};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo,
    RecipientInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5280, rfc5911, rfc5912, rfc6268};
use der::asn1::{
    Any, BitString, GeneralizedTime, Ia5String, Int, Null, OctetString, SetOfVec, UtcTime,
};
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::{Attribute, AttributeTypeAndValue};
use x509_cert::certificate::Version;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::crl::dp::Reasons;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

pub(crate) fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

pub(crate) fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

pub(crate) fn alg_null(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::null()),
    }
}

pub(crate) fn octets(bytes: &[u8]) -> OctetString {
    OctetString::new(bytes).unwrap()
}

pub(crate) fn gen_time(unix: u64) -> GeneralizedTime {
    GeneralizedTime::from_unix_duration(Duration::from_secs(unix)).unwrap()
}

pub(crate) fn spki_p256(fill: u8) -> SubjectPublicKeyInfoOwned {
    let mut point = vec![fill; 65];
    point[0] = 4;
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: rfc5912::ID_EC_PUBLIC_KEY,
            parameters: Some(Any::from(&rfc5912::SECP_256_R_1)),
        },
        subject_public_key: BitString::from_bytes(&point).unwrap(),
    }
}

pub(crate) fn extensions() -> Vec<Extension> {
    vec![
        Extension {
            extn_id: rfc5280::ID_CE_KEY_USAGE,
            critical: true,
            extn_value: octets(&[0x03, 0x02, 0x07, 0x80]),
        },
        Extension {
            extn_id: rfc5280::ID_CE_SUBJECT_ALT_NAME,
            critical: false,
            extn_value: octets(
                &vec![GeneralName::DnsName(
                    Ia5String::new("client.example").unwrap(),
                )]
                .to_der()
                .unwrap(),
            ),
        },
    ]
}

/// A PKCS #10 request with an extensionRequest attribute and a made-up signature.
pub(crate) fn cert_req() -> CertReq {
    let mut values = SetOfVec::new();
    values
        .insert(Any::encode_from(&ExtensionReq(extensions())).unwrap())
        .unwrap();
    let mut attributes = SetOfVec::new();
    attributes
        .insert(Attribute {
            oid: rfc5912::ID_EXTENSION_REQ,
            values,
        })
        .unwrap();
    CertReq {
        info: CertReqInfo {
            version: x509_cert::request::Version::V1,
            subject: name("CN=PKCS10 Client,O=Example,C=SE"),
            public_key: spki_p256(0x11),
            attributes,
        },
        algorithm: alg(rfc5912::ECDSA_WITH_SHA_256),
        signature: BitString::from_bytes(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])
            .unwrap(),
    }
}

/// A CertTemplate with every field present.
pub(crate) fn full_template() -> CertTemplate {
    CertTemplate {
        version: Some(Version::V3),
        serial_number: Some(Int::new(&[0x01, 0x02]).unwrap()),
        signing_alg: Some(alg(rfc5912::ECDSA_WITH_SHA_256)),
        issuer: Some(name("CN=Issuing CA,O=Example,C=SE")),
        validity: Some(OptionalValidity {
            not_before: Some(Time::UtcTime(
                UtcTime::from_unix_duration(Duration::from_secs(1_700_000_000)).unwrap(),
            )),
            not_after: Some(Time::GeneralTime(gen_time(2_600_000_000))),
        }),
        subject: Some(name("CN=CRMF Client,O=Example,C=SE")),
        public_key: Some(spki_p256(0x22)),
        issuer_uid: Some(BitString::from_bytes(&[0xAA]).unwrap()),
        subject_uid: Some(BitString::from_bytes(&[0xBB]).unwrap()),
        extensions: Some(extensions()),
    }
}

/// The template the swedenconnect client sends: subject, public key, extensions.
pub(crate) fn client_template() -> CertTemplate {
    CertTemplate {
        subject: Some(name("CN=CRMF Client,O=Example,C=SE")),
        public_key: Some(spki_p256(0x33)),
        extensions: Some(extensions()),
        ..Default::default()
    }
}

pub(crate) fn crm(
    cert_req_id: u32,
    template: CertTemplate,
    popo: Option<ProofOfPossession>,
) -> CertReqMsg {
    CertReqMsg {
        cert_req: CertRequest::new(cert_req_id, template).unwrap(),
        popo,
        reg_info: None,
    }
}

pub(crate) fn pk_mac() -> PkMacValue {
    PkMacValue {
        alg_id: alg(rfc5912::ID_PASSWORD_BASED_MAC),
        value: BitString::from_bytes(&[0x5A; 20]).unwrap(),
    }
}

pub(crate) fn issuer_and_serial() -> IssuerAndSerialNumber {
    IssuerAndSerialNumber {
        issuer: name("CN=Issuing CA,O=Example,C=SE"),
        serial_number: SerialNumber::new(&[0x01, 0x23, 0x45]).unwrap(),
    }
}

pub(crate) fn enveloped_data() -> EnvelopedData {
    let mut recips = SetOfVec::new();
    recips
        .insert(RecipientInfo::Ktri(KeyTransRecipientInfo {
            version: CmsVersion::V0,
            rid: RecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial()),
            key_enc_alg: alg_null(rfc5912::RSA_ENCRYPTION),
            enc_key: octets(&[0x42; 32]),
        }))
        .unwrap();
    EnvelopedData {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: RecipientInfos(recips),
        encrypted_content: EncryptedContentInfo {
            content_type: rfc5911::ID_DATA,
            content_enc_alg: AlgorithmIdentifierOwned {
                oid: rfc5911::ID_AES_128_CBC,
                parameters: Some(Any::encode_from(&octets(&[0x10; 16])).unwrap()),
            },
            encrypted_content: Some(octets(&[0x99; 32])),
        },
        unprotected_attrs: None,
    }
}

pub(crate) fn enveloped_content_info() -> ContentInfo {
    ContentInfo {
        content_type: rfc5911::ID_ENVELOPED_DATA,
        content: Any::encode_from(&enveloped_data()).unwrap(),
    }
}

/// Every alternative of ProofOfPossession, with every alternative of the nested CHOICEs.
pub(crate) fn all_popos() -> Vec<ProofOfPossession> {
    let mut popos = vec![
        ProofOfPossession::RaVerified(Null),
        ProofOfPossession::Signature(PopoSigningKey {
            poposk_input: None,
            algorithm_identifier: alg(rfc5912::ECDSA_WITH_SHA_256),
            signature: BitString::from_bytes(&[1, 2, 3]).unwrap(),
        }),
        ProofOfPossession::Signature(PopoSigningKey {
            poposk_input: Some(PopoSigningKeyInput {
                auth_info: PopoSigningKeyInputAuthInfo::Sender(GeneralName::DirectoryName(name(
                    "CN=Sender",
                ))),
                public_key: spki_p256(0x44),
            }),
            algorithm_identifier: alg(rfc5912::ECDSA_WITH_SHA_256),
            signature: BitString::from_bytes(&[4, 5, 6]).unwrap(),
        }),
        ProofOfPossession::Signature(PopoSigningKey {
            poposk_input: Some(PopoSigningKeyInput {
                auth_info: PopoSigningKeyInputAuthInfo::PublicKeyMac(pk_mac()),
                public_key: spki_p256(0x55),
            }),
            algorithm_identifier: alg(rfc5912::ECDSA_WITH_SHA_256),
            signature: BitString::from_bytes(&[7, 8, 9]).unwrap(),
        }),
    ];
    for key in all_popo_priv_keys() {
        popos.push(ProofOfPossession::KeyEncipherment(key.clone()));
        popos.push(ProofOfPossession::KeyAgreement(key));
    }
    popos
}

pub(crate) fn all_popo_priv_keys() -> Vec<PopoPrivKey> {
    vec![
        PopoPrivKey::ThisMessage(BitString::from_bytes(&[0xDE, 0xAD]).unwrap()),
        PopoPrivKey::SubsequentMessage(SubsequentMessage::EncrCert),
        PopoPrivKey::SubsequentMessage(SubsequentMessage::ChallengeResp),
        PopoPrivKey::DhMac(BitString::from_bytes(&[0xBE, 0xEF]).unwrap()),
        PopoPrivKey::AgreeMac(pk_mac()),
        PopoPrivKey::EncryptedKey(enveloped_data()),
    ]
}

pub(crate) fn control<T: const_oid::AssociatedOid + Encode>(id: u32, value: &T) -> TaggedAttribute {
    TaggedAttribute::from_value(id, value).unwrap()
}

/// A Full PKI Request exercising many controls and every kind of body part.
pub(crate) fn sample_pki_data() -> PkiData {
    let mut crm_with_reg = crm(0x0000_2002, client_template(), None);
    crm_with_reg.reg_info = Some(vec![AttributeTypeAndValue {
        oid: rfc5912::ID_REG_INFO_UTF_8_PAIRS,
        value: Any::encode_from(&der::asn1::Utf8StringRef::new("profile?tls%").unwrap()).unwrap(),
    }]);
    PkiData {
        control_sequence: vec![
            control(1, &Identification("alice@example.com".into())),
            control(
                2,
                &IdentityProofV2 {
                    proof_alg_id: alg(rfc5912::ID_SHA_256),
                    mac_alg_id: alg_null(rfc6268::ID_HMAC_WITH_SHA_256),
                    witness: octets(&[0x77; 32]),
                },
            ),
            control(
                3,
                &TransactionId(Int::new(&[0x12, 0x34, 0x56, 0x78, 0x9A]).unwrap()),
            ),
            control(4, &SenderNonce(octets(&[0xA5; 16]))),
            control(5, &DataReturn(octets(b"opaque client state"))),
            control(6, &RegInfo(octets(b"crmf"))),
            control(
                7,
                &LraPopWitness {
                    pki_data_bodyid: 0,
                    body_ids: vec![0x2001, 0x2002],
                },
            ),
            control(
                8,
                &RevokeRequest {
                    issuer_name: name("CN=Issuing CA,O=Example,C=SE"),
                    serial_number: SerialNumber::new(&[0xD2, 0x99, 0x20, 0xC9]).unwrap(),
                    reason: CrlReason::KeyCompromise,
                    invalidity_date: Some(gen_time(1_675_115_142)),
                    passphrase: Some(octets(b"secret")),
                    comment: Some("lost laptop".into()),
                },
            ),
            control(
                9,
                &GetCert {
                    issuer_name: GeneralName::DirectoryName(name("CN=Issuing CA,O=Example,C=SE")),
                    serial_number: SerialNumber::new(&[0x01, 0x23, 0x45]).unwrap(),
                },
            ),
            control(
                10,
                &GetCrl {
                    issuer_name: name("CN=Issuing CA,O=Example,C=SE"),
                    crl_name: Some(GeneralName::UniformResourceIdentifier(
                        Ia5String::new("http://crl.example/ca.crl").unwrap(),
                    )),
                    time: Some(gen_time(1_700_000_000)),
                    reasons: Some(Reasons::KeyCompromise | Reasons::CaCompromise),
                },
            ),
        ],
        req_sequence: vec![
            TaggedRequest::Tcr(Box::new(TaggedCertificationRequest {
                body_part_id: 0x2001,
                certification_request: cert_req(),
            })),
            TaggedRequest::Crm(Box::new(crm_with_reg)),
            TaggedRequest::Crm(Box::new(crm(
                0x2003,
                full_template(),
                Some(ProofOfPossession::Signature(PopoSigningKey {
                    poposk_input: None,
                    algorithm_identifier: alg(rfc5912::ECDSA_WITH_SHA_256),
                    signature: BitString::from_bytes(&[0x30, 0x00]).unwrap(),
                })),
            ))),
            TaggedRequest::Orm(OtherRequestMsg {
                body_part_id: 0x2004,
                request_message_type: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
                request_message_value: Any::encode_from(&octets(b"other request")).unwrap(),
            }),
        ],
        cms_sequence: vec![TaggedContentInfo {
            body_part_id: 0x3001,
            content_info: enveloped_content_info(),
        }],
        other_msg_sequence: vec![OtherMsg {
            body_part_id: 0x4001,
            other_msg_type: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.2"),
            other_msg_value: Any::encode_from(&octets(b"other message")).unwrap(),
        }],
    }
}

/// One CRMF request per ProofOfPossession alternative.
pub(crate) fn sample_popo_pki_data() -> PkiData {
    PkiData {
        control_sequence: vec![control(1, &SenderNonce(octets(&[1; 16])))],
        req_sequence: all_popos()
            .into_iter()
            .zip(0x5000..)
            .map(|(popo, id)| TaggedRequest::Crm(Box::new(crm(id, client_template(), Some(popo)))))
            .collect(),
        ..Default::default()
    }
}

fn status(s: CmcStatusInfoV2) -> TaggedAttribute {
    control(100, &s)
}

/// Responses: success, failed with failInfo, failed with extendedFailInfo, pending with
/// pendInfo.
pub(crate) fn sample_responses() -> Vec<(&'static str, PkiResponse)> {
    let nonce = RecipientNonce(octets(&[0xA5; 16]));
    let sender = SenderNonce(octets(&[0x5A; 16]));
    vec![
        (
            "pki_response_success",
            PkiResponse {
                control_sequence: vec![
                    status(CmcStatusInfoV2 {
                        cmc_status: CmcStatus::Success,
                        body_list: vec![BodyPartReference::BodyPartId(0x2001)],
                        status_string: Some("issued".into()),
                        other_info: None,
                    }),
                    control(101, &nonce),
                    control(102, &sender),
                    control(103, &ResponseInfo(octets(b"{\"ok\":true}"))),
                    control(104, &DataReturn(octets(b"opaque client state"))),
                ],
                ..Default::default()
            },
        ),
        (
            "pki_response_failed",
            PkiResponse {
                control_sequence: vec![
                    status(CmcStatusInfoV2 {
                        cmc_status: CmcStatus::Failed,
                        body_list: vec![
                            BodyPartReference::BodyPartId(0),
                            BodyPartReference::BodyPartPath(BodyPartPath(vec![0x3001, 0x2001])),
                        ],
                        status_string: Some("signature did not verify".into()),
                        other_info: Some(OtherStatusInfo::FailInfo(CmcFailInfo::BadMessageCheck)),
                    }),
                    control(101, &nonce),
                ],
                ..Default::default()
            },
        ),
        (
            "pki_response_failed_extended",
            PkiResponse {
                control_sequence: vec![
                    status(CmcStatusInfoV2 {
                        cmc_status: CmcStatus::Failed,
                        body_list: vec![BodyPartReference::BodyPartId(0x2003)],
                        status_string: None,
                        other_info: Some(OtherStatusInfo::ExtendedFailInfo(ExtendedFailInfo {
                            fail_info_oid: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.3"),
                            fail_info_value: Any::encode_from(
                                &der::asn1::Utf8StringRef::new("quota exceeded").unwrap(),
                            )
                            .unwrap(),
                        })),
                    }),
                    control(101, &nonce),
                ],
                ..Default::default()
            },
        ),
        (
            "pki_response_pending",
            PkiResponse {
                control_sequence: vec![
                    status(CmcStatusInfoV2 {
                        cmc_status: CmcStatus::Pending,
                        body_list: vec![BodyPartReference::BodyPartId(0x2002)],
                        status_string: None,
                        other_info: Some(OtherStatusInfo::PendInfo(PendInfo {
                            pend_token: octets(b"pending-42"),
                            pend_time: gen_time(1_700_003_600),
                        })),
                    }),
                    control(101, &nonce),
                ],
                cms_sequence: vec![TaggedContentInfo {
                    body_part_id: 0x3002,
                    content_info: enveloped_content_info(),
                }],
                ..Default::default()
            },
        ),
    ]
}

/// An RA's PKIData (issue 17): modCertTemplate, addExtensions, controlProcessed and
/// raIdentityWitness about nested request 10, and a PKCS #10 request of its own carrying a
/// changeSubjectName attribute.
pub(crate) fn sample_ra_pki_data() -> PkiData {
    let mut req = cert_req();
    let rename = ChangeSubjectName {
        subject: Some(name("CN=Renamed Client,O=Example,C=SE")),
        subject_alt: Some(vec![GeneralName::DnsName(
            Ia5String::new("renamed.example").unwrap(),
        )]),
    };
    req.info
        .attributes
        .insert(Attribute {
            oid: cmc_asn1::oid::ID_CMC_CHANGE_SUBJECT_NAME,
            values: SetOfVec::try_from(vec![Any::encode_from(&rename).unwrap()]).unwrap(),
        })
        .unwrap();
    PkiData {
        control_sequence: vec![
            control(
                1,
                &ModCertTemplate {
                    pki_data_reference: BodyPartPath(vec![10]),
                    cert_references: BodyPartList(vec![2, 3]),
                    replace: false,
                    cert_template: CertTemplate {
                        subject: Some(name("CN=RA Given,O=Example,C=SE")),
                        extensions: Some(extensions()),
                        ..CertTemplate::default()
                    },
                },
            ),
            control(
                2,
                &AddExtensions {
                    pki_data_reference: 0,
                    cert_references: vec![0x2001],
                    extensions: extensions(),
                },
            ),
            control(
                3,
                &ControlsProcessed {
                    body_list: vec![
                        BodyPartReference::BodyPartPath(BodyPartPath(vec![10, 4])),
                        BodyPartReference::BodyPartId(7),
                    ],
                },
            ),
            control(4, &RaIdentityWitness(vec![10, 4])),
        ],
        req_sequence: vec![TaggedRequest::Tcr(Box::new(TaggedCertificationRequest {
            body_part_id: 0x2001,
            certification_request: req,
        }))],
        cms_sequence: vec![TaggedContentInfo {
            body_part_id: 10,
            content_info: enveloped_content_info(),
        }],
        other_msg_sequence: Vec::new(),
    }
}

/// Decodes `T` from DER, checks it equals `value` and re-encodes to the same bytes.
pub(crate) fn round_trip<T>(value: &T) -> Vec<u8>
where
    T: Encode + for<'a> Decode<'a, Error = der::Error> + PartialEq + std::fmt::Debug,
{
    let der = value.to_der().unwrap();
    let decoded = T::from_der(&der).unwrap_or_else(|e| panic!("{e}: {value:?}"));
    assert_eq!(&decoded, value);
    assert_eq!(decoded.to_der().unwrap(), der);
    der
}

/// Splits DER into (tag byte, contents) pairs. Single-byte tags only, which is all we use.
pub(crate) fn tlvs(mut der: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let tag = der[0];
        let (len, header) = match der[1] {
            n if n < 0x80 => (usize::from(n), 2),
            n => {
                let k = usize::from(n & 0x7F);
                let len = der[2..2 + k]
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                (len, 2 + k)
            }
        };
        out.push((tag, &der[header..header + len]));
        der = &der[header + len..];
    }
    out
}

/// The contents of a single TLV.
pub(crate) fn contents(der: &[u8]) -> &[u8] {
    let all = tlvs(der);
    assert_eq!(all.len(), 1);
    all[0].1
}
