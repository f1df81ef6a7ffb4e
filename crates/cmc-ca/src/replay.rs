//! Replay records and refusal audit for front doors: nonces remembered per
//! credential and transactions (checked early, written with the message's
//! first write unit), the engine's one commit of a unit, the audit event of a request refused as a
//! whole, and whether an expired signer is a holder of this CA.

use std::sync::atomic::{AtomicBool, Ordering};

use cmc_store::{Fingerprint, MAX_NONCE_LEN, UnixTime, Write, WriteStats, WriteUnit, fingerprint};
use der::Encode;
use x509_cert::Certificate;

use crate::engine::Engine;
use crate::refusal::{Reason, Refused};
use crate::x509::store_serial;

/// The refusal detail of a replayed nonce ([`Refused::is_replay`]).
pub(crate) const REPLAYED: &str = "replayed nonce";

/// The replay records of one request message: its nonce and transaction
/// id, kept per credential. [`Engine::check_replay`] makes it (refusing a
/// nonce already seen) and writes nothing; the front door passes it into
/// every call that writes for the message, and the first of their write
/// units carries the records, so that the nonce is spent in the same
/// durable commit as what the message produced, and the store's unique
/// key decides between two copies of one message racing each other.
/// [`Engine::record_replay`] commits the records if no call did.
#[derive(Debug)]
pub struct Replay {
    signer: Fingerprint,
    nonce: Option<Vec<u8>>,
    transaction_id: Option<Vec<u8>>,
    nonce_expires: UnixTime,
    transaction_expires: UnixTime,
    recorded: AtomicBool,
}

impl Replay {
    /// The records to add to a unit, unless a unit already committed them.
    pub(crate) fn writes(&self) -> Vec<Write> {
        if self.recorded.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut writes = Vec::with_capacity(2);
        if let Some(nonce) = &self.nonce {
            writes.push(Write::Nonce {
                signer: self.signer,
                nonce: nonce.clone(),
                expires_at: self.nonce_expires,
            });
        }
        if let Some(id) = &self.transaction_id {
            writes.push(Write::Transaction {
                signer: self.signer,
                transaction_id: id.clone(),
                expires_at: self.transaction_expires,
            });
        }
        writes
    }

    /// Notes that a committed unit carried the records.
    pub(crate) fn mark_recorded(&self) {
        self.recorded.store(true, Ordering::Release);
    }
}

impl Engine {
    /// Checks the replay records of a message from the principal whose
    /// credential is `credential` before any work is done for it: a
    /// `nonce` this credential sent within `requests.nonce_lifetime_secs`
    /// is refused. Nothing is written: the records go into the message's
    /// first write unit (pass the [`Replay`] on), whose commit decides
    /// between concurrent copies of one message. A transaction id may
    /// recur (later rounds of one transaction).
    ///
    /// # Errors
    /// badRequest with "replayed nonce" ([`Refused::is_replay`]), "unusable
    /// nonce" or "unusable transaction id" for a value the store cannot
    /// keep (empty or too long); internal.
    pub fn check_replay(
        &self,
        ca: &str,
        credential: &[u8],
        nonce: Option<&[u8]>,
        transaction_id: Option<&[u8]>,
    ) -> Result<Replay, Refused> {
        let unusable =
            |v: Option<&[u8]>| v.is_some_and(|v| v.is_empty() || v.len() > MAX_NONCE_LEN);
        if unusable(nonce) {
            return Err(Refused::new(Reason::BadRequest, "unusable nonce"));
        }
        if unusable(transaction_id) {
            return Err(Refused::new(Reason::BadRequest, "unusable transaction id"));
        }
        let now = self.now();
        let signer = fingerprint(credential);
        if let Some(nonce) = nonce {
            let seen = self
                .store()
                .nonce_in_use(&signer, nonce, now)
                .map_err(|e| Refused::from_error(&e.into(), ca))?;
            if seen {
                tracing::warn!(ca, "replayed nonce");
                return Err(Refused::new(Reason::BadRequest, REPLAYED));
            }
        }
        let requests = &self.config().requests;
        Ok(Replay {
            signer,
            nonce: nonce.map(<[u8]>::to_vec),
            transaction_id: transaction_id.map(<[u8]>::to_vec),
            nonce_expires: now.plus_secs(requests.nonce_lifetime_secs),
            transaction_expires: now.plus_secs(requests.transaction_lifetime_secs),
            recorded: AtomicBool::new(false),
        })
    }

    /// Commits the replay records of a message if none of the calls made
    /// for it did (a message that wrote nothing else: a query, a
    /// challenge round, only refusals that are not recorded).
    ///
    /// # Errors
    /// badRequest "replayed nonce" when another copy of the message
    /// committed the nonce first; internal.
    pub fn record_replay(&self, ca: &str, replay: &Replay) -> Result<(), Refused> {
        self.commit(ca, WriteUnit::new(self.now()), Some(replay))
            .map_err(|e| Refused::from_error(&e, ca))
    }

    /// Commits `unit` with the replay records of `replay` when it carries
    /// them first (the one durable write of a request).
    ///
    /// # Errors
    /// What [`cmc_store::UnitStore::commit_unit`] reports.
    pub(crate) fn commit(
        &self,
        ca: &str,
        mut unit: WriteUnit,
        replay: Option<&Replay>,
    ) -> crate::error::Result<()> {
        let carried = match replay {
            Some(r) => {
                let writes = r.writes();
                let carried = !writes.is_empty();
                unit.writes.extend(writes);
                carried
            }
            None => false,
        };
        match self.store().commit_unit(unit) {
            Ok(()) => {
                if carried {
                    if let Some(r) = replay {
                        r.mark_recorded();
                    }
                }
                Ok(())
            }
            Err(cmc_store::Error::Replay) => {
                tracing::warn!(ca, "replayed nonce (committed concurrently)");
                Err(cmc_store::Error::Replay.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// How many durable commits and write units the store has made since
    /// it was opened: the bench's commits per enrollment.
    #[must_use]
    pub fn write_stats(&self) -> WriteStats {
        self.store().write_stats()
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
        let mut unit = WriteUnit::new(event.at);
        unit.push(Write::Audit(event));
        if let Err(e) = self.store().commit_unit(unit) {
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
