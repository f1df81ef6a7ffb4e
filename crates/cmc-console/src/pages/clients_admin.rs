//! Adding a client and issuing its credential from a PKCS #10 request the
//! client made (its key never leaves it): the engine's `client_grants`,
//! `client_name_space`, `ClientCsr` (signature and name checks) and
//! `issue_client_credential`, exactly as `cmc-tool client add --issue
//! --csr FILE`; and the downloads of a client's certificate and CA chain.

use cmc_ca::types::ClientRole;
use cmc_ca::{ClientCredential, ClientCredentialRequest, ClientCsr, GeneratedClientKey};
use maud::{Markup, html};

use super::{Nav, csrf, layout, not_found, notice};
use crate::form::{Form, names};
use crate::{Ctx, Response};

/// Whether this session may administer: create principals that act for
/// others (RAs, agents and operators). The router already refuses every
/// change to clients to a session that may not administer (an agent's);
/// the add form asks again, so that no caller of `add` forgets it.
pub(crate) fn may_administer(ctx: &Ctx<'_>) -> bool {
    ctx.session.may_administer()
}

/// Credential validity when none is asked for (as `cmc-tool client add`).
const DEFAULT_DAYS: u32 = 365;
/// The longest credential validity the form accepts.
const MAX_DAYS: u32 = 3650;

/// What the form says, kept to show again after an error.
#[derive(Default)]
struct Values {
    id: String,
    role: String,
    cas: Vec<String>,
    profiles: Vec<String>,
    issuing_ca: String,
    subject: String,
    dns: String,
    email: String,
    ip: String,
    days: String,
    /// `csr` (the client's request) or `generate` (a key made here).
    key: String,
    csr: String,
}

impl Values {
    fn of(form: &Form) -> Self {
        let text = |name: &str| form.get(name).unwrap_or("").to_owned();
        let list = |name: &str| {
            form.all(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Self {
            id: text("id"),
            role: text("role"),
            cas: list("ca"),
            profiles: list("profile"),
            issuing_ca: text("issuing_ca"),
            subject: text("subject"),
            dns: text("dns"),
            email: text("email"),
            ip: text("ip"),
            days: text("days"),
            key: text("key"),
            csr: text("csr"),
        }
    }
}

fn role_of(text: &str) -> Option<ClientRole> {
    match text {
        "client" => Some(ClientRole::Client),
        "ra" => Some(ClientRole::Ra),
        "agent" => Some(ClientRole::Agent),
        "operator" => Some(ClientRole::Operator),
        _ => None,
    }
}

/// A client name the console can put in a path: 1-128 of `A-Z a-z 0-9 - _
/// . @`, not starting with a dot (the rule of `cmc-tool client add
/// --issue`, whose files are named after it).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

fn form_page(ctx: &Ctx<'_>, v: &Values, error: Option<&str>, status: u16) -> Response {
    let cas = ctx.engine.ca_names();
    let profiles: Vec<String> = ctx
        .engine
        .config()
        .profiles
        .names()
        .map(str::to_owned)
        .collect();
    let role = if v.role.is_empty() { "client" } else { &v.role };
    let days = if v.days.is_empty() {
        DEFAULT_DAYS.to_string()
    } else {
        v.days.clone()
    };
    let content: Markup = html! {
        @if let Some(e) = error { (notice(true, e)) }
        p.hint {
            "The client makes its key and a certificate request (for example "
            code { "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr -subj /CN=name" }
            "); paste the request below. Its signature must verify with its own key, and it must ask for names within the client's. "
            "The same as " code { "cmc-tool client add ID --issue --csr FILE" } "."
        }
        form method="post" action="/clients/add" {
            (csrf(ctx))
            p {
                label for="id" { "Client name" }
                input type="text" id="id" name="id" value=(v.id) required maxlength="128" aria-describedby="id-hint";
                small id="id-hint" { " Unique; letters, digits, - _ . @" }
            }
            p {
                label for="role" { "Role" }
                select id="role" name="role" {
                    option value="client" selected[role == "client"] { "client: an end entity requesting for itself" }
                    option value="ra" selected[role == "ra"] { "ra: a registration authority (needs administrator rights)" }
                    option value="agent" selected[role == "agent"] { "agent: decides pending requests (needs administrator rights)" }
                    option value="operator" selected[role == "operator"] { "operator: an agent that also administers in the console (needs administrator rights)" }
                }
            }
            fieldset {
                legend { "CAs it may use (none ticked: any CA)" }
                @for (i, ca) in cas.iter().enumerate() {
                    span.choice {
                        input type="checkbox" id={ "ca-" (i) } name="ca" value=(ca) checked[v.cas.contains(ca)];
                        label for={ "ca-" (i) } { (ca) }
                        " "
                    }
                }
            }
            fieldset {
                legend { "Profiles it may use (none ticked: any profile)" }
                @for (i, p) in profiles.iter().enumerate() {
                    span.choice {
                        input type="checkbox" id={ "profile-" (i) } name="profile" value=(p) checked[v.profiles.contains(p)];
                        label for={ "profile-" (i) } { (p) }
                        " "
                    }
                }
            }
            p {
                label for="issuing_ca" { "CA that signs the credential" }
                select id="issuing_ca" name="issuing_ca" {
                    @for ca in &cas {
                        option value=(ca) selected[*ca == v.issuing_ca] { (ca) }
                    }
                }
            }
            p {
                label for="subject" { "Subject (RFC 4514; empty: the request's)" }
                input type="text" id="subject" name="subject" value=(v.subject) placeholder="CN=device-7,O=Example";
            }
            p {
                label for="dns" { "DNS names an end entity may be issued (one a line; .example.com for every name under it)" }
                textarea id="dns" name="dns" rows="2" { (v.dns) }
            }
            p {
                label for="email" { "E-mail addresses it may be issued (one a line)" }
                textarea id="email" name="email" rows="2" { (v.email) }
            }
            p {
                label for="ip" { "IP addresses or ranges it may be issued (one a line, CIDR allowed)" }
                textarea id="ip" name="ip" rows="2" { (v.ip) }
            }
            p {
                label for="days" { "Days the credential is valid" }
                input type="number" id="days" name="days" value=(days) min="1" max=(MAX_DAYS) required;
            }
            fieldset {
                legend { "The client's key" }
                input type="radio" id="key-csr" name="key" value="csr" checked[v.key != "generate"];
                label for="key-csr" { "made by the client: its certificate request below (recommended; the key never leaves it)" }
                br;
                input type="radio" id="key-generate" name="key" value="generate" checked[v.key == "generate"];
                label for="key-generate" { "generate one here (P-256; shown once, encrypted under a new passphrase, kept nowhere; give the subject above)" }
            }
            p {
                label for="csr" { "Certificate request (PKCS #10, PEM) made by the client" }
                textarea.mono id="csr" name="csr" rows="10" placeholder="-----BEGIN CERTIFICATE REQUEST-----" { (v.csr) }
            }
            p { button type="submit" { "Add client and issue its credential" } }
        }
    };
    Response::html(status, layout(ctx, "Add a client", Nav::Clients, content))
}

/// `GET /clients/add`.
pub(crate) fn add_form(ctx: &Ctx<'_>) -> Response {
    form_page(ctx, &Values::default(), None, 200)
}

/// `POST /clients/add`: checks everything the engine would refuse before
/// it signs, in the order an operator fixes them, then issues. Nothing is
/// stored unless the credential is issued.
pub(crate) fn add(ctx: &Ctx<'_>, form: &Form, administrator: bool) -> Response {
    let v = Values::of(form);
    let refuse = |status: u16, text: String| form_page(ctx, &v, Some(&text), status);
    if !valid_id(&v.id) {
        return refuse(
            400,
            "Client name: give 1 to 128 of A-Z a-z 0-9 - _ . @, not starting with a dot.".into(),
        );
    }
    let Some(role) = role_of(&v.role) else {
        return refuse(400, "Role: choose client, ra or agent.".into());
    };
    if role != ClientRole::Client && !administrator {
        tracing::warn!(
            operator = ctx.session.operator,
            client = v.id,
            role = %role,
            "console: adding an RA, agent or operator refused: not an administrator"
        );
        return refuse(
            403,
            format!(
                "Adding an {role} needs administrator rights, which this session does not have."
            ),
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
    if v.issuing_ca.is_empty() {
        return refuse(400, "Choose the CA that signs the credential.".into());
    }
    if let Err(e) = ctx.engine.ca(&v.issuing_ca) {
        return refuse(400, format!("CA that signs: {e}."));
    }
    let grants = match ctx.engine.client_grants(&v.cas, &v.profiles) {
        Ok(g) => g,
        Err(e) => return refuse(400, format!("Grants: {e}.")),
    };
    match ctx.engine.records().client(&v.id) {
        Ok(None) => {}
        Ok(Some(_)) => {
            return refuse(
                409,
                format!(
                    "A client named {:?} exists already: choose another name (nothing was changed).",
                    v.id
                ),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "console: client lookup failed");
            return refuse(500, "The store did not answer.".into());
        }
    }
    let generate = match v.key.as_str() {
        "" | "csr" => false,
        "generate" => true,
        _ => {
            return refuse(
                400,
                "The client's key: choose its request or a key made here.".into(),
            );
        }
    };
    let csr = if generate {
        if !v.csr.is_empty() {
            return refuse(
                400,
                "Give the client's certificate request or choose a key made here, not both.".into(),
            );
        }
        if v.subject.is_empty() {
            return refuse(
                400,
                "Subject: a key made here needs the credential's subject.".into(),
            );
        }
        None
    } else {
        if v.csr.is_empty() {
            return refuse(400, "Paste the client's certificate request (PEM).".into());
        }
        match ClientCsr::parse(v.csr.as_bytes()) {
            Ok(c) => Some(c),
            Err(e) => return refuse(400, format!("Certificate request: {e}.")),
        }
    };
    let subject = match (&csr, v.subject.is_empty()) {
        (Some(c), true) => c.subject(),
        _ => v.subject.clone(),
    };
    let client_names = match cmc_ca::client_name_space(
        role,
        &subject,
        &names(&v.dns),
        &names(&v.email),
        &names(&v.ip),
    ) {
        Ok(n) => n,
        Err(e) => return refuse(400, format!("Names: {e}.")),
    };
    let (public_key, generated) = match &csr {
        Some(c) => {
            if let Err(e) = c.check_names(&subject, client_names.as_ref()) {
                return refuse(400, format!("Certificate request: {e}."));
            }
            (c.public_key().clone(), None)
        }
        None => match cmc_ca::generate_client_key() {
            Ok(k) => (k.public_key.clone(), Some(k)),
            Err(e) => {
                tracing::error!(error = %e, "console: generating a client key failed");
                return refuse(500, "The key could not be made.".into());
            }
        },
    };
    let request = ClientCredentialRequest {
        ca: v.issuing_ca.clone(),
        client_id: v.id.clone(),
        subject,
        public_key,
        role,
        grants,
        validity_days: days,
        requester: ctx.requester(),
        names: client_names,
        mac: None,
    };
    let credential = match ctx.engine.issue_client_credential(&request) {
        Ok(c) => c,
        // Among these: a client added by someone else since the check
        // above (the engine checks again before it signs).
        Err(e) => return refuse(400, format!("Not issued: {e}.")),
    };
    tracing::info!(
        operator = ctx.session.operator,
        client = credential.client.id,
        serial = %credential.serial,
        "console: client added and its credential issued"
    );
    let message = format!(
        "Client {} added; its credential was issued (serial {} of CA {}).",
        credential.client.id, credential.serial, credential.ca
    );
    issued(
        ctx,
        "Client added",
        &message,
        &credential,
        generated.as_ref(),
    )
}

/// The answer for an issued credential: the certificate with its
/// downloads and, for a key made here, the key and its passphrase, shown
/// this once.
pub(crate) fn issued(
    ctx: &Ctx<'_>,
    title: &str,
    message: &str,
    credential: &ClientCredential,
    generated: Option<&GeneratedClientKey>,
) -> Response {
    let pem = match pem_of(&credential.certificate_der) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = &credential.client.id;
    let content = html! {
        (notice(false, message))
        dl {
            dt { "Client" } dd { (id) }
            dt { "Role" } dd { (credential.client.role) }
            dt { "Certificate" } dd { a href={ "/certs/" (credential.ca) "/" (credential.serial.to_hex()) } { "serial " (credential.serial) } }
        }
        p {
            label for="issued" { "The client's certificate (PEM)" }
            textarea.mono id="issued" readonly rows="12" { (pem) }
        }
        p {
            a.button href={ "/clients/" (id) "/certificate.pem" } download { "Download the certificate (PEM)" }
            " "
            a.button href={ "/clients/" (id) "/chain.pem" } download { "Download the CA chain (PEM)" }
        }
        @if let Some(k) = generated {
            p { strong { "Copy the key and its passphrase now: they are shown only this once, and kept nowhere." } }
            p {
                label for="key-passphrase" { "The key's passphrase (shown once)" }
                input.mono type="text" id="key-passphrase" readonly value=(k.passphrase.as_str()) size="40";
            }
            p {
                label for="key-pem" { "The client's private key (encrypted PKCS #8 PEM, shown once)" }
                textarea.mono id="key-pem" readonly rows="8" { (k.encrypted_pem.as_str()) }
            }
        }
        p { a href="/clients" { "Back to the clients" } }
    };
    Response::html(200, layout(ctx, title, Nav::Clients, content))
}

pub(crate) fn pem_of(der: &[u8]) -> Result<String, Response> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).map_err(|e| {
        tracing::error!(error = %e, "console: PEM encoding failed");
        Response::text(500, "the certificate could not be encoded\n")
    })
}

/// `GET /clients/ID/certificate.pem` (`chain` false) or `chain.pem`: the
/// client's certificate, or the chain of the CA that issued it (the CA's
/// certificate first).
pub(crate) fn download(ctx: &Ctx<'_>, id: &str, chain: bool) -> Response {
    let client = match ctx.engine.records().client(id) {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(ctx, "There is no such client."),
        Err(e) => {
            tracing::debug!(error = %e, "console: client lookup failed");
            return not_found(ctx, "There is no such client.");
        }
    };
    if !chain {
        return match pem_of(&client.cert_der) {
            Ok(p) => Response::file(
                "application/x-pem-file",
                &format!("{id}.pem"),
                p.into_bytes(),
            ),
            Err(r) => r,
        };
    }
    // The issuing CA: the loaded CA whose certificate signed the client's.
    let issuer = cmc_ca::x509::decode_certificate("client certificate", &client.cert_der)
        .ok()
        .map(|c| c.tbs_certificate().issuer().clone());
    let ca = ctx.engine.cas().into_iter().find(|ca| {
        cmc_ca::x509::decode_certificate("CA certificate", ca.certificate_der())
            .is_ok_and(|c| Some(c.tbs_certificate().subject()) == issuer.as_ref())
    });
    let Some(ca) = ca else {
        return not_found(
            ctx,
            "The CA that issued this client's certificate is not loaded.",
        );
    };
    let mut out = String::new();
    for der in std::iter::once(ca.certificate_der()).chain(ca.chain_der().iter().map(Vec::as_slice))
    {
        match pem_of(der) {
            Ok(p) => out.push_str(&p),
            Err(r) => return r,
        }
    }
    Response::file(
        "application/x-pem-file",
        &format!("{id}-chain.pem"),
        out.into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_and_lists() {
        for ok in ["ra-1", "alice@example.com", "A.b_c"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "..", "a b", &"x".repeat(129)] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert_eq!(
            names("a.test\r\nb.test, c.test\n\n"),
            ["a.test", "b.test", "c.test"]
        );
        assert_eq!(role_of("ra"), Some(ClientRole::Ra));
        assert_eq!(role_of("admin"), None);
    }
}
