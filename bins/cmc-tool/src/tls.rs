//! HTTPS for the CMC client: a rustls client configuration (aws-lc-rs, ring
//! in the `pure-rust` build) that
//! trusts the given certificates, and, for servers that ask for a client
//! certificate matching the CMS signer, presents the signer's certificate
//! with the signer's own key (the key never leaves `cmc_keys`).

use std::sync::Arc;

use anyhow::{Result, anyhow};
use cmc_keys::{HashAlg, SigningKey};
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, ID_RSASSA_PSS,
    SECP_256_R_1, SECP_384_R_1, SECP_521_R_1, SHA_256_WITH_RSA_ENCRYPTION,
    SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use der::Encode;
use der::asn1::ObjectIdentifier;
use rustls::client::ResolvesClientCert;
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;
use rustls::{SignatureAlgorithm, SignatureScheme};
use x509_cert::Certificate;

/// The rustls cryptography provider: aws-lc-rs (the `aws-lc` feature, the
/// default, the same library that signs and verifies for the CA), or ring in
/// the `pure-rust` build: rustls 0.23 has no usable pure-Rust provider, so
/// that build keeps C and assembly in TLS only (README "Cryptography
/// backends").
#[must_use]
pub(crate) fn crypto_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc")]
    return rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "aws-lc"))]
    return rustls::crypto::ring::default_provider();
}

#[cfg(not(any(feature = "aws-lc", feature = "pure-rust")))]
compile_error!("choose a cryptography backend: the `aws-lc` feature (default) or `pure-rust`");

/// The client configuration: `roots` verify the server's certificate;
/// `client` (a certificate chain, leaf first, and its key) is presented
/// when the server asks.
///
/// # Errors
/// When no root is usable, a certificate does not encode, or the key's
/// signature algorithm has no TLS signature scheme.
pub(crate) fn client_config(
    roots: &[Certificate],
    client: Option<(&[Certificate], Arc<dyn SigningKey>)>,
) -> Result<Arc<rustls::ClientConfig>> {
    let mut store = rustls::RootCertStore::empty();
    for cert in roots {
        let der = cert.to_der().map_err(|e| anyhow!("encoding a root: {e}"))?;
        store
            .add(CertificateDer::from(der))
            .map_err(|e| anyhow!("--tls-ca: {e}"))?;
    }
    let provider = Arc::new(crypto_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS set-up: {e}"))?
        .with_root_certificates(store);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let chain = chain
                .iter()
                .map(|c| {
                    c.to_der()
                        .map(CertificateDer::from)
                        .map_err(|e| anyhow!("encoding the client certificate: {e}"))
                })
                .collect::<Result<Vec<_>>>()?;
            let tls_key = TlsKey::new(key)?;
            builder.with_client_cert_resolver(Arc::new(ClientCert(Arc::new(CertifiedKey::new(
                chain,
                Arc::new(tls_key),
            )))))
        }
    };
    Ok(Arc::new(config))
}

/// Always the one client certificate.
#[derive(Debug)]
struct ClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0
            .key
            .choose_scheme(sigschemes)
            .map(|_| Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A `cmc_keys` key as a rustls signing key, with the one TLS scheme its
/// fixed signature algorithm amounts to.
struct TlsKey {
    key: Arc<dyn SigningKey>,
    scheme: SignatureScheme,
    algorithm: SignatureAlgorithm,
}

impl std::fmt::Debug for TlsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsKey")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl TlsKey {
    fn new(key: Arc<dyn SigningKey>) -> Result<Self> {
        let sig = key.signature_algorithm().oid;
        let spki = key.public_key();
        let curve: Option<ObjectIdentifier> = (spki.algorithm.oid == ID_EC_PUBLIC_KEY)
            .then(|| {
                spki.algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as().ok())
            })
            .flatten();
        let (scheme, algorithm) = match (sig, curve) {
            (ECDSA_WITH_SHA_256, Some(SECP_256_R_1)) => (
                SignatureScheme::ECDSA_NISTP256_SHA256,
                SignatureAlgorithm::ECDSA,
            ),
            (ECDSA_WITH_SHA_384, Some(SECP_384_R_1)) => (
                SignatureScheme::ECDSA_NISTP384_SHA384,
                SignatureAlgorithm::ECDSA,
            ),
            (ECDSA_WITH_SHA_512, Some(SECP_521_R_1)) => (
                SignatureScheme::ECDSA_NISTP521_SHA512,
                SignatureAlgorithm::ECDSA,
            ),
            (SHA_256_WITH_RSA_ENCRYPTION, _) => {
                (SignatureScheme::RSA_PKCS1_SHA256, SignatureAlgorithm::RSA)
            }
            (SHA_384_WITH_RSA_ENCRYPTION, _) => {
                (SignatureScheme::RSA_PKCS1_SHA384, SignatureAlgorithm::RSA)
            }
            (SHA_512_WITH_RSA_ENCRYPTION, _) => {
                (SignatureScheme::RSA_PKCS1_SHA512, SignatureAlgorithm::RSA)
            }
            (ID_RSASSA_PSS, _) => match key.hash() {
                HashAlg::Sha256 => (SignatureScheme::RSA_PSS_SHA256, SignatureAlgorithm::RSA),
                HashAlg::Sha384 => (SignatureScheme::RSA_PSS_SHA384, SignatureAlgorithm::RSA),
                HashAlg::Sha512 => (SignatureScheme::RSA_PSS_SHA512, SignatureAlgorithm::RSA),
                other => {
                    return Err(anyhow!(
                        "no TLS signature scheme for RSA-PSS with {other:?}"
                    ));
                }
            },
            _ => {
                return Err(anyhow!(
                    "the signer key's algorithm {sig} (with its curve) has no TLS 1.2/1.3 \
                     signature scheme: TLS wants P-256/SHA-256, P-384/SHA-384, P-521/SHA-512 \
                     or RSA"
                ));
            }
        };
        Ok(Self {
            key,
            scheme,
            algorithm,
        })
    }
}

impl rustls::sign::SigningKey for TlsKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        offered.contains(&self.scheme).then(|| {
            Box::new(TlsSigner {
                key: Arc::clone(&self.key),
                scheme: self.scheme,
            }) as Box<dyn rustls::sign::Signer>
        })
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
}

struct TlsSigner {
    key: Arc<dyn SigningKey>,
    scheme: SignatureScheme,
}

impl std::fmt::Debug for TlsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSigner")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl rustls::sign::Signer for TlsSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        // ECDSA signatures come DER-encoded (ECDSA-Sig-Value), as TLS
        // wants them; RSA ones as the raw integer.
        self.key
            .sign(message)
            .map_err(|e| rustls::Error::General(format!("signing with the signer key: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
