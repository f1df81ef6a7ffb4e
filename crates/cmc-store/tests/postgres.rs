//! The shared suite on PostgreSQL at `CMC_TEST_PG_URL`, each test in a fresh
//! schema (dropped afterwards), plus what only PostgreSQL has.
//!
//! Without `CMC_TEST_PG_URL` the tests print a skip line and pass, unless
//! `CI` is set: then they fail, so CI cannot skip them silently.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod suite;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cmc_store::{Error, Store};
use postgres::{Client, NoTls};
use suite::{Fixture, backend_tests};

struct PgFixture {
    base: String,
    schema: String,
    url: String,
}

fn base_url(test: &str) -> Option<String> {
    match std::env::var("CMC_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CMC_TEST_PG_URL is not set, and CI is: the PostgreSQL tests must run")
        }
        _ => {
            eprintln!("skipped {test}: CMC_TEST_PG_URL is not set (PostgreSQL tests not run)");
            None
        }
    }
}

impl PgFixture {
    fn new(test: &str) -> Option<Self> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let base = base_url(test)?;
        let schema = format!(
            "t{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            test.chars().take(30).collect::<String>()
        );
        Client::connect(&base, NoTls)
            .unwrap()
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
        Some(Self { base, schema, url })
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }
}

impl Drop for PgFixture {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.base, NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema));
        }
    }
}

impl Fixture for PgFixture {
    fn try_open(&self) -> Result<Arc<dyn Store>, Error> {
        cmc_store::open(&self.url)
    }

    fn record_migration(&self, version: i64) {
        self.client()
            .execute(
                "INSERT INTO schema_migrations (version, description) VALUES ($1, 'from the future')",
                &[&version],
            )
            .unwrap();
    }

    fn sql(&self, batch: &str) {
        self.client().batch_execute(batch).unwrap();
    }

    fn postgres(&self) -> bool {
        true
    }

    fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).unwrap().get(0)
    }

    fn refuse_audit_detail(&self, detail: &str) {
        self.client()
            .batch_execute(&format!(
                "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     IF NEW.detail = '{detail}' THEN
                         RAISE EXCEPTION 'refused by the test';
                     END IF;
                     RETURN NEW;
                 END $$;
                 CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log
                     FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
            ))
            .unwrap();
    }

    fn open_grouped(&self) -> Arc<dyn Store> {
        let options = cmc_store::OpenOptions {
            group_commit: Some(true),
            ..cmc_store::OpenOptions::default()
        };
        cmc_store::open_with(&self.url, &options).unwrap()
    }

    fn hold_writes(&self) -> Box<dyn std::any::Any> {
        let mut client = self.client();
        client
            .batch_execute("BEGIN; LOCK TABLE audit_log IN EXCLUSIVE MODE")
            .unwrap();
        // Dropping the client closes the session, which rolls back.
        Box::new(client)
    }
}

backend_tests!(PgFixture::new(TEST));

#[test]
fn both_url_schemes_connect() {
    let Some(fx) = PgFixture::new("both_url_schemes_connect") else {
        return;
    };
    let other = if fx.url.starts_with("postgresql://") {
        fx.url.replacen("postgresql://", "postgres://", 1)
    } else {
        fx.url.replacen("postgres://", "postgresql://", 1)
    };
    let a = fx.open();
    let b = cmc_store::open(&other).unwrap();
    suite::add_ca(&*a, "ca");
    assert!(b.get_ca("ca").unwrap().is_some());
}

#[test]
fn password_never_appears_in_errors() {
    // Nothing listens on port 1; the connection fails.
    let url = "postgresql://cmc:Sup3r-Secret_pw@127.0.0.1:1/cmc?connect_timeout=2";
    let err = cmc_store::open(url).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, Error::Backend(_)), "{text}");
    assert!(!text.contains("Sup3r-Secret_pw"), "{text}");
    let err =
        cmc_store::open("postgresql://cmc:Sup3r-Secret_pw@127.0.0.1/cmc?bogus=1").unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, Error::Invalid(_)), "{text}");
    assert!(!text.contains("Sup3r-Secret_pw"), "{text}");
}

#[test]
fn refused_inside_an_async_runtime() {
    let Some(fx) = PgFixture::new("refused_inside_an_async_runtime") else {
        return;
    };
    let store = fx.open();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let result = rt.block_on(async { store.get_ca("ca") });
    assert!(matches!(result, Err(Error::Backend(m)) if m.contains("spawn_blocking")));
    assert!(matches!(
        rt.block_on(async { cmc_store::open(&fx.url) }),
        Err(Error::Backend(_))
    ));
    // Dropping the last handle inside the runtime must not panic either.
    rt.block_on(async move { drop(store) });
}

#[test]
fn served_from_spawn_blocking_in_a_runtime() {
    let Some(fx) = PgFixture::new("served_from_spawn_blocking_in_a_runtime") else {
        return;
    };
    let store = fx.open();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let url = fx.url.clone();
    let (found, opened) = rt.block_on(async move {
        let found = tokio::task::spawn_blocking(move || store.get_ca("ca"))
            .await
            .unwrap();
        let opened = tokio::task::spawn_blocking(move || cmc_store::open(&url).map(drop))
            .await
            .unwrap();
        (found, opened)
    });
    assert!(matches!(found, Ok(None)), "{found:?}");
    assert!(opened.is_ok(), "{opened:?}");
}

#[test]
fn debug_output_hides_the_password() {
    let Some(fx) = PgFixture::new("debug_output_hides_the_password") else {
        return;
    };
    // The test server trusts loopback, so any password is accepted.
    let with_pw = fx.url.replacen("://cmc@", "://cmc:Debug-Pw-123@", 1);
    if with_pw == fx.url {
        eprintln!("skipped: CMC_TEST_PG_URL has no plain user@ part to add a password to");
        return;
    }
    let store = cmc_store::open(&with_pw).unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("Debug-Pw-123"), "{debug}");
    assert!(debug.contains("***"), "{debug}");
}

#[test]
fn recovers_after_the_server_drops_its_connections() {
    let Some(fx) = PgFixture::new("recovers_after_the_server_drops_its_connections") else {
        return;
    };
    let app = format!("cmc_store_recover_{}", std::process::id());
    let store = cmc_store::open(&format!("{}&application_name={app}", fx.url)).unwrap();
    suite::add_ca(&*store, "ca");
    let killed: i64 = fx
        .client()
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1",
            &[&app],
        )
        .unwrap()
        .get(0);
    assert!(killed >= 1);
    // The call on the dead connection may fail; the pool drops it and the
    // next call connects afresh.
    let mut failures = 0;
    let ca = loop {
        match store.get_ca("ca") {
            Ok(ca) => break ca,
            Err(Error::Backend(_)) if failures < 1 => failures += 1,
            Err(e) => panic!("did not recover: {e}"),
        }
    };
    assert!(ca.is_some());
}

/// How often the `indexes` of this fixture's schema were scanned, as
/// reported.
fn index_scans(fx: &PgFixture, indexes: &[&str]) -> i64 {
    fx.client()
        .query_one(
            "SELECT COALESCE(sum(idx_scan), 0)::bigint FROM pg_stat_user_indexes
             WHERE schemaname = current_schema() AND indexrelname = ANY($1)",
            &[&indexes],
        )
        .unwrap()
        .get(0)
}

/// Waits until the `indexes` have been scanned at least `n` times in all
/// (a backend reports its counts within seconds of going idle); fails
/// after 30 s.
fn await_index_scans(fx: &PgFixture, indexes: &[&str], n: i64) {
    for _ in 0..300 {
        if index_scans(fx, indexes) >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{indexes:?}: fewer than {n} scans reported within 30 s");
}

/// A new store has no statistics yet, and PostgreSQL's planner once found
/// the (CA, id) index as cheap as the unique (CA, serial) one for a
/// certificate's lookup: every revocation check and audit link walked all
/// of the CA's rows, for as long as autovacuum had not analysed the table
/// (schema 17). Lookups now read the unique index, pooled connections'
/// generic plans included; a search by CA still reads the CA index.
#[test]
fn fresh_store_reads_a_certificate_by_its_serial_index() {
    let Some(fx) = PgFixture::new("fresh_store_reads_by_serial") else {
        return;
    };
    let store = fx.open();
    suite::add_ca(&*store, "ca");
    let serials: Vec<_> = (0..20).map(suite::serial).collect();
    for (n, s) in serials.iter().enumerate() {
        suite::issue(&*store, "ca", s, &format!("CN=n{n}"), &[]);
    }
    // Well past the five executions after which a prepared statement may
    // keep a generic plan.
    for _ in 0..4 {
        for s in &serials {
            assert_eq!(store.is_revoked("ca", s).unwrap(), Some(false));
            assert!(store.get_cert("ca", s).unwrap().is_some());
        }
    }
    let by_ca = ["certificates_by_ca"];
    let lookups = 2 * 4 * i64::try_from(serials.len()).unwrap();
    await_index_scans(
        &fx,
        &["certificates_issuer_serial_key", "certificates_by_ca"],
        lookups,
    );
    assert_eq!(index_scans(&fx, &by_ca), 0, "lookups walked the CA index");

    let page = store
        .search_certs(
            &cmc_store::CertSearch {
                issuer: Some("ca".into()),
                ..Default::default()
            },
            cmc_store::Keyset::First,
            5,
        )
        .unwrap();
    assert_eq!(page.items.len(), 5);
    await_index_scans(&fx, &by_ca, 1);
}
