//! The configuration as `cmc-server` reads it: the engine's part
//! ([`cmc_ca::config::Config`]: data directory, store, profiles,
//! `[requests]`, `[crl]`, `[ca.*]`) and the server's own section, `[server]`
//! with `[server.tls]`, both from the one TOML file that `cmc-tool` reads
//! too:
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"
//! base_path = "/cmc"                       # POST {base_path}/{ca}
//! default_path = "/cmc01"                  # POST here goes to default_ca
//! max_body_bytes = 1048576
//! read_timeout_secs = 30
//! idle_timeout_secs = 90
//! max_concurrency = 64
//! unauthenticated_failures_per_minute = 60 # per source address; HTTP 429 past it (0: no limit)
//! est_require_channel_binding = false      # EST: every CSR carries this TLS connection's binding (RFC 7030 §3.5)
//!
//! [server.tls]                             # optional: HTTPS
//! cert = "tls/server-chain.pem"
//! key = "tls/server-key.pem"
//! client_ca = "tls/clients.pem"            # optional: ask for client certificates
//! require_client_cert = false
//!
//! [console]                                # optional: the operator web console
//! listen = "127.0.0.1:8444"
//! session_idle_secs = 1800
//! session_max_secs = 28800
//! hosts = ["ca.example.org"]               # Host names besides the listener's address
//!
//! [console.tls]                            # optional: HTTPS for the console
//! cert = "tls/console-chain.pem"
//! key = "tls/console-key.pem"
//! client_ca = "tls/clients.pem"            # optional: agents log in with a client certificate
//! require_client_cert = false              # true: no connection without one (no password login)
//! ```
//!
//! The console answers only requests whose Host header names the address
//! the connection came in on (`127.0.0.1:PORT`, `[::1]:PORT`, and
//! `localhost:PORT` on loopback) or a name in `hosts` (a name without a port
//! stands for the listener's port): anything else gets 421, against DNS
//! rebinding. With `[console.tls]` the session cookie is `Secure` and
//! `__Host-` prefixed and answers carry HSTS; with its `client_ca`, a
//! registered client of role `agent` whose certificate the browser presents
//! may log in with it ("Log in with your certificate"), acting only on the
//! CAs its grants cover and audited as `console:cert:NAME`. Password login
//! stays loopback-only.
//!
//! Without a configuration file (the embedded default) the console is on,
//! at 127.0.0.1:8444; with one, only when it has a `[console]` section.
//!
//! The text is read once and parsed twice: by the engine, which refuses
//! unknown keys outside `[server]`, and here, where only `[server]` is read
//! and its unknown keys are refused (with their line). Like the engine's
//! part, parsing opens nothing and every value is checked before the
//! server starts anything; relative paths are taken from the file's
//! directory.
//!
//! The engine's part lets `[server]` stand without reading it
//! (`cmc_ca::config::ForeignSection`): this file is the one place its keys
//! and values are checked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The configuration file, split by owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// What the engine reads.
    pub engine: cmc_ca::config::Config,
    /// `[server]`: what this server reads.
    pub server: ServerConfig,
    /// `[console]`: the operator console, off when `None`.
    pub console: Option<ConsoleConfig>,
}

impl Default for Config {
    /// The embedded default: the console on, at 127.0.0.1:8444.
    fn default() -> Self {
        Self {
            engine: cmc_ca::config::Config::default(),
            server: ServerConfig::default(),
            console: Some(ConsoleConfig::default()),
        }
    }
}

/// `[console]`: the operator web console's listener and sessions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The address the console listens on (its own listener, HTTPS with
    /// `tls`, else plain HTTP; password login is accepted from loopback
    /// peers only).
    pub listen: SocketAddr,
    /// Host names (optionally `NAME:PORT`) the Host header may give
    /// besides the listener's own address.
    pub hosts: Vec<String>,
    /// `[console.tls]`: HTTPS, and agents' client certificates when it has
    /// a `client_ca`.
    pub tls: Option<TlsConfig>,
    /// Seconds without a request after which a console session ends.
    pub session_idle_secs: u64,
    /// Seconds after login after which a console session ends.
    pub session_max_secs: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            hosts: Vec::new(),
            tls: None,
            session_idle_secs: 30 * 60,
            session_max_secs: 8 * 3600,
        }
    }
}

impl ConsoleConfig {
    /// The console's settings over the data directory `data_dir`.
    ///
    /// # Errors
    /// If `data_dir` cannot be made absolute.
    pub fn settings(&self, data_dir: &Path) -> Result<cmc_console::Settings> {
        let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
        Ok(cmc_console::Settings {
            data_dir: std::path::absolute(data_dir).context("the data directory")?,
            tls: self.tls.is_some(),
            hosts: self.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            lifetimes: cmc_console::session::Lifetimes {
                idle_secs: secs(self.session_idle_secs),
                max_secs: secs(self.session_max_secs),
            },
        })
    }

    /// Checks every value.
    ///
    /// # Errors
    /// Saying which key is wrong and why.
    pub fn validate(&self) -> Result<()> {
        if !(60..=86_400).contains(&self.session_idle_secs) {
            bail!("console.session_idle_secs: must be between 60 and 86400");
        }
        if !(60..=7 * 86_400).contains(&self.session_max_secs) {
            bail!("console.session_max_secs: must be between 60 and 604800");
        }
        if let Some(bad) = self
            .hosts
            .iter()
            .find(|h| !cmc_console::host::valid_host_entry(h))
        {
            bail!("console.hosts: {bad:?} is not a host name or address (with an optional :PORT)");
        }
        if let Some(tls) = &self.tls
            && tls.require_client_cert
            && tls.client_ca.is_none()
        {
            bail!("console.tls.require_client_cert: needs console.tls.client_ca");
        }
        Ok(())
    }

    /// Takes relative TLS paths from `base` (the file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        if let Some(tls) = &mut self.tls {
            tls.resolve_paths(base);
        }
    }
}

/// `[server]`: listening, paths, limits and TLS.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// CMC requests are `POST {base_path}/{ca}`.
    pub base_path: String,
    /// An extra path for clients that expect one fixed URL (such as
    /// `/cmc01`); it serves `default_ca`.
    pub default_path: Option<String>,
    /// The largest request body accepted (HTTP 413 above it); also the
    /// largest request the engine decodes.
    pub max_body_bytes: usize,
    /// Time allowed to receive a whole request.
    pub read_timeout_secs: u64,
    /// Time an idle keep-alive connection is kept open.
    pub idle_timeout_secs: u64,
    /// Requests processed at once; more wait in line for a permit, holding
    /// no thread.
    ///
    /// A request's whole engine call (decode and verify the request, sign
    /// the certificate, commit it, sign the answer) is one task on tokio's
    /// blocking pool, whose threads are bounded by this number; the async
    /// workers, one per core, only do HTTP. The default, 64, is more than
    /// the cores on purpose: part of an enrollment is spent waiting for
    /// its store commit (an fsync, or PostgreSQL round trips), and while
    /// some requests wait others use the cores; with group commit, the
    /// requests waiting together are what one commit makes durable, so a
    /// bound at the core count (2 on a small machine) would commit one or
    /// two enrollments at a time and leave the cores idle during each
    /// fsync. The cores still bound what computes at once: on 2 cores at
    /// most 2 of the 64 run, the others wait for the store or their turn.
    /// Lower it to bound memory and the tail latency of an overload (each
    /// permit is a thread with its request and answer in memory); above the
    /// number of requests a commit can take while the cores are busy it
    /// adds nothing.
    pub max_concurrency: usize,
    /// CMC failures of unauthenticated senders (a request that does not
    /// verify, or whose signer or secret is refused) allowed per source
    /// address and minute; past it the server answers HTTP 429 without
    /// signing anything. 0 turns the limit off.
    pub unauthenticated_failures_per_minute: u32,
    /// EST (RFC 7030 §3.5): refuse a CSR whose challengePassword is not
    /// the base64 of its TLS connection's channel binding (RFC 9266
    /// tls-exporter; see the README's EST section). Off by default: few
    /// clients link their CSRs.
    pub est_require_channel_binding: bool,
    /// HTTPS; plain HTTP when absent.
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_path: "/cmc".into(),
            default_path: Some("/cmc01".into()),
            max_body_bytes: 1 << 20,
            read_timeout_secs: 30,
            idle_timeout_secs: 90,
            max_concurrency: 64,
            unauthenticated_failures_per_minute: 60,
            est_require_channel_binding: false,
            tls: None,
        }
    }
}

/// `[server.tls]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server certificate chain, PEM (leaf first).
    pub cert: PathBuf,
    /// The server's private key, PEM (PKCS#8, SEC1 or PKCS#1), mode 0600.
    pub key: PathBuf,
    /// Trust anchors for client certificates, PEM; when set, clients are
    /// asked for a certificate, which must then match the CMS signer.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Refuse connections without a client certificate.
    #[serde(default)]
    pub require_client_cert: bool,
}

impl TlsConfig {
    /// Takes relative paths from `base` (the file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.cert);
        fix(&mut self.key);
        if let Some(p) = &mut self.client_ca {
            fix(p);
        }
    }
}

/// The sections of the file that this server owns; the others are the
/// engine's, which refuses unknown keys among them.
#[derive(Deserialize)]
struct Owned {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    console: Option<ConsoleConfig>,
}

impl Config {
    /// Reads, parses and checks the file at `path`; relative paths in it
    /// are taken from the file's directory.
    ///
    /// # Errors
    /// If the file cannot be read, does not parse, or has a bad value; the
    /// message names the file and the key.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("configuration: {}", path.display()))?;
        let mut config =
            Self::from_toml(&text).with_context(|| format!("configuration: {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.engine.resolve_paths(base);
        config.server.resolve_paths(base);
        if let Some(c) = &mut config.console {
            c.resolve_paths(base);
        }
        Ok(config)
    }

    /// Parses and checks a configuration file's text. Relative paths stay
    /// relative.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn from_toml(text: &str) -> Result<Self> {
        let engine = cmc_ca::config::Config::from_toml(text)?;
        let Owned { server, console } = toml::from_str(text)?;
        server.validate()?;
        if let Some(c) = &console {
            c.validate()?;
            if c.listen == server.listen && c.listen.port() != 0 {
                bail!("console.listen: must differ from server.listen");
            }
        }
        check_cmp_paths(&engine, &server)?;
        Ok(Self {
            engine,
            server,
            console,
        })
    }
}

/// A CMP path (`[ca.NAME.cmp] paths`) must not be one the CMC door answers.
fn check_cmp_paths(engine: &cmc_ca::config::Config, server: &ServerConfig) -> Result<()> {
    use cmc_ca::config::CmpSettings;
    let base = CmpSettings::normalize(&server.base_path);
    let default = server.default_path.as_deref().map(CmpSettings::normalize);
    for (name, settings) in &engine.ca {
        for path in settings.cmp.iter().flat_map(|c| &c.paths) {
            let p = CmpSettings::normalize(path);
            let under_base = p
                .strip_prefix(base)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
            if under_base || Some(p) == default {
                bail!(
                    "ca.{name}.cmp.paths: {path:?} is a CMC path (server.base_path or server.default_path)"
                );
            }
        }
    }
    Ok(())
}

impl ServerConfig {
    /// Checks every value.
    ///
    /// # Errors
    /// Saying which key is wrong and why.
    pub fn validate(&self) -> Result<()> {
        check_path("server.base_path", &self.base_path)?;
        if let Some(p) = &self.default_path {
            check_path("server.default_path", p)?;
            if p.trim_end_matches('/') == self.base_path.trim_end_matches('/') {
                bail!("server.default_path: must differ from server.base_path");
            }
        }
        if !(1024..=64 << 20).contains(&self.max_body_bytes) {
            bail!("server.max_body_bytes: must be between 1024 and 67108864");
        }
        if !(1..=3600).contains(&self.read_timeout_secs) {
            bail!("server.read_timeout_secs: must be between 1 and 3600");
        }
        if !(1..=86_400).contains(&self.idle_timeout_secs) {
            bail!("server.idle_timeout_secs: must be between 1 and 86400");
        }
        if !(1..=4096).contains(&self.max_concurrency) {
            bail!("server.max_concurrency: must be between 1 and 4096");
        }
        if let Some(tls) = &self.tls {
            if tls.require_client_cert && tls.client_ca.is_none() {
                bail!("server.tls.require_client_cert: needs server.tls.client_ca");
            }
        }
        Ok(())
    }

    /// Makes the TLS file paths relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        if let Some(tls) = &mut self.tls {
            tls.resolve_paths(base);
        }
    }
}

/// An HTTP path prefix: `/`, then at least one of `A-Z a-z 0-9 / - _ .`.
fn check_path(key: &str, path: &str) -> Result<()> {
    let ok = path.starts_with('/')
        && path.len() > 1
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    if !ok {
        bail!("{key}: {path:?} must start with / and hold only A-Z a-z 0-9 / - _ .");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `[server]` section alone, as the engine's copy of it will no
    /// longer see it: only this module's rules apply.
    fn server_only(text: &str) -> Result<ServerConfig> {
        let Owned { server, .. } = toml::from_str(text)?;
        server.validate()?;
        Ok(server)
    }

    #[test]
    fn cmp_paths_must_not_shadow_cmc_paths() {
        for path in ["cmc", "/cmc/root", "cmc01/"] {
            let text = format!("[ca.root.cmp]\npaths = [\"{path}\"]\n");
            let e = format!("{:#}", Config::from_toml(&text).unwrap_err());
            assert!(e.contains("is a CMC path"), "{path}: {e}");
        }
        Config::from_toml("[ca.root.cmp]\npaths = [\"pkix/\", \"cmcx\"]\n").unwrap();
    }

    #[test]
    fn empty_file_is_the_safe_default() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(
            c,
            Config {
                console: None,
                ..Config::default()
            },
            "a file without [console] has no console"
        );
        assert!(c.server.listen.ip().is_loopback());
        assert!(c.server.tls.is_none());
        // Without a file, the console is on, on loopback.
        let console = Config::default().console.unwrap();
        assert_eq!(console.listen.to_string(), "127.0.0.1:8444");
    }

    #[test]
    fn console_section_is_checked() {
        let c = Config::from_toml("[console]\nlisten = \"127.0.0.1:9444\"\n").unwrap();
        let console = c.console.unwrap();
        assert_eq!(console.listen.port(), 9444);
        assert_eq!(console.session_idle_secs, 1800);
        for (text, key) in [
            (
                "[console]\nsession_idle_secs = 10\n",
                "console.session_idle_secs",
            ),
            (
                "[console]\nsession_max_secs = 0\n",
                "console.session_max_secs",
            ),
            (
                "[server]\nlisten = \"127.0.0.1:9000\"\n[console]\nlisten = \"127.0.0.1:9000\"\n",
                "console.listen",
            ),
            ("[console]\npassword = \"x\"\n", "unknown field"),
            (
                "[console]\nhosts = [\"https://evil.example\"]\n",
                "console.hosts",
            ),
            ("[console]\nhosts = [\"a.example:0\"]\n", "console.hosts"),
            (
                "[console.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nrequire_client_cert = true\n",
                "console.tls.require_client_cert",
            ),
            ("[console.tls]\ncert = \"c.pem\"\n", "missing field `key`"),
        ] {
            let e = format!("{:#}", Config::from_toml(text).unwrap_err());
            assert!(e.contains(key), "{text}: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cmc.toml");
        std::fs::write(
            &path,
            "[console]\nhosts = [\"CA.example.org\", \"[::1]:443\"]\n\
             [console.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nclient_ca = \"ca.pem\"\n",
        )
        .unwrap();
        let console = Config::load(&path).unwrap().console.unwrap();
        let tls = console.tls.clone().unwrap();
        assert_eq!(tls.key, dir.path().join("k.pem"));
        assert_eq!(tls.client_ca, Some(dir.path().join("ca.pem")));
        let settings = console.settings(dir.path()).unwrap();
        assert!(settings.tls);
        assert_eq!(settings.hosts, ["ca.example.org", "[::1]:443"]);
    }

    #[test]
    fn documented_example_parses() {
        let example = cmc_testkit::doc_toml_example(include_str!("config.rs"));
        let c = Config::from_toml(&example).unwrap();
        let want = ServerConfig {
            tls: Some(TlsConfig {
                cert: "tls/server-chain.pem".into(),
                key: "tls/server-key.pem".into(),
                client_ca: Some("tls/clients.pem".into()),
                require_client_cert: false,
            }),
            ..ServerConfig::default()
        };
        assert_eq!(c.server, want);
    }

    #[test]
    fn both_owners_read_one_file() {
        let c = Config::from_toml(
            "default_ca = \"root\"\n[server]\nlisten = \"0.0.0.0:443\"\nmax_body_bytes = 4096\n\
             [requests]\nmax_pending_per_ca = 7\n",
        )
        .unwrap();
        assert_eq!(c.server.listen, SocketAddr::from(([0, 0, 0, 0], 443)));
        assert_eq!(c.server.max_body_bytes, 4096);
        assert_eq!(c.engine.default_ca.as_deref(), Some("root"));
        assert_eq!(c.engine.requests.max_pending_per_ca, 7);
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        // In [server] by this module, with the line; elsewhere by the
        // engine.
        let err = server_only("[server]\nlisten = \"127.0.0.1:1\"\nport = 8080\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("port") && err.contains("line 3"), "{err}");
        let err = server_only("[server.tls]\ncert = \"c\"\nkey = \"k\"\nca = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`ca`"), "{err}");
        for (text, key) in [
            ("[server]\nport = 8080", "port"),
            ("listen = \"127.0.0.1:1\"", "listen"),
            ("[requests]\nmax_requests = 3", "max_requests"),
        ] {
            let err = format!("{:#}", Config::from_toml(text).unwrap_err());
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[server]\nbase_path = \"cmc\"", "server.base_path"),
            ("[server]\nbase_path = \"/\"", "server.base_path"),
            ("[server]\ndefault_path = \"/c m c\"", "server.default_path"),
            ("[server]\ndefault_path = \"/cmc/\"", "server.default_path"),
            ("[server]\nmax_body_bytes = 10", "server.max_body_bytes"),
            (
                "[server]\nread_timeout_secs = 0",
                "server.read_timeout_secs",
            ),
            (
                "[server]\nidle_timeout_secs = 86401",
                "server.idle_timeout_secs",
            ),
            ("[server]\nmax_concurrency = 0", "server.max_concurrency"),
            (
                "[server.tls]\ncert = \"c\"\nkey = \"k\"\nrequire_client_cert = true",
                "server.tls.require_client_cert",
            ),
        ] {
            let err = server_only(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
            let err = format!("{:#}", Config::from_toml(text).unwrap_err());
            assert!(err.contains(key), "{text}: {err}");
        }
        assert!(server_only("[server]\nbase_path = \"/est-cmc_1.0/x\"").is_ok());
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cmc.toml");
        std::fs::write(
            &path,
            "data_dir = \"data\"\n[server.tls]\ncert = \"c.pem\"\nkey = \"/etc/k.pem\"\nclient_ca = \"ca.pem\"\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        let tls = c.server.tls.unwrap();
        assert_eq!(tls.cert, dir.path().join("c.pem"));
        assert_eq!(tls.key, Path::new("/etc/k.pem"));
        assert_eq!(tls.client_ca, Some(dir.path().join("ca.pem")));
        assert_eq!(c.engine.data_dir, dir.path().join("data"));
        let err = format!(
            "{:#}",
            Config::load(&dir.path().join("missing.toml")).unwrap_err()
        );
        assert!(err.contains("missing.toml"), "{err}");
    }
}
