//! CRLs (RFC 5280 §5): a v2 CRL per CA, numbered by the store, and the
//! rule for when the latest one is still good enough to hand out.

use std::collections::BTreeSet;

use cmc_store::{
    AuditEvent, AuditKind, CrlRecord, Outcome, RevocationReason, RevokedEntry, UnixTime,
};
use const_oid::AssociatedOid;
use const_oid::db::rfc5280::ID_CE_INVALIDITY_DATE;
use der::asn1::{BitString, GeneralizedTime, OctetString};
use der::{Decode, Encode};
use x509_cert::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlReason};

use crate::ca::LoadedCa;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::x509::{extension, generalized_time, serial_number, store_serial, unix_time, x509_time};

const DAY: i64 = 86_400;

/// How CRLs are dated and when a stored one is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlConfig {
    /// nextUpdate − thisUpdate, in seconds (default 7 days); cut at the CA
    /// certificate's notAfter.
    pub validity_secs: i64,
    /// A stored CRL whose nextUpdate is less than this many seconds away is
    /// replaced (default 1 day). Must be below `validity_secs`.
    pub refresh_margin_secs: i64,
}

impl Default for CrlConfig {
    fn default() -> Self {
        Self {
            validity_secs: 7 * DAY,
            refresh_margin_secs: DAY,
        }
    }
}

impl CrlConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a validity below one minute or a
    /// margin that is negative or not below the validity.
    pub fn validate(&self) -> Result<()> {
        if self.validity_secs < 60 {
            return Err(Error::InvalidRequest(
                "CRL validity must be at least 60 seconds".into(),
            ));
        }
        if self.refresh_margin_secs < 0 || self.refresh_margin_secs >= self.validity_secs {
            return Err(Error::InvalidRequest(
                "the CRL refresh margin must be at least 0 and below the CRL validity".into(),
            ));
        }
        Ok(())
    }
}

/// Builds and signs a v2 CRL for `ca`: issuer = the CA's subject,
/// thisUpdate and nextUpdate as given, one entry per revoked certificate
/// (with reasonCode unless unspecified, and invalidityDate when known),
/// crlExtensions authorityKeyIdentifier (the CA's key identifier) and
/// cRLNumber (both non-critical). An empty list is left out, as RFC 5280
/// §5.1.2.6 requires. Returns the DER.
///
/// # Errors
/// [`Error::TimeOutOfRange`], [`Error::Encode`], and the key's errors.
pub fn build_crl(
    ca: &LoadedCa,
    crl_number: u64,
    this_update: UnixTime,
    next_update: UnixTime,
    revoked: &[RevokedEntry],
) -> Result<Vec<u8>> {
    let mut entries = Vec::with_capacity(revoked.len());
    for entry in revoked {
        entries.push(RevokedCert {
            serial_number: serial_number(&entry.serial)?,
            revocation_date: x509_time(entry.revocation.revoked_at)?,
            crl_entry_extensions: entry_extensions(entry)?,
        });
    }
    let key = ca.key();
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(
            OctetString::new(ca.key_identifier().to_vec())
                .map_err(|e| Error::encode("key identifier", e))?,
        ),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number = CrlNumber::try_from(crl_number).map_err(|e| Error::encode("cRLNumber", e))?;
    let tbs = TbsCertList {
        version: Version::V2,
        signature: key.signature_algorithm().clone(),
        issuer: ca.subject().clone(),
        this_update: x509_time(this_update)?,
        next_update: Some(x509_time(next_update)?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![extension(&aki, false)?, extension(&number, false)?]),
    };
    let tbs_der = tbs.to_der().map_err(|e| Error::encode("TBSCertList", e))?;
    let signature = key.sign(&tbs_der)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: key.signature_algorithm().clone(),
        signature: BitString::from_bytes(&signature).map_err(|e| Error::encode("signature", e))?,
    };
    crl.to_der().map_err(|e| Error::encode("CRL", e))
}

fn entry_extensions(entry: &RevokedEntry) -> Result<Option<Vec<Extension>>> {
    let mut exts = Vec::new();
    if let Some(reason) = crl_reason(entry.revocation.reason) {
        exts.push(extension(&reason, false)?);
    }
    if let Some(date) = entry.revocation.invalidity_date {
        exts.push(Extension {
            extn_id: ID_CE_INVALIDITY_DATE,
            critical: false,
            extn_value: OctetString::new(
                generalized_time(date)?
                    .to_der()
                    .map_err(|e| Error::encode("invalidityDate", e))?,
            )
            .map_err(|e| Error::encode("invalidityDate", e))?,
        });
    }
    Ok((!exts.is_empty()).then_some(exts))
}

/// The reasonCode entry extension for `reason`; none for unspecified
/// (RFC 5280 §5.3.1: "the reason code extension SHOULD be absent").
pub fn crl_reason(reason: RevocationReason) -> Option<CrlReason> {
    Some(match reason {
        RevocationReason::Unspecified => return None,
        RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
        RevocationReason::CaCompromise => CrlReason::CaCompromise,
        RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
        RevocationReason::Superseded => CrlReason::Superseded,
        RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
        RevocationReason::CertificateHold => CrlReason::CertificateHold,
        RevocationReason::RemoveFromCrl => CrlReason::RemoveFromCRL,
        RevocationReason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise => CrlReason::AaCompromise,
        // A reason added to the store later: listed without a code rather
        // than with a wrong one.
        _ => return None,
    })
}

/// What identifies an entry for the freshness check: serial, revocation
/// time and reason code (0 when absent), invalidity date.
type EntryKey = (Vec<u8>, i64, u8, Option<i64>);

fn store_entry_keys(entries: &[RevokedEntry]) -> BTreeSet<EntryKey> {
    entries
        .iter()
        .map(|e| {
            let code = crl_reason(e.revocation.reason).map_or(0, code_of);
            (
                e.serial.as_bytes().to_vec(),
                e.revocation.revoked_at.secs(),
                code,
                e.revocation.invalidity_date.map(UnixTime::secs),
            )
        })
        .collect()
}

fn crl_entry_keys(crl: &CertificateList) -> Result<BTreeSet<EntryKey>> {
    let mut keys = BTreeSet::new();
    for entry in crl.tbs_cert_list.revoked_certificates.iter().flatten() {
        let mut code = 0;
        let mut invalidity = None;
        for ext in entry.crl_entry_extensions.iter().flatten() {
            if ext.extn_id == CrlReason::OID {
                code = code_of(
                    CrlReason::from_der(ext.extn_value.as_bytes())
                        .map_err(|e| Error::bad("CRL reasonCode", e))?,
                );
            } else if ext.extn_id == ID_CE_INVALIDITY_DATE {
                let t = GeneralizedTime::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| Error::bad("CRL invalidityDate", e))?;
                invalidity = Some(unix_time(&t.into()).secs());
            }
        }
        keys.insert((
            store_serial(&entry.serial_number)?.as_bytes().to_vec(),
            unix_time(&entry.revocation_date).secs(),
            code,
            invalidity,
        ));
    }
    Ok(keys)
}

/// The CRLReason value (0..=10).
fn code_of(reason: CrlReason) -> u8 {
    // Every CrlReason discriminant is at most 10.
    u8::try_from(reason as u32).unwrap_or(u8::MAX)
}

/// Why a CRL is too old (or too young) to hand out at `now`, whatever its
/// entries.
fn out_of_date(
    latest: &CrlRecord,
    now: UnixTime,
    ca_not_after: UnixTime,
    config: &CrlConfig,
) -> Option<&'static str> {
    if now < latest.this_update {
        return Some("its thisUpdate is in the future");
    }
    if now >= latest.next_update {
        return Some("its nextUpdate is past");
    }
    let new_next_update = now.plus_secs(config.validity_secs).min(ca_not_after);
    if now >= latest.next_update.plus_secs(-config.refresh_margin_secs)
        && new_next_update > latest.next_update
    {
        return Some("its nextUpdate is near");
    }
    None
}

/// Why a stored CRL is not handed out as it is, if it is not.
///
/// Near its nextUpdate a CRL is only replaced if the new one would reach
/// further: near the end of the CA's life, where nextUpdate is cut at the
/// CA's notAfter, reissuing would not help, and would issue a new CRL on
/// every call.
fn stale_reason(
    latest: &CrlRecord,
    revoked: &[RevokedEntry],
    now: UnixTime,
    ca_not_after: UnixTime,
    config: &CrlConfig,
) -> Result<Option<&'static str>> {
    if let Some(why) = out_of_date(latest, now, ca_not_after, config) {
        return Ok(Some(why));
    }
    let crl = CertificateList::from_der(&latest.der).map_err(|e| Error::bad("stored CRL", e))?;
    if crl_entry_keys(&crl)? != store_entry_keys(revoked) {
        return Ok(Some("revocations changed since it was issued"));
    }
    Ok(None)
}

impl Engine {
    /// Issues a new CRL for `ca` now: the next cRLNumber from the store,
    /// nextUpdate = now + [`CrlConfig::validity_secs`] cut at the CA's
    /// notAfter, every revoked certificate listed. Stores it as the latest
    /// and writes an audit event. If another process stored a higher
    /// number meanwhile, that CRL is returned instead.
    ///
    /// # Errors
    /// [`Error::UnknownCa`], [`Error::CaNotValid`] if the CA certificate is
    /// not valid now, key and store errors.
    pub fn generate_crl(&self, ca: &str) -> Result<CrlRecord> {
        let ca = self.ca(ca)?;
        let now = self.now();
        ca.check_valid_at(now)?;
        let store = self.store();
        let revoked = store.list_revoked(ca.name())?;
        let number = store.next_crl_number(ca.name())?;
        let next_update = now
            .plus_secs(self.config().crl.validity_secs)
            .min(ca.not_after());
        let der = build_crl(&ca, number, now, next_update, &revoked)?;
        let record = CrlRecord {
            issuer: ca.name().to_owned(),
            crl_number: number,
            der,
            this_update: now,
            next_update,
        };
        let stored = store.store_crl(&record)?;
        store.append_audit(&AuditEvent {
            at: now,
            kind: AuditKind::CrlIssued,
            issuer: Some(ca.name().to_owned()),
            serial: None,
            profile: None,
            requester: None,
            outcome: Outcome::Success,
            detail: format!(
                "CRL number {number}, {} entries, next update {next_update}{}",
                revoked.len(),
                if stored {
                    ""
                } else {
                    "; a newer CRL was already stored"
                }
            ),
        })?;
        tracing::info!(
            ca = ca.name(),
            number,
            entries = revoked.len(),
            "CRL issued"
        );
        if stored {
            return Ok(record);
        }
        Ok(store.latest_crl(ca.name())?.unwrap_or(record))
    }

    /// The CRL to hand out for `ca`: the latest stored one, unless there is
    /// none, its nextUpdate is past (or within
    /// [`CrlConfig::refresh_margin_secs`], when a new CRL would reach
    /// further), its thisUpdate is in the future, or its entries differ from the store's revocations (a revocation or
    /// a lifted hold since); then a new one ([`Engine::generate_crl`]).
    ///
    /// # Errors
    /// As [`Engine::generate_crl`]; [`Error::BadCertificate`] if the stored
    /// CRL does not decode.
    pub fn current_crl(&self, ca: &str) -> Result<CrlRecord> {
        let loaded = self.ca(ca)?;
        let now = self.now();
        let store = self.store();
        // Read before the revocations: a revocation after this read moves
        // the epoch, so the CRL cached below is rebuilt on the next call.
        let epoch = store.revocation_epoch(loaded.name())?;
        if let Some(cached) = self.cached_crl(loaded.name(), epoch) {
            if out_of_date(&cached, now, loaded.not_after(), &self.config().crl).is_none() {
                return Ok(cached);
            }
        }
        let record = self.current_crl_uncached(&loaded, now)?;
        self.cache_crl(record.clone(), epoch);
        Ok(record)
    }

    /// [`Engine::current_crl`] without the cache: the stored CRL checked
    /// against the store's revocations, or a new one.
    fn current_crl_uncached(&self, loaded: &LoadedCa, now: UnixTime) -> Result<CrlRecord> {
        let store = self.store();
        let ca = loaded.name();
        if let Some(latest) = store.latest_crl(loaded.name())? {
            let revoked = store.list_revoked(loaded.name())?;
            match stale_reason(
                &latest,
                &revoked,
                now,
                loaded.not_after(),
                &self.config().crl,
            )? {
                None => return Ok(latest),
                Some(why) => {
                    tracing::debug!(ca, number = latest.crl_number, why, "reissuing the CRL");
                }
            }
        }
        self.generate_crl(ca)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_map_one_to_one() {
        assert_eq!(crl_reason(RevocationReason::Unspecified), None);
        for code in (1..=10).filter(|c| *c != 7) {
            let reason = RevocationReason::from_code(code).unwrap();
            assert_eq!(code_of(crl_reason(reason).unwrap()), code);
        }
    }

    #[test]
    fn config_limits() {
        CrlConfig::default().validate().unwrap();
        for bad in [
            CrlConfig {
                validity_secs: 10,
                refresh_margin_secs: 0,
            },
            CrlConfig {
                validity_secs: DAY,
                refresh_margin_secs: DAY,
            },
            CrlConfig {
                validity_secs: DAY,
                refresh_margin_secs: -1,
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
