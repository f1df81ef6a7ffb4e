//! CA key generations (schema 12): the 11 → 12 migration on a database
//! with certificates, and the passive → active → retired state machine.

use cmc_store::{AuditKind, CaGeneration, Error, GenerationState, RevocationReason};

use super::{Fixture, add_ca, event, issue, serial, t, undo_14};

fn passive(ca: &str, generation: u32) -> CaGeneration {
    CaGeneration {
        ca: ca.into(),
        generation,
        state: GenerationState::Passive,
        cert_der: format!("cert of {ca} generation {generation}").into_bytes(),
        chain_der: vec![b"issuer".to_vec()],
        key_ref: format!("{{\"file\":\"{ca}.gen{generation}.p8\"}}"),
        created_at: t(10),
        activate_at: Some(t(100)),
        retired_at: None,
    }
}

fn revoked_serials(store: &dyn cmc_store::Store, generation: u32) -> Vec<cmc_store::Serial> {
    let mut out = Vec::new();
    store
        .for_each_revoked_of_generation("ca", generation, &mut |e| {
            out.push(e.serial);
            Ok(())
        })
        .unwrap();
    out
}

/// A database written by schema 11 (this schema without migration 12's
/// columns and tables, holding a CA and a revoked certificate) is
/// migrated on open: everything it had is generation 1.
pub(crate) fn schema_11_database_migrates_to_generations(fx: &dyn Fixture) {
    let store = fx.open();
    add_ca(store.as_ref(), "ca");
    issue(store.as_ref(), "ca", &serial(1), "CN=old", &[]);
    store
        .revoke("ca", &serial(1), RevocationReason::Superseded, t(5), None)
        .unwrap();
    drop(store);
    undo_14(fx);
    fx.sql(
        "DROP TABLE ca_generation_chain;
         DROP TABLE ca_generations;
         ALTER TABLE cas DROP COLUMN generation;
         ALTER TABLE certificates DROP COLUMN ca_generation;
         DELETE FROM schema_migrations WHERE version >= 12;",
    );
    assert_eq!(fx.migration_rows(), 11);

    let store = fx.open();
    assert_eq!(store.schema_version().unwrap(), cmc_store::SCHEMA_VERSION);
    assert_eq!(store.active_generation("ca").unwrap(), 1);
    assert!(store.list_generations("ca").unwrap().is_empty());
    assert_eq!(revoked_serials(store.as_ref(), 1), [serial(1)]);
    assert!(revoked_serials(store.as_ref(), 2).is_empty());
    // The migrated CA rolls over like a new one.
    store
        .put_passive_generation(
            &passive("ca", 2),
            &event(AuditKind::Other("ca-rollover".into()), "ca", None, "op", 10),
        )
        .unwrap();
    store
        .activate_generation(
            "ca",
            2,
            t(20),
            &event(
                AuditKind::Other("ca-activated".into()),
                "ca",
                None,
                "op",
                20,
            ),
        )
        .unwrap();
    assert_eq!(store.active_generation("ca").unwrap(), 2);
}

pub(crate) fn generations_passive_active_retired(fx: &dyn Fixture) {
    let store = fx.open();
    let ev = |at| event(AuditKind::Other("ca-rollover".into()), "ca", None, "op", at);
    assert!(matches!(
        store.active_generation("nope"),
        Err(Error::NotFound(_))
    ));
    add_ca(store.as_ref(), "ca");
    let before = store.get_ca("ca").unwrap().unwrap();
    // Nothing to activate yet.
    assert!(matches!(
        store.activate_generation("ca", 2, t(5), &ev(5)),
        Err(Error::NotFound(_))
    ));
    // Only the next number, only passive.
    assert!(matches!(
        store.put_passive_generation(&passive("ca", 3), &ev(6)),
        Err(Error::Invalid(_))
    ));
    let mut retired = passive("ca", 2);
    retired.state = GenerationState::Retired;
    assert!(matches!(
        store.put_passive_generation(&retired, &ev(6)),
        Err(Error::Invalid(_))
    ));
    store
        .put_passive_generation(&passive("ca", 2), &ev(7))
        .unwrap();
    // One passive generation at a time.
    assert!(matches!(
        store.put_passive_generation(&passive("ca", 2), &ev(8)),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(store.list_generations("ca").unwrap(), [passive("ca", 2)]);
    // Passive issues nothing: the CA record is unchanged.
    assert_eq!(store.get_ca("ca").unwrap().unwrap(), before);

    // Certificates of generation 1, then 2.
    let mut r = super::reservation("ca", &serial(1));
    store.reserve_serial(&r, t(0)).unwrap();
    r = super::reservation("ca", &serial(2));
    r.generation = 2;
    store.reserve_serial(&r, t(0)).unwrap();
    for s in [serial(1), serial(2)] {
        store
            .complete_issuance("ca", &s, &super::issued("CN=x", &[], 0, 1000))
            .unwrap();
        store
            .revoke("ca", &s, RevocationReason::Superseded, t(9), None)
            .unwrap();
    }

    // Wrong number: nothing changes.
    assert!(matches!(
        store.activate_generation("ca", 3, t(10), &ev(10)),
        Err(Error::NotFound(_))
    ));
    store.activate_generation("ca", 2, t(11), &ev(11)).unwrap();
    // Twice: the passive generation is gone.
    assert!(matches!(
        store.activate_generation("ca", 2, t(12), &ev(12)),
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.active_generation("ca").unwrap(), 2);
    let now = store.get_ca("ca").unwrap().unwrap();
    assert_eq!(now.cert_der, passive("ca", 2).cert_der);
    assert_eq!(now.key_ref, passive("ca", 2).key_ref);
    assert_eq!(now.chain_der, [b"issuer".to_vec()]);
    let gens = store.list_generations("ca").unwrap();
    assert_eq!(gens.len(), 1);
    assert_eq!(gens[0].generation, 1);
    assert_eq!(gens[0].state, GenerationState::Retired);
    assert_eq!(gens[0].cert_der, before.cert_der);
    assert_eq!(gens[0].key_ref, before.key_ref);
    assert_eq!(gens[0].retired_at, Some(t(11)));
    // Each generation's CRL lists its own.
    assert_eq!(revoked_serials(store.as_ref(), 1), [serial(1)]);
    assert_eq!(revoked_serials(store.as_ref(), 2), [serial(2)]);
    // The next rollover is generation 3.
    store
        .put_passive_generation(&passive("ca", 3), &ev(13))
        .unwrap();
}
