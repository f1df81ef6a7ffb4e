//! OCSP (RFC 6960): the status of a CA's certificates, answered from the
//! store, signed by the CA key or by a delegated responder certificate that
//! the engine issues itself and renews.
//!
//! Answering is read-only and writes no audit event; issuing a delegated
//! responder certificate does, as every issuance.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use cmc_asn1::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspNonce, OcspRequest, OcspResponse,
    OcspResponseStatus, OcspVersion, ResponderId, ResponseData, RevokedInfo, SingleResponse,
};
use cmc_keys::SigningKey;
use cmc_policy::{OCSP_RESPONDER_BACKDATE_SECONDS, Profile};
use cmc_store::{
    CertFilter, CertRecord, CertState, CertStatus as StoredStatus, CertStore, PageRequest, Serial,
    Store, UnixTime,
};
use const_oid::AssociatedOid;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use der::asn1::{BitString, Null, OctetString};
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::name::Name;

use crate::ca::LoadedCa;
use crate::config::OcspSettings;
use crate::crl::crl_reason;
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::issue::{Issuance, Issuer, engine_request, issue_certificate, plain_issuer_info};
use crate::x509::{decode_certificate, generalized_time, key_identifier, parse_name, unix_time};

mod cache;
mod responder;

pub(crate) use cache::OcspCache;
use responder::ResponderCert;
pub(crate) use responder::{DelegatedResponder, open_responders};

/// The profile delegated OCSP responder certificates are issued and
/// recorded under ([`cmc_policy::Profile::ocsp_responder`]).
pub const OCSP_RESPONDER_PROFILE: &str = cmc_policy::OCSP_RESPONDER_PROFILE_NAME;

/// The most certificates one OCSP request may ask about; a longer
/// requestList is answered with malformedRequest.
pub const MAX_OCSP_REQUESTS: usize = 16;

/// The requester recorded for the delegated responder certificates the
/// engine issues itself.
const RENEWAL_REQUESTER: &str = "cmc-ca ocsp-responder renewal";

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// How OCSP responses are dated and when a delegated responder certificate
/// is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OcspConfig {
    /// nextUpdate − thisUpdate of each response, in seconds (default one
    /// hour); cut at the CA's and the responder certificate's notAfter.
    pub validity_secs: i64,
    /// Lifetime of a delegated responder certificate (default 7 days), cut
    /// at the CA's notAfter.
    pub responder_validity_secs: i64,
    /// A delegated responder certificate with less than this left is
    /// replaced (default 2 days). Must be below `responder_validity_secs`.
    pub responder_renew_margin_secs: i64,
}

impl Default for OcspConfig {
    fn default() -> Self {
        Self {
            validity_secs: HOUR,
            responder_validity_secs: 7 * DAY,
            responder_renew_margin_secs: 2 * DAY,
        }
    }
}

impl OcspConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a response validity outside one minute
    /// to 7 days, a responder certificate lifetime outside one hour to 366
    /// days, or a renewal margin that is negative or not below the lifetime.
    pub fn validate(&self) -> Result<()> {
        if !(60..=7 * DAY).contains(&self.validity_secs) {
            return Err(Error::InvalidRequest(
                "the OCSP response validity must be between 1 minute and 7 days".into(),
            ));
        }
        if !(HOUR..=366 * DAY).contains(&self.responder_validity_secs) {
            return Err(Error::InvalidRequest(
                "the OCSP responder certificate validity must be between 1 hour and 366 days"
                    .into(),
            ));
        }
        if self.responder_renew_margin_secs < 0
            || self.responder_renew_margin_secs >= self.responder_validity_secs
        {
            return Err(Error::InvalidRequest(
                "the OCSP responder renew margin must be at least 0 and below the responder certificate validity"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl EngineConfig {
    /// The OCSP settings of CA `ca`: its `[ca.NAME.ocsp]` section, or the
    /// defaults.
    #[must_use]
    pub fn ocsp(&self, ca: &str) -> OcspConfig {
        self.cas
            .get(ca)
            .and_then(|s| s.ocsp.as_ref())
            .map_or_else(OcspConfig::default, OcspSettings::to_ocsp_config)
    }
}

/// What [`Engine::ocsp`] answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspReply {
    /// The `OCSPResponse`, DER.
    pub der: Vec<u8>,
    /// Its responseStatus.
    pub status: OcspResponseStatus,
    /// producedAt of a successful response.
    pub produced_at: Option<UnixTime>,
    /// The nextUpdate of a successful response (the same for every
    /// SingleResponse): a cache may keep it until then.
    pub next_update: Option<UnixTime>,
    /// Whether the request had a nonce, echoed in the response, which
    /// makes the response unfit for anyone else.
    pub nonce: bool,
    /// How many certificates were answered good, revoked and unknown.
    pub counts: StatusCounts,
}

/// How many SingleResponses of each status a response holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// good.
    pub good: usize,
    /// revoked.
    pub revoked: usize,
    /// unknown.
    pub unknown: usize,
}

impl OcspReply {
    /// An unsuccessful response: the status alone.
    fn error(status: OcspResponseStatus) -> Self {
        Self {
            der: error_der(status),
            status,
            produced_at: None,
            next_update: None,
            nonce: false,
            counts: StatusCounts::default(),
        }
    }
}

/// The DER of an `OCSPResponse` with `status` and no responseBytes:
/// SEQUENCE { ENUMERATED status }, which cannot fail to encode.
fn error_der(status: OcspResponseStatus) -> Vec<u8> {
    vec![0x30, 0x03, 0x0a, 0x01, status as u8]
}

/// A request that passed the checks, with its nonce extension if any.
struct Checked {
    request: OcspRequest,
    nonce: Option<Extension>,
}

/// Decodes a request and checks what RFC 6960 and RFC 8954 require of it;
/// the error is the reason for malformedRequest (for the log).
fn check_request(der: &[u8]) -> std::result::Result<Checked, &'static str> {
    let request = OcspRequest::from_der(der).map_err(|_| "it does not decode")?;
    let tbs = &request.tbs_request;
    if tbs.request_list.is_empty() {
        return Err("its requestList is empty");
    }
    if tbs.request_list.len() > MAX_OCSP_REQUESTS {
        return Err("it asks about too many certificates");
    }
    let extensions = tbs.request_extensions.as_deref().unwrap_or_default();
    check_extensions(extensions, &[OcspNonce::OID])?;
    for entry in &tbs.request_list {
        check_extensions(
            entry
                .single_request_extensions
                .as_deref()
                .unwrap_or_default(),
            &[],
        )?;
    }
    let nonce = tbs.extension(&OcspNonce::OID).cloned();
    if let Some(ext) = &nonce {
        let value = OcspNonce::from_der(ext.extn_value.as_bytes())
            .map_err(|_| "its nonce is not an OCTET STRING")?;
        if !(1..=OcspNonce::MAX_LEN).contains(&value.0.as_bytes().len()) {
            return Err("its nonce is empty or longer than 32 octets (RFC 8954)");
        }
    }
    Ok(Checked { request, nonce })
}

/// Refuses an extension that appears twice, or a critical one that is not
/// in `understood`.
fn check_extensions(
    extensions: &[Extension],
    understood: &[const_oid::ObjectIdentifier],
) -> std::result::Result<(), &'static str> {
    for (i, ext) in extensions.iter().enumerate() {
        if extensions[..i].iter().any(|e| e.extn_id == ext.extn_id) {
            return Err("an extension appears twice");
        }
        if ext.critical && !understood.contains(&ext.extn_id) {
            return Err("it has a critical extension this responder does not know");
        }
    }
    Ok(())
}

/// What a CertID's two hashes are taken over for one CA.
struct IssuerHashInput {
    name_der: Vec<u8>,
    key_bits: Vec<u8>,
}

impl IssuerHashInput {
    fn of(ca: &LoadedCa) -> Result<Self> {
        let tbs = ca.certificate().tbs_certificate();
        Ok(Self {
            name_der: tbs
                .subject()
                .to_der()
                .map_err(|e| Error::encode("CA name", e))?,
            key_bits: tbs
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes()
                .to_vec(),
        })
    }

    /// Whether `id` names a certificate of this issuer. A hash algorithm
    /// other than SHA-1 and SHA-2 (256, 384, 512), or with parameters other
    /// than absent or NULL, matches nothing.
    fn matches(&self, id: &CertId) -> bool {
        let (Some(name), Some(key)) = (
            digest(&id.hash_algorithm, &self.name_der),
            digest(&id.hash_algorithm, &self.key_bits),
        ) else {
            return false;
        };
        name == id.issuer_name_hash.as_bytes() && key == id.issuer_key_hash.as_bytes()
    }
}

fn digest(alg: &AlgorithmIdentifierOwned, data: &[u8]) -> Option<Vec<u8>> {
    if alg.parameters.as_ref().is_some_and(|p| !p.is_null()) {
        return None;
    }
    let oid = alg.oid;
    Some(if oid == ID_SHA_1 {
        Sha1::digest(data).to_vec()
    } else if oid == ID_SHA_256 {
        Sha256::digest(data).to_vec()
    } else if oid == ID_SHA_384 {
        Sha384::digest(data).to_vec()
    } else if oid == ID_SHA_512 {
        Sha512::digest(data).to_vec()
    } else {
        return None;
    })
}

/// The status the store gives a serial: good when issued, revoked with its
/// time and reason (none for unspecified), unknown when it was never
/// issued (reserved, failed, or not in the store).
fn stored_status(record: Option<&CertRecord>) -> Result<CertStatus> {
    Ok(match record.map(|r| &r.state) {
        Some(CertState::Issued(_)) => CertStatus::Good(Null),
        Some(CertState::Revoked { revocation, .. }) => CertStatus::Revoked(RevokedInfo {
            revocation_time: generalized_time(revocation.revoked_at)?,
            revocation_reason: crl_reason(revocation.reason),
        }),
        Some(CertState::Reserved | CertState::Failed { .. }) | None => CertStatus::Unknown(Null),
    })
}

/// Who signs a response: the key, and the delegated responder certificate
/// when it is not the CA's own key.
struct Signer {
    key: Arc<dyn SigningKey>,
    cert: Option<Arc<ResponderCert>>,
}

impl Engine {
    /// Answers an OCSP request (DER) for CA `ca`.
    ///
    /// A request that does not decode, asks about no or more than
    /// [`MAX_OCSP_REQUESTS`] certificates, has a critical extension other
    /// than the nonce, or a nonce that is not 1 to 32 octets (RFC 8954), is
    /// answered malformedRequest. Otherwise each CertID is answered: a
    /// CertID of this CA (its name and key hashed with SHA-1, SHA-256,
    /// SHA-384 or SHA-512) whose serial the CA issued is good or revoked
    /// (with the revocation time, and the reason unless unspecified);
    /// anything else is unknown. thisUpdate and producedAt are now,
    /// nextUpdate is now + [`OcspConfig::validity_secs`] (cut at the CA's,
    /// and the delegated responder certificate's, notAfter); a nonce is
    /// echoed. The response is signed by the delegated responder of
    /// `[ca.NAME.ocsp]`, renewed here when due, or by the CA key;
    /// responderID is byKey (SHA-1 of the signer's public key), and the
    /// responder certificate is included when it is not the CA's.
    ///
    /// A request's signature (optionalSignature) is not checked: the
    /// answers are public, and RFC 6960 §4.1.2 leaves signing optional.
    ///
    /// A failure on the CA's side is answered too: tryLater when the store
    /// fails, internalError otherwise (the CA is not valid now, the key
    /// does not sign); the detail is logged.
    ///
    /// # Errors
    /// Only [`Error::UnknownCa`].
    pub fn ocsp(&self, ca: &str, request: &[u8]) -> Result<OcspReply> {
        let ca = self.ca(ca)?;
        let checked = match check_request(request) {
            Ok(checked) => checked,
            Err(why) => {
                tracing::debug!(ca = ca.name(), why, "malformed OCSP request");
                return Ok(OcspReply::error(OcspResponseStatus::MalformedRequest));
            }
        };
        // The generation whose name and key hashes the request carries
        // answers (and signs); entries for another generation are unknown.
        let generation = checked
            .request
            .tbs_request
            .request_list
            .first()
            .and_then(|entry| {
                std::iter::once(ca.as_ref())
                    .chain(ca.retired().iter().map(AsRef::as_ref))
                    .find(|g| IssuerHashInput::of(g).is_ok_and(|h| h.matches(&entry.req_cert)))
            })
            .unwrap_or(&ca);
        match self.answer_ocsp(generation, &checked) {
            Ok(reply) => Ok(reply),
            Err(e) => {
                let status = match e {
                    Error::Store(_) => OcspResponseStatus::TryLater,
                    _ => OcspResponseStatus::InternalError,
                };
                tracing::error!(ca = ca.name(), error = %e, status = status.name(),
                    "answering an OCSP request failed");
                Ok(OcspReply::error(status))
            }
        }
    }

    fn answer_ocsp(&self, ca: &LoadedCa, checked: &Checked) -> Result<OcspReply> {
        let now = self.now();
        ca.check_valid_at(now)?;
        // Read before the statuses (see the cache module): a revocation on
        // any node since the cached answer was signed moves it.
        let epoch = self.store().revocation_epoch(ca.name())?;
        let key = match &checked.nonce {
            Some(_) => None,
            None => Some(
                checked
                    .request
                    .tbs_request
                    .request_list
                    .to_der()
                    .map_err(|e| Error::encode("OCSP requestList", e))?,
            ),
        };
        if let Some(key) = &key {
            if let Some(reply) = self.ocsp_cache().get(ca.name(), key, epoch, now) {
                return Ok(reply);
            }
        }
        let reply = self.sign_ocsp(ca, checked, now)?;
        if let Some(key) = key {
            self.ocsp_cache().put(ca.name(), key, &reply, epoch, now);
        }
        Ok(reply)
    }

    /// Looks the statuses up and signs a response, dated `now`.
    fn sign_ocsp(&self, ca: &LoadedCa, checked: &Checked, now: UnixTime) -> Result<OcspReply> {
        let config = self.config().ocsp(ca.name());
        let signer = self.ocsp_signer(ca, &config, now);
        let mut next_update = now.plus_secs(config.validity_secs).min(ca.not_after());
        if let Some(cert) = &signer.cert {
            next_update = next_update.min(cert.not_after);
        }
        let this_update = generalized_time(now)?;
        let next = generalized_time(next_update)?;
        let issuer = IssuerHashInput::of(ca)?;
        let mut counts = StatusCounts::default();
        let mut responses = Vec::with_capacity(checked.request.tbs_request.request_list.len());
        for entry in &checked.request.tbs_request.request_list {
            let status = self.ocsp_status(ca, &issuer, &entry.req_cert)?;
            match status {
                CertStatus::Good(_) => counts.good += 1,
                CertStatus::Revoked(_) => counts.revoked += 1,
                CertStatus::Unknown(_) => counts.unknown += 1,
            }
            responses.push(SingleResponse {
                cert_id: entry.req_cert.clone(),
                cert_status: status,
                this_update,
                next_update: Some(next),
                single_extensions: None,
            });
        }
        let tbs = ResponseData {
            version: OcspVersion::V1,
            responder_id: ResponderId::ByKey(
                OctetString::new(key_identifier(signer.key.public_key()))
                    .map_err(|e| Error::encode("responderID", e))?,
            ),
            produced_at: this_update,
            responses,
            response_extensions: checked.nonce.as_ref().map(|ext| {
                vec![Extension {
                    critical: false,
                    ..ext.clone()
                }]
            }),
        };
        let tbs_der = tbs
            .to_der()
            .map_err(|e| Error::encode("OCSP ResponseData", e))?;
        let signature = signer.key.sign(&tbs_der)?;
        let basic = BasicOcspResponse {
            tbs_response_data: tbs,
            signature_algorithm: signer.key.signature_algorithm().clone(),
            signature: BitString::from_bytes(&signature)
                .map_err(|e| Error::encode("signature", e))?,
            certs: signer.cert.as_ref().map(|c| vec![c.cert.clone()]),
        };
        let der = OcspResponse::successful(&basic)
            .and_then(|r| r.to_der())
            .map_err(|e| Error::encode("OCSPResponse", e))?;
        tracing::debug!(
            ca = ca.name(),
            good = counts.good,
            revoked = counts.revoked,
            unknown = counts.unknown,
            delegated = signer.cert.is_some(),
            "OCSP response signed"
        );
        Ok(OcspReply {
            der,
            status: OcspResponseStatus::Successful,
            produced_at: Some(now),
            next_update: Some(next_update),
            nonce: checked.nonce.is_some(),
            counts,
        })
    }

    fn ocsp_status(
        &self,
        ca: &LoadedCa,
        issuer: &IssuerHashInput,
        id: &CertId,
    ) -> Result<CertStatus> {
        if !issuer.matches(id) {
            return Ok(CertStatus::Unknown(Null));
        }
        // A negative number (top bit set, no leading zero) is no serial of
        // ours; the store keeps magnitudes, where it would alias one.
        let bytes = id.serial_number.as_bytes();
        if bytes.first().is_none_or(|b| b & 0x80 != 0) {
            return Ok(CertStatus::Unknown(Null));
        }
        let Ok(serial) = Serial::from_be_bytes(bytes) else {
            return Ok(CertStatus::Unknown(Null));
        };
        let record = self.store().get_cert(ca.name(), &serial)?;
        // A certificate whose profile waits for acceptance is not published before it.
        if let Some(r) = record.as_ref().filter(|r| {
            matches!(r.state, CertState::Issued(_)) && self.requires_acceptance(&r.profile)
        }) && self.store().accepted_at(ca.name(), &r.serial)?.is_none()
        {
            return Ok(CertStatus::Unknown(Null));
        }
        // Serials are the CA's across its generations: a certificate
        // another generation signed is not this generation's to answer.
        if let Some(issued) = record.as_ref().and_then(|r| r.certificate()) {
            if crate::generation::authority_key_id(&issued.cert_der)
                .is_some_and(|aki| aki != ca.key_identifier())
            {
                return Ok(CertStatus::Unknown(Null));
            }
        }
        stored_status(record.as_ref())
    }

    fn ocsp_signer(&self, ca: &LoadedCa, config: &OcspConfig, now: UnixTime) -> Signer {
        let ca_key = || Signer {
            key: Arc::clone(ca.key()),
            cert: None,
        };
        // A delegated responder is certified by the active generation: a
        // retired generation signs its answers with its own key.
        let active = self
            .ca(ca.name())
            .is_ok_and(|a| a.generation() == ca.generation());
        let Some(delegated) = self.ocsp_responders().get(ca.name()).filter(|_| active) else {
            return ca_key();
        };
        match delegated.current(self.store().as_ref(), ca, config, now) {
            Ok(cert) => Signer {
                key: Arc::clone(&delegated.key),
                cert: Some(cert),
            },
            Err(e) => {
                tracing::error!(ca = ca.name(), error = %e,
                    "no delegated OCSP responder certificate: the CA key signs this response");
                ca_key()
            }
        }
    }

    /// The delegated OCSP responder certificate of CA `ca` (DER) that signs
    /// its responses now, issued or renewed first if it is due; `None` when
    /// the CA has no delegated responder (`[ca.NAME.ocsp] key`).
    ///
    /// # Errors
    /// [`Error::UnknownCa`]; what renewing fails with (the CA is not valid,
    /// the responder key's certificate was revoked, store and key errors).
    pub fn ocsp_responder_certificate(&self, ca: &str) -> Result<Option<Vec<u8>>> {
        let loaded = self.ca(ca)?;
        let Some(delegated) = self.ocsp_responders().get(ca) else {
            return Ok(None);
        };
        let now = self.now();
        let cert =
            delegated.current(self.store().as_ref(), &loaded, &self.config().ocsp(ca), now)?;
        Ok(Some(cert.der.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_are_exact_der() {
        for status in [
            OcspResponseStatus::MalformedRequest,
            OcspResponseStatus::InternalError,
            OcspResponseStatus::TryLater,
            OcspResponseStatus::SigRequired,
            OcspResponseStatus::Unauthorized,
        ] {
            assert_eq!(
                error_der(status),
                OcspResponse::error(status).to_der().unwrap()
            );
        }
    }

    #[test]
    fn config_limits() {
        OcspConfig::default().validate().unwrap();
        let ok = OcspConfig::default();
        for bad in [
            OcspConfig {
                validity_secs: 59,
                ..ok
            },
            OcspConfig {
                validity_secs: 8 * DAY,
                ..ok
            },
            OcspConfig {
                responder_validity_secs: 60,
                ..ok
            },
            OcspConfig {
                responder_renew_margin_secs: ok.responder_validity_secs,
                ..ok
            },
            OcspConfig {
                responder_renew_margin_secs: -1,
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hash_algorithms() {
        let alg = |oid, parameters| AlgorithmIdentifierOwned { oid, parameters };
        let null = Some(der::asn1::Any::null());
        assert_eq!(digest(&alg(ID_SHA_1, None), b"abc").unwrap().len(), 20);
        assert_eq!(
            digest(&alg(ID_SHA_1, null.clone()), b"abc").unwrap().len(),
            20
        );
        assert_eq!(digest(&alg(ID_SHA_256, None), b"abc").unwrap().len(), 32);
        assert_eq!(digest(&alg(ID_SHA_384, None), b"abc").unwrap().len(), 48);
        assert_eq!(digest(&alg(ID_SHA_512, null), b"abc").unwrap().len(), 64);
        let md5 = const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
        assert!(digest(&alg(md5, None), b"abc").is_none());
        let odd = der::asn1::Any::encode_from(&OctetString::new(*b"x").unwrap()).unwrap();
        assert!(digest(&alg(ID_SHA_256, Some(odd)), b"abc").is_none());
    }

    #[test]
    fn extension_checks() {
        let ext = |oid: &str, critical| Extension {
            extn_id: const_oid::ObjectIdentifier::new_unwrap(oid),
            critical,
            extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
        };
        let nonce = OcspNonce::OID.to_string();
        check_extensions(&[ext(&nonce, true), ext("1.2.3", false)], &[OcspNonce::OID]).unwrap();
        assert!(check_extensions(&[ext("1.2.3", true)], &[OcspNonce::OID]).is_err());
        assert!(check_extensions(&[ext(&nonce, false), ext(&nonce, false)], &[]).is_err());
    }
}
