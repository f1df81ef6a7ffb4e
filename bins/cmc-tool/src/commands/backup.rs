//! `backup create | restore | verify`: encrypted backups that any one of
//! several administrators opens with their own key (`cmc_ca::backup` says
//! what is inside).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use cmc_ca::backup::{self, RestoreTarget, Source};
use cmc_keys::{FileKey, SecretSource};
use serde::Serialize;

use crate::Io;
use crate::context::Context;
use crate::output::json;

/// `backup ...`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write an encrypted backup of the store, the configuration, the
    /// profiles and the data directory's files, which each --recipient
    /// can open.
    Create(CreateArgs),
    /// Restore a backup into a new, empty data directory (and, with
    /// --store-url, an empty PostgreSQL database).
    Restore(RestoreArgs),
    /// List a backup's recipients; with --key, open it and check every
    /// file's SHA-256 and the store export.
    Verify(VerifyArgs),
}

/// `backup create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The backup file to write (mode 0600).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// An administrator's certificate (RSA, P-256 or P-384; PEM or DER);
    /// repeat for each. Default: `[backup] recipients` of the configuration.
    #[arg(long = "recipient", value_name = "CERT")]
    pub recipients: Vec<PathBuf>,
    /// Write PEM (`-----BEGIN CMS-----`) instead of DER.
    #[arg(long)]
    pub pem: bool,
    /// Progress on standard error even when it is not a terminal.
    #[arg(long)]
    pub progress: bool,
}

/// The key that opens a backup.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The administrator's private key (PKCS #8 PEM, as its certificate
    /// was a recipient).
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    /// Read the key's passphrase from this file.
    #[arg(long, value_name = "PATH", conflicts_with = "passphrase_env")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the key's passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
}

impl KeyArgs {
    fn load(&self) -> Result<Option<FileKey>> {
        let Some(path) = &self.key else {
            return Ok(None);
        };
        let key = match (&self.passphrase_file, &self.passphrase_env) {
            (Some(f), _) => FileKey::load(path, &SecretSource::File(f.clone())),
            (None, Some(v)) => FileKey::load(path, &SecretSource::Env(v.clone())),
            (None, None) => FileKey::load_unencrypted(path),
        }
        .with_context(|| format!("loading the key {}", path.display()))?;
        Ok(Some(key))
    }
}

/// `backup restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (DER or PEM).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The key and its passphrase.
    #[command(flatten)]
    pub key: KeyArgs,
    /// The new data directory: it must not exist, or be empty.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Restore the store into this empty PostgreSQL database (a
    /// `postgresql://` URL) instead of SQLite in the data directory.
    #[arg(long, value_name = "URL")]
    pub store_url: Option<String>,
    /// Progress on standard error even when it is not a terminal.
    #[arg(long)]
    pub progress: bool,
}

/// `backup verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup file (DER or PEM).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The key and its passphrase (without: the structure and recipients
    /// only).
    #[command(flatten)]
    pub key: KeyArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `backup` command.
///
/// # Errors
/// Whatever failed, with context.
pub(crate) fn run(ctx: &Context, cmd: &BackupCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        BackupCommand::Create(args) => create(ctx, args, io),
        BackupCommand::Restore(args) => restore(args, io),
        BackupCommand::Verify(args) => verify(args, io),
    }
}

/// Progress lines on standard error: when it is a terminal, or forced.
fn progress_sink<'a>(forced: bool, err: &'a mut dyn std::io::Write) -> impl FnMut(&str) + 'a {
    let on = forced || std::io::stderr().is_terminal();
    move |line: &str| {
        if on {
            // Best effort: a failed write to the terminal is not the
            // backup's failure.
            let _ = writeln!(err, "{line}");
        }
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn create(ctx: &Context, args: &CreateArgs, io: &mut Io<'_>) -> Result<()> {
    let paths = if args.recipients.is_empty() {
        match &ctx.config.backup {
            Some(b) => b.recipients.clone(),
            None => bail!("give --recipient CERT (or [backup] recipients in the configuration)"),
        }
    } else {
        args.recipients.clone()
    };
    let mut recipients = Vec::new();
    for p in &paths {
        recipients.extend(backup::read_certificates(p)?);
    }
    let source = Source {
        config: &ctx.config,
        config_file: ctx.file.as_deref(),
    };
    let created = {
        let mut progress = progress_sink(args.progress, io.err);
        backup::create(source, &recipients, now_unix(), &mut progress)?
    };
    let bytes = if args.pem {
        backup::to_pem(&created.der)?.into_bytes()
    } else {
        created.der
    };
    write_private(&args.out, &bytes)?;
    writeln!(
        io.out,
        "wrote {} ({} octets): {} store rows, {} files, {} recipients",
        args.out.display(),
        bytes.len(),
        created
            .manifest
            .store
            .tables
            .iter()
            .map(|(_, n)| n)
            .sum::<u64>(),
        created.manifest.entries.len() - 1,
        recipients.len()
    )?;
    for k in &created.manifest.token_keys {
        writeln!(
            io.out,
            "not in the backup: the PKCS #11 key of {} (token {:?}, label {:?}, id {:?}): back it up with the HSM's tools",
            k.used_by, k.token_label, k.key_label, k.key_id
        )?;
    }
    Ok(())
}

/// Writes a new file 0600 (an existing one is refused).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating {} (an existing file is not replaced)",
                path.display()
            )
        })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn read_backup(path: &std::path::Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(backup::decode_file(&bytes)?)
}

fn restore(args: &RestoreArgs, io: &mut Io<'_>) -> Result<()> {
    let Some(key) = args.key.load()? else {
        bail!("give --key KEY: the private key of one of the backup's recipients");
    };
    let der = read_backup(&args.file)?;
    let archive = backup::open(&der, &key)?;
    let report = {
        let mut progress = progress_sink(args.progress, io.err);
        backup::restore(
            &archive,
            RestoreTarget {
                data_dir: &args.data_dir,
                store_url: args.store_url.as_deref(),
            },
            &mut progress,
        )?
    };
    writeln!(
        io.out,
        "restored into {}: {} files, {} store rows",
        report.data_dir.display(),
        report.files,
        report.rows
    )?;
    if let Some(c) = &report.config_file {
        writeln!(
            io.out,
            "configuration: {} (cmc-server --config {})",
            c.display(),
            c.display()
        )?;
    }
    for ca in &report.moved_keys {
        writeln!(
            io.out,
            "CA {ca}: its key reference names the restored files"
        )?;
    }
    for k in &report.token_keys {
        writeln!(
            io.out,
            "the PKCS #11 key of {} must be on token {:?} (module {}, label {:?}, id {:?})",
            k.used_by, k.token_label, k.module, k.key_label, k.key_id
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct VerifyReport {
    recipients: Vec<RecipientOut>,
    encrypted_octets: usize,
    opened: bool,
    manifest: Option<backup::Manifest>,
}

#[derive(Serialize)]
struct RecipientOut {
    method: String,
    names: Vec<String>,
}

fn verify(args: &VerifyArgs, io: &mut Io<'_>) -> Result<()> {
    let der = read_backup(&args.file)?;
    let outline = backup::outline(&der)?;
    let key = args.key.load()?;
    let manifest = match &key {
        Some(k) => Some(backup::open(&der, k)?.manifest),
        None => None,
    };
    let report = VerifyReport {
        recipients: outline
            .recipients
            .into_iter()
            .map(|r| RecipientOut {
                method: r.method,
                names: r.names,
            })
            .collect(),
        encrypted_octets: outline.encrypted_len,
        opened: manifest.is_some(),
        manifest,
    };
    if args.json {
        return json(io.out, &report);
    }
    writeln!(
        io.out,
        "{}: an encrypted backup (AES-256-GCM, {} octets) for {} recipient(s):",
        args.file.display(),
        report.encrypted_octets,
        report.recipients.len()
    )?;
    for r in &report.recipients {
        writeln!(io.out, "  {}: {}", r.method, r.names.join("; "))?;
    }
    match &report.manifest {
        None => writeln!(io.out, "not opened (give --key to check its content)")?,
        Some(m) => {
            writeln!(
                io.out,
                "opened and checked: {} entries, every SHA-256 matches; made {} (Unix time) from {}",
                m.entries.len(),
                m.created,
                m.data_dir
            )?;
            writeln!(
                io.out,
                "store: {} schema {}, {} rows",
                m.store.kind,
                m.store.schema_version,
                m.store.tables.iter().map(|(_, n)| n).sum::<u64>()
            )?;
            for e in &m.entries {
                writeln!(io.out, "  {:>10}  {}  {}", e.size, e.sha256, e.name)?;
            }
            for k in &m.token_keys {
                writeln!(
                    io.out,
                    "  not included: PKCS #11 key of {} (token {:?}, label {:?}, id {:?})",
                    k.used_by, k.token_label, k.key_label, k.key_id
                )?;
            }
        }
    }
    Ok(())
}
