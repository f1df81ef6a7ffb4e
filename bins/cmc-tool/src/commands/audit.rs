//! `audit`: the audit log, newest first, with the console's filters (the
//! store's paged audit search).

use anyhow::{Context as _, Result};
use clap::Args;
use cmc_ca::types::{
    AuditKind, AuditSearch, Keyset, MAX_SEARCH_PAGE, Outcome, TimeRange, UnixTime,
};
use serde::Serialize;

use crate::Io;
use crate::context::Context;
use crate::inspect::parse_serial;
use crate::output::{Table, json};
use crate::time::{format_rfc3339, parse_rfc3339};

/// `audit` arguments.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events of this requester (a client id, `console:NAME`, ...).
    #[arg(long, value_name = "ID")]
    pub requester: Option<String>,
    /// Only events of this kind (`issued`, `revoked`, `pending-approved`, ...).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Only events of this CA.
    #[arg(long, value_name = "NAME")]
    pub ca: Option<String>,
    /// Only events about this serial (hex).
    #[arg(long, value_name = "HEX")]
    pub serial: Option<String>,
    /// Only events whose detail contains this text (any case).
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub since: Option<UnixTime>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub until: Option<UnixTime>,
    /// At most this many (the newest).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One event as `audit --json` prints it.
#[derive(Debug, Serialize)]
struct EventInfo {
    id: i64,
    at: String,
    kind: String,
    outcome: &'static str,
    ca: Option<String>,
    serial: Option<String>,
    profile: Option<String>,
    requester: Option<String>,
    detail: String,
}

pub(crate) fn run(ctx: &Context, args: &AuditArgs, io: &mut Io<'_>) -> Result<()> {
    let search = AuditSearch {
        requester: args.requester.clone(),
        kind: args.kind.as_deref().map(AuditKind::from_name),
        issuer: args.ca.clone(),
        serial: args
            .serial
            .as_deref()
            .map(parse_serial)
            .transpose()
            .context("--serial")?,
        text: args.text.clone(),
        at: TimeRange {
            from: args.since,
            until: args.until,
        },
    };
    let records = ctx.records()?;
    let mut events = Vec::new();
    let mut keyset = Keyset::First;
    while events.len() < args.limit {
        let size = u32::try_from(args.limit - events.len())
            .map_or(MAX_SEARCH_PAGE, |n| n.min(MAX_SEARCH_PAGE));
        let page = records.search_audit(&search, keyset, size)?;
        events.extend(page.items.into_iter().map(|r| EventInfo {
            id: r.id,
            at: format_rfc3339(r.event.at),
            kind: r.event.kind.as_str().to_owned(),
            outcome: if r.event.outcome == Outcome::Success {
                "success"
            } else {
                "failure"
            },
            ca: r.event.issuer,
            serial: r.event.serial.map(|s| s.to_hex()),
            profile: r.event.profile,
            requester: r.event.requester,
            detail: r.event.detail,
        }));
        match page.older {
            Some(c) => keyset = Keyset::Older(c),
            None => break,
        }
    }
    if args.json {
        return json(io.out, &events);
    }
    let mut t = Table::new(&[
        "TIME",
        "KIND",
        "OUTCOME",
        "CA",
        "SERIAL",
        "REQUESTER",
        "DETAIL",
    ]);
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    for e in &events {
        t.row(vec![
            e.at.clone(),
            e.kind.clone(),
            e.outcome.to_owned(),
            dash(&e.ca),
            dash(&e.serial),
            dash(&e.requester),
            e.detail.clone(),
        ]);
    }
    t.print(io.out, "no events")
}
