//! Who signed a request: the CMS signer certificate (a registered client
//! or the holder of a certificate of this CA, resolved by the engine), or,
//! for a request signed with the requested key, the owner of the one-time
//! secret its identityProofV2 proves.

use super::*;

impl Cmc<'_> {
    /// Who signed: a registered, active client allowed on this CA; the
    /// holder of a valid certificate of this CA; or, for a request signed
    /// with the requested key, the owner of an enrollment secret. A TLS
    /// client certificate, when there is one, must be the CMS signer.
    pub(super) fn identify(
        &self,
        ca: &LoadedCa,
        signed: &SignedRequest,
        transport: &Transport,
    ) -> Result<Principal, MessageFailure> {
        let Some(cert) = signed.signer().certificate() else {
            return self.secret_owner(ca, signed);
        };
        let cert_der = cert.to_der().map_err(|e| {
            MessageFailure::internal(ca.name(), &cmc_ca::Error::encode("certificate", e))
        })?;
        if transport
            .tls_client_cert
            .as_ref()
            .is_some_and(|tls| *tls != cert_der)
        {
            tracing::info!(
                ca = ca.name(),
                "CMC signer refused: the TLS client certificate is not the CMS signer"
            );
            return Err(MessageFailure::message(
                CmcFailInfo::BadIdentity,
                "the signer is not authorised",
            ));
        }
        self.engine
            .principal_by_certificate(ca.name(), cert)
            .map_err(MessageFailure::refused)
    }

    /// The owner of the enrollment secret that a request signed with the
    /// requested key (sid = its subjectKeyIdentifier) names in its
    /// identification control, if its identityProofV2 (or, where SHA-1 is
    /// allowed, identityProof) witness over the reqSequence as received
    /// verifies with that secret's key. A spent secret still authenticates
    /// a PKIData that only asks queryPending.
    fn secret_owner(
        &self,
        ca: &LoadedCa,
        signed: &SignedRequest,
    ) -> Result<Principal, MessageFailure> {
        let pki_data = &signed.pki_data;
        let refuse = |fail_info, text: &str| MessageFailure::message(fail_info, text.to_owned());
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
        let req_sequence = req_sequence_der(&signed.econtent)
            .map_err(|e| refuse(CmcFailInfo::BadRequest, &e.to_string()))?;
        let credential = signed.signer().public_key.to_der().map_err(|e| {
            MessageFailure::internal(ca.name(), &cmc_ca::Error::encode("public key", e))
        })?;
        self.engine
            .principal_by_identity_proof(
                ca.name(),
                cmc_ca::IdentityProof {
                    identification: &identification,
                    hash,
                    message: req_sequence,
                    witness: witness.as_bytes(),
                    credential,
                    query_only: only_queries(pki_data),
                },
            )
            .map_err(MessageFailure::refused)
    }
}
