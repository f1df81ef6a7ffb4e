//! Client credentials: a certificate for a CMC client (end entity, RA or
//! agent) signed directly by a CA and registered in the client store.
//!
//! This is the administrator's bootstrap path (`cmc-tool client add`), not
//! a request: the certificate takes the one issuance path with the built-in
//! profile [`cmc_policy::Profile::client_credential`].

use cmc_policy::Profile;
use cmc_store::{
    AuditEvent, AuditKind, ClientRecord, ClientRole, Grant, NewClient, Outcome, Scope, Serial,
};
use spki::SubjectPublicKeyInfoOwned;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::issue::{Issuance, Issuer, engine_request, issue_certificate, plain_issuer_info};
use crate::x509::{parse_name, unix_time};

/// The profile client credentials are issued and recorded under
/// ([`cmc_policy::Profile::client_credential`]).
pub const CLIENT_CREDENTIAL_PROFILE: &str = cmc_policy::CLIENT_CREDENTIAL_PROFILE_NAME;

const SECS_PER_DAY: i64 = 86_400;

/// A client credential to issue and register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCredentialRequest {
    /// The CA that signs the credential.
    pub ca: String,
    /// The client's id in the client store (unique).
    pub client_id: String,
    /// The certificate subject, as in RFC 4514.
    pub subject: String,
    /// The client's public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// The client's role.
    pub role: ClientRole,
    /// The CAs and profiles it may use (at least one; named CAs must be
    /// loaded).
    pub grants: Vec<Grant>,
    /// Days of validity (cut at the CA's notAfter). The registration
    /// expires with the certificate.
    pub validity_days: u32,
    /// Who asked, for the audit log.
    pub requester: String,
    /// The names an end-entity client may ask for besides (`None`: only
    /// what the profile's name rules allow). RAs and agents ask for others
    /// and are bound by the profiles' rules.
    pub names: Option<cmc_policy::NameSpace>,
    /// A MAC credential for CMP besides the certificate
    /// ([`crate::seal_client_mac`]).
    pub mac: Option<cmc_store::MacCredential>,
}

/// An issued and registered client credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCredential {
    /// The certificate's serial (in the issuing CA's numbering).
    pub serial: Serial,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The client as registered.
    pub client: ClientRecord,
}

impl Engine {
    /// Issues a client certificate from a loaded CA and registers it.
    ///
    /// The certificate is issued by the one issuance path with the profile
    /// [`cmc_policy::Profile::client_credential`]: basicConstraints
    /// (critical, cA=FALSE), keyUsage (critical) digitalSignature,
    /// extendedKeyUsage clientAuth plus id-kp-cmcRA for an RA,
    /// subjectKeyIdentifier and authorityKeyIdentifier, linted before it is
    /// signed. It is recorded in the CA's certificate table (so it can be
    /// revoked, which then also refuses the client) in one transaction with
    /// its audit event; another event records the registration, which
    /// expires with the certificate.
    ///
    /// # Errors
    /// [`Error::UnknownCa`], [`Error::InvalidRequest`] (no grants, a grant
    /// naming an unknown CA, zero days), [`Error::InvalidSubject`],
    /// [`Error::CaNotValid`], [`Error::Policy`] (a key type the profile
    /// refuses, a lint finding), store errors (a taken client id or an
    /// already registered certificate: `AlreadyExists`).
    pub fn issue_client_credential(
        &self,
        req: &ClientCredentialRequest,
    ) -> Result<ClientCredential> {
        let ca = self.ca(&req.ca)?;
        let now = self.now();
        if req.grants.is_empty() {
            return Err(Error::InvalidRequest(
                "a client needs at least one grant".into(),
            ));
        }
        for grant in &req.grants {
            if let Scope::Named(name) = &grant.ca {
                self.ca(name)?;
            }
        }
        if req.validity_days == 0 {
            return Err(Error::InvalidRequest(
                "validity must be at least one day".into(),
            ));
        }
        let subject = parse_name(&req.subject)?;
        let subject_text = crate::x509::subject_key(&subject);
        // Checked before signing, so a taken id does not leave an issued
        // certificate behind (the store's unique key still decides a race).
        if self.store().get_client(&req.client_id)?.is_some() {
            return Err(
                cmc_store::Error::AlreadyExists(format!("client {:?}", req.client_id)).into(),
            );
        }
        ca.check_valid_at(now)?;
        let not_after = now
            .plus_secs(i64::from(req.validity_days) * SECS_PER_DAY)
            .min(ca.not_after());
        let request = engine_request(subject, req.public_key.clone(), now, not_after)?;
        let profile = Profile::client_credential(req.role == ClientRole::Ra);
        let store = self.store().as_ref();
        let issued = issue_certificate(
            store,
            now,
            Issuer::ca(&ca, plain_issuer_info(&ca)?),
            &Issuance {
                profile: &profile,
                request: &request,
                requester: &req.requester,
                check_names: None,
                request_hash: Vec::new(),
                about: serde_json::json!({
                    "client": &req.client_id,
                    "role": req.role.to_string(),
                }),
            },
        )?;
        let (der, serial) = (issued.der, issued.serial);
        // The registration ends with the certificate as issued (the profile
        // caps its lifetime).
        let not_after = unix_time(&issued.certificate.tbs_certificate().validity().not_after);
        let client = store.add_client(
            &NewClient {
                id: req.client_id.clone(),
                cert_der: der.clone(),
                role: req.role,
                grants: req.grants.clone(),
                expires_at: Some(not_after),
                subject: subject_text,
                names: crate::secret::names_json(req.names.as_ref())?,
                mac: req.mac.clone(),
            },
            now,
        )?;
        store.append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::ClientAdded,
            issuer: Some(ca.name().to_owned()),
            serial: Some(serial.clone()),
            profile: None,
            requester: Some(req.requester.clone()),
            outcome: Outcome::Success,
            detail: format!("client {:?}, role {}", req.client_id, req.role),
        })?;
        tracing::info!(ca = ca.name(), serial = %serial, client = req.client_id, "client credential issued");
        Ok(ClientCredential {
            serial,
            certificate_der: der,
            client,
        })
    }
}
