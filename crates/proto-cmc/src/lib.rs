//! CMC (RFC 5272, RFC 5273) over the protocol-neutral engine of `cmc-ca`:
//! what `POST /cmc/{ca}` does once the server has read the body
//! ([`CmcFrontDoor`], implemented for [`Engine`]). This crate owns what is
//! CMC: CMS decoding, controls, replay records, POP as CMC carries it,
//! nested and batch requests, statuses and the signed response. Who may
//! ask for what, issuance, held requests and revocation are the engine's
//! ([`Engine::enroll`], [`Engine::revoke_as`], ...); the engine's
//! refusals become CMCFailInfo values in one exhaustive match
//! (`respond::fail_info`).
//!
//! A Full PKI Request is checked in this order, and the first failure of a
//! message-level check answers for the whole PKIData (bodyList `[0]`):
//!
//! 0. an encrypted request (EnvelopedData or AuthEnvelopedData addressed
//!    to the CA's `[ca.NAME.encryption]` certificate) is opened first; one
//!    that does not open is badMessageCheck, an unsupported cipher badAlg,
//!    and the answer goes back encrypted when the requester can receive
//!    (`decrypt`);
//! 1. decode and verify (cmc-codec, within the server's `max_body_bytes`):
//!    not CMS at all is [`NotCmc`]; a bad digest or signature, a signer
//!    certificate whose keyUsage lacks digitalSignature, or a PKIData
//!    signed with the requested key by more than one SignerInfo is
//!    badMessageCheck, an expired signer badTime;
//! 2. the signer, one of: a registered client (SHA-256 fingerprint of the
//!    signer certificate), active, not revoked, granted this CA, and equal
//!    to the TLS client certificate when there is one; the holder of a
//!    valid, unrevoked certificate this CA issued (it may renew that
//!    certificate and revoke it); or, for a request signed with the
//!    requested key (sid = its subjectKeyIdentifier), the holder of the
//!    one-time enrollment secret its identification control names, proven
//!    by identityProofV2 over the reqSequence as received (the legacy
//!    SHA-1 identityProof only where `allow_sha1_identity_proof`). Anything
//!    else, an unsigned request, a wrong witness (which counts towards the
//!    secret's lockout), a used, expired or locked secret, and an expired
//!    certificate this CA issued, is badIdentity; a SHA-1 proof where it is
//!    not allowed is badAlg. Unknown and known identifications cost the
//!    same work (one HMAC, one failure count) and get the same answer;
//! 3. signingTime present and within `signing_time_window_secs` of the
//!    engine clock, else badTime;
//! 4. body part identifiers unique, else badRequest;
//! 5. at most one senderNonce, never seen before from this signer (it is
//!    remembered for `nonce_lifetime_secs`), else badRequest; a request
//!    without one is accepted (RFC 5272 makes it optional) and relies on
//!    the signingTime window;
//! 6. a transactionId is recorded; it may recur (later rounds);
//! 7. at most `max_requests_per_pki_data` body parts (nested PKIData
//!    requests counted with the outer ones), `max_controls_per_pki_data`
//!    controls and `max_values_per_control` values per control, else
//!    badRequest;
//! 8. every control is one this CA processes (senderNonce, recipientNonce,
//!    transactionId, dataReturn, regInfo, lraPOPWitness, revokeRequest,
//!    getCert, getCRL, identification, identityProof(V2), popLinkRandom,
//!    batchRequests, decryptedPOP, queryPending, confirmCertAcceptance, and
//!    from an RA only modCertTemplate, addExtensions, controlProcessed and
//!    raIdentityWitness, see `modify`); any other fails the
//!    request with badRequest naming those controls, since CMC controls
//!    have no criticality flag. Identity proof and popLinkRandom controls
//!    in a request not authenticated by a secret are refused the same way.
//!
//! A request that fails before its signer is known is unauthenticated: its
//! answer echoes only the senderNonce (as recipientNonce) and the
//! transactionId, never dataReturn or regInfo, so that nobody can have the
//! CA sign bytes of their choosing ([`CmcReply::authenticated`] is false,
//! and the server rate-limits such failures per source address).
//!
//! Who may be issued which names, and who may revoke what, is the model of
//! [`cmc_ca::principal`]. Renewals (a request signed by a certificate of
//! this CA) keep the signer's subject and at most its subjectAltNames
//! (else badIdentity) and a new key unless the profile has
//! `allow_key_reuse` (else noKeyReuse); they get the profile the old
//! certificate was issued with. Requests of a shared-secret signer get the
//! secret's profile (or the CA default) and must carry a popLinkWitnessV2
//! = HMAC(H(secret), popLinkRandom) that verifies (missing: badRequest;
//! wrong: popFailed); the secret is spent by the first certificate issued
//! under it (given back if that issuance fails), or by an agent's
//! decision on its held request, never before.
//!
//! Then each body part gets its own status: each certification request
//! (`tcr`, `crm`) its proof of possession (an RA may vouch with
//! raVerified, or with lraPOPWitness for a request without POPO), its
//! authorisation and its issuance; each revokeRequest its revocation
//! (badCertId for a certificate this CA did not issue); `orm`, nested
//! content and other messages are noSupport. One statusInfoV2 with status
//! success names exactly the parts that succeeded; every failed part has
//! its own.
//!
//! The response echoes the senderNonce as recipientNonce, adds a fresh
//! senderNonce, echoes transactionId and dataReturn, returns regInfo as
//! responseInfo (or, for an admin request, its answer: `admin`), carries
//! the issued certificates, the CA chain and at most
//! one CRL, and is signed by the CA key at the engine clock's time.
//!
//! A Full PKI Request may also come in an AuthenticatedData keyed by a
//! shared secret instead of a SignedData (RFC 5272 §3.2); it is then
//! checked by its MAC instead of step 1 and 2, and answers to shared-secret
//! requests carry the CA's trust anchors in an authData control (§6.15,
//! §6.16): see `authenticated`.
//!
//! Where each part lives: this file checks a Full PKI Request as a whole
//! (decode, signer, limits, the control list) and dispatches its parts;
//! `decrypt` opens encrypted requests and encrypts their answers;
//! `authenticated` the AuthenticatedData wrapper and the authData answer;
//! `replay` checks signingTime, senderNonces and transactionIds and audits
//! refusals; `identify` finds who signed (the engine resolves the
//! principal: clients, holders, one-time secrets); `certify` handles one
//! certification request (POP as CMC carries it, popLink, encryptedPOP,
//! then `Engine::enroll`); `nested` the RA-wrapped PKIData; `modify` what
//! an RA changes in the requests it forwards or reports as handled, and
//! changeSubjectName; `revoke`
//! revokeRequest, signed or by secret; `fetch` getCert and getCRL;
//! `simple` Simple PKI Requests; `admin` the admin requests of the
//! swedenconnect client (JSON in regInfo, answered in responseInfo, to an
//! RA or agent only); `controls` the checks on controls and
//! body parts; `respond` the reply types and the CMCFailInfo mapping;
//! `reply` the signed PKIResponse.

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use cmc_asn1::{
    BatchRequests, BodyPartId, CmcCertId, CmcFailInfo, CmcStatus, DataReturn, DecryptedPop,
    EncryptedPop, GetCert, GetCrl, Identification, IdentityProof, IdentityProofV2, LraPopWitness,
    PendInfo, PkiData, PopLinkRandom, QueryPending, RecipientNonce, RegInfo, ResponseInfo,
    RevokeRequest, SenderNonce, TaggedContentInfo, TaggedRequest, TransactionId, oid,
};
use cmc_ca::config::RequestsConfig;
use cmc_ca::{Engine, LoadedCa, PendingStatus, Principal, PrincipalKind, Refused, UnixTime};
use cmc_codec::envelope;
use cmc_codec::identity::{
    ProofHash, find_pop_link_witness, find_pop_link_witness_v1, proof_family, req_sequence_der,
};
use cmc_codec::{
    CmsSigner, FullRequest, Pop, SignedRequest, VerifyOptions, certs_only_response,
    decode_full_request, decode_simple_request, sign_response_with_crls,
};
use cms::content_info::ContentInfo;
use der::asn1::OctetString;
use der::{Decode, Encode, Tag, Tagged};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::GeneralName;

pub use respond::{
    CERTS_ONLY_CONTENT_TYPE, CMC_RESPONSE_CONTENT_TYPE, CmcReply, NotCmc, PartStatus, Transport,
};
use respond::{Failure, ResponseBuilder};

mod admin;
mod authenticated;
mod certify;
pub mod compliance;
mod controls;
mod decrypt;
mod dh_pop;
mod encrypted_pop;
mod fetch;
mod identify;
mod modify;
mod nested;
mod publish;
mod query;
mod replay;
mod reply;
mod respond;
mod revoke;
mod simple;

use certify::PartContext;
use controls::{
    Controls, SUPPORTED_CONTROLS, body_part_ids, check_control_limits, only_queries,
    refuse_controls,
};

/// The controls an unsigned request may carry (revocation by secret).
const UNSIGNED_CONTROLS: [der::asn1::ObjectIdentifier; 5] = [
    oid::ID_CMC_SENDER_NONCE,
    oid::ID_CMC_TRANSACTION_ID,
    oid::ID_CMC_DATA_RETURN,
    oid::ID_CMC_REG_INFO,
    oid::ID_CMC_REVOKE_REQUEST,
];

/// The controls a nested (end-entity) request may carry. The RA controls
/// (`modify::RA_CONTROLS`) are not among them: a nested PKIData is signed
/// by an end entity, and a second RA layer is deeper nesting, which is not
/// supported.
const NESTED_CONTROLS: [der::asn1::ObjectIdentifier; 5] = [
    oid::ID_CMC_SENDER_NONCE,
    oid::ID_CMC_RECIPIENT_NONCE,
    oid::ID_CMC_TRANSACTION_ID,
    oid::ID_CMC_DATA_RETURN,
    oid::ID_CMC_REG_INFO,
];

/// The controls of a shared-secret identity proof, processed only for a
/// request signed with its own key.
const SECRET_CONTROLS: [der::asn1::ObjectIdentifier; 4] = [
    oid::ID_CMC_IDENTIFICATION,
    oid::ID_CMC_IDENTITY_PROOF,
    oid::ID_CMC_IDENTITY_PROOF_V2,
    oid::ID_CMC_POP_LINK_RANDOM,
];

/// Length of the senderNonce the CA draws for each response.
const NONCE_LEN: usize = 32;

/// The body part a Simple PKI Request is (RFC 5272 §6.1.1).
const SIMPLE_BODY_PART: BodyPartId = 1;

/// The requester recorded for Simple PKI Requests, which carry no identity.
const SIMPLE_REQUESTER: &str = "simple-pki-request";

/// A failure of the whole PKIData (or of the controls it names).
struct MessageFailure {
    failure: Failure,
    body_list: Vec<BodyPartId>,
    /// Whether the sender had been authenticated when the request was
    /// refused (decides what the response echoes).
    authenticated: bool,
}

impl MessageFailure {
    fn message(fail_info: CmcFailInfo, text: impl Into<String>) -> Self {
        Self {
            failure: Failure::failed(fail_info, text),
            body_list: vec![0],
            authenticated: false,
        }
    }

    /// The same refusal, of a request whose sender was authenticated.
    fn authenticated(self) -> Self {
        Self {
            authenticated: true,
            ..self
        }
    }

    fn internal(ca: &str, e: &cmc_ca::Error) -> Self {
        Self::refused(Refused::from_error(e, ca))
    }

    /// The engine's refusal of the whole PKIData.
    fn refused(refused: Refused) -> Self {
        Self {
            failure: Failure::from(refused),
            body_list: vec![0],
            authenticated: false,
        }
    }
}

/// What the response echoes from the request.
#[derive(Default)]
struct Echo {
    sender_nonce: Option<OctetString>,
    transaction_id: Option<TransactionId>,
    data_return: Vec<DataReturn>,
    reg_info: Vec<RegInfo>,
    /// Whether the sender was authenticated ([`CmcReply::authenticated`]).
    authenticated: bool,
}

impl Echo {
    /// Best effort: controls that do not decode are not echoed.
    fn of(pki_data: &PkiData) -> Self {
        Self {
            authenticated: true,
            sender_nonce: pki_data
                .controls_of::<SenderNonce>()
                .ok()
                .and_then(|v| v.into_iter().next())
                .map(|(_, n)| n.0),
            transaction_id: pki_data
                .controls_of::<TransactionId>()
                .ok()
                .and_then(|v| v.into_iter().next())
                .map(|(_, t)| t),
            data_return: pki_data
                .controls_of::<DataReturn>()
                .map(|v| v.into_iter().map(|(_, d)| d).collect())
                .unwrap_or_default(),
            reg_info: pki_data
                .controls_of::<RegInfo>()
                .map(|v| v.into_iter().map(|(_, r)| r).collect())
                .unwrap_or_default(),
        }
    }

    /// The controls of a request that did not verify, read without
    /// trusting them (only to echo them back).
    fn unverified(body: &[u8]) -> Self {
        unverified_pki_data(body)
            .as_ref()
            .map(Self::of)
            .unwrap_or_default()
            .unauthenticated()
    }

    /// What an unauthenticated sender gets back: the senderNonce (as
    /// recipientNonce) and the transactionId, never dataReturn or regInfo,
    /// so that nobody can have the CA sign bytes of their choosing.
    fn unauthenticated(self) -> Self {
        Self {
            sender_nonce: self.sender_nonce,
            transaction_id: self.transaction_id,
            ..Self::default()
        }
    }
}

/// The tokens of a PKIData's queryPending controls (at most
/// [`cmc_ca::MAX_HELD_KEYS`]).
fn held_tokens(pki_data: &PkiData) -> Vec<Vec<u8>> {
    pki_data
        .controls_of::<QueryPending>()
        .map(|queries| {
            queries
                .into_iter()
                .take(cmc_ca::MAX_HELD_KEYS)
                .map(|(_, QueryPending(token))| token.as_bytes().to_vec())
                .collect()
        })
        .unwrap_or_default()
}

/// The PKIData of a request, read without verifying anything (to echo its
/// nonce, or to find the held requests its queryPending names).
fn unverified_pki_data(body: &[u8]) -> Option<PkiData> {
    ContentInfo::from_der(body)
        .ok()
        .and_then(|ci| ci.content.decode_as::<cms::signed_data::SignedData>().ok())
        .and_then(|sd| sd.encap_content_info.econtent)
        .filter(|any| any.tag() == Tag::OctetString)
        .and_then(|any| PkiData::from_der(any.value()).ok())
}

/// What the body parts of one PKIData came to.
#[derive(Default)]
struct PartResults {
    succeeded: Vec<BodyPartId>,
    failed: Vec<(Failure, BodyPartId)>,
    issued: Vec<Certificate>,
    /// Certificates asked for with getCert (sent, not counted as issued).
    fetched: Vec<Certificate>,
    /// CRLs asked for with getCRL.
    crls: Vec<CertificateList>,
    /// Answers to admin requests, each a responseInfo control (`admin`).
    response_info: Vec<OctetString>,
    /// encryptedPOP challenges for keys that cannot sign.
    challenges: Vec<EncryptedPop>,
    /// Requests held for approval (and queryPending answers still
    /// waiting), with their pendInfo.
    pending: Vec<(BodyPartId, PendInfo)>,
    /// Signed PKIResponses to nested requests, for the cmsSequence.
    nested: Vec<ContentInfo>,
    /// Certificates issued inside those.
    nested_issued: usize,
    /// Whether the request named its nested requests in batchRequests (the
    /// answers are then named in batchResponses, else each in a
    /// responseBody control).
    batch: bool,
    /// The shared secret the request was authenticated with, for the
    /// authData control of the answer (`authenticated.rs`).
    shared_secret: Option<cmc_ca::SharedSecret>,
}

/// What one certification request came to.
pub(crate) enum Certified {
    /// The certificate.
    Issued(Box<Certificate>),
    /// An encryptedPOP challenge for a key that cannot sign.
    Challenge(Box<EncryptedPop>),
    /// Held for an agent's approval.
    Held(PendInfo),
}

/// The answer to one nested request.
struct NestedReply {
    content_info: ContentInfo,
    issued: usize,
}

/// The CMC front door of an [`Engine`]: what `POST /cmc/{ca}` does once
/// the server has read the body.
pub trait CmcFrontDoor {
    /// Handles a Full PKI Request (`application/pkcs7-mime;
    /// smime-type=CMC-request`) for CA `ca`. Every failure inside a request
    /// that is CMS is a signed PKIResponse with the failure's CMCFailInfo
    /// (see the crate documentation for the order of the checks).
    ///
    /// # Errors
    /// [`NotCmc`] for what cannot be answered in CMC: an unknown CA, a body
    /// that is not CMS at all or is too large, or a CA that cannot sign.
    fn handle_full(&self, ca: &str, body: &[u8], transport: &Transport)
    -> Result<CmcReply, NotCmc>;

    /// Handles a Simple PKI Request (`application/pkcs10`) for CA `ca`,
    /// when its settings allow them: the PKCS #10 self-signature is
    /// verified and the certificate issued with the CA's default profile,
    /// answered with a certs-only response (the certificate and the CA
    /// chain). A failure is a signed Full PKI Response with the failInfo
    /// (RFC 5272 §4.1), bodyList `[1]`.
    ///
    /// # Errors
    /// [`NotCmc`]: an unknown CA, a CA that does not take Simple PKI
    /// Requests, a body that is not PKCS #10 or is too large, or a CA that
    /// cannot sign.
    fn handle_simple(
        &self,
        ca: &str,
        body: &[u8],
        transport: &Transport,
    ) -> Result<CmcReply, NotCmc>;
}

impl CmcFrontDoor for Engine {
    fn handle_full(
        &self,
        ca: &str,
        body: &[u8],
        transport: &Transport,
    ) -> Result<CmcReply, NotCmc> {
        Cmc { engine: self }.handle_full(ca, body, transport)
    }

    fn handle_simple(
        &self,
        ca: &str,
        body: &[u8],
        transport: &Transport,
    ) -> Result<CmcReply, NotCmc> {
        Cmc { engine: self }.handle_simple(ca, body, transport)
    }
}

/// One CMC exchange with the engine.
struct Cmc<'e> {
    engine: &'e Engine,
}

impl Cmc<'_> {
    /// Handles a Full PKI Request (`application/pkcs7-mime;
    /// smime-type=CMC-request`) for CA `ca`. Every failure inside a request
    /// that is CMS is a signed PKIResponse with the failure's CMCFailInfo.
    ///
    /// Message-level checks, in order (a failure answers for the whole
    /// PKIData, bodyList `[0]`, unless it names controls): signature and
    /// digest (badMessageCheck; an expired signer certificate badTime, or
    /// badIdentity if this CA issued it); the signer (badIdentity unless it
    /// is a registered, active client granted this CA and equal to the TLS
    /// client certificate if there is one, the holder of a valid unrevoked
    /// certificate of this CA, or, for a request signed with the requested
    /// key, the holder of the enrollment secret named by identification
    /// and proven by identityProofV2 over the reqSequence as received;
    /// badAlg for a SHA-1 proof the CA does not allow); signingTime within
    /// `signing_time_window_secs` (badTime); unique body part ids; a
    /// senderNonce not seen before from this signer; at most
    /// `max_requests_per_pki_data` body parts; only controls this CA
    /// processes (any other: badRequest naming them); the secret, if any,
    /// is consumed. Then each `tcr`/`crm` gets its POP check (raVerified,
    /// or no POPO under an lraPOPWitness, only from an RA: else popFailed),
    /// the signer's right to it (a renewal keeps the subject, else
    /// badIdentity, and changes the key unless the profile allows reuse,
    /// else noKeyReuse; a shared-secret request carries a valid
    /// popLinkWitnessV2 where the profile requires one) and issuance; each
    /// revokeRequest its revocation (badCertId for a certificate this CA
    /// did not issue); `orm`, nested content and other messages are
    /// noSupport. One success status names exactly the parts that
    /// succeeded; each failed part has its own status.
    ///
    /// The response echoes senderNonce as recipientNonce, adds a fresh
    /// senderNonce, echoes transactionId and dataReturn, returns regInfo as
    /// responseInfo, carries the issued certificates and the CA chain, and
    /// is signed by the CA key at the engine clock's time.
    ///
    /// # Errors
    /// [`NotCmc`] for what cannot be answered in CMC: an unknown CA, a body
    /// that is not CMS at all or is too large, or a CA that cannot sign.
    fn handle_full(
        &self,
        ca: &str,
        body: &[u8],
        transport: &Transport,
    ) -> Result<CmcReply, NotCmc> {
        let ca = self
            .engine
            .ca(ca)
            .map_err(|_| NotCmc::UnknownCa(ca.to_owned()))?;
        let now = self.engine.now();
        if let Some(reply) = self.handle_authenticated(&ca, body, transport, now) {
            return reply;
        }
        // An encrypted request is opened (`decrypt`).
        let opened = match self.open_envelopes(&ca, body) {
            Ok(opened) => opened,
            Err(decrypt::Unopened::NotCmc(e)) => return Err(e),
            Err(decrypt::Unopened::Refused(failure)) => {
                let refusal = MessageFailure {
                    failure,
                    body_list: vec![0],
                    authenticated: false,
                };
                self.audit_refusal(&ca, None, &refusal);
                let echo = Echo::default();
                return self.reply(&ca, &echo, PartResults::default(), Some(refusal), now);
            }
        };
        let encrypted = opened.is_some();
        let body = opened.as_deref().unwrap_or(body);
        let opts =
            VerifyOptions::new(now.to_system_time()).with_limits(self.engine.config().limits());
        let mut decoded = decode_full_request(body, &opts);
        // A secret's holder asks queryPending signed by the key of its held
        // request, which the PKIData does not carry: only then are the
        // held requests it names looked up, and the signature checked again.
        if matches!(decoded, Err(cmc_codec::Error::SignerNotFound)) {
            let held = unverified_pki_data(body)
                .filter(only_queries)
                .map(|pki_data| held_tokens(&pki_data))
                .map(|tokens| {
                    let tokens: Vec<&[u8]> = tokens.iter().map(Vec::as_slice).collect();
                    self.engine.held_secret_keys(ca.name(), &tokens)
                })
                .unwrap_or_default();
            if !held.is_empty() {
                decoded = decode_full_request(body, &opts.with_held_keys(&held));
            }
        }
        if encrypted {
            decoded = decoded.map_err(decrypt::inner_error);
        }
        let request = match decoded {
            Ok(r) => r,
            Err(e) if e.is_not_cms() => return Err(not_cms(&e)),
            Err(e) => {
                tracing::info!(ca = ca.name(), peer = transport.peer, error = %e,
                    "CMC request failed verification");
                let failure = match &e {
                    cmc_codec::Error::SignerExpired { not_after } => {
                        self.expired_holder(&ca, body, *not_after)
                    }
                    _ => None,
                }
                .unwrap_or_else(|| codec_failure(&e, ca.name()));
                let refusal = MessageFailure {
                    failure,
                    body_list: vec![0],
                    authenticated: false,
                };
                self.audit_refusal(&ca, None, &refusal);
                return self.reply(
                    &ca,
                    &Echo::unverified(body),
                    PartResults::default(),
                    Some(refusal),
                    now,
                );
            }
        };
        let echo = Echo::of(request.pki_data());
        match self.process_full(&ca, &request, transport, now) {
            Ok(outcome) => {
                // An unsigned request is authenticated only by the
                // revocation secrets of its parts: all of them.
                let echo = if request.signed().is_none() && !outcome.failed.is_empty() {
                    echo.unauthenticated()
                } else {
                    echo
                };
                let reply = self.reply(&ca, &echo, outcome, None, now);
                self.seal_reply(&ca, encrypted, &request, reply)
            }
            Err(refusal) => {
                tracing::info!(ca = ca.name(), peer = transport.peer,
                    fail_info = %refusal.failure.fail_info, text = refusal.failure.text,
                    "CMC request refused");
                let signer = request
                    .signed()
                    .and_then(|s| s.signer().certificate())
                    .map(|c| c.tbs_certificate().subject().to_string());
                self.audit_refusal(&ca, signer, &refusal);
                let echo = if refusal.authenticated {
                    echo
                } else {
                    echo.unauthenticated()
                };
                let reply = self.reply(&ca, &echo, PartResults::default(), Some(refusal), now);
                self.seal_reply(&ca, encrypted, &request, reply)
            }
        }
    }

    /// The message-level checks, then every body part.
    fn process_full(
        &self,
        ca: &LoadedCa,
        request: &FullRequest,
        transport: &Transport,
        now: UnixTime,
    ) -> Result<PartResults, MessageFailure> {
        let Some(signed) = request.signed() else {
            return self.process_unsigned(ca, request.pki_data());
        };
        let signer = self.identify(ca, signed, transport)?;
        let time = signed.signer().signing_time();
        let subject = signed
            .signer()
            .certificate()
            .map(|c| c.tbs_certificate().subject());
        self.process_signed(ca, &signed.pki_data, time, subject, &signer, now)
            .map_err(MessageFailure::authenticated)
    }

    /// The message-level checks after the signer is known (by a signature
    /// or a MAC dated `signing_time`; `signer_subject` is the signing
    /// certificate's subject, none for a MAC), then every body part.
    fn process_signed(
        &self,
        ca: &LoadedCa,
        pki_data: &PkiData,
        signing_time: Option<std::time::SystemTime>,
        signer_subject: Option<&x509_cert::name::Name>,
        signer: &Principal,
        now: UnixTime,
    ) -> Result<PartResults, MessageFailure> {
        self.check_signing_time(signing_time)?;
        let ids = body_part_ids(pki_data)?;
        let limits = self.engine.config().requests;
        let max = limits.max_requests_per_pki_data;
        let parts = pki_data.req_sequence.len()
            + pki_data.cms_sequence.len()
            + pki_data.other_msg_sequence.len();
        if parts > max {
            return Err(MessageFailure::message(
                CmcFailInfo::BadRequest,
                format!("{parts} body parts exceed the limit of {max}"),
            ));
        }
        // A one-time secret vouches for one key and one certificate.
        if signer.kind() == PrincipalKind::SecretOwner && pki_data.req_sequence.len() > 1 {
            return Err(MessageFailure::message(
                CmcFailInfo::BadRequest,
                "a one-time secret authenticates one certification request",
            ));
        }
        // The requests of nested PKIData count against the same limit.
        let budget = std::cell::Cell::new(max - parts);
        check_control_limits(pki_data, &limits)?;
        refuse_controls(pki_data, "unsupported control", |oid| {
            !SUPPORTED_CONTROLS.contains(oid)
        })?;
        if signer.kind() != PrincipalKind::SecretOwner {
            refuse_controls(
                pki_data,
                "identityProof and popLink controls are processed only in requests signed with the requested key under a shared secret",
                |oid| SECRET_CONTROLS.contains(oid),
            )?;
        }
        // Everything decoded and cross-checked before anything changes.
        let ra = modify::RaControls::decode(pki_data, signer.kind(), &ids)?;
        let mut controls = Controls::decode(pki_data)?;
        let requester = signer.requester();
        let replay = self.check_replay(ca, &controls, signer.credential(), &requester)?;
        let mut outcome = PartResults {
            shared_secret: self.secret_for_reply(ca, signer),
            ..PartResults::default()
        };
        let context = PartContext {
            signer: certify::fingerprint(signer.credential()),
            transaction_id: controls.transaction_id.as_deref().unwrap_or_default(),
            witnessed: &controls.witnessed,
            link_random: controls.link_random.as_deref(),
            decrypted: &controls.decrypted,
            replay: &replay,
            replayed: std::cell::Cell::new(false),
            modify: modify::Modify {
                changes: &ra.outer_changes(),
                signer_subject,
                ca: ca.name(),
            },
        };
        self.certify_all(ca, signer, pki_data, &ids, &context, &mut outcome);
        if context.replayed.get() {
            return Err(replay::replayed(ca, &requester));
        }
        self.record_replay(ca, &replay, &requester)?;
        for (id, revoke) in &controls.revocations {
            match self.revoke_requested(ca, signer, revoke) {
                Ok(()) => outcome.succeeded.push(*id),
                Err(failure) => outcome.failed.push((failure, *id)),
            }
        }
        for (id, accepted) in &controls.acceptances {
            match self.accept(ca, signer, accepted) {
                Ok(()) => outcome.succeeded.push(*id),
                Err(failure) => outcome.failed.push((failure, *id)),
            }
        }
        let requests_failed = pki_data.req_sequence.iter().any(|r| {
            r.body_part_id()
                .is_ok_and(|id| outcome.failed.iter().any(|(_, f)| *f == id))
        });
        for (id, info) in &controls.publications {
            match self.publication(ca, signer, info, &outcome, requests_failed) {
                Ok(()) => outcome.succeeded.push(*id),
                Err(failure) => outcome.failed.push((failure, *id)),
            }
        }
        self.fetch_all(ca, signer, &controls, now, &mut outcome);
        self.answer_admin(ca, signer, pki_data, &mut outcome);
        self.answer_queries(ca, signer, &controls.queries, &mut outcome);
        outcome.batch = controls.batch.is_some();
        for tagged in &pki_data.cms_sequence {
            let id = tagged.body_part_id;
            let witnessed = controls.nested_witnessed.remove(&id).unwrap_or_default();
            let from_ra = ra.nested(id, witnessed);
            match self.nested(ca, signer, tagged, &from_ra, &budget, now) {
                Ok(nested) => {
                    outcome.succeeded.push(id);
                    outcome.nested_issued += nested.issued;
                    outcome.nested.push(nested.content_info);
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        for msg in &pki_data.other_msg_sequence {
            outcome.failed.push((
                Failure::no_support("other messages (otherMsgSequence) are not supported"),
                msg.body_part_id,
            ));
        }
        Ok(outcome)
    }
}

/// The failure for a codec error on a request we will answer in CMC.
fn codec_failure(e: &cmc_codec::Error, ca: &str) -> Failure {
    let fail_info = e.fail_info();
    if fail_info == CmcFailInfo::InternalCaError {
        tracing::error!(ca, error = %e, "internal error in the CMC codec");
        return Failure::failed(fail_info, "internal CA error");
    }
    // The codec's messages describe the request (which check failed), not
    // the CA.
    Failure::failed(fail_info, e.to_string())
}

fn not_cms(e: &cmc_codec::Error) -> NotCmc {
    match e {
        cmc_codec::Error::TooLarge { len, max } => NotCmc::TooLarge {
            len: *len,
            max: *max,
        },
        other => NotCmc::Malformed(other.to_string()),
    }
}
