//! `crl generate`, `crl show`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Subcommand;
use cmc_ca::types::CrlRecord;
use serde::Serialize;

use crate::Io;
use crate::context::Context;
use crate::inspect::{CrlSummary, pem, summarize_crl};
use crate::output::{Fields, Table, json};

/// `crl ...`
#[derive(Debug, Subcommand)]
pub enum CrlCommand {
    /// Issue a new CRL now (always), DER unless --pem.
    Generate {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
        /// PEM instead of DER.
        #[arg(long)]
        pem: bool,
    },
    /// Record the revocations of an imported CA's CRL (PEM or DER).
    Import(crate::commands::import::CrlImportArgs),
    /// Show the current CRL (a new one is issued if it is due).
    Show {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(ctx: &Context, cmd: &CrlCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        CrlCommand::Generate { ca, out, pem } => generate(ctx, ca, out.as_deref(), *pem, io),
        CrlCommand::Show { ca, json } => show(ctx, ca, *json, io),
        CrlCommand::Import(args) => crate::commands::import::crl(ctx, args, io),
    }
}

fn generate(
    ctx: &Context,
    ca: &str,
    out: Option<&Path>,
    as_pem: bool,
    io: &mut Io<'_>,
) -> Result<()> {
    let engine = ctx.engine()?;
    let crl = engine
        .generate_crl(ca)
        .with_context(|| format!("issuing a CRL for CA {ca:?}"))?;
    let summary = summarize_crl(&crl.der)?;
    let bytes = if as_pem {
        pem("X509 CRL", &crl.der)?.into_bytes()
    } else {
        crl.der.clone()
    };
    io.write_result(out, &bytes, !as_pem)?;
    let line = format!(
        "CRL number {} of CA {ca:?}: {} entr{}, next update {}",
        crl.crl_number,
        summary.entries.len(),
        if summary.entries.len() == 1 {
            "y"
        } else {
            "ies"
        },
        summary.next_update.as_deref().unwrap_or("(none)")
    );
    match out {
        Some(path) => writeln!(io.out, "{line}; written to {}", path.display())?,
        // The CRL itself went to standard output.
        None => writeln!(io.err, "{line}")?,
    }
    Ok(())
}

/// What `crl show --json` prints.
#[derive(Debug, Serialize)]
struct CrlInfo {
    ca: String,
    crl_number: u64,
    #[serde(flatten)]
    crl: CrlSummary,
}

fn info(ca: &str, crl: &CrlRecord) -> Result<CrlInfo> {
    Ok(CrlInfo {
        ca: ca.to_owned(),
        crl_number: crl.crl_number,
        crl: summarize_crl(&crl.der)?,
    })
}

fn show(ctx: &Context, ca: &str, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let engine = ctx.engine()?;
    let crl = engine
        .current_crl(ca)
        .with_context(|| format!("the current CRL of CA {ca:?}"))?;
    let i = info(ca, &crl)?;
    if as_json {
        return json(io.out, &i);
    }
    let mut f = Fields::new();
    f.add("CA", &i.ca);
    f.add("CRL number", i.crl_number.to_string());
    f.add("issuer", &i.crl.issuer);
    f.add("this update", &i.crl.this_update);
    f.add(
        "next update",
        i.crl.next_update.as_deref().unwrap_or("(none)"),
    );
    f.add("signature algorithm", &i.crl.signature_algorithm);
    f.add("entries", i.crl.entries.len().to_string());
    f.print(io.out)?;
    if i.crl.entries.is_empty() {
        return Ok(());
    }
    writeln!(io.out)?;
    let mut t = Table::new(&["SERIAL", "REVOKED", "REASON", "INVALIDITY DATE"]);
    for e in &i.crl.entries {
        t.row(vec![
            e.serial.clone(),
            e.revoked_at.clone(),
            e.reason.clone().unwrap_or_else(|| "-".into()),
            e.invalidity_date.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    t.print(io.out, "")
}
