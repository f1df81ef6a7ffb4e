//! `bench-load`: fills the store with synthetic certificates for scale
//! benchmarks (issue 15: throughput with 10 million certificates stored,
//! a CRL of a million entries), and times CRL generation over them.
//!
//! Every row shares one template DER (the CA's own certificate, for a
//! realistic size) but has its own random serial, subject
//! (`CN=bulk-<n>,O=cmc bench load`), SAN (`dns:bulk-<n>.bench.invalid`),
//! validity (93 days starting somewhere in the last 90 days) and issue
//! time, so the store's indexes grow as they would in service. `--revoked`
//! rows are spread evenly among them, with a spread of reasons, some with
//! an invalidity date. Rows are made on one thread and written on another,
//! one transaction per `--chunk` rows.

use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_ca::Records;
use cmc_ca::types::{BulkCert, IssuedCert, Revocation, RevocationReason, Serial, UnixTime};

use crate::Io;
use crate::context::Context;

const DAY: i64 = 86_400;

/// `bench-load` arguments.
#[derive(Debug, Args)]
pub struct BenchLoadArgs {
    /// The CA the certificates are recorded under (must exist in the store).
    #[arg(long, value_name = "NAME")]
    pub ca: String,
    /// How many certificates to add.
    #[arg(long, default_value_t = 0)]
    pub certs: u64,
    /// How many of them are stored revoked.
    #[arg(long, default_value_t = 0)]
    pub revoked: u64,
    /// Rows per transaction.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub chunk: u64,
    /// After loading, issue a CRL for the CA and print how long it took
    /// (loads the CA key, as `crl generate` does).
    #[arg(long)]
    pub crl: bool,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A random positive serial of 16 octets (top bit clear, first octet not
/// zero), as this CA drew them before its serials began with the time
/// (and as an imported CA's may be): the loaded rows spread over the whole
/// serial index, the hardest case for the serials issued after them.
fn random_serial() -> Result<Serial> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness for a serial: {e}"))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Serial::from_be_bytes(&bytes).map_err(|e| anyhow!("serial: {e}"))
}

/// Row `n` of `total`, revoked when it falls on the `revoked` spread.
fn row(
    ca: &str,
    template: &[u8],
    n: u64,
    every: Option<u64>,
    now: i64,
    salt: u64,
) -> Result<BulkCert> {
    // A spread of start times over the last 90 days, fixed per row.
    let spread =
        i64::try_from((n.wrapping_mul(2_654_435_761) ^ salt) % (90 * DAY as u64)).unwrap_or(0);
    let not_before = now - spread;
    let revoked = every.is_some_and(|k| n % k == 0);
    let reasons = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::AffiliationChanged,
    ];
    let reason = reasons[usize::try_from(n % 5).unwrap_or(0)];
    Ok(BulkCert {
        issuer: ca.to_owned(),
        serial: random_serial()?,
        requester: "bench-load".into(),
        profile: "bench-load".into(),
        request_hash: n.to_be_bytes().repeat(4),
        cert: IssuedCert {
            cert_der: template.to_vec(),
            subject: format!("CN=bulk-{n},O=cmc bench load"),
            sans: vec![format!("dns:bulk-{n}.bench.invalid")],
            not_before: UnixTime::from_secs(not_before),
            not_after: UnixTime::from_secs(not_before + 93 * DAY),
            issued_at: UnixTime::from_secs(not_before),
        },
        revocation: revoked.then(|| Revocation {
            reason,
            revoked_at: UnixTime::from_secs(not_before + spread / 2),
            invalidity_date: (n % 3 == 0).then(|| UnixTime::from_secs(not_before + spread / 4)),
        }),
    })
}

pub(crate) fn run(ctx: &Context, args: &BenchLoadArgs, io: &mut Io<'_>) -> Result<()> {
    if args.revoked > args.certs {
        bail!(
            "--revoked ({}) exceeds --certs ({})",
            args.revoked,
            args.certs
        );
    }
    let records = ctx.records()?;
    let ca = records
        .ca(&args.ca)?
        .ok_or_else(|| anyhow!("no CA {:?} in the store", args.ca))?;
    if args.certs > 0 {
        load(&records, &args.ca, &ca.cert_der, args, io)?;
    }
    if args.crl {
        let engine = ctx.engine()?;
        let start = Instant::now();
        let crl = engine
            .generate_crl(&args.ca)
            .with_context(|| format!("issuing a CRL for CA {:?}", args.ca))?;
        let secs = start.elapsed().as_secs_f64();
        writeln!(
            io.out,
            "CRL number {} of {}: {} bytes in {secs:.2} s",
            crl.crl_number,
            args.ca,
            crl.der.len()
        )?;
    }
    Ok(())
}

fn load(
    records: &Records,
    ca: &str,
    template: &[u8],
    args: &BenchLoadArgs,
    io: &mut Io<'_>,
) -> Result<()> {
    let total = args.certs;
    let every = (args.revoked > 0).then(|| total / args.revoked);
    let now = unix_now();
    let mut salt = [0_u8; 8];
    getrandom::fill(&mut salt).map_err(|e| anyhow!("no randomness: {e}"))?;
    let salt = u64::from_be_bytes(salt);
    let chunk = args.chunk;
    let (tx, rx) = sync_channel::<Result<Vec<BulkCert>>>(2);
    let (ca_name, template) = (ca.to_owned(), template.to_vec());
    let producer = thread::spawn(move || {
        let mut start = 0;
        while start < total {
            let end = (start + chunk).min(total);
            let rows = (start..end)
                .map(|n| row(&ca_name, &template, n, every, now, salt))
                .collect::<Result<Vec<_>>>();
            let failed = rows.is_err();
            if tx.send(rows).is_err() || failed {
                return;
            }
            start = end;
        }
    });
    let started = Instant::now();
    let mut loaded = 0_u64;
    let mut revoked = 0_u64;
    let mut next_report = 1_000_000;
    for rows in rx {
        let rows = rows?;
        revoked += rows.iter().filter(|r| r.revocation.is_some()).count() as u64;
        loaded += records
            .bulk_insert(&rows)
            .with_context(|| format!("storing rows {}..{}", loaded, loaded + rows.len() as u64))?;
        if loaded >= next_report {
            let secs = started.elapsed().as_secs_f64();
            writeln!(
                io.err,
                "{loaded} rows in {secs:.0} s ({:.0} rows/s)",
                loaded as f64 / secs
            )?;
            next_report += 1_000_000;
        }
    }
    producer
        .join()
        .map_err(|_| anyhow!("the row generator panicked"))?;
    let secs = started.elapsed().as_secs_f64();
    writeln!(
        io.out,
        "loaded {loaded} certificates ({revoked} revoked) into {ca} in {secs:.1} s: {:.0} rows/s",
        loaded as f64 / secs
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_distinct_and_revoked_on_the_spread() {
        let now = 1_800_000_000;
        let rows: Vec<_> = (0..100)
            .map(|n| row("ca", b"der", n, Some(10), now, 7).unwrap())
            .collect();
        let revoked: Vec<_> = rows.iter().filter(|r| r.revocation.is_some()).collect();
        assert_eq!(revoked.len(), 10);
        let mut serials: Vec<_> = rows.iter().map(|r| r.serial.clone()).collect();
        serials.sort();
        serials.dedup();
        assert_eq!(serials.len(), 100);
        assert_eq!(rows[3].cert.subject, "CN=bulk-3,O=cmc bench load");
        for r in &rows {
            assert!(r.cert.not_before.secs() <= now);
            assert!(r.cert.not_before.secs() > now - 90 * DAY);
            assert_eq!(r.cert.not_after.secs() - r.cert.not_before.secs(), 93 * DAY);
            if let Some(rev) = r.revocation {
                assert!(rev.revoked_at >= r.cert.not_before && rev.revoked_at.secs() <= now);
            }
        }
    }
}
