//! The console's operator passwords: one Argon2id hash (PHC string) per
//! operator in `console-passwords` in the data directory (mode 0600),
//! set with `cmc-tool console passwd`. A file, not the store: the console
//! of each node reads its own (a multi-node setup sets the password on
//! every node).
//!
//! File format, one operator a line: `NAME:$argon2id$v=19$m=...`.

use std::path::{Path, PathBuf};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::Error;

/// The file's name in the data directory.
pub const PASSWORD_FILE: &str = "console-passwords";

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

/// The longest password accepted (Argon2 takes more, a form should not).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Where the passwords of the console of `data_dir` are kept.
#[must_use]
pub fn password_file(data_dir: &Path) -> PathBuf {
    data_dir.join(PASSWORD_FILE)
}

/// Whether `name` can be an operator's name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
#[must_use]
pub fn valid_operator_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn hasher() -> Argon2<'static> {
    // OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane): the defaults.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// The Argon2id PHC string of `password` with a fresh random salt.
///
/// # Errors
/// [`Error::Password`] for a password shorter than [`MIN_PASSWORD_LEN`] or
/// longer than [`MAX_PASSWORD_LEN`]; [`Error::Rng`].
pub fn hash_password(password: &str) -> Result<String, Error> {
    check_length(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| Error::Rng)?;
    let hash: PasswordHash = hasher()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| Error::Password(format!("hashing failed: {e}")))?;
    Ok(hash.to_string())
}

fn check_length(password: &str) -> Result<(), Error> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::Password(format!(
            "the password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(Error::Password(format!(
            "the password must have at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    Ok(())
}

/// Sets (or replaces) the password of operator `name` in `file`, which is
/// written anew with mode 0600 (through a temporary file and a rename).
///
/// # Errors
/// [`Error::Password`] for a bad name or password; [`Error::Io`].
pub fn set_password(file: &Path, name: &str, password: &str) -> Result<(), Error> {
    if !valid_operator_name(name) {
        return Err(Error::Password(format!(
            "{name:?}: an operator name is 1 to 64 of A-Z a-z 0-9 . _ -"
        )));
    }
    let hash = hash_password(password)?;
    let mut lines: Vec<String> = match std::fs::read_to_string(file) {
        Ok(text) => text
            .lines()
            .filter(|l| l.split_once(':').is_some_and(|(n, _)| n != name))
            .map(str::to_owned)
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::Io(file.to_path_buf(), e)),
    };
    lines.push(format!("{name}:{hash}"));
    let mut text = lines.join("\n");
    text.push('\n');
    write_private(file, text.as_bytes())
}

fn write_private(file: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = file.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let io = |e| Error::Io(tmp.clone(), e);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, file).map_err(|e| Error::Io(file.to_path_buf(), e))
}

/// A PHC string that matches no password, verified when the operator is
/// unknown so that a wrong name takes as long as a wrong password.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$\
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Whether `password` is the password of operator `name` in `file`. A
/// missing file, an unknown operator and a hash that does not parse are
/// all `false` (the last is logged).
#[must_use]
pub fn verify_password(file: &Path, name: &str, password: &str) -> bool {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let stored = text
        .lines()
        .find_map(|l| l.split_once(':').filter(|(n, _)| *n == name))
        .map(|(_, h)| h.to_owned());
    let (phc, known) = match &stored {
        Some(h) => (h.as_str(), true),
        None => (DECOY, false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::error!(operator = name, file = %file.display(), "a console password hash does not parse");
        return false;
    };
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    let ok = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && known
}

/// Whether any operator has a password (the console tells how to set one
/// otherwise).
#[must_use]
pub fn any_password(file: &Path) -> bool {
    std::fs::read_to_string(file).is_ok_and(|t| t.lines().any(|l| l.contains(':')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_verify_replace_and_refuse() {
        let tmp = tempfile::tempdir().unwrap();
        let file = password_file(tmp.path());
        assert!(!verify_password(&file, "admin", "correct horse battery"));
        assert!(!any_password(&file));
        set_password(&file, "admin", "correct horse battery").unwrap();
        set_password(&file, "alice", "another long password").unwrap();
        assert!(any_password(&file));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("admin:$argon2id$v=19$"), "{text}");
        assert!(!text.contains("correct horse"), "only the hash is stored");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(verify_password(&file, "admin", "correct horse battery"));
        assert!(!verify_password(&file, "admin", "correct horse batterY"));
        assert!(!verify_password(&file, "alice", "correct horse battery"));
        assert!(!verify_password(&file, "bob", "correct horse battery"));
        // The decoy parses (so an unknown name costs a verification) and
        // never verifies.
        assert!(PasswordHash::new(DECOY).is_ok());
        assert!(!verify_password(&file, "nobody", ""));
        // Replacing keeps one line per operator.
        set_password(&file, "admin", "a brand new password").unwrap();
        assert!(!verify_password(&file, "admin", "correct horse battery"));
        assert!(verify_password(&file, "admin", "a brand new password"));
        assert!(verify_password(&file, "alice", "another long password"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        // Bad names and short passwords are refused.
        assert!(set_password(&file, "ad:min", "a brand new password").is_err());
        assert!(set_password(&file, "", "a brand new password").is_err());
        assert!(set_password(&file, "admin", "short").is_err());
        // A line that is not a hash verifies nothing.
        std::fs::write(&file, "eve:not-a-hash\n").unwrap();
        assert!(!verify_password(&file, "eve", "not-a-hash"));
    }
}
