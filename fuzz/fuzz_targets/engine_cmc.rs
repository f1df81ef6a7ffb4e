//! The CMC front door (`proto_cmc::CmcFrontDoor::handle_full`, and `handle_simple`)
//! over a temporary SQLite store holding a CA, an RA, an agent, an
//! end-entity client and one-time secrets: request bytes in, response out.
//!
//! The first input byte chooses how the rest is used:
//! - below 0x40 (so every DER seed, which starts with 0x30): the whole
//!   input is a Full PKI Request, and a Simple PKI Request too;
//! - 0x40..0x80: a request built and signed at setup (by the RA, the
//!   client, a secret, nested) with bytes overwritten where the input says;
//! - 0x80 and above: a request built from the input: who signs it (RA,
//!   agent, client, a secret's identityProofV2, the requested key alone, or
//!   nobody), its nonce and transactionId, and a list of requests and
//!   controls (PKCS #10, CRMF, getCert, getCRL, revokeRequest, dataReturn,
//!   regInfo, queryPending, batchRequests, lraPOPWitness, nested requests,
//!   popLinkRandom, raw controls), each signed for real so that the input
//!   reaches the controls and the authorisation logic behind verification.
//!
//! The engine keeps its state between runs (issued certificates, spent
//! secrets, nonces, pending requests), as a server does; its clock stands
//! still, so nothing expires.
//!
//! Besides "nothing panics", every answer is checked: a reply is a signed
//! response that verifies under the CA (or a certs-only answer to a Simple
//! PKI Request), nothing is issued to a sender the engine did not
//! authenticate, no part fails with internalCAError and nothing is a 5xx.
#![no_main]

use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use cmc_asn1::{
    BatchRequests, BodyPartId, CertTemplate, CmcFailInfo, DataReturn, GetCert, GetCrl,
    Identification, LraPopWitness, PopLinkRandom, PopLinkWitnessV2, QueryPending, RegInfo,
    RevokeRequest, SenderNonce, TaggedAttribute, TaggedContentInfo, TransactionId, oid,
};
use cmc_ca::config::CaSettings;
use cmc_ca::{
    CaKey, ClientCredentialRequest, Clock, Engine, EngineConfig, EnrollSecret, KeyConfig,
    ManualClock, NewCa, SecretRef,
};
use cmc_codec::identity::{
    ProofHash, identity_key, link_key, pop_link_witness_attribute, pop_link_witness_control,
    pop_link_witness_v2,
};
use cmc_codec::{
    CmsSigner, Limits, RequestBuilder, ResponseVerifyOptions, build_crmf_with_controls,
    build_csr_with_attributes, decode_certs_only, decode_response,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_store::{ClientRole, Grant, Scope};
use cms::content_info::ContentInfo;
use const_oid::AssociatedOid;
use der::asn1::{Any, Ia5String, Int, OctetString, SetOfVec};
use der::{Decode, Encode};
use libfuzzer_sys::fuzz_target;
use proto_cmc::{CERTS_ONLY_CONTENT_TYPE, CmcFrontDoor, CmcReply, NotCmc, Transport};
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use zeroize::Zeroizing;

const CA: &str = "root";
const RA_SUBJECT: &str = "CN=cmc-ca fuzz RA";
const AGENT_SUBJECT: &str = "CN=cmc-ca fuzz agent";
const CLIENT_SUBJECT: &str = "CN=fuzz client";
/// How many one-time secrets are registered (they are spent as the run goes).
const SECRETS: usize = 16;

/// Profiles: the built-in default, one that holds requests for approval,
/// one that wants popLinkWitnessV2, one that allows key reuse.
const PROFILES: &str = "default_profile = \"default\"\n\
    [profile.default]\n\
    [profile.held]\nrequire_approval = true\n\
    [profile.linked]\nrequire_pop_link_witness = true\n\
    [profile.reuse]\nallow_key_reuse = true\n";

/// The engine and everything the inputs need to make valid requests.
struct Fixture {
    /// The store and the CA key live here; never removed (the process
    /// exits without dropping statics), so the smoke script points TMPDIR
    /// at a directory it removes.
    _dir: tempfile::TempDir,
    clock: ManualClock,
    engine: Engine,
    ca_cert: Certificate,
    /// RA, agent, client: key and credential.
    signers: Vec<(FileKey, Certificate)>,
    /// Keys for the requests (P-256, then one P-384).
    keys: Vec<FileKey>,
    /// (identification, secret) of each one-time secret.
    secrets: Vec<(String, Zeroizing<String>)>,
    /// Serials worth naming: the credentials'.
    serials: Vec<SerialNumber>,
    /// Valid requests built at setup, for the mutation mode.
    seeds: Vec<Vec<u8>>,
}

/// Setup failures abort the fuzzer at once: they are not findings.
fn setup_step<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("engine_cmc setup: {what}: {e}"),
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    let dir = setup_step(
        "temporary directory",
        tempfile::Builder::new().prefix("cmc-fuzz-engine").tempdir(),
    );
    let db = format!("sqlite://{}", dir.path().join("ca.db").display());
    let store = setup_step("store", cmc_store::open(&db));
    let clock = ManualClock::starting_now();
    let config = EngineConfig {
        profiles: setup_step("profiles", cmc_policy::ProfileSet::from_toml(PROFILES)),
        cas: [(
            CA.to_owned(),
            CaSettings {
                allow_simple_requests: true,
                ..CaSettings::default()
            },
        )]
        .into(),
        ..EngineConfig::default()
    };
    let engine = setup_step(
        "engine",
        Engine::load(store, std::sync::Arc::new(clock.clone()), config),
    );
    let passphrase = dir.path().join("passphrase");
    setup_step(
        "passphrase",
        std::fs::write(&passphrase, "fuzz passphrase\n"),
    );
    let ca = setup_step(
        "CA",
        engine.create_ca(&NewCa {
            name: CA.into(),
            subject: "CN=cmc-ca fuzz root".into(),
            validity_days: 3650,
            key: CaKey::Generate {
                spec: KeySpec::P256,
                config: KeyConfig::file(
                    dir.path().join("root.key"),
                    SecretRef::File(passphrase),
                    SignatureScheme::Ecdsa(HashAlg::Sha256),
                ),
            },
            path_len: None,
            issuer: None,
            requester: "fuzz".into(),
        }),
    );
    let ca_cert = ca.certificate().clone();

    let mut signers = Vec::new();
    let mut serials = Vec::new();
    for (id, subject, role) in [
        ("fuzz-ra", RA_SUBJECT, ClientRole::Ra),
        ("fuzz-agent", AGENT_SUBJECT, ClientRole::Agent),
        ("fuzz-client", CLIENT_SUBJECT, ClientRole::Client),
    ] {
        let key = setup_step("key", FileKey::generate(KeySpec::P256));
        let cred = setup_step(
            id,
            engine.issue_client_credential(&ClientCredentialRequest {
                ca: CA.into(),
                client_id: id.into(),
                subject: subject.into(),
                public_key: key.public_key().clone(),
                role,
                grants: vec![Grant {
                    ca: Scope::Any,
                    profile: Scope::Any,
                }],
                validity_days: 30,
                requester: "fuzz".into(),
                names: None,
                mac: None,
            }),
        );
        let cert = setup_step("credential", Certificate::from_der(&cred.certificate_der));
        serials.push(cert.tbs_certificate().serial_number().clone());
        signers.push((key, cert));
    }

    let profiles = ["default", "held", "linked", "reuse"];
    let mut secrets = Vec::new();
    for i in 0..SECRETS {
        let identification = format!("fuzz-{i}");
        let secret = setup_step("secret", cmc_ca::generate_secret());
        setup_step(
            "enroll secret",
            engine.add_enroll_secret(&EnrollSecret {
                ca: CA.into(),
                identification: identification.clone(),
                secret: secret.clone(),
                hash: ProofHash::Sha256,
                profile: Some(profiles[i % profiles.len()].into()),
                expires_at: clock.now().plus_secs(30 * 86_400),
                requester: "fuzz".into(),
                names: None,
            }),
        );
        secrets.push((identification, secret));
    }
    let mut keys: Vec<FileKey> = (0..3)
        .map(|_| setup_step("key", FileKey::generate(KeySpec::P256)))
        .collect();
    keys.push(setup_step("key", FileKey::generate(KeySpec::P384)));

    let mut fixture = Fixture {
        _dir: dir,
        clock,
        engine,
        ca_cert,
        signers,
        keys,
        secrets,
        serials,
        seeds: Vec::new(),
    };
    fixture.seeds = seeds(&fixture);
    fixture
}

/// Structured inputs (without the mode byte) for the requests that every
/// kind of sender makes when it does things right; `scripts/fuzz-smoke.sh`
/// writes the same ones, behind 0x80, as seeds. Each is: signer (0 RA,
/// 1 agent, 2 client, 3 secret, 4 requested key, 5 unsigned), flags (1:
/// senderNonce, 2: transactionId, 4: popLinkRandom), main key, for a
/// secret which one (and the popLinkRandom), nonce length 0 and "fresh",
/// the number of parts, then per part: body part id, "use the main key",
/// kind, details.
pub const SEEDS: [&[u8]; 10] = [
    // The RA: PKCS #10 for CN=fuzz.example, DNS:fuzz.example.
    &[0, 1, 0, 0, 0, 1, 3, 1, 0, 0, 1],
    // The client: the same, without a subjectAltName.
    &[2, 1, 0, 0, 0, 1, 3, 1, 0, 0, 0],
    // A one-time secret (0) with popLinkRandom: CRMF for CN=fuzz.example,
    // then another (1) with PKCS #10.
    &[3, 5, 0, 0, 4, 1, 2, 3, 4, 0, 0, 1, 3, 1, 1, 0, 0],
    &[3, 5, 0, 1, 4, 1, 2, 3, 4, 0, 0, 1, 3, 1, 0, 0, 1],
    // The requested key alone (refused: nobody vouches).
    &[4, 1, 0, 0, 0, 1, 3, 1, 0, 0, 0],
    // The agent revokes the client's credential (keyCompromise).
    &[1, 1, 0, 0, 0, 1, 4, 1, 4, 1, 2, 0, 0],
    // The agent: getCert of the client credential and the CA's CRL.
    &[1, 1, 0, 0, 0, 2, 5, 1, 2, 2, 6, 1, 3, 1],
    // The RA wraps an end entity's request in cmsSequence, batched.
    &[
        0, 1, 0, 0, 0, 2, 100, 1, 11, 0, 0, 1, 3, 1, 0, 0, 0, 7, 1, 8, 1, 100,
    ],
    // Unsigned: a revokeRequest with a passphrase.
    &[
        5, 1, 0, 0, 0, 1, 4, 1, 4, 1, 1, 1, 4, b'a', b'b', b'c', b'd', 0,
    ],
    // The RA asks for a reserved name (the client credential's subject).
    &[0, 1, 0, 0, 0, 1, 3, 1, 0, 3, 0],
];

/// The seed requests, built and signed now.
fn seeds(f: &Fixture) -> Vec<Vec<u8>> {
    SEEDS
        .iter()
        .filter_map(|input| build_request(f, &mut Input(input)))
        .collect()
}

/// Reads the fuzz input; past its end every value is 0.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A length-prefixed byte string (at most 255 bytes).
    fn bytes(&mut self) -> &[u8] {
        let n = usize::from(self.u8()).min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[usize::from(self.u8()) % items.len()]
    }
}

/// Text for names: printable ASCII letters, digits and `.-* `.
fn text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b % 40 {
            n @ 0..26 => char::from(b'a' + n),
            n @ 26..36 => char::from(b'0' + n - 26),
            36 => '.',
            37 => '-',
            38 => '*',
            _ => ' ',
        })
        .collect()
}

/// A subject: one of the names that matter (reserved ones included), or
/// one made of input bytes.
fn subject(f: &Fixture, r: &mut Input<'_>) -> Name {
    let choice = r.u8() % 8;
    let text = match choice {
        0 => "CN=fuzz.example".to_owned(),
        1 => RA_SUBJECT.to_owned(),
        2 => AGENT_SUBJECT.to_owned(),
        3 => CLIENT_SUBJECT.to_owned(),
        4 => "CN=admin".to_owned(),
        5 => return f.ca_cert.tbs_certificate().subject().clone(),
        6 => return Name::default(),
        _ => format!("CN={},O=fuzz", text(r.bytes()).trim()),
    };
    Name::from_str(&text).unwrap_or_default()
}

/// A subjectAltName extension with one DNS name, or none.
fn extensions(r: &mut Input<'_>) -> Vec<Extension> {
    let dns = match r.u8() % 5 {
        0 => return Vec::new(),
        1 => "fuzz.example".to_owned(),
        2 => "bank.example.test".to_owned(),
        3 => "*.example".to_owned(),
        _ => text(r.bytes()),
    };
    let Ok(name) = Ia5String::new(&dns) else {
        return Vec::new();
    };
    let Ok(value) = SubjectAltName(vec![GeneralName::DnsName(name)]).to_der() else {
        return Vec::new();
    };
    let Ok(extn_value) = OctetString::new(value) else {
        return Vec::new();
    };
    vec![Extension {
        extn_id: SubjectAltName::OID,
        critical: false,
        extn_value,
    }]
}

fn serial(f: &Fixture, r: &mut Input<'_>) -> SerialNumber {
    let i = usize::from(r.u8());
    match f.serials.get(i % (f.serials.len() + 1)) {
        Some(s) => s.clone(),
        None => SerialNumber::new(r.bytes()).unwrap_or_else(|_| f.serials[0].clone()),
    }
}

fn octets(bytes: &[u8]) -> OctetString {
    // Inputs give at most a few hundred bytes; der takes up to 256 MiB.
    OctetString::new(bytes).expect("a short OCTET STRING encodes")
}

/// Every CMC control OID, for raw controls.
const CONTROL_OIDS: [const_oid::ObjectIdentifier; 22] = [
    oid::ID_CMC_IDENTIFICATION,
    oid::ID_CMC_IDENTITY_PROOF,
    oid::ID_CMC_DATA_RETURN,
    oid::ID_CMC_TRANSACTION_ID,
    oid::ID_CMC_SENDER_NONCE,
    oid::ID_CMC_RECIPIENT_NONCE,
    oid::ID_CMC_ADD_EXTENSIONS,
    oid::ID_CMC_ENCRYPTED_POP,
    oid::ID_CMC_DECRYPTED_POP,
    oid::ID_CMC_LRA_POP_WITNESS,
    oid::ID_CMC_GET_CERT,
    oid::ID_CMC_GET_CRL,
    oid::ID_CMC_REVOKE_REQUEST,
    oid::ID_CMC_REG_INFO,
    oid::ID_CMC_QUERY_PENDING,
    oid::ID_CMC_POP_LINK_RANDOM,
    oid::ID_CMC_POP_LINK_WITNESS_V2,
    oid::ID_CMC_IDENTITY_PROOF_V2,
    oid::ID_CMC_BATCH_REQUESTS,
    oid::ID_CMC_MOD_CERT_TEMPLATE,
    oid::ID_CMC_CHANGE_SUBJECT_NAME,
    oid::ID_CMC_RESPONSE_BODY,
];

/// Adds one request or control chosen by the input. Builder refusals
/// (a duplicate body part id) just leave it out.
fn add_part(
    f: &Fixture,
    r: &mut Input<'_>,
    b: &mut RequestBuilder,
    main_key: usize,
    link: Option<&PopLinkWitnessV2>,
    depth: u8,
) {
    let id = BodyPartId::from(r.u8());
    let key = if r.bool() {
        &f.keys[main_key]
    } else {
        r.pick(&f.keys)
    };
    let issuer = f.ca_cert.tbs_certificate().subject().clone();
    let _ = match r.u8() % 14 {
        0 => {
            let subject = subject(f, r);
            let attributes = link
                .and_then(|w| pop_link_witness_attribute(w).ok())
                .into_iter()
                .collect();
            match build_csr_with_attributes(key, subject, extensions(r), attributes) {
                Ok(csr) => b.pkcs10(id, csr).map(|_| ()),
                Err(_) => return,
            }
        }
        1 => {
            let template = CertTemplate {
                subject: Some(subject(f, r)),
                ..CertTemplate::default()
            };
            let controls = link
                .and_then(|w| pop_link_witness_control(w).ok())
                .into_iter()
                .collect();
            match build_crmf_with_controls(key, id, template, controls) {
                Ok(msg) => b.crmf(msg).map(|_| ()),
                Err(_) => return,
            }
        }
        2 => b
            .control(
                id,
                &GetCert {
                    issuer_name: GeneralName::DirectoryName(issuer),
                    serial_number: serial(f, r),
                },
            )
            .map(|_| ()),
        3 => b
            .control(
                id,
                &GetCrl {
                    issuer_name: if r.bool() { issuer } else { subject(f, r) },
                    crl_name: None,
                    time: None,
                    reasons: None,
                },
            )
            .map(|_| ()),
        4 => {
            let reason = *r.pick(&[
                x509_cert::ext::pkix::CrlReason::Unspecified,
                x509_cert::ext::pkix::CrlReason::KeyCompromise,
                x509_cert::ext::pkix::CrlReason::Superseded,
                x509_cert::ext::pkix::CrlReason::CertificateHold,
                x509_cert::ext::pkix::CrlReason::RemoveFromCRL,
            ]);
            let serial_number = serial(f, r);
            let passphrase = r.bool().then(|| octets(r.bytes()));
            b.control(
                id,
                &RevokeRequest {
                    issuer_name: issuer,
                    serial_number,
                    reason,
                    invalidity_date: None,
                    passphrase,
                    comment: r.bool().then(|| text(r.bytes())),
                },
            )
            .map(|_| ())
        }
        5 => b.control(id, &DataReturn(octets(r.bytes()))).map(|_| ()),
        6 => b.control(id, &RegInfo(octets(r.bytes()))).map(|_| ()),
        7 => b.control(id, &QueryPending(octets(r.bytes()))).map(|_| ()),
        8 => {
            let ids = r.bytes().iter().map(|b| BodyPartId::from(*b)).collect();
            b.control(id, &BatchRequests(ids)).map(|_| ())
        }
        9 => {
            let pki_data_bodyid = BodyPartId::from(r.u8());
            let body_ids = r.bytes().iter().map(|b| BodyPartId::from(*b)).collect();
            b.control(
                id,
                &LraPopWitness {
                    pki_data_bodyid,
                    body_ids,
                },
            )
            .map(|_| ())
        }
        10 => {
            // A raw control: any CMC OID with whatever value the input has.
            let attr_type = *r.pick(&CONTROL_OIDS);
            let raw = r.bytes();
            let value = Any::from_der(raw)
                .or_else(|_| Any::encode_from(&octets(raw)))
                .ok();
            let mut attr_values = SetOfVec::new();
            if let Some(v) = value {
                let _ = attr_values.insert(v);
            }
            b.tagged_attribute(TaggedAttribute {
                body_part_id: id,
                attr_type,
                attr_values,
            })
            .map(|_| ())
        }
        11 if depth == 0 => {
            // A nested Full PKI Request, signed by its own key (an end
            // entity's request for an RA to wrap).
            let mut inner = RequestBuilder::new();
            let nonce = fresh_nonce(r);
            let _ = inner.control(1, &SenderNonce(nonce));
            for _ in 0..(r.u8() % 3) {
                add_part(f, r, &mut inner, main_key, None, depth + 1);
            }
            let Ok(signer) = CmsSigner::self_signed(&f.keys[main_key]) else {
                return;
            };
            let Ok(der) = inner.sign(&signer, now(f)) else {
                return;
            };
            let Ok(content_info) = ContentInfo::from_der(&der) else {
                return;
            };
            b.content(TaggedContentInfo {
                body_part_id: id,
                content_info,
            })
            .map(|_| ())
        }
        12 => b.control(id, &PopLinkRandom(octets(r.bytes()))).map(|_| ()),
        _ => {
            let (identification, _) = r.pick(&f.secrets);
            b.control(id, &Identification(identification.clone()))
                .map(|_| ())
        }
    };
}

fn now(f: &Fixture) -> SystemTime {
    f.clock.now().to_system_time()
}

/// A senderNonce: input bytes and, unless the input asks to repeat
/// itself, a counter, so that requests are not all replays.
fn fresh_nonce(r: &mut Input<'_>) -> OctetString {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut nonce = r.bytes().to_vec();
    if !r.bool() {
        nonce.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    octets(&nonce)
}

/// A Full PKI Request built from the input: signer, nonce, transactionId,
/// parts.
fn build_request(f: &Fixture, r: &mut Input<'_>) -> Option<Vec<u8>> {
    let signer_kind = r.u8() % 6;
    let flags = r.u8();
    let main_key = usize::from(r.u8()) % f.keys.len();
    let mut b = RequestBuilder::new();
    // For a secret: which one, and (flag 4) popLinkRandom with the
    // popLinkWitnessV2 inside each request (RFC 5272 §6.3.1).
    let secret = (signer_kind == 3).then(|| r.pick(&f.secrets));
    let link = match secret {
        Some((_, secret)) if flags & 4 == 4 => {
            let random = r.bytes().to_vec();
            let key = link_key(ProofHash::Sha256, secret.as_bytes());
            let witness = pop_link_witness_v2(ProofHash::Sha256, &key, &random).ok()?;
            let _ = b.control(202, &PopLinkRandom(octets(&random)));
            Some(witness)
        }
        _ => None,
    };
    if flags & 1 == 1 {
        let nonce = fresh_nonce(r);
        let _ = b.control(1, &SenderNonce(nonce));
    }
    if flags & 2 == 2 {
        let value = Int::new(r.bytes()).ok()?;
        let _ = b.control(2, &TransactionId(value));
    }
    for _ in 0..(r.u8() % 8) {
        add_part(f, r, &mut b, main_key, link.as_ref(), 0);
    }
    match signer_kind {
        // The RA, the agent, the client.
        0..=2 => {
            let (key, cert) = &f.signers[usize::from(signer_kind)];
            let signer = CmsSigner::new(key, cert, &[]).ok()?;
            b.sign(&signer, now(f)).ok()
        }
        // A one-time secret: identification and identityProofV2 over the
        // reqSequence, signed by the requested key.
        3 => {
            let (identification, secret) = secret?;
            let _ = b.control(200, &Identification(identification.clone()));
            let proof_key =
                identity_key(ProofHash::Sha256, secret.as_bytes(), Some(identification));
            let _ = b.identity_proof_v2(201, ProofHash::Sha256, &proof_key);
            let signer = CmsSigner::self_signed(&f.keys[main_key]).ok()?;
            b.sign(&signer, now(f)).ok()
        }
        // The requested key alone.
        4 => {
            let signer = CmsSigner::self_signed(&f.keys[main_key]).ok()?;
            b.sign(&signer, now(f)).ok()
        }
        // Nobody (a revocation by secret, or nothing).
        _ => b.unsigned().ok(),
    }
}

/// Whether to print every answer (`CMC_FUZZ_VERBOSE=1`), for reading
/// what an input does when reproducing a finding.
fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("CMC_FUZZ_VERBOSE").is_some_and(|v| v == "1"))
}

fn show(result: &Result<CmcReply, NotCmc>) {
    if !verbose() {
        return;
    }
    match result {
        Ok(reply) => eprintln!(
            "engine_cmc: authenticated={} issued={} {:?}",
            reply.authenticated, reply.issued, reply.statuses
        ),
        Err(e) => eprintln!("engine_cmc: not CMC ({}): {e}", e.http_status()),
    }
}

/// The checks every answer must pass.
fn check_full(f: &Fixture, result: Result<CmcReply, NotCmc>) {
    show(&result);
    match result {
        Ok(reply) => {
            check_reply(f, &reply);
            assert!(
                reply.authenticated || reply.issued == 0,
                "issued {} certificate(s) to an unauthenticated sender: {:?}",
                reply.issued,
                reply.statuses
            );
        }
        Err(e) => check_not_cmc(&e),
    }
}

fn check_reply(f: &Fixture, reply: &CmcReply) {
    let trusted = [f.ca_cert.clone()];
    if reply.content_type == CERTS_ONLY_CONTENT_TYPE {
        if let Err(e) = decode_certs_only(&reply.der, &Limits::default()) {
            panic!("a certs-only reply does not decode: {e}");
        }
    } else if let Err(e) =
        decode_response(&reply.der, &ResponseVerifyOptions::new(now(f), &trusted))
    {
        panic!("a CMC response does not verify under the CA: {e}");
    }
    assert!(
        reply
            .statuses
            .iter()
            .all(|s| s.fail_info != Some(CmcFailInfo::InternalCaError)),
        "internalCAError: {:?}",
        reply.statuses
    );
}

fn check_not_cmc(e: &NotCmc) {
    assert!(e.http_status() < 500, "HTTP {}: {e}", e.http_status());
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let transport = Transport::default();
    match data.first().copied() {
        None => {}
        Some(0..0x40) => {
            check_full(f, f.engine.handle_full(CA, data, &transport));
            let simple = f.engine.handle_simple(CA, data, &transport);
            show(&simple);
            match simple {
                Ok(reply) => check_reply(f, &reply),
                Err(e) => check_not_cmc(&e),
            }
        }
        Some(0x40..0x80) => {
            let mut r = Input(&data[1..]);
            let mut request = r.pick(&f.seeds).clone();
            while !r.0.is_empty() {
                let at = usize::from(u16::from_be_bytes([r.u8(), r.u8()])) % request.len();
                request[at] = r.u8();
            }
            check_full(f, f.engine.handle_full(CA, &request, &transport));
        }
        Some(_) => {
            let mut r = Input(&data[1..]);
            if let Some(request) = build_request(f, &mut r) {
                check_full(f, f.engine.handle_full(CA, &request, &transport));
            }
        }
    }
});
