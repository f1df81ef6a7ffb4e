//! HTTPS: the server certificate made with OpenSSL, a rustls client, and
//! client certificates: required ones, and the TLS client that must be the
//! CMS signer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cmc_keys::{FileKey, KeySpec, SecretSource};
use common::{Response, openssl, parse_response, request_bytes, start, write_config};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A test CA, a server certificate for 127.0.0.1 and a client certificate,
/// all P-256, in `dir`.
fn make_tls_files(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut steps: Vec<Vec<&str>> = vec![
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "tls-ca.key",
                "-out",
                "tls-ca.pem",
                "-subj",
                "/CN=test TLS CA",
                "-days",
                "2",
            ],
        ]
        .concat(),
    ];
    for who in ["server", "client"] {
        let (key, csr, pem, ext) = match who {
            "server" => ("server.key", "server.csr", "server.pem", "server.ext"),
            _ => ("client.key", "client.csr", "client.pem", "client.ext"),
        };
        let subj = if who == "server" {
            "/CN=127.0.0.1"
        } else {
            "/CN=some TLS client"
        };
        steps.push(
            [
                &["req", "-new"][..],
                &ec,
                &["-keyout", key, "-out", csr, "-subj", subj],
            ]
            .concat(),
        );
        steps.push(vec![
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            "tls-ca.pem",
            "-CAkey",
            "tls-ca.key",
            "-CAcreateserial",
            "-out",
            pem,
            "-days",
            "2",
            "-extfile",
            ext,
        ]);
    }
    for args in steps {
        let (ok, out) = openssl(dir, &args);
        assert!(ok, "openssl {args:?}: {out}");
    }
}

fn client_config(
    dir: &Path,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.join("tls-ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder =
        rustls::ClientConfig::builder_with_provider(Arc::new(cmc_server::tls::crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    Arc::new(match client {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).unwrap(),
    })
}

/// One request over TLS; `Err` with the error text when the connection
/// fails before a whole response arrives.
fn tls_request(
    addr: &str,
    config: &Arc<rustls::ClientConfig>,
    req: &[u8],
) -> Result<Response, String> {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(req).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let result = tls.read_to_end(&mut raw);
    match (parse_response(&raw), result) {
        (Some(r), _) => Ok(r),
        (None, Err(e)) => Err(e.to_string()),
        (None, Ok(_)) => Err(format!("no response: {raw:?}")),
    }
}

fn get(path: &str) -> Vec<u8> {
    request_bytes("GET", path, &[], b"")
}

#[test]
fn healthz_over_tls() {
    let tmp = tempfile::tempdir().unwrap();
    make_tls_files(tmp.path());
    write_config(
        tmp.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\n[server.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n",
    );
    let server = start(tmp.path());
    let banner = server.banner.join("\n");
    assert!(
        banner.contains(&format!("https://{}/cmc/root", server.addr)),
        "{banner}"
    );
    let config = client_config(tmp.path(), None);
    let r = tls_request(&server.addr, &config, &get("/healthz")).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(&server.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    plain.write_all(&get("/healthz")).unwrap();
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(!raw.starts_with(b"HTTP/"), "{raw:?}");
    assert_eq!(server.terminate().code(), Some(0));
}

fn ra_signed_request(data: &Path, subject: &str) -> Vec<u8> {
    let ra_key = FileKey::load(
        &data.join("bootstrap-ra.key"),
        &SecretSource::File(data.join("bootstrap-ra-passphrase")),
    )
    .unwrap();
    let (_, der) =
        der::pem::decode_vec(&std::fs::read(data.join("bootstrap-ra.pem")).unwrap()).unwrap();
    let ra_cert = <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap();
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let csr = cmc_codec::build_csr(
        &key,
        x509_cert::name::Name::from_str(subject).unwrap(),
        Vec::new(),
    )
    .unwrap();
    let mut builder = cmc_codec::RequestBuilder::new();
    let mut nonce = [0u8; 16];
    nonce[..subject.len().min(16)].copy_from_slice(&subject.as_bytes()[..subject.len().min(16)]);
    builder
        .control(
            1,
            &cmc_asn1::SenderNonce(der::asn1::OctetString::new(nonce).unwrap()),
        )
        .unwrap();
    builder.pkcs10(2, csr).unwrap();
    let signer = cmc_codec::CmsSigner::new(&ra_key, &ra_cert, &[]).unwrap();
    let body = builder.sign(&signer, SystemTime::now()).unwrap();
    request_bytes(
        "POST",
        "/cmc/root",
        &[(
            "Content-Type",
            "application/pkcs7-mime; smime-type=CMC-request",
        )],
        &body,
    )
}

fn statuses(reply: &Response, root: &x509_cert::Certificate) -> Vec<cmc_codec::ResponseStatus> {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let trusted = [root.clone()];
    cmc_codec::decode_response(
        &reply.body,
        &cmc_codec::ResponseVerifyOptions::new(SystemTime::now(), &trusted),
    )
    .unwrap()
    .statuses()
    .unwrap()
}

#[test]
fn required_client_certificates_and_the_cms_signer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    make_tls_files(dir);
    // A first plain start creates the embedded root and the RA credential.
    write_config(dir, "[server]\nlisten = \"127.0.0.1:0\"\n");
    let server = start(dir);
    let root_pem = server.get("/ca/root.pem").body;
    assert_eq!(server.terminate().code(), Some(0));
    let root = {
        let (_, der) = der::pem::decode_vec(&root_pem).unwrap();
        <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap()
    };
    // Clients may come with a certificate from the test TLS CA or from the
    // embedded root (the bootstrap RA's).
    let mut anchors = std::fs::read(dir.join("tls-ca.pem")).unwrap();
    anchors.extend_from_slice(&root_pem);
    std::fs::write(dir.join("clients.pem"), anchors).unwrap();
    write_config(
        dir,
        "[server]\nlisten = \"127.0.0.1:0\"\n[server.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n\
         client_ca = \"clients.pem\"\nrequire_client_cert = true\n",
    );
    let server = start(dir);
    assert!(server.banner.join("\n").contains("nothing created"));

    // Without a client certificate the connection is refused.
    let anonymous = client_config(dir, None);
    let refused = tls_request(&server.addr, &anonymous, &get("/healthz"));
    assert!(refused.is_err(), "{refused:?}");

    // With the test client certificate: served, but a request signed by the
    // RA is not that client's: badIdentity, inside an HTTP 200.
    let chain = CertificateDer::pem_file_iter(dir.join("client.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("client.key")).unwrap();
    let other = client_config(dir, Some((chain, key)));
    let r = tls_request(&server.addr, &other, &get("/healthz")).unwrap();
    assert_eq!(r.status, 200);
    let data = dir.join("cmc-data");
    let r = tls_request(
        &server.addr,
        &other,
        &ra_signed_request(&data, "CN=mismatch"),
    )
    .unwrap();
    let s = statuses(&r, &root);
    assert!(
        s.iter().any(|s| s.status == cmc_asn1::CmcStatus::Failed
            && s.fail_info == Some(cmc_asn1::CmcFailInfo::BadIdentity)),
        "{s:?}"
    );

    // With the RA's own certificate as the TLS client certificate: issued.
    let ra_key = FileKey::load(
        &data.join("bootstrap-ra.key"),
        &SecretSource::File(data.join("bootstrap-ra-passphrase")),
    )
    .unwrap();
    let ra_key_pem = ra_key.to_unencrypted_pem().unwrap();
    let ra_chain = CertificateDer::pem_file_iter(data.join("bootstrap-ra.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let ra_tls = client_config(
        dir,
        Some((
            ra_chain,
            PrivateKeyDer::from_pem_slice(ra_key_pem.as_bytes()).unwrap(),
        )),
    );
    let r = tls_request(
        &server.addr,
        &ra_tls,
        &ra_signed_request(&data, "CN=matching"),
    )
    .unwrap();
    let s = statuses(&r, &root);
    assert!(
        !s.is_empty() && s.iter().all(|s| s.status == cmc_asn1::CmcStatus::Success),
        "{s:?}"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

/// `cmc-tool enroll` over https://, the server requiring a client
/// certificate: without --tls-client-auth the handshake fails; with it the
/// signer's certificate and key make the TLS client the CMS signer, and the
/// certificate is issued. The server's certificate must chain to --tls-ca.
#[test]
fn cmc_tool_enrolls_over_https_presenting_the_signer_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    make_tls_files(dir);
    write_config(dir, "[server]\nlisten = \"127.0.0.1:0\"\n");
    let server = start(dir);
    assert_eq!(server.terminate().code(), Some(0));
    let data = dir.join("cmc-data");
    write_config(
        dir,
        "[server]\nlisten = \"127.0.0.1:0\"\n[server.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n\
         client_ca = \"cmc-data/root.pem\"\nrequire_client_cert = true\n",
    );
    let server = start(dir);
    let url = format!("https://{}/cmc/root", server.addr);
    let file = |name: &str| data.join(name).to_str().unwrap().to_owned();
    let tls_ca = dir.join("tls-ca.pem").to_str().unwrap().to_owned();
    let signer = common::bootstrap_enroll_args(&data);
    let enroll = |name: &str, extra: &[&str]| {
        let cert = file(&format!("{name}.pem"));
        let key = file(&format!("{name}.key"));
        let mut args = vec![
            "cmc-tool",
            "enroll",
            "--url",
            &url,
            "--new-key",
            &key,
            "--new-key-unencrypted",
            "--subject",
            "CN=over-https.example.test",
            "--out-cert",
            &cert,
        ];
        args.extend(signer.iter().map(String::as_str));
        args.extend_from_slice(extra);
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut io = cmc_tool::Io {
            out: &mut out,
            err: &mut err,
            out_is_terminal: false,
        };
        cmc_tool::run_args(args, &mut io)
            .map(|()| cert.clone())
            .map_err(|e| format!("{e:#}"))
    };

    // The server's certificate is not from the CMC root: refused.
    let e = enroll("untrusted", &[]).unwrap_err();
    assert!(e.contains("UnknownIssuer"), "{e}");
    // Trusted, but no client certificate: the server ends the handshake.
    let e = enroll("anonymous", &["--tls-ca", &tls_ca]).unwrap_err();
    // (TLS 1.3: the alert can come while sending or while reading.)
    assert!(
        ["CertificateRequired", "Broken pipe", "Connection reset"]
            .iter()
            .any(|m| e.contains(m)),
        "{e}"
    );
    assert!(!data.join("anonymous.pem").exists());
    // The signer as the TLS client: issued.
    let cert = enroll("mutual", &["--tls-ca", &tls_ca, "--tls-client-auth"]).unwrap();
    let (ok, out) = openssl(dir, &["verify", "-CAfile", &file("root.pem"), &cert]);
    assert!(ok && out.contains(": OK"), "{out}");
}

#[test]
fn cmc_tool_renews_over_https_with_its_certificate_as_the_tls_client() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    make_tls_files(dir);
    write_config(dir, "[server]\nlisten = \"127.0.0.1:0\"\n");
    let server = start(dir);
    assert_eq!(server.terminate().code(), Some(0));
    let data = dir.join("cmc-data");
    write_config(
        dir,
        "[server]\nlisten = \"127.0.0.1:0\"\n[server.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n\
         client_ca = \"cmc-data/root.pem\"\nrequire_client_cert = true\n",
    );
    let server = start(dir);
    let url = format!("https://{}/cmc/root", server.addr);
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let (cert, key, bundle, crl) = (
        path("svc.pem"),
        path("svc.key"),
        path("bundle.pem"),
        path("root.crl"),
    );
    let tls_ca = path("tls-ca.pem");
    std::fs::copy(data.join("root.pem"), &bundle).unwrap();
    let signer = common::bootstrap_enroll_args(&data);
    let mut args = vec![
        "enroll",
        "--url",
        &url,
        "--new-key",
        &key,
        "--new-key-unencrypted",
        "--subject",
        "CN=renewed-over-https.example.test",
        "--out-cert",
        &cert,
        "--tls-ca",
        &tls_ca,
        "--tls-client-auth",
    ];
    args.extend(signer.iter().map(String::as_str));
    common::cmc_tool(&args).unwrap();
    let (_, before) = openssl(dir, &["x509", "-in", &cert, "-noout", "-serial"]);

    let renew = |extra: &[&str]| {
        let mut args = vec![
            "renew",
            "--once",
            "--threshold",
            "400d",
            "--cert",
            &cert,
            "--key",
            &key,
            "--unencrypted-key",
            "--url",
            &url,
            "--ca-bundle",
            &bundle,
            "--crl-out",
            &crl,
            "--tls-ca",
            &tls_ca,
        ];
        args.extend_from_slice(extra);
        common::cmc_tool_io(&args)
    };
    // Without a client certificate the server ends the handshake.
    let e = renew(&[]).unwrap_err();
    assert!(
        ["CertificateRequired", "Broken pipe", "Connection reset"]
            .iter()
            .any(|m| e.contains(m)),
        "{e}"
    );
    // The certificate being renewed as the TLS client: renewed, and the
    // CRL fetched over the same TLS set-up.
    let (_, log) = renew(&["--tls-client-auth"]).unwrap();
    assert!(log.contains("renewed"), "{log}");
    assert!(!log.contains("not refreshed"), "{log}");
    let (ok, out) = openssl(dir, &["verify", "-CAfile", &bundle, &cert]);
    assert!(ok && out.contains(": OK"), "{out}");
    let (_, after) = openssl(dir, &["x509", "-in", &cert, "-noout", "-serial"]);
    assert_ne!(before, after);
    let (ok, out) = openssl(
        dir,
        &[
            "crl", "-inform", "DER", "-in", &crl, "-CAfile", &bundle, "-noout",
        ],
    );
    assert!(ok && out.contains("verify OK"), "{out}");
}
