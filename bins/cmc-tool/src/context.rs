//! The configuration, records, engine and profiles a command works with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow};
use cmc_ca::config::Config;
use cmc_ca::{Engine, EngineConfig, Records, SystemClock};
use cmc_policy::ProfileSet;

/// The configuration file used when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "cmc.toml";

/// What every command starts from: the loaded configuration. The records
/// and the engine are opened only by the commands that need them.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Config,
    /// The configuration file it was loaded from, if any.
    pub(crate) file: Option<PathBuf>,
}

impl Context {
    /// Loads `--config FILE`, else `./cmc.toml` if it exists, else the
    /// built-in defaults. Reading the configuration opens nothing.
    pub(crate) fn load(path: Option<&Path>) -> Result<Self> {
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                Some(PathBuf::from(DEFAULT_CONFIG_FILE))
            }
            None => None,
        };
        let config = match &file {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        Ok(Self { config, file })
    }

    /// The data directory, created (mode 0700) if missing.
    pub(crate) fn data_dir(&self) -> Result<PathBuf> {
        let dir = absolute(&self.config.data_dir)?;
        create_private_dir(&dir)?;
        Ok(dir)
    }

    /// The store URL, with the data directory created when the store is
    /// the SQLite file in it.
    fn store_url(&self) -> Result<String> {
        if self.config.store.is_none() {
            self.data_dir()?;
        }
        Ok(self.config.store_url())
    }

    /// Opens the CA's records (no CA key is loaded: listing needs no
    /// passphrase or PIN).
    pub(crate) fn records(&self) -> Result<Records> {
        let url = self.store_url()?;
        Records::open(&url).with_context(|| format!("opening the store {}", redact(&url)))
    }

    /// Loads the engine: every stored CA with its key opened, as the server
    /// does, so the passphrase or PIN source of each CA must be readable.
    pub(crate) fn engine(&self) -> Result<Engine> {
        let url = self.store_url()?;
        // The same profiles and per-CA settings the server uses, so that a
        // certificate the tool issues follows the same rules.
        let config =
            EngineConfig::from_config(&self.config).context("reading the configuration")?;
        Engine::open(&url, Arc::new(SystemClock), config)
            .with_context(|| format!("loading the CAs of {}", redact(&url)))
    }

    /// The profile set: the config's profiles file, or the built-in one.
    pub(crate) fn profiles(&self) -> Result<ProfileSet> {
        match &self.config.profiles {
            None => Ok(ProfileSet::builtin()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the profiles file {}", path.display()))?;
                ProfileSet::from_toml(&text)
                    .map_err(|e| anyhow!("profiles file {}: {e}", path.display()))
            }
        }
    }
}

/// Who is acting, for the audit log: `cmc-tool` and the login name.
pub(crate) fn requester() -> String {
    match std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
        Ok(user) if !user.is_empty() => format!("cmc-tool:{user}"),
        _ => "cmc-tool".to_owned(),
    }
}

/// `path` made absolute against the working directory, so what is stored
/// (key and secret file paths) still holds when the server runs elsewhere.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path)
        .with_context(|| format!("{}: cannot make it absolute", path.display()))
}

/// Creates `dir` (and its parents) with mode 0700 if it does not exist.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating the directory {}", dir.display()))
}

/// A store URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgresql://cmc:s3cret@db.example/cmc"),
            "postgresql://cmc:***@db.example/cmc"
        );
        assert_eq!(
            redact("sqlite:///var/lib/cmc.db"),
            "sqlite:///var/lib/cmc.db"
        );
        assert_eq!(
            redact("postgres://cmc@db.example/cmc"),
            "postgres://cmc@db.example/cmc"
        );
    }

    #[test]
    fn unknown_config_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cmc.toml");
        std::fs::write(&path, "data_dir = \"d\"\ncolour = \"blue\"\n").unwrap();
        let err = format!("{:#}", Context::load(Some(&path)).unwrap_err());
        assert!(err.contains("colour"), "{err}");
        let ctx = Context::load(Some(&dir.path().join("missing.toml")));
        assert!(ctx.is_err());
    }

    #[test]
    fn profiles_default_to_the_builtin_set() {
        let ctx = Context {
            config: Config::default(),
            file: None,
        };
        let set = ctx.profiles().unwrap();
        assert_eq!(set.names().collect::<Vec<_>>(), ["default"]);
    }
}
