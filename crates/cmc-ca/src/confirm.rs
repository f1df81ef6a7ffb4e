//! Certificates that wait for their requester's confirmation (CMP's
//! certConf, RFC 4210 §5.3.18; RFC 9483 §4.1: a certificate not confirmed
//! in time is handled like a rejected one, and revoked).
//!
//! The record is kept in the store, so that a certConf reaching another node
//! sharing it, or the same node after a restart, finds its certificate, and
//! so that a certificate whose confirmation never comes is revoked whichever
//! node notices first ([`Engine::revoke_unconfirmed`], run periodically by
//! the server). Settling is a guarded update: of two nodes, one acts.

use cmc_store::{
    ConfirmationState, NewConfirmation, RevocationReason, Serial, UnixTime, fingerprint,
};
use der::Decode;
use x509_cert::Certificate;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::identify::Principal;
use crate::refusal::{Reason, Refused};

/// How many overdue certificates one sweep revokes at most.
const SWEEP_BATCH: u32 = 256;

/// Who the revocation of an unconfirmed certificate is recorded as done by.
pub const UNCONFIRMED_REQUESTER: &str = "cmp: not confirmed in time";

/// A certificate waiting for its requester's confirmation.
#[derive(Clone, Debug)]
pub struct Unconfirmed {
    /// Its serial.
    pub serial: Serial,
    /// The request's id in its transaction.
    pub cert_req_id: i64,
    /// The certificate.
    pub certificate: Certificate,
    /// When the wait ends.
    pub deadline: UnixTime,
}

/// What settling a confirmation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// This call settled it (and revoked a rejected certificate).
    Now,
    /// It had been settled before (a repeated certConf, or another node).
    Before,
}

impl Engine {
    /// Records that certificate `serial` of CA `ca`, issued to `principal`
    /// in transaction `transaction_id` (request `cert_req_id`), waits for
    /// confirmation for `wait_secs`.
    ///
    /// # Errors
    /// internal for store failures, including a certificate of the same
    /// transaction still waiting.
    pub fn await_confirmation(
        &self,
        ca: &str,
        principal: &Principal,
        transaction_id: &[u8],
        serial: &Serial,
        cert_req_id: i64,
        wait_secs: i64,
    ) -> Result<(), Refused> {
        let now = self.now();
        self.store()
            .await_confirmation(
                &NewConfirmation {
                    signer: fingerprint(principal.credential()),
                    transaction_id: transaction_id.to_vec(),
                    ca: ca.to_owned(),
                    serial: serial.clone(),
                    cert_req_id,
                    deadline: now.plus_secs(wait_secs),
                },
                now,
            )
            .map_err(|e| Refused::from_error(&e.into(), ca))
    }

    /// The certificate of `principal`'s transaction `transaction_id` on
    /// `ca` that waits for confirmation, if one does and its wait has not
    /// ended.
    ///
    /// # Errors
    /// internal for store failures or a certificate that cannot be read.
    pub fn awaiting_confirmation(
        &self,
        ca: &str,
        principal: &Principal,
        transaction_id: &[u8],
    ) -> Result<Option<Unconfirmed>, Refused> {
        let internal = |e: Error| Refused::from_error(&e, ca);
        let Some(record) = self
            .store()
            .get_confirmation(&fingerprint(principal.credential()), transaction_id)
            .map_err(|e| internal(e.into()))?
            .filter(|r| {
                r.ca == ca && r.state == ConfirmationState::Waiting && r.deadline > self.now()
            })
        else {
            return Ok(None);
        };
        let der = self
            .store()
            .get_cert(ca, &record.serial)
            .map_err(|e| internal(e.into()))?
            .and_then(|r| r.certificate().map(|c| c.cert_der.clone()))
            .ok_or_else(|| {
                internal(Error::InvalidRequest(
                    "a waiting certificate is missing".into(),
                ))
            })?;
        let certificate = Certificate::from_der(&der)
            .map_err(|e| internal(Error::encode("a stored certificate", e)))?;
        Ok(Some(Unconfirmed {
            serial: record.serial,
            cert_req_id: record.cert_req_id,
            certificate,
            deadline: record.deadline,
        }))
    }

    /// Settles the confirmation of `principal`'s transaction: accepted, or
    /// rejected, which revokes the certificate (cessationOfOperation,
    /// recorded as requested by the principal).
    ///
    /// # Errors
    /// badRequest when the transaction has no confirmation record of this
    /// principal on this CA; internal for store failures.
    pub fn settle_confirmation(
        &self,
        ca: &str,
        principal: &Principal,
        transaction_id: &[u8],
        accepted: bool,
    ) -> Result<Settled, Refused> {
        let internal = |e: Error| Refused::from_error(&e, ca);
        let signer = fingerprint(principal.credential());
        let record = self
            .store()
            .get_confirmation(&signer, transaction_id)
            .map_err(|e| internal(e.into()))?
            .filter(|r| r.ca == ca)
            .ok_or_else(|| {
                Refused::new(Reason::BadRequest, "no certificate of this transaction")
            })?;
        let to = if accepted {
            ConfirmationState::Confirmed
        } else {
            ConfirmationState::Rejected
        };
        let now = self.now();
        if !self
            .store()
            .settle_confirmation(&signer, transaction_id, to, now)
            .map_err(|e| internal(e.into()))?
        {
            return Ok(Settled::Before);
        }
        if accepted {
            self.accept_delivered(ca, &record.serial, "CMP certConf")?;
        }
        if !accepted {
            self.revoke(
                ca,
                &record.serial,
                RevocationReason::CessationOfOperation,
                None,
                &principal.requester(),
            )
            .map_err(internal)?;
            tracing::info!(ca, serial = %record.serial,
                "certificate rejected by its requester and revoked");
        }
        Ok(Settled::Now)
    }

    /// Revokes the certificates whose confirmation did not come before
    /// their deadline (cessationOfOperation, recorded as requested by
    /// [`UNCONFIRMED_REQUESTER`]), in batches until none is left; returns
    /// how many this call revoked.
    ///
    /// # Errors
    /// Store failures reading or settling the records (what was revoked
    /// before stays revoked).
    pub fn revoke_unconfirmed(&self) -> Result<usize> {
        let mut revoked = 0;
        loop {
            let now = self.now();
            let due = self.store().overdue_confirmations(now, SWEEP_BATCH)?;
            let batch = due.len();
            for record in due {
                if !self.store().settle_confirmation(
                    &record.signer,
                    &record.transaction_id,
                    ConfirmationState::Expired,
                    now,
                )? {
                    continue; // settled meanwhile (a late certConf, another node)
                }
                // Settled first, so that a certConf racing the deadline and
                // this sweep cannot both win; a revocation that fails now is
                // the operator's to repeat (the log line says which).
                match self.revoke(
                    &record.ca,
                    &record.serial,
                    RevocationReason::CessationOfOperation,
                    None,
                    UNCONFIRMED_REQUESTER,
                ) {
                    Ok(_) => {
                        tracing::warn!(ca = record.ca, serial = %record.serial,
                            "certificate not confirmed in time: revoked");
                        revoked += 1;
                    }
                    Err(e) => tracing::error!(ca = record.ca, serial = %record.serial, error = %e,
                        "certificate not confirmed in time, and its revocation failed: revoke it with cmc-tool"),
                }
            }
            if batch < SWEEP_BATCH as usize {
                return Ok(revoked);
            }
        }
    }
}
