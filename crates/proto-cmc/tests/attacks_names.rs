//! Who may be issued which names (issue 13), attack by attack through
//! `CmcFrontDoor::handle_full`: reserved subjects of the CA's machinery, the
//! registered name spaces of clients and secrets, renewals that keep their
//! names, and the profile's name rules binding RAs. Each refusal is checked
//! on the signed response (status, failInfo, bodyList) and on the store
//! (what was issued, what was revoked, whether the secret was spent), next
//! to the request that is allowed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use std::str::FromStr;

use attack_support::{Party, Rig, SecretAsk, csr, dns_names, names};
use cmc_asn1::{CmcFailInfo, CmcStatus};
use cmc_codec::identity::ProofHash;
use cmc_keys::{FileKey, KeySpec};
use cmc_store::ClientRole;
use der::asn1::{PrintableStringRef, Utf8StringRef};
use der::{Any, Decode, Encode};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

const CN: der::asn1::ObjectIdentifier = const_oid::db::rfc4519::CN;
const O: der::asn1::ObjectIdentifier = const_oid::db::rfc4519::O;
const C: der::asn1::ObjectIdentifier = const_oid::db::rfc4519::C;

/// Attack 1: an operator registers a secret for "mallory"; mallory asks
/// for the RA's subject, then signs a revokeRequest for the RA's
/// credential with what she got.
#[test]
fn attack_1_a_secret_holder_neither_takes_the_ra_subject_nor_revokes_the_ra() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=cmc-ca bootstrap RA", ClientRole::Ra, None);
    rig.add_secret("mallory", None, None);
    let mallory = SecretAsk {
        identification: "mallory",
        subject: "CN=cmc-ca bootstrap RA",
        ..SecretAsk::default()
    };

    // The RA's subject is reserved: badRequest for the request, nothing
    // issued, the secret still unspent.
    let (der, _) = rig.secret_request(&mallory, |_| {});
    assert_eq!(
        rig.refused(&rig.post(&der)),
        (CmcFailInfo::BadRequest, vec![2])
    );
    assert!(rig.issued().is_empty());
    assert_eq!(rig.secret("mallory").used_at, None);

    // Her own name is issued, and spends the secret.
    let (der, key) = rig.secret_request(
        &SecretAsk {
            subject: "CN=mallory",
            ..mallory
        },
        |_| {},
    );
    let cert = rig.issued_cert(&rig.post(&der));
    assert_eq!(cert.tbs_certificate().subject().to_string(), "CN=mallory");
    assert_eq!(rig.issued().len(), 1);
    assert_eq!(rig.secret("mallory").used_at, Some(rig.now()));

    // As a holder she revokes only the certificate that signs: the RA's
    // credential is refused and stays valid.
    rig.env.clock.advance(1);
    let mallory = Party { key, cert };
    let reply = rig.send(&mallory, |b| {
        b.control(30, &rig.revoke_of(&ra.cert, CrlReason::KeyCompromise))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![30]));
    assert!(!rig.is_revoked(&ra.cert));
    assert_eq!(rig.revoked_count(), 0);

    // The RA still enrolls.
    let leaf = rig.enroll(&ra, "CN=leaf.example.test", &[]);
    assert!(!rig.is_revoked(&leaf.cert));
    assert_eq!(rig.issued().len(), 2);
}

/// Attack 2: alice (CN=alice, DNS:alice.example.test, through the RA)
/// signs a request for her subject with DNS:bank.example.test.
#[test]
fn attack_2_a_renewal_keeps_the_names_of_the_certificate_that_signs() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let alice = rig.enroll(&ra, "CN=alice", &["alice.example.test"]);
    let renew = |subject: &str, dns: &[&str]| {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        rig.env.clock.advance(1);
        rig.send(&alice, |b| {
            b.pkcs10(2, csr(&key, subject, dns)).unwrap();
        })
    };

    // A name the certificate does not have: badIdentity, nothing issued.
    let reply = renew("CN=alice", &["alice.example.test", "bank.example.test"]);
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadIdentity, vec![2]));
    let reply = renew("CN=alice", &["bank.example.test"]);
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadIdentity, vec![2]));
    // Another subject: badIdentity too.
    let reply = renew("CN=bank", &["alice.example.test"]);
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadIdentity, vec![2]));
    assert_eq!(rig.issued().len(), 1);

    // The same names, or fewer, are renewed.
    let same = rig.issued_cert(&renew("CN=alice", &["alice.example.test"]));
    assert_eq!(dns_names(&same), ["alice.example.test"]);
    let fewer = rig.issued_cert(&renew("CN=alice", &[]));
    assert!(dns_names(&fewer).is_empty());
    assert_eq!(fewer.tbs_certificate().subject().to_string(), "CN=alice");
    assert_eq!(rig.issued().len(), 3);
    assert!(
        rig.issued()
            .iter()
            .filter(|r| r.requester.starts_with("holder:"))
            .count()
            == 2
    );
}

/// Attack 3: a client registered as an end entity with `--subject CN=eve`
/// signs a request for CN=admin.
#[test]
fn attack_3_a_registered_end_entity_is_issued_only_its_names() {
    let rig = Rig::new();
    let eve = rig.client(
        "eve",
        "CN=eve",
        ClientRole::Client,
        Some(names(Some("CN=eve"), &["eve.example.test"])),
    );
    let ask = |subject: &str, dns: &[&str]| {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        rig.env.clock.advance(1);
        rig.send(&eve, |b| {
            b.pkcs10(2, csr(&key, subject, dns)).unwrap();
        })
    };
    let reply = ask("CN=admin", &[]);
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![2]));
    let reply = ask("CN=eve", &["bank.example.test"]);
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![2]));
    assert!(rig.issued().is_empty());

    // Her registered names (her credential's subject is hers to ask for).
    let cert = rig.issued_cert(&ask("CN=eve", &["eve.example.test"]));
    assert_eq!(cert.tbs_certificate().subject().to_string(), "CN=eve");
    assert_eq!(dns_names(&cert), ["eve.example.test"]);
    assert_eq!(rig.issued().len(), 1);
    assert_eq!(rig.issued()[0].requester, "eve");

    // A client registered without names is bound by the profile's rules
    // only, and never gets another client's subject.
    let frank = rig.client("frank", "CN=frank", ClientRole::Client, None);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&frank, |b| {
        b.pkcs10(2, csr(&key, "CN=eve", &[])).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![2]));
    let reply = rig.send(&frank, |b| {
        b.pkcs10(2, csr(&key, "CN=admin", &[])).unwrap();
    });
    assert_eq!(
        rig.issued_cert(&reply)
            .tbs_certificate()
            .subject()
            .to_string(),
        "CN=admin"
    );
    assert_eq!(rig.issued().len(), 2);
}

/// Attack 4: the RA enrolls a second certificate with eve's subject, and
/// its holder revokes eve's client credential.
#[test]
fn attack_4_a_client_subject_is_not_issued_again_and_a_holder_cannot_revoke_the_client() {
    let rig = Rig::new();
    let eve = rig.client("eve", "CN=eve", ClientRole::Client, None);
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);

    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=eve", &[]))
            .unwrap()
            .pkcs10(2, csr(&key, "CN=eve-two", &[]))
            .unwrap();
    });
    assert_eq!(
        rig.outcome(&reply),
        [
            (CmcStatus::Success, None, vec![2]),
            (CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![1]),
        ]
    );
    assert_eq!(rig.issued().len(), 1);
    assert_eq!(rig.issued()[0].certificate().unwrap().subject, "CN=eve-two");

    // The holder of some other certificate cannot revoke eve's credential.
    let holder = rig.enroll(&ra, "CN=holder", &[]);
    let reply = rig.send(&holder, |b| {
        b.control(40, &rig.revoke_of(&eve.cert, CrlReason::KeyCompromise))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![40]));
    assert!(!rig.is_revoked(&eve.cert));
    assert_eq!(rig.revoked_count(), 0);

    // Eve still signs requests.
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&eve, |b| {
        b.pkcs10(2, csr(&key, "CN=eve.example.test", &[])).unwrap();
    });
    rig.issued_cert(&reply);
}

/// An RA's own subject is reserved from the RA too: what it asks for goes
/// to another key, and a certificate with its name would speak for it. An
/// end-entity client asks for itself and may be issued its own subject.
#[test]
fn an_ra_is_not_issued_its_own_subject_an_end_entity_is() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let eve = rig.client("eve", "CN=eve", ClientRole::Client, None);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=ra", &[])).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    assert!(rig.issued().is_empty());
    let reply = rig.send(&eve, |b| {
        b.pkcs10(1, csr(&key, "CN=eve", &[])).unwrap();
    });
    rig.issued_cert(&reply);
}

/// The subjects of the CA, of its CMC responder and of its delegated OCSP
/// responder go to nobody, an RA included; other names in the same
/// PKIData are issued.
#[test]
fn the_subjects_of_the_ca_and_its_responders_are_reserved() {
    let (rig, _) = Rig::with_responders();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let ca_subject = rig.ca.subject().to_string();
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, &ca_subject, &[])).unwrap();
        b.pkcs10(2, csr(&key, attack_support::CMC_RESPONDER_SUBJECT, &[]))
            .unwrap();
        b.pkcs10(3, csr(&key, attack_support::OCSP_RESPONDER_SUBJECT, &[]))
            .unwrap();
        b.pkcs10(4, csr(&key, "CN=leaf.example.test", &[])).unwrap();
    });
    let bad = Some(CmcFailInfo::BadRequest);
    assert_eq!(
        rig.outcome(&reply),
        [
            (CmcStatus::Success, None, vec![4]),
            (CmcStatus::Failed, bad, vec![1]),
            (CmcStatus::Failed, bad, vec![2]),
            (CmcStatus::Failed, bad, vec![3]),
        ]
    );
    assert_eq!(reply.issued, 1);
    assert_eq!(rig.issued().len(), 1);
}

/// RFC 5280 §7.1 compares names after LDAP StringPrep: a PrintableString
/// and a UTF8String with the same text are the same name to every relying
/// party. The CA's subject spelt with PrintableStrings is still the CA's.
#[test]
fn the_ca_subject_in_another_string_type_is_still_reserved() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    // CN=cmc-ca test ca,O=cmc-ca tests,C=SE: the CA's text, every value a
    // PrintableString (the CA has UTF8Strings for CN and O).
    let printable = name(&[
        (C, "SE", true),
        (O, "cmc-ca tests", true),
        (CN, "cmc-ca test ca", true),
    ]);
    assert_eq!(printable.to_string(), rig.ca.subject().to_string());
    assert_ne!(&printable, rig.ca.subject());
    // The same DER as the CA's subject is refused (the control case) ...
    let utf8 = name(&[
        (C, "SE", true),
        (O, "cmc-ca tests", false),
        (CN, "cmc-ca test ca", false),
    ]);
    assert_eq!(&utf8, rig.ca.subject());
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let request = |subject: Name| cmc_codec::build_csr(&key, subject, Vec::new()).unwrap();
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, request(utf8)).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    // ... and so must the same name in PrintableStrings be.
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(2, request(printable)).unwrap();
    });
    assert_eq!(
        rig.outcome(&reply),
        [(CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![2])],
        "the CA's name went to an end entity: issued {:?}",
        subjects(&rig)
    );
    assert!(rig.issued().is_empty());
}

/// RFC 5280 §7.1: names match after case folding and insignificant space
/// handling. "CN=OWN RA" is the RA credential's "CN=own ra".
#[test]
fn a_client_subject_in_other_case_is_still_reserved() {
    let rig = Rig::new();
    let _owner = rig.client("owner", "CN=own ra", ClientRole::Ra, None);
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=own ra", &[])).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    for (id, variant) in [(2, "CN=OWN RA"), (3, "CN=Own Ra")] {
        rig.env.clock.advance(1);
        let reply = rig.send(&ra, |b| {
            b.pkcs10(id, csr(&key, variant, &[])).unwrap();
        });
        assert_eq!(
            rig.outcome(&reply),
            [(CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![id])],
            "the RA credential's name went to another key: issued {:?}",
            subjects(&rig)
        );
    }
    assert!(rig.issued().is_empty());
}

/// A secret registered with names (`secret add … --dns`) gets those names
/// only; a refusal leaves it unspent.
#[test]
fn a_secret_registered_with_names_is_issued_only_those() {
    let rig = Rig::new();
    rig.add_secret("device", None, Some(names(None, &["dev1.example.test"])));
    let ask = SecretAsk {
        identification: "device",
        subject: "CN=dev1.example.test",
        dns: &["dev1.example.test"],
        ..SecretAsk::default()
    };
    for wrong in [
        SecretAsk {
            subject: "CN=dev2.example.test",
            ..ask
        },
        SecretAsk {
            dns: &["dev1.example.test", "dev2.example.test"],
            ..ask
        },
    ] {
        let (der, _) = rig.secret_request(&wrong, |_| {});
        assert_eq!(
            rig.refused(&rig.post(&der)),
            (CmcFailInfo::BadRequest, vec![2]),
            "{wrong:?}"
        );
        assert_eq!(rig.secret("device").used_at, None);
        rig.env.clock.advance(1);
    }
    assert!(rig.issued().is_empty());
    let (der, _) = rig.secret_request(&ask, |_| {});
    let cert = rig.issued_cert(&rig.post(&der));
    assert_eq!(dns_names(&cert), ["dev1.example.test"]);
    assert_eq!(rig.issued()[0].requester, "secret:device");
    assert!(rig.secret("device").used_at.is_some());
}

/// `[profile.NAME.names]` binds an RA: names outside the permitted DNS
/// suffixes, or inside an excluded one, are badRequest.
#[test]
fn the_profile_name_rules_bind_an_ra() {
    let rig = Rig::profiles(
        r#"
default_profile = "default"
[profile.default]
[profile.default.names]
permitted_dns_suffixes = ["example.test"]
excluded_dns_suffixes = ["bank.example.test"]
"#,
    );
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=www.example.org", &[])).unwrap();
        b.pkcs10(2, csr(&key, "CN=x", &["x.bank.example.test"]))
            .unwrap();
        b.pkcs10(3, csr(&key, "CN=www.example.test", &["www.example.test"]))
            .unwrap();
    });
    let bad = Some(CmcFailInfo::BadRequest);
    assert_eq!(
        rig.outcome(&reply),
        [
            (CmcStatus::Success, None, vec![3]),
            (CmcStatus::Failed, bad, vec![1]),
            (CmcStatus::Failed, bad, vec![2]),
        ]
    );
    assert_eq!(rig.issued().len(), 1);
}

/// identification, identityProof(V2) and popLinkRandom are a secret
/// holder's controls: from an RA or a holder they fail the PKIData with
/// badRequest naming those controls.
#[test]
fn secret_controls_from_a_certificate_signer_are_bad_request_naming_them() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    let holder = rig.enroll(&ra, "CN=holder", &[]);
    for signer in [&ra, &holder] {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let reply = rig.send(signer, |b| {
            b.control(
                5,
                &cmc_asn1::PopLinkRandom(der::asn1::OctetString::new([1u8; 32]).unwrap()),
            )
            .unwrap()
            .control(6, &cmc_asn1::Identification("alice".into()))
            .unwrap()
            .pkcs10(7, csr(&key, "CN=holder", &[]))
            .unwrap();
            b.identity_proof_v2(
                8,
                ProofHash::Sha256,
                &cmc_codec::identity::identity_key(ProofHash::Sha256, b"x", None),
            )
            .unwrap();
        });
        assert_eq!(
            rig.refused(&reply),
            (CmcFailInfo::BadRequest, vec![5, 6, 8])
        );
        rig.env.clock.advance(1);
    }
    assert_eq!(rig.issued().len(), 1);
    // Without them the holder renews.
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let reply = rig.send(&holder, |b| {
        b.pkcs10(7, csr(&key, "CN=holder", &[])).unwrap();
    });
    rig.issued_cert(&reply);
    assert_eq!(rig.issued().len(), 2);
}

/// The subjects of the certificates issued for requests.
fn subjects(rig: &Rig) -> Vec<String> {
    rig.issued()
        .iter()
        .filter_map(|r| r.certificate().map(|c| c.subject.clone()))
        .collect()
}

/// A Name of single-attribute RDNs, in DER order (most general first);
/// each value a PrintableString when `printable`, else a UTF8String.
fn name(attributes: &[(der::asn1::ObjectIdentifier, &str, bool)]) -> Name {
    let mut rdns = RdnSequence::default();
    for (oid, text, printable) in attributes {
        let value = if *printable {
            Any::encode_from(&PrintableStringRef::new(text).unwrap()).unwrap()
        } else {
            Any::encode_from(&Utf8StringRef::new(text).unwrap()).unwrap()
        };
        let mut rdn = RelativeDistinguishedName::default();
        rdn.insert(AttributeTypeAndValue { oid: *oid, value })
            .unwrap();
        rdns.push(rdn);
    }
    Name::from_der(&rdns.to_der().unwrap()).unwrap()
}

#[test]
fn the_name_helper_spells_names_as_parse_name_does() {
    let parsed = Name::from_str("CN=x,O=y,C=SE").unwrap();
    assert_eq!(
        name(&[(C, "SE", true), (O, "y", false), (CN, "x", false)]),
        parsed
    );
}
