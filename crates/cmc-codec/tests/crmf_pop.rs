//! CRMF `POPOSigningKey` (RFC 4211 §4.1): when poposkInput must be omitted and when it must
//! be present, which key it may name, and which authInfo is accepted. Each case is built the
//! way an attacker would send it, signed correctly except for the one rule it breaks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cmc_asn1::{
    CertReqMsg, CertRequest, CertTemplate, CmcFailInfo, PbmParameter, PkMacValue, PopoSigningKey,
    PopoSigningKeyInput, PopoSigningKeyInputAuthInfo, ProofOfPossession, SenderNonce,
};
use cmc_codec::{
    CmsSigner, Error, FullRequest, Pop, RequestBuilder, VerifyOptions, build_crmf,
    decode_full_request, verify_crmf_pop,
};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use const_oid::db::rfc5912::{ID_PASSWORD_BASED_MAC, ID_SHA_256};
use const_oid::db::rfc6268::ID_HMAC_WITH_SHA_256;
use der::asn1::{BitString, Int, OctetString};
use der::{Any, Decode, Encode};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

const ID: u32 = 0x51;

fn key() -> FileKey {
    FileKey::generate(KeySpec::P256).unwrap()
}

fn subject(cn: &str) -> Name {
    Name::from_str(&format!("CN={cn},O=cmc-codec tests")).unwrap()
}

/// A template with the subject and public key given (either may be left out).
fn template(cn: Option<&str>, public_key: Option<&FileKey>) -> CertTemplate {
    CertTemplate {
        subject: cn.map(subject),
        public_key: public_key.map(|k| k.public_key().clone()),
        ..CertTemplate::default()
    }
}

/// What the POPOSigningKey signature is computed over.
enum Over {
    /// The DER of certReq (RFC 4211 §4.1 when poposkInput is omitted).
    CertReq,
    /// The DER of POPOSigningKeyInput (when it is present).
    Input,
}

/// A CertReqMsg for `template` whose POPOSigningKey carries `input` and is signed by
/// `signer` over `over`; it goes through an encode/decode round trip, as a server sees it.
fn crm(
    template: CertTemplate,
    input: Option<PopoSigningKeyInput>,
    signer: &FileKey,
    over: Over,
) -> CertReqMsg {
    let cert_req = CertRequest::new(ID, template).unwrap();
    let signed = match (&over, &input) {
        (Over::CertReq, _) => cert_req.to_der().unwrap(),
        (Over::Input, Some(i)) => i.to_der().unwrap(),
        (Over::Input, None) => panic!("no poposkInput to sign"),
    };
    let signature = signer.sign(&signed).unwrap();
    let msg = CertReqMsg {
        cert_req,
        popo: Some(ProofOfPossession::Signature(PopoSigningKey {
            poposk_input: input,
            algorithm_identifier: signer.signature_algorithm().clone(),
            signature: BitString::from_bytes(&signature).unwrap(),
        })),
        reg_info: None,
    };
    CertReqMsg::from_der(&msg.to_der().unwrap()).unwrap()
}

fn sender(cn: &str) -> PopoSigningKeyInputAuthInfo {
    PopoSigningKeyInputAuthInfo::Sender(GeneralName::DirectoryName(subject(cn)))
}

fn input(auth_info: PopoSigningKeyInputAuthInfo, key: &FileKey) -> PopoSigningKeyInput {
    PopoSigningKeyInput {
        auth_info,
        public_key: key.public_key().clone(),
    }
}

/// A correct password-based MAC (RFC 4211 §4.4: K = SHA-256^iterationCount(password ‖
/// salt), MAC = HMAC-SHA256(K, DER of publicKey)) over `key`'s public key.
fn public_key_mac(key: &FileKey, password: &[u8]) -> PopoSigningKeyInputAuthInfo {
    let salt = [0x5a_u8; 16];
    let iterations: u16 = 1000;
    let mut k = Sha256::new()
        .chain_update(password)
        .chain_update(salt)
        .finalize()
        .to_vec();
    for _ in 1..iterations {
        k = Sha256::digest(&k).to_vec();
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&k).unwrap();
    mac.update(&key.public_key().to_der().unwrap());
    let value = mac.finalize().into_bytes();
    let params = PbmParameter {
        salt: OctetString::new(salt).unwrap(),
        owf: AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        },
        iteration_count: Int::new(&iterations.to_be_bytes()).unwrap(),
        mac: AlgorithmIdentifierOwned {
            oid: ID_HMAC_WITH_SHA_256,
            parameters: None,
        },
    };
    PopoSigningKeyInputAuthInfo::PublicKeyMac(PkMacValue {
        alg_id: AlgorithmIdentifierOwned {
            oid: ID_PASSWORD_BASED_MAC,
            parameters: Some(Any::encode_from(&params).unwrap()),
        },
        value: BitString::from_bytes(&value).unwrap(),
    })
}

/// Asserts that `msg` fails proof of possession with a reason containing `why`.
fn pop_fails(msg: &CertReqMsg, why: &str) {
    let e = verify_crmf_pop(msg).unwrap_err();
    assert!(
        matches!(&e, Error::PopFailed { body_part_id: ID, reason } if reason.contains(why)),
        "expected popFailed ({why}), got {e}"
    );
    assert_eq!(e.fail_info(), CmcFailInfo::PopFailed, "{e}");
    assert!(!e.is_not_cms());
}

#[test]
fn complete_template_signed_over_cert_req_verifies() {
    let k = key();
    let msg = crm(template(Some("full"), Some(&k)), None, &k, Over::CertReq);
    assert_eq!(
        verify_crmf_pop(&msg).unwrap(),
        Pop::CrmfSignature { sender: None }
    );
    // An empty subject is a present subject (RFC 5272 §3.2.1.2.2: "can be encoded as NULL,
    // but MUST be present").
    let mut t = template(None, Some(&k));
    t.subject = Some(Name::default());
    let msg = crm(t, None, &k, Over::CertReq);
    assert_eq!(
        verify_crmf_pop(&msg).unwrap(),
        Pop::CrmfSignature { sender: None }
    );
}

/// The attack: a POPOSigningKey over poposkInput does not cover the template, so one seen
/// once (in a request for CN=victim) can be grafted onto a template with any subject and
/// extensions for the same key. With subject and publicKey in the template, poposkInput
/// MUST be omitted; a request that carries it fails POP however valid its signature is.
#[test]
fn poposk_input_with_a_complete_template_fails() {
    let k = key();
    let seen = crm(
        template(None, Some(&k)),
        Some(input(sender("victim"), &k)),
        &k,
        Over::Input,
    );
    assert!(matches!(
        verify_crmf_pop(&seen).unwrap(),
        Pop::CrmfSignature { sender: Some(_) }
    ));
    let Some(ProofOfPossession::Signature(popo)) = seen.popo.clone() else {
        panic!("a signature POPO")
    };
    let mut grafted = seen;
    grafted.cert_req = CertRequest::new(ID, template(Some("admin"), Some(&k))).unwrap();
    grafted.popo = Some(ProofOfPossession::Signature(popo));
    pop_fails(&grafted, "must be omitted");

    // Same with the sender authInfo freshly signed: still refused.
    let msg = crm(
        template(Some("full"), Some(&k)),
        Some(input(sender("full"), &k)),
        &k,
        Over::Input,
    );
    pop_fails(&msg, "must be omitted");
    // And with the signature over certReq (poposkInput along for the ride).
    let msg = crm(
        template(Some("full"), Some(&k)),
        Some(input(sender("full"), &k)),
        &k,
        Over::CertReq,
    );
    pop_fails(&msg, "must be omitted");
}

#[test]
fn template_without_subject_needs_poposk_input() {
    let k = key();
    // Signed over certReq without poposkInput: refused.
    let msg = crm(template(None, Some(&k)), None, &k, Over::CertReq);
    pop_fails(&msg, "must carry poposkInput");

    // With poposkInput (sender) over the same key: verifies, and the sender comes back.
    let msg = crm(
        template(None, Some(&k)),
        Some(input(sender("requester"), &k)),
        &k,
        Over::Input,
    );
    let Pop::CrmfSignature {
        sender: Some(GeneralName::DirectoryName(n)),
    } = verify_crmf_pop(&msg).unwrap()
    else {
        panic!("a sender name")
    };
    assert_eq!(n, subject("requester"));

    // poposkInput present, but the signature is over certReq: it does not verify.
    let msg = crm(
        template(None, Some(&k)),
        Some(input(sender("requester"), &k)),
        &k,
        Over::CertReq,
    );
    pop_fails(&msg, "does not verify");
}

#[test]
fn poposk_input_must_name_the_template_key() {
    let k = key();
    let other = key();
    // Names and is signed by another key than the template's.
    let msg = crm(
        template(None, Some(&k)),
        Some(input(sender("x"), &other)),
        &other,
        Over::Input,
    );
    pop_fails(&msg, "differs");
    // Names another key but is signed by the template's: the signature alone would pass.
    let msg = crm(
        template(None, Some(&k)),
        Some(input(sender("x"), &other)),
        &k,
        Over::Input,
    );
    pop_fails(&msg, "differs");
}

#[test]
fn template_without_public_key_uses_the_input_key() {
    let k = key();
    let other = key();
    // Subject only: poposkInput brings the key, and its signature verifies with it.
    for cn in [Some("keyless"), None] {
        let msg = crm(
            template(cn, None),
            Some(input(sender("requester"), &k)),
            &k,
            Over::Input,
        );
        assert!(
            matches!(
                verify_crmf_pop(&msg).unwrap(),
                Pop::CrmfSignature { sender: Some(_) }
            ),
            "{cn:?}"
        );
        // Signed by another key than the one poposkInput names.
        let msg = crm(
            template(cn, None),
            Some(input(sender("requester"), &k)),
            &other,
            Over::Input,
        );
        pop_fails(&msg, "does not verify");
    }
    // No key anywhere: nothing to verify with (badRequest).
    let msg = crm(template(Some("keyless"), None), None, &k, Over::CertReq);
    let e = verify_crmf_pop(&msg).unwrap_err();
    assert!(
        matches!(e, Error::MissingPublicKey { body_part_id: ID }),
        "{e}"
    );
    assert_eq!(e.fail_info(), CmcFailInfo::BadRequest);
}

/// publicKeyMAC needs a PKMAC shared secret this CA never hands out: even a correctly
/// computed MAC (under a password the CA does not know) is refused, with a clear reason.
#[test]
fn public_key_mac_is_refused() {
    let k = key();
    for t in [template(None, Some(&k)), template(Some("mac"), None)] {
        let msg = crm(
            t,
            Some(input(public_key_mac(&k, b"guessed password"), &k)),
            &k,
            Over::Input,
        );
        pop_fails(&msg, "publicKeyMAC");
    }
}

/// The path the engine takes: decode a Full PKI Request, then `pops()`. A grafted
/// poposkInput fails that request's POP only; the message itself verifies.
#[test]
fn full_request_reports_the_failed_pop() {
    let ra = key();
    let ra_cert = common::ca_cert(&ra, "crmf pop ra");
    let k = key();
    let good = build_crmf(&k, 0x61, common::template("good")).unwrap();
    let bad = crm(
        template(Some("admin"), Some(&k)),
        Some(input(sender("admin"), &k)),
        &k,
        Over::Input,
    );
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new([3u8; 16]).unwrap()))
        .unwrap()
        .crmf(good)
        .unwrap()
        .crmf(bad)
        .unwrap();
    let now = SystemTime::now();
    let der = b
        .sign(&CmsSigner::new(&ra, &ra_cert, &[]).unwrap(), now)
        .unwrap();
    let FullRequest::Signed(req) =
        decode_full_request(&der, &VerifyOptions::new(now + Duration::from_secs(2))).unwrap()
    else {
        panic!("unsigned")
    };
    let pops = req.pops();
    assert_eq!(pops.len(), 2);
    assert_eq!(pops[0].0, Some(0x61));
    assert_eq!(
        pops[0].1.as_ref().unwrap(),
        &Pop::CrmfSignature { sender: None }
    );
    assert_eq!(pops[1].0, Some(ID));
    let e = pops[1].1.as_ref().unwrap_err();
    assert_eq!(e.fail_info(), CmcFailInfo::PopFailed, "{e}");
}

/// Our own builder never produces a request that breaks these rules: a template without a
/// subject is refused before signing.
#[test]
fn builder_refuses_a_template_without_subject() {
    let k = key();
    let e = build_crmf(&k, 0x62, CertTemplate::default()).unwrap_err();
    assert!(matches!(e, Error::TemplateWithoutSubject), "{e}");
    let t = CertTemplate {
        subject: Some(Name::default()),
        ..CertTemplate::default()
    };
    let msg = build_crmf(&k, 0x62, t).unwrap();
    assert_eq!(
        verify_crmf_pop(&msg).unwrap(),
        Pop::CrmfSignature { sender: None }
    );
}
