//! `client reissue`: a registered client's new credential (a key made
//! here, or the client's own request), its old certificate revoked when
//! asked; a request for another subject, an unknown or disabled client and
//! files in the way are refused with nothing issued.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, openssl};

fn req(env: &Env, name: &str, subj: &str) -> String {
    let (key, out) = (env.p(&format!("{name}.key")), env.p(&format!("{name}.csr")));
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &out,
        "-subj",
        subj,
    ]);
    out
}

fn serial_of(env: &Env, id: &str) -> String {
    let show = env.ok(&["client", "show", id, "--json"]).json();
    show["serial"].as_str().unwrap().to_owned()
}

fn revoked(env: &Env) -> Vec<String> {
    env.ok(&[
        "cert", "list", "--ca", "root", "--status", "revoked", "--json",
    ])
    .json()
    .as_array()
    .unwrap()
    .iter()
    .map(|c| c["serial"].as_str().unwrap().to_owned())
    .collect()
}

#[test]
fn a_client_gets_a_new_credential_and_the_old_one_is_revoked() {
    let env = Env::new();
    env.root("root");
    let root = env.export("root");
    let first = req(&env, "ra1", "/CN=ra1.example.test/O=cmc tests");
    let out = env.p("out");
    env.ok(&[
        "client",
        "add",
        "ra1",
        "--role",
        "ra",
        "--ca",
        "root",
        "--issue",
        "--csr",
        &first,
        "--out-dir",
        &out,
    ]);
    let old_serial = serial_of(&env, "ra1");
    let old_subject = openssl(&["x509", "-in", &env.p("out/ra1.pem"), "-noout", "-subject"]);

    // A key made here, the old certificate revoked.
    let out2 = env.p("out2");
    let r = env.ok(&[
        "client",
        "reissue",
        "ra1",
        "--out-dir",
        &out2,
        "--unencrypted-key",
        "--days",
        "30",
        "--revoke-previous",
    ]);
    assert!(r.stdout.contains("new credential"), "{}", r.stdout);
    let cert = env.p("out2/ra1.pem");
    let verified = openssl(&["verify", "-CAfile", &root, &cert]);
    assert!(verified.contains(": OK"), "{verified}");
    let subject = openssl(&["x509", "-in", &cert, "-noout", "-subject"]);
    assert_eq!(subject, old_subject, "the subject stays");
    let from_cert = openssl(&["x509", "-in", &cert, "-noout", "-pubkey"]);
    let from_key = openssl(&["pkey", "-in", &env.p("out2/ra1.key"), "-pubout"]);
    assert_eq!(from_cert, from_key);
    let new_serial = serial_of(&env, "ra1");
    assert_ne!(new_serial, old_serial);
    assert_eq!(revoked(&env), std::slice::from_ref(&old_serial));
    let show = env.ok(&["client", "show", "ra1", "--json"]).json();
    assert_eq!(show["role"], "ra");

    // The client's own request: kept unless --revoke-previous.
    let again = req(&env, "ra1b", "/CN=ra1.example.test/O=cmc tests");
    let out3 = env.p("out3");
    env.ok(&[
        "client",
        "reissue",
        "ra1",
        "--csr",
        &again,
        "--out-dir",
        &out3,
    ]);
    assert!(!env.path("out3/ra1.key").exists(), "no key made here");
    assert_ne!(serial_of(&env, "ra1"), new_serial);
    assert_eq!(revoked(&env), [old_serial], "the previous one stays valid");

    // Refusals, with nothing issued.
    let before = serial_of(&env, "ra1");
    let other = req(&env, "mallory", "/CN=mallory.example.test");
    let out4 = env.p("out4");
    let r = env.fails(
        1,
        &[
            "client",
            "reissue",
            "ra1",
            "--csr",
            &other,
            "--out-dir",
            &out4,
        ],
    );
    assert!(
        r.stderr.contains("outside the client's rules"),
        "{}",
        r.stderr
    );
    assert!(!env.path("out4/ra1.pem").exists());
    let r = env.fails(
        1,
        &[
            "client",
            "reissue",
            "nobody",
            "--out-dir",
            &out4,
            "--unencrypted-key",
        ],
    );
    assert!(r.stderr.contains("no client \"nobody\""), "{}", r.stderr);
    let r = env.fails(
        1,
        &[
            "client",
            "reissue",
            "ra1",
            "--out-dir",
            &out2,
            "--unencrypted-key",
        ],
    );
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    env.ok(&["client", "disable", "ra1"]);
    let r = env.fails(
        1,
        &[
            "client",
            "reissue",
            "ra1",
            "--out-dir",
            &out4,
            "--unencrypted-key",
        ],
    );
    assert!(r.stderr.contains("disabled"), "{}", r.stderr);
    assert!(
        !env.path("out4/ra1.key").exists(),
        "the unused key is removed"
    );
    assert_eq!(serial_of(&env, "ra1"), before);
}
