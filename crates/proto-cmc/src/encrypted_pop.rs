//! The encryptedPOP rounds of RFC 5272 §6.7 for a request whose key cannot
//! sign: the challenge (an EnvelopedData to the requested key, answered
//! with status popRequired) and the check of the decryptedPOP that answers
//! it. The challenge is an HMAC under the engine's challenge key, bound to
//! the CA, the signer, the transaction and a period, recomputed in the
//! second round rather than stored ([`Engine::pop_challenge`]).

use cmc_ca::PopBinding;

use super::*;
use certify::PartContext;

impl Cmc<'_> {
    /// The request's DER as the encryptedPOP challenge covers it.
    pub(super) fn challenged_der(
        ca: &LoadedCa,
        tagged: &TaggedRequest,
    ) -> Result<Vec<u8>, Failure> {
        match tagged {
            TaggedRequest::Tcr(tcr) => tcr.certification_request.to_der(),
            TaggedRequest::Crm(crm) => crm.to_der(),
            TaggedRequest::Orm(_) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
        }
        .map_err(|e| Failure::from_engine(&cmc_ca::Error::encode("request", e), ca.name()))
    }

    /// What an encryptedPOP challenge of this request is bound to.
    fn binding<'a>(ca: &'a LoadedCa, context: &'a PartContext<'_>) -> PopBinding<'a> {
        PopBinding {
            ca: ca.name(),
            signer: &context.signer,
            transaction_id: context.transaction_id,
        }
    }

    /// The second round of RFC 5272 §6.7: thePOP = HMAC-SHA256(challenge,
    /// request) must verify for a challenge made in this period or the
    /// last one, for this signer and transaction (else popFailed). The
    /// challenge is recomputed from the request, never stored.
    pub(super) fn check_decrypted_pop(
        &self,
        ca: &LoadedCa,
        tagged: &TaggedRequest,
        id: BodyPartId,
        context: &PartContext<'_>,
    ) -> Result<(), Failure> {
        let Some(answer) = context.decrypted.get(&id) else {
            return Ok(());
        };
        if ProofHash::from_hmac_oid(&answer.the_pop_alg_id.oid) != Some(ProofHash::Sha256) {
            return Err(Failure::failed(
                CmcFailInfo::BadAlg,
                "thePOPAlgID must be the hmacWithSHA256 of the encryptedPOP",
            ));
        }
        let request_der = Self::challenged_der(ca, tagged)?;
        let binding = Self::binding(ca, context);
        let period = self.engine.pop_period(self.engine.now());
        for made in [period, period - 1] {
            let challenge = self
                .engine
                .pop_challenge(&binding, made, &request_der)
                .map_err(|e| Failure::from_engine(&e, ca.name()))?;
            if envelope::verify_the_pop(&challenge, &request_der, answer.the_pop.as_bytes()) {
                return Ok(());
            }
        }
        Err(Failure::failed(
            CmcFailInfo::PopFailed,
            "the decryptedPOP does not verify (wrong, expired, or from another signer or transaction)",
        ))
    }

    /// The first round of RFC 5272 §6.7 for a request whose key cannot
    /// sign: the challenge (an EnvelopedData to the requested key), to be
    /// answered with status popRequired.
    pub(super) fn challenge(
        &self,
        ca: &LoadedCa,
        tagged: &TaggedRequest,
        request: &cmc_policy::Request,
        id: BodyPartId,
        context: &PartContext<'_>,
    ) -> Result<EncryptedPop, Failure> {
        let internal = |e: cmc_ca::Error| Failure::from_engine(&e, ca.name());
        let request_der = Self::challenged_der(ca, tagged)?;
        let binding = Self::binding(ca, context);
        let period = self.engine.pop_period(self.engine.now());
        let challenge = self
            .engine
            .pop_challenge(&binding, period, &request_der)
            .map_err(internal)?;
        let cms = match envelope::envelop_challenge(&request.public_key, id, &challenge) {
            Ok(cms) => cms,
            Err(cmc_codec::Error::BadPublicKey(why)) => {
                return Err(Failure::no_support(format!(
                    "this key cannot prove possession: {why}"
                )));
            }
            Err(e) => return Err(codec_failure(&e, ca.name())),
        };
        let witness = OctetString::new(envelope::challenge_witness(&challenge))
            .map_err(|e| internal(cmc_ca::Error::encode("witness", e)))?;
        Ok(EncryptedPop {
            request: tagged.clone(),
            cms,
            the_pop_alg_id: ProofHash::Sha256.hmac_algorithm(),
            witness_alg_id: ProofHash::Sha256.digest_algorithm(),
            witness,
        })
    }
}
