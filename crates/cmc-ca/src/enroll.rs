//! The policy-driven issuance cycle: reserve a serial, prepare and lint the
//! TBS certificate with a profile, record it, sign it with the CA key, check
//! that what was signed is what was linted, and store the certificate before
//! anyone gets it. Every outcome writes an audit event.

use std::path::Path;

use cmc_codec::alg::{SignatureAlg, verify_signature};
use cmc_policy::{Decision, IssuerInfo, Profile, ProfileSet, Request};
use cmc_store::{AuditEvent, AuditKind, IssuedCert, NewReservation, Outcome, Serial, UnixTime};
use der::Encode;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::ca::LoadedCa;
use crate::config::{CaSettings, Config};
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::principal::NameScope;
use crate::x509::{random_serial, unix_time};

/// How many fresh random serials are tried when the store reports one as
/// taken (with 126 random bits a second collision means a broken RNG).
const SERIAL_ATTEMPTS: usize = 3;

/// A certificate issued by [`Engine::issue`], already stored.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate.
    pub certificate: Certificate,
    /// The certificate, DER (as stored).
    pub der: Vec<u8>,
    /// Its serial, in the issuing CA's numbering.
    pub serial: Serial,
    /// What the profile made of the request: granted and dropped items.
    pub decision: Decision,
}

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

/// What one issuance attempt is about, for the audit log.
struct Attempt<'a> {
    ca: &'a str,
    profile: &'a str,
    requester: &'a str,
    request_hash: &'a [u8],
    now: UnixTime,
}

impl Engine {
    /// Issues a certificate for `request` from CA `ca` with `profile` (the
    /// CA's default profile when `None`), for `requester` (a client id, for
    /// the records), where `request_der` is the request as received (its
    /// SHA-256 is stored with the certificate).
    ///
    /// The cycle: check the CA may use the profile; reserve a random serial
    /// (retrying on a taken one); prepare and lint the TBS certificate with
    /// the profile and the CA's issuer information (its certificate, the
    /// signature algorithm of its key, the CRL, OCSP and caIssuers URLs of
    /// its settings); record the TBS; sign it with the CA key; check the
    /// signature with the CA's public key and that the signed TBS is, byte
    /// for byte, the linted one; store the certificate (durable when this
    /// returns). An audit event records the serial, issuer, profile,
    /// requester, outcome and the profile's [`Decision`] as JSON (granted
    /// and dropped items).
    ///
    /// Any failure after the reservation marks the serial failed (it is
    /// never reused, and no certificate is stored for it) and writes a
    /// failure audit event; a refusal before the reservation (unknown or
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
        )
    }

    /// [`Engine::issue_with_ca`] for a requester whose names are limited
    /// by `names` (checked on the prepared TBS certificate, before the
    /// signature: [`Engine::check_names`]).
    pub(crate) fn issue_for(
        &self,
        ca: &LoadedCa,
        profile: Option<&str>,
        request: &Request,
        requester: &str,
        names: &NameScope,
        request_der: &[u8],
    ) -> Result<Issued> {
        let now = self.now();
        let profile_name = profile.map_or_else(
            || self.config().default_profile_name(ca.name()),
            str::to_owned,
        );
        let request_hash = Sha256::digest(request_der).to_vec();
        let attempt = Attempt {
            ca: ca.name(),
            profile: &profile_name,
            requester,
            request_hash: &request_hash,
            now,
        };
        let profile = match self.check_profile(ca.name(), &profile_name) {
            Ok(p) => p,
            Err(e) => {
                self.audit_failure(&attempt, None, &e)?;
                return Err(e);
            }
        };
        let serial = match self.reserve(&attempt) {
            Ok(s) => s,
            Err(e) => {
                self.audit_failure(&attempt, None, &e)?;
                return Err(e);
            }
        };
        match self.sign_reserved(ca, profile, request, names, &serial, &attempt) {
            Ok(issued) => {
                let detail = serde_json::json!({
                    "request_sha256": hex(&request_hash),
                    "decision": &issued.decision,
                });
                self.store().append_audit(&AuditEvent {
                    at: now,
                    kind: AuditKind::Issued,
                    issuer: Some(ca.name().to_owned()),
                    serial: Some(serial.clone()),
                    profile: Some(profile_name.clone()),
                    requester: Some(requester.to_owned()),
                    outcome: Outcome::Success,
                    detail: detail.to_string(),
                })?;
                tracing::info!(ca = ca.name(), serial = %serial, profile = profile_name,
                    requester, dropped = issued.decision.dropped.len(), "certificate issued");
                Ok(issued)
            }
            Err(e) => {
                if let Err(mark) = self
                    .store()
                    .mark_failed(ca.name(), &serial, &e.to_string(), now)
                {
                    tracing::error!(ca = ca.name(), serial = %serial, error = %mark,
                        "could not mark a failed issuance");
                }
                self.audit_failure(&attempt, Some(&serial), &e)?;
                Err(e)
            }
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

    fn reserve(&self, attempt: &Attempt<'_>) -> Result<Serial> {
        let mut last = None;
        for _ in 0..SERIAL_ATTEMPTS {
            let serial = random_serial()?;
            let reservation = NewReservation {
                issuer: attempt.ca.to_owned(),
                serial: serial.clone(),
                requester: attempt.requester.to_owned(),
                profile: attempt.profile.to_owned(),
                request_hash: attempt.request_hash.to_vec(),
                tbs_der: None,
            };
            match self.store().reserve_serial(&reservation, attempt.now) {
                Ok(()) => return Ok(serial),
                Err(e @ cmc_store::Error::SerialInUse { .. }) => {
                    tracing::warn!(ca = attempt.ca, serial = %serial, "random serial already in use");
                    last = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or(Error::Rng, Error::Store))
    }

    /// Everything between the reservation and the stored certificate.
    fn sign_reserved(
        &self,
        ca: &LoadedCa,
        profile: &Profile,
        request: &Request,
        names: &NameScope,
        serial: &Serial,
        attempt: &Attempt<'_>,
    ) -> Result<Issued> {
        let policy_serial = cmc_policy::Serial::from_bytes(&serial.to_der_content())?;
        let prepared = self.prepare(ca, profile, request, &policy_serial, attempt.now)?;
        let tbs_der = prepared.tbs_der().to_vec();
        self.check_names(names, prepared.subject(), prepared.subject_alt_names())?;
        let decision = prepared.decision().clone();
        self.store().record_tbs(ca.name(), serial, &tbs_der)?;

        let signature = ca.key().sign(&tbs_der)?;
        let algorithm =
            SignatureAlg::from_algorithm_identifier(ca.key().signature_algorithm(), None).map_err(
                |e| Error::BadCaSignature {
                    ca: ca.name().to_owned(),
                    detail: e.to_string(),
                },
            )?;
        verify_signature(
            ca.certificate().tbs_certificate().subject_public_key_info(),
            &algorithm,
            &tbs_der,
            &signature,
            "certificate",
        )
        .map_err(|e| Error::BadCaSignature {
            ca: ca.name().to_owned(),
            detail: e.to_string(),
        })?;
        // `assemble` checks the signed TBS against the prepared one; the
        // comparison below repeats it on the bytes that will be stored.
        let certificate = prepared.assemble(&signature)?;
        let der = certificate
            .to_der()
            .map_err(|e| Error::encode("certificate", e))?;
        let signed_tbs = certificate
            .tbs_certificate()
            .to_der()
            .map_err(|e| Error::encode("TBS certificate", e))?;
        if signed_tbs != tbs_der {
            return Err(Error::Policy(cmc_policy::Error::TbsMismatch));
        }

        let validity = certificate.tbs_certificate().validity();
        let record = IssuedCert {
            cert_der: der.clone(),
            subject: decision.subject.clone(),
            sans: decision.subject_alt_names.clone(),
            not_before: unix_time(&validity.not_before),
            not_after: unix_time(&validity.not_after),
            issued_at: attempt.now,
        };
        self.store().complete_issuance(ca.name(), serial, &record)?;
        Ok(Issued {
            certificate,
            der,
            serial: serial.clone(),
            decision,
        })
    }

    /// The TBS certificate `profile` makes of `request` on `ca` (its CRL,
    /// OCSP and caIssuers URLs from the CA's settings), linted.
    fn prepare(
        &self,
        ca: &LoadedCa,
        profile: &Profile,
        request: &Request,
        serial: &cmc_policy::Serial,
        now: UnixTime,
    ) -> Result<cmc_policy::Prepared> {
        let settings = self.config().ca_settings(ca.name());
        let mut issuer =
            IssuerInfo::from_certificate(ca.certificate(), ca.key().signature_algorithm().clone())?;
        if let Some(url) = settings.crl_url {
            issuer = issuer.with_crl_url(url);
        }
        if let Some(url) = settings.ocsp_url {
            issuer = issuer.with_ocsp_url(url);
        }
        if let Some(url) = settings.ca_issuers_url {
            issuer = issuer.with_ca_issuers_url(url);
        }
        Ok(cmc_policy::prepare(
            request,
            profile,
            &issuer,
            serial,
            now.to_system_time(),
        )?)
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
        let prepared = self.prepare(ca, profile, request, &serial, self.now())?;
        self.check_names(names, prepared.subject(), prepared.subject_alt_names())
    }

    /// The audit event of a refused or failed issuance.
    fn audit_failure(
        &self,
        attempt: &Attempt<'_>,
        serial: Option<&Serial>,
        error: &Error,
    ) -> Result<()> {
        let refused = matches!(
            error,
            Error::ProfileNotAllowed { .. }
                | Error::ReservedName { .. }
                | Error::NameNotRegistered(_)
                | Error::RenewalNames(_)
                | Error::Policy(
                    cmc_policy::Error::Refused { .. }
                        | cmc_policy::Error::Lint { .. }
                        | cmc_policy::Error::UnknownProfile(_)
                        | cmc_policy::Error::BadRequest(_)
                )
        );
        let mut detail = serde_json::json!({
            "request_sha256": hex(attempt.request_hash),
            "error": error.to_string(),
        });
        match error {
            Error::Policy(cmc_policy::Error::Refused { reasons, .. }) => {
                detail["refusals"] = serde_json::json!(reasons);
            }
            Error::Policy(cmc_policy::Error::Lint { findings }) => {
                detail["findings"] = serde_json::json!(findings);
            }
            _ => {}
        }
        if refused {
            tracing::info!(ca = attempt.ca, profile = attempt.profile, requester = attempt.requester,
                error = %error, "issuance refused");
        } else {
            tracing::error!(ca = attempt.ca, profile = attempt.profile, requester = attempt.requester,
                error = %error, "issuance failed");
        }
        self.store().append_audit(&AuditEvent {
            at: attempt.now,
            kind: if refused {
                AuditKind::Refused
            } else {
                AuditKind::Issued
            },
            issuer: Some(attempt.ca.to_owned()),
            serial: serial.cloned(),
            profile: Some(attempt.profile.to_owned()),
            requester: Some(attempt.requester.to_owned()),
            outcome: Outcome::Failure,
            detail: detail.to_string(),
        })?;
        Ok(())
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
        s
    })
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

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
    }
}
