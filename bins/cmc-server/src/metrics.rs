//! The server's Prometheus metrics, kept in a `prometheus-client` registry
//! and exposed in the Prometheus text format (version 0.0.4).
//!
//! Every label set is fixed (routes, HTTP statuses, CMC statuses and fail
//! infos, each with an `other` bucket) and created at start, so the output
//! lists every series, zeros included, and no client can grow it.

use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeLabelSet, EncodeLabelValue, EncodeMetric,
    LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// What a request was for, as the `route` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST {base_path}/{ca}` or `POST {default_path}`.
    Cmc,
    /// `GET /ca/{ca}.pem` or `.der`.
    CaCert,
    /// `GET /crl/{ca}.crl`.
    Crl,
    /// `POST /ocsp/{ca}` and `GET /ocsp/{ca}/{request}`.
    Ocsp,
    /// `/.well-known/est/[{ca}/]{operation}` (RFC 7030).
    Est,
    /// `POST /.well-known/cmp[/p/{ca}]` (RFC 6712, RFC 9811).
    Cmp,
    /// `GET /healthz`.
    Health,
    /// `GET /metrics`.
    Metrics,
    /// The operator console's listener (`[console]`).
    Console,
    /// Anything else (404).
    Other,
}

impl Route {
    const ALL: [Route; 10] = [
        Route::Cmc,
        Route::CaCert,
        Route::Crl,
        Route::Ocsp,
        Route::Est,
        Route::Cmp,
        Route::Health,
        Route::Metrics,
        Route::Console,
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
            Route::Est => "est",
            Route::Cmp => "cmp",
            Route::Health => "healthz",
            Route::Metrics => "metrics",
            Route::Console => "console",
            Route::Other => "other",
        }
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.label(), encoder)
    }
}

/// The HTTP statuses this server answers with and their label values;
/// anything else is counted under `other`.
const STATUSES: [(u16, &str); 16] = [
    (200, "200"),
    (202, "202"),
    (400, "400"),
    (401, "401"),
    (403, "403"),
    (404, "404"),
    (405, "405"),
    (408, "408"),
    (409, "409"),
    (413, "413"),
    (414, "414"),
    (415, "415"),
    (429, "429"),
    (500, "500"),
    (501, "501"),
    (503, "503"),
];

const OTHER: &str = "other";

/// The `status` label of an HTTP status.
fn status_label(status: u16) -> &'static str {
    STATUSES
        .iter()
        .find(|(code, _)| *code == status)
        .map_or(OTHER, |(_, label)| label)
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

/// The name of value `value` in `names`, or `other`.
fn name_of(names: &[&'static str], value: u32) -> &'static str {
    usize::try_from(value)
        .ok()
        .and_then(|i| names.get(i))
        .copied()
        .unwrap_or(OTHER)
}

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: Route,
    status: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CmcStatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FailInfoLabels {
    fail_info: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The metrics of one server: a registry and the handles that count into
/// it.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    cmc_status: Family<CmcStatusLabels, Counter>,
    cmc_fail_info: Family<FailInfoLabels, Counter>,
    issued: Counter,
    unauthenticated_failures: Counter,
    rate_limited: Counter,
    store_commits: Counter,
    store_units: Counter,
    /// Issued and failed per minute over the last hour (the console's
    /// overview chart).
    activity: std::sync::Arc<crate::activity::ActivityRing>,
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
        // Every series is created now (the guards dropped at once), so that
        // each shows from the start.
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        for route in Route::ALL {
            for status in STATUSES.map(|(_, label)| label).into_iter().chain([OTHER]) {
                drop(requests.get_or_create(&RequestLabels { route, status }));
            }
            drop(latency.get_or_create(&RouteLabels { route }));
        }
        let cmc_status = Family::<CmcStatusLabels, Counter>::default();
        for status in CMC_STATUSES.into_iter().chain([OTHER]) {
            drop(cmc_status.get_or_create(&CmcStatusLabels { status }));
        }
        let cmc_fail_info = Family::<FailInfoLabels, Counter>::default();
        for fail_info in FAIL_INFOS.into_iter().chain([OTHER]) {
            drop(cmc_fail_info.get_or_create(&FailInfoLabels { fail_info }));
        }
        let issued = Counter::default();
        let unauthenticated_failures = Counter::default();
        let rate_limited = Counter::default();
        let store_commits = Counter::default();
        let store_units = Counter::default();

        // Counter names get their `_total` on output; help texts their
        // final full stop.
        let mut registry = Registry::default();
        registry.register(
            "cmc_http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "cmc_responses",
            "CMC status values reported in CMC responses",
            cmc_status.clone(),
        );
        registry.register(
            "cmc_fail_info",
            "CMCFailInfo values reported in CMC responses",
            cmc_fail_info.clone(),
        );
        registry.register(
            "cmc_certificates_issued",
            "Certificates issued through CMC and EST requests",
            issued.clone(),
        );
        registry.register(
            "cmc_unauthenticated_failures",
            "CMC requests that failed without an authenticated sender",
            unauthenticated_failures.clone(),
        );
        registry.register(
            "cmc_rate_limited",
            "CMC requests answered 429: their source was over the limit of unauthenticated failures",
            rate_limited.clone(),
        );
        registry.register(
            "cmc_store_commits",
            "Durable store commits (each holds the write units of one or more requests)",
            store_commits.clone(),
        );
        registry.register(
            "cmc_store_units",
            "Write units committed (what one request writes)",
            store_units.clone(),
        );
        registry.register(
            "cmc_http_request_duration_seconds",
            "Time from request head to response, by route",
            latency.clone(),
        );
        registry.register_collector(Box::new(ProcSelf));
        Self {
            registry,
            requests,
            latency,
            cmc_status,
            cmc_fail_info,
            issued,
            unauthenticated_failures,
            rate_limited,
            store_commits,
            store_units,
            activity: std::sync::Arc::default(),
        }
    }

    /// Issued certificates and failed enrollment requests per minute, as
    /// counted here: what the console's overview chart shows.
    #[must_use]
    pub fn activity(&self) -> std::sync::Arc<crate::activity::ActivityRing> {
        std::sync::Arc::clone(&self.activity)
    }

    /// Brings the store counters up to the store's own totals (read at
    /// each scrape: the store counts, the registry shows).
    pub fn store_writes(&self, stats: cmc_ca::WriteStats) {
        self.store_commits
            .inc_by(stats.commits.saturating_sub(self.store_commits.get()));
        self.store_units
            .inc_by(stats.units.saturating_sub(self.store_units.get()));
    }

    /// Counts one answered request and its latency.
    pub fn request(&self, route: Route, status: u16, elapsed: Duration) {
        let failed = matches!(route, Route::Cmc | Route::Est | Route::Cmp) && status >= 400;
        let status = status_label(status);
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(elapsed.as_secs_f64());
        // An enrollment request answered with an HTTP error failed (a CMC
        // answer reporting failed is counted in `cmc_status`; a CMP error
        // message comes with 200 and is not seen here).
        if failed {
            self.activity.record_now(0, 1);
        }
    }

    /// Counts one CMC status (a CMCStatus value) reported in a response.
    pub fn cmc_status(&self, status: u32) {
        if status == 2 {
            self.activity.record_now(0, 1);
        }
        let status = name_of(&CMC_STATUSES, status);
        self.cmc_status
            .get_or_create(&CmcStatusLabels { status })
            .inc();
    }

    /// Counts one CMCFailInfo value reported in a response.
    pub fn cmc_fail_info(&self, fail_info: u32) {
        let fail_info = name_of(&FAIL_INFOS, fail_info);
        self.cmc_fail_info
            .get_or_create(&FailInfoLabels { fail_info })
            .inc();
    }

    /// Counts issued certificates.
    pub fn issued(&self, n: u64) {
        self.issued.inc_by(n);
        self.activity.record_now(n, 0);
    }

    /// Counts one CMC request that failed without an authenticated sender
    /// (what the per-source limit counts).
    pub fn unauthenticated_failure(&self) {
        self.unauthenticated_failures.inc();
    }

    /// Counts one CMC request answered 429 because its source was over
    /// the limit of unauthenticated failures.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// The Prometheus text exposition (format 0.0.4, [`CONTENT_TYPE`]).
    ///
    /// # Errors
    /// Only if a metric fails to encode, which the metrics here do not.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// What `/proc/self` says of this process (Linux), read at each scrape;
/// each family is absent where its file is not. `cmc-tool bench` divides
/// both by the enrollments of a run.
/// - `process_io_write_bytes_total`: the bytes this process caused to be
///   written to storage (`write_bytes` of `/proc/self/io`). A store in
///   another process (PostgreSQL) writes in that process, not here.
/// - `process_cpu_seconds_total`: user and system CPU time of all its
///   threads (`utime` + `stime` of `/proc/self/stat`), the name Prometheus'
///   own process collectors use.
#[derive(Debug)]
struct ProcSelf;

impl Collector for ProcSelf {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        proc_counter(
            &mut encoder,
            "/proc/self/io",
            |text| io_field(text, "write_bytes"),
            "process_io_write_bytes",
            "Bytes this process caused to be written to storage (/proc/self/io write_bytes).",
        )?;
        proc_counter(
            &mut encoder,
            "/proc/self/stat",
            cpu_seconds,
            "process_cpu_seconds",
            "User and system CPU time of this process in seconds (/proc/self/stat).",
        )
    }
}

/// Encodes counter `name` with the value `read` finds in the text of
/// `file`; nothing if the file cannot be read or holds no value.
fn proc_counter<N: EncodeCounterValue>(
    encoder: &mut DescriptorEncoder,
    file: &str,
    read: impl Fn(&str) -> Option<N>,
    name: &str,
    help: &str,
) -> Result<(), std::fmt::Error> {
    let Some(value) = std::fs::read_to_string(file).ok().and_then(|t| read(&t)) else {
        return Ok(());
    };
    let counter = ConstCounter::new(value);
    let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
    counter.encode(metric)
}

/// Clock ticks per second of the times in `/proc/PID/stat`: USER_HZ, which
/// Linux fixes at 100 for user space on every architecture it supports
/// (whatever the kernel's own HZ).
const USER_HZ: f64 = 100.0;

/// `utime` + `stime` (fields 14 and 15) of the text of `/proc/PID/stat`,
/// in seconds. The command name (field 2) is in parentheses and may hold
/// spaces and parentheses itself, so fields are counted after its last
/// `)`.
fn cpu_seconds(text: &str) -> Option<f64> {
    let (_, rest) = text.rsplit_once(')')?;
    // `rest` starts with field 3 (the state).
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// The value of `name: VALUE` in the text of `/proc/PID/io`.
fn io_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix} in\n{text}"))
    }

    /// The value of the unlabelled sample `name`.
    fn sample<T: std::str::FromStr>(text: &str, name: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        let l = line(text, &format!("{name} "));
        l.rsplit_once(' ').unwrap().1.parse().unwrap()
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
        let stats = |commits, units| cmc_ca::WriteStats {
            commits,
            units,
            ..cmc_ca::WriteStats::default()
        };
        m.store_writes(stats(2, 5));
        m.store_writes(stats(3, 9));
        let text = m.render().unwrap();
        assert!(text.ends_with('\n'));
        assert_eq!(
            line(&text, "cmc_store_commits_total"),
            "cmc_store_commits_total 3"
        );
        assert_eq!(
            line(&text, "cmc_store_units_total"),
            "cmc_store_units_total 9"
        );
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

    /// Checks the text format line by line (HELP and TYPE once per family,
    /// before its samples; every sample of the family announced; numeric
    /// values) and returns each family's name and type.
    fn families(text: &str) -> Vec<(String, String)> {
        let mut families: Vec<(String, String)> = Vec::new();
        let mut help: Option<String> = None;
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# HELP ") {
                let (name, doc) = rest.split_once(' ').unwrap();
                assert!(doc.ends_with('.'), "{l}");
                help = Some(name.to_owned());
            } else if let Some(rest) = l.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert_eq!(help.take().as_deref(), Some(name), "TYPE without HELP: {l}");
                assert!(families.iter().all(|(n, _)| n != name), "twice: {name}");
                families.push((name.to_owned(), kind.to_owned()));
            } else {
                let (series, value) = l.rsplit_once(' ').unwrap();
                value.parse::<f64>().unwrap();
                let name = series.split('{').next().unwrap();
                let (family, kind) = families.last().unwrap();
                let suffixes: &[&str] = match kind.as_str() {
                    "histogram" => &["_bucket", "_sum", "_count"],
                    _ => &[""],
                };
                assert!(
                    suffixes.iter().any(|s| name == format!("{family}{s}")),
                    "{name} outside its family {family}"
                );
                if let Some(labels) = series.strip_prefix(name) {
                    if !labels.is_empty() {
                        assert!(labels.starts_with('{') && labels.ends_with('}'), "{l}");
                    }
                }
            }
        }
        families
    }

    #[test]
    fn every_family_is_well_formed_with_its_type() {
        let m = Metrics::new();
        m.request(Route::Metrics, 200, Duration::from_millis(2));
        let text = m.render().unwrap();
        assert!(text.ends_with('\n'));
        // The process's own figures are checked in `process_io_is_reported`.
        let got: Vec<_> = families(&text)
            .into_iter()
            .filter(|(name, _)| !name.starts_with("process_"))
            .collect();
        let want = [
            ("cmc_http_requests_total", "counter"),
            ("cmc_responses_total", "counter"),
            ("cmc_fail_info_total", "counter"),
            ("cmc_certificates_issued_total", "counter"),
            ("cmc_unauthenticated_failures_total", "counter"),
            ("cmc_rate_limited_total", "counter"),
            ("cmc_store_commits_total", "counter"),
            ("cmc_store_units_total", "counter"),
            ("cmc_http_request_duration_seconds", "histogram"),
        ];
        assert_eq!(
            got,
            want.map(|(n, k)| (n.to_owned(), k.to_owned())).to_vec()
        );
        // Every label set exists from the start: 10 routes x 17 statuses,
        // 8 CMC statuses and 14 fail infos with their `other`, 10 routes x
        // (11 buckets + +Inf + sum + count).
        let count = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
        assert_eq!(count("cmc_http_requests_total{"), 10 * 17);
        assert_eq!(count("cmc_responses_total{"), 9);
        assert_eq!(count("cmc_fail_info_total{"), 15);
        assert_eq!(count("cmc_http_request_duration_seconds_"), 10 * 14);
        assert!(text.contains("cmc_http_requests_total{route=\"ca_cert\",status=\"other\"} 0\n"));
        assert!(text.contains("cmc_fail_info_total{fail_info=\"authDataFail\"} 0\n"));
    }

    #[test]
    fn rate_limiting_is_counted() {
        let m = Metrics::new();
        m.request(Route::Cmc, 429, Duration::from_millis(1));
        m.rate_limited();
        m.unauthenticated_failure();
        m.unauthenticated_failure();
        let text = m.render().unwrap();
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

    #[test]
    fn process_io_is_reported() {
        let proc_io = || {
            std::fs::read_to_string("/proc/self/io")
                .ok()
                .and_then(|t| io_field(&t, "write_bytes"))
        };
        let before = proc_io();
        let text = Metrics::new().render().unwrap();
        let after = proc_io();
        let process: Vec<_> = families(&text)
            .into_iter()
            .filter(|(name, _)| name.starts_with("process_"))
            .collect();
        let (Some(before), Some(after)) = (before, after) else {
            assert!(process.is_empty(), "{process:?}");
            return;
        };
        assert_eq!(
            process,
            [
                (
                    "process_io_write_bytes_total".to_owned(),
                    "counter".to_owned()
                ),
                ("process_cpu_seconds_total".to_owned(), "counter".to_owned())
            ]
        );
        let value: u64 = sample(&text, "process_io_write_bytes_total");
        assert!(
            (before..=after).contains(&value),
            "{before} {value} {after}"
        );
    }

    #[test]
    fn process_cpu_time_is_reported_and_grows() {
        let proc_cpu = || {
            std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|t| cpu_seconds(&t))
        };
        let Some(before) = proc_cpu() else {
            return;
        };
        // Burn CPU until the process's clock ticks (10 ms each) move.
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while proc_cpu().unwrap() <= before {
            assert!(started.elapsed() < Duration::from_secs(30), "no CPU tick");
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        let text = Metrics::new().render().unwrap();
        let after = proc_cpu().unwrap();
        let value: f64 = sample(&text, "process_cpu_seconds_total");
        assert!(
            before <= value && value <= after && before < after,
            "{before} {value} {after}"
        );
    }

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        // Fields 14 and 15 (utime 250, stime 50 ticks); the name holds a
        // space and a parenthesis.
        let stat = "4242 (cmc (srv) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 \
                    100 0 0\n";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(cpu_seconds("4242 cmc S 1"), None);
        assert_eq!(cpu_seconds("4242 (cmc) S 1 2 3"), None);
        assert_eq!(cpu_seconds("1 (a) S 1 1 1 0 -1 0 0 0 0 0 x 5 0"), None);
    }

    #[test]
    fn io_fields_are_read_by_name() {
        let text =
            "rchar: 10\nwchar: 20\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        assert_eq!(io_field(text, "write_bytes"), Some(8192));
        assert_eq!(io_field(text, "read_bytes"), Some(4096));
        assert_eq!(io_field(text, "cancelled_write_bytes"), Some(0));
        assert_eq!(io_field(text, "nope"), None);
        assert_eq!(io_field("write_bytes: x\n", "write_bytes"), None);
    }

    #[test]
    fn issuance_and_enrollment_failures_feed_the_activity_ring() {
        use cmc_console::activity::Activity as _;
        let m = Metrics::new();
        m.issued(3);
        m.request(Route::Cmc, 400, Duration::ZERO);
        m.request(Route::Est, 503, Duration::ZERO);
        m.request(Route::Cmp, 200, Duration::ZERO);
        // Not enrollment: not counted.
        m.request(Route::Ocsp, 404, Duration::ZERO);
        m.request(Route::Console, 403, Duration::ZERO);
        m.cmc_status(2);
        m.cmc_status(0);
        m.cmc_status(3);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let hour = m.activity().last_hour(i64::try_from(now).unwrap());
        let issued: u64 = hour.iter().map(|x| x.issued).sum();
        let failed: u64 = hour.iter().map(|x| x.failed).sum();
        assert_eq!((issued, failed), (3, 3));
    }
}
