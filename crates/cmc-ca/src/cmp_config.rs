//! `[ca.NAME.cmp]`: the settings of one CA's CMP door (path aliases, implicit
//! confirmation, the confirmation wait), and the checks that keep the aliases of all CAs
//! apart. Part of the configuration file ([`crate::config`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::CaSettings;
use crate::error::{Error, Result};

/// `[ca.NAME.cmp]`: the CMP door of one CA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CmpSettings {
    /// URL paths that answer as this CA's CMP door besides
    /// `/.well-known/cmp/p/{ca}`, for clients configured with a fixed path
    /// (`openssl cmp -path pkix/`): `"pkix/"` serves `POST /pkix/` (and
    /// `/pkix`). Letters, digits and `-._~/`; not under `.well-known`,
    /// `ca`, `crl`, `ocsp`, `healthz` or `metrics`; each path one CA's.
    pub paths: Vec<String>,
    /// Grant implicit confirmation to a client that asks for it
    /// (`implicitConfirm`, RFC 9483 §4.1.1): its certificate counts as
    /// confirmed when sent. Off by default: every certificate waits for its
    /// certConf.
    pub implicit_confirm: bool,
    /// How long an issued certificate waits for its certConf before it is
    /// revoked, in seconds (10 to 86400).
    pub confirm_wait_secs: i64,
}

/// The default of [`CmpSettings::confirm_wait_secs`].
pub const DEFAULT_CONFIRM_WAIT_SECS: i64 = 300;

impl Default for CmpSettings {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            implicit_confirm: false,
            confirm_wait_secs: DEFAULT_CONFIRM_WAIT_SECS,
        }
    }
}

impl CmpSettings {
    /// A path as it is matched: without leading and trailing slashes.
    #[must_use]
    pub fn normalize(path: &str) -> &str {
        path.trim_matches('/')
    }

    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if !(10..=86_400).contains(&self.confirm_wait_secs) {
            return Err("confirm_wait_secs: must be between 10 and 86400".into());
        }
        const RESERVED: [&str; 6] = [".well-known", "ca", "crl", "ocsp", "healthz", "metrics"];
        for raw in &self.paths {
            let path = Self::normalize(raw);
            let first = path.split('/').next().unwrap_or_default();
            if path.is_empty()
                || !path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
                || path
                    .split('/')
                    .any(|seg| seg.is_empty() || seg == "." || seg == "..")
            {
                return Err(format!(
                    "paths: {raw:?} is not a path of letters, digits and -._~/"
                ));
            }
            if RESERVED.contains(&first) {
                return Err(format!(
                    "paths: {raw:?} is under /{first}, which the server answers itself"
                ));
            }
        }
        Ok(())
    }
}

/// Each CMP path alias is one CA's.
///
/// # Errors
/// [`Error::Config`] naming the CA and the path.
pub(crate) fn check_unique_paths(cas: &BTreeMap<String, CaSettings>) -> Result<()> {
    let mut seen = BTreeMap::new();
    for (name, settings) in cas {
        for path in settings.cmp.iter().flat_map(|c| &c.paths) {
            if let Some(other) = seen.insert(CmpSettings::normalize(path), name) {
                return Err(Error::Config(format!(
                    "ca.{name}.cmp.paths: {path:?} is also a CMP path of CA {other:?}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn cmp_paths_are_checked() {
        let ok = "[ca.a.cmp]\npaths = [\"pkix/\", \"/x/y\"]\n[ca.b.cmp]\npaths = [\"b\"]\n";
        Config::from_toml(ok).unwrap().validate().unwrap();
        for (paths, why) in [
            ("[\"\"]", "is not a path"),
            ("[\"a//b\"]", "is not a path"),
            ("[\"../x\"]", "is not a path"),
            ("[\"x y\"]", "is not a path"),
            ("[\"ocsp/x\"]", "server answers itself"),
            ("[\".well-known/cmp\"]", "server answers itself"),
            ("[\"crl\"]", "server answers itself"),
        ] {
            let text = format!("[ca.a.cmp]\npaths = {paths}\n");
            let e = Config::from_toml(&text)
                .and_then(|c| c.validate())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("ca.a.cmp.paths") && e.contains(why),
                "{paths}: {e}"
            );
        }
        let twice = "[ca.a.cmp]\npaths = [\"pkix/\"]\n[ca.b.cmp]\npaths = [\"/pkix\"]\n";
        let e = Config::from_toml(twice)
            .and_then(|c| c.validate())
            .unwrap_err()
            .to_string();
        assert!(e.contains("also a CMP path of CA"), "{e}");
    }
}
