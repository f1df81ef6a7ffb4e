//! The EST front door over the engine ([`EstFrontDoor`], implemented for
//! `cmc_ca::Engine`): who the client is (TLS client certificate first,
//! then HTTP Basic with a one-time secret), then the engine's answer as an
//! EST [`Reply`]. `fullcmc` is the CMC door's (`proto_cmc`), byte for byte.

use cmc_ca::x509::store_serial;
use cmc_ca::{
    Engine, Enrolled, EnrollmentRequest, PendingStatus, Principal, PrincipalKind,
    ProofOfPossession, Refused, RequestForm,
};
use der::Decode;
use proto_cmc::{CmcFrontDoor, Transport};
use x509_cert::Certificate;

use crate::auth::basic_credentials;
use crate::body::{Limits, decode_csr, decode_fullcmc};
use crate::csr::Csr;
use crate::csrattrs::{CsrAttrsSpec, csrattrs_reply};
use crate::refusal::refused_reply;
use crate::reply::{
    DEFAULT_REALM, Reply, ServerKey, cacerts_reply, enrolled_reply, fullcmc_reply,
    serverkeygen_reply,
};
use crate::route::Operation;

/// One EST request, as the server read it.
#[derive(Clone, Copy, Debug)]
pub struct EstRequest<'a> {
    /// What is asked.
    pub operation: Operation,
    /// The CA (the server resolved the path's label, or took its default).
    pub ca: &'a str,
    /// The Content-Type header's value.
    pub content_type: Option<&'a str>,
    /// The Authorization header's value.
    pub authorization: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// The TLS client certificate (DER), when the connection presented one.
    pub tls_client_cert: Option<&'a [u8]>,
    /// Whether the request came over TLS.
    pub tls: bool,
    /// The connection's channel binding (RFC 9266 tls-exporter; see
    /// [`crate::Csr::check_channel_binding`]), `None` without TLS.
    pub channel_binding: Option<&'a [u8]>,
    /// Whether a CSR must carry the link to its connection (RFC 7030 §3.5).
    pub require_channel_binding: bool,
    /// The peer's address, for logs.
    pub peer: Option<&'a str>,
    /// The largest body accepted.
    pub limits: Limits,
}

/// EST (RFC 7030) over an engine.
pub trait EstFrontDoor {
    /// Answers one EST request. Every answer is a [`Reply`]: 200 with the
    /// certificate(s), 202 while a request waits for approval, or a 4xx/5xx
    /// with a short `text/plain` reason.
    fn handle_est(&self, request: &EstRequest<'_>) -> Reply;
}

impl EstFrontDoor for Engine {
    fn handle_est(&self, request: &EstRequest<'_>) -> Reply {
        let answer = match request.operation {
            Operation::CaCerts => cacerts(self, request.ca),
            Operation::CsrAttrs => csrattrs(self, request),
            Operation::SimpleEnroll => enroll(self, request, false),
            Operation::SimpleReenroll => enroll(self, request, true),
            Operation::FullCmc => fullcmc(self, request),
            Operation::ServerKeyGen => server_keygen(self, request),
        };
        answer.unwrap_or_else(|reply| reply)
    }
}

/// A refusal of the engine as a reply.
fn refused(refused: Refused) -> Reply {
    refused_reply(refused.reason, &refused.detail)
}

/// `cacerts` (RFC 7030 §4.1): the CA certificate, its passive next and
/// retired ones (a rollover), and their issuers.
fn cacerts(engine: &Engine, ca: &str) -> Result<Reply, Reply> {
    if engine.ca(ca).is_err() {
        return Err(Reply::text(404, "no such CA"));
    }
    let chain = engine.ca_bundle(ca).map_err(refused)?;
    Ok(cacerts_reply(&chain)?)
}

/// `csrattrs` (RFC 7030 §4.5): what the CA's default profile wants: its key
/// types, and for each the signature algorithm its CSR is signed with (RFC
/// 5753's pairing: P-256 with SHA-256, P-384 with SHA-384, P-521 with
/// SHA-512; RSA with SHA-256).
fn csrattrs(engine: &Engine, request: &EstRequest<'_>) -> Result<Reply, Reply> {
    use const_oid::db::rfc5912::{
        ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, SHA_256_WITH_RSA_ENCRYPTION,
    };
    let profile = engine.default_profile(request.ca).map_err(refused)?;
    let ec_curves: Vec<cmc_policy::Curve> = profile.allowed_curves().iter().copied().collect();
    let rsa_sizes: Vec<u32> = profile.allowed_rsa_sizes().iter().copied().collect();
    let mut signature_algorithms = Vec::new();
    for curve in &ec_curves {
        let alg = match curve.oid() {
            oid if oid == const_oid::db::rfc5912::SECP_384_R_1 => ECDSA_WITH_SHA_384,
            oid if oid == const_oid::db::rfc5912::SECP_521_R_1 => ECDSA_WITH_SHA_512,
            _ => ECDSA_WITH_SHA_256,
        };
        if !signature_algorithms.contains(&alg) {
            signature_algorithms.push(alg);
        }
    }
    if !rsa_sizes.is_empty() {
        signature_algorithms.push(SHA_256_WITH_RSA_ENCRYPTION);
    }
    let spec = CsrAttrsSpec {
        channel_binding: request.require_channel_binding,
        ec_curves,
        rsa_sizes,
        signature_algorithms,
        extensions: Vec::new(),
    };
    Ok(csrattrs_reply(&spec)?)
}

/// Who asks: the TLS client certificate when there is one, else HTTP
/// Basic with a one-time secret; neither, or one the engine does not
/// accept, is 401 with a Basic challenge (RFC 7030 §3.2.3). Basic "MUST
/// only be performed over TLS" (§3.2.3): without TLS the answer is 403,
/// and no challenge invites a password in clear.
fn principal(engine: &Engine, request: &EstRequest<'_>) -> Result<Principal, Reply> {
    let unauthorized = |why: &str| {
        tracing::info!(
            ca = request.ca,
            peer = request.peer,
            why,
            "EST client not authenticated"
        );
        Reply::unauthorized(DEFAULT_REALM, "authentication required")
    };
    if let Some(der) = request.tls_client_cert {
        let cert = Certificate::from_der(der).map_err(|_| unauthorized("bad TLS certificate"))?;
        match engine.principal_by_certificate(request.ca, &cert) {
            Ok(principal) => return Ok(principal),
            // A client with a certificate we do not know may still hold
            // a password (RFC 7030 §3.3.2: both may be used).
            Err(e) if request.authorization.is_some() => {
                tracing::info!(ca = request.ca, why = %e, "TLS client certificate not accepted; trying Basic");
            }
            Err(e) => return Err(unauthorized(&e.detail)),
        }
    }
    if !request.tls {
        return Err(Reply::text(
            403,
            "EST authenticates over TLS only: HTTP Basic is not accepted in clear",
        ));
    }
    let creds = basic_credentials(request.authorization)?;
    engine
        .principal_by_password(request.ca, creds.id(), creds.secret())
        .map_err(|e| unauthorized(&e.detail))
}

/// The certification request of an enrollment, with its link to the connection
/// checked.
fn csr(request: &EstRequest<'_>) -> Result<Csr, Reply> {
    let csr = decode_csr(request.content_type, request.body, &request.limits)?;
    csr.check_channel_binding(request.channel_binding, request.require_channel_binding)?;
    Ok(csr)
}

fn form(csr: &Csr) -> RequestForm {
    RequestForm::Pkcs10 {
        reference: 1,
        csr: Box::new(csr.cert_req.clone()),
    }
}

/// `simpleenroll` and `simplereenroll` (RFC 7030 §4.2): a request already
/// held for this client and this CSR is answered from the queue (202
/// while it waits, the certificate once approved); else the engine
/// enrolls. A re-enrollment is made with the certificate being renewed.
fn enroll(engine: &Engine, request: &EstRequest<'_>, renewal: bool) -> Result<Reply, Reply> {
    let csr = csr(request)?;
    let principal = principal(engine, request)?;
    if renewal
        && !matches!(
            principal.kind(),
            PrincipalKind::Holder | PrincipalKind::Client
        )
    {
        return Err(Reply::text(
            403,
            "simplereenroll is authenticated by the TLS client certificate being renewed",
        ));
    }
    let form = form(&csr);
    if let Some(status) = engine
        .find_held(request.ca, &principal, &form)
        .map_err(refused)?
    {
        return match status {
            PendingStatus::Waiting(held) => Ok(pending(engine, &held)),
            PendingStatus::Issued(cert) => {
                if let Ok(serial) = store_serial(cert.tbs_certificate().serial_number()) {
                    engine.note_delivered(request.ca, &serial, None, "EST");
                }
                Ok(enrolled_reply(&cert)?)
            }
        };
    }
    let enrolled = engine
        .enroll(EnrollmentRequest {
            ca: request.ca,
            principal: &principal,
            form,
            pop: ProofOfPossession::Signature,
            raw: &csr.der,
            replay: None,
        })
        .map_err(refused)?;
    match enrolled {
        Enrolled::Issued(issued) => {
            tracing::info!(ca = request.ca, requester = principal.requester(),
                serial = %issued.serial, "EST enrollment issued");
            let mut reply = enrolled_reply(&issued.certificate)?;
            reply.issued = 1;
            // EST has no acceptance message: delivery is acceptance.
            engine.note_delivered(
                request.ca,
                &issued.serial,
                Some(&issued.decision.profile),
                "EST",
            );
            Ok(reply)
        }
        Enrolled::Held(held) => Ok(pending(engine, &held)),
        // A PKCS #10 request proves possession by its signature, which
        // decode_csr verified.
        Enrolled::ProveByDecryption => Err(Reply::text(
            400,
            "the request's key cannot sign; EST needs a signed PKCS #10 request",
        )),
    }
}

/// 202 with Retry-After until the held request's poll time (at least a
/// second).
fn pending(engine: &Engine, held: &cmc_ca::Held) -> Reply {
    let wait = held
        .poll_at
        .secs()
        .saturating_sub(engine.now().secs())
        .max(1);
    Reply::pending(u32::try_from(wait).unwrap_or(u32::MAX))
}

/// `fullcmc` (RFC 7030 §4.3): the CMC door, with the TLS client
/// certificate as CMC's transport binding.
fn fullcmc(engine: &Engine, request: &EstRequest<'_>) -> Result<Reply, Reply> {
    let der = decode_fullcmc(request.content_type, request.body, &request.limits)?;
    let transport = Transport {
        tls_client_cert: request.tls_client_cert.map(<[u8]>::to_vec),
        peer: request.peer.map(str::to_owned),
    };
    // What is not CMC at all gets the status the CMC door gives it.
    engine
        .handle_full(request.ca, &der, &transport)
        .map(|reply| fullcmc_reply(&reply.der))
        .map_err(|e| Reply::text(e.http_status(), &e.reason()))
}

/// `serverkeygen` (RFC 7030 §4.4): the CA makes the key where the
/// profile allows it; the key goes back unencrypted over the TLS
/// connection (§4.4.2 without additional encryption).
fn server_keygen(engine: &Engine, request: &EstRequest<'_>) -> Result<Reply, Reply> {
    if !request.tls {
        // The key travels in clear inside the HTTP body: only over TLS.
        return Err(Reply::text(403, "serverkeygen is served over TLS only"));
    }
    let csr = csr(request)?;
    let principal = principal(engine, request)?;
    let made = engine
        .enroll_with_server_key(request.ca, &principal, &form(&csr), &csr.der)
        .map_err(refused)?;
    tracing::info!(ca = request.ca, requester = principal.requester(),
        serial = %made.issued.serial, "EST server-generated key issued");
    let mut reply = serverkeygen_reply(&ServerKey::Pkcs8(made.pkcs8), &made.issued.certificate)?;
    reply.issued = 1;
    Ok(reply)
}
