//! Shared helpers: certificates made with x509-cert's builder through `KeyAdapter`,
//! PKIData and PKIResponse samples, and the system `openssl`.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use cmc_asn1::{
    BodyPartReference, CertTemplate, CmcFailInfo, CmcStatus, CmcStatusInfo, CmcStatusInfoOtherInfo,
    CmcStatusInfoV2, OtherStatusInfo, PendInfo, PkiData, PkiResponse, RecipientNonce, SenderNonce,
    TaggedAttribute,
};
use cmc_codec::RequestBuilder;
use cmc_keys::{FileKey, KeyAdapter, KeySpec, RawSignature, SigningKey};
use der::asn1::{GeneralizedTime, OctetString};
use der::{EncodePem, pem::LineEnding};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder, profile};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

pub fn serial() -> SerialNumber {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s).unwrap();
    s[0] &= 0x7f;
    s[0] |= 0x01;
    SerialNumber::new(&s).unwrap()
}

/// A self-signed CA certificate (basicConstraints cA, keyUsage keyCertSign, cRLSign and
/// digitalSignature, SKI and AKI) for `key`, valid for an hour from now.
pub fn ca_cert(key: &dyn SigningKey, cn: &str) -> Certificate {
    let subject = Name::from_str(&format!("CN={cn},O=cmc-codec tests,C=SE")).unwrap();
    let builder = CertificateBuilder::new(
        profile::cabf::Root::new(true, subject).unwrap(),
        serial(),
        Validity::from_now(Duration::from_secs(3600)).unwrap(),
        key.public_key().clone(),
    )
    .unwrap();
    builder
        .build::<_, RawSignature>(&KeyAdapter::new(key))
        .unwrap()
}

/// An end-entity profile: issuer = the CA's subject, basicConstraints cA=FALSE, SKI, and
/// the keyUsage extensions given (none, one, or a duplicated one).
struct Leaf {
    issuer: Name,
    subject: Name,
    ca: bool,
    key_usage: Vec<KeyUsage>,
}

impl BuilderProfile for Leaf {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let bc = BasicConstraints {
            ca: self.ca,
            path_len_constraint: None,
        }
        .to_extension(tbs.subject(), &[])?;
        let ski = SubjectKeyIdentifier::try_from(spk)?.to_extension(tbs.subject(), &[])?;
        let mut extensions = vec![bc, ski];
        for ku in &self.key_usage {
            extensions.push(ku.to_extension(tbs.subject(), &[])?);
        }
        Ok(extensions)
    }
}

/// A certificate for `subject_key` issued by `ca` (signed with `ca_key`), valid for an
/// hour; `ca = true` makes it an intermediate CA.
pub fn issue(
    ca_key: &dyn SigningKey,
    ca: &Certificate,
    subject_key: &dyn SigningKey,
    cn: &str,
) -> Certificate {
    issue_as(ca_key, ca, subject_key, cn, false, Vec::new())
}

/// An end-entity certificate like [`issue`]'s, with these keyUsage extensions (normally
/// one; two to try a duplicated extension).
pub fn issue_with_key_usage(
    ca_key: &dyn SigningKey,
    ca: &Certificate,
    subject_key: &dyn SigningKey,
    cn: &str,
    key_usage: Vec<KeyUsage>,
) -> Certificate {
    issue_as(ca_key, ca, subject_key, cn, false, key_usage)
}

/// An intermediate CA certificate (basicConstraints cA=TRUE) issued by `ca`.
pub fn issue_ca(
    ca_key: &dyn SigningKey,
    ca: &Certificate,
    subject_key: &dyn SigningKey,
    cn: &str,
) -> Certificate {
    issue_as(ca_key, ca, subject_key, cn, true, Vec::new())
}

fn issue_as(
    ca_key: &dyn SigningKey,
    ca: &Certificate,
    subject_key: &dyn SigningKey,
    cn: &str,
    is_ca: bool,
    key_usage: Vec<KeyUsage>,
) -> Certificate {
    let builder = CertificateBuilder::new(
        Leaf {
            issuer: ca.tbs_certificate().subject().clone(),
            subject: Name::from_str(&format!("CN={cn},O=cmc-codec tests")).unwrap(),
            ca: is_ca,
            key_usage,
        },
        serial(),
        Validity::from_now(Duration::from_secs(3600)).unwrap(),
        subject_key.public_key().clone(),
    )
    .unwrap();
    builder
        .build::<_, RawSignature>(&KeyAdapter::new(ca_key))
        .unwrap()
}

pub fn write_pem(path: &Path, cert: &Certificate) {
    std::fs::write(path, cert.to_pem(LineEnding::LF).unwrap()).unwrap();
}

pub fn key(spec: KeySpec) -> FileKey {
    FileKey::generate(spec).unwrap()
}

/// A PKIData with a senderNonce, a regInfo and one PKCS #10 request from a fresh P-256 key.
pub fn sample_pki_data(nonce: &[u8]) -> PkiData {
    let subject_key = key(KeySpec::P256);
    let csr = cmc_codec::build_csr(
        &subject_key,
        Name::from_str("CN=requested,O=cmc-codec tests").unwrap(),
        Vec::new(),
    )
    .unwrap();
    let mut b = RequestBuilder::new();
    b.control(0x11, &SenderNonce(OctetString::new(nonce).unwrap()))
        .unwrap();
    b.control(
        0x12,
        &cmc_asn1::RegInfo(OctetString::new(*b"pkcs10").unwrap()),
    )
    .unwrap();
    b.pkcs10(0x21, csr).unwrap();
    b.pki_data().clone()
}

/// A CRMF template for `key` with a subject.
pub fn template(cn: &str) -> CertTemplate {
    CertTemplate {
        subject: Some(Name::from_str(&format!("CN={cn},O=cmc-codec tests")).unwrap()),
        ..Default::default()
    }
}

/// A PKIResponse with every kind of status: success, failed with failInfo, pending with
/// pendInfo (V2), a V1 statusInfo, and a recipientNonce.
pub fn sample_response() -> PkiResponse {
    let success = CmcStatusInfoV2 {
        cmc_status: CmcStatus::Success,
        body_list: vec![BodyPartReference::BodyPartId(0x21)],
        status_string: Some("issued".into()),
        other_info: None,
    };
    let failed = CmcStatusInfoV2 {
        cmc_status: CmcStatus::Failed,
        body_list: vec![BodyPartReference::BodyPartId(0x22)],
        status_string: None,
        other_info: Some(OtherStatusInfo::FailInfo(CmcFailInfo::BadRequest)),
    };
    let pending = CmcStatusInfoV2 {
        cmc_status: CmcStatus::Pending,
        body_list: vec![BodyPartReference::BodyPartId(0x23)],
        status_string: None,
        other_info: Some(OtherStatusInfo::PendInfo(PendInfo {
            pend_token: OctetString::new(*b"token-23").unwrap(),
            pend_time: GeneralizedTime::from_unix_duration(Duration::from_secs(1_800_000_000))
                .unwrap(),
        })),
    };
    let v1 = CmcStatusInfo {
        cmc_status: CmcStatus::Failed,
        body_list: vec![0x24],
        status_string: Some("old client".into()),
        other_info: Some(CmcStatusInfoOtherInfo::FailInfo(CmcFailInfo::PopFailed)),
    };
    PkiResponse {
        control_sequence: vec![
            TaggedAttribute::from_value(1, &success).unwrap(),
            TaggedAttribute::from_value(2, &failed).unwrap(),
            TaggedAttribute::from_value(3, &pending).unwrap(),
            TaggedAttribute::from_value(4, &v1).unwrap(),
            TaggedAttribute::from_value(
                5,
                &RecipientNonce(OctetString::new(*b"their nonce").unwrap()),
            )
            .unwrap(),
        ],
        cms_sequence: Vec::new(),
        other_msg_sequence: Vec::new(),
    }
}

/// Runs `openssl` with `args`, asserting success; returns stdout.
pub fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {} failed:\nstdout: {}\nstderr: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `openssl cms -verify` of a DER message against `ca`, returning the eContent.
pub fn openssl_verify(dir: &Path, tag: &str, message: &[u8], ca: &Certificate) -> Vec<u8> {
    let msg = dir.join(format!("{tag}.der"));
    let ca_path = dir.join(format!("{tag}-ca.pem"));
    let out = dir.join(format!("{tag}.out"));
    std::fs::write(&msg, message).unwrap();
    write_pem(&ca_path, ca);
    openssl(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        msg.to_str().unwrap(),
        "-CAfile",
        ca_path.to_str().unwrap(),
        "-purpose",
        "any",
        "-out",
        out.to_str().unwrap(),
    ]);
    std::fs::read(out).unwrap()
}

/// `openssl cms -cmsout -print` of a DER message.
pub fn openssl_print(dir: &Path, tag: &str, message: &[u8]) -> String {
    let msg = dir.join(format!("{tag}-print.der"));
    std::fs::write(&msg, message).unwrap();
    openssl(&[
        "cms",
        "-cmsout",
        "-print",
        "-inform",
        "DER",
        "-in",
        msg.to_str().unwrap(),
    ])
}
