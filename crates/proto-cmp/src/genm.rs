//! The values of the general messages of the Lightweight CMP Profile (RFC 9483 §4.3, types
//! from RFC 9480 §2.14–§2.17) and of `id-it-certProfile` (RFC 9480 §2.4).
//!
//! Each is the `infoValue` of an [`InfoTypeAndValue`] whose `infoType` is the OID named in
//! its documentation; the request carries the `infoType` without a value (or, for
//! `rootCaCert` and `crlStatusList`, with one). Build one with [`InfoTypeAndValue::new`],
//! read one with [`InfoTypeAndValue::value_as`]. EXPLICIT tags (the CMP module's default).

use alloc::string::String;
use alloc::vec::Vec;

use cmc_asn1::{CertTemplate, Controls};
use der::{Choice, Sequence};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralNames};
use x509_cert::time::Time;

use crate::cert_rep::CmpCertificate;
use crate::header::InfoTypeAndValue;
use crate::oid::{
    ID_IT_CA_CERTS, ID_IT_CERT_REQ_TEMPLATE, ID_IT_CRL_STATUS_LIST, ID_IT_ROOT_CA_KEY_UPDATE,
};

/// `CaCertsValue` (RFC 9480 §2.14), `infoType` `id-it-caCerts`: the CA certificates a
/// client may need (RFC 9483 §4.3.1).
///
/// ```text
/// CaCertsValue ::= SEQUENCE SIZE (1..MAX) OF CMPCertificate
/// ```
pub type CaCertsValue = Vec<CmpCertificate>;

/// `RootCaCertValue` (RFC 9480 §2.14), `infoType` `id-it-rootCaCert`: in a request, the
/// root CA certificate the client has (RFC 9483 §4.3.2).
///
/// ```text
/// RootCaCertValue ::= CMPCertificate
/// ```
pub type RootCaCertValue = CmpCertificate;

/// `RootCaKeyUpdateContent` (RFC 9480 §2.14), the `RootCaKeyUpdateValue` of `infoType`
/// `id-it-rootCaKeyUpdate`: a new root CA certificate with its link certificates.
///
/// ```text
/// RootCaKeyUpdateValue ::= RootCaKeyUpdateContent
///
/// RootCaKeyUpdateContent ::= SEQUENCE {
///     newWithNew       CMPCertificate,
///     newWithOld   [0] CMPCertificate OPTIONAL,
///     oldWithNew   [1] CMPCertificate OPTIONAL
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RootCaKeyUpdateContent {
    /// The new root certificate.
    pub new_with_new: CmpCertificate,
    /// `[0]` the new key certified by the old one.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub new_with_old: Option<CmpCertificate>,
    /// `[1]` the old key certified by the new one.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub old_with_new: Option<CmpCertificate>,
}

/// `CertReqTemplateContent` (RFC 9480 §2.15), the `CertReqTemplateValue` of `infoType`
/// `id-it-certReqTemplate` (RFC 9483 §4.3.3).
///
/// ```text
/// CertReqTemplateValue  ::= CertReqTemplateContent
///
/// CertReqTemplateContent ::= SEQUENCE {
///     certTemplate           CertTemplate,
///     keySpec                Controls OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertReqTemplateContent {
    /// The fields the CA wants in a request.
    pub cert_template: CertTemplate,
    /// Key types and parameters (`id-regCtrl-algId`, `id-regCtrl-rsaKeyLen`).
    pub key_spec: Option<Controls>,
}

/// `CrlStatusListValue` (RFC 9480 §2.16), `infoType` `id-it-crlStatusList`: in a request,
/// the CRLs the client has (RFC 9483 §4.3.4).
///
/// ```text
/// CrlStatusListValue ::= SEQUENCE SIZE (1..MAX) OF CRLStatus
/// ```
pub type CrlStatusListValue = Vec<CrlStatus>;

/// `CRLStatus` (RFC 9480 §2.16).
///
/// ```text
/// CRLStatus ::= SEQUENCE {
///     source       CRLSource,
///     thisUpdate   Time OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CrlStatus {
    /// Where the CRL comes from.
    pub source: CrlSource,
    /// The `thisUpdate` of the CRL the client has.
    pub this_update: Option<Time>,
}

/// `CRLSource` (RFC 9480 §2.16).
///
/// ```text
/// CRLSource ::= CHOICE {
///     dpn          [0] DistributionPointName,
///     issuer       [1] GeneralNames }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum CrlSource {
    /// `[0]` a distribution point of the certificate.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Dpn(DistributionPointName),
    /// `[1]` the CRL issuer.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Issuer(GeneralNames),
}

/// `CRLsValue` (RFC 9480 §2.17), `infoType` `id-it-crls`: the current CRLs.
///
/// ```text
/// CRLsValue ::= SEQUENCE SIZE (1..MAX) OF CertificateList
/// ```
pub type CrlsValue = Vec<CertificateList>;

/// `CertProfileValue` (RFC 9480 §2.4), `infoType` `id-it-certProfile` in `generalInfo`:
/// the certificate profile(s) a request asks for.
///
/// ```text
/// CertProfileValue ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
pub type CertProfileValue = Vec<String>;

/// What a `genm` of the Lightweight CMP Profile asks for, by its `infoType` (RFC 9483 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenmRequest {
    /// `id-it-caCerts` (§4.3.1).
    CaCerts,
    /// `id-it-rootCaKeyUpdate`, with the old root in `id-it-rootCaCert` (§4.3.2).
    RootCaKeyUpdate,
    /// `id-it-certReqTemplate` (§4.3.3).
    CertReqTemplate,
    /// `id-it-crlStatusList` (§4.3.4), answered with `id-it-crls`.
    CrlUpdate,
}

impl GenmRequest {
    /// The request a `GenMsgContent` entry stands for, if it is one of the profile's.
    #[must_use]
    pub fn of(itav: &InfoTypeAndValue) -> Option<Self> {
        match itav.info_type {
            o if o == ID_IT_CA_CERTS => Some(Self::CaCerts),
            o if o == ID_IT_ROOT_CA_KEY_UPDATE => Some(Self::RootCaKeyUpdate),
            o if o == ID_IT_CERT_REQ_TEMPLATE => Some(Self::CertReqTemplate),
            o if o == ID_IT_CRL_STATUS_LIST => Some(Self::CrlUpdate),
            _ => None,
        }
    }
}
