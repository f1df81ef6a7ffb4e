//! Full PKI Requests in an AuthenticatedData keyed by a shared secret (RFC
//! 5272 §3.2), and the authData control with Publish Trust Anchors in the
//! answers to shared-secret requests (§6.15, §6.16), through
//! `CmcFrontDoor::handle_full`: what is issued, every refusal's CMCFailInfo,
//! the state of the secrets, and the anchors checked the way a client
//! without a trust anchor checks them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::{CmcFailInfo, CmcStatus, Identification, PkiData, PopLinkRandom, SenderNonce, oid};
use cmc_ca::Clock;
use cmc_ca::config::CaSettings;
use cmc_ca::{Engine, EngineConfig, EnrollSecret, LoadedCa};
use cmc_codec::authenticated::{authenticate, password};
use cmc_codec::identity::{
    ProofHash, identity_key, link_key, pop_link_witness_attribute, pop_link_witness_v2,
};
use cmc_codec::trust_anchors::{auth_publish, matching_anchors, seq_number, verify_auth_publish};
use cmc_codec::{CmsSigner, RequestBuilder, VerifiedResponse, build_csr_with_attributes};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme};
use cmc_store::{CertFilter, CertStatus, PageRequest};
use common::{Env, single_failure, statuses, verify};
use der::asn1::OctetString;
use der::{Decode, Encode};
use proto_cmc::{CmcFrontDoor, CmcReply, Transport};
use sha2::{Digest, Sha256};
use x509_cert::name::Name;
use zeroize::Zeroizing;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const ALICE: &str = "7QK2-M9XD-4TZB-W1RA";
const BOB: &str = "B0B5-ECRE-T000-0001";
const DAY: i64 = 86_400;

struct Fixture {
    env: Env,
    engine: Engine,
    ca: Arc<LoadedCa>,
}

fn fixture(settings: CaSettings) -> Fixture {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let mut config = EngineConfig {
        secrets_key: Some(env.dir.path().join("secrets.key")),
        ..EngineConfig::default()
    };
    config.cas.insert("ca".into(), settings);
    config.requests.secret_lock_after = 3;
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let ca = engine.ca(ca.name()).unwrap();
    let f = Fixture { env, engine, ca };
    f.add_secret("alice", ALICE);
    f.add_secret("bob", BOB);
    f
}

impl Fixture {
    fn add_secret(&self, identification: &str, secret: &str) {
        self.engine
            .add_enroll_secret(&EnrollSecret {
                names: None,
                ca: "ca".into(),
                identification: identification.into(),
                secret: Zeroizing::new(secret.into()),
                hash: ProofHash::Sha256,
                profile: None,
                expires_at: self.env.clock.now().plus_secs(DAY),
                requester: "test-admin".into(),
            })
            .unwrap();
    }

    fn send(&self, der: &[u8]) -> CmcReply {
        self.engine
            .handle_full("ca", der, &Transport::default())
            .unwrap()
    }

    fn verified(&self, reply: &CmcReply) -> VerifiedResponse {
        verify(reply, &self.ca, self.env.clock.now())
    }

    fn issued_count(&self) -> usize {
        self.env
            .store
            .list_certs(&CertFilter::default(), PageRequest::first(1000))
            .unwrap()
            .items
            .into_iter()
            .filter(|r| r.status() != CertStatus::Failed && r.serial != self.ca.serial().unwrap())
            .count()
    }

    fn secret(&self, identification: &str) -> cmc_store::SecretRecord {
        self.env
            .store
            .get_secret("ca", identification)
            .unwrap()
            .unwrap()
    }

    /// The refusal of a whole request: its failInfo, asserted to be of
    /// `[0]` and unauthenticated.
    fn refused(&self, reply: &CmcReply) -> CmcFailInfo {
        let (fail, ids) = single_failure(&self.verified(reply));
        assert_eq!(ids, vec![0]);
        assert!(!reply.authenticated);
        fail
    }
}

/// How a test request is built.
struct Req<'a> {
    identification: Option<&'a str>,
    /// The password's identification and secret (PBKDF2 input).
    mac_with: (&'a str, &'a str),
    /// The secret of the popLinkWitnessV2 (none: no link).
    link: Option<&'a str>,
    /// Break the CSR's self-signature.
    bad_pop: bool,
}

impl Default for Req<'_> {
    fn default() -> Self {
        Self {
            identification: Some("alice"),
            mac_with: ("alice", ALICE),
            link: Some(ALICE),
            bad_pop: false,
        }
    }
}

fn pki_data(req: &Req<'_>) -> PkiData {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let random = [0x5a; 64];
    let attributes = match req.link {
        Some(secret) => {
            let witness = pop_link_witness_v2(
                ProofHash::Sha256,
                &link_key(ProofHash::Sha256, secret.as_bytes()),
                &random,
            )
            .unwrap();
            vec![pop_link_witness_attribute(&witness).unwrap()]
        }
        None => Vec::new(),
    };
    let subject = Name::from_str("CN=alice.example.test").unwrap();
    let mut csr = build_csr_with_attributes(&key, subject, Vec::new(), attributes).unwrap();
    if req.bad_pop {
        csr.info.subject = Name::from_str("CN=mallory.example.test").unwrap();
    }
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).unwrap();
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new(nonce).unwrap()))
        .unwrap();
    b.pkcs10(2, csr).unwrap();
    if let Some(id) = req.identification {
        b.control(3, &Identification(id.into())).unwrap();
    }
    if req.link.is_some() {
        b.control(5, &PopLinkRandom(OctetString::new(random).unwrap()))
            .unwrap();
    }
    b.pki_data().clone()
}

fn wrap(f: &Fixture, pki_data: &PkiData, mac_with: (&str, &str)) -> Vec<u8> {
    authenticate(
        oid::ID_CCT_PKI_DATA,
        &pki_data.to_der().unwrap(),
        &password(mac_with.0, mac_with.1.as_bytes()),
        f.env.clock.now().to_system_time(),
    )
    .unwrap()
}

fn request(f: &Fixture, req: &Req<'_>) -> Vec<u8> {
    wrap(f, &pki_data(req), req.mac_with)
}

/// The trust anchors an answer proves with (identification, secret), as a
/// client without a trust anchor checks them: the authData's MAC, then
/// the certificates of the response whose hash it names.
fn proven_anchors(
    resp: &VerifiedResponse,
    identification: &str,
    secret: &str,
) -> cmc_codec::Result<(u64, Vec<x509_cert::Certificate>)> {
    let message = auth_publish(&resp.pki_response)?.expect("an authData control");
    let proven = verify_auth_publish(&message, &password(identification, secret.as_bytes()))?;
    Ok((
        seq_number(&proven.anchors).unwrap(),
        matching_anchors(&proven.anchors, &resp.certificates),
    ))
}

#[test]
fn a_request_in_authenticated_data_is_issued_and_answered_with_the_anchors() {
    let f = fixture(CaSettings::default());
    let reply = f.send(&request(&f, &Req::default()));
    let resp = f.verified(&reply);
    let s = statuses(&resp);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].status, CmcStatus::Success, "{s:?}");
    assert!(reply.authenticated);
    assert_eq!(reply.issued, 1);
    assert_eq!(f.issued_count(), 1);
    assert!(f.secret("alice").used_at.is_some(), "the secret is spent");
    // The anchors: the root (this CA), SHA-256, seqNumber = its notBefore.
    let (seq, anchors) = proven_anchors(&resp, "alice", ALICE).unwrap();
    assert_eq!(anchors, vec![f.ca.certificate().clone()]);
    assert_eq!(
        seq,
        u64::try_from(f.ca.not_before().secs()).unwrap(),
        "seqNumber defaults to the root's notBefore"
    );
    let message = auth_publish(&resp.pki_response).unwrap().unwrap();
    let pki = PkiData::from_der(message.unverified_content()).unwrap();
    let (_, pta) = pki
        .unique_control::<cmc_asn1::PublishTrustAnchors>()
        .unwrap()
        .unwrap();
    assert_eq!(
        pta.anchor_hashes[0].as_bytes(),
        Sha256::digest(f.ca.certificate_der()).as_slice()
    );
    // Nobody else's secret proves them.
    assert!(matches!(
        proven_anchors(&resp, "alice", BOB),
        Err(cmc_codec::Error::AuthDataMac)
    ));
    assert!(matches!(
        proven_anchors(&resp, "bob", BOB),
        Err(cmc_codec::Error::AuthDataMac)
    ));
}

#[test]
fn a_wrong_mac_is_auth_data_fail_and_counts_towards_the_lockout() {
    let f = fixture(CaSettings::default());
    let wrong = Req {
        mac_with: ("alice", "7QK2-M9XD-4TZB-W1RB"),
        ..Req::default()
    };
    for attempt in 1..=3u32 {
        let reply = f.send(&request(&f, &wrong));
        assert_eq!(f.refused(&reply), CmcFailInfo::AuthDataFail);
        assert_eq!(f.secret("alice").failed_attempts, attempt);
    }
    assert!(f.secret("alice").locked);
    // Locked: the right secret is refused with the same answer.
    let reply = f.send(&request(&f, &Req::default()));
    assert_eq!(f.refused(&reply), CmcFailInfo::AuthDataFail);
    assert_eq!(f.issued_count(), 0);
    assert!(f.secret("alice").used_at.is_none());
}

#[test]
fn the_secret_is_the_one_the_identification_names() {
    let f = fixture(CaSettings::default());
    // Bob knows his own secret and names Alice's.
    let attack = Req {
        identification: Some("alice"),
        mac_with: ("alice", BOB),
        link: Some(BOB),
        ..Req::default()
    };
    let reply = f.send(&request(&f, &attack));
    assert_eq!(f.refused(&reply), CmcFailInfo::AuthDataFail);
    // Or MACs with his own identification and secret and names Alice's
    // in the PKIData.
    let attack = Req {
        identification: Some("alice"),
        mac_with: ("bob", BOB),
        link: Some(BOB),
        ..Req::default()
    };
    let reply = f.send(&request(&f, &attack));
    assert_eq!(f.refused(&reply), CmcFailInfo::AuthDataFail);
    assert_eq!(f.issued_count(), 0);
    assert!(f.secret("alice").used_at.is_none());
    assert!(f.secret("bob").used_at.is_none());
    assert_eq!(f.secret("alice").failed_attempts, 2);
}

#[test]
fn unknown_identification_and_spent_secret_get_the_same_answer() {
    let f = fixture(CaSettings::default());
    let unknown = Req {
        identification: Some("carol"),
        mac_with: ("carol", ALICE),
        ..Req::default()
    };
    let a = f.send(&request(&f, &unknown));
    assert_eq!(f.refused(&a), CmcFailInfo::AuthDataFail);
    let ok = f.send(&request(&f, &Req::default()));
    assert!(ok.all_succeeded());
    let spent = f.send(&request(&f, &Req::default()));
    assert_eq!(f.refused(&spent), CmcFailInfo::AuthDataFail);
    let text = |r: &CmcReply| statuses(&f.verified(r))[0].status_string.clone();
    assert_eq!(text(&a), text(&spent));
    assert_eq!(f.issued_count(), 1);
}

#[test]
fn swapped_content_fails() {
    let f = fixture(CaSettings::default());
    // A valid AuthenticatedData whose eContent is replaced by another
    // PKIData: the MAC still verifies, the messageDigest does not.
    let good = request(&f, &Req::default());
    let other = pki_data(&Req::default()).to_der().unwrap();
    let ci = cms::content_info::ContentInfo::from_der(&good).unwrap();
    let mut data: cms::authenticated_data::AuthenticatedData = ci.content.decode_as().unwrap();
    data.encap_content_info.econtent =
        Some(der::Any::encode_from(&OctetString::new(other).unwrap()).unwrap());
    let swapped = cms::content_info::ContentInfo {
        content_type: ci.content_type,
        content: der::Any::encode_from(&data).unwrap(),
    }
    .to_der()
    .unwrap();
    let reply = f.send(&swapped);
    assert_eq!(f.refused(&reply), CmcFailInfo::AuthDataFail);
    assert_eq!(f.issued_count(), 0);
    assert_eq!(f.secret("alice").failed_attempts, 1);
}

#[test]
fn requests_still_prove_possession_and_link_to_the_secret() {
    let f = fixture(CaSettings::default());
    let reply = f.send(&request(
        &f,
        &Req {
            bad_pop: true,
            ..Req::default()
        },
    ));
    let (fail, ids) = single_failure(&f.verified(&reply));
    assert_eq!((fail, ids), (CmcFailInfo::PopFailed, vec![2]));
    let reply = f.send(&request(
        &f,
        &Req {
            link: None,
            ..Req::default()
        },
    ));
    let (fail, ids) = single_failure(&f.verified(&reply));
    assert_eq!((fail, ids), (CmcFailInfo::BadRequest, vec![2]));
    assert_eq!(f.issued_count(), 0);
    assert!(f.secret("alice").used_at.is_none());
    // No identification: nothing names the secret.
    let reply = f.send(&request(
        &f,
        &Req {
            identification: None,
            ..Req::default()
        },
    ));
    assert_eq!(f.refused(&reply), CmcFailInfo::BadRequest);
}

#[test]
fn an_identity_proof_answer_carries_the_anchors_unless_the_ca_says_no() {
    for publish in [true, false] {
        let f = fixture(CaSettings {
            publish_trust_anchors: Some(publish),
            trust_anchors_seq: Some(42),
            ..CaSettings::default()
        });
        // identityProofV2, signed with the new key.
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let random = [0x5a; 64];
        let witness = pop_link_witness_v2(
            ProofHash::Sha256,
            &link_key(ProofHash::Sha256, ALICE.as_bytes()),
            &random,
        )
        .unwrap();
        let csr = build_csr_with_attributes(
            &key,
            Name::from_str("CN=alice.example.test").unwrap(),
            Vec::new(),
            vec![pop_link_witness_attribute(&witness).unwrap()],
        )
        .unwrap();
        let mut b = RequestBuilder::new();
        b.control(1, &SenderNonce(OctetString::new([7u8; 16]).unwrap()))
            .unwrap();
        b.pkcs10(2, csr).unwrap();
        b.control(3, &Identification("alice".into())).unwrap();
        b.control(5, &PopLinkRandom(OctetString::new(random).unwrap()))
            .unwrap();
        let ik = identity_key(ProofHash::Sha256, ALICE.as_bytes(), Some("alice"));
        b.identity_proof_v2(4, ProofHash::Sha256, &ik).unwrap();
        let der = b
            .sign(
                &CmsSigner::self_signed(&key).unwrap(),
                f.env.clock.now().to_system_time(),
            )
            .unwrap();
        let reply = f.send(&der);
        assert!(reply.all_succeeded(), "{:?}", reply.statuses);
        let resp = f.verified(&reply);
        if publish {
            let (seq, anchors) = proven_anchors(&resp, "alice", ALICE).unwrap();
            assert_eq!(seq, 42);
            assert_eq!(anchors, vec![f.ca.certificate().clone()]);
        } else {
            assert!(auth_publish(&resp.pki_response).unwrap().is_none());
        }
    }
}

#[test]
fn an_ra_authenticates_with_its_mac_credential() {
    use cmc_ca::ClientCredentialRequest;
    use cmc_ca::config::Config;
    use cmc_keys::SigningKey;
    use cmc_store::{ClientRole, Grant, Scope};

    const RA_SECRET: &str = "ra-mac-secret-of-some-length";
    let f = fixture(CaSettings::default());
    let config = Config {
        data_dir: f.env.dir.path().to_path_buf(),
        ..Config::default()
    };
    let key = FileKey::generate(KeySpec::P256).unwrap();
    f.engine
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
            mac: Some(cmc_ca::seal_client_mac(&config, "ref-1", RA_SECRET).unwrap()),
        })
        .unwrap();
    let before = f.issued_count();
    // The RA names its credential's reference; its requests need no POP
    // link (no one-time secret).
    let req = Req {
        identification: Some("ref-1"),
        mac_with: ("ref-1", RA_SECRET),
        link: None,
        ..Req::default()
    };
    let reply = f.send(&request(&f, &req));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    assert!(reply.authenticated);
    let resp = f.verified(&reply);
    let (_, anchors) = proven_anchors(&resp, "ref-1", RA_SECRET).unwrap();
    assert_eq!(anchors, vec![f.ca.certificate().clone()]);
    // The wrong secret for the reference: the same answer as for a
    // one-time secret.
    let wrong = Req {
        mac_with: ("ref-1", "ra-mac-secret-of-some-lengtX"),
        ..req
    };
    let reply = f.send(&request(&f, &wrong));
    assert_eq!(f.refused(&reply), CmcFailInfo::AuthDataFail);
    assert_eq!(f.issued_count(), before + 1);
}
