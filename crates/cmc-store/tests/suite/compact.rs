//! Schema 16 and what an enrollment writes once: spent nonces in one
//! B-tree keyed by a signer prefix and the nonce, and an issued row's TBS
//! kept only inside its certificate.

use cmc_store::{Error, Store, Write, WriteUnit, fingerprint};

use super::{Fixture, add_ca, issued, reservation, serial, t};

/// Undoes migration 17: PostgreSQL's CA index holds every row again.
pub(crate) fn undo_17(fx: &dyn Fixture) {
    if fx.postgres() {
        fx.sql(
            "DROP INDEX certificates_by_ca;
             CREATE INDEX certificates_by_ca ON certificates (issuer, id);",
        );
    }
    fx.sql("DELETE FROM schema_migrations WHERE version >= 17;");
}

/// Undoes migration 16 (as a database written by schema 15 looks; the
/// spent nonces are dropped, not turned back).
pub(crate) fn undo_16(fx: &dyn Fixture) {
    undo_17(fx);
    let (blob, int) = if fx.postgres() {
        ("BYTEA", "BIGINT")
    } else {
        ("BLOB", "INTEGER")
    };
    fx.sql(&format!(
        "DROP TABLE spent_nonces;
         CREATE TABLE nonces (
             signer      {blob} NOT NULL,
             nonce       {blob} NOT NULL,
             created_at  {int} NOT NULL,
             expires_at  {int} NOT NULL,
             PRIMARY KEY (signer, nonce)
         );
         CREATE INDEX nonces_expires ON nonces (expires_at);
         DELETE FROM schema_migrations WHERE version >= 16;"
    ));
}

/// Nonces spent under schema 15, live and expired, of two signers: after
/// migration 16 the live ones are still refused, each to its own signer,
/// and the expired one may be spent again.
pub(crate) fn migration_16_carries_live_nonces_over(fx: &dyn Fixture) {
    let store = fx.open();
    let rows = fx.migration_rows();
    drop(store);
    undo_16(fx);
    assert_eq!(fx.migration_rows(), rows - (cmc_store::SCHEMA_VERSION - 15));
    let alice = fingerprint(b"alice");
    let bob = fingerprint(b"bob");
    let old = |signer: &[u8], nonce: &[u8], expires: i64| {
        format!(
            "({}, {}, {}, {})",
            fx.blob_literal(signer),
            fx.blob_literal(nonce),
            t(0).secs(),
            t(expires).secs()
        )
    };
    fx.sql(&format!(
        "INSERT INTO nonces (signer, nonce, created_at, expires_at) VALUES {}, {}, {}",
        old(&alice, b"n1", 100),
        old(&bob, b"n2", 100),
        old(&alice, b"n3", 10),
    ));

    let store = fx.open();
    assert_eq!(store.schema_version().unwrap(), cmc_store::SCHEMA_VERSION);
    assert_eq!(fx.migration_rows(), rows);
    assert_eq!(fx.count("SELECT COUNT(*) FROM spent_nonces"), 3);
    assert!(store.nonce_in_use(&alice, b"n1", t(50)).unwrap());
    assert!(matches!(
        store.remember_nonce(&alice, b"n1", t(200), t(50)),
        Err(Error::Replay)
    ));
    assert!(matches!(
        store.remember_nonce(&bob, b"n2", t(200), t(50)),
        Err(Error::Replay)
    ));
    // Each nonce stays its signer's.
    store.remember_nonce(&bob, b"n1", t(200), t(50)).unwrap();
    store.remember_nonce(&alice, b"n2", t(200), t(50)).unwrap();
    // Expired at t(10).
    assert!(!store.nonce_in_use(&alice, b"n3", t(50)).unwrap());
    store.remember_nonce(&alice, b"n3", t(200), t(50)).unwrap();
    assert_eq!(store.purge_expired(t(150)).unwrap(), 2);
    assert_eq!(fx.count("SELECT COUNT(*) FROM spent_nonces"), 3);
    drop(store);
    // undo_16 fails unless the old table is gone and the new one there.
    undo_16(fx);
}

/// A DER-shaped certificate (SEQUENCE of a TBS SEQUENCE, an algorithm and
/// a BIT STRING) around `tbs_value`, with long-form lengths when it is big.
fn cert_around(tbs_value: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match value.len() {
            n @ 0..=0x7f => out.push(u8::try_from(n).unwrap()),
            n @ 0x80..=0xff => out.extend([0x81, u8::try_from(n).unwrap()]),
            n => out.extend(
                [0x82]
                    .into_iter()
                    .chain(u16::try_from(n).unwrap().to_be_bytes()),
            ),
        }
        out.extend_from_slice(value);
        out
    }
    let tbs = tlv(0x30, tbs_value);
    let mut body = tbs.clone();
    body.extend(tlv(0x30, &[0x06, 0x01, 0x2a]));
    body.extend(tlv(0x03, &[0x00, 0x55]));
    (tlv(0x30, &body), tbs)
}

/// Whether certificate `n` of `ca` keeps no TBS of its own.
fn tbs_column_is_empty(fx: &dyn Fixture, ca: &str, n: u64) -> bool {
    let serial = fx.blob_literal(serial(n).as_bytes());
    fx.count(&format!(
        "SELECT COUNT(*) FROM certificates
         WHERE issuer = '{ca}' AND serial = {serial} AND tbs_der IS NULL"
    )) == 1
}

/// An issued row stores its TBS once, inside the certificate, whichever
/// way it was issued (one write unit, or reserved then completed), and
/// reads it back from there; a TBS the certificate does not carry, or a
/// certificate that is not DER, keeps its own column.
pub(crate) fn issued_rows_keep_their_tbs_once(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(store.as_ref(), "ca");
    let (cert_der, tbs) = cert_around(&[0x5a; 300]);
    let with = |cert_der: &[u8]| {
        let mut c = issued("CN=a", &["dns:a.example"], 0, 100);
        c.cert_der = cert_der.to_vec();
        c
    };
    let tbs_of =
        |store: &dyn Store, n: u64| store.get_cert("ca", &serial(n)).unwrap().unwrap().tbs_der;

    // 1: one write unit, the TBS recorded in the reservation.
    let mut unit = WriteUnit::new(t(0));
    let mut r = reservation("ca", &serial(1));
    r.tbs_der = Some(tbs.clone());
    unit.push(Write::Certificate {
        serial: r,
        cert: with(&cert_der),
    });
    store.commit_unit(unit).unwrap();
    assert!(tbs_column_is_empty(fx, "ca", 1));
    assert_eq!(tbs_of(store.as_ref(), 1), Some(tbs.clone()));

    // 2: reserved, its TBS recorded, then completed.
    store
        .reserve_serial(&reservation("ca", &serial(2)), t(0))
        .unwrap();
    store.record_tbs("ca", &serial(2), &tbs).unwrap();
    assert!(!tbs_column_is_empty(fx, "ca", 2));
    store
        .complete_issuance("ca", &serial(2), &with(&cert_der))
        .unwrap();
    assert!(tbs_column_is_empty(fx, "ca", 2));
    assert_eq!(tbs_of(store.as_ref(), 2), Some(tbs.clone()));

    // 3: a certificate around another TBS: the recorded one stays.
    let (other_der, _) = cert_around(&[0x11; 5]);
    store
        .reserve_serial(&reservation("ca", &serial(3)), t(0))
        .unwrap();
    store.record_tbs("ca", &serial(3), &tbs).unwrap();
    store
        .complete_issuance("ca", &serial(3), &with(&other_der))
        .unwrap();
    assert!(!tbs_column_is_empty(fx, "ca", 3));
    assert_eq!(tbs_of(store.as_ref(), 3), Some(tbs.clone()));
    let mut r = reservation("ca", &serial(4));
    r.tbs_der = Some(tbs.clone());
    store.reserve_serial(&r, t(0)).unwrap();
    store
        .complete_issuance("ca", &serial(4), &with(&other_der))
        .unwrap();
    assert_eq!(tbs_of(store.as_ref(), 4), Some(tbs.clone()));

    // 5: not DER at all: nothing to read back but the recorded TBS.
    let mut unit = WriteUnit::new(t(0));
    let mut r = reservation("ca", &serial(5));
    r.tbs_der = Some(b"tbs".to_vec());
    unit.push(Write::Certificate {
        serial: r,
        cert: with(b"not a certificate"),
    });
    store.commit_unit(unit).unwrap();
    assert_eq!(tbs_of(store.as_ref(), 5), Some(b"tbs".to_vec()));
    // 6: truncated DER: no TBS, and no panic reading it.
    let mut unit = WriteUnit::new(t(0));
    unit.push(Write::Certificate {
        serial: reservation("ca", &serial(6)),
        cert: with(&cert_der[..cert_der.len() - 1]),
    });
    store.commit_unit(unit).unwrap();
    assert_eq!(tbs_of(store.as_ref(), 6), None);
}
