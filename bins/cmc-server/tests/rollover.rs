//! End to end: a CA rollover without cross-signing on the built
//! `cmc-server`. Certificates enrolled before the rollover, in the passive
//! phase and after activation each verify with `openssl verify` against the
//! bundle `/ca/root.pem` served in that phase and against the final one; a
//! client renewing across the switch ends with the new chain; a
//! certificate of the old generation revoked after the switch is revoked in
//! `openssl ocsp` (answered by the old key) and in the old generation's CRL
//! (`/crl/root@1.crl`, verified with the old CA certificate). The server
//! picks the changes up on its sweep (every 10 s with this config).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Server, admin, cmc_tool, openssl, s, start, write_config};

fn config(data: &Path) -> String {
    format!(
        "data_dir = \"{}\"\n[server]\nlisten = \"127.0.0.1:0\"\n\
         [requests]\npurge_interval_secs = 10\n",
        data.display()
    )
}

struct Rig {
    _tmp: tempfile::TempDir,
    server: Server,
    data: PathBuf,
    config: PathBuf,
}

impl Rig {
    fn bundle(&self) -> String {
        let r = self.server.get("/ca/root.pem");
        assert_eq!(r.status, 200);
        r.text()
    }

    /// Waits until the served bundle holds `n` certificates.
    fn wait_bundle(&self, n: usize) -> String {
        let start = Instant::now();
        loop {
            let b = self.bundle();
            if b.matches("BEGIN CERTIFICATE").count() == n {
                return b;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "bundle: {b}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.data.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Enrolls `name` through the bootstrap RA, the answer verified
    /// against `trust`.
    fn enroll(&self, name: &str, trust: &Path) -> PathBuf {
        let cert = self.data.join(format!("{name}.pem"));
        let key = self.data.join(format!("{name}.key"));
        let url = format!("http://{}/cmc/root", self.server.addr);
        let subject = format!("CN={name}.example.test");
        let file = |n: &str| self.data.join(n).to_str().unwrap().to_owned();
        let (ra, ra_key, pass) = (
            file("bootstrap-ra.pem"),
            file("bootstrap-ra.key"),
            file("bootstrap-ra-passphrase"),
        );
        cmc_tool(&[
            "enroll",
            "--url",
            &url,
            "--ca-cert",
            s(trust),
            "--signer-cert",
            &ra,
            "--signer-key",
            &ra_key,
            "--passphrase-file",
            &pass,
            "--out-cert",
            s(&cert),
            "--new-key",
            s(&key),
            "--new-key-unencrypted",
            "--key-type",
            "p256",
            "--subject",
            &subject,
        ])
        .unwrap_or_else(|e| panic!("enroll {name}: {e}"));
        cert
    }

    fn verify(&self, cert: &Path, bundle: &Path) -> (bool, String) {
        openssl(
            &self.data,
            &["verify", "-CAfile", s(bundle), "-partial_chain", s(cert)],
        )
    }

    fn renew(&self, cert: &Path, bundle: &Path) {
        let url = format!("http://{}/cmc/root", self.server.addr);
        let key = cert.with_extension("key");
        cmc_tool(&[
            "renew",
            "--once",
            "--threshold",
            "3650d",
            "--cert",
            s(cert),
            "--key",
            s(&key),
            "--unencrypted-key",
            "--url",
            &url,
            "--ca-bundle",
            s(bundle),
        ])
        .unwrap_or_else(|e| panic!("renew: {e}"));
    }

    fn serial(&self, cert: &Path) -> String {
        let (ok, text) = openssl(&self.data, &["x509", "-in", s(cert), "-noout", "-serial"]);
        assert!(ok, "{text}");
        text.trim().trim_start_matches("serial=").to_owned()
    }
}

fn setup() -> Rig {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("cmc-data");
    let config = write_config(tmp.path(), &config(&data));
    let server = start(tmp.path());
    Rig {
        _tmp: tmp,
        server,
        data,
        config,
    }
}

#[test]
fn rollover_passive_then_active_on_a_live_server() {
    let rig = setup();
    // Before: one CA certificate.
    let before = rig.write("bundle-before.pem", &rig.wait_bundle(1));
    let a = rig.enroll("before", &before);
    let (ok, text) = rig.verify(&a, &before);
    assert!(ok, "{text}");
    let old_root = rig.data.join("old-root.pem");
    std::fs::copy(&before, &old_root).unwrap();
    // The renewing client's bundle.
    let client_bundle = rig.data.join("client-bundle.pem");
    std::fs::copy(&before, &client_bundle).unwrap();

    // Rollover: a passive generation, encrypted at rest.
    let pass = rig.write("gen2-pass", "gen2 passphrase\n");
    let out = admin(
        &rig.config,
        &["ca", "rollover", "root", "--passphrase-file", s(&pass)],
    );
    assert!(out.contains("generation 2 created, passive"), "{out}");
    let key = rig.data.join("keys/root.gen2.key");
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(key_text.contains("ENCRYPTED PRIVATE KEY"), "{key_text}");
    // A second rollover while one is passive is refused.
    let e = cmc_tool(&[
        "--config",
        s(&rig.config),
        "ca",
        "rollover",
        "root",
        "--passphrase-file",
        s(&pass),
    ])
    .unwrap_err();
    assert!(e.contains("already has a passive generation"), "{e}");
    let shown = admin(&rig.config, &["ca", "show", "root", "--json"]);
    assert!(shown.contains("\"passive\""), "{shown}");

    // Passive: published beside the current one, not issuing.
    let passive = rig.write("bundle-passive.pem", &rig.wait_bundle(2));
    let est = rig.server.get("/.well-known/est/root/cacerts");
    assert_eq!(est.status, 200);
    let b = rig.enroll("passive", &before);
    let (ok, text) = rig.verify(&b, &passive);
    assert!(ok, "{text}");
    // Issued by the old key: it verifies against the old CA certificate alone.
    let (ok, text) = rig.verify(&b, &old_root);
    assert!(ok, "{text}");
    // A renewal in the passive phase learns the next anchor.
    rig.renew(&a, &client_bundle);
    let cb = std::fs::read_to_string(&client_bundle).unwrap();
    assert_eq!(cb.matches("BEGIN CERTIFICATE").count(), 2, "{cb}");

    // Active.
    let out = admin(&rig.config, &["ca", "activate", "root"]);
    assert!(out.contains("generation 2 is active"), "{out}");
    let e = cmc_tool(&["--config", s(&rig.config), "ca", "activate", "root"]).unwrap_err();
    assert!(e.contains("no passive generation"), "{e}");
    let first = |b: &str| {
        b.split("-----END CERTIFICATE-----")
            .next()
            .unwrap()
            .to_owned()
    };
    let old_first = first(&std::fs::read_to_string(&old_root).unwrap());
    let start = Instant::now();
    let active = loop {
        let b = rig.bundle();
        if first(&b) != old_first {
            break b;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not activated: {b}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let active = rig.write("bundle-active.pem", &active);
    let new_root = rig.write(
        "new-root.pem",
        &format!(
            "{}-----END CERTIFICATE-----\n",
            std::fs::read_to_string(&active)
                .unwrap()
                .split("-----END CERTIFICATE-----")
                .next()
                .unwrap()
        ),
    );
    let c = rig.enroll("after", &active);
    let (ok, text) = rig.verify(&c, &active);
    assert!(ok, "{text}");
    // Signed by the new key: the old CA certificate alone does not verify it.
    let (ok, _) = rig.verify(&c, &old_root);
    assert!(
        !ok,
        "a new-generation certificate verified against the old root"
    );
    let (ok, text) = rig.verify(&c, &new_root);
    assert!(ok, "{text}");

    // The client renewing across the switch ends with the new chain.
    rig.renew(&a, &client_bundle);
    let (ok, text) = rig.verify(&a, &new_root);
    assert!(ok, "renewed certificate: {text}");
    let cb = std::fs::read_to_string(&client_bundle).unwrap();
    let first = cb.split("-----END CERTIFICATE-----").next().unwrap();
    let new_first = std::fs::read_to_string(&new_root).unwrap();
    assert!(new_first.starts_with(first), "client bundle: {cb}");

    // Every certificate verifies against the final bundle.
    for cert in [&a, &b, &c] {
        let (ok, text) = rig.verify(cert, &active);
        assert!(ok, "{}: {text}", cert.display());
    }

    // The old generation's certificate, revoked after the switch.
    let serial = rig.serial(&b);
    admin(
        &rig.config,
        &[
            "cert",
            "revoke",
            "--ca",
            "root",
            &serial,
            "--reason",
            "superseded",
        ],
    );
    let url = format!("http://{}/ocsp/root", rig.server.addr);
    let (ok, text) = openssl(
        &rig.data,
        &[
            "ocsp",
            "-issuer",
            s(&old_root),
            "-cert",
            s(&b),
            "-url",
            &url,
            "-CAfile",
            s(&old_root),
            "-resp_text",
        ],
    );
    assert!(ok, "{text}");
    assert!(text.contains("Response verify OK"), "{text}");
    assert!(text.contains(": revoked"), "{text}");
    // The new generation's certificate: good, answered by the new key.
    let (ok, text) = openssl(
        &rig.data,
        &[
            "ocsp",
            "-issuer",
            s(&new_root),
            "-cert",
            s(&c),
            "-url",
            &url,
            "-CAfile",
            s(&new_root),
        ],
    );
    assert!(
        ok && text.contains(": good") && text.contains("Response verify OK"),
        "{text}"
    );

    // The old generation's CRL, signed by the old key, lists it.
    let crl = rig.server.get("/crl/root@1.crl");
    assert_eq!(crl.status, 200);
    let crl_path = rig.data.join("gen1.crl");
    std::fs::write(&crl_path, &crl.body).unwrap();
    let (ok, text) = openssl(
        &rig.data,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            s(&crl_path),
            "-CAfile",
            s(&old_root),
            "-noout",
            "-text",
        ],
    );
    assert!(ok, "{text}");
    assert!(text.contains("verify OK"), "{text}");
    assert!(
        text.to_uppercase().contains(&serial.to_uppercase()),
        "{text}"
    );
    // The active generation's CRL does not list it, and is the new key's.
    let crl = rig.server.get("/crl/root.crl");
    std::fs::write(&crl_path, &crl.body).unwrap();
    let (ok, text) = openssl(
        &rig.data,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            s(&crl_path),
            "-CAfile",
            s(&new_root),
            "-noout",
            "-text",
        ],
    );
    assert!(ok && text.contains("verify OK"), "{text}");
    assert!(
        !text.to_uppercase().contains(&serial.to_uppercase()),
        "{text}"
    );
    assert_eq!(rig.server.get("/crl/root@3.crl").status, 404);
}
