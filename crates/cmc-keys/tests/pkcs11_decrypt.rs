//! Decryption keys on SoftHSM2 ([`DecryptionKey`] for [`Pkcs11Key`]): RSA
//! key transport (OAEP and PKCS #1 v1.5) of what software encrypted to the
//! token key's public key, ECDH against a software key (both sides agree on
//! Z), and the refusals: a ciphertext that does not decrypt (OAEP: an
//! error; v1.5: a random key of the expected length, no error), a point off
//! the curve, and keys without `CKA_DECRYPT` / `CKA_DERIVE`.
//!
//! Needs `CMC_TEST_PKCS11_MODULE`, `CMC_TEST_PKCS11_TOKEN` and
//! `CMC_TEST_PKCS11_PIN_FILE` (`eval "$(scripts/softhsm-env.sh DIR)"`).

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cmc_keys::pkcs11::Pkcs11Key;
use cmc_keys::{DecryptionKey, Error, FileKey, KeySpec, OaepHash, RsaKeyTransport, SigningKey};
use der::Encode;
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use p256::elliptic_curve::sec1::ToSec1Point;
use spki::DecodePublicKey;

fn rsa_public(key: &dyn DecryptionKey) -> rsa::RsaPublicKey {
    rsa::RsaPublicKey::from_public_key_der(&key.public_key().to_der().unwrap()).unwrap()
}

/// Software RSAES-OAEP with label hash `D` and MGF1 hash `M`.
fn oaep_encrypt<D, M>(public: &rsa::RsaPublicKey, msg: &[u8]) -> Vec<u8>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset + Send + Sync + 'static,
    M: sha2::Digest + sha2::digest::FixedOutputReset + Send + Sync + 'static,
{
    public
        .encrypt(
            &mut UnwrapErr(SysRng),
            rsa::Oaep::<D, M>::new_with_mgf_hash(),
            msg,
        )
        .unwrap()
}

#[test]
fn rsa_key_transport_on_the_token() {
    let Some(hsm) = common::hsm("rsa_key_transport_on_the_token") else {
        return;
    };
    let label = format!("cmc-test-enc-rsa-{}", common::random_suffix());
    let key =
        Pkcs11Key::generate_for_decryption(&hsm.config(&label).with_sessions(2), KeySpec::Rsa2048)
            .unwrap();
    let attrs = key.private_key_attributes().unwrap();
    assert!(attrs.decrypt && !attrs.sign && !attrs.derive && attrs.sensitive && !attrs.extractable);
    let public = rsa_public(&key);
    let cek = [0x5au8; 32];

    // OAEP with SHA-1 (OpenSSL's default parameters): every token does it.
    let ct = oaep_encrypt::<sha1::Sha1, sha1::Sha1>(&public, &cek);
    let sha1 = RsaKeyTransport::Oaep {
        hash: OaepHash::Sha1,
        mgf1: OaepHash::Sha1,
    };
    assert_eq!(key.rsa_decrypt(sha1, &ct, 32).unwrap().as_slice(), cek);

    // A wrong OAEP ciphertext is an error (the codec turns it into a random
    // key); a truncated one as well.
    let mut bad = ct.clone();
    bad[40] ^= 1;
    assert!(matches!(
        key.rsa_decrypt(sha1, &bad, 32),
        Err(Error::Decrypt)
    ));
    assert!(matches!(
        key.rsa_decrypt(sha1, &ct[1..], 32),
        Err(Error::Decrypt)
    ));

    // OAEP with SHA-256, and Java's SHA-1 label hash with MGF1-SHA-256:
    // decrypted right, or refused by name when the token lacks the
    // parameters (SoftHSM 2.6 does OAEP with SHA-1 only).
    let sha256 = RsaKeyTransport::Oaep {
        hash: OaepHash::Sha256,
        mgf1: OaepHash::Sha256,
    };
    let java = RsaKeyTransport::Oaep {
        hash: OaepHash::Sha1,
        mgf1: OaepHash::Sha256,
    };
    for (padding, ct) in [
        (
            sha256,
            oaep_encrypt::<sha2::Sha256, sha2::Sha256>(&public, &cek),
        ),
        (
            java,
            oaep_encrypt::<sha1::Sha1, sha2::Sha256>(&public, &cek),
        ),
    ] {
        match key.rsa_decrypt(padding, &ct, 32) {
            Ok(plain) => assert_eq!(plain.as_slice(), cek, "{padding:?}"),
            Err(Error::MechanismUnsupported { mechanism, .. }) => {
                assert!(mechanism.contains("RSAES-OAEP"), "{mechanism}");
                assert!(mechanism.contains("MGF1 with SHA-256"), "{mechanism}");
            }
            Err(e) => panic!("{padding:?}: {e}"),
        }
    }

    // PKCS #1 v1.5: decrypted right.
    let v15 = public
        .encrypt(&mut UnwrapErr(SysRng), rsa::Pkcs1v15Encrypt, &cek)
        .unwrap();
    let pkcs1 = RsaKeyTransport::Pkcs1v15;
    assert_eq!(key.rsa_decrypt(pkcs1, &v15, 32).unwrap().as_slice(), cek);
    // A bad padding: no error, a random key of the expected length, a
    // different one each time (the token said no; nothing tells).
    let mut bad = v15.clone();
    bad[10] ^= 0x40;
    let a = key.rsa_decrypt(pkcs1, &bad, 24).unwrap();
    let b = key.rsa_decrypt(pkcs1, &bad, 24).unwrap();
    assert_eq!((a.len(), b.len()), (24, 24));
    assert_ne!(a.as_slice(), b.as_slice());
    // Too long for the modulus: the same.
    let long = vec![0xffu8; 300];
    assert_eq!(key.rsa_decrypt(pkcs1, &long, 16).unwrap().len(), 16);

    // The same key in software gives the same answers for good ciphertexts.
    // (A FileKey cannot be the token key; this checks the software path
    // against the same ciphertext types, as the codec uses both.)
    let soft = FileKey::generate(KeySpec::Rsa2048).unwrap();
    let soft_public = rsa_public(&soft);
    let ct = oaep_encrypt::<sha1::Sha1, sha1::Sha1>(&soft_public, &cek);
    assert_eq!(soft.rsa_decrypt(sha1, &ct, 32).unwrap().as_slice(), cek);

    // After a logout the next decryption logs in again.
    key.logout().unwrap();
    let ct = oaep_encrypt::<sha1::Sha1, sha1::Sha1>(&public, &cek);
    assert_eq!(key.rsa_decrypt(sha1, &ct, 32).unwrap().as_slice(), cek);

    // An RSA key does no ECDH.
    let ec = FileKey::generate(KeySpec::P256).unwrap();
    assert!(matches!(
        key.ecdh(SigningKey::public_key(&ec).subject_public_key.raw_bytes()),
        Err(Error::UnsupportedKey(_))
    ));
    key.destroy().unwrap();
}

fn ecdh_on_token(spec: KeySpec) {
    let Some(hsm) = common::hsm(&format!("ecdh_on_the_token_{spec}")) else {
        return;
    };
    let label = format!("cmc-test-enc-{spec}-{}", common::random_suffix());
    let key =
        Pkcs11Key::generate_for_decryption(&hsm.config(&label).with_sessions(2), spec).unwrap();
    let attrs = key.private_key_attributes().unwrap();
    assert!(attrs.derive && !attrs.sign && !attrs.decrypt, "{spec}");
    let token_point = DecryptionKey::public_key(&key)
        .subject_public_key
        .raw_bytes()
        .to_vec();

    for round in 0..3 {
        // The sender's ephemeral key, in software: Z from its side (the
        // software path, FileKey::ecdh with the token's public point) and
        // from the token's side must be the same.
        let ephemeral = FileKey::generate(spec).unwrap();
        let eph_point = SigningKey::public_key(&ephemeral)
            .subject_public_key
            .raw_bytes()
            .to_vec();
        let ours = ephemeral.ecdh(&token_point).unwrap();
        let theirs = key.ecdh(&eph_point).unwrap();
        assert_eq!(ours.len(), spec.ec_field_len().unwrap());
        assert_eq!(ours.as_slice(), theirs.as_slice(), "{spec} round {round}");
        if round == 0 {
            // A compressed point works as well.
            let compressed = match spec {
                KeySpec::P256 => p256::PublicKey::from_sec1_bytes(&eph_point)
                    .unwrap()
                    .to_sec1_point(true)
                    .as_bytes()
                    .to_vec(),
                _ => p384::PublicKey::from_sec1_bytes(&eph_point)
                    .unwrap()
                    .to_sec1_point(true)
                    .as_bytes()
                    .to_vec(),
            };
            assert_eq!(key.ecdh(&compressed).unwrap().as_slice(), ours.as_slice());
        }
    }

    // A point off the curve, and a point of the other curve: "does not
    // decrypt", found before the token is asked.
    let mut off = token_point.clone();
    let last = off.len() - 1;
    off[last] ^= 1;
    assert!(matches!(key.ecdh(&off), Err(Error::Decrypt)));
    let other = FileKey::generate(if spec == KeySpec::P256 {
        KeySpec::P384
    } else {
        KeySpec::P256
    })
    .unwrap();
    assert!(matches!(
        key.ecdh(
            SigningKey::public_key(&other)
                .subject_public_key
                .raw_bytes()
        ),
        Err(Error::Decrypt)
    ));
    // An EC key does no RSA.
    assert!(matches!(
        key.rsa_decrypt(RsaKeyTransport::Pkcs1v15, &[0u8; 256], 32),
        Err(Error::UnsupportedKey(_))
    ));
    // The derived secrets did not stay on the token as objects: the pool's
    // sessions hold none (a second key opened on the token sees only ours).
    key.destroy().unwrap();
}

#[test]
fn ecdh_p256_on_the_token() {
    ecdh_on_token(KeySpec::P256);
}

#[test]
fn ecdh_p384_on_the_token() {
    ecdh_on_token(KeySpec::P384);
}

#[test]
fn signing_keys_do_not_decrypt() {
    let Some(hsm) = common::hsm("signing_keys_do_not_decrypt") else {
        return;
    };
    for spec in [KeySpec::Rsa2048, KeySpec::P256] {
        let label = format!("cmc-test-sign-only-{spec}-{}", common::random_suffix());
        let config = hsm.config(&label).with_sessions(1);
        let key = Pkcs11Key::generate(&config, spec).unwrap();
        let attrs = key.private_key_attributes().unwrap();
        assert!(attrs.sign && !attrs.decrypt && !attrs.derive, "{spec}");
        let want = if spec.is_rsa() {
            "CKA_DECRYPT"
        } else {
            "CKA_DERIVE"
        };

        // Refused when opened as a decryption key, by name.
        let err = Pkcs11Key::open_for_decryption(&config).unwrap_err();
        match &err {
            Error::KeyUsage { attribute, .. } => assert_eq!(*attribute, want, "{spec}"),
            other => panic!("{spec}: {other}"),
        }
        assert!(err.to_string().contains(want), "{err}");

        // And by the token when used anyway (opened as a signing key).
        let used = if spec.is_rsa() {
            let ct = rsa_public(&key)
                .encrypt(&mut UnwrapErr(SysRng), rsa::Pkcs1v15Encrypt, &[1u8; 16])
                .unwrap();
            key.rsa_decrypt(RsaKeyTransport::Pkcs1v15, &ct, 16)
        } else {
            let peer = FileKey::generate(KeySpec::P256).unwrap();
            key.ecdh(SigningKey::public_key(&peer).subject_public_key.raw_bytes())
        };
        match used {
            Err(Error::KeyUsage { attribute, .. }) => assert_eq!(attribute, want, "{spec}"),
            Err(other) => panic!("{spec}: {other}"),
            Ok(_) => panic!("{spec}: a signing-only key decrypted"),
        }
        key.destroy().unwrap();
    }
    // P-521 is no decryption key here.
    let label = format!("cmc-test-p521-{}", common::random_suffix());
    assert!(matches!(
        Pkcs11Key::generate_for_decryption(&hsm.config(&label), KeySpec::P521),
        Err(Error::UnsupportedKey(_))
    ));
}
