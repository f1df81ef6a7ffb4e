//! Write units and the group commit: concurrent units share commits, a
//! refused unit fails alone and leaves nothing behind, readers do not wait
//! for the writer.

use std::sync::Arc;
use std::thread;

use cmc_store::{
    AuditFilter, AuditKind, CertState, Error, PageRequest, Store, Write, WriteUnit, fingerprint,
};

use super::{Fixture, add_ca, event, issued, reservation, serial, t};

/// A unit that issues certificate `n` of `ca` with its audit event and
/// spends `nonce` of signer "client".
fn unit(ca: &str, n: u64, nonce: &[u8]) -> WriteUnit {
    let s = serial(n);
    let mut unit = WriteUnit::new(t(0));
    unit.push(Write::Nonce {
        signer: fingerprint(b"client"),
        nonce: nonce.to_vec(),
        expires_at: t(100),
    });
    unit.push(Write::Transaction {
        signer: fingerprint(b"client"),
        transaction_id: n.to_be_bytes().to_vec(),
        expires_at: t(100),
    });
    unit.push(Write::Certificate {
        serial: reservation(ca, &s),
        cert: issued(&format!("CN=unit {n}"), &["dns:a.example"], 0, 1000),
    });
    unit.push(Write::Audit(event(
        AuditKind::Issued,
        ca,
        Some(s),
        "client-1",
        1,
    )));
    unit
}

/// Waits (without a deadline: a hang is the failure) until `ready`.
fn wait_until(store: &dyn Store, ready: impl Fn(cmc_store::WriteStats) -> bool) {
    while !ready(store.write_stats()) {
        thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn audit_count(store: &dyn Store) -> usize {
    store
        .list_audit(&AuditFilter::default(), PageRequest::first(500))
        .unwrap()
        .items
        .len()
}

pub(crate) fn unit_commits_everything_or_nothing(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    store.commit_unit(unit("ca", 1, b"n1")).unwrap();
    let rec = store.get_cert("ca", &serial(1)).unwrap().unwrap();
    assert!(matches!(rec.state, CertState::Issued(ref c) if c.sans == ["dns:a.example"]));
    assert_eq!(audit_count(&*store), 1);
    let client = fingerprint(b"client");
    assert!(store.nonce_in_use(&client, b"n1", t(99)).unwrap());
    assert!(!store.nonce_in_use(&client, b"n1", t(100)).unwrap());
    assert!(!store.nonce_in_use(&client, b"n2", t(0)).unwrap());
    assert!(
        store
            .get_transaction(&fingerprint(b"client"), &1_u64.to_be_bytes())
            .unwrap()
            .is_some()
    );

    // The same nonce again: refused, and its certificate, audit event and
    // transaction are not stored.
    assert!(matches!(
        store.commit_unit(unit("ca", 2, b"n1")),
        Err(Error::Replay)
    ));
    assert!(store.get_cert("ca", &serial(2)).unwrap().is_none());
    assert_eq!(audit_count(&*store), 1);
    assert!(
        store
            .get_transaction(&fingerprint(b"client"), &2_u64.to_be_bytes())
            .unwrap()
            .is_none()
    );
    // The nonce is usable again once expired (and spent at that time).
    let mut later = unit("ca", 3, b"n1");
    later.at = t(100);
    store.commit_unit(later).unwrap();

    // A taken serial is reported as such, nothing else of the unit stays.
    assert!(matches!(
        store.commit_unit(unit("ca", 1, b"n4")),
        Err(Error::SerialInUse { .. })
    ));
    assert!(store.commit_unit(unit("ca", 4, b"n4")).is_ok());

    // A failed serial is kept as failed.
    let mut failed = WriteUnit::new(t(5));
    failed.push(Write::FailedSerial {
        serial: reservation("ca", &serial(9)),
        reason: "lint".into(),
    });
    store.commit_unit(failed).unwrap();
    let rec = store.get_cert("ca", &serial(9)).unwrap().unwrap();
    assert!(
        matches!(rec.state, CertState::Failed { ref reason, failed_at } if reason == "lint" && failed_at == t(5))
    );
    let stats = store.write_stats();
    assert_eq!((stats.units, stats.failed_units), (4, 2));
}

pub(crate) fn concurrent_units_share_commits(fx: &dyn Fixture) {
    const N: u64 = 12;
    let store = fx.open_grouped();
    add_ca(&*store, "ca");
    let before = store.write_stats();
    // Another writer holds the database: the first unit's commit waits,
    // every other unit queues behind it.
    let hold = fx.hold_writes();
    let workers: Vec<_> = (0..N)
        .map(|n| {
            let store = Arc::clone(&store);
            thread::spawn(move || store.commit_unit(unit("ca", n, &n.to_be_bytes())))
        })
        .collect();
    wait_until(&*store, |s| s.committing + s.queued == N);
    drop(hold);
    for w in workers {
        w.join().unwrap().unwrap();
    }
    let after = store.write_stats();
    assert_eq!(after.units - before.units, N);
    let commits = after.commits - before.commits;
    assert!(commits < N, "{commits} commits for {N} units");
    for n in 0..N {
        assert!(store.get_cert("ca", &serial(n)).unwrap().is_some());
    }
    assert_eq!(audit_count(&*store), 12);
}

/// Many callers at once, for a while: each is woken for its own result or
/// to lead, never lost asleep (the group wakes callers one by one), and
/// every unit is stored once.
pub(crate) fn many_callers_are_each_answered(fx: &dyn Fixture) {
    const THREADS: u64 = 12;
    const EACH: u64 = 40;
    let store = fx.open_grouped();
    add_ca(&*store, "ca");
    let before = store.write_stats();
    let (done, finished) = std::sync::mpsc::channel();
    for t in 0..THREADS {
        let store = Arc::clone(&store);
        let done = done.clone();
        thread::spawn(move || {
            for i in 0..EACH {
                let n = 1000 + t * EACH + i;
                store.commit_unit(unit("ca", n, &n.to_be_bytes())).unwrap();
            }
            done.send(t).unwrap();
        });
    }
    for _ in 0..THREADS {
        // A caller left asleep would hang here: fail instead.
        finished
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("a caller was never answered");
    }
    let after = store.write_stats();
    assert_eq!(after.units - before.units, THREADS * EACH);
    assert_eq!((after.queued, after.committing), (0, 0));
    for n in 1000..1000 + THREADS * EACH {
        assert!(store.get_cert("ca", &serial(n)).unwrap().is_some(), "{n}");
    }
}

pub(crate) fn a_refused_unit_fails_alone_in_its_batch(fx: &dyn Fixture) {
    let store = fx.open_grouped();
    add_ca(&*store, "ca");
    let hold = fx.hold_writes();
    // A first unit leads and waits for the database...
    let plug = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.commit_unit(unit("ca", 100, b"plug")))
    };
    wait_until(&*store, |s| s.committing == 1);
    // ... while it does, a reader is not held up by the writer.
    assert!(store.get_ca("ca").unwrap().is_some());
    assert!(store.get_cert("ca", &serial(100)).unwrap().is_none());
    // Four units queue for the next commit; two spend the same nonce.
    let workers: Vec<_> = [
        (1, &b"same"[..]),
        (2, b"same"),
        (3, b"other"),
        (4, b"third"),
    ]
    .into_iter()
    .map(|(n, nonce)| {
        let store = Arc::clone(&store);
        let nonce = nonce.to_vec();
        thread::spawn(move || (n, store.commit_unit(unit("ca", n, &nonce))))
    })
    .collect();
    wait_until(&*store, |s| s.queued == 4);
    drop(hold);
    plug.join().unwrap().unwrap();
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let refused: Vec<_> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(n, r)| (*n, r))
        .collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    let (loser, err) = refused[0];
    assert!(matches!(err, Err(Error::Replay)), "{err:?}");
    assert!(loser == 1 || loser == 2);
    // Nothing of the refused unit is visible; everything of the others is.
    for (n, r) in &results {
        assert_eq!(
            store.get_cert("ca", &serial(*n)).unwrap().is_some(),
            r.is_ok()
        );
    }
    assert_eq!(audit_count(&*store), 4);
    let stats = store.write_stats();
    assert_eq!(stats.commits, 2, "{stats:?}");
}
