//! The controls of one PKIData, decoded once into [`Controls`], whose
//! fields are the index of the controls this CA processes; and the checks
//! on controls and body parts that come before (ids, limits, the list of
//! supported controls).
//!
//! | control (RFC 5272) | field | handled in |
//! | --- | --- | --- |
//! | senderNonce (§6.6) | `sender_nonce` | `replay.rs` (remembered per signer), `reply.rs` (echoed as recipientNonce) |
//! | recipientNonce (§6.6) | — | accepted; the CA keeps no nonce of its own to compare |
//! | transactionId (§6.6) | `transaction_id` | `replay.rs` (recorded), `encrypted_pop.rs` (binds the challenge), `reply.rs` (echoed) |
//! | dataReturn (§6.4), regInfo (§6.12) | — | `reply.rs` (echoed; regInfo as responseInfo), read by `Echo`; a regInfo holding an admin request's JSON is answered in `admin.rs` instead |
//! | identification, identityProof, identityProofV2 (§6.2) | — | `identify.rs` (read before the signer is known) |
//! | popLinkRandom (§6.3.1) | `link_random` | `certify.rs` (popLinkWitnessV2) |
//! | lraPOPWitness (§6.8) | `witnessed`, `nested_witnessed` | `certify.rs`, `nested.rs` |
//! | decryptedPOP (§6.7) | `decrypted` | `encrypted_pop.rs` |
//! | revokeRequest (§6.11) | `revocations` | `revoke.rs` |
//! | confirmCertAcceptance (§6.14) | `acceptances` | `revoke.rs` (`accept`), cmc-ca `accept.rs` |
//! | publicationInfo (§6.18) | `publications` | `publish.rs`, cmc-ca `publication.rs` |
//! | getCert (§6.9), getCRL (§6.10) | `get_certs`, `get_crls` | `fetch.rs` |
//! | queryPending (§6.13) | `queries` | `query.rs` |
//! | batchRequests (§6.17) | `batch` | `nested.rs`, `respond.rs` (batchResponses) |
//! | modCertTemplate, addExtensions (§6.5), controlProcessed (§6.19), raIdentityWitness (RFC 6402) | — | `modify.rs` (`RaControls`, from an RA only) |
//!
//! Any other control fails the request (CMC controls have no criticality
//! flag). Every control is decoded, and every cross-reference checked,
//! before anything is issued or revoked: a malformed control refuses the
//! whole PKIData with nothing changed.

use super::*;

/// The controls this CA processes; any other fails the request.
pub(super) const SUPPORTED_CONTROLS: [der::asn1::ObjectIdentifier; 22] = [
    oid::ID_CMC_SENDER_NONCE,
    oid::ID_CMC_RECIPIENT_NONCE,
    oid::ID_CMC_TRANSACTION_ID,
    oid::ID_CMC_DATA_RETURN,
    oid::ID_CMC_REG_INFO,
    oid::ID_CMC_LRA_POP_WITNESS,
    oid::ID_CMC_REVOKE_REQUEST,
    oid::ID_CMC_GET_CERT,
    oid::ID_CMC_GET_CRL,
    oid::ID_CMC_IDENTIFICATION,
    oid::ID_CMC_IDENTITY_PROOF,
    oid::ID_CMC_IDENTITY_PROOF_V2,
    oid::ID_CMC_POP_LINK_RANDOM,
    oid::ID_CMC_BATCH_REQUESTS,
    oid::ID_CMC_DECRYPTED_POP,
    oid::ID_CMC_QUERY_PENDING,
    oid::ID_CMC_CONFIRM_CERT_ACCEPTANCE,
    oid::ID_CMC_MOD_CERT_TEMPLATE,
    oid::ID_CMC_ADD_EXTENSIONS,
    oid::ID_CMC_CONTROL_PROCESSED,
    oid::ID_CMC_RA_IDENTITY_WITNESS,
    oid::ID_CMC_PUBLISH_CERT,
];

/// The processed controls of one PKIData, decoded (see the module table).
#[derive(Default)]
pub(super) struct Controls {
    /// The senderNonce's value (at most one).
    pub(super) sender_nonce: Option<Vec<u8>>,
    /// The transactionId's value (at most one).
    pub(super) transaction_id: Option<Vec<u8>>,
    /// The popLinkRandom's value (at most one).
    pub(super) link_random: Option<Vec<u8>>,
    /// The requests of the outer reqSequence an RA vouches for: an
    /// lraPOPWitness whose pkiDataBodyid names no nested PKIData (the
    /// Swedish client sends a random number there).
    pub(super) witnessed: BTreeSet<BodyPartId>,
    /// The requests an RA vouches for in each nested PKIData, by the
    /// cmsSequence body part that holds it.
    pub(super) nested_witnessed: BTreeMap<BodyPartId, BTreeSet<BodyPartId>>,
    /// decryptedPOP answers, by the body part they answer for (one each).
    pub(super) decrypted: BTreeMap<BodyPartId, DecryptedPop>,
    /// revokeRequests, by control body part id.
    pub(super) revocations: Vec<(BodyPartId, RevokeRequest)>,
    /// confirmCertAcceptance controls.
    pub(super) acceptances: Vec<(BodyPartId, CmcCertId)>,
    /// publicationInfo controls.
    pub(super) publications: Vec<(BodyPartId, cmc_asn1::CmcPublicationInfo)>,
    /// getCert controls.
    pub(super) get_certs: Vec<(BodyPartId, GetCert)>,
    /// getCRL controls.
    pub(super) get_crls: Vec<(BodyPartId, GetCrl)>,
    /// queryPending controls.
    pub(super) queries: Vec<(BodyPartId, QueryPending)>,
    /// The nested requests batchRequests names, if it is there (each must
    /// be in cmsSequence).
    pub(super) batch: Option<BTreeSet<BodyPartId>>,
}

impl Controls {
    /// Decodes the processed controls of `pki_data` and checks their
    /// cross-references. badRequest for a malformed or repeated control, a
    /// second decryptedPOP for one request, or batchRequests naming a body
    /// part that is not in cmsSequence.
    pub(super) fn decode(pki_data: &PkiData) -> Result<Self, MessageFailure> {
        let malformed = |what: &str| MessageFailure::message(CmcFailInfo::BadRequest, what);
        let nonces = pki_data
            .controls_of::<SenderNonce>()
            .map_err(|_| malformed("malformed senderNonce"))?;
        if nonces.len() > 1 {
            return Err(malformed("more than one senderNonce"));
        }
        let transaction_id = pki_data
            .unique_control::<TransactionId>()
            .map_err(|_| malformed("malformed or repeated transactionId"))?
            .map(|(_, t)| t.0.as_bytes().to_vec());
        let link_random = pki_data
            .unique_control::<PopLinkRandom>()
            .map_err(|_| malformed("malformed or repeated popLinkRandom"))?
            .map(|(_, r)| r.0.as_bytes().to_vec());
        let mut witnessed = BTreeSet::new();
        let mut nested_witnessed: BTreeMap<BodyPartId, BTreeSet<BodyPartId>> = BTreeMap::new();
        for (_, w) in pki_data
            .controls_of::<LraPopWitness>()
            .map_err(|_| malformed("malformed lraPOPWitness"))?
        {
            if pki_data
                .cms_sequence
                .iter()
                .any(|c| c.body_part_id == w.pki_data_bodyid)
            {
                nested_witnessed
                    .entry(w.pki_data_bodyid)
                    .or_default()
                    .extend(w.body_ids);
            } else {
                witnessed.extend(w.body_ids);
            }
        }
        let mut decrypted = BTreeMap::new();
        for (_, answer) in pki_data
            .controls_of::<DecryptedPop>()
            .map_err(|_| malformed("malformed decryptedPOP"))?
        {
            if decrypted.insert(answer.body_part_id, answer).is_some() {
                return Err(malformed("two decryptedPOP controls for one request"));
            }
        }
        let batch_controls = pki_data
            .controls_of::<BatchRequests>()
            .map_err(|_| malformed("malformed batchRequests"))?;
        let batch = (!batch_controls.is_empty()).then(|| {
            batch_controls
                .iter()
                .flat_map(|(_, b)| b.0.iter().copied())
                .collect::<BTreeSet<BodyPartId>>()
        });
        if let Some(stray) = batch
            .iter()
            .flatten()
            .find(|id| !pki_data.cms_sequence.iter().any(|c| c.body_part_id == **id))
        {
            return Err(MessageFailure::message(
                CmcFailInfo::BadRequest,
                format!("batchRequests names {stray}, which is not in cmsSequence"),
            ));
        }
        Ok(Self {
            sender_nonce: nonces
                .into_iter()
                .next()
                .map(|(_, n)| n.0.as_bytes().to_vec()),
            transaction_id,
            link_random,
            witnessed,
            nested_witnessed,
            decrypted,
            revocations: pki_data
                .controls_of::<RevokeRequest>()
                .map_err(|_| malformed("malformed revokeRequest"))?,
            acceptances: pki_data
                .controls_of::<CmcCertId>()
                .map_err(|_| malformed("malformed confirmCertAcceptance"))?,
            publications: pki_data
                .controls_of::<cmc_asn1::CmcPublicationInfo>()
                .map_err(|_| malformed("malformed publicationInfo"))?,
            get_certs: pki_data
                .controls_of::<GetCert>()
                .map_err(|_| malformed("malformed getCert"))?,
            get_crls: pki_data
                .controls_of::<GetCrl>()
                .map_err(|_| malformed("malformed getCRL"))?,
            queries: pki_data
                .controls_of::<QueryPending>()
                .map_err(|_| malformed("malformed queryPending"))?,
            batch,
        })
    }
}

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
