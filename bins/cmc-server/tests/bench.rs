//! `cmc-tool bench` against the real server: closed and open loop, kept
//! alive or one connection per request, and the server figures it reads
//! from `/metrics` (the process's disk writes and CPU time; durable commits
//! when the server reports them) and this host's `/proc/stat`. Counts,
//! shares and labels only, never a timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{bootstrap_enroll_args, cmc_tool_io, start, write_config};

#[test]
fn bench_reports_the_server_figures_from_its_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(tmp.path(), "[server]\nlisten = \"127.0.0.1:0\"\n");
    let server = start(tmp.path());
    let data = tmp.path().join("cmc-data");
    let url = format!("http://{}/cmc/root", server.addr);
    let metrics = server.get("/metrics").text();
    let commits_reported = metrics.contains("\ncmc_store_commits_total");
    let writes_reported = metrics.contains("\nprocess_io_write_bytes_total ");
    assert_eq!(
        writes_reported,
        std::path::Path::new("/proc/self/io").exists()
    );
    let cpu_reported = metrics.contains("\nprocess_cpu_seconds_total ");
    assert_eq!(
        cpu_reported,
        std::path::Path::new("/proc/self/stat").exists()
    );

    for extra in [&[][..], &["--no-keep-alive"][..], &["--rate", "40"][..]] {
        let mut args = vec!["bench", "--url", &url, "-n", "12", "-c", "3"];
        args.extend(["--crypto-iterations", "2", "--json"]);
        let auth = bootstrap_enroll_args(&data);
        args.extend(auth.iter().map(String::as_str));
        args.extend_from_slice(extra);
        let (out, _) = cmc_tool_io(&args).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["successes"], 12, "{extra:?}: {v}");
        assert_eq!(v["keep_alive"], !extra.contains(&"--no-keep-alive"));
        let open = extra.contains(&"--rate");
        assert_eq!(v["mode"], if open { "open-loop" } else { "closed-loop" });
        let s = &v["server"];
        assert_eq!(
            s["metrics_url"],
            format!("http://{}/metrics", server.addr),
            "{v}"
        );
        assert!(s["error"].is_null(), "{v}");
        assert_eq!(s["commits_per_enrollment"].is_number(), commits_reported);
        assert_eq!(
            s["disk_write_bytes_per_enrollment"].is_number(),
            writes_reported,
            "{v}"
        );
        if let Some(bytes) = s["disk_write_bytes"].as_f64() {
            assert!(bytes >= 0.0, "{v}");
        }
        assert_eq!(s["cpu_ms_per_enrollment"].is_number(), cpu_reported, "{v}");
        if let Some(cpu) = s["cpu_seconds"].as_f64() {
            assert!(cpu >= 0.0, "{v}");
        }
        // This host's cores: read from /proc/stat, absent only where there
        // is none or when the run was too short for a clock tick (the
        // open loop takes 0.3 s: ticks pass).
        let host = &v["host"];
        let proc_stat = std::path::Path::new("/proc/stat").exists();
        if proc_stat && open {
            assert!(host.is_object(), "{v}");
        }
        if host.is_object() {
            assert!(host["cores"].as_u64().unwrap() >= 1, "{v}");
            let busy = host["busy"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&busy), "{v}");
            assert_eq!(host["server"].is_number(), cpu_reported, "{v}");
            if let Some(other) = host["other"].as_f64() {
                assert!(other >= 0.0 && other <= busy, "{v}");
            }
        } else {
            assert!(host.is_null(), "{v}");
        }
    }
    // The server counted every one of them as issued.
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("\ncmc_certificates_issued_total 36\n"),
        "{metrics}"
    );
    server.terminate();
}
