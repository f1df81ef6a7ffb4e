//! Message-level checks around the signer: signingTime, senderNonce and
//! transactionId replay, an expired holder, and the audit of a refused
//! request.

use super::*;

impl Engine {
    /// badIdentity for a request whose expired signer certificate is one
    /// this CA issued to an end entity (a renewal too late: the old
    /// certificate no longer proves who asks); `None` for any other expired
    /// signer, which stays badTime. Verifies the request again at the
    /// certificate's notAfter to learn which certificate signed.
    pub(super) fn expired_holder(
        &self,
        ca: &LoadedCa,
        body: &[u8],
        not_after: std::time::SystemTime,
    ) -> Option<Failure> {
        let request = decode_full_request(
            body,
            &VerifyOptions::new(not_after).with_limits(self.config().limits()),
        )
        .ok()?;
        let cert = request.signed()?.signer().certificate()?;
        let cert_der = cert.to_der().ok()?;
        let registered = self
            .store()
            .get_client_by_fingerprint(&fingerprint(&cert_der))
            .ok()?
            .is_some();
        if registered || cert.tbs_certificate().issuer() != ca.subject() {
            return None;
        }
        let serial = store_serial(cert.tbs_certificate().serial_number()).ok()?;
        let record = self.store().get_cert(ca.name(), &serial).ok()??;
        (record.certificate()?.cert_der == cert_der).then(|| {
            Failure::failed(
                CmcFailInfo::BadIdentity,
                "the certificate that signs this request has expired",
            )
        })
    }

    /// An audit event for a request refused as a whole (who signed it, if
    /// known, and why). A failure to write it is logged: the client still
    /// gets its answer.
    pub(super) fn audit_refusal(
        &self,
        ca: &LoadedCa,
        signer: Option<String>,
        refusal: &Refusal,
        now: UnixTime,
    ) {
        let detail = serde_json::json!({
            "cmc_fail_info": refusal.failure.fail_info.name(),
            "status": refusal.failure.status.name(),
            "body_list": &refusal.body_list,
            "reason": &refusal.failure.text,
        });
        let event = cmc_store::AuditEvent {
            at: now,
            kind: cmc_store::AuditKind::Refused,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile: None,
            requester: signer,
            outcome: cmc_store::Outcome::Failure,
            detail: detail.to_string(),
        };
        if let Err(e) = self.store().append_audit(&event) {
            tracing::error!(ca = ca.name(), error = %e, "cannot audit a refused CMC request");
        }
    }

    /// signingTime present and within `signing_time_window_secs`, else
    /// badTime.
    pub(super) fn check_signing_time(
        &self,
        signed: &SignedRequest,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let window = self.config().requests.signing_time_window_secs;
        match signed.signer().signing_time().map(UnixTime::from) {
            Some(t) if (t.secs() - now.secs()).abs() <= window => Ok(()),
            Some(_) => Err(Refusal::message(
                CmcFailInfo::BadTime,
                "signingTime is outside the allowed window",
            )),
            None => Err(Refusal::message(
                CmcFailInfo::BadTime,
                "the request has no signingTime",
            )),
        }
    }

    /// senderNonce (remembered per signer) and transactionId.
    pub(super) fn check_replay(
        &self,
        ca: &LoadedCa,
        pki_data: &PkiData,
        credential: &[u8],
        requester: &str,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let requests = self.config().requests;
        let fp = fingerprint(credential);
        let malformed = |what: &str| Refusal::message(CmcFailInfo::BadRequest, what);
        let nonces = pki_data
            .controls_of::<SenderNonce>()
            .map_err(|_| malformed("malformed senderNonce"))?;
        if nonces.len() > 1 {
            return Err(malformed("more than one senderNonce"));
        }
        if let Some((_, nonce)) = nonces.first() {
            let expires = now.plus_secs(requests.nonce_lifetime_secs);
            match self
                .store()
                .remember_nonce(&fp, nonce.0.as_bytes(), expires, now)
            {
                Ok(()) => {}
                Err(cmc_store::Error::Replay) => {
                    tracing::warn!(ca = ca.name(), client = requester, "replayed senderNonce");
                    return Err(malformed("replayed senderNonce"));
                }
                Err(cmc_store::Error::Invalid(_)) => return Err(malformed("unusable senderNonce")),
                Err(e) => return Err(Refusal::internal(ca.name(), &e.into())),
            }
        }
        let transaction = pki_data
            .unique_control::<TransactionId>()
            .map_err(|_| malformed("malformed or repeated transactionId"))?;
        if let Some((_, id)) = transaction {
            let expires = now.plus_secs(requests.transaction_lifetime_secs);
            match self
                .store()
                .open_transaction(&fp, id.0.as_bytes(), expires, now)
            {
                Ok(_) => {}
                Err(cmc_store::Error::Invalid(_)) => {
                    return Err(malformed("unusable transactionId"));
                }
                Err(e) => return Err(Refusal::internal(ca.name(), &e.into())),
            }
        }
        Ok(())
    }
}
