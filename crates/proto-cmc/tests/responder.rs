//! `[ca.NAME.responder]`: CMC responses signed by a responder certificate
//! that the CA issued, instead of by the CA key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proto_cmc::{CmcFrontDoor, CmcReply, Transport};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::{CmcFailInfo, CmcStatus, SenderNonce};
use cmc_ca::Clock;
use cmc_ca::config::{CaSettings, ResponderSettings};
use cmc_ca::{ClientCredentialRequest, Engine, EngineConfig, KeyConfig, LoadedCa};
use cmc_codec::{
    CmsSigner, RequestBuilder, ResponseVerifyOptions, VerifiedResponse, build_csr, decode_response,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_policy::ProfileSet;
use cmc_store::{ClientRole, Grant, Scope};
use common::{Env, openssl, p};
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const P384: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha384);

const PROFILES: &str = r#"
[profile.default]
validity_days = 365

[profile.cmc-responder]
validity_days = 30
key_usage = ["digitalSignature"]
extended_key_usage = ["id-kp-cmcCA"]
"#;

/// A CA, a responder key and certificate issued by it, written to files.
struct Setup {
    env: Env,
    ca: Arc<LoadedCa>,
    responder_cert: Certificate,
    responder: ResponderSettings,
}

fn profiles() -> ProfileSet {
    ProfileSet::from_toml(PROFILES).unwrap()
}

/// Issues a certificate for `key_config`'s key from `ca` with the
/// `cmc-responder` profile, through an engine that has the profile set.
fn issue_responder(env: &Env, ca: &str, key_config: &KeyConfig, spec: KeySpec) -> Certificate {
    let (_, key) = key_config.generate(spec).unwrap();
    let issuing = Engine::load(
        Arc::clone(&env.store),
        Arc::new(env.clock.clone()),
        EngineConfig {
            profiles: profiles(),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let csr = build_csr(
        key.as_ref(),
        Name::from_str("CN=CMC responder,O=cmc-ca tests").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let request = cmc_policy::Request::from_cert_req(&csr).unwrap();
    let issued = issuing
        .issue(
            ca,
            Some("cmc-responder"),
            &request,
            "test-admin",
            &csr.to_der().unwrap(),
        )
        .unwrap();
    issued.certificate
}

fn setup() -> Setup {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P384, P384, None, 365);
    let key = env.file_key("responder", P256);
    let responder_cert = issue_responder(&env, "ca", &key, KeySpec::P256);
    let path = env.write_cert("responder.pem", &responder_cert.to_der().unwrap());
    Setup {
        env,
        ca,
        responder_cert,
        responder: ResponderSettings {
            certificate: path,
            key,
        },
    }
}

fn engine_with(env: &Env, responder: ResponderSettings) -> cmc_ca::Result<Engine> {
    let settings = CaSettings {
        responder: Some(responder),
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

/// An RA of `ca` that may enroll with the default profile.
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

fn enroll(engine: &Engine, env: &Env, signer: (&FileKey, &Certificate)) -> CmcReply {
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let csr = build_csr(
        &leaf,
        Name::from_str("CN=leaf.example.test").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let mut b = RequestBuilder::new();
    b.pkcs10(1, csr).unwrap();
    let cms = CmsSigner::new(signer.0, signer.1, &[]).unwrap();
    let der = b.sign(&cms, env.clock.now().to_system_time()).unwrap();
    engine
        .handle_full("ca", &der, &Transport::default())
        .unwrap()
}

fn verify(reply: &CmcReply, env: &Env, ca: &LoadedCa) -> VerifiedResponse {
    let trusted = [ca.certificate().clone()];
    decode_response(
        &reply.der,
        &ResponseVerifyOptions::new(env.clock.now().to_system_time(), &trusted),
    )
    .unwrap()
}

#[test]
fn responses_are_signed_by_the_configured_responder() {
    let s = setup();
    let engine = engine_with(&s.env, s.responder.clone()).unwrap();
    let (ra_key, ra_cert) = ra(&engine);
    let reply = enroll(&engine, &s.env, (&ra_key, &ra_cert));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let resp = verify(&reply, &s.env, &s.ca);
    assert_eq!(resp.signer.certificate(), Some(&s.responder_cert));
    // The responder, the CA and the issued certificate travel with it.
    assert!(resp.certificates.contains(&s.responder_cert));
    assert!(resp.certificates.contains(s.ca.certificate()));
    assert_eq!(resp.issued_by(s.ca.certificate()).len(), 2);

    // OpenSSL agrees, and sees the responder's P-256 key sign with SHA-256
    // (RFC 5753), not the CA's SHA-384.
    let msg = s.env.write_der("response.der", &reply.der);
    let ca_pem = s.env.write_cert("ca.pem", s.ca.certificate_der());
    let out = openssl(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        p(&msg),
        "-CAfile",
        p(&ca_pem),
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]);
    assert!(out.contains("Verification successful"), "{out}");
    let printed = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", p(&msg)]);
    let signer_info = printed.split("signerInfos:").nth(1).unwrap();
    assert!(signer_info.contains("sha256"), "{signer_info}");
    assert!(!signer_info.contains("sha384"), "{signer_info}");

    // A failure is signed by the responder too: the same request again is
    // a replay.
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new([9u8; 16]).unwrap()))
        .unwrap()
        .pkcs10(
            2,
            build_csr(&leaf, Name::from_str("CN=again").unwrap(), Vec::new()).unwrap(),
        )
        .unwrap();
    let cms = CmsSigner::new(&ra_key, &ra_cert, &[]).unwrap();
    let der = b.sign(&cms, s.env.clock.now().to_system_time()).unwrap();
    assert!(
        engine
            .handle_full("ca", &der, &Transport::default())
            .unwrap()
            .all_succeeded()
    );
    let reply = engine
        .handle_full("ca", &der, &Transport::default())
        .unwrap();
    let resp = verify(&reply, &s.env, &s.ca);
    assert_eq!(resp.signer.certificate(), Some(&s.responder_cert));
    let st = resp.statuses().unwrap();
    assert_eq!(st[0].status, CmcStatus::Failed);
    assert_eq!(st[0].fail_info, Some(CmcFailInfo::BadRequest));
}

#[test]
fn an_expired_responder_gives_way_to_the_ca_key() {
    let s = setup();
    let engine = engine_with(&s.env, s.responder.clone()).unwrap();
    // The responder certificate lives 30 days, the CA a year.
    s.env.clock.advance(40 * 86_400);
    let (ra_key, ra_cert) = ra(&engine);
    let reply = enroll(&engine, &s.env, (&ra_key, &ra_cert));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let resp = verify(&reply, &s.env, &s.ca);
    assert_eq!(resp.signer.certificate(), Some(s.ca.certificate()));
}

#[test]
fn a_responder_that_does_not_belong_is_refused_at_load() {
    let s = setup();
    // Another CA's certificate.
    let other = s.env.create("other", KeySpec::P256, P256, None, 365);
    let foreign_key = s.env.file_key("foreign", P256);
    let foreign = issue_responder(&s.env, other.name(), &foreign_key, KeySpec::P256);
    let foreign_path = s.env.write_cert("foreign.pem", &foreign.to_der().unwrap());
    let err = engine_with(
        &s.env,
        ResponderSettings {
            certificate: foreign_path,
            key: foreign_key,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("is not issued by CA \"ca\""), "{err}");

    // The right certificate with another key.
    let err = engine_with(
        &s.env,
        ResponderSettings {
            certificate: s.responder.certificate.clone(),
            key: s.env.file_key("foreign", P256),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("does not hold the public key"), "{err}");

    // A responder for a CA that does not exist.
    let settings = CaSettings {
        responder: Some(s.responder.clone()),
        ..CaSettings::default()
    };
    let err = Engine::load(
        Arc::clone(&s.env.store),
        Arc::new(s.env.clock.clone()),
        EngineConfig {
            profiles: profiles(),
            cas: BTreeMap::from([("nope".to_owned(), settings)]),
            ..EngineConfig::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("there is no CA \"nope\""), "{err}");

    // A missing file names the file.
    let err = engine_with(
        &s.env,
        ResponderSettings {
            certificate: s.env.path("missing.pem"),
            key: s.responder.key.clone(),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing.pem"), "{err}");
}

#[test]
fn the_responder_section_parses_and_resolves_paths() {
    let text = r#"
[ca.root.responder]
certificate = "responder.pem"
key = { backend = "file", path = "responder.key", passphrase = { file = "pass" }, scheme = "ecdsa-sha256" }
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cmc.toml");
    std::fs::write(&path, text).unwrap();
    let config = cmc_ca::config::Config::load(&path).unwrap();
    let r = config.ca["root"].responder.as_ref().unwrap();
    assert_eq!(r.certificate, dir.path().join("responder.pem"));
    match &r.key {
        KeyConfig::File {
            path, passphrase, ..
        } => {
            assert_eq!(path, &dir.path().join("responder.key"));
            assert_eq!(
                passphrase,
                &Some(cmc_ca::SecretRef::File(dir.path().join("pass")))
            );
        }
        other => panic!("{other:?}"),
    }
    // A key section without a passphrase is refused before anything opens.
    let err = cmc_ca::config::Config::from_toml(
        "[ca.root.responder]\ncertificate = \"r.pem\"\n\
         key = { backend = \"file\", path = \"r.key\", scheme = \"ecdsa-sha256\" }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("ca.root.responder.key"), "{err}");
    // Unknown keys are refused.
    assert!(
        cmc_ca::config::Config::from_toml(
            "[ca.root.responder]\ncertificate = \"r.pem\"\ncolour = 1\n"
        )
        .is_err()
    );
}
