//! A CA as the engine holds it ([`LoadedCa`]), and creating new CAs
//! ([`create_ca`]): self-signed roots and intermediates under a stored CA.

use std::fmt;
use std::sync::Arc;

use cmc_keys::{KeySpec, SigningKey};
use cmc_policy::{IssuerInfo, MAX_INTERNAL_VALIDITY_DAYS, Profile};
use cmc_store::{AuditEvent, AuditKind, CaRecord, Outcome, Serial, Store, UnixTime};
use der::Encode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::name::Name;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::issue::{Issuance, Issuer, engine_request, issue_certificate, plain_issuer_info};
use crate::key_config::KeyConfig;
use crate::x509::{
    certificate_key_identifier, decode_certificate, key_identifier, parse_name, store_serial,
    unix_time,
};

/// The profile CA certificates are issued under
/// ([`cmc_policy::Profile::ca_certificate`]), and under which an
/// intermediate is recorded in its issuer's certificate table.
pub const CA_PROFILE: &str = cmc_policy::CA_PROFILE_NAME;

const SECS_PER_DAY: i64 = 86_400;

/// A CA ready to sign: its stored record, decoded certificate and open key.
pub struct LoadedCa {
    record: CaRecord,
    cert: Certificate,
    key: Arc<dyn SigningKey>,
    key_config: KeyConfig,
    key_id: Vec<u8>,
    not_before: UnixTime,
    not_after: UnixTime,
    path_len: Option<u8>,
    pub(crate) signer: cmc_codec::SignerIdentity,
    /// Which key generation this is, and the CA's other generations
    /// (`crate::generation`).
    pub(crate) generations: crate::generation::Generations,
}

impl fmt::Debug for LoadedCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedCa")
            .field("name", &self.record.name)
            .field(
                "subject",
                &self.cert.tbs_certificate().subject().to_string(),
            )
            .field("parent", &self.record.parent)
            .field("key", &self.key)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("generations", &self.generations)
            .finish_non_exhaustive()
    }
}

impl LoadedCa {
    /// Decodes a stored CA and opens its key.
    ///
    /// # Errors
    /// [`Error::BadCertificate`] if the certificate does not decode or is
    /// not a CA certificate (basicConstraints cA=TRUE),
    /// [`Error::KeyConfig`] for a bad key reference, the key's errors, and
    /// [`Error::KeyMismatch`] if the key is not the certificate's.
    pub fn open(record: CaRecord) -> Result<Self> {
        let config = KeyConfig::from_key_ref(&record.key_ref)?;
        let key = config.open()?;
        Self::with_key(record, config, key)
    }

    /// A stored CA with an already opened key.
    ///
    /// # Errors
    /// As [`LoadedCa::open`].
    pub fn with_key(
        record: CaRecord,
        key_config: KeyConfig,
        key: Arc<dyn SigningKey>,
    ) -> Result<Self> {
        let cert = decode_certificate("CA certificate", &record.cert_der)?;
        let tbs = cert.tbs_certificate();
        let basic = tbs
            .get_extension::<BasicConstraints>()
            .map_err(|e| Error::bad("CA certificate basicConstraints", e))?;
        let path_len = match basic {
            Some((_, bc)) if bc.ca => bc.path_len_constraint,
            _ => {
                return Err(Error::bad(
                    "CA certificate",
                    "basicConstraints cA=TRUE is missing",
                ));
            }
        };
        let cert_spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::bad("CA certificate public key", e))?;
        let key_spki = key
            .public_key()
            .to_der()
            .map_err(|e| Error::encode("public key", e))?;
        if cert_spki != key_spki {
            return Err(Error::KeyMismatch {
                ca: record.name.clone(),
            });
        }
        // The chain runs from this CA's issuer up to a root: each
        // certificate's issuer is the next one's subject.
        let mut issuer = tbs.issuer().clone();
        for (i, der) in record.chain_der.iter().enumerate() {
            let link = decode_certificate("CA chain certificate", der)
                .map_err(|e| Error::bad("CA chain certificate", format!("chain[{i}]: {e}")))?;
            if link.tbs_certificate().subject() != &issuer {
                return Err(Error::bad(
                    "CA chain",
                    format!("chain[{i}] is not the issuer of the certificate before it"),
                ));
            }
            issuer = link.tbs_certificate().issuer().clone();
        }
        if record.chain_der.is_empty() && tbs.issuer() != tbs.subject() {
            return Err(Error::bad(
                "CA chain",
                "the certificate is not self-issued, and no chain is stored",
            ));
        }
        let key_id = certificate_key_identifier(&cert)?;
        let validity = tbs.validity();
        // What its CMS signatures carry, encoded once: this certificate and
        // its chain (each validated above).
        let chain = record
            .chain_der
            .iter()
            .map(|der| decode_certificate("CA chain certificate", der))
            .collect::<Result<Vec<_>>>()?;
        let signer = cmc_codec::SignerIdentity::new(&cert, &chain)
            .map_err(|e| Error::bad("CA certificate", e))?;
        Ok(Self {
            not_before: unix_time(&validity.not_before),
            not_after: unix_time(&validity.not_after),
            record,
            cert,
            key,
            key_config,
            key_id,
            path_len,
            signer,
            generations: crate::generation::Generations::default(),
        })
    }

    /// The CA's name (the `{ca}` in `/cmc/{ca}`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The stored record.
    #[must_use]
    pub fn record(&self) -> &CaRecord {
        &self.record
    }

    /// The CA certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The CA certificate, DER.
    #[must_use]
    pub fn certificate_der(&self) -> &[u8] {
        &self.record.cert_der
    }

    /// The issuer certificates from this CA's issuer up to the root, DER
    /// (empty for a root).
    #[must_use]
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.record.chain_der
    }

    /// What a CMS message signed with the CA key signs as: its
    /// issuerAndSerialNumber, and this certificate and its chain, encoded
    /// once when the CA was loaded.
    #[must_use]
    pub fn signer_identity(&self) -> &cmc_codec::SignerIdentity {
        &self.signer
    }

    /// The signing key.
    #[must_use]
    pub fn key(&self) -> &Arc<dyn SigningKey> {
        &self.key
    }

    /// Where the key is.
    #[must_use]
    pub fn key_config(&self) -> &KeyConfig {
        &self.key_config
    }

    /// The CA's subject name: the issuer of what it signs.
    #[must_use]
    pub fn subject(&self) -> &Name {
        self.cert.tbs_certificate().subject()
    }

    /// The CA's key identifier (its subjectKeyIdentifier): the
    /// authorityKeyIdentifier of what it signs.
    #[must_use]
    pub fn key_identifier(&self) -> &[u8] {
        &self.key_id
    }

    /// The CA's serial number (in its issuer's numbering).
    ///
    /// # Errors
    /// [`Error::BadCertificate`] if the serial is zero or too long.
    pub fn serial(&self) -> Result<Serial> {
        store_serial(self.cert.tbs_certificate().serial_number())
    }

    /// notBefore of the CA certificate.
    #[must_use]
    pub fn not_before(&self) -> UnixTime {
        self.not_before
    }

    /// notAfter of the CA certificate.
    #[must_use]
    pub fn not_after(&self) -> UnixTime {
        self.not_after
    }

    /// The pathLenConstraint of the CA certificate, if any.
    #[must_use]
    pub fn path_len(&self) -> Option<u8> {
        self.path_len
    }

    /// The name of the parent CA, when it is stored here too.
    #[must_use]
    pub fn parent(&self) -> Option<&str> {
        self.record.parent.as_deref()
    }

    /// Checks that the CA certificate is valid at `now`.
    ///
    /// # Errors
    /// [`Error::CaNotValid`] otherwise.
    pub fn check_valid_at(&self, now: UnixTime) -> Result<()> {
        if now < self.not_before || now >= self.not_after {
            return Err(Error::CaNotValid {
                ca: self.name().to_owned(),
                now,
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        Ok(())
    }
}

/// Where the key of a new CA comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaKey {
    /// Generate a new key pair of type `spec` where `config` points: a new
    /// file (mode 0600, encrypted unless the config says `unencrypted`) or a
    /// new key pair on the token (never extractable).
    Generate {
        /// The key type.
        spec: KeySpec,
        /// Where to put it, and the scheme to sign with.
        config: KeyConfig,
    },
    /// Use the existing key `config` points to.
    Existing(KeyConfig),
}

/// What `ca init` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCa {
    /// The new CA's name: 1 to 64 of ASCII letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// The subject, as in RFC 4514: `CN=Example Issuing CA,O=Example,C=SE`.
    pub subject: String,
    /// Days of validity from now (an intermediate's is cut at its issuer's
    /// notAfter).
    pub validity_days: u32,
    /// The key.
    pub key: CaKey,
    /// The pathLenConstraint, if any. Under an issuer with a constraint of
    /// n it must be below n, and defaults to n − 1.
    pub path_len: Option<u8>,
    /// The issuing CA's name for an intermediate; `None` for a self-signed
    /// root.
    pub issuer: Option<String>,
    /// Who asked, for the audit log.
    pub requester: String,
}

/// Creates a CA and stores it: a self-signed root, or an intermediate
/// signed by the stored CA `new.issuer` (whose key is opened for this).
///
/// The certificate takes the engine's one issuance path (`src/issue.rs`)
/// with the profile [`cmc_policy::Profile::ca_certificate`], prepared and
/// linted as any: v3 with a random 126-bit serial; basicConstraints
/// (critical, cA=TRUE, the pathLenConstraint if any); keyUsage (critical)
/// keyCertSign, cRLSign and digitalSignature (the CA key also signs CMC
/// responses); subjectKeyIdentifier (SHA-1 of the public key); and
/// authorityKeyIdentifier (the issuer's key identifier; a root's own). An
/// intermediate is recorded as issued in its issuer's certificate table
/// (so it can be revoked there), with an `issued` event, and its validity is
/// cut at the issuer's notAfter; a root is signed by its own new key and
/// reserves no serial. The CA record is stored in one transaction with its
/// `ca-added` event.
///
/// # Errors
/// [`Error::CaExists`], [`Error::UnknownCa`] for a missing issuer,
/// [`Error::InvalidSubject`], [`Error::InvalidRequest`] (bad name, zero
/// days or more than [`cmc_policy::MAX_INTERNAL_VALIDITY_DAYS`], a path
/// length the issuer does not allow), [`Error::CaNotValid`] for an issuer
/// that is not valid now, [`Error::Policy`] (a key the profile refuses, a
/// lint finding), key errors, store errors.
pub fn create_ca(store: &dyn Store, clock: &dyn Clock, new: &NewCa) -> Result<LoadedCa> {
    let parent = match &new.issuer {
        Some(issuer) => {
            let record = store
                .get_ca(issuer)?
                .ok_or_else(|| Error::UnknownCa(issuer.clone()))?;
            Some(LoadedCa::load(store, record, clock.now())?)
        }
        None => None,
    };
    create_ca_under(store, clock.now(), new, parent.as_ref())
}

/// [`create_ca`] with the issuer already loaded (by the engine).
pub(crate) fn create_ca_under(
    store: &dyn Store,
    now: UnixTime,
    new: &NewCa,
    parent: Option<&LoadedCa>,
) -> Result<LoadedCa> {
    check_ca_name(&new.name)?;
    if store.get_ca(&new.name)?.is_some() {
        return Err(Error::CaExists(new.name.clone()));
    }
    if new.validity_days == 0 {
        return Err(Error::InvalidRequest(
            "validity must be at least one day".into(),
        ));
    }
    if new.validity_days > MAX_INTERNAL_VALIDITY_DAYS {
        return Err(Error::InvalidRequest(format!(
            "a CA certificate lives at most {MAX_INTERNAL_VALIDITY_DAYS} days"
        )));
    }
    let subject = parse_name(&new.subject)?;
    let path_len = match parent {
        Some(p) => {
            p.check_valid_at(now)?;
            child_path_len(p, new.path_len)?
        }
        None => new.path_len,
    };

    let (config, key) = match &new.key {
        CaKey::Generate { spec, config } => config.generate(*spec)?,
        CaKey::Existing(config) => (config.clone(), config.open()?),
    };
    let key_ref = config.to_key_ref()?;

    let mut not_after = now.plus_secs(i64::from(new.validity_days) * SECS_PER_DAY);
    if let Some(p) = parent {
        not_after = not_after.min(p.not_after());
    }
    let ca_detail = serde_json::json!({
        "ca": {
            "subject": subject.to_string(),
            "issuer": parent.map_or("(self-signed)", LoadedCa::name),
            "key": match config {
                KeyConfig::File { .. } => "file",
                KeyConfig::Pkcs11 { .. } => "pkcs11",
            },
            "scheme": config.scheme().to_string(),
        }
    });
    let request = engine_request(subject, key.public_key().clone(), now, not_after)?;
    let profile = Profile::ca_certificate(path_len);
    let issuance = Issuance {
        profile: &profile,
        request: &request,
        requester: &new.requester,
        check_names: None,
        request_hash: Vec::new(),
        about: ca_detail.clone(),
    };
    let mut record = CaRecord {
        name: new.name.clone(),
        cert_der: Vec::new(),
        chain_der: Vec::new(),
        key_ref,
        parent: parent.map(|p| p.name().to_owned()),
        created_at: now,
    };

    let issued = match parent {
        Some(p) => {
            // Issued and recorded in the parent's numbering (so the parent
            // can revoke it), then stored as a CA with its own event.
            let issued =
                issue_certificate(store, now, Issuer::ca(p, plain_issuer_info(p)?), &issuance)?;
            record.cert_der.clone_from(&issued.der);
            record.chain_der = std::iter::once(p.certificate_der().to_vec())
                .chain(p.chain_der().iter().cloned())
                .collect();
            store.put_ca_with_audit(
                &record,
                &AuditEvent {
                    at: now,
                    kind: AuditKind::CaAdded,
                    issuer: Some(new.name.clone()),
                    serial: Some(issued.serial.clone()),
                    profile: Some(CA_PROFILE.to_owned()),
                    requester: Some(new.requester.clone()),
                    outcome: Outcome::Success,
                    detail: ca_detail.to_string(),
                },
            )?;
            issued
        }
        None => {
            // The new CA is its own issuer: the policy sees it as it is
            // about to be.
            let info = self_issuer_info(&request.subject, key.as_ref(), now, not_after);
            let root = Issuer::new_root(record.clone(), key.as_ref(), info);
            let issued = issue_certificate(store, now, root, &issuance)?;
            record.cert_der.clone_from(&issued.der);
            issued
        }
    };
    tracing::info!(ca = new.name, serial = %issued.serial, "CA created");
    LoadedCa::with_key(record, config, key)
}

fn child_path_len(parent: &LoadedCa, asked: Option<u8>) -> Result<Option<u8>> {
    match (parent.path_len(), asked) {
        (None, asked) => Ok(asked),
        (Some(0), _) => Err(Error::InvalidRequest(format!(
            "CA {:?} has pathLenConstraint 0: it cannot issue CA certificates",
            parent.name()
        ))),
        (Some(n), None) => Ok(Some(n - 1)),
        (Some(n), Some(m)) if m < n => Ok(Some(m)),
        (Some(n), Some(m)) => Err(Error::InvalidRequest(format!(
            "pathLenConstraint {m} is not below the issuer's {n}"
        ))),
    }
}

/// The store's rule for CA names, checked before a key is generated.
fn check_ca_name(name: &str) -> Result<()> {
    cmc_store::check_ca_name(name).map_err(|e| Error::InvalidRequest(e.to_string()))
}

/// The issuer of a self-signed CA certificate (a new root, or a root's
/// next key generation) as the policy sees it: the CA as it is about to be,
/// valid from `now` to `not_after`, with no distribution points.
pub(crate) fn self_issuer_info(
    subject: &Name,
    key: &dyn SigningKey,
    now: UnixTime,
    not_after: UnixTime,
) -> IssuerInfo {
    IssuerInfo {
        subject: subject.clone(),
        key_identifier: key_identifier(key.public_key()),
        not_before: now.to_system_time(),
        not_after: not_after.to_system_time(),
        public_key: key.public_key().clone(),
        signature_algorithm: key.signature_algorithm().clone(),
        crl_urls: Vec::new(),
        ca_issuers_urls: Vec::new(),
        ocsp_urls: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_names() {
        for ok in ["root", "issuing-ca.2", "A_b"] {
            check_ca_name(ok).unwrap();
        }
        for bad in ["", "a/b", "..", ".", "ä", &"x".repeat(65)] {
            assert!(check_ca_name(bad).is_err(), "{bad}");
        }
    }
}
