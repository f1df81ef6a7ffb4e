//! Running the built `cmc-tool` in a temporary directory whose config file
//! points the data directory there, and checking its output with OpenSSL.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub mod envelope;
pub mod responder;

/// A temporary directory with `cmc.toml` (data_dir = "data") and a
/// passphrase file.
pub struct Env {
    pub dir: TempDir,
    pub config: PathBuf,
    pub passphrase: PathBuf,
}

/// What one run of the tool did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

impl Env {
    pub fn new() -> Self {
        Self::with_config("data_dir = \"data\"\n")
    }

    pub fn with_config(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("cmc.toml");
        std::fs::write(&config, text).unwrap();
        let passphrase = dir.path().join("passphrase");
        std::fs::write(&passphrase, "correct horse battery staple\n").unwrap();
        Self {
            dir,
            config,
            passphrase,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// Runs the tool with `--config` and `args` in the directory.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_cmc-tool"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("CMC_CONFIG")
            .output()
            .unwrap();
        Run::from(out)
    }

    /// Runs the tool in the directory without `--config`, with extra
    /// environment variables.
    pub fn run_bare(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cmc-tool"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("CMC_CONFIG");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        Run::from(cmd.output().unwrap())
    }

    /// Runs the tool and insists that it succeeds.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code,
            Some(0),
            "cmc-tool {} failed:\nstdout: {}\nstderr: {}",
            args.join(" "),
            r.stdout,
            r.stderr
        );
        r
    }

    /// Runs the tool and insists that it fails with `code`.
    pub fn fails(&self, code: i32, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code,
            Some(code),
            "cmc-tool {} should exit {code}:\nstdout: {}\nstderr: {}",
            args.join(" "),
            r.stdout,
            r.stderr
        );
        r
    }

    /// A root CA named `name` with a P-384 key whose passphrase is in the
    /// passphrase file.
    pub fn root(&self, name: &str) {
        let pass = self.passphrase.display().to_string();
        self.ok(&[
            "ca",
            "init",
            name,
            "--subject",
            &format!("CN={name} Root CA,O=cmc-tool tests,C=SE"),
            "--key-type",
            "p384",
            "--passphrase-file",
            &pass,
        ]);
    }

    /// An intermediate `name` under `parent`, P-256.
    pub fn intermediate(&self, name: &str, parent: &str) {
        let pass = self.passphrase.display().to_string();
        self.ok(&[
            "ca",
            "init",
            name,
            "--subject",
            &format!("CN={name} Issuing CA,O=cmc-tool tests,C=SE"),
            "--key-type",
            "p256",
            "--parent",
            parent,
            "--days",
            "1000",
            "--passphrase-file",
            &pass,
        ]);
    }

    /// `ca export NAME -o NAME.pem`, returning the path.
    pub fn export(&self, name: &str) -> String {
        let out = self.p(&format!("{name}.pem"));
        self.ok(&["ca", "export", name, "-o", &out]);
        out
    }

    /// Issues a client credential `id` with `role` from `ca` into `out/`.
    /// Returns the serial (hex) from `client show --json`.
    pub fn issue_client(&self, id: &str, role: &str, ca: &str) -> String {
        let pass = self.passphrase.display().to_string();
        let out_dir = self.p("out");
        self.ok(&[
            "client",
            "add",
            id,
            "--role",
            role,
            "--ca",
            ca,
            "--issue",
            "--subject",
            &format!("CN={id},O=cmc-tool tests"),
            "--out-dir",
            &out_dir,
            "--passphrase-file",
            &pass,
        ]);
        let show = self.ok(&["client", "show", id, "--json"]).json();
        show["serial"].as_str().unwrap().to_owned()
    }
}

/// The permission bits of a file.
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs openssl, insisting that it succeeds; returns stdout and stderr
/// together.
pub fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "openssl {} failed:\n{text}",
        args.join(" ")
    );
    text
}
