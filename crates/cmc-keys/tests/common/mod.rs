//! Shared helpers for the integration tests: build a self-signed certificate
//! and a CMS SignedData through the RustCrypto builders with [`KeyAdapter`],
//! and check both with the system `openssl`.

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
use std::str::FromStr;
use std::time::Duration;

use cmc_keys::{HashAlg, KeyAdapter, KeySpec, RawSignature, SignatureScheme, SigningKey};
use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::OctetString;
use der::{Any, Encode, EncodePem};
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// Every scheme a key type is tested with: for RSA, both paddings with
/// each hash; for ECDSA, the RFC 5753 default plus one other digest the
/// curve allows.
pub fn schemes_for(spec: KeySpec) -> Vec<SignatureScheme> {
    if spec.is_rsa() {
        let mut v = Vec::new();
        for h in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
            v.push(SignatureScheme::RsaPkcs1v15(h));
            v.push(SignatureScheme::RsaPss(h));
        }
        v
    } else {
        let other = match spec {
            KeySpec::P384 => HashAlg::Sha512,
            _ => HashAlg::Sha384,
        };
        vec![spec.default_scheme(), SignatureScheme::Ecdsa(other)]
    }
}

/// A random hex string, for unique file names and key labels.
pub fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A self-signed CA certificate for `key`, built by x509-cert's builder
/// through the adapter.
pub fn self_signed(key: &dyn SigningKey, cn: &str) -> Certificate {
    let subject = Name::from_str(&format!("CN={cn},O=cmc-keys tests,C=SE")).unwrap();
    let profile = profile::cabf::Root::new(false, subject).unwrap();
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).unwrap();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let spki = SubjectPublicKeyInfoOwned::from(key.public_key().clone());
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(&serial).unwrap(),
        // Backdated a minute: with notBefore = now, `openssl verify` run in
        // the same instant under load has said "not yet valid".
        {
            let now = std::time::SystemTime::now();
            Validity::new(
                x509_cert::time::Time::try_from(now - Duration::from_secs(60)).unwrap(),
                x509_cert::time::Time::try_from(now + Duration::from_secs(3600)).unwrap(),
            )
        },
        spki,
    )
    .unwrap();
    builder
        .build::<_, RawSignature>(&KeyAdapter::new(key))
        .unwrap()
}

/// A CMS SignedData (DER `ContentInfo`) over `content`, signed by `key`
/// with cms's builder through the adapter, carrying `cert`.
pub fn signed_data(key: &dyn SigningKey, cert: &Certificate, content: &[u8]) -> Vec<u8> {
    let econtent = Any::encode_from(&OctetString::new(content).unwrap()).unwrap();
    let encap = EncapsulatedContentInfo {
        econtent_type: const_oid::db::rfc5911::ID_DATA,
        econtent: Some(econtent),
    };
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    });
    let signer = SignerInfoBuilder::new(sid, key.digest_algorithm(), &encap, None).unwrap();
    let mut builder = SignedDataBuilder::new(&encap);
    builder
        .add_digest_algorithm(key.digest_algorithm())
        .unwrap();
    builder
        .add_certificate(CertificateChoices::Certificate(cert.clone()))
        .unwrap();
    builder
        .add_signer_info::<_, RawSignature>(signer, &KeyAdapter::new(key))
        .unwrap();
    builder.build().unwrap().to_der().unwrap()
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {} failed:\nstdout: {}\nstderr: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Build a certificate and a SignedData with `key` and have OpenSSL verify
/// both. `tag` names the files (and the failure).
pub fn sign_and_verify_with_openssl(dir: &Path, key: &dyn SigningKey, tag: &str) {
    let cert = self_signed(key, tag);
    let cert_path = dir.join(format!("{tag}.pem"));
    std::fs::write(&cert_path, cert.to_pem(der::pem::LineEnding::LF).unwrap()).unwrap();
    let cert_path = cert_path.to_str().unwrap();
    openssl(&["verify", "-CAfile", cert_path, cert_path]);

    let content = format!("CMC request body for {tag}").into_bytes();
    let cms_path = dir.join(format!("{tag}.p7"));
    std::fs::write(&cms_path, signed_data(key, &cert, &content)).unwrap();
    let out_path = dir.join(format!("{tag}.out"));
    openssl(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        cms_path.to_str().unwrap(),
        "-CAfile",
        cert_path,
        "-purpose",
        "any",
        "-out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out_path).unwrap(), content, "{tag}: content");
}

/// The SoftHSM2 token the test script prepared.
pub struct Hsm {
    pub module: PathBuf,
    pub token: String,
    pub pin_file: PathBuf,
}

/// The token from `CMC_TEST_PKCS11_MODULE`, `CMC_TEST_PKCS11_TOKEN` and
/// `CMC_TEST_PKCS11_PIN_FILE`. Without the module variable the test is
/// skipped with a message, except under CI (`CI` set), where that fails.
pub fn hsm(test: &str) -> Option<Hsm> {
    let Some(module) = std::env::var_os("CMC_TEST_PKCS11_MODULE") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: CMC_TEST_PKCS11_MODULE is not set, and CI must not skip the PKCS#11 tests \
             (eval \"$(scripts/softhsm-env.sh DIR)\" first)"
        );
        println!(
            "{test}: skipped: set CMC_TEST_PKCS11_MODULE, CMC_TEST_PKCS11_TOKEN and \
             CMC_TEST_PKCS11_PIN_FILE (eval \"$(scripts/softhsm-env.sh DIR)\")"
        );
        return None;
    };
    let token = std::env::var("CMC_TEST_PKCS11_TOKEN")
        .expect("CMC_TEST_PKCS11_TOKEN must be set with CMC_TEST_PKCS11_MODULE");
    let pin_file = std::env::var_os("CMC_TEST_PKCS11_PIN_FILE")
        .expect("CMC_TEST_PKCS11_PIN_FILE must be set with CMC_TEST_PKCS11_MODULE");
    Some(Hsm {
        module: module.into(),
        token,
        pin_file: pin_file.into(),
    })
}

#[cfg(feature = "pkcs11")]
impl Hsm {
    /// A config for a key labelled `label` on the test token.
    pub fn config(&self, label: &str) -> cmc_keys::pkcs11::Pkcs11Config {
        cmc_keys::pkcs11::Pkcs11Config::new(
            self.module.clone(),
            self.token.clone(),
            cmc_keys::pkcs11::KeyLocator::label(label),
            cmc_keys::SecretSource::File(self.pin_file.clone()),
        )
    }
}
