//! Write units per second on a store, grouped or one transaction each: what
//! BENCHMARKS.md ("Issue 15: durable writes") compares on SQLite and
//! PostgreSQL.
//!
//! `cargo run --release -p cmc-store --example commit_bench -- URL THREADS UNITS_PER_THREAD [single]`
//!
//! Each unit is what one enrollment writes: a certificate (700 bytes, its
//! 500-byte TBS, two SANs), its audit event, a nonce and a transaction id.
//! Prints units/s, commits and commits per unit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use cmc_store::{
    AuditEvent, AuditKind, CaRecord, IssuedCert, NewReservation, OpenOptions, Outcome, Serial,
    UnixTime, Write, WriteUnit, fingerprint,
};

fn unit(thread: u64, n: u64, now: UnixTime) -> WriteUnit {
    let mut id = [0u8; 16];
    id[0] = 0x40;
    id[1..9].copy_from_slice(&thread.to_be_bytes());
    id[9..].copy_from_slice(&n.to_be_bytes()[1..]);
    let serial = Serial::from_be_bytes(&id).unwrap();
    let mut unit = WriteUnit::new(now);
    let signer = fingerprint(&thread.to_be_bytes());
    unit.push(Write::Nonce {
        signer,
        nonce: id.to_vec(),
        expires_at: now.plus_secs(86_400),
    });
    unit.push(Write::Transaction {
        signer,
        transaction_id: id.to_vec(),
        expires_at: now.plus_secs(86_400),
    });
    unit.push(Write::Certificate {
        serial: NewReservation {
            issuer: "bench".into(),
            serial: serial.clone(),
            requester: "ra".into(),
            profile: "default".into(),
            request_hash: vec![7; 32],
            tbs_der: Some(vec![0x30; 500]),
            generation: 1,
        },
        cert: IssuedCert {
            cert_der: vec![0x30; 700],
            subject: format!("CN=device {thread}-{n}"),
            sans: vec![format!("dns:d{thread}-{n}.example"), "ip:192.0.2.1".into()],
            not_before: now,
            not_after: now.plus_secs(93 * 86_400),
            issued_at: now,
        },
    });
    unit.push(Write::Audit(AuditEvent {
        at: now,
        kind: AuditKind::Issued,
        issuer: Some("bench".into()),
        serial: Some(serial),
        profile: Some("default".into()),
        requester: Some("ra".into()),
        outcome: Outcome::Success,
        detail: format!(
            "{{\"decision\":{{\"subject\":\"CN=device {thread}-{n}\"}},\"request_sha256\":\"{}\"}}",
            "ab".repeat(32)
        ),
    }));
    unit
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = &args[1];
    let threads: u64 = args[2].parse().unwrap();
    let per_thread: u64 = args[3].parse().unwrap();
    let grouped = args.get(4).map(String::as_str) != Some("single");
    let options = OpenOptions {
        pool_size: usize::try_from(threads).unwrap().max(4),
        group_commit: Some(grouped),
        ..OpenOptions::default()
    };
    let store = cmc_store::open_with(url, &options).unwrap();
    let now = UnixTime::from_secs(1_800_000_000);
    if store.get_ca("bench").unwrap().is_none() {
        store
            .put_ca(&CaRecord {
                name: "bench".into(),
                cert_der: vec![0x30; 600],
                chain_der: vec![],
                key_ref: "{}".into(),
                parent: None,
                created_at: now,
            })
            .unwrap();
    }
    // Serials and nonces unique across runs on one database.
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        << 16;
    let base = store.write_stats();
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for n in 0..per_thread {
                    store.commit_unit(unit(t + salt, n, now)).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let stats = store.write_stats();
    let units = stats.units - base.units;
    let commits = stats.commits - base.commits;
    println!(
        "{} threads, {}: {units} units in {secs:.2} s = {:.0} units/s; {commits} commits, {:.3} commits per unit",
        threads,
        if grouped {
            "grouped"
        } else {
            "one transaction per unit"
        },
        units as f64 / secs,
        commits as f64 / units as f64
    );
}
