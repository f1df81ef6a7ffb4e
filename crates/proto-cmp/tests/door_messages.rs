//! rr, kur and genm through the door over a real engine, messages built here: the
//! refusals `openssl cmp` cannot be made to send (several RevDetails, a template without a
//! serial, a kur whose oldCertID names another certificate, …) and what each answer holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::str::FromStr;

use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_store::ClientRole;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use proto_cmp::{
    CertId, CertReqTemplateContent, CertTemplate, CrlSource, CrlStatus, FailureBit,
    InfoTypeAndValue, PkiBody, PkiStatus, RevDetails,
};
use support::{Setup, answer, cert_conf, failure, issued};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// A RevDetails for `cert` with `reason`.
fn rev_details(cert: &Certificate, reason: Option<CrlReason>) -> RevDetails {
    let tbs = cert.tbs_certificate();
    RevDetails {
        cert_details: CertTemplate {
            issuer: Some(tbs.issuer().clone()),
            serial_number: Some(Int::from_der(&tbs.serial_number().to_der().unwrap()).unwrap()),
            ..CertTemplate::default()
        },
        crl_entry_details: reason.map(|r| {
            vec![Extension {
                extn_id: const_oid::db::rfc5280::ID_CE_CRL_REASONS,
                critical: false,
                extn_value: OctetString::new(r.to_der().unwrap()).unwrap(),
            }]
        }),
    }
}

/// The statuses of an rp: (status, failure bits).
fn rp(reply: &proto_cmp::CmpReply) -> Vec<(PkiStatus, Vec<FailureBit>)> {
    let PkiBody::Rp(rep) = answer(reply).body else {
        panic!("not an rp: {:?}", answer(reply).body);
    };
    assert!(rep.rev_certs.is_none() && rep.crls.is_none());
    rep.status
        .into_iter()
        .map(|s| {
            (
                s.status,
                s.fail_info.map(|f| f.bits().collect()).unwrap_or_default(),
            )
        })
        .collect()
}

/// The holder revokes its own certificate with a reason, and nobody else's; an RA revokes
/// an end entity's; a second revocation is certRevoked, an unknown serial badCertId, each
/// RevDetails answered in order.
#[test]
fn rr_follows_the_engine_rules_and_answers_per_rev_details() {
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let (a_key, a) = setup.issue(&ra, "CN=a.example.test");
    let (b_key, b) = setup.issue(&ra, "CN=b.example.test");
    let (_, c) = setup.issue(&ra, "CN=c.example.test");
    let a_der = a.to_der().unwrap();
    let b_der = b.to_der().unwrap();

    // The holder of b may not revoke a.
    let reply = setup.send_signed(
        b"rr-1",
        PkiBody::Rr(vec![rev_details(&a, Some(CrlReason::KeyCompromise))]),
        &b_key,
        &b_der,
    );
    assert_eq!(
        rp(&reply),
        [(PkiStatus::Rejection, vec![FailureBit::NotAuthorized])]
    );
    assert_eq!(setup.revocation(&a), None);

    // The holder of a revokes a, with its reason.
    let reply = setup.send_signed(
        b"rr-2",
        PkiBody::Rr(vec![rev_details(&a, Some(CrlReason::KeyCompromise))]),
        &a_key,
        &a_der,
    );
    assert_eq!(rp(&reply), [(PkiStatus::Accepted, vec![])]);
    assert_eq!(setup.revocation(&a), Some(1));
    // Now a no longer signs anything.
    let reply = setup.send_signed(
        b"rr-3",
        PkiBody::Rr(vec![rev_details(&a, None)]),
        &a_key,
        &a_der,
    );
    assert_eq!(failure(&reply), [FailureBit::SignerNotTrusted]);

    // The RA: c (superseded), a again, a serial this CA never issued, one per status.
    let mut unknown = rev_details(&c, None);
    unknown.cert_details.serial_number = Some(Int::new(&[0x01, 0x02, 0x03]).unwrap());
    let reply = setup.send_signed(
        b"rr-4",
        PkiBody::Rr(vec![
            rev_details(&c, Some(CrlReason::Superseded)),
            rev_details(&a, None),
            unknown,
        ]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(
        rp(&reply),
        [
            (PkiStatus::Accepted, vec![]),
            (PkiStatus::Rejection, vec![FailureBit::CertRevoked]),
            (PkiStatus::Rejection, vec![FailureBit::BadCertId]),
        ]
    );
    assert_eq!(setup.revocation(&c), Some(4));
    assert_eq!(setup.revocation(&a), Some(1), "the first revocation stands");
    assert_eq!(setup.revocation(&b), None);
}

/// An end-entity client may not revoke others' certificates; an RA may not revoke a client
/// credential; an rr without a serial, with no RevDetails or too many is refused.
#[test]
fn rr_refusals() {
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let (ee_key, ee) = support::common::credential(
        &setup.engine,
        "ca",
        "device-1",
        "CN=device-1",
        ClientRole::Client,
    );
    let (_, victim) = setup.issue(&ra, "CN=victim.example.test");
    let reply = setup.send_signed(
        b"rr-ee",
        PkiBody::Rr(vec![rev_details(&victim, None)]),
        &ee_key,
        &ee.certificate_der,
    );
    assert_eq!(
        rp(&reply),
        [(PkiStatus::Rejection, vec![FailureBit::NotAuthorized])]
    );
    // An RA and another client's credential.
    let ee_cert = Certificate::from_der(&ee.certificate_der).unwrap();
    let reply = setup.send_signed(
        b"rr-cred",
        PkiBody::Rr(vec![rev_details(&ee_cert, None)]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(
        rp(&reply),
        [(PkiStatus::Rejection, vec![FailureBit::NotAuthorized])]
    );
    assert_eq!(setup.revocation(&victim), None);
    assert_eq!(setup.revocation(&ee_cert), None);

    let mut no_serial = rev_details(&victim, None);
    no_serial.cert_details.serial_number = None;
    let reply = setup.send_signed(
        b"rr-ns",
        PkiBody::Rr(vec![no_serial]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(
        rp(&reply),
        [(PkiStatus::Rejection, vec![FailureBit::BadCertTemplate])]
    );
    let reply = setup.send_signed(b"rr-0", PkiBody::Rr(vec![]), &ra.0, &ra.1.certificate_der);
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    let many = vec![rev_details(&victim, None); proto_cmp::MAX_REV_DETAILS + 1];
    let reply = setup.send_signed(b"rr-many", PkiBody::Rr(many), &ra.0, &ra.1.certificate_der);
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    assert_eq!(setup.revocation(&victim), None);

    // A replayed rr revokes nothing again and is refused.
    let msg = support::signed(
        support::header(Some(b"rr-r"), Some(b"nonce-r")),
        PkiBody::Rr(vec![rev_details(&victim, None)]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(rp(&setup.send(&msg)), [(PkiStatus::Accepted, vec![])]);
    assert_eq!(failure(&setup.send(&msg)), [FailureBit::BadSenderNonce]);
}

/// A kur for `subject` with `key`, with an oldCertID control naming `old` when given.
fn kur_body(key: &FileKey, subject: &str, old: Option<&Certificate>) -> PkiBody {
    let template = CertTemplate {
        subject: Some(Name::from_str(subject).unwrap()),
        ..CertTemplate::default()
    };
    let controls = old
        .map(|c| {
            let tbs = c.tbs_certificate();
            let id = CertId {
                issuer: GeneralName::DirectoryName(tbs.issuer().clone()),
                serial_number: Int::from_der(&tbs.serial_number().to_der().unwrap()).unwrap(),
            };
            vec![AttributeTypeAndValue {
                oid: const_oid::db::rfc5912::ID_REG_CTRL_OLD_CERT_ID,
                value: der::Any::encode_from(&id).unwrap(),
            }]
        })
        .unwrap_or_default();
    PkiBody::Kur(vec![
        cmc_codec::build_crmf_with_controls(key, 0, template, controls).unwrap(),
    ])
}

/// The holder updates its key: the kup's certificate has the old subject and the new key,
/// and is confirmed like an ip; the oldCertID control, when present, must name the
/// protecting certificate.
#[test]
fn kur_by_the_holder_keeps_the_subject_and_takes_the_new_key() {
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let (old_key, old) = setup.issue(&ra, "CN=kur.example.test");
    let (_, other) = setup.issue(&ra, "CN=other.example.test");
    let old_der = old.to_der().unwrap();
    let new_key = FileKey::generate(KeySpec::P256).unwrap();

    // oldCertID naming another certificate.
    let reply = setup.send_signed(
        b"kur-1",
        kur_body(&new_key, "CN=kur.example.test", Some(&other)),
        &old_key,
        &old_der,
    );
    assert_eq!(failure(&reply), [FailureBit::BadCertId]);

    let reply = setup.send_signed(
        b"kur-2",
        kur_body(&new_key, "CN=kur.example.test", Some(&old)),
        &old_key,
        &old_der,
    );
    assert_eq!(reply.issued, 1);
    assert!(matches!(answer(&reply).body, PkiBody::Kup(_)));
    let new = issued(&reply);
    assert_eq!(
        new.tbs_certificate().subject(),
        old.tbs_certificate().subject()
    );
    assert_eq!(
        new.tbs_certificate().subject_public_key_info(),
        new_key.public_key()
    );
    let reply = setup.send_signed(b"kur-2", cert_conf(&new, false), &old_key, &old_der);
    assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
    // The old certificate is left as it is (RFC 4210 does not revoke it).
    assert_eq!(setup.revocation(&old), None);
}

/// Refused: another subject or the old key (badCertTemplate), a kur by a registered
/// client's credential (notAuthorized), by a revoked certificate (signerNotTrusted).
#[test]
fn kur_refusals() {
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let (old_key, old) = setup.issue(&ra, "CN=kur.example.test");
    let old_der = old.to_der().unwrap();
    let new_key = FileKey::generate(KeySpec::P256).unwrap();

    let reply = setup.send_signed(
        b"kur-s",
        kur_body(&new_key, "CN=someone-else.example.test", None),
        &old_key,
        &old_der,
    );
    assert_eq!(failure(&reply), [FailureBit::BadCertTemplate]);
    let reply = setup.send_signed(
        b"kur-k",
        kur_body(&old_key, "CN=kur.example.test", None),
        &old_key,
        &old_der,
    );
    assert_eq!(failure(&reply), [FailureBit::BadCertTemplate]);
    let reply = setup.send_signed(
        b"kur-ra",
        kur_body(&new_key, "CN=ra1", None),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(failure(&reply), [FailureBit::NotAuthorized]);

    let reply = setup.send_signed(
        b"kur-rr",
        PkiBody::Rr(vec![rev_details(&old, Some(CrlReason::Superseded))]),
        &old_key,
        &old_der,
    );
    assert_eq!(rp(&reply), [(PkiStatus::Accepted, vec![])]);
    let reply = setup.send_signed(
        b"kur-r",
        kur_body(&new_key, "CN=kur.example.test", None),
        &old_key,
        &old_der,
    );
    assert_eq!(failure(&reply), [FailureBit::SignerNotTrusted]);
    assert_eq!(reply.issued, 0);
}

/// The genp's entries: (infoType, value DER).
fn genp(reply: &proto_cmp::CmpReply) -> Vec<(const_oid::ObjectIdentifier, Option<Vec<u8>>)> {
    let PkiBody::Genp(content) = answer(reply).body else {
        panic!("not a genp: {:?}", answer(reply).body);
    };
    content
        .into_iter()
        .map(|i| (i.info_type, i.info_value.map(|v| v.to_der().unwrap())))
        .collect()
}

/// An empty genm gets the CA certificates; each profile request is answered once, in the
/// order asked, unknown types left out; rootCaKeyUpdate has no value (no root update); the
/// template's keySpec is the default profile's key types; currentCRL is the CA's CRL.
#[test]
fn genm_answers_what_it_knows() {
    use proto_cmp::oid::*;
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let ra_der = &ra.1.certificate_der;
    let reply = setup.send_signed(b"g-0", PkiBody::Genm(vec![]), &ra.0, ra_der);
    let answer = genp(&reply);
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].0, ID_IT_CA_CERTS);
    let chain = Vec::<Certificate>::from_der(answer[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(chain, setup.engine.ca_chain("ca").unwrap());
    assert_eq!(chain[0], setup.ca_cert());

    let ask = |oid| InfoTypeAndValue::request(oid);
    let reply = setup.send_signed(
        b"g-1",
        PkiBody::Genm(vec![
            ask(ID_IT_CA_CERTS),
            ask(const_oid::ObjectIdentifier::new_unwrap(
                "1.3.6.1.5.5.7.4.99",
            )),
            InfoTypeAndValue::new(ID_IT_ROOT_CA_CERT, &setup.ca_cert()).unwrap(),
            ask(ID_IT_CA_CERTS),
            ask(ID_IT_CERT_REQ_TEMPLATE),
            ask(const_oid::db::rfc5912::ID_IT_CURRENT_CRL),
        ]),
        &ra.0,
        ra_der,
    );
    let answer = genp(&reply);
    let types: Vec<_> = answer.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        types,
        [
            ID_IT_CA_CERTS,
            ID_IT_ROOT_CA_KEY_UPDATE,
            ID_IT_CERT_REQ_TEMPLATE,
            const_oid::db::rfc5912::ID_IT_CURRENT_CRL
        ]
    );
    assert_eq!(answer[1].1, None, "no root CA key update");
    let template = CertReqTemplateContent::from_der(answer[2].1.as_ref().unwrap()).unwrap();
    assert_eq!(template.cert_template, CertTemplate::default());
    let config = setup.engine.config();
    let profile = config
        .profiles
        .get(&config.default_profile_name("ca"))
        .unwrap();
    let mut curves = Vec::new();
    let mut rsa = Vec::new();
    for control in template.key_spec.unwrap() {
        if control.oid == ID_REG_CTRL_ALG_ID {
            let alg: spki::AlgorithmIdentifierOwned = control.value.decode_as().unwrap();
            assert_eq!(alg.oid, const_oid::db::rfc5912::ID_EC_PUBLIC_KEY);
            let curve: const_oid::ObjectIdentifier = alg.parameters.unwrap().decode_as().unwrap();
            curves.push(curve);
        } else {
            assert_eq!(control.oid, ID_REG_CTRL_RSA_KEY_LEN);
            rsa.push(control.value.decode_as::<u32>().unwrap());
        }
    }
    let want_curves: Vec<_> = profile.allowed_curves().iter().map(|c| c.oid()).collect();
    let want_rsa: Vec<_> = profile.allowed_rsa_sizes().iter().copied().collect();
    assert!(!want_curves.is_empty() || !want_rsa.is_empty());
    assert_eq!((curves, rsa), (want_curves, want_rsa));
    let crl: x509_cert::crl::CertificateList =
        Decode::from_der(answer[3].1.as_ref().unwrap()).unwrap();
    assert_eq!(
        crl.to_der().unwrap(),
        setup.engine.current_crl("ca").unwrap().der
    );
}

/// crlStatusList: the current CRL for a status naming this CA without thisUpdate or with
/// an older one; no value when the client has it or names only another issuer.
#[test]
fn genm_crl_update() {
    use proto_cmp::oid::{ID_IT_CRL_STATUS_LIST, ID_IT_CRLS};
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let ca_name = setup.ca_cert().tbs_certificate().subject().clone();
    let current = setup.engine.current_crl("ca").unwrap();
    let at = |secs: i64| {
        Some(x509_cert::time::Time::GeneralTime(
            der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(
                u64::try_from(secs).unwrap(),
            ))
            .unwrap(),
        ))
    };
    let status = |name: &Name, this_update| CrlStatus {
        source: CrlSource::Issuer(vec![GeneralName::DirectoryName(name.clone())]),
        this_update,
    };
    let other = Name::from_str("CN=another CA").unwrap();
    let cases = [
        (vec![status(&ca_name, None)], true),
        (
            vec![status(&ca_name, at(current.this_update.secs() - 60))],
            true,
        ),
        (
            vec![status(&ca_name, at(current.this_update.secs()))],
            false,
        ),
        (vec![status(&other, None)], false),
        (vec![status(&other, None), status(&ca_name, None)], true),
    ];
    for (n, (statuses, fresh)) in cases.into_iter().enumerate() {
        let itav = InfoTypeAndValue::new(ID_IT_CRL_STATUS_LIST, &statuses).unwrap();
        let reply = setup.send_signed(
            format!("g-crl-{n}").as_bytes(),
            PkiBody::Genm(vec![itav]),
            &ra.0,
            &ra.1.certificate_der,
        );
        let answer = genp(&reply);
        assert_eq!(answer.len(), 1, "case {n}");
        assert_eq!(answer[0].0, ID_IT_CRLS, "case {n}");
        match (&answer[0].1, fresh) {
            (Some(v), true) => {
                let crls: Vec<x509_cert::crl::CertificateList> = Decode::from_der(v).unwrap();
                assert_eq!(crls.len(), 1);
                assert_eq!(crls[0].to_der().unwrap(), current.der, "case {n}");
            }
            (None, false) => {}
            (v, _) => panic!("case {n}: {v:?}"),
        }
    }
    // A crlStatusList without a value is malformed.
    let reply = setup.send_signed(
        b"g-crl-bad",
        PkiBody::Genm(vec![InfoTypeAndValue::request(ID_IT_CRL_STATUS_LIST)]),
        &ra.0,
        &ra.1.certificate_der,
    );
    assert_eq!(failure(&reply), [FailureBit::BadDataFormat]);
}

/// A genm is authenticated like every request: unprotected, or from a certificate the CA
/// does not know, it gets an error and no genp.
#[test]
fn genm_must_be_authenticated() {
    let setup = Setup::new();
    let unprotected = proto_cmp::PkiMessage {
        header: support::header(Some(b"g-u"), Some(b"n-u")),
        body: PkiBody::Genm(vec![]),
        protection: None,
        extra_certs: None,
    };
    let reply = setup.send(&unprotected.to_der().unwrap());
    assert_eq!(failure(&reply), [FailureBit::BadMessageCheck]);
    assert!(reply.unauthenticated);
    // A certificate of this CA, revoked.
    let ra = setup.ra("ra1");
    let (key, cert) = setup.issue(&ra, "CN=gone.example.test");
    let serial =
        cmc_store::Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes())
            .unwrap();
    setup
        .engine
        .revoke(
            "ca",
            &serial,
            cmc_store::RevocationReason::Superseded,
            None,
            "test",
        )
        .unwrap();
    let reply = setup.send_signed(b"g-s", PkiBody::Genm(vec![]), &key, &cert.to_der().unwrap());
    assert_eq!(failure(&reply), [FailureBit::SignerNotTrusted]);
}

/// After a rollover of the root CA "ca": caCerts carries the passive next CA certificate
/// too, and rootCaKeyUpdate answers it as newWithNew; after activation, the new one.
#[test]
fn genm_after_a_rollover_offers_the_next_root() {
    use proto_cmp::RootCaKeyUpdateContent;
    use proto_cmp::oid::*;
    let setup = Setup::new();
    let ra = setup.ra("ra1");
    let ra_der = &ra.1.certificate_der;
    let store = setup.env.store.as_ref();
    let now = cmc_ca::Clock::now(&setup.env.clock);
    let next = cmc_ca::rollover_ca(
        store,
        now,
        &cmc_ca::Rollover {
            ca: "ca".into(),
            key: cmc_ca::CaKey::Generate {
                spec: KeySpec::P256,
                config: setup.env.file_key("ca.gen2", support::P256),
            },
            validity_days: 365,
            activate_at: None,
            requester: "test".into(),
        },
    )
    .unwrap();
    setup.engine.refresh_cas().unwrap();
    let next_cert = Certificate::from_der(&next.cert_der).unwrap();
    let ask = |oid| InfoTypeAndValue::request(oid);
    let reply = setup.send_signed(
        b"r-1",
        PkiBody::Genm(vec![ask(ID_IT_CA_CERTS), ask(ID_IT_ROOT_CA_KEY_UPDATE)]),
        &ra.0,
        ra_der,
    );
    let answer = genp(&reply);
    let certs = Vec::<Certificate>::from_der(answer[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(certs, [setup.ca_cert(), next_cert.clone()]);
    let update = RootCaKeyUpdateContent::from_der(answer[1].1.as_ref().unwrap()).unwrap();
    assert_eq!(update.new_with_new, next_cert);
    assert_eq!((update.new_with_old, update.old_with_new), (None, None));

    cmc_ca::activate_ca(store, now, "ca", "test").unwrap();
    setup.engine.refresh_cas().unwrap();
    let reply = setup.send_signed(
        b"r-2",
        PkiBody::Genm(vec![ask(ID_IT_ROOT_CA_KEY_UPDATE)]),
        &ra.0,
        ra_der,
    );
    let answer = genp(&reply);
    let update = RootCaKeyUpdateContent::from_der(answer[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(update.new_with_new, next_cert);
}
