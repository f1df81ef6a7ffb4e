//! The embedded setup: on first start, a data directory with a root CA and
//! a bootstrap RA credential, so that a fresh `cmc-server` can issue
//! certificates at once; on later starts, nothing is created
//! ([`Engine::ensure_embedded`]).
//!
//! Created in `data_dir` (0700), each file 0600 and never over an existing
//! one:
//!
//! | file | what |
//! | --- | --- |
//! | `cmc.db` | the SQLite store (unless `store` points elsewhere) |
//! | `ca-passphrase` | random passphrase of the CA key |
//! | `root.key` | the root CA's P-384 key, encrypted PKCS#8 |
//! | `root.pem` | the root CA's certificate (the client's `--ca-cert`) |
//! | `bootstrap-ra-passphrase` | random passphrase of the RA key |
//! | `bootstrap-ra.key` | the bootstrap RA's P-256 key, encrypted PKCS#8 |
//! | `bootstrap-ra.pem` | the bootstrap RA's certificate |
//!
//! The CA's key reference names the passphrase *file*; the passphrase
//! itself is never stored in the database, printed or logged.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use cmc_keys::{FileKey, KeySpec, SecretSource, SigningKey};
use cmc_store::{ClientRole, Grant, Scope};

use crate::ca::{CaKey, NewCa};
use crate::client::ClientCredentialRequest;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::key_config::{KeyConfig, SecretRef};

/// The name the embedded root CA gets unless `default_ca` names another.
pub const ROOT_NAME: &str = "root";
/// The embedded root CA's subject.
pub const ROOT_SUBJECT: &str = "CN=cmc-ca embedded root";
/// The embedded root CA's lifetime.
pub const ROOT_DAYS: u32 = 3_652;
/// The bootstrap RA's client id.
pub const RA_CLIENT_ID: &str = "bootstrap-ra";
/// The bootstrap RA's subject.
pub const RA_SUBJECT: &str = "CN=cmc-ca bootstrap RA";
/// The bootstrap RA credential's lifetime.
pub const RA_DAYS: u32 = 365;

/// Where the embedded setup's files are, relative to the data directory as
/// configured (so that what is printed is what the operator typed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Files {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The CA key's passphrase file.
    pub ca_passphrase: PathBuf,
    /// The CA key.
    pub ca_key: PathBuf,
    /// The CA certificate, PEM.
    pub ca_cert: PathBuf,
    /// The bootstrap RA key's passphrase file.
    pub ra_passphrase: PathBuf,
    /// The bootstrap RA key.
    pub ra_key: PathBuf,
    /// The bootstrap RA certificate, PEM.
    pub ra_cert: PathBuf,
}

impl Files {
    /// The file names under `data_dir`.
    #[must_use]
    pub fn new(data_dir: &Path, ca: &str) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            ca_passphrase: data_dir.join("ca-passphrase"),
            ca_key: data_dir.join(format!("{ca}.key")),
            ca_cert: data_dir.join(format!("{ca}.pem")),
            ra_passphrase: data_dir.join("bootstrap-ra-passphrase"),
            ra_key: data_dir.join("bootstrap-ra.key"),
            ra_cert: data_dir.join("bootstrap-ra.pem"),
        }
    }

    pub(crate) fn all(&self) -> [&Path; 6] {
        [
            &self.ca_passphrase,
            &self.ca_key,
            &self.ca_cert,
            &self.ra_passphrase,
            &self.ra_key,
            &self.ra_cert,
        ]
    }
}

/// What [`Engine::ensure_embedded`] found or made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmbeddedSetup {
    /// A first start: the CA and the RA credential were created.
    Created {
        /// The new CA's name.
        ca: String,
        /// The files.
        files: Files,
    },
    /// The store already had CAs: nothing was created.
    Existing {
        /// The loaded CAs.
        cas: Vec<String>,
        /// The CA the bootstrap RA credential is for and its files, when
        /// that CA is loaded and the files are there.
        bootstrap: Option<(String, Files)>,
    },
}

/// Creates the data directory (0700) if it is missing. Done before the
/// store is opened, so the SQLite file lands in a private directory.
///
/// # Errors
/// If the directory cannot be created.
pub fn ensure_data_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::file(dir, "creating the data directory", &e))
}

impl Engine {
    /// If the engine has no CA, creates the embedded root CA `ca` and the
    /// bootstrap RA credential under `data_dir`; otherwise creates nothing.
    ///
    /// Blocks on the store and on key generation.
    ///
    /// # Errors
    /// If a bootstrap file is left over from an interrupted first start (it is
    /// never overwritten), or creating the CA, the key files or the credential
    /// fails.
    pub fn ensure_embedded(&self, data_dir: &Path, ca: &str) -> Result<EmbeddedSetup> {
        let engine = self;
        let files = Files::new(data_dir, ca);
        let cas = engine.ca_names();
        if !cas.is_empty() {
            let present =
                cas.iter().any(|c| c == ca) && files.ra_cert.is_file() && files.ra_key.is_file();
            return Ok(EmbeddedSetup::Existing {
                cas,
                bootstrap: present.then(|| (ca.to_owned(), files)),
            });
        }
        if let Some(left) = files.all().into_iter().find(|p| p.exists()) {
            return Err(Error::Config(format!(
                "the store has no CA, but {} exists (left from an interrupted first start?); \
             remove the bootstrap files or point `store` at the database they belong to",
                left.display()
            )));
        }
        // The key reference stored in the database must not depend on the
        // directory the server is started from.
        let abs_dir =
            std::fs::canonicalize(data_dir).map_err(|e| Error::file(data_dir, "resolving", &e))?;
        let abs = Files::new(&abs_dir, ca);

        write_new_private(&abs.ca_passphrase, random_passphrase()?.as_bytes())?;
        let spec = KeySpec::P384;
        let key_config = KeyConfig::file(
            &abs.ca_key,
            SecretRef::File(abs.ca_passphrase.clone()),
            spec.default_scheme(),
        );
        let root = engine.create_ca(&NewCa {
            name: ca.to_owned(),
            subject: ROOT_SUBJECT.to_owned(),
            validity_days: ROOT_DAYS,
            key: CaKey::Generate {
                spec,
                config: key_config,
            },
            path_len: None,
            issuer: None,
            requester: "cmc-server bootstrap".to_owned(),
        })?;
        write_new_private(
            &abs.ca_cert,
            pem_certificate(root.certificate_der())?.as_bytes(),
        )?;

        write_new_private(&abs.ra_passphrase, random_passphrase()?.as_bytes())?;
        let ra_key = FileKey::generate(KeySpec::P256)?;
        ra_key.store(&abs.ra_key, &SecretSource::File(abs.ra_passphrase.clone()))?;
        let credential = engine.issue_client_credential(&ClientCredentialRequest {
            names: None,
            ca: ca.to_owned(),
            client_id: RA_CLIENT_ID.to_owned(),
            subject: RA_SUBJECT.to_owned(),
            public_key: ra_key.public_key().clone(),
            role: ClientRole::Ra,
            grants: vec![Grant {
                ca: Scope::Named(ca.to_owned()),
                profile: Scope::Any,
            }],
            validity_days: RA_DAYS,
            requester: "cmc-server bootstrap".to_owned(),
            mac: None,
        })?;
        let pem = pem_certificate(&credential.certificate_der)?;
        write_new_private(&abs.ra_cert, pem.as_bytes())?;
        Ok(EmbeddedSetup::Created {
            ca: ca.to_owned(),
            files,
        })
    }
}

fn pem_certificate(der: &[u8]) -> Result<String> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
        .map_err(|e| Error::encode("PEM certificate", e))
}

fn random_passphrase() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| Error::Rng)?;
    Ok(base16ct::lower::encode_string(&bytes))
}

fn write_new_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::file(path, "creating", &e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::file(path, "writing", &e))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use crate::{EngineConfig, SystemClock};

    use super::*;

    fn engine(dir: &Path) -> Engine {
        let store = cmc_store::open(&format!("sqlite://{}", dir.join("cmc.db").display())).unwrap();
        Engine::load(store, Arc::new(SystemClock), EngineConfig::default()).unwrap()
    }

    #[test]
    fn first_start_creates_then_reuses() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        ensure_data_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let outcome = engine(&dir).ensure_embedded(&dir, "root").unwrap();
        let EmbeddedSetup::Created { ca, files } = &outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(ca, "root");
        for f in files.all() {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        let pass = std::fs::read_to_string(&files.ca_passphrase).unwrap();
        assert_eq!(pass.len(), 64);
        // The RA key opens with its passphrase file and matches the cert.
        let key = FileKey::load(
            &files.ra_key,
            &SecretSource::File(files.ra_passphrase.clone()),
        )
        .unwrap();
        let pem = std::fs::read(&files.ra_cert).unwrap();
        let (_, der) = der::pem::decode_vec(&pem).unwrap();
        let cert = <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap();
        assert_eq!(
            cert.tbs_certificate().subject_public_key_info(),
            key.public_key()
        );

        // A second start (a new engine on the same store) creates nothing.
        let again = engine(&dir).ensure_embedded(&dir, "root").unwrap();
        assert_eq!(
            again,
            EmbeddedSetup::Existing {
                cas: vec!["root".into()],
                bootstrap: Some(("root".into(), files.clone()))
            }
        );
    }

    #[test]
    fn leftover_files_are_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("ca-passphrase"), "old").unwrap();
        let err = engine(dir)
            .ensure_embedded(dir, "root")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ca-passphrase"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("ca-passphrase")).unwrap(),
            "old"
        );
    }
}
