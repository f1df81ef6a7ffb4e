//! CMS `SignedData` (RFC 5652 §5): parsing and verifying a signed message, and producing
//! one with a [`SigningKey`].

use std::time::SystemTime;

use cmc_asn1::BodyPartId;
use cmc_keys::{HashAlg, SigningKey};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::revocation::{RevocationInfoChoice, RevocationInfoChoices};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME};
use const_oid::db::rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{KeyUsage, SubjectKeyIdentifier};
use x509_cert::time::Time;

use crate::alg::{self, SignatureAlg};
use crate::ber::{self, Encoding};
use crate::error::encode_err;
use crate::{Error, Result};

/// Caps on what a decoder accepts.
///
/// Every decoder takes its limits from the caller: [`VerifyOptions::with_limits`] (or the
/// public [`VerifyOptions::limits`] field) for [`crate::decode_full_request`], the `limits`
/// argument of [`crate::decode_simple_request`] and [`crate::decode_certs_only`], and
/// [`crate::ResponseVerifyOptions`]`::limits` for responses. A server should pass its own
/// request body cap as `max_input`, so that the codec accepts exactly what the transport
/// lets through:
///
/// ```
/// use std::time::SystemTime;
/// use cmc_codec::{Limits, VerifyOptions};
///
/// let max_body_bytes = 4 << 20; // from the operator's configuration
/// let limits = Limits::default().with_max_input(max_body_bytes);
/// let opts = VerifyOptions::new(SystemTime::now()).with_limits(limits);
/// assert_eq!(opts.limits.max_input, 4 << 20);
/// assert_eq!(Limits::default().max_input, Limits::DEFAULT_MAX_INPUT); // 1 MiB
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest input, in octets ([`Limits::DEFAULT_MAX_INPUT`] by default).
    pub max_input: usize,
    /// Most `SignerInfo`s in one `SignedData`.
    pub max_signers: usize,
    /// Most certificates in one `SignedData`.
    pub max_certificates: usize,
}

impl Limits {
    /// The default `max_input`: 1 MiB.
    pub const DEFAULT_MAX_INPUT: usize = 1 << 20;

    /// These limits with `max_input` octets as the largest input (for a server: its
    /// configured request body cap).
    #[must_use]
    pub const fn with_max_input(mut self, max_input: usize) -> Self {
        self.max_input = max_input;
        self
    }
}

impl Default for Limits {
    /// 1 MiB ([`Limits::DEFAULT_MAX_INPUT`]), 4 signers, 32 certificates.
    fn default() -> Self {
        Self {
            max_input: Self::DEFAULT_MAX_INPUT,
            max_signers: 4,
            max_certificates: 32,
        }
    }
}

/// What the caller tells the verifier: the time to check certificates at, certificates
/// to look for the signer in besides the message's own, and limits.
#[derive(Clone, Debug)]
pub struct VerifyOptions<'a> {
    /// Time at which the signer certificate must be valid (passed in, never read from the
    /// clock, so that tests and replays can move it).
    pub time: SystemTime,
    /// Certificates searched for the signer after those in the message (for a response:
    /// the trusted certificates).
    pub certificates: &'a [Certificate],
    /// Size and count caps.
    pub limits: Limits,
    /// Public keys of certification requests the server holds for approval: a PKIData that
    /// asks queryPending for one of them may be signed with its key (subjectKeyIdentifier
    /// sid, RFC 5272 §3.2), as the request itself was, although it carries no request.
    pub held_keys: &'a [SubjectPublicKeyInfoOwned],
}

impl<'a> VerifyOptions<'a> {
    /// Options with the verification time, no extra certificates, no held keys and default
    /// limits.
    #[must_use]
    pub fn new(time: SystemTime) -> Self {
        Self {
            time,
            certificates: &[],
            limits: Limits::default(),
            held_keys: &[],
        }
    }

    /// Also accept a signature by one of these held requests' keys (see
    /// [`VerifyOptions::held_keys`]).
    #[must_use]
    pub fn with_held_keys(mut self, keys: &'a [SubjectPublicKeyInfoOwned]) -> Self {
        self.held_keys = keys;
        self
    }

    /// Also look for the signer certificate in `certificates`.
    #[must_use]
    pub fn with_certificates(mut self, certificates: &'a [Certificate]) -> Self {
        self.certificates = certificates;
        self
    }

    /// Use other limits (a server passes its configured body size cap as
    /// [`Limits::max_input`]; see [`Limits`]).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

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

/// `CMSAlgorithmProtection` (RFC 6211 §2), the signed attribute
/// `id-aa-CMSAlgorithmProtection` (1.2.840.113549.1.9.52).
///
/// ```text
/// CMSAlgorithmProtection ::= SEQUENCE {
///     digestAlgorithm         DigestAlgorithmIdentifier,
///     signatureAlgorithm  [1] SignatureAlgorithmIdentifier OPTIONAL,
///     macAlgorithm        [2] MessageAuthenticationCodeAlgorithm
///                                      OPTIONAL
/// }
/// (WITH COMPONENTS { signatureAlgorithm PRESENT,
///                    macAlgorithm ABSENT } |
///  WITH COMPONENTS { signatureAlgorithm ABSENT,
///                    macAlgorithm PRESENT })
/// ```
///
/// The module is IMPLICIT TAGS.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CmsAlgorithmProtection {
    /// The digest algorithm.
    pub digest_algorithm: AlgorithmIdentifierOwned,
    /// `[1]` the signature algorithm (SignedData).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub signature_algorithm: Option<AlgorithmIdentifierOwned>,
    /// `[2]` the MAC algorithm (AuthenticatedData).
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub mac_algorithm: Option<AlgorithmIdentifierOwned>,
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

/// The key identifier of RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
#[must_use]
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
}

fn cert_ski(cert: &Certificate) -> Option<Vec<u8>> {
    match cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
    {
        Ok(Some((_, ski))) => Some(ski.0.as_bytes().to_vec()),
        _ => None,
    }
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

/// Who signs a message we produce: the key, the signer identifier that names it, and the
/// certificates to put in the message (the signer certificate and its chain).
#[derive(Clone, Debug)]
pub struct CmsSigner<'a> {
    key: &'a dyn SigningKey,
    sid: SignerIdentifier,
    certificates: Vec<Certificate>,
}

impl<'a> CmsSigner<'a> {
    /// Signs as `certificate`'s subject, naming it by issuerAndSerialNumber (SignerInfo
    /// version 1), and carries `certificate` and `chain` in the message.
    ///
    /// # Errors
    /// [`Error::SignerKeyMismatch`] if `certificate` is not for `key`.
    pub fn new(
        key: &'a dyn SigningKey,
        certificate: &Certificate,
        chain: &[Certificate],
    ) -> Result<Self> {
        check_cert_key(key, certificate)?;
        let tbs = certificate.tbs_certificate();
        Ok(Self {
            key,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            certificates: std::iter::once(certificate).chain(chain).cloned().collect(),
        })
    }

    /// Like [`CmsSigner::new`], but names the certificate by its subjectKeyIdentifier
    /// (SignerInfo version 3).
    ///
    /// # Errors
    /// [`Error::SignerKeyMismatch`] if `certificate` is not for `key`,
    /// [`Error::MissingSubjectKeyIdentifier`] if it has no subjectKeyIdentifier extension.
    pub fn with_subject_key_identifier(
        key: &'a dyn SigningKey,
        certificate: &Certificate,
        chain: &[Certificate],
    ) -> Result<Self> {
        check_cert_key(key, certificate)?;
        let ski = cert_ski(certificate).ok_or(Error::MissingSubjectKeyIdentifier)?;
        Ok(Self {
            key,
            sid: ski_sid(&ski)?,
            certificates: std::iter::once(certificate).chain(chain).cloned().collect(),
        })
    }

    /// Signs with a key that has no certificate yet, the key of a certification request in
    /// the same PKIData (RFC 5272 §3.2.1.2): the sid is the subjectKeyIdentifier computed
    /// from the public key (RFC 5280 §4.2.1.2 method 1), and no certificate is carried.
    ///
    /// # Errors
    /// [`Error::Encode`] if the identifier does not encode (it cannot: 20 octets).
    pub fn self_signed(key: &'a dyn SigningKey) -> Result<Self> {
        Ok(Self {
            key,
            sid: ski_sid(&key_identifier(key.public_key()))?,
            certificates: Vec::new(),
        })
    }

    /// The signer identifier this signer writes.
    #[must_use]
    pub fn sid(&self) -> &SignerIdentifier {
        &self.sid
    }

    /// The key.
    #[must_use]
    pub fn key(&self) -> &'a dyn SigningKey {
        self.key
    }
}

fn ski_sid(ski: &[u8]) -> Result<SignerIdentifier> {
    Ok(SignerIdentifier::SubjectKeyIdentifier(
        SubjectKeyIdentifier(OctetString::new(ski).map_err(encode_err)?),
    ))
}

fn check_cert_key(key: &dyn SigningKey, certificate: &Certificate) -> Result<()> {
    if certificate.tbs_certificate().subject_public_key_info() == key.public_key() {
        Ok(())
    } else {
        Err(Error::SignerKeyMismatch)
    }
}

fn attribute(oid: ObjectIdentifier, value: &impl Encode) -> Result<Attribute> {
    let der = value.to_der().map_err(encode_err)?;
    let mut values = SetOfVec::new();
    values
        .insert(Any::from_der(&der).map_err(encode_err)?)
        .map_err(encode_err)?;
    Ok(Attribute { oid, values })
}

/// The signingTime value RFC 5652 §11.3 asks for: UTCTime through 2049, GeneralizedTime
/// from 2050 on.
pub(crate) fn signing_time_value(time: SystemTime) -> Result<Time> {
    Time::try_from(time).map_err(|e| Error::TimeOutOfRange(e.to_string()))
}

fn certificate_set(certs: impl IntoIterator<Item = Certificate>) -> Result<Option<CertificateSet>> {
    let mut set = SetOfVec::new();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    for c in certs {
        let der = c.to_der().map_err(encode_err)?;
        if seen.contains(&der) {
            continue;
        }
        seen.push(der);
        set.insert(CertificateChoices::Certificate(c))
            .map_err(encode_err)?;
    }
    Ok((!set.is_empty()).then_some(CertificateSet(set)))
}

fn content_info(sd: &SignedData) -> Result<Vec<u8>> {
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(sd).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)
}

/// Signs `econtent` (the DER of a PKIData or PKIResponse) as a `SignedData` with eContentType
/// `econtent_type` and returns the DER `ContentInfo`.
///
/// The digest follows the key ([`SigningKey::hash`]); the signed attributes are contentType,
/// messageDigest, signingTime (`signing_time`) and CMSAlgorithmProtection; the versions follow
/// RFC 5652 §5.1 and §5.3 (SignedData v3 since the eContentType is not id-data; SignerInfo v1
/// with issuerAndSerialNumber, v3 with subjectKeyIdentifier). `certificates` holds the
/// signer's certificate and chain, then `extra_certificates`, each once; `crls` the CRLs.
pub(crate) fn sign(
    econtent_type: ObjectIdentifier,
    econtent: &[u8],
    signer: &CmsSigner<'_>,
    signing_time: SystemTime,
    extra_certificates: &[Certificate],
    crls: &[CertificateList],
) -> Result<Vec<u8>> {
    let key = signer.key;
    let digest_alg = key.digest_algorithm();
    let signature_alg = key.signature_algorithm().clone();
    let md = OctetString::new(key.hash().digest(econtent)).map_err(encode_err)?;
    let protection = CmsAlgorithmProtection {
        digest_algorithm: digest_alg.clone(),
        signature_algorithm: Some(signature_alg.clone()),
        mac_algorithm: None,
    };
    let mut attrs = Attributes::new();
    for a in [
        attribute(ID_CONTENT_TYPE, &econtent_type)?,
        attribute(ID_SIGNING_TIME, &signing_time_value(signing_time)?)?,
        attribute(ID_MESSAGE_DIGEST, &md)?,
        attribute(ID_AA_CMS_ALGORITHM_PROTECTION, &protection)?,
    ] {
        attrs.insert(a).map_err(encode_err)?;
    }
    let signature = key.sign(&attrs.to_der().map_err(encode_err)?)?;
    let version = match signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    let si = SignerInfo {
        version,
        sid: signer.sid.clone(),
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(attrs),
        signature_algorithm: signature_alg,
        signature: OctetString::new(signature).map_err(encode_err)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(digest_alg).map_err(encode_err)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(si).map_err(encode_err)?;
    let sd = SignedData {
        version: CmsVersion::V3,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type,
            econtent: Some(
                Any::encode_from(&OctetString::new(econtent).map_err(encode_err)?)
                    .map_err(encode_err)?,
            ),
        },
        certificates: certificate_set(
            signer
                .certificates
                .iter()
                .chain(extra_certificates)
                .cloned(),
        )?,
        crls: revocation_info(crls)?,
        signer_infos: SignerInfos(signer_infos),
    };
    content_info(&sd)
}

/// `econtent` as a SignedData without signers (RFC 5272 §3.2.1.3 allows a
/// Full PKI Request whose authority is inside it, e.g. an unsigned
/// revokeRequest with its shared secret): version 3, no digest
/// algorithms, no certificates. Returns the DER `ContentInfo`.
pub(crate) fn unsigned(econtent_type: ObjectIdentifier, econtent: &[u8]) -> Result<Vec<u8>> {
    let sd = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type,
            econtent: Some(
                Any::encode_from(&OctetString::new(econtent).map_err(encode_err)?)
                    .map_err(encode_err)?,
            ),
        },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    content_info(&sd)
}

/// The `crls` field: absent when there are none.
fn revocation_info(crls: &[CertificateList]) -> Result<Option<RevocationInfoChoices>> {
    if crls.is_empty() {
        return Ok(None);
    }
    let mut set = SetOfVec::new();
    for crl in crls {
        set.insert(RevocationInfoChoice::Crl(crl.clone()))
            .map_err(encode_err)?;
    }
    Ok(Some(RevocationInfoChoices(set)))
}

/// A certs-only `SignedData` (RFC 5272 §4.1, RFC 5652 §5.2): eContentType id-data with no
/// eContent, no signers, the certificates, version 1.
pub(crate) fn certs_only(certificates: &[Certificate]) -> Result<Vec<u8>> {
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: const_oid::db::rfc5911::ID_DATA,
            econtent: None,
        },
        certificates: certificate_set(certificates.iter().cloned())?,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    content_info(&sd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn algorithm_protection_encoding() {
        // digestAlgorithm sha256, [1] ecdsa-with-SHA256: the tag is IMPLICIT (0xa1 directly
        // over the AlgorithmIdentifier's content).
        let p = CmsAlgorithmProtection {
            digest_algorithm: HashAlg::Sha256.algorithm_identifier(),
            signature_algorithm: Some(AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
                parameters: None,
            }),
            mac_algorithm: None,
        };
        let der = p.to_der().unwrap();
        assert_eq!(
            der,
            hex!(
                "30 19 30 0b 06 09 60 86 48 01 65 03 04 02 01"
                "a1 0a 06 08 2a 86 48 ce 3d 04 03 02"
            )
        );
        assert_eq!(CmsAlgorithmProtection::from_der(&der).unwrap(), p);
    }

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
