//! Publish Trust Anchors (RFC 5272 §6.15) inside the Authenticated Data
//! control (§6.16): how a CA tells a client that has a shared secret but no
//! trust anchor which certificates to trust, and how the client checks it.
//!
//! The response's id-cmc-authData control (AuthPublish) names a cmsSequence
//! body part holding an AuthenticatedData ([`crate::authenticated`]) keyed
//! by the shared secret, whose eContent is a PKIData with one control,
//! id-cmc-trustedAnchors: a sequence number, SHA-256, and the SHA-256 of
//! each trust anchor certificate (the certificates themselves travel in
//! the response's SignedData certificates).

use std::time::SystemTime;

use cmc_asn1::{AuthPublish, PkiData, PkiResponse, PublishTrustAnchors, TaggedAttribute, oid};
use cms::content_info::ContentInfo;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::authenticated::{self, AuthenticatedMessage};
use crate::error::encode_err;
use crate::identity::ProofHash;
use crate::{Error, Result};

/// The body part of the trustedAnchors control inside the authenticated
/// PKIData.
const ANCHORS_ID: u32 = 1;

/// A PublishTrustAnchors with sequence number `seq_number` and the SHA-256
/// of each certificate (DER) in `anchors`.
///
/// # Errors
/// [`Error::Encode`] if the values do not encode.
pub fn publish_trust_anchors(seq_number: u64, anchors: &[&[u8]]) -> Result<PublishTrustAnchors> {
    Ok(PublishTrustAnchors {
        seq_number: Int::new(&uint_bytes(seq_number)).map_err(encode_err)?,
        hash_algorithm: ProofHash::Sha256.digest_algorithm(),
        anchor_hashes: anchors
            .iter()
            .map(|a| OctetString::new(Sha256::digest(a).to_vec()))
            .collect::<der::Result<_>>()
            .map_err(encode_err)?,
    })
}

/// The two's complement octets of a non-negative integer.
fn uint_bytes(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    let mut out = Vec::with_capacity(9);
    if bytes[first] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[first..]);
    out
}

/// The AuthenticatedData (as a ContentInfo) that the AuthPublish control
/// names: a PKIData holding `anchors` in a trustedAnchors control, keyed
/// by `password` ([`authenticated::password`]), dated `time`.
///
/// # Errors
/// As [`authenticated::authenticate`].
pub fn auth_publish_content(
    anchors: &PublishTrustAnchors,
    password: &[u8],
    time: SystemTime,
) -> Result<ContentInfo> {
    let pki_data = PkiData {
        control_sequence: vec![
            TaggedAttribute::from_value(ANCHORS_ID, anchors).map_err(encode_err)?,
        ],
        req_sequence: Vec::new(),
        cms_sequence: Vec::new(),
        other_msg_sequence: Vec::new(),
    };
    let der = authenticated::authenticate(
        oid::ID_CCT_PKI_DATA,
        &pki_data.to_der().map_err(encode_err)?,
        password,
        time,
    )?;
    ContentInfo::from_der(&der).map_err(encode_err)
}

/// What an AuthPublish proved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenAnchors {
    /// The trustedAnchors control.
    pub anchors: PublishTrustAnchors,
    /// The AuthenticatedData's signingTime.
    pub signing_time: Option<SystemTime>,
}

/// The AuthenticatedData that `response`'s id-cmc-authData control names,
/// parsed, without checking it (`None` when the response has no such
/// control).
///
/// # Errors
/// [`Error::MalformedContent`] for a repeated or malformed control, or one
/// naming no cmsSequence body part; the errors of
/// [`authenticated::from_structure`].
pub fn auth_publish(response: &PkiResponse) -> Result<Option<AuthenticatedMessage>> {
    let bad = |text: &str| Error::MalformedContent(format!("authData: {text}"));
    let Some((_, AuthPublish(id))) = response
        .unique_control::<AuthPublish>()
        .map_err(|e| bad(&e.to_string()))?
    else {
        return Ok(None);
    };
    let tagged = response
        .cms_sequence
        .iter()
        .find(|t| t.body_part_id == id)
        .ok_or_else(|| bad("names no cmsSequence body part"))?;
    if tagged.content_info.content_type != const_oid::db::rfc5911::ID_CT_AUTH_DATA {
        return Err(bad("the body part is not AuthenticatedData"));
    }
    let data = tagged
        .content_info
        .content
        .decode_as()
        .map_err(|e: der::Error| Error::MalformedAuthenticatedData(e.to_string()))?;
    authenticated::from_structure(data).map(Some)
}

/// Verifies `message` (from [`auth_publish`]) with `password` and returns
/// the trustedAnchors control of its PKIData.
///
/// # Errors
/// The errors of [`AuthenticatedMessage::verify`] (a wrong secret, altered
/// content); [`Error::WrongContentType`] for content other than PKIData;
/// [`Error::MalformedContent`] for a PKIData without exactly one
/// trustedAnchors control; [`Error::UnsupportedAlgorithm`] for a hash other
/// than SHA-256.
pub fn verify_auth_publish(
    message: &AuthenticatedMessage,
    password: &[u8],
) -> Result<ProvenAnchors> {
    let verified = message.verify(password)?;
    if verified.content_type != oid::ID_CCT_PKI_DATA {
        return Err(Error::WrongContentType {
            found: verified.content_type,
            expected: oid::ID_CCT_PKI_DATA,
        });
    }
    let pki_data =
        PkiData::from_der(&verified.content).map_err(|e| Error::MalformedContent(e.to_string()))?;
    let (_, anchors) = pki_data
        .unique_control::<PublishTrustAnchors>()
        .map_err(|e| Error::MalformedContent(format!("trustedAnchors: {e}")))?
        .ok_or_else(|| Error::MalformedContent("no trustedAnchors control".into()))?;
    if anchors.hash_algorithm.oid != ProofHash::Sha256.digest_oid() {
        return Err(Error::UnsupportedAlgorithm {
            oid: anchors.hash_algorithm.oid,
        });
    }
    Ok(ProvenAnchors {
        anchors,
        signing_time: verified.signing_time,
    })
}

/// For a client without a trust anchor: the trust anchors the authData
/// control of the Full PKI Response `input` proves with `password`, and
/// the certificates of the response they name, to verify the response's
/// signature with next ([`crate::decode_response`]). Nothing in the
/// response is trusted before the MAC verifies. `None` when the response
/// has no authData control.
///
/// # Errors
/// The errors of the SignedData's decoding (within `limits`), of
/// [`auth_publish`] and of [`verify_auth_publish`].
pub fn anchors_in_response(
    input: &[u8],
    password: &[u8],
    limits: &crate::Limits,
) -> Result<Option<(ProvenAnchors, Vec<Certificate>)>> {
    let parsed = crate::signed::parse(input, limits)?;
    let econtent = parsed.econtent.ok_or(Error::MissingContent)?;
    let response =
        PkiResponse::from_der(&econtent).map_err(|e| Error::MalformedContent(e.to_string()))?;
    let Some(message) = auth_publish(&response)? else {
        return Ok(None);
    };
    let proven = verify_auth_publish(&message, password)?;
    let certificates = matching_anchors(&proven.anchors, &parsed.certificates);
    Ok(Some((proven, certificates)))
}

/// The certificates among `certificates` whose SHA-256 is one of
/// `anchors`' hashes.
#[must_use]
pub fn matching_anchors<'a>(
    anchors: &PublishTrustAnchors,
    certificates: impl IntoIterator<Item = &'a Certificate>,
) -> Vec<Certificate> {
    certificates
        .into_iter()
        .filter(|c| {
            c.to_der().is_ok_and(|der| {
                let hash = Sha256::digest(&der);
                anchors
                    .anchor_hashes
                    .iter()
                    .any(|h| h.as_bytes() == hash.as_slice())
            })
        })
        .cloned()
        .collect()
}

/// The sequence number as an unsigned integer, if it fits.
#[must_use]
pub fn seq_number(anchors: &PublishTrustAnchors) -> Option<u64> {
    let bytes = anchors.seq_number.as_bytes();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let bytes = match bytes {
        [0, rest @ ..] => rest,
        all => all,
    };
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use cmc_asn1::TaggedContentInfo;

    use super::*;

    fn response_with(content: ContentInfo, id: u32) -> PkiResponse {
        PkiResponse {
            control_sequence: vec![TaggedAttribute::from_value(1, &AuthPublish(id)).unwrap()],
            cms_sequence: vec![TaggedContentInfo {
                body_part_id: id,
                content_info: content,
            }],
            other_msg_sequence: Vec::new(),
        }
    }

    #[test]
    fn anchors_round_trip_and_refuse_another_secret() {
        let pw = authenticated::password("dev", b"0123456789abcdefghij");
        for seq in [0u64, 127, 128, 1_800_000_000, u64::MAX] {
            let pta = publish_trust_anchors(seq, &[b"cert one", b"cert two"]).unwrap();
            assert_eq!(seq_number(&pta), Some(seq));
            let content = auth_publish_content(&pta, &pw, SystemTime::UNIX_EPOCH).unwrap();
            let response = response_with(content, 2);
            let msg = auth_publish(&response).unwrap().unwrap();
            let proven = verify_auth_publish(&msg, &pw).unwrap();
            assert_eq!(proven.anchors, pta);
            assert_eq!(proven.signing_time, Some(SystemTime::UNIX_EPOCH));
            let other = authenticated::password("dev", b"0123456789abcdefghiJ");
            assert!(matches!(
                verify_auth_publish(&msg, &other),
                Err(Error::AuthDataMac)
            ));
        }
        let pta = publish_trust_anchors(1, &[b"x"]).unwrap();
        let content = auth_publish_content(&pta, &pw, SystemTime::UNIX_EPOCH).unwrap();
        // A control naming a body part that is not there.
        let mut response = response_with(content, 2);
        response.cms_sequence[0].body_part_id = 3;
        assert!(auth_publish(&response).is_err());
        response.control_sequence.clear();
        assert!(auth_publish(&response).unwrap().is_none());
    }
}
