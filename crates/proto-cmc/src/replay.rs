//! Message-level checks around the signer: signingTime, senderNonce and
//! transactionId replay, an expired holder, and the audit of a refused
//! request.

use cmc_ca::Replay;

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
    pub(super) fn check_signing_time(
        &self,
        signing_time: Option<std::time::SystemTime>,
    ) -> Result<(), MessageFailure> {
        match signing_time.map(UnixTime::from) {
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

    /// senderNonce (remembered per signer credential) and transactionId:
    /// a nonce seen before is refused now, before any work; nothing is
    /// written here. The records go into the message's first write unit
    /// (the [`Replay`] is passed to every call that writes), or are
    /// committed by [`Cmc::record_replay`] before anything else is done.
    pub(super) fn check_replay(
        &self,
        ca: &LoadedCa,
        controls: &Controls,
        credential: &[u8],
        requester: &str,
    ) -> Result<Replay, MessageFailure> {
        self.engine
            .check_replay(
                ca.name(),
                credential,
                controls.sender_nonce.as_deref(),
                controls.transaction_id.as_deref(),
            )
            .map_err(|refused| replay_failure(ca, requester, refused))
    }

    /// Commits the message's replay records unless a write unit of its
    /// body parts carried them (done before revocations and nested
    /// requests, so that nothing is done for a copy of a message another
    /// request committed first).
    pub(super) fn record_replay(
        &self,
        ca: &LoadedCa,
        replay: &Replay,
        requester: &str,
    ) -> Result<(), MessageFailure> {
        self.engine
            .record_replay(ca.name(), replay)
            .map_err(|refused| replay_failure(ca, requester, refused))
    }
}

/// The message failure for a refused senderNonce or transactionId.
pub(super) fn replay_failure(ca: &LoadedCa, requester: &str, refused: Refused) -> MessageFailure {
    let malformed = |what: &str| MessageFailure::message(CmcFailInfo::BadRequest, what);
    if refused.is_replay() {
        return replayed(ca, requester);
    }
    match (refused.reason, refused.detail.as_str()) {
        (cmc_ca::Reason::BadRequest, "unusable nonce") => malformed("unusable senderNonce"),
        (cmc_ca::Reason::BadRequest, "unusable transaction id") => {
            malformed("unusable transactionId")
        }
        _ => MessageFailure::refused(refused),
    }
}

/// The message failure for a senderNonce this signer sent before (found
/// by the early read, or by the commit of the message's first unit when a
/// concurrent copy committed it first).
pub(super) fn replayed(ca: &LoadedCa, requester: &str) -> MessageFailure {
    tracing::warn!(ca = ca.name(), client = requester, "senderNonce replayed");
    MessageFailure::message(CmcFailInfo::BadRequest, "replayed senderNonce")
}
