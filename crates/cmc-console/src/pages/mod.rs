//! The pages: the router, the layout every page shares, and small helpers.

mod audit;
pub(crate) mod certs;
mod chain;
mod chart;
mod clients;
pub(crate) mod clients_admin;
mod clients_reissue;
mod given;
pub(crate) mod login;
mod overview;
pub(crate) mod pending;
pub(crate) mod search;
mod secrets;
mod secrets_admin;
mod status;

use cmc_ca::UnixTime;
use maud::{DOCTYPE, Markup, html};

use crate::form::Form;
use crate::{Ctx, Response};

/// Routes a logged-in request (`post` says the CSRF token was checked).
pub(crate) fn route(ctx: &Ctx<'_>, path: &str, post: bool, form: &Form) -> Response {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // Every change to clients and secrets is administration.
    if post
        && matches!(parts.first(), Some(&("clients" | "secrets")))
        && !ctx.session.may_administer()
    {
        return forbidden(ctx, "Only operators may change clients and secrets.");
    }
    match (parts.as_slice(), post) {
        ([""], false) => overview::page(ctx),
        (["certs"], false) => search::list(ctx, form),
        (["certs.csv"], false) => search::csv(ctx, form),
        (["certs", ca, serial], false) => certs::show(ctx, ca, serial, None),
        (["certs", ca, serial, "revoke"], true) => certs::revoke(ctx, ca, serial, form),
        (["certs", ca, serial, "unhold"], true) => certs::unhold(ctx, ca, serial),
        (["pending"], false) => pending::list(ctx, form),
        (["pending", id], false) => pending::show(ctx, id, None),
        (["pending", id, "approve"], true) => pending::approve(ctx, id, form),
        (["pending", id, "reject"], true) => pending::reject(ctx, id, form),
        (["clients"], false) => clients::list(ctx, None),
        (["clients", id, "disable"], true) => clients::disable(ctx, id, form),
        (["clients", "add"], false) => clients_admin::add_form(ctx),
        (["clients", "add"], true) => {
            clients_admin::add(ctx, form, clients_admin::may_administer(ctx))
        }
        (["clients", id, "reissue"], false) => clients_reissue::reissue_form(ctx, id),
        (["clients", id, "reissue"], true) => clients_reissue::reissue(ctx, id, form),
        (["clients", id, "certificate.pem"], false) => clients_admin::download(ctx, id, false),
        (["clients", id, "chain.pem"], false) => clients_admin::download(ctx, id, true),
        (["secrets"], false) => secrets::list(ctx, None),
        (["secrets", "unlock"], true) => secrets::unlock(ctx, form),
        (["status"], false) => status::page(ctx, None),
        (["status", ca, "crl"], true) => status::generate(ctx, ca),
        (["secrets", "add"], false) => secrets_admin::add_form(ctx),
        (["secrets", "add"], true) => secrets_admin::add(ctx, form),
        (["secrets", "revoke"], true) => secrets_admin::revoke(ctx, form),
        (["audit"], false) => audit::list(ctx, form),
        _ => not_found(ctx, "There is no such page."),
    }
}

/// Keeps a search of an agent's session inside the CAs its grants cover:
/// a CA it names must be one of them (else the 403 page), and a search
/// that names none is of its first CA (its forms offer no "any").
/// Returns whether `issuer` was filled in. Operators search everything.
pub(crate) fn confine_to_cas(ctx: &Ctx<'_>, issuer: &mut Option<String>) -> Result<bool, Response> {
    let crate::session::Rights::Agent { cas } = &ctx.session.rights else {
        return Ok(false);
    };
    match issuer {
        Some(ca) if ctx.session.may_act_on_ca(ca) => Ok(false),
        Some(_) => Err(forbidden(ctx, "Your grants do not cover this CA.")),
        None => match cas.first() {
            Some(first) => {
                *issuer = Some(first.clone());
                Ok(true)
            }
            None => Err(forbidden(ctx, "Your grants cover no CA.")),
        },
    }
}

/// Which menu entry is the current page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Certs,
    Pending,
    Clients,
    Secrets,
    Status,
    Audit,
}

/// The page around `content`: the skip link, the menu, the operator and
/// the logout button.
pub(crate) fn layout(ctx: &Ctx<'_>, title: &str, nav: Nav, content: Markup) -> Markup {
    let item = |n: Nav, href: &str, label: &str| {
        html! {
            li { a href=(href) aria-current=[(n == nav).then_some("page")] { (label) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · CMC CA console" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    nav aria-label="Main" {
                        span.brand { "CMC CA" }
                        ul {
                            (item(Nav::Overview, "/", "Overview"))
                            (item(Nav::Certs, "/certs", "Certificates"))
                            (item(Nav::Pending, "/pending", "Pending requests"))
                            (item(Nav::Clients, "/clients", "Clients"))
                            (item(Nav::Secrets, "/secrets", "Secrets"))
                            (item(Nav::Status, "/status", "CRL and OCSP"))
                            (item(Nav::Audit, "/audit", "Audit log"))
                        }
                    }
                    form.logout method="post" action="/logout" {
                        (csrf(ctx))
                        span { "Signed in as " strong { (ctx.session.operator) } }
                        " "
                        button type="submit" { "Log out" }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// The hidden CSRF field of every form.
pub(crate) fn csrf(ctx: &Ctx<'_>) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.session.csrf); }
}

/// A message box: `role="alert"` for errors, `role="status"` otherwise.
pub(crate) fn notice(error: bool, text: &str) -> Markup {
    if error {
        html! { p.notice.error role="alert" { (text) } }
    } else {
        html! { p.notice.ok role="status" { (text) } }
    }
}

/// A 404 page.
pub(crate) fn not_found(ctx: &Ctx<'_>, what: &str) -> Response {
    Response::html(
        404,
        layout(ctx, "Not found", Nav::Overview, notice(true, what)),
    )
}

/// A 403 page (the session may not do this), logged.
pub(crate) fn forbidden(ctx: &Ctx<'_>, what: &str) -> Response {
    tracing::warn!(
        operator = ctx.session.operator,
        requester = ctx.requester(),
        what,
        "console action refused: not permitted"
    );
    Response::html(
        403,
        layout(ctx, "Not permitted", Nav::Overview, notice(true, what)),
    )
}

/// An OID with its name when the registry knows it: `ecPublicKey
/// (1.2.840.10045.2.1)`.
pub(crate) fn oid_name(oid: &const_oid::ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

/// A time as `2026-12-04 19:50:29 UTC`.
pub(crate) fn time(t: UnixTime) -> String {
    let secs = t.secs();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (the
/// era-based conversion: 400-year eras of 146 097 days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_calendar_dates() {
        assert_eq!(time(UnixTime::from_secs(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            time(UnixTime::from_secs(1_796_413_829)),
            "2026-12-04 19:50:29 UTC"
        );
        assert_eq!(
            time(UnixTime::from_secs(951_782_400)),
            "2000-02-29 00:00:00 UTC"
        );
        assert_eq!(time(UnixTime::from_secs(-1)), "1969-12-31 23:59:59 UTC");
    }
}
