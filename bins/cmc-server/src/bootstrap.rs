//! The embedded setup: on first start, a data directory with a root CA and
//! a bootstrap RA credential, so that a fresh `cmc-server` can issue
//! certificates at once; on later starts, nothing is created.
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

use std::fmt::Write as _;
use std::fs::{DirBuilder, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cmc_ca::{CaKey, ClientCredentialRequest, Engine, KeyConfig, NewCa, SecretRef};
use cmc_keys::{FileKey, KeySpec, SecretSource, SigningKey};
use cmc_store::{ClientRole, Grant, Scope};

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

    fn all(&self) -> [&Path; 6] {
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

/// What [`ensure`] found or made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
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
        .with_context(|| format!("creating the data directory {}", dir.display()))
}

/// If the engine has no CA, creates the embedded root CA `ca` and the
/// bootstrap RA credential under `data_dir`; otherwise creates nothing.
///
/// Blocks on the store and on key generation.
///
/// # Errors
/// If a bootstrap file is left over from an interrupted first start (it is
/// never overwritten), or creating the CA, the key files or the credential
/// fails.
pub fn ensure(engine: &Engine, data_dir: &Path, ca: &str) -> Result<Outcome> {
    let files = Files::new(data_dir, ca);
    let cas = engine.ca_names();
    if !cas.is_empty() {
        let present =
            cas.iter().any(|c| c == ca) && files.ra_cert.is_file() && files.ra_key.is_file();
        return Ok(Outcome::Existing {
            cas,
            bootstrap: present.then(|| (ca.to_owned(), files)),
        });
    }
    if let Some(left) = files.all().into_iter().find(|p| p.exists()) {
        bail!(
            "the store has no CA, but {} exists (left from an interrupted first start?); \
             remove the bootstrap files or point `store` at the database they belong to",
            left.display()
        );
    }
    // The key reference stored in the database must not depend on the
    // directory the server is started from.
    let abs_dir = std::fs::canonicalize(data_dir)
        .with_context(|| format!("resolving {}", data_dir.display()))?;
    let abs = Files::new(&abs_dir, ca);

    write_new_private(&abs.ca_passphrase, random_passphrase()?.as_bytes())?;
    let spec = KeySpec::P384;
    let key_config = KeyConfig::file(
        &abs.ca_key,
        SecretRef::File(abs.ca_passphrase.clone()),
        spec.default_scheme(),
    );
    let root = engine
        .create_ca(&NewCa {
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
        })
        .with_context(|| format!("creating the embedded root CA {ca:?}"))?;
    write_new_private(
        &abs.ca_cert,
        pem_certificate(root.certificate_der())?.as_bytes(),
    )?;

    write_new_private(&abs.ra_passphrase, random_passphrase()?.as_bytes())?;
    let ra_key = FileKey::generate(KeySpec::P256).context("generating the RA key")?;
    ra_key
        .store(&abs.ra_key, &SecretSource::File(abs.ra_passphrase.clone()))
        .with_context(|| format!("writing {}", abs.ra_key.display()))?;
    let credential = engine
        .issue_client_credential(&ClientCredentialRequest {
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
        })
        .context("issuing the bootstrap RA credential")?;
    let pem = pem_certificate(&credential.certificate_der)?;
    write_new_private(&abs.ra_cert, pem.as_bytes())?;
    Ok(Outcome::Created {
        ca: ca.to_owned(),
        files,
    })
}

/// The command that enrolls a first certificate with the bootstrap RA, in
/// the form of `cmc-tool enroll` (bins/cmc-tool/README.md).
#[must_use]
pub fn enroll_command(url: &str, files: &Files) -> String {
    format!(
        "{} enroll --url {url} --signer-cert {} --signer-key {} \
         --passphrase-file {} --ca-cert {} --new-key example.key --new-key-unencrypted \
         --subject CN=example --out-cert example.pem",
        cmc_tool_program(),
        files.ra_cert.display(),
        files.ra_key.display(),
        files.ra_passphrase.display(),
        files.ca_cert.display(),
    )
}

/// How to run `cmc-tool`: the binary beside this one when there is one (as
/// after `cargo build -p cmc-server -p cmc-tool`), else by name from PATH.
fn cmc_tool_program() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("cmc-tool")))
        .filter(|tool| tool.is_file())
        .map_or_else(|| "cmc-tool".to_owned(), |tool| tool.display().to_string())
}

fn pem_certificate(der: &[u8]) -> Result<String> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
        .context("PEM-encoding a certificate")
}

/// What to tell the operator about `outcome`; `cmc_url` is the CMC URL of
/// the embedded CA.
#[must_use]
pub fn describe(outcome: &Outcome, cmc_url: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    match outcome {
        Outcome::Created { ca, files } => {
            let _ = writeln!(out, "first start: created in {}:", files.data_dir.display());
            let _ = writeln!(
                out,
                "  CA {ca:?} ({ROOT_SUBJECT}, P-384, {ROOT_DAYS} days): certificate {}, key {} encrypted with the passphrase in {}",
                files.ca_cert.display(),
                files.ca_key.display(),
                files.ca_passphrase.display()
            );
            let _ = writeln!(
                out,
                "  bootstrap RA credential {RA_CLIENT_ID:?}: certificate {}, key {} encrypted with the passphrase in {}",
                files.ra_cert.display(),
                files.ra_key.display(),
                files.ra_passphrase.display()
            );
            let _ = writeln!(out, "enroll a first certificate with:");
            let _ = writeln!(out, "  {}", enroll_command(&cmc_url(ca), files));
        }
        Outcome::Existing { cas, bootstrap } => {
            let _ = writeln!(
                out,
                "existing setup: nothing created; CAs: {}",
                cas.join(", ")
            );
            if let Some((ca, files)) = bootstrap {
                let _ = writeln!(
                    out,
                    "bootstrap RA credential: {} (enroll with: {})",
                    files.ra_cert.display(),
                    enroll_command(&cmc_url(ca), files)
                );
            }
        }
    }
    out
}

fn random_passphrase() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("system RNG: {e}"))?;
    let mut text = String::with_capacity(64);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{b:02x}");
    }
    Ok(text)
}

fn write_new_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use cmc_ca::{EngineConfig, SystemClock};

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
        let outcome = ensure(&engine(&dir), &dir, "root").unwrap();
        let Outcome::Created { ca, files } = &outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(ca, "root");
        for f in files.all() {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        let pass = std::fs::read_to_string(&files.ca_passphrase).unwrap();
        assert_eq!(pass.len(), 64);
        let text = describe(&outcome, |ca| format!("http://h/cmc/{ca}"));
        assert!(!text.contains(&pass), "the passphrase is never printed");
        assert!(
            text.contains("cmc-tool enroll --url http://h/cmc/root"),
            "{text}"
        );
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
        let again = ensure(&engine(&dir), &dir, "root").unwrap();
        assert_eq!(
            again,
            Outcome::Existing {
                cas: vec!["root".into()],
                bootstrap: Some(("root".into(), files.clone()))
            }
        );
        assert!(describe(&again, |ca| ca.to_owned()).contains("nothing created"));
    }

    #[test]
    fn leftover_files_are_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("ca-passphrase"), "old").unwrap();
        let err = ensure(&engine(dir), dir, "root").unwrap_err().to_string();
        assert!(err.contains("ca-passphrase"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("ca-passphrase")).unwrap(),
            "old"
        );
    }
}
