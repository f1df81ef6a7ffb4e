//! First certificates with a shared secret (RFC 5272 §6.2 identityProofV2,
//! §6.3.1 popLinkWitnessV2) and renewals signed by an existing certificate
//! (§6.3.3), through `CmcFrontDoor::handle_full`: what is issued, the exact
//! CMCStatus/CMCFailInfo of every refusal, the state of the secret, and the
//! MACs recomputed by Python's `hmac`/`hashlib` over the same DER.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proto_cmc::{CmcFrontDoor, CmcReply, Transport};
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::{
    BodyPartId, CmcFailInfo, CmcStatus, Identification, IdentityProofV2, PopLinkRandom, SenderNonce,
};
use cmc_ca::Clock;
use cmc_ca::config::CaSettings;
use cmc_ca::{Engine, EngineConfig, EnrollSecret, Error, LoadedCa, RevokeOutcome};
use cmc_codec::identity::{
    ProofHash, find_pop_link_witness, identity_key, link_key, pop_link_witness_attribute,
    pop_link_witness_v2, req_sequence_der,
};
use cmc_codec::{
    CmsSigner, FullRequest, RequestBuilder, VerifyOptions, build_csr, build_csr_with_attributes,
    decode_full_request,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_policy::ProfileSet;
use cmc_store::{CertFilter, CertStatus, PageRequest, RevocationReason, UnixTime};
use common::{Env, single_failure, statuses, verify};
use der::Encode;
use der::asn1::OctetString;
use x509_cert::Certificate;
use x509_cert::name::Name;
use zeroize::Zeroizing;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const SECRET: &str = "7QK2-M9XD-4TZB-W1RA";
const DAY: i64 = 86_400;

/// Profiles: `default` (built-in), `linked` (popLinkWitnessV2 required),
/// `reuse` (renewals may keep their key).
const PROFILES: &str = r#"
default_profile = "default"
[profile.default]
[profile.linked]
require_pop_link_witness = true
[profile.reuse]
allow_key_reuse = true
"#;

struct Fixture {
    env: Env,
    engine: Engine,
    ca: Arc<LoadedCa>,
}

fn fixture(allow_sha1: bool) -> Fixture {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let mut config = EngineConfig {
        profiles: ProfileSet::from_toml(PROFILES).unwrap(),
        ..EngineConfig::default()
    };
    config.cas.insert(
        "ca".into(),
        CaSettings {
            allow_sha1_identity_proof: allow_sha1,
            ..CaSettings::default()
        },
    );
    config.requests.secret_lock_after = 3;
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let ca = engine.ca(ca.name()).unwrap();
    Fixture { env, engine, ca }
}

impl Fixture {
    fn add_secret(&self, identification: &str, hash: ProofHash, profile: Option<&str>) {
        self.engine
            .add_enroll_secret(&EnrollSecret {
                names: None,
                ca: "ca".into(),
                identification: identification.into(),
                secret: Zeroizing::new(SECRET.into()),
                hash,
                profile: profile.map(Into::into),
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

    fn now(&self) -> UnixTime {
        self.env.clock.now()
    }

    fn issued(&self) -> Vec<cmc_store::CertRecord> {
        self.env
            .store
            .list_certs(&CertFilter::default(), PageRequest::first(1000))
            .unwrap()
            .items
            .into_iter()
            .filter(|r| r.status() != CertStatus::Failed)
            .collect()
    }

    fn secret(&self, identification: &str) -> cmc_store::SecretRecord {
        self.env
            .store
            .get_secret("ca", identification)
            .unwrap()
            .unwrap()
    }

    /// The one status of a reply, asserted to be a failure of `[0]` or of
    /// the given body part.
    fn refused(&self, reply: &CmcReply) -> (CmcFailInfo, Vec<BodyPartId>) {
        single_failure(&verify(reply, &self.ca, self.now()))
    }

    fn issued_cert(&self, reply: &CmcReply) -> Certificate {
        let resp = verify(reply, &self.ca, self.now());
        let s = statuses(&resp);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].status, CmcStatus::Success, "{s:?}");
        resp.certificates
            .iter()
            .find(|c| c.tbs_certificate().issuer() == self.ca.subject())
            .cloned()
            .expect("an issued certificate")
    }
}

/// How a test request is built.
#[derive(Clone)]
struct Proof<'a> {
    identification: Option<&'a str>,
    secret: &'a str,
    hash: ProofHash,
    /// Add the legacy identityProof instead of identityProofV2.
    legacy: bool,
    /// popLinkRandom + a popLinkWitnessV2 in the CSR, made with this
    /// secret.
    link: Option<&'a str>,
    /// The version 1 popLinkWitness (HMAC-SHA1(SHA-1(secret), random))
    /// instead of popLinkWitnessV2.
    link_v1: bool,
    /// Append a request after computing the proof (the reqSequence no
    /// longer matches).
    tamper: bool,
}

impl Default for Proof<'_> {
    fn default() -> Self {
        Self {
            identification: Some("alice"),
            secret: SECRET,
            hash: ProofHash::Sha256,
            legacy: false,
            // Every request authenticated by a secret links its POP to it.
            link: Some(SECRET),
            link_v1: false,
            tamper: false,
        }
    }
}

/// A Full PKI Request signed with the requested key (sid = its SKI), with
/// identification + identityProofV2 as `proof` says. Returns the DER and
/// the key.
fn request(f: &Fixture, proof: &Proof<'_>) -> (Vec<u8>, FileKey) {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let subject = Name::from_str("CN=alice.example.test").unwrap();
    let random = [0x5a; 64];
    let csr = match proof.link {
        Some(secret) if proof.link_v1 => {
            // HMAC-SHA1(SHA-1(secret), random), computed by Python.
            let witness = python_hmac(ProofHash::Sha1, &[secret.as_bytes()], &random);
            build_csr_with_attributes(
                &key,
                subject,
                Vec::new(),
                vec![cmc_codec::identity::pop_link_witness_v1_attribute(&witness).unwrap()],
            )
            .unwrap()
        }
        Some(secret) => {
            let witness = pop_link_witness_v2(
                proof.hash,
                &link_key(proof.hash, secret.as_bytes()),
                &random,
            )
            .unwrap();
            build_csr_with_attributes(
                &key,
                subject,
                Vec::new(),
                vec![pop_link_witness_attribute(&witness).unwrap()],
            )
            .unwrap()
        }
        None => build_csr(&key, subject, Vec::new()).unwrap(),
    };
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).unwrap();
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new(nonce).unwrap()))
        .unwrap();
    b.pkcs10(2, csr).unwrap();
    if let Some(id) = proof.identification {
        b.control(3, &Identification(id.into())).unwrap();
    }
    if proof.link.is_some() {
        b.control(5, &PopLinkRandom(OctetString::new(random).unwrap()))
            .unwrap();
    }
    let ik = identity_key(proof.hash, proof.secret.as_bytes(), proof.identification);
    if proof.legacy {
        b.identity_proof_v1(4, &ik).unwrap();
    } else {
        b.identity_proof_v2(4, proof.hash, &ik).unwrap();
    }
    if proof.tamper {
        let other = FileKey::generate(KeySpec::P256).unwrap();
        b.pkcs10(
            6,
            build_csr(&other, Name::from_str("CN=intruder").unwrap(), Vec::new()).unwrap(),
        )
        .unwrap();
    }
    let der = b
        .sign(
            &CmsSigner::self_signed(&key).unwrap(),
            f.now().to_system_time(),
        )
        .unwrap();
    (der, key)
}

/// HMAC-`hash`(`key`, `message`) computed by Python's standard library.
fn python_hmac(hash: ProofHash, key_parts: &[&[u8]], message: &[u8]) -> Vec<u8> {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let parts: Vec<String> = key_parts.iter().map(|p| hex(p)).collect();
    let script = "import hashlib,hmac,sys\n\
        h=sys.argv[1]; msg=bytes.fromhex(sys.argv[2])\n\
        key=hashlib.new(h, b''.join(bytes.fromhex(p) for p in sys.argv[3:])).digest()\n\
        print(hmac.new(key, msg, h).hexdigest())";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(hash.name())
        .arg(hex(message))
        .args(&parts)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    (0..text.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text.trim()[i..i + 2], 16).unwrap())
        .collect()
}

fn decode_signed(f: &Fixture, der: &[u8]) -> cmc_codec::SignedRequest {
    let FullRequest::Signed(r) =
        decode_full_request(der, &VerifyOptions::new(f.now().to_system_time())).unwrap()
    else {
        panic!("signed")
    };
    r
}

#[test]
fn a_shared_secret_gets_a_first_certificate_once() {
    let f = fixture(false);
    f.add_secret("alice", ProofHash::Sha256, None);
    let stored = f.secret("alice");
    assert_eq!(stored.hash_alg, "sha256");
    assert_ne!(stored.derived_key, SECRET.as_bytes());

    let (der, key) = request(&f, &Proof::default());
    let reply = f.send(&der);
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let cert = f.issued_cert(&reply);
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
    let issued = f.issued();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].requester, "secret:alice");
    assert!(f.secret("alice").used_at.is_some());

    // Used once: a second request with the same secret is badIdentity and
    // issues nothing.
    let (again, _) = request(&f, &Proof::default());
    let reply = f.send(&again);
    assert_eq!(f.refused(&reply), (CmcFailInfo::BadIdentity, vec![0]));
    assert_eq!(f.issued().len(), 1);
}

#[test]
fn the_macs_match_an_independent_implementation() {
    let f = fixture(false);
    for hash in [ProofHash::Sha256, ProofHash::Sha384, ProofHash::Sha512] {
        let (der, _) = request(
            &f,
            &Proof {
                hash,
                link: Some(SECRET),
                ..Proof::default()
            },
        );
        let signed = decode_signed(&f, &der);
        // identityProofV2: HMAC(H(secret || identification), reqSequence).
        let (_, proof) = signed
            .pki_data
            .unique_control::<IdentityProofV2>()
            .unwrap()
            .unwrap();
        let req_sequence = req_sequence_der(&signed.econtent).unwrap();
        assert_eq!(
            proof.witness.as_bytes(),
            python_hmac(hash, &[SECRET.as_bytes(), b"alice"], req_sequence),
            "{hash}"
        );
        // popLinkWitnessV2: HMAC(H(secret), popLinkRandom).
        let witness = find_pop_link_witness(&signed.pki_data.req_sequence[0])
            .unwrap()
            .unwrap();
        let (_, random) = signed
            .pki_data
            .unique_control::<PopLinkRandom>()
            .unwrap()
            .unwrap();
        assert_eq!(
            witness.witness.as_bytes(),
            python_hmac(hash, &[SECRET.as_bytes()], random.0.as_bytes()),
            "{hash}"
        );
    }
}

#[test]
fn every_hash_family_enrolls() {
    let f = fixture(false);
    for (i, hash) in [ProofHash::Sha256, ProofHash::Sha384, ProofHash::Sha512]
        .into_iter()
        .enumerate()
    {
        let id = format!("device-{i}");
        f.add_secret(&id, hash, None);
        let (der, _) = request(
            &f,
            &Proof {
                identification: Some(&id),
                hash,
                ..Proof::default()
            },
        );
        let reply = f.send(&der);
        assert!(reply.all_succeeded(), "{hash}: {:?}", reply.statuses);
    }
    assert_eq!(f.issued().len(), 3);
}

#[test]
fn wrong_proofs_are_bad_identity_count_and_lock() {
    let f = fixture(false);
    f.add_secret("alice", ProofHash::Sha256, None);
    // An identification that was never registered.
    let (der, _) = request(
        &f,
        &Proof {
            identification: Some("mallory"),
            ..Proof::default()
        },
    );
    assert_eq!(
        f.refused(&f.send(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    // The right identification with another secret.
    let (der, _) = request(
        &f,
        &Proof {
            secret: "not-the-secret-at-all",
            ..Proof::default()
        },
    );
    assert_eq!(
        f.refused(&f.send(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert_eq!(f.secret("alice").failed_attempts, 1);
    // A witness over a reqSequence that was changed afterwards.
    let (der, _) = request(
        &f,
        &Proof {
            tamper: true,
            ..Proof::default()
        },
    );
    assert_eq!(
        f.refused(&f.send(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert_eq!(f.secret("alice").failed_attempts, 2);
    // No identification control: the secret cannot be found.
    let (der, _) = request(
        &f,
        &Proof {
            identification: None,
            ..Proof::default()
        },
    );
    assert_eq!(
        f.refused(&f.send(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert!(f.issued().is_empty());
    assert!(f.secret("alice").used_at.is_none());

    // The third failure locks it (secret_lock_after = 3); then even the
    // right secret is refused, and it stays unused.
    let (der, _) = request(
        &f,
        &Proof {
            secret: "still-not-the-secret",
            ..Proof::default()
        },
    );
    assert_eq!(
        f.refused(&f.send(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert!(f.secret("alice").locked);
    let (der, _) = request(&f, &Proof::default());
    assert_eq!(
        f.refused(&f.send(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert!(f.issued().is_empty());
    assert!(f.secret("alice").used_at.is_none());
}

#[test]
fn an_expired_secret_is_refused() {
    let f = fixture(false);
    f.add_secret("alice", ProofHash::Sha256, None);
    f.env.clock.advance(DAY + 1);
    let (der, _) = request(&f, &Proof::default());
    assert_eq!(
        f.refused(&f.send(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert!(f.issued().is_empty());
}

#[test]
fn every_shared_secret_request_needs_the_pop_link_witness() {
    let f = fixture(false);
    // Under any profile (RFC 5272 §6.3.1: the server MUST check it).
    f.add_secret("alice", ProofHash::Sha256, None);
    // Missing: badRequest for that request, nothing issued, and the
    // secret is not spent: it is spent on the certificate it gets.
    let (der, _) = request(
        &f,
        &Proof {
            link: None,
            ..Proof::default()
        },
    );
    let reply = f.send(&der);
    assert_eq!(f.refused(&reply), (CmcFailInfo::BadRequest, vec![2]));
    assert!(f.issued().is_empty());
    assert_eq!(f.secret("alice").used_at, None);

    // Wrong: popFailed, still not spent.
    let (der, _) = request(
        &f,
        &Proof {
            link: Some("a-different-secret-value"),
            ..Proof::default()
        },
    );
    assert_eq!(f.refused(&f.send(&der)), (CmcFailInfo::PopFailed, vec![2]));
    assert!(f.issued().is_empty());
    assert_eq!(f.secret("alice").used_at, None);

    // Right: issued, and now spent.
    let (der, _) = request(&f, &Proof::default());
    let reply = f.send(&der);
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    assert!(f.secret("alice").used_at.is_some());

    f.add_secret("carol", ProofHash::Sha256, Some("linked"));
    let (der, _) = request(
        &f,
        &Proof {
            identification: Some("carol"),
            ..Proof::default()
        },
    );
    let reply = f.send(&der);
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    assert_eq!(f.issued()[1].profile, "linked");
}

#[test]
fn sha1_proofs_need_the_ca_setting() {
    let strict = fixture(false);
    let err = strict
        .engine
        .add_enroll_secret(&EnrollSecret {
            names: None,
            ca: "ca".into(),
            identification: "legacy".into(),
            secret: Zeroizing::new(SECRET.into()),
            hash: ProofHash::Sha1,
            profile: None,
            expires_at: strict.now().plus_secs(DAY),
            requester: "test-admin".into(),
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    strict.add_secret("alice", ProofHash::Sha256, None);
    let (der, _) = request(
        &strict,
        &Proof {
            legacy: true,
            hash: ProofHash::Sha1,
            ..Proof::default()
        },
    );
    assert_eq!(
        strict.refused(&strict.send(&der)),
        (CmcFailInfo::BadAlg, vec![0])
    );

    let lenient = fixture(true);
    lenient.add_secret("legacy", ProofHash::Sha1, None);
    let (der, _) = request(
        &lenient,
        &Proof {
            identification: Some("legacy"),
            legacy: true,
            hash: ProofHash::Sha1,
            ..Proof::default()
        },
    );
    let reply = lenient.send(&der);
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
}

/// The version 1 popLinkWitness (RFC 5272 §6.3.1.1, SHA-1 implied) links a request to a
/// SHA-1 secret on a CA that allows SHA-1 proofs; a wrong one fails POP, and one for a
/// SHA-256 secret is a bad algorithm.
#[test]
fn pop_link_witness_version_1_for_sha1_secrets() {
    let f = fixture(true);
    f.add_secret("legacy", ProofHash::Sha1, None);
    f.add_secret("modern", ProofHash::Sha256, None);
    let v1 = Proof {
        identification: Some("legacy"),
        legacy: true,
        hash: ProofHash::Sha1,
        link_v1: true,
        ..Proof::default()
    };
    let (der, _) = request(
        &f,
        &Proof {
            link: Some("not the secret, but long"),
            ..v1.clone()
        },
    );
    assert_eq!(f.refused(&f.send(&der)), (CmcFailInfo::PopFailed, vec![2]));
    let (der, _) = request(
        &f,
        &Proof {
            identification: Some("modern"),
            legacy: false,
            hash: ProofHash::Sha256,
            ..v1.clone()
        },
    );
    assert_eq!(f.refused(&f.send(&der)), (CmcFailInfo::BadAlg, vec![2]));
    let (der, _) = request(&f, &v1);
    let reply = f.send(&der);
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
}

#[test]
fn weak_secrets_are_not_registered() {
    let f = fixture(false);
    let err = f
        .engine
        .add_enroll_secret(&EnrollSecret {
            names: None,
            ca: "ca".into(),
            identification: "alice".into(),
            secret: Zeroizing::new("short".into()),
            hash: ProofHash::Sha256,
            profile: None,
            expires_at: f.now().plus_secs(DAY),
            requester: "test-admin".into(),
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    assert!(f.env.store.get_secret("ca", "alice").unwrap().is_none());
}

/// A first certificate through a shared secret, for the renewal tests.
fn first_certificate(f: &Fixture, identification: &str) -> (Certificate, FileKey) {
    f.add_secret(identification, ProofHash::Sha256, None);
    let (der, key) = request(
        f,
        &Proof {
            identification: Some(identification),
            ..Proof::default()
        },
    );
    let reply = f.send(&der);
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    (f.issued_cert(&reply), key)
}

/// A request for `subject` with `new_key`, signed by `old` and its key.
fn renewal(
    f: &Fixture,
    old: &Certificate,
    old_key: &FileKey,
    new_key: &FileKey,
    subject: &str,
) -> Vec<u8> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).unwrap();
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new(nonce).unwrap()))
        .unwrap()
        .pkcs10(
            2,
            build_csr(new_key, Name::from_str(subject).unwrap(), Vec::new()).unwrap(),
        )
        .unwrap();
    b.sign(
        &CmsSigner::new(old_key, old, &[]).unwrap(),
        f.now().to_system_time(),
    )
    .unwrap()
}

#[test]
fn a_valid_certificate_renews_itself_with_a_new_key() {
    let f = fixture(false);
    let (old, old_key) = first_certificate(&f, "alice");
    f.env.clock.advance(60);
    let new_key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = f.send(&renewal(
        &f,
        &old,
        &old_key,
        &new_key,
        "CN=alice.example.test",
    ));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let new = f.issued_cert(&reply);
    assert_eq!(
        new.tbs_certificate().subject(),
        old.tbs_certificate().subject()
    );
    assert_eq!(
        new.tbs_certificate().subject_public_key_info(),
        new_key.public_key()
    );
    let serial = old.tbs_certificate().serial_number().to_der().unwrap();
    let renewals: Vec<_> = f
        .issued()
        .into_iter()
        .filter(|r| r.requester.starts_with("holder:"))
        .collect();
    assert_eq!(renewals.len(), 1, "{serial:?}");

    // A renewal must keep the subject.
    let other = FileKey::generate(KeySpec::P256).unwrap();
    let reply = f.send(&renewal(&f, &old, &old_key, &other, "CN=bob.example.test"));
    assert_eq!(f.refused(&reply), (CmcFailInfo::BadIdentity, vec![2]));
    assert_eq!(f.issued().len(), 2);
}

#[test]
fn same_key_renewal_is_no_key_reuse_unless_the_profile_allows_it() {
    let f = fixture(false);
    let (old, old_key) = first_certificate(&f, "alice");
    let reply = f.send(&renewal(
        &f,
        &old,
        &old_key,
        &old_key,
        "CN=alice.example.test",
    ));
    assert_eq!(f.refused(&reply), (CmcFailInfo::NoKeyReuse, vec![2]));
    assert_eq!(f.issued().len(), 1);

    // Issued with the `reuse` profile, a certificate may renew its key.
    f.add_secret("dave", ProofHash::Sha256, Some("reuse"));
    let (der, key) = request(
        &f,
        &Proof {
            identification: Some("dave"),
            ..Proof::default()
        },
    );
    let reply = f.send(&der);
    let cert = f.issued_cert(&reply);
    let reply = f.send(&renewal(&f, &cert, &key, &key, "CN=alice.example.test"));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    assert_eq!(f.issued().len(), 3);
}

#[test]
fn revoked_and_expired_signers_cannot_renew() {
    let f = fixture(false);
    let (old, old_key) = first_certificate(&f, "alice");
    let (expiring, expiring_key) = first_certificate(&f, "bob");
    let serial = cmc_ca::x509::store_serial(old.tbs_certificate().serial_number()).unwrap();
    let outcome = f
        .engine
        .revoke(
            "ca",
            &serial,
            RevocationReason::KeyCompromise,
            None,
            "test-admin",
        )
        .unwrap();
    assert!(matches!(outcome, RevokeOutcome::Revoked(_)), "{outcome:?}");
    let new_key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = f.send(&renewal(
        &f,
        &old,
        &old_key,
        &new_key,
        "CN=alice.example.test",
    ));
    assert_eq!(f.refused(&reply), (CmcFailInfo::BadIdentity, vec![0]));
    assert_eq!(f.issued().len(), 2);

    // The built-in profile gives 93 days; on day 100 the certificate no
    // longer proves who signs.
    f.env.clock.advance(100 * DAY);
    let reply = f.send(&renewal(
        &f,
        &expiring,
        &expiring_key,
        &new_key,
        "CN=alice.example.test",
    ));
    let resp = verify(&reply, &f.ca, f.now());
    assert_eq!(
        single_failure(&resp),
        (CmcFailInfo::BadIdentity, vec![0]),
        "{:?}",
        statuses(&resp)
    );
    assert_eq!(f.issued().len(), 2);
}

/// An unsigned request with one revokeRequest for `cert` carrying
/// `passphrase`.
fn unsigned_revocation(f: &Fixture, cert: &Certificate, passphrase: &str) -> Vec<u8> {
    let mut b = RequestBuilder::new();
    b.control(
        7,
        &cmc_asn1::RevokeRequest {
            issuer_name: f.ca.subject().clone(),
            serial_number: cert.tbs_certificate().serial_number().clone(),
            reason: x509_cert::ext::pkix::CrlReason::KeyCompromise,
            invalidity_date: None,
            passphrase: Some(OctetString::new(passphrase.as_bytes()).unwrap()),
            comment: None,
        },
    )
    .unwrap();
    b.unsigned().unwrap()
}

#[test]
fn an_unsigned_revoke_request_with_the_revocation_secret_revokes() {
    let f = fixture(false);
    let (cert, _) = first_certificate(&f, "alice");
    let serial = cmc_ca::x509::store_serial(cert.tbs_certificate().serial_number()).unwrap();
    let revocation = "R3VOKE-ME-7QK2-M9XD-4TZB";
    f.engine
        .add_revocation_secret(&cmc_ca::RevocationSecret {
            ca: "ca".into(),
            serial: serial.clone(),
            secret: Zeroizing::new(revocation.into()),
            expires_at: f.now().plus_secs(DAY),
            requester: "test-admin".into(),
        })
        .unwrap();
    let stored = f.secret(&cmc_ca::revocation_identification(&serial));
    assert_ne!(stored.derived_key, revocation.as_bytes());

    // A wrong secret: badIdentity for that body part, not revoked.
    let reply = f.send(&unsigned_revocation(&f, &cert, "not-the-revocation-secret"));
    assert_eq!(f.refused(&reply), (CmcFailInfo::BadIdentity, vec![7]));
    let record = f.env.store.get_cert("ca", &serial).unwrap().unwrap();
    assert!(record.revocation().is_none());

    // The right one revokes, with the reason.
    let reply = f.send(&unsigned_revocation(&f, &cert, revocation));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let record = f.env.store.get_cert("ca", &serial).unwrap().unwrap();
    assert_eq!(
        record.revocation().unwrap().reason,
        RevocationReason::KeyCompromise
    );
    let secret = f.secret(&cmc_ca::revocation_identification(&serial));
    assert!(secret.used_at.is_some());
    assert_eq!(secret.failed_attempts, 1);

    // Unsigned certification requests prove nothing.
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut b = RequestBuilder::new();
    b.pkcs10(
        2,
        build_csr(&key, Name::from_str("CN=x").unwrap(), Vec::new()).unwrap(),
    )
    .unwrap();
    let reply = f.send(&b.unsigned().unwrap());
    assert_eq!(f.refused(&reply), (CmcFailInfo::BadIdentity, vec![0]));
}

#[test]
fn an_unsigned_revoke_request_without_a_registered_secret_is_bad_identity() {
    let f = fixture(false);
    let (cert, _) = first_certificate(&f, "alice");
    // The enrollment secret of the holder is not a revocation secret.
    let reply = f.send(&unsigned_revocation(&f, &cert, SECRET));
    assert_eq!(f.refused(&reply), (CmcFailInfo::BadIdentity, vec![7]));
    let serial = cmc_ca::x509::store_serial(cert.tbs_certificate().serial_number()).unwrap();
    assert!(
        f.env
            .store
            .get_cert("ca", &serial)
            .unwrap()
            .unwrap()
            .revocation()
            .is_none()
    );
}
