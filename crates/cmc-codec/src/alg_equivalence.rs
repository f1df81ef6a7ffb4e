//! The two signature backends are interchangeable: every algorithm we accept, signed by
//! RustCrypto, by aws-lc-rs (where it has the algorithm) and by a [`FileKey`] (whichever
//! backend it uses), verifies on both verification paths, and a changed message or a changed
//! signature fails on both. In the `pure-rust` build only the RustCrypto halves run.

use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION};
use der::asn1::BitString;
use p256::pkcs8::DecodePrivateKey;
use signature::hazmat::PrehashSigner;

use super::*;

const MESSAGE: &[u8] = b"the TBS of a certificate, or the signed attributes of a CMC request";

/// Every key type and scheme the codec accepts, on one key per type.
fn cases() -> Vec<(KeySpec, SignatureScheme)> {
    use HashAlg::{Sha256, Sha384, Sha512};
    let mut cases = Vec::new();
    for (spec, hashes) in [
        (KeySpec::P256, &[Sha256, Sha384, Sha512][..]),
        (KeySpec::P384, &[Sha256, Sha384, Sha512][..]),
        // P-521 with SHA-256 is refused (RFC 5753 pairs it with SHA-512; a digest shorter
        // than half the field is not offered).
        (KeySpec::P521, &[Sha384, Sha512][..]),
    ] {
        cases.extend(hashes.iter().map(|h| (spec, SignatureScheme::Ecdsa(*h))));
    }
    for h in [Sha256, Sha384, Sha512] {
        cases.push((KeySpec::Rsa2048, SignatureScheme::RsaPkcs1v15(h)));
        cases.push((KeySpec::Rsa2048, SignatureScheme::RsaPss(h)));
    }
    cases
}

/// One key per type, as unencrypted PKCS #8 DER.
fn keys() -> Vec<(KeySpec, Vec<u8>)> {
    [
        KeySpec::P256,
        KeySpec::P384,
        KeySpec::P521,
        KeySpec::Rsa2048,
    ]
    .into_iter()
    .map(|spec| {
        let key = FileKey::generate(spec).unwrap();
        (spec, key.to_pkcs8_der().unwrap().to_vec())
    })
    .collect()
}

fn file_key(pkcs8: &[u8], scheme: SignatureScheme) -> FileKey {
    let pem = der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, pkcs8).unwrap();
    FileKey::from_pem(pem.as_bytes(), None)
        .unwrap()
        .with_scheme(scheme)
        .unwrap()
}

/// Signs with the RustCrypto crates directly.
fn rust_crypto_sign(spec: KeySpec, pkcs8: &[u8], scheme: SignatureScheme) -> Vec<u8> {
    let digest = scheme.hash().digest(MESSAGE);
    match (spec, scheme) {
        (KeySpec::P256, SignatureScheme::Ecdsa(_)) => {
            let k = p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8).unwrap();
            let s: p256::ecdsa::DerSignature = k.sign_prehash(&digest).unwrap();
            s.as_bytes().to_vec()
        }
        (KeySpec::P384, SignatureScheme::Ecdsa(_)) => {
            let k = p384::ecdsa::SigningKey::from_pkcs8_der(pkcs8).unwrap();
            let s: p384::ecdsa::DerSignature = k.sign_prehash(&digest).unwrap();
            s.as_bytes().to_vec()
        }
        (KeySpec::P521, SignatureScheme::Ecdsa(_)) => {
            let k = p521::ecdsa::SigningKey::from_pkcs8_der(pkcs8).unwrap();
            let s: p521::ecdsa::DerSignature = k.sign_prehash(&digest).unwrap();
            s.as_bytes().to_vec()
        }
        (_, SignatureScheme::RsaPkcs1v15(h)) => {
            let k = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).unwrap();
            let padding = match h {
                HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                _ => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            k.sign(padding, &digest).unwrap()
        }
        (_, SignatureScheme::RsaPss(h)) => rsa_pss_sign(pkcs8, h, h.output_len()),
        other => panic!("no case {other:?}"),
    }
}

fn rsa_pss_sign(pkcs8: &[u8], h: HashAlg, salt: usize) -> Vec<u8> {
    let k = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).unwrap();
    let digest = h.digest(MESSAGE);
    let mut rng = getrandom::rand_core::UnwrapErr(getrandom::SysRng);
    let r = match h {
        HashAlg::Sha256 => k.sign_with_rng(
            &mut rng,
            rsa::Pss::<sha2::Sha256>::new_with_salt(salt),
            &digest,
        ),
        HashAlg::Sha384 => k.sign_with_rng(
            &mut rng,
            rsa::Pss::<sha2::Sha384>::new_with_salt(salt),
            &digest,
        ),
        _ => k.sign_with_rng(
            &mut rng,
            rsa::Pss::<sha2::Sha512>::new_with_salt(salt),
            &digest,
        ),
    };
    r.unwrap()
}

/// Signs with aws-lc-rs directly, where it has a signing algorithm for the scheme.
#[cfg(feature = "aws-lc")]
fn aws_lc_sign(spec: KeySpec, pkcs8: &[u8], scheme: SignatureScheme) -> Option<Vec<u8>> {
    use aws_lc_rs::signature as lc;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let ecdsa = |alg| {
        let k = lc::EcdsaKeyPair::from_pkcs8(alg, pkcs8).unwrap();
        Some(k.sign(&rng, MESSAGE).unwrap().as_ref().to_vec())
    };
    let rsa = |padding: &'static dyn lc::RsaEncoding| {
        let k = lc::RsaKeyPair::from_pkcs8(pkcs8).unwrap();
        let mut out = vec![0; k.public_modulus_len()];
        k.sign(padding, &rng, MESSAGE, &mut out).unwrap();
        Some(out)
    };
    match (spec, scheme) {
        (KeySpec::P256, SignatureScheme::Ecdsa(HashAlg::Sha256)) => {
            ecdsa(&lc::ECDSA_P256_SHA256_ASN1_SIGNING)
        }
        (KeySpec::P384, SignatureScheme::Ecdsa(HashAlg::Sha384)) => {
            ecdsa(&lc::ECDSA_P384_SHA384_ASN1_SIGNING)
        }
        (KeySpec::P521, SignatureScheme::Ecdsa(HashAlg::Sha384)) => {
            ecdsa(&lc::ECDSA_P521_SHA384_ASN1_SIGNING)
        }
        (KeySpec::P521, SignatureScheme::Ecdsa(HashAlg::Sha512)) => {
            ecdsa(&lc::ECDSA_P521_SHA512_ASN1_SIGNING)
        }
        (_, SignatureScheme::RsaPkcs1v15(HashAlg::Sha256)) => rsa(&lc::RSA_PKCS1_SHA256),
        (_, SignatureScheme::RsaPkcs1v15(HashAlg::Sha384)) => rsa(&lc::RSA_PKCS1_SHA384),
        (_, SignatureScheme::RsaPkcs1v15(HashAlg::Sha512)) => rsa(&lc::RSA_PKCS1_SHA512),
        (_, SignatureScheme::RsaPss(HashAlg::Sha256)) => rsa(&lc::RSA_PSS_SHA256),
        (_, SignatureScheme::RsaPss(HashAlg::Sha384)) => rsa(&lc::RSA_PSS_SHA384),
        (_, SignatureScheme::RsaPss(HashAlg::Sha512)) => rsa(&lc::RSA_PSS_SHA512),
        // P-256 with SHA-384/512, P-384 with SHA-256/512: no aws-lc-rs algorithm.
        _ => None,
    }
}

type Verifier =
    fn(&SubjectPublicKeyInfoOwned, &SignatureAlg, &[u8], &[u8], &'static str) -> Result<()>;

/// Every verification path of this build, by name.
fn verifiers() -> Vec<(&'static str, Verifier)> {
    #[cfg_attr(not(feature = "aws-lc"), allow(unused_mut))]
    let mut v: Vec<(&'static str, Verifier)> = vec![
        ("RustCrypto", verify_rust_crypto),
        ("verify_signature", verify_signature),
    ];
    #[cfg(feature = "aws-lc")]
    v.push(("aws-lc-rs", |spki, alg, m, s, what| {
        fast::verify(spki, alg, m, s, what).expect("aws-lc-rs verifies this algorithm")
    }));
    v
}

fn assert_equivalent(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &SignatureAlg,
    signer: &str,
    sig: &[u8],
) {
    let mut tampered = sig.to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    for (name, verify) in verifiers() {
        let case = format!("{alg:?} signed by {signer}, verified by {name}");
        verify(spki, alg, MESSAGE, sig, "test").unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(
            matches!(
                verify(spki, alg, b"another message", sig, "test"),
                Err(Error::BadSignature { what: "test" })
            ),
            "{case}: a changed message verified"
        );
        assert!(
            matches!(
                verify(spki, alg, MESSAGE, &tampered, "test"),
                Err(Error::BadSignature { what: "test" })
            ),
            "{case}: a changed signature verified"
        );
    }
}

#[test]
fn every_algorithm_signs_and_verifies_the_same_on_both_backends() {
    let keys = keys();
    for (spec, scheme) in cases() {
        let (_, pkcs8) = keys.iter().find(|(s, _)| *s == spec).unwrap();
        let key = file_key(pkcs8, scheme);
        let alg = SignatureAlg::from_algorithm_identifier(key.signature_algorithm(), None).unwrap();
        let spki = key.public_key();

        #[cfg_attr(not(feature = "aws-lc"), allow(unused_mut))]
        let mut signatures = vec![
            ("RustCrypto", rust_crypto_sign(spec, pkcs8, scheme)),
            ("FileKey", key.sign(MESSAGE).unwrap()),
        ];
        #[cfg(feature = "aws-lc")]
        if let Some(sig) = aws_lc_sign(spec, pkcs8, scheme) {
            signatures.push(("aws-lc-rs", sig));
        }
        // The file key signs with aws-lc-rs exactly where aws-lc-rs has the algorithm.
        #[cfg(feature = "aws-lc")]
        assert_eq!(
            key.backend() == cmc_keys::backend_name(),
            aws_lc_sign(spec, pkcs8, scheme).is_some(),
            "{spec} {scheme}"
        );
        #[cfg(not(feature = "aws-lc"))]
        assert_eq!(key.backend(), "RustCrypto");
        for (signer, sig) in &signatures {
            assert_equivalent(spki, &alg, signer, sig);
        }
    }
}

#[test]
fn pss_with_another_salt_length_falls_back_to_rust_crypto() {
    let (_, pkcs8) = keys().pop().unwrap();
    let key = file_key(&pkcs8, SignatureScheme::RsaPss(HashAlg::Sha256));
    let alg = SignatureAlg::RsaPss {
        hash: HashAlg::Sha256,
        mgf1_hash: HashAlg::Sha256,
        salt_len: 20,
    };
    let sig = rsa_pss_sign(&pkcs8, HashAlg::Sha256, 20);
    #[cfg(feature = "aws-lc")]
    assert!(fast::verify(key.public_key(), &alg, MESSAGE, &sig, "test").is_none());
    verify_signature(key.public_key(), &alg, MESSAGE, &sig, "test").unwrap();
    assert!(matches!(
        verify_signature(key.public_key(), &alg, b"other", &sig, "test"),
        Err(Error::BadSignature { .. })
    ));
    // A salt-20 signature is not a salt-32 one.
    let default_salt = SignatureAlg::RsaPss {
        hash: HashAlg::Sha256,
        mgf1_hash: HashAlg::Sha256,
        salt_len: 32,
    };
    for (name, verify) in verifiers() {
        assert!(
            verify(key.public_key(), &default_salt, MESSAGE, &sig, "test").is_err(),
            "{name}"
        );
    }
}

#[test]
fn both_paths_refuse_the_same_keys() {
    let ec = FileKey::generate(KeySpec::P256).unwrap();
    let ecdsa = SignatureAlg::Ecdsa(HashAlg::Sha256);
    let rsa = SignatureAlg::RsaPkcs1v15(HashAlg::Sha256);
    // An RSA key of 1024 bits: RSAPublicKey { n (1024 bits, top bit set), e = 65537 }.
    let mut n = vec![0xc1; 128];
    n[127] = 0x01;
    let rsa_1024 = rsa::pkcs1::RsaPublicKey {
        modulus: der::asn1::UintRef::new(&n).unwrap(),
        public_exponent: der::asn1::UintRef::new(&[1, 0, 1]).unwrap(),
    };
    let small = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        subject_public_key: BitString::from_bytes(&der::Encode::to_der(&rsa_1024).unwrap())
            .unwrap(),
    };
    let k1 = ObjectIdentifier::new_unwrap("1.3.132.0.10");
    let mut secp256k1 = ec.public_key().clone();
    secp256k1.algorithm.parameters = Some(Any::encode_from(&k1).unwrap());
    let mut off_curve = ec.public_key().clone();
    let mut point = off_curve.subject_public_key.raw_bytes().to_vec();
    point[40] ^= 0x01;
    off_curve.subject_public_key = BitString::from_bytes(&point).unwrap();
    assert_eq!(off_curve.algorithm.oid, ID_EC_PUBLIC_KEY);

    for (name, verify) in verifiers() {
        let sig = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01];
        assert!(
            matches!(
                verify(ec.public_key(), &rsa, MESSAGE, &sig, "t"),
                Err(Error::BadPublicKey(_))
            ),
            "{name}: an EC key for RSA"
        );
        assert!(
            matches!(
                verify(&small, &rsa, MESSAGE, &[1; 128], "t"),
                Err(Error::BadPublicKey(_))
            ),
            "{name}: RSA-1024"
        );
        assert!(
            matches!(verify(&secp256k1, &ecdsa, MESSAGE, &sig, "t"), Err(Error::UnsupportedAlgorithm { oid }) if oid == k1),
            "{name}: secp256k1"
        );
        assert!(
            matches!(
                verify(&off_curve, &ecdsa, MESSAGE, &sig, "t"),
                Err(Error::BadPublicKey(_))
            ),
            "{name}: a point off the curve"
        );
    }
}
