//! The CA's publication points: `GET /ca/{ca}.pem` (the CA certificate,
//! its passive next and retired ones after a rollover, and the issuers of
//! each), `GET /ca/{ca}.der` (the active CA certificate),
//! `GET /crl/{ca}.crl` (the active generation's current CRL, cacheable
//! until its nextUpdate) and `GET /crl/{ca}@{n}.crl` (the CRL of key
//! generation n, active or retired and still valid).
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
        for der in ca.bundle_der() {
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
        let Some(file) = file.strip_suffix(".crl") else {
            return not_found();
        };
        // `{ca}@{generation}.crl`: the CRL of one key generation ('@' is
        // in no CA name).
        let (name, generation) = match file.split_once('@') {
            Some((name, digits)) => match digits.parse::<u32>() {
                Ok(n) if n.to_string() == digits => (name, Some(n)),
                _ => return not_found(),
            },
            None => (file, None),
        };
        if self.engine.ca(name).is_err() {
            return not_found();
        }
        let ca = name.to_owned();
        let result = self
            .on_engine("CRL", move |engine| match generation {
                None => engine.current_crl_shared(&ca),
                Some(n) => engine.generation_crl(&ca, n),
            })
            .await;
        let record = match result {
            Ok(Ok(record)) => record,
            Ok(Err(cmc_ca::Error::InvalidRequest(why))) => {
                tracing::debug!(ca = name, why, "no CRL of that generation");
                return not_found();
            }
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
