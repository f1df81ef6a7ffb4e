//! The CMP door over a real engine (SQLite store, file-key CA), without
//! HTTP and without `openssl`: messages built here, so that the paths
//! `openssl cmp` never takes are exercised: certConf with a wrong hash or
//! from another signer, a rejecting certConf, missing header fields, an
//! unprotected request, a signature that does not match `extraCerts`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../cmc-ca/tests/common/mod.rs"]
mod common;

use std::str::FromStr;

use cmc_ca::{ClientCredential, Engine, EngineConfig};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_store::{ClientRole, RevocationReason, Serial};
use common::Env;
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use proto_cmp::{
    CertStatus, CertTemplate, CmpDoor, CmpReply, CmpRequest, FailureBit, Limits, PVNO_CMP2000,
    PkiBody, PkiHeader, PkiMessage, PkiStatus, PkiStatusInfo, ProofOfPossession,
};
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

struct Setup {
    env: Env,
    engine: Engine,
    door: CmpDoor,
    limits: Limits,
}

impl Setup {
    fn new() -> Self {
        Self::with_cmp(cmc_ca::config::CmpSettings::default())
    }

    /// A CA "ca" with `cmp` as its `[ca.ca.cmp]` settings.
    fn with_cmp(cmp: cmc_ca::config::CmpSettings) -> Self {
        let env = Env::new();
        env.create("ca", KeySpec::P256, P256, None, 365);
        let mut config = EngineConfig::default();
        config.cas.insert(
            "ca".into(),
            cmc_ca::config::CaSettings {
                cmp: Some(cmp),
                ..cmc_ca::config::CaSettings::default()
            },
        );
        let engine = Engine::load(
            std::sync::Arc::clone(&env.store),
            std::sync::Arc::new(env.clock.clone()),
            config,
        )
        .unwrap();
        Self {
            env,
            engine,
            door: CmpDoor::new(),
            limits: Limits::default(),
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

    fn revoked(&self, cert: &Certificate) -> bool {
        let serial =
            Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes()).unwrap();
        self.env
            .store
            .get_cert("ca", &serial)
            .unwrap()
            .unwrap()
            .revocation()
            .is_some()
    }
}

/// A header with `transactionID` and `senderNonce` (either may be left out).
fn header(txid: Option<&[u8]>, nonce: Option<&[u8]>) -> PkiHeader {
    let mut h = PkiHeader::new(
        PVNO_CMP2000,
        GeneralName::DirectoryName(Name::default()),
        GeneralName::DirectoryName(Name::default()),
    );
    h.transaction_id = txid.map(|t| OctetString::new(t).unwrap());
    h.sender_nonce = nonce.map(|n| OctetString::new(n).unwrap());
    h
}

/// `body` under `header`, signed by `key` with `cert` first in extraCerts.
fn signed(header: PkiHeader, body: PkiBody, key: &FileKey, cert: &[u8]) -> Vec<u8> {
    PkiMessage::protect_with_signature(
        header,
        body,
        key.signature_algorithm().clone(),
        Some(vec![Certificate::from_der(cert).unwrap()]),
        |d| Ok::<_, proto_cmp::Error>(key.sign(d).unwrap()),
    )
    .unwrap()
    .to_der_bytes()
    .unwrap()
}

/// A cr for `subject` with a new key and a signature POPO (or raVerified).
fn cr_body(subject: &str, ra_verified: bool) -> PkiBody {
    cr_body_for(
        &FileKey::generate(KeySpec::P256).unwrap(),
        subject,
        ra_verified,
    )
}

fn cr_body_for(key: &FileKey, subject: &str, ra_verified: bool) -> PkiBody {
    let template = CertTemplate {
        subject: Some(Name::from_str(subject).unwrap()),
        ..CertTemplate::default()
    };
    let mut msg = cmc_codec::build_crmf(key, 0, template).unwrap();
    if ra_verified {
        msg.popo = Some(ProofOfPossession::RaVerified(Null));
    }
    PkiBody::Cr(vec![msg])
}

fn answer(reply: &CmpReply) -> PkiMessage {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    PkiMessage::from_der(&reply.body).unwrap()
}

fn failure(reply: &CmpReply) -> Vec<FailureBit> {
    match answer(reply).body {
        PkiBody::Error(e) => {
            assert_eq!(e.pki_status_info.status, PkiStatus::Rejection);
            e.pki_status_info.fail_info.unwrap().bits().collect()
        }
        other => panic!("not an error: {}", other.name()),
    }
}

fn issued(reply: &CmpReply) -> Certificate {
    let PkiBody::Cp(rep) = answer(reply).body else {
        panic!("not a cp");
    };
    let cert = rep.response[0].certified_key_pair.clone().unwrap();
    match cert.cert_or_enc_cert {
        proto_cmp::CertOrEncCert::Certificate(c) => c,
        proto_cmp::CertOrEncCert::EncryptedCert(_) => panic!("encrypted"),
    }
}

fn cert_conf(cert: &Certificate, reject: bool) -> PkiBody {
    let hash = sha2::Sha256::digest(cert.to_der().unwrap());
    PkiBody::CertConf(vec![CertStatus {
        cert_hash: OctetString::new(hash.to_vec()).unwrap(),
        cert_req_id: 0,
        status_info: reject.then(|| {
            PkiStatusInfo::rejection(FailureBit::IncorrectData.into(), "not what I asked")
        }),
        hash_alg: None,
    }])
}

fn ra(setup: &Setup, id: &str) -> (FileKey, ClientCredential) {
    common::credential(&setup.engine, "ca", id, &format!("CN={id}"), ClientRole::Ra)
}

#[test]
fn cert_conf_must_match_the_certificate_and_its_requester() {
    let setup = Setup::new();
    let (key, cred) = ra(&setup, "ra1");
    let (other_key, other) = ra(&setup, "ra2");
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-1")),
        cr_body("CN=device.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(reply.issued, 1);
    let cert = issued(&reply);
    let answer_header = answer(&reply).header;
    assert_eq!(answer_header.recip_nonce.unwrap().as_bytes(), b"nonce-1");
    assert_eq!(answer_header.transaction_id.unwrap().as_bytes(), b"tx-1");

    // A new cr in a transaction that waits for its certConf.
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-2")),
        cr_body("CN=device2.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::TransactionIdInUse]);

    // The hash of another certificate.
    let wrong = Certificate::from_der(&cred.certificate_der).unwrap();
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-3")),
        cert_conf(&wrong, false),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadCertId]);
    // The right hash from another RA.
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-4")),
        cert_conf(&cert, false),
        &other_key,
        &other.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    // The requester confirms.
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-5")),
        cert_conf(&cert, false),
        &key,
        &cred.certificate_der,
    ));
    assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
    assert!(!setup.revoked(&cert));
    // Once.
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-6")),
        cert_conf(&cert, false),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
}

#[test]
fn a_rejecting_cert_conf_revokes() {
    let setup = Setup::new();
    let (key, cred) = ra(&setup, "ra1");
    let reply = setup.send(&signed(
        header(Some(b"tx-r"), Some(b"nonce-1")),
        cr_body("CN=unwanted.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    let cert = issued(&reply);
    let reply = setup.send(&signed(
        header(Some(b"tx-r"), Some(b"nonce-2")),
        cert_conf(&cert, true),
        &key,
        &cred.certificate_der,
    ));
    assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
    assert!(setup.revoked(&cert));
}

#[test]
fn refusals_before_the_engine() {
    let setup = Setup::new();
    let (key, cred) = ra(&setup, "ra1");
    let (ee_key, ee) = common::credential(
        &setup.engine,
        "ca",
        "device-1",
        "CN=device-1",
        ClientRole::Client,
    );
    let body = || cr_body("CN=x.example.test", false);
    // No transactionID, no senderNonce.
    let reply = setup.send(&signed(
        header(None, Some(b"n")),
        body(),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadDataFormat]);
    let reply = setup.send(&signed(
        header(Some(b"t"), None),
        body(),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadSenderNonce]);
    // Unprotected.
    let unprotected = PkiMessage {
        header: header(Some(b"t"), Some(b"n")),
        body: body(),
        protection: None,
        extra_certs: None,
    };
    let reply = setup.send(&unprotected.to_der().unwrap());
    assert_eq!(failure(&reply), [FailureBit::BadMessageCheck]);
    assert!(reply.unauthenticated);
    // Signed by one key, claiming another's certificate.
    let reply = setup.send(&signed(
        header(Some(b"t"), Some(b"n")),
        body(),
        &ee_key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadMessageCheck]);
    assert!(reply.unauthenticated);
    // A certificate of this CA, revoked: neither a client nor a holder.
    let holder = FileKey::generate(KeySpec::P256).unwrap();
    let reply = setup.send(&signed(
        header(Some(b"t-h"), Some(b"n-h")),
        cr_body_for(&holder, "CN=holder.example.test", false),
        &key,
        &cred.certificate_der,
    ));
    let holder_cert = issued(&reply);
    let serial =
        Serial::from_be_bytes(holder_cert.tbs_certificate().serial_number().as_bytes()).unwrap();
    setup
        .engine
        .revoke("ca", &serial, RevocationReason::Superseded, None, "test")
        .unwrap();
    let reply = setup.send(&signed(
        header(Some(b"t-s"), Some(b"n-s")),
        cr_body("CN=holder.example.test", false),
        &holder,
        &holder_cert.to_der().unwrap(),
    ));
    assert_eq!(failure(&reply), [FailureBit::SignerNotTrusted]);
    assert!(reply.unauthenticated);
    // An end entity vouching for a key.
    let reply = setup.send(&signed(
        header(Some(b"t2"), Some(b"n2")),
        cr_body("CN=device-1", true),
        &ee_key,
        &ee.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadPop]);
    assert!(!reply.unauthenticated, "the sender was authenticated");
    // Unsupported bodies.
    let reply = setup.send(&signed(
        header(Some(b"t3"), Some(b"n3")),
        PkiBody::PollReq(vec![]),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    // Not CMP at all.
    let reply = setup.door.handle(
        &setup.engine,
        &CmpRequest {
            ca: "ca",
            content_type: Some("application/pkixcmp"),
            body: b"garbage",
            limits: &setup.limits,
        },
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.issued, 0);
}

/// Past the confirmation wait (`[ca.NAME.cmp] confirm_wait_secs`, 300 s by default) a late
/// certConf is refused, the transaction may be used again, and the sweep the server runs
/// revokes the unconfirmed certificate (RFC 9483 §4.1: handled like a rejection), once;
/// a confirmed certificate is left alone.
#[test]
fn an_unconfirmed_certificate_is_revoked_after_the_wait() {
    let setup = Setup::new();
    let (key, cred) = ra(&setup, "ra1");
    let reply = setup.send(&signed(
        header(Some(b"tx-late"), Some(b"nonce-1")),
        cr_body("CN=late.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    let cert = issued(&reply);
    let reply = setup.send(&signed(
        header(Some(b"tx-kept"), Some(b"nonce-k")),
        cr_body("CN=kept.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    let kept = issued(&reply);
    let reply = setup.send(&signed(
        header(Some(b"tx-kept"), Some(b"nonce-k2")),
        cert_conf(&kept, false),
        &key,
        &cred.certificate_der,
    ));
    assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
    // Before the deadline the sweep revokes nothing.
    assert_eq!(setup.engine.revoke_unconfirmed().unwrap(), 0);

    setup
        .env
        .clock
        .advance(cmc_ca::config::DEFAULT_CONFIRM_WAIT_SECS + 1);
    let reply = setup.send(&signed(
        header(Some(b"tx-late"), Some(b"nonce-2")),
        cert_conf(&cert, false),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    assert_eq!(setup.engine.revoke_unconfirmed().unwrap(), 1);
    assert!(setup.revoked(&cert));
    assert!(!setup.revoked(&kept));
    assert_eq!(setup.engine.revoke_unconfirmed().unwrap(), 0, "once");
    let reply = setup.send(&signed(
        header(Some(b"tx-late"), Some(b"nonce-3")),
        cr_body("CN=late2.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(reply.issued, 1);
}

/// A client that asks for implicit confirmation gets it where the CA grants it: the
/// answer says so and the certificate waits for nothing; elsewhere it must confirm.
#[test]
fn implicit_confirmation_is_granted_only_where_configured() {
    for granted in [false, true] {
        let env_setup = Setup::with_cmp(cmc_ca::config::CmpSettings {
            implicit_confirm: granted,
            ..cmc_ca::config::CmpSettings::default()
        });
        let (key, cred) = ra(&env_setup, "ra1");
        let mut h = header(Some(b"tx-implicit"), Some(b"nonce-i"));
        h.set_implicit_confirm();
        let reply = env_setup.send(&signed(
            h,
            cr_body("CN=implicit.example.test", true),
            &key,
            &cred.certificate_der,
        ));
        let cert = issued(&reply);
        assert_eq!(answer(&reply).header.implicit_confirm(), granted);
        env_setup
            .env
            .clock
            .advance(cmc_ca::config::DEFAULT_CONFIRM_WAIT_SECS + 1);
        let swept = env_setup.engine.revoke_unconfirmed().unwrap();
        assert_eq!(swept, usize::from(!granted), "granted: {granted}");
        assert_eq!(env_setup.revoked(&cert), !granted);
    }
}
