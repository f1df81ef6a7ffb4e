//! Migrating an existing CA in (made by OpenSSL, django-ca, Dogtag, ...):
//! its certificate and key ([`import_ca`]), the certificates it issued
//! ([`CertImporter`]) and its latest CRL ([`import_crl`]), so that OCSP and
//! CRLs continue without a gap.
//!
//! Imported certificates are stored as issued with the requester
//! [`IMPORT_REQUESTER`] and the profile [`IMPORTED_PROFILE`], each after its
//! signature verified with the CA's public key. Serial numbers need no
//! advancing: the engine draws random 126-bit serials, and the store's
//! unique key on (issuer, serial) refuses a taken one, which is then drawn
//! again (`src/issue.rs`); an imported serial is never issued twice.
//! The CRL's cRLNumber is stored so that the next CRL issued here carries a
//! greater one.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cmc_codec::alg::{SignatureAlg, verify_signature};
use cmc_keys::{FileKey, SignatureScheme, SigningKey};
use cmc_store::{
    AuditEvent, AuditKind, BulkCert, CaRecord, ImportedRevocation, IssuedCert, Outcome, Revocation,
    RevocationReason, Serial, Store, UnixTime,
};
use const_oid::AssociatedOid;
use const_oid::db::rfc5280::{
    ID_CE_CERTIFICATE_ISSUER, ID_CE_DELTA_CRL_INDICATOR, ID_CE_INVALIDITY_DATE,
};
use der::asn1::{AnyRef, BitStringRef, GeneralizedTime};
use der::{Decode, Encode, Sequence};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::{CrlReason, KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::time::Time;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key_config::{KeyConfig, SecretRef};
use crate::x509::{decode_certificate, store_serial, unix_time};

/// The requester recorded for imported certificates.
pub const IMPORT_REQUESTER: &str = "import";

/// The profile recorded for imported certificates.
pub const IMPORTED_PROFILE: &str = "imported";

/// Certificates stored per transaction by [`CertImporter`].
pub const IMPORT_BATCH: usize = 5000;

/// Where the key of an imported CA comes from.
#[derive(Clone, Debug)]
pub enum ImportKey {
    /// A PEM private key (PKCS #8, encrypted or not; SEC1; PKCS #1), stored
    /// where `dest` (a file key configuration) says: encrypted PKCS #8, mode
    /// 0600, never over an existing file.
    File {
        /// The key file's contents.
        pem: Zeroizing<Vec<u8>>,
        /// The passphrase of an encrypted source key.
        source_passphrase: Option<SecretRef>,
        /// Where to store it, with its passphrase and scheme.
        dest: KeyConfig,
    },
    /// A key that stays where it is (a PKCS #11 token).
    Existing(KeyConfig),
}

/// What `ca import` asks for.
#[derive(Clone, Debug)]
pub struct ImportCa {
    /// The CA's name here.
    pub name: String,
    /// The CA certificate, DER.
    pub cert_der: Vec<u8>,
    /// Its issuer certificates up to the root, DER (empty for a root).
    pub chain_der: Vec<Vec<u8>>,
    /// The key.
    pub key: ImportKey,
    /// The scheme to sign with; the key type's default if `None`.
    pub scheme: Option<SignatureScheme>,
    /// Who asked, for the audit log.
    pub requester: String,
}

/// Adopts an existing CA: checks that the certificate is a CA certificate
/// (basicConstraints cA=TRUE, and keyCertSign when keyUsage is present,
/// RFC 5280 §4.2.1.3), that it is signed by the first chain certificate (by
/// itself for a root), that the key is the certificate's, and that the
/// chain links up; then stores the key (a file key encrypted as `ca init`
/// writes it) and the CA record with its `ca-added` event. A CA of that
/// name is never overwritten.
///
/// # Errors
/// [`Error::CaExists`], [`Error::InvalidRequest`] for a bad name,
/// [`Error::BadCertificate`], [`Error::KeyMismatch`], key errors, store
/// errors (the key file written is removed again then).
pub fn import_ca(store: &dyn Store, now: UnixTime, new: &ImportCa) -> Result<crate::LoadedCa> {
    cmc_store::check_ca_name(&new.name).map_err(|e| Error::InvalidRequest(e.to_string()))?;
    if store.get_ca(&new.name)?.is_some() {
        return Err(Error::CaExists(new.name.clone()));
    }
    let cert = decode_certificate("CA certificate", &new.cert_der)?;
    check_ca_certificate(&cert)?;
    let tbs = cert.tbs_certificate();
    if new.chain_der.is_empty() && tbs.issuer() != tbs.subject() {
        return Err(Error::bad(
            "CA chain",
            "the certificate is not self-issued, and no chain is given (its issuer's \
             certificates up to the root)",
        ));
    }
    let signer_spki = match new.chain_der.first() {
        Some(der) => decode_certificate("CA chain certificate", der)?
            .tbs_certificate()
            .subject_public_key_info()
            .clone(),
        None => cert.tbs_certificate().subject_public_key_info().clone(),
    };
    verify_signed(&new.cert_der, &signer_spki, "CA certificate").map_err(|e| {
        Error::bad(
            "CA certificate",
            format!("not signed by its issuer's key ({e})"),
        )
    })?;
    let (config, key, file_key) = open_key(&new.key, new.scheme)?;
    let record = CaRecord {
        name: new.name.clone(),
        cert_der: new.cert_der.clone(),
        chain_der: new.chain_der.clone(),
        key_ref: config.to_key_ref()?,
        parent: None,
        created_at: now,
    };
    // Checks cA, the key against the certificate and the chain's links.
    let loaded = crate::LoadedCa::with_key(record.clone(), config.clone(), key)?;
    let written = match (&file_key, &config) {
        (
            Some(k),
            KeyConfig::File {
                path, passphrase, ..
            },
        ) => {
            match passphrase {
                Some(p) => k.store(path, &p.to_source())?,
                None => k.store_unencrypted(path)?,
            }
            Some(path.clone())
        }
        _ => None,
    };
    let event = AuditEvent {
        at: now,
        kind: AuditKind::CaAdded,
        issuer: Some(new.name.clone()),
        serial: Some(loaded.serial()?),
        profile: None,
        requester: Some(new.requester.clone()),
        outcome: Outcome::Success,
        detail: serde_json::json!({
            "ca": {
                "imported": true,
                "subject": cert.tbs_certificate().subject().to_string(),
                "issuer": cert.tbs_certificate().issuer().to_string(),
                "key": if written.is_some() { "file" } else { "existing" },
                "scheme": config.scheme().to_string(),
            }
        })
        .to_string(),
    };
    if let Err(e) = store.put_ca_with_audit(&record, &event) {
        if let Some(path) = written {
            // The record was not stored: the key file written for it goes.
            let _ = std::fs::remove_file(path);
        }
        return Err(e.into());
    }
    tracing::info!(ca = new.name, "CA imported");
    Ok(loaded)
}

/// basicConstraints cA=TRUE, and keyCertSign if keyUsage is present.
fn check_ca_certificate(cert: &Certificate) -> Result<()> {
    let tbs = cert.tbs_certificate();
    let basic = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|e| Error::bad("CA certificate basicConstraints", e))?;
    if !basic.is_some_and(|(_, bc)| bc.ca) {
        return Err(Error::bad(
            "CA certificate",
            "not a CA certificate: basicConstraints cA=TRUE is missing",
        ));
    }
    let usage = tbs
        .get_extension::<KeyUsage>()
        .map_err(|e| Error::bad("CA certificate keyUsage", e))?;
    if let Some((_, ku)) = usage
        && !ku.0.contains(KeyUsages::KeyCertSign)
    {
        return Err(Error::bad(
            "CA certificate",
            "its keyUsage does not allow keyCertSign",
        ));
    }
    Ok(())
}

/// An opened key to import: the configuration to store, the key, and for
/// a file key the key to write.
type OpenedKey = (KeyConfig, Arc<dyn SigningKey>, Option<Arc<FileKey>>);

/// Opens the key to import.
fn open_key(key: &ImportKey, scheme: Option<SignatureScheme>) -> Result<OpenedKey> {
    match key {
        ImportKey::File {
            pem,
            source_passphrase,
            dest,
        } => {
            let secret = source_passphrase
                .as_ref()
                .map(|s| s.to_source().read())
                .transpose()?;
            let k = FileKey::from_pem(pem, secret.as_ref())?;
            let scheme = scheme.unwrap_or_else(|| k.spec().default_scheme());
            let k = Arc::new(k.with_scheme(scheme)?);
            let config = dest.clone().with_scheme(scheme);
            config.validate()?;
            Ok((config, Arc::clone(&k) as Arc<dyn SigningKey>, Some(k)))
        }
        ImportKey::Existing(config) => {
            let config = match scheme {
                Some(s) => config.clone().with_scheme(s),
                None => config.clone(),
            };
            let opened = config.open()?;
            Ok((config, opened, None))
        }
    }
}

/// A signed object's three parts, the first kept as its encoding: a
/// certificate and a CRL alike.
#[derive(Sequence)]
struct Signed<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitStringRef<'a>,
}

/// Verifies the signature of a DER certificate or CRL with `spki`, over
/// the TBS as it was encoded.
fn verify_signed(der: &[u8], spki: &SubjectPublicKeyInfoOwned, what: &'static str) -> Result<()> {
    let signed = Signed::from_der(der).map_err(|e| Error::bad(what, e))?;
    let tbs = signed.tbs.to_der().map_err(|e| Error::encode(what, e))?;
    let alg = SignatureAlg::from_algorithm_identifier(&signed.algorithm, None)
        .map_err(|e| Error::bad(what, e))?;
    let signature = signed
        .signature
        .as_bytes()
        .ok_or_else(|| Error::bad(what, "the signature is not whole octets"))?;
    verify_signature(spki, &alg, &tbs, signature, what).map_err(|e| Error::bad(what, e))
}

/// The CA certificate of a stored CA, decoded.
fn stored_ca(store: &dyn Store, ca: &str) -> Result<(CaRecord, Certificate)> {
    let record = store
        .get_ca(ca)?
        .ok_or_else(|| Error::UnknownCa(ca.to_owned()))?;
    let cert = decode_certificate("CA certificate", &record.cert_der)?;
    Ok((record, cert))
}

/// A certificate [`CertImporter`] refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedCert {
    /// Where it came from (a file, and its position in a PEM file).
    pub source: String,
    /// Why.
    pub reason: String,
}

/// What [`CertImporter`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CertImportReport {
    /// Certificates read.
    pub read: u64,
    /// Stored now.
    pub imported: u64,
    /// Already stored with the same bytes (an earlier import), or given
    /// twice: skipped.
    pub duplicates: u64,
    /// Refused: not issued by the CA, not decodable, the CA's own
    /// certificate, or a serial stored here for a different certificate.
    pub refused: Vec<RefusedCert>,
}

/// Loads certificates issued by a stored CA, in batches of
/// [`IMPORT_BATCH`] per transaction (see the module documentation).
pub struct CertImporter {
    store: Arc<dyn Store>,
    ca: String,
    ca_subject: Name,
    ca_spki: SubjectPublicKeyInfoOwned,
    ca_der: Vec<u8>,
    /// The serials read in this run, with the SHA-256 of their
    /// certificate.
    seen: HashMap<Serial, [u8; 32]>,
    batch: Vec<BulkCert>,
    report: CertImportReport,
    now: UnixTime,
    requester: String,
}

impl std::fmt::Debug for CertImporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertImporter")
            .field("ca", &self.ca)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl CertImporter {
    /// An importer into the stored CA `ca` (its key is not needed);
    /// `requester` and `now` go into the audit event [`CertImporter::finish`]
    /// writes.
    ///
    /// # Errors
    /// [`Error::UnknownCa`], store errors.
    pub fn new(store: Arc<dyn Store>, ca: &str, requester: &str, now: UnixTime) -> Result<Self> {
        let (record, cert) = stored_ca(store.as_ref(), ca)?;
        let tbs = cert.tbs_certificate();
        Ok(Self {
            ca: ca.to_owned(),
            ca_subject: tbs.subject().clone(),
            ca_spki: tbs.subject_public_key_info().clone(),
            ca_der: record.cert_der,
            store,
            seen: HashMap::new(),
            batch: Vec::with_capacity(IMPORT_BATCH),
            report: CertImportReport::default(),
            now,
            requester: requester.to_owned(),
        })
    }

    /// What was done so far (stored rows: up to the last full batch).
    #[must_use]
    pub fn report(&self) -> &CertImportReport {
        &self.report
    }

    /// Checks one certificate and queues it; a full batch is stored. A
    /// refused certificate is counted in the report, not an error.
    ///
    /// # Errors
    /// Store errors of a batch (nothing of that batch is stored then).
    pub fn add(&mut self, source: &str, der: &[u8]) -> Result<()> {
        self.report.read += 1;
        match self.check(der) {
            Ok(Some(row)) => self.batch.push(row),
            Ok(None) => self.report.duplicates += 1,
            Err(reason) => self.report.refused.push(RefusedCert {
                source: source.to_owned(),
                reason,
            }),
        }
        if self.batch.len() >= IMPORT_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Stores what is queued, writes one audit event with the counts, and
    /// returns the report.
    ///
    /// # Errors
    /// Store errors of the last batch or of the event.
    pub fn finish(mut self) -> Result<CertImportReport> {
        self.flush()?;
        let r = &self.report;
        self.store.append_audit(&AuditEvent {
            at: self.now,
            kind: AuditKind::Other("certificates-imported".into()),
            issuer: Some(self.ca.clone()),
            serial: None,
            profile: Some(IMPORTED_PROFILE.to_owned()),
            requester: Some(self.requester.clone()),
            outcome: Outcome::Success,
            detail: serde_json::json!({
                "read": r.read,
                "imported": r.imported,
                "duplicates": r.duplicates,
                "refused": r.refused.len(),
            })
            .to_string(),
        })?;
        Ok(self.report)
    }

    /// The row to store, `None` for a certificate given before in this
    /// run, or why it is refused.
    fn check(&mut self, der: &[u8]) -> std::result::Result<Option<BulkCert>, String> {
        if der == self.ca_der {
            return Err("the CA's own certificate".into());
        }
        let cert = Certificate::from_der(der).map_err(|e| format!("not a certificate: {e}"))?;
        let tbs = cert.tbs_certificate();
        if tbs.issuer() != &self.ca_subject {
            return Err(format!("issued by {}, not by this CA", tbs.issuer()));
        }
        verify_signed(der, &self.ca_spki, "certificate")
            .map_err(|_| "its signature does not verify with the CA's key".to_owned())?;
        let serial = store_serial(tbs.serial_number()).map_err(|e| e.to_string())?;
        let digest: [u8; 32] = Sha256::digest(der).into();
        match self.seen.insert(serial.clone(), digest) {
            Some(earlier) if earlier == digest => return Ok(None),
            Some(earlier) => {
                // The first certificate read with this serial stays queued.
                self.seen.insert(serial.clone(), earlier);
                return Err(format!(
                    "serial {serial} was read before with a different certificate"
                ));
            }
            None => {}
        }
        let sans = match tbs.get_extension::<SubjectAltName>() {
            Ok(Some((_, san))) => san
                .0
                .iter()
                .map(cmc_policy::names::general_name_text)
                .collect(),
            Ok(None) => Vec::new(),
            Err(e) => return Err(format!("bad subjectAltName: {e}")),
        };
        let validity = tbs.validity();
        let not_before = unix_time(&validity.not_before);
        Ok(Some(BulkCert {
            issuer: self.ca.clone(),
            serial,
            requester: IMPORT_REQUESTER.to_owned(),
            profile: IMPORTED_PROFILE.to_owned(),
            request_hash: Vec::new(),
            cert: IssuedCert {
                cert_der: der.to_vec(),
                subject: tbs.subject().to_string(),
                sans,
                not_before,
                not_after: unix_time(&validity.not_after),
                // When the old CA issued it, as near as is known.
                issued_at: not_before,
            },
            revocation: None,
        }))
    }

    /// Stores the queued rows in one transaction; a serial already stored
    /// is a duplicate when its certificate is the same, refused otherwise.
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let inserted: HashSet<Serial> = self.store.import_certs(&batch)?.into_iter().collect();
        self.report.imported += inserted.len() as u64;
        for row in batch.iter().filter(|r| !inserted.contains(&r.serial)) {
            let stored = self.store.get_cert(&self.ca, &row.serial)?;
            let same = stored
                .as_ref()
                .and_then(cmc_store::CertRecord::certificate)
                .is_some_and(|c| c.cert_der == row.cert.cert_der);
            if same {
                self.report.duplicates += 1;
            } else {
                self.report.refused.push(RefusedCert {
                    source: format!("serial {}", row.serial),
                    reason: "a different certificate (or a reservation) with this serial is \
                             already stored"
                        .into(),
                });
            }
        }
        self.batch = batch;
        self.batch.clear();
        Ok(())
    }
}

/// What [`import_crl`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CrlImportReport {
    /// The CRL's cRLNumber, if it has one.
    pub crl_number: Option<u64>,
    /// The CRL's thisUpdate, seconds since 1970.
    pub this_update: i64,
    /// Entries in the CRL.
    pub entries: u64,
    /// Certificates revoked now.
    pub revoked: u64,
    /// Certificates that were revoked already (the stored revocation kept).
    pub already_revoked: u64,
    /// Serials (hex) of entries whose certificate is not stored here:
    /// nothing is recorded for them, and OCSP answers "unknown" for them
    /// until their certificates are imported and the CRL imported again.
    pub not_imported: Vec<String>,
}

/// Records the revocations of a CRL that the stored CA `ca` signed: every
/// entry whose certificate is stored (issued) here is revoked with the
/// CRL's revocationDate, reasonCode (certificateHold included) and
/// invalidityDate; the CRL's cRLNumber is stored so that the next CRL
/// issued here has a greater one. Importing the same CRL again changes
/// nothing.
///
/// # Errors
/// [`Error::UnknownCa`]; [`Error::BadCertificate`] for a CRL that does not
/// decode, names another issuer, is not signed by the CA's key, is a delta
/// CRL or an indirect CRL (an entry with certificateIssuer), or has a
/// removeFromCRL entry or a cRLNumber above `i64::MAX`; store errors.
pub fn import_crl(
    store: &dyn Store,
    ca: &str,
    der: &[u8],
    now: UnixTime,
    requester: &str,
) -> Result<CrlImportReport> {
    let (_, ca_cert) = stored_ca(store, ca)?;
    let crl = CertificateList::from_der(der).map_err(|e| Error::bad("CRL", e))?;
    let tbs = &crl.tbs_cert_list;
    let ca_tbs = ca_cert.tbs_certificate();
    if &tbs.issuer != ca_tbs.subject() {
        return Err(Error::bad(
            "CRL",
            format!("issued by {}, not by CA {ca:?}", tbs.issuer),
        ));
    }
    verify_signed(der, ca_tbs.subject_public_key_info(), "CRL").map_err(|e| {
        Error::bad(
            "CRL",
            format!("its signature does not verify with the key of CA {ca:?} ({e})"),
        )
    })?;
    let mut crl_number = None;
    for ext in tbs.crl_extensions.iter().flatten() {
        if ext.extn_id == ID_CE_DELTA_CRL_INDICATOR {
            return Err(Error::bad("CRL", "a delta CRL: import the complete CRL"));
        }
        if ext.extn_id == CrlNumber::OID {
            let n = CrlNumber::from_der(ext.extn_value.as_bytes())
                .map_err(|e| Error::bad("CRL cRLNumber", e))?;
            crl_number = Some(uint_u64(n.0.as_bytes()).ok_or_else(|| {
                Error::bad("CRL cRLNumber", "above the largest number stored here")
            })?);
        }
    }
    let mut entries = Vec::new();
    for entry in tbs.revoked_certificates.iter().flatten() {
        let serial = store_serial(&entry.serial_number)?;
        let mut revocation = Revocation {
            reason: RevocationReason::Unspecified,
            revoked_at: unix_time(&entry.revocation_date),
            invalidity_date: None,
        };
        for ext in entry.crl_entry_extensions.iter().flatten() {
            let value = ext.extn_value.as_bytes();
            if ext.extn_id == ID_CE_CERTIFICATE_ISSUER {
                return Err(Error::bad(
                    "CRL",
                    "an indirect CRL (an entry names another certificate issuer)",
                ));
            } else if ext.extn_id == CrlReason::OID {
                let r = CrlReason::from_der(value).map_err(|e| Error::bad("CRL reasonCode", e))?;
                revocation.reason = revocation_reason(r).ok_or_else(|| {
                    Error::bad("CRL", format!("entry {serial} has reason removeFromCRL"))
                })?;
            } else if ext.extn_id == ID_CE_INVALIDITY_DATE {
                let t = GeneralizedTime::from_der(value)
                    .map_err(|e| Error::bad("CRL invalidityDate", e))?;
                revocation.invalidity_date = Some(unix_time(&Time::GeneralTime(t)));
            }
        }
        entries.push((serial, revocation));
    }
    let outcomes = store.import_revocations(ca, &entries)?;
    if let Some(n) = crl_number {
        store.advance_crl_number(ca, n)?;
    }
    let mut report = CrlImportReport {
        crl_number,
        this_update: unix_time(&tbs.this_update).0,
        entries: entries.len() as u64,
        revoked: 0,
        already_revoked: 0,
        not_imported: Vec::new(),
    };
    for ((serial, _), outcome) in entries.iter().zip(&outcomes) {
        match outcome {
            ImportedRevocation::Revoked => report.revoked += 1,
            ImportedRevocation::AlreadyRevoked(_) => report.already_revoked += 1,
            // `ImportedRevocation` is non_exhaustive: anything else
            // recorded nothing.
            _ => report.not_imported.push(serial.to_string()),
        }
    }
    store.append_audit(&AuditEvent {
        at: now,
        kind: AuditKind::Other("crl-imported".into()),
        issuer: Some(ca.to_owned()),
        serial: None,
        profile: None,
        requester: Some(requester.to_owned()),
        outcome: Outcome::Success,
        // Counts, not the serials: a CRL may name very many.
        detail: serde_json::json!({
            "crl_number": report.crl_number,
            "entries": report.entries,
            "revoked": report.revoked,
            "already_revoked": report.already_revoked,
            "not_imported": report.not_imported.len(),
        })
        .to_string(),
    })?;
    tracing::info!(
        ca,
        entries = report.entries,
        revoked = report.revoked,
        not_imported = report.not_imported.len(),
        "CRL imported"
    );
    Ok(report)
}

/// The store's reason for a CRL reasonCode; `None` for removeFromCRL.
fn revocation_reason(r: CrlReason) -> Option<RevocationReason> {
    Some(match r {
        CrlReason::Unspecified => RevocationReason::Unspecified,
        CrlReason::KeyCompromise => RevocationReason::KeyCompromise,
        CrlReason::CaCompromise => RevocationReason::CaCompromise,
        CrlReason::AffiliationChanged => RevocationReason::AffiliationChanged,
        CrlReason::Superseded => RevocationReason::Superseded,
        CrlReason::CessationOfOperation => RevocationReason::CessationOfOperation,
        CrlReason::CertificateHold => RevocationReason::CertificateHold,
        CrlReason::RemoveFromCRL => return None,
        CrlReason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
        CrlReason::AaCompromise => RevocationReason::AaCompromise,
    })
}

/// An unsigned big-endian integer that fits `i64` (what the store keeps).
fn uint_u64(bytes: &[u8]) -> Option<u64> {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => &[],
    };
    if trimmed.len() > 8 {
        return None;
    }
    let mut buf = [0u8; 8];
    buf[8 - trimmed.len()..].copy_from_slice(trimmed);
    let n = u64::from_be_bytes(buf);
    i64::try_from(n).is_ok().then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crl_numbers_that_fit() {
        assert_eq!(uint_u64(&[]), Some(0));
        assert_eq!(uint_u64(&[0x10, 0x00]), Some(4096));
        assert_eq!(uint_u64(&[0, 0, 1]), Some(1));
        assert_eq!(
            uint_u64(&[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Some(i64::MAX as u64)
        );
        assert_eq!(uint_u64(&[0x80, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(uint_u64(&[1, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn remove_from_crl_is_no_revocation() {
        assert_eq!(revocation_reason(CrlReason::RemoveFromCRL), None);
        assert_eq!(
            revocation_reason(CrlReason::CertificateHold),
            Some(RevocationReason::CertificateHold)
        );
    }
}
