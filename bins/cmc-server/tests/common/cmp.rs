//! A running `cmc-server` on the embedded default (root CA "root") for the CMP tests, and
//! the real `openssl cmp` client against it. Every answer is signed with the CA key (or
//! MAC-protected), so the client trusts `cmc-data/root.pem` and needs `-ignore_keyusage`
//! (a CA certificate has no digitalSignature key usage).

use std::path::{Path, PathBuf};

use super::{Backend, Server, TestStore, openssl, s, start};

pub struct Cmp {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub server: Server,
    /// Dropped after the server: its PostgreSQL schema, if any.
    _store: Option<TestStore>,
}

impl Cmp {
    pub fn start() -> Self {
        Self::start_with("")
    }

    /// A server whose configuration also has `extra` (top-level keys and sections).
    pub fn start_with(extra: &str) -> Self {
        Self::start_with_files(extra, &[])
    }

    /// [`Cmp::start_with`], with `files` (name, contents) written beside the configuration.
    pub fn start_with_files(extra: &str, files: &[(&str, &str)]) -> Self {
        Self::start_on(None, extra, files)
    }

    /// [`Cmp::start_with_files`] on `backend`'s store; `None` when the test is skipped
    /// (PostgreSQL without `CMC_TEST_PG_URL`, outside CI).
    pub fn on(backend: Backend, test: &str, extra: &str, files: &[(&str, &str)]) -> Option<Self> {
        let store = TestStore::new(backend, test)?;
        Some(Self::start_on(Some(store), extra, files))
    }

    pub fn start_on(store: Option<TestStore>, extra: &str, files: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        for (name, contents) in files {
            std::fs::write(dir.join(name), contents).unwrap();
        }
        let store_line = store.as_ref().map_or("", |s| s.config_line.as_str());
        super::write_config(
            &dir,
            &format!("{store_line}{extra}[server]\nlisten = \"127.0.0.1:0\"\n"),
        );
        let server = start(&dir);
        Self {
            _tmp: tmp,
            dir,
            server,
            _store: store,
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A registered client ID with role ROLE: ID.pem and ID.key.
    pub fn add_client(&self, id: &str, role: &str, subject: &str) {
        super::add_root_client(&self.file("cmc.toml"), &self.dir, id, role, subject);
    }

    /// A fresh P-256 key NAME.key.
    pub fn key(&self, name: &str) -> PathBuf {
        let path = self.file(&format!("{name}.key"));
        let (ok, out) = openssl(
            &self.dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                s(&path),
            ],
        );
        assert!(ok, "{out}");
        path
    }

    /// `openssl cmp` against the server's default CMP path, signed with
    /// the credential SIGNER (SIGNER.pem, SIGNER.key); `args` add the
    /// command and its request. Returns (success, output).
    pub fn cmp(&self, signer: &str, args: &[&str]) -> (bool, String) {
        let cert = self.file(&format!("{signer}.pem"));
        let key = self.file(&format!("{signer}.key"));
        let mut all = vec![
            "cmp",
            "-server",
            &self.server.addr,
            "-path",
            ".well-known/cmp",
            "-cert",
            s(&cert),
            "-key",
            s(&key),
        ];
        all.extend_from_slice(args);
        self.cmp_raw(&all)
    }

    pub fn cmp_raw(&self, args: &[&str]) -> (bool, String) {
        let root = self.file("cmc-data/root.pem");
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(&[
            "-trusted",
            s(&root),
            "-ignore_keyusage",
            "-msg_timeout",
            "60",
        ]);
        openssl(&self.dir, &all)
    }

    /// `openssl verify -CAfile cmc-data/root.pem CERT` succeeds.
    pub fn verify(&self, cert: &Path) {
        let root = self.file("cmc-data/root.pem");
        let (ok, out) = openssl(&self.dir, &["verify", "-CAfile", s(&root), s(cert)]);
        assert!(ok && out.contains(": OK"), "{out}");
    }

    pub fn subject(&self, cert: &Path) -> String {
        let (ok, out) = openssl(
            &self.dir,
            &[
                "x509",
                "-in",
                s(cert),
                "-noout",
                "-subject",
                "-nameopt",
                "RFC2253",
            ],
        );
        assert!(ok, "{out}");
        out.trim().trim_start_matches("subject=").to_owned()
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> super::Response {
        self.server.post(path, content_type, body)
    }

    /// `openssl cmp` with MAC protection (`-ref`/`-secret`, PBM) against `path`
    /// (`-path`), plus `args`, trusting the root. Returns (success, output).
    pub fn mac(&self, path: &str, reference: &str, secret: &str, args: &[&str]) -> (bool, String) {
        let pass = format!("pass:{secret}");
        let mut all = vec![
            "cmp",
            "-server",
            &self.server.addr,
            "-path",
            path,
            "-ref",
            reference,
            "-secret",
            &pass,
            "-recipient",
            "/CN=tst_sub_ca",
        ];
        all.extend_from_slice(args);
        self.cmp_raw(&all)
    }
}
