//! Who signed a request: a registered client, the holder of a certificate of this CA, or the owner of a one-time secret (and spending that secret).

use super::*;

impl Engine {
    /// Who signed: a registered, active client allowed on this CA; the
    /// holder of a valid certificate of this CA; or, for a request signed
    /// with the requested key, the holder of an enrollment secret.
    pub(super) fn identify(
        &self,
        ca: &LoadedCa,
        signed: &SignedRequest,
        transport: &Transport,
        now: UnixTime,
    ) -> Result<Signer, Refusal> {
        let bad_identity = |why: &str| {
            tracing::info!(ca = ca.name(), why, "CMC signer refused");
            Refusal::message(CmcFailInfo::BadIdentity, "the signer is not authorised")
        };
        let Some(cert) = signed.signer().certificate() else {
            return self.secret_holder(ca, signed, now);
        };
        let cert_der = cert
            .to_der()
            .map_err(|e| Refusal::internal(ca.name(), &crate::Error::encode("certificate", e)))?;
        if transport
            .tls_client_cert
            .as_ref()
            .is_some_and(|tls| *tls != cert_der)
        {
            return Err(bad_identity(
                "the TLS client certificate is not the CMS signer",
            ));
        }
        let Some(client) = self
            .store()
            .get_client_by_fingerprint(&fingerprint(&cert_der))
            .map_err(|e| Refusal::internal(ca.name(), &e.into()))?
        else {
            return self
                .holder(ca, cert, cert_der)?
                .ok_or_else(|| bad_identity("neither a registered client nor a holder"));
        };
        // An action the role permits, so that `decide` goes on to check the
        // CA grant; the profile and the action of each body part are
        // checked with that part.
        let action = match client.role {
            ClientRole::Agent => Action::Revoke,
            _ => Action::Enroll,
        };
        let profile = self.config().default_profile_name(ca.name());
        match self
            .authorize(&cert_der, ca.name(), &profile, action)
            .map_err(|e| Refusal::internal(ca.name(), &e))?
        {
            Decision::Allowed(_)
            | Decision::Denied(
                DenyReason::WrongRole { .. } | DenyReason::ProfileNotGranted { .. },
            ) => Ok(Signer {
                credential: cert_der,
                who: Who::Client(client),
            }),
            Decision::Denied(reason) => Err(bad_identity(&reason.to_string())),
        }
    }

    /// The signer as the holder of a certificate this CA issued: the very
    /// certificate is stored, issued and not revoked (or on hold).
    pub(super) fn holder(
        &self,
        ca: &LoadedCa,
        cert: &Certificate,
        cert_der: Vec<u8>,
    ) -> Result<Option<Signer>, Refusal> {
        if cert.tbs_certificate().issuer() != ca.subject() {
            return Ok(None);
        }
        let Ok(serial) = store_serial(cert.tbs_certificate().serial_number()) else {
            return Ok(None);
        };
        let record = self
            .store()
            .get_cert(ca.name(), &serial)
            .map_err(|e| Refusal::internal(ca.name(), &e.into()))?;
        let Some(record) = record else {
            return Ok(None);
        };
        match (record.certificate(), record.revocation()) {
            (Some(issued), None) if issued.cert_der == cert_der => Ok(Some(Signer {
                credential: cert_der,
                who: Who::Holder {
                    serial,
                    cert: Box::new(cert.clone()),
                    profile: record.profile.clone(),
                },
            })),
            _ => Ok(None),
        }
    }

    /// The signer of a request signed with the requested key (sid = its
    /// subjectKeyIdentifier): the holder of the enrollment secret that its
    /// identification control names, if the identityProofV2 (or, where
    /// SHA-1 is allowed, identityProof) witness over the reqSequence as
    /// received verifies with that secret's key. A wrong witness counts
    /// towards the secret's lockout. The secret is spent later, by the
    /// first certificate issued under it ([`Engine::spend`]). A spent
    /// secret still authenticates a PKIData that only asks queryPending.
    pub(super) fn secret_holder(
        &self,
        ca: &LoadedCa,
        signed: &SignedRequest,
        now: UnixTime,
    ) -> Result<Signer, Refusal> {
        let pki_data = &signed.pki_data;
        let refuse = |fail_info, text: &str| Refusal::message(fail_info, text.to_owned());
        // One message for every way the proof can fail before it verified,
        // so that an outsider learns nothing about which identifications
        // exist; the log says which.
        let no_proof = |why: &str| {
            tracing::info!(ca = ca.name(), why, "shared-secret identity proof refused");
            refuse(
                CmcFailInfo::BadIdentity,
                "the identity proof does not verify",
            )
        };
        let identification = pki_data.unique_control::<Identification>().map_err(|_| {
            refuse(
                CmcFailInfo::BadRequest,
                "malformed or repeated identification",
            )
        })?;
        let v2 = pki_data.unique_control::<IdentityProofV2>().map_err(|_| {
            refuse(
                CmcFailInfo::BadRequest,
                "malformed or repeated identityProofV2",
            )
        })?;
        let v1 = pki_data.unique_control::<IdentityProof>().map_err(|_| {
            refuse(
                CmcFailInfo::BadRequest,
                "malformed or repeated identityProof",
            )
        })?;
        let (hash, witness) = match (v2, v1) {
            (Some((_, proof)), None) => (
                proof_family(&proof.proof_alg_id, &proof.mac_alg_id)
                    .map_err(|e| refuse(CmcFailInfo::BadAlg, &format!("identityProofV2: {e}")))?,
                proof.witness,
            ),
            (None, Some((_, proof))) => (ProofHash::Sha1, proof.0),
            (Some(_), Some(_)) => {
                return Err(refuse(
                    CmcFailInfo::BadRequest,
                    "identityProof and identityProofV2 together",
                ));
            }
            (None, None) => {
                return Err(refuse(
                    CmcFailInfo::BadIdentity,
                    "a request signed with its own key needs identification and identityProofV2",
                ));
            }
        };
        let Some((_, Identification(identification))) = identification else {
            return Err(refuse(
                CmcFailInfo::BadIdentity,
                "an identityProofV2 needs an identification control naming the shared secret",
            ));
        };
        if hash == ProofHash::Sha1
            && !self
                .config()
                .ca_settings(ca.name())
                .allow_sha1_identity_proof
        {
            return Err(refuse(
                CmcFailInfo::BadAlg,
                "this CA does not accept SHA-1 identity proofs",
            ));
        }
        let req_sequence = req_sequence_der(&signed.econtent)
            .map_err(|e| refuse(CmcFailInfo::BadRequest, &e.to_string()))?;
        let record = self
            .store()
            .get_secret(ca.name(), &identification)
            .map_err(|e| Refusal::internal(ca.name(), &e.into()))?;
        // The same work for every identification, known or not: one HMAC
        // (under a throwaway key when there is no usable secret) and one
        // failure count, so that neither the answer nor its timing tells
        // which identifications exist. The store counts failures of known
        // identifications only; a locked secret takes no more guesses.
        let why_not = match &record {
            None => Some("unknown identification".to_owned()),
            Some(r) if r.purpose != SecretPurpose::Enroll => {
                Some("the secret is not an enrollment secret".to_owned())
            }
            Some(r) if r.locked => Some("the secret is locked".to_owned()),
            Some(r) if r.hash_alg != hash.name() => Some(format!(
                "the proof uses {hash}, the secret was registered for {}",
                r.hash_alg
            )),
            Some(_) => None,
        };
        let was_locked = record.as_ref().is_some_and(|r| r.locked);
        let key = match (&record, &why_not) {
            (Some(r), None) => r.derived_key.clone(),
            _ => vec![0; 32],
        };
        let verified =
            hash.verify_hmac(&key, req_sequence, witness.as_bytes()) && why_not.is_none();
        let record = match record {
            Some(record) if verified => record,
            _ => {
                let lock_after = self.config().requests.secret_lock_after;
                match self
                    .store()
                    .record_secret_failure(ca.name(), &identification, lock_after)
                {
                    Ok(failures) if failures.locked && !was_locked => {
                        tracing::warn!(ca = ca.name(), identification = %identification,
                            attempts = failures.failed_attempts, "enrollment secret locked");
                        self.audit_secret_locked(
                            ca,
                            &identification,
                            failures.failed_attempts,
                            now,
                        );
                    }
                    Ok(_) | Err(cmc_store::Error::NotFound(_)) => {}
                    Err(e) => return Err(Refusal::internal(ca.name(), &e.into())),
                }
                return Err(no_proof(
                    why_not.as_deref().unwrap_or("the witness does not verify"),
                ));
            }
        };
        // The caller knows the secret: it may learn why it cannot be used.
        // A spent secret still fetches the certificate it was spent on
        // (a request held for approval and then approved): a PKIData that
        // only asks queryPending.
        let query_only = only_queries(pki_data);
        match record.unusable_at(now) {
            None => {}
            Some(cmc_store::Error::SecretUsed) if query_only => {}
            Some(e) => {
                tracing::info!(ca = ca.name(), identification = %identification, error = %e,
                    "shared secret not usable");
                return Err(refuse(CmcFailInfo::BadIdentity, &e.to_string()));
            }
        }
        let credential =
            signed.signer().public_key.to_der().map_err(|e| {
                Refusal::internal(ca.name(), &crate::Error::encode("public key", e))
            })?;
        Ok(Signer {
            credential,
            who: Who::Secret {
                record: Box::new(record),
                hash,
                spent: std::cell::Cell::new(false),
            },
        })
    }

    /// Spends the enrollment secret of a shared-secret signer right before
    /// its first certificate is signed (once: of concurrent requests with
    /// one secret, one gets it). Returns the time it was spent at when this
    /// call spent it, so that a failed issuance gives it back
    /// ([`Engine::give_back`]); `None` when this PKIData had already spent
    /// it, or the signer holds no secret.
    pub(super) fn spend(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        id: BodyPartId,
    ) -> Result<Option<UnixTime>, Failure> {
        let Who::Secret { record, spent, .. } = &signer.who else {
            return Ok(None);
        };
        if spent.get() {
            return Ok(None);
        }
        let now = self.now();
        match self
            .store()
            .consume_secret(ca.name(), &record.identification, now)
        {
            Ok(_) => {
                spent.set(true);
                Ok(Some(now))
            }
            Err(
                e @ (cmc_store::Error::SecretUsed
                | cmc_store::Error::SecretLocked
                | cmc_store::Error::SecretExpired),
            ) => Err(Failure::failed(CmcFailInfo::BadIdentity, e.to_string())),
            Err(e) => Err(Failure::from_engine(&e.into(), ca.name(), id)),
        }
    }

    /// Gives back a secret [`Engine::spend`] spent at `at` for an issuance
    /// that failed: nothing was issued, so the holder may try again.
    pub(super) fn give_back(&self, ca: &LoadedCa, signer: &Signer, at: UnixTime) {
        let Who::Secret { record, spent, .. } = &signer.who else {
            return;
        };
        match self
            .store()
            .release_secret(ca.name(), &record.identification, at)
        {
            Ok(()) => spent.set(false),
            Err(e) => tracing::error!(ca = ca.name(), identification = record.identification,
                error = %e, "cannot give back a secret after a failed issuance"),
        }
    }

    /// Audits the locking of a secret (best effort, like refusals).
    pub(super) fn audit_secret_locked(
        &self,
        ca: &LoadedCa,
        identification: &str,
        attempts: u32,
        now: UnixTime,
    ) {
        let detail = serde_json::json!({
            "identification": identification,
            "failed_attempts": attempts,
        });
        let event = cmc_store::AuditEvent {
            at: now,
            kind: cmc_store::AuditKind::SecretLocked,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile: None,
            requester: Some(format!("{SECRET_PREFIX}{identification}")),
            outcome: cmc_store::Outcome::Failure,
            detail: detail.to_string(),
        };
        if let Err(e) = self.store().append_audit(&event) {
            tracing::error!(ca = ca.name(), error = %e, "cannot audit a locked secret");
        }
    }
}
