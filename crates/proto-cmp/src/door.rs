//! The CMP front door over the engine (RFC 4210/9480, Lightweight CMP Profile RFC 9483,
//! transport RFC 6712): one request message in, one answer out.
//!
//! [`CmpDoor::handle`] decodes the message, identifies the sender by the certificate that
//! protects it (`extraCerts[0]`, [`Engine::principal_by_certificate`]: a registered client,
//! or the holder of a certificate of this CA) or by the MAC credential its `senderKID` names
//! ([`Engine::principal_by_mac`]: a client's long-lived credential, or a one-time secret),
//! checks its nonce against the engine's replay store, and answers ir, cr and p10cr with the
//! engine's certificate (ip/cp), "waiting" for a request held for approval; pollReq and
//! certConf are answered in `door_confirm.rs`, rr, kur and genm in `door_revoke.rs`,
//! `door_kur.rs` and `door_general.rs`. What is not CMP at all is an HTTP 4xx
//! ([`CmpReply::status`]); every other
//! refusal is an `error` message signed like every answer, with HTTP 200 (RFC 6712 §3.6).
//!
//! Answers to MAC-protected requests are protected with the same secret and the same kind
//! of MAC (fresh salt, the request's iteration count; RFC 9483 §3.2), with the CA's
//! certificate and chain in `extraCerts`. Every other answer, and every refusal before the
//! sender was authenticated, is signed with the CA's configured CMC responder when it has
//! one, else with the CA key; `extraCerts` holds the signer's certificate and its chain.

use cmc_ca::{
    Engine, Enrolled, EnrollmentRequest, LoadedCa, Principal, ProofOfPossession, Reason, Refused,
    RequestForm,
};
use cmc_codec::Pop;
use der::asn1::{GeneralizedTime, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use zeroize::Zeroizing;

use crate::door_confirm::{await_confirmation, implicit_granted};
use crate::door_indirect;
use crate::{
    CertRepMessage, CertReqMessages, CertResponse, ErrorMsgContent, FailureBit, Limits,
    MacAlgorithm, PkiBody, PkiFailureInfo, PkiHeader, PkiMessage, PkiStatus, PkiStatusInfo,
    Protection, Received, decode_message,
};

/// The media type of CMP over HTTP (RFC 6712 §3.4).
pub const CONTENT_TYPE: &str = "application/pkixcmp";

/// One HTTP exchange's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmpReply {
    /// The HTTP status: 200 for every CMP answer, 4xx for what is not CMP.
    pub status: u16,
    /// [`CONTENT_TYPE`] for a CMP answer, `text/plain` otherwise.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// How many certificates were issued.
    pub issued: usize,
    /// A short summary for the log line (body type or failure).
    pub summary: String,
    /// Whether the request was refused because its sender could not be authenticated
    /// (unprotected, the protection does not verify, or the signer is unknown): what a
    /// server counts against the source's limit of unauthenticated failures.
    pub unauthenticated: bool,
}

impl CmpReply {
    fn text(status: u16, reason: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{reason}\n").into_bytes(),
            issued: 0,
            summary: format!("http {status}"),
            unauthenticated: false,
        }
    }
}

/// One CMP request, as the server read it.
#[derive(Clone, Copy, Debug)]
pub struct CmpRequest<'a> {
    /// The CA (from the path, or the default CA).
    pub ca: &'a str,
    /// The Content-Type header's value.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// Decoding limits.
    pub limits: &'a Limits,
}

/// The transaction a certificate request came in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transaction<'a> {
    /// Its `transactionID`.
    pub(crate) id: &'a [u8],
    /// Whether the requester asked for implicit confirmation and the CA grants it.
    pub(crate) implicit: bool,
    /// The body type of the certificate response (`ip`, `cp`, `kup`), for the final answer
    /// to a poll of a held request.
    pub(crate) answer: &'static str,
    /// Whether the certificate goes back encrypted to the requested key (indirect POP,
    /// `door_indirect.rs`).
    pub(crate) encrypt: bool,
}

/// The CMP door: stateless; what lives between the messages of a transaction (replay
/// records, certificates waiting for their certConf) is in the engine's store.
#[derive(Debug, Default)]
pub struct CmpDoor {}

/// A refusal: the failure bit and a text for `statusString`.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) bit: FailureBit,
    pub(crate) text: String,
    /// Refused before the sender was authenticated.
    unauthenticated: bool,
}

impl Refusal {
    pub(crate) fn new(bit: FailureBit, text: impl Into<String>) -> Self {
        Self {
            bit,
            text: text.into(),
            unauthenticated: false,
        }
    }

    fn unauthenticated(mut self) -> Self {
        self.unauthenticated = true;
        self
    }
}

impl From<crate::Error> for Refusal {
    fn from(e: crate::Error) -> Self {
        Self::new(e.fail_info(), e.to_string())
    }
}

impl From<Refused> for Refusal {
    fn from(r: Refused) -> Self {
        if r.is_replay() {
            return Self::new(FailureBit::BadSenderNonce, r.detail);
        }
        Self::new(fail_bit(r.reason), r.detail)
    }
}

/// The `PKIFailureInfo` bit of an engine refusal.
const fn fail_bit(reason: Reason) -> FailureBit {
    match reason {
        Reason::BadRequest | Reason::NotSupported => FailureBit::BadRequest,
        Reason::UnsupportedExtension => FailureBit::UnacceptedExtension,
        Reason::BadAlg => FailureBit::BadAlg,
        Reason::BadIdentity => FailureBit::SignerNotTrusted,
        Reason::NotAuthorized | Reason::Rejected => FailureBit::NotAuthorized,
        Reason::PopFailed => FailureBit::BadPop,
        Reason::NoKeyReuse => FailureBit::BadCertTemplate,
        Reason::UnknownCertificate => FailureBit::BadCertId,
        Reason::BadTime => FailureBit::BadTime,
        Reason::TryLater => FailureBit::SystemUnavail,
        Reason::AlreadyPending => FailureBit::DuplicateCertReq,
        Reason::Internal => FailureBit::SystemFailure,
    }
}

impl CmpDoor {
    /// The door.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers one CMP request (see the module documentation).
    #[must_use]
    pub fn handle(&self, engine: &Engine, request: &CmpRequest<'_>) -> CmpReply {
        let media = request
            .content_type
            .and_then(|v| v.split(';').next())
            .map(str::trim);
        if !media.is_some_and(|m| m.eq_ignore_ascii_case(CONTENT_TYPE)) {
            return CmpReply::text(415, "CMP requests are application/pkixcmp");
        }
        let received = match decode_message(request.body, request.limits) {
            Ok(r) => r,
            Err(crate::Error::TooLarge { .. }) => {
                return CmpReply::text(413, "CMP message too large");
            }
            Err(crate::Error::UnsupportedBody { number }) => {
                // A PKIMessage with a body outside the profile: a CMP error, but its header
                // was not decoded; answer from a minimal header.
                return self.unsupported_body(engine, request, number);
            }
            Err(_) => return CmpReply::text(400, "not a DER PKIMessage"),
        };
        let ca = match engine.ca(request.ca) {
            Ok(ca) => ca,
            Err(_) => return CmpReply::text(404, "no such CA"),
        };
        let header = &received.message.header;
        let name = received.message.body.name();
        let mut issued = 0;
        let mut mac = None;
        let outcome = self.answer(
            engine,
            &ca,
            &received,
            request.limits,
            &mut issued,
            &mut mac,
        );
        let mut unauthenticated = false;
        let (body, summary) = match outcome {
            Ok(body) => (body, name.to_owned()),
            Err(refusal) => {
                tracing::info!(ca = ca.name(), body = name, bit = refusal.bit.name(),
                    why = %refusal.text, "CMP request refused");
                unauthenticated = refusal.unauthenticated;
                let summary = format!("{name} refused {}", refusal.bit.name());
                (error_body(&refusal), summary)
            }
        };
        // Implicit confirmation is granted on a certificate response only.
        let implicit = implicit_granted(engine, &ca, header)
            && matches!(&body, PkiBody::Ip(_) | PkiBody::Cp(_) | PkiBody::Kup(_));
        match respond(engine, &ca, header, body, mac.as_ref(), implicit) {
            Ok(bytes) => CmpReply {
                status: 200,
                content_type: CONTENT_TYPE,
                body: bytes,
                issued,
                summary,
                unauthenticated,
            },
            Err(r) => {
                tracing::error!(ca = ca.name(), why = %r.text, "cannot sign a CMP answer");
                CmpReply::text(500, "the CA cannot answer now")
            }
        }
    }

    fn unsupported_body(&self, engine: &Engine, request: &CmpRequest<'_>, number: u32) -> CmpReply {
        let Ok(ca) = engine.ca(request.ca) else {
            return CmpReply::text(404, "no such CA");
        };
        let header = PkiHeader::new(
            crate::PVNO_CMP2000,
            GeneralName::DirectoryName(x509_cert::name::Name::default()),
            GeneralName::DirectoryName(x509_cert::name::Name::default()),
        );
        let text = format!(
            "body type {number} ({}) is not supported yet",
            crate::body_type_name(number).unwrap_or("unknown")
        );
        let body = error_body(&Refusal::new(FailureBit::BadRequest, text));
        match respond(engine, &ca, &header, body, None, false) {
            Ok(bytes) => CmpReply {
                status: 200,
                content_type: CONTENT_TYPE,
                body: bytes,
                issued: 0,
                summary: format!("body {number} unsupported"),
                unauthenticated: false,
            },
            Err(_) => CmpReply::text(500, "the CA cannot answer now"),
        }
    }

    /// The answer's body, or the refusal; `mac` is set to the answer's MAC protection once a
    /// MAC-protected request is authenticated.
    fn answer(
        &self,
        engine: &Engine,
        ca: &LoadedCa,
        received: &Received,
        limits: &Limits,
        issued: &mut usize,
        mac: &mut Option<MacAnswer>,
    ) -> Result<PkiBody, Refusal> {
        let header = &received.message.header;
        let transaction_id = header
            .transaction_id
            .as_ref()
            .map(OctetString::as_bytes)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Refusal::new(FailureBit::BadDataFormat, "no transactionID"))?;
        let nonce = header
            .sender_nonce
            .as_ref()
            .map(OctetString::as_bytes)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Refusal::new(FailureBit::BadSenderNonce, "no senderNonce"))?;
        let (principal, answer_mac) =
            authenticate(engine, ca.name(), received, limits).map_err(Refusal::unauthenticated)?;
        *mac = answer_mac;
        let replay = engine.check_replay(
            ca.name(),
            principal.credential(),
            Some(nonce),
            Some(transaction_id),
        )?;
        let tx = Transaction {
            id: transaction_id,
            implicit: implicit_granted(engine, ca, header),
            answer: match &received.message.body {
                PkiBody::Ir(_) => "ip",
                PkiBody::Kur(_) => "kup",
                _ => "cp",
            },
            encrypt: false,
        };
        match &received.message.body {
            PkiBody::Ir(reqs) => self
                .crmf(engine, ca, &principal, reqs, received, &replay, tx, issued)
                .map(PkiBody::Ip),
            PkiBody::Cr(reqs) => self
                .crmf(engine, ca, &principal, reqs, received, &replay, tx, issued)
                .map(PkiBody::Cp),
            PkiBody::P10cr(csr) => {
                cmc_codec::verify_pkcs10(csr, 1)
                    .map_err(|e| Refusal::new(FailureBit::BadPop, e.to_string()))?;
                let form = RequestForm::Pkcs10 {
                    reference: 1,
                    csr: Box::new(csr.clone()),
                };
                let raw = csr
                    .to_der()
                    .map_err(|e| Refusal::new(FailureBit::BadDataFormat, e.to_string()))?;
                let rep = self.enroll(
                    engine,
                    ca,
                    &principal,
                    form,
                    ProofOfPossession::Signature,
                    &raw,
                    &replay,
                    tx,
                    -1,
                    issued,
                )?;
                Ok(PkiBody::Cp(rep))
            }
            PkiBody::PollReq(polls) => {
                let body = self.poll(engine, ca, &principal, polls, tx)?;
                engine.record_replay(ca.name(), &replay)?;
                Ok(body)
            }
            PkiBody::Kur(reqs) => self
                .key_update(engine, ca, &principal, reqs, received, &replay, tx, issued)
                .map(PkiBody::Kup),
            PkiBody::Genm(content) => crate::door_general::general(engine, ca, content, &replay),
            PkiBody::Rr(details) => {
                crate::door_revoke::revoke(engine, ca, &principal, details, &replay)
            }
            PkiBody::CertConf(statuses) => {
                let body = self.confirm(engine, ca, &principal, statuses, tx.id)?;
                engine.record_replay(ca.name(), &replay)?;
                Ok(body)
            }
            other => Err(Refusal::new(
                FailureBit::BadRequest,
                format!("{} is not supported yet", other.name()),
            )),
        }
    }

    /// ir and cr: exactly one `CertReqMsg` (RFC 9483 §4.1.1), its POPO checked here, the
    /// rest by the engine.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn crmf(
        &self,
        engine: &Engine,
        ca: &LoadedCa,
        principal: &Principal,
        reqs: &CertReqMessages,
        received: &Received,
        replay: &cmc_ca::Replay,
        tx: Transaction<'_>,
        issued: &mut usize,
    ) -> Result<CertRepMessage, Refusal> {
        let [msg] = reqs.as_slice() else {
            return Err(Refusal::new(
                FailureBit::BadRequest,
                "exactly one certificate request per message (RFC 9483 §4.1.1)",
            ));
        };
        let cert_req_id = msg
            .cert_req
            .body_part_id()
            .map(i64::from)
            .map_err(|_| Refusal::new(FailureBit::BadDataFormat, "certReqId out of range"))?;
        let pop = match cmc_codec::verify_crmf_pop(msg) {
            Ok(Pop::CrmfSignature { sender: None }) => ProofOfPossession::Signature,
            Ok(Pop::CrmfSignature { sender: Some(_) }) => {
                return Err(Refusal::new(
                    FailureBit::BadPop,
                    "a POPOSigningKeyInput with sender is not supported",
                ));
            }
            Ok(Pop::RaVerified) => ProofOfPossession::RaVerified,
            Ok(Pop::KeyEncipherment | Pop::KeyAgreement)
                if door_indirect::asks_for_encrypted_cert(msg.popo.as_ref()) =>
            {
                let rsa = msg
                    .cert_req
                    .cert_template
                    .public_key
                    .as_ref()
                    .is_some_and(door_indirect::can_receive);
                if !rsa {
                    return Err(Refusal::new(
                        FailureBit::BadPop,
                        "an encrypted certificate (indirect POP) goes to an RSA key only",
                    ));
                }
                if tx.implicit {
                    return Err(Refusal::new(
                        FailureBit::BadRequest,
                        "indirect POP is proven by the confirmation: do not ask for implicitConfirm",
                    ));
                }
                ProofOfPossession::ByConfirmation
            }
            Ok(Pop::KeyEncipherment | Pop::KeyAgreement) => ProofOfPossession::NotYetProven,
            Ok(_) => {
                return Err(Refusal::new(
                    FailureBit::BadPop,
                    "the request carries no proof of possession",
                ));
            }
            Err(e) => return Err(Refusal::new(FailureBit::BadPop, e.to_string())),
        };
        let raw = received
            .message
            .body
            .to_der()
            .map_err(crate::Error::Encode)?;
        let form = RequestForm::Crmf(Box::new(msg.clone()));
        let tx = Transaction {
            encrypt: pop == ProofOfPossession::ByConfirmation,
            ..tx
        };
        self.enroll(
            engine,
            ca,
            principal,
            form,
            pop,
            &raw,
            replay,
            tx,
            cert_req_id,
            issued,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn enroll(
        &self,
        engine: &Engine,
        ca: &LoadedCa,
        principal: &Principal,
        form: RequestForm,
        pop: ProofOfPossession,
        raw: &[u8],
        replay: &cmc_ca::Replay,
        tx: Transaction<'_>,
        cert_req_id: i64,
        issued: &mut usize,
    ) -> Result<CertRepMessage, Refusal> {
        if engine
            .awaiting_confirmation(ca.name(), principal, tx.id)?
            .is_some()
        {
            return Err(Refusal::new(
                FailureBit::TransactionIdInUse,
                "a certificate of this transaction waits for its certConf",
            ));
        }
        let enrolled = engine.enroll(EnrollmentRequest {
            ca: ca.name(),
            principal,
            form,
            pop,
            raw,
            replay: Some(replay),
        })?;
        let issued_cert = match enrolled {
            Enrolled::Issued(i) => i,
            Enrolled::Held(held) => {
                // Delayed delivery (RFC 9483 §4.4): "waiting" now, the certificate by
                // pollReq once an agent approves it.
                let answer = if tx.encrypt {
                    format!("{}{}", tx.answer, door_indirect::ENCRYPTED_SUFFIX)
                } else {
                    tx.answer.to_owned()
                };
                engine.note_held_transaction(ca.name(), principal, tx.id, &held.token, &answer)?;
                tracing::info!(ca = ca.name(), requester = principal.requester(),
                    token = %held.token, "CMP request held for approval");
                return Ok(CertRepMessage {
                    ca_pubs: None,
                    response: vec![CertResponse {
                        cert_req_id,
                        status: PkiStatusInfo {
                            status: PkiStatus::Waiting,
                            status_string: Some(vec!["held for approval: poll".into()]),
                            fail_info: None,
                        },
                        certified_key_pair: None,
                        rsp_info: None,
                    }],
                });
            }
            Enrolled::ProveByDecryption => {
                return Err(Refusal::new(
                    FailureBit::BadPop,
                    "the key cannot sign: ask for the certificate encrypted (POPOPrivKey \
                     subsequentMessage encrCert) with an RSA key",
                ));
            }
        };
        *issued += 1;
        tracing::info!(ca = ca.name(), requester = principal.requester(),
            serial = %issued_cert.serial, "CMP enrollment issued");
        if tx.implicit {
            engine.note_delivered(
                ca.name(),
                &issued_cert.serial,
                Some(&issued_cert.decision.profile),
                "CMP implicitConfirm",
            );
        } else {
            await_confirmation(engine, ca, principal, tx, &issued_cert.serial, cert_req_id)?;
        }
        Ok(CertRepMessage {
            ca_pubs: None,
            response: vec![CertResponse {
                cert_req_id,
                status: PkiStatusInfo::accepted(),
                certified_key_pair: Some(door_indirect::key_pair(
                    issued_cert.certificate,
                    tx.encrypt,
                )?),
                rsp_info: None,
            }],
        })
    }
}

/// How an answer to a MAC-protected request is protected: the request's secret, the same
/// kind of MAC with a fresh salt.
struct MacAnswer {
    alg: MacAlgorithm,
    secret: Zeroizing<Vec<u8>>,
}

/// The sender: signature protection by `extraCerts[0]`, which must be a registered client
/// of the CA or a holder of one of its certificates; or MAC protection with the secret of
/// the credential `senderKID` names (then also how the answer is protected).
fn authenticate(
    engine: &Engine,
    ca: &str,
    received: &Received,
    limits: &Limits,
) -> Result<(Principal, Option<MacAnswer>), Refusal> {
    match received.protection(&limits.mac)? {
        Protection::None => Err(Refusal::new(
            FailureBit::BadMessageCheck,
            "unprotected requests are not accepted",
        )),
        Protection::Mac(alg) => {
            let reference = received
                .message
                .header
                .sender_kid
                .as_ref()
                .map(OctetString::as_bytes)
                .filter(|r| !r.is_empty())
                .ok_or_else(|| {
                    Refusal::new(
                        FailureBit::BadDataFormat,
                        "a MAC-protected request names its reference in senderKID",
                    )
                })?;
            // A one-time secret spent on this transaction's certificate still
            // fetches (a held request approved) and confirms it.
            let after_issuance = matches!(
                received.message.body,
                PkiBody::CertConf(_) | PkiBody::PollReq(_)
            );
            let proven = engine
                .principal_by_mac(ca, reference, after_issuance, |secret| {
                    received.verify_mac(secret, &limits.mac).is_ok()
                })
                .map_err(|r| match r.reason {
                    // One answer for an unknown reference and a wrong secret.
                    Reason::BadIdentity => Refusal::new(FailureBit::BadMessageCheck, r.detail),
                    _ => Refusal::from(r),
                })?;
            let answer_alg = match alg {
                MacAlgorithm::Pbm { iterations, .. } => MacAlgorithm::pbm_sha256(iterations)?,
                MacAlgorithm::Pbmac1 { iterations, .. } => MacAlgorithm::pbmac1_sha256(iterations)?,
            };
            Ok((
                proven.principal,
                Some(MacAnswer {
                    alg: answer_alg,
                    secret: proven.secret,
                }),
            ))
        }
        Protection::Signature(_) => {
            let cert = received
                .message
                .extra_certs
                .as_ref()
                .and_then(|c| c.first())
                .ok_or_else(|| {
                    Refusal::new(
                        FailureBit::SignerNotTrusted,
                        "the protecting certificate must be the first of extraCerts",
                    )
                })?;
            received.verify_signature(cert.tbs_certificate().subject_public_key_info())?;
            Ok((engine.principal_by_certificate(ca, cert)?, None))
        }
    }
}

/// An `error` body for `refusal`.
fn error_body(refusal: &Refusal) -> PkiBody {
    PkiBody::Error(ErrorMsgContent {
        pki_status_info: PkiStatusInfo::rejection(PkiFailureInfo::of(refusal.bit), &refusal.text),
        error_code: None,
        error_details: None,
    })
}

/// The answer with `body` to a request with header `request`: MAC-protected as `mac` says,
/// else signed; with `implicitConfirm` in `generalInfo` when `implicit` (RFC 9483 §4.1.1).
fn respond(
    engine: &Engine,
    ca: &LoadedCa,
    request: &PkiHeader,
    body: PkiBody,
    mac: Option<&MacAnswer>,
    implicit: bool,
) -> Result<Vec<u8>, Refusal> {
    let chain = || -> Result<Vec<Certificate>, Refusal> {
        let mut certs = vec![ca.certificate().clone()];
        for der in ca.chain_der() {
            certs.push(
                Certificate::from_der(der)
                    .map_err(|_| Refusal::new(FailureBit::SystemFailure, "CA chain"))?,
            );
        }
        Ok(certs)
    };
    let now = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(engine.now().secs()).unwrap_or(0));
    if let Some(mac) = mac {
        let mut header =
            PkiHeader::response_to(request, GeneralName::DirectoryName(ca.subject().clone()))?;
        header.message_time = GeneralizedTime::from_system_time(now).ok();
        header.recip_kid.clone_from(&request.sender_kid);
        if implicit {
            header.set_implicit_confirm();
        }
        let message =
            PkiMessage::protect_with_mac(header, body, &mac.alg, &mac.secret, Some(chain()?))?;
        return Ok(message.to_der_bytes()?);
    }
    // The configured CMC responder signs while it is valid, else the CA key.
    let responder = engine
        .responder(ca.name())
        .filter(|r| r.is_valid_at(engine.now()));
    let mut certs = Vec::new();
    let (key, subject) = match responder {
        Some(r) => {
            certs.push(r.certificate().clone());
            (r.key(), r.certificate().tbs_certificate().subject().clone())
        }
        None => (ca.key(), ca.subject().clone()),
    };
    certs.extend(chain()?);
    let mut header = PkiHeader::response_to(request, GeneralName::DirectoryName(subject))?;
    header.message_time = GeneralizedTime::from_system_time(now).ok();
    header.sender_kid = signer_key_id(&certs[0]);
    if implicit {
        header.set_implicit_confirm();
    }
    let message = PkiMessage::protect_with_signature(
        header,
        body,
        key.signature_algorithm().clone(),
        Some(certs),
        |data| {
            key.sign(data)
                .map_err(|e| Refusal::new(FailureBit::SystemFailure, e.to_string()))
        },
    )?;
    Ok(message.to_der_bytes()?)
}

/// The subject key identifier of `cert`, for `senderKID` (RFC 9483 §3.1).
fn signer_key_id(cert: &Certificate) -> Option<OctetString> {
    use x509_cert::ext::pkix::SubjectKeyIdentifier;
    let (_, ski) = cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .ok()
        .flatten()?;
    Some(ski.0)
}
