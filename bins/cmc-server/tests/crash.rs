//! Durability under a crash (issue 15): enrollments from several threads at
//! once against `cmc-server`, `kill -9` in the middle of the run, a restart
//! on the same data directory and store; then every certificate a client
//! received is in the store, issued, byte for byte, with its `issued` audit
//! event, and no serial was given twice (to the clients or in the store).
//! On the embedded default (SQLite) and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use cmc_store::{AuditFilter, AuditKind, PageRequest, Serial, Store};
use common::load::{Outcome, Ra, der_of, listed_statuses, post_cmc, send_concurrently, serial_hex};
use common::{Backend, TestStore, start, write_config};
use x509_cert::Certificate;

const CONFIG: &str = "[server]\nlisten = \"127.0.0.1:0\"\n";
/// Requests built for the run: many more than are answered before the kill.
const REQUESTS: usize = 600;
/// The kill is sent once this many requests have been answered.
const KILL_AFTER: usize = 80;
const THREADS: usize = 6;

#[test]
fn a_crash_mid_run_loses_no_issued_certificate() {
    crash_mid_run(
        Backend::Sqlite,
        "a_crash_mid_run_loses_no_issued_certificate",
    );
}

#[test]
fn a_crash_mid_run_loses_no_issued_certificate_on_postgresql() {
    crash_mid_run(
        Backend::Postgres,
        "a_crash_mid_run_loses_no_issued_certificate_on_postgresql",
    );
}

fn crash_mid_run(backend: Backend, test: &str) {
    let Some(store) = TestStore::new(backend, test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &format!("{}{CONFIG}", store.config_line));
    let server = start(tmp.path());
    let data = tmp.path().join("cmc-data");
    let ra = Ra::bootstrap(&data);
    let requests: Vec<Vec<u8>> = (0..REQUESTS)
        .map(|i| ra.request(&format!("crash-{i}")))
        .collect();

    // SIGKILL from a sending thread as soon as KILL_AFTER answers are in,
    // while the other threads have requests in flight.
    let pid = server.child.id().to_string();
    let killed = AtomicBool::new(false);
    let kill = |answered: usize| {
        if answered >= KILL_AFTER && !killed.swap(true, Ordering::SeqCst) {
            let status = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
            assert!(status.success());
        }
    };
    let target = [(server.addr.clone(), "/cmc/root".to_owned())];
    let answers = send_concurrently(&requests, &target, THREADS, &kill);
    assert!(
        killed.load(Ordering::SeqCst),
        "the run ended before the kill"
    );
    let mut server = server;
    assert_eq!(server.wait().signal(), Some(9));
    drop(server);

    // What the clients got: every answer is a verified success, or none.
    let mut received: BTreeMap<String, Certificate> = BTreeMap::new();
    let mut unanswered = 0;
    for (i, answer) in answers {
        match ra.outcome(answer) {
            Outcome::Issued(cert) => {
                let serial = serial_hex(&cert);
                assert!(
                    received.insert(serial.clone(), *cert).is_none(),
                    "serial {serial} was given to two clients"
                );
            }
            Outcome::Refused(fail) => panic!("request {i} was refused: {fail:?}"),
            Outcome::NoAnswer => unanswered += 1,
        }
    }
    assert!(received.len() >= KILL_AFTER, "{} issued", received.len());
    // The kill cut the run short: each thread stopped at a request the
    // server did not answer.
    assert!(
        (1..=THREADS).contains(&unanswered),
        "{unanswered} unanswered"
    );

    // The server restarts on the same directory and store, and issues
    // again, with a serial nobody has.
    let server = start(tmp.path());
    let path = "/cmc/root";
    match ra.outcome(post_cmc(&server.addr, path, &ra.request("after-crash"))) {
        Outcome::Issued(cert) => {
            let serial = serial_hex(&cert);
            assert!(
                received.insert(serial.clone(), *cert).is_none(),
                "serial {serial} was given again after the restart"
            );
        }
        other => panic!("after the restart: {other:?}"),
    }

    // The store's listing (through cmc-tool): no serial twice, and every
    // certificate a client received is there, issued.
    let statuses = listed_statuses(&config);
    for serial in received.keys() {
        assert_eq!(
            statuses.get(serial).map(String::as_str),
            Some("issued"),
            "serial {serial}"
        );
    }
    let mut by_status = BTreeMap::<&str, usize>::new();
    for status in statuses.values() {
        *by_status.entry(status).or_default() += 1;
    }
    eprintln!(
        "{test}: {} certificates received, {unanswered} requests unanswered; \
         the store lists {by_status:?}",
        received.len()
    );

    // Each one byte for byte, with its audit event.
    let url = cmc_server::config::Config::load(&config)
        .unwrap()
        .engine
        .store_url();
    let records = cmc_store::open(&url).unwrap();
    let audited = issued_events(records.as_ref());
    for (serial, cert) in &received {
        let id = Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes()).unwrap();
        let record = records.get_cert("root", &id).unwrap().unwrap();
        assert_eq!(
            record.certificate().map(|c| c.cert_der.clone()),
            Some(der_of(cert)),
            "serial {serial}"
        );
        assert!(audited.contains(serial), "no issued event for {serial}");
    }
    drop(records);
    server.terminate();
}

/// The serials of every `issued` audit event of CA `root`, each once.
fn issued_events(store: &dyn Store) -> BTreeSet<String> {
    let filter = AuditFilter {
        kind: Some(AuditKind::Issued),
        issuer: Some("root".to_owned()),
        ..AuditFilter::default()
    };
    let mut serials = BTreeSet::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = store.list_audit(&filter, page).unwrap();
        for record in got.items {
            let serial = record.event.serial.unwrap().to_hex();
            assert!(
                serials.insert(serial.clone()),
                "two issued events for {serial}"
            );
        }
        match got.next {
            Some(cursor) => page = PageRequest::after(cursor, PageRequest::MAX_LIMIT),
            None => return serials,
        }
    }
}
