//! A door over a real engine (SQLite store, file-key CA "ca") and messages built by hand,
//! for the door tests (`door.rs`, `door_messages.rs`).

#![allow(dead_code, unreachable_pub)]

#[path = "../../../cmc-ca/tests/common/mod.rs"]
pub mod common;

use std::str::FromStr;

use cmc_ca::{ClientCredential, Engine, EngineConfig};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_store::{ClientRole, Serial};
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use proto_cmp::{
    CertTemplate, CmpDoor, CmpReply, CmpRequest, FailureBit, Limits, PVNO_CMP2000, PkiBody,
    PkiHeader, PkiMessage, PkiStatus, ProofOfPossession,
};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

pub const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

pub struct Setup {
    pub env: common::Env,
    pub engine: Engine,
    pub door: CmpDoor,
    pub limits: Limits,
    nonce: std::cell::Cell<u32>,
}

impl Setup {
    pub fn new() -> Self {
        Self::with_cmp(cmc_ca::config::CmpSettings::default())
    }

    /// A CA "ca" with `cmp` as its `[ca.ca.cmp]` settings.
    pub fn with_cmp(cmp: cmc_ca::config::CmpSettings) -> Self {
        Self::with(cmp, |_| {})
    }

    /// [`Setup::with_cmp`], the engine's configuration changed by `tweak`.
    pub fn with(cmp: cmc_ca::config::CmpSettings, tweak: impl FnOnce(&mut EngineConfig)) -> Self {
        let env = common::Env::new();
        env.create("ca", KeySpec::P256, P256, None, 365);
        let mut config = EngineConfig::default();
        tweak(&mut config);
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
            nonce: std::cell::Cell::new(0),
        }
    }

    pub fn send(&self, der: &[u8]) -> CmpReply {
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

    /// `body` in transaction `txid` with a fresh nonce, signed by `key` with `cert`.
    pub fn send_signed(&self, txid: &[u8], body: PkiBody, key: &FileKey, cert: &[u8]) -> CmpReply {
        let n = self.nonce.get() + 1;
        self.nonce.set(n);
        self.send(&signed(
            header(Some(txid), Some(format!("nonce-{n}").as_bytes())),
            body,
            key,
            cert,
        ))
    }

    /// An RA registered for every profile of the CA.
    pub fn ra(&self, id: &str) -> (FileKey, ClientCredential) {
        common::credential(&self.engine, "ca", id, &format!("CN={id}"), ClientRole::Ra)
    }

    /// A certificate for `subject` issued to an RA's cr with raVerified, confirmed; and its key.
    pub fn issue(&self, ra: &(FileKey, ClientCredential), subject: &str) -> (FileKey, Certificate) {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let txid = format!("tx-{subject}");
        let reply = self.send_signed(
            txid.as_bytes(),
            cr_body_for(&key, subject, true),
            &ra.0,
            &ra.1.certificate_der,
        );
        let cert = issued(&reply);
        let reply = self.send_signed(
            txid.as_bytes(),
            cert_conf(&cert, false),
            &ra.0,
            &ra.1.certificate_der,
        );
        assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
        (key, cert)
    }

    /// The revocation reason code of `cert` in the store, if revoked.
    pub fn revocation(&self, cert: &Certificate) -> Option<u8> {
        let serial =
            Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes()).unwrap();
        self.env
            .store
            .get_cert("ca", &serial)
            .unwrap()
            .unwrap()
            .revocation()
            .map(|r| r.reason.code())
    }

    /// Whether `cert` is revoked in the store.
    pub fn revoked(&self, cert: &Certificate) -> bool {
        self.revocation(cert).is_some()
    }

    /// The CA certificate.
    pub fn ca_cert(&self) -> Certificate {
        self.engine.ca("ca").unwrap().certificate().clone()
    }
}

/// A header with `transactionID` and `senderNonce` (either may be left out).
pub fn header(txid: Option<&[u8]>, nonce: Option<&[u8]>) -> PkiHeader {
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
pub fn signed(header: PkiHeader, body: PkiBody, key: &FileKey, cert: &[u8]) -> Vec<u8> {
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

/// A CRMF request for `subject` with `key` and a signature POPO (or raVerified).
pub fn crmf_for(key: &FileKey, subject: &str, ra_verified: bool) -> proto_cmp::CertReqMsg {
    let template = CertTemplate {
        subject: Some(Name::from_str(subject).unwrap()),
        ..CertTemplate::default()
    };
    let mut msg = cmc_codec::build_crmf(key, 0, template).unwrap();
    if ra_verified {
        msg.popo = Some(ProofOfPossession::RaVerified(Null));
    }
    msg
}

pub fn cr_body_for(key: &FileKey, subject: &str, ra_verified: bool) -> PkiBody {
    PkiBody::Cr(vec![crmf_for(key, subject, ra_verified)])
}

pub fn answer(reply: &CmpReply) -> PkiMessage {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    PkiMessage::from_der(&reply.body).unwrap()
}

/// The failure bits of an `error` answer.
pub fn failure(reply: &CmpReply) -> Vec<FailureBit> {
    match answer(reply).body {
        PkiBody::Error(e) => {
            assert_eq!(e.pki_status_info.status, PkiStatus::Rejection);
            e.pki_status_info.fail_info.unwrap().bits().collect()
        }
        other => panic!("not an error: {}", other.name()),
    }
}

/// The certificate of an ip, cp or kup.
pub fn issued(reply: &CmpReply) -> Certificate {
    let rep = match answer(reply).body {
        PkiBody::Ip(rep) | PkiBody::Cp(rep) | PkiBody::Kup(rep) => rep,
        other => panic!("no certificate in {}: {other:?}", other.name()),
    };
    let cert = rep.response[0].certified_key_pair.clone().unwrap();
    match cert.cert_or_enc_cert {
        proto_cmp::CertOrEncCert::Certificate(c) => c,
        proto_cmp::CertOrEncCert::EncryptedCert(_) => panic!("encrypted"),
    }
}

/// A certConf for `cert` (certReqId 0, SHA-256): accepting, or rejecting when `reject`.
pub fn cert_conf(cert: &Certificate, reject: bool) -> PkiBody {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(cert.to_der().unwrap());
    PkiBody::CertConf(vec![proto_cmp::CertStatus {
        cert_hash: OctetString::new(hash.to_vec()).unwrap(),
        cert_req_id: 0,
        status_info: reject.then(|| {
            proto_cmp::PkiStatusInfo::rejection(
                FailureBit::IncorrectData.into(),
                "not what I asked",
            )
        }),
        hash_alg: None,
    }])
}

/// A cr for `subject` with a new key and a signature POPO (or raVerified).
pub fn cr_body(subject: &str, ra_verified: bool) -> PkiBody {
    cr_body_for(
        &FileKey::generate(KeySpec::P256).unwrap(),
        subject,
        ra_verified,
    )
}
