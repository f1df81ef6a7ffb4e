//! Adding a one-time enrollment secret (generated here, shown once on the
//! answer to the POST, never stored, logged or shown again: the engine
//! keeps only the keys derived from it) and revoking one: the engine's
//! `add_enroll_secret` and `revoke_secret`, as `cmc-tool secret add` and
//! `cmc-tool secret revoke`.

use cmc_ca::EnrollSecret;
use cmc_codec::identity::ProofHash;
use maud::{Markup, html};

use super::{Nav, csrf, layout, notice, secrets, time};
use crate::form::{Form, names};
use crate::{Ctx, Response};

/// Lifetime in days when none is asked for (as `cmc-tool secret add`).
const DEFAULT_DAYS: i64 = 7;
/// The longest lifetime the form accepts.
const MAX_DAYS: i64 = 3650;
const HASHES: [&str; 4] = ["sha256", "sha384", "sha512", "sha1"];

/// What the form says, kept to show again after an error (never the
/// secret: there is none before it is added).
#[derive(Default)]
struct Values {
    ca: String,
    identification: String,
    profile: String,
    days: String,
    hash: String,
    subject: String,
    dns: String,
    email: String,
    ip: String,
}

impl Values {
    fn of(form: &Form) -> Self {
        let text = |name: &str| form.get(name).unwrap_or("").to_owned();
        Self {
            ca: text("ca"),
            identification: text("identification"),
            profile: text("profile"),
            days: text("days"),
            hash: text("hash"),
            subject: text("subject"),
            dns: text("dns"),
            email: text("email"),
            ip: text("ip"),
        }
    }
}

fn form_page(ctx: &Ctx<'_>, v: &Values, error: Option<&str>, status: u16) -> Response {
    let cas = ctx.engine.ca_names();
    let profiles: Vec<&str> = ctx.engine.config().profiles.names().collect();
    let days = if v.days.is_empty() {
        DEFAULT_DAYS.to_string()
    } else {
        v.days.clone()
    };
    let hash = if v.hash.is_empty() { "sha256" } else { &v.hash };
    let content: Markup = html! {
        @if let Some(e) = error { (notice(true, e)) }
        p.hint {
            "A new random secret is made and shown once, on the next page; the CA keeps only keys derived from it. "
            "Its holder enrolls with it once (identity proof, RFC 5272 §6.2). The same as "
            code { "cmc-tool secret add" } "."
        }
        form method="post" action="/secrets/add" {
            (csrf(ctx))
            p {
                label for="ca" { "CA it enrolls with" }
                select id="ca" name="ca" {
                    @for ca in &cas { option value=(ca) selected[*ca == v.ca] { (ca) } }
                }
            }
            p {
                label for="identification" { "Identification (what the holder sends with it; unique per CA)" }
                input type="text" id="identification" name="identification" value=(v.identification) required maxlength="256";
            }
            p {
                label for="profile" { "Profile of its certificate" }
                select id="profile" name="profile" {
                    option value="" selected[v.profile.is_empty()] { "the CA's default" }
                    @for p in &profiles { option value=(p) selected[*p == v.profile] { (p) } }
                }
            }
            p {
                label for="days" { "Lifetime (days)" }
                input type="number" id="days" name="days" value=(days) min="1" max=(MAX_DAYS) required;
            }
            p {
                label for="hash" { "Hash of its proofs" }
                select id="hash" name="hash" {
                    @for h in HASHES { option value=(h) selected[h == hash] { (h) } }
                }
            }
            p {
                label for="subject" { "The only subject its holder may be issued (RFC 4514; empty: the profile's rules)" }
                input type="text" id="subject" name="subject" value=(v.subject);
            }
            p {
                label for="dns" { "DNS names its holder may be issued (one a line)" }
                textarea id="dns" name="dns" rows="2" { (v.dns) }
            }
            p {
                label for="email" { "E-mail addresses (one a line)" }
                textarea id="email" name="email" rows="2" { (v.email) }
            }
            p {
                label for="ip" { "IP addresses or ranges (one a line)" }
                textarea id="ip" name="ip" rows="2" { (v.ip) }
            }
            p { button type="submit" { "Add the secret" } }
        }
    };
    Response::html(
        status,
        layout(ctx, "Add a one-time secret", Nav::Secrets, content),
    )
}

/// `GET /secrets/add`.
pub(crate) fn add_form(ctx: &Ctx<'_>) -> Response {
    form_page(ctx, &Values::default(), None, 200)
}

/// `POST /secrets/add`: the secret is on this answer only (every console
/// answer is `Cache-Control: no-store`).
pub(crate) fn add(ctx: &Ctx<'_>, form: &Form) -> Response {
    let v = Values::of(form);
    let refuse = |text: String| form_page(ctx, &v, Some(&text), 400);
    if v.ca.is_empty() {
        return refuse("Choose the CA the secret enrolls with.".into());
    }
    if v.identification.is_empty() {
        return refuse("Identification: give the name its holder sends with it.".into());
    }
    let days = match v.days.parse::<i64>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => d,
        _ => {
            return refuse(format!(
                "Lifetime: give a whole number of days from 1 to {MAX_DAYS}."
            ));
        }
    };
    let Some(hash) = ProofHash::from_name(&v.hash) else {
        return refuse(format!("Hash: choose one of {}.", HASHES.join(", ")));
    };
    let subject = (!v.subject.is_empty()).then_some(v.subject.as_str());
    let space = match cmc_policy::NameSpace::from_args(
        subject,
        &names(&v.dns),
        &names(&v.email),
        &names(&v.ip),
    ) {
        Ok(s) => (!s.is_empty()).then_some(s),
        Err(e) => return refuse(format!("Names: {e}.")),
    };
    let secret = match cmc_ca::generate_secret() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "console: generating a secret failed");
            return Response::text(500, "the random number generator failed\n");
        }
    };
    let expires_at = ctx.engine.now().plus_secs(days * 86_400);
    let added = ctx.engine.add_enroll_secret(&EnrollSecret {
        ca: v.ca.clone(),
        identification: v.identification.clone(),
        secret: secret.clone(),
        hash,
        profile: (!v.profile.is_empty()).then(|| v.profile.clone()),
        expires_at,
        requester: ctx.requester(),
        names: space,
    });
    if let Err(e) = added {
        return refuse(format!("Not added: {e}."));
    }
    tracing::info!(
        operator = ctx.session.operator,
        ca = v.ca,
        identification = v.identification,
        "console: enrollment secret added"
    );
    let content = html! {
        (notice(false, &format!("Secret {:?} of CA {} added; it expires {}.", v.identification, v.ca, time(expires_at))))
        p { strong { "Copy the secret now: it is shown only this once, and cannot be shown again." } }
        p {
            label for="secret" { "The one-time secret" }
            input.mono type="text" id="secret" readonly value=(secret.as_str()) size="40";
        }
        p { "Give it to the holder of " strong { (v.identification) } " by a channel you trust; it is good for one enrollment." }
        p { a href="/secrets" { "Back to the secrets" } }
    };
    Response::html(200, layout(ctx, "Secret added", Nav::Secrets, content))
}

/// The revoke button of a secret that can still be used.
pub(crate) fn revoke_button(ctx: &Ctx<'_>, ca: &str, identification: &str) -> Markup {
    html! {
        form.inline method="post" action="/secrets/revoke" data-confirm={ "Revoke secret " (identification) "? It stops working now, for good." } {
            (csrf(ctx))
            input type="hidden" name="ca" value=(ca);
            input type="hidden" name="identification" value=(identification);
            button type="submit" aria-label={ "Revoke secret " (identification) } { "Revoke" }
        }
    }
}

/// `POST /secrets/revoke`.
pub(crate) fn revoke(ctx: &Ctx<'_>, form: &Form) -> Response {
    let (Some(ca), Some(id)) = (form.get("ca"), form.get("identification")) else {
        return secrets::list(ctx, Some("Say which secret to revoke.".to_owned()));
    };
    match ctx.engine.revoke_secret(ca, id, &ctx.requester()) {
        Ok(()) => Response::see_other("/secrets"),
        Err(e) => secrets::list(ctx, Some(format!("Not revoked: {e}"))),
    }
}
