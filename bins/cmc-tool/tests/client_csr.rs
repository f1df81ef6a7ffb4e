//! `client add --issue --csr`: a credential for the key of a request the
//! client made (forged requests and names outside the client's refused,
//! nothing kept), and `secret revoke` (the secret ends now, for good).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, openssl};

/// `openssl req`: key NAME.key and request NAME.csr for `subj`, with a
/// subjectAltName when `san` is given.
fn csr(env: &Env, name: &str, subj: &str, san: Option<&str>) -> String {
    let (key, out) = (env.p(&format!("{name}.key")), env.p(&format!("{name}.csr")));
    let mut args = vec![
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
    ];
    let ext = san.map(|s| format!("subjectAltName={s}"));
    if let Some(ext) = &ext {
        args.extend(["-addext", ext]);
    }
    openssl(&args);
    out
}

/// `client add ID --role ROLE --ca root --issue --csr CSR --out-dir OUT EXTRA...`.
fn add<'a>(
    id: &'a str,
    role: &'a str,
    csr: &'a str,
    out: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "client",
        "add",
        id,
        "--role",
        role,
        "--ca",
        "root",
        "--issue",
        "--csr",
        csr,
        "--out-dir",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn credentials_are_issued_for_the_clients_own_request_only() {
    let env = Env::new();
    env.root("root");
    let root = env.export("root");
    let good = csr(&env, "dev", "/CN=dev.example.test", None);
    let out = env.path("out").display().to_string();
    let args = add("dev", "client", &good, &out, &["--dns", "dev.example.test"]);
    let r = env.ok(&args);
    assert!(r.stdout.contains("the client's own"), "{}", r.stdout);
    let cert = env.p("out/dev.pem");
    assert!(!env.path("out/dev.key").exists(), "no key is made here");
    let verified = openssl(&["verify", "-CAfile", &root, &cert]);
    assert!(verified.contains(": OK"), "{verified}");
    let from_cert = openssl(&["x509", "-in", &cert, "-noout", "-pubkey"]);
    let from_key = openssl(&["pkey", "-in", &env.p("dev.key"), "-pubout"]);
    assert_eq!(from_cert, from_key);
    let subject = openssl(&["x509", "-in", &cert, "-noout", "-subject"]);
    assert!(subject.contains("dev.example.test"), "{subject}");

    // A request whose signature does not verify.
    let pem = std::fs::read_to_string(&good).unwrap();
    let (label, mut der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    let last = der.len() - 1;
    der[last] ^= 1;
    let forged = env.p("forged.csr");
    std::fs::write(
        &forged,
        der::pem::encode_string(label, der::pem::LineEnding::LF, &der).unwrap(),
    )
    .unwrap();
    let mut refusals = Vec::new();
    let args = add("forged", "client", &forged, &out, &[]);
    refusals.push((env.fails(1, &args), "does not verify"));
    // A subject other than the one given.
    let args = add(
        "alice",
        "client",
        &good,
        &out,
        &["--subject", "CN=alice.example.test"],
    );
    refusals.push((env.fails(1, &args), "outside the client's rules"));
    // A subjectAltName outside the client's names.
    let evil = csr(&env, "evil", "/CN=b.example.test", Some("DNS:evil.test"));
    let args = add("b", "client", &evil, &out, &["--dns", "b.example.test"]);
    refusals.push((env.fails(1, &args), "evil.test"));
    // A taken id.
    let other = csr(&env, "other", "/CN=other.example.test", None);
    let args = add("dev", "client", &other, &out, &[]);
    refusals.push((env.fails(1, &args), "already exists"));
    for (r, want) in &refusals {
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
    }
    let list = env.ok(&["client", "list", "--json"]).json();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["dev"], "nothing else was registered");
    // A key is not both the client's and made here.
    let r = env.fails(
        2,
        &[
            "client",
            "add",
            "x",
            "--role",
            "client",
            "--ca",
            "root",
            "--issue",
            "--csr",
            &good,
            "--out-dir",
            &out,
            "--key-type",
            "p384",
        ],
    );
    assert!(r.stderr.contains("--key-type"), "{}", r.stderr);
}

#[test]
fn a_revoked_secret_stays_revoked() {
    let env = Env::new();
    env.root("root");
    env.ok(&["secret", "add", "--ca", "root", "--identification", "dev-1"]);
    let r = env.ok(&[
        "secret",
        "revoke",
        "--ca",
        "root",
        "--identification",
        "dev-1",
    ]);
    assert!(
        r.stdout.contains("revoked the secret \"dev-1\""),
        "{}",
        r.stdout
    );
    let list = env.ok(&["secret", "list", "--json"]).json();
    assert_eq!(list[0]["state"], "expired", "{list}");
    // Unlocking does not bring it back; revoking again says why not.
    env.ok(&[
        "secret",
        "unlock",
        "--ca",
        "root",
        "--identification",
        "dev-1",
    ]);
    let list = env.ok(&["secret", "list", "--json"]).json();
    assert_eq!(list[0]["state"], "expired", "{list}");
    let r = env.fails(
        1,
        &[
            "secret",
            "revoke",
            "--ca",
            "root",
            "--identification",
            "dev-1",
        ],
    );
    assert!(r.stderr.contains("expired"), "{}", r.stderr);
    let r = env.fails(
        1,
        &[
            "secret",
            "revoke",
            "--ca",
            "root",
            "--identification",
            "nobody",
        ],
    );
    assert!(r.stderr.contains("nobody"), "{}", r.stderr);
}
