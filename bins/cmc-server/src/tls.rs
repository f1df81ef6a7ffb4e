//! HTTPS: the rustls server configuration of `[server.tls]` (aws-lc-rs
//! provider, ring in the `pure-rust` build), with optional client
//! certificates verified by webpki.

use std::sync::Arc;

use crate::config::TlsConfig;
use anyhow::{Context, Result, bail};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// The rustls cryptography provider: aws-lc-rs (the `aws-lc` feature, the
/// default, the same library that signs and verifies for the CA), or ring in
/// the `pure-rust` build: rustls 0.23 has no usable pure-Rust provider, so
/// that build keeps C and assembly in TLS only (README "Cryptography
/// backends").
#[must_use]
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc")]
    return rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "aws-lc"))]
    return rustls::crypto::ring::default_provider();
}

/// The name of the library behind [`crypto_provider`], for logs and benchmarks.
pub const TLS_PROVIDER: &str = if cfg!(feature = "aws-lc") {
    "aws-lc-rs"
} else {
    "ring"
};

#[cfg(not(any(feature = "aws-lc", feature = "pure-rust")))]
compile_error!("choose a cryptography backend: the `aws-lc` feature (default) or `pure-rust`");

/// Builds the TLS server configuration: the certificate chain and key from
/// the files named in `tls`; when `client_ca` is set, client certificates
/// are asked for and verified against it (and required if
/// `require_client_cert`). Only HTTP/1.1 is offered through ALPN.
///
/// # Errors
/// If a file cannot be read or holds no certificate or key, the key does
/// not match the certificate, or the client trust anchors are unusable.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>> {
    server_config_for("server.tls", tls)
}

/// [`server_config`] for the section named `section` (`server.tls` or
/// `console.tls`), which the error messages name.
///
/// # Errors
/// As [`server_config`].
pub fn server_config_for(section: &str, tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(crypto_provider());
    let chain = CertificateDer::pem_file_iter(&tls.cert)
        .with_context(|| format!("{section}.cert {}", tls.cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{section}.cert {}", tls.cert.display()))?;
    if chain.is_empty() {
        bail!(
            "{section}.cert {}: no CERTIFICATE in it",
            tls.cert.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key)
        .with_context(|| format!("{section}.key {}", tls.key.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .with_context(|| format!("{section}.client_ca {}", path.display()))?;
            for cert in certs {
                let cert =
                    cert.with_context(|| format!("{section}.client_ca {}", path.display()))?;
                roots
                    .add(cert)
                    .with_context(|| format!("{section}.client_ca {}", path.display()))?;
            }
            if roots.is_empty() {
                bail!(
                    "{section}.client_ca {}: no CERTIFICATE in it",
                    path.display()
                );
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if tls.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder
                .with_client_cert_verifier(verifier.build().context("client certificate verifier")?)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .with_context(|| format!("{section}: the key does not fit the certificate"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The label of the TLS exporter channel binding (RFC 9266 §2).
const CHANNEL_BINDING_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// The connection's `tls-exporter` channel binding (RFC 9266): 32 octets
/// exported with the label `EXPORTER-Channel-Binding` and no context.
///
/// EST's CSR link (RFC 7030 §3.5) was written for `tls-unique` (RFC
/// 5929), the first Finished message, which only exists in TLS 1.2 and
/// which rustls does not expose. RFC 9266 defines `tls-exporter` as its
/// replacement; this server offers that binding on every TLS version.
/// `None` when the exporter fails (it does not after a completed
/// handshake).
#[must_use]
pub fn channel_binding(session: &rustls::ServerConnection) -> Option<Vec<u8>> {
    let mut out = vec![0u8; 32];
    session
        .export_keying_material(&mut out, CHANNEL_BINDING_LABEL, None)
        .ok()?;
    Some(out)
}
