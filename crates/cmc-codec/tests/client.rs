//! Client-built requests (PKCS #10 and CRMF with POPOSigningKey) signed by our builder
//! verify with our decoder and with `openssl cms -verify`; CRMF POPO checks (the
//! poposkInput and authInfo rules are in `crmf_pop.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cmc_asn1::{CmcFailInfo, ProofOfPossession, SenderNonce, TaggedRequest, TransactionId};
use cmc_codec::{
    CmsSigner, Error, FullRequest, Pop, RequestBuilder, SignerSource, VerifyOptions, build_crmf,
    build_csr, decode_full_request, verify_crmf_pop,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use der::Encode;
use der::asn1::{Int, Null, OctetString};
use x509_cert::name::Name;

fn soon() -> SystemTime {
    SystemTime::now() + Duration::from_secs(2)
}

fn builder_with_requests(pkcs10_key: &FileKey, crmf_key: &FileKey) -> RequestBuilder {
    let csr = build_csr(
        pkcs10_key,
        Name::from_str("CN=pkcs10 subject,O=cmc-codec tests").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let crm = build_crmf(crmf_key, 0x31, common::template("crmf subject")).unwrap();
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new([9u8; 16]).unwrap()))
        .unwrap()
        .control(2, &TransactionId(Int::new(&[0x01, 0x02]).unwrap()))
        .unwrap()
        .pkcs10(0x30, csr)
        .unwrap()
        .crmf(crm)
        .unwrap();
    b
}

#[test]
fn client_requests_verify_with_us_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (KeySpec::P256, None),
        (KeySpec::P384, None),
        (KeySpec::P521, None),
        (
            KeySpec::Rsa2048,
            Some(SignatureScheme::RsaPss(HashAlg::Sha256)),
        ),
    ];
    for (spec, scheme) in cases {
        let tag = format!("client-{spec}");
        let mut client = FileKey::generate(spec).unwrap();
        if let Some(s) = scheme {
            client = client.with_scheme(s).unwrap();
        }
        let client_cert = common::ca_cert(&client, &format!("client {spec}"));
        let pkcs10_key = FileKey::generate(KeySpec::P256).unwrap();
        let crmf_key = FileKey::generate(KeySpec::P384).unwrap();
        let b = builder_with_requests(&pkcs10_key, &crmf_key);
        let signer = CmsSigner::new(&client, &client_cert, &[]).unwrap();
        let der = b.sign(&signer, SystemTime::now()).unwrap();

        // OpenSSL verifies it and returns our PKIData.
        let out = common::openssl_verify(dir.path(), &tag, &der, &client_cert);
        assert_eq!(out, b.pki_data().to_der().unwrap(), "{tag}");

        // So do we; both proofs of possession check out.
        let FullRequest::Signed(req) = decode_full_request(&der, &VerifyOptions::new(soon()))
            .unwrap_or_else(|e| panic!("{tag}: {e}"))
        else {
            panic!("{tag}: unsigned")
        };
        assert_eq!(&req.pki_data, b.pki_data(), "{tag}");
        assert_eq!(
            req.signer().source,
            SignerSource::Message(client_cert.clone())
        );
        assert_eq!(req.signer().digest, client.hash());
        let pops = req.pops();
        assert_eq!(pops.len(), 2);
        assert_eq!(pops[0].0, Some(0x30));
        assert_eq!(pops[0].1.as_ref().unwrap(), &Pop::Pkcs10Signature, "{tag}");
        assert_eq!(pops[1].0, Some(0x31));
        assert_eq!(
            pops[1].1.as_ref().unwrap(),
            &Pop::CrmfSignature { sender: None },
            "{tag}"
        );
        assert_eq!(
            req.to_der().unwrap(),
            der,
            "{tag}: re-encodes byte for byte"
        );
    }
}

#[test]
fn self_signed_requests_name_the_request_key() {
    let pkcs10_key = FileKey::generate(KeySpec::P256).unwrap();
    let crmf_key = FileKey::generate(KeySpec::P384).unwrap();
    let b = builder_with_requests(&pkcs10_key, &crmf_key);
    for (key, id) in [(&pkcs10_key, 0x30), (&crmf_key, 0x31)] {
        let der = b
            .sign(&CmsSigner::self_signed(key).unwrap(), SystemTime::now())
            .unwrap();
        let FullRequest::Signed(req) =
            decode_full_request(&der, &VerifyOptions::new(soon())).unwrap()
        else {
            panic!("unsigned")
        };
        assert_eq!(req.signer().source, SignerSource::Request(id));
        assert_eq!(req.signer().certificate(), None);
        assert_eq!(req.signer().public_key, *key.public_key());
        assert!(req.certificates.is_empty());
    }
    // A key that is in no request of the PKIData.
    let stranger = FileKey::generate(KeySpec::P256).unwrap();
    let der = b
        .sign(
            &CmsSigner::self_signed(&stranger).unwrap(),
            SystemTime::now(),
        )
        .unwrap();
    let e = decode_full_request(&der, &VerifyOptions::new(soon())).unwrap_err();
    assert!(matches!(e, Error::SignerNotFound), "{e}");
}

#[test]
fn crmf_popo_over_a_modified_template_fails() {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut crm = build_crmf(&key, 7, common::template("original")).unwrap();
    assert_eq!(
        verify_crmf_pop(&crm).unwrap(),
        Pop::CrmfSignature { sender: None }
    );
    crm.cert_req.cert_template.subject = Some(Name::from_str("CN=someone else").unwrap());
    let e = verify_crmf_pop(&crm).unwrap_err();
    assert!(
        matches!(
            e,
            Error::PopFailed {
                body_part_id: 7,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.fail_info(), CmcFailInfo::PopFailed);

    // Another public key in the template: the signature does not verify with it.
    let mut crm = build_crmf(&key, 8, common::template("original")).unwrap();
    let other = FileKey::generate(KeySpec::P256).unwrap();
    crm.cert_req.cert_template.public_key = Some(other.public_key().clone());
    let e = verify_crmf_pop(&crm).unwrap_err();
    assert!(
        matches!(
            e,
            Error::PopFailed {
                body_part_id: 8,
                ..
            }
        ),
        "{e}"
    );

    // No public key at all: nothing to verify with.
    crm.cert_req.cert_template.public_key = None;
    let e = verify_crmf_pop(&crm).unwrap_err();
    assert!(
        matches!(e, Error::MissingPublicKey { body_part_id: 8 }),
        "{e}"
    );
    assert_eq!(e.fail_info(), CmcFailInfo::BadRequest);

    // The builder refuses a template that names another key.
    let mut t = common::template("x");
    t.public_key = Some(other.public_key().clone());
    assert!(matches!(
        build_crmf(&key, 9, t),
        Err(Error::SignerKeyMismatch)
    ));
}

#[test]
fn ra_verified_and_missing_popo_are_reported() {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut crm = build_crmf(&key, 3, common::template("ra")).unwrap();
    crm.popo = Some(ProofOfPossession::RaVerified(Null));
    assert_eq!(verify_crmf_pop(&crm).unwrap(), Pop::RaVerified);
    crm.popo = None;
    assert_eq!(verify_crmf_pop(&crm).unwrap(), Pop::Absent);
    assert_eq!(
        cmc_codec::verify_request_pop(&TaggedRequest::Crm(Box::new(crm))).unwrap(),
        Pop::Absent
    );
}

#[test]
fn body_part_ids_must_be_unique() {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut b = RequestBuilder::new();
    b.control(5, &SenderNonce(OctetString::new([1u8; 8]).unwrap()))
        .unwrap();
    let csr = build_csr(&key, Name::from_str("CN=x").unwrap(), Vec::new()).unwrap();
    assert!(matches!(
        b.pkcs10(5, csr.clone()),
        Err(Error::DuplicateBodyPartId(5))
    ));
    b.pkcs10(6, csr).unwrap();
    let crm = build_crmf(&key, 6, common::template("dup")).unwrap();
    assert!(matches!(b.crmf(crm), Err(Error::DuplicateBodyPartId(6))));
    assert_eq!(b.pki_data().control_sequence.len(), 1);
    assert_eq!(b.pki_data().req_sequence.len(), 1);
}

#[test]
fn csr_with_extensions_verifies_and_a_tampered_one_does_not() {
    use x509_cert::ext::ToExtension;
    use x509_cert::ext::pkix::BasicConstraints;
    let key = FileKey::generate(KeySpec::P384)
        .unwrap()
        .with_scheme(SignatureScheme::Ecdsa(HashAlg::Sha256))
        .unwrap();
    let subject = Name::from_str("CN=ext").unwrap();
    let bc = BasicConstraints {
        ca: false,
        path_len_constraint: None,
    }
    .to_extension(&subject, &[])
    .unwrap();
    let mut csr = build_csr(&key, subject, vec![bc]).unwrap();
    cmc_codec::verify_pkcs10(&csr, 1).unwrap();
    // OpenSSL agrees.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("csr.der");
    std::fs::write(&path, csr.to_der().unwrap()).unwrap();
    let text = common::openssl(&[
        "req",
        "-inform",
        "DER",
        "-in",
        path.to_str().unwrap(),
        "-verify",
        "-noout",
        "-text",
    ]);
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");
    assert!(text.contains("Basic Constraints"), "{text}");
    csr.info.subject = Name::from_str("CN=other").unwrap();
    let e = cmc_codec::verify_pkcs10(&csr, 1).unwrap_err();
    assert!(
        matches!(
            e,
            Error::PopFailed {
                body_part_id: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn pkcs10_with_no_signature_is_reported_not_verified() {
    use cmc_asn1::TaggedCertificationRequest;
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut csr = build_csr(&key, Name::from_str("CN=kem key").unwrap(), Vec::new()).unwrap();
    csr.algorithm = spki::AlgorithmIdentifierOwned {
        oid: cmc_asn1::oid::ID_ALG_NO_SIGNATURE,
        parameters: Some(der::Any::null()),
    };
    let tcr = TaggedRequest::Tcr(Box::new(TaggedCertificationRequest {
        body_part_id: 4,
        certification_request: csr.clone(),
    }));
    assert_eq!(
        cmc_codec::verify_request_pop(&tcr).unwrap(),
        Pop::Pkcs10NoSignature
    );
    // As a Simple PKI Request it cannot prove anything: badAlg.
    let e =
        cmc_codec::decode_simple_request(&csr.to_der().unwrap(), &Default::default()).unwrap_err();
    assert!(matches!(e, Error::UnsupportedAlgorithm { .. }), "{e}");
    assert_eq!(e.fail_info(), CmcFailInfo::BadAlg);
}
