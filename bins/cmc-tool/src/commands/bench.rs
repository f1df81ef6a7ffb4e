//! `bench`: a load generator for a CMC server on this host. It builds N
//! distinct signed Full PKI Requests first (not timed), sends them over C
//! concurrent client threads (each with its own `enroll` HTTP client, whose
//! one keep-alive connection carries all of the thread's requests, or one
//! connection per request with `--no-keep-alive`), and verifies every
//! response after the clock has stopped.
//!
//! Closed loop by default: each thread sends its next request when the
//! last is answered, and latency runs from sending to the last response
//! byte. With `--rate N`, open loop: request `i` is due at `i / N` seconds
//! after the start whatever the answers, a thread sends it at that time or
//! as soon as it is free, and latency runs from the time it was due, so a
//! server that falls behind sees its queue counted (no coordinated
//! omission).
//!
//! Around the timed phase it reads the server's `/metrics` (same host and
//! port as `--url`) and reports, per enrollment, the durable store commits
//! (`cmc_store_commits_total`), the bytes the server process wrote to
//! disk (`process_io_write_bytes_total`) and the server's CPU time
//! (`process_cpu_seconds_total`, next to what its signatures cost), each
//! when the server reports it, and how busy this host's cores were
//! (`/proc/stat`), split into the server's share and the rest (the load
//! generator and the kernel's work for it share the cores).
//! In the same run it measures, single-threaded, the signature operations
//! the server pays per enrollment (through the same cmc-keys and cmc-codec
//! functions the server uses, so with the same cryptographic backend), to
//! put the throughput next to what the cryptography alone would allow.

mod host;
mod send;
mod server;

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_asn1::{CmcStatus, RecipientNonce};
use cmc_codec::alg::{SignatureAlg, ec_curve, verify_signature};
use cmc_codec::{CmsSigner, ResponseVerifyOptions, build_csr, decode_response};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use der::asn1::UintRef;
use der::{Decode, Encode, Reader, SliceReader};
use serde::Serialize;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::Io;
use crate::commands::args::PassphraseArgs;
use crate::commands::request::{nonce_builder, read_cert_file, signer_key};
use crate::http;
use host::HostFigures;
use send::{Pace, Sender};
use server::{COMMITS, CPU_SECONDS, ServerFigures, WRITE_BYTES, scrape, server_figures};

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The CMC server's URL on this host, e.g. `http://127.0.0.1:8080/cmc/root`.
    #[arg(long)]
    pub url: String,
    /// The CA certificate(s) the responses must verify against (PEM or DER);
    /// the first one's key type is the CA's for the crypto figures.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: PathBuf,
    /// The certificate that signs the requests (an RA's, PEM or DER).
    #[arg(long, value_name = "PEM")]
    pub signer_cert: PathBuf,
    /// The signer's key file.
    #[arg(long, value_name = "KEY")]
    pub signer_key: PathBuf,
    /// Where the signer key's passphrase is (or --unencrypted-key).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// How many enrollments to send.
    #[arg(
        short = 'n',
        long = "requests",
        value_name = "N",
        default_value_t = 2000
    )]
    pub requests: usize,
    /// How many concurrent connections (threads) send them.
    #[arg(short = 'c', long, value_name = "C", default_value_t = 8)]
    pub concurrency: usize,
    /// Open loop: release N requests per second (across the connections)
    /// on a fixed schedule, latency counted from each one's scheduled time.
    /// Without it, closed loop: each connection sends its next request when
    /// the last is answered.
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// Open a new connection for every request (`Connection: close`)
    /// instead of keeping one per thread, for comparison.
    #[arg(long)]
    pub no_keep_alive: bool,
    /// The requested keys' type (default p256).
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<KeySpec>,
    /// How many times each signature operation is timed.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub crypto_iterations: usize,
    /// Seconds to wait for connecting, sending and each read.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The request's body part identifier, as `enroll` uses it (the
/// senderNonce is 1).
const REQUEST_ID: u32 = 3;

/// The OID of rsaEncryption.
const RSA_ENCRYPTION: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// One pre-built request.
struct Prepared {
    der: Vec<u8>,
    nonce: [u8; 16],
}

/// The figures of a run, as printed.
#[derive(Debug, Serialize)]
struct Report {
    requests: usize,
    concurrency: usize,
    /// Whether each thread kept its connection (else one per request).
    keep_alive: bool,
    /// `closed-loop` or `open-loop`.
    mode: &'static str,
    /// The offered rate of an open loop, per second.
    offered_rate_per_s: Option<f64>,
    successes: usize,
    failures: usize,
    wall_time_s: f64,
    /// Successful enrollments per second of wall time: the achieved rate.
    enrollments_per_s: f64,
    /// `send` (closed loop) or `schedule` (open loop).
    latency_from: &'static str,
    latency_ms: Latency,
    /// The latest a request was sent after its due time (open loop).
    max_send_lag_ms: Option<f64>,
    server: ServerFigures,
    /// This host's cores over the timed phase (absent without /proc/stat).
    host: Option<HostFigures>,
    crypto: Crypto,
}

/// Latency percentiles over every request (successful or not), in ms.
#[derive(Debug, Serialize)]
struct Latency {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// The single-threaded signature costs, in µs per operation.
#[derive(Debug, Serialize)]
struct Crypto {
    iterations: usize,
    /// The library that signs with file keys (`aws-lc-rs` or `RustCrypto`).
    sign_backend: &'static str,
    /// The library that verifies signatures.
    verify_backend: &'static str,
    client_key: String,
    signer_key: String,
    ca_key: String,
    verify_cms_request_us: f64,
    verify_pkcs10_us: f64,
    sign_tbs_certificate_us: f64,
    sign_cms_response_us: f64,
    cost_per_request_us: f64,
    bound_per_core_per_s: f64,
    cores: usize,
    cores_used: usize,
    measured_over_bound: f64,
}

/// `bench`.
pub(crate) fn run(args: &BenchArgs, io: &mut Io<'_>) -> Result<()> {
    if args.requests == 0 {
        bail!("-n must be at least 1");
    }
    if args.concurrency == 0 {
        bail!("-c must be at least 1");
    }
    let pace = match args.rate {
        None => Pace::Closed,
        Some(r) if r.is_finite() && r > 0.0 => Pace::Open { per_s: r },
        Some(r) => bail!("--rate {r}: must be a positive number of requests per second"),
    };
    let url = http::parse_url(&args.url)?;
    if url.tls {
        bail!(
            "{}: bench measures the CMC path over plain http:// only",
            args.url
        );
    }
    check_loopback(&url)?;
    let trusted = read_cert_file(&args.ca_cert, "--ca-cert")?;
    let ca_spec = {
        let ca = trusted
            .first()
            .ok_or_else(|| anyhow!("--ca-cert: no certificate"))?;
        key_spec(ca.tbs_certificate().subject_public_key_info())
            .context("--ca-cert: the CA's key type")?
    };
    let signer_certs = read_cert_file(&args.signer_cert, "--signer-cert")?;
    let (cert, chain) = signer_certs
        .split_first()
        .ok_or_else(|| anyhow!("--signer-cert: no certificate"))?;
    let key = signer_key(&args.signer_key, &args.passphrase)?;
    let signer = CmsSigner::new(&key, cert, chain).map_err(|e| {
        anyhow!(
            "--signer-key {} does not belong to --signer-cert {}: {e}",
            args.signer_key.display(),
            args.signer_cert.display()
        )
    })?;
    let client_spec = args.key_type.unwrap_or(KeySpec::P256);

    writeln!(
        io.err,
        "building {} requests ({client_spec} keys)...",
        args.requests
    )
    .context("writing output")?;
    let prepared = (0..args.requests)
        .map(|i| prepare(&signer, client_spec, i))
        .collect::<Result<Vec<_>>>()?;

    let keep_alive = !args.no_keep_alive;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let metrics_url = http::Url {
        path: "/metrics".to_owned(),
        ..http::parse_url(&args.url)?
    };
    let before = scrape(&metrics_url, timeout);
    writeln!(
        io.err,
        "sending them over {} {}...",
        args.concurrency,
        if keep_alive {
            "kept-alive connections"
        } else {
            "threads, one connection per request"
        }
    )
    .context("writing output")?;
    let sender = Sender {
        url: &url,
        concurrency: args.concurrency,
        timeout,
        keep_alive,
        pace,
    };
    let ticks_before = host::sample();
    let (outcomes, wall) = sender.send_all(&prepared);
    let ticks_after = host::sample();
    let after = scrape(&metrics_url, timeout);

    // Verification happens here, after the clock stopped: it is in neither
    // the latencies nor the wall time.
    let now = SystemTime::now();
    let opts = ResponseVerifyOptions::new(now, &trusted);
    let mut successes = 0;
    let mut first_failure = None;
    for (i, (p, o)) in prepared.iter().zip(&outcomes).enumerate() {
        match check(p, &o.reply, &opts) {
            Ok(()) => successes += 1,
            Err(e) => {
                if first_failure.is_none() {
                    first_failure = Some(format!("request {i}: {e:#}"));
                }
            }
        }
    }
    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    latencies.sort_unstable();
    let max_lag = outcomes.iter().map(|o| o.lag).max().unwrap_or_default();
    let server = server_figures(
        format!(
            "http://{}:{}{}",
            metrics_url.host, metrics_url.port, metrics_url.path
        ),
        &before,
        &after,
        successes,
    );

    writeln!(
        io.err,
        "measuring the signature operations ({} each)...",
        args.crypto_iterations
    )
    .context("writing output")?;
    let wall_s = wall.as_secs_f64();
    let per_s = if wall_s > 0.0 {
        successes as f64 / wall_s
    } else {
        0.0
    };
    let crypto = measure_crypto(
        &key,
        cert,
        client_spec,
        ca_spec,
        &prepared[0].der,
        args.crypto_iterations.max(1),
        args.concurrency,
        per_s,
    )?;
    let open = matches!(pace, Pace::Open { .. });
    let report = Report {
        requests: args.requests,
        concurrency: args.concurrency,
        keep_alive,
        mode: if open { "open-loop" } else { "closed-loop" },
        offered_rate_per_s: args.rate,
        successes,
        failures: args.requests - successes,
        wall_time_s: wall_s,
        enrollments_per_s: per_s,
        latency_from: if open { "schedule" } else { "send" },
        latency_ms: Latency {
            p50: ms(percentile(&latencies, 50)),
            p90: ms(percentile(&latencies, 90)),
            p99: ms(percentile(&latencies, 99)),
            max: ms(latencies.last().copied().unwrap_or_default()),
        },
        max_send_lag_ms: open.then(|| ms(max_lag)),
        host: host::figures(ticks_before, ticks_after, server.cpu_seconds),
        server,
        crypto,
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *io.out, &report).context("writing output")?;
        writeln!(io.out).context("writing output")?;
    } else {
        print_text(&report, io)?;
    }
    if let Some(f) = first_failure {
        writeln!(io.err, "first failure: {f}").context("writing output")?;
        bail!("{} of {} requests failed", report.failures, report.requests);
    }
    Ok(())
}

/// Refuses anything but this host: a load generator is not pointed at
/// someone else's server by a typo.
fn check_loopback(url: &http::Url) -> Result<()> {
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (host, url.port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {}", url.host))?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
        bail!(
            "{}: bench only sends to a loopback address (127.0.0.1, [::1], localhost)",
            url.host
        );
    }
    Ok(())
}

/// The key type of a public key (EC by its curve, RSA by its modulus size).
fn key_spec(spki: &SubjectPublicKeyInfoOwned) -> Result<KeySpec> {
    if spki.algorithm.oid == RSA_ENCRYPTION {
        let bytes = spki.subject_public_key.raw_bytes();
        let mut reader = SliceReader::new(bytes).map_err(|e| anyhow!("RSA key: {e}"))?;
        let modulus = reader
            .sequence(|r| -> der::Result<Vec<u8>> {
                let n = UintRef::decode(r)?;
                let _e = UintRef::decode(r)?;
                Ok(n.as_bytes().to_vec())
            })
            .map_err(|e| anyhow!("RSA key: {e}"))?;
        let bits = modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize);
        return KeySpec::from_rsa_bits(bits)
            .ok_or_else(|| anyhow!("an RSA key of {bits} bits is not a supported key type"));
    }
    let curve = ec_curve(spki).map_err(|e| anyhow!("{e}"))?;
    KeySpec::from_curve_oid(&curve).ok_or_else(|| anyhow!("unsupported curve {curve}"))
}

/// Request `i`: a fresh key, a PKCS #10 for CN=bench-i, a fresh senderNonce.
fn prepare(signer: &CmsSigner<'_>, spec: KeySpec, i: usize) -> Result<Prepared> {
    let key = FileKey::generate(spec)?;
    let subject = cmc_ca::x509::parse_name(&format!("CN=bench-{i}"))?;
    let (mut builder, nonce) = nonce_builder()?;
    builder.pkcs10(REQUEST_ID, build_csr(&key, subject, Vec::new())?)?;
    let der = builder.sign(signer, SystemTime::now())?;
    Ok(Prepared { der, nonce })
}

/// A success: HTTP 200, a response that verifies against the CA
/// certificates, our nonce echoed, every status success, a certificate.
fn check(
    p: &Prepared,
    reply: &Result<http::Response>,
    opts: &ResponseVerifyOptions<'_>,
) -> Result<()> {
    let reply = reply.as_ref().map_err(|e| anyhow!("{e:#}"))?;
    if reply.status != 200 {
        bail!("HTTP {} {}", reply.status, reply.reason);
    }
    let response = decode_response(&reply.body, opts)
        .map_err(|e| anyhow!("the response does not verify: {e}"))?;
    let echoed = response
        .pki_response
        .controls_of::<RecipientNonce>()
        .map_err(|e| anyhow!("recipientNonce does not decode: {e}"))?;
    match echoed.as_slice() {
        [(_, n)] if n.0.as_bytes() == p.nonce => {}
        _ => bail!("the response does not echo our senderNonce once"),
    }
    let statuses = response
        .statuses()
        .map_err(|e| anyhow!("the response's status does not decode: {e}"))?;
    if statuses.is_empty() {
        bail!("the response carries no status");
    }
    if let Some(s) = statuses.iter().find(|s| s.status != CmcStatus::Success) {
        bail!(
            "the CA answered {}",
            crate::commands::exchange::status_line(s)
        );
    }
    let Some(ca) = response.signer.certificate() else {
        bail!("the response signer has no certificate");
    };
    if response.issued_by(ca).is_empty() {
        bail!("the response carries no certificate issued by its signer");
    }
    Ok(())
}

/// Mean µs of `f` over `n` calls.
fn time_us(n: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm-up
    let t = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// The four signature operations of one enrollment, single-threaded:
/// verifying the request's CMS signature (the signer's key) and the
/// PKCS #10 self-signature (a client key), and signing the certificate's
/// TBS and the CMS response (a throw-away key of the CA's type).
#[allow(clippy::too_many_arguments)]
fn measure_crypto(
    signer: &FileKey,
    signer_cert: &Certificate,
    client_spec: KeySpec,
    ca_spec: KeySpec,
    request_der: &[u8],
    n: usize,
    concurrency: usize,
    measured_per_s: f64,
) -> Result<Crypto> {
    let alg_of = |k: &dyn SigningKey| {
        SignatureAlg::from_algorithm_identifier(k.signature_algorithm(), None)
            .map_err(|e| anyhow!("{e}"))
    };
    // The CMS signature: over a message the size of the request.
    let signer_spki = signer_cert.tbs_certificate().subject_public_key_info();
    let signer_alg = alg_of(signer)?;
    let cms_sig = signer.sign(request_der)?;
    let verify_cms = time_us(n, || {
        verify_signature(signer_spki, &signer_alg, request_der, &cms_sig, "CMS")
            .map_err(|e| anyhow!("{e}"))
    })?;
    // The PKCS #10 self-signature over its CertificationRequestInfo.
    let client = FileKey::generate(client_spec)?;
    let csr = build_csr(
        &client,
        cmc_ca::x509::parse_name("CN=bench-crypto")?,
        Vec::new(),
    )?;
    let info = csr.info.to_der().map_err(|e| anyhow!("{e}"))?;
    let csr_alg = SignatureAlg::from_algorithm_identifier(&csr.algorithm, None)
        .map_err(|e| anyhow!("{e}"))?;
    let csr_sig = csr.signature.raw_bytes();
    let verify_csr = time_us(n, || {
        verify_signature(&csr.info.public_key, &csr_alg, &info, csr_sig, "PKCS #10")
            .map_err(|e| anyhow!("{e}"))
    })?;
    // Signing with a key of the CA's type: a TBS the size of the signer's
    // certificate, and the request-sized message for the response.
    let ca_key = FileKey::generate(ca_spec)?;
    let tbs = signer_cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| anyhow!("{e}"))?;
    let sign_tbs = time_us(n, || ca_key.sign(&tbs).map(drop).map_err(Into::into))?;
    let sign_cms = time_us(n, || ca_key.sign(request_der).map(drop).map_err(Into::into))?;
    let cost = verify_cms + verify_csr + sign_tbs + sign_cms;
    let bound = 1e6 / cost;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let cores_used = concurrency.min(cores);
    Ok(Crypto {
        iterations: n,
        sign_backend: cmc_keys::backend_name(),
        verify_backend: cmc_codec::alg::backend_name(),
        client_key: client_spec.to_string(),
        signer_key: signer.spec().to_string(),
        ca_key: ca_spec.to_string(),
        verify_cms_request_us: verify_cms,
        verify_pkcs10_us: verify_csr,
        sign_tbs_certificate_us: sign_tbs,
        sign_cms_response_us: sign_cms,
        cost_per_request_us: cost,
        bound_per_core_per_s: bound,
        cores,
        cores_used,
        measured_over_bound: measured_per_s / (bound * cores_used as f64),
    })
}

/// The nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_text(r: &Report, io: &mut Io<'_>) -> Result<()> {
    let c = &r.crypto;
    let mode = match r.offered_rate_per_s {
        Some(rate) => format!(
            "open loop, {rate:.1} requests/s offered (latency from each request's \
             scheduled send time)"
        ),
        None => "closed loop (latency from sending)".to_owned(),
    };
    let connections = if r.keep_alive {
        "one kept-alive connection per thread"
    } else {
        "one connection per request (Connection: close)"
    };
    let lag = r
        .max_send_lag_ms
        .map(|l| format!("latest send after its time: {l:.2} ms\n"))
        .unwrap_or_default();
    let s = &r.server;
    let server = match &s.error {
        Some(e) => format!("  not read ({e})\n"),
        None => format!(
            "  durable store commits per enrollment: {}\n  \
             bytes written to disk per enrollment: {}\n  \
             server CPU per enrollment: {}\n",
            s.commits_per_enrollment.map_or_else(
                || format!("not reported (no {COMMITS})"),
                |v| format!("{v:.3} ({} commits)", s.store_commits.unwrap_or_default()),
            ),
            s.disk_write_bytes_per_enrollment.map_or_else(
                || format!("not reported (no {WRITE_BYTES})"),
                |v| format!(
                    "{v:.0} ({} bytes; the cmc-server process only, \
                     not a PostgreSQL server's)",
                    s.disk_write_bytes.unwrap_or_default()
                ),
            ),
            s.cpu_ms_per_enrollment.map_or_else(
                || format!("not reported (no {CPU_SECONDS})"),
                |v| format!(
                    "{v:.3} ms ({:.2} s; the signatures below cost {:.3} ms \
                     of it, {:.0} %)",
                    s.cpu_seconds.unwrap_or_default(),
                    c.cost_per_request_us / 1000.0,
                    if v > 0.0 {
                        100.0 * c.cost_per_request_us / 1000.0 / v
                    } else {
                        0.0
                    }
                ),
            ),
        ),
    };
    let host = r
        .host
        .as_ref()
        .map_or_else(|| "not read (no /proc/stat)".to_owned(), host::describe);
    let text = format!(
        "requests:          {}\n\
         concurrency:       {} ({connections})\n\
         mode:              {mode}\n\
         successes:         {}\n\
         failures:          {}\n\
         wall time:         {:.3} s\n\
         enrollments/s:     {:.1}\n\
         latency p50:       {:.2} ms\n\
         latency p90:       {:.2} ms\n\
         latency p99:       {:.2} ms\n\
         latency max:       {:.2} ms\n\
         {lag}\
         (responses verified after timing)\n\
         server, from {} over the timed phase:\n\
         {server}\
         this host over the timed phase: {host}\n\
         server crypto ({} signs, {} verifies), single-threaded, mean of {} each:\n  \
         verify CMS request signature ({}):   {:.1} µs\n  \
         verify PKCS#10 self-signature ({}):  {:.1} µs\n  \
         sign certificate TBS ({}):           {:.1} µs\n  \
         sign CMS response ({}):              {:.1} µs\n\
         crypto cost per request (2 verify + 2 sign): {:.1} µs\n\
         crypto bound, one core:      {:.1} enrollments/s\n\
         cores: {}, min(c, cores): {}\n\
         measured / (crypto bound × min(c, cores)): {:.3}\n",
        r.requests,
        r.concurrency,
        r.successes,
        r.failures,
        r.wall_time_s,
        r.enrollments_per_s,
        r.latency_ms.p50,
        r.latency_ms.p90,
        r.latency_ms.p99,
        r.latency_ms.max,
        s.metrics_url,
        c.sign_backend,
        c.verify_backend,
        c.iterations,
        c.signer_key,
        c.verify_cms_request_us,
        c.client_key,
        c.verify_pkcs10_us,
        c.ca_key,
        c.sign_tbs_certificate_us,
        c.ca_key,
        c.sign_cms_response_us,
        c.cost_per_request_us,
        c.bound_per_core_per_s,
        c.cores,
        c.cores_used,
        c.measured_over_bound,
    );
    io.out.write_all(text.as_bytes()).context("writing output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 50), Duration::from_millis(50));
        assert_eq!(percentile(&d, 99), Duration::from_millis(99));
        assert_eq!(percentile(&d, 100), Duration::from_millis(100));
        assert_eq!(percentile(&d[..1], 50), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn key_types_are_read_from_public_keys() {
        for spec in [KeySpec::P256, KeySpec::P384, KeySpec::Rsa2048] {
            let key = FileKey::generate(spec).unwrap();
            assert_eq!(key_spec(key.public_key()).unwrap(), spec);
        }
    }

    #[test]
    fn only_loopback_is_accepted() {
        assert!(check_loopback(&http::parse_url("http://127.0.0.1:1/cmc/x").unwrap()).is_ok());
        assert!(check_loopback(&http::parse_url("http://[::1]:1/cmc/x").unwrap()).is_ok());
        assert!(check_loopback(&http::parse_url("http://192.0.2.1:1/cmc/x").unwrap()).is_err());
    }
}
