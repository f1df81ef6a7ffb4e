//! The signed PKIResponse.

use super::*;

impl Cmc<'_> {
    /// Builds, signs and summarises the response.
    pub(super) fn reply(
        &self,
        ca: &LoadedCa,
        echo: &Echo,
        outcome: PartResults,
        refusal: Option<MessageFailure>,
        now: UnixTime,
    ) -> Result<CmcReply, NotCmc> {
        let encode_failed = |e: cmc_asn1::Error| {
            tracing::error!(ca = ca.name(), error = %e, "cannot encode a CMC response");
            NotCmc::Internal
        };
        let mut out = ResponseBuilder::default();
        match &refusal {
            Some(r) => out.failure(&r.failure, &r.body_list),
            None if outcome.succeeded.is_empty()
                && outcome.failed.is_empty()
                && outcome.pending.is_empty() =>
            {
                // Nothing but controls: the PKIData as a whole succeeded.
                out.status(CmcStatus::Success, &[0], None, None)
            }
            None => out.status(CmcStatus::Success, &outcome.succeeded, None, None),
        }
        .map_err(encode_failed)?;
        for (failure, id) in &outcome.failed {
            out.failure(failure, &[*id]).map_err(encode_failed)?;
        }
        for (id, info) in &outcome.pending {
            out.pending(&[*id], info.clone()).map_err(encode_failed)?;
        }
        if let Some(nonce) = &echo.sender_nonce {
            out.control(&RecipientNonce(nonce.clone()))
                .map_err(encode_failed)?;
        }
        let mut fresh = [0u8; NONCE_LEN];
        getrandom::fill(&mut fresh).map_err(|_| {
            tracing::error!(ca = ca.name(), "the system random number generator failed");
            NotCmc::Internal
        })?;
        let fresh = OctetString::new(fresh.to_vec()).map_err(|e| encode_failed(e.into()))?;
        out.control(&SenderNonce(fresh)).map_err(encode_failed)?;
        if let Some(t) = &echo.transaction_id {
            out.control(t).map_err(encode_failed)?;
        }
        for d in &echo.data_return {
            out.control(d).map_err(encode_failed)?;
        }
        for r in &echo.reg_info {
            out.control(&ResponseInfo(r.0.clone()))
                .map_err(encode_failed)?;
        }
        for challenge in &outcome.challenges {
            out.control(challenge).map_err(encode_failed)?;
        }
        // Last: the controls naming the nested responses take the ids
        // after every other control.
        out.nested(outcome.nested, outcome.batch)
            .map_err(encode_failed)?;
        self.publish_anchors(ca, &mut out, outcome.shared_secret.as_ref(), now)
            .map_err(encode_failed)?;
        let (response, statuses) = out.finish();
        // The configured CMC responder while its certificate is valid, else
        // the CA itself (which the client trusts either way); each carries
        // its chain, encoded when it was loaded.
        let responder = self.engine.responder(ca.name()).filter(|r| {
            let valid = r.is_valid_at(now);
            if !valid {
                tracing::warn!(ca = ca.name(), not_after = %r.not_after(),
                    "the CMC responder certificate is not valid: signing with the CA key");
            }
            valid
        });
        let signer = match &responder {
            Some(r) => CmsSigner::with_identity(r.key().as_ref(), r.signer_identity()),
            None => CmsSigner::with_identity(ca.key().as_ref(), ca.signer_identity()),
        }
        .map_err(|e| {
            tracing::error!(ca = ca.name(), error = %e, "cannot set up the CMC response signer");
            NotCmc::Internal
        })?;
        let certificates: Vec<Certificate> = outcome
            .issued
            .iter()
            .chain(&outcome.fetched)
            .cloned()
            .collect();
        let der = sign_response_with_crls(
            &response,
            &signer,
            now.to_system_time(),
            &certificates,
            &outcome.crls,
        )
        .map_err(|e| {
            tracing::error!(ca = ca.name(), error = %e, "cannot sign a CMC response");
            NotCmc::Internal
        })?;
        Ok(CmcReply {
            der,
            content_type: CMC_RESPONSE_CONTENT_TYPE,
            statuses,
            issued: outcome.issued.len() + outcome.nested_issued,
            authenticated: echo.authenticated,
        })
    }
}
