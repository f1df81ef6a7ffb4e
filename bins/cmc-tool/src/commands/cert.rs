//! `cert list`, `cert show`, `cert revoke`, `cert unrevoke`.

use anyhow::{Context as _, Result, bail};
use clap::{Subcommand, ValueEnum};
use cmc_ca::types::{
    CertRecord, CertSearch, CertState, CertStatus, Keyset, MAX_SEARCH_PAGE, Revocation,
    SerialPrefix, UnixTime,
};
use serde::Serialize;

use crate::Io;
use crate::commands::args::ReasonArg;
use crate::context::{Context, requester};
use crate::inspect::{CertSummary, parse_serial, pem, summarize};
use crate::output::{Fields, Table, json};
use crate::time::format_rfc3339;
use crate::time::parse_rfc3339;

/// `cert ...`
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Load certificates an imported CA issued (PEM or DER files, or a
    /// directory), each checked against the CA's key.
    Import(crate::commands::import::CertImportArgs),
    /// List certificates (serials) of all CAs or one, newest first (the
    /// console's search: every filter given must match).
    List {
        /// Only this CA.
        #[arg(long, value_name = "NAME")]
        ca: Option<String>,
        /// Only this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only subjects containing this text (any case).
        #[arg(long, value_name = "TEXT")]
        subject: Option<String>,
        /// Only certificates with this subject alternative name (exact;
        /// `dNSName:x` or plain `x`).
        #[arg(long, value_name = "NAME")]
        san: Option<String>,
        /// Only serials starting with these hex digits (a whole serial
        /// finds itself).
        #[arg(long, value_name = "HEX")]
        serial: Option<String>,
        /// Only certificates this requester asked for.
        #[arg(long, value_name = "ID")]
        requester: Option<String>,
        /// At most this many (the newest).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one certificate.
    Show {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// The serial number, in hex.
        serial: String,
        /// Print the certificate as PEM.
        #[arg(long, conflicts_with = "json")]
        pem: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a certificate.
    Revoke {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// The serial number, in hex.
        serial: String,
        /// The CRLReason.
        #[arg(long, value_enum)]
        reason: ReasonArg,
        /// When the key was (or may have been) compromised, RFC 3339.
        #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
        invalidity_date: Option<UnixTime>,
    },
    /// Lift a certificateHold.
    Unrevoke {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// The serial number, in hex.
        serial: String,
    },
}

/// The status of a serial, as a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Reserved, never signed.
    Reserved,
    /// Issued and not revoked.
    Issued,
    /// Issuance failed.
    Failed,
    /// Revoked (including on hold).
    Revoked,
}

impl From<StatusArg> for CertStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Reserved => Self::Reserved,
            StatusArg::Issued => Self::Issued,
            StatusArg::Failed => Self::Failed,
            StatusArg::Revoked => Self::Revoked,
        }
    }
}

pub(crate) fn run(ctx: &Context, cmd: &CertCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        CertCommand::Import(args) => crate::commands::import::certs(ctx, args, io),
        CertCommand::List {
            ca,
            status,
            subject,
            san,
            serial,
            requester,
            limit,
            json,
        } => {
            let search = CertSearch {
                issuer: ca.clone(),
                status: status.map(Into::into),
                subject: subject.clone(),
                san: san.clone(),
                serial: serial
                    .as_deref()
                    .map(SerialPrefix::parse)
                    .transpose()
                    .context("--serial")?,
                requester: requester.clone(),
                ..CertSearch::default()
            };
            list(ctx, &search, *limit, *json, io)
        }
        CertCommand::Show {
            ca,
            serial,
            pem,
            json,
        } => show(ctx, ca, serial, *pem, *json, io),
        CertCommand::Revoke {
            ca,
            serial,
            reason,
            invalidity_date,
        } => {
            let serial = parse_serial(serial)?;
            let engine = ctx.engine()?;
            let outcome = engine
                .revoke(
                    ca,
                    &serial,
                    (*reason).into(),
                    *invalidity_date,
                    &requester(),
                )
                .with_context(|| format!("revoking serial {serial} of CA {ca:?}"))?;
            let r = outcome.revocation();
            if outcome.was_already_revoked() {
                writeln!(
                    io.out,
                    "serial {serial} of CA {ca:?} was already revoked: {}; the first record stands",
                    describe_revocation(r)
                )?;
            } else {
                writeln!(
                    io.out,
                    "revoked serial {serial} of CA {ca:?}: {}",
                    describe_revocation(r)
                )?;
            }
            Ok(())
        }
        CertCommand::Unrevoke { ca, serial } => {
            let serial = parse_serial(serial)?;
            let engine = ctx.engine()?;
            engine
                .unrevoke(ca, &serial, &requester())
                .with_context(|| format!("lifting the hold on serial {serial} of CA {ca:?}"))?;
            writeln!(io.out, "serial {serial} of CA {ca:?} is no longer on hold")?;
            Ok(())
        }
    }
}

/// The RFC 5280 name of a CRLReason code.
pub(crate) fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "unknown",
    }
}

fn describe_revocation(r: &Revocation) -> String {
    let mut s = format!(
        "{} at {}",
        reason_name(r.reason.code()),
        format_rfc3339(r.revoked_at)
    );
    if let Some(d) = r.invalidity_date {
        s.push_str(&format!(", invalidity date {}", format_rfc3339(d)));
    }
    s
}

/// A revocation in JSON.
#[derive(Debug, Serialize)]
struct RevocationInfo {
    reason: &'static str,
    revoked_at: String,
    invalidity_date: Option<String>,
}

/// What `cert list --json` prints per serial.
#[derive(Debug, Serialize)]
struct CertInfo {
    ca: String,
    serial: String,
    status: String,
    profile: String,
    requester: String,
    reserved_at: String,
    subject: Option<String>,
    not_before: Option<String>,
    not_after: Option<String>,
    revocation: Option<RevocationInfo>,
    failure: Option<String>,
}

impl CertInfo {
    fn of(r: &CertRecord) -> Self {
        let cert = r.certificate();
        Self {
            ca: r.issuer.clone(),
            serial: r.serial.to_hex(),
            status: r.status().to_string(),
            profile: r.profile.clone(),
            requester: r.requester.clone(),
            reserved_at: format_rfc3339(r.reserved_at),
            subject: cert.map(|c| c.subject.clone()),
            not_before: cert.map(|c| format_rfc3339(c.not_before)),
            not_after: cert.map(|c| format_rfc3339(c.not_after)),
            revocation: r.revocation().map(|rev| RevocationInfo {
                reason: reason_name(rev.reason.code()),
                revoked_at: format_rfc3339(rev.revoked_at),
                invalidity_date: rev.invalidity_date.map(format_rfc3339),
            }),
            failure: match &r.state {
                CertState::Failed { reason, .. } => Some(reason.clone()),
                _ => None,
            },
        }
    }
}

fn list(
    ctx: &Context,
    search: &CertSearch,
    limit: Option<usize>,
    as_json: bool,
    io: &mut Io<'_>,
) -> Result<()> {
    let records = ctx.records()?;
    if let Some(ca) = &search.issuer {
        if records.ca(ca)?.is_none() {
            bail!("there is no CA {ca:?} (see `cmc-tool ca list`)");
        }
    }
    // Page by page (keyset), newest first, until the limit.
    let mut infos: Vec<CertInfo> = Vec::new();
    let mut keyset = Keyset::First;
    let wanted = limit.unwrap_or(usize::MAX);
    while infos.len() < wanted {
        let size =
            u32::try_from(wanted - infos.len()).map_or(MAX_SEARCH_PAGE, |n| n.min(MAX_SEARCH_PAGE));
        let page = records.search_certs(search, keyset, size)?;
        infos.extend(page.items.iter().map(CertInfo::of));
        match page.older {
            Some(c) => keyset = Keyset::Older(c),
            None => break,
        }
    }
    if as_json {
        return json(io.out, &infos);
    }
    let mut t = Table::new(&[
        "CA",
        "SERIAL",
        "STATUS",
        "PROFILE",
        "NOT AFTER",
        "REQUESTER",
        "SUBJECT",
    ]);
    for i in &infos {
        let status = match &i.revocation {
            Some(r) => format!("revoked ({})", r.reason),
            None => i.status.clone(),
        };
        t.row(vec![
            i.ca.clone(),
            i.serial.clone(),
            status,
            i.profile.clone(),
            i.not_after.clone().unwrap_or_else(|| "-".into()),
            i.requester.clone(),
            i.subject.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    t.print(io.out, "no certificates")
}

/// What `cert show --json` prints.
#[derive(Debug, Serialize)]
struct CertDetail {
    #[serde(flatten)]
    record: CertInfo,
    certificate: Option<CertSummary>,
}

fn show(
    ctx: &Context,
    ca: &str,
    serial: &str,
    as_pem: bool,
    as_json: bool,
    io: &mut Io<'_>,
) -> Result<()> {
    let serial = parse_serial(serial)?;
    let records = ctx.records()?;
    if records.ca(ca)?.is_none() {
        bail!("there is no CA {ca:?} (see `cmc-tool ca list`)");
    }
    let Some(record) = records.certificate(ca, &serial)? else {
        bail!("CA {ca:?} has no certificate with serial {serial}");
    };
    let der = record.certificate().map(|c| c.cert_der.clone());
    if as_pem {
        let Some(der) = der else {
            bail!(
                "serial {serial} of CA {ca:?} is {}: there is no certificate",
                record.status()
            );
        };
        write!(io.out, "{}", pem("CERTIFICATE", &der)?)?;
        return Ok(());
    }
    let detail = CertDetail {
        record: CertInfo::of(&record),
        certificate: der.as_deref().map(summarize).transpose()?,
    };
    if as_json {
        return json(io.out, &detail);
    }
    let r = &detail.record;
    let mut f = Fields::new();
    f.add("CA", &r.ca);
    f.add("serial", &r.serial);
    f.add("status", &r.status);
    if let Some(rev) = record.revocation() {
        f.add("revocation", describe_revocation(rev));
    }
    if let Some(why) = &r.failure {
        f.add("failure", why);
    }
    f.add("profile", &r.profile);
    f.add("requester", &r.requester);
    f.add("reserved", &r.reserved_at);
    if let Some(c) = &detail.certificate {
        f.add("subject", &c.subject);
        f.add("issuer", &c.issuer);
        f.add("not before", &c.not_before);
        f.add("not after", &c.not_after);
        f.add("key type", &c.key_type);
        f.add("signature algorithm", &c.signature_algorithm);
        if !c.extended_key_usage.is_empty() {
            f.add("extended key usage", c.extended_key_usage.join(", "));
        }
        if let Some(sans) = record
            .certificate()
            .map(|i| &i.sans)
            .filter(|s| !s.is_empty())
        {
            f.add("subject alt names", sans.join(", "));
        }
        f.add("sha256 fingerprint", &c.sha256_fingerprint);
    }
    f.print(io.out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmc_ca::types::RevocationReason;

    #[test]
    fn reason_names_follow_rfc5280() {
        for (code, name) in [
            (1, "keyCompromise"),
            (6, "certificateHold"),
            (10, "aACompromise"),
        ] {
            assert_eq!(reason_name(code), name);
            assert_eq!(RevocationReason::from_code(code).unwrap().code(), code);
        }
        assert_eq!(reason_name(7), "unknown");
    }
}
