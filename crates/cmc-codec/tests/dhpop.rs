//! Static-ECDH proof of possession (RFC 6955 §6): the requester's MAC verifies with the CA's
//! side of the same ECDH, for P-256 and P-384 and each hash; a MAC made for another
//! recipient, over other content, by another key, or naming another certificate fails; and
//! the request is reported as such by `verify_request_pop`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;

use cmc_asn1::{CmcFailInfo, TaggedCertificationRequest, TaggedRequest};
use cmc_codec::dhpop::{decode_dh_pop, issuer_and_serial, sign_dh_pop, verify_dh_pop};
use cmc_codec::identity::ProofHash;
use cmc_codec::{Error, Pop, verify_pkcs10, verify_request_pop};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use der::asn1::SetOfVec;
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};

/// The CA's ECDH certificate (issued by a CA certificate; its key is `ecdh`).
fn recipient(ecdh: &FileKey) -> Certificate {
    let ca_key = common::key(KeySpec::P256);
    let ca = common::ca_cert(&ca_key, "dh-pop CA");
    common::issue(&ca_key, &ca, ecdh, "dh-pop CA key agreement")
}

fn info(key: &FileKey, cn: &str) -> CertReqInfo {
    CertReqInfo {
        version: Version::V1,
        subject: Name::from_str(&format!("CN={cn}")).unwrap(),
        public_key: key.public_key().clone(),
        attributes: SetOfVec::new(),
    }
}

fn point(cert_or_key: &spki::SubjectPublicKeyInfoOwned) -> Vec<u8> {
    cert_or_key.subject_public_key.raw_bytes().to_vec()
}

/// The requester's ZZ: its key with the recipient's public key.
fn requester_zz(requester: &FileKey, recipient: &Certificate) -> Vec<u8> {
    requester
        .ecdh_shared_secret(&point(
            recipient.tbs_certificate().subject_public_key_info(),
        ))
        .unwrap()
        .to_vec()
}

/// The CA's ZZ: its ECDH key with the requested public key.
fn ca_zz(ecdh: &FileKey, req: &CertReq) -> Vec<u8> {
    ecdh.ecdh_shared_secret(&point(&req.info.public_key))
        .unwrap()
        .to_vec()
}

#[test]
fn a_proof_verifies_with_the_cas_side_of_the_agreement() {
    for (spec, hash) in [
        (KeySpec::P256, ProofHash::Sha256),
        (KeySpec::P256, ProofHash::Sha512),
        (KeySpec::P384, ProofHash::Sha384),
    ] {
        let ecdh = common::key(spec);
        let cert = recipient(&ecdh);
        let requester = common::key(spec);
        let req = sign_dh_pop(
            info(&requester, "agree.example"),
            hash,
            &cert,
            &requester_zz(&requester, &cert),
        )
        .unwrap();
        let pop = decode_dh_pop(&req, 3).unwrap().expect("a DH POP");
        assert_eq!(pop.hash, hash);
        assert_eq!(pop.recipient, Some(issuer_and_serial(&cert)));
        verify_dh_pop(&pop, &req, &cert, &ca_zz(&ecdh, &req), 3).unwrap();

        // What the codec reports for it, and that it is no signature.
        let tagged = TaggedRequest::Tcr(Box::new(TaggedCertificationRequest {
            body_part_id: 3,
            certification_request: req.clone(),
        }));
        assert_eq!(verify_request_pop(&tagged).unwrap(), Pop::Pkcs10DhPop(pop));
        let e = verify_pkcs10(&req, 3).unwrap_err();
        assert_eq!(e.fail_info(), CmcFailInfo::BadAlg, "{e}");
    }
}

#[test]
fn wrong_recipient_content_key_or_name_fails() {
    let ecdh = common::key(KeySpec::P256);
    let cert = recipient(&ecdh);
    let requester = common::key(KeySpec::P256);
    let zz = requester_zz(&requester, &cert);
    let req = sign_dh_pop(
        info(&requester, "agree.example"),
        ProofHash::Sha256,
        &cert,
        &zz,
    )
    .unwrap();
    let pop = decode_dh_pop(&req, 1).unwrap().unwrap();
    let pop_failed = |r: Result<(), Error>| {
        let e = r.unwrap_err();
        assert_eq!(e.fail_info(), CmcFailInfo::PopFailed, "{e}");
    };

    // Another CA ECDH key (a proof made for someone else).
    let other_ecdh = common::key(KeySpec::P256);
    let other_cert = recipient(&other_ecdh);
    pop_failed(verify_dh_pop(
        &pop,
        &req,
        &other_cert,
        &ca_zz(&other_ecdh, &req),
        1,
    ));

    // The same MAC over a request for another name.
    let mut swapped = req.clone();
    swapped.info.subject = Name::from_str("CN=someone.else").unwrap();
    pop_failed(verify_dh_pop(
        &pop,
        &swapped,
        &cert,
        &ca_zz(&ecdh, &swapped),
        1,
    ));

    // Another key claiming the proof: the CA's ZZ with it differs.
    let thief = common::key(KeySpec::P256);
    let mut stolen = req.clone();
    stolen.info.public_key = thief.public_key().clone();
    pop_failed(verify_dh_pop(
        &pop,
        &stolen,
        &cert,
        &ca_zz(&ecdh, &stolen),
        1,
    ));

    // A proof naming another certificate, even with a right MAC.
    let mut misnamed = pop.clone();
    misnamed.recipient = Some(issuer_and_serial(&other_cert));
    pop_failed(verify_dh_pop(
        &misnamed,
        &req,
        &cert,
        &ca_zz(&ecdh, &req),
        1,
    ));

    // Unnamed is fine when the MAC is right.
    let mut unnamed = pop.clone();
    unnamed.recipient = None;
    verify_dh_pop(&unnamed, &req, &cert, &ca_zz(&ecdh, &req), 1).unwrap();

    // A signature that is no DhSigStatic.
    let mut garbage = req.clone();
    garbage.signature = der::asn1::BitString::from_bytes(&[1, 2, 3]).unwrap();
    let e = decode_dh_pop(&garbage, 1).unwrap_err();
    assert_eq!(e.fail_info(), CmcFailInfo::PopFailed);
}

/// pyasn1-modules (rfc2986, rfc6955) decodes the request we write: a CertificationRequest
/// whose algorithm is id-alg-ecdhPop-static-sha256-hmac-sha256 and whose signature is a
/// DhSigStatic naming the recipient, with a 32-octet hashValue.
#[test]
fn pyasn1_decodes_the_dh_pop_request() {
    let ecdh = common::key(KeySpec::P256);
    let cert = recipient(&ecdh);
    let requester = common::key(KeySpec::P256);
    let req = sign_dh_pop(
        info(&requester, "agree.example"),
        ProofHash::Sha256,
        &cert,
        &requester_zz(&requester, &cert),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dhpop.der");
    std::fs::write(&path, der::Encode::to_der(&req).unwrap()).unwrap();
    let script = r#"
import sys
from pyasn1.codec.der import decoder, encoder
from pyasn1_modules import rfc2986, rfc6955
data = open(sys.argv[1], "rb").read()
req, rest = decoder.decode(data, asn1Spec=rfc2986.CertificationRequest())
assert not rest and encoder.encode(req) == data
alg = req["signatureAlgorithm"]["algorithm"]
assert alg == rfc6955.id_alg_dhPop_static_sha256_hmac_sha256.__class__("1.3.6.1.5.5.7.6.26"), alg
sig, rest = decoder.decode(req["signature"].asOctets(), asn1Spec=rfc6955.DhSigStatic())
assert not rest
print("alg", alg, "hashValue", len(sig["hashValue"]), "serial", sig["issuerAndSerial"]["serialNumber"])
"#;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e} (scripts/test.sh installs pyasn1-modules)"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("hashValue 32"), "{text}");
}
