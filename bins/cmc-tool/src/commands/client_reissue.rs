//! `client reissue`: a new credential for a registered client (its key
//! rotated, or its certificate renewed before it ends), through
//! [`cmc_ca::Engine::replace_client_credential`], as the console's "New
//! credential" does.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use cmc_ca::{ClientCsr, ReplaceCredentialRequest};
use cmc_keys::KeySpec;

use crate::Io;
use crate::commands::args::PassphraseArgs;
use crate::commands::ca::passphrase_ref;
use crate::commands::client_credential::prepare_key;
use crate::context::{Context, requester};

/// `client reissue`.
#[derive(Debug, Args)]
pub struct ClientReissueArgs {
    /// The client's id.
    pub id: String,
    /// Issue for the key of this PKCS #10 request (PEM or DER) that the
    /// client made, instead of generating a key here. Its signature must
    /// verify, its subject be the client's and its names within the
    /// client's.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key_type", "passphrase_env", "passphrase_file", "unencrypted_key"])]
    pub csr: Option<PathBuf>,
    /// The CA that signs (default: the one that issued the current
    /// certificate).
    #[arg(long = "ca", value_name = "NAME")]
    pub ca: Option<String>,
    /// Days of validity (default 365; cut at the CA's notAfter).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Revoke the current certificate (reason superseded) once the new one
    /// is registered. Without it, the current certificate stays valid as a
    /// certificate but no longer identifies the client.
    #[arg(long)]
    pub revoke_previous: bool,
    /// Where to write ID.key (mode 0600; not with --csr), ID.pem and
    /// ID-chain.pem (files that exist are not overwritten).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// The new key's type (default p256).
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<KeySpec>,
    /// Where the new key file's passphrase is.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// Validity of a reissued credential when none is asked for.
const DEFAULT_DAYS: u32 = 365;

pub(crate) fn run(ctx: &Context, args: &ClientReissueArgs, io: &mut Io<'_>) -> Result<()> {
    super::client::check_file_id(&args.id)?;
    let engine = ctx.engine()?;
    let client = engine
        .records()
        .client(&args.id)?
        .with_context(|| format!("no client {:?}", args.id))?;
    // Checked before any file is written.
    let csr = match &args.csr {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let csr = ClientCsr::parse(&bytes).with_context(|| path.display().to_string())?;
            csr.check_for_client(&client)
                .with_context(|| format!("--csr for client {:?}", args.id))?;
            Some(csr)
        }
        None => None,
    };
    let passphrase = match csr {
        Some(_) => None,
        None => passphrase_ref(&args.passphrase, "the client key")?,
    };
    let (files, public_key) = prepare_key(
        &args.out_dir,
        &args.id,
        csr.as_ref(),
        args.key_type.unwrap_or(KeySpec::P256),
        passphrase.as_ref(),
    )?;
    let issued = engine.replace_client_credential(&ReplaceCredentialRequest {
        client_id: args.id.clone(),
        ca: args.ca.clone(),
        public_key,
        validity_days: args.days.unwrap_or(DEFAULT_DAYS),
        revoke_previous: args.revoke_previous,
        requester: requester(),
    });
    let credential = files.finish(&engine, issued)?;
    writeln!(
        io.out,
        "client {:?} has a new credential (serial {} of CA {:?}){}",
        args.id,
        credential.serial,
        credential.ca,
        if args.revoke_previous {
            "; the previous certificate is revoked"
        } else {
            ""
        }
    )?;
    files.print(io)
}
