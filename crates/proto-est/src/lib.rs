#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod auth;
mod body;
mod csr;
mod csrattrs;
mod door;
mod error;
mod refusal;
mod reply;
mod route;

pub use auth::{BasicCredentials, MAX_AUTHORIZATION_LEN, basic_credentials};
pub use body::{
    Limits, PKCS7_MIME, PKCS10, check_media_type, decode_base64, decode_csr, decode_fullcmc,
    media_type,
};
pub use csr::Csr;
pub use csrattrs::{AttrOrOid, CsrAttrs, CsrAttrsSpec, csrattrs_reply};
pub use door::{EstFrontDoor, EstRequest};
pub use error::Error;
pub use refusal::{refused_reply, status_for};
pub use reply::{
    CERTS_ONLY, CMC_RESPONSE, CSRATTRS, DEFAULT_REALM, DEFAULT_RETRY_AFTER_SECS, Reply,
    SERVERKEYGEN_BOUNDARY, ServerKey, base64_lines, cacerts_reply, enrolled_reply, fullcmc_reply,
    serverkeygen_reply,
};
pub use route::{MAX_LABEL_LEN, Operation, PREFIX, Route, route};
