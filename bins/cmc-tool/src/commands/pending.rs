//! `pending list/show/approve/reject`: the operator's side of requests
//! held for approval (RFC 5272 §6.13).

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use cmc_ca::types::{PendingFilter, PendingRecord, PendingState, PendingStatus};
use serde::Serialize;

use crate::Io;
use crate::context::{Context, requester};
use crate::output::{Fields, Table, json};
use crate::time::format_rfc3339;

/// `pending ...`
#[derive(Debug, Subcommand)]
pub enum PendingCommand {
    /// List requests (all, or the undecided ones with --waiting).
    List {
        /// Only this CA's.
        #[arg(long)]
        ca: Option<String>,
        /// Only the requests still waiting for a decision.
        #[arg(long)]
        waiting: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one request: who asked, what, and the decision.
    Show {
        /// The request's id (its pendToken).
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve: issue the certificate now (the client fetches it with
    /// queryPending).
    Approve {
        /// The request's id.
        id: String,
        /// Issue with this subject (RFC 4514) instead of the requested one;
        /// the profile still decides what goes in.
        #[arg(long, value_name = "DN")]
        subject: Option<String>,
        /// Issue with these DNS names in the subjectAltName instead of the
        /// requested ones (repeat for several).
        #[arg(long, value_name = "NAME")]
        dns: Vec<String>,
    },
    /// Reject, with a reason the client sees.
    Reject {
        /// The request's id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

pub(crate) fn run(ctx: &Context, cmd: &PendingCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        PendingCommand::List { ca, waiting, json } => list(ctx, ca.clone(), *waiting, *json, io),
        PendingCommand::Show { id, json } => show(ctx, id, *json, io),
        PendingCommand::Approve { id, subject, dns } => {
            let engine = ctx.engine()?;
            let changes = cmc_ca::Approval {
                subject: subject.clone(),
                dns_names: dns.clone(),
            };
            let issued = engine
                .approve_pending(id, &format!("operator:{}", requester()), &changes)
                .with_context(|| format!("approving {id}"))?;
            writeln!(
                io.out,
                "approved {id}: issued serial {}, subject {}",
                issued.serial,
                issued.certificate.tbs_certificate().subject()
            )
            .context("writing output")
        }
        PendingCommand::Reject { id, reason } => {
            let engine = ctx.engine()?;
            engine
                .reject_pending(id, &format!("operator:{}", requester()), reason)
                .with_context(|| format!("rejecting {id}"))?;
            writeln!(io.out, "rejected {id}").context("writing output")
        }
    }
}

#[derive(Serialize)]
struct PendingInfo {
    id: String,
    ca: String,
    client: String,
    profile: String,
    body_part_id: u32,
    created_at: String,
    state: String,
    serial: Option<String>,
    reason: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<String>,
}

impl PendingInfo {
    fn of(r: &PendingRecord) -> Self {
        let (state, serial, reason) = match &r.state {
            PendingState::Pending => ("pending", None, None),
            PendingState::Approved(s) => ("approved", Some(s.to_string()), None),
            PendingState::Rejected(why) => ("rejected", None, Some(why.clone())),
        };
        Self {
            id: r.id.clone(),
            ca: r.ca.clone(),
            client: r.client.clone(),
            profile: r.profile.clone(),
            body_part_id: r.body_part_id,
            created_at: format_rfc3339(r.created_at),
            state: state.to_owned(),
            serial,
            reason,
            decided_by: r.decided_by.clone(),
            decided_at: r.decided_at.map(format_rfc3339),
        }
    }
}

fn list(
    ctx: &Context,
    ca: Option<String>,
    waiting: bool,
    as_json: bool,
    io: &mut Io<'_>,
) -> Result<()> {
    let filter = PendingFilter {
        ca,
        client: None,
        status: waiting.then_some(PendingStatus::Pending),
    };
    let infos: Vec<PendingInfo> = ctx
        .records()?
        .pending(&filter)?
        .iter()
        .map(PendingInfo::of)
        .collect();
    if as_json {
        return json(io.out, &infos);
    }
    let mut t = Table::new(&["ID", "CA", "CLIENT", "PROFILE", "CREATED", "STATE"]);
    for i in &infos {
        t.row(vec![
            i.id.clone(),
            i.ca.clone(),
            i.client.clone(),
            i.profile.clone(),
            i.created_at.clone(),
            i.state.clone(),
        ]);
    }
    t.print(io.out, "no pending requests")
}

fn show(ctx: &Context, id: &str, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let Some(record) = ctx.records()?.pending_request(id)? else {
        bail!("there is no pending request {id:?} (see `cmc-tool pending list`)");
    };
    let info = PendingInfo::of(&record);
    // What approving it would issue, while it waits.
    let policy = (record.state == PendingState::Pending).then(|| PolicyInfo::of(ctx, id));
    if as_json {
        return json(
            io.out,
            &ShowInfo {
                info: &info,
                policy: policy.as_ref(),
            },
        );
    }
    let mut f = Fields::new();
    f.add("id", info.id.clone());
    f.add("ca", info.ca.clone());
    f.add("client", info.client.clone());
    f.add("profile", info.profile.clone());
    f.add("body part", info.body_part_id.to_string());
    f.add("created", info.created_at.clone());
    f.add("state", info.state.clone());
    if let Some(s) = &info.serial {
        f.add("serial", s.clone());
    }
    if let Some(r) = &info.reason {
        f.add("reason", r.clone());
    }
    if let Some(by) = &info.decided_by {
        f.add("decided by", by.clone());
    }
    if let Some(at) = &info.decided_at {
        f.add("decided at", at.clone());
    }
    f.add("requested subject", requested_subject(&record.request_der));
    if let Some(p) = &policy {
        p.add_fields(&mut f);
    }
    f.print(io.out)
}

/// `pending show --json`: the record, and the policy's decision on a
/// request still waiting.
#[derive(Serialize)]
struct ShowInfo<'a> {
    #[serde(flatten)]
    info: &'a PendingInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a PolicyInfo>,
}

/// The engine's `preview_pending`: what approving the request as it stands
/// would issue, or why it would be refused.
#[derive(Debug, Serialize)]
struct PolicyInfo {
    /// The profile's decision (`None` when it refuses, see `refused`).
    decision: Option<cmc_policy::Decision>,
    /// Why the profile refuses the request, or why there is no preview.
    refused: Option<String>,
    /// `None` when the names are within the requester's; else why not.
    names_outside: Option<String>,
}

impl PolicyInfo {
    fn of(ctx: &Context, id: &str) -> Self {
        match ctx.engine().and_then(|e| Ok(e.preview_pending(id)?)) {
            Ok(p) => {
                let (decision, refused) = match p.decision {
                    Ok(d) => (Some(d), None),
                    Err(why) => (None, Some(why)),
                };
                Self {
                    decision,
                    refused,
                    names_outside: p.names.err(),
                }
            }
            Err(e) => Self {
                decision: None,
                refused: Some(format!("no policy decision: {e:#}")),
                names_outside: None,
            },
        }
    }

    fn add_fields(&self, f: &mut Fields) {
        if let Some(why) = &self.refused {
            f.add("policy", format!("refused: {why}"));
        }
        if let Some(d) = &self.decision {
            f.add("would issue subject", d.subject.clone());
            f.add("would issue names", d.subject_alt_names.join(", "));
            f.add(
                "would be valid",
                format!("{} to {}", d.not_before, d.not_after),
            );
            for dropped in &d.dropped {
                f.add("left out", dropped.to_string());
            }
            f.add(
                "requester's names",
                self.names_outside
                    .as_ref()
                    .map_or_else(|| "within".to_owned(), |why| format!("outside: {why}")),
            );
        }
    }
}

/// The subject a held request asks for, for a person.
fn requested_subject(der: &[u8]) -> String {
    use der::Decode;
    match cmc_asn1::TaggedRequest::from_der(der) {
        Ok(cmc_asn1::TaggedRequest::Tcr(tcr)) => tcr.certification_request.info.subject.to_string(),
        Ok(cmc_asn1::TaggedRequest::Crm(crm)) => crm
            .cert_req
            .cert_template
            .subject
            .as_ref()
            .map_or_else(|| "(none)".to_owned(), ToString::to_string),
        Ok(cmc_asn1::TaggedRequest::Orm(_)) => "(an orm request)".to_owned(),
        Err(e) => format!("(does not decode: {e})"),
    }
}
