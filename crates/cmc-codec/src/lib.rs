#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod alg;
pub mod authenticated;
pub mod ber;
mod client;
pub mod decrypt;
pub mod dhpop;
pub mod encrypt;
pub mod envelope;
pub mod envelope_many;
mod error;
pub mod identity;
mod pop;
mod pwri;
mod request;
mod response;
mod signed;
pub mod trust_anchors;
pub mod wrapped;

pub use ber::Encoding;
pub use client::{
    RequestBuilder, build_crmf, build_crmf_for_decryption, build_crmf_with_controls, build_csr,
    build_csr_with_attributes,
};
pub use error::{Error, Result};
pub use pop::{Pop, verify_crmf_pop, verify_pkcs10, verify_request_pop};
pub use request::{
    FullRequest, SignedRequest, UnsignedRequest, decode_full_request, decode_simple_request,
};
pub use response::{
    MAX_CHAIN, ResponseStatus, ResponseVerifyOptions, StatusVersion, VerifiedResponse,
    certs_only_response, decode_certs_only, decode_response, issued_by, sign_response,
    sign_response_with_crls, statuses,
};
pub use signed::{
    CmsAlgorithmProtection, CmsSigner, Limits, SignerIdentity, SignerSource, VerifiedSigner,
    VerifyOptions, key_identifier,
};
