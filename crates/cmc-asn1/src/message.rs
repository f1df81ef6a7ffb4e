//! The request and response bodies: `PKIData`, `PKIResponse` and their parts
//! (RFC 5272 §3.2, §4.2).

use alloc::boxed::Box;
use alloc::vec::Vec;

use cms::content_info::ContentInfo;
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{Any, SetOfVec};
use der::{Choice, Decode, Encode, Sequence};
use x509_cert::request::CertReq;

use crate::{BodyPartId, CertReqMsg, Error, oid};

/// `PKIData` (RFC 5272 §3.2), the eContent of a Full PKI Request
/// (eContentType `id-cct-PKIData`).
///
/// ```text
/// PKIData ::= SEQUENCE {
///     controlSequence    SEQUENCE SIZE(0..MAX) OF TaggedAttribute,
///     reqSequence        SEQUENCE SIZE(0..MAX) OF TaggedRequest,
///     cmsSequence        SEQUENCE SIZE(0..MAX) OF TaggedContentInfo,
///     otherMsgSequence   SEQUENCE SIZE(0..MAX) OF OtherMsg
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct PkiData {
    /// Controls.
    pub control_sequence: Vec<TaggedAttribute>,
    /// Certification requests.
    pub req_sequence: Vec<TaggedRequest>,
    /// Nested CMS content (e.g. nested PKIData from an RA).
    pub cms_sequence: Vec<TaggedContentInfo>,
    /// Other messages.
    pub other_msg_sequence: Vec<OtherMsg>,
}

impl AssociatedOid for PkiData {
    const OID: ObjectIdentifier = oid::ID_CCT_PKI_DATA;
}

impl PkiData {
    /// The controls whose `attrType` is `oid`, in message order.
    pub fn control<'a>(
        &'a self,
        oid: &'a ObjectIdentifier,
    ) -> impl Iterator<Item = &'a TaggedAttribute> + 'a {
        self.control_sequence
            .iter()
            .filter(move |c| &c.attr_type == oid)
    }

    /// Decodes every value of every control of type `T` (found through its
    /// [`AssociatedOid`]), paired with the control's body part identifier.
    ///
    /// # Errors
    /// [`Error::Der`] if a value does not decode as `T`.
    pub fn controls_of<T>(&self) -> Result<Vec<(BodyPartId, T)>, Error>
    where
        T: AssociatedOid + for<'b> Decode<'b, Error = der::Error>,
    {
        controls_of(&self.control_sequence)
    }

    /// The single control of type `T`, if there is one.
    ///
    /// # Errors
    /// [`Error::ValueCount`] if the control appears more than once or does not hold exactly
    /// one value, [`Error::Der`] if the value does not decode as `T`.
    pub fn unique_control<T>(&self) -> Result<Option<(BodyPartId, T)>, Error>
    where
        T: AssociatedOid + for<'b> Decode<'b, Error = der::Error>,
    {
        unique_control(&self.control_sequence)
    }
}

/// `PKIResponse` (RFC 5272 §4.2), the eContent of a Full PKI Response
/// (eContentType `id-cct-PKIResponse`).
///
/// ```text
/// PKIResponse ::= SEQUENCE {
///     controlSequence   SEQUENCE SIZE(0..MAX) OF TaggedAttribute,
///     cmsSequence       SEQUENCE SIZE(0..MAX) OF TaggedContentInfo,
///     otherMsgSequence  SEQUENCE SIZE(0..MAX) OF OtherMsg
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct PkiResponse {
    /// Controls (statusInfoV2, recipientNonce, ...).
    pub control_sequence: Vec<TaggedAttribute>,
    /// CMS content (e.g. encryptedPOP's EnvelopedData, nested responses).
    pub cms_sequence: Vec<TaggedContentInfo>,
    /// Other messages.
    pub other_msg_sequence: Vec<OtherMsg>,
}

impl AssociatedOid for PkiResponse {
    const OID: ObjectIdentifier = oid::ID_CCT_PKI_RESPONSE;
}

impl PkiResponse {
    /// The controls whose `attrType` is `oid`, in message order.
    pub fn control<'a>(
        &'a self,
        oid: &'a ObjectIdentifier,
    ) -> impl Iterator<Item = &'a TaggedAttribute> + 'a {
        self.control_sequence
            .iter()
            .filter(move |c| &c.attr_type == oid)
    }

    /// Decodes every value of every control of type `T`, with its body part identifier.
    ///
    /// # Errors
    /// [`Error::Der`] if a value does not decode as `T`.
    pub fn controls_of<T>(&self) -> Result<Vec<(BodyPartId, T)>, Error>
    where
        T: AssociatedOid + for<'b> Decode<'b, Error = der::Error>,
    {
        controls_of(&self.control_sequence)
    }

    /// The single control of type `T`, if there is one.
    ///
    /// # Errors
    /// [`Error::ValueCount`] if the control appears more than once or does not hold exactly
    /// one value, [`Error::Der`] if the value does not decode as `T`.
    pub fn unique_control<T>(&self) -> Result<Option<(BodyPartId, T)>, Error>
    where
        T: AssociatedOid + for<'b> Decode<'b, Error = der::Error>,
    {
        unique_control(&self.control_sequence)
    }
}

/// `ResponseBody` (RFC 6402, RFC 5272 §4.2): another name for `PKIResponse`.
///
/// ```text
/// ResponseBody ::= PKIResponse
/// ```
pub type ResponseBody = PkiResponse;

fn controls_of<T>(controls: &[TaggedAttribute]) -> Result<Vec<(BodyPartId, T)>, Error>
where
    T: AssociatedOid + for<'b> Decode<'b, Error = der::Error>,
{
    let mut out = Vec::new();
    for c in controls.iter().filter(|c| c.attr_type == T::OID) {
        for v in c.attr_values.iter() {
            out.push((c.body_part_id, decode_any(v)?));
        }
    }
    Ok(out)
}

fn unique_control<T>(controls: &[TaggedAttribute]) -> Result<Option<(BodyPartId, T)>, Error>
where
    T: AssociatedOid + for<'b> Decode<'b, Error = der::Error>,
{
    let mut found = controls.iter().filter(|c| c.attr_type == T::OID);
    let Some(first) = found.next() else {
        return Ok(None);
    };
    let rest = found.count();
    if rest > 0 {
        return Err(Error::ValueCount {
            attr_type: T::OID,
            count: rest + 1,
        });
    }
    Ok(Some((first.body_part_id, first.single_value()?)))
}

fn decode_any<T>(value: &Any) -> Result<T, Error>
where
    T: for<'b> Decode<'b, Error = der::Error>,
{
    Ok(T::from_der(&value.to_der()?)?)
}

/// `TaggedAttribute` (RFC 5272 §3.2.1.1), one control.
///
/// ```text
/// TaggedAttribute ::= SEQUENCE {
///     bodyPartID         BodyPartID,
///     attrType           CMC-CONTROL.&id({Cmc-Control-Set}),
///     attrValues         SET OF CMC-CONTROL.
///                            &Type({Cmc-Control-Set}{@attrType})
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TaggedAttribute {
    /// Identifier of this control.
    pub body_part_id: BodyPartId,
    /// Control type, one of [`crate::oid`]'s `ID_CMC_*`.
    pub attr_type: ObjectIdentifier,
    /// Control values (normally exactly one).
    pub attr_values: SetOfVec<Any>,
}

impl TaggedAttribute {
    /// A control with a single value.
    ///
    /// # Errors
    /// [`Error::Der`] if `value` does not encode.
    pub fn new(
        body_part_id: BodyPartId,
        attr_type: ObjectIdentifier,
        value: &impl Encode,
    ) -> Result<Self, Error> {
        let mut attr_values = SetOfVec::new();
        attr_values.insert(Any::from_der(&value.to_der()?)?)?;
        Ok(Self {
            body_part_id,
            attr_type,
            attr_values,
        })
    }

    /// A control with a single value of a type bound to its OID.
    ///
    /// # Errors
    /// [`Error::Der`] if `value` does not encode.
    pub fn from_value<T: AssociatedOid + Encode>(
        body_part_id: BodyPartId,
        value: &T,
    ) -> Result<Self, Error> {
        Self::new(body_part_id, T::OID, value)
    }

    /// Decodes the control's one value as `T`.
    ///
    /// # Errors
    /// [`Error::ValueCount`] if there are zero or several values, [`Error::Der`] if the value
    /// does not decode as `T`.
    pub fn single_value<T>(&self) -> Result<T, Error>
    where
        T: for<'b> Decode<'b, Error = der::Error>,
    {
        match self.attr_values.as_slice() {
            [value] => decode_any(value),
            values => Err(Error::ValueCount {
                attr_type: self.attr_type,
                count: values.len(),
            }),
        }
    }
}

/// `TaggedRequest` (RFC 5272 §3.2.1.2).
///
/// ```text
/// TaggedRequest ::= CHOICE {
///     tcr               [0] TaggedCertificationRequest,
///     crm               [1] CertReqMsg,
///     orm               [2] SEQUENCE {
///         bodyPartID            BodyPartID,
///         requestMessageType    OTHER-REQUEST.&id({OtherRequests}),
///         requestMessageValue   OTHER-REQUEST.&Type({OtherRequests}
///                                   {@.requestMessageType})
///     }
/// }
/// ```
///
/// The module is IMPLICIT TAGS and no alternative is a CHOICE, so all three tags are IMPLICIT.
/// The two large alternatives are boxed to keep the enum small.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum TaggedRequest {
    /// `[0]` a PKCS #10 request.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", constructed = "true")]
    Tcr(Box<TaggedCertificationRequest>),
    /// `[1]` a CRMF request; its `certReqId` is the body part identifier.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Crm(Box<CertReqMsg>),
    /// `[2]` some other request format.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", constructed = "true")]
    Orm(OtherRequestMsg),
}

impl TaggedRequest {
    /// The body part identifier of the request (for `crm`, its `certReqId`).
    ///
    /// # Errors
    /// For `crm`, a `der::ErrorKind::Value` error if the `certReqId` is not a valid
    /// BodyPartID.
    pub fn body_part_id(&self) -> der::Result<BodyPartId> {
        match self {
            Self::Tcr(t) => Ok(t.body_part_id),
            Self::Crm(c) => c.cert_req.body_part_id(),
            Self::Orm(o) => Ok(o.body_part_id),
        }
    }
}

/// `TaggedCertificationRequest` (RFC 5272 §3.2.1.2.1).
///
/// ```text
/// TaggedCertificationRequest ::= SEQUENCE {
///     bodyPartID            BodyPartID,
///     certificationRequest  CertificationRequest
/// }
/// ```
///
/// `CertificationRequest` is PKCS #10 (RFC 2986), x509-cert's [`CertReq`].
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TaggedCertificationRequest {
    /// Identifier of this request.
    pub body_part_id: BodyPartId,
    /// The PKCS #10 request.
    pub certification_request: CertReq,
}

/// The inline SEQUENCE of the `orm` alternative of `TaggedRequest` (RFC 5272 §3.2.1.2.3).
///
/// ```text
/// orm               [2] SEQUENCE {
///     bodyPartID            BodyPartID,
///     requestMessageType    OTHER-REQUEST.&id({OtherRequests}),
///     requestMessageValue   OTHER-REQUEST.&Type({OtherRequests}
///                               {@.requestMessageType})
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct OtherRequestMsg {
    /// Identifier of this request.
    pub body_part_id: BodyPartId,
    /// Request type.
    pub request_message_type: ObjectIdentifier,
    /// Request, typed by `request_message_type`.
    pub request_message_value: Any,
}

/// `TaggedContentInfo` (RFC 5272 §3.2.1.3).
///
/// ```text
/// TaggedContentInfo ::= SEQUENCE {
///     bodyPartID              BodyPartID,
///     contentInfo             ContentInfo
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TaggedContentInfo {
    /// Identifier of this body part.
    pub body_part_id: BodyPartId,
    /// The CMS content.
    pub content_info: ContentInfo,
}

/// `OtherMsg` (RFC 5272 §3.2.1.4).
///
/// ```text
/// OtherMsg ::= SEQUENCE {
///     bodyPartID        BodyPartID,
///     otherMsgType      OTHER-MSG.&id({OtherMsgSet}),
///     otherMsgValue     OTHER-MSG.&Type({OtherMsgSet}{@otherMsgType}) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct OtherMsg {
    /// Identifier of this body part.
    pub body_part_id: BodyPartId,
    /// Message type.
    pub other_msg_type: ObjectIdentifier,
    /// Message, typed by `other_msg_type`.
    pub other_msg_value: Any,
}
