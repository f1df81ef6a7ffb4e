//! CMC request handling (RFC 5272, RFC 5273): what `POST /cmc/{ca}` does
//! once the server has read the body.
//!
//! A Full PKI Request is checked in this order, and the first failure of a
//! message-level check answers for the whole PKIData (bodyList `[0]`):
//!
//! 1. decode and verify (cmc-codec): not CMS at all is [`NotCmc`]; a bad
//!    digest or signature is badMessageCheck, an expired signer badTime;
//! 2. the signer: a signed request whose signer certificate is a
//!    registered client (SHA-256 fingerprint), active, not revoked, granted
//!    this CA, and equal to the TLS client certificate when there is one;
//!    otherwise badIdentity. Unsigned requests and requests signed only with
//!    the requested key need identityProofV2, which is not supported yet:
//!    badIdentity too;
//! 3. signingTime present and within `signing_time_window_secs` of the
//!    engine clock, else badTime;
//! 4. body part identifiers unique, else badRequest;
//! 5. at most one senderNonce, never seen before from this signer (it is
//!    remembered for `nonce_lifetime_secs`), else badRequest; a request
//!    without one is accepted (RFC 5272 makes it optional) and relies on
//!    the signingTime window;
//! 6. a transactionId is recorded; it may recur (later rounds);
//! 7. at most `max_requests_per_pki_data` body parts, else badRequest;
//! 8. every control is one this CA processes (senderNonce, recipientNonce,
//!    transactionId, dataReturn, regInfo, lraPOPWitness, revokeRequest); any
//!    other fails the request with badRequest naming those controls, since
//!    CMC controls have no criticality flag.
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
//! responseInfo, carries the issued certificates and the CA chain, and is
//! signed by the CA key at the engine clock's time.

use std::collections::BTreeSet;

use cmc_asn1::{
    BodyPartId, CmcFailInfo, CmcStatus, DataReturn, GetCert, GetCrl, LraPopWitness, PkiData,
    RecipientNonce, RegInfo, ResponseInfo, RevokeRequest, SenderNonce, TaggedRequest,
    TransactionId, oid,
};
use cmc_codec::{
    CmsSigner, FullRequest, Limits, Pop, SignedRequest, VerifyOptions, certs_only_response,
    decode_full_request, decode_simple_request, sign_response_with_crls,
};
use cmc_store::{ClientRecord, ClientRole, RevocationReason, UnixTime, fingerprint};
use der::asn1::OctetString;
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::GeneralName;

use crate::authz::{Action, Decision, DenyReason};
use crate::ca::LoadedCa;
use crate::engine::Engine;
use crate::respond::{
    CERTS_ONLY_CONTENT_TYPE, CMC_RESPONSE_CONTENT_TYPE, CmcReply, Failure, NotCmc, PartStatus,
    ResponseBuilder, Transport,
};
use crate::x509::store_serial;

/// The controls this engine processes; any other fails the request.
const SUPPORTED_CONTROLS: [der::asn1::ObjectIdentifier; 9] = [
    oid::ID_CMC_SENDER_NONCE,
    oid::ID_CMC_RECIPIENT_NONCE,
    oid::ID_CMC_TRANSACTION_ID,
    oid::ID_CMC_DATA_RETURN,
    oid::ID_CMC_REG_INFO,
    oid::ID_CMC_LRA_POP_WITNESS,
    oid::ID_CMC_REVOKE_REQUEST,
    oid::ID_CMC_GET_CERT,
    oid::ID_CMC_GET_CRL,
];

/// Length of the senderNonce the CA draws for each response.
const NONCE_LEN: usize = 32;

/// The requester recorded for Simple PKI Requests, which carry no identity.
const SIMPLE_REQUESTER: &str = "simple-pki-request";

/// A failure of the whole PKIData (or of the controls it names).
struct Refusal {
    failure: Failure,
    body_list: Vec<BodyPartId>,
}

impl Refusal {
    fn message(fail_info: CmcFailInfo, text: impl Into<String>) -> Self {
        Self {
            failure: Failure::failed(fail_info, text),
            body_list: vec![0],
        }
    }

    fn internal(ca: &str, e: &crate::Error) -> Self {
        Self {
            failure: Failure::from_engine(e, ca, 0),
            body_list: vec![0],
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
}

impl Echo {
    /// Best effort: controls that do not decode are not echoed.
    fn of(pki_data: &PkiData) -> Self {
        Self {
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
        let pki_data = cms::content_info::ContentInfo::from_der(body)
            .ok()
            .and_then(|ci| ci.content.decode_as::<cms::signed_data::SignedData>().ok())
            .and_then(|sd| sd.encap_content_info.econtent)
            .filter(|any| any.tag() == Tag::OctetString)
            .and_then(|any| PkiData::from_der(any.value()).ok());
        pki_data.as_ref().map(Self::of).unwrap_or_default()
    }
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
}

/// The authenticated signer of a request.
struct Signer {
    cert_der: Vec<u8>,
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
        /// Its subject, as stored.
        subject: String,
    },
}

impl Signer {
    /// Who is recorded as the requester and named in logs.
    fn requester(&self) -> String {
        match &self.who {
            Who::Client(c) => c.id.clone(),
            Who::Holder { serial, .. } => format!("holder:{serial}"),
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
    /// digest (badMessageCheck; an expired signer certificate badTime); the
    /// signer certificate is a registered, active, unrevoked client granted
    /// this CA and, if the connection had one, the TLS client certificate
    /// (badIdentity; unsigned requests and requests signed with the
    /// requested key need identityProofV2, not supported: badIdentity);
    /// signingTime within `signing_time_window_secs` (badTime); unique body
    /// part ids; a senderNonce not seen before from this signer (a request
    /// without one is accepted); at most `max_requests_per_pki_data` body
    /// parts; only the controls senderNonce, recipientNonce, transactionId,
    /// dataReturn, regInfo, lraPOPWitness and revokeRequest (any other:
    /// badRequest naming those controls). Then each `tcr`/`crm` gets its
    /// POP check (raVerified, or no POPO under an lraPOPWitness, only from
    /// an RA: else popFailed), authorisation and issuance with the CA's
    /// default profile (or one the client is granted); each revokeRequest
    /// its revocation (badCertId for a certificate this CA did not issue);
    /// `orm`, nested content and other messages are noSupport. One success
    /// status names exactly the parts that succeeded; each failed part has
    /// its own status.
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
        let request = match decode_full_request(body, &VerifyOptions::new(now.to_system_time())) {
            Ok(r) => r,
            Err(e) if e.is_not_cms() => return Err(not_cms(&e)),
            Err(e) => {
                tracing::info!(ca = ca.name(), peer = transport.peer, error = %e,
                    "CMC request failed verification");
                let refusal = Refusal {
                    failure: codec_failure(&e, ca.name()),
                    body_list: vec![0],
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
            Ok(outcome) => self.reply(&ca, &echo, outcome, None, now),
            Err(refusal) => {
                tracing::info!(ca = ca.name(), peer = transport.peer,
                    fail_info = %refusal.failure.fail_info, text = refusal.failure.text,
                    "CMC request refused");
                let signer = request
                    .signed()
                    .and_then(|s| s.signer().certificate())
                    .map(|c| c.tbs_certificate().subject().to_string());
                self.audit_refusal(&ca, signer, &refusal, now);
                self.reply(&ca, &echo, Outcome::default(), Some(refusal), now)
            }
        }
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
        let fail = |failure: Failure| {
            self.reply(
                &ca,
                &Echo::default(),
                Outcome::default(),
                Some(Refusal {
                    failure,
                    body_list: vec![0],
                }),
                now,
            )
        };
        let csr = match decode_simple_request(body, &Limits::default()) {
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
        let issued = match self.issue_with_ca(&ca, None, &request, &requester, body) {
            Ok(i) => i,
            Err(e) => return fail(Failure::from_engine(&e, ca.name(), 0)),
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
            return Err(Refusal::message(
                CmcFailInfo::BadIdentity,
                "unsigned requests (identityProofV2) are not supported",
            ));
        };
        let signer = self.identify(ca, signed, transport)?;
        let window = self.config().requests.signing_time_window_secs;
        match signed.signer().signing_time().map(UnixTime::from) {
            Some(t) if (t.secs() - now.secs()).abs() <= window => {}
            Some(_) => {
                return Err(Refusal::message(
                    CmcFailInfo::BadTime,
                    "signingTime is outside the allowed window",
                ));
            }
            None => {
                return Err(Refusal::message(
                    CmcFailInfo::BadTime,
                    "the request has no signingTime",
                ));
            }
        }
        let pki_data = &signed.pki_data;
        let ids = body_part_ids(pki_data)?;
        self.check_replay(ca, pki_data, &signer, now)?;
        let max = self.config().requests.max_requests_per_pki_data;
        let parts = pki_data.req_sequence.len()
            + pki_data.cms_sequence.len()
            + pki_data.other_msg_sequence.len();
        if parts > max {
            return Err(Refusal::message(
                CmcFailInfo::BadRequest,
                format!("{parts} body parts exceed the limit of {max}"),
            ));
        }
        let unknown: Vec<BodyPartId> = pki_data
            .control_sequence
            .iter()
            .filter(|c| !SUPPORTED_CONTROLS.contains(&c.attr_type))
            .map(|c| c.body_part_id)
            .collect();
        if !unknown.is_empty() {
            return Err(Refusal {
                failure: Failure::failed(CmcFailInfo::BadRequest, "unsupported control"),
                body_list: unknown,
            });
        }
        let witnessed: BTreeSet<BodyPartId> = pki_data
            .controls_of::<LraPopWitness>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed lraPOPWitness"))?
            .into_iter()
            .flat_map(|(_, w)| w.body_ids)
            .collect();
        let revocations = pki_data
            .controls_of::<RevokeRequest>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed revokeRequest"))?;
        let get_certs = pki_data
            .controls_of::<GetCert>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed getCert"))?;
        let get_crls = pki_data
            .controls_of::<GetCrl>()
            .map_err(|_| Refusal::message(CmcFailInfo::BadRequest, "malformed getCRL"))?;

        let mut outcome = Outcome::default();
        for ((tagged, (_, pop)), id) in pki_data.req_sequence.iter().zip(signed.pops()).zip(ids) {
            match self.certify(ca, &signer, tagged, pop, id, &witnessed) {
                Ok(cert) => {
                    outcome.succeeded.push(id);
                    outcome.issued.push(cert);
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        for (id, revoke) in revocations {
            match self.revoke_requested(ca, &signer, &revoke) {
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
        for (id, get) in get_crls {
            match self.get_crl(ca, &get, now) {
                Ok(crl) => {
                    outcome.succeeded.push(id);
                    outcome.crls.push(crl);
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        for id in pki_data
            .cms_sequence
            .iter()
            .map(|c| c.body_part_id)
            .chain(pki_data.other_msg_sequence.iter().map(|o| o.body_part_id))
        {
            outcome.failed.push((
                Failure::no_support("nested content and other messages are not supported"),
                id,
            ));
        }
        Ok(outcome)
    }

    /// Who signed: a registered, active client allowed on this CA.
    fn identify(
        &self,
        ca: &LoadedCa,
        signed: &SignedRequest,
        transport: &Transport,
    ) -> Result<Signer, Refusal> {
        let bad_identity = |why: &str| {
            tracing::info!(ca = ca.name(), why, "CMC signer refused");
            Refusal::message(CmcFailInfo::BadIdentity, "the signer is not authorised")
        };
        let Some(cert) = signed.signer().certificate() else {
            return Err(Refusal::message(
                CmcFailInfo::BadIdentity,
                "requests signed with the requested key (identityProofV2) are not supported",
            ));
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
                cert_der,
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
                cert_der,
                who: Who::Holder {
                    serial,
                    subject: issued.subject.clone(),
                },
            })),
            _ => Ok(None),
        }
    }

    /// senderNonce (remembered per signer) and transactionId.
    fn check_replay(
        &self,
        ca: &LoadedCa,
        pki_data: &PkiData,
        signer: &Signer,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let requests = self.config().requests;
        let fp = fingerprint(&signer.cert_der);
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
                    tracing::warn!(
                        ca = ca.name(),
                        client = signer.requester(),
                        "replayed senderNonce"
                    );
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

    /// One certification request: POP, authorisation, issuance.
    fn certify(
        &self,
        ca: &LoadedCa,
        signer: &Signer,
        tagged: &TaggedRequest,
        pop: cmc_codec::Result<Pop>,
        id: BodyPartId,
        witnessed: &BTreeSet<BodyPartId>,
    ) -> Result<Certificate, Failure> {
        let Who::Client(client) = &signer.who else {
            // Renewal with an existing certificate is not supported.
            return Err(Failure::failed(
                CmcFailInfo::BadIdentity,
                "only registered clients may request certificates",
            ));
        };
        let is_ra = client.role == ClientRole::Ra;
        let pop_failed = |text: &str| Failure::failed(CmcFailInfo::PopFailed, text);
        match pop {
            Ok(Pop::Pkcs10Signature | Pop::CrmfSignature { .. }) => {}
            Ok(Pop::RaVerified) if is_ra => {}
            Ok(Pop::RaVerified) => {
                return Err(pop_failed("raVerified is accepted from an RA only"));
            }
            Ok(Pop::Absent) if is_ra && witnessed.contains(&id) => {}
            Ok(Pop::Absent) => {
                return Err(pop_failed(
                    "no proof of possession, and no lraPOPWitness from an RA names this request",
                ));
            }
            Ok(Pop::OtherRequest) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
            Ok(_) => {
                // id-alg-noSignature, keyEncipherment, keyAgreement: they
                // need an encryptedPOP round, which is not supported.
                return Err(pop_failed("encryptedPOP/decryptedPOP is not supported"));
            }
            Err(e) => return Err(codec_failure(&e, ca.name())),
        }
        let profile = self.profile_for(ca.name(), client);
        let action = if is_ra {
            Action::EnrollOnBehalf
        } else {
            Action::Enroll
        };
        match self.authorize(&signer.cert_der, ca.name(), &profile, action) {
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
        let request = match tagged {
            TaggedRequest::Tcr(tcr) => {
                cmc_policy::Request::from_cert_req(&tcr.certification_request)
            }
            TaggedRequest::Crm(crm) => {
                cmc_policy::Request::from_cert_template(&crm.cert_req.cert_template)
            }
            TaggedRequest::Orm(_) => {
                return Err(Failure::no_support("orm requests are not supported"));
            }
        }
        .map_err(|e| Failure::failed(CmcFailInfo::BadRequest, e.to_string()))?;
        let der = tagged.to_der().map_err(|e| {
            Failure::from_engine(&crate::Error::encode("request", e), ca.name(), id)
        })?;
        self.issue_with_ca(ca, Some(&profile), &request, &client.id, &der)
            .map(|issued| issued.certificate)
            .map_err(|e| Failure::from_engine(&e, ca.name(), id))
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
        let may_lift_hold = match &signer.who {
            Who::Client(client) => {
                let profile = record.as_ref().map_or_else(
                    || self.config().default_profile_name(ca.name()),
                    |r| r.profile.clone(),
                );
                match self.authorize(&signer.cert_der, ca.name(), &profile, Action::Revoke) {
                    Ok(Decision::Allowed(_)) => {}
                    Ok(Decision::Denied(reason)) => {
                        tracing::info!(ca = ca.name(), client = requester, %reason, "revocation not permitted");
                        return Err(Failure::failed(
                            CmcFailInfo::BadRequest,
                            "the signer may not revoke this certificate",
                        ));
                    }
                    Err(e) => return Err(Failure::from_engine(&e, ca.name(), 0)),
                }
                matches!(client.role, ClientRole::Ra | ClientRole::Agent)
            }
            // A holder revokes its own certificate, or another of this CA
            // with the same subject (RFC 5272 §6.11).
            Who::Holder { serial, subject } => {
                let own = record.as_ref().is_some_and(|r| {
                    &r.serial == serial || r.certificate().is_some_and(|c| &c.subject == subject)
                });
                if !own {
                    tracing::info!(
                        ca = ca.name(),
                        client = requester,
                        "holder may not revoke this certificate"
                    );
                    return Err(Failure::failed(
                        CmcFailInfo::BadRequest,
                        "the signer may not revoke this certificate",
                    ));
                }
                false
            }
        };
        let (Some(record), Some(serial)) = (record, serial) else {
            return Err(bad_cert_id());
        };
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
            return match self.unrevoke(ca.name(), &record.serial, &requester) {
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
        self.revoke(ca.name(), &record.serial, reason, invalidity, &requester)
            .map(|_| ())
            .map_err(|e| Failure::from_engine(&e, ca.name(), 0))?;
        tracing::info!(ca = ca.name(), serial = %serial, client = requester, "revoked by CMC request");
        Ok(())
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
            None if outcome.succeeded.is_empty() && outcome.failed.is_empty() => {
                // Nothing but controls: the PKIData as a whole succeeded.
                out.status(CmcStatus::Success, &[0], None, None)
            }
            None => out.status(CmcStatus::Success, &outcome.succeeded, None, None),
        }
        .map_err(encode_failed)?;
        for (failure, id) in &outcome.failed {
            out.failure(failure, &[*id]).map_err(encode_failed)?;
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
            issued: outcome.issued.len(),
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
