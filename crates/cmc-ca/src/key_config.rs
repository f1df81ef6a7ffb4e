//! Where a CA's signing key lives, as stored in `CaRecord::key_ref`.
//!
//! A [`KeyConfig`] serialises to a small JSON object. It says where the key
//! is and where its passphrase or PIN is to be read from ([`SecretRef`]),
//! never the passphrase or PIN itself:
//!
//! ```json
//! {"backend":"file","path":"/var/lib/cmc/root.key","passphrase":{"env":"CMC_ROOT_PASS"},"scheme":"ecdsa-sha384"}
//! {"backend":"pkcs11","module":"/usr/lib/softhsm/libsofthsm2.so","token_label":"ca",
//!  "key_label":"issuing-2026","key_id":"0a1b","pin":{"file":"/run/secrets/pin"},"scheme":"rsa-pss-sha256"}
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use cmc_keys::{DecryptionKey, FileKey, KeySpec, SecretSource, SignatureScheme, SigningKey};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where to read a passphrase or PIN: the serialisable form of
/// [`SecretSource`]. JSON: `{"env":"NAME"}` or `{"file":"/path"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretRef {
    /// The value of this environment variable.
    Env(String),
    /// The contents of this file, less one trailing newline.
    File(PathBuf),
}

impl SecretRef {
    /// The [`SecretSource`] that reads it.
    #[must_use]
    pub fn to_source(&self) -> SecretSource {
        match self {
            Self::Env(name) => SecretSource::Env(name.clone()),
            Self::File(path) => SecretSource::File(path.clone()),
        }
    }
}

impl From<SecretSource> for SecretRef {
    fn from(s: SecretSource) -> Self {
        match s {
            SecretSource::Env(name) => Self::Env(name),
            SecretSource::File(path) => Self::File(path),
        }
    }
}

/// Where a CA's signing key is, and the signature scheme it signs with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum KeyConfig {
    /// A PKCS#8 PEM file (see [`FileKey`]).
    File {
        /// The key file.
        path: PathBuf,
        /// Where the passphrase that decrypts it is; `None` only together
        /// with `unencrypted`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passphrase: Option<SecretRef>,
        /// The file is deliberately unencrypted. Must be said explicitly:
        /// a missing passphrase alone is refused.
        #[serde(default, skip_serializing_if = "is_false")]
        unencrypted: bool,
        /// The signature scheme (`ecdsa-sha384`, `rsa-pss-sha256`, ...).
        #[serde(with = "scheme_text")]
        scheme: SignatureScheme,
    },
    /// A key on a PKCS#11 token.
    Pkcs11 {
        /// The PKCS#11 module (shared library).
        module: PathBuf,
        /// The token's label.
        token_label: String,
        /// The key's `CKA_LABEL`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_label: Option<String>,
        /// The key's `CKA_ID`, in hex.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// Where the user PIN is.
        pin: SecretRef,
        /// Sessions to keep logged in (default: one per CPU).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sessions: Option<usize>,
        /// The signature scheme.
        #[serde(with = "scheme_text")]
        scheme: SignatureScheme,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `SignatureScheme` as its short text name.
mod scheme_text {
    use cmc_keys::SignatureScheme;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(s: &SignatureScheme, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<SignatureScheme, D::Error> {
        let s = String::deserialize(de)?;
        s.parse().map_err(de::Error::custom)
    }
}

impl KeyConfig {
    /// An encrypted key file whose passphrase comes from `passphrase`.
    #[must_use]
    pub fn file(path: impl Into<PathBuf>, passphrase: SecretRef, scheme: SignatureScheme) -> Self {
        Self::File {
            path: path.into(),
            passphrase: Some(passphrase),
            unencrypted: false,
            scheme,
        }
    }

    /// An **unencrypted** key file.
    #[must_use]
    pub fn unencrypted_file(path: impl Into<PathBuf>, scheme: SignatureScheme) -> Self {
        Self::File {
            path: path.into(),
            passphrase: None,
            unencrypted: true,
            scheme,
        }
    }

    /// A key on a PKCS#11 token, found by label.
    #[must_use]
    pub fn pkcs11(
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        key_label: impl Into<String>,
        pin: SecretRef,
        scheme: SignatureScheme,
    ) -> Self {
        Self::Pkcs11 {
            module: module.into(),
            token_label: token_label.into(),
            key_label: Some(key_label.into()),
            key_id: None,
            pin,
            sessions: None,
            scheme,
        }
    }

    /// The signature scheme the key signs with.
    #[must_use]
    pub fn scheme(&self) -> SignatureScheme {
        match self {
            Self::File { scheme, .. } | Self::Pkcs11 { scheme, .. } => *scheme,
        }
    }

    /// The same key with another signature scheme (checked when opened).
    #[must_use]
    pub fn with_scheme(mut self, new: SignatureScheme) -> Self {
        match &mut self {
            Self::File { scheme, .. } | Self::Pkcs11 { scheme, .. } => *scheme = new,
        }
        self
    }

    /// Checks the combination of fields.
    ///
    /// # Errors
    /// [`Error::KeyConfig`] for a file key with both or neither of a
    /// passphrase and `unencrypted`, a PKCS#11 key with neither label nor
    /// id, an id that is not hex, or zero sessions.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::File {
                passphrase,
                unencrypted,
                ..
            } => match (passphrase, unencrypted) {
                (Some(_), false) | (None, true) => Ok(()),
                (Some(_), true) => Err(Error::KeyConfig(
                    "a file key is either encrypted with a passphrase or unencrypted, not both"
                        .into(),
                )),
                (None, false) => Err(Error::KeyConfig(
                    "a file key needs a passphrase source, or `unencrypted: true` said explicitly"
                        .into(),
                )),
            },
            Self::Pkcs11 {
                key_label,
                key_id,
                sessions,
                ..
            } => {
                if key_label.is_none() && key_id.is_none() {
                    return Err(Error::KeyConfig(
                        "a PKCS#11 key needs a key_label or a key_id".into(),
                    ));
                }
                if let Some(id) = key_id {
                    parse_hex(id)?;
                }
                if *sessions == Some(0) {
                    return Err(Error::KeyConfig("sessions must be at least 1".into()));
                }
                Ok(())
            }
        }
    }

    /// Takes relative paths in it (key file, PKCS#11 module, passphrase or
    /// PIN file) from `base`, as [`crate::config::Config::resolve_paths`] does.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        let (path, secret) = match self {
            Self::File {
                path, passphrase, ..
            } => (path, passphrase.as_mut()),
            Self::Pkcs11 { module, pin, .. } => (module, Some(pin)),
        };
        fix(path);
        if let Some(SecretRef::File(p)) = secret {
            fix(p);
        }
    }

    /// The JSON stored in `CaRecord::key_ref`.
    ///
    /// # Errors
    /// [`Error::KeyConfig`] if the configuration is inconsistent
    /// ([`KeyConfig::validate`]).
    pub fn to_key_ref(&self) -> Result<String> {
        self.validate()?;
        serde_json::to_string(self).map_err(|e| Error::KeyConfig(e.to_string()))
    }

    /// Parses `CaRecord::key_ref`. Unknown fields are refused.
    ///
    /// # Errors
    /// [`Error::KeyConfig`] if it does not parse or is inconsistent.
    pub fn from_key_ref(key_ref: &str) -> Result<Self> {
        let config: Self =
            serde_json::from_str(key_ref).map_err(|e| Error::KeyConfig(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a file key (its passphrase now) set to [`KeyConfig::scheme`].
    fn open_file(&self) -> Result<FileKey> {
        let Self::File {
            path,
            passphrase,
            scheme,
            ..
        } = self
        else {
            return Err(Error::KeyConfig("not a file key".into()));
        };
        let key = match passphrase {
            Some(p) => FileKey::load(path, &p.to_source())?,
            None => FileKey::load_unencrypted(path)?,
        };
        Ok(key.with_scheme(*scheme)?)
    }

    /// Opens the key (reading its passphrase or PIN now) set to sign with
    /// [`KeyConfig::scheme`].
    ///
    /// # Errors
    /// [`Error::KeyConfig`], [`Error::Pkcs11Disabled`] and the key
    /// backend's errors as [`Error::Key`] (wrong passphrase or PIN, missing
    /// file, token or key, a scheme that does not fit the key, ...).
    pub fn open(&self) -> Result<Arc<dyn SigningKey>> {
        self.validate()?;
        match self {
            Self::File { .. } => Ok(Arc::new(self.open_file()?)),
            Self::Pkcs11 { scheme, .. } => self.open_pkcs11(*scheme),
        }
    }

    /// Opens the key to decrypt with (reading its passphrase or PIN now):
    /// the key of a CA's encryption credential. A file key is read as
    /// for [`KeyConfig::open`]; a PKCS #11 key must have `CKA_DECRYPT` (RSA)
    /// or `CKA_DERIVE` (P-256, P-384). The scheme must fit the key, though
    /// it is not used.
    ///
    /// # Errors
    /// As [`KeyConfig::open`]; a token key without the attribute is
    /// [`cmc_keys::Error::KeyUsage`].
    pub fn open_decryption(&self) -> Result<Arc<dyn DecryptionKey>> {
        self.validate()?;
        match self {
            Self::File { .. } => Ok(Arc::new(self.open_file()?)),
            Self::Pkcs11 { scheme, .. } => self.open_pkcs11_decryption(*scheme),
        }
    }

    /// Generates a new PKCS #11 key pair of type `spec` to decrypt with
    /// (`CKA_DECRYPT` for RSA, `CKA_DERIVE` for P-256/P-384; not
    /// extractable, no `CKA_SIGN`) and opens it. Returns the configuration
    /// to store, with the random id the key was given when it had none.
    /// File keys are generated by the caller (they need no attributes).
    ///
    /// # Errors
    /// [`Error::KeyConfig`] for a file key; those of [`KeyConfig::generate`].
    pub fn generate_decryption(&self, spec: KeySpec) -> Result<(Self, Arc<dyn DecryptionKey>)> {
        self.validate()?;
        self.scheme().check_key(spec)?;
        if !matches!(self, Self::Pkcs11 { .. }) {
            return Err(Error::KeyConfig(
                "only PKCS#11 decryption keys are generated here".into(),
            ));
        }
        self.generate_pkcs11_decryption(spec)
    }

    /// Generates a new key pair of type `spec` where this configuration
    /// points (a new file, mode 0600, encrypted unless `unencrypted`; or on
    /// the token, not extractable), and opens it. Returns the configuration
    /// to store: for a PKCS#11 key generated without an id, it includes the
    /// random id the token key was given.
    ///
    /// # Errors
    /// [`Error::Key`] if the scheme does not fit `spec`, the file exists,
    /// a key with this label or id is already on the token, or the backend
    /// fails; [`Error::KeyConfig`]; [`Error::Pkcs11Disabled`].
    pub fn generate(&self, spec: KeySpec) -> Result<(Self, Arc<dyn SigningKey>)> {
        self.validate()?;
        self.scheme().check_key(spec)?;
        match self {
            Self::File {
                path,
                passphrase,
                scheme,
                ..
            } => {
                let key = FileKey::generate(spec)?.with_scheme(*scheme)?;
                match passphrase {
                    Some(p) => key.store(path, &p.to_source())?,
                    None => key.store_unencrypted(path)?,
                }
                Ok((self.clone(), Arc::new(key)))
            }
            Self::Pkcs11 { .. } => self.generate_pkcs11(spec),
        }
    }

    #[cfg(feature = "pkcs11")]
    fn pkcs11_config(&self) -> Result<cmc_keys::pkcs11::Pkcs11Config> {
        use cmc_keys::pkcs11::{KeyLocator, Pkcs11Config};
        let Self::Pkcs11 {
            module,
            token_label,
            key_label,
            key_id,
            pin,
            sessions,
            ..
        } = self
        else {
            return Err(Error::KeyConfig("not a PKCS#11 key".into()));
        };
        let locator = match (key_label, key_id) {
            (Some(label), Some(id)) => KeyLocator::label(label.clone()).with_id(parse_hex(id)?),
            (Some(label), None) => KeyLocator::label(label.clone()),
            (None, Some(id)) => KeyLocator::id(parse_hex(id)?),
            (None, None) => {
                return Err(Error::KeyConfig(
                    "a PKCS#11 key needs a key_label or a key_id".into(),
                ));
            }
        };
        let mut config = Pkcs11Config::new(
            module.clone(),
            token_label.clone(),
            locator,
            pin.to_source(),
        );
        if let Some(n) = sessions {
            config = config.with_sessions(*n);
        }
        Ok(config)
    }

    #[cfg(feature = "pkcs11")]
    fn open_pkcs11(&self, scheme: SignatureScheme) -> Result<Arc<dyn SigningKey>> {
        let key = cmc_keys::pkcs11::Pkcs11Key::open(&self.pkcs11_config()?)?.with_scheme(scheme)?;
        Ok(Arc::new(key))
    }

    #[cfg(feature = "pkcs11")]
    fn open_pkcs11_decryption(&self, scheme: SignatureScheme) -> Result<Arc<dyn DecryptionKey>> {
        let key = cmc_keys::pkcs11::Pkcs11Key::open_for_decryption(&self.pkcs11_config()?)?;
        scheme.check_key(key.spec())?;
        Ok(Arc::new(key))
    }

    #[cfg(feature = "pkcs11")]
    fn generate_pkcs11_decryption(&self, spec: KeySpec) -> Result<(Self, Arc<dyn DecryptionKey>)> {
        let key =
            cmc_keys::pkcs11::Pkcs11Key::generate_for_decryption(&self.pkcs11_config()?, spec)?;
        let mut stored = self.clone();
        if let Self::Pkcs11 { key_id, .. } = &mut stored {
            *key_id = key.locator().id_bytes().map(to_hex);
        }
        Ok((stored, Arc::new(key)))
    }

    #[cfg(feature = "pkcs11")]
    fn generate_pkcs11(&self, spec: KeySpec) -> Result<(Self, Arc<dyn SigningKey>)> {
        let key = cmc_keys::pkcs11::Pkcs11Key::generate(&self.pkcs11_config()?, spec)?
            .with_scheme(self.scheme())?;
        let mut stored = self.clone();
        if let Self::Pkcs11 { key_id, .. } = &mut stored {
            *key_id = key.locator().id_bytes().map(to_hex);
        }
        Ok((stored, Arc::new(key)))
    }

    #[cfg(not(feature = "pkcs11"))]
    fn open_pkcs11(&self, _scheme: SignatureScheme) -> Result<Arc<dyn SigningKey>> {
        Err(Error::Pkcs11Disabled)
    }

    #[cfg(not(feature = "pkcs11"))]
    fn open_pkcs11_decryption(&self, _scheme: SignatureScheme) -> Result<Arc<dyn DecryptionKey>> {
        Err(Error::Pkcs11Disabled)
    }

    #[cfg(not(feature = "pkcs11"))]
    fn generate_pkcs11_decryption(&self, _spec: KeySpec) -> Result<(Self, Arc<dyn DecryptionKey>)> {
        Err(Error::Pkcs11Disabled)
    }

    #[cfg(not(feature = "pkcs11"))]
    fn generate_pkcs11(&self, _spec: KeySpec) -> Result<(Self, Arc<dyn SigningKey>)> {
        Err(Error::Pkcs11Disabled)
    }
}

#[cfg(any(feature = "pkcs11", test))]
fn to_hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    match base16ct::mixed::decode_vec(s) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(Error::KeyConfig(format!(
            "key_id {s:?} is not an even number of hex digits"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmc_keys::HashAlg;

    #[test]
    fn file_key_ref_round_trips_without_secrets() {
        let config = KeyConfig::file(
            "/var/lib/cmc/root.key",
            SecretRef::Env("CMC_ROOT_PASS".into()),
            SignatureScheme::Ecdsa(HashAlg::Sha384),
        );
        let json = config.to_key_ref().unwrap();
        assert_eq!(
            json,
            r#"{"backend":"file","path":"/var/lib/cmc/root.key","passphrase":{"env":"CMC_ROOT_PASS"},"scheme":"ecdsa-sha384"}"#
        );
        assert_eq!(KeyConfig::from_key_ref(&json).unwrap(), config);
    }

    #[test]
    fn pkcs11_key_ref_round_trips() {
        let json = r#"{"backend":"pkcs11","module":"/usr/lib/softhsm/libsofthsm2.so","token_label":"ca","key_id":"0A1b","pin":{"file":"/run/pin"},"sessions":4,"scheme":"rsa-pss-sha512"}"#;
        let config = KeyConfig::from_key_ref(json).unwrap();
        assert_eq!(config.scheme(), SignatureScheme::RsaPss(HashAlg::Sha512));
        assert_eq!(
            KeyConfig::from_key_ref(&config.to_key_ref().unwrap()).unwrap(),
            config
        );
    }

    #[test]
    fn inconsistent_or_unknown_key_refs_are_refused() {
        for bad in [
            // Neither passphrase nor unencrypted.
            r#"{"backend":"file","path":"/k","scheme":"ecdsa-sha256"}"#,
            // Both.
            r#"{"backend":"file","path":"/k","passphrase":{"env":"P"},"unencrypted":true,"scheme":"ecdsa-sha256"}"#,
            // An unknown field (a PIN value must not be smuggled in either).
            r#"{"backend":"file","path":"/k","passphrase":{"env":"P"},"pin":"1234","scheme":"ecdsa-sha256"}"#,
            // Unknown scheme.
            r#"{"backend":"file","path":"/k","passphrase":{"env":"P"},"scheme":"ecdsa-md5"}"#,
            // Unknown backend.
            r#"{"backend":"vault","path":"/k","scheme":"ecdsa-sha256"}"#,
            // PKCS#11 with neither label nor id.
            r#"{"backend":"pkcs11","module":"/m.so","token_label":"t","pin":{"env":"PIN"},"scheme":"ecdsa-sha256"}"#,
            // Bad id.
            r#"{"backend":"pkcs11","module":"/m.so","token_label":"t","key_id":"abc","pin":{"env":"PIN"},"scheme":"ecdsa-sha256"}"#,
            r#"{"backend":"pkcs11","module":"/m.so","token_label":"t","key_id":"zz","pin":{"env":"PIN"},"scheme":"ecdsa-sha256"}"#,
            // Zero sessions.
            r#"{"backend":"pkcs11","module":"/m.so","token_label":"t","key_label":"k","pin":{"env":"PIN"},"sessions":0,"scheme":"ecdsa-sha256"}"#,
            "not json",
        ] {
            assert!(
                matches!(KeyConfig::from_key_ref(bad), Err(Error::KeyConfig(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn file_keys_generate_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let pass = dir.path().join("pass");
        std::fs::write(&pass, "a long enough passphrase\n").unwrap();
        let config = KeyConfig::file(
            dir.path().join("ca.key"),
            SecretRef::File(pass),
            SignatureScheme::Ecdsa(HashAlg::Sha256),
        );
        let (stored, key) = config.generate(KeySpec::P256).unwrap();
        assert_eq!(stored, config);
        let again = stored.open().unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(again.signature_algorithm(), key.signature_algorithm());
        // A second generation never overwrites the file.
        assert!(matches!(
            config.generate(KeySpec::P256),
            Err(Error::Key(cmc_keys::Error::KeyFileExists { .. }))
        ));
        // A scheme that does not fit the key type is refused before anything
        // is written.
        let rsa = KeyConfig::file(
            dir.path().join("rsa.key"),
            SecretRef::Env("UNUSED".into()),
            SignatureScheme::Ecdsa(HashAlg::Sha256),
        );
        assert!(matches!(
            rsa.generate(KeySpec::Rsa2048),
            Err(Error::Key(cmc_keys::Error::IncompatibleScheme { .. }))
        ));
        assert!(!dir.path().join("rsa.key").exists());
    }

    #[test]
    fn unencrypted_file_keys_must_be_named_so() {
        let dir = tempfile::tempdir().unwrap();
        let config = KeyConfig::unencrypted_file(
            dir.path().join("plain.key"),
            SignatureScheme::Ecdsa(HashAlg::Sha384),
        );
        let (_, key) = config.generate(KeySpec::P384).unwrap();
        assert_eq!(config.open().unwrap().public_key(), key.public_key());
        // Reading the unencrypted file as if it were encrypted fails.
        let as_encrypted = KeyConfig::file(
            dir.path().join("plain.key"),
            SecretRef::Env("UNUSED".into()),
            SignatureScheme::Ecdsa(HashAlg::Sha384),
        );
        assert!(matches!(
            as_encrypted.open(),
            Err(Error::Key(cmc_keys::Error::UnencryptedKey { .. }))
        ));
    }

    #[cfg(not(feature = "pkcs11"))]
    #[test]
    fn pkcs11_keys_need_the_feature() {
        let config = KeyConfig::pkcs11(
            "/usr/lib/softhsm/libsofthsm2.so",
            "t",
            "k",
            SecretRef::Env("PIN".into()),
            SignatureScheme::Ecdsa(HashAlg::Sha256),
        );
        assert!(matches!(config.open(), Err(Error::Pkcs11Disabled)));
        assert!(matches!(
            config.generate(KeySpec::P256),
            Err(Error::Pkcs11Disabled)
        ));
    }

    #[test]
    fn hex_ids() {
        assert_eq!(parse_hex("0a1B").unwrap(), vec![0x0a, 0x1b]);
        assert_eq!(to_hex(&[0x0a, 0x1b]), "0a1b");
        assert!(parse_hex("").is_err());
    }
}
