//! The EST door over a real engine (SQLite store, file-key CA), without
//! HTTP: every operation, both ways of authenticating, approval with 202
//! and the repeated POST, re-enrollment by the holder, fullcmc through the
//! CMC door, serverkeygen where the profile allows it, and the bad input
//! that must get a 4xx and change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../cmc-ca/tests/common/mod.rs"]
mod common;

use std::str::FromStr;
use std::sync::Arc;

use cmc_ca::{Clock, Engine, EngineConfig, EnrollSecret};
use cmc_codec::identity::ProofHash;
use cmc_codec::{CmsSigner, RequestBuilder, build_csr};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_policy::ProfileSet;
use cmc_store::ClientRole;
use common::Env;
use der::{Decode, Encode};
use proto_est::{EstFrontDoor, EstRequest, Limits, Operation, Reply, base64_lines};
use x509_cert::Certificate;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
const SECRET: &str = "a long one-time enrollment secret";

fn engine(env: &Env, profiles: &str) -> Engine {
    Engine::load(
        Arc::clone(&env.store),
        Arc::new(env.clock.clone()),
        EngineConfig {
            profiles: ProfileSet::from_toml(profiles).unwrap(),
            ..EngineConfig::default()
        },
    )
    .unwrap()
}

fn setup(profiles: &str) -> (Env, Engine) {
    let env = Env::new();
    env.create("ca", KeySpec::P256, P256, None, 365);
    let engine = engine(&env, profiles);
    (env, engine)
}

fn request(operation: Operation, body: &[u8]) -> EstRequest<'_> {
    EstRequest {
        operation,
        ca: "ca",
        content_type: Some(match operation {
            Operation::FullCmc => "application/pkcs7-mime; smime-type=CMC-request",
            _ => "application/pkcs10",
        }),
        authorization: None,
        body,
        tls: true,
        tls_client_cert: None,
        channel_binding: None,
        require_channel_binding: false,
        peer: Some("192.0.2.7"),
        limits: Limits::default(),
    }
}

/// A base64 PKCS #10 body for `subject` signed by `key`.
fn csr_body(key: &FileKey, subject: &str) -> Vec<u8> {
    let csr = build_csr(key, Name::from_str(subject).unwrap(), vec![]).unwrap();
    base64_lines(&csr.to_der().unwrap())
}

fn basic(id: &str, secret: &str) -> String {
    use base64ct::Encoding;
    format!(
        "Basic {}",
        base64ct::Base64::encode_string(format!("{id}:{secret}").as_bytes())
    )
}

fn add_secret(env: &Env, engine: &Engine, id: &str) {
    engine
        .add_enroll_secret(&EnrollSecret {
            ca: "ca".into(),
            identification: id.into(),
            secret: SECRET.to_owned().into(),
            hash: ProofHash::Sha256,
            profile: None,
            expires_at: env.clock.now().plus_secs(3600),
            requester: "test-admin".into(),
            names: None,
        })
        .unwrap();
}

/// The certificates of a base64 certs-only reply.
fn certs(reply: &Reply) -> Vec<Certificate> {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let text: String = String::from_utf8(reply.body.clone())
        .unwrap()
        .split_whitespace()
        .collect();
    use base64ct::Encoding;
    let der = base64ct::Base64::decode_vec(&text).unwrap();
    let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let sd = ci
        .content
        .decode_as::<cms::signed_data::SignedData>()
        .unwrap();
    sd.certificates
        .unwrap()
        .0
        .into_vec()
        .into_iter()
        .map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => c,
            other => panic!("not a certificate: {other:?}"),
        })
        .collect()
}

/// A profile set whose default holds every request for approval.
const HELD: &str = "default_profile = \"held\"\n[profile.held]\nrequire_approval = true\n";

/// The requests held in `env`'s store.
fn held(env: &Env) -> Vec<cmc_store::PendingRecord> {
    env.store
        .list_pending(
            &cmc_store::PendingFilter::default(),
            cmc_store::PageRequest::first(10),
        )
        .unwrap()
        .items
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

#[test]
fn cacerts_and_csrattrs_need_no_credentials() {
    let (_env, engine) = setup("");
    let reply = engine.handle_est(&request(Operation::CaCerts, b""));
    let chain = certs(&reply);
    assert_eq!(chain.len(), 1);
    assert_eq!(&chain[0], engine.ca("ca").unwrap().certificate());
    assert_eq!(
        reply.header("Content-Type"),
        Some("application/pkcs7-mime; smime-type=certs-only")
    );
    let reply = engine.handle_est(&request(Operation::CsrAttrs, b""));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("application/csrattrs"));
}

#[test]
fn simpleenroll_with_a_client_certificate_and_with_a_secret() {
    let (env, engine) = setup("");
    let (_, cred) = common::credential(&engine, "ca", "ra1", "CN=RA One", ClientRole::Ra);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-1.example.com");
    let mut req = request(Operation::SimpleEnroll, &body);
    req.tls_client_cert = Some(&cred.certificate_der);
    let issued = certs(&engine.handle_est(&req));
    assert_eq!(
        issued.len(),
        1,
        "only the issued certificate (RFC 7030 §4.2.3)"
    );
    assert_eq!(
        issued[0].tbs_certificate().subject().to_string(),
        "CN=device-1.example.com"
    );

    add_secret(&env, &engine, "device-2");
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-2");
    let auth = basic("device-2", SECRET);
    let mut req = request(Operation::SimpleEnroll, &body);
    req.authorization = Some(&auth);
    let issued = certs(&engine.handle_est(&req));
    assert_eq!(
        issued[0].tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
    // The secret is spent: a second certificate is refused.
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-2");
    let mut again = request(Operation::SimpleEnroll, &body);
    again.authorization = Some(&auth);
    let reply = engine.handle_est(&again);
    assert_eq!(reply.status, 403, "{}", text(&reply));
}

#[test]
fn missing_or_wrong_credentials_are_401_and_count() {
    let (env, engine) = setup("");
    add_secret(&env, &engine, "device-3");
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-3");
    let reply = engine.handle_est(&request(Operation::SimpleEnroll, &body));
    assert_eq!(reply.status, 401);
    assert!(
        reply
            .header("WWW-Authenticate")
            .unwrap()
            .starts_with("Basic")
    );

    let wrong = basic("device-3", "not the secret, but long enough");
    let mut req = request(Operation::SimpleEnroll, &body);
    req.authorization = Some(&wrong);
    assert_eq!(engine.handle_est(&req).status, 401);
    let unknown = basic("nobody", SECRET);
    req.authorization = Some(&unknown);
    assert_eq!(engine.handle_est(&req).status, 401);
    let record = env.store.get_secret("ca", "device-3").unwrap().unwrap();
    assert_eq!(record.failed_attempts, 1);
    assert!(record.used_at.is_none());
}

#[test]
fn basic_is_refused_in_clear_without_touching_the_secret() {
    let (env, engine) = setup("");
    add_secret(&env, &engine, "device-8");
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-8");
    let right = basic("device-8", SECRET);
    let wrong = basic("device-8", "not the secret, but long enough");
    for authorization in [Some(right.as_str()), Some(wrong.as_str()), None] {
        let mut req = request(Operation::SimpleEnroll, &body);
        req.tls = false;
        req.authorization = authorization;
        let reply = engine.handle_est(&req);
        assert_eq!(reply.status, 403, "{}", text(&reply));
        assert!(reply.header("WWW-Authenticate").is_none());
    }
    let record = env.store.get_secret("ca", "device-8").unwrap().unwrap();
    assert_eq!(record.failed_attempts, 0);
    assert!(record.used_at.is_none());
}

#[test]
fn held_requests_answer_202_until_approved() {
    let (env, engine) = setup(HELD);
    add_secret(&env, &engine, "device-4");
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-4");
    let auth = basic("device-4", SECRET);
    let mut req = request(Operation::SimpleEnroll, &body);
    req.authorization = Some(&auth);
    let reply = engine.handle_est(&req);
    assert_eq!(reply.status, 202, "{}", text(&reply));
    let retry: u64 = reply.header("Retry-After").unwrap().parse().unwrap();
    assert!(retry >= 1);
    // Asking again while it waits: still 202, and no second record.
    assert_eq!(engine.handle_est(&req).status, 202);
    let pending = held(&env);
    assert_eq!(pending.len(), 1);
    engine
        .approve_pending(&pending[0].id, "agent", &cmc_ca::Approval::default())
        .unwrap();
    // The approval spent the secret; the same POST fetches the certificate.
    let issued = certs(&engine.handle_est(&req));
    assert_eq!(
        issued[0].tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
}

#[test]
fn simplereenroll_renews_the_presented_certificate_only() {
    let (_env, engine) = setup("");
    let (_, cred) = common::credential(&engine, "ca", "ra1", "CN=RA One", ClientRole::Ra);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=renew-me");
    let mut req = request(Operation::SimpleEnroll, &body);
    req.tls_client_cert = Some(&cred.certificate_der);
    let old = certs(&engine.handle_est(&req)).remove(0);
    let old_der = old.to_der().unwrap();

    let new_key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&new_key, "CN=renew-me");
    let mut renew = request(Operation::SimpleReenroll, &body);
    renew.tls_client_cert = Some(&old_der);
    let renewed = certs(&engine.handle_est(&renew)).remove(0);
    assert_eq!(
        renewed.tbs_certificate().subject(),
        old.tbs_certificate().subject()
    );

    // Another subject is not a renewal of this certificate.
    let body = csr_body(&new_key, "CN=someone-else");
    let mut other = request(Operation::SimpleReenroll, &body);
    other.tls_client_cert = Some(&old_der);
    let reply = engine.handle_est(&other);
    assert_eq!(reply.status, 403, "{}", text(&reply));
    // Without a certificate, re-enrollment is not possible.
    let reply = engine.handle_est(&request(Operation::SimpleReenroll, &body));
    assert_eq!(reply.status, 401);
}

#[test]
fn fullcmc_is_the_cmc_door() {
    let (env, engine) = setup("");
    let (key, cred) = common::credential(&engine, "ca", "ra1", "CN=RA One", ClientRole::Ra);
    let cert = Certificate::from_der(&cred.certificate_der).unwrap();
    let subject_key = FileKey::generate(KeySpec::P256).unwrap();
    let csr = build_csr(
        &subject_key,
        Name::from_str("CN=cmc-via-est").unwrap(),
        vec![],
    )
    .unwrap();
    let mut builder = RequestBuilder::new();
    builder.pkcs10(1, csr).unwrap();
    let signer = CmsSigner::new(&key, &cert, &[]).unwrap();
    let der = builder
        .sign(&signer, env.clock.now().to_system_time())
        .unwrap();
    let body = base64_lines(&der);
    let mut req = request(Operation::FullCmc, &body);
    req.tls_client_cert = Some(&cred.certificate_der);
    let reply = engine.handle_est(&req);
    assert_eq!(reply.status, 200, "{}", text(&reply));
    assert_eq!(
        reply.header("Content-Type"),
        Some("application/pkcs7-mime; smime-type=CMC-response")
    );
    // Not CMS at all: 400, not 500.
    let mut bad = request(Operation::FullCmc, b"bm90IENNUw==\n");
    bad.tls_client_cert = Some(&cred.certificate_der);
    assert_eq!(engine.handle_est(&bad).status, 400);
}

#[test]
fn serverkeygen_only_where_the_profile_allows_it() {
    let (env, engine) = setup("");
    add_secret(&env, &engine, "device-5");
    let throwaway = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&throwaway, "CN=device-5");
    let auth = basic("device-5", SECRET);
    let mut req = request(Operation::ServerKeyGen, &body);
    req.authorization = Some(&auth);
    let reply = engine.handle_est(&req);
    assert_eq!(reply.status, 501, "{}", text(&reply));
    // The refusal did not spend the secret.
    assert!(
        env.store
            .get_secret("ca", "device-5")
            .unwrap()
            .unwrap()
            .used_at
            .is_none()
    );

    let (env, engine) =
        setup("default_profile = \"keygen\"\n[profile.keygen]\nserver_key_generation = true\n");
    add_secret(&env, &engine, "device-6");
    let auth = basic("device-6", SECRET);
    let mut req = request(Operation::ServerKeyGen, &body);
    req.authorization = Some(&auth);
    let reply = engine.handle_est(&req);
    assert_eq!(reply.status, 200, "{}", text(&reply));
    assert!(
        reply
            .header("Content-Type")
            .unwrap()
            .starts_with("multipart/mixed")
    );
    // Never over plain HTTP.
    req.tls = false;
    assert_eq!(engine.handle_est(&req).status, 403);
}

#[test]
fn bad_input_is_a_4xx_and_changes_nothing() {
    let (env, engine) = setup("");
    add_secret(&env, &engine, "device-7");
    let auth = basic("device-7", SECRET);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-7");
    for (content_type, body, status) in [
        (Some("text/plain"), body.as_slice(), 415),
        (
            Some("application/pkcs10"),
            b"%%% not base64 %%%".as_slice(),
            400,
        ),
        (Some("application/pkcs10"), b"AAAA".as_slice(), 400),
    ] {
        let mut req = request(Operation::SimpleEnroll, body);
        req.content_type = content_type;
        req.authorization = Some(&auth);
        let reply = engine.handle_est(&req);
        assert_eq!(reply.status, status, "{}", text(&reply));
    }
    // Larger than the door takes: 413 before anything is decoded.
    let huge = vec![b'A'; 4096];
    let mut req = request(Operation::SimpleEnroll, &huge);
    req.authorization = Some(&auth);
    req.limits = Limits { max_body: 1024 };
    let reply = engine.handle_est(&req);
    assert_eq!(reply.status, 413, "{}", text(&reply));
    let record = env.store.get_secret("ca", "device-7").unwrap().unwrap();
    assert!(record.used_at.is_none());
    assert_eq!(record.failed_attempts, 0);
}

#[test]
fn a_held_request_answers_only_its_requester() {
    let (env, engine) = setup(HELD);
    add_secret(&env, &engine, "device-8");
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-8");
    let auth = basic("device-8", SECRET);
    let mut owner = request(Operation::SimpleEnroll, &body);
    owner.authorization = Some(&auth);
    assert_eq!(engine.handle_est(&owner).status, 202);
    let held = held(&env);
    engine
        .approve_pending(&held[0].id, "agent", &cmc_ca::Approval::default())
        .unwrap();
    // Someone else sending the very same CSR does not get the owner's
    // certificate: it is a request of its own, held in turn.
    let (_, other) = common::credential(&engine, "ca", "ra9", "CN=RA Nine", ClientRole::Ra);
    let mut thief = request(Operation::SimpleEnroll, &body);
    thief.tls_client_cert = Some(&other.certificate_der);
    let reply = engine.handle_est(&thief);
    assert_eq!(reply.status, 202, "{}", text(&reply));
    // The owner still gets it.
    let issued = certs(&engine.handle_est(&owner));
    assert_eq!(
        issued[0].tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
}

/// EST has no acceptance message: under a profile that requires acceptance, delivery
/// (directly or after approval) is the acceptance; under other profiles nothing is recorded.
#[test]
fn delivery_is_acceptance_where_the_profile_requires_it() {
    let serial_of = |cert: &Certificate| {
        cmc_store::Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes()).unwrap()
    };
    for (profiles, required) in [
        (
            "default_profile = \"d\"\n[profile.d]\nrequire_acceptance = true\n",
            true,
        ),
        ("", false),
    ] {
        let (env, engine) = setup(profiles);
        let (_, cred) = common::credential(&engine, "ca", "ra1", "CN=RA One", ClientRole::Ra);
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let body = csr_body(&key, "CN=accept.example.com");
        let mut req = request(Operation::SimpleEnroll, &body);
        req.tls_client_cert = Some(&cred.certificate_der);
        let issued = certs(&engine.handle_est(&req));
        let at = env.store.accepted_at("ca", &serial_of(&issued[0])).unwrap();
        assert_eq!(at, required.then(|| engine.now()), "{profiles}");
    }

    // Held, approved, then fetched: accepted when fetched.
    let (env, engine) = setup(&format!("{HELD}require_acceptance = true\n"));
    add_secret(&env, &engine, "device-9");
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let body = csr_body(&key, "CN=device-9");
    let auth = basic("device-9", SECRET);
    let mut req = request(Operation::SimpleEnroll, &body);
    req.authorization = Some(&auth);
    assert_eq!(engine.handle_est(&req).status, 202);
    let pending = held(&env);
    engine
        .approve_pending(&pending[0].id, "agent", &cmc_ca::Approval::default())
        .unwrap();
    let issued = certs(&engine.handle_est(&req));
    let serial = serial_of(&issued[0]);
    assert_eq!(
        env.store.accepted_at("ca", &serial).unwrap(),
        Some(engine.now())
    );
}
