//! `PKIStatusInfo` and its parts, and `ErrorMsgContent` (RFC 4210 §5.2.3, §5.3.21, with the
//! failure bits of RFC 9480 §2.19).

use der::asn1::BitString;
use der::{Enumerated, Sequence};

use crate::header::PkiFreeText;

/// `PKIStatus` (RFC 4210 §5.2.3).
///
/// ```text
/// PKIStatus ::= INTEGER {
///     accepted               (0),
///     grantedWithMods        (1),
///     rejection              (2),
///     waiting                (3),
///     revocationWarning      (4),
///     revocationNotification (5),
///     keyUpdateWarning       (6) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
pub enum PkiStatus {
    /// `accepted (0)`: you got exactly what you asked for.
    Accepted = 0,
    /// `grantedWithMods (1)`: you got something like what you asked for.
    GrantedWithMods = 1,
    /// `rejection (2)`: you don't get it; more information is in `failInfo`.
    Rejection = 2,
    /// `waiting (3)`: the request is held; poll with `pollReq`.
    Waiting = 3,
    /// `revocationWarning (4)`: a revocation is imminent.
    RevocationWarning = 4,
    /// `revocationNotification (5)`: a revocation has occurred.
    RevocationNotification = 5,
    /// `keyUpdateWarning (6)`: update already done for the `oldCertId` of the request.
    KeyUpdateWarning = 6,
}

/// One named bit of `PKIFailureInfo` (RFC 4210 §5.2.3, RFC 9480 §2.19); the discriminant
/// is the bit number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(
    missing_docs,
    reason = "each variant is the ASN.1 name of the bit, listed on the enum"
)]
pub enum FailureBit {
    BadAlg = 0,
    BadMessageCheck = 1,
    BadRequest = 2,
    BadTime = 3,
    BadCertId = 4,
    BadDataFormat = 5,
    WrongAuthority = 6,
    IncorrectData = 7,
    MissingTimeStamp = 8,
    BadPop = 9,
    CertRevoked = 10,
    CertConfirmed = 11,
    WrongIntegrity = 12,
    BadRecipientNonce = 13,
    TimeNotAvailable = 14,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    AddInfoNotAvailable = 17,
    BadSenderNonce = 18,
    BadCertTemplate = 19,
    SignerNotTrusted = 20,
    TransactionIdInUse = 21,
    UnsupportedVersion = 22,
    NotAuthorized = 23,
    SystemUnavail = 24,
    SystemFailure = 25,
    DuplicateCertReq = 26,
}

impl FailureBit {
    /// All 27 named bits, in bit order.
    pub const ALL: [Self; 27] = [
        Self::BadAlg,
        Self::BadMessageCheck,
        Self::BadRequest,
        Self::BadTime,
        Self::BadCertId,
        Self::BadDataFormat,
        Self::WrongAuthority,
        Self::IncorrectData,
        Self::MissingTimeStamp,
        Self::BadPop,
        Self::CertRevoked,
        Self::CertConfirmed,
        Self::WrongIntegrity,
        Self::BadRecipientNonce,
        Self::TimeNotAvailable,
        Self::UnacceptedPolicy,
        Self::UnacceptedExtension,
        Self::AddInfoNotAvailable,
        Self::BadSenderNonce,
        Self::BadCertTemplate,
        Self::SignerNotTrusted,
        Self::TransactionIdInUse,
        Self::UnsupportedVersion,
        Self::NotAuthorized,
        Self::SystemUnavail,
        Self::SystemFailure,
        Self::DuplicateCertReq,
    ];

    /// The bit's ASN.1 name, as RFC 4210 spells it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BadAlg => "badAlg",
            Self::BadMessageCheck => "badMessageCheck",
            Self::BadRequest => "badRequest",
            Self::BadTime => "badTime",
            Self::BadCertId => "badCertId",
            Self::BadDataFormat => "badDataFormat",
            Self::WrongAuthority => "wrongAuthority",
            Self::IncorrectData => "incorrectData",
            Self::MissingTimeStamp => "missingTimeStamp",
            Self::BadPop => "badPOP",
            Self::CertRevoked => "certRevoked",
            Self::CertConfirmed => "certConfirmed",
            Self::WrongIntegrity => "wrongIntegrity",
            Self::BadRecipientNonce => "badRecipientNonce",
            Self::TimeNotAvailable => "timeNotAvailable",
            Self::UnacceptedPolicy => "unacceptedPolicy",
            Self::UnacceptedExtension => "unacceptedExtension",
            Self::AddInfoNotAvailable => "addInfoNotAvailable",
            Self::BadSenderNonce => "badSenderNonce",
            Self::BadCertTemplate => "badCertTemplate",
            Self::SignerNotTrusted => "signerNotTrusted",
            Self::TransactionIdInUse => "transactionIdInUse",
            Self::UnsupportedVersion => "unsupportedVersion",
            Self::NotAuthorized => "notAuthorized",
            Self::SystemUnavail => "systemUnavail",
            Self::SystemFailure => "systemFailure",
            Self::DuplicateCertReq => "duplicateCertReq",
        }
    }
}

/// `PKIFailureInfo` (RFC 4210 §5.2.3 with RFC 9480 §2.19): a set of [`FailureBit`]s.
///
/// ```text
/// PKIFailureInfo ::= BIT STRING {
///     badAlg               (0),  badMessageCheck      (1),
///     badRequest           (2),  badTime              (3),
///     badCertId            (4),  badDataFormat        (5),
///     wrongAuthority       (6),  incorrectData        (7),
///     missingTimeStamp     (8),  badPOP               (9),
///     certRevoked         (10),  certConfirmed       (11),
///     wrongIntegrity      (12),  badRecipientNonce   (13),
///     timeNotAvailable    (14),  unacceptedPolicy    (15),
///     unacceptedExtension (16),  addInfoNotAvailable (17),
///     badSenderNonce      (18),  badCertTemplate     (19),
///     signerNotTrusted    (20),  transactionIdInUse  (21),
///     unsupportedVersion  (22),  notAuthorized       (23),
///     systemUnavail       (24),  systemFailure       (25),
///     duplicateCertReq    (26) }
/// ```
///
/// Encoded as a DER named-bit list (trailing zero bits removed). Bits above 31 of a
/// received value are not kept (no such bit is named).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PkiFailureInfo(pub u32);

impl PkiFailureInfo {
    /// The set holding just `bit`.
    #[must_use]
    pub const fn of(bit: FailureBit) -> Self {
        Self(1 << bit as u8)
    }

    /// This set plus `bit`.
    #[must_use]
    pub const fn with(self, bit: FailureBit) -> Self {
        Self(self.0 | 1 << bit as u8)
    }

    /// Whether `bit` is set.
    #[must_use]
    pub const fn contains(self, bit: FailureBit) -> bool {
        self.0 & (1 << bit as u8) != 0
    }

    /// The named bits that are set, in bit order.
    pub fn bits(self) -> impl Iterator<Item = FailureBit> {
        FailureBit::ALL
            .into_iter()
            .filter(move |b| self.contains(*b))
    }

    fn to_bit_string(self) -> der::Result<BitString> {
        // Bit n of the named list is bit (7 - n % 8) of octet n / 8.
        let used_bits = 32 - self.0.leading_zeros();
        let len = used_bits.div_ceil(8) as usize;
        let mut octets = [0u8; 4];
        for n in 0..used_bits {
            if self.0 & (1 << n) != 0 {
                octets[(n / 8) as usize] |= 0x80 >> (n % 8);
            }
        }
        // At most 7, since `len * 8 >= used_bits > len * 8 - 8`.
        let unused =
            u8::try_from(len * 8 - used_bits as usize).map_err(|_| der::ErrorKind::Overflow)?;
        BitString::new(unused, &octets[..len])
    }

    fn from_bit_string(bits: &BitString) -> Self {
        let mut value = 0u32;
        for (n, set) in bits.bits().enumerate().take(32) {
            if set {
                value |= 1 << n;
            }
        }
        Self(value)
    }
}

impl From<FailureBit> for PkiFailureInfo {
    fn from(bit: FailureBit) -> Self {
        Self::of(bit)
    }
}

impl<'a> der::DecodeValue<'a> for PkiFailureInfo {
    type Error = der::Error;

    fn decode_value<R: der::Reader<'a>>(reader: &mut R, header: der::Header) -> der::Result<Self> {
        let bits = BitString::decode_value(reader, header)?;
        Ok(Self::from_bit_string(&bits))
    }
}

impl der::EncodeValue for PkiFailureInfo {
    fn value_len(&self) -> der::Result<der::Length> {
        self.to_bit_string()?.value_len()
    }

    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.to_bit_string()?.encode_value(writer)
    }
}

impl der::FixedTag for PkiFailureInfo {
    const TAG: der::Tag = der::Tag::BitString;
}

/// `PKIStatusInfo` (RFC 4210 §5.2.3).
///
/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiStatusInfo {
    /// The status.
    pub status: PkiStatus,
    /// Text for a human.
    pub status_string: Option<PkiFreeText>,
    /// Why, when the status is `rejection`.
    pub fail_info: Option<PkiFailureInfo>,
}

impl PkiStatusInfo {
    /// `accepted`, with nothing else.
    #[must_use]
    pub const fn accepted() -> Self {
        Self {
            status: PkiStatus::Accepted,
            status_string: None,
            fail_info: None,
        }
    }

    /// `rejection` with `fail_info` and, if not empty, one line of text.
    #[must_use]
    pub fn rejection(fail_info: PkiFailureInfo, text: &str) -> Self {
        Self {
            status: PkiStatus::Rejection,
            status_string: (!text.is_empty()).then(|| alloc::vec![text.into()]),
            fail_info: Some(fail_info),
        }
    }
}

/// `ErrorMsgContent` (RFC 4210 §5.3.21).
///
/// ```text
/// ErrorMsgContent ::= SEQUENCE {
///     pKIStatusInfo          PKIStatusInfo,
///     errorCode              INTEGER           OPTIONAL,
///     -- implementation-specific error codes
///     errorDetails           PKIFreeText       OPTIONAL
///     -- implementation-specific error details
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ErrorMsgContent {
    /// The status (normally `rejection` with `failInfo`).
    pub pki_status_info: PkiStatusInfo,
    /// Implementation-specific code.
    pub error_code: Option<i64>,
    /// Implementation-specific details.
    pub error_details: Option<PkiFreeText>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn failure_info_named_bits_encode_without_trailing_zeros() {
        // badAlg (0) alone: one octet 0x80, 7 unused bits.
        let der = PkiFailureInfo::of(FailureBit::BadAlg).to_der().unwrap();
        assert_eq!(der, [0x03, 0x02, 0x07, 0x80]);
        // badMessageCheck (1) + badPOP (9): 0x40 0x40, 6 unused bits.
        let v = PkiFailureInfo::of(FailureBit::BadMessageCheck).with(FailureBit::BadPop);
        assert_eq!(v.to_der().unwrap(), [0x03, 0x03, 0x06, 0x40, 0x40]);
        // duplicateCertReq (26): the fourth octet, bit 2 from the top, 5 unused bits.
        let v = PkiFailureInfo::of(FailureBit::DuplicateCertReq);
        assert_eq!(v.to_der().unwrap(), [0x03, 0x05, 0x05, 0, 0, 0, 0x20]);
        // The empty set is an empty BIT STRING.
        assert_eq!(PkiFailureInfo(0).to_der().unwrap(), [0x03, 0x01, 0x00]);
    }

    #[test]
    fn every_named_bit_round_trips_alone() {
        assert_eq!(FailureBit::ALL.len(), 27);
        for (n, bit) in FailureBit::ALL.into_iter().enumerate() {
            assert_eq!(bit as usize, n, "{}", bit.name());
            let v = PkiFailureInfo::of(bit);
            let back = PkiFailureInfo::from_der(&v.to_der().unwrap()).unwrap();
            assert_eq!(back, v);
            assert_eq!(back.bits().collect::<Vec<_>>(), [bit]);
        }
    }

    #[test]
    fn status_info_round_trips() {
        let info = PkiStatusInfo::rejection(
            PkiFailureInfo::of(FailureBit::BadMessageCheck),
            "MAC does not verify",
        );
        let der = info.to_der().unwrap();
        assert_eq!(PkiStatusInfo::from_der(&der).unwrap(), info);
    }
}
