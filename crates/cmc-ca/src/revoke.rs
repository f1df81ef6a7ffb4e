//! Revoking certificates and lifting holds, each with an audit event.

use cmc_store::{AuditEvent, AuditKind, Outcome, Revocation, RevocationReason, Serial, UnixTime};

use crate::engine::Engine;
use crate::error::{Error, Result};

/// What [`Engine::revoke`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// The certificate is now revoked, as recorded here.
    Revoked(Revocation),
    /// It already was; the first record stands unchanged and is returned.
    AlreadyRevoked(Revocation),
}

impl RevokeOutcome {
    /// The revocation in force.
    #[must_use]
    pub fn revocation(&self) -> &Revocation {
        match self {
            Self::Revoked(r) | Self::AlreadyRevoked(r) => r,
        }
    }

    /// Whether the certificate was already revoked before this call.
    #[must_use]
    pub fn was_already_revoked(&self) -> bool {
        matches!(self, Self::AlreadyRevoked(_))
    }
}

impl Engine {
    /// Revokes certificate `serial` of CA `ca` now, with `reason` and the
    /// optional invalidityDate (when the key is known or suspected to have
    /// been compromised). Revoking an already revoked certificate succeeds
    /// and keeps the first record ([`RevokeOutcome::AlreadyRevoked`]); a
    /// certificate on hold is released with [`Engine::unrevoke`] first.
    /// The next [`Engine::current_crl`] lists it.
    ///
    /// Every call writes an audit event (serial, issuer, requester,
    /// outcome), failures included. If that event cannot be written, the
    /// call fails with the store's error, even when the revocation itself
    /// was recorded (calling again then returns
    /// [`RevokeOutcome::AlreadyRevoked`] and audits that).
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; [`Error::InvalidRequest`] for removeFromCRL
    /// (use [`Engine::unrevoke`]) or an invalidityDate in the future;
    /// store errors: `NotFound` for an unknown serial, `InvalidState` for a
    /// serial reserved but never issued.
    pub fn revoke(
        &self,
        ca: &str,
        serial: &Serial,
        reason: RevocationReason,
        invalidity_date: Option<UnixTime>,
        requester: &str,
    ) -> Result<RevokeOutcome> {
        let ca = self.ca(ca)?;
        let now = self.now();
        let result = check_revoke(reason, invalidity_date, now).and_then(|()| {
            match self
                .store()
                .revoke(ca.name(), serial, reason, now, invalidity_date)
            {
                Ok(()) => Ok(RevokeOutcome::Revoked(Revocation {
                    reason,
                    revoked_at: now,
                    invalidity_date,
                })),
                Err(cmc_store::Error::AlreadyRevoked { revocation, .. }) => {
                    Ok(RevokeOutcome::AlreadyRevoked(revocation))
                }
                Err(e) => Err(e.into()),
            }
        });
        let summary = match &result {
            Ok(RevokeOutcome::Revoked(r)) => (Outcome::Success, describe("revoked", r)),
            Ok(RevokeOutcome::AlreadyRevoked(r)) => (
                Outcome::Success,
                describe("already revoked; first record kept:", r),
            ),
            Err(e) => (
                Outcome::Failure,
                format!("revocation with reason {} refused: {e}", reason.code()),
            ),
        };
        self.audit_revocation(
            AuditKind::Revoked,
            ca.name(),
            serial,
            requester,
            summary,
            now,
        )?;
        if let Ok(o) = &result {
            tracing::info!(ca = ca.name(), serial = %serial, reason = o.revocation().reason.code(),
                already = o.was_already_revoked(), "revocation");
        }
        result
    }

    /// Lifts a certificateHold (removeFromCRL): the certificate is valid
    /// again and the next [`Engine::current_crl`] no longer lists it. Writes
    /// an audit event, failures included.
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; store errors: `InvalidState` unless the
    /// certificate is on hold, `NotFound`.
    pub fn unrevoke(&self, ca: &str, serial: &Serial, requester: &str) -> Result<()> {
        let ca = self.ca(ca)?;
        let now = self.now();
        let result = self
            .store()
            .unrevoke(ca.name(), serial)
            .map_err(Error::from);
        let summary = match &result {
            Ok(()) => (Outcome::Success, "certificateHold lifted".to_owned()),
            Err(e) => (Outcome::Failure, format!("lifting a hold refused: {e}")),
        };
        self.audit_revocation(
            AuditKind::Unrevoked,
            ca.name(),
            serial,
            requester,
            summary,
            now,
        )?;
        result
    }

    fn audit_revocation(
        &self,
        kind: AuditKind,
        ca: &str,
        serial: &Serial,
        requester: &str,
        (outcome, detail): (Outcome, String),
        now: UnixTime,
    ) -> Result<()> {
        let profile = self
            .store()
            .get_cert(ca, serial)
            .ok()
            .flatten()
            .map(|r| r.profile);
        self.store().append_audit(&AuditEvent {
            at: now,
            kind,
            issuer: Some(ca.to_owned()),
            serial: Some(serial.clone()),
            profile,
            requester: Some(requester.to_owned()),
            outcome,
            detail,
        })?;
        Ok(())
    }
}

fn check_revoke(
    reason: RevocationReason,
    invalidity_date: Option<UnixTime>,
    now: UnixTime,
) -> Result<()> {
    if reason == RevocationReason::RemoveFromCrl {
        return Err(Error::InvalidRequest(
            "removeFromCRL is not a revocation: lift the hold with unrevoke".into(),
        ));
    }
    if let Some(d) = invalidity_date.filter(|d| *d > now) {
        return Err(Error::InvalidRequest(format!(
            "invalidityDate {d} is in the future"
        )));
    }
    Ok(())
}

fn describe(what: &str, r: &Revocation) -> String {
    match r.invalidity_date {
        Some(d) => format!(
            "{what} reason {} at {}, invalidity date {d}",
            r.reason.code(),
            r.revoked_at
        ),
        None => format!("{what} reason {} at {}", r.reason.code(), r.revoked_at),
    }
}
