//! The one issuance path: everything the engine signs (certificates for
//! requests, CA certificates, client credentials, delegated OCSP responder
//! certificates) is made by [`issue_certificate`], the same way:
//!
//! 1. a profile: a request's from the profile set (the caller checked that
//!    the CA may use it), or one of cmc-policy's built-in profiles for the
//!    engine's own certificates ([`Profile::ca_certificate`],
//!    [`Profile::client_credential`], [`Profile::ocsp_responder`]);
//! 2. a random serial (126 bits from the CSPRNG), drawn in memory;
//! 3. the TBS certificate prepared and linted by `cmc_policy::prepare`
//!    with that serial, and the requester's names checked on it, before
//!    anything is signed;
//! 4. one signature by the CA key, verified with the CA's public key, and
//!    the signed TBS compared byte for byte with the linted one;
//! 5. one write unit, committed durably at once: the serial with the
//!    linted TBS and the certificate, its audit event, and what the
//!    request adds (its replay records, a one-time secret spent on it);
//! 6. the answer.
//!
//! The serial is not reserved in a separate write: the unit's insert is
//! where the database's unique key decides, and a taken serial (a unit
//! refused with `SerialInUse`) is drawn again and the certificate prepared
//! and signed again with it; nothing of the refused unit is stored, and
//! the signature over the taken serial is discarded. A refusal or failure
//! after the serial was drawn is one unit too: the serial kept as failed
//! (never reused) with the failure audit event.
//!
//! The path needs a store and the time, not a whole engine: CA creation
//! runs before any engine exists ([`crate::create_ca`], `cmc-tool ca
//! init`), and the engine's parts pass what is theirs (the CA's URLs, the
//! requester's names check).

use cmc_codec::alg::{SignatureAlg, verify_signature};
use cmc_keys::SigningKey;
use cmc_policy::{Decision, IssuerInfo, Prepared, Profile, Request};
use cmc_store::{
    AuditEvent, AuditKind, CaGeneration, CaRecord, IssuedCert, NewReservation, Outcome, Serial,
    Store, UnixTime, Write, WriteUnit,
};
use der::Encode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::name::Name;

use crate::ca::LoadedCa;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::replay::Replay;
use crate::x509::{fresh_serial, unix_time, x509_time};

/// How many fresh random serials are tried when the store reports one as
/// taken (with 126 random bits a second collision means a broken RNG).
/// A taken serial is only found at the commit, so each attempt signs.
const SERIAL_ATTEMPTS: usize = 3;

/// A certificate issued by the engine, already stored.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate.
    pub certificate: Certificate,
    /// The certificate, DER (as stored).
    pub der: Vec<u8>,
    /// Its serial, in the issuing CA's numbering.
    pub serial: Serial,
    /// What the profile made of the request: granted and dropped items.
    pub decision: Decision,
}

/// Who signs a certificate, as the policy sees it, and where the
/// certificate is numbered and stored.
pub(crate) struct Issuer<'a> {
    name: String,
    /// The key generation of the CA that signs.
    generation: u32,
    key: &'a dyn SigningKey,
    info: IssuerInfo,
    numbering: Numbering,
}

/// Where a certificate is numbered and stored.
enum Numbering {
    /// In a stored CA's certificate table: the serial is reserved there
    /// before the TBS is prepared.
    Stored,
    /// A new root CA, stored as this record (its certificate filled in).
    NewRoot(CaRecord),
    /// The next key generation of a root CA, stored passive as this record
    /// (its certificate filled in).
    NewRootGeneration(CaGeneration),
}

impl<'a> Issuer<'a> {
    /// The stored CA `ca`, seen by the policy as `info` (its certificate,
    /// the signature algorithm of its key, the URLs of its settings).
    pub(crate) fn ca(ca: &'a LoadedCa, info: IssuerInfo) -> Self {
        Self {
            name: ca.name().to_owned(),
            generation: ca.generation(),
            key: ca.key().as_ref(),
            info,
            numbering: Numbering::Stored,
        }
    }

    /// A root CA being created, `record` (stored with its certificate
    /// filled in): the one certificate signed by the key it certifies,
    /// `key`; `info` is the new CA as the issuer of its own certificate
    /// (the subject, key, key identifier and validity it is about to have).
    ///
    /// Its issuer is the new CA itself, whose numbering does not exist
    /// until its record is stored (certificates are recorded under a stored
    /// CA), and it is in no other CA's numbering: so no serial is reserved.
    /// The serial is still drawn at random (126 bits), the TBS is prepared
    /// and linted the same way with the new CA as issuer, and the
    /// certificate is stored as the CA's record, in one transaction with
    /// its audit event (`ca-added`).
    pub(crate) fn new_root(record: CaRecord, key: &'a dyn SigningKey, info: IssuerInfo) -> Self {
        Self {
            name: record.name.clone(),
            generation: 1,
            key,
            info,
            numbering: Numbering::NewRoot(record),
        }
    }

    /// The next generation of a root CA, `generation` (stored passive with
    /// its certificate filled in), signed by its own new key: as
    /// [`Issuer::new_root`], in no CA's numbering.
    pub(crate) fn new_root_generation(
        generation: CaGeneration,
        key: &'a dyn SigningKey,
        info: IssuerInfo,
    ) -> Self {
        Self {
            name: generation.ca.clone(),
            generation: generation.generation,
            key,
            info,
            numbering: Numbering::NewRootGeneration(generation),
        }
    }
}

/// A check of the names on a prepared certificate.
pub(crate) type NamesCheck<'a> = dyn Fn(&Prepared) -> Result<()> + 'a;

/// One certificate to issue.
pub(crate) struct Issuance<'a> {
    /// The profile.
    pub(crate) profile: &'a Profile,
    /// What is asked for.
    pub(crate) request: &'a Request,
    /// Who asks, for the records.
    pub(crate) requester: &'a str,
    /// The check of the requester's names on the prepared certificate,
    /// before anything is recorded or signed; `None` for the engine's own
    /// certificates, whose names the operator chose.
    pub(crate) check_names: Option<&'a NamesCheck<'a>>,
    /// The SHA-256 of the request as received (empty for the engine's own
    /// certificates), stored with the serial and in the audit event.
    pub(crate) request_hash: Vec<u8>,
    /// What else the audit event says (a JSON object, merged into its
    /// detail beside the request hash and the profile's decision).
    pub(crate) about: serde_json::Value,
}

/// What a request adds to the write unit of its certificate.
#[derive(Default)]
pub(crate) struct Carry<'a> {
    /// The message's replay records (carried by its first unit).
    pub(crate) replay: Option<&'a Replay>,
    /// A one-time secret (CA, identification) spent on the certificate:
    /// the unit fails if it cannot be spent any more.
    pub(crate) secret: Option<(&'a str, &'a str)>,
}

/// What one issuance attempt is about, for the audit log.
pub(crate) struct Attempt<'a> {
    pub(crate) ca: &'a str,
    /// The CA's key generation that signs.
    pub(crate) generation: u32,
    pub(crate) profile: &'a str,
    pub(crate) requester: &'a str,
    pub(crate) request_hash: &'a [u8],
    pub(crate) now: UnixTime,
}

/// A request the engine makes for one of its own certificates: `subject`
/// and `public_key`, valid from `not_before` to `not_after` (honoured by
/// the built-in profiles within their caps).
///
/// # Errors
/// [`Error::TimeOutOfRange`] for a time X.509 cannot carry.
pub(crate) fn engine_request(
    subject: Name,
    public_key: SubjectPublicKeyInfoOwned,
    not_before: UnixTime,
    not_after: UnixTime,
) -> Result<Request> {
    let mut request = Request::new(subject, public_key);
    request.validity = Some(cmc_asn1::OptionalValidity {
        not_before: Some(x509_time(not_before)?),
        not_after: Some(x509_time(not_after)?),
    });
    Ok(request)
}

/// Issues one certificate by the one path (see the module documentation)
/// at `now`, and stores it with its audit event in one unit: `issued`
/// under a stored CA, `ca-added` for a new root. Every outcome is audited;
/// a refusal (the profile's, the lint's, the names') as `refused`.
///
/// # Errors
/// [`Error::Policy`] with `Refused` (every reason) or `Lint` (every
/// finding); what the names check returns ([`Error::ReservedName`], …);
/// [`Error::Key`] if the key cannot sign; [`Error::BadCaSignature`]; store
/// errors, among them `Replay` and the secret's when the unit's replay
/// records or secret cannot be written (nothing is stored then).
pub(crate) fn issue_certificate(
    store: &dyn Store,
    now: UnixTime,
    issuer: Issuer<'_>,
    issuance: &Issuance<'_>,
) -> Result<Issued> {
    let engine = Committer {
        store,
        engine: None,
    };
    issue_carrying(engine, now, issuer, issuance, &Carry::default())
}

/// [`issue_certificate`] through the engine's commit, with what the
/// request adds to the certificate's unit (`carry`).
///
/// # Errors
/// As [`issue_certificate`].
pub(crate) fn issue_carrying(
    engine: Committer<'_>,
    now: UnixTime,
    issuer: Issuer<'_>,
    issuance: &Issuance<'_>,
    carry: &Carry<'_>,
) -> Result<Issued> {
    let attempt = Attempt {
        ca: &issuer.name,
        generation: issuer.generation,
        profile: issuance.profile.name(),
        requester: issuance.requester,
        request_hash: &issuance.request_hash,
        now,
    };
    let mut last = None;
    for _ in 0..SERIAL_ATTEMPTS {
        let serial = match fresh_serial() {
            Ok(s) => s,
            Err(e) => {
                audit_failure(engine, &attempt, None, &e, carry.replay)?;
                return Err(e);
            }
        };
        let mut tbs = None;
        let (issued, unit) = match sign(&issuer, issuance, carry, &serial, &attempt, &mut tbs) {
            Ok(signed) => signed,
            Err(e) => {
                let failed = matches!(issuer.numbering, Numbering::Stored)
                    .then_some((&serial, tbs.as_deref()));
                audit_failure(engine, &attempt, failed, &e, carry.replay)?;
                return Err(e);
            }
        };
        let committed = match &issuer.numbering {
            Numbering::Stored => engine.commit(&issuer.name, unit, carry.replay),
            Numbering::NewRoot(record) => {
                let record = CaRecord {
                    cert_der: issued.der.clone(),
                    ..record.clone()
                };
                let [Write::Audit(event)] = &unit.writes[..] else {
                    unreachable!("a new root's unit is its audit event");
                };
                engine
                    .store
                    .put_ca_with_audit(&record, event)
                    .map(drop)
                    .map_err(Error::from)
            }
            Numbering::NewRootGeneration(generation) => {
                let generation = CaGeneration {
                    cert_der: issued.der.clone(),
                    ..generation.clone()
                };
                let [Write::Audit(event)] = &unit.writes[..] else {
                    unreachable!("a new root generation's unit is its audit event");
                };
                engine
                    .store
                    .put_passive_generation(&generation, event)
                    .map_err(Error::from)
            }
        };
        match committed {
            Ok(()) => {
                tracing::info!(ca = attempt.ca, serial = %serial, profile = attempt.profile,
                    requester = attempt.requester, dropped = issued.decision.dropped.len(),
                    "certificate issued");
                return Ok(issued);
            }
            Err(Error::Store(e @ cmc_store::Error::SerialInUse { .. })) => {
                tracing::warn!(ca = attempt.ca, serial = %serial, "random serial already in use");
                last = Some(e);
            }
            Err(e @ Error::Store(cmc_store::Error::Replay)) => return Err(e),
            Err(e) => {
                // Nothing of the unit is stored; the attempt is audited
                // without the records it could not write.
                audit_failure(engine, &attempt, None, &e, None)?;
                return Err(e);
            }
        }
    }
    let e = last.map_or(Error::Rng, Error::Store);
    audit_failure(engine, &attempt, None, &e, carry.replay)?;
    Err(e)
}

/// What the issuance path needs of the engine: the store, and the engine's
/// commit of a unit (which carries the replay records), or the store's
/// when there is no engine yet (CA creation).
#[derive(Clone, Copy)]
pub(crate) struct Committer<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) engine: Option<&'a Engine>,
}

impl Committer<'_> {
    fn commit(&self, ca: &str, unit: WriteUnit, replay: Option<&Replay>) -> Result<()> {
        match self.engine {
            Some(engine) => engine.commit(ca, unit, replay),
            None => Ok(self.store.commit_unit(unit)?),
        }
    }
}

/// Everything between the serial and the write unit: prepare, lint, check
/// names, sign, verify. Returns the certificate and its unit; `tbs` is the
/// linted TBS once there is one (kept with a serial that then fails).
fn sign(
    issuer: &Issuer<'_>,
    issuance: &Issuance<'_>,
    carry: &Carry<'_>,
    serial: &Serial,
    attempt: &Attempt<'_>,
    tbs: &mut Option<Vec<u8>>,
) -> Result<(Issued, WriteUnit)> {
    let policy_serial = cmc_policy::Serial::from_bytes(&serial.to_der_content())?;
    let prepared = cmc_policy::prepare(
        issuance.request,
        issuance.profile,
        &issuer.info,
        &policy_serial,
        attempt.now.to_system_time(),
    )?;
    if let Some(check) = issuance.check_names {
        check(&prepared)?;
    }
    let tbs_der = prepared.tbs_der().to_vec();
    *tbs = Some(tbs_der.clone());
    let decision = prepared.decision().clone();

    let signature = issuer.key.sign(&tbs_der)?;
    if issuer.key.signatures_need_verifying() {
        let bad_signature = |detail: String| Error::BadCaSignature {
            ca: issuer.name.to_owned(),
            detail,
        };
        let algorithm =
            SignatureAlg::from_algorithm_identifier(issuer.key.signature_algorithm(), None)
                .map_err(|e| bad_signature(e.to_string()))?;
        verify_signature(
            &issuer.info.public_key,
            &algorithm,
            &tbs_der,
            &signature,
            "certificate",
        )
        .map_err(|e| bad_signature(e.to_string()))?;
    }
    // `assemble` checks the signed TBS against the prepared one; the
    // comparison below repeats it on the bytes that will be stored.
    let certificate = prepared.assemble(&signature)?;
    let der = certificate
        .to_der()
        .map_err(|e| Error::encode("certificate", e))?;
    let signed_tbs = certificate
        .tbs_certificate()
        .to_der()
        .map_err(|e| Error::encode("TBS certificate", e))?;
    if signed_tbs != tbs_der {
        return Err(Error::Policy(cmc_policy::Error::TbsMismatch));
    }

    let mut detail = serde_json::json!({ "decision": &decision });
    if !issuance.request_hash.is_empty() {
        detail["request_sha256"] = hex(&issuance.request_hash).into();
    }
    if let serde_json::Value::Object(about) = &issuance.about {
        for (k, v) in about {
            detail[k] = v.clone();
        }
    }
    let mut event = AuditEvent {
        at: attempt.now,
        kind: AuditKind::Issued,
        issuer: Some(issuer.name.clone()),
        serial: Some(serial.clone()),
        profile: Some(attempt.profile.to_owned()),
        requester: Some(attempt.requester.to_owned()),
        outcome: Outcome::Success,
        detail: detail.to_string(),
    };
    let mut unit = WriteUnit::new(attempt.now);
    match &issuer.numbering {
        Numbering::Stored => {
            let validity = certificate.tbs_certificate().validity();
            unit.push(Write::Certificate {
                serial: reservation(attempt, serial, Some(tbs_der)),
                cert: IssuedCert {
                    cert_der: der.clone(),
                    subject: decision.subject.clone(),
                    sans: decision.subject_alt_names.clone(),
                    not_before: unix_time(&validity.not_before),
                    not_after: unix_time(&validity.not_after),
                    issued_at: attempt.now,
                },
            });
            if let Some((ca, identification)) = carry.secret {
                unit.push(Write::SpendSecret {
                    ca: ca.to_owned(),
                    identification: identification.to_owned(),
                });
            }
        }
        Numbering::NewRoot(_) => event.kind = AuditKind::CaAdded,
        Numbering::NewRootGeneration(_) => {
            event.kind = AuditKind::Other(crate::generation::ROLLOVER_EVENT.to_owned());
        }
    }
    unit.push(Write::Audit(event));
    Ok((
        Issued {
            certificate,
            der,
            serial: serial.clone(),
            decision,
        },
        unit,
    ))
}

/// The serial of `attempt` as the store keeps it.
fn reservation(attempt: &Attempt<'_>, serial: &Serial, tbs_der: Option<Vec<u8>>) -> NewReservation {
    NewReservation {
        issuer: attempt.ca.to_owned(),
        serial: serial.clone(),
        requester: attempt.requester.to_owned(),
        profile: attempt.profile.to_owned(),
        request_hash: attempt.request_hash.to_vec(),
        tbs_der,
        generation: attempt.generation,
    }
}

/// The audit event of a refused or failed issuance, in one unit with the
/// serial it drew, if any (kept as failed, with the TBS prepared for it,
/// if any: never reused), and the
/// message's replay records when `replay` is given.
///
/// # Errors
/// Store errors (a replayed nonce among them: then nothing is written).
pub(crate) fn audit_failure(
    engine: Committer<'_>,
    attempt: &Attempt<'_>,
    failed: Option<(&Serial, Option<&[u8]>)>,
    error: &Error,
    replay: Option<&Replay>,
) -> Result<()> {
    let refused = matches!(
        error,
        Error::ProfileNotAllowed { .. }
            | Error::ReservedName { .. }
            | Error::NameNotRegistered(_)
            | Error::RenewalNames(_)
            | Error::Policy(
                cmc_policy::Error::Refused { .. }
                    | cmc_policy::Error::Lint { .. }
                    | cmc_policy::Error::UnknownProfile(_)
                    | cmc_policy::Error::BadRequest(_)
            )
    );
    let mut detail = serde_json::json!({ "error": error.to_string() });
    if !attempt.request_hash.is_empty() {
        detail["request_sha256"] = hex(attempt.request_hash).into();
    }
    match error {
        Error::Policy(cmc_policy::Error::Refused { reasons, .. }) => {
            detail["refusals"] = serde_json::json!(reasons);
        }
        Error::Policy(cmc_policy::Error::Lint { findings }) => {
            detail["findings"] = serde_json::json!(findings);
        }
        _ => {}
    }
    if refused {
        tracing::info!(ca = attempt.ca, profile = attempt.profile, requester = attempt.requester,
            error = %error, "issuance refused");
    } else {
        tracing::error!(ca = attempt.ca, profile = attempt.profile, requester = attempt.requester,
            error = %error, "issuance failed");
    }
    let mut unit = WriteUnit::new(attempt.now);
    if let Some((serial, tbs)) = failed {
        unit.push(Write::FailedSerial {
            serial: reservation(attempt, serial, tbs.map(<[u8]>::to_vec)),
            reason: error.to_string(),
        });
    }
    unit.push(Write::Audit(AuditEvent {
        at: attempt.now,
        kind: if refused {
            AuditKind::Refused
        } else {
            AuditKind::Issued
        },
        issuer: Some(attempt.ca.to_owned()),
        serial: failed.map(|(s, _)| s.clone()),
        profile: Some(attempt.profile.to_owned()),
        requester: Some(attempt.requester.to_owned()),
        outcome: Outcome::Failure,
        detail: detail.to_string(),
    }));
    engine.commit(attempt.ca, unit, replay)
}

impl Engine {
    /// CA `ca` as the issuer the policy sees: its certificate, the
    /// signature algorithm of its key, and the CRL, OCSP and caIssuers URLs
    /// of its settings (which only request profiles put into certificates).
    ///
    /// # Errors
    /// [`Error::Policy`] if the CA certificate's subjectKeyIdentifier does
    /// not decode.
    pub(crate) fn issuer_info(&self, ca: &LoadedCa) -> Result<IssuerInfo> {
        let settings = self.config().ca_settings(ca.name());
        let mut issuer = plain_issuer_info(ca)?;
        if let Some(url) = settings.crl_url {
            issuer = issuer.with_crl_url(url);
        }
        if let Some(url) = settings.ocsp_url {
            issuer = issuer.with_ocsp_url(url);
        }
        if let Some(url) = settings.ca_issuers_url {
            issuer = issuer.with_ca_issuers_url(url);
        }
        Ok(issuer)
    }
}

/// CA `ca` as the issuer the policy sees, without URLs (which the engine's
/// own profiles do not put into certificates).
///
/// # Errors
/// As [`Engine::issuer_info`].
pub(crate) fn plain_issuer_info(ca: &LoadedCa) -> Result<IssuerInfo> {
    Ok(IssuerInfo::from_certificate(
        ca.certificate(),
        ca.key().signature_algorithm().clone(),
    )?)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
    }
}
