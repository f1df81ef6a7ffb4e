//! The overview: each CA with its validity, key backend and certificate
//! counts by status, and the requests waiting for a decision.

use std::collections::BTreeMap;

use cmc_ca::KeyConfig;
use cmc_ca::types::{CertStatus, PendingFilter, PendingStatus};
use maud::html;

use super::{Nav, layout, notice, time};
use crate::{Ctx, Response};

/// The key backend of a CA, for a person.
fn backend(key: &KeyConfig) -> String {
    match key {
        KeyConfig::File { unencrypted, .. } if *unencrypted => "file (unencrypted)".to_owned(),
        KeyConfig::File { .. } => "file (encrypted PKCS#8)".to_owned(),
        KeyConfig::Pkcs11 { token_label, .. } => format!("PKCS#11 token {token_label:?}"),
    }
}

pub(crate) fn page(ctx: &Ctx<'_>) -> Response {
    let records = ctx.engine.records();
    let now = ctx.engine.now();
    // One GROUP BY in the store, not a listing of every certificate.
    let mut counts: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    let rows = match records.status_counts() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "console: counting certificates failed");
            return Response::html(
                500,
                layout(
                    ctx,
                    "Overview",
                    Nav::Overview,
                    notice(true, "The store did not answer."),
                ),
            );
        }
    };
    for row in rows {
        let slot = match row.status {
            CertStatus::Issued => 0,
            CertStatus::Revoked => 1,
            CertStatus::Reserved => 2,
            _ => 3,
        };
        counts.entry(row.issuer).or_default()[slot] += row.count;
    }
    let waiting = records
        .pending(&PendingFilter {
            status: Some(PendingStatus::Pending),
            ..PendingFilter::default()
        })
        .map(|p| {
            p.iter()
                .filter(|r| ctx.session.may_act_on_ca(&r.ca))
                .count()
        })
        .unwrap_or(0);
    let content = html! {
        p {
            a href="/pending?state=pending" { (waiting) " request(s) waiting for a decision" }
        }
        table {
            caption { "Certificate authorities" }
            thead { tr {
                th scope="col" { "CA" }
                th scope="col" { "Subject" }
                th scope="col" { "Valid from" }
                th scope="col" { "Valid until" }
                th scope="col" { "Key" }
                th scope="col" { "Issued" }
                th scope="col" { "Revoked" }
                th scope="col" { "Reserved" }
                th scope="col" { "Failed" }
                th scope="col" { "Current CRL" }
            } }
            tbody {
                @for ca in ctx.engine.cas().into_iter().filter(|ca| ctx.session.may_act_on_ca(ca.name())) {
                    @let n = counts.get(ca.name()).copied().unwrap_or_default();
                    tr {
                        th scope="row" { a href={ "/certs?ca=" (ca.name()) } { (ca.name()) } }
                        td { (ca.subject().to_string()) }
                        td { (time(ca.not_before())) }
                        td {
                            (time(ca.not_after()))
                            @if ca.not_after().secs() <= now.secs() { " " strong { "(expired)" } }
                        }
                        td { (backend(ca.key_config())) }
                        td.num { (n[0]) }
                        td.num { (n[1]) }
                        td.num { (n[2]) }
                        td.num { (n[3]) }
                        td {
                            @match ctx.engine.current_crl_shared(ca.name()) {
                                Ok(crl) => {
                                    "number " (crl.crl_number) ", " (crl.der.len()) " bytes; "
                                    "issued " (time(crl.this_update)) ", next " (time(crl.next_update))
                                }
                                Err(e) => { span.badge.revoked { "unavailable" } " " (e.to_string()) }
                            }
                        }
                    }
                }
            }
        }
        (super::chart::section(ctx))
    };
    Response::html(200, layout(ctx, "Overview", Nav::Overview, content))
}
