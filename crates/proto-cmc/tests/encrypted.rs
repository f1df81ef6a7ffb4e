//! Encrypted CMC (RFC 5272 §5): signed requests wrapped by `openssl cms
//! -encrypt` (RSA PKCS #1 v1.5, RSA-OAEP, AES-GCM AuthEnvelopedData, ECDH
//! to a P-256 encryption certificate) to the CA's `[ca.NAME.encryption]`
//! credential are answered as if they had come in the clear; the answer is
//! encrypted back to a requester that can receive and opens with `openssl
//! cms -decrypt`; wrong recipients, tampered and unsupported envelopes are
//! signed refusals; nested requests may be encrypted too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::{CmcFailInfo, TaggedContentInfo};
use cmc_ca::config::CaSettings;
use cmc_ca::{
    ClientCredentialRequest, Clock, EncryptionSettings, Engine, EngineConfig, KeyConfig, LoadedCa,
    SecretRef,
};
use cmc_codec::{CmsSigner, RequestBuilder, build_csr};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_policy::ProfileSet;
use cmc_store::{ClientRole, Grant, Scope};
use cms::content_info::ContentInfo;
use common::{Env, openssl, p};
use der::{Decode, Encode};
use proto_cmc::{CmcFrontDoor, CmcReply, NotCmc, Transport};
use x509_cert::Certificate;
use x509_cert::name::Name;

const P384: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha384);
const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const RSA: SignatureScheme = SignatureScheme::RsaPkcs1v15(HashAlg::Sha256);

const PROFILES: &str = r#"
[profile.default]
validity_days = 365

[profile.encryption-rsa]
validity_days = 30
key_usage = ["keyEncipherment"]

[profile.encryption-ec]
validity_days = 30
key_usage = ["keyAgreement"]
"#;

fn profiles() -> ProfileSet {
    ProfileSet::from_toml(PROFILES).unwrap()
}

/// An encryption credential: its certificate (PEM file), its key (an
/// unencrypted PEM for openssl as well as the encrypted one for the CA).
struct Credential {
    cert: Certificate,
    cert_path: PathBuf,
    key_pem: PathBuf,
    settings: EncryptionSettings,
}

/// Issues `subject` an encryption certificate from CA `ca` with a new key.
fn credential(env: &Env, name: &str, subject: &str, spec: KeySpec) -> Credential {
    let scheme = if spec == KeySpec::Rsa2048 { RSA } else { P256 };
    let key_config = env.file_key(name, scheme);
    let (_, key) = key_config.generate(spec).unwrap();
    let profile = if spec == KeySpec::Rsa2048 {
        "encryption-rsa"
    } else {
        "encryption-ec"
    };
    let issuing = Engine::load(
        Arc::clone(&env.store),
        Arc::new(env.clock.clone()),
        EngineConfig {
            profiles: profiles(),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let csr = build_csr(key.as_ref(), Name::from_str(subject).unwrap(), Vec::new()).unwrap();
    let request = cmc_policy::Request::from_cert_req(&csr).unwrap();
    let cert = issuing
        .issue(
            "ca",
            Some(profile),
            &request,
            "test-admin",
            &csr.to_der().unwrap(),
        )
        .unwrap()
        .certificate;
    let cert_path = env.write_cert(&format!("{name}.pem"), &cert.to_der().unwrap());
    let KeyConfig::File { path, .. } = &key_config else {
        panic!("a file key")
    };
    let opened = FileKey::load(path, &SecretRef::File(env.passphrase.clone()).to_source()).unwrap();
    let key_pem = env.path(&format!("{name}-plain.key"));
    std::fs::write(&key_pem, opened.to_unencrypted_pem().unwrap().as_bytes()).unwrap();
    Credential {
        cert,
        cert_path,
        key_pem,
        settings: EncryptionSettings {
            certificate: env.path(&format!("{name}.pem")),
            key: key_config,
        },
    }
}

fn engine_with(env: &Env, encryption: Option<EncryptionSettings>) -> cmc_ca::Result<Engine> {
    let settings = CaSettings {
        encryption,
        ..CaSettings::default()
    };
    Engine::load(
        Arc::clone(&env.store),
        Arc::new(env.clock.clone()),
        EngineConfig {
            profiles: profiles(),
            cas: BTreeMap::from([("ca".to_owned(), settings)]),
            ..EngineConfig::default()
        },
    )
}

/// An RA of `ca` (P-256, a signature-only credential).
fn ra(engine: &Engine) -> (FileKey, Certificate) {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let cred = engine
        .issue_client_credential(&ClientCredentialRequest {
            names: None,
            ca: "ca".into(),
            client_id: "ra".into(),
            subject: "CN=test RA".into(),
            public_key: key.public_key().clone(),
            role: ClientRole::Ra,
            grants: vec![Grant {
                ca: Scope::Any,
                profile: Scope::Any,
            }],
            validity_days: 30,
            requester: "test-admin".into(),
            mac: None,
        })
        .unwrap();
    (key, Certificate::from_der(&cred.certificate_der).unwrap())
}

/// A signed request for one new P-256 key, signed by `signer`, which also
/// sends `extra` certificates.
fn request(env: &Env, signer: &(FileKey, Certificate), extra: &[Certificate]) -> Vec<u8> {
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let csr = build_csr(
        &leaf,
        Name::from_str("CN=leaf.example.test").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let mut b = RequestBuilder::new();
    b.pkcs10(1, csr).unwrap();
    let cms = CmsSigner::new(&signer.0, &signer.1, extra).unwrap();
    b.sign(&cms, env.clock.now().to_system_time()).unwrap()
}

/// `openssl cms -encrypt` of `content` to the certificate at `to`.
fn encrypt(env: &Env, tag: &str, to: &Path, opts: &[&str], content: &[u8]) -> Vec<u8> {
    let input = env.write_der(&format!("{tag}.req"), content);
    let out = env.path(&format!("{tag}.env"));
    let mut args = vec![
        "cms",
        "-encrypt",
        "-binary",
        "-in",
        p(&input),
        "-outform",
        "DER",
        "-out",
        p(&out),
        "-recip",
        p(to),
    ];
    args.extend_from_slice(opts);
    openssl(&args);
    std::fs::read(out).unwrap()
}

fn handle(engine: &Engine, body: &[u8]) -> Result<CmcReply, NotCmc> {
    engine.handle_full("ca", body, &Transport::default())
}

fn setup() -> (Env, Arc<LoadedCa>) {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P384, P384, None, 365);
    (env, ca)
}

#[test]
fn openssl_encrypted_requests_are_answered() {
    let (env, ca) = setup();
    let rsa = credential(&env, "enc-rsa", "CN=ca encryption", KeySpec::Rsa2048);
    let engine = engine_with(&env, Some(rsa.settings.clone())).unwrap();
    assert_eq!(
        engine.encryption("ca").unwrap().certificate(),
        &rsa.cert,
        "the credential is loaded"
    );
    let ra = ra(&engine);
    for (tag, opts) in [
        ("v15", vec!["-aes256"]),
        (
            "oaep-sha1",
            vec!["-aes128", "-keyopt", "rsa_padding_mode:oaep"],
        ),
        (
            "oaep-sha256",
            vec![
                "-aes256",
                "-keyopt",
                "rsa_padding_mode:oaep",
                "-keyopt",
                "rsa_oaep_md:sha256",
            ],
        ),
        ("gcm", vec!["-aes-256-gcm"]),
    ] {
        let env_der = encrypt(&env, tag, &rsa.cert_path, &opts, &request(&env, &ra, &[]));
        let reply = handle(&engine, &env_der).unwrap();
        assert!(reply.all_succeeded(), "{tag}: {:?}", reply.statuses);
        assert_eq!(reply.issued, 1, "{tag}");
        // The RA's credential cannot receive: the answer is signed only.
        let resp = common::verify(&reply, &ca, env.clock.now());
        assert_eq!(resp.issued_by(ca.certificate()).len(), 1, "{tag}");
    }

    // ECDH to a P-256 encryption certificate.
    let ec = credential(&env, "enc-ec", "CN=ca encryption EC", KeySpec::P256);
    let engine = engine_with(&env, Some(ec.settings.clone())).unwrap();
    for (tag, opts) in [
        (
            "ecdh-sha256",
            vec!["-aes256", "-keyopt", "ecdh_kdf_md:sha256"],
        ),
        ("ecdh-default-gcm", vec!["-aes-128-gcm"]),
    ] {
        let env_der = encrypt(&env, tag, &ec.cert_path, &opts, &request(&env, &ra, &[]));
        let reply = handle(&engine, &env_der).unwrap();
        assert!(reply.all_succeeded(), "{tag}: {:?}", reply.statuses);
        assert_eq!(reply.issued, 1, "{tag}");
    }
}

#[test]
fn the_answer_is_encrypted_back_and_opens_in_openssl() {
    let (env, ca) = setup();
    let enc = credential(&env, "enc", "CN=ca encryption", KeySpec::Rsa2048);
    let engine = engine_with(&env, Some(enc.settings.clone())).unwrap();
    // The RA sends an encryption certificate with its own subject (issued
    // before its credential, which then reserves the name).
    let ra_enc = credential(&env, "ra-enc", "CN=test RA", KeySpec::Rsa2048);
    let ra = ra(&engine);
    let body = encrypt(
        &env,
        "req",
        &enc.cert_path,
        &["-aes256"],
        &request(&env, &ra, std::slice::from_ref(&ra_enc.cert)),
    );
    let reply = handle(&engine, &body).unwrap();
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let ci = ContentInfo::from_der(&reply.der).unwrap();
    assert_eq!(ci.content_type, const_oid::db::rfc5911::ID_ENVELOPED_DATA);

    let answer = env.write_der("answer.env", &reply.der);
    let out = env.path("answer.sd");
    openssl(&[
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        p(&answer),
        "-recip",
        p(&ra_enc.cert_path),
        "-inkey",
        p(&ra_enc.key_pem),
        "-out",
        p(&out),
    ]);
    // The content is the SignedData of the PKIResponse (id-signedData).
    let signed_data = der::Any::from_der(&std::fs::read(&out).unwrap()).unwrap();
    let signed = ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: signed_data,
    }
    .to_der()
    .unwrap();
    let plain = CmcReply {
        der: signed,
        ..reply
    };
    let resp = common::verify(&plain, &ca, env.clock.now());
    assert_eq!(resp.issued_by(ca.certificate()).len(), 1);

    // The same request in the clear gets a signed-only answer.
    let reply = handle(
        &engine,
        &request(&env, &ra, std::slice::from_ref(&ra_enc.cert)),
    )
    .unwrap();
    assert_eq!(
        ContentInfo::from_der(&reply.der).unwrap().content_type,
        const_oid::db::rfc5911::ID_SIGNED_DATA
    );
}

#[test]
fn envelopes_that_do_not_open_are_refused() {
    let (env, ca) = setup();
    let enc = credential(&env, "enc", "CN=ca encryption", KeySpec::Rsa2048);
    let other = credential(&env, "other", "CN=someone else", KeySpec::Rsa2048);
    let engine = engine_with(&env, Some(enc.settings.clone())).unwrap();
    let ra = ra(&engine);
    let refused = |body: &[u8]| {
        let reply = handle(&engine, body).unwrap();
        assert!(!reply.authenticated);
        common::single_failure(&common::verify(&reply, &ca, env.clock.now()))
    };

    // Addressed to someone else.
    let body = encrypt(
        &env,
        "other",
        &other.cert_path,
        &["-aes256"],
        &request(&env, &ra, &[]),
    );
    assert_eq!(refused(&body), (CmcFailInfo::BadMessageCheck, vec![0]));

    // Tampered ciphertext (the last block of the encrypted content, CBC and
    // GCM): the content does not decrypt, or decrypts to something that is
    // not the signed request.
    for (tag, opts) in [("cbc", vec!["-aes256"]), ("gcm", vec!["-aes-256-gcm"])] {
        let mut body = encrypt(&env, tag, &enc.cert_path, &opts, &request(&env, &ra, &[]));
        let at = if tag == "gcm" {
            body.len() - 30
        } else {
            body.len() - 1
        };
        body[at] ^= 0x01;
        assert_eq!(
            refused(&body),
            (CmcFailInfo::BadMessageCheck, vec![0]),
            "{tag}"
        );
    }

    // Content that is not a CMC request.
    let body = encrypt(&env, "junk", &enc.cert_path, &["-aes256"], b"not a request");
    assert_eq!(refused(&body), (CmcFailInfo::BadMessageCheck, vec![0]));

    // An unsupported content cipher.
    let body = encrypt(
        &env,
        "des3",
        &enc.cert_path,
        &["-des3"],
        &request(&env, &ra, &[]),
    );
    assert_eq!(refused(&body), (CmcFailInfo::BadAlg, vec![0]));

    // Envelopes inside envelopes open layer by layer, up to three.
    let mut body = request(&env, &ra, &[]);
    for layer in 0..4 {
        body = encrypt(
            &env,
            &format!("layer{layer}"),
            &enc.cert_path,
            &["-aes128"],
            &body,
        );
        if layer == 1 {
            let reply = handle(&engine, &body).unwrap();
            assert!(reply.all_succeeded(), "{:?}", reply.statuses);
        }
    }
    assert_eq!(refused(&body), (CmcFailInfo::BadMessageCheck, vec![0]));

    // Truncated: not CMS.
    assert!(matches!(
        handle(&engine, &body[..body.len() / 2]),
        Err(NotCmc::Malformed(_))
    ));

    // A CA without an encryption credential cannot read any.
    let plain = engine_with(&env, None).unwrap();
    let body = encrypt(
        &env,
        "none",
        &enc.cert_path,
        &["-aes256"],
        &request(&env, &ra, &[]),
    );
    let reply = handle(&plain, &body).unwrap();
    let (info, ids) = common::single_failure(&common::verify(&reply, &ca, env.clock.now()));
    assert_eq!((info, ids), (CmcFailInfo::BadMessageCheck, vec![0]));
}

#[test]
fn nested_requests_may_be_encrypted() {
    let (env, ca) = setup();
    let enc = credential(&env, "enc", "CN=ca encryption", KeySpec::Rsa2048);
    let engine = engine_with(&env, Some(enc.settings.clone())).unwrap();
    let ra = ra(&engine);
    // An end entity's self-signed request, encrypted to the CA, inside the
    // RA's signed PKIData.
    let ee_key = FileKey::generate(KeySpec::P256).unwrap();
    let csr = build_csr(
        &ee_key,
        Name::from_str("CN=nested.example.test").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let mut inner = RequestBuilder::new();
    inner.pkcs10(1, csr).unwrap();
    let inner = inner
        .sign(
            &CmsSigner::self_signed(&ee_key).unwrap(),
            env.clock.now().to_system_time(),
        )
        .unwrap();
    let enveloped = encrypt(&env, "nested", &enc.cert_path, &["-aes256"], &inner);
    let mut outer = RequestBuilder::new();
    outer
        .content(TaggedContentInfo {
            body_part_id: 10,
            content_info: ContentInfo::from_der(&enveloped).unwrap(),
        })
        .unwrap();
    let body = outer
        .sign(
            &CmsSigner::new(&ra.0, &ra.1, &[]).unwrap(),
            env.clock.now().to_system_time(),
        )
        .unwrap();
    let reply = handle(&engine, &body).unwrap();
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let resp = common::verify(&reply, &ca, env.clock.now());
    let [nested] = resp.pki_response.cms_sequence.as_slice() else {
        panic!("one nested answer")
    };
    let trusted = [ca.certificate().clone()];
    let nested = cmc_codec::decode_response(
        &nested.content_info.to_der().unwrap(),
        &cmc_codec::ResponseVerifyOptions::new(env.clock.now().to_system_time(), &trusted),
    )
    .unwrap();
    assert_eq!(
        nested.issued_by(ca.certificate()).len(),
        1,
        "{:?}",
        common::statuses(&nested)
    );

    // A nested envelope to someone else fails that body part only.
    let other = credential(&env, "other", "CN=someone else", KeySpec::Rsa2048);
    let enveloped = encrypt(&env, "nested-other", &other.cert_path, &["-aes256"], &inner);
    let mut outer = RequestBuilder::new();
    outer
        .content(TaggedContentInfo {
            body_part_id: 10,
            content_info: ContentInfo::from_der(&enveloped).unwrap(),
        })
        .unwrap();
    let body = outer
        .sign(
            &CmsSigner::new(&ra.0, &ra.1, &[]).unwrap(),
            env.clock.now().to_system_time(),
        )
        .unwrap();
    let reply = handle(&engine, &body).unwrap();
    assert_eq!(reply.fail_infos(), vec![CmcFailInfo::BadMessageCheck]);
}

#[test]
fn pkcs11_encryption_keys_are_opened_at_start() {
    // A PKCS #11 encryption key is opened when the engine starts (the
    // token tests are in cmc-keys and cmc-tool, tests/pkcs11_encrypted.rs):
    // one whose PIN cannot be read stops the start, naming the variable.
    let (env, _) = setup();
    let enc = credential(&env, "enc", "CN=ca encryption", KeySpec::Rsa2048);
    let settings = EncryptionSettings {
        certificate: enc.settings.certificate.clone(),
        key: KeyConfig::pkcs11(
            "/usr/lib/softhsm/libsofthsm2.so",
            "token",
            "enc",
            SecretRef::Env("CMC_TEST_NO_SUCH_PIN_VARIABLE".into()),
            RSA,
        ),
    };
    let e = engine_with(&env, Some(settings)).unwrap_err().to_string();
    // (Or, when this build of cmc-ca has no PKCS #11, says so.)
    assert!(
        e.contains("CMC_TEST_NO_SUCH_PIN_VARIABLE") || e.contains("no PKCS#11 support"),
        "{e}"
    );
    assert!(!e.contains("not supported yet"), "{e}");
}

#[test]
fn a_signed_envelope_is_opened() {
    // RFC 5272 §5 "Option 2": SignedData(EnvelopedData(SignedData(PKIData))).
    let (env, ca) = setup();
    let enc = credential(&env, "enc", "CN=ca encryption", KeySpec::Rsa2048);
    let engine = engine_with(&env, Some(enc.settings.clone())).unwrap();
    let ra = ra(&engine);
    let ra_key = env.path("ra-plain.key");
    std::fs::write(&ra_key, ra.0.to_unencrypted_pem().unwrap().as_bytes()).unwrap();
    let ra_cert = env.write_cert("ra.pem", &ra.1.to_der().unwrap());
    let envelope = encrypt(
        &env,
        "inner",
        &enc.cert_path,
        &["-aes256"],
        &request(&env, &ra, &[]),
    );
    // The eContent is the EnvelopedData (RFC 5652 §5.2); its ContentInfo is
    // taken too.
    let enveloped_data = ContentInfo::from_der(&envelope)
        .unwrap()
        .content
        .to_der()
        .unwrap();
    for (tag, content) in [("bare", &enveloped_data), ("content-info", &envelope)] {
        let input = env.write_der(&format!("{tag}.in"), content);
        let out = env.path(&format!("{tag}.der"));
        openssl(&[
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-in",
            p(&input),
            "-econtent_type",
            "1.2.840.113549.1.7.3",
            "-signer",
            p(&ra_cert),
            "-inkey",
            p(&ra_key),
            "-md",
            "sha256",
            "-outform",
            "DER",
            "-out",
            p(&out),
        ]);
        let signed = std::fs::read(&out).unwrap();
        let reply = handle(&engine, &signed).unwrap();
        assert!(reply.all_succeeded(), "{tag}: {:?}", reply.statuses);
        assert_eq!(reply.issued, 1, "{tag}");
    }
    let signed = std::fs::read(env.path("bare.der")).unwrap();

    // The outer signature must verify.
    let mut bad = signed.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    let reply = handle(&engine, &bad).unwrap();
    let (info, ids) = common::single_failure(&common::verify(&reply, &ca, env.clock.now()));
    assert_eq!((info, ids), (CmcFailInfo::BadMessageCheck, vec![0]));
    assert_eq!(reply.issued, 0);
}

/// A PKCS #10 request for `leaf`'s key with a static-ECDH proof for `recipient`, signed
/// by `signer`.
fn dh_pop_request(
    env: &Env,
    signer: &(FileKey, Certificate),
    leaf: &FileKey,
    recipient: &Certificate,
    subject: &str,
) -> Vec<u8> {
    let info = x509_cert::request::CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: Name::from_str(subject).unwrap(),
        public_key: leaf.public_key().clone(),
        attributes: der::asn1::SetOfVec::new(),
    };
    let point = recipient
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    let zz = leaf.ecdh_shared_secret(point).unwrap();
    let csr =
        cmc_codec::dhpop::sign_dh_pop(info, cmc_codec::identity::ProofHash::Sha256, recipient, &zz)
            .unwrap();
    let mut b = RequestBuilder::new();
    b.pkcs10(1, csr).unwrap();
    let cms = CmsSigner::new(&signer.0, &signer.1, &[]).unwrap();
    b.sign(&cms, env.clock.now().to_system_time()).unwrap()
}

/// DH-POP (RFC 6955 §6): a key-agreement key proves possession with a MAC under the
/// agreement with the CA's static ECDH certificate, in one round; a proof for another
/// certificate, for another key, a CA without an EC credential, and a key on another curve
/// are refused.
#[test]
fn a_static_ecdh_proof_of_possession_is_verified_with_the_cas_ecdh_key() {
    let (env, ca) = setup();
    let ec = credential(&env, "enc-ec", "CN=ca key agreement", KeySpec::P256);
    let engine = engine_with(&env, Some(ec.settings.clone())).unwrap();
    let ra = ra(&engine);

    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let der = dh_pop_request(&env, &ra, &leaf, &ec.cert, "CN=agree.example.test");
    let reply = handle(&engine, &der).unwrap();
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let resp = common::verify(&reply, &ca, env.clock.now());
    let issued = resp.issued_by(ca.certificate());
    assert_eq!(issued.len(), 1);
    assert_eq!(
        issued[0].tbs_certificate().subject_public_key_info(),
        leaf.public_key()
    );

    // A proof made for another ECDH certificate (another CA's).
    let other = credential(&env, "enc-other", "CN=someone else", KeySpec::P256);
    let der = dh_pop_request(&env, &ra, &leaf, &other.cert, "CN=agree2.example.test");
    let reply = handle(&engine, &der).unwrap();
    assert_eq!(reply.fail_infos(), [CmcFailInfo::PopFailed]);
    assert_eq!(reply.issued, 0);

    // Someone else's key with a proof copied from a real request: the CA's agreement with
    // the claimed key gives another MAC.
    let thief = FileKey::generate(KeySpec::P256).unwrap();
    let info = x509_cert::request::CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: Name::from_str("CN=agree3.example.test").unwrap(),
        public_key: leaf.public_key().clone(),
        attributes: der::asn1::SetOfVec::new(),
    };
    let zz = leaf
        .ecdh_shared_secret(
            ec.cert
                .tbs_certificate()
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap();
    let mut stolen =
        cmc_codec::dhpop::sign_dh_pop(info, cmc_codec::identity::ProofHash::Sha256, &ec.cert, &zz)
            .unwrap();
    stolen.info.public_key = thief.public_key().clone();
    let mut b = RequestBuilder::new();
    b.pkcs10(1, stolen).unwrap();
    let der = b
        .sign(
            &CmsSigner::new(&ra.0, &ra.1, &[]).unwrap(),
            env.clock.now().to_system_time(),
        )
        .unwrap();
    let reply = handle(&engine, &der).unwrap();
    assert_eq!(reply.fail_infos(), [CmcFailInfo::PopFailed]);

    // A P-384 key cannot agree with a P-256 certificate.
    let p384 = FileKey::generate(KeySpec::P384).unwrap();
    let p384_ec = credential(&env, "enc-384", "CN=ca agreement 384", KeySpec::P384);
    let der = dh_pop_request(&env, &ra, &p384, &p384_ec.cert, "CN=agree4.example.test");
    let reply = handle(&engine, &der).unwrap();
    assert_eq!(reply.fail_infos(), [CmcFailInfo::PopFailed]);

    // A CA with an RSA credential (or none) checks no DH-POP.
    let rsa = credential(&env, "enc-rsa", "CN=ca encryption", KeySpec::Rsa2048);
    let rsa_engine = engine_with(&env, Some(rsa.settings.clone())).unwrap();
    let der = dh_pop_request(&env, &ra, &leaf, &ec.cert, "CN=agree5.example.test");
    let reply = handle(&rsa_engine, &der).unwrap();
    assert_eq!(reply.fail_infos(), [CmcFailInfo::PopFailed]);
    let none = engine_with(&env, None).unwrap();
    let reply = handle(&none, &der).unwrap();
    assert_eq!(reply.statuses.len(), 1);
    assert_eq!(reply.statuses[0].status, cmc_asn1::CmcStatus::NoSupport);
    assert_eq!(reply.issued, 0);
}
