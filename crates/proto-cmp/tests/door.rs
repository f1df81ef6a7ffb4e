//! The CMP door over a real engine (SQLite store, file-key CA), without
//! HTTP and without `openssl`: messages built here, so that the paths
//! `openssl cmp` never takes are exercised: certConf with a wrong hash or
//! from another signer, a rejecting certConf, missing header fields, an
//! unprotected request, a signature that does not match `extraCerts`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cmc_keys::{FileKey, KeySpec};
use cmc_store::{ClientRole, RevocationReason, Serial};
use der::{Decode, Encode};
use proto_cmp::{CmpRequest, FailureBit, PkiBody, PkiMessage};
use support::common;
use support::{Setup, answer, cert_conf, cr_body, cr_body_for, failure, header, issued, signed};
use x509_cert::Certificate;

#[test]
fn cert_conf_must_match_the_certificate_and_its_requester() {
    let setup = Setup::new();
    let (key, cred) = setup.ra("ra1");
    let (other_key, other) = setup.ra("ra2");
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-1")),
        cr_body("CN=device.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(reply.issued, 1);
    let cert = issued(&reply);
    let answer_header = answer(&reply).header;
    assert_eq!(answer_header.recip_nonce.unwrap().as_bytes(), b"nonce-1");
    assert_eq!(answer_header.transaction_id.unwrap().as_bytes(), b"tx-1");

    // A new cr in a transaction that waits for its certConf.
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-2")),
        cr_body("CN=device2.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::TransactionIdInUse]);

    // The hash of another certificate.
    let wrong = Certificate::from_der(&cred.certificate_der).unwrap();
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-3")),
        cert_conf(&wrong, false),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadCertId]);
    // The right hash from another RA.
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-4")),
        cert_conf(&cert, false),
        &other_key,
        &other.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    // The requester confirms.
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-5")),
        cert_conf(&cert, false),
        &key,
        &cred.certificate_der,
    ));
    assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
    assert!(!setup.revoked(&cert));
    // Once.
    let reply = setup.send(&signed(
        header(Some(b"tx-1"), Some(b"nonce-6")),
        cert_conf(&cert, false),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
}

#[test]
fn a_rejecting_cert_conf_revokes() {
    let setup = Setup::new();
    let (key, cred) = setup.ra("ra1");
    let reply = setup.send(&signed(
        header(Some(b"tx-r"), Some(b"nonce-1")),
        cr_body("CN=unwanted.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    let cert = issued(&reply);
    let reply = setup.send(&signed(
        header(Some(b"tx-r"), Some(b"nonce-2")),
        cert_conf(&cert, true),
        &key,
        &cred.certificate_der,
    ));
    assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
    assert!(setup.revoked(&cert));
}

#[test]
fn refusals_before_the_engine() {
    let setup = Setup::new();
    let (key, cred) = setup.ra("ra1");
    let (ee_key, ee) = common::credential(
        &setup.engine,
        "ca",
        "device-1",
        "CN=device-1",
        ClientRole::Client,
    );
    let body = || cr_body("CN=x.example.test", false);
    // No transactionID, no senderNonce.
    let reply = setup.send(&signed(
        header(None, Some(b"n")),
        body(),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadDataFormat]);
    let reply = setup.send(&signed(
        header(Some(b"t"), None),
        body(),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadSenderNonce]);
    // Unprotected.
    let unprotected = PkiMessage {
        header: header(Some(b"t"), Some(b"n")),
        body: body(),
        protection: None,
        extra_certs: None,
    };
    let reply = setup.send(&unprotected.to_der().unwrap());
    assert_eq!(failure(&reply), [FailureBit::BadMessageCheck]);
    assert!(reply.unauthenticated);
    // Signed by one key, claiming another's certificate.
    let reply = setup.send(&signed(
        header(Some(b"t"), Some(b"n")),
        body(),
        &ee_key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadMessageCheck]);
    assert!(reply.unauthenticated);
    // A certificate of this CA, revoked: neither a client nor a holder.
    let holder = FileKey::generate(KeySpec::P256).unwrap();
    let reply = setup.send(&signed(
        header(Some(b"t-h"), Some(b"n-h")),
        cr_body_for(&holder, "CN=holder.example.test", false),
        &key,
        &cred.certificate_der,
    ));
    let holder_cert = issued(&reply);
    let serial =
        Serial::from_be_bytes(holder_cert.tbs_certificate().serial_number().as_bytes()).unwrap();
    setup
        .engine
        .revoke("ca", &serial, RevocationReason::Superseded, None, "test")
        .unwrap();
    let reply = setup.send(&signed(
        header(Some(b"t-s"), Some(b"n-s")),
        cr_body("CN=holder.example.test", false),
        &holder,
        &holder_cert.to_der().unwrap(),
    ));
    assert_eq!(failure(&reply), [FailureBit::SignerNotTrusted]);
    assert!(reply.unauthenticated);
    // An end entity vouching for a key.
    let reply = setup.send(&signed(
        header(Some(b"t2"), Some(b"n2")),
        cr_body("CN=device-1", true),
        &ee_key,
        &ee.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadPop]);
    assert!(!reply.unauthenticated, "the sender was authenticated");
    // Unsupported bodies.
    let reply = setup.send(&signed(
        header(Some(b"t3"), Some(b"n3")),
        PkiBody::PollReq(vec![]),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    // Not CMP at all.
    let reply = setup.door.handle(
        &setup.engine,
        &CmpRequest {
            ca: "ca",
            content_type: Some("application/pkixcmp"),
            body: b"garbage",
            limits: &setup.limits,
        },
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.issued, 0);
}

/// Past the confirmation wait (`[ca.NAME.cmp] confirm_wait_secs`, 300 s by default) a late
/// certConf is refused, the transaction may be used again, and the sweep the server runs
/// revokes the unconfirmed certificate (RFC 9483 §4.1: handled like a rejection), once;
/// a confirmed certificate is left alone.
#[test]
fn an_unconfirmed_certificate_is_revoked_after_the_wait() {
    let setup = Setup::new();
    let (key, cred) = setup.ra("ra1");
    let reply = setup.send(&signed(
        header(Some(b"tx-late"), Some(b"nonce-1")),
        cr_body("CN=late.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    let cert = issued(&reply);
    let reply = setup.send(&signed(
        header(Some(b"tx-kept"), Some(b"nonce-k")),
        cr_body("CN=kept.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    let kept = issued(&reply);
    let reply = setup.send(&signed(
        header(Some(b"tx-kept"), Some(b"nonce-k2")),
        cert_conf(&kept, false),
        &key,
        &cred.certificate_der,
    ));
    assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
    // Before the deadline the sweep revokes nothing.
    assert_eq!(setup.engine.revoke_unconfirmed().unwrap(), 0);

    setup
        .env
        .clock
        .advance(cmc_ca::config::DEFAULT_CONFIRM_WAIT_SECS + 1);
    let reply = setup.send(&signed(
        header(Some(b"tx-late"), Some(b"nonce-2")),
        cert_conf(&cert, false),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    assert_eq!(setup.engine.revoke_unconfirmed().unwrap(), 1);
    assert!(setup.revoked(&cert));
    assert!(!setup.revoked(&kept));
    assert_eq!(setup.engine.revoke_unconfirmed().unwrap(), 0, "once");
    let reply = setup.send(&signed(
        header(Some(b"tx-late"), Some(b"nonce-3")),
        cr_body("CN=late2.example.test", true),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(reply.issued, 1);
}

/// A client that asks for implicit confirmation gets it where the CA grants it: the
/// answer says so and the certificate waits for nothing; elsewhere it must confirm.
#[test]
fn implicit_confirmation_is_granted_only_where_configured() {
    for granted in [false, true] {
        let env_setup = Setup::with_cmp(cmc_ca::config::CmpSettings {
            implicit_confirm: granted,
            ..cmc_ca::config::CmpSettings::default()
        });
        let (key, cred) = env_setup.ra("ra1");
        let mut h = header(Some(b"tx-implicit"), Some(b"nonce-i"));
        h.set_implicit_confirm();
        let reply = env_setup.send(&signed(
            h,
            cr_body("CN=implicit.example.test", true),
            &key,
            &cred.certificate_der,
        ));
        let cert = issued(&reply);
        assert_eq!(answer(&reply).header.implicit_confirm(), granted);
        env_setup
            .env
            .clock
            .advance(cmc_ca::config::DEFAULT_CONFIRM_WAIT_SECS + 1);
        let swept = env_setup.engine.revoke_unconfirmed().unwrap();
        assert_eq!(swept, usize::from(!granted), "granted: {granted}");
        assert_eq!(env_setup.revoked(&cert), !granted);
    }
}

/// Indirect POP at the door: the certificate goes to an RSA key encrypted (and only
/// there), implicit confirmation is refused for it, and without its certConf it is revoked
/// like any unconfirmed certificate.
#[test]
fn indirect_pop_needs_the_confirmation() {
    use cmc_asn1::{PopoPrivKey, ProofOfPossession, SubsequentMessage};
    let setup = Setup::with_cmp(cmc_ca::config::CmpSettings {
        implicit_confirm: true,
        ..cmc_ca::config::CmpSettings::default()
    });
    let (key, cred) = setup.ra("ra1");
    let indirect = |subject: &str| {
        let rsa = FileKey::generate(KeySpec::Rsa2048).unwrap();
        let PkiBody::Cr(mut msgs) = cr_body_for(&rsa, subject, false) else {
            unreachable!()
        };
        msgs[0].popo = Some(ProofOfPossession::KeyEncipherment(
            PopoPrivKey::SubsequentMessage(SubsequentMessage::EncrCert),
        ));
        PkiBody::Cr(msgs)
    };
    // Asking for implicit confirmation as well: refused.
    let mut h = header(Some(b"tx-ind-1"), Some(b"nonce-ind-1"));
    h.set_implicit_confirm();
    let reply = setup.send(&signed(
        h,
        indirect("CN=indirect1.example.test"),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(failure(&reply), [FailureBit::BadRequest]);
    assert_eq!(reply.issued, 0);

    let reply = setup.send(&signed(
        header(Some(b"tx-ind-2"), Some(b"nonce-ind-2")),
        indirect("CN=indirect2.example.test"),
        &key,
        &cred.certificate_der,
    ));
    assert_eq!(reply.issued, 1);
    let PkiBody::Cp(rep) = answer(&reply).body else {
        panic!("not a cp");
    };
    assert!(matches!(
        rep.response[0]
            .certified_key_pair
            .as_ref()
            .unwrap()
            .cert_or_enc_cert,
        proto_cmp::CertOrEncCert::EncryptedCert(_)
    ));
    // Never confirmed (the requester could not decrypt): revoked after the wait.
    setup
        .env
        .clock
        .advance(cmc_ca::config::DEFAULT_CONFIRM_WAIT_SECS + 1);
    assert_eq!(setup.engine.revoke_unconfirmed().unwrap(), 1);
}

/// Under a profile that requires acceptance, a certificate is accepted by the certConf that
/// accepts it, or on delivery where implicitConfirm was granted; not before.
#[test]
fn cert_conf_and_implicit_confirmation_are_acceptance() {
    for implicit in [false, true] {
        let setup = Setup::with(
            cmc_ca::config::CmpSettings {
                implicit_confirm: implicit,
                ..cmc_ca::config::CmpSettings::default()
            },
            |c| {
                c.profiles = cmc_policy::ProfileSet::from_toml(
                    "default_profile = \"device\"\n[profile.device]\nrequire_acceptance = true\n",
                )
                .unwrap();
            },
        );
        let (key, cred) = setup.ra("ra1");
        let mut h = header(Some(b"tx-accept"), Some(b"nonce-a"));
        if implicit {
            h.set_implicit_confirm();
        }
        let reply = setup.send(&signed(
            h,
            cr_body("CN=accepted.example.test", true),
            &key,
            &cred.certificate_der,
        ));
        let cert = issued(&reply);
        let serial =
            Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes()).unwrap();
        let accepted = || setup.env.store.accepted_at("ca", &serial).unwrap();
        if implicit {
            assert_eq!(accepted(), Some(setup.engine.now()));
            continue;
        }
        assert_eq!(accepted(), None);
        let reply = setup.send(&signed(
            header(Some(b"tx-accept"), Some(b"nonce-b")),
            cert_conf(&cert, false),
            &key,
            &cred.certificate_der,
        ));
        assert!(matches!(answer(&reply).body, PkiBody::PkiConf(_)));
        assert_eq!(accepted(), Some(setup.engine.now()));
    }
}
