//! revokeRequest (RFC 5272 §6.11): by a client, a holder, or unsigned with a revocation secret.

use super::*;

impl Engine {
    /// One revokeRequest control.
    pub(super) fn revoke_requested(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        revoke: &RevokeRequest,
    ) -> Result<(), Failure> {
        let bad_cert_id =
            || Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA");
        let serial = store_serial(&revoke.serial_number).ok();
        let record = match &serial {
            Some(s) if &revoke.issuer_name == ca.subject() => self
                .store()
                .get_cert(ca.name(), s)
                .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?
                .filter(|r| r.certificate().is_some()),
            _ => None,
        };
        // Authorised first, so that the answer does not tell an outsider
        // which serials exist.
        let requester = signer.requester();
        let refused = |why: &str| {
            tracing::info!(
                ca = ca.name(),
                client = requester,
                why,
                "revocation not permitted"
            );
            Failure::failed(
                CmcFailInfo::BadRequest,
                "the signer may not revoke this certificate",
            )
        };
        // Every signer may revoke the very certificate it signs with.
        let own = record
            .as_ref()
            .and_then(|r| r.certificate())
            .is_some_and(|c| c.cert_der == signer.credential);
        let may_lift_hold = match &signer.who {
            Who::Client(client) => {
                let profile = record.as_ref().map_or_else(
                    || self.config().default_profile_name(ca.name()),
                    |r| r.profile.clone(),
                );
                if !own {
                    match self.authorize(&signer.credential, ca.name(), &profile, Action::Revoke) {
                        Ok(Decision::Allowed(_)) => {}
                        Ok(Decision::Denied(reason)) => return Err(refused(&reason.to_string())),
                        Err(e) => return Err(Failure::from_engine(&e, ca.name(), 0)),
                    }
                    // A credential, a CA or a responder certificate is
                    // revoked by an operator, an agent or its own key; an
                    // RA's authority covers end entities only.
                    if client.role != ClientRole::Agent
                        && record
                            .as_ref()
                            .map_or(Ok(false), |r| self.is_infrastructure(r))
                            .map_err(|e| Failure::from_engine(&e, ca.name(), 0))?
                    {
                        return Err(refused(
                            "an RA may not revoke a credential, CA or responder certificate",
                        ));
                    }
                }
                matches!(client.role, ClientRole::Ra | ClientRole::Agent)
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
            // revoke.
            Who::Secret { .. } => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "an enrollment secret does not authorise revocation",
                ));
            }
        };
        let (Some(record), Some(serial)) = (record, serial) else {
            return Err(bad_cert_id());
        };
        self.apply_revocation(
            ca,
            &record.serial,
            &serial,
            revoke,
            &requester,
            may_lift_hold,
        )
    }

    /// Revokes (or, for removeFromCRL from an RA or agent, lifts the hold
    /// of) a certificate of this CA whose revocation is authorised.
    pub(super) fn apply_revocation(
        &self,
        ca: &LoadedCa,
        stored: &cmc_store::Serial,
        serial: &cmc_store::Serial,
        revoke: &RevokeRequest,
        requester: &str,
        may_lift_hold: bool,
    ) -> Result<(), Failure> {
        let reason = u8::try_from(revoke.reason as u32)
            .ok()
            .and_then(|c| RevocationReason::from_code(c).ok())
            .ok_or_else(|| {
                Failure::failed(CmcFailInfo::BadRequest, "unusable revocation reason")
            })?;
        if reason == RevocationReason::RemoveFromCrl {
            if !may_lift_hold {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "only an RA or agent may lift a certificateHold",
                ));
            }
            return match self.unrevoke(ca.name(), stored, requester) {
                Ok(()) => {
                    tracing::info!(ca = ca.name(), serial = %serial, client = requester, "hold lifted by CMC request");
                    Ok(())
                }
                Err(crate::Error::Store(
                    cmc_store::Error::InvalidState(_) | cmc_store::Error::NotFound(_),
                )) => Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "the certificate is not on hold",
                )),
                Err(e) => Err(Failure::from_engine(&e, ca.name(), 0)),
            };
        }
        let invalidity = revoke
            .invalidity_date
            .map(|t| UnixTime::from_system_time(t.to_system_time()));
        self.revoke(ca.name(), stored, reason, invalidity, requester)
            .map(|_| ())
            .map_err(|e| Failure::from_engine(&e, ca.name(), 0))?;
        tracing::info!(ca = ca.name(), serial = %serial, client = requester, "revoked by CMC request");
        Ok(())
    }

    /// An unsigned Full PKI Request: only revokeRequests that each carry
    /// the revocation secret registered for their certificate (RFC 5272
    /// §6.11), with the usual echo controls. Anything else proves no
    /// identity.
    pub(super) fn process_unsigned(
        &self,
        ca: &LoadedCa,
        pki_data: &PkiData,
        now: UnixTime,
    ) -> Result<Outcome, Refusal> {
        let revocations = pki_data
            .controls_of::<RevokeRequest>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed revokeRequest"))?;
        let only_revocations = !revocations.is_empty()
            && pki_data.req_sequence.is_empty()
            && pki_data.cms_sequence.is_empty()
            && pki_data.other_msg_sequence.is_empty();
        if !only_revocations {
            return Err(Refusal::message(
                CmcFailInfo::BadIdentity,
                "an unsigned request proves no identity: sign it (with the requested key and identityProofV2 for a first certificate); only a revokeRequest with its revocation secret may be unsigned",
            ));
        }
        body_part_ids(pki_data)?;
        check_control_limits(pki_data, &self.config().requests)?;
        refuse_controls(
            pki_data,
            "unsupported control in an unsigned request",
            |oid| !UNSIGNED_CONTROLS.contains(oid),
        )?;
        let mut outcome = Outcome::default();
        for (id, revoke) in revocations {
            match self.revoke_by_secret(ca, &revoke, now) {
                Ok(()) => outcome.succeeded.push(id),
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        Ok(outcome)
    }

    /// One unsigned revokeRequest: its passphrase (sharedSecret) must
    /// hash to the revocation secret registered for that certificate; a
    /// wrong one counts towards the secret's lockout. The secret is spent
    /// by the revocation.
    pub(super) fn revoke_by_secret(
        &self,
        ca: &LoadedCa,
        revoke: &RevokeRequest,
        now: UnixTime,
    ) -> Result<(), Failure> {
        let refused = |why: &str| {
            tracing::info!(ca = ca.name(), why, "unsigned revocation refused");
            Failure::failed(
                CmcFailInfo::BadIdentity,
                "the revocation secret does not verify",
            )
        };
        let Some(passphrase) = &revoke.passphrase else {
            return Err(Failure::failed(
                CmcFailInfo::BadIdentity,
                "an unsigned revokeRequest needs the certificate's revocation secret",
            ));
        };
        let serial = store_serial(&revoke.serial_number).map_err(|_| refused("bad serial"))?;
        if &revoke.issuer_name != ca.subject() {
            return Err(refused("another issuer"));
        }
        let identification = crate::secret::revocation_identification(&serial);
        let record = self
            .store()
            .get_secret(ca.name(), &identification)
            .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?
            .ok_or_else(|| refused("no revocation secret for this serial"))?;
        let registered_for = matches!(&record.purpose,
            SecretPurpose::Revoke { issuer, serial: s } if issuer == ca.name() && *s == serial);
        if !registered_for || record.locked {
            return Err(refused("not this certificate's secret, or locked"));
        }
        if !crate::secret::revocation_secret_matches(&record, passphrase.as_bytes()) {
            let failures = self
                .store()
                .record_secret_failure(
                    ca.name(),
                    &identification,
                    self.config().requests.secret_lock_after,
                )
                .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?;
            if failures.locked {
                self.audit_secret_locked(ca, &identification, failures.failed_attempts, now);
            }
            return Err(refused("wrong revocation secret"));
        }
        if let Some(e) = record.unusable_at(now) {
            return Err(Failure::failed(CmcFailInfo::BadIdentity, e.to_string()));
        }
        let cert = self
            .store()
            .get_cert(ca.name(), &serial)
            .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?
            .filter(|r| r.certificate().is_some())
            .ok_or_else(|| {
                Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA")
            })?;
        let requester = format!("{SECRET_PREFIX}{identification}");
        self.apply_revocation(ca, &cert.serial, &serial, revoke, &requester, false)?;
        match self.store().consume_secret(ca.name(), &identification, now) {
            // Revoked either way; a concurrent request spent it first.
            Ok(_) | Err(cmc_store::Error::SecretUsed) => Ok(()),
            Err(e) => Err(Failure::from_engine(&e.into(), ca.name(), 0)),
        }
    }
}
