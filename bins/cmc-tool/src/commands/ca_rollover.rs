//! `ca rollover` and `ca activate`: the next CA key generation, passive
//! first (published, not issuing), then active; and the generations as
//! `ca show` and `ca list` print them.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use cmc_ca::types::{CaGeneration, GenerationState, UnixTime};
use cmc_ca::{CaKey, KeyConfig, Rollover, SystemClock};
use cmc_keys::{KeySpec, SignatureScheme};
use serde::Serialize;

use crate::Io;
use crate::commands::args::PassphraseArgs;
use crate::commands::ca::{Pkcs11Args, file_key_config, pkcs11_key_config};
use crate::context::{Context, requester};
use crate::inspect::summarize;
use crate::output::Fields;
use crate::time::{format_rfc3339, parse_rfc3339};

/// `ca rollover`.
#[derive(Debug, Args)]
pub struct RolloverArgs {
    /// The CA's name.
    pub name: String,
    /// Activate by itself at this time (RFC 3339, e.g.
    /// 2027-01-01T00:00:00Z), on the server's next CA refresh after it;
    /// otherwise only by `ca activate`.
    #[arg(long, value_name = "DATE", value_parser = parse_rfc3339)]
    pub activate_at: Option<UnixTime>,
    /// Key type of the new key (default: the current key's type).
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<KeySpec>,
    /// Signature scheme (default: the one that fits the key type).
    #[arg(long)]
    pub scheme: Option<SignatureScheme>,
    /// Days of validity from now (an intermediate's is cut at its parent's
    /// notAfter).
    #[arg(long, default_value_t = 3650)]
    pub days: u32,
    /// The new key file (default DATA_DIR/keys/NAME.genN.key, mode 0600).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Where the new key file's passphrase is.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// A new key pair on a PKCS#11 token (give a new --key-label).
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
}

/// One generation as `ca show` and `ca list --json` print it.
#[derive(Debug, Serialize)]
pub(crate) struct GenerationInfo {
    pub(crate) generation: u32,
    pub(crate) state: &'static str,
    serial: String,
    key_identifier: String,
    not_before: String,
    not_after: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    activate_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_at: Option<String>,
}

impl GenerationInfo {
    fn of(
        generation: u32,
        state: GenerationState,
        cert_der: &[u8],
        activate_at: Option<UnixTime>,
        retired_at: Option<UnixTime>,
    ) -> Result<Self> {
        let cert = summarize(cert_der)?;
        let decoded = cmc_ca::x509::decode_certificate("CA certificate", cert_der)?;
        let key_identifier = cmc_ca::x509::certificate_key_identifier(&decoded)?;
        Ok(Self {
            generation,
            state: state.as_str(),
            serial: cert.serial,
            key_identifier: base16ct::lower::encode_string(&key_identifier),
            not_before: cert.not_before,
            not_after: cert.not_after,
            activate_at: activate_at.map(format_rfc3339),
            retired_at: retired_at.map(format_rfc3339),
        })
    }

    pub(crate) fn print(&self, f: &mut Fields) {
        let mut text = format!(
            "{} (serial {}, key id {}, valid {} to {})",
            self.state, self.serial, self.key_identifier, self.not_before, self.not_after
        );
        if let Some(at) = &self.activate_at {
            text.push_str(&format!(", activates at {at}"));
        }
        if let Some(at) = &self.retired_at {
            text.push_str(&format!(", retired {at}"));
        }
        f.add(&format!("generation {}", self.generation), text);
    }
}

/// Every generation of CA `name`, oldest first, the active one among them.
pub(crate) fn generations(
    ctx: &Context,
    name: &str,
    active_der: &[u8],
) -> Result<Vec<GenerationInfo>> {
    let (active, others) = ctx.records()?.generations(name)?;
    let mut out = Vec::with_capacity(others.len() + 1);
    let mut active_done = false;
    for g in others {
        if g.generation > active && !active_done {
            out.push(GenerationInfo::of(
                active,
                GenerationState::Active,
                active_der,
                None,
                None,
            )?);
            active_done = true;
        }
        out.push(of_stored(&g)?);
    }
    if !active_done {
        out.push(GenerationInfo::of(
            active,
            GenerationState::Active,
            active_der,
            None,
            None,
        )?);
    }
    Ok(out)
}

fn of_stored(g: &CaGeneration) -> Result<GenerationInfo> {
    GenerationInfo::of(
        g.generation,
        g.state,
        &g.cert_der,
        g.activate_at,
        g.retired_at,
    )
}

pub(crate) fn rollover(ctx: &Context, args: &RolloverArgs, io: &mut Io<'_>) -> Result<()> {
    let records = ctx.records()?;
    let Some(record) = records.ca(&args.name)? else {
        bail!("there is no CA {:?} (see `cmc-tool ca list`)", args.name);
    };
    let (active, _) = records.generations(&args.name)?;
    let current =
        KeyConfig::from_key_ref(&record.key_ref).context("the current key reference of the CA")?;
    let spec = match args.key_type {
        Some(spec) => spec,
        None => {
            let cert = cmc_ca::x509::decode_certificate("CA certificate", &record.cert_der)?;
            let kind = cmc_policy::KeyKind::of(cert.tbs_certificate().subject_public_key_info());
            match kind {
                cmc_policy::KeyKind::Ec(curve) => curve.name().parse::<KeySpec>()?,
                cmc_policy::KeyKind::Rsa(bits) => format!("rsa{bits}").parse::<KeySpec>()?,
                other => bail!("the current key is {other}: give --key-type"),
            }
        }
    };
    let scheme = args.scheme.unwrap_or_else(|| {
        if args.key_type.is_none() {
            current.scheme()
        } else {
            spec.default_scheme()
        }
    });
    let config = match pkcs11_key_config(&args.pkcs11, scheme)? {
        Some(config) => config,
        None => file_key_config(
            ctx,
            &args.passphrase,
            args.key_file.as_deref(),
            &format!("{}.gen{}", args.name, active + 1),
            scheme,
        )?,
    };
    let generation = records
        .rollover(
            &SystemClock,
            &Rollover {
                ca: args.name.clone(),
                key: CaKey::Generate { spec, config },
                validity_days: args.days,
                activate_at: args.activate_at,
                requester: requester(),
            },
        )
        .with_context(|| format!("rolling CA {:?} over", args.name))?;
    writeln!(
        io.out,
        "CA {:?}: generation {} created, passive (published, not issuing){}",
        args.name,
        generation.generation,
        match args.activate_at {
            Some(at) => format!("; activates at {}", format_rfc3339(at)),
            None => format!("; activate it with `cmc-tool ca activate {}`", args.name),
        }
    )?;
    let mut f = Fields::new();
    of_stored(&generation)?.print(&mut f);
    f.print(io.out)
}

pub(crate) fn activate(ctx: &Context, name: &str, io: &mut Io<'_>) -> Result<()> {
    let n = ctx
        .records()?
        .activate(&SystemClock, name, &requester())
        .with_context(|| format!("activating the next generation of CA {name:?}"))?;
    writeln!(
        io.out,
        "CA {name:?}: generation {n} is active; the previous one is retired (it keeps \
         answering CRL and OCSP for what it issued). A running server picks this up on its \
         next CA refresh (within 15 seconds)."
    )?;
    Ok(())
}
