//! Registered clients (end entities, RAs, agents, operators): the list,
//! and disabling one (the records' `disable_client`, as `cmc-tool client
//! disable`); a new credential is `clients_reissue`.

use cmc_ca::types::{ClientRecord, Scope};
use maud::html;

use super::{Nav, csrf, layout, not_found, notice, time};
use crate::form::Form;
use crate::{Ctx, Response};

fn scope(s: &Scope) -> &str {
    match s {
        Scope::Any => "*",
        Scope::Named(n) => n,
    }
}

fn grants(c: &ClientRecord) -> String {
    c.grants
        .iter()
        .map(|g| format!("{} / {}", scope(&g.ca), scope(&g.profile)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn list(ctx: &Ctx<'_>, message: Option<(bool, String)>) -> Response {
    let clients = match ctx.engine.records().clients() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "console: listing clients failed");
            return Response::html(
                500,
                layout(
                    ctx,
                    "Clients",
                    Nav::Clients,
                    notice(true, "The store did not answer."),
                ),
            );
        }
    };
    let now = ctx.engine.now();
    let status = match &message {
        Some((true, _)) => 400,
        _ => 200,
    };
    let content = html! {
        @if let Some((error, text)) = &message { (notice(*error, text)) }
        p { a.button href="/clients/add" { "Add a client and issue its credential" } }
        table {
            caption { "Registered clients" }
            thead { tr {
                th scope="col" { "Client" }
                th scope="col" { "Role" }
                th scope="col" { "Subject" }
                th scope="col" { "CA / profile" }
                th scope="col" { "Expires" }
                th scope="col" { "State" }
            } }
            tbody {
                @for c in &clients {
                    tr {
                        th scope="row" { (c.id) }
                        td { (c.role.as_str()) }
                        td { (c.subject.as_deref().unwrap_or("")) }
                        td { (grants(c)) }
                        td { (c.expires_at.map(time).unwrap_or_else(|| "never".to_owned())) }
                        td {
                            @if let Some(at) = c.disabled_at {
                                span.badge.revoked { "disabled" } " " (time(at))
                            } @else if c.expires_at.is_some_and(|e| e.secs() <= now.secs()) {
                                span.badge.revoked { "expired" } " "
                                a href={ "/clients/" (c.id) "/reissue" } aria-label={ "New credential for client " (c.id) } { "New credential" }
                            } @else {
                                form.inline method="post" action={ "/clients/" (c.id) "/disable" } data-confirm={ "Disable client " (c.id) "? Its requests are refused from now on." } {
                                    (csrf(ctx))
                                    span.badge { "active" } " "
                                    button type="submit" aria-label={ "Disable client " (c.id) } { "Disable" }
                                }
                                " "
                                a href={ "/clients/" (c.id) "/reissue" } aria-label={ "New credential for client " (c.id) } { "New credential" }
                            }
                        }
                    }
                }
            }
        }
    };
    Response::html(status, layout(ctx, "Clients", Nav::Clients, content))
}

pub(crate) fn disable(ctx: &Ctx<'_>, id: &str, _form: &Form) -> Response {
    let records = ctx.engine.records();
    match records.client(id) {
        Ok(Some(c)) if c.disabled_at.is_some() => {
            return list(
                ctx,
                Some((true, format!("Client {id} was already disabled."))),
            );
        }
        Ok(Some(_)) => {}
        Ok(None) => return not_found(ctx, "There is no such client."),
        Err(e) => {
            tracing::debug!(error = %e, "console: client lookup failed");
            return not_found(ctx, "There is no such client.");
        }
    }
    match records.disable_client(id, &ctx.requester(), ctx.engine.now()) {
        Ok(()) => Response::see_other("/clients"),
        Err(e) => list(ctx, Some((true, format!("Not disabled: {e}")))),
    }
}
