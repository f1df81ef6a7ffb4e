//! Serial numbers and the certificates issued with them ([`CertStore`]):
//! reservation before signing, the linted TBS, completion, failure,
//! revocation and holds, and the revocation epoch a cached CRL is checked
//! against.

use super::audit::insert_audit;
use super::{SqlStore, u64_of_i64};
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::CertStore;
use crate::types::{
    AuditEvent, CertFilter, CertRecord, CertState, CertStatus, IssuedCert, NewReservation, Page,
    PageRequest, Revocation, RevocationReason, RevokedEntry, Serial, UnixTime, page_from,
    serial_from_db,
};

macro_rules! cert_cols {
    () => {
        "c.id, c.issuer, c.serial, c.status, c.requester, c.profile, c.request_hash, \
         c.reserved_at, c.tbs_der, c.cert_der, c.subject, c.not_before, c.not_after, \
         c.issued_at, c.failed_at, c.failure_reason, c.revoked_at, c.revocation_reason, \
         c.invalidity_date"
    };
}

/// The columns [`cert_from_row`] reads, for `certificates c`.
pub(super) const CERT_COLS: &str = cert_cols!();

pub(super) fn cert_from_row(conn: &mut dyn Conn, mut r: Row) -> Result<(i64, CertRecord)> {
    let id = r.i64()?;
    let issuer = r.text()?;
    let serial = serial_from_db(r.blob()?)?;
    let status = CertStatus::parse(&r.text()?)?;
    let requester = r.text()?;
    let profile = r.text()?;
    let request_hash = r.blob()?;
    let reserved_at = r.time()?;
    let tbs_der = r.opt_blob()?;
    let mut cert_der: Option<Vec<u8>> = r.opt_blob()?;
    // An issued row keeps its TBS once, inside its certificate.
    let tbs_der = tbs_der.or_else(|| cert_der.as_deref().and_then(tbs_of).map(<[u8]>::to_vec));
    let mut subject = r.opt_text()?;
    let not_before = r.opt_time()?;
    let not_after = r.opt_time()?;
    let issued_at = r.opt_time()?;
    let failed_at = r.opt_time()?;
    let failure_reason = r.opt_text()?;
    let revoked_at = r.opt_time()?;
    let revocation_reason = r.opt_i64()?;
    let invalidity_date = r.opt_time()?;

    let missing = |what: &str| Error::Corrupt(format!("certificate {serial}: no {what}"));
    let mut issued = |conn: &mut dyn Conn| -> Result<IssuedCert> {
        let sans = conn
            .query(
                "SELECT san FROM certificate_sans WHERE cert_id = $1 ORDER BY position",
                params![id],
            )?
            .into_iter()
            .map(|mut s| s.text())
            .collect::<Result<_>>()?;
        Ok(IssuedCert {
            cert_der: cert_der.take().ok_or_else(|| missing("certificate"))?,
            subject: subject.take().ok_or_else(|| missing("subject"))?,
            sans,
            not_before: not_before.ok_or_else(|| missing("notBefore"))?,
            not_after: not_after.ok_or_else(|| missing("notAfter"))?,
            issued_at: issued_at.ok_or_else(|| missing("issue time"))?,
        })
    };
    let state = match status {
        CertStatus::Reserved => CertState::Reserved,
        CertStatus::Failed => CertState::Failed {
            reason: failure_reason.unwrap_or_default(),
            failed_at: failed_at.ok_or_else(|| missing("failure time"))?,
        },
        CertStatus::Issued => CertState::Issued(issued(conn)?),
        CertStatus::Revoked => CertState::Revoked {
            cert: issued(conn)?,
            revocation: Revocation {
                reason: RevocationReason::from_db(
                    revocation_reason.ok_or_else(|| missing("revocation reason"))?,
                )?,
                revoked_at: revoked_at.ok_or_else(|| missing("revocation time"))?,
                invalidity_date,
            },
        },
    };
    Ok((
        id,
        CertRecord {
            issuer,
            serial,
            requester,
            profile,
            request_hash,
            tbs_der,
            reserved_at,
            state,
        },
    ))
}

pub(super) fn get_cert(
    conn: &mut dyn Conn,
    issuer: &str,
    serial: &Serial,
) -> Result<Option<CertRecord>> {
    conn.query_opt(
        concat!(
            "SELECT ",
            cert_cols!(),
            " FROM certificates c WHERE c.issuer = $1 AND c.serial = $2"
        ),
        params![issuer, serial],
    )?
    .map(|r| cert_from_row(conn, r).map(|(_, rec)| rec))
    .transpose()
}

/// Why a guarded UPDATE of a certificate changed nothing.
fn cert_refusal(conn: &mut dyn Conn, issuer: &str, serial: &Serial, wanted: &str) -> Error {
    match get_cert(conn, issuer, serial) {
        Ok(None) => Error::NotFound(format!("certificate {serial} of {issuer}")),
        Ok(Some(rec)) => Error::InvalidState(format!(
            "certificate {serial} of {issuer} is {}, not {wanted}",
            rec.status()
        )),
        Err(e) => e,
    }
}

/// Stores the certificate of a reserved serial with its SANs (inside the
/// caller's transaction).
fn complete_reserved(
    c: &mut dyn Conn,
    issuer: &str,
    serial: &Serial,
    cert: &IssuedCert,
) -> Result<()> {
    let row = c.query_opt(
        "UPDATE certificates
         SET status = 'issued', cert_der = $3, subject = $4, not_before = $5,
             not_after = $6, issued_at = $7,
             tbs_der = CASE WHEN tbs_der = $8 THEN NULL ELSE tbs_der END
         WHERE issuer = $1 AND serial = $2 AND status = 'reserved'
         RETURNING id",
        params![
            issuer,
            serial,
            &cert.cert_der,
            &cert.subject,
            cert.not_before,
            cert.not_after,
            cert.issued_at,
            tbs_of(&cert.cert_der)
        ],
    )?;
    let Some(mut row) = row else {
        return Err(cert_refusal(c, issuer, serial, "reserved"));
    };
    let id = row.i64()?;
    for (position, san) in (0_i64..).zip(&cert.sans) {
        c.execute(
            "INSERT INTO certificate_sans (cert_id, position, san) VALUES ($1, $2, $3)",
            params![id, position, san],
        )?;
    }
    Ok(())
}

/// The TBSCertificate inside a DER certificate: the first element of its
/// outer SEQUENCE, or `None` if `cert_der` is not shaped like one.
fn tbs_of(cert_der: &[u8]) -> Option<&[u8]> {
    let (tag, body, rest) = tlv(cert_der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (tag, _, after) = tlv(body)?;
    (tag == 0x30).then(|| &body[..body.len() - after.len()])
}

/// One DER tag, length and value: the tag, the value and what follows.
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, der) = der.split_first()?;
    let (&first, der) = der.split_first()?;
    let (len, der) = if first < 0x80 {
        (usize::from(first), der)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || der.len() < n {
            return None;
        }
        let (octets, der) = der.split_at(n);
        let len = octets
            .iter()
            .fold(0_usize, |len, &o| (len << 8) | usize::from(o));
        (len, der)
    };
    (der.len() >= len).then(|| {
        let (value, rest) = der.split_at(len);
        (tag, value, rest)
    })
}

/// What a row keeps in its own TBS column: nothing when its certificate
/// carries that TBS (an issued row, the hot path: the TBS is a third of
/// the row and would be written twice), the recorded TBS otherwise (a
/// reservation; a certificate that is not DER, or whose TBS differs, keeps
/// both for the record). [`cert_from_row`] reads the certificate's TBS
/// back for an empty column.
fn tbs_column<'a>(recorded: Option<&'a [u8]>, cert: Option<&IssuedCert>) -> Option<&'a [u8]> {
    match (recorded, cert.and_then(|c| tbs_of(&c.cert_der))) {
        (Some(recorded), Some(signed)) if recorded != signed => Some(recorded),
        (_, Some(_)) => None,
        (recorded, None) => recorded,
    }
}

/// Inserts a serial with what is known of it (inside the caller's
/// transaction): reserved; issued with its certificate and SANs; or failed
/// with the reason. A taken serial is [`Error::SerialInUse`], an unknown
/// issuer [`Error::NotFound`].
pub(super) fn insert_certificate(
    c: &mut dyn Conn,
    r: &NewReservation,
    now: UnixTime,
    cert: Option<&IssuedCert>,
    failure: Option<&str>,
) -> Result<()> {
    let status = match (cert, failure) {
        (Some(_), _) => "issued",
        (None, Some(_)) => "failed",
        (None, None) => "reserved",
    };
    let row = c
        .query_opt(
            "INSERT INTO certificates
                 (issuer, serial, status, requester, profile, request_hash, reserved_at, tbs_der,
                  cert_der, subject, not_before, not_after, issued_at, failed_at, failure_reason,
                  ca_generation)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             RETURNING id",
            params![
                &r.issuer,
                &r.serial,
                status,
                &r.requester,
                &r.profile,
                &r.request_hash,
                now,
                tbs_column(r.tbs_der.as_deref(), cert),
                cert.map(|c| &c.cert_der),
                cert.map(|c| &c.subject),
                cert.map(|c| c.not_before),
                cert.map(|c| c.not_after),
                cert.map(|c| c.issued_at),
                failure.map(|_| now),
                failure,
                i64::from(r.generation)
            ],
        )
        .map_err(|e| {
            if e.is_unique() {
                Error::SerialInUse {
                    issuer: r.issuer.clone(),
                    serial: r.serial.clone(),
                }
            } else if e.is_foreign_key() {
                Error::NotFound(format!("CA {}", r.issuer))
            } else {
                e.into()
            }
        })?;
    let id = row
        .ok_or_else(|| Error::Corrupt("certificate insert returned no id".into()))?
        .i64()?;
    for (position, san) in (0_i64..).zip(cert.map_or(&[][..], |c| &c.sans)) {
        c.execute(
            "INSERT INTO certificate_sans (cert_id, position, san) VALUES ($1, $2, $3)",
            params![id, position, san],
        )?;
    }
    Ok(())
}

impl<B: Backend> CertStore for SqlStore<B> {
    fn reserve_serial(&self, r: &NewReservation, now: UnixTime) -> Result<()> {
        self.backend
            .with_conn(|c| insert_certificate(c, r, now, None, None))
    }

    fn record_tbs(&self, issuer: &str, serial: &Serial, tbs_der: &[u8]) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE certificates SET tbs_der = $3
                 WHERE issuer = $1 AND serial = $2 AND status = 'reserved'
                   AND (tbs_der IS NULL OR tbs_der = $3)",
                params![issuer, serial, tbs_der],
            )?;
            if n == 1 {
                return Ok(());
            }
            Err(match get_cert(c, issuer, serial)? {
                Some(rec) if rec.status() == CertStatus::Reserved => Error::InvalidState(format!(
                    "certificate {serial} of {issuer} already has a different TBS"
                )),
                _ => cert_refusal(c, issuer, serial, "reserved"),
            })
        })
    }

    fn complete_issuance(&self, issuer: &str, serial: &Serial, cert: &IssuedCert) -> Result<()> {
        if cert.cert_der.is_empty() {
            return Err(Error::Invalid("empty certificate".into()));
        }
        self.backend
            .with_tx(|c| complete_reserved(c, issuer, serial, cert))
    }

    fn complete_issuance_with_audit(
        &self,
        issuer: &str,
        serial: &Serial,
        cert: &IssuedCert,
        event: &AuditEvent,
    ) -> Result<i64> {
        if cert.cert_der.is_empty() {
            return Err(Error::Invalid("empty certificate".into()));
        }
        self.backend.with_tx(|c| {
            complete_reserved(c, issuer, serial, cert)?;
            insert_audit(c, event)
        })
    }

    fn mark_failed(
        &self,
        issuer: &str,
        serial: &Serial,
        reason: &str,
        now: UnixTime,
    ) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE certificates SET status = 'failed', failed_at = $3, failure_reason = $4
                 WHERE issuer = $1 AND serial = $2 AND status = 'reserved'",
                params![issuer, serial, now, reason],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(cert_refusal(c, issuer, serial, "reserved"))
            }
        })
    }

    fn get_cert(&self, issuer: &str, serial: &Serial) -> Result<Option<CertRecord>> {
        self.backend.with_conn(|c| get_cert(c, issuer, serial))
    }

    fn is_revoked(&self, issuer: &str, serial: &Serial) -> Result<Option<bool>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT status = 'revoked' FROM certificates WHERE issuer = $1 AND serial = $2",
                params![issuer, serial],
            )?
            .map(|mut r| r.bool())
            .transpose()
        })
    }

    fn accept_certificate(&self, issuer: &str, serial: &Serial, at: UnixTime) -> Result<bool> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE certificates SET accepted_at = $3
                 WHERE issuer = $1 AND serial = $2 AND cert_der IS NOT NULL
                   AND accepted_at IS NULL",
                params![issuer, serial, at],
            )?;
            changed_or_issued(c, n, issuer, serial)
        })
    }

    fn accepted_at(&self, issuer: &str, serial: &Serial) -> Result<Option<UnixTime>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT accepted_at FROM certificates WHERE issuer = $1 AND serial = $2",
                params![issuer, serial],
            )?
            .map(|mut r| r.opt_time())
            .transpose()?
            .ok_or_else(|| Error::NotFound(format!("certificate {serial} of {issuer}")))
        })
    }

    fn set_published(
        &self,
        issuer: &str,
        serial: &Serial,
        publish: bool,
        at: UnixTime,
    ) -> Result<bool> {
        self.backend.with_conn(|c| {
            let n = if publish {
                c.execute(
                    "UPDATE certificates SET unpublished_at = NULL
                     WHERE issuer = $1 AND serial = $2 AND cert_der IS NOT NULL
                       AND unpublished_at IS NOT NULL",
                    params![issuer, serial],
                )?
            } else {
                c.execute(
                    "UPDATE certificates SET unpublished_at = $3
                     WHERE issuer = $1 AND serial = $2 AND cert_der IS NOT NULL
                       AND unpublished_at IS NULL",
                    params![issuer, serial, at],
                )?
            };
            changed_or_issued(c, n, issuer, serial)
        })
    }

    fn unpublished_at(&self, issuer: &str, serial: &Serial) -> Result<Option<UnixTime>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT unpublished_at FROM certificates WHERE issuer = $1 AND serial = $2",
                params![issuer, serial],
            )?
            .map(|mut r| r.opt_time())
            .transpose()?
            .ok_or_else(|| Error::NotFound(format!("certificate {serial} of {issuer}")))
        })
    }

    fn find_certs_by_subject(&self, subject: &str) -> Result<Vec<CertRecord>> {
        self.backend.with_conn(|c| {
            c.query(
                concat!(
                    "SELECT ",
                    cert_cols!(),
                    " FROM certificates c WHERE c.subject = $1 ORDER BY c.id"
                ),
                params![subject],
            )?
            .into_iter()
            .map(|r| cert_from_row(c, r).map(|(_, rec)| rec))
            .collect()
        })
    }

    fn list_certs(&self, f: &CertFilter, page: PageRequest) -> Result<Page<CertRecord>> {
        let (after, limit) = page.checked()?;
        self.backend.with_conn(|c| {
            let rows = c.query(
                concat!(
                    "SELECT ",
                    cert_cols!(),
                    " FROM certificates c
                     WHERE c.id > $1
                       AND ($2::text IS NULL OR c.issuer = $2)
                       AND ($3::text IS NULL OR c.status = $3)
                       AND ($4::text IS NULL OR c.profile = $4)
                       AND ($5::text IS NULL OR c.requester = $5)
                       AND ($6::text IS NULL OR c.subject = $6)
                       AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM certificate_sans s
                                                  WHERE s.cert_id = c.id AND s.san = $7))
                       AND ($8::bigint IS NULL OR (c.not_before <= $8 AND c.not_after > $8))
                     ORDER BY c.id
                     LIMIT $9"
                ),
                params![
                    after,
                    f.issuer.as_ref(),
                    f.status.map(CertStatus::as_str),
                    f.profile.as_ref(),
                    f.requester.as_ref(),
                    f.subject.as_ref(),
                    f.san.as_ref(),
                    f.valid_at,
                    limit
                ],
            )?;
            let items = rows
                .into_iter()
                .map(|r| cert_from_row(c, r))
                .collect::<Result<Vec<_>>>()?;
            Ok(page_from(items, limit))
        })
    }

    fn revoke(
        &self,
        issuer: &str,
        serial: &Serial,
        reason: RevocationReason,
        revoked_at: UnixTime,
        invalidity_date: Option<UnixTime>,
    ) -> Result<()> {
        if reason == RevocationReason::RemoveFromCrl {
            return Err(Error::Invalid(
                "removeFromCRL is not a revocation reason; lift a hold with unrevoke".into(),
            ));
        }
        self.backend.with_tx(|c| {
            let n = c.execute(
                "UPDATE certificates
                 SET status = 'revoked', revoked_at = $3, revocation_reason = $4,
                     invalidity_date = $5
                 WHERE issuer = $1 AND serial = $2 AND status = 'issued'",
                params![
                    issuer,
                    serial,
                    revoked_at,
                    i64::from(reason.code()),
                    invalidity_date
                ],
            )?;
            if n == 1 {
                return bump_revocation_epoch(c, issuer);
            }
            match get_cert(c, issuer, serial)? {
                Some(CertRecord {
                    state: CertState::Revoked { revocation, .. },
                    ..
                }) => Err(Error::AlreadyRevoked {
                    issuer: issuer.to_owned(),
                    serial: serial.clone(),
                    revocation,
                }),
                _ => Err(cert_refusal(c, issuer, serial, "issued")),
            }
        })
    }

    fn unrevoke(&self, issuer: &str, serial: &Serial) -> Result<()> {
        self.backend.with_tx(|c| {
            let n = c.execute(
                "UPDATE certificates
                 SET status = 'issued', revoked_at = NULL, revocation_reason = NULL,
                     invalidity_date = NULL
                 WHERE issuer = $1 AND serial = $2 AND status = 'revoked'
                   AND revocation_reason = $3",
                params![
                    issuer,
                    serial,
                    i64::from(RevocationReason::CertificateHold.code())
                ],
            )?;
            if n == 1 {
                return bump_revocation_epoch(c, issuer);
            }
            match get_cert(c, issuer, serial)? {
                Some(CertRecord {
                    state: CertState::Revoked { revocation, .. },
                    ..
                }) => Err(Error::InvalidState(format!(
                    "certificate {serial} of {issuer} is revoked for good ({revocation}), \
                     not on hold"
                ))),
                _ => Err(cert_refusal(c, issuer, serial, "on hold")),
            }
        })
    }

    fn list_revoked(&self, issuer: &str) -> Result<Vec<RevokedEntry>> {
        let mut out = Vec::new();
        self.backend.with_conn(|c| {
            super::crl::for_each_revoked(c, issuer, &mut |entry| {
                out.push(entry);
                Ok(())
            })
        })?;
        Ok(out)
    }

    fn revocation_epoch(&self, issuer: &str) -> Result<u64> {
        self.backend.with_conn(|c| {
            match c.query_opt(
                "SELECT epoch FROM revocation_epochs WHERE issuer = $1",
                params![issuer],
            )? {
                Some(mut r) => u64_of_i64(r.i64()?, "revocation epoch"),
                None => Ok(0),
            }
        })
    }
}

/// Counts one more change to `issuer`'s revocations (inside the
/// transaction that made it).
pub(super) fn bump_revocation_epoch(c: &mut dyn Conn, issuer: &str) -> Result<()> {
    c.execute(
        "INSERT INTO revocation_epochs (issuer, epoch) VALUES ($1, 1)
         ON CONFLICT (issuer) DO UPDATE SET epoch = revocation_epochs.epoch + 1",
        params![issuer],
    )?;
    Ok(())
}

/// The answer of an UPDATE of one issued certificate's row that changed `n` rows: `true`
/// when it changed it, `false` when the certificate is issued but was already in that
/// state; NotFound when `serial` is no issued certificate of `issuer`.
fn changed_or_issued(c: &mut dyn Conn, n: u64, issuer: &str, serial: &Serial) -> Result<bool> {
    if n == 1 {
        return Ok(true);
    }
    let issued = c
        .query_opt(
            "SELECT 1 FROM certificates
             WHERE issuer = $1 AND serial = $2 AND cert_der IS NOT NULL",
            params![issuer, serial],
        )?
        .is_some();
    if issued {
        Ok(false)
    } else {
        Err(Error::NotFound(format!("certificate {serial} of {issuer}")))
    }
}
