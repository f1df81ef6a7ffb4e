//! `revoke`: the CMC client's revokeRequest (RFC 5272 §6.11), signed by an
//! RA, agent or the holder, or unsigned with the certificate's revocation
//! secret. (`cert revoke` works on the store instead.)

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_asn1::RevokeRequest;
use cmc_ca::types::UnixTime;
use der::Encode;
use der::asn1::GeneralizedTime;
use der::asn1::OctetString;
use x509_cert::ext::pkix::CrlReason;

use crate::Io;
use crate::commands::args::{GivenSecretArgs, PassphraseArgs, ReasonArg};
use crate::commands::exchange::{Endpoint, exchange};
use crate::commands::request::{
    Built, REVOKE_ID, nonce_builder, read_cert_file, sign_with_certificate, signer_key,
};
use crate::commands::secret::given_secret;
use crate::inspect::summarize;
use crate::time::parse_rfc3339;
use crate::{http, tls};

/// `revoke` (the CMC client one; `cert revoke` works on the store).
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The CMC server's URL, e.g. `http://ca.example:8080/cmc/root`.
    #[arg(long)]
    pub url: String,
    /// The certificate(s) the response signer must be or chain to (PEM or DER).
    #[arg(long, value_name = "PEM")]
    pub ca_cert: PathBuf,
    /// The certificate to revoke (PEM or DER): its issuer and serial go
    /// into the revokeRequest.
    #[arg(long, value_name = "PEM")]
    pub cert: PathBuf,
    /// The CRLReason.
    #[arg(long, value_enum)]
    pub reason: ReasonArg,
    /// When the key was (or may have been) compromised, RFC 3339.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub invalidity_date: Option<UnixTime>,
    /// A comment for the CA's records.
    #[arg(long)]
    pub comment: Option<String>,
    /// The certificate that signs the request (an RA's, an agent's, or the
    /// holder's); leave out to send an unsigned request with the
    /// revocation secret.
    #[arg(long, value_name = "PEM", requires = "signer_key")]
    pub signer_cert: Option<PathBuf>,
    /// The signer's key file.
    #[arg(long, value_name = "KEY", requires = "signer_cert")]
    pub signer_key: Option<PathBuf>,
    /// Where the signer key's passphrase is (or --unencrypted-key).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The certificate's revocation secret (`cmc-tool secret
    /// add-revocation`), for an unsigned request.
    #[command(flatten)]
    pub secret: GivenSecretArgs,
    /// Seconds to wait for connecting, sending and each read.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

/// `revoke`: one revokeRequest (body part 4) with a fresh senderNonce,
/// signed by the signer, or unsigned with the revocation secret; the
/// response's statuses decide the exit code. A secret sent over http:// is
/// readable on the wire; a warning says so (use https://).
pub(crate) fn run(args: &RevokeArgs, io: &mut Io<'_>) -> Result<()> {
    let url = http::parse_url(&args.url)?;
    let trusted = read_cert_file(&args.ca_cert, "--ca-cert")?;
    let target = read_cert_file(&args.cert, "--cert")?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("--cert: no certificate"))?;
    let secret = given_secret(&args.secret)?;
    let signer = match (&args.signer_cert, &args.signer_key, &secret) {
        (Some(cert), Some(key), None) => {
            let chain = read_cert_file(cert, "--signer-cert")?;
            Some((Arc::new(signer_key(key, &args.passphrase)?), chain))
        }
        (None, None, Some(_)) => None,
        (None, None, None) => bail!(
            "sign with --signer-cert and --signer-key, or give the revocation secret with \
             --secret-file/--secret-env"
        ),
        _ => bail!("give either a signer or a revocation secret, not both"),
    };
    if secret.is_some() && !url.tls {
        writeln!(
            io.err,
            "warning: the revocation secret travels unencrypted over http://; prefer https://"
        )
        .context("writing output")?;
    }
    let invalidity_date = args
        .invalidity_date
        .map(|t| GeneralizedTime::from_system_time(t.to_system_time()))
        .transpose()
        .map_err(|e| anyhow!("--invalidity-date: {e}"))?;
    let request = RevokeRequest {
        issuer_name: target.tbs_certificate().issuer().clone(),
        serial_number: target.tbs_certificate().serial_number().clone(),
        // crl_reason leaves unspecified out (it is the CRL's default); a
        // revokeRequest names it.
        reason: cmc_ca::crl_reason(args.reason.into()).unwrap_or(CrlReason::Unspecified),
        invalidity_date,
        passphrase: secret
            .as_ref()
            .map(|s| OctetString::new(s.as_bytes()))
            .transpose()
            .map_err(|e| anyhow!("the secret: {e}"))?,
        comment: args.comment.clone(),
    };
    let (mut builder, nonce) = nonce_builder()?;
    builder.control(REVOKE_ID, &request)?;
    let (der, signer_key, signer_chain) = match signer {
        Some((key, chain)) => (
            sign_with_certificate(&builder, &key, &chain)?,
            Some(key),
            chain,
        ),
        None => (builder.unsigned()?, None, Vec::new()),
    };
    let built = Built {
        der,
        nonce,
        signer_key,
        signer_chain,
        new_key: None,
        transaction_id: None,
        encrypt_to: None,
        password: None,
    };
    let tls = if url.tls {
        Some(tls::client_config(&trusted, None)?)
    } else {
        None
    };
    let endpoint = Endpoint::new(&args.url, url, args.timeout, tls.as_ref())?;
    let answer = exchange(&endpoint, &built, &trusted, io)?;
    if !answer.failures.is_empty() {
        bail!("the CA answered {}", answer.failures.join(", "));
    }
    writeln!(
        io.out,
        "revoked: serial {} ({:?})",
        summarize(&target.to_der().map_err(|e| anyhow!("{e}"))?)?.serial,
        args.reason
    )
    .context("writing output")?;
    Ok(())
}
