//! Adding clients and one-time secrets in the operator console, end to
//! end: the built `cmc-server` with a `[console]` listener, a key and
//! request made by `openssl req` (the key stays here, with the "client"),
//! and a real browser (scripts/console_browser_admin.py: Playwright driving
//! the Debian `chromium`) adding the client, downloading its credential,
//! adding two secrets and revoking one. Checked here: `openssl verify` of
//! the credential against the CA chain, `cmc-tool enroll` with the kept
//! secret (works) and the revoked one (refused), the server's log (never a
//! secret), and the audit events (under the operator's name).

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cmc_store::{AuditFilter, AuditKind, PageRequest};
use common::{cmc_tool, openssl, s, write_config};

const CHROMIUM: &str = "/usr/bin/chromium";
const PASSWORD: &str = "a console password for tests";

/// Whether Playwright (Python) and Chromium are there (as in console.rs:
/// skipped with the reason, unless `CI` is set, where it fails).
fn browser_available(test: &str) -> bool {
    let why = if !Path::new(CHROMIUM).exists() {
        format!("{CHROMIUM} is missing (apt-get install chromium)")
    } else {
        match Command::new("python3")
            .args(["-c", "import playwright.sync_api"])
            .output()
        {
            Ok(o) if o.status.success() => return true,
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => format!("python3: {e}"),
        }
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: the browser test cannot run and CI is set ({why})"
    );
    println!("{test}: SKIPPED: {why}");
    false
}

/// The server, its log going to a file this test reads.
struct Logged {
    child: Child,
    addr: String,
    console: String,
    log: PathBuf,
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_logged(dir: &Path) -> Logged {
    let log = dir.join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmc-server"))
        .args(["--config", "cmc.toml"])
        .current_dir(dir)
        // Everything the engine and console say, debug included.
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take();
    // Killed and waited for by Drop, whatever happens below.
    let mut server = Logged {
        child,
        addr: String::new(),
        console: String::new(),
        log,
    };
    let mut lines = BufReader::new(stdout.unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the server did not start");
        let line = lines.next().expect("the server ended").unwrap();
        if let Some(rest) = line.strip_prefix("console on ") {
            server.console = rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(url) = line.strip_prefix("listening on ") {
            server.addr = url.split("://").nth(1).unwrap().to_owned();
            assert!(
                !server.console.is_empty(),
                "no console line before listening"
            );
            // Keep reading stdout so the server never blocks on it.
            std::thread::spawn(move || lines.for_each(drop));
            return server;
        }
    }
}

/// `cmc-tool enroll` proving identity with the secret in `secret_file`.
fn enroll(
    data: &Path,
    url: &str,
    name: &str,
    id: &str,
    secret_file: &Path,
) -> Result<String, String> {
    let cert = data.join(format!("{name}.pem"));
    let key = data.join(format!("{name}.key"));
    let root = data.join("root.pem");
    let subject = format!("CN={name}.example.test");
    cmc_tool(&[
        "enroll",
        "--url",
        url,
        "--ca-cert",
        s(&root),
        "--identification",
        id,
        "--secret-file",
        s(secret_file),
        "--new-key",
        s(&key),
        "--new-key-unencrypted",
        "--subject",
        &subject,
        "--out-cert",
        s(&cert),
    ])
}

#[test]
fn an_operator_adds_a_client_and_secrets_in_a_browser() {
    let test = "an_operator_adds_a_client_and_secrets_in_a_browser";
    if !browser_available(test) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = write_config(
        dir,
        "data_dir = \"cmc-data\"\n[server]\nlisten = \"127.0.0.1:0\"\n\
         [console]\nlisten = \"127.0.0.1:0\"\n",
    );
    let password_file = dir.join("console-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    cmc_tool(&[
        "--config",
        s(&config),
        "console",
        "passwd",
        "--operator",
        "admin",
        "--password-file",
        s(&password_file),
    ])
    .unwrap();
    let server = start_logged(dir);
    let data = dir.join("cmc-data");

    // The client makes its key and request; only the request goes to the CA.
    let key = dir.join("dev-1.key");
    let csr = dir.join("dev-1.csr");
    let (ok, text) = openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            s(&key),
            "-out",
            s(&csr),
            "-subj",
            "/CN=dev-1.example.test/O=Example",
        ],
    );
    assert!(ok, "{text}");

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/console_browser_admin.py");
    let (cert, chain, secrets) = (
        dir.join("dev-1.pem"),
        dir.join("chain.pem"),
        dir.join("secrets.txt"),
    );
    let out = Command::new("python3")
        .args([
            s(&script),
            "--url",
            &server.console,
            "--operator",
            "admin",
            "--password-file",
            s(&password_file),
            "--screenshots",
            s(&shots),
            "--chromium",
            CHROMIUM,
            "--client",
            "dev-1",
            "--dns",
            "dev-1.example.test",
            "--csr",
            s(&csr),
            "--cert-out",
            s(&cert),
            "--chain-out",
            s(&chain),
            "--secret",
            "device-1",
            "--revoke",
            "device-2",
            "--secrets-out",
            s(&secrets),
        ])
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "console_browser_admin.py:\n{printed}");
    for name in [
        "admin-client-added",
        "admin-secret-added",
        "admin-secrets-revoked",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}");
    }

    // The downloaded credential verifies against the CA, for the client's key.
    let (ok, text) = openssl(dir, &["verify", "-CAfile", s(&chain), s(&cert)]);
    assert!(ok && text.contains(": OK"), "{text}");
    let (_, from_cert) = openssl(dir, &["x509", "-noout", "-pubkey", "-in", s(&cert)]);
    let (_, from_key) = openssl(dir, &["pkey", "-pubout", "-in", s(&key)]);
    assert_eq!(from_cert, from_key);
    let shown = cmc_tool(&["--config", s(&config), "client", "show", "dev-1"]).unwrap();
    assert!(shown.contains("dev-1.example.test"), "{shown}");

    // The secrets as shown once: the kept one enrolls, the revoked one not.
    let text = std::fs::read_to_string(&secrets).unwrap();
    let secret = |id: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{id}=")))
            .unwrap()
            .to_owned()
    };
    let (kept, revoked) = (secret("device-1"), secret("device-2"));
    let url = format!("http://{}/cmc/root", server.addr);
    let kept_file = dir.join("kept-secret");
    std::fs::write(&kept_file, &kept).unwrap();
    let revoked_file = dir.join("revoked-secret");
    std::fs::write(&revoked_file, &revoked).unwrap();
    let err = enroll(&data, &url, "device-2", "device-2", &revoked_file).unwrap_err();
    assert!(!data.join("device-2.pem").exists(), "{err}");
    enroll(&data, &url, "device-1", "device-1", &kept_file)
        .unwrap_or_else(|e| panic!("the kept secret: {e}"));
    assert!(data.join("device-1.pem").exists());

    // Neither secret is in the log, which does record the actions.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains(&kept) && !log.contains(&revoked));
    assert!(log.contains("console: enrollment secret added"), "{log}");
    assert!(log.contains("secret revoked"), "{log}");

    // Audited under the operator's name.
    let store = cmc_store::open(&format!("sqlite://{}", data.join("cmc.db").display())).unwrap();
    let filter = AuditFilter {
        requester: Some("console:admin".into()),
        ..AuditFilter::default()
    };
    let events = store
        .list_audit(&filter, PageRequest::first(PageRequest::MAX_LIMIT))
        .unwrap()
        .items;
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.event.kind.clone()).collect();
    for want in [
        AuditKind::Issued,
        AuditKind::ClientAdded,
        AuditKind::SecretAdded,
        AuditKind::SecretRevoked,
    ] {
        assert!(kinds.contains(&want), "{want} missing from {kinds:?}");
    }
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::SecretAdded)
            .count(),
        2
    );
}
