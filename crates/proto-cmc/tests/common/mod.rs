//! Shared helpers for the CMC integration tests: the engine environment of
//! the engine's own tests (one file, included from `cmc-ca`), and reading
//! the signed CMC responses this crate produces.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use cmc_asn1::{BodyPartId, BodyPartReference, CmcFailInfo, CmcStatus};
use cmc_ca::{LoadedCa, UnixTime};
use cmc_codec::{ResponseStatus, ResponseVerifyOptions, VerifiedResponse, decode_response};
use proto_cmc::{CMC_RESPONSE_CONTENT_TYPE, CmcReply};

// The engine environment (store, clock, CAs, credentials, openssl) is the
// engine tests' own: included rather than copied, so both suites build
// their engines the same way.
#[path = "../../../cmc-ca/tests/common/mod.rs"]
mod engine_env;
pub use engine_env::*;

/// Verifies a CMC reply's signature with the CA as trust anchor at `at`.
pub fn verify(reply: &CmcReply, ca: &LoadedCa, at: UnixTime) -> VerifiedResponse {
    assert_eq!(reply.content_type, CMC_RESPONSE_CONTENT_TYPE);
    let trusted = [ca.certificate().clone()];
    decode_response(
        &reply.der,
        &ResponseVerifyOptions::new(at.to_system_time(), &trusted),
    )
    .unwrap()
}

pub fn statuses(resp: &VerifiedResponse) -> Vec<ResponseStatus> {
    resp.statuses().unwrap()
}

pub fn ids(list: &[BodyPartReference]) -> Vec<BodyPartId> {
    list.iter()
        .map(|r| match r {
            BodyPartReference::BodyPartId(id) => *id,
            BodyPartReference::BodyPartPath(p) => panic!("path {p:?}"),
        })
        .collect()
}

/// The only status of the response, which must be a failure.
pub fn single_failure(resp: &VerifiedResponse) -> (CmcFailInfo, Vec<BodyPartId>) {
    let s = statuses(resp);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].status, CmcStatus::Failed, "{s:?}");
    (s[0].fail_info.unwrap(), ids(&s[0].body_list))
}
