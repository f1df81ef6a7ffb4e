//! The archive inside a backup's envelope, and its manifest.
//!
//! ```text
//! "CMC-BACKUP-ARCH\0"        16 octets
//! u32 archive version        1
//! entries, each:             u32 name length, name (UTF-8), u64 size, the octets
//! ```
//!
//! The first entry is `manifest.json` ([`Manifest`]): every other entry's
//! name, role, size and SHA-256, and what the backup was made from. Names
//! are relative paths of plain components (no `..`, no leading `/`).

use std::collections::BTreeSet;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const MAGIC: &[u8; 16] = b"CMC-BACKUP-ARCH\0";
const ARCHIVE_VERSION: u32 = 1;
/// The manifest's name, the first entry.
pub(crate) const MANIFEST: &str = "manifest.json";
/// The manifest format this build writes and reads.
pub const MANIFEST_VERSION: u32 = 1;
/// The longest entry name.
const MAX_NAME: u32 = 4096;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Backup(what.to_string())
}

/// What an entry of the archive is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The store export (`store.export`, `cmc_store::check_export`'s format).
    Store,
    /// The configuration file (`config/cmc.toml`).
    Config,
    /// The profiles file (`config/profiles.toml`).
    Profiles,
    /// A file of the data directory (`data/` + its path there).
    Data,
    /// A file the configuration or a CA's key reference names outside the
    /// data directory (`external/N/NAME`): a key, a passphrase file, the
    /// secrets key.
    External,
}

/// One entry of the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Its name in the archive.
    pub name: String,
    /// What it is.
    pub role: Role,
    /// Its size in octets.
    pub size: u64,
    /// Its SHA-256, lower-case hex.
    pub sha256: String,
    /// Where it was read from (absolute), for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
}

/// A CA key on a PKCS #11 token: named in the manifest, never exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenKey {
    /// The CA, or the configuration key that names it.
    pub used_by: String,
    /// The PKCS #11 module.
    pub module: String,
    /// The token's label.
    pub token_label: String,
    /// The key's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_label: Option<String>,
    /// The key's id, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// The store as exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreInfo {
    /// `sqlite` or `postgresql`.
    pub kind: String,
    /// Its schema version.
    pub schema_version: i64,
    /// Each table and its row count.
    pub tables: Vec<(String, u64)>,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `cmc-backup`.
    pub format: String,
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// When it was made, Unix seconds.
    pub created: i64,
    /// The program that made it, with its version.
    pub made_by: String,
    /// The SHA-256 of the envelope's RecipientInfos and content
    /// encryption algorithm (`cmc_codec::envelope_many`), hex: a change to
    /// the envelope that the content's authentication does not cover.
    pub envelope_sha256: String,
    /// The data directory it was made from (absolute).
    pub data_dir: String,
    /// The store.
    pub store: StoreInfo,
    /// Every other entry of the archive, in order.
    pub entries: Vec<Entry>,
    /// Keys on tokens, which the backup does not hold.
    pub token_keys: Vec<TokenKey>,
}

/// SHA-256, lower-case hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    base16ct::lower::encode_string(&Sha256::digest(data))
}

/// Checks that `name` is a relative path of plain components.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let p = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains('\\')
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(bad(format!(
            "the entry name {name:?} is not a plain relative path"
        )))
    }
}

/// Writes the archive: the manifest, then the entries in its order.
pub(crate) fn write(manifest: &Manifest, entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| bad(format!("manifest: {e}")))?;
    let mut out = Vec::with_capacity(
        json.len()
            + entries
                .iter()
                .map(|(n, d)| n.len() + d.len() + 12)
                .sum::<usize>()
            + 64,
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&ARCHIVE_VERSION.to_be_bytes());
    let mut put = |name: &str, data: &[u8]| -> Result<()> {
        let n = u32::try_from(name.len()).map_err(|_| bad("a name over 4 GiB"))?;
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_be_bytes());
        out.extend_from_slice(data);
        Ok(())
    };
    put(MANIFEST, &json)?;
    for (name, data) in entries {
        put(name, data)?;
    }
    Ok(out)
}

/// An archive read back and checked: every entry the manifest lists, with
/// its size and SHA-256, and nothing else.
#[derive(Debug)]
pub struct Archive {
    /// The manifest.
    pub manifest: Manifest,
    /// The entries, in the manifest's order.
    pub entries: Vec<(Entry, Vec<u8>)>,
}

impl Archive {
    /// The data of the entry named `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(e, _)| e.name == name)
            .map(|(_, d)| d.as_slice())
    }
}

struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.data.len() < n {
            return Err(bad("the archive is cut short"));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn entry(&mut self) -> Result<(String, &'a [u8])> {
        let n = self.u32()?;
        if n > MAX_NAME {
            return Err(bad("an entry name is too long"));
        }
        let name = std::str::from_utf8(self.take(n as usize)?)
            .map_err(|_| bad("an entry name is not UTF-8"))?
            .to_owned();
        let size = usize::try_from(self.u64()?).map_err(|_| bad("an entry is too large"))?;
        Ok((name, self.take(size)?))
    }
}

/// Reads and checks an archive.
pub(crate) fn read(data: &[u8]) -> Result<Archive> {
    let mut c = Cursor { data };
    if c.take(MAGIC.len())? != MAGIC {
        return Err(bad("the content is not a cmc backup archive"));
    }
    let version = c.u32()?;
    if version != ARCHIVE_VERSION {
        return Err(bad(format!(
            "archive version {version}; this build reads {ARCHIVE_VERSION}"
        )));
    }
    let (name, json) = c.entry()?;
    if name != MANIFEST {
        return Err(bad("the archive does not start with its manifest"));
    }
    let manifest: Manifest =
        serde_json::from_slice(json).map_err(|e| bad(format!("manifest: {e}")))?;
    if manifest.format != "cmc-backup" || manifest.version != MANIFEST_VERSION {
        return Err(bad(format!(
            "manifest {} version {}; this build reads cmc-backup version {MANIFEST_VERSION}",
            manifest.format, manifest.version
        )));
    }
    let mut seen = BTreeSet::new();
    let mut entries = Vec::with_capacity(manifest.entries.len());
    for listed in &manifest.entries {
        check_name(&listed.name)?;
        if !seen.insert(listed.name.clone()) {
            return Err(bad(format!("{} is listed twice", listed.name)));
        }
        let (name, body) = c.entry()?;
        if name != listed.name {
            return Err(bad(format!(
                "found {name:?} where the manifest lists {:?}",
                listed.name
            )));
        }
        if body.len() as u64 != listed.size || sha256_hex(body) != listed.sha256 {
            return Err(bad(format!(
                "{}: its size or SHA-256 is not the manifest's",
                listed.name
            )));
        }
        entries.push((listed.clone(), body.to_vec()));
    }
    if !c.data.is_empty() {
        return Err(bad("the archive has data after its last entry"));
    }
    Ok(Archive { manifest, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(entries: &[(String, Vec<u8>)]) -> Manifest {
        Manifest {
            format: "cmc-backup".into(),
            version: MANIFEST_VERSION,
            created: 1,
            made_by: "test".into(),
            envelope_sha256: String::new(),
            data_dir: "/d".into(),
            store: StoreInfo {
                kind: "sqlite".into(),
                schema_version: 11,
                tables: vec![],
            },
            entries: entries
                .iter()
                .map(|(n, d)| Entry {
                    name: n.clone(),
                    role: Role::Data,
                    size: d.len() as u64,
                    sha256: sha256_hex(d),
                    original: None,
                })
                .collect(),
            token_keys: vec![],
        }
    }

    #[test]
    fn round_trip_and_every_change_is_refused() {
        let entries = vec![
            ("data/a".to_owned(), b"alpha".to_vec()),
            ("data/b/c".to_owned(), vec![0u8; 40]),
        ];
        let bytes = write(&manifest(&entries), &entries).unwrap();
        let a = read(&bytes).unwrap();
        assert_eq!(a.get("data/a"), Some(&b"alpha"[..]));
        assert_eq!(a.entries.len(), 2);
        // Every octet of the entries (after the manifest, which the
        // envelope's authentication covers) is checked.
        let first = bytes.windows(6).rposition(|w| w == b"data/a").unwrap() - 4;
        for i in first..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(read(&bad).is_err(), "octet {i} changed and accepted");
        }
        // The manifest's head too.
        for i in 0..24 {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(read(&bad).is_err(), "octet {i} changed and accepted");
        }
        assert!(read(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes;
        longer.push(1);
        assert!(read(&longer).is_err());
    }

    #[test]
    fn names_must_be_plain() {
        for bad in ["", "/etc/passwd", "../x", "a/../../b", "a\\b", "./a"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name("data/keys/root.key").is_ok());
    }
}
