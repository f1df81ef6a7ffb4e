//! Who may do what: the signer of a request, looked up by its certificate's
//! fingerprint, against the CA and profile it asks for.

use std::fmt;

use cmc_store::{ClientRecord, ClientRole, ClientStore, Serial, UnixTime, fingerprint};
use x509_cert::Certificate;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;

use crate::engine::Engine;
use crate::error::Result;
use crate::x509::{decode_certificate, store_serial, unix_time};

/// What the signer of a request wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Request a certificate for itself (clients and RAs).
    Enroll,
    /// Request certificates on behalf of others (RAs, and agents: the
    /// Dogtag agent-approved flow).
    EnrollOnBehalf,
    /// Revoke certificates of the CA (RAs and agents). Whether an end entity
    /// may revoke its own certificate is decided by the caller, which knows
    /// whose certificate it is.
    Revoke,
    /// Approve or reject pending requests (agents and operators).
    DecidePending,
}

impl Action {
    /// Whether a client with `role` may do this at all.
    #[must_use]
    pub const fn permits(self, role: ClientRole) -> bool {
        match self {
            Self::Enroll => matches!(role, ClientRole::Client | ClientRole::Ra),
            Self::EnrollOnBehalf | Self::Revoke => {
                matches!(role, ClientRole::Ra) || role.is_agent()
            }
            Self::DecidePending => role.is_agent(),
        }
    }

    /// A short name for logs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enroll => "enroll",
            Self::EnrollOnBehalf => "enroll-on-behalf",
            Self::Revoke => "revoke",
            Self::DecidePending => "decide-pending",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request's signer was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason {
    /// No client is registered with this certificate.
    UnknownClient,
    /// The signer certificate does not decode.
    BadCertificate(String),
    /// The signer certificate is not valid now.
    CertificateNotValid {
        /// Its notBefore.
        not_before: UnixTime,
        /// Its notAfter.
        not_after: UnixTime,
    },
    /// The signer certificate was issued by one of our CAs and is revoked.
    CertificateRevoked {
        /// The CA that revoked it.
        issuer: String,
        /// Its serial.
        serial: Serial,
    },
    /// The client was disabled.
    Disabled {
        /// When.
        at: UnixTime,
    },
    /// The client's registration expired.
    Expired {
        /// When.
        at: UnixTime,
    },
    /// The client's role does not allow the action.
    WrongRole {
        /// The client's role.
        role: ClientRole,
        /// What it asked to do.
        action: Action,
    },
    /// No grant of the client covers this CA.
    CaNotGranted {
        /// The CA asked for.
        ca: String,
    },
    /// Grants cover the CA, but none with this profile.
    ProfileNotGranted {
        /// The CA asked for.
        ca: String,
        /// The profile asked for.
        profile: String,
    },
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownClient => f.write_str("the signer is not a registered client"),
            Self::BadCertificate(e) => write!(f, "the signer certificate does not decode: {e}"),
            Self::CertificateNotValid {
                not_before,
                not_after,
            } => write!(
                f,
                "the signer certificate is valid only from {not_before} to {not_after}"
            ),
            Self::CertificateRevoked { issuer, serial } => {
                write!(f, "the signer certificate {serial} of {issuer} is revoked")
            }
            Self::Disabled { at } => write!(f, "the client was disabled at {at}"),
            Self::Expired { at } => write!(f, "the client's registration expired at {at}"),
            Self::WrongRole { role, action } => {
                write!(f, "a client with role {role} may not {action}")
            }
            Self::CaNotGranted { ca } => write!(f, "the client may not use CA {ca:?}"),
            Self::ProfileNotGranted { ca, profile } => {
                write!(f, "the client may not use profile {profile:?} on CA {ca:?}")
            }
        }
    }
}

/// The answer of an authorisation check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authorization {
    /// Allowed; the client as registered.
    Allowed(Box<ClientRecord>),
    /// Refused, and why.
    Denied(DenyReason),
}

impl Authorization {
    /// Whether the request is allowed.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed(_))
    }

    /// The reason, if denied.
    #[must_use]
    pub fn deny_reason(&self) -> Option<&DenyReason> {
        match self {
            Self::Allowed(_) => None,
            Self::Denied(r) => Some(r),
        }
    }
}

/// Decides for a registered client at `now`, in this order: disabled,
/// expired, role, CA grant, profile grant.
#[must_use]
pub fn decide(
    client: &ClientRecord,
    now: UnixTime,
    ca: &str,
    profile: &str,
    action: Action,
) -> Authorization {
    if let Some(at) = client.disabled_at {
        return Authorization::Denied(DenyReason::Disabled { at });
    }
    if let Some(at) = client.expires_at.filter(|at| now >= *at) {
        return Authorization::Denied(DenyReason::Expired { at });
    }
    if !action.permits(client.role) {
        return Authorization::Denied(DenyReason::WrongRole {
            role: client.role,
            action,
        });
    }
    if !client.grants.iter().any(|g| g.ca.matches(ca)) {
        return Authorization::Denied(DenyReason::CaNotGranted { ca: ca.to_owned() });
    }
    if !client.may_use(ca, profile) {
        return Authorization::Denied(DenyReason::ProfileNotGranted {
            ca: ca.to_owned(),
            profile: profile.to_owned(),
        });
    }
    Authorization::Allowed(Box::new(client.clone()))
}

/// Looks up the signer certificate's client (by SHA-256 fingerprint of its
/// DER), checks the certificate's validity at `now` and then [`decide`]s.
///
/// # Errors
/// Store failures only; every refusal is a [`Authorization::Denied`].
pub fn authorize(
    clients: &dyn ClientStore,
    now: UnixTime,
    signer_cert_der: &[u8],
    ca: &str,
    profile: &str,
    action: Action,
) -> Result<Authorization> {
    let cert = match decode_certificate("signer certificate", signer_cert_der) {
        Ok(cert) => cert,
        Err(e) => {
            return Ok(Authorization::Denied(DenyReason::BadCertificate(
                e.to_string(),
            )));
        }
    };
    authorize_decoded(clients, now, signer_cert_der, &cert, ca, profile, action)
}

fn authorize_decoded(
    clients: &dyn ClientStore,
    now: UnixTime,
    signer_cert_der: &[u8],
    cert: &Certificate,
    ca: &str,
    profile: &str,
    action: Action,
) -> Result<Authorization> {
    let Some(client) = clients.get_client_by_fingerprint(&fingerprint(signer_cert_der))? else {
        return Ok(Authorization::Denied(DenyReason::UnknownClient));
    };
    Ok(authorize_client(&client, cert, now, ca, profile, action))
}

/// The signer certificate `cert` of `client` at `now`: its validity, then
/// [`decide`].
fn authorize_client(
    client: &ClientRecord,
    cert: &Certificate,
    now: UnixTime,
    ca: &str,
    profile: &str,
    action: Action,
) -> Authorization {
    let validity = cert.tbs_certificate().validity();
    let (not_before, not_after) = (
        unix_time(&validity.not_before),
        unix_time(&validity.not_after),
    );
    if now < not_before || now > not_after {
        return Authorization::Denied(DenyReason::CertificateNotValid {
            not_before,
            not_after,
        });
    }
    decide(client, now, ca, profile, action)
}

impl Engine {
    /// [`authorize`] against this engine's store and clock, for a loaded
    /// CA; also refuses a signer certificate that one of the loaded CAs
    /// issued and has revoked.
    ///
    /// # Errors
    /// [`Error::UnknownCa`](crate::Error::UnknownCa) if `ca` is not loaded; store failures.
    pub fn authorize(
        &self,
        signer_cert_der: &[u8],
        ca: &str,
        profile: &str,
        action: Action,
    ) -> Result<Authorization> {
        self.ca(ca)?;
        let now = self.now();
        let cert = match decode_certificate("signer certificate", signer_cert_der) {
            Ok(cert) => cert,
            Err(e) => {
                return Ok(Authorization::Denied(DenyReason::BadCertificate(
                    e.to_string(),
                )));
            }
        };
        let decision = authorize_decoded(
            self.store().as_ref(),
            now,
            signer_cert_der,
            &cert,
            ca,
            profile,
            action,
        )?;
        // A revoked credential is refused whatever else is decided, so that
        // callers that accept some denials (a role that does not permit
        // this action but may ask for other things) never accept it.
        if matches!(
            decision,
            Authorization::Denied(DenyReason::UnknownClient | DenyReason::BadCertificate(_))
        ) {
            return Ok(decision);
        }
        if let Some(revoked) = self.revoked_issuer_of(&cert)? {
            return Ok(Authorization::Denied(revoked));
        }
        Ok(decision)
    }

    /// What `client`, the principal of this request, may do: [`decide`] at
    /// the engine's clock. Its signer certificate's validity and revocation
    /// were checked when [`Engine::principal_by_certificate`] established
    /// the principal for this request, and do not depend on the CA, profile
    /// or action asked for, so they are not read again.
    pub(crate) fn authorize_principal(
        &self,
        client: &ClientRecord,
        ca: &str,
        profile: &str,
        action: Action,
    ) -> Authorization {
        decide(client, self.now(), ca, profile, action)
    }

    /// [`Engine::authorize`] for a client already looked up by its signer
    /// certificate `cert` (decoded) on this request: the same checks and
    /// order (validity, [`decide`], then revocation by a loaded CA) without
    /// reading the client again.
    ///
    /// # Errors
    /// Store failures.
    pub(crate) fn authorize_record(
        &self,
        client: &ClientRecord,
        cert: &Certificate,
        ca: &str,
        profile: &str,
        action: Action,
    ) -> Result<Authorization> {
        let decision = authorize_client(client, cert, self.now(), ca, profile, action);
        if let Some(revoked) = self.revoked_issuer_of(cert)? {
            return Ok(Authorization::Denied(revoked));
        }
        Ok(decision)
    }

    /// If a loaded CA issued `cert` (same issuer name, and the same key
    /// identifier when the certificate names one) and the store has it as
    /// revoked, the reason to deny.
    fn revoked_issuer_of(&self, cert: &Certificate) -> Result<Option<DenyReason>> {
        let tbs = cert.tbs_certificate();
        let aki = match tbs.get_extension::<AuthorityKeyIdentifier>() {
            Ok(found) => found.and_then(|(_, aki)| aki.key_identifier),
            Err(e) => return Ok(Some(DenyReason::BadCertificate(e.to_string()))),
        };
        let serial = match store_serial(tbs.serial_number()) {
            Ok(s) => s,
            Err(e) => return Ok(Some(DenyReason::BadCertificate(e.to_string()))),
        };
        for ca in self.cas() {
            if ca.subject() != tbs.issuer() {
                continue;
            }
            if aki
                .as_ref()
                .is_some_and(|id| id.as_bytes() != ca.key_identifier())
            {
                continue;
            }
            if self.store().is_revoked(ca.name(), &serial)? == Some(true) {
                return Ok(Some(DenyReason::CertificateRevoked {
                    issuer: ca.name().to_owned(),
                    serial,
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmc_store::{Grant, Scope};

    fn client(role: ClientRole, grants: Vec<Grant>) -> ClientRecord {
        ClientRecord {
            id: "c1".into(),
            cert_der: vec![1],
            fingerprint: fingerprint(&[1]),
            role,
            grants,
            expires_at: Some(UnixTime::from_secs(1_000)),
            disabled_at: None,
            created_at: UnixTime::from_secs(0),
            subject: Some("CN=c1".into()),
            names: None,
            mac_reference: None,
        }
    }

    fn grant(ca: &str, profile: &str) -> Grant {
        let scope = |s: &str| {
            if s == "*" {
                Scope::Any
            } else {
                Scope::Named(s.into())
            }
        };
        Grant {
            ca: scope(ca),
            profile: scope(profile),
        }
    }

    #[test]
    fn role_matrix() {
        use Action::*;
        use ClientRole::*;
        let table = [
            (Enroll, [true, true, false]),
            (EnrollOnBehalf, [false, true, true]),
            (Revoke, [false, true, true]),
            (DecidePending, [false, false, true]),
        ];
        for (action, expect) in table {
            for (role, want) in [Client, Ra, Agent].into_iter().zip(expect) {
                assert_eq!(action.permits(role), want, "{action} by {role}");
            }
        }
    }

    #[test]
    fn decisions_in_order() {
        let now = UnixTime::from_secs(500);
        let ra = client(
            ClientRole::Ra,
            vec![grant("issuing", "tls"), grant("*", "smime")],
        );
        assert!(decide(&ra, now, "issuing", "tls", Action::EnrollOnBehalf).is_allowed());
        assert!(decide(&ra, now, "other", "smime", Action::Enroll).is_allowed());
        assert_eq!(
            decide(&ra, now, "issuing", "codesign", Action::Enroll),
            Authorization::Denied(DenyReason::ProfileNotGranted {
                ca: "issuing".into(),
                profile: "codesign".into()
            })
        );
        let narrow = client(ClientRole::Ra, vec![grant("issuing", "tls")]);
        assert_eq!(
            decide(&narrow, now, "root", "tls", Action::Enroll),
            Authorization::Denied(DenyReason::CaNotGranted { ca: "root".into() })
        );
        assert_eq!(
            decide(
                &ra,
                UnixTime::from_secs(1_000),
                "issuing",
                "tls",
                Action::Enroll
            ),
            Authorization::Denied(DenyReason::Expired {
                at: UnixTime::from_secs(1_000)
            })
        );
        let mut disabled = ra.clone();
        disabled.disabled_at = Some(UnixTime::from_secs(10));
        // Disabled wins over everything else.
        assert_eq!(
            decide(
                &disabled,
                UnixTime::from_secs(2_000),
                "x",
                "y",
                Action::DecidePending
            ),
            Authorization::Denied(DenyReason::Disabled {
                at: UnixTime::from_secs(10)
            })
        );
        let end_entity = client(ClientRole::Client, vec![grant("*", "*")]);
        assert_eq!(
            decide(&end_entity, now, "issuing", "tls", Action::EnrollOnBehalf),
            Authorization::Denied(DenyReason::WrongRole {
                role: ClientRole::Client,
                action: Action::EnrollOnBehalf
            })
        );
        let mut forever = end_entity.clone();
        forever.expires_at = None;
        assert!(
            decide(
                &forever,
                UnixTime::from_secs(i64::MAX),
                "a",
                "b",
                Action::Enroll
            )
            .is_allowed()
        );
    }
}
