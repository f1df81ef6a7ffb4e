//! Encrypted backups end to end: a server issues certificates and revokes
//! one; `cmc-tool backup create` (while it runs) encrypts a backup to two
//! administrators, one RSA and one EC; the original data directory goes
//! away; the backup is restored with the other administrator's key into a
//! fresh directory (and, on PostgreSQL, an empty database); a server
//! started on the restored configuration answers `openssl ocsp` for every
//! certificate of the original with the same status and issues the next
//! certificate with a serial none of them has. A changed octet, a key that
//! is not a recipient and a non-empty target are refused and write
//! nothing. The server's `[backup]` schedule writes backups that open.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Backend, Server, TestStore, cmc_tool, openssl, s, start, write_config};

/// An administrator: a self-signed certificate and its unencrypted key.
fn admin(dir: &Path, name: &str, newkey: &[&str]) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let mut args = vec!["req", "-x509", "-nodes", "-days", "2"];
    args.extend_from_slice(newkey);
    let subject = format!("/CN={name}");
    args.extend_from_slice(&["-keyout", s(&key), "-out", s(&cert), "-subj", &subject]);
    let (ok, out) = openssl(dir, &args);
    assert!(ok, "{out}");
    (cert, key)
}

fn enroll(server: &Server, data: &Path, out: &Path, name: &str) -> PathBuf {
    let cert = out.join(format!("{name}.pem"));
    let key = out.join(format!("{name}.key"));
    let url = format!("http://{}/cmc/root", server.addr);
    let subject = format!("CN={name}.example.test");
    let signer = common::bootstrap_enroll_args(data);
    let mut args = vec![
        "enroll",
        "--url",
        &url,
        "--out-cert",
        s(&cert),
        "--new-key",
        s(&key),
        "--new-key-unencrypted",
        "--key-type",
        "p256",
        "--subject",
        &subject,
    ];
    args.extend(signer.iter().map(String::as_str));
    cmc_tool(&args).unwrap_or_else(|e| panic!("enroll {name}: {e}"));
    cert
}

fn serial(dir: &Path, cert: &Path) -> String {
    let (ok, out) = openssl(dir, &["x509", "-in", s(cert), "-noout", "-serial"]);
    assert!(ok, "{out}");
    out.trim().strip_prefix("serial=").unwrap().to_lowercase()
}

/// `good` or `revoked`, as `openssl ocsp` sees it on `server`.
fn ocsp_status(server: &Server, root: &Path, cert: &Path, dir: &Path) -> String {
    let url = format!("http://{}/ocsp/root", server.addr);
    let (ok, text) = openssl(
        dir,
        &[
            "ocsp",
            "-issuer",
            s(root),
            "-cert",
            s(cert),
            "-url",
            &url,
            "-CAfile",
            s(root),
        ],
    );
    assert!(ok, "{text}");
    assert!(text.contains("Response verify OK"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with(s(cert)))
        .unwrap_or_else(|| panic!("{text}"));
    line.rsplit(": ").next().unwrap().trim().to_owned()
}

/// The entries of `parent` whose names start with `prefix`.
fn leftovers(parent: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn backup_restored_by_the_other_admin_on_sqlite() {
    round_trip(
        Backend::Sqlite,
        "backup_restored_by_the_other_admin_on_sqlite",
    );
}

#[test]
fn backup_restored_by_the_other_admin_on_postgresql() {
    round_trip(
        Backend::Postgres,
        "backup_restored_by_the_other_admin_on_postgresql",
    );
}

#[allow(clippy::too_many_lines)]
fn round_trip(backend: Backend, test: &str) {
    let Some(store) = TestStore::new(backend, test) else {
        return;
    };
    // The store the backup is restored into (PostgreSQL: another schema).
    let Some(target_store) = TestStore::new(backend, test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    std::fs::create_dir(&site).unwrap();
    let data = site.join("cmc-data");
    let config = write_config(
        &site,
        &format!(
            "{}data_dir = \"cmc-data\"\n[server]\nlisten = \"127.0.0.1:0\"\n",
            store.config_line
        ),
    );
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let (rsa_cert, rsa_key) = admin(&work, "admin-rsa", &["-newkey", "rsa:2048"]);
    let (ec_cert, ec_key) = admin(
        &work,
        "admin-ec",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let (_, stranger_key) = admin(
        &work,
        "stranger",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );

    // The original: three certificates, one revoked.
    let server = start(&site);
    let certs: Vec<PathBuf> = (0..3)
        .map(|i| enroll(&server, &data, &work, &format!("leaf{i}")))
        .collect();
    let revoked = serial(&work, &certs[1]);
    let out = cmc_tool(&[
        "--config",
        s(&config),
        "cert",
        "revoke",
        "--ca",
        "root",
        &revoked,
        "--reason",
        "keyCompromise",
    ])
    .unwrap();
    assert!(out.contains("revoked serial"), "{out}");
    let root = work.join("root.pem");
    std::fs::copy(data.join("root.pem"), &root).unwrap();
    let mut before = BTreeMap::new();
    for c in &certs {
        before.insert(serial(&work, c), ocsp_status(&server, &root, c, &work));
    }
    assert_eq!(before[&revoked], "revoked");
    assert_eq!(before.values().filter(|v| *v == "good").count(), 2);

    // Backed up while the server runs; in PEM on PostgreSQL.
    let backup = work.join("ca.cmcbak");
    let mut args = vec![
        "--config",
        s(&config),
        "backup",
        "create",
        "--out",
        s(&backup),
        "--recipient",
        s(&rsa_cert),
        "--recipient",
        s(&ec_cert),
    ];
    if backend == Backend::Postgres {
        args.push("--pem");
    }
    let out = cmc_tool(&args).unwrap();
    assert!(out.contains("2 recipients"), "{out}");
    assert_eq!(common::mode(&backup), 0o600);
    drop(server);
    // The original data directory is gone: the restore must not need it.
    std::fs::rename(&data, site.join("gone")).unwrap();

    // verify: recipients without a key, every SHA-256 with one.
    let out = cmc_tool(&["backup", "verify", s(&backup)]).unwrap();
    assert!(out.contains("2 recipient(s)"), "{out}");
    assert!(
        out.contains("RSA key transport") && out.contains("ECDH key agreement"),
        "{out}"
    );
    assert!(out.contains("not opened"), "{out}");
    let out = cmc_tool(&["backup", "verify", s(&backup), "--key", s(&rsa_key)]).unwrap();
    assert!(out.contains("every SHA-256 matches"), "{out}");
    assert!(
        out.contains("store.export") && out.contains("data/root.key"),
        "{out}"
    );

    let restored = tmp.path().join("restored");
    let store_url = target_store
        .config_line
        .strip_prefix("store = \"")
        .map(|l| l.trim_end().trim_end_matches('"').to_owned());
    let restore = |file: &Path, key: &Path, into: &Path| {
        let mut args = vec![
            "backup".to_owned(),
            "restore".into(),
            s(file).into(),
            "--key".into(),
            s(key).into(),
            "--data-dir".into(),
            s(into).into(),
        ];
        if let Some(url) = &store_url {
            args.extend(["--store-url".to_owned(), url.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cmc_tool(&args)
    };

    // A key that is not a recipient: refused, nothing written.
    let err = restore(&backup, &stranger_key, &restored).unwrap_err();
    assert!(
        err.contains("no recipient of this envelope is this key"),
        "{err}"
    );
    assert!(!restored.exists());
    // A changed octet, anywhere: refused, nothing written.
    let bytes = std::fs::read(&backup).unwrap();
    let der = cmc_ca::backup::decode_file(&bytes).unwrap();
    for at in [
        10,
        der.len() / 3,
        der.len() / 2,
        der.len() - 40,
        der.len() - 1,
    ] {
        let mut changed = der.clone();
        changed[at] ^= 0x04;
        let flipped = work.join("flipped.cmcbak");
        std::fs::write(&flipped, &changed).unwrap();
        let err = restore(&flipped, &ec_key, &restored).unwrap_err();
        assert!(err.contains("backup:"), "octet {at}: {err}");
        assert!(!restored.exists(), "octet {at}");
        assert!(
            cmc_tool(&["backup", "verify", s(&flipped), "--key", s(&ec_key)]).is_err(),
            "octet {at}"
        );
    }
    // A directory that is not empty: refused, left as it was.
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), b"mine").unwrap();
    let err = restore(&backup, &ec_key, &busy).unwrap_err();
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(std::fs::read(busy.join("keep.txt")).unwrap(), b"mine");

    // A database that is not empty (the original's): refused after the
    // files were staged, and the staging directory is gone.
    if let Some(original) = store
        .config_line
        .strip_prefix("store = \"")
        .map(|l| l.trim_end().trim_end_matches('"'))
    {
        let err = cmc_tool(&[
            "backup",
            "restore",
            s(&backup),
            "--key",
            s(&ec_key),
            "--data-dir",
            s(&restored),
            "--store-url",
            original,
        ])
        .unwrap_err();
        assert!(err.contains("not empty"), "{err}");
        assert!(!restored.exists());
        assert!(leftovers(tmp.path(), ".restored.restore-").is_empty());
    }

    // Restored with the other administrator's (EC) key.
    let out = restore(&backup, &ec_key, &restored).unwrap();
    assert!(
        out.contains("CA root: its key reference names the restored files"),
        "{out}"
    );
    assert!(leftovers(tmp.path(), ".restored.restore-").is_empty());
    assert_eq!(common::mode(&restored), 0o700);
    assert_eq!(common::mode(&restored.join("root.key")), 0o600);
    assert_eq!(common::mode(&restored.join("config/cmc.toml")), 0o600);
    // Restoring again onto it is refused.
    assert!(
        restore(&backup, &ec_key, &restored)
            .unwrap_err()
            .contains("is not empty")
    );

    // A server on the restored configuration.
    let server = start(&restored.join("config"));
    for c in &certs {
        assert_eq!(
            ocsp_status(&server, &root, c, &work),
            before[&serial(&work, c)],
            "{}",
            c.display()
        );
    }
    let next = enroll(&server, &restored, &work, "next");
    let next_serial = serial(&work, &next);
    assert!(!before.contains_key(&next_serial));
    assert_eq!(ocsp_status(&server, &root, &next, &work), "good");
    let (ok, text) = openssl(&work, &["verify", "-CAfile", s(&root), s(&next)]);
    assert!(ok, "{text}");
    drop(server);

    // A SQLite backup restores into PostgreSQL too (the store export is
    // store-neutral), with the RSA administrator's key.
    if backend == Backend::Sqlite {
        let Some(pg) = TestStore::new(Backend::Postgres, test) else {
            return;
        };
        let url = pg
            .config_line
            .strip_prefix("store = \"")
            .map(|l| l.trim_end().trim_end_matches('"').to_owned())
            .unwrap();
        let on_pg = tmp.path().join("on-pg");
        cmc_tool(&[
            "backup",
            "restore",
            s(&backup),
            "--key",
            s(&rsa_key),
            "--data-dir",
            s(&on_pg),
            "--store-url",
            &url,
        ])
        .unwrap();
        let server = start(&on_pg.join("config"));
        for c in &certs {
            assert_eq!(
                ocsp_status(&server, &root, c, &work),
                before[&serial(&work, c)]
            );
        }
        drop(server);
    }
}

#[test]
fn the_server_makes_scheduled_backups_that_open() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = admin(tmp.path(), "admin", &["-newkey", "rsa:2048"]);
    let backups = tmp.path().join("backups");
    write_config(
        tmp.path(),
        &format!(
            "data_dir = \"cmc-data\"\n[server]\nlisten = \"127.0.0.1:0\"\n\
             [backup]\nevery = \"1s\"\ndir = \"backups\"\nrecipients = [\"{}\"]\nkeep = 2\n",
            s(&cert)
        ),
    );
    let server = start(tmp.path());
    let deadline = Instant::now() + Duration::from_secs(90);
    let files = loop {
        let files: Vec<PathBuf> = if backups.is_dir() {
            std::fs::read_dir(&backups)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "cmcbak"))
                .collect()
        } else {
            Vec::new()
        };
        if files.len() >= 2 {
            break files;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled backups in {}",
            backups.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Kept: two, the older ones removed.
    std::thread::sleep(Duration::from_secs(3));
    let count = std::fs::read_dir(&backups)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cmcbak")
        })
        .count();
    assert!(count <= 2, "{count} backups kept");
    drop(server);
    assert_eq!(common::mode(&backups), 0o700);
    let newest = files.iter().max().unwrap();
    if newest.exists() {
        let out = cmc_tool(&["backup", "verify", s(newest), "--key", s(&key)]).unwrap();
        assert!(out.contains("every SHA-256 matches"), "{out}");
    }
    // Whichever is there now opens too.
    let any = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cmcbak"))
        .unwrap();
    assert_eq!(common::mode(&any), 0o600);
    let out = cmc_tool(&["backup", "verify", s(&any), "--key", s(&key)]).unwrap();
    assert!(out.contains("every SHA-256 matches"), "{out}");
}
