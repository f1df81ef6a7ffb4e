//! The engine's own profiles through the ordinary `prepare`: a self-signed
//! root, an intermediate, a client credential and an OCSP responder
//! certificate, signed with real keys and checked with OpenSSL and pkilint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cmc_asn1::OptionalValidity;
use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_policy::{
    CertificateKind, IssuerInfo, Profile, Request, Serial, SkiMethod, lint_findings, prepare,
};
use common::{DAY, ca, pem, pkilint};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::name::Name;
use x509_cert::time::Time;

fn now() -> SystemTime {
    // Whole seconds: certificate times have no fractions.
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// A request the way the engine makes one: its subject, the key and the
/// validity it wants.
fn request(subject: &str, key: &FileKey, from: SystemTime, until: SystemTime) -> Request {
    let mut r = Request::new(Name::from_str(subject).unwrap(), key.public_key().clone());
    r.validity = Some(OptionalValidity {
        not_before: Some(Time::try_from(from).unwrap()),
        not_after: Some(Time::try_from(until).unwrap()),
    });
    r
}

fn sign(prepared: cmc_policy::Prepared, key: &FileKey) -> Certificate {
    let signature = key.sign(prepared.tbs_der()).unwrap();
    prepared.assemble(&signature).unwrap()
}

/// `openssl verify -x509_strict` with `extra` arguments.
fn verify(dir: &std::path::Path, root: &Certificate, leaf: &Certificate, extra: &[&str]) {
    let root_path = dir.join("root.pem");
    let leaf_path = dir.join("leaf.pem");
    std::fs::write(&root_path, pem(root)).unwrap();
    std::fs::write(&leaf_path, pem(leaf)).unwrap();
    let out = Command::new("openssl")
        .arg("verify")
        .arg("-x509_strict")
        .args(extra)
        .arg("-CAfile")
        .arg(&root_path)
        .arg(&leaf_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_self_signed_root_is_prepared_and_signed_like_any_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let until = now + Duration::from_secs(3650 * DAY);
    let key = FileKey::generate(KeySpec::P384).unwrap();
    let subject = "CN=Policy Root,O=Example,C=SE";
    // The issuer is the new CA itself.
    let info = IssuerInfo {
        subject: Name::from_str(subject).unwrap(),
        key_identifier: SkiMethod::Sha1
            .key_identifier(key.public_key().subject_public_key.raw_bytes()),
        not_before: now,
        not_after: until,
        public_key: key.public_key().clone(),
        signature_algorithm: key.signature_algorithm().clone(),
        crl_urls: Vec::new(),
        ca_issuers_urls: Vec::new(),
        ocsp_urls: Vec::new(),
    };
    let profile = Profile::ca_certificate(None);
    let prepared = prepare(
        &request(subject, &key, now, until),
        &profile,
        &info,
        &Serial::from_random([9; 16]),
        now,
    )
    .unwrap();
    assert_eq!(
        prepared.decision().key_usage.len(),
        3,
        "{:?}",
        prepared.decision()
    );
    let root = sign(prepared, &key);
    let tbs = root.tbs_certificate();
    assert_eq!(tbs.issuer(), tbs.subject());
    assert_eq!(tbs.validity().not_before.to_system_time(), now);
    // Exactly the asked validity (no second taken off).
    assert_eq!(tbs.validity().not_after.to_system_time(), until);
    let (critical, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && bc.ca && bc.path_len_constraint.is_none());
    verify(dir.path(), &root, &root, &[]);
    pkilint(dir.path(), &root, "a_self_signed_root_is_prepared");
}

#[test]
fn an_intermediate_a_credential_and_a_responder_verify_and_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let parent = ca(KeySpec::P256, None, now);
    let until = now + Duration::from_secs(30 * DAY);
    let serial = Serial::from_random([3; 16]);

    let sub_key = FileKey::generate(KeySpec::P256).unwrap();
    let sub_profile = Profile::ca_certificate(Some(0));
    let sub = sign(
        prepare(
            &request("CN=Policy Sub CA,O=Example,C=SE", &sub_key, now, until),
            &sub_profile,
            &parent.info,
            &serial,
            now,
        )
        .unwrap(),
        &parent.key,
    );
    let (_, bc) = sub
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .unwrap()
        .unwrap();
    assert_eq!(bc.path_len_constraint, Some(0));
    let (_, ku) = sub
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .unwrap()
        .unwrap();
    assert!(ku.key_cert_sign() && ku.crl_sign());
    verify(dir.path(), &parent.cert, &sub, &[]);
    pkilint(dir.path(), &sub, "intermediate");

    let ra_key = FileKey::generate(KeySpec::P256).unwrap();
    let ra = sign(
        prepare(
            &request("CN=Policy RA,O=Example", &ra_key, now, until),
            &Profile::client_credential(true),
            &parent.info,
            &serial,
            now,
        )
        .unwrap(),
        &parent.key,
    );
    let (_, eku) = ra
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
        .unwrap()
        .unwrap();
    assert_eq!(eku.0.len(), 2);
    verify(dir.path(), &parent.cert, &ra, &["-purpose", "sslclient"]);
    pkilint(dir.path(), &ra, "ra credential");

    let responder_key = FileKey::generate(KeySpec::P256).unwrap();
    let profile = Profile::ocsp_responder();
    assert_eq!(profile.kind(), CertificateKind::OcspResponder);
    let prepared = prepare(
        &request(
            "CN=Policy OCSP responder",
            &responder_key,
            now - Duration::from_secs(60),
            now + Duration::from_secs(7 * DAY),
        ),
        &profile,
        &parent.info,
        &serial,
        now,
    )
    .unwrap();
    assert_eq!(
        lint_findings(prepared.tbs_der(), &profile, &parent.info),
        vec![]
    );
    let responder = sign(prepared, &parent.key);
    let text = String::from_utf8(
        Command::new("openssl")
            .args(["x509", "-noout", "-text"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(pem(&responder).as_bytes())?;
                child.wait_with_output()
            })
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(text.contains("OCSP Signing"), "{text}");
    assert!(text.contains("OCSP No Check"), "{text}");
    verify(dir.path(), &parent.cert, &responder, &[]);
    pkilint(dir.path(), &responder, "ocsp responder");
}
