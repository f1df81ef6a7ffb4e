//! One certification request: proof of possession, the signer's right to it, approval and issuance; the encryptedPOP rounds.

use super::*;

impl Engine {
    /// Every certification request of `signed`: POP, the signer's right,
    /// issuance; each gets its own entry in `outcome`.
    pub(super) fn certify_all(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        signed: &SignedRequest,
        ids: &[BodyPartId],
        context: &PartContext<'_>,
        outcome: &mut Outcome,
    ) {
        let requests = signed.pki_data.req_sequence.iter().zip(signed.pops());
        for ((tagged, (_, pop)), id) in requests.zip(ids.iter().copied()) {
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

    /// The profile a client gets on this CA: the CA's default when the
    /// client is granted it, else the first profile both allow.
    pub(super) fn profile_for(&self, ca: &str, client: &ClientRecord) -> String {
        let default = self.config().default_profile_name(ca);
        if client.may_use(ca, &default) {
            return default;
        }
        let settings = self.config().ca_settings(ca);
        self.config()
            .profiles
            .names()
            .filter(|p| settings.profiles.is_empty() || settings.profiles.iter().any(|s| s == p))
            .find(|p| client.may_use(ca, p))
            .map_or(default, str::to_owned)
    }

    /// One certification request: POP, who may ask for it, issuance.
    pub(super) fn certify(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        tagged: &TaggedRequest,
        pop: cmc_codec::Result<Pop>,
        id: BodyPartId,
        context: &PartContext<'_>,
    ) -> Result<Certified, Failure> {
        let is_ra = matches!(&signer.who, Who::Client(c) if c.role == ClientRole::Ra);
        let pop_failed = |text: &str| Failure::failed(CmcFailInfo::PopFailed, text);
        // A key that cannot sign proves possession by decrypting (§6.7).
        let mut decrypts = false;
        match pop {
            Ok(Pop::Pkcs10Signature | Pop::CrmfSignature { sender: None }) => {}
            // RFC 5272 §3.2.1.2.2: the template always has subject and
            // publicKey, so POPOSigningKeyInput (and its authInfo) is
            // never used in CMC; the codec refuses it for a complete
            // template, and an incomplete one is refused below.
            Ok(Pop::CrmfSignature { sender: Some(_) }) => {
                return Err(pop_failed(
                    "POPOSigningKeyInput is not used in CMC (RFC 5272 §3.2.1.2.2)",
                ));
            }
            Ok(Pop::KeyEncipherment | Pop::KeyAgreement | Pop::Pkcs10NoSignature) => {
                decrypts = true;
            }
            Ok(Pop::RaVerified) if is_ra => {}
            Ok(Pop::RaVerified) => {
                return Err(pop_failed("raVerified is accepted from an RA only"));
            }
            Ok(Pop::Absent) if is_ra && context.witnessed.contains(&id) => {}
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
        }
        let request = match tagged {
            TaggedRequest::Tcr(tcr) => {
                cmc_policy::Request::from_cert_req(&tcr.certification_request)
            }
            TaggedRequest::Crm(crm) if crm.cert_req.cert_template.subject.is_none() => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "a CRMF template in CMC has a subject (it may be empty) and a publicKey (RFC 5272 §3.2.1.2.2)",
                ));
            }
            TaggedRequest::Crm(crm) => {
                cmc_policy::Request::from_cert_template(&crm.cert_req.cert_template)
            }
            TaggedRequest::Orm(_) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
        }
        .map_err(|e| Failure::failed(CmcFailInfo::BadRequest, e.to_string()))?;
        let (profile, requester) = match &signer.who {
            Who::Client(client) => {
                let profile = self.profile_for(ca.name(), client);
                // RAs and agents ask for others; end entities for themselves.
                let action = if matches!(client.role, ClientRole::Ra | ClientRole::Agent) {
                    Action::EnrollOnBehalf
                } else {
                    Action::Enroll
                };
                match self.authorize(&signer.credential, ca.name(), &profile, action) {
                    Ok(Decision::Allowed(_)) => {}
                    Ok(Decision::Denied(reason)) => {
                        tracing::info!(ca = ca.name(), client = client.id, %reason,
                            body_part = id, "certification request not permitted");
                        return Err(Failure::failed(
                            CmcFailInfo::BadRequest,
                            "the signer may not make this request",
                        ));
                    }
                    Err(e) => return Err(Failure::from_engine(&e, ca.name(), id)),
                }
                (profile, client.id.clone())
            }
            Who::Secret { record, hash, .. } => {
                let profile = record
                    .profile
                    .clone()
                    .unwrap_or_else(|| self.config().default_profile_name(ca.name()));
                // RFC 5272 §6.3.1: the server MUST check the witness; a
                // request authenticated by a shared secret is linked to
                // its identity proof, whatever the profile says.
                check_pop_link(record, *hash, tagged, context.link_random)?;
                (profile, signer.requester())
            }
            Who::Holder { cert, profile, .. } => {
                let profile = self.renewal_profile(ca.name(), profile);
                let allows_reuse = self
                    .check_profile(ca.name(), &profile)
                    .map_err(|e| Failure::from_engine(&e, ca.name(), id))?
                    .allows_key_reuse();
                check_renewal(cert, &request, allows_reuse)?;
                (profile, signer.requester())
            }
        };
        if decrypts {
            if let Some(challenge) = self.pop_round(ca, tagged, &request, id, context)? {
                return Ok(Certified::Challenge(Box::new(challenge)));
            }
        }
        let needs_approval = self
            .check_profile(ca.name(), &profile)
            .map_err(|e| Failure::from_engine(&e, ca.name(), id))?
            .requires_approval();
        let names = signer.names();
        let mut auto_approved = false;
        if needs_approval {
            // Refused now rather than held for an agent to find it refused.
            self.precheck(ca, &profile, &request, &names)
                .map_err(|e| Failure::from_engine(&e, ca.name(), id))?;
            // The CA's bootstrap auto-approvals (`ca init --auto-approve`)
            // issue the first requests without an agent.
            auto_approved = self
                .store()
                .take_auto_approval(ca.name())
                .map_err(|e| Failure::from_engine(&e.into(), ca.name(), id))?;
            if !auto_approved {
                if matches!(signer.who, Who::Secret { .. })
                    && self
                        .store()
                        .count_pending_for_client(&requester)
                        .map_err(|e| Failure::from_engine(&e.into(), ca.name(), id))?
                        > 0
                {
                    return Err(Failure::failed(
                        CmcFailInfo::BadRequest,
                        "a request made with this secret is waiting for approval: ask with queryPending",
                    ));
                }
                return self
                    .hold(ca, &requester, &profile, tagged, id)
                    .map(Certified::Held);
            }
            tracing::info!(
                ca = ca.name(),
                client = requester,
                body_part = id,
                "request auto-approved (bootstrap)"
            );
        }
        let der = tagged.to_der().map_err(|e| {
            Failure::from_engine(&crate::Error::encode("request", e), ca.name(), id)
        })?;
        // A one-time secret is spent on the certificate it gets, not
        // before: a refusal, a challenge round or a held request leave it
        // usable (a failed issuance gives it back).
        let spent = match self.spend(ca, signer, id) {
            Ok(spent) => spent,
            Err(failure) => {
                if auto_approved {
                    self.return_auto_approval(ca);
                }
                return Err(failure);
            }
        };
        self.issue_for(ca, Some(&profile), &request, &requester, &names, &der)
            .map(|issued| Certified::Issued(Box::new(issued.certificate)))
            .map_err(|e| {
                if let Some(at) = spent {
                    self.give_back(ca, signer, at);
                }
                if auto_approved {
                    self.return_auto_approval(ca);
                }
                Failure::from_engine(&e, ca.name(), id)
            })
    }

    /// Gives back a bootstrap auto-approval taken for a request whose
    /// issuance failed: a refused request does not use up the operator's
    /// grant.
    pub(super) fn return_auto_approval(&self, ca: &LoadedCa) {
        if let Err(e) = self.store().return_auto_approval(ca.name()) {
            tracing::error!(ca = ca.name(), error = %e, "cannot give back an auto-approval");
        }
    }

    /// The encryptedPOP rounds of RFC 5272 §6.7 for a request whose key
    /// cannot sign. Without a decryptedPOP for it: the challenge (an
    /// EnvelopedData to the requested RSA key), to be answered with status
    /// popRequired. With one: `None` if thePOP = HMAC-SHA256(challenge,
    /// request) verifies, else popFailed. The challenge is recomputed from
    /// the request, never stored.
    pub(super) fn pop_round(
        &self,
        ca: &LoadedCa,
        tagged: &TaggedRequest,
        request: &cmc_policy::Request,
        id: BodyPartId,
        context: &PartContext<'_>,
    ) -> Result<Option<EncryptedPop>, Failure> {
        let internal = |e: crate::Error| Failure::from_engine(&e, ca.name(), id);
        let request_der = match tagged {
            TaggedRequest::Tcr(tcr) => tcr.certification_request.to_der(),
            TaggedRequest::Crm(crm) => crm.to_der(),
            TaggedRequest::Orm(_) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
        }
        .map_err(|e| internal(crate::Error::encode("request", e)))?;
        let binding = PopBinding {
            ca: ca.name(),
            signer: &context.signer,
            transaction_id: context.transaction_id,
        };
        let period = self.pop_period(self.now());
        if let Some(answer) = context.decrypted.get(&id) {
            if ProofHash::from_hmac_oid(&answer.the_pop_alg_id.oid) != Some(ProofHash::Sha256) {
                return Err(Failure::failed(
                    CmcFailInfo::BadAlg,
                    "thePOPAlgID must be the hmacWithSHA256 of the encryptedPOP",
                ));
            }
            // Made in this period or the last one, for this signer and
            // transaction.
            for made in [period, period - 1] {
                let challenge = self
                    .pop_challenge(&binding, made, &request_der)
                    .map_err(internal)?;
                if envelope::verify_the_pop(&challenge, &request_der, answer.the_pop.as_bytes()) {
                    return Ok(None);
                }
            }
            return Err(Failure::failed(
                CmcFailInfo::PopFailed,
                "the decryptedPOP does not verify (wrong, expired, or from another signer or transaction)",
            ));
        }
        let challenge = self
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
            .map_err(|e| internal(crate::Error::encode("witness", e)))?;
        Ok(Some(EncryptedPop {
            request: tagged.clone(),
            cms,
            the_pop_alg_id: ProofHash::Sha256.hmac_algorithm(),
            witness_alg_id: ProofHash::Sha256.digest_algorithm(),
            witness,
        }))
    }

    /// The profile a renewal gets: the one the signing certificate was
    /// issued with while this CA still issues with it, else the CA's
    /// default.
    pub(super) fn renewal_profile(&self, ca: &str, issued_with: &str) -> String {
        if self.check_profile(ca, issued_with).is_ok() {
            issued_with.to_owned()
        } else {
            self.config().default_profile_name(ca)
        }
    }
}

/// What every certification request of one PKIData is checked against.
pub(super) struct PartContext<'a> {
    /// The SHA-256 fingerprint of the signer credential (encryptedPOP
    /// challenges are bound to it).
    pub(super) signer: Fingerprint,
    /// The transactionId's value, empty without one.
    pub(super) transaction_id: &'a [u8],
    /// The requests an lraPOPWitness names.
    pub(super) witnessed: &'a BTreeSet<BodyPartId>,
    /// The popLinkRandom control's value.
    pub(super) link_random: Option<&'a [u8]>,
    /// The decryptedPOP controls, by the body part they answer for.
    pub(super) decrypted: &'a BTreeMap<BodyPartId, DecryptedPop>,
}

/// The popLinkWitnessV2 of one request of a shared-secret signer (RFC 5272
/// §6.3.1.1): HMAC(H(secret), popLinkRandom) inside the signed request,
/// required in every certification request authenticated by a secret
/// (missing: badRequest; wrong: popFailed).
fn check_pop_link(
    record: &SecretRecord,
    hash: ProofHash,
    tagged: &TaggedRequest,
    random: Option<&[u8]>,
) -> Result<(), Failure> {
    let bad_request = |text: &str| Failure::failed(CmcFailInfo::BadRequest, text);
    let witness = find_pop_link_witness(tagged)
        .map_err(|e| bad_request(&e.to_string()))?
        .ok_or_else(|| {
            bad_request(
                "a request authenticated by a shared secret needs popLinkRandom and a popLinkWitnessV2 in each certification request",
            )
        })?;
    let random =
        random.ok_or_else(|| bad_request("popLinkWitnessV2 without a popLinkRandom control"))?;
    let family = proof_family(&witness.key_gen_algorithm, &witness.mac_algorithm)
        .map_err(|e| Failure::failed(CmcFailInfo::BadAlg, format!("popLinkWitnessV2: {e}")))?;
    if family != hash {
        return Err(Failure::failed(
            CmcFailInfo::BadAlg,
            format!("popLinkWitnessV2 uses {family}, the identity proof {hash}"),
        ));
    }
    let Some(key) = &record.link_key else {
        return Err(bad_request(
            "this shared secret was registered without a POP link key",
        ));
    };
    if hash.verify_hmac(key, random, witness.witness.as_bytes()) {
        Ok(())
    } else {
        Err(Failure::failed(
            CmcFailInfo::PopFailed,
            "the popLinkWitnessV2 does not verify",
        ))
    }
}

/// A renewal or re-key signed by a certificate of this CA (RFC 5272
/// §6.3.3, existing certificate linking): the same subject as the signing
/// certificate (else badIdentity), and a new key unless the profile allows
/// key reuse (else noKeyReuse).
fn check_renewal(
    old: &Certificate,
    request: &cmc_policy::Request,
    allows_reuse: bool,
) -> Result<(), Failure> {
    let tbs = old.tbs_certificate();
    if &request.subject != tbs.subject() {
        return Err(Failure::failed(
            CmcFailInfo::BadIdentity,
            "a renewal must name the subject of the certificate that signs it",
        ));
    }
    if !allows_reuse && &request.public_key == tbs.subject_public_key_info() {
        return Err(Failure::failed(
            CmcFailInfo::NoKeyReuse,
            "the renewal requests the key of the certificate that signs it",
        ));
    }
    Ok(())
}
