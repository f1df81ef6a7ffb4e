//! Restoring a backup into an empty data directory (and, for PostgreSQL,
//! an empty database).
//!
//! Everything is written into a new directory beside the target
//! (`.NAME.restore-RANDOM`, 0700, files 0600) and renamed onto it at the
//! end, so a failure leaves no half-restored directory: the temporary one
//! is removed. The store is imported in one transaction. Paths are moved
//! with the files: a key reference or configuration value that named a
//! file of the old data directory (or one outside it that the backup
//! holds) names its restored copy.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::archive::{Archive, Role, TokenKey};
use super::files::{CONFIG_ENTRY, STORE_ENTRY};
use super::{ProgressFn, absolute, bad};
use crate::error::Result;
use crate::key_config::{KeyConfig, SecretRef};

/// Where to restore.
#[derive(Clone, Copy, Debug)]
pub struct RestoreTarget<'a> {
    /// The new data directory: missing, or empty.
    pub data_dir: &'a Path,
    /// An empty PostgreSQL database for the store; `None`: SQLite,
    /// `cmc.db` in the data directory.
    pub store_url: Option<&'a str>,
}

/// What a restore did.
#[derive(Clone, Debug)]
pub struct RestoreReport {
    /// The restored data directory.
    pub data_dir: PathBuf,
    /// The restored configuration file, pointing at the restored data
    /// directory and store (when the backup had one).
    pub config_file: Option<PathBuf>,
    /// Files written.
    pub files: usize,
    /// Store rows imported.
    pub rows: u64,
    /// CAs whose key reference now names the restored files.
    pub moved_keys: Vec<String>,
    /// Keys on tokens, which must be there already.
    pub token_keys: Vec<TokenKey>,
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| bad(format!("creating {}: {e}", dir.display())))
}

fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| bad(format!("creating {}: {e}", path.display())))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| bad(format!("writing {}: {e}", path.display())))
}

/// Old absolute paths to new ones.
struct PathMap {
    old_data_dir: PathBuf,
    new_data_dir: PathBuf,
    files: BTreeMap<PathBuf, PathBuf>,
}

impl PathMap {
    fn map(&self, old: &Path) -> Option<PathBuf> {
        if let Some(new) = self.files.get(old) {
            return Some(new.clone());
        }
        old.strip_prefix(&self.old_data_dir)
            .ok()
            .map(|rel| self.new_data_dir.join(rel))
    }

    fn map_key(&self, key: &mut KeyConfig) -> bool {
        let mut changed = false;
        let mut fix = |p: &mut PathBuf| {
            if let Some(new) = self.map(p) {
                changed |= new != *p;
                *p = new;
            }
        };
        match key {
            KeyConfig::File {
                path, passphrase, ..
            } => {
                fix(path);
                if let Some(SecretRef::File(p)) = passphrase {
                    fix(p);
                }
            }
            KeyConfig::Pkcs11 { pin, .. } => {
                if let SecretRef::File(p) = pin {
                    fix(p);
                }
            }
        }
        changed
    }
}

/// Every string of a TOML value that names a moved file (relative paths
/// taken from `base`), replaced by its new absolute path.
fn map_toml(v: &mut toml::Value, base: &Path, map: &PathMap) {
    match v {
        toml::Value::String(s) => {
            let p = base.join(&*s);
            if let Some(new) = map.map(&p) {
                *s = new.display().to_string();
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(|i| map_toml(i, base, map)),
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, i)| map_toml(i, base, map)),
        _ => {}
    }
}

/// Restores `archive` (opened and checked by [`super::open`]).
///
/// # Errors
/// [`crate::Error::Backup`] if the target is not empty, or writing fails
/// (nothing is left behind); store errors from the import (nothing is
/// left in the database).
pub fn restore(
    archive: &Archive,
    target: RestoreTarget<'_>,
    progress: ProgressFn<'_>,
) -> Result<RestoreReport> {
    let dir = absolute(target.data_dir)?;
    if dir.exists() {
        let mut items =
            std::fs::read_dir(&dir).map_err(|e| bad(format!("{}: {e}", dir.display())))?;
        if items.next().is_some() {
            return Err(bad(format!(
                "{} is not empty: restore into a new or empty directory",
                dir.display()
            )));
        }
    }
    if let Some(url) = target.store_url {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad(
                "--store-url is for a PostgreSQL database; a SQLite store is restored into the data directory",
            ));
        }
    }
    let (parent, name) = match (dir.parent(), dir.file_name()) {
        (Some(p), Some(n)) => (p.to_path_buf(), n.to_string_lossy().into_owned()),
        _ => return Err(bad("the target must be a directory with a parent")),
    };
    if !parent.is_dir() {
        return Err(bad(format!("{} does not exist", parent.display())));
    }
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|_| crate::Error::Rng)?;
    let tmp = parent.join(format!(
        ".{name}.restore-{}",
        base16ct::lower::encode_string(&random)
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&tmp)
        .map_err(|e| bad(format!("creating {}: {e}", tmp.display())))?;
    let result = fill(archive, &dir, &tmp, target.store_url, progress);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if dir.exists() {
        // Empty, checked above: rename replaces an empty directory.
        let _ = std::fs::remove_dir(&dir);
    }
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(bad(format!(
            "moving the restored files to {}: {e}{}",
            dir.display(),
            if target.store_url.is_some() {
                " (the PostgreSQL store was restored; empty it before trying again)"
            } else {
                ""
            }
        )));
    }
    Ok(report)
}

/// Writes everything into `tmp`, with paths as they will be in `dir`.
fn fill(
    archive: &Archive,
    dir: &Path,
    tmp: &Path,
    store_url: Option<&str>,
    progress: ProgressFn<'_>,
) -> Result<RestoreReport> {
    let manifest = &archive.manifest;
    let mut map = PathMap {
        old_data_dir: PathBuf::from(&manifest.data_dir),
        new_data_dir: dir.to_path_buf(),
        files: BTreeMap::new(),
    };
    let mut files = 0;
    let mut config_text = None;
    for (entry, data) in &archive.entries {
        let rel = match entry.role {
            Role::Store => continue,
            Role::Config => {
                config_text = Some((entry, data));
                continue;
            }
            Role::Data => entry
                .name
                .strip_prefix("data/")
                .ok_or_else(|| bad(format!("{}: not under data/", entry.name)))?
                .to_owned(),
            Role::Profiles | Role::External => entry.name.clone(),
        };
        write_private(&tmp.join(&rel), data)?;
        files += 1;
        if let (Some(orig), Role::Profiles | Role::External) = (&entry.original, entry.role) {
            map.files.insert(PathBuf::from(orig), dir.join(&rel));
        }
    }
    progress(&format!("wrote {files} files"));

    let url = match store_url {
        Some(u) => u.to_owned(),
        None => format!("sqlite://{}", tmp.join("cmc.db").display()),
    };
    let export = archive
        .get(STORE_ENTRY)
        .ok_or_else(|| bad("the backup has no store export"))?;
    progress("importing the store");
    let summary = cmc_store::import_into(
        &url,
        &cmc_store::OpenOptions::default(),
        &mut &export[..],
        &mut |p| {
            if p.done {
                progress(&format!("  {}: {} rows", p.table, p.rows));
            } else {
                progress(&format!("  {}: {} rows so far", p.table, p.rows));
            }
        },
    )?;
    let store = cmc_store::open(&url)?;
    let mut moved_keys = Vec::new();
    for ca in store.list_cas()? {
        let mut key: KeyConfig = serde_json::from_str(&ca.key_ref)
            .map_err(|e| bad(format!("CA {}: key reference: {e}", ca.name)))?;
        if map.map_key(&mut key) {
            let text = serde_json::to_string(&key)
                .map_err(|e| bad(format!("CA {}: key reference: {e}", ca.name)))?;
            store.set_ca_key_ref(&ca.name, &text)?;
            moved_keys.push(ca.name);
        }
    }
    drop(store);

    let config_file = match config_text {
        None => None,
        Some((entry, data)) => {
            let text = std::str::from_utf8(data)
                .map_err(|_| bad("the configuration file is not UTF-8"))?;
            let base = entry
                .original
                .as_deref()
                .and_then(|o| Path::new(o).parent())
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let mut table: toml::Table = text
                .parse()
                .map_err(|e| bad(format!("the configuration file: {e}")))?;
            for (_, v) in table.iter_mut() {
                map_toml(v, &base, &map);
            }
            table.insert(
                "data_dir".into(),
                toml::Value::String(dir.display().to_string()),
            );
            match store_url {
                Some(u) => {
                    table.insert("store".into(), toml::Value::String(u.to_owned()));
                }
                None => {
                    table.remove("store");
                }
            }
            let new = format!(
                "# Restored by cmc-tool backup restore from a backup of {} (the original is cmc.toml.orig).\n{}",
                manifest.data_dir,
                toml::to_string(&table).map_err(|e| bad(format!("the configuration file: {e}")))?
            );
            write_private(&tmp.join(CONFIG_ENTRY), new.as_bytes())?;
            write_private(&tmp.join("config/cmc.toml.orig"), data)?;
            Some(dir.join(CONFIG_ENTRY))
        }
    };
    Ok(RestoreReport {
        data_dir: dir.to_path_buf(),
        config_file,
        files,
        rows: summary.rows(),
        moved_keys,
        token_keys: manifest.token_keys.clone(),
    })
}
