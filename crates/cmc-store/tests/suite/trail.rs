//! A certificate's audit trail (schema 15): events written after their
//! certificate are linked to its row, others are found by serial; and the
//! undo helpers other migration tests use to look like an older schema.

use cmc_store::{AuditKind, AuditSearch, BulkCert, CertStatus, Keyset, StatusCount, Store};

use super::{Fixture, add_ca, audit, bulk, serial_of, undo_16};

/// Undoes migration 15 (as a database written by schema 14 looks).
pub(crate) fn undo_15(fx: &dyn Fixture) {
    undo_16(fx);
    fx.sql(
        "DROP INDEX certificates_unissued;
         DROP INDEX audit_log_cert;
         DROP INDEX audit_log_serial_unlinked;
         ALTER TABLE audit_log DROP COLUMN cert_id;
         DROP INDEX certificates_revoked;
         CREATE INDEX certificates_revoked ON certificates
             (issuer, id, serial, revocation_reason, revoked_at, invalidity_date, not_after,
              status)
             WHERE status = 'revoked';
         CREATE INDEX certificates_by_ca_status ON certificates (issuer, status, id);
         CREATE INDEX audit_log_serial ON audit_log (serial, id) WHERE serial IS NOT NULL;
         DELETE FROM schema_migrations WHERE version >= 15;",
    );
}

/// Undoes migrations 15 and 14 (as a database written by schema 13 looks).
pub(crate) fn undo_14(fx: &dyn Fixture) {
    undo_15(fx);
    fx.sql(
        "DROP INDEX certificates_by_ca;
         DROP INDEX certificates_by_ca_status;
         DROP INDEX certificates_by_requester;
         DROP INDEX audit_log_serial;
         DELETE FROM schema_migrations WHERE version >= 14;",
    );
}

/// The ids of a trail, newest first, read in pages of `limit`.
fn trail(store: &dyn Store, issuer: Option<&str>, n: u64, limit: u32) -> Vec<i64> {
    let search = AuditSearch {
        issuer: issuer.map(Into::into),
        serial: Some(serial_of(n)),
        ..AuditSearch::default()
    };
    let mut out = Vec::new();
    let mut keyset = Keyset::First;
    loop {
        let page = store.search_audit(&search, keyset, limit).unwrap();
        out.extend(page.items.iter().map(|r| r.id));
        match page.older {
            Some(c) => keyset = Keyset::Older(c),
            None => return out,
        }
    }
}

fn append(store: &dyn Store, issuer: &str, n: u64, at: i64) -> i64 {
    store
        .append_audit(&audit(AuditKind::Revoked, issuer, Some(n), "op", at, "{}"))
        .unwrap()
}

fn linked(fx: &dyn Fixture) -> i64 {
    fx.count("SELECT COUNT(*) FROM audit_log WHERE cert_id IS NOT NULL")
}

/// Events before their certificate (unlinked), after it (linked), of the
/// same serial at another CA, and of a serial with no row: a trail holds
/// exactly its CA's and serial's, newest first, over pages; without a CA
/// it holds the serial's at every CA.
pub(crate) fn trail_finds_linked_and_unlinked_events(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(store.as_ref(), "a");
    add_ca(store.as_ref(), "b");
    let early = append(store.as_ref(), "a", 3, 1);
    // One batch holding one serial under two CAs.
    store
        .bulk_insert_certs(&[bulk("a", 3), bulk("b", 3)])
        .unwrap();
    let mut a3 = vec![early];
    let mut b3 = Vec::new();
    for at in 2..7 {
        a3.push(append(store.as_ref(), "a", 3, at));
        b3.push(append(store.as_ref(), "b", 3, at));
    }
    let orphan = append(store.as_ref(), "a", 77, 8);
    a3.push(append(store.as_ref(), "a", 3, 9));
    assert_eq!(linked(fx), 11, "the events after their certificate");

    a3.reverse();
    b3.reverse();
    for limit in [1, 2, 4, 50] {
        assert_eq!(trail(store.as_ref(), Some("a"), 3, limit), a3);
        assert_eq!(trail(store.as_ref(), Some("b"), 3, limit), b3);
    }
    let mut both: Vec<i64> = a3.iter().chain(&b3).copied().collect();
    both.sort_unstable_by(|x, y| y.cmp(x));
    assert_eq!(trail(store.as_ref(), None, 3, 3), both);
    assert_eq!(trail(store.as_ref(), Some("a"), 77, 5), vec![orphan]);
    assert_eq!(trail(store.as_ref(), Some("b"), 77, 5), Vec::<i64>::new());
    assert_eq!(trail(store.as_ref(), Some("a"), 4, 5), Vec::<i64>::new());
}

/// A schema-14 database (no link column, the (CA, status) index, events
/// indexed by serial) gets migration 15 on open: its events are found by
/// serial, new ones are linked, and the counts by status still add up.
pub(crate) fn migration_15_links_new_events_and_keeps_old_ones(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(store.as_ref(), "a");
    let certs: Vec<BulkCert> = (1..=9).map(|n| bulk("a", n)).collect();
    store.bulk_insert_certs(&certs).unwrap();
    let old = append(store.as_ref(), "a", 5, 1);
    let rows = fx.migration_rows();
    drop(store);
    undo_15(fx);
    assert_eq!(fx.migration_rows(), rows - (cmc_store::SCHEMA_VERSION - 14));

    let store = fx.open();
    assert_eq!(store.schema_version().unwrap(), cmc_store::SCHEMA_VERSION);
    assert_eq!(fx.migration_rows(), rows);
    assert_eq!(linked(fx), 0, "the migration rewrites no event");
    let new = append(store.as_ref(), "a", 5, 2);
    assert_eq!(linked(fx), 1);
    assert_eq!(trail(store.as_ref(), Some("a"), 5, 1), vec![new, old]);
    assert_eq!(trail(store.as_ref(), None, 5, 10), vec![new, old]);
    // bulk(): every fifth revoked.
    let c = |status, count| StatusCount {
        issuer: "a".into(),
        status,
        count,
    };
    assert_eq!(
        store.count_by_status().unwrap(),
        vec![c(CertStatus::Issued, 8), c(CertStatus::Revoked, 1)]
    );
    drop(store);
    // The old event stays unlinked; and undo_15 fails unless migration
    // 15's indexes are there and 14's (CA, status) one is gone.
    assert_eq!(
        fx.count("SELECT COUNT(*) FROM audit_log WHERE cert_id IS NULL AND serial IS NOT NULL"),
        1
    );
    undo_15(fx);
}
