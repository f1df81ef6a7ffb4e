//! Requests held for approval (RFC 5272 §6.13, queryPending): a profile
//! with `require_approval` turns a certification request into a pending
//! record; the client gets status pending with a pendToken and asks again
//! with queryPending; an agent approves (the certificate is issued then) or
//! rejects it with `cmc-tool pending`.

use cmc_asn1::{CertTemplate, TaggedRequest};
use cmc_store::{
    AuditEvent, AuditKind, NewPending, Outcome, PendingRecord, PendingState, UnixTime,
};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::ca::LoadedCa;
use crate::engine::Engine;
use crate::enroll::{Issued, hex};
use crate::enrollment::{Held, PendingStatus};
use crate::error::{Error, Result};
use crate::issue::Carry;
use crate::principal::{NameScope, SECRET_PREFIX};
use crate::refusal::{Reason, Refused};

/// The most held requests one query is checked against.
pub const MAX_HELD_KEYS: usize = 4;

/// What an approving agent changes in a held request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Approval {
    /// The subject (RFC 4514) to issue with instead of the requested one.
    pub subject: Option<String>,
    /// DNS names for the subjectAltName instead of the requested one.
    pub dns_names: Vec<String>,
}

/// How long an approval's claim on a request holds (issuance takes far
/// less; a crashed approval frees the request after this).
const CLAIM_SECS: i64 = 300;

/// Octets of a pending request's token (hex of 16 random bytes).
const TOKEN_BYTES: usize = 16;

/// The certification request of a pending record, decoded.
pub(crate) fn stored_request(
    record: &PendingRecord,
) -> Result<(TaggedRequest, cmc_policy::Request)> {
    let tagged = TaggedRequest::from_der(&record.request_der)
        .map_err(|e| Error::bad("pending request", e))?;
    let request = match &tagged {
        TaggedRequest::Tcr(tcr) => cmc_policy::Request::from_cert_req(&tcr.certification_request),
        TaggedRequest::Crm(crm) => {
            cmc_policy::Request::from_cert_template(&crm.cert_req.cert_template)
        }
        TaggedRequest::Orm(_) => {
            return Err(Error::InvalidRequest("a pending orm request".into()));
        }
    }
    .map_err(|e| Error::InvalidRequest(e.to_string()))?;
    Ok((tagged, request))
}

impl Engine {
    /// Holds a certification request that passed every check for an
    /// agent's decision, within the per-CA and per-client caps (else
    /// tryLater).
    pub(crate) fn hold(
        &self,
        ca: &LoadedCa,
        requester: &str,
        profile: &str,
        tagged: &TaggedRequest,
        body_part_id: u32,
    ) -> Result<Held, Refused> {
        let internal = |e: Error| Refused::from_error(&e, ca.name());
        let store_failure = |e: cmc_store::Error| internal(e.into());
        let limits = self.config().requests;
        if self
            .store()
            .count_pending_for_ca(ca.name())
            .map_err(store_failure)?
            >= limits.max_pending_per_ca
        {
            return Err(Refused::new(
                Reason::TryLater,
                "too many requests wait for approval on this CA",
            ));
        }
        if self
            .store()
            .count_pending_for_client(requester)
            .map_err(store_failure)?
            >= limits.max_pending_per_client
        {
            return Err(Refused::new(
                Reason::TryLater,
                "too many of your requests wait for approval",
            ));
        }
        let mut token = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut token).map_err(|_| internal(Error::Rng))?;
        let id = hex(&token);
        let request_der = tagged
            .to_der()
            .map_err(|e| internal(Error::encode("request", e)))?;
        let now = self.now();
        self.store()
            .create_pending(
                &NewPending {
                    id: id.clone(),
                    ca: ca.name().to_owned(),
                    client: requester.to_owned(),
                    profile: profile.to_owned(),
                    request_der,
                    body_part_id,
                },
                now,
            )
            .map_err(store_failure)?;
        self.audit_pending(
            ca.name(),
            AuditKind::PendingCreated,
            &id,
            requester,
            profile,
            None,
        );
        tracing::info!(ca = ca.name(), client = requester, pending = %id, "request held for approval");
        Ok(Held {
            token: id,
            poll_at: now.plus_secs(limits.pending_poll_secs),
        })
    }

    /// What became of the held request `token` of `requester` on `ca`:
    /// still waiting, the certificate once approved, or the rejection.
    ///
    /// # Errors
    /// badRequest for a token that is not one of this requester's held
    /// requests on this CA; rejected, with the agent's reason; internal.
    pub fn query_pending(
        &self,
        ca: &str,
        requester: &str,
        token: &[u8],
    ) -> Result<PendingStatus, Refused> {
        let unknown = || Refused::new(Reason::BadRequest, "no such pending request");
        let internal = |e: Error| Refused::from_error(&e, ca);
        let id = std::str::from_utf8(token).map_err(|_| unknown())?;
        let record = self
            .store()
            .get_pending(id)
            .map_err(|e| internal(e.into()))?
            .filter(|r| r.ca == ca && r.client == requester)
            .ok_or_else(unknown)?;
        match &record.state {
            PendingState::Pending => Ok(PendingStatus::Waiting(Held {
                token: id.to_owned(),
                poll_at: self
                    .now()
                    .plus_secs(self.config().requests.pending_poll_secs),
            })),
            PendingState::Approved(serial) => {
                let cert = self
                    .store()
                    .get_cert(ca, serial)
                    .map_err(|e| internal(e.into()))?
                    .and_then(|r| r.certificate().map(|c| c.cert_der.clone()))
                    .ok_or_else(unknown)?;
                Certificate::from_der(&cert)
                    .map(|c| PendingStatus::Issued(Box::new(c)))
                    .map_err(|e| internal(Error::bad("stored certificate", e)))
            }
            PendingState::Rejected(reason) => Err(Refused::new(
                Reason::Rejected,
                format!("rejected: {reason}"),
            )),
        }
    }

    /// Approves pending request `id`: issues its certificate with the
    /// profile it was held under, with the subject and DNS names of
    /// `changes` in place of the requested ones where given (the profile
    /// still decides what goes in), and records the decision (the changes
    /// as the replacement template). The client fetches it with
    /// queryPending.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an unknown or already decided request
    /// or a bad subject or DNS name; the issuance errors; store errors.
    pub fn approve_pending(
        &self,
        id: &str,
        decided_by: &str,
        changes: &Approval,
    ) -> Result<Issued> {
        let record = self.undecided(id)?;
        let ca = self.ca(&record.ca)?;
        let (tagged, mut request) = stored_request(&record)?;
        let mut template = CertTemplate::default();
        if let Some(text) = &changes.subject {
            let name = crate::x509::parse_name(text)?;
            request.subject = name.clone();
            template.subject = Some(name);
        }
        if !changes.dns_names.is_empty() {
            let names = changes
                .dns_names
                .iter()
                .map(|n| {
                    der::asn1::Ia5String::new(n)
                        .map(x509_cert::ext::pkix::name::GeneralName::DnsName)
                        .map_err(|_| Error::InvalidRequest(format!("DNS name {n:?} is not IA5")))
                })
                .collect::<Result<Vec<_>>>()?;
            let san = crate::x509::extension(&x509_cert::ext::pkix::SubjectAltName(names), false)?;
            request
                .extensions
                .retain(|e| e.extn_id != const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME);
            request.extensions.push(san.clone());
            template.extensions = Some(vec![san]);
        }
        let replacement = (template != CertTemplate::default())
            .then(|| template.to_der())
            .transpose()
            .map_err(|e| Error::encode("replacement template", e))?;
        let der = tagged
            .to_der()
            .map_err(|e| Error::encode("pending request", e))?;
        // Claimed first, so that a concurrent approval or rejection cannot
        // decide while this one issues; released if issuance fails.
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|_| Error::Rng)?;
        let claim = hex(&nonce);
        let now = self.now();
        self.store()
            .claim_pending(id, &claim, now.plus_secs(CLAIM_SECS), now)?;
        // The requester's names bind the certificate, unless the agent
        // chose the names itself (the profile's rules and reserved names
        // still apply).
        let names = if replacement.is_some() {
            NameScope::profile()
        } else {
            self.scope_of_requester(ca.name(), &record.client)?
        };
        let result = self.spend_held_secret(&ca, &record, now).and_then(|spent| {
            self.issue_for(
                &ca,
                Some(&record.profile),
                &request,
                &record.client,
                &names,
                &der,
                Carry::default(),
            )
            .inspect_err(|_| {
                if let Some((identification, at)) = spent {
                    if let Err(e) = self.store().release_secret(ca.name(), identification, at) {
                        tracing::error!(pending = id, error = %e, "cannot give back a secret");
                    }
                }
            })
        });
        let issued = match result {
            Ok(issued) => issued,
            Err(e) => {
                if let Err(release) = self.store().release_pending(id, &claim) {
                    tracing::error!(pending = id, error = %release, "cannot release a claim");
                }
                return Err(e);
            }
        };
        self.store().approve_pending(
            id,
            decided_by,
            &issued.serial,
            replacement.as_deref(),
            Some(&claim),
            self.now(),
        )?;
        self.audit_pending(
            ca.name(),
            AuditKind::PendingApproved,
            id,
            decided_by,
            &record.profile,
            Some(&issued.serial),
        );
        tracing::info!(ca = ca.name(), pending = id, by = decided_by, serial = %issued.serial, "pending request approved");
        Ok(issued)
    }

    /// Rejects pending request `id` with `reason`, which the client sees.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an unknown or already decided
    /// request; store errors.
    pub fn reject_pending(&self, id: &str, decided_by: &str, reason: &str) -> Result<()> {
        let record = self.undecided(id)?;
        self.store()
            .reject_pending(id, decided_by, reason, self.now())?;
        // A one-time secret is spent by the decision either way.
        if let Some(identification) = record.client.strip_prefix(SECRET_PREFIX) {
            match self
                .store()
                .consume_secret(&record.ca, identification, self.now())
            {
                Ok(_)
                | Err(
                    cmc_store::Error::SecretUsed
                    | cmc_store::Error::SecretExpired
                    | cmc_store::Error::SecretLocked
                    | cmc_store::Error::NotFound(_),
                ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.audit_pending(
            &record.ca,
            AuditKind::PendingRejected,
            id,
            decided_by,
            &record.profile,
            None,
        );
        tracing::info!(
            ca = record.ca,
            pending = id,
            by = decided_by,
            "pending request rejected"
        );
        Ok(())
    }

    /// What became of `principal`'s held request for exactly `form` on
    /// `ca`, if it has one (an EST client repeats its POST after a 202,
    /// RFC 7030 §4.2.3): the newest such record, waiting, issued or
    /// rejected.
    ///
    /// # Errors
    /// rejected, with the agent's reason; internal.
    pub fn find_held(
        &self,
        ca: &str,
        principal: &crate::Principal,
        form: &crate::RequestForm,
    ) -> Result<Option<PendingStatus>, Refused> {
        let internal = |e: Error| Refused::from_error(&e, ca);
        let wanted = form
            .tagged()
            .to_der()
            .map_err(|e| internal(Error::encode("request", e)))?;
        let filter = cmc_store::PendingFilter {
            ca: Some(ca.to_owned()),
            client: Some(principal.requester()),
            status: None,
        };
        let mut page = cmc_store::PageRequest::first(cmc_store::PageRequest::MAX_LIMIT);
        let mut newest: Option<PendingRecord> = None;
        loop {
            let found = self
                .store()
                .list_pending(&filter, page)
                .map_err(|e| internal(e.into()))?;
            for record in found.items {
                if record.request_der == wanted
                    && newest
                        .as_ref()
                        .is_none_or(|n| record.created_at >= n.created_at)
                {
                    newest = Some(record);
                }
            }
            match found.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        newest
            .map(|record| self.query_pending(ca, &record.client, record.id.as_bytes()))
            .transpose()
    }

    /// The public keys of the requests held for one-time secret owners on
    /// `ca` under `tokens` (at most [`MAX_HELD_KEYS`]): the keys a secret
    /// owner's query may be signed with, since it holds no certificate.
    /// Unknown tokens and other requesters' requests give nothing.
    #[must_use]
    pub fn held_secret_keys(&self, ca: &str, tokens: &[&[u8]]) -> Vec<SubjectPublicKeyInfoOwned> {
        tokens
            .iter()
            .take(MAX_HELD_KEYS)
            .filter_map(|token| {
                let id = std::str::from_utf8(token).ok()?;
                let record = self.store().get_pending(id).ok()??;
                if record.ca != ca || !record.client.starts_with(SECRET_PREFIX) {
                    return None;
                }
                stored_request(&record).ok().map(|(_, r)| r.public_key)
            })
            .collect()
    }

    /// Spends the one-time secret a held request was made with (its
    /// requester is `secret:ID`) before its certificate is issued; returns
    /// the identification and the time, to give it back if issuance fails.
    fn spend_held_secret<'a>(
        &self,
        ca: &LoadedCa,
        record: &'a PendingRecord,
        now: UnixTime,
    ) -> Result<Option<(&'a str, UnixTime)>> {
        let Some(identification) = record.client.strip_prefix(SECRET_PREFIX) else {
            return Ok(None);
        };
        match self.store().consume_secret(ca.name(), identification, now) {
            Ok(_) => Ok(Some((identification, now))),
            // The secret was good when the request was held; it expiring
            // or being locked (someone guessing since) while an agent
            // decides does not undo that. Nobody can use it any more.
            Err(
                cmc_store::Error::NotFound(_)
                | cmc_store::Error::SecretExpired
                | cmc_store::Error::SecretLocked,
            ) => Ok(None),
            Err(e) => Err(Error::InvalidRequest(format!(
                "the secret {identification:?} this request was made with cannot be spent: {e}"
            ))),
        }
    }

    fn undecided(&self, id: &str) -> Result<PendingRecord> {
        let record = self
            .store()
            .get_pending(id)?
            .ok_or_else(|| Error::InvalidRequest(format!("there is no pending request {id}")))?;
        if record.state != PendingState::Pending {
            return Err(Error::InvalidRequest(format!(
                "pending request {id} was already decided"
            )));
        }
        Ok(record)
    }

    fn audit_pending(
        &self,
        ca: &str,
        kind: AuditKind,
        id: &str,
        who: &str,
        profile: &str,
        serial: Option<&cmc_store::Serial>,
    ) {
        let event = AuditEvent {
            at: self.now(),
            kind,
            issuer: Some(ca.to_owned()),
            serial: serial.cloned(),
            profile: Some(profile.to_owned()),
            requester: Some(who.to_owned()),
            outcome: Outcome::Success,
            detail: serde_json::json!({ "pending": id }).to_string(),
        };
        if let Err(e) = self.store().append_audit(&event) {
            tracing::error!(ca, error = %e, "cannot audit a pending request");
        }
    }
}
