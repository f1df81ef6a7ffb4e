//! Delegated OCSP responders (RFC 6960 §4.2.2.2): the responder
//! certificate the engine issues for a CA's `[ca.NAME.ocsp]` key, taken up
//! again from the store after a restart, and renewed within its margin.

use super::*;
use crate::status::ResponderInUse;

/// A delegated responder certificate in use.
#[derive(Debug)]
pub(crate) struct ResponderCert {
    pub(super) cert: Certificate,
    pub(super) der: Vec<u8>,
    serial: Serial,
    not_before: UnixTime,
    pub(super) not_after: UnixTime,
}

impl ResponderCert {
    fn from_der(der: Vec<u8>, serial: Serial) -> Result<Self> {
        let cert = decode_certificate("OCSP responder certificate", &der)?;
        let validity = cert.tbs_certificate().validity();
        Ok(Self {
            not_before: unix_time(&validity.not_before),
            not_after: unix_time(&validity.not_after),
            cert,
            der,
            serial,
        })
    }

    fn is_valid_at(&self, now: UnixTime) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

/// A CA's delegated OCSP responder (`[ca.NAME.ocsp] key`): the key, the
/// subject of its certificates, and the certificate in use.
pub(crate) struct DelegatedResponder {
    pub(super) key: Arc<dyn SigningKey>,
    spki_der: Vec<u8>,
    subject: Name,
    current: Mutex<Option<Arc<ResponderCert>>>,
}

impl std::fmt::Debug for DelegatedResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegatedResponder")
            .field("subject", &self.subject.to_string())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Opens the delegated OCSP responder of every CA whose `[ca.NAME.ocsp]`
/// names a key, and checks every CA's OCSP settings. A certificate of the
/// key already in the store, valid now, is taken up again.
///
/// # Errors
/// [`Error::Config`] for bad settings or a section naming no loaded CA;
/// [`Error::CaLoad`] when the key does not open; store errors.
pub(crate) fn open_responders(
    config: &EngineConfig,
    cas: &BTreeMap<String, Arc<LoadedCa>>,
    store: &dyn Store,
    now: UnixTime,
) -> Result<BTreeMap<String, Arc<DelegatedResponder>>> {
    let mut out = BTreeMap::new();
    for (name, settings) in &config.cas {
        let Some(ocsp) = &settings.ocsp else {
            continue;
        };
        ocsp.validate()
            .map_err(|e| Error::Config(format!("ca.{name}.ocsp: {e}")))?;
        let Some(key_config) = &ocsp.key else {
            continue;
        };
        let ca = cas
            .get(name)
            .ok_or_else(|| Error::Config(format!("ca.{name}.ocsp: there is no CA {name:?}")))?;
        let load = |e: Error| Error::CaLoad {
            ca: name.clone(),
            source: Box::new(e),
        };
        let key = key_config.open().map_err(load)?;
        let subject = match &ocsp.responder_subject {
            Some(s) => parse_name(s)?,
            None => parse_name(&format!("CN={name} OCSP responder"))?,
        };
        let spki_der = key
            .public_key()
            .to_der()
            .map_err(|e| Error::encode("public key", e))?;
        if spki_der
            == ca
                .certificate()
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|e| Error::encode("public key", e))?
        {
            return Err(Error::Config(format!(
                "ca.{name}.ocsp.key is the CA's own key: leave `key` out to sign with it"
            )));
        }
        let responder = DelegatedResponder {
            current: Mutex::new(find_stored(store, ca, &spki_der, now)?.map(Arc::new)),
            key,
            spki_der,
            subject,
        };
        match responder.lock().as_ref() {
            Some(cert) => tracing::info!(ca = name, serial = %cert.serial,
                not_after = %cert.not_after, "delegated OCSP responder certificate taken up"),
            None => tracing::info!(
                ca = name,
                "delegated OCSP responder: a certificate is issued on first use"
            ),
        }
        out.insert(name.clone(), Arc::new(responder));
    }
    Ok(out)
}

/// Every delegated responder certificate of `ca` in state `status`, oldest
/// first, valid at `valid_at` if given.
fn stored_responder_certs(
    store: &dyn CertStore,
    ca: &LoadedCa,
    status: StoredStatus,
    valid_at: Option<UnixTime>,
) -> Result<Vec<CertRecord>> {
    let filter = CertFilter {
        issuer: Some(ca.name().to_owned()),
        status: Some(status),
        profile: Some(OCSP_RESPONDER_PROFILE.to_owned()),
        valid_at,
        ..CertFilter::default()
    };
    let mut out = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = store.list_certs(&filter, page)?;
        out.extend(got.items);
        match got.next {
            Some(cursor) => page = PageRequest::after(cursor, PageRequest::MAX_LIMIT),
            None => return Ok(out),
        }
    }
}

fn holds_key(record: &CertRecord, spki_der: &[u8]) -> bool {
    record.certificate().is_some_and(|issued| {
        Certificate::from_der(&issued.cert_der).is_ok_and(|cert| {
            cert.tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .is_ok_and(|d| d == spki_der)
        })
    })
}

/// The stored, unrevoked responder certificate for the key with the latest
/// notAfter among those valid at `now`.
fn find_stored(
    store: &dyn CertStore,
    ca: &LoadedCa,
    spki_der: &[u8],
    now: UnixTime,
) -> Result<Option<ResponderCert>> {
    let mut best: Option<ResponderCert> = None;
    for record in stored_responder_certs(store, ca, StoredStatus::Issued, Some(now))? {
        if !holds_key(&record, spki_der) {
            continue;
        }
        let Some(issued) = record.certificate() else {
            continue;
        };
        let cert = ResponderCert::from_der(issued.cert_der.clone(), record.serial.clone())?;
        if best.as_ref().is_none_or(|b| cert.not_after > b.not_after) {
            best = Some(cert);
        }
    }
    Ok(best)
}

impl DelegatedResponder {
    /// The subject of its certificates (a reserved name).
    pub(crate) fn subject(&self) -> &Name {
        &self.subject
    }

    /// The certificate this process signs with, without renewing or
    /// issuing one: the one in use, else the newest suitable one in the
    /// store; `None` when there is none yet.
    pub(crate) fn in_use(
        &self,
        store: &dyn Store,
        ca: &LoadedCa,
        now: UnixTime,
    ) -> Result<Option<ResponderInUse>> {
        let held = self.lock().clone();
        let cert = match held {
            Some(cert) => Some(cert),
            None => find_stored(store, ca, &self.spki_der, now)?.map(Arc::new),
        };
        Ok(cert.map(|c| ResponderInUse {
            subject: c.cert.tbs_certificate().subject().to_string(),
            serial: c.serial.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<ResponderCert>>> {
        // The slot is only ever replaced whole, so a panic elsewhere while
        // it was held cannot have left it half-written.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The certificate to sign with now: the one in use, unless it is not
    /// valid now or within the renewal margin of its end (and a new one
    /// would reach further), or has been revoked. Then the newest suitable
    /// one in the store (another process may have renewed), else a new one.
    /// If issuing fails, the one in use serves while it is valid.
    pub(super) fn current(
        &self,
        store: &dyn Store,
        ca: &LoadedCa,
        config: &OcspConfig,
        now: UnixTime,
    ) -> Result<Arc<ResponderCert>> {
        let mut slot = self.lock();
        if let Some(cert) = slot.as_ref() {
            let revoked = store
                .get_cert(ca.name(), &cert.serial)?
                .is_some_and(|r| r.status() == StoredStatus::Revoked);
            if revoked {
                tracing::warn!(ca = ca.name(), serial = %cert.serial,
                    "the delegated OCSP responder certificate in use was revoked");
                *slot = None;
            } else if !due(cert, ca, config, now) {
                return Ok(Arc::clone(cert));
            }
        }
        if let Some(stored) = find_stored(store, ca, &self.spki_der, now)? {
            let stored = Arc::new(stored);
            let newer = slot.as_ref().is_none_or(|c| stored.not_after > c.not_after);
            if newer {
                *slot = Some(Arc::clone(&stored));
            }
            if !due(&stored, ca, config, now) {
                return Ok(stored);
            }
        }
        match self.issue(store, ca, config, now) {
            Ok(new) => {
                let new = Arc::new(new);
                *slot = Some(Arc::clone(&new));
                Ok(new)
            }
            Err(e) => match slot.as_ref() {
                Some(cert) if cert.is_valid_at(now) => {
                    tracing::warn!(ca = ca.name(), error = %e, not_after = %cert.not_after,
                        "renewing the delegated OCSP responder certificate failed; the current one serves");
                    Ok(Arc::clone(cert))
                }
                _ => Err(e),
            },
        }
    }

    /// Issues a responder certificate for the key by the one issuance
    /// path with the profile [`cmc_policy::Profile::ocsp_responder`]:
    /// keyUsage digitalSignature, extendedKeyUsage id-kp-OCSPSigning and
    /// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2), linted, recorded under
    /// [`OCSP_RESPONDER_PROFILE`] with its audit event. Refused for a key
    /// whose earlier responder certificate was revoked.
    fn issue(
        &self,
        store: &dyn Store,
        ca: &LoadedCa,
        config: &OcspConfig,
        now: UnixTime,
    ) -> Result<ResponderCert> {
        let revoked = stored_responder_certs(store, ca, StoredStatus::Revoked, None)?;
        if revoked.iter().any(|r| holds_key(r, &self.spki_der)) {
            return Err(Error::InvalidRequest(format!(
                "a delegated OCSP responder certificate of CA {:?} for this key was revoked: configure a new key",
                ca.name()
            )));
        }
        ca.check_valid_at(now)?;
        let not_after = now
            .plus_secs(config.responder_validity_secs)
            .min(ca.not_after());
        let not_before = now
            .plus_secs(-i64::from(OCSP_RESPONDER_BACKDATE_SECONDS))
            .max(ca.not_before());
        let request = engine_request(
            self.subject.clone(),
            self.key.public_key().clone(),
            not_before,
            not_after,
        )?;
        let issued = issue_certificate(
            store,
            now,
            Issuer::ca(ca, plain_issuer_info(ca)?),
            &Issuance {
                profile: &Profile::ocsp_responder(),
                request: &request,
                requester: RENEWAL_REQUESTER,
                check_names: None,
                request_hash: Vec::new(),
                about: serde_json::json!({ "responder": self.subject.to_string() }),
            },
        )?;
        tracing::info!(ca = ca.name(), serial = %issued.serial, not_after = %not_after,
            "delegated OCSP responder certificate issued");
        ResponderCert::from_der(issued.der, issued.serial)
    }
}

/// Whether `cert` must be replaced at `now`: it is not valid now, or less
/// than the renewal margin is left and a new certificate would reach
/// further (near the CA's end one would not, and is not issued again and
/// again).
fn due(cert: &ResponderCert, ca: &LoadedCa, config: &OcspConfig, now: UnixTime) -> bool {
    if !cert.is_valid_at(now) {
        return true;
    }
    // Certified by an earlier key generation of the CA (before a
    // rollover's activation): the active generation certifies a new one.
    if crate::generation::authority_key_id(&cert.der).is_some_and(|aki| aki != ca.key_identifier())
    {
        return true;
    }
    let new_not_after = now
        .plus_secs(config.responder_validity_secs)
        .min(ca.not_after());
    now >= cert
        .not_after
        .plus_secs(-config.responder_renew_margin_secs)
        && new_not_after > cert.not_after
}
