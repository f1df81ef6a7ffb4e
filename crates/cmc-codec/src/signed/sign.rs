//! Producing a `SignedData`: who signs ([`CmsSigner`], with the certificates
//! it carries encoded once in a [`SignerIdentity`]), a signed message with
//! its signed attributes ([`sign`]), a message without signers
//! ([`unsigned`]) and a certs-only message ([`certs_only`]).
//!
//! The certificates a signer carries are the same in every message it signs;
//! they are encoded to DER once, when its [`SignerIdentity`] is built, and a
//! message's `certificates` field is assembled from those bytes (and the
//! message's own certificates, encoded once each), sorted as DER requires
//! for a SET OF, without decoding or encoding them again.

use std::sync::Arc;
use std::time::SystemTime;

use cmc_keys::SigningKey;
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::revocation::{RevocationInfoChoice, RevocationInfoChoices};
use cms::signed_data::{
    EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME};
use const_oid::db::rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Length};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;

use super::{CmsAlgorithmProtection, cert_ski, key_identifier};
use crate::error::encode_err;
use crate::{Error, Result};

/// What a signer signs as, built once and reused for every message it signs: the signer
/// identifier, the public key it must sign with, and the DER of the certificates it carries
/// (its certificate and chain, each once).
#[derive(Clone, Debug)]
pub struct SignerIdentity {
    sid: SignerIdentifier,
    public_key: Option<SubjectPublicKeyInfoOwned>,
    certificates: Arc<[Vec<u8>]>,
}

impl SignerIdentity {
    /// Signs as `certificate`'s subject, naming it by issuerAndSerialNumber (SignerInfo
    /// version 1), carrying `certificate` and `chain`.
    ///
    /// # Errors
    /// [`Error::Encode`] if a certificate does not encode.
    pub fn new(certificate: &Certificate, chain: &[Certificate]) -> Result<Self> {
        let tbs = certificate.tbs_certificate();
        Self::build(
            SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            certificate,
            chain,
        )
    }

    /// Like [`SignerIdentity::new`], but names the certificate by its subjectKeyIdentifier
    /// (SignerInfo version 3).
    ///
    /// # Errors
    /// [`Error::MissingSubjectKeyIdentifier`] if it has no subjectKeyIdentifier extension;
    /// [`Error::Encode`].
    pub fn with_subject_key_identifier(
        certificate: &Certificate,
        chain: &[Certificate],
    ) -> Result<Self> {
        let ski = cert_ski(certificate).ok_or(Error::MissingSubjectKeyIdentifier)?;
        Self::build(ski_sid(&ski)?, certificate, chain)
    }

    fn build(
        sid: SignerIdentifier,
        certificate: &Certificate,
        chain: &[Certificate],
    ) -> Result<Self> {
        let mut certificates = Vec::with_capacity(1 + chain.len());
        for c in std::iter::once(certificate).chain(chain) {
            let der = c.to_der().map_err(encode_err)?;
            if !certificates.contains(&der) {
                certificates.push(der);
            }
        }
        Ok(Self {
            sid,
            public_key: Some(
                certificate
                    .tbs_certificate()
                    .subject_public_key_info()
                    .clone(),
            ),
            certificates: certificates.into(),
        })
    }

    /// The signer identifier this identity writes.
    #[must_use]
    pub fn sid(&self) -> &SignerIdentifier {
        &self.sid
    }
}

/// Who signs a message we produce: the key and the [`SignerIdentity`] it signs as.
#[derive(Clone, Debug)]
pub struct CmsSigner<'a> {
    key: &'a dyn SigningKey,
    identity: SignerIdentity,
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
        Self::with_identity(key, &SignerIdentity::new(certificate, chain)?)
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
        Self::with_identity(
            key,
            &SignerIdentity::with_subject_key_identifier(certificate, chain)?,
        )
    }

    /// Signs with `key` as `identity`, built once beforehand (the certificates it carries
    /// are not encoded again; cloning an identity copies no certificate).
    ///
    /// # Errors
    /// [`Error::SignerKeyMismatch`] if the identity's certificate is not for `key`.
    pub fn with_identity(key: &'a dyn SigningKey, identity: &SignerIdentity) -> Result<Self> {
        if identity
            .public_key
            .as_ref()
            .is_some_and(|p| p != key.public_key())
        {
            return Err(Error::SignerKeyMismatch);
        }
        Ok(Self {
            key,
            identity: identity.clone(),
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
            identity: SignerIdentity {
                sid: ski_sid(&key_identifier(key.public_key()))?,
                public_key: None,
                certificates: Arc::from(Vec::new()),
            },
        })
    }

    /// The signer identifier this signer writes.
    #[must_use]
    pub fn sid(&self) -> &SignerIdentifier {
        &self.identity.sid
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

/// The DER of `certs` after `encoded`, each once, in DER SET OF order (ascending
/// octets, RFC 5652's `CertificateSet` is a SET OF).
fn certificate_ders(encoded: &[Vec<u8>], certs: &[Certificate]) -> Result<Vec<Vec<u8>>> {
    let mut all: Vec<Vec<u8>> = encoded.to_vec();
    for c in certs {
        let der = c.to_der().map_err(encode_err)?;
        if !all.contains(&der) {
            all.push(der);
        }
    }
    all.sort();
    Ok(all)
}

/// `tag`, the DER length of the concatenated `parts`, then the parts.
fn tlv(tag: u8, parts: &[&[u8]]) -> Result<Vec<u8>> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len_der = Length::try_from(len)
        .and_then(|l| l.to_der())
        .map_err(encode_err)?;
    let mut out = Vec::with_capacity(1 + len_der.len() + len);
    out.push(tag);
    out.extend_from_slice(&len_der);
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(out)
}

/// DER tags of the fields written here by hand.
const SEQUENCE: u8 = 0x30;
/// `[0]` constructed: `certificates [0] IMPLICIT CertificateSet` and the ContentInfo's
/// `content [0] EXPLICIT`.
const CONTEXT_0: u8 = 0xA0;
/// `[1]` constructed: `crls [1] IMPLICIT RevocationInfoChoices`.
const CONTEXT_1: u8 = 0xA1;

/// The DER `ContentInfo` of a `SignedData` (RFC 5652 §5.1) whose certificates are given
/// as DER in SET OF order: the other fields are encoded by their types, the certificates
/// are copied.
fn signed_data_content_info(sd: &SignedData, certificates: &[Vec<u8>]) -> Result<Vec<u8>> {
    let version = sd.version.to_der().map_err(encode_err)?;
    let digest_algorithms = sd.digest_algorithms.to_der().map_err(encode_err)?;
    let encap = sd.encap_content_info.to_der().map_err(encode_err)?;
    let certs = if certificates.is_empty() {
        Vec::new()
    } else {
        let parts: Vec<&[u8]> = certificates.iter().map(Vec::as_slice).collect();
        tlv(CONTEXT_0, &parts)?
    };
    let crls = match &sd.crls {
        // IMPLICIT [1]: the SET's elements (already in order) under the context tag.
        Some(crls) => {
            let elements = crls
                .0
                .iter()
                .map(|c| c.to_der().map_err(encode_err))
                .collect::<Result<Vec<_>>>()?;
            let parts: Vec<&[u8]> = elements.iter().map(Vec::as_slice).collect();
            tlv(CONTEXT_1, &parts)?
        }
        None => Vec::new(),
    };
    let signer_infos = sd.signer_infos.to_der().map_err(encode_err)?;
    let signed_data = tlv(
        SEQUENCE,
        &[
            &version,
            &digest_algorithms,
            &encap,
            &certs,
            &crls,
            &signer_infos,
        ],
    )?;
    let content_type = ID_SIGNED_DATA.to_der().map_err(encode_err)?;
    tlv(
        SEQUENCE,
        &[&content_type, &tlv(CONTEXT_0, &[&signed_data])?],
    )
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
    let version = match signer.identity.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    let si = SignerInfo {
        version,
        sid: signer.identity.sid.clone(),
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
        certificates: None,
        crls: revocation_info(crls)?,
        signer_infos: SignerInfos(signer_infos),
    };
    let certificates = certificate_ders(&signer.identity.certificates, extra_certificates)?;
    signed_data_content_info(&sd, &certificates)
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
    signed_data_content_info(&sd, &[])
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
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    signed_data_content_info(&sd, &certificate_ders(&[], certificates)?)
}
