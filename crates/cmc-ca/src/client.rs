//! Client credentials: a certificate for a CMC client (end entity, RA or
//! agent) signed directly by a CA and registered in the client store.
//!
//! This is the administrator's bootstrap path (`cmc-tool client add`), not
//! CMC enrollment: it does not go through a profile.

use cmc_store::{
    AuditEvent, AuditKind, ClientRecord, ClientRole, Grant, NewClient, Outcome, Scope, Serial,
};
use const_oid::db::rfc5280::ID_KP_CLIENT_AUTH;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::issue::{CertContents, issue_under};
use crate::x509::{extension, key_id_extensions, key_identifier, parse_name};

/// The profile name client credentials are recorded under.
pub const CLIENT_CREDENTIAL_PROFILE: &str = "cmc-client-credential";

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
    /// The certificate carries basicConstraints (critical, cA=FALSE),
    /// keyUsage (critical) digitalSignature, extendedKeyUsage clientAuth
    /// plus id-kp-cmcRA for an RA, subjectKeyIdentifier and
    /// authorityKeyIdentifier. It is recorded in the CA's certificate table
    /// (so it can be revoked, which then also refuses the client), and
    /// audit events record the issuance and the registration.
    ///
    /// # Errors
    /// [`Error::UnknownCa`], [`Error::InvalidRequest`] (no grants, a grant
    /// naming an unknown CA, zero days), [`Error::InvalidSubject`],
    /// [`Error::CaNotValid`], store errors (a taken client id or an
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
        let not_after = now
            .plus_secs(i64::from(req.validity_days) * SECS_PER_DAY)
            .min(ca.not_after());
        let mut usages = vec![ID_KP_CLIENT_AUTH];
        if req.role == ClientRole::Ra {
            usages.push(cmc_asn1::oid::ID_KP_CMC_RA);
        }
        let mut extensions = vec![
            extension(
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                true,
            )?,
            extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?,
            extension(&ExtendedKeyUsage(usages), false)?,
        ];
        extensions.extend(key_id_extensions(
            key_identifier(&req.public_key),
            ca.key_identifier().to_vec(),
        )?);
        let contents = CertContents {
            subject,
            public_key: req.public_key.clone(),
            not_before: now,
            not_after,
            extensions,
        };
        let store = self.store().as_ref();
        let (_, der, serial) = issue_under(
            store,
            &ca,
            &contents,
            &req.requester,
            CLIENT_CREDENTIAL_PROFILE,
            now,
        )?;
        let issued = AuditEvent {
            at: now,
            kind: AuditKind::Issued,
            issuer: Some(ca.name().to_owned()),
            serial: Some(serial.clone()),
            profile: Some(CLIENT_CREDENTIAL_PROFILE.to_owned()),
            requester: Some(req.requester.clone()),
            outcome: Outcome::Success,
            detail: format!("client credential for {:?}", req.client_id),
        };
        store.append_audit(&issued)?;
        let client = store.add_client(
            &NewClient {
                id: req.client_id.clone(),
                cert_der: der.clone(),
                role: req.role,
                grants: req.grants.clone(),
                expires_at: Some(not_after),
                subject: subject_text,
                names: crate::secret::names_json(req.names.as_ref())?,
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
