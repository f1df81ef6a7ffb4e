//! The audit log: filtered by requester, kind, CA, serial, detail text and
//! time, newest first, pages of 50 with keyset links; and a certificate's
//! audit trail on its page.

use cmc_ca::Serial;
use cmc_ca::types::{AuditKind, AuditRecord, AuditSearch, Keyset, Outcome, SearchPage};
use maud::{Markup, html};

use super::certs::parse_serial;
use super::given::{Given, keyset};
use super::search::parse_day;
use super::{Nav, layout, notice, time};
use crate::form::{Form, encode};
use crate::{Ctx, Response};

/// Events per page.
pub(crate) const PAGE_SIZE: u32 = 50;

/// Events a certificate's page shows (the rest are a link away).
const TRAIL_SIZE: u32 = 20;

/// The kinds the engine writes, for the form's suggestions (the field
/// takes any kind: a newer version may write others).
const KINDS: [&str; 23] = [
    "issued",
    "refused",
    "revoked",
    "unrevoked",
    "accepted",
    "pending-created",
    "pending-approved",
    "pending-rejected",
    "client-added",
    "client-disabled",
    "client-credential-replaced",
    "secret-added",
    "secret-locked",
    "secret-unlocked",
    "secret-revoked",
    "ca-added",
    "crl-issued",
    "crl-imported",
    "certificates-imported",
    "ca-rollover",
    "ca-activated",
    "published",
    "unpublished",
];

/// The form's fields: (name, label).
const FIELDS: [(&str, &str); 7] = [
    ("requester", "Requester (who acted)"),
    ("kind", "Event kind"),
    ("ca", "CA"),
    ("serial", "Serial (hex, exact)"),
    ("text", "Detail contains"),
    ("from", "From (day)"),
    ("to", "Until (day, included)"),
];

/// An audit search as the form and the links carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Query {
    pub(crate) fields: Given,
    pub(crate) search: AuditSearch,
    pub(crate) keyset: Keyset,
}

impl Query {
    pub(crate) fn from_form(form: &Form) -> Result<Self, String> {
        let fields = Given::of(form, FIELDS.iter().map(|(n, _)| *n));
        let day = |name: &str| -> Result<Option<cmc_ca::UnixTime>, String> {
            form.get(name)
                .map(|v| parse_day(v).ok_or_else(|| format!("{v:?} is not a date (YYYY-MM-DD)")))
                .transpose()
        };
        let at = cmc_ca::types::TimeRange {
            from: day("from")?,
            until: day("to")?.map(|t| t.plus_secs(86_400)),
        };
        if let (Some(f), Some(u)) = (at.from, at.until) {
            if f >= u {
                return Err("the time range ends before it starts".to_owned());
            }
        }
        let serial = form
            .get("serial")
            .map(|s| parse_serial(s).ok_or_else(|| format!("{s:?} is not a serial number")))
            .transpose()?;
        let keyset = keyset(form)?;
        Ok(Self {
            search: AuditSearch {
                requester: form.get("requester").map(str::to_owned),
                kind: form.get("kind").map(AuditKind::from_name),
                issuer: form.get("ca").map(str::to_owned),
                serial,
                text: form.get("text").map(str::to_owned),
                at,
            },
            fields,
            keyset,
        })
    }

    /// Keeps an agent's search inside the CAs its grants cover: events of
    /// no CA (clients, secrets) are an operator's to read.
    fn confine(&mut self, ctx: &Ctx<'_>) -> Result<(), Response> {
        self.fields.confine(ctx, &mut self.search.issuer)
    }
}

/// An event's detail for a person: a JSON object as its fields (nested
/// values as compact JSON), anything else as written.
pub(crate) fn detail(text: &str) -> Markup {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) if !map.is_empty() => html! {
            dl.detail {
                @for (k, v) in &map {
                    dt { (k) }
                    dd {
                        @match v {
                            serde_json::Value::String(s) => (s),
                            other => (other.to_string()),
                        }
                    }
                }
            }
        },
        _ => html! { (text) },
    }
}

fn serial_link(issuer: Option<&str>, serial: &Serial) -> Markup {
    match issuer {
        Some(ca) => html! {
            a.mono href={ "/certs/" (encode(ca)) "/" (serial.to_hex()) } { (serial.to_hex()) }
        },
        None => html! { span.mono { (serial.to_hex()) } },
    }
}

fn table(caption: &str, page: &SearchPage<AuditRecord>) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr {
                th scope="col" { "Time" }
                th scope="col" { "Event" }
                th scope="col" { "Outcome" }
                th scope="col" { "CA" }
                th scope="col" { "Serial" }
                th scope="col" { "Requester" }
                th scope="col" { "Detail" }
            } }
            tbody {
                @for r in &page.items {
                    @let e = &r.event;
                    tr {
                        td { (time(e.at)) }
                        td { (e.kind.as_str()) @if let Some(p) = &e.profile { br; small { "profile " (p) } } }
                        td {
                            @if e.outcome == Outcome::Success { span.badge { "success" } }
                            @else { span.badge.revoked { "failure" } }
                        }
                        td { (e.issuer.as_deref().unwrap_or("")) }
                        td { @if let Some(s) = &e.serial { (serial_link(e.issuer.as_deref(), s)) } }
                        td { (e.requester.as_deref().unwrap_or("")) }
                        td { (detail(&e.detail)) }
                    }
                }
            }
        }
    }
}

fn form_markup(ctx: &Ctx<'_>, q: &Query) -> Markup {
    html! {
        form.search method="get" action="/audit" role="search" {
            @for (name, label) in FIELDS {
                p {
                    label for=(name) { (label) }
                    @match name {
                        "ca" => select id="ca" name="ca" {
                            @if ctx.session.may_administer() { option value="" { "any" } }
                            @for ca in ctx.engine.ca_names().into_iter().filter(|n| ctx.session.may_act_on_ca(n)) {
                                option value=(ca) selected[q.fields.value("ca") == ca] { (ca) }
                            }
                        },
                        "kind" => input id="kind" name="kind" type="text" list="kinds" value=(q.fields.value("kind"));,
                        "from" | "to" => input id=(name) name=(name) type="date" value=(q.fields.value(name));,
                        _ => input id=(name) name=(name) type="text" value=(q.fields.value(name));,
                    }
                }
            }
            datalist id="kinds" { @for k in KINDS { option value=(k) {} } }
            p { button type="submit" { "Search" } }
        }
    }
}

/// `GET /audit`.
pub(crate) fn list(ctx: &Ctx<'_>, form: &Form) -> Response {
    let mut query = match Query::from_form(form) {
        Ok(q) => q,
        Err(message) => {
            let content = html! {
                (notice(true, &message))
                p { a href="/audit" { "Start a new search" } }
            };
            return Response::html(400, layout(ctx, "Audit log", Nav::Audit, content));
        }
    };
    if let Err(refused) = query.confine(ctx) {
        return refused;
    }
    let page = match ctx
        .engine
        .records()
        .search_audit(&query.search, query.keyset, PAGE_SIZE)
    {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "console: audit search failed");
            let content = notice(true, "The store did not answer.");
            return Response::html(500, layout(ctx, "Audit log", Nav::Audit, content));
        }
    };
    let first = query.keyset == Keyset::First;
    let content = html! {
        (form_markup(ctx, &query))
        @if page.items.is_empty() && first { p { "No event matches." } }
        (table("Audit events, newest first", &page))
        nav.pager aria-label="Pages" {
            @if let Some(c) = page.newer {
                a href={ "/audit?" (query.fields.link(Some(("newer", c)))) } rel="prev" { "Previous page" }
            }
            @if !first && page.newer.is_none() {
                a href={ "/audit?" (query.fields.link(None)) } { "First page" }
            }
            @if let Some(c) = page.older {
                a href={ "/audit?" (query.fields.link(Some(("older", c)))) } rel="next" { "Next page" }
            }
        }
    };
    Response::html(200, layout(ctx, "Audit log", Nav::Audit, content))
}

/// A certificate's audit trail (its newest events), for its page.
pub(crate) fn trail(ctx: &Ctx<'_>, ca: &str, serial: &Serial) -> Markup {
    let search = AuditSearch {
        issuer: Some(ca.to_owned()),
        serial: Some(serial.clone()),
        ..AuditSearch::default()
    };
    let all = format!("/audit?ca={}&serial={}", encode(ca), serial.to_hex());
    match ctx
        .engine
        .records()
        .search_audit(&search, Keyset::First, TRAIL_SIZE)
    {
        Ok(page) => html! {
            section aria-labelledby="trail" {
                h2 id="trail" { "Audit trail" }
                @if page.items.is_empty() {
                    p { "No event names this certificate." }
                } @else {
                    (table("Events of this certificate, newest first", &page))
                }
                @if page.older.is_some() {
                    p { a href=(all) { "All events of this certificate" } }
                }
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "console: audit trail failed");
            html! {
                section aria-labelledby="trail" {
                    h2 id="trail" { "Audit trail" }
                    (notice(true, "The store did not answer."))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmc_ca::types::Cursor;

    #[test]
    fn json_details_read_as_fields_and_text_stays_text() {
        let m = detail(r#"{"subject":"CN=a <b>","sans":["dNSName:x"],"n":3}"#).into_string();
        assert!(m.contains("<dt>subject</dt><dd>CN=a &lt;b&gt;</dd>"), "{m}");
        assert!(
            m.contains("<dt>sans</dt><dd>[&quot;dNSName:x&quot;]</dd>"),
            "{m}"
        );
        assert!(m.contains("<dt>n</dt><dd>3</dd>"), "{m}");
        assert_eq!(
            detail("client \"x\", role ra").into_string(),
            "client &quot;x&quot;, role ra"
        );
        assert_eq!(detail("[1,2]").into_string(), "[1,2]");
    }

    #[test]
    fn the_form_becomes_the_search_and_links_keep_it() {
        let form = Form::parse(
            "requester=console%3Aadmin&kind=revoked&ca=root&serial=4a:1f&text=key\
             &from=2026-12-01&to=2026-12-04&newer=17",
        );
        let q = Query::from_form(&form).unwrap();
        assert_eq!(q.search.requester.as_deref(), Some("console:admin"));
        assert_eq!(q.search.kind, Some(AuditKind::Revoked));
        assert_eq!(
            q.search.serial.as_ref().map(Serial::to_hex).as_deref(),
            Some("4a1f")
        );
        assert_eq!(q.search.at.until, parse_day("2026-12-05"));
        assert_eq!(q.keyset, Keyset::Newer(Cursor(17)));
        let link = q.fields.link(Some(("older", Cursor(5))));
        let again = Query::from_form(&Form::parse(&link)).unwrap();
        assert_eq!(again.search, q.search);
        assert_eq!(again.keyset, Keyset::Older(Cursor(5)));
        for bad in [
            "serial=zz",
            "from=2026-02-30",
            "from=2026-02-02&to=2026-02-01",
            "older=x",
        ] {
            assert!(Query::from_form(&Form::parse(bad)).is_err(), "{bad}");
        }
    }
}
