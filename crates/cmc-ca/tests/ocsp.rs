//! OCSP through the engine: good, revoked with its reason, unknown serials
//! and issuers, the nonce, malformed requests, and the delegated responder
//! certificate the engine issues itself. Responses are checked with
//! `openssl ocsp` and pkilint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cmc_asn1::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspNonce, OcspRequest, OcspResponse,
    OcspResponseStatus, OcspVersion, Request, ResponderId, TbsRequest,
};
use cmc_ca::config::{CaSettings, OcspSettings};
use cmc_ca::{Engine, EngineConfig, Error, KeyConfig, LoadedCa, OCSP_RESPONDER_PROFILE, OcspReply};
use cmc_keys::{HashAlg, KeySpec, SignatureScheme};
use cmc_store::{AuditFilter, AuditKind, ClientRole, PageRequest, RevocationReason, Serial};
use common::{Env, openssl, p, pkilint_available, pkilint_clean};
use const_oid::AssociatedOid;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_KP_OCSP_SIGNING;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use der::asn1::OctetString;
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{CrlReason, ExtendedKeyUsage};
use x509_cert::serial_number::SerialNumber;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const P384: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha384);

fn issue_leaf(env: &Env, ca: &str, id: &str) -> (Serial, Vec<u8>) {
    let subject = format!("CN={id},O=cmc-ca tests,C=SE");
    let (_, cred) = common::credential(&env.engine, ca, id, &subject, ClientRole::Client);
    (cred.serial, cred.certificate_der)
}

/// A CertID for `serial` under `ca`, hashed with `hash`.
fn cert_id(ca: &LoadedCa, serial: &[u8], hash: ObjectIdentifier) -> CertId {
    let tbs = ca.certificate().tbs_certificate();
    let name = tbs.subject().to_der().unwrap();
    let key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
    let h = |data: &[u8]| -> Vec<u8> {
        match hash {
            h if h == ID_SHA_1 => Sha1::digest(data).to_vec(),
            h if h == ID_SHA_256 => Sha256::digest(data).to_vec(),
            h if h == ID_SHA_384 => Sha384::digest(data).to_vec(),
            h if h == ID_SHA_512 => Sha512::digest(data).to_vec(),
            _ => panic!("{hash}"),
        }
    };
    CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: hash,
            parameters: None,
        },
        issuer_name_hash: OctetString::new(h(&name)).unwrap(),
        issuer_key_hash: OctetString::new(h(key)).unwrap(),
        serial_number: SerialNumber::new(serial).unwrap(),
    }
}

fn nonce_extension(nonce: &[u8]) -> Extension {
    Extension {
        extn_id: OcspNonce::OID,
        critical: false,
        extn_value: OctetString::new(
            OcspNonce(OctetString::new(nonce).unwrap())
                .to_der()
                .unwrap(),
        )
        .unwrap(),
    }
}

fn request(ids: Vec<CertId>, extensions: Option<Vec<Extension>>) -> Vec<u8> {
    OcspRequest {
        tbs_request: TbsRequest {
            version: OcspVersion::V1,
            requestor_name: None,
            request_list: ids
                .into_iter()
                .map(|req_cert| Request {
                    req_cert,
                    single_request_extensions: None,
                })
                .collect(),
            request_extensions: extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap()
}

/// The basic response of a successful reply.
fn basic(reply: &OcspReply) -> BasicOcspResponse {
    assert_eq!(reply.status, OcspResponseStatus::Successful, "{reply:?}");
    OcspResponse::from_der(&reply.der)
        .unwrap()
        .basic()
        .unwrap()
        .expect("a basic response")
}

fn statuses(reply: &OcspReply) -> Vec<CertStatus> {
    basic(reply)
        .tbs_response_data
        .responses
        .into_iter()
        .map(|r| r.cert_status)
        .collect()
}

fn assert_malformed(reply: &OcspReply) {
    assert_eq!(reply.status, OcspResponseStatus::MalformedRequest);
    assert_eq!(
        reply.der,
        [0x30, 0x03, 0x0a, 0x01, 0x01],
        "no responseBytes"
    );
}

/// `openssl ocsp -reqin -respin` with the CA certificate as the trust
/// anchor (so the nonce and the CertIDs are compared with the request);
/// returns the text. No `-VAfile`: the signer must be the CA or hold a
/// certificate the CA issued for OCSP signing.
fn openssl_check(
    env: &Env,
    name: &str,
    resp_der: &[u8],
    req_der: &[u8],
    ca_pem: &std::path::Path,
) -> String {
    let resp = env.write_der(&format!("{name}.resp"), resp_der);
    let req = env.write_der(&format!("{name}.req"), req_der);
    let out = openssl(&[
        "ocsp",
        "-reqin",
        p(&req),
        "-respin",
        p(&resp),
        // OpenSSL looks for a signer that is not in the response among the
        // -issuer certificates (the CA's own signature).
        "-issuer",
        p(ca_pem),
        "-CAfile",
        p(ca_pem),
        "-resp_text",
    ]);
    assert!(out.contains("Response verify OK"), "{name}: {out}");
    out
}

fn pkilint(env: &Env, name: &str, der: &[u8]) {
    if pkilint_available(name) {
        pkilint_clean("lint_ocsp_response", &[], &env.write_der(name, der));
    }
}

#[test]
fn good_then_revoked_with_its_reason_as_openssl_sees_it() {
    let env = Env::new();
    let ca = env.create("root", KeySpec::P256, P256, None, 365);
    let ca_pem = env.write_cert("root.pem", ca.certificate_der());
    let (serial, leaf) = issue_leaf(&env, "root", "leaf-1");
    let leaf_pem = env.write_cert("leaf.pem", &leaf);
    // OpenSSL's own request: SHA-1 CertID and a nonce.
    let req = env.path("req.der");
    openssl(&[
        "ocsp",
        "-issuer",
        p(&ca_pem),
        "-cert",
        p(&leaf_pem),
        "-reqout",
        p(&req),
    ]);
    let req = std::fs::read(&req).unwrap();
    let sent_nonce = OcspRequest::from_der(&req)
        .unwrap()
        .tbs_request
        .extension(&OcspNonce::OID)
        .unwrap()
        .clone();

    let reply = env.engine.ocsp("root", &req).unwrap();
    assert_eq!(statuses(&reply), [CertStatus::Good(der::asn1::Null)]);
    assert!(reply.nonce);
    assert_eq!(reply.counts.good, 1);
    let now = env.engine.now();
    assert_eq!(reply.produced_at, Some(now));
    assert_eq!(
        reply.next_update,
        Some(now.plus_secs(3600)),
        "default one hour"
    );
    let b = basic(&reply);
    assert_eq!(
        b.tbs_response_data.response_extensions.as_deref(),
        Some(std::slice::from_ref(&sent_nonce)),
        "the nonce is echoed"
    );
    assert!(b.certs.is_none(), "the CA signed: no certificate included");
    // responderID byKey: SHA-1 of the CA's subjectPublicKey bits.
    let key_hash = Sha1::digest(
        ca.certificate()
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    );
    assert_eq!(
        b.tbs_response_data.responder_id,
        ResponderId::ByKey(OctetString::new(key_hash.to_vec()).unwrap())
    );
    assert_eq!(b.signature_algorithm, *ca.key().signature_algorithm());
    let text = openssl_check(&env, "good", &reply.der, &req, &ca_pem);
    assert!(text.contains("Cert Status: good"), "{text}");
    let hex: String = key_hash.iter().map(|b| format!("{b:02X}")).collect();
    assert!(text.contains(&format!("Responder Id: {hex}")), "{text}");
    pkilint(&env, "good.der", &reply.der);

    env.clock.advance(60);
    env.engine
        .revoke(
            "root",
            &serial,
            RevocationReason::KeyCompromise,
            None,
            "test-admin",
        )
        .unwrap();
    let revoked_at = env.engine.now();
    let reply = env.engine.ocsp("root", &req).unwrap();
    let got = statuses(&reply);
    let [CertStatus::Revoked(info)] = got.as_slice() else {
        panic!("{reply:?}")
    };
    assert_eq!(info.revocation_reason, Some(CrlReason::KeyCompromise));
    assert_eq!(
        info.revocation_time.to_unix_duration().as_secs(),
        u64::try_from(revoked_at.secs()).unwrap()
    );
    assert_eq!(reply.counts.revoked, 1);
    let text = openssl_check(&env, "revoked", &reply.der, &req, &ca_pem);
    assert!(text.contains("Cert Status: revoked"), "{text}");
    assert!(
        text.contains("Revocation Reason: keyCompromise (0x1)"),
        "{text}"
    );
    pkilint(&env, "revoked.der", &reply.der);
}

#[test]
fn unspecified_revocations_carry_no_reason_and_holds_are_revoked() {
    let env = Env::new();
    let ca = env.create("root", KeySpec::P256, P256, None, 365);
    let (a, _) = issue_leaf(&env, "root", "a");
    let (b, _) = issue_leaf(&env, "root", "b");
    env.engine
        .revoke("root", &a, RevocationReason::Unspecified, None, "t")
        .unwrap();
    env.engine
        .revoke("root", &b, RevocationReason::CertificateHold, None, "t")
        .unwrap();
    let ids = [&a, &b]
        .map(|s| cert_id(&ca, &s.to_der_content(), ID_SHA_256))
        .to_vec();
    let reply = env
        .engine
        .ocsp("root", &request(ids.clone(), None))
        .unwrap();
    let got = statuses(&reply);
    let [CertStatus::Revoked(first), CertStatus::Revoked(second)] = got.as_slice() else {
        panic!("{got:?}")
    };
    assert_eq!(first.revocation_reason, None);
    assert_eq!(second.revocation_reason, Some(CrlReason::CertificateHold));
    // The CertIDs are echoed as asked.
    let echoed: Vec<_> = basic(&reply)
        .tbs_response_data
        .responses
        .into_iter()
        .map(|r| r.cert_id)
        .collect();
    assert_eq!(echoed, ids);
    assert!(!reply.nonce);
    assert!(
        basic(&reply)
            .tbs_response_data
            .response_extensions
            .is_none()
    );
    // A lifted hold is good again.
    env.engine.unrevoke("root", &b, "t").unwrap();
    let reply = env
        .engine
        .ocsp("root", &request(ids[1..].to_vec(), None))
        .unwrap();
    assert_eq!(statuses(&reply), [CertStatus::Good(der::asn1::Null)]);
}

#[test]
fn every_hash_algorithm_and_unknown_serials_and_issuers() {
    let env = Env::new();
    let root = env.create("root", KeySpec::P384, P384, None, 3650);
    let sub = env.create("issuing", KeySpec::P256, P256, Some("root"), 365);
    let (serial, _) = issue_leaf(&env, "issuing", "leaf");
    let content = serial.to_der_content();
    for hash in [ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512] {
        let reply = env
            .engine
            .ocsp(
                "issuing",
                &request(vec![cert_id(&sub, &content, hash)], None),
            )
            .unwrap();
        assert_eq!(
            statuses(&reply),
            [CertStatus::Good(der::asn1::Null)],
            "{hash}"
        );
    }
    let unknown = CertStatus::Unknown(der::asn1::Null);
    let ids = vec![
        // A serial this CA never issued.
        cert_id(&sub, &[0x42; 16], ID_SHA_256),
        // The leaf's serial, asked of its issuer's issuer under the right
        // hashes for that CA: the root never issued it.
        cert_id(&root, &content, ID_SHA_256),
        // The leaf asked with the root's hashes at the issuing CA.
        cert_id(&root, &content, ID_SHA_1),
        // A negative serial with the same magnitude bits.
        cert_id(&sub, &[0x80 | content[0]], ID_SHA_256),
    ];
    let reply = env
        .engine
        .ocsp("issuing", &request(ids.clone(), None))
        .unwrap();
    assert_eq!(statuses(&reply), vec![unknown.clone(); 4]);
    assert_eq!(reply.counts.unknown, 4);
    // The root knows its intermediate, which it issued.
    let sub_serial = sub.serial().unwrap().to_der_content();
    let reply = env
        .engine
        .ocsp(
            "root",
            &request(vec![cert_id(&root, &sub_serial, ID_SHA_1)], None),
        )
        .unwrap();
    assert_eq!(statuses(&reply), [CertStatus::Good(der::asn1::Null)]);
    // An unsupported hash algorithm matches nothing.
    let mut md5 = cert_id(&sub, &content, ID_SHA_1);
    md5.hash_algorithm.oid = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
    let reply = env
        .engine
        .ocsp("issuing", &request(vec![md5], None))
        .unwrap();
    assert_eq!(statuses(&reply), [unknown]);
}

#[test]
fn nonces_are_echoed_up_to_32_octets() {
    let env = Env::new();
    let ca = env.create("root", KeySpec::P256, P256, None, 365);
    let (serial, _) = issue_leaf(&env, "root", "leaf");
    let id = || vec![cert_id(&ca, &serial.to_der_content(), ID_SHA_1)];
    for len in [1, 16, 32] {
        let ext = nonce_extension(&vec![0xa5; len]);
        let reply = env
            .engine
            .ocsp("root", &request(id(), Some(vec![ext.clone()])))
            .unwrap();
        assert!(reply.nonce);
        assert_eq!(
            basic(&reply).tbs_response_data.response_extensions,
            Some(vec![ext])
        );
    }
    // RFC 8954: longer than 32 octets, or empty, is malformed.
    for len in [0, 33, 128] {
        let reply = env
            .engine
            .ocsp(
                "root",
                &request(id(), Some(vec![nonce_extension(&vec![1; len])])),
            )
            .unwrap();
        assert_malformed(&reply);
    }
    // A nonce that is not an OCTET STRING inside extnValue.
    let raw = Extension {
        extn_id: OcspNonce::OID,
        critical: false,
        extn_value: OctetString::new(vec![7u8; 16]).unwrap(),
    };
    assert_malformed(
        &env.engine
            .ocsp("root", &request(id(), Some(vec![raw])))
            .unwrap(),
    );
    // A critical nonce is understood, and echoed non-critical.
    let mut critical = nonce_extension(&[3; 8]);
    critical.critical = true;
    let reply = env
        .engine
        .ocsp("root", &request(id(), Some(vec![critical.clone()])))
        .unwrap();
    let echoed = basic(&reply).tbs_response_data.response_extensions.unwrap();
    assert_eq!(echoed[0].extn_value, critical.extn_value);
    assert!(!echoed[0].critical);
}

#[test]
fn malformed_requests_and_unknown_cas() {
    let env = Env::new();
    let ca = env.create("root", KeySpec::P256, P256, None, 365);
    let id = |n: u8| cert_id(&ca, &[0x40, n], ID_SHA_1);
    for body in [
        b"not DER at all".to_vec(),
        Vec::new(),
        // A CMC-ish SEQUENCE that is no OCSPRequest.
        vec![0x30, 0x03, 0x02, 0x01, 0x00],
        // No certificates asked about.
        request(Vec::new(), None),
        // More than 16.
        request((0..17).map(id).collect(), None),
        // An unknown critical extension.
        request(
            vec![id(1)],
            Some(vec![Extension {
                extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
                critical: true,
                extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
            }]),
        ),
        // Two nonces.
        request(
            vec![id(1)],
            Some(vec![nonce_extension(&[1; 8]), nonce_extension(&[2; 8])]),
        ),
    ] {
        assert_malformed(&env.engine.ocsp("root", &body).unwrap());
    }
    // A valid request followed by trailing bytes.
    let mut trailing = request(vec![id(1)], None);
    trailing.push(0);
    assert_malformed(&env.engine.ocsp("root", &trailing).unwrap());
    // 16 is allowed, an unknown non-critical extension ignored.
    let ok = request(
        (0..16).map(id).collect(),
        Some(vec![Extension {
            extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
            critical: false,
            extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
        }]),
    );
    let reply = env.engine.ocsp("root", &ok).unwrap();
    assert_eq!(reply.counts.unknown, 16);
    assert!(matches!(
        env.engine.ocsp("nope", &ok),
        Err(Error::UnknownCa(name)) if name == "nope"
    ));
}

#[test]
fn an_expired_ca_answers_internal_error_and_the_period_is_configurable() {
    let env = Env::new();
    let ca = env.create("root", KeySpec::P256, P256, None, 2);
    let body = request(vec![cert_id(&ca, &[0x40, 1], ID_SHA_1)], None);
    let config = EngineConfig {
        cas: BTreeMap::from([(
            "root".to_owned(),
            CaSettings {
                ocsp: Some(OcspSettings {
                    validity_minutes: 10,
                    ..OcspSettings::default()
                }),
                ..CaSettings::default()
            },
        )]),
        ..EngineConfig::default()
    };
    let engine = Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap();
    let reply = engine.ocsp("root", &body).unwrap();
    assert_eq!(
        reply.next_update.unwrap().secs() - reply.produced_at.unwrap().secs(),
        600
    );
    // Near the CA's end nextUpdate is cut at its notAfter.
    env.clock.advance(2 * 86_400 - 300);
    let reply = engine.ocsp("root", &body).unwrap();
    assert_eq!(reply.next_update, Some(ca.not_after()));
    env.clock.advance(600);
    let reply = engine.ocsp("root", &body).unwrap();
    assert_eq!(reply.status, OcspResponseStatus::InternalError);
    assert_eq!(reply.der, [0x30, 0x03, 0x0a, 0x01, 0x02]);
}

// ---------------------------------------------------------------- delegated

struct Delegated {
    env: Env,
    ca: Arc<LoadedCa>,
    key: KeyConfig,
    config: EngineConfig,
}

fn delegated(renew_hours: i64) -> Delegated {
    let env = Env::new();
    let ca = env.create("root", KeySpec::P384, P384, None, 365);
    let (key, _) = env
        .file_key("ocsp-responder", P256)
        .generate(KeySpec::P256)
        .unwrap();
    let config = EngineConfig {
        cas: BTreeMap::from([(
            "root".to_owned(),
            CaSettings {
                ocsp: Some(OcspSettings {
                    key: Some(key.clone()),
                    responder_subject: Some("CN=root OCSP responder,O=cmc-ca tests".into()),
                    responder_validity_hours: 7 * 24,
                    responder_renew_hours: renew_hours,
                    ..OcspSettings::default()
                }),
                ..CaSettings::default()
            },
        )]),
        ..EngineConfig::default()
    };
    Delegated {
        env,
        ca,
        key,
        config,
    }
}

impl Delegated {
    fn engine(&self) -> Engine {
        Engine::load(
            Arc::clone(&self.env.store),
            Arc::new(self.env.clock.clone()),
            self.config.clone(),
        )
        .unwrap()
    }
}

fn responder_issued_events(env: &Env) -> usize {
    env.store
        .list_audit(
            &AuditFilter {
                kind: Some(AuditKind::Issued),
                ..AuditFilter::default()
            },
            PageRequest::first(100),
        )
        .unwrap()
        .items
        .iter()
        .filter(|r| r.event.profile.as_deref() == Some(OCSP_RESPONDER_PROFILE))
        .count()
}

#[test]
fn a_delegated_responder_signs_with_its_own_certificate() {
    let d = delegated(48);
    let engine = d.engine();
    let env = &d.env;
    let ca_pem = env.write_cert("root.pem", d.ca.certificate_der());
    let serial = {
        // Issue through this engine (same store).
        let subject = "CN=leaf,O=cmc-ca tests";
        let (_, cred) = common::credential(&engine, "root", "leaf", subject, ClientRole::Client);
        cred.serial
    };
    assert_eq!(responder_issued_events(env), 0, "issued on first use");
    let body = request(
        vec![cert_id(&d.ca, &serial.to_der_content(), ID_SHA_1)],
        None,
    );
    let reply = engine.ocsp("root", &body).unwrap();
    let b = basic(&reply);
    let certs = b
        .certs
        .clone()
        .expect("the responder certificate is included");
    assert_eq!(certs.len(), 1);
    let responder = &certs[0];
    let tbs = responder.tbs_certificate();
    assert_eq!(
        tbs.subject().to_string(),
        "CN=root OCSP responder,O=cmc-ca tests"
    );
    assert_eq!(tbs.issuer(), d.ca.subject());
    let key = d.key.open().unwrap();
    assert_eq!(tbs.subject_public_key_info(), key.public_key());
    let (_, eku) = tbs.get_extension::<ExtendedKeyUsage>().unwrap().unwrap();
    assert_eq!(eku.0, [ID_KP_OCSP_SIGNING]);
    assert!(
        tbs.extensions()
            .unwrap()
            .iter()
            .any(|e| e.extn_id == cmc_asn1::ocsp::OcspNoCheck::OID && !e.critical)
    );
    // 7 days; the minute of backdating is cut at the CA's notBefore, which
    // is now (the CA was just made).
    let lifetime = tbs.validity().not_after.to_unix_duration().as_secs()
        - tbs.validity().not_before.to_unix_duration().as_secs();
    assert_eq!(lifetime, 7 * 86_400);
    assert_eq!(
        b.tbs_response_data.responder_id,
        ResponderId::ByKey(
            OctetString::new(
                Sha1::digest(key.public_key().subject_public_key.raw_bytes()).to_vec()
            )
            .unwrap()
        )
    );
    assert_eq!(b.signature_algorithm, *key.signature_algorithm());
    assert_eq!(responder_issued_events(env), 1);
    // OpenSSL accepts the delegation: CA → responder (OCSPSigning) → response.
    let text = openssl_check(env, "delegated", &reply.der, &body, &ca_pem);
    assert!(text.contains("Cert Status: good"), "{text}");
    let responder_pem = env.write_cert("responder.pem", &responder.to_der().unwrap());
    let text = openssl(&["x509", "-in", p(&responder_pem), "-noout", "-text"]);
    assert!(text.contains("OCSP No Check"), "{text}");
    assert!(text.contains("OCSP Signing"), "{text}");
    pkilint(env, "delegated.der", &reply.der);
    // The responder certificate itself passes pkilint's RFC 5280 lint.
    if pkilint_available("delegated responder certificate") {
        pkilint_clean("lint_pkix_cert", &[], &responder_pem);
    }
    // nextUpdate stays inside the responder certificate's life.
    assert!(
        reply.next_update.unwrap().secs()
            <= i64::try_from(tbs.validity().not_after.to_unix_duration().as_secs()).unwrap()
    );

    // The same certificate serves the next request, and a restarted engine
    // takes it up from the store.
    let again = basic(&engine.ocsp("root", &body).unwrap()).certs.unwrap();
    assert_eq!(again, certs);
    let restarted = d.engine();
    assert_eq!(
        restarted
            .ocsp_responder_certificate("root")
            .unwrap()
            .unwrap(),
        responder.to_der().unwrap()
    );
    assert_eq!(responder_issued_events(env), 1);
}

#[test]
fn the_delegated_certificate_is_renewed_within_the_margin() {
    let d = delegated(48);
    let engine = d.engine();
    let first = engine.ocsp_responder_certificate("root").unwrap().unwrap();
    let serial_of = |der: &[u8]| {
        Certificate::from_der(der)
            .unwrap()
            .tbs_certificate()
            .serial_number()
            .clone()
    };
    // Five days on: more than the 48-hour margin is left.
    d.env.clock.advance(5 * 86_400 - 3600);
    assert_eq!(
        engine.ocsp_responder_certificate("root").unwrap().unwrap(),
        first
    );
    // Past 5 days: within the margin, a new one.
    d.env.clock.advance(2 * 3600);
    let second = engine.ocsp_responder_certificate("root").unwrap().unwrap();
    assert_ne!(serial_of(&second), serial_of(&first));
    // Starting a minute before now, for clients whose clock is behind.
    let validity = *Certificate::from_der(&second)
        .unwrap()
        .tbs_certificate()
        .validity();
    assert_eq!(
        validity.not_before.to_unix_duration().as_secs(),
        u64::try_from(d.env.engine.now().secs() - 60).unwrap()
    );
    assert_eq!(
        validity.not_after.to_unix_duration().as_secs()
            - validity.not_before.to_unix_duration().as_secs(),
        7 * 86_400 + 60
    );
    assert_eq!(responder_issued_events(&d.env), 2);
    // Another engine on the same store (a second node, or a restart) uses
    // the newest one rather than issuing a third.
    let other = d.engine();
    assert_eq!(
        other.ocsp_responder_certificate("root").unwrap().unwrap(),
        second
    );
    assert_eq!(responder_issued_events(&d.env), 2);
}

#[test]
fn a_revoked_delegated_certificate_is_not_used_and_not_renewed_for_the_key() {
    let d = delegated(48);
    let engine = d.engine();
    let first = Certificate::from_der(&engine.ocsp_responder_certificate("root").unwrap().unwrap())
        .unwrap();
    let serial = Serial::from_be_bytes(first.tbs_certificate().serial_number().as_bytes()).unwrap();
    engine
        .revoke(
            "root",
            &serial,
            RevocationReason::KeyCompromise,
            None,
            "test-admin",
        )
        .unwrap();
    let err = engine.ocsp_responder_certificate("root").unwrap_err();
    assert!(err.to_string().contains("configure a new key"), "{err}");
    // Responses are still answered, signed by the CA key.
    let body = request(
        vec![cert_id(&d.ca, &serial.to_der_content(), ID_SHA_1)],
        None,
    );
    let reply = engine.ocsp("root", &body).unwrap();
    let b = basic(&reply);
    assert!(b.certs.is_none());
    assert_eq!(b.signature_algorithm, *d.ca.key().signature_algorithm());
    assert!(matches!(
        b.tbs_response_data.responses[0].cert_status,
        CertStatus::Revoked(_)
    ));
}

#[test]
fn delegated_settings_are_checked_at_load() {
    let d = delegated(48);
    // A section for a CA that does not exist.
    let mut config = d.config.clone();
    let settings = config.cas.remove("root").unwrap();
    config.cas.insert("nope".into(), settings.clone());
    let err = Engine::load(
        Arc::clone(&d.env.store),
        Arc::new(d.env.clock.clone()),
        config,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("ca.nope.ocsp")),
        "{err}"
    );
    // The CA's own key.
    let mut config = d.config.clone();
    let mut own = settings.clone();
    own.ocsp.as_mut().unwrap().key = Some(d.ca.key_config().clone());
    config.cas.insert("root".into(), own);
    let err = Engine::load(
        Arc::clone(&d.env.store),
        Arc::new(d.env.clock.clone()),
        config,
    )
    .unwrap_err();
    assert!(err.to_string().contains("the CA's own key"), "{err}");
    // A key file that is not there refuses to start, naming the CA.
    let mut config = d.config.clone();
    let mut missing = settings;
    missing.ocsp.as_mut().unwrap().key = Some(d.env.file_key("missing", P256));
    config.cas.insert("root".into(), missing);
    let err = Engine::load(
        Arc::clone(&d.env.store),
        Arc::new(d.env.clock.clone()),
        config,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::CaLoad { ca, .. } if ca == "root"),
        "{err}"
    );
}
