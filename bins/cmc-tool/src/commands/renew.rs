//! `renew`: keep a certificate renewed over CMC, as caucase-updater does.
//!
//! The certificate is due when what remains of its validity falls below the
//! threshold (a fraction of the whole validity, `30%`, or a time, `20d`,
//! `6h`, `15m`, `90s`). Then a Full PKI Request for a new key (the same type
//! as the old one; `--same-key` keeps it where the profile allows key reuse)
//! with the certificate's subject and subjectAltNames, signed by the current
//! certificate and key, goes to the CA (a renewal, RFC 5272 §6.3.3); the new
//! key and certificate are written over the old ones (`renew_step.rs` says
//! in which order), the CA bundle and CRL file refreshed, and the
//! `--on-renew` command run.
//!
//! `--once` checks once (for cron or a systemd timer) and exits with
//! [`EXIT_RENEWED`] (0), [`EXIT_NOT_DUE`] (3), or 1 when the renewal failed
//! (2 is a usage error). `--watch` loops: it sleeps until the certificate is
//! due (re-reading it each time, at least every [`MAX_SLEEP`]), renews, and
//! retries a failed renewal with exponential backoff and jitter
//! ([`backoff`]). Each event is one line on standard error.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{ArgGroup, Args};
use cmc_ca::types::UnixTime;

use crate::Io;
use crate::commands::args::PassphraseArgs;
use crate::commands::renew_step::{Renewed, current_certificate, renew_now};
use crate::time::format_rfc3339;

/// Exit status of `renew --once` when the certificate was renewed.
pub const EXIT_RENEWED: u8 = 0;
/// Exit status of `renew --once` when the certificate is not due yet.
pub const EXIT_NOT_DUE: u8 = 3;

/// The longest `--watch` sleeps before reading the certificate again.
pub const MAX_SLEEP: Duration = Duration::from_secs(3600);
/// The first retry delay after a failed renewal; it doubles per failure.
const BACKOFF_BASE: Duration = Duration::from_secs(10);
/// The longest retry delay.
const BACKOFF_MAX: Duration = Duration::from_secs(3600);

/// `renew`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["watch", "once"])))]
pub struct RenewArgs {
    /// The certificate to renew (PEM: the certificate, optionally followed
    /// by its chain, which the renewed file then carries too).
    #[arg(long, value_name = "PEM")]
    pub cert: PathBuf,
    /// Its key. The new key is written here (mode 0600), encrypted with the
    /// same passphrase (--passphrase-file/--passphrase-env) or unencrypted
    /// like the old one (--unencrypted-key).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Where the key's passphrase is (or --unencrypted-key).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The CMC server's URL, e.g. `https://ca.example/cmc/root`.
    #[arg(long)]
    pub url: String,
    /// The CA certificates the response must chain to (PEM); refreshed
    /// after each renewal with the CA certificates of the response. Without
    /// it, the certificates after the first one in --cert are trusted.
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Write the CA's current CRL (DER) here after each renewal, fetched
    /// from --crl-url, by default `/crl/{ca}.crl` on the server of --url
    /// ({ca} being the last path segment of --url), as cmc-server serves it.
    #[arg(long, value_name = "FILE")]
    pub crl_out: Option<PathBuf>,
    /// Where the CRL is fetched for --crl-out.
    #[arg(long, value_name = "URL", requires = "crl_out")]
    pub crl_url: Option<String>,
    /// Renew when less than this remains: a share of the whole validity
    /// (`30%`) or a time (`20d`, `6h`, `15m`, `90s`).
    #[arg(long, value_name = "WHEN", default_value = "30%", value_parser = Threshold::parse)]
    pub threshold: Threshold,
    /// Ask for this lifetime (`5m`, `12h`, `90d`): a CRMF request with
    /// notAfter = now + LIFETIME, which the profile may shorten. Without it
    /// a PKCS #10 request leaves the validity to the profile.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lifetime: Option<Duration>,
    /// Run this command (`sh -c`) after each renewal, with CMC_RENEW_CERT,
    /// CMC_RENEW_KEY and CMC_RENEW_SERIAL in its environment; its failure
    /// is logged and does not undo the renewal.
    #[arg(long, value_name = "CMD")]
    pub on_renew: Option<String>,
    /// Keep running: renew whenever the certificate is due.
    #[arg(long)]
    pub watch: bool,
    /// Check once, renew if due, and exit: 0 renewed, 3 not due, 1 failed.
    #[arg(long)]
    pub once: bool,
    /// Request a certificate for the same key (only where the CA's profile
    /// allows key reuse; otherwise it answers noKeyReuse).
    #[arg(long)]
    pub same_key: bool,
    /// For an https:// URL: the certificate(s) the server's TLS certificate
    /// must chain to (default: the CA bundle).
    #[arg(long, value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// For an https:// URL: present the current certificate and key as the
    /// TLS client certificate.
    #[arg(long)]
    pub tls_client_auth: bool,
    /// Seconds to wait for connecting, sending and each read.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// For tests only (hidden): the shortest sleep of --watch between two
    /// checks, in seconds (default 60), so that a test can renew
    /// certificates of a few minutes quickly; the retry delays are not
    /// shortened.
    #[arg(long, value_name = "SECS", default_value_t = 60, hide = true)]
    pub min_sleep_secs: u64,
}

/// When a certificate is due for renewal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// When less than this percentage (1 to 99) of the whole validity remains.
    Percent(u8),
    /// When less than this much time remains.
    Remaining(Duration),
}

impl Threshold {
    /// Parses `30%` or a duration as [`parse_duration`] does.
    ///
    /// # Errors
    /// A message for clap.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(p) = text.strip_suffix('%') {
            return match p.trim().parse::<u8>() {
                Ok(n @ 1..=99) => Ok(Self::Percent(n)),
                _ => Err(format!("{text:?}: give a percentage from 1% to 99%")),
            };
        }
        parse_duration(text).map(Self::Remaining)
    }

    /// The Unix time at which a certificate valid from `not_before` to
    /// `not_after` (Unix seconds) is due.
    #[must_use]
    pub fn due_at(self, not_before: i64, not_after: i64) -> i64 {
        match self {
            Self::Percent(p) => {
                let lifetime = not_after.saturating_sub(not_before).max(0);
                not_after - lifetime * i64::from(p) / 100
            }
            Self::Remaining(d) => {
                not_after.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            }
        }
    }
}

/// Parses `90s`, `15m`, `6h` or `20d` (a whole number and a unit).
///
/// # Errors
/// A message for clap.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?}: give a unit: s, m, h or d (e.g. 20d)"))?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: give a whole number and a unit (e.g. 6h)"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    if n == 0 {
        return Err(format!("{text:?}: give more than zero"));
    }
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?}: too long"))
}

/// The delay before retry number `failures` (1 for the first retry): 10 s
/// doubled per earlier failure, at most an hour, then scaled by `jitter`
/// (0.0 to 1.0 maps to 75% to 125%).
#[must_use]
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let delay = BACKOFF_BASE
        .saturating_mul(1u32 << doublings)
        .min(BACKOFF_MAX);
    delay.mul_f64(0.75 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A uniform number in [0, 1) from the system's randomness (0.5 without it:
/// jitter is a courtesy to the server, not a security property).
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_be_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

/// `renew --once` found the certificate not due: the binary exits with
/// [`EXIT_NOT_DUE`] and prints nothing more.
#[derive(Debug)]
pub struct NotDue;

impl std::fmt::Display for NotDue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the certificate is not due for renewal")
    }
}

impl std::error::Error for NotDue {}

fn now_secs() -> i64 {
    UnixTime::from_system_time(SystemTime::now()).secs()
}

/// One event line on standard error: the time, then `what`.
fn log(io: &mut Io<'_>, what: &str) {
    // A log line that cannot be written is not a reason to stop renewing.
    let _ = writeln!(
        io.err,
        "{} cmc-tool renew: {what}",
        format_rfc3339(UnixTime::from_secs(now_secs()))
    );
    let _ = io.err.flush();
}

fn secs_text(d: Duration) -> String {
    format!("{} s", d.as_secs())
}

/// `renew`.
pub(crate) fn run(args: &RenewArgs, io: &mut Io<'_>) -> Result<()> {
    crate::http::parse_url(&args.url)?;
    if args.cert == args.key {
        bail!("--cert and --key name the same file: renew replaces each on its own");
    }
    if args.once {
        return check_and_renew(args, io).and_then(|renewed| {
            if renewed {
                Ok(())
            } else {
                Err(anyhow!(NotDue))
            }
        });
    }
    watch(args, io)
}

/// Checks once; renews if due. `Ok(false)` when not due.
fn check_and_renew(args: &RenewArgs, io: &mut Io<'_>) -> Result<bool> {
    let current = current_certificate(args)?;
    let due = args.threshold.due_at(current.not_before, current.not_after);
    let now = now_secs();
    if now < due {
        log(
            io,
            &format!(
                "checked {}: serial {}, notAfter {}, not due until {}",
                args.cert.display(),
                current.serial,
                format_rfc3339(UnixTime::from_secs(current.not_after)),
                format_rfc3339(UnixTime::from_secs(due)),
            ),
        );
        return Ok(false);
    }
    log(
        io,
        &format!(
            "checked {}: serial {}, notAfter {}, due since {}: renewing",
            args.cert.display(),
            current.serial,
            format_rfc3339(UnixTime::from_secs(current.not_after)),
            format_rfc3339(UnixTime::from_secs(due)),
        ),
    );
    let renewed = renew_now(args)?;
    log_renewed(args, &renewed, io);
    Ok(true)
}

fn log_renewed(args: &RenewArgs, renewed: &Renewed, io: &mut Io<'_>) {
    log(
        io,
        &format!(
            "renewed {}: serial {}, notAfter {}{}",
            args.cert.display(),
            renewed.serial,
            format_rfc3339(UnixTime::from_secs(renewed.not_after)),
            renewed
                .notes
                .iter()
                .map(|n| format!("; {n}"))
                .collect::<String>()
        ),
    );
    if let Some(cmd) = &args.on_renew {
        match run_hook(cmd, args, &renewed.serial) {
            Ok(()) => log(io, &format!("on-renew command succeeded: {cmd}")),
            Err(e) => log(
                io,
                &format!("on-renew command failed (the renewal stands): {e:#}"),
            ),
        }
    }
}

/// Runs the `--on-renew` command through `sh -c`.
fn run_hook(cmd: &str, args: &RenewArgs, serial: &str) -> Result<()> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("CMC_RENEW_CERT", &args.cert)
        .env("CMC_RENEW_KEY", &args.key)
        .env("CMC_RENEW_SERIAL", serial)
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| format!("starting sh -c {cmd:?}"))?;
    if !status.success() {
        bail!("sh -c {cmd:?} exited with {status}");
    }
    Ok(())
}

/// `--watch`: never returns but for an error that retrying cannot mend
/// (none today: every failure is retried).
fn watch(args: &RenewArgs, io: &mut Io<'_>) -> Result<()> {
    let min_sleep = Duration::from_secs(args.min_sleep_secs.max(1));
    let mut failures: u32 = 0;
    loop {
        let pause = match check_and_renew(args, io) {
            Ok(renewed) => {
                failures = 0;
                // Seconds until due; 0 when due already (or unreadable:
                // the next check says why).
                let wait = current_certificate(args).map_or(0, |c| {
                    let due = args.threshold.due_at(c.not_before, c.not_after);
                    u64::try_from(due - now_secs()).unwrap_or(0)
                });
                let pause = Duration::from_secs(wait).clamp(min_sleep, MAX_SLEEP.max(min_sleep));
                if renewed && wait == 0 {
                    log(
                        io,
                        "the new certificate is due at once: is --threshold longer than the \
                         CA's lifetime?",
                    );
                }
                log(io, &format!("next check in {}", secs_text(pause)));
                pause
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let pause = backoff(failures, jitter());
                log(
                    io,
                    &format!(
                        "failed: {e:#}; retry in {} (failure {failures})",
                        secs_text(pause)
                    ),
                );
                pause
            }
        };
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse() {
        assert_eq!(Threshold::parse("30%"), Ok(Threshold::Percent(30)));
        assert_eq!(
            Threshold::parse("20d"),
            Ok(Threshold::Remaining(Duration::from_secs(20 * 86_400)))
        );
        assert_eq!(
            Threshold::parse("6h"),
            Ok(Threshold::Remaining(Duration::from_secs(6 * 3600)))
        );
        assert_eq!(
            Threshold::parse("15m"),
            Ok(Threshold::Remaining(Duration::from_secs(900)))
        );
        assert_eq!(
            Threshold::parse("90s"),
            Ok(Threshold::Remaining(Duration::from_secs(90)))
        );
        for bad in [
            "0%",
            "100%",
            "x%",
            "30",
            "d",
            "0d",
            "5w",
            "-1d",
            "1.5h",
            "",
            "99999999999999999999d",
        ] {
            assert!(Threshold::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn due_time_is_the_remaining_share_or_time_before_not_after() {
        // 100 days of validity from t = 1_000_000.
        let nb = 1_000_000;
        let na = nb + 100 * 86_400;
        assert_eq!(Threshold::Percent(30).due_at(nb, na), nb + 70 * 86_400);
        assert_eq!(Threshold::Percent(1).due_at(nb, na), nb + 99 * 86_400);
        assert_eq!(
            Threshold::Remaining(Duration::from_secs(20 * 86_400)).due_at(nb, na),
            nb + 80 * 86_400
        );
        // A remaining time longer than the validity: due from the start.
        assert!(Threshold::Remaining(Duration::from_secs(400 * 86_400)).due_at(nb, na) < nb);
        // A certificate of three minutes, 90% threshold: due after 18 s.
        assert_eq!(Threshold::Percent(90).due_at(0, 180), 18);
        // Inverted validity: due at notAfter, never before the epoch wraps.
        assert_eq!(Threshold::Percent(50).due_at(200, 100), 100);
        assert_eq!(
            Threshold::Remaining(Duration::from_secs(u64::MAX)).due_at(0, 100),
            100 - i64::MAX
        );
    }

    #[test]
    fn renew_takes_one_mode_and_defaults_to_thirty_percent() {
        use clap::Parser as _;
        use clap::error::ErrorKind;
        let base = [
            "cmc-tool",
            "renew",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
            "--url",
            "http://h/cmc/r",
        ];
        let parse = |extra: &[&'static str]| {
            crate::Cli::try_parse_from(base.iter().copied().chain(extra.iter().copied()))
        };
        let cli = parse(&["--once"]).unwrap();
        let crate::cli::Command::Renew(args) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.threshold, Threshold::Percent(30));
        assert_eq!(args.min_sleep_secs, 60);
        assert!(args.once && !args.watch && !args.same_key);
        let kind = |extra| parse(extra).unwrap_err().kind();
        assert_eq!(kind(&[]), ErrorKind::MissingRequiredArgument);
        assert_eq!(kind(&["--once", "--watch"]), ErrorKind::ArgumentConflict);
        assert_eq!(
            kind(&["--once", "--threshold", "3w"]),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            kind(&["--once", "--passphrase", "x"]),
            ErrorKind::UnknownArgument
        );
    }

    #[test]
    fn backoff_doubles_within_bounds_with_jitter() {
        assert_eq!(backoff(1, 0.5), Duration::from_secs(10));
        assert_eq!(backoff(2, 0.5), Duration::from_secs(20));
        assert_eq!(backoff(3, 0.5), Duration::from_secs(40));
        assert_eq!(backoff(1, 0.0), Duration::from_millis(7500));
        assert_eq!(backoff(1, 1.0), Duration::from_millis(12_500));
        // Bounded: an hour at most, jitter included.
        assert_eq!(backoff(50, 0.5), BACKOFF_MAX);
        assert!(backoff(u32::MAX, 1.0) <= BACKOFF_MAX.mul_f64(1.25));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
