//! Encrypted CMC (RFC 5272 §5): envelopes made by `openssl cms -encrypt` at
//! test time (RSA PKCS #1 v1.5, RSA-OAEP with SHA-1 and SHA-256, ECDH to
//! P-256 and P-384 with SHA-1 and SHA-384 KDFs, AES-CBC 128/256 and
//! AES-256-GCM in AuthEnvelopedData) open with the recipient's key; other
//! recipients, tampered content and unsupported algorithms are refused;
//! what `envelop_signed` makes opens here and with `openssl cms -decrypt`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use cmc_asn1::CmcFailInfo;
use cmc_codec::decrypt::{self, EnvelopeKind};
use cmc_codec::{Error, encrypt};
use cmc_keys::{FileKey, KeySpec};
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

use common::openssl;

const MAX: usize = 1 << 20;

struct Recipient {
    key: FileKey,
    cert: Certificate,
    cert_path: String,
    key_path: String,
}

fn recipient(dir: &Path, tag: &str, spec: KeySpec, usage: KeyUsages) -> Recipient {
    let ca_key = common::key(KeySpec::P256);
    let ca = common::ca_cert(&ca_key, "encryption test CA");
    let key = common::key(spec);
    let cert = common::issue_with_key_usage(&ca_key, &ca, &key, tag, vec![KeyUsage(usage.into())]);
    let cert_path = dir.join(format!("{tag}.pem"));
    common::write_pem(&cert_path, &cert);
    let key_path = dir.join(format!("{tag}.key"));
    std::fs::write(&key_path, key.to_unencrypted_pem().unwrap().as_bytes()).unwrap();
    Recipient {
        key,
        cert,
        cert_path: cert_path.to_str().unwrap().to_owned(),
        key_path: key_path.to_str().unwrap().to_owned(),
    }
}

/// `openssl cms -encrypt` of `content` to `to` with `extra` options.
fn openssl_encrypt(
    dir: &Path,
    tag: &str,
    to: &Recipient,
    extra: &[&str],
    content: &[u8],
) -> Vec<u8> {
    let input = dir.join(format!("{tag}.in"));
    let out = dir.join(format!("{tag}.env"));
    std::fs::write(&input, content).unwrap();
    let mut args = vec![
        "cms",
        "-encrypt",
        "-binary",
        "-in",
        input.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        out.to_str().unwrap(),
    ];
    // -keyopt applies to the -recip before it.
    args.extend_from_slice(&["-recip", &to.cert_path]);
    args.extend_from_slice(extra);
    openssl(&args);
    std::fs::read(out).unwrap()
}

#[test]
fn openssl_envelopes_open() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rsa = recipient(d, "rsa", KeySpec::Rsa2048, KeyUsages::KeyEncipherment);
    let p256 = recipient(d, "p256", KeySpec::P256, KeyUsages::KeyAgreement);
    let p384 = recipient(d, "p384", KeySpec::P384, KeyUsages::KeyAgreement);
    let content = b"a Full PKI Request would be here".repeat(20);
    let cases: Vec<(&str, &Recipient, Vec<&str>, EnvelopeKind)> = vec![
        ("v15-aes128", &rsa, vec!["-aes128"], EnvelopeKind::Enveloped),
        (
            "oaep-sha1-aes256",
            &rsa,
            vec!["-aes256", "-keyopt", "rsa_padding_mode:oaep"],
            EnvelopeKind::Enveloped,
        ),
        (
            "oaep-sha256-aes256",
            &rsa,
            vec![
                "-aes256",
                "-keyopt",
                "rsa_padding_mode:oaep",
                "-keyopt",
                "rsa_oaep_md:sha256",
            ],
            EnvelopeKind::Enveloped,
        ),
        (
            // Java's OAEPWithSHA-256AndMGF1Padding: MGF1 stays SHA-1.
            "oaep-sha256-mgf1-sha1",
            &rsa,
            vec![
                "-aes256",
                "-keyopt",
                "rsa_padding_mode:oaep",
                "-keyopt",
                "rsa_oaep_md:sha256",
                "-keyopt",
                "rsa_mgf1_md:sha1",
            ],
            EnvelopeKind::Enveloped,
        ),
        (
            "v15-gcm",
            &rsa,
            vec!["-aes-256-gcm"],
            EnvelopeKind::AuthEnveloped,
        ),
        (
            "ecdh-p256-sha1kdf",
            &p256,
            vec!["-aes256"],
            EnvelopeKind::Enveloped,
        ),
        (
            "ecdh-p256-sha256kdf",
            &p256,
            vec!["-aes128", "-keyopt", "ecdh_kdf_md:sha256"],
            EnvelopeKind::Enveloped,
        ),
        (
            "ecdh-p384-sha384kdf",
            &p384,
            vec!["-aes256", "-keyopt", "ecdh_kdf_md:sha384"],
            EnvelopeKind::Enveloped,
        ),
        (
            "ecdh-p384-gcm",
            &p384,
            vec!["-aes-128-gcm", "-keyopt", "ecdh_kdf_md:sha256"],
            EnvelopeKind::AuthEnveloped,
        ),
    ];
    for (tag, to, extra, kind) in cases {
        let env = openssl_encrypt(d, tag, to, &extra, &content);
        assert_eq!(decrypt::envelope_kind(&env), Some(kind), "{tag}");
        let opened =
            decrypt::open(&env, &to.cert, &to.key, MAX).unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(opened.kind, kind, "{tag}");
        assert_eq!(opened.content_type, ID_DATA, "{tag}");
        assert_eq!(opened.content.as_slice(), content.as_slice(), "{tag}");
        assert_eq!(opened.content_info_der().unwrap(), content, "{tag}");
        // The key alone finds its recipient, as `openssl cms -decrypt -inkey`.
        let by_key = decrypt::open_with_key(&env, &to.key, MAX).unwrap();
        assert_eq!(by_key.content.as_slice(), content.as_slice(), "{tag}");
        let stranger = common::key(KeySpec::P256);
        assert!(
            decrypt::open_with_key(&env, &stranger, MAX).is_err(),
            "{tag}"
        );
    }
}

#[test]
fn refusals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rsa = recipient(d, "rsa", KeySpec::Rsa2048, KeyUsages::KeyEncipherment);
    let other = recipient(d, "other", KeySpec::Rsa2048, KeyUsages::KeyEncipherment);
    let p256 = recipient(d, "p256", KeySpec::P256, KeyUsages::KeyAgreement);
    let content = b"secret request".to_vec();

    // Another recipient: nothing is addressed to us.
    let env = openssl_encrypt(d, "other", &other, &["-aes256"], &content);
    let e = decrypt::open(&env, &rsa.cert, &rsa.key, MAX).unwrap_err();
    assert!(matches!(e, Error::Undecryptable(_)), "{e}");
    assert_eq!(e.fail_info(), CmcFailInfo::BadMessageCheck);
    assert!(!e.is_not_cms());

    // Our certificate with another key (the key does not decrypt): the
    // same failure as any content that does not decrypt, for v1.5 and GCM.
    for (tag, extra) in [("v15", vec!["-aes256"]), ("gcm", vec!["-aes-256-gcm"])] {
        let env = openssl_encrypt(d, tag, &rsa, &extra, &content);
        let e = decrypt::open(&env, &rsa.cert, &other.key, MAX).unwrap_err();
        assert!(matches!(e, Error::Undecryptable(_)), "{tag}: {e}");
    }

    // A tampered tag or ciphertext of AuthEnvelopedData never opens.
    let env = openssl_encrypt(d, "gcm-tamper", &rsa, &["-aes-256-gcm"], &content);
    for at in [env.len() - 1, env.len() - 20] {
        let mut bad = env.clone();
        bad[at] ^= 0x01;
        let e = decrypt::open(&bad, &rsa.cert, &rsa.key, MAX).unwrap_err();
        assert!(matches!(e, Error::Undecryptable(_)), "{e}");
    }

    // A wrapped ECDH key that was tampered with does not unwrap: the
    // content then does not decrypt either (a random key).
    let env = openssl_encrypt(d, "ecdh-tamper", &p256, &["-aes-256-gcm"], &content);
    let opened = decrypt::open(&env, &p256.cert, &p256.key, MAX).unwrap();
    assert_eq!(opened.content.as_slice(), content.as_slice());
    let wrapped = find_wrapped_key(&env);
    let mut bad = env.clone();
    bad[wrapped] ^= 0x80;
    assert!(matches!(
        decrypt::open(&bad, &p256.cert, &p256.key, MAX),
        Err(Error::Undecryptable(_))
    ));

    // DES-EDE3 content encryption is not opened: badAlg.
    let env = openssl_encrypt(d, "des3", &rsa, &["-des3"], &content);
    let e = decrypt::open(&env, &rsa.cert, &rsa.key, MAX).unwrap_err();
    assert!(matches!(e, Error::UnsupportedAlgorithm { .. }), "{e}");
    assert_eq!(e.fail_info(), CmcFailInfo::BadAlg);

    // Truncated: not CMS at all; too large: refused before decoding.
    let e = decrypt::open(&env[..env.len() / 2], &rsa.cert, &rsa.key, MAX).unwrap_err();
    assert!(e.is_not_cms(), "{e}");
    let e = decrypt::open(&env, &rsa.cert, &rsa.key, 100).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    assert_eq!(decrypt::envelope_kind(b"\x30\x03\x02\x01\x00"), None);
}

/// The offset of the last octet of the 40-octet wrapped key (aes256-wrap of
/// a 32-octet key) in an envelope: found as the OCTET STRING header 04 28.
fn find_wrapped_key(env: &[u8]) -> usize {
    let at = env
        .windows(2)
        .position(|w| w == [0x04, 0x28])
        .expect("a 40-octet OCTET STRING");
    at + 2 + 39
}

#[test]
fn envelop_signed_opens_here_and_in_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let signer_key = common::key(KeySpec::P256);
    let signer = common::ca_cert(&signer_key, "signer");
    let cms_signer = cmc_codec::CmsSigner::new(&signer_key, &signer, &[]).unwrap();
    let signed = cmc_codec::RequestBuilder::new()
        .sign(&cms_signer, std::time::SystemTime::now())
        .unwrap();
    for (tag, spec, usage) in [
        ("rsa", KeySpec::Rsa2048, KeyUsages::KeyEncipherment),
        ("p256", KeySpec::P256, KeyUsages::KeyAgreement),
        ("p384", KeySpec::P384, KeyUsages::KeyAgreement),
    ] {
        let to = recipient(d, tag, spec, usage);
        assert!(encrypt::can_encrypt_to(&to.cert), "{tag}");
        let ci = encrypt::envelop_signed(&signed, &to.cert).unwrap();
        let env = der::Encode::to_der(&ci).unwrap();
        let opened = decrypt::open(&env, &to.cert, &to.key, MAX).unwrap();
        assert_eq!(opened.content_type, ID_SIGNED_DATA);
        assert_eq!(opened.content_info_der().unwrap(), signed, "{tag}");

        let env_path = d.join(format!("{tag}.resp"));
        let out = d.join(format!("{tag}.out"));
        std::fs::write(&env_path, &env).unwrap();
        openssl(&[
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            env_path.to_str().unwrap(),
            "-recip",
            &to.cert_path,
            "-inkey",
            &to.key_path,
            "-out",
            out.to_str().unwrap(),
        ]);
        // The content is the SignedData (RFC 5272 §5: id-signedData).
        let inner = std::fs::read(out).unwrap();
        assert_eq!(
            inner,
            opened.content.as_slice(),
            "{tag}: OpenSSL reads the same content"
        );
    }
    // Keys that cannot receive: a signature-only EC certificate.
    let sig_only = recipient(d, "sig", KeySpec::P256, KeyUsages::DigitalSignature);
    assert!(!encrypt::can_encrypt_to(&sig_only.cert));
    assert!(matches!(
        encrypt::envelop_signed(&signed, &sig_only.cert),
        Err(Error::BadPublicKey(_))
    ));
}
