//! Message-level checks around the signer: signingTime, senderNonce and
//! transactionId replay, an expired holder, and the audit of a refused
//! request.

use super::*;

impl Cmc<'_> {
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
            &VerifyOptions::new(not_after).with_limits(self.engine.config().limits()),
        )
        .ok()?;
        let cert = request.signed()?.signer().certificate()?;
        self.engine.is_expired_holder(ca.name(), cert).then(|| {
            Failure::failed(
                CmcFailInfo::BadIdentity,
                "the certificate that signs this request has expired",
            )
        })
    }

    /// An audit event for a request refused as a whole (who signed it, if
    /// known, and why).
    pub(super) fn audit_refusal(
        &self,
        ca: &LoadedCa,
        signer: Option<String>,
        refusal: &MessageFailure,
    ) {
        let detail = serde_json::json!({
            "cmc_fail_info": refusal.failure.fail_info.name(),
            "status": refusal.failure.status.name(),
            "body_list": &refusal.body_list,
            "reason": &refusal.failure.text,
        });
        self.engine.audit_refusal(ca.name(), signer, &detail);
    }

    /// signingTime present and within `signing_time_window_secs`, else
    /// badTime.
    pub(super) fn check_signing_time(&self, signed: &SignedRequest) -> Result<(), MessageFailure> {
        match signed.signer().signing_time().map(UnixTime::from) {
            Some(t) if self.engine.within_signing_window(t) => Ok(()),
            Some(_) => Err(MessageFailure::message(
                CmcFailInfo::BadTime,
                "signingTime is outside the allowed window",
            )),
            None => Err(MessageFailure::message(
                CmcFailInfo::BadTime,
                "the request has no signingTime",
            )),
        }
    }

    /// senderNonce (remembered per signer credential) and transactionId.
    pub(super) fn check_replay(
        &self,
        ca: &LoadedCa,
        controls: &Controls,
        credential: &[u8],
        requester: &str,
    ) -> Result<(), MessageFailure> {
        let malformed = |what: &str| MessageFailure::message(CmcFailInfo::BadRequest, what);
        if let Some(nonce) = &controls.sender_nonce {
            self.engine
                .remember_nonce(ca.name(), credential, nonce)
                .map_err(|refused| {
                    if refused.reason == cmc_ca::Reason::BadRequest {
                        tracing::warn!(
                            ca = ca.name(),
                            client = requester,
                            why = refused.detail,
                            "senderNonce refused"
                        );
                        malformed(&format!("{} senderNonce", refused.detail))
                    } else {
                        MessageFailure::refused(refused)
                    }
                })?;
        }
        if let Some(id) = &controls.transaction_id {
            self.engine
                .open_transaction(ca.name(), credential, id)
                .map_err(|refused| {
                    if refused.reason == cmc_ca::Reason::BadRequest {
                        malformed(&format!("{} transactionId", refused.detail))
                    } else {
                        MessageFailure::refused(refused)
                    }
                })?;
        }
        Ok(())
    }
}
