//! Encrypted backups that any one of several administrators can open
//! (`cmc-tool backup`, and `cmc-server`'s `[backup]` schedule).
//!
//! A backup is one file: the DER (or PEM, `CMS`) of a ContentInfo holding
//! an AuthEnvelopedData (AES-256-GCM, `cmc_codec::envelope_many`) with one
//! RecipientInfo per administrator certificate (RSA-OAEP SHA-256 key
//! transport, or ECDH P-256/P-384 key agreement). Inside is an archive
//! ([`archive`]): `manifest.json` (names, roles, sizes and SHA-256 of the
//! entries; when, from which data directory and store; the SHA-256 of the
//! envelope's header; the PKCS #11 keys by name), then
//!
//! - `store.export`: every table of the store, read in one consistent
//!   transaction, in the store-neutral export format (`cmc_store`), so a
//!   SQLite backup restores into PostgreSQL and back;
//! - `config/cmc.toml` and `config/profiles.toml`, when there are such files;
//! - `data/...`: every regular file of the data directory as it is on disk
//!   (file keys still encrypted, their passphrase files, `secrets.key`, the
//!   CA and RA certificates), except the SQLite database itself and backups;
//! - `external/N/NAME`: files outside the data directory that a CA's key
//!   reference or the configuration names (keys, passphrase and PIN files,
//!   the secrets key, responder certificates).
//!
//! Keys on a PKCS #11 token are not in it: the manifest names them (module,
//! token, label, id); back them up with the HSM's own tools.

pub mod archive;
mod files;
mod restore;
mod schedule;

use std::path::{Path, PathBuf};

use cmc_codec::envelope_many::{Envelope, Recipient, Sealer};
use const_oid::db::rfc5911::ID_DATA;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::error::{Error, Result};

pub use archive::{Archive, Entry, Manifest, Role, StoreInfo, TokenKey};
pub use restore::{RestoreReport, RestoreTarget, restore};
pub use schedule::{BACKUP_SUFFIX, BackupSettings, parse_interval, run_scheduled};

/// The largest backup file read (the archive is held in memory).
pub const MAX_BACKUP_BYTES: usize = 8 << 30;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Backup(what.to_string())
}

/// What a backup is made from: the configuration as loaded, and the file
/// it was loaded from (if any), which goes into the backup.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The configuration (paths resolved).
    pub config: &'a Config,
    /// The configuration file.
    pub config_file: Option<&'a Path>,
}

/// A backup just made.
#[derive(Debug)]
pub struct Created {
    /// The file's content (DER).
    pub der: Vec<u8>,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Progress of long work, one line for a person: called as tables are
/// exported or imported, and files read or written.
pub type ProgressFn<'a> = &'a mut dyn FnMut(&str);

/// Makes a backup of everything `source` names, encrypted to `recipients`.
///
/// # Errors
/// [`Error::Backup`] for a recipient that cannot receive it, or a file that
/// cannot be read; store errors.
pub fn create(
    source: Source<'_>,
    recipients: &[Certificate],
    now_unix: i64,
    progress: ProgressFn<'_>,
) -> Result<Created> {
    let sealer = Sealer::new(recipients, ID_DATA).map_err(|e| bad(format!("recipients: {e}")))?;
    let header = sealer
        .header_digest()
        .map_err(|e| bad(format!("envelope: {e}")))?;
    let (manifest, entries) = files::collect(source, now_unix, &header, progress)?;
    let archive = Zeroizing::new(archive::write(&manifest, &entries)?);
    drop(entries);
    progress(&format!(
        "encrypting {} octets to {} recipient(s)",
        archive.len(),
        recipients.len()
    ));
    let der = sealer
        .seal(&archive)
        .map_err(|e| bad(format!("encrypting: {e}")))?;
    Ok(Created { der, manifest })
}

/// Reads a backup file's bytes: DER, or PEM (`-----BEGIN CMS-----`).
///
/// # Errors
/// [`Error::Backup`] for PEM that does not decode.
pub fn decode_file(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.starts_with(b"-----BEGIN") {
        let (label, der) = der::pem::decode_vec(bytes).map_err(|e| bad(format!("PEM: {e}")))?;
        if label != "CMS" && label != "PKCS7" {
            return Err(bad(format!("PEM label {label}, expected CMS")));
        }
        return Ok(der);
    }
    Ok(bytes.to_vec())
}

/// The PEM form of a backup (`-----BEGIN CMS-----`, as `openssl cms` writes).
///
/// # Errors
/// [`Error::Encode`].
pub fn to_pem(der: &[u8]) -> Result<String> {
    der::pem::encode_string("CMS", der::pem::LineEnding::LF, der)
        .map_err(|e| Error::encode("PEM backup", e))
}

/// What can be said of a backup without a key.
#[derive(Debug)]
pub struct Outline {
    /// Its recipients.
    pub recipients: Vec<Recipient>,
    /// The size of its encrypted content.
    pub encrypted_len: usize,
}

/// Decodes a backup's envelope (no key needed).
///
/// # Errors
/// [`Error::Backup`] if it is not a backup's envelope.
pub fn outline(der: &[u8]) -> Result<Outline> {
    let env = envelope(der)?;
    Ok(Outline {
        recipients: env.recipients(),
        encrypted_len: env.encrypted_len(),
    })
}

fn envelope(der: &[u8]) -> Result<Envelope> {
    if der.len() > MAX_BACKUP_BYTES {
        return Err(bad("the file is larger than a backup can be"));
    }
    let env = Envelope::parse(der).map_err(|e| bad(format!("not a backup envelope: {e}")))?;
    if env.content_type() != ID_DATA {
        return Err(bad("the envelope does not hold a backup archive"));
    }
    Ok(env)
}

/// Opens a backup with an administrator's key and checks all of it: the
/// content authenticates (AES-GCM), the envelope is the one the manifest
/// names, every entry has the manifest's size and SHA-256, and the store
/// export reads whole with the manifest's row counts.
///
/// # Errors
/// [`Error::Backup`] saying what failed: the key is not a recipient, or
/// the file was changed.
pub fn open(der: &[u8], key: &cmc_keys::FileKey) -> Result<Archive> {
    let env = envelope(der)?;
    let plain = Zeroizing::new(
        env.open(key)
            .map_err(|e| bad(format!("cannot open the backup with this key: {e}")))?
            .to_vec(),
    );
    let archive = archive::read(&plain)?;
    let header = env
        .header_digest()
        .map_err(|e| bad(format!("envelope: {e}")))?;
    if archive.manifest.envelope_sha256 != base16ct::lower::encode_string(&header) {
        return Err(bad(
            "the envelope's recipients or algorithms are not the ones the backup was made with (the file was changed)",
        ));
    }
    let export = archive
        .get(files::STORE_ENTRY)
        .ok_or_else(|| bad("the backup has no store export"))?;
    let summary =
        cmc_store::check_export(&mut &export[..]).map_err(|e| bad(format!("store export: {e}")))?;
    let s = &archive.manifest.store;
    if summary.tables != s.tables
        || summary.schema_version != s.schema_version
        || summary.source != s.kind
    {
        return Err(bad(
            "the store export is not the one the manifest describes",
        ));
    }
    Ok(archive)
}

/// Reads the certificates in `path` (PEM, one or more, or DER).
///
/// # Errors
/// [`Error::Backup`] if the file cannot be read or holds no certificate.
pub fn read_certificates(path: &Path) -> Result<Vec<Certificate>> {
    use der::Decode;
    let bytes = std::fs::read(path).map_err(|e| bad(format!("reading {}: {e}", path.display())))?;
    let certs = if bytes.starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(&bytes).map_err(|e| bad(format!("{}: {e}", path.display())))?
    } else {
        vec![Certificate::from_der(&bytes).map_err(|e| bad(format!("{}: {e}", path.display())))?]
    };
    if certs.is_empty() {
        return Err(bad(format!("{}: no certificate", path.display())));
    }
    Ok(certs)
}

/// `p` made absolute against the working directory.
pub(crate) fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::file(p, "resolving", &e))
}
