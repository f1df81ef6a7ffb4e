//! `cmc-tool renew` against an in-process CMC responder (the engine's
//! `handle_full` on the system clock): a certificate of three minutes
//! renewed twice by `--watch` with its hook, `--once` exit statuses, the
//! noKeyReuse refusal of `--same-key`, and a server that is down.
//!
//! Certificates of a few minutes: the built-in default profile honours a
//! requested validity (CRMF notAfter), so `--lifetime 3m` asks for three
//! minutes; `--threshold 170s` makes such a certificate due ten seconds
//! after it was issued. `--min-sleep-secs` (hidden, for tests) lets
//! `--watch` sleep less than its usual minute between checks. Nothing here
//! asserts on how long anything takes; the waits are generous bounds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::responder::start_server;
use common::{Env, mode, openssl};

/// A root CA, an RA, and `web.pem`/`web.key` (P-256, encrypted with the
/// passphrase file) enrolled through the RA by a PKCS #10 request;
/// `bundle.pem` holds the root. Returns the CMC URL.
fn setup() -> (Env, String) {
    let env = Env::new();
    env.root("root");
    env.issue_client("ra", "ra", "root");
    let root = env.export("root");
    std::fs::copy(&root, env.path("bundle.pem")).unwrap();
    let url = format!("{}/cmc/root", start_server(&env));
    let pass = env.p("passphrase");
    env.ok(&[
        "enroll",
        "--url",
        &url,
        "--ca-cert",
        &root,
        "--signer-cert",
        &env.p("out/ra.pem"),
        "--signer-key",
        &env.p("out/ra.key"),
        "--passphrase-file",
        &pass,
        "--new-key",
        &env.p("web.key"),
        "--subject",
        "CN=web.example,O=cmc-tool tests",
        "--new-key-passphrase-file",
        &pass,
        "--out-cert",
        &env.p("web.pem"),
    ]);
    (env, url)
}

/// `renew` for web.pem/web.key against `url`, then `extra`.
fn renew_args(env: &Env, url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "renew",
        "--cert",
        &env.p("web.pem"),
        "--key",
        &env.p("web.key"),
        "--passphrase-file",
        &env.p("passphrase"),
        "--url",
        url,
        "--ca-bundle",
        &env.p("bundle.pem"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn run(env: &Env, args: &[String]) -> common::Run {
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The public key of a certificate, PEM.
fn cert_pubkey(env: &Env, cert: &str) -> String {
    openssl(&["x509", "-in", &env.p(cert), "-noout", "-pubkey"])
}

/// The public key of an encrypted key file, PEM.
fn key_pubkey(env: &Env, key: &str) -> String {
    let pass = format!("file:{}", env.p("passphrase"));
    openssl(&["pkey", "-in", &env.p(key), "-passin", &pass, "-pubout"])
}

fn serial(env: &Env, cert: &str) -> String {
    let text = openssl(&["x509", "-in", &env.p(cert), "-noout", "-serial"]);
    text.trim()
        .trim_start_matches("serial=")
        .trim_start_matches('0')
        .to_ascii_lowercase()
}

/// The files of the credential, to see that a failure leaves them alone.
fn snapshot(env: &Env) -> Vec<Vec<u8>> {
    ["web.pem", "web.key", "bundle.pem"]
        .iter()
        .map(|f| std::fs::read(env.path(f)).unwrap())
        .collect()
}

/// Names in the directory that look like temporary or staged files.
fn leftovers(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".renew-pending"))
        .collect()
}

/// A `renew --watch` child whose standard error is collected.
struct Watch {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Watch {
    fn spawn(env: &Env, args: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cmc-tool"))
            .arg("--config")
            .arg(&env.config)
            .args(args)
            .current_dir(env.dir.path())
            .env_remove("CMC_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self { child, log }
    }

    /// Waits (at most `limit`) until `done` holds, polling; panics with
    /// the log otherwise, or when the child exits first.
    fn wait_for(&mut self, limit: Duration, what: &str, done: impl Fn(&str) -> bool) {
        let start = Instant::now();
        while !done(&self.log()) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "renew --watch exited ({status}) before {what}:\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < limit,
                "no {what} within {limit:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_renews_a_certificate_of_three_minutes_twice_and_runs_the_hook() {
    let (env, url) = setup();
    let first_serial = serial(&env, "web.pem");
    let first_pubkey = cert_pubkey(&env, "web.pem");

    // The enrolled certificate has the profile's 93 days: a threshold
    // longer than that makes it due now, and --lifetime 3m replaces it by
    // one of three minutes.
    let r = run(
        &env,
        &renew_args(
            &env,
            &url,
            &["--once", "--threshold", "400d", "--lifetime", "3m"],
        ),
    );
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("renewed"), "{}", r.stderr);
    let short_serial = serial(&env, "web.pem");
    assert_ne!(short_serial, first_serial);
    // Valid now, and gone within 200 s.
    let cert = env.p("web.pem");
    openssl(&["x509", "-in", &cert, "-noout", "-checkend", "0"]);
    let still = Command::new("openssl")
        .args(["x509", "-in", &cert, "-noout", "-checkend", "200"])
        .output()
        .unwrap();
    assert!(!still.status.success(), "a certificate of three minutes");

    // The hook keeps a copy of each renewed pair and appends the serial.
    std::fs::write(env.path("hook.log"), "").unwrap();
    let hook = "n=$(wc -l < hook.log); cp \"$CMC_RENEW_CERT\" \"renewed-$n.pem\"; \
                cp \"$CMC_RENEW_KEY\" \"renewed-$n.key\"; echo \"$CMC_RENEW_SERIAL\" >> hook.log";
    let mut watch = Watch::spawn(
        &env,
        &renew_args(
            &env,
            &url,
            &[
                "--watch",
                "--threshold",
                "170s",
                "--lifetime",
                "3m",
                "--min-sleep-secs",
                "1",
                "--on-renew",
                hook,
            ],
        ),
    );
    let hook_log = env.path("hook.log");
    watch.wait_for(Duration::from_secs(150), "two renewals", |_| {
        std::fs::read_to_string(&hook_log).unwrap().lines().count() >= 2
    });
    let log = watch.log();
    drop(watch);
    assert!(log.contains("checked"), "{log}");
    assert!(log.contains("next check in"), "{log}");
    assert!(log.matches("renewed").count() >= 2, "{log}");
    assert!(log.contains("on-renew command succeeded"), "{log}");

    let serials: Vec<String> = std::fs::read_to_string(&hook_log)
        .unwrap()
        .lines()
        .map(|s| s.trim_start_matches('0').to_ascii_lowercase())
        .collect();
    let mut seen = vec![first_serial, short_serial];
    let mut pubkeys = vec![first_pubkey];
    for (i, hook_serial) in serials.iter().take(2).enumerate() {
        let cert = format!("renewed-{i}.pem");
        let key = format!("renewed-{i}.key");
        let verified = openssl(&["verify", "-CAfile", &env.p("bundle.pem"), &env.p(&cert)]);
        assert!(verified.contains(": OK"), "{verified}");
        assert_eq!(&serial(&env, &cert), hook_serial, "CMC_RENEW_SERIAL");
        assert!(!seen.contains(hook_serial), "serial {hook_serial} again");
        seen.push(hook_serial.clone());
        let pubkey = cert_pubkey(&env, &cert);
        assert_eq!(key_pubkey(&env, &key), pubkey, "the key of {cert}");
        assert!(!pubkeys.contains(&pubkey), "{cert} reuses a key");
        pubkeys.push(pubkey);
    }
    assert_eq!(mode(&env.path("web.key")), 0o600);
    assert_eq!(mode(&env.path("web.pem")), 0o644);
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

#[test]
fn once_says_not_due_and_same_key_is_refused_without_touching_the_files() {
    let (env, url) = setup();
    let before = snapshot(&env);

    // 93 days, 30% threshold: not due.
    let r = run(&env, &renew_args(&env, &url, &["--once"]));
    assert_eq!(r.code, Some(3), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("not due until"), "{}", r.stderr);
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
    assert_eq!(snapshot(&env), before);

    // The default profile does not allow key reuse.
    let r = run(
        &env,
        &renew_args(&env, &url, &["--once", "--threshold", "400d", "--same-key"]),
    );
    assert_eq!(r.code, Some(1), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("noKeyReuse"), "{}", r.stderr);
    assert!(r.stderr.contains("without --same-key"), "{}", r.stderr);
    assert_eq!(snapshot(&env), before);
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));

    // The hook's failure is logged; the renewal stands.
    let r = run(
        &env,
        &renew_args(
            &env,
            &url,
            &["--once", "--threshold", "400d", "--on-renew", "exit 7"],
        ),
    );
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(
        r.stderr
            .contains("on-renew command failed (the renewal stands)"),
        "{}",
        r.stderr
    );
    let renewed = snapshot(&env);
    assert_ne!(renewed[0], before[0]);
    assert_ne!(renewed[1], before[1]);
    let verified = openssl(&["verify", "-CAfile", &env.p("bundle.pem"), &env.p("web.pem")]);
    assert!(verified.contains(": OK"), "{verified}");

    // A crash between replacing the key and the certificate: the old
    // certificate with the new key, the new certificate staged. The next
    // run finishes the renewal before anything else.
    let staged = env.path(".web.pem.renew-pending");
    std::fs::write(env.path("web.pem"), &before[0]).unwrap();
    std::fs::write(&staged, &renewed[0]).unwrap();
    let r = run(&env, &renew_args(&env, &url, &["--once"]));
    assert_eq!(r.code, Some(3), "stderr: {}", r.stderr);
    assert_eq!(std::fs::read(env.path("web.pem")).unwrap(), renewed[0]);
    assert!(!staged.exists());
    // A crash before the key was replaced: the staged certificate is not
    // for the key, and is dropped.
    std::fs::write(&staged, &before[0]).unwrap();
    let r = run(&env, &renew_args(&env, &url, &["--once"]));
    assert_eq!(r.code, Some(3), "stderr: {}", r.stderr);
    assert_eq!(snapshot(&env)[..2], renewed[..2]);
    assert!(!staged.exists());
}

#[test]
fn a_server_that_is_down_means_a_failure_and_backoff_and_untouched_files() {
    let (env, _) = setup();
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/cmc/root");
    let before = snapshot(&env);

    let r = run(
        &env,
        &renew_args(&env, &url, &["--once", "--threshold", "400d"]),
    );
    assert_eq!(r.code, Some(1), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("cmc-tool: error"), "{}", r.stderr);
    assert_eq!(snapshot(&env), before);

    let mut watch = Watch::spawn(
        &env,
        &renew_args(&env, &url, &["--watch", "--threshold", "400d"]),
    );
    watch.wait_for(Duration::from_secs(60), "a retry", |log| {
        log.contains("retry in")
    });
    let log = watch.log();
    assert!(log.contains("failed: "), "{log}");
    assert!(log.contains("(failure 1)"), "{log}");
    drop(watch);
    assert_eq!(snapshot(&env), before);
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}
