#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

extern crate alloc;

mod body;
mod cert_rep;
mod content;
mod door;
mod door_confirm;
mod door_general;
mod door_indirect;
mod door_kur;
mod door_revoke;
mod error;
mod genm;
mod header;
mod mac;
mod message;
pub mod oid;
mod status;

pub use body::{PkiBody, SUPPORTED_BODY_TYPES, body_type_name};
pub use cert_rep::{
    CertOrEncCert, CertRepMessage, CertResponse, CertifiedKeyPair, CmpCertificate, EncryptedKey,
    EncryptedValue,
};
pub use content::{
    CertConfirmContent, CertId, CertStatus, GenMsgContent, GenRepContent, PollRep, PollRepContent,
    PollReq, PollReqContent, RevDetails, RevRepContent, RevReqContent,
};
pub use door::{CONTENT_TYPE, CmpDoor, CmpReply, CmpRequest};
pub use door_revoke::MAX_REV_DETAILS;
pub use error::Error;
pub use genm::{
    CaCertsValue, CertProfileValue, CertReqTemplateContent, CrlSource, CrlStatus,
    CrlStatusListValue, CrlsValue, GenmRequest, RootCaCertValue, RootCaKeyUpdateContent,
};
pub use header::{
    InfoTypeAndValue, KeyIdentifier, PVNO_CMP2000, PVNO_CMP2021, PkiFreeText, PkiHeader,
};
pub use mac::{HashAlg, MacAlgorithm, MacLimits, Pbkdf2Params, Pbkdf2Salt, Pbmac1Params, SALT_LEN};
pub use message::{
    Limits, PkiMessage, PkiProtection, ProtectedPart, Protection, Received, decode_message,
};
pub use status::{ErrorMsgContent, FailureBit, PkiFailureInfo, PkiStatus, PkiStatusInfo};

/// `PBMParameter` (RFC 4210 §5.1.3.1, the same structure as RFC 4211 §4.4): reused from
/// `cmc-asn1`.
pub use cmc_asn1::PbmParameter;
/// CRMF types the request bodies carry, reused from `cmc-asn1`.
pub use cmc_asn1::{CertReqMessages, CertReqMsg, CertRequest, CertTemplate, ProofOfPossession};
