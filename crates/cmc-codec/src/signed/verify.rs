//! Reading and verifying a `SignedData` (RFC 5652 §5.4, §5.6; RFC 6211):
//! [`parse`] under the caller's limits, then [`verify_signer`] for each
//! `SignerInfo`: its signed attributes, its signer (a certificate, or a
//! request's key), the signature, keyUsage and validity. What passed is a
//! [`VerifiedSigner`].

use std::time::SystemTime;

use cmc_asn1::BodyPartId;
use cmc_keys::HashAlg;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME};
use const_oid::db::rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION;
use der::asn1::OctetString;
use der::{Any, Decode, Encode, Tag, Tagged};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attributes;
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::time::Time;

use super::options::{Limits, VerifyOptions};
use super::{CmsAlgorithmProtection, cert_ski, key_identifier};
use crate::alg::{self, SignatureAlg};
use crate::ber::{self, Encoding};
use crate::error::encode_err;
use crate::{Error, Result};

/// Where the key that verified a signature came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerSource {
    /// A certificate in the message's `certificates`.
    Message(Certificate),
    /// A certificate the caller supplied.
    Caller(Certificate),
    /// No certificate: the message is signed with the key of one of its own certification
    /// requests (RFC 5272 §3.2.1.2: sid is subjectKeyIdentifier), the one with this body
    /// part identifier.
    Request(BodyPartId),
}

/// One `SignerInfo` that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSigner {
    /// The signer identifier as it appears in the message.
    pub sid: SignerIdentifier,
    /// Where the verifying key came from.
    pub source: SignerSource,
    /// The verifying public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// The digest of the eContent (`SignerInfo.digestAlgorithm`).
    pub digest: HashAlg,
    /// The signature algorithm.
    pub signature: SignatureAlg,
    /// The signingTime attribute, if present (UTCTime or GeneralizedTime as sent).
    pub signing_time: Option<Time>,
    /// Whether a CMSAlgorithmProtection attribute was present (and agreed).
    pub algorithm_protection: bool,
}

impl VerifiedSigner {
    /// The signer certificate, unless the message was signed by a request's key.
    #[must_use]
    pub fn certificate(&self) -> Option<&Certificate> {
        match &self.source {
            SignerSource::Message(c) | SignerSource::Caller(c) => Some(c),
            SignerSource::Request(_) => None,
        }
    }

    /// The signingTime as a [`SystemTime`].
    #[must_use]
    pub fn signing_time(&self) -> Option<SystemTime> {
        self.signing_time.map(|t| t.to_system_time())
    }
}

/// A decoded `SignedData`, before any signature check.
#[derive(Clone, Debug)]
pub(crate) struct Parsed {
    pub(crate) signed_data: SignedData,
    /// The eContent octets (joined, if the input was BER), `None` if absent.
    pub(crate) econtent: Option<Vec<u8>>,
    /// The X.509 certificates of `certificates` (other formats are skipped).
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) encoding: Encoding,
}

/// Checks the size, normalises BER, decodes `ContentInfo` → `SignedData`, and applies the
/// signer and certificate caps.
pub(crate) fn parse(input: &[u8], limits: &Limits) -> Result<Parsed> {
    if input.len() > limits.max_input {
        return Err(Error::TooLarge {
            len: input.len(),
            max: limits.max_input,
        });
    }
    let (der, encoding) = ber::to_der(input)?;
    let ci = ContentInfo::from_der(&der).map_err(|e| Error::NotCms(e.to_string()))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(Error::NotSignedData {
            content_type: ci.content_type,
        });
    }
    let signed_data: SignedData = ci
        .content
        .decode_as()
        .map_err(|e: der::Error| Error::MalformedSignedData(e.to_string()))?;
    let signers = signed_data.signer_infos.0.len();
    if signers > limits.max_signers {
        return Err(Error::TooManySigners {
            count: signers,
            max: limits.max_signers,
        });
    }
    let certificates: Vec<Certificate> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let cert_count = signed_data.certificates.as_ref().map_or(0, |s| s.0.len());
    if cert_count > limits.max_certificates {
        return Err(Error::TooManyCertificates {
            count: cert_count,
            max: limits.max_certificates,
        });
    }
    let econtent = match &signed_data.encap_content_info.econtent {
        None => None,
        Some(any) if any.tag() == Tag::OctetString => Some(any.value().to_vec()),
        Some(any) => {
            return Err(Error::MalformedSignedData(format!(
                "eContent is {}, not an OCTET STRING",
                any.tag()
            )));
        }
    };
    Ok(Parsed {
        signed_data,
        econtent,
        certificates,
        encoding,
    })
}

/// A key a message may be signed with although no certificate names it: the public key of
/// one of the message's certification requests.
#[derive(Clone, Debug)]
pub(crate) struct RequestKey {
    pub(crate) body_part_id: BodyPartId,
    pub(crate) public_key: SubjectPublicKeyInfoOwned,
    /// The subjectKeyIdentifier the request asks for, if any.
    pub(crate) requested_ski: Option<Vec<u8>>,
}

/// The single value of the signed attribute `oid`, if present.
fn single_attr<'a>(attrs: &'a Attributes, oid: &ObjectIdentifier) -> Result<Option<&'a Any>> {
    let mut found = attrs.iter().filter(|a| a.oid == *oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(Error::DuplicateAttribute { oid: *oid });
    }
    Ok(attr.values.get(0))
}

fn decode_attr<T>(value: &Any, oid: ObjectIdentifier) -> Result<T>
where
    T: for<'b> Decode<'b, Error = der::Error>,
{
    let der = value.to_der().map_err(|e| Error::MalformedAttribute {
        oid,
        reason: e.to_string(),
    })?;
    T::from_der(&der).map_err(|e| Error::MalformedAttribute {
        oid,
        reason: e.to_string(),
    })
}

fn matches_sid(cert: &Certificate, sid: &SignerIdentifier) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            cert.tbs_certificate().issuer() == &isn.issuer
                && cert.tbs_certificate().serial_number() == &isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            cert_ski(cert).as_deref() == Some(ski.0.as_bytes())
        }
    }
}

/// Checks that `cert` may sign a CMS message: if it carries a keyUsage extension, that
/// extension must assert digitalSignature (RFC 5280 §4.2.1.3: digitalSignature is for
/// "verifying digital signatures, other than signatures on certificates (bit 5) and CRLs
/// (bit 6)"; nonRepudiation alone does not do, as RFC 5280 reserves it for content
/// commitment, which CMC requests and responses are not). A keyUsage that does not decode,
/// or occurs twice, allows nothing. A certificate without keyUsage is not restricted.
fn check_key_usage(cert: &Certificate) -> Result<()> {
    match cert.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(None) => Ok(()),
        Ok(Some((_, ku))) if ku.digital_signature() => Ok(()),
        Ok(Some(_)) | Err(_) => Err(Error::SignerKeyUsage),
    }
}

/// Checks that `cert` is valid at `time`.
pub(crate) fn check_validity(cert: &Certificate, time: SystemTime) -> Result<()> {
    let validity = cert.tbs_certificate().validity();
    let not_before = validity.not_before.to_system_time();
    let not_after = validity.not_after.to_system_time();
    if time < not_before {
        return Err(Error::SignerNotYetValid { not_before });
    }
    if time > not_after {
        return Err(Error::SignerExpired { not_after });
    }
    Ok(())
}

/// Verifies one `SignerInfo` of `parsed` completely (RFC 5652 §5.4, §5.6; RFC 6211):
/// digest algorithm, signed attributes present, contentType = eContentType, messageDigest =
/// digest of eContent, CMSAlgorithmProtection agreement, signature over the DER of the
/// signed attributes with the key named by the sid, the signer certificate's keyUsage
/// (digitalSignature, when the extension is present) and its validity at `opts.time`.
pub(crate) fn verify_signer(
    parsed: &Parsed,
    econtent: &[u8],
    si: &SignerInfo,
    opts: &VerifyOptions<'_>,
    request_keys: &[RequestKey],
) -> Result<VerifiedSigner> {
    let digest = alg::digest_alg(&si.digest_alg)?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .filter(|a| !a.is_empty())
        .ok_or(Error::MissingSignedAttributes)?;

    let econtent_type = parsed.signed_data.encap_content_info.econtent_type;
    let ct = single_attr(attrs, &ID_CONTENT_TYPE)?.ok_or(Error::MissingAttribute {
        oid: ID_CONTENT_TYPE,
    })?;
    let ct: ObjectIdentifier = decode_attr(ct, ID_CONTENT_TYPE)?;
    if ct != econtent_type {
        return Err(Error::ContentTypeMismatch {
            attribute: ct,
            econtent_type,
        });
    }

    let md = single_attr(attrs, &ID_MESSAGE_DIGEST)?.ok_or(Error::MissingAttribute {
        oid: ID_MESSAGE_DIGEST,
    })?;
    let md: OctetString = decode_attr(md, ID_MESSAGE_DIGEST)?;
    if md.as_bytes() != digest.digest(econtent).as_slice() {
        return Err(Error::MessageDigestMismatch);
    }

    let signing_time = single_attr(attrs, &ID_SIGNING_TIME)?
        .map(|v| decode_attr::<Time>(v, ID_SIGNING_TIME))
        .transpose()?;

    let protection = single_attr(attrs, &ID_AA_CMS_ALGORITHM_PROTECTION)?
        .map(|v| decode_attr::<CmsAlgorithmProtection>(v, ID_AA_CMS_ALGORITHM_PROTECTION))
        .transpose()?;
    if let Some(p) = &protection {
        if !alg::same_algorithm(&p.digest_algorithm, &si.digest_alg) {
            return Err(Error::AlgorithmProtectionMismatch { which: "digest" });
        }
        let agrees = p.mac_algorithm.is_none()
            && p.signature_algorithm
                .as_ref()
                .is_some_and(|s| alg::same_algorithm(s, &si.signature_algorithm));
        if !agrees {
            return Err(Error::AlgorithmProtectionMismatch { which: "signature" });
        }
    }

    let signature = SignatureAlg::from_algorithm_identifier(&si.signature_algorithm, Some(digest))?;

    let source = find_signer(parsed, &si.sid, opts, request_keys)?;
    let public_key = match &source {
        SignerSource::Message(c) | SignerSource::Caller(c) => {
            c.tbs_certificate().subject_public_key_info().clone()
        }
        SignerSource::Request(id) => request_keys
            .iter()
            .find(|k| k.body_part_id == *id)
            .map(|k| k.public_key.clone())
            .ok_or(Error::SignerNotFound)?,
    };

    // RFC 5652 §5.4: the signature is over the DER of SignedAttributes with the SET OF
    // tag (0x31), not the [0] IMPLICIT tag it has inside SignerInfo.
    let signed_attrs_der = attrs.to_der().map_err(encode_err)?;
    alg::verify_signature(
        &public_key,
        &signature,
        &signed_attrs_der,
        si.signature.as_bytes(),
        "CMS SignerInfo",
    )?;

    if let Some(cert) = match &source {
        SignerSource::Message(c) | SignerSource::Caller(c) => Some(c),
        SignerSource::Request(_) => None,
    } {
        check_key_usage(cert)?;
        check_validity(cert, opts.time)?;
    }

    Ok(VerifiedSigner {
        sid: si.sid.clone(),
        source,
        public_key,
        digest,
        signature,
        signing_time,
        algorithm_protection: protection.is_some(),
    })
}

fn find_signer(
    parsed: &Parsed,
    sid: &SignerIdentifier,
    opts: &VerifyOptions<'_>,
    request_keys: &[RequestKey],
) -> Result<SignerSource> {
    if let Some(c) = parsed.certificates.iter().find(|c| matches_sid(c, sid)) {
        return Ok(SignerSource::Message(c.clone()));
    }
    if let Some(c) = opts.certificates.iter().find(|c| matches_sid(c, sid)) {
        return Ok(SignerSource::Caller(c.clone()));
    }
    // RFC 5272 §3.2, for a PKIData signed with a request's key: "The subjectKeyIdentifier
    // form of the signerIdentifier in SignerInfo MUST be used." So only a
    // subjectKeyIdentifier sid is looked up among the request keys; an
    // issuerAndSerialNumber that names no certificate is SignerNotFound, even when the
    // signature would verify with a request's key. (The "only one SignerInfo" rule is
    // checked by the caller, which sees all the signers.)
    if let SignerIdentifier::SubjectKeyIdentifier(ski) = sid {
        let ski = ski.0.as_bytes();
        let hit = request_keys.iter().find(|k| {
            k.requested_ski.as_deref() == Some(ski) || key_identifier(&k.public_key) == ski
        });
        if let Some(k) = hit {
            return Ok(SignerSource::Request(k.body_part_id));
        }
    }
    Err(Error::SignerNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_cap_is_checked_first() {
        let limits = Limits {
            max_input: 4,
            ..Limits::default()
        };
        assert!(matches!(
            parse(&[0x30, 0x03, 0x02, 0x01, 0x00], &limits),
            Err(Error::TooLarge { len: 5, max: 4 })
        ));
        // Valid DER, but not a ContentInfo.
        let e = parse(&[0x30, 0x03, 0x02, 0x01, 0x00], &Limits::default()).unwrap_err();
        assert!(matches!(e, Error::NotCms(_)), "{e}");
        assert!(e.is_not_cms());
    }
}
