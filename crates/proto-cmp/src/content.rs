//! Body contents other than certificate requests and responses: revocation (RFC 4210
//! §5.3.9–§5.3.10), certificate confirmation (§5.3.18, RFC 9480 §2.10), polling (§5.3.22)
//! and general messages (§5.3.19–§5.3.20).

use alloc::vec::Vec;

use cmc_asn1::CertTemplate;
use der::Sequence;
use der::asn1::{Int, OctetString};
use spki::AlgorithmIdentifierOwned;
use x509_cert::crl::CertificateList;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;

use crate::header::{InfoTypeAndValue, PkiFreeText};
use crate::status::PkiStatusInfo;

/// `RevReqContent` (RFC 4210 §5.3.9), the `rr` body.
///
/// ```text
/// RevReqContent ::= SEQUENCE OF RevDetails
/// ```
pub type RevReqContent = Vec<RevDetails>;

/// `RevDetails` (RFC 4210 §5.3.9).
///
/// ```text
/// RevDetails ::= SEQUENCE {
///     certDetails         CertTemplate,
///     -- allows requester to specify as much as they can about
///     -- the cert. for which revocation is requested
///     -- (e.g., for cases in which serialNumber is not available)
///     crlEntryDetails     Extensions{{...}}    OPTIONAL
///     -- requested crlEntryExtensions
/// }
/// ```
///
/// RFC 9483 §4.2 fills `certDetails` with `issuer` and `serialNumber` only, and
/// `crlEntryDetails` with one `reasonCode`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RevDetails {
    /// Which certificate.
    pub cert_details: CertTemplate,
    /// Requested CRL entry extensions (the reason code).
    pub crl_entry_details: Option<Extensions>,
}

/// `RevRepContent` (RFC 4210 §5.3.10), the `rp` body.
///
/// ```text
/// RevRepContent ::= SEQUENCE {
///     status       SEQUENCE SIZE (1..MAX) OF PKIStatusInfo,
///     -- in same order as was sent in RevReqContent
///     revCerts [0] SEQUENCE SIZE (1..MAX) OF CertId
///                                         OPTIONAL,
///     -- IDs for which revocation was requested
///     -- (same order as status)
///     crls     [1] SEQUENCE SIZE (1..MAX) OF CertificateList
///                                         OPTIONAL
///     -- the resulting CRLs (there may be more than one)
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RevRepContent {
    /// One status per `RevDetails`, in order.
    pub status: Vec<PkiStatusInfo>,
    /// `[0]` the certificates revoked.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub rev_certs: Option<Vec<CertId>>,
    /// `[1]` the resulting CRLs.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub crls: Option<Vec<CertificateList>>,
}

/// `CertId` (RFC 4211 §6.5). `cmc-asn1` has CMC's `CMCCertId` (an `IssuerAndSerialNumber`)
/// but not this CRMF type, so it lives here.
///
/// ```text
/// CertId ::= SEQUENCE {
///     issuer           GeneralName,
///     serialNumber     INTEGER }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertId {
    /// The issuer (a `directoryName`).
    pub issuer: GeneralName,
    /// The serial number.
    pub serial_number: Int,
}

/// `CertConfirmContent` (RFC 4210 §5.3.18), the `certConf` body.
///
/// ```text
/// CertConfirmContent ::= SEQUENCE OF CertStatus
/// ```
pub type CertConfirmContent = Vec<CertStatus>;

/// `CertStatus` (RFC 4210 §5.3.18, `hashAlg` from RFC 9480 §2.10).
///
/// ```text
/// CertStatus ::= SEQUENCE {
///     certHash    OCTET STRING,
///     -- the hash of the certificate, using the same hash algorithm
///     -- as is used to create and verify the certificate signature
///     certReqId   INTEGER,
///     -- to match this confirmation with the corresponding req/rep
///     statusInfo  PKIStatusInfo OPTIONAL,
///     hashAlg [0] AlgorithmIdentifier{DIGEST-ALGORITHM, {...}}
///       OPTIONAL
///     -- the hash algorithm to use for calculating certHash
///     -- SHOULD NOT be used in all cases where the AlgorithmIdentifier
///     -- of the certificate signature specifies a hash algorithm
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertStatus {
    /// Hash of the certificate being confirmed.
    pub cert_hash: OctetString,
    /// The `certReqId` of the request.
    pub cert_req_id: i64,
    /// `accepted`, or `rejection` when the requester refuses the certificate.
    pub status_info: Option<PkiStatusInfo>,
    /// `[0]` the hash algorithm, when the signature algorithm does not name one (EdDSA).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub hash_alg: Option<AlgorithmIdentifierOwned>,
}

/// `PollReqContent` (RFC 4210 §5.3.22), the `pollReq` body.
///
/// ```text
/// PollReqContent ::= SEQUENCE OF SEQUENCE {
///     certReqId              INTEGER }
/// ```
pub type PollReqContent = Vec<PollReq>;

/// One element of [`PollReqContent`] (RFC 4210 §5.3.22).
///
/// ```text
/// SEQUENCE { certReqId INTEGER }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Sequence)]
pub struct PollReq {
    /// The request polled for.
    pub cert_req_id: i64,
}

/// `PollRepContent` (RFC 4210 §5.3.22), the `pollRep` body.
///
/// ```text
/// PollRepContent ::= SEQUENCE OF SEQUENCE {
///     certReqId              INTEGER,
///     checkAfter             INTEGER,  -- time in seconds
///     reason                 PKIFreeText OPTIONAL }
/// ```
pub type PollRepContent = Vec<PollRep>;

/// One element of [`PollRepContent`] (RFC 4210 §5.3.22).
///
/// ```text
/// SEQUENCE {
///     certReqId              INTEGER,
///     checkAfter             INTEGER,  -- time in seconds
///     reason                 PKIFreeText OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PollRep {
    /// The request polled for.
    pub cert_req_id: i64,
    /// Seconds to wait before the next `pollReq`.
    pub check_after: i64,
    /// Why it is still waiting.
    pub reason: Option<PkiFreeText>,
}

/// `GenMsgContent` (RFC 4210 §5.3.19), the `genm` body.
///
/// ```text
/// GenMsgContent ::= SEQUENCE OF InfoTypeAndValue
/// ```
pub type GenMsgContent = Vec<InfoTypeAndValue>;

/// `GenRepContent` (RFC 4210 §5.3.20), the `genp` body.
///
/// ```text
/// GenRepContent ::= SEQUENCE OF InfoTypeAndValue
/// ```
pub type GenRepContent = Vec<InfoTypeAndValue>;
