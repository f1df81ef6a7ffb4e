//! One AuthEnvelopedData to several recipients (`envelope_many`): each
//! recipient (RSA, P-256, P-384) opens it with its own key, `openssl cms
//! -decrypt` too; another key, and any changed octet of the file, are
//! refused or change the header digest the content carries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cmc_codec::envelope_many::{Envelope, Sealer};
use cmc_keys::{FileKey, KeySpec};
use const_oid::db::rfc5911::ID_DATA;
use x509_cert::Certificate;

fn recipients() -> (Vec<FileKey>, Vec<Certificate>) {
    let ca_key = common::key(KeySpec::P256);
    let ca = common::ca_cert(&ca_key, "admins");
    let keys: Vec<FileKey> = [KeySpec::Rsa2048, KeySpec::P256, KeySpec::P384]
        .into_iter()
        .map(common::key)
        .collect();
    let certs = keys
        .iter()
        .enumerate()
        .map(|(i, k)| common::issue(&ca_key, &ca, k, &format!("admin {i}")))
        .collect();
    (keys, certs)
}

#[test]
fn each_recipient_opens_it_and_nothing_else_does() {
    let (keys, certs) = recipients();
    let sealer = Sealer::new(&certs, ID_DATA).unwrap();
    let digest = sealer.header_digest().unwrap();
    let content = b"the backup archive".repeat(100);
    let der = sealer.seal(&content).unwrap();

    let env = Envelope::parse(&der).unwrap();
    assert_eq!(env.content_type(), ID_DATA);
    assert_eq!(env.header_digest().unwrap(), digest);
    let listed = env.recipients();
    assert_eq!(listed.len(), 3);
    assert_eq!(
        listed
            .iter()
            .filter(|r| r.method.starts_with("RSA key transport"))
            .count(),
        1
    );
    for key in &keys {
        assert_eq!(env.open(key).unwrap().as_slice(), content.as_slice());
    }
    let stranger = common::key(KeySpec::P256);
    let err = env.open(&stranger).unwrap_err().to_string();
    assert!(err.contains("no recipient"), "{err}");

    // OpenSSL opens it with each key.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.der");
    std::fs::write(&file, &der).unwrap();
    for (i, key) in keys.iter().enumerate() {
        let key_path = dir.path().join(format!("k{i}.pem"));
        std::fs::write(&key_path, key.to_unencrypted_pem().unwrap().as_bytes()).unwrap();
        let out = dir.path().join(format!("out{i}"));
        common::openssl(&[
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            file.to_str().unwrap(),
            "-inkey",
            key_path.to_str().unwrap(),
            "-out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(std::fs::read(&out).unwrap(), content);
    }
}

#[test]
fn every_changed_octet_is_noticed() {
    let (keys, certs) = recipients();
    let sealer = Sealer::new(&certs, ID_DATA).unwrap();
    let digest = sealer.header_digest().unwrap();
    let der = sealer.seal(b"small content").unwrap();
    // Each octet flipped in turn, opened with the P-256 key: the file is
    // refused, or what opens has another header digest.
    for i in 0..der.len() {
        let mut bad = der.clone();
        bad[i] ^= 0x01;
        let accepted = Envelope::parse(&bad)
            .ok()
            .and_then(|env| Some((env.open(&keys[1]).ok()?, env.header_digest().ok()?)));
        if let Some((_, found)) = accepted {
            assert_ne!(found, digest, "octet {i} changed and nothing noticed");
        }
    }
}

#[test]
fn certificates_that_cannot_receive_are_refused() {
    let ca_key = common::key(KeySpec::P256);
    let ca = common::ca_cert(&ca_key, "admins");
    let p521 = common::key(KeySpec::P521);
    let cert = common::issue(&ca_key, &ca, &p521, "admin");
    let err = Sealer::new(&[cert], ID_DATA).unwrap_err().to_string();
    assert!(err.contains("recipient 1"), "{err}");
    assert!(Sealer::new(&[], ID_DATA).is_err());
}
