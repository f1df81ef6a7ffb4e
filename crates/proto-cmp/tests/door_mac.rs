//! MAC-protected requests at the CMP door over a real engine, with the
//! protections `openssl cmp` 3.0 does not write (PBMAC1, RFC 9481 §6.1.2)
//! and the cases it cannot be made to send: no senderKID, a secret sealed
//! under another key, a MAC credential of a disabled client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../cmc-ca/tests/common/mod.rs"]
mod common;

use std::str::FromStr;
use std::sync::Arc;

use cmc_ca::config::Config;
use cmc_ca::{ClientCredentialRequest, Engine, EngineConfig, Records};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_store::{ClientRole, Grant, Scope};
use common::Env;
use der::asn1::OctetString;
use der::{Decode, Encode};
use proto_cmp::{
    CertTemplate, CmpDoor, CmpReply, CmpRequest, FailureBit, Limits, MacAlgorithm, PVNO_CMP2000,
    PkiBody, PkiHeader, PkiMessage, ProofOfPossession,
};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

const SECRET: &str = "an RA secret of some length";

struct Setup {
    env: Env,
    engine: Engine,
    door: CmpDoor,
    limits: Limits,
    config: Config,
}

impl Setup {
    /// A CA "ca", and an RA "ra" with the MAC credential "ref-1".
    fn new() -> Self {
        let env = Env::new();
        env.create(
            "ca",
            KeySpec::P256,
            cmc_keys::SignatureScheme::Ecdsa(cmc_keys::HashAlg::Sha256),
            None,
            365,
        );
        let config = Config {
            data_dir: env.dir.path().to_path_buf(),
            ..Config::default()
        };
        let engine = Engine::load(
            Arc::clone(&env.store),
            Arc::new(env.clock.clone()),
            EngineConfig {
                secrets_key: Some(config.secrets_key_path()),
                ..EngineConfig::default()
            },
        )
        .unwrap();
        let key = FileKey::generate(KeySpec::P256).unwrap();
        engine
            .issue_client_credential(&ClientCredentialRequest {
                ca: "ca".into(),
                client_id: "ra".into(),
                subject: "CN=MAC RA".into(),
                public_key: key.public_key().clone(),
                role: ClientRole::Ra,
                grants: vec![Grant {
                    ca: Scope::Any,
                    profile: Scope::Any,
                }],
                validity_days: 30,
                requester: "test-admin".into(),
                names: None,
                mac: Some(cmc_ca::seal_client_mac(&config, "ref-1", SECRET).unwrap()),
            })
            .unwrap();
        Self {
            env,
            engine,
            door: CmpDoor::new(),
            limits: Limits::default(),
            config,
        }
    }

    fn send(&self, der: &[u8]) -> CmpReply {
        self.door.handle(
            &self.engine,
            &CmpRequest {
                ca: "ca",
                content_type: Some("application/pkixcmp"),
                body: der,
                limits: &self.limits,
            },
        )
    }
}

/// An ir for `subject`, raVerified, MAC-protected with `alg` and `secret`
/// under reference `kid` (none if `None`).
fn ir(kid: Option<&[u8]>, alg: &MacAlgorithm, secret: &[u8], nonce: &[u8]) -> Vec<u8> {
    let mut h = PkiHeader::new(
        PVNO_CMP2000,
        GeneralName::DirectoryName(Name::from_str("CN=MAC RA").unwrap()),
        GeneralName::DirectoryName(Name::default()),
    );
    h.transaction_id = Some(OctetString::new(nonce.to_vec()).unwrap());
    h.sender_nonce = Some(OctetString::new(nonce.to_vec()).unwrap());
    h.sender_kid = kid.map(|k| OctetString::new(k).unwrap());
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let template = CertTemplate {
        subject: Some(Name::from_str("CN=device.example.test").unwrap()),
        ..CertTemplate::default()
    };
    let mut msg = cmc_codec::build_crmf(&key, 0, template).unwrap();
    msg.popo = Some(ProofOfPossession::RaVerified(der::asn1::Null));
    PkiMessage::protect_with_mac(h, PkiBody::Ir(vec![msg]), alg, secret, None)
        .unwrap()
        .to_der_bytes()
        .unwrap()
}

fn bits(reply: &CmpReply) -> Vec<FailureBit> {
    match PkiMessage::from_der(&reply.body).unwrap().body {
        PkiBody::Error(e) => e.pki_status_info.fail_info.unwrap().bits().collect(),
        other => panic!("not an error: {}", other.name()),
    }
}

#[test]
fn pbmac1_request_gets_a_pbmac1_answer_with_the_same_secret() {
    let setup = Setup::new();
    let alg = MacAlgorithm::pbmac1_sha256(10_000).unwrap();
    let reply = setup.send(&ir(Some(b"ref-1"), &alg, SECRET.as_bytes(), b"n-1"));
    assert_eq!(reply.issued, 1, "{}", reply.summary);
    let received = proto_cmp::decode_message(&reply.body, &setup.limits).unwrap();
    let answer_alg = received
        .verify_mac(SECRET.as_bytes(), &setup.limits.mac)
        .unwrap();
    let MacAlgorithm::Pbmac1 {
        salt, iterations, ..
    } = answer_alg
    else {
        panic!("not PBMAC1: {answer_alg:?}");
    };
    assert_eq!(iterations, 10_000);
    let MacAlgorithm::Pbmac1 { salt: ours, .. } = &alg else {
        unreachable!()
    };
    assert_ne!(&salt, ours, "a fresh salt");
    assert!(matches!(received.message.body, PkiBody::Ip(_)));
    assert_eq!(
        received
            .message
            .header
            .recip_kid
            .as_ref()
            .unwrap()
            .as_bytes(),
        b"ref-1"
    );
    // extraCerts carry the CA certificate.
    let extra = received.message.extra_certs.clone().unwrap();
    assert_eq!(
        extra[0].to_der().unwrap(),
        setup.engine.ca("ca").unwrap().certificate_der()
    );
    // The wrong secret: not even the answer's MAC verifies with it.
    assert!(received.verify_mac(b"wrong", &setup.limits.mac).is_err());
}

#[test]
fn mac_refusals() {
    let setup = Setup::new();
    let alg = MacAlgorithm::pbm_sha256(1_000).unwrap();

    // No senderKID: nothing names the secret.
    let reply = setup.send(&ir(None, &alg, SECRET.as_bytes(), b"n-2"));
    assert_eq!(bits(&reply), [FailureBit::BadDataFormat]);
    assert!(reply.unauthenticated);

    // A wrong secret and an unknown reference: one answer, signed.
    for (kid, secret) in [
        (&b"ref-1"[..], &b"a wrong secret!!"[..]),
        (b"ref-2", SECRET.as_bytes()),
    ] {
        let reply = setup.send(&ir(Some(kid), &alg, secret, b"n-3"));
        assert_eq!(bits(&reply), [FailureBit::BadMessageCheck]);
        assert!(reply.unauthenticated);
        assert_eq!(reply.issued, 0);
        let answer = PkiMessage::from_der(&reply.body).unwrap();
        assert!(!MacAlgorithm::is_mac(
            answer.header.protection_alg.as_ref().unwrap()
        ));
    }

    // A disabled RA's credential no longer authenticates.
    let records = Records::open(&setup.env.db_url).unwrap();
    records
        .disable_client("ra", "test-admin", cmc_ca::Clock::now(&setup.env.clock))
        .unwrap();
    let reply = setup.send(&ir(Some(b"ref-1"), &alg, SECRET.as_bytes(), b"n-4"));
    assert_eq!(bits(&reply), [FailureBit::BadMessageCheck]);
    assert_eq!(reply.issued, 0);
}

#[test]
fn a_secrets_key_that_did_not_seal_the_credential_fails_closed() {
    let setup = Setup::new();
    // The operator replaced the key file: the sealed secret no longer opens.
    let path = setup.config.secrets_key_path();
    std::fs::remove_file(&path).unwrap();
    cmc_ca::seal::SealingKey::load_or_create(&path).unwrap();
    let engine = Engine::load(
        Arc::clone(&setup.env.store),
        Arc::new(setup.env.clock.clone()),
        EngineConfig {
            secrets_key: Some(path),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let alg = MacAlgorithm::pbm_sha256(1_000).unwrap();
    let reply = setup.door.handle(
        &engine,
        &CmpRequest {
            ca: "ca",
            content_type: Some("application/pkixcmp"),
            body: &ir(Some(b"ref-1"), &alg, SECRET.as_bytes(), b"n-5"),
            limits: &setup.limits,
        },
    );
    assert_eq!(bits(&reply), [FailureBit::SystemFailure]);
    assert_eq!(reply.issued, 0);
}
