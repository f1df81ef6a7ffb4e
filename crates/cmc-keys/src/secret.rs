//! Passphrases and PINs: where they come from, and how they are held.
//!
//! A secret never comes from the command line (other users can read a
//! process's argv). It comes from an environment variable or from a file,
//! is held in memory that is zeroed when dropped, and never appears in a
//! `Debug` or error message.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::Error;

/// A passphrase or PIN, zeroed on drop. `Debug` prints `Secret(***)`.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wrap bytes obtained some other way (an interactive prompt, a vault).
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret's bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the secret is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where to read a passphrase or PIN from.
///
/// Parsed from `env:NAME` or `file:/path/to/file` (for a config value or a
/// CLI flag that names the *source*, never the secret itself).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SecretSource {
    /// The value of this environment variable, byte for byte.
    Env(String),
    /// The contents of this file, less one trailing newline (`\n` or `\r\n`).
    File(PathBuf),
}

impl SecretSource {
    /// Read the secret.
    ///
    /// # Errors
    /// - [`Error::SecretEnvMissing`] if the variable is not set;
    /// - [`Error::SecretFile`] if the file cannot be read;
    /// - [`Error::EmptySecret`] if the value is empty: an empty passphrase
    ///   would encrypt nothing, and an empty PIN is a misconfiguration.
    pub fn read(&self) -> Result<Secret, Error> {
        let secret = match self {
            Self::Env(name) => {
                let value: OsString = std::env::var_os(name)
                    .ok_or_else(|| Error::SecretEnvMissing { name: name.clone() })?;
                Secret::new(value.into_vec())
            }
            Self::File(path) => {
                let file_err = |source| Error::SecretFile {
                    path: path.clone(),
                    source,
                };
                let mut file = std::fs::File::open(path).map_err(file_err)?;
                // Size the buffer up front so reading does not reallocate and
                // leave copies of the secret in freed memory.
                let hint = file
                    .metadata()
                    .ok()
                    .and_then(|m| usize::try_from(m.len()).ok())
                    .unwrap_or(0);
                let mut bytes = Zeroizing::new(Vec::with_capacity(hint.saturating_add(1)));
                file.read_to_end(&mut bytes).map_err(file_err)?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                Secret(bytes)
            }
        };
        if secret.is_empty() {
            return Err(Error::EmptySecret {
                origin: self.to_string(),
            });
        }
        Ok(secret)
    }
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl FromStr for SecretSource {
    type Err = Error;

    /// `env:NAME` or `file:PATH`.
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(name) = s.strip_prefix("env:").filter(|n| !n.is_empty()) {
            Ok(Self::Env(name.to_owned()))
        } else if let Some(path) = s.strip_prefix("file:").filter(|p| !p.is_empty()) {
            Ok(Self::File(PathBuf::from(path)))
        } else {
            // Never echo the value: someone may have typed the secret itself.
            Err(Error::Parse {
                what: "secret source",
                value: "(not shown)".to_owned(),
                expected: "env:NAME or file:PATH",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_trims_exactly_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        for (content, want) in [
            (&b"pass\n"[..], &b"pass"[..]),
            (b"pass\r\n", b"pass"),
            (b"pass\n\n", b"pass\n"),
            (b"pass", b"pass"),
            (b" pass \n", b" pass "),
        ] {
            let p = dir.path().join("s");
            std::fs::write(&p, content).unwrap();
            let got = SecretSource::File(p).read().unwrap();
            assert_eq!(got.expose(), want);
        }
    }

    #[test]
    fn errors_are_distinct_and_do_not_leak() {
        let dir = tempfile::tempdir().unwrap();
        let missing = SecretSource::File(dir.path().join("nope"));
        assert!(matches!(missing.read(), Err(Error::SecretFile { .. })));

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(matches!(
            SecretSource::File(empty).read(),
            Err(Error::EmptySecret { .. })
        ));

        let unset = SecretSource::Env("CMC_KEYS_TEST_SURELY_UNSET_VARIABLE".into());
        let err = unset.read().unwrap_err();
        assert!(matches!(err, Error::SecretEnvMissing { .. }));
        assert!(
            err.to_string()
                .contains("CMC_KEYS_TEST_SURELY_UNSET_VARIABLE")
        );

        let err = "hunter2".parse::<SecretSource>().unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(format!("{:?}", Secret::new(b"hunter2".to_vec())) == "Secret(***)");
    }

    #[test]
    fn parse_sources() {
        assert_eq!(
            "env:CA_PIN".parse::<SecretSource>().unwrap(),
            SecretSource::Env("CA_PIN".into())
        );
        assert_eq!(
            "file:/run/secrets/pin".parse::<SecretSource>().unwrap(),
            SecretSource::File("/run/secrets/pin".into())
        );
        assert!("env:".parse::<SecretSource>().is_err());
    }
}
