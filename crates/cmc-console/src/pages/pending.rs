//! Pending requests: the list, one request decoded, approve (with the
//! subject and DNS names changed if the agent wants) and reject with a
//! reason, through the engine's `approve_pending` and `reject_pending`.

use cmc_asn1::TaggedRequest;
use cmc_ca::Approval;
use cmc_ca::types::{PendingFilter, PendingRecord, PendingState, PendingStatus};
use der::Decode as _;
use maud::{Markup, html};

use super::{Nav, csrf, forbidden, layout, not_found, notice, oid_name, time};
use crate::form::Form;
use crate::{Ctx, Response};

/// The longest rejection reason kept.
pub(crate) const MAX_REASON_LEN: usize = 500;

fn state_text(r: &PendingRecord) -> &'static str {
    match r.state {
        PendingState::Pending => "pending",
        PendingState::Approved(_) => "approved",
        PendingState::Rejected(_) => "rejected",
    }
}

/// What a held request asks for: (kind, subject, public key algorithm).
fn decode(der: &[u8]) -> (&'static str, String, String) {
    match TaggedRequest::from_der(der) {
        Ok(TaggedRequest::Tcr(tcr)) => {
            let info = &tcr.certification_request.info;
            (
                "PKCS #10",
                info.subject.to_string(),
                oid_name(&info.public_key.algorithm.oid),
            )
        }
        Ok(TaggedRequest::Crm(crm)) => {
            let t = &crm.cert_req.cert_template;
            (
                "CRMF",
                t.subject
                    .as_ref()
                    .map_or_else(|| "(none)".to_owned(), ToString::to_string),
                t.public_key
                    .as_ref()
                    .map_or_else(|| "(none)".to_owned(), |k| oid_name(&k.algorithm.oid)),
            )
        }
        Ok(TaggedRequest::Orm(_)) => ("other", "(unknown)".to_owned(), "(unknown)".to_owned()),
        Err(e) => ("undecodable", format!("({e})"), String::new()),
    }
}

pub(crate) fn list(ctx: &Ctx<'_>, form: &Form) -> Response {
    let state = form.get("state").unwrap_or("pending");
    let status = match state {
        "approved" => Some(PendingStatus::Approved),
        "rejected" => Some(PendingStatus::Rejected),
        "all" => None,
        _ => Some(PendingStatus::Pending),
    };
    let filter = PendingFilter {
        status,
        ..PendingFilter::default()
    };
    let records = match ctx.engine.records().pending(&filter) {
        Ok(mut r) => {
            r.retain(|p| ctx.session.may_act_on_ca(&p.ca));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "console: listing pending requests failed");
            return Response::html(
                500,
                layout(
                    ctx,
                    "Pending requests",
                    Nav::Pending,
                    notice(true, "The store did not answer."),
                ),
            );
        }
    };
    let content = html! {
        form.search method="get" action="/pending" {
            p {
                label for="state" { "Show" }
                select id="state" name="state" {
                    @for s in ["pending", "approved", "rejected", "all"] {
                        option value=(s) selected[s == state] { (s) }
                    }
                }
            }
            p { button type="submit" { "Filter" } }
        }
        @if records.is_empty() {
            p { "No requests." }
        } @else {
            table {
                caption { "Requests (" (state) ")" }
                thead { tr {
                    th scope="col" { "Request" }
                    th scope="col" { "CA" }
                    th scope="col" { "Requester" }
                    th scope="col" { "Subject asked for" }
                    th scope="col" { "Profile" }
                    th scope="col" { "Received" }
                    th scope="col" { "State" }
                } }
                tbody {
                    @for r in &records {
                        tr {
                            td.mono { a href={ "/pending/" (r.id) } { (r.id) } }
                            td { (r.ca) }
                            td { (r.client) }
                            td { (decode(&r.request_der).1) }
                            td { (r.profile) }
                            td { (time(r.created_at)) }
                            td { span.badge { (state_text(r)) } }
                        }
                    }
                }
            }
        }
    };
    Response::html(200, layout(ctx, "Pending requests", Nav::Pending, content))
}

fn find(ctx: &Ctx<'_>, id: &str) -> Result<PendingRecord, Response> {
    match ctx.engine.records().pending_request(id) {
        Ok(Some(r)) if ctx.session.may_act_on_ca(&r.ca) => Ok(r),
        Ok(Some(_)) => Err(forbidden(
            ctx,
            "Your grants do not cover this request's CA.",
        )),
        Ok(None) => Err(not_found(ctx, "There is no such request.")),
        Err(e) => {
            tracing::debug!(error = %e, "console: pending lookup failed");
            Err(not_found(ctx, "There is no such request."))
        }
    }
}

fn decision_forms(ctx: &Ctx<'_>, r: &PendingRecord) -> Markup {
    html! {
        form method="post" action={ "/pending/" (r.id) "/approve" } {
            h2 { "Approve" }
            (csrf(ctx))
            p.hint { "Leave the fields empty to issue what was asked for; the profile still decides what goes in." }
            p {
                label for="subject" { "Subject instead of the requested one (RFC 4514, optional)" }
                input id="subject" name="subject" type="text";
            }
            p {
                label for="dns" { "DNS names instead of the requested ones (one a line, optional)" }
                textarea id="dns" name="dns" rows="3" {}
            }
            p { button type="submit" { "Approve and issue" } }
        }
        form.danger method="post" action={ "/pending/" (r.id) "/reject" } {
            h2 { "Reject" }
            (csrf(ctx))
            p {
                label for="reason" { "Reason (the requester sees it)" }
                input id="reason" name="reason" type="text" required maxlength=(MAX_REASON_LEN);
            }
            p { button type="submit" { "Reject request" } }
        }
    }
}

pub(crate) fn show(ctx: &Ctx<'_>, id: &str, message: Option<String>) -> Response {
    let r = match find(ctx, id) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let (kind, subject, key) = decode(&r.request_der);
    let content = html! {
        @if let Some(m) = &message { (notice(true, m)) }
        dl.fields {
            dt { "Request" } dd.mono { (r.id) }
            dt { "CA" } dd { (r.ca) }
            dt { "Requester" } dd { (r.client) }
            dt { "Profile" } dd { (r.profile) }
            dt { "Received" } dd { (time(r.created_at)) }
            dt { "Format" } dd { (kind) }
            dt { "Subject asked for" } dd { (subject) }
            dt { "Public key" } dd.mono { (key) }
            dt { "State" } dd { span.badge { (state_text(&r)) } }
            @match &r.state {
                PendingState::Approved(serial) => {
                    dt { "Certificate" } dd.mono { a href={ "/certs/" (r.ca) "/" (serial.to_hex()) } { (serial.to_hex()) } }
                }
                PendingState::Rejected(why) => { dt { "Reason" } dd { (why) } }
                PendingState::Pending => {}
            }
            @if let Some(by) = &r.decided_by { dt { "Decided by" } dd { (by) } }
            @if let Some(at) = r.decided_at { dt { "Decided at" } dd { (time(at)) } }
        }
        @if matches!(r.state, PendingState::Pending) {
            (preview(ctx, &r.id))
            (decision_forms(ctx, &r))
        }
    };
    let status = if message.is_some() { 400 } else { 200 };
    Response::html(
        status,
        layout(ctx, "Pending request", Nav::Pending, content),
    )
}

pub(crate) fn approve(ctx: &Ctx<'_>, id: &str, form: &Form) -> Response {
    if let Err(r) = find(ctx, id) {
        return r;
    }
    let changes = Approval {
        subject: form.get("subject").map(str::to_owned),
        dns_names: form
            .raw("dns")
            .split(['\n', '\r', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    match ctx.engine.approve_pending(id, &ctx.requester(), &changes) {
        Ok(_) => Response::see_other(&format!("/pending/{id}")),
        Err(e) => show(ctx, id, Some(format!("Not approved: {e}"))),
    }
}

pub(crate) fn reject(ctx: &Ctx<'_>, id: &str, form: &Form) -> Response {
    if let Err(r) = find(ctx, id) {
        return r;
    }
    let Some(reason) = form.get("reason") else {
        return show(
            ctx,
            id,
            Some("Give the reason for the rejection.".to_owned()),
        );
    };
    if reason.len() > MAX_REASON_LEN || reason.chars().any(char::is_control) {
        return show(
            ctx,
            id,
            Some(format!(
                "The reason must be one line of at most {MAX_REASON_LEN} bytes."
            )),
        );
    }
    match ctx.engine.reject_pending(id, &ctx.requester(), reason) {
        Ok(()) => Response::see_other(&format!("/pending/{id}")),
        Err(e) => show(ctx, id, Some(format!("Not rejected: {e}"))),
    }
}

/// The policy's decision on a held request: what approving it as it
/// stands would issue (the engine's `preview_pending`, also in `cmc-tool
/// pending show`).
fn preview(ctx: &Ctx<'_>, id: &str) -> Markup {
    let preview = match ctx.engine.preview_pending(id) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "console: previewing a pending request failed");
            return html! { section aria-labelledby="policy" {
                h2 id="policy" { "Policy decision" }
                (notice(true, &format!("The policy's decision could not be made: {e}")))
            } };
        }
    };
    html! {
        section aria-labelledby="policy" {
            h2 id="policy" { "Policy decision" }
            @match &preview.decision {
                Err(why) => (notice(true, &format!("The profile refuses this request as it stands: {why}. Approving it fails unless the edits below change that."))),
                Ok(d) => {
                    @match &preview.names {
                        Ok(()) => p { span.badge { "within the requester's names" } }
                        Err(why) => (notice(true, &format!("Outside the requester's names: {why}. Approve with an edited subject or DNS names, or reject."))),
                    }
                    dl.fields {
                        dt { "Profile" } dd { (d.profile) }
                        dt { "Key" } dd { (d.key) }
                        dt { "Subject issued" } dd { (d.subject) }
                        dt { "Subject alternative names" } dd {
                            @if d.subject_alt_names.is_empty() { "none" } @else { (d.subject_alt_names.join(", ")) }
                        }
                        dt { "Key usage" } dd {
                            (d.key_usage.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
                        }
                        dt { "Extended key usage" } dd { (d.extended_key_usage.join(", ")) }
                        dt { "Valid" } dd { (d.not_before) " to " (d.not_after) }
                        dt { "Extensions issued" } dd {
                            (d.granted.iter().map(|e| if e.critical { format!("{} (critical)", e.name) } else { e.name.clone() }).collect::<Vec<_>>().join(", "))
                        }
                    }
                    @if !d.dropped.is_empty() {
                        h3 { "Asked for, not issued" }
                        ul {
                            @for item in &d.dropped { li { (item.to_string()) } }
                        }
                    }
                    @for adj in &d.validity_adjustments {
                        p.hint { (adj.field) ": " (adj.wanted) " asked, " (adj.granted) " granted (" (adj.reason) ")" }
                    }
                }
            }
        }
    }
}
