//! What an operator reads about a CA's CRLs and OCSP without changing
//! anything: the CRL each key generation last had (number, dates, size,
//! entries) and the OCSP responder in use with the response cache. Nothing
//! here signs, issues or stores.

use std::sync::Arc;

use cmc_store::{CrlRecord, Serial, UnixTime};

use crate::crl_encode::count_entries;
use crate::engine::Engine;
use crate::error::Result;

/// One CRL as it was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlSummary {
    /// Its cRLNumber.
    pub number: u64,
    /// Its thisUpdate: when it was made.
    pub this_update: UnixTime,
    /// Its nextUpdate.
    pub next_update: UnixTime,
    /// Its size, octets of DER.
    pub size: usize,
    /// The entries it lists (`None` if its structure cannot be walked).
    pub entries: Option<usize>,
}

impl CrlSummary {
    fn of(record: &CrlRecord) -> Self {
        Self {
            number: record.crl_number,
            this_update: record.this_update,
            next_update: record.next_update,
            size: record.der.len(),
            entries: count_entries(&record.der),
        }
    }

    /// Whether its nextUpdate is past at `now`: relying parties that
    /// fetched it treat the CA's revocation status as unknown.
    #[must_use]
    pub fn overdue(&self, now: UnixTime) -> bool {
        now >= self.next_update
    }
}

/// The CRL of one key generation of a CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerationCrl {
    /// The key generation (1 for a CA never rolled over).
    pub generation: u32,
    /// Whether it is the active (issuing) generation.
    pub active: bool,
    /// Its CA certificate's notAfter (a retired generation's CRLs stop
    /// with it).
    pub ca_not_after: UnixTime,
    /// Where the server publishes it: `/crl/{ca}.crl` for the active
    /// generation, `/crl/{ca}@{n}.crl` for a retired one.
    pub path: String,
    /// The CRL: for the active generation the latest one stored (what
    /// every node hands out until it is due); for a retired one the one
    /// this process made last (retired CRLs are not stored). `None` when
    /// there is none yet.
    pub crl: Option<CrlSummary>,
}

/// The delegated OCSP responder certificate in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponderInUse {
    /// Its subject (RFC 4514).
    pub subject: String,
    /// Its serial.
    pub serial: Serial,
    /// Its notBefore.
    pub not_before: UnixTime,
    /// Its notAfter.
    pub not_after: UnixTime,
}

/// Who signs a CA's OCSP responses, and the state of its response cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspStatus {
    /// The path the server answers OCSP for this CA at (always on).
    pub path: String,
    /// The OCSP URL put into the AIA of issued certificates, if configured.
    pub aia_url: Option<String>,
    /// Whether a delegated responder (`[ca.NAME.ocsp] key`) signs; when
    /// not, the CA key does.
    pub delegated: bool,
    /// The delegated responder certificate in use, if one was issued.
    pub responder: Option<ResponderInUse>,
    /// nextUpdate − thisUpdate of each response, seconds.
    pub response_validity_secs: i64,
    /// A delegated certificate with less than this left is renewed.
    pub renew_margin_secs: i64,
    /// Responses kept in this process's cache for the CA.
    pub cached: usize,
    /// Of those, the ones still usable now (not past nextUpdate, no
    /// revocation since).
    pub cached_usable: usize,
}

impl Engine {
    /// The CRL of every loaded key generation of CA `ca` (the active one
    /// first, then the retired ones, newest first), read without making
    /// one.
    ///
    /// # Errors
    /// [`crate::Error::UnknownCa`]; store errors.
    pub fn crl_status(&self, ca: &str) -> Result<Vec<GenerationCrl>> {
        let loaded = self.ca(ca)?;
        let latest = self.store().latest_crl(ca)?;
        let mut out = vec![GenerationCrl {
            generation: loaded.generation(),
            active: true,
            ca_not_after: loaded.not_after(),
            path: format!("/crl/{ca}.crl"),
            crl: latest.as_ref().map(CrlSummary::of),
        }];
        for retired in loaded.retired() {
            let n = retired.generation();
            out.push(GenerationCrl {
                generation: n,
                active: false,
                ca_not_after: retired.not_after(),
                path: format!("/crl/{ca}@{n}.crl"),
                crl: self.crl_cache().peek(ca, n).as_deref().map(CrlSummary::of),
            });
        }
        Ok(out)
    }

    /// Who signs CA `ca`'s OCSP responses and the state of its response
    /// cache, read without issuing or renewing a responder certificate.
    ///
    /// # Errors
    /// [`crate::Error::UnknownCa`]; store errors.
    pub fn ocsp_summary(&self, ca: &str) -> Result<OcspStatus> {
        let loaded = self.ca(ca)?;
        let now = self.now();
        let store = self.store();
        let config = self.config().ocsp(ca);
        let delegated = self.ocsp_responders().get(ca).map(Arc::clone);
        let responder = match &delegated {
            Some(d) => d.in_use(store.as_ref(), &loaded, now)?,
            None => None,
        };
        let epoch = store.revocation_epoch(ca)?;
        let (cached, cached_usable) = self.ocsp_cache().count(ca, epoch, now);
        Ok(OcspStatus {
            path: format!("/ocsp/{ca}"),
            aia_url: self.config().ca_settings(ca).ocsp_url,
            delegated: delegated.is_some(),
            responder,
            response_validity_secs: config.validity_secs,
            renew_margin_secs: config.responder_renew_margin_secs,
            cached,
            cached_usable,
        })
    }
}
