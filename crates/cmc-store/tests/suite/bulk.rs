//! Bulk loading and the streamed listing of revoked certificates.

use cmc_store::{BulkCert, Error, ImportedRevocation, Revocation, RevocationReason, RevokedEntry};

use super::{Fixture, add_ca, issue, issued, serial, t};

fn bulk(issuer: &str, n: u64, revoked: bool) -> BulkCert {
    let subject = format!("CN=bulk-{n},O=Bulk");
    let san = format!("dns:host{n}.bulk.example");
    BulkCert {
        issuer: issuer.into(),
        serial: serial(1000 + n),
        requester: "bulk".into(),
        profile: "tls".into(),
        request_hash: n.to_be_bytes().repeat(4),
        cert: issued(
            &subject,
            &[san.as_str(), "dns:shared.bulk.example"],
            0,
            1000,
        ),
        revocation: revoked.then(|| Revocation {
            reason: RevocationReason::from_code(u8::try_from(n % 6).unwrap()).unwrap(),
            revoked_at: t(100 + i64::try_from(n).unwrap()),
            invalidity_date: (n % 2 == 0).then(|| t(50)),
        }),
    }
}

pub(crate) fn bulk_load_stores_issued_and_revoked_rows(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    issue(&*store, "ca", &serial(1), "CN=first", &[]);
    // More rows than one multi-row statement holds, one in three revoked.
    let rows: Vec<BulkCert> = (0..1234).map(|n| bulk("ca", n, n % 3 == 0)).collect();
    assert_eq!(store.bulk_insert_certs(&rows).unwrap(), 1234);
    assert_eq!(store.bulk_insert_certs(&[]).unwrap(), 0);
    // One epoch step for the whole batch.
    assert_eq!(store.revocation_epoch("ca").unwrap(), 1);

    let rec = store.get_cert("ca", &serial(1000 + 7)).unwrap().unwrap();
    let cert = rec.certificate().unwrap();
    assert_eq!(cert.subject, "CN=bulk-7,O=Bulk");
    assert_eq!(
        cert.sans,
        vec!["dns:host7.bulk.example", "dns:shared.bulk.example"]
    );
    assert_eq!(rec.revocation(), None);
    let rec = store.get_cert("ca", &serial(1000 + 9)).unwrap().unwrap();
    assert_eq!(rec.revocation(), rows[9].revocation.as_ref());
    assert_eq!(
        store
            .find_certs_by_subject("CN=bulk-9,O=Bulk")
            .unwrap()
            .len(),
        1
    );

    // The listing streams them in insertion order, and list_revoked agrees.
    let mut streamed: Vec<RevokedEntry> = Vec::new();
    let n = store
        .for_each_revoked("ca", &mut |e| {
            streamed.push(e);
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 412);
    assert_eq!(streamed, store.list_revoked("ca").unwrap());
    let expected: Vec<_> = rows
        .iter()
        .filter_map(|r| r.revocation.map(|rev| (r.serial.clone(), rev)))
        .collect();
    let got: Vec<_> = streamed
        .iter()
        .map(|e| (e.serial.clone(), e.revocation))
        .collect();
    assert_eq!(got, expected);

    // An error from the callback stops the listing and comes back, and the
    // store stays usable.
    let mut seen = 0;
    let err = store
        .for_each_revoked("ca", &mut |_| {
            seen += 1;
            if seen == 3 {
                Err(Error::Invalid("stop".into()))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(m) if m == "stop"));
    assert_eq!(seen, 3);
    assert_eq!(store.list_revoked("ca").unwrap().len(), 412);
}

pub(crate) fn bulk_load_is_all_or_nothing(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    issue(&*store, "ca", &serial(1000 + 600), "CN=taken", &[]);
    let rows: Vec<BulkCert> = (0..700).map(|n| bulk("ca", n, n == 5)).collect();
    assert!(matches!(
        store.bulk_insert_certs(&rows),
        Err(Error::AlreadyExists(_))
    ));
    assert!(store.get_cert("ca", &serial(1000)).unwrap().is_none());
    assert!(store.list_revoked("ca").unwrap().is_empty());
    assert_eq!(store.revocation_epoch("ca").unwrap(), 0);
    assert!(matches!(
        store.bulk_insert_certs(&[bulk("nope", 1, false)]),
        Err(Error::NotFound(_))
    ));
    let mut empty = bulk("ca", 1, false);
    empty.cert.cert_der.clear();
    assert!(matches!(
        store.bulk_insert_certs(&[empty]),
        Err(Error::Invalid(_))
    ));
}

pub(crate) fn import_skips_stored_serials_and_revokes_known_ones(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    issue(&*store, "ca", &serial(1000 + 3), "CN=ours", &[]);
    // 600 rows: more than one statement; serial 1003 is already stored.
    let rows: Vec<BulkCert> = (0..600).map(|n| bulk("ca", n, false)).collect();
    let inserted = store.import_certs(&rows).unwrap();
    assert_eq!(inserted.len(), 599);
    assert!(!inserted.contains(&serial(1003)));
    // The stored row is left as it was, with its own subject.
    let kept = store.get_cert("ca", &serial(1003)).unwrap().unwrap();
    assert_eq!(kept.certificate().unwrap().subject, "CN=ours");
    // SANs of inserted rows are stored; running again inserts nothing.
    let rec = store.get_cert("ca", &serial(1000 + 599)).unwrap().unwrap();
    assert_eq!(rec.certificate().unwrap().sans.len(), 2);
    assert!(store.import_certs(&rows).unwrap().is_empty());
    assert_eq!(store.revocation_epoch("ca").unwrap(), 0);
    assert!(matches!(
        store.import_certs(&[bulk("nope", 1, false)]),
        Err(Error::NotFound(_))
    ));

    let rev = |s: i64, reason| Revocation {
        reason,
        revoked_at: t(s),
        invalidity_date: None,
    };
    let entries = vec![
        (serial(1010), rev(10, RevocationReason::KeyCompromise)),
        (serial(1011), rev(11, RevocationReason::CertificateHold)),
        (serial(99_999), rev(12, RevocationReason::Unspecified)),
    ];
    let outcomes = store.import_revocations("ca", &entries).unwrap();
    assert_eq!(
        outcomes,
        vec![
            ImportedRevocation::Revoked,
            ImportedRevocation::Revoked,
            ImportedRevocation::NotIssued
        ]
    );
    assert_eq!(store.revocation_epoch("ca").unwrap(), 1);
    let listed: Vec<_> = store
        .list_revoked("ca")
        .unwrap()
        .into_iter()
        .map(|e| (e.serial, e.revocation))
        .collect();
    assert_eq!(listed, entries[..2].to_vec());
    // Again: already revoked, the first revocation kept, the epoch unmoved.
    let again = vec![(serial(1010), rev(20, RevocationReason::Superseded))];
    assert_eq!(
        store.import_revocations("ca", &again).unwrap(),
        vec![ImportedRevocation::AlreadyRevoked(entries[0].1)]
    );
    assert_eq!(store.revocation_epoch("ca").unwrap(), 1);
    let remove = vec![(serial(1012), rev(20, RevocationReason::RemoveFromCrl))];
    assert!(matches!(
        store.import_revocations("ca", &remove),
        Err(Error::Invalid(_))
    ));
}

pub(crate) fn crl_numbers_advance_past_an_imported_one(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(&*store, "ca");
    add_ca(&*store, "fresh");
    assert_eq!(store.next_crl_number("ca").unwrap(), 1);
    store.advance_crl_number("ca", 4096).unwrap();
    assert_eq!(store.next_crl_number("ca").unwrap(), 4097);
    // A lower number never moves the counter back.
    store.advance_crl_number("ca", 10).unwrap();
    assert_eq!(store.next_crl_number("ca").unwrap(), 4098);
    // A CA that never issued a CRL.
    store.advance_crl_number("fresh", 7).unwrap();
    assert_eq!(store.next_crl_number("fresh").unwrap(), 8);
    assert!(matches!(
        store.advance_crl_number("nope", 1),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.advance_crl_number("ca", u64::MAX),
        Err(Error::Invalid(_))
    ));
}
