//! Our own view of the TBSCertificate, field for field as RFC 5280 §4.1
//! defines it, so that the lint sees exactly what is encoded (x509-cert
//! re-encodes times and checks serials on decode, which hides what the lint
//! must find).

use der::asn1::{BitString, Int};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::certificate::Version;
use x509_cert::ext::Extensions;
use x509_cert::name::Name;
use x509_cert::time::Time;

/// ```text
/// TBSCertificate  ::=  SEQUENCE  {
///      version         [0]  EXPLICIT Version DEFAULT v1,
///      serialNumber         CertificateSerialNumber,
///      signature            AlgorithmIdentifier,
///      issuer               Name,
///      validity             Validity,
///      subject              Name,
///      subjectPublicKeyInfo SubjectPublicKeyInfo,
///      issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
///      subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
///      extensions      [3]  EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub(crate) struct RawTbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub version: Option<Version>,
    pub serial_number: Int,
    pub signature: AlgorithmIdentifierOwned,
    pub issuer: Name,
    pub validity: RawValidity,
    pub subject: Name,
    pub subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub issuer_unique_id: Option<BitString>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub subject_unique_id: Option<BitString>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// ```text
/// Validity ::= SEQUENCE {
///      notBefore      Time,
///      notAfter       Time }
/// ```
///
/// Encoded exactly as given (x509-cert's `Validity` rewrites a
/// GeneralizedTime before 2050 as UTCTime when encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Sequence)]
pub(crate) struct RawValidity {
    pub not_before: Time,
    pub not_after: Time,
}

/// ```text
/// Certificate  ::=  SEQUENCE  {
///      tbsCertificate       TBSCertificate,
///      signatureAlgorithm   AlgorithmIdentifier,
///      signatureValue       BIT STRING  }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub(crate) struct RawCertificate {
    pub tbs_certificate: RawTbs,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: BitString,
}

impl RawTbs {
    pub(crate) fn decode_der(der: &[u8]) -> der::Result<Self> {
        Self::from_der(der)
    }

    pub(crate) fn encode_der(&self) -> der::Result<Vec<u8>> {
        self.to_der()
    }
}
