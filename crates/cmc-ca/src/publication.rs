//! A certificate's publication (CMC publicationInfo, RFC 5272 §6.18): this CA publishes
//! the certificates it issues through getCert (RFC 5272 §6.9) to any client it accepts.
//! The requester or holder of a certificate may withdraw it from publication
//! (`dontPublish`), after which only they (and agents) can fetch it, or publish it again.
//! Recorded in the store with an audit event.

use cmc_store::{AuditEvent, AuditKind, Outcome, Serial};

use crate::PrincipalKind;
use crate::engine::Engine;
use crate::error::Error;
use crate::identify::Principal;
use crate::refusal::Refused;

impl Engine {
    /// Withdraws certificate `serial` of `ca` from publication (`publish` false) or
    /// publishes it again (`publish` true), for `principal`, who must be its requester or
    /// its holder signing with it. `true` when that changed its state.
    ///
    /// # Errors
    /// unknownCertificate for a serial this CA did not issue; notAuthorized for anyone
    /// else's certificate; internal for store failures.
    pub fn set_publication(
        &self,
        ca: &str,
        principal: &Principal,
        serial: &Serial,
        publish: bool,
    ) -> Result<bool, Refused> {
        let internal = |e: Error| Refused::from_error(&e, ca);
        let what = if publish { "publishes" } else { "withdraws" };
        let record = self.own_certificate(ca, principal, serial, what)?;
        let now = self.now();
        let changed = self
            .store()
            .set_published(ca, serial, publish, now)
            .map_err(|e| internal(e.into()))?;
        if changed {
            let kind = if publish { "published" } else { "unpublished" };
            self.store()
                .append_audit(&AuditEvent {
                    at: now,
                    kind: AuditKind::Other(kind.to_owned()),
                    issuer: Some(ca.to_owned()),
                    serial: Some(serial.clone()),
                    profile: Some(record.profile),
                    requester: Some(principal.requester()),
                    outcome: Outcome::Success,
                    detail: String::new(),
                })
                .map_err(|e| internal(e.into()))?;
            tracing::info!(ca, %serial, kind, "certificate publication changed");
        }
        Ok(changed)
    }

    /// Whether `principal` may fetch certificate `serial` of `ca` (getCert): a published
    /// certificate anyone may; one withdrawn from publication only its requester, its
    /// holder and agents.
    ///
    /// # Errors
    /// internal for store failures.
    pub fn may_fetch(
        &self,
        ca: &str,
        principal: &Principal,
        serial: &Serial,
    ) -> Result<bool, Refused> {
        let unpublished = match self.store().unpublished_at(ca, serial) {
            Ok(at) => at.is_some(),
            // Not ours to withhold: the caller answers an unknown serial.
            Err(cmc_store::Error::NotFound(_)) => return Ok(true),
            Err(e) => return Err(Refused::from_error(&e.into(), ca)),
        };
        if !unpublished || principal.kind() == PrincipalKind::Agent {
            return Ok(true);
        }
        Ok(self
            .own_certificate(ca, principal, serial, "fetches")
            .is_ok())
    }
}
