//! Checks on the controls and body parts of one PKIData.

use super::*;

/// badRequest naming every control of `pki_data` that `refused` picks
/// (CMC controls have no criticality flag: one the CA does not process
/// fails the request).
pub(super) fn refuse_controls(
    pki_data: &PkiData,
    text: &str,
    refused: impl Fn(&der::asn1::ObjectIdentifier) -> bool,
) -> Result<(), MessageFailure> {
    let named: Vec<BodyPartId> = pki_data
        .control_sequence
        .iter()
        .filter(|c| refused(&c.attr_type))
        .map(|c| c.body_part_id)
        .collect();
    if named.is_empty() {
        Ok(())
    } else {
        Err(MessageFailure {
            failure: Failure::failed(CmcFailInfo::BadRequest, text),
            body_list: named,
            authenticated: false,
        })
    }
}

/// The identifier of every body part, refusing duplicates and `crm`
/// requests whose certReqId is not a BodyPartID.
pub(super) fn body_part_ids(pki_data: &PkiData) -> Result<Vec<BodyPartId>, MessageFailure> {
    let bad = |text: &str| MessageFailure::message(CmcFailInfo::BadRequest, text.to_owned());
    let requests = pki_data
        .req_sequence
        .iter()
        .map(TaggedRequest::body_part_id)
        .collect::<der::Result<Vec<_>>>()
        .map_err(|_| bad("a certReqId is not a BodyPartID"))?;
    let mut seen = BTreeSet::new();
    let all = pki_data
        .control_sequence
        .iter()
        .map(|c| c.body_part_id)
        .chain(requests.iter().copied())
        .chain(pki_data.cms_sequence.iter().map(|c| c.body_part_id))
        .chain(pki_data.other_msg_sequence.iter().map(|o| o.body_part_id));
    for id in all {
        if !seen.insert(id) {
            return Err(bad("a bodyPartID is used twice"));
        }
    }
    Ok(requests)
}

/// At most `max_controls_per_pki_data` controls, each with at most
/// `max_values_per_control` values (else badRequest naming them): the work
/// one PKIData asks for is bounded before any of it is done.
pub(super) fn check_control_limits(
    pki_data: &PkiData,
    limits: &RequestsConfig,
) -> Result<(), MessageFailure> {
    let controls = pki_data.control_sequence.len();
    if controls > limits.max_controls_per_pki_data {
        return Err(MessageFailure::message(
            CmcFailInfo::BadRequest,
            format!(
                "{controls} controls exceed the limit of {}",
                limits.max_controls_per_pki_data
            ),
        ));
    }
    let crowded: Vec<BodyPartId> = pki_data
        .control_sequence
        .iter()
        .filter(|c| c.attr_values.len() > limits.max_values_per_control)
        .map(|c| c.body_part_id)
        .collect();
    if crowded.is_empty() {
        return Ok(());
    }
    Err(MessageFailure {
        failure: Failure::failed(
            CmcFailInfo::BadRequest,
            format!(
                "a control has more than {} values",
                limits.max_values_per_control
            ),
        ),
        body_list: crowded,
        authenticated: false,
    })
}

/// Whether a PKIData only asks queryPending (besides the controls that
/// identify and echo): no request, revocation or fetch.
pub(super) fn only_queries(pki_data: &PkiData) -> bool {
    const ALLOWED: [der::asn1::ObjectIdentifier; 8] = [
        oid::ID_CMC_QUERY_PENDING,
        oid::ID_CMC_SENDER_NONCE,
        oid::ID_CMC_TRANSACTION_ID,
        oid::ID_CMC_DATA_RETURN,
        oid::ID_CMC_REG_INFO,
        oid::ID_CMC_IDENTIFICATION,
        oid::ID_CMC_IDENTITY_PROOF,
        oid::ID_CMC_IDENTITY_PROOF_V2,
    ];
    pki_data.req_sequence.is_empty()
        && pki_data.cms_sequence.is_empty()
        && pki_data.other_msg_sequence.is_empty()
        && pki_data
            .control_sequence
            .iter()
            .any(|c| c.attr_type == oid::ID_CMC_QUERY_PENDING)
        && pki_data
            .control_sequence
            .iter()
            .all(|c| ALLOWED.contains(&c.attr_type))
}

/// The value of the transactionId control, empty without one (or with a
/// malformed one, which the replay check refuses).
pub(super) fn transaction_id_of(pki_data: &PkiData) -> Vec<u8> {
    pki_data
        .unique_control::<TransactionId>()
        .ok()
        .flatten()
        .map(|(_, t)| t.0.as_bytes().to_vec())
        .unwrap_or_default()
}
