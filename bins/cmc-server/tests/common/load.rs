//! Enrollments under load for the crash and two-node tests: requests built
//! in advance with the bootstrap RA's key (as `cmc-tool bench` builds
//! them), sent from several threads at once, and every answer sorted into
//! issued (a verified response with its certificate), refused (a CMC
//! failure) or none (the connection broke).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use cmc_asn1::{CmcFailInfo, CmcStatus, SenderNonce};
use cmc_codec::{CmsSigner, RequestBuilder, ResponseVerifyOptions, build_csr, decode_response};
use cmc_keys::{FileKey, KeySpec, SecretSource};
use der::Encode;
use der::asn1::OctetString;
use x509_cert::Certificate;

use super::{parse_response, request_bytes};

/// The bootstrap RA of an embedded setup and the root it enrolls with.
pub struct Ra {
    key: FileKey,
    chain: Vec<Certificate>,
    /// The root CA certificate (what responses verify against).
    pub root: Vec<Certificate>,
}

fn pem_chain(path: &Path) -> Vec<Certificate> {
    Certificate::load_pem_chain(&std::fs::read(path).unwrap()).unwrap()
}

impl Ra {
    /// The RA whose files `cmc-server` wrote in the data directory `data`.
    pub fn bootstrap(data: &Path) -> Self {
        let key = FileKey::load(
            &data.join("bootstrap-ra.key"),
            &SecretSource::File(data.join("bootstrap-ra-passphrase")),
        )
        .unwrap();
        Self {
            key,
            chain: pem_chain(&data.join("bootstrap-ra.pem")),
            root: pem_chain(&data.join("root.pem")),
        }
    }

    /// A Full PKI Request for a fresh P-256 key and `CN={name}`, with a
    /// fresh senderNonce, signed by the RA.
    pub fn request(&self, name: &str) -> Vec<u8> {
        let client = FileKey::generate(KeySpec::P256).unwrap();
        let subject = cmc_ca::x509::parse_name(&format!("CN={name}")).unwrap();
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).unwrap();
        let mut builder = RequestBuilder::new();
        builder
            .control(1, &SenderNonce(OctetString::new(nonce).unwrap()))
            .unwrap();
        builder
            .pkcs10(3, build_csr(&client, subject, Vec::new()).unwrap())
            .unwrap();
        let (cert, rest) = self.chain.split_first().unwrap();
        let signer = CmsSigner::new(&self.key, cert, rest).unwrap();
        builder.sign(&signer, SystemTime::now()).unwrap()
    }

    /// What an answer to one of [`Ra::request`]'s requests says.
    pub fn outcome(&self, answer: Option<(u16, Vec<u8>)>) -> Outcome {
        let Some((status, body)) = answer else {
            return Outcome::NoAnswer;
        };
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let opts = ResponseVerifyOptions::new(SystemTime::now(), &self.root);
        let response = decode_response(&body, &opts).unwrap();
        let statuses = response.statuses().unwrap();
        assert_eq!(statuses.len(), 1, "{statuses:?}");
        if statuses[0].status != CmcStatus::Success {
            assert_eq!(statuses[0].status, CmcStatus::Failed, "{statuses:?}");
            return Outcome::Refused(statuses[0].fail_info);
        }
        let issued = response.issued_by(&self.root[0]);
        assert_eq!(issued.len(), 1);
        Outcome::Issued(Box::new(issued[0].clone()))
    }
}

/// How one request ended for its client.
#[derive(Debug)]
pub enum Outcome {
    /// A verified success with this certificate.
    Issued(Box<Certificate>),
    /// A CMC failure with this failInfo.
    Refused(Option<CmcFailInfo>),
    /// No complete answer (the server went away).
    NoAnswer,
}

/// The store's spelling of a certificate's serial (lower-case hex of the
/// magnitude).
pub fn serial_hex(cert: &Certificate) -> String {
    cmc_store::Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes())
        .unwrap()
        .to_hex()
}

/// POSTs a CMC request to `addr{path}` on a new connection; the status and
/// body, or `None` if the connection broke before a whole answer.
pub fn post_cmc(addr: &str, path: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let bytes = request_bytes(
        "POST",
        path,
        &[("Content-Type", "application/pkcs7-mime")],
        body,
    );
    stream.write_all(&bytes).ok()?;
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut raw).ok()?;
    let response = parse_response(&raw)?;
    // A body cut short by the end of the connection is no answer.
    let announced = response
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())?;
    (response.body.len() == announced).then_some((response.status, response.body))
}

/// Sends `requests` from `threads` threads, each taking the next unsent
/// one, to the address `targets[i % targets.len()]` for request `i`; a
/// thread stops at its first request without an answer (the server is
/// gone). `progress` is called with the number of answers so far after
/// each one. Returns the answer (or none) per request sent, by index.
pub fn send_concurrently(
    requests: &[Vec<u8>],
    targets: &[(String, String)],
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> BTreeMap<usize, Option<(u16, Vec<u8>)>> {
    let next = AtomicUsize::new(0);
    let answered = AtomicUsize::new(0);
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(request) = requests.get(i) else {
                        return;
                    };
                    let (addr, path) = &targets[i % targets.len()];
                    let answer = post_cmc(addr, path, request);
                    let stop = answer.is_none();
                    results.lock().unwrap().insert(i, answer);
                    if stop {
                        return;
                    }
                    progress(answered.fetch_add(1, Ordering::SeqCst) + 1);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

/// The DER of a certificate, for comparing with the store's copy.
pub fn der_of(cert: &Certificate) -> Vec<u8> {
    cert.to_der().unwrap()
}

/// `cmc-tool --config CONFIG cert list --ca root --json` as serial → status,
/// failing if the store lists a serial twice.
pub fn listed_statuses(config: &Path) -> BTreeMap<String, String> {
    let (out, _) = super::cmc_tool_io(&[
        "--config",
        super::s(config),
        "cert",
        "list",
        "--ca",
        "root",
        "--json",
    ])
    .unwrap();
    let listed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let mut statuses = BTreeMap::new();
    for entry in &listed {
        let serial = entry["serial"].as_str().unwrap().to_owned();
        let status = entry["status"].as_str().unwrap().to_owned();
        assert!(
            statuses.insert(serial.clone(), status).is_none(),
            "serial {serial} is listed twice"
        );
    }
    statuses
}
