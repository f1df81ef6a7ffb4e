//! A certificate's acceptance by its holder (CMC confirmCertAcceptance, RFC 5272 §6.14):
//! the requester, or the holder signing with the very certificate, says it received and
//! accepts it. Recorded once in the store with an audit event.

use cmc_store::{AuditEvent, AuditKind, Outcome, Serial};

use crate::engine::Engine;
use crate::error::Error;
use crate::identify::{Principal, Who};
use crate::refusal::{Reason, Refused};

impl Engine {
    /// Records that `principal` accepts certificate `serial` of `ca`: it must be the one
    /// the certificate was issued to (its requester), or its holder signing with it.
    /// `true` the first time, `false` when it was accepted before.
    ///
    /// # Errors
    /// unknownCertificate for a serial this CA did not issue; badRequest for a revoked
    /// certificate; notAuthorized for anyone else's certificate; internal for store
    /// failures.
    pub fn accept_certificate(
        &self,
        ca: &str,
        principal: &Principal,
        serial: &Serial,
    ) -> Result<bool, Refused> {
        let internal = |e: Error| Refused::from_error(&e, ca);
        let record = self
            .store()
            .get_cert(ca, serial)
            .map_err(|e| internal(e.into()))?
            .filter(|r| r.certificate().is_some())
            .ok_or_else(|| {
                Refused::new(
                    Reason::UnknownCertificate,
                    "this CA issued no such certificate",
                )
            })?;
        if record.revocation().is_some() {
            return Err(Refused::new(
                Reason::BadRequest,
                "a revoked certificate cannot be accepted",
            ));
        }
        let holder = matches!(&principal.who, Who::Holder { serial: s, .. } if s == serial);
        if !holder && record.requester != principal.requester() {
            tracing::info!(ca, %serial, requester = principal.requester(),
                "acceptance of someone else's certificate refused");
            return Err(Refused::new(
                Reason::NotAuthorized,
                "only the certificate's requester or holder accepts it",
            ));
        }
        let now = self.now();
        let first = self
            .store()
            .accept_certificate(ca, serial, now)
            .map_err(|e| internal(e.into()))?;
        if first {
            self.store()
                .append_audit(&AuditEvent {
                    at: now,
                    kind: AuditKind::Accepted,
                    issuer: Some(ca.to_owned()),
                    serial: Some(serial.clone()),
                    profile: Some(record.profile.clone()),
                    requester: Some(principal.requester()),
                    outcome: Outcome::Success,
                    detail: String::new(),
                })
                .map_err(|e| internal(e.into()))?;
            tracing::info!(ca, %serial, "certificate accepted by its holder");
        }
        Ok(first)
    }
}
