//! One test per verification check: a message that is correctly signed except for exactly
//! one defect must fail on exactly that check, with the right CMCFailInfo.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime};

use cmc_asn1::{CmcFailInfo, oid};
use cmc_codec::{
    CmsAlgorithmProtection, Error, FullRequest, Limits, ResponseVerifyOptions, VerifyOptions,
    decode_full_request, decode_response,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SigningKey};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNING_TIME};
use const_oid::db::rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION;
use der::asn1::{GeneralizedTime, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// Everything that goes into one signed message, correct by default.
struct Parts {
    econtent_type: ObjectIdentifier,
    econtent: Option<Vec<u8>>,
    /// `None`: no signed attributes; the signature is then over the eContent.
    attrs: Option<Vec<Attribute>>,
    digest_alg: AlgorithmIdentifierOwned,
    signature_alg: AlgorithmIdentifierOwned,
    sid: SignerIdentifier,
    certificates: Vec<Certificate>,
    /// Applied to the signature value after signing.
    corrupt_signature: bool,
    /// Number of identical SignerInfos (0 = unsigned).
    signers: usize,
}

fn attr(oid: ObjectIdentifier, values: &[Any]) -> Attribute {
    let mut set = SetOfVec::new();
    for v in values {
        set.insert(v.clone()).unwrap();
    }
    Attribute { oid, values: set }
}

fn any(value: &impl Encode) -> Any {
    Any::from_der(&value.to_der().unwrap()).unwrap()
}

struct Fixture {
    key: FileKey,
    cert: Certificate,
    pki_data: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let cert = common::ca_cert(&key, "negative tests");
        let pki_data = common::sample_pki_data(b"negative-test-nonce")
            .to_der()
            .unwrap();
        Self {
            key,
            cert,
            pki_data,
        }
    }

    fn parts(&self) -> Parts {
        let tbs = self.cert.tbs_certificate();
        let digest = self.key.hash().digest(&self.pki_data);
        Parts {
            econtent_type: oid::ID_CCT_PKI_DATA,
            econtent: Some(self.pki_data.clone()),
            attrs: Some(vec![
                attr(ID_CONTENT_TYPE, &[any(&oid::ID_CCT_PKI_DATA)]),
                attr(
                    ID_MESSAGE_DIGEST,
                    &[any(&OctetString::new(digest).unwrap())],
                ),
                attr(ID_SIGNING_TIME, &[any(&Time::try_from(now()).unwrap())]),
                attr(
                    ID_AA_CMS_ALGORITHM_PROTECTION,
                    &[any(&CmsAlgorithmProtection {
                        digest_algorithm: self.key.digest_algorithm(),
                        signature_algorithm: Some(self.key.signature_algorithm().clone()),
                        mac_algorithm: None,
                    })],
                ),
            ]),
            digest_alg: self.key.digest_algorithm(),
            signature_alg: self.key.signature_algorithm().clone(),
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            certificates: vec![self.cert.clone()],
            corrupt_signature: false,
            signers: 1,
        }
    }

    /// Builds and signs the message described by `parts` (as modified by `f`).
    fn message(&self, f: impl FnOnce(&mut Parts)) -> Vec<u8> {
        let mut p = self.parts();
        f(&mut p);
        let signed_attrs = p.attrs.map(|a| {
            let mut set = SetOfVec::new();
            for x in a {
                set.insert(x).unwrap();
            }
            set
        });
        let to_sign = match &signed_attrs {
            Some(a) => a.to_der().unwrap(),
            None => p.econtent.clone().unwrap_or_default(),
        };
        let mut signature = self.key.sign(&to_sign).unwrap();
        if p.corrupt_signature {
            let n = signature.len() - 3;
            signature[n] ^= 0x01;
        }
        let si = SignerInfo {
            version: CmsVersion::V1,
            sid: p.sid,
            digest_alg: p.digest_alg.clone(),
            signed_attrs,
            signature_algorithm: p.signature_alg,
            signature: OctetString::new(signature).unwrap(),
            unsigned_attrs: None,
        };
        let mut infos = SetOfVec::new();
        for i in 0..p.signers {
            let mut si = si.clone();
            // Distinct SignerInfos (a SET OF has no duplicates): vary the unsigned attrs.
            if i > 0 {
                let mut ua = SetOfVec::new();
                ua.insert(attr(ID_DATA, &[any(&u32::try_from(i).unwrap())]))
                    .unwrap();
                si.unsigned_attrs = Some(ua);
            }
            infos.insert(si).unwrap();
        }
        let mut digests = SetOfVec::new();
        digests.insert(p.digest_alg).unwrap();
        let mut certs = SetOfVec::new();
        for c in p.certificates {
            certs.insert(CertificateChoices::Certificate(c)).unwrap();
        }
        let sd = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: digests,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: p.econtent_type,
                econtent: p
                    .econtent
                    .map(|e| Any::encode_from(&OctetString::new(e).unwrap()).unwrap()),
            },
            certificates: (!certs.is_empty()).then_some(CertificateSet(certs)),
            crls: None,
            signer_infos: SignerInfos(infos),
        };
        ContentInfo {
            content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
            content: Any::encode_from(&sd).unwrap(),
        }
        .to_der()
        .unwrap()
    }
}

fn now() -> SystemTime {
    SystemTime::now() + Duration::from_secs(2)
}

fn verify(msg: &[u8]) -> Result<FullRequest, Error> {
    decode_full_request(msg, &VerifyOptions::new(now()))
}

fn fails(msg: &[u8], fail: CmcFailInfo) -> Error {
    let e = verify(msg).unwrap_err();
    assert_eq!(e.fail_info(), fail, "{e}");
    assert!(!e.is_not_cms(), "{e}");
    e
}

fn remove(p: &mut Parts, oid: ObjectIdentifier) {
    p.attrs.as_mut().unwrap().retain(|a| a.oid != oid);
}

fn replace(p: &mut Parts, a: Attribute) {
    remove(p, a.oid);
    p.attrs.as_mut().unwrap().push(a);
}

#[test]
fn the_baseline_verifies() {
    let f = Fixture::new();
    let FullRequest::Signed(s) = verify(&f.message(|_| {})).unwrap() else {
        panic!("unsigned")
    };
    assert_eq!(s.econtent, f.pki_data);
    assert!(s.signer().algorithm_protection);
    // Without the optional attributes it verifies too.
    let msg = f.message(|p| {
        remove(p, ID_SIGNING_TIME);
        remove(p, ID_AA_CMS_ALGORITHM_PROTECTION);
    });
    let FullRequest::Signed(s) = verify(&msg).unwrap() else {
        panic!("unsigned")
    };
    assert!(!s.signer().algorithm_protection);
    assert_eq!(s.signer().signing_time, None);
}

#[test]
fn wrong_econtent_type() {
    let f = Fixture::new();
    for ect in [ID_DATA, oid::ID_CCT_PKI_RESPONSE] {
        let msg = f.message(|p| {
            p.econtent_type = ect;
            replace(p, attr(ID_CONTENT_TYPE, &[any(&ect)]));
        });
        let e = fails(&msg, CmcFailInfo::BadRequest);
        assert!(
            matches!(e, Error::WrongContentType { found, .. } if found == ect),
            "{e}"
        );
    }
    // A response is not a request, and a request is not a response.
    let trusted = [f.cert.clone()];
    let e = decode_response(
        &f.message(|_| {}),
        &ResponseVerifyOptions::new(now(), &trusted),
    )
    .unwrap_err();
    assert!(matches!(e, Error::WrongContentType { .. }), "{e}");
}

#[test]
fn missing_signed_attributes() {
    let f = Fixture::new();
    let e = fails(&f.message(|p| p.attrs = None), CmcFailInfo::BadMessageCheck);
    assert!(matches!(e, Error::MissingSignedAttributes), "{e}");
}

#[test]
fn content_type_attribute_mismatch_missing_or_repeated() {
    let f = Fixture::new();
    let e = fails(
        &f.message(|p| replace(p, attr(ID_CONTENT_TYPE, &[any(&ID_DATA)]))),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(
        matches!(e, Error::ContentTypeMismatch { attribute, econtent_type }
            if attribute == ID_DATA && econtent_type == oid::ID_CCT_PKI_DATA),
        "{e}"
    );
    let e = fails(
        &f.message(|p| remove(p, ID_CONTENT_TYPE)),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(
        matches!(e, Error::MissingAttribute { oid } if oid == ID_CONTENT_TYPE),
        "{e}"
    );
    let e = fails(
        &f.message(|p| {
            replace(
                p,
                attr(
                    ID_CONTENT_TYPE,
                    &[any(&oid::ID_CCT_PKI_DATA), any(&ID_DATA)],
                ),
            );
        }),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(
        matches!(e, Error::DuplicateAttribute { oid } if oid == ID_CONTENT_TYPE),
        "{e}"
    );
}

#[test]
fn message_digest_missing_wrong_or_malformed() {
    let f = Fixture::new();
    let e = fails(
        &f.message(|p| remove(p, ID_MESSAGE_DIGEST)),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(
        matches!(e, Error::MissingAttribute { oid } if oid == ID_MESSAGE_DIGEST),
        "{e}"
    );
    // The digest of other content.
    let e = fails(
        &f.message(|p| {
            let d = HashAlg::Sha256.digest(b"something else");
            replace(
                p,
                attr(ID_MESSAGE_DIGEST, &[any(&OctetString::new(d).unwrap())]),
            );
        }),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(matches!(e, Error::MessageDigestMismatch), "{e}");
    // Not an OCTET STRING.
    let e = fails(
        &f.message(|p| replace(p, attr(ID_MESSAGE_DIGEST, &[any(&5u8)]))),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(
        matches!(e, Error::MalformedAttribute { oid, .. } if oid == ID_MESSAGE_DIGEST),
        "{e}"
    );
}

#[test]
fn algorithm_protection_mismatch() {
    let f = Fixture::new();
    let protection = |digest: HashAlg, sig: Option<ObjectIdentifier>, mac: bool| {
        attr(
            ID_AA_CMS_ALGORITHM_PROTECTION,
            &[any(&CmsAlgorithmProtection {
                digest_algorithm: digest.algorithm_identifier(),
                signature_algorithm: sig.map(|oid| AlgorithmIdentifierOwned {
                    oid,
                    parameters: None,
                }),
                mac_algorithm: mac.then(|| AlgorithmIdentifierOwned {
                    oid: ObjectIdentifier::new_unwrap("1.2.840.113549.2.9"),
                    parameters: None,
                }),
            })],
        )
    };
    use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_512};
    let cases = [
        (HashAlg::Sha384, Some(ECDSA_WITH_SHA_256), false, "digest"),
        (
            HashAlg::Sha256,
            Some(ECDSA_WITH_SHA_512),
            false,
            "signature",
        ),
        (HashAlg::Sha256, None, true, "signature"),
        (HashAlg::Sha256, None, false, "signature"),
    ];
    for (digest, sig, mac, which) in cases {
        let msg = f.message(|p| replace(p, protection(digest, sig, mac)));
        let e = fails(&msg, CmcFailInfo::BadMessageCheck);
        assert!(
            matches!(e, Error::AlgorithmProtectionMismatch { which: w } if w == which),
            "{digest} {sig:?} {mac}: {e}"
        );
    }
    // NULL parameters on the digest count as the same algorithm.
    let msg = f.message(|p| {
        let mut d = HashAlg::Sha256.algorithm_identifier();
        d.parameters = Some(Any::null());
        replace(
            p,
            attr(
                ID_AA_CMS_ALGORITHM_PROTECTION,
                &[any(&CmsAlgorithmProtection {
                    digest_algorithm: d,
                    signature_algorithm: Some(f.key.signature_algorithm().clone()),
                    mac_algorithm: None,
                })],
            ),
        );
    });
    verify(&msg).unwrap();
}

#[test]
fn unknown_signer() {
    let f = Fixture::new();
    let e = fails(
        &f.message(|p| {
            if let SignerIdentifier::IssuerAndSerialNumber(isn) = &mut p.sid {
                isn.serial_number = SerialNumber::new(&[0x01, 0x02, 0x03]).unwrap();
            }
        }),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(matches!(e, Error::SignerNotFound), "{e}");
    // A subjectKeyIdentifier that no certificate and no request has.
    let e = fails(
        &f.message(|p| {
            p.sid = SignerIdentifier::SubjectKeyIdentifier(
                x509_cert::ext::pkix::SubjectKeyIdentifier(OctetString::new([7u8; 20]).unwrap()),
            );
        }),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(matches!(e, Error::SignerNotFound), "{e}");
    // The signer certificate left out of the message.
    let e = fails(
        &f.message(|p| p.certificates.clear()),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(matches!(e, Error::SignerNotFound), "{e}");
    // The certificate has the right name but another key: the signature fails.
    let other = FileKey::generate(KeySpec::P256).unwrap();
    let other_cert = common::ca_cert(&other, "negative tests");
    let e = fails(
        &f.message(|p| {
            p.certificates = vec![other_cert.clone()];
            p.sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: other_cert.tbs_certificate().issuer().clone(),
                serial_number: other_cert.tbs_certificate().serial_number().clone(),
            });
        }),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(matches!(e, Error::BadSignature { .. }), "{e}");
}

#[test]
fn unsupported_algorithms_are_bad_alg() {
    let f = Fixture::new();
    let sha1 = AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ID_SHA_1,
        parameters: None,
    };
    let e = fails(
        &f.message(|p| {
            p.digest_alg = sha1.clone();
            remove(p, ID_AA_CMS_ALGORITHM_PROTECTION);
        }),
        CmcFailInfo::BadAlg,
    );
    assert!(
        matches!(e, Error::UnsupportedAlgorithm { oid } if oid == sha1.oid),
        "{e}"
    );
    let ed25519 = ObjectIdentifier::new_unwrap("1.3.101.112");
    let e = fails(
        &f.message(|p| {
            p.signature_alg = AlgorithmIdentifierOwned {
                oid: ed25519,
                parameters: None,
            };
            remove(p, ID_AA_CMS_ALGORITHM_PROTECTION);
        }),
        CmcFailInfo::BadAlg,
    );
    assert!(
        matches!(e, Error::UnsupportedAlgorithm { oid } if oid == ed25519),
        "{e}"
    );
    // An RSA signature algorithm with the EC key.
    let e = fails(
        &f.message(|p| {
            p.signature_alg = cmc_keys::SignatureScheme::RsaPkcs1v15(HashAlg::Sha256)
                .algorithm_identifier()
                .unwrap();
            remove(p, ID_AA_CMS_ALGORITHM_PROTECTION);
        }),
        CmcFailInfo::BadAlg,
    );
    assert!(matches!(e, Error::BadPublicKey(_)), "{e}");
}

#[test]
fn bad_signature() {
    let f = Fixture::new();
    let e = fails(
        &f.message(|p| p.corrupt_signature = true),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(matches!(e, Error::BadSignature { .. }), "{e}");
    let mut msg = f.message(|_| {});
    // Flip a byte of the signingTime inside the signed attributes ("2" → "3" of the year).
    let t = Time::try_from(now()).unwrap().to_der().unwrap();
    let at = msg
        .windows(t.len())
        .position(|w| w == t.as_slice())
        .unwrap();
    msg[at + 2] ^= 0x01;
    let e = fails(&msg, CmcFailInfo::BadMessageCheck);
    assert!(matches!(e, Error::BadSignature { .. }), "{e}");
}

#[test]
fn generalized_signing_time_is_exposed() {
    let f = Fixture::new();
    let gt = GeneralizedTime::from_unix_duration(Duration::from_secs(2_600_000_000)).unwrap();
    let msg = f.message(|p| replace(p, attr(ID_SIGNING_TIME, &[any(&gt)])));
    let FullRequest::Signed(s) = verify(&msg).unwrap() else {
        panic!("unsigned")
    };
    assert_eq!(s.signer().signing_time, Some(Time::GeneralTime(gt)));
    assert_eq!(
        s.signer().signing_time(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_600_000_000))
    );
}

#[test]
fn unsigned_signed_data_is_reported_unsigned() {
    let f = Fixture::new();
    let msg = f.message(|p| p.signers = 0);
    match verify(&msg).unwrap() {
        FullRequest::Unsigned(u) => {
            assert_eq!(u.econtent, f.pki_data);
            assert_eq!(u.pki_data.req_sequence.len(), 1);
            assert_eq!(u.pops().len(), 1);
        }
        FullRequest::Signed(_) => panic!("an unsigned request reported as signed"),
    }
    assert!(verify(&msg).unwrap().signed().is_none());
    // A response must be signed.
    let resp = f.message(|p| {
        p.signers = 0;
        p.econtent_type = oid::ID_CCT_PKI_RESPONSE;
        p.econtent = Some(common::sample_response().to_der().unwrap());
    });
    let trusted = [f.cert.clone()];
    let e = decode_response(&resp, &ResponseVerifyOptions::new(now(), &trusted)).unwrap_err();
    assert!(matches!(e, Error::SignerNotFound), "{e}");
}

#[test]
fn content_problems_are_bad_request() {
    let f = Fixture::new();
    let e = fails(&f.message(|p| p.econtent = None), CmcFailInfo::BadRequest);
    assert!(matches!(e, Error::MissingContent), "{e}");
    let e = fails(
        &f.message(|p| {
            let junk = b"not a PKIData".to_vec();
            let d = HashAlg::Sha256.digest(&junk);
            replace(
                p,
                attr(ID_MESSAGE_DIGEST, &[any(&OctetString::new(d).unwrap())]),
            );
            p.econtent = Some(junk);
        }),
        CmcFailInfo::BadRequest,
    );
    assert!(matches!(e, Error::MalformedContent(_)), "{e}");
    // A ContentInfo that holds something else than SignedData: CMS, but not ours.
    let ci = ContentInfo {
        content_type: ID_DATA,
        content: Any::encode_from(&OctetString::new(f.pki_data.clone()).unwrap()).unwrap(),
    }
    .to_der()
    .unwrap();
    let e = fails(&ci, CmcFailInfo::BadRequest);
    assert!(
        matches!(e, Error::NotSignedData { content_type } if content_type == ID_DATA),
        "{e}"
    );
}

#[test]
fn limits_on_signers_and_certificates() {
    let f = Fixture::new();
    let two = f.message(|p| p.signers = 2);
    // Two good signers verify.
    let FullRequest::Signed(s) = verify(&two).unwrap() else {
        panic!("unsigned")
    };
    assert_eq!(s.signers.len(), 2);
    let limits = Limits {
        max_signers: 1,
        ..Limits::default()
    };
    let e = decode_full_request(&two, &VerifyOptions::new(now()).with_limits(limits)).unwrap_err();
    assert!(
        matches!(e, Error::TooManySigners { count: 2, max: 1 }),
        "{e}"
    );
    assert_eq!(e.fail_info(), CmcFailInfo::BadRequest);

    let extra: Vec<Certificate> = (0..3)
        .map(|i| {
            let k = FileKey::generate(KeySpec::P256).unwrap();
            common::ca_cert(&k, &format!("extra {i}"))
        })
        .collect();
    let many = f.message(|p| p.certificates.extend(extra));
    verify(&many).unwrap();
    let limits = Limits {
        max_certificates: 3,
        ..Limits::default()
    };
    let e = decode_full_request(&many, &VerifyOptions::new(now()).with_limits(limits)).unwrap_err();
    assert!(
        matches!(e, Error::TooManyCertificates { count: 4, max: 3 }),
        "{e}"
    );
}
