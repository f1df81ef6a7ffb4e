//! The files of an issued client credential, for `client add --issue` and
//! `client reissue`: the key made here (or none: the client's own, from its
//! PKCS #10 request), the certificate and the CA chain, in a private
//! directory, never over an existing file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use cmc_ca::{ClientCredential, ClientCsr, Engine, SecretRef};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use spki::SubjectPublicKeyInfoOwned;

use crate::Io;
use crate::context::{absolute, create_private_dir};
use crate::inspect::pem;
use crate::output::Fields;

/// Files of an issued credential.
pub(crate) struct CredentialFiles {
    /// `None` when the client made its key (--csr).
    key: Option<PathBuf>,
    cert: PathBuf,
    chain: PathBuf,
}

/// Makes `out_dir` (private) and names the files of client `id` there,
/// refusing to overwrite any; then the public key to certify: the
/// request's, or that of a new `key_type` key written (encrypted with
/// `passphrase`, or not when it is `None`) to `ID.key`.
///
/// # Errors
/// A file that exists, a directory or key that cannot be written.
pub(crate) fn prepare_key(
    out_dir: &Path,
    id: &str,
    csr: Option<&ClientCsr>,
    key_type: KeySpec,
    passphrase: Option<&SecretRef>,
) -> Result<(CredentialFiles, SubjectPublicKeyInfoOwned)> {
    let out_dir = absolute(out_dir)?;
    create_private_dir(&out_dir)?;
    let files = CredentialFiles {
        key: csr.is_none().then(|| out_dir.join(format!("{id}.key"))),
        cert: out_dir.join(format!("{id}.pem")),
        chain: out_dir.join(format!("{id}-chain.pem")),
    };
    for f in files.key.iter().chain([&files.cert, &files.chain]) {
        if f.exists() {
            bail!("{} already exists; refusing to overwrite it", f.display());
        }
    }
    let public_key = match (csr, &files.key) {
        (Some(c), _) => c.public_key().clone(),
        (None, Some(path)) => {
            let key = FileKey::generate(key_type)?;
            match passphrase {
                Some(secret) => key.store(path, &secret.to_source()),
                None => key.store_unencrypted(path),
            }
            .with_context(|| format!("writing the client key {}", path.display()))?;
            key.public_key().clone()
        }
        (None, None) => bail!("no key file for the generated key"),
    };
    Ok((files, public_key))
}

impl CredentialFiles {
    /// Writes the certificate and its CA chain of an issued credential;
    /// when nothing was issued, removes the key written for it (of no use)
    /// and returns the engine's error.
    pub(crate) fn finish(
        &self,
        engine: &Engine,
        issued: cmc_ca::Result<ClientCredential>,
    ) -> Result<ClientCredential> {
        let credential = match issued {
            Ok(c) => c,
            Err(e) => {
                if let Some(path) = &self.key {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e).context("issuing the credential");
            }
        };
        let ca = engine.ca(&credential.ca)?;
        let mut chain = pem("CERTIFICATE", ca.certificate_der())?;
        for c in ca.chain_der() {
            chain.push_str(&pem("CERTIFICATE", c)?);
        }
        std::fs::write(&self.cert, pem("CERTIFICATE", &credential.certificate_der)?)
            .with_context(|| format!("writing {}", self.cert.display()))?;
        std::fs::write(&self.chain, chain)
            .with_context(|| format!("writing {}", self.chain.display()))?;
        Ok(credential)
    }

    /// Says where the files are.
    pub(crate) fn print(&self, io: &mut Io<'_>) -> Result<()> {
        let mut f = Fields::new();
        match &self.key {
            Some(path) => f.add("key", path.display().to_string()),
            None => f.add("key", "the client's own (from its certificate request)"),
        }
        f.add("certificate", self.cert.display().to_string());
        f.add("CA chain", self.chain.display().to_string());
        f.print(io.out)
    }
}
