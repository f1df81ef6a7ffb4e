//! One renewal of `renew`: the request signed by the current certificate,
//! the exchange, and the files written.
//!
//! Order of the writes, so that a crash never leaves a certificate without
//! its key:
//! 1. the new certificate is staged beside the old one as
//!    `.{name}.renew-pending` (written, fsynced);
//! 2. the new key replaces the old one atomically (a temporary file in the
//!    same directory, mode 0600, fsync, rename, fsync of the directory);
//! 3. the staged certificate is renamed over the old one (mode 0644).
//!
//! A crash after 2 leaves the old certificate with the new key, and the new
//! certificate staged: the next run sees a staged certificate for the key
//! and finishes step 3 before anything else ([`finish_interrupted`]); a
//! staged certificate for another key (a crash before 2) is removed. Then
//! the CA bundle and the CRL file are refreshed (each atomically; their
//! failure is a note, not a failed renewal).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context as _, Result, anyhow, bail};
use cmc_asn1::{CertTemplate, OptionalValidity};
use cmc_ca::x509::unix_time;
use cmc_codec::{CmsSigner, build_crmf_with_controls, build_csr_with_attributes};
use cmc_keys::{FileKey, SecretSource, SigningKey};
use const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME;
use der::{Decode as _, Encode as _};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::time::Time;

use crate::commands::exchange::{Endpoint, exchange};
use crate::commands::renew::RenewArgs;
use crate::commands::request::{
    Built, nonce_builder, read_cert_file, sign_with_certificate, signer_key,
};
use crate::inspect::{cert_serial, pem};
use crate::{Io, http, tls};

/// The body part id of the certification request.
const REQUEST_ID: cmc_asn1::BodyPartId = 2;

/// The certificate as it is now.
pub(crate) struct Current {
    /// Its serial, hex.
    pub(crate) serial: String,
    /// notBefore and notAfter, Unix seconds.
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
}

/// What a renewal brought.
pub(crate) struct Renewed {
    /// The new certificate's serial, hex.
    pub(crate) serial: String,
    /// Its notAfter, Unix seconds.
    pub(crate) not_after: i64,
    /// What else happened (bundle and CRL refreshed or not), for the log.
    pub(crate) notes: Vec<String>,
}

/// Reads the certificate in `--cert` (after finishing an interrupted
/// renewal).
pub(crate) fn current_certificate(args: &RenewArgs) -> Result<Current> {
    finish_interrupted(args)?;
    let chain = read_cert_file(&args.cert, "--cert")?;
    let leaf = chain
        .first()
        .ok_or_else(|| anyhow!("--cert {}: no certificate", args.cert.display()))?;
    let validity = leaf.tbs_certificate().validity();
    Ok(Current {
        serial: cert_serial(leaf)?.to_hex(),
        not_before: unix_time(&validity.not_before).secs(),
        not_after: unix_time(&validity.not_after).secs(),
    })
}

/// `.{name}.{suffix}` beside `path`.
fn beside(path: &Path, suffix: &str) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file name", path.display()))?
        .to_string_lossy();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Ok(dir.join(format!(".{name}.{suffix}")))
}

/// The suffix of the staged certificate.
const PENDING: &str = "renew-pending";

fn pending_path(cert: &Path) -> Result<PathBuf> {
    beside(cert, PENDING)
}

/// Step 3 of an interrupted renewal (module documentation).
fn finish_interrupted(args: &RenewArgs) -> Result<()> {
    let pending = pending_path(&args.cert)?;
    if !pending.exists() {
        return Ok(());
    }
    let staged = read_cert_file(&pending, "staged certificate")?;
    let key = signer_key(&args.key, &args.passphrase)?;
    let for_key = staged
        .first()
        .is_some_and(|c| c.tbs_certificate().subject_public_key_info() == key.public_key());
    if for_key {
        std::fs::rename(&pending, &args.cert).with_context(|| {
            format!(
                "finishing an interrupted renewal: renaming {} to {}",
                pending.display(),
                args.cert.display()
            )
        })?;
    } else {
        std::fs::remove_file(&pending)
            .with_context(|| format!("removing the stale {}", pending.display()))?;
    }
    sync_dir(&args.cert)
}

/// Writes `bytes` to a new file `.{name}.{pid}.tmp` beside `path` with
/// `mode`, and fsyncs it.
fn stage(path: &Path, bytes: &[u8], mode: u32, suffix: &str) -> Result<PathBuf> {
    let tmp = beside(path, suffix)?;
    let _ = std::fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let written = file
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    Ok(tmp)
}

/// Fsyncs the directory of `path`, so that a rename in it is durable.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing the directory {}", dir.display()))
}

/// Replaces `path` with `bytes` atomically (temporary file, fsync, rename).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = stage(path, bytes, mode, &format!("{}.tmp", std::process::id()))?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()));
    }
    sync_dir(path)
}

/// The new key, in the form of the old file: encrypted with the same
/// passphrase, or unencrypted where the old one was.
fn key_pem(key: &FileKey, args: &RenewArgs) -> Result<zeroize::Zeroizing<String>> {
    let p = &args.passphrase;
    let source = match (&p.passphrase_env, &p.passphrase_file) {
        (Some(var), _) => SecretSource::Env(var.clone()),
        (None, Some(file)) => SecretSource::File(file.clone()),
        (None, None) => return Ok(key.to_unencrypted_pem()?),
    };
    Ok(key.to_encrypted_pem(&source.read()?)?)
}

/// The `/crl/{ca}.crl` URL on the server of `--url`, `{ca}` its last path
/// segment.
fn default_crl_url(url: &str) -> Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| anyhow!("{url}: not a URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let ca = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow!("{url}: no CA name at the end of the path; give --crl-url"))?;
    Ok(format!("{scheme}://{authority}/crl/{ca}.crl"))
}

/// Renews now: returns the new serial and notAfter once the key and
/// certificate files are replaced.
pub(crate) fn renew_now(args: &RenewArgs) -> Result<Renewed> {
    finish_interrupted(args)?;
    let chain = read_cert_file(&args.cert, "--cert")?;
    let Some((old, rest)) = chain.split_first() else {
        bail!("--cert {}: no certificate", args.cert.display());
    };
    let old_key = Arc::new(signer_key(&args.key, &args.passphrase)?);
    CmsSigner::new(old_key.as_ref(), old, rest).map_err(|e| {
        anyhow!(
            "{} does not belong to {}: {e}",
            args.key.display(),
            args.cert.display()
        )
    })?;
    let trusted = match &args.ca_bundle {
        Some(path) => read_cert_file(path, "--ca-bundle")?,
        None if !rest.is_empty() => rest.to_vec(),
        None => bail!(
            "nothing to verify the CA's answer with: give --ca-bundle, or put the CA chain \
             after the certificate in --cert"
        ),
    };
    let url = http::parse_url(&args.url)?;
    let tls = if url.tls {
        let roots = match &args.tls_ca {
            Some(path) => read_cert_file(path, "--tls-ca")?,
            None => trusted.clone(),
        };
        let client = args.tls_client_auth.then(|| {
            (
                chain.as_slice(),
                Arc::clone(&old_key) as Arc<dyn SigningKey>,
            )
        });
        Some(tls::client_config(&roots, client)?)
    } else {
        if args.tls_ca.is_some() || args.tls_client_auth {
            bail!("--tls-ca and --tls-client-auth need an https:// URL");
        }
        None
    };

    // The new key: the old one's type and signature scheme.
    let new_key = if args.same_key {
        None
    } else {
        Some(
            FileKey::generate(old_key.spec())?
                .with_scheme(old_key.scheme())
                .context("the new key")?,
        )
    };
    let request_key: &FileKey = new_key.as_ref().unwrap_or(&old_key);

    // The old certificate's subject and subjectAltNames (a renewal keeps
    // them: RFC 5272 §6.3.3 and the CA's renewal rules).
    let tbs = old.tbs_certificate();
    let subject = tbs.subject().clone();
    let sans: Vec<_> = tbs
        .extensions()
        .into_iter()
        .flatten()
        .filter(|e| e.extn_id == ID_CE_SUBJECT_ALT_NAME)
        .cloned()
        .collect();
    let (mut builder, nonce) = nonce_builder()?;
    if let Some(lifetime) = args.lifetime {
        let not_after =
            Time::try_from(SystemTime::now() + lifetime).map_err(|e| anyhow!("--lifetime: {e}"))?;
        let template = CertTemplate {
            subject: Some(subject.clone()),
            validity: Some(OptionalValidity {
                not_before: None,
                not_after: Some(not_after),
            }),
            extensions: (!sans.is_empty()).then(|| sans.clone()),
            ..CertTemplate::default()
        };
        builder.crmf(build_crmf_with_controls(
            request_key,
            REQUEST_ID,
            template,
            Vec::new(),
        )?)?;
    } else {
        builder.pkcs10(
            REQUEST_ID,
            build_csr_with_attributes(request_key, subject.clone(), sans, Vec::new())?,
        )?;
    }
    let der = sign_with_certificate(&builder, &old_key, &chain)?;
    let built = Built {
        der,
        nonce,
        signer_key: Some(Arc::clone(&old_key)),
        signer_chain: chain.clone(),
        new_key: None,
        transaction_id: None,
        // Signed by the certificate being renewed: no shared secret.
        password: None,
        // Sent signed, not encrypted.
        encrypt_to: None,
    };
    let endpoint = Endpoint::new(&args.url, url, args.timeout, tls.as_ref())?;
    // The exchange prints each status; the renewal logs one line instead.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let answer = exchange(
        &endpoint,
        &built,
        &trusted,
        &mut Io {
            out: &mut out,
            err: &mut err,
            out_is_terminal: false,
        },
    )?;
    if !answer.failures.is_empty() {
        let failures = answer.failures.join(", ");
        if args.same_key && failures.contains("noKeyReuse") {
            bail!(
                "the CA answered {failures}: its profile does not allow renewing with the same \
                 key; renew without --same-key"
            );
        }
        bail!("the CA answered {failures}");
    }
    if let Some(token) = answer.pending.first() {
        bail!(
            "the CA holds the renewal for approval (pendToken {token}); the current \
             certificate stays, and the next attempt sends a new request"
        );
    }
    let [new_cert] = answer.issued.as_slice() else {
        bail!(
            "the CA's answer carries {} certificates issued by its signer, not one",
            answer.issued.len()
        );
    };
    let new_tbs = new_cert.tbs_certificate();
    if new_tbs.subject_public_key_info() != request_key.public_key() {
        bail!("the CA issued a certificate for another key");
    }
    if new_tbs.subject() != &subject {
        bail!(
            "the CA issued a certificate for {}, not {subject}",
            new_tbs.subject()
        );
    }

    // The CA certificates of the answer (not, say, a CMC responder's).
    let ca_certs: Vec<Certificate> = answer.others.into_iter().filter(is_ca).collect();
    // The certificate file: the new certificate, and the CA chain where
    // the old file carried one.
    let mut cert_pem = pem("CERTIFICATE", &to_der(new_cert)?)?;
    if !rest.is_empty() {
        for c in &ca_certs {
            cert_pem.push_str(&pem("CERTIFICATE", &to_der(c)?)?);
        }
    }
    let staged = stage(&args.cert, cert_pem.as_bytes(), 0o644, PENDING)?;
    if let Some(key) = &new_key {
        if let Err(e) = write_atomically(&args.key, key_pem(key, args)?.as_bytes(), 0o600) {
            // The old key stays: so must the old certificate.
            let _ = std::fs::remove_file(&staged);
            return Err(e).context("writing the new key");
        }
    }
    std::fs::rename(&staged, &args.cert).with_context(|| {
        format!(
            "renaming {} to {} (the new key is written; the next run finishes this)",
            staged.display(),
            args.cert.display()
        )
    })?;
    sync_dir(&args.cert)?;

    let mut notes = Vec::new();
    if let Some(path) = &args.ca_bundle {
        notes.push(match refresh_bundle(path, &trusted, &ca_certs) {
            Ok(n) => format!("CA bundle {} refreshed (certificates: {n})", path.display()),
            Err(e) => format!("CA bundle {} not refreshed: {e:#}", path.display()),
        });
    }
    if let Some(path) = &args.crl_out {
        notes.push(match fetch_crl(args, path, new_cert, tls.as_ref()) {
            Ok(()) => format!("CRL {} refreshed", path.display()),
            Err(e) => format!("CRL {} not refreshed: {e:#}", path.display()),
        });
    }
    Ok(Renewed {
        serial: cert_serial(new_cert)?.to_hex(),
        not_after: unix_time(&new_tbs.validity().not_after).secs(),
        notes,
    })
}

/// Whether `c` says it is a CA (basicConstraints cA).
fn is_ca(c: &Certificate) -> bool {
    matches!(
        c.tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::BasicConstraints>(),
        Ok(Some((_, b))) if b.ca
    )
}

fn to_der(c: &Certificate) -> Result<Vec<u8>> {
    c.to_der()
        .map_err(|e| anyhow!("re-encoding a certificate: {e}"))
}

/// The CA bundle after a renewal: the CA certificates of the verified
/// response first, then those of the old bundle it lacks that are still
/// valid (so that a response without the root keeps the root). Returns how
/// many it holds; unchanged when the response has no CA certificate.
fn refresh_bundle(
    path: &Path,
    old: &[Certificate],
    from_response: &[Certificate],
) -> Result<usize> {
    if from_response.is_empty() {
        return Ok(old.len());
    }
    let now = cmc_ca::types::UnixTime::from_system_time(SystemTime::now());
    let mut bundle: Vec<&Certificate> = from_response.iter().collect();
    for c in old {
        let expired = unix_time(&c.tbs_certificate().validity().not_after) < now;
        if !expired && !bundle.contains(&c) {
            bundle.push(c);
        }
    }
    let mut text = String::new();
    for c in &bundle {
        text.push_str(&pem("CERTIFICATE", &to_der(c)?)?);
    }
    write_atomically(path, text.as_bytes(), 0o644)?;
    Ok(bundle.len())
}

/// Fetches the CA's CRL and writes it (DER) when it is a CRL of the new
/// certificate's issuer.
fn fetch_crl(
    args: &RenewArgs,
    path: &Path,
    new_cert: &Certificate,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<()> {
    let text = match &args.crl_url {
        Some(u) => u.clone(),
        None => default_crl_url(&args.url)?,
    };
    let url = http::parse_url(&text)?;
    let client = http::Client::new(std::time::Duration::from_secs(args.timeout.max(1)), tls)?;
    let reply = client.get(&url).with_context(|| format!("GET {text}"))?;
    if reply.status != 200 {
        bail!("GET {text}: HTTP {} {}", reply.status, reply.reason);
    }
    let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&reply.body)
        .map_err(|e| anyhow!("GET {text}: not a DER CRL: {e}"))?;
    if &crl.tbs_cert_list.issuer != new_cert.tbs_certificate().issuer() {
        bail!(
            "GET {text}: a CRL of {}, not of {}",
            crl.tbs_cert_list.issuer,
            new_cert.tbs_certificate().issuer()
        );
    }
    write_atomically(path, &reply.body, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crl_url_is_on_the_cmc_server() {
        for (url, crl) in [
            (
                "http://ca.example:8080/cmc/root",
                "http://ca.example:8080/crl/root.crl",
            ),
            (
                "https://ca.example/cmc/issuing/",
                "https://ca.example/crl/issuing.crl",
            ),
        ] {
            assert_eq!(default_crl_url(url).unwrap(), crl);
        }
        assert!(default_crl_url("http://ca.example").is_err());
        assert!(default_crl_url("http://ca.example/").is_err());
    }

    #[test]
    fn files_are_replaced_atomically_with_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        write_atomically(&path, b"newer", 0o644).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // Nothing is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("k.pem")]);
    }
}
