//! Revocation asked for by a principal ([`Engine::revoke_as`]) or by the
//! holder of a certificate's revocation secret
//! ([`Engine::revoke_with_secret`]), and certificate lookup: by issuer and
//! serial ([`Engine::issued_certificate`]), a CA's chain
//! ([`Engine::ca_chain`]): who may revoke what is the
//! model of [`crate::principal`].

use cmc_store::{ClientRole, RevocationReason, SecretPurpose, Serial, UnixTime};
use der::Decode;
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use crate::authz::{Action, Authorization};
use crate::engine::Engine;
use crate::error::Error;
use crate::identify::{Principal, Who};
use crate::principal::SECRET_PREFIX;
use crate::refusal::{Reason, Refused};
use crate::x509::store_serial;

/// One certificate to revoke, as a front door received it.
#[derive(Clone, Copy, Debug)]
pub struct RevocationRequest<'a> {
    /// The issuer the requester names (must be the CA's subject).
    pub issuer: &'a Name,
    /// The certificate's serial number.
    pub serial: &'a SerialNumber,
    /// Why; removeFromCRL lifts a certificateHold.
    pub reason: RevocationReason,
    /// When the key is known or suspected to have been compromised.
    pub invalidity: Option<UnixTime>,
}

/// What an authorised revocation request came to ([`Engine::revoke_as_reporting`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationDone {
    /// The certificate is revoked now.
    Revoked,
    /// It already was; the first record stands (RFC 9483 §4.2 answers
    /// this with certRevoked, CMC with success).
    AlreadyRevoked,
    /// Its certificateHold was lifted (removeFromCRL).
    HoldLifted,
}

fn unknown_certificate() -> Refused {
    Refused::new(Reason::UnknownCertificate, "no such certificate of this CA")
}

impl Engine {
    /// What clients of CA `ca` should trust: its active certificate, its
    /// passive next and retired ones, and their issuers
    /// ([`crate::LoadedCa::bundle_der`]); the active CA certificate first. EST
    /// cacerts and CMP caCerts answer it.
    ///
    /// # Errors
    /// internal for an unknown CA or a stored certificate that does not
    /// decode.
    pub fn ca_bundle(&self, ca: &str) -> Result<Vec<Certificate>, Refused> {
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        loaded
            .bundle_der()
            .into_iter()
            .map(|der| {
                Certificate::from_der(der)
                    .map_err(|e| Refused::from_error(&Error::bad("stored CA certificate", e), ca))
            })
            .collect()
    }

    /// CA `ca`'s certificate and the certificates of its issuers, CA first
    /// and the root last (what a client needs to build the path to its
    /// trust anchor).
    ///
    /// # Errors
    /// internal for an unknown CA or a stored chain that does not decode.
    pub fn ca_chain(&self, ca: &str) -> Result<Vec<Certificate>, Refused> {
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        let mut chain = vec![loaded.certificate().clone()];
        for der in loaded.chain_der() {
            chain.push(
                Certificate::from_der(der)
                    .map_err(|e| Refused::from_error(&Error::bad("stored CA chain", e), ca))?,
            );
        }
        Ok(chain)
    }

    /// A certificate CA `ca` issued, revoked or not (certificates are
    /// public), named by issuer and serial.
    ///
    /// # Errors
    /// unknownCertificate for another issuer or an unknown serial;
    /// internal.
    pub fn issued_certificate(
        &self,
        ca: &str,
        issuer: &Name,
        serial: &SerialNumber,
    ) -> Result<Certificate, Refused> {
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        if issuer != loaded.subject() {
            return Err(unknown_certificate());
        }
        let serial = store_serial(serial).map_err(|_| unknown_certificate())?;
        // The CA's own certificates of every generation (a root's are in
        // no certificate table): the passive one is how a client fetches
        // the next anchor.
        let own = std::iter::once(loaded.certificate())
            .chain(loaded.passive().map(|p| &p.certificate))
            .chain(loaded.retired().iter().map(|r| r.certificate()))
            .find(|c| store_serial(c.tbs_certificate().serial_number()).is_ok_and(|s| s == serial));
        if let Some(own) = own {
            return Ok(own.clone());
        }
        let record = self
            .store()
            .get_cert(ca, &serial)
            .map_err(|e| Refused::from_error(&e.into(), ca))?
            .ok_or_else(unknown_certificate)?;
        let issued = record.certificate().ok_or_else(unknown_certificate)?;
        Certificate::from_der(&issued.cert_der)
            .map_err(|e| Refused::from_error(&Error::bad("stored certificate", e), ca))
    }

    /// Revokes (or, for removeFromCRL from an RA or agent, lifts the hold
    /// of) a certificate of CA `ca` at the request of `principal`: any
    /// principal its own signing certificate; a holder only that; an RA an
    /// end-entity certificate of its CAs; an agent any certificate of its
    /// CAs; a secret owner nothing.
    ///
    /// # Errors
    /// notAuthorized (checked before the certificate is looked up, so that
    /// the answer tells an outsider nothing about which serials exist);
    /// unknownCertificate; badRequest for lifting a hold that is not
    /// there; internal.
    pub fn revoke_as(
        &self,
        ca: &str,
        principal: &Principal,
        revocation: &RevocationRequest<'_>,
    ) -> Result<(), Refused> {
        self.revoke_as_reporting(ca, principal, revocation)
            .map(drop)
    }

    /// [`Engine::revoke_as`], saying whether the certificate was revoked
    /// now, already revoked before, or released from hold: for a front
    /// door whose protocol answers a repeated revocation differently
    /// (CMP's certRevoked).
    ///
    /// # Errors
    /// As [`Engine::revoke_as`].
    pub fn revoke_as_reporting(
        &self,
        ca: &str,
        principal: &Principal,
        revocation: &RevocationRequest<'_>,
    ) -> Result<RevocationDone, Refused> {
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        let internal = |e: Error| Refused::from_error(&e, ca);
        let serial = store_serial(revocation.serial).ok();
        let record = match &serial {
            Some(s) if revocation.issuer == loaded.subject() => self
                .store()
                .get_cert(ca, s)
                .map_err(|e| internal(e.into()))?
                .filter(|r| r.certificate().is_some()),
            _ => None,
        };
        let requester = principal.requester();
        let refused = |why: &str| {
            tracing::info!(ca, client = requester, why, "revocation not permitted");
            Refused::new(
                Reason::NotAuthorized,
                "the signer may not revoke this certificate",
            )
        };
        // Every signer may revoke the very certificate it signs with.
        let own = record
            .as_ref()
            .and_then(|r| r.certificate())
            .is_some_and(|c| c.cert_der == principal.credential());
        let may_lift_hold = match &principal.who {
            Who::Client(client) => {
                let profile = record.as_ref().map_or_else(
                    || self.config().default_profile_name(ca),
                    |r| r.profile.clone(),
                );
                if !own {
                    match self.authorize_principal(client, ca, &profile, Action::Revoke) {
                        Authorization::Allowed(_) => {}
                        Authorization::Denied(reason) => return Err(refused(&reason.to_string())),
                    }
                    // A credential, a CA or a responder certificate is
                    // revoked by an operator, an agent or its own key; an
                    // RA's authority covers end entities only.
                    if !client.role.is_agent()
                        && record
                            .as_ref()
                            .map_or(Ok(false), |r| self.is_infrastructure(r))
                            .map_err(internal)?
                    {
                        return Err(refused(
                            "an RA may not revoke a credential, CA or responder certificate",
                        ));
                    }
                }
                client.role == ClientRole::Ra || client.role.is_agent()
            }
            // A holder revokes the certificate that signs the request, and
            // nothing else (RFC 5272 §6.11: the signer proves it holds the
            // key of what it revokes). Subjects prove nothing: they are
            // not bound to one holder.
            Who::Holder { .. } => {
                if !own {
                    return Err(refused(
                        "a holder may revoke only the certificate that signs",
                    ));
                }
                false
            }
            // An enrollment secret proves who may enroll, not who may
            // revoke; nobody in particular may revoke nothing.
            Who::Secret { .. } => {
                return Err(Refused::new(
                    Reason::NotAuthorized,
                    "an enrollment secret does not authorise revocation",
                ));
            }
            Who::Anonymous => return Err(refused("an anonymous request")),
        };
        let (Some(record), Some(serial)) = (record, serial) else {
            return Err(unknown_certificate());
        };
        self.apply_revocation(
            ca,
            &record.serial,
            &serial,
            revocation,
            &requester,
            may_lift_hold,
        )
    }

    /// Revokes certificate `revocation` of CA `ca` for the holder of its
    /// revocation secret, who presented `passphrase` (a CMC unsigned
    /// revokeRequest's sharedSecret, RFC 5272 §6.11): it must hash to the
    /// secret registered for that certificate; a wrong one counts towards
    /// the secret's lockout. The secret is spent by the revocation.
    ///
    /// # Errors
    /// badIdentity for a passphrase that does not verify (one answer for
    /// every way it can fail); unknownCertificate; internal.
    pub fn revoke_with_secret(
        &self,
        ca: &str,
        revocation: &RevocationRequest<'_>,
        passphrase: &[u8],
    ) -> Result<(), Refused> {
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        let internal = |e: Error| Refused::from_error(&e, ca);
        let now = self.now();
        let refused = |why: &str| {
            tracing::info!(ca, why, "revocation by secret refused");
            Refused::new(Reason::BadIdentity, "the revocation secret does not verify")
        };
        let serial = store_serial(revocation.serial).map_err(|_| refused("bad serial"))?;
        if revocation.issuer != loaded.subject() {
            return Err(refused("another issuer"));
        }
        let identification = crate::secret::revocation_identification(&serial);
        let record = self
            .store()
            .get_secret(ca, &identification)
            .map_err(|e| internal(e.into()))?
            .ok_or_else(|| refused("no revocation secret for this serial"))?;
        let registered_for = matches!(&record.purpose,
            SecretPurpose::Revoke { issuer, serial: s } if issuer == ca && *s == serial);
        if !registered_for || record.locked {
            return Err(refused("not this certificate's secret, or locked"));
        }
        if !crate::secret::revocation_secret_matches(&record, passphrase) {
            let failures = self
                .store()
                .record_secret_failure(
                    ca,
                    &identification,
                    self.config().requests.secret_lock_after,
                )
                .map_err(|e| internal(e.into()))?;
            if failures.locked {
                self.audit_secret_locked(&loaded, &identification, failures.failed_attempts, now);
            }
            return Err(refused("wrong revocation secret"));
        }
        if let Some(e) = record.unusable_at(now) {
            return Err(Refused::new(Reason::BadIdentity, e.to_string()));
        }
        let cert = self
            .store()
            .get_cert(ca, &serial)
            .map_err(|e| internal(e.into()))?
            .filter(|r| r.certificate().is_some())
            .ok_or_else(unknown_certificate)?;
        let requester = format!("{SECRET_PREFIX}{identification}");
        self.apply_revocation(ca, &cert.serial, &serial, revocation, &requester, false)?;
        match self.store().consume_secret(ca, &identification, now) {
            // Revoked either way; a concurrent request spent it first.
            Ok(_) | Err(cmc_store::Error::SecretUsed) => Ok(()),
            Err(e) => Err(internal(e.into())),
        }
    }

    /// Revokes (or, for removeFromCRL when `may_lift_hold`, lifts the hold
    /// of) a certificate of this CA whose revocation is authorised.
    fn apply_revocation(
        &self,
        ca: &str,
        stored: &Serial,
        serial: &Serial,
        revocation: &RevocationRequest<'_>,
        requester: &str,
        may_lift_hold: bool,
    ) -> Result<RevocationDone, Refused> {
        if revocation.reason == RevocationReason::RemoveFromCrl {
            if !may_lift_hold {
                return Err(Refused::new(
                    Reason::NotAuthorized,
                    "only an RA or agent may lift a certificateHold",
                ));
            }
            return match self.unrevoke(ca, stored, requester) {
                Ok(()) => {
                    tracing::info!(ca, serial = %serial, client = requester, "hold lifted on request");
                    Ok(RevocationDone::HoldLifted)
                }
                Err(Error::Store(
                    cmc_store::Error::InvalidState(_) | cmc_store::Error::NotFound(_),
                )) => Err(Refused::new(
                    Reason::BadRequest,
                    "the certificate is not on hold",
                )),
                Err(e) => Err(Refused::from_error(&e, ca)),
            };
        }
        let outcome = self
            .revoke(
                ca,
                stored,
                revocation.reason,
                revocation.invalidity,
                requester,
            )
            .map_err(|e| Refused::from_error(&e, ca))?;
        tracing::info!(ca, serial = %serial, client = requester, "revoked on request");
        Ok(if outcome.was_already_revoked() {
            RevocationDone::AlreadyRevoked
        } else {
            RevocationDone::Revoked
        })
    }
}
