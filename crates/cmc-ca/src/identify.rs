//! Who is asking: the [`Principal`] a front door resolves before it asks
//! the engine for anything, from a certificate (a CMS signer or a TLS
//! client certificate), a one-time secret proven by a MAC over the request
//! (CMC identityProofV2), or a one-time secret presented in clear (EST
//! HTTP Basic). What each principal may do is the model of
//! [`crate::principal`].

use std::sync::atomic::{AtomicBool, Ordering};

use cmc_codec::identity::{ProofHash, identity_key};
use cmc_store::{ClientRecord, ClientRole, SecretPurpose, SecretRecord, UnixTime, fingerprint};
use der::Encode;
use x509_cert::Certificate;

use crate::authz::{Action, Authorization, DenyReason};
use crate::engine::Engine;
use crate::error::Error;
use crate::principal::{HOLDER_PREFIX, NameLimit, NameScope, SECRET_PREFIX, client_scope};
use crate::refusal::{Reason, Refused};
use crate::x509::store_serial;

/// The kinds of principal (see [`crate::principal`] for what each may do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// A registration authority: asks for others, may vouch for proof of
    /// possession.
    Ra,
    /// An agent: asks for others, decides held requests, revokes.
    Agent,
    /// A registered end-entity client: asks for itself.
    Client,
    /// The holder of a valid, unrevoked certificate of this CA: renews it,
    /// revokes it.
    Holder,
    /// The owner of a one-time enrollment secret: one certificate.
    SecretOwner,
    /// Nobody vouches for the request (a CMC Simple PKI Request): the
    /// profile's rules only, on a CA that allows it.
    Anonymous,
}

/// Who asks: a principal resolved by [`Engine::principal_by_certificate`],
/// [`Engine::principal_by_identity_proof`] or
/// [`Engine::principal_by_password`], for one request on one CA.
#[derive(Debug)]
pub struct Principal {
    /// The credential it proved itself with, the key its senderNonces are
    /// remembered under: a certificate's DER, or for a secret owner the
    /// public key (SPKI DER) the request was signed with, or the
    /// identification when it proved itself with the secret alone.
    credential: Vec<u8>,
    pub(crate) who: Who,
}

/// What the engine knows of a principal.
#[derive(Debug)]
pub(crate) enum Who {
    /// A registered client (end entity, RA or agent).
    Client(ClientRecord),
    /// The holder of a valid, unrevoked certificate that this CA issued,
    /// who is not a registered client.
    Holder {
        /// The certificate's serial.
        serial: cmc_store::Serial,
        /// The certificate.
        cert: Box<Certificate>,
        /// The profile it was issued with.
        profile: String,
    },
    /// The owner of a one-time enrollment secret.
    Secret {
        /// The secret as stored (before it was spent).
        record: Box<SecretRecord>,
        /// The hash family of its proofs.
        hash: ProofHash,
        /// Whether this request has spent it (on its first issued
        /// certificate).
        spent: AtomicBool,
    },
    /// Nobody in particular.
    Anonymous,
}

impl Principal {
    /// What kind of principal this is.
    #[must_use]
    pub fn kind(&self) -> PrincipalKind {
        match &self.who {
            Who::Client(c) => match c.role {
                ClientRole::Ra => PrincipalKind::Ra,
                // An operator is an agent to CMC, EST and CMP; its
                // administration is the console's.
                ClientRole::Agent | ClientRole::Operator => PrincipalKind::Agent,
                // A role added to the store later asks for itself until
                // the engine learns what more it may do.
                _ => PrincipalKind::Client,
            },
            Who::Holder { .. } => PrincipalKind::Holder,
            Who::Secret { .. } => PrincipalKind::SecretOwner,
            Who::Anonymous => PrincipalKind::Anonymous,
        }
    }

    /// Who is recorded as the requester and named in logs: a client id,
    /// `holder:SERIAL` or `secret:IDENTIFICATION`.
    #[must_use]
    pub fn requester(&self) -> String {
        match &self.who {
            Who::Client(c) => c.id.clone(),
            Who::Holder { serial, .. } => format!("{HOLDER_PREFIX}{serial}"),
            Who::Secret { record, .. } => format!("{SECRET_PREFIX}{}", record.identification),
            Who::Anonymous => ANONYMOUS.to_owned(),
        }
    }

    /// The principal of a request nobody vouches for.
    pub(crate) const fn anonymous() -> Self {
        Self {
            credential: Vec::new(),
            who: Who::Anonymous,
        }
    }

    /// The credential it proved itself with (see the field); replay
    /// records are kept per credential.
    #[must_use]
    pub fn credential(&self) -> &[u8] {
        &self.credential
    }

    /// The identification of the one-time secret this principal spends on
    /// its certificate, unless this principal already spent it.
    pub(crate) fn unspent_secret(&self) -> Option<&str> {
        match &self.who {
            Who::Secret { record, spent, .. } if !spent.load(Ordering::Acquire) => {
                Some(&record.identification)
            }
            _ => None,
        }
    }

    /// Notes that a committed certificate spent this principal's secret.
    pub(crate) fn note_secret_spent(&self) {
        if let Who::Secret { spent, .. } = &self.who {
            spent.store(true, Ordering::Release);
        }
    }

    /// Whether this is the owner of a secret that has been spent.
    pub(crate) fn holds_spent_secret(&self) -> bool {
        matches!(&self.who, Who::Secret { record, .. } if record.used_at.is_some())
    }

    /// The hash family of a secret owner's proofs.
    #[must_use]
    pub fn proof_hash(&self) -> Option<ProofHash> {
        match &self.who {
            Who::Secret { hash, .. } => Some(*hash),
            _ => None,
        }
    }

    /// Whether `witness` = HMAC(the secret's link key, `random`) under the
    /// secret's hash family: the POP link of RFC 5272 §6.3.1.1. `None`
    /// when this principal holds no secret or the secret has no link key.
    #[must_use]
    pub fn verify_link_witness(&self, random: &[u8], witness: &[u8]) -> Option<bool> {
        let Who::Secret { record, hash, .. } = &self.who else {
            return None;
        };
        let key = record.link_key.as_ref()?;
        Some(hash.verify_hmac(key, random, witness))
    }

    /// The names this principal may be issued (see [`crate::principal`]).
    pub(crate) fn names(&self) -> NameScope {
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
            Who::Anonymous => NameScope::profile(),
        }
    }
}

/// How an anonymous requester is named when the front door gives no
/// better name.
const ANONYMOUS: &str = "anonymous";

/// A MAC over a request with a one-time secret's identity key
/// ([`Engine::principal_by_identity_proof`]).
#[derive(Debug)]
pub struct IdentityProof<'a> {
    /// The secret's identification.
    pub identification: &'a str,
    /// The hash family of the MAC.
    pub hash: ProofHash,
    /// What the MAC covers.
    pub message: &'a [u8],
    /// The MAC.
    pub witness: &'a [u8],
    /// The public key (SPKI DER) that signed the request: its replay
    /// records are kept under it.
    pub credential: Vec<u8>,
    /// Whether the request only asks after a held request (a spent secret
    /// may still do that).
    pub query_only: bool,
}

/// The answer to every way a secret can fail to prove itself, so that an
/// outsider learns nothing about which identifications exist.
fn no_proof(ca: &str, why: &str) -> Refused {
    tracing::info!(ca, why, "shared-secret proof refused");
    Refused::new(Reason::BadIdentity, "the identity proof does not verify")
}

impl Engine {
    /// The principal behind `cert` on CA `ca`: a registered client
    /// (active, not revoked, granted this CA), else the holder of that very
    /// certificate if this CA issued it and it is valid and unrevoked.
    /// What each body part asks for is authorised later, with the part.
    ///
    /// # Errors
    /// badIdentity for anyone else; internal for store failures.
    pub fn principal_by_certificate(
        &self,
        ca: &str,
        cert: &Certificate,
    ) -> Result<Principal, Refused> {
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        let bad_identity = |why: &str| {
            tracing::info!(ca, why, "certificate principal refused");
            Refused::new(Reason::BadIdentity, "the signer is not authorised")
        };
        let cert_der = cert
            .to_der()
            .map_err(|e| Refused::from_error(&Error::encode("certificate", e), ca))?;
        let client = self
            .store()
            .get_client_by_fingerprint(&fingerprint(&cert_der))
            .map_err(|e| Refused::from_error(&e.into(), ca))?;
        let Some(client) = client else {
            return self
                .holder(&loaded, cert, cert_der)?
                .ok_or_else(|| bad_identity("neither a registered client nor a holder"));
        };
        self.client_principal(ca, client, cert, cert_der)
    }

    /// The principal of registered client `client` (its certificate
    /// `cert`), proven by `credential`: active, not revoked, granted this
    /// CA.
    pub(crate) fn client_principal(
        &self,
        ca: &str,
        client: ClientRecord,
        cert: &Certificate,
        credential: Vec<u8>,
    ) -> Result<Principal, Refused> {
        let bad_identity = |why: &str| {
            tracing::info!(ca, why, "client principal refused");
            Refused::new(Reason::BadIdentity, "the signer is not authorised")
        };
        // An action the role permits, so that `decide` goes on to check the
        // CA grant; the profile and the action of each request are checked
        // with that request.
        let action = match client.role {
            ClientRole::Agent | ClientRole::Operator => Action::Revoke,
            _ => Action::Enroll,
        };
        let profile = self.config().default_profile_name(ca);
        match self
            .authorize_record(&client, cert, ca, &profile, action)
            .map_err(|e| Refused::from_error(&e, ca))?
        {
            Authorization::Allowed(_)
            | Authorization::Denied(
                DenyReason::WrongRole { .. } | DenyReason::ProfileNotGranted { .. },
            ) => Ok(Principal {
                credential,
                who: Who::Client(client),
            }),
            Authorization::Denied(reason) => Err(bad_identity(&reason.to_string())),
        }
    }

    /// The holder of `cert`: the very certificate is stored as issued by
    /// `ca` and not revoked (nor on hold).
    fn holder(
        &self,
        ca: &crate::LoadedCa,
        cert: &Certificate,
        cert_der: Vec<u8>,
    ) -> Result<Option<Principal>, Refused> {
        if cert.tbs_certificate().issuer() != ca.subject() {
            return Ok(None);
        }
        let Ok(serial) = store_serial(cert.tbs_certificate().serial_number()) else {
            return Ok(None);
        };
        let record = self
            .store()
            .get_cert(ca.name(), &serial)
            .map_err(|e| Refused::from_error(&e.into(), ca.name()))?;
        let Some(record) = record else {
            return Ok(None);
        };
        match (record.certificate(), record.revocation()) {
            (Some(issued), None) if issued.cert_der == cert_der => Ok(Some(Principal {
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

    /// The owner of the enrollment secret `proof.identification` on `ca`,
    /// proven by `proof.witness` = HMAC(the secret's identity key,
    /// `proof.message`) (CMC's identityProofV2 over the reqSequence, RFC
    /// 5272 §6.2). A wrong witness counts towards the secret's lockout. A
    /// spent secret is accepted only when `proof.query_only`.
    ///
    /// # Errors
    /// badIdentity for an unknown, locked, spent or expired secret or a
    /// witness that does not verify (one answer for all, until the proof
    /// verified); badAlg for SHA-1 where the CA does not allow it; internal
    /// for store failures.
    pub fn principal_by_identity_proof(
        &self,
        ca: &str,
        proof: IdentityProof<'_>,
    ) -> Result<Principal, Refused> {
        let hash = proof.hash;
        if hash == ProofHash::Sha1 && !self.config().ca_settings(ca).allow_sha1_identity_proof {
            return Err(Refused::new(
                Reason::BadAlg,
                "this CA does not accept SHA-1 identity proofs",
            ));
        }
        self.secret_principal(
            ca,
            proof.identification,
            Some(hash),
            proof.credential,
            proof.query_only,
            |key, _, _| hash.verify_hmac(key, proof.message, proof.witness),
        )
    }

    /// The owner of the enrollment secret `identification` on `ca`, who
    /// presented `secret` in clear (EST HTTP Basic, RFC 7030 §3.2.3). The
    /// secret is checked against the stored identity key in constant time;
    /// a wrong one counts towards the lockout. A spent secret still names
    /// its owner, who may then only ask after the request it was spent on
    /// ([`Engine::find_held`]); [`Engine::enroll`] refuses it.
    ///
    /// # Errors
    /// As [`Engine::principal_by_identity_proof`].
    pub fn principal_by_password(
        &self,
        ca: &str,
        identification: &str,
        secret: &[u8],
    ) -> Result<Principal, Refused> {
        let credential = identification.as_bytes().to_vec();
        self.secret_principal(
            ca,
            identification,
            None,
            credential,
            true,
            |key, hash, _| {
                let presented = identity_key(hash, secret, Some(identification));
                subtle::ConstantTimeEq::ct_eq(presented.as_slice(), key).into()
            },
        )
    }

    /// The common part of the secret proofs: the same work for every
    /// identification, known or not (one check under a throwaway key when
    /// there is no usable secret, one failure count), so that neither the
    /// answer nor its timing tells which identifications exist.
    /// `verify` gets the stored key, the hash family and the stored record
    /// (`None` when there is no usable secret: it must then do the same
    /// work and fail).
    pub(crate) fn secret_principal(
        &self,
        ca: &str,
        identification: &str,
        hash: Option<ProofHash>,
        credential: Vec<u8>,
        query_only: bool,
        verify: impl FnOnce(&[u8], ProofHash, Option<&SecretRecord>) -> bool,
    ) -> Result<Principal, Refused> {
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        let now = self.now();
        let record = self
            .store()
            .get_secret(ca, identification)
            .map_err(|e| Refused::from_error(&e.into(), ca))?;
        let stored_hash = record
            .as_ref()
            .and_then(|r| ProofHash::from_name(&r.hash_alg));
        let why_not = match (&record, hash, stored_hash) {
            (None, ..) => Some("unknown identification".to_owned()),
            (Some(r), ..) if r.purpose != SecretPurpose::Enroll => {
                Some("the secret is not an enrollment secret".to_owned())
            }
            (Some(r), ..) if r.locked => Some("the secret is locked".to_owned()),
            (Some(r), _, None) => Some(format!("unknown stored hash {:?}", r.hash_alg)),
            (Some(r), Some(h), Some(s)) if h != s => Some(format!(
                "the proof uses {h}, the secret was registered for {}",
                r.hash_alg
            )),
            _ => None,
        };
        let was_locked = record.as_ref().is_some_and(|r| r.locked);
        let family = hash.or(stored_hash).unwrap_or(ProofHash::Sha256);
        let key = match (&record, &why_not) {
            (Some(r), None) => r.derived_key.clone(),
            _ => vec![0; 32],
        };
        let usable = record.as_ref().filter(|_| why_not.is_none());
        let verified = verify(&key, family, usable) && why_not.is_none();
        let record = match record {
            Some(record) if verified => record,
            _ => {
                let lock_after = self.config().requests.secret_lock_after;
                match self
                    .store()
                    .record_secret_failure(ca, identification, lock_after)
                {
                    Ok(failures) if failures.locked && !was_locked => {
                        tracing::warn!(
                            ca,
                            identification,
                            attempts = failures.failed_attempts,
                            "enrollment secret locked"
                        );
                        self.audit_secret_locked(
                            &loaded,
                            identification,
                            failures.failed_attempts,
                            now,
                        );
                    }
                    Ok(_) | Err(cmc_store::Error::NotFound(_)) => {}
                    Err(e) => return Err(Refused::from_error(&e.into(), ca)),
                }
                return Err(no_proof(
                    ca,
                    why_not.as_deref().unwrap_or("the proof does not verify"),
                ));
            }
        };
        // The caller knows the secret: it may learn why it cannot be used.
        match record.unusable_at(now) {
            None => {}
            Some(cmc_store::Error::SecretUsed) if query_only => {}
            Some(e) => {
                tracing::info!(ca, identification, error = %e, "shared secret not usable");
                return Err(Refused::new(Reason::BadIdentity, e.to_string()));
            }
        }
        Ok(Principal {
            credential,
            who: Who::Secret {
                record: Box::new(record),
                hash: family,
                spent: AtomicBool::new(false),
            },
        })
    }

    /// Audits the locking of a secret (best effort, like refusals).
    pub(crate) fn audit_secret_locked(
        &self,
        ca: &crate::LoadedCa,
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
}
