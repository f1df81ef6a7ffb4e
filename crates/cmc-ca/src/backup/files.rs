//! What goes into a backup: the store export, the configuration and
//! profiles files, the data directory's files, and the files outside it
//! that a key reference or the configuration names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::archive::{Entry, MANIFEST_VERSION, Manifest, Role, StoreInfo, TokenKey, sha256_hex};
use super::{ProgressFn, Source, absolute, bad};
use crate::error::Result;
use crate::key_config::{KeyConfig, SecretRef};

/// The store export's entry.
pub(crate) const STORE_ENTRY: &str = "store.export";
/// The configuration file's entry.
pub(crate) const CONFIG_ENTRY: &str = "config/cmc.toml";
/// The profiles file's entry.
pub(crate) const PROFILES_ENTRY: &str = "config/profiles.toml";

/// The files a key configuration names, and the token key it is, if so.
pub(crate) fn key_files(key: &KeyConfig, used_by: &str) -> (Vec<PathBuf>, Option<TokenKey>) {
    match key {
        KeyConfig::File {
            path, passphrase, ..
        } => {
            let mut files = vec![path.clone()];
            if let Some(SecretRef::File(p)) = passphrase {
                files.push(p.clone());
            }
            (files, None)
        }
        KeyConfig::Pkcs11 {
            module,
            token_label,
            key_label,
            key_id,
            pin,
            ..
        } => {
            let files = match pin {
                SecretRef::File(p) => vec![p.clone()],
                SecretRef::Env(_) => Vec::new(),
            };
            let token = TokenKey {
                used_by: used_by.to_owned(),
                module: module.display().to_string(),
                token_label: token_label.clone(),
                key_label: key_label.clone(),
                key_id: key_id.clone(),
            };
            (files, Some(token))
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| bad(format!("reading {}: {e}", path.display())))
}

/// Every regular file under `dir`, sorted, skipping what `skip` says.
fn walk(
    dir: &Path,
    skip: &dyn Fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
    progress: ProgressFn<'_>,
) -> Result<()> {
    let mut items: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| bad(format!("reading {}: {e}", dir.display())))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| bad(format!("reading {}: {e}", dir.display())))?;
    items.sort_by_key(std::fs::DirEntry::path);
    for item in items {
        let path = item.path();
        if skip(&path) {
            continue;
        }
        let kind = item
            .file_type()
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
        if kind.is_dir() {
            walk(&path, skip, out, progress)?;
        } else if kind.is_file() {
            out.push(path);
        } else {
            progress(&format!("skipped {} (not a regular file)", path.display()));
        }
    }
    Ok(())
}

/// An entry's name and content.
pub(crate) type NamedData = (String, Vec<u8>);

/// The manifest and the entries of a backup of `source`.
pub(crate) fn collect(
    source: Source<'_>,
    now_unix: i64,
    header: &[u8; 32],
    progress: ProgressFn<'_>,
) -> Result<(Manifest, Vec<NamedData>)> {
    let config = source.config;
    let data_dir = absolute(&config.data_dir)?;
    if !data_dir.is_dir() {
        return Err(bad(format!(
            "the data directory {} does not exist",
            data_dir.display()
        )));
    }
    let url = config.store_url();
    let sqlite_file = match config.store.as_deref() {
        None => Some(data_dir.join("cmc.db")),
        Some(u) if u.starts_with("sqlite:") => Some(absolute(Path::new(
            u.trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:"),
        ))?),
        Some(_) => None,
    };
    if let Some(db) = &sqlite_file {
        if !db.is_file() {
            return Err(bad(format!("there is no store at {}", db.display())));
        }
    }
    let store = cmc_store::open(&url)?;
    progress(&format!("exporting the {} store", store.kind()));
    let mut export = Vec::new();
    let summary = store.export(&mut export, &mut |p| {
        if p.done {
            progress(&format!("  {}: {} rows", p.table, p.rows));
        } else {
            progress(&format!("  {}: {} rows so far", p.table, p.rows));
        }
    })?;

    // Files the key references and the configuration name.
    let mut named: Vec<PathBuf> = Vec::new();
    let mut token_keys = Vec::new();
    for ca in store.list_cas()? {
        let key: KeyConfig = serde_json::from_str(&ca.key_ref)
            .map_err(|e| bad(format!("CA {}: key reference: {e}", ca.name)))?;
        let (files, token) = key_files(&key, &format!("CA {}", ca.name));
        named.extend(files);
        token_keys.extend(token);
    }
    drop(store);
    named.push(config.secrets_key_path());
    for (name, settings) in &config.ca {
        let mut keys = Vec::new();
        if let Some(r) = &settings.responder {
            named.push(r.certificate.clone());
            keys.push(("responder", &r.key));
        }
        if let Some(k) = settings.ocsp.as_ref().and_then(|o| o.key.as_ref()) {
            keys.push(("ocsp", k));
        }
        if let Some(e) = &settings.encryption {
            named.push(e.certificate.clone());
            keys.push(("encryption", &e.key));
        }
        for (what, key) in keys {
            let (files, token) = key_files(key, &format!("ca.{name}.{what}.key"));
            named.extend(files);
            token_keys.extend(token);
        }
    }

    let mut entries: Vec<(Entry, Vec<u8>)> = Vec::new();
    let mut add = |name: String, role: Role, original: Option<&Path>, data: Vec<u8>| {
        entries.push((
            Entry {
                size: data.len() as u64,
                sha256: sha256_hex(&data),
                name,
                role,
                original: original.map(|p| p.display().to_string()),
            },
            data,
        ));
    };
    add(STORE_ENTRY.to_owned(), Role::Store, None, export);
    if let Some(file) = source.config_file {
        let file = absolute(file)?;
        add(
            CONFIG_ENTRY.to_owned(),
            Role::Config,
            Some(&file),
            read(&file)?,
        );
    }
    if let Some(file) = &config.profiles {
        let file = absolute(file)?;
        add(
            PROFILES_ENTRY.to_owned(),
            Role::Profiles,
            Some(&file),
            read(&file)?,
        );
    }
    let backups_dir = config
        .backup
        .as_ref()
        .map(|b| absolute(&b.dir))
        .transpose()?;
    let skip = |p: &Path| {
        let is_store = sqlite_file.as_ref().is_some_and(|db| {
            let db = db.as_os_str().to_string_lossy();
            let p = p.as_os_str().to_string_lossy();
            p == db
                || p.strip_prefix(&*db)
                    .is_some_and(|rest| matches!(rest, "-wal" | "-shm" | "-journal"))
        });
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        is_store
            || name.ends_with(super::BACKUP_SUFFIX)
            || name.starts_with(".cmc-backup-")
            || backups_dir.as_deref() == Some(p)
    };
    let mut data_files = Vec::new();
    walk(&data_dir, &skip, &mut data_files, progress)?;
    progress(&format!(
        "reading {} files of {}",
        data_files.len(),
        data_dir.display()
    ));
    for file in &data_files {
        let rel = file
            .strip_prefix(&data_dir)
            .map_err(|_| bad(format!("{} is outside the data directory", file.display())))?;
        let name = format!("data/{}", rel.display());
        super::archive::check_name(&name)?;
        add(name, Role::Data, Some(file), read(file)?);
    }
    let mut seen = BTreeSet::new();
    let mut n = 0usize;
    for file in named {
        let file = absolute(&file)?;
        if file.starts_with(&data_dir) || !seen.insert(file.clone()) {
            continue;
        }
        if !file.is_file() {
            // A secrets key that was never created, a file named but gone:
            // the server would fail on it too; say so, and go on.
            progress(&format!("not found, not in the backup: {}", file.display()));
            continue;
        }
        let base = file
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let name = format!("external/{n}/{base}");
        super::archive::check_name(&name)?;
        n += 1;
        add(name, Role::External, Some(&file), read(&file)?);
    }
    let manifest = Manifest {
        format: "cmc-backup".into(),
        version: MANIFEST_VERSION,
        created: now_unix,
        made_by: format!("cmc-ca {}", env!("CARGO_PKG_VERSION")),
        envelope_sha256: base16ct::lower::encode_string(header),
        data_dir: data_dir.display().to_string(),
        store: StoreInfo {
            kind: summary.source.clone(),
            schema_version: summary.schema_version,
            tables: summary.tables,
        },
        entries: entries.iter().map(|(e, _)| e.clone()).collect(),
        token_keys,
    };
    Ok((
        manifest,
        entries.into_iter().map(|(e, d)| (e.name, d)).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_keys_are_named_and_file_keys_listed() {
        let file = KeyConfig::file(
            "/d/root.key",
            SecretRef::File("/d/pass".into()),
            cmc_keys::KeySpec::P384.default_scheme(),
        );
        let (files, token) = key_files(&file, "CA root");
        assert_eq!(
            files,
            [PathBuf::from("/d/root.key"), PathBuf::from("/d/pass")]
        );
        assert!(token.is_none());
        let hsm = KeyConfig::pkcs11(
            "/usr/lib/softhsm/libsofthsm2.so",
            "ca-token",
            "issuing",
            SecretRef::File("/run/pin".into()),
            cmc_keys::KeySpec::P256.default_scheme(),
        );
        let (files, token) = key_files(&hsm, "CA hsm");
        assert_eq!(files, [PathBuf::from("/run/pin")]);
        let token = token.unwrap();
        assert_eq!(token.used_by, "CA hsm");
        assert_eq!(token.token_label, "ca-token");
        assert_eq!(token.key_label.as_deref(), Some("issuing"));
        assert_eq!(token.module, "/usr/lib/softhsm/libsofthsm2.so");
    }
}
