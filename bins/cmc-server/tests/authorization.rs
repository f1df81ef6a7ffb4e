//! Who may ask for what (issue 13), attack by attack, end to end: the
//! built `cmc-server` on the embedded default, `cmc-tool` (its library,
//! parsed from a command line as the binary does) as the operator and as
//! the attacker, OpenSSL for the requests `cmc-tool` cannot make.
//!
//! Each test plays one attack and then checks that nothing happened: the
//! request was answered with a CMC failure (cmc-tool printed the status
//! and failInfo and returned an error, i.e. exited non-zero), no
//! certificate was signed (`cmc-tool cert list`), nothing was revoked
//! (the CA's CRL, read with `openssl crl`), and the victim still works.
//! Every expectation is checked and the violated ones are reported
//! together, so that a failure lists each step of the attack that
//! succeeded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt::Display;
use std::path::{Path, PathBuf};

use common::{Server, cmc_tool, openssl, s, start, write_config};

const CONFIG: &str = "[server]\nlisten = \"127.0.0.1:0\"\n";

/// The bootstrap RA credential's subject (`cmc_server::bootstrap`).
const RA_SUBJECT: &str = "CN=cmc-ca bootstrap RA";

/// What `cmc-tool` answered, for the findings.
fn shown(r: &Result<String, String>) -> String {
    match r {
        Ok(out) => format!("exit 0:\n{out}"),
        Err(err) => format!("exit 1:\n{err}"),
    }
}

/// Whether cmc-tool failed (exit 1) because the CA answered `failed` with
/// one of these CMCFailInfo values.
fn refused_with(r: &Result<String, String>, fail_infos: &[&str]) -> bool {
    r.as_ref().is_err_and(|err| {
        fail_infos
            .iter()
            .any(|info| err.contains(&format!("status: failed, failInfo: {info}")))
    })
}

/// The expectations of one attack that did not hold.
struct Findings {
    attack: &'static str,
    violated: Vec<String>,
}

impl Findings {
    fn new(attack: &'static str) -> Self {
        Self {
            attack,
            violated: Vec::new(),
        }
    }

    fn expect(&mut self, holds: bool, what: impl Display) {
        if !holds {
            self.violated.push(what.to_string());
        }
    }

    fn assert_none(self) {
        assert!(
            self.violated.is_empty(),
            "{}: the attack succeeded; {} expectation(s) violated:\n- {}",
            self.attack,
            self.violated.len(),
            self.violated.join("\n- ")
        );
    }
}

/// A certificate as `cmc-tool cert list --json` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Listed {
    serial: String,
    subject: Option<String>,
    revoked: bool,
}

/// Hex serial without leading zeros, upper case: how OpenSSL prints them.
fn norm_serial(hex: &str) -> String {
    let t = hex.trim().trim_start_matches('0').to_ascii_uppercase();
    if t.is_empty() { "0".into() } else { t }
}

/// The subject and subjectAltName lines of `openssl x509 -text`.
fn names(text: &str) -> String {
    let mut lines = text.lines().map(str::trim);
    let subject = lines
        .clone()
        .find(|l| l.starts_with("Subject:"))
        .unwrap_or("Subject: -");
    let san = lines
        .find(|l| l.starts_with("DNS:") || l.starts_with("email:") || l.starts_with("IP Address:"))
        .unwrap_or("no subjectAltName");
    format!("{subject}, {san}")
}

/// The server on the embedded default and its data directory.
struct Setup {
    _tmp: tempfile::TempDir,
    server: Server,
    data: PathBuf,
    url: String,
    config: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), CONFIG);
    let server = start(tmp.path());
    let data = tmp.path().join("cmc-data");
    let url = format!("http://{}/cmc/root", server.addr);
    Setup {
        _tmp: tmp,
        server,
        data,
        url,
        config,
    }
}

impl Setup {
    fn file(&self, name: &str) -> PathBuf {
        self.data.join(name)
    }

    fn root(&self) -> PathBuf {
        self.file("root.pem")
    }

    /// An operator command (`cmc-tool --config cmc.toml ARGS`), which must
    /// succeed.
    fn admin(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", s(&self.config)];
        all.extend_from_slice(args);
        cmc_tool(&all).unwrap_or_else(|e| panic!("cmc-tool {args:?}: {e}"))
    }

    /// Every certificate of the store.
    fn certs(&self) -> Vec<Listed> {
        let text = self.admin(&["cert", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| Listed {
                serial: norm_serial(c["serial"].as_str().unwrap()),
                subject: c["subject"].as_str().map(str::to_owned),
                revoked: !c["revocation"].is_null(),
            })
            .collect()
    }

    /// The certificates that were signed (the others are only reserved
    /// serials or failed issuances).
    fn signed(&self) -> Vec<Listed> {
        self.certs()
            .into_iter()
            .filter(|c| c.subject.is_some())
            .collect()
    }

    fn is_revoked(&self, serial: &str) -> bool {
        self.certs().iter().any(|c| c.serial == serial && c.revoked)
    }

    /// The serials the CA's current CRL lists, as `openssl crl` prints them.
    fn crl_serials(&self) -> Vec<String> {
        let crl = self.server.get("/crl/root.crl");
        assert_eq!(crl.status, 200, "{}", crl.text());
        let file = self.file("root.crl");
        std::fs::write(&file, &crl.body).unwrap();
        let (ok, text) = openssl(
            &self.data,
            &["crl", "-inform", "DER", "-in", s(&file), "-noout", "-text"],
        );
        assert!(ok, "{text}");
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
            .map(norm_serial)
            .collect()
    }

    /// A certificate file's serial, as `openssl x509` prints it.
    fn serial_of(&self, cert: &Path) -> String {
        let (ok, out) = openssl(&self.data, &["x509", "-in", s(cert), "-noout", "-serial"]);
        assert!(ok, "{out}");
        norm_serial(out.trim().trim_start_matches("serial="))
    }

    fn cert_text(&self, cert: &Path) -> String {
        let (ok, text) = openssl(&self.data, &["x509", "-in", s(cert), "-noout", "-text"]);
        assert!(ok, "{text}");
        text
    }

    /// `cmc-tool enroll` signed by `signer` (certificate, key and the
    /// key's flags), the certificate to `out`, with `what` (`--csr` or
    /// `--new-key` and `--subject`).
    fn enroll(&self, signer: &[&str], out: &Path, what: &[&str]) -> Result<String, String> {
        let root = self.root();
        let mut args = vec![
            "enroll",
            "--url",
            &self.url,
            "--ca-cert",
            s(&root),
            "--out-cert",
            s(out),
        ];
        args.extend_from_slice(signer);
        args.extend_from_slice(what);
        cmc_tool(&args)
    }

    /// The signer flags of the bootstrap RA.
    fn ra(&self) -> Vec<String> {
        [
            ("--signer-cert", "bootstrap-ra.pem"),
            ("--signer-key", "bootstrap-ra.key"),
            ("--passphrase-file", "bootstrap-ra-passphrase"),
        ]
        .into_iter()
        .flat_map(|(flag, name)| [flag.to_owned(), s(&self.file(name)).to_owned()])
        .collect()
    }

    /// `cmc-tool enroll` signed by the bootstrap RA for a new key NAME.key
    /// with `subject`; the certificate goes to NAME.pem.
    fn ra_enroll(&self, name: &str, subject: &str) -> (PathBuf, Result<String, String>) {
        let ra = self.ra();
        let ra: Vec<&str> = ra.iter().map(String::as_str).collect();
        let out = self.file(&format!("{name}.pem"));
        let key = self.file(&format!("{name}.key"));
        let r = self.enroll(
            &ra,
            &out,
            &[
                "--new-key",
                s(&key),
                "--new-key-unencrypted",
                "--subject",
                subject,
            ],
        );
        (out, r)
    }

    /// `cmc-tool enroll` signed by the holder of `cert` (its key
    /// unencrypted next to it, NAME.key) for a new key NAME.key with
    /// `subject`.
    fn holder_enroll(
        &self,
        cert: &Path,
        name: &str,
        subject: &str,
    ) -> (PathBuf, Result<String, String>) {
        let signer_key = cert.with_extension("key");
        let out = self.file(&format!("{name}.pem"));
        let key = self.file(&format!("{name}.key"));
        let r = self.enroll(
            &[
                "--signer-cert",
                s(cert),
                "--signer-key",
                s(&signer_key),
                "--unencrypted-key",
            ],
            &out,
            &[
                "--new-key",
                s(&key),
                "--new-key-unencrypted",
                "--subject",
                subject,
            ],
        );
        (out, r)
    }

    /// `cmc-tool revoke` of `target` (keyCompromise), signed by the holder
    /// of `signer` (its unencrypted key next to it).
    fn holder_revoke(&self, signer: &Path, target: &Path) -> Result<String, String> {
        let root = self.root();
        let key = signer.with_extension("key");
        cmc_tool(&[
            "revoke",
            "--url",
            &self.url,
            "--ca-cert",
            s(&root),
            "--cert",
            s(target),
            "--reason",
            "keyCompromise",
            "--signer-cert",
            s(signer),
            "--signer-key",
            s(&key),
            "--unencrypted-key",
        ])
    }

    /// The holder of `signer` tries to revoke `target` (serial
    /// `target_serial`, `what` in the findings): the attempt must fail with
    /// badRequest or badIdentity and leave `target` off the CRL and
    /// unrevoked in the store.
    fn expect_revocation_refused(
        &self,
        findings: &mut Findings,
        signer: &Path,
        target: &Path,
        target_serial: &str,
        what: &str,
    ) {
        let r = self.holder_revoke(signer, target);
        findings.expect(
            refused_with(&r, &["badRequest", "badIdentity"]),
            format_args!(
                "the revokeRequest for {what} must fail with badRequest or badIdentity; cmc-tool: {}",
                shown(&r)
            ),
        );
        let crl = self.crl_serials();
        findings.expect(
            !crl.contains(&target_serial.to_owned()),
            format_args!("the CRL lists {what} {target_serial}: {crl:?}"),
        );
        findings.expect(
            !self.is_revoked(target_serial),
            format_args!("the store has {what} {target_serial} revoked"),
        );
    }

    /// `cmc-tool secret add --ca root --identification ID`: the secret,
    /// saved to ID.secret (0600).
    fn add_secret(&self, id: &str) -> PathBuf {
        let out = self.admin(&["secret", "add", "--ca", "root", "--identification", id]);
        let secret = out
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 32)
            .unwrap_or_else(|| panic!("no secret in {out}"))
            .to_owned();
        let path = self.file(&format!("{id}.secret"));
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        path
    }

    /// `cmc-tool enroll` with the one-time secret of `id` for a new key
    /// NAME.key with `subject`; the certificate goes to NAME.pem.
    fn secret_enroll(
        &self,
        id: &str,
        secret: &Path,
        name: &str,
        subject: &str,
    ) -> (PathBuf, Result<String, String>) {
        let out = self.file(&format!("{name}.pem"));
        let key = self.file(&format!("{name}.key"));
        let r = self.enroll(
            &["--identification", id, "--secret-file", s(secret)],
            &out,
            &[
                "--new-key",
                s(&key),
                "--new-key-unencrypted",
                "--subject",
                subject,
            ],
        );
        (out, r)
    }

    /// `cmc-tool client add ID --role client --ca root --issue --subject
    /// SUBJECT`: the credential ID.pem, its key ID.key (unencrypted).
    fn add_client(&self, id: &str, subject: &str) -> PathBuf {
        self.admin(&[
            "client",
            "add",
            id,
            "--role",
            "client",
            "--ca",
            "root",
            "--issue",
            "--subject",
            subject,
            "--out-dir",
            s(&self.data),
            "--unencrypted-key",
        ]);
        let cert = self.file(&format!("{id}.pem"));
        assert!(cert.exists(), "client add wrote no {}", cert.display());
        cert
    }

    /// A PKCS #10 request made by OpenSSL for a new P-256 key NAME.key:
    /// `subject` in OpenSSL's `/CN=...` form, `san` a subjectAltName
    /// value. Returns the request's path.
    fn openssl_csr(&self, name: &str, subject: &str, san: &str) -> PathBuf {
        let key = self.file(&format!("{name}.key"));
        let csr = self.file(&format!("{name}.csr"));
        let san = format!("subjectAltName={san}");
        let (ok, out) = openssl(
            &self.data,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                s(&key),
                "-subj",
                subject,
                "-addext",
                &san,
                "-out",
                s(&csr),
            ],
        );
        assert!(ok, "{out}");
        csr
    }
}

/// Attack 1: the owner of a one-time secret takes the bootstrap RA's
/// subject, then revokes the RA's credential as "the holder of a
/// certificate with the same subject".
#[test]
fn a_one_time_secret_cannot_take_the_ra_name_nor_revoke_the_ra() {
    let setup = setup();
    let mut findings = Findings::new("attack 1 (a stranger revokes the RA)");
    let ra_cert = setup.file("bootstrap-ra.pem");
    let ra_serial = setup.serial_of(&ra_cert);
    let signed_before = setup.signed();
    assert!(setup.crl_serials().is_empty());

    let secret = setup.add_secret("mallory");
    let (stolen, r) = setup.secret_enroll("mallory", &secret, "mallory", RA_SUBJECT);
    findings.expect(
        refused_with(&r, &["badRequest", "badIdentity"]),
        format_args!(
            "enrolling {RA_SUBJECT:?} with mallory's secret must fail with badRequest or badIdentity; cmc-tool: {}",
            shown(&r)
        ),
    );
    findings.expect(
        !stolen.exists(),
        "a certificate with the RA's subject was written for mallory",
    );
    let signed = setup.signed();
    findings.expect(
        signed.len() == signed_before.len(),
        format_args!(
            "the CA signed {} certificate(s) for mallory: {:?}",
            signed.len().saturating_sub(signed_before.len()),
            signed
                .iter()
                .filter(|c| !signed_before.contains(c))
                .collect::<Vec<_>>()
        ),
    );

    // The revocation, signed with that certificate if mallory got it
    // (the attack as reported), otherwise with an ordinary certificate of
    // her own.
    let signer = if stolen.exists() {
        stolen
    } else {
        let secret = setup.add_secret("mallory-2");
        let (own, r) = setup.secret_enroll(
            "mallory-2",
            &secret,
            "mallory-own",
            "CN=mallory.example.test",
        );
        assert!(
            r.is_ok(),
            "an ordinary enrollment with a secret: {}",
            shown(&r)
        );
        own
    };
    setup.expect_revocation_refused(
        &mut findings,
        &signer,
        &ra_cert,
        &ra_serial,
        "mallory's target, the RA credential",
    );

    // The RA still enrolls.
    let (cert, r) = setup.ra_enroll("after", "CN=after.example.test");
    findings.expect(
        r.is_ok() && cert.exists(),
        format_args!(
            "the bootstrap RA can no longer enroll; cmc-tool: {}",
            shown(&r)
        ),
    );
    findings.assert_none();
}

/// Attack 2: a holder's renewal asks for a name its certificate does not
/// have.
#[test]
fn a_renewal_cannot_add_a_name() {
    let setup = setup();
    let mut findings = Findings::new("attack 2 (renewal adds names)");
    let ra = setup.ra();
    let ra: Vec<&str> = ra.iter().map(String::as_str).collect();

    // alice: CN=alice, DNS:alice.example.test, through the RA.
    let csr = setup.openssl_csr("alice", "/CN=alice", "DNS:alice.example.test");
    let alice = setup.file("alice.pem");
    let r = setup.enroll(&ra, &alice, &["--csr", s(&csr)]);
    assert!(r.is_ok(), "alice through the RA: {}", shown(&r));
    let text = setup.cert_text(&alice);
    assert!(text.contains("DNS:alice.example.test"), "{text}");
    let signed_before = setup.signed();

    // alice signs a request for CN=alice, DNS:bank.example.test.
    let csr = setup.openssl_csr("bank", "/CN=alice", "DNS:bank.example.test");
    let alice_key = setup.file("alice.key");
    let signer = [
        "--signer-cert",
        s(&alice),
        "--signer-key",
        s(&alice_key),
        "--unencrypted-key",
    ];
    let bank = setup.file("bank.pem");
    let r = setup.enroll(&signer, &bank, &["--csr", s(&csr)]);
    findings.expect(
        refused_with(&r, &["badIdentity"]),
        format_args!(
            "alice's renewal for DNS:bank.example.test must fail with badIdentity; cmc-tool: {}",
            shown(&r)
        ),
    );
    findings.expect(
        !bank.exists(),
        format_args!(
            "a certificate was written with {}",
            if bank.exists() {
                names(&setup.cert_text(&bank))
            } else {
                String::new()
            }
        ),
    );
    let signed = setup.signed();
    findings.expect(
        signed.len() == signed_before.len(),
        format_args!(
            "the CA signed {} certificate(s) for alice's renewal",
            signed.len().saturating_sub(signed_before.len())
        ),
    );

    // The same names with a new key: an ordinary renewal.
    let csr = setup.openssl_csr("alice-2", "/CN=alice", "DNS:alice.example.test");
    let renewed = setup.file("alice-2.pem");
    let r = setup.enroll(&signer, &renewed, &["--csr", s(&csr)]);
    findings.expect(
        r.is_ok() && renewed.exists(),
        format_args!(
            "alice's renewal for her own names must succeed; cmc-tool: {}",
            shown(&r)
        ),
    );
    findings.assert_none();
}

/// Attack 3: a registered end-entity client asks for a name that is not
/// its own.
#[test]
fn an_end_entity_client_cannot_name_itself_anything() {
    let setup = setup();
    let mut findings = Findings::new("attack 3 (an end entity names itself anything)");
    let eve = setup.add_client("eve", "CN=eve");
    let signed_before = setup.signed();

    let (admin, r) = setup.holder_enroll(&eve, "admin", "CN=admin");
    findings.expect(
        refused_with(&r, &["badIdentity", "badRequest"]),
        format_args!(
            "eve's request for CN=admin must fail with badIdentity or badRequest; cmc-tool: {}",
            shown(&r)
        ),
    );
    findings.expect(
        !admin.exists(),
        "a CN=admin certificate was written for eve",
    );
    let signed = setup.signed();
    findings.expect(
        signed.len() == signed_before.len(),
        format_args!(
            "the CA signed {} certificate(s) for eve's request: {:?}",
            signed.len().saturating_sub(signed_before.len()),
            signed
                .iter()
                .filter(|c| !signed_before.contains(c))
                .collect::<Vec<_>>()
        ),
    );
    findings.assert_none();
}

/// Attack 4: the RA asks for a client credential's subject, and the
/// holder of another certificate revokes that credential.
#[test]
fn a_credential_subject_is_reserved_and_only_its_holder_revokes_it() {
    let setup = setup();
    let mut findings = Findings::new("attack 4 (same subject, other holder)");
    let eve = setup.add_client("eve", "CN=eve");
    let eve_serial = setup.serial_of(&eve);
    let signed_before = setup.signed();

    let (twin, r) = setup.ra_enroll("eve-twin", "CN=eve");
    findings.expect(
        refused_with(&r, &["badRequest", "badIdentity"]),
        format_args!(
            "the RA's request for CN=eve (a client credential's subject) must fail with badRequest or badIdentity; cmc-tool: {}",
            shown(&r)
        ),
    );
    findings.expect(
        !twin.exists(),
        "a second CN=eve certificate was written for the RA",
    );
    let signed = setup.signed();
    findings.expect(
        signed.len() == signed_before.len(),
        format_args!(
            "the CA signed {} certificate(s) for the RA's CN=eve request",
            signed.len().saturating_sub(signed_before.len())
        ),
    );

    // The revocation, signed by the holder of that second certificate if
    // it was issued (the attack as reported), otherwise by the holder of
    // any other end-entity certificate.
    let signer = if twin.exists() {
        twin
    } else {
        let (frank, r) = setup.ra_enroll("frank", "CN=frank.example.test");
        assert!(r.is_ok(), "an ordinary RA enrollment: {}", shown(&r));
        frank
    };
    setup.expect_revocation_refused(
        &mut findings,
        &signer,
        &eve,
        &eve_serial,
        "another holder's target, eve's credential",
    );

    // eve's credential still works: she asks for her own name.
    let (renewed, r) = setup.holder_enroll(&eve, "eve-own", "CN=eve");
    findings.expect(
        r.is_ok() && renewed.exists(),
        format_args!("eve's credential no longer works; cmc-tool: {}", shown(&r)),
    );
    findings.assert_none();
}
