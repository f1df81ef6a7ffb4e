//! The Online Certificate Status Protocol (RFC 6960 §4 and Appendix B.1), with the nonce
//! of RFC 8954.
//!
//! The ASN.1 module of RFC 6960 (Appendix B.1) is `DEFINITIONS EXPLICIT TAGS`: every
//! context tag here is EXPLICIT, except the three alternatives of `CertStatus`, which the
//! module marks `IMPLICIT`.

use alloc::vec::Vec;

use const_oid::db::rfc6960;
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
use der::{Choice, Decode, Encode, Enumerated, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

/// `Version` of OCSP requests and responses (RFC 6960 §4.1.1).
///
/// ```text
/// Version ::= INTEGER { v1(0) }
/// ```
///
/// Only v1 exists; decoding any other number fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
pub enum OcspVersion {
    /// `v1(0)`, the default, left out of DER encodings.
    #[default]
    V1 = 0,
}

/// `OCSPRequest` (RFC 6960 §4.1.1).
///
/// ```text
/// OCSPRequest ::= SEQUENCE {
///     tbsRequest              TBSRequest,
///     optionalSignature   [0] EXPLICIT Signature OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct OcspRequest {
    /// What is asked.
    pub tbs_request: TbsRequest,
    /// `[0]` the requester's signature over `tbsRequest`, if it signed.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub optional_signature: Option<Signature>,
}

/// `TBSRequest` (RFC 6960 §4.1.1).
///
/// ```text
/// TBSRequest ::= SEQUENCE {
///     version             [0] EXPLICIT Version DEFAULT v1,
///     requestorName       [1] EXPLICIT GeneralName OPTIONAL,
///     requestList             SEQUENCE OF Request,
///     requestExtensions   [2] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TbsRequest {
    /// `[0]` always v1.
    #[asn1(
        context_specific = "0",
        tag_mode = "EXPLICIT",
        default = "Default::default"
    )]
    pub version: OcspVersion,
    /// `[1]` who asks (required when the request is signed).
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub requestor_name: Option<GeneralName>,
    /// One entry per certificate asked about.
    pub request_list: Vec<Request>,
    /// `[2]` extensions of the whole request, such as the nonce ([`OcspNonce`]).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub request_extensions: Option<Extensions>,
}

impl TbsRequest {
    /// The request extension with this identifier, if present (the first, if repeated).
    #[must_use]
    pub fn extension(&self, oid: &ObjectIdentifier) -> Option<&x509_cert::ext::Extension> {
        self.request_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == *oid)
    }
}

/// `Signature` (RFC 6960 §4.1.1): the optional signature of a request.
///
/// ```text
/// Signature ::= SEQUENCE {
///     signatureAlgorithm      AlgorithmIdentifier,
///     signature               BIT STRING,
///     certs               [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Signature {
    /// How `tbsRequest` was signed.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// The signature over the DER of `tbsRequest`.
    pub signature: BitString,
    /// `[0]` certificates that help verify it.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub certs: Option<Vec<Certificate>>,
}

/// `Request` (RFC 6960 §4.1.1): one certificate asked about.
///
/// ```text
/// Request ::= SEQUENCE {
///     reqCert                     CertID,
///     singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Request {
    /// Which certificate.
    pub req_cert: CertId,
    /// `[0]` extensions of this entry (such as a service locator).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub single_request_extensions: Option<Extensions>,
}

/// `CertID` (RFC 6960 §4.1.1): a certificate named by hashes of its issuer and its serial.
///
/// ```text
/// CertID ::= SEQUENCE {
///     hashAlgorithm           AlgorithmIdentifier,
///     issuerNameHash          OCTET STRING, -- Hash of issuer's DN
///     issuerKeyHash           OCTET STRING, -- Hash of issuer's public key
///     serialNumber            CertificateSerialNumber }
/// ```
///
/// `issuerNameHash` is the hash of the DER of the issuer's Name; `issuerKeyHash` the hash of
/// the issuer's subjectPublicKey BIT STRING value (without tag, length and unused-bits
/// octet).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertId {
    /// The hash of both hashes (SHA-1 in OpenSSL's default).
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash of the issuer's distinguished name.
    pub issuer_name_hash: OctetString,
    /// The hash of the issuer's public key.
    pub issuer_key_hash: OctetString,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

/// `OCSPResponseStatus` (RFC 6960 §4.2.1), an ENUMERATED.
///
/// ```text
/// OCSPResponseStatus ::= ENUMERATED {
///     successful            (0),  -- Response has valid confirmations
///     malformedRequest      (1),  -- Illegal confirmation request
///     internalError         (2),  -- Internal error in issuer
///     tryLater              (3),  -- Try again later
///                                 -- (4) is not used
///     sigRequired           (5),  -- Must sign the request
///     unauthorized          (6)   -- Request unauthorized
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u8)]
pub enum OcspResponseStatus {
    /// `successful (0)`: `responseBytes` holds the answer.
    Successful = 0,
    /// `malformedRequest (1)`: the request did not decode or broke a rule.
    MalformedRequest = 1,
    /// `internalError (2)`: the responder failed.
    InternalError = 2,
    /// `tryLater (3)`: the responder cannot answer now.
    TryLater = 3,
    /// `sigRequired (5)`: the request must be signed.
    SigRequired = 5,
    /// `unauthorized (6)`: the responder does not answer this client or certificate.
    Unauthorized = 6,
}

impl OcspResponseStatus {
    /// The ASN.1 name, e.g. `"malformedRequest"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Successful => "successful",
            Self::MalformedRequest => "malformedRequest",
            Self::InternalError => "internalError",
            Self::TryLater => "tryLater",
            Self::SigRequired => "sigRequired",
            Self::Unauthorized => "unauthorized",
        }
    }
}

/// `OCSPResponse` (RFC 6960 §4.2.1).
///
/// ```text
/// OCSPResponse ::= SEQUENCE {
///     responseStatus         OCSPResponseStatus,
///     responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
/// ```
///
/// `responseBytes` is present exactly when the status is `successful`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct OcspResponse {
    /// Whether the request was answered.
    pub response_status: OcspResponseStatus,
    /// `[0]` the answer, for `successful` only.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub response_bytes: Option<ResponseBytes>,
}

impl OcspResponse {
    /// An unsuccessful response: `status` and no `responseBytes` (RFC 6960 §4.2.1).
    #[must_use]
    pub fn error(status: OcspResponseStatus) -> Self {
        Self {
            response_status: status,
            response_bytes: None,
        }
    }

    /// A successful response carrying `basic` as `id-pkix-ocsp-basic`.
    ///
    /// # Errors
    /// If `basic` cannot be encoded.
    pub fn successful(basic: &BasicOcspResponse) -> der::Result<Self> {
        Ok(Self {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: BasicOcspResponse::OID,
                response: OctetString::new(basic.to_der()?)?,
            }),
        })
    }

    /// The basic response inside `responseBytes`, if there is one of type
    /// `id-pkix-ocsp-basic`.
    ///
    /// # Errors
    /// If the basic response does not decode.
    pub fn basic(&self) -> der::Result<Option<BasicOcspResponse>> {
        match &self.response_bytes {
            Some(bytes) if bytes.response_type == BasicOcspResponse::OID => {
                BasicOcspResponse::from_der(bytes.response.as_bytes()).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// `ResponseBytes` (RFC 6960 §4.2.1).
///
/// ```text
/// ResponseBytes ::= SEQUENCE {
///     responseType   OBJECT IDENTIFIER,
///     response       OCTET STRING }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ResponseBytes {
    /// The type of `response`; `id-pkix-ocsp-basic` is the one every responder supports.
    pub response_type: ObjectIdentifier,
    /// The DER of the response of that type.
    pub response: OctetString,
}

/// `BasicOCSPResponse` (RFC 6960 §4.2.1), the value of `id-pkix-ocsp-basic`.
///
/// ```text
/// BasicOCSPResponse       ::= SEQUENCE {
///    tbsResponseData      ResponseData,
///    signatureAlgorithm   AlgorithmIdentifier,
///    signature            BIT STRING,
///    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct BasicOcspResponse {
    /// What is signed.
    pub tbs_response_data: ResponseData,
    /// How it is signed.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// The signature over the DER of `tbsResponseData`.
    pub signature: BitString,
    /// `[0]` the responder's certificate (and its chain) when the CA itself did not sign.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub certs: Option<Vec<Certificate>>,
}

impl AssociatedOid for BasicOcspResponse {
    const OID: ObjectIdentifier = rfc6960::ID_PKIX_OCSP_BASIC;
}

/// `ResponseData` (RFC 6960 §4.2.1).
///
/// ```text
/// ResponseData ::= SEQUENCE {
///    version              [0] EXPLICIT Version DEFAULT v1,
///    responderID              ResponderID,
///    producedAt               GeneralizedTime,
///    responses                SEQUENCE OF SingleResponse,
///    responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ResponseData {
    /// `[0]` always v1.
    #[asn1(
        context_specific = "0",
        tag_mode = "EXPLICIT",
        default = "Default::default"
    )]
    pub version: OcspVersion,
    /// Who signed.
    pub responder_id: ResponderId,
    /// When the response was signed.
    pub produced_at: GeneralizedTime,
    /// One answer per request entry.
    pub responses: Vec<SingleResponse>,
    /// `[1]` extensions of the whole response, such as the echoed nonce.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub response_extensions: Option<Extensions>,
}

/// `ResponderID` (RFC 6960 §4.2.1).
///
/// ```text
/// ResponderID ::= CHOICE {
///    byName   [1] Name,
///    byKey    [2] KeyHash }
///
/// KeyHash ::= OCTET STRING -- SHA-1 hash of responder's public key
///                          -- (excluding the tag and length fields)
/// ```
///
/// The module has EXPLICIT TAGS, so both alternatives wrap their type.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum ResponderId {
    /// `[1]` the responder certificate's subject.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    ByName(Name),
    /// `[2]` SHA-1 of the responder's subjectPublicKey BIT STRING value.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    ByKey(OctetString),
}

/// `SingleResponse` (RFC 6960 §4.2.1): the status of one certificate.
///
/// ```text
/// SingleResponse ::= SEQUENCE {
///    certID                       CertID,
///    certStatus                   CertStatus,
///    thisUpdate                   GeneralizedTime,
///    nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
///    singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SingleResponse {
    /// The CertID of the request entry, as asked.
    pub cert_id: CertId,
    /// The answer.
    pub cert_status: CertStatus,
    /// The time at which the status is known to be correct.
    pub this_update: GeneralizedTime,
    /// `[0]` the time by which newer information will be available.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub next_update: Option<GeneralizedTime>,
    /// `[1]` extensions of this answer.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub single_extensions: Option<Extensions>,
}

/// `CertStatus` (RFC 6960 §4.2.1).
///
/// ```text
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }
///
/// UnknownInfo ::= NULL
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum CertStatus {
    /// `[0]` not revoked.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    /// `[1]` revoked (or on hold).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    /// `[2]` the responder knows nothing of this certificate.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// `RevokedInfo` (RFC 6960 §4.2.1).
///
/// ```text
/// RevokedInfo ::= SEQUENCE {
///     revocationTime              GeneralizedTime,
///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RevokedInfo {
    /// When the certificate was revoked.
    pub revocation_time: GeneralizedTime,
    /// `[0]` why (left out for unspecified).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub revocation_reason: Option<CrlReason>,
}

/// The value of the `id-pkix-ocsp-nonce` extension (RFC 6960 §4.4.1, RFC 8954 §2.1).
///
/// ```text
/// Nonce ::= OCTET STRING(SIZE(1..32))
/// ```
///
/// The size constraint of RFC 8954 is not checked when decoding: a responder checks it with
/// [`OcspNonce::MAX_LEN`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspNonce(pub OctetString);
der_newtype!(OcspNonce(OctetString));

impl OcspNonce {
    /// The longest nonce RFC 8954 §2.1 allows, in octets.
    pub const MAX_LEN: usize = 32;
}

impl AssociatedOid for OcspNonce {
    const OID: ObjectIdentifier = rfc6960::ID_PKIX_OCSP_NONCE;
}

/// The value of the `id-pkix-ocsp-nocheck` certificate extension (RFC 6960 §4.2.2.2.1): a
/// delegated responder's certificate need not be checked for revocation.
///
/// ```text
/// ext-ocsp-nocheck EXTENSION ::= { SYNTAX NULL IDENTIFIED
///                                  BY id-pkix-ocsp-nocheck }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspNoCheck(pub Null);
der_newtype!(OcspNoCheck(Null));

impl Default for OcspNoCheck {
    fn default() -> Self {
        Self(Null)
    }
}

impl AssociatedOid for OcspNoCheck {
    const OID: ObjectIdentifier = rfc6960::ID_PKIX_OCSP_NOCHECK;
}

#[cfg(test)]
mod tests {
    use super::*;
    use const_oid::db::rfc5912::ID_SHA_1;

    fn cert_id() -> CertId {
        CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: ID_SHA_1,
                parameters: Some(der::asn1::Any::null()),
            },
            issuer_name_hash: OctetString::new([1u8; 20]).unwrap(),
            issuer_key_hash: OctetString::new([2u8; 20]).unwrap(),
            serial_number: SerialNumber::new(&[0x01, 0x02]).unwrap(),
        }
    }

    fn time() -> GeneralizedTime {
        GeneralizedTime::from_unix_duration(core::time::Duration::from_secs(1_800_000_000)).unwrap()
    }

    #[test]
    fn status_is_enumerated() {
        for (status, n) in [
            (OcspResponseStatus::Successful, 0u8),
            (OcspResponseStatus::MalformedRequest, 1),
            (OcspResponseStatus::InternalError, 2),
            (OcspResponseStatus::TryLater, 3),
            (OcspResponseStatus::SigRequired, 5),
            (OcspResponseStatus::Unauthorized, 6),
        ] {
            let der = status.to_der().unwrap();
            assert_eq!(der, [0x0a, 0x01, n]);
            assert_eq!(OcspResponseStatus::from_der(&der).unwrap(), status);
        }
        assert!(OcspResponseStatus::from_der(&[0x0a, 0x01, 0x04]).is_err());
        assert!(OcspResponseStatus::from_der(&[0x02, 0x01, 0x00]).is_err());
        assert_eq!(OcspResponseStatus::TryLater.name(), "tryLater");
    }

    #[test]
    fn an_error_response_is_just_the_status() {
        let der = OcspResponse::error(OcspResponseStatus::MalformedRequest)
            .to_der()
            .unwrap();
        assert_eq!(der, [0x30, 0x03, 0x0a, 0x01, 0x01]);
        let back = OcspResponse::from_der(&der).unwrap();
        assert_eq!(back.basic().unwrap(), None);
    }

    #[test]
    fn cert_status_tags_are_implicit() {
        assert_eq!(
            CertStatus::Good(Null).to_der().unwrap(),
            [0x80, 0x00],
            "[0] IMPLICIT NULL"
        );
        assert_eq!(CertStatus::Unknown(Null).to_der().unwrap(), [0x82, 0x00]);
        let revoked = CertStatus::Revoked(RevokedInfo {
            revocation_time: time(),
            revocation_reason: Some(CrlReason::KeyCompromise),
        });
        let der = revoked.to_der().unwrap();
        // [1] constructed replaces the SEQUENCE tag; the reason is [0] EXPLICIT ENUMERATED.
        assert_eq!(der[0], 0xa1);
        assert_eq!(&der[der.len() - 5..], [0xa0, 0x03, 0x0a, 0x01, 0x01]);
        assert_eq!(CertStatus::from_der(&der).unwrap(), revoked);
    }

    #[test]
    fn responder_id_tags_are_explicit() {
        let by_key = ResponderId::ByKey(OctetString::new([7u8; 20]).unwrap());
        let der = by_key.to_der().unwrap();
        assert_eq!(&der[..4], [0xa2, 0x16, 0x04, 0x14]);
        assert_eq!(ResponderId::from_der(&der).unwrap(), by_key);
        let by_name = ResponderId::ByName(Name::default());
        assert_eq!(by_name.to_der().unwrap(), [0xa1, 0x02, 0x30, 0x00]);
    }

    #[test]
    fn version_v1_is_left_out() {
        let tbs = TbsRequest {
            version: OcspVersion::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id(),
                single_request_extensions: None,
            }],
            request_extensions: None,
        };
        let der = tbs.to_der().unwrap();
        // SEQUENCE { SEQUENCE OF Request ... }: no [0] version.
        assert_eq!(der[2], 0x30);
        assert_eq!(TbsRequest::from_der(&der).unwrap(), tbs);
        // An explicit version other than v1 does not decode.
        let mut v2 = vec![0x30, 0x00, 0xa0, 0x03, 0x02, 0x01, 0x01];
        v2.extend_from_slice(&der[2..]);
        v2[1] = u8::try_from(v2.len() - 2).unwrap();
        assert!(TbsRequest::from_der(&v2).is_err());
    }

    #[test]
    fn nonce_and_nocheck_encode_like_their_types() {
        let nonce = OcspNonce(OctetString::new([9u8; 16]).unwrap());
        let der = nonce.to_der().unwrap();
        assert_eq!(&der[..2], [0x04, 0x10]);
        assert_eq!(OcspNonce::from_der(&der).unwrap(), nonce);
        assert_eq!(OcspNoCheck::default().to_der().unwrap(), [0x05, 0x00]);
        assert_eq!(OcspNonce::OID.to_string(), "1.3.6.1.5.5.7.48.1.2");
        assert_eq!(OcspNoCheck::OID.to_string(), "1.3.6.1.5.5.7.48.1.5");
    }

    #[test]
    fn successful_response_round_trips() {
        let single = SingleResponse {
            cert_id: cert_id(),
            cert_status: CertStatus::Good(Null),
            this_update: time(),
            next_update: Some(time()),
            single_extensions: None,
        };
        let basic = BasicOcspResponse {
            tbs_response_data: ResponseData {
                version: OcspVersion::V1,
                responder_id: ResponderId::ByKey(OctetString::new([3u8; 20]).unwrap()),
                produced_at: time(),
                responses: vec![single],
                response_extensions: None,
            },
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
                parameters: None,
            },
            signature: BitString::from_bytes(&[0x30, 0x00]).unwrap(),
            certs: None,
        };
        let response = OcspResponse::successful(&basic).unwrap();
        let der = response.to_der().unwrap();
        let back = OcspResponse::from_der(&der).unwrap();
        assert_eq!(back, response);
        assert_eq!(back.basic().unwrap(), Some(basic));
        // responseBytes is [0] EXPLICIT: a0 .. 30 .. 06 08 id-pkix-ocsp-basic.
        let after_status = der
            .windows(3)
            .position(|w| w == [0x0a, 0x01, 0x00])
            .unwrap()
            + 3;
        assert_eq!(der[after_status], 0xa0);
        assert_eq!(
            back.response_bytes.unwrap().response_type.to_string(),
            "1.3.6.1.5.5.7.48.1.1"
        );
    }
}
