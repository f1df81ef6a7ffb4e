//! The CA's publication points: `GET /ca/{ca}.pem` (the CA certificate and
//! its chain), `GET /ca/{ca}.der` (the CA certificate) and
//! `GET /crl/{ca}.crl` (the current CRL, cacheable until its nextUpdate).
//!
//! The CRL comes from the engine's cache, refreshed on the first request
//! after a revocation on any node (the engine reads the store's revocation
//! epoch per request), and is sent without a copy: the body shares the
//! cached DER, which hyper writes out as the socket takes it, so a CRL of
//! tens of megabytes costs no per-request allocation.

use std::sync::Arc;
use std::time::SystemTime;

use cmc_ca::types::CrlRecord;
use hyper::body::Bytes;
use hyper::header;

use super::reply::{content, internal_error, not_found, set_date, set_header};
use super::{App, Reply};

impl App {
    /// `/ca/{file}`: `{ca}.pem` or `{ca}.der`.
    pub(super) fn ca_cert(&self, file: &str) -> Reply {
        let (name, pem) = if let Some(name) = file.strip_suffix(".pem") {
            (name, true)
        } else if let Some(name) = file.strip_suffix(".der") {
            (name, false)
        } else {
            return not_found();
        };
        let Ok(ca) = self.engine.ca(name) else {
            return not_found();
        };
        if !pem {
            return content(ca.certificate_der().to_vec(), "application/pkix-cert");
        }
        let mut out = String::new();
        for der in
            std::iter::once(ca.certificate_der()).chain(ca.chain_der().iter().map(Vec::as_slice))
        {
            match der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der) {
                Ok(block) => out.push_str(&block),
                Err(e) => {
                    tracing::error!(ca = name, error = %e, "PEM-encoding a CA certificate failed");
                    return internal_error();
                }
            }
        }
        content(out, "application/x-pem-file")
    }

    /// `/crl/{file}`: `{ca}.crl`, produced (or renewed) by the engine.
    pub(super) async fn crl(&self, file: &str) -> Reply {
        let Some(name) = file.strip_suffix(".crl") else {
            return not_found();
        };
        if self.engine.ca(name).is_err() {
            return not_found();
        }
        let ca = name.to_owned();
        let result = self
            .on_engine("CRL", move |engine| engine.current_crl_shared(&ca))
            .await;
        let record = match result {
            Ok(Ok(record)) => record,
            Ok(Err(e)) => {
                tracing::error!(ca = name, error = %e, "producing the CRL failed");
                return internal_error();
            }
            Err(unserved) => return unserved.reply(),
        };
        let max_age = record.next_update.0.saturating_sub(unix_now()).max(0);
        let (this_update, next_update) = (record.this_update, record.next_update);
        let mut reply = content(Bytes::from_owner(SharedDer(record)), "application/pkix-crl");
        let headers = reply.headers_mut();
        set_header(
            headers,
            header::CACHE_CONTROL,
            &format!("max-age={max_age}"),
        );
        set_date(headers, header::LAST_MODIFIED, this_update.0);
        set_date(headers, header::EXPIRES, next_update.0);
        reply
    }
}

/// The DER of a cached CRL as a response body, sharing the engine's copy.
struct SharedDer(Arc<CrlRecord>);

impl AsRef<[u8]> for SharedDer {
    fn as_ref(&self) -> &[u8] {
        &self.0.der
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
