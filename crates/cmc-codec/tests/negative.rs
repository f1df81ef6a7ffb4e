//! One test per verification check: a message that is correctly signed except for exactly
//! one defect must fail on exactly that check, with the right CMCFailInfo.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;
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

/// A fixture whose message is signed by `key` as the holder of `cert`.
fn signed_by(key: FileKey, cert: Certificate) -> Fixture {
    let pki_data = common::sample_pki_data(b"negative-test-nonce")
        .to_der()
        .unwrap();
    Fixture {
        key,
        cert,
        pki_data,
    }
}

#[test]
fn signer_key_usage_must_allow_digital_signature() {
    use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
    let root_key = FileKey::generate(KeySpec::P256).unwrap();
    let root = common::ca_cert(&root_key, "key usage root");
    let holder = |ku: Vec<KeyUsage>| {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let cert = common::issue_with_key_usage(&root_key, &root, &key, "key usage holder", ku);
        signed_by(key, cert)
    };
    // A keyUsage without digitalSignature: refused as the signer of a request, whether the
    // certificate is in the message or supplied by the caller.
    let refused = [
        KeyUsage(KeyUsages::KeyEncipherment.into()),
        KeyUsage(KeyUsages::KeyAgreement.into()),
        KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        // nonRepudiation (contentCommitment) alone is not digitalSignature.
        KeyUsage(KeyUsages::NonRepudiation.into()),
    ];
    for ku in refused {
        let f = holder(vec![ku]);
        let e = fails(&f.message(|_| {}), CmcFailInfo::BadMessageCheck);
        assert!(matches!(e, Error::SignerKeyUsage), "{ku:?}: {e}");
        let supplied = [f.cert.clone()];
        let e = decode_full_request(
            &f.message(|p| p.certificates.clear()),
            &VerifyOptions::new(now()).with_certificates(&supplied),
        )
        .unwrap_err();
        assert!(matches!(e, Error::SignerKeyUsage), "{ku:?}: {e}");
        assert_eq!(e.fail_info(), CmcFailInfo::BadMessageCheck);
    }
    // Two keyUsage extensions (the second asserting digitalSignature): refused as well.
    let f = holder(vec![
        KeyUsage(KeyUsages::KeyEncipherment.into()),
        KeyUsage(KeyUsages::DigitalSignature.into()),
    ]);
    let key_usages = f
        .cert
        .tbs_certificate()
        .filter_extensions::<KeyUsage>()
        .count();
    assert_eq!(key_usages, 2, "the certificate carries both extensions");
    let e = fails(&f.message(|_| {}), CmcFailInfo::BadMessageCheck);
    assert!(matches!(e, Error::SignerKeyUsage), "{e}");

    // digitalSignature (alone or with nonRepudiation), or no keyUsage at all: accepted.
    for ku in [
        vec![KeyUsage(KeyUsages::DigitalSignature.into())],
        vec![KeyUsage(
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        )],
        Vec::new(),
    ] {
        let f = holder(ku.clone());
        verify(&f.message(|_| {})).unwrap_or_else(|e| panic!("{ku:?}: {e}"));
    }

    // The signer of a response too, even when it chains to the trusted root.
    let f = holder(vec![KeyUsage(KeyUsages::NonRepudiation.into())]);
    let resp = f.message(|p| {
        p.econtent_type = oid::ID_CCT_PKI_RESPONSE;
        p.econtent = Some(common::sample_response().to_der().unwrap());
        let digest = f.key.hash().digest(p.econtent.as_ref().unwrap());
        replace(p, attr(ID_CONTENT_TYPE, &[any(&oid::ID_CCT_PKI_RESPONSE)]));
        replace(
            p,
            attr(
                ID_MESSAGE_DIGEST,
                &[any(&OctetString::new(digest).unwrap())],
            ),
        );
    });
    let trusted = [root];
    let e = decode_response(&resp, &ResponseVerifyOptions::new(now(), &trusted)).unwrap_err();
    assert!(matches!(e, Error::SignerKeyUsage), "{e}");
}

/// A PKIData with one PKCS #10 request for `key`, signed (by default) with that same key
/// and no certificate: the sid is the key's subjectKeyIdentifier (RFC 5272 §3.2).
fn signed_with_request_key() -> Fixture {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let csr = cmc_codec::build_csr(
        &key,
        x509_cert::name::Name::from_str("CN=self-signed request,O=cmc-codec tests").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let mut b = cmc_codec::RequestBuilder::new();
    b.control(
        1,
        &cmc_asn1::SenderNonce(OctetString::new(*b"request-key nonce").unwrap()),
    )
    .unwrap()
    .pkcs10(0x31, csr)
    .unwrap();
    let pki_data = b.pki_data().to_der().unwrap();
    // The certificate is never sent (see `request_key_sid`); it only fills the field.
    let cert = common::ca_cert(&key, "unused");
    Fixture {
        key,
        cert,
        pki_data,
    }
}

/// Names the fixture's key by its subjectKeyIdentifier and sends no certificate.
fn request_key_sid(f: &Fixture, p: &mut Parts) {
    p.sid = SignerIdentifier::SubjectKeyIdentifier(x509_cert::ext::pkix::SubjectKeyIdentifier(
        OctetString::new(cmc_codec::key_identifier(f.key.public_key())).unwrap(),
    ));
    p.certificates.clear();
}

/// `extra`'s SignerInfos and certificates added to `msg` (both over the same eContent).
fn add_signers(msg: &[u8], extra: &[u8]) -> Vec<u8> {
    let sd = |der: &[u8]| -> SignedData {
        ContentInfo::from_der(der)
            .unwrap()
            .content
            .decode_as()
            .unwrap()
    };
    let mut out = sd(msg);
    let extra = sd(extra);
    for si in extra.signer_infos.0.iter() {
        out.signer_infos.0.insert(si.clone()).unwrap();
    }
    for d in extra.digest_algorithms.iter() {
        if !out.digest_algorithms.iter().any(|x| x == d) {
            out.digest_algorithms.insert(d.clone()).unwrap();
        }
    }
    let mut certs = out.certificates.take().map(|c| c.0).unwrap_or_default();
    for c in extra.certificates.iter().flat_map(|s| s.0.iter()) {
        certs.insert(c.clone()).unwrap();
    }
    out.certificates = (!certs.is_empty()).then_some(CertificateSet(certs));
    ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&out).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn request_key_signature_must_be_alone() {
    let f = signed_with_request_key();
    // The baseline: one SignerInfo, sid = the request key's subjectKeyIdentifier.
    let alone = f.message(|p| request_key_sid(&f, p));
    let FullRequest::Signed(s) = verify(&alone).unwrap() else {
        panic!("unsigned")
    };
    assert_eq!(s.signer().source, cmc_codec::SignerSource::Request(0x31));

    // Two SignerInfos, both with the request key.
    let e = fails(
        &f.message(|p| {
            request_key_sid(&f, p);
            p.signers = 2;
        }),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(
        matches!(e, Error::RequestKeySignerNotAlone { count: 2 }),
        "{e}"
    );

    // The request key next to a certificate holder's signature over the same PKIData
    // (either could be the one a server reads as "the" signer).
    let holder_key = FileKey::generate(KeySpec::P256).unwrap();
    let holder = Fixture {
        cert: common::ca_cert(&holder_key, "co-signer"),
        key: holder_key,
        pki_data: f.pki_data.clone(),
    };
    let cosigned = holder.message(|_| {});
    verify(&cosigned).unwrap();
    let e = fails(
        &add_signers(&alone, &cosigned),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(
        matches!(e, Error::RequestKeySignerNotAlone { count: 2 }),
        "{e}"
    );
    // Two certificate holders are not concerned by the rule.
    let other_key = FileKey::generate(KeySpec::P256).unwrap();
    let other = Fixture {
        cert: common::ca_cert(&other_key, "other co-signer"),
        key: other_key,
        pki_data: f.pki_data.clone(),
    };
    let FullRequest::Signed(s) = verify(&add_signers(&cosigned, &other.message(|_| {}))).unwrap()
    else {
        panic!("unsigned")
    };
    assert_eq!(s.signers.len(), 2);
}

#[test]
fn request_key_signature_must_name_it_by_subject_key_identifier() {
    let f = signed_with_request_key();
    // issuerAndSerialNumber with no certificate that matches it: the signature is the
    // request key's, but RFC 5272 §3.2 wants the subjectKeyIdentifier form.
    let e = fails(
        &f.message(|p| {
            p.certificates.clear();
            p.sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: x509_cert::name::Name::from_str("CN=self-signed request,O=cmc-codec tests")
                    .unwrap(),
                serial_number: SerialNumber::new(&[0x31]).unwrap(),
            });
        }),
        CmcFailInfo::BadMessageCheck,
    );
    assert!(matches!(e, Error::SignerNotFound), "{e}");
}

#[test]
fn max_input_is_the_callers() {
    // A signed request of about 1.5 MiB (a large regInfo): over the default 1 MiB cap, and
    // accepted when the caller allows 2 MiB (a server passing its configured body size).
    let mut pki_data = common::sample_pki_data(b"large request nonce");
    pki_data.control_sequence.push(
        cmc_asn1::TaggedAttribute::from_value(
            0x13,
            &cmc_asn1::RegInfo(OctetString::new(vec![b'x'; 3 << 19]).unwrap()),
        )
        .unwrap(),
    );
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let f = Fixture {
        cert: common::ca_cert(&key, "large request"),
        key,
        pki_data: pki_data.to_der().unwrap(),
    };
    let msg = f.message(|_| {});
    assert!(msg.len() > Limits::DEFAULT_MAX_INPUT && msg.len() < 2 << 20);
    let e = verify(&msg).unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { max, .. } if max == Limits::DEFAULT_MAX_INPUT),
        "{e}"
    );
    assert!(e.is_not_cms());
    let large = Limits::default().with_max_input(2 << 20);
    let FullRequest::Signed(s) =
        decode_full_request(&msg, &VerifyOptions::new(now()).with_limits(large)).unwrap()
    else {
        panic!("unsigned")
    };
    assert_eq!(s.econtent, f.pki_data);
    // A smaller cap than the default applies too.
    let small = Limits::default().with_max_input(1024);
    let e = decode_full_request(
        &f.message(|_| {}),
        &VerifyOptions::new(now()).with_limits(small),
    )
    .unwrap_err();
    assert!(matches!(e, Error::TooLarge { max: 1024, .. }), "{e}");

    // The same for a Simple PKI Request: a PKCS #10 with a 1.5 MiB attribute.
    let attribute = Attribute {
        oid: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.55555.1"),
        values: {
            let mut v = SetOfVec::new();
            v.insert(any(&OctetString::new(vec![b'y'; 3 << 19]).unwrap()))
                .unwrap();
            v
        },
    };
    let csr = cmc_codec::build_csr_with_attributes(
        &f.key,
        x509_cert::name::Name::from_str("CN=large csr").unwrap(),
        Vec::new(),
        vec![attribute],
    )
    .unwrap()
    .to_der()
    .unwrap();
    let e = cmc_codec::decode_simple_request(&csr, &Limits::default()).unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { max, .. } if max == Limits::DEFAULT_MAX_INPUT),
        "{e}"
    );
    cmc_codec::decode_simple_request(&csr, &large).unwrap();
}
