//! The certificate search: every filter of the store's paged query
//! ([`cmc_ca::Records::search_certs`]), pages of 50 newest first with
//! keyset links that keep the filters, and the CSV export read page by
//! page up to [`CSV_CAP`] rows.

use cmc_ca::UnixTime;
use cmc_ca::types::{
    CertRecord, CertSearch, CertStatus, Keyset, MAX_SEARCH_PAGE, SearchPage, SerialPrefix,
    TimeRange,
};
use maud::{Markup, html};

use super::certs::{reason_name, status_badge};
use super::given::{Given, keyset};
use super::{Nav, layout, notice, time};
use crate::form::{Form, encode};
use crate::{Ctx, Response};

/// Certificates per page.
pub(crate) const PAGE_SIZE: u32 = 50;

/// The most rows one CSV export holds; a search that finds more says so
/// (the `x-export-truncated` header and the link text) and is narrowed
/// with its filters.
pub(crate) const CSV_CAP: usize = 100_000;

/// The text fields of the form: (name, label, what the store gets).
const TEXT_FIELDS: [(&str, &str); 5] = [
    ("q", "Subject, SAN or serial"),
    ("subject", "Subject contains"),
    ("san", "Subject alternative name (exact)"),
    ("serial", "Serial (hex, or its first digits)"),
    ("requester", "Requester"),
];

/// The date fields: (name, label). `_from` is the first day, `_to` the
/// last day (both included).
const DATE_FIELDS: [(&str, &str); 6] = [
    ("issued_from", "Issued from"),
    ("issued_to", "Issued until"),
    ("valid_from", "Valid from (notBefore) after"),
    ("valid_to", "Valid from (notBefore) before"),
    ("expires_from", "Expires (notAfter) from"),
    ("expires_to", "Expires (notAfter) until"),
];

/// A search as the form and the links carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Query {
    /// The form's fields, as given (non-blank ones), in a fixed order.
    pub(crate) fields: Given,
    pub(crate) search: CertSearch,
    pub(crate) keyset: Keyset,
}

/// `n` with commas between thousands, as the page shows counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The day `text` (`YYYY-MM-DD`) starts, UTC.
pub(crate) fn parse_day(text: &str) -> Option<UnixTime> {
    let mut it = text.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (the inverse of `pages::civil`).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = UnixTime::from_secs(days * 86_400);
    // 2026-02-31 is not a day: it would come back as March 3rd.
    time(t).starts_with(text).then_some(t)
}

/// The range of two day fields, the second day included.
fn day_range(form: &Form, from: &str, to: &str) -> Result<TimeRange, String> {
    let day = |name: &str| -> Result<Option<UnixTime>, String> {
        form.get(name)
            .map(|v| parse_day(v).ok_or_else(|| format!("{v:?} is not a date (YYYY-MM-DD)")))
            .transpose()
    };
    let range = TimeRange {
        from: day(from)?,
        until: day(to)?.map(|t| t.plus_secs(86_400)),
    };
    match (range.from, range.until) {
        (Some(f), Some(u)) if f >= u => Err("a date range ends before it starts".to_owned()),
        _ => Ok(range),
    }
}

impl Query {
    /// Reads the form; a field that does not parse is an error for the
    /// operator (the page shows it).
    pub(crate) fn from_form(form: &Form) -> Result<Self, String> {
        let fields = Given::of(
            form,
            TEXT_FIELDS
                .iter()
                .map(|(n, _)| *n)
                .chain(["ca", "status"])
                .chain(DATE_FIELDS.iter().map(|(n, _)| *n)),
        );
        let text = |name: &str| form.get(name).map(str::to_owned);
        let status = match form.get("status") {
            None => None,
            Some("issued") => Some(CertStatus::Issued),
            Some("revoked") => Some(CertStatus::Revoked),
            Some("reserved") => Some(CertStatus::Reserved),
            Some("failed") => Some(CertStatus::Failed),
            Some(other) => return Err(format!("{other:?} is not a status")),
        };
        let serial = form
            .get("serial")
            .map(|s| SerialPrefix::parse(s).map_err(|e| e.to_string()))
            .transpose()?;
        let search = CertSearch {
            text: text("q"),
            issuer: text("ca"),
            subject: text("subject"),
            san: text("san"),
            serial,
            requester: text("requester"),
            status,
            not_before: day_range(form, "valid_from", "valid_to")?,
            not_after: day_range(form, "expires_from", "expires_to")?,
            issued: day_range(form, "issued_from", "issued_to")?,
        };
        let keyset = keyset(form)?;
        Ok(Self {
            fields,
            search,
            keyset,
        })
    }

    /// Keeps an agent's search inside the CAs its grants cover.
    fn confine(&mut self, ctx: &Ctx<'_>) -> Result<(), Response> {
        self.fields.confine(ctx, &mut self.search.issuer)
    }
}

fn search_form(ctx: &Ctx<'_>, q: &Query) -> Markup {
    let status = q.fields.value("status");
    html! {
        form.search method="get" action="/certs" role="search" {
            @for (name, label) in TEXT_FIELDS {
                p {
                    label for=(name) { (label) }
                    input id=(name) name=(name) type=(if name == "q" { "search" } else { "text" })
                        value=(q.fields.value(name));
                }
            }
            p {
                label for="ca" { "CA" }
                select id="ca" name="ca" {
                    @if ctx.session.may_administer() { option value="" { "any" } }
                    @for name in ctx.engine.ca_names().into_iter().filter(|n| ctx.session.may_act_on_ca(n)) {
                        option value=(name) selected[q.fields.value("ca") == name] { (name) }
                    }
                }
            }
            p {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "any" }
                    @for st in ["issued", "revoked", "reserved", "failed"] {
                        option value=(st) selected[status == st] { (st) }
                    }
                }
            }
            @for (name, label) in DATE_FIELDS {
                p {
                    label for=(name) { (label) }
                    input id=(name) name=(name) type="date" value=(q.fields.value(name));
                }
            }
            p { button type="submit" { "Search" } }
        }
    }
}

fn store_error(ctx: &Ctx<'_>, e: &cmc_ca::Error) -> Response {
    tracing::error!(error = %e, "console: certificate search failed");
    Response::html(
        500,
        layout(
            ctx,
            "Certificates",
            Nav::Certs,
            notice(true, "The store did not answer."),
        ),
    )
}

fn table(page: &SearchPage<CertRecord>) -> Markup {
    html! {
        table {
            caption { "Certificates, newest first" }
            thead { tr {
                th scope="col" { "Serial" }
                th scope="col" { "CA" }
                th scope="col" { "Subject" }
                th scope="col" { "Names" }
                th scope="col" { "Valid until" }
                th scope="col" { "Requester" }
                th scope="col" { "Status" }
            } }
            tbody {
                @for c in &page.items {
                    tr {
                        td.mono { a href={ "/certs/" (encode(&c.issuer)) "/" (c.serial.to_hex()) } { (c.serial.to_hex()) } }
                        td { (c.issuer) }
                        td { (c.certificate().map_or("", |x| x.subject.as_str())) }
                        td { (c.certificate().map(|x| x.sans.join(", ")).unwrap_or_default()) }
                        td { (c.certificate().map(|x| time(x.not_after)).unwrap_or_default()) }
                        td { (c.requester) }
                        td { (status_badge(c)) }
                    }
                }
            }
        }
    }
}

/// `GET /certs`.
pub(crate) fn list(ctx: &Ctx<'_>, form: &Form) -> Response {
    let mut query = match Query::from_form(form) {
        Ok(q) => q,
        Err(message) => {
            let content = html! {
                (notice(true, &message))
                p { a href="/certs" { "Start a new search" } }
            };
            return Response::html(400, layout(ctx, "Certificates", Nav::Certs, content));
        }
    };
    if let Err(refused) = query.confine(ctx) {
        return refused;
    }
    let page = match ctx
        .engine
        .records()
        .search_certs(&query.search, query.keyset, PAGE_SIZE)
    {
        Ok(p) => p,
        Err(e) => return store_error(ctx, &e),
    };
    let first = query.keyset == Keyset::First;
    let content = html! {
        (search_form(ctx, &query))
        p {
            @if page.items.is_empty() && first {
                "0 certificate(s) match. "
            } @else {
                (page.items.len()) " certificate(s) on this page"
                @if page.older.is_some() { ", more on the next" }
                ". "
            }
            a href={ "/certs.csv?" (query.fields.link(None)) } download {
                "Export as CSV (newest first, at most " (thousands(CSV_CAP)) " rows)"
            }
        }
        (table(&page))
        nav.pager aria-label="Pages" {
            @if let Some(c) = page.newer {
                a href={ "/certs?" (query.fields.link(Some(("newer", c)))) } rel="prev" { "Previous page" }
            }
            @if !first && page.newer.is_none() {
                a href={ "/certs?" (query.fields.link(None)) } { "First page" }
            }
            @if let Some(c) = page.older {
                a href={ "/certs?" (query.fields.link(Some(("older", c)))) } rel="next" { "Next page" }
            }
        }
    };
    Response::html(200, layout(ctx, "Certificates", Nav::Certs, content))
}

/// `GET /certs.csv`: the search's rows, read a page of
/// [`MAX_SEARCH_PAGE`] at a time, at most [`CSV_CAP`].
pub(crate) fn csv(ctx: &Ctx<'_>, form: &Form) -> Response {
    csv_capped(ctx, form, CSV_CAP)
}

/// [`csv`] with at most `cap` rows.
pub(crate) fn csv_capped(ctx: &Ctx<'_>, form: &Form, cap: usize) -> Response {
    let mut query = match Query::from_form(form) {
        Ok(q) => q,
        Err(message) => return Response::text(400, &format!("{message}\n")),
    };
    if let Err(refused) = query.confine(ctx) {
        return refused;
    }
    let mut out = crate::csv::Writer::new(&[
        "ca",
        "serial",
        "status",
        "subject",
        "sans",
        "not_before",
        "not_after",
        "requester",
        "profile",
        "revoked_at",
        "revocation_reason",
    ]);
    let records = ctx.engine.records();
    let mut keyset = Keyset::First;
    let mut rows = 0_usize;
    let truncated = loop {
        let left = cap - rows;
        let size = u32::try_from(left).map_or(MAX_SEARCH_PAGE, |l| l.min(MAX_SEARCH_PAGE));
        let page = match records.search_certs(&query.search, keyset, size) {
            Ok(p) => p,
            Err(e) => return store_error(ctx, &e),
        };
        for c in &page.items {
            let cert = c.certificate();
            let rev = c.revocation();
            out.row(&[
                &c.issuer,
                &c.serial.to_hex(),
                c.status().as_str(),
                cert.map_or("", |x| x.subject.as_str()),
                &cert.map(|x| x.sans.join(" ")).unwrap_or_default(),
                &cert.map(|x| time(x.not_before)).unwrap_or_default(),
                &cert.map(|x| time(x.not_after)).unwrap_or_default(),
                &c.requester,
                &c.profile,
                &rev.map(|r| time(r.revoked_at)).unwrap_or_default(),
                rev.map_or("", |r| reason_name(r.reason)),
            ]);
        }
        rows += page.items.len();
        match page.older {
            None => break false,
            Some(_) if rows >= cap => break true,
            Some(c) => keyset = Keyset::Older(c),
        }
    };
    let response = Response::file("text/csv; charset=utf-8", "certificates.csv", out.finish());
    if truncated {
        response.with(
            "x-export-truncated",
            format!("{cap} rows; narrow the search"),
        )
    } else {
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmc_ca::types::Cursor;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn days_parse_and_impossible_ones_do_not() {
        assert_eq!(parse_day("1970-01-01"), Some(UnixTime::from_secs(0)));
        assert_eq!(
            parse_day("2026-12-04"),
            Some(UnixTime::from_secs(1_796_342_400))
        );
        assert_eq!(
            parse_day("2000-02-29"),
            Some(UnixTime::from_secs(951_782_400))
        );
        for bad in [
            "2026-02-31",
            "2026-13-01",
            "2026-1",
            "x",
            "2026-01-01T00:00",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_form_becomes_the_store_search_and_back() {
        let form = Form::parse(
            "q=&subject=Alice&san=www.example.com&serial=0x4A:1F&requester=ra%201\
             &ca=root&status=revoked&issued_from=2026-01-01&issued_to=2026-01-31\
             &expires_to=2027-01-01&older=1234&junk=1",
        );
        let q = Query::from_form(&form).unwrap();
        assert_eq!(q.search.subject.as_deref(), Some("Alice"));
        assert_eq!(q.search.text, None);
        assert_eq!(q.search.san.as_deref(), Some("www.example.com"));
        assert_eq!(
            q.search.serial.as_ref().map(SerialPrefix::as_str),
            Some("4a1f")
        );
        assert_eq!(q.search.requester.as_deref(), Some("ra 1"));
        assert_eq!(q.search.status, Some(CertStatus::Revoked));
        assert_eq!(q.search.issued.from, parse_day("2026-01-01"));
        // The last day is included.
        assert_eq!(q.search.issued.until, parse_day("2026-02-01"));
        assert_eq!(q.search.not_after.until, parse_day("2027-01-02"));
        assert_eq!(q.keyset, Keyset::Older(Cursor(1234)));
        // The links keep every filter, not the old cursor nor unknown fields.
        let next = q.fields.link(Some(("older", Cursor(99))));
        assert_eq!(
            next,
            "subject=Alice&san=www%2Eexample%2Ecom&serial=0x4A%3A1F&requester=ra%201&ca=root\
             &status=revoked&issued_from=2026%2D01%2D01&issued_to=2026%2D01%2D31\
             &expires_to=2027%2D01%2D01&older=99"
        );
        let again = Query::from_form(&Form::parse(&next)).unwrap();
        assert_eq!(again.search, q.search);
        assert_eq!(again.keyset, Keyset::Older(Cursor(99)));
    }

    #[test]
    fn bad_fields_are_refused_with_a_reason() {
        for (query, why) in [
            ("serial=xyz", "not a hex digit"),
            ("status=lost", "not a status"),
            ("issued_from=2026-02-31", "not a date"),
            ("issued_from=2026-02-02&issued_to=2026-02-01", "ends before"),
            ("older=abc", "damaged"),
            ("older=1&newer=2", "damaged"),
        ] {
            let e = Query::from_form(&Form::parse(query)).unwrap_err();
            assert!(e.contains(why), "{query}: {e}");
        }
    }
}
