//! DH-POP (RFC 6955 §6, static ECDH; RFC 5274: "CAs and RAs that do POP verification MUST
//! support" it): a PKCS #10 request for a P-256 or P-384 key-agreement key proves
//! possession with a MAC under a key agreed with the CA's static ECDH key, the key of its
//! encryption credential (`[ca.NAME.encryption]` with an EC certificate). The CA computes
//! the same agreement with the requested public key; only the holder of its private key
//! could have made the MAC.

use super::*;

use cmc_codec::dhpop::{DhPop, verify_dh_pop};

impl Cmc<'_> {
    /// Verifies the static-ECDH proof `dh` of PKCS #10 request `tagged` (body part `id`)
    /// with the CA's encryption credential.
    ///
    /// # Errors
    /// noSupport when the CA has no EC encryption credential (so it can check no DH-POP);
    /// popFailed when the proof names another certificate, the requested key is not on the
    /// credential's curve, or the MAC differs; badRequest for a CRMF request.
    pub(super) fn verify_dh_pop(
        &self,
        ca: &LoadedCa,
        tagged: &TaggedRequest,
        dh: &DhPop,
        id: BodyPartId,
    ) -> Result<(), Failure> {
        let TaggedRequest::Tcr(tcr) = tagged else {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                "a static-ECDH proof is a PKCS #10 signature",
            ));
        };
        let Some(credential) = self.engine.encryption(ca.name()) else {
            return Err(Failure::no_support(
                "this CA has no static ECDH certificate ([ca.NAME.encryption]) to check DH-POP with",
            ));
        };
        let req = &tcr.certification_request;
        let recipient = credential.certificate();
        let ca_spki = recipient.tbs_certificate().subject_public_key_info();
        let requested = &req.info.public_key;
        // The same curve, or no agreement (an RSA credential has none at all).
        if ca_spki.algorithm != requested.algorithm {
            return Err(Failure::failed(
                CmcFailInfo::PopFailed,
                "the requested key is not on the curve of the CA's static ECDH certificate",
            ));
        }
        let zz = match credential.agree(requested.subject_public_key.raw_bytes()) {
            Ok(Some(zz)) => zz,
            Ok(None) => {
                tracing::info!(
                    ca = ca.name(),
                    "DH-POP: no agreement with the requested key"
                );
                return Err(Failure::failed(
                    CmcFailInfo::PopFailed,
                    "no key agreement with the requested public key",
                ));
            }
            // The key itself failed (a token that is gone, a key without
            // CKA_DERIVE): the CA's fault, not the request's.
            Err(e) => {
                tracing::error!(ca = ca.name(), error = %e, "DH-POP: the encryption key failed");
                return Err(Failure::failed(
                    CmcFailInfo::InternalCaError,
                    "internal CA error",
                ));
            }
        };
        verify_dh_pop(dh, req, recipient, &zz, id).map_err(|e| codec_failure(&e, ca.name()))
    }
}
