//! `bench` against an in-process CMC responder: the engine's `handle_full`
//! behind a minimal HTTP/1.1 listener in this test. Only the counts and the
//! labels are checked, never a timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;
use common::responder::start_server;

fn bench_args(env: &Env, url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "bench",
        "--url",
        &format!("{url}/cmc/root"),
        "--ca-cert",
        &env.p("root.pem"),
        "--signer-cert",
        &env.p("out/ra.pem"),
        "--signer-key",
        &env.p("out/ra.key"),
        "--passphrase-file",
        &env.p("passphrase"),
        "-n",
        "6",
        "-c",
        "2",
        "--crypto-iterations",
        "3",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

#[test]
fn bench_enrolls_and_reports_its_figures() {
    let env = Env::new();
    env.root("root");
    env.issue_client("ra", "ra", "root");
    env.export("root");
    let url = start_server(&env);

    let args = bench_args(&env, &url, &[]);
    let r = env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    for line in [
        "requests:          6\n",
        "concurrency:       2 (one kept-alive connection per thread)\n",
        "mode:              closed loop (latency from sending)\n",
        "successes:         6\n",
        "failures:          0\n",
    ] {
        assert!(r.stdout.contains(line), "{line:?} in\n{}", r.stdout);
    }
    for label in [
        "wall time:",
        "enrollments/s:",
        "latency p50:",
        "latency p90:",
        "latency p99:",
        "latency max:",
        // This responder has no /metrics: the run is still reported.
        "/metrics over the timed phase:\n  not read (HTTP 404",
        "verify CMS request signature (p256):",
        "verify PKCS#10 self-signature (p256):",
        "sign certificate TBS (p384):",
        "sign CMS response (p384):",
        "crypto cost per request (2 verify + 2 sign):",
        "crypto bound, one core:",
        "measured / (crypto bound × min(c, cores)):",
    ] {
        assert!(r.stdout.contains(label), "{label:?} in\n{}", r.stdout);
    }
    let listed = env.ok(&["cert", "list", "--ca", "root", "--json"]).json();
    let issued = listed.as_array().unwrap().len();
    // The RA credential and the six bench certificates.
    assert_eq!(issued, 7, "{listed}");

    let args = bench_args(
        &env,
        &url,
        &[
            "--json",
            "--key-type",
            "p384",
            "--rate",
            "50",
            "--no-keep-alive",
        ],
    );
    let r = env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let v = r.json();
    assert_eq!(v["mode"], "open-loop");
    assert_eq!(v["offered_rate_per_s"], 50.0);
    assert_eq!(v["latency_from"], "schedule");
    assert_eq!(v["keep_alive"], false);
    assert!(v["max_send_lag_ms"].is_number(), "{v}");
    assert!(v["server"]["error"].is_string(), "{v}");
    assert!(v["server"]["commits_per_enrollment"].is_null(), "{v}");
    assert_eq!(v["requests"], 6);
    assert_eq!(v["successes"], 6);
    assert_eq!(v["failures"], 0);
    assert_eq!(v["crypto"]["client_key"], "p384");
    assert_eq!(v["crypto"]["ca_key"], "p384");
    for key in ["p50", "p90", "p99", "max"] {
        assert!(v["latency_ms"][key].is_number(), "{v}");
    }
    assert!(v["crypto"]["cost_per_request_us"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_refuses_a_rate_that_is_not_positive() {
    let env = Env::new();
    for rate in ["--rate=0", "--rate=-5", "--rate=NaN"] {
        let r = env.fails(
            1,
            &[
                "bench",
                "--url",
                "http://127.0.0.1:1/cmc/root",
                "--ca-cert",
                "root.pem",
                "--signer-cert",
                "ra.pem",
                "--signer-key",
                "ra.key",
                "--unencrypted-key",
                rate,
            ],
        );
        assert!(r.stderr.contains("--rate"), "{rate}: {}", r.stderr);
    }
}

#[test]
fn bench_refuses_a_remote_server() {
    let env = Env::new();
    let r = env.fails(
        1,
        &[
            "bench",
            "--url",
            "http://192.0.2.1:8080/cmc/root",
            "--ca-cert",
            "root.pem",
            "--signer-cert",
            "ra.pem",
            "--signer-key",
            "ra.key",
            "--unencrypted-key",
        ],
    );
    assert!(r.stderr.contains("loopback"), "{}", r.stderr);
}
