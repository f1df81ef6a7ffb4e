//! Responses we sign verify with `openssl cms -verify` and with our own decoder, carry the
//! digest RFC 5753 asks for, and their statuses round trip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime};

use cmc_asn1::{BodyPartReference, CmcFailInfo, CmcStatus};
use cmc_codec::{
    CmsSigner, Error, ResponseVerifyOptions, StatusVersion, certs_only_response, decode_certs_only,
    decode_response, sign_response,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use der::Encode;

use common::{ca_cert, issue, openssl, openssl_print, openssl_verify, sample_response};

const DIGEST_OIDS: [(&str, &str); 3] = [
    ("sha256", "2.16.840.1.101.3.4.2.1"),
    ("sha384", "2.16.840.1.101.3.4.2.2"),
    ("sha512", "2.16.840.1.101.3.4.2.3"),
];

#[test]
fn signed_responses_verify_with_openssl_and_ourselves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (KeySpec::P256, None, "sha256"),
        (KeySpec::P384, None, "sha384"),
        (KeySpec::P521, None, "sha512"),
        (
            KeySpec::Rsa2048,
            Some(SignatureScheme::RsaPkcs1v15(HashAlg::Sha256)),
            "sha256",
        ),
        (
            KeySpec::Rsa3072,
            Some(SignatureScheme::RsaPss(HashAlg::Sha384)),
            "sha384",
        ),
    ];
    let response = sample_response();
    let response_der = response.to_der().unwrap();
    let client_key = FileKey::generate(KeySpec::P256).unwrap();
    for (spec, scheme, md) in cases {
        let tag = format!("{spec}-{md}");
        let mut key = FileKey::generate(spec).unwrap();
        if let Some(s) = scheme {
            key = key.with_scheme(s).unwrap();
        }
        // The digest follows the key: RFC 5753 for ECDSA, the configured hash for RSA.
        assert_eq!(key.hash().to_string().to_lowercase().replace('-', ""), md);
        let ca = ca_cert(&key, &format!("CA {tag}"));
        let issued = issue(&key, &ca, &client_key, "issued client");
        let now = SystemTime::now();

        for ski in [false, true] {
            let signer = if ski {
                CmsSigner::with_subject_key_identifier(&key, &ca, &[]).unwrap()
            } else {
                CmsSigner::new(&key, &ca, &[]).unwrap()
            };
            let der =
                sign_response(&response, &signer, now, std::slice::from_ref(&issued)).unwrap();
            let tag = format!("{tag}-ski{ski}");

            // OpenSSL verifies it and gives back the PKIResponse.
            assert_eq!(openssl_verify(d, &tag, &der, &ca), response_der, "{tag}");

            // And shows the digest and versions RFC 5753 / RFC 5652 ask for.
            let text = openssl_print(d, &tag, &der);
            for (name, oid) in DIGEST_OIDS {
                let line = format!("algorithm: {name} ({oid})");
                assert_eq!(text.contains(&line), name == md, "{tag}: {line}\n{text}");
            }
            assert!(
                text.contains("eContentType: undefined (1.3.6.1.5.5.7.12.3)")
                    || text.contains("(1.3.6.1.5.5.7.12.3)"),
                "{tag}: eContentType\n{text}"
            );
            let versions: Vec<&str> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("version: "))
                .collect();
            // SignedData v3 first, SignerInfo v1 (issuerAndSerialNumber) or v3 (SKI) last;
            // in between, the certificates' own versions.
            let si_version = if ski { "3" } else { "1" };
            assert_eq!(versions.first(), Some(&"3"), "{tag}: SignedData\n{text}");
            assert_eq!(
                versions.last(),
                Some(&si_version),
                "{tag}: SignerInfo\n{text}"
            );
            for attr in ["signingTime", "messageDigest", "contentType"] {
                assert!(text.contains(attr), "{tag}: {attr}\n{text}");
            }
            assert!(
                text.contains("1.2.840.113549.1.9.52"),
                "{tag}: CMSAlgorithmProtection"
            );

            // Our decoder agrees, and the statuses come back as sent.
            let trusted = [ca.clone()];
            let v = decode_response(&der, &ResponseVerifyOptions::new(now, &trusted))
                .unwrap_or_else(|e| panic!("{tag}: {e}"));
            assert_eq!(v.pki_response, response, "{tag}");
            assert_eq!(
                v.signer.digest.to_string().to_lowercase().replace('-', ""),
                md
            );
            assert_eq!(v.signer.signing_time().map(secs), Some(secs(now)), "{tag}");
            assert!(v.signer.algorithm_protection);
            assert_eq!(v.certificates.len(), 2, "{tag}: CA and issued");
            assert_eq!(v.issued_by(&ca), vec![&issued], "{tag}");
            check_statuses(&v.statuses().unwrap());

            // After the CA certificate expired: badTime.
            let later = now + Duration::from_secs(2 * 3600);
            let e =
                decode_response(&der, &ResponseVerifyOptions::new(later, &trusted)).unwrap_err();
            assert!(matches!(e, Error::SignerExpired { .. }), "{tag}: {e}");
        }
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

fn check_statuses(s: &[cmc_codec::ResponseStatus]) {
    assert_eq!(s.len(), 4);
    assert_eq!(s[0].version, StatusVersion::V2);
    assert_eq!(s[0].control_id, 1);
    assert_eq!(s[0].status, CmcStatus::Success);
    assert_eq!(s[0].body_list, vec![BodyPartReference::BodyPartId(0x21)]);
    assert_eq!(s[0].status_string.as_deref(), Some("issued"));
    assert_eq!(s[1].status, CmcStatus::Failed);
    assert_eq!(s[1].fail_info, Some(CmcFailInfo::BadRequest));
    assert_eq!(s[2].status, CmcStatus::Pending);
    assert_eq!(
        s[2].pend_info.as_ref().unwrap().pend_token.as_bytes(),
        b"token-23"
    );
    assert_eq!(s[3].version, StatusVersion::V1);
    assert_eq!(s[3].control_id, 4);
    assert_eq!(s[3].body_list, vec![BodyPartReference::BodyPartId(0x24)]);
    assert_eq!(s[3].fail_info, Some(CmcFailInfo::PopFailed));
}

#[test]
fn responder_chains_to_the_trusted_root() {
    let dir = tempfile::tempdir().unwrap();
    let root_key = FileKey::generate(KeySpec::P384).unwrap();
    let root = ca_cert(&root_key, "Root");
    let inter_key = FileKey::generate(KeySpec::P256).unwrap();
    let inter = common::issue_ca(&root_key, &root, &inter_key, "Intermediate");
    let responder_key = FileKey::generate(KeySpec::P256).unwrap();
    let responder = issue(&inter_key, &inter, &responder_key, "CMC responder");
    let now = SystemTime::now();
    let response = sample_response();

    let signer = CmsSigner::new(&responder_key, &responder, std::slice::from_ref(&inter)).unwrap();
    let der = sign_response(&response, &signer, now, &[]).unwrap();
    // OpenSSL builds the same path.
    assert_eq!(
        openssl_verify(dir.path(), "chain", &der, &root),
        response.to_der().unwrap()
    );
    let trusted = [root.clone()];
    let v = decode_response(&der, &ResponseVerifyOptions::new(now, &trusted)).unwrap();
    assert_eq!(v.signer.certificate(), Some(&responder));
    // Trusting the responder itself, or the intermediate, works too.
    for t in [responder.clone(), inter.clone()] {
        decode_response(&der, &ResponseVerifyOptions::new(now, &[t])).unwrap();
    }

    // Without the intermediate in the message the path is broken.
    let signer = CmsSigner::new(&responder_key, &responder, &[]).unwrap();
    let der = sign_response(&response, &signer, now, &[]).unwrap();
    let e = decode_response(&der, &ResponseVerifyOptions::new(now, &trusted)).unwrap_err();
    assert!(matches!(e, Error::UntrustedSigner), "{e}");
    assert_eq!(e.fail_info(), CmcFailInfo::BadMessageCheck);

    // A leaf posing as an intermediate (cA=FALSE) does not extend the path.
    let fake_inter = issue(&root_key, &root, &inter_key, "Not a CA");
    let impostor = issue(&inter_key, &fake_inter, &responder_key, "CMC responder");
    let signer = CmsSigner::new(&responder_key, &impostor, &[fake_inter]).unwrap();
    let der = sign_response(&response, &signer, now, &[]).unwrap();
    // (Certificates made during the test start after `now`: check a little later.)
    let soon = SystemTime::now() + Duration::from_secs(5);
    let e = decode_response(&der, &ResponseVerifyOptions::new(soon, &trusted)).unwrap_err();
    assert!(matches!(e, Error::UntrustedSigner), "{e}");

    // Some other CA is not trusted.
    let other_key = FileKey::generate(KeySpec::P256).unwrap();
    let other = ca_cert(&other_key, "Other");
    let signer = CmsSigner::new(&responder_key, &responder, &[inter]).unwrap();
    let der = sign_response(&response, &signer, now, &[]).unwrap();
    let e = decode_response(&der, &ResponseVerifyOptions::new(soon, &[other])).unwrap_err();
    assert!(matches!(e, Error::UntrustedSigner), "{e}");

    // A signer certificate that is not for the key is refused when building the signer.
    assert!(matches!(
        CmsSigner::new(&other_key, &responder, &[]),
        Err(Error::SignerKeyMismatch)
    ));
}

#[test]
fn certs_only_simple_response() {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = FileKey::generate(KeySpec::P256).unwrap();
    let ca = ca_cert(&ca_key, "Simple CA");
    let client_key = FileKey::generate(KeySpec::P256).unwrap();
    let issued = issue(&ca_key, &ca, &client_key, "simple client");
    let der = certs_only_response(&[issued.clone(), ca.clone(), issued.clone()]).unwrap();

    let text = openssl_print(dir.path(), "certs-only", &der);
    let versions: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("version: "))
        .collect();
    // SignedData v1 first; then only the two certificates' own (X.509 v3 = 2).
    assert_eq!(versions, vec!["1", "2", "2"], "{text}");
    assert!(
        text.contains("eContentType: pkcs7-data (1.2.840.113549.1.7.1)"),
        "{text}"
    );
    assert!(text.contains("eContent: <ABSENT>"), "{text}");
    assert!(text.contains("signerInfos:\n      <EMPTY>"), "{text}");
    let path = dir.path().join("certs-only.der");
    std::fs::write(&path, &der).unwrap();
    let listed = openssl(&[
        "pkcs7",
        "-inform",
        "DER",
        "-in",
        path.to_str().unwrap(),
        "-print_certs",
        "-noout",
    ]);
    assert!(listed.contains("CN = simple client"), "{listed}");
    assert!(listed.contains("CN = Simple CA"), "{listed}");

    let certs = decode_certs_only(&der, &cmc_codec::Limits::default()).unwrap();
    assert_eq!(certs.len(), 2, "duplicates are dropped");
    assert!(certs.contains(&ca) && certs.contains(&issued));

    // A Full PKI Response is not certs-only, and a certs-only response is not verifiable.
    let signer = CmsSigner::new(&ca_key, &ca, &[]).unwrap();
    let full = sign_response(&sample_response(), &signer, SystemTime::now(), &[]).unwrap();
    assert!(matches!(
        decode_certs_only(&full, &cmc_codec::Limits::default()),
        Err(Error::WrongContentType { .. })
    ));
    let trusted = [ca];
    assert!(matches!(
        decode_response(
            &der,
            &ResponseVerifyOptions::new(SystemTime::now(), &trusted)
        ),
        Err(Error::WrongContentType { .. })
    ));
}

/// A CRL of `issuer` signed with `key`, with no entries.
fn empty_crl(
    key: &dyn SigningKey,
    issuer: &x509_cert::Certificate,
) -> x509_cert::crl::CertificateList {
    let tbs = x509_cert::crl::TbsCertList {
        version: x509_cert::Version::V2,
        signature: key.signature_algorithm().clone(),
        issuer: issuer.tbs_certificate().subject().clone(),
        this_update: x509_cert::time::Time::try_from(SystemTime::now()).unwrap(),
        next_update: None,
        revoked_certificates: None,
        crl_extensions: None,
    };
    let signature = key.sign(&tbs.to_der().unwrap()).unwrap();
    x509_cert::crl::CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: key.signature_algorithm().clone(),
        signature: der::asn1::BitString::from_bytes(&signature).unwrap(),
    }
}

#[test]
fn a_signer_identity_built_once_writes_canonical_der_every_time() {
    use cmc_codec::{SignerIdentity, sign_response_with_crls};
    use der::Decode;

    let dir = tempfile::tempdir().unwrap();
    let root_key = FileKey::generate(KeySpec::P384).unwrap();
    let root = ca_cert(&root_key, "Root");
    let inter_key = FileKey::generate(KeySpec::P256).unwrap();
    let inter = common::issue_ca(&root_key, &root, &inter_key, "Intermediate");
    let now = SystemTime::now();
    let response = sample_response();
    // The chain names the root twice: it is carried once.
    let identity = SignerIdentity::new(&inter, &[root.clone(), root.clone()]).unwrap();
    let crl = empty_crl(&inter_key, &inter);

    for n in 1..=3 {
        let issued: Vec<_> = (0..n)
            .map(|i| {
                let k = FileKey::generate(KeySpec::P256).unwrap();
                issue(&inter_key, &inter, &k, &format!("leaf {i}"))
            })
            .collect();
        // An issued certificate that is also in the chain is carried once.
        let mut extra = issued.clone();
        extra.push(inter.clone());
        let signer = CmsSigner::with_identity(&inter_key, &identity).unwrap();
        let der =
            sign_response_with_crls(&response, &signer, now, &extra, std::slice::from_ref(&crl))
                .unwrap();

        // Each certificate is in the message once, in DER SET OF order (ascending
        // encodings, RFC 5652's CertificateSet is a SET OF; X.690 §11.6).
        let mut want: Vec<Vec<u8>> = [&inter, &root]
            .into_iter()
            .chain(&issued)
            .map(|c| c.to_der().unwrap())
            .collect();
        want.sort();
        let mut found: Vec<(usize, Vec<u8>)> = want
            .iter()
            .map(|d| {
                let at: Vec<usize> = der
                    .windows(d.len())
                    .enumerate()
                    .filter(|(_, w)| *w == d.as_slice())
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(at.len(), 1, "each certificate once");
                (at[0], d.clone())
            })
            .collect();
        found.sort();
        let order: Vec<Vec<u8>> = found.into_iter().map(|(_, d)| d).collect();
        assert_eq!(order, want, "{n} issued: certificates in DER order");

        // The RustCrypto types read the same SignedData.
        let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
        let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
        let mut carried: Vec<Vec<u8>> = sd
            .certificates
            .as_ref()
            .unwrap()
            .0
            .iter()
            .map(|c| c.to_der().unwrap())
            .collect();
        carried.sort();
        assert_eq!(carried, want);
        assert_eq!(sd.crls.as_ref().unwrap().0.len(), 1);

        // OpenSSL verifies it against the root, and so do we.
        assert_eq!(
            openssl_verify(dir.path(), &format!("identity-{n}"), &der, &root),
            response.to_der().unwrap()
        );
        decode_response(
            &der,
            &ResponseVerifyOptions::new(now, std::slice::from_ref(&root)),
        )
        .unwrap();
    }

    // An identity is for one key.
    let other = FileKey::generate(KeySpec::P256).unwrap();
    assert!(matches!(
        CmsSigner::with_identity(&other, &identity),
        Err(Error::SignerKeyMismatch)
    ));
}
