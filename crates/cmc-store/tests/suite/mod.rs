//! The one test suite both backends run (tests/sqlite.rs, tests/postgres.rs).
//!
//! Each test gets its own database (a fresh SQLite file, or a fresh
//! PostgreSQL schema), so tests run in parallel. Time is always injected.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;

use cmc_store::{
    AuditEvent, AuditFilter, AuditKind, CaRecord, CertFilter, CertState, CertStatus, ClientRole,
    ConfirmationState, CrlRecord, Error, Grant, IssuedCert, MacCredential, NewClient,
    NewConfirmation, NewPending, NewReservation, NewSecret, Outcome, PageRequest, PendingFilter,
    PendingState, PendingStatus, RevocationReason, SCHEMA_VERSION, Scope, SecretPurpose, Serial,
    Store, TransactionOpen, TransactionState, UnixTime, fingerprint,
};

mod units;
pub(crate) use units::*;
mod bulk;
pub(crate) use bulk::*;
mod catalog;
pub(crate) use catalog::*;
mod generations;
pub(crate) use generations::*;
mod roles;
pub(crate) use roles::*;
mod search;
pub(crate) use search::*;
mod trail;
pub(crate) use trail::*;
mod compact;
pub(crate) use compact::*;

/// One database for one test.
pub(crate) trait Fixture: Sync {
    /// A new, independent store instance on this test's database (its own
    /// pool and connections, as a second process would have).
    fn try_open(&self) -> Result<Arc<dyn Store>, Error>;

    /// Writes a schema_migrations row directly, as newer code would.
    fn record_migration(&self, version: i64);

    /// The one integer `sql` selects, read directly from the database.
    fn count(&self, sql: &str) -> i64;

    /// Rows in schema_migrations.
    fn migration_rows(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM schema_migrations")
    }

    /// Runs SQL statements directly on the database, as older code would.
    fn sql(&self, batch: &str);

    /// Whether the database is PostgreSQL (for SQL that differs).
    fn postgres(&self) -> bool;

    /// `bytes` as a literal of this database's SQL.
    fn blob_literal(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        if self.postgres() {
            format!("'\\x{hex}'::bytea")
        } else {
            format!("x'{hex}'")
        }
    }

    /// Makes the database refuse every audit event whose detail is
    /// `detail` (a trigger), as a full disk or a lost connection would in
    /// the middle of a transaction.
    fn refuse_audit_detail(&self, detail: &str);

    /// Another session takes the database's write lock (SQLite) or locks
    /// the audit log against inserts (PostgreSQL) until the guard drops:
    /// the store's next commit waits for it.
    fn hold_writes(&self) -> Box<dyn std::any::Any>;

    /// A store instance whose write units are committed in groups (the
    /// SQLite default; PostgreSQL's default is one transaction per unit).
    fn open_grouped(&self) -> Arc<dyn Store>;

    fn open(&self) -> Arc<dyn Store> {
        self.try_open().unwrap()
    }
}

/// Generates one #[test] per suite function; `$fixture` is an expression
/// of type `Option<impl Fixture>` (None: skipped) evaluated per test with
/// the test's name in scope as `TEST`.
macro_rules! backend_tests {
    ($fixture:expr) => {
        backend_tests!(@each $fixture;
            ca_put_get_list,
            serial_reserve_record_complete_get,
            serial_duplicates_are_refused,
            issuance_and_its_audit_event_commit_together,
            a_ca_and_its_audit_event_commit_together,
            failed_reservation_keeps_its_serial,
            find_and_list_certificates,
            revocation_keeps_the_first_record,
            hold_can_be_lifted,
            acceptance_is_recorded_once,
            publication_is_withdrawn_and_restored,
            revocation_epoch_counts_changes,
            clients_add_get_list_disable,
            clients_by_subject_and_backfill,
            secret_release_and_unlock,
            secret_revocation_ends_it_now,
            engine_key_is_shared,
            client_uniqueness,
            mac_credentials_are_found_by_reference,
            confirmations_wait_settle_once_and_fall_due,
            secret_is_consumed_once,
            auto_approvals_are_taken_once_each,
            secret_locks_after_failures,
            secret_expires_by_injected_time,
            nonces_refuse_replay_until_expiry,
            transactions_recur_across_rounds,
            pending_lifecycle_and_counts,
            pending_claims_exclude_other_decisions,
            crl_numbers_and_latest_crl,
            audit_log_append_and_filter,
            migrations_are_idempotent,
            newer_schema_is_refused,
            concurrent_serial_reservations_never_collide,
            concurrent_secret_consumption_succeeds_once,
            concurrent_crl_numbers_strictly_increase,
            concurrent_nonce_accepted_once,
            unit_commits_everything_or_nothing,
            concurrent_units_share_commits,
            many_callers_are_each_answered,
            a_refused_unit_fails_alone_in_its_batch,
            bulk_load_stores_issued_and_revoked_rows,
            bulk_load_is_all_or_nothing,
            catalog_counts_pages_and_serials,
            import_skips_stored_serials_and_revokes_known_ones,
            crl_numbers_advance_past_an_imported_one,
            schema_11_database_migrates_to_generations,
            generations_passive_active_retired,
            schema_12_database_migrates_to_the_operator_role,
            client_certificate_is_replaced_in_place,
            search_pages_newest_first_without_gaps,
            search_filters_certificates,
            status_counts_by_ca,
            audit_search_filters_and_pages,
            migration_14_adds_the_search_indexes,
            trail_finds_linked_and_unlinked_events,
            migration_15_links_new_events_and_keeps_old_ones,
            migration_16_carries_live_nonces_over,
            issued_rows_keep_their_tbs_once,
        );
    };
    (@each $fixture:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                #[allow(dead_code)]
                const TEST: &str = stringify!($name);
                if let Some(fx) = $fixture {
                    suite::$name(&fx);
                }
            }
        )*
    };
}
pub(crate) use backend_tests;

// ---------------------------------------------------------------- helpers

pub(crate) fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_800_000_000 + secs)
}

pub(crate) fn serial(n: u64) -> Serial {
    // 8 random-looking bytes with the number at the end.
    let mut b = vec![0x4a, 0x1f];
    b.extend_from_slice(&n.to_be_bytes());
    Serial::from_be_bytes(&b).unwrap()
}

pub(crate) fn add_ca(store: &dyn Store, name: &str) {
    store
        .put_ca(&CaRecord {
            name: name.into(),
            cert_der: format!("cert of {name}").into_bytes(),
            chain_der: vec![],
            key_ref: format!("{{\"file\":\"{name}.p8\"}}"),
            parent: None,
            created_at: t(0),
        })
        .unwrap();
}

pub(crate) fn reservation(issuer: &str, s: &Serial) -> NewReservation {
    NewReservation {
        issuer: issuer.into(),
        serial: s.clone(),
        requester: "client-1".into(),
        profile: "tls".into(),
        request_hash: vec![7; 32],
        tbs_der: None,
        generation: 1,
    }
}

pub(crate) fn issued(subject: &str, sans: &[&str], not_before: i64, not_after: i64) -> IssuedCert {
    IssuedCert {
        cert_der: format!("certificate for {subject}").into_bytes(),
        subject: subject.into(),
        sans: sans.iter().map(|s| (*s).to_owned()).collect(),
        not_before: t(not_before),
        not_after: t(not_after),
        issued_at: t(1),
    }
}

/// Reserves and completes a certificate.
pub(crate) fn issue(store: &dyn Store, issuer: &str, s: &Serial, subject: &str, sans: &[&str]) {
    store.reserve_serial(&reservation(issuer, s), t(0)).unwrap();
    store
        .complete_issuance(issuer, s, &issued(subject, sans, 0, 1000))
        .unwrap();
}

fn secret(ca: &str, ident: &str, expires: i64) -> NewSecret {
    NewSecret {
        ca: ca.into(),
        identification: ident.into(),
        derived_key: vec![0xaa; 32],
        link_key: Some(vec![0xbb; 32]),
        hash_alg: "sha256".into(),
        purpose: SecretPurpose::Enroll,
        profile: Some("tls".into()),
        expires_at: t(expires),
        names: None,
        mac_secret: None,
    }
}

fn pending(id: &str, ca: &str, client: &str) -> NewPending {
    NewPending {
        id: id.into(),
        ca: ca.into(),
        client: client.into(),
        profile: "tls".into(),
        request_der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        body_part_id: 7,
    }
}

fn event(kind: AuditKind, issuer: &str, s: Option<Serial>, requester: &str, at: i64) -> AuditEvent {
    AuditEvent {
        at: t(at),
        kind,
        issuer: Some(issuer.into()),
        serial: s,
        profile: Some("tls".into()),
        requester: Some(requester.into()),
        outcome: Outcome::Success,
        detail: r#"{"note":"test"}"#.into(),
    }
}

// ---------------------------------------------------------------- CAs

pub(crate) fn ca_put_get_list(fx: &dyn Fixture) {
    let store = fx.open();
    let root = CaRecord {
        name: "root".into(),
        cert_der: vec![1, 2, 3],
        chain_der: vec![],
        key_ref: "pkcs11:token=ca;object=root".into(),
        parent: None,
        created_at: t(5),
    };
    store.put_ca(&root).unwrap();
    let sub = CaRecord {
        name: "issuing-1".into(),
        cert_der: vec![4, 5],
        chain_der: vec![vec![1, 2, 3], vec![9]],
        key_ref: "file:/k.p8".into(),
        parent: Some("root".into()),
        created_at: t(6),
    };
    store.put_ca(&sub).unwrap();

    assert_eq!(store.get_ca("root").unwrap(), Some(root.clone()));
    assert_eq!(store.get_ca("issuing-1").unwrap(), Some(sub.clone()));
    assert_eq!(store.get_ca("nope").unwrap(), None);
    assert_eq!(store.list_cas().unwrap(), vec![sub.clone(), root.clone()]);

    assert!(matches!(store.put_ca(&root), Err(Error::AlreadyExists(_))));
    let orphan = CaRecord {
        name: "orphan".into(),
        parent: Some("missing".into()),
        ..root.clone()
    };
    assert!(matches!(store.put_ca(&orphan), Err(Error::NotFound(_))));
    assert_eq!(store.get_ca("orphan").unwrap(), None, "rolled back");
    let bad = CaRecord {
        name: "a/b".into(),
        ..root
    };
    assert!(matches!(store.put_ca(&bad), Err(Error::Invalid(_))));
}

// ---------------------------------------------------------------- certificates

pub(crate) fn serial_reserve_record_complete_get(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let s = serial(1);
    store.reserve_serial(&reservation("ca", &s), t(10)).unwrap();

    let rec = store.get_cert("ca", &s).unwrap().unwrap();
    assert_eq!(rec.status(), CertStatus::Reserved);
    assert_eq!(rec.state, CertState::Reserved);
    assert!(
        rec.certificate().is_none(),
        "a reservation is no certificate"
    );
    assert_eq!(rec.reserved_at, t(10));
    assert_eq!(rec.requester, "client-1");
    assert_eq!(rec.profile, "tls");
    assert_eq!(rec.request_hash, vec![7; 32]);
    assert_eq!(rec.tbs_der, None);

    store.record_tbs("ca", &s, b"tbs").unwrap();
    store.record_tbs("ca", &s, b"tbs").unwrap();
    assert!(matches!(
        store.record_tbs("ca", &s, b"other tbs"),
        Err(Error::InvalidState(_))
    ));
    assert_eq!(
        store.get_cert("ca", &s).unwrap().unwrap().tbs_der,
        Some(b"tbs".to_vec())
    );

    let cert = issued("CN=a", &["dns:a.example", "ip:192.0.2.1"], 0, 100);
    store.complete_issuance("ca", &s, &cert).unwrap();
    let rec = store.get_cert("ca", &s).unwrap().unwrap();
    assert_eq!(rec.status(), CertStatus::Issued);
    assert_eq!(rec.certificate(), Some(&cert));
    assert_eq!(rec.revocation(), None);

    assert!(matches!(
        store.complete_issuance("ca", &s, &cert),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.record_tbs("ca", &s, b"tbs"),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.mark_failed("ca", &s, "late", t(11)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.complete_issuance("ca", &serial(99), &cert),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.reserve_serial(&reservation("no-such-ca", &serial(2)), t(0)),
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.get_cert("ca", &serial(99)).unwrap(), None);

    // A TBS given at reservation time.
    let s3 = serial(3);
    let mut r = reservation("ca", &s3);
    r.tbs_der = Some(b"early tbs".to_vec());
    store.reserve_serial(&r, t(0)).unwrap();
    assert_eq!(
        store.get_cert("ca", &s3).unwrap().unwrap().tbs_der,
        Some(b"early tbs".to_vec())
    );
}

fn audit_count(store: &dyn Store) -> usize {
    store
        .list_audit(&AuditFilter::default(), PageRequest::first(100))
        .unwrap()
        .items
        .len()
}

pub(crate) fn issuance_and_its_audit_event_commit_together(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let s = serial(1);
    store.reserve_serial(&reservation("ca", &s), t(0)).unwrap();
    let cert = issued("CN=a", &["dns:a.example"], 0, 100);
    let e = event(AuditKind::Issued, "ca", Some(s.clone()), "client-1", 1);
    let id = store
        .complete_issuance_with_audit("ca", &s, &cert, &e)
        .unwrap();
    let rec = store.get_cert("ca", &s).unwrap().unwrap();
    assert_eq!(rec.certificate(), Some(&cert));
    let log = store
        .list_audit(&AuditFilter::default(), PageRequest::first(10))
        .unwrap()
        .items;
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].id, &log[0].event), (id, &e));

    // No certificate to store (issued already, unknown, empty): no event.
    assert!(matches!(
        store.complete_issuance_with_audit("ca", &s, &cert, &e),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.complete_issuance_with_audit("ca", &serial(9), &cert, &e),
        Err(Error::NotFound(_))
    ));
    let s2 = serial(2);
    store.reserve_serial(&reservation("ca", &s2), t(0)).unwrap();
    let empty = IssuedCert {
        cert_der: Vec::new(),
        ..cert.clone()
    };
    assert!(matches!(
        store.complete_issuance_with_audit("ca", &s2, &empty, &e),
        Err(Error::Invalid(_))
    ));
    assert_eq!(audit_count(&*store), 1);

    // An event the database refuses: the certificate is not stored either.
    fx.refuse_audit_detail("refused");
    let refused = AuditEvent {
        detail: "refused".into(),
        ..e
    };
    assert!(
        store
            .complete_issuance_with_audit("ca", &s2, &cert, &refused)
            .is_err()
    );
    let rec = store.get_cert("ca", &s2).unwrap().unwrap();
    assert_eq!(rec.status(), CertStatus::Reserved);
    assert!(rec.certificate().is_none());
    assert_eq!(audit_count(&*store), 1);
    // The reservation is intact: it completes once the event is accepted.
    let fine = event(AuditKind::Issued, "ca", Some(s2.clone()), "client-1", 2);
    store
        .complete_issuance_with_audit("ca", &s2, &cert, &fine)
        .unwrap();
    assert_eq!(audit_count(&*store), 2);
}

pub(crate) fn a_ca_and_its_audit_event_commit_together(fx: &dyn Fixture) {
    let store = fx.open();
    let record = |name: &str, parent: Option<&str>| CaRecord {
        name: name.into(),
        cert_der: format!("cert of {name}").into_bytes(),
        chain_der: parent
            .map(|p| vec![format!("cert of {p}").into_bytes()])
            .unwrap_or_default(),
        key_ref: format!("{{\"file\":\"{name}.p8\"}}"),
        parent: parent.map(Into::into),
        created_at: t(0),
    };
    let added = |name: &str| event(AuditKind::CaAdded, name, Some(serial(1)), "admin", 0);
    let id = store
        .put_ca_with_audit(&record("root", None), &added("root"))
        .unwrap();
    store
        .put_ca_with_audit(&record("sub", Some("root")), &added("sub"))
        .unwrap();
    assert_eq!(
        store.get_ca("sub").unwrap(),
        Some(record("sub", Some("root")))
    );
    let log = store
        .list_audit(&AuditFilter::default(), PageRequest::first(10))
        .unwrap()
        .items;
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].id, &log[0].event), (id, &added("root")));

    // A taken name, an unknown parent, a bad name: no event.
    assert!(matches!(
        store.put_ca_with_audit(&record("root", None), &added("root")),
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(
        store.put_ca_with_audit(&record("orphan", Some("none")), &added("orphan")),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.put_ca_with_audit(&record("a/b", None), &added("a/b")),
        Err(Error::Invalid(_))
    ));
    assert_eq!(audit_count(&*store), 2);

    // An event the database refuses: no CA either.
    fx.refuse_audit_detail("refused");
    let refused = AuditEvent {
        detail: "refused".into(),
        ..added("late")
    };
    assert!(
        store
            .put_ca_with_audit(&record("late", Some("root")), &refused)
            .is_err()
    );
    assert_eq!(store.get_ca("late").unwrap(), None);
    assert_eq!(store.list_cas().unwrap().len(), 2);
    assert_eq!(audit_count(&*store), 2);
}

pub(crate) fn serial_duplicates_are_refused(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "a");
    add_ca(&*store, "b");
    let s = Serial::from_be_bytes(&[0x80, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    store.reserve_serial(&reservation("a", &s), t(0)).unwrap();
    match store.reserve_serial(&reservation("a", &s), t(0)) {
        Err(Error::SerialInUse { issuer, serial }) => {
            assert_eq!(issuer, "a");
            assert_eq!(serial, s);
        }
        other => panic!("expected SerialInUse, got {other:?}"),
    }
    // The same number with a DER sign byte is the same serial.
    let padded = Serial::from_be_bytes(&[0, 0x80, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    assert!(matches!(
        store.reserve_serial(&reservation("a", &padded), t(0)),
        Err(Error::SerialInUse { .. })
    ));
    // Serials are unique per issuer.
    store.reserve_serial(&reservation("b", &s), t(0)).unwrap();
    // Issued serials stay taken.
    store
        .complete_issuance("a", &s, &issued("CN=x", &[], 0, 10))
        .unwrap();
    assert!(matches!(
        store.reserve_serial(&reservation("a", &s), t(0)),
        Err(Error::SerialInUse { .. })
    ));
}

pub(crate) fn failed_reservation_keeps_its_serial(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let s = serial(5);
    store.reserve_serial(&reservation("ca", &s), t(0)).unwrap();
    store
        .mark_failed("ca", &s, "HSM unavailable", t(3))
        .unwrap();
    let rec = store.get_cert("ca", &s).unwrap().unwrap();
    assert_eq!(
        rec.state,
        CertState::Failed {
            reason: "HSM unavailable".into(),
            failed_at: t(3)
        }
    );
    assert!(rec.certificate().is_none());
    assert!(matches!(
        store.reserve_serial(&reservation("ca", &s), t(4)),
        Err(Error::SerialInUse { .. })
    ));
    assert!(matches!(
        store.complete_issuance("ca", &s, &issued("CN=x", &[], 0, 10)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.mark_failed("ca", &s, "again", t(5)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.mark_failed("ca", &serial(6), "none", t(5)),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.revoke("ca", &s, RevocationReason::Superseded, t(6), None),
        Err(Error::InvalidState(_))
    ));
    // Nothing reserved or failed shows up as issued.
    let issued_only = CertFilter {
        status: Some(CertStatus::Issued),
        ..CertFilter::default()
    };
    let page = store
        .list_certs(&issued_only, PageRequest::first(10))
        .unwrap();
    assert!(page.items.is_empty());
}

pub(crate) fn find_and_list_certificates(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "a");
    add_ca(&*store, "b");
    issue(&*store, "a", &serial(1), "CN=web", &["dns:web.example"]);
    issue(
        &*store,
        "a",
        &serial(2),
        "CN=mail",
        &["dns:mail.example", "email:x@example"],
    );
    issue(&*store, "b", &serial(3), "CN=web", &["dns:web.example"]);
    store
        .reserve_serial(&reservation("a", &serial(4)), t(0))
        .unwrap();
    let mut other = reservation("b", &serial(5));
    other.profile = "smime".into();
    other.requester = "ra-1".into();
    store.reserve_serial(&other, t(0)).unwrap();
    store
        .complete_issuance("b", &serial(5), &issued("CN=late", &[], 500, 2000))
        .unwrap();

    let web = store.find_certs_by_subject("CN=web").unwrap();
    assert_eq!(
        web.iter()
            .map(|c| (c.issuer.as_str(), c.serial.clone()))
            .collect::<Vec<_>>(),
        vec![("a", serial(1)), ("b", serial(3))]
    );
    assert!(store.find_certs_by_subject("CN=none").unwrap().is_empty());

    // Paging through everything, two at a time.
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let p = store.list_certs(&CertFilter::default(), page).unwrap();
        assert!(p.items.len() <= 2);
        seen.extend(p.items.iter().map(|c| c.serial.clone()));
        match p.next {
            Some(cursor) => page = PageRequest::after(cursor, 2),
            None => break,
        }
    }
    assert_eq!(seen, (1..=5).map(serial).collect::<Vec<_>>());

    let list = |f: CertFilter| -> Vec<Serial> {
        store
            .list_certs(&f, PageRequest::first(100))
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.serial)
            .collect()
    };
    assert_eq!(
        list(CertFilter {
            issuer: Some("a".into()),
            ..Default::default()
        }),
        vec![serial(1), serial(2), serial(4)]
    );
    assert_eq!(
        list(CertFilter {
            status: Some(CertStatus::Reserved),
            ..Default::default()
        }),
        vec![serial(4)]
    );
    assert_eq!(
        list(CertFilter {
            profile: Some("smime".into()),
            ..Default::default()
        }),
        vec![serial(5)]
    );
    assert_eq!(
        list(CertFilter {
            requester: Some("ra-1".into()),
            ..Default::default()
        }),
        vec![serial(5)]
    );
    assert_eq!(
        list(CertFilter {
            subject: Some("CN=mail".into()),
            ..Default::default()
        }),
        vec![serial(2)]
    );
    assert_eq!(
        list(CertFilter {
            san: Some("dns:web.example".into()),
            ..Default::default()
        }),
        vec![serial(1), serial(3)]
    );
    assert_eq!(
        list(CertFilter {
            valid_at: Some(t(1500)),
            ..Default::default()
        }),
        vec![serial(5)]
    );
    assert_eq!(
        list(CertFilter {
            issuer: Some("a".into()),
            valid_at: Some(t(10)),
            ..Default::default()
        }),
        vec![serial(1), serial(2)]
    );
    assert!(matches!(
        store.list_certs(&CertFilter::default(), PageRequest::first(0)),
        Err(Error::Invalid(_))
    ));
}

pub(crate) fn revocation_keeps_the_first_record(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let s = serial(1);
    issue(&*store, "ca", &s, "CN=a", &[]);
    assert_eq!(store.is_revoked("ca", &s).unwrap(), Some(false));
    assert_eq!(store.is_revoked("ca", &serial(9)).unwrap(), None);
    assert_eq!(store.is_revoked("other", &s).unwrap(), None);
    store
        .revoke(
            "ca",
            &s,
            RevocationReason::KeyCompromise,
            t(50),
            Some(t(40)),
        )
        .unwrap();
    let rec = store.get_cert("ca", &s).unwrap().unwrap();
    assert_eq!(rec.status(), CertStatus::Revoked);
    assert_eq!(store.is_revoked("ca", &s).unwrap(), Some(true));
    let first = *rec.revocation().unwrap();
    assert_eq!(first.reason, RevocationReason::KeyCompromise);
    assert_eq!(first.revoked_at, t(50));
    assert_eq!(first.invalidity_date, Some(t(40)));
    assert!(
        rec.certificate().is_some(),
        "a revoked certificate is still there"
    );

    match store.revoke("ca", &s, RevocationReason::Superseded, t(60), None) {
        Err(Error::AlreadyRevoked {
            issuer,
            serial: got,
            revocation,
        }) => {
            assert_eq!((issuer.as_str(), got), ("ca", s.clone()));
            assert_eq!(revocation, first);
        }
        other => panic!("expected AlreadyRevoked, got {other:?}"),
    }
    assert_eq!(
        store.get_cert("ca", &s).unwrap().unwrap().revocation(),
        Some(&first)
    );
    assert!(matches!(
        store.unrevoke("ca", &s),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.revoke("ca", &serial(9), RevocationReason::Unspecified, t(1), None),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.revoke("ca", &s, RevocationReason::RemoveFromCrl, t(1), None),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        store.unrevoke("ca", &serial(9)),
        Err(Error::NotFound(_))
    ));

    let s2 = serial(2);
    store.reserve_serial(&reservation("ca", &s2), t(0)).unwrap();
    assert!(matches!(
        store.revoke("ca", &s2, RevocationReason::Unspecified, t(1), None),
        Err(Error::InvalidState(_))
    ));

    let revoked = store.list_revoked("ca").unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial, s);
    assert_eq!(revoked[0].revocation, first);
    assert_eq!(revoked[0].not_after, t(1000));
    assert!(store.list_revoked("other").unwrap().is_empty());
}

pub(crate) fn acceptance_is_recorded_once(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let s = serial(1);
    issue(&*store, "ca", &s, "CN=a", &[]);
    assert_eq!(store.accepted_at("ca", &s).unwrap(), None);
    assert!(store.accept_certificate("ca", &s, t(10)).unwrap());
    assert!(!store.accept_certificate("ca", &s, t(20)).unwrap(), "once");
    assert_eq!(store.accepted_at("ca", &s).unwrap(), Some(t(10)));
    assert!(matches!(
        store.accept_certificate("ca", &serial(2), t(10)),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.accepted_at("ca", &serial(2)),
        Err(Error::NotFound(_))
    ));
    // Another issuer's serial is not this one's.
    add_ca(&*store, "ca2");
    assert!(matches!(
        store.accept_certificate("ca2", &s, t(10)),
        Err(Error::NotFound(_))
    ));
}

pub(crate) fn publication_is_withdrawn_and_restored(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let s = serial(1);
    issue(&*store, "ca", &s, "CN=a", &[]);
    assert_eq!(store.unpublished_at("ca", &s).unwrap(), None);
    assert!(
        !store.set_published("ca", &s, true, t(5)).unwrap(),
        "published already"
    );
    assert!(store.set_published("ca", &s, false, t(10)).unwrap());
    assert!(
        !store.set_published("ca", &s, false, t(20)).unwrap(),
        "once"
    );
    assert_eq!(store.unpublished_at("ca", &s).unwrap(), Some(t(10)));
    assert!(store.set_published("ca", &s, true, t(30)).unwrap());
    assert_eq!(store.unpublished_at("ca", &s).unwrap(), None);
    for publish in [false, true] {
        assert!(matches!(
            store.set_published("ca", &serial(2), publish, t(10)),
            Err(Error::NotFound(_))
        ));
    }
    assert!(matches!(
        store.unpublished_at("ca", &serial(2)),
        Err(Error::NotFound(_))
    ));
    add_ca(&*store, "ca2");
    assert!(matches!(
        store.set_published("ca2", &s, false, t(10)),
        Err(Error::NotFound(_))
    ));
}

pub(crate) fn hold_can_be_lifted(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let s = serial(1);
    issue(&*store, "ca", &s, "CN=a", &[]);
    store
        .revoke("ca", &s, RevocationReason::CertificateHold, t(10), None)
        .unwrap();
    assert_eq!(store.list_revoked("ca").unwrap().len(), 1);
    assert_eq!(store.is_revoked("ca", &s).unwrap(), Some(true));
    // A hold is a revocation record like any other until lifted.
    match store.revoke("ca", &s, RevocationReason::KeyCompromise, t(11), None) {
        Err(Error::AlreadyRevoked { revocation, .. }) => {
            assert_eq!(revocation.reason, RevocationReason::CertificateHold);
            assert_eq!(revocation.revoked_at, t(10));
        }
        other => panic!("expected AlreadyRevoked, got {other:?}"),
    }
    store.unrevoke("ca", &s).unwrap();
    assert_eq!(store.is_revoked("ca", &s).unwrap(), Some(false));
    let rec = store.get_cert("ca", &s).unwrap().unwrap();
    assert_eq!(rec.status(), CertStatus::Issued);
    assert_eq!(rec.revocation(), None);
    assert!(store.list_revoked("ca").unwrap().is_empty());
    assert!(matches!(
        store.unrevoke("ca", &s),
        Err(Error::InvalidState(_))
    ));
    // Once lifted it can be revoked for good.
    store
        .revoke("ca", &s, RevocationReason::KeyCompromise, t(20), None)
        .unwrap();
    assert!(matches!(
        store.unrevoke("ca", &s),
        Err(Error::InvalidState(_))
    ));
    assert_eq!(
        store.list_revoked("ca").unwrap()[0].revocation.reason,
        RevocationReason::KeyCompromise
    );
}

pub(crate) fn revocation_epoch_counts_changes(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    add_ca(&*store, "other");
    let s = serial(1);
    issue(&*store, "ca", &s, "CN=a", &[]);
    assert_eq!(store.revocation_epoch("ca").unwrap(), 0);
    store
        .revoke("ca", &s, RevocationReason::CertificateHold, t(10), None)
        .unwrap();
    assert_eq!(store.revocation_epoch("ca").unwrap(), 1);
    // A refused revocation changes nothing.
    assert!(
        store
            .revoke("ca", &s, RevocationReason::KeyCompromise, t(11), None)
            .is_err()
    );
    assert_eq!(store.revocation_epoch("ca").unwrap(), 1);
    store.unrevoke("ca", &s).unwrap();
    assert_eq!(store.revocation_epoch("ca").unwrap(), 2);
    assert_eq!(store.revocation_epoch("other").unwrap(), 0);
}

// ---------------------------------------------------------------- clients

pub(crate) fn clients_by_subject_and_backfill(fx: &dyn Fixture) {
    let store = fx.open();
    let mut a = new_client("a", b"cert a", ClientRole::Client);
    a.names = Some("{\"dns\":[\"a.example\"]}".into());
    store.add_client(&a, t(1)).unwrap();
    store
        .add_client(&new_client("b", b"cert b", ClientRole::Ra), t(1))
        .unwrap();
    let found = store.find_clients_by_subject("CN=a").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "a");
    assert_eq!(found[0].subject.as_deref(), Some("CN=a"));
    assert_eq!(found[0].names, a.names);
    assert!(store.find_clients_by_subject("CN=c").unwrap().is_empty());
    // A subject already known is kept.
    store.set_client_subject("a", "CN=other").unwrap();
    assert_eq!(
        store.get_client("a").unwrap().unwrap().subject.as_deref(),
        Some("CN=a")
    );
    assert!(matches!(
        store.set_client_subject("nobody", "CN=x"),
        Err(Error::NotFound(_))
    ));
}

fn new_client(id: &str, cert: &[u8], role: ClientRole) -> NewClient {
    NewClient {
        id: id.into(),
        cert_der: cert.to_vec(),
        role,
        grants: vec![
            Grant {
                ca: Scope::Named("ca".into()),
                profile: Scope::Named("tls".into()),
            },
            Grant {
                ca: Scope::Any,
                profile: Scope::Named("smime".into()),
            },
            Grant {
                ca: Scope::Named("other".into()),
                profile: Scope::Any,
            },
        ],
        expires_at: Some(t(1000)),
        subject: format!("CN={id}"),
        names: None,
        mac: None,
    }
}

pub(crate) fn confirmations_wait_settle_once_and_fall_due(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let signer = fingerprint(b"cmp client");
    let new = |tx: &[u8], serial: u8, deadline: i64| NewConfirmation {
        signer,
        transaction_id: tx.to_vec(),
        ca: "ca".into(),
        serial: Serial::from_be_bytes(&[serial; 8]).unwrap(),
        cert_req_id: 0,
        deadline: t(deadline),
    };
    store
        .await_confirmation(&new(b"tx-1", 1, 100), t(10))
        .unwrap();
    store
        .await_confirmation(&new(b"tx-2", 2, 50), t(10))
        .unwrap();
    // One waiting certificate per transaction.
    assert!(matches!(
        store.await_confirmation(&new(b"tx-1", 3, 100), t(11)),
        Err(Error::AlreadyExists(_))
    ));
    let rec = store.get_confirmation(&signer, b"tx-1").unwrap().unwrap();
    assert_eq!(rec.state, ConfirmationState::Waiting);
    assert_eq!(rec.serial, Serial::from_be_bytes(&[1; 8]).unwrap());
    assert_eq!(rec.deadline, t(100));
    assert_eq!(store.get_confirmation(&signer, b"tx-9").unwrap(), None);

    // Due: only waiting ones past their deadline, oldest first.
    assert!(store.overdue_confirmations(t(49), 10).unwrap().is_empty());
    let due = store.overdue_confirmations(t(100), 10).unwrap();
    let txs: Vec<&[u8]> = due.iter().map(|r| r.transaction_id.as_slice()).collect();
    assert_eq!(txs, [&b"tx-2"[..], &b"tx-1"[..]]);
    assert_eq!(store.overdue_confirmations(t(100), 1).unwrap().len(), 1);

    // Settled once: the second settlement (another node) does nothing.
    assert!(
        store
            .settle_confirmation(&signer, b"tx-1", ConfirmationState::Confirmed, t(20))
            .unwrap()
    );
    assert!(
        !store
            .settle_confirmation(&signer, b"tx-1", ConfirmationState::Expired, t(21))
            .unwrap()
    );
    let rec = store.get_confirmation(&signer, b"tx-1").unwrap().unwrap();
    assert_eq!(rec.state, ConfirmationState::Confirmed);
    assert_eq!(rec.settled_at, Some(t(20)));
    assert!(matches!(
        store.settle_confirmation(&signer, b"tx-9", ConfirmationState::Confirmed, t(20)),
        Err(Error::NotFound(_))
    ));
    let due = store.overdue_confirmations(t(100), 10).unwrap();
    assert_eq!(due.len(), 1, "a settled record is not due");

    // A settled transaction may wait again; the purge drops settled records
    // past their deadline only.
    store
        .await_confirmation(&new(b"tx-1", 4, 200), t(30))
        .unwrap();
    assert!(
        store
            .settle_confirmation(&signer, b"tx-2", ConfirmationState::Expired, t(60))
            .unwrap()
    );
    store.purge_expired(t(150)).unwrap();
    assert!(store.get_confirmation(&signer, b"tx-2").unwrap().is_none());
    assert_eq!(
        store
            .get_confirmation(&signer, b"tx-1")
            .unwrap()
            .unwrap()
            .state,
        ConfirmationState::Waiting
    );
}

pub(crate) fn mac_credentials_are_found_by_reference(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let mut ra = new_client("ra-mac", b"ra mac cert", ClientRole::Ra);
    ra.mac = Some(MacCredential {
        reference: "1234".into(),
        sealed_secret: b"sealed one".to_vec(),
    });
    let added = store.add_client(&ra, t(1)).unwrap();
    assert_eq!(added.mac_reference.as_deref(), Some("1234"));
    let (found, sealed) = store.get_client_by_mac_reference("1234").unwrap().unwrap();
    assert_eq!(found, added);
    assert_eq!(sealed, b"sealed one");
    assert_eq!(store.get_client("ra-mac").unwrap().unwrap(), added);
    assert!(store.get_client_by_mac_reference("4321").unwrap().is_none());

    // Clients without a credential do not collide on the absent reference.
    store
        .add_client(&new_client("plain-1", b"plain 1", ClientRole::Client), t(2))
        .unwrap();
    store
        .add_client(&new_client("plain-2", b"plain 2", ClientRole::Client), t(2))
        .unwrap();
    // A reference is one client's.
    let mut twin = new_client("ra-twin", b"ra twin cert", ClientRole::Ra);
    twin.mac = Some(MacCredential {
        reference: "1234".into(),
        sealed_secret: b"sealed two".to_vec(),
    });
    assert!(matches!(
        store.add_client(&twin, t(3)),
        Err(Error::AlreadyExists(_))
    ));
    assert!(
        store.get_client("ra-twin").unwrap().is_none(),
        "nothing half-written"
    );

    // A one-time secret keeps its sealed form beside the derived keys.
    let mut s = secret("ca", "one-time", 100);
    s.mac_secret = Some(b"sealed secret".to_vec());
    store.add_secret(&s, t(4)).unwrap();
    let got = store.get_secret("ca", "one-time").unwrap().unwrap();
    assert_eq!(got.mac_secret.as_deref(), Some(&b"sealed secret"[..]));
    store
        .add_secret(&secret("ca", "hash-only", 100), t(4))
        .unwrap();
    assert_eq!(
        store
            .get_secret("ca", "hash-only")
            .unwrap()
            .unwrap()
            .mac_secret,
        None
    );
}

pub(crate) fn clients_add_get_list_disable(fx: &dyn Fixture) {
    let store = fx.open();
    let added = store
        .add_client(&new_client("ra-1", b"ra cert", ClientRole::Ra), t(1))
        .unwrap();
    assert_eq!(added.fingerprint, fingerprint(b"ra cert"));
    assert_eq!(added.created_at, t(1));
    assert_eq!(added.disabled_at, None);

    let by_id = store.get_client("ra-1").unwrap().unwrap();
    assert_eq!(by_id, added);
    let by_fp = store
        .get_client_by_fingerprint(&fingerprint(b"ra cert"))
        .unwrap()
        .unwrap();
    assert_eq!(by_fp, added);
    assert_eq!(by_fp.grants.len(), 3);
    assert!(by_fp.may_use("ca", "tls"));
    assert!(by_fp.may_use("anything", "smime"));
    assert!(by_fp.may_use("other", "whatever"));
    assert!(!by_fp.may_use("ca", "codesign"));
    assert!(by_fp.is_active(t(999)));
    assert!(!by_fp.is_active(t(1000)), "expired by the injected time");
    assert_eq!(store.get_client("nobody").unwrap(), None);
    assert_eq!(
        store
            .get_client_by_fingerprint(&fingerprint(b"unknown"))
            .unwrap(),
        None
    );

    let mut agent = new_client("agent-1", b"agent cert", ClientRole::Agent);
    agent.grants = vec![];
    agent.expires_at = None;
    store.add_client(&agent, t(2)).unwrap();
    store
        .add_client(&new_client("c-1", b"client cert", ClientRole::Client), t(3))
        .unwrap();

    let first = store.list_clients(PageRequest::first(2)).unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        vec!["ra-1", "agent-1"]
    );
    let second = store
        .list_clients(PageRequest::after(first.next.unwrap(), 2))
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].id, "c-1");
    assert_eq!(second.items[0].role, ClientRole::Client);
    assert_eq!(second.next, None);

    store.disable_client("agent-1", t(10)).unwrap();
    store.disable_client("agent-1", t(20)).unwrap();
    let disabled = store.get_client("agent-1").unwrap().unwrap();
    assert_eq!(
        disabled.disabled_at,
        Some(t(10)),
        "first disable time stays"
    );
    assert!(!disabled.is_active(t(11)));
    assert!(matches!(
        store.disable_client("nobody", t(1)),
        Err(Error::NotFound(_))
    ));
}

pub(crate) fn client_uniqueness(fx: &dyn Fixture) {
    let store = fx.open();
    store
        .add_client(&new_client("a", b"cert a", ClientRole::Client), t(0))
        .unwrap();
    // Same id, other certificate.
    assert!(matches!(
        store.add_client(&new_client("a", b"cert b", ClientRole::Client), t(0)),
        Err(Error::AlreadyExists(_))
    ));
    // Same certificate (fingerprint), other id.
    assert!(matches!(
        store.add_client(&new_client("b", b"cert a", ClientRole::Ra), t(0)),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(store.get_client("b").unwrap(), None, "nothing half-added");
    assert_eq!(
        store
            .list_clients(PageRequest::first(10))
            .unwrap()
            .items
            .len(),
        1
    );
}

// ---------------------------------------------------------------- secrets

pub(crate) fn pending_claims_exclude_other_decisions(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "a");
    store
        .create_pending(&pending("p1", "a", "x"), t(1))
        .unwrap();
    store.claim_pending("p1", "claim-1", t(100), t(10)).unwrap();
    // While claimed: no other claim, approval or rejection.
    assert!(matches!(
        store.claim_pending("p1", "claim-2", t(100), t(11)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.approve_pending("p1", "agent-2", &serial(5), None, Some("claim-2"), t(11)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.reject_pending("p1", "agent-2", "no", t(11)),
        Err(Error::InvalidState(_))
    ));
    // Released, it can be claimed again; an expired claim no longer counts.
    store.release_pending("p1", "claim-1").unwrap();
    store.claim_pending("p1", "claim-2", t(50), t(12)).unwrap();
    store.claim_pending("p1", "claim-3", t(200), t(50)).unwrap();
    // The claimer decides.
    store
        .approve_pending("p1", "agent-3", &serial(6), None, Some("claim-3"), t(60))
        .unwrap();
    assert_eq!(
        store.get_pending("p1").unwrap().unwrap().state,
        PendingState::Approved(serial(6))
    );
    assert!(matches!(
        store.claim_pending("p1", "claim-4", t(300), t(61)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.claim_pending("nope", "claim-4", t(300), t(61)),
        Err(Error::NotFound(_))
    ));
}

pub(crate) fn auto_approvals_are_taken_once_each(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    add_ca(&*store, "other");
    assert_eq!(store.auto_approvals("ca").unwrap(), None);
    assert!(!store.take_auto_approval("ca").unwrap());
    store.set_auto_approvals("ca", 2).unwrap();
    assert!(matches!(
        store.set_auto_approvals("ca", 5),
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(
        store.set_auto_approvals("nope", 1),
        Err(Error::NotFound(_))
    ));
    assert!(store.take_auto_approval("ca").unwrap());
    assert_eq!(store.auto_approvals("ca").unwrap(), Some((2, 1, false)));
    assert!(store.take_auto_approval("ca").unwrap());
    assert!(!store.take_auto_approval("ca").unwrap());
    assert_eq!(store.auto_approvals("ca").unwrap(), Some((2, 0, false)));
    // One given back (its issuance failed), never above the grant.
    store.return_auto_approval("ca").unwrap();
    assert_eq!(store.auto_approvals("ca").unwrap(), Some((2, 1, false)));
    store.return_auto_approval("ca").unwrap();
    store.return_auto_approval("ca").unwrap();
    assert_eq!(store.auto_approvals("ca").unwrap(), Some((2, 2, false)));
    // Locking stops what is left.
    store.set_auto_approvals("other", 3).unwrap();
    store.lock_auto_approvals("other").unwrap();
    assert!(!store.take_auto_approval("other").unwrap());
    assert_eq!(store.auto_approvals("other").unwrap(), Some((3, 3, true)));
    store.return_auto_approval("nope").unwrap();
    assert!(matches!(
        store.lock_auto_approvals("nope"),
        Err(Error::NotFound(_))
    ));
}

pub(crate) fn secret_is_consumed_once(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    add_ca(&*store, "ca2");
    store.add_secret(&secret("ca", "alice", 100), t(0)).unwrap();
    let rec = store.get_secret("ca", "alice").unwrap().unwrap();
    assert_eq!(rec.derived_key, vec![0xaa; 32]);
    assert_eq!(rec.link_key, Some(vec![0xbb; 32]));
    assert_eq!(rec.hash_alg, "sha256");
    assert_eq!(rec.purpose, SecretPurpose::Enroll);
    assert_eq!(rec.profile.as_deref(), Some("tls"));
    assert_eq!((rec.created_at, rec.expires_at), (t(0), t(100)));
    assert_eq!(
        (rec.used_at, rec.failed_attempts, rec.locked),
        (None, 0, false)
    );
    assert!(!format!("{rec:?}").contains("170"), "Debug hides the key");

    assert!(matches!(
        store.add_secret(&secret("ca", "alice", 100), t(0)),
        Err(Error::AlreadyExists(_))
    ));
    store
        .add_secret(&secret("ca2", "alice", 100), t(0))
        .unwrap();
    assert!(matches!(
        store.add_secret(&secret("nope", "alice", 100), t(0)),
        Err(Error::NotFound(_))
    ));

    let used = store.consume_secret("ca", "alice", t(5)).unwrap();
    assert_eq!(used.used_at, Some(t(5)));
    assert!(matches!(
        store.consume_secret("ca", "alice", t(6)),
        Err(Error::SecretUsed)
    ));
    assert_eq!(
        store.get_secret("ca", "alice").unwrap().unwrap().used_at,
        Some(t(5))
    );
    // The other CA's secret of the same name is untouched.
    store.consume_secret("ca2", "alice", t(7)).unwrap();
    assert!(matches!(
        store.consume_secret("ca", "bob", t(6)),
        Err(Error::NotFound(_))
    ));

    let revoke = NewSecret {
        purpose: SecretPurpose::Revoke {
            issuer: "ca".into(),
            serial: serial(42),
        },
        profile: None,
        ..secret("ca", "revoke-42", 100)
    };
    store.add_secret(&revoke, t(0)).unwrap();
    assert_eq!(
        store
            .get_secret("ca", "revoke-42")
            .unwrap()
            .unwrap()
            .purpose,
        revoke.purpose
    );
    let listed = store.list_secrets(Some("ca")).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|s| s.identification.as_str())
            .collect::<Vec<_>>(),
        vec!["alice", "revoke-42"]
    );
    assert_eq!(store.list_secrets(None).unwrap().len(), 3);
    assert_eq!(store.get_secret("ca", "nobody").unwrap(), None);
}

pub(crate) fn secret_locks_after_failures(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    store.add_secret(&secret("ca", "s", 100), t(0)).unwrap();
    for n in 1..3 {
        let f = store.record_secret_failure("ca", "s", 3).unwrap();
        assert_eq!((f.failed_attempts, f.locked), (n, false));
    }
    let f = store.record_secret_failure("ca", "s", 3).unwrap();
    assert_eq!((f.failed_attempts, f.locked), (3, true));
    assert!(matches!(
        store.consume_secret("ca", "s", t(1)),
        Err(Error::SecretLocked)
    ));
    // A higher threshold later does not unlock it.
    let f = store.record_secret_failure("ca", "s", 10).unwrap();
    assert_eq!((f.failed_attempts, f.locked), (4, true));
    let rec = store.get_secret("ca", "s").unwrap().unwrap();
    assert!(rec.locked);
    assert_eq!(rec.used_at, None);
    assert!(matches!(
        store.record_secret_failure("ca", "nobody", 3),
        Err(Error::NotFound(_))
    ));
}

pub(crate) fn secret_release_and_unlock(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    let mut s = secret("ca", "s", 100);
    s.names = Some("{\"subject\":\"CN=s\"}".into());
    store.add_secret(&s, t(0)).unwrap();
    assert_eq!(store.get_secret("ca", "s").unwrap().unwrap().names, s.names);
    store.consume_secret("ca", "s", t(5)).unwrap();
    // Only the consumption that happened at that time is given back.
    assert!(matches!(
        store.release_secret("ca", "s", t(6)),
        Err(Error::NotFound(_))
    ));
    store.release_secret("ca", "s", t(5)).unwrap();
    assert_eq!(store.get_secret("ca", "s").unwrap().unwrap().used_at, None);
    store.consume_secret("ca", "s", t(7)).unwrap();
    // Unlocking clears the count and the lock, not the use.
    for _ in 0..3 {
        store.record_secret_failure("ca", "s", 3).unwrap();
    }
    store.unlock_secret("ca", "s").unwrap();
    let rec = store.get_secret("ca", "s").unwrap().unwrap();
    assert_eq!((rec.locked, rec.failed_attempts), (false, 0));
    assert_eq!(rec.used_at, Some(t(7)));
    assert!(matches!(
        store.unlock_secret("ca", "nobody"),
        Err(Error::NotFound(_))
    ));
}

pub(crate) fn secret_revocation_ends_it_now(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    store.add_secret(&secret("ca", "s", 100), t(0)).unwrap();
    store.add_secret(&secret("ca", "spent", 100), t(0)).unwrap();
    store
        .add_secret(&secret("ca", "locked", 100), t(0))
        .unwrap();
    store.revoke_secret("ca", "s", t(10)).unwrap();
    let rec = store.get_secret("ca", "s").unwrap().unwrap();
    assert_eq!((rec.expires_at, rec.used_at), (t(10), None));
    assert!(matches!(
        store.consume_secret("ca", "s", t(10)),
        Err(Error::SecretExpired)
    ));
    // Unlocking does not bring a revoked secret back.
    store.unlock_secret("ca", "s").unwrap();
    assert!(matches!(
        store.consume_secret("ca", "s", t(11)),
        Err(Error::SecretExpired)
    ));
    // Revoked twice: it had ended already, and stays ended at the first time.
    assert!(matches!(
        store.revoke_secret("ca", "s", t(12)),
        Err(Error::SecretExpired)
    ));
    assert_eq!(
        store.get_secret("ca", "s").unwrap().unwrap().expires_at,
        t(10)
    );
    store.consume_secret("ca", "spent", t(3)).unwrap();
    assert!(matches!(
        store.revoke_secret("ca", "spent", t(4)),
        Err(Error::SecretUsed)
    ));
    assert_eq!(
        store.get_secret("ca", "spent").unwrap().unwrap().expires_at,
        t(100)
    );
    // A locked secret can be revoked.
    for _ in 0..3 {
        store.record_secret_failure("ca", "locked", 3).unwrap();
    }
    store.revoke_secret("ca", "locked", t(5)).unwrap();
    assert!(matches!(
        store.revoke_secret("ca", "nobody", t(5)),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.revoke_secret("other", "s", t(5)),
        Err(Error::NotFound(_))
    ));
}

pub(crate) fn engine_key_is_shared(fx: &dyn Fixture) {
    let store = fx.open();
    let first = store.engine_key("pop", &[1; 32], t(0)).unwrap();
    assert_eq!(first, vec![1; 32]);
    // A later candidate loses to the stored key, on any instance.
    assert_eq!(store.engine_key("pop", &[2; 32], t(1)).unwrap(), first);
    assert_eq!(fx.open().engine_key("pop", &[3; 32], t(2)).unwrap(), first);
    assert_eq!(
        store.engine_key("other", &[4; 32], t(3)).unwrap(),
        vec![4; 32]
    );
}

pub(crate) fn secret_expires_by_injected_time(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    store.add_secret(&secret("ca", "late", 100), t(0)).unwrap();
    store.add_secret(&secret("ca", "early", 100), t(0)).unwrap();
    assert!(matches!(
        store.consume_secret("ca", "late", t(100)),
        Err(Error::SecretExpired)
    ));
    assert_eq!(
        store.get_secret("ca", "late").unwrap().unwrap().used_at,
        None
    );
    store.consume_secret("ca", "early", t(99)).unwrap();
}

// ---------------------------------------------------------------- replay

pub(crate) fn nonces_refuse_replay_until_expiry(fx: &dyn Fixture) {
    let store = fx.open();
    let alice = fingerprint(b"alice");
    let bob = fingerprint(b"bob");
    store.remember_nonce(&alice, b"n1", t(100), t(0)).unwrap();
    assert!(matches!(
        store.remember_nonce(&alice, b"n1", t(200), t(50)),
        Err(Error::Replay)
    ));
    store.remember_nonce(&bob, b"n1", t(100), t(0)).unwrap();
    store.remember_nonce(&alice, b"n2", t(100), t(0)).unwrap();
    // Expired (not yet purged) records no longer count.
    store.remember_nonce(&alice, b"n1", t(300), t(100)).unwrap();
    assert!(matches!(
        store.remember_nonce(&alice, b"n1", t(400), t(299)),
        Err(Error::Replay)
    ));
    assert!(matches!(
        store.remember_nonce(&alice, b"", t(1), t(0)),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        store.remember_nonce(&alice, &[0; 513], t(1), t(0)),
        Err(Error::Invalid(_))
    ));
    // At t(150): bob/n1 and alice/n2 are expired; alice/n1 lives to t(300).
    assert_eq!(store.purge_expired(t(150)).unwrap(), 2);
    assert!(matches!(
        store.remember_nonce(&alice, b"n1", t(400), t(150)),
        Err(Error::Replay)
    ));
    store.remember_nonce(&alice, b"n2", t(400), t(150)).unwrap();
}

pub(crate) fn transactions_recur_across_rounds(fx: &dyn Fixture) {
    let store = fx.open();
    let signer = fingerprint(b"ra");
    let tx = b"\x01\x02\x03";
    let TransactionOpen::Started(first) =
        store.open_transaction(&signer, tx, t(100), t(0)).unwrap()
    else {
        panic!("first round must start the transaction");
    };
    assert_eq!(first.state, TransactionState::Open);
    assert_eq!(
        (first.created_at, first.updated_at, first.expires_at),
        (t(0), t(0), t(100))
    );
    assert_eq!(first.signer, signer);
    assert_eq!(first.transaction_id, tx.to_vec());

    store
        .set_transaction_state(
            &signer,
            tx,
            &TransactionState::Pending("p-1".into()),
            t(200),
            t(5),
        )
        .unwrap();
    match store.open_transaction(&signer, tx, t(300), t(10)).unwrap() {
        TransactionOpen::Existing(rec) => {
            assert_eq!(rec.state, TransactionState::Pending("p-1".into()));
            assert_eq!(
                (rec.created_at, rec.updated_at, rec.expires_at),
                (t(0), t(5), t(200))
            );
        }
        other => panic!("second round must find the first, got {other:?}"),
    }
    // Another signer with the same id is another transaction.
    assert!(matches!(
        store
            .open_transaction(&fingerprint(b"other"), tx, t(100), t(10))
            .unwrap(),
        TransactionOpen::Started(_)
    ));
    store
        .set_transaction_state(&signer, tx, &TransactionState::Completed, t(200), t(20))
        .unwrap();
    assert_eq!(
        store.get_transaction(&signer, tx).unwrap().unwrap().state,
        TransactionState::Completed
    );
    store
        .set_transaction_state(&signer, tx, &TransactionState::Failed, t(200), t(21))
        .unwrap();
    assert_eq!(
        store.get_transaction(&signer, tx).unwrap().unwrap().state,
        TransactionState::Failed
    );
    // After expiry the id starts afresh.
    assert!(matches!(
        store.open_transaction(&signer, tx, t(500), t(200)).unwrap(),
        TransactionOpen::Started(r) if r.created_at == t(200) && r.state == TransactionState::Open
    ));
    assert!(matches!(
        store.set_transaction_state(&signer, b"nope", &TransactionState::Completed, t(1), t(1)),
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.get_transaction(&signer, b"nope").unwrap(), None);
    assert!(matches!(
        store.open_transaction(&signer, b"", t(1), t(0)),
        Err(Error::Invalid(_))
    ));
    // Purge: the other signer's record expired at t(100).
    assert_eq!(store.purge_expired(t(400)).unwrap(), 1);
    assert!(store.get_transaction(&signer, tx).unwrap().is_some());
}

// ---------------------------------------------------------------- pending

pub(crate) fn pending_lifecycle_and_counts(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "a");
    add_ca(&*store, "b");
    store
        .create_pending(&pending("p1", "a", "x"), t(1))
        .unwrap();
    store
        .create_pending(&pending("p2", "a", "x"), t(2))
        .unwrap();
    store
        .create_pending(&pending("p3", "a", "y"), t(3))
        .unwrap();
    store
        .create_pending(&pending("p4", "b", "x"), t(4))
        .unwrap();
    assert!(matches!(
        store.create_pending(&pending("p1", "a", "x"), t(5)),
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(
        store.create_pending(&pending("p9", "nope", "x"), t(5)),
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.count_pending_for_ca("a").unwrap(), 3);
    assert_eq!(store.count_pending_for_ca("b").unwrap(), 1);
    assert_eq!(store.count_pending_for_client("x").unwrap(), 3);
    assert_eq!(store.count_pending_for_client("z").unwrap(), 0);

    let p1 = store.get_pending("p1").unwrap().unwrap();
    assert_eq!(p1.state, PendingState::Pending);
    assert_eq!(
        (p1.ca.as_str(), p1.client.as_str(), p1.profile.as_str()),
        ("a", "x", "tls")
    );
    assert_eq!(p1.request_der, vec![0x30, 0x03, 0x02, 0x01, 0x01]);
    assert_eq!((p1.body_part_id, p1.created_at), (7, t(1)));
    assert_eq!(
        (p1.decided_by, p1.decided_at, p1.replacement_template_der),
        (None, None, None)
    );

    store
        .approve_pending("p1", "agent-1", &serial(77), Some(b"template"), None, t(10))
        .unwrap();
    let p1 = store.get_pending("p1").unwrap().unwrap();
    assert_eq!(p1.state, PendingState::Approved(serial(77)));
    assert_eq!(p1.status(), PendingStatus::Approved);
    assert_eq!(p1.decided_by.as_deref(), Some("agent-1"));
    assert_eq!(p1.decided_at, Some(t(10)));
    assert_eq!(p1.replacement_template_der, Some(b"template".to_vec()));
    assert!(matches!(
        store.approve_pending("p1", "agent-2", &serial(78), None, None, t(11)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.reject_pending("p1", "agent-2", "no", t(11)),
        Err(Error::InvalidState(_))
    ));

    store
        .reject_pending("p2", "agent-2", "not allowed", t(12))
        .unwrap();
    let p2 = store.get_pending("p2").unwrap().unwrap();
    assert_eq!(p2.state, PendingState::Rejected("not allowed".into()));
    assert_eq!(p2.decided_at, Some(t(12)));
    assert!(matches!(
        store.approve_pending("p2", "agent-1", &serial(79), None, None, t(13)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        store.approve_pending("nope", "agent-1", &serial(79), None, None, t(13)),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.reject_pending("nope", "agent-1", "r", t(13)),
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.get_pending("nope").unwrap(), None);

    assert_eq!(store.count_pending_for_ca("a").unwrap(), 1);
    assert_eq!(store.count_pending_for_client("x").unwrap(), 1);

    let ids = |f: PendingFilter, limit: u32| -> Vec<String> {
        store
            .list_pending(&f, PageRequest::first(limit))
            .unwrap()
            .items
            .into_iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(
        ids(PendingFilter::default(), 10),
        vec!["p1", "p2", "p3", "p4"]
    );
    assert_eq!(
        ids(
            PendingFilter {
                status: Some(PendingStatus::Pending),
                ..Default::default()
            },
            10
        ),
        vec!["p3", "p4"]
    );
    assert_eq!(
        ids(
            PendingFilter {
                ca: Some("a".into()),
                client: Some("x".into()),
                ..Default::default()
            },
            10
        ),
        vec!["p1", "p2"]
    );
    let first = store
        .list_pending(&PendingFilter::default(), PageRequest::first(3))
        .unwrap();
    let rest = store
        .list_pending(
            &PendingFilter::default(),
            PageRequest::after(first.next.unwrap(), 3),
        )
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].id, "p4");
    assert_eq!(rest.next, None);
}

// ---------------------------------------------------------------- CRLs

pub(crate) fn crl_numbers_and_latest_crl(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "a");
    add_ca(&*store, "b");
    assert_eq!(store.next_crl_number("a").unwrap(), 1);
    assert_eq!(store.next_crl_number("a").unwrap(), 2);
    assert_eq!(store.next_crl_number("b").unwrap(), 1);
    assert_eq!(store.next_crl_number("a").unwrap(), 3);
    assert!(matches!(
        store.next_crl_number("nope"),
        Err(Error::NotFound(_))
    ));

    assert_eq!(store.latest_crl("a").unwrap(), None);
    let crl = |n: u64| CrlRecord {
        issuer: "a".into(),
        crl_number: n,
        der: format!("crl {n}").into_bytes(),
        this_update: t(i64::try_from(n).unwrap() * 10),
        next_update: t(i64::try_from(n).unwrap() * 10 + 3600),
    };
    assert!(store.store_crl(&crl(2)).unwrap());
    assert_eq!(store.latest_crl("a").unwrap(), Some(crl(2)));
    assert!(!store.store_crl(&crl(1)).unwrap(), "older CRL not stored");
    assert!(
        !store.store_crl(&crl(2)).unwrap(),
        "same number not stored twice"
    );
    assert_eq!(store.latest_crl("a").unwrap(), Some(crl(2)));
    assert!(store.store_crl(&crl(3)).unwrap());
    assert_eq!(store.latest_crl("a").unwrap(), Some(crl(3)));
    assert_eq!(store.latest_crl("b").unwrap(), None);
    let mut foreign = crl(1);
    foreign.issuer = "nope".into();
    assert!(matches!(store.store_crl(&foreign), Err(Error::NotFound(_))));
    let mut huge = crl(1);
    huge.crl_number = u64::MAX;
    assert!(matches!(store.store_crl(&huge), Err(Error::Invalid(_))));
}

// ---------------------------------------------------------------- audit

pub(crate) fn audit_log_append_and_filter(fx: &dyn Fixture) {
    let store = fx.open();
    let e1 = event(AuditKind::Issued, "a", Some(serial(1)), "alice", 10);
    let e2 = event(AuditKind::Revoked, "a", Some(serial(1)), "agent", 20);
    let mut e3 = event(AuditKind::Refused, "b", None, "mallory", 30);
    e3.outcome = Outcome::Failure;
    e3.profile = None;
    let e4 = AuditEvent {
        issuer: None,
        requester: None,
        ..event(AuditKind::Other("key-rollover".into()), "x", None, "x", 40)
    };
    let ids: Vec<i64> = [&e1, &e2, &e3, &e4]
        .iter()
        .map(|e| store.append_audit(e).unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    let all = store
        .list_audit(&AuditFilter::default(), PageRequest::first(10))
        .unwrap();
    assert_eq!(
        all.items
            .iter()
            .map(|r| r.event.clone())
            .collect::<Vec<_>>(),
        vec![e1.clone(), e2.clone(), e3.clone(), e4.clone()]
    );
    assert_eq!(all.items.iter().map(|r| r.id).collect::<Vec<_>>(), ids);

    let kinds = |f: AuditFilter| -> Vec<AuditKind> {
        store
            .list_audit(&f, PageRequest::first(10))
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.event.kind)
            .collect()
    };
    assert_eq!(
        kinds(AuditFilter {
            kind: Some(AuditKind::Revoked),
            ..Default::default()
        }),
        vec![AuditKind::Revoked]
    );
    assert_eq!(
        kinds(AuditFilter {
            issuer: Some("a".into()),
            serial: Some(serial(1)),
            ..Default::default()
        }),
        vec![AuditKind::Issued, AuditKind::Revoked]
    );
    assert_eq!(
        kinds(AuditFilter {
            requester: Some("mallory".into()),
            ..Default::default()
        }),
        vec![AuditKind::Refused]
    );
    assert_eq!(
        kinds(AuditFilter {
            since: Some(t(20)),
            until: Some(t(40)),
            ..Default::default()
        }),
        vec![AuditKind::Revoked, AuditKind::Refused]
    );
    assert_eq!(
        kinds(AuditFilter {
            kind: Some(AuditKind::Other("key-rollover".into())),
            ..Default::default()
        }),
        vec![AuditKind::Other("key-rollover".into())]
    );
    let page = store
        .list_audit(&AuditFilter::default(), PageRequest::first(3))
        .unwrap();
    let rest = store
        .list_audit(
            &AuditFilter::default(),
            PageRequest::after(page.next.unwrap(), 3),
        )
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].id, ids[3]);
}

// ---------------------------------------------------------------- schema

pub(crate) fn migrations_are_idempotent(fx: &dyn Fixture) {
    let first = fx.open();
    assert_eq!(first.schema_version().unwrap(), SCHEMA_VERSION);
    // One row per migration applied (the version numbers have a gap while
    // version 13 lands on another branch).
    let rows = fx.migration_rows();
    assert!(rows > 1 && rows <= SCHEMA_VERSION, "{rows}");
    add_ca(&*first, "ca");
    issue(&*first, "ca", &serial(1), "CN=kept", &[]);
    drop(first);

    let second = fx.open();
    let third = fx.open();
    assert_eq!(second.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(fx.migration_rows(), rows);
    let rec = third.get_cert("ca", &serial(1)).unwrap().unwrap();
    assert_eq!(rec.certificate().unwrap().subject, "CN=kept");
}

pub(crate) fn newer_schema_is_refused(fx: &dyn Fixture) {
    drop(fx.open());
    fx.record_migration(SCHEMA_VERSION + 1);
    match fx.try_open() {
        Err(Error::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

// ---------------------------------------------------------------- concurrency

/// Runs `f(instance, thread)` on 4 threads for each of two independent store
/// instances, all released at once.
fn on_two_instances<T: Send + 'static>(
    fx: &dyn Fixture,
    f: impl Fn(&dyn Store, usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let stores = [fx.open(), fx.open()];
    let barrier = Arc::new(Barrier::new(8));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            let f = f.clone();
            thread::spawn(move || {
                barrier.wait();
                f(&*store, i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

pub(crate) fn concurrent_serial_reservations_never_collide(fx: &dyn Fixture) {
    add_ca(&*fx.open(), "ca");
    const CANDIDATES: u64 = 24;
    // Every thread tries every candidate, each starting at another place.
    let granted = on_two_instances(fx, |store, i| {
        let mut mine = Vec::new();
        let mut refused = 0;
        for k in 0..CANDIDATES {
            let s = serial((k + 5 * i as u64) % CANDIDATES);
            let mut r = reservation("ca", &s);
            r.requester = format!("thread-{i}");
            match store.reserve_serial(&r, t(0)) {
                Ok(()) => mine.push(s),
                Err(Error::SerialInUse { .. }) => refused += 1,
                Err(e) => panic!("thread {i}: {e}"),
            }
        }
        (mine, refused)
    });
    let all: Vec<Serial> = granted.iter().flat_map(|(m, _)| m.clone()).collect();
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "a serial was granted twice");
    assert_eq!(all.len() as u64, CANDIDATES, "every candidate granted once");
    let refused: u64 = granted.iter().map(|(_, r)| *r).sum();
    assert_eq!(refused, 7 * CANDIDATES);
    // The database agrees on who got each.
    let store = fx.open();
    for (i, (mine, _)) in granted.iter().enumerate() {
        for s in mine {
            let rec = store.get_cert("ca", s).unwrap().unwrap();
            assert_eq!(rec.requester, format!("thread-{i}"));
        }
    }
}

pub(crate) fn concurrent_secret_consumption_succeeds_once(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    store
        .add_secret(&secret("ca", "one-time", 100), t(0))
        .unwrap();
    let results = on_two_instances(fx, |store, _| store.consume_secret("ca", "one-time", t(1)));
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::SecretUsed))),
        "{results:?}"
    );
}

pub(crate) fn concurrent_crl_numbers_strictly_increase(fx: &dyn Fixture) {
    add_ca(&*fx.open(), "ca");
    let per_thread = on_two_instances(fx, |store, _| {
        (0..10)
            .map(|_| store.next_crl_number("ca").unwrap())
            .collect::<Vec<_>>()
    });
    for nums in &per_thread {
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "{nums:?}");
    }
    let mut all: Vec<u64> = per_thread.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (1..=80).collect::<Vec<_>>());
}

pub(crate) fn concurrent_nonce_accepted_once(fx: &dyn Fixture) {
    let signer = fingerprint(b"client");
    let results = on_two_instances(fx, move |store, _| {
        store.remember_nonce(&signer, b"same nonce", t(100), t(0))
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::Replay)))
    );
}
