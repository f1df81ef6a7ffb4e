//! `ca init`, `ca list`, `ca show`, `ca export` (`ca encryption-cert` is in
//! `ca_encryption`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use cmc_ca::types::CaRecord;
use cmc_ca::{CaKey, KeyConfig, NewCa, SecretRef, SystemClock};
use cmc_keys::{KeySpec, SignatureScheme};
use cmc_policy::KeyKind;
use serde::Serialize;

use crate::Io;
use crate::commands::args::{JsonFlag, PassphraseArgs};
use crate::context::{Context, absolute, create_private_dir, requester};
use crate::inspect::{CertSummary, pem, summarize};
use crate::output::{Fields, Table, json};
use crate::time::format_rfc3339;

/// `ca ...`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a self-signed root CA, or an intermediate under a stored CA.
    Init(Box<CaInitArgs>),
    /// List the CAs.
    List(JsonFlag),
    /// Create the CA's next key and certificate (same subject, new key
    /// identifier), passive: published beside the current one, not
    /// issuing, until `ca activate` (or --activate-at).
    Rollover(Box<crate::commands::ca_rollover::RolloverArgs>),
    /// Make the CA's passive generation the issuing one; the current one
    /// is retired (it keeps signing CRLs and OCSP answers for what it
    /// issued).
    Activate {
        /// The CA's name.
        name: String,
    },
    /// Have a CA issue its own encryption certificate (a new key file), for
    /// `[ca.NAME.encryption]`: encrypted CMC requests are addressed to it.
    EncryptionCert(Box<crate::commands::ca_encryption::EncryptionCertArgs>),
    /// End a CA's bootstrap auto-approvals now (see `ca init --auto-approve`).
    LockAutoApprove {
        /// The CA's name.
        name: String,
    },
    /// Show one CA: subject, serial, validity, key and where the key is.
    Show {
        /// The CA's name.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Adopt an existing CA (OpenSSL, django-ca, Dogtag): its certificate
    /// and key (stored encrypted, or left on its token).
    Import(Box<crate::commands::import::CaImportArgs>),
    /// Write a CA certificate (PEM unless --der), optionally with its chain.
    Export {
        /// The CA's name.
        name: String,
        /// DER instead of PEM (one certificate; not with --chain).
        #[arg(long, conflicts_with = "chain")]
        der: bool,
        /// Append the issuer certificates up to the root.
        #[arg(long)]
        chain: bool,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `ca init`.
#[derive(Debug, Args)]
pub struct CaInitArgs {
    /// The new CA's name (1-64 of A-Z a-z 0-9 - _ .).
    pub name: String,
    /// The subject, as in RFC 4514, most specific first: "CN=Example Root CA,O=Example,C=SE".
    #[arg(long)]
    pub subject: String,
    /// Key type: p256, p384, p521, rsa2048, rsa3072, rsa4096 (default p384;
    /// for --existing-key, the key's own type).
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<KeySpec>,
    /// Signature scheme, e.g. ecdsa-sha384, rsa-pss-sha256 (default: the
    /// one that fits the key type).
    #[arg(long)]
    pub scheme: Option<SignatureScheme>,
    /// Days of validity (an intermediate's is cut at its parent's notAfter).
    #[arg(long, default_value_t = 3650)]
    pub days: u32,
    /// The stored CA that signs this one (omit for a self-signed root).
    #[arg(long, value_name = "CA")]
    pub parent: Option<String>,
    /// The pathLenConstraint (default: none for a root, one less than the
    /// parent's for an intermediate).
    #[arg(long, value_name = "N")]
    pub path_len: Option<u8>,
    /// Issue the CA's first N requests that a profile holds for approval
    /// without an agent (the bootstrap of the first administrators, as
    /// caucase does). Fixed now; `ca lock-auto-approve` ends it early.
    #[arg(long, value_name = "N")]
    pub auto_approve: Option<u32>,
    /// Use a key that already exists (file or token) instead of generating one.
    #[arg(long)]
    pub existing_key: bool,
    /// The key file (default DATA_DIR/keys/NAME.key, mode 0600).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Where the key file's passphrase is.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// A key on a PKCS#11 token.
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
}

/// A key on a PKCS#11 token.
#[derive(Debug, Default, Args)]
pub struct Pkcs11Args {
    /// The PKCS#11 module (shared library).
    #[arg(
        long,
        value_name = "PATH",
        requires = "token",
        conflicts_with_all = ["key_file", "passphrase_env", "passphrase_file", "unencrypted_key"]
    )]
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pub token: Option<String>,
    /// The key's label (CKA_LABEL).
    #[arg(long, value_name = "L", requires = "pkcs11_module")]
    pub key_label: Option<String>,
    /// The key's id (CKA_ID), in hex.
    #[arg(long, value_name = "HEX", requires = "pkcs11_module")]
    pub key_id: Option<String>,
    /// Read the user PIN from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        requires = "pkcs11_module",
        conflicts_with = "pin_file"
    )]
    pub pin_env: Option<String>,
    /// Read the user PIN from this file (less one trailing newline).
    #[arg(long, value_name = "PATH", requires = "pkcs11_module")]
    pub pin_file: Option<PathBuf>,
}

/// The key type of a new CA when none is asked for.
const DEFAULT_CA_KEY: KeySpec = KeySpec::P384;

pub(crate) fn run(ctx: &Context, cmd: &CaCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        CaCommand::Init(args) => init(ctx, args, io),
        CaCommand::List(flag) => list(ctx, flag.json, io),
        CaCommand::Rollover(args) => crate::commands::ca_rollover::rollover(ctx, args, io),
        CaCommand::Activate { name } => crate::commands::ca_rollover::activate(ctx, name, io),
        CaCommand::EncryptionCert(args) => crate::commands::ca_encryption::run(ctx, args, io),
        CaCommand::LockAutoApprove { name } => {
            ctx.records()?
                .lock_auto_approvals(name)
                .with_context(|| format!("CA {name:?} has no auto-approvals to lock"))?;
            writeln!(io.out, "auto-approvals of CA {name:?} locked")?;
            Ok(())
        }
        CaCommand::Show { name, json } => show(ctx, name, *json, io),
        CaCommand::Import(args) => crate::commands::import::ca(ctx, args, io),
        CaCommand::Export {
            name,
            der,
            chain,
            out,
        } => export(ctx, name, *der, *chain, out.as_ref(), io),
    }
}

/// Where a file key's passphrase is, from the flags; `None` for
/// `--unencrypted-key`. `what` names the key in the refusal.
pub(crate) fn passphrase_ref(args: &PassphraseArgs, what: &str) -> Result<Option<SecretRef>> {
    match (
        &args.passphrase_env,
        &args.passphrase_file,
        args.unencrypted_key,
    ) {
        (Some(var), None, false) => Ok(Some(SecretRef::Env(var.clone()))),
        (None, Some(path), false) => Ok(Some(SecretRef::File(absolute(path)?))),
        (None, None, true) => Ok(None),
        (None, None, false) => bail!(
            "refusing to write {what} without encryption: name where its passphrase is with \
             --passphrase-env VAR or --passphrase-file PATH, or say --unencrypted-key"
        ),
        _ => bail!("give only one of --passphrase-env, --passphrase-file and --unencrypted-key"),
    }
}

fn key_config(ctx: &Context, args: &CaInitArgs, scheme: SignatureScheme) -> Result<KeyConfig> {
    if let Some(config) = pkcs11_key_config(&args.pkcs11, scheme)? {
        return Ok(config);
    }
    file_key_config(
        ctx,
        &args.passphrase,
        args.key_file.as_deref(),
        &args.name,
        scheme,
    )
}

/// Where CA `name`'s file key goes (`key_file`, or `DATA_DIR/keys/NAME.key` in a private
/// directory) and how it is protected (`passphrase`, checked before anything is created).
pub(crate) fn file_key_config(
    ctx: &Context,
    passphrase: &PassphraseArgs,
    key_file: Option<&Path>,
    name: &str,
    scheme: SignatureScheme,
) -> Result<KeyConfig> {
    let passphrase = passphrase_ref(passphrase, "the CA key")?;
    let path = match key_file {
        Some(path) => absolute(path)?,
        None => {
            let dir = ctx.data_dir()?.join("keys");
            create_private_dir(&dir)?;
            dir.join(format!("{name}.key"))
        }
    };
    Ok(match passphrase {
        Some(secret) => KeyConfig::file(path, secret, scheme),
        None => KeyConfig::unencrypted_file(path, scheme),
    })
}

/// The key on a PKCS#11 token the flags name, if they name one.
pub(crate) fn pkcs11_key_config(
    p: &Pkcs11Args,
    scheme: SignatureScheme,
) -> Result<Option<KeyConfig>> {
    if let Some(module) = &p.pkcs11_module {
        let Some(token) = &p.token else {
            bail!("a PKCS#11 key needs --token LABEL");
        };
        if p.key_label.is_none() && p.key_id.is_none() {
            bail!("a PKCS#11 key needs --key-label LABEL (and/or --key-id HEX)");
        }
        let pin = match (&p.pin_env, &p.pin_file) {
            (Some(var), None) => SecretRef::Env(var.clone()),
            (None, Some(path)) => SecretRef::File(absolute(path)?),
            (None, None) => bail!(
                "the token PIN is read from an environment variable or a file: give \
                 --pin-env VAR or --pin-file PATH"
            ),
            (Some(_), Some(_)) => bail!("give only one of --pin-env and --pin-file"),
        };
        let config = KeyConfig::Pkcs11 {
            module: absolute(module)?,
            token_label: token.clone(),
            key_label: p.key_label.clone(),
            key_id: p.key_id.clone(),
            pin,
            sessions: None,
            scheme,
        };
        config.validate()?;
        return Ok(Some(config));
    }
    Ok(None)
}

/// The key type of an existing key: opened once with a scheme any EC key
/// accepts; an RSA key refuses it and says its type.
pub(crate) fn probe_existing(config: &KeyConfig) -> Result<KeySpec> {
    let probe = config
        .clone()
        .with_scheme(SignatureScheme::Ecdsa(cmc_keys::HashAlg::Sha512));
    match probe.open() {
        Ok(key) => match KeyKind::of(key.public_key()) {
            KeyKind::Ec(curve) => Ok(curve.name().parse::<KeySpec>()?),
            other => bail!("the existing key is {other}, which a CA cannot use"),
        },
        Err(cmc_ca::Error::Key(cmc_keys::Error::IncompatibleScheme { key, .. })) => Ok(key),
        Err(e) => Err(e).context("opening the existing key"),
    }
}

fn init(ctx: &Context, args: &CaInitArgs, io: &mut Io<'_>) -> Result<()> {
    let spec = args.key_type.unwrap_or(DEFAULT_CA_KEY);
    let provisional = args.scheme.unwrap_or_else(|| spec.default_scheme());
    let mut config = key_config(ctx, args, provisional)?;
    let records = ctx.records()?;
    if records.ca(&args.name)?.is_some() {
        bail!("CA {:?} already exists", args.name);
    }
    if let Some(parent) = &args.parent {
        if records.ca(parent)?.is_none() {
            bail!("there is no CA {parent:?} to sign the new CA (see `cmc-tool ca list`)");
        }
    }
    let key = if args.existing_key {
        if args.scheme.is_none() && args.key_type.is_none() {
            let spec = probe_existing(&config)?;
            config = config.with_scheme(spec.default_scheme());
        }
        CaKey::Existing(config)
    } else {
        CaKey::Generate { spec, config }
    };
    let new = NewCa {
        name: args.name.clone(),
        subject: args.subject.clone(),
        validity_days: args.days,
        key,
        path_len: args.path_len,
        issuer: args.parent.clone(),
        requester: requester(),
    };
    let ca = records
        .create_ca(&SystemClock, &new)
        .with_context(|| format!("creating CA {:?}", args.name))?;
    writeln!(io.out, "created CA {:?}", ca.name())?;
    if let Some(n) = args.auto_approve {
        records
            .set_auto_approvals(ca.name(), n)
            .with_context(|| format!("granting CA {:?} its auto-approvals", ca.name()))?;
        writeln!(
            io.out,
            "the first {n} requests held for approval are issued without an agent"
        )?;
    }
    let info = CaInfo::of(ctx, ca.record())?;
    info.print(io)
}

/// What `ca show` and `ca list --json` print about a CA.
#[derive(Debug, Serialize)]
struct CaInfo {
    name: String,
    parent: Option<String>,
    #[serde(flatten)]
    certificate: CertSummary,
    /// The stored key reference (where the key and its secret are; never a
    /// secret), or why it could not be read.
    key: serde_json::Value,
    signs_with: Option<String>,
    chain_length: usize,
    created_at: String,
    /// Every key generation, oldest first (one until a rollover).
    generations: Vec<crate::commands::ca_rollover::GenerationInfo>,
}

impl CaInfo {
    fn of(ctx: &Context, record: &CaRecord) -> Result<Self> {
        let certificate =
            summarize(&record.cert_der).with_context(|| format!("CA {:?}", record.name))?;
        let (key, signs_with) = match KeyConfig::from_key_ref(&record.key_ref) {
            Ok(k) => (
                serde_json::to_value(&k).context("key reference")?,
                Some(k.scheme().to_string()),
            ),
            Err(e) => (serde_json::json!({ "error": e.to_string() }), None),
        };
        Ok(Self {
            name: record.name.clone(),
            parent: record.parent.clone(),
            certificate,
            key,
            signs_with,
            chain_length: record.chain_der.len(),
            created_at: format_rfc3339(record.created_at),
            generations: crate::commands::ca_rollover::generations(
                ctx,
                &record.name,
                &record.cert_der,
            )?,
        })
    }

    fn print(&self, io: &mut Io<'_>) -> Result<()> {
        let c = &self.certificate;
        let mut f = Fields::new();
        f.add("name", &self.name);
        f.add(
            "parent",
            self.parent.as_deref().unwrap_or("(none: self-signed root)"),
        );
        f.add("subject", &c.subject);
        f.add("issuer", &c.issuer);
        f.add("serial", &c.serial);
        f.add("not before", &c.not_before);
        f.add("not after", &c.not_after);
        f.add("key type", &c.key_type);
        f.add("signature algorithm", &c.signature_algorithm);
        if let Some(s) = &self.signs_with {
            f.add("signs with", s);
        }
        f.add(
            "path length",
            c.path_len.map_or("unlimited".to_owned(), |n| n.to_string()),
        );
        f.add("key", describe_key(&self.key));
        f.add("sha256 fingerprint", &c.sha256_fingerprint);
        f.add("created", &self.created_at);
        if self.generations.len() > 1 {
            for g in &self.generations {
                g.print(&mut f);
            }
        }
        f.print(io.out)
    }
}

/// The key reference in words: where the key is and where its secret is
/// read from.
fn describe_key(key: &serde_json::Value) -> String {
    let s = |k: &str| key.get(k).and_then(serde_json::Value::as_str);
    let secret = |k: &str| match key.get(k) {
        Some(v) => match (v.get("env"), v.get("file")) {
            (Some(var), _) => format!("environment variable {}", var.as_str().unwrap_or("?")),
            (_, Some(path)) => format!("file {}", path.as_str().unwrap_or("?")),
            _ => "?".to_owned(),
        },
        None => "none".to_owned(),
    };
    match s("backend") {
        Some("file") if key.get("unencrypted").is_some() => {
            format!("file {} (UNENCRYPTED)", s("path").unwrap_or("?"))
        }
        Some("file") => format!(
            "file {}, passphrase from {}",
            s("path").unwrap_or("?"),
            secret("passphrase")
        ),
        Some("pkcs11") => {
            let mut text = format!(
                "PKCS#11 module {}, token {:?}",
                s("module").unwrap_or("?"),
                s("token_label").unwrap_or("?")
            );
            if let Some(l) = s("key_label") {
                text.push_str(&format!(", key label {l:?}"));
            }
            if let Some(id) = s("key_id") {
                text.push_str(&format!(", key id {id}"));
            }
            text.push_str(&format!(", PIN from {}", secret("pin")));
            text
        }
        _ => format!(
            "unreadable key reference: {}",
            s("error").unwrap_or("unknown backend")
        ),
    }
}

fn list(ctx: &Context, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let infos = ctx
        .records()?
        .cas()?
        .iter()
        .map(|r| CaInfo::of(ctx, r))
        .collect::<Result<Vec<_>>>()?;
    if as_json {
        return json(io.out, &infos);
    }
    let mut t = Table::new(&[
        "NAME",
        "PARENT",
        "NOT AFTER",
        "KEY",
        "GENERATIONS",
        "SUBJECT",
    ]);
    for i in &infos {
        let backend = i
            .key
            .get("backend")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?");
        t.row(vec![
            i.name.clone(),
            i.parent.clone().unwrap_or_else(|| "-".into()),
            i.certificate.not_after.clone(),
            format!("{} ({backend})", i.certificate.key_type),
            i.generations
                .iter()
                .map(|g| format!("{}:{}", g.generation, g.state))
                .collect::<Vec<_>>()
                .join(" "),
            i.certificate.subject.clone(),
        ]);
    }
    t.print(io.out, "no CAs (create one with `cmc-tool ca init`)")
}

fn get_ca(ctx: &Context, name: &str) -> Result<CaRecord> {
    match ctx.records()?.ca(name)? {
        Some(r) => Ok(r),
        None => bail!("there is no CA {name:?} (see `cmc-tool ca list`)"),
    }
}

fn show(ctx: &Context, name: &str, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let info = CaInfo::of(ctx, &get_ca(ctx, name)?)?;
    if as_json {
        json(io.out, &info)
    } else {
        info.print(io)
    }
}

fn export(
    ctx: &Context,
    name: &str,
    der: bool,
    chain: bool,
    out: Option<&PathBuf>,
    io: &mut Io<'_>,
) -> Result<()> {
    let record = get_ca(ctx, name)?;
    let mut certs = vec![record.cert_der.clone()];
    if chain {
        certs.extend(record.chain_der.iter().cloned());
    }
    let bytes = if der {
        record.cert_der
    } else {
        let mut text = String::new();
        for c in &certs {
            text.push_str(&pem("CERTIFICATE", c)?);
        }
        text.into_bytes()
    };
    io.write_result(out.map(PathBuf::as_path), &bytes, der)?;
    if let Some(path) = out {
        writeln!(
            io.out,
            "wrote {} certificate{} of CA {name:?} to {}",
            if der { 1 } else { certs.len() },
            if der || certs.len() == 1 { "" } else { "s" },
            path.display()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_described_without_secrets() {
        let file = serde_json::json!({"backend":"file","path":"/k/root.key","passphrase":{"env":"ROOT_PASS"},"scheme":"ecdsa-sha384"});
        assert_eq!(
            describe_key(&file),
            "file /k/root.key, passphrase from environment variable ROOT_PASS"
        );
        let plain = serde_json::json!({"backend":"file","path":"/k/x.key","unencrypted":true,"scheme":"ecdsa-sha256"});
        assert_eq!(describe_key(&plain), "file /k/x.key (UNENCRYPTED)");
        let hsm = serde_json::json!({"backend":"pkcs11","module":"/m.so","token_label":"ca","key_label":"root","pin":{"file":"/run/pin"},"scheme":"ecdsa-sha384"});
        assert_eq!(
            describe_key(&hsm),
            "PKCS#11 module /m.so, token \"ca\", key label \"root\", PIN from file /run/pin"
        );
    }

    #[test]
    fn a_passphrase_source_is_required() {
        let none = PassphraseArgs::default();
        let err = passphrase_ref(&none, "the CA key").unwrap_err().to_string();
        assert!(err.contains("--passphrase-file"), "{err}");
        let env = PassphraseArgs {
            passphrase_env: Some("P".into()),
            ..PassphraseArgs::default()
        };
        assert_eq!(
            passphrase_ref(&env, "k").unwrap(),
            Some(SecretRef::Env("P".into()))
        );
        let plain = PassphraseArgs {
            unencrypted_key: true,
            ..PassphraseArgs::default()
        };
        assert_eq!(passphrase_ref(&plain, "k").unwrap(), None);
    }
}
