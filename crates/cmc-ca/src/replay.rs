//! Replay records and refusal audit for front doors: nonces remembered per
//! credential, transactions, the audit event of a request refused as a
//! whole, and whether an expired signer is a holder of this CA.

use cmc_store::{UnixTime, fingerprint};
use der::Encode;
use x509_cert::Certificate;

use crate::engine::Engine;
use crate::refusal::{Reason, Refused};
use crate::x509::store_serial;

impl Engine {
    /// Remembers `nonce` from the principal whose credential is
    /// `credential` for `requests.nonce_lifetime_secs`.
    ///
    /// # Errors
    /// badRequest with "replayed" for a nonce this credential sent before
    /// within the lifetime, "unusable" for one the store cannot keep (empty
    /// or too long); internal.
    pub fn remember_nonce(&self, ca: &str, credential: &[u8], nonce: &[u8]) -> Result<(), Refused> {
        let now = self.now();
        let expires = now.plus_secs(self.config().requests.nonce_lifetime_secs);
        match self
            .store()
            .remember_nonce(&fingerprint(credential), nonce, expires, now)
        {
            Ok(()) => Ok(()),
            Err(cmc_store::Error::Replay) => {
                tracing::warn!(ca, "replayed nonce");
                Err(Refused::new(Reason::BadRequest, "replayed"))
            }
            Err(cmc_store::Error::Invalid(_)) => Err(Refused::new(Reason::BadRequest, "unusable")),
            Err(e) => Err(Refused::from_error(&e.into(), ca)),
        }
    }

    /// Records transaction `id` of the principal whose credential is
    /// `credential` for `requests.transaction_lifetime_secs` (it may recur:
    /// later rounds of one transaction).
    ///
    /// # Errors
    /// badRequest with "unusable" for an id the store cannot keep;
    /// internal.
    pub fn open_transaction(&self, ca: &str, credential: &[u8], id: &[u8]) -> Result<(), Refused> {
        let now = self.now();
        let expires = now.plus_secs(self.config().requests.transaction_lifetime_secs);
        match self
            .store()
            .open_transaction(&fingerprint(credential), id, expires, now)
        {
            Ok(_) => Ok(()),
            Err(cmc_store::Error::Invalid(_)) => Err(Refused::new(Reason::BadRequest, "unusable")),
            Err(e) => Err(Refused::from_error(&e.into(), ca)),
        }
    }

    /// An audit event for a request refused as a whole: who asked, if
    /// known, and `detail` (what the front door answered). A failure to
    /// write it is logged: the requester still gets its answer.
    pub fn audit_refusal(&self, ca: &str, requester: Option<String>, detail: &serde_json::Value) {
        let event = cmc_store::AuditEvent {
            at: self.now(),
            kind: cmc_store::AuditKind::Refused,
            issuer: Some(ca.to_owned()),
            serial: None,
            profile: None,
            requester,
            outcome: cmc_store::Outcome::Failure,
            detail: detail.to_string(),
        };
        if let Err(e) = self.store().append_audit(&event) {
            tracing::error!(ca, error = %e, "cannot audit a refused request");
        }
    }

    /// Whether `cert` (whose validity has passed) is a certificate CA `ca`
    /// issued to an end entity that is not a registered client: a renewal
    /// too late, since the old certificate no longer proves who asks.
    #[must_use]
    pub fn is_expired_holder(&self, ca: &str, cert: &Certificate) -> bool {
        let Ok(loaded) = self.ca(ca) else {
            return false;
        };
        let Ok(cert_der) = cert.to_der() else {
            return false;
        };
        let registered = self
            .store()
            .get_client_by_fingerprint(&fingerprint(&cert_der))
            .map_or(true, |c| c.is_some());
        if registered || cert.tbs_certificate().issuer() != loaded.subject() {
            return false;
        }
        let Ok(serial) = store_serial(cert.tbs_certificate().serial_number()) else {
            return false;
        };
        self.store()
            .get_cert(ca, &serial)
            .ok()
            .flatten()
            .and_then(|r| r.certificate().map(|c| c.cert_der == cert_der))
            .unwrap_or(false)
    }

    /// Whether a request signed at `t` (its signingTime) is within
    /// `requests.signing_time_window_secs` of the engine clock.
    #[must_use]
    pub fn within_signing_window(&self, t: UnixTime) -> bool {
        (t.secs() - self.now().secs()).abs() <= self.config().requests.signing_time_window_secs
    }
}
