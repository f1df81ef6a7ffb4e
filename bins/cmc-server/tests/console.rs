//! The operator console end to end: the built `cmc-server` with a
//! `[console]` listener, the password set with `cmc-tool console passwd`,
//! requests left pending by `cmc-tool enroll`, and a real browser
//! (scripts/console_browser.py: Playwright driving the Debian `chromium`)
//! approving, rejecting and revoking; the CA side is checked here with
//! `cmc-tool enroll --query-pending` and `openssl ocsp`.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    Server, bootstrap_enroll_args, cmc_tool, openssl, read_response, request_bytes, s, start,
    write_config,
};

const CHROMIUM: &str = "/usr/bin/chromium";

const PROFILES: &str = "default_profile = \"held\"\n[profile.held]\nrequire_approval = true\n";

const PASSWORD: &str = "a console password for tests";

/// Whether Playwright (Python) and Chromium are there. Without them the
/// test prints why it is skipped, unless `CI` is set, where it fails:
/// `scripts/test.sh` installs both.
fn browser_available(test: &str) -> bool {
    let why = if !Path::new(CHROMIUM).exists() {
        format!("{CHROMIUM} is missing (apt-get install chromium)")
    } else {
        match Command::new("python3")
            .args(["-c", "import playwright.sync_api"])
            .output()
        {
            Ok(o) if o.status.success() => return true,
            Ok(o) => String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_owned(),
            Err(e) => format!("python3: {e}"),
        }
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: the browser test cannot run and CI is set ({why}); scripts/test.sh installs \
         chromium and playwright"
    );
    println!(
        "{test}: SKIPPED: {why}; install them as scripts/test.sh does: apt-get install chromium; \
         python3 -m pip install playwright"
    );
    false
}

struct Setup {
    _tmp: tempfile::TempDir,
    server: Server,
    console: String,
    data: PathBuf,
    config: PathBuf,
    password_file: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("profiles.toml"), PROFILES).unwrap();
    let config = write_config(
        tmp.path(),
        "data_dir = \"cmc-data\"\nprofiles = \"profiles.toml\"\n\
         [server]\nlisten = \"127.0.0.1:0\"\n[console]\nlisten = \"127.0.0.1:0\"\n",
    );
    let password_file = tmp.path().join("console-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let out = cmc_tool(&[
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
    assert!(out.contains("console password of \"admin\" set"), "{out}");
    let stored = tmp.path().join("cmc-data/console-passwords");
    let text = std::fs::read_to_string(&stored).unwrap();
    assert!(text.starts_with("admin:$argon2id$") && !text.contains(PASSWORD));
    assert_eq!(common::mode(&stored), 0o600);
    // The password is never taken from the command line.
    assert!(
        cmc_tool(&[
            "--config",
            s(&config),
            "console",
            "passwd",
            "--password",
            PASSWORD
        ])
        .is_err()
    );
    let server = start(tmp.path());
    let console = server
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("console on "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no console line in {:#?}", server.banner))
        .to_owned();
    Setup {
        data: tmp.path().join("cmc-data"),
        config,
        password_file,
        _tmp: tmp,
        server,
        console,
    }
}

impl Setup {
    fn console_addr(&self) -> &str {
        self.console.strip_prefix("http://").unwrap()
    }

    /// A raw HTTP request to the console.
    fn console_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> common::Response {
        let mut stream = TcpStream::connect(self.console_addr()).unwrap();
        // The console answers only its own address in Host (DNS rebinding).
        let mut headers = headers.to_vec();
        headers.push(("Host", self.console_addr()));
        std::io::Write::write_all(&mut stream, &request_bytes(method, path, &headers, body))
            .unwrap();
        read_response(&mut stream)
    }

    /// `cmc-tool enroll` signed by the bootstrap RA; what it printed.
    fn enroll(&self, name: &str, extra: &[&str]) -> String {
        let url = format!("http://{}/cmc/root", self.server.addr);
        let cert = self.data.join(format!("{name}.pem"));
        let key = self.data.join(format!("{name}.key"));
        let subject = format!("CN={name}.example.test");
        let signer = bootstrap_enroll_args(&self.data);
        let mut args = vec!["enroll", "--url", &url, "--out-cert", s(&cert)];
        args.extend(signer.iter().map(String::as_str));
        if extra.is_empty() {
            args.extend([
                "--new-key",
                s(&key),
                "--new-key-unencrypted",
                "--subject",
                &subject,
            ]);
        }
        args.extend_from_slice(extra);
        cmc_tool(&args).unwrap_or_else(|e| panic!("enroll {name}: {e}"))
    }

    /// The ids of the requests waiting for a decision.
    fn waiting(&self) -> Vec<String> {
        let list = cmc_tool(&[
            "--config",
            s(&self.config),
            "pending",
            "list",
            "--waiting",
            "--json",
        ])
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&list).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    }

    fn browser(&self, phase: &[&str]) {
        self.browser_with(phase, &[]);
    }

    fn browser_with(&self, phase: &[&str], env: &[(&str, &str)]) {
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("console-screenshots");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/console_browser.py");
        let mut args = vec![
            s(&script),
            "--url",
            &self.console,
            "--operator",
            "admin",
            "--password-file",
            s(&self.password_file),
            "--screenshots",
            s(&shots),
            "--chromium",
            CHROMIUM,
        ];
        args.extend_from_slice(phase);
        let out = Command::new("python3")
            .args(&args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "console_browser.py {phase:?}:\n{text}"
        );
    }
}

#[test]
fn the_console_refuses_without_a_session_and_serves_only_its_own_pages() {
    let setup = setup();
    // A page without a session: to the login form.
    let r = setup.console_request("GET", "/certs", &[], b"");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    // A POST without a session or token: refused, nothing decided.
    let r = setup.console_request(
        "POST",
        "/pending/x/reject",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"reason=x",
    );
    assert_eq!(r.status, 403);
    // The console listener serves the console only, the CA listener no console.
    assert_eq!(
        setup.console_request("GET", "/healthz", &[], b"").status,
        303
    );
    assert_eq!(setup.server.get("/login").status, 404);
    let login = setup.console_request("GET", "/login", &[], b"");
    assert_eq!(login.status, 200);
    assert!(login.text().contains("name=\"password\""));
    let cookie = login.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

#[test]
fn an_operator_approves_rejects_and_revokes_in_a_browser() {
    let test = "an_operator_approves_rejects_and_revokes_in_a_browser";
    if !browser_available(test) {
        return;
    }
    let setup = setup();
    // Two requests held for approval.
    let out = setup.enroll("approve-me", &[]);
    assert!(out.contains("status: pending"), "{out}");
    let approve = setup.waiting();
    assert_eq!(approve.len(), 1);
    let out = setup.enroll("reject-me", &[]);
    assert!(out.contains("status: pending"), "{out}");
    let reject: Vec<String> = setup
        .waiting()
        .into_iter()
        .filter(|id| *id != approve[0])
        .collect();
    assert_eq!(reject.len(), 1);
    let reason = "no such device in the inventory";

    setup.browser(&[
        "decide",
        "--approve",
        &approve[0],
        "--reject",
        &reject[0],
        "--reason",
        reason,
    ]);
    assert!(setup.waiting().is_empty());

    // The client fetches the approved certificate with queryPending.
    let cert = setup.data.join("approve-me.pem");
    assert!(!cert.exists());
    let out = setup.enroll("approve-me", &["--query-pending", &approve[0]]);
    assert!(out.contains("status: success"), "{out}");
    let (ok, text) = openssl(
        &setup.data,
        &["x509", "-in", s(&cert), "-noout", "-subject", "-serial"],
    );
    assert!(ok && text.contains("approve-me.example.test"), "{text}");
    let serial = text
        .lines()
        .find_map(|l| l.strip_prefix("serial="))
        .unwrap()
        .to_lowercase();
    let serial = serial.trim_start_matches('0').to_owned();
    // The rejected one: its query fails with the reason.
    let url = format!("http://{}/cmc/root", setup.server.addr);
    let signer = bootstrap_enroll_args(&setup.data);
    let rejected = setup.data.join("reject-me.pem");
    let mut args = vec![
        "enroll",
        "--url",
        &url,
        "--out-cert",
        s(&rejected),
        "--query-pending",
        &reject[0],
    ];
    args.extend(signer.iter().map(String::as_str));
    let err = cmc_tool(&args).unwrap_err();
    assert!(err.contains(reason), "{err}");

    // Revoked in the browser; OCSP says so.
    let secret = common::add_root_secret(&setup.config, "device-7", &[]);
    setup.browser_with(
        &[
            "revoke", "--ca", "root", "--serial", &serial, "--secret", "device-7",
        ],
        &[("CONSOLE_SECRET_VALUE", &secret)],
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots");
    assert!(shots.join("secrets.png").exists());
    let root = setup.data.join("root.pem");
    let ocsp_url = format!("http://{}/ocsp/root", setup.server.addr);
    let (ok, text) = openssl(
        &setup.data,
        &[
            "ocsp",
            "-issuer",
            s(&root),
            "-cert",
            s(&cert),
            "-url",
            &ocsp_url,
            "-CAfile",
            s(&root),
            "-resp_text",
        ],
    );
    assert!(ok && text.contains("Response verify OK"), "{text}");
    assert!(
        text.contains(": revoked") && text.contains("Revocation Reason: keyCompromise"),
        "{text}"
    );

    // The decision names the operator (the engine audits it under that name).
    let show = cmc_tool(&["--config", s(&setup.config), "pending", "show", &reject[0]]).unwrap();
    assert!(
        show.contains("console:admin") && show.contains(reason),
        "{show}"
    );
}

#[test]
fn the_status_page_and_the_activity_chart_in_a_browser() {
    let test = "the_status_page_and_the_activity_chart_in_a_browser";
    if !browser_available(test) {
        return;
    }
    let setup = setup();
    // Two enrollment requests that fail (not CMC at all): the chart's
    // failed count for this node.
    for _ in 0..2 {
        let r = setup
            .server
            .post("/cmc/root", "application/pkcs7-mime", b"not CMC");
        assert!(r.status >= 400, "{}", r.status);
    }
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/console_status_browser.py");
    let out = Command::new("python3")
        .args([
            s(&script),
            "--url",
            &setup.console,
            "--operator",
            "admin",
            "--password-file",
            s(&setup.password_file),
            "--screenshots",
            s(&shots),
            "--chromium",
            CHROMIUM,
            "--ca",
            "root",
            "--failed",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "console_status_browser.py:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shots.join("status.png").exists());
    assert!(shots.join("overview-chart.png").exists());
}
