//! One certification request: its proof of possession as CMC carries it
//! (POPO, raVerified, lraPOPWitness, popLinkWitnessV2; the encryptedPOP
//! rounds are `encrypted_pop.rs`), then [`Engine::enroll`] for everything
//! else.

use cmc_ca::{Enrolled, EnrollmentRequest, ProofOfPossession, Replay, RequestForm};

use super::*;

impl Cmc<'_> {
    /// Every certification request of `pki_data`: POP, the signer's right,
    /// issuance; each gets its own entry in `outcome`.
    pub(super) fn certify_all(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        pki_data: &PkiData,
        ids: &[BodyPartId],
        context: &PartContext<'_>,
        outcome: &mut PartResults,
    ) {
        let requests = pki_data.req_sequence.iter();
        for (tagged, id) in requests.zip(ids.iter().copied()) {
            let pop = cmc_codec::verify_request_pop(tagged);
            if context.replayed.get() {
                return;
            }
            match self.certify(ca, signer, tagged, pop, id, context) {
                Ok(Certified::Issued(cert)) => {
                    outcome.succeeded.push(id);
                    outcome.issued.push(*cert);
                }
                Ok(Certified::Held(info)) => outcome.pending.push((id, info)),
                Ok(Certified::Challenge(challenge)) => {
                    outcome.failed.push((
                        Failure::pop_required(
                            "decrypt the encryptedPOP challenge and send decryptedPOP",
                        ),
                        id,
                    ));
                    outcome.challenges.push(*challenge);
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
    }

    /// One certification request: how CMC proves possession, then the
    /// engine.
    pub(super) fn certify(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        tagged: &TaggedRequest,
        pop: cmc_codec::Result<Pop>,
        id: BodyPartId,
        context: &PartContext<'_>,
    ) -> Result<Certified, Failure> {
        let pop_failed = |text: &str| Failure::failed(CmcFailInfo::PopFailed, text);
        let pop = match pop {
            Ok(Pop::Pkcs10Signature | Pop::CrmfSignature { sender: None }) => {
                ProofOfPossession::Signature
            }
            // RFC 5272 §3.2.1.2.2: the template always has subject and
            // publicKey, so POPOSigningKeyInput (and its authInfo) is
            // never used in CMC; the codec refuses it for a complete
            // template, and an incomplete one is refused below.
            Ok(Pop::CrmfSignature { sender: Some(_) }) => {
                return Err(pop_failed(
                    "POPOSigningKeyInput is not used in CMC (RFC 5272 §3.2.1.2.2)",
                ));
            }
            // A key that cannot sign proves possession by decrypting (§6.7).
            Ok(Pop::KeyEncipherment | Pop::KeyAgreement | Pop::Pkcs10NoSignature) => {
                if context.decrypted.contains_key(&id) {
                    ProofOfPossession::Decrypted
                } else {
                    ProofOfPossession::NotYetProven
                }
            }
            Ok(Pop::Pkcs10DhPop(dh)) => {
                self.verify_dh_pop(ca, tagged, &dh, id)?;
                ProofOfPossession::KeyAgreement
            }
            Ok(Pop::RaVerified) => ProofOfPossession::RaVerified,
            Ok(Pop::Absent) if context.witnessed.contains(&id) => ProofOfPossession::RaVerified,
            Ok(Pop::Absent) => {
                return Err(pop_failed(
                    "no proof of possession, and no lraPOPWitness from an RA names this request",
                ));
            }
            Ok(Pop::OtherRequest) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
            Ok(_) => {
                return Err(Failure::no_support(
                    "this proof of possession is not supported",
                ));
            }
            Err(e) => return Err(codec_failure(&e, ca.name())),
        };
        let form = match tagged {
            TaggedRequest::Tcr(tcr) => RequestForm::Pkcs10 {
                reference: tcr.body_part_id,
                csr: Box::new(tcr.certification_request.clone()),
            },
            TaggedRequest::Crm(crm) => RequestForm::Crmf(crm.clone()),
            TaggedRequest::Orm(_) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
        };
        // RFC 5272 §6.3.1: the server MUST check the witness; a request
        // authenticated by a shared secret is linked to its identity
        // proof, whatever the profile says.
        if signer.kind() == PrincipalKind::SecretOwner {
            check_pop_link(signer, tagged, context.link_random)?;
        }
        // The answer to a challenge is checked before the engine sees the
        // request: what the engine hears is "possession proven".
        if pop == ProofOfPossession::Decrypted {
            self.check_decrypted_pop(ca, tagged, id, context)?;
        }
        // Possession was proven on the request as signed; what the engine is
        // asked for may then differ (RFC 5272 §6.5, §7).
        let form = context.modify.apply(form, tagged, id)?;
        let raw = tagged
            .to_der()
            .map_err(|e| Failure::from_engine(&cmc_ca::Error::encode("request", e), ca.name()))?;
        let enrolled = self
            .engine
            .enroll(EnrollmentRequest {
                ca: ca.name(),
                principal: signer,
                form: form.clone(),
                pop,
                raw: &raw,
                replay: Some(context.replay),
            })
            .inspect_err(|refused| {
                if refused.is_replay() {
                    context.replayed.set(true);
                }
            })?;
        match enrolled {
            Enrolled::Issued(issued) => Ok(Certified::Issued(Box::new(issued.certificate))),
            Enrolled::Held(held) => Ok(Certified::Held(pend_info(ca.name(), &held)?)),
            Enrolled::ProveByDecryption => {
                let request = form.policy_request()?;
                self.challenge(ca, tagged, &request, id, context)
                    .map(|c| Certified::Challenge(Box::new(c)))
            }
        }
    }
}

/// The pendInfo of a held request: its token and when to ask again.
pub(super) fn pend_info(ca: &str, held: &cmc_ca::Held) -> Result<PendInfo, Failure> {
    let internal = |what: &'static str, e: der::Error| {
        Failure::from_engine(&cmc_ca::Error::encode(what, e), ca)
    };
    Ok(PendInfo {
        pend_token: OctetString::new(held.token.as_bytes())
            .map_err(|e| internal("pendToken", e))?,
        pend_time: der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(
            u64::try_from(held.poll_at.secs()).unwrap_or(0),
        ))
        .map_err(|e| internal("pendTime", e))?,
    })
}

/// What every certification request of one PKIData is checked against.
pub(super) struct PartContext<'a> {
    /// The SHA-256 fingerprint of the signer credential (encryptedPOP
    /// challenges are bound to it).
    pub(super) signer: Vec<u8>,
    /// The transactionId's value, empty without one.
    pub(super) transaction_id: &'a [u8],
    /// The requests an lraPOPWitness names.
    pub(super) witnessed: &'a BTreeSet<BodyPartId>,
    /// The popLinkRandom control's value.
    pub(super) link_random: Option<&'a [u8]>,
    /// The decryptedPOP controls, by the body part they answer for.
    pub(super) decrypted: &'a BTreeMap<BodyPartId, DecryptedPop>,
    /// The message's replay records, written with its first unit.
    pub(super) replay: &'a Replay,
    /// Set when a unit found the senderNonce committed by a concurrent
    /// copy of the message: the message is refused as a whole (nothing
    /// of it was written).
    pub(super) replayed: std::cell::Cell<bool>,
    /// What changes the requests after their proof of possession
    /// (changeSubjectName, the RA's modCertTemplate and addExtensions).
    pub(super) modify: modify::Modify<'a>,
}

/// The SHA-256 fingerprint of a credential.
pub(super) fn fingerprint(credential: &[u8]) -> Vec<u8> {
    Sha256::digest(credential).to_vec()
}

/// The popLinkWitnessV2 of one request of a shared-secret signer (RFC 5272
/// §6.3.1.1): HMAC(H(secret), popLinkRandom) inside the signed request,
/// required in every certification request authenticated by a secret
/// (missing: badRequest; wrong: popFailed). The version 1 popLinkWitness
/// (SHA-1 and HMAC-SHA1 implied) is taken from a signer whose secret is a
/// SHA-1 one, which only a CA with `allow_sha1_identity_proof` accepts.
fn check_pop_link(
    signer: &Principal,
    tagged: &TaggedRequest,
    random: Option<&[u8]>,
) -> Result<(), Failure> {
    let bad_request = |text: &str| Failure::failed(CmcFailInfo::BadRequest, text);
    let v2 = find_pop_link_witness(tagged).map_err(|e| bad_request(&e.to_string()))?;
    let v1 = find_pop_link_witness_v1(tagged).map_err(|e| bad_request(&e.to_string()))?;
    let witness = match (v2, v1) {
        (Some(_), Some(_)) => {
            return Err(bad_request(
                "a request carries popLinkWitnessV2 or popLinkWitness, not both",
            ));
        }
        (None, Some(v1)) => {
            if signer.proof_hash() != Some(ProofHash::Sha1) {
                return Err(Failure::failed(
                    CmcFailInfo::BadAlg,
                    "popLinkWitness (version 1) is SHA-1: only for a secret registered with SHA-1",
                ));
            }
            let random = random
                .ok_or_else(|| bad_request("popLinkWitness without a popLinkRandom control"))?;
            return match signer.verify_link_witness(random, v1.as_bytes()) {
                Some(true) => Ok(()),
                Some(false) => Err(Failure::failed(
                    CmcFailInfo::PopFailed,
                    "the popLinkWitness does not verify",
                )),
                None => Err(bad_request(
                    "this shared secret was registered without a POP link key",
                )),
            };
        }
        (Some(v2), None) => v2,
        (None, None) => {
            return Err(bad_request(
                "a request authenticated by a shared secret needs popLinkRandom and a popLinkWitnessV2 in each certification request",
            ));
        }
    };
    let random =
        random.ok_or_else(|| bad_request("popLinkWitnessV2 without a popLinkRandom control"))?;
    let family = proof_family(&witness.key_gen_algorithm, &witness.mac_algorithm)
        .map_err(|e| Failure::failed(CmcFailInfo::BadAlg, format!("popLinkWitnessV2: {e}")))?;
    if let Some(hash) = signer.proof_hash() {
        if family != hash {
            return Err(Failure::failed(
                CmcFailInfo::BadAlg,
                format!("popLinkWitnessV2 uses {family}, the identity proof {hash}"),
            ));
        }
    }
    match signer.verify_link_witness(random, witness.witness.as_bytes()) {
        Some(true) => Ok(()),
        Some(false) => Err(Failure::failed(
            CmcFailInfo::PopFailed,
            "the popLinkWitnessV2 does not verify",
        )),
        None => Err(bad_request(
            "this shared secret was registered without a POP link key",
        )),
    }
}
