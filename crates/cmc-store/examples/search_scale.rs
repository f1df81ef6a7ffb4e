//! The console's certificate search and overview counts on a large store:
//! what BENCHMARKS.md ("Issue 19: console search at scale") reports.
//!
//! `cargo run --release -p cmc-store --example search_scale -- URL CA [ROUNDS]`
//!
//! Fill the store first with `cmc-tool bench-load --ca CA --certs N
//! --revoked M` (its rows: subject `CN=bulk-<n>,O=cmc bench load`, SAN
//! `dns:bulk-<n>.bench.invalid`, requester `bench-load`). Prints, for each
//! query, the best and the median of ROUNDS runs (default 5) in
//! milliseconds and the rows it returned. The deep pages start at a cursor
//! 500,000 rows (page 10,000 of 50) below the newest row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use cmc_store::{
    AuditSearch, CertSearch, CertStatus, Cursor, Keyset, SerialPrefix, Store, TimeRange, UnixTime,
};

fn time<T>(rounds: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut ms = Vec::new();
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        last = Some(f());
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    (ms[0], ms[ms.len() / 2], last.unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert!(args.len() >= 3, "usage: search_scale URL CA [ROUNDS]");
    let store = cmc_store::open(&args[1]).unwrap();
    let ca = args[2].clone();
    let rounds: usize = args.get(3).map_or(5, |r| r.parse().unwrap());
    let store: &dyn Store = store.as_ref();

    let newest = store
        .search_certs(&CertSearch::default(), Keyset::First, 1)
        .unwrap();
    let top = newest.older.map_or(0, |c| c.0);
    let deep = Keyset::Older(Cursor(top - 500_000));
    let one = store
        .search_certs(
            &CertSearch::default(),
            Keyset::Older(Cursor(top - 12_345)),
            1,
        )
        .unwrap();
    let some_serial = one.items[0].serial.to_hex();
    let some_subject = one.items[0]
        .certificate()
        .map(|c| c.subject.clone())
        .unwrap();
    let some_n = some_subject
        .trim_start_matches("CN=bulk-")
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let issued_at = one.items[0].certificate().unwrap().issued_at.secs();

    let by = |f: &dyn Fn(&mut CertSearch)| {
        let mut s = CertSearch::default();
        f(&mut s);
        s
    };
    let cases: Vec<(&str, CertSearch, Keyset)> = vec![
        ("all, page 1", CertSearch::default(), Keyset::First),
        ("all, page 10,000", CertSearch::default(), deep),
        (
            "CA, page 1",
            by(&|s| s.issuer = Some(ca.clone())),
            Keyset::First,
        ),
        (
            "CA, page 10,000",
            by(&|s| s.issuer = Some(ca.clone())),
            deep,
        ),
        (
            "CA + revoked, page 1",
            by(&|s| {
                s.issuer = Some(ca.clone());
                s.status = Some(CertStatus::Revoked);
            }),
            Keyset::First,
        ),
        (
            "CA + revoked, deep",
            by(&|s| {
                s.issuer = Some(ca.clone());
                s.status = Some(CertStatus::Revoked);
            }),
            deep,
        ),
        (
            "SAN exact",
            by(&|s| s.san = Some(format!("dns:bulk-{some_n}.bench.invalid"))),
            Keyset::First,
        ),
        (
            "serial, whole",
            by(&|s| s.serial = Some(SerialPrefix::parse(&some_serial).unwrap())),
            Keyset::First,
        ),
        (
            "serial, 6-digit prefix",
            by(&|s| s.serial = Some(SerialPrefix::parse(&some_serial[..6]).unwrap())),
            Keyset::First,
        ),
        (
            "subject substring, common",
            by(&|s| s.subject = Some("BULK-9".into())),
            Keyset::First,
        ),
        (
            "subject substring, one row",
            by(&|s| s.subject = Some(format!("bulk-{some_n},"))),
            Keyset::First,
        ),
        (
            "subject substring, none",
            by(&|s| s.subject = Some("no such subject".into())),
            Keyset::First,
        ),
        (
            "requester, page 1",
            by(&|s| s.requester = Some("bench-load".into())),
            Keyset::First,
        ),
        (
            "issued in one second",
            by(&|s| {
                s.issued = TimeRange {
                    from: Some(UnixTime::from_secs(issued_at)),
                    until: Some(UnixTime::from_secs(issued_at + 1)),
                }
            }),
            Keyset::First,
        ),
    ];
    println!(
        "{:<30} {:>10} {:>10} {:>6}",
        "query (50 rows)", "best ms", "median ms", "rows"
    );
    for (name, search, keyset) in &cases {
        let (best, median, page) =
            time(rounds, || store.search_certs(search, *keyset, 50).unwrap());
        println!(
            "{name:<30} {best:>10.1} {median:>10.1} {:>6}",
            page.items.len()
        );
    }
    let (best, median, counts) = time(rounds, || store.count_by_status().unwrap());
    let total: u64 = counts.iter().map(|c| c.count).sum();
    println!(
        "{:<30} {best:>10.1} {median:>10.1} {total:>6}",
        "counts by status (GROUP BY)"
    );
    let (best, median, page) = time(rounds, || {
        store
            .search_audit(&AuditSearch::default(), Keyset::First, 50)
            .unwrap()
    });
    println!(
        "{:<30} {best:>10.1} {median:>10.1} {:>6}",
        "audit, page 1",
        page.items.len()
    );
    // The trail of the newest event's certificate (bench-load writes no
    // events: run some enrollments first, e.g. `cmc-tool bench`).
    let newest = page.items.iter().find(|r| r.event.serial.is_some());
    if let Some(event) = newest.map(|r| &r.event) {
        let trail = AuditSearch {
            issuer: event.issuer.clone(),
            serial: event.serial.clone(),
            ..AuditSearch::default()
        };
        let (best, median, page) = time(rounds, || {
            store.search_audit(&trail, Keyset::First, 50).unwrap()
        });
        println!(
            "{:<30} {best:>10.1} {median:>10.1} {:>6}",
            "audit, a certificate's trail",
            page.items.len()
        );
    }
}
