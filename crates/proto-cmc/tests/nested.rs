//! RA-wrapped requests (RFC 5272 §3.2.1.3.1, §7.1): end-entity Full PKI
//! Requests in the cmsSequence of an RA's request, with and without
//! batchRequests, answered by nested signed PKIResponses named in
//! batchResponses (RFC 5272 §6.17) or responseBody (RFC 6402).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proto_cmc::{CmcFrontDoor, CmcReply, Transport};
use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::{
    BatchRequests, BatchResponses, BodyPartId, CmcFailInfo, CmcStatus, RecipientNonce,
    ResponseBodyPath, SenderNonce, TaggedContentInfo,
};
use cmc_ca::{Clock, LoadedCa};
use cmc_codec::{
    CmsSigner, RequestBuilder, ResponseVerifyOptions, VerifiedResponse, build_csr, decode_response,
};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme};
use cmc_store::{CertFilter, ClientRole, PageRequest};
use cms::content_info::ContentInfo;
use common::{Env, ids, statuses, verify};
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

fn setup() -> (Env, Arc<LoadedCa>) {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    (env, ca)
}

fn credential(env: &Env, id: &str, role: ClientRole) -> (FileKey, Certificate) {
    let (key, cred) = common::credential(&env.engine, "ca", id, &format!("CN={id}"), role);
    (key, Certificate::from_der(&cred.certificate_der).unwrap())
}

/// An end entity's Full PKI Request, signed with its new key: senderNonce
/// `nonce` (id 1), a PKCS #10 request (id 2).
fn end_entity_request(env: &Env, name: &str, nonce: u8) -> ContentInfo {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new([nonce; 16]).unwrap()))
        .unwrap()
        .pkcs10(
            2,
            build_csr(
                &key,
                Name::from_str(&format!("CN={name}.example.test")).unwrap(),
                Vec::new(),
            )
            .unwrap(),
        )
        .unwrap();
    let der = b
        .sign(
            &CmsSigner::self_signed(&key).unwrap(),
            env.clock.now().to_system_time(),
        )
        .unwrap();
    ContentInfo::from_der(&der).unwrap()
}

/// Flips a bit in the signature of a SignedData content.
fn break_signature(ci: &ContentInfo) -> ContentInfo {
    let mut der = ci.to_der().unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    ContentInfo::from_der(&der).unwrap()
}

/// An RA request wrapping `items` (ids 10, 11, ...), with batchRequests
/// naming them when `batch`.
fn wrap(
    env: &Env,
    signer: &(FileKey, Certificate),
    items: Vec<ContentInfo>,
    batch: bool,
) -> CmcReply {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).unwrap();
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new(nonce).unwrap()))
        .unwrap();
    let ids: Vec<BodyPartId> = (10..).take(items.len()).collect();
    if batch {
        b.control(2, &BatchRequests(ids.clone())).unwrap();
    }
    for (id, content_info) in ids.into_iter().zip(items) {
        b.content(TaggedContentInfo {
            body_part_id: id,
            content_info,
        })
        .unwrap();
    }
    let der = b
        .sign(
            &CmsSigner::new(&signer.0, &signer.1, &[]).unwrap(),
            env.clock.now().to_system_time(),
        )
        .unwrap();
    env.engine
        .handle_full("ca", &der, &Transport::default())
        .unwrap()
}

/// The nested responses of `resp`, by cmsSequence id, verified.
fn nested(
    resp: &VerifiedResponse,
    ca: &LoadedCa,
    env: &Env,
) -> Vec<(BodyPartId, VerifiedResponse)> {
    let trusted = [ca.certificate().clone()];
    resp.pki_response
        .cms_sequence
        .iter()
        .map(|t| {
            let der = t.content_info.to_der().unwrap();
            let inner = decode_response(
                &der,
                &ResponseVerifyOptions::new(env.clock.now().to_system_time(), &trusted),
            )
            .unwrap();
            (t.body_part_id, inner)
        })
        .collect()
}

fn issued_count(env: &Env) -> usize {
    env.store
        .list_certs(&CertFilter::default(), PageRequest::first(1000))
        .unwrap()
        .items
        .into_iter()
        .filter(|r| r.profile != cmc_ca::CLIENT_CREDENTIAL_PROFILE)
        .count()
}

#[test]
fn a_batch_of_three_with_one_bad_signature() {
    let (env, ca) = setup();
    let ra = credential(&env, "ra", ClientRole::Ra);
    let items = vec![
        end_entity_request(&env, "one", 1),
        break_signature(&end_entity_request(&env, "two", 2)),
        end_entity_request(&env, "three", 3),
    ];
    let reply = wrap(&env, &ra, items, true);
    assert_eq!(reply.issued, 2);
    let resp = verify(&reply, &ca, env.clock.now());
    let s = statuses(&resp);
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(
        (s[0].status, ids(&s[0].body_list)),
        (CmcStatus::Success, vec![10, 12])
    );
    assert_eq!(
        (s[1].status, s[1].fail_info, ids(&s[1].body_list)),
        (
            CmcStatus::Failed,
            Some(CmcFailInfo::BadMessageCheck),
            vec![11]
        )
    );
    // batchResponses names the two nested responses; each answers its own
    // request (recipientNonce = that request's senderNonce) with its own
    // status for body part 2 and the certificate.
    let (_, named) = resp
        .pki_response
        .unique_control::<BatchResponses>()
        .unwrap()
        .expect("batchResponses");
    let inner = nested(&resp, &ca, &env);
    assert_eq!(named.0, inner.iter().map(|(id, _)| *id).collect::<Vec<_>>());
    for ((_, r), (nonce, name)) in inner.iter().zip([(1u8, "one"), (3, "three")]) {
        let (_, echoed) = r
            .pki_response
            .unique_control::<RecipientNonce>()
            .unwrap()
            .unwrap();
        assert_eq!(echoed.0.as_bytes(), [nonce; 16]);
        let s = statuses(r);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(
            (s[0].status, ids(&s[0].body_list)),
            (CmcStatus::Success, vec![2])
        );
        let certs = r.issued_by(ca.certificate());
        assert_eq!(certs.len(), 1);
        assert!(
            certs[0]
                .tbs_certificate()
                .subject()
                .to_string()
                .contains(&format!("{name}.example.test"))
        );
    }
    assert_eq!(issued_count(&env), 2);
}

#[test]
fn a_nested_request_without_batch_is_named_by_response_body() {
    let (env, ca) = setup();
    let ra = credential(&env, "ra", ClientRole::Ra);
    let solo = end_entity_request(&env, "solo", 9);
    let reply = wrap(&env, &ra, vec![solo.clone()], false);
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let resp = verify(&reply, &ca, env.clock.now());
    let inner = nested(&resp, &ca, &env);
    assert_eq!(inner.len(), 1);
    let paths = resp.pki_response.controls_of::<ResponseBodyPath>().unwrap();
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].1.0, vec![inner[0].0]);
    assert!(
        resp.pki_response
            .unique_control::<BatchResponses>()
            .unwrap()
            .is_none()
    );

    // The same end-entity request wrapped again: its senderNonce is a
    // replay, so the nested answer is a failure and nothing more is issued.
    env.clock.advance(1);
    let reply = wrap(&env, &ra, vec![solo], false);
    let resp = verify(&reply, &ca, env.clock.now());
    let inner = nested(&resp, &ca, &env);
    let s = statuses(&inner[0].1);
    assert_eq!(
        (s[0].status, s[0].fail_info),
        (CmcStatus::Failed, Some(CmcFailInfo::BadRequest))
    );
    assert_eq!(issued_count(&env), 1);
}

#[test]
fn only_an_ra_may_nest() {
    let (env, ca) = setup();
    let client = credential(&env, "ee", ClientRole::Client);
    let reply = wrap(&env, &client, vec![end_entity_request(&env, "x", 4)], true);
    let resp = verify(&reply, &ca, env.clock.now());
    let s = statuses(&resp);
    assert_eq!(
        (s[0].status, s[0].fail_info, ids(&s[0].body_list)),
        (CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![10])
    );
    assert!(resp.pki_response.cms_sequence.is_empty());
    assert_eq!(issued_count(&env), 0);
}
