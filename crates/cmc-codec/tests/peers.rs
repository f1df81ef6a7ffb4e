//! The real CMC requests in `testdata/peers/` (BouncyCastle client, see its README):
//! decode, verify at their signing time, re-encode byte for byte, and fail the way they
//! must when expired, tampered with or badly signed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use cmc_asn1::{CmcFailInfo, PkiData, SenderNonce, TaggedRequest};
use cmc_codec::{
    Encoding, Error, FullRequest, Pop, SignedRequest, SignerSource, VerifyOptions,
    decode_full_request, decode_simple_request,
};
use cmc_keys::HashAlg;
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::{Decode, DecodePem, Encode};
use x509_cert::Certificate;

const CRMF: &str = "pkcs11_ca/test_cmc_crmf_req.der";
const CRMF_SUNET: &str = "python_cmc/test_cmc_request_list_0_crmf.der";
const PKCS10: &str = "pkcs11_ca/test_cmc_pkcs10_req.der";
const PKCS10_BAD_SIG: &str = "pkcs11_ca/test_cmc_pkcs10_req_bad_signature.der";
const REVOKE: &str = "python_cmc/test_cmc_request_list_3_revoke.der";

/// The good requests with their signingTime (Unix seconds, from peers/README.md).
const GOOD: [(&str, u64); 4] = [
    (CRMF, 1_673_440_362),       // 2023-01-11 12:32:42Z
    (CRMF_SUNET, 1_675_095_102), // 2023-01-30 16:11:42Z
    (PKCS10, 1_675_117_123),     // 2023-01-30 22:18:43Z
    (REVOKE, 0),                 // signingTime checked below only for presence
];

fn read(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/peers/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn signer_cert() -> Certificate {
    Certificate::from_pem(read("pkcs11_ca/config_CMC_REQUEST_CERTS_0.pem")).unwrap()
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2023-02-01, inside the signer's validity (2021-10-29 .. 2026-10-29).
fn feb_2023() -> SystemTime {
    at(1_675_209_600)
}

fn signed(input: &[u8], opts: &VerifyOptions<'_>) -> SignedRequest {
    match decode_full_request(input, opts).unwrap() {
        FullRequest::Signed(s) => s,
        FullRequest::Unsigned(_) => panic!("reported as unsigned"),
    }
}

#[test]
fn peer_requests_verify_at_their_signing_time_and_round_trip() {
    let cert = signer_cert();
    for (name, signing_time) in GOOD {
        let input = read(name);
        let req = signed(&input, &VerifyOptions::new(feb_2023()));
        assert_eq!(req.encoding, Encoding::Der, "{name}");
        assert_eq!(req.signers.len(), 1, "{name}");
        let s = req.signer();
        assert_eq!(s.source, SignerSource::Message(cert.clone()), "{name}");
        assert_eq!(s.certificate(), Some(&cert), "{name}");
        assert_eq!(s.digest, HashAlg::Sha256, "{name}");
        assert_eq!(
            s.signature,
            cmc_codec::alg::SignatureAlg::Ecdsa(HashAlg::Sha256),
            "{name}"
        );
        assert!(
            s.algorithm_protection,
            "{name}: CMSAlgorithmProtection present"
        );
        let t = s.signing_time.expect("signingTime");
        assert!(
            matches!(t, x509_cert::time::Time::UtcTime(_)),
            "{name}: UTCTime"
        );
        if signing_time != 0 {
            assert_eq!(s.signing_time(), Some(at(signing_time)), "{name}");
        }
        // Byte for byte: the whole ContentInfo and the PKIData.
        assert_eq!(req.to_der().unwrap(), input, "{name}: ContentInfo");
        assert_eq!(
            req.pki_data.to_der().unwrap(),
            req.econtent,
            "{name}: PKIData"
        );
        assert_eq!(req.certificates, vec![cert.clone()], "{name}");
        // One senderNonce of 128 octets in every one of them.
        let nonces = req.pki_data.controls_of::<SenderNonce>().unwrap();
        assert_eq!(nonces.len(), 1);
        assert_eq!(nonces[0].1.0.as_bytes().len(), 128);
    }
}

#[test]
fn pkcs10_inside_verifies_and_crmf_without_popo_is_reported_absent() {
    let opts = VerifyOptions::new(feb_2023());
    let req = signed(&read(PKCS10), &opts);
    let pops = req.pops();
    assert_eq!(pops.len(), 1);
    assert_eq!(pops[0].0, Some(0x46AB_B5FE));
    assert_eq!(pops[0].1.as_ref().unwrap(), &Pop::Pkcs10Signature);

    for name in [CRMF, CRMF_SUNET] {
        let req = signed(&read(name), &opts);
        let pops = req.pops();
        assert_eq!(pops.len(), 1, "{name}");
        assert_eq!(pops[0].1.as_ref().unwrap(), &Pop::Absent, "{name}");
    }
    assert!(signed(&read(REVOKE), &opts).pops().is_empty());

    // Changing the PKCS #10's subject breaks its self-signature: popFailed.
    let mut pd: PkiData = req_pki_data(PKCS10);
    let TaggedRequest::Tcr(tcr) = &mut pd.req_sequence[0] else {
        panic!("tcr");
    };
    tcr.certification_request.info.subject = "CN=someone else".parse().unwrap();
    let e = cmc_codec::verify_request_pop(&pd.req_sequence[0]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::PopFailed {
                body_part_id: 0x46AB_B5FE,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.fail_info(), CmcFailInfo::PopFailed);
}

fn req_pki_data(name: &str) -> PkiData {
    signed(&read(name), &VerifyOptions::new(feb_2023())).pki_data
}

#[test]
fn verifying_now_fails_because_the_signer_expired() {
    let now = SystemTime::now();
    for (name, _) in GOOD {
        let e = decode_full_request(&read(name), &VerifyOptions::new(now)).unwrap_err();
        match &e {
            Error::SignerExpired { not_after } => {
                // 2026-10-29 (the certificate's notAfter).
                let secs = not_after.duration_since(SystemTime::UNIX_EPOCH).unwrap();
                assert_eq!(secs.as_secs() / 86_400, 20_755, "{name}: {e}");
            }
            other => panic!("{name}: expected SignerExpired, got {other}"),
        }
        assert_eq!(e.fail_info(), CmcFailInfo::BadTime);
        assert!(!e.is_not_cms());
    }
    // And before its notBefore (2021-10-29).
    let e = decode_full_request(&read(PKCS10), &VerifyOptions::new(at(1_600_000_000))).unwrap_err();
    assert!(matches!(e, Error::SignerNotYetValid { .. }), "{e}");
    assert_eq!(e.fail_info(), CmcFailInfo::BadTime);
}

#[test]
fn bad_signature_copy_fails_with_bad_message_check() {
    let e =
        decode_full_request(&read(PKCS10_BAD_SIG), &VerifyOptions::new(feb_2023())).unwrap_err();
    assert!(matches!(e, Error::BadSignature { .. }), "{e}");
    assert_eq!(e.fail_info(), CmcFailInfo::BadMessageCheck);
    assert!(!e.is_not_cms());
}

#[test]
fn tampered_sender_nonce_fails_on_message_digest() {
    let opts = VerifyOptions::new(feb_2023());
    for (name, _) in GOOD {
        let input = read(name);
        let req = signed(&input, &opts);
        let nonce = req.pki_data.controls_of::<SenderNonce>().unwrap()[0]
            .1
            .0
            .as_bytes()
            .to_vec();
        let at = input
            .windows(nonce.len())
            .position(|w| w == nonce.as_slice())
            .expect("nonce in the input");
        let mut tampered = input.clone();
        tampered[at + 17] ^= 0x01;
        let e = decode_full_request(&tampered, &opts).unwrap_err();
        assert!(matches!(e, Error::MessageDigestMismatch), "{name}: {e}");
        assert_eq!(e.fail_info(), CmcFailInfo::BadMessageCheck);
    }
}

/// The same message with its `certificates` removed (they are not signed).
fn without_certificates(input: &[u8]) -> Vec<u8> {
    let ci = ContentInfo::from_der(input).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    sd.certificates = None;
    ContentInfo {
        content_type: ci.content_type,
        content: der::Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn signer_certificate_supplied_by_the_caller() {
    let bare = without_certificates(&read(CRMF));
    let e = decode_full_request(&bare, &VerifyOptions::new(feb_2023())).unwrap_err();
    assert!(matches!(e, Error::SignerNotFound), "{e}");
    assert_eq!(e.fail_info(), CmcFailInfo::BadMessageCheck);

    let certs = [signer_cert()];
    let req = signed(
        &bare,
        &VerifyOptions::new(feb_2023()).with_certificates(&certs),
    );
    assert_eq!(req.signer().source, SignerSource::Caller(certs[0].clone()));
    assert!(req.certificates.is_empty());
}

#[test]
fn not_cms_is_told_apart() {
    let opts = VerifyOptions::new(feb_2023());
    // Garbage, a bare PKCS #10 and a certificate are not Full PKI Requests at all.
    let pkcs10 = match &req_pki_data(PKCS10).req_sequence[0] {
        TaggedRequest::Tcr(t) => t.certification_request.to_der().unwrap(),
        _ => panic!("tcr"),
    };
    let cert = signer_cert().to_der().unwrap();
    for input in [b"hello".to_vec(), pkcs10.clone(), cert] {
        let e = decode_full_request(&input, &opts).unwrap_err();
        assert!(e.is_not_cms(), "{e}");
        assert_eq!(e.fail_info(), CmcFailInfo::BadRequest);
    }
    // The PKCS #10 is a valid Simple PKI Request; the Full one is not.
    decode_simple_request(&pkcs10, &cmc_codec::Limits::default()).unwrap();
    let e = decode_simple_request(&read(PKCS10), &cmc_codec::Limits::default()).unwrap_err();
    assert!(matches!(e, Error::NotPkcs10(_)) && e.is_not_cms(), "{e}");
    // A Simple PKI Request with its signature broken: popFailed.
    let mut broken = pkcs10.clone();
    let n = broken.len() - 5;
    broken[n] ^= 0x40;
    let e = decode_simple_request(&broken, &cmc_codec::Limits::default()).unwrap_err();
    assert!(
        matches!(e, Error::PopFailed { .. } | Error::NotPkcs10(_)),
        "{e}"
    );
    // Too large for the configured cap.
    let limits = cmc_codec::Limits {
        max_input: 1000,
        ..Default::default()
    };
    let e = decode_full_request(&read(PKCS10), &opts.clone().with_limits(limits)).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }) && e.is_not_cms(), "{e}");
}
