//! CRL and OCSP status: per CA and key generation the CRL last made
//! (number, thisUpdate, nextUpdate, size, entries; an error when its
//! nextUpdate is past), who signs OCSP responses (the CA key or a
//! delegated responder certificate, with a warning near its end) and the
//! response cache; and "Generate CRL now", the engine's `generate_crl` as
//! `cmc-tool crl generate` calls it, audited with the operator's name.
//! Reading changes nothing (`Engine::crl_status`, `Engine::ocsp_summary`).

use cmc_ca::{GenerationCrl, LoadedCa, OcspStatus, UnixTime};
use maud::{Markup, html};

use super::{Nav, csrf, layout, notice, time};
use crate::{Ctx, Response};

const DAY: i64 = 86_400;

/// `secs` as days and hours: `3 d 4 h`.
fn span(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{} d {} h", secs / DAY, secs % DAY / 3600)
}

/// A size in octets, with KiB/MiB for large ones.
fn size(octets: usize) -> String {
    match octets {
        n if n >= 1 << 20 => format!("{n} octets ({} MiB)", n >> 20),
        n if n >= 1 << 10 => format!("{n} octets ({} KiB)", n >> 10),
        n => format!("{n} octets"),
    }
}

/// A warning box (`role="status"`: it is not an error yet).
fn warning(text: &str) -> Markup {
    html! { p.notice.warn role="status" { (text) } }
}

/// The CRL rows of one CA, and the problems to show above them.
fn crl_table(ca: &LoadedCa, crls: &[GenerationCrl], now: UnixTime, ctx: &Ctx<'_>) -> Markup {
    let url = ctx.engine.config().ca_settings(ca.name()).crl_url;
    html! {
        @for g in crls {
            @if let Some(c) = g.crl.as_ref().filter(|c| c.overdue(now)) {
                (notice(true, &format!(
                    "CA {}, key generation {}: the CRL's nextUpdate ({}) is past. Relying parties \
                     holding it treat revocation as unknown; a new one is made on the next request \
                     of {} or with \"Generate CRL now\".",
                    ca.name(), g.generation, time(c.next_update), g.path
                )))
            }
        }
        table {
            caption { "CRLs of " (ca.name()) }
            thead { tr {
                th scope="col" { "Key generation" }
                th scope="col" { "CRL number" }
                th scope="col" { "Last generated (thisUpdate)" }
                th scope="col" { "Next update" }
                th scope="col" { "Size" }
                th scope="col" { "Entries" }
                th scope="col" { "State" }
                th scope="col" { "URL" }
            } }
            tbody {
                @for g in crls {
                    tr {
                        th scope="row" {
                            (g.generation) @if g.active { " (active)" } @else { " (retired)" }
                        }
                        @match &g.crl {
                            Some(c) => {
                                td.num { (c.number) }
                                td { (time(c.this_update)) }
                                td { (time(c.next_update)) }
                                td.num { (size(c.size)) }
                                td.num {
                                    @match c.entries { Some(n) => (n), None => "unreadable" }
                                }
                                td {
                                    @if c.overdue(now) {
                                        span.badge.revoked { "overdue" }
                                    } @else {
                                        "valid for " (span(c.next_update.secs() - now.secs()))
                                    }
                                }
                            }
                            None => {
                                td colspan="6" {
                                    @if g.active {
                                        "No CRL yet: made on the first request of its URL, or with \"Generate CRL now\"."
                                    } @else {
                                        "Not made by this node yet: made on the first request of its URL."
                                    }
                                }
                            }
                        }
                        td.mono {
                            (g.path)
                            @if let Some(u) = url.as_deref().filter(|_| g.active) {
                                br; "in certificates: " (u)
                            }
                        }
                    }
                }
            }
        }
        form method="post" action={ "/status/" (ca.name()) "/crl" } {
            (csrf(ctx))
            button type="submit" { "Generate CRL now" }
            " "
            span.hint { "(the active generation's, as " code { "cmc-tool crl generate" } " does)" }
        }
    }
}

/// The OCSP part of one CA.
fn ocsp_part(ca: &LoadedCa, o: &OcspStatus, now: UnixTime) -> Markup {
    let left = o
        .responder
        .as_ref()
        .map(|r| r.not_after.secs() - now.secs());
    html! {
        @match (&o.responder, left) {
            (Some(r), Some(left)) if left <= 0 => {
                (notice(true, &format!(
                    "CA {}: the delegated OCSP responder certificate expired at {}; OCSP answers \
                     are signed by it no more (a new one is issued on the next OCSP request).",
                    ca.name(), time(r.not_after)
                )))
            }
            (Some(r), Some(left)) if left < o.renew_margin_secs.max(DAY) => {
                (warning(&format!(
                    "CA {}: the delegated OCSP responder certificate ends in {} ({}). It is \
                     renewed {} before its end, so renewal has failed or the CA itself ends soon.",
                    ca.name(), span(left), time(r.not_after), span(o.renew_margin_secs)
                )))
            }
            _ => {}
        }
        dl.fields {
            dt { "OCSP" } dd { "on: answered at " code { (o.path) } }
            dt { "URL in certificates" } dd {
                @match &o.aia_url {
                    Some(u) => code { (u) },
                    None => "none configured (issued certificates carry no OCSP URL)",
                }
            }
            dt { "Responses signed by" } dd {
                @if !o.delegated {
                    "the CA key (no delegated responder configured)"
                } @else {
                    @match &o.responder {
                        Some(r) => {
                            "delegated responder certificate "
                            a href={ "/certs/" (ca.name()) "/" (r.serial.to_hex()) } { (r.subject) }
                            ", valid " (time(r.not_before)) " to " (time(r.not_after))
                            @if let Some(l) = left.filter(|l| *l > 0) { " (" (span(l)) " left)" }
                        }
                        None => "a delegated responder, whose certificate is issued on the first OCSP request",
                    }
                }
            }
            dt { "Response validity" } dd { (o.response_validity_secs / 60) " minutes" }
            dt { "Cache (this node)" } dd {
                (o.cached) " response(s) kept, " (o.cached_usable) " still usable"
            }
        }
    }
}

/// The status page, with the outcome of an action if there was one.
pub(crate) fn page(ctx: &Ctx<'_>, message: Option<(bool, String)>) -> Response {
    let now = ctx.engine.now();
    let mut failed = false;
    let cas: Vec<_> = ctx
        .engine
        .cas()
        .into_iter()
        .filter(|ca| ctx.session.may_act_on_ca(ca.name()))
        .map(|ca| {
            let crls = ctx.engine.crl_status(ca.name()).map_err(|e| {
                tracing::error!(ca = ca.name(), error = %e, "console: reading the CRL status failed");
            });
            let ocsp = ctx.engine.ocsp_summary(ca.name()).map_err(|e| {
                tracing::error!(ca = ca.name(), error = %e, "console: reading the OCSP status failed");
            });
            failed |= crls.is_err() || ocsp.is_err();
            (ca, crls, ocsp)
        })
        .collect();
    let content = html! {
        @if let Some((error, text)) = &message { (notice(*error, text)) }
        p.hint {
            "Read from the store and this node's caches; reading makes no CRL and renews nothing. "
            "Responder and cache figures are this node's."
        }
        @for (ca, crls, ocsp) in &cas {
            section aria-labelledby={ "ca-" (ca.name()) } {
                h2 id={ "ca-" (ca.name()) } { "CA " (ca.name()) }
                h3 { "CRL" }
                @match crls {
                    Ok(crls) => (crl_table(ca, crls, now, ctx)),
                    Err(()) => (notice(true, "The CRL status could not be read.")),
                }
                h3 { "OCSP" }
                @match ocsp {
                    Ok(o) => (ocsp_part(ca, o, now)),
                    Err(()) => (notice(true, "The OCSP status could not be read.")),
                }
            }
        }
    };
    let status = match (&message, failed) {
        (_, true) => 500,
        (Some((true, _)), false) => 400,
        _ => 200,
    };
    Response::html(
        status,
        layout(ctx, "CRL and OCSP status", Nav::Status, content),
    )
}

/// `POST /status/{ca}/crl`: a new CRL for the active generation now.
pub(crate) fn generate(ctx: &Ctx<'_>, ca: &str) -> Response {
    if ctx.engine.ca(ca).is_err() {
        return super::not_found(ctx, "There is no such CA.");
    }
    if !ctx.session.may_act_on_ca(ca) {
        return super::forbidden(ctx, "Your grants do not cover this CA.");
    }
    let message = match ctx.engine.generate_crl_by(ca, &ctx.requester()) {
        Ok(crl) => {
            tracing::info!(
                operator = ctx.session.operator,
                ca,
                number = crl.crl_number,
                "console: CRL generated"
            );
            (
                false,
                format!(
                    "CRL number {} of CA {ca} generated: {} octets, next update {}.",
                    crl.crl_number,
                    crl.der.len(),
                    time(crl.next_update)
                ),
            )
        }
        Err(e) => {
            tracing::warn!(operator = ctx.session.operator, ca, error = %e, "console: CRL generation failed");
            (true, format!("No CRL was generated: {e}"))
        }
    };
    page(ctx, Some(message))
}
