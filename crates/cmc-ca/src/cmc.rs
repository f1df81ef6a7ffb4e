//! CMC request handling (RFC 5272, RFC 5273): what `POST /cmc/{ca}` does
//! once the server has read the body.
//!
//! A Full PKI Request is checked in this order, and the first failure of a
//! message-level check answers for the whole PKIData (bodyList `[0]`):
//!
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
//!    batchRequests, decryptedPOP, queryPending); any other fails the
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
//! [`crate::principal`]. Renewals (a request signed by a certificate of
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
//! responseInfo, carries the issued certificates, the CA chain and at most
//! one CRL, and is signed by the CA key at the engine clock's time.

use std::collections::{BTreeMap, BTreeSet};

use cmc_asn1::{
    BatchRequests, BodyPartId, CmcFailInfo, CmcStatus, DataReturn, DecryptedPop, EncryptedPop,
    GetCert, GetCrl, Identification, IdentityProof, IdentityProofV2, LraPopWitness, PendInfo,
    PkiData, PopLinkRandom, QueryPending, RecipientNonce, RegInfo, ResponseInfo, RevokeRequest,
    SenderNonce, TaggedContentInfo, TaggedRequest, TransactionId, oid,
};
use cmc_codec::envelope;
use cmc_codec::identity::{ProofHash, find_pop_link_witness, proof_family, req_sequence_der};
use cmc_codec::{
    CmsSigner, FullRequest, Pop, SignedRequest, VerifyOptions, certs_only_response,
    decode_full_request, decode_simple_request, sign_response_with_crls,
};
use cmc_store::{
    ClientRecord, ClientRole, Fingerprint, RevocationReason, SecretPurpose, SecretRecord, UnixTime,
    fingerprint,
};
use cms::content_info::ContentInfo;
use der::asn1::OctetString;
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::GeneralName;

use crate::authz::{Action, Decision, DenyReason};
use crate::ca::LoadedCa;
use crate::config::RequestsConfig;
use crate::engine::{Engine, PopBinding};
use crate::pending::PendingAnswer;
use crate::principal::{HOLDER_PREFIX, NameLimit, NameScope, SECRET_PREFIX, client_scope};
use crate::respond::{
    CERTS_ONLY_CONTENT_TYPE, CMC_RESPONSE_CONTENT_TYPE, CmcReply, Failure, NotCmc, PartStatus,
    ResponseBuilder, Transport,
};
use crate::x509::store_serial;

/// The controls this engine processes; any other fails the request.
const SUPPORTED_CONTROLS: [der::asn1::ObjectIdentifier; 16] = [
    oid::ID_CMC_SENDER_NONCE,
    oid::ID_CMC_RECIPIENT_NONCE,
    oid::ID_CMC_TRANSACTION_ID,
    oid::ID_CMC_DATA_RETURN,
    oid::ID_CMC_REG_INFO,
    oid::ID_CMC_LRA_POP_WITNESS,
    oid::ID_CMC_REVOKE_REQUEST,
    oid::ID_CMC_GET_CERT,
    oid::ID_CMC_GET_CRL,
    oid::ID_CMC_IDENTIFICATION,
    oid::ID_CMC_IDENTITY_PROOF,
    oid::ID_CMC_IDENTITY_PROOF_V2,
    oid::ID_CMC_POP_LINK_RANDOM,
    oid::ID_CMC_BATCH_REQUESTS,
    oid::ID_CMC_DECRYPTED_POP,
    oid::ID_CMC_QUERY_PENDING,
];

/// The controls an unsigned request may carry (revocation by secret).
const UNSIGNED_CONTROLS: [der::asn1::ObjectIdentifier; 5] = [
    oid::ID_CMC_SENDER_NONCE,
    oid::ID_CMC_TRANSACTION_ID,
    oid::ID_CMC_DATA_RETURN,
    oid::ID_CMC_REG_INFO,
    oid::ID_CMC_REVOKE_REQUEST,
];

/// The controls a nested (end-entity) request may carry.
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
struct Refusal {
    failure: Failure,
    body_list: Vec<BodyPartId>,
    /// Whether the sender had been authenticated when the request was
    /// refused (decides what the response echoes).
    authenticated: bool,
}

impl Refusal {
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

    fn internal(ca: &str, e: &crate::Error) -> Self {
        Self {
            failure: Failure::from_engine(e, ca, 0),
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

/// The outcome of processing the body parts.
#[derive(Default)]
struct Outcome {
    succeeded: Vec<BodyPartId>,
    failed: Vec<(Failure, BodyPartId)>,
    issued: Vec<Certificate>,
    /// Certificates asked for with getCert (sent, not counted as issued).
    fetched: Vec<Certificate>,
    /// CRLs asked for with getCRL.
    crls: Vec<CertificateList>,
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
}

/// What one certification request came to.
enum Certified {
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

/// The authenticated signer of a request.
struct Signer {
    /// The signer certificate's DER; for a request signed with its own key,
    /// the SubjectPublicKeyInfo DER of that key. senderNonces are
    /// remembered per credential.
    credential: Vec<u8>,
    who: Who,
}

/// Whose certificate signed.
enum Who {
    /// A registered client (end entity, RA or agent).
    Client(ClientRecord),
    /// The holder of a valid, unrevoked certificate that this CA issued,
    /// who is not a registered client: it may revoke its own certificates
    /// (RFC 5272 §6.11).
    Holder {
        /// The signer certificate's serial.
        serial: cmc_store::Serial,
        /// The certificate.
        cert: Box<Certificate>,
        /// The profile it was issued with.
        profile: String,
    },
    /// The holder of a one-time enrollment secret, proven by
    /// identityProofV2 (or identityProof) over a request signed with the
    /// requested key (RFC 5272 §6.2, §3.2).
    Secret {
        /// The secret as stored (before it was consumed).
        record: Box<SecretRecord>,
        /// The hash family of its proofs.
        hash: ProofHash,
        /// Whether this PKIData has spent it (on its first issued
        /// certificate).
        spent: std::cell::Cell<bool>,
    },
}

impl Signer {
    /// The names this signer may be issued (see [`crate::principal`]).
    fn names(&self) -> NameScope {
        match &self.who {
            Who::Client(c) => client_scope(c),
            Who::Holder { cert, .. } => NameScope {
                owner: None,
                limit: NameLimit::Renewal(cert.clone()),
            },
            Who::Secret { record, .. } => NameScope {
                owner: None,
                limit: record
                    .names
                    .clone()
                    .map_or(NameLimit::Profile, NameLimit::Registered),
            },
        }
    }

    /// Who is recorded as the requester and named in logs.
    fn requester(&self) -> String {
        match &self.who {
            Who::Client(c) => c.id.clone(),
            Who::Holder { serial, .. } => format!("{HOLDER_PREFIX}{serial}"),
            Who::Secret { record, .. } => format!("{SECRET_PREFIX}{}", record.identification),
        }
    }
}

impl Engine {
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
    pub fn handle_full(
        &self,
        ca: &str,
        body: &[u8],
        transport: &Transport,
    ) -> Result<CmcReply, NotCmc> {
        let ca = self.ca(ca).map_err(|_| NotCmc::UnknownCa(ca.to_owned()))?;
        let now = self.now();
        let opts = VerifyOptions::new(now.to_system_time()).with_limits(self.config().limits());
        let mut decoded = decode_full_request(body, &opts);
        // A secret's holder asks queryPending signed by the key of its held
        // request, which the PKIData does not carry: only then are the
        // held requests it names looked up, and the signature checked again.
        if matches!(decoded, Err(cmc_codec::Error::SignerNotFound)) {
            let held = unverified_pki_data(body)
                .filter(only_queries)
                .map(|pki_data| self.held_secret_keys(&ca, &pki_data))
                .unwrap_or_default();
            if !held.is_empty() {
                decoded = decode_full_request(body, &opts.with_held_keys(&held));
            }
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
                let refusal = Refusal {
                    failure,
                    body_list: vec![0],
                    authenticated: false,
                };
                self.audit_refusal(&ca, None, &refusal, now);
                return self.reply(
                    &ca,
                    &Echo::unverified(body),
                    Outcome::default(),
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
                self.reply(&ca, &echo, outcome, None, now)
            }
            Err(refusal) => {
                tracing::info!(ca = ca.name(), peer = transport.peer,
                    fail_info = %refusal.failure.fail_info, text = refusal.failure.text,
                    "CMC request refused");
                let signer = request
                    .signed()
                    .and_then(|s| s.signer().certificate())
                    .map(|c| c.tbs_certificate().subject().to_string());
                self.audit_refusal(&ca, signer, &refusal, now);
                let echo = if refusal.authenticated {
                    echo
                } else {
                    echo.unauthenticated()
                };
                self.reply(&ca, &echo, Outcome::default(), Some(refusal), now)
            }
        }
    }

    /// badIdentity for a request whose expired signer certificate is one
    /// this CA issued to an end entity (a renewal too late: the old
    /// certificate no longer proves who asks); `None` for any other expired
    /// signer, which stays badTime. Verifies the request again at the
    /// certificate's notAfter to learn which certificate signed.
    fn expired_holder(
        &self,
        ca: &LoadedCa,
        body: &[u8],
        not_after: std::time::SystemTime,
    ) -> Option<Failure> {
        let request = decode_full_request(
            body,
            &VerifyOptions::new(not_after).with_limits(self.config().limits()),
        )
        .ok()?;
        let cert = request.signed()?.signer().certificate()?;
        let cert_der = cert.to_der().ok()?;
        let registered = self
            .store()
            .get_client_by_fingerprint(&fingerprint(&cert_der))
            .ok()?
            .is_some();
        if registered || cert.tbs_certificate().issuer() != ca.subject() {
            return None;
        }
        let serial = store_serial(cert.tbs_certificate().serial_number()).ok()?;
        let record = self.store().get_cert(ca.name(), &serial).ok()??;
        (record.certificate()?.cert_der == cert_der).then(|| {
            Failure::failed(
                CmcFailInfo::BadIdentity,
                "the certificate that signs this request has expired",
            )
        })
    }

    /// An audit event for a request refused as a whole (who signed it, if
    /// known, and why). A failure to write it is logged: the client still
    /// gets its answer.
    fn audit_refusal(
        &self,
        ca: &LoadedCa,
        signer: Option<String>,
        refusal: &Refusal,
        now: UnixTime,
    ) {
        let detail = serde_json::json!({
            "cmc_fail_info": refusal.failure.fail_info.name(),
            "status": refusal.failure.status.name(),
            "body_list": &refusal.body_list,
            "reason": &refusal.failure.text,
        });
        let event = cmc_store::AuditEvent {
            at: now,
            kind: cmc_store::AuditKind::Refused,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile: None,
            requester: signer,
            outcome: cmc_store::Outcome::Failure,
            detail: detail.to_string(),
        };
        if let Err(e) = self.store().append_audit(&event) {
            tracing::error!(ca = ca.name(), error = %e, "cannot audit a refused CMC request");
        }
    }

    /// Handles a Simple PKI Request (`application/pkcs10`) for CA `ca`,
    /// when its settings allow them: the PKCS #10 self-signature is
    /// verified and the certificate issued with the CA's default profile,
    /// answered with a certs-only response (the certificate and the CA
    /// chain). A failure is a signed Full PKI Response with the failInfo
    /// (RFC 5272 §4.1), bodyList `[0]`.
    ///
    /// # Errors
    /// [`NotCmc`]: an unknown CA, a CA that does not take Simple PKI
    /// Requests, a body that is not PKCS #10 or is too large, or a CA that
    /// cannot sign.
    pub fn handle_simple(
        &self,
        ca: &str,
        body: &[u8],
        transport: &Transport,
    ) -> Result<CmcReply, NotCmc> {
        let ca = self.ca(ca).map_err(|_| NotCmc::UnknownCa(ca.to_owned()))?;
        if !self.config().ca_settings(ca.name()).allow_simple_requests {
            return Err(NotCmc::SimpleRequestsNotAllowed(ca.name().to_owned()));
        }
        let now = self.now();
        // RFC 5272 §6.1.1: a failure of a Simple PKI Request names body
        // part 1, the request itself.
        let fail = |failure: Failure| {
            self.reply(
                &ca,
                &Echo::default(),
                Outcome::default(),
                Some(Refusal {
                    failure,
                    body_list: vec![SIMPLE_BODY_PART],
                    authenticated: false,
                }),
                now,
            )
        };
        let csr = match decode_simple_request(body, &self.config().limits()) {
            Ok(csr) => csr,
            Err(e) if e.is_not_cms() => return Err(not_cms(&e)),
            Err(e) => return fail(codec_failure(&e, ca.name())),
        };
        let request = match cmc_policy::Request::from_cert_req(&csr) {
            Ok(r) => r,
            Err(e) => return fail(Failure::failed(CmcFailInfo::BadRequest, e.to_string())),
        };
        let requester = transport.peer.as_ref().map_or_else(
            || SIMPLE_REQUESTER.to_owned(),
            |p| format!("{SIMPLE_REQUESTER} from {p}"),
        );
        // The profile's approval rules hold for Simple PKI Requests too:
        // the request waits for an agent (or takes a bootstrap
        // auto-approval), and the answer is a Full PKI Response with status
        // pending. The sender cannot authenticate a queryPending; the
        // operator delivers the certificate once approved.
        let profile = self.config().default_profile_name(ca.name());
        let needs_approval = match self.check_profile(ca.name(), &profile) {
            Ok(p) => p.requires_approval(),
            Err(e) => return fail(Failure::from_engine(&e, ca.name(), SIMPLE_BODY_PART)),
        };
        let mut auto_approved = false;
        if needs_approval {
            // Refused now rather than held for an agent to find it refused.
            if let Err(e) = self.precheck(&ca, &profile, &request, &NameScope::profile()) {
                return fail(Failure::from_engine(&e, ca.name(), SIMPLE_BODY_PART));
            }
            match self.store().take_auto_approval(ca.name()) {
                Ok(true) => {
                    auto_approved = true;
                    tracing::info!(
                        ca = ca.name(),
                        requester,
                        "simple request auto-approved (bootstrap)"
                    );
                }
                Ok(false) => {
                    let tagged =
                        TaggedRequest::Tcr(Box::new(cmc_asn1::TaggedCertificationRequest {
                            body_part_id: SIMPLE_BODY_PART,
                            certification_request: csr,
                        }));
                    return match self.hold(&ca, &requester, &profile, &tagged, SIMPLE_BODY_PART) {
                        Ok(info) => self.reply(
                            &ca,
                            &Echo::default(),
                            Outcome {
                                pending: vec![(SIMPLE_BODY_PART, info)],
                                ..Outcome::default()
                            },
                            None,
                            now,
                        ),
                        Err(failure) => fail(failure),
                    };
                }
                Err(e) => {
                    return fail(Failure::from_engine(&e.into(), ca.name(), SIMPLE_BODY_PART));
                }
            }
        }
        let issued = match self.issue_with_ca(&ca, Some(&profile), &request, &requester, body) {
            Ok(i) => i,
            Err(e) => {
                if auto_approved {
                    self.return_auto_approval(&ca);
                }
                return fail(Failure::from_engine(&e, ca.name(), SIMPLE_BODY_PART));
            }
        };
        let mut certs = vec![issued.certificate];
        certs.push(ca.certificate().clone());
        certs.extend(chain(&ca)?);
        let der = certs_only_response(&certs).map_err(|e| {
            tracing::error!(ca = ca.name(), error = %e, "cannot encode a certs-only response");
            NotCmc::Internal
        })?;
        Ok(CmcReply {
            der,
            content_type: CERTS_ONLY_CONTENT_TYPE,
            statuses: vec![PartStatus {
                status: CmcStatus::Success,
                fail_info: None,
                body_list: vec![0],
            }],
            issued: 1,
            authenticated: false,
        })
    }

    /// The message-level checks, then every body part.
    fn process_full(
        &self,
        ca: &LoadedCa,
        request: &FullRequest,
        transport: &Transport,
        now: UnixTime,
    ) -> Result<Outcome, Refusal> {
        let Some(signed) = request.signed() else {
            return self.process_unsigned(ca, request.pki_data(), now);
        };
        let signer = self.identify(ca, signed, transport, now)?;
        self.process_signed(ca, signed, &signer, now)
            .map_err(Refusal::authenticated)
    }

    /// The message-level checks after the signer is known, then every body
    /// part.
    fn process_signed(
        &self,
        ca: &LoadedCa,
        signed: &SignedRequest,
        signer: &Signer,
        now: UnixTime,
    ) -> Result<Outcome, Refusal> {
        self.check_signing_time(signed, now)?;
        let pki_data = &signed.pki_data;
        let ids = body_part_ids(pki_data)?;
        self.check_replay(ca, pki_data, &signer.credential, &signer.requester(), now)?;
        let limits = self.config().requests;
        let max = limits.max_requests_per_pki_data;
        let parts = pki_data.req_sequence.len()
            + pki_data.cms_sequence.len()
            + pki_data.other_msg_sequence.len();
        if parts > max {
            return Err(Refusal::message(
                CmcFailInfo::BadRequest,
                format!("{parts} body parts exceed the limit of {max}"),
            ));
        }
        // A one-time secret vouches for one key and one certificate.
        if matches!(signer.who, Who::Secret { .. }) && pki_data.req_sequence.len() > 1 {
            return Err(Refusal::message(
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
        if !matches!(signer.who, Who::Secret { .. }) {
            refuse_controls(
                pki_data,
                "identityProof and popLink controls are processed only in requests signed with the requested key under a shared secret",
                |oid| SECRET_CONTROLS.contains(oid),
            )?;
        }
        let link_random = pki_data
            .unique_control::<PopLinkRandom>()
            .map_err(|_| {
                Refusal::message(
                    CmcFailInfo::BadRequest,
                    "malformed or repeated popLinkRandom",
                )
            })?
            .map(|(_, r)| r.0.as_bytes().to_vec());
        // An lraPOPWitness whose pkiDataBodyid names a nested PKIData
        // vouches for that PKIData's requests; one that names nothing (the
        // Swedish client sends a random number) for the outer reqSequence.
        let mut witnessed = BTreeSet::new();
        let mut nested_witnessed: BTreeMap<BodyPartId, BTreeSet<BodyPartId>> = BTreeMap::new();
        for (_, w) in pki_data
            .controls_of::<LraPopWitness>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed lraPOPWitness"))?
        {
            if pki_data
                .cms_sequence
                .iter()
                .any(|c| c.body_part_id == w.pki_data_bodyid)
            {
                nested_witnessed
                    .entry(w.pki_data_bodyid)
                    .or_default()
                    .extend(w.body_ids);
            } else {
                witnessed.extend(w.body_ids);
            }
        }
        let transaction_id = transaction_id_of(pki_data);
        let revocations = pki_data
            .controls_of::<RevokeRequest>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed revokeRequest"))?;
        let get_certs = pki_data
            .controls_of::<GetCert>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed getCert"))?;
        let get_crls = pki_data
            .controls_of::<GetCrl>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed getCRL"))?;
        let queries = pki_data
            .controls_of::<QueryPending>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed queryPending"))?;

        let mut decrypted = BTreeMap::new();
        for (_, answer) in pki_data
            .controls_of::<DecryptedPop>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed decryptedPOP"))?
        {
            if decrypted.insert(answer.body_part_id, answer).is_some() {
                return Err(Refusal::message(
                    CmcFailInfo::BadRequest,
                    "two decryptedPOP controls for one request",
                ));
            }
        }
        let mut outcome = Outcome::default();
        let context = PartContext {
            signer: fingerprint(&signer.credential),
            transaction_id: &transaction_id,
            witnessed: &witnessed,
            link_random: link_random.as_deref(),
            decrypted: &decrypted,
        };
        self.certify_all(ca, signer, signed, &ids, &context, &mut outcome);
        for (id, revoke) in revocations {
            match self.revoke_requested(ca, signer, &revoke) {
                Ok(()) => outcome.succeeded.push(id),
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        for (id, get) in get_certs {
            match self.get_cert(ca, &get) {
                Ok(cert) => {
                    outcome.succeeded.push(id);
                    outcome.fetched.push(cert);
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        // One CA, one current CRL: however many getCRL ask for it, the
        // response carries it once.
        for (id, get) in get_crls {
            match self.get_crl(ca, &get, now) {
                Ok(crl) => {
                    outcome.succeeded.push(id);
                    if !outcome.crls.contains(&crl) {
                        outcome.crls.push(crl);
                    }
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        for (id, QueryPending(token)) in queries {
            match self.query_pending(ca, &signer.requester(), token.as_bytes()) {
                Ok(PendingAnswer::Waiting(info)) => outcome.pending.push((id, info)),
                Ok(PendingAnswer::Issued(cert)) => {
                    outcome.succeeded.push(id);
                    outcome.fetched.push(*cert);
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        let batch = pki_data
            .controls_of::<BatchRequests>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed batchRequests"))?;
        let batched: BTreeSet<BodyPartId> = batch
            .iter()
            .flat_map(|(_, b)| b.0.iter().copied())
            .collect();
        if let Some(stray) = batched
            .iter()
            .find(|id| !pki_data.cms_sequence.iter().any(|c| c.body_part_id == **id))
        {
            return Err(Refusal::message(
                CmcFailInfo::BadRequest,
                format!("batchRequests names {stray}, which is not in cmsSequence"),
            ));
        }
        outcome.batch = !batch.is_empty();
        for tagged in &pki_data.cms_sequence {
            let id = tagged.body_part_id;
            let witnessed = nested_witnessed.remove(&id).unwrap_or_default();
            match self.nested(ca, signer, tagged, &witnessed, &budget, now) {
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

    /// signingTime present and within `signing_time_window_secs`, else
    /// badTime.
    fn check_signing_time(&self, signed: &SignedRequest, now: UnixTime) -> Result<(), Refusal> {
        let window = self.config().requests.signing_time_window_secs;
        match signed.signer().signing_time().map(UnixTime::from) {
            Some(t) if (t.secs() - now.secs()).abs() <= window => Ok(()),
            Some(_) => Err(Refusal::message(
                CmcFailInfo::BadTime,
                "signingTime is outside the allowed window",
            )),
            None => Err(Refusal::message(
                CmcFailInfo::BadTime,
                "the request has no signingTime",
            )),
        }
    }

    /// Every certification request of `signed`: POP, the signer's right,
    /// issuance; each gets its own entry in `outcome`.
    fn certify_all(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        signed: &SignedRequest,
        ids: &[BodyPartId],
        context: &PartContext<'_>,
        outcome: &mut Outcome,
    ) {
        let requests = signed.pki_data.req_sequence.iter().zip(signed.pops());
        for ((tagged, (_, pop)), id) in requests.zip(ids.iter().copied()) {
            match self.certify(ca, signer, tagged, pop, id, context) {
                Ok(Certified::Issued(cert)) => {
                    outcome.succeeded.push(id);
                    outcome.issued.push(*cert);
                }
                Ok(Certified::Held(info)) => outcome.pending.push((id, info)),
                Ok(Certified::Challenge(challenge)) => {
                    outcome.failed.push((
                        Failure::pop_required(
                            "decrypt the encryptedPOP challenge and send decryptedPOP",
                        ),
                        id,
                    ));
                    outcome.challenges.push(*challenge);
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
    }

    /// One cmsSequence item of an RA's request: a Full PKI Request of an
    /// end entity (RFC 5272 §3.2.1.3.1, §7.1), whose signature is verified
    /// and whose certification requests are then processed under the RA's
    /// authority (the RA vouches for the end entity's identity; each
    /// request still proves possession of its key). The answer is a signed
    /// PKIResponse to that PKIData, for the response's cmsSequence.
    fn nested(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        tagged: &TaggedContentInfo,
        witnessed: &BTreeSet<BodyPartId>,
        budget: &std::cell::Cell<usize>,
        now: UnixTime,
    ) -> Result<NestedReply, Failure> {
        let is_ra = matches!(&signer.who, Who::Client(c) if c.role == ClientRole::Ra);
        if !is_ra {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                "only an RA may submit nested requests",
            ));
        }
        if tagged.content_info.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
            return Err(Failure::no_support(
                "only signed nested requests (SignedData) are processed",
            ));
        }
        let der = tagged.content_info.to_der().map_err(|e| {
            Failure::from_engine(&crate::Error::encode("nested request", e), ca.name(), 0)
        })?;
        let inner = match decode_full_request(
            &der,
            &VerifyOptions::new(now.to_system_time()).with_limits(self.config().limits()),
        ) {
            Ok(FullRequest::Signed(inner)) => inner,
            Ok(FullRequest::Unsigned(_)) => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "a nested request must be signed",
                ));
            }
            Err(e) if e.is_not_cms() => {
                return Err(Failure::failed(CmcFailInfo::BadRequest, e.to_string()));
            }
            Err(e) => return Err(codec_failure(&e, ca.name())),
        };
        let inner_parts = inner.pki_data.req_sequence.len()
            + inner.pki_data.cms_sequence.len()
            + inner.pki_data.other_msg_sequence.len();
        let Some(left) = budget.get().checked_sub(inner_parts) else {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                format!(
                    "the nested requests exceed the limit of {} requests in one PKIData",
                    self.config().requests.max_requests_per_pki_data
                ),
            ));
        };
        budget.set(left);
        let echo = Echo::of(&inner.pki_data);
        let (outcome, refusal) = match self.process_inner(ca, signer, &inner, witnessed, now) {
            Ok(outcome) => (outcome, None),
            Err(refusal) => (Outcome::default(), Some(refusal)),
        };
        let issued = outcome.issued.len();
        let reply = self
            .reply(ca, &echo, outcome, refusal, now)
            .map_err(|_| Failure::failed(CmcFailInfo::InternalCaError, "internal CA error"))?;
        let content_info = ContentInfo::from_der(&reply.der).map_err(|e| {
            Failure::from_engine(&crate::Error::encode("nested response", e), ca.name(), 0)
        })?;
        Ok(NestedReply {
            content_info,
            issued,
        })
    }

    /// The PKIData of a nested request: signingTime, body part ids, its
    /// senderNonce (remembered per end-entity signer), the controls a
    /// nested request may carry, then its certification requests. Deeper
    /// nesting and other messages are noSupport.
    fn process_inner(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        inner: &SignedRequest,
        witnessed: &BTreeSet<BodyPartId>,
        now: UnixTime,
    ) -> Result<Outcome, Refusal> {
        self.check_signing_time(inner, now)?;
        let pki_data = &inner.pki_data;
        let ids = body_part_ids(pki_data)?;
        check_control_limits(pki_data, &self.config().requests)?;
        refuse_controls(pki_data, "unsupported control in a nested request", |oid| {
            !NESTED_CONTROLS.contains(oid)
        })?;
        let credential = match inner.signer().certificate() {
            Some(cert) => cert.to_der(),
            None => inner.signer().public_key.to_der(),
        }
        .map_err(|e| Refusal::internal(ca.name(), &crate::Error::encode("signer", e)))?;
        self.check_replay(ca, pki_data, &credential, "nested end entity", now)?;
        let mut outcome = Outcome::default();
        let decrypted = BTreeMap::new();
        let transaction_id = transaction_id_of(pki_data);
        let context = PartContext {
            signer: fingerprint(&credential),
            transaction_id: &transaction_id,
            witnessed,
            link_random: None,
            decrypted: &decrypted,
        };
        self.certify_all(ca, signer, inner, &ids, &context, &mut outcome);
        for id in pki_data
            .cms_sequence
            .iter()
            .map(|c| c.body_part_id)
            .chain(pki_data.other_msg_sequence.iter().map(|o| o.body_part_id))
        {
            outcome.failed.push((
                Failure::no_support("nesting deeper than one level is not supported"),
                id,
            ));
        }
        Ok(outcome)
    }

    /// Who signed: a registered, active client allowed on this CA; the
    /// holder of a valid certificate of this CA; or, for a request signed
    /// with the requested key, the holder of an enrollment secret.
    fn identify(
        &self,
        ca: &LoadedCa,
        signed: &SignedRequest,
        transport: &Transport,
        now: UnixTime,
    ) -> Result<Signer, Refusal> {
        let bad_identity = |why: &str| {
            tracing::info!(ca = ca.name(), why, "CMC signer refused");
            Refusal::message(CmcFailInfo::BadIdentity, "the signer is not authorised")
        };
        let Some(cert) = signed.signer().certificate() else {
            return self.secret_holder(ca, signed, now);
        };
        let cert_der = cert
            .to_der()
            .map_err(|e| Refusal::internal(ca.name(), &crate::Error::encode("certificate", e)))?;
        if transport
            .tls_client_cert
            .as_ref()
            .is_some_and(|tls| *tls != cert_der)
        {
            return Err(bad_identity(
                "the TLS client certificate is not the CMS signer",
            ));
        }
        let Some(client) = self
            .store()
            .get_client_by_fingerprint(&fingerprint(&cert_der))
            .map_err(|e| Refusal::internal(ca.name(), &e.into()))?
        else {
            return self
                .holder(ca, cert, cert_der)?
                .ok_or_else(|| bad_identity("neither a registered client nor a holder"));
        };
        // An action the role permits, so that `decide` goes on to check the
        // CA grant; the profile and the action of each body part are
        // checked with that part.
        let action = match client.role {
            ClientRole::Agent => Action::Revoke,
            _ => Action::Enroll,
        };
        let profile = self.config().default_profile_name(ca.name());
        match self
            .authorize(&cert_der, ca.name(), &profile, action)
            .map_err(|e| Refusal::internal(ca.name(), &e))?
        {
            Decision::Allowed(_)
            | Decision::Denied(
                DenyReason::WrongRole { .. } | DenyReason::ProfileNotGranted { .. },
            ) => Ok(Signer {
                credential: cert_der,
                who: Who::Client(client),
            }),
            Decision::Denied(reason) => Err(bad_identity(&reason.to_string())),
        }
    }

    /// The signer as the holder of a certificate this CA issued: the very
    /// certificate is stored, issued and not revoked (or on hold).
    fn holder(
        &self,
        ca: &LoadedCa,
        cert: &Certificate,
        cert_der: Vec<u8>,
    ) -> Result<Option<Signer>, Refusal> {
        if cert.tbs_certificate().issuer() != ca.subject() {
            return Ok(None);
        }
        let Ok(serial) = store_serial(cert.tbs_certificate().serial_number()) else {
            return Ok(None);
        };
        let record = self
            .store()
            .get_cert(ca.name(), &serial)
            .map_err(|e| Refusal::internal(ca.name(), &e.into()))?;
        let Some(record) = record else {
            return Ok(None);
        };
        match (record.certificate(), record.revocation()) {
            (Some(issued), None) if issued.cert_der == cert_der => Ok(Some(Signer {
                credential: cert_der,
                who: Who::Holder {
                    serial,
                    cert: Box::new(cert.clone()),
                    profile: record.profile.clone(),
                },
            })),
            _ => Ok(None),
        }
    }

    /// The signer of a request signed with the requested key (sid = its
    /// subjectKeyIdentifier): the holder of the enrollment secret that its
    /// identification control names, if the identityProofV2 (or, where
    /// SHA-1 is allowed, identityProof) witness over the reqSequence as
    /// received verifies with that secret's key. A wrong witness counts
    /// towards the secret's lockout. The secret is spent later, by the
    /// first certificate issued under it ([`Engine::spend`]). A spent
    /// secret still authenticates a PKIData that only asks queryPending.
    fn secret_holder(
        &self,
        ca: &LoadedCa,
        signed: &SignedRequest,
        now: UnixTime,
    ) -> Result<Signer, Refusal> {
        let pki_data = &signed.pki_data;
        let refuse = |fail_info, text: &str| Refusal::message(fail_info, text.to_owned());
        // One message for every way the proof can fail before it verified,
        // so that an outsider learns nothing about which identifications
        // exist; the log says which.
        let no_proof = |why: &str| {
            tracing::info!(ca = ca.name(), why, "shared-secret identity proof refused");
            refuse(
                CmcFailInfo::BadIdentity,
                "the identity proof does not verify",
            )
        };
        let identification = pki_data.unique_control::<Identification>().map_err(|_| {
            refuse(
                CmcFailInfo::BadRequest,
                "malformed or repeated identification",
            )
        })?;
        let v2 = pki_data.unique_control::<IdentityProofV2>().map_err(|_| {
            refuse(
                CmcFailInfo::BadRequest,
                "malformed or repeated identityProofV2",
            )
        })?;
        let v1 = pki_data.unique_control::<IdentityProof>().map_err(|_| {
            refuse(
                CmcFailInfo::BadRequest,
                "malformed or repeated identityProof",
            )
        })?;
        let (hash, witness) = match (v2, v1) {
            (Some((_, proof)), None) => (
                proof_family(&proof.proof_alg_id, &proof.mac_alg_id)
                    .map_err(|e| refuse(CmcFailInfo::BadAlg, &format!("identityProofV2: {e}")))?,
                proof.witness,
            ),
            (None, Some((_, proof))) => (ProofHash::Sha1, proof.0),
            (Some(_), Some(_)) => {
                return Err(refuse(
                    CmcFailInfo::BadRequest,
                    "identityProof and identityProofV2 together",
                ));
            }
            (None, None) => {
                return Err(refuse(
                    CmcFailInfo::BadIdentity,
                    "a request signed with its own key needs identification and identityProofV2",
                ));
            }
        };
        let Some((_, Identification(identification))) = identification else {
            return Err(refuse(
                CmcFailInfo::BadIdentity,
                "an identityProofV2 needs an identification control naming the shared secret",
            ));
        };
        if hash == ProofHash::Sha1
            && !self
                .config()
                .ca_settings(ca.name())
                .allow_sha1_identity_proof
        {
            return Err(refuse(
                CmcFailInfo::BadAlg,
                "this CA does not accept SHA-1 identity proofs",
            ));
        }
        let req_sequence = req_sequence_der(&signed.econtent)
            .map_err(|e| refuse(CmcFailInfo::BadRequest, &e.to_string()))?;
        let record = self
            .store()
            .get_secret(ca.name(), &identification)
            .map_err(|e| Refusal::internal(ca.name(), &e.into()))?;
        // The same work for every identification, known or not: one HMAC
        // (under a throwaway key when there is no usable secret) and one
        // failure count, so that neither the answer nor its timing tells
        // which identifications exist. The store counts failures of known
        // identifications only; a locked secret takes no more guesses.
        let why_not = match &record {
            None => Some("unknown identification".to_owned()),
            Some(r) if r.purpose != SecretPurpose::Enroll => {
                Some("the secret is not an enrollment secret".to_owned())
            }
            Some(r) if r.locked => Some("the secret is locked".to_owned()),
            Some(r) if r.hash_alg != hash.name() => Some(format!(
                "the proof uses {hash}, the secret was registered for {}",
                r.hash_alg
            )),
            Some(_) => None,
        };
        let was_locked = record.as_ref().is_some_and(|r| r.locked);
        let key = match (&record, &why_not) {
            (Some(r), None) => r.derived_key.clone(),
            _ => vec![0; 32],
        };
        let verified =
            hash.verify_hmac(&key, req_sequence, witness.as_bytes()) && why_not.is_none();
        let record = match record {
            Some(record) if verified => record,
            _ => {
                let lock_after = self.config().requests.secret_lock_after;
                match self
                    .store()
                    .record_secret_failure(ca.name(), &identification, lock_after)
                {
                    Ok(failures) if failures.locked && !was_locked => {
                        tracing::warn!(ca = ca.name(), identification = %identification,
                            attempts = failures.failed_attempts, "enrollment secret locked");
                        self.audit_secret_locked(
                            ca,
                            &identification,
                            failures.failed_attempts,
                            now,
                        );
                    }
                    Ok(_) | Err(cmc_store::Error::NotFound(_)) => {}
                    Err(e) => return Err(Refusal::internal(ca.name(), &e.into())),
                }
                return Err(no_proof(
                    why_not.as_deref().unwrap_or("the witness does not verify"),
                ));
            }
        };
        // The caller knows the secret: it may learn why it cannot be used.
        // A spent secret still fetches the certificate it was spent on
        // (a request held for approval and then approved): a PKIData that
        // only asks queryPending.
        let query_only = only_queries(pki_data);
        match record.unusable_at(now) {
            None => {}
            Some(cmc_store::Error::SecretUsed) if query_only => {}
            Some(e) => {
                tracing::info!(ca = ca.name(), identification = %identification, error = %e,
                    "shared secret not usable");
                return Err(refuse(CmcFailInfo::BadIdentity, &e.to_string()));
            }
        }
        let credential =
            signed.signer().public_key.to_der().map_err(|e| {
                Refusal::internal(ca.name(), &crate::Error::encode("public key", e))
            })?;
        Ok(Signer {
            credential,
            who: Who::Secret {
                record: Box::new(record),
                hash,
                spent: std::cell::Cell::new(false),
            },
        })
    }

    /// Spends the enrollment secret of a shared-secret signer right before
    /// its first certificate is signed (once: of concurrent requests with
    /// one secret, one gets it). Returns the time it was spent at when this
    /// call spent it, so that a failed issuance gives it back
    /// ([`Engine::give_back`]); `None` when this PKIData had already spent
    /// it, or the signer holds no secret.
    fn spend(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        id: BodyPartId,
    ) -> Result<Option<UnixTime>, Failure> {
        let Who::Secret { record, spent, .. } = &signer.who else {
            return Ok(None);
        };
        if spent.get() {
            return Ok(None);
        }
        let now = self.now();
        match self
            .store()
            .consume_secret(ca.name(), &record.identification, now)
        {
            Ok(_) => {
                spent.set(true);
                Ok(Some(now))
            }
            Err(
                e @ (cmc_store::Error::SecretUsed
                | cmc_store::Error::SecretLocked
                | cmc_store::Error::SecretExpired),
            ) => Err(Failure::failed(CmcFailInfo::BadIdentity, e.to_string())),
            Err(e) => Err(Failure::from_engine(&e.into(), ca.name(), id)),
        }
    }

    /// Gives back a secret [`Engine::spend`] spent at `at` for an issuance
    /// that failed: nothing was issued, so the holder may try again.
    fn give_back(&self, ca: &LoadedCa, signer: &Signer, at: UnixTime) {
        let Who::Secret { record, spent, .. } = &signer.who else {
            return;
        };
        match self
            .store()
            .release_secret(ca.name(), &record.identification, at)
        {
            Ok(()) => spent.set(false),
            Err(e) => tracing::error!(ca = ca.name(), identification = record.identification,
                error = %e, "cannot give back a secret after a failed issuance"),
        }
    }

    /// Audits the locking of a secret (best effort, like refusals).
    fn audit_secret_locked(
        &self,
        ca: &LoadedCa,
        identification: &str,
        attempts: u32,
        now: UnixTime,
    ) {
        let detail = serde_json::json!({
            "identification": identification,
            "failed_attempts": attempts,
        });
        let event = cmc_store::AuditEvent {
            at: now,
            kind: cmc_store::AuditKind::SecretLocked,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile: None,
            requester: Some(format!("{SECRET_PREFIX}{identification}")),
            outcome: cmc_store::Outcome::Failure,
            detail: detail.to_string(),
        };
        if let Err(e) = self.store().append_audit(&event) {
            tracing::error!(ca = ca.name(), error = %e, "cannot audit a locked secret");
        }
    }

    /// senderNonce (remembered per signer) and transactionId.
    fn check_replay(
        &self,
        ca: &LoadedCa,
        pki_data: &PkiData,
        credential: &[u8],
        requester: &str,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let requests = self.config().requests;
        let fp = fingerprint(credential);
        let malformed = |what: &str| Refusal::message(CmcFailInfo::BadRequest, what);
        let nonces = pki_data
            .controls_of::<SenderNonce>()
            .map_err(|_| malformed("malformed senderNonce"))?;
        if nonces.len() > 1 {
            return Err(malformed("more than one senderNonce"));
        }
        if let Some((_, nonce)) = nonces.first() {
            let expires = now.plus_secs(requests.nonce_lifetime_secs);
            match self
                .store()
                .remember_nonce(&fp, nonce.0.as_bytes(), expires, now)
            {
                Ok(()) => {}
                Err(cmc_store::Error::Replay) => {
                    tracing::warn!(ca = ca.name(), client = requester, "replayed senderNonce");
                    return Err(malformed("replayed senderNonce"));
                }
                Err(cmc_store::Error::Invalid(_)) => return Err(malformed("unusable senderNonce")),
                Err(e) => return Err(Refusal::internal(ca.name(), &e.into())),
            }
        }
        let transaction = pki_data
            .unique_control::<TransactionId>()
            .map_err(|_| malformed("malformed or repeated transactionId"))?;
        if let Some((_, id)) = transaction {
            let expires = now.plus_secs(requests.transaction_lifetime_secs);
            match self
                .store()
                .open_transaction(&fp, id.0.as_bytes(), expires, now)
            {
                Ok(_) => {}
                Err(cmc_store::Error::Invalid(_)) => {
                    return Err(malformed("unusable transactionId"));
                }
                Err(e) => return Err(Refusal::internal(ca.name(), &e.into())),
            }
        }
        Ok(())
    }

    /// The profile a client gets on this CA: the CA's default when the
    /// client is granted it, else the first profile both allow.
    fn profile_for(&self, ca: &str, client: &ClientRecord) -> String {
        let default = self.config().default_profile_name(ca);
        if client.may_use(ca, &default) {
            return default;
        }
        let settings = self.config().ca_settings(ca);
        self.config()
            .profiles
            .names()
            .filter(|p| settings.profiles.is_empty() || settings.profiles.iter().any(|s| s == p))
            .find(|p| client.may_use(ca, p))
            .map_or(default, str::to_owned)
    }

    /// One certification request: POP, who may ask for it, issuance.
    fn certify(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        tagged: &TaggedRequest,
        pop: cmc_codec::Result<Pop>,
        id: BodyPartId,
        context: &PartContext<'_>,
    ) -> Result<Certified, Failure> {
        let is_ra = matches!(&signer.who, Who::Client(c) if c.role == ClientRole::Ra);
        let pop_failed = |text: &str| Failure::failed(CmcFailInfo::PopFailed, text);
        // A key that cannot sign proves possession by decrypting (§6.7).
        let mut decrypts = false;
        match pop {
            Ok(Pop::Pkcs10Signature | Pop::CrmfSignature { sender: None }) => {}
            // RFC 5272 §3.2.1.2.2: the template always has subject and
            // publicKey, so POPOSigningKeyInput (and its authInfo) is
            // never used in CMC; the codec refuses it for a complete
            // template, and an incomplete one is refused below.
            Ok(Pop::CrmfSignature { sender: Some(_) }) => {
                return Err(pop_failed(
                    "POPOSigningKeyInput is not used in CMC (RFC 5272 §3.2.1.2.2)",
                ));
            }
            Ok(Pop::KeyEncipherment | Pop::KeyAgreement | Pop::Pkcs10NoSignature) => {
                decrypts = true;
            }
            Ok(Pop::RaVerified) if is_ra => {}
            Ok(Pop::RaVerified) => {
                return Err(pop_failed("raVerified is accepted from an RA only"));
            }
            Ok(Pop::Absent) if is_ra && context.witnessed.contains(&id) => {}
            Ok(Pop::Absent) => {
                return Err(pop_failed(
                    "no proof of possession, and no lraPOPWitness from an RA names this request",
                ));
            }
            Ok(Pop::OtherRequest) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
            Ok(_) => {
                return Err(Failure::no_support(
                    "this proof of possession is not supported",
                ));
            }
            Err(e) => return Err(codec_failure(&e, ca.name())),
        }
        let request = match tagged {
            TaggedRequest::Tcr(tcr) => {
                cmc_policy::Request::from_cert_req(&tcr.certification_request)
            }
            TaggedRequest::Crm(crm) if crm.cert_req.cert_template.subject.is_none() => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "a CRMF template in CMC has a subject (it may be empty) and a publicKey (RFC 5272 §3.2.1.2.2)",
                ));
            }
            TaggedRequest::Crm(crm) => {
                cmc_policy::Request::from_cert_template(&crm.cert_req.cert_template)
            }
            TaggedRequest::Orm(_) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
        }
        .map_err(|e| Failure::failed(CmcFailInfo::BadRequest, e.to_string()))?;
        let (profile, requester) = match &signer.who {
            Who::Client(client) => {
                let profile = self.profile_for(ca.name(), client);
                // RAs and agents ask for others; end entities for themselves.
                let action = if matches!(client.role, ClientRole::Ra | ClientRole::Agent) {
                    Action::EnrollOnBehalf
                } else {
                    Action::Enroll
                };
                match self.authorize(&signer.credential, ca.name(), &profile, action) {
                    Ok(Decision::Allowed(_)) => {}
                    Ok(Decision::Denied(reason)) => {
                        tracing::info!(ca = ca.name(), client = client.id, %reason,
                            body_part = id, "certification request not permitted");
                        return Err(Failure::failed(
                            CmcFailInfo::BadRequest,
                            "the signer may not make this request",
                        ));
                    }
                    Err(e) => return Err(Failure::from_engine(&e, ca.name(), id)),
                }
                (profile, client.id.clone())
            }
            Who::Secret { record, hash, .. } => {
                let profile = record
                    .profile
                    .clone()
                    .unwrap_or_else(|| self.config().default_profile_name(ca.name()));
                // RFC 5272 §6.3.1: the server MUST check the witness; a
                // request authenticated by a shared secret is linked to
                // its identity proof, whatever the profile says.
                check_pop_link(record, *hash, tagged, context.link_random)?;
                (profile, signer.requester())
            }
            Who::Holder { cert, profile, .. } => {
                let profile = self.renewal_profile(ca.name(), profile);
                let allows_reuse = self
                    .check_profile(ca.name(), &profile)
                    .map_err(|e| Failure::from_engine(&e, ca.name(), id))?
                    .allows_key_reuse();
                check_renewal(cert, &request, allows_reuse)?;
                (profile, signer.requester())
            }
        };
        if decrypts {
            if let Some(challenge) = self.pop_round(ca, tagged, &request, id, context)? {
                return Ok(Certified::Challenge(Box::new(challenge)));
            }
        }
        let needs_approval = self
            .check_profile(ca.name(), &profile)
            .map_err(|e| Failure::from_engine(&e, ca.name(), id))?
            .requires_approval();
        let names = signer.names();
        let mut auto_approved = false;
        if needs_approval {
            // Refused now rather than held for an agent to find it refused.
            self.precheck(ca, &profile, &request, &names)
                .map_err(|e| Failure::from_engine(&e, ca.name(), id))?;
            // The CA's bootstrap auto-approvals (`ca init --auto-approve`)
            // issue the first requests without an agent.
            auto_approved = self
                .store()
                .take_auto_approval(ca.name())
                .map_err(|e| Failure::from_engine(&e.into(), ca.name(), id))?;
            if !auto_approved {
                if matches!(signer.who, Who::Secret { .. })
                    && self
                        .store()
                        .count_pending_for_client(&requester)
                        .map_err(|e| Failure::from_engine(&e.into(), ca.name(), id))?
                        > 0
                {
                    return Err(Failure::failed(
                        CmcFailInfo::BadRequest,
                        "a request made with this secret is waiting for approval: ask with queryPending",
                    ));
                }
                return self
                    .hold(ca, &requester, &profile, tagged, id)
                    .map(Certified::Held);
            }
            tracing::info!(
                ca = ca.name(),
                client = requester,
                body_part = id,
                "request auto-approved (bootstrap)"
            );
        }
        let der = tagged.to_der().map_err(|e| {
            Failure::from_engine(&crate::Error::encode("request", e), ca.name(), id)
        })?;
        // A one-time secret is spent on the certificate it gets, not
        // before: a refusal, a challenge round or a held request leave it
        // usable (a failed issuance gives it back).
        let spent = match self.spend(ca, signer, id) {
            Ok(spent) => spent,
            Err(failure) => {
                if auto_approved {
                    self.return_auto_approval(ca);
                }
                return Err(failure);
            }
        };
        self.issue_for(ca, Some(&profile), &request, &requester, &names, &der)
            .map(|issued| Certified::Issued(Box::new(issued.certificate)))
            .map_err(|e| {
                if let Some(at) = spent {
                    self.give_back(ca, signer, at);
                }
                if auto_approved {
                    self.return_auto_approval(ca);
                }
                Failure::from_engine(&e, ca.name(), id)
            })
    }

    /// Gives back a bootstrap auto-approval taken for a request whose
    /// issuance failed: a refused request does not use up the operator's
    /// grant.
    fn return_auto_approval(&self, ca: &LoadedCa) {
        if let Err(e) = self.store().return_auto_approval(ca.name()) {
            tracing::error!(ca = ca.name(), error = %e, "cannot give back an auto-approval");
        }
    }

    /// The encryptedPOP rounds of RFC 5272 §6.7 for a request whose key
    /// cannot sign. Without a decryptedPOP for it: the challenge (an
    /// EnvelopedData to the requested RSA key), to be answered with status
    /// popRequired. With one: `None` if thePOP = HMAC-SHA256(challenge,
    /// request) verifies, else popFailed. The challenge is recomputed from
    /// the request, never stored.
    fn pop_round(
        &self,
        ca: &LoadedCa,
        tagged: &TaggedRequest,
        request: &cmc_policy::Request,
        id: BodyPartId,
        context: &PartContext<'_>,
    ) -> Result<Option<EncryptedPop>, Failure> {
        let internal = |e: crate::Error| Failure::from_engine(&e, ca.name(), id);
        let request_der = match tagged {
            TaggedRequest::Tcr(tcr) => tcr.certification_request.to_der(),
            TaggedRequest::Crm(crm) => crm.to_der(),
            TaggedRequest::Orm(_) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
        }
        .map_err(|e| internal(crate::Error::encode("request", e)))?;
        let binding = PopBinding {
            ca: ca.name(),
            signer: &context.signer,
            transaction_id: context.transaction_id,
        };
        let period = self.pop_period(self.now());
        if let Some(answer) = context.decrypted.get(&id) {
            if ProofHash::from_hmac_oid(&answer.the_pop_alg_id.oid) != Some(ProofHash::Sha256) {
                return Err(Failure::failed(
                    CmcFailInfo::BadAlg,
                    "thePOPAlgID must be the hmacWithSHA256 of the encryptedPOP",
                ));
            }
            // Made in this period or the last one, for this signer and
            // transaction.
            for made in [period, period - 1] {
                let challenge = self
                    .pop_challenge(&binding, made, &request_der)
                    .map_err(internal)?;
                if envelope::verify_the_pop(&challenge, &request_der, answer.the_pop.as_bytes()) {
                    return Ok(None);
                }
            }
            return Err(Failure::failed(
                CmcFailInfo::PopFailed,
                "the decryptedPOP does not verify (wrong, expired, or from another signer or transaction)",
            ));
        }
        let challenge = self
            .pop_challenge(&binding, period, &request_der)
            .map_err(internal)?;
        let cms = match envelope::envelop_challenge(&request.public_key, id, &challenge) {
            Ok(cms) => cms,
            Err(cmc_codec::Error::BadPublicKey(why)) => {
                return Err(Failure::no_support(format!(
                    "this key cannot prove possession: {why}"
                )));
            }
            Err(e) => return Err(codec_failure(&e, ca.name())),
        };
        let witness = OctetString::new(envelope::challenge_witness(&challenge))
            .map_err(|e| internal(crate::Error::encode("witness", e)))?;
        Ok(Some(EncryptedPop {
            request: tagged.clone(),
            cms,
            the_pop_alg_id: ProofHash::Sha256.hmac_algorithm(),
            witness_alg_id: ProofHash::Sha256.digest_algorithm(),
            witness,
        }))
    }

    /// The profile a renewal gets: the one the signing certificate was
    /// issued with while this CA still issues with it, else the CA's
    /// default.
    fn renewal_profile(&self, ca: &str, issued_with: &str) -> String {
        if self.check_profile(ca, issued_with).is_ok() {
            issued_with.to_owned()
        } else {
            self.config().default_profile_name(ca)
        }
    }

    /// One revokeRequest control.
    fn revoke_requested(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        revoke: &RevokeRequest,
    ) -> Result<(), Failure> {
        let bad_cert_id =
            || Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA");
        let serial = store_serial(&revoke.serial_number).ok();
        let record = match &serial {
            Some(s) if &revoke.issuer_name == ca.subject() => self
                .store()
                .get_cert(ca.name(), s)
                .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?
                .filter(|r| r.certificate().is_some()),
            _ => None,
        };
        // Authorised first, so that the answer does not tell an outsider
        // which serials exist.
        let requester = signer.requester();
        let refused = |why: &str| {
            tracing::info!(
                ca = ca.name(),
                client = requester,
                why,
                "revocation not permitted"
            );
            Failure::failed(
                CmcFailInfo::BadRequest,
                "the signer may not revoke this certificate",
            )
        };
        // Every signer may revoke the very certificate it signs with.
        let own = record
            .as_ref()
            .and_then(|r| r.certificate())
            .is_some_and(|c| c.cert_der == signer.credential);
        let may_lift_hold = match &signer.who {
            Who::Client(client) => {
                let profile = record.as_ref().map_or_else(
                    || self.config().default_profile_name(ca.name()),
                    |r| r.profile.clone(),
                );
                if !own {
                    match self.authorize(&signer.credential, ca.name(), &profile, Action::Revoke) {
                        Ok(Decision::Allowed(_)) => {}
                        Ok(Decision::Denied(reason)) => return Err(refused(&reason.to_string())),
                        Err(e) => return Err(Failure::from_engine(&e, ca.name(), 0)),
                    }
                    // A credential, a CA or a responder certificate is
                    // revoked by an operator, an agent or its own key; an
                    // RA's authority covers end entities only.
                    if client.role != ClientRole::Agent
                        && record
                            .as_ref()
                            .map_or(Ok(false), |r| self.is_infrastructure(r))
                            .map_err(|e| Failure::from_engine(&e, ca.name(), 0))?
                    {
                        return Err(refused(
                            "an RA may not revoke a credential, CA or responder certificate",
                        ));
                    }
                }
                matches!(client.role, ClientRole::Ra | ClientRole::Agent)
            }
            // A holder revokes the certificate that signs the request, and
            // nothing else (RFC 5272 §6.11: the signer proves it holds the
            // key of what it revokes). Subjects prove nothing: they are
            // not bound to one holder.
            Who::Holder { .. } => {
                if !own {
                    return Err(refused(
                        "a holder may revoke only the certificate that signs",
                    ));
                }
                false
            }
            // An enrollment secret proves who may enroll, not who may
            // revoke.
            Who::Secret { .. } => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "an enrollment secret does not authorise revocation",
                ));
            }
        };
        let (Some(record), Some(serial)) = (record, serial) else {
            return Err(bad_cert_id());
        };
        self.apply_revocation(
            ca,
            &record.serial,
            &serial,
            revoke,
            &requester,
            may_lift_hold,
        )
    }

    /// Revokes (or, for removeFromCRL from an RA or agent, lifts the hold
    /// of) a certificate of this CA whose revocation is authorised.
    fn apply_revocation(
        &self,
        ca: &LoadedCa,
        stored: &cmc_store::Serial,
        serial: &cmc_store::Serial,
        revoke: &RevokeRequest,
        requester: &str,
        may_lift_hold: bool,
    ) -> Result<(), Failure> {
        let reason = u8::try_from(revoke.reason as u32)
            .ok()
            .and_then(|c| RevocationReason::from_code(c).ok())
            .ok_or_else(|| {
                Failure::failed(CmcFailInfo::BadRequest, "unusable revocation reason")
            })?;
        if reason == RevocationReason::RemoveFromCrl {
            if !may_lift_hold {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "only an RA or agent may lift a certificateHold",
                ));
            }
            return match self.unrevoke(ca.name(), stored, requester) {
                Ok(()) => {
                    tracing::info!(ca = ca.name(), serial = %serial, client = requester, "hold lifted by CMC request");
                    Ok(())
                }
                Err(crate::Error::Store(
                    cmc_store::Error::InvalidState(_) | cmc_store::Error::NotFound(_),
                )) => Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "the certificate is not on hold",
                )),
                Err(e) => Err(Failure::from_engine(&e, ca.name(), 0)),
            };
        }
        let invalidity = revoke
            .invalidity_date
            .map(|t| UnixTime::from_system_time(t.to_system_time()));
        self.revoke(ca.name(), stored, reason, invalidity, requester)
            .map(|_| ())
            .map_err(|e| Failure::from_engine(&e, ca.name(), 0))?;
        tracing::info!(ca = ca.name(), serial = %serial, client = requester, "revoked by CMC request");
        Ok(())
    }

    /// An unsigned Full PKI Request: only revokeRequests that each carry
    /// the revocation secret registered for their certificate (RFC 5272
    /// §6.11), with the usual echo controls. Anything else proves no
    /// identity.
    fn process_unsigned(
        &self,
        ca: &LoadedCa,
        pki_data: &PkiData,
        now: UnixTime,
    ) -> Result<Outcome, Refusal> {
        let revocations = pki_data
            .controls_of::<RevokeRequest>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed revokeRequest"))?;
        let only_revocations = !revocations.is_empty()
            && pki_data.req_sequence.is_empty()
            && pki_data.cms_sequence.is_empty()
            && pki_data.other_msg_sequence.is_empty();
        if !only_revocations {
            return Err(Refusal::message(
                CmcFailInfo::BadIdentity,
                "an unsigned request proves no identity: sign it (with the requested key and identityProofV2 for a first certificate); only a revokeRequest with its revocation secret may be unsigned",
            ));
        }
        body_part_ids(pki_data)?;
        check_control_limits(pki_data, &self.config().requests)?;
        refuse_controls(
            pki_data,
            "unsupported control in an unsigned request",
            |oid| !UNSIGNED_CONTROLS.contains(oid),
        )?;
        let mut outcome = Outcome::default();
        for (id, revoke) in revocations {
            match self.revoke_by_secret(ca, &revoke, now) {
                Ok(()) => outcome.succeeded.push(id),
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        Ok(outcome)
    }

    /// One unsigned revokeRequest: its passphrase (sharedSecret) must
    /// hash to the revocation secret registered for that certificate; a
    /// wrong one counts towards the secret's lockout. The secret is spent
    /// by the revocation.
    fn revoke_by_secret(
        &self,
        ca: &LoadedCa,
        revoke: &RevokeRequest,
        now: UnixTime,
    ) -> Result<(), Failure> {
        let refused = |why: &str| {
            tracing::info!(ca = ca.name(), why, "unsigned revocation refused");
            Failure::failed(
                CmcFailInfo::BadIdentity,
                "the revocation secret does not verify",
            )
        };
        let Some(passphrase) = &revoke.passphrase else {
            return Err(Failure::failed(
                CmcFailInfo::BadIdentity,
                "an unsigned revokeRequest needs the certificate's revocation secret",
            ));
        };
        let serial = store_serial(&revoke.serial_number).map_err(|_| refused("bad serial"))?;
        if &revoke.issuer_name != ca.subject() {
            return Err(refused("another issuer"));
        }
        let identification = crate::secret::revocation_identification(&serial);
        let record = self
            .store()
            .get_secret(ca.name(), &identification)
            .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?
            .ok_or_else(|| refused("no revocation secret for this serial"))?;
        let registered_for = matches!(&record.purpose,
            SecretPurpose::Revoke { issuer, serial: s } if issuer == ca.name() && *s == serial);
        if !registered_for || record.locked {
            return Err(refused("not this certificate's secret, or locked"));
        }
        if !crate::secret::revocation_secret_matches(&record, passphrase.as_bytes()) {
            let failures = self
                .store()
                .record_secret_failure(
                    ca.name(),
                    &identification,
                    self.config().requests.secret_lock_after,
                )
                .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?;
            if failures.locked {
                self.audit_secret_locked(ca, &identification, failures.failed_attempts, now);
            }
            return Err(refused("wrong revocation secret"));
        }
        if let Some(e) = record.unusable_at(now) {
            return Err(Failure::failed(CmcFailInfo::BadIdentity, e.to_string()));
        }
        let cert = self
            .store()
            .get_cert(ca.name(), &serial)
            .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?
            .filter(|r| r.certificate().is_some())
            .ok_or_else(|| {
                Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA")
            })?;
        let requester = format!("{SECRET_PREFIX}{identification}");
        self.apply_revocation(ca, &cert.serial, &serial, revoke, &requester, false)?;
        match self.store().consume_secret(ca.name(), &identification, now) {
            // Revoked either way; a concurrent request spent it first.
            Ok(_) | Err(cmc_store::Error::SecretUsed) => Ok(()),
            Err(e) => Err(Failure::from_engine(&e.into(), ca.name(), 0)),
        }
    }

    /// One getCert control (RFC 5272 §6.9): a certificate this CA issued,
    /// revoked or not, for any client the CA accepts (certificates are
    /// public).
    fn get_cert(&self, ca: &LoadedCa, get: &GetCert) -> Result<Certificate, Failure> {
        let bad_cert_id =
            || Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA");
        match &get.issuer_name {
            GeneralName::DirectoryName(name) if name == ca.subject() => {}
            _ => return Err(bad_cert_id()),
        }
        let serial = store_serial(&get.serial_number).map_err(|_| bad_cert_id())?;
        let record = self
            .store()
            .get_cert(ca.name(), &serial)
            .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?
            .ok_or_else(bad_cert_id)?;
        let issued = record.certificate().ok_or_else(bad_cert_id)?;
        Certificate::from_der(&issued.cert_der).map_err(|e| {
            Failure::from_engine(&crate::Error::bad("stored certificate", e), ca.name(), 0)
        })
    }

    /// One getCRL control (RFC 5272 §6.10): this CA's current CRL (made
    /// afresh when the last one is stale). Only the current CRL is kept, so
    /// a `time` it does not cover is noSupport; a `cRLName` must be the
    /// CA's CRL URL; every reason is covered.
    fn get_crl(
        &self,
        ca: &LoadedCa,
        get: &GetCrl,
        now: UnixTime,
    ) -> Result<CertificateList, Failure> {
        if &get.issuer_name != ca.subject() {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                "this CA issues no CRL for that issuer",
            ));
        }
        if let Some(name) = &get.crl_name {
            let ours = self.config().ca_settings(ca.name()).crl_url;
            let matches = match name {
                GeneralName::UniformResourceIdentifier(uri) => {
                    ours.as_deref() == Some(uri.as_str())
                }
                _ => false,
            };
            if !matches {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "no CRL of that cRLName here",
                ));
            }
        }
        let record = self
            .current_crl(ca.name())
            .map_err(|e| Failure::from_engine(&e, ca.name(), 0))?;
        if let Some(t) = get.time {
            let t = UnixTime::from_system_time(t.to_system_time());
            if t < record.this_update || t > record.next_update || t > now {
                return Err(Failure::no_support(
                    "only the current CRL is kept; it does not cover that time",
                ));
            }
        }
        CertificateList::from_der(&record.der)
            .map_err(|e| Failure::from_engine(&crate::Error::bad("stored CRL", e), ca.name(), 0))
    }

    /// Builds, signs and summarises the response.
    fn reply(
        &self,
        ca: &LoadedCa,
        echo: &Echo,
        outcome: Outcome,
        refusal: Option<Refusal>,
        now: UnixTime,
    ) -> Result<CmcReply, NotCmc> {
        let encode_failed = |e: cmc_asn1::Error| {
            tracing::error!(ca = ca.name(), error = %e, "cannot encode a CMC response");
            NotCmc::Internal
        };
        let mut out = ResponseBuilder::default();
        match &refusal {
            Some(r) => out.failure(&r.failure, &r.body_list),
            None if outcome.succeeded.is_empty()
                && outcome.failed.is_empty()
                && outcome.pending.is_empty() =>
            {
                // Nothing but controls: the PKIData as a whole succeeded.
                out.status(CmcStatus::Success, &[0], None, None)
            }
            None => out.status(CmcStatus::Success, &outcome.succeeded, None, None),
        }
        .map_err(encode_failed)?;
        for (failure, id) in &outcome.failed {
            out.failure(failure, &[*id]).map_err(encode_failed)?;
        }
        for (id, info) in &outcome.pending {
            out.pending(&[*id], info.clone()).map_err(encode_failed)?;
        }
        if let Some(nonce) = &echo.sender_nonce {
            out.control(&RecipientNonce(nonce.clone()))
                .map_err(encode_failed)?;
        }
        let mut fresh = [0u8; NONCE_LEN];
        getrandom::fill(&mut fresh).map_err(|_| {
            tracing::error!(ca = ca.name(), "the system random number generator failed");
            NotCmc::Internal
        })?;
        let fresh = OctetString::new(fresh.to_vec()).map_err(|e| encode_failed(e.into()))?;
        out.control(&SenderNonce(fresh)).map_err(encode_failed)?;
        if let Some(t) = &echo.transaction_id {
            out.control(t).map_err(encode_failed)?;
        }
        for d in &echo.data_return {
            out.control(d).map_err(encode_failed)?;
        }
        for r in &echo.reg_info {
            out.control(&ResponseInfo(r.0.clone()))
                .map_err(encode_failed)?;
        }
        for challenge in &outcome.challenges {
            out.control(challenge).map_err(encode_failed)?;
        }
        // Last: the controls naming the nested responses take the ids
        // after every other control.
        out.nested(outcome.nested, outcome.batch)
            .map_err(encode_failed)?;
        let (response, statuses) = out.finish();
        let mut chain = chain(ca)?;
        // The configured CMC responder while its certificate is valid, else
        // the CA itself (which the client trusts either way).
        let responder = self.responder(ca.name()).filter(|r| {
            let valid = r.is_valid_at(now);
            if !valid {
                tracing::warn!(ca = ca.name(), not_after = %r.not_after(),
                    "the CMC responder certificate is not valid: signing with the CA key");
            }
            valid
        });
        let signer = match responder {
            Some(r) => {
                chain.insert(0, ca.certificate().clone());
                CmsSigner::new(r.key().as_ref(), r.certificate(), &chain)
            }
            None => CmsSigner::new(ca.key().as_ref(), ca.certificate(), &chain),
        }
        .map_err(|e| {
            tracing::error!(ca = ca.name(), error = %e, "cannot set up the CMC response signer");
            NotCmc::Internal
        })?;
        let certificates: Vec<Certificate> = outcome
            .issued
            .iter()
            .chain(&outcome.fetched)
            .cloned()
            .collect();
        let der = sign_response_with_crls(
            &response,
            &signer,
            now.to_system_time(),
            &certificates,
            &outcome.crls,
        )
        .map_err(|e| {
            tracing::error!(ca = ca.name(), error = %e, "cannot sign a CMC response");
            NotCmc::Internal
        })?;
        Ok(CmcReply {
            der,
            content_type: CMC_RESPONSE_CONTENT_TYPE,
            statuses,
            issued: outcome.issued.len() + outcome.nested_issued,
            authenticated: echo.authenticated,
        })
    }
}

/// The CA's issuer chain, decoded.
fn chain(ca: &LoadedCa) -> Result<Vec<Certificate>, NotCmc> {
    ca.chain_der()
        .iter()
        .map(|der| Certificate::from_der(der))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            // `LoadedCa` decoded the chain when it was loaded.
            tracing::error!(ca = ca.name(), error = %e, "stored CA chain does not decode");
            NotCmc::Internal
        })
}

/// What every certification request of one PKIData is checked against.
struct PartContext<'a> {
    /// The SHA-256 fingerprint of the signer credential (encryptedPOP
    /// challenges are bound to it).
    signer: Fingerprint,
    /// The transactionId's value, empty without one.
    transaction_id: &'a [u8],
    /// The requests an lraPOPWitness names.
    witnessed: &'a BTreeSet<BodyPartId>,
    /// The popLinkRandom control's value.
    link_random: Option<&'a [u8]>,
    /// The decryptedPOP controls, by the body part they answer for.
    decrypted: &'a BTreeMap<BodyPartId, DecryptedPop>,
}

/// The popLinkWitnessV2 of one request of a shared-secret signer (RFC 5272
/// §6.3.1.1): HMAC(H(secret), popLinkRandom) inside the signed request,
/// required in every certification request authenticated by a secret
/// (missing: badRequest; wrong: popFailed).
fn check_pop_link(
    record: &SecretRecord,
    hash: ProofHash,
    tagged: &TaggedRequest,
    random: Option<&[u8]>,
) -> Result<(), Failure> {
    let bad_request = |text: &str| Failure::failed(CmcFailInfo::BadRequest, text);
    let witness = find_pop_link_witness(tagged)
        .map_err(|e| bad_request(&e.to_string()))?
        .ok_or_else(|| {
            bad_request(
                "a request authenticated by a shared secret needs popLinkRandom and a popLinkWitnessV2 in each certification request",
            )
        })?;
    let random =
        random.ok_or_else(|| bad_request("popLinkWitnessV2 without a popLinkRandom control"))?;
    let family = proof_family(&witness.key_gen_algorithm, &witness.mac_algorithm)
        .map_err(|e| Failure::failed(CmcFailInfo::BadAlg, format!("popLinkWitnessV2: {e}")))?;
    if family != hash {
        return Err(Failure::failed(
            CmcFailInfo::BadAlg,
            format!("popLinkWitnessV2 uses {family}, the identity proof {hash}"),
        ));
    }
    let Some(key) = &record.link_key else {
        return Err(bad_request(
            "this shared secret was registered without a POP link key",
        ));
    };
    if hash.verify_hmac(key, random, witness.witness.as_bytes()) {
        Ok(())
    } else {
        Err(Failure::failed(
            CmcFailInfo::PopFailed,
            "the popLinkWitnessV2 does not verify",
        ))
    }
}

/// A renewal or re-key signed by a certificate of this CA (RFC 5272
/// §6.3.3, existing certificate linking): the same subject as the signing
/// certificate (else badIdentity), and a new key unless the profile allows
/// key reuse (else noKeyReuse).
fn check_renewal(
    old: &Certificate,
    request: &cmc_policy::Request,
    allows_reuse: bool,
) -> Result<(), Failure> {
    let tbs = old.tbs_certificate();
    if &request.subject != tbs.subject() {
        return Err(Failure::failed(
            CmcFailInfo::BadIdentity,
            "a renewal must name the subject of the certificate that signs it",
        ));
    }
    if !allows_reuse && &request.public_key == tbs.subject_public_key_info() {
        return Err(Failure::failed(
            CmcFailInfo::NoKeyReuse,
            "the renewal requests the key of the certificate that signs it",
        ));
    }
    Ok(())
}

/// badRequest naming every control of `pki_data` that `refused` picks
/// (CMC controls have no criticality flag: one the CA does not process
/// fails the request).
fn refuse_controls(
    pki_data: &PkiData,
    text: &str,
    refused: impl Fn(&der::asn1::ObjectIdentifier) -> bool,
) -> Result<(), Refusal> {
    let named: Vec<BodyPartId> = pki_data
        .control_sequence
        .iter()
        .filter(|c| refused(&c.attr_type))
        .map(|c| c.body_part_id)
        .collect();
    if named.is_empty() {
        Ok(())
    } else {
        Err(Refusal {
            failure: Failure::failed(CmcFailInfo::BadRequest, text),
            body_list: named,
            authenticated: false,
        })
    }
}

/// The identifier of every body part, refusing duplicates and `crm`
/// requests whose certReqId is not a BodyPartID.
fn body_part_ids(pki_data: &PkiData) -> Result<Vec<BodyPartId>, Refusal> {
    let bad = |text: &str| Refusal::message(CmcFailInfo::BadRequest, text.to_owned());
    let requests = pki_data
        .req_sequence
        .iter()
        .map(TaggedRequest::body_part_id)
        .collect::<der::Result<Vec<_>>>()
        .map_err(|_| bad("a certReqId is not a BodyPartID"))?;
    let mut seen = BTreeSet::new();
    let all = pki_data
        .control_sequence
        .iter()
        .map(|c| c.body_part_id)
        .chain(requests.iter().copied())
        .chain(pki_data.cms_sequence.iter().map(|c| c.body_part_id))
        .chain(pki_data.other_msg_sequence.iter().map(|o| o.body_part_id));
    for id in all {
        if !seen.insert(id) {
            return Err(bad("a bodyPartID is used twice"));
        }
    }
    Ok(requests)
}

/// At most `max_controls_per_pki_data` controls, each with at most
/// `max_values_per_control` values (else badRequest naming them): the work
/// one PKIData asks for is bounded before any of it is done.
fn check_control_limits(pki_data: &PkiData, limits: &RequestsConfig) -> Result<(), Refusal> {
    let controls = pki_data.control_sequence.len();
    if controls > limits.max_controls_per_pki_data {
        return Err(Refusal::message(
            CmcFailInfo::BadRequest,
            format!(
                "{controls} controls exceed the limit of {}",
                limits.max_controls_per_pki_data
            ),
        ));
    }
    let crowded: Vec<BodyPartId> = pki_data
        .control_sequence
        .iter()
        .filter(|c| c.attr_values.len() > limits.max_values_per_control)
        .map(|c| c.body_part_id)
        .collect();
    if crowded.is_empty() {
        return Ok(());
    }
    Err(Refusal {
        failure: Failure::failed(
            CmcFailInfo::BadRequest,
            format!(
                "a control has more than {} values",
                limits.max_values_per_control
            ),
        ),
        body_list: crowded,
        authenticated: false,
    })
}

/// Whether a PKIData only asks queryPending (besides the controls that
/// identify and echo): no request, revocation or fetch.
fn only_queries(pki_data: &PkiData) -> bool {
    const ALLOWED: [der::asn1::ObjectIdentifier; 8] = [
        oid::ID_CMC_QUERY_PENDING,
        oid::ID_CMC_SENDER_NONCE,
        oid::ID_CMC_TRANSACTION_ID,
        oid::ID_CMC_DATA_RETURN,
        oid::ID_CMC_REG_INFO,
        oid::ID_CMC_IDENTIFICATION,
        oid::ID_CMC_IDENTITY_PROOF,
        oid::ID_CMC_IDENTITY_PROOF_V2,
    ];
    pki_data.req_sequence.is_empty()
        && pki_data.cms_sequence.is_empty()
        && pki_data.other_msg_sequence.is_empty()
        && pki_data
            .control_sequence
            .iter()
            .any(|c| c.attr_type == oid::ID_CMC_QUERY_PENDING)
        && pki_data
            .control_sequence
            .iter()
            .all(|c| ALLOWED.contains(&c.attr_type))
}

/// The value of the transactionId control, empty without one (or with a
/// malformed one, which the replay check refuses).
fn transaction_id_of(pki_data: &PkiData) -> Vec<u8> {
    pki_data
        .unique_control::<TransactionId>()
        .ok()
        .flatten()
        .map(|(_, t)| t.0.as_bytes().to_vec())
        .unwrap_or_default()
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
