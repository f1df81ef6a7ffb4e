//! Two-round and anonymous enrollment (issue 13): encryptedPOP challenges
//! bound to the signer, the transactionId and a period, answered on any
//! node sharing the store (RFC 5272 §6.7); Simple PKI Requests under the
//! profile's approval rules, failing with bodyList 1 (§6.1.1), and the
//! bootstrap auto-approvals they may take.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use proto_cmc::{CERTS_ONLY_CONTENT_TYPE, CMC_RESPONSE_CONTENT_TYPE, CmcFrontDoor, Transport};
use std::str::FromStr;

use attack_support::{Party, Rig, csr};
use cmc_asn1::{
    CertReqMsg, CertTemplate, CmcFailInfo, CmcStatus, DecryptedPop, EncryptedPop, TransactionId,
};
use cmc_ca::Engine;
use cmc_ca::config::CaSettings;
use cmc_codec::build_crmf_for_decryption;
use cmc_codec::envelope::{open_challenge, the_pop};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_store::{ClientRole, PageRequest};
use common::statuses;
use der::Encode;
use der::asn1::{Int, OctetString};
use x509_cert::name::Name;

const HELD: &str = r#"
default_profile = "held"
[profile.held]
require_approval = true
"#;

/// An RSA encryption request (body part 7) and its challenge.
struct Challenged {
    key: FileKey,
    request: CertReqMsg,
}

impl Challenged {
    fn new() -> Self {
        let key = FileKey::generate(KeySpec::Rsa2048).unwrap();
        let request = build_crmf_for_decryption(
            key.public_key(),
            7,
            CertTemplate {
                subject: Some(Name::from_str("CN=decrypt.example.test").unwrap()),
                ..CertTemplate::default()
            },
        )
        .unwrap();
        Self { key, request }
    }

    /// The request from `signer` on `engine`, with transactionId
    /// `transaction` (if any) and the decryptedPOP `answer` (if any).
    fn send(
        &self,
        rig: &Rig,
        engine: &Engine,
        signer: &Party,
        transaction: Option<u8>,
        answer: Option<&DecryptedPop>,
    ) -> proto_cmc::CmcReply {
        let b = rig.builder(|b| {
            if let Some(t) = transaction {
                b.control(1, &TransactionId(Int::new(&[t]).unwrap()))
                    .unwrap();
            }
            if let Some(a) = answer {
                b.control(2, a).unwrap();
            }
            b.crmf(self.request.clone()).unwrap();
        });
        engine
            .handle_full("ca", &rig.sign(&b, signer), &Transport::default())
            .unwrap()
    }

    /// The decryptedPOP answering the challenge in `reply`.
    fn answer(&self, rig: &Rig, reply: &proto_cmc::CmcReply) -> DecryptedPop {
        let resp = rig.verify(reply);
        assert_eq!(
            rig.outcome(reply),
            [(
                CmcStatus::PopRequired,
                Some(CmcFailInfo::PopRequired),
                vec![7]
            )]
        );
        let (_, challenge) = resp
            .pki_response
            .unique_control::<EncryptedPop>()
            .unwrap()
            .expect("encryptedPOP");
        let opened = open_challenge(
            &challenge.cms,
            7,
            &self.key,
            &challenge.witness_alg_id,
            challenge.witness.as_bytes(),
        )
        .unwrap();
        DecryptedPop {
            body_part_id: 7,
            the_pop_alg_id: challenge.the_pop_alg_id.clone(),
            the_pop: OctetString::new(the_pop(&opened, &self.request.to_der().unwrap()).unwrap())
                .unwrap(),
        }
    }
}

#[test]
fn an_encrypted_pop_challenge_is_bound_to_signer_transaction_and_period() {
    let rig = Rig::new();
    let alice = rig.client("alice", "CN=alice", ClientRole::Client, None);
    let bob = rig.client("bob", "CN=bob", ClientRole::Client, None);
    let lifetime = rig.config.requests.pop_challenge_lifetime_secs;
    let request = Challenged::new();
    let answer = request.answer(
        &rig,
        &request.send(&rig, &rig.engine, &alice, Some(1), None),
    );
    let pop_failed = (CmcFailInfo::PopFailed, vec![7]);

    // Another signer with the same transactionId and answer.
    let reply = request.send(&rig, &rig.engine, &bob, Some(1), Some(&answer));
    assert_eq!(rig.refused(&reply), pop_failed);
    // The same signer in another transaction, or in none.
    for other in [Some(2), None] {
        let reply = request.send(&rig, &rig.engine, &alice, other, Some(&answer));
        assert_eq!(rig.refused(&reply), pop_failed, "{other:?}");
    }
    assert!(rig.issued().is_empty());

    // Another node sharing the store, a lifetime later: issued.
    rig.env.clock.advance(lifetime);
    let node = rig.another_node();
    let reply = request.send(&rig, &node, &alice, Some(1), Some(&answer));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    assert_eq!(rig.issued().len(), 1);

    // Two lifetimes after the challenge: expired.
    let request = Challenged::new();
    let answer = request.answer(
        &rig,
        &request.send(&rig, &rig.engine, &alice, Some(3), None),
    );
    rig.env.clock.advance(2 * lifetime);
    let reply = request.send(&rig, &rig.engine, &alice, Some(3), Some(&answer));
    assert_eq!(rig.refused(&reply), pop_failed);
    assert_eq!(rig.issued().len(), 1);
}

#[test]
fn simple_pki_requests_are_held_under_require_approval() {
    let mut rig = Rig::profiles(HELD);
    rig.reload(|c| {
        c.cas.insert(
            "ca".into(),
            CaSettings {
                allow_simple_requests: true,
                ..CaSettings::default()
            },
        );
    });
    let transport = Transport {
        tls_client_cert: None,
        peer: Some("192.0.2.7".into()),
    };
    let simple = |subject: &str| {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let body = csr(&key, subject, &[]).to_der().unwrap();
        rig.engine.handle_simple("ca", &body, &transport).unwrap()
    };

    let reply = simple("CN=first.example.test");
    assert_eq!(reply.content_type, CMC_RESPONSE_CONTENT_TYPE);
    let s = statuses(&rig.verify(&reply));
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        (s[0].status, common::ids(&s[0].body_list)),
        (CmcStatus::Pending, vec![1])
    );
    assert!(s[0].pend_info.is_some());
    assert_eq!(reply.issued, 0);
    assert!(rig.issued().is_empty());
    let pending = rig
        .env
        .store
        .list_pending(&cmc_store::PendingFilter::default(), PageRequest::first(10))
        .unwrap()
        .items;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].client, "simple-pki-request from 192.0.2.7");

    // A bootstrap auto-approval issues the next one at once; then held
    // again.
    rig.env.store.set_auto_approvals("ca", 1).unwrap();
    let reply = simple("CN=second.example.test");
    assert_eq!(reply.content_type, CERTS_ONLY_CONTENT_TYPE);
    assert_eq!(reply.issued, 1);
    assert_eq!(rig.issued().len(), 1);
    // (granted, remaining, locked)
    assert_eq!(
        rig.env.store.auto_approvals("ca").unwrap(),
        Some((1, 0, false))
    );
    let reply = simple("CN=third.example.test");
    assert_eq!(rig.outcome(&reply), [(CmcStatus::Pending, None, vec![1])]);
    assert_eq!(rig.pending_count(), 2);
    assert_eq!(rig.issued().len(), 1);
}

#[test]
fn a_failed_simple_pki_request_names_body_part_1() {
    let mut rig = Rig::new();
    rig.reload(|c| {
        c.cas.insert(
            "ca".into(),
            CaSettings {
                allow_simple_requests: true,
                ..CaSettings::default()
            },
        );
    });
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let send = |body: Vec<u8>| {
        rig.engine
            .handle_simple("ca", &body, &Transport::default())
            .unwrap()
    };
    // The CA's own subject.
    let reply = send(
        csr(&key, &rig.ca.subject().to_string(), &[])
            .to_der()
            .unwrap(),
    );
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    assert!(!reply.authenticated);
    // A self-signature that does not verify.
    let mut broken = csr(&key, "CN=simple.example.test", &[]);
    broken.info.subject = Name::from_str("CN=other.example.test").unwrap();
    let reply = send(broken.to_der().unwrap());
    assert_eq!(rig.refused(&reply), (CmcFailInfo::PopFailed, vec![1]));
    assert!(rig.issued().is_empty());
    // The same key and a good signature: issued.
    let reply = send(csr(&key, "CN=simple.example.test", &[]).to_der().unwrap());
    assert_eq!(reply.content_type, CERTS_ONLY_CONTENT_TYPE);
    assert_eq!(rig.issued().len(), 1);
}

/// A bootstrap auto-approval is spent on the certificate it lets through,
/// like a one-time secret: a request refused at issuance (here a reserved
/// name) leaves it for the next request.
#[test]
fn a_refused_request_does_not_use_up_a_bootstrap_auto_approval() {
    let mut rig = Rig::profiles(HELD);
    rig.reload(|c| {
        c.cas.insert(
            "ca".into(),
            CaSettings {
                allow_simple_requests: true,
                ..CaSettings::default()
            },
        );
    });
    rig.env.store.set_auto_approvals("ca", 1).unwrap();
    let simple = |subject: &str| {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let body = csr(&key, subject, &[]).to_der().unwrap();
        rig.engine
            .handle_simple("ca", &body, &Transport::default())
            .unwrap()
    };
    let reply = simple(&rig.ca.subject().to_string());
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    assert!(rig.issued().is_empty());
    // (granted, remaining, locked)
    assert_eq!(
        rig.env.store.auto_approvals("ca").unwrap(),
        Some((1, 1, false)),
        "the refused request used up the auto-approval"
    );
    let reply = simple("CN=admin.example.test");
    assert_eq!(reply.content_type, CERTS_ONLY_CONTENT_TYPE);
    assert_eq!(rig.issued().len(), 1);
}
