//! Helpers shared by the integration tests: CA and leaf keys, CA certificates,
//! CSRs, signing a prepared TBS, and the external checkers (OpenSSL, pkilint).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cmc_keys::{FileKey, KeyAdapter, KeySpec, RawSignature, SignatureScheme, SigningKey};
use cmc_policy::{IssuerInfo, Prepared};
use der::EncodePem;
use der::pem::LineEnding;
use x509_cert::Certificate;
use x509_cert::builder::profile::cabf::Root;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, RequestBuilder};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

pub(crate) const DAY: u64 = 86_400;

/// A CA: its key, its self-signed certificate, and the policy's view of it.
pub(crate) struct Ca {
    pub(crate) key: FileKey,
    pub(crate) cert: Certificate,
    pub(crate) info: IssuerInfo,
}

/// A self-signed CA valid from `not_before` to `not_after`, with a key of
/// `spec` signing with `scheme` (or the key's default scheme).
pub(crate) fn ca_valid(
    spec: KeySpec,
    scheme: Option<SignatureScheme>,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Ca {
    let mut key = FileKey::generate(spec).unwrap();
    if let Some(s) = scheme {
        key = key.with_scheme(s).unwrap();
    }
    let subject = Name::from_str(&format!("CN=Test CA {spec},O=Example,C=SE")).unwrap();
    let validity = Validity::new(
        Time::try_from(not_before).unwrap(),
        Time::try_from(not_after).unwrap(),
    );
    let builder = CertificateBuilder::new(
        Root::new(false, subject).unwrap(),
        SerialNumber::new(&[0x42, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap(),
        validity,
        key.public_key().clone(),
    )
    .unwrap();
    let cert = builder
        .build::<_, RawSignature>(&KeyAdapter::new(&key))
        .unwrap();
    let info = IssuerInfo::from_certificate(&cert, key.signature_algorithm().clone())
        .unwrap()
        .with_crl_url("http://crl.example.test/ca.crl")
        .with_ca_issuers_url("http://ca.example.test/ca.cer")
        .with_ocsp_url("http://ocsp.example.test/");
    Ca { key, cert, info }
}

/// A CA valid from a day before `now` for ten years.
pub(crate) fn ca(spec: KeySpec, scheme: Option<SignatureScheme>, now: SystemTime) -> Ca {
    ca_valid(
        spec,
        scheme,
        now - Duration::from_secs(DAY),
        now + Duration::from_secs(3650 * DAY),
    )
}

/// A PKCS#10 request signed by `key`, carrying `extensions`.
pub(crate) fn csr(key: &FileKey, subject: &str, extensions: Vec<Extension>) -> CertReq {
    let mut builder = RequestBuilder::new(Name::from_str(subject).unwrap()).unwrap();
    for e in extensions {
        builder.add_extension(e).unwrap();
    }
    builder
        .build::<_, RawSignature>(&KeyAdapter::new(key))
        .unwrap()
}

/// Sign the prepared TBS with the CA key and assemble the certificate.
pub(crate) fn sign(prepared: Prepared, ca: &Ca) -> Certificate {
    let signature = ca.key.sign(prepared.tbs_der()).unwrap();
    prepared.assemble(&signature).unwrap()
}

pub(crate) fn pem(cert: &Certificate) -> String {
    cert.to_pem(LineEnding::LF).unwrap()
}

/// `openssl verify -x509_strict -CAfile ca.pem leaf.pem`, panicking with its
/// output on failure.
pub(crate) fn openssl_verify(dir: &Path, ca: &Certificate, leaf: &Certificate) {
    openssl_verify_at(dir, ca, leaf, None);
}

/// [`openssl_verify`] at a given Unix time (`-attime`), or now.
///
/// "Now" is never earlier than the leaf's notBefore: the tests issue with
/// notBefore at the current second, and OpenSSL reads its own clock (`time()`,
/// the kernel's coarse clock, or one stepped back by NTP on a fresh CI
/// machine), which can still show the second before.
pub(crate) fn openssl_verify_at(dir: &Path, ca: &Certificate, leaf: &Certificate, at: Option<u64>) {
    let ca_path = dir.join("ca.pem");
    let leaf_path = dir.join("leaf.pem");
    std::fs::write(&ca_path, pem(ca)).unwrap();
    std::fs::write(&leaf_path, pem(leaf)).unwrap();
    let at = at.unwrap_or_else(|| {
        let not_before = leaf
            .tbs_certificate()
            .validity()
            .not_before
            .to_unix_duration();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        now.max(not_before).as_secs()
    });
    let mut cmd = Command::new("openssl");
    cmd.arg("verify")
        .arg("-x509_strict")
        .arg("-attime")
        .arg(at.to_string());
    let out = cmd
        .arg("-CAfile")
        .arg(&ca_path)
        .arg(&leaf_path)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl verify failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        pem(leaf)
    );
}

pub(crate) use cmc_testkit::pkilint_available;

/// pkilint's RFC 5280 certificate lint (`lint_pkix_cert lint`), asserting
/// that it reports no finding of severity WARNING or above.
pub(crate) fn pkilint(dir: &Path, cert: &Certificate, test: &str) {
    if !pkilint_available(test) {
        return;
    }
    let path = dir.join("pkilint.pem");
    std::fs::write(&path, pem(cert)).unwrap();
    cmc_testkit::pkilint_clean("lint_pkix_cert", &[], &path);
}
