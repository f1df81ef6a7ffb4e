//! Two `cmc-server` nodes on one PostgreSQL store (issue 15): the first
//! start of node A creates the embedded CA in its data directory; node B
//! is a second process with its own configuration file naming the same
//! store and A's data directory (where the store's key reference points:
//! the CA key and its passphrase file). Under enrollments sent to both at
//! once no serial is issued twice; a request answered by one node is
//! refused as a replay by the other; after a revocation through one node
//! both serve the same CRL, which lists it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use cmc_asn1::CmcFailInfo;
use common::load::{Outcome, Ra, listed_statuses, post_cmc, send_concurrently, serial_hex};
use common::{
    Backend, Server, TestStore, bootstrap_enroll_args, cmc_tool_io, s, start, write_config,
};
use der::Decode;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

const CONFIG: &str = "[server]\nlisten = \"127.0.0.1:0\"\n";
const REQUESTS: usize = 200;
const THREADS: usize = 8;
const CMC: &str = "/cmc/root";

#[test]
fn two_nodes_on_postgresql_share_serials_replays_and_the_crl() {
    let Some(store) = TestStore::new(
        Backend::Postgres,
        "two_nodes_on_postgresql_share_serials_replays_and_the_crl",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir(&a_dir).unwrap();
    std::fs::create_dir(&b_dir).unwrap();
    let a_config = write_config(&a_dir, &format!("{}{CONFIG}", store.config_line));
    let a = start(&a_dir);
    let data = a_dir.join("cmc-data");
    write_config(
        &b_dir,
        &format!("data_dir = \"{}\"\n{}{CONFIG}", s(&data), store.config_line),
    );
    let b = start(&b_dir);
    // B created nothing: no second data directory, no second CA.
    assert!(!b_dir.join("cmc-data").exists());
    let (cas, _) = cmc_tool_io(&["--config", s(&a_config), "ca", "list", "--json"]).unwrap();
    let cas: Vec<serde_json::Value> = serde_json::from_str(&cas).unwrap();
    assert_eq!(cas.len(), 1, "{cas:?}");

    let ra = Ra::bootstrap(&data);
    let received = enroll_on_both(&ra, &a, &b);
    no_serial_twice_in_the_store(&a_config, &received);
    replays_are_refused_across_nodes(&ra, &a, &b);
    both_serve_the_same_crl_after_a_revocation(&data, &a, &b, &received);

    a.terminate();
    b.terminate();
}

/// REQUESTS enrollments sent to A and B alternately from THREADS threads:
/// every one issued, no serial twice. Returns the certificates by serial.
fn enroll_on_both(ra: &Ra, a: &Server, b: &Server) -> BTreeMap<String, Certificate> {
    let requests: Vec<Vec<u8>> = (0..REQUESTS)
        .map(|i| ra.request(&format!("node-{i}")))
        .collect();
    let targets = [
        (a.addr.clone(), CMC.to_owned()),
        (b.addr.clone(), CMC.to_owned()),
    ];
    let answers = send_concurrently(&requests, &targets, THREADS, &|_| {});
    assert_eq!(answers.len(), REQUESTS);
    let mut received = BTreeMap::new();
    for (i, answer) in answers {
        match ra.outcome(answer) {
            Outcome::Issued(cert) => {
                let serial = serial_hex(&cert);
                assert!(
                    received.insert(serial.clone(), *cert).is_none(),
                    "serial {serial} issued twice"
                );
            }
            other => panic!("request {i} (node {}): {other:?}", ["A", "B"][i % 2]),
        }
    }
    received
}

/// The store lists each serial once, and every received one as issued.
fn no_serial_twice_in_the_store(
    config: &std::path::Path,
    received: &BTreeMap<String, Certificate>,
) {
    let statuses = listed_statuses(config);
    for serial in received.keys() {
        assert_eq!(statuses[serial], "issued", "serial {serial}");
    }
}

/// The same bytes sent to one node, then to the other: the second answer
/// is a CMC failure (badRequest: the senderNonce was seen), not a second
/// certificate; both ways round.
fn replays_are_refused_across_nodes(ra: &Ra, a: &Server, b: &Server) {
    for (first, second) in [(a, b), (b, a)] {
        let request = ra.request("replayed");
        match ra.outcome(post_cmc(&first.addr, CMC, &request)) {
            Outcome::Issued(_) => {}
            other => panic!("the first sending: {other:?}"),
        }
        match ra.outcome(post_cmc(&second.addr, CMC, &request)) {
            Outcome::Refused(fail) => assert_eq!(fail, Some(CmcFailInfo::BadRequest)),
            other => panic!("the replay on the other node: {other:?}"),
        }
    }
}

/// Both nodes serve a CRL (each caches it); one certificate is revoked
/// through A; then B and A serve the same CRL, which lists it and is not
/// the one before.
fn both_serve_the_same_crl_after_a_revocation(
    data: &std::path::Path,
    a: &Server,
    b: &Server,
    received: &BTreeMap<String, Certificate>,
) {
    let crl = |node: &Server| {
        let response = node.get("/crl/root.crl");
        assert_eq!(response.status, 200, "{}", response.text());
        response.body
    };
    let before = (crl(a), crl(b));
    assert_eq!(before.0, before.1);
    let (serial, cert) = received.iter().next().unwrap();
    assert!(!revoked_serials(&before.0).contains(serial));

    let pem = der::pem::encode_string(
        "CERTIFICATE",
        der::pem::LineEnding::LF,
        &der::Encode::to_der(cert).unwrap(),
    )
    .unwrap();
    let file = data.join("revoke-me.pem");
    std::fs::write(&file, pem).unwrap();
    let url = format!("http://{}{CMC}", a.addr);
    let mut args = vec!["revoke", "--url", &url, "--cert", s(&file)];
    args.extend(["--reason", "keyCompromise"]);
    let auth = bootstrap_enroll_args(data);
    args.extend(auth.iter().map(String::as_str));
    cmc_tool_io(&args).unwrap();

    // B first: it did not make the revocation.
    let after_b = crl(b);
    let after_a = crl(a);
    assert_eq!(after_a, after_b);
    assert_ne!(after_a, before.0);
    assert!(revoked_serials(&after_a).contains(serial));
}

/// The serials a CRL lists, as the store spells them.
fn revoked_serials(der: &[u8]) -> BTreeSet<String> {
    let crl: CertificateList = CertificateList::from_der(der).unwrap();
    crl.tbs_cert_list
        .revoked_certificates
        .unwrap_or_default()
        .iter()
        .map(|r| {
            cmc_store::Serial::from_be_bytes(r.serial_number.as_bytes())
                .unwrap()
                .to_hex()
        })
        .collect()
}
