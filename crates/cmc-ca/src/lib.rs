#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod accept;
mod authz;
pub mod backup;
mod ca;
mod catalog;
mod client;
mod client_admin;
mod clock;
mod cmp_config;
pub mod config;
mod confirm;
mod crl;
mod crl_encode;
mod embedded;
mod encryption;
mod engine;
mod enroll;
mod enrollment;
mod error;
mod generation;
mod held_transaction;
mod identify;
mod import;
mod issue;
mod key_config;
mod mac_credential;
mod ocsp;
mod pending;
mod pending_preview;
pub mod principal;
mod publication;
mod records;
mod refusal;
mod replay;
mod responder;
mod revoke;
mod revoke_request;
pub mod seal;
mod secret;
mod status;
pub mod trust_anchors;
pub mod x509;

pub use authz::{Action, Authorization, DenyReason, authorize, decide};
pub use ca::{CA_PROFILE, CaKey, LoadedCa, NewCa, create_ca};
pub use catalog::{CaDescription, CertListing, MAX_PAGE_SIZE, MAX_SERIALS};
pub use client::{
    CLIENT_CREDENTIAL_PROFILE, ClientCredential, ClientCredentialRequest, ReplaceCredentialRequest,
};
pub use client_admin::{
    ClientCsr, GeneratedClientKey, MAX_CSR_BYTES, client_grants, client_name_space,
    generate_client_key,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use confirm::{Settled, UNCONFIRMED_REQUESTER, Unconfirmed};
pub use crl::{CrlConfig, build_crl, crl_reason};
pub use embedded::{
    EmbeddedSetup, Files as EmbeddedFiles, RA_CLIENT_ID, RA_DAYS, RA_SUBJECT, ROOT_DAYS, ROOT_NAME,
    ROOT_SUBJECT, ensure_data_dir,
};
pub use encryption::{EncryptionCredential, EncryptionSettings};
pub use engine::{DEFAULT_MAX_REQUEST_BYTES, Engine, EngineConfig, PopBinding};
pub use enrollment::{
    Enrolled, EnrollmentRequest, Held, PendingStatus, ProofOfPossession, RequestForm, ServerKey,
};
pub use error::{Error, Result};
pub use generation::{
    ACTIVATED_EVENT, PassiveGeneration, ROLLOVER_EVENT, Rollover, activate_ca, activate_due,
    rollover_ca,
};
pub use held_transaction::HeldTransaction;
pub use identify::{IdentityProof, Principal, PrincipalKind};
pub use import::{
    CertImportReport, CertImporter, CrlImportReport, IMPORT_BATCH, IMPORT_REQUESTER,
    IMPORTED_PROFILE, ImportCa, ImportKey, RefusedCert, import_ca, import_crl,
};
pub use issue::Issued;
pub use key_config::{KeyConfig, SecretRef};
pub use mac_credential::{MacPrincipal, check_reference, seal_client_mac};
pub use ocsp::{MAX_OCSP_REQUESTS, OCSP_RESPONDER_PROFILE, OcspConfig, OcspReply, StatusCounts};
pub use pending::{Approval, MAX_HELD_KEYS};
pub use pending_preview::PendingPreview;
pub use records::{Records, types};
pub use refusal::{Reason, Refused};
pub use replay::Replay;
pub use responder::Responder;
pub use revoke::RevokeOutcome;
pub use revoke_request::{RevocationDone, RevocationRequest};
pub use secret::{
    EnrollSecret, MAX_IDENTIFICATION_LEN, MIN_SECRET_LEN, RevocationSecret, generate_secret,
    revocation_identification,
};
pub use status::{CrlSummary, GenerationCrl, OcspStatus, ResponderInUse};
pub use trust_anchors::{SharedSecret, TrustAnchors};

/// The store's vocabulary that the engine's API speaks in: times, serials,
/// revocation reasons, roles and records, so that front doors and
/// binaries need not depend on the store crate.
pub use cmc_store::{
    CertCounts, CertOrder, ListedCert, Revocation, RevocationReason, Serial, UnixTime, WriteStats,
};
