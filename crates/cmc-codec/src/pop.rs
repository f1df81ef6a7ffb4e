//! Proof of possession: the PKCS #10 self-signature (RFC 2986 §4.2) and the CRMF
//! `POPOSigningKey` (RFC 4211 §4.1).

use cmc_asn1::oid::ID_ALG_NO_SIGNATURE;
use cmc_asn1::{
    BodyPartId, CertReqMsg, PopoSigningKeyInputAuthInfo, ProofOfPossession, TaggedRequest,
};
use der::Encode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::name::GeneralName;
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
    /// A CRMF request whose POPOSigningKey verified (see [`verify_crmf_pop`] for the
    /// rules on `poposkInput` and `authInfo`).
    CrmfSignature {
        /// The `sender` authInfo of `poposkInput`, when the signature was over
        /// POPOSigningKeyInput (a template without subject or publicKey); `None` when it was
        /// over `certReq`. RFC 4211 §4.1 allows `sender` only "if an authenticated identity
        /// has been established for the sender": the caller must check that it names the
        /// authenticated requester before issuing. (`publicKeyMAC` never gets here: it is
        /// refused.)
        sender: Option<GeneralName>,
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
    /// A PKCS #10 request with a static-ECDH proof (RFC 6955 §6): verified by the holder of
    /// the CA's ECDH key with [`crate::dhpop::verify_dh_pop`].
    Pkcs10DhPop(crate::dhpop::DhPop),
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
/// `raVerified`, `keyEncipherment`, `keyAgreement` and a missing `popo` are reported as
/// such ([`Pop::RaVerified`], [`Pop::KeyEncipherment`], [`Pop::KeyAgreement`],
/// [`Pop::Absent`]) for the caller to decide on. A `signature` (`POPOSigningKey`) is checked
/// by these rules:
///
/// - **Template with subject and publicKey** (what every CMC client sends, and what RFC 5272
///   §3.2.1.2.2 requires of a Full PKI Request): `poposkInput` MUST be omitted and the
///   signature is over the DER of `certReq`, verified with the template's publicKey. A
///   request that carries `poposkInput` anyway fails with [`Error::PopFailed`].
/// - **Template without subject or without publicKey**: `poposkInput` MUST be present and
///   the signature is over the DER of `POPOSigningKeyInput`. Its publicKey must equal the
///   template's when the template has one; the signature is verified with that key (the
///   template's, or `poposkInput`'s when the template has none).
/// - **authInfo** of `poposkInput`: `publicKeyMAC` is refused ([`Error::PopFailed`]): it is
///   a MAC under a PKMAC shared secret (RFC 4211 §4.4), and this CA hands out no such
///   secret, so there is nothing to check it against. `sender` is returned in
///   [`Pop::CrmfSignature`]: RFC 4211 allows it only when "an authenticated identity has
///   been established for the sender", so the caller must check that it names the
///   authenticated requester (the CMS signer) before relying on it.
///
/// The `altCertTemplate` control is not looked at: only `certReq.certTemplate` counts.
///
/// # Errors
/// [`Error::MissingPublicKey`] if neither the template nor `poposkInput` holds a public key
/// (no key to verify with), [`Error::PopFailed`] if `poposkInput` is present where it must
/// be omitted or absent where it is required, names another key than the template, carries
/// `publicKeyMAC`, or the signature does not verify, [`Error::MalformedContent`] for a
/// certReqId that is not a BodyPartID, and the algorithm errors of
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
    let pop_failed = |reason| Error::PopFailed {
        body_part_id,
        reason,
    };
    let template = &msg.cert_req.cert_template;
    let template_key = template.public_key.as_ref();
    // RFC 4211 §4.1: "If the CertReqMsg certReq CertTemplate contains the subject and
    // publicKey values, then poposkInput MUST be omitted and the signature MUST be computed
    // over the DER-encoded value of CertReqMsg certReq. If the CertReqMsg certReq
    // CertTemplate does not contain both the public key and subject values (i.e., if it
    // contains only one of these, or neither), then poposkInput MUST be present and MUST be
    // signed." A subject that is present but empty counts as present (RFC 5272 §3.2.1.2.2:
    // "The subject field can be encoded as NULL, but MUST be present").
    let complete_template = template.subject.is_some() && template_key.is_some();
    let (public_key, signed, sender): (&SubjectPublicKeyInfoOwned, Vec<u8>, _) =
        match (&popo.poposk_input, template_key) {
            // popFailed rather than badRequest: the request is well formed, but its proof
            // is computed over the wrong input. RFC 5272 §3.2.1.2.2 states the rule as one
            // about computing the POP ("POPOSigningKeyInput MUST NOT be used when computing
            // the value for POPSigningKey"), and a signature over POPOSigningKeyInput does
            // not cover the template (subject, extensions) it would vouch for; §6.1.4:
            // "popFailed indicates POP processing failed".
            (Some(_), _) if complete_template => {
                return Err(pop_failed(
                    "poposkInput must be omitted when the template has subject and publicKey \
                     (RFC 4211 §4.1)",
                ));
            }
            (None, Some(_)) if !complete_template => {
                return Err(pop_failed(
                    "the template has no subject, so POPOSigningKey must carry poposkInput \
                     (RFC 4211 §4.1)",
                ));
            }
            (None, Some(key)) => (key, msg.cert_req.to_der().map_err(encode_err)?, None),
            (None, None) => return Err(Error::MissingPublicKey { body_part_id }),
            (Some(input), template_key) => {
                if template_key.is_some_and(|k| k != &input.public_key) {
                    return Err(pop_failed(
                        "POPOSigningKeyInput.publicKey differs from the template's",
                    ));
                }
                let sender = match &input.auth_info {
                    PopoSigningKeyInputAuthInfo::Sender(name) => name.clone(),
                    PopoSigningKeyInputAuthInfo::PublicKeyMac(_) => {
                        return Err(pop_failed(
                            "poposkInput authInfo publicKeyMAC needs a PKMAC shared secret, \
                             and this CA issues none",
                        ));
                    }
                };
                (
                    &input.public_key,
                    input.to_der().map_err(encode_err)?,
                    Some(sender),
                )
            }
        };
    let alg = SignatureAlg::from_algorithm_identifier(&popo.algorithm_identifier, None)?;
    let sig = popo
        .signature
        .as_bytes()
        .ok_or_else(|| pop_failed("signature BIT STRING has unused bits"))?;
    alg::verify_signature(public_key, &alg, &signed, sig, "CRMF POPOSigningKey").map_err(|e| {
        match e {
            Error::BadSignature { .. } => pop_failed("POPOSigningKey signature does not verify"),
            other => other,
        }
    })?;
    Ok(Pop::CrmfSignature { sender })
}

/// Checks the proof of possession of any `TaggedRequest`: the PKCS #10 self-signature of a
/// `tcr` (one with `id-alg-noSignature` is reported as [`Pop::Pkcs10NoSignature`], one with
/// a static-ECDH proof decoded as [`Pop::Pkcs10DhPop`] for the caller to verify), the POPO
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
            if let Some(dh) =
                crate::dhpop::decode_dh_pop(&tcr.certification_request, tcr.body_part_id)?
            {
                return Ok(Pop::Pkcs10DhPop(dh));
            }
            verify_pkcs10(&tcr.certification_request, tcr.body_part_id)?;
            Ok(Pop::Pkcs10Signature)
        }
        TaggedRequest::Crm(crm) => verify_crmf_pop(crm),
        TaggedRequest::Orm(_) => Ok(Pop::OtherRequest),
    }
}
