//! Client side: building and signing Full PKI Requests, PKCS #10 requests and CRMF
//! `CertReqMsg`s with a [`SigningKey`].

use std::time::SystemTime;

use cmc_asn1::{
    BodyPartId, CertReqMsg, CertRequest, CertTemplate, Controls, IdentityProof, OtherMsg, PkiData,
    PopoSigningKey, ProofOfPossession, TaggedAttribute, TaggedCertificationRequest,
    TaggedContentInfo, TaggedRequest, oid,
};
use cmc_keys::SigningKey;
use const_oid::AssociatedOid;
use const_oid::db::rfc5912::ID_EXTENSION_REQ;
use der::asn1::{BitString, SetOfVec};
use der::{Any, Encode};
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};

use crate::error::encode_err;
use crate::identity::{self, ProofHash};
use crate::signed::{self, CmsSigner};
use crate::{Error, Result};

/// Builds a PKIData (controls, requests, nested content, other messages) and signs it as a
/// Full PKI Request.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cmc_asn1::SenderNonce;
/// use cmc_codec::{CmsSigner, RequestBuilder, build_csr};
/// use cmc_keys::{FileKey, KeySpec};
/// use der::asn1::OctetString;
/// use std::str::FromStr;
///
/// let key = FileKey::generate(KeySpec::P256)?;
/// let csr = build_csr(&key, x509_cert::name::Name::from_str("CN=client")?, Vec::new())?;
/// let mut builder = RequestBuilder::new();
/// builder.control(1, &SenderNonce(OctetString::new(*b"0123456789abcdef")?))?;
/// builder.pkcs10(2, csr)?;
/// // No certificate yet: sign with the requested key (sid = subjectKeyIdentifier).
/// let der = builder.sign(&CmsSigner::self_signed(&key)?, std::time::SystemTime::now())?;
/// # let _ = der;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct RequestBuilder {
    pki_data: PkiData,
}

impl RequestBuilder {
    /// An empty PKIData.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn check_id(&self, id: BodyPartId) -> Result<()> {
        let p = &self.pki_data;
        let taken = p.control_sequence.iter().any(|c| c.body_part_id == id)
            || p.req_sequence
                .iter()
                .any(|r| r.body_part_id().is_ok_and(|r| r == id))
            || p.cms_sequence.iter().any(|c| c.body_part_id == id)
            || p.other_msg_sequence.iter().any(|o| o.body_part_id == id);
        if taken {
            Err(Error::DuplicateBodyPartId(id))
        } else {
            Ok(())
        }
    }

    /// Adds a control whose value type carries its OID (senderNonce, transactionId,
    /// identityProofV2, ...), with body part identifier `id`.
    ///
    /// # Errors
    /// [`Error::DuplicateBodyPartId`], [`Error::Encode`].
    pub fn control<T: AssociatedOid + Encode>(
        &mut self,
        id: BodyPartId,
        value: &T,
    ) -> Result<&mut Self> {
        let attr = TaggedAttribute::from_value(id, value).map_err(encode_err)?;
        self.tagged_attribute(attr)
    }

    /// Adds a ready-made control.
    ///
    /// # Errors
    /// [`Error::DuplicateBodyPartId`].
    pub fn tagged_attribute(&mut self, attr: TaggedAttribute) -> Result<&mut Self> {
        self.check_id(attr.body_part_id)?;
        self.pki_data.control_sequence.push(attr);
        Ok(self)
    }

    /// Adds a PKCS #10 request as `tcr` with body part identifier `id`.
    ///
    /// # Errors
    /// [`Error::DuplicateBodyPartId`].
    pub fn pkcs10(&mut self, id: BodyPartId, request: CertReq) -> Result<&mut Self> {
        self.check_id(id)?;
        self.pki_data
            .req_sequence
            .push(TaggedRequest::Tcr(Box::new(TaggedCertificationRequest {
                body_part_id: id,
                certification_request: request,
            })));
        Ok(self)
    }

    /// Adds a CRMF request as `crm`; its `certReqId` is its body part identifier.
    ///
    /// # Errors
    /// [`Error::DuplicateBodyPartId`], [`Error::MalformedContent`] if the certReqId is not
    /// a BodyPartID.
    pub fn crmf(&mut self, request: CertReqMsg) -> Result<&mut Self> {
        let id = request
            .cert_req
            .body_part_id()
            .map_err(|e| Error::MalformedContent(format!("certReqId: {e}")))?;
        self.check_id(id)?;
        self.pki_data
            .req_sequence
            .push(TaggedRequest::Crm(Box::new(request)));
        Ok(self)
    }

    /// Adds nested CMS content (for an RA: a signed PKIData) to `cmsSequence`.
    ///
    /// # Errors
    /// [`Error::DuplicateBodyPartId`].
    pub fn content(&mut self, content: TaggedContentInfo) -> Result<&mut Self> {
        self.check_id(content.body_part_id)?;
        self.pki_data.cms_sequence.push(content);
        Ok(self)
    }

    /// Adds an `OtherMsg`.
    ///
    /// # Errors
    /// [`Error::DuplicateBodyPartId`].
    pub fn other_msg(&mut self, msg: OtherMsg) -> Result<&mut Self> {
        self.check_id(msg.body_part_id)?;
        self.pki_data.other_msg_sequence.push(msg);
        Ok(self)
    }

    /// Adds an identityProofV2 control (RFC 5272 §6.2.1) with body part
    /// identifier `id`: HMAC-`hash` under `key` (from
    /// [`identity_key`](crate::identity::identity_key)) over the DER of the
    /// reqSequence as it stands. Add every request first: a request added
    /// afterwards is not covered and the proof no longer verifies.
    ///
    /// # Errors
    /// [`Error::DuplicateBodyPartId`], [`Error::Encode`].
    pub fn identity_proof_v2(
        &mut self,
        id: BodyPartId,
        hash: ProofHash,
        key: &[u8],
    ) -> Result<&mut Self> {
        let req_sequence = self.pki_data.req_sequence.to_der().map_err(encode_err)?;
        let proof = identity::identity_proof_v2(hash, key, &req_sequence)?;
        self.control(id, &proof)
    }

    /// Adds the legacy identityProof control (RFC 5272 §6.2.2): HMAC-SHA1
    /// under `key` (derived with SHA-1) over the reqSequence as it stands.
    /// For servers that accept nothing better.
    ///
    /// # Errors
    /// [`Error::DuplicateBodyPartId`], [`Error::Encode`].
    pub fn identity_proof_v1(&mut self, id: BodyPartId, key: &[u8]) -> Result<&mut Self> {
        let req_sequence = self.pki_data.req_sequence.to_der().map_err(encode_err)?;
        let witness = ProofHash::Sha1.hmac(key, &req_sequence)?;
        self.control(
            id,
            &IdentityProof(der::asn1::OctetString::new(witness).map_err(encode_err)?),
        )
    }

    /// The PKIData built so far.
    #[must_use]
    pub fn pki_data(&self) -> &PkiData {
        &self.pki_data
    }

    /// Signs the PKIData as a Full PKI Request (eContentType id-cct-PKIData) at
    /// `signing_time` and returns the DER `ContentInfo`.
    ///
    /// # Errors
    /// [`Error::Encode`], [`Error::TimeOutOfRange`], [`Error::Key`].
    pub fn sign(&self, signer: &CmsSigner<'_>, signing_time: SystemTime) -> Result<Vec<u8>> {
        let econtent = self.pki_data.to_der().map_err(encode_err)?;
        signed::sign(
            oid::ID_CCT_PKI_DATA,
            &econtent,
            signer,
            signing_time,
            &[],
            &[],
        )
    }
}

impl RequestBuilder {
    /// The PKIData as a SignedData without any signer: for requests whose
    /// authority is inside them, such as a revokeRequest carrying the
    /// certificate's revocation secret (RFC 5272 §6.11). Returns the DER
    /// `ContentInfo`.
    ///
    /// # Errors
    /// [`Error::Encode`].
    pub fn unsigned(&self) -> Result<Vec<u8>> {
        let econtent = self.pki_data.to_der().map_err(encode_err)?;
        signed::unsigned(oid::ID_CCT_PKI_DATA, &econtent)
    }
}

/// Builds a PKCS #10 request for `key`'s public key, signed by `key`, with `extensions` in
/// an extensionRequest attribute (none if empty).
///
/// # Errors
/// [`Error::Encode`], [`Error::Key`].
pub fn build_csr(
    key: &dyn SigningKey,
    subject: Name,
    extensions: Vec<Extension>,
) -> Result<CertReq> {
    build_csr_with_attributes(key, subject, extensions, Vec::new())
}

/// [`build_csr`] with further attributes in the signed
/// CertificationRequestInfo, such as a popLinkWitnessV2 (RFC 5272 §6.3.1.1).
///
/// # Errors
/// [`Error::Encode`] (also for two attributes of one type), [`Error::Key`].
pub fn build_csr_with_attributes(
    key: &dyn SigningKey,
    subject: Name,
    extensions: Vec<Extension>,
    extra: Vec<Attribute>,
) -> Result<CertReq> {
    let mut attributes = Attributes::new();
    for attr in extra {
        attributes.insert(attr).map_err(encode_err)?;
    }
    if !extensions.is_empty() {
        let mut values = SetOfVec::new();
        values
            .insert(Any::encode_from(&ExtensionReq(extensions)).map_err(encode_err)?)
            .map_err(encode_err)?;
        attributes
            .insert(Attribute {
                oid: ID_EXTENSION_REQ,
                values,
            })
            .map_err(encode_err)?;
    }
    let info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: key.public_key().clone(),
        attributes,
    };
    let signature = key.sign(&info.to_der().map_err(encode_err)?)?;
    Ok(CertReq {
        info,
        algorithm: key.signature_algorithm().clone(),
        signature: BitString::from_bytes(&signature).map_err(encode_err)?,
    })
}

/// Builds a CRMF `CertReqMsg` with `certReqId` = `body_part_id` for `template`, with the
/// template's publicKey set to `key`'s and a POPOSigningKey signed by `key` over the DER of
/// `certReq` (RFC 4211 §4.1, no poposkInput: the template names the subject and key).
///
/// # Errors
/// [`Error::SignerKeyMismatch`] if the template already names another public key,
/// [`Error::TemplateWithoutSubject`] if it has no subject (an empty `Name` will do),
/// [`Error::Encode`], [`Error::Key`].
pub fn build_crmf(
    key: &dyn SigningKey,
    body_part_id: BodyPartId,
    template: CertTemplate,
) -> Result<CertReqMsg> {
    build_crmf_with_controls(key, body_part_id, template, Vec::new())
}

/// [`build_crmf`] with CRMF `controls` in the signed CertRequest, such as a
/// popLinkWitnessV2 (RFC 5272 §6.3.1.1); none if empty.
///
/// # Errors
/// As [`build_crmf`].
pub fn build_crmf_with_controls(
    key: &dyn SigningKey,
    body_part_id: BodyPartId,
    mut template: CertTemplate,
    controls: Controls,
) -> Result<CertReqMsg> {
    // Without a subject the POPOSigningKey would have to be over a poposkInput with an
    // authInfo (RFC 4211 §4.1), which verify_crmf_pop requires and this builder does not
    // write; RFC 5272 §3.2.1.2.2 wants the subject present in CMC anyway.
    if template.subject.is_none() {
        return Err(Error::TemplateWithoutSubject);
    }
    match &template.public_key {
        Some(pk) if pk != key.public_key() => return Err(Error::SignerKeyMismatch),
        _ => template.public_key = Some(key.public_key().clone()),
    }
    let mut cert_req = CertRequest::new(body_part_id, template).map_err(encode_err)?;
    if !controls.is_empty() {
        cert_req.controls = Some(controls);
    }
    let signature = key.sign(&cert_req.to_der().map_err(encode_err)?)?;
    Ok(CertReqMsg {
        cert_req,
        popo: Some(ProofOfPossession::Signature(PopoSigningKey {
            poposk_input: None,
            algorithm_identifier: key.signature_algorithm().clone(),
            signature: BitString::from_bytes(&signature).map_err(encode_err)?,
        })),
        reg_info: None,
    })
}

/// Builds a CRMF `CertReqMsg` for a key that cannot sign (an RSA
/// encryption key, or an EC key for key agreement): the template's
/// publicKey is `public_key`, and the POPO is keyEncipherment (RSA) or
/// keyAgreement (EC) with subsequentMessage challengeResp (RFC 4211 §4.2),
/// asking for the encryptedPOP/decryptedPOP rounds of RFC 5272 §6.7.
///
/// # Errors
/// [`Error::SignerKeyMismatch`] if the template already names another
/// public key, [`Error::Encode`].
pub fn build_crmf_for_decryption(
    public_key: &spki::SubjectPublicKeyInfoOwned,
    body_part_id: BodyPartId,
    mut template: CertTemplate,
) -> Result<CertReqMsg> {
    match &template.public_key {
        Some(pk) if pk != public_key => return Err(Error::SignerKeyMismatch),
        _ => template.public_key = Some(public_key.clone()),
    }
    let challenge =
        cmc_asn1::PopoPrivKey::SubsequentMessage(cmc_asn1::SubsequentMessage::ChallengeResp);
    Ok(CertReqMsg {
        cert_req: CertRequest::new(body_part_id, template).map_err(encode_err)?,
        popo: Some(
            if public_key.algorithm.oid == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY {
                ProofOfPossession::KeyAgreement(challenge)
            } else {
                ProofOfPossession::KeyEncipherment(challenge)
            },
        ),
        reg_info: None,
    })
}
