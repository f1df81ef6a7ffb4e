//! Values of the CMC controls (RFC 5272 §6, RFC 6402 §2).
//!
//! Controls whose value is a plain OCTET STRING, UTF8String or INTEGER (senderNonce,
//! regInfo, identification, transactionId, ...) are decoded with der's own types:
//! `TaggedAttribute::single_value::<OctetString>()` and so on.

use alloc::string::String;
use alloc::vec::Vec;

use const_oid::{AssociatedOid, ObjectIdentifier};
use der::Sequence;
use der::asn1::{GeneralizedTime, OctetString};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::crl::dp::ReasonFlags;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use crate::{BodyPartId, oid};

/// `LraPopWitness` (RFC 5272 §6.8), the value of `id-cmc-lraPOPWitness`.
///
/// ```text
/// LraPopWitness ::= SEQUENCE {
///     pkiDataBodyid   BodyPartID,
///     bodyIds         SEQUENCE OF BodyPartID
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct LraPopWitness {
    /// The PKIData (in cmsSequence) holding the requests the RA checked. Some clients put a
    /// random number here that references nothing.
    pub pki_data_bodyid: BodyPartId,
    /// The requests whose POP the RA verified.
    pub body_ids: Vec<BodyPartId>,
}

impl AssociatedOid for LraPopWitness {
    const OID: ObjectIdentifier = oid::ID_CMC_LRA_POP_WITNESS;
}

/// `GetCert` (RFC 5272 §6.9), the value of `id-cmc-getCert`.
///
/// ```text
/// GetCert ::= SEQUENCE {
///     issuerName      GeneralName,
///     serialNumber    INTEGER }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct GetCert {
    /// Issuer of the wanted certificate.
    pub issuer_name: GeneralName,
    /// Its serial number.
    pub serial_number: SerialNumber,
}

impl AssociatedOid for GetCert {
    const OID: ObjectIdentifier = oid::ID_CMC_GET_CERT;
}

/// `GetCRL` (RFC 5272 §6.10), the value of `id-cmc-getCRL`.
///
/// ```text
/// GetCRL ::= SEQUENCE {
///     issuerName    Name,
///     cRLName       GeneralName OPTIONAL,
///     time          GeneralizedTime OPTIONAL,
///     reasons       ReasonFlags OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct GetCrl {
    /// Issuer of the wanted CRL.
    pub issuer_name: Name,
    /// Name of the CRL (e.g. its distribution point).
    pub crl_name: Option<GeneralName>,
    /// Return the CRL valid at this time.
    pub time: Option<GeneralizedTime>,
    /// Revocation reasons the CRL should cover.
    pub reasons: Option<ReasonFlags>,
}

impl AssociatedOid for GetCrl {
    const OID: ObjectIdentifier = oid::ID_CMC_GET_CRL;
}

/// `RevokeRequest` (RFC 5272 §6.11), the value of `id-cmc-revokeRequest`.
///
/// ```text
/// RevokeRequest ::= SEQUENCE {
///     issuerName            Name,
///     serialNumber          INTEGER,
///     reason                CRLReason,
///     invalidityDate         GeneralizedTime OPTIONAL,
///     passphrase            OCTET STRING OPTIONAL,
///     comment               UTF8String OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RevokeRequest {
    /// Issuer of the certificate to revoke.
    pub issuer_name: Name,
    /// Its serial number.
    pub serial_number: SerialNumber,
    /// Why (ENUMERATED, RFC 5280 §5.3.1).
    pub reason: CrlReason,
    /// When the key is believed to have been compromised.
    pub invalidity_date: Option<GeneralizedTime>,
    /// Shared secret authorising an unsigned revocation.
    pub passphrase: Option<OctetString>,
    /// Human-readable comment.
    pub comment: Option<String>,
}

impl AssociatedOid for RevokeRequest {
    const OID: ObjectIdentifier = oid::ID_CMC_REVOKE_REQUEST;
}
