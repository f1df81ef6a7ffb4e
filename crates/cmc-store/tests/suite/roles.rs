//! The operator client role (schema 13): the 12 → 13 migration keeps every
//! client, grant and sequence number, and the role is then stored.

use cmc_store::{ClientRole, Error};

use super::{Fixture, new_client, t, undo_14};

/// Forgets migration 13 and the later ones (migrations run above the
/// highest version recorded), undoing what the later ones made.
fn undo_13(fx: &dyn Fixture) {
    undo_14(fx);
    fx.sql("DELETE FROM schema_migrations WHERE version >= 13;");
}

/// A database whose schema 13 is undone in its record (the migration runs
/// again on open, as on a database written by schema 12) keeps its
/// clients, their grants and their order; the operator role is stored
/// afterwards, and grants still need their client.
pub(crate) fn schema_12_database_migrates_to_the_operator_role(fx: &dyn Fixture) {
    let store = fx.open();
    let ra = store
        .add_client(&new_client("ra", b"ra cert", ClientRole::Ra), t(1))
        .unwrap();
    let agent = store
        .add_client(&new_client("agent", b"agent cert", ClientRole::Agent), t(2))
        .unwrap();
    store.disable_client("agent", t(3)).unwrap();
    let agent = store.get_client("agent").unwrap().unwrap_or(agent);
    drop(store);
    undo_13(fx);
    assert_eq!(fx.migration_rows(), 12);

    let store = fx.open();
    assert_eq!(store.schema_version().unwrap(), cmc_store::SCHEMA_VERSION);
    assert_eq!(store.get_client("ra").unwrap().unwrap(), ra);
    assert_eq!(store.get_client("agent").unwrap().unwrap(), agent);
    let operator = store
        .add_client(&new_client("op", b"op cert", ClientRole::Operator), t(4))
        .unwrap();
    assert_eq!(operator.role, ClientRole::Operator);
    assert_eq!(store.get_client("op").unwrap().unwrap(), operator);
    let listed: Vec<String> = store
        .list_clients(cmc_store::PageRequest::first(10))
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, ["ra", "agent", "op"], "registration order kept");
    // The rebuilt tables keep their constraints.
    assert!(matches!(
        store.add_client(&new_client("ra", b"other cert", ClientRole::Ra), t(5)),
        Err(Error::AlreadyExists(_))
    ));
    drop(store);
    undo_13(fx);
    assert_eq!(
        fx.open().get_client("op").unwrap().unwrap().role,
        ClientRole::Operator,
        "a second run keeps operator rows"
    );
}

/// A client's certificate replaced in place: found by the new fingerprint
/// only, with its grants, and the event in the same transaction; an
/// unknown client or another client's certificate changes nothing.
pub(crate) fn client_certificate_is_replaced_in_place(fx: &dyn Fixture) {
    use cmc_store::{AuditFilter, AuditKind, PageRequest, fingerprint};
    let store = fx.open();
    let ra = store
        .add_client(&new_client("ra", b"ra cert", ClientRole::Ra), t(1))
        .unwrap();
    store
        .add_client(
            &new_client("other", b"other cert", ClientRole::Client),
            t(1),
        )
        .unwrap();
    let ev = || super::event(AuditKind::ClientCredentialReplaced, "ca", None, "op", 5);
    let replaced = store
        .replace_client_certificate("ra", b"ra cert 2", Some(t(2000)), &ev())
        .unwrap();
    assert_eq!(replaced.cert_der, b"ra cert 2");
    assert_eq!(replaced.fingerprint, fingerprint(b"ra cert 2"));
    assert_eq!(replaced.expires_at, Some(t(2000)));
    assert_eq!(
        (replaced.grants.clone(), replaced.role, replaced.created_at),
        (ra.grants.clone(), ra.role, ra.created_at)
    );
    assert_eq!(
        store
            .get_client_by_fingerprint(&fingerprint(b"ra cert 2"))
            .unwrap()
            .unwrap(),
        replaced
    );
    assert!(
        store
            .get_client_by_fingerprint(&fingerprint(b"ra cert"))
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.replace_client_certificate("nobody", b"x", None, &ev()),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.replace_client_certificate("ra", b"other cert", None, &ev()),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(store.get_client("ra").unwrap().unwrap(), replaced);
    let events = store
        .list_audit(
            &AuditFilter {
                kind: Some(AuditKind::ClientCredentialReplaced),
                ..AuditFilter::default()
            },
            PageRequest::first(10),
        )
        .unwrap()
        .items;
    assert_eq!(events.len(), 1, "the refused ones recorded nothing");
}
