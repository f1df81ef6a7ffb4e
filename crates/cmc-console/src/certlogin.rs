//! Login with a TLS client certificate: the certificate the listener
//! verified (against `[console.tls] client_ca`) must be the very
//! certificate of a registered client (the store's lookup by fingerprint,
//! as CMC, EST and CMP find a signer), that client must have the role
//! `agent` or `operator`, and the engine's own authorisation ([`Engine::authorize`], the
//! check of every CMC signer) decides, CA by CA, whether it may decide
//! pending requests there: not disabled, not expired, its certificate
//! valid now and not revoked by one of our CAs, and a grant covering the
//! CA. The CAs it passes on are the ones the session may act on.

use cmc_ca::types::ClientRole;
use cmc_ca::{Action, Authorization, DenyReason, Engine};

use crate::session::Rights;

/// A certificate principal that may log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Agent {
    /// The client id.
    pub(crate) name: String,
    /// The CAs its grants cover (and where it passed every check).
    pub(crate) cas: Vec<String>,
    /// Whether its role is `operator`: it then administers clients and
    /// secrets and acts on every CA (its grants only prove it valid).
    pub(crate) operator: bool,
}

/// Why a certificate may not log in: what the log says and what the page
/// says (both without secrets; the page is shown to the certificate's own
/// holder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) log: String,
    pub(crate) page: String,
    /// Who, if the certificate is a registered client.
    pub(crate) client: Option<String>,
}

impl Agent {
    /// What a session of this principal may do.
    pub(crate) fn rights(&self) -> Rights {
        if self.operator {
            Rights::Operator
        } else {
            Rights::Agent {
                cas: self.cas.clone(),
            }
        }
    }
}

impl Refusal {
    fn new(client: Option<&str>, log: impl Into<String>, page: impl Into<String>) -> Self {
        Self {
            log: log.into(),
            page: page.into(),
            client: client.map(str::to_owned),
        }
    }
}

/// The agent behind `cert_der`, or why it may not log in.
pub(crate) fn resolve(engine: &Engine, cert_der: &[u8]) -> Result<Agent, Refusal> {
    let store_failed = |e: &dyn std::fmt::Display| {
        Refusal::new(
            None,
            format!("store lookup failed: {e}"),
            "The CA's store did not answer: try again.",
        )
    };
    let client = engine
        .records()
        .client_by_certificate(cert_der)
        .map_err(|e| store_failed(&e))?;
    let Some(client) = client else {
        return Err(Refusal::new(
            None,
            "the certificate is not a registered client's",
            "This certificate is not registered as a client of this CA: it cannot log in.",
        ));
    };
    let name = client.id.as_str();
    if !client.role.is_agent() {
        return Err(Refusal::new(
            Some(name),
            format!("role {} may not use the console", client.role),
            format!(
                "Client {name} has the role {}: only agent and operator certificates may log in to the console.",
                client.role
            ),
        ));
    }
    let mut cas = Vec::new();
    for ca in engine.ca_names() {
        let profile = engine.config().default_profile_name(&ca);
        let decision = engine
            .authorize(cert_der, &ca, &profile, Action::DecidePending)
            .map_err(|e| store_failed(&e))?;
        match decision {
            // The console issues on no profile of its own: a grant of the
            // CA with other profiles is a grant of the CA.
            Authorization::Allowed(_)
            | Authorization::Denied(DenyReason::ProfileNotGranted { .. }) => cas.push(ca),
            Authorization::Denied(DenyReason::CaNotGranted { .. }) => {}
            Authorization::Denied(reason) => {
                return Err(Refusal::new(
                    Some(name),
                    reason.to_string(),
                    format!("Client {name} may not log in: {reason}."),
                ));
            }
        }
    }
    if cas.is_empty() {
        return Err(Refusal::new(
            Some(name),
            "no grant covers a CA of this server",
            format!("Agent {name} has no grant for a CA of this server: it cannot log in."),
        ));
    }
    Ok(Agent {
        operator: client.role == ClientRole::Operator,
        name: client.id,
        cas,
    })
}
