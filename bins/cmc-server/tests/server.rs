//! The built server on a loopback port: the embedded setup, the routes,
//! the limits, CMC requests and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use common::{mode, openssl, read_response, request_bytes, start, start_failing, write_config};

const CONFIG: &str =
    "[server]\nlisten = \"127.0.0.1:0\"\nmax_body_bytes = 4096\nread_timeout_secs = 2\n";

const FILES: [&str; 7] = [
    "cmc.db",
    "ca-passphrase",
    "root.key",
    "root.pem",
    "bootstrap-ra-passphrase",
    "bootstrap-ra.key",
    "bootstrap-ra.pem",
];

#[test]
fn first_start_creates_the_embedded_setup_and_the_second_reuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(tmp.path(), CONFIG);
    let server = start(tmp.path());
    let data = tmp.path().join("cmc-data");
    assert_eq!(mode(&data), 0o700);
    for f in FILES {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    let banner = server.banner.join("\n");
    assert!(banner.contains("first start: created"), "{banner}");
    let enroll = format!(
        "cmc-tool enroll --url http://{}/cmc/root --signer-cert cmc-data/bootstrap-ra.pem --signer-key cmc-data/bootstrap-ra.key \
         --passphrase-file cmc-data/bootstrap-ra-passphrase --ca-cert cmc-data/root.pem ",
        server.addr
    );
    assert!(banner.contains(&enroll), "{banner}");
    assert_eq!(
        std::fs::read(data.join("root.pem")).unwrap(),
        server.get("/ca/root.pem").body
    );
    let passphrase = std::fs::read_to_string(data.join("ca-passphrase")).unwrap();
    assert!(!banner.contains(passphrase.trim()), "passphrase printed");
    let before: Vec<_> = FILES
        .iter()
        .map(|f| std::fs::read(data.join(f)).unwrap())
        .skip(1)
        .collect();
    assert_eq!(server.terminate().code(), Some(0));

    let server = start(tmp.path());
    let banner = server.banner.join("\n");
    assert!(banner.contains("nothing created"), "{banner}");
    assert!(!banner.contains("first start"), "{banner}");
    assert!(
        banner.contains("bootstrap RA credential: cmc-data/bootstrap-ra.pem"),
        "{banner}"
    );
    let after: Vec<_> = FILES
        .iter()
        .map(|f| std::fs::read(data.join(f)).unwrap())
        .skip(1)
        .collect();
    assert_eq!(before, after, "a second start changed a bootstrap file");
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn publication_points_health_and_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(tmp.path(), CONFIG);
    let server = start(tmp.path());

    let pem = server.get("/ca/root.pem");
    assert_eq!(pem.status, 200);
    std::fs::write(tmp.path().join("root.pem"), &pem.body).unwrap();
    let (ok, out) = openssl(
        tmp.path(),
        &["x509", "-in", "root.pem", "-noout", "-subject"],
    );
    assert!(ok && out.contains("cmc-ca embedded root"), "{out}");
    let der = server.get("/ca/root.der");
    assert_eq!(der.status, 200);
    assert_eq!(der.header("content-type"), Some("application/pkix-cert"));
    let (_, from_pem) = der::pem::decode_vec(&pem.body).unwrap();
    assert_eq!(der.body, from_pem);

    let crl = server.get("/crl/root.crl");
    assert_eq!(crl.status, 200);
    assert_eq!(crl.header("content-type"), Some("application/pkix-crl"));
    let max_age: i64 = crl
        .header("cache-control")
        .and_then(|v| v.strip_prefix("max-age="))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(max_age > 0 && max_age <= 7 * 86_400, "{max_age}");
    assert!(crl.header("last-modified").unwrap().ends_with(" GMT"));
    std::fs::write(tmp.path().join("root.crl"), &crl.body).unwrap();
    let (ok, out) = openssl(
        tmp.path(),
        &[
            "crl", "-inform", "DER", "-in", "root.crl", "-CAfile", "root.pem", "-noout",
        ],
    );
    assert!(ok && out.contains("verify OK"), "{out}");

    let health = server.get("/healthz");
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));

    for path in [
        "/ca/nope.pem",
        "/crl/nope.crl",
        "/ca/root.txt",
        "/nothing",
        "/cmc/nope",
        "/cmc/root/x",
    ] {
        assert_eq!(
            server.get(path).status,
            if path == "/cmc/nope" { 405 } else { 404 },
            "{path}"
        );
    }
    assert_eq!(
        server
            .post("/cmc/nope", "application/pkcs7-mime", b"x")
            .status,
        404
    );
    let post_crl = server.post("/crl/root.crl", "text/plain", b"");
    assert_eq!(post_crl.status, 405);

    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for line in [
        "cmc_http_requests_total{route=\"ca_cert\",status=\"200\"} 2",
        "cmc_http_requests_total{route=\"crl\",status=\"200\"} 1",
        "cmc_http_requests_total{route=\"healthz\",status=\"200\"} 1",
        "cmc_http_requests_total{route=\"other\",status=\"404\"} 2",
        "cmc_http_requests_total{route=\"ca_cert\",status=\"404\"} 2",
        "cmc_http_requests_total{route=\"cmc\",status=\"404\"} 1",
        "cmc_http_request_duration_seconds_count{route=\"crl\"} 3",
        "cmc_certificates_issued_total 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
}

#[test]
fn http_errors_for_what_is_not_cmc() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(tmp.path(), CONFIG);
    let server = start(tmp.path());

    let get = server.get("/cmc/root");
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    assert_eq!(server.get("/cmc01").status, 405);

    let plain = server.post("/cmc/root", "text/plain", b"hello");
    assert_eq!(plain.status, 415);
    assert!(plain.text().contains("text/plain"), "{}", plain.text());
    let none = server.request("POST", "/cmc/root", &[], b"x");
    assert_eq!(none.status, 415);

    // Declared too large: refused from the Content-Length alone.
    let big = vec![0x30u8; 5000];
    assert_eq!(
        server
            .post("/cmc/root", "application/pkcs7-mime", &big)
            .status,
        413
    );
    // Chunked, without a length: refused while reading.
    let mut chunked = Vec::new();
    for _ in 0..5 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend_from_slice(&[0x30; 0x400]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = server.request(
        "POST",
        "/cmc/root",
        &[
            ("Content-Type", "application/pkcs7-mime"),
            ("Transfer-Encoding", "chunked"),
        ],
        &chunked,
    );
    assert_eq!(r.status, 413, "{}", r.text());

    let garbage = server.post(
        "/cmc/root",
        "application/pkcs7-mime; smime-type=CMC-request",
        b"this is not CMS",
    );
    assert_eq!(garbage.status, 400);
    assert!(
        garbage.text().contains("not a CMC request"),
        "{}",
        garbage.text()
    );
    let garbage = server.post(
        "/cmc01",
        "APPLICATION/PKCS7-MIME",
        &[0x30, 0x03, 0x02, 0x01, 0x00],
    );
    assert_eq!(garbage.status, 400);

    // A body that stops arriving: 408 after read_timeout_secs.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = request_bytes(
        "POST",
        "/cmc/root",
        &[
            ("Content-Type", "application/pkcs7-mime"),
            ("Content-Length", "100"),
        ],
        b"",
    );
    req.extend_from_slice(&[0x30; 10]);
    stream.write_all(&req).unwrap();
    let started = std::time::Instant::now();
    let slow = read_response(&mut stream);
    assert_eq!(slow.status, 408);
    assert!(started.elapsed() >= Duration::from_millis(1500));

    let metrics = server.get("/metrics").text();
    for line in [
        "cmc_http_requests_total{route=\"cmc\",status=\"405\"} 2",
        "cmc_http_requests_total{route=\"cmc\",status=\"415\"} 2",
        "cmc_http_requests_total{route=\"cmc\",status=\"413\"} 2",
        "cmc_http_requests_total{route=\"cmc\",status=\"400\"} 2",
        "cmc_http_requests_total{route=\"cmc\",status=\"408\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing in\n{metrics}"
        );
    }
}

fn pem_cert(path: &std::path::Path) -> x509_cert::Certificate {
    let (_, der) = der::pem::decode_vec(&std::fs::read(path).unwrap()).unwrap();
    <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap()
}

#[test]
fn full_enrollment_with_the_bootstrap_ra() {
    use cmc_keys::{FileKey, KeySpec, SecretSource};

    let tmp = tempfile::tempdir().unwrap();
    write_config(tmp.path(), CONFIG);
    let server = start(tmp.path());
    let data = tmp.path().join("cmc-data");
    let ra_key = FileKey::load(
        &data.join("bootstrap-ra.key"),
        &SecretSource::File(data.join("bootstrap-ra-passphrase")),
    )
    .unwrap();
    let ra_cert = pem_cert(&data.join("bootstrap-ra.pem"));
    let root = <x509_cert::Certificate as der::Decode>::from_der(&server.get("/ca/root.der").body)
        .unwrap();

    let key = FileKey::generate(KeySpec::P256).unwrap();
    let subject = x509_cert::name::Name::from_str("CN=enrolled.example").unwrap();
    let csr = cmc_codec::build_csr(&key, subject, Vec::new()).unwrap();
    let mut builder = cmc_codec::RequestBuilder::new();
    let nonce = der::asn1::OctetString::new(*b"0123456789abcdef").unwrap();
    builder.control(1, &cmc_asn1::SenderNonce(nonce)).unwrap();
    builder.pkcs10(2, csr).unwrap();
    let signer = cmc_codec::CmsSigner::new(&ra_key, &ra_cert, &[]).unwrap();
    let request = builder.sign(&signer, SystemTime::now()).unwrap();

    let reply = server.post(
        "/cmc/root",
        "application/pkcs7-mime; smime-type=CMC-request",
        &request,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/pkcs7-mime; smime-type=CMC-response")
    );
    let trusted = [root.clone()];
    let verified = cmc_codec::decode_response(
        &reply.body,
        &cmc_codec::ResponseVerifyOptions::new(SystemTime::now(), &trusted),
    )
    .unwrap();
    let statuses = verified.statuses().unwrap();
    assert!(!statuses.is_empty());
    assert!(
        statuses
            .iter()
            .all(|s| s.status == cmc_asn1::CmcStatus::Success),
        "{statuses:?}"
    );
    let issued = verified.issued_by(&root);
    assert_eq!(issued.len(), 1);
    assert_eq!(
        issued[0].tbs_certificate().subject().to_string(),
        "CN=enrolled.example"
    );

    // The same request again is a replay: a CMC failure, still HTTP 200.
    let replay = server.post("/cmc/root", "application/pkcs7-mime", &request);
    assert_eq!(replay.status, 200);
    let replayed = cmc_codec::decode_response(
        &replay.body,
        &cmc_codec::ResponseVerifyOptions::new(SystemTime::now(), &trusted),
    )
    .unwrap();
    let statuses = replayed.statuses().unwrap();
    assert!(
        statuses
            .iter()
            .any(|s| s.status == cmc_asn1::CmcStatus::Failed),
        "{statuses:?}"
    );

    let bad = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/peers/pkcs11_ca/test_cmc_pkcs10_req_bad_signature.der"),
    )
    .unwrap();
    let reply = server.post("/cmc/root", "application/pkcs7-mime", &bad);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/pkcs7-mime; smime-type=CMC-response")
    );
    let verified = cmc_codec::decode_response(
        &reply.body,
        &cmc_codec::ResponseVerifyOptions::new(SystemTime::now(), &trusted),
    )
    .unwrap();
    let statuses = verified.statuses().unwrap();
    assert!(
        statuses
            .iter()
            .any(|s| s.status == cmc_asn1::CmcStatus::Failed
                && s.fail_info == Some(cmc_asn1::CmcFailInfo::BadMessageCheck)),
        "{statuses:?}"
    );

    let metrics = server.get("/metrics").text();
    for line in [
        "cmc_certificates_issued_total 1",
        "cmc_fail_info_total{fail_info=\"badMessageCheck\"} 1",
        "cmc_http_requests_total{route=\"cmc\",status=\"200\"} 3",
        "cmc_responses_total{status=\"failed\"} 2",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing in\n{metrics}"
        );
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("cmc_responses_total{status=\"success\"}") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

#[test]
fn unknown_config_key_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(
        tmp.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\nlisten_port = 8080\n",
    );
    let (status, stderr) = start_failing(tmp.path());
    assert!(!status.success());
    assert!(stderr.contains("listen_port"), "{stderr}");
    assert!(
        !tmp.path().join("cmc-data").exists(),
        "nothing is created for a bad config"
    );
}

#[test]
fn cli_help_version_and_bad_arguments() {
    let bin = env!("CARGO_BIN_EXE_cmc-server");
    let help = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--config FILE"));
    let version = std::process::Command::new(bin)
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("cmc-server "));
    let bad = std::process::Command::new(bin)
        .arg("--pin=1234")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn sigterm_drains_the_request_in_flight_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(
        tmp.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\nread_timeout_secs = 20\n",
    );
    let mut server = start(tmp.path());
    // A request whose body is half sent when the signal arrives.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = b"definitely not CMS";
    let req = request_bytes(
        "POST",
        "/cmc/root",
        &[("Content-Type", "application/pkcs7-mime")],
        body,
    );
    let (first, second) = req.split_at(req.len() - 5);
    stream.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    // No new connections are taken...
    assert!(TcpStream::connect(&server.addr).is_err());
    // ...but the one in flight is answered.
    stream.write_all(second).unwrap();
    let reply = read_response(&mut stream);
    assert_eq!(reply.status, 400);
    let status = server.wait();
    assert_eq!(status.code(), Some(0));
}

/// Reads from `stream` until the peer closes it; returns the bytes and the
/// time that took.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return (all, started.elapsed()),
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn idle_connections_and_slow_heads_have_their_own_timeouts() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(
        tmp.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\nread_timeout_secs = 4\nidle_timeout_secs = 1\n",
    );
    let server = start(tmp.path());

    // A kept-alive connection is answered, then closed once idle for 1 s,
    // long before the 4 s read timeout.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let (raw, waited) = read_until_closed(&mut stream);
    let reply = common::parse_response(&raw).unwrap();
    assert_eq!(reply.status, 200);
    assert!(
        waited < Duration::from_millis(3500),
        "closed after {waited:?}"
    );

    // A request head that starts but does not finish gets the read timeout,
    // not the idle timeout.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    let (raw, waited) = read_until_closed(&mut stream);
    assert!(
        common::parse_response(&raw).is_none_or(|r| r.status != 200),
        "{raw:?}"
    );
    assert!(
        waited >= Duration::from_millis(2500),
        "closed after {waited:?}"
    );
}

#[test]
fn simple_pki_requests_follow_the_ca_setting() {
    use cmc_keys::{FileKey, KeySpec};
    use der::Encode;

    let tmp = tempfile::tempdir().unwrap();
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let subject = x509_cert::name::Name::from_str("CN=simple.example").unwrap();
    let csr = cmc_codec::build_csr(&key, subject, Vec::new())
        .unwrap()
        .to_der()
        .unwrap();

    // The default: a CA does not take bare PKCS #10.
    write_config(tmp.path(), CONFIG);
    let server = start(tmp.path());
    let refused = server.post("/cmc/root", "application/pkcs10", &csr);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(server.terminate().code(), Some(0));

    write_config(
        tmp.path(),
        &format!("{CONFIG}[ca.root]\nallow_simple_requests = true\n"),
    );
    let server = start(tmp.path());
    let reply = server.post("/cmc01", "application/pkcs10", &csr);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/pkcs7-mime; smime-type=certs-only")
    );
    let certs = cmc_codec::decode_certs_only(&reply.body, &cmc_codec::Limits::default()).unwrap();
    assert!(
        certs
            .iter()
            .any(|c| c.tbs_certificate().subject().to_string() == "CN=simple.example"),
        "{certs:?}"
    );
    let garbage = server.post("/cmc01", "application/pkcs10", b"not a CSR");
    assert_eq!(garbage.status, 400);
    let metrics = server.get("/metrics").text();
    assert!(
        metrics
            .lines()
            .any(|l| l == "cmc_certificates_issued_total 1"),
        "{metrics}"
    );
}

/// An enrollment for `subject`, signed by the bootstrap RA in `data`.
fn ra_signed_request(data: &std::path::Path, subject: &str, nonce: [u8; 16]) -> Vec<u8> {
    use cmc_keys::{FileKey, KeySpec, SecretSource};

    let ra_key = FileKey::load(
        &data.join("bootstrap-ra.key"),
        &SecretSource::File(data.join("bootstrap-ra-passphrase")),
    )
    .unwrap();
    let ra_cert = pem_cert(&data.join("bootstrap-ra.pem"));
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let subject = x509_cert::name::Name::from_str(subject).unwrap();
    let csr = cmc_codec::build_csr(&key, subject, Vec::new()).unwrap();
    let mut builder = cmc_codec::RequestBuilder::new();
    let nonce = der::asn1::OctetString::new(nonce).unwrap();
    builder.control(1, &cmc_asn1::SenderNonce(nonce)).unwrap();
    builder.pkcs10(2, csr).unwrap();
    let signer = cmc_codec::CmsSigner::new(&ra_key, &ra_cert, &[]).unwrap();
    builder.sign(&signer, SystemTime::now()).unwrap()
}

#[test]
fn unauthenticated_failures_are_limited_per_source_address() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(
        tmp.path(),
        &format!("{CONFIG}unauthenticated_failures_per_minute = 2\n"),
    );
    let server = start(tmp.path());
    let data = tmp.path().join("cmc-data");
    let cms = "application/pkcs7-mime; smime-type=CMC-request";
    let bad = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/peers/pkcs11_ca/test_cmc_pkcs10_req_bad_signature.der"),
    )
    .unwrap();

    // An authenticated request that fails (a replay) is not counted.
    let good = ra_signed_request(&data, "CN=first.example", *b"first-nonce-0001");
    for _ in 0..2 {
        let reply = server.post("/cmc/root", cms, &good);
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    // Two unauthenticated failures: a signed CMC failure
    // (badMessageCheck) and a body that is not CMS at all.
    let reply = server.post("/cmc/root", cms, &bad);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/pkcs7-mime; smime-type=CMC-response")
    );
    let garbage = server.post("/cmc/root", cms, b"this is not CMS");
    assert_eq!(garbage.status, 400, "{}", garbage.text());

    // Over the limit: 429 before the engine sees the request, so nothing
    // is signed, for every CMC POST from this address (the RA's too, and
    // on the default path) until a failure has been forgiven.
    let late = ra_signed_request(&data, "CN=late.example", *b"late-nonce-00001");
    for (path, body) in [("/cmc/root", &bad), ("/cmc/root", &late), ("/cmc01", &late)] {
        let reply = server.post(path, cms, body);
        assert_eq!(reply.status, 429, "{path}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(reply.text().contains("retry later"), "{}", reply.text());
        // Two failures a minute: one is forgiven every 30 s.
        let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry), "Retry-After: {retry}");
    }
    // Only CMC is limited.
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/crl/root.crl").status, 200);

    let metrics = server.get("/metrics").text();
    for line in [
        "cmc_http_requests_total{route=\"cmc\",status=\"429\"} 3",
        "cmc_rate_limited_total 3",
        "cmc_unauthenticated_failures_total 2",
        "cmc_certificates_issued_total 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing in\n{metrics}"
        );
    }
}
