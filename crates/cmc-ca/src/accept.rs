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
        let record = self.own_certificate(ca, principal, serial, "accepts")?;
        if record.revocation().is_some() {
            return Err(Refused::new(
                Reason::BadRequest,
                "a revoked certificate cannot be accepted",
            ));
        }
        self.record_acceptance(ca, serial, &record.profile, &principal.requester(), "")
    }

    /// Records that certificate `serial` of `ca` reached its requester by a protocol that
    /// confirms it (CMP certConf) or has no acceptance message (EST; CMP with
    /// implicitConfirm), which counts as its acceptance where its profile requires
    /// acceptance (`how` names the protocol, for the audit log). Nothing is written for
    /// other profiles.
    ///
    /// # Errors
    /// unknownCertificate for a serial this CA did not issue; internal for store failures.
    pub fn accept_delivered(&self, ca: &str, serial: &Serial, how: &str) -> Result<(), Refused> {
        let record = self
            .store()
            .get_cert(ca, serial)
            .map_err(|e| Refused::from_error(&e.into(), ca))?
            .ok_or_else(|| {
                Refused::new(
                    Reason::UnknownCertificate,
                    "this CA issued no such certificate",
                )
            })?;
        if self.requires_acceptance(&record.profile) {
            self.record_acceptance(ca, serial, &record.profile, &record.requester, how)?;
        }
        Ok(())
    }

    /// Whether certificates of profile `name` wait for their acceptance (a profile that
    /// is no longer configured does not).
    #[must_use]
    pub fn requires_acceptance(&self, name: &str) -> bool {
        self.config()
            .profiles
            .get(name)
            .is_ok_and(|p| p.requires_acceptance())
    }

    /// [`Engine::accept_delivered`] for a door that has already handed the certificate
    /// out: a failure is logged, not returned (the certificate then stays unpublished,
    /// the safe side).
    pub fn note_delivered(&self, ca: &str, serial: &Serial, profile: Option<&str>, how: &str) {
        if profile.is_some_and(|p| !self.requires_acceptance(p)) {
            return;
        }
        if let Err(e) = self.accept_delivered(ca, serial, how) {
            tracing::warn!(ca, %serial, how, reason = %e.detail,
                "the delivered certificate's acceptance was not recorded");
        }
    }

    /// The record of certificate `serial` of `ca`, when `principal` is the one it was
    /// issued to (its requester) or its holder signing with it: who may accept it or change
    /// its publication (`what` the principal does, for the refusal's text).
    pub(crate) fn own_certificate(
        &self,
        ca: &str,
        principal: &Principal,
        serial: &Serial,
        what: &str,
    ) -> Result<cmc_store::CertRecord, Refused> {
        let record = self
            .store()
            .get_cert(ca, serial)
            .map_err(|e| Refused::from_error(&e.into(), ca))?
            .filter(|r| r.certificate().is_some())
            .ok_or_else(|| {
                Refused::new(
                    Reason::UnknownCertificate,
                    "this CA issued no such certificate",
                )
            })?;
        let holder = matches!(&principal.who, Who::Holder { serial: s, .. } if s == serial);
        if !holder && record.requester != principal.requester() {
            tracing::info!(ca, %serial, requester = principal.requester(), what,
                "a request about someone else's certificate refused");
            return Err(Refused::new(
                Reason::NotAuthorized,
                format!("only the certificate's requester or holder {what} it"),
            ));
        }
        Ok(record)
    }

    /// Sets the acceptance time once, with its audit event.
    pub(crate) fn record_acceptance(
        &self,
        ca: &str,
        serial: &Serial,
        profile: &str,
        requester: &str,
        detail: &str,
    ) -> Result<bool, Refused> {
        let internal = |e: Error| Refused::from_error(&e, ca);
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
                    profile: Some(profile.to_owned()),
                    requester: Some(requester.to_owned()),
                    outcome: Outcome::Success,
                    detail: detail.to_owned(),
                })
                .map_err(|e| internal(e.into()))?;
            tracing::info!(ca, %serial, "certificate accepted by its holder");
        }
        Ok(first)
    }
}
