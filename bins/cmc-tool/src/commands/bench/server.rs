//! What the server's `/metrics` says about a run: durable store commits,
//! bytes written to disk and CPU time, read before and after the timed
//! phase.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use crate::http;

/// What the server's `/metrics` said changed over the timed phase.
#[derive(Debug, Serialize)]
pub(super) struct ServerFigures {
    pub(super) metrics_url: String,
    /// Why the metrics could not be read, if they could not.
    pub(super) error: Option<String>,
    /// `cmc_store_commits_total` over the run (absent if not reported).
    pub(super) store_commits: Option<f64>,
    pub(super) commits_per_enrollment: Option<f64>,
    /// `process_io_write_bytes_total` over the run (absent if not
    /// reported): the cmc-server process only, so not a PostgreSQL
    /// server's writes.
    pub(super) disk_write_bytes: Option<f64>,
    pub(super) disk_write_bytes_per_enrollment: Option<f64>,
    /// `process_cpu_seconds_total` over the run (absent if not reported):
    /// the server process's user and system CPU, all its threads.
    pub(super) cpu_seconds: Option<f64>,
    pub(super) cpu_ms_per_enrollment: Option<f64>,
}

/// The metric families the server figures come from.
pub(super) const COMMITS: &str = "cmc_store_commits_total";
pub(super) const WRITE_BYTES: &str = "process_io_write_bytes_total";
pub(super) const CPU_SECONDS: &str = "process_cpu_seconds_total";

/// The server's metrics text, or why it could not be read.
pub(super) fn scrape(url: &http::Url, timeout: Duration) -> Result<String> {
    let client = http::Client::new(timeout, None)?;
    let reply = client.get(url)?;
    if reply.status != 200 {
        bail!("HTTP {} {}", reply.status, reply.reason);
    }
    String::from_utf8(reply.body).map_err(|_| anyhow!("the metrics are not UTF-8"))
}

/// The sum of the samples of metric `name` (every label set) in a
/// Prometheus text exposition; `None` when it has none.
fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let mut sum = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let value = if rest.starts_with('{') {
            rest.rsplit_once('}').map(|(_, v)| v)
        } else {
            rest.starts_with(' ').then_some(rest)
        };
        // A sample is `value [timestamp]`.
        if let Some(v) = value
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
        {
            *sum.get_or_insert(0.0) += v;
        }
    }
    sum
}

/// The server's commits and disk writes over the run, per enrollment.
pub(super) fn server_figures(
    metrics_url: String,
    before: &Result<String>,
    after: &Result<String>,
    enrollments: usize,
) -> ServerFigures {
    let (before, after) = match (before, after) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), _) | (_, Err(e)) => {
            return ServerFigures {
                metrics_url,
                error: Some(format!("{e:#}")),
                store_commits: None,
                commits_per_enrollment: None,
                disk_write_bytes: None,
                disk_write_bytes_per_enrollment: None,
                cpu_seconds: None,
                cpu_ms_per_enrollment: None,
            };
        }
    };
    let delta = |name: &str| Some(metric_sum(after, name)? - metric_sum(before, name)?);
    let per = |d: Option<f64>| {
        d.filter(|_| enrollments > 0)
            .map(|d| d / enrollments as f64)
    };
    let commits = delta(COMMITS);
    let bytes = delta(WRITE_BYTES);
    let cpu = delta(CPU_SECONDS);
    ServerFigures {
        metrics_url,
        error: None,
        store_commits: commits,
        commits_per_enrollment: per(commits),
        disk_write_bytes: bytes,
        disk_write_bytes_per_enrollment: per(bytes),
        cpu_seconds: cpu,
        cpu_ms_per_enrollment: per(cpu).map(|s| s * 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_samples_are_summed_by_name() {
        let text = "# HELP cmc_store_commits Durable commits.\n\
                    # TYPE cmc_store_commits counter\n\
                    cmc_store_commits_total{store=\"a\"} 3\n\
                    cmc_store_commits_total{store=\"b\"} 4.5 1700000000\n\
                    cmc_store_commits_total_other 100\n\
                    process_io_write_bytes_total 8192\n";
        assert_eq!(metric_sum(text, COMMITS), Some(7.5));
        assert_eq!(metric_sum(text, WRITE_BYTES), Some(8192.0));
        assert_eq!(metric_sum(text, "cmc_certificates_issued_total"), None);
    }

    #[test]
    fn server_figures_are_per_enrollment_and_absent_when_not_reported() {
        let before = Ok("process_io_write_bytes_total 1000\n".to_owned());
        let after = Ok("process_io_write_bytes_total 5000\n".to_owned());
        let f = server_figures(String::new(), &before, &after, 4);
        assert_eq!(f.error, None);
        assert_eq!(f.disk_write_bytes, Some(4000.0));
        assert_eq!(f.disk_write_bytes_per_enrollment, Some(1000.0));
        assert_eq!((f.store_commits, f.commits_per_enrollment), (None, None));
        assert_eq!((f.cpu_seconds, f.cpu_ms_per_enrollment), (None, None));
        let cpu = |s: f64| Ok(format!("{CPU_SECONDS} {s}\n"));
        let f = server_figures(String::new(), &cpu(10.0), &cpu(12.5), 5000);
        assert_eq!(f.cpu_seconds, Some(2.5));
        assert_eq!(f.cpu_ms_per_enrollment, Some(0.5));
        let with_commits = Ok(format!("{COMMITS} 2\n"));
        let later = Ok(format!("{COMMITS} 4\n"));
        let f = server_figures(String::new(), &with_commits, &later, 4);
        assert_eq!(f.commits_per_enrollment, Some(0.5));
        // No enrollment: nothing to divide by.
        let f = server_figures(String::new(), &with_commits, &later, 0);
        assert_eq!(
            (f.store_commits, f.commits_per_enrollment),
            (Some(2.0), None)
        );
        let f = server_figures(String::new(), &Err(anyhow!("refused")), &later, 4);
        assert_eq!(f.error.as_deref(), Some("refused"));
    }
}
