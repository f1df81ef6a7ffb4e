//! Operations: `GET /healthz` (`ok` when the store answers) and
//! `GET /metrics` (Prometheus text, [`crate::metrics`]).

use hyper::StatusCode;

use super::reply::{content, internal_error, text};
use super::{App, Reply};
use crate::metrics;

impl App {
    /// `/healthz`: asks the store for its schema version.
    pub(super) async fn health(&self) -> Reply {
        let result = self
            .on_engine("health check", |engine| engine.records().schema_version())
            .await;
        match result {
            Ok(Ok(_)) => text(StatusCode::OK, "ok\n"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "health check: the store does not answer");
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store does not answer\n",
                )
            }
            Err(unserved) => unserved.reply(),
        }
    }

    /// `/metrics`.
    pub(super) fn metrics_text(&self) -> Reply {
        self.metrics.store_writes(self.engine.write_stats());
        match self.metrics.render() {
            Ok(text) => content(text, metrics::CONTENT_TYPE),
            Err(e) => {
                tracing::error!(error = %e, "encoding the metrics failed");
                internal_error()
            }
        }
    }
}
