//! `PKIHeader` and the types it carries (RFC 4210 §5.1.1 as updated by RFC 9480 §2.20).
//!
//! The CMP module (`PKIXCMP-2021`, RFC 9480 Appendix A.2, like `PKIXCMP-2009` of RFC 5912
//! before it) is `DEFINITIONS EXPLICIT TAGS`: every context tag in this crate is EXPLICIT
//! unless a comment says otherwise. OpenSSL encodes `messageTime [0]` as `A0 11 18 0F …`,
//! which the fixtures check.

use alloc::string::String;
use alloc::vec::Vec;

use const_oid::ObjectIdentifier;
use der::asn1::{Any, GeneralizedTime, OctetString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;

use crate::Error;
use crate::oid::{ID_IT_CONFIRM_WAIT_TIME, ID_IT_IMPLICIT_CONFIRM};

/// `pvno` of a CMP v2 message (`cmp2000(2)`, RFC 4210 §5.1.1).
pub const PVNO_CMP2000: u32 = 2;
/// `pvno` of a message that uses RFC 9480 features such as `hashAlg` in `CertStatus` or
/// `EnvelopedData` (`cmp2021(3)`, RFC 9480 §2.20).
pub const PVNO_CMP2021: u32 = 3;

/// `PKIFreeText` (RFC 4210 §5.1.1).
///
/// ```text
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
///     -- text encoded as UTF-8 String [RFC3629]
/// ```
pub type PkiFreeText = Vec<String>;

/// `KeyIdentifier` (RFC 5280 §4.2.1.2), used for `senderKID` and `recipKID`.
///
/// ```text
/// KeyIdentifier ::= OCTET STRING
/// ```
pub type KeyIdentifier = OctetString;

/// `PKIHeader` (RFC 4210 §5.1.1, RFC 9480 §2.20 for `cmp2021`).
///
/// ```text
/// PKIHeader ::= SEQUENCE {
///     pvno                INTEGER     { cmp1999(1), cmp2000(2),
///                                       cmp2021(3) },
///     sender              GeneralName,
///     recipient           GeneralName,
///     messageTime     [0] GeneralizedTime         OPTIONAL,
///     protectionAlg   [1] AlgorithmIdentifier{ALGORITHM, {...}}
///                         OPTIONAL,
///     senderKID       [2] KeyIdentifier           OPTIONAL,
///     recipKID        [3] KeyIdentifier           OPTIONAL,
///     transactionID   [4] OCTET STRING            OPTIONAL,
///     senderNonce     [5] OCTET STRING            OPTIONAL,
///     recipNonce      [6] OCTET STRING            OPTIONAL,
///     freeText        [7] PKIFreeText             OPTIONAL,
///     generalInfo     [8] SEQUENCE SIZE (1..MAX) OF
///                         InfoTypeAndValue     OPTIONAL
/// }
/// ```
///
/// All tags are EXPLICIT (the module's default).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiHeader {
    /// Protocol version: [`PVNO_CMP2000`] or [`PVNO_CMP2021`].
    pub pvno: u32,
    /// Who sent the message (a `directoryName`, or the NULL-DN when unknown).
    pub sender: GeneralName,
    /// For whom it is meant.
    pub recipient: GeneralName,
    /// `[0]` when it was produced.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub message_time: Option<GeneralizedTime>,
    /// `[1]` the protection algorithm (PBM, PBMAC1 or a signature algorithm).
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub protection_alg: Option<AlgorithmIdentifierOwned>,
    /// `[2]` the sender's key: the reference number with MAC protection, the subject key
    /// identifier of the protecting certificate with signature protection (RFC 9483 §3.1).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub sender_kid: Option<KeyIdentifier>,
    /// `[3]` the recipient's key.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub recip_kid: Option<KeyIdentifier>,
    /// `[4]` the transaction this message belongs to (RFC 9483: 128 random bits).
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", optional = "true")]
    pub transaction_id: Option<OctetString>,
    /// `[5]` fresh nonce of the sender.
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", optional = "true")]
    pub sender_nonce: Option<OctetString>,
    /// `[6]` the `senderNonce` of the message this one answers.
    #[asn1(context_specific = "6", tag_mode = "EXPLICIT", optional = "true")]
    pub recip_nonce: Option<OctetString>,
    /// `[7]` human-readable text.
    #[asn1(context_specific = "7", tag_mode = "EXPLICIT", optional = "true")]
    pub free_text: Option<PkiFreeText>,
    /// `[8]` general information: `implicitConfirm`, `confirmWaitTime`, `certProfile`, …
    #[asn1(context_specific = "8", tag_mode = "EXPLICIT", optional = "true")]
    pub general_info: Option<Vec<InfoTypeAndValue>>,
}

impl PkiHeader {
    /// A header with only `pvno`, `sender` and `recipient`; fill the rest in place.
    #[must_use]
    pub fn new(pvno: u32, sender: GeneralName, recipient: GeneralName) -> Self {
        Self {
            pvno,
            sender,
            recipient,
            message_time: None,
            protection_alg: None,
            sender_kid: None,
            recip_kid: None,
            transaction_id: None,
            sender_nonce: None,
            recip_nonce: None,
            free_text: None,
            general_info: None,
        }
    }

    /// The header of an answer to a message with header `request` (RFC 4210 §5.1.1,
    /// RFC 9483 §3.1): same `pvno` and `transactionID`, `recipient` the request's sender,
    /// `recipNonce` its `senderNonce`, and a fresh 16-octet `senderNonce`. `messageTime`,
    /// `senderKID` and the protection are left to the caller.
    ///
    /// # Errors
    /// [`Error::Random`] if the random generator fails.
    pub fn response_to(request: &Self, sender: GeneralName) -> Result<Self, Error> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(Error::Random)?;
        let mut header = Self::new(request.pvno, sender, request.sender.clone());
        header.transaction_id.clone_from(&request.transaction_id);
        header.recip_nonce.clone_from(&request.sender_nonce);
        header.sender_nonce = Some(OctetString::new(nonce).map_err(Error::Encode)?);
        Ok(header)
    }

    /// The `generalInfo` entries of type `oid`.
    pub fn general_info_of(
        &self,
        oid: ObjectIdentifier,
    ) -> impl Iterator<Item = &InfoTypeAndValue> {
        self.general_info
            .iter()
            .flatten()
            .filter(move |itav| itav.info_type == oid)
    }

    /// Whether the sender asks for implicit confirmation (`id-it-implicitConfirm`,
    /// RFC 4210 §5.1.1.1; its value is NULL or absent, and is not looked at).
    #[must_use]
    pub fn implicit_confirm(&self) -> bool {
        self.general_info_of(ID_IT_IMPLICIT_CONFIRM)
            .next()
            .is_some()
    }

    /// Adds `id-it-implicitConfirm` with the NULL value (RFC 4210 §5.1.1.1), unless present.
    pub fn set_implicit_confirm(&mut self) {
        if !self.implicit_confirm() {
            self.push_general_info(InfoTypeAndValue {
                info_type: ID_IT_IMPLICIT_CONFIRM,
                info_value: Some(Any::from(der::asn1::Null)),
            });
        }
    }

    /// The `id-it-confirmWaitTime` value (RFC 4210 §5.1.1.2): until when the CA waits for
    /// `certConf`.
    ///
    /// # Errors
    /// [`Error::BadGeneralInfo`] if the entry occurs more than once or its value is not a
    /// GeneralizedTime.
    pub fn confirm_wait_time(&self) -> Result<Option<GeneralizedTime>, Error> {
        let mut found = self.general_info_of(ID_IT_CONFIRM_WAIT_TIME);
        let Some(itav) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() {
            return Err(Error::BadGeneralInfo {
                info_type: ID_IT_CONFIRM_WAIT_TIME,
                reason: "occurs more than once",
            });
        }
        let value = itav.info_value.as_ref().ok_or(Error::BadGeneralInfo {
            info_type: ID_IT_CONFIRM_WAIT_TIME,
            reason: "has no value",
        })?;
        value
            .decode_as::<GeneralizedTime>()
            .map(Some)
            .map_err(|_| Error::BadGeneralInfo {
                info_type: ID_IT_CONFIRM_WAIT_TIME,
                reason: "is not a GeneralizedTime",
            })
    }

    /// Adds `id-it-confirmWaitTime` (RFC 4210 §5.1.1.2).
    ///
    /// # Errors
    /// [`Error::Encode`] if the time cannot be encoded (it always can in practice).
    pub fn set_confirm_wait_time(&mut self, until: GeneralizedTime) -> Result<(), Error> {
        self.push_general_info(InfoTypeAndValue {
            info_type: ID_IT_CONFIRM_WAIT_TIME,
            info_value: Some(Any::encode_from(&until).map_err(Error::Encode)?),
        });
        Ok(())
    }

    /// Appends one `generalInfo` entry.
    pub fn push_general_info(&mut self, itav: InfoTypeAndValue) {
        self.general_info.get_or_insert_with(Vec::new).push(itav);
    }
}

/// `InfoTypeAndValue` (RFC 4210 §5.3.19, RFC 9480 §2.14).
///
/// ```text
/// InfoTypeAndValue ::= SEQUENCE {
///     infoType    INFO-TYPE-AND-VALUE.
///                     &id({SupportedInfoSet}),
///     infoValue   INFO-TYPE-AND-VALUE.
///                     &Type({SupportedInfoSet}{@infoType}) OPTIONAL }
/// ```
///
/// The value stays an [`Any`]: its type depends on `infoType` (see [`crate::oid`]).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct InfoTypeAndValue {
    /// What the value is.
    pub info_type: ObjectIdentifier,
    /// The value; absent in a request for it (e.g. `genm` asking for `caCerts`).
    pub info_value: Option<Any>,
}

impl InfoTypeAndValue {
    /// An entry of type `info_type` without a value, as a `genm` request carries it.
    #[must_use]
    pub fn request(info_type: ObjectIdentifier) -> Self {
        Self {
            info_type,
            info_value: None,
        }
    }

    /// An entry of type `info_type` whose value is `value`, encoded.
    ///
    /// # Errors
    /// [`Error::Encode`] if `value` does not encode.
    pub fn new<T: Encode>(info_type: ObjectIdentifier, value: &T) -> Result<Self, Error> {
        let der = value.to_der().map_err(Error::Encode)?;
        Ok(Self {
            info_type,
            info_value: Some(Any::from_der(&der).map_err(Error::Encode)?),
        })
    }

    /// Decodes the value as `T` (for example a [`crate::CaCertsValue`]).
    ///
    /// # Errors
    /// [`Error::BadGeneralInfo`] if there is no value or it does not decode as `T`.
    pub fn value_as<T>(&self) -> Result<T, Error>
    where
        T: for<'a> Decode<'a, Error = der::Error>,
    {
        let value = self.info_value.as_ref().ok_or(Error::BadGeneralInfo {
            info_type: self.info_type,
            reason: "has no value",
        })?;
        let der = value.to_der().map_err(Error::Encode)?;
        T::from_der(&der).map_err(|_| Error::BadGeneralInfo {
            info_type: self.info_type,
            reason: "value does not decode as the expected type",
        })
    }
}
