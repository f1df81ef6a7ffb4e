//! Full PKI Requests signed by `openssl cms -sign` at test time (DER and streamed BER,
//! P-256, P-384 and RSA signers, issuerAndSerialNumber and subjectKeyIdentifier sids)
//! verify; one whose eContent is swapped after signing fails on messageDigest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use cmc_asn1::CmcFailInfo;
use cmc_codec::alg::SignatureAlg;
use cmc_codec::{Encoding, Error, FullRequest, Pop, SignerSource, VerifyOptions};
use cmc_keys::HashAlg;
use cms::signed_data::SignerIdentifier;
use der::{Decode, Encode};

use common::openssl;

/// `openssl req -x509` key and certificate: `newkey` is `ec` with a curve, or `rsa:N`.
fn openssl_signer(dir: &Path, tag: &str, newkey: &[&str]) -> (String, String) {
    let key = dir.join(format!("{tag}.key")).to_str().unwrap().to_owned();
    let cert = dir.join(format!("{tag}.pem")).to_str().unwrap().to_owned();
    let mut args = vec!["req", "-x509"];
    args.extend_from_slice(newkey);
    args.extend_from_slice(&[
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &cert,
        "-subj",
        "/CN=OpenSSL CMC client/O=cmc-codec tests",
        "-days",
        "2",
    ]);
    openssl(&args);
    (key, cert)
}

fn openssl_sign(
    dir: &Path,
    tag: &str,
    (key, cert): &(String, String),
    content: &[u8],
    md: &str,
    stream: bool,
    keyid: bool,
) -> Vec<u8> {
    let input = dir.join(format!("{tag}.content"));
    std::fs::write(&input, content).unwrap();
    let out = dir.join(format!("{tag}.cms"));
    let mut args = vec![
        "cms",
        "-sign",
        "-in",
        input.to_str().unwrap(),
        "-signer",
        cert,
        "-inkey",
        key,
        "-econtent_type",
        "1.3.6.1.5.5.7.12.2",
        "-nodetach",
        "-binary",
        "-outform",
        "DER",
        "-md",
        md,
        "-out",
        out.to_str().unwrap(),
    ];
    if stream {
        args.push("-stream");
    }
    if keyid {
        args.push("-keyid");
    }
    openssl(&args);
    std::fs::read(out).unwrap()
}

fn hash(md: &str) -> HashAlg {
    md.parse().unwrap()
}

#[test]
fn openssl_signed_requests_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p256 = openssl_signer(
        d,
        "p256",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let p384 = openssl_signer(
        d,
        "p384",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
    );
    let rsa = openssl_signer(d, "rsa", &["-newkey", "rsa:2048"]);
    let nonce = [0x5a; 32];
    let content = common::sample_pki_data(&nonce).to_der().unwrap();
    let now = SystemTime::now();

    // (signer, rsa?, md, stream, keyid)
    let cases = [
        (&p256, false, "sha256", false, false),
        (&p256, false, "sha384", true, false),
        (&p256, false, "sha512", false, true),
        // P-384 with SHA-256: the hash comes from the signature OID, not the curve.
        (&p384, false, "sha256", false, false),
        (&p384, false, "sha384", true, true),
        (&p384, false, "sha512", true, false),
        (&rsa, true, "sha256", false, false),
        (&rsa, true, "sha384", true, false),
        (&rsa, true, "sha512", false, true),
    ];
    for (i, (signer, is_rsa, md, stream, keyid)) in cases.into_iter().enumerate() {
        let tag = format!("case{i}-{md}-stream{stream}-keyid{keyid}");
        let msg = openssl_sign(d, &tag, signer, &content, md, stream, keyid);
        let FullRequest::Signed(req) =
            cmc_codec::decode_full_request(&msg, &VerifyOptions::new(now))
                .unwrap_or_else(|e| panic!("{tag}: {e}"))
        else {
            panic!("{tag}: unsigned")
        };
        assert_eq!(req.econtent, content, "{tag}");
        let expected_encoding = if stream { Encoding::Ber } else { Encoding::Der };
        assert_eq!(req.encoding, expected_encoding, "{tag}");
        let s = req.signer();
        assert!(matches!(s.source, SignerSource::Message(_)), "{tag}");
        assert_eq!(s.digest, hash(md), "{tag}");
        // OpenSSL names ECDSA with the hash, and RSA as bare rsaEncryption.
        let expected_alg = if is_rsa {
            SignatureAlg::RsaPkcs1v15(hash(md))
        } else {
            SignatureAlg::Ecdsa(hash(md))
        };
        assert_eq!(s.signature, expected_alg, "{tag}");
        assert_eq!(
            matches!(s.sid, SignerIdentifier::SubjectKeyIdentifier(_)),
            keyid,
            "{tag}: sid"
        );
        let t = s.signing_time().expect("OpenSSL adds signingTime");
        assert!(
            t <= now + Duration::from_secs(60) && t + Duration::from_secs(600) >= now,
            "{tag}"
        );
        let pops = req.pops();
        assert_eq!(pops[0].1.as_ref().unwrap(), &Pop::Pkcs10Signature, "{tag}");

        // Not yet valid ten days ago.
        let e = cmc_codec::decode_full_request(
            &msg,
            &VerifyOptions::new(now - Duration::from_secs(10 * 86_400)),
        )
        .unwrap_err();
        assert!(matches!(e, Error::SignerNotYetValid { .. }), "{tag}: {e}");

        // Swap the eContent for another PKIData of the same length.
        let n = content.windows(32).position(|w| w == nonce).unwrap();
        let mut other = content.clone();
        other[n..n + 32].copy_from_slice(&[0xa5; 32]);
        cmc_asn1::PkiData::from_der(&other).unwrap();
        let at = msg
            .windows(content.len())
            .position(|w| w == content.as_slice())
            .unwrap_or_else(|| panic!("{tag}: content in one piece"));
        let mut swapped = msg.clone();
        swapped[at..at + content.len()].copy_from_slice(&other);
        let e = cmc_codec::decode_full_request(&swapped, &VerifyOptions::new(now)).unwrap_err();
        assert!(matches!(e, Error::MessageDigestMismatch), "{tag}: {e}");
        assert_eq!(e.fail_info(), CmcFailInfo::BadMessageCheck);
    }
}

#[test]
fn streamed_content_in_many_segments_is_digested_joined() {
    // A PKIData larger than OpenSSL's 4096-octet stream buffer, so that the eContent is
    // a constructed OCTET STRING of several segments.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let signer = openssl_signer(
        d,
        "big",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let content = common::sample_pki_data(&[0x42; 10_000]).to_der().unwrap();
    let msg = openssl_sign(d, "big", &signer, &content, "sha256", true, false);
    assert!(
        !msg.windows(content.len()).any(|w| w == content.as_slice()),
        "the streamed content is split"
    );
    let req = cmc_codec::decode_full_request(&msg, &VerifyOptions::new(SystemTime::now())).unwrap();
    let FullRequest::Signed(req) = req else {
        panic!("unsigned")
    };
    assert_eq!(req.encoding, Encoding::Ber);
    assert_eq!(req.econtent, content);

    // Flip one octet of the content inside a segment: messageDigest.
    let probe = &content[6000..6032];
    let at = msg.windows(32).position(|w| w == probe).unwrap();
    let mut tampered = msg.clone();
    tampered[at] ^= 0x80;
    let e = cmc_codec::decode_full_request(&tampered, &VerifyOptions::new(SystemTime::now()))
        .unwrap_err();
    assert!(matches!(e, Error::MessageDigestMismatch), "{e}");
}

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn stored_streamed_fixture_verifies_and_normalises() {
    use der::DecodePem;
    // testdata/codec/openssl_stream_p256.der: the peer PKCS #10 request's PKIData, signed
    // again by `openssl cms -sign -stream -md sha384` (see testdata/README.md).
    let input = testdata("codec/openssl_stream_p256.der");
    let cert = x509_cert::Certificate::from_pem(testdata("codec/openssl_stream_p256.pem")).unwrap();
    // 2027-01-01, inside the fixture signer's validity (2026-12-02 .. 2036-11-29).
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_761_600);
    let FullRequest::Signed(req) =
        cmc_codec::decode_full_request(&input, &VerifyOptions::new(time)).unwrap()
    else {
        panic!("unsigned")
    };
    assert_eq!(req.encoding, Encoding::Ber);
    assert_eq!(req.signer().source, SignerSource::Message(cert));
    assert_eq!(req.signer().digest, HashAlg::Sha384);
    assert_eq!(req.signer().signature, SignatureAlg::Ecdsa(HashAlg::Sha384));
    // The same PKIData as the peer request it was made from.
    let peer = testdata("peers/pkcs11_ca/test_cmc_pkcs10_req.der");
    let peer_content = match cmc_codec::decode_full_request(
        &peer,
        &VerifyOptions::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_675_209_600)),
    )
    .unwrap()
    {
        FullRequest::Signed(s) => s.econtent,
        FullRequest::Unsigned(_) => panic!("unsigned"),
    };
    assert_eq!(req.econtent, peer_content);
    // Its DER form is different bytes, still verifies, and is DER.
    let der = req.to_der().unwrap();
    assert_ne!(der, input);
    assert!(der.len() < input.len());
    let FullRequest::Signed(again) =
        cmc_codec::decode_full_request(&der, &VerifyOptions::new(time)).unwrap()
    else {
        panic!("unsigned")
    };
    assert_eq!(again.encoding, Encoding::Der);
    assert_eq!(again.to_der().unwrap(), der);
    // And OpenSSL accepts that DER form too.
    let dir = tempfile::tempdir().unwrap();
    let out = common::openssl_verify(
        dir.path(),
        "normalised",
        &der,
        again.signer().certificate().unwrap(),
    );
    assert_eq!(out, peer_content);
}
