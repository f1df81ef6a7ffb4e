//! Encrypted and decrypted POP (RFC 5272 §6.7) for an RSA key that does
//! not sign: round 1 answers popRequired with an encryptedPOP whose
//! EnvelopedData OpenSSL opens with the requested key; round 2 issues
//! only for the right decryptedPOP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proto_cmc::{CmcFrontDoor, CmcReply, Transport};
use std::str::FromStr;

use cmc_asn1::{
    CertReqMsg, CertTemplate, CmcFailInfo, CmcStatus, DecryptedPop, EncryptedPop, SenderNonce,
    TaggedRequest,
};
use cmc_ca::Clock;
use cmc_codec::envelope::{open_challenge, the_pop};
use cmc_codec::identity::ProofHash;
use cmc_codec::{CmsSigner, RequestBuilder, build_crmf_for_decryption};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme, SigningKey};
use cmc_store::{CertFilter, ClientRole, PageRequest};
use common::{Env, ids, openssl, p, single_failure, statuses, verify};
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::name::Name;

const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

struct Setup {
    env: Env,
    ca: std::sync::Arc<cmc_ca::LoadedCa>,
    signer: (FileKey, Certificate),
}

fn setup() -> Setup {
    let env = Env::new();
    let ca = env.create("ca", KeySpec::P256, P256, None, 365);
    let (key, cred) = common::credential(&env.engine, "ca", "ee", "CN=ee", ClientRole::Client);
    let cert = Certificate::from_der(&cred.certificate_der).unwrap();
    Setup {
        env,
        ca,
        signer: (key, cert),
    }
}

impl Setup {
    fn send(&self, request: &CertReqMsg, answer: Option<DecryptedPop>) -> CmcReply {
        self.send_with(
            |b| {
                b.crmf(request.clone()).unwrap();
            },
            answer,
        )
    }

    /// A request with a fresh senderNonce (1), what `add` puts in, and the
    /// decryptedPOP (2) if any, signed by the client.
    fn send_with(
        &self,
        add: impl FnOnce(&mut RequestBuilder),
        answer: Option<DecryptedPop>,
    ) -> CmcReply {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).unwrap();
        let mut b = RequestBuilder::new();
        b.control(1, &SenderNonce(OctetString::new(nonce).unwrap()))
            .unwrap();
        add(&mut b);
        if let Some(answer) = answer {
            b.control(2, &answer).unwrap();
        }
        let der = b
            .sign(
                &CmsSigner::new(&self.signer.0, &self.signer.1, &[]).unwrap(),
                self.env.clock.now().to_system_time(),
            )
            .unwrap();
        self.env
            .engine
            .handle_full("ca", &der, &Transport::default())
            .unwrap()
    }

    fn issued(&self) -> usize {
        self.env
            .store
            .list_certs(&CertFilter::default(), PageRequest::first(100))
            .unwrap()
            .items
            .into_iter()
            .filter(|r| r.profile != cmc_ca::CLIENT_CREDENTIAL_PROFILE)
            .count()
    }
}

fn encryption_request(key: &FileKey) -> CertReqMsg {
    build_crmf_for_decryption(
        key.public_key(),
        7,
        CertTemplate {
            subject: Some(Name::from_str("CN=decrypt.example.test").unwrap()),
            ..CertTemplate::default()
        },
    )
    .unwrap()
}

#[test]
fn an_rsa_encryption_key_proves_possession_in_two_rounds() {
    let s = setup();
    let key = FileKey::generate(KeySpec::Rsa2048).unwrap();
    let request = encryption_request(&key);

    // Round 1: popRequired (status and failInfo) for body part 7, and the
    // challenge.
    let reply = s.send(&request, None);
    let resp = verify(&reply, &s.ca, s.env.clock.now());
    let st = statuses(&resp);
    assert_eq!(st.len(), 1, "{st:?}");
    assert_eq!(
        (st[0].status, st[0].fail_info, ids(&st[0].body_list)),
        (
            CmcStatus::PopRequired,
            Some(CmcFailInfo::PopRequired),
            vec![7]
        )
    );
    assert_eq!(s.issued(), 0);
    let (_, challenge) = resp
        .pki_response
        .unique_control::<EncryptedPop>()
        .unwrap()
        .expect("encryptedPOP");
    assert_eq!(
        challenge.request,
        TaggedRequest::Crm(Box::new(request.clone()))
    );
    assert_eq!(
        ProofHash::from_hmac_oid(&challenge.the_pop_alg_id.oid),
        Some(ProofHash::Sha256)
    );

    // OpenSSL opens the EnvelopedData with the requested key, and gets the
    // challenge whose SHA-256 is the witness.
    let env_file = s
        .env
        .write_der("challenge.der", &challenge.cms.to_der().unwrap());
    let key_file = s.env.path("rsa.key");
    key.store_unencrypted(&key_file).unwrap();
    let plain = s.env.path("challenge.bin");
    openssl(&[
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        p(&env_file),
        "-inkey",
        p(&key_file),
        "-out",
        p(&plain),
    ]);
    let by_openssl = std::fs::read(&plain).unwrap();
    let opened = open_challenge(
        &challenge.cms,
        7,
        &key,
        &challenge.witness_alg_id,
        challenge.witness.as_bytes(),
    )
    .unwrap();
    assert_eq!(by_openssl, opened.as_slice());

    // Round 2 with a wrong answer: popFailed, nothing issued.
    let request_der = request.to_der().unwrap();
    let wrong = DecryptedPop {
        body_part_id: 7,
        the_pop_alg_id: challenge.the_pop_alg_id.clone(),
        the_pop: OctetString::new(the_pop(b"not the challenge", &request_der).unwrap()).unwrap(),
    };
    let reply = s.send(&request, Some(wrong));
    let resp = verify(&reply, &s.ca, s.env.clock.now());
    assert_eq!(single_failure(&resp), (CmcFailInfo::PopFailed, vec![7]));
    assert_eq!(s.issued(), 0);

    // Round 2 with thePOP = HMAC-SHA256(challenge, request): issued.
    let right = DecryptedPop {
        body_part_id: 7,
        the_pop_alg_id: challenge.the_pop_alg_id.clone(),
        the_pop: OctetString::new(the_pop(&opened, &request_der).unwrap()).unwrap(),
    };
    let reply = s.send(&request, Some(right));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    let resp = verify(&reply, &s.ca, s.env.clock.now());
    let certs = resp.issued_by(s.ca.certificate());
    assert_eq!(certs.len(), 1);
    assert_eq!(
        certs[0].tbs_certificate().subject_public_key_info(),
        key.public_key()
    );
    assert_eq!(s.issued(), 1);
}

#[test]
fn a_challenge_is_bound_to_its_request() {
    let s = setup();
    let key = FileKey::generate(KeySpec::Rsa2048).unwrap();
    let request = encryption_request(&key);
    let reply = s.send(&request, None);
    let resp = verify(&reply, &s.ca, s.env.clock.now());
    let (_, challenge) = resp
        .pki_response
        .unique_control::<EncryptedPop>()
        .unwrap()
        .unwrap();
    let opened = open_challenge(
        &challenge.cms,
        7,
        &key,
        &challenge.witness_alg_id,
        challenge.witness.as_bytes(),
    )
    .unwrap();
    // The right challenge, but the answer for another subject: popFailed.
    let mut other = request.clone();
    other.cert_req.cert_template.subject = Some(Name::from_str("CN=someone-else").unwrap());
    let answer = DecryptedPop {
        body_part_id: 7,
        the_pop_alg_id: challenge.the_pop_alg_id.clone(),
        the_pop: OctetString::new(the_pop(&opened, &request.to_der().unwrap()).unwrap()).unwrap(),
    };
    let reply = s.send(&other, Some(answer));
    let resp = verify(&reply, &s.ca, s.env.clock.now());
    assert_eq!(single_failure(&resp), (CmcFailInfo::PopFailed, vec![7]));
    assert_eq!(s.issued(), 0);
}

#[test]
fn an_ec_key_agreement_key_proves_possession_in_two_rounds() {
    let s = setup();
    for spec in [KeySpec::P256, KeySpec::P384] {
        let key = FileKey::generate(spec).unwrap();
        let request = encryption_request(&key);
        let resp = verify(&s.send(&request, None), &s.ca, s.env.clock.now());
        let (_, challenge) = resp
            .pki_response
            .unique_control::<EncryptedPop>()
            .unwrap()
            .expect("encryptedPOP");
        // OpenSSL opens the KeyAgreeRecipientInfo with the EC key.
        let env_file = s
            .env
            .write_der("kari.der", &challenge.cms.to_der().unwrap());
        let key_file = s.env.path("ec.key");
        let _ = std::fs::remove_file(&key_file);
        key.store_unencrypted(&key_file).unwrap();
        let plain = s.env.path("kari.bin");
        openssl(&[
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            p(&env_file),
            "-inkey",
            p(&key_file),
            "-out",
            p(&plain),
        ]);
        let opened = open_challenge(
            &challenge.cms,
            7,
            &key,
            &challenge.witness_alg_id,
            challenge.witness.as_bytes(),
        )
        .unwrap();
        assert_eq!(std::fs::read(&plain).unwrap(), opened.as_slice());
        let answer = DecryptedPop {
            body_part_id: 7,
            the_pop_alg_id: challenge.the_pop_alg_id.clone(),
            the_pop: OctetString::new(the_pop(&opened, &request.to_der().unwrap()).unwrap())
                .unwrap(),
        };
        let reply = s.send(&request, Some(answer));
        assert!(reply.all_succeeded(), "{spec:?}: {:?}", reply.statuses);
    }
    assert_eq!(s.issued(), 2);
}

#[test]
fn a_p521_key_without_a_signature_is_no_support() {
    let s = setup();
    let key = FileKey::generate(KeySpec::P521).unwrap();
    let reply = s.send(&encryption_request(&key), None);
    let resp = verify(&reply, &s.ca, s.env.clock.now());
    let st = statuses(&resp);
    assert_eq!(
        (st[0].status, ids(&st[0].body_list)),
        (CmcStatus::NoSupport, vec![7])
    );
    assert_eq!(s.issued(), 0);
}

#[test]
fn a_pkcs10_request_with_no_signature_proves_possession_in_two_rounds() {
    let s = setup();
    let key = FileKey::generate(KeySpec::Rsa2048).unwrap();
    // id-alg-noSignature (RFC 5272 §3.2.1.2.1): the key does not sign.
    let mut csr = cmc_codec::build_csr(
        &key,
        Name::from_str("CN=nosig.example.test").unwrap(),
        Vec::new(),
    )
    .unwrap();
    csr.algorithm = spki::AlgorithmIdentifierOwned {
        oid: cmc_asn1::oid::ID_ALG_NO_SIGNATURE,
        parameters: None,
    };
    csr.signature = der::asn1::BitString::from_bytes(&[]).unwrap();
    let send = |answer: Option<DecryptedPop>| {
        s.send_with(
            |b| {
                b.pkcs10(5, csr.clone()).unwrap();
            },
            answer,
        )
    };
    let resp = verify(&send(None), &s.ca, s.env.clock.now());
    let st = statuses(&resp);
    assert_eq!(
        (st[0].status, st[0].fail_info, ids(&st[0].body_list)),
        (
            CmcStatus::PopRequired,
            Some(CmcFailInfo::PopRequired),
            vec![5]
        )
    );
    let (_, challenge) = resp
        .pki_response
        .unique_control::<EncryptedPop>()
        .unwrap()
        .unwrap();
    let opened = open_challenge(
        &challenge.cms,
        5,
        &key,
        &challenge.witness_alg_id,
        challenge.witness.as_bytes(),
    )
    .unwrap();
    // thePOP covers the CertificationRequest's DER.
    let answer = DecryptedPop {
        body_part_id: 5,
        the_pop_alg_id: challenge.the_pop_alg_id.clone(),
        the_pop: OctetString::new(the_pop(&opened, &csr.to_der().unwrap()).unwrap()).unwrap(),
    };
    let reply = send(Some(answer));
    assert!(reply.all_succeeded(), "{:?}", reply.statuses);
    assert_eq!(s.issued(), 1);
}
