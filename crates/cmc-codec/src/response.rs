//! Responses: signing a Full PKI Response (RFC 5272 §4.2), encoding a Simple PKI Response
//! (§4.1), and, on the client side, verifying a response and reading its statuses.

use std::time::SystemTime;

use cmc_asn1::{
    BodyPartId, BodyPartReference, CmcFailInfo, CmcStatus, CmcStatusInfo, CmcStatusInfoOtherInfo,
    CmcStatusInfoV2, ExtendedFailInfo, OtherStatusInfo, PendInfo, PkiResponse, oid,
};
use cms::signed_data::SignedData;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::BasicConstraints;

use crate::alg::{self, SignatureAlg};
use crate::ber::Encoding;
use crate::error::encode_err;
use crate::signed::{self, CmsSigner, Limits, VerifiedSigner, VerifyOptions};
use crate::{Error, Result};

/// Longest chain from a response signer to a trusted certificate (intermediates included).
pub const MAX_CHAIN: usize = 4;

/// Encodes `response` and signs it as a Full PKI Response (eContentType
/// id-cct-PKIResponse).
///
/// The digest follows the key (RFC 5753 for ECDSA through [`cmc_keys::SigningKey::hash`]);
/// signed attributes are contentType, messageDigest, signingTime (`signing_time`) and
/// CMSAlgorithmProtection; `certificates` holds the signer certificate and chain (from
/// `signer`) and then `issued` (the certificates issued in this response, and anything else
/// the client should get), each once.
///
/// # Errors
/// [`Error::Encode`], [`Error::TimeOutOfRange`], or the key's failure as [`Error::Key`].
pub fn sign_response(
    response: &PkiResponse,
    signer: &CmsSigner<'_>,
    signing_time: SystemTime,
    issued: &[Certificate],
) -> Result<Vec<u8>> {
    sign_response_with_crls(response, signer, signing_time, issued, &[])
}

/// [`sign_response`] that also carries `crls` in the SignedData's `crls` field (the answer to
/// getCRL, RFC 5272 §6.10).
///
/// # Errors
/// As [`sign_response`].
pub fn sign_response_with_crls(
    response: &PkiResponse,
    signer: &CmsSigner<'_>,
    signing_time: SystemTime,
    issued: &[Certificate],
    crls: &[CertificateList],
) -> Result<Vec<u8>> {
    let econtent = response.to_der().map_err(encode_err)?;
    signed::sign(
        oid::ID_CCT_PKI_RESPONSE,
        &econtent,
        signer,
        signing_time,
        issued,
        crls,
    )
}

/// Encodes a Simple PKI Response (RFC 5272 §4.1): a certs-only SignedData (version 1,
/// eContentType id-data without eContent, no signers) carrying `certificates`.
///
/// # Errors
/// [`Error::Encode`] if a certificate does not encode.
pub fn certs_only_response(certificates: &[Certificate]) -> Result<Vec<u8>> {
    signed::certs_only(certificates)
}

/// Decodes a Simple PKI Response (certs-only SignedData) and returns its certificates.
///
/// # Errors
/// The parse errors of [`crate::decode_full_request`], [`Error::WrongContentType`] if the
/// eContentType is not id-data, [`Error::MalformedSignedData`] if it carries eContent or
/// signers.
pub fn decode_certs_only(input: &[u8], limits: &Limits) -> Result<Vec<Certificate>> {
    let parsed = signed::parse(input, limits)?;
    let ect = parsed.signed_data.encap_content_info.econtent_type;
    if ect != const_oid::db::rfc5911::ID_DATA {
        return Err(Error::WrongContentType {
            found: ect,
            expected: const_oid::db::rfc5911::ID_DATA,
        });
    }
    if parsed.econtent.is_some() || !parsed.signed_data.signer_infos.0.is_empty() {
        return Err(Error::MalformedSignedData(
            "a certs-only response has neither eContent nor signers".into(),
        ));
    }
    Ok(parsed.certificates)
}

/// Options for verifying a response: the time and the certificates the signer must be,
/// or chain to.
#[derive(Clone, Debug)]
pub struct ResponseVerifyOptions<'a> {
    /// Time at which the signer (and any intermediate) must be valid.
    pub time: SystemTime,
    /// Trusted certificates: the CA or its CMC responder certificate, or their root. The
    /// signer certificate must be one of them or chain to one through certificates in the
    /// message.
    pub trusted: &'a [Certificate],
    /// Size and count caps.
    pub limits: Limits,
}

impl<'a> ResponseVerifyOptions<'a> {
    /// Options with default limits.
    #[must_use]
    pub fn new(time: SystemTime, trusted: &'a [Certificate]) -> Self {
        Self {
            time,
            trusted,
            limits: Limits::default(),
        }
    }
}

/// A Full PKI Response whose signature verified and whose signer is trusted.
#[derive(Clone, Debug)]
pub struct VerifiedResponse {
    /// The response body.
    pub pki_response: PkiResponse,
    /// The eContent octets.
    pub econtent: Vec<u8>,
    /// The verified signer (the first SignerInfo; all of them verified).
    pub signer: VerifiedSigner,
    /// All X.509 certificates the response carries (chain and issued certificates).
    pub certificates: Vec<Certificate>,
    /// The decoded SignedData.
    pub signed_data: SignedData,
    /// Whether the input was DER or was normalised from BER.
    pub encoding: Encoding,
}

impl VerifiedResponse {
    /// The status controls of the response (statusInfoV2 and the old statusInfo).
    ///
    /// # Errors
    /// [`Error::MalformedContent`] if a status control does not decode.
    pub fn statuses(&self) -> Result<Vec<ResponseStatus>> {
        statuses(&self.pki_response)
    }

    /// The certificates in the response whose signature verifies under `issuer`'s key and
    /// whose issuer name is `issuer`'s subject (what a client takes as "issued to me"),
    /// leaving out `issuer` itself.
    #[must_use]
    pub fn issued_by(&self, issuer: &Certificate) -> Vec<&Certificate> {
        self.certificates
            .iter()
            .filter(|c| *c != issuer && issued_by(c, issuer))
            .collect()
    }
}

/// Which status control a [`ResponseStatus`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusVersion {
    /// `id-cmc-statusInfoV2` (RFC 5272 §6.1.1).
    V2,
    /// `id-cmc-statusInfo` (RFC 5272 §6.1.2).
    V1,
}

/// One status control of a response, both versions in one shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseStatus {
    /// The control's own body part identifier.
    pub control_id: BodyPartId,
    /// Which control it was.
    pub version: StatusVersion,
    /// The status.
    pub status: CmcStatus,
    /// The body parts it applies to (V1 lists plain identifiers).
    pub body_list: Vec<BodyPartReference>,
    /// Human-readable text.
    pub status_string: Option<String>,
    /// The failure reason, if `otherInfo` is a failInfo.
    pub fail_info: Option<CmcFailInfo>,
    /// Pending details, if `otherInfo` is a pendInfo.
    pub pend_info: Option<PendInfo>,
    /// An extended failure (V2 only).
    pub extended_fail_info: Option<ExtendedFailInfo>,
}

/// Reads every statusInfoV2 and statusInfo control of `response`, in that order.
///
/// # Errors
/// [`Error::MalformedContent`] if a status control does not decode.
pub fn statuses(response: &PkiResponse) -> Result<Vec<ResponseStatus>> {
    let bad = |e: cmc_asn1::Error| Error::MalformedContent(e.to_string());
    let mut out = Vec::new();
    for (control_id, s) in response.controls_of::<CmcStatusInfoV2>().map_err(bad)? {
        let (fail_info, pend_info, extended_fail_info) = match s.other_info {
            None => (None, None, None),
            Some(OtherStatusInfo::FailInfo(f)) => (Some(f), None, None),
            Some(OtherStatusInfo::PendInfo(p)) => (None, Some(p), None),
            Some(OtherStatusInfo::ExtendedFailInfo(x)) => (None, None, Some(x)),
        };
        out.push(ResponseStatus {
            control_id,
            version: StatusVersion::V2,
            status: s.cmc_status,
            body_list: s.body_list,
            status_string: s.status_string,
            fail_info,
            pend_info,
            extended_fail_info,
        });
    }
    for (control_id, s) in response.controls_of::<CmcStatusInfo>().map_err(bad)? {
        let (fail_info, pend_info) = match s.other_info {
            None => (None, None),
            Some(CmcStatusInfoOtherInfo::FailInfo(f)) => (Some(f), None),
            Some(CmcStatusInfoOtherInfo::PendInfo(p)) => (None, Some(p)),
        };
        out.push(ResponseStatus {
            control_id,
            version: StatusVersion::V1,
            status: s.cmc_status,
            body_list: s
                .body_list
                .into_iter()
                .map(BodyPartReference::from)
                .collect(),
            status_string: s.status_string,
            fail_info,
            pend_info,
            extended_fail_info: None,
        });
    }
    Ok(out)
}

/// Decodes and verifies a Full PKI Response: the same checks as
/// [`crate::decode_full_request`] with eContentType id-cct-PKIResponse, then the signer
/// certificate must be one of `opts.trusted` or chain to one (through CA certificates in
/// the message, each valid at `opts.time`, at most [`MAX_CHAIN`] deep). An unsigned response
/// is refused.
///
/// # Errors
/// As [`crate::decode_full_request`]; [`Error::WrongContentType`] for other content;
/// [`Error::SignerNotFound`] if there is no signer; [`Error::UntrustedSigner`] if the signer
/// does not chain to a trusted certificate.
pub fn decode_response(input: &[u8], opts: &ResponseVerifyOptions<'_>) -> Result<VerifiedResponse> {
    let parsed = signed::parse(input, &opts.limits)?;
    let ect = parsed.signed_data.encap_content_info.econtent_type;
    if ect != oid::ID_CCT_PKI_RESPONSE {
        return Err(Error::WrongContentType {
            found: ect,
            expected: oid::ID_CCT_PKI_RESPONSE,
        });
    }
    let econtent = parsed.econtent.clone().ok_or(Error::MissingContent)?;
    let pki_response =
        PkiResponse::from_der(&econtent).map_err(|e| Error::MalformedContent(e.to_string()))?;
    let verify = VerifyOptions {
        time: opts.time,
        certificates: opts.trusted,
        limits: opts.limits,
        held_keys: &[],
    };
    let mut signers = Vec::new();
    for si in parsed.signed_data.signer_infos.0.iter() {
        let s = signed::verify_signer(&parsed, &econtent, si, &verify, &[])?;
        let cert = s.certificate().ok_or(Error::SignerNotFound)?;
        if !chains_to_trusted(cert, &parsed.certificates, opts.trusted, opts.time) {
            return Err(Error::UntrustedSigner);
        }
        signers.push(s);
    }
    let signer = signers.into_iter().next().ok_or(Error::SignerNotFound)?;
    Ok(VerifiedResponse {
        pki_response,
        econtent,
        signer,
        certificates: parsed.certificates,
        signed_data: parsed.signed_data,
        encoding: parsed.encoding,
    })
}

/// Whether `cert`'s signature verifies under `issuer`'s public key and its issuer name is
/// `issuer`'s subject. Validity, key usage and basic constraints are not looked at.
#[must_use]
pub fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return false;
    }
    let Ok(alg) = SignatureAlg::from_algorithm_identifier(cert.signature_algorithm(), None) else {
        return false;
    };
    let Ok(tbs) = cert.tbs_certificate().to_der() else {
        return false;
    };
    let Some(sig) = cert.signature().as_bytes() else {
        return false;
    };
    alg::verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        &alg,
        &tbs,
        sig,
        "certificate",
    )
    .is_ok()
}

fn is_ca(cert: &Certificate) -> bool {
    matches!(
        cert.tbs_certificate().get_extension::<BasicConstraints>(),
        Ok(Some((_, bc))) if bc.ca
    )
}

fn chains_to_trusted(
    signer: &Certificate,
    intermediates: &[Certificate],
    trusted: &[Certificate],
    time: SystemTime,
) -> bool {
    let mut current = signer;
    for _ in 0..=MAX_CHAIN {
        if trusted.contains(current) || trusted.iter().any(|t| issued_by(current, t)) {
            return true;
        }
        let next = intermediates.iter().find(|i| {
            *i != current
                && is_ca(i)
                && signed::check_validity(i, time).is_ok()
                && issued_by(current, i)
        });
        match next {
            Some(n) => current = n,
            None => return false,
        }
    }
    false
}
