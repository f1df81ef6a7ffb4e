//! Certificates by position (CertCatalog): counts, sorted pages at an
//! offset, the valid-only filter, serials in numeric order.

use cmc_store::{
    BulkCert, CertOrder, CertRange, Error, Revocation, RevocationReason, Serial, UnixTime,
};

use super::{Fixture, add_ca, issued, reservation, t};

/// Serials of different lengths whose byte order is not their numeric
/// order: 0xff (255) sorts after 0x0100 (256) as bytes.
fn odd_serial(n: u64) -> Serial {
    match n % 3 {
        0 => Serial::from_be_bytes(&[0xff - u8::try_from(n).unwrap()]).unwrap(),
        1 => Serial::from_be_bytes(&[0x01, u8::try_from(n).unwrap()]).unwrap(),
        _ => Serial::from_be_bytes(&[0x02, 0x00, u8::try_from(n).unwrap()]).unwrap(),
    }
}

/// Certificate `n` of "ca": issued at t(10 * (12 - n)) (so issue order is
/// the reverse of storage order), valid t(0)..t(1000) except n = 4
/// (expired at t(500)) and n = 5 (not valid before t(600)); revoked when
/// n is 2 or 7 (7 on hold).
fn cert(n: u64) -> BulkCert {
    let nn = i64::try_from(n).unwrap();
    let mut c = issued(&format!("CN=cat-{n}"), &[], 0, 1000);
    c.cert_der = format!("certificate {n}").into_bytes();
    c.issued_at = t(10 * (12 - nn));
    if n == 4 {
        c.not_after = t(500);
    }
    if n == 5 {
        c.not_before = t(600);
    }
    BulkCert {
        issuer: "ca".into(),
        serial: odd_serial(n),
        requester: "ra".into(),
        profile: "tls".into(),
        request_hash: vec![1; 32],
        cert: c,
        revocation: match n {
            2 => Some(Revocation {
                reason: RevocationReason::KeyCompromise,
                revoked_at: t(300),
                invalidity_date: None,
            }),
            7 => Some(Revocation {
                reason: RevocationReason::CertificateHold,
                revoked_at: t(310),
                invalidity_date: Some(t(305)),
            }),
            _ => None,
        },
    }
}

fn range(order: CertOrder, descending: bool, valid_at: Option<UnixTime>) -> CertRange {
    CertRange {
        issuer: "ca".into(),
        valid_at,
        order,
        descending,
        offset: 0,
        limit: 100,
    }
}

fn numbers(store: &dyn cmc_store::Store, r: &CertRange) -> Vec<u64> {
    store
        .issued_range(r)
        .unwrap()
        .into_iter()
        .map(|l| {
            let text = String::from_utf8(l.cert_der).unwrap();
            text.strip_prefix("certificate ").unwrap().parse().unwrap()
        })
        .collect()
}

pub(crate) fn catalog_counts_pages_and_serials(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    add_ca(&*store, "other");
    let rows: Vec<BulkCert> = (0..12).map(cert).collect();
    store.bulk_insert_certs(&rows).unwrap();
    // Neither a reservation nor a failure is a certificate; another CA's
    // certificates are not this one's.
    let pending = Serial::from_be_bytes(&[0x7e, 0x01]).unwrap();
    store
        .reserve_serial(&reservation("ca", &pending), t(0))
        .unwrap();
    let failed = Serial::from_be_bytes(&[0x7e, 0x02]).unwrap();
    store
        .reserve_serial(&reservation("ca", &failed), t(0))
        .unwrap();
    store.mark_failed("ca", &failed, "test", t(1)).unwrap();
    let mut foreign = cert(1);
    foreign.issuer = "other".into();
    store.bulk_insert_certs(&[foreign]).unwrap();

    // At t(100): all 12; not 2, 7 (revoked, on hold) nor 5 (not yet valid).
    let counts = store.count_issued("ca", t(100)).unwrap();
    assert_eq!((counts.issued, counts.valid), (12, 9));
    // At t(700): 4 has expired, 5 has become valid.
    let counts = store.count_issued("ca", t(700)).unwrap();
    assert_eq!((counts.issued, counts.valid), (12, 9));
    // At t(2000) nothing is valid.
    assert_eq!(store.count_issued("ca", t(2000)).unwrap().valid, 0);
    assert_eq!(store.count_issued("none", t(0)).unwrap().issued, 0);

    // Storage order, both ways.
    let all: Vec<u64> = (0..12).collect();
    assert_eq!(
        numbers(&*store, &range(CertOrder::Stored, false, None)),
        all
    );
    let mut rev = all.clone();
    rev.reverse();
    assert_eq!(numbers(&*store, &range(CertOrder::Stored, true, None)), rev);
    // Issue order is the reverse of storage order here.
    assert_eq!(
        numbers(&*store, &range(CertOrder::Issued, false, None)),
        rev
    );
    assert_eq!(numbers(&*store, &range(CertOrder::Issued, true, None)), all);

    // Serial order is numeric: the one-byte serials (n % 3 == 0, 0xff - n),
    // then 0x01nn, then 0x0200nn.
    let by_serial = numbers(&*store, &range(CertOrder::Serial, false, None));
    assert_eq!(by_serial, [9, 6, 3, 0, 1, 4, 7, 10, 2, 5, 8, 11]);
    let listed = store
        .issued_range(&range(CertOrder::Serial, false, None))
        .unwrap();
    let serials: Vec<Serial> = listed.iter().map(|l| l.serial.clone()).collect();
    let mut sorted = serials.clone();
    sorted.sort_by(|a, b| {
        (a.as_bytes().len(), a.as_bytes()).cmp(&(b.as_bytes().len(), b.as_bytes()))
    });
    assert_eq!(serials, sorted);
    let mut backwards = by_serial.clone();
    backwards.reverse();
    assert_eq!(
        numbers(&*store, &range(CertOrder::Serial, true, None)),
        backwards
    );

    // What a listed certificate carries.
    let two = listed.iter().find(|l| l.serial == odd_serial(2)).unwrap();
    assert_eq!(two.cert_der, b"certificate 2");
    assert_eq!(two.issued_at, t(100));
    assert_eq!(
        two.revocation.map(|r| (r.reason, r.revoked_at)),
        Some((RevocationReason::KeyCompromise, t(300)))
    );
    let seven = listed.iter().find(|l| l.serial == odd_serial(7)).unwrap();
    assert_eq!(
        seven.revocation.unwrap().reason,
        RevocationReason::CertificateHold
    );
    assert!(
        listed
            .iter()
            .filter(|l| ![odd_serial(2), odd_serial(7)].contains(&l.serial))
            .all(|l| l.revocation.is_none())
    );

    // Valid only, at t(100) and at t(700).
    assert_eq!(
        numbers(&*store, &range(CertOrder::Stored, false, Some(t(100)))),
        [0, 1, 3, 4, 6, 8, 9, 10, 11]
    );
    assert_eq!(
        numbers(&*store, &range(CertOrder::Stored, false, Some(t(700)))),
        [0, 1, 3, 5, 6, 8, 9, 10, 11]
    );

    // Pages: offset and limit, the last page short, past the end empty.
    let page = |offset, limit| CertRange {
        offset,
        limit,
        ..range(CertOrder::Issued, true, Some(t(100)))
    };
    assert_eq!(numbers(&*store, &page(0, 4)), [0, 1, 3, 4]);
    assert_eq!(numbers(&*store, &page(4, 4)), [6, 8, 9, 10]);
    assert_eq!(numbers(&*store, &page(8, 4)), [11]);
    assert!(numbers(&*store, &page(12, 4)).is_empty());
    assert!(numbers(&*store, &page(1 << 40, 4)).is_empty());
    for bad in [
        page(0, 0),
        page(0, CertRange::MAX_LIMIT + 1),
        page(u64::MAX, 1),
    ] {
        assert!(matches!(store.issued_range(&bad), Err(Error::Invalid(_))));
    }

    // Serials: numeric order, bounded, this CA's certificates only.
    let all_serials = store.issued_serials("ca", 100).unwrap();
    assert_eq!(all_serials, serials);
    assert_eq!(store.issued_serials("ca", 5).unwrap(), serials[..5]);
    assert_eq!(
        store.issued_serials("other", 100).unwrap(),
        vec![odd_serial(1)]
    );
}
