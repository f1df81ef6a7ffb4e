//! A registered client's new credential (its key rotated, or its
//! certificate renewed): the engine's `replace_client_credential`, as
//! `cmc-tool client reissue ID [--csr FILE]` — the subject, role and grants
//! stay, and the current certificate no longer identifies the client
//! (revoked too, when the operator ticks it).

use cmc_ca::types::ClientRecord;
use cmc_ca::{ClientCsr, ReplaceCredentialRequest};
use maud::html;

use super::clients_admin::issued;
use super::{Nav, csrf, layout, not_found, notice, time};
use crate::form::Form;
use crate::{Ctx, Response};

/// Validity when none is asked for (as `cmc-tool client reissue`).
const DEFAULT_DAYS: u32 = 365;
/// The longest validity the form accepts.
const MAX_DAYS: u32 = 3650;

/// What the form says, kept to show again after an error.
#[derive(Default)]
struct Values {
    key: String,
    csr: String,
    ca: String,
    days: String,
    revoke_previous: bool,
}

impl Values {
    fn of(form: &Form) -> Self {
        let text = |n: &str| form.get(n).unwrap_or("").trim().to_owned();
        Self {
            key: text("key"),
            csr: text("csr"),
            ca: text("ca"),
            days: text("days"),
            revoke_previous: form.get("revoke_previous") == Some("yes"),
        }
    }
}

fn client(ctx: &Ctx<'_>, id: &str) -> Result<ClientRecord, Response> {
    match ctx.engine.records().client(id) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(not_found(ctx, "There is no such client.")),
        Err(e) => {
            tracing::error!(error = %e, "console: client lookup failed");
            Err(Response::text(500, "the store did not answer\n"))
        }
    }
}

fn form_page(
    ctx: &Ctx<'_>,
    c: &ClientRecord,
    v: &Values,
    error: Option<&str>,
    status: u16,
) -> Response {
    let days = if v.days.is_empty() {
        DEFAULT_DAYS.to_string()
    } else {
        v.days.clone()
    };
    let content = html! {
        @if let Some(e) = error { (notice(true, e)) }
        dl {
            dt { "Client" } dd { (c.id) }
            dt { "Role" } dd { (c.role) }
            dt { "Subject" } dd { (c.subject.as_deref().unwrap_or("")) }
            dt { "Current credential ends" } dd { (c.expires_at.map(time).unwrap_or_else(|| "never".to_owned())) }
        }
        p.hint {
            "A new certificate with the same subject, role and grants. From now on only the new one identifies the client. "
            "The same as " code { "cmc-tool client reissue " (c.id) } "."
        }
        form method="post" action={ "/clients/" (c.id) "/reissue" } {
            (csrf(ctx))
            fieldset {
                legend { "The client's key" }
                input type="radio" id="key-csr" name="key" value="csr" checked[v.key != "generate"];
                label for="key-csr" { "made by the client: its certificate request below (recommended; the key never leaves it)" }
                br;
                input type="radio" id="key-generate" name="key" value="generate" checked[v.key == "generate"];
                label for="key-generate" { "generate one here (P-256; shown once, encrypted under a new passphrase, kept nowhere)" }
            }
            p {
                label for="csr" { "Certificate request (PKCS #10, PEM) made by the client, for its current subject" }
                textarea.mono id="csr" name="csr" rows="10" placeholder="-----BEGIN CERTIFICATE REQUEST-----" { (v.csr) }
            }
            p {
                label for="ca" { "CA that signs the new credential" }
                select id="ca" name="ca" {
                    option value="" selected[v.ca.is_empty()] { "the CA that signed the current one" }
                    @for ca in ctx.engine.ca_names() {
                        option value=(ca) selected[ca == v.ca] { (ca) }
                    }
                }
            }
            p {
                label for="days" { "Days the new credential is valid" }
                input type="number" id="days" name="days" value=(days) min="1" max=(MAX_DAYS) required;
            }
            p {
                input type="checkbox" id="revoke_previous" name="revoke_previous" value="yes" checked[v.revoke_previous];
                label for="revoke_previous" { "Revoke the current certificate (superseded) once the new one is registered" }
            }
            p { button type="submit" { "Issue the new credential" } }
        }
        p { a href="/clients" { "Back to the clients" } }
    };
    Response::html(
        status,
        layout(
            ctx,
            &format!("New credential for {}", c.id),
            Nav::Clients,
            content,
        ),
    )
}

/// `GET /clients/ID/reissue`.
pub(crate) fn reissue_form(ctx: &Ctx<'_>, id: &str) -> Response {
    match client(ctx, id) {
        Ok(c) => form_page(ctx, &c, &Values::default(), None, 200),
        Err(r) => r,
    }
}

/// `POST /clients/ID/reissue` (the router lets administrators only):
/// checks the form and the request, then issues; nothing is stored unless
/// the credential is issued.
pub(crate) fn reissue(ctx: &Ctx<'_>, id: &str, form: &Form) -> Response {
    let c = match client(ctx, id) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let v = Values::of(form);
    let refuse = |status: u16, text: String| form_page(ctx, &c, &v, Some(&text), status);
    if c.disabled_at.is_some() {
        return refuse(
            409,
            format!("Client {id} is disabled: a disabled client gets no new credential."),
        );
    }
    let days = match v.days.parse::<u32>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => d,
        _ => {
            return refuse(
                400,
                format!("Days: give a whole number from 1 to {MAX_DAYS}."),
            );
        }
    };
    let ca = (!v.ca.is_empty()).then(|| v.ca.clone());
    if let Some(name) = &ca
        && let Err(e) = ctx.engine.ca(name)
    {
        return refuse(400, format!("CA that signs: {e}."));
    }
    let (public_key, generated) = match v.key.as_str() {
        "" | "csr" => {
            if v.csr.is_empty() {
                return refuse(400, "Paste the client's certificate request (PEM).".into());
            }
            let csr = match ClientCsr::parse(v.csr.as_bytes()) {
                Ok(csr) => csr,
                Err(e) => return refuse(400, format!("Certificate request: {e}.")),
            };
            if let Err(e) = csr.check_for_client(&c) {
                return refuse(400, format!("Certificate request: {e}."));
            }
            (csr.public_key().clone(), None)
        }
        "generate" if v.csr.is_empty() => match cmc_ca::generate_client_key() {
            Ok(k) => (k.public_key.clone(), Some(k)),
            Err(e) => {
                tracing::error!(error = %e, "console: generating a client key failed");
                return refuse(500, "The key could not be made.".into());
            }
        },
        "generate" => {
            return refuse(
                400,
                "Give the client's certificate request or choose a key made here, not both.".into(),
            );
        }
        _ => {
            return refuse(
                400,
                "The client's key: choose its request or a key made here.".into(),
            );
        }
    };
    let credential = match ctx
        .engine
        .replace_client_credential(&ReplaceCredentialRequest {
            client_id: c.id.clone(),
            ca,
            public_key,
            validity_days: days,
            revoke_previous: v.revoke_previous,
            requester: ctx.requester(),
        }) {
        Ok(credential) => credential,
        Err(e) => return refuse(400, format!("Not issued: {e}.")),
    };
    tracing::info!(
        operator = ctx.session.operator,
        client = c.id,
        serial = %credential.serial,
        revoked_previous = v.revoke_previous,
        "console: client credential replaced"
    );
    let message = format!(
        "Client {id} has a new credential (serial {} of CA {}){}.",
        credential.serial,
        credential.ca,
        if v.revoke_previous {
            "; the previous certificate is revoked"
        } else {
            "; the previous certificate no longer identifies it"
        }
    );
    issued(
        ctx,
        "New credential issued",
        &message,
        &credential,
        generated.as_ref(),
    )
}
