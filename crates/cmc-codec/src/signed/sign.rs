//! Producing a `SignedData`: who signs ([`CmsSigner`]), a signed message
//! with its signed attributes ([`sign`]), a message without signers
//! ([`unsigned`]) and a certs-only message ([`certs_only`]).

use std::time::SystemTime;

use cmc_keys::SigningKey;
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
use der::{Any, Decode, Encode};
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;

use super::{CmsAlgorithmProtection, cert_ski, key_identifier};
use crate::error::encode_err;
use crate::{Error, Result};

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
