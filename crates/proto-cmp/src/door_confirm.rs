//! The CMP door's transactions after the first answer: pollReq for a held request
//! (RFC 9483 §4.4) and certConf (RFC 4210 §5.3.18, RFC 9483 §4.1), over the engine's
//! held-transaction notes and confirmation records.

use cmc_ca::{Engine, LoadedCa, Principal};
use der::Encode;
use der::asn1::Null;
use sha2::Digest;
use x509_cert::Certificate;

use crate::door::{CmpDoor, Refusal, Transaction};
use crate::{
    CertConfirmContent, CertRepMessage, CertResponse, FailureBit, PkiBody, PkiHeader, PkiStatus,
    PkiStatusInfo,
};

impl CmpDoor {
    /// pollReq for the held request of this transaction (RFC 9483 §4.4): pollRep with
    /// `checkAfter` while it waits, the certificate response (ip, cp or kup, as the request
    /// was) once approved, an error once rejected.
    pub(crate) fn poll(
        &self,
        engine: &Engine,
        ca: &LoadedCa,
        principal: &Principal,
        polls: &crate::PollReqContent,
        tx: Transaction<'_>,
    ) -> Result<PkiBody, Refusal> {
        let [poll] = polls.as_slice() else {
            return Err(Refusal::new(
                FailureBit::BadRequest,
                "exactly one pollReq entry per message",
            ));
        };
        let held = engine
            .held_transaction(ca.name(), principal, tx.id)?
            .ok_or_else(|| {
                Refusal::new(
                    FailureBit::BadRequest,
                    "no request of this transaction is held for this sender",
                )
            })?;
        let status =
            engine.query_pending(ca.name(), &principal.requester(), held.token.as_bytes())?;
        let certificate = match status {
            cmc_ca::PendingStatus::Waiting(h) => {
                let check_after = (h.poll_at.secs() - engine.now().secs()).max(1);
                return Ok(PkiBody::PollRep(vec![crate::PollRep {
                    cert_req_id: poll.cert_req_id,
                    check_after,
                    reason: Some(vec!["waiting for an agent's approval".into()]),
                }]));
            }
            cmc_ca::PendingStatus::Issued(cert) => *cert,
        };
        let (kind, encrypt) = match held
            .answer
            .strip_suffix(crate::door_indirect::ENCRYPTED_SUFFIX)
        {
            Some(kind) => (kind, true),
            None => (held.answer.as_str(), false),
        };
        if encrypt && tx.implicit {
            return Err(Refusal::new(
                FailureBit::BadRequest,
                "indirect POP is proven by the confirmation: do not ask for implicitConfirm",
            ));
        }
        let serial = cmc_ca::x509::store_serial(certificate.tbs_certificate().serial_number())
            .map_err(|_| Refusal::new(FailureBit::SystemFailure, "issued serial"))?;
        if tx.implicit {
            engine.note_delivered(ca.name(), &serial, None, "CMP implicitConfirm");
        }
        // Confirmed like any certificate; a second poll after this one finds it waiting.
        if !tx.implicit
            && engine
                .awaiting_confirmation(ca.name(), principal, tx.id)?
                .is_none()
        {
            await_confirmation(engine, ca, principal, tx, &serial, poll.cert_req_id)?;
        }
        let rep = CertRepMessage {
            ca_pubs: None,
            response: vec![CertResponse {
                cert_req_id: poll.cert_req_id,
                status: PkiStatusInfo::accepted(),
                certified_key_pair: Some(crate::door_indirect::key_pair(certificate, encrypt)?),
                rsp_info: None,
            }],
        };
        Ok(match kind {
            "ip" => PkiBody::Ip(rep),
            "kup" => PkiBody::Kup(rep),
            _ => PkiBody::Cp(rep),
        })
    }

    /// certConf: the hash must match the certificate issued in this transaction to this
    /// sender; an accepted one is confirmed, a rejected one revoked (RFC 9483 §4.1).
    pub(crate) fn confirm(
        &self,
        engine: &Engine,
        ca: &LoadedCa,
        principal: &Principal,
        statuses: &CertConfirmContent,
        transaction_id: &[u8],
    ) -> Result<PkiBody, Refusal> {
        let [status] = statuses.as_slice() else {
            return Err(Refusal::new(
                FailureBit::BadRequest,
                "exactly one CertStatus per certConf",
            ));
        };
        let waiting = engine
            .awaiting_confirmation(ca.name(), principal, transaction_id)?
            .ok_or_else(|| {
                Refusal::new(
                    FailureBit::BadRequest,
                    "no certificate of this transaction waits for a certConf from this sender",
                )
            })?;
        if status.cert_req_id != waiting.cert_req_id {
            return Err(Refusal::new(
                FailureBit::BadCertId,
                "certReqId does not match",
            ));
        }
        let hash = cert_hash(&waiting.certificate, status.hash_alg.as_ref())?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            hash.as_slice(),
            status.cert_hash.as_bytes(),
        )) {
            return Err(Refusal::new(
                FailureBit::BadCertId,
                "certHash does not match the certificate issued",
            ));
        }
        let rejected = status
            .status_info
            .as_ref()
            .is_some_and(|s| s.status == PkiStatus::Rejection);
        engine.settle_confirmation(ca.name(), principal, transaction_id, !rejected)?;
        Ok(PkiBody::PkiConf(Null))
    }
}

/// Makes certificate `serial`, issued to `principal` in transaction `tx` for request
/// `cert_req_id`, wait for its certConf for the CA's `[ca.NAME.cmp] confirm_wait_secs`.
pub(crate) fn await_confirmation(
    engine: &Engine,
    ca: &LoadedCa,
    principal: &Principal,
    tx: Transaction<'_>,
    serial: &cmc_ca::Serial,
    cert_req_id: i64,
) -> Result<(), Refusal> {
    let wait = engine
        .config()
        .ca_settings(ca.name())
        .cmp
        .unwrap_or_default()
        .confirm_wait_secs;
    engine.await_confirmation(ca.name(), principal, tx.id, serial, cert_req_id, wait)?;
    Ok(())
}

/// Whether the requester asks for implicit confirmation (`implicitConfirm` in
/// `generalInfo`) and CA `ca` grants it (`[ca.NAME.cmp] implicit_confirm`).
pub(crate) fn implicit_granted(engine: &Engine, ca: &LoadedCa, header: &PkiHeader) -> bool {
    header.implicit_confirm()
        && engine
            .config()
            .ca_settings(ca.name())
            .cmp
            .is_some_and(|c| c.implicit_confirm)
}

/// The hash a certConf carries for `cert`: with `hashAlg` when given (RFC 9480), else the
/// hash of the certificate's signature algorithm (RFC 4210 §5.3.18).
fn cert_hash(
    cert: &Certificate,
    hash_alg: Option<&spki::AlgorithmIdentifierOwned>,
) -> Result<Vec<u8>, Refusal> {
    use const_oid::db::rfc5912 as o;
    let der = cert.to_der().map_err(crate::Error::Encode)?;
    let oid = hash_alg.map_or(cert.signature_algorithm().oid, |a| a.oid);
    let hash = match oid {
        o::ID_SHA_256 | o::ECDSA_WITH_SHA_256 | o::SHA_256_WITH_RSA_ENCRYPTION => {
            sha2::Sha256::digest(&der).to_vec()
        }
        o::ID_SHA_384 | o::ECDSA_WITH_SHA_384 | o::SHA_384_WITH_RSA_ENCRYPTION => {
            sha2::Sha384::digest(&der).to_vec()
        }
        o::ID_SHA_512 | o::ECDSA_WITH_SHA_512 | o::SHA_512_WITH_RSA_ENCRYPTION => {
            sha2::Sha512::digest(&der).to_vec()
        }
        _ => {
            return Err(Refusal::new(
                FailureBit::BadAlg,
                "certConf hash algorithm not supported (use hashAlg SHA-256)",
            ));
        }
    };
    Ok(hash)
}
