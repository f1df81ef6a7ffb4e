//! What the CA contributes to every certificate it issues.

use std::time::SystemTime;

use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::name::Name;

use crate::Error;
use crate::profile::SkiMethod;

/// The issuing CA as the policy sees it: its certificate's subject, key
/// identifier, validity and key, the signature algorithm its key produces,
/// and the URLs from the CA's configuration (not from the profile) that go
/// into cRLDistributionPoints and authorityInfoAccess.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerInfo {
    /// The CA certificate's subject: the issuer of what it issues.
    pub subject: Name,
    /// The CA certificate's subjectKeyIdentifier: every issued certificate's
    /// authorityKeyIdentifier.
    pub key_identifier: Vec<u8>,
    /// Start of the CA certificate's validity.
    pub not_before: SystemTime,
    /// End of the CA certificate's validity; nothing issued outlives it.
    pub not_after: SystemTime,
    /// The CA's public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// The signature algorithm the CA key produces
    /// (`SigningKey::signature_algorithm()` in cmc-keys): it goes into the
    /// TBS `signature` field and must fit [`Self::public_key`].
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// cRLDistributionPoints URLs (each its own fullName distribution point).
    pub crl_urls: Vec<String>,
    /// authorityInfoAccess caIssuers URLs.
    pub ca_issuers_urls: Vec<String>,
    /// authorityInfoAccess OCSP URLs.
    pub ocsp_urls: Vec<String>,
}

impl IssuerInfo {
    /// Take subject, key identifier, validity and key from the CA certificate.
    /// The key identifier is its subjectKeyIdentifier extension or, when it has
    /// none, the SHA-1 method of RFC 5280 §4.2.1.2. URLs start empty.
    ///
    /// # Errors
    /// [`Error::Der`] if the certificate's subjectKeyIdentifier does not decode
    /// or appears twice.
    pub fn from_certificate(
        ca: &Certificate,
        signature_algorithm: AlgorithmIdentifierOwned,
    ) -> Result<Self, Error> {
        let tbs = ca.tbs_certificate();
        let public_key = tbs.subject_public_key_info().clone();
        let key_identifier = match tbs.get_extension::<SubjectKeyIdentifier>()? {
            Some((_, ski)) => ski.0.as_bytes().to_vec(),
            None => SkiMethod::Sha1.key_identifier(public_key.subject_public_key.raw_bytes()),
        };
        Ok(Self {
            subject: tbs.subject().clone(),
            key_identifier,
            not_before: tbs.validity().not_before.to_system_time(),
            not_after: tbs.validity().not_after.to_system_time(),
            public_key,
            signature_algorithm,
            crl_urls: Vec::new(),
            ca_issuers_urls: Vec::new(),
            ocsp_urls: Vec::new(),
        })
    }

    /// Add a cRLDistributionPoints URL.
    #[must_use]
    pub fn with_crl_url(mut self, url: impl Into<String>) -> Self {
        self.crl_urls.push(url.into());
        self
    }

    /// Add an authorityInfoAccess caIssuers URL.
    #[must_use]
    pub fn with_ca_issuers_url(mut self, url: impl Into<String>) -> Self {
        self.ca_issuers_urls.push(url.into());
        self
    }

    /// Add an authorityInfoAccess OCSP URL.
    #[must_use]
    pub fn with_ocsp_url(mut self, url: impl Into<String>) -> Self {
        self.ocsp_urls.push(url.into());
        self
    }
}
