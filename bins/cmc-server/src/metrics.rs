//! A small Prometheus text-format registry built on atomics.
//!
//! Every label set is fixed at compile time (routes, HTTP statuses, CMC
//! statuses and fail infos), so counting never allocates or locks.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a request was for, as the `route` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST {base_path}/{ca}` or `POST {default_path}`.
    Cmc,
    /// `GET /ca/{ca}.pem` or `.der`.
    CaCert,
    /// `GET /crl/{ca}.crl`.
    Crl,
    /// `POST /ocsp/{ca}` and `GET /ocsp/{ca}/{request}`.
    Ocsp,
    /// `GET /healthz`.
    Health,
    /// `GET /metrics`.
    Metrics,
    /// Anything else (404).
    Other,
}

impl Route {
    const ALL: [Route; 7] = [
        Route::Cmc,
        Route::CaCert,
        Route::Crl,
        Route::Ocsp,
        Route::Health,
        Route::Metrics,
        Route::Other,
    ];

    /// The label value.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Route::Cmc => "cmc",
            Route::CaCert => "ca_cert",
            Route::Crl => "crl",
            Route::Ocsp => "ocsp",
            Route::Health => "healthz",
            Route::Metrics => "metrics",
            Route::Other => "other",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The HTTP statuses this server answers with; anything else is counted
/// under `other`.
const STATUSES: [u16; 13] = [
    200, 400, 403, 404, 405, 408, 413, 414, 415, 429, 500, 503, 0,
];

fn status_index(status: u16) -> usize {
    STATUSES
        .iter()
        .position(|s| *s == status)
        .unwrap_or(STATUSES.len() - 1)
}

/// CMCStatus names by value (RFC 5272 §6.1.1); value 1 is unassigned.
const CMC_STATUSES: [&str; 8] = [
    "success",
    "unassigned",
    "failed",
    "pending",
    "noSupport",
    "confirmRequired",
    "popRequired",
    "partial",
];

/// CMCFailInfo names by value (RFC 5272 §6.1.4).
const FAIL_INFOS: [&str; 14] = [
    "badAlg",
    "badMessageCheck",
    "badRequest",
    "badTime",
    "badCertId",
    "unsupportedExt",
    "mustArchiveKeys",
    "badIdentity",
    "popRequired",
    "popFailed",
    "noKeyReuse",
    "internalCAError",
    "tryLater",
    "authDataFail",
];

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const N_ROUTES: usize = Route::ALL.len();

/// The counters of one server.
#[derive(Debug)]
pub struct Metrics {
    requests: [[AtomicU64; STATUSES.len()]; N_ROUTES],
    cmc_status: [AtomicU64; CMC_STATUSES.len() + 1],
    cmc_fail_info: [AtomicU64; FAIL_INFOS.len() + 1],
    issued: AtomicU64,
    unauthenticated_failures: AtomicU64,
    rate_limited: AtomicU64,
    buckets: [[AtomicU64; BUCKETS.len()]; N_ROUTES],
    latency_count: [AtomicU64; N_ROUTES],
    latency_sum_micros: [AtomicU64; N_ROUTES],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All counters at zero.
    #[must_use]
    pub fn new() -> Self {
        Self {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            cmc_status: std::array::from_fn(|_| AtomicU64::new(0)),
            cmc_fail_info: std::array::from_fn(|_| AtomicU64::new(0)),
            issued: AtomicU64::new(0),
            unauthenticated_failures: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency_count: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_sum_micros: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Counts one answered request and its latency.
    pub fn request(&self, route: Route, status: u16, elapsed: Duration) {
        let r = route.index();
        self.requests[r][status_index(status)].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[r][i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count[r].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros[r].fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts one CMC status (a CMCStatus value) reported in a response.
    pub fn cmc_status(&self, status: u32) {
        let i = usize::try_from(status)
            .ok()
            .filter(|i| *i < CMC_STATUSES.len())
            .unwrap_or(CMC_STATUSES.len());
        self.cmc_status[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one CMCFailInfo value reported in a response.
    pub fn cmc_fail_info(&self, fail_info: u32) {
        let i = usize::try_from(fail_info)
            .ok()
            .filter(|i| *i < FAIL_INFOS.len())
            .unwrap_or(FAIL_INFOS.len());
        self.cmc_fail_info[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts issued certificates.
    pub fn issued(&self, n: u64) {
        self.issued.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one CMC request that failed without an authenticated sender
    /// (what the per-source limit counts).
    pub fn unauthenticated_failure(&self) {
        self.unauthenticated_failures
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one CMC request answered 429 because its source was over
    /// the limit of unauthenticated failures.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4).
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        // `write!` to a String cannot fail; the results are ignored.
        out.push_str(
            "# HELP cmc_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE cmc_http_requests_total counter\n");
        for route in Route::ALL {
            for (i, status) in STATUSES.iter().enumerate() {
                let status = if *status == 0 {
                    "other".to_owned()
                } else {
                    status.to_string()
                };
                let _ = writeln!(
                    out,
                    "cmc_http_requests_total{{route=\"{}\",status=\"{status}\"}} {}",
                    route.label(),
                    load(&self.requests[route.index()][i])
                );
            }
        }
        out.push_str("# HELP cmc_responses_total CMC status values reported in CMC responses.\n");
        out.push_str("# TYPE cmc_responses_total counter\n");
        for (i, name) in CMC_STATUSES.iter().chain(["other"].iter()).enumerate() {
            let _ = writeln!(
                out,
                "cmc_responses_total{{status=\"{name}\"}} {}",
                load(&self.cmc_status[i])
            );
        }
        out.push_str("# HELP cmc_fail_info_total CMCFailInfo values reported in CMC responses.\n");
        out.push_str("# TYPE cmc_fail_info_total counter\n");
        for (i, name) in FAIL_INFOS.iter().chain(["other"].iter()).enumerate() {
            let _ = writeln!(
                out,
                "cmc_fail_info_total{{fail_info=\"{name}\"}} {}",
                load(&self.cmc_fail_info[i])
            );
        }
        out.push_str(
            "# HELP cmc_certificates_issued_total Certificates issued through CMC requests.\n",
        );
        out.push_str("# TYPE cmc_certificates_issued_total counter\n");
        let _ = writeln!(out, "cmc_certificates_issued_total {}", load(&self.issued));
        out.push_str(
            "# HELP cmc_unauthenticated_failures_total CMC requests that failed without an authenticated sender.\n",
        );
        out.push_str("# TYPE cmc_unauthenticated_failures_total counter\n");
        let _ = writeln!(
            out,
            "cmc_unauthenticated_failures_total {}",
            load(&self.unauthenticated_failures)
        );
        out.push_str(
            "# HELP cmc_rate_limited_total CMC requests answered 429: their source was over the limit of unauthenticated failures.\n",
        );
        out.push_str("# TYPE cmc_rate_limited_total counter\n");
        let _ = writeln!(out, "cmc_rate_limited_total {}", load(&self.rate_limited));
        out.push_str(
            "# HELP cmc_http_request_duration_seconds Time from request head to response, by route.\n",
        );
        out.push_str("# TYPE cmc_http_request_duration_seconds histogram\n");
        for route in Route::ALL {
            let r = route.index();
            let label = route.label();
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "cmc_http_request_duration_seconds_bucket{{route=\"{label}\",le=\"{bound}\"}} {}",
                    load(&self.buckets[r][i])
                );
            }
            let count = load(&self.latency_count[r]);
            let _ = writeln!(
                out,
                "cmc_http_request_duration_seconds_bucket{{route=\"{label}\",le=\"+Inf\"}} {count}"
            );
            let sum = Duration::from_micros(load(&self.latency_sum_micros[r])).as_secs_f64();
            let _ = writeln!(
                out,
                "cmc_http_request_duration_seconds_sum{{route=\"{label}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "cmc_http_request_duration_seconds_count{{route=\"{label}\"}} {count}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix} in\n{text}"))
    }

    #[test]
    fn counts_show_up_under_their_labels() {
        let m = Metrics::new();
        m.request(Route::Cmc, 200, Duration::from_millis(30));
        m.request(Route::Cmc, 200, Duration::from_millis(3));
        m.request(Route::Crl, 404, Duration::from_secs(20));
        m.request(Route::Other, 418, Duration::ZERO);
        m.request(Route::Ocsp, 200, Duration::from_millis(1));
        m.cmc_status(2);
        m.cmc_status(99);
        m.cmc_fail_info(1);
        m.issued(3);
        let text = m.render();
        assert!(text.ends_with('\n'));
        assert_eq!(
            line(
                &text,
                "cmc_http_requests_total{route=\"cmc\",status=\"200\"}"
            ),
            "cmc_http_requests_total{route=\"cmc\",status=\"200\"} 2"
        );
        assert!(
            line(
                &text,
                "cmc_http_requests_total{route=\"crl\",status=\"404\"}"
            )
            .ends_with(" 1")
        );
        assert!(
            line(
                &text,
                "cmc_http_requests_total{route=\"other\",status=\"other\"}"
            )
            .ends_with(" 1")
        );
        assert!(
            line(
                &text,
                "cmc_http_requests_total{route=\"ocsp\",status=\"200\"}"
            )
            .ends_with(" 1")
        );
        assert!(line(&text, "cmc_responses_total{status=\"failed\"}").ends_with(" 1"));
        assert!(line(&text, "cmc_responses_total{status=\"other\"}").ends_with(" 1"));
        assert!(line(&text, "cmc_responses_total{status=\"success\"}").ends_with(" 0"));
        assert!(line(&text, "cmc_fail_info_total{fail_info=\"badMessageCheck\"}").ends_with(" 1"));
        assert_eq!(
            line(&text, "cmc_certificates_issued_total "),
            "cmc_certificates_issued_total 3"
        );
        // 3 ms is in the 5 ms bucket; 30 ms is not, but is in the 50 ms one.
        assert!(
            line(
                &text,
                "cmc_http_request_duration_seconds_bucket{route=\"cmc\",le=\"0.005\"}"
            )
            .ends_with(" 1")
        );
        assert!(
            line(
                &text,
                "cmc_http_request_duration_seconds_bucket{route=\"cmc\",le=\"0.05\"}"
            )
            .ends_with(" 2")
        );
        // 20 s is above every bound but counted in +Inf.
        assert!(
            line(
                &text,
                "cmc_http_request_duration_seconds_bucket{route=\"crl\",le=\"10\"}"
            )
            .ends_with(" 0")
        );
        assert!(
            line(
                &text,
                "cmc_http_request_duration_seconds_bucket{route=\"crl\",le=\"+Inf\"}"
            )
            .ends_with(" 1")
        );
        assert!(
            line(
                &text,
                "cmc_http_request_duration_seconds_count{route=\"cmc\"}"
            )
            .ends_with(" 2")
        );
    }

    #[test]
    fn rate_limiting_is_counted() {
        let m = Metrics::new();
        m.request(Route::Cmc, 429, Duration::from_millis(1));
        m.rate_limited();
        m.unauthenticated_failure();
        m.unauthenticated_failure();
        let text = m.render();
        assert_eq!(
            line(
                &text,
                "cmc_http_requests_total{route=\"cmc\",status=\"429\"}"
            ),
            "cmc_http_requests_total{route=\"cmc\",status=\"429\"} 1"
        );
        assert_eq!(
            line(&text, "cmc_rate_limited_total "),
            "cmc_rate_limited_total 1"
        );
        assert_eq!(
            line(&text, "cmc_unauthenticated_failures_total "),
            "cmc_unauthenticated_failures_total 2"
        );
    }
}
