//! CA rollover without cross-signing, as caucase does it: the next key and
//! CA certificate (same subject, new key identifier) exist first as a
//! *passive* generation, published beside the active one but issuing
//! nothing; activation (by command or at a set time) makes it the issuing
//! generation, and the one before it *retired*. A retired generation keeps
//! its key: it signs its own CRL and the OCSP answers about the
//! certificates it issued until its CA certificate expires (and with it
//! every certificate it issued, whose lifetimes were clamped to it).
//!
//! The store keeps the active generation in the CA record and the others
//! beside it (`ca_generations`); every certificate records the generation
//! that signed it.

use std::sync::Arc;

use cmc_policy::{MAX_INTERNAL_VALIDITY_DAYS, Profile};
use cmc_store::{
    AuditEvent, AuditKind, CaGeneration, CaRecord, GenerationState, Outcome, Store, UnixTime,
};
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;

use crate::ca::{CA_PROFILE, CaKey, LoadedCa};
use crate::error::{Error, Result};
use crate::issue::{Issuance, Issuer, engine_request, issue_certificate, plain_issuer_info};
use crate::key_config::KeyConfig;
use crate::x509::{decode_certificate, unix_time};

/// The audit kind of a new passive generation.
pub const ROLLOVER_EVENT: &str = "ca-rollover";
/// The audit kind of an activation.
pub const ACTIVATED_EVENT: &str = "ca-activated";

const SECS_PER_DAY: i64 = 86_400;

/// A loaded CA's generation number and its other generations.
#[derive(Clone, Debug, Default)]
pub(crate) struct Generations {
    /// This generation's number (1 for a CA never rolled over).
    pub(crate) number: u32,
    /// The passive next generation, if any (held by the active one).
    pub(crate) passive: Option<Arc<PassiveGeneration>>,
    /// The retired generations whose CA certificate has not expired,
    /// newest first, each with its key open (held by the active one).
    pub(crate) retired: Vec<Arc<LoadedCa>>,
    /// When this generation became active (the previous one's retirement),
    /// for a generation after the first.
    pub(crate) activated_at: Option<UnixTime>,
}

/// The passive next generation of a CA: published, not issuing.
#[derive(Debug)]
pub struct PassiveGeneration {
    /// Its number.
    pub generation: u32,
    /// Its CA certificate.
    pub certificate: Certificate,
    /// The same, DER.
    pub cert_der: Vec<u8>,
    /// Its issuer certificates up to the root (empty for a root).
    pub chain_der: Vec<Vec<u8>>,
    /// When it becomes active by itself, if set.
    pub activate_at: Option<UnixTime>,
}

impl LoadedCa {
    /// Decodes a stored CA with all its generations and opens the keys of
    /// the active one and of every retired one whose certificate is still
    /// valid at `now` (they sign CRLs and OCSP answers for what they
    /// issued).
    ///
    /// # Errors
    /// As [`LoadedCa::open`], for any generation; store errors.
    pub fn load(store: &dyn Store, record: CaRecord, now: UnixTime) -> Result<Self> {
        let name = record.name.clone();
        let parent = record.parent.clone();
        let mut ca = Self::open(record)?;
        ca.generations.number = store.active_generation(&name)?;
        for g in store.list_generations(&name)? {
            match g.state {
                GenerationState::Passive => {
                    ca.generations.passive = Some(Arc::new(PassiveGeneration {
                        generation: g.generation,
                        certificate: decode_certificate("passive CA certificate", &g.cert_der)?,
                        cert_der: g.cert_der,
                        chain_der: g.chain_der,
                        activate_at: g.activate_at,
                    }));
                }
                _ => {
                    if g.generation + 1 == ca.generations.number {
                        ca.generations.activated_at = g.retired_at;
                    }
                    let cert = decode_certificate("retired CA certificate", &g.cert_der)?;
                    if unix_time(&cert.tbs_certificate().validity().not_after) <= now {
                        continue;
                    }
                    let mut old = Self::open(CaRecord {
                        name: name.clone(),
                        cert_der: g.cert_der,
                        chain_der: g.chain_der,
                        key_ref: g.key_ref,
                        parent: parent.clone(),
                        created_at: g.created_at,
                    })
                    .map_err(|e| {
                        Error::bad(
                            "retired CA generation",
                            format!("generation {}: {e}", g.generation),
                        )
                    })?;
                    old.generations.number = g.generation;
                    ca.generations.retired.insert(0, Arc::new(old));
                }
            }
        }
        if let Some(p) = &ca.generations.passive {
            // Signed responses carry the next anchor too, so that a client
            // renewing in the passive phase learns it from a verified
            // answer before it needs it.
            let mut extra = ca
                .chain_der()
                .iter()
                .map(|der| decode_certificate("CA chain certificate", der))
                .collect::<Result<Vec<_>>>()?;
            extra.push(p.certificate.clone());
            ca.signer = cmc_codec::SignerIdentity::new(ca.certificate(), &extra)
                .map_err(|e| Error::bad("passive CA certificate", e))?;
        }
        Ok(ca)
    }

    /// This CA's key generation (1 until its first rollover).
    #[must_use]
    pub fn generation(&self) -> u32 {
        self.generations.number.max(1)
    }

    /// When this generation became active, for one after the first.
    #[must_use]
    pub fn activated_at(&self) -> Option<UnixTime> {
        self.generations.activated_at
    }

    /// The passive next generation, if any.
    #[must_use]
    pub fn passive(&self) -> Option<&PassiveGeneration> {
        self.generations.passive.as_deref()
    }

    /// The retired generations still valid when loaded, newest first.
    #[must_use]
    pub fn retired(&self) -> &[Arc<LoadedCa>] {
        &self.generations.retired
    }

    /// What clients should trust for this CA, DER: the active CA
    /// certificate, the passive and retired ones, then the issuer
    /// certificates of each, without repeats (`/ca/{ca}.pem`, EST cacerts,
    /// CMP caCerts).
    #[must_use]
    pub fn bundle_der(&self) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = vec![self.certificate_der()];
        if let Some(p) = self.passive() {
            out.push(&p.cert_der);
        }
        for r in self.retired() {
            out.push(r.certificate_der());
        }
        let chains = std::iter::once(self.chain_der())
            .chain(self.passive().map(|p| p.chain_der.as_slice()))
            .chain(self.retired().iter().map(|r| r.chain_der()));
        for chain in chains {
            for der in chain {
                if !out.contains(&der.as_slice()) {
                    out.push(der);
                }
            }
        }
        out
    }

    /// The generation that signed a certificate whose
    /// authorityKeyIdentifier is `aki`: this one or a retired one.
    #[must_use]
    pub fn generation_by_key_id(&self, aki: &[u8]) -> Option<&LoadedCa> {
        if aki == self.key_identifier() {
            return Some(self);
        }
        self.retired()
            .iter()
            .map(AsRef::as_ref)
            .find(|r| r.key_identifier() == aki)
    }

    /// Generation `number` of this CA, when it is this one or a loaded
    /// retired one.
    #[must_use]
    pub fn generation_numbered(&self, number: u32) -> Option<&LoadedCa> {
        if number == self.generation() {
            return Some(self);
        }
        self.retired()
            .iter()
            .map(AsRef::as_ref)
            .find(|r| r.generation() == number)
    }
}

/// The authorityKeyIdentifier keyIdentifier of a certificate (DER), if it
/// has one.
pub(crate) fn authority_key_id(cert_der: &[u8]) -> Option<Vec<u8>> {
    let cert = Certificate::from_der(cert_der).ok()?;
    let (_, aki) = cert
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .ok()??;
    aki.key_identifier.map(|k| k.as_bytes().to_vec())
}

/// What `ca rollover` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollover {
    /// The CA.
    pub ca: String,
    /// The new key (a new file or token key; never the current one).
    pub key: CaKey,
    /// Days of validity from now (an intermediate's is cut at its
    /// parent's notAfter).
    pub validity_days: u32,
    /// When it becomes active by itself; `None`: by `ca activate` only.
    pub activate_at: Option<UnixTime>,
    /// Who asked, for the audit log.
    pub requester: String,
}

/// Creates the next generation of CA `r.ca`, passive: a new key, and a CA
/// certificate with the same subject and pathLenConstraint and the new key
/// identifier, valid from `now` (self-signed for a root; for an
/// intermediate issued by its stored parent's active generation, and
/// recorded in the parent's certificate table, as `ca init` does). Stored
/// with a `ca-rollover` audit event.
///
/// # Errors
/// [`Error::UnknownCa`]; [`Error::InvalidRequest`] when the CA already has
/// a passive generation, its issuer is not stored here, the key is the
/// current one, or the validity is out of range; key, policy and store
/// errors.
pub fn rollover_ca(store: &dyn Store, now: UnixTime, r: &Rollover) -> Result<CaGeneration> {
    let record = store
        .get_ca(&r.ca)?
        .ok_or_else(|| Error::UnknownCa(r.ca.clone()))?;
    let current = LoadedCa::load(store, record, now)?;
    if let Some(p) = current.passive() {
        return Err(Error::InvalidRequest(format!(
            "CA {:?} already has a passive generation ({}): activate it (`ca activate`) \
             before the next rollover",
            r.ca, p.generation
        )));
    }
    if r.validity_days == 0 || r.validity_days > MAX_INTERNAL_VALIDITY_DAYS {
        return Err(Error::InvalidRequest(format!(
            "a CA certificate lives 1 to {MAX_INTERNAL_VALIDITY_DAYS} days"
        )));
    }
    let parent = match current.parent() {
        Some(p) => {
            let record = store
                .get_ca(p)?
                .ok_or_else(|| Error::UnknownCa(p.to_owned()))?;
            let parent = LoadedCa::load(store, record, now)?;
            parent.check_valid_at(now)?;
            Some(parent)
        }
        None if !current.chain_der().is_empty() => {
            return Err(Error::InvalidRequest(format!(
                "CA {:?} was issued by a CA not stored here: its next certificate must come \
                 from that CA (import it as a new CA instead)",
                r.ca
            )));
        }
        None => None,
    };
    let (config, key) = match &r.key {
        CaKey::Generate { spec, config } => config.generate(*spec)?,
        CaKey::Existing(config) => (config.clone(), config.open()?),
    };
    if key.public_key()
        == current
            .certificate()
            .tbs_certificate()
            .subject_public_key_info()
    {
        return Err(Error::InvalidRequest(
            "the next generation needs a new key, not the current one".into(),
        ));
    }
    let number = current.generation() + 1;
    let mut not_after = now.plus_secs(i64::from(r.validity_days) * SECS_PER_DAY);
    if let Some(p) = &parent {
        not_after = not_after.min(p.not_after());
    }
    let subject = current.subject().clone();
    let detail = serde_json::json!({
        "ca": {
            "subject": subject.to_string(),
            "generation": number,
            "issuer": parent.as_ref().map_or("(self-signed)", LoadedCa::name),
            "key": match config {
                KeyConfig::File { .. } => "file",
                KeyConfig::Pkcs11 { .. } => "pkcs11",
            },
            "scheme": config.scheme().to_string(),
            "activate_at": r.activate_at.map(|t| t.secs()),
        }
    });
    let request = engine_request(subject.clone(), key.public_key().clone(), now, not_after)?;
    let profile = Profile::ca_certificate(current.path_len());
    let issuance = Issuance {
        profile: &profile,
        request: &request,
        requester: &r.requester,
        check_names: None,
        request_hash: Vec::new(),
        about: detail.clone(),
    };
    let mut generation = CaGeneration {
        ca: r.ca.clone(),
        generation: number,
        state: GenerationState::Passive,
        cert_der: Vec::new(),
        chain_der: Vec::new(),
        key_ref: config.to_key_ref()?,
        created_at: now,
        activate_at: r.activate_at,
        retired_at: None,
    };
    match &parent {
        Some(p) => {
            let issued =
                issue_certificate(store, now, Issuer::ca(p, plain_issuer_info(p)?), &issuance)?;
            generation.cert_der = issued.der;
            generation.chain_der = std::iter::once(p.certificate_der().to_vec())
                .chain(p.chain_der().iter().cloned())
                .collect();
            store.put_passive_generation(
                &generation,
                &AuditEvent {
                    at: now,
                    kind: AuditKind::Other(ROLLOVER_EVENT.to_owned()),
                    issuer: Some(r.ca.clone()),
                    serial: Some(issued.serial),
                    profile: Some(CA_PROFILE.to_owned()),
                    requester: Some(r.requester.clone()),
                    outcome: Outcome::Success,
                    detail: detail.to_string(),
                },
            )?;
        }
        None => {
            let info = crate::ca::self_issuer_info(&subject, key.as_ref(), now, not_after);
            let issuer = Issuer::new_root_generation(generation.clone(), key.as_ref(), info);
            let issued = issue_certificate(store, now, issuer, &issuance)?;
            generation.cert_der = issued.der;
        }
    }
    tracing::info!(
        ca = r.ca,
        generation = number,
        "passive CA generation created"
    );
    Ok(generation)
}

/// Makes the passive generation of CA `ca` the issuing one (see the module
/// documentation), after checking that its certificate is valid at `now`
/// and that its key opens and matches it. Returns its number.
///
/// # Errors
/// [`Error::UnknownCa`]; [`Error::InvalidRequest`] when the CA has no
/// passive generation (never rolled over, or already activated); as
/// [`LoadedCa::open`] for its key; store errors.
pub fn activate_ca(store: &dyn Store, now: UnixTime, ca: &str, requester: &str) -> Result<u32> {
    if store.get_ca(ca)?.is_none() {
        return Err(Error::UnknownCa(ca.to_owned()));
    }
    let no_passive = || {
        Error::InvalidRequest(format!(
            "CA {ca:?} has no passive generation to activate: create one with `ca rollover`"
        ))
    };
    let passive = store
        .list_generations(ca)?
        .into_iter()
        .find(|g| g.state == GenerationState::Passive)
        .ok_or_else(no_passive)?;
    let next = LoadedCa::open(CaRecord {
        name: ca.to_owned(),
        cert_der: passive.cert_der.clone(),
        chain_der: passive.chain_der.clone(),
        key_ref: passive.key_ref.clone(),
        parent: None,
        created_at: passive.created_at,
    })?;
    next.check_valid_at(now)?;
    let event = AuditEvent {
        at: now,
        kind: AuditKind::Other(ACTIVATED_EVENT.to_owned()),
        issuer: Some(ca.to_owned()),
        serial: Some(next.serial()?),
        profile: None,
        requester: Some(requester.to_owned()),
        outcome: Outcome::Success,
        detail: serde_json::json!({ "generation": passive.generation }).to_string(),
    };
    match store.activate_generation(ca, passive.generation, now, &event) {
        Ok(()) => {}
        Err(cmc_store::Error::NotFound(_)) => return Err(no_passive()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        ca,
        generation = passive.generation,
        "CA generation activated"
    );
    Ok(passive.generation)
}

/// Activates every passive generation whose activation time has come;
/// returns the CAs activated here (another process sharing the store may
/// have done some first: those are skipped).
///
/// # Errors
/// Store errors; a generation that cannot be activated is logged and
/// skipped.
pub fn activate_due(store: &dyn Store, now: UnixTime) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for record in store.list_cas()? {
        let due = store.list_generations(&record.name)?.into_iter().any(|g| {
            g.state == GenerationState::Passive && g.activate_at.is_some_and(|at| at <= now)
        });
        if !due {
            continue;
        }
        match activate_ca(store, now, &record.name, "scheduled activation") {
            Ok(_) => done.push(record.name),
            Err(Error::InvalidRequest(_)) => {}
            Err(e) => {
                tracing::error!(ca = record.name, error = %e, "scheduled CA activation failed");
            }
        }
    }
    Ok(done)
}
