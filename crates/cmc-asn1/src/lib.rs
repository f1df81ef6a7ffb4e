#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

extern crate alloc;

#[macro_use]
mod macros;

mod body;
mod controls;
mod crmf;
pub mod dhpop;
mod error;
mod message;
pub mod ocsp;
pub mod oid;
mod status;

pub use body::{
    BatchRequests, BatchResponses, BodyPartId, BodyPartList, BodyPartPath, BodyPartReference,
    RaIdentityWitness, ResponseBodyPath,
};
pub use controls::{
    AddExtensions, AuthPublish, ChangeSubjectName, CmcCertId, CmcPublicationInfo, CmcUnsignedData,
    ControlsProcessed, DataReturn, DecryptedPop, EncryptedPop, GetCert, GetCrl, Identification,
    IdentityProof, IdentityProofV2, LraPopWitness, ModCertTemplate, NoSignatureValue,
    PopLinkRandom, PopLinkWitness, PopLinkWitnessV2, PublishTrustAnchors, QueryPending,
    RecipientNonce, RegInfo, ResponseInfo, RevokeRequest, SenderNonce, TransactionId,
};
pub use crmf::{
    CertReqMessages, CertReqMsg, CertRequest, CertTemplate, Controls, OptionalValidity,
    PbmParameter, PkMacValue, PkiPublicationInfo, PopoPrivKey, PopoSigningKey, PopoSigningKeyInput,
    PopoSigningKeyInputAuthInfo, ProofOfPossession, PublicationAction, PublicationMethod,
    SinglePubInfo, SubsequentMessage,
};
pub use error::Error;
pub use message::{
    OtherMsg, OtherRequestMsg, PkiData, PkiResponse, ResponseBody, TaggedAttribute,
    TaggedCertificationRequest, TaggedContentInfo, TaggedRequest,
};
pub use status::{
    CmcFailInfo, CmcStatus, CmcStatusInfo, CmcStatusInfoOtherInfo, CmcStatusInfoV2,
    ExtendedFailInfo, OtherStatusInfo, PendInfo,
};

/// x509-cert's `AttributeTypeAndValue`, used for CRMF `controls` and `regInfo`.
pub use x509_cert::attr::AttributeTypeAndValue;
