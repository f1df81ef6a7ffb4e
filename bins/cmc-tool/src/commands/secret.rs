//! `secret add`, `secret list`: one-time enrollment secrets (RFC 5272
//! §6.2). The secret is shown once, when it is made; the store keeps only
//! the keys derived from it.

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use cmc_ca::types::{SecretPurpose, SecretRecord, UnixTime};
use cmc_ca::{Clock, EnrollSecret, RevocationSecret, SystemClock, generate_secret};
use cmc_keys::SecretSource;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::Io;
use crate::commands::args::{GivenSecretArgs, NameArgs, ProofHashArg};
use crate::commands::client::registered_names;
use crate::context::{Context, requester};
use crate::inspect::parse_serial;
use crate::output::{Table, json};
use crate::time::{format_rfc3339, parse_rfc3339};

/// `secret ...`
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Register a one-time enrollment secret for a person or device. A new
    /// random secret is printed once (or the secret is taken from
    /// --secret-file/--secret-env); the store keeps only the keys derived
    /// from it (RFC 5272 §6.2.1).
    Add(Box<SecretAddArgs>),
    /// Register the secret with which the holder of one certificate may
    /// revoke it by an unsigned revokeRequest (RFC 5272 §6.11). A new
    /// random secret is printed once (or taken from --secret-file or
    /// --secret-env); only its SHA-256 is stored.
    AddRevocation {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// The certificate's serial number, in hex.
        #[arg(long, value_name = "HEX")]
        serial: String,
        /// When it stops working: a duration from now (`30m`, `12h`,
        /// `365d`) or an RFC 3339 time.
        #[arg(long, value_name = "WHEN", default_value = "365d")]
        expires: String,
        /// Where to take the secret from instead of generating one.
        #[command(flatten)]
        secret: GivenSecretArgs,
    },
    /// Unlock a secret that failed identity proofs locked (and clear its
    /// count of failures).
    Unlock {
        /// The CA of the secret.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// Its identification.
        #[arg(long, value_name = "ID")]
        identification: String,
    },
    /// Revoke a secret that was not used yet (enrollment or revocation):
    /// it stops working now, for good (no unlock brings it back); the audit
    /// log records who revoked it.
    Revoke {
        /// The CA of the secret.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// Its identification.
        #[arg(long, value_name = "ID")]
        identification: String,
    },
    /// List the enrollment and revocation secrets (never the secrets).
    List {
        /// Only this CA's.
        #[arg(long)]
        ca: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `secret add`.
#[derive(Debug, Args)]
pub struct SecretAddArgs {
    /// The CA the secret enrolls with.
    #[arg(long)]
    pub ca: String,
    /// The identification the client sends with it (unique per CA).
    #[arg(long, value_name = "ID")]
    pub identification: String,
    /// The profile its certificate gets (default: the CA's default).
    #[arg(long)]
    pub profile: Option<String>,
    /// When it stops working: a duration from now (`30m`, `12h`, `7d`) or
    /// an RFC 3339 time.
    #[arg(long, value_name = "WHEN", default_value = "7d")]
    pub expires: String,
    /// The hash family of its proofs.
    #[arg(long, value_name = "HASH", default_value = "sha256")]
    pub hash: ProofHashArg,
    /// Where to take the secret from instead of generating one.
    #[command(flatten)]
    pub secret: GivenSecretArgs,
    /// The only subject its holder may be issued, as in RFC 4514 (default:
    /// what the profile's name rules allow).
    #[arg(long, value_name = "DN")]
    pub subject: Option<String>,
    /// The names its holder may be issued.
    #[command(flatten)]
    pub names: NameArgs,
}

pub(crate) fn run(ctx: &Context, cmd: &SecretCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        SecretCommand::Add(args) => add(ctx, args, io),
        SecretCommand::AddRevocation {
            ca,
            serial,
            expires,
            secret,
        } => add_revocation(ctx, ca, serial, expires, secret, io),
        SecretCommand::Unlock { ca, identification } => {
            ctx.engine()?
                .unlock_secret(ca, identification, &requester())
                .with_context(|| format!("unlocking the secret {identification:?} of CA {ca}"))?;
            writeln!(io.out, "unlocked the secret {identification:?} of CA {ca}")
                .context("writing output")
        }
        SecretCommand::Revoke { ca, identification } => {
            ctx.engine()?
                .revoke_secret(ca, identification, &requester())
                .with_context(|| format!("revoking the secret {identification:?} of CA {ca}"))?;
            writeln!(io.out, "revoked the secret {identification:?} of CA {ca}")
                .context("writing output")
        }
        SecretCommand::List { ca, json } => list(ctx, ca.as_deref(), *json, io),
    }
}

/// The secret named by `--secret-env`/`--secret-file`, if one is.
pub(crate) fn given_secret(args: &GivenSecretArgs) -> Result<Option<Zeroizing<String>>> {
    let source = match (&args.secret_env, &args.secret_file) {
        (Some(var), None) => SecretSource::Env(var.clone()),
        (None, Some(path)) => SecretSource::File(path.clone()),
        (None, None) => return Ok(None),
        _ => bail!("give only one of --secret-env and --secret-file"),
    };
    let secret = source
        .read()
        .with_context(|| format!("reading the secret from {source:?}"))?;
    let text = std::str::from_utf8(secret.expose())
        .map_err(|_| anyhow!("the secret is not UTF-8 text"))?;
    Ok(Some(Zeroizing::new(text.to_owned())))
}

/// `--expires`: `30m`, `12h`, `7d` from `now`, or an RFC 3339 time.
fn parse_expiry(text: &str, now: UnixTime) -> Result<UnixTime> {
    let unit = match text.as_bytes().last() {
        Some(b'm') => Some(60),
        Some(b'h') => Some(3_600),
        Some(b'd') => Some(86_400),
        _ => None,
    };
    if let Some(unit) = unit {
        let n: i64 = text[..text.len() - 1]
            .parse()
            .ok()
            .filter(|n| (1..=3650 * 86_400 / unit).contains(n))
            .ok_or_else(|| {
                anyhow!(
                    "--expires {text:?}: give a positive number of m, h or d (at most 10 years)"
                )
            })?;
        return Ok(now.plus_secs(n * unit));
    }
    parse_rfc3339(text).map_err(|e| anyhow!("--expires: {e}"))
}

fn add(ctx: &Context, args: &SecretAddArgs, io: &mut Io<'_>) -> Result<()> {
    let now = SystemClock.now();
    let expires_at = parse_expiry(&args.expires, now)?;
    let (secret, generated) = match given_secret(&args.secret)? {
        Some(s) => (s, false),
        None => (generate_secret()?, true),
    };
    let engine = ctx.engine()?;
    engine
        .add_enroll_secret(&EnrollSecret {
            ca: args.ca.clone(),
            identification: args.identification.clone(),
            secret: secret.clone(),
            hash: args.hash.into(),
            profile: args.profile.clone(),
            expires_at,
            requester: requester(),
            names: args.names.name_space(args.subject.as_deref())?,
        })
        .with_context(|| format!("registering the secret {:?}", args.identification))?;
    writeln!(
        io.err,
        "registered enrollment secret {:?} for CA {} ({}, expires {})",
        args.identification,
        args.ca,
        cmc_codec::identity::ProofHash::from(args.hash),
        format_rfc3339(expires_at)
    )
    .context("writing output")?;
    if generated {
        show_once(&secret, io)?;
    }
    Ok(())
}

/// Prints a generated secret once (standard output), with a note on
/// standard error.
fn show_once(secret: &str, io: &mut Io<'_>) -> Result<()> {
    writeln!(
        io.err,
        "the secret follows; it is shown only now, and is good for one use:"
    )
    .context("writing output")?;
    writeln!(io.out, "{secret}").context("writing output")
}

fn add_revocation(
    ctx: &Context,
    ca: &str,
    serial: &str,
    expires: &str,
    given: &GivenSecretArgs,
    io: &mut Io<'_>,
) -> Result<()> {
    let now = SystemClock.now();
    let expires_at = parse_expiry(expires, now)?;
    let serial = parse_serial(serial)?;
    let (secret, generated) = match given_secret(given)? {
        Some(s) => (s, false),
        None => (generate_secret()?, true),
    };
    let engine = ctx.engine()?;
    engine
        .add_revocation_secret(&RevocationSecret {
            ca: ca.to_owned(),
            serial: serial.clone(),
            secret: secret.clone(),
            expires_at,
            requester: requester(),
        })
        .with_context(|| format!("registering a revocation secret for serial {serial}"))?;
    writeln!(
        io.err,
        "registered the revocation secret of serial {serial} of CA {ca} (expires {})",
        format_rfc3339(expires_at)
    )
    .context("writing output")?;
    if generated {
        show_once(&secret, io)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct SecretInfo {
    ca: String,
    identification: String,
    purpose: String,
    hash: String,
    profile: Option<String>,
    state: &'static str,
    created_at: String,
    expires_at: String,
    used_at: Option<String>,
    failed_attempts: u32,
    /// The names its holder may be issued (`None`: the profile's rules).
    names: Option<cmc_policy::NameSpace>,
}

impl SecretInfo {
    fn of(r: &SecretRecord, now: UnixTime) -> Result<Self> {
        let state = if r.used_at.is_some() {
            "used"
        } else if r.locked {
            "locked"
        } else if now >= r.expires_at {
            "expired"
        } else {
            "usable"
        };
        Ok(Self {
            ca: r.ca.clone(),
            identification: r.identification.clone(),
            purpose: match &r.purpose {
                SecretPurpose::Enroll => "enroll".into(),
                SecretPurpose::Revoke { issuer, serial } => format!("revoke {issuer}/{serial}"),
            },
            hash: r.hash_alg.clone(),
            profile: r.profile.clone(),
            state,
            created_at: format_rfc3339(r.created_at),
            expires_at: format_rfc3339(r.expires_at),
            used_at: r.used_at.map(format_rfc3339),
            failed_attempts: r.failed_attempts,
            names: registered_names(r.names.as_deref())
                .with_context(|| format!("secret {:?}", r.identification))?,
        })
    }
}

fn list(ctx: &Context, ca: Option<&str>, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let now = SystemClock.now();
    let infos: Vec<SecretInfo> = ctx
        .records()?
        .secrets(ca)?
        .iter()
        .map(|r| SecretInfo::of(r, now))
        .collect::<Result<_>>()?;
    if as_json {
        return json(io.out, &infos);
    }
    let mut t = Table::new(&[
        "CA",
        "IDENTIFICATION",
        "PURPOSE",
        "STATE",
        "EXPIRES",
        "FAILED",
        "PROFILE",
        "NAMES",
    ]);
    for i in &infos {
        t.row(vec![
            i.ca.clone(),
            i.identification.clone(),
            i.purpose.clone(),
            i.state.to_owned(),
            i.expires_at.clone(),
            i.failed_attempts.to_string(),
            i.profile.clone().unwrap_or_else(|| "(CA default)".into()),
            i.names
                .as_ref()
                .map_or_else(|| "(profile rules)".into(), ToString::to_string),
        ]);
    }
    t.print(
        io.out,
        "no secrets (register one with `cmc-tool secret add`)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries() {
        let now = UnixTime::from_secs(1_000_000);
        assert_eq!(parse_expiry("30m", now).unwrap(), now.plus_secs(1800));
        assert_eq!(parse_expiry("12h", now).unwrap(), now.plus_secs(43_200));
        assert_eq!(parse_expiry("7d", now).unwrap(), now.plus_secs(604_800));
        assert_eq!(
            parse_expiry("2027-01-31T12:00:00Z", now).unwrap(),
            UnixTime::from_secs(1_801_396_800)
        );
        for bad in ["0d", "-1h", "d", "7w", "99999d", "tomorrow"] {
            assert!(parse_expiry(bad, now).is_err(), "{bad}");
        }
    }
}
