//! The store logic, written once against [`Backend`] and run on both
//! databases.
//!
//! Every operation whose correctness depends on concurrency is a single
//! statement whose effect the database makes atomic: an INSERT that a unique
//! key refuses, an UPDATE guarded by the expected state (`WHERE status =
//! 'reserved'`, `WHERE used_at IS NULL`) whose row count says who won, or an
//! UPSERT with RETURNING. Reads that follow a refused write only explain the
//! refusal; they never decide it.

use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::schema;
use crate::traits::{
    AuditLog, CaStore, CertStore, ClientStore, CrlStore, EngineKeyStore, PendingStore, ReplayStore,
    SecretStore, Store,
};
use crate::types::{
    AuditEvent, AuditFilter, AuditKind, AuditRecord, CaRecord, CertFilter, CertRecord, CertState,
    CertStatus, ClientRecord, ClientRole, CrlRecord, Fingerprint, Grant, IssuedCert, NewClient,
    NewPending, NewReservation, NewSecret, Outcome, Page, PageRequest, PendingFilter,
    PendingRecord, PendingState, PendingStatus, Revocation, RevocationReason, RevokedEntry, Scope,
    SecretFailures, SecretPurpose, SecretRecord, Serial, TransactionOpen, TransactionRecord,
    TransactionState, UnixTime, check_ca_name, check_nonce, fingerprint, fingerprint_from_db,
    page_from, serial_from_db, u32_from_db,
};

#[derive(Debug)]
pub(crate) struct SqlStore<B: Backend> {
    backend: B,
}

impl<B: Backend> SqlStore<B> {
    /// Wraps a backend, applying missing migrations first.
    pub(crate) fn new(backend: B) -> Result<Self> {
        let dialect = backend.dialect();
        backend.with_tx(|c| schema::migrate(c, dialect))?;
        Ok(Self { backend })
    }
}

fn i64_of_u64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Invalid(format!("{what} {v} is too large")))
}

fn u64_of_i64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("{what} {v}")))
}

fn count(conn: &mut dyn Conn, sql: &str, key: &str) -> Result<u64> {
    let mut row = conn
        .query_opt(sql, params![key])?
        .ok_or_else(|| Error::Corrupt("COUNT returned no row".into()))?;
    u64_of_i64(row.i64()?, "count")
}

// ---------------------------------------------------------------- CAs

fn ca_from_row(conn: &mut dyn Conn, mut r: Row) -> Result<CaRecord> {
    let name = r.text()?;
    let chain_der = conn
        .query(
            "SELECT cert_der FROM ca_chain WHERE ca = $1 ORDER BY position",
            params![&name],
        )?
        .into_iter()
        .map(|mut c| c.blob())
        .collect::<Result<_>>()?;
    Ok(CaRecord {
        cert_der: r.blob()?,
        key_ref: r.text()?,
        parent: r.opt_text()?,
        created_at: r.time()?,
        chain_der,
        name,
    })
}

/// Inserts a CA and its chain (inside the caller's transaction).
fn insert_ca(c: &mut dyn Conn, ca: &CaRecord) -> Result<()> {
    c.execute(
        "INSERT INTO cas (name, cert_der, key_ref, parent, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![
            &ca.name,
            &ca.cert_der,
            &ca.key_ref,
            ca.parent.as_ref(),
            ca.created_at
        ],
    )
    .map_err(|e| {
        if e.is_unique() {
            Error::AlreadyExists(format!("CA {}", ca.name))
        } else if e.is_foreign_key() {
            Error::NotFound(format!(
                "parent CA {}",
                ca.parent.as_deref().unwrap_or_default()
            ))
        } else {
            e.into()
        }
    })?;
    for (position, der) in (0_i64..).zip(&ca.chain_der) {
        c.execute(
            "INSERT INTO ca_chain (ca, position, cert_der) VALUES ($1, $2, $3)",
            params![&ca.name, position, der],
        )?;
    }
    Ok(())
}

impl<B: Backend> CaStore for SqlStore<B> {
    fn put_ca(&self, ca: &CaRecord) -> Result<()> {
        check_ca_name(&ca.name)?;
        self.backend.with_tx(|c| insert_ca(c, ca))
    }

    fn put_ca_with_audit(&self, ca: &CaRecord, event: &AuditEvent) -> Result<i64> {
        check_ca_name(&ca.name)?;
        self.backend.with_tx(|c| {
            insert_ca(c, ca)?;
            insert_audit(c, event)
        })
    }

    fn get_ca(&self, name: &str) -> Result<Option<CaRecord>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT name, cert_der, key_ref, parent, created_at FROM cas WHERE name = $1",
                params![name],
            )?
            .map(|r| ca_from_row(c, r))
            .transpose()
        })
    }

    fn list_cas(&self) -> Result<Vec<CaRecord>> {
        self.backend.with_conn(|c| {
            c.query(
                "SELECT name, cert_der, key_ref, parent, created_at FROM cas ORDER BY name",
                &[],
            )?
            .into_iter()
            .map(|r| ca_from_row(c, r))
            .collect()
        })
    }

    fn set_auto_approvals(&self, ca: &str, count: u32) -> Result<()> {
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO ca_auto_approvals (ca, granted, remaining) VALUES ($1, $2, $2)",
                params![ca, i64::from(count)],
            )
            .map_err(|e| {
                if e.is_unique() {
                    Error::AlreadyExists(format!("auto-approvals of CA {ca}"))
                } else if e.is_foreign_key() {
                    Error::NotFound(format!("CA {ca}"))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn take_auto_approval(&self, ca: &str) -> Result<bool> {
        self.backend.with_conn(|c| {
            let row = c.query_opt(
                "UPDATE ca_auto_approvals SET remaining = remaining - 1
                 WHERE ca = $1 AND remaining > 0 AND locked = FALSE
                 RETURNING remaining",
                params![ca],
            )?;
            Ok(row.is_some())
        })
    }

    fn return_auto_approval(&self, ca: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            c.execute(
                "UPDATE ca_auto_approvals SET remaining = remaining + 1
                 WHERE ca = $1 AND remaining < granted AND locked = FALSE",
                params![ca],
            )?;
            Ok(())
        })
    }

    fn lock_auto_approvals(&self, ca: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            let changed = c.execute(
                "UPDATE ca_auto_approvals SET locked = TRUE WHERE ca = $1",
                params![ca],
            )?;
            if changed == 0 {
                return Err(Error::NotFound(format!("auto-approvals of CA {ca}")));
            }
            Ok(())
        })
    }

    fn auto_approvals(&self, ca: &str) -> Result<Option<(u32, u32, bool)>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT granted, remaining, locked FROM ca_auto_approvals WHERE ca = $1",
                params![ca],
            )?
            .map(|mut r| {
                Ok((
                    u32_from_db(r.i64()?, "auto-approvals granted")?,
                    u32_from_db(r.i64()?, "auto-approvals remaining")?,
                    r.bool()?,
                ))
            })
            .transpose()
        })
    }
}

// ---------------------------------------------------------------- certificates

macro_rules! cert_cols {
    () => {
        "c.id, c.issuer, c.serial, c.status, c.requester, c.profile, c.request_hash, \
         c.reserved_at, c.tbs_der, c.cert_der, c.subject, c.not_before, c.not_after, \
         c.issued_at, c.failed_at, c.failure_reason, c.revoked_at, c.revocation_reason, \
         c.invalidity_date"
    };
}

fn cert_from_row(conn: &mut dyn Conn, mut r: Row) -> Result<(i64, CertRecord)> {
    let id = r.i64()?;
    let issuer = r.text()?;
    let serial = serial_from_db(r.blob()?)?;
    let status = CertStatus::parse(&r.text()?)?;
    let requester = r.text()?;
    let profile = r.text()?;
    let request_hash = r.blob()?;
    let reserved_at = r.time()?;
    let tbs_der = r.opt_blob()?;
    let mut cert_der = r.opt_blob()?;
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

fn get_cert(conn: &mut dyn Conn, issuer: &str, serial: &Serial) -> Result<Option<CertRecord>> {
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
             not_after = $6, issued_at = $7
         WHERE issuer = $1 AND serial = $2 AND status = 'reserved'
         RETURNING id",
        params![
            issuer,
            serial,
            &cert.cert_der,
            &cert.subject,
            cert.not_before,
            cert.not_after,
            cert.issued_at
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

impl<B: Backend> CertStore for SqlStore<B> {
    fn reserve_serial(&self, r: &NewReservation, now: UnixTime) -> Result<()> {
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO certificates
                     (issuer, serial, status, requester, profile, request_hash, reserved_at, tbs_der)
                 VALUES ($1, $2, 'reserved', $3, $4, $5, $6, $7)",
                params![
                    &r.issuer,
                    &r.serial,
                    &r.requester,
                    &r.profile,
                    &r.request_hash,
                    now,
                    r.tbs_der.as_ref()
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
            Ok(())
        })
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
        self.backend.with_conn(|c| {
            c.query(
                "SELECT serial, revocation_reason, revoked_at, invalidity_date, not_after
                 FROM certificates WHERE issuer = $1 AND status = 'revoked' ORDER BY id",
                params![issuer],
            )?
            .into_iter()
            .map(|mut r| {
                Ok(RevokedEntry {
                    serial: serial_from_db(r.blob()?)?,
                    revocation: Revocation {
                        reason: RevocationReason::from_db(r.i64()?)?,
                        revoked_at: r.time()?,
                        invalidity_date: r.opt_time()?,
                    },
                    not_after: r.time()?,
                })
            })
            .collect()
        })
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
fn bump_revocation_epoch(c: &mut dyn Conn, issuer: &str) -> Result<()> {
    c.execute(
        "INSERT INTO revocation_epochs (issuer, epoch) VALUES ($1, 1)
         ON CONFLICT (issuer) DO UPDATE SET epoch = revocation_epochs.epoch + 1",
        params![issuer],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- clients

macro_rules! client_cols {
    () => {
        "seq, id, cert_der, fingerprint, role, expires_at, disabled_at, created_at, subject, \
         names"
    };
}

fn client_from_row(conn: &mut dyn Conn, mut r: Row) -> Result<(i64, ClientRecord)> {
    let seq = r.i64()?;
    let id = r.text()?;
    let grants = conn
        .query(
            "SELECT ca, profile FROM client_grants WHERE client_id = $1 ORDER BY position",
            params![&id],
        )?
        .into_iter()
        .map(|mut g| {
            Ok(Grant {
                ca: Scope::from_db(g.opt_text()?),
                profile: Scope::from_db(g.opt_text()?),
            })
        })
        .collect::<Result<_>>()?;
    Ok((
        seq,
        ClientRecord {
            id,
            cert_der: r.blob()?,
            fingerprint: fingerprint_from_db(&r.blob()?)?,
            role: ClientRole::parse(&r.text()?)?,
            expires_at: r.opt_time()?,
            disabled_at: r.opt_time()?,
            created_at: r.time()?,
            subject: r.opt_text()?,
            names: r.opt_text()?,
            grants,
        },
    ))
}

impl<B: Backend> ClientStore for SqlStore<B> {
    fn add_client(&self, client: &NewClient, now: UnixTime) -> Result<ClientRecord> {
        if client.id.is_empty() {
            return Err(Error::Invalid("empty client id".into()));
        }
        let fp = fingerprint(&client.cert_der);
        self.backend.with_tx(|c| {
            let inserted = c.execute(
                "INSERT INTO clients (id, cert_der, fingerprint, role, expires_at, created_at,
                                      subject, names)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                params![
                    &client.id,
                    &client.cert_der,
                    &fp,
                    client.role.as_str(),
                    client.expires_at,
                    now,
                    &client.subject,
                    client.names.as_ref()
                ],
            );
            if let Err(e) = inserted {
                return Err(if e.is_unique() {
                    Error::AlreadyExists(format!(
                        "client {} or a client with the same certificate",
                        client.id
                    ))
                } else {
                    e.into()
                });
            }
            for (position, g) in (0_i64..).zip(&client.grants) {
                c.execute(
                    "INSERT INTO client_grants (client_id, position, ca, profile)
                     VALUES ($1, $2, $3, $4)",
                    params![&client.id, position, g.ca.to_db(), g.profile.to_db()],
                )?;
            }
            Ok(())
        })?;
        Ok(ClientRecord {
            id: client.id.clone(),
            cert_der: client.cert_der.clone(),
            fingerprint: fp,
            role: client.role,
            grants: client.grants.clone(),
            expires_at: client.expires_at,
            disabled_at: None,
            created_at: now,
            subject: Some(client.subject.clone()),
            names: client.names.clone(),
        })
    }

    fn get_client(&self, id: &str) -> Result<Option<ClientRecord>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                concat!("SELECT ", client_cols!(), " FROM clients WHERE id = $1"),
                params![id],
            )?
            .map(|r| client_from_row(c, r).map(|(_, rec)| rec))
            .transpose()
        })
    }

    fn get_client_by_fingerprint(&self, fp: &Fingerprint) -> Result<Option<ClientRecord>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                concat!(
                    "SELECT ",
                    client_cols!(),
                    " FROM clients WHERE fingerprint = $1"
                ),
                params![fp],
            )?
            .map(|r| client_from_row(c, r).map(|(_, rec)| rec))
            .transpose()
        })
    }

    fn list_clients(&self, page: PageRequest) -> Result<Page<ClientRecord>> {
        let (after, limit) = page.checked()?;
        self.backend.with_conn(|c| {
            let rows = c.query(
                concat!(
                    "SELECT ",
                    client_cols!(),
                    " FROM clients WHERE seq > $1 ORDER BY seq LIMIT $2"
                ),
                params![after, limit],
            )?;
            let items = rows
                .into_iter()
                .map(|r| client_from_row(c, r))
                .collect::<Result<Vec<_>>>()?;
            Ok(page_from(items, limit))
        })
    }

    fn disable_client(&self, id: &str, now: UnixTime) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE clients SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL",
                params![id, now],
            )?;
            if n == 1
                || c.query_opt("SELECT 1 FROM clients WHERE id = $1", params![id])?
                    .is_some()
            {
                Ok(())
            } else {
                Err(Error::NotFound(format!("client {id}")))
            }
        })
    }

    fn find_clients_by_subject(&self, subject: &str) -> Result<Vec<ClientRecord>> {
        self.backend.with_conn(|c| {
            let rows = c.query(
                concat!(
                    "SELECT ",
                    client_cols!(),
                    " FROM clients WHERE subject = $1 ORDER BY seq"
                ),
                params![subject],
            )?;
            rows.into_iter()
                .map(|r| client_from_row(c, r).map(|(_, rec)| rec))
                .collect()
        })
    }

    fn set_client_subject(&self, id: &str, subject: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            c.execute(
                "UPDATE clients SET subject = $2 WHERE id = $1 AND subject IS NULL",
                params![id, subject],
            )?;
            if c.query_opt("SELECT 1 FROM clients WHERE id = $1", params![id])?
                .is_some()
            {
                Ok(())
            } else {
                Err(Error::NotFound(format!("client {id}")))
            }
        })
    }
}

// ---------------------------------------------------------------- secrets

macro_rules! secret_cols {
    () => {
        "ca, identification, derived_key, hash_alg, purpose, revoke_issuer, revoke_serial, \
         profile, created_at, expires_at, used_at, failed_attempts, locked, link_key, names"
    };
}

fn secret_from_row(mut r: Row) -> Result<SecretRecord> {
    let ca = r.text()?;
    let identification = r.text()?;
    let derived_key = r.blob()?;
    let hash_alg = r.text()?;
    let purpose = r.text()?;
    let revoke_issuer = r.opt_text()?;
    let revoke_serial = r.opt_blob()?;
    let purpose = match (purpose.as_str(), revoke_issuer, revoke_serial) {
        ("enroll", _, _) => SecretPurpose::Enroll,
        ("revoke", Some(issuer), Some(serial)) => SecretPurpose::Revoke {
            issuer,
            serial: serial_from_db(serial)?,
        },
        (other, _, _) => return Err(Error::Corrupt(format!("secret purpose {other:?}"))),
    };
    Ok(SecretRecord {
        ca,
        identification,
        derived_key,
        hash_alg,
        purpose,
        profile: r.opt_text()?,
        created_at: r.time()?,
        expires_at: r.time()?,
        used_at: r.opt_time()?,
        failed_attempts: u32_from_db(r.i64()?, "failed attempts")?,
        locked: r.bool()?,
        link_key: r.opt_blob()?,
        names: r.opt_text()?,
    })
}

fn get_secret(conn: &mut dyn Conn, ca: &str, ident: &str) -> Result<Option<SecretRecord>> {
    conn.query_opt(
        concat!(
            "SELECT ",
            secret_cols!(),
            " FROM secrets WHERE ca = $1 AND identification = $2"
        ),
        params![ca, ident],
    )?
    .map(secret_from_row)
    .transpose()
}

impl<B: Backend> SecretStore for SqlStore<B> {
    fn add_secret(&self, s: &NewSecret, now: UnixTime) -> Result<()> {
        if s.identification.is_empty() || s.derived_key.is_empty() {
            return Err(Error::Invalid(
                "a secret needs an identification and a derived key".into(),
            ));
        }
        let (purpose, revoke_issuer, revoke_serial) = match &s.purpose {
            SecretPurpose::Enroll => ("enroll", None, None),
            SecretPurpose::Revoke { issuer, serial } => ("revoke", Some(issuer), Some(serial)),
        };
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO secrets (ca, identification, derived_key, hash_alg, purpose,
                                      revoke_issuer, revoke_serial, profile, created_at,
                                      expires_at, link_key, names)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                params![
                    &s.ca,
                    &s.identification,
                    &s.derived_key,
                    &s.hash_alg,
                    purpose,
                    revoke_issuer,
                    revoke_serial,
                    s.profile.as_ref(),
                    now,
                    s.expires_at,
                    s.link_key.as_ref(),
                    s.names.as_ref()
                ],
            )
            .map_err(|e| {
                if e.is_unique() {
                    Error::AlreadyExists(format!("secret {:?} of CA {}", s.identification, s.ca))
                } else if e.is_foreign_key() {
                    Error::NotFound(format!("CA {}", s.ca))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn get_secret(&self, ca: &str, identification: &str) -> Result<Option<SecretRecord>> {
        self.backend
            .with_conn(|c| get_secret(c, ca, identification))
    }

    fn list_secrets(&self, ca: Option<&str>) -> Result<Vec<SecretRecord>> {
        self.backend.with_conn(|c| {
            c.query(
                concat!(
                    "SELECT ",
                    secret_cols!(),
                    " FROM secrets WHERE ($1::text IS NULL OR ca = $1) ORDER BY ca, identification"
                ),
                params![ca],
            )?
            .into_iter()
            .map(secret_from_row)
            .collect()
        })
    }

    fn consume_secret(
        &self,
        ca: &str,
        identification: &str,
        now: UnixTime,
    ) -> Result<SecretRecord> {
        self.backend.with_conn(|c| {
            let row = c.query_opt(
                concat!(
                    "UPDATE secrets SET used_at = $3
                     WHERE ca = $1 AND identification = $2 AND used_at IS NULL
                       AND locked = FALSE AND expires_at > $3
                     RETURNING ",
                    secret_cols!()
                ),
                params![ca, identification, now],
            )?;
            if let Some(row) = row {
                return secret_from_row(row);
            }
            match get_secret(c, ca, identification)? {
                None => Err(Error::NotFound(format!(
                    "secret {identification:?} of CA {ca}"
                ))),
                Some(s) => Err(s.unusable_at(now).unwrap_or_else(|| {
                    Error::InvalidState("secret changed while being consumed".into())
                })),
            }
        })
    }

    fn record_secret_failure(
        &self,
        ca: &str,
        identification: &str,
        lock_after: u32,
    ) -> Result<SecretFailures> {
        self.backend.with_conn(|c| {
            let mut row = c
                .query_opt(
                    "UPDATE secrets
                     SET failed_attempts = failed_attempts + 1,
                         locked = (locked OR failed_attempts + 1 >= $3)
                     WHERE ca = $1 AND identification = $2
                     RETURNING failed_attempts, locked",
                    params![ca, identification, i64::from(lock_after)],
                )?
                .ok_or_else(|| Error::NotFound(format!("secret {identification:?} of CA {ca}")))?;
            Ok(SecretFailures {
                failed_attempts: u32_from_db(row.i64()?, "failed attempts")?,
                locked: row.bool()?,
            })
        })
    }

    fn release_secret(&self, ca: &str, identification: &str, used_at: UnixTime) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE secrets SET used_at = NULL
                 WHERE ca = $1 AND identification = $2 AND used_at = $3",
                params![ca, identification, used_at],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(Error::NotFound(format!(
                    "secret {identification:?} of CA {ca} used at {used_at}"
                )))
            }
        })
    }

    fn unlock_secret(&self, ca: &str, identification: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE secrets SET locked = FALSE, failed_attempts = 0
                 WHERE ca = $1 AND identification = $2",
                params![ca, identification],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(Error::NotFound(format!(
                    "secret {identification:?} of CA {ca}"
                )))
            }
        })
    }
}

impl<B: Backend> EngineKeyStore for SqlStore<B> {
    fn engine_key(&self, name: &str, candidate: &[u8], now: UnixTime) -> Result<Vec<u8>> {
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO engine_keys (name, value, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
                params![name, candidate, now],
            )?;
            c.query_opt(
                "SELECT value FROM engine_keys WHERE name = $1",
                params![name],
            )?
            .ok_or_else(|| Error::Corrupt(format!("engine key {name} vanished")))?
            .blob()
        })
    }
}

// ---------------------------------------------------------------- replay

macro_rules! tx_cols {
    () => {
        "signer, transaction_id, state, pending_id, created_at, updated_at, expires_at"
    };
}

fn transaction_from_row(mut r: Row) -> Result<TransactionRecord> {
    let signer = fingerprint_from_db(&r.blob()?)?;
    let transaction_id = r.blob()?;
    let state = r.text()?;
    let pending = r.opt_text()?;
    Ok(TransactionRecord {
        signer,
        transaction_id,
        state: TransactionState::from_db(&state, pending)?,
        created_at: r.time()?,
        updated_at: r.time()?,
        expires_at: r.time()?,
    })
}

fn get_transaction(
    conn: &mut dyn Conn,
    signer: &Fingerprint,
    id: &[u8],
) -> Result<Option<TransactionRecord>> {
    conn.query_opt(
        concat!(
            "SELECT ",
            tx_cols!(),
            " FROM transactions WHERE signer = $1 AND transaction_id = $2"
        ),
        params![signer, id],
    )?
    .map(transaction_from_row)
    .transpose()
}

impl<B: Backend> ReplayStore for SqlStore<B> {
    fn remember_nonce(
        &self,
        signer: &Fingerprint,
        nonce: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        check_nonce("nonce", nonce)?;
        self.backend.with_conn(|c| {
            let n = c.execute(
                "INSERT INTO nonces (signer, nonce, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (signer, nonce) DO UPDATE
                 SET created_at = excluded.created_at, expires_at = excluded.expires_at
                 WHERE nonces.expires_at <= $3",
                params![signer, nonce, now, expires_at],
            )?;
            if n == 1 { Ok(()) } else { Err(Error::Replay) }
        })
    }

    fn open_transaction(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<TransactionOpen> {
        check_nonce("transaction id", transaction_id)?;
        self.backend.with_conn(|c| {
            // The record can vanish between a refused insert and the read
            // (a purge); then the insert is tried again.
            for _ in 0..3 {
                let started = c.query_opt(
                    concat!(
                        "INSERT INTO transactions
                             (signer, transaction_id, state, pending_id, created_at, updated_at,
                              expires_at)
                         VALUES ($1, $2, 'open', NULL, $3, $3, $4)
                         ON CONFLICT (signer, transaction_id) DO UPDATE
                         SET state = 'open', pending_id = NULL,
                             created_at = excluded.created_at,
                             updated_at = excluded.updated_at,
                             expires_at = excluded.expires_at
                         WHERE transactions.expires_at <= $3
                         RETURNING ",
                        tx_cols!()
                    ),
                    params![signer, transaction_id, now, expires_at],
                )?;
                if let Some(row) = started {
                    return Ok(TransactionOpen::Started(transaction_from_row(row)?));
                }
                if let Some(rec) = get_transaction(c, signer, transaction_id)? {
                    return Ok(TransactionOpen::Existing(rec));
                }
            }
            Err(Error::Backend(
                "transaction record kept changing; try again".into(),
            ))
        })
    }

    fn get_transaction(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
    ) -> Result<Option<TransactionRecord>> {
        self.backend
            .with_conn(|c| get_transaction(c, signer, transaction_id))
    }

    fn set_transaction_state(
        &self,
        signer: &Fingerprint,
        transaction_id: &[u8],
        state: &TransactionState,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let (state, pending) = state.to_db();
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE transactions
                 SET state = $3, pending_id = $4, updated_at = $5, expires_at = $6
                 WHERE signer = $1 AND transaction_id = $2",
                params![signer, transaction_id, state, pending, now, expires_at],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(Error::NotFound("transaction".into()))
            }
        })
    }

    fn purge_expired(&self, now: UnixTime) -> Result<u64> {
        self.backend.with_tx(|c| {
            let nonces = c.execute("DELETE FROM nonces WHERE expires_at <= $1", params![now])?;
            let txs = c.execute(
                "DELETE FROM transactions WHERE expires_at <= $1",
                params![now],
            )?;
            Ok(nonces + txs)
        })
    }
}

// ---------------------------------------------------------------- pending

macro_rules! pending_cols {
    () => {
        "seq, id, ca, client, profile, request_der, body_part_id, created_at, state, \
         cert_serial, reject_reason, decided_by, decided_at, replacement_template"
    };
}

fn pending_from_row(mut r: Row) -> Result<(i64, PendingRecord)> {
    let seq = r.i64()?;
    let id = r.text()?;
    let ca = r.text()?;
    let client = r.text()?;
    let profile = r.text()?;
    let request_der = r.blob()?;
    let body_part_id = u32_from_db(r.i64()?, "bodyPartID")?;
    let created_at = r.time()?;
    let status = PendingStatus::parse(&r.text()?)?;
    let serial = r.opt_blob()?;
    let reject_reason = r.opt_text()?;
    let state = match (status, serial, reject_reason) {
        (PendingStatus::Pending, _, _) => PendingState::Pending,
        (PendingStatus::Approved, Some(s), _) => PendingState::Approved(serial_from_db(s)?),
        (PendingStatus::Rejected, _, Some(reason)) => PendingState::Rejected(reason),
        (s, _, _) => {
            return Err(Error::Corrupt(format!(
                "pending request {id} {s} without data"
            )));
        }
    };
    Ok((
        seq,
        PendingRecord {
            id,
            ca,
            client,
            profile,
            request_der,
            body_part_id,
            created_at,
            state,
            decided_by: r.opt_text()?,
            decided_at: r.opt_time()?,
            replacement_template_der: r.opt_blob()?,
        },
    ))
}

fn get_pending(conn: &mut dyn Conn, id: &str) -> Result<Option<PendingRecord>> {
    conn.query_opt(
        concat!(
            "SELECT ",
            pending_cols!(),
            " FROM pending_requests WHERE id = $1"
        ),
        params![id],
    )?
    .map(|r| pending_from_row(r).map(|(_, p)| p))
    .transpose()
}

fn pending_refusal(conn: &mut dyn Conn, id: &str) -> Error {
    match get_pending(conn, id) {
        Ok(None) => Error::NotFound(format!("pending request {id}")),
        // Still undecided, so another decision holds a claim on it.
        Ok(Some(p)) if p.status() == PendingStatus::Pending => Error::InvalidState(format!(
            "pending request {id} is being decided by someone else"
        )),
        Ok(Some(p)) => {
            Error::InvalidState(format!("pending request {id} is already {}", p.status()))
        }
        Err(e) => e,
    }
}

impl<B: Backend> PendingStore for SqlStore<B> {
    fn create_pending(&self, p: &NewPending, now: UnixTime) -> Result<()> {
        if p.id.is_empty() {
            return Err(Error::Invalid("empty pending request id".into()));
        }
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO pending_requests
                     (id, ca, client, profile, request_der, body_part_id, created_at, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
                params![
                    &p.id,
                    &p.ca,
                    &p.client,
                    &p.profile,
                    &p.request_der,
                    i64::from(p.body_part_id),
                    now
                ],
            )
            .map_err(|e| {
                if e.is_unique() {
                    Error::AlreadyExists(format!("pending request {}", p.id))
                } else if e.is_foreign_key() {
                    Error::NotFound(format!("CA {}", p.ca))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn get_pending(&self, id: &str) -> Result<Option<PendingRecord>> {
        self.backend.with_conn(|c| get_pending(c, id))
    }

    fn list_pending(&self, f: &PendingFilter, page: PageRequest) -> Result<Page<PendingRecord>> {
        let (after, limit) = page.checked()?;
        self.backend.with_conn(|c| {
            let items = c
                .query(
                    concat!(
                        "SELECT ",
                        pending_cols!(),
                        " FROM pending_requests
                         WHERE seq > $1
                           AND ($2::text IS NULL OR ca = $2)
                           AND ($3::text IS NULL OR client = $3)
                           AND ($4::text IS NULL OR state = $4)
                         ORDER BY seq LIMIT $5"
                    ),
                    params![
                        after,
                        f.ca.as_ref(),
                        f.client.as_ref(),
                        f.status.map(PendingStatus::as_str),
                        limit
                    ],
                )?
                .into_iter()
                .map(pending_from_row)
                .collect::<Result<Vec<_>>>()?;
            Ok(page_from(items, limit))
        })
    }

    fn claim_pending(&self, id: &str, claim: &str, until: UnixTime, now: UnixTime) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE pending_requests SET claimed_by = $2, claimed_until = $3
                 WHERE id = $1 AND state = 'pending'
                   AND (claimed_by IS NULL OR claimed_until <= $4)",
                params![id, claim, until, now],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(pending_refusal(c, id))
            }
        })
    }

    fn release_pending(&self, id: &str, claim: &str) -> Result<()> {
        self.backend.with_conn(|c| {
            c.execute(
                "UPDATE pending_requests SET claimed_by = NULL, claimed_until = NULL
                 WHERE id = $1 AND claimed_by = $2",
                params![id, claim],
            )?;
            Ok(())
        })
    }

    fn approve_pending(
        &self,
        id: &str,
        decided_by: &str,
        serial: &Serial,
        replacement_template_der: Option<&[u8]>,
        claim: Option<&str>,
        now: UnixTime,
    ) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE pending_requests
                 SET state = 'approved', cert_serial = $2, decided_by = $3, decided_at = $4,
                     replacement_template = $5, claimed_by = NULL, claimed_until = NULL
                 WHERE id = $1 AND state = 'pending'
                   AND (claimed_by IS NULL OR claimed_until <= $4 OR claimed_by = $6)",
                params![id, serial, decided_by, now, replacement_template_der, claim],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(pending_refusal(c, id))
            }
        })
    }

    fn reject_pending(
        &self,
        id: &str,
        decided_by: &str,
        reason: &str,
        now: UnixTime,
    ) -> Result<()> {
        self.backend.with_conn(|c| {
            let n = c.execute(
                "UPDATE pending_requests
                 SET state = 'rejected', reject_reason = $2, decided_by = $3, decided_at = $4,
                     claimed_by = NULL, claimed_until = NULL
                 WHERE id = $1 AND state = 'pending'
                   AND (claimed_by IS NULL OR claimed_until <= $4)",
                params![id, reason, decided_by, now],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(pending_refusal(c, id))
            }
        })
    }

    fn count_pending_for_ca(&self, ca: &str) -> Result<u64> {
        self.backend.with_conn(|c| {
            count(
                c,
                "SELECT COUNT(*) FROM pending_requests WHERE ca = $1 AND state = 'pending'",
                ca,
            )
        })
    }

    fn count_pending_for_client(&self, client: &str) -> Result<u64> {
        self.backend.with_conn(|c| {
            count(
                c,
                "SELECT COUNT(*) FROM pending_requests WHERE client = $1 AND state = 'pending'",
                client,
            )
        })
    }
}

// ---------------------------------------------------------------- CRLs

impl<B: Backend> CrlStore for SqlStore<B> {
    fn next_crl_number(&self, issuer: &str) -> Result<u64> {
        self.backend.with_conn(|c| {
            let mut row = c
                .query_opt(
                    "INSERT INTO crl_numbers (issuer, last_number) VALUES ($1, 1)
                     ON CONFLICT (issuer) DO UPDATE
                     SET last_number = crl_numbers.last_number + 1
                     RETURNING last_number",
                    params![issuer],
                )
                .map_err(|e| {
                    if e.is_foreign_key() {
                        Error::NotFound(format!("CA {issuer}"))
                    } else {
                        e.into()
                    }
                })?
                .ok_or_else(|| Error::Corrupt("CRL number upsert returned nothing".into()))?;
            u64_of_i64(row.i64()?, "CRL number")
        })
    }

    fn store_crl(&self, crl: &CrlRecord) -> Result<bool> {
        let number = i64_of_u64(crl.crl_number, "CRL number")?;
        self.backend.with_conn(|c| {
            let n = c
                .execute(
                    "INSERT INTO crls (issuer, crl_number, der, this_update, next_update)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (issuer) DO UPDATE
                     SET crl_number = excluded.crl_number, der = excluded.der,
                         this_update = excluded.this_update, next_update = excluded.next_update
                     WHERE crls.crl_number < excluded.crl_number",
                    params![
                        &crl.issuer,
                        number,
                        &crl.der,
                        crl.this_update,
                        crl.next_update
                    ],
                )
                .map_err(|e| {
                    if e.is_foreign_key() {
                        Error::NotFound(format!("CA {}", crl.issuer))
                    } else {
                        e.into()
                    }
                })?;
            Ok(n == 1)
        })
    }

    fn latest_crl(&self, issuer: &str) -> Result<Option<CrlRecord>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                "SELECT issuer, crl_number, der, this_update, next_update
                 FROM crls WHERE issuer = $1",
                params![issuer],
            )?
            .map(|mut r| {
                Ok(CrlRecord {
                    issuer: r.text()?,
                    crl_number: u64_of_i64(r.i64()?, "CRL number")?,
                    der: r.blob()?,
                    this_update: r.time()?,
                    next_update: r.time()?,
                })
            })
            .transpose()
        })
    }
}

// ---------------------------------------------------------------- audit

/// Appends an audit event and returns its id (inside the caller's
/// transaction, if any).
fn insert_audit(c: &mut dyn Conn, e: &AuditEvent) -> Result<i64> {
    c.query_opt(
        "INSERT INTO audit_log (at, kind, issuer, serial, profile, requester, outcome,
                                detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING id",
        params![
            e.at,
            e.kind.as_str(),
            e.issuer.as_ref(),
            e.serial.as_ref(),
            e.profile.as_ref(),
            e.requester.as_ref(),
            e.outcome.as_str(),
            &e.detail
        ],
    )?
    .ok_or_else(|| Error::Corrupt("audit insert returned no id".into()))?
    .i64()
}

impl<B: Backend> AuditLog for SqlStore<B> {
    fn append_audit(&self, e: &AuditEvent) -> Result<i64> {
        self.backend.with_conn(|c| insert_audit(c, e))
    }

    fn list_audit(&self, f: &AuditFilter, page: PageRequest) -> Result<Page<AuditRecord>> {
        let (after, limit) = page.checked()?;
        self.backend.with_conn(|c| {
            let items = c
                .query(
                    "SELECT id, at, kind, issuer, serial, profile, requester, outcome, detail
                     FROM audit_log
                     WHERE id > $1
                       AND ($2::text IS NULL OR kind = $2)
                       AND ($3::text IS NULL OR issuer = $3)
                       AND ($4::bytea IS NULL OR serial = $4)
                       AND ($5::text IS NULL OR requester = $5)
                       AND ($6::bigint IS NULL OR at >= $6)
                       AND ($7::bigint IS NULL OR at < $7)
                     ORDER BY id LIMIT $8",
                    params![
                        after,
                        f.kind.as_ref().map(AuditKind::as_str),
                        f.issuer.as_ref(),
                        f.serial.as_ref(),
                        f.requester.as_ref(),
                        f.since,
                        f.until,
                        limit
                    ],
                )?
                .into_iter()
                .map(|mut r| {
                    let id = r.i64()?;
                    let event = AuditEvent {
                        at: r.time()?,
                        kind: AuditKind::from_name(&r.text()?),
                        issuer: r.opt_text()?,
                        serial: r.opt_blob()?.map(serial_from_db).transpose()?,
                        profile: r.opt_text()?,
                        requester: r.opt_text()?,
                        outcome: Outcome::parse(&r.text()?)?,
                        detail: r.text()?,
                    };
                    Ok((id, AuditRecord { id, event }))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(page_from(items, limit))
        })
    }
}

impl<B: Backend> Store for SqlStore<B> {
    fn schema_version(&self) -> Result<i64> {
        self.backend.with_conn(schema::current_version)
    }
}
