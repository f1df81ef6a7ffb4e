//! `ca encryption-cert`: a key and a certificate from the CA itself for
//! its `[ca.NAME.encryption]` credential (encrypted CMC, RFC 5272 §5).
//! The key is generated into a file (encrypted unless --unencrypted-key),
//! the CA issues the certificate with a profile whose keyUsage allows
//! keyEncipherment (RSA) or keyAgreement (P-256/P-384), and the section to
//! add to the configuration is printed. `ca init` makes no encryption
//! credential: a CA reads encrypted requests only once one is configured.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_keys::{FileKey, KeySpec};
use der::Encode;
use x509_cert::name::Name;

use crate::Io;
use crate::commands::args::PassphraseArgs;
use crate::commands::ca::passphrase_ref;
use crate::context::{Context, absolute, requester};
use crate::inspect::pem;

/// `ca encryption-cert`.
#[derive(Debug, Args)]
pub struct EncryptionCertArgs {
    /// The CA's name.
    pub name: String,
    /// Key type: rsa2048, rsa3072, rsa4096 (key transport), p256 or p384
    /// (key agreement).
    #[arg(long, value_name = "TYPE", default_value = "rsa3072")]
    pub key_type: KeySpec,
    /// The profile to issue with; its keyUsage must allow keyEncipherment
    /// (RSA) or keyAgreement (EC). Default: the CA's default profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The certificate's subject (default "CN=NAME CMC encryption").
    #[arg(long, value_name = "DN")]
    pub subject: Option<String>,
    /// Write the new key here (mode 0600; must not exist).
    #[arg(long, value_name = "PATH")]
    pub key_file: PathBuf,
    /// Write the certificate (PEM) here.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Where the key file's passphrase is.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `ca encryption-cert`.
pub(crate) fn run(ctx: &Context, args: &EncryptionCertArgs, io: &mut Io<'_>) -> Result<()> {
    if !matches!(
        args.key_type,
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 | KeySpec::P256 | KeySpec::P384
    ) {
        bail!("an encryption key is RSA (rsa2048/3072/4096) or EC on P-256 or P-384");
    }
    let passphrase = passphrase_ref(&args.passphrase, "the encryption key")?;
    let engine = ctx.engine()?;
    let subject_text = args
        .subject
        .clone()
        .unwrap_or_else(|| format!("CN={} CMC encryption", args.name));
    let subject =
        Name::from_str(&subject_text).map_err(|e| anyhow!("--subject {subject_text:?}: {e}"))?;
    let key = FileKey::generate(args.key_type)?;
    let csr = cmc_codec::build_csr(&key, subject, Vec::new())?;
    let request = cmc_policy::Request::from_cert_req(&csr)
        .map_err(|e| anyhow!("the certification request: {e}"))?;
    let csr_der = csr
        .to_der()
        .map_err(|e| anyhow!("encoding the request: {e}"))?;
    let issued = engine
        .issue(
            &args.name,
            args.profile.as_deref(),
            &request,
            &requester(),
            &csr_der,
        )
        .with_context(|| format!("CA {:?} issuing the encryption certificate", args.name))?;
    if !cmc_codec::encrypt::can_encrypt_to(&issued.certificate) {
        bail!(
            "the profile gave the certificate a keyUsage without {}: choose a --profile whose \
             key_usage has it (the certificate was issued, and nothing was written)",
            if args.key_type.is_rsa() {
                "keyEncipherment"
            } else {
                "keyAgreement"
            }
        );
    }
    let key_file = absolute(&args.key_file)?;
    match &passphrase {
        Some(p) => key.store(&key_file, &p.to_source()),
        None => key.store_unencrypted(&key_file),
    }
    .with_context(|| format!("writing {}", key_file.display()))?;
    let der = issued
        .certificate
        .to_der()
        .map_err(|e| anyhow!("encoding the certificate: {e}"))?;
    std::fs::write(&args.out, pem("CERTIFICATE", &der)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let out = absolute(&args.out)?;
    let secret = match &passphrase {
        Some(cmc_ca::SecretRef::Env(var)) => format!("passphrase = {{ env = {var:?} }}, "),
        Some(cmc_ca::SecretRef::File(path)) => {
            format!(
                "passphrase = {{ file = {:?} }}, ",
                path.display().to_string()
            )
        }
        None => "unencrypted = true, ".to_owned(),
    };
    writeln!(
        io.out,
        "issued the encryption certificate of CA {:?} to {}; add to the configuration:\n\n\
         [ca.{}.encryption]\ncertificate = {:?}\n\
         key = {{ backend = \"file\", path = {:?}, {secret}scheme = \"{}\" }}",
        args.name,
        out.display(),
        args.name,
        out.display().to_string(),
        key_file.display().to_string(),
        args.key_type.default_scheme(),
    )?;
    Ok(())
}
