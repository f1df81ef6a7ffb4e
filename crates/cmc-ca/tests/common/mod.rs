//! Shared helpers for the integration tests: a SQLite store in a temporary
//! directory, an engine on a manual clock, CA creation shortcuts, and
//! running `openssl` and pkilint on what we produce.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cmc_ca::{
    CaKey, ClientCredential, ClientCredentialRequest, Engine, EngineConfig, KeyConfig, LoadedCa,
    ManualClock, NewCa, SecretRef,
};
use cmc_keys::{FileKey, KeySpec, SignatureScheme, SigningKey};
use cmc_store::Store;
use cmc_store::{ClientRole, Grant, Scope};
use der::pem::LineEnding;
use der::{Decode, EncodePem};
use tempfile::TempDir;
use x509_cert::Certificate;

/// A temporary directory with a store, a passphrase file and an engine.
pub struct Env {
    pub dir: TempDir,
    pub db_url: String,
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    pub engine: Engine,
    pub passphrase: PathBuf,
}

impl Env {
    /// A fresh environment whose clock starts at the real time (OpenSSL
    /// checks validity against the system clock).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("ca.db").display());
        let store = cmc_store::open(&db_url).unwrap();
        let clock = ManualClock::starting_now();
        let engine = Engine::load(
            Arc::clone(&store),
            Arc::new(clock.clone()),
            EngineConfig::default(),
        )
        .unwrap();
        let passphrase = dir.path().join("passphrase");
        std::fs::write(&passphrase, "correct horse battery staple\n").unwrap();
        Self {
            dir,
            db_url,
            store,
            clock,
            engine,
            passphrase,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A file key config (encrypted with the passphrase file) named after the CA.
    pub fn file_key(&self, name: &str, scheme: SignatureScheme) -> KeyConfig {
        KeyConfig::file(
            self.path(&format!("{name}.key")),
            SecretRef::File(self.passphrase.clone()),
            scheme,
        )
    }

    /// Creates a CA with a new encrypted file key.
    pub fn create(
        &self,
        name: &str,
        spec: KeySpec,
        scheme: SignatureScheme,
        issuer: Option<&str>,
        days: u32,
    ) -> Arc<LoadedCa> {
        self.engine
            .create_ca(&NewCa {
                name: name.into(),
                subject: format!("CN=cmc-ca test {name},O=cmc-ca tests,C=SE"),
                validity_days: days,
                key: CaKey::Generate {
                    spec,
                    config: self.file_key(name, scheme),
                },
                path_len: None,
                issuer: issuer.map(Into::into),
                requester: "test-admin".into(),
            })
            .unwrap()
    }

    /// Writes DER as PEM with `label` to `name` in the directory.
    pub fn write_pem(&self, name: &str, label: &str, der: &[u8]) -> PathBuf {
        let path = self.path(name);
        let pem = der::pem::encode_string(label, LineEnding::LF, der).unwrap();
        std::fs::write(&path, pem).unwrap();
        path
    }

    pub fn write_cert(&self, name: &str, der: &[u8]) -> PathBuf {
        let cert = Certificate::from_der(der).unwrap();
        let path = self.path(name);
        std::fs::write(&path, cert.to_pem(LineEnding::LF).unwrap()).unwrap();
        path
    }

    pub fn write_der(&self, name: &str, der: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, der).unwrap();
        path
    }
}

/// Runs openssl with `args`; returns stdout and stderr together, and
/// panics (showing both) unless it exits 0.
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

/// Like [`openssl`], but returns whether it succeeded and its output.
pub fn openssl_status(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A client credential from `engine`'s CA `ca` for a new P-256 key:
/// granted every CA and profile, 30 days. Returns the key and the
/// credential.
pub fn credential(
    engine: &Engine,
    ca: &str,
    id: &str,
    subject: &str,
    role: ClientRole,
) -> (FileKey, ClientCredential) {
    credential_with_names(engine, ca, id, subject, role, None)
}

/// [`credential`] for a client registered with `names`.
pub fn credential_with_names(
    engine: &Engine,
    ca: &str,
    id: &str,
    subject: &str,
    role: ClientRole,
    names: Option<cmc_policy::NameSpace>,
) -> (FileKey, ClientCredential) {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let cred = engine
        .issue_client_credential(&ClientCredentialRequest {
            names,
            ca: ca.into(),
            client_id: id.into(),
            subject: subject.into(),
            public_key: key.public_key().clone(),
            role,
            grants: vec![Grant {
                ca: Scope::Any,
                profile: Scope::Any,
            }],
            validity_days: 30,
            requester: "test-admin".into(),
            mac: None,
        })
        .unwrap();
    (key, cred)
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[allow(unused_imports)]
pub use cmc_testkit::{pkilint_available, pkilint_clean};
