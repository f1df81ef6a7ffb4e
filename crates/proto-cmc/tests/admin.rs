//! The admin requests of the swedenconnect ca-cmc client (issue 17): regInfo
//! holding the JSON of an `AdminCMCData` (caInfo, staticCaInfo, listCerts,
//! allCertSerials), answered in responseInfo with the JSON its client
//! parses. The requests are built as `CMCRequestFactory` builds them (a
//! 128-byte senderNonce and a regInfo, random 31-bit body part ids, the JSON
//! Jackson writes) and the answers are read back into structs that mirror
//! the client's model classes strictly: an unknown member, a missing or
//! null `int`, fails them as it fails Jackson's default mapper.
//!
//! None of the peer requests in `testdata/peers/` is an admin request
//! (their regInfo is "pkcs10", "crmf" or absent); `cmc.rs` checks that they
//! are still echoed byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use attack_support::{Party, Rig, echoed};
use base64ct::{Base64, Encoding};
use cmc_asn1::{
    BodyPartId, CmcFailInfo, CmcStatus, RecipientNonce, RegInfo, SenderNonce, TaggedContentInfo,
};
use cmc_ca::config::CaSettings;
use cmc_codec::{
    CmsSigner, RequestBuilder, ResponseVerifyOptions, VerifiedResponse, decode_response,
};
use cmc_keys::{FileKey, KeySpec};
use cmc_store::{BulkCert, ClientRole, IssuedCert, RevocationReason, Serial};
use cms::content_info::ContentInfo;
use der::asn1::OctetString;
use der::{Decode, Encode};
use proto_cmc::CmcFrontDoor;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

const CRL_URL: &str = "http://ca.example.test/crl/ca.crl";
const OCSP_URL: &str = "http://ca.example.test/ocsp/ca";
const ECDSA_SHA256_URI: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

/// The body part ids of the two controls (random 31-bit numbers, as the
/// client draws them).
const NONCE_ID: BodyPartId = 0x144C_B159;
const REG_INFO_ID: BodyPartId = 0x37DB_9A96;

// ---- the client's model, as Jackson reads it ------------------------------

/// `AdminCMCData`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AdminCmcData {
    admin_request_type: String,
    data: Option<String>,
}

/// `CAInformation`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaInformation {
    certificate_count: i32,
    valid_certificate_count: i32,
    certificate_chain: Vec<String>,
    ocsp_certificate: Option<String>,
    #[serde(rename = "crlDpURLs")]
    crl_dp_urls: Option<Vec<String>>,
    ocsp_responser_url: Option<String>,
    ca_algorithm: Option<String>,
}

/// `StaticCAInformation`: no counts (a count would be an unknown member).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StaticCaInformation {
    certificate_chain: Vec<String>,
    ocsp_certificate: Option<String>,
    #[serde(rename = "crlDpURLs")]
    crl_dp_urls: Option<Vec<String>>,
    ocsp_responser_url: Option<String>,
    ca_algorithm: Option<String>,
}

/// `CertificateData`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CertificateData {
    certificate: String,
    revoked: bool,
    revocation_reason: i32,
    revocation_date: i64,
}

// ---- requests as the client makes them ------------------------------------

/// A fresh 128-byte senderNonce.
fn nonce() -> Vec<u8> {
    static N: AtomicU64 = AtomicU64::new(0);
    let seed = Sha256::digest(N.fetch_add(1, Ordering::SeqCst).to_be_bytes());
    (0u8..4)
        .flat_map(|i| Sha256::digest([seed.as_slice(), &[i]].concat()))
        .collect()
}

/// The regInfo JSON `CMCAdminRequestModel` writes for `type_` with `data`
/// (a JSON text, written as a JSON string).
fn admin_json(type_: &str, data: Option<&str>) -> String {
    let data = data.map_or_else(|| "null".to_owned(), |d| serde_json::to_string(d).unwrap());
    format!("{{\"adminRequestType\":\"{type_}\",\"data\":{data}}}")
}

/// The `ListCerts` JSON the client writes.
fn list_certs(page_size: i32, page_index: i32, sort_by: &str, valid: bool, desc: bool) -> String {
    format!(
        "{{\"notRevoked\":{valid},\"sortBy\":\"{sort_by}\",\"pageSize\":{page_size},\"pageIndex\":{page_index},\"descending\":{desc}}}"
    )
}

/// A PKIData as `CMCRequestFactory.createAdminRequest` builds it: a
/// senderNonce, then the regInfo; nothing else. Returns the DER signed by
/// `party` (its certificate the only one in the SignedData) and the nonce.
fn admin_request(rig: &Rig, party: &Party, reg_info: &str) -> (Vec<u8>, Vec<u8>) {
    let nonce = nonce();
    let mut b = RequestBuilder::new();
    b.control(
        NONCE_ID,
        &SenderNonce(OctetString::new(nonce.clone()).unwrap()),
    )
    .unwrap();
    b.control(
        REG_INFO_ID,
        &RegInfo(OctetString::new(reg_info.as_bytes()).unwrap()),
    )
    .unwrap();
    let der = b
        .sign(
            &CmsSigner::new(&party.key, &party.cert, &[]).unwrap(),
            rig.now().to_system_time(),
        )
        .unwrap();
    (der, nonce)
}

/// Sends an admin request; checks what every answer must have (the
/// recipientNonce, the signature under the CA) and returns the response.
fn ask(rig: &Rig, party: &Party, reg_info: &str) -> VerifiedResponse {
    let (der, nonce) = admin_request(rig, party, reg_info);
    let resp = rig.verify(&rig.post(&der));
    let (_, recipient) = resp
        .pki_response
        .unique_control::<RecipientNonce>()
        .unwrap()
        .expect("a recipientNonce");
    assert_eq!(recipient.0.as_bytes(), nonce);
    resp
}

/// The success of one admin request: its status names the regInfo, and
/// its one responseInfo is the `AdminCMCData` of `type_`; returns its data.
fn answered(rig: &Rig, party: &Party, type_: &str, data: Option<&str>) -> String {
    let resp = ask(rig, party, &admin_json(type_, data));
    let s = common::statuses(&resp);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].status, CmcStatus::Success, "{s:?}");
    assert_eq!(common::ids(&s[0].body_list), [REG_INFO_ID]);
    let info = echoed(&resp).response_info;
    assert_eq!(info.len(), 1);
    let answer: AdminCmcData = serde_json::from_slice(&info[0]).unwrap();
    assert_eq!(answer.admin_request_type, type_);
    answer.data.expect("answer data")
}

/// The refusal of one admin request: failed with `fail_info`, naming the
/// regInfo, and no responseInfo (the request is not echoed either).
fn refused(rig: &Rig, party: &Party, reg_info: &str, fail_info: CmcFailInfo) {
    let resp = ask(rig, party, reg_info);
    assert_eq!(
        common::single_failure(&resp),
        (fail_info, vec![REG_INFO_ID])
    );
    assert!(echoed(&resp).response_info.is_empty());
}

// ---- the CA the tests ask -------------------------------------------------

/// A CA with CRL and OCSP locations, an RA, an agent, an end-entity client,
/// and five certificates the RA enrolled (one revoked, one on hold); every
/// certificate of the CA in the order it was issued.
struct Ca {
    rig: Rig,
    ra: Party,
    agent: Party,
    client: Party,
    holder: Party,
    issued: Vec<Certificate>,
}

fn serial(cert: &Certificate) -> Serial {
    Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes()).unwrap()
}

impl Ca {
    fn new() -> Self {
        let settings = CaSettings {
            crl_url: Some(CRL_URL.into()),
            ocsp_url: Some(OCSP_URL.into()),
            ..CaSettings::default()
        };
        let rig = Rig::with(|c| c.cas = BTreeMap::from([("ca".to_owned(), settings)]));
        let ra = rig.client("ra", "CN=ra,O=Admin Tests", ClientRole::Ra, None);
        let agent = rig.client("agent", "CN=agent,O=Admin Tests", ClientRole::Agent, None);
        let client = rig.client("ee", "CN=ee,O=Admin Tests", ClientRole::Client, None);
        let mut issued = vec![ra.cert.clone(), agent.cert.clone(), client.cert.clone()];
        rig.env.clock.advance(1);
        let enrolled: Vec<Party> = (0..5)
            .map(|n| rig.enroll(&ra, &format!("CN=device {n},O=Admin Tests"), &[]))
            .collect();
        issued.extend(enrolled.iter().map(|p| p.cert.clone()));
        for (n, reason) in [
            (1, RevocationReason::KeyCompromise),
            (3, RevocationReason::CertificateHold),
        ] {
            rig.engine
                .revoke("ca", &serial(&enrolled[n].cert), reason, None, "test")
                .unwrap();
        }
        let holder = enrolled.into_iter().next().unwrap();
        Self {
            rig,
            ra,
            agent,
            client,
            holder,
            issued,
        }
    }

    /// The revocation the test made of `cert`: (reason, time in ms).
    fn revocation(&self, cert: &Certificate) -> Option<(i32, i64)> {
        let record = self.rig.env.store.get_cert("ca", &serial(cert)).unwrap()?;
        record
            .revocation()
            .map(|r| (i32::from(r.reason.code()), r.revoked_at.secs() * 1000))
    }

    /// The certificates valid now (not revoked nor on hold).
    fn valid(&self) -> Vec<Certificate> {
        self.issued
            .iter()
            .filter(|c| self.revocation(c).is_none())
            .cloned()
            .collect()
    }
}

fn der(cert: &Certificate) -> Vec<u8> {
    cert.to_der().unwrap()
}

fn b64(der: &[u8]) -> String {
    Base64::encode_string(der)
}

/// `BigInteger.toString(16)` of a certificate's serial.
fn java_hex(cert: &Certificate) -> String {
    serial(cert).to_hex().trim_start_matches('0').to_owned()
}

/// The certificates of a listCerts answer, checked field by field against
/// the CA's records; returns them.
fn listed(ca: &Ca, data: &str) -> Vec<Certificate> {
    let page: Vec<CertificateData> = serde_json::from_str(data).unwrap();
    page.iter()
        .map(|d| {
            let bytes = Base64::decode_vec(&d.certificate).unwrap();
            let cert = ca
                .issued
                .iter()
                .find(|c| der(c) == bytes)
                .expect("a certificate of this CA")
                .clone();
            match ca.revocation(&cert) {
                Some((reason, at)) => {
                    assert!(d.revoked);
                    assert_eq!((d.revocation_reason, d.revocation_date), (reason, at));
                }
                None => {
                    assert!(!d.revoked);
                    assert_eq!((d.revocation_reason, d.revocation_date), (0, 0));
                }
            }
            cert
        })
        .collect()
}

// ---- the tests --------------------------------------------------------------

#[test]
fn ca_info_answers_an_ra_and_an_agent_with_counts_chain_and_locations() {
    let ca = Ca::new();
    for party in [&ca.ra, &ca.agent] {
        let data = answered(&ca.rig, party, "caInfo", None);
        let info: CaInformation = serde_json::from_str(&data).unwrap();
        // Eight certificates (three credentials, five enrolled), two of them
        // revoked or on hold.
        assert_eq!(info.certificate_count, 8);
        assert_eq!(info.valid_certificate_count, 6);
        assert_eq!(
            info.certificate_chain,
            [b64(ca.rig.ca.certificate_der())],
            "a root: its own certificate only"
        );
        assert_eq!(info.ocsp_certificate, None);
        assert_eq!(info.crl_dp_urls, Some(vec![CRL_URL.to_owned()]));
        assert_eq!(info.ocsp_responser_url.as_deref(), Some(OCSP_URL));
        assert_eq!(info.ca_algorithm.as_deref(), Some(ECDSA_SHA256_URI));
    }

    // A certificate whose validity has ended counts, but not as valid.
    let now = ca.rig.now();
    ca.rig
        .engine
        .records()
        .bulk_insert(&[BulkCert {
            issuer: "ca".into(),
            serial: Serial::from_be_bytes(&[0x51, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08])
                .unwrap(),
            requester: "ra".into(),
            profile: "default".into(),
            request_hash: vec![0; 32],
            cert: IssuedCert {
                cert_der: b"an expired certificate".to_vec(),
                subject: "CN=expired".into(),
                sans: vec![],
                not_before: now.plus_secs(-20 * 86_400),
                not_after: now.plus_secs(-86_400),
                issued_at: now.plus_secs(-20 * 86_400),
            },
            revocation: None,
        }])
        .unwrap();
    let data = answered(&ca.rig, &ca.ra, "caInfo", None);
    let info: CaInformation = serde_json::from_str(&data).unwrap();
    assert_eq!(
        (info.certificate_count, info.valid_certificate_count),
        (9, 6)
    );
}

#[test]
fn static_ca_info_has_no_counts_and_names_the_ocsp_responder() {
    let (rig, _) = Rig::with_responders();
    let ra = rig.client("ra", "CN=ra,O=Admin Tests", ClientRole::Ra, None);
    let data = answered(&rig, &ra, "staticCaInfo", None);
    // deny_unknown_fields: a count here would fail the client's parser.
    let info: StaticCaInformation = serde_json::from_str(&data).unwrap();
    assert_eq!(info.certificate_chain, [b64(rig.ca.certificate_der())]);
    let ocsp = rig
        .engine
        .ocsp_responder_certificate("ca")
        .unwrap()
        .unwrap();
    assert_eq!(info.ocsp_certificate, Some(b64(&ocsp)));
    assert_eq!(info.crl_dp_urls, Some(vec![]));
    assert_eq!(info.ocsp_responser_url, None);
    assert_eq!(info.ca_algorithm.as_deref(), Some(ECDSA_SHA256_URI));
}

#[test]
fn static_ca_info_of_an_intermediate_carries_its_chain_up_to_the_root() {
    let rig = Rig::new();
    let sub = rig.sub_ca("sub");
    let ra = rig.client("ra", "CN=ra,O=Admin Tests", ClientRole::Ra, None);
    let (der, _) = admin_request(&rig, &ra, &admin_json("staticCaInfo", None));
    let reply = rig
        .engine
        .handle_full("sub", &der, &proto_cmc::Transport::default())
        .unwrap();
    let resp = common::verify(&reply, &rig.ca, rig.now());
    let info = echoed(&resp).response_info;
    let answer: AdminCmcData = serde_json::from_slice(&info[0]).unwrap();
    let info: StaticCaInformation = serde_json::from_str(&answer.data.unwrap()).unwrap();
    assert_eq!(
        info.certificate_chain,
        [b64(sub.certificate_der()), b64(rig.ca.certificate_der())]
    );
}

#[test]
fn list_certs_pages_sorts_and_filters() {
    let ca = Ca::new();
    let page = |size, index, sort, valid, desc| {
        let json = list_certs(size, index, sort, valid, desc);
        listed(&ca, &answered(&ca.rig, &ca.agent, "listCerts", Some(&json)))
    };
    // By issue date: the order they were issued in; last first.
    assert_eq!(page(100, 0, "issueDate", false, false), ca.issued);
    let mut newest_first = ca.issued.clone();
    newest_first.reverse();
    assert_eq!(page(100, 0, "issueDate", false, true), newest_first);

    // Pages of three: 3 + 3 + 2, then nothing.
    assert_eq!(page(3, 0, "issueDate", false, false), ca.issued[..3]);
    assert_eq!(page(3, 1, "issueDate", false, false), ca.issued[3..6]);
    assert_eq!(page(3, 2, "issueDate", false, false), ca.issued[6..]);
    assert!(page(3, 3, "issueDate", false, false).is_empty());

    // Valid only: the revoked and the held certificates are left out.
    let valid = ca.valid();
    assert_eq!(valid.len(), 6);
    assert_eq!(page(100, 0, "issueDate", true, false), valid);
    assert_eq!(page(4, 1, "issueDate", true, false), valid[4..]);

    // By serial, as numbers.
    let mut by_serial = ca.issued.clone();
    by_serial.sort_by_key(|c| {
        let s = serial(c);
        (s.as_bytes().len(), s.as_bytes().to_vec())
    });
    assert_eq!(page(100, 0, "serialNumber", false, false), by_serial);
    by_serial.reverse();
    assert_eq!(page(100, 0, "serialNumber", false, true), by_serial);

    // Without sortBy (null), in the order they were stored.
    let json = "{\"notRevoked\":false,\"sortBy\":null,\"pageSize\":2,\"pageIndex\":0,\"descending\":false}";
    let data = answered(&ca.rig, &ca.ra, "listCerts", Some(json));
    assert_eq!(listed(&ca, &data), ca.issued[..2]);
}

#[test]
fn all_cert_serials_lists_every_certificate_in_hex() {
    let ca = Ca::new();
    let data = answered(&ca.rig, &ca.ra, "allCertSerials", None);
    let serials: Vec<String> = serde_json::from_str(&data).unwrap();
    let mut expected: Vec<String> = ca.issued.iter().map(java_hex).collect();
    expected.sort_by_key(|h| (h.len(), h.clone()));
    assert_eq!(serials, expected);
    assert!(serials.iter().all(|s| {
        !s.starts_with('0')
            && s.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    }));
}

#[test]
fn end_entities_and_holders_are_refused_every_admin_request() {
    let ca = Ca::new();
    let list = list_certs(10, 0, "issueDate", false, false);
    let requests = [
        admin_json("caInfo", None),
        admin_json("staticCaInfo", None),
        admin_json("listCerts", Some(&list)),
        admin_json("allCertSerials", None),
    ];
    for party in [&ca.client, &ca.holder] {
        for request in &requests {
            refused(&ca.rig, party, request, CmcFailInfo::BadRequest);
        }
    }
}

#[test]
fn an_unknown_or_disabled_signer_is_refused_before_anything_is_read() {
    let ca = Ca::new();
    // A credential of another CA's installation: not a client here, no
    // holder of a certificate of this CA.
    let elsewhere = Rig::new();
    let stranger = elsewhere.client("ra", "CN=ra,O=Admin Tests", ClientRole::Ra, None);
    ca.rig
        .engine
        .records()
        .disable_client("agent", "test-admin", ca.rig.now())
        .unwrap();
    for party in [&stranger, &ca.agent] {
        let resp = ask(&ca.rig, party, &admin_json("caInfo", None));
        assert_eq!(
            common::single_failure(&resp),
            (CmcFailInfo::BadIdentity, vec![0])
        );
        assert!(echoed(&resp).response_info.is_empty());
    }
}

#[test]
fn malformed_admin_requests_are_bad_requests() {
    let ca = Ca::new();
    let bad = |reg: &str| refused(&ca.rig, &ca.ra, reg, CmcFailInfo::BadRequest);
    // Larger pages than the documented maximum, empty and negative ones.
    bad(&admin_json(
        "listCerts",
        Some(&list_certs(1001, 0, "issueDate", false, false)),
    ));
    bad(&admin_json(
        "listCerts",
        Some(&list_certs(0, 0, "issueDate", false, false)),
    ));
    bad(&admin_json(
        "listCerts",
        Some(&list_certs(10, -1, "issueDate", false, false)),
    ));
    // An unknown sort, no data, data that is not JSON.
    bad(&admin_json(
        "listCerts",
        Some(&list_certs(10, 0, "subject", false, false)),
    ));
    bad(&admin_json("listCerts", None));
    bad(&admin_json("listCerts", Some("ten please")));
    // A type the client does not have.
    bad(&admin_json("deleteAll", None));
    bad("{\"adminRequestType\":42}");
    // The largest page is answered.
    let json = list_certs(
        i32::try_from(cmc_ca::MAX_PAGE_SIZE).unwrap(),
        0,
        "issueDate",
        false,
        false,
    );
    let data = answered(&ca.rig, &ca.ra, "listCerts", Some(&json));
    assert_eq!(listed(&ca, &data).len(), 8);
}

#[test]
fn other_reg_info_is_still_echoed() {
    let ca = Ca::new();
    let resp = ask(&ca.rig, &ca.ra, "crmf");
    assert_eq!(echoed(&resp).response_info, [b"crmf".to_vec()]);
    let s = common::statuses(&resp);
    assert_eq!((s.len(), s[0].status), (1, CmcStatus::Success));
}

#[test]
fn nested_and_unsigned_admin_requests_are_not_answered() {
    let ca = Ca::new();
    let reg_info = admin_json("allCertSerials", None);

    // An end entity's request, wrapped by the RA: the inner admin request
    // is refused in the inner response, which echoes nothing of it.
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut inner = RequestBuilder::new();
    inner
        .control(NONCE_ID, &SenderNonce(OctetString::new(nonce()).unwrap()))
        .unwrap()
        .control(
            REG_INFO_ID,
            &RegInfo(OctetString::new(reg_info.as_bytes()).unwrap()),
        )
        .unwrap()
        .pkcs10(
            2,
            attack_support::csr(&key, "CN=nested.example.test,O=Admin Tests", &[]),
        )
        .unwrap();
    let inner = inner
        .sign(
            &CmsSigner::self_signed(&key).unwrap(),
            ca.rig.now().to_system_time(),
        )
        .unwrap();
    let reply = ca.rig.send(&ca.ra, |b| {
        b.content(TaggedContentInfo {
            body_part_id: 10,
            content_info: ContentInfo::from_der(&inner).unwrap(),
        })
        .unwrap();
    });
    let outer = ca.rig.verify(&reply);
    assert!(echoed(&outer).response_info.is_empty());
    let nested = &outer.pki_response.cms_sequence;
    assert_eq!(nested.len(), 1, "{:?}", common::statuses(&outer));
    let trusted = [ca.rig.ca.certificate().clone()];
    let inner_resp = decode_response(
        &nested[0].content_info.to_der().unwrap(),
        &ResponseVerifyOptions::new(ca.rig.now().to_system_time(), &trusted),
    )
    .unwrap();
    let s = common::statuses(&inner_resp);
    let failed: Vec<_> = s
        .iter()
        .filter(|s| s.status == CmcStatus::Failed)
        .map(|s| (s.fail_info, common::ids(&s.body_list)))
        .collect();
    assert_eq!(
        failed,
        [(Some(CmcFailInfo::BadRequest), vec![REG_INFO_ID])],
        "{s:?}"
    );
    assert!(echoed(&inner_resp).response_info.is_empty());

    // Unsigned: nobody is known, badIdentity for the whole PKIData.
    let mut unsigned = RequestBuilder::new();
    unsigned
        .control(NONCE_ID, &SenderNonce(OctetString::new(nonce()).unwrap()))
        .unwrap()
        .control(
            REG_INFO_ID,
            &RegInfo(OctetString::new(reg_info.as_bytes()).unwrap()),
        )
        .unwrap();
    let resp = ca.rig.verify(&ca.rig.post(&unsigned.unsigned().unwrap()));
    assert_eq!(
        common::single_failure(&resp),
        (CmcFailInfo::BadIdentity, vec![0])
    );
    assert!(echoed(&resp).response_info.is_empty());
}

#[test]
fn all_cert_serials_is_bounded() {
    let rig = Rig::new();
    let ra = rig.client("ra", "CN=ra,O=Admin Tests", ClientRole::Ra, None);
    let now = rig.now();
    let row = |n: u32| BulkCert {
        issuer: "ca".into(),
        serial: Serial::from_be_bytes(&[&[0x3c, 0x5a][..], &n.to_be_bytes()].concat()).unwrap(),
        requester: "bulk".into(),
        profile: "default".into(),
        request_hash: vec![0; 32],
        cert: IssuedCert {
            cert_der: n.to_be_bytes().to_vec(),
            subject: format!("CN=bulk {n}"),
            sans: vec![],
            not_before: now,
            not_after: now.plus_secs(86_400),
            issued_at: now,
        },
        revocation: None,
    };
    // With the RA's credential, exactly MAX_SERIALS certificates: answered.
    let max = cmc_ca::MAX_SERIALS;
    for start in (0..max - 1).step_by(10_000) {
        let rows: Vec<BulkCert> = (start..(start + 10_000).min(max - 1)).map(row).collect();
        rig.engine.records().bulk_insert(&rows).unwrap();
    }
    // About 1.7 MB (4.5 MB with 20-byte serials): more than our own
    // client's default response limit, so read it with a larger one.
    let (der, _) = admin_request(&rig, &ra, &admin_json("allCertSerials", None));
    let reply = rig.post(&der);
    let trusted = [rig.ca.certificate().clone()];
    let mut opts = ResponseVerifyOptions::new(rig.now().to_system_time(), &trusted);
    opts.limits.max_input = 8 << 20;
    let resp = decode_response(&reply.der, &opts).unwrap();
    let s = common::statuses(&resp);
    assert_eq!((s.len(), s[0].status), (1, CmcStatus::Success), "{s:?}");
    let answer: AdminCmcData = serde_json::from_slice(&echoed(&resp).response_info[0]).unwrap();
    let serials: Vec<String> = serde_json::from_str(&answer.data.unwrap()).unwrap();
    assert_eq!(serials.len(), max as usize);
    // One more: noSupport, with a status naming the regInfo.
    rig.engine.records().bulk_insert(&[row(max)]).unwrap();
    let resp = ask(&rig, &ra, &admin_json("allCertSerials", None));
    let s = common::statuses(&resp);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].status, CmcStatus::NoSupport);
    assert_eq!(common::ids(&s[0].body_list), [REG_INFO_ID]);
    assert!(echoed(&resp).response_info.is_empty());
    // The listing still pages through them: 100001, the last page of a
    // thousand holds one.
    let json = list_certs(1000, 100, "serialNumber", false, false);
    let data = answered(&rig, &ra, "listCerts", Some(&json));
    let page: Vec<CertificateData> = serde_json::from_str(&data).unwrap();
    assert_eq!(page.len(), 1);
}

#[test]
fn one_admin_request_per_pki_data() {
    let ca = Ca::new();
    let list = list_certs(1000, 0, "issueDate", false, false);
    let one = admin_json("allCertSerials", None);
    let two = admin_json("listCerts", Some(&list));
    let reply = ca.rig.send(&ca.ra, |b| {
        b.control(1, &RegInfo(OctetString::new(one.as_bytes()).unwrap()))
            .unwrap()
            .control(2, &RegInfo(OctetString::new(two.as_bytes()).unwrap()))
            .unwrap();
    });
    assert_eq!(
        ca.rig.outcome(&reply),
        [
            (CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![1]),
            (CmcStatus::Failed, Some(CmcFailInfo::BadRequest), vec![2]),
        ]
    );
    assert!(echoed(&ca.rig.verify(&reply)).response_info.is_empty());
}
