//! Registered CMC clients ([`ClientStore`]): end entities, RAs and agents,
//! with their grants.

use super::SqlStore;
use super::audit::insert_audit;
use crate::db::{Backend, Conn, Row, params};
use crate::error::{Error, Result};
use crate::traits::ClientStore;
use crate::types::{
    AuditEvent, ClientRecord, ClientRole, Fingerprint, Grant, NewClient, Page, PageRequest, Scope,
    UnixTime, fingerprint, fingerprint_from_db, page_from,
};

macro_rules! client_cols {
    () => {
        "seq, id, cert_der, fingerprint, role, expires_at, disabled_at, created_at, subject, \
         names, mac_reference"
    };
}

fn client_from_row(conn: &mut dyn Conn, r: &mut Row) -> Result<(i64, ClientRecord)> {
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
            mac_reference: r.opt_text()?,
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
                                      subject, names, mac_reference, mac_secret)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                params![
                    &client.id,
                    &client.cert_der,
                    &fp,
                    client.role.as_str(),
                    client.expires_at,
                    now,
                    &client.subject,
                    client.names.as_ref(),
                    client.mac.as_ref().map(|m| &m.reference),
                    client.mac.as_ref().map(|m| &m.sealed_secret)
                ],
            );
            if let Err(e) = inserted {
                return Err(if e.is_unique() {
                    Error::AlreadyExists(format!(
                        "client {}, a client with the same certificate or with the same MAC reference",
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
            mac_reference: client.mac.as_ref().map(|m| m.reference.clone()),
        })
    }

    fn get_client_by_mac_reference(
        &self,
        reference: &str,
    ) -> Result<Option<(ClientRecord, Vec<u8>)>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                concat!(
                    "SELECT ",
                    client_cols!(),
                    ", mac_secret FROM clients WHERE mac_reference = $1"
                ),
                params![reference],
            )?
            .map(|mut r| {
                let (_, record) = client_from_row(c, &mut r)?;
                Ok((record, r.blob()?))
            })
            .transpose()
        })
    }

    fn get_client(&self, id: &str) -> Result<Option<ClientRecord>> {
        self.backend.with_conn(|c| {
            c.query_opt(
                concat!("SELECT ", client_cols!(), " FROM clients WHERE id = $1"),
                params![id],
            )?
            .map(|mut r| client_from_row(c, &mut r).map(|(_, rec)| rec))
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
            .map(|mut r| client_from_row(c, &mut r).map(|(_, rec)| rec))
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
                .map(|mut r| client_from_row(c, &mut r))
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

    fn replace_client_certificate(
        &self,
        id: &str,
        cert_der: &[u8],
        expires_at: Option<UnixTime>,
        event: &AuditEvent,
    ) -> Result<ClientRecord> {
        let fp = fingerprint(cert_der);
        self.backend.with_tx(|c| {
            let updated = c.execute(
                "UPDATE clients SET cert_der = $2, fingerprint = $3, expires_at = $4 WHERE id = $1",
                params![id, cert_der, &fp, expires_at],
            );
            match updated {
                Ok(1) => {}
                Ok(_) => return Err(Error::NotFound(format!("client {id}"))),
                Err(e) if e.is_unique() => {
                    return Err(Error::AlreadyExists(format!(
                        "a client with this certificate (replacing the one of client {id})"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            insert_audit(c, event)?;
            let mut row = c
                .query_opt(
                    concat!("SELECT ", client_cols!(), " FROM clients WHERE id = $1"),
                    params![id],
                )?
                .ok_or_else(|| Error::NotFound(format!("client {id}")))?;
            client_from_row(c, &mut row).map(|(_, rec)| rec)
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
                .map(|mut r| client_from_row(c, &mut r).map(|(_, rec)| rec))
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
