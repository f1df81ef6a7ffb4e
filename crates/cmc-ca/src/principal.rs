//! Who may ask for what: the engine's authorisation model.
//!
//! Every request is made by one principal:
//!
//! | principal | how it is recognised | may enroll | names it may be issued | may revoke |
//! |---|---|---|---|---|
//! | RA | a registered client with role `ra`, signing with its credential | for others (on behalf), within its grants | what the profile's name rules allow | end-entity certificates of its CAs; never a credential, CA or responder certificate (except its own, by its own key) |
//! | agent | a registered client with role `agent` | for others, within its grants; decides held requests | what the profile's name rules allow (and what it sets when approving) | any certificate of its CAs |
//! | end-entity client | a registered client with role `client` | for itself, within its grants | its registered names (its credential's subject and `--dns/--email/--ip`), else the profile's rules | its own credential, by its own key |
//! | certificate holder | the signer holds a valid, unrevoked certificate this CA issued and is no client | a renewal or re-key of that certificate | exactly that certificate's subject and a subset of its subjectAltNames | that certificate only |
//! | secret owner | identityProofV2 with a one-time secret over a request signed by the requested key | one certificate (one PKIData), linked to the secret by popLinkWitnessV2 | the secret's registered names, else the profile's rules | nothing |
//! | revocation-secret holder | an unsigned revokeRequest with the certificate's revocation secret | nothing | – | that certificate |
//! | operator | `cmc-tool` on the CA's host | anything | the profile's rules | anything |
//!
//! Every certificate the engine signs for a request is checked, between
//! the profile's preparation and the signature, against the requester's
//! `NameScope`:
//!
//! - the profile's name rules (permitted and excluded DNS suffixes, e-mail
//!   domains, IP ranges, subject patterns) bind everyone, RAs included;
//!   `cmc_policy::prepare` enforces them;
//! - an end-entity client or a one-time secret registered with names
//!   (`client add … --dns`, `secret add … --subject`) gets those names or
//!   fewer;
//! - the holder of a certificate of this CA renews for exactly that
//!   certificate's subject and a subset of its subjectAltNames, never more;
//! - a reserved name (below) goes to its owner only.
//!
//! A one-time secret is spent when its certificate is issued (or when an
//! agent decides its held request), not before: a refusal or an
//! encryptedPOP round leaves it usable, and a spent secret still fetches
//! the certificate of its approved request with queryPending. A revoked or
//! expired credential is refused for every control.
//!
//! ## Reserved names
//!
//! The subject of a CA certificate, of a client credential (RA, agent or end
//! entity), of a delegated OCSP responder and of a CMC responder is reserved:
//! it identifies that party to everyone who relies on this CA, so it is
//! never issued to anyone else. And the certificates of that machinery are
//! revoked only by an operator, an agent or their own key, never by an RA
//! or by the holder of some other certificate.

use cmc_store::{CertRecord, fingerprint};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use crate::ca::CA_PROFILE;
use crate::client::CLIENT_CREDENTIAL_PROFILE;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ocsp::OCSP_RESPONDER_PROFILE;
use crate::x509::subject_key;

/// How a shared-secret requester is recorded: `secret:` and the
/// identification.
pub(crate) const SECRET_PREFIX: &str = "secret:";

/// How a certificate holder is recorded: `holder:` and the serial.
pub(crate) const HOLDER_PREFIX: &str = "holder:";

/// Whom a subject name is reserved for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReservedFor {
    /// A CA of this engine, by name.
    Ca(String),
    /// A registered client (its credential's subject), by id.
    Client(String),
    /// The delegated OCSP responder or CMC responder of a CA, by CA name.
    Responder(String),
}

impl std::fmt::Display for ReservedFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ca(name) => write!(f, "the CA {name}"),
            Self::Client(id) => write!(f, "the client credential of {id}"),
            Self::Responder(ca) => write!(f, "a responder of CA {ca}"),
        }
    }
}

/// The names a requester may be issued.
#[derive(Clone, Debug)]
pub(crate) struct NameScope {
    /// The reserved name the requester owns (its own credential's
    /// subject), if any.
    pub(crate) owner: Option<ReservedFor>,
    /// What limits its names beyond the profile's rules.
    pub(crate) limit: NameLimit,
}

/// What limits a requester's names beyond the profile's rules.
#[derive(Clone, Debug)]
pub(crate) enum NameLimit {
    /// Nothing: an RA, an agent, an operator, an anonymous Simple PKI
    /// sender, or a client or secret registered without names.
    Profile,
    /// The names registered for a client or a secret (the store's JSON
    /// form of a [`cmc_policy::NameSpace`]).
    Registered(String),
    /// A renewal: the subject of this certificate and a subset of its
    /// subjectAltNames.
    Renewal(Box<Certificate>),
}

/// The names a registered client may be issued. An end entity asks for
/// itself: its registered names (else the profile's rules), and its own
/// credential's subject. An RA or agent asks for others: the profile's
/// rules bind it, and its own subject is as reserved for it as any other
/// (a certificate it asks for goes to someone else's key).
pub(crate) fn client_scope(client: &cmc_store::ClientRecord) -> NameScope {
    if client.role != cmc_store::ClientRole::Client {
        return NameScope::profile();
    }
    NameScope {
        owner: Some(ReservedFor::Client(client.id.clone())),
        limit: client
            .names
            .clone()
            .map_or(NameLimit::Profile, NameLimit::Registered),
    }
}

impl NameScope {
    /// The profile's rules only, owning no reserved name.
    pub(crate) const fn profile() -> Self {
        Self {
            owner: None,
            limit: NameLimit::Profile,
        }
    }
}

impl Engine {
    /// Checks the subject and subjectAltNames of a prepared TBS
    /// certificate against `scope` (reserved names, registered names,
    /// renewal names).
    ///
    /// # Errors
    /// [`Error::ReservedName`], [`Error::NameNotRegistered`],
    /// [`Error::RenewalNames`]; store failures.
    pub(crate) fn check_names(
        &self,
        scope: &NameScope,
        subject: &Name,
        sans: &[GeneralName],
    ) -> Result<()> {
        if let Some(reserved) = self.reserved_for(subject)? {
            if scope.owner.as_ref() != Some(&reserved) {
                return Err(Error::ReservedName {
                    subject: subject.to_string(),
                    reserved_for: reserved.to_string(),
                });
            }
        }
        match &scope.limit {
            NameLimit::Profile => Ok(()),
            NameLimit::Registered(json) => {
                let space: cmc_policy::NameSpace = serde_json::from_str(json).map_err(|e| {
                    Error::Config(format!("a stored name registration does not parse: {e}"))
                })?;
                space
                    .check(subject, sans)
                    .map_err(|v| Error::NameNotRegistered(v.to_string()))
            }
            NameLimit::Renewal(old) => cmc_policy::within_certificate(old, subject, sans)
                .map_err(|v| Error::RenewalNames(format!("renewal: {v}"))),
        }
    }

    /// The name scope of a held request's requester, as
    /// [`crate::cmc`] recorded it: a client id, `holder:SERIAL` or
    /// `secret:IDENTIFICATION` (anything else, such as a Simple PKI
    /// sender: the profile's rules).
    ///
    /// # Errors
    /// Store failures; a stored certificate that does not decode.
    pub(crate) fn scope_of_requester(&self, ca: &str, requester: &str) -> Result<NameScope> {
        if let Some(identification) = requester.strip_prefix(SECRET_PREFIX) {
            if let Some(secret) = self.store().get_secret(ca, identification)? {
                return Ok(NameScope {
                    owner: None,
                    limit: secret
                        .names
                        .map_or(NameLimit::Profile, NameLimit::Registered),
                });
            }
        }
        if let Some(serial) = requester.strip_prefix(HOLDER_PREFIX) {
            let serial = parse_hex(serial).and_then(|b| cmc_store::Serial::from_be_bytes(&b).ok());
            if let Some(record) = serial
                .map(|s| self.store().get_cert(ca, &s))
                .transpose()?
                .flatten()
            {
                if let Some(issued) = record.certificate() {
                    let cert =
                        crate::x509::decode_certificate("renewed certificate", &issued.cert_der)?;
                    return Ok(NameScope {
                        owner: None,
                        limit: NameLimit::Renewal(Box::new(cert)),
                    });
                }
            }
        }
        if let Some(client) = self.store().get_client(requester)? {
            return Ok(client_scope(&client));
        }
        Ok(NameScope::profile())
    }

    /// Whom `subject` is reserved for, if anyone, comparing
    /// [`subject_key`]s (string types, case and insignificant space do not
    /// make another name). An empty subject is reserved for nobody.
    ///
    /// # Errors
    /// Store failures.
    pub(crate) fn reserved_for(&self, subject: &Name) -> Result<Option<ReservedFor>> {
        if subject.is_empty() {
            return Ok(None);
        }
        let key = subject_key(subject);
        for ca in self.cas() {
            if subject_key(ca.subject()) == key {
                return Ok(Some(ReservedFor::Ca(ca.name().to_owned())));
            }
        }
        for (ca, responder) in self.ocsp_responders() {
            if subject_key(responder.subject()) == key {
                return Ok(Some(ReservedFor::Responder(ca.clone())));
            }
        }
        for ca in self.ca_names() {
            if self
                .responder(&ca)
                .is_some_and(|r| subject_key(r.certificate().tbs_certificate().subject()) == key)
            {
                return Ok(Some(ReservedFor::Responder(ca)));
            }
        }
        let clients = self.store().find_clients_by_subject(&key)?;
        Ok(clients
            .into_iter()
            .next()
            .map(|client| ReservedFor::Client(client.id)))
    }

    /// Whether a stored certificate belongs to the CA's machinery: a CA
    /// certificate, a client credential (issued as one, or registered as a
    /// client's certificate), a delegated OCSP responder or the configured
    /// CMC responder certificate.
    ///
    /// # Errors
    /// Store failures.
    pub(crate) fn is_infrastructure(&self, record: &CertRecord) -> Result<bool> {
        if [
            CA_PROFILE,
            CLIENT_CREDENTIAL_PROFILE,
            OCSP_RESPONDER_PROFILE,
        ]
        .contains(&record.profile.as_str())
        {
            return Ok(true);
        }
        let Some(issued) = record.certificate() else {
            return Ok(false);
        };
        if self
            .store()
            .get_client_by_fingerprint(&fingerprint(&issued.cert_der))?
            .is_some()
        {
            return Ok(true);
        }
        Ok(self.ca_names().iter().any(|ca| {
            self.responder(ca).is_some_and(|r| {
                der::Encode::to_der(r.certificate()).is_ok_and(|d| d == issued.cert_der)
            })
        }))
    }

    /// Records the certificate subject of every client registered before
    /// the store kept subjects (schema version 5), so that their names are
    /// reserved too. Run once when the engine loads.
    ///
    /// # Errors
    /// Store failures; a stored client certificate that does not decode.
    pub(crate) fn backfill_client_subjects(&self) -> Result<()> {
        let mut page = cmc_store::PageRequest::first(cmc_store::PageRequest::MAX_LIMIT);
        loop {
            let found = self.store().list_clients(page)?;
            for client in found.items.iter().filter(|c| c.subject.is_none()) {
                let cert = crate::x509::decode_certificate("client certificate", &client.cert_der)?;
                let subject = subject_key(cert.tbs_certificate().subject());
                self.store().set_client_subject(&client.id, &subject)?;
                tracing::info!(client = client.id, subject, "client subject recorded");
            }
            match found.next {
                Some(next) => page.after = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// The bytes of a lower- or upper-case hex string, `None` if it is not one.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    base16ct::mixed::decode_vec(text).ok()
}
