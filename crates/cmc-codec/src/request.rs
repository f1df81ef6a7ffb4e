//! Server side: decoding and verifying Full PKI Requests (RFC 5272 §3.2) and Simple PKI
//! Requests (§3.1).

use cmc_asn1::{BodyPartId, PkiData, TaggedRequest, oid};
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::db::rfc5912::ID_EXTENSION_REQ;
use der::{Any, Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::request::{CertReq, ExtensionReq};

use crate::ber::Encoding;
use crate::error::encode_err;
use crate::pop::{self, Pop};
use crate::signed::{self, Limits, RequestKey, SignerSource, VerifiedSigner, VerifyOptions};
use crate::{Error, Result};

/// A decoded Full PKI Request.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum FullRequest {
    /// Signed, and every SignerInfo verified.
    Signed(SignedRequest),
    /// A SignedData without any SignerInfo (shared-secret flows authenticate through
    /// identityProofV2 instead). Nothing about it is verified.
    Unsigned(UnsignedRequest),
}

impl FullRequest {
    /// The PKIData, signed or not.
    #[must_use]
    pub fn pki_data(&self) -> &PkiData {
        match self {
            Self::Signed(s) => &s.pki_data,
            Self::Unsigned(u) => &u.pki_data,
        }
    }

    /// The eContent octets: the DER of the PKIData exactly as received (what
    /// identityProofV2 and dataReturn work on).
    #[must_use]
    pub fn econtent(&self) -> &[u8] {
        match self {
            Self::Signed(s) => &s.econtent,
            Self::Unsigned(u) => &u.econtent,
        }
    }

    /// The verified request, or `None` if it was unsigned.
    #[must_use]
    pub fn signed(&self) -> Option<&SignedRequest> {
        match self {
            Self::Signed(s) => Some(s),
            Self::Unsigned(_) => None,
        }
    }
}

/// A Full PKI Request whose every SignerInfo verified.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    /// The request body.
    pub pki_data: PkiData,
    /// The eContent octets (DER of `pki_data` as received).
    pub econtent: Vec<u8>,
    /// The verified signers, in message order (at least one).
    pub signers: Vec<VerifiedSigner>,
    /// The X.509 certificates the message carries.
    pub certificates: Vec<Certificate>,
    /// The decoded SignedData (DER form of the input).
    pub signed_data: SignedData,
    /// Whether the input was DER or was normalised from BER.
    pub encoding: Encoding,
}

impl SignedRequest {
    /// The first (usually only) signer.
    #[must_use]
    pub fn signer(&self) -> &VerifiedSigner {
        // `decode_full_request` only builds a SignedRequest with at least one signer.
        &self.signers[0]
    }

    /// The DER `ContentInfo` re-encoded from the decoded SignedData; equal to the input when
    /// the input was DER.
    ///
    /// # Errors
    /// [`Error::Encode`] if encoding fails.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        content_info_der(&self.signed_data)
    }

    /// The proof-of-possession check of every request in `reqSequence`, with its body part
    /// identifier.
    #[must_use]
    pub fn pops(&self) -> Vec<(Option<BodyPartId>, Result<Pop>)> {
        pops(&self.pki_data)
    }
}

/// A Full PKI Request without signers.
#[derive(Clone, Debug)]
pub struct UnsignedRequest {
    /// The request body (unauthenticated).
    pub pki_data: PkiData,
    /// The eContent octets.
    pub econtent: Vec<u8>,
    /// The X.509 certificates the message carries.
    pub certificates: Vec<Certificate>,
    /// The decoded SignedData.
    pub signed_data: SignedData,
    /// Whether the input was DER or was normalised from BER.
    pub encoding: Encoding,
}

impl UnsignedRequest {
    /// The proof-of-possession check of every request in `reqSequence`.
    #[must_use]
    pub fn pops(&self) -> Vec<(Option<BodyPartId>, Result<Pop>)> {
        pops(&self.pki_data)
    }
}

fn pops(pki_data: &PkiData) -> Vec<(Option<BodyPartId>, Result<Pop>)> {
    pki_data
        .req_sequence
        .iter()
        .map(|r| (r.body_part_id().ok(), pop::verify_request_pop(r)))
        .collect()
}

pub(crate) fn content_info_der(sd: &SignedData) -> Result<Vec<u8>> {
    ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(sd).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)
}

/// Decodes and verifies a Full PKI Request: `ContentInfo` → `SignedData` (DER, or BER as
/// streaming producers write it) → `PKIData`.
///
/// Checks, in order: size; BER/DER; ContentInfo holds SignedData; signer and certificate
/// caps; eContentType is id-cct-PKIData; eContent present and a PKIData. Then, for every
/// SignerInfo: digest algorithm supported; signed attributes present; contentType attribute
/// = eContentType; messageDigest = digest of eContent; CMSAlgorithmProtection (if present)
/// agrees; the signer is found (message certificates, then `opts.certificates`, then, for a
/// subjectKeyIdentifier sid, the public key of one of the PKIData's requests); the signature
/// over the DER of the signed attributes verifies; the signer certificate's keyUsage, if
/// present, asserts digitalSignature; the signer certificate is valid at `opts.time`. A
/// message signed with a request's key must name it by subjectKeyIdentifier and have no
/// other SignerInfo (RFC 5272 §3.2). A SignedData with no SignerInfo is returned as
/// [`FullRequest::Unsigned`].
///
/// The input may be at most `opts.limits.max_input` octets ([`Limits::DEFAULT_MAX_INPUT`],
/// 1 MiB, unless the caller sets its own with [`VerifyOptions::with_limits`]).
///
/// Proof of possession of the requests inside is not checked here: see
/// [`SignedRequest::pops`].
///
/// # Errors
/// The first check that fails, as an [`Error`]; [`Error::is_not_cms`] tells whether the
/// input was CMS at all.
pub fn decode_full_request(input: &[u8], opts: &VerifyOptions<'_>) -> Result<FullRequest> {
    let parsed = signed::parse(input, &opts.limits)?;
    let econtent_type = parsed.signed_data.encap_content_info.econtent_type;
    if econtent_type != oid::ID_CCT_PKI_DATA {
        return Err(Error::WrongContentType {
            found: econtent_type,
            expected: oid::ID_CCT_PKI_DATA,
        });
    }
    let econtent = parsed.econtent.clone().ok_or(Error::MissingContent)?;
    let pki_data =
        PkiData::from_der(&econtent).map_err(|e| Error::MalformedContent(e.to_string()))?;

    if parsed.signed_data.signer_infos.0.is_empty() {
        return Ok(FullRequest::Unsigned(UnsignedRequest {
            pki_data,
            econtent,
            certificates: parsed.certificates,
            signed_data: parsed.signed_data,
            encoding: parsed.encoding,
        }));
    }

    let mut keys = request_keys(&pki_data);
    // Keys of requests the caller holds, for a queryPending signed by one of them. They take
    // body part ids from the top of the range, after the message's own keys: a message id
    // that collides finds its own request's key first.
    keys.extend(
        opts.held_keys
            .iter()
            .zip((0..=BodyPartId::MAX).rev())
            .map(|(key, id)| RequestKey {
                body_part_id: id,
                public_key: key.clone(),
                requested_ski: None,
            }),
    );
    let signers = parsed
        .signed_data
        .signer_infos
        .0
        .iter()
        .map(|si| signed::verify_signer(&parsed, &econtent, si, opts, &keys))
        .collect::<Result<Vec<_>>>()?;
    // RFC 5272 §3.2: "If the request key is used for signing, there MUST be only one
    // SignerInfo in the SignedData." badMessageCheck, as for the other checks of who signed
    // the message (§3.2.1.3.4): a message whose signers break the rule is answered as an
    // unauthenticated one, never with the authority of whichever signer the server reads.
    if signers.len() > 1
        && signers
            .iter()
            .any(|s| matches!(s.source, SignerSource::Request(_)))
    {
        return Err(Error::RequestKeySignerNotAlone {
            count: signers.len(),
        });
    }
    Ok(FullRequest::Signed(SignedRequest {
        pki_data,
        econtent,
        signers,
        certificates: parsed.certificates,
        signed_data: parsed.signed_data,
        encoding: parsed.encoding,
    }))
}

fn ski_in(extensions: Option<&Extensions>) -> Option<Vec<u8>> {
    extensions?
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
        .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
        .map(|ski| ski.0.as_bytes().to_vec())
}

fn requested_extensions(req: &CertReq) -> Option<Extensions> {
    req.info
        .attributes
        .iter()
        .find(|a| a.oid == ID_EXTENSION_REQ)
        .and_then(|a| a.values.get(0))
        .and_then(|v| v.decode_as::<ExtensionReq>().ok())
        .map(|r| r.0)
}

/// The public keys of the PKIData's certification requests, for self-signed requests.
fn request_keys(pki_data: &PkiData) -> Vec<RequestKey> {
    pki_data
        .req_sequence
        .iter()
        .filter_map(|r| match r {
            TaggedRequest::Tcr(tcr) => Some(RequestKey {
                body_part_id: tcr.body_part_id,
                public_key: tcr.certification_request.info.public_key.clone(),
                requested_ski: ski_in(requested_extensions(&tcr.certification_request).as_ref()),
            }),
            TaggedRequest::Crm(crm) => {
                let template = &crm.cert_req.cert_template;
                Some(RequestKey {
                    body_part_id: crm.cert_req.body_part_id().ok()?,
                    public_key: template.public_key.clone()?,
                    requested_ski: ski_in(template.extensions.as_ref()),
                })
            }
            TaggedRequest::Orm(_) => None,
        })
        .collect()
}

/// Decodes a Simple PKI Request (a DER PKCS #10 `CertificationRequest`, RFC 5272 §3.1) and
/// verifies its self-signature.
///
/// The input may be at most `limits.max_input` octets: pass `&Limits::default()` for 1 MiB,
/// or a server's own body cap with [`Limits::with_max_input`].
///
/// # Errors
/// [`Error::TooLarge`], [`Error::NotPkcs10`] (not CMC at all: HTTP 400), and the errors of
/// [`crate::verify_pkcs10`] (body part identifier 0: a Simple PKI Request has none).
pub fn decode_simple_request(input: &[u8], limits: &Limits) -> Result<CertReq> {
    if input.len() > limits.max_input {
        return Err(Error::TooLarge {
            len: input.len(),
            max: limits.max_input,
        });
    }
    let req = CertReq::from_der(input).map_err(|e| Error::NotPkcs10(e.to_string()))?;
    pop::verify_pkcs10(&req, 0)?;
    Ok(req)
}
