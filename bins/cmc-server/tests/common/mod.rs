//! Starting the built `cmc-server` in a temporary directory and talking
//! HTTP/1.1 to it over a plain `TcpStream`.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod cmp;
pub mod load;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running server.
pub struct Server {
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Everything it printed on stdout before `listening on`.
    pub banner: Vec<String>,
    pub dir: PathBuf,
    rest: Option<mpsc::Receiver<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `config` as `cmc.toml` in `dir`.
pub fn write_config(dir: &Path, config: &str) -> PathBuf {
    let path = dir.join("cmc.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Starts the server with `--config cmc.toml` in `dir` and waits for its
/// `listening on` line.
pub fn start(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmc-server"))
        .args(["--config", "cmc.toml"])
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || forward(stdout, &tx));
    let mut banner = Vec::new();
    loop {
        let line = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => line,
            Err(e) => {
                let status = child.try_wait().unwrap();
                panic!("server did not start ({e}, exit {status:?}); printed {banner:#?}");
            }
        };
        if let Some(url) = line.strip_prefix("listening on ") {
            let addr = url.split("://").nth(1).unwrap().to_owned();
            return Server {
                child,
                addr,
                banner,
                dir: dir.to_path_buf(),
                rest: Some(rx),
            };
        }
        banner.push(line);
    }
}

fn forward(stdout: ChildStdout, tx: &mpsc::Sender<String>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { return };
        if tx.send(line).is_err() {
            return;
        }
    }
}

/// Runs the server with `--config cmc.toml` in `dir` expecting it to fail
/// at start; returns its exit status and stderr.
pub fn start_failing(dir: &Path) -> (ExitStatus, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cmc-server"))
        .args(["--config", "cmc.toml"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Server {
    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (at most a minute) for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server did not exit");
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        self.request("POST", path, &[("Content-Type", content_type)], body)
    }

    /// One request on a new connection (`Connection: close`).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .write_all(&request_bytes(method, path, headers, body))
            .unwrap();
        read_response(&mut stream)
    }
}

/// The bytes of an HTTP/1.1 request; `Host: localhost` unless `headers`
/// names a Host.
pub fn request_bytes(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let host = if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        ""
    } else {
        "Host: localhost\r\n"
    };
    let mut req = format!("{method} {path} HTTP/1.1\r\n{host}Connection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    }) && (method == "POST" || !body.is_empty())
    {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads a whole response from a connection the server closes after it.
pub fn read_response(stream: &mut impl Read) -> Response {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_response(&raw).unwrap_or_else(|| panic!("not an HTTP response: {raw:?}"))
}

pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

/// Runs `openssl` with `args` in `dir`; returns (success, stdout+stderr).
pub fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `cmc-tool enroll` arguments that verify against the embedded root and
/// sign with the bootstrap RA in the data directory `data`.
pub fn bootstrap_enroll_args(data: &Path) -> Vec<String> {
    let file = |name: &str| data.join(name).to_str().unwrap().to_owned();
    [
        ("--ca-cert", "root.pem"),
        ("--signer-cert", "bootstrap-ra.pem"),
        ("--signer-key", "bootstrap-ra.key"),
        ("--passphrase-file", "bootstrap-ra-passphrase"),
    ]
    .into_iter()
    .flat_map(|(flag, name)| [flag.to_owned(), file(name)])
    .collect()
}

/// Runs `cmc-tool ARGS` in-process (its library, parsed from a command
/// line as the binary does); returns what it printed (standard output,
/// then standard error), or that and the error chain as the binary would
/// print them (exit 1).
pub fn cmc_tool(args: &[&str]) -> Result<String, String> {
    cmc_tool_io(args).map(|(out, err)| format!("{out}{err}"))
}

/// Like [`cmc_tool`], with standard output and standard error apart.
pub fn cmc_tool_io(args: &[&str]) -> Result<(String, String), String> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut io = cmc_tool::Io {
        out: &mut out,
        err: &mut err,
        out_is_terminal: false,
    };
    let result = cmc_tool::run_args(
        std::iter::once("cmc-tool").chain(args.iter().copied()),
        &mut io,
    );
    let out = String::from_utf8_lossy(&out).into_owned();
    let err_text = String::from_utf8_lossy(&err).into_owned();
    result
        .map(|()| (out.clone(), err_text.clone()))
        .map_err(|e| format!("{out}{err_text}{e:#}"))
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An operator command, `cmc-tool --config CONFIG ARGS`, which must
/// succeed: what it printed.
pub fn admin(config: &Path, args: &[&str]) -> String {
    let mut all = vec!["--config", s(config)];
    all.extend_from_slice(args);
    cmc_tool(&all).unwrap_or_else(|e| panic!("cmc-tool {args:?}: {e}"))
}

/// `cmc-tool --config CONFIG client add ID --role ROLE --ca root --issue
/// --subject SUBJECT`: the credential DIR/ID.pem and its key DIR/ID.key
/// (unencrypted).
pub fn add_root_client(config: &Path, dir: &Path, id: &str, role: &str, subject: &str) {
    admin(
        config,
        &[
            "client",
            "add",
            id,
            "--role",
            role,
            "--ca",
            "root",
            "--issue",
            "--subject",
            subject,
            "--out-dir",
            s(dir),
            "--unencrypted-key",
        ],
    );
    assert!(dir.join(format!("{id}.pem")).exists());
    assert!(dir.join(format!("{id}.key")).exists());
}

/// `cmc-tool --config CONFIG secret add --ca root --identification ID
/// EXTRA...`: the one-time secret it printed (once, on stdout; stderr says
/// it is shown only now).
pub fn add_root_secret(config: &Path, id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "--config",
        s(config),
        "secret",
        "add",
        "--ca",
        "root",
        "--identification",
        id,
    ];
    args.extend_from_slice(extra);
    let (out, err) = cmc_tool_io(&args).unwrap();
    assert!(err.contains("shown only now"), "{err}");
    let secret = out.trim().to_owned();
    assert_eq!(secret.len(), 32, "{out}");
    secret
}

/// Which store a server test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: `cmc.db` in the data directory.
    Sqlite,
    /// A fresh schema on the PostgreSQL server at `CMC_TEST_PG_URL`.
    Postgres,
}

/// The store a test's server runs on: nothing to configure for SQLite, a
/// fresh PostgreSQL schema (dropped when this is dropped) otherwise.
pub struct TestStore {
    pg: Option<(String, String)>,
    /// The `store = ...` line for the config, empty for the default.
    pub config_line: String,
}

impl TestStore {
    /// The store for `backend`; `None` when PostgreSQL is asked for but
    /// `CMC_TEST_PG_URL` is not set (the test prints that it is skipped),
    /// which CI does not allow.
    pub fn new(backend: Backend, test: &str) -> Option<Self> {
        if backend == Backend::Sqlite {
            return Some(Self {
                pg: None,
                config_line: String::new(),
            });
        }
        let base = match std::env::var("CMC_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var_os("CI").is_some() => {
                panic!("CMC_TEST_PG_URL is not set, and CI is: the PostgreSQL tests must run")
            }
            _ => {
                eprintln!("skipped {test}: CMC_TEST_PG_URL is not set");
                return None;
            }
        };
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let schema = format!(
            "srv{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        postgres::Client::connect(&base, postgres::NoTls)
            .unwrap()
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
        Some(Self {
            config_line: format!("store = \"{url}\"\n"),
            pg: Some((base, schema)),
        })
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg {
            if let Ok(mut c) = postgres::Client::connect(base, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
    }
}

/// Whether acme2certifier's `KIND` CA handler (`est` or `cmp`) can be
/// imported. Without it the caller prints a skip line, unless `CI` is set,
/// where it fails: `scripts/test.sh` installs it.
pub fn acme2certifier_handler_available(test: &str, kind: &str) -> bool {
    let module = format!("import acme2certifier.cahandlers.{kind}_ca_handler");
    let out = Command::new("python3").args(["-c", &module]).output();
    let why = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => String::from_utf8_lossy(&o.stderr)
            .lines()
            .last()
            .unwrap_or("")
            .to_owned(),
        Err(e) => format!("python3: {e}"),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: acme2certifier's {kind} handler is missing and CI is set ({why}); \
         scripts/test.sh installs it"
    );
    println!(
        "{test}: SKIPPED: acme2certifier's {kind} handler cannot be imported ({why}); install it \
         as scripts/test.sh does: python3 -m pip install --no-deps acme2certifier==0.46.3 and its \
         import-time packages (scripts/est_peer.py lists them)"
    );
    false
}
