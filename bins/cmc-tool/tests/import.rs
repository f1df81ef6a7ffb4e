//! Migrating a CA made with OpenSSL: `ca import`, `cert import` of
//! certificates it signed, `crl import` of a CRL `openssl ca -gencrl`
//! made; then OCSP through the engine answers as the CRL says, the next
//! CRL lists every imported revocation with a greater cRLNumber and
//! verifies with `openssl crl -verify`, and a new certificate gets a
//! serial none of the imported ones has. And the refusals: a certificate
//! of another CA, a key that is not the certificate's, a CRL signed by
//! another key, a certificate that is no CA's; imports run twice change
//! nothing.
//!
//! The import of 10,000 certificates takes some 4 s of a 10 s test in a
//! debug build, so it runs at full size in the normal suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus,
    OcspVersion, Request, TbsRequest,
};
use cmc_ca::{Engine, EngineConfig, SystemClock};
use cmc_keys::{FileKey, SecretSource, SigningKey};
use common::Env;
use const_oid::db::rfc5912::ID_SHA_256;
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

const CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Old OpenSSL CA
O = Migration tests
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_nosign]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:template.example
[ca]
default_ca = old
[old]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 30
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
";

/// The cRLNumber of the OpenSSL CRL (the `crlnumber` file holds hex).
const OLD_CRL_NUMBER: u64 = 0x1000;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In `dir/sub`: an OpenSSL root CA (P-256; its key encrypted PKCS #8
/// under `srcpass`, `ca.key`, `ca.pem`) with subject `subject`, and a leaf
/// `template.pem` it signed (its key `leaf.key`).
fn openssl_ca(dir: &Path, sub: &str, subject: &str) {
    let d = dir.join(sub);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("cnf"), CONFIG.replace("Old OpenSSL CA", subject)).unwrap();
    std::fs::write(d.join("srcpass"), "source secret\n").unwrap();
    let ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let mut args = vec!["genpkey"];
    args.extend(ec);
    args.extend(["-aes-256-cbc", "-pass", "file:srcpass", "-out", "ca.key"]);
    openssl(&d, &args);
    openssl(
        &d,
        &[
            "req",
            "-x509",
            "-new",
            "-config",
            "cnf",
            "-extensions",
            "v3_ca",
            "-key",
            "ca.key",
            "-passin",
            "file:srcpass",
            "-days",
            "3650",
            "-out",
            "ca.pem",
        ],
    );
    let mut args = vec!["genpkey"];
    args.extend(ec);
    args.extend(["-out", "leaf.key"]);
    openssl(&d, &args);
    openssl(
        &d,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/CN=template",
            "-out",
            "leaf.csr",
        ],
    );
    openssl(
        &d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-passin",
            "file:srcpass",
            "-set_serial",
            "1",
            "-days",
            "365",
            "-extfile",
            "cnf",
            "-extensions",
            "leaf",
            "-out",
            "template.pem",
        ],
    );
}

fn pem_cert(path: &Path) -> Certificate {
    let text = std::fs::read(path).unwrap();
    Certificate::load_pem_chain(&text).unwrap().remove(0)
}

/// TBSCertificate (RFC 5280 §4.1), with the fields a test sets.
#[derive(Sequence)]
struct Tbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

/// Certificate (RFC 5280 §4.1).
#[derive(Sequence)]
struct Signed {
    tbs: Tbs,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// A random positive 16-octet serial.
fn random_serial() -> Vec<u8> {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s).unwrap();
    s[0] = (s[0] & 0x7f) | 0x01;
    s.to_vec()
}

/// `n` certificates signed with the OpenSSL CA's key in `dir/sub`, each
/// a copy of the template with its own random serial and subject:
/// (serial, DER).
fn leaves(dir: &Path, sub: &str, n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    sign_leaves(dir, sub, (0..n).map(|_| random_serial()).collect())
}

/// [`leaves`] with these serials.
fn sign_leaves(dir: &Path, sub: &str, serials: Vec<Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let d = dir.join(sub);
    let pass = SecretSource::File(d.join("srcpass")).read().unwrap();
    let key = FileKey::from_pem(&std::fs::read(d.join("ca.key")).unwrap(), Some(&pass)).unwrap();
    let template = pem_cert(&d.join("template.pem"));
    let t = template.tbs_certificate();
    serials
        .into_iter()
        .enumerate()
        .map(|(i, serial)| {
            let tbs = Tbs {
                version: 2,
                serial: SerialNumber::new(&serial).unwrap(),
                signature: t.signature().clone(),
                issuer: t.issuer().clone(),
                validity: *t.validity(),
                subject: Name::from_str(&format!("CN=host-{i},O=Migration tests")).unwrap(),
                spki: t.subject_public_key_info().clone(),
                extensions: t.extensions().unwrap().to_vec(),
            };
            let sig = key.sign(&tbs.to_der().unwrap()).unwrap();
            let cert = Signed {
                tbs,
                algorithm: template.signature_algorithm().clone(),
                signature: BitString::from_bytes(&sig).unwrap(),
            };
            (serial, cert.to_der().unwrap())
        })
        .collect()
}

fn pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// How an OpenSSL index line revokes, and what OCSP must say for it:
/// (index revocation field after the date, reason, invalidity date).
const REVOCATIONS: [(&str, Option<CrlReason>); 4] = [
    (",keyTime,20231231120000Z", Some(CrlReason::KeyCompromise)),
    (
        ",holdInstruction,holdInstructionReject",
        Some(CrlReason::CertificateHold),
    ),
    (",superseded", Some(CrlReason::Superseded)),
    ("", None),
];

/// Writes `index.txt` revoking `revoked` (serial, which of
/// [`REVOCATIONS`], day of January 2024) and runs `openssl ca -gencrl`:
/// `dir/sub/old.crl`.
fn openssl_crl(dir: &Path, sub: &str, revoked: &[(Vec<u8>, usize, u32)]) {
    let d = dir.join(sub);
    let mut index = String::new();
    for (serial, kind, day) in revoked {
        index.push_str(&format!(
            "R\t301231235959Z\t2401{day:02}000000Z{}\t{}\tunknown\t/CN=x\n",
            REVOCATIONS[*kind].0,
            hex_upper(serial)
        ));
    }
    std::fs::write(d.join("index.txt"), index).unwrap();
    std::fs::write(d.join("crlnumber"), format!("{OLD_CRL_NUMBER:X}\n")).unwrap();
    openssl(
        &d,
        &[
            "ca",
            "-gencrl",
            "-config",
            "cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-passin",
            "file:srcpass",
            "-out",
            "old.crl",
        ],
    );
}

/// A SHA-256 CertID of `serial` under the CA certificate `ca`.
fn cert_id(ca: &Certificate, serial: &[u8]) -> CertId {
    let tbs = ca.tbs_certificate();
    let h = |data: &[u8]| OctetString::new(Sha256::digest(data).to_vec()).unwrap();
    CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        },
        issuer_name_hash: h(&tbs.subject().to_der().unwrap()),
        issuer_key_hash: h(tbs.subject_public_key_info().subject_public_key.raw_bytes()),
        serial_number: SerialNumber::new(serial).unwrap(),
    }
}

/// The engine's OCSP answer for each serial, in order.
fn ocsp(engine: &Engine, ca: &Certificate, serials: &[Vec<u8>]) -> Vec<CertStatus> {
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: OcspVersion::V1,
            requestor_name: None,
            request_list: serials
                .iter()
                .map(|s| Request {
                    req_cert: cert_id(ca, s),
                    single_request_extensions: None,
                })
                .collect(),
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap();
    let reply = engine.ocsp("old", &request).unwrap();
    assert_eq!(reply.status, OcspResponseStatus::Successful);
    let basic: BasicOcspResponse = OcspResponse::from_der(&reply.der)
        .unwrap()
        .basic()
        .unwrap()
        .unwrap();
    basic
        .tbs_response_data
        .responses
        .into_iter()
        .map(|r| r.cert_status)
        .collect()
}

/// Seconds since 1970 of 2024-01-`day` 00:00:00Z.
fn jan_2024(day: u32) -> u64 {
    1_704_067_200 + u64::from(day - 1) * 86_400
}

/// The PostgreSQL `psql`: the newest server's, else the one on PATH.
fn psql() -> String {
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|v| v.path().join("bin/psql"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found
        .pop()
        .map_or_else(|| "psql".to_owned(), |p| p.display().to_string())
}

/// A fresh schema on the PostgreSQL server at `CMC_TEST_PG_URL`, dropped
/// with this; `None` (the test is skipped) when it is not set, which CI
/// does not allow.
struct PgSchema {
    base: String,
    schema: String,
}

impl PgSchema {
    fn new(test: &str) -> Option<Self> {
        let base = match std::env::var("CMC_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var_os("CI").is_some() => {
                panic!("CMC_TEST_PG_URL is not set, and CI is: the PostgreSQL tests must run")
            }
            _ => {
                eprintln!("skipped {test}: CMC_TEST_PG_URL is not set");
                return None;
            }
        };
        let schema = format!("import_{}", std::process::id());
        Self::sql(&base, &format!("CREATE SCHEMA {schema}"));
        Some(Self { base, schema })
    }

    fn sql(base: &str, sql: &str) {
        let out = Command::new(psql())
            .args([base, "-qc", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.schema)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        Self::sql(&self.base, &format!("DROP SCHEMA {} CASCADE", self.schema));
    }
}

/// The migration of an OpenSSL CA with `n` certificates, on the store at
/// `store` (the SQLite file in the data directory when `None`).
fn migrate(n: usize, store: Option<&str>) {
    let env = match store {
        Some(url) => Env::with_config(&format!("data_dir = \"data\"\nstore = \"{url}\"\n")),
        None => Env::new(),
    };
    let dir = env.dir.path();
    openssl_ca(dir, "old", "Old OpenSSL CA");
    let old = dir.join("old");
    let p = |name: &str| old.join(name).display().to_string();
    let pass = env.passphrase.display().to_string();

    // The CA, its key re-encrypted under our passphrase file.
    let imported = env
        .ok(&[
            "ca",
            "import",
            "old",
            "--cert",
            &p("ca.pem"),
            "--key",
            &p("ca.key"),
            "--source-passphrase-file",
            &p("srcpass"),
            "--passphrase-file",
            &pass,
            "--json",
        ])
        .json();
    assert_eq!(imported["chain_length"], 0);
    assert_eq!(imported["signs_with"], "ecdsa-sha256");
    let stored_key = env.path("data/keys/old.key");
    let text = std::fs::read_to_string(&stored_key).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&stored_key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = env.fails(
        1,
        &[
            "ca",
            "import",
            "old",
            "--cert",
            &p("ca.pem"),
            "--key",
            &p("ca.key"),
            "--source-passphrase-file",
            &p("srcpass"),
            "--passphrase-file",
            &pass,
        ],
    );
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    // n certificates: half in one PEM file, a quarter as DER files in a
    // directory... all through the files and --dir forms.
    let certs = leaves(dir, "old", n);
    let half = n / 2;
    let bundle: String = certs[..half].iter().map(|(_, d)| pem(d)).collect();
    std::fs::write(old.join("bundle.pem"), bundle).unwrap();
    let der_dir = old.join("der");
    std::fs::create_dir(&der_dir).unwrap();
    for (i, (_, der)) in certs[half..].iter().enumerate() {
        std::fs::write(der_dir.join(format!("{i:05}.der")), der).unwrap();
    }
    let started = std::time::Instant::now();
    let r = env
        .ok(&["cert", "import", "old", &p("bundle.pem"), "--json"])
        .json();
    assert_eq!(r["imported"], half);
    let r = env
        .ok(&["cert", "import", "old", "--dir", &p("der"), "--json"])
        .json();
    assert_eq!(r["imported"], n - half);
    eprintln!(
        "imported {n} certificates in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // Again: nothing new, nothing refused.
    let r = env
        .ok(&["cert", "import", "old", &p("bundle.pem"), "--json"])
        .json();
    assert_eq!(
        (r["imported"].as_u64(), r["duplicates"].as_u64()),
        (Some(0), Some(half as u64))
    );

    // Every 50th revoked by the OpenSSL CRL, the four kinds in turn, and
    // one serial the CRL names whose certificate was never imported.
    let mut revoked: Vec<(Vec<u8>, usize, u32)> = certs
        .iter()
        .step_by(50)
        .enumerate()
        .map(|(i, (s, _))| (s.clone(), i % 4, 1 + u32::try_from(i % 28).unwrap()))
        .collect();
    let stranger = random_serial();
    revoked.push((stranger.clone(), 2, 3));
    openssl_crl(dir, "old", &revoked);
    let r = env
        .ok(&["crl", "import", "old", &p("old.crl"), "--json"])
        .json();
    assert_eq!(r["crl_number"], OLD_CRL_NUMBER);
    assert_eq!(r["entries"], revoked.len());
    assert_eq!(r["revoked"], revoked.len() - 1);
    assert_eq!(r["not_imported"][0], hex_upper(&stranger).to_lowercase());
    let again = env.ok(&[
        "crl",
        "import",
        "old",
        &p("old.crl"),
        "--json",
        "--progress",
    ]);
    // --progress: what is being done, then how much, on standard error
    // only (standard output stays the JSON).
    let recorded = format!("{} entries recorded in ", revoked.len());
    assert!(
        again
            .stderr
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("importing a CRL of "))
            && again
                .stderr
                .lines()
                .any(|l| l.starts_with(&recorded) && l.ends_with(" s")),
        "{}",
        again.stderr
    );
    assert!(!again.stdout.contains("importing"), "{}", again.stdout);
    let r = again.json();
    assert_eq!(
        (r["revoked"].as_u64(), r["already_revoked"].as_u64()),
        (Some(0), Some(revoked.len() as u64 - 1))
    );

    // OCSP: revoked as the CRL says for every revoked one, good for a
    // sample of the others, unknown for the one never imported.
    let ca_cert = pem_cert(&old.join("ca.pem"));
    let url = store.map_or_else(
        || format!("sqlite://{}", env.path("data/cmc.db").display()),
        str::to_owned,
    );
    let engine = Engine::open(&url, Arc::new(SystemClock), EngineConfig::default()).unwrap();
    let revoked_set: HashSet<&[u8]> = revoked.iter().map(|(s, _, _)| s.as_slice()).collect();
    let imported_revoked: Vec<_> = revoked[..revoked.len() - 1].to_vec();
    for chunk in imported_revoked.chunks(cmc_ca::MAX_OCSP_REQUESTS) {
        let serials: Vec<Vec<u8>> = chunk.iter().map(|(s, _, _)| s.clone()).collect();
        for ((_, kind, day), status) in chunk.iter().zip(ocsp(&engine, &ca_cert, &serials)) {
            let CertStatus::Revoked(info) = status else {
                panic!("not revoked: {status:?}");
            };
            assert_eq!(
                info.revocation_time.to_unix_duration().as_secs(),
                jan_2024(*day)
            );
            assert_eq!(info.revocation_reason, REVOCATIONS[*kind].1);
        }
    }
    let good: Vec<Vec<u8>> = certs
        .iter()
        .map(|(s, _)| s.clone())
        .filter(|s| !revoked_set.contains(s.as_slice()))
        .step_by(7)
        .take(cmc_ca::MAX_OCSP_REQUESTS)
        .collect();
    for status in ocsp(&engine, &ca_cert, &good) {
        assert!(matches!(status, CertStatus::Good(_)), "{status:?}");
    }
    assert!(matches!(
        ocsp(&engine, &ca_cert, &[stranger])[0],
        CertStatus::Unknown(_)
    ));

    // Our next CRL: a greater number, every imported revocation, and
    // OpenSSL verifies it with the OpenSSL-made CA certificate.
    env.ok(&["crl", "generate", "--ca", "old", "-o", &p("new.crl")]);
    openssl(
        &old,
        &[
            "crl", "-in", "new.crl", "-inform", "DER", "-CAfile", "ca.pem", "-noout", "-verify",
        ],
    );
    let crl = <CertificateList>::from_der(&std::fs::read(old.join("new.crl")).unwrap()).unwrap();
    let number = crl
        .tbs_cert_list
        .crl_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_NUMBER)
        .map(|e| CrlNumber::from_der(e.extn_value.as_bytes()).unwrap())
        .unwrap();
    assert!(u64::from_str_radix(&hex_upper(number.0.as_bytes()), 16).unwrap() > OLD_CRL_NUMBER);
    let listed: BTreeMap<Vec<u8>, u64> = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|e| {
            (
                e.serial_number.as_bytes().to_vec(),
                e.revocation_date.to_unix_duration().as_secs(),
            )
        })
        .collect();
    assert_eq!(listed.len(), imported_revoked.len());
    for (serial, _, day) in &imported_revoked {
        assert_eq!(listed.get(serial), Some(&jan_2024(*day)));
    }

    // A certificate issued here now: a serial none of the imported has.
    let serial = env.issue_client("after-import", "client", "old");
    let taken: HashSet<String> = certs.iter().map(|(s, _)| hex_upper(s)).collect();
    assert!(!taken.contains(&serial.to_uppercase()), "{serial}");
    assert_eq!(
        env.ok(&["cert", "list", "--ca", "old", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        n + 1
    );
}

#[test]
fn an_openssl_ca_with_10000_certificates_and_its_crl_moves_in() {
    migrate(10_000, None);
}

#[test]
fn an_openssl_ca_moves_into_postgresql() {
    let Some(pg) = PgSchema::new("an_openssl_ca_moves_into_postgresql") else {
        return;
    };
    migrate(10_000, Some(&pg.url()));
}

#[test]
fn an_intermediate_comes_with_its_chain() {
    let env = Env::new();
    let dir = env.dir.path();
    openssl_ca(dir, "root", "Old Root CA");
    openssl_ca(dir, "inter", "Old Issuing CA");
    let p = |sub: &str, name: &str| dir.join(sub).join(name).display().to_string();
    // The issuing CA's certificate again, signed by the root.
    let d = dir.join("inter");
    openssl(
        &d,
        &[
            "req",
            "-new",
            "-config",
            "cnf",
            "-key",
            "ca.key",
            "-passin",
            "file:srcpass",
            "-out",
            "ca.csr",
        ],
    );
    openssl(
        &d,
        &[
            "x509",
            "-req",
            "-in",
            "ca.csr",
            "-CA",
            &p("root", "ca.pem"),
            "-CAkey",
            &p("root", "ca.key"),
            "-passin",
            &format!("file:{}", p("root", "srcpass")),
            "-set_serial",
            "7",
            "-days",
            "1000",
            "-extfile",
            "cnf",
            "-extensions",
            "v3_ca",
            "-out",
            "signed.pem",
        ],
    );
    let pass = env.passphrase.display().to_string();
    let import = |cert: &str, chain: Option<&str>| {
        let mut args = vec![
            "ca".to_owned(),
            "import".to_owned(),
            "issuing".to_owned(),
            "--cert".to_owned(),
            cert.to_owned(),
            "--key".to_owned(),
            p("inter", "ca.key"),
            "--source-passphrase-file".to_owned(),
            p("inter", "srcpass"),
            "--passphrase-file".to_owned(),
            pass.clone(),
            "--json".to_owned(),
        ];
        if let Some(c) = chain {
            args.extend(["--chain".to_owned(), c.to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.run(&args)
    };
    // Without its chain, or with a chain that did not sign it: refused.
    let r = import(&p("inter", "signed.pem"), None);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("no chain"), "{}", r.stderr);
    let r = import(&p("inter", "signed.pem"), Some(&p("inter", "ca.pem")));
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("not signed by its issuer"),
        "{}",
        r.stderr
    );
    assert!(!env.path("data/keys/issuing.key").exists());
    let r = import(&p("inter", "signed.pem"), Some(&p("root", "ca.pem")));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.json()["chain_length"], 1);
    // The chain is served with it, and what it issues verifies up to the
    // OpenSSL root.
    let chain = env.p("exported.pem");
    env.ok(&["ca", "export", "issuing", "--chain", "-o", &chain]);
    assert_eq!(
        std::fs::read_to_string(&chain)
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count(),
        2
    );
    env.issue_client("leaf", "client", "issuing");
    let out = Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            &p("root", "ca.pem"),
            "-untrusted",
            &p("inter", "signed.pem"),
        ])
        .arg(env.path("out/leaf.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn what_is_not_the_cas_is_refused() {
    let env = Env::new();
    let dir = env.dir.path();
    openssl_ca(dir, "old", "Old OpenSSL CA");
    // Another CA with the same name and its own key: its certificates and
    // CRL must not pass for the first one's.
    openssl_ca(dir, "twin", "Old OpenSSL CA");
    openssl_ca(dir, "other", "Other CA");
    let p = |sub: &str, name: &str| dir.join(sub).join(name).display().to_string();
    let pass = env.passphrase.display().to_string();
    let import = |cert: &str, key: &str| {
        vec![
            "ca".to_owned(),
            "import".to_owned(),
            "old".to_owned(),
            "--cert".to_owned(),
            cert.to_owned(),
            "--key".to_owned(),
            key.to_owned(),
            "--source-passphrase-file".to_owned(),
            p("old", "srcpass"),
            "--passphrase-file".to_owned(),
            pass.clone(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.run(&args)
    };

    // A key that is not the certificate's: nothing stored, no key file.
    let r = run(import(&p("old", "ca.pem"), &p("twin", "ca.key")));
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("key"), "{}", r.stderr);
    assert!(!env.path("data/keys/old.key").exists());
    // A certificate that is not a CA's (with its own, matching key).
    let mut leaf = import(&p("old", "template.pem"), &p("old", "leaf.key"));
    leaf.truncate(7);
    leaf.extend(["--passphrase-file".to_owned(), pass.clone()]);
    let r = run(leaf);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("not a CA certificate"), "{}", r.stderr);
    // A CA certificate whose keyUsage does not allow signing certificates.
    openssl(
        &dir.join("old"),
        &[
            "req",
            "-x509",
            "-new",
            "-config",
            "cnf",
            "-extensions",
            "v3_nosign",
            "-key",
            "ca.key",
            "-passin",
            "file:srcpass",
            "-days",
            "30",
            "-out",
            "nosign.pem",
        ],
    );
    let r = run(import(&p("old", "nosign.pem"), &p("old", "ca.key")));
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("keyCertSign"), "{}", r.stderr);
    assert!(
        env.ok(&["ca", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );

    env.ok(&import(&p("old", "ca.pem"), &p("old", "ca.key"))
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());

    // Certificates: two of ours, one of the twin (same issuer name, other
    // key), one of another CA, and the CA's own certificate.
    let ours = leaves(dir, "old", 2);
    let twin = leaves(dir, "twin", 1);
    let other = leaves(dir, "other", 1);
    let ca_pem = std::fs::read_to_string(p("old", "ca.pem")).unwrap();
    // And ours[0] again (a duplicate), and another certificate with the
    // serial of ours[1] (a clash).
    let clash = sign_leaves(dir, "old", vec![ours[1].0.clone()]);
    assert_ne!(clash[0].1, ours[1].1);
    let mixed = [
        pem(&ours[0].1),
        pem(&twin[0].1),
        pem(&other[0].1),
        ca_pem,
        pem(&ours[1].1),
        pem(&ours[0].1),
        pem(&clash[0].1),
    ]
    .concat();
    std::fs::write(dir.join("mixed.pem"), mixed).unwrap();
    std::fs::write(dir.join("junk.der"), b"\x30\x03\x02\x01\x01").unwrap();
    let mixed_path = dir.join("mixed.pem").display().to_string();
    let junk_path = dir.join("junk.der").display().to_string();
    let r = env.fails(
        1,
        &["cert", "import", "old", &mixed_path, &junk_path, "--json"],
    );
    let report = r.json();
    assert_eq!(report["read"], 7);
    assert_eq!(report["imported"], 2);
    assert_eq!(report["duplicates"], 1);
    let reasons: Vec<&str> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(
        reasons[0].contains("signature does not verify"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("not by this CA"), "{reasons:?}");
    assert!(reasons[2].contains("own certificate"), "{reasons:?}");
    assert!(reasons[3].contains("different certificate"), "{reasons:?}");
    assert!(reasons[4].contains("not a"), "{reasons:?}");
    assert!(
        r.stderr.contains("5 of the inputs were refused"),
        "{}",
        r.stderr
    );
    // The clash again in a later run: refused against the stored one.
    std::fs::write(dir.join("clash.pem"), pem(&clash[0].1)).unwrap();
    let clash_path = dir.join("clash.pem").display().to_string();
    let r = env
        .fails(1, &["cert", "import", "old", &clash_path, "--json"])
        .json();
    assert_eq!(
        (
            r["imported"].as_u64(),
            r["refused"].as_array().unwrap().len()
        ),
        (Some(0), 1)
    );
    assert!(
        r["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("already stored"),
        "{r}"
    );

    // A CRL with our issuer name signed by the twin's key is refused, and
    // records nothing.
    openssl_crl(dir, "twin", &[(ours[0].0.clone(), 0, 1)]);
    let r = env.fails(1, &["crl", "import", "old", &p("twin", "old.crl")]);
    assert!(r.stderr.contains("does not verify"), "{}", r.stderr);
    let revoked = env
        .ok(&[
            "cert", "list", "--ca", "old", "--status", "revoked", "--json",
        ])
        .json();
    assert!(revoked.as_array().unwrap().is_empty());
    // And another CA's CRL names another issuer.
    openssl_crl(dir, "other", &[]);
    let r = env.fails(1, &["crl", "import", "old", &p("other", "old.crl")]);
    assert!(r.stderr.contains("not by CA"), "{}", r.stderr);
}
