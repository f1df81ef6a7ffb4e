#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use cmc_asn1::oid::ID_CCT_PKI_DATA;

use super::*;
use crate::pwri::{Aes, blocks};

const SECRET: &[u8] = b"0123456789ABCDEFGHJK";

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn pw() -> Zeroizing<Vec<u8>> {
    password("device-17", SECRET)
}

fn small(wrap: KeyWrap, prf: ProofHash, mac: ProofHash) -> AuthParams {
    AuthParams {
        prf,
        iterations: MIN_ITERATIONS,
        salt_len: MIN_SALT,
        wrap,
        mac,
        digest: ProofHash::Sha384,
    }
}

/// Decodes `der`, lets `edit` change the AuthenticatedData, re-encodes.
fn edited(der: &[u8], edit: impl FnOnce(&mut AuthenticatedData)) -> Vec<u8> {
    let ci = ContentInfo::from_der(der).unwrap();
    let mut data: AuthenticatedData = ci.content.decode_as().unwrap();
    edit(&mut data);
    ContentInfo {
        content_type: ID_CT_AUTH_DATA,
        content: Any::encode_from(&data).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn pwri_of(data: &mut AuthenticatedData) -> PasswordRecipientInfo {
    let Some(RecipientInfo::Pwri(p)) = data.recip_infos.0.get(0).cloned() else {
        panic!("no pwri");
    };
    p
}

fn set_pwri(data: &mut AuthenticatedData, pwri: PasswordRecipientInfo) {
    let mut set = SetOfVec::new();
    set.insert(RecipientInfo::Pwri(pwri)).unwrap();
    data.recip_infos = RecipientInfos(set);
}

#[test]
fn round_trip_with_the_defaults() {
    let der = authenticate(ID_CCT_PKI_DATA, b"\x30\x00", &pw(), at()).unwrap();
    let msg = parse_authenticated(&der, 1 << 20).unwrap();
    assert_eq!(msg.params, AuthParams::default());
    assert_eq!(msg.content_type(), ID_CCT_PKI_DATA);
    assert_eq!(msg.unverified_content(), b"\x30\x00");
    let ok = msg.verify(&pw()).unwrap();
    assert_eq!(ok.content, b"\x30\x00");
    assert_eq!(ok.content_type, ID_CCT_PKI_DATA);
    assert_eq!(ok.signing_time, Some(at()));
    // PasswordRecipientInfo version 0, PBKDF2 with HMAC-SHA256 and
    // keyLength 32, aes256-wrap, HMAC-SHA256.
    let mut data = msg.data.clone();
    let pwri = pwri_of(&mut data);
    assert_eq!(pwri.version, CmsVersion::V0);
    assert_eq!(pwri.key_enc_alg.oid, ID_AES_256_WRAP);
    let kdf: Pbkdf2Params = pwri
        .key_derivation_alg
        .unwrap()
        .parameters
        .unwrap()
        .decode_as()
        .unwrap();
    assert_eq!(kdf.key_length, Some(32));
    assert_eq!(kdf.iteration_count, DEFAULT_ITERATIONS);
    assert_eq!(kdf.salt.as_bytes().len(), 16);
    assert_eq!(kdf.prf, Some(ProofHash::Sha256.hmac_algorithm()));
    assert_eq!(data.mac_alg.oid, ProofHash::Sha256.hmac_oid());
    // Two messages never share a salt or MAC key.
    let again = authenticate(ID_CCT_PKI_DATA, b"\x30\x00", &pw(), at()).unwrap();
    assert_ne!(der, again);
}

#[test]
fn every_accepted_algorithm_round_trips() {
    for wrap in [
        KeyWrap::AesKw(AesSize::Aes128),
        KeyWrap::AesKw(AesSize::Aes192),
        KeyWrap::PwriKek(AesSize::Aes128),
        KeyWrap::PwriKek(AesSize::Aes256),
    ] {
        for (prf, mac) in [
            (ProofHash::Sha1, ProofHash::Sha256),
            (ProofHash::Sha512, ProofHash::Sha384),
            (ProofHash::Sha256, ProofHash::Sha512),
        ] {
            let params = small(wrap, prf, mac);
            let der = authenticate_with(ID_CCT_PKI_DATA, b"abc", &pw(), at(), &params).unwrap();
            let msg = parse_authenticated(&der, 1 << 20).unwrap();
            assert_eq!(msg.params, params, "{wrap} {prf} {mac}");
            assert_eq!(msg.verify(&pw()).unwrap().content, b"abc");
            let wrong = password("device-17", b"0123456789ABCDEFGHJX");
            assert!(
                matches!(msg.verify(&wrong), Err(Error::AuthDataMac)),
                "{wrap} {prf} {mac}"
            );
        }
    }
}

#[test]
fn a_wrong_secret_or_identification_does_not_verify() {
    let der = authenticate(ID_CCT_PKI_DATA, b"abc", &pw(), at()).unwrap();
    let msg = parse_authenticated(&der, 1 << 20).unwrap();
    for wrong in [
        password("device-18", SECRET),
        password("device-17", b"0123456789ABCDEFGHJ"),
        password("", SECRET),
    ] {
        assert!(matches!(msg.verify(&wrong), Err(Error::AuthDataMac)));
    }
    // RFC 5272 §3.2 concatenates without a separator: the same octets split
    // elsewhere are the same password. A server therefore takes the
    // identification from the authenticated content and the secret from
    // its own records for that identification, never both from the client.
    assert!(
        msg.verify(&password("device-1", b"70123456789ABCDEFGHJK"))
            .is_ok()
    );
}

#[test]
fn a_changed_mac_does_not_verify() {
    let der = authenticate(ID_CCT_PKI_DATA, b"abc", &pw(), at()).unwrap();
    let tampered = edited(&der, |d| {
        let mut mac = d.mac.as_bytes().to_vec();
        mac[0] ^= 1;
        d.mac = OctetString::new(mac).unwrap();
    });
    let msg = parse_authenticated(&tampered, 1 << 20).unwrap();
    assert!(matches!(msg.verify(&pw()), Err(Error::AuthDataMac)));
}

#[test]
fn swapped_content_fails_the_message_digest() {
    // The MAC covers the attributes only: the messageDigest check is what
    // ties them to the content.
    let der = authenticate(ID_CCT_PKI_DATA, b"abc", &pw(), at()).unwrap();
    let swapped = edited(&der, |d| {
        d.encap_content_info.econtent =
            Some(Any::encode_from(&OctetString::new(&b"abd"[..]).unwrap()).unwrap());
    });
    let msg = parse_authenticated(&swapped, 1 << 20).unwrap();
    assert!(matches!(
        msg.verify(&pw()),
        Err(Error::MessageDigestMismatch)
    ));
    // A changed messageDigest attribute breaks the MAC.
    let other_digest = edited(&der, |d| {
        let attrs = d.auth_attrs.as_mut().unwrap();
        let mut v: Vec<Attribute> = attrs.iter().cloned().collect();
        for a in &mut v {
            if a.oid == ID_MESSAGE_DIGEST {
                *a = attribute(
                    ID_MESSAGE_DIGEST,
                    &OctetString::new(ProofHash::Sha256.hash(&[b"abd"]).to_vec()).unwrap(),
                )
                .unwrap();
            }
        }
        *attrs = SetOfVec::try_from(v).unwrap();
        d.encap_content_info.econtent =
            Some(Any::encode_from(&OctetString::new(&b"abd"[..]).unwrap()).unwrap());
    });
    let msg = parse_authenticated(&other_digest, 1 << 20).unwrap();
    assert!(matches!(msg.verify(&pw()), Err(Error::AuthDataMac)));
    // And so does another content type (the MAC covers contentType).
    let retyped = edited(&der, |d| {
        d.encap_content_info.econtent_type = cmc_asn1::oid::ID_CCT_PKI_RESPONSE;
    });
    let msg = parse_authenticated(&retyped, 1 << 20).unwrap();
    assert!(matches!(
        msg.verify(&pw()),
        Err(Error::ContentTypeMismatch { .. })
    ));
}

#[test]
fn parameters_out_of_bounds_are_refused_before_any_derivation() {
    let der = authenticate(ID_CCT_PKI_DATA, b"abc", &pw(), at()).unwrap();
    let with_kdf = |f: &dyn Fn(&mut Pbkdf2Params)| {
        edited(&der, |d| {
            let mut pwri = pwri_of(d);
            let alg = pwri.key_derivation_alg.as_mut().unwrap();
            let mut p: Pbkdf2Params = alg.parameters.as_ref().unwrap().decode_as().unwrap();
            f(&mut p);
            alg.parameters = Some(Any::encode_from(&p).unwrap());
            set_pwri(d, pwri);
        })
    };
    for (what, der) in [
        (
            "iterations",
            with_kdf(&|p| p.iteration_count = MAX_ITERATIONS + 1),
        ),
        ("few iterations", with_kdf(&|p| p.iteration_count = 999)),
        (
            "salt",
            with_kdf(&|p| p.salt = OctetString::new(vec![1u8; MAX_SALT + 1]).unwrap()),
        ),
        (
            "short salt",
            with_kdf(&|p| p.salt = OctetString::new(vec![1u8; 7]).unwrap()),
        ),
        ("key length", with_kdf(&|p| p.key_length = Some(16))),
    ] {
        assert!(
            matches!(
                parse_authenticated(&der, 1 << 20),
                Err(Error::MalformedAuthenticatedData(_))
            ),
            "{what}"
        );
    }
    let sha1_mac = edited(&der, |d| d.mac_alg = ProofHash::Sha1.hmac_algorithm());
    assert!(matches!(
        parse_authenticated(&sha1_mac, 1 << 20),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
    let no_attrs = edited(&der, |d| d.auth_attrs = None);
    assert!(matches!(
        parse_authenticated(&no_attrs, 1 << 20),
        Err(Error::MissingSignedAttributes)
    ));
    let no_content = edited(&der, |d| d.encap_content_info.econtent = None);
    assert!(matches!(
        parse_authenticated(&no_content, 1 << 20),
        Err(Error::MissingContent)
    ));
    assert!(matches!(
        parse_authenticated(&der, 10),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn pwri_kek_refuses_a_bad_check_value() {
    let kek = [7u8; 32];
    let iv = [9u8; 16];
    let key = [0x55u8; 32];
    let wrapped = pwri_kek_wrap(&kek, &iv, &key).unwrap();
    assert_eq!(wrapped.len(), 48);
    assert_eq!(*pwri_kek_unwrap(&kek, &iv, &wrapped).unwrap(), key);
    assert!(pwri_kek_unwrap(&[8u8; 32], &iv, &wrapped).is_none());
    assert!(pwri_kek_unwrap(&kek, &iv, &wrapped[..32]).is_none());
}

/// OpenSSL's `cms -encrypt -pwri_password` writes a PasswordRecipientInfo
/// with PBKDF2 and PWRI-KEK (aes-256-cbc): our unwrap opens its content key,
/// and that key decrypts its content.
#[test]
fn openssl_pwri_kek_opens() {
    use cms::enveloped_data::EnvelopedData;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, b"password recipient info, from openssl").unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "cms",
            "-encrypt",
            "-aes256",
            "-outform",
            "DER",
            "-pwri_password",
        ])
        .arg("device-17secret-of-twenty-chars")
        .arg("-in")
        .arg(&input)
        .output()
        .expect("openssl must be installed (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ci = ContentInfo::from_der(&out.stdout).unwrap();
    let env: EnvelopedData = ci.content.decode_as().unwrap();
    let Some(RecipientInfo::Pwri(pwri)) = env.recip_infos.0.get(0) else {
        panic!("no pwri");
    };
    let kdf: Pbkdf2Params = pwri
        .key_derivation_alg
        .as_ref()
        .unwrap()
        .parameters
        .as_ref()
        .unwrap()
        .decode_as()
        .unwrap();
    let prf = kdf.prf.as_ref().map_or(ProofHash::Sha1, |a| {
        ProofHash::from_hmac_oid(&a.oid).unwrap()
    });
    let (wrap, iv) = key_wrap(&pwri.key_enc_alg).unwrap();
    assert_eq!(wrap, KeyWrap::PwriKek(AesSize::Aes256));
    let kek = derive(
        prf,
        b"device-17secret-of-twenty-chars",
        kdf.salt.as_bytes(),
        kdf.iteration_count,
        32,
    );
    let cek = pwri_kek_unwrap(&kek, &iv.unwrap(), pwri.enc_key.as_bytes()).unwrap();
    assert_eq!(cek.len(), 32);
    // The content: AES-256-CBC, PKCS #7 padding.
    let content_iv: OctetString = env
        .encrypted_content
        .content_enc_alg
        .parameters
        .as_ref()
        .unwrap()
        .decode_as()
        .unwrap();
    let ciphertext = env
        .encrypted_content
        .encrypted_content
        .as_ref()
        .unwrap()
        .as_bytes();
    let cipher = Aes::new(&cek).unwrap();
    let mut b = blocks(ciphertext);
    cipher.cbc_decrypt(&content_iv.as_bytes().try_into().unwrap(), &mut b);
    let plain: Vec<u8> = b.iter().flatten().copied().collect();
    let pad = usize::from(*plain.last().unwrap());
    assert_eq!(
        &plain[..plain.len() - pad],
        b"password recipient info, from openssl"
    );
    assert!(
        pwri_kek_unwrap(
            &derive(prf, b"wrong", kdf.salt.as_bytes(), kdf.iteration_count, 32),
            &iv.unwrap(),
            pwri.enc_key.as_bytes()
        )
        .is_none()
    );
}
