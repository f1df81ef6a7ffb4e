//! `ca encryption-cert`: a key and a certificate from the CA itself for
//! its `[ca.NAME.encryption]` credential (encrypted CMC, RFC 5272 §5).
//! The key is generated into a file (encrypted unless --unencrypted-key),
//! or is on a PKCS #11 token (`--pkcs11-module`, `--token`, `--key-label`
//! and/or `--key-id`, `--pin-env`/`--pin-file`): an existing key there is
//! used (it must have `CKA_DECRYPT` or `CKA_DERIVE`), else one is generated
//! with that attribute. The CA issues the certificate with a profile whose
//! keyUsage allows keyEncipherment (RSA) or keyAgreement (P-256/P-384), and
//! the section to add to the configuration is printed. `ca init` makes no
//! encryption credential: a CA reads encrypted requests only once one is
//! configured.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_ca::KeyConfig;
use cmc_keys::{FileKey, KeySpec};
use der::Encode;
use x509_cert::name::Name;

use crate::Io;
use crate::commands::args::PassphraseArgs;
use crate::commands::ca::{Pkcs11Args, passphrase_ref, pkcs11_key_config};
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
    /// Write the new key here (mode 0600; must not exist). Not with a
    /// PKCS #11 key.
    #[arg(long, value_name = "PATH", required_unless_present = "pkcs11_module")]
    pub key_file: Option<PathBuf>,
    /// Write the certificate (PEM) here.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Where the key file's passphrase is.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The key on a PKCS#11 token instead: used if it is there (with
    /// CKA_DECRYPT for RSA, CKA_DERIVE for EC), generated otherwise.
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
}

/// The new encryption key: a file key to write once the certificate is
/// issued, or a key on a token (already there).
#[allow(clippy::large_enum_variant)] // one value, for one command
enum NewKey {
    File(FileKey),
    Token(KeyConfig, spki::SubjectPublicKeyInfoOwned),
}

/// `ca encryption-cert`.
pub(crate) fn run(ctx: &Context, args: &EncryptionCertArgs, io: &mut Io<'_>) -> Result<()> {
    if !matches!(
        args.key_type,
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 | KeySpec::P256 | KeySpec::P384
    ) {
        bail!("an encryption key is RSA (rsa2048/3072/4096) or EC on P-256 or P-384");
    }
    let scheme = args.key_type.default_scheme();
    let token = pkcs11_key_config(&args.pkcs11, scheme)?;
    let passphrase = match &token {
        Some(_) => None,
        None => passphrase_ref(&args.passphrase, "the encryption key")?,
    };
    let engine = ctx.engine()?;
    let subject_text = args
        .subject
        .clone()
        .unwrap_or_else(|| format!("CN={} CMC encryption", args.name));
    let subject =
        Name::from_str(&subject_text).map_err(|e| anyhow!("--subject {subject_text:?}: {e}"))?;
    // A file key signs its own request; a token key may not sign at all
    // (an encryption key should not), so the request is its public key,
    // recorded as the DER of the SubjectPublicKeyInfo.
    let (key, request, request_der) = match token {
        None => {
            let key = FileKey::generate(args.key_type)?;
            let csr = cmc_codec::build_csr(&key, subject, Vec::new())?;
            let request = cmc_policy::Request::from_cert_req(&csr)
                .map_err(|e| anyhow!("the certification request: {e}"))?;
            let csr_der = csr
                .to_der()
                .map_err(|e| anyhow!("encoding the request: {e}"))?;
            (NewKey::File(key), request, csr_der)
        }
        Some(config) => {
            let (config, opened) = match config.open_decryption() {
                Ok(key) => (config, key),
                Err(cmc_ca::Error::Key(cmc_keys::Error::KeyNotFound { .. })) => config
                    .generate_decryption(args.key_type)
                    .context("generating the encryption key on the token")?,
                Err(e) => {
                    return Err(anyhow!(e).context(
                        "the key on the token (--key-type must be its type: rsa2048/3072/4096, p256 or p384)",
                    ));
                }
            };
            let spki = opened.public_key().clone();
            let der = spki
                .to_der()
                .map_err(|e| anyhow!("encoding the public key: {e}"))?;
            let request = cmc_policy::Request::new(subject, spki.clone());
            (NewKey::Token(config, spki), request, der)
        }
    };
    let issued = engine
        .issue(
            &args.name,
            args.profile.as_deref(),
            &request,
            &requester(),
            &request_der,
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
    let key_line = match &key {
        NewKey::File(key) => {
            let Some(key_file) = &args.key_file else {
                bail!("a file key needs --key-file PATH");
            };
            let key_file = absolute(key_file)?;
            match &passphrase {
                Some(p) => key.store(&key_file, &p.to_source()),
                None => key.store_unencrypted(&key_file),
            }
            .with_context(|| format!("writing {}", key_file.display()))?;
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
            format!(
                "{{ backend = \"file\", path = {:?}, {secret}scheme = \"{scheme}\" }}",
                key_file.display().to_string()
            )
        }
        NewKey::Token(config, spki) => {
            if issued
                .certificate
                .tbs_certificate()
                .subject_public_key_info()
                != spki
            {
                bail!("the certificate does not hold the token key");
            }
            token_key_line(config)?
        }
    };
    let der = issued
        .certificate
        .to_der()
        .map_err(|e| anyhow!("encoding the certificate: {e}"))?;
    std::fs::write(&args.out, pem("CERTIFICATE", &der)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let out = absolute(&args.out)?;
    writeln!(
        io.out,
        "issued the encryption certificate of CA {:?} to {}; add to the configuration:\n\n\
         [ca.{}.encryption]\ncertificate = {:?}\nkey = {key_line}",
        args.name,
        out.display(),
        args.name,
        out.display().to_string(),
    )?;
    Ok(())
}

/// The inline TOML table of a key on a token, for the printed section.
fn token_key_line(config: &KeyConfig) -> Result<String> {
    let KeyConfig::Pkcs11 {
        module,
        token_label,
        key_label,
        key_id,
        pin,
        scheme,
        ..
    } = config
    else {
        bail!("not a PKCS#11 key");
    };
    let mut line = format!(
        "{{ backend = \"pkcs11\", module = {:?}, token_label = {token_label:?}, ",
        module.display().to_string()
    );
    if let Some(label) = key_label {
        line.push_str(&format!("key_label = {label:?}, "));
    }
    if let Some(id) = key_id {
        line.push_str(&format!("key_id = {id:?}, "));
    }
    match pin {
        cmc_ca::SecretRef::Env(var) => line.push_str(&format!("pin = {{ env = {var:?} }}, ")),
        cmc_ca::SecretRef::File(path) => line.push_str(&format!(
            "pin = {{ file = {:?} }}, ",
            path.display().to_string()
        )),
    }
    line.push_str(&format!("scheme = \"{scheme}\" }}"));
    Ok(line)
}
