//! RA-wrapped requests: nested signed PKIData in cmsSequence (RFC 5272 §3.2.1.3.1, §7.1).

use super::*;

impl Cmc<'_> {
    /// One cmsSequence item of an RA's request: a Full PKI Request of an
    /// end entity (RFC 5272 §3.2.1.3.1, §7.1), whose signature is verified
    /// and whose certification requests are then processed under the RA's
    /// authority (the RA vouches for the end entity's identity; each
    /// request still proves possession of its key). The answer is a signed
    /// PKIResponse to that PKIData, for the response's cmsSequence.
    pub(super) fn nested(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        tagged: &TaggedContentInfo,
        from_ra: &modify::FromRa,
        budget: &std::cell::Cell<usize>,
        now: UnixTime,
    ) -> Result<NestedReply, Failure> {
        let is_ra = signer.kind() == PrincipalKind::Ra;
        if !is_ra {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                "only an RA may submit nested requests",
            ));
        }
        let encrypted =
            cmc_codec::decrypt::EnvelopeKind::of(&tagged.content_info.content_type).is_some();
        if tagged.content_info.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA && !encrypted
        {
            return Err(Failure::no_support(
                "only signed nested requests (SignedData, or an envelope around one) are processed",
            ));
        }
        let der = tagged.content_info.to_der().map_err(|e| {
            Failure::from_engine(&cmc_ca::Error::encode("nested request", e), ca.name())
        })?;
        let der = match self.open_envelopes(ca, &der) {
            Ok(opened) => opened.unwrap_or(der),
            Err(decrypt::Unopened::Refused(failure)) => return Err(failure),
            Err(decrypt::Unopened::NotCmc(_)) => {
                return Err(Failure::failed(
                    CmcFailInfo::BadMessageCheck,
                    "the encrypted nested request does not decode",
                ));
            }
        };
        let inner = match decode_full_request(
            &der,
            &VerifyOptions::new(now.to_system_time()).with_limits(self.engine.config().limits()),
        ) {
            Ok(FullRequest::Signed(inner)) => inner,
            Ok(FullRequest::Unsigned(_)) => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "a nested request must be signed",
                ));
            }
            Err(e) if encrypted => {
                return Err(codec_failure(&decrypt::inner_error(e), ca.name()));
            }
            Err(e) if e.is_not_cms() => {
                return Err(Failure::failed(CmcFailInfo::BadRequest, e.to_string()));
            }
            Err(e) => return Err(codec_failure(&e, ca.name())),
        };
        let inner_parts = inner.pki_data.req_sequence.len()
            + inner.pki_data.cms_sequence.len()
            + inner.pki_data.other_msg_sequence.len();
        let Some(left) = budget.get().checked_sub(inner_parts) else {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                format!(
                    "the nested requests exceed the limit of {} requests in one PKIData",
                    self.engine.config().requests.max_requests_per_pki_data
                ),
            ));
        };
        budget.set(left);
        let echo = Echo::of(&inner.pki_data);
        let (outcome, refusal) = match self.process_inner(ca, signer, &inner, from_ra) {
            Ok(outcome) => (outcome, None),
            Err(refusal) => (PartResults::default(), Some(refusal)),
        };
        let issued = outcome.issued.len();
        let reply = self
            .reply(ca, &echo, outcome, refusal, now)
            .map_err(|_| Failure::failed(CmcFailInfo::InternalCaError, "internal CA error"))?;
        let content_info = ContentInfo::from_der(&reply.der).map_err(|e| {
            Failure::from_engine(&cmc_ca::Error::encode("nested response", e), ca.name())
        })?;
        Ok(NestedReply {
            content_info,
            issued,
        })
    }

    /// The PKIData of a nested request: signingTime, body part ids, its
    /// senderNonce (remembered per end-entity signer), the controls a
    /// nested request may carry, then its certification requests. Deeper
    /// nesting and other messages are noSupport.
    pub(super) fn process_inner(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        inner: &SignedRequest,
        from_ra: &modify::FromRa,
    ) -> Result<PartResults, MessageFailure> {
        self.check_signing_time(inner.signer().signing_time())?;
        let ids = body_part_ids(&inner.pki_data)?;
        check_control_limits(&inner.pki_data, &self.engine.config().requests)?;
        // The controls the RA handled (controlProcessed, and the identity
        // proof under raIdentityWitness) are neither refused nor processed
        // again.
        let view = from_ra.view(&inner.pki_data);
        let pki_data = &view;
        refuse_controls(pki_data, "unsupported control in a nested request", |oid| {
            !NESTED_CONTROLS.contains(oid)
        })?;
        let credential = match inner.signer().certificate() {
            Some(cert) => cert.to_der(),
            None => inner.signer().public_key.to_der(),
        }
        .map_err(|e| MessageFailure::internal(ca.name(), &cmc_ca::Error::encode("signer", e)))?;
        let controls = Controls::decode(pki_data)?;
        let requester = "nested end entity";
        let replay = self.check_replay(ca, &controls, &credential, requester)?;
        let mut outcome = PartResults::default();
        let context = PartContext {
            signer: certify::fingerprint(&credential),
            transaction_id: controls.transaction_id.as_deref().unwrap_or_default(),
            witnessed: &from_ra.pop_witnessed,
            link_random: None,
            decrypted: &controls.decrypted,
            replay: &replay,
            replayed: std::cell::Cell::new(false),
            modify: modify::Modify {
                changes: &from_ra.changes,
                signer_subject: inner
                    .signer()
                    .certificate()
                    .map(|c| c.tbs_certificate().subject()),
                ca: ca.name(),
            },
        };
        self.certify_all(ca, signer, pki_data, &ids, &context, &mut outcome);
        if context.replayed.get() {
            return Err(replay::replayed(ca, requester));
        }
        self.record_replay(ca, &replay, requester)?;
        admin::refuse_admin(pki_data, &mut outcome);
        for id in pki_data
            .cms_sequence
            .iter()
            .map(|c| c.body_part_id)
            .chain(pki_data.other_msg_sequence.iter().map(|o| o.body_part_id))
        {
            outcome.failed.push((
                Failure::no_support("nesting deeper than one level is not supported"),
                id,
            ));
        }
        Ok(outcome)
    }
}
