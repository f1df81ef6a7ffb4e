//! What the caller tells the verifier: the decoder [`Limits`] and the
//! [`VerifyOptions`] (verification time, extra certificates, held keys).

use std::time::SystemTime;

use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

/// Caps on what a decoder accepts.
///
/// Every decoder takes its limits from the caller: [`VerifyOptions::with_limits`] (or the
/// public [`VerifyOptions::limits`] field) for [`crate::decode_full_request`], the `limits`
/// argument of [`crate::decode_simple_request`] and [`crate::decode_certs_only`], and
/// [`crate::ResponseVerifyOptions`]`::limits` for responses. A server should pass its own
/// request body cap as `max_input`, so that the codec accepts exactly what the transport
/// lets through:
///
/// ```
/// use std::time::SystemTime;
/// use cmc_codec::{Limits, VerifyOptions};
///
/// let max_body_bytes = 4 << 20; // from the operator's configuration
/// let limits = Limits::default().with_max_input(max_body_bytes);
/// let opts = VerifyOptions::new(SystemTime::now()).with_limits(limits);
/// assert_eq!(opts.limits.max_input, 4 << 20);
/// assert_eq!(Limits::default().max_input, Limits::DEFAULT_MAX_INPUT); // 1 MiB
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest input, in octets ([`Limits::DEFAULT_MAX_INPUT`] by default).
    pub max_input: usize,
    /// Most `SignerInfo`s in one `SignedData`.
    pub max_signers: usize,
    /// Most certificates in one `SignedData`.
    pub max_certificates: usize,
}

impl Limits {
    /// The default `max_input`: 1 MiB.
    pub const DEFAULT_MAX_INPUT: usize = 1 << 20;

    /// These limits with `max_input` octets as the largest input (for a server: its
    /// configured request body cap).
    #[must_use]
    pub const fn with_max_input(mut self, max_input: usize) -> Self {
        self.max_input = max_input;
        self
    }
}

impl Default for Limits {
    /// 1 MiB ([`Limits::DEFAULT_MAX_INPUT`]), 4 signers, 32 certificates.
    fn default() -> Self {
        Self {
            max_input: Self::DEFAULT_MAX_INPUT,
            max_signers: 4,
            max_certificates: 32,
        }
    }
}

/// What the caller tells the verifier: the time to check certificates at, certificates
/// to look for the signer in besides the message's own, and limits.
#[derive(Clone, Debug)]
pub struct VerifyOptions<'a> {
    /// Time at which the signer certificate must be valid (passed in, never read from the
    /// clock, so that tests and replays can move it).
    pub time: SystemTime,
    /// Certificates searched for the signer after those in the message (for a response:
    /// the trusted certificates).
    pub certificates: &'a [Certificate],
    /// Size and count caps.
    pub limits: Limits,
    /// Public keys of certification requests the server holds for approval: a PKIData that
    /// asks queryPending for one of them may be signed with its key (subjectKeyIdentifier
    /// sid, RFC 5272 §3.2), as the request itself was, although it carries no request.
    pub held_keys: &'a [SubjectPublicKeyInfoOwned],
}

impl<'a> VerifyOptions<'a> {
    /// Options with the verification time, no extra certificates, no held keys and default
    /// limits.
    #[must_use]
    pub fn new(time: SystemTime) -> Self {
        Self {
            time,
            certificates: &[],
            limits: Limits::default(),
            held_keys: &[],
        }
    }

    /// Also accept a signature by one of these held requests' keys (see
    /// [`VerifyOptions::held_keys`]).
    #[must_use]
    pub fn with_held_keys(mut self, keys: &'a [SubjectPublicKeyInfoOwned]) -> Self {
        self.held_keys = keys;
        self
    }

    /// Also look for the signer certificate in `certificates`.
    #[must_use]
    pub fn with_certificates(mut self, certificates: &'a [Certificate]) -> Self {
        self.certificates = certificates;
        self
    }

    /// Use other limits (a server passes its configured body size cap as
    /// [`Limits::max_input`]; see [`Limits`]).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}
