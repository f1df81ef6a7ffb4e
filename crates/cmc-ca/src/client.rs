//! Client credentials: a certificate for a CMC client (end entity, RA,
//! agent or operator) signed directly by a CA and registered in the client store.
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
    /// The CA that issued it.
    pub ca: String,
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
        let subject = parse_name(&req.subject)?;
        let subject_text = crate::x509::subject_key(&subject);
        // Checked before signing, so a taken id does not leave an issued
        // certificate behind (the store's unique key still decides a race).
        if self.store().get_client(&req.client_id)?.is_some() {
            return Err(
                cmc_store::Error::AlreadyExists(format!("client {:?}", req.client_id)).into(),
            );
        }
        let (der, serial, not_after) = self.issue_credential_certificate(
            &ca,
            subject,
            &req.public_key,
            req.role,
            req.validity_days,
            &req.requester,
            &req.client_id,
        )?;
        let store = self.store().as_ref();
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
            ca: ca.name().to_owned(),
            serial,
            certificate_der: der,
            client,
        })
    }
}

/// A new certificate for a registered client ([`Engine::replace_client_credential`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplaceCredentialRequest {
    /// The client's id.
    pub client_id: String,
    /// The CA that signs the new certificate (`None`: the CA that issued
    /// the current one, when it is loaded).
    pub ca: Option<String>,
    /// The client's new public key (or the same one, to renew).
    pub public_key: SubjectPublicKeyInfoOwned,
    /// Days of validity (cut at the CA's notAfter). The registration
    /// then expires with the new certificate.
    pub validity_days: u32,
    /// Revoke the current certificate (reason superseded) once the new one
    /// is registered, when one of the loaded CAs issued it.
    pub revoke_previous: bool,
    /// Who asked, for the audit log.
    pub requester: String,
}

impl Engine {
    /// Issues and records a client credential's certificate: the one
    /// issuance path with [`Profile::client_credential`], its subject
    /// `subject`; returns its DER, serial and notAfter.
    #[allow(clippy::too_many_arguments)]
    fn issue_credential_certificate(
        &self,
        ca: &crate::ca::LoadedCa,
        subject: x509_cert::name::Name,
        public_key: &SubjectPublicKeyInfoOwned,
        role: ClientRole,
        validity_days: u32,
        requester: &str,
        client_id: &str,
    ) -> Result<(Vec<u8>, Serial, cmc_store::UnixTime)> {
        if validity_days == 0 {
            return Err(Error::InvalidRequest(
                "validity must be at least one day".into(),
            ));
        }
        let now = self.now();
        ca.check_valid_at(now)?;
        let not_after = now
            .plus_secs(i64::from(validity_days) * SECS_PER_DAY)
            .min(ca.not_after());
        let request = engine_request(subject, public_key.clone(), now, not_after)?;
        let profile = Profile::client_credential(role == ClientRole::Ra);
        let issued = issue_certificate(
            self.store().as_ref(),
            now,
            Issuer::ca(ca, plain_issuer_info(ca)?),
            &Issuance {
                profile: &profile,
                request: &request,
                requester,
                check_names: None,
                request_hash: Vec::new(),
                about: serde_json::json!({
                    "client": client_id,
                    "role": role.to_string(),
                }),
            },
        )?;
        // The registration ends with the certificate as issued (the profile
        // caps its lifetime).
        let not_after = unix_time(&issued.certificate.tbs_certificate().validity().not_after);
        Ok((issued.der, issued.serial, not_after))
    }

    /// Gives a registered client a new certificate (a rotated key, or a
    /// renewal before its credential expires): issued like
    /// [`Engine::issue_client_credential`], with the subject of its current
    /// certificate, and registered in place of it in one transaction with a
    /// `client-credential-replaced` audit event. Role, grants and names
    /// stay; the current certificate no longer identifies the client, and
    /// with [`ReplaceCredentialRequest::revoke_previous`] it is revoked
    /// (superseded).
    ///
    /// # Errors
    /// `NotFound` for an unknown client; [`Error::InvalidRequest`] for a
    /// disabled one, zero days, or no CA given when the current
    /// certificate's issuer is not loaded; [`Error::UnknownCa`],
    /// [`Error::CaNotValid`], [`Error::Policy`]; `AlreadyExists` when the
    /// new certificate is already a client's.
    pub fn replace_client_credential(
        &self,
        req: &ReplaceCredentialRequest,
    ) -> Result<ClientCredential> {
        use der::Decode as _;
        let client = self
            .store()
            .get_client(&req.client_id)?
            .ok_or_else(|| cmc_store::Error::NotFound(format!("client {:?}", req.client_id)))?;
        if client.disabled_at.is_some() {
            return Err(Error::InvalidRequest(format!(
                "client {:?} is disabled: a disabled client gets no new credential",
                req.client_id
            )));
        }
        let current = x509_cert::Certificate::from_der(&client.cert_der).map_err(|e| {
            Error::InvalidRequest(format!(
                "the client's current certificate does not decode: {e}"
            ))
        })?;
        let tbs = current.tbs_certificate();
        // The CA that issued the current certificate, if it is ours.
        let previous_issuer = self
            .cas()
            .into_iter()
            .find(|ca| ca.certificate().tbs_certificate().subject() == tbs.issuer())
            .map(|ca| ca.name().to_owned());
        let ca_name = match (&req.ca, &previous_issuer) {
            (Some(name), _) | (None, Some(name)) => name.clone(),
            (None, None) => {
                return Err(Error::InvalidRequest(
                    "the client's current certificate is not from a loaded CA: name the CA that signs the new one".into(),
                ));
            }
        };
        let ca = self.ca(&ca_name)?;
        let (der, serial, not_after) = self.issue_credential_certificate(
            &ca,
            tbs.subject().clone(),
            &req.public_key,
            client.role,
            req.validity_days,
            &req.requester,
            &req.client_id,
        )?;
        let now = self.now();
        let event = AuditEvent {
            at: now,
            kind: AuditKind::ClientCredentialReplaced,
            issuer: Some(ca.name().to_owned()),
            serial: Some(serial.clone()),
            profile: None,
            requester: Some(req.requester.clone()),
            outcome: Outcome::Success,
            detail: format!(
                "client {:?}, role {}, previous certificate serial {}",
                req.client_id,
                client.role,
                crate::x509::store_serial(tbs.serial_number())
                    .map_or_else(|_| "?".to_owned(), |s| s.to_hex())
            ),
        };
        let registered = self.store().replace_client_certificate(
            &req.client_id,
            &der,
            Some(not_after),
            &event,
        )?;
        tracing::info!(ca = ca.name(), serial = %serial, client = req.client_id, "client credential replaced");
        if req.revoke_previous
            && let Some(issuer) = previous_issuer
            && let Ok(old) = crate::x509::store_serial(tbs.serial_number())
        {
            self.revoke(
                &issuer,
                &old,
                cmc_store::RevocationReason::Superseded,
                None,
                &req.requester,
            )?;
        }
        Ok(ClientCredential {
            ca: ca.name().to_owned(),
            serial,
            certificate_der: der,
            client: registered,
        })
    }
}
