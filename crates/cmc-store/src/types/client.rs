//! Registered CMC clients, their roles and grants: what
//! [`crate::ClientStore`] takes and returns.

use std::fmt;

use super::{Fingerprint, UnixTime};
use crate::error::{Error, Result};

/// What a registered CMC client may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientRole {
    /// An end entity requesting for itself.
    Client,
    /// A registration authority, requesting on behalf of others.
    Ra,
    /// An agent, deciding pending requests.
    Agent,
    /// An operator: what an agent may do, and administration (clients,
    /// secrets) in the operator console (schema 13).
    Operator,
}

text_enum!(ClientRole {
    Client => "client",
    Ra => "ra",
    Agent => "agent",
    Operator => "operator",
});

impl ClientRole {
    /// Whether this role decides pending requests and revokes like an
    /// agent (agents and operators).
    #[must_use]
    pub const fn is_agent(self) -> bool {
        matches!(self, Self::Agent | Self::Operator)
    }
}

/// A CA or profile name, or any.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Any name (`*`).
    Any,
    /// Exactly this name.
    Named(String),
}

impl Scope {
    /// Whether `name` is inside this scope.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Named(n) => n == name,
        }
    }

    pub(crate) fn to_db(&self) -> Option<&str> {
        match self {
            Self::Any => None,
            Self::Named(n) => Some(n),
        }
    }

    pub(crate) fn from_db(v: Option<String>) -> Self {
        v.map_or(Self::Any, Self::Named)
    }
}

/// One (CA, profile) pair a client may use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    /// Which CA.
    pub ca: Scope,
    /// Which profile.
    pub profile: Scope,
}

/// A client to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClient {
    /// The client's id (unique).
    pub id: String,
    /// Its certificate, DER; the fingerprint is computed from it.
    pub cert_der: Vec<u8>,
    /// Its role.
    pub role: ClientRole,
    /// What it may use.
    pub grants: Vec<Grant>,
    /// When its registration expires, if ever.
    pub expires_at: Option<UnixTime>,
    /// The subject of its certificate, as the engine compares names
    /// (`cmc_ca::x509::subject_key`: RFC 4514 text, lower-cased, white
    /// space folded): a reserved name nobody else may be issued.
    pub subject: String,
    /// The names it may ask for (the engine's JSON name space), if
    /// registered; without it only the profile's name rules apply.
    pub names: Option<String>,
    /// Its MAC credential (CMP PBM/PBMAC1 protection), if it has one.
    pub mac: Option<MacCredential>,
}

/// A long-lived MAC credential of a client (CMP MAC-based protection, RFC
/// 4210 §5.1.3.1): the reference it names in `senderKID` and its secret,
/// sealed by the engine (the store never sees the secret in clear).
#[derive(Clone, PartialEq, Eq)]
pub struct MacCredential {
    /// The reference number (unique among clients).
    pub reference: String,
    /// The secret, sealed by the engine.
    pub sealed_secret: Vec<u8>,
}

impl fmt::Debug for MacCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacCredential")
            .field("reference", &self.reference)
            .field("sealed_secret", &"<sealed>")
            .finish()
    }
}

/// A registered CMC client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    /// The id.
    pub id: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// SHA-256 of `cert_der` (unique).
    pub fingerprint: Fingerprint,
    /// The role.
    pub role: ClientRole,
    /// What it may use.
    pub grants: Vec<Grant>,
    /// When its registration expires, if ever.
    pub expires_at: Option<UnixTime>,
    /// When it was disabled, if it was.
    pub disabled_at: Option<UnixTime>,
    /// When it was registered.
    pub created_at: UnixTime,
    /// The subject of its certificate; `None` for a client registered
    /// before schema version 5 until [`ClientStore::set_client_subject`]
    /// fills it in.
    ///
    /// [`ClientStore::set_client_subject`]: crate::ClientStore::set_client_subject
    pub subject: Option<String>,
    /// The names it may ask for (JSON), if registered.
    pub names: Option<String>,
    /// The reference of its MAC credential, if it has one.
    pub mac_reference: Option<String>,
}

impl ClientRecord {
    /// Not disabled and not expired at `now`.
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.disabled_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// Whether some grant covers (`ca`, `profile`). Does not check
    /// [`ClientRecord::is_active`].
    pub fn may_use(&self, ca: &str, profile: &str) -> bool {
        self.grants
            .iter()
            .any(|g| g.ca.matches(ca) && g.profile.matches(profile))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::fingerprint;

    #[test]
    fn client_scopes() {
        let c = ClientRecord {
            id: "c".into(),
            cert_der: vec![1],
            fingerprint: fingerprint(&[1]),
            role: ClientRole::Ra,
            grants: vec![
                Grant {
                    ca: Scope::Named("a".into()),
                    profile: Scope::Any,
                },
                Grant {
                    ca: Scope::Any,
                    profile: Scope::Named("tls".into()),
                },
            ],
            expires_at: Some(UnixTime(100)),
            disabled_at: None,
            created_at: UnixTime(0),
            subject: Some("CN=c".into()),
            names: None,
            mac_reference: None,
        };
        assert!(c.may_use("a", "anything"));
        assert!(c.may_use("b", "tls"));
        assert!(!c.may_use("b", "smime"));
        assert!(c.is_active(UnixTime(99)));
        assert!(!c.is_active(UnixTime(100)));
    }
}
