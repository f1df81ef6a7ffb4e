//! CMC status reporting (RFC 5272 §6.1).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{Any, GeneralizedTime, OctetString};
use der::{Choice, Enumerated, Sequence};

use crate::{BodyPartId, BodyPartReference, oid};

/// `CMCStatus` (RFC 5272 §6.1.3): an INTEGER with named numbers (not an ENUMERATED).
///
/// ```text
/// CMCStatus ::= INTEGER {
///     success         (0),
///     failed          (2),
///     pending         (3),
///     noSupport       (4),
///     confirmRequired (5),
///     popRequired     (6),
///     partial         (7)
/// }
/// ```
///
/// Decoding rejects numbers without a name (1 is unassigned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u32)]
pub enum CmcStatus {
    /// `success (0)`: the request was granted.
    Success = 0,
    /// `failed (2)`: the request failed; `otherInfo` may say why.
    Failed = 2,
    /// `pending (3)`: ask again later with queryPending.
    Pending = 3,
    /// `noSupport (4)`: the request or a control is not supported.
    NoSupport = 4,
    /// `confirmRequired (5)`: confirm with confirmCertAcceptance.
    ConfirmRequired = 5,
    /// `popRequired (6)`: encryptedPOP/decryptedPOP round needed.
    PopRequired = 6,
    /// `partial (7)`: partial success (batch).
    Partial = 7,
}

impl CmcStatus {
    /// The numeric value.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// The ASN.1 name, e.g. `"confirmRequired"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Pending => "pending",
            Self::NoSupport => "noSupport",
            Self::ConfirmRequired => "confirmRequired",
            Self::PopRequired => "popRequired",
            Self::Partial => "partial",
        }
    }
}

impl fmt::Display for CmcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.as_u32())
    }
}

/// `CMCFailInfo` (RFC 5272 §6.1.4): an INTEGER with named numbers (not an ENUMERATED).
///
/// ```text
/// CMCFailInfo ::= INTEGER {
///     badAlg          (0),
///     badMessageCheck (1),
///     badRequest      (2),
///     badTime         (3),
///     badCertId       (4),
///     unsupportedExt  (5),
///     mustArchiveKeys (6),
///     badIdentity     (7),
///     popRequired     (8),
///     popFailed       (9),
///     noKeyReuse      (10),
///     internalCAError (11),
///     tryLater        (12),
///     authDataFail    (13)
/// }
/// ```
///
/// (The ASN.1 module spells number 5 `unsuportedExt`; the section text `unsupportedExt`.)
/// Decoding rejects numbers without a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u32)]
pub enum CmcFailInfo {
    /// `badAlg (0)`: unrecognized or unsupported algorithm.
    BadAlg = 0,
    /// `badMessageCheck (1)`: integrity check (signature) failed.
    BadMessageCheck = 1,
    /// `badRequest (2)`: transaction not permitted or supported.
    BadRequest = 2,
    /// `badTime (3)`: message time not sufficiently close to the system time.
    BadTime = 3,
    /// `badCertId (4)`: no certificate could be identified.
    BadCertId = 4,
    /// `unsupportedExt (5)`: a requested extension is not supported.
    UnsupportedExt = 5,
    /// `mustArchiveKeys (6)`: private key material must be supplied.
    MustArchiveKeys = 6,
    /// `badIdentity (7)`: identification control failed.
    BadIdentity = 7,
    /// `popRequired (8)`: server requires a POP proof first.
    PopRequired = 8,
    /// `popFailed (9)`: POP processing failed.
    PopFailed = 9,
    /// `noKeyReuse (10)`: server policy forbids key reuse.
    NoKeyReuse = 10,
    /// `internalCAError (11)`: internal error in the CA.
    InternalCaError = 11,
    /// `tryLater (12)`: server busy, try again later.
    TryLater = 12,
    /// `authDataFail (13)`: failure in an authenticated-data control.
    AuthDataFail = 13,
}

impl CmcFailInfo {
    /// The numeric value.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// The ASN.1 name, e.g. `"badMessageCheck"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::BadAlg => "badAlg",
            Self::BadMessageCheck => "badMessageCheck",
            Self::BadRequest => "badRequest",
            Self::BadTime => "badTime",
            Self::BadCertId => "badCertId",
            Self::UnsupportedExt => "unsupportedExt",
            Self::MustArchiveKeys => "mustArchiveKeys",
            Self::BadIdentity => "badIdentity",
            Self::PopRequired => "popRequired",
            Self::PopFailed => "popFailed",
            Self::NoKeyReuse => "noKeyReuse",
            Self::InternalCaError => "internalCAError",
            Self::TryLater => "tryLater",
            Self::AuthDataFail => "authDataFail",
        }
    }
}

impl fmt::Display for CmcFailInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.as_u32())
    }
}

/// `PendInfo` (RFC 5272 §6.1.1).
///
/// ```text
/// PendInfo ::= SEQUENCE {
///     pendToken        OCTET STRING,
///     pendTime         GeneralizedTime
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PendInfo {
    /// Token to quote in the queryPending control.
    pub pend_token: OctetString,
    /// Suggested time to ask again.
    pub pend_time: GeneralizedTime,
}

/// The inline `[1] SEQUENCE` of the `extendedFailInfo` alternative (RFC 5272 §6.1.1).
///
/// ```text
/// extendedFailInfo       [1] SEQUENCE {
///    failInfoOID            TYPE-IDENTIFIER.&id
///                               ({ExtendedFailures}),
///    failInfoValue          TYPE-IDENTIFIER.&Type
///                               ({ExtendedFailures}
///                                   {@.failInfoOID})
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ExtendedFailInfo {
    /// Identifies the failure type.
    pub fail_info_oid: ObjectIdentifier,
    /// Failure details, typed by `fail_info_oid`.
    pub fail_info_value: Any,
}

/// The `otherInfo` CHOICE of `CMCStatusInfoV2` (RFC 5272 §6.1.1).
///
/// ```text
/// otherInfo             CHOICE {
///     failInfo               CMCFailInfo,
///     pendInfo               PendInfo,
///     extendedFailInfo       [1] SEQUENCE {
///        failInfoOID            TYPE-IDENTIFIER.&id
///                                   ({ExtendedFailures}),
///        failInfoValue          TYPE-IDENTIFIER.&Type
///                                   ({ExtendedFailures}
///                                       {@.failInfoOID})
///     }
///  } OPTIONAL
/// ```
///
/// The module is IMPLICIT TAGS, so `[1]` replaces the SEQUENCE tag.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum OtherStatusInfo {
    /// Reason for a `failed` status.
    FailInfo(CmcFailInfo),
    /// Details of a `pending` status.
    PendInfo(PendInfo),
    /// `[1]` failure reason from an extension.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    ExtendedFailInfo(ExtendedFailInfo),
}

/// `CMCStatusInfoV2` (RFC 5272 §6.1.1), the value of `id-cmc-statusInfoV2`.
///
/// ```text
/// CMCStatusInfoV2 ::= SEQUENCE {
///    cMCStatus             CMCStatus,
///    bodyList              SEQUENCE SIZE (1..MAX) OF
///                                   BodyPartReference,
///    statusString          UTF8String OPTIONAL,
///    otherInfo             CHOICE {
///        failInfo               CMCFailInfo,
///        pendInfo               PendInfo,
///        extendedFailInfo       [1] SEQUENCE {
///           failInfoOID            TYPE-IDENTIFIER.&id
///                                      ({ExtendedFailures}),
///           failInfoValue          TYPE-IDENTIFIER.&Type
///                                      ({ExtendedFailures}
///                                          {@.failInfoOID})
///        }
///     } OPTIONAL
/// }
/// ```
///
/// `bodyList` must not be empty when sending (RFC 5272 §6.1.1); decoding does not check it.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CmcStatusInfoV2 {
    /// The status.
    pub cmc_status: CmcStatus,
    /// The body parts this status applies to.
    pub body_list: Vec<BodyPartReference>,
    /// Human-readable text.
    pub status_string: Option<String>,
    /// Failure or pending details.
    pub other_info: Option<OtherStatusInfo>,
}

impl AssociatedOid for CmcStatusInfoV2 {
    const OID: ObjectIdentifier = oid::ID_CMC_STATUS_INFO_V2;
}

/// The `otherInfo` CHOICE of the version 1 `CMCStatusInfo` (RFC 5272 §6.1.2).
///
/// ```text
/// otherInfo       CHOICE {
///    failInfo         CMCFailInfo,
///    pendInfo         PendInfo
/// } OPTIONAL
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum CmcStatusInfoOtherInfo {
    /// Reason for a `failed` status.
    FailInfo(CmcFailInfo),
    /// Details of a `pending` status.
    PendInfo(PendInfo),
}

/// `CMCStatusInfo` (RFC 5272 §6.1.2), the value of `id-cmc-statusInfo`; superseded by
/// [`CmcStatusInfoV2`] and kept for old clients.
///
/// ```text
/// CMCStatusInfo ::= SEQUENCE {
///     cMCStatus       CMCStatus,
///     bodyList        SEQUENCE SIZE (1..MAX) OF BodyPartID,
///     statusString    UTF8String OPTIONAL,
///     otherInfo       CHOICE {
///        failInfo         CMCFailInfo,
///        pendInfo         PendInfo
///     } OPTIONAL
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CmcStatusInfo {
    /// The status.
    pub cmc_status: CmcStatus,
    /// The body parts this status applies to.
    pub body_list: Vec<BodyPartId>,
    /// Human-readable text.
    pub status_string: Option<String>,
    /// Failure or pending details.
    pub other_info: Option<CmcStatusInfoOtherInfo>,
}

impl AssociatedOid for CmcStatusInfo {
    const OID: ObjectIdentifier = oid::ID_CMC_STATUS_INFO;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BodyPartPath;
    use der::{Decode, Encode};

    const STATUSES: [(CmcStatus, u32, &str); 7] = [
        (CmcStatus::Success, 0, "success"),
        (CmcStatus::Failed, 2, "failed"),
        (CmcStatus::Pending, 3, "pending"),
        (CmcStatus::NoSupport, 4, "noSupport"),
        (CmcStatus::ConfirmRequired, 5, "confirmRequired"),
        (CmcStatus::PopRequired, 6, "popRequired"),
        (CmcStatus::Partial, 7, "partial"),
    ];

    const FAILS: [(CmcFailInfo, u32, &str); 14] = [
        (CmcFailInfo::BadAlg, 0, "badAlg"),
        (CmcFailInfo::BadMessageCheck, 1, "badMessageCheck"),
        (CmcFailInfo::BadRequest, 2, "badRequest"),
        (CmcFailInfo::BadTime, 3, "badTime"),
        (CmcFailInfo::BadCertId, 4, "badCertId"),
        (CmcFailInfo::UnsupportedExt, 5, "unsupportedExt"),
        (CmcFailInfo::MustArchiveKeys, 6, "mustArchiveKeys"),
        (CmcFailInfo::BadIdentity, 7, "badIdentity"),
        (CmcFailInfo::PopRequired, 8, "popRequired"),
        (CmcFailInfo::PopFailed, 9, "popFailed"),
        (CmcFailInfo::NoKeyReuse, 10, "noKeyReuse"),
        (CmcFailInfo::InternalCaError, 11, "internalCAError"),
        (CmcFailInfo::TryLater, 12, "tryLater"),
        (CmcFailInfo::AuthDataFail, 13, "authDataFail"),
    ];

    #[test]
    fn status_numbers_names_and_integer_encoding() {
        for (s, n, name) in STATUSES {
            assert_eq!(s.as_u32(), n);
            assert_eq!(s.name(), name);
            assert_eq!(s.to_string(), format!("{name}({n})"));
            let der = s.to_der().unwrap();
            // INTEGER, not ENUMERATED (0x0a).
            assert_eq!(der, [0x02, 0x01, u8::try_from(n).unwrap()]);
            assert_eq!(CmcStatus::from_der(&der).unwrap(), s);
            assert_eq!(CmcStatus::try_from(n).unwrap(), s);
        }
        assert!(CmcStatus::from_der(&[0x02, 0x01, 0x01]).is_err());
        assert!(CmcStatus::from_der(&[0x0a, 0x01, 0x00]).is_err());
    }

    #[test]
    fn fail_info_numbers_names_and_integer_encoding() {
        for (f, n, name) in FAILS {
            assert_eq!(f.as_u32(), n);
            assert_eq!(f.name(), name);
            assert_eq!(f.to_string(), format!("{name}({n})"));
            let der = f.to_der().unwrap();
            assert_eq!(der, [0x02, 0x01, u8::try_from(n).unwrap()]);
            assert_eq!(CmcFailInfo::from_der(&der).unwrap(), f);
        }
        assert!(CmcFailInfo::from_der(&[0x02, 0x01, 14]).is_err());
    }

    fn pend() -> PendInfo {
        PendInfo {
            pend_token: OctetString::new(*b"token").unwrap(),
            pend_time: GeneralizedTime::from_unix_duration(core::time::Duration::from_secs(
                1_700_000_000,
            ))
            .unwrap(),
        }
    }

    #[test]
    fn status_info_v2_round_trips_every_other_info() {
        let others = [
            None,
            Some(OtherStatusInfo::FailInfo(CmcFailInfo::BadMessageCheck)),
            Some(OtherStatusInfo::PendInfo(pend())),
            Some(OtherStatusInfo::ExtendedFailInfo(ExtendedFailInfo {
                fail_info_oid: oid::ID_CMC_REG_INFO,
                fail_info_value: Any::encode_from(&OctetString::new(*b"x").unwrap()).unwrap(),
            })),
        ];
        for other_info in others {
            for status_string in [None, Some(String::from("hello"))] {
                let s = CmcStatusInfoV2 {
                    cmc_status: CmcStatus::Failed,
                    body_list: vec![
                        BodyPartReference::BodyPartId(0),
                        BodyPartReference::BodyPartPath(BodyPartPath(vec![1, 2])),
                    ],
                    status_string,
                    other_info: other_info.clone(),
                };
                let der = s.to_der().unwrap();
                assert_eq!(CmcStatusInfoV2::from_der(&der).unwrap(), s);
            }
        }
    }

    #[test]
    fn extended_fail_info_is_implicit_context_1() {
        let s = CmcStatusInfoV2 {
            cmc_status: CmcStatus::Failed,
            body_list: vec![BodyPartReference::BodyPartId(1)],
            status_string: None,
            other_info: Some(OtherStatusInfo::ExtendedFailInfo(ExtendedFailInfo {
                fail_info_oid: ObjectIdentifier::new_unwrap("1.2.3"),
                fail_info_value: Any::null(),
            })),
        };
        assert_eq!(
            s.to_der().unwrap(),
            [
                0x30, 0x10, 0x02, 0x01, 0x02, 0x30, 0x03, 0x02, 0x01, 0x01, 0xa1, 0x06, 0x06, 0x02,
                0x2a, 0x03, 0x05, 0x00
            ]
        );
    }

    #[test]
    fn status_info_v1_round_trips() {
        for other_info in [
            None,
            Some(CmcStatusInfoOtherInfo::FailInfo(CmcFailInfo::TryLater)),
            Some(CmcStatusInfoOtherInfo::PendInfo(pend())),
        ] {
            let s = CmcStatusInfo {
                cmc_status: CmcStatus::Pending,
                body_list: vec![3, 4],
                status_string: Some(String::from("wait")),
                other_info,
            };
            let der = s.to_der().unwrap();
            assert_eq!(CmcStatusInfo::from_der(&der).unwrap(), s);
        }
    }
}
