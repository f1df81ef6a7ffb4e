//! The one configuration file that `cmc-server` and `cmc-tool` share.
//!
//! Reading it opens nothing: no socket, database, file key or HSM. Unknown
//! keys are refused, and [`Config::validate`] checks every value before the
//! caller starts anything. Relative paths are taken from the directory of the
//! file (or the current directory for the built-in default).
//!
//! ```toml
//! data_dir = "/var/lib/cmc"                # default ./cmc-data
//! store = "sqlite:///var/lib/cmc/cmc.db"   # default: cmc.db in data_dir
//! profiles = "profiles.toml"               # default: the built-in profile set
//! default_ca = "root"                      # the CA behind [server].default_path
//! secrets_key = "/var/lib/cmc/secrets.key" # default: secrets.key in data_dir; seals CMP MAC secrets
//!
//! [server]                               # cmc-server's own section (see cmc_server::config)
//! listen = "127.0.0.1:8080"
//!
//! [requests]
//! max_requests_per_pki_data = 32
//! signing_time_window_secs = 300           # |signingTime - now| allowed
//! nonce_lifetime_secs = 86400
//! transaction_lifetime_secs = 604800
//! secret_lock_after = 5                    # failed identity proofs before a shared secret locks
//! max_pending_per_ca = 1000                # requests waiting for approval, per CA
//! max_pending_per_client = 20              # ... and per client
//! pending_poll_secs = 300                  # the pendTime suggested to a pending client
//! purge_interval_secs = 600                # how often expired nonces and transactions are deleted
//! pop_challenge_lifetime_secs = 3600       # an encryptedPOP challenge is answered within 1-2 lifetimes
//! max_controls_per_pki_data = 64           # controls in one PKIData
//! max_values_per_control = 16              # values of one control (getCRL, revokeRequest, ...)
//!
//! [crl]
//! validity_hours = 168
//! refresh_margin_hours = 24
//!
//! [ca.root]                                # per-CA settings; a CA without a section gets the defaults
//! profiles = ["default"]                   # the profiles this CA issues with (default: all)
//! default_profile = "default"
//! allow_simple_requests = false            # application/pkcs10 without CMC
//! allow_sha1_identity_proof = false        # shared-secret proofs with SHA-1 (legacy identityProof)
//! publish_trust_anchors = true             # authData + publishTrustAnchors to shared-secret requesters
//! # trust_anchors_seq = 7                  # their seqNumber (default: the root's notBefore, Unix seconds)
//! crl_url = "http://ca.example/crl/root.crl"
//! ocsp_url = "http://ca.example/ocsp/root"
//! ca_issuers_url = "http://ca.example/ca/root.der"
//!
//! [ca.root.responder]                      # optional: sign CMC responses with this
//! certificate = "cmc-responder.pem"        # certificate (issued by this CA) instead
//! key = { backend = "file", path = "cmc-responder.key", passphrase = { file = "responder-pass" }, scheme = "ecdsa-sha256" }
//!
//! [ca.root.encryption]                     # optional: encrypted CMC requests (RFC 5272 §5)
//! certificate = "cmc-encryption.pem"       # are addressed to this certificate (RSA or P-256/P-384);
//! key = { backend = "file", path = "cmc-encryption.key", passphrase = { file = "enc-pass" }, scheme = "ecdsa-sha256" }
//!                                          # or a PKCS#11 key (CKA_DECRYPT for RSA, CKA_DERIVE for EC)
//!
//! [ca.root.ocsp]                           # optional: OCSP at /ocsp/root (always on; these are the defaults)
//! validity_minutes = 60                    # nextUpdate - thisUpdate of each response
//! # A delegated responder: with a key, the CA issues itself a short-lived
//! # id-kp-OCSPSigning certificate for it (renewed on its own) and the CA key
//! # signs no OCSP responses. Without one, the CA key signs them.
//! key = { backend = "file", path = "ocsp-responder.key", passphrase = { file = "responder-pass" }, scheme = "ecdsa-sha256" }
//! responder_subject = "CN=root OCSP responder"   # default "CN={ca} OCSP responder"
//! responder_validity_hours = 168
//! responder_renew_hours = 48               # renewed when less than this remains
//!
//! [backup]                                 # optional: cmc-server makes encrypted backups (crate::backup)
//! every = "24h"                            # 90s, 15m, 6h, 1d
//! dir = "/var/backups/cmc"                 # created 0700; each backup 0600
//! recipients = ["admin1.pem", "admin2.pem"]  # any one of these administrators can open them
//! keep = 7                                 # the newest 7 are kept
//!
//! [ca.root.cmp]                            # optional: this CA's CMP door
//! paths = ["pkix/"]                        # POST /pkix/ as well as /.well-known/cmp/p/root
//! implicit_confirm = false                 # grant implicitConfirm when a client asks
//! confirm_wait_secs = 300                  # an unconfirmed certificate is revoked after this
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::cmp_config::{CmpSettings, DEFAULT_CONFIRM_WAIT_SECS};
use crate::crl::CrlConfig;
use crate::error::{Error, Result};
use crate::key_config::KeyConfig;
use crate::ocsp::OcspConfig;

/// The default data directory (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "cmc-data";

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the embedded store, generated keys and the bootstrap RA
    /// credential live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The store URL (`sqlite://PATH` or `postgresql://...`); default: the
    /// SQLite file `cmc.db` in `data_dir`.
    #[serde(default)]
    pub store: Option<String>,
    /// A TOML file of issuance profiles (cmc-policy's format); default: the
    /// built-in profile set.
    #[serde(default)]
    pub profiles: Option<PathBuf>,
    /// The CA that answers on the default CMC path.
    #[serde(default)]
    pub default_ca: Option<String>,
    /// The key file that seals the secrets the CA must read back (CMP MAC
    /// credentials, `cmc_ca::seal`); default: `secrets.key` in `data_dir`.
    /// Nodes sharing one store need the same file.
    #[serde(default)]
    pub secrets_key: Option<PathBuf>,
    /// `[server]`, the HTTP front door's section: `cmc-server` reads and
    /// checks it (`cmc_server::config`); the engine only lets it stand in
    /// the shared file.
    #[serde(default, skip_serializing)]
    pub server: Option<ForeignSection>,
    /// `[console]`, the operator console's section: `cmc-server` reads
    /// and checks it, like `[server]`.
    #[serde(default, skip_serializing)]
    pub console: Option<ForeignSection>,
    /// How CMC requests are checked.
    #[serde(default)]
    pub requests: RequestsConfig,
    /// How CRLs are dated.
    #[serde(default)]
    pub crl: CrlSettings,
    /// Per-CA settings, by CA name.
    #[serde(default)]
    pub ca: BTreeMap<String, CaSettings>,
    /// `[backup]`: encrypted backups that `cmc-server` makes on a schedule
    /// ([`crate::backup::BackupSettings`]).
    #[serde(default)]
    pub backup: Option<crate::backup::BackupSettings>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR)
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            store: None,
            profiles: None,
            default_ca: None,
            secrets_key: None,
            server: None,
            console: None,
            requests: RequestsConfig::default(),
            crl: CrlSettings::default(),
            ca: BTreeMap::new(),
            backup: None,
        }
    }
}

/// A section of the shared file that another program owns (`[server]`,
/// read by `cmc-server`): accepted whatever it holds, never looked at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForeignSection;

impl<'de> Deserialize<'de> for ForeignSection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Self)
    }
}

/// `[requests]`: replay protection and limits on one PKIData.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestsConfig {
    /// The most TaggedRequests (and nested contents) in one PKIData.
    pub max_requests_per_pki_data: usize,
    /// How far a request's signingTime may be from the server's clock.
    pub signing_time_window_secs: i64,
    /// How long a senderNonce is remembered (a repeat is a replay).
    pub nonce_lifetime_secs: i64,
    /// How long a transactionId stays open between rounds.
    pub transaction_lifetime_secs: i64,
    /// Failed identity proofs after which a shared secret locks.
    pub secret_lock_after: u32,
    /// The most requests waiting for approval on one CA.
    pub max_pending_per_ca: u64,
    /// The most requests of one client waiting for approval.
    pub max_pending_per_client: u64,
    /// The pendTime suggested to a pending client: now + this.
    pub pending_poll_secs: i64,
    /// How often the server deletes expired replay records (senderNonces
    /// and transactionIds past their lifetime).
    pub purge_interval_secs: i64,
    /// An encryptedPOP challenge is bound to a period of this length and
    /// answered in that period or the next.
    pub pop_challenge_lifetime_secs: i64,
    /// The most controls in one PKIData.
    pub max_controls_per_pki_data: usize,
    /// The most values of one control (attribute values of one
    /// TaggedAttribute).
    pub max_values_per_control: usize,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            max_requests_per_pki_data: 32,
            signing_time_window_secs: 300,
            nonce_lifetime_secs: 24 * HOUR,
            transaction_lifetime_secs: 7 * 24 * HOUR,
            secret_lock_after: 5,
            max_pending_per_ca: 1000,
            max_pending_per_client: 20,
            pending_poll_secs: 300,
            purge_interval_secs: 600,
            pop_challenge_lifetime_secs: 3600,
            max_controls_per_pki_data: 64,
            max_values_per_control: 16,
        }
    }
}

/// `[crl]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrlSettings {
    /// nextUpdate − thisUpdate.
    pub validity_hours: i64,
    /// A CRL this close to its nextUpdate is reissued.
    pub refresh_margin_hours: i64,
}

impl Default for CrlSettings {
    fn default() -> Self {
        let d = CrlConfig::default();
        Self {
            validity_hours: d.validity_secs / HOUR,
            refresh_margin_hours: d.refresh_margin_secs / HOUR,
        }
    }
}

impl CrlSettings {
    /// The engine's form.
    #[must_use]
    pub fn to_crl_config(self) -> CrlConfig {
        CrlConfig {
            validity_secs: self.validity_hours.saturating_mul(HOUR),
            refresh_margin_secs: self.refresh_margin_hours.saturating_mul(HOUR),
        }
    }
}

/// `[ca.NAME]`: what one CA issues and where its CRL and OCSP are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaSettings {
    /// The profiles this CA may issue with; empty means every profile.
    pub profiles: Vec<String>,
    /// The profile used when a request names none.
    pub default_profile: Option<String>,
    /// Accept Simple PKI Requests (bare PKCS#10 as `application/pkcs10`).
    pub allow_simple_requests: bool,
    /// Accept shared-secret proofs made with SHA-1 (identityProofV2 with
    /// SHA-1/HMAC-SHA1, and the legacy identityProof control), for clients
    /// that cannot do better. Off by default.
    pub allow_sha1_identity_proof: bool,
    /// CRL distribution point put into issued certificates.
    pub crl_url: Option<String>,
    /// OCSP responder put into issued certificates' AIA.
    pub ocsp_url: Option<String>,
    /// caIssuers URL put into issued certificates' AIA.
    pub ca_issuers_url: Option<String>,
    /// A CMC responder certificate and key that sign this CA's CMC
    /// responses in place of the CA key.
    pub responder: Option<ResponderSettings>,
    /// How this CA's OCSP responses are dated and who signs them (the
    /// defaults of [`OcspSettings`] when absent).
    pub ocsp: Option<OcspSettings>,
    /// Where this CA's CMP door also answers (`[ca.NAME.cmp]`).
    pub cmp: Option<CmpSettings>,
    /// The certificate and file key encrypted CMC requests are addressed
    /// to (`[ca.NAME.encryption]`, see [`crate::EncryptionSettings`]).
    pub encryption: Option<crate::EncryptionSettings>,
    /// Answer a request authenticated by a shared secret with the CA's
    /// trust anchor in an authData control (RFC 5272 §6.15, §6.16); on
    /// when absent. See [`crate::trust_anchors`].
    pub publish_trust_anchors: Option<bool>,
    /// The seqNumber of the published trust anchors; the root
    /// certificate's notBefore (Unix seconds) when absent.
    pub trust_anchors_seq: Option<u64>,
}

/// `[ca.NAME.ocsp]`: the CA's OCSP responder (RFC 6960), served at
/// `/ocsp/{ca}`.
///
/// The settings are per CA rather than a global `[ocsp]` section: the
/// delegated responder key belongs to one CA, and the engine reads them
/// from [`crate::EngineConfig::cas`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcspSettings {
    /// nextUpdate − thisUpdate of each response, in minutes (1 to 10080).
    pub validity_minutes: i64,
    /// The key of a delegated OCSP responder, as for a CA key
    /// (`backend = "file"` or `"pkcs11"`). The CA issues itself a
    /// certificate for it with extendedKeyUsage id-kp-OCSPSigning and
    /// id-pkix-ocsp-nocheck, and renews it on its own. Absent: the CA key
    /// signs the responses.
    pub key: Option<KeyConfig>,
    /// The delegated responder certificate's subject (RFC 4514); default
    /// `CN={ca} OCSP responder`.
    pub responder_subject: Option<String>,
    /// The delegated responder certificate's lifetime, in hours.
    pub responder_validity_hours: i64,
    /// The delegated responder certificate is replaced when less than this
    /// many hours of it remain (below `responder_validity_hours`).
    pub responder_renew_hours: i64,
}

impl Default for OcspSettings {
    fn default() -> Self {
        let d = OcspConfig::default();
        Self {
            validity_minutes: d.validity_secs / MINUTE,
            key: None,
            responder_subject: None,
            responder_validity_hours: d.responder_validity_secs / HOUR,
            responder_renew_hours: d.responder_renew_margin_secs / HOUR,
        }
    }
}

impl OcspSettings {
    /// Checks the periods ([`OcspConfig::validate`]), the key reference and
    /// the subject.
    ///
    /// # Errors
    /// [`Error::Config`] naming the key that is wrong.
    pub fn validate(&self) -> Result<()> {
        self.to_ocsp_config()
            .validate()
            .map_err(|e| Error::Config(e.to_string()))?;
        if let Some(key) = &self.key {
            key.validate()
                .map_err(|e| Error::Config(format!("key: {e}")))?;
        }
        if let Some(subject) = &self.responder_subject {
            if self.key.is_none() {
                return Err(Error::Config(
                    "responder_subject: there is no delegated responder without a key".into(),
                ));
            }
            crate::x509::parse_name(subject)
                .map_err(|e| Error::Config(format!("responder_subject: {e}")))?;
        }
        Ok(())
    }

    /// The engine's form of the periods.
    #[must_use]
    pub fn to_ocsp_config(&self) -> OcspConfig {
        OcspConfig {
            validity_secs: self.validity_minutes.saturating_mul(MINUTE),
            responder_validity_secs: self.responder_validity_hours.saturating_mul(HOUR),
            responder_renew_margin_secs: self.responder_renew_hours.saturating_mul(HOUR),
        }
    }
}

/// `[ca.NAME.responder]`: a certificate issued by the CA, and its key, that
/// sign CMC responses so that the CA key is only used for certificates and
/// CRLs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponderSettings {
    /// The responder certificate (PEM or DER), issued by this CA.
    pub certificate: PathBuf,
    /// Where its key is, as for a CA key (`backend = "file"` or
    /// `"pkcs11"`).
    pub key: KeyConfig,
}

impl Config {
    /// Parses a configuration file's text. Relative paths stay relative
    /// (see [`Config::resolve_paths`]).
    ///
    /// # Errors
    /// [`Error::Config`] naming the unknown key or the bad value, with its
    /// line.
    pub fn from_toml(text: &str) -> Result<Self> {
        let config: Self = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates the file at `path`; relative paths in it
    /// are taken from the file's directory.
    ///
    /// # Errors
    /// [`Error::Config`] if the file cannot be read or is invalid.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let mut config = Self::from_toml(&text)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Makes every relative path in the configuration relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.data_dir);
        if let Some(p) = &mut self.profiles {
            fix(p);
        }
        if let Some(p) = &mut self.secrets_key {
            fix(p);
        }
        if let Some(b) = &mut self.backup {
            fix(&mut b.dir);
            b.recipients.iter_mut().for_each(&fix);
        }
        for settings in self.ca.values_mut() {
            if let Some(r) = &mut settings.responder {
                fix(&mut r.certificate);
                r.key.resolve_paths(base);
            }
            if let Some(key) = settings.ocsp.as_mut().and_then(|o| o.key.as_mut()) {
                key.resolve_paths(base);
            }
            if let Some(e) = &mut settings.encryption {
                fix(&mut e.certificate);
                e.key.resolve_paths(base);
            }
        }
    }

    /// The store URL: the configured one, or SQLite in the data directory.
    #[must_use]
    pub fn store_url(&self) -> String {
        match &self.store {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("cmc.db").display()),
        }
    }

    /// The secrets key file: the configured one, or `secrets.key` in the
    /// data directory.
    #[must_use]
    pub fn secrets_key_path(&self) -> PathBuf {
        self.secrets_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join(crate::seal::DEFAULT_FILE))
    }

    /// The settings of CA `name` (the defaults when it has no section).
    #[must_use]
    pub fn ca_settings(&self, name: &str) -> CaSettings {
        self.ca.get(name).cloned().unwrap_or_default()
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`Error::Config`] saying which key is wrong and why.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: &str| Err(Error::Config(format!("{key}: {why}")));
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir", "must not be empty");
        }
        if let Some(url) = &self.store {
            if !(url.starts_with("sqlite://")
                || url.starts_with("postgresql://")
                || url.starts_with("postgres://"))
            {
                return bad(
                    "store",
                    "must start with sqlite://, postgresql:// or postgres://",
                );
            }
        }

        for (name, settings) in &self.ca {
            if let Some(r) = &settings.responder {
                r.key
                    .validate()
                    .map_err(|e| Error::Config(format!("ca.{name}.responder.key: {e}")))?;
            }
            if let Some(ocsp) = &settings.ocsp {
                ocsp.validate()
                    .map_err(|e| Error::Config(format!("ca.{name}.ocsp: {e}")))?;
            }
            if let Some(e) = &settings.encryption {
                e.validate()
                    .map_err(|e| Error::Config(format!("ca.{name}.encryption.{e}")))?;
            }
            if let Some(cmp) = &settings.cmp {
                cmp.validate()
                    .map_err(|e| Error::Config(format!("ca.{name}.cmp.{e}")))?;
            }
        }
        crate::cmp_config::check_unique_paths(&self.ca)?;
        if let Some(b) = &self.backup {
            b.validate()?;
        }
        let r = &self.requests;
        if !(1..=1_000_000).contains(&r.max_pending_per_ca)
            || !(1..=1_000_000).contains(&r.max_pending_per_client)
        {
            return bad(
                "requests.max_pending_per_ca/max_pending_per_client",
                "must be between 1 and 1000000",
            );
        }
        if !(60..=7 * 86_400).contains(&r.pop_challenge_lifetime_secs) {
            return bad(
                "requests.pop_challenge_lifetime_secs",
                "must be between 60 and 604800",
            );
        }
        if !(1..=1000).contains(&r.max_controls_per_pki_data) {
            return bad(
                "requests.max_controls_per_pki_data",
                "must be between 1 and 1000",
            );
        }
        if !(1..=1000).contains(&r.max_values_per_control) {
            return bad(
                "requests.max_values_per_control",
                "must be between 1 and 1000",
            );
        }
        if !(10..=86_400).contains(&r.purge_interval_secs) {
            return bad(
                "requests.purge_interval_secs",
                "must be between 10 and 86400",
            );
        }
        if !(1..=86_400).contains(&r.pending_poll_secs) {
            return bad("requests.pending_poll_secs", "must be between 1 and 86400");
        }
        if !(1..=100).contains(&r.secret_lock_after) {
            return bad("requests.secret_lock_after", "must be between 1 and 100");
        }
        if !(1..=1000).contains(&r.max_requests_per_pki_data) {
            return bad(
                "requests.max_requests_per_pki_data",
                "must be between 1 and 1000",
            );
        }
        if !(1..=86_400).contains(&r.signing_time_window_secs) {
            return bad(
                "requests.signing_time_window_secs",
                "must be between 1 and 86400",
            );
        }
        if r.nonce_lifetime_secs < r.signing_time_window_secs.saturating_mul(2) {
            return bad(
                "requests.nonce_lifetime_secs",
                "must be at least twice signing_time_window_secs, or a replay could outlive it",
            );
        }
        if r.transaction_lifetime_secs < 60 {
            return bad("requests.transaction_lifetime_secs", "must be at least 60");
        }
        self.crl
            .to_crl_config()
            .validate()
            .map_err(|e| Error::Config(format!("crl: {e}")))?;
        for (name, ca) in &self.ca {
            for (key, url) in [
                ("crl_url", &ca.crl_url),
                ("ocsp_url", &ca.ocsp_url),
                ("ca_issuers_url", &ca.ca_issuers_url),
            ] {
                if let Some(url) = url {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return bad(
                            &format!("ca.{name}.{key}"),
                            "must be an http:// or https:// URL",
                        );
                    }
                }
            }
            if let Some(p) = &ca.default_profile {
                if !ca.profiles.is_empty() && !ca.profiles.contains(p) {
                    return bad(
                        &format!("ca.{name}.default_profile"),
                        "must be one of the CA's profiles",
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_safe_default() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c, Config::default());
        assert!(c.server.is_none());
        assert_eq!(c.store_url(), "sqlite://cmc-data/cmc.db");
    }

    #[test]
    fn documented_example_parses() {
        let example = cmc_testkit::doc_toml_example(include_str!("config.rs"));
        let c = Config::from_toml(&example).unwrap();
        assert_eq!(c.default_ca.as_deref(), Some("root"));
        assert_eq!(c.ca_settings("root").profiles, ["default"]);
        // [server] belongs to cmc-server: the engine lets it stand.
        assert_eq!(c.server, Some(ForeignSection));
        assert_eq!(c.crl.to_crl_config(), CrlConfig::default());
        let ocsp = c.ca_settings("root").ocsp.unwrap();
        assert_eq!(ocsp.to_ocsp_config(), OcspConfig::default());
        assert!(matches!(ocsp.key, Some(KeyConfig::File { .. })));
        assert_eq!(c.ca_settings("root").cmp.unwrap().paths, ["pkix/"]);
        assert_eq!(c.secrets_key_path(), Path::new("/var/lib/cmc/secrets.key"));
    }

    #[test]
    fn ocsp_settings_are_checked() {
        let c = Config::from_toml("[ca.root.ocsp]\nvalidity_minutes = 10\n").unwrap();
        let ocsp = c.ca_settings("root").ocsp.unwrap();
        assert_eq!(ocsp.to_ocsp_config().validity_secs, 600);
        assert!(ocsp.key.is_none());
        let key = "key = { backend = \"file\", path = \"k\", unencrypted = true, scheme = \"ecdsa-sha256\" }";
        for (text, why) in [
            ("validity_minutes = 0", "validity"),
            ("validity_minutes = 100000", "validity"),
            ("responder_validity_hours = 0", "responder"),
            (
                "responder_validity_hours = 24\nresponder_renew_hours = 24",
                "renew",
            ),
            ("responder_subject = \"CN=x\"", "responder_subject"),
            (
                "key = { backend = \"file\", path = \"k\", scheme = \"ecdsa-sha256\" }",
                "key",
            ),
        ] {
            let err = Config::from_toml(&format!("[ca.root.ocsp]\n{text}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("ca.root.ocsp") && err.contains(why),
                "{text}: {err}"
            );
        }
        let err = Config::from_toml(&format!(
            "[ca.root.ocsp]\n{key}\nresponder_subject = \"not a dn\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("responder_subject"), "{err}");
        let c = Config::from_toml(&format!(
            "[ca.root.ocsp]\n{key}\nresponder_subject = \"CN=r\"\n"
        ))
        .unwrap();
        assert!(c.ca_settings("root").ocsp.unwrap().key.is_some());
    }

    #[test]
    fn the_servers_section_is_left_to_the_server() {
        // Whatever [server] holds, the engine neither reads nor refuses
        // it: cmc-server checks it (cmc_server::config).
        let c = Config::from_toml("[server]\nport = 8080\n[server.tls]\nanything = 1\n").unwrap();
        assert_eq!(c.server, Some(ForeignSection));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        for (text, key) in [
            ("listen = \"127.0.0.1:1\"", "listen"),
            ("[ca.root]\ncrl = \"x\"", "crl"),
            ("[requests]\nmax_requests = 3", "max_requests"),
        ] {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("store = \"mysql://x\"", "store"),
            (
                "[requests]\nsigning_time_window_secs = 600\nnonce_lifetime_secs = 900",
                "requests.nonce_lifetime_secs",
            ),
            ("[crl]\nvalidity_hours = 2\nrefresh_margin_hours = 3", "crl"),
            ("[ca.root]\nocsp_url = \"ldap://x\"", "ca.root.ocsp_url"),
            (
                "[backup]\nevery = \"soon\"\ndir = \"b\"\nrecipients = [\"a.pem\"]",
                "backup.every",
            ),
            (
                "[backup]\nevery = \"1h\"\ndir = \"b\"\nrecipients = []",
                "backup.recipients",
            ),
            (
                "[backup]\nevery = \"1h\"\ndir = \"b\"\nrecipients = [\"a.pem\"]\nkeep = 0",
                "backup.keep",
            ),
            (
                "[ca.root]\nprofiles = [\"a\"]\ndefault_profile = \"b\"",
                "ca.root.default_profile",
            ),
        ] {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cmc.toml");
        std::fs::write(
            &path,
            "data_dir = \"data\"\nprofiles = \"/etc/p.toml\"\n[server.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n\
             [ca.root.ocsp]\nkey = { backend = \"file\", path = \"ocsp.key\", passphrase = { file = \"pass\" }, scheme = \"ecdsa-sha256\" }\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        match c.ca_settings("root").ocsp.unwrap().key.unwrap() {
            KeyConfig::File {
                path,
                passphrase: Some(crate::SecretRef::File(pass)),
                ..
            } => {
                assert_eq!(path, dir.path().join("ocsp.key"));
                assert_eq!(pass, dir.path().join("pass"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.data_dir, dir.path().join("data"));
        assert_eq!(c.profiles.as_deref(), Some(Path::new("/etc/p.toml")));
        assert_eq!(
            c.store_url(),
            format!("sqlite://{}", dir.path().join("data/cmc.db").display())
        );
        let err = Config::load(&dir.path().join("missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.toml"), "{err}");
    }
}
