//! The certificate's signature algorithm follows the CA key, and what is
//! issued verifies with OpenSSL and passes pkilint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::SystemTime;

use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_policy::{
    Digest, Error, Finding, ProfileSet, Request, Serial, SignatureAlgorithm,
    check_signature_algorithm_for_key, prepare,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ID_RSASSA_PSS};
use der::Encode;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages, SubjectKeyIdentifier};

fn issue_and_check(
    ca_spec: KeySpec,
    scheme: Option<SignatureScheme>,
    leaf_spec: KeySpec,
    want_oid: ObjectIdentifier,
    want: SignatureAlgorithm,
    test: &str,
) {
    let now = SystemTime::now();
    let ca = common::ca(ca_spec, scheme, now);
    assert_eq!(
        check_signature_algorithm_for_key(&ca.info.signature_algorithm, &ca.info.public_key)
            .unwrap(),
        want
    );
    // The issuer's key identifier is the CA certificate's SKI.
    let (_, ca_ski) = ca
        .cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert_eq!(ca_ski.0.as_bytes(), ca.info.key_identifier.as_slice());
    assert_eq!(ca.info.subject, *ca.cert.tbs_certificate().subject());
    let leaf = FileKey::generate(leaf_spec).unwrap();
    let csr = common::csr(&leaf, "CN=leaf.example.test,O=Example,C=SE", vec![]);
    let prepared = prepare(
        &Request::from_cert_req(&csr).unwrap(),
        ProfileSet::builtin().default_profile(),
        &ca.info,
        &Serial::from_random([0x44; 16]),
        now,
    )
    .unwrap();
    assert_eq!(prepared.tbs().signature().oid, want_oid);
    assert_eq!(prepared.tbs().signature(), ca.key.signature_algorithm());
    let cert = common::sign(prepared, &ca);
    assert_eq!(cert.signature_algorithm().oid, want_oid);
    assert_eq!(cert.signature_algorithm(), ca.key.signature_algorithm());
    let dir = tempfile::tempdir().unwrap();
    common::openssl_verify(dir.path(), &ca.cert, &cert);
    common::pkilint(dir.path(), &cert, test);
}

#[test]
fn p384_ca_signs_with_ecdsa_sha384() {
    issue_and_check(
        KeySpec::P384,
        None,
        KeySpec::P256,
        ECDSA_WITH_SHA_384,
        SignatureAlgorithm::Ecdsa(Digest::Sha384),
        "p384_ca_signs_with_ecdsa_sha384",
    );
}

#[test]
fn p256_ca_signs_with_ecdsa_sha256() {
    issue_and_check(
        KeySpec::P256,
        None,
        KeySpec::P384,
        ECDSA_WITH_SHA_256,
        SignatureAlgorithm::Ecdsa(Digest::Sha256),
        "p256_ca_signs_with_ecdsa_sha256",
    );
}

#[test]
fn rsa3072_pss_ca_signs_with_rsassa_pss() {
    issue_and_check(
        KeySpec::Rsa3072,
        Some(SignatureScheme::RsaPss(HashAlg::Sha384)),
        KeySpec::Rsa2048,
        ID_RSASSA_PSS,
        SignatureAlgorithm::RsaPss(Digest::Sha384),
        "rsa3072_pss_ca_signs_with_rsassa_pss",
    );
}

#[test]
fn rsa_leaf_gets_key_encipherment_ec_leaf_does_not() {
    let now = SystemTime::now();
    let ca = common::ca(KeySpec::P256, None, now);
    for (spec, want) in [
        (
            KeySpec::Rsa2048,
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        ),
        (KeySpec::P256, KeyUsages::DigitalSignature.into()),
    ] {
        let leaf = FileKey::generate(spec).unwrap();
        let request = Request::new(
            "CN=ku.example.test".parse().unwrap(),
            leaf.public_key().clone(),
        );
        let prepared = prepare(
            &request,
            ProfileSet::builtin().default_profile(),
            &ca.info,
            &Serial::from_random([0x45; 16]),
            now,
        )
        .unwrap();
        let (_, ku) = prepared.tbs().get_extension::<KeyUsage>().unwrap().unwrap();
        assert_eq!(ku.0, want, "{spec}");
        let cert = common::sign(prepared, &ca);
        let dir = tempfile::tempdir().unwrap();
        common::openssl_verify(dir.path(), &ca.cert, &cert);
        common::pkilint(
            dir.path(),
            &cert,
            "rsa_leaf_gets_key_encipherment_ec_leaf_does_not",
        );
    }
}

#[test]
fn a_ca_algorithm_that_does_not_fit_its_key_is_a_lint_finding() {
    let now = SystemTime::now();
    let mut ca = common::ca(KeySpec::P384, None, now);
    // A P-384 CA configured to sign with SHA-256: not RFC 5753.
    ca.info.signature_algorithm = SignatureScheme::Ecdsa(HashAlg::Sha256)
        .algorithm_identifier()
        .unwrap();
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let request = Request::new(
        "CN=x.example.test".parse().unwrap(),
        leaf.public_key().clone(),
    );
    let err = prepare(
        &request,
        ProfileSet::builtin().default_profile(),
        &ca.info,
        &Serial::from_random([0x46; 16]),
        now,
    )
    .unwrap_err();
    let Error::Lint { findings } = err else {
        panic!("expected lint findings, got {err:?}");
    };
    assert!(
        matches!(
            findings.as_slice(),
            [Finding::SignatureAlgorithmKeyMismatch { .. }]
        ),
        "{findings:?}"
    );
}

#[test]
fn only_the_prepared_tbs_is_accepted() {
    let now = SystemTime::now();
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let request = Request::new(
        "CN=y.example.test".parse().unwrap(),
        leaf.public_key().clone(),
    );
    let profile = ProfileSet::builtin();
    let first = prepare(
        &request,
        profile.default_profile(),
        &ca.info,
        &Serial::from_random([0x47; 16]),
        now,
    )
    .unwrap();
    let second = prepare(
        &request,
        profile.default_profile(),
        &ca.info,
        &Serial::from_random([0x48; 16]),
        now,
    )
    .unwrap();
    let second_tbs = second.tbs_der().to_vec();
    let other = common::sign(second, &ca);
    // A certificate over another TBS (here: another serial) is refused.
    assert!(matches!(
        first.verify_signed_tbs(&other),
        Err(Error::TbsMismatch)
    ));
    assert!(matches!(
        first.verify_signed_der(&other.to_der().unwrap()),
        Err(Error::TbsMismatch)
    ));
    assert_eq!(other.tbs_certificate().to_der().unwrap(), second_tbs);
    let serial = first.serial().to_vec();
    let cert = common::sign(first, &ca);
    assert_eq!(cert.tbs_certificate().serial_number().as_bytes(), serial);
}

#[test]
fn every_cmc_keys_scheme_is_an_allowed_algorithm() {
    for (hash, digest) in [
        (HashAlg::Sha256, Digest::Sha256),
        (HashAlg::Sha384, Digest::Sha384),
        (HashAlg::Sha512, Digest::Sha512),
    ] {
        for (scheme, want) in [
            (
                SignatureScheme::Ecdsa(hash),
                SignatureAlgorithm::Ecdsa(digest),
            ),
            (
                SignatureScheme::RsaPkcs1v15(hash),
                SignatureAlgorithm::RsaPkcs1v15(digest),
            ),
            (
                SignatureScheme::RsaPss(hash),
                SignatureAlgorithm::RsaPss(digest),
            ),
        ] {
            let alg = scheme.algorithm_identifier().unwrap();
            assert_eq!(
                cmc_policy::check_signature_algorithm(&alg).unwrap(),
                want,
                "{scheme}"
            );
        }
    }
}
