//! RA-wrapped requests under attack (issue 13): nested PKIData requests
//! count with the outer ones against `max_requests_per_pki_data`, a nested
//! PKIData is bound by the control caps like any other, and an
//! lraPOPWitness vouches for the nested PKIData its pkiDataBodyid names
//! (or, naming nothing, for the outer reqSequence).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use attack_support::{Party, Rig, crmf_without_pop, csr};
use cmc_asn1::{
    BodyPartId, CmcFailInfo, CmcStatus, DataReturn, LraPopWitness, SenderNonce, TaggedAttribute,
    TaggedContentInfo, oid,
};
use cmc_codec::{
    CmsSigner, RequestBuilder, ResponseVerifyOptions, VerifiedResponse, decode_response,
};
use cmc_keys::{FileKey, KeySpec};
use cmc_store::ClientRole;
use cms::content_info::ContentInfo;
use common::statuses;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};

/// The RA's requests, plus `nested` requests of end entities (cmsSequence
/// ids 10, 11, ...), at most `max` requests in all.
fn nested_rig(max: usize) -> (Rig, Party) {
    let rig = Rig::with(|c| c.requests.max_requests_per_pki_data = max);
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    (rig, ra)
}

/// An end entity's Full PKI Request, signed with its key: a senderNonce
/// and `count` PKCS #10 requests (ids 2, 3, ...) or, when `without_pop`, one
/// CRMF request (id 2) without POPO.
fn end_entity(rig: &Rig, count: u32, without_pop: bool) -> ContentInfo {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut b = RequestBuilder::new();
    b.control(
        1,
        &SenderNonce(OctetString::new(attack_support::nonce()).unwrap()),
    )
    .unwrap();
    if without_pop {
        b.crmf(crmf_without_pop(&key, 2, "CN=nested.example.test"))
            .unwrap();
    } else {
        for id in 2..2 + count {
            b.pkcs10(id, csr(&key, "CN=nested.example.test", &[]))
                .unwrap();
        }
    }
    let der = b
        .sign(
            &CmsSigner::self_signed(&key).unwrap(),
            rig.now().to_system_time(),
        )
        .unwrap();
    ContentInfo::from_der(&der).unwrap()
}

/// The nested responses of `resp`, verified, in cmsSequence order.
fn nested_responses(rig: &Rig, resp: &VerifiedResponse) -> Vec<VerifiedResponse> {
    let trusted = [rig.ca.certificate().clone()];
    resp.pki_response
        .cms_sequence
        .iter()
        .map(|t| {
            decode_response(
                &t.content_info.to_der().unwrap(),
                &ResponseVerifyOptions::new(rig.now().to_system_time(), &trusted),
            )
            .unwrap()
        })
        .collect()
}

fn inner_outcome(resp: &VerifiedResponse) -> Vec<(CmcStatus, Option<CmcFailInfo>, Vec<u32>)> {
    statuses(resp)
        .into_iter()
        .map(|s| (s.status, s.fail_info, common::ids(&s.body_list)))
        .collect()
}

#[test]
fn nested_requests_count_with_the_outer_ones() {
    let (rig, ra) = nested_rig(4);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let send = |inner: u32| {
        let nested = end_entity(&rig, inner, false);
        let reply = rig.send(&ra, |b| {
            b.pkcs10(5, csr(&key, "CN=outer.example.test", &[]))
                .unwrap()
                .content(TaggedContentInfo {
                    body_part_id: 10,
                    content_info: nested,
                })
                .unwrap();
        });
        rig.env.clock.advance(1);
        reply
    };
    // 1 outer request + the nested PKIData + its 2 requests = 4.
    let reply = send(2);
    assert_eq!(
        rig.outcome(&reply),
        [(CmcStatus::Success, None, vec![5, 10])]
    );
    assert_eq!(reply.issued, 3);
    assert_eq!(rig.issued().len(), 3);
    // With 3 nested requests, 5: the nested PKIData is badRequest, the
    // outer request is still answered.
    let reply = send(3);
    assert_eq!(
        rig.outcome(&reply),
        [
            (CmcStatus::Success, None, vec![5]),
            (CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![10]),
        ]
    );
    assert_eq!(reply.issued, 1);
    assert_eq!(rig.issued().len(), 4);
    assert!(rig.verify(&reply).pki_response.cms_sequence.is_empty());
}

/// An lraPOPWitness whose pkiDataBodyid names a nested PKIData vouches for
/// that PKIData's requests; one naming nothing, for the outer reqSequence.
#[test]
fn an_lra_pop_witness_naming_a_nested_pki_data_vouches_for_its_requests() {
    let (rig, ra) = nested_rig(32);
    let outer_key = FileKey::generate(KeySpec::P256).unwrap();
    let send = |pki_data_bodyid: BodyPartId| {
        let nested = end_entity(&rig, 1, true);
        let reply = rig.send(&ra, |b| {
            b.control(
                1,
                &LraPopWitness {
                    pki_data_bodyid,
                    body_ids: vec![2],
                },
            )
            .unwrap()
            .crmf(crmf_without_pop(&outer_key, 2, "CN=outer.example.test"))
            .unwrap()
            .content(TaggedContentInfo {
                body_part_id: 10,
                content_info: nested,
            })
            .unwrap();
        });
        rig.env.clock.advance(1);
        let resp = rig.verify(&reply);
        let inner = nested_responses(&rig, &resp);
        assert_eq!(inner.len(), 1);
        (
            rig.outcome(&reply),
            inner_outcome(&inner[0]),
            inner[0].issued_by(rig.ca.certificate()).len(),
        )
    };

    // Naming the nested PKIData: its request is issued; the outer one,
    // without a witness, is popFailed.
    let (outer, inner, inner_issued) = send(10);
    assert_eq!(
        outer,
        [
            (CmcStatus::Success, None, vec![10]),
            (CmcStatus::Failed, Some(CmcFailInfo::PopFailed), vec![2]),
        ]
    );
    assert_eq!(inner, [(CmcStatus::Success, None, vec![2])]);
    assert_eq!(inner_issued, 1);
    assert_eq!(rig.issued().len(), 1);

    // Naming nothing (a random number): the outer request is vouched for,
    // the nested one is not.
    let (outer, inner, inner_issued) = send(0x5eed);
    assert_eq!(outer, [(CmcStatus::Success, None, vec![2, 10])]);
    assert_eq!(
        inner,
        [(CmcStatus::Failed, Some(CmcFailInfo::PopFailed), vec![2])]
    );
    assert_eq!(inner_issued, 0);
    assert_eq!(rig.issued().len(), 2);
}

/// A nested PKIData is a PKIData: the caps on controls and on values per
/// control hold for it too (else one RA request makes the CA sign
/// thousands of echoed controls per nested answer).
#[test]
fn a_nested_pki_data_is_bound_by_the_control_caps() {
    let (rig, ra) = nested_rig(32);
    let limits = rig.config.requests;
    // An end entity's request whose PKIData has `controls` dataReturn
    // controls of `values` values each, besides its senderNonce.
    let nested = |controls: u32, values: u8| {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let mut b = RequestBuilder::new();
        b.control(
            1,
            &SenderNonce(OctetString::new(attack_support::nonce()).unwrap()),
        )
        .unwrap()
        .pkcs10(2, csr(&key, "CN=nested.example.test", &[]))
        .unwrap();
        for id in 0..controls {
            let mut set = SetOfVec::new();
            for v in 0..values {
                let value = DataReturn(OctetString::new([v]).unwrap());
                set.insert(Any::from_der(&value.to_der().unwrap()).unwrap())
                    .unwrap();
            }
            b.tagged_attribute(TaggedAttribute {
                body_part_id: 100 + id,
                attr_type: oid::ID_CMC_DATA_RETURN,
                attr_values: set,
            })
            .unwrap();
        }
        let der = b
            .sign(
                &CmsSigner::self_signed(&key).unwrap(),
                rig.now().to_system_time(),
            )
            .unwrap();
        ContentInfo::from_der(&der).unwrap()
    };
    let send = |content_info: ContentInfo| {
        let reply = rig.send(&ra, |b| {
            b.content(TaggedContentInfo {
                body_part_id: 10,
                content_info,
            })
            .unwrap();
        });
        rig.env.clock.advance(1);
        let resp = rig.verify(&reply);
        let inner = nested_responses(&rig, &resp);
        assert_eq!(inner.len(), 1);
        (rig.outcome(&reply), inner_outcome(&inner[0]))
    };
    let within = u32::try_from(limits.max_controls_per_pki_data).unwrap() - 1;
    let (outer, inner) = send(nested(within, 1));
    assert_eq!(outer, [(CmcStatus::Success, None, vec![10])]);
    assert_eq!(inner, [(CmcStatus::Success, None, vec![2])]);
    assert_eq!(rig.issued().len(), 1);

    let (_, inner) = send(nested(within + 1, 1));
    assert_eq!(
        inner,
        [(CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![0])],
        "{} controls in a nested PKIData",
        within + 2
    );
    let crowded = u8::try_from(limits.max_values_per_control).unwrap() + 1;
    let (_, inner) = send(nested(1, crowded));
    assert_eq!(
        inner,
        [(CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![100])],
        "{crowded} values in one control of a nested PKIData"
    );
    assert_eq!(rig.issued().len(), 1);
}
