//! The engine: the store, the clock and every loaded CA.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use cmc_store::{Store, UnixTime};

use crate::ca::{LoadedCa, NewCa, create_ca_under};
use crate::clock::Clock;
use crate::crl::{CrlCache, CrlConfig};
use crate::error::{Error, Result};
use crate::ocsp::{DelegatedResponder, OcspCache, open_responders};
use crate::responder::Responder;

/// Settings of the engine: CRL dating, the issuance profiles, the per-CA
/// settings (among them OCSP, see [`EngineConfig::ocsp`]) and the CMC
/// request limits. The default has the built-in
/// profile set and no per-CA sections (see `EngineConfig::from_config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// How CRLs are dated and when they are reissued.
    pub crl: CrlConfig,
    /// The issuance profiles.
    pub profiles: cmc_policy::ProfileSet,
    /// Per-CA settings by CA name (a CA without an entry gets the defaults).
    pub cas: BTreeMap<String, crate::config::CaSettings>,
    /// Replay windows and limits on one CMC request.
    pub requests: crate::config::RequestsConfig,
    /// The largest request the engine decodes, in octets: the server sets
    /// its `max_body_bytes`, so that one cap holds from the socket to the
    /// decoder ([`DEFAULT_MAX_REQUEST_BYTES`] otherwise).
    pub max_request_bytes: usize,
    /// The key file that seals secrets the CA reads back (`cmc_ca::seal`);
    /// `None`: no such secrets (CMP MAC protection is refused, one-time
    /// secrets are kept as derived keys only).
    pub secrets_key: Option<std::path::PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            crl: CrlConfig::default(),
            profiles: cmc_policy::ProfileSet::builtin(),
            cas: BTreeMap::new(),
            requests: crate::config::RequestsConfig::default(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            secrets_key: None,
        }
    }
}

impl EngineConfig {
    /// The decoder's limits: the codec's defaults with this engine's
    /// request size cap.
    #[must_use]
    pub fn limits(&self) -> cmc_codec::Limits {
        cmc_codec::Limits {
            max_input: self.max_request_bytes,
            ..cmc_codec::Limits::default()
        }
    }
}

/// The largest request the engine decodes unless the front door says
/// otherwise (cmc-server sets its `[server].max_body_bytes`).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1 << 20;

/// What a proof-of-possession challenge is bound to besides the request.
#[derive(Clone, Copy, Debug)]
pub struct PopBinding<'a> {
    /// The CA.
    pub ca: &'a str,
    /// The SHA-256 fingerprint of the signer credential (certificate, or
    /// the public key of a request signed with its own key).
    pub signer: &'a [u8],
    /// The request's transaction identifier, empty without one.
    pub transaction_id: &'a [u8],
}

/// The name of the encryptedPOP challenge key in the store.
const POP_KEY_NAME: &str = "encrypted-pop-challenge";

/// The CA engine: the store, the clock and the loaded CAs by name (any
/// number of roots and intermediates).
///
/// All methods block on the store: call them from a blocking thread.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    cas: RwLock<BTreeMap<String, Arc<LoadedCa>>>,
    /// CMC responder certificates by CA name (`[ca.NAME.responder]`).
    responders: BTreeMap<String, Arc<Responder>>,
    /// Delegated OCSP responders by CA name (`[ca.NAME.ocsp]` with a key).
    ocsp_responders: BTreeMap<String, Arc<DelegatedResponder>>,
    /// Encryption credentials by CA name (`[ca.NAME.encryption]`).
    encryption: BTreeMap<String, Arc<crate::EncryptionCredential>>,
    /// The secret x of RFC 5272 §6.7's stateless encryptedPOP: a
    /// challenge is HMAC-SHA256(x, CA, signer, transactionId, period and
    /// request), so no challenge is stored anywhere. Kept in the store, so
    /// that a restart or another node answers the second round.
    pop_key: zeroize::Zeroizing<Vec<u8>>,
    /// The current CRL of each CA with the revocation epoch it was checked
    /// at ([`Engine::current_crl`]).
    crls: CrlCache,
    /// Signed OCSP responses for reuse until their nextUpdate or the next
    /// revocation ([`Engine::ocsp`]).
    ocsp_cache: OcspCache,
    /// The secrets key, read when first needed (`crate::seal`).
    sealing: crate::mac_credential::SealingSlot,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("config", &self.config)
            .field("cas", &self.ca_names())
            .finish()
    }
}

impl Engine {
    /// Opens the store at `url` and loads the engine over it (see
    /// [`Engine::load`]).
    ///
    /// # Errors
    /// Store errors; as [`Engine::load`].
    pub fn open(url: &str, clock: Arc<dyn Clock>, config: EngineConfig) -> Result<Self> {
        Self::load(cmc_store::open(url)?, clock, config)
    }

    /// Loads every CA in the store and opens its key. Refuses to start if
    /// any CA cannot be loaded: a key that does not open (wrong PIN or
    /// passphrase, missing file or token) or does not match the public key
    /// of its CA certificate, a certificate that does not decode.
    ///
    /// # Errors
    /// [`Error::CaLoad`] naming the CA, with the cause; store errors.
    pub fn load(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Self> {
        config.crl.validate()?;
        config.check_profiles()?;
        let mut cas = BTreeMap::new();
        for record in store.list_cas()? {
            let name = record.name.clone();
            let ca =
                LoadedCa::load(store.as_ref(), record, clock.now()).map_err(|e| Error::CaLoad {
                    ca: name.clone(),
                    source: Box::new(e),
                })?;
            tracing::info!(ca = name, not_after = %ca.not_after(), "CA loaded");
            if let Err(e) = ca.check_valid_at(clock.now()) {
                tracing::warn!(ca = name, error = %e, "loaded a CA that cannot sign now");
            }
            cas.insert(name, Arc::new(ca));
        }
        let mut responders = BTreeMap::new();
        for (name, settings) in &config.cas {
            let Some(responder) = &settings.responder else {
                continue;
            };
            let ca = cas.get(name).ok_or_else(|| {
                Error::Config(format!("ca.{name}.responder: there is no CA {name:?}"))
            })?;
            let responder = Responder::open(ca, responder).map_err(|e| Error::CaLoad {
                ca: name.clone(),
                source: Box::new(e),
            })?;
            if !responder.is_valid_at(clock.now()) {
                tracing::warn!(ca = name, not_after = %responder.not_after(),
                    "the CMC responder certificate is not valid now: responses are signed by the CA key");
            }
            tracing::info!(ca = name, responder = ?responder, "CMC responder loaded");
            responders.insert(name.clone(), Arc::new(responder));
        }
        let ocsp_responders = open_responders(&config, &cas, store.as_ref(), clock.now())?;
        let mut encryption = BTreeMap::new();
        for (name, settings) in &config.cas {
            let Some(settings) = &settings.encryption else {
                continue;
            };
            if !cas.contains_key(name) {
                return Err(Error::Config(format!(
                    "ca.{name}.encryption: there is no CA {name:?}"
                )));
            }
            let credential =
                crate::EncryptionCredential::open(name, settings).map_err(|e| Error::CaLoad {
                    ca: name.clone(),
                    source: Box::new(e),
                })?;
            tracing::info!(ca = name, credential = ?credential, "CMC encryption credential loaded");
            encryption.insert(name.clone(), Arc::new(credential));
        }
        // The encryptedPOP challenge key is the store's, so that every
        // node sharing it answers the second round of any other.
        let mut candidate = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(candidate.as_mut()).map_err(|_| Error::Rng)?;
        let pop_key = zeroize::Zeroizing::new(store.engine_key(
            POP_KEY_NAME,
            candidate.as_ref(),
            clock.now(),
        )?);
        let engine = Self {
            store,
            clock,
            config,
            cas: RwLock::new(cas),
            responders,
            ocsp_responders,
            encryption,
            pop_key,
            crls: CrlCache::default(),
            ocsp_cache: OcspCache::default(),
            sealing: crate::mac_credential::SealingSlot::default(),
        };
        engine.backfill_client_subjects()?;
        Ok(engine)
    }

    /// The slot of the secrets key ([`Engine::sealing_key`]).
    pub(crate) const fn sealing_slot(&self) -> &crate::mac_credential::SealingSlot {
        &self.sealing
    }

    /// The delegated OCSP responders, by CA name.
    pub(crate) fn ocsp_responders(&self) -> &BTreeMap<String, Arc<DelegatedResponder>> {
        &self.ocsp_responders
    }

    /// The encryption credential of CA `ca` (`[ca.NAME.encryption]`), if
    /// any: encrypted requests are addressed to it.
    #[must_use]
    pub fn encryption(&self, ca: &str) -> Option<&Arc<crate::EncryptionCredential>> {
        self.encryption.get(ca)
    }

    /// The CMC responder configured for CA `ca`, if any.
    #[must_use]
    pub fn responder(&self, ca: &str) -> Option<&Arc<Responder>> {
        self.responders.get(ca)
    }

    /// The encryptedPOP challenge for `request` (the DER of a
    /// certification request) on `ca`, bound to the request's signer
    /// credential and transactionId and to one period of
    /// `requests.pop_challenge_lifetime_secs` (`period`, see
    /// [`Engine::pop_period`]): HMAC-SHA256 under the store's challenge
    /// key, recomputed in the second round rather than stored, so any node
    /// can check it.
    ///
    /// # Errors
    /// An encoding failure of the MAC (none in practice).
    pub fn pop_challenge(
        &self,
        binding: &PopBinding<'_>,
        period: i64,
        request: &[u8],
    ) -> Result<Vec<u8>> {
        let mut message = Vec::with_capacity(64 + request.len());
        message.extend_from_slice(b"cmc-encrypted-pop-v1");
        for part in [
            binding.ca.as_bytes(),
            binding.signer,
            binding.transaction_id,
            &period.to_be_bytes(),
            request,
        ] {
            message.extend_from_slice(&(part.len() as u64).to_be_bytes());
            message.extend_from_slice(part);
        }
        cmc_codec::identity::ProofHash::Sha256
            .hmac(self.pop_key.as_ref(), &message)
            .map_err(|e| Error::encode("encryptedPOP challenge", e))
    }

    /// The challenge period `now` falls in. A challenge is answered in the
    /// period it was made or the next one: it expires between one and two
    /// lifetimes after it was made.
    #[must_use]
    pub fn pop_period(&self, now: UnixTime) -> i64 {
        now.secs()
            .div_euclid(self.config.requests.pop_challenge_lifetime_secs.max(1))
    }

    /// Deletes the replay records (senderNonces, transactionIds) whose
    /// lifetime has passed by the engine clock; returns how many. The
    /// server calls it every `requests.purge_interval_secs`.
    ///
    /// # Errors
    /// Store errors.
    pub fn purge_expired(&self) -> Result<u64> {
        let now = self.now();
        let purged = self.store.purge_expired(now)?;
        if purged > 0 {
            tracing::info!(purged, "expired replay records deleted");
        }
        Ok(purged)
    }

    /// The CRLs handed out, by CA ([`Engine::current_crl`]).
    pub(crate) fn crl_cache(&self) -> &CrlCache {
        &self.crls
    }

    /// The signed OCSP responses kept for reuse.
    pub(crate) fn ocsp_cache(&self) -> &OcspCache {
        &self.ocsp_cache
    }

    /// The store: the engine's own (front doors and binaries go through
    /// the engine's functions and [`Engine::records`]).
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The CA's records for administration, over this engine's store.
    #[must_use]
    pub fn records(&self) -> crate::Records {
        crate::Records::of(Arc::clone(&self.store))
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The current time by the engine's clock.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The loaded CA called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownCa`].
    pub fn ca(&self, name: &str) -> Result<Arc<LoadedCa>> {
        self.read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownCa(name.to_owned()))
    }

    /// The names of the loaded CAs, sorted.
    #[must_use]
    pub fn ca_names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Every loaded CA, by name.
    #[must_use]
    pub fn cas(&self) -> Vec<Arc<LoadedCa>> {
        self.read().values().cloned().collect()
    }

    /// Creates a CA (see [`crate::create_ca`]), an intermediate signed by
    /// the loaded CA `new.issuer`, and loads it.
    ///
    /// # Errors
    /// As [`crate::create_ca`].
    pub fn create_ca(&self, new: &NewCa) -> Result<Arc<LoadedCa>> {
        let parent = new.issuer.as_deref().map(|p| self.ca(p)).transpose()?;
        let ca = Arc::new(create_ca_under(
            self.store.as_ref(),
            self.now(),
            new,
            parent.as_deref(),
        )?);
        self.write().insert(ca.name().to_owned(), Arc::clone(&ca));
        Ok(ca)
    }

    /// Picks up what changed in the store since the CAs were loaded:
    /// activates the passive generations whose activation time has come
    /// (on whichever process sharing the store gets there first), then
    /// reloads every CA whose active or passive generation differs from the
    /// loaded one, and loads CAs created since. Returns the names of the
    /// CAs (re)loaded. The server runs it on its sweep schedule.
    ///
    /// # Errors
    /// Store errors; a CA that does not load (a key that does not open) is
    /// logged and keeps its loaded state.
    pub fn refresh_cas(&self) -> Result<Vec<String>> {
        let now = self.now();
        crate::generation::activate_due(self.store.as_ref(), now)?;
        let mut reloaded = Vec::new();
        for record in self.store.list_cas()? {
            let name = record.name.clone();
            let active = self.store.active_generation(&name)?;
            let passive = self
                .store
                .list_generations(&name)?
                .into_iter()
                .find(|g| g.state == cmc_store::GenerationState::Passive)
                .map(|g| g.generation);
            let loaded = self.read().get(&name).cloned();
            if loaded.is_some_and(|l| {
                l.generation() == active && l.passive().map(|p| p.generation) == passive
            }) {
                continue;
            }
            match LoadedCa::load(self.store.as_ref(), record, now) {
                Ok(ca) => {
                    tracing::info!(ca = name, generation = ca.generation(),
                        passive = ?passive, "CA reloaded");
                    self.write().insert(name.clone(), Arc::new(ca));
                    reloaded.push(name);
                }
                Err(e) => {
                    tracing::error!(ca = name, error = %e,
                        "reloading a changed CA failed: it keeps its loaded state");
                }
            }
        }
        Ok(reloaded)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<LoadedCa>>> {
        // The map is only ever changed by single inserts, so a panic elsewhere
        // while the lock was held cannot have left it half-updated.
        self.cas.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<LoadedCa>>> {
        // As in `read`.
        self.cas.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Engine>();
        assert_send_sync::<LoadedCa>();
    }
}
