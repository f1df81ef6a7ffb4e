//! Searches newest first with keyset cursors (Search): every certificate
//! filter, pages across rows with equal times (no duplicate, no gap, the
//! same pages going back), counts by status, the audit search.

use std::collections::HashSet;

use cmc_store::{
    AuditEvent, AuditKind, AuditSearch, BulkCert, CertSearch, CertStatus, Cursor, Error, Keyset,
    Outcome, Revocation, RevocationReason, SearchPage, Serial, SerialPrefix, StatusCount, Store,
    TimeRange,
};

use super::{Fixture, add_ca, issued, reservation, t, undo_14};

pub(crate) fn serial_of(n: u64) -> Serial {
    let mut b = vec![0x5c, 0x00];
    b.extend_from_slice(&n.to_be_bytes());
    Serial::from_be_bytes(&b).unwrap()
}

/// Certificate `n`: all issued at the same second (t(7)) so only the row
/// id orders them; every third one by "ra-2"; every fifth revoked; the
/// subject and names carry `n`.
pub(crate) fn bulk(issuer: &str, n: u64) -> BulkCert {
    let nn = i64::try_from(n).unwrap();
    let subject = format!("CN=Host {n},O=Example Corp");
    let dns = format!("dNSName:host{n}.example.com");
    let mut cert = issued(&subject, &[&dns, "iPAddress:192.0.2.1"], nn, 1000 + nn);
    cert.issued_at = t(7);
    BulkCert {
        issuer: issuer.into(),
        serial: serial_of(n),
        requester: if n % 3 == 0 { "ra-2" } else { "ra-1" }.into(),
        profile: "tls".into(),
        request_hash: vec![1; 32],
        cert,
        revocation: (n % 5 == 0).then_some(Revocation {
            reason: RevocationReason::Superseded,
            revoked_at: t(50),
            invalidity_date: None,
        }),
    }
}

/// The `n` of each certificate found (newest first), reading every page.
fn all_pages(store: &dyn Store, s: &CertSearch, limit: u32) -> Vec<u64> {
    let mut out = Vec::new();
    let mut keyset = Keyset::First;
    loop {
        let page = store.search_certs(s, keyset, limit).unwrap();
        assert!(page.items.len() <= limit as usize);
        out.extend(page.items.iter().map(number));
        match page.older {
            Some(c) => keyset = Keyset::Older(c),
            None => return out,
        }
    }
}

fn number(r: &cmc_store::CertRecord) -> u64 {
    let b = r.serial.as_bytes();
    u64::from_be_bytes(b[b.len() - 8..].try_into().unwrap())
}

fn numbers(page: &SearchPage<cmc_store::CertRecord>) -> Vec<u64> {
    page.items.iter().map(number).collect()
}

pub(crate) fn search_pages_newest_first_without_gaps(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(store.as_ref(), "a");
    add_ca(store.as_ref(), "b");
    let certs: Vec<BulkCert> = (1..=23).map(|n| bulk("a", n)).collect();
    store.bulk_insert_certs(&certs).unwrap();
    store.bulk_insert_certs(&[bulk("b", 100)]).unwrap();

    // Every row once, newest (last stored) first, whatever the page size.
    let expected: Vec<u64> = std::iter::once(100).chain((1..=23).rev()).collect();
    for limit in [1, 2, 5, 7, 24, 50] {
        assert_eq!(
            all_pages(store.as_ref(), &CertSearch::default(), limit),
            expected,
            "{limit}"
        );
    }

    // Forward three pages of 5, then back: the same pages.
    let s = CertSearch {
        issuer: Some("a".into()),
        ..CertSearch::default()
    };
    let p1 = store.search_certs(&s, Keyset::First, 5).unwrap();
    assert_eq!(numbers(&p1), vec![23, 22, 21, 20, 19]);
    assert_eq!(p1.newer, None);
    let p2 = store
        .search_certs(&s, Keyset::Older(p1.older.unwrap()), 5)
        .unwrap();
    assert_eq!(numbers(&p2), vec![18, 17, 16, 15, 14]);
    let p3 = store
        .search_certs(&s, Keyset::Older(p2.older.unwrap()), 5)
        .unwrap();
    assert_eq!(numbers(&p3), vec![13, 12, 11, 10, 9]);
    let back2 = store
        .search_certs(&s, Keyset::Newer(p3.newer.unwrap()), 5)
        .unwrap();
    assert_eq!(back2, p2);
    let back1 = store
        .search_certs(&s, Keyset::Newer(back2.newer.unwrap()), 5)
        .unwrap();
    assert_eq!(numbers(&back1), numbers(&p1));
    assert_eq!(back1.newer, None, "the first page has no newer page");
    // The last page says there is nothing older.
    let last = store
        .search_certs(&s, Keyset::Older(p3.older.unwrap()), 50)
        .unwrap();
    assert_eq!(numbers(&last), vec![8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(last.older, None);
    // A cursor past the end is an empty page, not an error.
    let none = store.search_certs(&s, Keyset::Older(Cursor(0)), 5).unwrap();
    assert!(none.items.is_empty() && none.older.is_none());

    // Rows stored between two page reads do not shift the pages already
    // read (OFFSET would repeat one).
    store.bulk_insert_certs(&[bulk("a", 24)]).unwrap();
    let p2_again = store
        .search_certs(&s, Keyset::Older(p1.older.unwrap()), 5)
        .unwrap();
    assert_eq!(numbers(&p2_again), numbers(&p2));

    // Page sizes and ranges are checked.
    for limit in [0, cmc_store::MAX_SEARCH_PAGE + 1] {
        assert!(matches!(
            store.search_certs(&s, Keyset::First, limit),
            Err(Error::Invalid(_))
        ));
    }
    let reversed = CertSearch {
        issued: TimeRange {
            from: Some(t(9)),
            until: Some(t(9)),
        },
        ..CertSearch::default()
    };
    assert!(matches!(
        store.search_certs(&reversed, Keyset::First, 5),
        Err(Error::Invalid(_))
    ));
}

pub(crate) fn search_filters_certificates(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(store.as_ref(), "a");
    add_ca(store.as_ref(), "b");
    let certs: Vec<BulkCert> = (1..=30).map(|n| bulk("a", n)).collect();
    store.bulk_insert_certs(&certs).unwrap();
    store.bulk_insert_certs(&[bulk("b", 7)]).unwrap();
    // A reservation and a failure (no certificate, no subject).
    let r = reservation("a", &serial_of(1000));
    store.reserve_serial(&r, t(3)).unwrap();
    let f = reservation("a", &serial_of(1001));
    store.reserve_serial(&f, t(3)).unwrap();
    store
        .mark_failed("a", &serial_of(1001), "HSM gone", t(4))
        .unwrap();

    let find = |s: CertSearch| all_pages(store.as_ref(), &s, 4);
    let desc = |v: Vec<u64>| {
        let mut v = v;
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    };

    // CA and status.
    assert_eq!(
        find(CertSearch {
            issuer: Some("b".into()),
            ..CertSearch::default()
        }),
        vec![7]
    );
    assert_eq!(
        find(CertSearch {
            issuer: Some("a".into()),
            status: Some(CertStatus::Revoked),
            ..CertSearch::default()
        }),
        vec![30, 25, 20, 15, 10, 5]
    );
    assert_eq!(
        find(CertSearch {
            status: Some(CertStatus::Failed),
            ..CertSearch::default()
        }),
        vec![1001]
    );
    assert_eq!(
        find(CertSearch {
            status: Some(CertStatus::Reserved),
            ..CertSearch::default()
        }),
        vec![1000]
    );
    // Subject: substring, any case; LIKE wildcards are literal.
    assert_eq!(
        find(CertSearch {
            subject: Some("host 2".into()),
            ..CertSearch::default()
        }),
        desc(vec![2, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29])
    );
    assert_eq!(
        find(CertSearch {
            subject: Some("EXAMPLE corp".into()),
            issuer: Some("b".into()),
            ..CertSearch::default()
        }),
        vec![7]
    );
    for wild in ["%", "_", "Host_1", "\\"] {
        assert!(
            find(CertSearch {
                subject: Some(wild.into()),
                ..CertSearch::default()
            })
            .is_empty(),
            "{wild}"
        );
    }
    // SAN: exact, with or without its type; no substring.
    let san = |v: &str| {
        find(CertSearch {
            san: Some(v.into()),
            ..CertSearch::default()
        })
    };
    assert_eq!(san("host7.example.com"), vec![7, 7]);
    assert_eq!(san("dNSName:host12.example.com"), vec![12]);
    assert!(san("host1").is_empty());
    assert!(san("HOST12.example.com").is_empty(), "SAN search is exact");
    assert_eq!(san("192.0.2.1").len(), 31);
    // Serial: exact or prefix, with or without colons.
    let serial = |v: &str| {
        find(CertSearch {
            serial: Some(SerialPrefix::parse(v).unwrap()),
            ..CertSearch::default()
        })
    };
    assert_eq!(serial(&serial_of(12).to_hex()), vec![12]);
    assert_eq!(
        serial("5c:00:00:00:00:00:00:00:00:1"),
        desc((16..=30).collect())
    );
    // Every certificate's serial starts so, but not 1000's (…03e8).
    let mut every = serial("5c0000000000000000");
    every.sort_unstable();
    let mut expected: Vec<u64> = (1..=30).chain([7]).collect();
    expected.sort_unstable();
    assert_eq!(every, expected);
    assert!(serial("5d").is_empty());
    assert_eq!(
        find(CertSearch {
            issuer: Some("b".into()),
            serial: Some(SerialPrefix::parse("5c").unwrap()),
            ..CertSearch::default()
        }),
        vec![7]
    );
    // Requester.
    assert_eq!(
        find(CertSearch {
            requester: Some("ra-2".into()),
            issuer: Some("a".into()),
            ..CertSearch::default()
        }),
        vec![30, 27, 24, 21, 18, 15, 12, 9, 6, 3]
    );
    // Dates: notBefore of n is t(n), notAfter t(1000 + n); ranges are
    // [from, until).
    assert_eq!(
        find(CertSearch {
            issuer: Some("a".into()),
            not_before: TimeRange {
                from: Some(t(10)),
                until: Some(t(13)),
            },
            ..CertSearch::default()
        }),
        vec![12, 11, 10]
    );
    assert_eq!(
        find(CertSearch {
            issuer: Some("a".into()),
            not_after: TimeRange {
                from: Some(t(1028)),
                until: None,
            },
            ..CertSearch::default()
        }),
        vec![30, 29, 28]
    );
    assert_eq!(
        find(CertSearch {
            issued: TimeRange {
                from: None,
                until: Some(t(7)),
            },
            ..CertSearch::default()
        }),
        Vec::<u64>::new()
    );
    assert_eq!(
        find(CertSearch {
            issued: TimeRange {
                from: Some(t(7)),
                until: Some(t(8)),
            },
            ..CertSearch::default()
        })
        .len(),
        31
    );
    // Quick search: subject, SAN or serial.
    let text = |v: &str| {
        find(CertSearch {
            text: Some(v.into()),
            issuer: Some("a".into()),
            ..CertSearch::default()
        })
    };
    assert_eq!(text("host 30,"), vec![30]);
    assert_eq!(text("host9.example.com"), vec![9]);
    assert_eq!(text(&serial_of(1000).to_hex()), vec![1000]);
    assert!(text("nothing like it").is_empty());
    // Filters combine: revoked, by ra-2, subject containing "1".
    assert_eq!(
        find(CertSearch {
            status: Some(CertStatus::Revoked),
            requester: Some("ra-2".into()),
            subject: Some("1".into()),
            ..CertSearch::default()
        }),
        vec![15]
    );
}

pub(crate) fn status_counts_by_ca(fx: &dyn Fixture) {
    let store = fx.open();
    assert_eq!(store.count_by_status().unwrap(), vec![]);
    add_ca(store.as_ref(), "a");
    add_ca(store.as_ref(), "b");
    let certs: Vec<BulkCert> = (1..=12).map(|n| bulk("a", n)).collect();
    store.bulk_insert_certs(&certs).unwrap();
    store.bulk_insert_certs(&[bulk("b", 5)]).unwrap();
    store
        .reserve_serial(&reservation("b", &serial_of(99)), t(1))
        .unwrap();
    store
        .reserve_serial(&reservation("b", &serial_of(98)), t(1))
        .unwrap();
    store.mark_failed("b", &serial_of(98), "x", t(2)).unwrap();
    let c = |issuer: &str, status, count| StatusCount {
        issuer: issuer.into(),
        status,
        count,
    };
    let mut got = store.count_by_status().unwrap();
    got.sort_by(|x, y| (&x.issuer, x.status.as_str()).cmp(&(&y.issuer, y.status.as_str())));
    assert_eq!(
        got,
        vec![
            c("a", CertStatus::Issued, 10),
            c("a", CertStatus::Revoked, 2),
            c("b", CertStatus::Failed, 1),
            c("b", CertStatus::Reserved, 1),
            c("b", CertStatus::Revoked, 1),
        ]
    );
    // A revocation moves one from issued to revoked.
    store
        .revoke(
            "a",
            &serial_of(1),
            RevocationReason::KeyCompromise,
            t(60),
            None,
        )
        .unwrap();
    let got = store.count_by_status().unwrap();
    assert!(got.contains(&c("a", CertStatus::Issued, 9)), "{got:?}");
    assert!(got.contains(&c("a", CertStatus::Revoked, 3)), "{got:?}");
}

pub(crate) fn audit(
    kind: AuditKind,
    issuer: &str,
    s: Option<u64>,
    who: &str,
    at: i64,
    detail: &str,
) -> AuditEvent {
    AuditEvent {
        at: t(at),
        kind,
        issuer: Some(issuer.into()),
        serial: s.map(serial_of),
        profile: None,
        requester: Some(who.into()),
        outcome: Outcome::Success,
        detail: detail.into(),
    }
}

pub(crate) fn audit_search_filters_and_pages(fx: &dyn Fixture) {
    let store = fx.open();
    let mut ids = Vec::new();
    for n in 0..40_u64 {
        let kind = if n % 4 == 0 {
            AuditKind::Revoked
        } else {
            AuditKind::Issued
        };
        let who = if n % 2 == 0 { "console:admin" } else { "ra-1" };
        let detail = format!(r#"{{"subject":"CN=Device {n}","note":"100%"}}"#);
        // Ten events per second: equal times.
        let at = i64::try_from(n / 10).unwrap();
        ids.push(
            store
                .append_audit(&audit(
                    kind,
                    if n < 30 { "a" } else { "b" },
                    Some(n % 8),
                    who,
                    at,
                    &detail,
                ))
                .unwrap(),
        );
    }
    // All of them once, newest first, over pages of 6; and back.
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut keyset = Keyset::First;
    loop {
        let page = store
            .search_audit(&AuditSearch::default(), keyset, 6)
            .unwrap();
        seen.extend(page.items.iter().map(|r| r.id));
        pages.push(page.clone());
        match page.older {
            Some(c) => keyset = Keyset::Older(c),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 40);
    let back = store
        .search_audit(
            &AuditSearch::default(),
            Keyset::Newer(pages[2].newer.unwrap()),
            6,
        )
        .unwrap();
    assert_eq!(back, pages[1]);

    let count = |s: AuditSearch| {
        let mut n = 0;
        let mut keyset = Keyset::First;
        loop {
            let page = store.search_audit(&s, keyset, 7).unwrap();
            n += page.items.len();
            assert!(page.items.windows(2).all(|w| w[0].id > w[1].id));
            match page.older {
                Some(c) => keyset = Keyset::Older(c),
                None => return n,
            }
        }
    };
    assert_eq!(
        count(AuditSearch {
            kind: Some(AuditKind::Revoked),
            ..AuditSearch::default()
        }),
        10
    );
    assert_eq!(
        count(AuditSearch {
            requester: Some("ra-1".into()),
            issuer: Some("b".into()),
            ..AuditSearch::default()
        }),
        5
    );
    // A certificate's trail: its CA and serial.
    assert_eq!(
        count(AuditSearch {
            issuer: Some("a".into()),
            serial: Some(serial_of(3)),
            ..AuditSearch::default()
        }),
        4
    );
    // Detail text, any case, wildcards literal.
    assert_eq!(
        count(AuditSearch {
            text: Some("cn=device 1".into()),
            ..AuditSearch::default()
        }),
        11
    );
    assert_eq!(
        count(AuditSearch {
            text: Some("100%\"".into()),
            ..AuditSearch::default()
        }),
        40
    );
    assert_eq!(
        count(AuditSearch {
            text: Some("_".into()),
            ..AuditSearch::default()
        }),
        0
    );
    // Time: [from, until).
    assert_eq!(
        count(AuditSearch {
            at: TimeRange {
                from: Some(t(1)),
                until: Some(t(3)),
            },
            ..AuditSearch::default()
        }),
        20
    );
    assert!(matches!(
        store.search_audit(&AuditSearch::default(), Keyset::First, 0),
        Err(Error::Invalid(_))
    ));
}

/// A database without migration 14 (nor 15: their indexes dropped, their
/// rows gone) gets them on open, keeps its rows, and searches the same.
pub(crate) fn migration_14_adds_the_search_indexes(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(store.as_ref(), "a");
    let certs: Vec<BulkCert> = (1..=9).map(|n| bulk("a", n)).collect();
    store.bulk_insert_certs(&certs).unwrap();
    store
        .append_audit(&audit(AuditKind::Revoked, "a", Some(5), "op", 1, "{}"))
        .unwrap();
    let rows = fx.migration_rows();
    drop(store);
    undo_14(fx);
    assert_eq!(fx.migration_rows(), rows - (cmc_store::SCHEMA_VERSION - 13));

    let store = fx.open();
    assert_eq!(store.schema_version().unwrap(), cmc_store::SCHEMA_VERSION);
    assert_eq!(fx.migration_rows(), rows);
    let s = CertSearch {
        issuer: Some("a".into()),
        status: Some(CertStatus::Issued),
        requester: Some("ra-1".into()),
        ..CertSearch::default()
    };
    assert_eq!(all_pages(store.as_ref(), &s, 2), vec![8, 7, 4, 2, 1]);
    let trail = store
        .search_audit(
            &AuditSearch {
                issuer: Some("a".into()),
                serial: Some(serial_of(5)),
                ..AuditSearch::default()
            },
            Keyset::First,
            5,
        )
        .unwrap();
    assert_eq!(trail.items.len(), 1);
    drop(store);
    // The indexes are back (dropping a missing one would fail).
    undo_14(fx);
}
