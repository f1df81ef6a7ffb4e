//! One certificate: decoded fields, PEM/DER download, its audit trail,
//! revoke with reason and confirmation, lift a hold (the search and CSV
//! export are in [`super::search`]).

use cmc_ca::types::{CertRecord, CertStatus};
use cmc_ca::{RevocationReason, Serial};
use der::{Decode as _, EncodePem as _};
use maud::{Markup, html};
use x509_cert::Certificate;

use super::{Nav, csrf, forbidden, layout, not_found, notice, oid_name, time};
use crate::form::Form;
use crate::{Ctx, Response};

/// The reasons an operator may revoke with (removeFromCRL lifts a hold:
/// that is [`unhold`]).
pub(crate) const REASONS: [(u8, &str); 9] = [
    (0, "unspecified"),
    (1, "keyCompromise"),
    (2, "cACompromise"),
    (3, "affiliationChanged"),
    (4, "superseded"),
    (5, "cessationOfOperation"),
    (6, "certificateHold (can be lifted)"),
    (9, "privilegeWithdrawn"),
    (10, "aACompromise"),
];

/// The name of a CRLReason code.
pub(crate) fn reason_name(reason: RevocationReason) -> &'static str {
    let code = reason.code();
    REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("removeFromCRL", |(_, n)| n.split(' ').next().unwrap_or(n))
}

pub(crate) fn status_badge(c: &CertRecord) -> Markup {
    match c.revocation() {
        Some(r) if r.reason == RevocationReason::CertificateHold => {
            html! { span.badge.hold { "on hold" } }
        }
        Some(_) => html! { span.badge.revoked { "revoked" } },
        None => html! { span.badge { (c.status().as_str()) } },
    }
}

/// `serial` in hex (colons allowed), as a serial.
pub(crate) fn parse_serial(text: &str) -> Option<Serial> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    let hex = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex
    };
    let bytes = base16ct::mixed::decode_vec(hex.as_bytes()).ok()?;
    Serial::from_be_bytes(&bytes).ok()
}

/// The record of `ca`/`serial`, or the 404 page.
fn find(ctx: &Ctx<'_>, ca: &str, serial: &str) -> Result<(Serial, CertRecord), Response> {
    let missing = || not_found(ctx, "There is no such certificate.");
    if !ctx.session.may_act_on_ca(ca) {
        return Err(forbidden(ctx, "Your grants do not cover this CA."));
    }
    let serial = parse_serial(serial).ok_or_else(missing)?;
    match ctx.engine.records().certificate(ca, &serial) {
        Ok(Some(r)) => Ok((serial, r)),
        Ok(None) => Err(missing()),
        Err(e) => {
            tracing::debug!(error = %e, "console: certificate lookup failed");
            Err(missing())
        }
    }
}

pub(crate) fn show(
    ctx: &Ctx<'_>,
    ca: &str,
    serial: &str,
    message: Option<(bool, String)>,
) -> Response {
    if let Some((serial_text, kind)) = super::chain::download_name(serial) {
        return match find(ctx, ca, serial_text) {
            Ok((serial, record)) => super::chain::download(ctx, &record, &serial.to_hex(), kind),
            Err(r) => r,
        };
    }
    // `SERIAL.pem` and `SERIAL.der` are the downloads.
    let (serial_text, download) = match serial.rsplit_once('.') {
        Some((s, ext @ ("pem" | "der"))) => (s, Some(ext)),
        _ => (serial, None),
    };
    let (serial, record) = match find(ctx, ca, serial_text) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let cert = record.certificate();
    if let Some(ext) = download {
        let Some(cert) = cert else {
            return not_found(ctx, "This serial has no certificate.");
        };
        let name = format!("{ca}-{}.{ext}", serial.to_hex());
        if ext == "der" {
            return Response::file("application/pkix-cert", &name, cert.cert_der.clone());
        }
        let pem =
            Certificate::from_der(&cert.cert_der).and_then(|c| c.to_pem(der::pem::LineEnding::LF));
        return match pem {
            Ok(p) => Response::file("application/x-pem-file", &name, p.into_bytes()),
            Err(_) => not_found(ctx, "The stored certificate does not decode."),
        };
    }
    let title = format!("Certificate {}", serial.to_hex());
    let base = format!("/certs/{ca}/{}", serial.to_hex());
    let decoded = cert.and_then(|c| Certificate::from_der(&c.cert_der).ok());
    let rev = record.revocation();
    let status = if message.as_ref().is_some_and(|(e, _)| !e) {
        200
    } else {
        message.as_ref().map_or(200, |_| 400)
    };
    let content = html! {
        @if let Some((error, text)) = &message { (notice(*error, text)) }
        dl.fields {
            dt { "CA" } dd { (record.issuer) }
            dt { "Serial" } dd.mono { (serial.to_hex()) }
            dt { "Status" } dd { (status_badge(&record)) }
            @if let Some(r) = rev {
                dt { "Revoked" } dd { (time(r.revoked_at)) ", " (reason_name(r.reason)) }
                @if let Some(d) = r.invalidity_date { dt { "Invalidity date" } dd { (time(d)) } }
            }
            dt { "Requester" } dd { (record.requester) }
            dt { "Profile" } dd { (record.profile) }
            @if let Some(c) = cert {
                dt { "Subject" } dd { (c.subject) }
                dt { "Subject alternative names" } dd { @if c.sans.is_empty() { "none" } @else { (c.sans.join(", ")) } }
                dt { "Valid from" } dd { (time(c.not_before)) }
                dt { "Valid until" } dd { (time(c.not_after)) }
            }
            @if let Some(d) = &decoded {
                @let tbs = d.tbs_certificate();
                dt { "Issuer" } dd { (tbs.issuer().to_string()) }
                dt { "Public key" } dd.mono { (oid_name(&tbs.subject_public_key_info().algorithm.oid)) }
                dt { "Signature algorithm" } dd.mono { (oid_name(&d.signature_algorithm().oid)) }
                dt { "Extensions" } dd.mono {
                    @for e in tbs.extensions().map(|v| v.as_slice()).unwrap_or_default() {
                        (oid_name(&e.extn_id)) @if e.critical { " (critical)" } br;
                    }
                }
            }
        }
        @if cert.is_some() {
            p.downloads {
                a href={ (base) ".pem" } download { "Download PEM" }
                " "
                a href={ (base) ".der" } download { "Download DER" }
            }
        }
        (super::chain::section(ctx, &record, &base))
        @match (record.status(), rev) {
            (CertStatus::Issued, _) => {
                form.danger method="post" action={ (base) "/revoke" } data-confirm="Revoke this certificate? Only certificateHold can be lifted later." {
                    h2 { "Revoke" }
                    (csrf(ctx))
                    p {
                        label for="reason" { "Reason" }
                        select id="reason" name="reason" required {
                            @for (code, name) in REASONS { option value=(code) { (name) } }
                        }
                    }
                    p {
                        input id="confirm" type="checkbox" name="confirm" value="yes" required;
                        label for="confirm" { "I confirm the revocation of serial " (serial.to_hex()) }
                    }
                    p { button type="submit" { "Revoke certificate" } }
                }
            }
            (_, Some(r)) if r.reason == RevocationReason::CertificateHold => {
                form method="post" action={ (base) "/unhold" } {
                    h2 { "Lift the hold" }
                    (csrf(ctx))
                    p { button type="submit" { "Lift the hold" } }
                }
            }
            _ => {}
        }
        (super::audit::trail(ctx, ca, &serial))
    };
    Response::html(status, layout(ctx, &title, Nav::Certs, content))
}

pub(crate) fn revoke(ctx: &Ctx<'_>, ca: &str, serial: &str, form: &Form) -> Response {
    let (serial, _) = match find(ctx, ca, serial) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let serial_hex = serial.to_hex();
    if form.get("confirm") != Some("yes") {
        return show(
            ctx,
            ca,
            &serial_hex,
            Some((true, "Tick the confirmation to revoke.".into())),
        );
    }
    let reason = form
        .get("reason")
        .and_then(|r| r.parse::<u8>().ok())
        .filter(|c| REASONS.iter().any(|(k, _)| k == c))
        .and_then(|c| RevocationReason::from_code(c).ok());
    let Some(reason) = reason else {
        return show(
            ctx,
            ca,
            &serial_hex,
            Some((true, "Choose a revocation reason.".into())),
        );
    };
    match ctx
        .engine
        .revoke(ca, &serial, reason, None, &ctx.requester())
    {
        Ok(outcome) if outcome.was_already_revoked() => show(
            ctx,
            ca,
            &serial_hex,
            Some((
                true,
                "It was already revoked: the first revocation stands.".into(),
            )),
        ),
        Ok(_) => Response::see_other(&format!("/certs/{ca}/{serial_hex}")),
        Err(e) => show(
            ctx,
            ca,
            &serial_hex,
            Some((true, format!("Not revoked: {e}"))),
        ),
    }
}

pub(crate) fn unhold(ctx: &Ctx<'_>, ca: &str, serial: &str) -> Response {
    let (serial, _) = match find(ctx, ca, serial) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let serial_hex = serial.to_hex();
    match ctx.engine.unrevoke(ca, &serial, &ctx.requester()) {
        Ok(()) => Response::see_other(&format!("/certs/{ca}/{serial_hex}")),
        Err(e) => show(
            ctx,
            ca,
            &serial_hex,
            Some((true, format!("The hold stays: {e}"))),
        ),
    }
}
