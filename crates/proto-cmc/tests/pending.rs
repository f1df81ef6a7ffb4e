//! Requests held for approval (RFC 5272 §6.13): pending with pendInfo,
//! queryPending while waiting, the certificate after approval (with the
//! subject the agent chose), the reason after rejection, and the caps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proto_cmc::{CmcFrontDoor, CmcReply, Transport};
use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::{CmcFailInfo, CmcStatus, QueryPending, SenderNonce};
use cmc_ca::{Clock, Engine, EngineConfig, LoadedCa};
use cmc_codec::{CmsSigner, RequestBuilder, VerifiedResponse, build_csr};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme};
use cmc_policy::ProfileSet;
use cmc_store::{ClientRole, PageRequest, PendingFilter};
use common::{Env, ids, single_failure, verify};
use der::Decode;
use der::asn1::OctetString;
use x509_cert::Certificate;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

struct Setup {
    env: Env,
    engine: Engine,
    ca: Arc<LoadedCa>,
    signer: (FileKey, Certificate),
}

fn setup(max_per_client: u64) -> Setup {
    setup_with_caps(1000, max_per_client)
}

fn setup_with_caps(max_per_ca: u64, max_per_client: u64) -> Setup {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let mut config = EngineConfig {
        profiles: ProfileSet::from_toml(
            "default_profile = \"held\"\n[profile.held]\nrequire_approval = true\n",
        )
        .unwrap(),
        ..EngineConfig::default()
    };
    config.requests.max_pending_per_client = max_per_client;
    config.requests.max_pending_per_ca = max_per_ca;
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let ca = engine.ca("ca").unwrap();
    let (key, cred) = common::credential(&engine, "ca", "ee", "CN=ee", ClientRole::Client);
    let cert = Certificate::from_der(&cred.certificate_der).unwrap();
    Setup {
        env,
        engine,
        ca,
        signer: (key, cert),
    }
}

impl Setup {
    fn send(&self, build: impl FnOnce(&mut RequestBuilder)) -> VerifiedResponse {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).unwrap();
        let mut b = RequestBuilder::new();
        b.control(1, &SenderNonce(OctetString::new(nonce).unwrap()))
            .unwrap();
        build(&mut b);
        let der = b
            .sign(
                &CmsSigner::new(&self.signer.0, &self.signer.1, &[]).unwrap(),
                self.env.clock.now().to_system_time(),
            )
            .unwrap();
        let reply: CmcReply = self
            .engine
            .handle_full("ca", &der, &Transport::default())
            .unwrap();
        verify(&reply, &self.ca, self.env.clock.now())
    }

    fn request(&self, subject: &str) -> VerifiedResponse {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let csr = build_csr(&key, Name::from_str(subject).unwrap(), Vec::new()).unwrap();
        self.send(|b| {
            b.pkcs10(2, csr).unwrap();
        })
    }

    fn query(&self, token: &[u8]) -> VerifiedResponse {
        let token = OctetString::new(token).unwrap();
        self.send(|b| {
            b.control(3, &QueryPending(token)).unwrap();
        })
    }
}

/// The pendToken of a pending status naming `id`.
fn pending_token(resp: &VerifiedResponse, id: u32) -> Vec<u8> {
    let s = resp.statuses().unwrap();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        (s[0].status, ids(&s[0].body_list)),
        (CmcStatus::Pending, vec![id])
    );
    match &s[0].pend_info {
        Some(info) => info.pend_token.as_bytes().to_vec(),
        None => panic!("no pendInfo: {s:?}"),
    }
}

#[test]
fn pending_then_approved_then_fetched() {
    let s = setup(20);
    let resp = s.request("CN=wait.example.test");
    let token = pending_token(&resp, 2);
    assert!(resp.issued_by(s.ca.certificate()).is_empty());
    let id = String::from_utf8(token.clone()).unwrap();
    let listed = s
        .env
        .store
        .list_pending(&PendingFilter::default(), PageRequest::first(10))
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].id, id);

    // Still waiting: pending again for the queryPending control.
    let token_again = pending_token(&s.query(&token), 3);
    assert_eq!(token_again, token);

    // The agent approves with another subject; the query brings the
    // certificate, once and again.
    let issued = s
        .engine
        .approve_pending(
            &id,
            "agent:alice",
            &cmc_ca::Approval {
                subject: Some("CN=approved.example.test".into()),
                dns_names: vec!["approved.example.test".into()],
            },
        )
        .unwrap();
    let san = issued
        .certificate
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
        .expect("the subjectAltName the agent gave");
    assert!(
        san.extn_value
            .as_bytes()
            .windows(21)
            .any(|w| w == b"approved.example.test")
    );
    assert!(
        issued
            .certificate
            .tbs_certificate()
            .subject()
            .to_string()
            .contains("approved.example.test")
    );
    for _ in 0..2 {
        let resp = s.query(&token);
        let st = resp.statuses().unwrap();
        assert_eq!(
            (st[0].status, ids(&st[0].body_list)),
            (CmcStatus::Success, vec![3])
        );
        let certs: Vec<&Certificate> = resp
            .certificates
            .iter()
            .filter(|c| **c == issued.certificate)
            .collect();
        assert_eq!(certs.len(), 1);
    }
    // A decided request cannot be decided again.
    assert!(s.engine.reject_pending(&id, "agent:bob", "late").is_err());
}

#[test]
fn a_rejected_request_answers_with_the_reason() {
    let s = setup(20);
    let token = pending_token(&s.request("CN=no.example.test"), 2);
    let id = String::from_utf8(token.clone()).unwrap();
    s.engine
        .reject_pending(&id, "agent:alice", "not an employee")
        .unwrap();
    let resp = s.query(&token);
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadRequest, vec![3]));
    let st = resp.statuses().unwrap();
    assert!(
        st[0]
            .status_string
            .as_deref()
            .unwrap()
            .contains("not an employee")
    );
    // An unknown token is badRequest too.
    let resp = s.query(b"0123456789abcdef0123456789abcdef");
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadRequest, vec![3]));
}

#[test]
fn the_per_client_cap_is_try_later() {
    let s = setup(1);
    pending_token(&s.request("CN=one.example.test"), 2);
    let resp = s.request("CN=two.example.test");
    assert_eq!(single_failure(&resp), (CmcFailInfo::TryLater, vec![2]));
    let st = resp.statuses().unwrap();
    assert!(st[0].pend_info.is_none());
    assert_eq!(
        s.env
            .store
            .list_pending(&PendingFilter::default(), PageRequest::first(10))
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn bootstrap_auto_approvals_issue_the_first_requests_then_hold() {
    let s = setup(20);
    s.env.store.set_auto_approvals("ca", 2).unwrap();
    // The first request is issued at once.
    let resp = s.request("CN=admin-1.example.test");
    let st = resp.statuses().unwrap();
    assert_eq!(
        (st[0].status, ids(&st[0].body_list)),
        (CmcStatus::Success, vec![2])
    );
    assert_eq!(resp.issued_by(s.ca.certificate()).len(), 1);
    // Locked early: the second one waits like any other.
    s.env.store.lock_auto_approvals("ca").unwrap();
    pending_token(&s.request("CN=admin-2.example.test"), 2);
    assert_eq!(
        s.env.store.auto_approvals("ca").unwrap(),
        Some((2, 1, true))
    );
}

#[test]
fn the_per_ca_cap_is_try_later() {
    let s = setup_with_caps(1, 20);
    pending_token(&s.request("CN=one.example.test"), 2);
    let resp = s.request("CN=two.example.test");
    assert_eq!(single_failure(&resp), (CmcFailInfo::TryLater, vec![2]));
    let st = resp.statuses().unwrap();
    assert!(
        st[0].status_string.as_deref().unwrap().contains("this CA"),
        "{st:?}"
    );
}
