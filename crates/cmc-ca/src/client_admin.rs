//! What an operator gives to add a client, checked the same way for every
//! front end (`cmc-tool client add`, the web console): the grants, the
//! names an end entity is registered for, and a PKCS #10 request made by
//! the client (its key never leaves the client: the request's
//! self-signature proves possession).

use cmc_policy::NameSpace;
use cmc_store::{ClientRole, Grant, Scope};
use der::Decode as _;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::request::CertReq;

use crate::engine::Engine;
use crate::error::{Error, Result};
use cmc_keys::{FileKey, KeySpec, Secret, SigningKey as _};
use zeroize::Zeroizing;

/// The largest PKCS #10 request accepted from an operator (PEM or DER).
pub const MAX_CSR_BYTES: usize = 64 * 1024;

/// Every (CA, profile) pair named; `*` ([`Scope::Any`]) on a side where
/// none is named.
#[must_use]
pub fn client_grants(cas: &[String], profiles: &[String]) -> Vec<Grant> {
    let scopes = |names: &[String]| -> Vec<Scope> {
        if names.is_empty() {
            vec![Scope::Any]
        } else {
            names.iter().cloned().map(Scope::Named).collect()
        }
    };
    let mut out = Vec::new();
    for ca in scopes(cas) {
        for profile in scopes(profiles) {
            out.push(Grant {
                ca: ca.clone(),
                profile,
            });
        }
    }
    out
}

/// The names a client is registered for: an end entity (`client`) its
/// subject and the DNS names, e-mail addresses and IP ranges given; an RA
/// or agent none (the profiles' name rules bind what it asks for others),
/// so names given for one are refused.
///
/// # Errors
/// [`Error::InvalidRequest`] for names given to an RA or agent, or a name
/// that does not parse.
pub fn client_name_space(
    role: ClientRole,
    subject: &str,
    dns: &[String],
    email: &[String],
    ip: &[String],
) -> Result<Option<NameSpace>> {
    let none_given = dns.is_empty() && email.is_empty() && ip.is_empty();
    match role {
        ClientRole::Client => {
            let space = NameSpace::from_args(Some(subject), dns, email, ip)
                .map_err(|e| Error::InvalidRequest(e.to_string()))?;
            Ok((!space.is_empty()).then_some(space))
        }
        _ if none_given => Ok(None),
        _ => Err(Error::InvalidRequest(
            "DNS names, e-mail addresses and IP ranges register an end entity's names; \
             an RA, agent or operator is bound by the profiles' name rules"
                .into(),
        )),
    }
}

impl Engine {
    /// The grants of a new client, checked: every named CA is loaded and
    /// every named profile is one of the engine's.
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; [`Error::InvalidRequest`] naming the unknown
    /// profile and the known ones.
    pub fn client_grants(&self, cas: &[String], profiles: &[String]) -> Result<Vec<Grant>> {
        for ca in cas {
            self.ca(ca)?;
        }
        let set = &self.config().profiles;
        for p in profiles {
            if set.get(p).is_err() {
                let known: Vec<&str> = set.names().collect();
                return Err(Error::InvalidRequest(format!(
                    "there is no profile {p:?} (known: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(client_grants(cas, profiles))
    }
}

/// A key made by the CA for a client that cannot make its own (the
/// generating mode of `cmc-tool client add --issue`, for a front end that
/// hands the key over instead of writing a file): PKCS #8 encrypted under
/// a new random passphrase. Neither is kept anywhere; show them once.
pub struct GeneratedClientKey {
    /// The public key to issue the credential for.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// The key as `ENCRYPTED PRIVATE KEY` PEM (PBES2, scrypt, AES-256-CBC).
    pub encrypted_pem: Zeroizing<String>,
    /// Its passphrase: 32 characters of Crockford's base32 (160 bits).
    pub passphrase: Zeroizing<String>,
}

impl std::fmt::Debug for GeneratedClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedClientKey")
            .field("public_key", &self.public_key.algorithm.oid)
            .finish_non_exhaustive()
    }
}

/// A new P-256 key for a client (the default of `cmc-tool client add
/// --issue`), encrypted under a new random passphrase
/// ([`GeneratedClientKey`]).
///
/// # Errors
/// [`Error::Key`] if generation or encryption fails, [`Error::Rng`].
pub fn generate_client_key() -> Result<GeneratedClientKey> {
    let key = FileKey::generate(KeySpec::P256)?;
    let passphrase = crate::secret::generate_secret()?;
    let encrypted_pem = key.to_encrypted_pem(&Secret::new(passphrase.as_bytes().to_vec()))?;
    Ok(GeneratedClientKey {
        public_key: key.public_key().clone(),
        encrypted_pem,
        passphrase,
    })
}

/// A PKCS #10 request whose self-signature verified: the public key a
/// client credential is issued for.
#[derive(Clone, Debug)]
pub struct ClientCsr {
    subject: Name,
    sans: Vec<GeneralName>,
    public_key: SubjectPublicKeyInfoOwned,
}

impl ClientCsr {
    /// Reads a request, PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE
    /// REQUEST`) or DER, and verifies its signature with its own key
    /// (proof of possession).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] saying what is wrong: too large, not PEM
    /// or DER of a request, another PEM label, several subjectAltName
    /// requests, or a signature that does not verify.
    pub fn parse(input: &[u8]) -> Result<Self> {
        let invalid = |why: String| Error::InvalidRequest(why);
        if input.len() > MAX_CSR_BYTES {
            return Err(invalid(format!(
                "the certificate request is larger than {MAX_CSR_BYTES} bytes"
            )));
        }
        let trimmed = input.trim_ascii();
        let der = if trimmed.starts_with(b"-----BEGIN") {
            let (label, der) = der::pem::decode_vec(trimmed)
                .map_err(|e| invalid(format!("the certificate request is not valid PEM: {e}")))?;
            if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
                return Err(invalid(format!(
                    "the PEM block is a {label:?}, not a CERTIFICATE REQUEST"
                )));
            }
            der
        } else {
            trimmed.to_vec()
        };
        let req = CertReq::from_der(&der).map_err(|e| {
            invalid(format!(
                "the certificate request is not a PKCS #10 request: {e}"
            ))
        })?;
        cmc_codec::verify_pkcs10(&req, 0).map_err(|e| {
            invalid(format!(
                "the certificate request's signature does not verify with its own key \
                 (no proof of possession): {e}"
            ))
        })?;
        let fields = cmc_policy::Request::from_cert_req(&req)?;
        let mut sans = Vec::new();
        let mut seen = false;
        for ext in &fields.extensions {
            if ext.extn_id != const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME {
                continue;
            }
            if seen {
                return Err(invalid(
                    "the certificate request asks for subjectAltName twice".into(),
                ));
            }
            seen = true;
            let san = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(|e| {
                invalid(format!(
                    "the certificate request's subjectAltName does not decode: {e}"
                ))
            })?;
            sans.extend(san.0);
        }
        Ok(Self {
            subject: req.info.subject,
            sans,
            public_key: req.info.public_key,
        })
    }

    /// The subject asked for, as in RFC 4514.
    #[must_use]
    pub fn subject(&self) -> String {
        self.subject.to_string()
    }

    /// The public key, whose possession the signature proved.
    #[must_use]
    pub fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    /// Checks the names the request asks for against the client's rules:
    /// the subject must be `subject` (the credential's) and every
    /// subjectAltName must be within `names`, the client's registration
    /// (an RA or agent, registered for no names, may ask for none). The
    /// credential carries the subject only.
    ///
    /// # Errors
    /// [`Error::InvalidSubject`] for a `subject` that does not parse;
    /// [`Error::InvalidRequest`] naming the first name outside the rules.
    pub fn check_names(&self, subject: &str, names: Option<&NameSpace>) -> Result<()> {
        let mut space = names.cloned().unwrap_or_default();
        if space.subject().is_none() {
            crate::x509::parse_name(subject)?;
            space
                .set_subject(subject)
                .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        }
        space.check(&self.subject, &self.sans).map_err(|v| {
            Error::InvalidRequest(format!(
                "the certificate request asks for a name outside the client's rules: {v}"
            ))
        })
    }
    /// Checks a request for a registered client's new credential
    /// ([`Engine::replace_client_credential`]): the subject must be that
    /// of its current certificate, which the new one keeps, and every
    /// subjectAltName within its registered names (none for an RA, agent or
    /// operator).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] naming what is wrong.
    pub fn check_for_client(&self, client: &cmc_store::ClientRecord) -> Result<()> {
        use der::Decode as _;
        let current = x509_cert::Certificate::from_der(&client.cert_der).map_err(|e| {
            Error::InvalidRequest(format!(
                "the client's current certificate does not decode: {e}"
            ))
        })?;
        let names = client
            .names
            .as_deref()
            .map(serde_json::from_str::<NameSpace>)
            .transpose()
            .map_err(|e| {
                Error::Config(format!("a stored name registration does not parse: {e}"))
            })?;
        self.check_names(
            &current.tbs_certificate().subject().to_string(),
            names.as_ref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_the_cross_product() {
        assert_eq!(
            client_grants(&[], &[]),
            vec![Grant {
                ca: Scope::Any,
                profile: Scope::Any
            }]
        );
        let g = client_grants(&["a".into(), "b".into()], &["tls".into()]);
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].ca, Scope::Named("b".into()));
        assert_eq!(g[1].profile, Scope::Named("tls".into()));
    }

    #[test]
    fn names_belong_to_end_entities_only() {
        let dns = vec!["a.example.test".to_owned()];
        let space = client_name_space(ClientRole::Client, "CN=a", &dns, &[], &[])
            .unwrap()
            .unwrap();
        assert_eq!(space.subject(), Some("CN=a"));
        assert!(
            client_name_space(ClientRole::Ra, "CN=ra", &[], &[], &[])
                .unwrap()
                .is_none()
        );
        let err = client_name_space(ClientRole::Agent, "CN=ag", &dns, &[], &[]).unwrap_err();
        assert!(err.to_string().contains("RA, agent or operator"), "{err}");
        let err = client_name_space(ClientRole::Client, "CN=a", &["bad name".into()], &[], &[])
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    }

    #[test]
    fn requests_that_are_not_requests_are_refused() {
        for (input, want) in [
            (&b"garbage"[..], "not a PKCS #10 request"),
            (
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "not a CERTIFICATE REQUEST",
            ),
            (
                b"-----BEGIN CERTIFICATE REQUEST-----\n!!\n",
                "not valid PEM",
            ),
        ] {
            let err = ClientCsr::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        let big = vec![b'A'; MAX_CSR_BYTES + 1];
        let generated = generate_client_key().unwrap();
        assert_eq!(generated.passphrase.len(), 32);
        let key = FileKey::from_pem(
            generated.encrypted_pem.as_bytes(),
            Some(&Secret::new(generated.passphrase.as_bytes().to_vec())),
        )
        .unwrap();
        assert_eq!(key.public_key(), &generated.public_key);
        assert!(FileKey::from_pem(generated.encrypted_pem.as_bytes(), None).is_err());
        assert!(!format!("{generated:?}").contains(generated.passphrase.as_str()));
        assert!(
            ClientCsr::parse(&big)
                .unwrap_err()
                .to_string()
                .contains("larger")
        );
    }
}
