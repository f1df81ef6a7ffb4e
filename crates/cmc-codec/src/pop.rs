//! Proof of possession: the PKCS #10 self-signature (RFC 2986 §4.2) and the CRMF
//! `POPOSigningKey` (RFC 4211 §4.1).

use cmc_asn1::oid::ID_ALG_NO_SIGNATURE;
use cmc_asn1::{
    BodyPartId, CertReqMsg, PopoSigningKeyInputAuthInfo, ProofOfPossession, TaggedRequest,
};
use der::Encode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::CertReq;

use crate::alg::{self, SignatureAlg};
use crate::error::encode_err;
use crate::{Error, Result};

/// What proof of possession a certification request carries, once checked.
///
/// Only [`Pop::Pkcs10Signature`] and [`Pop::CrmfSignature`] prove possession; the others
/// leave the decision to the engine (an RA's word, an encryptedPOP round, or refusal).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pop {
    /// A PKCS #10 request whose self-signature verified.
    Pkcs10Signature,
    /// A PKCS #10 request "signed" with `id-alg-noSignature` (RFC 5272 §3.2.1.2.1: a key
    /// that cannot sign): no possession is proven; it needs an encryptedPOP round.
    Pkcs10NoSignature,
    /// A CRMF request whose POPOSigningKey verified with the template's public key.
    CrmfSignature {
        /// The `authInfo` of `poposkInput`, when the signature was over POPOSigningKeyInput
        /// (the sender name or the password MAC, for the engine to check).
        auth_info: Option<PopoSigningKeyInputAuthInfo>,
    },
    /// CRMF `raVerified`: an RA says it checked possession. Only acceptable from a
    /// trusted RA.
    RaVerified,
    /// CRMF without any `popo` (BouncyCastle clients behind an RA that sends lraPOPWitness).
    Absent,
    /// CRMF `keyEncipherment`: needs an encryptedPOP/decryptedPOP round.
    KeyEncipherment,
    /// CRMF `keyAgreement`: needs an encryptedPOP/decryptedPOP round.
    KeyAgreement,
    /// An `orm` request of another format: nothing this crate can check.
    OtherRequest,
}

/// Verifies the self-signature of a PKCS #10 request (over the DER of
/// `certificationRequestInfo`, with the request's own public key and signature algorithm).
///
/// # Errors
/// [`Error::PopFailed`] if the signature does not verify, [`Error::UnsupportedAlgorithm`] or
/// [`Error::BadPublicKey`] if it cannot be checked.
pub fn verify_pkcs10(req: &CertReq, body_part_id: BodyPartId) -> Result<()> {
    let alg = SignatureAlg::from_algorithm_identifier(&req.algorithm, None)?;
    let info = req.info.to_der().map_err(encode_err)?;
    let sig = req.signature.as_bytes().ok_or(Error::PopFailed {
        body_part_id,
        reason: "signature BIT STRING has unused bits",
    })?;
    alg::verify_signature(&req.info.public_key, &alg, &info, sig, "PKCS #10").map_err(|e| match e {
        Error::BadSignature { .. } => Error::PopFailed {
            body_part_id,
            reason: "PKCS #10 self-signature does not verify",
        },
        other => other,
    })
}

/// Checks the proof of possession of a CRMF request (RFC 4211 §4.1).
///
/// For `signature`: without `poposkInput` the signature is over the DER of `certReq`; with
/// it, over the DER of `POPOSigningKeyInput`, whose publicKey must equal the template's.
/// The template's publicKey is always the verifying key.
///
/// # Errors
/// [`Error::MissingPublicKey`] if the template has no publicKey, [`Error::PopFailed`] if the
/// signature does not verify or poposkInput names another key, [`Error::MalformedContent`]
/// for a certReqId that is not a BodyPartID, and the algorithm errors of
/// [`crate::alg::verify_signature`].
pub fn verify_crmf_pop(msg: &CertReqMsg) -> Result<Pop> {
    let body_part_id = msg
        .cert_req
        .body_part_id()
        .map_err(|e| Error::MalformedContent(format!("certReqId: {e}")))?;
    let popo = match &msg.popo {
        None => return Ok(Pop::Absent),
        Some(ProofOfPossession::RaVerified(_)) => return Ok(Pop::RaVerified),
        Some(ProofOfPossession::KeyEncipherment(_)) => return Ok(Pop::KeyEncipherment),
        Some(ProofOfPossession::KeyAgreement(_)) => return Ok(Pop::KeyAgreement),
        Some(ProofOfPossession::Signature(s)) => s,
    };
    let public_key: &SubjectPublicKeyInfoOwned = msg
        .cert_req
        .cert_template
        .public_key
        .as_ref()
        .ok_or(Error::MissingPublicKey { body_part_id })?;
    let (signed, auth_info) = match &popo.poposk_input {
        None => (msg.cert_req.to_der().map_err(encode_err)?, None),
        Some(input) => {
            if &input.public_key != public_key {
                return Err(Error::PopFailed {
                    body_part_id,
                    reason: "POPOSigningKeyInput.publicKey differs from the template's",
                });
            }
            (
                input.to_der().map_err(encode_err)?,
                Some(input.auth_info.clone()),
            )
        }
    };
    let alg = SignatureAlg::from_algorithm_identifier(&popo.algorithm_identifier, None)?;
    let sig = popo.signature.as_bytes().ok_or(Error::PopFailed {
        body_part_id,
        reason: "signature BIT STRING has unused bits",
    })?;
    alg::verify_signature(public_key, &alg, &signed, sig, "CRMF POPOSigningKey").map_err(|e| {
        match e {
            Error::BadSignature { .. } => Error::PopFailed {
                body_part_id,
                reason: "POPOSigningKey signature does not verify",
            },
            other => other,
        }
    })?;
    Ok(Pop::CrmfSignature { auth_info })
}

/// Checks the proof of possession of any `TaggedRequest`: the PKCS #10 self-signature of a
/// `tcr` (one with `id-alg-noSignature` is reported as [`Pop::Pkcs10NoSignature`]), the POPO
/// of a `crm`; an `orm` is reported as [`Pop::OtherRequest`].
///
/// # Errors
/// Those of [`verify_pkcs10`] and [`verify_crmf_pop`].
pub fn verify_request_pop(req: &TaggedRequest) -> Result<Pop> {
    match req {
        TaggedRequest::Tcr(tcr)
            if tcr.certification_request.algorithm.oid == ID_ALG_NO_SIGNATURE =>
        {
            Ok(Pop::Pkcs10NoSignature)
        }
        TaggedRequest::Tcr(tcr) => {
            verify_pkcs10(&tcr.certification_request, tcr.body_part_id)?;
            Ok(Pop::Pkcs10Signature)
        }
        TaggedRequest::Crm(crm) => verify_crmf_pop(crm),
        TaggedRequest::Orm(_) => Ok(Pop::OtherRequest),
    }
}
