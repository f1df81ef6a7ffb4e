//! The built binary end to end: CAs, client credentials, revocation and
//! CRLs, checked with OpenSSL; refusals and their messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, mode, openssl};

#[test]
fn root_and_intermediate_verify_with_openssl() {
    let env = Env::new();
    env.root("root");
    env.intermediate("issuing", "root");

    let root = env.export("root");
    let issuing = env.export("issuing");
    let verified = openssl(&["verify", "-CAfile", &root, &issuing]);
    assert!(verified.contains(": OK"), "{verified}");

    // Keys are generated under data_dir, mode 0600, encrypted.
    for name in ["root", "issuing"] {
        let key = env.path(&format!("data/keys/{name}.key"));
        assert_eq!(mode(&key), 0o600, "{}", key.display());
        let pem = std::fs::read_to_string(&key).unwrap();
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{name}"
        );
    }

    // `ca show` says what the key is and where, never the passphrase.
    let show = env.ok(&["ca", "show", "root", "--json"]).json();
    assert_eq!(show["key_type"], "EC P-384");
    assert_eq!(show["signature_algorithm"], "ecdsa-with-SHA384");
    assert_eq!(show["key"]["backend"], "file");
    assert_eq!(show["key"]["passphrase"]["file"], env.p("passphrase"));
    assert_eq!(show["parent"], serde_json::Value::Null);
    let text = env.ok(&["ca", "show", "issuing"]);
    assert!(text.stdout.contains("parent:"), "{}", text.stdout);
    assert!(text.stdout.contains("EC P-256"), "{}", text.stdout);
    assert!(
        !text.stdout.contains("correct horse"),
        "the passphrase leaked: {}",
        text.stdout
    );
    let issuing_json = env.ok(&["ca", "show", "issuing", "--json"]).json();
    assert_eq!(issuing_json["parent"], "root");
    assert_eq!(issuing_json["issuer"], show["subject"]);

    let list = env.ok(&["ca", "list", "--json"]).json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["issuing", "root"]);

    // --chain appends the root; the chain file alone verifies the leaf CA.
    let chain = env.p("chain.pem");
    env.ok(&["ca", "export", "issuing", "--chain", "-o", &chain]);
    let text = std::fs::read_to_string(&chain).unwrap();
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 2);
    // DER export is one certificate that OpenSSL reads as DER.
    let der = env.p("root.der");
    env.ok(&["ca", "export", "root", "--der", "-o", &der]);
    let subject = openssl(&["x509", "-inform", "DER", "-in", &der, "-noout", "-subject"]);
    assert!(subject.contains("root Root CA"), "{subject}");
}

#[test]
fn ca_init_without_a_passphrase_source_is_refused() {
    let env = Env::new();
    let r = env.fails(1, &["ca", "init", "root", "--subject", "CN=Root"]);
    assert!(
        r.stderr
            .contains("refusing to write the CA key without encryption")
            && r.stderr.contains("--passphrase-file"),
        "{}",
        r.stderr
    );
    assert!(!env.path("data/keys/root.key").exists());
    // Nothing was stored either.
    let list = env.ok(&["ca", "list", "--json"]).json();
    assert_eq!(list, serde_json::json!([]));

    // Said explicitly, an unencrypted key is written (still 0600).
    env.ok(&[
        "ca",
        "init",
        "root",
        "--subject",
        "CN=Root",
        "--unencrypted-key",
    ]);
    let key = env.path("data/keys/root.key");
    assert_eq!(mode(&key), 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let show = env.ok(&["ca", "show", "root"]);
    assert!(show.stdout.contains("UNENCRYPTED"), "{}", show.stdout);
}

#[test]
fn secrets_cannot_be_given_on_the_command_line() {
    let env = Env::new();
    for flag in ["--passphrase", "--pin", "--password"] {
        let r = env.fails(
            2,
            &[
                "ca",
                "init",
                "root",
                "--subject",
                "CN=Root",
                flag,
                "hunter2",
            ],
        );
        assert!(
            r.stderr.contains(&format!("unexpected argument '{flag}'")),
            "{flag}: {}",
            r.stderr
        );
    }
    let r = env.fails(
        2,
        &[
            "client",
            "add",
            "c",
            "--role",
            "client",
            "--issue",
            "--subject",
            "CN=c",
            "--out-dir",
            "out",
            "--passphrase",
            "hunter2",
        ],
    );
    assert!(r.stderr.contains("'--passphrase'"), "{}", r.stderr);
    assert!(
        !env.path("data").exists(),
        "nothing may run after a usage error"
    );
}

#[test]
fn client_credentials_issue_list_disable() {
    let env = Env::new();
    env.root("root");
    env.intermediate("issuing", "root");
    let root = env.export("root");
    let issuing = env.export("issuing");

    let ra_serial = env.issue_client("ra-1", "ra", "issuing");
    let key = env.path("out/ra-1.key");
    let cert = env.p("out/ra-1.pem");
    assert_eq!(mode(&key), 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    let verified = openssl(&["verify", "-CAfile", &root, "-untrusted", &issuing, &cert]);
    assert!(verified.contains(": OK"), "{verified}");
    // The chain file written next to it does the same job as the export.
    let chain = env.p("out/ra-1-chain.pem");
    openssl(&["verify", "-CAfile", &root, "-untrusted", &chain, &cert]);
    let eku = openssl(&["x509", "-in", &cert, "-noout", "-ext", "extendedKeyUsage"]);
    assert!(
        eku.contains("CMC Registration Authority") && eku.contains("Client Authentication"),
        "{eku}"
    );
    // The key is the certificate's: OpenSSL derives the same public key.
    let pass_arg = format!("file:{}", env.p("passphrase"));
    let from_key = openssl(&[
        "pkey",
        "-in",
        &env.p("out/ra-1.key"),
        "-passin",
        &pass_arg,
        "-pubout",
    ]);
    let from_cert = openssl(&["x509", "-in", &cert, "-noout", "-pubkey"]);
    assert_eq!(from_key, from_cert);

    // A plain client gets no id-kp-cmcRA.
    env.issue_client("alice", "client", "issuing");
    let eku = openssl(&[
        "x509",
        "-in",
        &env.p("out/alice.pem"),
        "-noout",
        "-ext",
        "extendedKeyUsage",
    ]);
    assert!(!eku.contains("CMC Registration Authority"), "{eku}");

    let list = env.ok(&["client", "list", "--json"]).json();
    let clients = list.as_array().unwrap();
    assert_eq!(clients.len(), 2);
    let ra = clients.iter().find(|c| c["id"] == "ra-1").unwrap();
    assert_eq!(ra["role"], "ra");
    assert_eq!(ra["status"], "active");
    assert_eq!(ra["serial"], ra_serial.as_str());
    assert_eq!(
        ra["grants"],
        serde_json::json!([{"ca": "issuing", "profile": "*"}])
    );
    let table = env.ok(&["client", "list"]);
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("ra-1") && l.contains("active")),
        "{}",
        table.stdout
    );

    // The credential is an issued certificate of the CA.
    let certs = env
        .ok(&["cert", "list", "--ca", "issuing", "--json"])
        .json();
    let entry = certs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["serial"] == ra_serial.as_str())
        .unwrap_or_else(|| panic!("{ra_serial} not in {certs}"));
    assert_eq!(entry["status"], "issued");
    assert_eq!(entry["profile"], "cmc-client-credential");
    let table = env.ok(&["cert", "list"]);
    assert!(table.stdout.contains(&ra_serial), "{}", table.stdout);
    // The search's filters: serial prefix, requester, subject text, limit.
    let found = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["cert", "list", "--json"];
        all.extend_from_slice(args);
        env.ok(&all)
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["serial"].as_str().unwrap().to_owned())
            .collect()
    };
    // A serial's first 12 hex digits are the time it was made (serials of
    // the same minutes share them); the rest is random.
    assert_eq!(found(&["--serial", &ra_serial[..20]]), [ra_serial.as_str()]);
    assert!(found(&["--serial", &ra_serial[..6]]).contains(&ra_serial));
    let subject = entry["subject"].as_str().unwrap().to_owned();
    assert!(
        found(&["--subject", &subject.to_uppercase()]).contains(&ra_serial),
        "{subject}"
    );
    assert!(found(&["--subject", "no such subject"]).is_empty());
    assert!(found(&["--requester", "nobody at all"]).is_empty());
    assert_eq!(found(&["--limit", "1"]).len(), 1);
    let r = env.fails(1, &["cert", "list", "--serial", "xyz"]);
    assert!(r.stderr.contains("not a hex digit"), "{}", r.stderr);
    let shown = env
        .ok(&["cert", "show", "--ca", "issuing", &ra_serial, "--json"])
        .json();
    assert_eq!(
        shown["certificate"]["extended_key_usage"],
        serde_json::json!(["clientAuth", "id-kp-cmcRA"])
    );
    let pem = env.ok(&["cert", "show", "--ca", "issuing", &ra_serial, "--pem"]);
    assert_eq!(pem.stdout, std::fs::read_to_string(&cert).unwrap());

    env.ok(&["client", "disable", "ra-1"]);
    let show = env.ok(&["client", "show", "ra-1"]);
    assert!(show.stdout.contains("disabled"), "{}", show.stdout);
    assert_eq!(
        env.ok(&["client", "show", "ra-1", "--json"]).json()["status"],
        "disabled"
    );
    assert_eq!(
        env.ok(&["client", "show", "alice", "--json"]).json()["status"],
        "active"
    );

    // A second credential with the same id is refused before anything is
    // written.
    let r = env.fails(
        1,
        &[
            "client",
            "add",
            "alice",
            "--role",
            "client",
            "--ca",
            "issuing",
            "--issue",
            "--subject",
            "CN=alice2",
            "--out-dir",
            &env.p("out2"),
            "--unencrypted-key",
        ],
    );
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert!(!env.path("out2/alice.key").exists());
    let r = env.fails(1, &["client", "show", "nobody"]);
    assert!(r.stderr.contains("no client \"nobody\""), "{}", r.stderr);
}

#[test]
fn client_key_needs_a_passphrase_source_too() {
    let env = Env::new();
    env.root("root");
    let r = env.fails(
        1,
        &[
            "client",
            "add",
            "c",
            "--role",
            "client",
            "--ca",
            "root",
            "--issue",
            "--subject",
            "CN=c",
            "--out-dir",
            &env.p("out"),
        ],
    );
    assert!(
        r.stderr
            .contains("refusing to write the client key without encryption"),
        "{}",
        r.stderr
    );
    assert!(!env.path("out/c.key").exists());
    assert_eq!(
        env.ok(&["client", "list", "--json"]).json(),
        serde_json::json!([])
    );
}

#[test]
fn existing_certificates_are_registered() {
    let env = Env::new();
    env.root("root");
    let key = env.p("ext.key");
    let cert = env.p("ext.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &cert,
        "-subj",
        "/CN=external agent",
        "-days",
        "30",
    ]);
    env.ok(&[
        "client",
        "add",
        "agent-1",
        "--role",
        "agent",
        "--ca",
        "root",
        "--profile",
        "default",
        "--cert",
        &cert,
        "--expires",
        "2099-01-01T00:00:00Z",
    ]);
    let show = env.ok(&["client", "show", "agent-1", "--json"]).json();
    assert_eq!(show["role"], "agent");
    assert_eq!(show["subject"], "CN=external agent");
    assert_eq!(show["expires_at"], "2099-01-01T00:00:00Z");
    assert_eq!(
        show["grants"],
        serde_json::json!([{"ca": "root", "profile": "default"}])
    );
    let fp = openssl(&["x509", "-in", &cert, "-noout", "-fingerprint", "-sha256"]);
    let fp: String = fp
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_ascii_lowercase();
    assert_eq!(show["sha256_fingerprint"], fp.as_str());

    // Unknown grants are refused by name.
    let r = env.fails(
        1,
        &[
            "client", "add", "x", "--role", "client", "--ca", "nope", "--cert", &cert,
        ],
    );
    assert!(r.stderr.contains("--ca \"nope\""), "{}", r.stderr);
    let r = env.fails(
        1,
        &[
            "client",
            "add",
            "x",
            "--role",
            "client",
            "--profile",
            "tls",
            "--cert",
            &cert,
        ],
    );
    assert!(
        r.stderr.contains("--profile \"tls\"") && r.stderr.contains("default"),
        "{}",
        r.stderr
    );
}

#[test]
fn revoked_credentials_are_listed_in_a_verifiable_crl() {
    let env = Env::new();
    env.root("root");
    env.intermediate("issuing", "root");
    let issuing = env.export("issuing");
    let serial = env.issue_client("ra-1", "ra", "issuing");
    let keep = env.issue_client("ra-2", "ra", "issuing");

    let r = env.ok(&[
        "cert",
        "revoke",
        "--ca",
        "issuing",
        &serial,
        "--reason",
        "keyCompromise",
        "--invalidity-date",
        "2026-01-01T00:00:00Z",
    ]);
    assert!(r.stdout.contains("revoked serial"), "{}", r.stdout);
    // Revoking again keeps the first record.
    let again = env.ok(&[
        "cert",
        "revoke",
        "--ca",
        "issuing",
        &serial,
        "--reason",
        "superseded",
    ]);
    assert!(again.stdout.contains("already revoked"), "{}", again.stdout);
    // The audit log has the revocation, newest first, by its filters.
    let events = env
        .ok(&["audit", "--kind", "revoked", "--ca", "issuing", "--json"])
        .json();
    let events = events.as_array().unwrap();
    assert!(!events.is_empty(), "no revocation event");
    assert!(events.iter().all(|e| e["kind"] == "revoked"), "{events:?}");
    assert_eq!(events[0]["serial"], serial.as_str());
    let trail = env.ok(&["audit", "--serial", &serial, "--json"]).json();
    let trail = trail.as_array().unwrap();
    assert!(trail.iter().any(|e| e["kind"] == "issued"), "{trail:?}");
    assert!(
        trail
            .windows(2)
            .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64())
    );
    let one = env.ok(&["audit", "--limit", "1", "--json"]).json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    let none = env.ok(&["audit", "--requester", "nobody at all"]);
    assert!(none.stdout.contains("no events"), "{}", none.stdout);
    let old = env
        .ok(&["audit", "--until", "2000-01-01T00:00:00Z", "--json"])
        .json();
    assert!(old.as_array().unwrap().is_empty(), "{old}");

    let crl = env.p("crl.der");
    env.ok(&["crl", "generate", "--ca", "issuing", "-o", &crl]);
    let verified = openssl(&[
        "crl", "-inform", "DER", "-in", &crl, "-CAfile", &issuing, "-noout",
    ]);
    assert!(verified.contains("verify OK"), "{verified}");
    let text = openssl(&["crl", "-inform", "DER", "-in", &crl, "-noout", "-text"]);
    let upper = serial.to_ascii_uppercase();
    assert!(text.contains(&format!("Serial Number: {upper}")), "{text}");
    assert!(!text.contains(&keep.to_ascii_uppercase()), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("Invalidity Date"), "{text}");

    // `crl show` hands out that same CRL (nothing changed) and lists it.
    let show = env.ok(&["crl", "show", "--ca", "issuing", "--json"]).json();
    assert_eq!(show["crl_number"], 1);
    assert_eq!(
        show["entries"],
        serde_json::json!([{
            "serial": serial,
            "revoked_at": show["entries"][0]["revoked_at"],
            "reason": "keyCompromise",
            "invalidity_date": "2026-01-01T00:00:00Z",
        }])
    );
    // `crl generate` always issues a new one; PEM on request.
    let pem = env.p("crl.pem");
    env.ok(&["crl", "generate", "--ca", "issuing", "--pem", "-o", &pem]);
    openssl(&["crl", "-in", &pem, "-CAfile", &issuing, "-noout"]);
    let show = env.ok(&["crl", "show", "--ca", "issuing", "--json"]).json();
    assert_eq!(show["crl_number"], 2);

    let status = env
        .ok(&["cert", "list", "--status", "revoked", "--json"])
        .json();
    let revoked: Vec<&str> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["serial"].as_str().unwrap())
        .collect();
    assert_eq!(revoked, [serial.as_str()]);

    // Precise refusals.
    let r = env.fails(
        1,
        &[
            "cert",
            "revoke",
            "--ca",
            "issuing",
            "0badc0de",
            "--reason",
            "superseded",
        ],
    );
    assert!(r.stderr.contains("0badc0de"), "{}", r.stderr);
    let r = env.fails(
        2,
        &[
            "cert", "revoke", "--ca", "issuing", &keep, "--reason", "stolen",
        ],
    );
    assert!(r.stderr.contains("keyCompromise"), "{}", r.stderr);
    let r = env.fails(1, &["crl", "show", "--ca", "nope"]);
    assert!(r.stderr.contains("\"nope\""), "{}", r.stderr);
}

#[test]
fn builtin_profiles_are_listed() {
    let env = Env::new();
    let r = env.ok(&["profile", "list"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("default") && l.contains("yes")),
        "{}",
        r.stdout
    );
    let list = env.ok(&["profile", "list", "--json"]).json();
    assert_eq!(list[0]["name"], "default");
    assert_eq!(list[0]["default"], true);
    assert_eq!(list[0]["validity_days"], 93);
    let show = env.ok(&["profile", "show", "default"]);
    assert!(show.stdout.contains("clientAuth"), "{}", show.stdout);
    let r = env.fails(1, &["profile", "show", "tls"]);
    assert!(r.stderr.contains("no profile \"tls\""), "{}", r.stderr);
}

#[test]
fn profiles_come_from_the_configured_file() {
    let env = Env::with_config("data_dir = \"data\"\nprofiles = \"profiles.toml\"\n");
    std::fs::write(
        env.path("profiles.toml"),
        "default_profile = \"tls\"\n[profile.tls]\nvalidity_days = 30\n",
    )
    .unwrap();
    let list = env.ok(&["profile", "list", "--json"]).json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "tls"]);
    assert_eq!(list[1]["default"], true);
    assert_eq!(list[1]["validity_days"], 30);
}

#[test]
fn an_unknown_config_key_is_named() {
    let env = Env::with_config("data_dir = \"data\"\nlisten_port = 8080\n");
    let r = env.fails(1, &["ca", "list"]);
    assert!(
        r.stderr.contains("listen_port") && r.stderr.contains("cmc.toml"),
        "{}",
        r.stderr
    );
    let env = Env::with_config("[crl]\nvalidty_hours = 3\n");
    let r = env.fails(1, &["profile", "list"]);
    assert!(r.stderr.contains("validty_hours"), "{}", r.stderr);
}

#[test]
fn key_types_schemes_and_existing_keys() {
    let env = Env::new();
    // RSA with PSS, as asked.
    env.ok(&[
        "ca",
        "init",
        "rsa",
        "--subject",
        "CN=RSA Root,O=cmc-tool tests,C=SE",
        "--key-type",
        "rsa2048",
        "--scheme",
        "rsa-pss-sha256",
        "--unencrypted-key",
    ]);
    let show = env.ok(&["ca", "show", "rsa", "--json"]).json();
    assert_eq!(show["key_type"], "RSA-2048");
    assert_eq!(show["signs_with"], "rsa-pss-sha256");
    let rsa = env.export("rsa");
    let text = openssl(&["x509", "-in", &rsa, "-noout", "-text"]);
    assert!(text.contains("rsassaPss"), "{text}");
    openssl(&["verify", "-CAfile", &rsa, &rsa]);

    // A scheme that does not fit the key type is refused, and no key is
    // left behind.
    let r = env.fails(
        1,
        &[
            "ca",
            "init",
            "bad",
            "--subject",
            "CN=bad",
            "--key-type",
            "p256",
            "--scheme",
            "rsa-pss-sha256",
            "--unencrypted-key",
        ],
    );
    assert!(r.stderr.contains("rsa-pss-sha256"), "{}", r.stderr);
    assert!(!env.path("data/keys/bad.key").exists());

    // An existing encrypted key file: its type is read from the file.
    env.root("root");
    let key = env.p("data/keys/root.key");
    let pass = env.p("passphrase");
    env.ok(&[
        "ca",
        "init",
        "root-again",
        "--subject",
        "CN=Root again",
        "--existing-key",
        "--key-file",
        &key,
        "--passphrase-file",
        &pass,
    ]);
    let again = env.ok(&["ca", "show", "root-again", "--json"]).json();
    assert_eq!(again["key_type"], "EC P-384");
    assert_eq!(again["signs_with"], "ecdsa-sha384");
    assert_eq!(again["key"]["path"], key.as_str());
    // The wrong passphrase is reported as such.
    std::fs::write(env.path("wrong"), "not the passphrase\n").unwrap();
    let r = env.fails(
        1,
        &[
            "ca",
            "init",
            "root-3",
            "--subject",
            "CN=Root 3",
            "--existing-key",
            "--key-file",
            &key,
            "--passphrase-file",
            &env.p("wrong"),
        ],
    );
    assert!(
        r.stderr.to_lowercase().contains("passphrase"),
        "{}",
        r.stderr
    );

    // Names that exist, or parents that do not, are refused by name.
    let r = env.fails(
        1,
        &[
            "ca",
            "init",
            "root",
            "--subject",
            "CN=x",
            "--unencrypted-key",
        ],
    );
    assert!(
        r.stderr.contains("CA \"root\" already exists"),
        "{}",
        r.stderr
    );
    let r = env.fails(
        1,
        &[
            "ca",
            "init",
            "sub",
            "--subject",
            "CN=x",
            "--parent",
            "nope",
            "--unencrypted-key",
        ],
    );
    assert!(r.stderr.contains("no CA \"nope\""), "{}", r.stderr);
    let r = env.fails(1, &["ca", "show", "nope"]);
    assert!(r.stderr.contains("no CA \"nope\""), "{}", r.stderr);
}

#[test]
fn the_config_file_is_found_by_default() {
    // ./cmc.toml in the working directory is used without --config.
    let env = Env::with_config("data_dir = \"from-file\"\n");
    let r = env.run_bare(
        &["ca", "init", "r", "--subject", "CN=r", "--unencrypted-key"],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(env.path("from-file/keys/r.key").exists());
    assert!(env.path("from-file/cmc.db").exists());

    // CMC_CONFIG names another file.
    std::fs::write(env.path("other.toml"), "data_dir = \"other\"\n").unwrap();
    let r = env.run_bare(
        &["ca", "list", "--json"],
        &[("CMC_CONFIG", env.p("other.toml").as_str())],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.json(), serde_json::json!([]));
    assert!(env.path("other/cmc.db").exists());

    // Without any file, the built-in defaults: ./cmc-data.
    std::fs::remove_file(&env.config).unwrap();
    let r = env.run_bare(&["ca", "list", "--json"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(env.path("cmc-data/cmc.db").exists());
}

#[test]
fn holds_are_lifted_and_lifetimes_follow_the_flags() {
    let env = Env::new();
    env.root("root");
    let pass = env.p("passphrase");
    env.ok(&[
        "client",
        "add",
        "short",
        "--role",
        "client",
        "--ca",
        "root",
        "--issue",
        "--subject",
        "CN=short",
        "--out-dir",
        &env.p("out"),
        "--days",
        "10",
        "--key-type",
        "p384",
        "--passphrase-file",
        &pass,
    ]);
    let show = env.ok(&["client", "show", "short", "--json"]).json();
    let serial = show["serial"].as_str().unwrap().to_owned();
    let days = |from: &str, to: &str| {
        let f = cmc_tool::time::parse_rfc3339(from).unwrap().secs();
        let t = cmc_tool::time::parse_rfc3339(to).unwrap().secs();
        (t - f) / 86_400
    };
    assert_eq!(
        days(
            show["created_at"].as_str().unwrap(),
            show["certificate_not_after"].as_str().unwrap()
        ),
        10
    );
    assert_eq!(show["expires_at"], show["certificate_not_after"]);
    let cert = env
        .ok(&["cert", "show", "--ca", "root", &serial, "--json"])
        .json();
    assert_eq!(cert["certificate"]["key_type"], "EC P-384");

    env.ok(&[
        "cert",
        "revoke",
        "--ca",
        "root",
        &serial,
        "--reason",
        "certificateHold",
    ]);
    let crl = env.ok(&["crl", "show", "--ca", "root", "--json"]).json();
    assert_eq!(crl["entries"][0]["serial"], serial.as_str());
    assert_eq!(crl["entries"][0]["reason"], "certificateHold");
    env.ok(&["cert", "unrevoke", "--ca", "root", &serial]);
    // The revocations changed, so `crl show` issues a CRL without it.
    let crl = env.ok(&["crl", "show", "--ca", "root", "--json"]).json();
    assert_eq!(crl["crl_number"], 2);
    assert_eq!(crl["entries"], serde_json::json!([]));
    let cert = env
        .ok(&["cert", "show", "--ca", "root", &serial, "--json"])
        .json();
    assert_eq!(cert["status"], "issued");
    // Only a hold can be lifted.
    env.ok(&[
        "cert",
        "revoke",
        "--ca",
        "root",
        &serial,
        "--reason",
        "superseded",
    ]);
    env.fails(1, &["cert", "unrevoke", "--ca", "root", &serial]);
}

#[test]
fn bootstrap_auto_approvals_are_granted_at_init_and_locked() {
    let env = Env::new();
    let pass = env.passphrase.display().to_string();
    let r = env.ok(&[
        "ca",
        "init",
        "boot",
        "--subject",
        "CN=Boot Root CA,O=cmc-tool tests,C=SE",
        "--passphrase-file",
        &pass,
        "--auto-approve",
        "3",
    ]);
    assert!(r.stdout.contains("first 3 requests"), "{}", r.stdout);
    let r = env.ok(&["ca", "lock-auto-approve", "boot"]);
    assert!(r.stdout.contains("locked"), "{}", r.stdout);
    // A CA created without them has none to lock.
    env.root("plain");
    let r = env.fails(1, &["ca", "lock-auto-approve", "plain"]);
    assert!(r.stderr.contains("no auto-approvals"), "{}", r.stderr);
}

#[test]
fn names_are_registered_for_end_entities_and_secrets_and_secrets_unlock() {
    let env = Env::new();
    env.root("root");
    let pass = env.passphrase.display().to_string();
    let out_dir = env.p("out");
    env.ok(&[
        "client",
        "add",
        "eve",
        "--role",
        "client",
        "--ca",
        "root",
        "--issue",
        "--subject",
        "CN=eve",
        "--out-dir",
        &out_dir,
        "--passphrase-file",
        &pass,
        "--dns",
        "eve.example.test",
        "--ip",
        "192.0.2.0/28",
    ]);
    let eve = env.ok(&["client", "show", "eve", "--json"]).json();
    assert_eq!(eve["names"]["subject"], "CN=eve", "{eve}");
    assert_eq!(
        eve["names"]["dns"],
        serde_json::json!(["eve.example.test"]),
        "{eve}"
    );
    let text = env.ok(&["client", "show", "eve"]).stdout;
    assert!(text.contains("may be issued"), "{text}");
    // An RA asks for others: its names come from the profiles' rules only.
    let r = env.fails(
        1,
        &[
            "client",
            "add",
            "ra",
            "--role",
            "ra",
            "--ca",
            "root",
            "--issue",
            "--subject",
            "CN=ra",
            "--out-dir",
            &out_dir,
            "--passphrase-file",
            &pass,
            "--dns",
            "ra.example.test",
        ],
    );
    assert!(r.stderr.contains("name rules"), "{}", r.stderr);
    // A name that is not one is refused before anything is stored.
    let r = env.fails(
        1,
        &[
            "secret",
            "add",
            "--ca",
            "root",
            "--identification",
            "bad",
            "--dns",
            "not a name",
        ],
    );
    assert!(r.stderr.contains("not a name"), "{}", r.stderr);

    env.ok(&[
        "secret",
        "add",
        "--ca",
        "root",
        "--identification",
        "dev-1",
        "--subject",
        "CN=dev-1",
        "--dns",
        "*.dev.example.test",
    ]);
    let list = env.ok(&["secret", "list", "--json"]).json();
    let secrets = list.as_array().unwrap();
    assert_eq!(secrets.len(), 1, "{list}");
    assert_eq!(secrets[0]["names"]["subject"], "CN=dev-1", "{list}");
    let table = env.ok(&["secret", "list"]).stdout;
    assert!(table.contains("NAMES"), "{table}");

    // Unlocking an unknown secret names it; a known one is unlocked.
    let r = env.fails(
        1,
        &[
            "secret",
            "unlock",
            "--ca",
            "root",
            "--identification",
            "nobody",
        ],
    );
    assert!(r.stderr.contains("nobody"), "{}", r.stderr);
    let r = env.ok(&[
        "secret",
        "unlock",
        "--ca",
        "root",
        "--identification",
        "dev-1",
    ]);
    assert!(r.stdout.contains("unlocked"), "{}", r.stdout);
}

/// `client add --reference` gives a client a CMP MAC credential whose
/// secret comes from the environment or a file (never argv), is sealed
/// under `data/secrets.key` (0600) and never shown; a reference is one
/// client's and no one-time secret's.
#[test]
fn mac_credentials_are_registered_sealed() {
    let env = Env::new();
    env.root("root");
    let pass = env.passphrase.display().to_string();
    let out_dir = env.p("out");
    let config = env.config.display().to_string();
    let add = |id: &str, extra: &[&str], vars: &[(&str, &str)]| {
        let subject = format!("CN={id}");
        let mut args = vec![
            "--config",
            &config,
            "client",
            "add",
            id,
            "--role",
            "ra",
            "--ca",
            "root",
            "--issue",
            "--subject",
            &subject,
            "--out-dir",
            &out_dir,
            "--passphrase-file",
            &pass,
        ];
        args.extend_from_slice(extra);
        env.run_bare(&args, vars)
    };
    let secret = "the RA's secret, long enough";
    let r = add(
        "ra1",
        &["--reference", "1234", "--mac-secret-env", "RA_SECRET"],
        &[("RA_SECRET", secret)],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
    let show = env.ok(&["client", "show", "ra1", "--json"]).json();
    assert_eq!(show["mac_reference"], "1234", "{show}");
    let text = env.ok(&["client", "show", "ra1"]).stdout;
    assert!(
        text.lines()
            .any(|l| l.starts_with("MAC reference (CMP):") && l.ends_with(" 1234")),
        "{text}"
    );
    assert_eq!(mode(&env.path("data/secrets.key")), 0o600);
    let db = std::fs::read(env.path("data/cmc.db")).unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));

    let file = env.path("ra2-secret");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let file = file.display().to_string();
    for (extra, why) in [
        (
            vec!["--reference", "1234", "--mac-secret-file", &file],
            "already has the MAC reference",
        ),
        (
            vec!["--reference", "5678"],
            "needs --mac-secret-file or --mac-secret-env",
        ),
        (vec!["--mac-secret-file", &file], "--reference"),
    ] {
        let r = add("ra2", &extra, &[]);
        assert_ne!(r.code, Some(0), "{extra:?}");
        assert!(r.stderr.contains(why), "{extra:?}: {}", r.stderr);
    }
    let short = env.path("short");
    std::fs::write(&short, "short").unwrap();
    let r = add(
        "ra2",
        &[
            "--reference",
            "5678",
            "--mac-secret-file",
            short.to_str().unwrap(),
        ],
        &[],
    );
    assert!(r.stderr.contains("at least 16 characters"), "{}", r.stderr);
    // Nothing was registered by the refusals.
    let r = env.run(&["client", "show", "ra2"]);
    assert_ne!(r.code, Some(0));
    // A one-time secret cannot take an RA's reference.
    let r = env.run(&["secret", "add", "--ca", "root", "--identification", "1234"]);
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("MAC credential"), "{}", r.stderr);
}
