//! Issuing for requests: the profiles a CA may use (its configuration
//! section), and [`Engine::issue`], which picks and checks the profile and
//! hands the request to the one issuance path ([`crate::issue`]).

use std::path::Path;

use cmc_policy::{Profile, ProfileSet, Request};
use sha2::{Digest, Sha256};

use crate::ca::LoadedCa;
use crate::config::{CaSettings, Config};
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::issue::{Attempt, Carry, Committer, Issuance, Issuer, audit_failure, issue_carrying};
// The issuance result and the hex helper keep their old home for the
// engine's other modules.
pub(crate) use crate::issue::Issued;
pub(crate) use crate::issue::hex;
use crate::principal::NameScope;

impl EngineConfig {
    /// The engine settings of a configuration file: its CRL periods,
    /// request limits and per-CA sections, and the profile set of its
    /// `profiles` file (the built-in set when none is configured).
    ///
    /// # Errors
    /// [`Error::Config`] if the profiles file cannot be read or is invalid,
    /// or a CA section names a profile the set does not have.
    pub fn from_config(config: &Config) -> Result<Self> {
        let profiles = match &config.profiles {
            None => ProfileSet::builtin(),
            Some(path) => read_profiles(path)?,
        };
        let engine = Self {
            crl: config.crl.to_crl_config(),
            profiles,
            cas: config.ca.clone(),
            requests: config.requests,
            max_request_bytes: crate::engine::DEFAULT_MAX_REQUEST_BYTES,
            secrets_key: Some(config.secrets_key_path()),
        };
        engine.check_profiles()?;
        Ok(engine)
    }

    /// Checks that every profile a CA section names (in `profiles` or as
    /// `default_profile`) exists in the profile set, and that a default
    /// profile is one of the CA's profiles.
    ///
    /// # Errors
    /// [`Error::Config`] naming the CA and the profile.
    pub fn check_profiles(&self) -> Result<()> {
        for (name, settings) in &self.cas {
            for profile in settings.profiles.iter().chain(&settings.default_profile) {
                if self.profiles.get(profile).is_err() {
                    return Err(Error::Config(format!(
                        "ca.{name}: unknown profile {profile:?} (profiles: {})",
                        self.profiles.names().collect::<Vec<_>>().join(", ")
                    )));
                }
            }
            if let Some(default) = &settings.default_profile {
                if !allows(settings, default) {
                    return Err(Error::Config(format!(
                        "ca.{name}.default_profile: {default:?} is not one of the CA's profiles"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The settings of CA `ca` (the defaults when it has no section).
    #[must_use]
    pub fn ca_settings(&self, ca: &str) -> CaSettings {
        self.cas.get(ca).cloned().unwrap_or_default()
    }

    /// The profile CA `ca` issues with when a request names none: its
    /// `default_profile`; else the profile set's default when the CA may use
    /// it; else the first profile the CA lists.
    #[must_use]
    pub fn default_profile_name(&self, ca: &str) -> String {
        let settings = self.ca_settings(ca);
        if let Some(p) = settings.default_profile {
            return p;
        }
        let set_default = self.profiles.default_profile().name().to_owned();
        if allows(&settings, &set_default) {
            return set_default;
        }
        settings.profiles.first().cloned().unwrap_or(set_default)
    }
}

fn read_profiles(path: &Path) -> Result<ProfileSet> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("profiles file {}: {e}", path.display())))?;
    ProfileSet::from_toml(&text)
        .map_err(|e| Error::Config(format!("profiles file {}: {e}", path.display())))
}

/// Whether the CA's settings let it use `profile` (an empty list: all).
fn allows(settings: &CaSettings, profile: &str) -> bool {
    settings.profiles.is_empty() || settings.profiles.iter().any(|p| p == profile)
}

impl Engine {
    /// Issues a certificate for `request` from CA `ca` with `profile` (the
    /// CA's default profile when `None`), for `requester` (a client id, for
    /// the records), where `request_der` is the request as received (its
    /// SHA-256 is stored with the certificate).
    ///
    /// The CA must be allowed the profile; then the request takes the one
    /// issuance path of everything the engine signs
    /// (`src/issue.rs`): a random serial; the TBS certificate
    /// prepared and linted with the profile and the CA's issuer information
    /// (its certificate, the signature algorithm of its key, the CRL, OCSP
    /// and caIssuers URLs of its settings) and recorded; one signature by
    /// the CA key, checked with the CA's public key, over exactly the linted
    /// TBS; the certificate and its audit event (serial, issuer, profile,
    /// requester, outcome, and the profile's [`Decision`](cmc_policy::Decision)
    /// as JSON) stored in one transaction, durable when this returns.
    ///
    /// Any failure after the serial is drawn keeps the serial as failed
    /// (it is never reused, and no certificate is stored for it) with a
    /// failure audit event, in one unit; a refusal before (unknown or
    /// disallowed profile) writes a refusal event.
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; [`Error::ProfileNotAllowed`];
    /// [`Error::Policy`] with `UnknownProfile`, `Refused` (every reason) or
    /// `Lint` (every finding); [`Error::Key`] if the key cannot sign;
    /// [`Error::BadCaSignature`]; store errors.
    pub fn issue(
        &self,
        ca: &str,
        profile: Option<&str>,
        request: &Request,
        requester: &str,
        request_der: &[u8],
    ) -> Result<Issued> {
        let loaded = self.ca(ca)?;
        self.issue_with_ca(&loaded, profile, request, requester, request_der)
    }

    /// [`Engine::issue`] with a CA given directly instead of by name: a
    /// stored CA whose key was opened by the caller (for example through a
    /// different key backend than its stored reference). The CA's settings
    /// are looked up by its name.
    ///
    /// # Errors
    /// As [`Engine::issue`].
    pub fn issue_with_ca(
        &self,
        ca: &LoadedCa,
        profile: Option<&str>,
        request: &Request,
        requester: &str,
        request_der: &[u8],
    ) -> Result<Issued> {
        self.issue_for(
            ca,
            profile,
            request,
            requester,
            &NameScope::profile(),
            request_der,
            Carry::default(),
        )
    }

    /// [`Engine::issue_with_ca`] for a requester whose names are limited
    /// by `names` (checked on the prepared TBS certificate, before the
    /// signature: [`Engine::check_names`]), whose unit also writes what
    /// `carry` holds (the message's replay records, a secret spent).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn issue_for(
        &self,
        ca: &LoadedCa,
        profile: Option<&str>,
        request: &Request,
        requester: &str,
        names: &NameScope,
        request_der: &[u8],
        carry: Carry<'_>,
    ) -> Result<Issued> {
        let profile_name = profile.map_or_else(
            || self.config().default_profile_name(ca.name()),
            str::to_owned,
        );
        let request_hash = Sha256::digest(request_der).to_vec();
        let profile = match self.check_profile(ca.name(), &profile_name) {
            Ok(p) => p,
            Err(e) => {
                let attempt = Attempt {
                    ca: ca.name(),
                    generation: ca.generation(),
                    profile: &profile_name,
                    requester,
                    request_hash: &request_hash,
                    now: self.now(),
                };
                audit_failure(self.committer(), &attempt, None, &e, carry.replay)?;
                return Err(e);
            }
        };
        let check_names = |prepared: &cmc_policy::Prepared| {
            self.check_names(names, prepared.subject(), prepared.subject_alt_names())
        };
        issue_carrying(
            self.committer(),
            self.now(),
            Issuer::ca(ca, self.issuer_info(ca)?),
            &Issuance {
                profile,
                request,
                requester,
                check_names: Some(&check_names),
                request_hash,
                about: serde_json::json!({}),
            },
            &carry,
        )
    }

    /// The issuance path's view of this engine.
    pub(crate) fn committer(&self) -> Committer<'_> {
        Committer {
            store: self.store().as_ref(),
            engine: Some(self),
        }
    }

    /// The profile, if it exists and the CA may use it.
    pub(crate) fn check_profile(&self, ca: &str, profile: &str) -> Result<&Profile> {
        let found = self.config().profiles.get(profile)?;
        if !allows(&self.config().ca_settings(ca), profile) {
            return Err(Error::ProfileNotAllowed {
                ca: ca.to_owned(),
                profile: profile.to_owned(),
            });
        }
        Ok(found)
    }

    /// Everything [`Engine::issue_for`] checks before it signs, without
    /// reserving a serial or signing: the profile, its preparation and lint,
    /// and the requester's names. A request held for approval is checked so
    /// when it is held, so that an agent is never asked to approve what
    /// would be refused.
    ///
    /// # Errors
    /// As [`Engine::issue_for`] before the signature.
    pub(crate) fn precheck(
        &self,
        ca: &LoadedCa,
        profile: &str,
        request: &Request,
        names: &NameScope,
    ) -> Result<()> {
        let profile = self.check_profile(ca.name(), profile)?;
        // Any positive serial of the usual size: nothing is signed.
        let serial = cmc_policy::Serial::from_bytes(&[0x40; 16])?;
        let prepared = cmc_policy::prepare(
            request,
            profile,
            &self.issuer_info(ca)?,
            &serial,
            self.now().to_system_time(),
        )?;
        self.check_names(names, prepared.subject(), prepared.subject_alt_names())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(cas: &[(&str, CaSettings)]) -> EngineConfig {
        EngineConfig {
            profiles: ProfileSet::from_toml("[profile.tls]\n[profile.smime]\n").unwrap(),
            cas: cas
                .iter()
                .map(|(n, s)| ((*n).to_owned(), s.clone()))
                .collect(),
            ..EngineConfig::default()
        }
    }

    fn settings(profiles: &[&str], default: Option<&str>) -> CaSettings {
        CaSettings {
            profiles: profiles.iter().map(|p| (*p).to_owned()).collect(),
            default_profile: default.map(str::to_owned),
            ..CaSettings::default()
        }
    }

    #[test]
    fn unknown_profiles_refuse_at_load() {
        config(&[("a", settings(&["tls"], Some("tls")))])
            .check_profiles()
            .unwrap();
        let err = config(&[("a", settings(&["tls", "codesign"], None))])
            .check_profiles()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ca.a") && err.contains("codesign"), "{err}");
        let err = config(&[("b", settings(&[], Some("nope")))])
            .check_profiles()
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
        let err = config(&[("c", settings(&["tls"], Some("smime")))])
            .check_profiles()
            .unwrap_err()
            .to_string();
        assert!(err.contains("default_profile"), "{err}");
    }

    #[test]
    fn default_profile_choice() {
        let c = config(&[
            ("named", settings(&["tls", "smime"], Some("smime"))),
            ("listed", settings(&["tls"], None)),
        ]);
        assert_eq!(c.default_profile_name("named"), "smime");
        assert_eq!(c.default_profile_name("listed"), "tls");
        // No section: the profile set's default.
        assert_eq!(c.default_profile_name("other"), "default");
    }

    #[test]
    fn from_config_reads_the_profiles_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.toml");
        std::fs::write(&path, "[profile.server]\nvalidity_days = 30\n").unwrap();
        let mut config = Config::from_toml("[ca.root]\nprofiles = [\"server\"]\n").unwrap();
        config.profiles = Some(path.clone());
        let engine = EngineConfig::from_config(&config).unwrap();
        assert!(engine.profiles.get("server").is_ok());
        assert_eq!(engine.default_profile_name("root"), "server");
        std::fs::write(&path, "[profile.other]\n").unwrap();
        let err = EngineConfig::from_config(&config).unwrap_err().to_string();
        assert!(err.contains("server"), "{err}");
        config.profiles = Some(dir.path().join("missing.toml"));
        let err = EngineConfig::from_config(&config).unwrap_err().to_string();
        assert!(err.contains("missing.toml"), "{err}");
    }
}
