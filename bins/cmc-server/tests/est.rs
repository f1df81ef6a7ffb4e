//! EST (RFC 7030) end to end over HTTPS, with clients nobody here wrote:
//! `curl` and `openssl` against the built `cmc-server` (a test TLS CA made
//! with OpenSSL; client certificates asked for and verified against the CMC
//! root), and acme2certifier's EST CA handler driven by
//! `scripts/est_peer.py`. Every certificate issued is checked with
//! `openssl verify` against the CA bundle that `GET cacerts` returned.
//!
//! The operator's side is `cmc-tool` (its library, parsed from a command
//! line as the binary does): `client add`, `secret add`, `request`,
//! `pending list/approve`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Response, Server, cmc_tool, openssl, parse_response, s, start};

/// The profiles every test's server has: the default one (its key rules
/// are what `csrattrs` must report), one that lets the CA make the key
/// pair, and one that holds requests for an agent.
const PROFILES: &str = "default_profile = \"default\"\n\
[profile.default]\n\
[profile.default.keys]\n\
ec_curves = [\"P-256\", \"P-384\"]\n\
rsa_sizes = [3072]\n\
[profile.keygen]\n\
server_key_generation = true\n\
[profile.held]\n\
require_approval = true\n";

const PKCS10: &str = "application/pkcs10";
const CMC_REQUEST: &str = "application/pkcs7-mime; smime-type=CMC-request";

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// Nothing: no client certificate, no Authorization.
    None,
    /// The TLS client certificate NAME.pem with its key NAME.key.
    Cert(&'a str),
    /// HTTP Basic (curl `-u`).
    Basic(&'a str, &'a str),
}

/// A server on the embedded default (root CA "root", bootstrap RA) with
/// [`PROFILES`], serving HTTPS with a certificate from a test TLS CA and
/// asking for client certificates from the CMC root.
struct Est {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    data: PathBuf,
    server: Server,
    tls: bool,
}

impl Est {
    /// The same server without `[server.tls]`: plain HTTP.
    fn start_plain() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("profiles.toml"), PROFILES).unwrap();
        common::write_config(
            &dir,
            "profiles = \"profiles.toml\"\n[server]\nlisten = \"127.0.0.1:0\"\n",
        );
        let server = start(&dir);
        Self {
            _tmp: tmp,
            data: dir.join("cmc-data"),
            dir,
            server,
            tls: false,
        }
    }

    fn start() -> Self {
        Self::start_with("")
    }

    /// [`Est::start`] with `server_keys` added to `[server]`.
    fn start_with(server_keys: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        make_tls_files(&dir);
        std::fs::write(dir.join("profiles.toml"), PROFILES).unwrap();
        // The first start creates the root (and so the client trust anchor).
        common::write_config(
            &dir,
            "profiles = \"profiles.toml\"\n[server]\nlisten = \"127.0.0.1:0\"\n",
        );
        let first = start(&dir);
        assert_eq!(first.terminate().code(), Some(0));
        common::write_config(
            &dir,
            &format!(
                "profiles = \"profiles.toml\"\n[server]\nlisten = \"127.0.0.1:0\"\n{server_keys}\
                 [server.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n\
                 client_ca = \"cmc-data/root.pem\"\nrequire_client_cert = false\n"
            ),
        );
        let server = start(&dir);
        assert!(
            server
                .banner
                .join("\n")
                .contains(&format!("https://{}", server.addr)),
            "{:?}",
            server.banner
        );
        Self {
            _tmp: tmp,
            data: dir.join("cmc-data"),
            dir,
            server,
            tls: true,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.server.addr)
    }

    /// `cmc-tool --config cmc.toml ARGS`: what it printed.
    fn admin(&self, args: &[&str]) -> String {
        common::admin(&self.file("cmc.toml"), args)
    }

    /// `cmc-tool client add ID --role ROLE --issue --subject SUBJECT`: the
    /// credential ID.pem and its key ID.key (unencrypted) in the test
    /// directory.
    fn add_client(&self, id: &str, role: &str, subject: &str) {
        common::add_root_client(&self.file("cmc.toml"), &self.dir, id, role, subject);
    }

    /// `cmc-tool secret add --ca root --identification ID [--profile P]`:
    /// the one-time secret it printed.
    fn add_secret(&self, id: &str, profile: Option<&str>) -> String {
        let extra = profile.map_or_else(Vec::new, |p| vec!["--profile", p]);
        common::add_root_secret(&self.file("cmc.toml"), id, &extra)
    }

    /// One request with curl to `/.well-known/est/{path}`: `post` is the
    /// Content-Type and the file whose bytes are the body.
    fn curl(&self, path: &str, auth: Auth<'_>, post: Option<(&str, &Path)>) -> Response {
        self.curl_args(path, auth, post, &[])
    }

    fn curl_args(
        &self,
        path: &str,
        auth: Auth<'_>,
        post: Option<(&str, &Path)>,
        extra: &[&str],
    ) -> Response {
        let url = format!("{}/.well-known/est/{path}", self.base_url());
        let tls_ca = self.file("tls-ca.pem");
        // -q first: no ~/.curlrc; no proxy for loopback whatever the
        // environment says.
        let mut args: Vec<String> = ["-q", "-sS", "-i", "--http1.1", "--noproxy", "*"]
            .map(str::to_owned)
            .to_vec();
        if self.tls {
            args.extend(["--cacert".to_owned(), s(&tls_ca).to_owned()]);
        }
        match auth {
            Auth::None => {}
            Auth::Cert(name) => {
                for (flag, ext) in [("--cert", "pem"), ("--key", "key")] {
                    args.push(flag.to_owned());
                    args.push(s(&self.file(&format!("{name}.{ext}"))).to_owned());
                }
            }
            Auth::Basic(id, secret) => {
                args.push("-u".to_owned());
                args.push(format!("{id}:{secret}"));
            }
        }
        if let Some((content_type, body)) = post {
            args.push("-H".to_owned());
            args.push(format!("Content-Type: {content_type}"));
            // No 100-continue round: one request, one response.
            args.push("-H".to_owned());
            args.push("Expect:".to_owned());
            args.push("--data-binary".to_owned());
            args.push(format!("@{}", s(body)));
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        args.push(url);
        let out = Command::new("curl")
            .args(&args)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        parse_response(&out.stdout).unwrap_or_else(|| {
            panic!(
                "curl {path}: not an HTTP response: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// `GET cacerts` decoded with `openssl base64 -d | openssl pkcs7
    /// -print_certs` into ca-bundle.pem: the trust anchor of every check.
    fn ca_bundle(&self) -> PathBuf {
        let r = self.curl("cacerts", Auth::None, None);
        assert_eq!(r.status, 200, "{}", r.text());
        let (bundle, n) = self.certs_of("ca-bundle", &r);
        assert_eq!(n, 1, "the embedded root has no issuer above it");
        bundle
    }

    /// A certs-only reply (base64) as NAME.pem, with the number of
    /// certificates in it.
    fn certs_of(&self, name: &str, r: &Response) -> (PathBuf, usize) {
        assert_eq!(
            r.header("content-type"),
            Some("application/pkcs7-mime; smime-type=certs-only"),
            "{name}: {}",
            r.text()
        );
        self.decode_certs_only(name, &r.body)
    }

    fn decode_certs_only(&self, name: &str, base64: &[u8]) -> (PathBuf, usize) {
        let b64 = self.file(&format!("{name}.p7.b64"));
        let der = self.file(&format!("{name}.p7.der"));
        let pem = self.file(&format!("{name}.pem"));
        std::fs::write(&b64, base64).unwrap();
        self.openssl_ok(&["base64", "-d", "-in", s(&b64), "-out", s(&der)]);
        self.openssl_ok(&[
            "pkcs7",
            "-inform",
            "DER",
            "-in",
            s(&der),
            "-print_certs",
            "-out",
            s(&pem),
        ]);
        let n = std::fs::read_to_string(&pem)
            .unwrap()
            .matches("-----BEGIN CERTIFICATE-----")
            .count();
        (pem, n)
    }

    fn openssl_ok(&self, args: &[&str]) -> String {
        let (ok, out) = openssl(&self.dir, args);
        assert!(ok, "openssl {args:?}: {out}");
        out
    }

    /// `openssl verify -CAfile BUNDLE CERT` succeeds.
    fn verify(&self, bundle: &Path, cert: &Path) {
        let out = self.openssl_ok(&["verify", "-CAfile", s(bundle), s(cert)]);
        assert!(out.contains(": OK"), "{out}");
    }

    /// The certificate's subject, RFC 2253 (`CN=...`).
    fn subject(&self, cert: &Path) -> String {
        let out = self.openssl_ok(&[
            "x509",
            "-in",
            s(cert),
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ]);
        out.trim().trim_start_matches("subject=").to_owned()
    }

    fn serial(&self, cert: &Path) -> String {
        let out = self.openssl_ok(&["x509", "-in", s(cert), "-noout", "-serial"]);
        out.trim().trim_start_matches("serial=").to_owned()
    }

    /// The certificate's public key, PEM, as OpenSSL prints it.
    fn cert_key(&self, cert: &Path) -> String {
        self.openssl_ok(&["x509", "-in", s(cert), "-noout", "-pubkey"])
    }

    /// A private key file's public key, PEM (`-inform DER` for DER).
    fn key_pub(&self, key: &Path, der: bool) -> String {
        let mut args = vec!["pkey", "-in", s(key), "-pubout"];
        if der {
            args.extend(["-inform", "DER"]);
        }
        self.openssl_ok(&args)
    }

    /// A PKCS #10 request by OpenSSL for a new key NAME.key (`newkey` as
    /// for `openssl req -newkey`, e.g. `ec`), subject `/CN=...`; the DER
    /// goes to NAME.der and its base64 (the EST body) to NAME.b64, whose
    /// path is returned.
    fn csr(&self, name: &str, subject: &str, key_opts: &[&str]) -> PathBuf {
        let key = self.file(&format!("{name}.key"));
        let der = self.file(&format!("{name}.der"));
        let b64 = self.file(&format!("{name}.b64"));
        let mut args = vec!["req", "-new"];
        args.extend_from_slice(key_opts);
        args.extend([
            "-nodes",
            "-keyout",
            s(&key),
            "-subj",
            subject,
            "-outform",
            "DER",
            "-out",
            s(&der),
        ]);
        self.openssl_ok(&args);
        self.openssl_ok(&["base64", "-in", s(&der), "-out", s(&b64)]);
        b64
    }

    /// A P-256 request (see [`Est::csr`]).
    fn p256_csr(&self, name: &str, subject: &str) -> PathBuf {
        self.csr(
            name,
            subject,
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        )
    }

    /// The issued certificate of a simpleenroll/simplereenroll reply as
    /// NAME.pem: exactly one certificate (RFC 7030 §4.2.3), which verifies
    /// against `bundle`, for the key of the request NAME made.
    fn issued(&self, name: &str, r: &Response, bundle: &Path) -> PathBuf {
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(
            r.header("content-transfer-encoding"),
            Some("base64"),
            "{name}"
        );
        let (cert, n) = self.certs_of(name, r);
        assert_eq!(n, 1, "{name}: only the issued certificate");
        self.verify(bundle, &cert);
        let key = self.file(&format!("{name}.key"));
        assert_eq!(self.cert_key(&cert), self.key_pub(&key, false), "{name}");
        cert
    }

    /// A P-256 request NAME.key/NAME.der/NAME.b64 for CN=NAME.example.test
    /// with `password` as its challengePassword (RFC 7030 §3.5 carries the
    /// channel binding there). OpenSSL takes attributes from its config
    /// file only, so the subject is there too.
    fn linked_csr(&self, name: &str, password: &str) -> PathBuf {
        let cnf = self.file(&format!("{name}.cnf"));
        std::fs::write(
            &cnf,
            format!(
                "[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n\
                 [dn]\nCN = {name}.example.test\n[attrs]\nchallengePassword = {password}\n"
            ),
        )
        .unwrap();
        let key = self.file(&format!("{name}.key"));
        let der = self.file(&format!("{name}.der"));
        let b64 = self.file(&format!("{name}.b64"));
        self.openssl_ok(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            s(&key),
            "-config",
            s(&cnf),
            "-outform",
            "DER",
            "-out",
            s(&der),
        ]);
        let text = self.openssl_ok(&["req", "-inform", "DER", "-in", s(&der), "-noout", "-text"]);
        let attribute = text.lines().find(|l| l.contains("challengePassword"));
        assert!(
            attribute.is_some_and(|l| l.trim_end().ends_with(&format!(":{password}"))),
            "{text}"
        );
        self.openssl_ok(&["base64", "-in", s(&der), "-out", s(&b64)]);
        b64
    }

    /// One `simpleenroll` over an `openssl s_client` connection (`version`
    /// `-tls1_3` or `-tls1_2`, TLS client certificate CLIENT.pem): the
    /// connection's RFC 9266 tls-exporter value (`-keymatexport
    /// EXPORTER-Channel-Binding`, 32 octets), base64, goes to `body`, whose
    /// answer (a base64 PKCS #10) is posted on the same connection.
    fn enroll_over_s_client(
        &self,
        version: &str,
        client: &str,
        body: impl FnOnce(&str) -> Vec<u8>,
    ) -> Response {
        let cert = self.file(&format!("{client}.pem"));
        let key = self.file(&format!("{client}.key"));
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &self.server.addr,
                "-servername",
                "localhost",
                "-CAfile",
                "tls-ca.pem",
                "-verify_return_error",
                "-cert",
                s(&cert),
                "-key",
                s(&key),
                "-keymatexport",
                "EXPORTER-Channel-Binding",
                "-keymatexportlen",
                "32",
                // Lines starting with R, Q or k are data, not commands.
                "-nocommands",
                "-ign_eof",
                version,
            ])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        let exporter = loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("s_client {version} ended before the keying material:\n{seen}\n{err}");
            }
            if let Some(hex) = line.trim().strip_prefix("Keying material: ") {
                break hex.to_owned();
            }
            seen.push_str(&line);
        };
        // "New, TLSv1.3, Cipher is ...": the version asked for.
        let protocol = format!("TLSv1.{}", version.trim_start_matches("-tls1_"));
        assert!(seen.contains(&format!("New, {protocol}")), "{seen}");
        let bin = self.file("exporter.bin");
        std::fs::write(&bin, hex_decode(&exporter)).unwrap();
        let base64 = self.openssl_ok(&["base64", "-A", "-in", s(&bin)]);
        let body = body(base64.trim());
        let request = common::request_bytes(
            "POST",
            "/.well-known/est/simpleenroll",
            &[("Content-Type", PKCS10)],
            &body,
        );
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&request).unwrap();
        drop(stdin);
        let mut rest = Vec::new();
        out.read_to_end(&mut rest).unwrap();
        child.wait().unwrap();
        let at = rest
            .windows(9)
            .position(|w| w == b"HTTP/1.1 ")
            .unwrap_or_else(|| panic!("no response: {}", String::from_utf8_lossy(&rest)));
        parse_response(&rest[at..]).unwrap()
    }

    /// `python3 scripts/est_peer.py --url BASE --ca-bundle tls-ca.pem ARGS`
    /// (the secret, if any, in EST_PASSWORD): its exit status, stdout and
    /// stderr.
    fn est_peer(&self, args: &[&str], password: Option<&str>) -> (bool, String, String) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/est_peer.py");
        let base = self.base_url();
        let mut cmd = Command::new("python3");
        cmd.arg(&script)
            .args(["--url", &base, "--ca-bundle", "tls-ca.pem"])
            .args(args)
            .current_dir(&self.dir)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("EST_PASSWORD");
        if let Some(p) = password {
            cmd.env("EST_PASSWORD", p);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// What acme2certifier got for the request NAME: NAME.pem, one
    /// certificate for NAME.key with SUBJECT that verifies against
    /// `bundle`; NAME-bundle.pem, that certificate followed by the CA's.
    fn check_peer_result(&self, name: &str, subject: &str, bundle: &Path) {
        let cert = self.file(&format!("{name}.pem"));
        assert!(cert.exists(), "no {}", cert.display());
        self.verify(bundle, &cert);
        assert_eq!(self.subject(&cert), subject);
        let key = self.file(&format!("{name}.key"));
        assert_eq!(self.cert_key(&cert), self.key_pub(&key, false));
        let chain = split_pem(self, name, &self.file(&format!("{name}-bundle.pem")));
        assert_eq!(chain.len(), 2, "the issued certificate and the root");
        let fingerprint =
            |c: &Path| self.openssl_ok(&["x509", "-in", s(c), "-noout", "-fingerprint", "-sha256"]);
        assert_eq!(fingerprint(&chain[0]), fingerprint(&cert));
        assert_eq!(fingerprint(&chain[1]), fingerprint(bundle));
    }
}

/// A test TLS CA, and a server certificate for 127.0.0.1 and localhost
/// from it, P-256, in `dir` (tls-ca.pem, server.pem, server.key).
fn make_tls_files(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "tls-ca.key",
                "-out",
                "tls-ca.pem",
                "-subj",
                "/CN=EST test TLS CA",
                "-days",
                "2",
            ],
        ]
        .concat(),
        [
            &["req", "-new"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "tls-ca.pem",
            "-CAkey",
            "tls-ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    ];
    for args in steps {
        let (ok, out) = openssl(dir, &args);
        assert!(ok, "openssl {args:?}: {out}");
    }
}

/// Splits a `multipart/mixed` body (RFC 2046 §5.1.1: CRLF line breaks,
/// the CRLF before a delimiter belonging to it) into its parts' header
/// lines and bodies.
fn multipart(body: &[u8], boundary: &str) -> Vec<(Vec<String>, String)> {
    let text = format!("\r\n{}", std::str::from_utf8(body).unwrap());
    let delimiter = format!("\r\n--{boundary}");
    let mut pieces = text.split(delimiter.as_str());
    assert_eq!(pieces.next(), Some(""), "no preamble expected: {text:?}");
    let mut parts = Vec::new();
    for piece in pieces {
        if let Some(rest) = piece.strip_prefix("--") {
            assert_eq!(rest, "\r\n", "after the close delimiter: {text:?}");
            return parts;
        }
        let piece = piece
            .strip_prefix("\r\n")
            .unwrap_or_else(|| panic!("a delimiter line must end in CRLF: {text:?}"));
        let (head, content) = piece.split_once("\r\n\r\n").unwrap();
        parts.push((
            head.split("\r\n").map(str::to_owned).collect(),
            content.to_owned(),
        ));
    }
    panic!("no close delimiter: {text:?}");
}

/// A Full PKI Response (base64) from `fullcmc`: its CMS signature checked
/// with `openssl cms -verify` against `bundle`, its PKIResponse read with
/// `openssl asn1parse`. Returns the cMCStatus of each statusInfoV2 (`00`
/// success, `02` failed, ...) and the response's certificates as NAME.pem.
fn cmc_response(est: &Est, name: &str, r: &Response, bundle: &Path) -> (Vec<String>, PathBuf) {
    assert_eq!(r.status, 200, "{name}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/pkcs7-mime; smime-type=CMC-response"),
        "{name}"
    );
    let b64 = est.file(&format!("{name}.resp.b64"));
    let der = est.file(&format!("{name}.resp.der"));
    let content = est.file(&format!("{name}.pkiresponse.der"));
    let pem = est.file(&format!("{name}.pem"));
    std::fs::write(&b64, &r.body).unwrap();
    est.openssl_ok(&["base64", "-d", "-in", s(&b64), "-out", s(&der)]);
    est.openssl_ok(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        s(&der),
        "-CAfile",
        s(bundle),
        "-out",
        s(&content),
    ]);
    let parsed = est.openssl_ok(&["asn1parse", "-inform", "DER", "-in", s(&content)]);
    let lines: Vec<&str> = parsed.lines().collect();
    let mut statuses = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        // id-cmc-statusInfoV2, then SET { SEQUENCE { cMCStatus INTEGER, ...
        if line.ends_with(":1.3.6.1.5.5.7.7.25") {
            let status = lines[i + 1..]
                .iter()
                .find(|l| l.contains("prim: INTEGER"))
                .and_then(|l| l.rsplit(':').next())
                .unwrap_or_else(|| panic!("{parsed}"));
            statuses.push(status.trim().to_owned());
        }
    }
    est.openssl_ok(&[
        "pkcs7",
        "-inform",
        "DER",
        "-in",
        s(&der),
        "-print_certs",
        "-out",
        s(&pem),
    ]);
    (statuses, pem)
}

/// Each certificate of a PEM file as NAME-N.pem.
fn split_pem(est: &Est, name: &str, pem: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(pem).unwrap();
    let end = "-----END CERTIFICATE-----";
    text.split_inclusive(end)
        .filter(|block| block.contains("-----BEGIN CERTIFICATE-----"))
        .enumerate()
        .map(|(i, block)| {
            let start = block.find("-----BEGIN").unwrap();
            let path = est.file(&format!("{name}-{i}.pem"));
            std::fs::write(&path, format!("{}\n", &block[start..])).unwrap();
            path
        })
        .collect()
}

/// The hex of an s_client keying material line as bytes.
fn hex_decode(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len(), 64, "{hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// `cacerts` (with and without the CA's label) is the CA certificate, the
/// same as the root the server created; `csrattrs` is what the default
/// profile's key rules say, read with `openssl asn1parse`.
#[test]
fn cacerts_and_csrattrs_with_curl_and_openssl() {
    let est = Est::start();
    let bundle = est.ca_bundle();
    let fingerprint = |cert: &Path| {
        est.openssl_ok(&["x509", "-in", s(cert), "-noout", "-fingerprint", "-sha256"])
    };
    assert_eq!(
        fingerprint(&bundle),
        fingerprint(&est.data.join("root.pem"))
    );
    // The label names the same (default) CA.
    let labelled = est.curl("root/cacerts", Auth::None, None);
    assert_eq!(labelled.status, 200, "{}", labelled.text());
    let (labelled_pem, n) = est.certs_of("labelled-cacerts", &labelled);
    assert_eq!(n, 1);
    assert_eq!(fingerprint(&labelled_pem), fingerprint(&bundle));
    // A one-time secret sent along with cacerts is neither needed nor spent.
    let secret = est.add_secret("reader", None);
    let r = est.curl("cacerts", Auth::Basic("reader", &secret), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let list = est.admin(&["secret", "list"]);
    let line = list.lines().find(|l| l.contains("reader")).unwrap();
    assert!(!line.contains("used"), "{list}");

    let r = est.curl("csrattrs", Auth::None, None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/csrattrs"));
    let b64 = est.file("csrattrs.b64");
    let der = est.file("csrattrs.der");
    std::fs::write(&b64, &r.body).unwrap();
    est.openssl_ok(&["base64", "-d", "-in", s(&b64), "-out", s(&der)]);
    let parsed = est.openssl_ok(&["asn1parse", "-inform", "DER", "-in", s(&der)]);
    // "OBJECT :prime256v1", "INTEGER :0C00", ...: each primitive value.
    let values: Vec<String> = parsed
        .lines()
        .filter_map(|l| l.split_once("prim: ").map(|(_, v)| v))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let has = |v: &str| values.iter().any(|x| x == v);
    // [profile.default.keys]: P-256 and P-384, RSA 3072 only; each key
    // type with the digest RFC 5753 pairs it with (RSA with SHA-256).
    for want in [
        "OBJECT :id-ecPublicKey",
        "OBJECT :prime256v1",
        "OBJECT :secp384r1",
        "OBJECT :rsaEncryption",
        "INTEGER :0C00",
        "OBJECT :ecdsa-with-SHA256",
        "OBJECT :ecdsa-with-SHA384",
        "OBJECT :sha256WithRSAEncryption",
    ] {
        assert!(has(want), "{want} not in\n{parsed}");
    }
    for unwanted in [
        "OBJECT :secp521r1",
        "INTEGER :0800",
        "INTEGER :1000",
        "OBJECT :ecdsa-with-SHA512",
    ] {
        assert!(!has(unwanted), "{unwanted} in\n{parsed}");
    }
    // No tls-unique link asked for (challengePassword).
    assert!(!parsed.contains("challengePassword"), "{parsed}");
}

/// simpleenroll authenticated by an RA's and by an end-entity client's
/// TLS client certificate and by HTTP Basic with a one-time secret, then
/// simplereenroll by the certificate just issued; what is refused on the
/// way is refused with a 4xx and a reason.
#[test]
fn simpleenroll_by_certificate_and_by_basic_then_simplereenroll() {
    let est = Est::start();
    let bundle = est.ca_bundle();
    est.add_client("est-ra", "ra", "CN=EST RA");
    est.add_client("device-1", "client", "CN=device-1.example.test");
    let mut serials = Vec::new();

    // An RA asks for any name the profile allows.
    let body = est.p256_csr("ra-ee", "/CN=ra-ee.example.test");
    let r = est.curl("simpleenroll", Auth::Cert("est-ra"), Some((PKCS10, &body)));
    let cert = est.issued("ra-ee", &r, &bundle);
    assert_eq!(est.subject(&cert), "CN=ra-ee.example.test");
    serials.push(est.serial(&cert));

    // An end-entity client gets its own subject, and nothing else.
    let body = est.p256_csr("device-1-new", "/CN=device-1.example.test");
    let r = est.curl(
        "simpleenroll",
        Auth::Cert("device-1"),
        Some((PKCS10, &body)),
    );
    let cert = est.issued("device-1-new", &r, &bundle);
    assert_eq!(est.subject(&cert), "CN=device-1.example.test");
    serials.push(est.serial(&cert));
    let body = est.p256_csr("device-1-other", "/CN=someone-else.example.test");
    let r = est.curl(
        "simpleenroll",
        Auth::Cert("device-1"),
        Some((PKCS10, &body)),
    );
    // The engine's badRequest (a name outside the registration): 400.
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text()
            .contains("outside the names the requester is registered for"),
        "{}",
        r.text()
    );

    // HTTP Basic with a one-time secret: once.
    let secret = est.add_secret("device-2", None);
    let body = est.p256_csr("device-2", "/CN=device-2.example.test");
    let r = est.curl(
        "simpleenroll",
        Auth::Basic("device-2", &secret),
        Some((PKCS10, &body)),
    );
    let first = est.issued("device-2", &r, &bundle);
    assert_eq!(est.subject(&first), "CN=device-2.example.test");
    serials.push(est.serial(&first));
    let again = est.p256_csr("device-2-again", "/CN=device-2.example.test");
    let r = est.curl(
        "simpleenroll",
        Auth::Basic("device-2", &secret),
        Some((PKCS10, &again)),
    );
    assert_eq!(r.status, 403, "a spent secret: {}", r.text());
    assert!(r.text().contains("used"), "{}", r.text());
    // A wrong secret is a 401 with the challenge, like no secret.
    let r = est.curl(
        "simpleenroll",
        Auth::Basic("device-2", "not-the-secret"),
        Some((PKCS10, &again)),
    );
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic "));

    // simplereenroll: the certificate just issued is the TLS client
    // certificate; a new key, the same subject.
    std::fs::copy(est.file("device-2.pem"), est.file("holder.pem")).unwrap();
    std::fs::copy(est.file("device-2.key"), est.file("holder.key")).unwrap();
    let body = est.p256_csr("device-2-renewed", "/CN=device-2.example.test");
    let r = est.curl(
        "simplereenroll",
        Auth::Cert("holder"),
        Some((PKCS10, &body)),
    );
    let renewed = est.issued("device-2-renewed", &r, &bundle);
    assert_eq!(est.subject(&renewed), "CN=device-2.example.test");
    assert_ne!(est.cert_key(&renewed), est.cert_key(&first));
    serials.push(est.serial(&renewed));
    // Not with the same key (noKeyReuse: 400).
    let holder_key = est.file("holder.key");
    let body = est.csr(
        "holder-same-key",
        "/CN=device-2.example.test",
        &["-key", s(&holder_key)],
    );
    let r = est.curl(
        "simplereenroll",
        Auth::Cert("holder"),
        Some((PKCS10, &body)),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("the key of the certificate"),
        "{}",
        r.text()
    );
    // The holder may not take another subject.
    let body = est.p256_csr("holder-other", "/CN=other.example.test");
    let r = est.curl(
        "simplereenroll",
        Auth::Cert("holder"),
        Some((PKCS10, &body)),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // simplereenroll is the holder's: not an RA's, not a password's.
    let body = est.p256_csr("ra-renew", "/CN=ra-ee.example.test");
    let r = est.curl(
        "simplereenroll",
        Auth::Cert("est-ra"),
        Some((PKCS10, &body)),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let secret = est.add_secret("device-3", None);
    let body = est.p256_csr("device-3", "/CN=device-3.example.test");
    let r = est.curl(
        "simplereenroll",
        Auth::Basic("device-3", &secret),
        Some((PKCS10, &body)),
    );
    assert_eq!(r.status, 403, "{}", r.text());

    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 4, "{serials:?}");
}

/// fullcmc carries a Full PKI Request made by `cmc-tool request`, base64,
/// to the CMC door: signed by an RA (also over the RA's own TLS client
/// certificate) it is issued; a request whose TLS client is not its
/// signer, and one signed by nobody the CA knows, get a CMC failure inside
/// HTTP 200 (RFC 7030 §4.3.2).
#[test]
fn fullcmc_carries_a_cmc_tool_request() {
    let est = Est::start();
    let bundle = est.ca_bundle();
    est.add_client("est-ra", "ra", "CN=EST RA");
    est.add_client("device-1", "client", "CN=device-1.example.test");
    let request = |name: &str, signer: &[&str]| {
        let req = est.file(&format!("{name}.req"));
        let key = est.file(&format!("{name}.key"));
        let subject = format!("CN={name}.example.test");
        let mut args = vec!["request"];
        args.extend_from_slice(signer);
        args.extend([
            "--new-key",
            s(&key),
            "--new-key-unencrypted",
            "--subject",
            &subject,
            "--out",
            s(&req),
        ]);
        cmc_tool(&args).unwrap_or_else(|e| panic!("cmc-tool {args:?}: {e}"));
        let b64 = est.file(&format!("{name}.req.b64"));
        est.openssl_ok(&["base64", "-in", s(&req), "-out", s(&b64)]);
        b64
    };
    let ra_pem = est.file("est-ra.pem");
    let ra_key = est.file("est-ra.key");
    let by_ra = [
        "--signer-cert",
        s(&ra_pem),
        "--signer-key",
        s(&ra_key),
        "--unencrypted-key",
    ];

    for (name, auth) in [
        ("fullcmc", Auth::None),
        ("fullcmc-tls", Auth::Cert("est-ra")),
    ] {
        let body = request(name, &by_ra);
        let r = est.curl("fullcmc", auth, Some((CMC_REQUEST, &body)));
        let (statuses, certs) = cmc_response(&est, name, &r, &bundle);
        assert_eq!(statuses, ["00"], "{name}");
        // The response carries the issued certificate and the chain.
        let subject = format!("CN={name}.example.test");
        let issued = split_pem(&est, name, &certs)
            .into_iter()
            .find(|c| est.subject(c) == subject)
            .unwrap_or_else(|| panic!("no {subject} in {}", certs.display()));
        est.verify(&bundle, &issued);
        let key = est.file(&format!("{name}.key"));
        assert_eq!(est.cert_key(&issued), est.key_pub(&key, false));
    }

    // The TLS client is device-1, the CMS signer the RA: failed.
    let body = request("fullcmc-mismatch", &by_ra);
    let r = est.curl(
        "fullcmc",
        Auth::Cert("device-1"),
        Some((CMC_REQUEST, &body)),
    );
    let (statuses, _) = cmc_response(&est, "fullcmc-mismatch", &r, &bundle);
    assert_eq!(statuses, ["02"], "badIdentity expected");
    // Signed by its own new key and nothing else: failed.
    let body = request("fullcmc-self", &["--self-signed"]);
    let r = est.curl("fullcmc", Auth::None, Some((CMC_REQUEST, &body)));
    let (statuses, _) = cmc_response(&est, "fullcmc-self", &r, &bundle);
    assert_eq!(statuses, ["02"]);
}

/// serverkeygen with a profile that has `server_key_generation = true`:
/// a multipart reply whose key (PKCS #8, `openssl pkey`) is the key of its
/// certificate, not the request's; a profile without it answers 501.
#[test]
fn serverkeygen_returns_a_key_that_matches_its_certificate() {
    let est = Est::start();
    let bundle = est.ca_bundle();
    let secret = est.add_secret("keygen-1", Some("keygen"));
    let body = est.p256_csr("keygen-req", "/CN=keygen.example.test");
    let r = est.curl(
        "serverkeygen",
        Auth::Basic("keygen-1", &secret),
        Some((PKCS10, &body)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let content_type = r.header("content-type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/mixed")
        .and_then(|rest| rest.split_once("boundary="))
        .map(|(_, b)| b.trim_matches('"'))
        .unwrap_or_else(|| panic!("{content_type}"));
    let parts = multipart(&r.body, boundary);
    assert_eq!(parts.len(), 2, "{parts:?}");
    let (key_head, key_b64) = &parts[0];
    let (cert_head, cert_b64) = &parts[1];
    assert!(
        key_head.contains(&"Content-Type: application/pkcs8".to_owned()),
        "{key_head:?}"
    );
    assert!(
        cert_head
            .contains(&"Content-Type: application/pkcs7-mime; smime-type=certs-only".to_owned()),
        "{cert_head:?}"
    );
    for head in [key_head, cert_head] {
        assert!(
            head.contains(&"Content-Transfer-Encoding: base64".to_owned()),
            "{head:?}"
        );
    }

    let key_b64_file = est.file("server-key.b64");
    let key_der = est.file("server-key.der");
    std::fs::write(&key_b64_file, key_b64).unwrap();
    est.openssl_ok(&["base64", "-d", "-in", s(&key_b64_file), "-out", s(&key_der)]);
    let check = est.openssl_ok(&[
        "pkey",
        "-inform",
        "DER",
        "-in",
        s(&key_der),
        "-check",
        "-noout",
    ]);
    assert!(check.contains("valid"), "{check}");
    let (cert, n) = est.decode_certs_only("server-key-cert", cert_b64.as_bytes());
    assert_eq!(n, 1);
    est.verify(&bundle, &cert);
    assert_eq!(est.subject(&cert), "CN=keygen.example.test");
    let server_key = est.key_pub(&key_der, true);
    assert_eq!(est.cert_key(&cert), server_key);
    assert_ne!(server_key, est.key_pub(&est.file("keygen-req.key"), false));

    // An RA on the default profile: the CA makes no keys there.
    est.add_client("est-ra", "ra", "CN=EST RA");
    let body = est.p256_csr("keygen-refused", "/CN=keygen-refused.example.test");
    let r = est.curl("serverkeygen", Auth::Cert("est-ra"), Some((PKCS10, &body)));
    assert_eq!(r.status, 501, "{}", r.text());
}

/// A profile with `require_approval = true`: 202 with Retry-After while
/// the request waits (the same POST again does not queue it twice); after
/// `cmc-tool pending approve` the same POST gets the certificate; after
/// `cmc-tool pending reject`, 403 with the reason.
#[test]
fn a_held_request_gets_202_with_retry_after_then_its_certificate() {
    let est = Est::start();
    let bundle = est.ca_bundle();
    let secret = est.add_secret("held-1", Some("held"));
    let body = est.p256_csr("held-1", "/CN=held-1.example.test");
    let post = || {
        est.curl(
            "simpleenroll",
            Auth::Basic("held-1", &secret),
            Some((PKCS10, &body)),
        )
    };
    for _ in 0..2 {
        let r = post();
        assert_eq!(r.status, 202, "{}", r.text());
        let wait: u32 = r
            .header("retry-after")
            .unwrap_or_else(|| panic!("no Retry-After: {:?}", r.headers))
            .parse()
            .unwrap();
        assert!(wait >= 1, "{wait}");
        assert!(!r.text().trim().is_empty());
    }
    let list = est.admin(&["pending", "list", "--waiting", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let waiting = v.as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{list}");
    assert_eq!(waiting[0]["client"], "secret:held-1");
    assert_eq!(waiting[0]["profile"], "held");
    let id = waiting[0]["id"].as_str().unwrap();

    est.admin(&["pending", "approve", id]);
    let cert = est.issued("held-1", &post(), &bundle);
    assert_eq!(est.subject(&cert), "CN=held-1.example.test");
    // Asking again brings the same certificate, not a second one.
    let again = post();
    assert_eq!(again.status, 200, "{}", again.text());
    let (copy, _) = est.certs_of("held-1-again", &again);
    assert_eq!(est.serial(&copy), est.serial(&cert));
    // The approval spent the secret.
    let other = est.p256_csr("held-1-other", "/CN=held-1.example.test");
    let r = est.curl(
        "simpleenroll",
        Auth::Basic("held-1", &secret),
        Some((PKCS10, &other)),
    );
    assert_eq!(r.status, 403, "{}", r.text());

    // Rejected: the same POST gets 403 with the agent's reason.
    let secret = est.add_secret("held-2", Some("held"));
    let body = est.p256_csr("held-2", "/CN=held-2.example.test");
    let post = || {
        est.curl(
            "simpleenroll",
            Auth::Basic("held-2", &secret),
            Some((PKCS10, &body)),
        )
    };
    assert_eq!(post().status, 202);
    let list = est.admin(&["pending", "list", "--waiting", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = v[0]["id"].as_str().unwrap();
    est.admin(&["pending", "reject", id, "--reason", "not known here"]);
    let r = post();
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("not known here"), "{}", r.text());
}

/// Bad input: each gets its 4xx status with a short text/plain reason
/// (and the header its status calls for), never a 500, and nothing is
/// issued or queued.
#[test]
fn bad_input_gets_a_4xx_with_a_reason_never_a_500() {
    let est = Est::start();
    let bundle = est.ca_bundle();
    est.add_client("est-ra", "ra", "CN=EST RA");
    // (A refusal by the profile after the serial's reservation leaves it
    // `failed`, by design: only issued certificates are compared.)
    let issued = || est.admin(&["cert", "list", "--ca", "root", "--status", "issued"]);
    let issued_before = issued();
    let good = est.p256_csr("good", "/CN=good.example.test");
    let not_base64 = est.file("not-base64.txt");
    std::fs::write(&not_base64, "this is not base64!\n").unwrap();
    let not_csr = est.file("not-csr.b64");
    std::fs::write(&not_csr, "Z2FyYmFnZSwgbm90IGEgUEtDUyAjMTA=\n").unwrap();
    // A request whose self-signature no longer verifies.
    let mut der = std::fs::read(est.file("good.der")).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    std::fs::write(est.file("broken.der"), &der).unwrap();
    let broken = est.file("broken.b64");
    est.openssl_ok(&[
        "base64",
        "-in",
        s(&est.file("broken.der")),
        "-out",
        s(&broken),
    ]);
    // An RSA key size the profile does not allow (3072 only).
    let rsa2048 = est.csr(
        "rsa2048",
        "/CN=rsa2048.example.test",
        &["-newkey", "rsa:2048"],
    );
    // A challengePassword that is not this connection's channel binding.
    let with_password = est.linked_csr("with-password", "an-enrollment-otp");

    let ra = Auth::Cert("est-ra");
    // The status, a text/plain reason, and the header the status calls for.
    let expect = |status: u16, what: &str, path: &str, auth, post, extra: &[&str]| {
        let r = est.curl_args(path, auth, post, extra);
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let text_plain = Some("text/plain; charset=utf-8");
        assert_eq!(r.header("content-type"), text_plain, "{what}");
        assert!(!r.text().trim().is_empty(), "{what}: no reason");
        let wanted = match status {
            401 => Some("www-authenticate"),
            405 => Some("allow"),
            _ => None,
        };
        if let Some(name) = wanted {
            assert!(r.header(name).is_some(), "{what}: {:?}", r.headers);
        }
        r
    };
    let form = "application/x-www-form-urlencoded";
    expect(
        415,
        "wrong type",
        "simpleenroll",
        ra,
        Some(("text/plain", &good)),
        &[],
    );
    expect(
        415,
        "curl's default type",
        "simpleenroll",
        ra,
        Some((form, &good)),
        &[],
    );
    expect(
        415,
        "fullcmc with PKCS #10",
        "fullcmc",
        ra,
        Some((PKCS10, &good)),
        &[],
    );
    expect(
        400,
        "not base64",
        "simpleenroll",
        ra,
        Some((PKCS10, &not_base64)),
        &[],
    );
    expect(
        400,
        "not a CSR",
        "simpleenroll",
        ra,
        Some((PKCS10, &not_csr)),
        &[],
    );
    expect(
        400,
        "bad signature",
        "simpleenroll",
        ra,
        Some((PKCS10, &broken)),
        &[],
    );
    expect(
        400,
        "RSA 2048",
        "simpleenroll",
        ra,
        Some((PKCS10, &rsa2048)),
        &[],
    );
    let r = expect(
        400,
        "a password",
        "simpleenroll",
        ra,
        Some((PKCS10, &with_password)),
        &[],
    );
    assert!(r.text().contains("not linked"), "{}", r.text());
    expect(
        400,
        "not CMC",
        "fullcmc",
        ra,
        Some((CMC_REQUEST, &not_csr)),
        &[],
    );
    let r = expect(
        401,
        "anonymous",
        "simpleenroll",
        Auth::None,
        Some((PKCS10, &good)),
        &[],
    );
    let challenge = r.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Basic realm="), "{challenge}");
    expect(
        404,
        "unknown CA",
        "nosuchca/simpleenroll",
        ra,
        Some((PKCS10, &good)),
        &[],
    );
    expect(404, "unknown CA", "nosuchca/cacerts", Auth::None, None, &[]);
    expect(
        404,
        "unknown operation",
        "enroll",
        ra,
        Some((PKCS10, &good)),
        &[],
    );
    let r = expect(405, "GET simpleenroll", "simpleenroll", ra, None, &[]);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = expect(
        405,
        "POST cacerts",
        "cacerts",
        Auth::None,
        Some((PKCS10, &good)),
        &[],
    );
    assert_eq!(r.header("allow"), Some("GET"));
    expect(
        405,
        "PUT csrattrs",
        "csrattrs",
        Auth::None,
        None,
        &["-X", "PUT"],
    );

    // Nothing issued, nothing queued; the door still serves.
    assert_eq!(issued(), issued_before);
    let pending = est.admin(&["pending", "list", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&pending).unwrap(),
        serde_json::json!([]),
        "{pending}"
    );
    let r = est.curl("simpleenroll", ra, Some((PKCS10, &good)));
    est.issued("good", &r, &bundle);
}

/// RFC 7030 §3.5 over TLS 1.3 and TLS 1.2 with OpenSSL as the client: a
/// CSR whose challengePassword is the base64 of its connection's
/// tls-exporter value (RFC 9266; rustls exposes no tls-unique) is issued;
/// the same CSR sent over another connection is refused with 400.
#[test]
fn a_csr_linked_to_its_tls_connection_by_the_tls_exporter() {
    let est = Est::start();
    let bundle = est.ca_bundle();
    est.add_client("est-ra", "ra", "CN=EST RA");
    for version in ["-tls1_3", "-tls1_2"] {
        let name = format!("linked{version}");
        let r = est.enroll_over_s_client(version, "est-ra", |binding| {
            std::fs::read(est.linked_csr(&name, binding)).unwrap()
        });
        let cert = est.issued(&name, &r, &bundle);
        assert_eq!(est.subject(&cert), format!("CN={name}.example.test"));
        // The same request on a new connection: not linked to it.
        let replayed = std::fs::read(est.file(&format!("{name}.b64"))).unwrap();
        let r = est.enroll_over_s_client(version, "est-ra", |_| replayed);
        assert_eq!(r.status, 400, "{version}: {}", r.text());
        assert!(r.text().contains("not linked"), "{}", r.text());
    }
}

/// With `est_require_channel_binding`, csrattrs asks for the link and a CSR
/// without it is refused, while a linked one is issued.
#[test]
fn the_operator_can_require_the_link() {
    let est = Est::start_with("est_require_channel_binding = true\n");
    let bundle = est.ca_bundle();
    est.add_client("est-ra", "ra", "CN=EST RA");
    let r = est.curl("csrattrs", Auth::None, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let der = est.file("required-csrattrs.der");
    let b64 = est.file("required-csrattrs.b64");
    std::fs::write(&b64, &r.body).unwrap();
    est.openssl_ok(&["base64", "-d", "-in", s(&b64), "-out", s(&der)]);
    let parsed = est.openssl_ok(&["asn1parse", "-inform", "DER", "-in", s(&der)]);
    assert!(parsed.contains("challengePassword"), "{parsed}");
    // Unlinked: refused, nothing issued.
    let unlinked = est.p256_csr("unlinked", "/CN=unlinked.example.test");
    let r = est.enroll_over_s_client("-tls1_3", "est-ra", |_| std::fs::read(&unlinked).unwrap());
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("not linked"), "{}", r.text());
    // Linked: issued.
    let r = est.enroll_over_s_client("-tls1_3", "est-ra", |binding| {
        std::fs::read(est.linked_csr("required", binding)).unwrap()
    });
    let cert = est.issued("required", &r, &bundle);
    assert_eq!(est.subject(&cert), "CN=required.example.test");
}

/// acme2certifier's EST CA handler (`est_ca_handler.CAhandler.enroll`,
/// through `scripts/est_peer.py`) enrolls unchanged: `GET cacerts`, then
/// `POST simpleenroll`, with a TLS client certificate (an RA credential)
/// and with username/password (a one-time secret, which it also sends with
/// cacerts). A spent secret makes the handler report an error.
#[test]
fn acme2certifier_est_handler_enrolls_by_client_certificate_and_by_password() {
    let test = "acme2certifier_est_handler_enrolls_by_client_certificate_and_by_password";
    if !common::acme2certifier_handler_available(test, "est") {
        return;
    }
    let est = Est::start();
    let bundle = est.ca_bundle();
    est.add_client("a2c-ra", "ra", "CN=acme2certifier RA");

    est.p256_csr("a2c-cert", "/CN=a2c-cert.example.test");
    let (ok, out, err) = est.est_peer(
        &[
            "--client-cert",
            "a2c-ra.pem",
            "--client-key",
            "a2c-ra.key",
            "--csr",
            "a2c-cert.der",
            "--out",
            "a2c-cert.pem",
            "--bundle-out",
            "a2c-cert-bundle.pem",
        ],
        None,
    );
    assert!(ok, "est_peer (client certificate):\n{out}\n{err}");
    est.check_peer_result("a2c-cert", "CN=a2c-cert.example.test", &bundle);

    let secret = est.add_secret("a2c-device", None);
    est.p256_csr("a2c-password", "/CN=a2c-password.example.test");
    let by_password = |name: &str| {
        let csr = format!("{name}.der");
        let cert = format!("{name}.pem");
        let chain = format!("{name}-bundle.pem");
        est.est_peer(
            &[
                "--user",
                "a2c-device",
                "--csr",
                &csr,
                "--out",
                &cert,
                "--bundle-out",
                &chain,
            ],
            Some(&secret),
        )
    };
    let (ok, out, err) = by_password("a2c-password");
    assert!(ok, "est_peer (password):\n{out}\n{err}");
    est.check_peer_result("a2c-password", "CN=a2c-password.example.test", &bundle);

    // The secret is spent: the handler reports the failure, writes nothing.
    est.p256_csr("a2c-spent", "/CN=a2c-password.example.test");
    let (ok, out, err) = by_password("a2c-spent");
    assert!(!ok, "{out}\n{err}");
    assert!(err.contains("enroll failed"), "{err}");
    assert!(!est.file("a2c-spent.pem").exists());
}

/// Over plain HTTP (no `[server.tls]`) HTTP Basic is refused with 403 and
/// no challenge (RFC 7030 §3.2.3: Basic "MUST only be performed over
/// TLS"); the secret is neither spent nor counted as a failed try.
#[test]
fn basic_in_clear_is_refused_over_plain_http() {
    let est = Est::start_plain();
    let secret = est.add_secret("in-clear", None);
    let body = est.p256_csr("in-clear", "/CN=in-clear.example.test");
    for auth in [Auth::Basic("in-clear", &secret), Auth::None] {
        let r = est.curl("simpleenroll", auth, Some((PKCS10, &body)));
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.header("www-authenticate"), None);
    }
    let list = est.admin(&["secret", "list"]);
    let line = list.lines().find(|l| l.contains("in-clear")).unwrap();
    assert!(!line.contains("used"), "{list}");
    // What needs no authentication is still served.
    assert_eq!(est.curl("cacerts", Auth::None, None).status, 200);
}
