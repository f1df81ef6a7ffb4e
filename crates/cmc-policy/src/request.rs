//! The request as data, whatever format it arrived in.

use cmc_asn1::{CertTemplate, OptionalValidity};
use const_oid::AssociatedOid;
use der::Decode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq};

use crate::Error;

/// What a requester asked for: the subject, the public key, the extensions and
/// (CRMF only) a validity. Nothing here has been checked against a profile.
///
/// Proof of possession is not this crate's business: the caller checks the
/// PKCS#10 signature or the CRMF POPO before calling [`crate::prepare`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The requested subject name (may be empty).
    pub subject: Name,
    /// The key to certify.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// The requested extensions, in request order.
    pub extensions: Vec<Extension>,
    /// The requested validity (CRMF `OptionalValidity`), if any.
    pub validity: Option<OptionalValidity>,
}

impl Request {
    /// A request with no extensions and no requested validity.
    #[must_use]
    pub fn new(subject: Name, public_key: SubjectPublicKeyInfoOwned) -> Self {
        Self {
            subject,
            public_key,
            extensions: Vec::new(),
            validity: None,
        }
    }

    /// Read a PKCS#10 request (RFC 2986): subject, public key and the
    /// extensions of its extensionRequest attribute (PKCS#9,
    /// 1.2.840.113549.1.9.14). Other attributes (challengePassword, CMC's
    /// popLinkWitnessV2, ...) are the caller's to interpret.
    ///
    /// # Errors
    /// [`Error::BadRequest`] if there is more than one extensionRequest
    /// attribute or one without exactly one value, [`Error::Der`] if its value
    /// is not a sequence of extensions.
    pub fn from_cert_req(csr: &CertReq) -> Result<Self, Error> {
        let mut extensions = None;
        for attr in csr.info.attributes.iter() {
            if attr.oid != ExtensionReq::OID {
                continue;
            }
            if extensions.is_some() {
                return Err(Error::BadRequest(
                    "more than one extensionRequest attribute".into(),
                ));
            }
            let mut values = attr.values.iter();
            let (Some(value), None) = (values.next(), values.next()) else {
                return Err(Error::BadRequest(
                    "an extensionRequest attribute must have exactly one value".into(),
                ));
            };
            let list: Vec<Extension> = Vec::from_der(&der::Encode::to_der(value)?)?;
            extensions = Some(list);
        }
        Ok(Self {
            subject: csr.info.subject.clone(),
            public_key: csr.info.public_key.clone(),
            extensions: extensions.unwrap_or_default(),
            validity: None,
        })
    }

    /// Read a CRMF certificate template (RFC 4211 §5): subject (empty when
    /// absent), public key, extensions and validity. The version, serial
    /// number, signing algorithm, issuer and unique identifiers of a template
    /// are the CA's to choose and are ignored.
    ///
    /// # Errors
    /// [`Error::BadRequest`] if the template has no public key.
    pub fn from_cert_template(template: &CertTemplate) -> Result<Self, Error> {
        let public_key = template.public_key.clone().ok_or_else(|| {
            Error::BadRequest("the certificate template has no public key".into())
        })?;
        Ok(Self {
            subject: template.subject.clone().unwrap_or_default(),
            public_key,
            extensions: template.extensions.clone().unwrap_or_default(),
            validity: template.validity.clone(),
        })
    }
}
