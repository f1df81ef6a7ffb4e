//! CMC request handling (`CmcFrontDoor::handle_full`, `CmcFrontDoor::handle_simple`):
//! the BouncyCastle peer requests of `testdata/peers/` (signer registered as
//! an RA, clock at their signingTime), requests built with our own client,
//! and every message-level and per-part failure, each checked on the signed
//! response (with our codec and OpenSSL) and on the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proto_cmc::{CERTS_ONLY_CONTENT_TYPE, CmcFrontDoor, CmcReply, NotCmc, Transport};
use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::{
    BodyPartId, CertTemplate, CmcFailInfo, CmcStatus, DataReturn, RecipientNonce, RegInfo,
    ResponseInfo, RevokeRequest, SenderNonce, TaggedAttribute, TransactionId, oid,
};
use cmc_ca::Clock;
use cmc_ca::config::CaSettings;
use cmc_ca::{CLIENT_CREDENTIAL_PROFILE, ClientCredentialRequest, Engine, EngineConfig, LoadedCa};
use cmc_codec::{
    CmsSigner, FullRequest, RequestBuilder, VerifiedResponse, VerifyOptions, build_crmf, build_csr,
    decode_certs_only, decode_full_request,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_store::{
    AuditFilter, AuditKind, CertFilter, CertStatus, ClientRole, Grant, NewClient, PageRequest,
    Scope, UnixTime,
};
use common::{Env, ids, openssl, p, single_failure, statuses, verify};
use der::asn1::{Int, OctetString};
use der::{Decode, DecodePem, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

const PKCS10: &str = "pkcs11_ca/test_cmc_pkcs10_req.der";
const PKCS10_BAD_SIG: &str = "pkcs11_ca/test_cmc_pkcs10_req_bad_signature.der";
const CRMF: &str = "pkcs11_ca/test_cmc_crmf_req.der";
const CRMF_SUNET: &str = "python_cmc/test_cmc_request_list_0_crmf.der";
const REVOKE: &str = "python_cmc/test_cmc_request_list_3_revoke.der";

/// signingTimes of the peer requests (peers/README.md).
const PKCS10_TIME: i64 = 1_675_117_123; // 2023-01-30T22:18:43Z
const CRMF_TIME: i64 = 1_673_440_362; // 2023-01-11T12:32:42Z
const CRMF_SUNET_TIME: i64 = 1_675_095_102; // 2023-01-30T16:11:42Z
/// 2023-01-01: the peer test CA is created then, valid for ten years.
const JAN_2023: i64 = 1_672_531_200;

fn read(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/peers/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn peer_signer() -> Vec<u8> {
    Certificate::from_pem(read("pkcs11_ca/config_CMC_REQUEST_CERTS_0.pem"))
        .unwrap()
        .to_der()
        .unwrap()
}

fn any_grant() -> Vec<Grant> {
    vec![Grant {
        ca: Scope::Any,
        profile: Scope::Any,
    }]
}

/// An environment whose clock is at 2023-01-01 with a P-256 CA "ca",
/// and, if `register`, the peer signer registered as an RA.
fn peer_env(register: bool) -> (Env, Arc<LoadedCa>) {
    let env = Env::new();
    env.clock.set(UnixTime::from_secs(JAN_2023));
    let ca = env.create("ca", KeySpec::P256, P256, None, 3650);
    if register {
        register_peer_signer(&env);
    }
    (env, ca)
}

/// Registers the peer requests' signer as an RA of every CA.
fn register_peer_signer(env: &Env) {
    env.store
        .add_client(
            &NewClient {
                id: "bc-ra".into(),
                cert_der: peer_signer(),
                subject: cmc_ca::x509::client_subject(&peer_signer()).unwrap(),
                names: None,
                role: ClientRole::Ra,
                grants: any_grant(),
                expires_at: None,
                mac: None,
            },
            env.clock.now(),
        )
        .unwrap();
}

/// Certificates issued through CMC (not client credentials), any state but
/// failed.
fn issued(env: &Env) -> Vec<cmc_store::CertRecord> {
    env.store
        .list_certs(
            &CertFilter {
                issuer: Some("ca".into()),
                ..CertFilter::default()
            },
            PageRequest::first(1000),
        )
        .unwrap()
        .items
        .into_iter()
        .filter(|r| r.profile != CLIENT_CREDENTIAL_PROFILE)
        .filter(|r| r.status() != CertStatus::Failed)
        .collect()
}

fn sender_nonce_of(request: &[u8]) -> Vec<u8> {
    let FullRequest::Signed(r) = decode_full_request(
        request,
        &VerifyOptions::new(UnixTime::from_secs(PKCS10_TIME).to_system_time()),
    )
    .unwrap() else {
        panic!("signed")
    };
    r.pki_data.controls_of::<SenderNonce>().unwrap()[0]
        .1
        .0
        .as_bytes()
        .to_vec()
}

fn recipient_nonce(resp: &VerifiedResponse) -> Vec<u8> {
    let (_, n) = resp
        .pki_response
        .unique_control::<RecipientNonce>()
        .unwrap()
        .expect("recipientNonce");
    n.0.as_bytes().to_vec()
}

#[test]
fn peer_requests_are_issued_and_the_responses_verify() {
    let (env, ca) = peer_env(true);
    let ca_pem = env.write_cert("ca.pem", ca.certificate_der());
    for (n, (name, time)) in [
        (PKCS10, PKCS10_TIME),
        (CRMF, CRMF_TIME),
        (CRMF_SUNET, CRMF_SUNET_TIME),
    ]
    .into_iter()
    .enumerate()
    {
        let at = UnixTime::from_secs(time);
        env.clock.set(at);
        let request = read(name);
        let reply = env
            .engine
            .handle_full("ca", &request, &Transport::default())
            .unwrap();
        assert!(reply.all_succeeded(), "{name}: {:?}", reply.statuses);
        assert_eq!(reply.issued, 1, "{name}");
        let resp = verify(&reply, &ca, at);
        assert_eq!(resp.signer.signing_time(), Some(at.to_system_time()));

        // One statusInfoV2, success, naming the request's body part.
        let FullRequest::Signed(req) =
            decode_full_request(&request, &VerifyOptions::new(at.to_system_time())).unwrap()
        else {
            panic!("signed")
        };
        let request_id = req.pki_data.req_sequence[0].body_part_id().unwrap();
        let s = statuses(&resp);
        assert_eq!(s.len(), 1, "{name}: {s:?}");
        assert_eq!(s[0].status, CmcStatus::Success);
        assert_eq!(ids(&s[0].body_list), [request_id], "{name}");

        // Nonces: ours is fresh, theirs comes back as recipientNonce.
        assert_eq!(recipient_nonce(&resp), sender_nonce_of(&request), "{name}");
        let (_, ours) = resp
            .pki_response
            .unique_control::<SenderNonce>()
            .unwrap()
            .unwrap();
        assert!(ours.0.as_bytes().len() >= 16);
        // regInfo comes back as responseInfo, byte for byte.
        let (_, reg) = req.pki_data.unique_control::<RegInfo>().unwrap().unwrap();
        let (_, info) = resp
            .pki_response
            .unique_control::<ResponseInfo>()
            .unwrap()
            .unwrap();
        assert_eq!(info.0, reg.0, "{name}");

        // The issued certificate is in the response and verifies under the
        // CA, with OpenSSL too (at the request's time).
        let leaf = resp.issued_by(ca.certificate());
        assert_eq!(leaf.len(), 1, "{name}");
        let leaf_pem = env.write_cert(&format!("leaf{n}.pem"), &leaf[0].to_der().unwrap());
        let out = openssl(&[
            "verify",
            "-attime",
            &time.to_string(),
            "-CAfile",
            p(&ca_pem),
            p(&leaf_pem),
        ]);
        assert!(out.contains(": OK"), "{name}: {out}");
        // And OpenSSL accepts the response's CMS signature.
        let resp_path = env.write_der(&format!("resp{n}.der"), &reply.der);
        openssl(&[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            p(&resp_path),
            "-CAfile",
            p(&ca_pem),
            "-purpose",
            "any",
            "-attime",
            &time.to_string(),
            "-out",
            "/dev/null",
        ]);
        assert_eq!(issued(&env).len(), n + 1, "{name}");
    }
}

#[test]
fn a_revoke_request_for_a_serial_never_issued_is_bad_cert_id() {
    let (env, ca) = peer_env(true);
    let request = read(REVOKE);
    let FullRequest::Signed(req) = decode_full_request(
        &request,
        &VerifyOptions::new(UnixTime::from_secs(PKCS10_TIME).to_system_time()),
    )
    .unwrap() else {
        panic!("signed")
    };
    let at = UnixTime::from_system_time(req.signer().signing_time().unwrap());
    env.clock.set(at);
    let reply = env
        .engine
        .handle_full("ca", &request, &Transport::default())
        .unwrap();
    let resp = verify(&reply, &ca, at);
    assert_eq!(
        single_failure(&resp),
        (CmcFailInfo::BadCertId, vec![0x217D_FD6D])
    );
    assert_eq!(reply.fail_infos(), [CmcFailInfo::BadCertId]);
    assert!(issued(&env).is_empty());
    assert!(env.store.list_revoked("ca").unwrap().is_empty());
}

#[test]
fn a_bad_signature_is_bad_message_check_for_the_whole_message() {
    let (env, ca) = peer_env(true);
    let at = UnixTime::from_secs(PKCS10_TIME);
    env.clock.set(at);
    let request = read(PKCS10_BAD_SIG);
    let reply = env
        .engine
        .handle_full("ca", &request, &Transport::default())
        .unwrap();
    let resp = verify(&reply, &ca, at);
    assert_eq!(
        single_failure(&resp),
        (CmcFailInfo::BadMessageCheck, vec![0])
    );
    let refused = env
        .store
        .list_audit(
            &AuditFilter {
                kind: Some(AuditKind::Refused),
                ..AuditFilter::default()
            },
            PageRequest::first(10),
        )
        .unwrap()
        .items;
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].event.detail.contains("badMessageCheck"),
        "{:?}",
        refused[0].event
    );
    // The nonce is still echoed, so the client can match the answer.
    assert_eq!(recipient_nonce(&resp), sender_nonce_of(&read(PKCS10)));
    assert!(issued(&env).is_empty());
    assert_eq!(reply.issued, 0);
}

#[test]
fn a_replayed_request_is_bad_request() {
    let (env, ca) = peer_env(true);
    let at = UnixTime::from_secs(PKCS10_TIME);
    env.clock.set(at);
    let request = read(PKCS10);
    let first = env
        .engine
        .handle_full("ca", &request, &Transport::default())
        .unwrap();
    assert!(first.all_succeeded());
    env.clock.advance(5);
    let again = env
        .engine
        .handle_full("ca", &request, &Transport::default())
        .unwrap();
    let resp = verify(&again, &ca, env.clock.now());
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadRequest, vec![0]));
    assert_eq!(issued(&env).len(), 1);
}

#[test]
fn two_copies_of_one_request_racing_issue_once() {
    let (env, ca) = peer_env(true);
    env.clock.set(UnixTime::from_secs(PKCS10_TIME));
    let request = read(PKCS10);
    let start = std::sync::Barrier::new(2);
    let replies: Vec<CmcReply> = std::thread::scope(|s| {
        let copies: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    env.engine
                        .handle_full("ca", &request, &Transport::default())
                        .unwrap()
                })
            })
            .collect();
        copies.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let succeeded = replies.iter().filter(|r| r.all_succeeded()).count();
    assert_eq!(succeeded, 1);
    let refused = replies.iter().find(|r| !r.all_succeeded()).unwrap();
    let resp = verify(refused, &ca, env.clock.now());
    // Refused as a whole (bodyList empty: the message), whichever check
    // caught it: the early read or the commit of the certificate's unit.
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadRequest, vec![0]));
    assert_eq!(issued(&env).len(), 1);
    // The refused copy left an audit event, and only one issuance event
    // exists.
    let events = env
        .store
        .list_audit(&AuditFilter::default(), PageRequest::first(100))
        .unwrap()
        .items;
    let issued_events = events
        .iter()
        .filter(|e| e.event.kind == AuditKind::Issued)
        .count();
    assert_eq!(issued_events, 1, "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == AuditKind::Refused && e.event.detail.contains("replayed")),
        "{events:?}"
    );
}

#[test]
fn a_signing_time_outside_the_window_is_bad_time() {
    let (env, ca) = peer_env(true);
    for offset in [301, -301] {
        let at = UnixTime::from_secs(PKCS10_TIME + offset);
        env.clock.set(at);
        let reply = env
            .engine
            .handle_full("ca", &read(PKCS10), &Transport::default())
            .unwrap();
        let resp = verify(&reply, &ca, at);
        assert_eq!(
            single_failure(&resp),
            (CmcFailInfo::BadTime, vec![0]),
            "{offset}"
        );
    }
    assert!(issued(&env).is_empty());
    // Inside the window (300 s by default) it is accepted, once.
    env.clock.set(UnixTime::from_secs(PKCS10_TIME + 299));
    let reply = env
        .engine
        .handle_full("ca", &read(PKCS10), &Transport::default())
        .unwrap();
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
}

#[test]
fn an_expired_signer_certificate_is_bad_time() {
    let (env, ca) = peer_env(true);
    // 2026-11-01: the peer signer expired on 2026-10-29.
    let at = UnixTime::from_secs(1_793_491_200);
    env.clock.set(at);
    let reply = env
        .engine
        .handle_full("ca", &read(PKCS10), &Transport::default())
        .unwrap();
    let resp = verify(&reply, &ca, at);
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadTime, vec![0]));
    assert!(issued(&env).is_empty());
}

#[test]
fn signers_that_are_not_active_clients_are_bad_identity() {
    let at = UnixTime::from_secs(PKCS10_TIME);
    let check = |env: &Env, ca: &LoadedCa, transport: &Transport| {
        let reply = env
            .engine
            .handle_full("ca", &read(PKCS10), transport)
            .unwrap();
        let resp = verify(&reply, ca, env.clock.now());
        assert_eq!(single_failure(&resp), (CmcFailInfo::BadIdentity, vec![0]));
        assert!(issued(env).is_empty());
        let last = env
            .store
            .list_audit(
                &AuditFilter {
                    kind: Some(AuditKind::Refused),
                    ..AuditFilter::default()
                },
                PageRequest::first(100),
            )
            .unwrap()
            .items
            .pop()
            .expect("an audit event of the refusal")
            .event;
        assert!(last.detail.contains("badIdentity"), "{last:?}");
        assert!(
            last.requester
                .as_deref()
                .unwrap()
                .contains("Test CMC Client"),
            "{last:?}"
        );
    };

    // Not registered at all.
    let (env, ca) = peer_env(false);
    env.clock.set(at);
    check(&env, &ca, &Transport::default());

    // Registered, then disabled.
    let (env, ca) = peer_env(true);
    env.clock.set(at);
    env.store.disable_client("bc-ra", at).unwrap();
    check(&env, &ca, &Transport::default());

    // A registration that expires a minute after the request was signed;
    // two minutes later (still inside the signingTime window) it is over.
    let (env, ca) = peer_env(false);
    env.store
        .add_client(
            &NewClient {
                id: "bc-ra".into(),
                cert_der: peer_signer(),
                subject: cmc_ca::x509::client_subject(&peer_signer()).unwrap(),
                names: None,
                role: ClientRole::Ra,
                grants: any_grant(),
                expires_at: Some(at.plus_secs(60)),
                mac: None,
            },
            UnixTime::from_secs(JAN_2023),
        )
        .unwrap();
    env.clock.set(at.plus_secs(120));
    check(&env, &ca, &Transport::default());

    // Registered for another CA only.
    let (env, ca) = peer_env(false);
    env.store
        .add_client(
            &NewClient {
                id: "bc-ra".into(),
                cert_der: peer_signer(),
                subject: cmc_ca::x509::client_subject(&peer_signer()).unwrap(),
                names: None,
                role: ClientRole::Ra,
                grants: vec![Grant {
                    ca: Scope::Named("other".into()),
                    profile: Scope::Any,
                }],
                expires_at: None,
                mac: None,
            },
            UnixTime::from_secs(JAN_2023),
        )
        .unwrap();
    env.clock.set(at);
    check(&env, &ca, &Transport::default());

    // Registered, but the TLS client certificate is someone else's.
    let (env, ca) = peer_env(true);
    env.clock.set(at);
    check(
        &env,
        &ca,
        &Transport {
            tls_client_cert: Some(ca.certificate_der().to_vec()),
            peer: None,
        },
    );
}

/// Our own RA: a key, and a client credential from the CA.
fn own_ra(env: &Env, role: ClientRole) -> (FileKey, Certificate) {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let cred = env
        .engine
        .issue_client_credential(&ClientCredentialRequest {
            names: None,
            ca: "ca".into(),
            client_id: format!("own-{role}"),
            subject: format!("CN=own {role}"),
            public_key: key.public_key().clone(),
            role,
            grants: any_grant(),
            validity_days: 30,
            requester: "test-admin".into(),
            mac: None,
        })
        .unwrap();
    (key, Certificate::from_der(&cred.certificate_der).unwrap())
}

fn csr(subject: &str) -> x509_cert::request::CertReq {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    build_csr(&key, Name::from_str(subject).unwrap(), Vec::new()).unwrap()
}

fn now_env() -> (Env, Arc<LoadedCa>) {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    (env, ca)
}

fn send(env: &Env, builder: &RequestBuilder, key: &FileKey, cert: &Certificate) -> CmcReply {
    let signer = CmsSigner::new(key, cert, &[]).unwrap();
    let der = builder
        .sign(&signer, env.clock.now().to_system_time())
        .unwrap();
    env.engine
        .handle_full("ca", &der, &Transport::default())
        .unwrap()
}

#[test]
fn each_request_gets_its_own_status_and_a_broken_pop_fails_only_itself() {
    let (env, ca) = now_env();
    let (ra_key, ra_cert) = own_ra(&env, ClientRole::Ra);
    let mut broken = csr("CN=broken.example.test");
    broken.info.subject = Name::from_str("CN=someone else").unwrap();
    let crmf_key = FileKey::generate(KeySpec::P256).unwrap();
    let template = CertTemplate {
        subject: Some(Name::from_str("CN=crmf.example.test").unwrap()),
        ..CertTemplate::default()
    };
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new([7u8; 32]).unwrap()))
        .unwrap()
        .control(2, &TransactionId(Int::new(&[0x2a]).unwrap()))
        .unwrap()
        .control(
            3,
            &DataReturn(OctetString::new(*b"give this back").unwrap()),
        )
        .unwrap()
        .pkcs10(10, csr("CN=first.example.test"))
        .unwrap()
        .pkcs10(11, broken)
        .unwrap()
        .crmf(build_crmf(&crmf_key, 12, template).unwrap())
        .unwrap();
    let reply = send(&env, &b, &ra_key, &ra_cert);
    let resp = verify(&reply, &ca, env.clock.now());
    let s = statuses(&resp);
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(s[0].status, CmcStatus::Success);
    assert_eq!(ids(&s[0].body_list), [10, 12]);
    assert_eq!(s[0].fail_info, None);
    assert_eq!(s[1].status, CmcStatus::Failed);
    assert_eq!(ids(&s[1].body_list), [11]);
    assert_eq!(s[1].fail_info, Some(CmcFailInfo::PopFailed));
    assert_eq!(reply.issued, 2);
    assert_eq!(resp.issued_by(ca.certificate()).len(), 2);
    let stored = issued(&env);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|r| r.requester == "own-ra"));
    // Echoes.
    assert_eq!(recipient_nonce(&resp), [7u8; 32]);
    let (_, t) = resp
        .pki_response
        .unique_control::<TransactionId>()
        .unwrap()
        .unwrap();
    assert_eq!(t.0.as_bytes(), [0x2a]);
    let (_, d) = resp
        .pki_response
        .unique_control::<DataReturn>()
        .unwrap()
        .unwrap();
    assert_eq!(d.0.as_bytes(), b"give this back");

    // The same transactionId may come again (a later round), with a new
    // nonce.
    let mut again = RequestBuilder::new();
    again
        .control(1, &SenderNonce(OctetString::new([8u8; 32]).unwrap()))
        .unwrap()
        .control(2, &TransactionId(Int::new(&[0x2a]).unwrap()))
        .unwrap()
        .pkcs10(10, csr("CN=second.example.test"))
        .unwrap();
    assert!(send(&env, &again, &ra_key, &ra_cert).all_succeeded());
    assert_eq!(issued(&env).len(), 3);
}

#[test]
fn pop_rules_depend_on_the_role() {
    let (env, ca) = now_env();
    let (client_key, client_cert) = own_ra(&env, ClientRole::Client);
    // An end entity may not send a CRMF request without POPO, even with an
    // lraPOPWitness naming it.
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut crm = build_crmf(
        &key,
        21,
        CertTemplate {
            subject: Some(Name::from_str("CN=nopop.example.test").unwrap()),
            ..CertTemplate::default()
        },
    )
    .unwrap();
    crm.popo = None;
    let mut b = RequestBuilder::new();
    b.control(
        1,
        &cmc_asn1::LraPopWitness {
            pki_data_bodyid: 99,
            body_ids: vec![21],
        },
    )
    .unwrap()
    .pkcs10(20, csr("CN=own.example.test"))
    .unwrap()
    .crmf(crm.clone())
    .unwrap();
    let reply = send(&env, &b, &client_key, &client_cert);
    let s = statuses(&verify(&reply, &ca, env.clock.now()));
    assert_eq!(ids(&s[0].body_list), [20]);
    assert_eq!(s[0].status, CmcStatus::Success);
    assert_eq!(ids(&s[1].body_list), [21]);
    assert_eq!(s[1].fail_info, Some(CmcFailInfo::PopFailed));
    assert_eq!(issued(&env).len(), 1);

    // From an RA, the witnessed request passes; one it does not name fails.
    let (ra_key, ra_cert) = own_ra(&env, ClientRole::Ra);
    let mut unwitnessed = crm.clone();
    unwitnessed.cert_req =
        cmc_asn1::CertRequest::new(22, crm.cert_req.cert_template.clone()).unwrap();
    let mut b = RequestBuilder::new();
    b.control(
        1,
        &cmc_asn1::LraPopWitness {
            pki_data_bodyid: 99,
            body_ids: vec![21],
        },
    )
    .unwrap()
    .crmf(crm)
    .unwrap()
    .crmf(unwitnessed)
    .unwrap();
    let reply = send(&env, &b, &ra_key, &ra_cert);
    let s = statuses(&verify(&reply, &ca, env.clock.now()));
    assert_eq!(
        (s[0].status, ids(&s[0].body_list)),
        (CmcStatus::Success, vec![21])
    );
    assert_eq!(
        (s[1].fail_info, ids(&s[1].body_list)),
        (Some(CmcFailInfo::PopFailed), vec![22])
    );
    assert_eq!(issued(&env).len(), 2);

    // An agent requests on behalf of another subject (Dogtag's
    // agent-approved flow), with the subject's own POP; vouching for a POP
    // (lraPOPWitness) stays an RA's.
    let (agent_key, agent_cert) = own_ra(&env, ClientRole::Agent);
    let mut b = RequestBuilder::new();
    b.pkcs10(30, csr("CN=someone.example.test")).unwrap();
    let reply = send(&env, &b, &agent_key, &agent_cert);
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let record = issued(&env).pop().unwrap();
    assert_eq!(record.requester, "own-agent");
    assert_eq!(issued(&env).len(), 3);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut vouched = build_crmf(
        &key,
        40,
        CertTemplate {
            subject: Some(Name::from_str("CN=vouched.example.test").unwrap()),
            ..CertTemplate::default()
        },
    )
    .unwrap();
    vouched.popo = None;
    let mut b = RequestBuilder::new();
    b.control(
        1,
        &cmc_asn1::LraPopWitness {
            pki_data_bodyid: 99,
            body_ids: vec![40],
        },
    )
    .unwrap()
    .crmf(vouched)
    .unwrap();
    let reply = send(&env, &b, &agent_key, &agent_cert);
    let resp = verify(&reply, &ca, env.clock.now());
    assert_eq!(single_failure(&resp), (CmcFailInfo::PopFailed, vec![40]));
    assert_eq!(issued(&env).len(), 3);
}

#[test]
fn unknown_controls_fail_the_request_naming_them() {
    let (env, ca) = now_env();
    let (key, cert) = own_ra(&env, ClientRole::Ra);
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new([1u8; 16]).unwrap()))
        .unwrap()
        .tagged_attribute(
            TaggedAttribute::new(
                77,
                oid::ID_CMC_ENCRYPTED_POP,
                &OctetString::new(*b"token").unwrap(),
            )
            .unwrap(),
        )
        .unwrap()
        .pkcs10(10, csr("CN=x.example.test"))
        .unwrap();
    let reply = send(&env, &b, &key, &cert);
    let resp = verify(&reply, &ca, env.clock.now());
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadRequest, vec![77]));
    assert!(issued(&env).is_empty());
}

#[test]
fn not_cms_too_large_and_unknown_ca_are_not_cmc() {
    let (env, _ca) = now_env();
    let t = Transport::default();
    let e = env.engine.handle_full("ca", b"hello", &t).unwrap_err();
    assert!(matches!(e, NotCmc::Malformed(_)), "{e:?}");
    assert_eq!(e.http_status(), 400);
    let e = env
        .engine
        .handle_full("ca", &vec![0x30; 2 << 20], &t)
        .unwrap_err();
    assert_eq!(e.http_status(), 413, "{e:?}");
    let e = env
        .engine
        .handle_full("nope", &read(PKCS10), &t)
        .unwrap_err();
    assert_eq!(e, NotCmc::UnknownCa("nope".into()));
    assert_eq!(e.http_status(), 404);
    assert!(issued(&env).is_empty());
}

#[test]
fn simple_pki_requests() {
    let (env, ca) = now_env();
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let csr = build_csr(
        &key,
        Name::from_str("CN=simple.example.test").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let body = csr.to_der().unwrap();
    // Off by default.
    let e = env
        .engine
        .handle_simple("ca", &body, &Transport::default())
        .unwrap_err();
    assert_eq!(e, NotCmc::SimpleRequestsNotAllowed("ca".into()));
    assert_eq!(e.http_status(), 403);
    assert!(issued(&env).is_empty());

    let config = EngineConfig {
        cas: [(
            "ca".to_owned(),
            CaSettings {
                allow_simple_requests: true,
                ..CaSettings::default()
            },
        )]
        .into_iter()
        .collect(),
        ..EngineConfig::default()
    };
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let reply = engine
        .handle_simple("ca", &body, &Transport::default())
        .unwrap();
    assert_eq!(reply.content_type, CERTS_ONLY_CONTENT_TYPE);
    let certs = decode_certs_only(&reply.der, &cmc_codec::Limits::default()).unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(&certs[1], ca.certificate());
    assert_eq!(
        certs[0].tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
    let ca_pem = env.write_cert("ca.pem", ca.certificate_der());
    let leaf_pem = env.write_cert("leaf.pem", &certs[0].to_der().unwrap());
    openssl(&["verify", "-CAfile", p(&ca_pem), p(&leaf_pem)]);
    assert_eq!(issued(&env).len(), 1);

    // A broken self-signature: a signed Full PKI Response with popFailed.
    let mut bad = csr.clone();
    bad.info.subject = Name::from_str("CN=other.example.test").unwrap();
    let reply = engine
        .handle_simple("ca", &bad.to_der().unwrap(), &Transport::default())
        .unwrap();
    let resp = verify(&reply, &ca, env.clock.now());
    // RFC 5272 §6.1.1: bodyList 1, the Simple PKI Request itself.
    assert_eq!(single_failure(&resp), (CmcFailInfo::PopFailed, vec![1]));
    // Not PKCS #10 at all: HTTP 400.
    let e = engine
        .handle_simple("ca", b"junk", &Transport::default())
        .unwrap_err();
    assert_eq!(e.http_status(), 400);
    assert_eq!(issued(&env).len(), 1);
}

#[test]
fn revoke_requests_from_an_ra_revoke_what_this_ca_issued() {
    let (env, ca) = now_env();
    let (ra_key, ra_cert) = own_ra(&env, ClientRole::Ra);
    let mut b = RequestBuilder::new();
    b.pkcs10(10, csr("CN=doomed.example.test")).unwrap();
    let resp = verify(&send(&env, &b, &ra_key, &ra_cert), &ca, env.clock.now());
    let leaf = resp.issued_by(ca.certificate())[0].clone();
    let revoke = |issuer: Name| RevokeRequest {
        issuer_name: issuer,
        serial_number: leaf.tbs_certificate().serial_number().clone(),
        reason: CrlReason::KeyCompromise,
        invalidity_date: None,
        passphrase: None,
        comment: Some("lost laptop".into()),
    };

    // An end entity may not revoke.
    let (client_key, client_cert) = own_ra(&env, ClientRole::Client);
    let mut b = RequestBuilder::new();
    b.control(40, &revoke(ca.subject().clone())).unwrap();
    let resp = verify(
        &send(&env, &b, &client_key, &client_cert),
        &ca,
        env.clock.now(),
    );
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadRequest, vec![40]));
    assert!(env.store.list_revoked("ca").unwrap().is_empty());

    // The RA may; the same serial under another issuer name is badCertId.
    env.clock.advance(1);
    let mut b = RequestBuilder::new();
    b.control(40, &revoke(ca.subject().clone()))
        .unwrap()
        .control(41, &revoke(Name::from_str("CN=someone else").unwrap()))
        .unwrap();
    let reply = send(&env, &b, &ra_key, &ra_cert);
    let s = statuses(&verify(&reply, &ca, env.clock.now()));
    assert_eq!(
        (s[0].status, ids(&s[0].body_list)),
        (CmcStatus::Success, vec![40])
    );
    assert_eq!(
        (s[1].fail_info, ids(&s[1].body_list)),
        (Some(CmcFailInfo::BadCertId), vec![41])
    );
    let revoked = env.store.list_revoked("ca").unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        revoked[0].revocation.reason,
        cmc_store::RevocationReason::KeyCompromise
    );
    assert_eq!(reply.issued, 0);
}

#[test]
fn too_many_requests_in_one_pki_data_are_bad_request() {
    let (env, ca) = now_env();
    let (key, cert) = own_ra(&env, ClientRole::Ra);
    let mut config = EngineConfig::default();
    config.requests.max_requests_per_pki_data = 2;
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let mut b = RequestBuilder::new();
    for id in 10..13 {
        b.pkcs10(id, csr("CN=many.example.test")).unwrap();
    }
    let der = b
        .sign(
            &CmsSigner::new(&key, &cert, &[]).unwrap(),
            env.clock.now().to_system_time(),
        )
        .unwrap();
    let reply = engine
        .handle_full("ca", &der, &Transport::default())
        .unwrap();
    let resp = verify(&reply, &ca, env.clock.now());
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadRequest, vec![0]));
    assert!(issued(&env).is_empty());
}

#[test]
fn get_cert_and_get_crl_return_what_this_ca_has() {
    use cmc_asn1::{GetCert, GetCrl};
    use x509_cert::ext::pkix::name::GeneralName;

    let (env, ca) = now_env();
    let (ra_key, ra_cert) = own_ra(&env, ClientRole::Ra);
    let mut b = RequestBuilder::new();
    b.pkcs10(10, csr("CN=fetched.example.test")).unwrap();
    let resp = verify(&send(&env, &b, &ra_key, &ra_cert), &ca, env.clock.now());
    let leaf = resp.issued_by(ca.certificate())[0].clone();
    let serial = leaf.tbs_certificate().serial_number().clone();
    env.engine
        .revoke(
            "ca",
            &cmc_ca::x509::store_serial(&serial).unwrap(),
            cmc_store::RevocationReason::Superseded,
            None,
            "test-admin",
        )
        .unwrap();

    let get = |issuer: Name, serial| GetCert {
        issuer_name: GeneralName::DirectoryName(issuer),
        serial_number: serial,
    };
    let mut other_serial = serial.as_bytes().to_vec();
    other_serial[1] ^= 0x55;
    env.clock.advance(1);
    let mut b = RequestBuilder::new();
    b.control(20, &get(ca.subject().clone(), serial.clone()))
        .unwrap()
        .control(
            21,
            &get(
                ca.subject().clone(),
                x509_cert::serial_number::SerialNumber::new(&other_serial).unwrap(),
            ),
        )
        .unwrap()
        .control(22, &get(Name::from_str("CN=someone else").unwrap(), serial))
        .unwrap()
        .control(
            23,
            &GetCrl {
                issuer_name: ca.subject().clone(),
                crl_name: None,
                time: None,
                reasons: None,
            },
        )
        .unwrap()
        .control(
            24,
            &GetCrl {
                issuer_name: Name::from_str("CN=someone else").unwrap(),
                crl_name: None,
                time: None,
                reasons: None,
            },
        )
        .unwrap();
    let reply = send(&env, &b, &ra_key, &ra_cert);
    assert_eq!(reply.issued, 0);
    let resp = verify(&reply, &ca, env.clock.now());
    let s = statuses(&resp);
    assert_eq!(s.len(), 4, "{s:?}");
    assert_eq!(
        (s[0].status, ids(&s[0].body_list)),
        (CmcStatus::Success, vec![20, 23])
    );
    assert_eq!(
        (s[1].fail_info, ids(&s[1].body_list)),
        (Some(CmcFailInfo::BadCertId), vec![21])
    );
    assert_eq!(
        (s[2].fail_info, ids(&s[2].body_list)),
        (Some(CmcFailInfo::BadCertId), vec![22])
    );
    assert_eq!(
        (s[3].fail_info, ids(&s[3].body_list)),
        (Some(CmcFailInfo::BadRequest), vec![24])
    );
    // The certificate asked for travels in `certificates` (revoked or not).
    assert!(resp.certificates.contains(&leaf));
    // The CRL in `crls`, listing the revoked serial, and OpenSSL agrees.
    let crls = resp.signed_data.crls.as_ref().expect("a crls field");
    assert_eq!(crls.0.len(), 1);
    let crl = match crls.0.get(0).unwrap() {
        cms::revocation::RevocationInfoChoice::Crl(c) => c.clone(),
        other => panic!("{other:?}"),
    };
    let listed: Vec<_> = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| r.serial_number.clone())
        .collect();
    assert_eq!(listed, [leaf.tbs_certificate().serial_number().clone()]);
    let crl_file = env.write_der("get.crl", &crl.to_der().unwrap());
    let ca_pem = env.write_cert("ca.pem", ca.certificate_der());
    let out = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        p(&crl_file),
        "-CAfile",
        p(&ca_pem),
        "-noout",
    ]);
    assert!(out.contains("verify OK"), "{out}");
}

/// A certificate for a key the test holds, enrolled by `ra`.
fn enrolled(
    env: &Env,
    ca: &LoadedCa,
    ra: &(FileKey, Certificate),
    subject: &str,
) -> (FileKey, Certificate) {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut b = RequestBuilder::new();
    b.pkcs10(
        1,
        build_csr(&key, Name::from_str(subject).unwrap(), Vec::new()).unwrap(),
    )
    .unwrap();
    let resp = verify(&send(env, &b, &ra.0, &ra.1), ca, env.clock.now());
    let cert = resp.issued_by(ca.certificate())[0].clone();
    env.clock.advance(1);
    (key, cert)
}

fn revoke_of(ca: &LoadedCa, cert: &Certificate, reason: CrlReason) -> RevokeRequest {
    RevokeRequest {
        issuer_name: ca.subject().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
        reason,
        invalidity_date: None,
        passphrase: None,
        comment: None,
    }
}

#[test]
fn holders_revoke_their_own_certificates_only() {
    let (env, ca) = now_env();
    let ra = own_ra(&env, ClientRole::Ra);
    let (key, mine) = enrolled(&env, &ca, &ra, "CN=holder.example.test");
    let (_, twin) = enrolled(&env, &ca, &ra, "CN=holder.example.test");
    let (_, other) = enrolled(&env, &ca, &ra, "CN=other.example.test");

    // Another subject's certificate: refused, nothing revoked. A
    // certification request from a holder for another subject is
    // badIdentity for that part (a renewal keeps the subject).
    let mut b = RequestBuilder::new();
    b.control(30, &revoke_of(&ca, &other, CrlReason::KeyCompromise))
        .unwrap()
        .pkcs10(31, csr("CN=someone-else.example.test"))
        .unwrap();
    let reply = send(&env, &b, &key, &mine);
    let s = statuses(&verify(&reply, &ca, env.clock.now()));
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(s.iter().all(|s| s.status == CmcStatus::Failed), "{s:?}");
    let failed: Vec<_> = s.iter().map(|s| (s.fail_info, ids(&s.body_list))).collect();
    assert!(
        failed.contains(&(Some(CmcFailInfo::BadIdentity), vec![31])),
        "{failed:?}"
    );
    assert!(
        failed.contains(&(Some(CmcFailInfo::BadRequest), vec![30])),
        "{failed:?}"
    );
    assert_eq!(reply.issued, 0);
    assert!(env.store.list_revoked("ca").unwrap().is_empty());

    // Another certificate with the same subject is not the holder's: a
    // subject binds nobody (issue 13, attack 4). Its own certificate is.
    env.clock.advance(1);
    let mut b = RequestBuilder::new();
    b.control(40, &revoke_of(&ca, &twin, CrlReason::Superseded))
        .unwrap()
        .control(41, &revoke_of(&ca, &mine, CrlReason::KeyCompromise))
        .unwrap();
    let s = statuses(&verify(&send(&env, &b, &key, &mine), &ca, env.clock.now()));
    assert_eq!(
        (s[0].status, ids(&s[0].body_list)),
        (CmcStatus::Success, vec![41])
    );
    assert_eq!(
        (s[1].status, s[1].fail_info, ids(&s[1].body_list)),
        (CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![40])
    );
    let revoked = env.store.list_revoked("ca").unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        revoked[0].serial.to_der_content(),
        mine.tbs_certificate().serial_number().as_bytes()
    );
    let audit = env
        .store
        .list_audit(&AuditFilter::default(), PageRequest::default())
        .unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.event.kind == AuditKind::Revoked
                && e.event
                    .requester
                    .as_deref()
                    .is_some_and(|r| r.starts_with("holder:"))),
        "{audit:?}"
    );

    // Now revoked, the holder is nobody.
    env.clock.advance(1);
    let mut b = RequestBuilder::new();
    b.control(50, &revoke_of(&ca, &mine, CrlReason::KeyCompromise))
        .unwrap();
    let resp = verify(&send(&env, &b, &key, &mine), &ca, env.clock.now());
    assert_eq!(single_failure(&resp), (CmcFailInfo::BadIdentity, vec![0]));
}

#[test]
fn a_hold_is_lifted_with_remove_from_crl_and_a_second_revocation_keeps_the_first() {
    let (env, ca) = now_env();
    let ra = own_ra(&env, ClientRole::Ra);
    let (_, held) = enrolled(&env, &ca, &ra, "CN=held.example.test");
    let (_, gone) = enrolled(&env, &ca, &ra, "CN=gone.example.test");
    let send_one = |id: BodyPartId, r: RevokeRequest| {
        env.clock.advance(1);
        let mut b = RequestBuilder::new();
        b.control(id, &r).unwrap();
        statuses(&verify(&send(&env, &b, &ra.0, &ra.1), &ca, env.clock.now()))
    };

    let s = send_one(60, revoke_of(&ca, &held, CrlReason::CertificateHold));
    assert_eq!(s[0].status, CmcStatus::Success);
    assert_eq!(env.store.list_revoked("ca").unwrap().len(), 1);
    let s = send_one(61, revoke_of(&ca, &held, CrlReason::RemoveFromCRL));
    assert_eq!(
        (s[0].status, ids(&s[0].body_list)),
        (CmcStatus::Success, vec![61])
    );
    assert!(env.store.list_revoked("ca").unwrap().is_empty());
    // Not on hold any more.
    let s = send_one(62, revoke_of(&ca, &held, CrlReason::RemoveFromCRL));
    assert_eq!(
        (s[0].fail_info, ids(&s[0].body_list)),
        (Some(CmcFailInfo::BadRequest), vec![62])
    );

    // Revoked for good, then again with another reason: success, and the
    // first record stays; removeFromCRL cannot undo it.
    let s = send_one(63, revoke_of(&ca, &gone, CrlReason::KeyCompromise));
    assert_eq!(s[0].status, CmcStatus::Success);
    let first = env.store.list_revoked("ca").unwrap();
    let s = send_one(64, revoke_of(&ca, &gone, CrlReason::Superseded));
    assert_eq!(s[0].status, CmcStatus::Success);
    assert_eq!(env.store.list_revoked("ca").unwrap(), first);
    assert_eq!(
        first[0].revocation.reason,
        cmc_store::RevocationReason::KeyCompromise
    );
    let s = send_one(65, revoke_of(&ca, &gone, CrlReason::RemoveFromCRL));
    assert_eq!(s[0].fail_info, Some(CmcFailInfo::BadRequest));
    assert_eq!(env.store.list_revoked("ca").unwrap(), first);
}

/// The BouncyCastle client's revoke request (certificateHold, with an
/// invalidityDate) against a CA with the issuer name it names, holding a
/// certificate with its serial (signed by that CA with OpenSSL and stored as
/// issued): the certificate is put on hold and the date recorded.
#[test]
fn the_peer_revoke_request_puts_the_named_certificate_on_hold() {
    use cmc_ca::{CaKey, NewCa};

    let env = Env::new();
    env.clock.set(UnixTime::from_secs(JAN_2023));
    let ca = env
        .engine
        .create_ca(&NewCa {
            name: "digg".into(),
            subject: "CN=DIGG Signature validation trust CA - EU CA and TSA Services,\
                      2.5.4.97=202100-6883,OU=Headless CA,\
                      O=Myndigheten för digital förvaltning,C=SE"
                .into(),
            validity_days: 3650,
            key: CaKey::Generate {
                spec: KeySpec::P256,
                config: env.file_key("digg", P256),
            },
            path_len: None,
            issuer: None,
            requester: "test-admin".into(),
        })
        .unwrap();
    register_peer_signer(&env);
    let request = read(REVOKE);
    let FullRequest::Signed(req) = decode_full_request(
        &request,
        &VerifyOptions::new(UnixTime::from_secs(PKCS10_TIME).to_system_time()),
    )
    .unwrap() else {
        panic!("signed")
    };
    let (_, wanted) = req
        .pki_data
        .controls_of::<RevokeRequest>()
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(&wanted.issuer_name, ca.subject(), "the CA's name as sent");
    assert_eq!(wanted.reason, CrlReason::CertificateHold);

    // A certificate of that CA with that serial, issued with OpenSSL.
    let serial = cmc_ca::x509::store_serial(&wanted.serial_number).unwrap();
    let hex: String = wanted
        .serial_number
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let ca_pem = env.write_cert("digg.pem", ca.certificate_der());
    let key_pem = env.path("leaf.key");
    let csr_pem = env.path("leaf.csr");
    let leaf_pem = env.path("leaf.pem");
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        p(&key_pem),
        "-subj",
        "/CN=held by the peer",
        "-out",
        p(&csr_pem),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        p(&csr_pem),
        "-CA",
        p(&ca_pem),
        "-CAkey",
        p(&env.path("digg.key")),
        "-passin",
        &format!("file:{}", p(&env.passphrase)),
        "-set_serial",
        &format!("0x{hex}"),
        "-days",
        "30",
        "-out",
        p(&leaf_pem),
    ]);
    let leaf = Certificate::from_pem(std::fs::read(&leaf_pem).unwrap()).unwrap();
    assert_eq!(
        leaf.tbs_certificate().serial_number(),
        &wanted.serial_number
    );
    let now = env.clock.now();
    env.store
        .reserve_serial(
            &cmc_store::NewReservation {
                issuer: "digg".into(),
                serial: serial.clone(),
                requester: "test-admin".into(),
                profile: "default".into(),
                request_hash: vec![0; 32],
                tbs_der: None,
                generation: 1,
            },
            now,
        )
        .unwrap();
    env.store
        .complete_issuance(
            "digg",
            &serial,
            &cmc_store::IssuedCert {
                cert_der: leaf.to_der().unwrap(),
                subject: "CN=held by the peer".into(),
                sans: Vec::new(),
                not_before: now,
                not_after: now.plus_secs(30 * 86_400),
                issued_at: now,
            },
        )
        .unwrap();

    let at = UnixTime::from_system_time(req.signer().signing_time().unwrap());
    env.clock.set(at);
    let reply = env
        .engine
        .handle_full("digg", &request, &Transport::default())
        .unwrap();
    let resp = verify(&reply, &ca, at);
    let s = statuses(&resp);
    assert_eq!(
        (s[0].status, ids(&s[0].body_list)),
        (CmcStatus::Success, vec![0x217D_FD6D])
    );
    let revoked = env.store.list_revoked("digg").unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial, serial);
    assert_eq!(
        revoked[0].revocation.reason,
        cmc_store::RevocationReason::CertificateHold
    );
    assert_eq!(
        revoked[0].revocation.invalidity_date,
        Some(UnixTime::from_secs(1_675_115_142)) // 2023-01-30T21:45:42Z
    );
}
