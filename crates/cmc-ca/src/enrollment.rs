//! The seam every front door enrolls through: [`Engine::enroll`] takes a
//! resolved [`Principal`], the request (PKCS #10 or CRMF), how possession
//! of its key was proven, and the request's bytes as received; it decides
//! the profile, authorises the principal for it, checks a renewal's key,
//! holds the request for an agent when the profile wants approval, spends
//! a one-time secret, and issues (see [`crate::enroll`] for the issuance
//! cycle itself). The answer is [`Enrolled`] or a [`Refused`].

use cmc_asn1::{CertReqMsg, TaggedCertificationRequest, TaggedRequest};
use cmc_store::{ClientRecord, ClientRole, UnixTime};
use x509_cert::Certificate;
use x509_cert::request::CertReq;

use crate::authz::{Action, Authorization};
use crate::engine::Engine;
use crate::enroll::Issued;
use crate::error::Error;
use crate::identify::{Principal, PrincipalKind, Who};
use crate::issue::Carry;
use crate::refusal::{Reason, Refused};
use crate::replay::Replay;

/// How possession of the requested key was proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofOfPossession {
    /// The request is signed with the requested key and the front door
    /// verified that signature (PKCS #10 self-signature, CRMF POPO
    /// signature).
    Signature,
    /// A registration authority vouches for it (CMC raVerified or
    /// lraPOPWitness, CMP raVerified): accepted from an RA principal only.
    RaVerified,
    /// The key cannot sign, and it decrypted the CA's challenge (CMC
    /// encryptedPOP/decryptedPOP): the front door verified the answer.
    Decrypted,
    /// The key can only agree keys, and the request carries a MAC under a
    /// key agreed with the CA's static ECDH key (RFC 6955 §6, DH-POP): the
    /// front door verified it.
    KeyAgreement,
    /// The key cannot sign and has not answered a challenge yet: the
    /// engine checks everything else and answers
    /// [`Enrolled::ProveByDecryption`].
    NotYetProven,
    /// The key cannot sign; the certificate is issued and goes to the
    /// requester encrypted to that key, and possession is proven by the
    /// requester's confirmation with the certificate's hash (CMP's indirect
    /// method, RFC 4210 §5.2.8.3). The front door must send the certificate
    /// only encrypted, never grant implicit confirmation, and register it
    /// with [`Engine::await_confirmation`], so that a certificate whose
    /// confirmation does not come is revoked ([`Engine::revoke_unconfirmed`]).
    ByConfirmation,
}

/// The request, in the form the engine keeps for held requests.
#[derive(Clone, Debug)]
pub enum RequestForm {
    /// A PKCS #10 request, with the front door's number for it (CMC's
    /// bodyPartId; 1 where the protocol has none).
    Pkcs10 {
        /// The front door's number for the request.
        reference: u32,
        /// The request.
        csr: Box<CertReq>,
    },
    /// A CRMF request (its certReqId is its number).
    Crmf(Box<CertReqMsg>),
}

impl RequestForm {
    /// What the profile reads of the request: subject, public key and
    /// requested extensions.
    ///
    /// # Errors
    /// badRequest for a request that does not parse, or a CRMF template
    /// without a subject.
    pub fn policy_request(&self) -> Result<cmc_policy::Request, Refused> {
        match self {
            Self::Pkcs10 { csr, .. } => cmc_policy::Request::from_cert_req(csr),
            Self::Crmf(crm) if crm.cert_req.cert_template.subject.is_none() => {
                return Err(Refused::new(
                    Reason::BadRequest,
                    "a CRMF template has a subject (it may be empty) and a publicKey (RFC 5272 §3.2.1.2.2)",
                ));
            }
            Self::Crmf(crm) => cmc_policy::Request::from_cert_template(&crm.cert_req.cert_template),
        }
        .map_err(|e| Refused::new(Reason::BadRequest, e.to_string()))
    }

    /// The form a held request is stored in.
    pub(crate) fn tagged(&self) -> TaggedRequest {
        match self {
            Self::Pkcs10 { reference, csr } => {
                TaggedRequest::Tcr(Box::new(TaggedCertificationRequest {
                    body_part_id: *reference,
                    certification_request: (**csr).clone(),
                }))
            }
            Self::Crmf(crm) => TaggedRequest::Crm(crm.clone()),
        }
    }

    /// The front door's number for the request.
    #[must_use]
    pub fn reference(&self) -> u32 {
        match self {
            Self::Pkcs10 { reference, .. } => *reference,
            // A certReqId that is no BodyPartID was refused by the front
            // door; 0 names the whole message otherwise.
            Self::Crmf(crm) => TaggedRequest::Crm(crm.clone())
                .body_part_id()
                .unwrap_or_default(),
        }
    }
}

/// One certification request to the engine.
#[derive(Debug)]
pub struct EnrollmentRequest<'a> {
    /// The CA asked.
    pub ca: &'a str,
    /// Who asks.
    pub principal: &'a Principal,
    /// The request.
    pub form: RequestForm,
    /// How possession of the key was proven.
    pub pop: ProofOfPossession,
    /// The request as received (its SHA-256 is stored with the
    /// certificate).
    pub raw: &'a [u8],
    /// The replay records of the message the request came in
    /// ([`Engine::check_replay`]): written with the first unit of the
    /// message (here, the certificate's or the refusal's), `None` for a
    /// protocol without them.
    pub replay: Option<&'a Replay>,
}

/// A request held for an agent's approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The token the requester asks again with.
    pub token: String,
    /// When it is worth asking again.
    pub poll_at: UnixTime,
}

/// What an enrollment came to.
#[derive(Debug)]
pub enum Enrolled {
    /// Issued and stored.
    Issued(Box<Issued>),
    /// Held for an agent's approval.
    Held(Held),
    /// Everything but possession checks out: the key must decrypt a
    /// challenge first ([`ProofOfPossession::NotYetProven`]).
    ProveByDecryption,
}

/// A certificate for a key pair the CA generated
/// ([`Engine::enroll_with_server_key`]).
pub struct ServerKey {
    /// The certificate, issued and stored.
    pub issued: Box<Issued>,
    /// The private key, unencrypted PKCS #8 DER.
    pub pkcs8: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("issued", &self.issued)
            .field("pkcs8", &"<redacted>")
            .finish()
    }
}

/// The key a profile's subjects get from the CA: P-256 when allowed, else
/// the first allowed curve, else the smallest allowed RSA size.
fn server_key_spec(profile: &cmc_policy::Profile) -> Option<cmc_keys::KeySpec> {
    use cmc_keys::KeySpec;
    use cmc_policy::Curve;
    let curves = profile.allowed_curves();
    if curves.contains(&Curve::P256) {
        return Some(KeySpec::P256);
    }
    if let Some(spec) = curves
        .iter()
        .find_map(|curve| KeySpec::from_curve_oid(&curve.oid()))
    {
        return Some(spec);
    }
    profile
        .allowed_rsa_sizes()
        .iter()
        .find_map(|bits| match bits {
            2048 => Some(KeySpec::Rsa2048),
            3072 => Some(KeySpec::Rsa3072),
            4096 => Some(KeySpec::Rsa4096),
            _ => None,
        })
}

/// What a held request came to, asked again by its requester.
#[derive(Debug)]
pub enum PendingStatus {
    /// Still waiting.
    Waiting(Held),
    /// Approved: the certificate issued for it.
    Issued(Box<Certificate>),
}

impl Engine {
    /// Enrolls: the principal's right to the profile, the renewal rules,
    /// approval, and issuance (see the module documentation).
    ///
    /// # Errors
    /// A [`Refused`] saying why, with nothing changed: popFailed for a
    /// vouched-for proof from a principal that is not an RA;
    /// notAuthorized for a principal whose role or grants do not allow the
    /// profile; badIdentity and noKeyReuse for a renewal that changes the
    /// subject or keeps the key; alreadyPending for a second request of a
    /// secret owner while one is held; tryLater when too many requests
    /// wait; the profile's and the name rules' refusals; internal.
    pub fn enroll(&self, req: EnrollmentRequest<'_>) -> Result<Enrolled, Refused> {
        let ca = self
            .ca(req.ca)
            .map_err(|e| Refused::from_error(&e, req.ca))?;
        let name = ca.name();
        let refuse = |e: Error| Refused::from_error(&e, name);
        let principal = req.principal;
        if req.pop == ProofOfPossession::RaVerified && principal.kind() != PrincipalKind::Ra {
            return Err(Refused::new(
                Reason::PopFailed,
                "a proof of possession vouched for by an RA (raVerified, lraPOPWitness) is accepted from an RA only",
            ));
        }
        if principal.holds_spent_secret() {
            return Err(Refused::new(
                Reason::BadIdentity,
                "the one-time secret has been used",
            ));
        }
        let request = req.form.policy_request()?;
        let requester = principal.requester();
        let profile = match &principal.who {
            Who::Client(client) => {
                let profile = self.profile_for(name, client);
                // RAs and agents ask for others; end entities for themselves.
                let action = if client.role == ClientRole::Ra || client.role.is_agent() {
                    Action::EnrollOnBehalf
                } else {
                    Action::Enroll
                };
                match self.authorize_principal(client, name, &profile, action) {
                    Authorization::Allowed(_) => profile,
                    Authorization::Denied(reason) => {
                        tracing::info!(ca = name, client = client.id, %reason,
                            "certification request not permitted");
                        return Err(Refused::new(
                            Reason::NotAuthorized,
                            "the signer may not make this request",
                        ));
                    }
                }
            }
            Who::Secret { record, .. } => record
                .profile
                .clone()
                .unwrap_or_else(|| self.config().default_profile_name(name)),
            Who::Holder { cert, profile, .. } => {
                let profile = self.renewal_profile(name, profile);
                let allows_reuse = self
                    .check_profile(name, &profile)
                    .map_err(refuse)?
                    .allows_key_reuse();
                check_renewal(cert, &request, allows_reuse)?;
                profile
            }
            Who::Anonymous => {
                return Err(Refused::new(
                    Reason::NotAuthorized,
                    "an anonymous request goes through enroll_anonymous",
                ));
            }
        };
        if req.pop == ProofOfPossession::NotYetProven {
            return Ok(Enrolled::ProveByDecryption);
        }
        self.approve_and_issue(
            &ca, principal, &profile, &request, &req.form, req.raw, &requester, req.replay,
        )
    }

    /// Enrolls for a key pair the CA generates (EST serverkeygen, RFC 7030
    /// §4.4): `requested` names the subject and extensions (its own key is
    /// ignored); the profile the principal gets must allow server key
    /// generation and must not hold requests for approval (the key would
    /// have to wait with them). The key is the profile's first allowed
    /// curve (P-256 first), else its smallest RSA size; it is signed into a
    /// fresh PKCS #10 request and enrolled like any other, then handed back
    /// as unencrypted PKCS #8 for a protected channel, never stored.
    ///
    /// # Errors
    /// notSupported when the profile does not allow server key generation
    /// or holds requests; as [`Engine::enroll`].
    pub fn enroll_with_server_key(
        &self,
        ca: &str,
        principal: &Principal,
        requested: &RequestForm,
        raw: &[u8],
    ) -> Result<ServerKey, Refused> {
        let refuse = |e: Error| Refused::from_error(&e, ca);
        let profile_name = match &principal.who {
            Who::Client(client) => self.profile_for(ca, client),
            Who::Secret { record, .. } => record
                .profile
                .clone()
                .unwrap_or_else(|| self.config().default_profile_name(ca)),
            Who::Holder { profile, .. } => self.renewal_profile(ca, profile),
            Who::Anonymous => self.config().default_profile_name(ca),
        };
        let profile = self.check_profile(ca, &profile_name).map_err(refuse)?;
        if !profile.allows_server_key_generation() || profile.requires_approval() {
            return Err(Refused::new(
                Reason::NotSupported,
                "this CA's profile does not generate keys for its subjects",
            ));
        }
        let spec = server_key_spec(profile)
            .ok_or_else(|| Refused::new(Reason::NotSupported, "the profile allows no key type"))?;
        let wanted = requested.policy_request()?;
        let key = cmc_keys::FileKey::generate(spec).map_err(|e| refuse(e.into()))?;
        let csr = cmc_codec::build_csr(&key, wanted.subject.clone(), wanted.extensions.clone())
            .map_err(|e| refuse(Error::encode("server-generated request", e)))?;
        let enrolled = self.enroll(EnrollmentRequest {
            ca,
            principal,
            form: RequestForm::Pkcs10 {
                reference: requested.reference(),
                csr: Box::new(csr),
            },
            pop: ProofOfPossession::Signature,
            raw,
            replay: None,
        })?;
        let Enrolled::Issued(issued) = enrolled else {
            // The profile holds nothing (checked above) and the key signs.
            return Err(Refused::new(
                Reason::Internal,
                "a server-generated key was not issued at once",
            ));
        };
        let pkcs8 = key.to_pkcs8_der().map_err(|e| refuse(e.into()))?;
        Ok(ServerKey { issued, pkcs8 })
    }

    /// The profile CA `ca` issues with when nothing else decides (what a
    /// front door advertises to clients that have not authenticated yet,
    /// e.g. EST csrattrs).
    ///
    /// # Errors
    /// internal when the CA's configured default does not exist.
    pub fn default_profile(&self, ca: &str) -> Result<&cmc_policy::Profile, Refused> {
        self.check_profile(ca, &self.config().default_profile_name(ca))
            .map_err(|e| Refused::from_error(&e, ca))
    }

    /// The anonymous sender's enrollment (a CMC Simple PKI Request, which
    /// carries no identity): the CA's default profile and its rules only,
    /// on a CA whose settings allow such requests. `requester` is what the
    /// records name (e.g. the peer's address).
    ///
    /// # Errors
    /// notAuthorized when the CA does not take anonymous requests; as
    /// [`Engine::enroll`] otherwise.
    pub fn enroll_anonymous(
        &self,
        ca: &str,
        requester: &str,
        form: RequestForm,
        raw: &[u8],
    ) -> Result<Enrolled, Refused> {
        let loaded = self.ca(ca).map_err(|e| Refused::from_error(&e, ca))?;
        if !self.accepts_anonymous(ca) {
            return Err(Refused::new(
                Reason::NotAuthorized,
                "this CA does not accept requests without an identity",
            ));
        }
        let request = form.policy_request()?;
        let profile = self.config().default_profile_name(ca);
        let anonymous = Principal::anonymous();
        self.approve_and_issue(
            &loaded, &anonymous, &profile, &request, &form, raw, requester, None,
        )
    }

    /// Whether CA `ca` takes requests nobody vouches for (its
    /// `allow_simple_requests` setting).
    #[must_use]
    pub fn accepts_anonymous(&self, ca: &str) -> bool {
        self.config().ca_settings(ca).allow_simple_requests
    }

    /// Approval (hold, or a bootstrap auto-approval), and issuance with
    /// the secret's spending and the message's replay records in the
    /// certificate's unit.
    #[allow(clippy::too_many_arguments)]
    fn approve_and_issue(
        &self,
        ca: &crate::LoadedCa,
        principal: &Principal,
        profile: &str,
        request: &cmc_policy::Request,
        form: &RequestForm,
        raw: &[u8],
        requester: &str,
        replay: Option<&Replay>,
    ) -> Result<Enrolled, Refused> {
        let name = ca.name();
        let refuse = |e: Error| Refused::from_error(&e, name);
        let needs_approval = self
            .check_profile(name, profile)
            .map_err(refuse)?
            .requires_approval();
        let names = principal.names();
        let mut auto_approved = false;
        if needs_approval {
            // Refused now rather than held for an agent to find it refused.
            self.precheck(ca, profile, request, &names)
                .map_err(refuse)?;
            // The CA's bootstrap auto-approvals (`ca init --auto-approve`)
            // issue the first requests without an agent.
            auto_approved = self
                .store()
                .take_auto_approval(name)
                .map_err(|e| refuse(e.into()))?;
            if !auto_approved {
                if principal.kind() == PrincipalKind::SecretOwner
                    && self
                        .store()
                        .count_pending_for_client(requester)
                        .map_err(|e| refuse(e.into()))?
                        > 0
                {
                    return Err(Refused::new(
                        Reason::AlreadyPending,
                        "a request made with this secret is waiting for approval: ask for it with its token",
                    ));
                }
                // The hold writes on its own: the message's replay
                // records are committed first.
                if let Some(replay) = replay {
                    self.record_replay(name, replay)?;
                }
                return self
                    .hold(ca, requester, profile, &form.tagged(), form.reference())
                    .map(Enrolled::Held);
            }
            tracing::info!(
                ca = name,
                client = requester,
                "request auto-approved (bootstrap)"
            );
        }
        // A one-time secret is spent on the certificate it gets, in its
        // unit: a refusal, a challenge round or a held request leave it
        // usable, and of two requests racing with one secret one issues.
        let secret = principal.unspent_secret();
        let carry = Carry {
            replay,
            secret: secret.map(|identification| (name, identification)),
        };
        match self.issue_for(ca, Some(profile), request, requester, &names, raw, carry) {
            Ok(issued) => {
                if secret.is_some() {
                    principal.note_secret_spent();
                }
                Ok(Enrolled::Issued(Box::new(issued)))
            }
            Err(e) => {
                if auto_approved {
                    self.return_auto_approval(name);
                }
                Err(refuse(e))
            }
        }
    }

    /// Gives back a bootstrap auto-approval taken for a request whose
    /// issuance failed: a refused request does not use up the operator's
    /// grant.
    fn return_auto_approval(&self, ca: &str) {
        if let Err(e) = self.store().return_auto_approval(ca) {
            tracing::error!(ca, error = %e, "cannot give back an auto-approval");
        }
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
}

/// A renewal or re-key by the holder of a certificate of this CA (RFC 5272
/// §6.3.3, existing certificate linking): the same subject as that
/// certificate (else badIdentity), and a new key unless the profile allows
/// key reuse (else noKeyReuse).
fn check_renewal(
    old: &Certificate,
    request: &cmc_policy::Request,
    allows_reuse: bool,
) -> Result<(), Refused> {
    let tbs = old.tbs_certificate();
    if &request.subject != tbs.subject() {
        return Err(Refused::new(
            Reason::BadIdentity,
            "a renewal must name the subject of the certificate that signs it",
        ));
    }
    if !allows_reuse && &request.public_key == tbs.subject_public_key_info() {
        return Err(Refused::new(
            Reason::NoKeyReuse,
            "the renewal requests the key of the certificate that signs it",
        ));
    }
    Ok(())
}
