//! One-time secrets: the list (never a secret: the store keeps derived
//! keys and hashes only) and unlocking one that failed proofs locked (the
//! engine's `unlock_secret`, as `cmc-tool secret unlock`).

use cmc_ca::types::{SecretPurpose, SecretRecord};
use maud::html;

use super::{Nav, csrf, layout, notice, time};
use crate::form::Form;
use crate::{Ctx, Response};

fn purpose(s: &SecretRecord) -> String {
    match &s.purpose {
        SecretPurpose::Enroll => "enrollment".to_owned(),
        SecretPurpose::Revoke { serial, .. } => format!("revocation of {}", serial.to_hex()),
    }
}

pub(crate) fn list(ctx: &Ctx<'_>, message: Option<String>) -> Response {
    let secrets = match ctx.engine.records().secrets(None) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "console: listing secrets failed");
            return Response::html(
                500,
                layout(
                    ctx,
                    "One-time secrets",
                    Nav::Secrets,
                    notice(true, "The store did not answer."),
                ),
            );
        }
    };
    let now = ctx.engine.now();
    let content = html! {
        @if let Some(m) = &message { (notice(true, m)) }
        p { a.button href="/secrets/add" { "Add a one-time secret" } " (it is shown once, when it is added)" }
        @if secrets.is_empty() {
            p { "No secrets." }
        } @else {
            table {
                caption { "Enrollment and revocation secrets" }
                thead { tr {
                    th scope="col" { "CA" }
                    th scope="col" { "Identification" }
                    th scope="col" { "For" }
                    th scope="col" { "Expires" }
                    th scope="col" { "Failed proofs" }
                    th scope="col" { "State" }
                } }
                tbody {
                    @for s in &secrets {
                        tr {
                            td { (s.ca) }
                            th scope="row" { (s.identification) }
                            td { (purpose(s)) }
                            td { (time(s.expires_at)) }
                            td.num { (s.failed_attempts) }
                            td {
                                @if let Some(at) = s.used_at {
                                    span.badge { "used" } " " (time(at))
                                } @else if s.expires_at.secs() <= now.secs() {
                                    span.badge.revoked { "expired" }
                                } @else if s.locked {
                                    (super::secrets_admin::revoke_button(ctx, &s.ca, &s.identification))
                                    " "
                                    form.inline method="post" action="/secrets/unlock" {
                                        (csrf(ctx))
                                        input type="hidden" name="ca" value=(s.ca);
                                        input type="hidden" name="identification" value=(s.identification);
                                        span.badge.hold { "locked" } " "
                                        button type="submit" aria-label={ "Unlock secret " (s.identification) } { "Unlock" }
                                    }
                                } @else {
                                    span.badge { "usable" } " "
                                    (super::secrets_admin::revoke_button(ctx, &s.ca, &s.identification))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = if message.is_some() { 400 } else { 200 };
    Response::html(
        status,
        layout(ctx, "One-time secrets", Nav::Secrets, content),
    )
}

pub(crate) fn unlock(ctx: &Ctx<'_>, form: &Form) -> Response {
    let (Some(ca), Some(id)) = (form.get("ca"), form.get("identification")) else {
        return list(ctx, Some("Say which secret to unlock.".to_owned()));
    };
    match ctx.engine.unlock_secret(ca, id, &ctx.requester()) {
        Ok(()) => Response::see_other("/secrets"),
        Err(e) => list(ctx, Some(format!("Not unlocked: {e}"))),
    }
}
