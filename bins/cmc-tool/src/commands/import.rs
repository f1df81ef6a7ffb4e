//! Migrating an existing CA in: `ca import`, `cert import`, `crl import`
//! (the engine's side is `cmc_ca::import_ca`, `CertImporter`,
//! `import_crl`).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_ca::{CertImportReport, CrlImportReport, ImportCa, ImportKey, SecretRef, SystemClock};
use cmc_keys::SignatureScheme;
use der::Decode as _;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::Io;
use crate::commands::args::PassphraseArgs;
use crate::commands::ca::{Pkcs11Args, file_key_config, pkcs11_key_config, probe_existing};
use crate::context::{Context, absolute, requester};
use crate::inspect::read_certificates;
use crate::output::{Fields, json};

/// `ca import`.
#[derive(Debug, Args)]
pub struct CaImportArgs {
    /// The CA's name here (1-64 of A-Z a-z 0-9 - _ .).
    pub name: String,
    /// The CA certificate, PEM or DER (further certificates in a PEM file
    /// are taken as its chain, issuer first).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The CA's issuer certificates up to the root, PEM (issuer first),
    /// served with it; not for a root.
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// The CA's private key, PEM: PKCS #8 (encrypted or not), SEC1 or
    /// PKCS #1. It is stored encrypted under DATA_DIR/keys (or --key-file).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "pkcs11_module",
        conflicts_with = "pkcs11_module"
    )]
    pub key: Option<PathBuf>,
    /// Read the passphrase of an encrypted --key from this environment
    /// variable.
    #[arg(
        long,
        value_name = "VAR",
        requires = "key",
        conflicts_with = "source_passphrase_file"
    )]
    pub source_passphrase_env: Option<String>,
    /// Read the passphrase of an encrypted --key from this file (less one
    /// trailing newline).
    #[arg(long, value_name = "PATH", requires = "key")]
    pub source_passphrase_file: Option<PathBuf>,
    /// Where to store the key (default DATA_DIR/keys/NAME.key, mode 0600).
    #[arg(long, value_name = "PATH", requires = "key")]
    pub key_file: Option<PathBuf>,
    /// Where the stored key file's passphrase is.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The key on a PKCS#11 token instead (it stays there).
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
    /// Signature scheme, e.g. ecdsa-sha384, rsa-pss-sha256 (default: the
    /// one that fits the key type).
    #[arg(long)]
    pub scheme: Option<SignatureScheme>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `cert import`.
#[derive(Debug, Args)]
pub struct CertImportArgs {
    /// The imported CA that issued them.
    pub name: String,
    /// Certificate files: PEM (any number of certificates) or DER (one).
    #[arg(
        value_name = "FILE",
        required_unless_present = "dir",
        conflicts_with = "dir"
    )]
    pub files: Vec<PathBuf>,
    /// Every file in this directory (not its subdirectories).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// No progress line on standard error.
    #[arg(long, short = 'q', conflicts_with = "progress")]
    pub quiet: bool,
    /// A progress line on standard error even when it is not a terminal.
    #[arg(long)]
    pub progress: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `crl import`.
#[derive(Debug, Args)]
pub struct CrlImportArgs {
    /// The imported CA that signed it.
    pub name: String,
    /// The CRL, PEM or DER.
    #[arg(value_name = "CRL")]
    pub file: PathBuf,
    /// No progress lines on standard error.
    #[arg(long, short = 'q', conflicts_with = "progress")]
    pub quiet: bool,
    /// Progress lines on standard error even when it is not a terminal.
    #[arg(long)]
    pub progress: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What `ca import --json` prints.
#[derive(Debug, Serialize)]
struct CaImported {
    name: String,
    subject: String,
    chain_length: usize,
    signs_with: String,
}

pub(crate) fn ca(ctx: &Context, args: &CaImportArgs, io: &mut Io<'_>) -> Result<()> {
    let records = ctx.records()?;
    if records.ca(&args.name)?.is_some() {
        bail!(
            "CA {:?} already exists: an import never replaces one",
            args.name
        );
    }
    let mut certs = read_certificates(&read(&args.cert)?)
        .with_context(|| format!("reading {}", args.cert.display()))?;
    let cert_der = certs.remove(0);
    if let Some(path) = &args.chain {
        certs.extend(
            read_certificates(&read(path)?)
                .with_context(|| format!("reading {}", path.display()))?,
        );
    }
    // The scheme is settled by the engine from the key when not given.
    let provisional = args
        .scheme
        .unwrap_or(SignatureScheme::Ecdsa(cmc_keys::HashAlg::Sha256));
    let key = match pkcs11_key_config(&args.pkcs11, provisional)? {
        Some(mut config) => {
            if args.scheme.is_none() {
                let spec = probe_existing(&config)?;
                config = config.with_scheme(spec.default_scheme());
            }
            ImportKey::Existing(config)
        }
        None => {
            let Some(source) = &args.key else {
                bail!("give the CA key with --key FILE, or a token key with --pkcs11-module");
            };
            let pem = Zeroizing::new(
                std::fs::read(source).with_context(|| format!("reading {}", source.display()))?,
            );
            let source_passphrase =
                match (&args.source_passphrase_env, &args.source_passphrase_file) {
                    (Some(var), _) => Some(SecretRef::Env(var.clone())),
                    (None, Some(path)) => Some(SecretRef::File(absolute(path)?)),
                    (None, None) => None,
                };
            let dest = file_key_config(
                ctx,
                &args.passphrase,
                args.key_file.as_deref(),
                &args.name,
                provisional,
            )?;
            ImportKey::File {
                pem,
                source_passphrase,
                dest,
            }
        }
    };
    let scheme = match &key {
        ImportKey::Existing(config) => Some(config.scheme()),
        ImportKey::File { .. } => args.scheme,
    };
    let new = ImportCa {
        name: args.name.clone(),
        cert_der,
        chain_der: certs,
        key,
        scheme,
        requester: requester(),
    };
    let ca = records
        .import_ca(&SystemClock, &new)
        .with_context(|| format!("importing CA {:?}", args.name))?;
    let info = CaImported {
        name: ca.name().to_owned(),
        subject: ca.subject().to_string(),
        chain_length: ca.chain_der().len(),
        signs_with: ca.key_config().scheme().to_string(),
    };
    if args.json {
        return json(io.out, &info);
    }
    writeln!(io.out, "imported CA {:?}", info.name)?;
    let mut f = Fields::new();
    f.add("subject", &info.subject);
    f.add("chain length", info.chain_length.to_string());
    f.add("signs with", &info.signs_with);
    f.print(io.out)?;
    writeln!(
        io.out,
        "next: `cmc-tool cert import {0} FILES...`, then `cmc-tool crl import {0} CRL`",
        info.name
    )?;
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The files to read: those given, or every regular file of the
/// directory, by name.
fn input_files(args: &CertImportArgs) -> Result<Vec<PathBuf>> {
    let Some(dir) = &args.dir else {
        return Ok(args.files.clone());
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// A progress line on standard error, redrawn at most every half second,
/// when standard error is a terminal and not `--quiet`, or with
/// `--progress`.
struct Progress {
    on: bool,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new(quiet: bool, forced: bool) -> Self {
        Self {
            on: forced || (!quiet && std::io::stderr().is_terminal()),
            last: Instant::now(),
            shown: false,
        }
    }

    fn tick(&mut self, io: &mut Io<'_>, report: &CertImportReport) {
        if self.on && self.last.elapsed() >= Duration::from_millis(500) {
            self.last = Instant::now();
            self.shown = true;
            // Progress is best effort: a failed write to the terminal is not
            // the import's failure.
            let _ = write!(
                io.err,
                "\r{} read, {} stored, {} refused",
                report.read,
                report.imported,
                report.refused.len()
            );
            let _ = io.err.flush();
        }
    }

    /// One line for a step that has no count to redraw (a single
    /// transaction).
    fn step(&mut self, io: &mut Io<'_>, what: std::fmt::Arguments<'_>) {
        if self.on {
            let _ = writeln!(io.err, "{what}");
            let _ = io.err.flush();
        }
    }

    fn done(&self, io: &mut Io<'_>) {
        if self.shown {
            let _ = writeln!(io.err);
        }
    }
}

pub(crate) fn certs(ctx: &Context, args: &CertImportArgs, io: &mut Io<'_>) -> Result<()> {
    let records = ctx.records()?;
    let mut importer = records
        .cert_importer(&SystemClock, &args.name, &requester())
        .with_context(|| format!("importing into CA {:?}", args.name))?;
    let mut progress = Progress::new(args.quiet, args.progress);
    let mut unreadable = Vec::new();
    for file in input_files(args)? {
        let name = file.display().to_string();
        let certs = match read(&file).and_then(|bytes| read_certificates(&bytes)) {
            Ok(certs) => certs,
            Err(e) => {
                unreadable.push(cmc_ca::RefusedCert {
                    source: name,
                    reason: format!("{e:#}"),
                });
                continue;
            }
        };
        let many = certs.len() > 1;
        for (i, der) in certs.iter().enumerate() {
            let source = if many {
                format!("{name} #{}", i + 1)
            } else {
                name.clone()
            };
            importer.add(&source, der)?;
            progress.tick(io, importer.report());
        }
    }
    let mut report = importer.finish()?;
    progress.done(io);
    report.refused.extend(unreadable);
    if args.json {
        json(io.out, &report)?;
    } else {
        writeln!(
            io.out,
            "{} certificates read: {} imported, {} already stored, {} refused",
            report.read,
            report.imported,
            report.duplicates,
            report.refused.len()
        )?;
        for r in &report.refused {
            writeln!(io.out, "refused {}: {}", r.source, r.reason)?;
        }
    }
    if !report.refused.is_empty() {
        bail!(
            "{} of the inputs were refused (the others are stored)",
            report.refused.len()
        );
    }
    Ok(())
}

/// A CRL file's DER: the `X509 CRL` PEM block, or the file itself.
fn crl_der(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.starts_with(b"-----BEGIN") || bytes.iter().take(64).all(u8::is_ascii) {
        let text = std::str::from_utf8(bytes).map_err(|_| anyhow!("not PEM"))?;
        let start = text
            .find("-----BEGIN X509 CRL-----")
            .ok_or_else(|| anyhow!("no X509 CRL block found"))?;
        let (label, der) = der::pem::decode_vec(&text.as_bytes()[start..])
            .map_err(|e| anyhow!("not a PEM CRL: {e}"))?;
        if label != "X509 CRL" {
            bail!("a PEM {label} block, not a CRL");
        }
        return Ok(der);
    }
    <x509_cert::crl::CertificateList>::from_der(bytes).map_err(|e| anyhow!("not a CRL: {e}"))?;
    Ok(bytes.to_vec())
}

pub(crate) fn crl(ctx: &Context, args: &CrlImportArgs, io: &mut Io<'_>) -> Result<()> {
    let der =
        crl_der(&read(&args.file)?).with_context(|| format!("reading {}", args.file.display()))?;
    let mut progress = Progress::new(args.quiet, args.progress);
    let started = Instant::now();
    progress.step(
        io,
        format_args!(
            "importing a CRL of {} KiB into CA {:?}: checking its signature, then recording every entry in one transaction",
            der.len().div_ceil(1024),
            args.name
        ),
    );
    let report: CrlImportReport = ctx
        .records()?
        .import_crl(&SystemClock, &args.name, &der, &requester())
        .with_context(|| format!("importing the CRL of CA {:?}", args.name))?;
    progress.step(
        io,
        format_args!(
            "{} entries recorded in {:.1} s",
            report.entries,
            started.elapsed().as_secs_f64()
        ),
    );
    if args.json {
        json(io.out, &report)?;
    } else {
        writeln!(
            io.out,
            "CRL number {}: {} entries, {} revoked now, {} already revoked, {} not imported",
            report
                .crl_number
                .map_or_else(|| "(none)".to_owned(), |n| n.to_string()),
            report.entries,
            report.revoked,
            report.already_revoked,
            report.not_imported.len()
        )?;
    }
    if !report.not_imported.is_empty() {
        writeln!(
            io.err,
            "warning: {} revoked serials have no imported certificate, and OCSP answers \
             \"unknown\" for them (first: {}); import those certificates with `cmc-tool cert \
             import` and import the CRL again",
            report.not_imported.len(),
            report.not_imported[..report.not_imported.len().min(5)].join(", ")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crl_files_in_pem_or_der() {
        assert!(
            crl_der(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err()
        );
        assert!(crl_der(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
    }
}
