//! Scheduled backups: the `[backup]` section that `cmc-server` runs in
//! the background, with the code path of `cmc-tool backup create`.
//!
//! ```toml
//! [backup]
//! every = "24h"                         # s, m, h or d
//! dir = "/var/backups/cmc"              # created 0700; files 0600
//! recipients = ["admin1.pem", "admin2.pem"]
//! keep = 7                              # the newest 7 are kept
//! ```

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ProgressFn, Source, bad, create, read_certificates};
use crate::error::{Error, Result};

/// The file name suffix of backups.
pub const BACKUP_SUFFIX: &str = ".cmcbak";
const PREFIX: &str = "cmc-backup-";

/// `[backup]`: when and where `cmc-server` writes backups, and to whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSettings {
    /// The interval: a number and `s`, `m`, `h` or `d` (`"24h"`).
    pub every: String,
    /// The directory backups are written to (created 0700).
    pub dir: PathBuf,
    /// The administrators' certificates (PEM or DER; RSA, P-256 or P-384),
    /// each of whom can open every backup.
    pub recipients: Vec<PathBuf>,
    /// How many backups are kept (the newest); at least 1.
    #[serde(default = "default_keep")]
    pub keep: usize,
}

fn default_keep() -> usize {
    7
}

/// Parses `90s`, `15m`, `6h`, `7d` into seconds.
#[must_use]
pub fn parse_interval(text: &str) -> Option<u64> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let n: u64 = t[..t.len() - unit.len_utf8()].parse().ok()?;
    let secs = match unit {
        's' => n,
        'm' => n.checked_mul(60)?,
        'h' => n.checked_mul(3600)?,
        'd' => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then_some(secs)
}

impl BackupSettings {
    /// The interval in seconds.
    ///
    /// # Errors
    /// [`Error::Config`] for an interval that does not parse.
    pub fn interval_secs(&self) -> Result<u64> {
        parse_interval(&self.every).ok_or_else(|| {
            Error::Config(format!(
                "backup.every: {:?} is not an interval (90s, 15m, 6h, 1d)",
                self.every
            ))
        })
    }

    /// Checks the values (the files are read when a backup is made).
    ///
    /// # Errors
    /// [`Error::Config`] naming the key.
    pub fn validate(&self) -> Result<()> {
        self.interval_secs()?;
        if self.recipients.is_empty() {
            return Err(Error::Config(
                "backup.recipients: name at least one administrator certificate".into(),
            ));
        }
        if self.keep == 0 {
            return Err(Error::Config("backup.keep: must be at least 1".into()));
        }
        if self.dir.as_os_str().is_empty() {
            return Err(Error::Config("backup.dir: must not be empty".into()));
        }
        Ok(())
    }
}

/// `YYYYMMDDTHHMMSSZ` of Unix seconds.
fn timestamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Makes one backup into `settings.dir` (written to a temporary file,
/// then renamed), then removes the oldest beyond `keep`. Returns the new
/// file.
///
/// # Errors
/// As [`create`]; [`Error::Backup`] if the directory or file cannot be
/// written.
pub fn run_scheduled(
    source: Source<'_>,
    settings: &BackupSettings,
    now_unix: i64,
    progress: ProgressFn<'_>,
) -> Result<PathBuf> {
    let mut recipients = Vec::new();
    for path in &settings.recipients {
        recipients.extend(read_certificates(path)?);
    }
    let dir = &settings.dir;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| bad(format!("creating {}: {e}", dir.display())))?;
    remove_stale(dir);
    let created = create(source, &recipients, now_unix, progress)?;
    let mut name = format!("{PREFIX}{}", timestamp(now_unix));
    let mut n = 1;
    while dir.join(format!("{name}{BACKUP_SUFFIX}")).exists() {
        n += 1;
        name = format!("{PREFIX}{}-{n}", timestamp(now_unix));
    }
    let path = dir.join(format!("{name}{BACKUP_SUFFIX}"));
    write_atomically(&path, &created.der)?;
    prune(dir, settings.keep)?;
    Ok(path)
}

/// Writes `data` to `path` through a temporary file in the same directory
/// (0600, synced, renamed).
///
/// # Errors
/// [`Error::Backup`].
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).map_err(|_| Error::Rng)?;
    let tmp = dir.join(format!(
        ".{PREFIX}{}.tmp",
        base16ct::lower::encode_string(&random)
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        bad(format!("writing {}: {e}", path.display()))
    })
}

/// Temporary files a crash left behind.
fn remove_stale(dir: &Path) {
    let Ok(items) = std::fs::read_dir(dir) else {
        return;
    };
    for item in items.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!(".{PREFIX}")) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(item.path());
        }
    }
}

/// Keeps the newest `keep` backups of `dir` (their names sort by time).
fn prune(dir: &Path, keep: usize) -> Result<()> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| bad(format!("reading {}: {e}", dir.display())))?
        .flatten()
        .map(|i| i.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(PREFIX) && n.ends_with(BACKUP_SUFFIX)
            })
        })
        .collect();
    backups.sort();
    let extra = backups.len().saturating_sub(keep);
    for old in &backups[..extra] {
        std::fs::remove_file(old).map_err(|e| bad(format!("removing {}: {e}", old.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_timestamps() {
        assert_eq!(parse_interval("90s"), Some(90));
        assert_eq!(parse_interval("15m"), Some(900));
        assert_eq!(parse_interval("24h"), Some(86_400));
        assert_eq!(parse_interval("7d"), Some(604_800));
        for bad in ["", "h", "0h", "5", "5w", "-1h", "1.5h"] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
        assert_eq!(timestamp(0), "19700101T000000Z");
        assert_eq!(timestamp(1_798_761_599), "20261231T235959Z");
        assert_eq!(timestamp(951_782_400), "20000229T000000Z");
    }

    #[test]
    fn prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for t in [3, 1, 2, 5, 4] {
            std::fs::write(
                dir.path()
                    .join(format!("{PREFIX}{}{BACKUP_SUFFIX}", timestamp(t))),
                b"x",
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("other.txt"), b"x").unwrap();
        prune(dir.path(), 2).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|i| i.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                format!("{PREFIX}{}{BACKUP_SUFFIX}", timestamp(4)),
                format!("{PREFIX}{}{BACKUP_SUFFIX}", timestamp(5)),
                "other.txt".to_owned()
            ]
        );
    }
}
