#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod authz;
mod ca;
mod client;
mod clock;
mod cmc;
pub mod config;
mod crl;
mod engine;
mod enroll;
mod error;
mod issue;
mod key_config;
mod ocsp;
mod pending;
mod principal;
mod respond;
mod responder;
mod revoke;
mod secret;
pub mod x509;

pub use authz::{Action, Decision, DenyReason, authorize, decide};
pub use ca::{CA_PROFILE, CaKey, LoadedCa, NewCa, create_ca};
pub use client::{CLIENT_CREDENTIAL_PROFILE, ClientCredential, ClientCredentialRequest};
pub use clock::{Clock, ManualClock, SystemClock};
pub use crl::{CrlConfig, build_crl, crl_reason};
pub use engine::{Engine, EngineConfig};
pub use enroll::Issued;
pub use error::{Error, Result};
pub use key_config::{KeyConfig, SecretRef};
pub use ocsp::{MAX_OCSP_REQUESTS, OCSP_RESPONDER_PROFILE, OcspConfig, OcspReply, StatusCounts};
pub use pending::Approval;
pub use respond::{
    CERTS_ONLY_CONTENT_TYPE, CMC_RESPONSE_CONTENT_TYPE, CmcReply, NotCmc, PartStatus, Transport,
};
pub use responder::Responder;
pub use revoke::RevokeOutcome;
pub use secret::{
    EnrollSecret, MAX_IDENTIFICATION_LEN, MIN_SECRET_LEN, RevocationSecret, generate_secret,
    revocation_identification,
};
