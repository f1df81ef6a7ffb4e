//! CA creation: roots on P-384, P-256 and RSA-3072 with PSS, an
//! intermediate under the P-384 root, checked with OpenSSL and pkilint, and
//! reloaded by a fresh engine from the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cmc_ca::{CaKey, Engine, EngineConfig, Error, KeyConfig, NewCa, SecretRef, SystemClock};
use cmc_keys::{HashAlg, KeySpec, SignatureScheme};
use cmc_store::{CaRecord, CertStatus};
use common::{Env, openssl, openssl_status, p, pkilint_available, pkilint_clean};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, KeyUsage, SubjectKeyIdentifier};

const P384: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha384);
const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const PSS: SignatureScheme = SignatureScheme::RsaPss(HashAlg::Sha256);

#[test]
fn roots_and_an_intermediate_verify_with_openssl() {
    let env = Env::new();
    let root384 = env.create("root-p384", KeySpec::P384, P384, None, 3650);
    let root256 = env.create("root-p256", KeySpec::P256, P256, None, 3650);
    let root_rsa = env.create("root-rsa", KeySpec::Rsa3072, PSS, None, 3650);
    let sub = env.create("issuing", KeySpec::P256, P256, Some("root-p384"), 20_000);

    let files: Vec<_> = [&root384, &root256, &root_rsa, &sub]
        .iter()
        .map(|ca| env.write_cert(&format!("{}.pem", ca.name()), ca.certificate_der()))
        .collect();
    for (root, file) in files
        .iter()
        .take(3)
        .zip(["root-p384", "root-p256", "root-rsa"])
    {
        let out = openssl(&["verify", "-x509_strict", "-CAfile", p(root), p(root)]);
        assert!(out.contains(": OK"), "{file}: {out}");
    }
    let out = openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        p(&files[0]),
        p(&files[3]),
    ]);
    assert!(out.contains(": OK"), "{out}");
    // The intermediate does not verify under another root.
    let (ok, _) = openssl_status(&["verify", "-CAfile", p(&files[1]), p(&files[3])]);
    assert!(!ok);

    for (file, alg) in [
        (&files[0], "ecdsa-with-SHA384"),
        (&files[1], "ecdsa-with-SHA256"),
        (&files[2], "rsassaPss"),
        // The intermediate is signed by the P-384 root.
        (&files[3], "ecdsa-with-SHA384"),
    ] {
        let text = openssl(&["x509", "-in", p(file), "-noout", "-text"]);
        assert!(
            text.contains(&format!("Signature Algorithm: {alg}")),
            "{alg}: {text}"
        );
        assert!(text.contains("Version: 3 (0x2)"), "{text}");
        assert!(
            text.contains("X509v3 Basic Constraints: critical"),
            "{text}"
        );
        assert!(text.contains("CA:TRUE"), "{text}");
        assert!(text.contains("X509v3 Key Usage: critical"), "{text}");
        assert!(
            text.contains("Digital Signature, Certificate Sign, CRL Sign"),
            "{text}"
        );
        assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
        assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    }
    let pss_text = openssl(&["x509", "-in", p(&files[2]), "-noout", "-text"]);
    assert!(pss_text.contains("Hash Algorithm: sha256"), "{pss_text}");
    assert!(pss_text.contains("Salt Length: 0x20"), "{pss_text}");

    // RSA with PKCS#1 v1.5 and a hash chosen apart from the key size.
    let v15 = env.create(
        "root-rsa-v15",
        KeySpec::Rsa2048,
        SignatureScheme::RsaPkcs1v15(HashAlg::Sha512),
        None,
        365,
    );
    let v15_pem = env.write_cert("root-rsa-v15.pem", v15.certificate_der());
    let text = openssl(&["x509", "-in", p(&v15_pem), "-noout", "-text"]);
    assert!(
        text.contains("Signature Algorithm: sha512WithRSAEncryption"),
        "{text}"
    );
    openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        p(&v15_pem),
        p(&v15_pem),
    ]);

    // Three levels: a CA under the intermediate verifies with the
    // intermediate as an untrusted link, and stores the whole chain.
    let third = env.create("third", KeySpec::P384, P384, Some("issuing"), 365);
    let third_pem = env.write_cert("third.pem", third.certificate_der());
    let out = openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        p(&files[0]),
        "-untrusted",
        p(&files[3]),
        p(&third_pem),
    ]);
    assert!(out.contains(": OK"), "{out}");
    assert_eq!(
        third.chain_der(),
        &[
            sub.certificate_der().to_vec(),
            root384.certificate_der().to_vec()
        ]
    );
    let text = openssl(&["x509", "-in", p(&third_pem), "-noout", "-text"]);
    // Signed by the P-256 intermediate.
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA256"),
        "{text}"
    );

    // The intermediate's lifetime is cut at the root's notAfter, and it is
    // recorded as issued by the root (so the root can revoke it).
    assert_eq!(sub.not_after(), root384.not_after());
    assert_eq!(sub.parent(), Some("root-p384"));
    assert_eq!(sub.chain_der(), &[root384.certificate_der().to_vec()]);
    let record = env
        .store
        .get_cert("root-p384", &sub.serial().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(record.status(), CertStatus::Issued);
    assert_eq!(
        record.certificate().unwrap().cert_der,
        sub.certificate_der()
    );
    assert_eq!(
        record.tbs_der.as_deref(),
        Some(
            &Certificate::from_der(sub.certificate_der())
                .unwrap()
                .tbs_certificate()
                .to_der()
                .unwrap()[..]
        )
    );
}

#[test]
fn ca_certificate_contents() {
    let env = Env::new();
    let root = env.create("root", KeySpec::P384, P384, None, 365);
    let sub = env
        .engine
        .create_ca(&NewCa {
            name: "sub".into(),
            subject: "CN=Sub CA,O=Example,C=SE".into(),
            validity_days: 30,
            key: CaKey::Generate {
                spec: KeySpec::P256,
                config: env.file_key("sub", P256),
            },
            path_len: Some(0),
            issuer: Some("root".into()),
            requester: "test-admin".into(),
        })
        .unwrap();

    let cert = Certificate::from_der(root.certificate_der()).unwrap();
    let tbs = cert.tbs_certificate();
    assert_eq!(tbs.version(), x509_cert::Version::V3);
    let serial = tbs.serial_number().as_bytes();
    assert!(serial.len() >= 9 && serial[0] & 0x80 == 0, "{serial:02x?}");
    assert_eq!(tbs.subject(), tbs.issuer());
    assert_eq!(
        tbs.subject().to_string(),
        "CN=cmc-ca test root,O=cmc-ca tests,C=SE"
    );
    let (critical, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && bc.ca && bc.path_len_constraint.is_none());
    let (critical, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(critical && ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());
    assert!(!ku.key_encipherment() && !ku.non_repudiation());
    let (_, ski) = tbs
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    let (_, aki) = tbs
        .get_extension::<AuthorityKeyIdentifier>()
        .unwrap()
        .unwrap();
    // SHA-1 of the public key bits; a root's AKI is its own SKI.
    assert_eq!(ski.0.as_bytes().len(), 20);
    assert_eq!(aki.key_identifier.unwrap().as_bytes(), ski.0.as_bytes());
    assert_eq!(root.key_identifier(), ski.0.as_bytes());
    assert_eq!(
        root.not_after().secs() - root.not_before().secs(),
        365 * 86_400
    );

    let sub_cert = Certificate::from_der(sub.certificate_der()).unwrap();
    let sub_tbs = sub_cert.tbs_certificate();
    assert_eq!(sub_tbs.issuer(), tbs.subject());
    let (_, sub_aki) = sub_tbs
        .get_extension::<AuthorityKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert_eq!(
        sub_aki.key_identifier.unwrap().as_bytes(),
        root.key_identifier()
    );
    let (_, bc) = sub_tbs
        .get_extension::<BasicConstraints>()
        .unwrap()
        .unwrap();
    assert_eq!(bc.path_len_constraint, Some(0));
    assert_eq!(
        sub.not_after().secs() - sub.not_before().secs(),
        30 * 86_400
    );
    assert_eq!(
        sub_cert.signature_algorithm(),
        root.key().signature_algorithm()
    );

    // Both creations are in the audit log.
    let added = env
        .store
        .list_audit(
            &cmc_store::AuditFilter {
                kind: Some(cmc_store::AuditKind::CaAdded),
                ..Default::default()
            },
            cmc_store::PageRequest::first(10),
        )
        .unwrap()
        .items;
    let names: Vec<_> = added
        .iter()
        .map(|r| r.event.issuer.clone().unwrap())
        .collect();
    assert_eq!(names, ["root", "sub"]);
    assert_eq!(added[1].event.serial, Some(sub.serial().unwrap()));
    assert_eq!(added[1].event.requester.as_deref(), Some("test-admin"));

    // pathLen 0 forbids CAs below it.
    let err = env
        .engine
        .create_ca(&NewCa {
            name: "subsub".into(),
            subject: "CN=Sub Sub CA".into(),
            validity_days: 30,
            key: CaKey::Generate {
                spec: KeySpec::P256,
                config: env.file_key("subsub", P256),
            },
            path_len: None,
            issuer: Some("sub".into()),
            requester: "test-admin".into(),
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    assert!(
        !env.path("subsub.key").exists(),
        "refused before the key was generated"
    );
}

#[test]
fn times_from_2050_are_generalized() {
    let env = Env::new();
    // 2049-12-31T00:00:00Z: a 2-day root ends in 2050.
    env.clock.set(cmc_store::UnixTime::from_secs(2_524_521_600));
    let root = env.create("late", KeySpec::P256, P256, None, 2);
    let cert = Certificate::from_der(root.certificate_der()).unwrap();
    let validity = cert.tbs_certificate().validity();
    assert!(matches!(
        validity.not_before,
        x509_cert::time::Time::UtcTime(_)
    ));
    assert!(matches!(
        validity.not_after,
        x509_cert::time::Time::GeneralTime(_)
    ));
}

#[test]
fn refusals_leave_nothing_behind() {
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 365);
    let new = |name: &str, subject: &str, days: u32, issuer: Option<&str>| NewCa {
        name: name.into(),
        subject: subject.into(),
        validity_days: days,
        key: CaKey::Generate {
            spec: KeySpec::P256,
            config: env.file_key(name, P256),
        },
        path_len: None,
        issuer: issuer.map(Into::into),
        requester: "test-admin".into(),
    };
    assert!(matches!(
        env.engine.create_ca(&new("root", "CN=again", 10, None)),
        Err(Error::CaExists(_))
    ));
    assert!(matches!(
        env.engine.create_ca(&new("x", "", 10, None)),
        Err(Error::InvalidSubject { .. })
    ));
    assert!(matches!(
        env.engine.create_ca(&new("y", "CN=y", 0, None)),
        Err(Error::InvalidRequest(_))
    ));
    assert!(matches!(
        env.engine.create_ca(&new("bad/name", "CN=z", 1, None)),
        Err(Error::InvalidRequest(_))
    ));
    assert!(matches!(
        env.engine
            .create_ca(&new("orphan", "CN=o", 1, Some("nope"))),
        Err(Error::UnknownCa(_))
    ));
    for name in ["x", "y", "bad/name", "orphan"] {
        assert!(!env.path(&format!("{name}.key")).exists(), "{name}");
    }
    assert_eq!(env.engine.ca_names(), vec!["root".to_owned()]);
    // Past its notAfter, the root cannot sign an intermediate.
    env.clock.advance(366 * 86_400);
    assert!(matches!(
        env.engine
            .create_ca(&new("late-sub", "CN=late", 1, Some("root"))),
        Err(Error::CaNotValid { .. })
    ));
}

#[test]
fn an_engine_reloads_every_ca_and_signs() {
    let env = Env::new();
    env.create("root-p384", KeySpec::P384, P384, None, 3650);
    env.create("root-rsa", KeySpec::Rsa3072, PSS, None, 3650);
    env.create("issuing", KeySpec::P256, P256, Some("root-p384"), 365);

    let fresh = cmc_store::open(&env.db_url).unwrap();
    let engine = Engine::load(fresh, Arc::new(SystemClock), EngineConfig::default()).unwrap();
    assert_eq!(engine.ca_names(), ["issuing", "root-p384", "root-rsa"]);
    for ca in engine.cas() {
        let original = env.engine.ca(ca.name()).unwrap();
        assert_eq!(ca.certificate_der(), original.certificate_der());
        assert_eq!(ca.key().public_key(), original.key().public_key());
        assert_eq!(ca.key_config(), original.key_config());
        // The reloaded key signs, and OpenSSL checks the signature with the
        // CA certificate's public key.
        let msg = format!("signed by {}", ca.name());
        let sig = ca.key().sign(msg.as_bytes()).unwrap();
        let cert = env.write_cert(&format!("{}-reload.pem", ca.name()), ca.certificate_der());
        let pubkey = env.path(&format!("{}.pub", ca.name()));
        openssl(&[
            "x509",
            "-in",
            p(&cert),
            "-noout",
            "-pubkey",
            "-out",
            p(&pubkey),
        ]);
        let msg_file = env.write_der(&format!("{}.msg", ca.name()), msg.as_bytes());
        let sig_file = env.write_der(&format!("{}.sig", ca.name()), &sig);
        let digest = match ca.key().hash() {
            HashAlg::Sha256 => "-sha256",
            HashAlg::Sha384 => "-sha384",
            HashAlg::Sha512 => "-sha512",
            _ => panic!("unexpected hash"),
        };
        let mut args = vec![
            "dgst",
            digest,
            "-verify",
            p(&pubkey),
            "-signature",
            p(&sig_file),
        ];
        if ca.name() == "root-rsa" {
            args.extend([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ]);
        }
        args.push(p(&msg_file));
        let out = openssl(&args);
        assert!(out.contains("Verified OK"), "{}: {out}", ca.name());
    }
}

#[test]
fn the_engine_refuses_a_key_that_is_not_the_certificates() {
    let env = Env::new();
    let root = env.create("root", KeySpec::P256, P256, None, 365);
    // A second CA record whose key reference points at another key.
    let other = KeyConfig::file(
        env.path("other.key"),
        SecretRef::File(env.passphrase.clone()),
        P256,
    );
    other.generate(KeySpec::P256).unwrap();
    env.store
        .put_ca(&CaRecord {
            name: "impostor".into(),
            cert_der: root.certificate_der().to_vec(),
            chain_der: vec![],
            key_ref: other.to_key_ref().unwrap(),
            parent: None,
            created_at: env.engine.now(),
        })
        .unwrap();
    let err = Engine::load(
        Arc::clone(&env.store),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .unwrap_err();
    match err {
        Error::CaLoad { ca, source } => {
            assert_eq!(ca, "impostor");
            assert!(matches!(*source, Error::KeyMismatch { .. }), "{source}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn the_engine_refuses_a_key_that_does_not_open() {
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 365);
    std::fs::write(&env.passphrase, "not the passphrase\n").unwrap();
    let err = Engine::load(
        Arc::clone(&env.store),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .unwrap_err();
    match err {
        Error::CaLoad { ca, source } => {
            assert_eq!(ca, "root");
            assert!(
                matches!(*source, Error::Key(cmc_keys::Error::WrongPassphrase)),
                "{source:?}"
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn the_key_file_is_private_and_encrypted() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.create("root", KeySpec::P256, P256, None, 365);
    let meta = std::fs::metadata(env.path("root.key")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let pem = std::fs::read_to_string(env.path("root.key")).unwrap();
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );
    // The stored key reference names the passphrase file, not its content.
    let record = env.store.get_ca("root").unwrap().unwrap();
    assert!(
        !record.key_ref.contains("correct horse"),
        "{}",
        record.key_ref
    );
    assert!(
        record.key_ref.contains(p(&env.passphrase)),
        "{}",
        record.key_ref
    );
}

#[test]
fn pkilint_finds_nothing_in_a_root() {
    if !pkilint_available("pkilint_finds_nothing_in_a_root") {
        return;
    }
    let env = Env::new();
    for (name, spec, scheme) in [
        ("root-p384", KeySpec::P384, P384),
        ("root-rsa", KeySpec::Rsa3072, PSS),
    ] {
        let ca = env.create(name, spec, scheme, None, 3650);
        let file = env.write_cert(&format!("{name}.pem"), ca.certificate_der());
        pkilint_clean("lint_pkix_cert", &[], &file);
    }
    let sub = env.create("issuing", KeySpec::P256, P256, Some("root-p384"), 365);
    let file = env.write_cert("issuing.pem", sub.certificate_der());
    pkilint_clean("lint_pkix_cert", &[], &file);
}

#[test]
fn the_engine_refuses_a_broken_chain() {
    let env = Env::new();
    let root = env.create("root", KeySpec::P256, P256, None, 365);
    let other = env.create("other", KeySpec::P256, P256, None, 365);
    let sub = env.create("sub", KeySpec::P256, P256, Some("root"), 30);
    let mut record = env.store.get_ca("sub").unwrap().unwrap();
    record.name = "sub-copy".into();
    record.chain_der = vec![other.certificate_der().to_vec()];
    let err = cmc_ca::LoadedCa::open(record.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadCertificate {
                what: "CA chain",
                ..
            }
        ),
        "{err}"
    );
    // With no chain at all, a certificate that is not self-issued is refused too.
    record.chain_der.clear();
    let err = cmc_ca::LoadedCa::open(record.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadCertificate {
                what: "CA chain",
                ..
            }
        ),
        "{err}"
    );
    // The right chain loads.
    record.chain_der = vec![root.certificate_der().to_vec()];
    assert_eq!(
        cmc_ca::LoadedCa::open(record).unwrap().certificate_der(),
        sub.certificate_der()
    );
}
