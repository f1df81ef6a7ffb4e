//! The operator console on its TLS listener, end to end: the built
//! `cmc-server` with `[console.tls]` (client certificates optional,
//! trusted: the CA's root), an agent and an RA credential from `cmc-tool
//! client add ... --issue`, a request left pending by `cmc-tool enroll`,
//! and a real browser (scripts/console_browser_tls.py: Playwright driving
//! the Debian `chromium` with client certificates) logging in with the
//! agent's certificate and approving; the password still works from
//! loopback; an RA certificate and one of another CA are refused. The Host
//! allow-list is tried with curl, as a rebinding page's request would come.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, add_root_client, admin, bootstrap_enroll_args, cmc_tool, openssl, s, start};

const CHROMIUM: &str = "/usr/bin/chromium";

const PROFILES: &str = "default_profile = \"held\"\n[profile.held]\nrequire_approval = true\n";

const PASSWORD: &str = "a console password for tests";

/// Whether Playwright (Python) and Chromium are there; without them the
/// test says why it is skipped, unless `CI` is set, where it fails.
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
        "{test}: the browser test cannot run and CI is set ({why})"
    );
    println!("{test}: SKIPPED: {why}");
    false
}

struct Setup {
    tmp: tempfile::TempDir,
    server: Server,
    /// `https://127.0.0.1:PORT`.
    console: String,
    data: PathBuf,
    config: PathBuf,
    password_file: PathBuf,
}

const BASE: &str = "data_dir = \"cmc-data\"\nprofiles = \"profiles.toml\"\n\
                    [server]\nlisten = \"127.0.0.1:0\"\n";

/// A TLS CA of its own (not the CMC root) with a server certificate for
/// 127.0.0.1 and a client certificate: "another CA" for the console.
fn make_tls_files(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let run = |args: &[&str]| {
        let (ok, out) = openssl(dir, args);
        assert!(ok, "openssl {args:?}: {out}");
    };
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "tls-ca.key",
            "-out",
            "tls-ca.pem",
            "-subj",
            "/CN=other TLS CA",
            "-days",
            "2",
        ],
    ]
    .concat());
    for who in ["server", "other-client"] {
        let ext = if who == "server" {
            "server.ext"
        } else {
            "client.ext"
        };
        let (key, csr, pem) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.pem"),
        );
        run(&[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={who}"),
            ],
        ]
        .concat());
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "tls-ca.pem",
            "-CAkey",
            "tls-ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            ext,
        ]);
    }
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("profiles.toml"), PROFILES).unwrap();
    // A first start makes the embedded root, whose certificate is the
    // console's client trust anchor.
    let config = common::write_config(dir, BASE);
    let first = start(dir);
    assert!(first.terminate().success());
    make_tls_files(dir);
    let config_text = format!(
        "{BASE}[console]\nlisten = \"127.0.0.1:0\"\n\
         [console.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n\
         client_ca = \"cmc-data/root.pem\"\n"
    );
    assert_eq!(common::write_config(dir, &config_text), config);
    let password_file = dir.join("console-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    admin(
        &config,
        &[
            "console",
            "passwd",
            "--operator",
            "admin",
            "--password-file",
            s(&password_file),
        ],
    );
    let server = start(dir);
    let console = server
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("console on "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no console line in {:#?}", server.banner))
        .to_owned();
    assert!(console.starts_with("https://127.0.0.1:"), "{console}");
    Setup {
        data: dir.join("cmc-data"),
        config,
        password_file,
        server,
        console,
        tmp,
    }
}

impl Setup {
    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// `curl` to the console with `Host: HOST` sent to this listener; the
    /// status and the body.
    fn curl_host(&self, host: &str) -> (String, String) {
        let port = self.console.rsplit(':').next().unwrap();
        let url = format!("https://{host}:{port}/login");
        let out = Command::new("curl")
            .args(["-sk", "-o", "-", "-w", "\n%{http_code}", "--resolve"])
            .arg(format!("{host}:{port}:127.0.0.1"))
            .arg(&url)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.to_owned(), body.to_owned())
    }

    /// `cmc-tool enroll` signed by the bootstrap RA, held for approval;
    /// the request's id.
    fn enroll_pending(&self, name: &str) -> String {
        let url = format!("http://{}/cmc/root", self.server.addr);
        let cert = self.data.join(format!("{name}.pem"));
        let key = self.data.join(format!("{name}.key"));
        let subject = format!("CN={name}.example.test");
        let mut args = vec!["enroll", "--url", &url, "--out-cert", s(&cert)];
        let signer = bootstrap_enroll_args(&self.data);
        args.extend(signer.iter().map(String::as_str));
        args.extend([
            "--new-key",
            s(&key),
            "--new-key-unencrypted",
            "--subject",
            &subject,
        ]);
        let out = cmc_tool(&args).unwrap_or_else(|e| panic!("enroll {name}: {e}"));
        assert!(out.contains("status: pending"), "{out}");
        let list = admin(&self.config, &["pending", "list", "--waiting", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&list).unwrap();
        let ids: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 1, "{list}");
        ids[0].to_owned()
    }

    fn browser(&self, phase: &[&str]) -> String {
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("console-screenshots");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/console_browser_tls.py");
        let mut args = vec![
            s(&script),
            "--url",
            &self.console,
            "--screenshots",
            s(&shots),
            "--chromium",
            CHROMIUM,
        ];
        args.extend_from_slice(phase);
        let out = Command::new("python3").args(&args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "console_browser_tls.py {phase:?}:\n{text}"
        );
        text
    }
}

/// The encrypted PKCS#8 key `key` as an unencrypted PEM key in a new 0600
/// file (Playwright reads only unencrypted keys).
fn unencrypted_copy(dir: &Path, key: &Path, passphrase: &Path) -> PathBuf {
    let plain = dir.join("playwright-agent.key");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&plain)
        .unwrap();
    let passin = format!("file:{}", s(passphrase));
    let (ok, out) = openssl(
        dir,
        &["pkey", "-in", s(key), "-passin", &passin, "-out", s(&plain)],
    );
    assert!(ok, "openssl pkey: {out}");
    assert_eq!(common::mode(&plain), 0o600);
    plain
}

#[test]
fn an_agent_logs_in_with_its_certificate_and_approves_in_a_browser() {
    let test = "an_agent_logs_in_with_its_certificate_and_approves_in_a_browser";
    let setup = setup();
    let dir = setup.dir().to_path_buf();

    // DNS rebinding: the right address is answered, another name is not.
    let (code, _) = setup.curl_host("127.0.0.1");
    assert_eq!(code, "200");
    let (code, _) = setup.curl_host("localhost");
    assert_eq!(code, "200");
    let (code, body) = setup.curl_host("rebound.example");
    assert_eq!(code, "421", "{body}");
    assert!(body.contains("Host"), "{body}");

    if !browser_available(test) {
        return;
    }
    // The agent, with an encrypted key as `client add --issue` writes it.
    let creds = dir.join("creds");
    std::fs::create_dir(&creds).unwrap();
    let passphrase = dir.join("agent-passphrase");
    std::fs::write(&passphrase, "agent key passphrase\n").unwrap();
    admin(
        &setup.config,
        &[
            "client",
            "add",
            "agent1",
            "--role",
            "agent",
            "--ca",
            "root",
            "--issue",
            "--subject",
            "CN=agent1,O=console tests",
            "--out-dir",
            s(&creds),
            "--passphrase-file",
            s(&passphrase),
        ],
    );
    let agent_key = unencrypted_copy(&dir, &creds.join("agent1.key"), &passphrase);
    let agent_cert = creds.join("agent1.pem");
    add_root_client(&setup.config, &creds, "ra1", "ra", "CN=ra1,O=console tests");
    let id = setup.enroll_pending("agent-approves");

    let out = setup.browser(&[
        "agent",
        "--cert",
        s(&agent_cert),
        "--key",
        s(&agent_key),
        "--name",
        "agent1",
        "--approve",
        &id,
        "--client",
        "ra1",
    ]);
    assert!(out.contains("agent: all checks passed"), "{out}");
    // Decided, by the certificate principal (not a password operator).
    let show = admin(&setup.config, &["pending", "show", &id]);
    assert!(show.contains("console:cert:agent1"), "{show}");
    // The agent's refused disable left the RA as it was.
    let ra = admin(&setup.config, &["client", "show", "ra1", "--json"]);
    let ra: serde_json::Value = serde_json::from_str(&ra).unwrap();
    assert!(ra["disabled_at"].is_null(), "{ra}");

    // Without a certificate, from loopback: the password.
    let out = setup.browser(&[
        "password",
        "--operator",
        "admin",
        "--password-file",
        s(&setup.password_file),
    ]);
    assert!(out.contains("password: all checks passed"), "{out}");

    // An RA's certificate (the CA's own, valid) may not log in.
    let out = setup.browser(&[
        "refused",
        "--cert",
        s(&creds.join("ra1.pem")),
        "--key",
        s(&creds.join("ra1.key")),
        "--expect",
        "has the role ra",
    ]);
    assert!(out.contains("refused: all checks passed"), "{out}");

    // A client certificate of another CA: TLS refuses it.
    let out = setup.browser(&[
        "foreign",
        "--cert",
        s(&dir.join("other-client.pem")),
        "--key",
        s(&dir.join("other-client.key")),
    ]);
    assert!(out.contains("refused by TLS"), "{out}");

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots");
    for name in [
        "tls-overview",
        "tls-pending-approved",
        "tls-agent-forbidden",
        "tls-refused",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}");
    }
}
