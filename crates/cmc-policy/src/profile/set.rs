//! The profiles of one CA, read from one TOML file, with the one a request
//! gets when it names none.

use std::collections::BTreeMap;

use super::raw::RawFile;
use super::{DEFAULT_PROFILE_NAME, Profile};
use crate::Error;
use crate::internal::reserved_profile_name;

/// The profiles of one CA, read from one TOML file.
///
/// ```toml
/// default_profile = "server"      # optional; else "default"
///
/// [profile.server]
/// validity_days = 90
/// key_usage = ["digitalSignature", "keyEncipherment"]
/// extended_key_usage = ["serverAuth"]
/// [profile.server.san]
/// allowed = ["dNSName"]
/// required = true
/// ```
///
/// Fields a profile leaves out take the values of [`Profile::builtin`]. The
/// built-in profile is present as `default` unless the file defines its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
    default: String,
}

impl ProfileSet {
    /// Just the built-in `default` profile.
    #[must_use]
    pub fn builtin() -> Self {
        let mut profiles = BTreeMap::new();
        profiles.insert(DEFAULT_PROFILE_NAME.to_owned(), Profile::builtin());
        Self {
            profiles,
            default: DEFAULT_PROFILE_NAME.to_owned(),
        }
    }

    /// Read and check a profile file.
    ///
    /// # Errors
    /// [`Error::ConfigSyntax`] when the TOML does not parse or has an unknown
    /// field (the message names it), [`Error::Config`] with the field path
    /// when a value is refused.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let raw: RawFile = toml::from_str(text).map_err(|e| Error::ConfigSyntax {
            message: e.to_string(),
        })?;
        let mut set = Self::builtin();
        for (name, p) in raw.profile {
            // The engine's own profiles are built in: a file may neither
            // replace nor shadow one (their names are recorded with every
            // certificate of theirs, and a request naming one must find
            // nothing).
            if let Some(what) = reserved_profile_name(&name) {
                return Err(Error::config(
                    format!("profile.{name}"),
                    format!("the name is reserved for the engine's built-in {what} profile"),
                ));
            }
            let profile = Profile::from_raw(&name, p)?;
            set.profiles.insert(name, profile);
        }
        if let Some(default) = raw.default_profile {
            if !set.profiles.contains_key(&default) {
                return Err(Error::config(
                    "default_profile",
                    format!("no profile named `{default}` is defined"),
                ));
            }
            set.default = default;
        }
        Ok(set)
    }

    /// The profile called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownProfile`] if there is none.
    pub fn get(&self, name: &str) -> Result<&Profile, Error> {
        self.profiles
            .get(name)
            .ok_or_else(|| Error::UnknownProfile(name.to_owned()))
    }

    /// The profile used when a request names none.
    #[must_use]
    pub fn default_profile(&self) -> &Profile {
        // `default` always names a profile in the map (`builtin` inserts it
        // and `from_toml` only replaces it with a name it checked); the
        // fallback only keeps this free of a panic path.
        self.profiles
            .get(&self.default)
            .unwrap_or_else(|| builtin_static())
    }

    /// The names of all profiles, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }
}

fn builtin_static() -> &'static Profile {
    static BUILTIN: std::sync::OnceLock<Profile> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(Profile::builtin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Curve, KeyKind};
    use crate::names;
    use crate::profile::{DEFAULT_VALIDITY_DAYS, OnIssuerExpiry, OnRefusedExtension, SkiMethod};

    #[test]
    fn several_profiles_from_one_file() {
        let set = ProfileSet::from_toml(
            r#"
            default_profile = "server"
            [profile.server]
            validity_days = 90
            extended_key_usage = ["serverAuth"]
            certificate_policies = ["2.23.140.1.2.1"]
            [profile.server.san]
            allowed = ["dNSName", "ip"]
            required = true
            [profile.client]
            extended_key_usage = ["clientAuth"]
            on_refused_extension = "refuse"
            [profile.client.keys]
            ec_curves = ["P-384"]
            rsa_sizes = [3072]
            [profile.ra]
            validity_days = 365
            extended_key_usage = ["id-kp-cmcRA"]
            on_issuer_expiry = "refuse"
            subject_key_identifier = "rfc7093"
            [profile.ra.subject]
            from_request = ["CN"]
            require_cn = true
            fixed = { O = "Example AB", C = "SE" }
            "#,
        )
        .unwrap();
        assert_eq!(
            set.names().collect::<Vec<_>>(),
            ["client", "default", "ra", "server"]
        );
        assert_eq!(set.default_profile().name(), "server");
        let server = set.get("server").unwrap();
        assert_eq!(server.validity_days(), 90);
        assert!(server.san_required);
        assert_eq!(server.certificate_policies().len(), 1);
        let client = set.get("client").unwrap();
        assert_eq!(client.validity_days(), DEFAULT_VALIDITY_DAYS);
        assert_eq!(client.on_refused_extension(), OnRefusedExtension::Refuse);
        assert!(!client.allows_key(&KeyKind::Ec(Curve::P256)));
        assert!(client.allows_key(&KeyKind::Ec(Curve::P384)));
        assert!(!client.allows_key(&KeyKind::Rsa(2048)));
        let ra = set.get("ra").unwrap();
        assert_eq!(ra.extended_key_usage(), &[names::ID_KP_CMC_RA]);
        assert_eq!(ra.on_issuer_expiry(), OnIssuerExpiry::Refuse);
        assert_eq!(ra.ski_method(), SkiMethod::Rfc7093);
        assert_eq!(ra.subject_fixed.len(), 2);
        assert!(ra.require_cn);
        assert!(matches!(set.get("nope"), Err(Error::UnknownProfile(n)) if n == "nope"));
    }
}
