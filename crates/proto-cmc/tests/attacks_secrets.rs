//! One-time enrollment secrets and unauthenticated senders (issue 13),
//! through `CmcFrontDoor::handle_full`: a secret is spent when its certificate is
//! issued (or the operator rejects its held request), never by a refusal,
//! an encryptedPOP first round or a hold; popLinkWitnessV2 is required in
//! every request it authenticates; failed proofs look alike and count only
//! for known identifications; and whoever is not authenticated gets back
//! only the senderNonce and transactionId.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use std::str::FromStr;

use attack_support::{
    Echoed, LINK_RANDOM_ID, NONCE_ID, Party, Rig, SECRET, SECRET_REQUEST_ID, SecretAsk, csr, echoed,
};
use cmc_asn1::{
    CertTemplate, CmcFailInfo, CmcStatus, DataReturn, DecryptedPop, EncryptedPop, PopLinkRandom,
    QueryPending, RegInfo, SenderNonce, TaggedAttribute, TransactionId, oid,
};
use cmc_codec::envelope::{open_challenge, the_pop};
use cmc_codec::identity::{ProofHash, link_key, pop_link_witness_control, pop_link_witness_v2};
use cmc_codec::{CmsSigner, RequestBuilder, build_crmf_for_decryption};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_store::{
    AuditFilter, AuditKind, CertFilter, CertStatus, ClientRole, PageRequest, PendingFilter,
};
use common::statuses;
use der::Encode;
use der::asn1::{Int, OctetString};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::name::Name;

/// Profiles: `held` (the default) waits for an agent.
const HELD: &str = r#"
default_profile = "held"
[profile.held]
require_approval = true
"#;

fn failed_serials(rig: &Rig) -> usize {
    rig.env
        .store
        .list_certs(&CertFilter::default(), PageRequest::first(100))
        .unwrap()
        .items
        .iter()
        .filter(|r| r.status() == CertStatus::Failed)
        .count()
}

/// A refusal of the request, or a failure of its issuance after the
/// secret was taken for it, leaves the secret unspent; the certificate it
/// gets spends it, once.
#[test]
fn a_secret_is_spent_by_its_certificate_not_by_a_refusal() {
    let rig = Rig::new();
    rig.add_secret("alice", None, None);
    // Refused on the prepared certificate (a reserved name: the CA's), after
    // the secret was taken for the signature: given back.
    let ca_subject = rig.ca.subject().to_string();
    let (der, _) = rig.secret_request(
        &SecretAsk {
            subject: &ca_subject,
            ..SecretAsk::default()
        },
        |_| {},
    );
    assert_eq!(
        rig.refused(&rig.post(&der)),
        (CmcFailInfo::BadRequest, vec![2])
    );
    assert_eq!(rig.secret("alice").used_at, None);
    assert_eq!(failed_serials(&rig), 1);
    // Refused by the profile (no name at all).
    rig.env.clock.advance(1);
    let (der, _) = rig.secret_request(
        &SecretAsk {
            subject: "",
            ..SecretAsk::default()
        },
        |_| {},
    );
    assert_eq!(
        rig.refused(&rig.post(&der)),
        (CmcFailInfo::BadRequest, vec![2])
    );
    assert_eq!(rig.secret("alice").used_at, None);
    assert!(rig.issued().is_empty());

    // Issued: spent now.
    rig.env.clock.advance(1);
    let (der, key) = rig.secret_request(&SecretAsk::default(), |_| {});
    let cert = rig.issued_cert(&rig.post(&der));
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
    assert_eq!(rig.secret("alice").used_at, Some(rig.now()));
    // Once.
    rig.env.clock.advance(1);
    let (der, _) = rig.secret_request(&SecretAsk::default(), |_| {});
    assert_eq!(
        rig.refused(&rig.post(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert_eq!(rig.issued().len(), 1);
}

/// A key that cannot sign a certificate request proves possession in two
/// rounds (RFC 5272 §6.7); the first round issues nothing and so spends
/// nothing.
#[test]
fn an_encrypted_pop_first_round_leaves_the_secret_unspent() {
    let rig = Rig::new();
    rig.add_secret("alice", None, None);
    let key = FileKey::generate(KeySpec::Rsa2048).unwrap();
    let random = [0x33u8; 32];
    let witness = pop_link_witness_v2(
        ProofHash::Sha256,
        &link_key(ProofHash::Sha256, SECRET.as_bytes()),
        &random,
    )
    .unwrap();
    let mut crm = build_crmf_for_decryption(
        key.public_key(),
        SECRET_REQUEST_ID,
        CertTemplate {
            subject: Some(Name::from_str("CN=decrypt.example.test").unwrap()),
            ..CertTemplate::default()
        },
    )
    .unwrap();
    crm.cert_req.controls = Some(vec![pop_link_witness_control(&witness).unwrap()]);
    let round = |answer: Option<DecryptedPop>| {
        let mut b = rig.builder(|b| {
            b.crmf(crm.clone())
                .unwrap()
                .control(
                    LINK_RANDOM_ID,
                    &PopLinkRandom(OctetString::new(random).unwrap()),
                )
                .unwrap();
            if let Some(answer) = answer {
                b.control(7, &answer).unwrap();
            }
        });
        let der = rig.secret_sign(&mut b, &SecretAsk::default(), &key);
        rig.post(&der)
    };

    let reply = round(None);
    assert_eq!(
        rig.outcome(&reply),
        [(
            CmcStatus::PopRequired,
            Some(CmcFailInfo::PopRequired),
            vec![SECRET_REQUEST_ID]
        )]
    );
    assert_eq!(rig.secret("alice").used_at, None);
    assert!(rig.issued().is_empty());
    let (_, challenge) = rig
        .verify(&reply)
        .pki_response
        .unique_control::<EncryptedPop>()
        .unwrap()
        .expect("encryptedPOP");

    rig.env.clock.advance(1);
    let opened = open_challenge(
        &challenge.cms,
        SECRET_REQUEST_ID,
        &key,
        &challenge.witness_alg_id,
        challenge.witness.as_bytes(),
    )
    .unwrap();
    let answer = DecryptedPop {
        body_part_id: SECRET_REQUEST_ID,
        the_pop_alg_id: challenge.the_pop_alg_id.clone(),
        the_pop: OctetString::new(the_pop(&opened, &crm.to_der().unwrap()).unwrap()).unwrap(),
    };
    let cert = rig.issued_cert(&round(Some(answer)));
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
    assert_eq!(rig.secret("alice").used_at, Some(rig.now()));
}

/// Under `require_approval` the request is held and the secret waits with
/// it: no second request meanwhile, spent by the approval or by the
/// rejection.
#[test]
fn a_held_request_keeps_the_secret_until_an_agent_decides() {
    let rig = Rig::profiles(HELD);
    rig.add_secret("alice", None, None);
    let (der, _) = rig.secret_request(&SecretAsk::default(), |_| {});
    let reply = rig.post(&der);
    assert_eq!(
        rig.outcome(&reply),
        [(CmcStatus::Pending, None, vec![SECRET_REQUEST_ID])]
    );
    assert_eq!(rig.secret("alice").used_at, None);
    let pending = rig
        .env
        .store
        .list_pending(&PendingFilter::default(), PageRequest::first(10))
        .unwrap()
        .items;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].client, "secret:alice");

    // A second request with the secret while the first waits.
    rig.env.clock.advance(1);
    let (der, _) = rig.secret_request(&SecretAsk::default(), |_| {});
    assert_eq!(
        rig.refused(&rig.post(&der)),
        (CmcFailInfo::BadRequest, vec![SECRET_REQUEST_ID])
    );
    assert_eq!(rig.pending_count(), 1);
    assert_eq!(rig.secret("alice").used_at, None);

    // Approved: issued and spent.
    rig.env.clock.advance(1);
    let issued = rig
        .engine
        .approve_pending(&pending[0].id, "agent:test", &cmc_ca::Approval::default())
        .unwrap();
    assert_eq!(
        issued.certificate.tbs_certificate().subject().to_string(),
        "CN=alice.example.test"
    );
    assert_eq!(rig.secret("alice").used_at, Some(rig.now()));
    assert_eq!(rig.issued().len(), 1);
    assert_eq!(rig.issued()[0].requester, "secret:alice");

    // Rejected: spent, nothing issued, and no further request.
    rig.add_secret("bob", None, None);
    let bob = SecretAsk {
        identification: "bob",
        ..SecretAsk::default()
    };
    let (der, _) = rig.secret_request(&bob, |_| {});
    let token = pend_token(&rig, &rig.post(&der));
    rig.env.clock.advance(1);
    rig.engine
        .reject_pending(&token, "agent:test", "not an employee")
        .unwrap();
    assert_eq!(rig.secret("bob").used_at, Some(rig.now()));
    rig.env.clock.advance(1);
    let (der, _) = rig.secret_request(&bob, |_| {});
    assert_eq!(
        rig.refused(&rig.post(&der)),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert_eq!(rig.issued().len(), 1);
}

/// A held request is fetched with queryPending by the same secret (issue
/// 13): while it waits, and once approved, when the secret is spent. The
/// PKIData holds queryPending, identification and identityProofV2, and is
/// signed with the requested key, as the held request was.
#[test]
fn the_secret_fetches_its_held_request_with_query_pending() {
    let rig = Rig::profiles(HELD);
    rig.add_secret("alice", None, None);
    let (der, key) = rig.secret_request(&SecretAsk::default(), |_| {});
    let token = pend_token(&rig, &rig.post(&der));
    let query = || {
        rig.env.clock.advance(1);
        let mut b = rig.builder(|b| {
            b.control(
                6,
                &QueryPending(OctetString::new(token.as_bytes()).unwrap()),
            )
            .unwrap();
        });
        let der = rig.secret_sign(&mut b, &SecretAsk::default(), &key);
        let reply = rig.post(&der);
        let texts: Vec<_> = statuses(&rig.verify(&reply))
            .into_iter()
            .map(|s| s.status_string)
            .collect();
        (rig.outcome(&reply), texts)
    };
    let (outcome, texts) = query();
    assert_eq!(
        outcome,
        [(CmcStatus::Pending, None, vec![6])],
        "queryPending by the secret while waiting: {texts:?}"
    );
    rig.engine
        .approve_pending(&token, "agent:test", &cmc_ca::Approval::default())
        .unwrap();
    assert!(rig.secret("alice").used_at.is_some());
    let (outcome, texts) = query();
    assert_eq!(
        outcome,
        [(CmcStatus::Success, None, vec![6])],
        "queryPending by the spent secret once approved: {texts:?}"
    );
}

/// RFC 5272 §6.3.1: the server MUST check the witness. Missing (with or
/// without popLinkRandom), or popLinkRandom missing: badRequest; wrong:
/// popFailed; the secret unspent each time.
#[test]
fn every_secret_request_needs_a_pop_link_witness_that_verifies() {
    let rig = Rig::new();
    rig.add_secret("alice", None, None);
    for (ask, expected) in [
        (
            SecretAsk {
                link: None,
                ..SecretAsk::default()
            },
            CmcFailInfo::BadRequest,
        ),
        (
            SecretAsk {
                link: None,
                random: false,
                ..SecretAsk::default()
            },
            CmcFailInfo::BadRequest,
        ),
        (
            SecretAsk {
                random: false,
                ..SecretAsk::default()
            },
            CmcFailInfo::BadRequest,
        ),
        (
            SecretAsk {
                link: Some("a-different-secret-value"),
                ..SecretAsk::default()
            },
            CmcFailInfo::PopFailed,
        ),
    ] {
        let (der, _) = rig.secret_request(&ask, |_| {});
        assert_eq!(
            rig.refused(&rig.post(&der)),
            (expected, vec![SECRET_REQUEST_ID]),
            "{ask:?}"
        );
        assert_eq!(rig.secret("alice").used_at, None, "{ask:?}");
        rig.env.clock.advance(1);
    }
    assert!(rig.issued().is_empty());
    let (der, _) = rig.secret_request(&SecretAsk::default(), |_| {});
    rig.issued_cert(&rig.post(&der));
    assert!(rig.secret("alice").used_at.is_some());
}

/// An unknown identification, a wrong witness and a locked secret (even
/// with the right witness) get the same badIdentity text; only the known
/// identification counts failures, and its locking is audited once.
#[test]
fn failed_proofs_answer_alike_and_count_only_for_known_identifications() {
    let mut rig = Rig::new();
    rig.reload(|c| c.requests.secret_lock_after = 3);
    rig.add_secret("alice", None, None);
    let text = |ask: &SecretAsk<'_>| {
        rig.env.clock.advance(1);
        let (der, _) = rig.secret_request(ask, |_| {});
        let reply = rig.post(&der);
        assert!(!reply.authenticated);
        let s = statuses(&rig.verify(&reply));
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].status, s[0].fail_info, common::ids(&s[0].body_list)),
            (CmcStatus::Failed, Some(CmcFailInfo::BadIdentity), vec![0]),
            "{ask:?}"
        );
        s[0].status_string.clone()
    };
    let locks = || {
        rig.env
            .store
            .list_audit(
                &AuditFilter {
                    kind: Some(AuditKind::SecretLocked),
                    ..AuditFilter::default()
                },
                PageRequest::first(100),
            )
            .unwrap()
            .items
            .len()
    };
    let unknown = SecretAsk {
        identification: "nobody",
        ..SecretAsk::default()
    };
    let wrong = SecretAsk {
        secret: "not-the-secret-at-all",
        ..SecretAsk::default()
    };
    let first = text(&unknown);
    for _ in 0..5 {
        assert_eq!(text(&unknown), first);
    }
    assert!(rig.env.store.get_secret("ca", "nobody").unwrap().is_none());
    assert_eq!(rig.secret("alice").failed_attempts, 0);

    assert_eq!(text(&wrong), first);
    assert_eq!(rig.secret("alice").failed_attempts, 1);
    assert!(!rig.secret("alice").locked);
    assert_eq!(text(&wrong), first);
    assert_eq!(locks(), 0);
    assert_eq!(text(&wrong), first);
    assert!(rig.secret("alice").locked);
    assert_eq!(locks(), 1);
    // Locked: the right witness looks the same, and the lock is audited
    // once however many more attempts come.
    assert_eq!(text(&SecretAsk::default()), first);
    assert_eq!(text(&wrong), first);
    assert_eq!(locks(), 1);
    assert_eq!(rig.secret("alice").used_at, None);
    assert!(rig.issued().is_empty());

    // The operator unlocks it; the right witness enrolls.
    rig.engine
        .unlock_secret("ca", "alice", "test-admin")
        .unwrap();
    rig.env.clock.advance(1);
    let (der, _) = rig.secret_request(&SecretAsk::default(), |_| {});
    rig.issued_cert(&rig.post(&der));
    assert!(rig.secret("alice").used_at.is_some());
}

/// A request whose sender is not authenticated (the signature does not
/// verify, the signer is nobody this CA knows, the secret's proof fails)
/// gets back the senderNonce and transactionId only: never dataReturn or
/// regInfo, which would have the CA sign bytes of anyone's choosing. An
/// authenticated sender gets them back, refused or not.
#[test]
fn unauthenticated_failures_echo_only_the_nonce_and_the_transaction_id() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let sub = rig.sub_ca("sub");
    let stranger = stranger(&rig, &sub);
    rig.add_secret("alice", None, None);
    // A request with a fresh senderNonce, transactionId, dataReturn and
    // regInfo, a certification request and what `extra` adds; and what
    // the response echoes of it when the sender is authenticated or not.
    let request = |extra: &dyn Fn(&mut RequestBuilder)| {
        let nonce = attack_support::nonce();
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let mut b = RequestBuilder::new();
        b.control(NONCE_ID, &SenderNonce(OctetString::new(nonce).unwrap()))
            .unwrap();
        echo_controls(&mut b);
        b.pkcs10(1, csr(&key, "CN=leaf.example.test", &[])).unwrap();
        extra(&mut b);
        (b, expected_echo(&nonce))
    };
    let check = |der: &[u8], expected: (CmcFailInfo, Vec<u32>), echo: &Echoed, what: &str| {
        let reply = rig.post(der);
        assert_eq!(rig.refused(&reply), expected, "{what}");
        assert_eq!(&echoed(&rig.verify(&reply)), echo, "{what}");
        assert_eq!(reply.authenticated, !echo.data_return.is_empty(), "{what}");
    };

    // The signature does not verify.
    let (b, (only_ids, _)) = request(&|_| {});
    let mut der = rig.sign(&b, &ra);
    let last = der.len() - 1;
    der[last] ^= 0x01;
    check(
        &der,
        (CmcFailInfo::BadMessageCheck, vec![0]),
        &only_ids,
        "bad signature",
    );
    // A certificate of another CA, registered nowhere.
    let (b, (only_ids, _)) = request(&|_| {});
    let der = rig.sign(&b, &stranger);
    check(
        &der,
        (CmcFailInfo::BadIdentity, vec![0]),
        &only_ids,
        "stranger",
    );
    // A secret's proof that does not verify.
    let mut nonce = None;
    let (der, _) = rig.secret_request(
        &SecretAsk {
            secret: "not-the-secret-at-all",
            ..SecretAsk::default()
        },
        |b| {
            nonce = Some(
                b.pki_data().controls_of::<SenderNonce>().unwrap()[0]
                    .1
                    .0
                    .as_bytes()
                    .to_vec(),
            );
            echo_controls(b);
        },
    );
    let (only_ids, _) = expected_echo(&nonce.unwrap());
    check(
        &der,
        (CmcFailInfo::BadIdentity, vec![0]),
        &only_ids,
        "wrong secret",
    );
    // Unsigned: a revokeRequest without its certificate's revocation
    // secret, and a certification request nothing authenticates.
    let (b, (only_ids, _)) = request(&|_| {});
    check(
        &b.unsigned().unwrap(),
        (CmcFailInfo::BadIdentity, vec![0]),
        &only_ids,
        "unsigned request",
    );
    let mut revoke_only = RequestBuilder::new();
    let nonce = attack_support::nonce();
    revoke_only
        .control(NONCE_ID, &SenderNonce(OctetString::new(nonce).unwrap()))
        .unwrap();
    echo_controls(&mut revoke_only);
    revoke_only
        .control(7, &rig.revoke_of(&ra.cert, CrlReason::KeyCompromise))
        .unwrap();
    check(
        &revoke_only.unsigned().unwrap(),
        (CmcFailInfo::BadIdentity, vec![7]),
        &expected_echo(&nonce).0,
        "unsigned revokeRequest without its secret",
    );
    assert!(!rig.is_revoked(&ra.cert));
    assert!(rig.issued().is_empty());

    // The RA is authenticated: its refusal (a control this CA does not
    // process) and its success echo everything.
    let (b, (_, everything)) = request(&|b| {
        b.tagged_attribute(
            TaggedAttribute::new(
                77,
                oid::ID_CMC_ENCRYPTED_POP,
                &OctetString::new(*b"x").unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
    });
    check(
        &rig.sign(&b, &ra),
        (CmcFailInfo::BadRequest, vec![77]),
        &everything,
        "unsupported control",
    );
    assert!(rig.issued().is_empty());
    let (b, (_, everything)) = request(&|_| {});
    let reply = rig.post(&rig.sign(&b, &ra));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    assert!(reply.authenticated);
    assert_eq!(echoed(&rig.verify(&reply)), everything);
    assert_eq!(rig.issued().len(), 1);
}

/// What a response echoes of a request with senderNonce `nonce` and the
/// controls of [`echo_controls`]: to an unauthenticated sender, and to an
/// authenticated one.
fn expected_echo(nonce: &[u8]) -> (Echoed, Echoed) {
    let only_ids = Echoed {
        recipient_nonce: Some(nonce.to_vec()),
        transaction_id: Some(vec![0x2a]),
        data_return: Vec::new(),
        response_info: Vec::new(),
    };
    let everything = Echoed {
        data_return: vec![b"sign this".to_vec()],
        response_info: vec![b"and this".to_vec()],
        ..only_ids.clone()
    };
    (only_ids, everything)
}

/// transactionId, dataReturn and regInfo, to be echoed (or not).
fn echo_controls(b: &mut RequestBuilder) {
    b.control(901, &TransactionId(Int::new(&[0x2a]).unwrap()))
        .unwrap()
        .control(902, &DataReturn(OctetString::new(*b"sign this").unwrap()))
        .unwrap()
        .control(903, &RegInfo(OctetString::new(*b"and this").unwrap()))
        .unwrap();
}

/// A certificate of CA `other` for a new key, registered as no client.
fn stranger(rig: &Rig, other: &cmc_ca::LoadedCa) -> Party {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let request = csr(&key, "CN=stranger", &[]);
    let policy = cmc_policy::Request::from_cert_req(&request).unwrap();
    let cert = rig
        .engine
        .issue(
            other.name(),
            None,
            &policy,
            "test-admin",
            &request.to_der().unwrap(),
        )
        .unwrap()
        .certificate;
    let _ = CmsSigner::new(&key, &cert, &[]).unwrap();
    Party { key, cert }
}

/// The pendToken of the one pending status of `reply`.
fn pend_token(rig: &Rig, reply: &proto_cmc::CmcReply) -> String {
    let s = statuses(&rig.verify(reply));
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].status, CmcStatus::Pending, "{s:?}");
    String::from_utf8(
        s[0].pend_info
            .as_ref()
            .expect("pendInfo")
            .pend_token
            .as_bytes()
            .to_vec(),
    )
    .unwrap()
}

/// A one-time secret vouches for one key and one certificate: a PKIData
/// under a secret with two certification requests is refused whole, and
/// the secret stays unspent.
#[test]
fn a_secret_authenticates_one_certification_request() {
    let rig = Rig::new();
    rig.add_secret("alice", None, None);
    let other = FileKey::generate(KeySpec::P256).unwrap();
    let (der, _) = rig.secret_request(&SecretAsk::default(), |b| {
        b.pkcs10(9, csr(&other, "CN=alice.example.test", &[]))
            .unwrap();
    });
    assert_eq!(
        rig.refused(&rig.post(&der)),
        (CmcFailInfo::BadRequest, vec![0])
    );
    assert!(rig.issued().is_empty());
    assert_eq!(rig.secret("alice").used_at, None);
    rig.env.clock.advance(1);
    let (der, _) = rig.secret_request(&SecretAsk::default(), |_| {});
    assert!(rig.post(&der).all_succeeded());
    assert_eq!(rig.issued().len(), 1);
}

/// Names are checked when a request is held, not only when an agent
/// approves it: a secret registered for other names is refused at once
/// (nothing held, the secret unspent).
#[test]
fn names_are_checked_before_a_request_is_held() {
    let rig = Rig::profiles(HELD);
    rig.add_secret(
        "alice",
        None,
        Some(attack_support::names(Some("CN=someone-else"), &[])),
    );
    let (der, _) = rig.secret_request(&SecretAsk::default(), |_| {});
    assert_eq!(
        rig.refused(&rig.post(&der)),
        (CmcFailInfo::BadRequest, vec![SECRET_REQUEST_ID])
    );
    assert_eq!(rig.pending_count(), 0);
    assert_eq!(rig.secret("alice").used_at, None);
}

/// A request held while its secret was good is approved after the secret
/// expired: the agent's decision stands.
#[test]
fn a_held_request_is_approved_after_its_secret_expired() {
    let rig = Rig::profiles(HELD);
    rig.add_secret("alice", None, None);
    let (der, _) = rig.secret_request(&SecretAsk::default(), |_| {});
    let token = pend_token(&rig, &rig.post(&der));
    rig.env.clock.advance(2 * 86_400);
    assert!(rig.secret("alice").expires_at <= rig.now());
    let issued = rig
        .engine
        .approve_pending(&token, "agent:test", &cmc_ca::Approval::default())
        .unwrap();
    assert_eq!(
        issued.certificate.tbs_certificate().subject().to_string(),
        "CN=alice.example.test"
    );
    assert_eq!(rig.issued().len(), 1);
}
