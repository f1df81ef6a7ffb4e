//! Secrets the CA must be able to read back, sealed at rest.
//!
//! CMC identity proofs and EST passwords are checked against derived keys
//! (`secret.rs`), so those secrets are never stored. CMP's MAC
//! protections (PBM, RFC 4210 §5.1.3.1; PBMAC1, RFC 9481 §6.1.2) derive
//! their key from the secret with a salt and an iteration count the client
//! chooses per message, so the CA needs the secret itself. It keeps it
//! sealed: AES-256-GCM under a 256-bit key held in a file outside the
//! store (`secrets_key`, by default `DATA_DIR/secrets.key`, mode 0600), so
//! that a copy of the database (a PostgreSQL dump, a backup of
//! `cmc.db`) does not give the secrets away. Each sealed value is bound to
//! the row it belongs to by its associated data (a sealed secret moved to
//! another reference does not open).
//!
//! Sealed form: `0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The file name of the sealing key in the data directory.
pub const DEFAULT_FILE: &str = "secrets.key";

/// The version byte of the sealed form.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// Prefixed to every associated data.
const AAD_LABEL: &[u8] = b"cmc sealed secret v1\0";

/// What a sealed value belongs to: its associated data.
#[derive(Clone, Copy, Debug)]
pub enum SealedFor<'a> {
    /// The MAC credential of the client with this reference.
    ClientMac(&'a str),
    /// The one-time secret `identification` of CA `ca`.
    Secret {
        /// The CA.
        ca: &'a str,
        /// The identification.
        identification: &'a str,
    },
}

impl SealedFor<'_> {
    fn aad(self) -> Vec<u8> {
        let mut aad = AAD_LABEL.to_vec();
        match self {
            Self::ClientMac(reference) => {
                aad.extend_from_slice(b"client-mac\0");
                aad.extend_from_slice(reference.as_bytes());
            }
            Self::Secret { ca, identification } => {
                aad.extend_from_slice(b"secret\0");
                aad.extend_from_slice(ca.as_bytes());
                aad.push(0);
                aad.extend_from_slice(identification.as_bytes());
            }
        }
        aad
    }
}

/// The key that seals secrets (see the module documentation).
pub struct SealingKey {
    cipher: Aes256Gcm,
    path: PathBuf,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SealingKey {
    /// Reads the key file at `path` (64 hexadecimal digits).
    ///
    /// # Errors
    /// [`Error::File`] when it cannot be read; [`Error::Config`] when it is
    /// not a key file or other users may read it.
    pub fn load(path: &Path) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| Error::file(path, "reading", &e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::Config(format!(
                "{}: the secrets key must be readable by its owner only (chmod 600)",
                path.display()
            )));
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| Error::file(path, "reading", &e))?,
        );
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        let decoded = base16ct::mixed::decode(text.trim().as_bytes(), key.as_mut());
        if decoded.map(<[u8]>::len).ok() != Some(KEY_LEN) {
            return Err(Error::Config(format!(
                "{}: not a secrets key (64 hexadecimal digits)",
                path.display()
            )));
        }
        Ok(Self {
            cipher: Aes256Gcm::new(&(*key).into()),
            path: path.to_path_buf(),
        })
    }

    /// Reads the key file at `path`, creating it (mode 0600, a fresh random
    /// key) when there is none. Two processes creating it at once end with
    /// the same key: the file appears whole or not at all.
    ///
    /// # Errors
    /// As [`SealingKey::load`]; [`Error::File`] when it cannot be created;
    /// [`Error::Rng`].
    pub fn load_or_create(path: &Path) -> Result<Self> {
        if path.exists() {
            return Self::load(path);
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(key.as_mut()).map_err(|_| Error::Rng)?;
        let mut text = Zeroizing::new(base16ct::lower::encode_string(key.as_ref()));
        text.push('\n');
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|_| Error::Rng)?;
        let tmp = path.with_extension(format!("tmp-{}", base16ct::lower::encode_string(&suffix)));
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_all()
            });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::file(&tmp, "creating", &e));
        }
        // A hard link publishes the whole file, and fails if another
        // process published its key first: then that key is the one.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "secrets key created");
                Self::load(path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(Error::file(path, "creating", &e)),
        }
    }

    /// The key file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Seals `secret` for `owner`.
    ///
    /// # Errors
    /// [`Error::Rng`]; [`Error::Encode`] if encryption fails (not expected).
    pub fn seal(&self, owner: SealedFor<'_>, secret: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| Error::Rng)?;
        let aad = owner.aad();
        let ciphertext = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|e| Error::encode("sealed secret", e))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens what [`SealingKey::seal`] sealed for `owner`.
    ///
    /// # Errors
    /// [`Error::Config`] when it does not open: another key sealed it (the
    /// key file is not the one the secret was registered with), it belongs
    /// to another owner, or it was altered.
    pub fn open(&self, owner: SealedFor<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let refuse = || {
            Error::Config(format!(
                "a sealed secret does not open with {} (another key sealed it, or it was altered)",
                self.path.display()
            ))
        };
        let (&version, rest) = sealed.split_first().ok_or_else(refuse)?;
        if version != VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(refuse());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| refuse())?;
        let aad = owner.aad();
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| refuse())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_owner_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_FILE);
        let key = SealingKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let owner = SealedFor::ClientMac("1234");
        let sealed = key.seal(owner, b"the RA's secret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"), "not in clear");
        assert_eq!(&*key.open(owner, &sealed).unwrap(), b"the RA's secret");
        // The same file read again is the same key.
        let again = SealingKey::load_or_create(&path).unwrap();
        assert_eq!(&*again.open(owner, &sealed).unwrap(), b"the RA's secret");

        // Bound to its owner.
        assert!(key.open(SealedFor::ClientMac("1235"), &sealed).is_err());
        let secret_owner = SealedFor::Secret {
            ca: "ca",
            identification: "1234",
        };
        assert!(key.open(secret_owner, &sealed).is_err());
        // Altered anywhere, or sealed by another key: refused.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(key.open(owner, &bad).is_err(), "byte {i}");
        }
        assert!(key.open(owner, &sealed[..sealed.len() - 1]).is_err());
        let other = SealingKey::load_or_create(&dir.path().join("other.key")).unwrap();
        assert!(other.open(owner, &sealed).is_err());
    }

    #[test]
    fn a_readable_or_malformed_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_FILE);
        SealingKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = SealingKey::load(&path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::write(&path, "not hex\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = SealingKey::load(&path).unwrap_err().to_string();
        assert!(e.contains("64 hexadecimal digits"), "{e}");
        assert!(SealingKey::load(&dir.path().join("missing.key")).is_err());
    }

    #[test]
    fn concurrent_creation_ends_with_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_FILE);
        let keys: Vec<SealingKey> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| SealingKey::load_or_create(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let sealed = keys[0].seal(SealedFor::ClientMac("r"), b"s").unwrap();
        for k in &keys {
            assert_eq!(&*k.open(SealedFor::ClientMac("r"), &sealed).unwrap(), b"s");
        }
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left");
    }
}
