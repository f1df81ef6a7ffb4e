//! The CMP front door (`proto_cmp::CmpDoor::handle`) over a temporary SQLite
//! store holding a CA, an RA with a certificate, an RA with the MAC credential
//! "1234", an end-entity client and one-time secrets usable as MAC references:
//! an HTTP body in, an HTTP answer out.
//!
//! The first input byte chooses how the rest is used:
//! - below 0x40 (so every DER seed, which starts with 0x30): the whole input
//!   is the body; its low bits choose the Content-Type and the CA's path
//!   (0x30 is a good request to CA "root");
//! - 0x40..0x80: a message built and protected at setup (an ir signed by
//!   the RA, an ir under the MAC credential with PBM, a cr with PBMAC1, an
//!   ir under a one-time secret, a p10cr signed by the client, a certConf)
//!   with bytes overwritten where the input says;
//! - 0x80 and above: a message built from the input: its protection (a
//!   signature by a registered or unknown signer, a MAC with the right or a
//!   wrong secret, an unknown reference or none, PBM or PBMAC1 with small
//!   iteration counts, or nothing), its header fields and its body (ir, cr,
//!   kur, p10cr, certConf, genm, rr, pollReq, error, pkiConf, a body outside
//!   the profile); after an issuance, possibly a certConf in the same
//!   transaction, right or wrong. Everything is protected for real, so that the
//!   input reaches the logic behind verification.
//!
//! The engine and the door keep their state between runs (issued
//! certificates, spent secrets, nonces, transactions waiting for a certConf),
//! as a server does; the clock stands still, so nothing expires.
//!
//! Besides "nothing panics", every answer is checked: HTTP 200 with a
//! `PKIMessage` that decodes, or a 4xx (never a 5xx); the answer is protected
//! with the request's secret, or signed by the CA; no `systemFailure`; a
//! certificate is issued only to a sender the setup made (a registered client,
//! the holder of a certificate the door issued, the MAC credential or an
//! unspent one-time secret, each proven), never for a wrong secret, an unknown
//! reference or signer, or an unprotected message.
#![no_main]

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use cmc_ca::config::{CaSettings, Config};
use cmc_ca::{
    CaKey, ClientCredentialRequest, Clock, Engine, EngineConfig, EnrollSecret, KeyConfig,
    ManualClock, NewCa, SecretRef,
};
use cmc_codec::identity::ProofHash;
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_store::{ClientRole, Grant, Scope};
use der::asn1::OctetString;
use der::{Decode, Encode};
use libfuzzer_sys::fuzz_target;
use proto_cmp::{
    CONTENT_TYPE, CertOrEncCert, CmpDoor, CmpReply, CmpRequest, FailureBit, Limits, MacLimits,
    PkiBody, PkiStatus, Protection, decode_message,
};
use x509_cert::Certificate;
use zeroize::Zeroizing;

#[path = "cmp_door/build.rs"]
mod build;

use build::{Input, build_message, confirmation};

const CA: &str = "root";
const RA_SUBJECT: &str = "CN=cmp fuzz RA";
const MAC_RA_SUBJECT: &str = "CN=cmp fuzz MAC RA";
const CLIENT_SUBJECT: &str = "CN=cmp fuzz client";
/// The MAC credential of the second RA (the reference of the issue's
/// `openssl cmp -ref 1234` command).
const RA_REFERENCE: &str = "1234";
const RA_SECRET: &str = "the fuzz RA's MAC secret";
/// How many one-time secrets are registered (spent as the run goes).
const SECRETS: usize = 8;
/// Highest iteration count the door accepts here: PBKDF2 and PBM cost is
/// not what is being fuzzed.
const MAX_ITERATIONS: u32 = 64;

/// Profiles: the default, one that holds requests for approval.
const PROFILES: &str = "default_profile = \"default\"\n\
    [profile.default]\n\
    [profile.held]\nrequire_approval = true\n";

/// The engine, the door and everything the inputs need to make valid
/// messages.
struct Fixture {
    /// The store, the CA key and the secrets key; never removed (statics are
    /// not dropped), so the smoke script points TMPDIR at a directory it
    /// removes.
    _dir: tempfile::TempDir,
    clock: ManualClock,
    engine: Engine,
    door: CmpDoor,
    limits: Limits,
    ca_cert: Certificate,
    /// RA, MAC RA, client: key and certificate.
    signers: Vec<(FileKey, Certificate)>,
    /// A key nobody registered, and the client's certificate with that key
    /// put in (its signature no longer verifies).
    stranger: FileKey,
    forged: Certificate,
    /// Keys for the requests.
    keys: Vec<FileKey>,
    /// (reference, secret): the RA's MAC credential, then the one-time secrets.
    macs: Vec<(String, Zeroizing<String>)>,
    /// Valid messages built at setup, for the mutation mode.
    seeds: Vec<Vec<u8>>,
    /// What the door did so far: certificates issued (their holders may
    /// sign), one-time references that got a certificate.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    issued: HashSet<Vec<u8>>,
    /// The last certificate issued for each of `keys`.
    holders: Vec<Option<Certificate>>,
    spent: HashSet<String>,
}

/// Setup failures abort the fuzzer at once: they are not findings.
fn setup_step<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("cmp_door setup: {what}: {e}"),
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    let dir = setup_step(
        "temporary directory",
        tempfile::Builder::new().prefix("cmc-fuzz-cmp").tempdir(),
    );
    let db = format!("sqlite://{}", dir.path().join("ca.db").display());
    let store = setup_step("store", cmc_store::open(&db));
    let clock = ManualClock::starting_now();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let engine = setup_step(
        "engine",
        Engine::load(
            store,
            std::sync::Arc::new(clock.clone()),
            EngineConfig {
                profiles: setup_step("profiles", cmc_policy::ProfileSet::from_toml(PROFILES)),
                cas: [(CA.to_owned(), CaSettings::default())].into(),
                secrets_key: Some(config.secrets_key_path()),
                ..EngineConfig::default()
            },
        ),
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
            subject: "CN=cmp fuzz root".into(),
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
    for (id, subject, role, mac) in [
        ("fuzz-ra", RA_SUBJECT, ClientRole::Ra, false),
        ("fuzz-mac-ra", MAC_RA_SUBJECT, ClientRole::Ra, true),
        ("fuzz-client", CLIENT_SUBJECT, ClientRole::Client, false),
    ] {
        let key = setup_step("key", FileKey::generate(KeySpec::P256));
        let mac = mac.then(|| {
            setup_step(
                "MAC credential",
                cmc_ca::seal_client_mac(&config, RA_REFERENCE, RA_SECRET),
            )
        });
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
                mac,
            }),
        );
        let cert = setup_step("credential", Certificate::from_der(&cred.certificate_der));
        signers.push((key, cert));
    }
    let stranger = setup_step("key", FileKey::generate(KeySpec::P256));
    let forged = forge(&signers[2].1, &stranger);

    let mut macs = vec![(
        RA_REFERENCE.to_owned(),
        Zeroizing::new(RA_SECRET.to_owned()),
    )];
    for i in 0..SECRETS {
        let identification = format!("otp-{i}");
        let secret = setup_step("secret", cmc_ca::generate_secret());
        setup_step(
            "enroll secret",
            engine.add_enroll_secret(&EnrollSecret {
                ca: CA.into(),
                identification: identification.clone(),
                secret: secret.clone(),
                hash: ProofHash::Sha256,
                // One in four is held for approval.
                profile: Some(if i % 4 == 3 { "held" } else { "default" }.into()),
                expires_at: clock.now().plus_secs(30 * 86_400),
                requester: "fuzz".into(),
                names: None,
            }),
        );
        macs.push((identification, secret));
    }
    let keys: Vec<FileKey> = (0..4)
        .map(|_| setup_step("key", FileKey::generate(KeySpec::P256)))
        .collect();

    let mut fixture = Fixture {
        _dir: dir,
        clock,
        engine,
        door: CmpDoor::new(),
        limits: Limits {
            max_message_len: 64 * 1024,
            mac: MacLimits {
                pbm_iterations: 1..=u64::from(MAX_ITERATIONS),
                pbkdf2_iterations: 1..=u64::from(MAX_ITERATIONS),
                ..MacLimits::default()
            },
        },
        ca_cert,
        signers,
        stranger,
        forged,
        state: Mutex::new(State {
            holders: vec![None; keys.len()],
            ..State::default()
        }),
        keys,
        macs,
        seeds: Vec::new(),
    };
    fixture.seeds = seeds(&fixture);
    assert!(!fixture.seeds.is_empty(), "cmp_door setup: no seed message");
    fixture
}

/// `cert` with the public key of `key` put in its place (P-256 keys encode
/// to the same length): the CA's signature over it no longer verifies.
fn forge(cert: &Certificate, key: &FileKey) -> Certificate {
    let der = setup_step("certificate", cert.to_der());
    let old = setup_step(
        "key",
        cert.tbs_certificate().subject_public_key_info().to_der(),
    );
    let new = setup_step("key", key.public_key().to_der());
    let at = der
        .windows(old.len())
        .position(|w| w == old.as_slice())
        .expect("cmp_door setup: the certificate holds its key");
    let mut forged = der;
    forged[at..at + old.len()].copy_from_slice(&new);
    setup_step("forged certificate", Certificate::from_der(&forged))
}

/// Structured inputs (without the mode byte) for the messages every kind
/// of sender sends when it does things right, and a few it must not get
/// away with; `scripts/fuzz-smoke.sh` writes the same ones, behind 0x80, as
/// seeds. Each is: protection (see [`Protect`]), MAC algorithm, iterations,
/// salt (length-prefixed), which MAC reference, header flags, transactionID
/// and senderNonce (length-prefixed), body kind and its details, then the
/// certConf flags.
pub const SEEDS: [&[u8]; 17] = [
    // The RA signs an ir for CN=fuzz.example with key 0, raVerified, and
    // confirms it.
    &[0, 0, 8, 0, 0, 7, 1, 1, 1, 2, 0, 0, 0, 0, 1, 0, 1],
    // The MAC RA (1234, PBM) sends an ir, raVerified, and confirms it.
    &[6, 0, 8, 2, 9, 9, 0, 7, 0, 0, 0, 0, 0, 3, 1, 0, 1],
    // The same with PBMAC1 and a cr with a signature POPO, no certConf.
    &[6, 2, 8, 2, 9, 9, 0, 7, 0, 0, 1, 1, 0, 3, 0, 0, 0],
    // A one-time secret (otp-0, PBM with SHA-1): ir, signature POPO, certConf.
    &[6, 1, 8, 2, 9, 9, 1, 7, 0, 0, 2, 0, 0, 0, 0, 0, 1],
    // The client's p10cr for its own name.
    &[1, 0, 8, 0, 0, 7, 0, 0, 3, 3, 2, 0, 0],
    // The client's genm for the CA certificates and the root CA certificate.
    &[1, 0, 8, 0, 0, 7, 0, 0, 0, 5, 2, 0, 0, 3, 1, 0],
    // The RA revokes the client's credential.
    &[0, 0, 8, 0, 0, 7, 0, 0, 0, 6, 0, 1, 0, 0],
    // A body outside the profile (popdecc).
    &[10, 0, 0, 0, 0, 7, 0, 0, 0, 10, 0, 2, 0x30, 0],
    // A wrong secret for 1234.
    &[7, 0, 8, 0, 0, 7, 0, 0, 0, 0, 0, 0, 1, 0, 0],
    // An unknown signer (a forged client certificate).
    &[5, 0, 8, 0, 0, 7, 0, 0, 0, 0, 0, 0, 1, 0, 0],
    // Unprotected.
    &[10, 0, 8, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    // The holder of the certificate issued for key 0 asks for another.
    &[3, 0, 8, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    // The client's kur.
    &[1, 0, 8, 0, 0, 7, 0, 0, 0, 2, 0, 2, 0, 0, 0],
    // The MAC RA's pollReq.
    &[6, 0, 8, 0, 0, 7, 0, 0, 0, 7, 1, 0],
    // The RA's ir with DNS:fuzz.example, raVerified, confirmed.
    &[0, 0, 8, 0, 0, 7, 0, 0, 0, 0, 0, 0, 5, 0, 1],
    // The client's p10cr for CN=fuzz.example, DNS:fuzz.example.
    &[1, 0, 8, 0, 0, 7, 0, 0, 1, 3, 0, 2, 0],
    // The MAC RA's cr with DNS:bank.example.test, signature POPO, confirmed.
    &[6, 0, 8, 2, 9, 9, 0, 7, 0, 0, 2, 1, 0, 0, 8, 0, 1],
];

/// The seed messages, built and protected now; the last is a certConf for
/// an ir the MAC RA sends here.
fn seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [SEEDS[0], SEEDS[1], SEEDS[2], SEEDS[3], SEEDS[4]]
        .iter()
        .filter_map(|input| build_message(f, &mut Input(input)).map(|(m, _)| m))
        .collect();
    let mut r = Input(SEEDS[1]);
    if let Some((ir, plan)) = build_message(f, &mut r) {
        let reply = send(f, CA, Some(CONTENT_TYPE), &ir);
        check(f, &ir, &reply, plan.authenticated);
        if let Some(conf) = confirmation(f, &plan, &reply, &mut Input(&[1])) {
            out.push(conf);
        }
    }
    out
}

fn send(f: &Fixture, ca: &str, content_type: Option<&str>, body: &[u8]) -> CmpReply {
    f.door.handle(
        &f.engine,
        &CmpRequest {
            ca,
            content_type,
            body,
            limits: &f.limits,
        },
    )
}

/// Whether to print every answer (`CMC_FUZZ_VERBOSE=1`).
fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("CMC_FUZZ_VERBOSE").is_some_and(|v| v == "1"))
}

/// The secret of a MAC reference the setup made.
fn secret_of<'f>(
    f: &'f Fixture,
    kid: Option<&OctetString>,
) -> Option<&'f (String, Zeroizing<String>)> {
    let kid = kid?.as_bytes();
    f.macs.iter().find(|(r, _)| r.as_bytes() == kid)
}

/// The checks every answer must pass; `authenticated` is false when the
/// structured input knows the sender must not be trusted.
fn check(f: &Fixture, request: &[u8], reply: &CmpReply, authenticated: bool) {
    if verbose() {
        eprintln!(
            "cmp_door: {} issued={} unauthenticated={} {}",
            reply.status, reply.issued, reply.unauthenticated, reply.summary
        );
    }
    if reply.status != 200 {
        assert!(
            (400..500).contains(&reply.status),
            "HTTP {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.issued, 0, "issued with HTTP {}", reply.status);
        return;
    }
    assert_eq!(reply.content_type, CONTENT_TYPE);
    let answer = match decode_message(&reply.body, &Limits::default()) {
        Ok(a) => a,
        Err(e) => panic!("an answer does not decode: {e}"),
    };
    let request = decode_message(request, &f.limits).ok();
    // The answer's protection: the request's secret, or the CA's signature.
    match answer.protection(&f.limits.mac) {
        Ok(Protection::Mac(_)) => {
            let request = request
                .as_ref()
                .expect("a MAC answer to a message that decodes");
            let (reference, secret) = secret_of(f, request.message.header.sender_kid.as_ref())
                .expect("a MAC answer to a known reference");
            assert!(
                request.verify_mac(secret.as_bytes(), &f.limits.mac).is_ok(),
                "a MAC answer to a request whose MAC does not verify under {reference}"
            );
            assert!(
                answer.verify_mac(secret.as_bytes(), &f.limits.mac).is_ok(),
                "the answer's MAC does not verify with the request's secret ({reference})"
            );
        }
        Ok(Protection::Signature(_)) => {
            let signer = answer.message.extra_certs.as_ref().and_then(|c| c.first());
            assert_eq!(
                signer,
                Some(&f.ca_cert),
                "a signed answer carries the CA first"
            );
            if let Err(e) =
                answer.verify_signature(f.ca_cert.tbs_certificate().subject_public_key_info())
            {
                panic!("a signed answer does not verify under the CA: {e}");
            }
        }
        other => panic!("an answer is not protected: {other:?}"),
    }
    let certs: Vec<&Certificate> = match &answer.message.body {
        PkiBody::Ip(rep) | PkiBody::Cp(rep) | PkiBody::Kup(rep) => rep
            .response
            .iter()
            .filter(|c| c.status.status == PkiStatus::Accepted)
            .filter_map(|c| c.certified_key_pair.as_ref())
            .filter_map(|k| match &k.cert_or_enc_cert {
                CertOrEncCert::Certificate(c) => Some(c),
                CertOrEncCert::EncryptedCert(_) => None,
            })
            .collect(),
        PkiBody::Error(e) => {
            let bits: Vec<FailureBit> = e
                .pki_status_info
                .fail_info
                .map(|i| i.bits().collect())
                .unwrap_or_default();
            assert!(!bits.is_empty(), "an error without failInfo");
            assert!(
                !bits.contains(&FailureBit::SystemFailure),
                "systemFailure: {:?}",
                e.pki_status_info.status_string
            );
            Vec::new()
        }
        _ => Vec::new(),
    };
    assert_eq!(
        certs.len(),
        reply.issued,
        "issued does not count the answer's certificates"
    );
    if reply.issued == 0 {
        return;
    }
    assert!(
        authenticated,
        "issued to a sender the setup does not vouch for: {}",
        reply.summary
    );
    let request = request.expect("issued for a message that does not decode");
    let mut state = f
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match request.protection(&f.limits.mac) {
        Ok(Protection::Mac(_)) => {
            let (reference, secret) = secret_of(f, request.message.header.sender_kid.as_ref())
                .expect("issued for an unknown reference");
            assert!(
                request.verify_mac(secret.as_bytes(), &f.limits.mac).is_ok(),
                "issued for a wrong secret"
            );
            if reference != RA_REFERENCE {
                assert!(
                    state.spent.insert(reference.clone()),
                    "one-time secret {reference} used twice"
                );
            }
        }
        Ok(Protection::Signature(_)) => {
            let signer = request
                .message
                .extra_certs
                .as_ref()
                .and_then(|c| c.first())
                .expect("issued for a signature without a certificate");
            let der = signer.to_der().expect("a decoded certificate encodes");
            assert!(
                f.signers.iter().any(|(_, c)| c == signer) || state.issued.contains(&der),
                "issued for an unknown signer"
            );
            assert!(
                request
                    .verify_signature(signer.tbs_certificate().subject_public_key_info())
                    .is_ok(),
                "issued for a signature that does not verify"
            );
        }
        other => panic!("issued for an unprotected request: {other:?}"),
    }
    for cert in certs {
        let spki = cert.tbs_certificate().subject_public_key_info();
        if let Some(i) = f.keys.iter().position(|k| k.public_key() == spki) {
            state.holders[i] = Some(cert.clone());
        }
        state
            .issued
            .insert(cert.to_der().expect("a decoded certificate encodes"));
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    match data.first().copied() {
        None => {}
        Some(first @ 0..0x40) => {
            let content_type = match first & 0x0c {
                0 => Some(CONTENT_TYPE),
                4 => Some("Application/PKIXCMP ; x=y"),
                8 => Some("application/pkcs7-mime"),
                _ => None,
            };
            let ca = if first & 2 == 2 { "nosuch" } else { CA };
            let reply = send(f, ca, content_type, data);
            check(f, data, &reply, true);
        }
        Some(0x40..0x80) => {
            let mut r = Input(&data[1..]);
            let mut message = f.seeds[usize::from(r.u8()) % f.seeds.len()].clone();
            while !r.0.is_empty() {
                let at = usize::from(u16::from_be_bytes([r.u8(), r.u8()])) % message.len();
                message[at] = r.u8();
            }
            let reply = send(f, CA, Some(CONTENT_TYPE), &message);
            check(f, &message, &reply, true);
        }
        Some(_) => {
            let mut r = Input(&data[1..]);
            let Some((message, plan)) = build_message(f, &mut r) else {
                return;
            };
            let reply = send(f, CA, Some(CONTENT_TYPE), &message);
            check(f, &message, &reply, plan.authenticated);
            // A certConf issues nothing: `check` holds it to that.
            if let Some(conf) = confirmation(f, &plan, &reply, &mut r) {
                let reply = send(f, CA, Some(CONTENT_TYPE), &conf);
                check(f, &conf, &reply, plan.authenticated);
            }
        }
    }
});
