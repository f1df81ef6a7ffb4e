//! CRLs (RFC 5280 §5): a v2 CRL per CA, numbered by the store, and the
//! rule for when the latest one is still good enough to hand out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use cmc_store::{
    AuditEvent, AuditKind, CrlRecord, Outcome, RevocationReason, RevokedEntry, Store, UnixTime,
};
use x509_cert::ext::pkix::CrlReason;

use crate::ca::LoadedCa;
use crate::crl_encode::{RevokedList, StoredEntries, sign_crl};
use crate::engine::Engine;
use crate::error::{Error, Result};

const DAY: i64 = 86_400;

/// How CRLs are dated and when a stored one is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlConfig {
    /// nextUpdate − thisUpdate, in seconds (default 7 days); cut at the CA
    /// certificate's notAfter.
    pub validity_secs: i64,
    /// A stored CRL whose nextUpdate is less than this many seconds away is
    /// replaced (default 1 day). Must be below `validity_secs`.
    pub refresh_margin_secs: i64,
}

impl Default for CrlConfig {
    fn default() -> Self {
        Self {
            validity_secs: 7 * DAY,
            refresh_margin_secs: DAY,
        }
    }
}

impl CrlConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a validity below one minute or a
    /// margin that is negative or not below the validity.
    pub fn validate(&self) -> Result<()> {
        if self.validity_secs < 60 {
            return Err(Error::InvalidRequest(
                "CRL validity must be at least 60 seconds".into(),
            ));
        }
        if self.refresh_margin_secs < 0 || self.refresh_margin_secs >= self.validity_secs {
            return Err(Error::InvalidRequest(
                "the CRL refresh margin must be at least 0 and below the CRL validity".into(),
            ));
        }
        Ok(())
    }
}

/// Builds and signs a v2 CRL for `ca`: issuer = the CA's subject,
/// thisUpdate and nextUpdate as given, one entry per revoked certificate
/// (with reasonCode unless unspecified, and invalidityDate when known),
/// crlExtensions authorityKeyIdentifier (the CA's key identifier) and
/// cRLNumber (both non-critical). An empty list is left out, as RFC 5280
/// §5.1.2.6 requires. Returns the DER. The engine streams the entries from
/// the store instead ([`Engine::generate_crl`]); this is the same encoder
/// over a slice.
///
/// # Errors
/// [`Error::TimeOutOfRange`], [`Error::Encode`], and the key's errors.
pub fn build_crl(
    ca: &LoadedCa,
    crl_number: u64,
    this_update: UnixTime,
    next_update: UnixTime,
    revoked: &[RevokedEntry],
) -> Result<Vec<u8>> {
    let mut list = RevokedList::default();
    for entry in revoked {
        list.push(entry)?;
    }
    sign_crl(ca, crl_number, this_update, next_update, list)
}

/// Runs `f` on each revoked certificate of `issuer` as the store's cursor
/// yields it; an error of `f` stops the listing and is returned as it is.
fn for_each_revoked(
    store: &dyn Store,
    issuer: &str,
    generation: u32,
    mut f: impl FnMut(&RevokedEntry) -> Result<()>,
) -> Result<u64> {
    let mut failed = None;
    let listed = store.for_each_revoked_of_generation(issuer, generation, &mut |entry| {
        f(&entry).map_err(|e| {
            failed = Some(e);
            // Only stops the cursor: the error itself is returned below.
            cmc_store::Error::Invalid("CRL entry refused".into())
        })
    });
    match (failed, listed) {
        (Some(e), _) => Err(e),
        (None, listed) => Ok(listed?),
    }
}

/// The CRLs the engine hands out, one per CA key generation, with the
/// revocation epoch each was checked at; shared, so a CRL of millions of
/// entries is not copied per request.
#[derive(Debug, Default)]
pub(crate) struct CrlCache {
    crls: Mutex<BTreeMap<GenerationKey, (Arc<CrlRecord>, u64)>>,
}

/// A CA's name and one of its key generations.
type GenerationKey = (String, u32);

impl CrlCache {
    /// The cached CRL of generation `generation` of `ca`, if it was checked
    /// at revocation `epoch`.
    fn get(&self, ca: &str, generation: u32, epoch: u64) -> Option<Arc<CrlRecord>> {
        let crls = self.crls.lock().unwrap_or_else(PoisonError::into_inner);
        crls.get(&(ca.to_owned(), generation))
            .filter(|(_, at)| *at == epoch)
            .map(|(record, _)| Arc::clone(record))
    }

    /// The cached CRL of generation `generation` of `ca`, whatever the
    /// epoch it was checked at (what this process handed out last).
    pub(crate) fn peek(&self, ca: &str, generation: u32) -> Option<Arc<CrlRecord>> {
        let crls = self.crls.lock().unwrap_or_else(PoisonError::into_inner);
        crls.get(&(ca.to_owned(), generation))
            .map(|(record, _)| Arc::clone(record))
    }

    /// Remembers `record` as the current CRL of its CA's generation
    /// `generation` at `epoch`.
    fn put(&self, record: Arc<CrlRecord>, generation: u32, epoch: u64) {
        let mut crls = self.crls.lock().unwrap_or_else(PoisonError::into_inner);
        crls.insert((record.issuer.clone(), generation), (record, epoch));
    }
}

/// The reasonCode entry extension for `reason`; none for unspecified
/// (RFC 5280 §5.3.1: "the reason code extension SHOULD be absent").
pub fn crl_reason(reason: RevocationReason) -> Option<CrlReason> {
    Some(match reason {
        RevocationReason::Unspecified => return None,
        RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
        RevocationReason::CaCompromise => CrlReason::CaCompromise,
        RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
        RevocationReason::Superseded => CrlReason::Superseded,
        RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
        RevocationReason::CertificateHold => CrlReason::CertificateHold,
        RevocationReason::RemoveFromCrl => CrlReason::RemoveFromCRL,
        RevocationReason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise => CrlReason::AaCompromise,
        // A reason added to the store later: listed without a code rather
        // than with a wrong one.
        _ => return None,
    })
}

/// Why a CRL is too old (or too young) to hand out at `now`, whatever its
/// entries.
fn out_of_date(
    latest: &CrlRecord,
    now: UnixTime,
    ca_not_after: UnixTime,
    config: &CrlConfig,
) -> Option<&'static str> {
    if now < latest.this_update {
        return Some("its thisUpdate is in the future");
    }
    if now >= latest.next_update {
        return Some("its nextUpdate is past");
    }
    let new_next_update = now.plus_secs(config.validity_secs).min(ca_not_after);
    if now >= latest.next_update.plus_secs(-config.refresh_margin_secs)
        && new_next_update > latest.next_update
    {
        return Some("its nextUpdate is near");
    }
    None
}

/// Why a stored CRL is not handed out as it is, if it is not.
///
/// Near its nextUpdate a CRL is only replaced if the new one would reach
/// further: near the end of the CA's life, where nextUpdate is cut at the
/// CA's notAfter, reissuing would not help, and would issue a new CRL on
/// every call. Its entries are compared with the store's revocations one
/// by one as the store lists them, without decoding the stored list.
fn stale_reason(
    store: &dyn Store,
    latest: &CrlRecord,
    now: UnixTime,
    ca: &LoadedCa,
    config: &CrlConfig,
) -> Result<Option<&'static str>> {
    if let Some(why) = out_of_date(latest, now, ca.not_after(), config) {
        return Ok(Some(why));
    }
    // A CRL stored up to the second this generation was activated may be
    // the previous generation's, signed by the previous key.
    if ca.activated_at().is_some_and(|at| latest.this_update <= at) {
        return Ok(Some("the previous CA generation signed it"));
    }
    let mut stored = StoredEntries::of(&latest.der)?;
    for_each_revoked(store, &latest.issuer, ca.generation(), |entry| {
        stored.next_is(entry)
    })?;
    if !stored.all_matched() {
        return Ok(Some("revocations changed since it was issued"));
    }
    Ok(None)
}

impl Engine {
    /// Issues a new CRL for `ca` now: the next cRLNumber from the store,
    /// nextUpdate = now + [`CrlConfig::validity_secs`] cut at the CA's
    /// notAfter, every revoked certificate listed. Stores it as the latest
    /// and writes an audit event. If another process stored a higher
    /// number meanwhile, that CRL is returned instead.
    ///
    /// # Errors
    /// [`Error::UnknownCa`], [`Error::CaNotValid`] if the CA certificate is
    /// not valid now, key and store errors.
    pub fn generate_crl(&self, ca: &str) -> Result<CrlRecord> {
        self.generate_crl_shared(ca, None).map(Arc::unwrap_or_clone)
    }

    /// [`Engine::generate_crl`] asked for by `requester` (an operator), who
    /// is named in the audit event.
    ///
    /// # Errors
    /// As [`Engine::generate_crl`].
    pub fn generate_crl_by(&self, ca: &str, requester: &str) -> Result<CrlRecord> {
        self.generate_crl_shared(ca, Some(requester))
            .map(Arc::unwrap_or_clone)
    }

    /// [`Engine::generate_crl`], the record shared rather than copied.
    fn generate_crl_shared(&self, ca: &str, requester: Option<&str>) -> Result<Arc<CrlRecord>> {
        let ca = self.ca(ca)?;
        let now = self.now();
        ca.check_valid_at(now)?;
        let store = self.store();
        let mut list = RevokedList::default();
        for_each_revoked(store.as_ref(), ca.name(), ca.generation(), |entry| {
            list.push(entry)
        })?;
        let entries = list.count();
        let number = store.next_crl_number(ca.name())?;
        let next_update = now
            .plus_secs(self.config().crl.validity_secs)
            .min(ca.not_after());
        let der = sign_crl(&ca, number, now, next_update, list)?;
        let record = CrlRecord {
            issuer: ca.name().to_owned(),
            crl_number: number,
            der,
            this_update: now,
            next_update,
        };
        let stored = store.store_crl(&record)?;
        store.append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::CrlIssued,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile: None,
            requester: requester.map(str::to_owned),
            outcome: Outcome::Success,
            detail: format!(
                "CRL number {number}, {entries} entries, next update {next_update}{}",
                if stored {
                    ""
                } else {
                    "; a newer CRL was already stored"
                }
            ),
        })?;
        tracing::info!(ca = ca.name(), number, entries, "CRL issued");
        if stored {
            return Ok(Arc::new(record));
        }
        Ok(Arc::new(store.latest_crl(ca.name())?.unwrap_or(record)))
    }

    /// The CRL to hand out for `ca`: the latest stored one, unless there is
    /// none, its nextUpdate is past (or within
    /// [`CrlConfig::refresh_margin_secs`], when a new CRL would reach
    /// further), its thisUpdate is in the future, or its entries differ from the store's revocations (a revocation or
    /// a lifted hold since); then a new one ([`Engine::generate_crl`]).
    ///
    /// # Errors
    /// As [`Engine::generate_crl`]; [`Error::BadCertificate`] if the stored
    /// CRL does not decode.
    pub fn current_crl(&self, ca: &str) -> Result<CrlRecord> {
        self.current_crl_shared(ca).map(Arc::unwrap_or_clone)
    }

    /// [`Engine::current_crl`] without a copy: the engine's cached record,
    /// shared (what a server hands out on every `GET`). A revocation on
    /// any process sharing the store moves the revocation epoch, read here
    /// on every call (one indexed row), so the next call after it returns
    /// a CRL that lists it.
    ///
    /// # Errors
    /// As [`Engine::current_crl`].
    pub fn current_crl_shared(&self, ca: &str) -> Result<Arc<CrlRecord>> {
        let loaded = self.ca(ca)?;
        let now = self.now();
        let store = self.store();
        // Read before the revocations: a revocation after this read moves
        // the epoch, so the CRL cached below is rebuilt on the next call.
        let epoch = store.revocation_epoch(loaded.name())?;
        if let Some(cached) = self
            .crl_cache()
            .get(loaded.name(), loaded.generation(), epoch)
        {
            if out_of_date(&cached, now, loaded.not_after(), &self.config().crl).is_none() {
                return Ok(cached);
            }
        }
        let record = self.current_crl_uncached(&loaded, now)?;
        self.crl_cache()
            .put(Arc::clone(&record), loaded.generation(), epoch);
        Ok(record)
    }

    /// The CRL of key generation `generation` of CA `ca`: for the active
    /// generation [`Engine::current_crl_shared`]; for a retired one whose
    /// CA certificate is still valid, a CRL of the certificates that
    /// generation issued and that are revoked, signed by its own key, with
    /// the next number of the CA's one cRLNumber sequence. It is kept in
    /// memory until a revocation or its refresh margin (not stored: every
    /// process makes its own, numbered from the shared sequence).
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; [`Error::InvalidRequest`] for a generation
    /// that is not loaded (passive, expired or never made); key and store
    /// errors.
    pub fn generation_crl(&self, ca: &str, generation: u32) -> Result<Arc<CrlRecord>> {
        let loaded = self.ca(ca)?;
        if generation == loaded.generation() {
            return self.current_crl_shared(ca);
        }
        let old = loaded.generation_numbered(generation).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "CA {ca:?} has no retired generation {generation} that is still valid"
            ))
        })?;
        let now = self.now();
        old.check_valid_at(now)?;
        let store = self.store();
        let epoch = store.revocation_epoch(ca)?;
        if let Some(cached) = self.crl_cache().get(ca, generation, epoch) {
            if out_of_date(&cached, now, old.not_after(), &self.config().crl).is_none() {
                return Ok(cached);
            }
        }
        let mut list = RevokedList::default();
        for_each_revoked(store.as_ref(), ca, generation, |entry| list.push(entry))?;
        let entries = list.count();
        let number = store.next_crl_number(ca)?;
        let next_update = now
            .plus_secs(self.config().crl.validity_secs)
            .min(old.not_after());
        let der = sign_crl(old, number, now, next_update, list)?;
        store.append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::CrlIssued,
            issuer: Some(ca.to_owned()),
            serial: None,
            profile: None,
            requester: None,
            outcome: Outcome::Success,
            detail: format!(
                "CRL number {number} of retired generation {generation}, {entries} entries, \
                 next update {next_update}"
            ),
        })?;
        tracing::info!(
            ca,
            generation,
            number,
            entries,
            "CRL of a retired generation issued"
        );
        let record = Arc::new(CrlRecord {
            issuer: ca.to_owned(),
            crl_number: number,
            der,
            this_update: now,
            next_update,
        });
        self.crl_cache().put(Arc::clone(&record), generation, epoch);
        Ok(record)
    }

    /// [`Engine::current_crl`] without the cache: the stored CRL checked
    /// against the store's revocations, or a new one.
    fn current_crl_uncached(&self, loaded: &LoadedCa, now: UnixTime) -> Result<Arc<CrlRecord>> {
        let store = self.store();
        let ca = loaded.name();
        if let Some(latest) = store.latest_crl(ca)? {
            match stale_reason(store.as_ref(), &latest, now, loaded, &self.config().crl)? {
                None => return Ok(Arc::new(latest)),
                Some(why) => {
                    tracing::debug!(ca, number = latest.crl_number, why, "reissuing the CRL");
                }
            }
        }
        self.generate_crl_shared(ca, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_map_one_to_one() {
        assert_eq!(crl_reason(RevocationReason::Unspecified), None);
        for code in (1..=10).filter(|c| *c != 7) {
            let reason = RevocationReason::from_code(code).unwrap();
            assert_eq!(crl_reason(reason).unwrap() as u32, u32::from(code));
        }
    }

    #[test]
    fn config_limits() {
        CrlConfig::default().validate().unwrap();
        for bad in [
            CrlConfig {
                validity_secs: 10,
                refresh_margin_secs: 0,
            },
            CrlConfig {
                validity_secs: DAY,
                refresh_margin_secs: DAY,
            },
            CrlConfig {
                validity_secs: DAY,
                refresh_margin_secs: -1,
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
